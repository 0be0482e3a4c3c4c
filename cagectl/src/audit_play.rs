//! `cagectl audit play SESSION [--speed N] [--idle-limit S] [FILE...]`: replays a recorded
//! session in the terminal, as the operator saw it, without an external player. The cast
//! must still be the file its `logout` record hashed: an edited, cut or unsealed recording is
//! refused, not played.
#![forbid(unsafe_code)]

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::audit_show::{files_or_configured, read_files, Read};
use crate::cast::{drawable, outputs};
use crate::{exit, UsageError};
use cage::audit::sha256_hex;

#[derive(Debug, Args)]
pub struct PlayOptions {
    /// The session to replay (its id, as `audit show` and `sessions` print it)
    #[arg(value_name = "SESSION")]
    pub session: Option<String>,
    /// How many times faster than it happened (default 1)
    #[arg(long, value_name = "N")]
    pub speed: Option<String>,
    /// The longest pause replayed, in seconds (default 2)
    #[arg(long, value_name = "S")]
    pub idle_limit: Option<String>,
    /// The trail files to find the session in (default: the configured trail)
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

pub fn run(options: &PlayOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let number = |name: &str, given: &Option<String>, default: f64| -> Result<f64, UsageError> {
        match given {
            None => Ok(default),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| UsageError(format!("--{name} takes a positive number, not `{text}`"))),
        }
    };
    let speed = number("speed", &options.speed, 1.0)?;
    let idle_limit = number("idle-limit", &options.idle_limit, 2.0)?;
    let session =
        options.session.as_deref().ok_or_else(|| UsageError("audit play: which SESSION?".into()))?;
    let Some(files) = files_or_configured(&options.files, err) else { return Ok(exit::USAGE) };
    let (records, _) = read_files(&files, err);
    let cast = match sealed_cast(&records, session) {
        Ok(cast) => cast,
        Err(why) => {
            let _ = writeln!(err, "cagectl: audit play: {why}");
            return Ok(exit::REFUSED);
        }
    };
    let events = match outputs(&cast) {
        Ok(events) => events,
        Err(why) => {
            let _ = writeln!(err, "cagectl: audit play: the recording is not a cast ({why})");
            return Ok(exit::REFUSED);
        }
    };
    let mut last = 0.0;
    for event in events {
        let wait = (event.at - last).clamp(0.0, idle_limit) / speed;
        last = event.at;
        std::thread::sleep(Duration::from_secs_f64(wait));
        if out.write_all(drawable(&event.text).as_bytes()).and_then(|()| out.flush()).is_err() {
            return Ok(exit::REFUSED);
        }
    }
    Ok(exit::OK)
}

/// The cast of the session whose id starts with `session`, read and checked against the
/// digest its `logout` record holds.
fn sealed_cast(records: &[Read], session: &str) -> Result<String, String> {
    let of = |event: &str| -> Vec<&serde_json::Map<String, Value>> {
        let mine = records.iter().map(|r| &r.record).filter(|r| {
            r.get("event").and_then(Value::as_str) == Some(event)
                && r.get("session")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !session.is_empty() && s.starts_with(session))
        });
        mine.filter(|r| r.get("recording").is_some_and(Value::is_object)).collect()
    };
    let logins = of("login");
    let login = match logins.as_slice() {
        [] => return Err(format!("no recorded session `{session}` in the trail")),
        [one] => one,
        more => {
            return Err(format!("`{session}` names {} recorded sessions: give more of its id", more.len()))
        }
    };
    let id = login.get("session").and_then(Value::as_str).unwrap_or_default();
    let path = login["recording"]["path"].as_str().ok_or("the login record names no recording")?;
    let logouts = of("logout");
    let sealed = logouts.iter().find(|r| r.get("session").and_then(Value::as_str) == Some(id));
    let expected = match sealed.and_then(|r| r["recording"]["sha256"].as_str()) {
        Some(sha) => sha,
        None if sealed.is_some() => {
            return Err(format!(
                "session {id}: its recording was not sealed: {}",
                sealed.map_or("", |r| r["recording"]["error"].as_str().unwrap_or("no digest"))
            ))
        }
        None => return Err(format!("session {id} has not ended: its recording is not sealed yet")),
    };
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if sha256_hex(&bytes) != expected {
        return Err(format!("{path} does not match the digest of its logout record (edited): not played"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8"))
}
