//! The cgroup of a session's unjailed (full-access) commands: they run as root with no PID
//! namespace, so whatever they leave behind (a `setsid -f`, a double-forked daemon) is found
//! and killed here when the session ends. Jailed commands need none: the end of a jail's
//! PID 1 ends every process in it.
#![forbid(unsafe_code)]

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `<cgroup2>/cage/session-ID`, made on the session's first unjailed command.
pub struct SessionCgroup {
    path: PathBuf,
    dir: OwnedFd,
}

impl SessionCgroup {
    pub fn create(session: &str) -> io::Result<SessionCgroup> {
        let path = crate::jail::egress_cgroup::cage_root()?.join(format!("session-{session}"));
        fs::DirBuilder::new().mode(0o755).create(&path)?;
        let dir = OwnedFd::from(fs::File::open(&path)?);
        Ok(SessionCgroup { path, dir })
    }

    /// The directory to start a process in (clone3 `CLONE_INTO_CGROUP`).
    pub fn fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    /// Kills every process in the cgroup at once and removes it; waits (up to a second) until
    /// the kernel says it is empty.
    pub fn kill_all(self) -> io::Result<()> {
        fs::write(self.path.join("cgroup.kill"), "1")?;
        let deadline = Instant::now() + Duration::from_secs(1);
        while fs::read_to_string(self.path.join("cgroup.events"))?.contains("populated 1") {
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!("{} still has processes", self.path.display())));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        fs::remove_dir(&self.path)
    }
}
