//! Shrinking the bounding set in the monitor's children (the REPL, the file commands).
//! The jail does its own from data prepared before fork (`jail::prepare`).
#![forbid(unsafe_code)]

use caps::{CapSet, CapsHashSet};

/// Drops every capability but `keep` from the bounding set. Needs CAP_SETPCAP, so it comes
/// before anything else is given up. Capabilities this kernel does not know are not in the
/// set to begin with, and are skipped.
pub fn drop_bounding_except(keep: &CapsHashSet) -> Result<(), String> {
    for cap in caps::all().into_iter().filter(|c| !keep.contains(c)) {
        if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| format!("bounding set: {e}"))?;
        }
    }
    Ok(())
}
