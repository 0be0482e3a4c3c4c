//! `cagectl watch SESSION`: follows a live recorded session, read-only, as the operator sees
//! it (the customer's view over the operator's shoulder), and ends when the session ends.
//! It reads the cast the recorder flushes after every event, and the trail for the
//! session's `logout`; it writes to nothing but the watcher's terminal.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::cast::drawable;
use crate::{exit, UsageError};

#[derive(Debug, Args)]
pub struct WatchOptions {
    /// The session to follow (see cagectl sessions)
    #[arg(value_name = "SESSION")]
    pub session: Option<String>,
    /// The audit trail (default: the configured one)
    #[arg(long, value_name = "AUDIT", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<String>,
}

/// How often the cast is read for what was added.
const POLL: Duration = Duration::from_millis(100);

pub fn run(options: &WatchOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let Some(session) = options.session.as_deref() else {
        return Err(UsageError("watch: give one SESSION (see cagectl sessions)".into()));
    };
    let trail = match options.file.as_deref() {
        Some(file) => file.to_string(),
        None => match cage::config::load() {
            Ok(config) => config.audit.file,
            Err(e) => {
                let _ = writeln!(err, "cagectl: watch: {e}");
                return Ok(exit::USAGE);
            }
        },
    };
    let (id, path) = match recorded_login(&trail, session) {
        Ok(found) => found,
        Err(why) => {
            let _ = writeln!(err, "cagectl: watch: {why}");
            return Ok(exit::REFUSED);
        }
    };
    let mut cast = match File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            let _ = writeln!(err, "cagectl: watch: {path}: {e}");
            return Ok(exit::REFUSED);
        }
    };
    let mut trail_file = File::open(&trail).map_err(|e| UsageError(format!("{trail}: {e}")))?;
    let (mut pending, mut trail_pending) = (Vec::new(), Vec::new());
    let _ = writeln!(err, "cagectl: watching session {id} (read-only; Ctrl-C leaves)");
    loop {
        let ended = logout_reason(&mut trail_file, &mut trail_pending, &id);
        if show_new(&mut cast, &mut pending, out).is_err() {
            return Ok(exit::REFUSED);
        }
        if let Some(reason) = ended {
            let _ = writeln!(err, "\r\ncagectl: the session ended ({reason})");
            return Ok(exit::OK);
        }
        std::thread::sleep(POLL);
    }
}

/// The full id and the cast path of the live recorded session `session` names.
fn recorded_login(trail: &str, session: &str) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(trail).map_err(|e| format!("{trail}: {e}"))?;
    let live = crate::sessions::open_sessions(&text);
    let mine: Vec<_> =
        live.iter().filter(|s| !session.is_empty() && s.session.starts_with(session)).collect();
    let found = match mine.as_slice() {
        [] => return Err(format!("no live session `{session}` (cagectl sessions lists them)")),
        [one] => one,
        more => return Err(format!("`{session}` names {} sessions: give more of its id", more.len())),
    };
    let login = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["event"] == "login" && r["session"] == found.session.as_str());
    let path = login.as_ref().and_then(|r| r["recording"]["path"].as_str()).map(str::to_string);
    match path {
        Some(path) => Ok((found.session.clone(), path)),
        None => Err(format!("session {} is not recorded: nothing to watch", found.session)),
    }
}

/// Prints the output events added to the cast since the last call (whole lines only).
fn show_new(cast: &mut File, pending: &mut Vec<u8>, out: &mut dyn Write) -> std::io::Result<()> {
    cast.read_to_end(pending)?;
    let Some(end) = pending.iter().rposition(|&b| b == b'\n') else { return Ok(()) };
    let complete: Vec<u8> = pending.drain(..=end).collect();
    for line in complete.split(|&b| b == b'\n') {
        let Ok(event) = serde_json::from_slice::<Value>(line) else { continue };
        if let (Some("o"), Some(text)) = (event[1].as_str(), event[2].as_str()) {
            out.write_all(drawable(text).as_bytes())?;
        }
    }
    out.flush()
}

/// Why the session ended, once its `logout` record is in the trail (read on from where the
/// last call stopped; a rotation moves the trail, and the file read on is the old one).
fn logout_reason(trail: &mut File, pending: &mut Vec<u8>, id: &str) -> Option<String> {
    let at = trail.stream_position().ok()?;
    let _ = trail.seek(SeekFrom::Start(at));
    trail.read_to_end(pending).ok()?;
    let end = pending.iter().rposition(|&b| b == b'\n')?;
    let complete: Vec<u8> = pending.drain(..=end).collect();
    complete.split(|&b| b == b'\n').filter_map(|l| serde_json::from_slice::<Value>(l).ok()).find_map(|r| {
        (r["event"] == "logout" && r["session"] == id && r["su_user"].is_null())
            .then(|| r["reason"].as_str().unwrap_or("?").to_string())
    })
}
