//! cagectl's own records: an admin's change (a `grant` event) written before it is made,
//! and the fields such records carry (`uid` is the admin's).
#![forbid(unsafe_code)]

use cage::audit::{self, Audit, Entry, SessionFields};
use cage::config::{self, Config};

/// Records an admin's change (a `grant` event) before it is made; `Err` refuses the change.
pub fn record_admin_change(req: &str, login: &str, entry: Entry) -> Result<(), String> {
    let config = config::load()?;
    let fields = admin_fields(&config, req, login)?;
    Audit::to_file(&config.audit, fields).record(&entry).map(drop).map_err(|e| e.to_string())
}

/// The fields of a record an admin's command writes (`uid` is the admin's).
pub fn admin_fields(config: &Config, req: &str, login: &str) -> Result<SessionFields, String> {
    Ok(SessionFields {
        session: audit::new_session_id().map_err(|e| e.to_string())?,
        req_auth_id: req.to_string(),
        loginid: login.to_string(),
        uid: nix::unistd::getuid().as_raw(),
        host: config.hostname.clone().unwrap_or_else(|| {
            nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
        }),
        layer: config.layer.to_string(),
        tty: None,
        srchost: None,
        pid: std::process::id(),
        su_user: None,
    })
}
