//! Action profiles: loading, validation, inheritance, and the per-session union.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

pub mod cache;
pub mod grammar;
pub mod gtfobins;
pub(crate) mod model;
pub mod path;
mod profile;
pub mod reach;
mod schema;
pub mod types;
mod validate;

pub use model::{ActionProfile, Alias, AliasTarget, FileRules, LayerRules, PathRule, RootExec, View};
pub use profile::{Origin, Profile, ProfileError, Sourced};
pub use types::{FileCommand, Layer, Network, Record, RunAs};
pub use validate::command_name_problem;

use crate::source::SourceError;

/// Commands the shell itself provides; no alias may take these names.
pub const BUILTIN_NAMES: &[&str] =
    &["help", "exit", "logout", "pwd", "cd", "history", "grant", "rootexec", "su"];

/// Every profile of a policy directory, validated, with inheritance checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicySet {
    profiles: BTreeMap<String, ActionProfile>,
}

impl PolicySet {
    /// Reads every `*.toml` file of `dir`. I/O errors are reported against the file.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, Vec<SourceError>> {
        let io_error = |file: &str, e: std::io::Error| vec![SourceError::whole_file(file, e.to_string())];
        let shown = dir.display().to_string();
        let entries = fs::read_dir(dir).map_err(|e| io_error(&shown, e))?;
        let mut sources = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| io_error(&shown, e))?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let file = path.display().to_string();
                let text = fs::read_to_string(&path).map_err(|e| io_error(&file, e))?;
                sources.push((file, text));
            }
        }
        if sources.is_empty() {
            return Err(io_error(&shown, std::io::Error::other("no *.toml profiles in this directory")));
        }
        PolicySet::from_sources(&sources)
    }

    /// Builds the set from `(file name, text)` pairs; the action id is the file's stem.
    pub fn from_sources(sources: &[(String, String)]) -> Result<PolicySet, Vec<SourceError>> {
        let mut errors = Vec::new();
        let mut profiles = BTreeMap::new();
        for (file, text) in sources {
            let id =
                Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            match validate::validate_profile(&id, file, text) {
                Ok(p) => {
                    profiles.insert(id, p);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        let set = PolicySet { profiles };
        if errors.is_empty() {
            errors = set.check_inheritance();
        }
        if errors.is_empty() {
            errors = set.check_blacklisted_aliases();
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str) -> Option<&ActionProfile> {
        self.profiles.get(id)
    }

    /// The grantable actions (abstract building blocks excluded), by id.
    pub fn actions(&self) -> impl Iterator<Item = &ActionProfile> {
        self.profiles.values().filter(|p| !p.is_abstract)
    }

    pub fn is_grantable(&self, id: &str) -> bool {
        self.get(id).is_some_and(|p| !p.is_abstract)
    }

    /// `id` and everything it inherits, nearest first, each once.
    pub fn closure(&self, id: &str) -> Vec<&ActionProfile> {
        let mut out: Vec<&ActionProfile> = Vec::new();
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            let Some(p) = self.get(next) else { continue };
            if out.iter().any(|seen| seen.id == p.id) {
                continue;
            }
            out.push(p);
            stack.extend(p.inherits.iter().rev().map(|(i, _)| i.as_str()));
        }
        out
    }

    fn check_inheritance(&self) -> Vec<SourceError> {
        let mut errors = Vec::new();
        for p in self.profiles.values() {
            for (parent, loc) in &p.inherits {
                if !self.profiles.contains_key(parent) {
                    errors.push(err_at(p, *loc, format!("inherits unknown action `{parent}`")));
                } else if let Some(cycle) = self.cycle_through(&p.id, parent) {
                    errors.push(err_at(p, *loc, format!("cyclic inherits: {}", cycle.join(" -> "))));
                }
            }
        }
        errors
    }

    /// A path parent -> ... -> start, when `start` inherits `parent` and `parent` leads back.
    fn cycle_through(&self, start: &str, parent: &str) -> Option<Vec<String>> {
        let mut path = vec![start.to_string()];
        self.find_path(parent, start, &mut path, &mut Vec::new()).then_some(path)
    }

    fn find_path(&self, from: &str, to: &str, path: &mut Vec<String>, seen: &mut Vec<String>) -> bool {
        path.push(from.to_string());
        if from == to {
            return true;
        }
        if !seen.iter().any(|s| s == from) {
            seen.push(from.to_string());
            let parents = self.get(from).map(|p| p.inherits.clone()).unwrap_or_default();
            for (next, _) in parents {
                if self.find_path(&next, to, path, seen) {
                    return true;
                }
            }
        }
        path.pop();
        false
    }

    /// An alias whose program is blacklisted by the same action (or one it inherits) is
    /// a contradiction in the policy, not something to resolve at run time.
    fn check_blacklisted_aliases(&self) -> Vec<SourceError> {
        let mut errors = Vec::new();
        for p in self.profiles.values() {
            let closure = self.closure(&p.id);
            let blacklist: Vec<&String> = closure.iter().flat_map(|q| &q.blacklist).collect();
            for alias in p.layers.values().flat_map(|l| l.aliases.values()) {
                let AliasTarget::Binary(bin) = &alias.target else {
                    continue;
                };
                if let Some(entry) = blacklist.iter().find(|b| profile::blacklist_matches(b, bin)) {
                    let msg =
                        format!("alias `{}` runs `{bin}`, which is blacklisted (`{entry}`)", alias.name);
                    errors.push(err_at(p, alias.loc, msg));
                }
            }
        }
        errors
    }

    /// The same profiles with the rules of `layer` only: all a session on that layer reads
    /// (what the policy cache keeps).
    pub fn only_layer(&self, layer: Layer) -> PolicySet {
        let mut set = self.clone();
        for profile in set.profiles.values_mut() {
            profile.layers.retain(|l, _| *l == layer);
        }
        set
    }

    /// Each profile's aliases for `layer`, by profile id (the policy cache keeps them apart).
    pub(crate) fn aliases_of(&self, layer: Layer) -> BTreeMap<&str, BTreeMap<&str, &Alias>> {
        let mut out = BTreeMap::new();
        for p in self.profiles.values() {
            if let Some(rules) = p.layers.get(&layer) {
                out.insert(
                    p.id.as_str(),
                    rules.aliases.iter().map(|(n, a)| (n.as_str(), a.as_ref())).collect(),
                );
            }
        }
        out
    }

    /// Gives profile `id` these aliases for `layer`; false if it has no rules for that layer.
    pub(crate) fn set_aliases(
        &mut self,
        id: &str,
        layer: Layer,
        aliases: BTreeMap<String, Arc<Alias>>,
    ) -> bool {
        let rules = self.profiles.get_mut(id).and_then(|p| p.layers.get_mut(&layer));
        rules.map(|rules| rules.aliases = aliases).is_some()
    }

    /// The union of `granted` actions (with what they inherit) for `layer`.
    pub fn profile(&self, granted: &[String], layer: Layer) -> Result<Profile, ProfileError> {
        Profile::build(self, granted, layer)
    }
}

fn err_at(p: &ActionProfile, loc: model::Loc, message: String) -> SourceError {
    SourceError { file: p.file.clone(), line: loc.line, col: loc.col, message }
}

#[cfg(test)]
mod tests;
