//! Root tests of the writing file commands (sudocp, sudovi), symlinks, hard links and a
//! path swapped between check and use, with cage installed setuid in the session sandbox
//! (integration/session/sandbox.sh). Interactive sessions are driven through a pty by
//! integration/files/drive.py; assertions are on what the operator sees and what is on disk.

mod support;

use support::{quote, sandbox, text, value};

const DIAG: &str = "grant --actions INFRA_DIAG --duration 1h --req REQ-42";

/// Runs each line through `cage -c` as the operator, then `after` (as root); returns
/// everything printed, each line's output followed by `EXIT=N`.
fn run(setup: &str, lines: &[&str], after: &str) -> String {
    let mut body = format!("{DIAG}\n{setup}\nset +e\n");
    for line in lines {
        body.push_str(&format!(
            "as_operator /usr/local/bin/cage -c {} 2>&1; echo \"EXIT=$?\"\n",
            quote(line)
        ));
    }
    body.push_str(after);
    let out = sandbox(&body);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Types `steps` (see drive.py) into `cage -c LINE` run as the operator on a pty, with
/// `env` before it; then runs `after`. Returns the screen (control characters shown as
/// `cat -v` does) and what `after` printed.
fn drive(setup: &str, env: &str, line: &str, steps: &[&str], after: &str) -> String {
    let steps: Vec<String> = steps.iter().map(|s| quote(s)).collect();
    let body = format!(
        "{DIAG}\n{setup}\nset +e\nexport TERM=xterm\n\
         python3 {root}/integration/files/drive.py {steps} -- env {env} setpriv --reuid=optest --regid=optest --init-groups /usr/local/bin/cage -c {line} > /tmp/screen 2>&1\n\
         cat -v /tmp/screen; echo\n{after}\n",
        root = env!("CARGO_MANIFEST_DIR"),
        steps = steps.join(" "),
        line = quote(line),
    );
    let out = sandbox(&body);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn exits(out: &str) -> Vec<i32> {
    out.lines().filter_map(|l| l.strip_prefix("EXIT=")).map(|c| c.trim().parse().expect("status")).collect()
}

const STAT: &str = "stat -c '%n %U:%G %a %s %Y %i' ";

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudocp_copies_a_root_only_file_and_p_keeps_owner_mode_and_times() {
    let setup = "printf 'log line\\n' > /var/log/app.log; chown daemon:adm /var/log/app.log\n\
                 chmod 0640 /var/log/app.log; touch -d '2020-01-02 03:04:05' /var/log/app.log\n\
                 printf 'old\\n' > /u01/over; chown optest:optest /u01/over; chmod 0664 /u01/over";
    let after = format!(
        "{STAT}/u01/app.log /u01/kept /u01/over; cat /u01/app.log /u01/kept /u01/over; ls -a /u01 | grep -c cage-tmp\n"
    );
    let out = run(
        setup,
        &[
            "sudocp /var/log/app.log /u01/",
            "sudocp -p /var/log/app.log /u01/kept",
            "sudocp /var/log/app.log /u01/over",
        ],
        &after,
    );
    assert_eq!(exits(&out), [0, 0, 0], "{out}");
    assert!(
        out.contains("/u01/app.log root:root 640 9 "),
        "a new copy is root's, mode less group/other write: {out}"
    );
    assert!(out.contains("/u01/kept daemon:adm 640 9 1577934245 "), "-p keeps owner, mode and mtime: {out}");
    assert!(
        out.contains("/u01/over optest:optest 664 9 "),
        "an overwritten file keeps its owner and mode: {out}"
    );
    assert_eq!(out.matches("log line\n").count(), 3, "{out}");
    assert!(out.trim_end().ends_with('0'), "no temporary file is left: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudocp_refuses_symlinks_outside_destinations_and_foreign_options() {
    let setup = "ln -s /etc/shadow /u01/shadow; ln -s /etc /u01/etc\n\
                 cp /etc/shadow /tmp/shadow.before; mkdir /var/log/dir";
    let after =
        "cmp /etc/shadow /tmp/shadow.before && echo SHADOW-SAME; ls /etc/cron.d/x 2>/dev/null; ls -a /u01\n";
    let out = run(
        setup,
        &[
            "sudocp /u01/shadow /u01/copy",
            "sudocp /var/log/cage-test.log /u01/shadow",
            "sudocp /var/log/cage-test.log /u01/etc/x",
            "sudocp /var/log/cage-test.log /etc/cron.d/",
            "sudocp -t /etc/cron.d /var/log/cage-test.log",
            "sudocp /var/log/dir /u01/dir",
            "sudocp -r /var/log/dir /u01/missing/",
        ],
        after,
    );
    // Refused on disk (a symlink out, a symlink written through) as at the decision: 126.
    assert_eq!(exits(&out), [126, 126, 126, 126, 126, 1, 1], "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("/u01/shadow: leaves the allowed directory"), "{out}");
    assert!(lines[2].contains("/u01/shadow: is reached through a symlink"), "{out}");
    assert!(lines[4].contains("/u01/etc/x: is reached through a symlink"), "{out}");
    assert!(out.contains("cage: denied: `/etc/cron.d` is outside the writable paths"), "{out}");
    assert!(out.contains("cage: denied: sudocp: option `-t` is not allowed (allowed: -p -r)"), "{out}");
    assert!(out.contains("/var/log/dir: is a directory (use -r)"), "{out}");
    assert!(out.contains("-r copies into an existing directory"), "{out}");
    assert!(out.contains("SHADOW-SAME"), "{out}");
    assert!(!out.contains("copy"), "nothing was written: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudocp_r_copies_a_tree_without_symlinks_or_other_mounts() {
    let setup =
        "mkdir -p /var/log/app/sub /var/log/app/mnt; echo a > /var/log/app/a; echo b > /var/log/app/sub/b\n\
                 chmod 0600 /var/log/app/sub/b; ln -s /etc/passwd /var/log/app/link\n\
                 mount -t tmpfs cage-inner /var/log/app/mnt; echo m > /var/log/app/mnt/m";
    let after = "find /u01/app | sort; cat /u01/app/sub/b; stat -c '%n %a' /u01/app/sub/b\n";
    let setup = format!("{setup}\nmkdir -p /u01/tree/sub; echo t > /u01/tree/t; ln -s tree /u01/alias");
    let lines =
        ["sudocp -r /var/log/app /u01", "sudocp -r /var/log/app /u01", "sudocp -r /u01/alias /u01/tree/sub"];
    let after = format!("{after}find /u01/tree | sort\n");
    let out = run(&setup, &lines, &after);
    // What the walk would not copy is refused (126, `cage: denied:`); a tree that exists is an error.
    assert_eq!(exits(&out), [126, 1, 126], "{out}");
    assert!(
        out.contains("cage: denied: sudocp: not copied: /u01/tree/sub/alias/sub/alias (the copy itself)"),
        "{out}"
    );
    assert!(out.contains("/u01/tree/sub/alias/t\n"), "{out}");
    assert!(out.contains("not copied: /u01/app/link (a symlink), /u01/app/mnt (another mount)"), "{out}");
    assert!(out.contains("/u01/app: already exists"), "a tree is never merged into another: {out}");
    let tree: Vec<&str> = out.lines().filter(|l| l.starts_with("/u01/app")).collect();
    assert_eq!(
        tree,
        ["/u01/app", "/u01/app/a", "/u01/app/sub", "/u01/app/sub/b", "/u01/app/sub/b 600"],
        "{out}"
    );
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudocp_r_copies_64_levels_of_a_tree_and_refuses_what_lies_deeper() {
    let setup = "mkdir -p /var/log/deep/$(printf 'd/%.0s' $(seq 66))";
    let after = "test -d /u01/deep/$(printf 'd/%.0s' $(seq 63)) && echo LEVEL-63-COPIED\n\
                 test -e /u01/deep/$(printf 'd/%.0s' $(seq 64)) || echo LEVEL-64-LEFT-OUT\n";
    let out = run(setup, &["sudocp -r /var/log/deep /u01"], after);
    assert_eq!(exits(&out), [126], "{out}");
    let deepest = format!("/u01/deep{}", "/d".repeat(64));
    assert!(
        out.contains(&format!("cage: denied: sudocp: not copied: {deepest} (nested too deeply)")),
        "{out}"
    );
    assert!(out.contains("LEVEL-63-COPIED") && out.contains("LEVEL-64-LEFT-OUT"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn hard_links_to_files_outside_the_rules_are_neither_read_nor_written_through() {
    // /u01 and a root-only file outside the rules on one filesystem: /u01 is a bind of a
    // directory of the sandbox's /tmp, where the file lives.
    let setup = "mkdir /tmp/fs; umount /u01; mount --bind /tmp/fs /u01; chmod 1777 /u01\n\
                 printf 'root only\\n' > /tmp/secret; chmod 0600 /tmp/secret; ln /tmp/secret /tmp/fs/link\n\
                 printf 'mine\\n' > /tmp/mine; chown optest /tmp/mine; ln /tmp/mine /tmp/fs/mine";
    let out = run(
        setup,
        &[
            "sudocat /u01/link",
            "sudocp /u01/link /u01/copy",
            "sudocat /var/log/cage-test.log > /u01/link",
            "sudotail -n 1 /u01/link",
            "sudocat /u01/mine",
        ],
        "cat /tmp/secret; ls /u01\n",
    );
    assert_eq!(exits(&out), [126, 126, 126, 126, 0], "{out}");
    assert_eq!(out.matches("cage: denied: ").count(), 4, "every refusal is a denial: {out}");
    assert_eq!(
        out.matches("has 2 hard links, and another name may lie outside the rules").count(),
        4,
        "{out}"
    );
    assert!(out.contains("mine\nEXIT=0"), "the operator's own hard-linked file is read: {out}");
    assert_eq!(out.matches("root only").count(), 1, "read once, by the test, untruncated: {out}");
    assert!(!out.contains("copy"), "{out}");
    let out = drive(setup, "", "sudovi /u01/link", &[], "cat /tmp/secret");
    assert!(out.contains("sudovi: /u01/link: has 2 hard links"), "{out}");
    assert_eq!(out.matches("root only").count(), 1, "shown once, by the test: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_path_component_flipped_10000_times_never_reads_the_target() {
    // /u01/race/d is a directory holding f (SAFE) or, swapped in by renameat2(RENAME_EXCHANGE),
    // a symlink to a root-only directory outside the rules holding f (SECRET).
    let files = "/u01/race/d/f ".repeat(150);
    let body = format!(
        "{DIAG}\n\
         mkdir -p /u01/race/d /tmp/secret; echo SAFE > /u01/race/d/f; echo SECRET > /tmp/secret/f\n\
         chmod 0700 /tmp/secret; chmod 0600 /tmp/secret/f; ln -s ../../tmp/secret /u01/race/alt\n\
         cat > /tmp/flip.c <<'C'\n\
         #define _GNU_SOURCE\n\
         #include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n#include <linux/fs.h>\n\
         int main(void) {{ int n = 0; for (int i = 0; i < 10000; i++) {{\n\
         if (syscall(SYS_renameat2, AT_FDCWD, \"/u01/race/d\", AT_FDCWD, \"/u01/race/alt\", RENAME_EXCHANGE) == 0) n++;\n\
         usleep(100); }} printf(\"FLIPS=%d\\n\", n); return 0; }}\n\
         C\n\
         gcc -O2 -o /tmp/flip /tmp/flip.c\n\
         set +e\n\
         /tmp/flip > /tmp/flips & flipper=$!\n\
         rounds=0\n\
         while kill -0 $flipper 2>/dev/null; do\n\
           as_operator /usr/local/bin/cage -c 'sudocat {files}' >> /tmp/read 2>> /tmp/refused; rounds=$((rounds + 1))\n\
         done\n\
         wait; cat /tmp/flips; echo ROUNDS=$rounds\n\
         echo SAFE=$(grep -c SAFE /tmp/read); echo SECRET=$(grep -c SECRET /tmp/read)\n\
         echo REFUSED=$(grep -c 'leaves the allowed directory' /tmp/refused)\n\
         echo OTHER=$(grep -vc 'leaves the allowed directory' /tmp/refused); grep -v 'leaves the allowed' /tmp/refused\n"
    );
    let out = sandbox(&body);
    let out = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let count = |key: &str| value(&out, key).trim().parse::<u64>().expect("count");
    assert_eq!(count("FLIPS"), 10_000, "{out}");
    assert_eq!(count("SECRET"), 0, "the target was never read: {out}");
    assert!(count("SAFE") > 0 && count("REFUSED") > 0, "both states were met: {out}");
    assert_eq!(count("OTHER"), 0, "every refusal names the escape: {out}");
}

/// `/u01/NAME` holding two lines, owned by daemon:adm, mode 0640; its inode as `BEFORE=`.
/// Each test has its own NAME: tests run in parallel, and find their editor by it.
fn notes(name: &str) -> String {
    format!(
        "printf 'hello\\nworld\\n' > /u01/{name}; chown daemon:adm /u01/{name}; chmod 0640 /u01/{name}\n\
         stat -c 'BEFORE=%i' /u01/{name}"
    )
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudovi_writes_an_edit_back_atomically_keeping_owner_and_mode() {
    let after =
        "stat -c 'AFTER=%i %U:%G %a' /u01/notes.txt; cat /u01/notes.txt; ls -a /u01 | grep -c cage-tmp";
    let out = drive(&notes("notes.txt"), "", "sudovi /u01/notes.txt", &["ggOadded\\x1b", ":wq\\r"], after);
    assert!(out.contains("\"notes.txt\" 3L, 18B written"), "{out}");
    assert!(out.contains("EXIT=0"), "{out}");
    let (before, after) = (value(&out, "BEFORE"), value(&out, "AFTER"));
    assert!(after.ends_with(" daemon:adm 640"), "owner and mode kept: {after}");
    assert_ne!(before, after.split(' ').next().unwrap_or_default(), "a new inode, renamed in: {out}");
    assert!(out.contains("added\nhello\nworld\n0"), "the edit, and no temporary file left: {out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudovi_escapes_fail_and_editor_variables_are_ignored() {
    let setup = format!(
        "{}\necho 'cagemarker:SECRETHASH:19000:0:99999:7:::' >> /etc/shadow\n\
         cp /etc/sudoers /tmp/sudoers.before 2>/dev/null || touch /etc/sudoers /tmp/sudoers.before",
        notes("escape.txt")
    );
    let environ = "@sh:for p in $(pgrep -f 'edit/[e]scape.txt'); do echo; echo \"ARGV=$(tr '\\0' ' ' < /proc/$p/cmdline)\"; \
                   echo \"ENV=$(tr '\\0' ' ' < /proc/$p/environ)\"; done > /tmp/editor";
    let steps = [
        ":!sh\\r",
        "\\r",
        ":shell\\r",
        "\\r",
        ":r !id\\r",
        "\\r",
        ":w /etc/x\\r",
        "\\r",
        ":e /etc/shadow\\r",
        "\\r",
        environ,
        ":q!\\r",
    ];
    let editor_env = "EDITOR='vi -- /etc/sudoers' VISUAL=/bin/sh SUDO_EDITOR=/bin/sh";
    let after = "cat /tmp/editor; ls /etc/x 2>&1; cmp /etc/sudoers /tmp/sudoers.before && echo SUDOERS-SAME; cat /u01/escape.txt";
    let out = drive(&setup, editor_env, "sudovi /u01/escape.txt", &steps, after);
    assert_eq!(out.matches("E145: Shell commands and some functionality not allowed").count(), 3, "{out}");
    assert!(!out.contains("uid="), ":r !id ran nothing: {out}");
    assert!(out.contains("E212: Can't open file for writing"), ":w /etc/x: {out}");
    assert!(out.contains("cannot access '/etc/x'"), "{out}");
    assert!(out.contains("\"/etc/shadow\" [New]") && !out.contains("SECRETHASH"), ":e /etc/shadow: {out}");
    let argv = value(&out, "ARGV");
    // The editor is the first of cage's list the host has (vim.tiny, else vim.basic...).
    let editor =
        cage::files::edit::EDITORS.iter().find(|e| std::path::Path::new(e).exists()).expect("an editor");
    let name = editor.rsplit('/').next().unwrap_or_default();
    assert!(
        argv.starts_with(&format!("{name} -Z ")) && argv.ends_with("-- /run/cage/edit/escape.txt "),
        "{argv}"
    );
    let env = value(&out, "ENV");
    assert!(!env.contains("EDITOR") && !env.contains("VISUAL"), "cage's environment is fresh: {env}");
    assert!(out.contains("SUDOERS-SAME") && out.contains("sudovi: /u01/escape.txt unchanged"), "{out}");
    assert!(out.contains("\nhello\nworld\n"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn killing_the_editor_or_ctrl_z_leaves_the_original_untouched() {
    let kill = "@sh:pkill -KILL -f 'edit/[k]ill.txt'";
    let after = "cat /u01/kill.txt; stat -c 'AFTER=%i' /u01/kill.txt";
    // The edit is even saved to the copy before the editor is killed.
    let out = drive(&notes("kill.txt"), "", "sudovi /u01/kill.txt", &["ggdd", ":w\\r", kill], after);
    assert!(out.contains("sudovi: the editor was ended by signal 9: /u01/kill.txt is untouched"), "{out}");
    assert!(out.contains("EXIT=1"), "{out}");
    assert!(out.contains("\nhello\nworld\n"), "{out}");
    assert_eq!(value(&out, "BEFORE"), value(&out, "AFTER"), "{out}");
    let out = drive(&notes("kill.txt"), "", "sudovi /u01/kill.txt", &["ggdd", "\\x1a", ":cq\\r"], after);
    assert!(out.contains("E145: Shell commands"), "Ctrl-Z does not suspend: {out}");
    assert!(out.contains("sudovi: the editor exited with status 1: /u01/kill.txt is untouched"), "{out}");
    assert!(out.contains("\nhello\nworld\n"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn sudovi_refuses_symlinks_read_only_paths_and_pipelines() {
    let setup = "ln -s /etc/shadow /u01/shadow; cp /etc/shadow /tmp/shadow.before";
    let out = run(
        setup,
        &["sudovi /u01/shadow", "sudovi /var/log/cage-test.log", "sudovi /u01/x | sudocat /u01/x"],
        "cmp /etc/shadow /tmp/shadow.before && echo SHADOW-SAME\n",
    );
    assert_eq!(exits(&out), [126, 126, 126], "{out}");
    assert!(out.contains("sudovi: needs a terminal"), "without one, nothing starts: {out}");
    assert!(out.contains("`/var/log/cage-test.log` is read-only"), "{out}");
    assert!(out.contains("must be alone on its line"), "{out}");
    assert!(out.contains("SHADOW-SAME"), "{out}");
    let out =
        drive(setup, "", "sudovi /u01/shadow", &[], "cmp /etc/shadow /tmp/shadow.before && echo SHADOW-SAME");
    assert!(out.contains("sudovi: /u01/shadow: is reached through a symlink"), "{out}");
    assert!(out.contains("SHADOW-SAME"), "{out}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn the_editor_jail_executes_nothing_but_the_editor_and_its_interpreter() {
    use cage::files::edit::{editor_jail, interpreter_of, EDIT_DIR};
    use cage::jail::{spawn, Identity, RealHost, Stdio};
    use std::io::Read;

    support::alone(|| {
        let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let set = cage::policy::PolicySet::load_dir(&policies).expect("bundled policies");
        let profile = set.profile(&["INFRA_DIAG".to_string()], cage::policy::Layer::Cps).expect("profile");
        // As the supervisor does: the edit directory is a tmpfs of this mount namespace, the operator's.
        std::fs::create_dir_all(EDIT_DIR).expect("edit dir");
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare");
        let none = None::<&str>;
        let private = nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE;
        nix::mount::mount(none, "/", none, private, none).expect("private");
        nix::mount::mount(
            Some("tmpfs"),
            EDIT_DIR,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("mode=0700"),
        )
        .expect("tmpfs");
        std::os::unix::fs::chown(EDIT_DIR, Some(65534), Some(65534)).expect("chown");
        // bash stands in for the editor, to try what a broken-out editor could.
        let shell = "/usr/bin/bash";
        let loader = interpreter_of(shell).expect("read bash").expect("bash is dynamically linked");
        let libc = std::fs::read_dir("/usr/lib")
            .expect("/usr/lib")
            .flatten()
            .map(|e| e.path().join("libc.so.6"))
            .find(|p| p.is_file())
            .expect("libc.so.6");
        let libc = libc.to_string_lossy();
        let ran = std::process::Command::new(&*libc).output().expect("libc.so.6 runs");
        assert!(ran.status.success(), "outside the jail libc.so.6 is an executable program");
        let nobody =
            Identity { name: "nobody".into(), uid: 65534, gid: 65534, groups: vec![], home: "/".into() };
        let mut plan = editor_jail(
            &profile,
            nobody,
            shell,
            Some(&loader),
            "/run/cage/edit/x",
            None,
            None,
            None,
            &RealHost,
        )
        .expect("plan");
        let script = format!(
            "{libc} >/dev/null 2>&1; echo LIBC=$?; {loader} --version >/dev/null 2>&1; echo LOADER=$?\n\
         {shell} -c 'exit 7'; echo SELF=$?; /usr/bin/env; echo ENV=$?\n\
         test -e /var/log; echo VARLOG=$?; test -e /u01; echo U01=$?; test -e /etc/shadow; echo SHADOW=$?\n\
         echo x 2>/dev/null > /usr/lib/x; echo LIBWRITE=$?; echo x 2>/dev/null > /tmp/x; echo TMP=$?\n\
         echo x > {EDIT_DIR}/y; echo EDIT=$?\n"
        );
        plan.argv = vec!["bash".into(), "-c".into(), script];
        plan.controlling_tty = false;
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let stdio = Stdio { stdout: Some(std::os::fd::AsRawFd::as_raw_fd(&write)), ..Stdio::default() };
        let running = spawn(&plan, stdio, true).expect("spawn");
        drop(write);
        let mut out = String::new();
        std::fs::File::from(read).read_to_string(&mut out).expect("output");
        running.wait().expect("the jail ran");
        for expected in [
            "LIBC=126",
            "LOADER=0",
            "SELF=7",
            "ENV=127",
            "VARLOG=1",
            "U01=1",
            "SHADOW=1",
            "LIBWRITE=1",
            "TMP=1",
            "EDIT=0",
        ] {
            assert!(out.contains(expected), "{expected} in {out}");
        }
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_rule_naming_one_file_reads_that_file_and_never_a_symlink_there() {
    // AVM_SYS_DIAG on guest_vm lists /etc/hosts itself as read-only.
    let guest = "sed -i 's/^layer = .*/layer = \"guest_vm\"/' /etc/cage/cage.toml\n\
                 grant --actions AVM_SYS_DIAG --duration 1h --req REQ-AVM";
    let out = run(guest, &["sudocat /etc/hosts"], "");
    let hosts = std::fs::read_to_string("/etc/hosts").expect("hosts");
    assert!(out.starts_with(&hosts) && exits(&out) == [0], "{out}");
    let linked = format!("{guest}\nmv /etc/hosts /etc/hosts.real; ln -s passwd /etc/hosts");
    let out = run(&linked, &["sudocat /etc/hosts"], "");
    assert!(!out.contains("root:x:0:0"), "read through the symlink: {out}");
    assert_eq!(exits(&out), [126], "{out}");
}
