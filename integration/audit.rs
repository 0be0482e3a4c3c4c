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
/// A test's output split at its `--- verify` and `--- records` markers: what came before,
/// what `cagectl audit verify` said, and the records.
fn sections(stdout: &str) -> (&str, &str, &str) {
    let (before, rest) = stdout.split_once("--- verify\n").expect("verify");
    let (verify, jsonl) = rest.split_once("--- records\n").expect("records");
    (before, verify, jsonl)
}

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
#[ignore = "root test: `make test` runs it as root"]
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
            "file",
            "exit",
            "command:allow",
            "exit",
            "command:allow",
            "file",
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
    assert!(all[1..11].iter().all(|r| &r["session"] == session), "one session id per session");
    assert_ne!(&all[11]["session"], session);
    assert_eq!(all[1]["loginid"], "optest");
    assert_eq!(all[2]["argv"], serde_json::json!(["sudohead", "-n", "1", "/var/log/cage-test.log"]));
    assert_eq!(all[2]["rule"], "INFRA_DIAG/cps/file_commands[sudohead]");
    assert_eq!((&all[3]["operation"], &all[3]["bytes"]), (&"read".into(), &11.into()));
    assert_eq!(all[4]["status"], 0);
    assert!(all[4]["duration_ms"].is_u64());
    assert_eq!(all[10]["reason"], "exit");
    assert_eq!(all[12]["argv"], serde_json::json!(["sudocat", "/etc/shadow"]));
    assert!(all[12]["reason"].as_str().is_some_and(|r| r.contains("secrets")), "{}", all[12]);
    let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=14).collect::<Vec<u64>>());
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
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
#[ignore = "root test: `make test` runs it as root"]
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
    assert!(
        stdout.contains("cage: error: recording the command: audit unavailable ("),
        "{stdout} {}",
        text(&out.stderr)
    );
    assert!(!stdout.contains("denied"), "a trail that fails is not a refusal: {stdout}");
    let (_, files) = stdout.split_once("--- files\n").expect("files");
    let (files, verify) = files.split_once("--- verify\n").expect("verify");
    assert!(!files.contains("marker"), "the refused command ran: {files}");
    assert!(files.contains("after\nfirst line\n"), "the session went on working: {files}");
    assert!(verify.contains(": ok, "), "{verify}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
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
    assert_eq!(
        (count("login"), count("command"), count("file"), count("exit"), count("logout")),
        (50, 5000, 5000, 5000, 50)
    );
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
            .extend(std::iter::repeat_n(["command:allow", "file", "exit"].map(String::from), 100).flatten());
        expected.push("logout".into());
        assert_eq!(events, expected, "session {session}");
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
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
    assert!(statuses.contains("=1") || statuses.contains("=125"), "the disk filled up: {statuses}");
    assert!(!statuses.contains("=126"), "a full trail is not a refusal: {statuses}");
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
#[ignore = "root test: `make test` runs it as root"]
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
#[ignore = "root test: `make test` runs it as root"]
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
    let (ran, verify, jsonl) = sections(&stdout);
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

/// The `file` records in `all`, in order.
fn file_records(all: &[Value]) -> Vec<&Value> {
    all.iter().filter(|r| r["event"] == "file").collect()
}

/// `sha256sum` of what `command` prints, computed in the sandbox, as `NAME=hash`.
fn sha(name: &str, command: &str) -> String {
    format!("echo \"{name}=$({command} | sha256sum | cut -d' ' -f1)\"\n")
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn file_commands_and_redirections_record_what_they_did_with_sha256_before_and_after() {
    let out = sandbox(&format!(
        "{DIAG}\nset +e\n\
         printf 'old\\n' > /u01/over; printf 'gone\\n' > /u01/gone; printf 'was here\\n' > /u01/out\n\
         mkdir -p /u01/tree/sub; echo a > /u01/tree/a; echo b > /u01/tree/sub/b; ln -s /etc/passwd /u01/tree/link\n\
         {old}{gone}{was}{log}{a}{b}\
         echo \"SIZE=$(stat -c %s /var/log/cage-test.log)\"\n\
         as_operator /usr/local/bin/cage -c 'sudocp /var/log/cage-test.log /u01/over; sudocp /var/log/cage-test.log /u01/new'\n\
         as_operator /usr/local/bin/cage -c 'sudorm /u01/gone; sudorm -r /u01/tree'\n\
         as_operator /usr/local/bin/cage -c 'sudocat /var/log/cage-test.log /u01/over' >/dev/null\n\
         as_operator /usr/local/bin/cage -c 'sudohead -n 1 /var/log/cage-test.log > /u01/out; sudotail -n 1 /var/log/cage-test.log >> /u01/out; sudols /u01 < /u01/new' >/dev/null\n\
         {out}\
         echo '--- verify'; cagectl audit verify; echo \"VERIFY=$?\"\n\
         echo '--- records'; cat {AUDIT}\n",
        old = sha("OLD", "printf 'old\\n'"),
        gone = sha("GONE", "cat /u01/gone"),
        was = sha("WAS", "cat /u01/out"),
        log = sha("LOG", "cat /var/log/cage-test.log"),
        a = sha("A", "cat /u01/tree/a"),
        b = sha("B", "cat /u01/tree/sub/b"),
        out = sha("OUT", "head -n 1 /var/log/cage-test.log"),
    ));
    let stdout = text(&out.stdout);
    let (values, verify, jsonl) = sections(&stdout);
    assert!(verify.contains("VERIFY=0"), "{verify} {}", text(&out.stderr));
    let hash = |key: &str| Value::from(support::value(values, key));
    let size: u64 = support::value(values, "SIZE").parse().expect("size");
    let all = records(jsonl);
    let files = file_records(&all);
    let named: Vec<String> = files
        .iter()
        .map(|r| format!("{} {}", r["operation"].as_str().unwrap_or("?"), r["path"].as_str().unwrap_or("?")))
        .collect();
    let mut tree = named[3..8].to_vec();
    tree.sort();
    assert_eq!(
        tree,
        [
            "remove /u01/tree",
            "remove /u01/tree/a",
            "remove /u01/tree/link",
            "remove /u01/tree/sub",
            "remove /u01/tree/sub/b"
        ],
        "{jsonl}"
    );
    assert_eq!(named[7], "remove /u01/tree", "a directory goes after what it held");
    assert_eq!(
        [&named[..3], &named[8..]].concat(),
        [
            "copy /u01/over",
            "copy /u01/new",
            "remove /u01/gone",
            "read /var/log/cage-test.log",
            "read /u01/over",
            "write /u01/out",
            "read /var/log/cage-test.log",
            "append /u01/out",
            "read /var/log/cage-test.log",
            "read /u01/new",
            "list /u01",
        ],
        "{jsonl}"
    );
    let find = |name: &str| files[named.iter().position(|n| n == name).unwrap_or_else(|| panic!("{name}"))];
    let (over, new) = (find("copy /u01/over"), find("copy /u01/new"));
    // The copy over an existing file names what it replaced; a new one had nothing before.
    assert_eq!(
        (&over["sha256_before"], &over["sha256_after"], &over["bytes"]),
        (&hash("OLD"), &hash("LOG"), &Value::from(size))
    );
    assert_eq!(over["source"], "/var/log/cage-test.log");
    assert_eq!((&new["sha256_before"], &new["sha256_after"]), (&Value::Null, &hash("LOG")));
    // A removal names the content it removed; a symlink or a directory says it was one.
    let gone = find("remove /u01/gone");
    assert_eq!(
        (&gone["sha256_before"], &gone["sha256_after"], &gone["bytes"]),
        (&hash("GONE"), &Value::Null, &5.into())
    );
    assert_eq!(find("remove /u01/tree/a")["sha256_before"], hash("A"));
    assert_eq!(find("remove /u01/tree/sub/b")["sha256_before"], hash("B"));
    let (link, sub) = (find("remove /u01/tree/link"), find("remove /u01/tree/sub"));
    assert_eq!(
        (&link["kind"], &link["sha256_before"], &sub["kind"]),
        (&"symlink".into(), &Value::Null, &"directory".into())
    );
    // A read names the bytes sent and no hash.
    let cat = &files[8];
    assert_eq!((&cat["bytes"], &files[9]["bytes"]), (&Value::from(size), &Value::from(size)));
    assert!(cat.get("sha256_before").is_none(), "{cat}");
    // Redirections are recorded when opened, before the command wrote: what they replace.
    let (write, head, append, tail) = (files[10], files[11], files[12], files[13]);
    assert_eq!(
        (&write["sha256_before"], &write["sha256_after"], &write["bytes"]),
        (&hash("WAS"), &Value::Null, &Value::Null)
    );
    assert_eq!(append["sha256_before"], hash("OUT"), "the append comes after the head's write: {append}");
    assert_eq!((&head["bytes"], &tail["bytes"]), (&Value::from(11), &Value::from(12)));
    let input = files[14];
    assert!(input["bytes"].is_null() && input.get("sha256_before").is_none(), "{input}");
    assert!(files[15]["bytes"].as_u64().is_some_and(|n| n > 0), "{}", files[15]);
    // A file command's records come after its command record and before its exit; a
    // redirection's before the command's own.
    let order = events(&all);
    let at = |path: &str, op: &str| {
        all.iter().position(|r| r["path"] == path && r["operation"] == op).expect(path)
    };
    let copy = at("/u01/over", "copy");
    assert_eq!(order[copy - 1..copy + 2], ["command:allow", "file", "exit"], "{order:?}");
    let redirect = at("/u01/out", "write");
    assert_eq!(order[redirect - 1..redirect + 3], ["command:allow", "file", "file", "exit"], "{order:?}");
    assert!(all.iter().all(|r| r["event"] != "file" || r["cwd"].is_string()), "{jsonl}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudovi_records_its_edit_and_sudotail_f_its_read_when_ctrl_c_ends_it() {
    let drive = |steps: &str, file: &str| {
        format!(
            "python3 {root}/integration/files/drive.py {steps} -- setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'sudovi {file}' >/dev/null 2>&1\n",
            root = env!("CARGO_MANIFEST_DIR"),
        )
    };
    let out = sandbox(&format!(
        "{DIAG}\nset +e\nexport TERM=xterm\n\
         printf 'hello\\nworld\\n' > /u01/notes.txt; cp /u01/notes.txt /u01/same.txt\n\
         {before}\
         {edit}{look}\
         {after}\
         set -m\n\
         setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'sudotail -n 1 -f /var/log/cage-test.log' > /tmp/tail & t=$!\n\
         sleep 0.7; echo third >> /var/log/cage-test.log; sleep 0.5; kill -INT $t; timeout 10 tail --pid=$t -f /dev/null; wait $t; echo \"TAIL=$?\"\n\
         echo '--- verify'; cagectl audit verify; echo \"VERIFY=$?\"\n\
         echo '--- records'; cat {AUDIT}\n",
        before = sha("BEFORE", "cat /u01/notes.txt"),
        edit = drive("'ggOadded\\x1b' ':wq\\r'", "/u01/notes.txt"),
        look = drive("':q\\r'", "/u01/same.txt"),
        after = sha("AFTER", "cat /u01/notes.txt"),
    ));
    let stdout = text(&out.stdout);
    let (values, verify, jsonl) = sections(&stdout);
    assert!(verify.contains("VERIFY=0"), "{verify} {}", text(&out.stderr));
    let all = records(jsonl);
    let files = file_records(&all);
    assert_eq!(files.len(), 3, "{jsonl}");
    let edit = files[0];
    assert_eq!(
        (&edit["operation"], &edit["path"], &edit["bytes"]),
        (&"edit".into(), &"/u01/notes.txt".into(), &18.into())
    );
    let hash = |key: &str| Value::from(support::value(values, key));
    assert_eq!((&edit["sha256_before"], &edit["sha256_after"]), (&hash("BEFORE"), &hash("AFTER")));
    assert_ne!(hash("BEFORE"), hash("AFTER"));
    // Quitting without a change wrote nothing, but the operator was shown the file.
    assert_eq!(
        (&files[1]["operation"], &files[1]["path"], &files[1]["bytes"]),
        (&"read".into(), &"/u01/same.txt".into(), &12.into())
    );
    // sudotail -f: the last line, then what was appended, recorded when Ctrl-C ended it.
    let tail = files[2];
    assert_eq!(
        (&tail["operation"], &tail["bytes"]),
        (&"read".into(), &Value::from("second line\nthird\n".len()))
    );
    let at = all.iter().position(|r| r == tail).expect("tail");
    assert_eq!(
        (&all[at + 1]["event"], &all[at + 1]["signal"]),
        (&"exit".into(), &2.into()),
        "it still ends by Ctrl-C"
    );
    assert!(values.contains("TAIL=130"), "{values}");
}

/// A profile that records sessions (`MODE`: input or io), with INFRA_DIAG's rules.
fn recorded(mode: &str) -> String {
    format!(
        "cat > /etc/cage/policies/TEST_REC.toml <<'P'\ninherits = [\"INFRA_DIAG\"]\nrecord = \"{mode}\"\n[layer.cps]\nP\n\
         grant --actions TEST_REC --duration 1h --req REQ-REC\nset +e\n"
    )
}

/// Prints the session's cast (one file expected), its digest, size and mode, what
/// `asciinema cat` plays from it (on a terminal, which it needs), and the audit records.
const SHOW_CAST: &str = "cast=$(ls /var/log/cage/sessions/*.cast)\n\
    echo '--- cast'; cat \"$cast\"\n\
    echo '--- stat'; sha256sum \"$cast\" | cut -d' ' -f1; stat -c '%s %a %U:%G' \"$cast\"\n\
    echo '--- played'; script -qec \"asciinema cat $cast\" /dev/null < /dev/null | tr -d '\\r'\n\
    echo '--- records'; cat /var/log/cage/audit.jsonl\n";

struct Cast {
    header: Value,
    events: Vec<Value>,
    sha256: String,
    stat: String,
    played: String,
    records: Vec<Value>,
}

fn cast(stdout: &str) -> Cast {
    let after = |marker: &str| stdout.split_once(marker).unwrap_or_else(|| panic!("{marker}: {stdout}")).1;
    let cast = after("--- cast\n").split("--- stat\n").next().expect("cast");
    let stat = after("--- stat\n").split("--- played\n").next().expect("stat");
    let played = after("--- played\n").split("--- records\n").next().expect("played");
    let mut lines =
        cast.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    let header = lines.next().expect("a header");
    let (sha256, stat) = stat.split_once('\n').expect("digest");
    Cast {
        header,
        events: lines.collect(),
        sha256: sha256.to_string(),
        stat: stat.trim().to_string(),
        played: played.to_string(),
        records: records(after("--- records\n")),
    }
}

/// The concatenated text of the cast's events of `kind` ("i" or "o").
fn typed(cast: &Cast, kind: &str) -> String {
    cast.events.iter().filter(|e| e[1] == kind).filter_map(|e| e[2].as_str()).collect()
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_recorded_command_leaves_a_playable_cast_whose_digest_the_logout_record_holds() {
    let out = sandbox(&format!(
        "{}echo typed | as_operator /usr/local/bin/cage -c 'sudohead -n 1 /var/log/cage-test.log; pwd'\n\
         echo \"EXIT=$?\"\n\
         c=$(ls /var/log/cage/sessions/*.cast); cp \"$c\" /tmp/kept\n\
         echo >> \"$c\"; cagectl audit verify; echo \"EDITED=$?\"\n\
         cp /tmp/kept \"$c\"; cagectl audit verify >/dev/null; echo \"KEPT=$?\"\n\
         {SHOW_CAST}",
        recorded("io")
    ));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("first line\n/home/optest\nEXIT=0\n"), "{stdout} {}", text(&out.stderr));
    let verify = stdout.split_once("EXIT=0\n").expect("exit").1.split("--- cast").next().expect("verify");
    assert!(verify.contains("EDITED=1\n") && verify.contains("KEPT=0\n"), "{verify}");
    assert!(
        verify.contains(".cast does not match the digest of its logout record (edited)"),
        "verify names the edited recording: {verify}"
    );
    let cast = cast(&stdout);
    assert_eq!(cast.header["version"], 2);
    assert_eq!(typed(&cast, "i"), "typed\n");
    assert_eq!(typed(&cast, "o"), "first line\n/home/optest\n");
    assert_eq!(cast.played, "first line\n/home/optest\n", "asciinema plays what the operator saw");
    let times: Vec<f64> = cast.events.iter().filter_map(|e| e[0].as_f64()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let login = cast.records.iter().find(|r| r["event"] == "login").expect("login");
    let logout = cast.records.iter().find(|r| r["event"] == "logout").expect("logout");
    let path = format!("/var/log/cage/sessions/{}.cast", login["session"].as_str().expect("session"));
    assert_eq!(login["recording"], serde_json::json!({ "mode": "io", "path": path }));
    assert_eq!(logout["recording"]["sha256"].as_str(), Some(cast.sha256.as_str()));
    let size = cast.stat.split(' ').next().expect("size");
    assert_eq!(logout["recording"]["bytes"].to_string(), size);
    assert!(cast.stat.ends_with(" 600 root:root"), "{}", cast.stat);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn an_interactive_session_is_recorded_keys_and_screen_through_its_own_terminal() {
    for mode in ["io", "input"] {
        let out = sandbox(&format!(
            "{}{{ sleep 1; printf 'pwd\\r'; sleep 1; printf 'sudohead -n 1 /var/log/cage-test.log\\r'; sleep 1; \
               printf 'exit\\r'; sleep 1; }} \
             | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage; echo STATUS=$?' /dev/null\n\
             {SHOW_CAST}",
            recorded(mode)
        ));
        let stdout = text(&out.stdout);
        let (screen, _) = stdout.split_once("--- cast\n").expect("cast");
        assert!(screen.contains("\nfirst line\r") && screen.contains("STATUS=0"), "{mode}: {screen}");
        let cast = cast(&stdout);
        let keys = typed(&cast, "i");
        assert!(keys.contains("pwd\r") && keys.ends_with("exit\r"), "{mode}: {keys:?}");
        let shown = typed(&cast, "o");
        match mode {
            "io" => {
                assert!(shown.contains("optest@cps-test:cps /home/optest"), "the prompt: {shown:?}");
                assert!(shown.contains("\nfirst line\r\n"), "the output, as a terminal shows it: {shown:?}");
            }
            _ => assert_eq!(shown, "", "input mode keeps only the keys"),
        }
        let logout = cast.records.iter().find(|r| r["event"] == "logout").expect("logout");
        assert_eq!(logout["recording"]["sha256"].as_str(), Some(cast.sha256.as_str()), "{mode}");
    }
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_session_that_cannot_be_recorded_does_not_start() {
    let out = sandbox(&format!(
        "{}install -d -m 0777 /var/log/cage/sessions\n\
         as_operator /usr/local/bin/cage -c 'sudohead -n 1 /var/log/cage-test.log'; echo \"EXIT=$?\"\n\
         echo '--- records'; cat /var/log/cage/audit.jsonl\n",
        recorded("io")
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.starts_with("EXIT=1\n"), "{stdout}");
    assert_eq!(
        stderr,
        "cage: login refused: session recording: /var/log/cage/sessions must be a directory of root's \
         that no one else may write\n"
    );
    let (_, jsonl) = stdout.split_once("--- records\n").expect("records");
    assert!(events(&records(jsonl)).iter().all(|e| e == "grant"), "no login, nothing ran: {jsonl}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_recording_that_fails_mid_session_ends_it_and_says_so_in_the_logout_record() {
    let out = sandbox(&format!(
        "{}install -d -m 0700 /var/log/cage/sessions\n\
         mount -t tmpfs -o size=16k,mode=0700 cage-test-full /var/log/cage/sessions\n\
         seq 1 100000 > /var/log/cage-big.log\n\
         as_operator /usr/local/bin/cage -c 'sudocat /var/log/cage-big.log; pwd' > /tmp/shown; echo \"EXIT=$?\"\n\
         echo '--- verify'; cagectl audit verify; echo \"VERIFY=$?\"\n\
         echo '--- records'; cat /var/log/cage/audit.jsonl\n",
        recorded("io")
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.starts_with("EXIT=0\n"), "{stdout}");
    assert!(
        stderr
            .contains("cage: writing the recording: No space left on device (os error 28): the session ends"),
        "{stderr}"
    );
    assert!(stdout.contains("VERIFY=0"), "{stdout}");
    let (_, jsonl) = stdout.split_once("--- records\n").expect("records");
    let all = records(jsonl);
    let logout = all.iter().find(|r| r["event"] == "logout").expect("logout");
    let error = logout["recording"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("No space left on device"), "{logout}");
    assert!(!all.iter().any(|r| r["event"] == "command" && r["argv"][0] == "pwd"), "pwd never ran");
}
