//! OpenSSH user certificates as cage sees them at login: sshd (`ExposeAuthInfo yes`) writes
//! the methods that authenticated the session to the file named by `SSH_USER_AUTH`; a
//! certificate login shows there as `publickey TYPE-cert-v01@openssh.com BASE64`. This module
//! parses that line and checks the certificate against the grant. sshd has already verified
//! the signature against `TrustedUserCAKeys`; cage only reads what the certificate says, and a
//! certificate can only narrow a login (its request id, login, actions and window must agree
//! with the grant), never widen it. See docs/fleet.md.
#![forbid(unsafe_code)]

use std::fmt;

use super::Grant;
use crate::shown::shown;
use crate::time::Timestamp;

/// The extension naming the granted actions (`cagectl grant --ssh-ca` writes it).
pub const ACTIONS_EXTENSION: &str = "cage-actions@cage";
/// The certificate `type` of a user certificate (2 is a host certificate).
const USER_CERT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub key_type: String,
    pub serial: u64,
    /// The request id (`-I` of ssh-keygen).
    pub key_id: String,
    pub principals: Vec<String>,
    /// Seconds since the epoch: valid from `valid_after` inclusive to `valid_before` exclusive.
    pub valid_after: u64,
    pub valid_before: u64,
    /// The actions of the [`ACTIONS_EXTENSION`], when present.
    pub actions: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError(pub String);

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate: {}", self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, CertError> {
    Err(CertError(message.into()))
}

/// The certificate in an `SSH_USER_AUTH` file's text, if the session used one; more than one
/// certificate (several publickey steps) is refused rather than guessed between.
pub fn from_auth_info(text: &str) -> Result<Option<Certificate>, CertError> {
    let mut found = None;
    for line in text.lines() {
        let mut words = line.split(' ');
        let (Some("publickey"), Some(kind), Some(blob)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if !kind.contains("-cert-v01@openssh.com") {
            continue;
        }
        if found.is_some() {
            return err("the session was authenticated by more than one certificate");
        }
        let cert = parse(&base64(blob)?)?;
        if cert.key_type != kind {
            return err(format!("the line says {kind} but the certificate is {}", cert.key_type));
        }
        found = Some(cert);
    }
    Ok(found)
}

impl Certificate {
    /// When the certificate stops being valid (a session must not outlive it).
    pub fn expires(&self) -> Timestamp {
        let secs = i64::try_from(self.valid_before).unwrap_or(i64::MAX);
        Timestamp::from_unix(secs, 0).unwrap_or(Timestamp::MAX)
    }

    /// Refuses the login unless the certificate is a user certificate for `login`, valid at
    /// `now`, issued for the grant's request, naming exactly the grant's actions.
    pub fn check(&self, grant: &Grant, login: &str, now: Timestamp) -> Result<(), CertError> {
        let now_secs = u64::try_from(now.unix_secs()).unwrap_or(0);
        if !self.principals.iter().any(|p| p == login) {
            return err(format!("not issued for {login} (principals: {})", self.principals.join(",")));
        }
        if now_secs < self.valid_after {
            return err(format!(
                "not valid before {}",
                Timestamp::from_unix(self.valid_after as i64, 0).unwrap_or(Timestamp::MAX)
            ));
        }
        if now_secs >= self.valid_before {
            return err(format!("expired {}", self.expires()));
        }
        if self.key_id != grant.req_auth_id {
            return err(format!(
                "issued for request {} but the grant is for {}",
                self.key_id, grant.req_auth_id
            ));
        }
        let Some(actions) = &self.actions else {
            return err(format!("names no actions (no {ACTIONS_EXTENSION} extension)"));
        };
        let (mut named, mut granted) = (actions.clone(), grant.actions.clone());
        named.sort();
        granted.sort();
        if named != granted {
            return err(format!(
                "names {} but the grant allows {}",
                actions.join(","),
                grant.actions.join(",")
            ));
        }
        Ok(())
    }
}

/// The fields of a certificate blob (PROTOCOL.certkeys), up to the extensions.
pub fn parse(blob: &[u8]) -> Result<Certificate, CertError> {
    let mut r = Reader(blob);
    let key_type = r.text()?;
    r.string()?; // nonce
    let key_fields = match key_type.as_str() {
        "ssh-ed25519-cert-v01@openssh.com" => 1,
        "ssh-rsa-cert-v01@openssh.com" => 2,
        "sk-ssh-ed25519-cert-v01@openssh.com" => 2,
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com" => 3,
        "ssh-dss-cert-v01@openssh.com" => 4,
        t if t.starts_with("ecdsa-sha2-nistp") && t.ends_with("-cert-v01@openssh.com") => 2,
        other => return err(format!("unknown certificate type `{}`", shown(other))),
    };
    for _ in 0..key_fields {
        r.string()?;
    }
    let serial = r.u64()?;
    if r.u32()? != USER_CERT {
        return err("not a user certificate");
    }
    let key_id = r.text()?;
    let mut principals = Vec::new();
    let mut packed = Reader(r.string()?);
    while !packed.0.is_empty() {
        principals.push(packed.text()?);
    }
    let (valid_after, valid_before) = (r.u64()?, r.u64()?);
    r.string()?; // critical options: sshd enforces them
    let mut actions = None;
    let mut extensions = Reader(r.string()?);
    while !extensions.0.is_empty() {
        let name = extensions.text()?;
        let data = extensions.string()?;
        if name == ACTIONS_EXTENSION {
            // ssh-keygen stores `extension:NAME=VALUE` as a string inside the data.
            let value = if data.is_empty() { String::new() } else { Reader(data).text()? };
            actions = Some(value.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect());
        }
    }
    // reserved, the CA's key, the signature: checked by sshd, here only required whole.
    for _ in 0..3 {
        r.string()?;
    }
    if !r.0.is_empty() {
        return err("trailing bytes after the signature");
    }
    Ok(Certificate { key_type, serial, key_id, principals, valid_after, valid_before, actions })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CertError> {
        if self.0.len() < n {
            return err("truncated");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, CertError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, CertError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    fn string(&mut self) -> Result<&'a [u8], CertError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// A string that must be printable UTF-8 (it ends up in audit records and messages).
    fn text(&mut self) -> Result<String, CertError> {
        let bytes = self.string()?;
        match std::str::from_utf8(bytes) {
            Ok(s) if !s.chars().any(crate::shown::is_deceptive) => Ok(s.to_string()),
            _ => err("a text field is not printable UTF-8"),
        }
    }
}

/// Standard base64 with padding, as in `authorized_keys` lines.
fn base64(text: &str) -> Result<Vec<u8>, CertError> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let body = text.trim_end_matches('=');
    if !text.len().is_multiple_of(4) || text.len() - body.len() > 2 {
        return err("the key is not base64");
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in body.bytes() {
        let v = value(c).ok_or_else(|| CertError("the key is not base64".into()))?;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::GrantState;

    /// Made by `ssh-keygen -s CA -I REQ-1 -n op1 -V 20261122220000Z:20261123065400Z -O clear
    /// -O permit-pty -O extension:cage-actions@cage=INFRA_DIAG,AVM_FULL`.
    const CERT: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIKGcU14mzUha4ZQOv4gqcbPNbt6VrmTV4ApUqKRld/csAAAAIJGPaPYtK3sLL97jyPpXSqkXXF9ftShCQypq4H5RT32pAAAAAAAAAAAAAAABAAAABVJFUS0xAAAABwAAAANvcDEAAAAAawNl4AAAAABrA+MIAAAAAAAAAEIAAAARY2FnZS1hY3Rpb25zQGNhZ2UAAAAXAAAAE0lORlJBX0RJQUcsQVZNX0ZVTEwAAAAKcGVybWl0LXB0eQAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACCoMLXmsnDekZQwUXPZwkMxzC1DbxZdIPcbXJF9oBYzzgAAAFMAAAALc3NoLWVkMjU1MTkAAABAp3vV14bxS9cnfmFBIlgTEIJyn1sOKIs/YJBD3iGylicI5Y7BxTGEmtAxgy8w5cgKMBL4YkNM0qDXPpovtJe/Aw==";

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    fn cert() -> Certificate {
        from_auth_info(&format!("publickey {CERT}\n")).expect("parses").expect("a certificate")
    }

    fn grant(actions: &[&str]) -> Grant {
        Grant {
            req_auth_id: "REQ-1".into(),
            login: "op1".into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            not_before: at("2026-11-22T22:00:00Z"),
            expires: at("2026-11-23T06:54:00Z"),
            approved_by: "alice".into(),
            reason: String::new(),
            state: GrantState::Approved,
            revoked: None,
        }
    }

    #[test]
    fn the_fields_ssh_keygen_wrote_are_read() {
        let c = cert();
        assert_eq!(c.key_type, "ssh-ed25519-cert-v01@openssh.com");
        assert_eq!((c.key_id.as_str(), c.principals.clone()), ("REQ-1", vec!["op1".to_string()]));
        assert_eq!(c.actions, Some(vec!["INFRA_DIAG".to_string(), "AVM_FULL".to_string()]));
        assert_eq!(c.expires(), at("2026-11-23T06:54:00Z"));
        assert_eq!(c.valid_after as i64, at("2026-11-22T22:00:00Z").unix_secs());
    }

    #[test]
    fn the_check_holds_the_certificate_to_the_grant_and_its_window() {
        let c = cert();
        let g = grant(&["AVM_FULL", "INFRA_DIAG"]);
        assert_eq!(c.check(&g, "op1", at("2026-11-22T22:00:00Z")), Ok(()));
        assert_eq!(c.check(&g, "op1", at("2026-11-23T06:53:59Z")), Ok(()));
        let e = |now: &str, g: &Grant, login: &str| c.check(g, login, at(now)).map_err(|e| e.to_string());
        assert_eq!(
            e("2026-11-23T06:54:00Z", &g, "op1"),
            Err("certificate: expired 2026-11-23T06:54:00Z".into())
        );
        assert!(e("2026-11-22T21:59:59Z", &g, "op1").is_err_and(|m| m.contains("not valid before")));
        assert!(e("2026-11-22T23:00:00Z", &g, "op2").is_err_and(|m| m.contains("not issued for op2")));
        let other = Grant { req_auth_id: "REQ-2".into(), ..g.clone() };
        assert!(
            e("2026-11-22T23:00:00Z", &other, "op1").is_err_and(|m| m.contains("issued for request REQ-1"))
        );
        let wider = grant(&["INFRA_DIAG", "AVM_FULL", "INFRA_FULL"]);
        assert!(
            e("2026-11-22T23:00:00Z", &wider, "op1").is_err_and(|m| m.contains("names INFRA_DIAG,AVM_FULL"))
        );
    }

    #[test]
    fn plain_keys_and_other_methods_are_no_certificate() {
        let text = "password\npublickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFHvDqUL8X2kZQ8pUO0gTnHk0q4pEZ9g2S3x2Q7eVf1K\n";
        assert_eq!(from_auth_info(text), Ok(None));
        assert_eq!(from_auth_info(""), Ok(None));
    }

    #[test]
    fn damaged_or_doubled_certificates_are_refused() {
        let doubled = format!("publickey {CERT}\npublickey {CERT}\n");
        assert!(from_auth_info(&doubled).is_err());
        let (kind, blob) = CERT.split_once(' ').expect("two words");
        for end in [8, 100, 200, blob.len() - 4] {
            let cut = &blob[..end - end % 4];
            assert!(from_auth_info(&format!("publickey {kind} {cut}")).is_err(), "{end}");
        }
        assert!(from_auth_info(&format!("publickey {kind} {}*", &blob[..blob.len() - 4])).is_err());
        let relabelled = format!("publickey ssh-rsa-cert-v01@openssh.com {blob}");
        assert!(from_auth_info(&relabelled).is_err());
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64("aGk="), Ok(b"hi".to_vec()));
        assert_eq!(base64("aGVsbG8h"), Ok(b"hello!".to_vec()));
        assert!(base64("aGk").is_err() && base64("a===").is_err());
    }
}
