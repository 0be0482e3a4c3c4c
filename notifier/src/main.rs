//! `cage-notify`: delivers the events cagectl and the monitor queue in the spool, by mail
//! (SMTP, STARTTLS required) and to the event hook; a failed delivery is logged and retried
//! later, and after `max_attempts` kept in `failed/`, never dropped (docs/notifications.md).
//!
//! `--background`: started by cagectl and the monitor; hands the run to a detached process
//! and returns at once. `--flush`: one run in the foreground (the reap timer, an admin).
#![forbid(unsafe_code)]

mod credentials;
mod deliver;
mod hook;
mod log;
mod mail;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid};

const USAGE: &str = "usage: cage-notify --flush | --background";
/// How long a run waits for another to finish before leaving its events to the next run.
const LOCK_WAIT: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--flush"] => Mode::Flush,
        ["--background"] => Mode::Background,
        ["--deliver"] => Mode::Deliver,
        _ => {
            eprintln!("cage-notify: {USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = become_root() {
        eprintln!("cage-notify: {e}");
        std::process::exit(2);
    }
    std::process::exit(match mode {
        Mode::Background => detach(),
        Mode::Deliver | Mode::Flush => run(mode == Mode::Flush),
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flush,
    Background,
    /// The detached process `--background` starts.
    Deliver,
}

/// Root alone, whatever started it (the setuid monitor keeps the operator's groups): every
/// id 0, no supplementary group, no inherited descriptor beyond stdio, private files.
fn become_root() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("must run as root".into());
    }
    let root = (Gid::from_raw(0), Uid::from_raw(0));
    nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setresgid(root.0, root.0, root.0).map_err(|e| format!("setresgid: {e}"))?;
    nix::unistd::setresuid(root.1, root.1, root.1).map_err(|e| format!("setresuid: {e}"))?;
    cage::sys::close_range(3, u32::MAX, 0).map_err(|e| format!("close_range: {e}"))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    Ok(())
}

/// Starts `cage-notify --deliver` in its own session with no stdio and an empty environment,
/// and returns without waiting: the caller (cagectl, the monitor) never waits on delivery.
fn detach() -> i32 {
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg("--deliver")
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    });
    match spawned {
        Ok(_) => 0,
        Err(e) => {
            log::Log::new(false).failure(&format!("the delivery run did not start: {e}"));
            1
        }
    }
}

/// One delivery run under the spool's lock; exit 1 when an event failed in it.
fn run(foreground: bool) -> i32 {
    if !foreground {
        let _ = nix::unistd::setsid();
    }
    let log = log::Log::new(foreground);
    let config = match cage::config::load() {
        Ok(config) => config,
        Err(e) => {
            log.failure(&format!("no delivery, the configuration is unusable: {e}"));
            return 1;
        }
    };
    let dir = cage::config::notify_spool_dir();
    if !config.notify.is_enabled() {
        // Turned off after events were queued: they wait, they are not dropped.
        let waiting = cage::notify::spool::list(&dir).map_or(0, |w| w.len());
        if waiting > 0 {
            log.failure(&format!(
                "[notify] names neither smtp_host nor event_hook: {waiting} events wait in {dir}"
            ));
        }
        return 0;
    }
    if let Err(e) = cage::notify::spool::check_dir(&dir) {
        log.failure(&format!("no delivery: {e}"));
        return 1;
    }
    let _lock = match lock(&dir) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            log.note("another cage-notify is still delivering; its run or the next one takes these events");
            return 0;
        }
        Err(e) => {
            log.failure(&format!("no delivery: {e}"));
            return 1;
        }
    };
    deliver::run(&config, &dir, &log)
}

/// The spool's lock, waited for up to [`LOCK_WAIT`] (`None`: still busy), so no two runs
/// deliver the same event.
fn lock(dir: &str) -> Result<Option<Flock<File>>, String> {
    let path = format!("{dir}/.lock");
    let start = Instant::now();
    loop {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("{path}: {e}"))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Some(lock)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(format!("{path}: {e}")),
        }
    }
}
