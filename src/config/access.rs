//! `[access]` in cage.toml: how access requests become temporary users on this host.
#![forbid(unsafe_code)]

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::policy::types::is_unix_name;
use crate::shown::shown;
use crate::source::SourceError;
use crate::time::parse_duration;

/// The placeholder of [`AccessConfig::user_pattern`], replaced by the request's short id.
pub const ID_PLACEHOLDER: &str = "{id}";
/// Length of the short id a request gets (lowercase hex), so a pattern's login length is known.
pub const SHORT_ID_LEN: usize = 8;
/// Below this a uid belongs to the system; temporary users are never created there.
const LOWEST_UID: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// Members of this Unix group may approve, reject and review; anyone root may when unset.
    pub approver_group: Option<String>,
    /// A request's grant lasts this long unless it asks for another duration.
    pub default_duration: Duration,
    /// No request, approval or extension goes past this from its start.
    pub max_duration: Duration,
    /// Temporary user names, e.g. `opctl_{id}`.
    pub user_pattern: String,
    /// Temporary users get a uid from this range, inclusive.
    pub uid_min: u32,
    pub uid_max: u32,
    /// Homes are created as `HOME_BASE/LOGIN`, mode 0700, owned by the user.
    pub home_base: String,
    /// Supplementary group of every temporary user (sshd's `Match Group` for cage users).
    pub user_group: String,
    /// The login shell of temporary users: the installed cage.
    pub shell: String,
    /// How long a temporary user stays (locked) after its grant ended before `reap` removes it.
    pub retention: Duration,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            approver_group: None,
            default_duration: Duration::from_secs(8 * 3600),
            max_duration: Duration::from_secs(7 * 86_400),
            user_pattern: "opctl_{id}".into(),
            uid_min: 60_000,
            uid_max: 60_999,
            home_base: "/home".into(),
            user_group: "cage".into(),
            shell: super::SHELL.into(),
            retention: Duration::from_secs(7 * 86_400),
        }
    }
}

impl AccessConfig {
    /// The temporary login for a request's short id.
    pub fn login_for(&self, short_id: &str) -> String {
        self.user_pattern.replacen(ID_PLACEHOLDER, short_id, 1)
    }

    /// The home directory of temporary user `login`.
    pub fn home_of(&self, login: &str) -> String {
        format!("{}/{login}", self.home_base.trim_end_matches('/'))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    approver_group: Option<Spanned<String>>,
    default_duration: Option<Spanned<String>>,
    max_duration: Option<Spanned<String>>,
    user_pattern: Option<Spanned<String>>,
    uid_min: Option<Spanned<i64>>,
    uid_max: Option<Spanned<i64>>,
    home_base: Option<Spanned<String>>,
    user_group: Option<Spanned<String>>,
    shell: Option<Spanned<String>>,
    retention: Option<Spanned<String>>,
}

/// Validates the raw table; `at` turns a span into a `FILE:LINE:COL` error.
pub(super) fn parse(
    raw: RawAccess,
    at: &dyn Fn(Range<usize>, String) -> SourceError,
) -> Result<AccessConfig, SourceError> {
    let mut access = AccessConfig::default();
    let duration = |value: &Spanned<String>| {
        parse_duration(value.get_ref()).map_err(|e| at(value.span(), e.to_string()))
    };
    let group = |key: &str, value: &Spanned<String>| {
        if is_unix_name(value.get_ref()) {
            Ok(value.get_ref().clone())
        } else {
            Err(at(value.span(), format!("{key} `{}` is not a group name", shown(value.get_ref()))))
        }
    };
    if let Some(g) = &raw.approver_group {
        access.approver_group = Some(group("approver_group", g)?);
    }
    if let Some(g) = &raw.user_group {
        access.user_group = group("user_group", g)?;
    }
    if let Some(d) = &raw.default_duration {
        access.default_duration = duration(d)?;
    }
    if let Some(d) = &raw.max_duration {
        access.max_duration = duration(d)?;
    }
    if access.default_duration > access.max_duration {
        let span = raw.default_duration.as_ref().or(raw.max_duration.as_ref()).map_or(0..0, Spanned::span);
        return Err(at(span, "default_duration is longer than max_duration".into()));
    }
    if let Some(r) = &raw.retention {
        access.retention = duration(r)?;
    }
    if let Some(p) = &raw.user_pattern {
        check_pattern(p.get_ref()).map_err(|e| at(p.span(), e))?;
        access.user_pattern = p.get_ref().clone();
    }
    let uid = |value: &Spanned<i64>| {
        u32::try_from(*value.get_ref())
            .ok()
            .filter(|&u| (LOWEST_UID..u32::MAX - 1).contains(&u))
            .ok_or_else(|| at(value.span(), format!("a uid must be between {LOWEST_UID} and 4294967293")))
    };
    if let Some(u) = &raw.uid_min {
        access.uid_min = uid(u)?;
    }
    if let Some(u) = &raw.uid_max {
        access.uid_max = uid(u)?;
    }
    if access.uid_min > access.uid_max {
        let span = raw.uid_max.as_ref().or(raw.uid_min.as_ref()).map_or(0..0, Spanned::span);
        return Err(at(span, format!("uid_max {} is below uid_min {}", access.uid_max, access.uid_min)));
    }
    for (key, value, target) in
        [("home_base", &raw.home_base, &mut access.home_base), ("shell", &raw.shell, &mut access.shell)]
    {
        if let Some(path) = value {
            if !is_plain_absolute(path.get_ref()) {
                let message =
                    format!("{key} `{}` must be an absolute path without `..`", shown(path.get_ref()));
                return Err(at(path.span(), message));
            }
            *target = path.get_ref().clone();
        }
    }
    Ok(access)
}

/// A pattern holds `{id}` once, and makes a valid login of at most 32 characters.
fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.matches(ID_PLACEHOLDER).count() != 1 {
        return Err(format!("user_pattern `{}` must contain `{{id}}` exactly once", shown(pattern)));
    }
    let example = pattern.replacen(ID_PLACEHOLDER, &"0".repeat(SHORT_ID_LEN), 1);
    if !is_unix_name(&example) {
        return Err(format!(
            "user_pattern `{}` does not make a valid user name (a-z or _, then a-z 0-9 _ -, \
             at most 32 with the {SHORT_ID_LEN}-character id)",
            shown(pattern)
        ));
    }
    Ok(())
}

fn is_plain_absolute(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && !path.split('/').any(|c| c == ".." || c == ".")
        && !path.chars().any(|c| c.is_control())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::time::Duration;

    fn parse(access: &str) -> Result<Config, String> {
        Config::parse(&format!("layer = \"cps\"\n[access]\n{access}"), "cage.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply_without_the_table() {
        let c = Config::parse("layer = \"cps\"\n", "c").expect("valid");
        assert_eq!(c.access.user_pattern, "opctl_{id}");
        assert_eq!(c.access.login_for("7f3a9c01"), "opctl_7f3a9c01");
        assert_eq!(c.access.home_of("opctl_1"), "/home/opctl_1");
        assert_eq!(c.access.approver_group, None);
        assert!(c.access.default_duration <= c.access.max_duration);
    }

    #[test]
    fn every_key_is_read() {
        let c = parse(
            "approver_group = \"secops\"\ndefault_duration = \"4h\"\nmax_duration = \"1d\"\n\
             user_pattern = \"vendor-{id}\"\nuid_min = 70000\nuid_max = 70009\nhome_base = \"/srv/op/\"\n\
             user_group = \"ops\"\nshell = \"/opt/cage/bin/cage\"\nretention = \"2d\"\n",
        )
        .expect("valid");
        let a = c.access;
        assert_eq!(a.approver_group.as_deref(), Some("secops"));
        assert_eq!(
            (a.default_duration, a.max_duration),
            (Duration::from_secs(4 * 3600), Duration::from_secs(86_400))
        );
        assert_eq!(a.login_for("00ff00ff"), "vendor-00ff00ff");
        assert_eq!((a.uid_min, a.uid_max), (70_000, 70_009));
        assert_eq!(a.home_of("x"), "/srv/op/x");
        assert_eq!((a.user_group.as_str(), a.shell.as_str()), ("ops", "/opt/cage/bin/cage"));
        assert_eq!(a.retention, Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn errors_point_at_the_value() {
        assert_eq!(
            parse("user_pattern = \"opctl\"\n"),
            Err("cage.toml:3:16: user_pattern `opctl` must contain `{id}` exactly once".into())
        );
        assert!(parse("user_pattern = \"Op_{id}\"\n").is_err_and(|e| e.starts_with("cage.toml:3:16: ")));
        let long = format!("user_pattern = \"{}{{id}}\"\n", "a".repeat(25));
        assert!(parse(&long).is_err_and(|e| e.contains("at most 32")));
        assert_eq!(
            parse("default_duration = \"8x\"\n"),
            Err("cage.toml:3:20: unknown unit `x` in duration `8x` (use w, d, h, m or s)".into())
        );
        assert_eq!(
            parse("default_duration = \"2d\"\nmax_duration = \"1d\"\n"),
            Err("cage.toml:3:20: default_duration is longer than max_duration".into())
        );
        assert_eq!(
            parse("uid_min = 100\n"),
            Err("cage.toml:3:11: a uid must be between 1000 and 4294967293".into())
        );
        assert_eq!(
            parse("uid_min = 60010\nuid_max = 60000\n"),
            Err("cage.toml:4:11: uid_max 60000 is below uid_min 60010".into())
        );
        assert_eq!(
            parse("home_base = \"home\"\n"),
            Err("cage.toml:3:13: home_base `home` must be an absolute path without `..`".into())
        );
        assert!(parse("approver_group = \"Sec Ops\"\n").is_err_and(|e| e.starts_with("cage.toml:3:18: ")));
        assert!(parse("retention = 3\n").is_err_and(|e| e.starts_with("cage.toml:3:13: ")));
        assert!(parse("approvers = \"x\"\n").is_err_and(|e| e.starts_with("cage.toml:3:1: unknown field")));
    }
}
