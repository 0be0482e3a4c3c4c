//! What the plan needs to know about the host's file tree, behind a trait so the
//! planner stays pure and testable with a map.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    Dir,
    /// A regular file; `executable` when any execute bit is set.
    File {
        executable: bool,
    },
    Symlink(String),
    /// A device, socket or FIFO.
    Other,
}

pub trait HostFacts {
    /// What is at `path` (not following a final symlink), or `None` when nothing is.
    fn kind(&self, path: &str) -> Option<HostKind>;
    /// The names in directory `path`, sorted; empty when it cannot be read.
    fn list(&self, path: &str) -> Vec<String>;
}

/// The real file system.
pub struct RealHost;

impl HostFacts for RealHost {
    fn kind(&self, path: &str) -> Option<HostKind> {
        let meta = fs::symlink_metadata(path).ok()?;
        let kind = meta.file_type();
        Some(if kind.is_symlink() {
            HostKind::Symlink(fs::read_link(path).ok()?.to_string_lossy().into_owned())
        } else if kind.is_dir() {
            HostKind::Dir
        } else if kind.is_file() {
            HostKind::File { executable: meta.permissions().mode() & 0o111 != 0 }
        } else {
            HostKind::Other
        })
    }

    fn list(&self, path: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(path) else {
            return Vec::new();
        };
        let mut names: Vec<String> =
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

/// Another host's answers, each asked once: planning one jail asks about the same paths
/// several times (every path's parents, for symlinks; each secret, to mask it).
pub(super) struct Remembered<'h> {
    inner: &'h dyn HostFacts,
    kinds: RefCell<BTreeMap<String, Option<HostKind>>>,
}

impl<'h> Remembered<'h> {
    pub(super) fn new(inner: &'h dyn HostFacts) -> Self {
        Remembered { inner, kinds: RefCell::new(BTreeMap::new()) }
    }
}

impl HostFacts for Remembered<'_> {
    fn kind(&self, path: &str) -> Option<HostKind> {
        if let Some(kind) = self.kinds.borrow().get(path) {
            return kind.clone();
        }
        let kind = self.inner.kind(path);
        self.kinds.borrow_mut().insert(path.to_string(), kind.clone());
        kind
    }

    fn list(&self, path: &str) -> Vec<String> {
        self.inner.list(path)
    }
}

/// A host described by a map, for tests.
#[derive(Debug, Clone, Default)]
pub struct MapHost(pub BTreeMap<String, HostKind>);

impl HostFacts for MapHost {
    fn kind(&self, path: &str) -> Option<HostKind> {
        self.0.get(path).cloned()
    }

    fn list(&self, path: &str) -> Vec<String> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let children = self.0.keys().filter_map(|k| k.strip_prefix(&prefix));
        children.filter(|rest| !rest.contains('/')).map(str::to_string).collect()
    }
}
