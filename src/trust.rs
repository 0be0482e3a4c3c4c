//! Reading configuration the setuid binary may trust: every directory from `/` down and the
//! file itself must be owned by root and not writable by group or others, and no component
//! may be a symlink. The file read is the one checked (one fd from the walk, no re-open).
#![forbid(unsafe_code)]

use std::fmt;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use nix::unistd::close;

/// Largest configuration file read (a grant, a profile, cage.toml).
const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    Missing { path: String },
    Unreadable { path: String, errno: Errno },
    NotRootOwned { path: String, uid: u32 },
    Writable { path: String, mode: u32 },
    Symlink { path: String },
    NotRegular { path: String },
    TooLarge { path: String },
    Relative { path: String },
    NotPrivate { path: String, mode: u32 },
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Missing { path } => write!(f, "{path} does not exist"),
            TrustError::Unreadable { path, errno } => write!(f, "{path}: {}", errno.desc()),
            TrustError::NotRootOwned { path, uid } => write!(f, "{path} is owned by uid {uid}, not root"),
            TrustError::Writable { path, mode } => {
                write!(f, "{path} is writable by group or others (mode {:04o})", mode & 0o7777)
            }
            TrustError::Symlink { path } => write!(f, "{path} is a symlink"),
            TrustError::NotRegular { path } => write!(f, "{path} is not a regular file"),
            TrustError::TooLarge { path } => write!(f, "{path} is larger than 1 MiB"),
            TrustError::Relative { path } => write!(f, "{path} is not an absolute path"),
            TrustError::NotPrivate { path, mode } => {
                write!(
                    f,
                    "{path} is readable by group or others (mode {:04o}); it must be 0600",
                    mode & 0o7777
                )
            }
        }
    }
}

impl std::error::Error for TrustError {}

/// Closes the fd when dropped.
struct Fd(RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = close(self.0);
    }
}

fn check(path: &str, stat: &FileStat) -> Result<(), TrustError> {
    if stat.st_uid != 0 {
        return Err(TrustError::NotRootOwned { path: path.to_string(), uid: stat.st_uid });
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(TrustError::Writable { path: path.to_string(), mode: stat.st_mode });
    }
    Ok(())
}

fn open_at(dir: RawFd, name: &str, flags: OFlag, shown: &str) -> Result<Fd, TrustError> {
    let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat(Some(dir), name, flags, Mode::empty()) {
        Ok(fd) => Ok(Fd(fd)),
        Err(Errno::ENOENT) => Err(TrustError::Missing { path: shown.to_string() }),
        Err(Errno::ELOOP) => Err(TrustError::Symlink { path: shown.to_string() }),
        Err(errno) => Err(TrustError::Unreadable { path: shown.to_string(), errno }),
    }
}

/// Opens `path` (a directory or a file) after checking every component; returns its fd.
fn open_trusted(path: &str, last: OFlag) -> Result<Fd, TrustError> {
    if !path.starts_with('/') {
        return Err(TrustError::Relative { path: path.to_string() });
    }
    let mut dir = open_at(libc::AT_FDCWD, "/", OFlag::O_DIRECTORY | OFlag::O_RDONLY, "/")?;
    check("/", &fstat(dir.0).map_err(|errno| TrustError::Unreadable { path: "/".into(), errno })?)?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut shown = String::new();
    for (i, part) in parts.iter().enumerate() {
        shown.push('/');
        shown.push_str(part);
        let is_last = i + 1 == parts.len();
        let flags = if is_last { last } else { OFlag::O_DIRECTORY | OFlag::O_RDONLY };
        let next = open_at(dir.0, part, flags, &shown)?;
        let stat = fstat(next.0).map_err(|errno| TrustError::Unreadable { path: shown.clone(), errno })?;
        check(&shown, &stat)?;
        dir = next;
    }
    Ok(dir)
}

/// Checks that `path` is a directory cage may trust: it and every directory above it
/// root-owned and not group/world-writable, no symlink on the way.
pub fn check_dir(path: &str) -> Result<(), TrustError> {
    open_trusted(path, OFlag::O_DIRECTORY | OFlag::O_RDONLY).map(drop)
}

/// Checks that `path` is a program cage may start as root: a regular file, it and every
/// directory above it root-owned and not group/world-writable, no symlink on the way.
pub fn check_program(path: &str) -> Result<(), TrustError> {
    let fd = open_trusted(path, OFlag::O_PATH)?;
    let stat = fstat(fd.0).map_err(|errno| TrustError::Unreadable { path: path.into(), errno })?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(TrustError::NotRegular { path: path.to_string() });
    }
    Ok(())
}

/// Reads a secret (a password file) as text: trusted like [`read_file`], and readable by
/// root alone.
pub fn read_secret(path: &str) -> Result<String, TrustError> {
    String::from_utf8(read_checked(path, true)?)
        .map_err(|_| TrustError::Unreadable { path: path.to_string(), errno: Errno::EILSEQ })
}

/// Reads a trusted regular file as text.
pub fn read_file(path: &str) -> Result<String, TrustError> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| TrustError::Unreadable { path: path.to_string(), errno: Errno::EILSEQ })
}

/// Reads a trusted regular file (at most 1 MiB): it and every directory above it root-owned
/// and not group/world-writable, no symlink on the way.
pub fn read_bytes(path: &str) -> Result<Vec<u8>, TrustError> {
    read_checked(path, false)
}

/// [`read_bytes`], refusing a file open to group or others at all when `private`.
fn read_checked(path: &str, private: bool) -> Result<Vec<u8>, TrustError> {
    let fd = open_trusted(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK)?;
    let stat = fstat(fd.0).map_err(|errno| TrustError::Unreadable { path: path.into(), errno })?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(TrustError::NotRegular { path: path.to_string() });
    }
    if private && stat.st_mode & 0o077 != 0 {
        return Err(TrustError::NotPrivate { path: path.to_string(), mode: stat.st_mode });
    }
    if stat.st_size as usize > MAX_BYTES {
        return Err(TrustError::TooLarge { path: path.to_string() });
    }
    let mut bytes = vec![0u8; stat.st_size as usize + 1];
    let mut len = 0;
    loop {
        match nix::unistd::read(fd.0, &mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(TrustError::Unreadable { path: path.to_string(), errno }),
        }
        if len == bytes.len() {
            return Err(TrustError::TooLarge { path: path.to_string() });
        }
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// Writes `bytes` as `name` in the trusted directory `dir` (checked like [`read_file`]'s
/// paths): a new file (mode 0600) renamed over `name`, so a reader sees all or nothing.
pub fn replace_file(dir: &str, name: &str, bytes: &[u8]) -> Result<(), TrustError> {
    let shown = format!("{dir}/{name}");
    let unreadable = |errno| TrustError::Unreadable { path: shown.clone(), errno };
    if name.contains('/') || name.starts_with('.') {
        return Err(TrustError::Relative { path: shown });
    }
    let dir = open_trusted(dir, OFlag::O_DIRECTORY | OFlag::O_RDONLY)?;
    let temp = format!(".{name}.{}", std::process::id());
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let _ = nix::unistd::unlinkat(Some(dir.0), temp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
    let file =
        Fd(openat(Some(dir.0), temp.as_str(), flags, Mode::from_bits_truncate(0o600)).map_err(unreadable)?);
    // Root's group too: a setuid process creates files with the caller's group.
    let root = (Some(nix::unistd::Uid::from_raw(0)), Some(nix::unistd::Gid::from_raw(0)));
    let written = nix::unistd::fchown(file.0, root.0, root.1)
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
        .and_then(|()| crate::sys::write_all(file.0, bytes));
    if let Err(e) = written {
        let _ = nix::unistd::unlinkat(Some(dir.0), temp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        return Err(unreadable(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))));
    }
    nix::fcntl::renameat(Some(dir.0), temp.as_str(), Some(dir.0), name).map_err(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root test run otherwise fails, never passes unseen.
    fn require_root() {
        assert!(nix::unistd::geteuid().is_root(), "root test: run it with `make test` as root");
    }

    #[test]
    fn relative_paths_are_refused() {
        assert_eq!(read_file("etc/passwd"), Err(TrustError::Relative { path: "etc/passwd".into() }));
    }

    #[test]
    #[ignore = "root test: `make test` runs it as root"]
    fn a_root_owned_system_file_is_trusted_when_run_as_root() {
        require_root();
        assert!(read_file("/etc/passwd").is_ok_and(|t| t.contains("root:")));
        assert!(matches!(read_file("/etc/cage-none/x"), Err(TrustError::Missing { .. })));
    }

    #[test]
    #[ignore = "root test: `make test` runs it as root"]
    fn a_secret_is_read_only_when_root_alone_may_read_it() {
        use std::os::unix::fs::PermissionsExt;
        require_root();
        // root:shadow 0640: the shadow group may read it, so it is no secret of root's.
        assert!(matches!(read_secret("/etc/shadow"), Err(TrustError::NotPrivate { .. })));
        // A directory of root's alone (a checkout may lie under /tmp, which is not one).
        let dir = format!("/run/cage-trust-test-{}", std::process::id());
        std::fs::create_dir(&dir).expect("test dir");
        let path = format!("{dir}/secret");
        std::fs::write(&path, "username = \"cage\"\n").expect("write");
        let mode = |m| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).expect("chmod");
        mode(0o600);
        assert_eq!(read_secret(&path).as_deref(), Ok("username = \"cage\"\n"));
        mode(0o640);
        let refused = read_secret(&path);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
        let message = refused.expect_err("group-readable").to_string();
        assert_eq!(message, format!("{path} is readable by group or others (mode 0640); it must be 0600"));
    }

    #[test]
    #[ignore = "root test: `make test` runs it as root"]
    fn a_program_to_start_as_root_is_a_trusted_regular_file() {
        require_root();
        assert_eq!(check_program("/usr/bin/env"), Ok(()));
        assert_eq!(check_program("/usr/bin"), Err(TrustError::NotRegular { path: "/usr/bin".into() }));
        assert!(matches!(check_program("/usr/bin/cage-none"), Err(TrustError::Missing { .. })));
        assert!(matches!(check_program("/tmp/x"), Err(TrustError::Writable { .. })));
    }

    #[test]
    fn a_world_writable_directory_on_the_way_is_refused() {
        let err = read_file("/tmp/cage-trust-test-none");
        assert!(matches!(err, Err(TrustError::Writable { ref path, .. }) if path == "/tmp"), "{err:?}");
    }
}
