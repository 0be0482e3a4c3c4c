//! The effective profile of a session: the union of the granted actions for the host's layer.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::model::{Alias, PathRule, RootExec, View};
use super::reach::{self, Reach, SystemHosts, Target};
use super::types::{FileCommand, Layer, Network, Record};
use super::PolicySet;

/// Which action wrote a rule, and which granted action brought it into the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub action: Arc<str>,
    pub granted: Arc<str>,
}

/// A rule together with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub origin: Origin,
    pub item: T,
}

/// Everything one session may do. Rules keep their origin so every decision names its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub layer: Layer,
    pub granted: Vec<String>,
    pub full_access: Option<Origin>,
    pub network: Network,
    /// With `network = "layer"`: the layers' ports the granted actions name (`reach`).
    pub reach: Vec<Sourced<Reach>>,
    /// Those ports on this system's addresses (cage.toml `[system]`), set by the session:
    /// what the egress filter and the decision let a `layer` command reach.
    pub targets: Vec<Target>,
    /// How much of the session's terminal is recorded.
    pub record: Record,
    /// Candidates per alias name, nearest definition first: the first that accepts wins.
    pub aliases: BTreeMap<String, Vec<Sourced<Arc<Alias>>>>,
    pub root_exec: Vec<Sourced<RootExec>>,
    pub su_into: Vec<Sourced<String>>,
    pub file_commands: BTreeMap<FileCommand, Origin>,
    pub read_write: Vec<Sourced<PathRule>>,
    pub read_only: Vec<Sourced<PathRule>>,
    pub tool_rw: Vec<Sourced<PathRule>>,
    pub deny: Vec<Sourced<PathRule>>,
    pub path_commands: Vec<Sourced<PathRule>>,
    /// `None` when no action spells out a view: the jail's default applies.
    pub view: Option<View>,
    pub blacklist: Vec<Sourced<String>>,
    pub refuse: BTreeMap<String, Sourced<String>>,
}

/// Why a session's profile cannot be built; each refuses the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    NothingGranted,
    UnknownAction(String),
    AbstractAction(String),
    NoRulesForLayer { granted: Vec<String>, layer: Layer },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::NothingGranted => f.write_str("the grant names no action"),
            ProfileError::UnknownAction(a) => {
                write!(f, "action `{a}` has no profile in the policy directory")
            }
            ProfileError::AbstractAction(a) => {
                write!(f, "`{a}` is a building block, not a grantable action")
            }
            ProfileError::NoRulesForLayer { granted, layer } => {
                write!(f, "none of the granted actions ({}) has rules for layer {layer}", granted.join(", "))
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// True when the blacklist `entry` (a name or an absolute path) names `program`.
pub(super) fn blacklist_matches(entry: &str, program: &str) -> bool {
    if entry.starts_with('/') {
        entry == program
    } else {
        program.rsplit('/').next() == Some(entry)
    }
}

impl Profile {
    /// Sets the targets of `layer` mode from this system's addresses; none under other modes.
    pub fn place_in(&mut self, system: &SystemHosts) {
        let reach: Vec<Reach> = self.reach.iter().map(|r| r.item).collect();
        self.targets = match self.network {
            Network::Layer => reach::targets(&reach, system),
            _ => Vec::new(),
        };
    }

    pub(super) fn build(set: &PolicySet, granted: &[String], layer: Layer) -> Result<Profile, ProfileError> {
        if granted.is_empty() {
            return Err(ProfileError::NothingGranted);
        }
        let mut profile = Profile::empty(layer, granted);
        let mut merged: Vec<&str> = Vec::new();
        let mut applies = false;
        // A grant is a set of actions (its certificate is checked as one): they are merged in
        // the order of their ids, so where several define one alias, the same definition is
        // tried first whatever order the grant lists them in.
        let mut ordered: Vec<&String> = granted.iter().collect();
        ordered.sort();
        ordered.dedup();
        for id in ordered {
            match set.get(id) {
                None => return Err(ProfileError::UnknownAction(id.clone())),
                Some(p) if p.is_abstract => return Err(ProfileError::AbstractAction(id.clone())),
                Some(_) => {}
            }
            for member in set.closure(id) {
                if merged.contains(&member.id.as_str()) {
                    continue;
                }
                merged.push(&member.id);
                let origin = Origin { action: member.id.as_str().into(), granted: id.as_str().into() };
                profile.blacklist.extend(member.blacklist.iter().map(|b| sourced(&origin, b.clone())));
                if let Some(rules) = member.layers.get(&layer) {
                    applies = true;
                    profile.merge_member(member, rules, &origin);
                }
            }
        }
        if !applies {
            return Err(ProfileError::NoRulesForLayer { granted: granted.to_vec(), layer });
        }
        Ok(profile)
    }

    fn empty(layer: Layer, granted: &[String]) -> Profile {
        Profile {
            layer,
            granted: granted.to_vec(),
            full_access: None,
            network: Network::None,
            reach: Vec::new(),
            targets: Vec::new(),
            record: Record::None,
            aliases: BTreeMap::new(),
            root_exec: Vec::new(),
            su_into: Vec::new(),
            file_commands: BTreeMap::new(),
            read_write: Vec::new(),
            read_only: Vec::new(),
            tool_rw: Vec::new(),
            deny: Vec::new(),
            path_commands: Vec::new(),
            view: None,
            blacklist: Vec::new(),
            refuse: BTreeMap::new(),
        }
    }

    fn merge_member(&mut self, member: &super::ActionProfile, rules: &super::LayerRules, origin: &Origin) {
        if member.full_access && self.full_access.is_none() {
            self.full_access = Some(origin.clone());
        }
        self.network = self.network.max(member.network.unwrap_or(Network::None));
        self.record = self.record.max(member.record.unwrap_or(Record::None));
        for reach in &member.reach {
            if !self.reach.iter().any(|r| r.item == *reach) {
                self.reach.push(sourced(origin, *reach));
            }
        }
        for (name, reason) in &member.refuse {
            self.refuse.entry(name.clone()).or_insert_with(|| sourced(origin, reason.clone()));
        }
        for (name, alias) in &rules.aliases {
            self.aliases.entry(name.clone()).or_default().push(sourced(origin, alias.clone()));
        }
        self.root_exec.extend(rules.root_exec.iter().map(|r| sourced(origin, r.clone())));
        self.su_into.extend(rules.su_into.iter().map(|u| sourced(origin, u.clone())));
        for fc in &rules.file_commands {
            self.file_commands.entry(*fc).or_insert_with(|| origin.clone());
        }
        let paths = |list: &[PathRule]| list.iter().map(|p| sourced(origin, p.clone())).collect::<Vec<_>>();
        self.read_write.extend(paths(&rules.files.read_write));
        self.read_only.extend(paths(&rules.files.read_only));
        self.tool_rw.extend(paths(&rules.files.tool_rw));
        self.deny.extend(paths(&rules.files.deny));
        self.path_commands.extend(paths(&rules.path_commands));
        if let Some(view) = &rules.view {
            let union = self.view.get_or_insert_with(View::default);
            union.readable.extend(view.readable.iter().cloned());
            union.writable.extend(view.writable.iter().cloned());
        }
    }

    /// The blacklist entry naming `program`, if any.
    pub fn blacklisted(&self, program: &str) -> Option<&Sourced<String>> {
        self.blacklist.iter().find(|b| blacklist_matches(&b.item, program))
    }
}

fn sourced<T>(origin: &Origin, item: T) -> Sourced<T> {
    Sourced { origin: origin.clone(), item }
}
