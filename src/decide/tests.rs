//! Unit tests of the decision on small inline policies.

use super::*;
use crate::line::{Redirect, Word};
use crate::policy::{Layer, PolicySet};

const BASE: &str = r#"
network = "local"
blacklist = ["dd"]
[refuse]
sysresv = "can remove IPC resources"
[layer.cps]
file_commands = ["sudols", "sudocat", "sudotail", "sudocp", "sudorm", "sudovi"]
su_into = ["ecra"]
root_exec = ["/root/blackout.sh"]
[layer.cps.files]
read_write = ["/u01/"]
read_only = ["/var/log/", "/u01/archive/"]
deny = ["/var/log/audit/"]
[layer.cps.alias.virsh]
binary = "/usr/bin/virsh"
[layer.cps.alias.virsh.grammar.sub.list]
options = ["--all"]
[layer.cps.alias.cat]
applet = "sudocat"
[layer.cps.alias.du]
binary = "/usr/bin/du"
grammar = { options = ["-s", "-h"], args = ["<readable>+"] }
"#;

const CHILD: &str = r#"
inherits = ["BASE"]
[layer.cps.alias.virsh]
binary = "/usr/bin/virsh"
run_as = "root"
[layer.cps.alias.virsh.grammar.sub.destroy]
args = ["<name>"]
"#;

const FULL: &str = "full_access = true\n[layer.cps]\n";
const AVM: &str = "blacklist = [\"dd\"]\n[refuse]\nbash = \"shell\"\nperl = \"interpreter\"\n\
    vim = \"editor\"\ngcc = \"compiler\"\npython3 = \"interpreter\"\n[layer.guest_vm]\npath_commands = [\"/usr/bin\"]\n";

fn profile(granted: &[&str], layer: Layer) -> Profile {
    let sources = [("BASE.toml", BASE), ("CHILD.toml", CHILD), ("FULL.toml", FULL), ("AVM.toml", AVM)];
    let sources: Vec<(String, String)> =
        sources.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
    let set = PolicySet::from_sources(&sources).expect("valid test policies");
    let granted: Vec<String> = granted.iter().map(|g| g.to_string()).collect();
    set.profile(&granted, layer).expect("profile")
}

fn command(line: &str) -> Command {
    let mut argv = Vec::new();
    let mut redirects = Vec::new();
    let mut words = line.split(' ').peekable();
    while let Some(w) = words.next() {
        let op = match w {
            ">" => Some(RedirectOp::Out),
            "<" => Some(RedirectOp::In),
            _ => None,
        };
        let word = |t: &str| Word { text: t.to_string(), span: 0..0 };
        match (op, words.peek()) {
            (Some(op), Some(target)) => {
                redirects.push(Redirect { op, target: Some(word(target)), span: 0..0 });
                words.next();
            }
            _ => argv.push(word(w)),
        }
    }
    Command { argv, redirects }
}

fn session() -> Session {
    Session { login: "op".into(), cwd: "/u01".into(), home: "/home/op".into() }
}

fn decide_line(granted: &[&str], line: &str) -> Decision {
    decide(&profile(granted, Layer::Cps), &session(), &command(line))
}

fn denial(granted: &[&str], line: &str) -> Denial {
    match decide_line(granted, line) {
        Decision::Deny(d) => d,
        Decision::Allow(plan) => panic!("`{line}` should be denied, got {plan:?}"),
    }
}

fn allowed(granted: &[&str], line: &str) -> ExecPlan {
    match decide_line(granted, line) {
        Decision::Allow(plan) => plan,
        Decision::Deny(d) => panic!("`{line}` should be allowed, got: {d}"),
    }
}

#[test]
fn file_reads_name_the_most_specific_rule() {
    let plan = allowed(&["BASE"], "sudocat /var/log/messages");
    assert_eq!(plan.rules()[1].to_string(), "BASE/cps/files.read_only[/var/log/]");
    let Action::File(file) = &plan.action else { panic!("file plan") };
    assert_eq!(file.operands[0].base, "/var/log");
}

#[test]
fn dot_dot_cannot_climb_out_of_a_rule() {
    let d = denial(&["BASE"], "sudocat /var/log/../../etc/shadow");
    assert_eq!(d.reason, DenyReason::Secret { path: "/etc/shadow".into() });
    let d = denial(&["BASE"], "sudocat ../etc/passwd");
    assert_eq!(d.to_string(), "`/etc/passwd` is outside the readable paths of this grant");
    assert_eq!(d.at, Some(1));
}

#[test]
fn writes_need_a_read_write_rule_and_the_narrower_rule_wins() {
    assert!(decide_line(&["BASE"], "sudovi /u01/notes").is_allow());
    let d = denial(&["BASE"], "sudovi /var/log/messages");
    assert_eq!(d.to_string(), "`/var/log/messages` is read-only (BASE/cps/files.read_only[/var/log/])");
    assert!(matches!(denial(&["BASE"], "sudovi /u01/archive/x").reason, DenyReason::ReadOnly { .. }));
}

#[test]
fn sudocp_reads_its_source_and_writes_its_destination() {
    assert!(decide_line(&["BASE"], "sudocp -p /var/log/messages /u01/").is_allow());
    let d = denial(&["BASE"], "sudocp /u01/x /etc/cron.d/");
    assert_eq!(d.at, Some(2));
    assert!(matches!(denial(&["BASE"], "sudocp -t /etc/cron.d /u01/x").reason, DenyReason::Grammar { .. }));
}

#[test]
fn sudorm_refuses_the_root_of_its_rule() {
    assert!(matches!(denial(&["BASE"], "sudorm -r /u01/").reason, DenyReason::RuleRoot { .. }));
    assert!(decide_line(&["BASE"], "sudorm -rf /u01/old").is_allow());
}

#[test]
fn file_commands_not_granted_are_refused() {
    let d = denial(&["BASE"], "sudohead /var/log/messages");
    assert_eq!(d.to_string(), "sudohead is not allowed by this grant");
}

#[test]
fn deny_rules_and_secrets_win_over_read_rules() {
    assert!(matches!(
        denial(&["BASE"], "sudocat /var/log/audit/audit.log").reason,
        DenyReason::DeniedPath { .. }
    ));
    assert!(matches!(
        denial(&["BASE"], "sudocat /var/log/cage/audit.jsonl").reason,
        DenyReason::Secret { .. }
    ));
}

#[test]
fn blacklist_and_refusals_come_first() {
    let d = denial(&["BASE"], "dd if=/dev/zero of=x");
    assert_eq!(d.to_string(), "`dd` is blacklisted (BASE/cps/blacklist[dd])");
    let d = denial(&["BASE"], "sysresv");
    assert_eq!(d.to_string(), "`sysresv` is refused: can remove IPC resources (BASE/cps/refuse[sysresv])");
}

#[test]
fn aliases_follow_their_grammar_and_inheritance_adds_candidates() {
    assert!(decide_line(&["BASE"], "virsh list --all").is_allow());
    let d = denial(&["BASE"], "virsh destroy vm1");
    assert_eq!(d.to_string(), "virsh: `destroy` is not allowed (allowed: list) (BASE/cps/alias[virsh])");
    let plan = allowed(&["CHILD"], "virsh destroy vm1");
    assert_eq!(plan.rule.to_string(), "CHILD/cps/alias[virsh]");
    let Action::Run(run) = &plan.action else { panic!("run plan") };
    assert_eq!(run.run_as, crate::policy::RunAs::Root);
    assert_eq!(run.argv, vec!["virsh", "destroy", "vm1"]);
    let plan = allowed(&["CHILD"], "virsh list");
    assert_eq!(plan.rule.to_string(), "BASE/cps/alias[virsh] via CHILD");
}

#[test]
fn readable_alias_arguments_are_judged_against_the_file_rules() {
    assert!(decide_line(&["BASE"], "du -sh /var/log").is_allow());
    let d = denial(&["BASE"], "du -sh /etc");
    assert_eq!(d.at, Some(2));
}

#[test]
fn applet_aliases_run_the_file_command_under_the_alias_rule() {
    let plan = allowed(&["BASE"], "cat /var/log/messages");
    assert_eq!(plan.rule.to_string(), "BASE/cps/alias[cat]");
    assert!(matches!(
        plan.action,
        Action::File(FilePlan { command: crate::policy::FileCommand::Sudocat, .. })
    ));
}

#[test]
fn rootexec_allows_only_listed_scripts() {
    let plan = allowed(&["BASE"], "rootexec /root/blackout.sh on");
    assert_eq!(plan.rule.to_string(), "BASE/cps/root_exec[/root/blackout.sh]");
    let d = denial(&["BASE"], "rootexec /root/other.sh");
    assert_eq!(d.to_string(), "rootexec: `/root/other.sh` is not a listed script");
}

#[test]
fn su_allows_listed_users_only_and_never_options_or_root() {
    assert!(decide_line(&["BASE"], "su - ecra").is_allow());
    assert_eq!(denial(&["BASE"], "su - root").reason, DenyReason::SuRoot);
    assert!(matches!(denial(&["BASE"], "su root -c id").reason, DenyReason::Usage { .. }));
    assert!(matches!(denial(&["BASE"], "su -s /bin/sh ecra").reason, DenyReason::Usage { .. }));
    assert!(matches!(denial(&["BASE"], "su oracle").reason, DenyReason::SuNotListed { .. }));
}

#[test]
fn unknown_commands_and_paths_are_not_run() {
    assert!(denial(&["BASE"], "bash").reason.is_unknown_command());
    assert!(matches!(denial(&["BASE"], "/bin/sh").reason, DenyReason::PathCommand { .. }));
}

#[test]
fn redirections_obey_the_file_rules() {
    assert!(decide_line(&["BASE"], "virsh list > /u01/vms.txt").is_allow());
    assert!(matches!(denial(&["BASE"], "virsh list > /var/log/x").reason, DenyReason::ReadOnly { .. }));
    assert!(matches!(denial(&["BASE"], "virsh list < /etc/shadow").reason, DenyReason::Secret { .. }));
}

#[test]
fn cd_enters_only_readable_directories() {
    let plan = allowed(&["BASE"], "cd /var/log");
    assert_eq!(plan.action, Action::Builtin(Builtin::Cd("/var/log".into())));
    assert!(matches!(denial(&["BASE"], "cd /etc").reason, DenyReason::CdOutside { .. }));
    assert!(matches!(denial(&["BASE"], "help me too").reason, DenyReason::Usage { .. }));
    assert!(matches!(denial(&["BASE"], "pwd me").reason, DenyReason::Usage { .. }));
}

#[test]
fn path_commands_run_jailed_as_the_operator_unless_refused() {
    let p = profile(&["AVM"], Layer::GuestVm);
    let run = |line: &str| decide(&p, &session(), &command(line));
    let Decision::Allow(plan) = run("ls -la /u01") else { panic!("ls allowed") };
    let Action::Run(r) = plan.action else { panic!("run") };
    assert!(r.jailed);
    assert_eq!(r.program, Program::Search { dirs: vec!["/usr/bin".into()], name: "ls".into() });
    assert!(matches!(run("bash"), Decision::Deny(Denial { reason: DenyReason::Refused { .. }, .. })));
    assert!(matches!(run("dd"), Decision::Deny(Denial { reason: DenyReason::Blacklisted { .. }, .. })));
}

#[test]
fn a_refused_name_is_refused_under_its_versioned_and_variant_spellings() {
    let p = profile(&["AVM"], Layer::GuestVm);
    let refused_as = |line: &str| match decide(&p, &session(), &command(line)) {
        Decision::Deny(Denial { reason: DenyReason::Refused { rule, .. }, .. }) => rule.key,
        other => panic!("{line}: {other:?}"),
    };
    // escapes cases avm-names.6, .9, .11, .12, .52, .53
    assert_eq!(refused_as("perl5.36.0 -e 1"), "perl");
    assert_eq!(refused_as("python3.13 -c 1"), "python3");
    assert_eq!(refused_as("vim.tiny"), "vim");
    assert_eq!(refused_as("vim.basic"), "vim");
    assert_eq!(refused_as("gcc-12 -wrapper x"), "gcc");
    assert_eq!(refused_as("x86_64-linux-gnu-gcc-12"), "gcc");
    assert_eq!(refused_as("bash5"), "bash");
    for other in ["perlmon", "md5sum", "vimdiffx", "gccgo"] {
        assert!(decide(&p, &session(), &command(other)).is_allow(), "{other} is another program");
    }
}

#[test]
fn full_access_runs_anything_as_root_unjailed_but_still_refuses_the_blacklist() {
    let plan = allowed(&["FULL"], "bash");
    let Action::Run(r) = plan.action else { panic!("run") };
    assert!(!r.jailed);
    assert_eq!(r.run_as, crate::policy::RunAs::Root);
    assert!(matches!(denial(&["FULL", "BASE"], "dd").reason, DenyReason::Blacklisted { .. }));
}

#[test]
fn sudocp_judges_the_name_it_writes_into_a_directory_and_what_a_tree_holds() {
    let Decision::Allow(plan) = decide_line(&["BASE"], "sudocp /var/log/messages /u01/") else {
        panic!("allowed")
    };
    let Action::File(file) = plan.action else { panic!("a file command") };
    let paths: Vec<&str> = file.operands.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(paths, ["/var/log/messages", "/u01", "/u01/messages"]);
    // Copied into /u01 it would land in the read-only /u01/archive.
    assert!(matches!(denial(&["BASE"], "sudocp /var/log/archive /u01").reason, DenyReason::ReadOnly { .. }));
    let d = denial(&["BASE"], "sudocp -r /var/log /u01/logs");
    assert_eq!(d.at, Some(2));
    assert!(d.to_string().contains("`/var/log` holds `/var/log/cage`"), "{d}");
    assert!(decide_line(&["BASE"], "sudocp -r /var/log/app /u01").is_allow());
    assert!(denial(&["BASE"], "sudocp -r /u01/tree /u01/tree/sub").to_string().contains("inside the tree"));
    let d = denial(&["BASE"], "sudocp -r /var/log/app/u01 /");
    assert!(matches!(d.reason, DenyReason::PathOutside { write: true, .. }), "{d}");
}

#[test]
fn help_name_and_name_dash_dash_help_give_the_usage_the_grant_accepts_and_run_nothing() {
    for line in ["help sudotail", "sudotail --help", "help cat", "cat --help", "help du", "du --help"] {
        match decide_line(&["BASE"], line) {
            Decision::Allow(ExecPlan { action: Action::Builtin(Builtin::HelpFor(name)), .. }) => {
                assert_eq!(Some(name.as_str()), line.split(' ').find(|w| *w != "help"), "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
    assert!(matches!(decide_line(&["BASE"], "help du cat"), Decision::Deny(_)));
    assert!(matches!(decide_line(&["BASE"], "du --help -s"), Decision::Deny(_)), "only --help alone");
    let p = profile(&["BASE"], Layer::Cps);
    let tail = usage(&p, "sudotail").expect("granted");
    assert!(tail.contains("usage: sudotail [-n <int>] [-c <int>] [-f] [-F] [<path>]\n"), "{tail}");
    assert!(
        tail.contains("reads under: /u01/ /var/log/ /u01/archive/")
            && tail.contains("never: /var/log/audit/"),
        "{tail}"
    );
    assert!(!tail.contains("writes under"), "{tail}");
    let du = usage(&p, "du").expect("an alias");
    assert!(
        du.contains("runs: /usr/bin/du (as you, in a jail)")
            && du.contains("usage: du [-s] [-h] <readable>..."),
        "{du}"
    );
    let virsh = usage(&p, "virsh").expect("an alias");
    assert!(virsh.contains("usage: virsh list [--all]"), "{virsh}");
    assert!(usage(&p, "sudols").is_some() && usage(&p, "sudohead").is_none(), "only granted file commands");
    assert_eq!(usage(&p, "bash"), None);
    assert!(usage(&p, "rootexec").is_some_and(|u| u.contains("/root/blackout.sh")));
}
