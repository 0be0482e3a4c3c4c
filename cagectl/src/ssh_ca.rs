//! `cagectl grant --ssh-ca CAKEY`: an OpenSSH user certificate for the grant, issued by the
//! system's `ssh-keygen`: valid for the grant's window, key id = request id, principal = login,
//! the actions in the `cage-actions@cage` extension, and no permission but a pty.
#![forbid(unsafe_code)]

use std::process::Command;

use cage::grant::cert::ACTIONS_EXTENSION;
use cage::grant::Grant;
use cage::time::Timestamp;

/// `YYYYMMDDHHMMSSZ`, ssh-keygen's UTC validity form.
pub fn validity_stamp(t: Timestamp) -> String {
    t.to_rfc3339().chars().filter(char::is_ascii_digit).chain(['Z']).collect()
}

/// The ssh-keygen arguments that certify `key_file` for `grant` with CA key `ca`.
pub fn keygen_args(ca: &str, key_file: &str, grant: &Grant) -> Vec<String> {
    let validity = format!("{}:{}", validity_stamp(grant.not_before), validity_stamp(grant.expires));
    let extension = format!("extension:{ACTIONS_EXTENSION}={}", grant.actions.join(","));
    [
        "-q",
        "-s",
        ca,
        "-I",
        &grant.req_auth_id,
        "-n",
        &grant.login,
        "-V",
        &validity,
        "-O",
        "clear",
        "-O",
        "permit-pty",
        "-O",
        &extension,
        "--",
        key_file,
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Signs `key_file` (an `.pub` file); returns the certificate's path (`NAME-cert.pub` beside it).
pub fn issue(ca: &str, key_file: &str, grant: &Grant) -> Result<String, String> {
    let out = Command::new("ssh-keygen")
        .args(keygen_args(ca, key_file, grant))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(format!("ssh-keygen failed: {}", said.trim().replace('\n', "; ")));
    }
    let base = key_file.strip_suffix(".pub").unwrap_or(key_file);
    Ok(format!("{base}-cert.pub"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cage::grant::GrantState;

    #[test]
    fn the_certificate_carries_the_grant() {
        let at = |s| Timestamp::parse_rfc3339(s).expect("time");
        let grant = Grant {
            req_auth_id: "REQ-7f3a9c01".into(),
            login: "opctl_7f3a9c01".into(),
            actions: vec!["INFRA_DIAG".into(), "AVM_SYS_DIAG".into()],
            not_before: at("2026-11-22T08:00:00.5Z"),
            expires: at("2026-11-22T16:00:00Z"),
            approved_by: "alice".into(),
            reason: String::new(),
            state: GrantState::Approved,
            revoked: None,
        };
        assert_eq!(
            keygen_args("/root/ca", "/tmp/k.pub", &grant).join(" "),
            "-q -s /root/ca -I REQ-7f3a9c01 -n opctl_7f3a9c01 -V 20261122080000Z:20261122160000Z \
             -O clear -O permit-pty -O extension:cage-actions@cage=INFRA_DIAG,AVM_SYS_DIAG -- /tmp/k.pub"
        );
    }
}
