//! sudovi, the sudoedit model, minus the session's part (`session::edit` runs the editor):
//! the original is read as root beneath its rule; a copy is edited by a fixed editor running
//! as the operator in a jail that can execute nothing but that editor; the result goes back
//! by a temporary file in the original's directory and a rename, keeping owner and mode, and
//! only when the editor ended normally and the text changed.
//!
//! The editor is vim in restricted mode (`-Z`: no shell, no filters, no `system()`, no
//! suspend), without modelines, swap, viminfo, undo or backup files, and no vimrc or plugin
//! (`-u NONE`). `vim.tiny` comes first: it is built without `+eval`, `+libcall`, `+job`,
//! `+channel` or `+terminal`, so there is the least to restrict. The jail sees the editor, the
//! shared libraries, terminfo and the one directory holding the copy; Landlock lets it execute
//! only the editor and its ELF interpreter, and write only in that directory.
//! `EDITOR`, `VISUAL` and `SUDO_EDITOR` are never consulted (cage starts from an empty
//! environment anyway).
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use nix::fcntl::{renameat, AtFlags};
use nix::sys::stat::{fstat, fstatat, FileStat};
use nix::unistd::{unlinkat, UnlinkatFlags};

use super::copy::{open_below, open_parent, temporary};
use super::{resolve, Failure};
use crate::decide::{PathGrant, Program, RunPlan};
use crate::jail::{plan_jail, HostFacts, Identity, JailPlan, JailRequest, PlanError};
use crate::policy::{Network, PathRule, Profile, RunAs, View};

/// The editors cage runs, first found wins: real files only (an alternatives symlink could
/// be repointed), root-owned and not writable by group or others.
pub const EDITORS: &[&str] = &["/usr/bin/vim.tiny", "/usr/bin/vim.basic", "/usr/bin/vi", "/usr/bin/vim"];
/// Where the copy is edited: a tmpfs mounted in a mount namespace private to one edit, so no
/// copy outlives it, whatever ends it.
pub const EDIT_DIR: &str = "/run/cage/edit";
/// Files larger than this are not edited (the copy lives in memory).
pub const MAX_EDIT_BYTES: u64 = 64 << 20;
/// What the editor jail may read besides the editor itself: shared libraries and terminfo.
const EDITOR_VIEW: &[&str] =
    &["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/share/terminfo", "/etc/terminfo"];
const SETTINGS: &str =
    "set nomodeline nobackup nowritebackup backupcopy=yes noswapfile noundofile viminfo= noexrc secure";

/// Why an edit could not be prepared or written back: cage's own failure, or the file
/// changing under the edit (what the rules refuse is a [`Failure::Denied`] of
/// [`read_original`]).
#[derive(Debug)]
pub enum EditError {
    /// None of [`EDITORS`] is installed as a trusted file.
    NoEditor,
    /// The editor could not be read for its ELF interpreter.
    ReadEditor { editor: String, error: io::Error },
    /// The editor's jail could not be planned.
    Plan(PlanError),
    /// The edited copy could not be opened.
    OpenCopy(io::Error),
    /// The edited copy could not be examined.
    StatCopy(nix::Error),
    /// The edited copy was replaced by something else than a regular file.
    CopyNotRegular,
    /// The edited copy could not be read back.
    ReadCopy(Bounded),
    /// The original's directory could not be opened.
    Parent(Failure),
    /// The original's name could not be examined again.
    StatOriginal { path: String, error: nix::Error },
    /// The original changed or was replaced while it was edited.
    Changed { path: String },
    /// No temporary file could be made next to the original.
    Temporary { path: String, error: io::Error },
    /// Writing the temporary file (content, owner, mode, flush) failed.
    Write { path: String, error: io::Error },
    /// The temporary file could not be renamed over the original.
    Rename { path: String, error: nix::Error },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let untouched = "the original is untouched";
        match self {
            EditError::NoEditor => write!(f, "no editor is installed (one of {})", EDITORS.join(", ")),
            EditError::ReadEditor { editor, error } => write!(f, "{editor}: {error}"),
            EditError::Plan(e) => write!(f, "{e}"),
            EditError::OpenCopy(e) => write!(f, "the edited copy: {e}"),
            EditError::StatCopy(e) => write!(f, "the edited copy: {e}"),
            EditError::CopyNotRegular => f.write_str("the edited copy is no longer a regular file"),
            EditError::ReadCopy(e) => write!(f, "the edited copy: {e}"),
            EditError::Parent(failure) => write!(f, "{failure}"),
            EditError::StatOriginal { path, error } => write!(f, "{path}: {error}"),
            EditError::Changed { path } => {
                write!(f, "{path}: changed on disk during the edit; the edit was not written")
            }
            EditError::Temporary { path, error } => write!(f, "{path}: temporary file: {error}"),
            EditError::Write { path, error } => write!(f, "{path}: {error}; {untouched}"),
            EditError::Rename { path, error } => write!(f, "{path}: {}; {untouched}", error.desc()),
        }
    }
}

impl std::error::Error for EditError {}

/// Why a file was not read whole for editing.
#[derive(Debug)]
pub enum Bounded {
    Read(io::Error),
    /// Larger than [`MAX_EDIT_BYTES`].
    TooLarge,
}

impl fmt::Display for Bounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bounded::Read(e) => write!(f, "{e}"),
            Bounded::TooLarge => write!(f, "larger than {} MiB: not edited", MAX_EDIT_BYTES >> 20),
        }
    }
}

impl std::error::Error for Bounded {}

/// The editor to run, from [`EDITORS`].
pub fn find_editor() -> Result<String, EditError> {
    first_trusted_editor(EDITORS)
}

/// The first of `candidates` cage may start as the editor: trusted as a program cage starts
/// (it and every directory above it root-owned and not writable by group or others, no
/// symlink on the way) and executable.
fn first_trusted_editor(candidates: &[&str]) -> Result<String, EditError> {
    let trusted = |path: &&&str| {
        crate::trust::check_program(path).is_ok()
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.mode() & 0o111 != 0)
    };
    candidates.iter().find(trusted).map(|e| e.to_string()).ok_or(EditError::NoEditor)
}

/// The editor's fixed command line for `file`.
pub fn editor_argv(editor: &str, file: &str) -> Vec<String> {
    let name = editor.rsplit('/').next().unwrap_or(editor);
    let fixed = [name, "-Z", "-n", "-N", "-i", "NONE", "-u", "NONE", "--cmd", SETTINGS, "--", file];
    fixed.iter().map(|s| s.to_string()).collect()
}

/// The ELF interpreter (`PT_INTERP`, the dynamic loader) a 64-bit little-endian executable
/// names, if any. Landlock checks the execute right on it too.
pub fn elf_interpreter(bytes: &[u8]) -> Option<String> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (phoff, phentsize, phnum) = (u64_at(0x20)? as usize, u16_at(0x36)? as usize, u16_at(0x38)?);
    (0..phnum as usize).map(|i| phoff + i * phentsize).find_map(|ph| {
        const PT_INTERP: u32 = 3;
        if u32_at(ph)? != PT_INTERP {
            return None;
        }
        let (offset, size) = (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize);
        let text = bytes.get(offset..offset.checked_add(size)?)?;
        let text = std::str::from_utf8(text).ok()?.trim_end_matches('\0');
        text.starts_with('/').then(|| text.to_string())
    })
}

/// Reads the first bytes of the editor for its interpreter; a static editor needs none.
pub fn interpreter_of(editor: &str) -> Result<Option<String>, EditError> {
    let mut head = Vec::with_capacity(1 << 16);
    File::open(editor)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
        .map_err(|error| EditError::ReadEditor { editor: editor.to_string(), error })?;
    Ok(elf_interpreter(&head))
}

/// The editor's jail: the operator's identity, no network, a view of the editor, its
/// libraries, terminfo and [`EDIT_DIR`] (writable) only, and nothing executable but the
/// editor and its interpreter. Pure: the host is only read through `host`.
#[allow(clippy::too_many_arguments)]
pub fn editor_jail(
    profile: &Profile,
    operator: Identity,
    editor: &str,
    interpreter: Option<&str>,
    copy: &str,
    tty: Option<&str>,
    term: Option<&str>,
    lang: Option<&str>,
    host: &dyn HostFacts,
) -> Result<JailPlan, EditError> {
    let rule = |p: &str| PathRule { path: p.to_string(), written: p.to_string() };
    let mut alone = profile.clone();
    alone.view = Some(View {
        readable: EDITOR_VIEW.iter().map(|p| rule(p)).collect(),
        writable: vec![rule(EDIT_DIR)],
    });
    alone.network = Network::None;
    for rules in [&mut alone.read_only, &mut alone.read_write, &mut alone.tool_rw, &mut alone.path_commands] {
        rules.clear();
    }
    alone.deny.clear();
    alone.blacklist.clear();
    let run = RunPlan {
        program: Program::Path(editor.to_string()),
        argv: editor_argv(editor, copy),
        run_as: RunAs::Operator,
        caps: Vec::new(),
        tty: true,
        jailed: true,
    };
    let req = JailRequest {
        profile: &alone,
        run: &run,
        identity: operator,
        cwd: EDIT_DIR,
        tty,
        term,
        lang,
        controlling_tty: true,
    };
    let mut plan = plan_jail(&req, host).map_err(EditError::Plan)?;
    let runnable: Vec<String> = std::iter::once(editor).chain(interpreter).map(str::to_string).collect();
    plan.execute_only(&runnable);
    Ok(plan)
}

/// The file as it was read for editing.
pub struct Original {
    pub stat: FileStat,
    pub content: Vec<u8>,
}

/// Reads the original beneath its rule (a regular file, not hard-linked elsewhere, bounded);
/// what the rules on disk refuse (a link out of the rule, a device, a FIFO) is a denial.
pub fn read_original(grant: &PathGrant) -> Result<Original, Failure> {
    let fd = resolve::open_content(grant, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .map_err(|e| Failure::of_open(&e, grant))?;
    let stat = fstat(fd.as_raw_fd()).map_err(|e| format!("{}: {e}", grant.path))?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Failure::Denied {
            path: grant.path.clone(),
            why: format!("{}: not a regular file", grant.path),
        });
    }
    let content = read_bounded(File::from(fd)).map_err(|e| format!("{}: {e}", grant.path))?;
    Ok(Original { stat, content })
}

fn read_bounded(file: File) -> Result<Vec<u8>, Bounded> {
    let mut content = Vec::new();
    file.take(MAX_EDIT_BYTES + 1).read_to_end(&mut content).map_err(Bounded::Read)?;
    if content.len() as u64 > MAX_EDIT_BYTES {
        return Err(Bounded::TooLarge);
    }
    Ok(content)
}

/// Creates the copy `name` right in `dir` (mode 0600, no symlink followed).
pub fn create_copy(dir: RawFd, name: &str, flags: libc::c_int) -> std::io::Result<std::os::fd::OwnedFd> {
    open_below(dir, name, flags, 0o600)
}

/// Reads the edited copy back: `name` right in `dir`, no symlink, a regular file, bounded.
pub fn read_edited(dir: RawFd, name: &str) -> Result<Vec<u8>, EditError> {
    let fd = open_below(dir, name, libc::O_RDONLY | libc::O_NONBLOCK, 0).map_err(EditError::OpenCopy)?;
    let stat = fstat(fd.as_raw_fd()).map_err(EditError::StatCopy)?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(EditError::CopyNotRegular);
    }
    read_bounded(File::from(fd)).map_err(EditError::ReadCopy)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Unchanged,
    Written,
}

/// Same file, same content as when it was read (compared by inode, size and change time).
fn same(now: &FileStat, then: &FileStat) -> bool {
    let key = |s: &FileStat| {
        (s.st_dev, s.st_ino, s.st_size, s.st_mtime, s.st_mtime_nsec, s.st_ctime, s.st_ctime_nsec)
    };
    key(now) == key(then)
}

/// Writes `edited` over the original when it differs: a temporary file in the same directory
/// (beneath the rule, no symlink), the original's owner and mode (setuid/setgid dropped),
/// flushed, renamed over the name, the directory flushed. Refused when the name no longer
/// holds the file that was read (changed or replaced meanwhile).
pub fn write_back(grant: &PathGrant, original: &Original, edited: &[u8]) -> Result<Saved, EditError> {
    if edited == original.content.as_slice() {
        return Ok(Saved::Unchanged);
    }
    let path = || grant.path.clone();
    let parent = open_parent(grant, libc::O_RDONLY).map_err(EditError::Parent)?;
    let dir = parent.as_raw_fd();
    let name = grant.path.rsplit('/').next().unwrap_or_default();
    let now = fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|error| EditError::StatOriginal { path: path(), error })?;
    if !same(&now, &original.stat) {
        return Err(EditError::Changed { path: path() });
    }
    let (temp, mut file) = temporary(dir).map_err(|error| EditError::Temporary { path: path(), error })?;
    let stat = &original.stat;
    let written = file
        .write_all(edited)
        .and_then(|()| std::os::unix::fs::fchown(&file, Some(stat.st_uid), Some(stat.st_gid)))
        .and_then(|()| file.set_permissions(Permissions::from_mode(stat.st_mode & 0o1777)))
        .and_then(|()| file.sync_all())
        .map_err(|error| EditError::Write { path: path(), error })
        .and_then(|()| {
            renameat(Some(dir), temp.as_str(), Some(dir), name)
                .map_err(|error| EditError::Rename { path: path(), error })
        });
    if let Err(e) = written {
        let _ = unlinkat(Some(dir), temp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    let _ = nix::unistd::fsync(dir);
    Ok(Saved::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "root test: `make test` runs it as root (the editor must be root's file)"]
    fn an_editor_in_a_directory_others_may_write_is_not_started() {
        assert!(nix::unistd::geteuid().is_root(), "run as root: the editor must be root's file");
        // Root's own file, mode 0755, but in a directory under /tmp (mode 1777): anyone could
        // have put it there or renamed it away.
        let dir = std::env::temp_dir().join(format!("cage-editor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
        let planted = dir.join("vim.tiny");
        std::fs::copy("/usr/bin/true", &planted).expect("copy");
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let planted = planted.to_str().expect("utf-8").to_string();
        let alone = first_trusted_editor(&[&planted]);
        let with_the_systems = first_trusted_editor(&[&planted, "/usr/bin/true"]);
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(alone.is_err(), "an editor under /tmp was trusted: {alone:?}");
        assert_eq!(with_the_systems.expect("the system's program"), "/usr/bin/true");
    }

    #[test]
    fn the_editor_line_is_fixed_restricted_and_ends_options_before_the_file() {
        let argv = editor_argv("/usr/bin/vim.tiny", "-c:!sh");
        assert_eq!(&argv[..2], ["vim.tiny", "-Z"]);
        for flag in ["-n", "-N"] {
            assert!(argv.contains(&flag.to_string()));
        }
        assert!(argv.windows(2).any(|w| w == ["-u", "NONE"]) && argv.windows(2).any(|w| w == ["-i", "NONE"]));
        assert!(argv.iter().any(|a| a.contains("nomodeline") && a.contains("noswapfile")));
        assert_eq!(&argv[argv.len() - 2..], ["--", "-c:!sh"]);
    }

    #[test]
    fn the_elf_interpreter_is_read_from_the_program_headers() {
        let mut elf = vec![0u8; 0x200];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        // The second program header is PT_INTERP, pointing at 0x100.
        let ph = 0x40 + 56;
        elf[ph..ph + 4].copy_from_slice(&3u32.to_le_bytes());
        elf[ph + 8..ph + 16].copy_from_slice(&0x100u64.to_le_bytes());
        let interp = b"/lib64/ld-linux-x86-64.so.2\0";
        elf[ph + 32..ph + 40].copy_from_slice(&(interp.len() as u64).to_le_bytes());
        elf[0x100..0x100 + interp.len()].copy_from_slice(interp);
        assert_eq!(elf_interpreter(&elf).as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        elf[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(elf_interpreter(&elf), None, "a static program has none");
        assert_eq!(elf_interpreter(b"#!/bin/sh\n"), None);
    }
}
