//! Every fact of actions.md through `decide` on the bundled policies (tests/facts/actions.txt),
//! plus the structural facts a table of lines cannot show: layers, networks, tool paths, views.

use std::path::Path;

use cage::decide::{decide, Action, Decision, DenyReason, ExecPlan, Session};
use cage::line::parse_line;
use cage::policy::{Layer, Network, PolicySet, Profile};
use fact_rows::Row;

#[path = "facts/rows.rs"]
mod fact_rows;

fn policies() -> PolicySet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    PolicySet::load_dir(&dir).unwrap_or_else(|errors| {
        panic!(
            "bundled policies invalid:\n{}",
            errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
        )
    })
}

fn profile(set: &PolicySet, actions: &str, layer: Layer) -> Profile {
    let granted: Vec<String> = actions.split(',').map(str::to_string).collect();
    set.profile(&granted, layer).unwrap_or_else(|e| panic!("{actions} on {layer}: {e}"))
}

fn session() -> Session {
    Session { login: "op".into(), cwd: "/u01".into(), home: "/home/op".into() }
}

/// Checks one `allow[...]` expectation against the plan; returns what did not hold.
fn check_allow(plan: &ExecPlan, conditions: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let rules: Vec<String> = plan.rules().iter().map(|r| r.to_string()).collect();
    let rules = rules.join(" + ");
    for condition in conditions.split(',').filter(|c| !c.is_empty()) {
        let (key, value) = condition.split_once('=').unwrap_or((condition, ""));
        let holds = match (key, &plan.action) {
            ("rule", _) => rules.contains(value),
            ("as", Action::Run(run)) => run.run_as.to_string() == value,
            ("as", Action::RootExec(_)) => value == "root",
            ("as", Action::File(_)) => value == "root",
            ("tty", Action::Run(run)) => run.tty,
            ("unjailed", Action::Run(run)) => !run.jailed,
            ("caps", Action::Run(run)) => run.caps.iter().any(|c| c == value),
            _ => false,
        };
        if !holds {
            problems.push(format!("expected {condition}; plan {:?} rules {rules}", plan.action));
        }
    }
    problems
}

fn deny_kind(reason: &DenyReason) -> &'static str {
    match reason {
        DenyReason::UnknownCommand { .. } => "unknown",
        DenyReason::Blacklisted { .. } => "blacklisted",
        DenyReason::Refused { .. } => "refused",
        DenyReason::Grammar { .. } => "grammar",
        DenyReason::ReadOnly { .. } => "readonly",
        DenyReason::PathOutside { .. } | DenyReason::CdOutside { .. } => "outside",
        DenyReason::Secret { .. } => "secret",
        DenyReason::DeniedPath { .. } => "denied",
        DenyReason::FileCommandNotGranted { .. } => "notgranted",
        DenyReason::SuNotListed { .. } | DenyReason::SuRoot => "su",
        DenyReason::RootExecNotListed { .. } => "rootexec",
        DenyReason::Usage { .. } => "usage",
        DenyReason::PathCommand { .. } => "path",
        DenyReason::RuleRoot { .. } => "ruleroot",
        DenyReason::Unreachable { .. } => "network",
    }
}

/// One table row: returns a description of the mismatch, if any.
fn run_row(set: &PolicySet, row: &str) -> Option<String> {
    // A row that does not read as ACTIONS LAYER VERDICT LINE fails: it would check nothing.
    let Some(Row { actions, layer, verdict, line }) = fact_rows::row(row) else {
        return Some(format!("`{row}`: not ACTIONS LAYER VERDICT LINE"));
    };
    let layer = Layer::parse(layer).unwrap_or_else(|| panic!("bad layer in `{row}`"));
    let profile = profile(set, actions, layer);
    let parsed = match parse_line(line.as_bytes()) {
        Ok(p) => p,
        Err(e) => return Some(format!("`{line}` does not parse: {e}")),
    };
    let Some(command) = parsed.commands().next() else {
        return Some(format!("`{row}`: no command to decide"));
    };
    let decision = decide(&profile, &session(), command);
    let problem = match (verdict, &decision) {
        (v, Decision::Allow(plan)) if v.starts_with("allow") => {
            let conditions = v.trim_start_matches("allow").trim_matches(['[', ']']);
            let problems = check_allow(plan, conditions);
            (!problems.is_empty()).then(|| problems.join("; "))
        }
        (v, Decision::Deny(d)) if v.starts_with("allow") => Some(format!("denied: {d}")),
        ("unknown", Decision::Deny(d)) => {
            (!d.reason.is_unknown_command()).then(|| format!("refused, not unknown: {d}"))
        }
        ("deny", Decision::Deny(d)) => {
            d.reason.is_unknown_command().then(|| format!("unknown, not refused: {d}"))
        }
        (v, Decision::Deny(d)) if v.starts_with("deny:") => {
            let kind = deny_kind(&d.reason);
            (kind != &v[5..]).then(|| format!("denied as {kind}, not {}: {d}", &v[5..]))
        }
        (_, Decision::Allow(plan)) => Some(format!("allowed by {}", plan.rule)),
        (v, _) => Some(format!("bad verdict `{v}`")),
    };
    problem.map(|p| format!("{actions} {} `{line}`: {p}", layer.name()))
}

/// Runs every row of `table` (blank lines and `#` comments skipped) through `run`; fails
/// with every row that did not hold, or when the table has fewer than `at_least` rows.
fn check_table(table: &str, at_least: usize, run: impl Fn(&PolicySet, &str) -> Option<String>) {
    let set = policies();
    let rows: Vec<&str> =
        table.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let failures: Vec<String> = rows.iter().filter_map(|row| run(&set, row)).collect();
    assert!(rows.len() >= at_least, "the table has only {} rows", rows.len());
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fact_of_the_actions_holds_through_decide() {
    check_table(include_str!("facts/actions.txt"), 300, run_row);
}

/// One row of `facts/refusals.txt`: the line must be denied with exactly the reason given.
fn run_refusal_row(set: &PolicySet, row: &str) -> Option<String> {
    let Some((head, reason)) = row.split_once(" => ") else {
        return Some(format!("`{row}`: no ` => REASON`"));
    };
    let mut fields = head.split_whitespace();
    let (actions, layer_name) = (fields.next()?, fields.next()?);
    let line = fields.collect::<Vec<_>>().join(" ");
    let layer = Layer::parse(layer_name).unwrap_or_else(|| panic!("bad layer in `{row}`"));
    let parsed = match parse_line(line.as_bytes()) {
        Ok(p) => p,
        Err(e) => return Some(format!("`{line}` does not parse: {e}")),
    };
    let Some(command) = parsed.commands().next() else {
        return Some(format!("`{row}`: no command to decide"));
    };
    let decision = decide(&profile(set, actions, layer), &session(), command);
    let problem = match decision {
        Decision::Allow(plan) => format!("allowed by {}", plan.rule),
        Decision::Deny(d) if d.to_string() == reason.trim() => return None,
        Decision::Deny(d) => format!("denied with another reason:\n    {d}"),
    };
    Some(format!("{actions} {layer_name} `{line}`: {problem}"))
}

#[test]
fn every_warning_of_a_tools_manual_is_refused_with_its_reason() {
    check_table(include_str!("facts/refusals.txt"), 30, run_refusal_row);
}

#[test]
fn each_action_applies_to_exactly_its_layers() {
    let set = policies();
    let layers = |id: &str| -> Vec<Layer> {
        Layer::ALL.into_iter().filter(|l| set.profile(&[id.to_string()], *l).is_ok()).collect()
    };
    use Layer::*;
    assert_eq!(layers("INFRA_CPS_ONLY"), vec![Cps]);
    for infra in ["INFRA_DIAG", "INFRA_UPDATE_RESTART", "INFRA_HYPERVISOR", "INFRA_FULL"] {
        assert_eq!(layers(infra), vec![Cps, Host, Cell], "{infra}");
    }
    for avm in ["AVM_SYS_DIAG", "AVM_SYS_MAINT", "AVM_FULL"] {
        assert_eq!(layers(avm), vec![GuestVm], "{avm}");
    }
    assert!(!layers("CCC_SYS_ADMIN_FULL_ACCESS").is_empty());
}

#[test]
fn network_follows_each_action() {
    let set = policies();
    let net = |id: &str, layer| profile(&set, id, layer).network;
    assert_eq!(net("INFRA_CPS_ONLY", Layer::Cps), Network::Local, "may not ssh onward");
    for id in ["INFRA_DIAG", "INFRA_UPDATE_RESTART", "INFRA_HYPERVISOR"] {
        assert_eq!(net(id, Layer::Host), Network::Layer, "{id} may ssh to hosts of the system");
    }
    assert_eq!(net("AVM_SYS_DIAG", Layer::GuestVm), Network::None, "no egress");
    assert!(net("AVM_SYS_MAINT", Layer::GuestVm) <= Network::Local, "no egress to other hosts");
    assert_eq!(net("INFRA_FULL", Layer::Cps), Network::Any);
}

fn paths(list: &[cage::policy::Sourced<cage::policy::PathRule>]) -> Vec<&str> {
    let mut v: Vec<&str> = list.iter().map(|s| s.item.written.as_str()).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn tool_paths_are_writable_for_tools_but_listed_apart_from_the_file_rules() {
    let set = policies();
    for layer in [Layer::Host, Layer::Cell] {
        let diag = profile(&set, "INFRA_DIAG", layer);
        assert_eq!(paths(&diag.tool_rw), vec!["/opt/oracle", "/var"], "INFRA_DIAG {layer}");
        assert_eq!(paths(&diag.read_only), vec!["/var/log/"], "INFRA_DIAG {layer}");
        assert!(diag.read_write.is_empty(), "INFRA_DIAG {layer} has no read-write path");
    }
    let host = profile(&set, "INFRA_UPDATE_RESTART", Layer::Host);
    assert_eq!(paths(&host.tool_rw), vec!["/home/dbmadmin", "/opt/oracle", "/var"]);
    let cell = profile(&set, "INFRA_UPDATE_RESTART", Layer::Cell);
    assert_eq!(paths(&cell.tool_rw), vec!["/home/celladmin/", "/opt/oracle", "/var"]);
    let cps = profile(&set, "INFRA_DIAG", Layer::Cps);
    assert_eq!(paths(&cps.read_write), vec!["/u01/"]);
    let only = profile(&set, "INFRA_CPS_ONLY", Layer::Cps);
    assert_eq!(paths(&only.read_write), vec!["/opt/oci/exacc/", "/u01/"]);
}

#[test]
fn file_commands_per_layer() {
    let set = policies();
    let names = |p: &Profile| p.file_commands.keys().map(|c| c.name()).collect::<Vec<_>>();
    let all = vec!["sudols", "sudocat", "sudotail", "sudohead", "sudocp", "sudovi", "sudorm"];
    let no_vi_rm = vec!["sudols", "sudocat", "sudotail", "sudohead", "sudocp"];
    assert_eq!(names(&profile(&set, "INFRA_CPS_ONLY", Layer::Cps)), all);
    assert_eq!(names(&profile(&set, "INFRA_DIAG", Layer::Cps)), all);
    assert_eq!(names(&profile(&set, "INFRA_DIAG", Layer::Host)), no_vi_rm);
    assert_eq!(names(&profile(&set, "INFRA_HYPERVISOR", Layer::Cell)), no_vi_rm);
}

#[test]
fn the_guest_vm_view_lists_the_readable_dirs_and_writable_tmp() {
    let set = policies();
    let readable = [
        "/proc",
        "/sys",
        "/tmp",
        "/usr/lib64",
        "/usr/bin",
        "/usr/etc",
        "/usr/include",
        "/usr/lib",
        "/usr/libexec",
        "/usr/local",
        "/usr/share",
        "/opt/nessus",
        "/usr/java",
        "/var",
        "/u01",
        "/u02",
        "/acfs01",
        "/opt/oracle/dcs/log",
        "/opt/oracle.ExaWatcher/archive",
    ];
    for id in ["AVM_SYS_DIAG", "AVM_SYS_MAINT"] {
        let p = profile(&set, id, Layer::GuestVm);
        let view = p.view.as_ref().unwrap_or_else(|| panic!("{id} spells out its view"));
        let listed: Vec<&str> = view.readable.iter().map(|r| r.path.as_str()).collect();
        for dir in readable {
            assert!(listed.contains(&dir), "{id}: {dir} readable");
        }
        let writable: Vec<&str> = view.writable.iter().map(|r| r.path.as_str()).collect();
        let expected: Vec<&str> = if id == "AVM_SYS_DIAG" { vec!["/tmp"] } else { vec![] };
        assert_eq!(writable, expected, "{id}");
        assert!(p.read_write.is_empty(), "{id}: nothing writable through the file commands");
    }
}

#[test]
fn full_access_actions_are_unjailed_root_and_the_others_are_not() {
    let set = policies();
    for (id, layer) in [("INFRA_FULL", Layer::Host), ("AVM_FULL", Layer::GuestVm)] {
        assert!(profile(&set, id, layer).full_access.is_some(), "{id}");
    }
    for id in ["INFRA_CPS_ONLY", "INFRA_DIAG", "INFRA_UPDATE_RESTART", "INFRA_HYPERVISOR"] {
        assert!(profile(&set, id, Layer::Cps).full_access.is_none(), "{id}");
    }
    let diag = profile(&set, "INFRA_DIAG", Layer::Cps);
    let line = parse_line(b"docker ps").expect("parses");
    let plan = decide(&diag, &session(), line.commands().next().expect("one command"));
    let Decision::Allow(ExecPlan { action: Action::Run(run), .. }) = plan else {
        panic!("docker ps allowed")
    };
    assert!(run.jailed, "every command of a non-full action runs in the jail");
}
