//! What the jail's root test binaries share: the probe (integration/probe), profiles,
//! plans for it and a run that returns its JSON report.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use cage::decide::{Program, RunPlan};
use cage::jail::*;
use cage::policy::{Layer, PolicySet, Profile, RunAs};
use nix::unistd::pipe;
use serde_json::Value;

pub const NOBODY: u32 = 65534;

pub fn probe() -> String {
    let path = format!("{}/target/probe", env!("CARGO_MANIFEST_DIR"));
    if !Path::new(&path).exists() {
        let built = Command::new(format!("{}/integration/probe/build.sh", env!("CARGO_MANIFEST_DIR")))
            .arg(&path)
            .status();
        assert!(built.is_ok_and(|s| s.success()), "building the probe failed");
    }
    path
}

pub fn profile(actions: &str, layer: Layer) -> Profile {
    let set = PolicySet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
        .expect("bundled policies");
    set.profile(&[actions.to_string()], layer).expect("profile")
}

pub fn inline_profile(text: &str) -> Profile {
    let set = PolicySet::from_sources(&[("T.toml".to_string(), text.to_string())]).expect("policy");
    set.profile(&["T".to_string()], Layer::Cps).expect("profile")
}

pub fn operator() -> Identity {
    Identity { name: "nobody".into(), uid: NOBODY, gid: NOBODY, groups: vec![], home: "/".into() }
}

pub fn plan_for(profile: &Profile, args: &[&str], identity: Identity, caps: &[&str]) -> JailPlan {
    let probe = probe();
    let argv = std::iter::once("probe").chain(args.iter().copied()).map(String::from).collect();
    let run_as = if identity.uid == 0 { RunAs::Root } else { RunAs::Operator };
    let caps = caps.iter().map(|c| c.to_string()).collect();
    let run = RunPlan { program: Program::Path(probe), argv, run_as, caps, tty: false, jailed: true };
    let req = JailRequest::bare(profile, &run, identity);
    plan_jail(&req, &RealHost).expect("plan")
}

/// Runs the plan, returns the probe's JSON and how the jail ended.
pub fn run(plan: &JailPlan) -> (BTreeMap<String, Value>, Finished) {
    run_placed(plan, None)
}

/// Runs the plan born in `placement` (a session's leaf) when given.
pub fn run_placed(plan: &JailPlan, placement: Option<Placement>) -> (BTreeMap<String, Value>, Finished) {
    let (read, write) = pipe().expect("pipe");
    let stdout = Some(std::os::fd::AsRawFd::as_raw_fd(&write));
    let stdio = Stdio { stdout, placement, ..Stdio::default() };
    let running = spawn(plan, stdio, true).expect("spawn");
    drop(write);
    let mut out = String::new();
    fs::File::from(read).read_to_string(&mut out).expect("read probe output");
    let finished = running.wait().expect("the jail ran");
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("probe output {out:?}: {e}"));
    (json, finished)
}

pub fn field<'a>(json: &'a BTreeMap<String, Value>, key: &str) -> &'a str {
    json.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no `{key}` in {json:?}"))
}

/// Makes the directories the bundled INFRA_CPS_ONLY rules name, with test content.
pub fn cps_fixture() {
    fs::create_dir_all("/u01").expect("/u01");
    fs::set_permissions("/u01", fs::Permissions::from_mode(0o1777)).expect("chmod /u01");
    fs::write("/var/log/cage-jail-test.log", "readable log line\n").expect("log");
    fs::set_permissions("/var/log/cage-jail-test.log", fs::Permissions::from_mode(0o644)).expect("chmod log");
    fs::copy("/usr/bin/true", "/u01/true-copy").expect("copy true");
    fs::copy("/usr/bin/dd", "/u01/dd-copy").expect("copy dd");
}
