use super::*;

const MAX: Duration = Duration::from_secs(86_400);

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
}

fn request() -> Request {
    Request {
        id: "REQ-7f3a9c01".into(),
        login: "opctl_7f3a9c01".into(),
        actions: vec!["INFRA_DIAG".into(), "AVM_SYS_DIAG".into()],
        reason: "ticket CHG-1: \"disk\" alarms".into(),
        duration: Duration::from_secs(8 * 3600),
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
fn ids_are_req_and_eight_hex_characters() {
    assert_eq!(short_id("REQ-7f3a9c01"), Some("7f3a9c01"));
    assert_eq!(id_for("7f3a9c01"), "REQ-7f3a9c01");
    for bad in ["REQ-7F3A9C01", "REQ-7f3a", "7f3a9c01", "REQ-7f3a9c0g", "REQ-7f3a9c01/", "REQ-../x"] {
        assert_eq!(short_id(bad), None, "{bad}");
    }
}

#[test]
fn every_state_round_trips_through_the_file() {
    let mut r = request();
    r.ssh_key =
        Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFHvDqUL8X2kZQ8pUO0gTnHk0q4pEZ9g2S3x2Q7eVf1K a".into());
    r.not_before = Some(at("2026-11-22T09:00:00.5Z"));
    r.contact = Some("vendor.ops+cage@example.org".into());
    let check =
        |r: &Request| assert_eq!(Request::parse(&r.to_toml(), "r.toml").as_ref(), Ok(r), "{}", r.to_toml());
    check(&r);
    r.review("alice", at("2026-11-22T08:01:00Z")).expect("review");
    check(&r);
    r.approve("alice", at("2026-11-22T08:02:00Z"), None, MAX).expect("approve");
    check(&r);
    r.revoke("bob", at("2026-11-22T10:00:00Z"), "done").expect("revoke");
    check(&r);
}

#[test]
fn approval_starts_at_not_before_and_lasts_the_duration_given() {
    let mut r = request();
    r.not_before = Some(at("2026-11-22T12:00:00Z"));
    let grant = r.approve("alice", at("2026-11-22T08:02:00Z"), Some(Duration::from_secs(3600)), MAX);
    let grant = grant.expect("approved");
    assert_eq!((grant.not_before, grant.expires), (at("2026-11-22T12:00:00Z"), at("2026-11-22T13:00:00Z")));
    assert_eq!((grant.login.as_str(), grant.req_auth_id.as_str()), ("opctl_7f3a9c01", "REQ-7f3a9c01"));
    assert_eq!(grant.approved_by, "alice");
    assert_eq!(r.state, State::Approved);
    let mut r = request();
    let grant = r.approve("alice", at("2026-11-22T08:02:00Z"), None, MAX).expect("approved");
    assert_eq!((grant.not_before, grant.expires), (at("2026-11-22T08:02:00Z"), at("2026-11-22T16:02:00Z")));
}

#[test]
fn transitions_out_of_order_are_refused_with_the_state() {
    let now = at("2026-11-22T09:00:00Z");
    let mut r = request();
    r.reject("alice", now, "no ticket").expect("reject");
    assert_eq!(
        r.approve("alice", now, None, MAX).map(|_| ()),
        Err(Refused("REQ-7f3a9c01 is rejected; only a pending or in-review request can be approved".into()))
    );
    assert!(r.review("alice", now).is_err() && r.reject("alice", now, "x").is_err());
    let mut r = request();
    let too_long = r.approve("alice", now, Some(Duration::from_secs(2 * 86_400)), MAX);
    assert_eq!(
        too_long.map(|_| ()),
        Err(Refused("2d 0h is longer than this host's max_duration (1d 0h)".into()))
    );
    assert_eq!(r.state, State::Pending, "a refused approval changes nothing");
    r.approve("alice", now, None, MAX).expect("approve");
    assert!(r.expire(at("2026-11-22T16:59:59Z")).is_err(), "not ended yet");
    r.expire(at("2026-11-22T17:00:00Z")).expect("ended");
    assert_eq!(r.state, State::Expired);
    assert!(r.revoke("bob", now, "").is_err());
}

#[test]
fn malformed_files_are_refused_at_the_value() {
    let text = request().to_toml();
    let e = |t: &str| Request::parse(t, "r.toml").map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        e(&text.replace("REQ-7f3a9c01", "REQ-1")),
        Err("r.toml:1:6: `REQ-1` is not a request id (REQ-xxxxxxxx)".into())
    );
    assert!(e(&text.replace("\"pending\"", "\"open\""))
        .is_err_and(|m| m.starts_with("r.toml:8:9: `state` must be")));
    assert!(e(&text.replace("\"pending\"", "\"approved\"")).is_err_and(|m| m.contains("needs `decided_by`")));
    assert!(
        e(&format!("{text}extra = 1\n")).is_err_and(|m| m.starts_with("r.toml:9:1: unknown field `extra`"))
    );
    assert!(e(&text.replace("INFRA_DIAG", "infra")).is_err_and(|m| m.starts_with("r.toml:3:12: ")));
    assert!(e(&format!("{text}reviewed_by = \"x\"\n")).is_err_and(|m| m.contains("needs its `_at` time")));
    for end in (0..text.len()).filter(|&end| !text[end..].trim().is_empty()) {
        assert!(Request::parse(&text[..end], "r").is_err(), "{}", &text[..end]);
    }
}

#[test]
fn a_contact_must_be_a_plain_mail_address() {
    let mut r = request();
    r.contact = Some("vendor@example.org".into());
    let text = r.to_toml().replace("vendor@example.org", "vendor@example.org, boss@example.org");
    let e = Request::parse(&text, "r.toml").expect_err("two addresses");
    assert!(
        e.to_string().contains("`contact` `vendor@example.org, boss@example.org` is not a mail address"),
        "{e}"
    );
}
