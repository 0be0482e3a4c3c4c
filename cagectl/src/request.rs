//! `cagectl request`, `review`, `approve`, `reject`: an access request from its raising to its
//! decision; an approval creates the temporary user and writes its grant.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::notice::{self, Outbox};
use crate::{change, required, store, users, who, UsageError};
use cage::config::Config;
use cage::notify::Kind;
use cage::policy::PolicySet;
use cage::request::{self, Request, State, PRE_APPROVED_BY};
use cage::shown::shown;
use cage::time::{parse_duration, Timestamp};

#[derive(Debug, Args)]
pub struct RequestOptions {
    /// The actions asked for (required)
    #[arg(long, value_name = "A[,B...]")]
    pub actions: Option<String>,
    /// Why (required)
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub reason: Option<String>,
    /// How long (default: default_duration of cage.toml)
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Not before this time, RFC 3339 (default: once approved)
    #[arg(long, value_name = "T")]
    pub not_before: Option<String>,
    /// The operator's public key (one plain key line)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub ssh_key: Option<String>,
    /// Who hears of the decision and of the end (a mail address)
    #[arg(long, value_name = "EMAIL")]
    pub contact: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReviewOptions {
    /// The request (REQ-xxxxxxxx)
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveOptions {
    /// The request (REQ-xxxxxxxx)
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Another duration than the one asked for
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
}

#[derive(Debug, Args)]
pub struct RejectOptions {
    /// The request (REQ-xxxxxxxx)
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Why (required)
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub reason: Option<String>,
}

/// `args` (here and below): the arguments as given, for the trail.
pub fn run_request(
    options: &RequestOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let actions = action_list(required(&options.actions, "actions")?)?;
    let reason = required(&options.reason, "reason")?.to_string();
    let duration = duration(&options.duration)?;
    let not_before = options
        .not_before
        .as_deref()
        .map(Timestamp::parse_rfc3339)
        .transpose()
        .map_err(|e| UsageError(format!("--not-before: {e}")))?;
    let key_file = options.ssh_key.clone();
    let contact = options.contact.clone();
    if let Some(bad) = contact.as_deref().filter(|c| !cage::config::is_mail_address(c)) {
        return Err(UsageError(format!("--contact `{}` is not a plain mail address", shown(bad))));
    }
    let mut outbox = Outbox::default();
    let result = (|| {
        who::require_root("raise requests")?;
        let config = cage::config::load()?;
        check_actions(&actions)?;
        let duration = duration.unwrap_or(config.access.default_duration);
        request::check_duration(duration, config.access.max_duration).map_err(|e| e.0)?;
        let ssh_key = key_file.as_deref().map(read_key).transpose()?;
        let mut request = new_request(&config, actions, reason, duration, not_before, ssh_key)?;
        request.contact = contact;
        let pre_approved = request.actions.iter().all(|a| config.pre_approved.contains(a));
        let entry = change::entry("request", args, "requested", &request.requested_by)
            .with("actions", request.actions.clone())
            .with("reason", request.reason.clone())
            .with("pre_approved", pre_approved);
        change::audit(&request.id, &request.login, entry)?;
        let path = store::request_path(&request.id);
        store::create_new(&cage::config::request_dir(), &path, request.to_toml().as_bytes())
            .map_err(|e| format!("{path}: {e}"))?;
        let mut requested = notice::about_request(Kind::Requested, &request, &request.requested_by);
        requested.reason = notice::reason(&request.reason);
        requested.pre_approved = pre_approved;
        outbox.push(requested);
        if !pre_approved {
            return Ok(format!(
                "{} pending: {} for {} awaits approval (cagectl approve {})\n",
                request.id,
                request.actions.join(","),
                request.login,
                request.id
            ));
        }
        approve_and_provision(&config, &mut request, PRE_APPROVED_BY, None, "request", args, &mut outbox)
    })();
    Ok(outbox.send(change::report("request", result, out, err), err))
}

pub fn run_review(
    options: &ReviewOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let id = one_id(&options.id)?;
    let mut outbox = Outbox::default();
    let result = decided(&id, |_, request, by| {
        let mut reviewed = request.clone();
        reviewed.review(by, Timestamp::now()).map_err(|e| e.0)?;
        change::audit(&request.id, &request.login, change::entry("review", args, "in_review", by))?;
        store::write_request(&reviewed)?;
        outbox.push(notice::about_request(Kind::InReview, &reviewed, by));
        Ok(format!("{} in review by {by}\n", request.id))
    });
    Ok(outbox.send(change::report("review", result, out, err), err))
}

pub fn run_approve(
    options: &ApproveOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let id = one_id(&options.id)?;
    let duration = duration(&options.duration)?;
    let mut outbox = Outbox::default();
    let result = decided(&id, |config, request, by| {
        let mut request = request.clone();
        approve_and_provision(config, &mut request, by, duration, "approve", args, &mut outbox)
    });
    Ok(outbox.send(change::report("approve", result, out, err), err))
}

pub fn run_reject(
    options: &RejectOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let id = one_id(&options.id)?;
    let reason = required(&options.reason, "reason")?.to_string();
    let mut outbox = Outbox::default();
    let result = decided(&id, |_, request, by| {
        let mut rejected = request.clone();
        rejected.reject(by, Timestamp::now(), &reason).map_err(|e| e.0)?;
        let entry = change::entry("reject", args, "rejected", by).with("reason", reason.clone());
        change::audit(&request.id, &request.login, entry)?;
        store::write_request(&rejected)?;
        let mut event = notice::about_request(Kind::Rejected, &rejected, by);
        event.reason = notice::reason(&reason);
        outbox.push(event);
        Ok(format!("{} rejected by {by}\n", request.id))
    });
    Ok(outbox.send(change::report("reject", result, out, err), err))
}

/// Runs a decision on request `id` as an approver: root, in the approver group when set.
fn decided(
    id: &str,
    decide: impl FnOnce(&Config, &Request, &str) -> Result<String, String>,
) -> Result<String, String> {
    who::require_root("decide on requests")?;
    let config = cage::config::load()?;
    let by = who::invoker();
    who::check_approver(&by, config.access.approver_group.as_deref())?;
    let request = store::read_request(id)?;
    decide(&config, &request, &by)
}

/// Approves `request` (recorded first), creates its user, writes its grant, then the request.
pub fn approve_and_provision(
    config: &Config,
    request: &mut Request,
    by: &str,
    duration: Option<Duration>,
    command: &str,
    args: &[OsString],
    outbox: &mut Outbox,
) -> Result<String, String> {
    let grant =
        request.approve(by, Timestamp::now(), duration, config.access.max_duration).map_err(|e| e.0)?;
    let entry = change::entry(command, args, "approved", by)
        .with("actions", grant.actions.clone())
        .with("not_before", grant.not_before.to_rfc3339())
        .with("expires", grant.expires.to_rfc3339())
        .with("create_user", true);
    change::audit(&request.id, &request.login, entry)?;
    let provisioned = (|| {
        let user = users::create(&config.access, &request.login, &request.id, request.ssh_key.as_deref())?;
        store::write_grant(&grant)?;
        store::write_request(request)?;
        Ok::<_, String>(user)
    })();
    match provisioned {
        Ok(user) => {
            outbox.push(notice::about_request(Kind::Approved, request, by));
            Ok(format!(
                "{} approved by {by}: login {} (uid {}), {} from {} until {}\n",
                request.id,
                request.login,
                user.uid,
                grant.actions.join(","),
                grant.not_before,
                grant.expires
            ))
        }
        Err(e) => {
            change::audit_failure(&request.id, &request.login, command, args, &e);
            Err(e)
        }
    }
}

fn new_request(
    config: &Config,
    actions: Vec<String>,
    reason: String,
    duration: Duration,
    not_before: Option<Timestamp>,
    ssh_key: Option<String>,
) -> Result<Request, String> {
    for _ in 0..8 {
        let mut bytes = [0u8; cage::config::SHORT_ID_LEN / 2];
        cage::sys::getrandom(&mut bytes).map_err(|e| format!("no random id: {e}"))?;
        let short = cage::audit::record::hex(&bytes);
        let id = request::id_for(&short);
        let login = config.access.login_for(&short);
        if Path::new(&store::request_path(&id)).exists() || users::check_free(&config.access, &login).is_err()
        {
            continue;
        }
        let request = Request {
            id,
            login,
            actions,
            reason,
            duration,
            not_before,
            ssh_key,
            contact: None,
            requested_by: who::invoker(),
            requested_at: Timestamp::now(),
            state: State::Pending,
            reviewed: None,
            decided: None,
            window: None,
        };
        // Checked the way it will be read back.
        Request::parse(&request.to_toml(), "request").map_err(|e| e.to_string())?;
        return Ok(request);
    }
    Err("no free request id found".into())
}

/// Every action must be a grantable profile of this host's policy.
pub fn check_actions(actions: &[String]) -> Result<(), String> {
    let dir = cage::config::policy_dir();
    let set = PolicySet::load_dir(Path::new(&dir))
        .map_err(|errors| errors.first().map_or_else(|| format!("{dir} is invalid"), |e| e.to_string()))?;
    match actions.iter().find(|a| !set.is_grantable(a)) {
        Some(unknown) => Err(format!("`{unknown}` is not a grantable action in {dir}")),
        None => Ok(()),
    }
}

/// The public key file an operator sent, checked as one plain key line.
pub fn read_key(file: &str) -> Result<String, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("{file}: {e}"))?;
    if !meta.is_file() || meta.len() > 64 * 1024 {
        return Err(format!("{file} is not a public key file"));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    request::check_public_key(&text).map_err(|e| format!("{file}: {e}"))
}

pub fn action_list(text: &str) -> Result<Vec<String>, UsageError> {
    let actions: Vec<String> = text.split(',').map(|a| a.trim().to_string()).collect();
    if let Some(bad) = actions.iter().find(|a| !cage::policy::types::is_action_id(a)) {
        return Err(UsageError(format!("`{}` is not an action id", shown(bad))));
    }
    let mut unique = actions.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != actions.len() {
        return Err(UsageError("an action is listed twice".into()));
    }
    Ok(actions)
}

fn one_id(given: &Option<String>) -> Result<String, UsageError> {
    match given.as_deref() {
        Some(id) if request::short_id(id).is_some() => Ok(id.to_string()),
        Some(id) => Err(UsageError(format!("`{}` is not a request id (REQ-xxxxxxxx)", shown(id)))),
        None => Err(UsageError("the request id is missing".into())),
    }
}

fn duration(given: &Option<String>) -> Result<Option<Duration>, UsageError> {
    given.as_deref().map(parse_duration).transpose().map_err(|e| UsageError(e.to_string()))
}
