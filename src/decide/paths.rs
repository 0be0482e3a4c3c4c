//! Judging a lexically normalized path against the session's file rules.
#![forbid(unsafe_code)]

use super::denial::DenyReason;
use super::plan::{Access, PathGrant, Rule};
use crate::policy::path::{is_secret, is_within};
use crate::policy::{PathRule, Profile, Sourced};

pub(super) fn rule(profile: &Profile, sourced: &Sourced<PathRule>, kind: &'static str) -> Rule {
    Rule { origin: sourced.origin.clone(), layer: profile.layer, kind, key: sourced.item.written.clone() }
}

/// The most specific rule covering `path`; on a tie read-write wins (a union of rights).
fn covering<'p>(profile: &'p Profile, path: &str) -> Option<(&'p Sourced<PathRule>, bool)> {
    let rw = profile.read_write.iter().map(|r| (r, true));
    let ro = profile.read_only.iter().map(|r| (r, false));
    rw.chain(ro)
        .filter(|(r, _)| is_within(path, &r.item.path))
        .max_by_key(|(r, writable)| (r.item.path.len(), *writable))
}

/// Allows `path` for `access` under the file rules, or says which rule refuses it.
pub fn judge(profile: &Profile, path: &str, access: Access) -> Result<PathGrant, DenyReason> {
    if is_secret(path) {
        return Err(DenyReason::Secret { path: path.to_string() });
    }
    if let Some(denied) = profile.deny.iter().find(|d| is_within(path, &d.item.path)) {
        return Err(DenyReason::DeniedPath {
            path: path.to_string(),
            rule: rule(profile, denied, "files.deny"),
        });
    }
    let write = access == Access::Write;
    let Some((sourced, writable)) = covering(profile, path) else {
        return Err(DenyReason::PathOutside { path: path.to_string(), write });
    };
    let kind = if writable { "files.read_write" } else { "files.read_only" };
    let rule = rule(profile, sourced, kind);
    if write && !writable {
        return Err(DenyReason::ReadOnly { path: path.to_string(), rule });
    }
    let base = sourced.item.path.clone();
    let fences = profile.deny.iter().map(|d| d.item.path.clone()).filter(|d| is_within(d, &base)).collect();
    Ok(PathGrant { path: path.to_string(), access, base, rule: Some(rule), fences })
}

/// Directories `cd` may enter: the file rules and the jail's readable view.
pub(super) fn may_enter(profile: &Profile, path: &str) -> bool {
    if is_secret(path) || profile.deny.iter().any(|d| is_within(path, &d.item.path)) {
        return false;
    }
    let view = profile.view.iter().flat_map(|v| v.readable.iter().chain(&v.writable));
    let rules = profile.read_write.iter().chain(&profile.read_only).map(|s| &s.item);
    profile.full_access.is_some() || rules.chain(view).any(|r| is_within(path, &r.path))
}
