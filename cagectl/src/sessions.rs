//! `cagectl sessions [--json]`: live sessions, from the audit trail (a `login` record without
//! its `logout`) whose monitor process is still a running cage. The trail is the registry:
//! the monitor already writes it before anything happens, so nothing else has to be kept true.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;
use serde_json::{json, Value};

use crate::{exit, UsageError};

#[derive(Debug, Args)]
pub struct SessionsOptions {
    /// One JSON array of the sessions
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub session: String,
    pub login: String,
    pub req: String,
    pub pid: u32,
    pub tty: Option<String>,
    pub since: String,
    pub srchost: Option<String>,
    /// The line running now (a `command` record whose `exit` has not been written yet).
    pub command: Option<String>,
    /// How the session is recorded (`io`, `input`), when it is: `cagectl watch` follows it.
    pub recording: Option<String>,
    /// Stages started and not yet ended.
    running: usize,
}

/// Sessions opened and not closed in `jsonl` (audit records in chain order), oldest first.
pub fn open_sessions(jsonl: &str) -> Vec<Live> {
    let mut open: BTreeMap<String, Live> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for record in jsonl.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        let text = |key: &str| record[key].as_str().map(str::to_string);
        let Some(session) = text("session") else { continue };
        match record["event"].as_str() {
            Some("login") if record["su_user"].is_null() => {
                let live = Live {
                    session: session.clone(),
                    login: text("loginid").unwrap_or_default(),
                    req: text("req_auth_id").unwrap_or_default(),
                    pid: record["pid"].as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
                    tty: text("tty"),
                    since: text("ts").unwrap_or_default(),
                    srchost: text("srchost"),
                    command: None,
                    recording: record["recording"]["mode"].as_str().map(str::to_string),
                    running: 0,
                };
                order.push(session.clone());
                open.insert(session, live);
            }
            Some("logout") if record["su_user"].is_null() => {
                open.remove(&session);
            }
            Some("command") => {
                if let (Some(live), Some("allow")) = (open.get_mut(&session), record["decision"].as_str()) {
                    live.command = text("title");
                    live.running += 1;
                }
            }
            Some("exit") => {
                if let Some(live) = open.get_mut(&session) {
                    live.running = live.running.saturating_sub(1);
                    if live.running == 0 {
                        live.command = None;
                    }
                }
            }
            _ => {}
        }
    }
    order.into_iter().filter_map(|s| open.remove(&s)).collect()
}

/// Whether `pid` is still a running cage (a reused pid belongs to some other program).
fn is_cage(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == "cage")
}

/// The audit text to read: the live file, and the file before it when it starts with a
/// rotation (a session that began before the last rotation is still found).
fn audit_text(file: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let first: Option<Value> = text.lines().next().and_then(|l| serde_json::from_str(l).ok());
    let previous = first.as_ref().filter(|r| r["event"] == "rotate").and_then(|r| r["prev_file"].as_str());
    let Some(previous) = previous else { return Ok(text) };
    let dir = std::path::Path::new(file).parent().map(|d| d.to_path_buf()).unwrap_or_default();
    let before = std::fs::read_to_string(dir.join(previous)).unwrap_or_default();
    Ok(before + &text)
}

fn shown(s: &Option<String>) -> String {
    s.as_deref().map_or("-".into(), cage::shown::shown)
}

pub fn run(options: &SessionsOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let text = match cage::config::load().and_then(|c| audit_text(&c.audit.file)) {
        Ok(text) => text,
        Err(e) => {
            let _ = writeln!(err, "cagectl: sessions: {e}");
            return Ok(exit::REFUSED);
        }
    };
    let live: Vec<Live> = open_sessions(&text).into_iter().filter(|s| is_cage(s.pid)).collect();
    if options.json {
        let rows: Vec<Value> = live
            .iter()
            .map(|s| {
                json!({"login": s.login, "req_auth_id": s.req, "session": s.session, "pid": s.pid, "tty": s.tty,
                       "since": s.since, "srchost": s.srchost, "command": s.command, "recording": s.recording})
            })
            .collect();
        let _ = writeln!(out, "{}", Value::Array(rows));
        return Ok(exit::OK);
    }
    let _ = writeln!(
        out,
        "{:<16} {:<14} {:<8} {:>7} {:<11} {:<20} {:<15} {:<5} COMMAND",
        "LOGIN", "REQUEST", "SESSION", "PID", "TTY", "SINCE", "FROM", "REC"
    );
    for s in &live {
        let since: String = s.since.chars().take(19).collect();
        let _ = writeln!(
            out,
            "{:<16} {:<14} {:<8} {:>7} {:<11} {:<20} {:<15} {:<5} {}",
            s.login,
            cage::shown::shown(&s.req),
            s.session.get(..8).unwrap_or(&s.session),
            s.pid,
            shown(&s.tty),
            since,
            shown(&s.srchost),
            shown(&s.recording),
            shown(&s.command)
        );
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(event: &str, session: &str, extra: &str) -> String {
        format!(
            "{{\"event\":\"{event}\",\"session\":\"{session}\",\"loginid\":\"op\",\"req_auth_id\":\"REQ-1\",\
             \"pid\":42,\"tty\":\"/dev/pts/1\",\"srchost\":\"10.0.0.9\",\"ts\":\"2026-11-22T08:00:00.000000001Z\",\
             \"su_user\":null{extra}}}\n"
        )
    }

    #[test]
    fn a_session_is_live_from_login_to_logout_and_shows_what_runs() {
        let mut trail = line("login", "a", "") + &line("login", "b", "");
        trail +=
            &line("command", "a", ",\"decision\":\"allow\",\"title\":\"sudotail -f /var/log/x | grep y\"");
        trail +=
            &line("command", "a", ",\"decision\":\"allow\",\"title\":\"sudotail -f /var/log/x | grep y\"");
        trail += &line("exit", "a", "");
        trail += &line("logout", "b", "");
        let open = open_sessions(&trail);
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].session.as_str(), open[0].pid), ("a", 42));
        assert_eq!(
            open[0].command.as_deref(),
            Some("sudotail -f /var/log/x | grep y"),
            "one stage still runs"
        );
        trail += &line("exit", "a", "");
        assert_eq!(open_sessions(&trail)[0].command, None);
        trail += &line("command", "a", ",\"decision\":\"deny\",\"title\":\"sudocat /etc/shadow\"");
        assert_eq!(open_sessions(&trail)[0].command, None, "a refused line never ran");
        trail += &line("logout", "a", "");
        assert!(open_sessions(&trail).is_empty());
    }

    #[test]
    fn a_nested_su_logout_does_not_end_the_outer_session() {
        let trail = line("login", "a", "")
            + &line("logout", "a", "").replace("\"su_user\":null", "\"su_user\":\"oracle\"");
        assert_eq!(open_sessions(&trail).len(), 1);
    }
}
