//! Root tests of the file commands as operators use them in a shell: `head` and `tail` read
//! a pipe when no file is named, a refusal names the command as typed, and the terminal is
//! never read as a file. Through the installed, setuid cage in the session sandbox
//! (integration/session/sandbox.sh), as INFRA_DIAG on cps.

mod support;

use support::{quote, sandbox, text};

const SETUP: &str = "grant --actions INFRA_DIAG --duration 1h --req REQ-PIPE\n\
                     printf 'one\\ntwo\\nthree\\n' > /var/log/pipe.log\n\
                     install -d /u01 && echo x > /u01/gone.txt && chown optest /u01/gone.txt\nset +e\n";

/// Runs each line through `cage -c` as the operator (stdin from `input`); returns what was
/// printed, each line's output followed by `EXIT=N`.
fn run(lines: &[&str], input: &str) -> String {
    let mut body = SETUP.to_string();
    for line in lines {
        body.push_str(&format!(
            "echo '--- {line}'; as_operator /usr/local/bin/cage -c {} < {input} 2>&1; echo \"EXIT=$?\"\n",
            quote(line)
        ));
    }
    let out = sandbox(&body);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn run_of<'a>(out: &'a str, line: &str) -> &'a str {
    let start = out.find(&format!("--- {line}\n")).unwrap_or_else(|| panic!("no run of {line}: {out}"));
    let rest = &out[start + line.len() + 5..];
    &rest[..rest.find("\n--- ").map_or(rest.len(), |i| i + 1)]
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn head_and_tail_read_a_pipe_when_no_file_is_named() {
    let lines = [
        "sudocat /var/log/pipe.log | tail -n 1",
        "sudocat /var/log/pipe.log | sudohead -n 2",
        "cat /var/log/pipe.log | tail -c 4",
        "tail -n 2",
    ];
    let out = run(&lines, "/var/log/pipe.log");
    assert_eq!(run_of(&out, lines[0]), "three\nEXIT=0\n", "{out}");
    assert_eq!(run_of(&out, lines[1]), "one\ntwo\nEXIT=0\n", "{out}");
    assert_eq!(run_of(&out, lines[2]), "ree\nEXIT=0\n", "{out}");
    assert_eq!(run_of(&out, lines[3]), "two\nthree\nEXIT=0\n", "the session's own standard input: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_refusal_names_the_command_as_typed() {
    let lines = ["tail --bogus /var/log/pipe.log", "tail -f"];
    let out = run(&lines, "/dev/null");
    let bogus = run_of(&out, lines[0]);
    assert!(bogus.contains("cage: denied: tail: option `--bogus`"), "{bogus}");
    assert!(!bogus.contains("sudotail"), "{bogus}");
    assert!(run_of(&out, lines[1]).contains("cage: denied: tail: -f follows a file: name one"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_terminal_is_not_read_as_a_file() {
    let body = format!(
        "{SETUP}script -qec \"setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c 'tail -n 1'\" /dev/null < /dev/null; echo \"EXIT=$?\"\n"
    );
    let out = text(&sandbox(&body).stdout);
    assert!(out.contains("standard input is the terminal: name a file or pipe into it"), "{out}");
    assert!(out.contains("EXIT=1"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn familiar_names_are_the_file_commands_the_grant_has() {
    let lines = ["ls /var/log", "sudols /var/log", "rm /u01/gone.txt", "ls /u01"];
    let out = run(&lines, "/dev/null");
    let listed = run_of(&out, "ls /var/log");
    assert!(listed.contains("pipe.log") && listed.ends_with("EXIT=0\n"), "{listed}");
    assert_eq!(listed, run_of(&out, "sudols /var/log"), "ls is sudols");
    assert!(run_of(&out, "rm /u01/gone.txt").ends_with("EXIT=0\n"), "{out}");
    assert!(!run_of(&out, "ls /u01").contains("gone.txt"), "rm removed it as sudorm would: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_redirection_into_a_missing_directory_says_which_and_why() {
    let out = run(&["du -s /u01 > /u01/nodir/usage.txt", "sudocat /u01/missing.txt"], "/dev/null");
    let redirected = run_of(&out, "du -s /u01 > /u01/nodir/usage.txt");
    assert!(
        redirected
            .contains("/u01/nodir/usage.txt: cannot be created: the directory /u01/nodir does not exist"),
        "{redirected}"
    );
    let missing = run_of(&out, "sudocat /u01/missing.txt");
    assert!(missing.contains("/u01/missing.txt: no such file or directory"), "{missing}");
    assert!(!out.contains("os error"), "no raw OS error: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn long_listings_keep_their_columns_with_a_long_group_name() {
    let body = format!(
        "{SETUP}groupadd a-rather-long-group-name; install -d /var/log/cols\n\
         echo x > /var/log/cols/one; echo yy > /var/log/cols/two; chgrp a-rather-long-group-name /var/log/cols/two\n\
         as_operator /usr/local/bin/cage -c 'sudols -l /var/log/cols'\n"
    );
    let out = text(&sandbox(&body).stdout);
    let rows: Vec<&str> = out.lines().filter(|l| l.ends_with(" one") || l.ends_with(" two")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    let time_at = |row: &str| row.find(" 20").unwrap_or(0);
    assert_eq!(time_at(rows[0]), time_at(rows[1]), "columns line up: {out}");
    assert!(rows[1].contains("a-rather-long-group-name"), "{out}");
}
