//! Session recording (`record = "input" | "io"` in a granted action): the session's terminal,
//! or its standard streams when it has none, written as asciicast v2 to
//! `SESSIONS/SESSION.cast` beside the audit file, its SHA-256 in the `logout` record.
//!
//! The process sshd started becomes the recorder: it keeps the operator's terminal (raw) and
//! copies every byte between it and a new pty (or pipes) while writing the cast. The session
//! itself (monitor, REPL, commands) goes on in a forked child, in a new session whose
//! controlling terminal is that pty: it cannot tell the difference, and nothing it runs can
//! reach the operator's terminal except through the recorder. The recorder keeps no
//! capability, may open no file (Landlock) and may exec nothing.
#![forbid(unsafe_code)]

pub mod cast;
mod confine;
mod relay;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::unistd::{dup2, pipe2, setsid};
use serde_json::{json, Value};

use super::login_error::LoginError;
use super::relay::{Pty, PtyError};
use super::startup::{Env, Login};
use crate::policy::Record;
use crate::sys;

/// How long the session waits for the recorder to close the cast at logout.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// The session's side of a recording: where it goes, and the line to the recorder.
pub struct Recording {
    pub mode: Record,
    pub path: String,
    /// The terminal the session now has (the recorder's pty), if it has one.
    pub terminal: Option<String>,
    control: UnixStream,
}

impl Recording {
    /// What the `login` record says of the recording.
    pub fn announce(&self) -> Value {
        json!({ "mode": self.mode.name(), "path": self.path })
    }

    /// Asks the recorder to write out and close the cast; what the `logout` record says of
    /// it: its SHA-256 and size, or why it is incomplete.
    pub fn finish(mut self) -> Value {
        let mut summary = self.announce();
        let reply = self.ask_finish().unwrap_or_else(|e| format!("error the recorder did not answer: {e}"));
        match reply.trim_end().split_once(' ') {
            Some(("ok", rest)) => {
                let (sha256, bytes) = rest.split_once(' ').unwrap_or((rest, "0"));
                summary["sha256"] = sha256.into();
                summary["bytes"] = bytes.parse::<u64>().unwrap_or(0).into();
            }
            Some((_, why)) => summary["error"] = why.into(),
            None => summary["error"] = reply.into(),
        }
        summary
    }

    fn ask_finish(&mut self) -> std::io::Result<String> {
        self.control.set_read_timeout(Some(FINISH_WAIT))?;
        self.control.write_all(b"finish\n")?;
        let mut reply = String::new();
        self.control.read_to_string(&mut reply)?;
        Ok(reply)
    }
}

/// The directory of the casts: `sessions/` beside the audit file.
pub fn sessions_dir(audit_file: &str) -> String {
    let dir = Path::new(audit_file).parent().unwrap_or(Path::new("/"));
    format!("{}/sessions", dir.display())
}

/// Starts recording when the session's profile asks for it. Returns in the session's
/// process (`Some` when recorded); the recorder never returns: it exits with the session's
/// status. Any failure refuses the login.
pub fn start(session: &str, login: &Login, env: &Env) -> Result<Option<Recording>, LoginError> {
    let mode = login.profile.record;
    if mode == Record::None {
        return Ok(None);
    }
    let dir = sessions_dir(&login.config.audit.file);
    let (file, path) = create_cast(&dir, session)?;
    let width_height = sys::window_size(0).ok().map(|w| (w.ws_col, w.ws_row));
    let streams = Streams::open()?;
    let terminal = streams.terminal();
    let (control, recorder_end) =
        UnixStream::pair().map_err(|e| LoginError::Recording(format!("socketpair: {e}")))?;
    let title = format!("{} ({}) on {}", login.operator.name, login.grant.req_auth_id, login.config.layer);
    let header = cast::Header {
        width: width_height.map_or(80, |s| s.0.max(1)),
        height: width_height.map_or(24, |s| s.1.max(1)),
        timestamp: crate::time::Timestamp::now().unix_secs(),
        term: env.term.as_deref(),
        title: &title,
    };
    // The header is on disk before the fork: the session's copy of the buffer is empty.
    let cast = cast::Cast::start(std::io::BufWriter::new(file), &header)
        .and_then(|mut cast| cast.flush().map(|()| cast))
        .map_err(|e| LoginError::Recording(format!("writing {path}: {e}")))?;
    match sys::fork_alone(None).map_err(|e| LoginError::Recording(format!("fork: {e}")))? {
        Some(session_pid) => {
            drop(control);
            let (inner, _session_ends) = streams.split();
            let status =
                relay::run(relay::Recorder { session_pid, cast, mode, inner, control: recorder_end });
            sys::exit_now(status)
        }
        None => {
            drop((recorder_end, cast));
            streams
                .become_session()
                .map_err(|e| LoginError::Recording(format!("taking the recorded terminal: {e}")))?;
            Ok(Some(Recording { mode, path, terminal, control }))
        }
    }
}

/// Creates `DIR/SESSION.cast` (0600, never through a symlink, never an existing file) in a
/// directory of root's that no one else may write.
fn create_cast(dir: &str, session: &str) -> Result<(File, String), LoginError> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(LoginError::Recording(format!("{dir}: {e}")))
        }
        _ => {}
    }
    // cage runs with the operator's group: what it creates is root's group too.
    let _ = std::os::unix::fs::lchown(dir, Some(0), Some(0));
    let meta = std::fs::symlink_metadata(dir).map_err(|e| LoginError::Recording(format!("{dir}: {e}")))?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return Err(LoginError::Recording(format!(
            "{dir} must be a directory of root's that no one else may write"
        )));
    }
    let path = format!("{dir}/{session}.cast");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| LoginError::Recording(format!("{path}: {e}")))?;
    std::os::unix::fs::fchown(&file, Some(0), Some(0))
        .map_err(|e| LoginError::Recording(format!("{path}: {e}")))?;
    Ok((file, path))
}

/// The recorded streams: a pty when the operator has a terminal, else three pipes.
enum Streams {
    Pty(Pty),
    Pipes { stdin: (OwnedFd, OwnedFd), stdout: (OwnedFd, OwnedFd), stderr: (OwnedFd, OwnedFd) },
}

impl Streams {
    fn open() -> Result<Streams, LoginError> {
        match Pty::open() {
            Ok(pty) => Ok(Streams::Pty(pty)),
            Err(PtyError::NoTerminal) => {
                let pipe =
                    || pipe2(OFlag::O_CLOEXEC).map_err(|e| LoginError::Recording(format!("pipe: {e}")));
                Ok(Streams::Pipes { stdin: pipe()?, stdout: pipe()?, stderr: pipe()? })
            }
            Err(e) => Err(LoginError::Recording(e.to_string())),
        }
    }

    fn terminal(&self) -> Option<String> {
        match self {
            Streams::Pty(pty) => Some(pty.path.clone()),
            Streams::Pipes { .. } => None,
        }
    }

    /// The recorder's ends, and the session's (dropped here: the recorder must see EOF once
    /// the session's side is closed).
    fn split(self) -> (relay::Inner, Vec<OwnedFd>) {
        match self {
            Streams::Pty(Pty { master, slave, .. }) => (relay::Inner::Pty(master), vec![slave]),
            Streams::Pipes { stdin, stdout, stderr } => (
                relay::Inner::Pipes { stdin: Some(stdin.1), stdout: Some(stdout.0), stderr: Some(stderr.0) },
                vec![stdin.0, stdout.1, stderr.1],
            ),
        }
    }

    /// In the session's process: the recorded streams become fds 0, 1 and 2; a pty becomes
    /// the controlling terminal of a new session. If the recorder dies, the session hears a
    /// hang-up, as it would from sshd.
    fn become_session(self) -> nix::Result<()> {
        match self {
            Streams::Pty(Pty { master, slave, .. }) => {
                drop(master);
                setsid()?;
                for fd in 0..=2 {
                    dup2(slave.as_raw_fd(), fd)?;
                }
                sys::set_controlling_tty(0)
                    .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
            }
            Streams::Pipes { stdin, stdout, stderr } => {
                dup2(stdin.0.as_raw_fd(), 0)?;
                dup2(stdout.1.as_raw_fd(), 1)?;
                dup2(stderr.1.as_raw_fd(), 2)?;
            }
        }
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGHUP)
    }
}
