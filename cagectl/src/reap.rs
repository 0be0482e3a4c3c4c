//! `cagectl reap`: what ended is cleaned up, each step audited first. Approved requests whose
//! grant ran out become `expired`; temporary users whose grant ended (expired, revoked or
//! removed) are locked at once, and removed with their home and key once `retention` has
//! passed since the end; the cgroups of sessions whose monitor died are killed and removed.
//! Audit records are never touched. Run by a timer (integration/systemd).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use crate::notice::{self, Outbox};
use crate::users::TempUser;
use crate::{change, exit, store, users, who, UsageError};
use cage::grant::{Grant, Validity};
use cage::request::State;
use cage::time::Timestamp;

/// What reap does with a temporary user at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    Lock,
    Remove,
}

/// When the grant of a user stopped allowing anything, if it did; no grant at all counts as
/// ended when the user was last changed.
pub fn ended_at(user: &TempUser, grant: Option<&Grant>, now: Timestamp) -> Option<Timestamp> {
    let Some(grant) = grant else { return Some(user.changed_at) };
    match grant.validity(now) {
        Validity::Valid { .. } | Validity::NotYetValid { .. } => None,
        Validity::Expired { .. } => Some(grant.expires),
        Validity::Revoked => Some(grant.revoked.as_ref().map_or(user.changed_at, |r| r.at)),
    }
}

/// Lock as soon as the grant ended; remove once locked and `retention` has passed.
pub fn step(user: &TempUser, ended: Option<Timestamp>, retention: Duration, now: Timestamp) -> Step {
    let Some(ended) = ended else { return Step::Nothing };
    match user.state.as_str() {
        "active" => Step::Lock,
        "locked" if ended.checked_add(retention).is_some_and(|t| t <= now) => Step::Remove,
        _ => Step::Nothing,
    }
}

/// Takes no options; `args` (the arguments as given) are for the trail.
pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let setup = who::require_root("reap").and_then(|()| cage::config::load());
    let config = match setup {
        Ok(config) => config,
        Err(e) => {
            let _ = writeln!(err, "cagectl: reap: {e}");
            return Ok(exit::REFUSED);
        }
    };
    let now = Timestamp::now();
    let mut failures = 0;
    let mut outbox = Outbox::default();
    let mut report = |what: Result<String, String>| match what {
        Ok(line) if line.is_empty() => {}
        Ok(line) => {
            let _ = writeln!(out, "{line}");
        }
        Err(e) => {
            failures += 1;
            let _ = writeln!(err, "cagectl: reap: {e}");
        }
    };
    match store::all_requests() {
        Ok(requests) => {
            for request in requests {
                report(request.and_then(|r| expire_request(r, now, args, &mut outbox)));
            }
        }
        Err(e) => report(Err(e)),
    }
    match users::all() {
        Ok(all) => {
            for user in all {
                report(reap_user(&user, config.access.retention, now, args));
            }
        }
        Err(e) => report(Err(e)),
    }
    // A cage killed before it could clean up leaves its session's cgroups (and whatever runs
    // in them); each next session removes them too, this is for hosts where none comes.
    if let Ok(root) = cage::jail::egress_cgroup::cage_root() {
        for name in cage::session::cgroup::sweep_stale(&root) {
            report(Ok(format!("cgroup {name} removed (its session's monitor is gone)")));
        }
    }
    // Expiries are announced even when another step failed: they happened.
    let _ = outbox.send(exit::OK, err);
    Ok(if failures == 0 { exit::OK } else { exit::REFUSED })
}

fn expire_request(
    mut request: cage::request::Request,
    now: Timestamp,
    args: &[OsString],
    outbox: &mut Outbox,
) -> Result<String, String> {
    if request.state != State::Approved || request.window.is_none_or(|(_, end)| end > now) {
        return Ok(String::new());
    }
    // An extension lives in the grant; the request's copy may lag behind it.
    if let Some(grant) = store::read_grant(&request.login)? {
        if grant.req_auth_id == request.id && grant.expires > now {
            return Ok(String::new());
        }
    }
    request.expire(now).map_err(|e| e.0)?;
    change::audit(&request.id, &request.login, change::entry("reap", args, "expired", "reap"))?;
    store::write_request(&request)?;
    outbox.push(notice::about_request(cage::notify::Kind::Expired, &request, "reap"));
    Ok(format!("{} expired", request.id))
}

fn reap_user(
    user: &TempUser,
    retention: Duration,
    now: Timestamp,
    args: &[OsString],
) -> Result<String, String> {
    let grant = store::read_grant(&user.login)?;
    let ended = ended_at(user, grant.as_ref(), now);
    match step(user, ended, retention, now) {
        Step::Nothing => Ok(String::new()),
        Step::Lock => {
            change::audit(
                &user.req_auth_id,
                &user.login,
                change::entry("reap", args, "user_locked", "reap"),
            )?;
            users::lock(user)?;
            Ok(format!(
                "{} locked (grant ended {})",
                user.login,
                ended.map_or("-".into(), |t| t.to_rfc3339())
            ))
        }
        Step::Remove => {
            let entry = change::entry("reap", args, "user_removed", "reap")
                .with("uid", user.uid)
                .with("home", user.home.clone());
            change::audit(&user.req_auth_id, &user.login, entry)?;
            users::remove(user)?;
            let grant_file = store::grant_path(&user.login);
            if let Err(e) = std::fs::remove_file(&grant_file) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(format!("{grant_file}: {e}"));
                }
            }
            Ok(format!("{} removed (home {} and key gone; audit records kept)", user.login, user.home))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cage::grant::{GrantState, Revocation};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    fn user(state: &str) -> TempUser {
        TempUser {
            login: "opctl_1".into(),
            uid: 60_000,
            home: "/home/opctl_1".into(),
            req_auth_id: "REQ-1".into(),
            created_at: at("2026-11-22T08:00:00Z"),
            state: state.into(),
            changed_at: at("2026-11-22T08:00:00Z"),
        }
    }

    fn grant() -> Grant {
        Grant {
            req_auth_id: "REQ-1".into(),
            login: "opctl_1".into(),
            actions: vec!["INFRA_DIAG".into()],
            not_before: at("2026-11-22T08:00:00Z"),
            expires: at("2026-11-22T16:00:00Z"),
            approved_by: "alice".into(),
            reason: String::new(),
            state: GrantState::Approved,
            revoked: None,
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_user_is_locked_when_the_grant_ends_and_removed_after_retention() {
        let (g, active, locked) = (grant(), user("active"), user("locked"));
        let during = at("2026-11-22T12:00:00Z");
        assert_eq!(step(&active, ended_at(&active, Some(&g), during), DAY, during), Step::Nothing);
        let after = at("2026-11-22T16:00:00Z");
        assert_eq!(ended_at(&active, Some(&g), after), Some(g.expires));
        assert_eq!(step(&active, ended_at(&active, Some(&g), after), DAY, after), Step::Lock);
        assert_eq!(step(&locked, ended_at(&locked, Some(&g), after), DAY, after), Step::Nothing, "kept");
        let retained = at("2026-11-23T16:00:00Z");
        assert_eq!(step(&locked, ended_at(&locked, Some(&g), retained), DAY, retained), Step::Remove);
        assert_eq!(step(&user("removed"), Some(g.expires), DAY, retained), Step::Nothing);
    }

    #[test]
    fn retention_counts_from_the_revocation_or_from_when_the_grant_went_away() {
        let mut g = grant();
        g.state = GrantState::Revoked;
        g.revoked =
            Some(Revocation { by: "bob".into(), at: at("2026-11-22T09:00:00Z"), reason: String::new() });
        let locked = user("locked");
        let now = at("2026-11-23T09:00:00Z");
        assert_eq!(ended_at(&locked, Some(&g), now), Some(at("2026-11-22T09:00:00Z")));
        assert_eq!(step(&locked, ended_at(&locked, Some(&g), now), DAY, now), Step::Remove);
        assert_eq!(ended_at(&locked, None, now), Some(locked.changed_at));
    }
}
