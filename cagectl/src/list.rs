//! `cagectl list [--all] [--json]`: requests and grants with their state and time left. By
//! default only what is open or in force; `--all` adds the decided and the ended.
#![forbid(unsafe_code)]

use std::io::Write;

use clap::Args;
use serde_json::{json, Value};

use crate::{exit, store, UsageError};
use cage::grant::{Grant, Validity};
use cage::request::{Request, State};
use cage::time::{format_remaining, Timestamp};

/// One line of the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub login: String,
    pub state: String,
    pub actions: Vec<String>,
    pub expires: Option<Timestamp>,
    pub left: String,
    pub by: String,
    /// Open or in force: shown without `--all`.
    pub current: bool,
}

/// The row of a request; its grant, when there is one, says the state in force.
pub fn request_row(request: &Request, grant: Option<&Grant>, now: Timestamp) -> Row {
    let by = request.decided.as_ref().map_or_else(|| request.requested_by.clone(), |d| d.by.clone());
    let mut row = Row {
        id: request.id.clone(),
        login: request.login.clone(),
        state: request.state.to_string(),
        actions: request.actions.clone(),
        expires: request.window.map(|(_, end)| end),
        left: String::new(),
        by,
        current: request.state.is_open(),
    };
    match grant.filter(|g| g.req_auth_id == request.id) {
        Some(grant) if request.state == State::Approved => grant_state(&mut row, grant, now),
        _ => {}
    }
    row
}

/// The row of a grant written directly (`cagectl grant`), without a request on this host.
pub fn grant_row(grant: &Grant, now: Timestamp) -> Row {
    let mut row = Row {
        id: grant.req_auth_id.clone(),
        login: grant.login.clone(),
        state: String::new(),
        actions: grant.actions.clone(),
        expires: Some(grant.expires),
        left: String::new(),
        by: grant.approved_by.clone(),
        current: false,
    };
    grant_state(&mut row, grant, now);
    row
}

fn grant_state(row: &mut Row, grant: &Grant, now: Timestamp) {
    row.expires = Some(grant.expires);
    let (state, left, current) = match grant.validity(now) {
        Validity::Valid { remaining } => ("approved", format_remaining(remaining), true),
        Validity::NotYetValid { starts_in } => {
            ("approved", format!("starts in {}", format_remaining(starts_in)), true)
        }
        Validity::Expired { .. } => ("expired", "-".to_string(), false),
        Validity::Revoked => ("revoked", "-".to_string(), false),
    };
    (row.state, row.left, row.current) = (state.to_string(), left, current);
}

fn to_json(row: &Row) -> Value {
    json!({
        "id": row.id,
        "login": row.login,
        "state": row.state,
        "actions": row.actions,
        "expires": row.expires.map(|t| t.to_rfc3339()),
        "left": row.left,
        "by": row.by,
    })
}

/// Terminal-safe text: what a requester typed cannot paint the admin's screen.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<14} {:<16} {:<10} {:<28} {:<21} {:<10} {}\n",
        "ID", "LOGIN", "STATE", "ACTIONS", "EXPIRES", "LEFT", "BY"
    );
    for row in rows {
        let expires = row.expires.map_or("-".to_string(), |t| t.to_rfc3339());
        let left = if row.left.is_empty() { "-" } else { &row.left };
        out.push_str(&format!(
            "{:<14} {:<16} {:<10} {:<28} {:<21} {:<10} {}\n",
            cage::shown::shown(&row.id),
            row.login,
            row.state,
            row.actions.join(","),
            expires,
            left,
            cage::shown::shown(&row.by)
        ));
    }
    out
}

#[derive(Debug, Args)]
pub struct ListOptions {
    /// Also the decided requests and the ended grants
    #[arg(long)]
    pub all: bool,
    /// One JSON array of the rows
    #[arg(long)]
    pub json: bool,
}

pub fn run(options: &ListOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let now = Timestamp::now();
    let mut problems = Vec::new();
    let rows = match collect(now, &mut problems) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = writeln!(err, "cagectl: list: {e}");
            return Ok(exit::REFUSED);
        }
    };
    let rows: Vec<Row> = rows.into_iter().filter(|r| options.all || r.current).collect();
    if options.json {
        let _ = writeln!(out, "{}", Value::Array(rows.iter().map(to_json).collect()));
    } else {
        let _ = write!(out, "{}", table(&rows));
    }
    for problem in &problems {
        let _ = writeln!(err, "cagectl: list: {problem}");
    }
    Ok(if problems.is_empty() { exit::OK } else { exit::REFUSED })
}

/// Requests (oldest first), then grants that no request on this host explains.
fn collect(now: Timestamp, problems: &mut Vec<String>) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut covered = Vec::new();
    for request in store::all_requests()? {
        match request {
            Ok(request) => {
                let grant = store::read_grant(&request.login).unwrap_or_else(|e| {
                    problems.push(e);
                    None
                });
                rows.push(request_row(&request, grant.as_ref(), now));
                covered.push(request.login);
            }
            Err(e) => problems.push(e),
        }
    }
    for login in store::names(&cage::config::grant_dir())? {
        if covered.contains(&login) {
            continue;
        }
        match store::read_grant(&login) {
            Ok(Some(grant)) => rows.push(grant_row(&grant, now)),
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cage::grant::GrantState;
    use std::time::Duration;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    fn request() -> Request {
        Request {
            id: "REQ-7f3a9c01".into(),
            login: "opctl_7f3a9c01".into(),
            actions: vec!["INFRA_DIAG".into()],
            reason: "r".into(),
            duration: Duration::from_secs(3600),
            not_before: None,
            ssh_key: None,
            contact: None,
            requested_by: "vendor".into(),
            requested_at: at("2026-11-22T08:00:00Z"),
            state: State::Pending,
            reviewed: None,
            decided: None,
            window: None,
        }
    }

    #[test]
    fn a_request_shows_its_grant_state_and_time_left() {
        let now = at("2026-11-22T08:30:00Z");
        let mut r = request();
        let pending = request_row(&r, None, now);
        assert_eq!(
            (pending.state.as_str(), pending.by.as_str(), pending.current),
            ("pending", "vendor", true)
        );
        let grant =
            r.approve("alice", at("2026-11-22T08:00:00Z"), None, Duration::from_secs(86_400)).expect("ok");
        let row = request_row(&r, Some(&grant), now);
        assert_eq!(
            (row.state.as_str(), row.left.as_str(), row.by.as_str()),
            ("approved", "30m 00s", "alice")
        );
        let later = request_row(&r, Some(&grant), at("2026-11-22T10:00:00Z"));
        assert_eq!((later.state.as_str(), later.current), ("expired", false));
        let revoked = Grant { state: GrantState::Revoked, ..grant };
        assert_eq!(request_row(&r, Some(&revoked), now).state, "revoked");
    }

    #[test]
    fn the_table_escapes_what_a_requester_typed() {
        let mut row = request_row(&request(), None, at("2026-11-22T08:30:00Z"));
        row.by = "evil\u{1b}[2J".into();
        let text = table(&[row]);
        assert!(text.contains("evil\\x1b[2J") && !text.contains('\u{1b}'), "{text}");
        assert!(text
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("REQ-7f3a9c01   opctl_7f3a9c01   pending")));
    }
}
