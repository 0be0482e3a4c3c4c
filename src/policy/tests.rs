//! Unit tests of loading, validation messages, inheritance and the union.

use super::*;

fn set(files: &[(&str, &str)]) -> Result<PolicySet, Vec<String>> {
    let sources: Vec<(String, String)> = files.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
    PolicySet::from_sources(&sources).map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

fn errors(files: &[(&str, &str)]) -> Vec<String> {
    set(files).expect_err("should not validate")
}

#[test]
fn unknown_fields_are_reported_at_their_place() {
    let errs = errors(&[("A.toml", "network = \"none\"\nnetwrk = 1\n")]);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("A.toml:2:1: unknown field `netwrk`"), "{errs:?}");
}

#[test]
fn relative_and_non_normalized_paths_are_refused() {
    let text = "[layer.cps.files]\nread_only = [\"var/log\", \"/var//log\"]\n";
    let errs = errors(&[("A.toml", text)]);
    assert!(errs[0].starts_with("A.toml:2:14: `var/log`: relative path"), "{errs:?}");
    assert!(errs[1].starts_with("A.toml:2:25: `/var//log`: non-normalized"), "{errs:?}");
}

#[test]
fn unknown_and_cyclic_inherits_are_refused() {
    let errs = errors(&[("A.toml", "inherits = [\"B\"]\n"), ("B.toml", "inherits = [\"A\"]\n")]);
    assert!(errs.iter().any(|e| e.starts_with("A.toml:1:13: cyclic inherits: A -> B -> A")), "{errs:?}");
    let errs = errors(&[("A.toml", "inherits = [\"NOPE\"]\n")]);
    assert_eq!(errs, vec!["A.toml:1:13: inherits unknown action `NOPE`"]);
}

#[test]
fn an_alias_of_a_blacklisted_binary_is_a_contradiction() {
    let text = "blacklist = [\"dd\"]\n[layer.cps.alias.copy]\nbinary = \"/usr/bin/dd\"\n";
    let errs = errors(&[("A.toml", text)]);
    assert_eq!(errs, vec!["A.toml:3:10: alias `copy` runs `/usr/bin/dd`, which is blacklisted (`dd`)"]);
}

#[test]
fn the_blacklist_of_an_inherited_action_applies_too() {
    let errs = errors(&[
        ("BASE.toml", "blacklist = [\"/usr/bin/dd\"]\n"),
        ("A.toml", "inherits = [\"BASE\"]\n[layer.cps.alias.dd]\nbinary = \"/usr/bin/dd\"\n"),
    ]);
    assert_eq!(errs.len(), 1, "{errs:?}");
}

#[test]
fn dangerous_capabilities_and_root_su_are_refused() {
    let text = "[layer.cps]\nsu_into = [\"root\"]\n[layer.cps.alias.x]\nbinary = \"/bin/x\"\ncaps = [\"sys_admin\"]\n";
    let errs = errors(&[("A.toml", text)]);
    assert!(errs.iter().any(|e| e.contains("su_into may not name root")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("`sys_admin` would let a command undo its jail")), "{errs:?}");
}

#[test]
fn grammar_spec_errors_point_at_the_spec() {
    let text = "[layer.cps.alias.x]\nbinary = \"/bin/x\"\ngrammar.options = [\"-n <number>\"]\n";
    let errs = errors(&[("A.toml", text)]);
    assert!(errs[0].starts_with("A.toml:3:20: unknown value kind `number`"), "{errs:?}");
}

#[test]
fn duplicate_aliases_are_a_toml_error() {
    let text = "[layer.cps.alias.x]\nbinary = \"/bin/x\"\n[layer.cps.alias.x]\nbinary = \"/bin/y\"\n";
    let errs = errors(&[("A.toml", text)]);
    assert!(errs[0].starts_with("A.toml:3:"), "{errs:?}");
}

#[test]
fn union_keeps_nearest_alias_first_and_the_widest_network() {
    let policies = set(&[
        ("BASE.toml", "network = \"local\"\n[layer.cps.alias.x]\nbinary = \"/bin/base\"\n"),
        (
            "CHILD.toml",
            "inherits = [\"BASE\"]\nnetwork = \"layer\"\n[layer.cps.alias.x]\nbinary = \"/bin/child\"\n",
        ),
    ])
    .expect("valid");
    let p = policies.profile(&["CHILD".to_string()], Layer::Cps).expect("profile");
    let xs = &p.aliases["x"];
    assert_eq!(xs.len(), 2);
    assert_eq!(&*xs[0].origin.action, "CHILD");
    assert_eq!(&*xs[1].origin.action, "BASE");
    assert_eq!(&*xs[1].origin.granted, "CHILD");
    assert_eq!(p.network, Network::Layer);
}

#[test]
fn a_grant_without_rules_for_the_layer_is_refused() {
    let policies = set(&[("A.toml", "[layer.cps]\n")]).expect("valid");
    let err = policies.profile(&["A".to_string()], Layer::Host).expect_err("no host rules");
    assert_eq!(err.to_string(), "none of the granted actions (A) has rules for layer host");
    let err = policies.profile(&["B".to_string()], Layer::Cps).expect_err("unknown");
    assert_eq!(err.to_string(), "action `B` has no profile in the policy directory");
}

#[test]
fn a_session_records_the_most_any_granted_action_asks() {
    let policies = set(&[
        ("QUIET.toml", "[layer.cps]\n"),
        ("TYPED.toml", "record = \"input\"\n[layer.cps]\n"),
        ("WATCHED.toml", "inherits = [\"TYPED\"]\nrecord = \"io\"\n[layer.cps]\n"),
    ])
    .expect("valid");
    let record = |granted: &[&str]| {
        let granted: Vec<String> = granted.iter().map(|g| g.to_string()).collect();
        policies.profile(&granted, Layer::Cps).expect("profile").record
    };
    assert_eq!(record(&["QUIET"]), Record::None);
    assert_eq!(record(&["QUIET", "TYPED"]), Record::Input);
    assert_eq!(record(&["TYPED", "WATCHED"]), Record::Io);
}

#[test]
fn an_unknown_record_mode_is_refused_where_it_is_written() {
    let errs = errors(&[("A.toml", "record = \"video\"\n[layer.cps]\n")]);
    assert_eq!(errs, ["A.toml:1:10: unknown record `video` (expected none, input or io)"]);
}

#[test]
fn a_value_an_error_quotes_shows_its_control_characters_escaped() {
    // Found by the policy fuzz target: `cagectl check` printed the value as it was.
    for text in [
        "[layer.cps.alias.x]\nbinary = \"/bin/ls\"\nrun_as = \"cell\\u001b[2Jmonitor\"\n",
        "[layer.cps.alias.x]\nbinary = \"/bin/ls\"\ngrammar = { options = [\"-\\u202en\"] }\n",
        "inherits = [\"A\\tB\"]\n",
        "\"k\\u001b]0;x\\u0007\" = 1\n",
        "network = \"n\\u0085one\"\n",
    ] {
        for e in errors(&[("A.toml", text)]) {
            assert!(!e.chars().any(|c| c.is_control() || c == '\u{202e}'), "{e:?}");
        }
    }
}
