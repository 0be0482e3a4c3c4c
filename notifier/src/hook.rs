//! The event hook: a root-owned program (not group/world-writable, nor any directory above
//! it) that reads one event as JSON on stdin, for a SIEM or a ticketing system. It runs with
//! a fixed environment, from `/`, and at most [`LIMIT`]; a non-zero exit is a failed delivery.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cage::notify::Event;

pub const LIMIT: Duration = Duration::from_secs(30);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn run(program: &str, event: &Event) -> Result<(), String> {
    cage::trust::check_program(program).map_err(|e| e.to_string())?;
    let mut child = Command::new(program)
        .env_clear()
        .env("PATH", PATH)
        .env("LANG", "C.UTF-8")
        .env("CAGE_EVENT", event.event.as_str())
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits without reading is judged by its exit status, not by EPIPE.
        let _ = stdin.write_all(format!("{}\n", event.to_json()).as_bytes());
    }
    let (said, heard) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.take(4096).read_to_string(&mut text);
            let _ = said.send(text);
        });
    }
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| format!("{program}: {e}"))? {
            Some(status) => break status,
            None if start.elapsed() >= LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {} s and was killed", LIMIT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    if status.success() {
        return Ok(());
    }
    let stderr = heard.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
    let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").escape_debug().to_string();
    match first.is_empty() {
        true => Err(format!("{program} failed ({status})")),
        false => Err(format!("{program} failed ({status}): {first}")),
    }
}
