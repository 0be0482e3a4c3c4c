//! The one rule of every walk down a tree (`sudols -R`, `sudocp -r`, `sudorm -r`): a
//! directory is entered only if it is on its parent's mount, holds no secrets and lies under
//! no deny rule, judged by its real path; what is not entered is said, never silently left.
#![forbid(unsafe_code)]

use nix::sys::stat::FileStat;

use crate::decide::PathGrant;

/// How deep `sudocp -r` and `sudorm -r` go: enough for any log tree, bounded against
/// pathological nesting.
pub(super) const MAX_DEPTH: usize = 64;

/// Why the directory `stat` (real path `real`), found in the directory `parent`, is not
/// entered through `grant`; `None` when it may be.
pub(super) fn refusal(grant: &PathGrant, parent: &FileStat, stat: &FileStat, real: &str) -> Option<String> {
    if stat.st_dev != parent.st_dev {
        return Some("another mount".into());
    }
    grant.fence(real).map(|why| why[real.len()..].trim_start().to_string())
}

/// `dir/name` for a directory's real path.
pub(super) fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}
