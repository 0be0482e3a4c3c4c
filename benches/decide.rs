//! `make bench`: time per `decide` call on the bundled profiles (target: under 2 µs).
//!
//! Each case is timed in batches of calls; the figure is the median batch divided by its
//! size, so one slow batch (a context switch) does not move it.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use cage::decide::{decide, Session};
use cage::line::parse_line;
use cage::policy::{Layer, PolicySet, Profile};

const BATCH: u32 = 2_000;
const BATCHES: usize = 101;
const TARGET_NS: f64 = 2_000.0;

const CASES: &[(&str, Layer, &str)] = &[
    ("INFRA_CPS_ONLY", Layer::Cps, "sudocat /var/log/messages"),
    ("INFRA_CPS_ONLY", Layer::Cps, "sudocat /var/log/../../etc/shadow"),
    ("INFRA_CPS_ONLY", Layer::Cps, "rootexec /root/blackout.sh"),
    ("INFRA_DIAG", Layer::Host, "virsh list --all"),
    ("INFRA_DIAG", Layer::Host, "virsh destroy vm1"),
    ("INFRA_HYPERVISOR", Layer::Host, "virsh destroy vm1"),
    ("INFRA_DIAG", Layer::Cps, "tcpdump -nn -i eth0 -c 100 port 22"),
    ("INFRA_DIAG", Layer::Cps, "su - ecra"),
    ("INFRA_UPDATE_RESTART", Layer::Cell, "cellcli -e list celldisk detail"),
    ("AVM_SYS_DIAG", Layer::GuestVm, "ipcrm -a"),
    ("AVM_SYS_DIAG", Layer::GuestVm, "ls -la /u01"),
    ("INFRA_DIAG", Layer::Cps, "bash"),
];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let set = match PolicySet::load_dir(&dir) {
        Ok(set) => set,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("{e}"));
            std::process::exit(1);
        }
    };
    let session = Session { login: "opctl_bench".into(), cwd: "/u01".into(), home: "/u01".into() };
    println!("decide() per call, median of {BATCHES} batches of {BATCH} calls; target < {TARGET_NS} ns");
    println!("{:<22} {:<9} {:>9} {:>8}  line", "action", "layer", "ns/call", "÷target");
    let mut worst: f64 = 0.0;
    for (action, layer, line) in CASES {
        let profile = set.profile(&[action.to_string()], *layer).unwrap_or_else(|e| fail(&e));
        let ns = time_case(&profile, &session, line);
        worst = worst.max(ns);
        println!("{action:<22} {:<9} {ns:>9.0} {:>8.3}  {line}", layer.name(), ns / TARGET_NS);
    }
    println!("slowest case: {worst:.0} ns/call = {:.3} of the 2 µs target", worst / TARGET_NS);
}

fn time_case(profile: &Profile, session: &Session, line: &str) -> f64 {
    let parsed = parse_line(line.as_bytes()).unwrap_or_else(|e| fail(&e));
    let command = parsed.commands().next().unwrap_or_else(|| fail(&"empty line"));
    let mut per_call: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(decide(black_box(profile), session, black_box(command)));
            }
            start.elapsed().as_nanos() as f64 / f64::from(BATCH)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[BATCHES / 2]
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("bench: {e}");
    std::process::exit(1)
}
