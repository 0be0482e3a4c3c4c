//! cagectl's files under /etc/cage: written atomically (temp file in the same root-only
//! directory, fsynced, renamed), read back through the trusted-path checks cage itself uses.
#![forbid(unsafe_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

use cage::config;
use cage::grant::Grant;
use cage::request::Request;

/// A temp file beside `path` (mode `mode`), fsynced, then renamed over it; `dir` is created
/// root-only (0700) when missing, and its entry synced.
pub fn write_atomically(dir: &str, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    write_with_mode(dir, 0o700, path, 0o600, bytes)
}

pub fn write_with_mode(dir: &str, dir_mode: u32, path: &str, mode: u32, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(dir_mode))?;
    let temp = format!("{path}.tmp.{}", std::process::id());
    let _ = fs::remove_file(&temp);
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&temp)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    fs::File::open(dir)?.sync_all()
}

/// Creates `path` only if it does not exist yet (an id is never reused), root-only.
pub fn create_new(dir: &str, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::File::open(dir)?.sync_all()
}

pub fn request_path(id: &str) -> String {
    format!("{}/{id}.toml", config::request_dir())
}

pub fn grant_path(login: &str) -> String {
    format!("{}/{login}.toml", config::grant_dir())
}

pub fn key_path(login: &str) -> String {
    format!("{}/{login}", config::key_dir())
}

/// Reads request `id` the way cage reads its files (root's, not writable by others).
pub fn read_request(id: &str) -> Result<Request, String> {
    let path = request_path(id);
    let text = cage::trust::read_file(&path).map_err(|e| match e {
        cage::trust::TrustError::Missing { .. } => format!("no request {id}"),
        other => other.to_string(),
    })?;
    Request::parse(&text, &path).map_err(|e| e.to_string())
}

pub fn write_request(request: &Request) -> Result<(), String> {
    let path = request_path(&request.id);
    write_atomically(&config::request_dir(), &path, request.to_toml().as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}

/// The grant of `login`, if there is one.
pub fn read_grant(login: &str) -> Result<Option<Grant>, String> {
    let path = grant_path(login);
    match cage::trust::read_file(&path) {
        Ok(text) => Grant::parse(&text, &path).map(Some).map_err(|e| e.to_string()),
        Err(cage::trust::TrustError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks `grant` the way cage will read it, then writes it.
pub fn write_grant(grant: &Grant) -> Result<(), String> {
    let path = grant_path(&grant.login);
    Grant::parse(&grant.to_toml(), &path).map_err(|e| e.to_string())?;
    write_atomically(&config::grant_dir(), &path, grant.to_toml().as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}

/// The names (without `.toml`) of the files in `dir`, sorted; none when it does not exist.
pub fn names(dir: &str) -> Result<Vec<String>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{dir}: {e}")),
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".toml").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// Every request on file, oldest first (unreadable ones as errors, never skipped silently).
pub fn all_requests() -> Result<Vec<Result<Request, String>>, String> {
    let mut all: Vec<Result<Request, String>> =
        names(&config::request_dir())?.iter().map(|id| read_request(id)).collect();
    all.sort_by_key(|r| r.as_ref().map(|r| r.requested_at).ok());
    Ok(all)
}
