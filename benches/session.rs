//! `make bench`: whole-process time of `cage -c "du -s /u01"` for an operator (cage installed
//! setuid in a private namespace, integration/session/sandbox.sh) against its peers from the
//! same run: `sudo -n -u nobody du -s /u01` and bubblewrap running the same `du` in the
//! namespaces cage makes (mount, PID, IPC, network; `--die-with-parent`), with ratios to
//! each; and the cost of each further command in a live session. One row runs with the
//! session-wide limits (`[limits] pids`, `session_memory`) set. The sandbox's /var/log is a
//! tmpfs, where syncing a record costs nothing: two more rows, cage and the floor program,
//! keep their trails on the machine's own disk (`/var/tmp`). Three floors show what cage
//! cannot go below here: starting a program at all (`/bin/true`), the `du` itself, and the
//! floor program (benches/floor, built with `cc`): the same kernel steps as cage's for this
//! command (session cgroup and guardian, egress programs, namespaces, mounts, Landlock,
//! seccomp, exec tracing, synced audit records) in C, with nothing decided. Needs root.
//!
//! Every case is started the same way, the way sshd starts a login shell: a fork of the
//! driver that takes the operator's uid and gid and execs the program (`bench session
//! --inner`, run inside the sandbox). So `sudo` is run by the operator too, through a
//! NOPASSWD rule for the `du` that exists only in the sandbox, and bubblewrap makes its
//! namespaces in a user namespace of the operator's; where the kernel refuses the operator a
//! user namespace, bubblewrap is started by root instead and its row says so.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 101;
const LINE: &str = "du -s /u01";
/// The floor program, installed setuid root in the sandbox as cage is.
const FLOOR: &str = "/usr/local/bin/cage-floor";
/// The same, writing its trail on the machine's disk (DISK).
const FLOOR_DISK: &str = "/usr/local/bin/cage-floor-disk";
/// A directory on the machine's own disk for the trails of the rows that sync to a disk
/// (the sandbox's /var/log is a tmpfs, where a sync costs nothing).
const DISK: &str = "/var/tmp/cage-bench-disk";
/// The cage.toml of the rows with the session-wide limits, and of those with the trail on disk.
const LIMITS_TOML: &str = "/etc/cage/limits.toml";
const DISK_TOML: &str = "/etc/cage/disk.toml";

/// One case: its row name, the program and arguments, and the cage.toml it runs with when
/// not the plain one (switched outside the timing).
struct Case {
    name: &'static str,
    argv: Vec<String>,
    config: Option<&'static str>,
    /// Started by root instead of the operator (for comparison only).
    as_root: bool,
}

fn cases() -> Vec<Case> {
    let case = |name, argv: &[&str], config| Case {
        name,
        argv: argv.iter().map(|a| a.to_string()).collect(),
        config,
        as_root: false,
    };
    let ten = [LINE; 10].join("; ");
    let sudo = ["/usr/bin/sudo", "-n", "-u", "nobody", "/usr/bin/du", "-s", "/u01"];
    let bwrap = [
        "/usr/bin/bwrap",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-pid",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "/usr/bin/du",
        "-s",
        "/u01",
    ];
    let bwrap_as_root = !user_namespaces_for_operators();
    vec![
        case("sudo -n -u nobody du -s /u01", &sudo, None),
        Case {
            as_root: bwrap_as_root,
            ..case(
                if bwrap_as_root {
                    "bwrap (namespaces of cage) du -s /u01, by root"
                } else {
                    "bwrap (namespaces of cage) du -s /u01"
                },
                &bwrap,
                None,
            )
        },
        case("cage -c \"du -s /u01\" (INFRA_DIAG, cps)", &["/usr/local/bin/cage", "-c", LINE], None),
        Case {
            name: "cage -c with 10 x \"du -s /u01\"",
            argv: vec!["/usr/local/bin/cage".into(), "-c".into(), ten],
            config: None,
            as_root: false,
        },
        case(
            "cage -c \"du -s /u01\" with pids, session_memory",
            &["/usr/local/bin/cage", "-c", LINE],
            Some(LIMITS_TOML),
        ),
        case(
            "floor: the same kernel steps in C (benches/floor)",
            &[FLOOR, "/usr/bin/du", "-s", "/u01"],
            None,
        ),
        case("floor: /bin/true", &["/bin/true"], None),
        case("floor: du -s /u01", &["/usr/bin/du", "-s", "/u01"], None),
        case("cage -c \"du -s /u01\", trail on disk", &["/usr/local/bin/cage", "-c", LINE], Some(DISK_TOML)),
        case("floor, trail on disk", &[FLOOR_DISK, "/usr/bin/du", "-s", "/u01"], None),
    ]
}

/// Whether the kernel lets an unprivileged user make a user namespace (bubblewrap needs one
/// when not started by root).
fn user_namespaces_for_operators() -> bool {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    read("/proc/sys/kernel/unprivileged_userns_clone").map_or(true, |v| v != "0")
        && read("/proc/sys/user/max_user_namespaces").map_or(true, |v| v != "0")
}

fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn fail(what: &str) -> ! {
    eprintln!("bench session: {what}");
    std::process::exit(1)
}

/// Builds the floor program into target/floor with the host's C compiler; its path.
fn build_floor(name: &str, trail: Option<&str>) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = format!("{root}/target/floor/{name}");
    std::fs::create_dir_all(format!("{root}/target/floor")).unwrap_or_else(|e| fail(&e.to_string()));
    let status = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o", &out])
        .args(trail.map(|path| format!("-DTRAIL=\"{path}\"")))
        .args(["floor.c", "jail.c", "common.c"].map(|file| format!("{root}/benches/floor/{file}")))
        .status();
    match status {
        Ok(s) if s.success() => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fail("cc is missing: the floor program (benches/floor) needs a C compiler (apt-get install gcc)")
        }
        other => fail(&format!("building the floor program (benches/floor) failed: {other:?}")),
    }
}

/// Inside the sandbox: times every case, taking turns run after run, each started as the
/// operator; prints `index nanoseconds` lines.
fn inner() {
    let operator = nix::unistd::User::from_name("optest").ok().flatten().unwrap_or_else(|| fail("no optest"));
    let cases = cases();
    let config = |from: &str| {
        std::fs::copy(from, "/etc/cage/cage.toml").unwrap_or_else(|e| fail(&format!("{from}: {e}")));
    };
    let mut out = std::io::stdout().lock();
    for _ in 0..RUNS {
        for (index, case) in cases.iter().enumerate() {
            if let Some(toml) = case.config {
                config(toml);
            }
            let start = Instant::now();
            let mut command = Command::new(&case.argv[0]);
            if !case.as_root {
                command.uid(operator.uid.as_raw()).gid(operator.gid.as_raw());
            }
            let status = command
                .args(&case.argv[1..])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("LANG", "C.UTF-8")
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let elapsed = start.elapsed();
            if case.config.is_some() {
                config("/etc/cage/plain.toml");
            }
            match status {
                Ok(s) if s.success() => {}
                other => fail(&format!("{} ended with {other:?}", case.name)),
            }
            let _ = writeln!(out, "{index} {}", elapsed.as_nanos());
        }
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--inner") {
        return inner();
    }
    if !nix::unistd::geteuid().is_root() {
        fail("needs root");
    }
    let me = std::env::current_exe().unwrap_or_else(|e| fail(&e.to_string()));
    let bins = format!("{}/target/release", env!("CARGO_MANIFEST_DIR"));
    let floor = build_floor("cage-floor", None);
    let floor_disk = build_floor("cage-floor-disk", Some(&format!("{DISK}/floor/audit.jsonl")));
    // The floor is installed as cage is; what cage keeps between sessions (its trail's
    // directory, the kept egress cgroup) is made for it here, outside the timing.
    let script = format!(
        "grant --actions INFRA_DIAG --duration 1h --req BENCH\n\
         cp /etc/cage/cage.toml /etc/cage/plain.toml\n\
         {{ cat /etc/cage/plain.toml; printf '[limits]\\npids = 512\\nsession_memory = \"1G\"\\n'; }} > {LIMITS_TOML}\n\
         {{ cat /etc/cage/plain.toml; printf '[audit]\\nfile = \"{DISK}/audit.jsonl\"\\n'; }} > {DISK_TOML}\n\
         chmod 0644 /etc/cage/plain.toml {LIMITS_TOML} {DISK_TOML}\n\
         rm -rf {DISK}; install -d -m 0700 {DISK} {DISK}/floor\n\
         echo 'optest ALL=(nobody) NOPASSWD: /usr/bin/du -s /u01' > /etc/sudoers.d/cage-bench\n\
         chmod 0440 /etc/sudoers.d/cage-bench\n\
         install -o root -g root -m 4755 '{floor}' {FLOOR}\n\
         install -o root -g root -m 4755 '{floor_disk}' {FLOOR_DISK}\n\
         install -d -m 0700 /var/log/cage-floor /run/cage-floor\n\
         for cg in /sys/fs/cgroup /sys/fs/cgroup/unified ''; do\n\
           if [ \"$(stat -f -c %T \"$cg\" 2>/dev/null)\" = cgroup2fs ]; then break; fi; done\n\
         [ -n \"$cg\" ] || {{ echo 'bench session: no cgroup2 hierarchy for the floor' >&2; exit 1; }}\n\
         trap 'rc=$?; rmdir \"$cg\"/cage-floor/session-*/egress-layer \"$cg\"/cage-floor/session-* \\\n\
           \"$cg\"/cage-floor/egress \"$cg\"/cage-floor /run/cage-floor/root /run/cage-floor 2>/dev/null || :; rm -rf {DISK}; exit $rc' EXIT\n\
         mkdir -p \"$cg\"/cage-floor/egress\n\
         {FLOOR} --setup\n\
         '{}' --inner\n",
        me.display()
    );
    let sandbox = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/session/sandbox.sh");
    // Stripped, as `make install` installs them.
    let mut child = Command::new(sandbox)
        .arg(&bins)
        .env("CAGE_SANDBOX_STRIP", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&e.to_string()));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| fail(&e.to_string()));
    if !out.status.success() {
        fail(&format!("the sandbox ended with {}", out.status));
    }
    let cases = cases();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for line in text.lines() {
        let Some((index, ns)) = line.split_once(' ') else { continue };
        if let (Ok(index), Ok(ns)) = (index.parse::<usize>(), ns.trim().parse::<f64>()) {
            if let Some(list) = samples.get_mut(index) {
                list.push(ns / 1e6);
            }
        }
    }
    let mut medians = Vec::new();
    for (case, list) in cases.iter().zip(&mut samples) {
        if list.is_empty() {
            fail(&format!("no timings for {}", case.name));
        }
        medians.push((case.name, median_ms(list)));
    }
    let get = |i: usize| medians.get(i).map_or(f64::NAN, |m| m.1);
    let (sudo, bwrap, first, ten, floor, bare, du) = (get(0), get(1), get(2), get(3), get(5), get(6), get(7));
    let floor_disk = get(9);
    println!("whole-process time as the operator, median of {RUNS} runs, same run");
    println!("(targets: cage -c at most 0.5 x sudo and 1.0 x bwrap, or within 1.2 x the floor program;");
    println!(" a further command at most 2 x /bin/true over du)");
    println!("{:<52} {:>9} {:>9} {:>9} {:>9}", "command", "ms", "÷ sudo", "÷ bwrap", "÷ floor");
    for (i, (name, ms)) in medians.iter().enumerate() {
        // One command each: cage's rows but the ten-command one, and the floors themselves;
        // with the trail on disk, against the floor with its trail on the same disk.
        let by_floor = match i {
            2 | 4 | 5 => format!(" {:>9.2}", ms / floor),
            8 | 9 => format!(" {:>9.2}", ms / floor_disk),
            _ => String::new(),
        };
        println!("{name:<52} {ms:>9.3} {:>9.2} {:>9.2}{by_floor}", ms / sudo, ms / bwrap);
    }
    // What each adds to the command: its time less the same `du` started directly.
    println!("{:<52} {:>9.3}", "added to du by cage -c", first - du);
    println!("{:<52} {:>9.3}", "added to du by sudo", sudo - du);
    println!("{:<52} {:>9.3}", "added to du by bwrap", bwrap - du);
    println!("{:<52} {:>9.3}", "added to du by the floor program", floor - du);
    println!("{:<52} {:>9.3}", "cage -c above the floor program", first - floor);
    let further = (ten - first) / 9.0;
    println!(
        "{:<52} {:>9.3} {:>9.2} x /bin/true over du",
        "each further command in the session",
        further,
        (further - du) / bare
    );
}
