//! `cagectl grant`: write a grant file for a login (the full access lifecycle builds on it).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::args::{Parsed, UsageError};
use super::exit;
use crate::grant::{Grant, GrantState};
use crate::policy::types::is_unix_name;
use crate::policy::PolicySet;
use crate::time::{parse_duration, Timestamp};

const KNOWN: &[&str] = &["login", "actions", "duration", "req", "reason", "policies", "grants"];

pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let parsed = Parsed::parse(args, KNOWN)?;
    if let Some(extra) = parsed.positionals.first() {
        return Err(UsageError(format!("unexpected argument `{extra}`")));
    }
    let login = parsed.require("login")?.to_string();
    if !is_unix_name(&login) {
        return Err(UsageError(format!("`{login}` is not a valid login name")));
    }
    let actions: Vec<String> = parsed.require("actions")?.split(',').map(|a| a.trim().to_string()).collect();
    let duration = parse_duration(parsed.require("duration")?).map_err(|e| UsageError(e.to_string()))?;
    let req = parsed.require("req")?.to_string();
    if !nix::unistd::geteuid().is_root() {
        let _ = writeln!(err, "cagectl: grant: only root may write grants");
        return Ok(exit::REFUSED);
    }
    let policy_dir = parsed.get("policies").map_or_else(crate::config::policy_dir, str::to_string);
    let set = match PolicySet::load_dir(Path::new(&policy_dir)) {
        Ok(set) => set,
        Err(errors) => return Ok(config_error(err, &errors)),
    };
    if let Some(unknown) = actions.iter().find(|a| !set.is_grantable(a)) {
        let _ = writeln!(err, "cagectl: grant: `{unknown}` is not a grantable action in {policy_dir}");
        return Ok(exit::REFUSED);
    }
    let now = Timestamp::now();
    let Some(expires) = now.checked_add(duration) else {
        return Err(UsageError("the duration is too long".into()));
    };
    let grant = Grant {
        req_auth_id: req,
        login: login.clone(),
        actions,
        not_before: now,
        expires,
        approved_by: approver(),
        reason: parsed.get("reason").unwrap_or("").to_string(),
        state: GrantState::Approved,
        revoked: None,
    };
    let dir = parsed.get("grants").map_or_else(crate::config::grant_dir, str::to_string);
    let path = format!("{dir}/{login}.toml");
    // Checked the way cage will read it, before anything is written.
    if let Err(e) = Grant::parse(&grant.to_toml(), &path) {
        let _ = writeln!(err, "cagectl: grant: {e}");
        return Ok(exit::REFUSED);
    }
    let mut entry =
        crate::audit::Entry::new("grant").with("action", "granted").with("by", grant.approved_by.clone());
    entry.argv = ["cagectl", "grant"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    entry.extra.insert("actions".into(), grant.actions.clone().into());
    entry.extra.insert("expires".into(), grant.expires.to_rfc3339().into());
    if let Err(e) = super::audit::record_admin_change(&grant.req_auth_id, &login, entry) {
        let _ = writeln!(err, "cagectl: grant: refused, the change could not be audited: {e}");
        return Ok(exit::REFUSED);
    }
    match write_atomically(&dir, &path, grant.to_toml().as_bytes()) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "granted {} to {login} until {} ({path})",
                grant.actions.join(","),
                grant.expires
            );
            Ok(exit::OK)
        }
        Err(e) => {
            let _ = writeln!(err, "cagectl: grant: writing {path}: {e}");
            Ok(exit::REFUSED)
        }
    }
}

/// Who approves: the admin behind sudo, else the invoking user.
fn approver() -> String {
    let sudo = std::env::var("SUDO_USER").ok().filter(|u| is_unix_name(u));
    sudo.or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| "root".into())
}

/// A temp file in the same directory (root-only), fsynced, then renamed over the grant.
fn write_atomically(dir: &str, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let temp = format!("{path}.tmp.{}", std::process::id());
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temp, path)?;
    fs::File::open(dir)?.sync_all()
}

fn config_error(err: &mut dyn Write, errors: &[crate::source::SourceError]) -> i32 {
    for e in errors {
        let _ = writeln!(err, "cagectl: {e}");
    }
    exit::USAGE
}
