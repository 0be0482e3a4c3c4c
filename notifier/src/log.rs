//! What the notifier did, for the admin: one line per delivery, failure or give-up in
//! `/var/log/cage/notify.log`, the same to syslog (daemon facility), and on stderr/stdout
//! when run in the foreground (`--flush`, so a timer's journal has it too).
#![forbid(unsafe_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use cage::time::Timestamp;

/// daemon (3): the notifier is a system service, not a security record (the audit trail is).
const FACILITY_DAEMON: u8 = 3;
const SEVERITY_ERR: u8 = 3;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_INFO: u8 = 6;

pub struct Log {
    file: String,
    foreground: bool,
    host: String,
}

impl Log {
    pub fn new(foreground: bool) -> Log {
        let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        Log { file: format!("{}/notify.log", cage::config::log_dir()), foreground, host }
    }

    /// Something delivered, or nothing to do.
    pub fn note(&self, message: &str) {
        self.write(SEVERITY_INFO, message);
    }

    /// A failed attempt that will be retried.
    pub fn failure(&self, message: &str) {
        self.write(SEVERITY_WARNING, message);
    }

    /// An event given up on (kept in `failed/`): an admin must act.
    pub fn alarm(&self, message: &str) {
        self.write(SEVERITY_ERR, message);
    }

    fn write(&self, severity: u8, message: &str) {
        let now = Timestamp::now().to_rfc3339();
        let pid = std::process::id();
        let line = format!("{now} cage-notify[{pid}]: {message}\n");
        let appended = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            // Root's file, never a link someone left in its place.
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&self.file)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        let syslog = format!(
            "<{}>1 {now} {} cage-notify {pid} - - {message}",
            FACILITY_DAEMON * 8 + severity,
            if self.host.is_empty() { "-" } else { &self.host }
        );
        let sent = cage::audit::syslog::send(Path::new(cage::audit::syslog::SOCKET), syslog.as_bytes());
        let nowhere = appended.is_err() && sent.is_err();
        if self.foreground && severity == SEVERITY_INFO {
            print!("{line}");
        } else if self.foreground || nowhere {
            // Never silently: with neither the file nor syslog, stderr is the last place.
            eprint!("{line}");
            if let Err(e) = appended {
                eprintln!("cage-notify: {}: {e}", self.file);
            }
        }
    }
}
