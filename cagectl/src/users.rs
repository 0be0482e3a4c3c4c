//! Temporary users: created with the system's `useradd` (which takes the passwd/shadow locks),
//! recorded in `/etc/cage/users/LOGIN.toml`, later locked and removed by `reap`. Only users
//! recorded there, whose uid and home still match the record, are ever locked or removed.
#![forbid(unsafe_code)]

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::process::Command;

use nix::unistd::{Uid, User};
use serde::{Deserialize, Serialize};

use crate::store;
use cage::config::{self, AccessConfig};
use cage::time::Timestamp;

/// What cagectl knows about a temporary user it created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempUser {
    pub login: String,
    pub uid: u32,
    pub home: String,
    pub req_auth_id: String,
    pub created_at: Timestamp,
    /// `active`, `locked` (no login possible; kept for the retention period) or `removed`.
    pub state: String,
    pub changed_at: Timestamp,
}

fn record_path(login: &str) -> String {
    format!("{}/{login}.toml", config::user_dir())
}

pub fn read(login: &str) -> Result<Option<TempUser>, String> {
    let path = record_path(login);
    match cage::trust::read_file(&path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| {
            let at =
                cage::source::SourceError::at(&path, &text, e.span().map_or(0, |s| s.start), e.message());
            at.to_string()
        }),
        Err(cage::trust::TrustError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn write(user: &TempUser) -> Result<(), String> {
    let path = record_path(&user.login);
    let text = toml::to_string(user).map_err(|e| e.to_string())?;
    store::write_atomically(&config::user_dir(), &path, text.as_bytes()).map_err(|e| format!("{path}: {e}"))
}

/// Every recorded temporary user.
pub fn all() -> Result<Vec<TempUser>, String> {
    store::names(&config::user_dir())?.iter().filter_map(|login| read(login).transpose()).collect()
}

/// Refuses a login that exists already, or whose home or key file is there: a leftover could
/// be someone else's and must not be adopted.
pub fn check_free(access: &AccessConfig, login: &str) -> Result<(), String> {
    if User::from_name(login).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("user {login} exists already"));
    }
    for path in [access.home_of(login), store::key_path(login), record_path(login)] {
        if fs::symlink_metadata(&path).is_ok() {
            return Err(format!("{path} exists already"));
        }
    }
    Ok(())
}

/// The first uid of the range without an account or a group.
fn free_uid(access: &AccessConfig) -> Result<u32, String> {
    (access.uid_min..=access.uid_max)
        .find(|&uid| {
            User::from_uid(Uid::from_raw(uid)).is_ok_and(|u| u.is_none())
                && nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(uid)).is_ok_and(|g| g.is_none())
        })
        .ok_or_else(|| format!("no free uid left in {}..={}", access.uid_min, access.uid_max))
}

/// Creates `login` for request `req`: login shell cage, no password (locked for password
/// authentication), a fresh home 0700, `key` (when given) in `/etc/cage/keys/LOGIN`, root's.
pub fn create(access: &AccessConfig, login: &str, req: &str, key: Option<&str>) -> Result<TempUser, String> {
    check_free(access, login)?;
    let home = access.home_of(login);
    let comment = format!("cage {req}");
    // Two approvals at once may pick the same free uid; useradd refuses the second (it holds
    // the passwd lock), which then takes the next one.
    let mut attempts = 0;
    let uid = loop {
        let uid = free_uid(access)?;
        match useradd(access, login, uid, &home, &comment) {
            Ok(()) => break uid,
            Err(e) if attempts < 5 && User::from_uid(Uid::from_raw(uid)).is_ok_and(|u| u.is_some()) => {
                attempts += 1;
                let _ = e;
            }
            Err(e) => return Err(e),
        }
    };
    let made = finish(access, login, req, key, uid, &home);
    if made.is_err() {
        // Nothing half made may stay: the account, its home and its key go again.
        let _ = Command::new("userdel").args(["--", login]).status();
        let _ = fs::remove_dir(&home);
        let _ = fs::remove_file(store::key_path(login));
    }
    made
}

fn useradd(access: &AccessConfig, login: &str, uid: u32, home: &str, comment: &str) -> Result<(), String> {
    run(Command::new("useradd").args([
        "--uid",
        &uid.to_string(),
        "--user-group",
        "--groups",
        &access.user_group,
        "--shell",
        &access.shell,
        "--home-dir",
        home,
        "--no-create-home",
        "--comment",
        comment,
        "--password",
        "!",
        "--",
        login,
    ]))
}

fn finish(
    access: &AccessConfig,
    login: &str,
    req: &str,
    key: Option<&str>,
    uid: u32,
    home: &str,
) -> Result<TempUser, String> {
    let user =
        User::from_name(login).ok().flatten().ok_or_else(|| format!("useradd made no user {login}"))?;
    if user.uid.as_raw() != uid {
        return Err(format!("useradd gave {login} uid {} instead of {uid}", user.uid));
    }
    fs::create_dir_all(&access.home_base).map_err(|e| format!("{}: {e}", access.home_base))?;
    fs::DirBuilder::new().mode(0o700).create(home).map_err(|e| format!("{home}: {e}"))?;
    std::os::unix::fs::lchown(home, Some(uid), Some(user.gid.as_raw()))
        .map_err(|e| format!("{home}: {e}"))?;
    fs::set_permissions(home, fs::Permissions::from_mode(0o700)).map_err(|e| format!("{home}: {e}"))?;
    if let Some(key) = key {
        let path = store::key_path(login);
        // Root's, readable by sshd's unprivileged check, never writable by the user.
        store::write_with_mode(&config::key_dir(), 0o755, &path, 0o644, format!("{key}\n").as_bytes())
            .map_err(|e| format!("{path}: {e}"))?;
    }
    let now = Timestamp::now();
    let record = TempUser {
        login: login.into(),
        uid,
        home: home.into(),
        req_auth_id: req.into(),
        created_at: now,
        state: "active".into(),
        changed_at: now,
    };
    write(&record)?;
    Ok(record)
}

/// The account as the system has it, checked against the record (uid and home unchanged).
fn matching(record: &TempUser) -> Result<Option<User>, String> {
    let Some(user) = User::from_name(&record.login).map_err(|e| e.to_string())? else { return Ok(None) };
    if user.uid.as_raw() != record.uid || user.dir.to_str() != Some(record.home.as_str()) {
        return Err(format!(
            "{} no longer has the uid and home cagectl gave it ({} {}); left alone",
            record.login, record.uid, record.home
        ));
    }
    Ok(Some(user))
}

/// Locks the account for every kind of login (password locked, account expired) and removes
/// nothing: the home stays for the retention period.
pub fn lock(record: &TempUser) -> Result<TempUser, String> {
    if matching(record)?.is_some() {
        run(Command::new("usermod").args(["--lock", "--expiredate", "1", "--", &record.login]))?;
    }
    let locked = TempUser { state: "locked".into(), changed_at: Timestamp::now(), ..record.clone() };
    write(&locked)?;
    Ok(locked)
}

/// Removes the account, its home and its key (the audit trail keeps its records).
pub fn remove(record: &TempUser) -> Result<TempUser, String> {
    if matching(record)?.is_some() {
        run(Command::new("userdel").args(["--remove", "--", &record.login]))?;
    }
    // userdel leaves a home that is not the passwd one, or none; make sure it is gone.
    match fs::symlink_metadata(&record.home) {
        Ok(meta) if meta.is_dir() && std::os::unix::fs::MetadataExt::uid(&meta) == record.uid => {
            fs::remove_dir_all(&record.home).map_err(|e| format!("{}: {e}", record.home))?
        }
        _ => {}
    }
    let key = store::key_path(&record.login);
    if let Err(e) = fs::remove_file(&key) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(format!("{key}: {e}"));
        }
    }
    let removed = TempUser { state: "removed".into(), changed_at: Timestamp::now(), ..record.clone() };
    write(&removed)?;
    Ok(removed)
}

fn run(command: &mut Command) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let out = command.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").output();
    let out = out.map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(format!("{program} failed ({}): {}", out.status, said.trim().replace('\n', "; ")))
}
