//! Accounts: the operator's identity, and the service users aliases run as.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fmt;

use nix::errno::Errno;
use nix::unistd::{getgrouplist, Gid, User};

use crate::jail::Identity;
use crate::policy::RunAs;

/// Why an account's identity could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    Lookup { name: String, error: Errno },
    NoSuchUser { name: String },
    Nul { name: String },
    Groups { name: String, error: Errno },
    CallerGroups(Errno),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Lookup { name, error } => write!(f, "looking up user `{name}`: {error}"),
            IdentityError::NoSuchUser { name } => write!(f, "user `{name}` does not exist on this host"),
            IdentityError::Nul { name } => write!(f, "user name `{name}` contains NUL"),
            IdentityError::Groups { name, error } => write!(f, "groups of `{name}`: {error}"),
            IdentityError::CallerGroups(error) => write!(f, "the caller's groups: {error}"),
        }
    }
}

impl std::error::Error for IdentityError {}

/// The account named `name`, with its supplementary groups, from the system's user database.
pub(crate) fn lookup(name: &str) -> Result<Identity, IdentityError> {
    let user = User::from_name(name)
        .map_err(|error| IdentityError::Lookup { name: name.into(), error })?
        .ok_or_else(|| IdentityError::NoSuchUser { name: name.into() })?;
    of_user(user)
}

/// The identity of an account already looked up, with its supplementary groups.
pub(crate) fn of_user(user: User) -> Result<Identity, IdentityError> {
    let name = &user.name;
    let cname = CString::new(name.as_str()).map_err(|_| IdentityError::Nul { name: name.clone() })?;
    let groups = getgrouplist(&cname, user.gid)
        .map_err(|error| IdentityError::Groups { name: name.clone(), error })?;
    Ok(with_groups(user, groups.into_iter().map(Gid::as_raw).collect()))
}

/// The identity of the account that started cage, with the supplementary groups its login
/// gave it: sshd, login and su set them (initgroups) before starting the shell, and only a
/// privileged program can. Reading them back from the kernel makes the jail run with exactly
/// the groups the caller holds, and spares asking every NSS module for the group list again.
pub(crate) fn of_caller(user: User) -> Result<Identity, IdentityError> {
    let held = nix::unistd::getgroups().map_err(IdentityError::CallerGroups)?;
    let mut groups: Vec<u32> = vec![user.gid.as_raw()];
    groups.extend(held.into_iter().map(Gid::as_raw).filter(|g| *g != user.gid.as_raw()));
    Ok(with_groups(user, groups))
}

fn with_groups(user: User, groups: Vec<u32>) -> Identity {
    Identity {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
        home: user.dir.to_string_lossy().into_owned(),
    }
}

/// Who a command runs as.
pub(crate) fn for_run_as(run_as: &RunAs, operator: &Identity) -> Result<Identity, IdentityError> {
    match run_as {
        RunAs::Operator => Ok(operator.clone()),
        RunAs::Root => Ok(Identity::root()),
        RunAs::User(name) => lookup(name),
    }
}
