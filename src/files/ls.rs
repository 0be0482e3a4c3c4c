//! sudols: listing granted directories as root, never following a symlink. `-R` enters no
//! other mount, no secret and no denied directory (`walk`), and says which it skipped.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::AsRawFd;

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};
use nix::unistd::{Gid, Group, Uid, User};

use super::events::{Counted, FileEvent, FileEvents, Operation};
use super::{resolve, walk, Failure};
use crate::decide::{FilePlan, PathGrant};

struct Options {
    long: bool,
    all: bool,
    human: bool,
    recursive: bool,
}

fn options(plan: &FilePlan) -> Options {
    let has = |c: char| plan.options.iter().any(|o| o.starts_with('-') && o[1..].contains(c));
    Options { long: has('l'), all: has('a'), human: has('h'), recursive: has('R') }
}

pub(super) fn ls(
    plan: &FilePlan,
    out: &mut dyn Write,
    err: &mut dyn Write,
    events: &mut FileEvents,
) -> Result<(), Failure> {
    let opts = options(plan);
    let many = plan.operands.len() > 1 || opts.recursive;
    for grant in &plan.operands {
        let fd = resolve::open(grant, libc::O_RDONLY | libc::O_NONBLOCK, 0)
            .map_err(|e| Failure::of_open(&e, grant))?;
        let mut counted = Counted { inner: &mut *out, bytes: 0 };
        let listed = list(&mut counted, err, &opts, grant, fd, many);
        // `bytes`: the listing sent, also when it stopped part way.
        events.add(FileEvent::new(Operation::List, &grant.path, Some(counted.bytes)), &grant.path);
        listed?;
    }
    Ok(())
}

fn list(
    out: &mut dyn Write,
    err: &mut dyn Write,
    opts: &Options,
    grant: &PathGrant,
    fd: std::os::fd::OwnedFd,
    many: bool,
) -> Result<(), Failure> {
    let at = |e: &dyn std::fmt::Display| Failure::Failed(format!("{}: {e}", grant.path));
    let stat = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| at(&e))?;
    let real = resolve::real_path(&fd).map_err(|e| at(&e))?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFDIR {
        let name = grant.path.rsplit('/').next().unwrap_or(&grant.path).to_string();
        return write_entries(out, opts, &[(name, stat)]).map_err(|e| Failure::Failed(e.to_string()));
    }
    let dir = Dir::from_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)).map_err(|e| at(&e))?;
    let walk = Walk { out, err, opts, grant };
    walk.list_dir(&At { shown: &grant.path, real: &real, stat: &stat }, dir, many, 0)
}

/// One `sudols` walk: where it writes, how, and the grant it walks under.
struct Walk<'w> {
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    opts: &'w Options,
    grant: &'w PathGrant,
}

/// A directory of the walk: as shown, its real path, and its stat.
struct At<'a> {
    shown: &'a str,
    real: &'a str,
    stat: &'a FileStat,
}

impl Walk<'_> {
    fn list_dir(mut self, at: &At, dir: Dir, header: bool, depth: usize) -> Result<(), Failure> {
        self.list_dir_in(at, dir, header, depth)
    }

    fn list_dir_in(&mut self, at: &At, mut dir: Dir, header: bool, depth: usize) -> Result<(), Failure> {
        let failed = |e: std::io::Error| Failure::Failed(e.to_string());
        let (out, opts) = (&mut *self.out, self.opts);
        let path = at.shown;
        let fd = dir.as_raw_fd();
        let mut names: Vec<String> = dir
            .iter()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "." && n != ".." && (opts.all || !n.starts_with('.')))
            .collect();
        names.sort();
        if header {
            writeln!(out, "{path}:").map_err(failed)?;
        }
        let entries: Vec<(String, FileStat)> = names
            .into_iter()
            .filter_map(|name| {
                let stat = fstatat(Some(fd), name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
                Some((name, stat))
            })
            .collect();
        write_entries(out, opts, &entries).map_err(failed)?;
        let is_dir = |stat: &FileStat| stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let subdirs: Vec<(String, FileStat)> =
            entries.into_iter().filter(|(_, stat)| opts.recursive && is_dir(stat)).collect();
        // Deep enough for logs, bounded against loops of bind mounts.
        if depth >= 32 {
            return Ok(());
        }
        for (name, stat) in subdirs {
            let (shown, real) = (walk::join(path, &name), walk::join(at.real, &name));
            if let Some(why) = walk::refusal(self.grant, at.stat, &stat, &real) {
                let _ = writeln!(self.err, "sudols: {shown}: not listed: {why}");
                continue;
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let Ok(sub) = Dir::openat(Some(fd), name.as_str(), flags, Mode::empty()) else { continue };
            writeln!(self.out).map_err(failed)?;
            self.list_dir_in(&At { shown: &shown, real: &real, stat: &stat }, sub, true, depth + 1)?;
        }
        Ok(())
    }
}

/// One directory's entries; with `-l`, in columns as wide as their widest value (a long
/// owner or group name widens its column instead of breaking the rows).
fn write_entries(out: &mut dyn Write, opts: &Options, entries: &[(String, FileStat)]) -> std::io::Result<()> {
    if !opts.long {
        return entries.iter().try_for_each(|(name, _)| writeln!(out, "{name}"));
    }
    let rows: Vec<[String; 6]> = entries.iter().map(|(_, stat)| long_fields(opts, stat)).collect();
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, field) in widths.iter_mut().zip(row) {
            *width = (*width).max(field.chars().count());
        }
    }
    for ((name, _), [mode, links, owner, group, size, when]) in entries.iter().zip(&rows) {
        let [_, wl, wo, wg, ws, _] = widths;
        writeln!(out, "{mode} {links:>wl$} {owner:<wo$} {group:<wg$} {size:>ws$} {when} {name}")?;
    }
    Ok(())
}

/// The columns of `-l` before the name: mode, links, owner, group, size, time.
fn long_fields(opts: &Options, stat: &FileStat) -> [String; 6] {
    let owner =
        User::from_uid(Uid::from_raw(stat.st_uid)).ok().flatten().map_or(stat.st_uid.to_string(), |u| u.name);
    let group = Group::from_gid(Gid::from_raw(stat.st_gid))
        .ok()
        .flatten()
        .map_or(stat.st_gid.to_string(), |g| g.name);
    let size = if opts.human { human(stat.st_size as u64) } else { stat.st_size.to_string() };
    let when = crate::time::Timestamp::from_unix(stat.st_mtime, 0).map_or(String::new(), |t| t.to_rfc3339());
    [mode_string(stat.st_mode), stat.st_nlink.to_string(), owner, group, size, when]
}

fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFLNK => 'l',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let exec = |x: u32, special: u32, set: char, unset: char| match (mode & x != 0, mode & special != 0) {
        (true, true) => set,
        (false, true) => unset,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        exec(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        exec(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        exec(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

fn human(size: u64) -> String {
    let units = ["", "K", "M", "G", "T"];
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{size}")
    } else {
        format!("{value:.1}{}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(libc::S_IFREG | 0o4750), "-rwsr-x---");
        assert_eq!(mode_string(libc::S_IFDIR | 0o1777), "drwxrwxrwt");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(3 * 1024 * 1024 * 1024), "3.0G");
    }
}
