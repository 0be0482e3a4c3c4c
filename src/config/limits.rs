//! `[limits]` in cage.toml: how long one command may run, how large a file it may write, and
//! what a whole session may hold at once (processes, memory) through its cgroup.
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
    /// The most tasks (processes and threads) everything a session runs may hold at once
    /// (`pids.max` of the session's cgroup); `None`: no limit.
    pub pids: Option<u64>,
    /// The most memory everything a session runs may use together, swap included
    /// (`memory.max`, `memory.swap.max` 0); `None`: no limit.
    pub session_memory: Option<u64>,
}

impl Limits {
    /// Whether the session needs its cgroup's controllers (pids, memory).
    pub fn session_wide(&self) -> bool {
        self.pids.is_some() || self.session_memory.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    command_timeout: Option<Spanned<String>>,
    file_size: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
    pids: Option<Spanned<i64>>,
    session_memory: Option<Spanned<String>>,
}

/// Fewer tasks than this and a pipeline of a few jails (two tasks each) cannot start.
const MIN_PIDS: i64 = 16;
/// The kernel's own ceiling of PIDs (`pid_max` at most 2^22).
const MAX_PIDS: i64 = 1 << 22;

/// A size like `512M`, `2G` or `1048576` (bytes).
pub(super) fn parse_size(text: &str) -> Option<u64> {
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
    if let Some(pids) = raw.pids {
        let count = *pids.get_ref();
        if !(MIN_PIDS..=MAX_PIDS).contains(&count) {
            return Err(at(pids.span(), format!("pids must be a number from {MIN_PIDS} to {MAX_PIDS}")));
        }
        limits.pids = Some(count as u64);
    }
    if let Some(size) = raw.session_memory {
        let bytes = parse_size(size.get_ref()).filter(|&b| b >= 64 << 20);
        limits.session_memory = Some(bytes.ok_or_else(|| {
            at(size.span(), "session_memory must be a size of at least 64M (like 512M or 4G)".into())
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
        let e = Config::parse("layer = \"cps\"\n[limits]\nprocs = 5\n", "c").expect_err("unknown");
        assert!(e.to_string().starts_with("c:3:1: unknown field `procs`"), "{e}");
    }

    #[test]
    fn session_wide_limits_are_off_unless_set_and_checked_strictly() {
        let c = Config::parse("layer = \"cps\"\n[limits]\nmemory = \"1G\"\n", "c").expect("valid");
        assert_eq!((c.limits.pids, c.limits.session_memory, c.limits.session_wide()), (None, None, false));
        let text = "layer = \"cps\"\n[limits]\npids = 256\nsession_memory = \"1G\"\n";
        let c = Config::parse(text, "c").expect("valid");
        assert_eq!((c.limits.pids, c.limits.session_memory), (Some(256), Some(1 << 30)));
        assert!(c.limits.session_wide());
        let c = Config::parse("layer = \"cps\"\n[limits]\npids = 16\n", "c").expect("valid");
        assert!(c.limits.session_wide());
        for (line, message) in [
            ("pids = 15", "c:3:8: pids must be a number from 16 to 4194304"),
            ("pids = -1", "c:3:8: pids must be a number from 16 to 4194304"),
            ("pids = 4194305", "c:3:8: pids must be a number from 16 to 4194304"),
            (
                "session_memory = \"32M\"",
                "c:3:18: session_memory must be a size of at least 64M (like 512M or 4G)",
            ),
            (
                "session_memory = \"1T\"",
                "c:3:18: session_memory must be a size of at least 64M (like 512M or 4G)",
            ),
        ] {
            let e = Config::parse(&format!("layer = \"cps\"\n[limits]\n{line}\n"), "c").expect_err(line);
            assert_eq!(e.to_string(), message, "{line}");
        }
        let e = Config::parse("layer = \"cps\"\n[limits]\npids = \"256\"\n", "c").expect_err("a string");
        assert!(e.to_string().starts_with("c:3:8: "), "{e}");
    }
}
