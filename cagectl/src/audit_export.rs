//! `cagectl audit export --format oac`: the records in the Operator Access Control field
//! layout, one JSON object per line (the mapping is in docs/audit.md).
#![forbid(unsafe_code)]

use std::io::Write;

use clap::Args;
use serde_json::{Map, Value};

use crate::audit_show::{files_or_configured, read_files, Filter, FilterOptions};
use crate::{exit, UsageError};
use cage::time::Timestamp;

#[derive(Debug, Args)]
pub struct ExportOptions {
    /// The layout: oac (Operator Access Control)
    #[arg(long, value_name = "oac")]
    pub format: Option<String>,
    #[command(flatten)]
    pub filter: FilterOptions,
    /// The files to read (default: the configured trail)
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// One record in the OAC layout.
pub fn oac(record: &Map<String, Value>) -> Map<String, Value> {
    let text = |key: &str| Value::String(record.get(key).and_then(Value::as_str).unwrap_or("").to_string());
    let number = |key: &str| record.get(key).and_then(Value::as_u64).map_or(Value::Null, Value::from);
    let argv: Vec<&str> = record
        .get("argv")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).collect());
    let time = record.get("ts").and_then(Value::as_str).and_then(|ts| Timestamp::parse_rfc3339(ts).ok());
    let mut oac = Map::new();
    oac.insert("layer".into(), text("layer"));
    oac.insert("req_auth_id".into(), text("req_auth_id"));
    oac.insert("title".into(), argv.join("\0").into());
    oac.insert("args".into(), argv.get(1..).unwrap_or_default().join(" ").into());
    oac.insert("rec_id".into(), number("seq"));
    oac.insert("tty".into(), text("tty"));
    oac.insert("host".into(), text("host"));
    oac.insert("time".into(), time.map_or(Value::Null, |t| ctime(t).into()));
    oac.insert("loginid".into(), text("loginid"));
    oac.insert("event".into(), text("event"));
    oac.insert("pid".into(), number("pid"));
    oac.insert("srchost".into(), text("srchost"));
    oac.insert("res".into(), if succeeded(record) { "success" } else { "failure" }.into());
    oac
}

/// Whether what the record announces went through: an allowed command, an exit status 0, a
/// session that ended other than by an error. Everything else recorded (login, grant,
/// rotate) happened, or there would be no record.
fn succeeded(record: &Map<String, Value>) -> bool {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    if text("decision") == Some("deny") {
        return false;
    }
    match text("event") {
        Some("command") => text("decision") == Some("allow"),
        Some("exit") => record.get("status").and_then(Value::as_i64) == Some(0),
        Some("logout") => text("reason") != Some("error"),
        _ => true,
    }
}

/// `Thu Oct 29 03:20:29 2020` in UTC (C's asctime without its newline: the day padded with a
/// space).
pub fn ctime(t: Timestamp) -> String {
    // "YYYY-MM-DDTHH:MM:SSZ", always this shape for a Timestamp.
    let iso = t.to_rfc3339();
    let (year, month, day, clock) = (&iso[0..4], &iso[5..7], &iso[8..10], &iso[11..19]);
    let weekday = WEEKDAYS[t.unix_secs().div_euclid(86_400).rem_euclid(7) as usize];
    let month = month.parse::<usize>().ok().and_then(|m| MONTHS.get(m.wrapping_sub(1))).unwrap_or(&"???");
    let day: u32 = day.parse().unwrap_or(0);
    format!("{weekday} {month} {day:>2} {clock} {year}")
}

pub fn run(options: &ExportOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, UsageError> {
    match options.format.as_deref() {
        Some("oac") => {}
        Some(other) => return Err(UsageError(format!("unknown export format `{other}` (known: oac)"))),
        None => return Err(UsageError("audit export needs --format oac".into())),
    }
    let filter = Filter::from_options(&options.filter, Timestamp::now())?;
    let Some(files) = files_or_configured(&options.files, err) else { return Ok(exit::USAGE) };
    let (records, clean) = read_files(&files, err);
    for read in records.iter().filter(|r| filter.matches(&r.record)) {
        if writeln!(out, "{}", Value::Object(oac(&read.record))).is_err() {
            break;
        }
    }
    Ok(if clean { exit::OK } else { exit::REFUSED })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn time_is_written_as_asctime_in_utc() {
        let at = |s| ctime(Timestamp::parse_rfc3339(s).expect("time"));
        assert_eq!(at("2020-10-29T03:20:29Z"), "Thu Oct 29 03:20:29 2020");
        assert_eq!(at("2026-11-01T23:59:59.999+00:00"), "Sun Nov  1 23:59:59 2026");
        assert_eq!(at("2024-02-29T10:00:00+02:00"), "Thu Feb 29 08:00:00 2024");
        assert_eq!(at("1969-12-31T23:59:59Z"), "Wed Dec 31 23:59:59 1969");
    }

    #[test]
    fn a_command_record_maps_to_the_oac_fields() {
        let record = json!({"v": 1, "seq": 7, "ts": "2020-10-29T03:20:29.000000001Z", "event": "command",
            "session": "5e55", "req_auth_id": "REQ-42", "loginid": "opctl_7f3a", "uid": 4001, "host": "cps1",
            "layer": "cps", "tty": "/dev/pts/3", "srchost": "10.0.0.9", "pid": 812, "cwd": "/",
            "title": "sudotail -n 50 /var/log/messages", "argv": ["sudotail", "-n", "50", "/var/log/messages"],
            "decision": "allow", "rule": "r", "prev": "0", "hash": "1"});
        let oac = oac(record.as_object().expect("object"));
        assert_eq!(
            Value::Object(oac),
            json!({"layer": "cps", "req_auth_id": "REQ-42", "title": "sudotail\u{0}-n\u{0}50\u{0}/var/log/messages",
                "args": "-n 50 /var/log/messages", "rec_id": 7, "tty": "/dev/pts/3", "host": "cps1",
                "time": "Thu Oct 29 03:20:29 2020", "loginid": "opctl_7f3a", "event": "command", "pid": 812,
                "srchost": "10.0.0.9", "res": "success"})
        );
    }

    #[test]
    fn res_is_failure_for_refusals_failed_exits_and_errors() {
        let res = |v: Value| oac(v.as_object().expect("object"))["res"].clone();
        assert_eq!(res(json!({"event": "command", "decision": "deny"})), "failure");
        assert_eq!(res(json!({"event": "file", "decision": "deny"})), "failure", "refused while acting");
        assert_eq!(res(json!({"event": "egress", "decision": "deny"})), "failure", "refused by the network");
        assert_eq!(res(json!({"event": "file", "operation": "read"})), "success");
        assert_eq!(res(json!({"event": "exit", "status": 0})), "success");
        assert_eq!(res(json!({"event": "exit", "status": 2})), "failure");
        assert_eq!(res(json!({"event": "exit", "signal": 9})), "failure");
        assert_eq!(res(json!({"event": "exit", "status": 126, "not_started": true})), "failure");
        assert_eq!(res(json!({"event": "logout", "reason": "revoked"})), "success");
        assert_eq!(res(json!({"event": "logout", "reason": "error"})), "failure");
        assert_eq!(res(json!({"event": "login", "tty": null})), "success");
    }
}
