//! The validated policy of a login, kept between logins: parsing the TOML of a large profile
//! is most of what a login costs (about 1 ms for INFRA_DIAG and what it inherits), reading
//! it back as JSON a fifth of that.
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
#![forbid(unsafe_code)]

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};

use sha2::{Digest, Sha256};

use super::{Layer, PolicySet};
use crate::trust;

const FORMAT: &str = concat!("cage policy cache 1, cage ", env!("CARGO_PKG_VERSION"));

/// Entries kept before the directory is emptied (each is a login's policy, ~70 KiB).
const MAX_ENTRIES: usize = 64;

/// Where entries live (beside the jail's staging root, on the boot's tmpfs).
pub fn dir() -> String {
    format!("{}/run/cage/policy", crate::config::PREFIX)
}

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
    Some(sha.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The set stored under `key` in `dir`, if there is a trustworthy one.
pub fn load(dir: &str, key: &str) -> Option<PolicySet> {
    let text = trust::read_file(&format!("{dir}/{key}.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `set` under `key` in `dir` (made root's alone if missing); failures only cost the
/// next login a parse. A login keeps its layer's rules only ([`PolicySet::only_layer`]).
pub fn store(dir: &str, key: &str, set: &PolicySet) {
    if fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).is_err() {
        return;
    }
    // Made by a setuid process, the directory has the caller's group: give it root's.
    let _ = std::os::unix::fs::chown(dir, Some(0), Some(0));
    let Ok(json) = serde_json::to_vec(set) else { return };
    if fs::read_dir(dir).is_ok_and(|entries| entries.count() >= MAX_ENTRIES) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }
    let _ = trust::replace_file(dir, &format!("{key}.json"), &json);
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_bundled_profile_reads_back_equal() {
        let set = bundled();
        let json = serde_json::to_string(&set).expect("json");
        assert_eq!(serde_json::from_str::<PolicySet>(&json).expect("back"), set);
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
    fn an_entry_is_read_only_from_a_directory_of_roots_alone() {
        if std::env::var_os("NEXTEST").is_none() || !nix::unistd::geteuid().is_root() {
            panic!("root test: run it with `make test` as root (cargo nextest)");
        }
        let dir = format!("/run/cage-cache-test-{}", std::process::id());
        let set = bundled();
        store(&dir, "k", &set);
        assert_eq!(load(&dir, "k"), Some(set.clone()), "stored, then read back");
        assert_eq!(load(&dir, "other"), None);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(format!("{dir}/k.json"), fs::Permissions::from_mode(0o666)).expect("chmod");
        assert_eq!(load(&dir, "k"), None, "an entry others could have written is not read");
        fs::set_permissions(format!("{dir}/k.json"), fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(load(&dir, "k"), None, "nor one in a directory others could write");
        fs::write(format!("{dir}/k.json"), "{\"profiles\": 1}").expect("garbage");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(load(&dir, "k"), None, "nor one that does not parse");
        let _ = fs::remove_dir_all(&dir);
    }
}
