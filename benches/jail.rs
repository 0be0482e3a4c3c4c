//! `make bench`: whole-process time of `/bin/true` bare, in cage's jail, under bwrap and
//! under sudo, taking turns in the same run, as medians and ratios (target: jail < 2 ms and
//! below bwrap). Needs root; peers missing from PATH are reported, not guessed.

use std::path::Path;
use std::process::{Command, Stdio as ProcStdio};
use std::time::Instant;

use cage::decide::{Program, RunPlan};
use cage::jail::{plan_jail, spawn, Identity, JailRequest, Outcome, RealHost, Stdio};
use cage::policy::{Layer, PolicySet, Profile, RunAs};

const RUNS: usize = 301;

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One whole-process time of `argv`, in ms; `None` if it cannot run or fails.
fn time_command(argv: &[&str]) -> Option<f64> {
    let start = Instant::now();
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(ProcStdio::null())
        .stdout(ProcStdio::null())
        .stderr(ProcStdio::null())
        .status()
        .ok()?;
    status.success().then(|| start.elapsed().as_secs_f64() * 1e3)
}

/// One run of `/usr/bin/true` in cage's jail, planned and spawned as the monitor does, in ms.
fn time_jail(profile: &Profile, run: &RunPlan) -> Result<f64, String> {
    let identity =
        Identity { name: "nobody".into(), uid: 65534, gid: 65534, groups: vec![], home: "/".into() };
    let start = Instant::now();
    let req = JailRequest::bare(profile, run, identity);
    let plan = plan_jail(&req, &RealHost).map_err(|e| e.to_string())?;
    let finished =
        spawn(&plan, Stdio::default(), true).map_err(|e| e.to_string())?.wait().map_err(|e| e.to_string())?;
    if finished.outcome != Outcome::Exited(0) {
        return Err(format!("jailed true ended {:?}", finished.outcome));
    }
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// Adds one time of `argv` to `samples`; a peer that cannot run is dropped (`None`).
fn sample(argv: &[&str], samples: &mut Option<Vec<f64>>) {
    if let Some(list) = samples {
        match time_command(argv) {
            Some(ms) => list.push(ms),
            None => *samples = None,
        }
    }
}

fn jail_setup() -> Result<(Profile, RunPlan), String> {
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
    Ok((profile, run))
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench jail: needs root (namespaces and mounts)");
        std::process::exit(1);
    }
    let (profile, run) = jail_setup().unwrap_or_else(|e| {
        eprintln!("bench jail: {e}");
        std::process::exit(1)
    });
    // The four take turns, run after run, so a burst of load falls on all of them alike.
    let bwrap_argv = ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "/bin/true"];
    let sudo_argv = ["sudo", "-n", "-u", "nobody", "/bin/true"];
    let (mut bare, mut bwrap, mut sudo) = (Some(Vec::new()), Some(Vec::new()), Some(Vec::new()));
    let mut jail = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        sample(&["/bin/true"], &mut bare);
        jail.push(time_jail(&profile, &run).unwrap_or_else(|e| {
            eprintln!("bench jail: {e}");
            std::process::exit(1)
        }));
        sample(&bwrap_argv, &mut bwrap);
        sample(&sudo_argv, &mut sudo);
    }
    let (bare, bwrap, sudo) = (bare.map(median_ms), bwrap.map(median_ms), sudo.map(median_ms));
    let jail = median_ms(jail);
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
