//! Each record also goes to the local syslog socket as RFC 5424, for the host's syslog daemon
//! to forward (over TLS) to the SIEM. Best effort and bounded: a slow or absent daemon delays
//! a record by at most [`WAIT_MS`], and never touches the local record.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags};

use crate::time::Timestamp;

/// The local syslog socket (unix datagram).
pub const SOCKET: &str = "/dev/log";
/// How long a record waits for room in the daemon's queue before it is dropped.
pub const WAIT_MS: u8 = 5;
/// cage's structured-data id: `name@<private enterprise number>` (RFC 5424 section 7.2.2).
pub const SD_ID: &str = "cage@32473";
/// authpriv (10): the facility for security and authorization messages.
const FACILITY_AUTHPRIV: u8 = 10;
const SEVERITY_NOTICE: u8 = 5;
const SEVERITY_INFO: u8 = 6;

/// What a syslog message says about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub ts: Timestamp,
    pub host: &'a str,
    pub pid: u32,
    pub event: &'a str,
    /// A refused command: sent as `notice` instead of `info`.
    pub denied: bool,
    pub req: &'a str,
    pub session: &'a str,
    pub seq: u64,
    /// The record's line exactly as written to the file.
    pub record: &'a str,
}

/// The RFC 5424 message: `<PRI>1 TIMESTAMP HOST cage PID EVENT [cage@32473 ...] RECORD`.
pub fn format(m: &Message) -> String {
    let severity = if m.denied { SEVERITY_NOTICE } else { SEVERITY_INFO };
    let pri = FACILITY_AUTHPRIV * 8 + severity;
    format!(
        "<{pri}>1 {} {} cage {} {} [{SD_ID} req=\"{}\" session=\"{}\" seq=\"{}\"] {}",
        timestamp(m.ts),
        header_field(m.host, 255),
        m.pid,
        header_field(m.event, 32),
        param_value(m.req),
        param_value(m.session),
        m.seq,
        m.record
    )
}

/// RFC 5424 allows at most six fraction digits: the record's own `ts` keeps all nine.
fn timestamp(ts: Timestamp) -> String {
    let whole = ts.to_rfc3339();
    let seconds = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{seconds}.{:06}Z", ts.subsec_nanos() / 1000)
}

/// A header field is 1 to `max` printable US-ASCII characters without spaces, or `-`.
fn header_field(value: &str, max: usize) -> &str {
    let printable = value.bytes().all(|b| (0x21..=0x7e).contains(&b));
    match printable && !value.is_empty() && value.len() <= max {
        true => value,
        false => "-",
    }
}

/// An SD-PARAM value escapes `"`, `\` and `]` with a backslash (RFC 5424 section 6.3.3).
fn param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Sends one message to the datagram socket at `socket`. A full queue gets one wait of at
/// most [`WAIT_MS`] for room; then the message is dropped (`Err`, the caller counts it).
pub fn send(socket: &Path, message: &[u8]) -> io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    // Connected, so that waiting for POLLOUT waits for room in the daemon's queue.
    sender.connect(socket)?;
    sender.set_nonblocking(true)?;
    match sender.send(message) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let mut fds = [PollFd::new(sender.as_fd(), PollFlags::POLLOUT)];
            poll(&mut fds, WAIT_MS).map_err(io::Error::from)?;
            sender.send(message).map(drop)
        }
        sent => sent.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(record: &'a str, req: &'a str, denied: bool) -> Message<'a> {
        Message {
            ts: Timestamp::from_unix(1_800_000_000, 123_456_789).expect("time"),
            host: "cps1",
            pid: 77,
            event: "command",
            denied,
            req,
            session: "5e55",
            seq: 12,
            record,
        }
    }

    #[test]
    fn a_record_is_an_rfc5424_authpriv_message_with_the_json_as_msg() {
        let record = r#"{"event":"command","seq":12}"#;
        assert_eq!(
            format(&message(record, "REQ-1", false)),
            "<86>1 2027-01-15T08:00:00.123456Z cps1 cage 77 command \
             [cage@32473 req=\"REQ-1\" session=\"5e55\" seq=\"12\"] {\"event\":\"command\",\"seq\":12}"
        );
    }

    #[test]
    fn a_refused_command_is_a_notice() {
        assert!(format(&message("{}", "R", true)).starts_with("<85>1 "));
    }

    #[test]
    fn structured_data_values_escape_quote_backslash_and_bracket() {
        let sent = format(&message("{}", r#"a"b\c]d"#, false));
        assert!(sent.contains(r#"[cage@32473 req="a\"b\\c\]d" session="#), "{sent}");
    }

    #[test]
    fn header_fields_that_rfc5424_cannot_carry_become_a_dash() {
        let mut m = message("{}", "R", false);
        m.host = "two words";
        assert!(format(&m).starts_with("<86>1 2027-01-15T08:00:00.123456Z - cage 77 command "));
        m.host = "";
        m.event = "é";
        assert!(format(&m).starts_with("<86>1 2027-01-15T08:00:00.123456Z - cage 77 - "));
    }

    #[test]
    fn a_daemon_that_does_not_read_costs_dropped_messages_not_a_blocked_sender() {
        let dir = std::env::temp_dir().join(format!("cage-syslog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let daemon = UnixDatagram::bind(&path).expect("bind");
        // The queue holds net.unix.max_dgram_qlen messages; a blocking send would hang here.
        let mut delivered = 0;
        while delivered < 10_000 && send(&path, format!("m{delivered}").as_bytes()).is_ok() {
            delivered += 1;
        }
        assert!(delivered > 0 && delivered < 10_000, "{delivered} sent before the first drop");
        let mut buf = [0u8; 64];
        let n = daemon.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"m0");
        assert!(send(&dir.join("absent"), b"x").is_err(), "no daemon: an error, not a wait");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
