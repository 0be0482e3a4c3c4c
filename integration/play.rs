//! Root tests of `cagectl audit play`: a recorded session replays as the operator saw it,
//! with no external player; a recording edited after its `logout` record sealed it is
//! refused. Through the installed, setuid cage in the session sandbox
//! (integration/session/sandbox.sh).

mod support;

use support::{sandbox, text, value};

/// A profile that records input and output, with INFRA_DIAG's rules.
const RECORDED: &str = "cat > /etc/cage/policies/TEST_PLAY.toml <<'P'\ninherits = [\"INFRA_DIAG\"]\nrecord = \"io\"\n[layer.cps]\nP\n\
    grant --actions TEST_PLAY --duration 1h --req REQ-PLAY\nset +e\n";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_recorded_session_plays_as_the_operator_saw_it_and_an_edited_one_is_refused() {
    let out = sandbox(&format!(
        "{RECORDED}as_operator /usr/local/bin/cage -c 'sudohead -n 1 /var/log/cage-test.log; pwd' > /dev/null\n\
         id=$(grep '\"event\":\"login\"' /var/log/cage/audit.jsonl | tail -1 | sed 's/.*\"session\":\"\\([0-9a-f]*\\)\".*/\\1/')\n\
         echo '--- played'; cagectl audit play \"${{id%????????????????????????}}\" --speed 1000; echo \"PLAYED=$?\"\n\
         echo '--- edited'; echo '[9.0,\"o\",\"forged\"]' >> /var/log/cage/sessions/$id.cast\n\
         cagectl audit play \"$id\" 2>&1; echo \"EDITED=$?\"\n\
         cagectl audit play ffffffff 2>&1; echo \"NONE=$?\"\n"
    ));
    let stdout = text(&out.stdout);
    let played = stdout.split_once("--- played\n").map(|(_, p)| p).unwrap_or_default();
    let played = played.split("PLAYED=").next().unwrap_or_default().replace('\r', "");
    assert_eq!(played, "first line\n/home/optest\n", "{stdout} {}", text(&out.stderr));
    assert_eq!(value(&stdout, "PLAYED"), "0");
    let edited = stdout.split_once("--- edited\n").map(|(_, e)| e).unwrap_or_default();
    assert!(
        edited.contains("does not match the digest of its logout record (edited): not played"),
        "{edited}"
    );
    assert!(!edited.contains("forged"), "nothing of an edited cast is shown: {edited}");
    assert_eq!(value(&stdout, "EDITED"), "1");
    assert!(stdout.contains("no recorded session `ffffffff` in the trail"), "{stdout}");
    assert_eq!(value(&stdout, "NONE"), "1");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn watch_follows_a_live_session_within_a_second_and_ends_with_it() {
    let out = sandbox(&format!(
        "{RECORDED}{{ sleep 1.5; printf 'pwd\\r'; sleep 1.5; printf 'exit\\r'; sleep 1; }} \
         | script -qfc 'setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage' /dev/null > /dev/null &\n\
         for i in $(seq 50); do grep -q '\"event\":\"login\"' /var/log/cage/audit.jsonl 2>/dev/null && break; sleep 0.05; done\n\
         id=$(grep '\"event\":\"login\"' /var/log/cage/audit.jsonl | tail -1 | sed 's/.*\"session\":\"\\([0-9a-f]*\\)\".*/\\1/')\n\
         cagectl sessions | grep -q \" io \" && echo RECORDED_SHOWN=yes\n\
         cagectl watch \"${{id%????????????????????????}}\" > /tmp/watched 2> /tmp/watch-err &\n\
         watcher=$!\n\
         sleep 2.5; cp /tmp/watched /tmp/a-second-after-pwd\n\
         wait $watcher; echo \"WATCH=$?\"; wait\n\
         echo '--- soon'; tr -d '\\r' < /tmp/a-second-after-pwd; echo '--- err'; cat /tmp/watch-err\n"
    ));
    let stdout = text(&out.stdout);
    assert_eq!(value(&stdout, "RECORDED_SHOWN"), "yes", "cagectl sessions says it is recorded: {stdout}");
    let soon = stdout.split_once("--- soon\n").map(|(_, s)| s).unwrap_or_default();
    let soon = soon.split("--- err").next().unwrap_or_default();
    assert!(soon.contains("/home/optest"), "the typed line's output within a second: {stdout}");
    assert_eq!(value(&stdout, "WATCH"), "0", "watch ends with the session: {stdout}");
    assert!(stdout.contains("cagectl: the session ended (exit)"), "{stdout}");
}
