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

#[cfg(test)]
mod tests {
    use super::*;
    use cage::notify::Kind;
    use std::os::unix::fs::PermissionsExt;

    /// A hook script in the checkout's target directory (root's when tests run as root).
    fn script(name: &str, body: &str, mode: u32) -> Option<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target");
        let dir = std::fs::canonicalize(dir).ok()?.to_string_lossy().into_owned();
        if !nix::unistd::geteuid().is_root() || cage::trust::check_dir(&dir).is_err() {
            eprintln!("skipped: needs root and a trusted {dir} (CI runs as root)");
            return None;
        }
        let path = format!("{dir}/hook-test-{name}-{}", std::process::id());
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).ok()?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).ok()?;
        Some(path)
    }

    #[test]
    fn the_hook_reads_the_event_as_json_and_a_failure_says_why() {
        let out = format!("{}/../target/hook-test-out-{}", env!("CARGO_MANIFEST_DIR"), std::process::id());
        let Some(hook) =
            script("ok", &format!("cat > {out}; echo \"$CAGE_EVENT $PWD $HOME\" >> {out}"), 0o755)
        else {
            return;
        };
        let mut event = Event::new(Kind::Revoked, "REQ-7f3a9c01", "opctl_7f3a9c01", "bob");
        event.reason = Some("done early".into());
        assert_eq!(run(&hook, &event), Ok(()));
        let got = std::fs::read_to_string(&out).unwrap_or_default();
        let (json, env) = got.split_once('\n').unwrap_or_default();
        assert_eq!(serde_json::from_str::<Event>(json).ok().as_ref(), Some(&event), "{got}");
        assert_eq!(env, "revoked / \n", "a fixed environment, run from /");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        assert!(run(&hook, &event).is_err_and(|e| e.contains("is writable by group or others")));
        let failing = script("fail", "echo 'ticket system down' >&2; exit 3", 0o755).expect("script");
        let e = run(&failing, &event).expect_err("exit 3");
        assert_eq!(e, format!("{failing} failed (exit status: 3): ticket system down"));
        for path in [&hook, &failing, &out] {
            let _ = std::fs::remove_file(path);
        }
    }
}
