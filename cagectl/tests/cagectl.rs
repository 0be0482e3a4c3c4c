//! cagectl as an admin runs it: exit codes, stdout and stderr of `check` and `explain`, and
//! the refusals of malformed invocations (cli.rs: help, version, completions).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn cagectl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cagectl")).current_dir(dir).args(args).output().expect("run cagectl")
}

/// The repository: the bundled policies and the fixtures are the root package's.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_bundled_policies_pass_check_with_one_line_per_action() {
    let out = cagectl(root(), &["check", "policies"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    for action in [
        "INFRA_CPS_ONLY",
        "INFRA_DIAG",
        "INFRA_UPDATE_RESTART",
        "INFRA_HYPERVISOR",
        "INFRA_FULL",
        "AVM_SYS_DIAG",
        "AVM_SYS_MAINT",
        "AVM_FULL",
        "CCC_SYS_ADMIN_FULL_ACCESS",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("ok {action}: "))),
            "{action} missing in:\n{stdout}"
        );
    }
    assert!(
        !text(&out.stderr).contains("warning"),
        "bundled aliases all have grammars: {}",
        text(&out.stderr)
    );
}

#[test]
fn every_malformed_fixture_fails_with_its_file_line_col_message() {
    let fixtures = root().join("tests/fixtures/policies");
    let mut cases = 0;
    for entry in fs::read_dir(&fixtures).expect("fixtures") {
        let dir = entry.expect("entry").path();
        let expected = fs::read_to_string(dir.join("expected")).expect("expected file");
        let out = cagectl(&dir, &["check", "."]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", dir.display());
        let first = stderr.lines().next().unwrap_or_default();
        assert_eq!(first, format!("./{}", expected.trim_end()), "{}", dir.display());
        assert!(out.stdout.is_empty(), "nothing is reported ok when the directory is invalid");
        cases += 1;
    }
    assert!(cases >= 15, "only {cases} fixtures");
}

/// `cagectl check` of tests/fixtures/warn, which passes (warnings are not errors): its stderr.
fn warnings_of_the_warn_fixtures() -> String {
    let out = cagectl(&root().join("tests/fixtures/warn"), &["check", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stderr)
}

#[test]
fn check_warns_about_shell_capable_aliases_without_a_grammar() {
    let stderr = warnings_of_the_warn_fixtures();
    assert!(
        stderr.contains("warning: ./PAGER.toml:2:10: alias `less` on cps runs `/usr/bin/less`"),
        "{stderr}"
    );
    assert!(!stderr.contains("uptime"), "{stderr}");
}

#[test]
fn check_warns_about_a_deny_inside_a_writable_tree() {
    let stderr = warnings_of_the_warn_fixtures();
    assert!(
        stderr.contains("warning: ./DENY.toml: deny `/u01/app/secret.conf` on cps lies in the writable tree `/u01/`: jails hide it by a mount alone"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/var/log/app.key"),
        "a file denied in a read-only tree is kept out by Landlock too: {stderr}"
    );
    assert!(!stderr.contains("/u01/app/keys/"), "a directory is lifted only if it is replaced: {stderr}");
}

#[test]
fn check_of_a_missing_directory_fails_with_one_line() {
    let out = cagectl(root(), &["check", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("no/such/dir: No such file or directory"), "{}", text(&out.stderr));
}

fn explain(layer: &str, actions: &str, line: &str) -> Output {
    cagectl(
        root(),
        &["explain", "--policies", "policies", "--layer", layer, "--actions", actions, "--", line],
    )
}

#[test]
fn explain_allows_with_the_rule_and_exits_zero() {
    let out = explain("cps", "INFRA_CPS_ONLY", "sudocat /var/log/messages");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "allow: INFRA_CPS_ONLY/cps/file_commands[sudocat] + INFRA_CPS_ONLY/cps/files.read_only[/var/log/]\n"
    );
}

#[test]
fn explain_follows_cd_through_the_line_as_a_session_does() {
    let out = explain("cps", "INFRA_CPS_ONLY", "cd /var/log; sudocat messages");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    let read = stdout.lines().nth(1).unwrap_or_else(|| panic!("two stages: {stdout}"));
    assert!(read.ends_with("files.read_only[/var/log/]"), "messages is /var/log/messages: {stdout}");
}

#[test]
fn explain_prints_one_line_per_stage_and_exits_one_on_any_denial() {
    let out = explain("cps", "INFRA_CPS_ONLY", "sudocat /var/log/messages | sudocat /etc/shadow");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("allow: "));
    assert_eq!(lines[1], "deny: `/etc/shadow` holds secrets and is never reachable");
}

#[test]
fn explain_refuses_a_repeated_lspci_x_with_the_manuals_warning() {
    let why = "lspci: `-x` is refused: may be given once (lspci(8) warns that -xxx can crash some devices)";
    for line in ["lspci -xxx", "lspci -xxxx", "lspci -x -x -x", "lspci -xx -x"] {
        let out = explain("cps", "INFRA_UPDATE_RESTART", line);
        assert_eq!(out.status.code(), Some(1), "{line}");
        assert_eq!(
            text(&out.stdout),
            format!("deny: {why} (INFRA_UPDATE_RESTART/cps/alias[lspci])\n"),
            "{line}"
        );
    }
    let out = explain("cps", "INFRA_UPDATE_RESTART", "lspci -x");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn explain_shows_a_caret_under_a_refused_character() {
    let out = explain("cps", "INFRA_CPS_ONLY", "echo \"$(bash)\"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "echo \"$(bash)\"");
    assert_eq!(lines[1], "      ^");
    assert!(lines[2].starts_with("deny: "), "{stdout}");
}

#[test]
fn explain_usage_and_policy_errors_exit_two() {
    let out = cagectl(root(), &["explain", "--layer", "cps", "--", "ls"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("cagectl: --actions is required"), "{}", text(&out.stderr));
    let out = explain("dom0", "INFRA_DIAG", "ls");
    assert_eq!(out.status.code(), Some(2));
    let out = explain("cps", "INFRA_NOPE", "ls");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "cagectl: action `INFRA_NOPE` has no profile in the policy directory\n");
    let out = explain("guest_vm", "INFRA_CPS_ONLY", "ls");
    assert_eq!(out.status.code(), Some(2));
    let out = cagectl(root(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A lifecycle command's invocation error: exit 2, the reason on the first line, then usage.
fn usage_error(args: &[&str]) -> String {
    let out = cagectl(root(), args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("\nUsage: cagectl "), "{stderr}");
    stderr.lines().next().unwrap_or_default().to_string()
}

#[test]
fn lifecycle_commands_refuse_malformed_invocations_before_touching_anything() {
    assert_eq!(
        usage_error(&["approve", "../../etc/passwd"]),
        "cagectl: `../../etc/passwd` is not a request id (REQ-xxxxxxxx)"
    );
    assert_eq!(usage_error(&["review"]), "cagectl: the request id is missing");
    assert_eq!(usage_error(&["reject", "REQ-0123abcd"]), "cagectl: --reason is required");
    assert_eq!(
        usage_error(&["request", "--actions", "INFRA_DIAG,infra", "--reason", "x"]),
        "cagectl: `infra` is not an action id"
    );
    assert_eq!(
        usage_error(&["request", "--actions", "INFRA_DIAG", "--reason", "x", "--not-before", "tomorrow"]),
        "cagectl: --not-before: expected a 4-digit year at character 1 of `tomorrow` (format: `2026-11-22T20:15:40Z`)"
    );
    let both = ["grant", "--login", "op", "--actions", "INFRA_DIAG", "--duration", "1h", "--until"];
    assert_eq!(
        usage_error(&[&both[..], &["2099-01-01T00:00:00Z", "--req", "R"]].concat()),
        "cagectl: give --duration or --until, not both"
    );
    assert_eq!(
        usage_error(&[
            "grant",
            "--login",
            "op",
            "--actions",
            "INFRA_DIAG",
            "--duration",
            "1h",
            "--req",
            "R",
            "--ssh-ca",
            "ca"
        ]),
        "cagectl: --ssh-ca needs --ssh-key (the operator's public key to certify)"
    );
    assert_eq!(usage_error(&["extend", "op"]), "cagectl: give --duration or --until (one of them)");
    assert_eq!(usage_error(&["revoke", "Op;rm"]), "cagectl: `Op;rm` is neither a login nor a request id");
    assert_eq!(usage_error(&["list", "--everything"]), "cagectl: unknown option --everything");
    assert_eq!(usage_error(&["reap", "now"]), "cagectl: unexpected argument `now`");
}

#[test]
fn check_and_explain_answer_in_json_for_tools() {
    let out = cagectl(root(), &["check", "policies", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["ok"], true);
    let actions = report["actions"].as_array().expect("actions");
    assert!(actions.iter().any(|a| a.as_str().is_some_and(|a| a.starts_with("ok INFRA_DIAG"))), "{report}");
    let bad = root().join("tests/fixtures/policies/unknown_field");
    let out = cagectl(&bad, &["check", ".", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["ok"], false);
    assert!(report["errors"][0].as_str().is_some_and(|e| e.contains("unknown field `netwrk`")), "{report}");

    let args =
        ["explain", "--policies", "policies", "--layer", "cps", "--actions", "INFRA_DIAG", "--json", "--"];
    let out = cagectl(root(), &[&args[..], &["du -s /u01 | sudocat /etc/shadow"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(said["decision"], "deny");
    assert_eq!(said["stages"][0]["decision"], "allow");
    assert_eq!(said["stages"][0]["argv"], serde_json::json!(["du", "-s", "/u01"]));
    assert!(said["stages"][1]["reason"].as_str().is_some_and(|r| r.contains("holds secrets")), "{said}");
    let out = cagectl(root(), &[&args[..], &["echo $(id)"]].concat());
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!((said["decision"].as_str(), said["offset"].as_u64()), (Some("deny"), Some(5)));
}
