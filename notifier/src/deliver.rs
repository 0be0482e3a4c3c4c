//! One delivery run: every event due in the spool goes to the hook and by mail; what fails
//! is logged and retried later, or kept in `failed/` after the last attempt. The spool is
//! read again until nothing due is left, so an event queued during the run is not missed.
#![forbid(unsafe_code)]

use std::collections::HashSet;

use cage::config::Config;
use cage::notify::spool::{self, Outcome, Spooled};
use cage::time::Timestamp;

use crate::log::Log;

/// Returns the exit code: 1 when an event failed (or could not be read) in this run.
pub fn run(config: &Config, dir: &str, log: &Log) -> i32 {
    let mut seen: HashSet<String> = HashSet::new();
    let mut failed = false;
    loop {
        let waiting = match spool::list(dir) {
            Ok(waiting) => waiting,
            Err(e) => {
                log.failure(&format!("the spool cannot be read: {e}"));
                return 1;
            }
        };
        let mut tried = false;
        for (id, entry) in waiting {
            if !seen.insert(id.clone()) {
                continue;
            }
            match entry {
                Ok(spooled) if spooled.is_due(Timestamp::now()) => {
                    tried = true;
                    failed |= !attempt(config, dir, spooled, log);
                }
                Ok(_) => {}
                Err(e) => {
                    failed = true;
                    log.alarm(&format!("{id} cannot be read and stays in the spool for an admin: {e}"));
                }
            }
        }
        if !tried {
            return i32::from(failed);
        }
    }
}

/// Delivers what is left of one event; false when something failed.
fn attempt(config: &Config, dir: &str, mut spooled: Spooled, log: &Log) -> bool {
    let notify = &config.notify;
    let event = spooled.event.clone();
    let what = format!("{} {} {}", event.id, event.event.as_str(), event.req_auth_id);
    let mut errors: Vec<String> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    match &notify.event_hook {
        Some(hook) if !spooled.hook_done => match crate::hook::run(hook, &event) {
            Ok(()) => {
                spooled.hook_done = true;
                done.push("event hook".into());
            }
            Err(e) => errors.push(format!("event hook: {e}")),
        },
        _ => {}
    }
    let letter =
        notify.smtp.as_ref().and_then(|smtp| Some((smtp, crate::mail::compose(&event, &smtp.approvers)?)));
    match letter {
        Some((smtp, letter)) if !spooled.mail_done => {
            let to = letter.to.join(", ");
            match crate::mail::send(smtp, &letter) {
                Ok(()) => {
                    spooled.mail_done = true;
                    done.push(format!("mail to {to}"));
                }
                Err(e) => errors.push(format!("mail to {to}: {e}")),
            }
        }
        _ => {}
    }
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    let max = notify.max_attempts;
    match spooled.after_attempt(error.clone(), Timestamp::now(), max) {
        Outcome::Delivered => {
            let path = spool::path_of(dir, &event.id);
            let said = if done.is_empty() { "nothing to deliver".to_string() } else { done.join(", ") };
            match std::fs::remove_file(&path) {
                Ok(()) => log.note(&format!("{what}: delivered ({said})")),
                Err(e) => log.failure(&format!("{what}: delivered ({said}), but {path} stays: {e}")),
            }
            true
        }
        Outcome::Retry(next) => {
            let kept =
                spool::rewrite(dir, &spooled).err().map(|e| format!(" (its state was not saved: {e})"));
            log.failure(&format!(
                "{what}: attempt {} of {max} failed: {}; next attempt after {next}{}",
                spooled.attempts,
                error.unwrap_or_default(),
                kept.unwrap_or_default()
            ));
            false
        }
        Outcome::GiveUp => {
            let _ = spool::rewrite(dir, &spooled);
            let kept = spool::move_to_failed(dir, &event.id).unwrap_or_else(|e| format!("{dir} ({e})"));
            log.alarm(&format!(
                "{what}: NOT DELIVERED after {} attempts, kept in {kept}: {}",
                spooled.attempts,
                error.unwrap_or_default()
            ));
            false
        }
    }
}
