//! Mail about an event: who gets it, what it says (pure), and sending it through the relay
//! with STARTTLS required: a relay that does not offer it, or whose certificate does not
//! verify (against `ca_file`, else the system store), gets nothing.
#![forbid(unsafe_code)]

use std::time::Duration;

use cage::config::Smtp;
use cage::notify::{Audience, Event, Kind};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// How long one SMTP conversation may take (connect, each reply).
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// The mail an event calls for, if any: approvers for a request that waits for them, the
/// request's contact for its decision and end.
pub fn compose(event: &Event, approvers: &[String]) -> Option<Letter> {
    let to: Vec<String> = match event.audience() {
        Audience::Approvers => approvers.to_vec(),
        Audience::Requester => event.contact.iter().cloned().collect(),
        Audience::Nobody => Vec::new(),
    };
    if to.is_empty() {
        return None;
    }
    let (req, host) = (&event.req_auth_id, &event.host);
    let until = event.expires.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into());
    let subject = match event.event {
        Kind::Requested => format!("[cage] {req} on {host} awaits approval: {}", event.actions.join(",")),
        Kind::InReview => format!("[cage] {req} on {host} is in review"),
        Kind::Approved => format!("[cage] {req} on {host} approved: login {} until {until}", event.loginid),
        Kind::Rejected => format!("[cage] {req} on {host} rejected"),
        Kind::Extended => format!("[cage] {req} on {host} extended until {until}"),
        Kind::Revoked => format!("[cage] {req} on {host} revoked"),
        Kind::Expired => format!("[cage] {req} on {host} expired"),
        Kind::Granted | Kind::SessionEnded => format!("[cage] {req} on {host}: {}", event.event.as_str()),
    };
    let mut body = String::new();
    let mut line = |key: &str, value: &str| body.push_str(&format!("{key:<9} {value}\n"));
    line("Request:", req);
    line("Event:", event.event.as_str());
    line("Host:", host);
    line("Login:", &event.loginid);
    if !event.actions.is_empty() {
        line("Actions:", &event.actions.join(", "));
    }
    line("By:", &event.by);
    if let Some(reason) = &event.reason {
        line("Reason:", reason);
    }
    if let Some(start) = event.not_before {
        line("From:", &start.to_rfc3339());
    }
    if event.expires.is_some() {
        line("Until:", &until);
    }
    if let Some(contact) = &event.contact {
        line("Contact:", contact);
    }
    line("At:", &event.time.to_rfc3339());
    if event.event == Kind::Requested {
        body.push_str(&format!(
            "\nTo decide, on {host}: sudo cagectl review {req} | approve {req} | reject {req} --reason TEXT\n"
        ));
    }
    Some(Letter { to, subject, body })
}

/// Sends `letter` through the relay; the error is one line.
pub fn send(smtp: &Smtp, letter: &Letter) -> Result<(), String> {
    let mut tls = TlsParameters::builder(smtp.host.clone());
    if let Some(file) = &smtp.ca_file {
        let pem = cage::trust::read_bytes(file).map_err(|e| format!("ca_file: {e}"))?;
        let ca = Certificate::from_pem(&pem).map_err(|e| format!("ca_file {file}: {}", chain(&e)))?;
        tls = tls.certificate_store(CertificateStore::None).add_root_certificate(ca);
    }
    let tls = tls.build_rustls().map_err(|e| format!("TLS setup: {}", chain(&e)))?;
    let mut relay = SmtpTransport::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(Tls::Required(tls))
        .timeout(Some(TIMEOUT));
    if let Some(file) = &smtp.credentials_file {
        let login = crate::credentials::read(file).map_err(|e| format!("credentials_file: {e}"))?;
        relay = relay
            .credentials(Credentials::new(login.username, login.password))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    let message = message(smtp, letter)?;
    let relay = relay.build();
    relay.send(&message).map(drop).map_err(|e| format!("{}:{}: {}", smtp.host, smtp.port, chain(&e)))
}

fn message(smtp: &Smtp, letter: &Letter) -> Result<Message, String> {
    let address = |a: &str| a.parse().map_err(|e| format!("`{a}`: {e}"));
    let mut builder = Message::builder().from(address(&smtp.from)?).subject(letter.subject.clone());
    for to in &letter.to {
        builder = builder.to(address(to)?);
    }
    builder.header(ContentType::TEXT_PLAIN).body(letter.body.clone()).map_err(|e| e.to_string())
}

/// An error and its sources on one line (lettre puts the server's words in the source).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cage::time::Timestamp;

    fn event(kind: Kind) -> Event {
        let mut e = Event::new(kind, "REQ-7f3a9c01", "opctl_7f3a9c01", "alice");
        e.host = "cps01".into();
        e.actions = vec!["INFRA_DIAG".into(), "AVM_SYS_DIAG".into()];
        e.contact = Some("vendor@example.org".into());
        e
    }

    #[test]
    fn approvers_get_the_request_that_waits_with_its_id_in_the_subject() {
        let approvers = vec!["secops@example.org".to_string(), "alice@example.org".to_string()];
        let letter = compose(&event(Kind::Requested), &approvers).expect("a mail");
        assert_eq!(letter.to, approvers);
        assert_eq!(letter.subject, "[cage] REQ-7f3a9c01 on cps01 awaits approval: INFRA_DIAG,AVM_SYS_DIAG");
        assert!(letter.body.contains("sudo cagectl review REQ-7f3a9c01"), "{}", letter.body);
        let mut pre = event(Kind::Requested);
        pre.pre_approved = true;
        assert_eq!(compose(&pre, &approvers), None, "nothing waits for a pre-approved request");
        assert_eq!(compose(&event(Kind::Requested), &[]), None);
    }

    #[test]
    fn the_requester_hears_the_decision_and_the_end() {
        let mut approved = event(Kind::Approved);
        approved.expires = Some(Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").expect("time"));
        let letter = compose(&approved, &[]).expect("a mail");
        assert_eq!(letter.to, ["vendor@example.org"]);
        assert_eq!(
            letter.subject,
            "[cage] REQ-7f3a9c01 on cps01 approved: login opctl_7f3a9c01 until 2026-11-23T10:00:00Z"
        );
        let mut revoked = event(Kind::Revoked);
        revoked.reason = Some("done early".into());
        let letter = compose(&revoked, &[]).expect("a mail");
        assert!(letter.body.contains("Reason:   done early\n"), "{}", letter.body);
        let mut anonymous = event(Kind::Expired);
        anonymous.contact = None;
        assert_eq!(compose(&anonymous, &[]), None, "no contact, no mail");
        assert_eq!(compose(&event(Kind::Granted), &["a@b".into()]), None);
        assert_eq!(compose(&event(Kind::SessionEnded), &["a@b".into()]), None);
    }
}
