//! From raw TOML to a validated [`ActionProfile`], collecting every error as `FILE:LINE:COL`.
#![forbid(unsafe_code)]

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::model::*;
use super::path::{canonical_rule_path, rule_path_problem};
use super::reach::Reach;
use super::schema::*;
use super::types::*;
use crate::shown::shown;
use crate::source::SourceError;
use alias::alias;

mod alias;

/// Collects errors against one file's text.
pub(super) struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    pub errors: Vec<SourceError>,
    /// Byte offsets where lines start, found once: every alias records its place, and
    /// counting lines from the top for each one made a login's parse quadratic.
    line_starts: OnceCell<Vec<usize>>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a str, text: &'a str) -> Self {
        Checker { file, text, errors: Vec::new(), line_starts: OnceCell::new() }
    }

    /// Records an error at `span`. A message quotes values from the file as they are: their
    /// control and bidirectional characters are escaped, so that printing it shows them.
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(SourceError::at(self.file, self.text, span.start, shown(&message.into())));
    }

    /// The same place [`crate::source::line_col`] gives, through the line index.
    fn loc(&self, span: Range<usize>) -> Loc {
        let mut end = span.start.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect()
        });
        let line = starts.partition_point(|&start| start <= end);
        let col = self.text[starts[line - 1]..end].chars().count() + 1;
        Loc { line, col }
    }
}

/// Parses and validates one profile file. `id` is the file's stem.
pub(super) fn validate_profile(id: &str, file: &str, text: &str) -> Result<ActionProfile, Vec<SourceError>> {
    let raw: RawProfile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = shown(&e.message().trim_end().replace('\n', "; "));
        vec![SourceError::at(file, text, offset, message)]
    })?;
    let mut c = Checker::new(file, text);
    if !is_action_id(id) {
        c.errors.push(SourceError::at(
            file,
            text,
            0,
            format!("file name `{}` is not an action id (A-Z, 0-9, _)", shown(id)),
        ));
    }
    let profile = profile_from(&mut c, id, file, raw);
    if c.errors.is_empty() {
        Ok(profile)
    } else {
        Err(c.errors)
    }
}

fn profile_from(c: &mut Checker, id: &str, file: &str, raw: RawProfile) -> ActionProfile {
    let inherits = raw.inherits.iter().filter_map(|i| action_ref(c, i)).collect();
    let network = raw.network.as_ref().and_then(|n| network(c, n));
    let record = raw.record.as_ref().and_then(|r| record(c, r));
    let reach = reach(c, &raw.reach, network);
    let blacklist = raw.blacklist.iter().filter_map(|b| blacklist_entry(c, b)).collect();
    let refuse = text_map(c, &raw.refuse, "refused command", command_name_problem);
    let mut layers = BTreeMap::new();
    for (name, raw_layer) in raw.layer {
        match Layer::parse(name.get_ref()) {
            Some(layer) => {
                layers.insert(layer, layer_rules(c, raw_layer));
            }
            None => c.error(
                name.span(),
                format!("unknown layer `{}` (expected cps, host, cell or guest_vm)", name.get_ref()),
            ),
        }
    }
    ActionProfile {
        id: id.to_string(),
        file: file.to_string(),
        description: raw.description,
        is_abstract: raw.is_abstract,
        inherits,
        full_access: raw.full_access,
        network,
        reach,
        record,
        blacklist,
        refuse,
        layers,
    }
}

fn action_ref(c: &mut Checker, raw: &Text) -> Option<(String, Loc)> {
    if is_action_id(raw.get_ref()) {
        return Some((raw.get_ref().clone(), c.loc(raw.span())));
    }
    c.error(raw.span(), format!("`{}` is not an action id", raw.get_ref()));
    None
}

fn network(c: &mut Checker, raw: &Text) -> Option<Network> {
    let parsed = Network::parse(raw.get_ref());
    if parsed.is_none() {
        c.error(
            raw.span(),
            format!("unknown network `{}` (expected none, local, layer or any)", raw.get_ref()),
        );
    }
    parsed
}

fn reach(c: &mut Checker, raw: &[Text], network: Option<Network>) -> Vec<Reach> {
    if let (Some(first), Some(mode)) = (raw.first(), network.filter(|n| *n != Network::Layer)) {
        c.error(first.span(), format!("`reach` applies to network = \"layer\", not \"{}\"", mode.name()));
    }
    let parsed = raw.iter().filter_map(|r| match Reach::parse(r.get_ref()) {
        Ok(reach) => Some(reach),
        Err(e) => {
            c.error(r.span(), e);
            None
        }
    });
    parsed.collect()
}

fn record(c: &mut Checker, raw: &Text) -> Option<Record> {
    let parsed = Record::parse(raw.get_ref());
    if parsed.is_none() {
        c.error(raw.span(), format!("unknown record `{}` (expected none, input or io)", raw.get_ref()));
    }
    parsed
}

fn blacklist_entry(c: &mut Checker, raw: &Text) -> Option<String> {
    let entry = raw.get_ref();
    let problem = if entry.starts_with('/') { rule_path_problem(entry) } else { command_name_problem(entry) };
    match problem {
        Some(p) => {
            c.error(raw.span(), format!("blacklist entry `{entry}`: {p}"));
            None
        }
        None => Some(entry.clone()),
    }
}

/// Why `name` cannot be a command name (what an operator types first on a line).
pub fn command_name_problem(name: &str) -> Option<&'static str> {
    let ok_char = |ch: char| ch.is_ascii_alphanumeric() || "._+-".contains(ch);
    if name.is_empty() || name.starts_with('-') || name.starts_with('.') || !name.chars().all(ok_char) {
        return Some("not a command name (letters, digits, `._+-`, not starting with `-` or `.`)");
    }
    None
}

fn text_map(
    c: &mut Checker,
    raw: &TextMap,
    what: &str,
    key_problem: fn(&str) -> Option<&'static str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        if let Some(p) = key_problem(key.get_ref()) {
            c.error(key.span(), format!("{what} `{}`: {p}", key.get_ref()));
        } else if value.get_ref().trim().is_empty() || value.get_ref().chars().any(char::is_control) {
            c.error(
                value.span(),
                format!("{what} `{}` needs a reason without control characters", key.get_ref()),
            );
        } else {
            out.insert(key.get_ref().clone(), value.get_ref().clone());
        }
    }
    out
}

fn layer_rules(c: &mut Checker, raw: RawLayer) -> LayerRules {
    let root_exec = root_exec(c, &raw.root_exec, &raw.root_exec_sha256);
    LayerRules {
        aliases: raw
            .alias
            .into_iter()
            .filter_map(|(n, a)| alias(c, &n, a))
            .map(|a| (a.name.clone(), Arc::new(a)))
            .collect(),
        root_exec,
        su_into: raw.su_into.iter().filter_map(|u| su_target(c, u)).collect(),
        file_commands: raw.file_commands.iter().filter_map(|f| file_command(c, f)).collect(),
        files: FileRules {
            read_write: path_rules(c, &raw.files.read_write),
            read_only: path_rules(c, &raw.files.read_only),
            tool_rw: path_rules(c, &raw.files.tool_rw),
            deny: path_rules(c, &raw.files.deny),
        },
        view: raw
            .view
            .map(|v| View { readable: path_rules(c, &v.readable), writable: path_rules(c, &v.writable) }),
        path_commands: path_rules(c, &raw.path_commands),
    }
}

pub(super) fn path_rules(c: &mut Checker, raw: &[Text]) -> Vec<PathRule> {
    raw.iter().filter_map(|p| path_rule(c, p)).collect()
}

fn path_rule(c: &mut Checker, raw: &Text) -> Option<PathRule> {
    let written = raw.get_ref();
    if let Some(problem) = rule_path_problem(written) {
        c.error(raw.span(), format!("`{}`: {problem}", shown(written)));
        return None;
    }
    Some(PathRule { path: canonical_rule_path(written), written: written.clone() })
}

fn root_exec(c: &mut Checker, paths: &[Text], pins: &TextMap) -> Vec<RootExec> {
    for path in pins.keys() {
        if !paths.iter().any(|p| p.get_ref() == path.get_ref()) {
            c.error(path.span(), format!("sha256 pin for `{}`, which is not in root_exec", path.get_ref()));
        }
    }
    let mut out = Vec::new();
    for raw in paths {
        let Some(rule) = path_rule(c, raw) else {
            continue;
        };
        if raw.get_ref().ends_with('/') {
            c.error(raw.span(), "root_exec names a script, not a directory");
            continue;
        }
        let pin = pins.iter().find(|(p, _)| p.get_ref() == raw.get_ref()).map(|(_, h)| h);
        let sha256 = pin.and_then(|h| sha256_pin(c, h));
        out.push(RootExec { path: rule.path, sha256 });
    }
    out
}

fn sha256_pin(c: &mut Checker, raw: &Text) -> Option<String> {
    let hex = raw.get_ref();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Some(hex.clone());
    }
    c.error(raw.span(), "sha256 must be 64 lower-case hex digits");
    None
}

fn su_target(c: &mut Checker, raw: &Text) -> Option<String> {
    let name = raw.get_ref();
    if name == "root" {
        c.error(raw.span(), "su_into may not name root (use full_access for root shells)");
    } else if !is_unix_name(name) {
        c.error(raw.span(), format!("`{name}` is not a valid user name"));
    } else {
        return Some(name.clone());
    }
    None
}

fn file_command(c: &mut Checker, raw: &Text) -> Option<FileCommand> {
    let parsed = FileCommand::parse(raw.get_ref());
    if parsed.is_none() {
        c.error(raw.span(), format!("unknown file command `{}` (expected sudols, sudocat, sudotail, sudohead, sudocp, sudovi or sudorm)", raw.get_ref()));
    }
    parsed
}

#[cfg(test)]
mod loc_tests {
    use super::Checker;
    use crate::source::line_col;

    #[test]
    fn the_line_index_places_every_offset_as_line_col_does() {
        let text = "ab\ncdé\n\nf = \"ü\"\nlast";
        let c = Checker::new("f.toml", text);
        for offset in 0..text.len() + 3 {
            let loc = c.loc(offset..offset);
            assert_eq!((loc.line, loc.col), line_col(text, offset), "offset {offset}");
        }
    }
}
