//! The REPL child: the operator's uid and groups, no capabilities, no_new_privs, and a
//! seccomp filter with no exec. It edits lines and completes names; the monitor does the rest.
#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::{Context as RlContext, Editor, Helper, Highlighter, Hinter, Validator};

use super::channel::{self, CANDIDATES, COMPLETE, LINE, NAMES, OVER, PROMPT, QUIT};
use crate::jail::Identity;

/// Drops to the operator for good, before reading a single key.
pub fn drop_privileges(operator: &Identity) -> Result<(), String> {
    // The bounding set goes first, while CAP_SETPCAP is still held.
    super::privileges::drop_bounding_except(&caps::CapsHashSet::new())?;
    let groups: Vec<Gid> = operator.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups).map_err(|e| format!("setgroups: {e}"))?;
    let gid = Gid::from_raw(operator.gid);
    setresgid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    let uid = Uid::from_raw(operator.uid);
    setresuid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
    if operator.uid != 0 {
        // Leaving uid 0 clears the permitted set; make sure of it, bounding set included.
        caps::clear(None, caps::CapSet::Permitted).map_err(|e| e.to_string())?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    crate::jail::seccomp::apply_no_exec()
}

#[derive(Helper, Highlighter, Hinter, Validator)]
struct Names {
    names: Vec<String>,
    /// The monitor, asked for path completions (the REPL cannot list the rules' directories).
    monitor: Option<OwnedFd>,
}

impl Completer for Names {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &RlContext<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos].rfind([' ', '|', ';', '&']).map_or(0, |i| i + 1);
        let word = &line[start..pos];
        let first =
            line[..start].trim_end().is_empty() || line[..start].trim_end().ends_with(['|', ';', '&']);
        if !first {
            return Ok((start, self.paths(word)));
        }
        let found = self.names.iter().filter(|n| n.starts_with(word));
        Ok((start, found.map(|n| Pair { display: n.clone(), replacement: format!("{n} ") }).collect()))
    }
}

impl Names {
    /// Asks the monitor for the names that complete `word` as a path.
    fn paths(&self, word: &str) -> Vec<Pair> {
        let Some(monitor) = &self.monitor else { return Vec::new() };
        if channel::send_msg(monitor, COMPLETE, word.as_bytes()).is_err() {
            return Vec::new();
        }
        let Ok(Some((CANDIDATES, body))) = channel::recv_msg(monitor) else { return Vec::new() };
        let text = String::from_utf8_lossy(&body);
        let pair = |n: &str| {
            let shown = n.rsplit_once('/').map_or(n, |(_, last)| if last.is_empty() { n } else { last });
            let space = if n.ends_with('/') { "" } else { " " };
            Pair { display: shown.to_string(), replacement: format!("{n}{space}") }
        };
        text.lines().filter(|l| !l.is_empty()).map(pair).collect()
    }
}

/// List completions like bash; no history file; Ctrl-C cancels the line.
fn config() -> rustyline::Config {
    rustyline::Config::builder()
        .completion_type(rustyline::CompletionType::List)
        .auto_add_history(false)
        .max_history_size(1000)
        .map_or_else(|_| rustyline::Config::default(), |b| b.build())
}

/// Reads lines until the operator leaves or the monitor says the session is over.
pub fn run(socket: OwnedFd) -> i32 {
    let mut editor: Editor<Names, rustyline::history::MemHistory> =
        match Editor::with_history(config(), rustyline::history::MemHistory::new()) {
            Ok(e) => e,
            Err(_) => return 1,
        };
    let mut prompt;
    loop {
        match channel::recv_msg(&socket) {
            Ok(Some((NAMES, body))) => {
                let names = String::from_utf8_lossy(&body).split('\n').map(str::to_string).collect();
                editor.set_helper(Some(Names { names, monitor: socket.try_clone().ok() }));
                continue;
            }
            Ok(Some((PROMPT, body))) => prompt = String::from_utf8_lossy(&body).into_owned(),
            Ok(Some((OVER, _))) | Ok(None) | Err(_) => return 0,
            Ok(Some(_)) => continue,
        }
        let sent = match editor.readline(&prompt) {
            Ok(line) => {
                let _ = editor.add_history_entry(line.as_str());
                channel::send_msg(&socket, LINE, line.as_bytes())
            }
            Err(ReadlineError::Interrupted) => channel::send_msg(&socket, LINE, b""),
            Err(_) => channel::send_msg(&socket, QUIT, b""),
        };
        if sent.is_err() {
            return 0;
        }
    }
}
