//! `make bench`: what the durable audit write costs. Per record and per command (its synced
//! `command` record and its `exit` record, synced at the next prompt) against the same records
//! sealed but discarded, and records/s
//! with 64 concurrent writers on one file, all from one run. The file lives next to the real
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

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Milliseconds per record, `RECORDS` times.
fn time_records(audit: &Audit, entry: &Entry) -> Vec<f64> {
    (0..RECORDS)
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
    let on_disk = median_ms(time_records(&durable, &entry));
    let nowhere = median_ms(time_records(&discarded, &entry));
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
        median_ms(samples.collect())
    };
    let (command_on_disk, command_nowhere) = (pair(&durable), pair(&discarded));
    println!(
        "audit record, median of {RECORDS}: durable (flock + write + fdatasync) vs sealed and discarded"
    );
    println!("{:<36} {:>10} {:>10} {:>10}", "", "durable ms", "discard ms", "added ms");
    println!("{:<36} {on_disk:>10.3} {nowhere:>10.3} {:>10.3}", "one record", on_disk - nowhere);
    let added = command_on_disk - command_nowhere;
    println!(
        "{:<36} {command_on_disk:>10.3} {command_nowhere:>10.3} {added:>10.3}  ({:.2} of the {TARGET_MS} ms target)",
        "one command (command + exit)",
        added / TARGET_MS
    );
    let before = std::fs::read(&file).map(|t| t.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (config, entry) = (&config, &entry);
            scope.spawn(move || {
                let audit = Audit::to_file(config, fields(writer + 2));
                for _ in 0..PER_WRITER {
                    if let Err(e) = audit.record(entry) {
                        fail(&e);
                    }
                }
            });
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let text = std::fs::read(&file).unwrap_or_else(|e| fail(&e));
    let written = text.iter().filter(|&&b| b == b'\n').count() - before;
    let verified = cage::audit::verify(&text).map_err(|b| fail(&b)).map(|v| v.records).unwrap_or(0);
    println!(
        "{WRITERS} concurrent writers x {PER_WRITER} records: {written} records in {seconds:.2} s = {:.0} records/s (chain of {verified} verifies)",
        written as f64 / seconds
    );
    let _ = std::fs::remove_dir_all(&dir);
}
