//! Who runs cagectl (the admin behind sudo, else the real user) and whether they may approve.
#![forbid(unsafe_code)]

use nix::unistd::{Group, User};

use cage::policy::types::is_unix_name;

/// The invoking person: `SUDO_USER` when run through sudo, else the real user's name.
pub fn invoker() -> String {
    let sudo = std::env::var("SUDO_USER").ok().filter(|u| is_unix_name(u) && u != "root");
    sudo.or_else(|| User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// `Ok` when `person` is a member of `group` (listed, or it is their primary group); with no
/// group configured, anyone who can run cagectl as root may.
pub fn check_approver(person: &str, group: Option<&str>) -> Result<(), String> {
    let Some(group) = group else { return Ok(()) };
    let found = Group::from_name(group).map_err(|e| format!("cannot look up group {group}: {e}"))?;
    let Some(found) = found else {
        return Err(format!("the approver group `{group}` does not exist"));
    };
    let primary = User::from_name(person).ok().flatten().is_some_and(|u| u.gid == found.gid);
    if primary || found.mem.iter().any(|m| m == person) {
        return Ok(());
    }
    Err(format!("{person} is not a member of the approver group `{group}`"))
}

/// `Ok` when cagectl runs as root (every change needs it).
pub fn require_root(what: &str) -> Result<(), String> {
    match nix::unistd::geteuid().is_root() {
        true => Ok(()),
        false => Err(format!("only root may {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_group_anyone_may_and_an_unknown_group_refuses() {
        assert_eq!(check_approver("alice", None), Ok(()));
        assert_eq!(
            check_approver("alice", Some("cage-no-such-group")),
            Err("the approver group `cage-no-such-group` does not exist".into())
        );
    }

    #[test]
    fn membership_is_read_from_the_group_database() {
        // `root` is root's primary group on every system we run on; `nobody` is not in it.
        assert_eq!(check_approver("root", Some("root")), Ok(()));
        assert_eq!(
            check_approver("nobody", Some("root")),
            Err("nobody is not a member of the approver group `root`".into())
        );
    }
}
