//! The monitor's side of exec tracing: each jailed stage hands over its seccomp listener, and
//! every exec in it waits here to be recorded (an `exec` audit event) and answered.
//!
//! The first exec of a stage is the command itself (its `command` record names it); every
//! later one, a script's `id` or a pager's helper, gets its own record. An exec of a
//! blacklisted program, one whose arguments cannot be read, or one that cannot be recorded
//! is refused with EPERM.
#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use super::Context;
use crate::audit::{Entry, Verdict};
use crate::jail::exectrace::{read_exec_call, ExecCall};
use crate::policy::Profile;
use crate::sys::notify;

/// One jailed stage's exec tracing.
pub(super) struct ExecWatch {
    /// Until the jail has sent its listener.
    socket: Option<OwnedFd>,
    listener: Option<OwnedFd>,
    seen_first: bool,
    title: Vec<u8>,
}

impl ExecWatch {
    /// A watch and the socket end to give the jail (`Stdio::exec_trace`).
    pub(super) fn new(title: &[u8]) -> io::Result<(ExecWatch, OwnedFd)> {
        let (ours, theirs) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
        let watch =
            ExecWatch { socket: Some(ours), listener: None, seen_first: false, title: title.to_vec() };
        Ok((watch, theirs))
    }

    /// What to poll for this stage, if anything is left to watch.
    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().or(self.socket.as_ref()).map(AsFd::as_fd)
    }

    /// The fd polled readable (or hung up): takes the listener, or answers one exec.
    pub(super) fn on_ready(&mut self, ctx: &mut Context, hung_up: bool) {
        if let Some(socket) = self.socket.take() {
            // The listener, or nothing: the jail failed before tracing (its status says why).
            self.listener = notify::recv_fd(socket.as_raw_fd()).ok().flatten();
            return;
        }
        let Some(listener) = self.listener.as_ref().map(AsRawFd::as_raw_fd) else { return };
        let notif = match notify::notif_recv(listener) {
            Ok(notif) => notif,
            // Every traced process is gone: nothing more will come.
            Err(_) if hung_up => return self.listener = None,
            Err(_) => return,
        };
        // The first exec is the jail's init starting the planned program, before anything
        // else has run in the jail: there is nothing to read or judge (the decision did).
        if std::mem::replace(&mut self.seen_first, true) {
            let call = read_exec_call(notif.pid, notif.data.nr, &notif.data.args);
            if !notify::notif_id_valid(listener, notif.id) {
                return;
            }
            let answer = self.judge(ctx, call);
            let _ = notify::notif_send(listener, notif.id, answer);
        } else {
            let _ = notify::notif_send(listener, notif.id, Ok(()));
        }
    }

    /// Records an exec after the command's own and says whether it may go on.
    fn judge(&self, ctx: &mut Context, call: io::Result<ExecCall>) -> Result<(), i32> {
        let call = match call {
            Ok(call) => call,
            Err(e) => {
                let unreadable = ExecCall { path: String::new(), argv: Vec::new() };
                self.record(
                    ctx,
                    &unreadable,
                    Verdict::Deny,
                    None,
                    Some(&format!("arguments unreadable: {e}")),
                );
                return Err(libc::EPERM);
            }
        };
        if let Some(rule) = blacklisted(ctx.profile, &call.path) {
            self.record(ctx, &call, Verdict::Deny, Some(rule), Some("blacklisted"));
            return Err(libc::EPERM);
        }
        if self.record(ctx, &call, Verdict::Allow, None, None) {
            return Ok(());
        }
        Err(libc::EPERM)
    }

    /// Writes the `exec` record; `false` when it could not be written.
    fn record(
        &self,
        ctx: &mut Context,
        call: &ExecCall,
        verdict: Verdict,
        rule: Option<String>,
        reason: Option<&str>,
    ) -> bool {
        let mut entry = Entry::new("exec").with("path", call.path.clone());
        (entry.cwd, entry.title, entry.argv) =
            (Some(ctx.session.cwd.clone()), self.title.clone(), call.argv.clone());
        (entry.decision, entry.rule) = (Some(verdict), rule);
        if let Some(reason) = reason {
            entry.extra.insert("reason".into(), reason.into());
        }
        match ctx.audit.record(&entry) {
            Ok(_) => true,
            Err(e) => {
                let _ = writeln!(ctx.err, "cage: an exec inside the command was refused: {e}");
                false
            }
        }
    }
}

/// The blacklist rule that names `path` (by its full path, or by its name), if any.
fn blacklisted(profile: &Profile, path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let entry =
        profile.blacklist.iter().find(|b| b.item == path || (!b.item.contains('/') && b.item == name))?;
    Some(format!("{}/{}/blacklist[{}]", entry.origin.action, profile.layer, entry.item))
}
