//! What the container tests share: the container (`CAGE_IT`), root shell in it, operators,
//! grants and ssh to it.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};

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
