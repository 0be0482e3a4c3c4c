//! Notifications, the queueing half: cagectl and the monitor write each event to the spool and
//! start the notifier (`cage-notify`, a separate program: neither cage nor cagectl links a
//! mail library), then go on at once. Delivery (mail, event hook, retries) is the notifier's;
//! a command never waits on the network. See docs/notifications.md.
#![forbid(unsafe_code)]

pub(crate) mod event;
pub mod spool;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub use event::{Audience, Event, Kind};

use crate::config::{self, Config};

/// The argument that makes `cage-notify` start a detached delivery run and return at once.
pub const BACKGROUND: &str = "--background";

/// Queues `events` (when `[notify]` asks for anything) and starts the notifier. Returns one
/// line per thing that went wrong, for the caller to show; the change the events announce
/// has been made and audited either way.
pub fn announce(config: &Config, events: Vec<Event>) -> Vec<String> {
    if !config.notify.is_enabled() || events.is_empty() {
        return Vec::new();
    }
    let host = host_name(config);
    let dir = config::notify_spool_dir();
    let mut problems = Vec::new();
    let mut queued = 0;
    for mut event in events {
        event.host = host.clone();
        match spool::enqueue(&dir, &event) {
            Ok(_) => queued += 1,
            Err(e) => problems.push(format!(
                "the {} event of {} was not queued: {e}",
                event.event.as_str(),
                event.req_auth_id
            )),
        }
    }
    if queued > 0 {
        if let Err(e) = start_notifier() {
            problems.push(format!("the notifier did not start ({e}); the events wait in {dir}"));
        }
    }
    problems
}

/// The host named in events: `hostname` in cage.toml, else the kernel's.
pub fn host_name(config: &Config) -> String {
    config.hostname.clone().unwrap_or_else(|| {
        nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "host".into())
    })
}

/// Starts `cage-notify --background` as root (uid and gid 0 even from the setuid monitor),
/// with an empty environment and no stdio, and waits only for it to hand the delivery to a
/// detached process of its own (it does not touch the network first).
pub fn start_notifier() -> Result<(), String> {
    crate::trust::check_program(config::NOTIFIER).map_err(|e| e.to_string())?;
    let status = Command::new(config::NOTIFIER)
        .arg(BACKGROUND)
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .uid(0)
        .gid(0)
        .status()
        .map_err(|e| format!("{}: {e}", config::NOTIFIER))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{} {BACKGROUND} ended with {status}", config::NOTIFIER)),
    }
}
