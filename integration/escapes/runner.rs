//! The adversarial suite (`make escapes`): every case of `cases.toml` against the test
//! container (integration/container/), over real ssh, one line per case and a summary.
//!
//! A case is a line an operator types (and, for `tty`, the keys typed after it), under a grant
//! of some actions on some layer, with a verdict:
//! - `refused`: exit status 126 (127 for an unknown command, as a shell says it), nothing of the line ran (no `allow` record for it), and a
//!   `command` record with `decision: deny` for it in the audit trail;
//! - `contained`: it may run, but no canary is touched: the root-only canary's token never
//!   appears in the output, the case's marker file never appears, no shell process runs
//!   (process accounting), no connection reaches the listeners the grant's network forbids,
//!   and `cagectl audit verify` still exits 0; resource cases add bounds on processes,
//!   memory, written bytes and run time;
//!
//! `via`: `ssh` (`ssh login@container LINE`), `tty` (`ssh -tt`, the line and keys typed at
//! the prompt), or `sftp`/`scp`/`forward` (ssh-level requests, with `ssh_args`). Each layer other than the container's `cps` is served by a
//! second sshd in its own mount namespace whose /etc/cage/cage.toml names that layer.
//!
//! A case marked `xfail = "why"` is expected to fail until what `why` names exists; it is
//! reported as XFAIL, and as a failure if it passes (so the mark gets removed).
//! Usage: cargo run --release --example escapes [-- FILTER|^FILTER] (as root, container running):
//! only the cases whose id or group title contains FILTER, or all but those.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

mod ending;

use ending::Ending;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    setup: String,
    group: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    id: String,
    title: String,
    actions: String,
    #[serde(default = "cps")]
    layer: String,
    #[serde(default = "ssh")]
    via: String,
    case: Vec<Case>,
}

fn cps() -> String {
    "cps".into()
}

fn ssh() -> String {
    "ssh".into()
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    id: Option<String>,
    line: String,
    verdict: String,
    why: String,
    via: Option<String>,
    actions: Option<String>,
    layer: Option<String>,
    /// Run as root in the container before the case.
    setup: Option<String>,
    /// Keys typed after the line (`tty`), each after a pause.
    #[serde(default)]
    keys: Vec<String>,
    /// A path the payload would create.
    marker: Option<String>,
    /// Extra ssh client arguments (`ssh`, `tty`, `sftp`, `scp`, `forward`).
    #[serde(default)]
    ssh_args: Vec<String>,
    /// Text that must appear in the output (proves the case ran what it meant to).
    expect: Option<String>,
    xfail: Option<String>,
    /// (PATH, TEXT): PATH must still hold TEXT after the case (a file the payload would rewrite).
    intact: Option<(String, String)>,
    /// (TEXT, N): TEXT appended N times to the line (overlong lines, many stages).
    repeat: Option<(String, usize)>,
    /// Resource bounds, sampled while the case runs (`contained`).
    max_procs: Option<u64>,
    max_mem_mb: Option<u64>,
    max_file_mb: Option<(String, u64)>,
    /// The command must end by itself within this many seconds (else it is killed: a failure).
    must_end_within: Option<u64>,
    /// The session-wide limit (`pids`, `memory`) that must be what stopped it: an `exit`
    /// record of the line names it.
    limit: Option<String>,
    /// Run as root in the container while the line runs, `during_after` seconds after it
    /// started (LOGIN and MONITOR, the session's monitor pid, set): what ends the session
    /// (a revocation, an expiry, a SIGKILL of the monitor). The session must then end, with
    /// every process of the login and its cgroup, within `ended_within` seconds; the
    /// operator's grant is restored afterwards.
    during: Option<String>,
    during_after: Option<f64>,
    ended_within: Option<f64>,
    /// A process (`pgrep -f` pattern) the session starts that must not outlive it.
    survivor: Option<String>,
}

/// A case with its group's defaults filled in.
struct Job {
    id: String,
    group: String,
    actions: String,
    layer: String,
    via: String,
    case: Case,
}

const SHELLS: &[&str] = &["sh", "dash", "bash", "rbash", "zsh", "ksh", "mksh", "busybox", "tcsh", "csh"];
const LAYER_PORTS: &[(&str, u16)] = &[("cps", 22), ("guest_vm", 2201), ("host", 2202), ("cell", 2203)];

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = format!("{root}/integration/escapes/cases.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail_setup(&format!("{path}: {e}")));
    let suite: Suite = toml::from_str(&text).unwrap_or_else(|e| fail_setup(&format!("{path}: {e}")));
    let filter = std::env::args().nth(1);
    let jobs = jobs(&suite, filter.as_deref());
    let mut env = Env::start(root, &suite, &jobs);
    let started = Instant::now();
    let (mut passed, mut failed, mut xfailed) = (0, 0, 0);
    for (n, job) in jobs.iter().enumerate() {
        // The records this case wrote: a refused case needs its deny record, a limit case
        // the limit in its `exit` record.
        let offset = env.trail_size();
        let mut result = env.run(job);
        let audited = job.case.verdict == "refused" || job.case.limit.is_some();
        if result.is_ok() && audited {
            let audit = env.audit_records_since(offset);
            if job.case.verdict == "refused" {
                result = audit_denied(&audit, &env.login_of(job), &job.case.line);
            }
            if let (Some(limit), true) = (&job.case.limit, result.is_ok()) {
                result = audit_limit(&audit, &env.login_of(job), &job.case.line, limit);
            }
        }
        let line = shown(&job.case.line);
        let count = format!("[{}/{}]", n + 1, jobs.len());
        match (&result, &job.case.xfail) {
            (Ok(()), None) => {
                passed += 1;
                println!("pass   {:<34} {:<9} {line} {count}", job.id, job.case.verdict);
            }
            (Err(e), None) => {
                failed += 1;
                println!(
                    "FAIL   {:<34} {:<9} {line} {count}\n       {e}\n       (the case: {})",
                    job.id, job.case.verdict, job.case.why
                );
            }
            (Err(e), Some(why)) => {
                xfailed += 1;
                println!(
                    "xfail  {:<34} {:<9} {line} {count}\n       expected: {why}; saw: {e}",
                    job.id, job.case.verdict
                );
            }
            (Ok(()), Some(why)) => {
                failed += 1;
                println!(
                    "XPASS  {:<34} {:<9} {line} {count}\n       passes now: remove `xfail = \"{why}\"`",
                    job.id, job.case.verdict
                );
            }
        }
        let _ = std::io::stdout().flush();
    }
    let verify = env.root("cagectl audit verify");
    if !verify.status.success() {
        failed += 1;
        println!("FAIL   audit-chain: {}{}", text_of(&verify.stdout), text_of(&verify.stderr));
    }
    env.stop();
    println!(
        "{passed} passed, {failed} failed ({xfailed} expected to fail) of {} cases in {}s",
        jobs.len(),
        started.elapsed().as_secs()
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn fail_setup(message: &str) -> ! {
    eprintln!("escapes: {message}");
    std::process::exit(2);
}

fn jobs(suite: &Suite, filter: Option<&str>) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut seen = BTreeMap::new();
    for group in &suite.group {
        for (n, case) in group.case.iter().enumerate() {
            let id = case.id.clone().unwrap_or_else(|| format!("{}.{}", group.id, n + 1));
            if seen.insert(id.clone(), ()).is_some() {
                fail_setup(&format!("two cases named {id}"));
            }
            if !["refused", "contained"].contains(&case.verdict.as_str()) {
                fail_setup(&format!("{id}: unknown verdict {}", case.verdict));
            }
            let job = Job {
                id,
                group: group.title.clone(),
                actions: case.actions.clone().unwrap_or_else(|| group.actions.clone()),
                layer: case.layer.clone().unwrap_or_else(|| group.layer.clone()),
                via: case.via.clone().unwrap_or_else(|| group.via.clone()),
                case: case.clone(),
            };
            let mut job = job;
            if let Some((text, n)) = &job.case.repeat {
                job.case.line.push_str(&text.repeat(*n));
            }
            let matches = |f: &str| job.id.contains(f) || job.group.contains(f);
            let chosen = match filter {
                None => true,
                Some(f) => match f.strip_prefix('^') {
                    Some(excluded) => !matches(excluded),
                    None => matches(f),
                },
            };
            if chosen {
                jobs.push(job);
            }
        }
    }
    jobs
}

fn shown(line: &str) -> String {
    let escaped: String = line.chars().flat_map(|c| c.escape_debug()).collect();
    if escaped.chars().count() > 70 {
        format!("{}... ({} bytes)", escaped.chars().take(64).collect::<String>(), line.len())
    } else {
        escaped
    }
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What one run of a line left: its output (stdout and stderr) and exit status.
struct Ran {
    output: String,
    status: Option<i32>,
    /// Killed by the runner after its time.
    killed: bool,
    /// Samples taken while it ran (resource cases).
    peak_procs: u64,
    peak_mem_mb: u64,
    /// What the session's end (`during`) left behind, or how late it was.
    end_failure: Option<String>,
}

struct Env {
    root: String,
    container: String,
    /// The container's full id (its cgroup's name).
    id: String,
    address: String,
    key: String,
    canary: String,
    /// (actions, layer) -> login
    logins: BTreeMap<(String, String), String>,
}

impl Env {
    fn start(root: &str, suite: &Suite, jobs: &[Job]) -> Env {
        let container = std::env::var("CAGE_IT").unwrap_or_else(|_| "cage-it".into());
        let inspect = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}} {{.NetworkSettings.IPAddress}} {{.Id}}", &container])
            .output()
            .unwrap_or_else(|e| fail_setup(&format!("docker: {e}")));
        let state = text_of(&inspect.stdout);
        let Some(("true", rest)) = state.trim().split_once(' ') else {
            fail_setup(&format!("container `{container}` is not running: use `make escapes`"));
        };
        let (address, id) = rest.split_once(' ').unwrap_or((rest, ""));
        let canary = format!("CANARY{}", random_hex());
        let mut env = Env {
            root: root.to_string(),
            container,
            id: id.to_string(),
            address: address.to_string(),
            key: format!("{root}/target/container/id_ed25519"),
            canary,
            logins: BTreeMap::new(),
        };
        let mut pairs: Vec<(String, String)> =
            jobs.iter().map(|j| (j.actions.clone(), j.layer.clone())).collect();
        pairs.sort();
        pairs.dedup();
        let mut script = format!("set -e\nCANARY={}\n{}\n", env.canary, suite.setup);
        for (layer, port) in LAYER_PORTS.iter().filter(|(l, _)| *l != "cps") {
            script.push_str(&format!("esc_layer {layer} {port}\n"));
        }
        for (n, (actions, layer)) in pairs.iter().enumerate() {
            let login = format!("esc{n}_{}", layer.replace('_', ""));
            script.push_str(&format!("esc_operator {login} {actions}\n"));
            env.logins.insert((actions.clone(), layer.clone()), login);
        }
        let listener = format!("{root}/integration/escapes/listener.py");
        let copied = Command::new("docker")
            .args(["cp", &listener, &format!("{}:/usr/local/sbin/esc-listener.py", env.container)])
            .status();
        if !copied.is_ok_and(|s| s.success()) {
            fail_setup("docker cp of the listener failed");
        }
        let out = env.root(&script);
        if !out.status.success() {
            fail_setup(&format!("setup: {}{}", text_of(&out.stdout), text_of(&out.stderr)));
        }
        // Detached (a background job of `docker exec sh` dies with it).
        if !env.exec(&["pgrep", "-f", "esc-listener.py"]).status.success() {
            let started = Command::new("docker")
                .args(["exec", "-d", &env.container, "python3", "/usr/local/sbin/esc-listener.py"])
                .status();
            if !started.is_ok_and(|s| s.success()) {
                fail_setup("the listener did not start");
            }
            std::thread::sleep(Duration::from_millis(700));
        }
        env
    }

    fn stop(&self) {
        let _ = self.root("accton off >/dev/null 2>&1 || true");
    }

    fn root(&self, script: &str) -> Output {
        Command::new("docker")
            .args(["exec", "-i", &self.container, "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| fail_setup(&format!("docker exec: {e}")))
    }

    fn login_of(&self, job: &Job) -> String {
        self.logins.get(&(job.actions.clone(), job.layer.clone())).cloned().unwrap_or_default()
    }

    fn port(layer: &str) -> u16 {
        LAYER_PORTS.iter().find(|(l, _)| *l == layer).map_or(22, |(_, p)| *p)
    }

    fn ssh_base(&self, layer: &str) -> Vec<String> {
        let port = Env::port(layer).to_string();
        [
            "-i",
            &self.key,
            "-p",
            &port,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn run(&mut self, job: &Job) -> Result<(), String> {
        if let Some(setup) = &job.case.setup {
            let out = self.root(&format!("CANARY={}\n{setup}", self.canary));
            if !out.status.success() {
                return Err(format!("setup failed: {}", text_of(&out.stderr)));
            }
        }
        let before = self.state()?;
        let ran = self.execute(job)?;
        let after = self.state()?;
        let verdict = self.judge(job, &ran, &before, &after);
        if let Some(path) = &job.case.marker {
            let _ = self.root(&format!("rm -rf '{path}'"));
        }
        verdict
    }

    /// Counters the canaries are judged by: accounting file size, listener hits (bytes), the
    /// container's OOM kills. Read
    /// without a shell, so the runner's own checks never show up as a shell in a session.
    fn state(&self) -> Result<(u64, u64, u64), String> {
        let out = self.exec(&["stat", "-c", "%s", "/var/log/esc-pacct", "/var/log/esc-hits"]);
        let text = text_of(&out.stdout);
        let mut nums = text.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
        // Kills at the container's own limit only (v2 counts the session's below it too in
        // `memory.events`; v1's `oom_control` is the cgroup's own already).
        let events = self.memory_file("memory.oom_control", "memory.events.local");
        let oom_kills = events
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        Ok((nums.next().unwrap_or(0), nums.next().unwrap_or(0), oom_kills))
    }

    /// A file of the container's memory cgroup, read on this host: cgroup v1 (`v1` name under
    /// memory/docker/ID) or v2 (`v2` name under the container's scope).
    fn memory_file(&self, v1: &str, v2: &str) -> String {
        let id = &self.id;
        [
            format!("/sys/fs/cgroup/memory/docker/{id}/{v1}"),
            format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/{v2}"),
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
    }

    /// A program run as root in the container, without a shell.
    fn exec(&self, argv: &[&str]) -> Output {
        Command::new("docker")
            .args(["exec", &self.container])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| fail_setup(&format!("docker exec: {e}")))
    }

    fn execute(&self, job: &Job) -> Result<Ran, String> {
        let login = self.login_of(job);
        let target = format!("{login}@{}", self.address);
        let mut cmd = Command::new(match job.via.as_str() {
            "sftp" => "sftp",
            "scp" => "scp",
            _ => "ssh",
        });
        let mut base = self.ssh_base(&job.layer);
        if job.via == "sftp" || job.via == "scp" {
            base[2] = "-P".into();
        }
        cmd.args(&base).args(&job.case.ssh_args);
        let line = job.case.line.replace("@TARGET@", &target).replace("@LOCAL@", &self.root);
        match job.via.as_str() {
            "ssh" => {
                cmd.arg(&target).arg(&line);
            }
            "tty" | "forward" => {
                if job.via == "tty" {
                    cmd.arg("-tt");
                }
                cmd.arg(&target);
            }
            "sftp" => {
                cmd.arg("-b").arg("-").arg(&target);
            }
            "scp" => {
                cmd.args(line.split(' '));
            }
            other => return Err(format!("unknown via {other}")),
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("ssh: {e}"))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = collect(&mut child, &output);
        let mut stdin = child.stdin.take();
        let limit =
            Duration::from_secs(job.case.must_end_within.unwrap_or(if job.via == "tty" { 20 } else { 25 }));
        let started = Instant::now();
        match job.via.as_str() {
            "tty" => {
                let stdin = stdin.as_mut().ok_or("stdin")?;
                wait_for(&output, "@", Duration::from_secs(10));
                let _ = stdin.write_all(format!("{line}\r").as_bytes());
                for key in &job.case.keys {
                    std::thread::sleep(Duration::from_millis(700));
                    let _ = stdin.write_all(key.as_bytes());
                    let _ = stdin.flush();
                }
                std::thread::sleep(Duration::from_millis(900));
                if job.case.during.is_none() {
                    let _ = stdin.write_all(b"\x15exit\r");
                    let _ = stdin.flush();
                }
            }
            "sftp" => {
                let stdin = stdin.as_mut().ok_or("stdin")?;
                let _ = stdin.write_all(format!("{}\n", line.replace("; ", "\n")).as_bytes());
            }
            "forward" => {
                std::thread::sleep(Duration::from_millis(1500));
                let out = self.root(&line);
                output.lock().map_err(|_| "lock")?.extend_from_slice(&out.stdout);
            }
            _ => {}
        }
        if job.via != "forward" && job.via != "tty" {
            drop(stdin.take());
        }
        let mut peak_procs = 0;
        let mut peak_mem_mb = 0;
        let sampling = job.case.max_procs.is_some() || job.case.max_mem_mb.is_some();
        let mut killed = false;
        let mut ending = Ending::new(&job.case);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                ending.ended_at = Some(Instant::now());
                break status.code();
            }
            if ending.due(started) {
                ending.run(self, &login);
            }
            if ending.overdue() {
                killed = true;
            }
            if job.via == "forward" && started.elapsed() > Duration::from_secs(3) {
                killed = true;
            }
            if started.elapsed() > limit {
                killed = true;
            }
            if killed {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            if sampling {
                let (procs, mem) = self.sample(&login);
                peak_procs = peak_procs.max(procs);
                peak_mem_mb = peak_mem_mb.max(mem);
                // Over a bound: judged now, and stopped before the container's own limit
                // (whose OOM killer would take the suite's listeners and sshds with it).
                let over = |bound: Option<u64>, seen: u64| bound.is_some_and(|b| seen > b);
                if over(job.case.max_procs, peak_procs) || over(job.case.max_mem_mb, peak_mem_mb) {
                    killed = true;
                    continue;
                }
            }
            std::thread::sleep(Duration::from_millis(if sampling { 300 } else { 30 }));
        };
        drop(stdin);
        for reader in readers {
            let _ = reader.join();
        }
        if killed {
            // Whatever the session left must not outlive it into the next case.
            let _ = self.exec(&["pkill", "-KILL", "-u", &login]);
            std::thread::sleep(Duration::from_millis(300));
        }
        let output = text_of(&output.lock().map_err(|_| "lock")?);
        let end_failure = ending.judge(self, &login, &job.actions);
        Ok(Ran { output, status, killed, peak_procs, peak_mem_mb, end_failure })
    }

    /// The operator's processes and the container's memory in use, now.
    fn sample(&self, login: &str) -> (u64, u64) {
        let procs = text_of(&self.exec(&["ps", "-u", login, "-o", "pid="]).stdout).lines().count() as u64;
        (
            procs,
            self.memory_file("memory.usage_in_bytes", "memory.current").trim().parse::<u64>().unwrap_or(0)
                / (1024 * 1024),
        )
    }

    fn judge(
        &self,
        job: &Job,
        ran: &Ran,
        before: &(u64, u64, u64),
        after: &(u64, u64, u64),
    ) -> Result<(), String> {
        let case = &job.case;
        if let Some(failure) = &ran.end_failure {
            return Err(failure.clone());
        }
        if ran.output.contains(&self.canary) {
            return Err("the root-only canary's content reached the output".into());
        }
        if let Some(expect) = &case.expect {
            if !ran.output.contains(expect.as_str()) {
                return Err(format!("expected `{expect}` in the output: {}", tail(&ran.output)));
            }
        }
        match case.verdict.as_str() {
            "refused" => {
                // 126: refused; 127: refused as an unknown command, as a shell says it.
                if !matches!(ran.status, Some(126 | 127)) {
                    return Err(format!("exit {:?}, not 126: {}", ran.status, tail(&ran.output)));
                }
            }
            _ => {
                let over_bound = |b: Option<u64>, seen: u64| b.is_some_and(|b| seen > b);
                let stopped_over = over_bound(case.max_procs, ran.peak_procs)
                    || over_bound(case.max_mem_mb, ran.peak_mem_mb);
                if ran.killed && case.must_end_within.is_some() && !stopped_over {
                    return Err(format!("still running after {}s", case.must_end_within.unwrap_or(0)));
                }
            }
        }
        if let Some(path) = &case.marker {
            let out = self.root(&format!("test -e '{path}'"));
            if out.status.success() {
                return Err(format!("the payload's marker {path} appeared"));
            }
        }
        if let Some((path, content)) = &case.intact {
            let now = text_of(&self.exec(&["cat", path]).stdout);
            if !now.contains(content.as_str()) {
                return Err(format!("{path} was rewritten (now {:?})", tail(&now)));
            }
        }
        let shells = self.shells_between(before.0, after.0);
        if !shells.is_empty() {
            return Err(format!("a shell ran in the session: {}", shells.join(", ")));
        }
        if after.1 > before.1 {
            let hits = self.exec(&["tail", "-n", "3", "/var/log/esc-hits"]);
            return Err(format!("a forbidden listener was reached: {}", text_of(&hits.stdout).trim()));
        }
        if let Some(max) = case.max_procs {
            if ran.peak_procs > max {
                return Err(format!("{} processes of the operator at once (bound {max})", ran.peak_procs));
            }
        }
        if case.max_mem_mb.is_some() && after.2 > before.2 {
            return Err("the container's OOM killer ended it: no bound of the session's own held".into());
        }
        if let Some(max) = case.max_mem_mb {
            if ran.peak_mem_mb > max {
                return Err(format!("{} MiB in use in the container (bound {max})", ran.peak_mem_mb));
            }
        }
        if let Some((path, max)) = &case.max_file_mb {
            let out = self.root(&format!("stat -c %s '{path}' 2>/dev/null || echo 0; rm -f '{path}'"));
            let size = text_of(&out.stdout).trim().parse::<u64>().unwrap_or(0) / (1024 * 1024);
            if size > *max {
                return Err(format!("{path} grew to {size} MiB (bound {max})"));
            }
        }
        if case.verdict == "contained" {
            let verify = self.root("cagectl audit verify");
            if !verify.status.success() {
                return Err(format!("audit verify: {}", text_of(&verify.stdout)));
            }
        }
        Ok(())
    }

    /// Shell processes recorded by process accounting from `offset` to `end` (struct acct_v3:
    /// 64 bytes, ac_uid at 8, ac_ppid at 20, ac_comm at 48).
    fn shells_between(&self, offset: u64, end: u64) -> Vec<String> {
        if end <= offset {
            return Vec::new();
        }
        let out = self.exec(&["tail", "-c", &format!("+{}", offset + 1), "/var/log/esc-pacct"]);
        let bytes = &out.stdout[..out.stdout.len().min((end - offset) as usize)];
        bytes
            .chunks_exact(64)
            .filter_map(|record| {
                let uid = u32::from_le_bytes(record[8..12].try_into().ok()?);
                // ppid 0: started by `docker exec` (the runner's own checks), not by a session.
                let ppid = u32::from_le_bytes(record[20..24].try_into().ok()?);
                if ppid == 0 {
                    return None;
                }
                let comm = &record[48..64];
                let comm = String::from_utf8_lossy(&comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)]);
                SHELLS.contains(&comm.as_ref()).then(|| format!("{comm} (uid {uid})"))
            })
            .collect()
    }

    /// The trail's size now: where the next case's records start.
    fn trail_size(&self) -> u64 {
        let out = self.exec(&["stat", "-c", "%s", "/var/log/cage/audit.jsonl"]);
        text_of(&out.stdout).trim().parse().unwrap_or(0)
    }

    /// The records written from `offset` on (a rotation in between starts the file anew).
    fn audit_records_since(&self, offset: u64) -> Vec<serde_json::Value> {
        let from = if self.trail_size() < offset { 1 } else { offset + 1 };
        let out = self.exec(&["tail", "-c", &format!("+{from}"), "/var/log/cage/audit.jsonl"]);
        text_of(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    fn audit_records(&self) -> Vec<serde_json::Value> {
        let out = self.root("cat /var/log/cage/audit.jsonl");
        text_of(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// A deny record for `line` by `login`, and no allow record for it.
/// A line refused while acting (allowed by the decision, refused on disk) counts as refused
/// when its session then recorded a `file` denial.
fn audit_denied(records: &[serde_json::Value], login: &str, line: &str) -> Result<(), String> {
    let mine = records
        .iter()
        .filter(|r| r["event"] == "command" && r["loginid"] == login && r["title"].as_str() == Some(line));
    let (mut deny, mut allow) = (0, 0);
    let mut sessions = Vec::new();
    for r in mine {
        match r["decision"].as_str() {
            Some("deny") => deny += 1,
            _ => {
                allow += 1;
                sessions.push(r["session"].clone());
            }
        }
    }
    let refused_while_acting = |session: &serde_json::Value| {
        records.iter().any(|r| r["event"] == "file" && r["decision"] == "deny" && r["session"] == *session)
    };
    match (deny, allow) {
        (0, 0) => Err("no `command` record with `decision: deny` for this line".into()),
        (_, 0) => Ok(()),
        (0, _) if sessions.iter().all(refused_while_acting) => Ok(()),
        (0, _) => Err("allowed, and no `file` record of its session says it was refused on disk".into()),
        (_, n) => Err(format!("{n} stage(s) of this line were allowed")),
    }
}

/// An `exit` record of `line` by `login` that names `limit` among the session's limits that
/// stopped something while it ran.
fn audit_limit(records: &[serde_json::Value], login: &str, line: &str, limit: &str) -> Result<(), String> {
    let exits = records
        .iter()
        .filter(|r| r["event"] == "exit" && r["loginid"] == login && r["title"].as_str() == Some(line));
    let mut seen = Vec::new();
    for r in exits {
        if r["limits"].as_array().is_some_and(|l| l.iter().any(|v| v == limit)) {
            return Ok(());
        }
        seen.push(r["limits"].to_string());
    }
    Err(format!("no `exit` record says the session's {limit} limit stopped it (limits: {seen:?})"))
}

fn tail(output: &str) -> String {
    let t: String = output.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
    t.chars().flat_map(|c| c.escape_debug()).collect()
}

fn collect(child: &mut Child, sink: &Arc<Mutex<Vec<u8>>>) -> Vec<std::thread::JoinHandle<()>> {
    let mut handles = Vec::new();
    let streams: Vec<Box<dyn Read + Send>> = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for mut stream in streams {
        let sink = sink.clone();
        handles.push(std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut all) = sink.lock() {
                    // Enough to judge; a flood is not kept whole.
                    if all.len() < 4 << 20 {
                        all.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }));
    }
    handles
}

fn wait_for(output: &Arc<Mutex<Vec<u8>>>, needle: &str, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if output.lock().is_ok_and(|o| text_of(&o).contains(needle)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
