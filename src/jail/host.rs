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
    /// The entries of directory `path`, sorted, each with its type as the directory tells
    /// it (no look at each entry); empty when it cannot be read.
    fn entries(&self, path: &str) -> Vec<(String, EntryType)>;
    /// The names in directory `path`, sorted; empty when it cannot be read.
    fn list(&self, path: &str) -> Vec<String> {
        self.entries(path).into_iter().map(|(name, _)| name).collect()
    }
}

/// What a directory entry is, by its type alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    Dir,
    File,
    Symlink,
    /// A device, socket or FIFO.
    Other,
}

impl EntryType {
    fn of(kind: &HostKind) -> EntryType {
        match kind {
            HostKind::Dir => EntryType::Dir,
            HostKind::File { .. } => EntryType::File,
            HostKind::Symlink(_) => EntryType::Symlink,
            HostKind::Other => EntryType::Other,
        }
    }
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

    fn entries(&self, path: &str) -> Vec<(String, EntryType)> {
        let Ok(entries) = fs::read_dir(path) else {
            return Vec::new();
        };
        let mut out: Vec<(String, EntryType)> = entries
            .flatten()
            .filter_map(|e| {
                let kind = e.file_type().ok()?;
                let kind = match () {
                    _ if kind.is_symlink() => EntryType::Symlink,
                    _ if kind.is_dir() => EntryType::Dir,
                    _ if kind.is_file() => EntryType::File,
                    _ => EntryType::Other,
                };
                Some((e.file_name().to_string_lossy().into_owned(), kind))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
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

    fn entries(&self, path: &str) -> Vec<(String, EntryType)> {
        self.inner.entries(path)
    }
}

/// A host described by a map, for tests.
#[derive(Debug, Clone, Default)]
pub struct MapHost(pub BTreeMap<String, HostKind>);

impl HostFacts for MapHost {
    fn kind(&self, path: &str) -> Option<HostKind> {
        self.0.get(path).cloned()
    }

    fn entries(&self, path: &str) -> Vec<(String, EntryType)> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let children = self.0.iter().filter_map(|(k, kind)| Some((k.strip_prefix(&prefix)?, kind)));
        children
            .filter(|(rest, _)| !rest.contains('/'))
            .map(|(n, k)| (n.to_string(), EntryType::of(k)))
            .collect()
    }
}
