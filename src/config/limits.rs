//! `[limits]` in cage.toml: how long one command may run, and how large a file it may write.
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
    /// The largest file a jailed command may write, in bytes (RLIMIT_FSIZE); `None`: no limit.
    pub file_size: Option<u64>,
    /// The most memory each process of a jailed command may allocate, in bytes (RLIMIT_DATA:
    /// heap and private mappings); `None`: no limit.
    pub memory: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    command_timeout: Option<Spanned<String>>,
    file_size: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
}

/// A size like `512M`, `2G` or `1048576` (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
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
    if let Some(size) = raw.memory {
        let bytes = parse_size(size.get_ref()).filter(|&b| b >= 16 << 20);
        limits.memory = Some(bytes.ok_or_else(|| {
            at(size.span(), "memory must be a size of at least 16M (like 512M or 4G)".into())
        })?);
    }
    if let Some(size) = raw.file_size {
        let bytes = parse_size(size.get_ref()).filter(|&b| b >= 1 << 20);
        limits.file_size = Some(bytes.ok_or_else(|| {
            at(size.span(), "file_size must be a size of at least 1M (like 512M or 4G)".into())
        })?);
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn file_sizes_take_k_m_g_or_bytes_and_at_least_a_mebibyte() {
        assert_eq!(
            (parse_size("512M"), parse_size("2G"), parse_size("4096")),
            (Some(512 << 20), Some(2 << 30), Some(4096))
        );
        assert_eq!((parse_size("2GB"), parse_size("-1")), (None, None));
        let c = Config::parse("layer = \"cps\"\n[limits]\nfile_size = \"128M\"\n", "c").expect("valid");
        assert_eq!(c.limits.file_size, Some(128 << 20));
        let c = Config::parse("layer = \"cps\"\n[limits]\nmemory = \"1G\"\n", "c").expect("valid");
        assert_eq!(c.limits.memory, Some(1 << 30));
        let e = Config::parse("layer = \"cps\"\n[limits]\nmemory = \"1M\"\n", "c").expect_err("tiny");
        assert_eq!(e.to_string(), "c:3:10: memory must be a size of at least 16M (like 512M or 4G)");
        let e = Config::parse("layer = \"cps\"\n[limits]\nfile_size = \"1K\"\n", "c").expect_err("tiny");
        assert_eq!(e.to_string(), "c:3:13: file_size must be a size of at least 1M (like 512M or 4G)");
    }

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
