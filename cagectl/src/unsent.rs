//! What the SIEM lacks: records that could not be handed to syslog. Each record of a session
//! carries `syslog_unsent`, how many earlier records of that session syslog missed, so the
//! largest value per session is what that session's records lack there.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One line for `verify` and `show`: how many records of how many sessions syslog missed,
/// naming the sessions (the first few); `None` when it missed none.
pub fn summary<'r>(records: impl IntoIterator<Item = &'r Map<String, Value>>) -> Option<String> {
    let mut missed: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let (Some(session), Some(n)) = (
            record.get("session").and_then(Value::as_str),
            record.get("syslog_unsent").and_then(Value::as_u64),
        ) else {
            continue;
        };
        let most = missed.entry(session.to_string()).or_default();
        *most = (*most).max(n);
    }
    let total: u64 = missed.values().sum();
    if total == 0 {
        return None;
    }
    let mut named: Vec<String> =
        missed.iter().take(5).map(|(s, n)| format!("{} ({n})", s.get(..8).unwrap_or(s))).collect();
    if missed.len() > 5 {
        named.push(format!("and {} more", missed.len() - 5));
    }
    let sessions = if missed.len() == 1 { "session" } else { "sessions" };
    Some(format!(
        "{total} records of {} {sessions} did not reach syslog (the SIEM lacks them; this file has them): {}",
        missed.len(),
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(session: &str, unsent: Option<u64>) -> Map<String, Value> {
        let mut r = json!({"session": session}).as_object().cloned().unwrap_or_default();
        if let Some(n) = unsent {
            r.insert("syslog_unsent".into(), n.into());
        }
        r
    }

    #[test]
    fn the_largest_count_per_session_is_what_syslog_lacks() {
        let records = [
            record("aaaaaaaa11", None),
            record("aaaaaaaa11", Some(1)),
            record("aaaaaaaa11", Some(3)),
            record("bbbbbbbb22", Some(2)),
            record("cccccccc33", None),
        ];
        assert_eq!(
            summary(&records).as_deref(),
            Some("5 records of 2 sessions did not reach syslog (the SIEM lacks them; this file has them): aaaaaaaa (3), bbbbbbbb (2)")
        );
        assert_eq!(summary(&records[4..]), None);
    }
}
