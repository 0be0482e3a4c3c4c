//! A case's `during` (runner.rs): what ends a session while its line runs (a revocation, an
//! expiry, a SIGKILL of the monitor), and the check that the session then ended in time and
//! left nothing behind.

use std::time::{Duration, Instant};

use crate::{text_of, Case, Env};

/// A case's `during`: what ends the session, when it ran, and what it must leave.
pub struct Ending {
    script: Option<String>,
    after: Duration,
    within: Duration,
    survivor: Option<String>,
    ran_at: Option<Instant>,
    pub ended_at: Option<Instant>,
}

impl Ending {
    pub fn new(case: &Case) -> Ending {
        Ending {
            script: case.during.clone(),
            after: Duration::from_secs_f64(case.during_after.unwrap_or(2.5)),
            within: Duration::from_secs_f64(case.ended_within.unwrap_or(1.5)),
            survivor: case.survivor.clone(),
            ran_at: None,
            ended_at: None,
        }
    }

    pub fn due(&self, started: Instant) -> bool {
        self.script.is_some() && self.ran_at.is_none() && started.elapsed() >= self.after
    }

    /// Runs the case's script with LOGIN, MONITOR and NOW (the time, as a grant writes it)
    /// set. Everything it needs is found here, without a shell: process accounting would
    /// count the runner's own subshells as shells of the session.
    pub fn run(&mut self, env: &Env, login: &str) {
        let script = self.script.as_deref().unwrap_or_default();
        let records = env.audit_records();
        let login_record = records.iter().rev().find(|r| r["event"] == "login" && r["loginid"] == login);
        let monitor = login_record.and_then(|r| r["pid"].as_u64()).unwrap_or(0);
        let now = text_of(&env.exec(&["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"]).stdout).trim().to_string();
        let _ = env.root(&format!("LOGIN={login}; MONITOR={monitor}; NOW={now}\n{script}"));
        self.ran_at = Some(Instant::now());
    }

    /// The session outlived its end by more than it may (plus a margin for ssh to notice).
    pub fn overdue(&self) -> bool {
        self.ran_at.is_some_and(|at| at.elapsed() > self.within + Duration::from_secs(3))
    }

    /// After the session: how late it ended and what it left; restores the operator's grant.
    pub fn judge(&self, env: &Env, login: &str, actions: &str) -> Option<String> {
        let at = self.ran_at?;
        let took = self.ended_at.map_or(at.elapsed(), |end| end.saturating_duration_since(at));
        std::thread::sleep(self.within.saturating_sub(at.elapsed()));
        let left = self.left_by(env, login);
        let _ = env.exec(&["pkill", "-KILL", "-u", login]);
        let _ = env.exec(&["usermod", "--unlock", "--expiredate", "", login]);
        let req = format!("REQ-{login}");
        let regrant =
            ["cagectl", "grant", "--login", login, "--actions", actions, "--duration", "2h", "--req"];
        let _ = env.exec(&[&regrant[..], &[req.as_str()]].concat());
        if took > self.within {
            return Some(format!("the session ended {took:?} after its end, not within {:?}", self.within));
        }
        (!left.is_empty()).then(|| format!("{:?} after its end, the session left: {left}", self.within))
    }

    /// What is left of `login`'s sessions: its processes (zombies have ended), the case's
    /// survivor, the sessions' cgroups. Found without a shell (see `run`).
    fn left_by(&self, env: &Env, login: &str) -> String {
        let mut left: Vec<String> = text_of(&env.exec(&["ps", "-u", login, "-o", "pid=,stat=,args="]).stdout)
            .lines()
            .filter(|l| l.split_whitespace().nth(1).is_some_and(|stat| !stat.starts_with('Z')))
            .map(str::to_string)
            .collect();
        if let Some(pattern) = &self.survivor {
            left.extend(text_of(&env.exec(&["pgrep", "-af", pattern]).stdout).lines().map(str::to_string));
        }
        let mounts = text_of(&env.exec(&["cat", "/proc/mounts"]).stdout);
        let cgroup2 = mounts.lines().find_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            (fields.get(2) == Some(&"cgroup2")).then(|| fields[1].to_string())
        });
        let sessions: Vec<String> = env
            .audit_records()
            .iter()
            .filter(|r| r["loginid"] == login)
            .filter_map(|r| r["session"].as_str().map(str::to_string))
            .collect();
        if let Some(root) = cgroup2 {
            let names = text_of(&env.exec(&["ls", &format!("{root}/cage")]).stdout);
            let ours = |name: &&str| sessions.iter().any(|s| name.starts_with(&format!("session-{s}-")));
            left.extend(names.lines().filter(ours).map(|n| format!("cgroup {n}")));
        }
        left.join("; ")
    }
}
