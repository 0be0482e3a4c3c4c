//! `make bench`: whole-process time of `/bin/true` bare, in cage's jail, under bwrap and
//! under sudo, measured in the same run, as medians and ratios (target: jail < 2 ms and
//! below bwrap). Needs root; peers missing from PATH are reported, not guessed.

use std::path::Path;
use std::process::{Command, Stdio as ProcStdio};
use std::time::Instant;

use cage::decide::{Program, RunPlan};
use cage::jail::{plan_jail, spawn, Identity, JailRequest, Outcome, RealHost, Stdio};
use cage::policy::{Layer, PolicySet, RunAs};

const RUNS: usize = 301;

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn time_command(argv: &[&str]) -> Option<f64> {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(ProcStdio::null())
            .stdout(ProcStdio::null())
            .stderr(ProcStdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Some(median_ms(samples))
}

fn time_jail() -> Result<f64, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let set = PolicySet::load_dir(&dir).map_err(|e| format!("{e:?}"))?;
    let profile = set.profile(&["INFRA_CPS_ONLY".to_string()], Layer::Cps).map_err(|e| e.to_string())?;
    let run = RunPlan {
        program: Program::Path("/usr/bin/true".into()),
        argv: vec!["true".into()],
        run_as: RunAs::Operator,
        caps: vec![],
        tty: false,
        jailed: true,
    };
    let identity =
        Identity { name: "nobody".into(), uid: 65534, gid: 65534, groups: vec![], home: "/".into() };
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let req = JailRequest {
            profile: &profile,
            run: &run,
            identity: identity.clone(),
            cwd: "/",
            tty: None,
            term: None,
            lang: None,
            controlling_tty: false,
        };
        let plan = plan_jail(&req, &RealHost).map_err(|e| e.to_string())?;
        let finished = spawn(&plan, Stdio::default(), true)
            .map_err(|e| e.to_string())?
            .wait()
            .map_err(|e| e.to_string())?;
        if finished.outcome != Outcome::Exited(0) {
            return Err(format!("jailed true ended {:?}", finished.outcome));
        }
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median_ms(samples))
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench jail: needs root (namespaces and mounts)");
        std::process::exit(1);
    }
    let bare = time_command(&["/bin/true"]);
    let jail = time_jail().unwrap_or_else(|e| {
        eprintln!("bench jail: {e}");
        std::process::exit(1)
    });
    let bwrap = time_command(&["bwrap", "--ro-bind", "/", "/", "--unshare-all", "/bin/true"]);
    let sudo = time_command(&["sudo", "-n", "-u", "nobody", "/bin/true"]);
    println!("whole-process time, median of {RUNS} runs, same run (target: cage jail < 2 ms and < bwrap)");
    println!("{:<44} {:>9} {:>10} {:>10}", "command", "ms", "÷ /bin/true", "÷ bwrap");
    let rows = [
        ("/bin/true", bare),
        ("cage jail: /bin/true (INFRA_CPS_ONLY, cps)", Some(jail)),
        ("bwrap --ro-bind / / --unshare-all /bin/true", bwrap),
        ("sudo -n -u nobody /bin/true", sudo),
    ];
    for (name, ms) in rows {
        match ms {
            Some(ms) => {
                let ratio = |base: Option<f64>| base.map_or("-".to_string(), |b| format!("{:.2}", ms / b));
                println!("{name:<44} {ms:>9.3} {:>10} {:>10}", ratio(bare), ratio(bwrap));
            }
            None => println!("{name:<44} {:>9} (not installed or failed)", "-"),
        }
    }
}
