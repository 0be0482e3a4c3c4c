//! The spool: one JSON file per event waiting for the notifier, in a root-only directory.
//! A file is written whole (temp file, fsync, rename), so the notifier never reads half of
//! one; it stays until every delivery of its event succeeded, or moves to `failed/` after
//! `max_attempts`. Nothing is dropped.
#![forbid(unsafe_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::event::{is_event_id, Event};
use crate::shown::shown;
use crate::time::Timestamp;

/// Where events that could not be delivered after every attempt are kept for an admin.
pub const FAILED: &str = "failed";
/// First wait after a failed attempt; it doubles with each attempt, up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(60);
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// An event and how its delivery is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spooled {
    pub event: Event,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not tried again before this (absent: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<Timestamp>,
    /// The event hook has it (so a failed mail does not run the hook twice).
    #[serde(default)]
    pub hook_done: bool,
    /// The mail went out (so a failed hook does not send it twice).
    #[serde(default)]
    pub mail_done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What to do with an event after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was delivered: the file goes.
    Delivered,
    /// Tried again at the time given.
    Retry(Timestamp),
    /// No attempts left: the file moves to `failed/`.
    GiveUp,
}

impl Spooled {
    pub fn new(event: Event) -> Spooled {
        Spooled {
            event,
            attempts: 0,
            next_attempt: None,
            hook_done: false,
            mail_done: false,
            last_error: None,
        }
    }

    pub fn is_due(&self, now: Timestamp) -> bool {
        self.next_attempt.is_none_or(|t| t <= now)
    }

    /// Records an attempt at `now` that left `error` (none: all delivered).
    pub fn after_attempt(&mut self, error: Option<String>, now: Timestamp, max_attempts: u32) -> Outcome {
        let Some(error) = error else {
            self.last_error = None;
            return Outcome::Delivered;
        };
        self.attempts = self.attempts.saturating_add(1);
        self.last_error = Some(error);
        if self.attempts >= max_attempts {
            self.next_attempt = None;
            return Outcome::GiveUp;
        }
        let next = now.checked_add(backoff(self.attempts)).unwrap_or(Timestamp::MAX);
        self.next_attempt = Some(next);
        Outcome::Retry(next)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn parse(text: &str, file: &str) -> Result<Spooled, String> {
        let spooled: Spooled = serde_json::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        if !is_event_id(&spooled.event.id) {
            return Err(format!("{file}: `{}` is not an event id", shown(&spooled.event.id)));
        }
        Ok(spooled)
    }
}

/// The wait after `attempts` failed attempts: 1 min, 2, 4, ... up to an hour.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT)
}

/// The file of event `id` in `dir`.
pub fn path_of(dir: &str, id: &str) -> String {
    format!("{dir}/{id}.json")
}

/// Queues `event` in `dir` (created root-only when missing); returns the file's path.
pub fn enqueue(dir: &str, event: &Event) -> Result<String, String> {
    if !is_event_id(&event.id) {
        return Err(format!("`{}` is not an event id", shown(&event.id)));
    }
    match fs::create_dir(dir) {
        // Made here (make install makes it otherwise): root's alone, whatever the umask.
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .and_then(|()| std::os::unix::fs::chown(dir, Some(0), Some(0)))
            .map_err(|e| format!("{dir}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{dir}: {e}")),
    }
    check_dir(dir)?;
    let path = path_of(dir, &event.id);
    write_new(dir, &path, Spooled::new(event.clone()).to_json().as_bytes())?;
    Ok(path)
}

/// Rewrites a spooled event after an attempt, whole.
pub fn rewrite(dir: &str, spooled: &Spooled) -> Result<(), String> {
    write_new(dir, &path_of(dir, &spooled.event.id), spooled.to_json().as_bytes())
}

/// Moves the file of event `id` to `dir/failed/` (created root-only when missing).
pub fn move_to_failed(dir: &str, id: &str) -> Result<String, String> {
    let failed = format!("{dir}/{FAILED}");
    match fs::create_dir(&failed) {
        Ok(()) => fs::set_permissions(&failed, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("{failed}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{failed}: {e}")),
    }
    check_dir(&failed)?;
    let target = path_of(&failed, id);
    fs::rename(path_of(dir, id), &target).map_err(|e| format!("{target}: {e}"))?;
    Ok(target)
}

/// One file of the spool: its event id, and the event or why it cannot be read.
pub type Entry = (String, Result<Spooled, String>);

/// The events waiting in `dir`, oldest first; a file that cannot be read is an error in the
/// list (reported, kept), never skipped silently.
pub fn list(dir: &str) -> Result<Vec<Entry>, String> {
    check_dir(dir)?;
    let mut ids: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
        .filter(|id| is_event_id(id))
        .collect();
    ids.sort();
    Ok(ids
        .into_iter()
        .map(|id| {
            let path = path_of(dir, &id);
            let read = crate::trust::read_file(&path).map_err(|e| e.to_string());
            let spooled =
                read.and_then(|text| Spooled::parse(&text, &path)).and_then(|s| match s.event.id == id {
                    true => Ok(s),
                    false => Err(format!("{path} holds event {}", s.event.id)),
                });
            (id, spooled)
        })
        .collect())
}

/// The spool must be root's alone: trusted all the way down, and not even readable by others
/// (events name requesters and their mail addresses).
pub fn check_dir(dir: &str) -> Result<(), String> {
    crate::trust::check_dir(dir).map_err(|e| e.to_string())?;
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("{dir}: {e}"))?;
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{dir} is open to group or others (mode {:04o}); it must be 0700",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Writes `bytes` to a temp file in `dir` (0600, root's), syncs it, and renames it to `path`.
fn write_new(dir: &str, path: &str, bytes: &[u8]) -> Result<(), String> {
    let temp = format!("{path}.tmp.{}", std::process::id());
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        // Root's group too: the monitor runs setuid with the operator's group.
        std::os::unix::fs::fchown(&file, Some(0), Some(0))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&temp);
        format!("{path}: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::Kind;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn the_wait_doubles_from_a_minute_up_to_an_hour() {
        let minutes: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn a_failed_attempt_is_retried_later_until_the_last_one() {
        let mut s = Spooled::new(Event::new(Kind::Requested, "REQ-1", "op", "root"));
        let now = at("2026-11-23T01:00:00Z");
        assert!(s.is_due(now));
        assert_eq!(
            s.after_attempt(Some("refused".into()), now, 3),
            Outcome::Retry(at("2026-11-23T01:01:00Z"))
        );
        assert!(!s.is_due(now) && s.is_due(at("2026-11-23T01:01:00Z")));
        assert_eq!((s.attempts, s.last_error.as_deref()), (1, Some("refused")));
        let later = at("2026-11-23T01:01:00Z");
        assert_eq!(
            s.after_attempt(Some("again".into()), later, 3),
            Outcome::Retry(at("2026-11-23T01:03:00Z"))
        );
        assert_eq!(s.after_attempt(Some("still".into()), later, 3), Outcome::GiveUp);
        assert_eq!(s.attempts, 3);
        let mut fresh = Spooled::new(Event::new(Kind::Requested, "REQ-1", "op", "root"));
        assert_eq!(fresh.after_attempt(None, now, 3), Outcome::Delivered);
    }

    #[test]
    fn a_spool_file_reads_back_as_written() {
        let mut s = Spooled::new(Event::new(Kind::Revoked, "REQ-7f3a9c01", "opctl_7f3a9c01", "bob"));
        s.event.contact = Some("op@example.org".into());
        s.hook_done = true;
        s.after_attempt(Some("smtp: refused".into()), at("2026-11-23T01:00:00Z"), 10);
        assert_eq!(Spooled::parse(&s.to_json(), "f").as_ref(), Ok(&s));
        let mut bad = s.clone();
        bad.event.id = "../../etc/x".into();
        assert!(Spooled::parse(&bad.to_json(), "f").is_err_and(|e| e.contains("is not an event id")));
        assert!(Spooled::parse("{\"event\": {}}", "f").is_err_and(|e| e.starts_with("f: ")));
    }
}
