//! `cagectl extend` and `cagectl revoke`: changing a grant that is in force. A live session
//! re-reads its grant every second, so both take effect there within a second.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use clap::Args;

use crate::notice::{self, Outbox};
use crate::{change, store, users, who, UsageError};
use cage::grant::{Grant, GrantState, Revocation, Validity};
use cage::notify::Kind;
use cage::policy::types::is_unix_name;
use cage::request::{self, Request};
use cage::shown::shown;
use cage::time::{parse_duration, Timestamp};

#[derive(Debug, Args)]
pub struct ExtendOptions {
    /// The temporary user whose grant to extend
    #[arg(value_name = "LOGIN")]
    pub login: Option<String>,
    /// Added to the grant's current end (this or --until)
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// The new end, RFC 3339 (this or --duration)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeOptions {
    /// The login whose grant to end, or the request id
    #[arg(value_name = "LOGIN|ID")]
    pub target: Option<String>,
    /// Why, for the trail and the notices
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub reason: Option<String>,
}

/// `args`: the arguments as given, for the trail.
pub fn run_extend(
    options: &ExtendOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let login = one_login(options.login.as_deref())?;
    let by_duration =
        options.duration.as_deref().map(parse_duration).transpose().map_err(|e| UsageError(e.to_string()))?;
    let until = options
        .until
        .as_deref()
        .map(Timestamp::parse_rfc3339)
        .transpose()
        .map_err(|e| UsageError(format!("--until: {e}")))?;
    if by_duration.is_some() == until.is_some() {
        return Err(UsageError("give --duration or --until (one of them)".into()));
    }
    let mut outbox = Outbox::default();
    let result = (|| {
        who::require_root("extend grants")?;
        let config = cage::config::load()?;
        let by = who::invoker();
        who::check_approver(&by, config.access.approver_group.as_deref())?;
        let mut grant = store::read_grant(&login)?.ok_or_else(|| format!("no grant for {login}"))?;
        let now = Timestamp::now();
        match grant.validity(now) {
            Validity::Revoked => return Err(format!("the grant of {login} is revoked")),
            Validity::Expired { .. } => {
                return Err(format!("the grant of {login} expired {}; raise a new request", grant.expires))
            }
            Validity::Valid { .. } | Validity::NotYetValid { .. } => {}
        }
        let new_end = match (by_duration, until) {
            (Some(d), _) => grant.expires.checked_add(d).ok_or("the duration is too long")?,
            (None, Some(t)) => t,
            (None, None) => return Err("nothing to extend by".into()),
        };
        if new_end <= grant.expires {
            return Err(format!(
                "{new_end} is not after the current end {} (revoke ends a grant early)",
                grant.expires
            ));
        }
        let window = new_end.duration_since(grant.not_before).unwrap_or_default();
        request::check_duration(window, config.access.max_duration)
            .map_err(|e| format!("the whole grant: {}", e.0))?;
        let old_end = grant.expires;
        let entry = change::entry("extend", args, "extended", &by)
            .with("from", old_end.to_rfc3339())
            .with("expires", new_end.to_rfc3339());
        change::audit(&grant.req_auth_id, &login, entry)?;
        grant.expires = new_end;
        store::write_grant(&grant)?;
        let mut request = request_of(&grant)?;
        if let Some(request) = &mut request {
            if let Some((start, _)) = request.window {
                request.window = Some((start, new_end));
                store::write_request(request)?;
            }
        }
        outbox.push(notice::about_grant(Kind::Extended, &grant, request.as_ref(), &by));
        Ok(format!("extended {login} ({}) from {old_end} to {new_end}\n", grant.req_auth_id))
    })();
    Ok(outbox.send(change::report("extend", result, out, err), err))
}

/// `args`: the arguments as given, for the trail.
pub fn run_revoke(
    options: &RevokeOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let target = match options.target.as_deref() {
        Some(one) if request::short_id(one).is_some() || is_unix_name(one) => one.to_string(),
        Some(one) => return Err(UsageError(format!("`{}` is neither a login nor a request id", shown(one)))),
        None => return Err(UsageError("revoke takes one LOGIN or REQ-ID".into())),
    };
    let reason = options.reason.clone().unwrap_or_default();
    let mut outbox = Outbox::default();
    let result = (|| {
        who::require_root("revoke grants")?;
        let by = who::invoker();
        let (login, request) = match request::short_id(&target) {
            Some(_) => {
                let request = store::read_request(&target)?;
                (request.login.clone(), Some(request))
            }
            None => (target.clone(), None),
        };
        let grant = store::read_grant(&login)?;
        let request = match (request, &grant) {
            (Some(r), _) => Some(r),
            (None, Some(g)) => request_of(g)?,
            (None, None) => None,
        };
        let live_grant = grant.as_ref().filter(|g| g.state == GrantState::Approved);
        let open_request =
            request.as_ref().filter(|r| r.state.is_open() || r.state == request::State::Approved);
        if live_grant.is_none() && open_request.is_none() {
            return Err(format!("nothing to revoke for {target} (no approved grant or open request)"));
        }
        let req = grant.as_ref().map(|g| g.req_auth_id.clone()).or(request.as_ref().map(|r| r.id.clone()));
        let req = req.unwrap_or_default();
        let temp_user = users::read(&login)?.filter(|u| u.state == "active");
        let mut entry = change::entry("revoke", args, "revoked", &by).with("reason", reason.clone());
        if temp_user.is_some() {
            entry = entry.with("lock_user", true);
        }
        change::audit(&req, &login, entry)?;
        let now = Timestamp::now();
        if let Some(grant) = live_grant {
            let revoked = Grant {
                state: GrantState::Revoked,
                revoked: Some(Revocation { by: by.clone(), at: now, reason: reason.clone() }),
                ..grant.clone()
            };
            store::write_grant(&revoked)?;
        }
        if let Some(mut request) = open_request.cloned() {
            request.revoke(&by, now, &reason).map_err(|e| e.0)?;
            store::write_request(&request)?;
        }
        if let Some(user) = temp_user {
            users::lock(&user)?;
        }
        let mut event = match (&grant, &request) {
            (Some(grant), request) => notice::about_grant(Kind::Revoked, grant, request.as_ref(), &by),
            (None, Some(request)) => notice::about_request(Kind::Revoked, request, &by),
            (None, None) => cage::notify::Event::new(Kind::Revoked, &req, &login, &by),
        };
        event.reason = notice::reason(&reason);
        outbox.push(event);
        Ok(format!("revoked {login} ({req}); its sessions end within a second\n"))
    })();
    Ok(outbox.send(change::report("revoke", result, out, err), err))
}

/// The request a grant came from, when it came from one on this host.
pub fn request_of(grant: &Grant) -> Result<Option<Request>, String> {
    if request::short_id(&grant.req_auth_id).is_none()
        || !std::path::Path::new(&store::request_path(&grant.req_auth_id)).exists()
    {
        return Ok(None);
    }
    store::read_request(&grant.req_auth_id).map(Some)
}

fn one_login(given: Option<&str>) -> Result<String, UsageError> {
    match given {
        Some(login) if is_unix_name(login) => Ok(login.to_string()),
        Some(login) => Err(UsageError(format!("`{}` is not a login", shown(login)))),
        None => Err(UsageError("one LOGIN is required".into())),
    }
}
