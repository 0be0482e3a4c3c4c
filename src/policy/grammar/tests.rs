//! Unit tests of grammar specs and matching.

use super::*;

fn opt(spec: &str) -> OptionSpec {
    parse_option_spec(spec).expect("valid option spec")
}

fn arg(spec: &str) -> ArgSpec {
    parse_arg_spec(spec).expect("valid arg spec")
}

fn tcpdump() -> Grammar {
    let mut g = Grammar {
        options: vec![opt("-n"), opt("-i, --interface <name>"), opt("-c <int>"), opt("-v")],
        args: vec![arg("<word>*")],
        ..Grammar::default()
    };
    g.refuse.insert("-z".into(), "runs a command on each saved file".into());
    g
}

fn virsh() -> Grammar {
    let list = Grammar { options: vec![opt("--all"), opt("--name")], ..Grammar::default() };
    let mut g = Grammar::default();
    g.subs.insert("list".into(), list);
    g.refuse.insert("create".into(), "defines a domain from operator XML".into());
    g
}

fn error_of(g: &Grammar, args: &[&str]) -> GrammarError {
    g.check(args).expect_err("should be refused").error
}

#[test]
fn option_specs_parse_synonyms_and_value_kinds() {
    let spec = opt("-n, --lines <int>");
    assert_eq!(spec.names, vec!["-n", "--lines"]);
    assert_eq!(spec.value, Some(ValueKind::Int));
    assert_eq!(
        opt("--output <short|json>").value,
        Some(ValueKind::OneOf(vec!["short".into(), "json".into()]))
    );
    assert!(parse_option_spec("lines").is_err());
    assert!(parse_option_spec("-n <number>").is_err());
}

#[test]
fn arg_specs_parse_repeat_marks_and_literals() {
    assert_eq!(arg("<name>?").repeat, Repeat::Optional);
    assert_eq!(arg("<word>+").repeat, Repeat::OneOrMore);
    assert_eq!(arg("dev").kind, ArgKind::Literal("dev".into()));
    assert!(parse_arg_spec("<text>").is_err());
    assert!(spec::check_arg_order(&[arg("<word>*"), arg("<int>")]).is_err());
}

#[test]
fn getopt_clusters_and_attached_values_are_understood() {
    let g = tcpdump();
    assert!(g.check(&["-nv", "-i", "eth0", "port", "22"]).is_ok());
    assert!(g.check(&["-ieth0", "-c5"]).is_ok());
    assert!(g.check(&["--interface=eth0"]).is_ok());
}

#[test]
fn a_refused_flag_hidden_in_a_cluster_is_still_refused() {
    let err = error_of(&tcpdump(), &["-nz", "sh"]);
    assert!(matches!(err, GrammarError::Refused { ref token, .. } if token == "-z"), "{err:?}");
}

#[test]
fn unlisted_and_abbreviated_long_options_are_refused() {
    let g = tcpdump();
    assert!(matches!(error_of(&g, &["-w", "/tmp/x"]), GrammarError::OptionNotAllowed { .. }));
    assert!(matches!(error_of(&g, &["--interf", "eth0"]), GrammarError::OptionNotAllowed { .. }));
    assert!(matches!(error_of(&g, &["-v=1"]), GrammarError::OptionNotAllowed { .. }));
}

#[test]
fn values_are_checked_by_kind() {
    let g = tcpdump();
    assert!(matches!(error_of(&g, &["-c", "ten"]), GrammarError::BadValue { .. }));
    assert!(matches!(error_of(&g, &["-i", "-z"]), GrammarError::BadValue { .. }));
    assert!(matches!(error_of(&g, &["-i"]), GrammarError::MissingValue { .. }));
    assert!(matches!(error_of(&g, &["port;id"]), GrammarError::BadValue { .. }));
}

#[test]
fn subcommands_select_their_own_grammar() {
    let g = virsh();
    assert!(g.check(&["list", "--all"]).is_ok());
    assert!(matches!(error_of(&g, &["destroy", "vm1"]), GrammarError::SubcommandNotAllowed { .. }));
    assert!(matches!(error_of(&g, &[]), GrammarError::MissingSubcommand { .. }));
    assert!(matches!(error_of(&g, &["create", "x.xml"]), GrammarError::Refused { .. }));
    assert!(matches!(error_of(&g, &["list", "--all", "extra"]), GrammarError::UnexpectedArgument { .. }));
}

#[test]
fn split_levels_rematch_quoted_command_text() {
    let mut verbs = Grammar::default();
    verbs.subs.insert("list".into(), Grammar { args: vec![arg("<word>*")], ..Grammar::default() });
    verbs.split = true;
    let mut g = Grammar::default();
    g.subs.insert("-e".into(), verbs);
    assert!(g.check(&["-e", "list cell detail"]).is_ok());
    assert!(g.check(&["-e", "list", "celldisk"]).is_ok());
    assert!(matches!(error_of(&g, &["-e", "drop celldisk all"]), GrammarError::SubcommandNotAllowed { .. }));
}

#[test]
fn readable_arguments_are_reported_for_the_file_rules() {
    let g = Grammar { options: vec![opt("-s")], args: vec![arg("<readable>+")], ..Grammar::default() };
    let matched = g.check(&["-s", "/var/log", "/u01"]).expect("accepted");
    assert_eq!(matched.readable, vec![1, 2]);
    assert_eq!(matched.positionals, vec![1, 2]);
}

#[test]
fn destinations_are_reported_for_the_network_mode_even_before_a_subcommand() {
    let sel = Grammar { args: vec![arg("<url>?")], ..Grammar::default() };
    let mut g = Grammar { options: vec![opt("-H <host>"), opt("-f <readable>")], ..Grammar::default() };
    g.subs.insert("sel".into(), sel);
    let matched = g.check(&["-H", "192.0.2.9", "-f", "/etc/x", "sel", "http://h/"]).expect("accepted");
    assert_eq!(matched.destinations, vec![1, 5]);
    assert_eq!(matched.readable, vec![3], "a readable option before the subcommand is judged too");
}

#[test]
fn double_dash_ends_options_but_kinds_still_apply() {
    let g = Grammar { args: vec![arg("<name>*")], ..Grammar::default() };
    assert!(g.check(&["--", "vm1"]).is_ok());
    assert!(matches!(error_of(&g, &["--", "-x"]), GrammarError::BadValue { .. }));
}

#[test]
fn urls_must_be_http_or_https() {
    assert!(ValueKind::Url.accepts("https://example.invalid/x"));
    assert!(!ValueKind::Url.accepts("file:///etc/shadow"));
    assert!(!ValueKind::Url.accepts("gopher://x"));
    assert!(!ValueKind::Url.accepts("http://a b"));
}

#[test]
fn errors_point_at_the_offending_argument() {
    let denial = tcpdump().check(&["-n", "-c", "x"]).expect_err("bad value");
    assert_eq!(denial.at, Some(2));
}

#[test]
fn an_option_allowed_once_is_refused_when_repeated_in_any_form() {
    let mut g = Grammar { options: vec![opt("-x"), opt("-v"), opt("--hex")], ..Grammar::default() };
    g.options[0].names.push("--hex".into());
    g.once.insert("-x".into(), "-xxx can crash some devices".into());
    assert!(g.check(&["-x", "-vvv"]).is_ok(), "once is fine, other flags repeat freely");
    for args in [&["-xxx"][..], &["-x", "-x"], &["-vx", "-xv"], &["-x", "--hex"]] {
        let error = g.check(args).expect_err("a repeat").error.to_string();
        assert_eq!(error, "`-x` is refused: may be given once (-xxx can crash some devices)", "{args:?}");
    }
}
