//! The recorder's loop: copies the operator's keys to the session and the session's output
//! to the operator, writing each as an asciicast event, until the session has ended and its
//! last output is shown.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::cast::{Cast, Kind};
use super::confine::{confine, signals};
use crate::policy::Record;
use crate::sys;

/// Once the session has ended, output still arriving is shown until it has been quiet this
/// long (the last lines a command wrote may still be on their way through the pty).
const QUIET: Duration = Duration::from_millis(50);
/// ... but never for longer than this.
const LAST_OUTPUT: Duration = Duration::from_secs(1);

/// The recorder's ends of the session's streams.
pub(super) enum Inner {
    Pty(OwnedFd),
    Pipes { stdin: Option<OwnedFd>, stdout: Option<OwnedFd>, stderr: Option<OwnedFd> },
}

pub(super) struct Recorder {
    pub session_pid: Pid,
    pub cast: Cast<BufWriter<File>>,
    pub mode: Record,
    pub inner: Inner,
    pub control: UnixStream,
}

/// One direction of output: read from the session, shown on `to` (1 or 2).
struct Output {
    from: OwnedFd,
    to: RawFd,
}

struct State {
    cast: Option<Cast<BufWriter<File>>>,
    mode: Record,
    /// The session has a terminal (the pty), not pipes.
    pty: bool,
    started: Instant,
    session_pid: Pid,
    /// The session's input (the pty master, or its stdin pipe) and what waits to go in.
    input: Option<OwnedFd>,
    pending: Vec<u8>,
    operator_open: bool,
    outputs: Vec<Output>,
    control: Option<UnixStream>,
    failure: Option<String>,
    status: Option<i32>,
}

/// Runs until the session has ended; its exit status.
pub(super) fn run(recorder: Recorder) -> i32 {
    let Recorder { session_pid, cast, mode, inner, control } = recorder;
    let pty = matches!(inner, Inner::Pty(_));
    let (input, outputs) = match inner {
        Inner::Pty(master) => {
            let input = master.try_clone().ok();
            (input, vec![Output { from: master, to: 1 }])
        }
        Inner::Pipes { stdin, stdout, stderr } => {
            let outputs = [(stdout, 1), (stderr, 2)];
            (
                stdin,
                outputs.into_iter().filter_map(|(from, to)| from.map(|from| Output { from, to })).collect(),
            )
        }
    };
    let _raw = crate::session::relay::RawTerminal::enter();
    let mut state = State {
        cast: Some(cast),
        mode,
        pty,
        started: Instant::now(),
        session_pid,
        input,
        pending: Vec::new(),
        operator_open: true,
        outputs,
        control: Some(control),
        failure: None,
        status: None,
    };
    for fd in
        state.input.iter().map(AsRawFd::as_raw_fd).chain(state.outputs.iter().map(|o| o.from.as_raw_fd()))
    {
        let _ = fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    }
    let started =
        confine().map_err(|e| e.to_string()).and_then(|()| signals().map_err(|e| format!("signals: {e}")));
    let status = match started {
        Ok(signals) => state.serve(&signals),
        Err(e) => {
            // The session may not go on unrecorded.
            let _ = writeln!(std::io::stderr(), "cage: the session recorder cannot start: {e}");
            let _ = kill(session_pid, Signal::SIGKILL);
            let _ = waitpid(session_pid, None);
            1
        }
    };
    status
}

impl State {
    fn serve(&mut self, signals: &SignalFd) -> i32 {
        let mut ended_at: Option<Instant> = None;
        loop {
            let timeout = match ended_at {
                Some(at) if at.elapsed() >= LAST_OUTPUT => break,
                Some(_) => PollTimeout::try_from(QUIET).unwrap_or(PollTimeout::ZERO),
                None => PollTimeout::NONE,
            };
            let woke = self.poll_once(signals, timeout);
            if self.status.is_some() && ended_at.is_none() {
                ended_at = Some(Instant::now());
                self.input = None;
            }
            if ended_at.is_some() && (!woke || self.outputs.is_empty()) {
                break;
            }
        }
        let _ = self.close_cast();
        self.status.unwrap_or(1)
    }

    /// One round: waits for something, handles it. False when nothing happened in `timeout`.
    fn poll_once(&mut self, signals: &SignalFd, timeout: PollTimeout) -> bool {
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let control_at = self.control.as_ref().map(|c| push(&mut fds, c.as_fd(), PollFlags::POLLIN));
        let operator_at = (self.operator_open && self.pending.is_empty() && self.input.is_some())
            .then(|| push(&mut fds, stdin.as_fd(), PollFlags::POLLIN));
        let input_at = (!self.pending.is_empty())
            .then_some(self.input.as_ref())
            .flatten()
            .map(|fd| push(&mut fds, fd.as_fd(), PollFlags::POLLOUT));
        let first_output = fds.len();
        for output in &self.outputs {
            push(&mut fds, output.from.as_fd(), PollFlags::POLLIN);
        }
        match poll(&mut fds, timeout) {
            Ok(0) => return false,
            Err(Errno::EINTR) => return true,
            Err(_) => return false,
            Ok(_) => {}
        }
        let ready: Vec<bool> =
            fds.iter().map(|f| !f.revents().unwrap_or(PollFlags::empty()).is_empty()).collect();
        drop(fds);
        let mut closed = Vec::new();
        for (i, is_ready) in ready[first_output..].iter().enumerate() {
            if *is_ready && !self.pump_output(i) {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            self.outputs.remove(i);
        }
        if operator_at.is_some_and(|at| ready[at]) {
            self.pump_operator();
        }
        if input_at.is_some_and(|at| ready[at]) {
            self.push_input();
        }
        if control_at.is_some_and(|at| ready[at]) {
            self.answer_control();
        }
        if ready[0] {
            self.handle_signals(signals);
        }
        self.close_after_failure();
        true
    }

    /// Session output: shown, and recorded in `io` mode. False once that stream has ended.
    fn pump_output(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16384];
        loop {
            match nix::unistd::read(self.outputs[i].from.as_raw_fd(), &mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    if self.mode == Record::Io {
                        self.record(Kind::Output, &buf[..n]);
                    }
                    if self.failure.is_some() {
                        return true; // not shown: it could not be recorded
                    }
                    let _ = sys::write_all(self.outputs[i].to, &buf[..n]);
                }
                Err(Errno::EAGAIN) => return true,
                Err(Errno::EINTR) => continue,
                // A pty master reads EIO once the session's last hold on the slave is gone.
                Err(_) => return false,
            }
        }
    }

    /// The operator typed: recorded, then passed on.
    fn pump_operator(&mut self) {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(0, &mut buf) {
            Ok(0) | Err(Errno::EIO) => self.operator_gone(),
            Ok(n) => {
                self.record(Kind::Input, &buf[..n]);
                if self.failure.is_none() {
                    self.pending.extend_from_slice(&buf[..n]);
                    self.push_input();
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(_) => self.operator_gone(),
        }
    }

    /// The operator's side closed (end of input, or the connection gone).
    fn operator_gone(&mut self) {
        self.operator_open = false;
        if self.pty {
            self.hang_up();
        } else {
            // Pipes: the session reads end of input, as it would have without a recorder.
            self.input = None;
        }
    }

    /// The operator's terminal is gone (or sshd ends the session): the session hears a
    /// hang-up, as it would from sshd. Closing the pty's master hangs up its terminal too,
    /// which ends an idle prompt (the REPL reads end of file).
    fn hang_up(&mut self) {
        let _ = kill(self.session_pid, Signal::SIGHUP);
        if self.pty {
            self.input = None;
            self.outputs.clear();
        }
    }

    /// Passes what waits on to the session's input without blocking (a session that does not
    /// read must not stop its output from being shown).
    fn push_input(&mut self) {
        let Some(input) = &self.input else {
            self.pending.clear();
            return;
        };
        while !self.pending.is_empty() {
            match nix::unistd::write(input, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.pending.clear();
                    self.input = None;
                    return;
                }
            }
        }
    }

    fn record(&mut self, kind: Kind, data: &[u8]) {
        let Some(cast) = self.cast.as_mut() else { return };
        let at = self.started.elapsed().as_secs_f64();
        if let Err(e) = cast.event(at, kind, data).and_then(|()| cast.flush()) {
            self.fail(&format!("writing the recording: {e}"));
        }
    }

    /// The recording cannot go on, so neither can the session: it is told to end (a hang-up),
    /// and nothing more passes either way (nothing is shown that is not recorded).
    fn fail(&mut self, why: &str) {
        if self.failure.is_some() {
            return;
        }
        self.failure = Some(why.to_string());
        self.cast = None;
        self.pending.clear();
        let _ = writeln!(std::io::stderr(), "\r\ncage: {why}: the session ends\r");
        let _ = kill(self.session_pid, Signal::SIGHUP);
        self.input = None;
    }

    /// After a failure the session's streams close (for a pty, closing the master hangs up
    /// the terminal, which also ends an idle prompt).
    fn close_after_failure(&mut self) {
        if self.failure.is_some() {
            self.outputs.clear();
            self.input = None;
        }
    }

    /// The session asks, at logout, for the cast to be closed: the output still on its way is
    /// shown and recorded first, then the answer is the cast's digest and size.
    fn answer_control(&mut self) {
        let Some(mut control) = self.control.take() else { return };
        let mut buf = [0u8; 64];
        let asked = matches!(control.read(&mut buf), Ok(n) if buf[..n].starts_with(b"finish"));
        if !asked {
            // The session closed its end without asking: it died, or ends without a logout.
            return;
        }
        self.drain_output();
        let reply = match (self.close_cast(), &self.failure) {
            (_, Some(why)) => format!("error {why}\n"),
            (Ok(Some(summary)), None) => format!("ok {} {}\n", summary.sha256, summary.bytes),
            (Ok(None), None) => "error the recording was already closed\n".to_string(),
            (Err(e), None) => format!("error closing the recording: {e}\n"),
        };
        let _ = control.write_all(reply.as_bytes());
    }

    /// Shows (and records) output until it has been quiet for a moment.
    fn drain_output(&mut self) {
        let until = Instant::now() + LAST_OUTPUT;
        while Instant::now() < until && !self.outputs.is_empty() {
            let mut fds: Vec<PollFd> =
                self.outputs.iter().map(|o| PollFd::new(o.from.as_fd(), PollFlags::POLLIN)).collect();
            match poll(&mut fds, PollTimeout::try_from(QUIET).unwrap_or(PollTimeout::ZERO)) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
            let ready: Vec<bool> =
                fds.iter().map(|f| !f.revents().unwrap_or(PollFlags::empty()).is_empty()).collect();
            drop(fds);
            for i in (0..ready.len()).rev() {
                if ready[i] && !self.pump_output(i) {
                    self.outputs.remove(i);
                }
            }
            self.close_after_failure();
        }
    }

    /// Writes out and syncs the cast; its summary, once.
    fn close_cast(&mut self) -> std::io::Result<Option<super::cast::Summary>> {
        let Some(cast) = self.cast.take() else { return Ok(None) };
        let (out, summary) = cast.finish()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        Ok(Some(summary))
    }

    fn handle_signals(&mut self, signals: &SignalFd) {
        while let Ok(Some(info)) = signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGWINCH) => self.resize(),
                Ok(Signal::SIGCHLD) => self.reap(),
                Ok(Signal::SIGHUP | Signal::SIGTERM) => self.hang_up(),
                _ => {}
            }
        }
    }

    /// The operator's window changed: so does the session's terminal (which signals it).
    fn resize(&mut self) {
        let Ok(size) = sys::window_size(0) else { return };
        if let Some(input) = self.input.as_ref().filter(|_| self.pty) {
            let _ = sys::set_window_size(input.as_raw_fd(), &size);
            self.record(Kind::Resize, format!("{}x{}", size.ws_col, size.ws_row).as_bytes());
        }
    }

    fn reap(&mut self) {
        match waitpid(self.session_pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => self.status = Some(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => self.status = Some(128 + sig as i32),
            Ok(_) => {}
            Err(_) => self.status = Some(self.status.unwrap_or(1)),
        }
    }
}

fn push<'f>(fds: &mut Vec<PollFd<'f>>, fd: BorrowedFd<'f>, events: PollFlags) -> usize {
    fds.push(PollFd::new(fd, events));
    fds.len() - 1
}
