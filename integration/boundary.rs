//! Root tests: the file rules hold on every path a file command takes on disk. A walk
//! (`sudols -R`, `sudocp -r`, `sudorm -r`) enters no secret, denied directory or other mount
//! and says so; a relative link beneath a rule is judged by where it leads; and every refusal
//! found while acting is a denial: exit 126, `cage: denied: ...`, and a `file` record with
//! `decision: deny`. In the sandbox (integration/session/sandbox.sh), as INFRA_DIAG on cps
//! (`/var/log/` read-only, `/var/log/cage/` denied and secret, `/u01/` read-write).

mod support;

use serde_json::Value;
use support::{sandbox, text};

const SETUP: &str = r#"
set +e
grant --actions INFRA_DIAG --duration 1h --req REQ-B
printf 'trail\n' > /var/log/cage/audit-copy.jsonl
install -d /var/log/app /var/log/app/sub /var/log/deny-here
printf 'app line\n' > /var/log/app/sub/app.log
mount -t tmpfs cage-test-other /var/log/app/mnt 2>/dev/null || { mkdir /var/log/app/mnt; mount -t tmpfs cage-test-other /var/log/app/mnt; }
printf 'on another mount\n' > /var/log/app/mnt/other.log
ln -s ../cage/audit-copy.jsonl /var/log/app/to-trail
ln -s /etc/shadow /u01/link-to-shadow
ln -s /nonexistent/dangling /u01/dangling
install -d /u01/realdir && ln -s realdir /u01/dirlink && printf 'kept\n' > /u01/realdir/kept
ln -s /etc /u01/link-to-etc
mkfifo /u01/fifo
run() { as_operator /usr/local/bin/cage -c "$1"; echo "EXIT=$?"; }
"#;

/// Runs `lines` (one `run LINE` each), then prints the trail's `file` records.
fn session(lines: &[&str]) -> (String, String, Vec<Value>) {
    let runs: Vec<String> = lines.iter().map(|l| format!("echo '--- {l}'; run '{l}'")).collect();
    let body = format!(
        "{SETUP}\n{}\necho \"KEPT=$(cat /u01/realdir/kept)\"\necho '--- trail'; grep '\"event\":\"file\"' /var/log/cage/audit.jsonl\n",
        runs.join("\n")
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let (runs, trail) = stdout.split_once("--- trail\n").unwrap_or_else(|| panic!("{stdout}"));
    let records = trail.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (runs.to_string(), text(&out.stderr), records)
}

/// The output of the run of `line` (up to the next run).
fn run_of<'a>(runs: &'a str, line: &str) -> &'a str {
    let start = runs.find(&format!("--- {line}\n")).unwrap_or_else(|| panic!("no run of {line}: {runs}"));
    let rest = &runs[start + line.len() + 5..];
    &rest[..rest.find("\n--- ").map_or(rest.len(), |i| i + 1)]
}

fn denial_of<'a>(records: &'a [Value], path: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["decision"] == "deny" && r["path"] == path)
        .unwrap_or_else(|| panic!("no denial recorded for {path}: {records:?}"))
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn recursion_skips_secrets_denied_directories_and_other_mounts_and_says_so() {
    let (runs, stderr, _) = session(&["sudols -R /var/log"]);
    let listed = run_of(&runs, "sudols -R /var/log");
    assert!(listed.contains("/var/log/app/sub:\napp.log"), "the walk goes on elsewhere: {listed}");
    assert!(!listed.contains("audit-copy.jsonl"), "the trail's directory was listed: {listed}");
    assert!(!listed.contains("other.log"), "another mount was listed: {listed}");
    assert!(listed.contains("EXIT=0"), "{listed}");
    assert!(stderr.contains("sudols: /var/log/cage: not listed: holds secrets"), "{stderr}");
    assert!(stderr.contains("sudols: /var/log/app/mnt: not listed: another mount"), "{stderr}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_relative_link_into_a_secret_is_denied_where_it_leads() {
    let lines = [
        "sudocat /var/log/app/to-trail",
        "sudohead /var/log/app/to-trail",
        "sudotail /var/log/app/to-trail",
        "sudocp /var/log/app/to-trail /u01/",
    ];
    let (runs, stderr, records) = session(&lines);
    for line in lines {
        let out = run_of(&runs, line);
        assert!(out.contains("EXIT=126") && !out.contains("trail\n"), "{line}: {out}");
    }
    let command = |l: &str| l.split(' ').next().unwrap_or_default().to_string();
    for line in lines {
        let expected = format!(
            "cage: denied: {}: /var/log/app/to-trail: leads to /var/log/cage/audit-copy.jsonl, which holds secrets",
            command(line)
        );
        assert!(stderr.contains(&expected), "{expected} in {stderr}");
    }
    let denial = denial_of(&records, "/var/log/app/to-trail");
    assert!(denial["reason"].as_str().is_some_and(|r| r.contains("holds secrets")), "{denial}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn refusals_found_while_acting_exit_126_and_are_recorded_as_denials() {
    let lines = ["sudocat /u01/link-to-shadow", "sudocat /u01/fifo", "sudocp -r /var/log/app /u01/"];
    let (runs, stderr, records) = session(&lines);
    for line in lines {
        assert!(run_of(&runs, line).contains("EXIT=126"), "{line}: {runs}");
    }
    assert!(
        stderr.contains("cage: denied: sudocat: /u01/link-to-shadow: leaves the allowed directory"),
        "{stderr}"
    );
    assert!(stderr.contains("cage: denied: sudocat: /u01/fifo: not a regular file"), "{stderr}");
    denial_of(&records, "/u01/link-to-shadow");
    denial_of(&records, "/u01/fifo");
    let copy = run_of(&runs, "sudocp -r /var/log/app /u01/");
    assert!(copy.contains("EXIT=126"), "{copy}");
    assert!(
        stderr.contains("cage: denied: sudocp: not copied: ") && stderr.contains("another mount"),
        "{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("sudocat:")),
        "no refusal is shown as a plain failure: {stderr}"
    );
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn links_met_while_editing_copying_and_removing_are_denials() {
    let lines = [
        "sudocp /var/log/app/sub/app.log /u01/dangling",
        "sudocp /var/log/app/sub/app.log /u01/link-to-etc/",
        "sudorm -r /u01/dirlink/",
    ];
    let (runs, stderr, records) = session(&lines);
    for line in lines {
        let out = run_of(&runs, line);
        assert!(out.contains("EXIT=126"), "{line}: {out} {stderr}");
    }
    for line in lines {
        let command = line.split(' ').next().unwrap_or_default();
        assert!(stderr.contains(&format!("cage: denied: {command}")), "{line}: {stderr}");
    }
    assert!(
        records.iter().filter(|r| r["decision"] == "deny").count() >= lines.len(),
        "one denial per line: {records:?}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("sudo")),
        "no refusal is shown as a plain failure: {stderr}"
    );
    assert_eq!(fs_kept(&runs), "kept", "the directory behind `dirlink/` is untouched");
}

fn fs_kept(runs: &str) -> &str {
    runs.lines().find_map(|l| l.strip_prefix("KEPT=")).unwrap_or("")
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudovi_of_a_link_out_of_its_rule_is_a_denial() {
    // sudovi needs a terminal: script(1) gives the session one.
    let out = sandbox(&format!(
        "{SETUP}\nas_operator script -qec \"/usr/local/bin/cage -c 'sudovi /u01/link-to-shadow'\" /dev/null\n\
         echo \"EXIT=$?\"\ngrep '\"event\":\"file\"' /var/log/cage/audit.jsonl\n"
    ));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("EXIT=126"), "{stdout} {}", text(&out.stderr));
    assert!(
        stdout.contains("cage: denied: sudovi: /u01/link-to-shadow: is reached through a symlink"),
        "{stdout}"
    );
    let records: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let denial = denial_of(&records, "/u01/link-to-shadow");
    assert_eq!(denial["operation"], "edit", "{denial}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudorm_does_not_remove_into_a_denied_tree() {
    let body = format!(
        "{SETUP}\ncat > /etc/cage/policies/TEST_RM.toml <<'P'\n[layer.cps]\nfile_commands = [\"sudorm\"]\n\
         [layer.cps.files]\nread_write = [\"/u01/\"]\ndeny = [\"/u01/tree/keep/\"]\nP\n\
         grant --actions TEST_RM --duration 1h --req REQ-RM\n\
         install -d /u01/tree/keep; echo kept > /u01/tree/keep/file; echo gone > /u01/tree/a\n\
         run 'sudorm -r /u01/tree' 2>&1; ls /u01/tree/keep\n"
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("EXIT=126"), "{stdout}");
    assert!(stdout.contains("cage: denied: sudorm"), "{stdout}");
    assert!(stdout.contains("\nfile\n") || stdout.ends_with("file\n"), "the denied tree is intact: {stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jailed_commands_record_names_the_landlock_abi_in_force() {
    let out = sandbox(&format!(
        "{SETUP}\nrun 'du -s /u01' >/dev/null\ngrep '\"event\":\"command\"' /var/log/cage/audit.jsonl\n"
    ));
    let record: Value = serde_json::from_str(text(&out.stdout).trim()).expect("one command record");
    assert_eq!(record["landlock_abi"], 6, "{record}");
}
