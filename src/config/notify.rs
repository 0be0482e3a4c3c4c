//! `[notify]` in cage.toml: who hears about access requests and their fate, by mail (SMTP
//! with STARTTLS required) and through an event hook (docs/notifications.md).
#![forbid(unsafe_code)]

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::shown::shown;
use crate::source::SourceError;

/// The SMTP submission port (RFC 6409), where STARTTLS is the rule.
pub(super) const DEFAULT_SMTP_PORT: u16 = 587;
/// Delivery attempts before an event is moved to `failed/`.
pub(super) const DEFAULT_MAX_ATTEMPTS: u32 = 10;
const MOST_ATTEMPTS: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Mail, when an SMTP relay is configured.
    pub smtp: Option<Smtp>,
    /// A root-owned program receiving each event as JSON on stdin.
    pub event_hook: Option<String>,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    /// The relay's name, also the name its certificate must carry.
    pub host: String,
    pub port: u16,
    /// The sender address of every mail.
    pub from: String,
    /// Who is told that a request awaits a decision.
    pub approvers: Vec<String>,
    /// PEM CA certificates the relay's certificate must chain to; the system store when unset.
    pub ca_file: Option<String>,
    /// A root-only file with `username` and `password` for AUTH PLAIN or LOGIN.
    pub credentials_file: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig { smtp: None, event_hook: None, max_attempts: DEFAULT_MAX_ATTEMPTS }
    }
}

impl NotifyConfig {
    /// Whether anything is to be told at all: events are only queued when it is.
    pub fn is_enabled(&self) -> bool {
        self.smtp.is_some() || self.event_hook.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    smtp_host: Option<Spanned<String>>,
    smtp_port: Option<Spanned<i64>>,
    from: Option<Spanned<String>>,
    #[serde(default)]
    approvers: Vec<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    credentials_file: Option<Spanned<String>>,
    event_hook: Option<Spanned<String>>,
    max_attempts: Option<Spanned<i64>>,
}

/// Validates the raw table; `at` turns a span into a `FILE:LINE:COL` error. `table` is the
/// span of `[notify]` itself, for what is missing from it.
pub(super) fn parse(
    raw: RawNotify,
    table: Range<usize>,
    at: &dyn Fn(Range<usize>, String) -> SourceError,
) -> Result<NotifyConfig, SourceError> {
    let path = |key: &str, value: &Option<Spanned<String>>| -> Result<Option<String>, SourceError> {
        let Some(value) = value else { return Ok(None) };
        let p = value.get_ref();
        let plain = p.len() > 1
            && p.starts_with('/')
            && !p.ends_with('/')
            && !p.split('/').any(|c| c == ".." || c == ".")
            && !p.chars().any(char::is_control);
        match plain {
            true => Ok(Some(format!("{}{p}", super::PREFIX))),
            false => Err(at(value.span(), format!("{key} `{}` must be an absolute file path", shown(p)))),
        }
    };
    let address = |key: &str, value: &Spanned<String>| match is_mail_address(value.get_ref()) {
        true => Ok(value.get_ref().clone()),
        false => Err(at(value.span(), format!("{key} `{}` is not a mail address", shown(value.get_ref())))),
    };
    let event_hook = path("event_hook", &raw.event_hook)?;
    let max_attempts = match &raw.max_attempts {
        None => DEFAULT_MAX_ATTEMPTS,
        Some(n) => u32::try_from(*n.get_ref())
            .ok()
            .filter(|&n| (1..=MOST_ATTEMPTS as u32).contains(&n))
            .ok_or_else(|| at(n.span(), format!("max_attempts must be between 1 and {MOST_ATTEMPTS}")))?,
    };
    let Some(host) = &raw.smtp_host else {
        // Without a relay, the mail keys would be ignored silently: refuse them instead.
        let stray = [raw.smtp_port.as_ref().map(|p| ("smtp_port", p.span()))]
            .into_iter()
            .flatten()
            .chain(raw.from.as_ref().map(|f| ("from", f.span())))
            .chain(raw.approvers.first().map(|a| ("approvers", a.span())))
            .chain(raw.ca_file.as_ref().map(|f| ("ca_file", f.span())))
            .chain(raw.credentials_file.as_ref().map(|f| ("credentials_file", f.span())))
            .next();
        if let Some((key, span)) = stray {
            return Err(at(span, format!("{key} needs smtp_host")));
        }
        return Ok(NotifyConfig { smtp: None, event_hook, max_attempts });
    };
    if !is_host_name(host.get_ref()) {
        return Err(at(host.span(), format!("smtp_host `{}` is not a host name", shown(host.get_ref()))));
    }
    let port = match &raw.smtp_port {
        None => DEFAULT_SMTP_PORT,
        Some(p) => u16::try_from(*p.get_ref())
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| at(p.span(), "smtp_port must be between 1 and 65535".into()))?,
    };
    let from = match &raw.from {
        Some(from) => address("from", from)?,
        None => return Err(at(table, "[notify] with smtp_host needs `from` (the sender address)".into())),
    };
    let approvers = raw.approvers.iter().map(|a| address("approvers", a)).collect::<Result<Vec<_>, _>>()?;
    let smtp = Smtp {
        host: host.get_ref().clone(),
        port,
        from,
        approvers,
        ca_file: path("ca_file", &raw.ca_file)?,
        credentials_file: path("credentials_file", &raw.credentials_file)?,
    };
    Ok(NotifyConfig { smtp: Some(smtp), event_hook, max_attempts })
}

/// A plain mail address `local@domain`: what an admin types into a config or `--contact`,
/// with nothing that could be read as another header or recipient (no spaces, quotes,
/// angle brackets, commas or control characters).
pub fn is_mail_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    text.len() <= 254 && local_ok && is_host_name(domain)
}

/// A DNS name (letters, digits, `-` between dots) or an IPv4 address.
pub(super) fn is_host_name(text: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    !text.is_empty() && text.len() <= 253 && text.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(notify: &str) -> Result<NotifyConfig, String> {
        Config::parse(&format!("layer = \"cps\"\n[notify]\n{notify}"), "cage.toml")
            .map(|c| c.notify)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn without_the_table_nothing_is_told() {
        let c = Config::parse("layer = \"cps\"\n", "c").expect("valid");
        assert!(!c.notify.is_enabled());
        assert!(!parse("").expect("empty table").is_enabled());
    }

    #[test]
    fn every_key_is_read() {
        let n = parse(
            "smtp_host = \"mail.example.org\"\nsmtp_port = 2525\nfrom = \"cage@cps01.example.org\"\n\
             approvers = [\"secops@example.org\", \"alice@example.org\"]\nca_file = \"/etc/cage/smtp-ca.pem\"\n\
             credentials_file = \"/etc/cage/smtp-credentials\"\nevent_hook = \"/usr/local/sbin/cage-siem\"\n\
             max_attempts = 5\n",
        )
        .expect("valid");
        let smtp = n.smtp.clone().expect("smtp");
        assert_eq!((smtp.host.as_str(), smtp.port), ("mail.example.org", 2525));
        assert_eq!(smtp.from, "cage@cps01.example.org");
        assert_eq!(smtp.approvers, ["secops@example.org", "alice@example.org"]);
        assert!(smtp.ca_file.is_some_and(|f| f.ends_with("/etc/cage/smtp-ca.pem")));
        assert!(smtp.credentials_file.is_some_and(|f| f.ends_with("/etc/cage/smtp-credentials")));
        assert!(n.event_hook.as_deref().is_some_and(|h| h.ends_with("/usr/local/sbin/cage-siem")));
        assert_eq!(n.max_attempts, 5);
        assert!(n.is_enabled());
    }

    #[test]
    fn defaults_are_the_submission_port_and_ten_attempts() {
        let n = parse("smtp_host = \"localhost\"\nfrom = \"cage@localhost\"\n").expect("valid");
        assert_eq!(n.smtp.map(|s| s.port), Some(587));
        assert_eq!(n.max_attempts, 10);
        let hook_only = parse("event_hook = \"/usr/local/sbin/hook\"\n").expect("valid");
        assert!(hook_only.is_enabled() && hook_only.smtp.is_none());
    }

    #[test]
    fn errors_point_at_the_value() {
        assert_eq!(
            parse("smtp_host = \"mail example\"\nfrom = \"a@b\"\n"),
            Err("cage.toml:3:13: smtp_host `mail example` is not a host name".into())
        );
        assert_eq!(
            parse("smtp_host = \"m\"\nfrom = \"a@b\"\nsmtp_port = 70000\n"),
            Err("cage.toml:5:13: smtp_port must be between 1 and 65535".into())
        );
        assert_eq!(
            parse("smtp_host = \"m\"\nfrom = \"a@b\"\napprovers = [\"ops <a@b>\"]\n"),
            Err("cage.toml:5:14: approvers `ops <a@b>` is not a mail address".into())
        );
        assert_eq!(
            parse("smtp_host = \"m\"\nfrom = \"a@b\"\nca_file = \"ca.pem\"\n"),
            Err("cage.toml:5:11: ca_file `ca.pem` must be an absolute file path".into())
        );
        assert_eq!(
            parse("smtp_host = \"m\"\n"),
            Err("cage.toml:2:1: [notify] with smtp_host needs `from` (the sender address)".into())
        );
        assert_eq!(parse("approvers = [\"a@b\"]\n"), Err("cage.toml:3:14: approvers needs smtp_host".into()));
        assert_eq!(
            parse("event_hook = \"/h\"\nmax_attempts = 0\n"),
            Err("cage.toml:4:16: max_attempts must be between 1 and 100".into())
        );
        assert!(parse("smtp_user = \"x\"\n").is_err_and(|e| e.starts_with("cage.toml:3:1: unknown field")));
    }

    #[test]
    fn addresses_are_plain() {
        for good in ["op@example.org", "first.last+cage@sub.example.org", "a@localhost"] {
            assert!(is_mail_address(good), "{good}");
        }
        for bad in
            ["", "op", "@example.org", "op@", "op@@x", "a b@x", "a@x\r\nBcc: c@d", "\"a\"@x", "a,b@x", "a@-x"]
        {
            assert!(!is_mail_address(bad), "{bad}");
        }
    }
}
