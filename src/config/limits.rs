//! `[limits]` in cage.toml: how long one command may run.
#![forbid(unsafe_code)]

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::source::SourceError;
use crate::time::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// A command still running after this is killed; `None`: no limit.
    pub command_timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    command_timeout: Option<Spanned<String>>,
}

pub(super) fn parse(
    raw: RawLimits,
    at: &dyn Fn(Range<usize>, String) -> SourceError,
) -> Result<Limits, SourceError> {
    let mut limits = Limits::default();
    if let Some(timeout) = raw.command_timeout {
        let duration = parse_duration(timeout.get_ref()).map_err(|e| at(timeout.span(), e.to_string()))?;
        limits.command_timeout = Some(duration);
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_command_timeout_is_off_unless_set() {
        let c = Config::parse("layer = \"cps\"\n", "c").expect("valid");
        assert_eq!(c.limits.command_timeout, None);
        let c = Config::parse("layer = \"cps\"\n[limits]\ncommand_timeout = \"30m\"\n", "c").expect("valid");
        assert_eq!(c.limits.command_timeout, Some(Duration::from_secs(1800)));
        let e =
            Config::parse("layer = \"cps\"\n[limits]\ncommand_timeout = \"soon\"\n", "c").expect_err("bad");
        assert!(e.to_string().starts_with("c:3:19: "), "{e}");
        let e = Config::parse("layer = \"cps\"\n[limits]\npids = 5\n", "c").expect_err("unknown");
        assert!(e.to_string().starts_with("c:3:1: unknown field `pids`"), "{e}");
    }
}
