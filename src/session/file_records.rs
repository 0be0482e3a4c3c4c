//! Writing the `file` records of what a file command did, with the session's audit trail:
//! in the file-command child and the sudovi supervisor (which inherit it from the monitor),
//! and in the monitor for redirection targets.
#![forbid(unsafe_code)]

use std::io::Write;

use nix::sys::signal::SigSet;

use crate::audit::{Audit, AuditError};
use crate::files::events::FileEvent;
use crate::files::Ended;

/// Writes one record per event, in order; stops at the first that cannot be written.
pub(super) fn record(audit: &Audit, cwd: &str, events: &[FileEvent]) -> Result<(), AuditError> {
    for event in events {
        let mut entry = event.entry();
        entry.cwd = Some(cwd.to_string());
        audit.record(&entry)?;
    }
    Ok(())
}

/// Records what a file command did once it is done; returns its exit status, non-zero when
/// the records could not be written (said on `err` in one line). A command interrupted by a
/// signal (still blocked) ends by it here, as it would have without recording.
pub(super) fn finish(
    audit: &Audit,
    cwd: &str,
    events: &[FileEvent],
    ended: Ended,
    err: &mut dyn Write,
) -> i32 {
    let recorded = record(audit, cwd, events);
    if let Err(e) = &recorded {
        let _ = writeln!(err, "cage: the file operation was not recorded: {e}");
    }
    match ended {
        Ended::Signal(signal) => {
            let _ = err.flush();
            let _ = nix::sys::signal::raise(signal);
            let mut set = SigSet::empty();
            set.add(signal);
            let _ = set.thread_unblock();
            128 + signal as i32
        }
        Ended::Status(0) if recorded.is_err() => 1,
        Ended::Status(status) => status,
    }
}
