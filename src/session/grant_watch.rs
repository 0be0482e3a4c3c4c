//! Watching the grant: the grant as it stands now (or why the session must end, a
//! certificate's end included), and the prompt loop's view of it with the end-of-grant warnings.
#![forbid(unsafe_code)]

use std::io::Write;
use std::time::Duration;

use super::startup::{self, Login};
use super::SessionEnd;
use crate::audit::EndReason;
use crate::grant::{Grant, Validity};
use crate::time::{format_remaining, Timestamp};

/// The grant as it stands now, or why the session must end.
/// A session that logged in with an SSH certificate also ends when the certificate expires.
pub(super) fn current_grant(
    path: &str,
    login: &str,
    certificate_expires: Option<Timestamp>,
) -> Result<Grant, SessionEnd> {
    let grant = startup::read_grant(path, login).map_err(|message| {
        // A grant that is gone was revoked; one that cannot be read is an error.
        let gone = std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        SessionEnd::new(if gone { EndReason::Revoked } else { EndReason::Error }, message.to_string())
    })?;
    let now = Timestamp::now();
    let reason = match grant.validity(now) {
        Validity::Valid { .. } => match certificate_expires.filter(|end| now >= *end) {
            None => return Ok(grant),
            Some(end) => {
                return Err(SessionEnd::new(
                    EndReason::Expired,
                    format!("the session's certificate expired at {end}"),
                ))
            }
        },
        Validity::Expired { .. } => EndReason::Expired,
        Validity::Revoked | Validity::NotYetValid { .. } => EndReason::Revoked,
    };
    Err(SessionEnd::new(reason, grant.describe_validity(now)))
}

/// The grant as the prompt loop last read it (for the prompt's time left), re-read on the
/// session's deadline; warns 10 and 1 minutes before the end.
pub(super) struct GrantWatch {
    path: String,
    login: String,
    certificate_expires: Option<Timestamp>,
    pub(super) grant: Option<Grant>,
    warned: [bool; 2],
}

impl GrantWatch {
    pub(super) fn new(login: &Login) -> Self {
        let name = login.operator.name.clone();
        GrantWatch {
            path: login.grant_path.clone(),
            login: name,
            certificate_expires: login.certificate_expires,
            grant: Some(login.grant.clone()),
            warned: [false; 2],
        }
    }

    pub(super) fn refresh(&mut self) {
        self.grant = startup::read_grant(&self.path, &self.login).ok();
    }

    pub(super) fn check(&mut self, err: &mut dyn Write) -> Result<(), SessionEnd> {
        let grant = current_grant(&self.path, &self.login, self.certificate_expires)?;
        let left = grant.expires.duration_since(Timestamp::now()).unwrap_or_default();
        for (i, minutes) in [10u64, 1].into_iter().enumerate() {
            if left <= Duration::from_secs(minutes * 60) && !self.warned[i] {
                self.warned[i] = true;
                let _ = writeln!(
                    err,
                    "\ncage: this session ends in {} (grant {})",
                    format_remaining(left),
                    grant.req_auth_id
                );
            }
        }
        self.grant = Some(grant);
        Ok(())
    }
}
