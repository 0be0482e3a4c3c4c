//! Root tests of the access lifecycle as installed (integration/session/sandbox.sh: a private
//! mount namespace whose /etc, /home and /var/log vanish afterwards): requests, approvals by
//! members of the approver group only, temporary users made by the system's useradd, grants,
//! extension, revocation, reap, certificates, and every change audited before it is made.

mod support;

use serde_json::Value;
use support::{sandbox, text};

/// Groups, an approver (alice), a non-approver (mallory), the [access] settings, a key.
const SETUP: &str = r#"
set +e
groupadd cage; groupadd cage-approvers
useradd --no-create-home alice --groups cage-approvers; useradd --no-create-home mallory
cat >> /etc/cage/cage.toml <<'EOF'
pre_approved = ["INFRA_DIAG"]
[access]
approver_group = "cage-approvers"
max_duration = "1d"
uid_min = 61000
uid_max = 61009
retention = "2s"
EOF
ssh-keygen -q -t ed25519 -N '' -C op@laptop -f /tmp/op_key
as_admin() { SUDO_USER=$1 cagectl "${@:2}"; }
# The request id is the first word of what `cagectl request` prints.
request() { cagectl request "$@" | tee /tmp/req.out | cut -d' ' -f1; }
show() { echo "--- $1"; }
"#;

fn run(body: &str) -> (String, String) {
    let out = sandbox(&format!("{SETUP}\n{body}"));
    (text(&out.stdout), text(&out.stderr))
}

/// The text after `--- NAME` up to the next marker.
fn section<'a>(stdout: &'a str, name: &str) -> &'a str {
    let start = stdout.find(&format!("--- {name}\n")).map(|i| i + name.len() + 5);
    let Some(start) = start else { panic!("no section {name} in:\n{stdout}") };
    let rest = &stdout[start..];
    &rest[..rest.find("--- ").unwrap_or(rest.len())]
}

fn grant_records(audit: &str) -> Vec<Value> {
    audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|r| r["event"] == "grant")
        .collect()
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_pre_approved_request_makes_a_locked_down_user_that_logs_in() {
    let (stdout, stderr) = run(r#"
id=$(request --actions INFRA_DIAG --reason 'CHG-1 disk alarm' --duration 2h --ssh-key /tmp/op_key.pub)
login=$(grep -o 'login [a-z0-9_]*' /tmp/req.out | cut -d' ' -f2)
show out; cat /tmp/req.out
show passwd; getent passwd $login
show shadow; getent shadow $login | cut -d: -f2
show groups; id -nG $login
show home; stat -c '%a %U' /home/$login
show key; stat -c '%a %U %G' /etc/cage/keys/$login; cat /etc/cage/keys/$login
show grant; cat /etc/cage/grants/$login.toml
show login; setpriv --reuid=$login --regid=$login --init-groups /usr/local/bin/cage -c grant; echo "status=$?"
show list; cagectl list --json
show audit; cat /var/log/cage/audit.jsonl
show verify; cagectl audit verify >/dev/null; echo "verify=$?"
"#);
    let out = section(&stdout, "out");
    assert!(
        out.starts_with("REQ-") && out.contains(" approved by pre-approved: login opctl_"),
        "{out}{stderr}"
    );
    let passwd: Vec<&str> = section(&stdout, "passwd").trim().split(':').collect();
    let uid: u32 = passwd[2].parse().expect("uid");
    assert!((61_000..=61_009).contains(&uid), "{passwd:?}");
    assert_eq!(passwd[6], "/usr/local/bin/cage");
    assert!(passwd[5].starts_with("/home/opctl_"), "{passwd:?}");
    assert!(section(&stdout, "shadow").starts_with('!'), "password locked");
    assert!(section(&stdout, "groups").split_whitespace().any(|g| g == "cage"));
    assert!(section(&stdout, "home").starts_with("700 opctl_"));
    let key = section(&stdout, "key");
    assert!(key.starts_with("644 root root\nssh-ed25519 ") && key.contains("op@laptop"), "{key}");
    assert!(section(&stdout, "grant").contains("approved_by = \"pre-approved\""));
    let login = section(&stdout, "login");
    assert!(login.contains("INFRA_DIAG") && login.contains("status=0"), "{login}");
    let list: Value = serde_json::from_str(section(&stdout, "list")).expect("json");
    assert_eq!(list[0]["state"], "approved");
    assert_eq!(list[0]["actions"], serde_json::json!(["INFRA_DIAG"]));
    let records = grant_records(section(&stdout, "audit"));
    let actions: Vec<&str> = records.iter().map(|r| r["action"].as_str().unwrap_or("?")).collect();
    assert_eq!(actions, ["requested", "approved"]);
    assert_eq!(records[0]["req_auth_id"], records[1]["req_auth_id"]);
    assert!(section(&stdout, "verify").contains("verify=0"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_pending_request_needs_an_approver_and_a_rejected_one_never_logs_in() {
    let (stdout, stderr) = run(r#"
id=$(request --actions INFRA_DIAG,AVM_SYS_DIAG --reason 'needs AVM')
login=$(sed 's/.* for \([a-z0-9_]*\) awaits.*/\1/' /tmp/req.out)
show pending; cat /tmp/req.out; getent passwd $login || echo "no user"
show mallory; as_admin mallory approve $id 2>&1; echo "status=$?"; getent passwd $login || echo "no user"
show review; as_admin alice review $id; cagectl list | grep $id
show approve; as_admin alice approve $id --duration 1h; echo "status=$?"
show login; setpriv --reuid=$login --regid=$login --init-groups /usr/local/bin/cage -c grant; echo "status=$?"
show again; as_admin alice approve $id 2>&1; echo "status=$?"
id2=$(request --actions AVM_SYS_DIAG --reason 'second')
show reject; as_admin alice reject $id2 --reason 'no ticket'; as_admin alice approve $id2 2>&1; echo "status=$?"
show toolong; id3=$(request --actions AVM_SYS_DIAG --reason x); as_admin alice approve $id3 --duration 2d 2>&1; echo "status=$?"
show all; cagectl list --all
"#);
    let pending = section(&stdout, "pending");
    assert!(
        pending.contains(" pending: INFRA_DIAG,AVM_SYS_DIAG for opctl_") && pending.contains("no user"),
        "{pending}{stderr}"
    );
    let mallory = section(&stdout, "mallory");
    assert!(
        mallory.contains("cagectl: approve: mallory is not a member of the approver group `cage-approvers`")
            && mallory.contains("status=1")
            && mallory.contains("no user"),
        "{mallory}"
    );
    assert!(section(&stdout, "review").contains(" in_review "), "{stdout}");
    assert!(section(&stdout, "approve").contains("approved by alice: login opctl_"), "{stdout}");
    let login = section(&stdout, "login");
    assert!(login.contains("INFRA_DIAG, AVM_SYS_DIAG") && login.contains("status=0"), "{login}");
    assert!(section(&stdout, "again")
        .contains("is approved; only a pending or in-review request can be approved"));
    let reject = section(&stdout, "reject");
    assert!(
        reject.contains("rejected by alice")
            && reject.contains("is rejected; only a pending")
            && reject.contains("status=1")
    );
    assert!(section(&stdout, "toolong").contains("2d 0h is longer than this host's max_duration (1d 0h)"));
    let all = section(&stdout, "all");
    assert!(all.contains(" rejected ") && all.contains(" approved ") && all.contains(" pending "), "{all}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn extend_and_revoke_change_the_grant_in_force_and_revoke_locks_the_user() {
    let (stdout, stderr) = run(r#"
id=$(request --actions INFRA_DIAG --reason r --duration 1h)
login=$(grep -o 'login [a-z0-9_]*' /tmp/req.out | cut -d' ' -f2)
show extend; as_admin alice extend $login --duration 2h; grep expires /etc/cage/grants/$login.toml
show toolong; as_admin alice extend $login --duration 1d 2>&1; echo "status=$?"
show mallory; as_admin mallory extend $login --duration 1h 2>&1; echo "status=$?"
show revoke; as_admin mallory revoke $id --reason 'done early'; echo "status=$?"
show after; cat /etc/cage/grants/$login.toml; getent shadow $login | cut -d: -f2,8
show login; setpriv --reuid=$login --regid=$login --init-groups /usr/local/bin/cage -c grant 2>&1; echo "status=$?"
show audit; cat /var/log/cage/audit.jsonl
"#);
    let extend = section(&stdout, "extend");
    assert!(extend.contains("extended opctl_") && extend.contains("expires = "), "{extend}{stderr}");
    assert!(section(&stdout, "toolong").contains("the whole grant: 1d 3h is longer"), "{stdout}");
    assert!(section(&stdout, "mallory").contains("not a member of the approver group"));
    assert!(section(&stdout, "revoke").contains("its sessions end within a second\nstatus=0"), "{stdout}");
    let after = section(&stdout, "after");
    assert!(after.contains("state = \"revoked\"") && after.contains("revoked_by = \"mallory\""), "{after}");
    assert!(after.contains("revoke_reason = \"done early\""), "{after}");
    let shadow = after.trim_end().lines().last().unwrap_or_default();
    assert!(shadow.starts_with('!') && shadow.ends_with(":1"), "password locked, account expired: {after}");
    let login = section(&stdout, "login");
    assert!(login.contains("was revoked by mallory") && login.contains("status=1"), "{login}");
    let actions: Vec<String> = grant_records(section(&stdout, "audit"))
        .iter()
        .map(|r| r["action"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(actions, ["requested", "approved", "extended", "revoked"]);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn reap_locks_then_removes_the_user_and_keeps_its_audit_records() {
    let (stdout, stderr) = run(r#"
as_admin alice grant --login opctl_reaped --actions INFRA_DIAG --until $(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ) --req REQ-R1 --create-user --ssh-key /tmp/op_key.pub
setpriv --reuid=opctl_reaped --regid=opctl_reaped --init-groups /usr/local/bin/cage -c grant >/dev/null
show early; cagectl reap; echo "status=$?"
sleep 3
show first; cagectl reap; echo "status=$?"; getent passwd opctl_reaped | cut -d: -f1; ls -d /home/opctl_reaped /etc/cage/keys/opctl_reaped
sleep 2
show second; cagectl reap; echo "status=$?"
show gone; getent passwd opctl_reaped || echo "no user"; ls /home /etc/cage/keys; ls /etc/cage/grants
show audit; grep -c '"loginid":"opctl_reaped"' /var/log/cage/audit.jsonl; cagectl audit verify >/dev/null; echo "verify=$?"
"#);
    assert_eq!(section(&stdout, "early"), "status=0\n", "{stderr}");
    let first = section(&stdout, "first");
    assert!(
        first.contains("opctl_reaped locked (grant ended") && first.contains("status=0"),
        "{first}{stderr}"
    );
    assert!(
        first.contains("/home/opctl_reaped") && first.contains("/etc/cage/keys/opctl_reaped"),
        "kept: {first}"
    );
    let second = section(&stdout, "second");
    assert!(second.contains("opctl_reaped removed") && second.contains("status=0"), "{second}{stderr}");
    let gone = section(&stdout, "gone");
    assert!(gone.contains("no user") && !gone.contains("opctl_reaped"), "{gone}");
    let audit = section(&stdout, "audit");
    let count: u32 = audit.lines().next().and_then(|l| l.parse().ok()).expect("count");
    assert!(count >= 6, "grant, login, logout, locked, removed...: {audit}");
    assert!(audit.contains("verify=0"));
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_change_that_cannot_be_audited_is_not_made() {
    let (stdout, stderr) = run(r#"
mount -t tmpfs -o ro cage-ro /var/log/cage
show request; cagectl request --actions INFRA_DIAG --reason r 2>&1; echo "status=$?"
show state; ls /etc/cage/requests 2>/dev/null | wc -l; getent passwd | grep -c opctl_ || true
show grant; as_admin alice grant --login opctl_x --actions INFRA_DIAG --duration 1h --req R --create-user 2>&1; echo "status=$?"
getent passwd opctl_x || echo "no user"; ls /etc/cage/grants | wc -l
"#);
    let request = section(&stdout, "request");
    assert!(
        request.contains("refused, the change could not be audited") && request.contains("status=1"),
        "{request}{stderr}"
    );
    assert_eq!(section(&stdout, "state"), "0\n0\n");
    let grant = section(&stdout, "grant");
    assert!(grant.contains("could not be audited") && grant.contains("no user\n0"), "{grant}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sessions_lists_the_live_session_and_what_it_runs() {
    let (stdout, stderr) = run(r#"
id=$(request --actions INFRA_DIAG --reason r)
login=$(grep -o 'login [a-z0-9_]*' /tmp/req.out | cut -d' ' -f2)
setpriv --reuid=$login --regid=$login --init-groups /usr/local/bin/cage -c 'sudotail -f /var/log/cage-test.log' >/dev/null &
sleep 1.5
show live; cagectl sessions --json
show table; cagectl sessions
show revoke; cagectl revoke $login --reason stop >/dev/null; sleep 1.5; cagectl sessions --json
"#);
    let live: Value = serde_json::from_str(section(&stdout, "live").trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    assert_eq!(live.as_array().map(Vec::len), Some(1), "{live}");
    assert!(live[0]["login"].as_str().is_some_and(|l| l.starts_with("opctl_")));
    assert_eq!(live[0]["command"], "sudotail -f /var/log/cage-test.log");
    assert!(live[0]["pid"].as_u64().is_some_and(|p| p > 1));
    assert!(section(&stdout, "table").contains("sudotail -f /var/log/cage-test.log"));
    assert_eq!(section(&stdout, "revoke").trim(), "[]", "the revoked session ended");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_certificate_is_issued_for_the_grant_window_with_the_request_id() {
    let (stdout, stderr) = run(r#"
ssh-keygen -q -t ed25519 -N '' -f /tmp/ca
show grant; as_admin alice grant --login opctl_cert --actions INFRA_DIAG --duration 1h --req REQ-C1 --create-user --ssh-key /tmp/op_key.pub --ssh-ca /tmp/ca
show cert; ssh-keygen -L -f /tmp/op_key-cert.pub
"#);
    let grant = section(&stdout, "grant");
    assert!(grant.contains("certificate /tmp/op_key-cert.pub for opctl_cert"), "{grant}{stderr}");
    let cert = section(&stdout, "cert");
    assert!(cert.contains("Key ID: \"REQ-C1\"") && cert.contains("opctl_cert"), "{cert}");
    assert!(
        cert.contains("cage-actions@cage")
            && cert.contains("permit-pty")
            && !cert.contains("permit-port-forwarding")
    );
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn cagectl_check_refuses_a_cage_toml_that_would_refuse_every_login() {
    let (stdout, stderr) = run(r#"
check() { cagectl check >/dev/null 2>/tmp/err; echo "$1=$?"; cat /tmp/err; }
check shipped
cp /etc/cage/cage.toml /tmp/good.toml
printf '[limits]\ncommand_timout = "4h"\n' >> /etc/cage/cage.toml; check typo
cp /tmp/good.toml /etc/cage/cage.toml; printf '[limits]\ncommand_timeout = "4 hours"\n' >> /etc/cage/cage.toml; check duration
sed 's/^layer = .*/layer = "cpx"/' /tmp/good.toml > /etc/cage/cage.toml; check layer
show login; setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c pwd 2>&1; echo "login=$?"
"#);
    assert!(stdout.contains("shipped=0\n"), "{stdout}{stderr}");
    for (case, what) in
        [("typo", "unknown field `command_timout`"), ("duration", "4 hours"), ("layer", "cpx")]
    {
        assert!(stdout.contains(&format!("{case}=1\n")), "{case}: {stdout}");
        let at = stdout.find(&format!("{case}=1\n")).unwrap_or(0);
        let said = stdout[at..].lines().nth(1).unwrap_or_default();
        assert!(said.starts_with("/etc/cage/cage.toml:") && said.contains(what), "{case}: {said}");
    }
    assert!(section(&stdout, "login").contains("login=1"), "a login on that file fails too: {stdout}");
}
