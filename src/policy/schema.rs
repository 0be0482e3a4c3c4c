//! The raw TOML shape of an action profile, as serde reads it (spans kept for errors).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type Text = Spanned<String>;
pub(super) type TextMap = BTreeMap<Text, Text>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    #[serde(default)]
    pub description: String,
    /// A building block (e.g. a shared alias set): inherited by actions, never granted.
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    #[serde(default)]
    pub inherits: Vec<Text>,
    #[serde(default)]
    pub full_access: bool,
    pub network: Option<Text>,
    /// With `network = "layer"`: which ports of which layers' hosts (`cell:22`).
    #[serde(default)]
    pub reach: Vec<Text>,
    pub record: Option<Text>,
    #[serde(default)]
    pub blacklist: Vec<Text>,
    #[serde(default)]
    pub refuse: TextMap,
    #[serde(default)]
    pub layer: BTreeMap<Text, RawLayer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLayer {
    #[serde(default)]
    pub file_commands: Vec<Text>,
    #[serde(default)]
    pub su_into: Vec<Text>,
    #[serde(default)]
    pub root_exec: Vec<Text>,
    #[serde(default)]
    pub root_exec_sha256: TextMap,
    #[serde(default)]
    pub path_commands: Vec<Text>,
    #[serde(default)]
    pub files: RawFiles,
    pub view: Option<RawView>,
    #[serde(default)]
    pub alias: BTreeMap<Text, RawAlias>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFiles {
    #[serde(default)]
    pub read_write: Vec<Text>,
    #[serde(default)]
    pub read_only: Vec<Text>,
    #[serde(default)]
    pub tool_rw: Vec<Text>,
    #[serde(default)]
    pub deny: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawView {
    #[serde(default)]
    pub readable: Vec<Text>,
    #[serde(default)]
    pub writable: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlias {
    pub binary: Option<Text>,
    pub applet: Option<Text>,
    #[serde(default)]
    pub args: Vec<Text>,
    pub run_as: Option<Text>,
    #[serde(default)]
    pub caps: Vec<Text>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub summary: String,
    pub grammar: Option<RawGrammar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrammar {
    #[serde(default)]
    pub options: Vec<Text>,
    #[serde(default)]
    pub args: Vec<Text>,
    #[serde(default)]
    pub sub: BTreeMap<Text, RawGrammar>,
    #[serde(default)]
    pub refuse: TextMap,
    /// Options that may be given at most once, with why a repeat is refused.
    #[serde(default)]
    pub once: TextMap,
    /// With subcommands: none at all is allowed too.
    #[serde(default)]
    pub bare: bool,
    #[serde(default)]
    pub split: bool,
}
