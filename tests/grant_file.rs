//! The grant file through the public API: parsing, every refusal with its place, round trips.
#![forbid(unsafe_code)]

use cage::grant::{Grant, GrantState, Revocation, Validity};
use cage::time::Timestamp;
use std::time::Duration;

const BASE: &str = r#"req_auth_id = "REQ-20261122-0042"
login = "opctl_7f3a"
actions = ["INFRA_DIAG"]
not_before = "2026-11-22T08:00:00Z"
expires = "2026-11-22T16:00:00Z"
approved_by = "alice"
reason = "ticket CHG-1234: investigate disk alarms"
state = "approved"
"#;

/// BASE with the line starting `key =` replaced by `line` (several lines allowed).
fn with(key: &str, line: &str) -> String {
    let prefix = format!("{key} =");
    BASE.lines().map(|l| if l.starts_with(&prefix) { line } else { l }).map(|l| format!("{l}\n")).collect()
}

fn parsed(text: &str) -> Grant {
    match Grant::parse(text, "g.toml") {
        Ok(g) => g,
        Err(e) => panic!("should parse: {e}\n{text}"),
    }
}

fn refusal(text: &str) -> String {
    match Grant::parse(text, "g.toml") {
        Ok(g) => panic!("should be refused: {g:?}\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn at(s: &str) -> Timestamp {
    match Timestamp::parse_rfc3339(s) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/grants/{name}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn the_documented_example_parses_into_its_fields() {
    let g = parsed(&fixture("valid.toml"));
    assert_eq!(g.req_auth_id, "REQ-20261122-0042");
    assert_eq!(g.login, "opctl_7f3a");
    assert_eq!(g.actions, ["INFRA_DIAG"]);
    assert_eq!(g.not_before, at("2026-11-22T08:00:00Z"));
    assert_eq!(g.expires, at("2026-11-22T16:00:00Z"));
    assert_eq!(g.approved_by, "alice");
    assert_eq!(g.reason, "ticket CHG-1234: investigate disk alarms");
    assert_eq!(g.state, GrantState::Approved);
    assert_eq!(g.revoked, None);
}

#[test]
fn a_revoked_grant_keeps_its_revocation_and_is_never_valid() {
    let g = parsed(&fixture("revoked.toml"));
    assert_eq!(g.state, GrantState::Revoked);
    let expected =
        Revocation { by: "bob".into(), at: at("2026-11-22T10:00:00Z"), reason: "done early".into() };
    assert_eq!(g.revoked, Some(expected));
    assert_eq!(g.validity(at("2026-11-22T09:00:00Z")), Validity::Revoked);
}

#[test]
fn revoked_needs_nothing_else_and_revoke_reason_is_optional() {
    let bare = parsed(&with("state", "state = \"revoked\""));
    assert_eq!((bare.state, bare.revoked), (GrantState::Revoked, None));
    let text = with(
        "state",
        "state = \"revoked\"\nrevoked_by = \"bob\"\nrevoked_at = \"2026-11-22T10:00:00+01:00\"",
    );
    let g = parsed(&text);
    assert_eq!(g.revoked.map(|r| (r.at, r.reason)), Some((at("2026-11-22T09:00:00Z"), String::new())));
}

#[test]
fn malformed_fixtures_are_refused_at_the_offending_value() {
    let cases = [
        ("expired_before_start.toml", "5:11: `expires` (2026-11-22T07:00:00Z) is not after `not_before` (2026-11-22T08:00:00Z)"),
        ("unknown_field.toml", "6:1: unknown field `approved_by_`, expected one of `req_auth_id`, `login`, `actions`, `not_before`, `expires`, `approved_by`, `reason`, `state`, `revoked_by`, `revoked_at`, `revoke_reason`"),
        ("bad_time.toml", "4:14: invalid day 29 (2026-02 has 28 days) in `2026-02-29T08:00:00Z`"),
        ("unquoted_time.toml", "4:14: a timestamp must be a quoted RFC 3339 string such as \"2026-11-22T20:15:40Z\""),
        ("bad_login.toml", "2:9: `login` `Opctl_7f3a` is not a valid user name (a-z or _, then up to 31 of a-z 0-9 _ -)"),
        ("duplicate_action.toml", "3:40: action `INFRA_DIAG` is listed twice"),
        ("control_char.toml", "7:10: `reason` contains control character U+001B"),
        ("revoked_by_but_approved.toml", "9:14: `revoked_by` is set but `state` is \"approved\"; set `state = \"revoked\"` or remove `revoked_by`"),
        ("syntax_error.toml", "2:20: invalid basic string"),
        ("missing_expires.toml", "1:1: missing field `expires`"),
    ];
    for (name, expected) in cases {
        let got = Grant::parse(&fixture(name), name).map_err(|e| e.to_string());
        assert_eq!(got, Err(format!("{name}:{expected}")), "{name}");
    }
}

#[test]
fn req_auth_id_must_be_short_plain_ascii() {
    assert_eq!(refusal(&with("req_auth_id", "req_auth_id = \"\"")), "g.toml:1:15: `req_auth_id` is empty");
    assert_eq!(
        refusal(&with("req_auth_id", "req_auth_id = \"REQ/1\"")),
        "g.toml:1:15: `req_auth_id` contains `/`; only A-Z a-z 0-9 . _ : - are allowed"
    );
    assert_eq!(
        refusal(&with("req_auth_id", "req_auth_id = \"REQ 1\"")),
        "g.toml:1:15: `req_auth_id` contains U+0020; only A-Z a-z 0-9 . _ : - are allowed"
    );
    assert!(refusal(&with("req_auth_id", "req_auth_id = \"RÉQ\"")).contains("contains `É`"));
    let longest = format!("req_auth_id = \"{}\"", "A".repeat(64));
    assert_eq!(parsed(&with("req_auth_id", &longest)).req_auth_id.len(), 64);
    let too_long = format!("req_auth_id = \"{}\"", "A".repeat(65));
    assert_eq!(
        refusal(&with("req_auth_id", &too_long)),
        "g.toml:1:15: `req_auth_id` is 65 characters long; at most 64 are allowed"
    );
}

#[test]
fn login_must_be_a_linux_user_name() {
    for ok in ["_svc", "a", "opctl-7f3a_x", &format!("a{}", "b".repeat(31))] {
        assert_eq!(parsed(&with("login", &format!("login = \"{ok}\""))).login, ok);
    }
    for bad in ["", "7opctl", "-x", "op.ctl", "opctl$", &format!("a{}", "b".repeat(32))] {
        let message = refusal(&with("login", &format!("login = \"{bad}\"")));
        assert!(
            message.starts_with(&format!("g.toml:2:9: `login` `{bad}` is not a valid user name")),
            "{message}"
        );
    }
}

#[test]
fn actions_must_be_a_non_empty_list_of_distinct_upper_case_names() {
    assert_eq!(
        refusal(&with("actions", "actions = []")),
        "g.toml:3:11: `actions` is empty; a grant must allow at least one action"
    );
    assert_eq!(
        refusal(&with("actions", "actions = [\"INFRA_DIAG\", \"infra_diag\"]")),
        "g.toml:3:26: action `infra_diag` is not a valid action name (A-Z, then up to 63 of A-Z 0-9 _)"
    );
    assert!(refusal(&with("actions", "actions = [\"_X\"]")).starts_with("g.toml:3:12: action `_X` is not"));
    assert!(refusal(&with("actions", "actions = [\"9X\"]")).starts_with("g.toml:3:12: action `9X` is not"));
    let longest = format!("actions = [\"A{}\"]", "_9".repeat(31) + "Z");
    assert_eq!(parsed(&with("actions", &longest)).actions[0].len(), 64);
    let too_long = format!("actions = [\"A{}\"]", "B".repeat(64));
    assert!(refusal(&with("actions", &too_long)).starts_with("g.toml:3:12: action `AB"));
    assert_eq!(
        refusal(&with("actions", "actions = \"INFRA_DIAG\"")),
        "g.toml:3:11: invalid type: string \"INFRA_DIAG\", expected a sequence"
    );
}

#[test]
fn the_window_must_be_non_empty() {
    let same = with("expires", "expires = \"2026-11-22T09:00:00+01:00\"");
    assert_eq!(
        refusal(&same),
        "g.toml:5:11: `expires` (2026-11-22T08:00:00Z) is not after `not_before` (2026-11-22T08:00:00Z)"
    );
    let one_nano = with("expires", "expires = \"2026-11-22T08:00:00.000000001Z\"");
    assert_eq!(parsed(&one_nano).expires, at("2026-11-22T08:00:00.000000001Z"));
    assert_eq!(
        refusal(&with("expires", "expires = \"2026-11-22T16:00:00\"")),
        "g.toml:5:11: expected a UTC offset (`Z`, `+HH:MM` or `-HH:MM`) at character 20 of `2026-11-22T16:00:00` (format: `2026-11-22T20:15:40Z`)"
    );
}

#[test]
fn leap_days_exist_only_in_leap_years() {
    let leap = |day: &str| with("not_before", &format!("not_before = \"{day}T08:00:00Z\""));
    assert_eq!(parsed(&leap("2024-02-29")).not_before, at("2024-02-29T08:00:00Z"));
    assert_eq!(parsed(&leap("2000-02-29")).not_before.to_rfc3339(), "2000-02-29T08:00:00Z");
    assert!(refusal(&leap("1900-02-29")).starts_with("g.toml:4:14: invalid day 29 (1900-02 has 28 days)"));
}

#[test]
fn names_and_text_must_be_printable() {
    assert_eq!(refusal(&with("approved_by", "approved_by = \"\"")), "g.toml:6:15: `approved_by` is empty");
    assert_eq!(refusal(&with("approved_by", "approved_by = \"  \"")), "g.toml:6:15: `approved_by` is empty");
    assert_eq!(
        refusal(&with("approved_by", "approved_by = \"ali\\u202Ece\"")),
        "g.toml:6:15: `approved_by` contains control character U+202E"
    );
    assert_eq!(
        refusal(&with("reason", "reason = \"a\\tb\"")),
        "g.toml:7:10: `reason` contains control character U+0009"
    );
    assert_eq!(parsed(&with("reason", "reason = \"\"")).reason, "");
    assert_eq!(parsed(&with("reason", "reason = 'café \"quoted\"'")).reason, "café \"quoted\"");
}

#[test]
fn state_and_revocation_fields_must_agree() {
    assert_eq!(
        refusal(&with("state", "state = \"Approved\"")),
        "g.toml:8:9: `state` must be \"approved\" or \"revoked\", not `Approved`"
    );
    let revoked = |extra: &str| with("state", &format!("state = \"revoked\"\n{extra}"));
    assert_eq!(refusal(&revoked("revoked_by = \"bob\"")), "g.toml:9:14: `revoked_by` needs `revoked_at` too");
    assert_eq!(
        refusal(&revoked("revoked_at = \"2026-11-22T10:00:00Z\"")),
        "g.toml:9:14: `revoked_at` needs `revoked_by` too"
    );
    assert_eq!(
        refusal(&revoked("revoke_reason = \"x\"")),
        "g.toml:9:17: `revoke_reason` needs `revoked_by` and `revoked_at` too"
    );
    let approved =
        with("state", "state = \"approved\"\nrevoke_reason = \"x\"\nrevoked_at = \"2026-11-22T10:00:00Z\"");
    assert!(refusal(&approved).starts_with("g.toml:9:17: `revoke_reason` is set but `state` is \"approved\""));
}

#[test]
fn toml_errors_keep_their_place() {
    let twice = with("login", "login = \"a\"\nlogin = \"b\"");
    assert_eq!(refusal(&twice), "g.toml:3:1: duplicate key `login` in document root");
    assert_eq!(refusal(""), "g.toml:1:1: missing field `req_auth_id`");
    let table = format!("{BASE}[extra]\nx = 1\n");
    assert!(refusal(&table).starts_with("g.toml:9:2: unknown field `extra`"));
    let hostile_key = format!("{BASE}\"\\u001b[2J\" = 1\n");
    assert!(refusal(&hostile_key).starts_with("g.toml:9:1: unknown field `\\x1b[2J`"));
}

#[test]
fn to_toml_writes_the_canonical_file() {
    let text = fixture("valid.toml");
    assert_eq!(parsed(&text).to_toml(), text);
    let revoked = fixture("revoked.toml");
    let canonical: String = revoked.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(parsed(&revoked).to_toml(), canonical);
}

#[test]
fn every_grant_round_trips_through_to_toml() {
    let mut g = parsed(BASE);
    g.reason = "quotes \" and \\ backslash, 'single', café, 日本".into();
    g.not_before = at("2026-11-22T08:00:00.000000123Z");
    g.expires = at("2026-11-22T16:00:00.5+02:00");
    g.actions = vec!["INFRA_DIAG".into(), "DISK_USAGE".into()];
    assert_eq!(Grant::parse(&g.to_toml(), "g.toml"), Ok(g.clone()));
    g.state = GrantState::Revoked;
    assert_eq!(Grant::parse(&g.to_toml(), "g.toml"), Ok(g.clone()));
    g.revoked = Some(Revocation { by: "bob".into(), at: at("2026-11-22T10:00:00Z"), reason: String::new() });
    assert_eq!(Grant::parse(&g.to_toml(), "g.toml"), Ok(g));
}

#[test]
fn a_grant_with_a_control_character_is_written_escaped_and_refused_on_reading() {
    let mut g = parsed(BASE);
    g.reason = "a\u{1b}[2Jb".into();
    let text = g.to_toml();
    assert!(text.contains("reason = \"a\\u001B[2Jb\"\n"), "{text}");
    assert_eq!(
        Grant::parse(&text, "g.toml").map_err(|e| e.to_string()),
        Err("g.toml:7:10: `reason` contains control character U+001B".to_string())
    );
}

#[test]
fn validity_follows_the_clock_across_both_boundaries() {
    let g = parsed(BASE);
    let cases = [
        ("2026-11-22T07:59:59Z", Validity::NotYetValid { starts_in: Duration::from_secs(1) }),
        ("2026-11-22T08:00:00Z", Validity::Valid { remaining: Duration::from_secs(8 * 3600) }),
        ("2026-11-22T15:59:59Z", Validity::Valid { remaining: Duration::from_secs(1) }),
        ("2026-11-22T16:00:00Z", Validity::Expired { ago: Duration::ZERO }),
        ("2026-11-22T16:03:10Z", Validity::Expired { ago: Duration::from_secs(190) }),
    ];
    for (now, expected) in cases {
        assert_eq!(g.validity(at(now)), expected, "{now}");
    }
    assert_eq!(
        g.describe_validity(at("2026-11-22T16:03:10Z")),
        "grant REQ-20261122-0042 for opctl_7f3a expired 2026-11-22T16:00:00Z (3m 10s ago)"
    );
}

#[test]
fn durations_extend_a_grant() {
    let mut g = parsed(BASE);
    let Ok(extension) = cage::time::parse_duration("1h30m") else {
        panic!("1h30m should parse");
    };
    g.expires = g.expires.checked_add(extension).unwrap_or(Timestamp::MAX);
    assert_eq!(g.expires.to_rfc3339(), "2026-11-22T17:30:00Z");
    assert_eq!(g.validity(at("2026-11-22T16:25:00Z")).to_string(), "valid, 1h 05m left");
}
