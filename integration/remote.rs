//! What the container tests share: the container (`CAGE_IT`), root shell in it, operators,
//! grants and ssh to it.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The container's name (and image tag): `CAGE_IT` lets two checkouts test side by side.
pub fn container() -> String {
    std::env::var("CAGE_IT").unwrap_or_else(|_| "cage-it".into())
}

pub fn require_container() {
    if std::env::var_os("NEXTEST").is_none() {
        panic!("container tests must run one process per test: use `make test` (cargo nextest)");
    }
    let name = container();
    let up = Command::new("docker").args(["inspect", "-f", "{{.State.Running}}", &name]).output();
    let running = up.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    assert!(running, "container `{name}` is not running: run `make integration` (or `make test`) as root");
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a shell snippet as root in the container.
pub fn in_container(script: &str) -> Output {
    Command::new("docker").args(["exec", &container(), "sh", "-c", script]).output().expect("docker exec")
}

pub fn port() -> String {
    let out = Command::new("docker").args(["port", &container(), "22/tcp"]).output().expect("docker port");
    let mapping = text(&out.stdout);
    mapping.lines().next().and_then(|l| l.rsplit(':').next()).expect("port").trim().to_string()
}

pub fn key() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/target/container/id_ed25519").to_string()
}

/// A fresh operator for this test: in group cage, the test key, login shell cage.
pub fn operator(name: &str) -> String {
    let script = format!(
        "id {name} >/dev/null 2>&1 || useradd --create-home --shell /usr/bin/cage --groups cage {name}; \
         install -d -m 0755 /home/{name}/.ssh; cp /home/op/.ssh/authorized_keys /home/{name}/.ssh/; cp /etc/cage/keys/op /etc/cage/keys/{name}; \
         rm -f /etc/cage/grants/{name}.toml"
    );
    assert!(in_container(&script).status.success(), "creating {name}");
    name.to_string()
}

pub fn grant(login: &str, actions: &str, duration: &str) {
    let out = in_container(&format!(
        "cagectl grant --login {login} --actions {actions} --duration {duration} --req REQ-{login}"
    ));
    assert!(out.status.success(), "grant: {}", text(&out.stderr));
}

pub fn ssh_args(login: &str) -> Vec<String> {
    let base = [
        "-i",
        &key(),
        "-p",
        &port(),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
    ];
    let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    args.push(format!("{login}@127.0.0.1"));
    args
}

/// `ssh login@container LINE`: (stdout, stderr, status).
pub fn ssh(login: &str, line: &str) -> (String, String, i32) {
    let out = Command::new("ssh").args(ssh_args(login)).arg(line).stdin(Stdio::null()).output().expect("ssh");
    (text(&out.stdout), text(&out.stderr), out.status.code().unwrap_or(-1))
}

/// `ssh -tt login@container`: an interactive session on a terminal, its streams piped.
pub fn ssh_tty(login: &str) -> Child {
    Command::new("ssh")
        .arg("-tt")
        .args(ssh_args(login))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh -tt")
}

/// An interactive `ssh -tt` session, its output collected by a thread.
pub struct Interactive {
    pub child: Child,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Interactive {
    pub fn start(login: &str) -> Interactive {
        let mut child = Command::new("ssh")
            .arg("-tt")
            .args(ssh_args(login))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh -tt");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = output.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Interactive { child, output }
    }

    pub fn send(&mut self, keys: &str) {
        self.send_bytes(keys.as_bytes());
    }

    /// Types `bytes` as they are (not only text: a test may type what is not UTF-8).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(bytes).expect("keys");
        stdin.flush().expect("flush");
    }

    pub fn text(&self) -> String {
        text(&self.output.lock().expect("lock"))
    }

    /// Waits until `needle` has appeared `count` times in the output.
    pub fn wait_for(&self, needle: &str, count: usize) {
        self.wait_within(needle, count, Duration::from_secs(10));
    }

    /// Waits until `needle` has appeared `count` times in the output, at most `limit`;
    /// returns how long that took.
    pub fn wait_within(&self, needle: &str, count: usize, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.text().matches(needle).count() < count {
            assert!(start.elapsed() < limit, "no {count}x `{needle}` in:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
        start.elapsed()
    }

    pub fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}
