//! `make bench`: what the durable audit write costs. Per record and per command (its synced
//! `command` record and its `exit` record, synced at the next prompt) against the same records
//! sealed but discarded, median (p50) and p99 of each and the time the durable write adds at
//! each; and records/s with 64 concurrent writers on one file, with p50 and p99 of one
//! writer's wait for its record, all from one run. The file lives next to the real
//! trail (/var/log), so it is synced on the same file system. Target: under 0.3 ms added per
//! command, median.

use std::time::Instant;

use cage::audit::{Audit, Entry, SessionFields, Verdict};
use cage::config::AuditConfig;

const RECORDS: usize = 2_000;
const WRITERS: usize = 64;
const PER_WRITER: usize = 100;
const TARGET_MS: f64 = 0.3;

fn fields(session: usize) -> SessionFields {
    SessionFields {
        session: format!("{session:032x}"),
        req_auth_id: "REQ-BENCH".into(),
        loginid: "opctl_bench".into(),
        uid: 4001,
        host: "bench".into(),
        layer: "cps".into(),
        tty: Some("/dev/pts/1".into()),
        srchost: Some("10.0.0.1".into()),
        pid: std::process::id(),
        su_user: None,
    }
}

fn command() -> Entry {
    let mut entry = Entry::new("command");
    entry.title = b"sudotail -n 50 /var/log/messages".to_vec();
    entry.argv = ["sudotail", "-n", "50", "/var/log/messages"].map(String::from).to_vec();
    entry.decision = Some(Verdict::Allow);
    entry.rule = Some("INFRA_DIAG/cps/file_commands[sudotail]".into());
    entry.cwd = Some("/home/opctl_bench".into());
    entry
}

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    (at(50), at(99))
}

/// Milliseconds per record, `RECORDS` times.
fn time_records(audit: &Audit, entry: &Entry) -> Vec<f64> {
    time_n(audit, entry, RECORDS)
}

/// Milliseconds per record, `n` times.
fn time_n(audit: &Audit, entry: &Entry, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            if let Err(e) = audit.record(entry) {
                fail(&e);
            }
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("bench audit: {e}");
    std::process::exit(1)
}

fn main() {
    let dir = format!("/var/log/cage-bench-{}", std::process::id());
    if let Err(e) = std::fs::create_dir(&dir) {
        fail(&format!("{dir}: {e}"));
    }
    let file = format!("{dir}/audit.jsonl");
    let entry = command();
    let exit = Entry::new("exit").with("status", 0).with("duration_ms", 3);
    // The local write only: the syslog copy is a separate, bounded send.
    let config = AuditConfig { file: file.clone(), syslog: false };
    let durable = Audit::to_file(&config, fields(1));
    let discarded = Audit::discard(fields(1));
    let on_disk = percentiles(time_records(&durable, &entry));
    let nowhere = percentiles(time_records(&discarded, &entry));
    let pair = |audit: &Audit| {
        let samples = (0..RECORDS / 2).map(|_| {
            let start = Instant::now();
            // As the monitor writes them: the `command` record synced before the command
            // runs, its `exit` written after it, synced once the prompt is back (outside the
            // command's time, so outside this one's).
            if let Err(err) = audit.record(&entry).and_then(|_| audit.record_deferred(&exit)) {
                fail(&err);
            }
            let elapsed = start.elapsed().as_secs_f64() * 1e3;
            if let Err(err) = audit.sync() {
                fail(&err);
            }
            elapsed
        });
        percentiles(samples.collect())
    };
    let (command_on_disk, command_nowhere) = (pair(&durable), pair(&discarded));
    println!("audit record, {RECORDS} of each: durable (flock + write + fdatasync) vs sealed and discarded");
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "ms", "durable50", "durable99", "discard50", "discard99", "added p50", "added p99"
    );
    let row = |name: &str, (d50, d99): (f64, f64), (n50, n99): (f64, f64)| {
        println!(
            "{name:<30} {d50:>9.3} {d99:>9.3} {n50:>9.3} {n99:>9.3} {:>9.3} {:>9.3}",
            d50 - n50,
            d99 - n99
        )
    };
    row("one record", on_disk, nowhere);
    row("one command (command + exit)", command_on_disk, command_nowhere);
    println!(
        "(added p50 {:.2} of the {TARGET_MS} ms target)",
        (command_on_disk.0 - command_nowhere.0) / TARGET_MS
    );
    let before = std::fs::read(&file).map(|t| t.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0);
    let start = Instant::now();
    // Each writer's time per record: its wait for the lock, then its write and sync.
    let waits: Vec<f64> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (config, entry) = (&config, &entry);
                scope.spawn(move || {
                    let audit = Audit::to_file(config, fields(writer + 2));
                    time_n(&audit, entry, PER_WRITER)
                })
            })
            .collect();
        writers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| fail(&"a writer panicked"))).collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let text = std::fs::read(&file).unwrap_or_else(|e| fail(&e));
    let written = text.iter().filter(|&&b| b == b'\n').count() - before;
    let verified = cage::audit::verify(&text).map_err(|b| fail(&b)).map(|v| v.records).unwrap_or(0);
    let (p50, p99) = percentiles(waits);
    println!(
        "{WRITERS} concurrent writers x {PER_WRITER} records: {written} records in {seconds:.2} s = {:.0} records/s (chain of {verified} verifies)",
        written as f64 / seconds
    );
    println!("  one record under {WRITERS} writers: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let _ = std::fs::remove_dir_all(&dir);
}
