//! Root tests of the audit trail as installed: records of real sessions, written before each
//! command runs, refused when they cannot be written, and a chain that verifies under load.

mod support;

use serde_json::Value;
use support::{sandbox, text};

const DIAG: &str = "grant --actions INFRA_DIAG --duration 1h --req REQ-42";
const AUDIT: &str = "/var/log/cage/audit.jsonl";

fn records(jsonl: &str) -> Vec<Value> {
    jsonl.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// The records' `event` (and `decision` for commands), in file order.
fn events(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r["decision"].as_str() {
            Some(decision) => format!("{}:{decision}", r["event"].as_str().unwrap_or("?")),
            None => r["event"].as_str().unwrap_or("?").to_string(),
        })
        .collect()
}

#[test]
fn a_session_is_recorded_in_order_and_the_chain_verifies() {
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         as_operator /usr/local/bin/cage -c 'sudohead -n 1 /var/log/cage-test.log; pwd; sudotail -n 1 /var/log/cage-test.log' >/dev/null\n\
         as_operator /usr/local/bin/cage -c 'sudocat /etc/shadow' 2>/dev/null\n\
         echo '--- verify'; cagectl audit verify; echo \"VERIFY=$?\"\n\
         echo '--- records'; cat {AUDIT}\n"
    ));
    let stdout = text(&out.stdout);
    let (verify, jsonl) = stdout.split_once("--- records\n").expect("records");
    assert!(verify.contains("VERIFY=0"), "{verify} {}", text(&out.stderr));
    let all = records(jsonl);
    assert_eq!(
        events(&all),
        [
            "grant",
            "login",
            "command:allow",
            "exit",
            "command:allow",
            "exit",
            "command:allow",
            "exit",
            "logout",
            "login",
            "command:deny",
            "logout"
        ]
    );
    for record in &all {
        assert_eq!(record["req_auth_id"], "REQ-42");
        assert_eq!(record["host"], "cps-test");
        assert_eq!(record["layer"], "cps");
    }
    let session = &all[1]["session"];
    assert!(all[1..9].iter().all(|r| &r["session"] == session), "one session id per session");
    assert_ne!(&all[9]["session"], session);
    assert_eq!(all[1]["loginid"], "optest");
    assert_eq!(all[2]["argv"], serde_json::json!(["sudohead", "-n", "1", "/var/log/cage-test.log"]));
    assert_eq!(all[2]["rule"], "INFRA_DIAG/cps/file_commands[sudohead]");
    assert_eq!(all[3]["status"], 0);
    assert!(all[3]["duration_ms"].is_u64());
    assert_eq!(all[8]["reason"], "exit");
    assert_eq!(all[10]["argv"], serde_json::json!(["sudocat", "/etc/shadow"]));
    assert!(all[10]["reason"].as_str().is_some_and(|r| r.contains("secrets")), "{}", all[10]);
    let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<u64>>());
}

#[test]
fn editing_the_file_makes_verify_fail_and_name_the_line() {
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         for i in 1 2 3; do as_operator /usr/local/bin/cage -c pwd >/dev/null; done\n\
         sed -i '4s/\"pwd\"/\"pwe\"/' {AUDIT}\n\
         cagectl audit verify; echo \"VERIFY=$?\"\n"
    ));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("BROKEN at line 4 (seq 4)"), "{stdout} {}", text(&out.stderr));
    assert!(stdout.contains("VERIFY=1"), "{stdout}");
}

#[test]
fn a_command_whose_record_cannot_be_written_does_not_run_and_the_session_survives() {
    // The audit directory is its own mount: made read-only while the session is open, then
    // writable again.
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         mount -t tmpfs -o mode=0700 cage-audit /var/log/cage\n\
         {{ sleep 1.5; mount -o remount,ro /var/log/cage\n\
            echo 'sudohead -n 1 /var/log/cage-test.log > /u01/marker'; sleep 1.5\n\
            mount -o remount,rw /var/log/cage; echo 'sudohead -n 1 /var/log/cage-test.log > /u01/after'; sleep 1.5\n\
            echo exit; }} | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null > /tmp/out 2>&1\n\
         echo \"SESSION=$?\"; cat /tmp/out; echo '--- files'; ls /u01; cat /u01/after\n\
         echo '--- verify'; cagectl audit verify\n"
    ));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cage: denied: audit unavailable"), "{stdout} {}", text(&out.stderr));
    let (_, files) = stdout.split_once("--- files\n").expect("files");
    let (files, verify) = files.split_once("--- verify\n").expect("verify");
    assert!(!files.contains("marker"), "the refused command ran: {files}");
    assert!(files.contains("after\nfirst line\n"), "the session went on working: {files}");
    assert!(verify.contains(": ok, "), "{verify}");
}

#[test]
fn fifty_concurrent_sessions_of_a_hundred_commands_keep_one_chain() {
    let line = vec!["sudohead -c 1 /var/log/cage-test.log"; 100].join("; ");
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         for i in $(seq 50); do as_operator /usr/local/bin/cage -c '{line}' >/dev/null & done; wait\n\
         echo '--- verify'; cagectl audit verify; echo \"VERIFY=$?\"\n\
         echo '--- records'; cat {AUDIT}\n"
    ));
    let stdout = text(&out.stdout);
    let (verify, jsonl) = stdout.split_once("--- records\n").expect("records");
    assert!(verify.contains("VERIFY=0"), "{verify} {}", text(&out.stderr));
    let all = records(jsonl);
    let count = |event: &str| all.iter().filter(|r| r["event"] == event).count();
    assert_eq!((count("login"), count("command"), count("exit"), count("logout")), (50, 5000, 5000, 50));
    let mut per_session = std::collections::BTreeMap::<String, Vec<String>>::new();
    for r in &all[1..] {
        per_session
            .entry(r["session"].as_str().expect("session").into())
            .or_default()
            .push(events(std::slice::from_ref(r))[0].clone());
    }
    assert_eq!(per_session.len(), 50);
    for (session, events) in per_session {
        let mut expected = vec!["login".to_string()];
        expected
            .extend(std::iter::repeat_n(["command:allow".to_string(), "exit".to_string()], 100).flatten());
        expected.push("logout".into());
        assert_eq!(events, expected, "session {session}");
    }
}

#[test]
fn on_a_full_disk_nothing_runs_without_its_record() {
    // One page of tmpfs fills after a few records: from then on every login or command is
    // refused, and each marker file exists exactly when its command record does.
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         mount -t tmpfs -o size=4k,mode=0700 cage-audit /var/log/cage\n\
         for n in $(seq 12); do\n\
           as_operator /usr/local/bin/cage -c \"sudohead -n 1 /var/log/cage-test.log > /u01/m$n\" >/dev/null 2>>/tmp/err\n\
           echo \"$n=$?\"\n\
         done\n\
         echo '--- err'; sort -u /tmp/err; echo '--- files'; ls /u01; echo '--- records'; cat {AUDIT}\n"
    ));
    let stdout = text(&out.stdout);
    let (statuses, rest) = stdout.split_once("--- err\n").expect("err");
    let (errors, rest) = rest.split_once("--- files\n").expect("files");
    let (files, jsonl) = rest.split_once("--- records\n").expect("records");
    assert!(statuses.contains("=0"), "some commands ran: {statuses}");
    assert!(statuses.contains("=1") || statuses.contains("=126"), "the disk filled up: {statuses}");
    assert!(errors.lines().all(|l| l.contains("audit unavailable")), "{errors}");
    let mut recorded: Vec<String> = records(jsonl)
        .iter()
        .filter(|r| r["event"] == "command")
        .filter_map(|r| r["title"].as_str().and_then(|t| t.rsplit_once("/u01/")).map(|(_, m)| m.to_string()))
        .collect();
    let mut ran: Vec<String> = files.lines().map(str::to_string).collect();
    ran.sort();
    recorded.sort();
    assert_eq!(ran, recorded, "markers vs command records");
    assert!(jsonl.ends_with('\n'), "no torn record");
}

#[test]
fn rotation_keeps_one_chain_across_files_while_sessions_write() {
    let line = vec!["sudohead -c 1 /var/log/cage-test.log"; 100].join("; ");
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         as_operator /usr/local/bin/cage -c pwd >/dev/null\n\
         as_operator /usr/local/bin/cagectl audit rotate; echo \"OPERATOR=$?\"\n\
         cagectl audit rotate; echo \"ROTATE=$?\"\n\
         for i in 1 2 3 4; do for j in 1 2 3 4 5; do as_operator /usr/local/bin/cage -c '{line}' >/dev/null; done & done\n\
         sleep 1.1; cagectl audit rotate >/dev/null; sleep 1.1; cagectl audit rotate >/dev/null; wait\n\
         old=$(ls {AUDIT}.* | sort)\n\
         echo '--- verify'; cagectl audit verify $old {AUDIT}; echo \"VERIFY=$?\"\n\
         echo '--- alone'; cagectl audit verify {AUDIT}; echo \"ALONE=$?\"\n\
         echo '--- swapped'; cagectl audit verify {AUDIT} $old; echo \"SWAPPED=$?\"\n\
         echo '--- records'; cat $old {AUDIT}\n"
    ));
    let stdout = text(&out.stdout);
    let section = |name: &str| {
        let (_, rest) = stdout.split_once(&format!("--- {name}\n")).expect(name);
        rest.split("\n--- ").next().expect("section").to_string()
    };
    let stderr = text(&out.stderr);
    assert!(stdout.contains("OPERATOR=1"), "{stdout} {stderr}");
    assert!(stderr.contains("cagectl: audit rotate: only root rotates the audit trail"), "{stderr}");
    let first = stdout.lines().find(|l| l.starts_with("rotated to ")).expect("rotated");
    assert!(first.starts_with("rotated to /var/log/cage/audit.jsonl.20"), "{first}");
    assert!(first.ends_with("; /var/log/cage/audit.jsonl goes on from seq 6"), "{first}");
    assert!(stdout.contains("ROTATE=0"), "{stdout}");
    let verify = section("verify");
    assert!(verify.contains("VERIFY=0"), "{verify} {stderr}");
    assert_eq!(verify.matches(": ok, ").count(), 4, "three dated files and the live one: {verify}");
    let alone = section("alone");
    assert!(
        alone.contains("ALONE=0") && alone.contains(": ok, ") && alone.contains("continues seq "),
        "{alone}"
    );
    let swapped = section("swapped");
    assert!(
        swapped.contains("BROKEN at line 1: does not continue") && swapped.contains("SWAPPED=1"),
        "{swapped}"
    );
    let all = records(&section("records"));
    let rotations: Vec<&Value> = all.iter().filter(|r| r["event"] == "rotate").collect();
    assert_eq!(rotations.len(), 3);
    assert!(
        rotations[0]["prev_file"].as_str().is_some_and(|f| f.starts_with("audit.jsonl.20")),
        "{}",
        rotations[0]
    );
    assert_eq!(rotations[0]["loginid"], "root");
    let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<u64>>(), "one sequence across the files");
    let commands = all.iter().filter(|r| r["event"] == "command").count();
    assert_eq!(commands, 2001, "every command recorded once");
    // A rotation while sessions wrote: some session has records on both sides of it.
    let at = all.iter().position(|r| r["event"] == "rotate" && r["seq"] != rotations[0]["seq"]).expect("2nd");
    let before: std::collections::BTreeSet<&str> =
        all[..at].iter().filter_map(|r| r["session"].as_str()).collect();
    let spans = all[at + 1..].iter().any(|r| r["session"].as_str().is_some_and(|s| before.contains(s)));
    assert!(spans, "no session spans the rotation");
}

#[test]
fn programs_run_inside_a_command_are_recorded_and_blacklisted_ones_refused() {
    // INFRA_CPS_ONLY lists /root/blackout.sh and blacklists dd; the sandbox gets its own /root.
    // The jail masks /usr/bin/dd, so a shell never even tries it: the script tries a copy.
    let out = sandbox(&format!(
        "grant --actions INFRA_CPS_ONLY --duration 1h --req REQ-EXEC\n\
         mount -t tmpfs -o mode=0700 cage-test-root /root\n\
         printf '#!/bin/sh\\nid -u\\ncat /etc/hostname\\ncp /bin/true /tmp/dd; /tmp/dd && echo DD-RAN\\necho done\\n' > /root/blackout.sh\n\
         chmod 0755 /root/blackout.sh\nset +e\n\
         as_operator /usr/local/bin/cage -c 'rootexec /root/blackout.sh'; echo \"EXIT=$?\"\n\
         echo '--- verify'; cagectl audit verify; echo '--- records'; cat {AUDIT}\n"
    ));
    let stdout = text(&out.stdout);
    let (ran, rest) = stdout.split_once("--- verify\n").expect("verify");
    let (verify, jsonl) = rest.split_once("--- records\n").expect("records");
    assert!(ran.starts_with("0\n") && ran.contains("done\nEXIT=0"), "{ran} {}", text(&out.stderr));
    assert!(!ran.contains("DD-RAN"), "dd ran: {ran}");
    assert!(verify.contains(": ok, "), "{verify}");
    let execs: Vec<Value> = records(jsonl).into_iter().filter(|r| r["event"] == "exec").collect();
    let shown: Vec<String> =
        execs.iter().map(|r| format!("{} {}", r["decision"].as_str().unwrap_or("?"), r["argv"][0])).collect();
    assert_eq!(shown, ["allow \"id\"", "allow \"cat\"", "allow \"cp\"", "deny \"/tmp/dd\""], "{execs:?}");
    assert_eq!(execs[1]["argv"], serde_json::json!(["cat", "/etc/hostname"]));
    assert_eq!(execs[3]["rule"], "INFRA_CPS_ONLY/cps/blacklist[dd]");
    assert!(execs
        .iter()
        .all(|r| r["title"] == "rootexec /root/blackout.sh" && r["req_auth_id"] == "REQ-EXEC"));
}
