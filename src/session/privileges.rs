//! Shrinking the capabilities of the monitor's children (the REPL, the file commands, sudovi).
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

/// Keeps only `keep` of root's capabilities (bounding set included) under no_new_privs: for a
/// monitor child that has started what needed more and goes on with a narrow job.
pub fn keep_only(keep: &CapsHashSet) -> Result<(), String> {
    drop_bounding_except(keep)?;
    // Effective first: Permitted may never drop below it.
    let none = CapsHashSet::new();
    for (set, value) in [(CapSet::Effective, keep), (CapSet::Inheritable, &none), (CapSet::Permitted, keep)] {
        caps::set(None, set, value).map_err(|e| e.to_string())?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| e.to_string())
}
