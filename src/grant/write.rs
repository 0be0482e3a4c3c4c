//! Writing a grant back as canonical TOML that [`super::Grant::parse`] reads identically.
#![forbid(unsafe_code)]

use super::{Grant, GrantState};
use crate::shown::is_deceptive;
use std::fmt::Write;

/// Fields in the documented order, strings as TOML basic strings, times in exact RFC 3339.
pub(super) fn to_toml(grant: &Grant) -> String {
    let actions: Vec<String> = grant.actions.iter().map(|a| quote(a)).collect();
    let state = match grant.state {
        GrantState::Approved => "approved",
        GrantState::Revoked => "revoked",
    };
    let mut out = String::new();
    line(&mut out, "req_auth_id", &quote(&grant.req_auth_id));
    line(&mut out, "login", &quote(&grant.login));
    line(&mut out, "actions", &format!("[{}]", actions.join(", ")));
    line(&mut out, "not_before", &quote(&grant.not_before.to_rfc3339_exact()));
    line(&mut out, "expires", &quote(&grant.expires.to_rfc3339_exact()));
    line(&mut out, "approved_by", &quote(&grant.approved_by));
    line(&mut out, "reason", &quote(&grant.reason));
    line(&mut out, "state", &quote(state));
    if let Some(revoked) = &grant.revoked {
        line(&mut out, "revoked_by", &quote(&revoked.by));
        line(&mut out, "revoked_at", &quote(&revoked.at.to_rfc3339_exact()));
        line(&mut out, "revoke_reason", &quote(&revoked.reason));
    }
    out
}

fn line(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push_str(" = ");
    out.push_str(value);
    out.push('\n');
}

/// A TOML basic string. Quotes and backslashes are escaped as TOML requires; control and
/// bidirectional characters are escaped too, so the file shows them rather than obeys them
/// when printed (parsing then refuses them, which is the point).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_deceptive(c) => {
                // Writing to a String cannot fail; the Result is only the `Write` trait's.
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_toml_requires_and_what_a_terminal_obeys() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("a\nb\tc"), "\"a\\nb\\tc\"");
        assert_eq!(quote("\u{1b}[2J\u{7f}\u{202e}"), "\"\\u001B[2J\\u007F\\u202E\"");
        assert_eq!(quote("café 'x'"), "\"café 'x'\"");
    }

    #[test]
    fn quoted_strings_read_back_as_the_original() {
        #[derive(serde::Deserialize)]
        struct Doc {
            s: String,
        }
        for s in ["", "a\"b\\c", "line\nnext\ttab\r", "\u{0}\u{1f}\u{7f}\u{9f}", "日本 \u{202e}"] {
            let doc: Result<Doc, _> = toml::from_str(&format!("s = {}", quote(s)));
            assert_eq!(doc.map(|d| d.s).ok().as_deref(), Some(s));
        }
    }
}
