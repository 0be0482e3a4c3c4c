//! A validated action profile, as one `policies/<ID>.toml` file defines it.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::grammar::Grammar;
use super::reach::Reach;
use super::types::{FileCommand, Layer, Network, Record, RunAs};

/// A place in a profile file, kept for errors found after parsing (inheritance, blacklist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionProfile {
    pub id: String,
    pub file: String,
    pub description: String,
    pub is_abstract: bool,
    pub inherits: Vec<(String, Loc)>,
    pub full_access: bool,
    pub network: Option<Network>,
    pub reach: Vec<Reach>,
    pub record: Option<Record>,
    pub blacklist: Vec<String>,
    pub refuse: BTreeMap<String, String>,
    pub layers: BTreeMap<Layer, LayerRules>,
}

/// The rules of one profile for one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRules {
    /// Not in the serde form: the policy cache keeps aliases apart, so that a login reads
    /// back only the ones its line names (`policy::cache`).
    #[serde(skip)]
    pub aliases: BTreeMap<String, Arc<Alias>>,
    pub root_exec: Vec<RootExec>,
    pub su_into: Vec<String>,
    pub file_commands: Vec<FileCommand>,
    pub files: FileRules,
    pub view: Option<View>,
    pub path_commands: Vec<PathRule>,
}

/// A path as written in the policy (`/var/log/`) and its canonical form (`/var/log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRule {
    pub path: String,
    pub written: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRules {
    pub read_write: Vec<PathRule>,
    pub read_only: Vec<PathRule>,
    /// Writable for tools in the jail, never reachable by the file commands.
    pub tool_rw: Vec<PathRule>,
    /// Never readable or writable through this profile, whatever else says so.
    pub deny: Vec<PathRule>,
}

/// What the jail shows ordinary commands, when a profile spells it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub readable: Vec<PathRule>,
    pub writable: Vec<PathRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootExec {
    pub path: String,
    /// Lower-case hex SHA-256 the script must have, when pinned.
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub target: AliasTarget,
    /// Always placed before the operator's arguments.
    pub fixed_args: Vec<String>,
    /// `None`: any arguments (cagectl check warns for shell-capable programs).
    pub grammar: Option<Grammar>,
    pub run_as: RunAs,
    /// Ambient capabilities, lower-case without `cap_`.
    pub caps: Vec<String>,
    pub tty: bool,
    pub summary: String,
    /// Where `binary` (or `applet`) is written, for errors found later.
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AliasTarget {
    Binary(String),
    /// The alias runs one of cage's own file commands (the "execute as root" lists).
    Applet(FileCommand),
}

impl ActionProfile {
    /// The layers this profile has rules for.
    pub fn layer_names(&self) -> Vec<&'static str> {
        self.layers.keys().map(|l| l.name()).collect()
    }
}
