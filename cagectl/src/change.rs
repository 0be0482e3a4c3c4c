//! What every lifecycle command shares: the `grant` record written before a change (no record,
//! no change), and the one-line refusal.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use crate::exit;
use cage::audit::Entry;

/// A `grant` record for `action` (`requested`, `approved`, `extended`, ...) by `by`, whose
/// `argv` is the admin's command line.
pub fn entry(command: &str, args: &[OsString], action: &str, by: &str) -> Entry {
    let mut entry = Entry::new("grant").with("action", action).with("by", by);
    entry.argv = ["cagectl", command]
        .into_iter()
        .map(String::from)
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    entry
}

/// Records `entry` before the change it announces; `Err` means the change must not be made.
pub fn audit(req: &str, login: &str, entry: Entry) -> Result<(), String> {
    crate::admin_record::record_admin_change(req, login, entry)
        .map_err(|e| format!("refused, the change could not be audited: {e}"))
}

/// After a recorded change failed halfway: says so in the trail too (best effort: the first
/// record already announced it, this one only tells how it ended).
pub fn audit_failure(req: &str, login: &str, command: &str, args: &[OsString], error: &str) {
    let failed = entry(command, args, "failed", &crate::who::invoker()).with("error", error);
    let _ = crate::admin_record::record_admin_change(req, login, failed);
}

/// Prints the outcome: the lines on stdout (exit 0), or `cagectl: COMMAND: why` (exit 1).
pub fn report(
    command: &str,
    result: Result<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match result {
        Ok(lines) => {
            let _ = write!(out, "{lines}");
            exit::OK
        }
        Err(why) => {
            let _ = writeln!(err, "cagectl: {command}: {why}");
            exit::REFUSED
        }
    }
}
