//! A cage session: startup checks, the privileged monitor, the unprivileged REPL, and
//! running what the operator types.
#![forbid(unsafe_code)]

mod builtins;
mod channel;
mod edit;
pub mod exec;
pub mod identity;
pub mod monitor;
mod privileges;
mod relay;
mod repl;
pub mod startup;
mod unjailed;

use std::io::Write;

use crate::decide::Session;
use crate::jail::Identity;
use crate::policy::Profile;

/// Everything a line runs against. Owned by the monitor.
pub struct Context<'p> {
    pub profile: &'p Profile,
    pub session: Session,
    pub operator: Identity,
    pub host: String,
    pub tty: Option<String>,
    pub term: Option<String>,
    pub lang: Option<String>,
    pub landlock_required: bool,
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Re-reads the grant; `Err(reason)` ends the session. `Ok` carries a one-line summary.
    pub check_grant: Box<dyn FnMut() -> Result<String, String>>,
    /// The lines of this session, for `history` (kept by the monitor, never on disk).
    pub history: Vec<String>,
    /// Set when the grant ended or the connection closed while a command ran.
    pub ended: bool,
}
