//! Reading a session's asciicast v2 recording for playback: its output events, and the text
//! of each made safe for the auditor's terminal. Pure: no I/O.
//!
//! What the operator's programs wrote is replayed as the operator saw it (cursor moves,
//! colours, clearing), but sequences that act on the auditor's terminal itself rather than
//! draw on it are dropped: OSC (titles, clipboard writes by OSC 52, hyperlinks), DCS, SOS,
//! PM and APC strings, in their 7-bit and 8-bit forms.
#![forbid(unsafe_code)]

use serde_json::Value;

/// One output event: seconds since the session began, and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub at: f64,
    pub text: String,
}

/// The output events of a cast, in order; an error names the first line that is not an
/// asciicast v2 header or event.
pub fn outputs(cast: &str) -> Result<Vec<Output>, String> {
    let mut lines = cast.lines().enumerate();
    let header: Value = match lines.next() {
        Some((_, line)) => {
            serde_json::from_str(line).map_err(|e| format!("line 1: not a cast header: {e}"))?
        }
        None => return Err("empty: no cast header".into()),
    };
    if header["version"] != 2 {
        return Err("line 1: not an asciicast v2 header".into());
    }
    let mut events = Vec::new();
    let mut last = 0.0;
    for (index, line) in lines.filter(|(_, l)| !l.is_empty()) {
        let bad = |why: &str| format!("line {}: {why}", index + 1);
        let event: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let (Some(at), Some(kind), Some(text)) = (event[0].as_f64(), event[1].as_str(), event[2].as_str())
        else {
            return Err(bad("not an event [seconds, kind, text]"));
        };
        if !at.is_finite() || at < last {
            return Err(bad("its time goes backwards"));
        }
        last = at;
        if kind == "o" {
            events.push(Output { at, text: text.to_string() });
        }
    }
    Ok(events)
}

/// `text` without the strings that act on the terminal itself (see the module's comment).
pub fn drawable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_string = match c {
            '\u{1b}' => match chars.peek() {
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    true
                }
                _ => false,
            },
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => true,
            _ => false,
        };
        if !starts_string {
            out.push(c);
            continue;
        }
        // Up to the string terminator: BEL, ESC \ or ST (U+009C); an unterminated one is
        // dropped to the end of the event.
        while let Some(c) = chars.next() {
            match c {
                '\u{7}' | '\u{9c}' => break,
                '\u{1b}' if chars.peek() == Some(&'\\') => {
                    chars.next();
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_events_are_read_in_order_and_input_and_resizes_skipped() {
        let cast = "{\"version\":2,\"width\":80,\"height\":24}\n[0.5,\"i\",\"pwd\\r\"]\n[0.6,\"o\",\"/home\\r\\n\"]\n[0.9,\"r\",\"100x30\"]\n[1.0,\"o\",\"$ \"]\n";
        let events = outputs(cast).expect("valid");
        assert_eq!(
            events,
            vec![Output { at: 0.6, text: "/home\r\n".into() }, Output { at: 1.0, text: "$ ".into() }]
        );
        assert!(outputs("").is_err());
        assert!(outputs("{\"version\":1}\n").is_err());
        assert_eq!(
            outputs("{\"version\":2}\n[2,\"o\",\"a\"]\n[1,\"o\",\"b\"]\n"),
            Err("line 3: its time goes backwards".into())
        );
        assert!(outputs("{\"version\":2}\n[1,\"o\"]\n").is_err());
    }

    #[test]
    fn what_acts_on_the_auditors_terminal_is_dropped_and_drawing_kept() {
        assert_eq!(drawable("\u{1b}[31mred\u{1b}[0m"), "\u{1b}[31mred\u{1b}[0m", "colours are kept");
        assert_eq!(drawable("a\u{1b}]52;c;ZWNobyBvd25lZA==\u{7}b"), "ab", "OSC 52 clipboard write");
        assert_eq!(drawable("a\u{1b}]0;title\u{1b}\\b"), "ab", "a title, ended by ST");
        assert_eq!(drawable("a\u{1b}Pq#0;2;0;0;0\u{1b}\\b"), "ab", "DCS");
        assert_eq!(drawable("a\u{9d}8;;http://x\u{9c}b"), "ab", "8-bit OSC");
        assert_eq!(drawable("a\u{1b}_hidden"), "a", "unterminated: dropped to the end");
        assert_eq!(drawable("plain\r\n"), "plain\r\n");
    }
}
