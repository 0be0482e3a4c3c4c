//! Root test: the independent verifier (tools/cage-verify-trail, Python, written from
//! docs/audit-format.md alone) and `cagectl audit verify` agree on a real trail (sessions,
//! refusals with bidirectional characters, a rotation) and on every tampered copy of it. The
//! known answers of tests/vectors/ hold both to the format (tests/audit_vectors.rs).

mod support;

use support::{sandbox, text};

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_independent_verifier_agrees_with_cagectl_on_a_real_trail_and_its_tampered_copies() {
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/cage-verify-trail");
    let body = format!(
        r#"set +e
grant --actions INFRA_DIAG --duration 1h --req REQ-V
run() {{ as_operator /usr/local/bin/cage -c "$1" >/dev/null 2>&1; }}
run 'sudohead -n 1 /var/log/cage-test.log'; run "$(printf 'evil\xe2\x80\xaetxt.exe')"; run 'du -s /u01'
cagectl audit rotate >/dev/null
run "$(printf 'zero\xe2\x80\x8bwidth | sudocat /etc/shadow')"; run pwd
cd /var/log/cage; old=$(ls audit.jsonl.* | head -1)
both() {{ # NAME FILES...: each verifier's exit status
  cagectl audit verify "${{@:2}}" >/dev/null 2>&1; c=$?
  {tool} "${{@:2}}" >/tmp/py.out 2>&1; p=$?
  echo "$1 cagectl=$c python=$p $(head -c 200 /tmp/py.out | tr '\n' ' ')"
}}
both original $old audit.jsonl
mkdir -p /tmp/t
cp $old /tmp/t/old; cp audit.jsonl /tmp/t/new
sed '2s/"cwd":"/"cwd":"X/' /tmp/t/old > /tmp/t/byte; both changed-byte /tmp/t/byte /tmp/t/new
sed '3d' /tmp/t/old > /tmp/t/removed; both removed-record /tmp/t/removed /tmp/t/new
awk 'NR == 2 {{ held = $0; next }} NR == 3 {{ print; print held; next }} {{ print }}' /tmp/t/old > /tmp/t/swapped; both reordered /tmp/t/swapped /tmp/t/new
sed '$d' /tmp/t/old > /tmp/t/cut; both truncated-rotation /tmp/t/cut /tmp/t/new
sed 's/\\u202e/\xe2\x80\xae/' /tmp/t/old > /tmp/t/raw; both raw-bidi /tmp/t/raw /tmp/t/new
"#
    );
    let out = sandbox(&body);
    let stdout = text(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name}: {stdout}"))
    };
    assert!(line("original").starts_with("original cagectl=0 python=0"), "{stdout}{}", text(&out.stderr));
    for tampered in ["changed-byte", "removed-record", "reordered", "truncated-rotation", "raw-bidi"] {
        let seen = line(tampered);
        assert!(seen.starts_with(&format!("{tampered} cagectl=1 python=1")), "both refuse it: {seen}");
    }
}
