//! A pty for commands that need a terminal (`tty = true` aliases): the monitor opens it, the
//! jail makes its slave the controlling terminal, and the monitor relays bytes between it and
//! the operator's terminal, which is raw meanwhile (Ctrl-C reaches the program as a key) and
//! restored afterwards. Window changes are passed on.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

use crate::sys;

pub(super) const NEEDS_A_TERMINAL: &str = "needs a terminal (log in with `ssh -t`)";

/// A pty made for one command.
pub(super) struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// The slave's path (`/dev/pts/N`), shown in the command's /dev.
    pub path: String,
}

/// Why a command's terminal could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PtyError {
    /// The session itself has no terminal.
    NoTerminal,
    Open(nix::errno::Errno),
    Name(nix::errno::Errno),
}

impl std::fmt::Display for PtyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PtyError::NoTerminal => f.write_str(NEEDS_A_TERMINAL),
            PtyError::Open(e) => write!(f, "openpty: {e}"),
            PtyError::Name(e) => write!(f, "ttyname: {e}"),
        }
    }
}

impl Pty {
    /// A pty the size of the operator's terminal; `Err` when the session has no terminal.
    pub(super) fn open() -> Result<Pty, PtyError> {
        let stdin = io::stdin();
        if !nix::unistd::isatty(stdin.as_raw_fd()).unwrap_or(false) {
            return Err(PtyError::NoTerminal);
        }
        let size = sys::window_size(stdin.as_raw_fd()).ok();
        let termios = tcgetattr(stdin.as_fd()).ok();
        let pty = openpty(size.as_ref(), termios.as_ref()).map_err(PtyError::Open)?;
        let path = nix::unistd::ttyname(pty.slave.as_fd()).map_err(PtyError::Name)?;
        Ok(Pty { master: pty.master, slave: pty.slave, path: path.to_string_lossy().into_owned() })
    }
}

/// The operator's terminal in raw mode (every key, Ctrl-C included, is for whoever reads it),
/// restored when dropped; nothing when stdin is not a terminal.
pub(super) struct RawTerminal(Option<Termios>);

impl RawTerminal {
    pub(super) fn enter() -> RawTerminal {
        let stdin = io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw);
        }
        RawTerminal(saved)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}

/// Relays between the operator's terminal and a pty master while the command runs.
pub(super) struct Relay {
    pub master: OwnedFd,
    /// Restored after the relay's last output (fields drop after `Drop::drop`).
    _raw: RawTerminal,
    input_open: bool,
}

impl Relay {
    /// Puts the operator's terminal in raw mode (restored when the relay is dropped).
    pub(super) fn start(master: OwnedFd) -> Relay {
        let raw = RawTerminal::enter();
        let _ = fcntl(master.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        Relay { master, _raw: raw, input_open: true }
    }

    pub(super) fn input_open(&self) -> bool {
        self.input_open
    }

    /// The operator typed: pass it to the program's terminal.
    pub(super) fn pump_input(&mut self) {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(0, &mut buf) {
            Ok(0) | Err(_) => self.input_open = false,
            Ok(n) => {
                let _ = sys::write_all(self.master.as_raw_fd(), &buf[..n]);
            }
        }
    }

    /// The program wrote: show it (at most 256 KiB at a time, so a program that never stops
    /// writing cannot hold the monitor here). Returns false once the slave side is gone.
    pub(super) fn pump_output(&mut self) -> bool {
        let mut buf = [0u8; 16384];
        for _ in 0..16 {
            match nix::unistd::read(self.master.as_raw_fd(), &mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                Err(nix::errno::Errno::EAGAIN) => return true,
                Err(_) => return false,
            }
        }
        true
    }

    /// The operator's window changed: the program's terminal follows (and signals it).
    pub(super) fn resize(&self) {
        if let Ok(size) = sys::window_size(0) {
            let _ = sys::set_window_size(self.master.as_raw_fd(), &size);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.pump_output();
    }
}
