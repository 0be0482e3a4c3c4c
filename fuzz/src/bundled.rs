//! The bundled policies (`policies/`), read once per fuzzing process.

use std::sync::OnceLock;

use cage::decide::Session;
use cage::policy::grammar::Grammar;
use cage::policy::{Layer, PolicySet, Profile};

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");

/// The validated set; a bundled policy that does not validate stops the fuzzer at once.
pub fn set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        PolicySet::load_dir(std::path::Path::new(DIR)).unwrap_or_else(|e| panic!("{DIR}: {e:?}"))
    })
}

/// Every alias grammar of every profile (building blocks included) and layer, with the
/// alias's name.
pub fn grammars() -> &'static [(String, Grammar)] {
    static GRAMMARS: OnceLock<Vec<(String, Grammar)>> = OnceLock::new();
    GRAMMARS.get_or_init(|| {
        let files = std::fs::read_dir(DIR).unwrap_or_else(|e| panic!("{DIR}: {e}"));
        let ids =
            files.flatten().filter_map(|f| f.file_name().to_str()?.strip_suffix(".toml").map(str::to_string));
        let mut all = Vec::new();
        for profile in ids.filter_map(|id| set().get(&id)) {
            for alias in profile.layers.values().flat_map(|rules| rules.aliases.values()) {
                all.extend(alias.grammar.clone().map(|g| (alias.name.clone(), g)));
            }
        }
        all
    })
}

/// A session's profile for each grantable action on each layer it has rules for.
pub fn profiles() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        let mut all = Vec::new();
        for action in set().actions() {
            for layer in Layer::ALL {
                all.extend(set().profile(std::slice::from_ref(&action.id), layer).ok());
            }
        }
        all
    })
}

pub fn session() -> Session {
    Session { login: "op_fuzz".into(), cwd: "/u01/app".into(), home: "/home/op_fuzz".into() }
}
