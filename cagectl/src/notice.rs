//! The events a lifecycle command announces once its change is made: collected while it
//! runs, queued for the notifier after it succeeded. A failure to queue is one line on
//! stderr; the change itself stands (it is made and audited).
#![forbid(unsafe_code)]

use std::io::Write;

use cage::grant::Grant;
use cage::notify::{self, Event, Kind};
use cage::request::Request;

#[derive(Default)]
pub struct Outbox {
    events: Vec<Event>,
}

impl Outbox {
    pub fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Queues the events when `exit` says the command succeeded, reporting what failed.
    pub fn send(self, exit: i32, err: &mut dyn Write) -> i32 {
        if exit != crate::exit::OK || self.events.is_empty() {
            return exit;
        }
        let problems = match cage::config::load() {
            Ok(config) => notify::announce(&config, self.events),
            Err(e) => vec![format!("no notification: {e}")],
        };
        for problem in problems {
            let _ = writeln!(err, "cagectl: notify: {problem}");
        }
        exit
    }
}

/// An event about `request`, with what the requester and approvers need to know.
pub fn about_request(kind: Kind, request: &Request, by: &str) -> Event {
    let mut event = Event::new(kind, &request.id, &request.login, by);
    event.actions = request.actions.clone();
    event.contact = request.contact.clone();
    if let Some((start, end)) = request.window {
        event.not_before = Some(start);
        event.expires = Some(end);
    }
    event
}

/// An event about `grant`; the contact comes from its request, when there is one.
pub fn about_grant(kind: Kind, grant: &Grant, request: Option<&Request>, by: &str) -> Event {
    let mut event = Event::new(kind, &grant.req_auth_id, &grant.login, by);
    event.actions = grant.actions.clone();
    event.contact = request.and_then(|r| r.contact.clone());
    event.not_before = Some(grant.not_before);
    event.expires = Some(grant.expires);
    event
}

/// A reason worth telling: none when the admin gave none.
pub fn reason(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_string())
}
