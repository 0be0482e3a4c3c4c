//! The REPL child: the operator's uid and groups, no capabilities, no_new_privs, and a
//! seccomp filter with no exec. It edits lines and completes names; the monitor does the rest.
#![forbid(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::{Cmd, ConditionalEventHandler, Event, EventContext, EventHandler, RepeatCount};
use rustyline::{Context as RlContext, Editor, Helper, Highlighter, Hinter, Validator};

use super::channel::{self, CANDIDATES, COMPLETE, LINE, NAMES, OVER, PROMPT, QUIT, UNREADABLE};
use super::privileges::PrivilegeError;
use crate::jail::Identity;
use crate::line::MAX_LINE_BYTES;

/// Drops to the operator for good, before reading a single key.
pub(super) fn drop_privileges(operator: &Identity) -> Result<(), PrivilegeError> {
    // The bounding set goes first, while CAP_SETPCAP is still held.
    super::privileges::drop_bounding_except(&caps::CapsHashSet::new())?;
    let groups: Vec<Gid> = operator.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups).map_err(PrivilegeError::Groups)?;
    let gid = Gid::from_raw(operator.gid);
    setresgid(gid, gid, gid).map_err(PrivilegeError::Gid)?;
    let uid = Uid::from_raw(operator.uid);
    setresuid(uid, uid, uid).map_err(PrivilegeError::Uid)?;
    if operator.uid != 0 {
        // Leaving uid 0 clears the permitted set; make sure of it, bounding set included.
        let permitted = caps::CapSet::Permitted;
        caps::clear(None, permitted).map_err(|e| PrivilegeError::Capabilities(permitted, e))?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(PrivilegeError::NoNewPrivs)?;
    crate::jail::seccomp::apply_no_exec().map_err(|e| PrivilegeError::Seccomp(e.to_string()))
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

/// Cuts a line off as soon as it is longer than the monitor accepts: the editor stops (as
/// for Ctrl-C) with the line kept here, so its cost never grows past the limit.
struct LineLimit(Arc<Mutex<Option<String>>>);

impl ConditionalEventHandler for LineLimit {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let line = ctx.line();
        if line.len() <= MAX_LINE_BYTES {
            return None;
        }
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(cut(line).to_string());
        }
        Some(Cmd::Interrupt)
    }
}

/// `line` as far as the monitor's limit and one character more (enough to be refused as
/// overlong, as the same line given to `cage -c` is).
fn cut(line: &str) -> &str {
    if line.len() <= MAX_LINE_BYTES {
        return line;
    }
    let mut end = MAX_LINE_BYTES + 1;
    while !line.is_char_boundary(end) {
        end += 1;
    }
    &line[..end]
}

/// Drops the rest of an overlong line as it keeps arriving (a paste): raw input is read and
/// discarded until an end of line, or until nothing more comes for 100 ms.
fn discard_rest_of_line() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let _raw = super::relay::RawTerminal::enter();
    let stdin = std::io::stdin();
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        if !matches!(poll(&mut fds, PollTimeout::from(100u16)), Ok(n) if n > 0) {
            return;
        }
        match nix::unistd::read(0, &mut buf) {
            Ok(n) if n > 0 && !buf[..n].iter().any(|b| matches!(b, b'\r' | b'\n')) => {}
            _ => return,
        }
    }
}

/// Reads lines until the operator leaves or the monitor says the session is over.
pub(super) fn run(socket: OwnedFd) -> i32 {
    let mut editor: Editor<Names, rustyline::history::MemHistory> =
        match Editor::with_history(config(), rustyline::history::MemHistory::new()) {
            Ok(e) => e,
            Err(_) => return 1,
        };
    let overlong = Arc::new(Mutex::new(None));
    editor.bind_sequence(Event::Any, EventHandler::Conditional(Box::new(LineLimit(overlong.clone()))));
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
                let _ = editor.add_history_entry(cut(&line));
                channel::send_msg(&socket, LINE, cut(&line).as_bytes())
            }
            // An overlong line goes to the monitor as far as the limit and one more byte: it
            // refuses it as it refuses the same line given to `cage -c`.
            Err(ReadlineError::Interrupted) => match overlong.lock().ok().and_then(|mut kept| kept.take()) {
                Some(line) => {
                    discard_rest_of_line();
                    channel::send_msg(&socket, LINE, line.as_bytes())
                }
                None => channel::send_msg(&socket, LINE, b""),
            },
            // Bytes that are not UTF-8: refused, and the session goes on.
            Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                channel::send_msg(&socket, UNREADABLE, b"")
            }
            Err(_) => channel::send_msg(&socket, QUIT, b""),
        };
        if sent.is_err() {
            return 0;
        }
    }
}
