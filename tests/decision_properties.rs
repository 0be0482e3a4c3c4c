//! Properties of the decision, on generated lines, grants and paths (no root, no I/O but the
//! bundled policies): grants are the bundled actions (`policies/`) combined on a layer, or
//! small generated profiles whose file rules nest, overlap and deny; lines are file commands
//! under their own and familiar names, `cd`, aliases, the lines of `facts/actions.txt`,
//! redirections, joined by `|`, `;`, `&&` and `||`; paths are rule directories, secrets and
//! deny entries, with `..`, `.`, `//` and trailing slashes, absolute or relative.
//!
//! - an allowed file command's every path, as the decision resolves it lexically, lies under
//!   a rule that allows that access (the most specific one, for a write), under no deny rule
//!   and no secret, and is the path typed;
//! - refusing any stage refuses the line, at that stage or an earlier one;
//! - a path with `..`, `.`, `//` or a trailing `/` is never allowed where its normalized form
//!   is refused, and is allowed by the same rule for the same access;
//! - `cd DIR` never lands outside the readable rules (nor in a deny rule or a secret);
//! - the decision does not depend on the order of the actions in a grant.
//!
//! Each property runs [`CASES`] cases from a fixed seed, so `make test` (the `tests` phase)
//! runs the same cases every time, and writes nothing into the source tree. To look further:
//!
//! ```text
//! PROPTEST_CASES=20000 PROPTEST_RNG_SEED=$RANDOM cargo nextest run -E 'binary(decision_properties)'
//! ```
//!
//! A failure prints the smallest case found (proptest shrinks it); make it a plain test.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use cage::decide::{decide, decide_line, Access, Action, Builtin, Decision, ExecPlan, Rule, Session};
use cage::line::{parse_line, Line};
use cage::policy::path::SECRETS;
use cage::policy::{Layer, Origin, PolicySet, Profile};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, RngSeed};

#[path = "facts/rows.rs"]
mod fact_rows;

/// Cases per property in `make test`: the file runs in a few seconds in debug.
const CASES: u32 = 1024;
const SEED: u64 = 0x0ca9e;

/// [`CASES`] from [`SEED`], unless PROPTEST_CASES or PROPTEST_RNG_SEED say otherwise; never a
/// persistence file.
fn config() -> Config {
    let env = Config::default();
    let set = |name: &str| std::env::var_os(name).is_some();
    Config {
        cases: if set("PROPTEST_CASES") { env.cases } else { CASES },
        rng_seed: if set("PROPTEST_RNG_SEED") { env.rng_seed } else { RngSeed::Fixed(SEED) },
        failure_persistence: None,
        ..env
    }
}

const HOME: &str = "/home/op";

// ---------------------------------------------------------------------------------------
// The oracle: the file rules as docs/file-commands.md and docs/policy-format.md state them,
// written here rather than taken from the decision.

/// `path` is `base` or lies below it (both normalized).
fn within(path: &str, base: &str) -> bool {
    base == "/" || path == base || path.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'))
}

/// The fixed secrets, and ssh host keys.
fn secret(path: &str) -> bool {
    SECRETS.iter().any(|s| within(path, s)) || (path.starts_with("/etc/ssh/") && path.contains("_key"))
}

fn denied(profile: &Profile, path: &str) -> bool {
    profile.deny.iter().any(|d| within(path, &d.item.path))
}

/// `path` joined to `cwd` when relative, `.` and `..` resolved by text (`..` at `/` stays
/// there), no empty component, no trailing slash.
fn lexical(cwd: &str, path: &str) -> String {
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{cwd}/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

fn canonical(rule_path: &str) -> String {
    let trimmed = rule_path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

/// Why `grant` (an operand or redirection target of an allowed plan) breaks the file rules.
fn breaks_rules(profile: &Profile, grant: &cage::decide::PathGrant) -> Option<String> {
    let path = grant.path.as_str();
    if profile.full_access.is_some() {
        return grant.rule.is_some().then(|| format!("{path}: a path rule in a full-access session"));
    }
    if secret(path) {
        return Some(format!("{path} is a secret"));
    }
    if let Some(d) = profile.deny.iter().find(|d| within(path, &d.item.path)) {
        return Some(format!("{path} lies in the deny rule {}", d.item.path));
    }
    let rw = profile.read_write.iter().map(|r| (r.item.path.as_str(), true));
    let ro = profile.read_only.iter().map(|r| (r.item.path.as_str(), false));
    let covering: Vec<(&str, bool)> = rw.chain(ro).filter(|(r, _)| within(path, r)).collect();
    let Some(longest) = covering.iter().map(|(r, _)| r.len()).max() else {
        return Some(format!("{path} lies under no read_write or read_only rule"));
    };
    let nearest_writable = covering.iter().any(|(r, w)| r.len() == longest && *w);
    if grant.access == Access::Write && !nearest_writable {
        return Some(format!("{path} written, but its nearest rule is read-only"));
    }
    if !covering.iter().any(|(r, _)| *r == grant.base && r.len() == longest) {
        return Some(format!("{path} resolved from {}, not its nearest rule", grant.base));
    }
    let kind = grant.rule.as_ref().map(|r| r.kind);
    if grant.access == Access::Write && kind != Some("files.read_write") {
        return Some(format!("{path} written under {kind:?}"));
    }
    let unfenced = profile
        .deny
        .iter()
        .map(|d| &d.item.path)
        .find(|d| within(d, &grant.base) && !grant.fences.contains(d));
    unfenced.map(|d| format!("{path}: the deny rule {d} beneath {} is not among its fences", grant.base))
}

/// `cd` may enter `dir`: readable by the file rules or the jail's view, not denied, no secret.
fn enterable(profile: &Profile, dir: &str) -> bool {
    if profile.full_access.is_some() {
        return true;
    }
    let rules = profile.read_write.iter().chain(&profile.read_only).map(|r| &r.item);
    let view = profile.view.iter().flat_map(|v| v.readable.iter().chain(&v.writable));
    !secret(dir) && !denied(profile, dir) && rules.chain(view).any(|r| within(dir, &r.path))
}

// ---------------------------------------------------------------------------------------
// Grants.

fn bundled() -> &'static PolicySet {
    static SET: LazyLock<PolicySet> = LazyLock::new(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        PolicySet::load_dir(&dir).unwrap_or_else(|e| panic!("bundled policies invalid: {e:?}"))
    });
    &SET
}

/// The grantable bundled actions, and by layer those with rules for it.
type Grantable = (Vec<String>, BTreeMap<Layer, Vec<String>>);

fn grantable() -> &'static Grantable {
    static ACTIONS: LazyLock<Grantable> = LazyLock::new(|| {
        let set = bundled();
        let all: Vec<String> = set.actions().map(|a| a.id.clone()).collect();
        let by_layer = Layer::ALL
            .iter()
            .map(|&layer| {
                let applies = all.iter().filter(|a| set.profile(&[a.to_string()], layer).is_ok());
                (layer, applies.cloned().collect())
            })
            .collect();
        (all, by_layer)
    });
    &ACTIONS
}

/// Directories of the generated profiles' rules.
const SYNTHETIC_DIRS: &[&str] = &[
    "/",
    "/u01",
    "/u01/app",
    "/u01/app/log",
    "/u01/archive",
    "/var",
    "/var/log",
    "/var/log/app",
    "/var/log/audit",
    "/var/log/cage",
    "/etc",
    "/etc/ssh",
    "/opt/oracle",
    "/home/op",
    "/tmp",
];

const FILE_COMMANDS: &[&str] = &["sudols", "sudocat", "sudotail", "sudohead", "sudocp", "sudovi", "sudorm"];

/// One generated action (on the cps layer).
#[derive(Debug, Clone)]
struct Synthetic {
    file_commands: Vec<&'static str>,
    read_write: Vec<&'static str>,
    read_only: Vec<&'static str>,
    deny: Vec<&'static str>,
    view: Option<Vec<&'static str>>,
    /// `cat` as an alias of `sudocat`, as INFRA_DIAG has it.
    cat_alias: bool,
    blacklist_dd: bool,
}

impl Synthetic {
    fn toml(&self) -> String {
        let list = |items: &[&str]| items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ");
        let mut text = String::new();
        if self.blacklist_dd {
            text.push_str("blacklist = [\"dd\"]\n");
        }
        text.push_str(&format!("[layer.cps]\nfile_commands = [{}]\n", list(&self.file_commands)));
        text.push_str(&format!(
            "[layer.cps.files]\nread_write = [{}]\nread_only = [{}]\ndeny = [{}]\n",
            list(&self.read_write),
            list(&self.read_only),
            list(&self.deny)
        ));
        if let Some(readable) = &self.view {
            text.push_str(&format!("[layer.cps.view]\nreadable = [{}]\n", list(readable)));
        }
        if self.cat_alias {
            text.push_str("[layer.cps.alias.cat]\napplet = \"sudocat\"\n");
        }
        text
    }
}

fn synthetic() -> impl Strategy<Value = Synthetic> {
    let dirs = || subsequence(SYNTHETIC_DIRS.to_vec(), 0..=3).prop_shuffle();
    (
        prop_oneof![
            3 => Just(FILE_COMMANDS.to_vec()),
            1 => subsequence(FILE_COMMANDS.to_vec(), 0..=FILE_COMMANDS.len()),
        ],
        (dirs(), dirs(), subsequence(SYNTHETIC_DIRS.to_vec(), 0..=2)),
        proptest::option::weighted(0.3, dirs()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(file_commands, (read_write, read_only, deny), view, cat_alias, blacklist_dd)| {
            Synthetic { file_commands, read_write, read_only, deny, view, cat_alias, blacklist_dd }
        })
}

/// A grant: bundled actions on a layer, or generated actions `S0`, `S1`... on cps, in the
/// order granted.
#[derive(Debug, Clone)]
struct Grant {
    layer: Layer,
    actions: Vec<String>,
    synthetic: Vec<Synthetic>,
}

impl Grant {
    fn set(&self) -> PolicySet {
        if self.synthetic.is_empty() {
            return bundled().clone();
        }
        let sources: Vec<(String, String)> =
            self.synthetic.iter().enumerate().map(|(i, s)| (format!("S{i}.toml"), s.toml())).collect();
        PolicySet::from_sources(&sources).unwrap_or_else(|e| panic!("generated policy invalid: {e:?}"))
    }

    fn profile(&self) -> Profile {
        self.profile_in(&self.actions)
    }

    fn profile_in(&self, order: &[String]) -> Profile {
        let set = self.set();
        set.profile(order, self.layer).unwrap_or_else(|e| panic!("{order:?} on {}: {e}", self.layer))
    }
}

fn bundled_grant() -> impl Strategy<Value = Grant> {
    bundled_grant_of(1)
}

/// Bundled actions on a layer: at least `least` (and at most 3) of those with rules for it,
/// perhaps one more that has none (its blacklist and refusals still apply).
fn bundled_grant_of(least: usize) -> impl Strategy<Value = Grant> {
    select(Layer::ALL.to_vec())
        .prop_flat_map(move |layer| {
            let (all, by_layer) = grantable();
            let applies = by_layer[&layer].clone();
            let most = applies.len().min(3);
            (Just(layer), subsequence(applies, least.min(most)..=most), subsequence(all.clone(), 0..=1))
        })
        .prop_flat_map(|(layer, mut actions, more)| {
            for action in more {
                if !actions.contains(&action) {
                    actions.push(action);
                }
            }
            (Just(layer), Just(actions).prop_shuffle())
        })
        .prop_map(|(layer, actions)| Grant { layer, actions, synthetic: Vec::new() })
}

fn synthetic_grant() -> impl Strategy<Value = Grant> {
    proptest::collection::vec(synthetic(), 1..=3).prop_flat_map(|synthetic| {
        let ids: Vec<String> = (0..synthetic.len()).map(|i| format!("S{i}")).collect();
        let layer = Just(Layer::Cps);
        (layer, Just(ids).prop_shuffle(), Just(synthetic)).prop_map(|(layer, actions, synthetic)| Grant {
            layer,
            actions,
            synthetic,
        })
    })
}

fn grant() -> impl Strategy<Value = Grant> {
    prop_oneof![bundled_grant(), synthetic_grant()]
}

// ---------------------------------------------------------------------------------------
// Paths and lines.

/// Every directory a bundled rule names, on any layer, the generated rules' directories,
/// the secrets and the operator's home.
fn directories() -> &'static Vec<String> {
    static DIRS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let set = bundled();
        let (all, _) = grantable();
        let mut dirs: Vec<String> = SYNTHETIC_DIRS.iter().chain(SECRETS).map(|d| d.to_string()).collect();
        dirs.extend(["/etc/ssh/ssh_host_rsa_key".to_string(), HOME.to_string()]);
        for action in all {
            for layer in Layer::ALL {
                let Ok(p) = set.profile(std::slice::from_ref(action), layer) else { continue };
                let rules = [&p.read_write, &p.read_only, &p.deny, &p.tool_rw, &p.path_commands];
                let view = p.view.iter().flat_map(|v| v.readable.iter().chain(&v.writable));
                dirs.extend(rules.into_iter().flatten().map(|r| &r.item).chain(view).map(|r| r.path.clone()));
            }
        }
        dirs.sort();
        dirs.dedup();
        dirs
    });
    &DIRS
}

/// Components added below a directory: climbs, no-ops, empty ones (`//`), names of files,
/// of deny entries and secrets.
const COMPONENTS: &[&str] = &[
    "..",
    "..",
    ".",
    "",
    "messages",
    "x",
    "audit",
    "cage",
    "log",
    "app",
    "archive",
    "shadow",
    "ssh_host_ed25519_key",
];

/// A path as an operator may type it: a rule directory, then components; with or without a
/// trailing slash; absolute, climbing to `/` from the working directory, or relative.
fn path_word() -> impl Strategy<Value = String> {
    let components = proptest::collection::vec(select(COMPONENTS), 0..4);
    let dir = prop_oneof![select(SYNTHETIC_DIRS).prop_map(String::from), select(directories().clone())];
    (dir, components, any::<bool>(), 0..4u8).prop_map(|(dir, components, slash, form)| {
        let below = components.join("/");
        let mut path = match form {
            0 => format!("{dir}/{below}"),
            1 => format!("../../../../../../..{dir}/{below}"),
            2 => below,
            _ => format!("./{}/{below}", dir.trim_start_matches('/')),
        };
        if slash {
            path.push('/');
        } else if path.len() > 1 {
            // Without the slash `components` left (`DIR/`), unless that is all there is.
            path = path.strip_suffix('/').map(str::to_string).unwrap_or(path);
        }
        if path.is_empty() {
            ".".into()
        } else {
            path
        }
    })
}

/// What a typed path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
    /// `cd`'s directory, or an alias's `<readable>` operand: judged, but no operand of a plan.
    Other,
}

#[derive(Debug, Clone)]
enum Part {
    Word(String),
    Path(String, Need),
    Redirect(&'static str, String),
}

/// One command of a line, as the parts it is typed from.
#[derive(Debug, Clone)]
struct Stage {
    parts: Vec<Part>,
}

impl Stage {
    /// The text, each typed path passed through `path`.
    fn render(&self, path: &dyn Fn(&str) -> String) -> String {
        let words = self.parts.iter().map(|part| match part {
            Part::Word(w) => w.clone(),
            Part::Path(p, _) => path(p),
            Part::Redirect(op, p) => format!("{op} {}", path(p)),
        });
        words.collect::<Vec<_>>().join(" ")
    }

    fn text(&self) -> String {
        self.render(&|p| p.to_string())
    }

    fn operands(&self) -> impl Iterator<Item = (&str, Access)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Path(p, Need::Read) => Some((p.as_str(), Access::Read)),
            Part::Path(p, Need::Write) => Some((p.as_str(), Access::Write)),
            _ => None,
        })
    }

    fn redirects(&self) -> impl Iterator<Item = (&str, Access)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Redirect(op, p) => {
                Some((p.as_str(), if *op == "<" { Access::Read } else { Access::Write }))
            }
            _ => None,
        })
    }

    /// `cd`'s argument, if this is `cd` (none for a bare `cd`).
    fn cd_argument(&self) -> Option<Option<&str>> {
        match self.parts.as_slice() {
            [Part::Word(cd), Part::Path(dir, _)] if cd == "cd" => Some(Some(dir)),
            // A line of facts/actions.txt, or a bare `cd`.
            [Part::Word(line)] => match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["cd"] => Some(None),
                ["cd", dir] => Some(Some(*dir)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// File commands under their own names and the familiar ones, with the options each takes.
const FILE_STAGES: &[(&str, &[&str])] = &[
    ("sudols", &["-l", "-a", "-R"]),
    ("ls", &["-l", "-R"]),
    ("sudocat", &[]),
    ("cat", &[]),
    ("sudotail", &["-n 5", "-f"]),
    ("tail", &["-n 5"]),
    ("sudohead", &["-n 5", "-c 10"]),
    ("head", &["-c 10"]),
    ("sudocp", &["-r", "-p"]),
    ("cp", &["-r"]),
    ("sudorm", &["-r", "-f"]),
    ("rm", &["-f"]),
    ("sudovi", &[]),
    ("vi", &[]),
    ("vim", &[]),
];

fn needs(name: &str, index: usize, count: usize) -> Need {
    match name {
        "sudorm" | "rm" | "sudovi" | "vi" | "vim" => Need::Write,
        "sudocp" | "cp" if index + 1 == count => Need::Write,
        _ => Need::Read,
    }
}

fn redirect() -> impl Strategy<Value = Part> {
    prop_oneof![
        (select(vec![">", ">>", "<", "2>", "2>>"]), path_word()).prop_map(|(op, p)| Part::Redirect(op, p)),
        Just(Part::Word("2>&1".into())),
    ]
}

fn file_stage() -> impl Strategy<Value = Stage> {
    let paths = prop_oneof![
        1 => proptest::collection::vec(path_word(), 0..=0),
        6 => proptest::collection::vec(path_word(), 1..=2),
        1 => proptest::collection::vec(path_word(), 3..=3),
    ];
    let redirects = proptest::collection::vec(redirect(), 0..=1);
    (select(FILE_STAGES), any::<u8>(), paths, redirects).prop_map(
        |((name, options), picked, paths, redirects)| {
            let mut parts = vec![Part::Word(name.to_string())];
            let chosen = options.iter().enumerate().filter(|(i, _)| picked & (1 << i) != 0);
            parts.extend(chosen.flat_map(|(_, o)| o.split(' ')).map(|w| Part::Word(w.to_string())));
            let count = paths.len();
            parts.extend(paths.into_iter().enumerate().map(|(i, p)| Part::Path(p, needs(name, i, count))));
            parts.extend(redirects);
            Stage { parts }
        },
    )
}

fn cd_stage() -> impl Strategy<Value = Stage> {
    proptest::option::weighted(0.9, path_word()).prop_map(|dir| {
        let mut parts = vec![Part::Word("cd".into())];
        parts.extend(dir.map(|d| Part::Path(d, Need::Other)));
        Stage { parts }
    })
}

/// An alias whose operand must be readable (`du` of CPS_ALIASES: `<readable>+`).
fn alias_stage() -> impl Strategy<Value = Stage> {
    (select(vec!["-s", "-sh"]), path_word(), proptest::collection::vec(redirect(), 0..=1)).prop_map(
        |(option, path, redirects)| {
            let mut parts =
                vec![Part::Word("du".into()), Part::Word(option.into()), Part::Path(path, Need::Other)];
            parts.extend(redirects);
            Stage { parts }
        },
    )
}

/// The lines of `facts/actions.txt` that are one command, and a few more that some grants
/// refuse.
fn fact_lines() -> &'static Vec<String> {
    static LINES: LazyLock<Vec<String>> = LazyLock::new(|| {
        let mut lines: Vec<String> = fact_rows::rows(include_str!("facts/actions.txt"))
            .map(|row| row.expect("a row of facts/actions.txt").line.to_string())
            .chain(
                ["pwd", "help", "bash", "dd", "su root", "rootexec /u01/x.sh", "nosuchcommand"]
                    .map(String::from),
            )
            .filter(|line| {
                let parsed = parse_line(line.as_bytes());
                parsed
                    .is_ok_and(|l| l.commands().count() == 1 && l.commands().all(|c| c.redirects.is_empty()))
            })
            .collect();
        lines.sort();
        lines.dedup();
        lines
    });
    &LINES
}

fn fact_stage() -> impl Strategy<Value = Stage> {
    select(fact_lines().clone()).prop_map(|line| Stage { parts: vec![Part::Word(line)] })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![6 => file_stage(), 2 => cd_stage(), 1 => alias_stage(), 3 => fact_stage()]
}

const JOINS: &[&str] = &[" | ", " ; ", " && ", " || "];

/// Stages joined by `|`, `;`, `&&` and `||`.
#[derive(Debug, Clone)]
struct TypedLine {
    stages: Vec<Stage>,
    joins: Vec<&'static str>,
}

impl TypedLine {
    fn text(&self) -> String {
        let mut text = String::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                text.push_str(self.joins[i - 1]);
            }
            text.push_str(&stage.text());
        }
        text
    }

    fn parse(&self) -> Line {
        let text = self.text();
        let line = parse_line(text.as_bytes()).unwrap_or_else(|e| panic!("`{text}` does not parse: {e}"));
        assert_eq!(line.commands().count(), self.stages.len(), "`{text}`");
        line
    }
}

fn typed_line(stages: impl Strategy<Value = Stage>) -> impl Strategy<Value = TypedLine> {
    (proptest::collection::vec(stages, 1..=4), proptest::collection::vec(select(JOINS), 3))
        .prop_map(|(stages, joins)| TypedLine { stages, joins })
}

fn session(cwd: &str) -> Session {
    Session { login: "op".into(), cwd: cwd.into(), home: HOME.into() }
}

fn cwd() -> impl Strategy<Value = String> {
    select(directories().clone())
}

/// The plan as a decision, without the names of the rules it cites: which action wrote a
/// rule, and how its path was spelled, depend on which of two equal rules was met first.
fn unnamed(plan: &ExecPlan) -> ExecPlan {
    let anonymous = |rule: &mut Rule| {
        rule.origin = Origin { action: "".into(), granted: "".into() };
        rule.key = canonical(&rule.key);
    };
    let mut plan = plan.clone();
    anonymous(&mut plan.rule);
    let mut grants: Vec<&mut cage::decide::PathGrant> =
        plan.redirects.iter_mut().filter_map(|r| r.target.as_mut()).collect();
    if let Action::File(file) = &mut plan.action {
        grants.extend(file.operands.iter_mut());
    }
    for grant in grants {
        if let Some(rule) = grant.rule.as_mut() {
            anonymous(rule);
        }
        grant.fences.sort();
    }
    plan
}

// ---------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    /// An allowed file command's operands and redirections are the paths typed, resolved
    /// lexically, each under a rule that allows its access and under no deny rule or secret.
    #[test]
    fn an_allowed_path_lies_under_a_rule_that_allows_it(grant in grant(), line in typed_line(stage()), start in cwd()) {
        let profile = grant.profile();
        let parsed = line.parse();
        let Ok(plans) = decide_line(&profile, &session(&start), &parsed) else { return Ok(()) };
        let mut cwd = start.clone();
        for (stage, plan) in line.stages.iter().zip(&plans) {
            let typed: Vec<(String, Access)> = stage.operands().map(|(p, a)| (lexical(&cwd, p), a)).collect();
            if let Action::File(file) = &plan.action {
                prop_assert!(file.operands.len() >= typed.len(), "`{}`: {:?}", stage.text(), file.operands);
                for ((path, access), grant) in typed.iter().zip(&file.operands) {
                    prop_assert_eq!((path, *access), (&grant.path, grant.access), "`{}` in {}", stage.text(), cwd);
                }
                for grant in &file.operands {
                    if let Some(why) = breaks_rules(&profile, grant) {
                        prop_assert!(false, "`{}` in {} allowed: {}", stage.text(), cwd, why);
                    }
                    if matches!(file.command, cage::policy::FileCommand::Sudorm) && profile.full_access.is_none() {
                        prop_assert_ne!(&grant.path, &grant.base, "`{}` removes a rule's own directory", stage.text());
                    }
                }
            }
            let typed: Vec<(String, Access)> = stage.redirects().map(|(p, a)| (lexical(&cwd, p), a)).collect();
            let targets: Vec<_> = plan.redirects.iter().filter_map(|r| r.target.as_ref()).collect();
            prop_assert_eq!(typed.len(), targets.len(), "`{}`", stage.text());
            for ((path, access), grant) in typed.iter().zip(targets) {
                prop_assert_eq!((path, *access), (&grant.path, grant.access), "`{}` in {}", stage.text(), cwd);
                if let Some(why) = breaks_rules(&profile, grant) {
                    prop_assert!(false, "`{}` in {} allowed: {}", stage.text(), cwd, why);
                }
            }
            if let Action::Builtin(Builtin::Cd(dir)) = &plan.action {
                cwd = dir.clone();
            }
        }
    }

    /// A line with one stage replaced by a refused command is refused, at that stage or at
    /// the first one the line already refused.
    #[test]
    fn refusing_any_stage_refuses_the_line(
        grant in grant(),
        line in typed_line(stage()),
        at in any::<prop::sample::Index>(),
        pick in any::<prop::sample::Index>(),
        start in cwd(),
    ) {
        let profile = grant.profile();
        let session = session(&start);
        // Commands each grant refuses wherever it is: absolute paths, names, su root.
        let refusals = ["sudocat /etc/shadow", "cat /var/log/cage/audit.jsonl", "sudorm -r /root", "su root",
            "dd", "bash", "nosuchcommand", "sudovi /etc/sudoers", "pwd > /etc/gshadow", "sudols /var/log/cage"];
        let refused: Vec<&str> = refusals.iter().copied().filter(|r| {
            let parsed = parse_line(r.as_bytes()).expect("a refusal parses");
            let refused = parsed.commands().all(|c| !decide(&profile, &session, c).is_allow());
            refused
        }).collect();
        prop_assert!(!refused.is_empty(), "no refusal for {:?}", grant.actions);
        let first = decide_line(&profile, &session, &line.parse()).err().map(|d| d.index);
        let at = at.index(line.stages.len());
        let mut changed = line.clone();
        changed.stages[at] = Stage { parts: vec![Part::Word(pick.get(&refused).to_string())] };
        let parsed = changed.parse();
        let decided = decide_line(&profile, &session, &parsed);
        let expected = first.map_or(at, |f| f.min(at));
        prop_assert_eq!(decided.err().map(|d| d.index), Some(expected), "`{}`", changed.text());
    }

    /// `..`, `.`, `//` and a trailing `/` never allow what the normalized path does not, and
    /// what they allow, they allow by the same rule for the same access.
    #[test]
    fn a_messy_path_is_never_allowed_more_than_its_normal_form(
        grant in grant(),
        stage in prop_oneof![4 => file_stage(), 1 => cd_stage(), 1 => alias_stage()],
        start in cwd(),
    ) {
        let profile = grant.profile();
        let session = session(&start);
        let decided = |text: &str| {
            let parsed = parse_line(text.as_bytes()).unwrap_or_else(|e| panic!("`{text}`: {e}"));
            let command = parsed.commands().next().cloned().expect("one command");
            decide(&profile, &session, &command)
        };
        let messy = stage.text();
        let normal = stage.render(&|p| lexical(&start, p));
        let Decision::Allow(as_typed) = decided(&messy) else { return Ok(()) };
        let Decision::Allow(normalized) = decided(&normal) else {
            let why = format!("`{messy}` in {start} allowed, `{normal}` refused");
            return Err(TestCaseError::fail(why));
        };
        match (&as_typed.action, &normalized.action) {
            (Action::File(a), Action::File(b)) => {
                prop_assert_eq!(&a.operands, &b.operands, "`{}` / `{}` in {}", messy, normal, start);
                prop_assert_eq!(&a.options, &b.options);
            }
            (Action::Builtin(a), Action::Builtin(b)) => prop_assert_eq!(a, b, "`{}` / `{}`", messy, normal),
            (Action::Run(_), Action::Run(_)) => prop_assert_eq!(&as_typed.rule, &normalized.rule),
            (a, b) => prop_assert!(false, "`{}` is {:?}, `{}` is {:?}", messy, a, normal, b),
        }
        prop_assert_eq!(&as_typed.redirects, &normalized.redirects, "`{}` / `{}` in {}", messy, normal, start);
    }

    /// Every `cd` of an allowed line lands in a directory the rules let the session read (or,
    /// with no argument, in the home directory), never in a deny rule or a secret.
    #[test]
    fn cd_never_leaves_the_readable_rules(
        grant in grant(),
        line in typed_line(prop_oneof![4 => cd_stage(), 1 => stage()]),
        start in cwd(),
    ) {
        let profile = grant.profile();
        let parsed = line.parse();
        let mut cwd = start.clone();
        // Each stage alone too, from where the line has got to: a refused stage ends the line.
        for (stage, command) in line.stages.iter().zip(parsed.commands()) {
            let plan = match decide(&profile, &session(&cwd), command) {
                Decision::Allow(plan) => plan,
                Decision::Deny(_) => break,
            };
            if let Action::Builtin(Builtin::Cd(dir)) = &plan.action {
                match stage.cd_argument() {
                    Some(Some(arg)) => {
                        prop_assert_eq!(dir, &lexical(&cwd, arg), "`{}` in {}", stage.text(), cwd);
                        prop_assert!(enterable(&profile, dir), "`{}` in {} enters {}", stage.text(), cwd, dir);
                    }
                    Some(None) => prop_assert_eq!(dir, HOME),
                    None => prop_assert!(false, "`{}` decided as cd", stage.text()),
                }
                cwd = dir.clone();
            }
        }
        if let Ok(plans) = decide_line(&profile, &session(&start), &parsed) {
            let entered = plans.iter().rev().find_map(|p| match &p.action {
                Action::Builtin(Builtin::Cd(dir)) => Some(dir.clone()),
                _ => None,
            });
            prop_assert_eq!(entered.unwrap_or(start), cwd, "`{}`", line.text());
        }
    }

    /// The same line under the same actions granted in another order: the same stages are
    /// allowed, with the same plans (but for which of two equal rules they name).
    #[test]
    fn the_order_of_the_actions_in_a_grant_does_not_matter(
        (grant, reordered) in prop_oneof![3 => bundled_grant_of(2), 1 => synthetic_grant()].prop_flat_map(|g| { let actions = g.actions.clone(); (Just(g), Just(actions).prop_shuffle()) }),
        line in typed_line(prop_oneof![2 => fact_stage(), 1 => stage()]),
        start in cwd(),
    ) {
        let (first, second) = (grant.profile(), grant.profile_in(&reordered));
        let session = session(&start);
        let parsed = line.parse();
        for command in parsed.commands() {
            let (a, b) = (decide(&first, &session, command), decide(&second, &session, command));
            let text = command.argv_strings().join(" ");
            match (&a, &b) {
                (Decision::Allow(a), Decision::Allow(b)) => prop_assert_eq!(unnamed(a), unnamed(b), "`{}`", text),
                (Decision::Deny(_), Decision::Deny(_)) => {}
                _ => prop_assert!(false, "`{}`: {:?} then {:?} gives {:?}, then {:?}", text, grant.actions, reordered, a, b),
            }
        }
        let index = |profile: &Profile| decide_line(profile, &session, &parsed).err().map(|d| d.index);
        prop_assert_eq!(index(&first), index(&second), "`{}`", line.text());
    }
}

/// Found by `the_order_of_the_actions_in_a_grant_does_not_matter`: INFRA_DIAG and
/// INFRA_HYPERVISOR both define `cellcli` on the cell layer, and both grammars accept a
/// `list`; granted as `INFRA_DIAG,INFRA_HYPERVISOR` it ran as cellmonitor, granted as
/// `INFRA_HYPERVISOR,INFRA_DIAG` as celladmin.
#[test]
fn which_definition_of_an_alias_runs_does_not_depend_on_the_grant_order() {
    let line = parse_line(br#"cellcli -e "list cell attributes name,status""#).expect("parses");
    let command = line.commands().next().expect("one command");
    let run_as = |actions: [&str; 2]| {
        let granted: Vec<String> = actions.map(String::from).to_vec();
        let profile = bundled().profile(&granted, Layer::Cell).expect("profile");
        match decide(&profile, &session("/"), command) {
            Decision::Allow(ExecPlan { action: Action::Run(run), .. }) => run.run_as,
            other => panic!("{actions:?}: {other:?}"),
        }
    };
    assert_eq!(run_as(["INFRA_DIAG", "INFRA_HYPERVISOR"]), run_as(["INFRA_HYPERVISOR", "INFRA_DIAG"]));
}

/// The generators reach what the properties are about: allowed reads, writes, copies,
/// redirections and `cd`s, through messy paths, under bundled and generated grants. (A
/// property that only ever sees refusals checks nothing.)
#[test]
fn the_generated_cases_reach_allowances() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config());
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..400 {
        let case = (grant(), stage(), cwd()).new_tree(&mut runner).expect("a case").current();
        let (grant, stage, cwd) = case;
        let Ok(line) = parse_line(stage.text().as_bytes()) else { continue };
        let Some(command) = line.commands().next() else { continue };
        let Decision::Allow(plan) = decide(&grant.profile(), &session(&cwd), command) else { continue };
        let messy = stage.operands().any(|(p, _)| p.contains("..") || p.contains("//") || p.ends_with('/'));
        let bundled = grant.synthetic.is_empty();
        let mut saw = |what| *seen.entry(what).or_default() += 1;
        match &plan.action {
            Action::File(f) if f.operands.iter().any(|o| o.access == Access::Write) => saw("write"),
            Action::File(_) => saw("read"),
            Action::Builtin(Builtin::Cd(_)) => saw("cd"),
            _ => saw("other"),
        }
        if matches!(&plan.action, Action::File(_)) {
            saw(if bundled { "file, bundled" } else { "file, generated" });
            if messy {
                saw("file, messy path");
            }
        }
        if plan.redirects.iter().any(|r| r.target.as_ref().is_some_and(|t| t.access == Access::Write)) {
            saw("redirect");
        }
    }
    let wanted =
        ["write", "read", "cd", "other", "file, bundled", "file, generated", "file, messy path", "redirect"];
    let missing: Vec<_> = wanted.iter().filter(|w| seen.get(*w).copied().unwrap_or(0) < 3).collect();
    assert!(missing.is_empty(), "rarely or never allowed: {missing:?} (seen {seen:?})");
}
