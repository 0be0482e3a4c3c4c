//! A session's opening and closing: its context, once its `login` record is written (no
//! record, no session), and its end: its processes killed, its guardian stopped, its
//! `logout` record, and the event hook told when the grant's end ended it.
#![forbid(unsafe_code)]

use std::io::Write;

use super::grant_watch::current_grant;
use super::login_error::LoginError;
use super::recording::Recording;
use super::startup::{self, Env, Login};
use super::Context;
use crate::audit::{Audit, EndReason, Entry, SessionFields};
use crate::decide::Session;
use crate::notify::{Event, Kind};

fn host_name(login: &Login) -> String {
    login.config.hostname.clone().unwrap_or_else(|| {
        nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "host".into())
    })
}

/// How the session starts: its id, and its recording if its actions ask for one.
pub struct Start {
    pub session: String,
    pub recording: Option<Recording>,
}

/// The session's context, once its `login` record is written (no record, no session).
pub(super) fn open_session<'p>(login: &'p Login, env: &Env, start: Start) -> Result<Context<'p>, LoginError> {
    let home = login.operator.home.clone();
    let cwd = if std::path::Path::new(&home).is_dir() { home.clone() } else { "/".to_string() };
    let path = login.grant_path.clone();
    let name = login.operator.name.clone();
    let certificate_expires = login.certificate_expires;
    let host = host_name(login);
    let fields = SessionFields {
        session: start.session,
        req_auth_id: login.grant.req_auth_id.clone(),
        loginid: name.clone(),
        uid: login.operator.uid,
        host: host.clone(),
        layer: login.profile.layer.to_string(),
        tty: env.ssh_tty.clone(),
        srchost: env.ssh_connection.as_deref().and_then(|c| c.split(' ').next()).map(str::to_string),
        pid: std::process::id(),
        su_user: None,
    };
    let audit = Audit::to_file(&login.config.audit, fields);
    let mut entry = Entry::new("login").with("actions", login.grant.actions.clone());
    entry.cwd = Some(cwd.clone());
    entry.extra.insert("expires".into(), login.grant.expires.to_rfc3339().into());
    if let Some(recording) = &start.recording {
        entry.extra.insert("recording".into(), recording.announce());
    }
    // Synced by the first command's record, or once the first prompt is shown.
    audit.record_deferred(&entry).map_err(|e| LoginError::Audit(e.to_string()))?;
    // Commands see the terminal the session has: the recorder's, when recorded.
    let tty = match &start.recording {
        Some(recording) => recording.terminal.clone(),
        None => env.ssh_tty.clone(),
    };
    Ok(Context {
        login,
        interactive: false,
        cgroup: None,
        guardian: None,
        limits: login.config.limits,
        command_timeout: login.config.limits.command_timeout,
        file_size_limit: login.config.limits.file_size,
        memory_limit: login.config.limits.memory,
        profile: &login.profile,
        session: Session { login: name.clone(), cwd, home },
        operator: login.operator.clone(),
        host,
        tty,
        term: env.term.clone(),
        lang: env.lang.clone(),
        landlock_required: startup::landlock_required(&login.config),
        audit,
        out: Box::new(std::io::stdout()),
        err: Box::new(std::io::stderr()),
        check_grant: Box::new(move || {
            current_grant(&path, &name, certificate_expires).map(|g| startup::summary(&g))
        }),
        history: Default::default(),
        grant_clock: super::wake::GrantClock::new(),
        ended: None,
        recording: start.recording,
        exiting: Vec::new(),
        views: Default::default(),
    })
}

/// Records the end of the session; a session that cannot say so still ends. Whatever its
/// unjailed commands left running is killed first.
pub(super) fn close_session(ctx: &mut Context, reason: EndReason) {
    let cgroup = ctx.cgroup.take();
    if let Some(Err(e)) = cgroup.as_ref().map(|c| c.kill()) {
        let _ = writeln!(ctx.err, "cage: ending the session's processes: {e}");
    }
    // The monitor writes the session's end itself from here on.
    ctx.guardian.take().into_iter().for_each(super::guardian::Guardian::stop);
    // While the logout record goes to disk, the kernel finishes them (and the jails' inits
    // their namespaces' teardown); then the session's cgroups are removed.
    record_logout(ctx, reason);
    ctx.exiting.drain(..).for_each(crate::jail::Exiting::reap);
    if let Some(Err(e)) = cgroup.map(|c| c.remove()) {
        let _ = writeln!(ctx.err, "cage: ending the session's processes: {e}");
    }
}

fn record_logout(ctx: &mut Context, reason: EndReason) {
    let mut entry = Entry::new("logout").with("reason", reason.as_str());
    entry.cwd = Some(ctx.session.cwd.clone());
    if let Some(recording) = ctx.recording.take() {
        let _ = ctx.out.flush();
        let _ = ctx.err.flush();
        entry.extra.insert("recording".into(), recording.finish());
    }
    if let Err(e) = ctx.audit.record(&entry) {
        let _ = writeln!(ctx.err, "cage: the end of this session was not recorded: {e}");
    }
    if matches!(reason, EndReason::Revoked | EndReason::Expired) {
        announce_end(ctx, reason);
    }
}

/// Tells the event hook that the grant's end ended this live session (docs/notifications.md);
/// queued for the notifier, never waited on.
fn announce_end(ctx: &mut Context, reason: EndReason) {
    let grant = &ctx.login.grant;
    let mut event = Event::new(Kind::SessionEnded, &grant.req_auth_id, &ctx.operator.name, "monitor");
    event.actions = grant.actions.clone();
    event.expires = Some(grant.expires);
    event.reason = Some(reason.as_str().to_string());
    event.session = Some(ctx.audit.fields.session.clone());
    for problem in crate::notify::announce(&ctx.login.config, vec![event]) {
        let _ = writeln!(ctx.err, "cage: notify: {problem}");
    }
}
