//! The validated policy of a login, kept between logins: parsing the TOML of a large profile
//! is most of what a login costs (about 1 ms for INFRA_DIAG and what it inherits), reading
//! it back as JSON a fifth of that, and most of that fifth is aliases a `cage -c` line
//! never names.
//!
//! An entry is named by the SHA-256 of everything its validation depended on: the format,
//! the host's layer (an entry keeps that layer's rules only), the running cage binary (device, inode, size, times: a reinstalled cage never reads an
//! older one's entries) and every source file's path and text, as read through the trusted
//! path checks at this login. So a profile edited, added or removed gives another name, and
//! an entry is only ever the output of this cage's validation of exactly these sources.
//! Entries live in a directory of root's alone (`/run/cage/policy`, gone at reboot), are
//! read through the same checks as the profiles themselves, and are written whole (a new
//! file renamed into place). Anything unexpected (missing, unreadable, not root's, not
//! parsable) means parsing the sources as if there were no cache.
//!
//! An entry holds the set without its aliases, then the aliases apart: a `cage -c` line reads
//! back only the aliases it names ([`AliasFilter`]), skipping over the others.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use sha2::{Digest, Sha256};

use super::{Alias, Layer, PolicySet};
use crate::trust;

const FORMAT: &str = concat!("cage policy cache 2, cage ", env!("CARGO_PKG_VERSION"));

/// Entries kept before the directory is emptied (each is a login's policy, ~70 KiB).
const MAX_ENTRIES: usize = 64;

/// The entry name for these `(path, text)` sources read for a host of `layer`; `None` if
/// the binary cannot be identified.
pub fn key(sources: &[(String, String)], layer: Layer) -> Option<String> {
    let exe = fs::metadata("/proc/self/exe").ok()?;
    let mut sha = Sha256::new();
    sha.update(FORMAT);
    sha.update(layer.name());
    for n in [exe.dev(), exe.ino(), exe.size()] {
        sha.update(n.to_le_bytes());
    }
    for n in [exe.mtime(), exe.mtime_nsec(), exe.ctime(), exe.ctime_nsec()] {
        sha.update(n.to_le_bytes());
    }
    let mut sorted: Vec<&(String, String)> = sources.iter().collect();
    sorted.sort();
    for (path, text) in sorted {
        for part in [path, text] {
            sha.update((part.len() as u64).to_le_bytes());
            sha.update(part);
        }
    }
    Some(crate::hex::hex(&sha.finalize()))
}

/// Which aliases a login reads back from an entry: a `cage -c` line can only run aliases
/// it names, so it needs no others (they are most of an entry, and most of reading it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasFilter {
    All,
    Named(BTreeSet<String>),
}

impl AliasFilter {
    fn wants(&self, name: &str) -> bool {
        match self {
            AliasFilter::All => true,
            AliasFilter::Named(names) => names.contains(name),
        }
    }
}

/// The set stored under `key` in `dir` for `layer`, with the aliases `filter` wants, if
/// there is a trustworthy entry.
pub fn load(dir: &str, key: &str, layer: Layer, filter: &AliasFilter) -> Option<PolicySet> {
    decode(&trust::read_file(&format!("{dir}/{key}.json")).ok()?, layer, filter)
}

/// An entry's text read back: two JSON documents, one per line, the set without its aliases,
/// then the aliases of `layer` by profile. Public for the fuzz target that checks a
/// validated set reads back the same (`fuzz/fuzz_targets/policy.rs`).
pub fn decode(text: &str, layer: Layer, filter: &AliasFilter) -> Option<PolicySet> {
    let (set, aliases) = text.split_once('\n')?;
    let mut set: PolicySet = serde_json::from_str(set).ok()?;
    let mut reader = serde_json::Deserializer::from_str(aliases);
    let aliases = ProfilesSeed(filter).deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    for (id, aliases) in aliases {
        if !set.set_aliases(&id, layer, aliases) {
            return None;
        }
    }
    Some(set)
}

/// Keeps `set`'s rules for `layer` under `key` in `dir` (made root's alone if missing);
/// failures only cost the next login a parse.
pub fn store(dir: &str, key: &str, set: &PolicySet, layer: Layer) {
    if fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).is_err() {
        return;
    }
    // Made by a setuid process, the directory has the caller's group: give it root's.
    let _ = std::os::unix::fs::chown(dir, Some(0), Some(0));
    let Some(json) = encode(set, layer) else { return };
    if fs::read_dir(dir).is_ok_and(|entries| entries.count() >= MAX_ENTRIES) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }
    let _ = trust::replace_file(dir, &format!("{key}.json"), &json);
}

/// The text of an entry for `set`'s rules of `layer` (see [`decode`]).
pub fn encode(set: &PolicySet, layer: Layer) -> Option<Vec<u8>> {
    let set = set.only_layer(layer);
    let mut json = serde_json::to_vec(&set).ok()?;
    json.push(b'\n');
    json.extend_from_slice(&serde_json::to_vec(&set.aliases_of(layer)).ok()?);
    Some(json)
}

type Aliases = BTreeMap<String, Arc<Alias>>;

/// Reads `{profile id: {alias name: alias}}`, parsing only the aliases the filter wants (the
/// others are skipped over, never built).
struct ProfilesSeed<'f>(&'f AliasFilter);

impl<'de> DeserializeSeed<'de> for ProfilesSeed<'_> {
    type Value = BTreeMap<String, Aliases>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ProfilesSeed<'_> {
    type Value = BTreeMap<String, Aliases>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("aliases by profile")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(id) = map.next_key::<String>()? {
            out.insert(id, map.next_value_seed(AliasesSeed(self.0))?);
        }
        Ok(out)
    }
}

struct AliasesSeed<'f>(&'f AliasFilter);

impl<'de> DeserializeSeed<'de> for AliasesSeed<'_> {
    type Value = Aliases;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AliasesSeed<'_> {
    type Value = Aliases;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("aliases by name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            if self.0.wants(&name) {
                let alias: Alias = map.next_value()?;
                out.insert(name, Arc::new(alias));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Profile;

    fn sources(extra: &str) -> Vec<(String, String)> {
        let text = format!("description = \"t\"{extra}\n[layer.cps]\nfile_commands = [\"sudocat\"]\n");
        vec![("/p/T.toml".to_string(), text)]
    }

    #[test]
    fn the_key_follows_every_path_and_text_but_not_their_order() {
        let a = sources("");
        let key = key(&a, Layer::Cps).expect("key");
        assert_eq!(key.len(), 64);
        assert_ne!(Some(key.clone()), super::key(&sources("\n# edited"), Layer::Cps));
        let moved = vec![("/q/T.toml".to_string(), a[0].1.clone())];
        assert_ne!(Some(key.clone()), super::key(&moved, Layer::Cps));
        let two = [a.clone(), sources("\nnetwork = \"none\"")].concat();
        let swapped: Vec<_> = two.iter().rev().cloned().collect();
        assert_eq!(super::key(&two, Layer::Cps), super::key(&swapped, Layer::Cps));
        assert_ne!(super::key(&two, Layer::Cps), super::key(&two, Layer::Host));
    }

    fn bundled() -> PolicySet {
        PolicySet::load_dir(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")))
            .expect("bundled policies")
    }

    fn round_trip(set: &PolicySet, layer: Layer, filter: &AliasFilter) -> PolicySet {
        let text = String::from_utf8(encode(set, layer).expect("encoded")).expect("utf-8");
        decode(&text, layer, filter).expect("decoded")
    }

    #[test]
    fn every_bundled_profile_reads_back_equal_on_every_layer() {
        let set = bundled();
        for layer in Layer::ALL {
            assert_eq!(round_trip(&set, layer, &AliasFilter::All), set.only_layer(layer), "{layer}");
        }
    }

    #[test]
    fn a_line_reads_back_the_aliases_it_names_and_no_others() {
        let set = bundled();
        let granted = ["INFRA_DIAG".to_string()];
        let full = set.profile(&granted, Layer::Cps).expect("profile");
        let named = AliasFilter::Named(["du".to_string(), "nosuchalias".to_string()].into());
        let part = round_trip(&set, Layer::Cps, &named).profile(&granted, Layer::Cps).expect("profile");
        assert!(full.aliases.len() > 10, "INFRA_DIAG has many aliases");
        assert_eq!(part.aliases.keys().collect::<Vec<_>>(), ["du"]);
        assert_eq!(part.aliases.get("du"), full.aliases.get("du"));
        assert_eq!(
            Profile { aliases: full.aliases.clone(), ..part },
            full,
            "everything else read back whole"
        );
        let none = round_trip(&set, Layer::Cps, &AliasFilter::Named(BTreeSet::new()));
        assert!(none.profile(&granted, Layer::Cps).expect("profile").aliases.is_empty());
    }

    #[test]
    fn an_entry_that_does_not_match_its_layer_or_is_cut_short_is_not_used() {
        let set = bundled();
        let text = String::from_utf8(encode(&set, Layer::Cps).expect("encoded")).expect("utf-8");
        assert!(decode(&text, Layer::Host, &AliasFilter::All).is_none(), "aliases of a layer the set lacks");
        let cut = &text[..text.len() - 10];
        assert!(decode(cut, Layer::Cps, &AliasFilter::All).is_none());
        let (first, _) = text.split_once('\n').expect("two documents");
        assert!(decode(first, Layer::Cps, &AliasFilter::All).is_none(), "no aliases document");
        assert!(decode(&format!("{text}\n{{}}"), Layer::Cps, &AliasFilter::All).is_none(), "trailing data");
    }

    #[test]
    fn a_layers_rules_alone_give_every_session_on_that_layer_the_same_profile() {
        let set = bundled();
        for layer in Layer::ALL {
            let kept = set.only_layer(layer);
            for action in set.actions() {
                let granted = [action.id.clone()];
                assert_eq!(
                    kept.profile(&granted, layer),
                    set.profile(&granted, layer),
                    "{} {layer}",
                    action.id
                );
                assert_eq!(kept.is_grantable(&action.id), set.is_grantable(&action.id));
            }
        }
    }

    #[test]
    #[ignore = "root test: `make test` runs it as root"]
    fn an_entry_is_read_only_from_a_directory_of_roots_alone() {
        if std::env::var_os("NEXTEST").is_none() || !nix::unistd::geteuid().is_root() {
            panic!("root test: run it with `make test` as root (cargo nextest)");
        }
        let dir = format!("/run/cage-cache-test-{}", std::process::id());
        let set = bundled();
        let all = AliasFilter::All;
        store(&dir, "k", &set, Layer::Cps);
        let load = |key| load(&dir, key, Layer::Cps, &all);
        assert_eq!(load("k"), Some(set.only_layer(Layer::Cps)), "stored, then read back");
        assert_eq!(load("other"), None);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(format!("{dir}/k.json"), fs::Permissions::from_mode(0o666)).expect("chmod");
        assert_eq!(load("k"), None, "an entry others could have written is not read");
        fs::set_permissions(format!("{dir}/k.json"), fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(load("k"), None, "nor one in a directory others could write");
        fs::write(format!("{dir}/k.json"), "{\"profiles\": 1}").expect("garbage");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(load("k"), None, "nor one that does not parse");
        let _ = fs::remove_dir_all(&dir);
    }
}
