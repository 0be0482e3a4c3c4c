//! `cagectl audit rotate`: gives the live audit file a dated name and starts a new one whose
//! first record (`rotate`) continues the chain (root only; see docs/audit.md).
#![forbid(unsafe_code)]

use std::io::Write;

use crate::admin_record::admin_fields;
use crate::{exit, UsageError};
use cage::audit::{Audit, Entry};

/// Takes no arguments: it rotates the configured file.
pub fn run(out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    if !nix::unistd::geteuid().is_root() {
        let _ = writeln!(err, "cagectl: audit rotate: only root rotates the audit trail");
        return Ok(exit::REFUSED);
    }
    let rotated = cage::config::load().and_then(|config| {
        let admin = admin_name();
        let fields = admin_fields(&config, "", &admin)?;
        let mut entry = Entry::new("rotate");
        entry.argv = vec!["cagectl".into(), "audit".into(), "rotate".into()];
        let (old, head) = Audit::to_file(&config.audit, fields).rotate(&entry).map_err(|e| e.to_string())?;
        Ok((config.audit.file, old, head))
    });
    match rotated {
        Ok((file, old, head)) => {
            let _ = writeln!(out, "rotated to {old}; {file} goes on from seq {}", head.seq);
            Ok(exit::OK)
        }
        Err(e) => {
            let _ = writeln!(err, "cagectl: audit rotate: {e}");
            Ok(exit::REFUSED)
        }
    }
}

/// The invoking user's name (the record's `loginid`), or the uid when it has none.
fn admin_name() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}
