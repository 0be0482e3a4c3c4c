//! sudovi in the session. The editor must run as the operator in a jail while reading the
//! original and writing it back need root, so the monitor forks a supervisor (root) that:
//! 1. enters a mount namespace of its own and mounts a tmpfs on `EDIT_DIR`, owned by the
//!    operator: the copy exists nowhere else and vanishes with the edit, however it ends;
//! 2. reads the original beneath its rule and writes the copy there;
//! 3. starts the editor jail (planned by the monitor before the fork) on a pty of its own;
//! 4. keeps only the capabilities of the write-back (read and write past permissions, give
//!    the file its owner) under no_new_privs, and relays the operator's terminal to the pty;
//! 5. writes the copy back only if the editor exited with status 0 and the text changed;
//! 6. records it with the session's audit trail (inherited from the monitor): an `edit`
//!    record after a write-back, else a `read` one (the operator was shown the file).
//!
//! Killing the editor, `:cq`, the grant ending or the connection dropping (the monitor kills
//! the supervisor; the jail dies with its parent) leave the original untouched.
#![forbid(unsafe_code)]

use std::fs::DirBuilder;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;

use caps::Capability;
use nix::mount::{mount, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{chown, Gid, Pid, Uid};

use super::relay::{Pty, Relay};
use super::start_error::StartError;
use super::Context;
use crate::audit::Audit;
use crate::decide::{FilePlan, PathGrant};
use crate::files::edit::{self, Original, Saved, EDIT_DIR};
use crate::files::events::{self, FileEvent, Operation};
use crate::files::{Ended, Failure, DENIED};
use crate::jail::{spawn, JailPlan, Outcome, RealHost, Running, Stdio};
use crate::sys;

/// Starts `sudovi` for the plan's one operand; the returned process ends with its status.
pub(super) fn start(ctx: &Context, file: &FilePlan, stdio: Stdio) -> Result<Pid, StartError> {
    let (job, plan, pty) = prepare(ctx, file)?;
    // The editor's jail (no network) is born where its supervisor runs.
    match super::child::fork_placed(stdio.placement)? {
        Some(pid) => Ok(pid),
        None => sys::exit_now(supervise(&job, &plan, pty)),
    }
}

/// What the supervisor needs: the job, the editor's jail and its terminal. The decision has
/// refused what sudovi cannot do (a pipeline, a redirection): an error here is cage's own.
fn prepare(ctx: &Context, file: &FilePlan) -> Result<(Job, JailPlan, Pty), StartError> {
    let grant = file.operands.first().ok_or_else(|| StartError::failed("sudovi", "no file to edit"))?.clone();
    let name = grant.path.rsplit('/').next().filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| StartError::failed("sudovi", "not a file"))?.to_string();
    let copy = format!("{EDIT_DIR}/{name}");
    let editor = edit::find_editor().map_err(|e| StartError::failed("sudovi: the editor", e))?;
    let interpreter =
        edit::interpreter_of(&editor).map_err(|e| StartError::failed("sudovi: the editor", e))?;
    let pty = Pty::open().map_err(|e| StartError::failed("sudovi: opening a terminal", e))?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(EDIT_DIR)
        .map_err(|e| StartError::failed("sudovi", format!("{EDIT_DIR}: {e}")))?;
    let plan = edit::editor_jail(
        ctx.profile,
        ctx.operator.clone(),
        &editor,
        interpreter.as_deref(),
        &copy,
        Some(&pty.path),
        ctx.term.as_deref(),
        ctx.lang.as_deref(),
        &RealHost,
    )
    .map_err(|e| StartError::failed("sudovi: the editor's jail", e))?;
    let job = Job {
        audit: ctx.audit.clone(),
        cwd: ctx.session.cwd.clone(),
        grant,
        name,
        operator: (Uid::from_raw(ctx.operator.uid), Gid::from_raw(ctx.operator.gid)),
        landlock_required: ctx.landlock_required,
    };
    Ok((job, plan, pty))
}

struct Job {
    audit: Audit,
    cwd: String,
    grant: PathGrant,
    name: String,
    operator: (Uid, Gid),
    landlock_required: bool,
}

fn supervise(job: &Job, plan: &JailPlan, pty: Pty) -> i32 {
    let mut err = std::io::stderr();
    let original = match edit::read_original(&job.grant) {
        Ok(original) => original,
        Err(Failure::Denied { path, why }) => {
            let _ = writeln!(err, "cage: denied: sudovi: {why}");
            let refused = FileEvent::refused(Operation::Edit, &path, &why);
            return super::file_records::finish(
                &job.audit,
                &job.cwd,
                &[refused],
                Ended::Status(DENIED),
                &mut err,
            );
        }
        Err(Failure::Failed(message)) => return report(&message),
    };
    let edited = private_edit_dir(job.operator)
        .and_then(|dir| write_copy(&dir, job, &original).map(|()| (dir, original)))
        .and_then(|(dir, original)| run_editor(job, plan, pty).map(|ended| (dir, original, ended)));
    let (dir, original, ended) = match edited {
        Ok(done) => done,
        Err(error) => {
            let _ = writeln!(err, "cage: {error}");
            return error.status();
        }
    };
    let (status, event) = write_back(job, &dir, &original, ended);
    super::file_records::finish(&job.audit, &job.cwd, &[event], Ended::Status(status), &mut err)
}

/// Writes the edit back if the editor ended well and the text changed; the status, and the
/// record of what happened to the file.
fn write_back(job: &Job, dir: &OwnedFd, original: &Original, ended: Outcome) -> (i32, FileEvent) {
    let path = &job.grant.path;
    let shown = FileEvent::new(Operation::Read, path, Some(original.content.len() as u64));
    if ended != Outcome::Exited(0) {
        let how = match ended {
            Outcome::Exited(code) => format!("exited with status {code}"),
            Outcome::Signaled(sig) => format!("was ended by signal {sig}"),
        };
        return (report(&format!("the editor {how}: {path} is untouched")), shown);
    }
    let saved = edit::read_edited(dir.as_raw_fd(), &job.name)
        .and_then(|text| edit::write_back(&job.grant, original, &text).map(|saved| (saved, text)));
    match saved {
        Ok((Saved::Written, text)) => {
            let before = events::sha256_hex(&original.content);
            let edit = FileEvent::new(Operation::Edit, path, Some(text.len() as u64))
                .hashes(Some(before), Some(events::sha256_hex(&text)));
            (0, edit)
        }
        Ok((Saved::Unchanged, _)) => {
            let _ = writeln!(std::io::stderr(), "sudovi: {path} unchanged");
            (0, shown)
        }
        Err(error) => (report(&error.to_string()), shown),
    }
}

fn report(message: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "sudovi: {message}");
    1
}

/// A tmpfs on `EDIT_DIR` in a mount namespace of this process (and the editor jail, which
/// copies it), owned by the operator; returns an fd of it.
fn private_edit_dir((uid, gid): (Uid, Gid)) -> Result<OwnedFd, StartError> {
    let err = |what: &'static str| move |e: nix::Error| StartError::failed("sudovi", format!("{what}: {e}"));
    unshare(CloneFlags::CLONE_NEWNS).map_err(err("unshare"))?;
    let none = None::<&str>;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).map_err(err("private mounts"))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("tmpfs"), EDIT_DIR, Some("tmpfs"), flags, Some("mode=0700,size=160m,nr_inodes=64"))
        .map_err(err(EDIT_DIR))?;
    chown(EDIT_DIR, Some(uid), Some(gid)).map_err(err(EDIT_DIR))?;
    let resolve = sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS;
    let path = std::ffi::CString::new(EDIT_DIR).map_err(|e| StartError::failed("sudovi", e))?;
    sys::openat2(libc::AT_FDCWD, &path, libc::O_PATH | libc::O_DIRECTORY, 0, resolve)
        .map_err(|e| StartError::failed("sudovi", format!("{EDIT_DIR}: {e}")))
}

/// The operator's copy of the original, mode 0600.
fn write_copy(dir: &OwnedFd, job: &Job, original: &Original) -> Result<(), StartError> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
    let fd = crate::files::edit::create_copy(dir.as_raw_fd(), &job.name, flags)
        .map_err(|e| StartError::failed("sudovi: the copy", e))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&original.content)
        .and_then(|()| {
            std::os::unix::fs::fchown(&file, Some(job.operator.0.as_raw()), Some(job.operator.1.as_raw()))
        })
        .map_err(|e| StartError::failed("sudovi: the copy", e))
}

/// Runs the editor jail on the pty and relays until it ends; how it ended.
fn run_editor(job: &Job, plan: &JailPlan, pty: Pty) -> Result<Outcome, StartError> {
    let running = spawn(plan, Stdio::all(pty.slave.as_raw_fd()), job.landlock_required)
        .map_err(|e| StartError::failed("sudovi: the editor's jail", e))?;
    drop(pty.slave);
    let keep = [
        Capability::CAP_DAC_READ_SEARCH,
        Capability::CAP_DAC_OVERRIDE,
        Capability::CAP_FOWNER,
        Capability::CAP_CHOWN,
    ];
    if let Err(e) = super::privileges::keep_only(&keep.into_iter().collect()) {
        let _ = running.signal(Signal::SIGKILL);
        let _ = running.wait();
        return Err(StartError::failed("sudovi: dropping privileges", e));
    }
    relay(pty.master, running)
}

/// Relays between the operator's terminal and the editor's pty; window changes follow.
fn relay(master: OwnedFd, mut running: Running) -> Result<Outcome, StartError> {
    let mut watched = SigSet::empty();
    watched.add(Signal::SIGCHLD);
    watched.add(Signal::SIGWINCH);
    let signals = SignalFd::with_flags(&watched, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| StartError::failed("sudovi: signalfd", e))?;
    let mut relay = Relay::start(master);
    let stdin = std::io::stdin();
    let mut master_open = true;
    loop {
        running = match running.try_wait() {
            Ok(finished) => {
                return finished
                    .map(|f| f.outcome)
                    .map_err(|e| StartError::failed("sudovi: the editor's jail", e))
            }
            Err(still) => still,
        };
        // Once the editor's side is closed, only its end (SIGCHLD) is awaited.
        let (master_events, input_events) = match (master_open, relay.input_open()) {
            (true, true) => (PollFlags::POLLIN, PollFlags::POLLIN),
            (true, false) => (PollFlags::POLLIN, PollFlags::empty()),
            (false, _) => (PollFlags::empty(), PollFlags::empty()),
        };
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(relay.master.as_fd(), master_events),
            PollFd::new(stdin.as_fd(), input_events),
        ];
        let ready =
            |fd: &PollFd, asked: PollFlags| !asked.is_empty() && fd.revents().is_some_and(|r| !r.is_empty());
        let (output, input) = match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(n) if n > 0 => (ready(&fds[1], master_events), ready(&fds[2], input_events)),
            _ => (false, false),
        };
        if output {
            master_open = relay.pump_output();
        }
        if input {
            relay.pump_input();
        }
        while let Ok(Some(info)) = signals.read_signal() {
            if info.ssi_signo == Signal::SIGWINCH as u32 {
                relay.resize();
            }
        }
    }
}
