//! The OpenSSH user certificate a session authenticated with, when sshd exposes it
//! (`ExposeAuthInfo yes` writes the methods to the file named by `SSH_USER_AUTH`). A
//! certificate only narrows a login: it must agree with the grant, and the session ends when
//! it expires (docs/fleet.md).
#![forbid(unsafe_code)]

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use super::login_error::LoginError;
use crate::grant::cert::from_auth_info;
use crate::grant::Grant;
use crate::time::Timestamp;

/// The file sshd writes is small; anything larger is not its.
const MAX_BYTES: u64 = 64 * 1024;

/// Checks the certificate of the file at `path` (if the session used one) against `grant`;
/// returns when it expires. The file belongs to the operator: it is read only if it is a
/// regular file of theirs, never through a symlink, and can at most make the login refused.
pub(super) fn check(
    path: Option<&str>,
    grant: &Grant,
    login: &str,
    uid: u32,
) -> Result<Option<Timestamp>, LoginError> {
    let Some(path) = path else { return Ok(None) };
    let refused = |why: String| LoginError::Certificate(format!("the session's certificate: {why}"));
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refused(format!("{path}: {e}")))?;
    let meta = file.metadata().map_err(|e| refused(format!("{path}: {e}")))?;
    if !meta.file_type().is_file() || meta.uid() != uid || meta.len() > MAX_BYTES {
        return Err(refused(format!("{path} is not a small regular file of {login}'s")));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| refused(format!("{path}: {e}")))?;
    let Some(cert) = from_auth_info(&text).map_err(|e| refused(e.0))? else { return Ok(None) };
    cert.check(grant, login, Timestamp::now()).map_err(|e| refused(e.0))?;
    Ok(Some(cert.expires()))
}
