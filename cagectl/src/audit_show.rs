//! `cagectl audit show`: the records that match the admin's filters, as a table whose every
//! field is escaped (a record cannot paint the admin's terminal) or, with `--json`, as the
//! lines themselves. The filters and the table are pure; `tail` and `export` share them.
#![forbid(unsafe_code)]

use std::io::Write;

use clap::Args;
use serde_json::{Map, Value};

use crate::{exit, UsageError};
use cage::time::{parse_duration, Timestamp};

/// The filter options `show`, `tail` and `export` accept.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterOptions {
    /// Records of request ID
    #[arg(long, value_name = "ID")]
    pub req: Option<String>,
    /// Records of login NAME
    #[arg(long, value_name = "NAME")]
    pub login: Option<String>,
    /// Records of session S (its id or the first characters of it)
    #[arg(long, value_name = "S")]
    pub session: Option<String>,
    /// Records from T on: RFC 3339 or a duration ago (2h)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Records up to T: RFC 3339 or a duration ago (2h)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Records of these events (a command's refusal of a file or an address counts as `command`)
    #[arg(long, value_name = "E[,E...]")]
    pub event: Option<String>,
    /// Records that carry this decision
    #[arg(long, value_name = "allow|deny")]
    pub decision: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowOptions {
    #[command(flatten)]
    pub filter: FilterOptions,
    /// The matching lines themselves, not a table
    #[arg(long)]
    pub json: bool,
    /// The files to read (default: the configured trail)
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

/// Which records to show; every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub req: Option<String>,
    pub login: Option<String>,
    /// A session id, or its first characters.
    pub session: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Event names, any of them. `command` also takes in the refusals of a command found
    /// while it acted (`file` and `egress` records with `decision: deny`).
    pub events: Vec<String>,
    /// `allow` or `deny`: records that carry that decision.
    pub decision: Option<String>,
}

impl Filter {
    /// The filter the options ask for; `--since`/`--until` take RFC 3339 or a duration ago
    /// (`2h`: two hours before `now`).
    pub fn from_options(options: &FilterOptions, now: Timestamp) -> Result<Filter, UsageError> {
        let time = |given: &Option<String>| given.as_deref().map(|t| parse_time(t, now)).transpose();
        Ok(Filter {
            req: options.req.clone(),
            login: options.login.clone(),
            session: options.session.clone(),
            since: time(&options.since)?,
            until: time(&options.until)?,
            events: options
                .event
                .as_deref()
                .map_or_else(Vec::new, |e| e.split(',').map(str::to_string).collect()),
            decision: match options.decision.as_deref() {
                None => None,
                Some(d @ ("allow" | "deny")) => Some(d.to_string()),
                Some(other) => return Err(UsageError(format!("--decision is allow or deny, not `{other}`"))),
            },
        })
    }

    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        let text = |key: &str| record.get(key).and_then(Value::as_str);
        let ts = text("ts").and_then(|t| Timestamp::parse_rfc3339(t).ok());
        self.req.as_deref().is_none_or(|req| text("req_auth_id") == Some(req))
            && self.login.as_deref().is_none_or(|login| text("loginid") == Some(login))
            && self.session.as_deref().is_none_or(|s| text("session").is_some_and(|t| t.starts_with(s)))
            && self.since.is_none_or(|since| ts.is_some_and(|ts| ts >= since))
            && self.until.is_none_or(|until| ts.is_some_and(|ts| ts <= until))
            && (self.events.is_empty() || self.events.iter().any(|x| is_event(record, x)))
            && self.decision.as_deref().is_none_or(|d| text("decision") == Some(d))
    }
}

/// Whether `record` is of event `event`; a refusal found while a command acted counts as a
/// `command` event too, so filtering on commands never hides a refused one.
fn is_event(record: &Map<String, Value>, event: &str) -> bool {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    text("event") == Some(event)
        || (event == "command"
            && matches!(text("event"), Some("file" | "egress"))
            && text("decision") == Some("deny"))
}

fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, UsageError> {
    if let Ok(at) = Timestamp::parse_rfc3339(text) {
        return Ok(at);
    }
    let ago = parse_duration(text).map_err(|_| {
        UsageError(format!("`{text}` is neither a time (2026-11-22T08:00:00Z) nor a duration ago (2h)"))
    })?;
    let secs = i64::try_from(ago.as_secs()).unwrap_or(i64::MAX);
    Ok(Timestamp::from_unix(now.unix_secs().saturating_sub(secs), now.subsec_nanos())
        .unwrap_or(Timestamp::MIN))
}

/// Text as the terminal may show it, `\` doubled so an escape is never ambiguous.
pub fn safe(text: &str) -> String {
    cage::shown::shown_unambiguous(text)
}

pub const HEADER: &str = "TIME                 LOGIN         REQ           EVENT    RESULT     COMMAND";

/// One record as a table row.
pub fn row(record: &Map<String, Value>) -> String {
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or("");
    let time = text("ts").get(..19).map_or_else(|| text("ts").to_string(), |t| t.replacen('T', " ", 1));
    let mut line = format!(
        "{:<20} {:<13} {:<13} {:<8} {:<10} {}",
        safe(&time),
        safe(text("loginid")),
        safe(text("req_auth_id")),
        safe(text("event")),
        safe(&result(record)),
        safe(&command(record)),
    );
    if text("decision") == "deny" {
        line.push_str(&format!("  [{}]", safe(text("reason"))));
    }
    line.trim_end().to_string()
}

/// What the record says happened: the decision, the exit, why a session ended.
fn result(record: &Map<String, Value>) -> String {
    let get = |key: &str| record.get(key).filter(|v| !v.is_null());
    let text = |key: &str| get(key).and_then(Value::as_str).unwrap_or("").to_string();
    match text("event").as_str() {
        "command" => text("decision"),
        "exit" if get("not_started").is_some() => "not run".into(),
        "exit" => match (get("status"), get("signal")) {
            (_, Some(signal)) => format!("signal {signal}"),
            (Some(status), None) => format!("status {status}"),
            (None, None) => String::new(),
        },
        "logout" => text("reason"),
        "grant" => text("action"),
        "file" | "egress" if text("decision") == "deny" => "deny".into(),
        "file" => text("operation"),
        _ => String::new(),
    }
}

/// The command line as words (quoted where needed), or what the event is about.
fn command(record: &Map<String, Value>) -> String {
    let words: Vec<&str> = record
        .get("argv")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).collect());
    match (record.get("event").and_then(Value::as_str), words.is_empty()) {
        (Some("rotate"), _) => {
            format!("from {}", record.get("prev_file").and_then(Value::as_str).unwrap_or("?"))
        }
        (Some("egress"), _) => {
            let to = record.get("destination").and_then(Value::as_str).unwrap_or("?");
            format!("{} (network)", quoted(to))
        }
        (Some("file"), _) => {
            let path = record.get("path").and_then(Value::as_str).unwrap_or("?");
            let bytes = record
                .get("bytes")
                .and_then(Value::as_u64)
                .map_or(String::new(), |n| format!(" ({n} bytes)"));
            format!("{}{bytes}", quoted(path))
        }
        (_, false) => words.iter().map(|w| quoted(w)).collect::<Vec<_>>().join(" "),
        (_, true) => record.get("title").and_then(Value::as_str).unwrap_or("").to_string(),
    }
}

/// A word as a POSIX shell would read it back: bare when it is plain, else in single quotes.
fn quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    match !word.is_empty() && word.chars().all(plain) {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

/// A record as read from a file: its line, exactly, and its members.
pub struct Read {
    pub line: Vec<u8>,
    pub record: Map<String, Value>,
}

/// The records of `files` in order; a line that is not a record is reported on `err` and
/// makes the result `false` (the others are still returned).
pub fn read_files(files: &[String], err: &mut dyn Write) -> (Vec<Read>, bool) {
    let (mut records, mut clean) = (Vec::new(), true);
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = writeln!(err, "cagectl: audit: {file}: {e}");
                clean = false;
                continue;
            }
        };
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
            match serde_json::from_slice(line) {
                Ok(record) => records.push(Read { line: line.to_vec(), record }),
                Err(_) => {
                    let _ = writeln!(err, "cagectl: audit: {file}: line {} is not a record", index + 1);
                    clean = false;
                }
            }
        }
    }
    (records, clean)
}

/// The files named, or the configured one.
pub fn files_or_configured(positionals: &[String], err: &mut dyn Write) -> Option<Vec<String>> {
    if !positionals.is_empty() {
        return Some(positionals.to_vec());
    }
    match cage::config::load() {
        Ok(config) => Some(vec![config.audit.file]),
        Err(e) => {
            let _ = writeln!(err, "cagectl: audit: {e}");
            None
        }
    }
}

/// Writes one matching record as the table row or, with `json`, its line unchanged.
pub fn write_record(out: &mut dyn Write, read: &Read, json: bool) -> std::io::Result<()> {
    match json {
        true => out.write_all(&read.line).and_then(|()| out.write_all(b"\n")),
        false => writeln!(out, "{}", row(&read.record)),
    }
}

pub fn run(options: &ShowOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    let json = options.json;
    let filter = Filter::from_options(&options.filter, Timestamp::now())?;
    let Some(files) = files_or_configured(&options.files, err) else { return Ok(exit::USAGE) };
    let (records, clean) = read_files(&files, err);
    if !json && (clean || !records.is_empty()) {
        let _ = writeln!(out, "{HEADER}");
    }
    let shown: Vec<&Read> = records.iter().filter(|r| filter.matches(&r.record)).collect();
    for read in &shown {
        if write_record(out, read, json).is_err() {
            break;
        }
    }
    if let Some(missed) = crate::unsent::summary(shown.iter().map(|r| &r.record)) {
        let _ = writeln!(err, "cagectl: audit show: {missed}");
    }
    Ok(if clean { exit::OK } else { exit::REFUSED })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().expect("object").clone()
    }

    fn command(argv: Value, decision: &str) -> Map<String, Value> {
        record(json!({"ts": "2026-11-22T08:00:01.000000123Z", "event": "command", "loginid": "optest",
            "req_auth_id": "REQ-42", "session": "5e55aa", "argv": argv, "decision": decision,
            "reason": if decision == "deny" { "`/etc/shadow` holds secrets" } else { "" }}))
    }

    #[test]
    fn a_record_cannot_paint_the_terminal() {
        assert_eq!(safe("a\x1b[2J\x1b]0;owned\x07b"), "a\\x1b[2J\\x1b]0;owned\\x07b");
        assert_eq!(safe("x\ny\r\tz\\n"), "x\\ny\\r\\tz\\\\n");
        assert_eq!(safe("\u{9b}31m \u{202e}txt.exe \u{2028}"), "\\u{9b}31m \\u{202e}txt.exe \\u{2028}");
        assert_eq!(safe("größe /var/log"), "größe /var/log");
        let row = row(&command(json!(["echo", "\x1b[31mred\nnext"]), "allow"));
        assert!(!row.chars().any(char::is_control), "{row:?}");
        assert!(row.ends_with("echo '\\x1b[31mred\\nnext'"), "{row}");
    }

    #[test]
    fn a_row_shows_time_login_req_event_result_and_the_words() {
        let allowed = row(&command(json!(["sudohead", "-n", "1", "/var/log/my file"]), "allow"));
        assert_eq!(
            allowed,
            "2026-11-22 08:00:01  optest        REQ-42        command  allow      sudohead -n 1 '/var/log/my file'"
        );
        let denied = row(&command(json!(["sudocat", "/etc/shadow"]), "deny"));
        assert!(
            denied.ends_with("deny       sudocat /etc/shadow  [`/etc/shadow` holds secrets]"),
            "{denied}"
        );
        let mut exit = command(json!(["false"]), "allow");
        exit.insert("event".into(), "exit".into());
        exit.insert("status".into(), 1.into());
        assert!(row(&exit).contains(" exit     status 1   false"), "{}", row(&exit));
        let mut file = command(json!([]), "allow");
        file.remove("decision");
        file.insert("event".into(), "file".into());
        file.insert("operation".into(), "copy".into());
        file.insert("path".into(), "/u01/my copy".into());
        file.insert("bytes".into(), 9.into());
        assert!(row(&file).ends_with(" file     copy       '/u01/my copy' (9 bytes)"), "{}", row(&file));
    }

    #[test]
    fn a_refusal_found_while_acting_shows_as_a_refused_command() {
        let mut file = command(json!([]), "deny");
        file.insert("event".into(), "file".into());
        file.insert("operation".into(), "read".into());
        file.insert("path".into(), "/u01/link-to-shadow".into());
        file.insert("reason".into(), "leaves the allowed directory".into());
        let shown = row(&file);
        assert!(
            shown.contains(" file     deny       /u01/link-to-shadow  [leaves the allowed directory]"),
            "{shown}"
        );
        let mut egress = command(json!([]), "deny");
        egress.insert("event".into(), "egress".into());
        egress.insert("destination".into(), "198.18.0.1:80".into());
        assert!(row(&egress).contains(" egress   deny       198.18.0.1:80 (network)"), "{}", row(&egress));
        let commands = Filter { events: vec!["command".into()], ..Filter::default() };
        assert!(commands.matches(&file) && commands.matches(&egress), "--event command keeps refusals");
        let mut read = file.clone();
        read.remove("decision");
        assert!(!commands.matches(&read), "a plain file record is not a command");
        let denials = Filter { decision: Some("deny".into()), ..Filter::default() };
        assert!(denials.matches(&file) && !denials.matches(&read));
        assert!(!denials.matches(&command(json!(["pwd"]), "allow")));
    }

    #[test]
    fn filters_combine_and_times_take_rfc3339_or_a_duration_ago() {
        let now = Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").expect("now");
        let options = FilterOptions {
            req: Some("REQ-42".into()),
            since: Some("2h".into()),
            until: Some("2026-11-22T08:00:02Z".into()),
            ..FilterOptions::default()
        };
        let filter = Filter::from_options(&options, now).expect("filter");
        assert_eq!(filter.since, Timestamp::parse_rfc3339("2026-11-22T07:00:00Z").ok());
        let r = command(json!(["pwd"]), "allow");
        assert!(filter.matches(&r));
        assert!(!Filter { req: Some("REQ-4".into()), ..filter.clone() }.matches(&r));
        assert!(!Filter { until: Timestamp::parse_rfc3339("2026-11-22T08:00:01Z").ok(), ..filter.clone() }
            .matches(&r));
        assert!(Filter {
            session: Some("5e5".into()),
            events: vec!["exit".into(), "command".into()],
            ..filter.clone()
        }
        .matches(&r));
        assert!(!Filter { login: Some("other".into()), ..filter }.matches(&r));
        assert!(parse_time("yesterday", now).is_err());
    }
}
