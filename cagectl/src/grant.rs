//! `cagectl grant`: a direct grant for automation, optionally creating the temporary user and
//! issuing an OpenSSH user certificate for the grant's window (docs/fleet.md).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use clap::Args;

use crate::notice::{self, Outbox};
use crate::{change, required, ssh_ca, store, users, who, UsageError};
use cage::grant::{Grant, GrantState};
use cage::policy::types::is_unix_name;
use cage::time::{parse_duration, Timestamp};

#[derive(Debug, Args)]
pub struct GrantOptions {
    /// The operator's login (required)
    #[arg(long, value_name = "NAME")]
    pub login: Option<String>,
    /// The actions granted (required)
    #[arg(long, value_name = "A[,B...]")]
    pub actions: Option<String>,
    /// How long from now (this or --until)
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Until when, RFC 3339 (this or --duration)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// The request (ticket) the grant answers (required)
    #[arg(long, value_name = "ID")]
    pub req: Option<String>,
    /// Why, for the trail and the notices
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub reason: Option<String>,
    /// Create the temporary user, as approve does
    #[arg(long)]
    pub create_user: bool,
    /// The operator's public key: installed with --create-user, certified with --ssh-ca
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub ssh_key: Option<String>,
    /// Certify the key with this CA for the grant's window (ssh-keygen)
    #[arg(long, value_name = "CAKEY", value_hint = clap::ValueHint::FilePath)]
    pub ssh_ca: Option<String>,
    /// The policy directory the actions are checked against (a test or an admin's other one)
    #[arg(long, value_name = "DIR", hide = true)]
    pub policies: Option<String>,
    /// The directory the grant is written to
    #[arg(long, value_name = "DIR", hide = true)]
    pub grants: Option<String>,
}

/// `--duration D` or `--until T` (exactly one) from `now`: the grant's end.
fn end_of(duration: Option<&str>, until: Option<&str>, from: Timestamp) -> Result<Timestamp, UsageError> {
    match (duration, until) {
        (Some(d), None) => {
            let duration = parse_duration(d).map_err(|e| UsageError(e.to_string()))?;
            from.checked_add(duration).ok_or_else(|| UsageError("the duration is too long".into()))
        }
        (None, Some(t)) => Timestamp::parse_rfc3339(t).map_err(|e| UsageError(format!("--until: {e}"))),
        (Some(_), Some(_)) => Err(UsageError("give --duration or --until, not both".into())),
        (None, None) => Err(UsageError("--duration or --until is required".into())),
    }
}

/// `args`: the arguments as given, for the trail.
pub fn run(
    options: &GrantOptions,
    args: &[OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, UsageError> {
    let login = required(&options.login, "login")?.to_string();
    if !is_unix_name(&login) {
        return Err(UsageError(format!("`{login}` is not a valid login name")));
    }
    let actions = crate::request::action_list(required(&options.actions, "actions")?)?;
    let now = Timestamp::now();
    let expires = end_of(options.duration.as_deref(), options.until.as_deref(), now)?;
    if expires <= now {
        return Err(UsageError(format!("--until {expires} is not in the future")));
    }
    let req = required(&options.req, "req")?.to_string();
    let create_user = options.create_user;
    let (key_file, ca_key) = (options.ssh_key.as_deref(), options.ssh_ca.as_deref());
    if key_file.is_some() && !create_user && ca_key.is_none() {
        return Err(UsageError("--ssh-key goes with --create-user or --ssh-ca".into()));
    }
    if ca_key.is_some() && key_file.is_none() {
        return Err(UsageError("--ssh-ca needs --ssh-key (the operator's public key to certify)".into()));
    }
    let grant = Grant {
        req_auth_id: req,
        login: login.clone(),
        actions,
        not_before: now,
        expires,
        approved_by: who::invoker(),
        reason: options.reason.clone().unwrap_or_default(),
        state: GrantState::Approved,
        revoked: None,
    };
    let mut outbox = Outbox::default();
    let result = (|| {
        who::require_root("write grants")?;
        let config = cage::config::load()?;
        who::check_approver(&grant.approved_by, config.access.approver_group.as_deref())?;
        if !create_user {
            // A test or an admin may point at another policy directory explicitly.
            check_actions_in(options.policies.as_deref(), &grant.actions)?;
        } else {
            crate::request::check_actions(&grant.actions)?;
            let window = grant.expires.duration_since(now).unwrap_or_default();
            cage::request::check_duration(window, config.access.max_duration).map_err(|e| e.0)?;
            users::check_free(&config.access, &login)?;
        }
        let key = key_file.map(crate::request::read_key).transpose()?;
        let dir = options.grants.clone().unwrap_or_else(cage::config::grant_dir);
        let path = format!("{dir}/{login}.toml");
        Grant::parse(&grant.to_toml(), &path).map_err(|e| e.to_string())?;
        let mut entry = change::entry("grant", args, "granted", &grant.approved_by)
            .with("actions", grant.actions.clone())
            .with("expires", grant.expires.to_rfc3339());
        if create_user {
            entry = entry.with("create_user", true);
        }
        if ca_key.is_some() {
            entry = entry.with("certificate", true);
        }
        change::audit(&grant.req_auth_id, &login, entry)?;
        let made = (|| {
            if create_user {
                // With a CA the certificate is the credential: the key is certified, not installed.
                let installed = if ca_key.is_some() { None } else { key.as_deref() };
                users::create(&config.access, &login, &grant.req_auth_id, installed)?;
            }
            store::write_atomically(&dir, &path, grant.to_toml().as_bytes())
                .map_err(|e| format!("{path}: {e}"))?;
            let mut lines =
                format!("granted {} to {login} until {} ({path})\n", grant.actions.join(","), grant.expires);
            if let (Some(ca), Some(key_file)) = (ca_key, key_file) {
                let cert = ssh_ca::issue(ca, key_file, &grant)?;
                lines.push_str(&format!("certificate {cert} for {login}, valid until {}\n", grant.expires));
            }
            Ok::<_, String>(lines)
        })();
        match &made {
            Ok(_) => {
                let mut event =
                    notice::about_grant(cage::notify::Kind::Granted, &grant, None, &grant.approved_by);
                event.reason = notice::reason(&grant.reason);
                outbox.push(event);
            }
            Err(e) => change::audit_failure(&grant.req_auth_id, &login, "grant", args, e),
        }
        made
    })();
    Ok(outbox.send(change::report("grant", result, out, err), err))
}

fn check_actions_in(policies: Option<&str>, actions: &[String]) -> Result<(), String> {
    let Some(dir) = policies else { return crate::request::check_actions(actions) };
    let set = cage::policy::PolicySet::load_dir(std::path::Path::new(dir))
        .map_err(|errors| errors.first().map_or_else(|| format!("{dir} is invalid"), |e| e.to_string()))?;
    match actions.iter().find(|a| !set.is_grantable(a)) {
        Some(unknown) => Err(format!("`{unknown}` is not a grantable action in {dir}")),
        None => Ok(()),
    }
}
