//! `/etc/cage/cage.toml`: the host's layer and cage's settings, and the fixed paths.
//!
//! Paths are fixed at build time (`CAGE_PREFIX` when compiling; default `/`): the setuid
//! binary never takes a path from its environment or its command line.
#![forbid(unsafe_code)]

use serde::Deserialize;
use toml::Spanned;

use crate::policy::Layer;
use crate::shown::shown;
use crate::source::SourceError;

mod access;
mod limits;
mod notify;
mod system;
pub use access::{AccessConfig, ID_PLACEHOLDER, SHORT_ID_LEN};
pub use limits::Limits;
pub use notify::{is_mail_address, NotifyConfig, Smtp};

/// Everything below is relative to this, set when cage is built.
pub const PREFIX: &str = match option_env!("CAGE_PREFIX") {
    Some(prefix) => prefix,
    None => "",
};

pub fn config_dir() -> String {
    format!("{PREFIX}/etc/cage")
}

pub fn config_file() -> String {
    format!("{PREFIX}/etc/cage/cage.toml")
}

pub fn policy_dir() -> String {
    format!("{PREFIX}/etc/cage/policies")
}

pub fn grant_dir() -> String {
    format!("{PREFIX}/etc/cage/grants")
}

/// The parsed policies cage keeps between logins (beside the jail's staging root, on the
/// boot's tmpfs): `policy::cache`.
pub fn policy_cache_dir() -> String {
    format!("{PREFIX}/run/cage/policy")
}

/// Access requests, one `REQ-ID.toml` each (root only).
pub fn request_dir() -> String {
    format!("{PREFIX}/etc/cage/requests")
}

/// Temporary users cagectl created, one `LOGIN.toml` each: only these are ever locked or removed.
pub fn user_dir() -> String {
    format!("{PREFIX}/etc/cage/users")
}

/// The ssh public keys of temporary users, `LOGIN` each (sshd's `AuthorizedKeysFile`).
pub fn key_dir() -> String {
    format!("{PREFIX}/etc/cage/keys")
}

/// The host's cage.toml, read through the trusted-path checks (root's, not writable by
/// others, no symlink) and validated: what cage and cagectl both act on. The error is one line.
pub fn load() -> Result<Config, String> {
    let path = config_file();
    let text = crate::trust::read_file(&path).map_err(|e| e.to_string())?;
    Config::parse(&text, &path).map_err(|e| e.to_string())
}

pub fn log_dir() -> String {
    format!("{PREFIX}/var/log/cage")
}

/// Events waiting for the notifier, one JSON file each (root only, docs/notifications.md).
pub fn notify_spool_dir() -> String {
    format!("{PREFIX}/var/spool/cage/notify")
}

/// The notifier (`cage-notify`), started as root by cagectl and the monitor: fixed when cage
/// is built (`CAGE_NOTIFIER`, default where `make install` puts it), never taken from the
/// environment at run time.
pub const NOTIFIER: &str = match option_env!("CAGE_NOTIFIER") {
    Some(path) => path,
    None => "/usr/local/lib/cage/cage-notify",
};

/// The login shell cagectl gives temporary users (`[access] shell` unless set): the installed
/// cage, fixed when it is built (`CAGE_SHELL`, default where `make install` puts it).
pub const SHELL: &str = match option_env!("CAGE_SHELL") {
    Some(path) => path,
    None => "/usr/local/bin/cage",
};

/// Whether Landlock must be fully enforced for a command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockMode {
    Required,
    BestEffort,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub layer: Layer,
    /// Shown in the prompt and audit records; the kernel's host name when absent.
    pub hostname: Option<String>,
    pub landlock: LandlockMode,
    /// Actions granted at once when an access request asks only for them.
    pub pre_approved: Vec<String>,
    pub audit: AuditConfig,
    /// `[access]`: requests, approvers, durations, temporary users.
    pub access: AccessConfig,
    /// `[limits]`: what one session may take from the host.
    pub limits: Limits,
    /// `[notify]`: mail and the event hook.
    pub notify: NotifyConfig,
    /// `[system]`: the addresses of each layer's hosts, for `network = "layer"`.
    pub system: crate::policy::reach::SystemHosts,
}

/// `[audit]`: where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The JSON-lines file, an absolute path (default `/var/log/cage/audit.jsonl`).
    pub file: String,
    /// Whether each record is also sent to the local syslog socket.
    pub syslog: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { file: format!("{}/audit.jsonl", log_dir()), syslog: true }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    file: Option<Spanned<String>>,
    syslog: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    layer: Spanned<String>,
    hostname: Option<Spanned<String>>,
    landlock: Option<Spanned<String>>,
    #[serde(default)]
    pre_approved: Vec<Spanned<String>>,
    audit: Option<RawAudit>,
    access: Option<access::RawAccess>,
    limits: Option<limits::RawLimits>,
    notify: Option<Spanned<notify::RawNotify>>,
    #[serde(default)]
    system: system::RawSystem,
}

impl Config {
    /// Parses and validates `text`; every error as `FILE:LINE:COL: what`.
    pub fn parse(text: &str, file: &str) -> Result<Config, SourceError> {
        let at = |span: std::ops::Range<usize>, msg: String| SourceError::at(file, text, span.start, msg);
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            // The message can quote a key from the file as it is: its control characters are escaped.
            SourceError::at(file, text, offset, shown(&e.message().trim_end().replace('\n', "; ")))
        })?;
        let layer = Layer::parse(raw.layer.get_ref()).ok_or_else(|| {
            at(
                raw.layer.span(),
                format!("unknown layer `{}` (cps, host, cell or guest_vm)", shown(raw.layer.get_ref())),
            )
        })?;
        let landlock = match raw.landlock.as_ref().map(|l| (l.get_ref().as_str(), l.span())) {
            None | Some(("required", _)) => LandlockMode::Required,
            Some(("best-effort", _)) => LandlockMode::BestEffort,
            Some((other, span)) => {
                let other = shown(other);
                return Err(at(span, format!("landlock must be `required` or `best-effort`, not `{other}`")));
            }
        };
        if let Some(h) = &raw.hostname {
            let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
            if h.get_ref().is_empty() || h.get_ref().len() > 253 || !h.get_ref().chars().all(ok) {
                return Err(at(h.span(), format!("`{}` is not a host name", shown(h.get_ref()))));
            }
        }
        for action in &raw.pre_approved {
            if !crate::policy::types::is_action_id(action.get_ref()) {
                return Err(at(action.span(), format!("`{}` is not an action id", shown(action.get_ref()))));
            }
        }
        let mut audit = AuditConfig::default();
        if let Some(raw_audit) = raw.audit {
            if let Some(file) = raw_audit.file {
                let path = file.get_ref();
                if !path.starts_with('/') || path.ends_with('/') || path.split('/').any(|c| c == "..") {
                    return Err(at(
                        file.span(),
                        format!("audit file `{}` must be an absolute file path", shown(path)),
                    ));
                }
                audit.file = format!("{PREFIX}{path}");
            }
            audit.syslog = raw_audit.syslog.unwrap_or(true);
        }
        let access = match raw.access {
            Some(raw_access) => access::parse(raw_access, &at)?,
            None => AccessConfig::default(),
        };
        let limits = match raw.limits {
            Some(raw_limits) => limits::parse(raw_limits, &at)?,
            None => Limits::default(),
        };
        let notify = match raw.notify {
            Some(raw_notify) => {
                let span = raw_notify.span();
                notify::parse(raw_notify.into_inner(), span, &at)?
            }
            None => NotifyConfig::default(),
        };
        let system = system::parse(raw.system, &at)?;
        Ok(Config {
            system,
            audit,
            access,
            limits,
            notify,
            layer,
            hostname: raw.hostname.map(Spanned::into_inner),
            landlock,
            pre_approved: raw.pre_approved.into_iter().map(Spanned::into_inner).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_is_the_one_required_key() {
        let c = Config::parse("layer = \"cps\"\n", "cage.toml").expect("valid");
        assert_eq!(c.layer, Layer::Cps);
        assert_eq!(c.landlock, LandlockMode::Required);
        let e = Config::parse("hostname = \"x\"\n", "cage.toml").expect_err("no layer");
        assert!(e.to_string().starts_with("cage.toml:1:1: missing field `layer`"), "{e}");
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = Config::parse("layer = \"dom0\"\n", "cage.toml").expect_err("bad layer");
        assert_eq!(e.to_string(), "cage.toml:1:9: unknown layer `dom0` (cps, host, cell or guest_vm)");
        let e = Config::parse("layer = \"cps\"\nlandlock = \"off\"\n", "cage.toml").expect_err("bad mode");
        assert_eq!(e.to_string(), "cage.toml:2:12: landlock must be `required` or `best-effort`, not `off`");
        let e = Config::parse("layer = \"cps\"\nlayr = 1\n", "cage.toml").expect_err("unknown key");
        assert!(e.to_string().starts_with("cage.toml:2:1: unknown field `layr`"), "{e}");
    }

    #[test]
    fn the_audit_file_has_a_default_and_must_be_absolute() {
        let c = Config::parse("layer = \"cps\"\n", "c").expect("valid");
        assert!(c.audit.file.ends_with("/var/log/cage/audit.jsonl") && c.audit.syslog);
        let c = Config::parse("layer = \"cps\"\n[audit]\nfile = \"/srv/a.jsonl\"\nsyslog = false\n", "c")
            .expect("valid");
        assert!(c.audit.file.ends_with("/srv/a.jsonl") && !c.audit.syslog);
        let e = Config::parse("layer = \"cps\"\n[audit]\nfile = \"a.jsonl\"\n", "c").expect_err("relative");
        assert_eq!(e.to_string(), "c:3:8: audit file `a.jsonl` must be an absolute file path");
    }

    #[test]
    fn system_lists_addresses_by_layer() {
        let text = "layer = \"cps\"\n[system]\ncell = [\"192.0.2.32/28\", \"2001:db8::1\"]\n";
        let c = Config::parse(text, "c").expect("valid");
        assert_eq!(c.system[&Layer::Cell].len(), 2);
        let e = Config::parse("layer = \"cps\"\n[system]\ncel = []\n", "c").expect_err("layer");
        assert_eq!(e.to_string(), "c:3:1: unknown layer `cel` in [system] (cps, host, cell or guest_vm)");
        let e =
            Config::parse("layer = \"cps\"\n[system]\ncell = [\"192.0.2.0/33\"]\n", "c").expect_err("cidr");
        assert_eq!(e.to_string(), "c:3:9: `192.0.2.0/33` is not an address or ADDRESS/PREFIX");
    }

    #[test]
    fn a_value_an_error_quotes_shows_its_control_characters_escaped() {
        // Found by the config fuzz target: the errors are printed to terminals as they are.
        for text in [
            "layer = \"cps\\u001b[2J\"\n",
            "layer = \"cps\"\nlandlock = \"off\\u001b\"\n",
            "layer = \"cps\"\npre_approved = [\"A\\u202e\"]\n",
            "layer = \"cps\"\n\"\\u001b]0;x\\u0007\" = 1\n",
        ] {
            let e = Config::parse(text, "cage.toml").expect_err(text).to_string();
            assert!(!e.chars().any(|c| c.is_control() || c == '\u{202e}'), "{e:?}");
        }
    }

    #[test]
    fn best_effort_landlock_is_explicit() {
        let c = Config::parse("layer = \"host\"\nlandlock = \"best-effort\"\n", "c").expect("valid");
        assert_eq!(c.landlock, LandlockMode::BestEffort);
    }
}
