//! The cgroups the egress programs are attached to: one per network mode and program, made
//! once per boot and kept (empty between commands), so a command pays neither for loading
//! and verifying the programs nor for a cgroup of its own. Each jail is born in its cgroup
//! (clone3 with `CLONE_INTO_CGROUP`): it never runs outside it, and no running process is
//! migrated (a migration waits for an RCU grace period: up to 20 ms per command).
//!
//! Name: `<cgroup2>/cage/egress-MODE-HASH-TAG4-TAG6`. HASH is a SHA-256 prefix of the
//! instructions cage builds now (they follow /etc/resolv.conf); TAG4 and TAG6 are the kernel's
//! tags of those programs, read back when cage loaded them. Before every use, fail-closed:
//! the directories must be root's and not writable by others, and each of the four attach
//! points must hold exactly one program, attached without ALLOW_OVERRIDE or ALLOW_MULTI, of
//! the socket-address type, with the recorded tag. Anything else (a program detached or
//! replaced, a cgroup half made by a cage that died) is repaired by loading the programs again
//! and attaching them (an attach without flags replaces what is there), then checked again;
//! if that fails too, the command is refused.
#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::egress::{
    program, rule_for, EgressRule, Kind, Refused, ATTACH_POINTS, INET_EGRESS, KEY_SIZE, MAP_TYPE_LRU_HASH,
    VALUE_SIZE,
};
use crate::audit::record::hex;
use crate::policy::reach::Target;
use crate::policy::Network;
use crate::sys::{self, BpfInsn};

/// How many cgroups' refusals the map keeps at once (least recently used go first).
const MAP_ENTRIES: u32 = 4096;

/// The three programs of a mode, as cage would load them now (counting into no map yet).
struct Programs {
    rule: EgressRule,
    insns: [Vec<BpfInsn>; 3],
}

/// The kernel's tags of the programs, in the order of [`Kind::ALL`].
type Tags = [[u8; 8]; 3];

fn index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Programs {
    fn new(rule: EgressRule) -> Programs {
        let insns = Kind::ALL.map(|kind| program(kind, &rule, 0));
        Programs { rule, insns }
    }

    /// A SHA-256 prefix of the programs' instructions, as built for no map.
    fn hash(&self) -> String {
        let mut sha = Sha256::new();
        for insns in &self.insns {
            for insn in insns {
                sha.update([insn.code, insn.regs]);
                sha.update(insn.off.to_le_bytes());
                sha.update(insn.imm.to_le_bytes());
            }
            sha.update([0xff; 8]);
        }
        hex(&sha.finalize()[..8])
    }

    /// Makes their map and loads (the kernel verifies) one program per attach point;
    /// returns them and their tags.
    fn load(&self) -> io::Result<(Vec<(u32, OwnedFd)>, Tags)> {
        let map = sys::bpf_map_create(MAP_TYPE_LRU_HASH, KEY_SIZE as u32, VALUE_SIZE as u32, MAP_ENTRIES)?;
        let mut loaded = Vec::with_capacity(ATTACH_POINTS.len());
        let mut tags: [Option<[u8; 8]>; 3] = [None; 3];
        for (attach, kind) in ATTACH_POINTS {
            let insns = program(kind, &self.rule, map.as_raw_fd());
            let fd = sys::bpf_prog_load(kind.prog_type(), attach, &insns)?;
            let (_, tag) = sys::bpf_prog_type_and_tag(fd.as_raw_fd())?;
            if tags[index(kind)].is_some_and(|t| t != tag) {
                return Err(io::Error::other("the kernel tagged one program two ways"));
            }
            tags[index(kind)] = Some(tag);
            loaded.push((attach, fd));
        }
        match tags {
            [Some(v4), Some(v6), Some(packets)] => Ok((loaded, [v4, v6, packets])),
            _ => Err(io::Error::other("a program was not loaded")),
        }
    }
}

/// What the cgroup of a mode must be: where, named how, holding which programs.
struct Wanted {
    root: PathBuf,
    prefix: String,
    programs: Programs,
}

fn wanted(network: Network, targets: &[Target]) -> io::Result<Option<Wanted>> {
    let Some(rule) = rule_for(network, targets) else { return Ok(None) };
    let programs = Programs::new(rule);
    let prefix = format!("egress-{}-{}-", mode_name(network), programs.hash());
    Ok(Some(Wanted { root: cage_root()?, prefix, programs }))
}

/// The checked cgroup that jails of `network` (reaching `targets`) are born in, repaired or
/// made when it is missing or not intact; `None` where no filter applies.
pub fn cgroup_for(network: Network, targets: &[Target]) -> io::Result<Option<OwnedFd>> {
    let Some(wanted) = wanted(network, targets)? else { return Ok(None) };
    match find_intact(&wanted) {
        Ok(dir) => Ok(Some(dir)),
        Err(_) => install(&wanted).map(Some),
    }
}

/// Whether the cgroup of `network` is in place and intact, without repairing anything.
pub fn check(network: Network, targets: &[Target]) -> io::Result<()> {
    match wanted(network, targets)? {
        Some(wanted) => find_intact(&wanted).map(drop),
        None => Ok(()),
    }
}

fn find_intact(wanted: &Wanted) -> io::Result<OwnedFd> {
    find_intact_tagged(wanted).map(|(dir, _)| dir)
}

fn find_intact_tagged(wanted: &Wanted) -> io::Result<(OwnedFd, Tags)> {
    let mut why = io::Error::other(format!("no cgroup {}*", wanted.prefix));
    for (name, tags) in existing(&wanted.root, &wanted.prefix) {
        match open_checked(&wanted.root.join(&name)).and_then(|dir| check_attached(&dir, &tags).map(|()| dir))
        {
            Ok(dir) => return Ok((dir, tags)),
            Err(e) => why = e,
        }
    }
    Err(why)
}

/// Gives `leaf` (a cgroup of a session's subtree) the programs of `network`, taken from the
/// kept cgroup of that mode by id (attached again, never loaded: no verifier run), unless it
/// holds exactly them already; then checks it like the kept one. Checked before every use:
/// a leaf made for one session cannot drift from its mode unnoticed.
pub fn prepare_leaf(network: Network, targets: &[Target], leaf: &impl AsRawFd) -> io::Result<()> {
    let Some(wanted) = wanted(network, targets)? else { return Ok(()) };
    // The usual case, a leaf already made: the tags its kept cgroup's name records are enough
    // to check it by (the leaf is what the jail runs under, not the kept cgroup).
    if existing(&wanted.root, &wanted.prefix).iter().any(|(_, tags)| check_attached(leaf, tags).is_ok()) {
        return Ok(());
    }
    let (kept, tags) = match find_intact_tagged(&wanted) {
        Ok(found) => found,
        Err(_) => {
            install(&wanted)?;
            find_intact_tagged(&wanted)?
        }
    };
    for (attach, _) in ATTACH_POINTS {
        let (_, ids) = sys::bpf_prog_query(kept.as_raw_fd(), attach)?;
        let [id] = ids.as_slice() else {
            return Err(io::Error::other(format!("{} programs at attach point {attach}", ids.len())));
        };
        let program = sys::bpf_prog_get_fd_by_id(*id)?;
        sys::bpf_prog_attach(leaf.as_raw_fd(), program.as_raw_fd(), attach)?;
    }
    check_attached(leaf, &tags)
}

/// What the egress programs refused to the jails of the cgroup open at `leaf` since the
/// last call (which it forgets): `None` when nothing was refused, or no program is attached.
/// The map is the one the leaf's packet program counts in; the key, the leaf's cgroup id
/// (its inode number in cgroup v2).
pub fn take_refused(leaf: &impl AsRawFd) -> io::Result<Option<Refused>> {
    let (_, ids) = sys::bpf_prog_query(leaf.as_raw_fd(), INET_EGRESS)?;
    let [id] = ids.as_slice() else { return Ok(None) };
    let program = sys::bpf_prog_get_fd_by_id(*id)?;
    let info = sys::bpf_prog_info(program.as_raw_fd())?;
    let [map_id] = info.map_ids.as_slice() else {
        return Err(io::Error::other("the egress program counts in no map"));
    };
    let map = sys::bpf_map_get_fd_by_id(*map_id)?;
    let key = nix::sys::stat::fstat(leaf.as_raw_fd())?.st_ino.to_le_bytes();
    let mut value = [0u8; VALUE_SIZE];
    if !sys::bpf_map_lookup(map.as_raw_fd(), &key, &mut value)? {
        return Ok(None);
    }
    sys::bpf_map_delete(map.as_raw_fd(), &key)?;
    Ok(Refused::from_value(&value))
}

/// The name of a network mode in cgroup names.
pub fn mode_name(network: Network) -> &'static str {
    match network {
        Network::None => "none",
        Network::Local => "local",
        Network::Layer => "layer",
        Network::Any => "any",
    }
}

/// Whether commands of `network` need an egress filter.
pub fn filtered(network: Network) -> bool {
    // As `rule_for` has it, without reading /etc/resolv.conf.
    matches!(network, Network::Local | Network::Layer)
}

/// Loads the programs and attaches them to their cgroup (made if missing), then checks it.
fn install(wanted: &Wanted) -> io::Result<OwnedFd> {
    let (loaded, tags) = wanted.programs.load()?;
    let name = format!("{}{}-{}-{}", wanted.prefix, hex(&tags[0]), hex(&tags[1]), hex(&tags[2]));
    sweep(&wanted.root);
    let path = wanted.root.join(&name);
    match fs::DirBuilder::new().mode(0o755).create(&path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let dir = open_checked(&path)?;
    for (attach, program) in &loaded {
        sys::bpf_prog_attach(dir.as_raw_fd(), program.as_raw_fd(), *attach)?;
    }
    check_attached(&dir, &tags)?;
    Ok(dir)
}

/// The cgroups named for these programs, with the tags their names record.
fn existing(root: &Path, prefix: &str) -> Vec<(String, Tags)> {
    let Ok(entries) = fs::read_dir(root) else { return Vec::new() };
    let names = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned());
    names.filter_map(|name| Some((name.clone(), parse_tags(name.strip_prefix(prefix)?)?))).collect()
}

fn parse_tags(text: &str) -> Option<Tags> {
    let mut parts = text.split('-');
    let tags = [parse_tag(parts.next()?)?, parse_tag(parts.next()?)?, parse_tag(parts.next()?)?];
    parts.next().is_none().then_some(tags)
}

fn parse_tag(text: &str) -> Option<[u8; 8]> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut tag = [0u8; 8];
    for (i, byte) in tag.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(tag)
}

/// Exactly one program per attach point, attached without flags, of the right type and tag.
fn check_attached(dir: &impl AsRawFd, tags: &Tags) -> io::Result<()> {
    for (attach, kind) in ATTACH_POINTS {
        let (flags, ids) = sys::bpf_prog_query(dir.as_raw_fd(), attach)?;
        let [id] = ids.as_slice() else {
            return Err(io::Error::other(format!("{} programs at attach point {attach}", ids.len())));
        };
        if flags != 0 {
            return Err(io::Error::other(format!("attach point {attach} has flags {flags:#x}")));
        }
        let program = sys::bpf_prog_get_fd_by_id(*id)?;
        let (prog_type, tag) = sys::bpf_prog_type_and_tag(program.as_raw_fd())?;
        if prog_type != kind.prog_type() || tag != tags[index(kind)] {
            return Err(io::Error::other(format!("attach point {attach} holds a program cage did not load")));
        }
    }
    Ok(())
}

/// Opens a cgroup directory and checks it is root's and writable by no one else.
pub(crate) fn open_checked(path: &Path) -> io::Result<OwnedFd> {
    let dir = File::open(path)?;
    let meta = dir.metadata()?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!("{} is not a directory of root's alone", path.display())));
    }
    Ok(OwnedFd::from(dir))
}

/// Removes the cgroups the per-process scheme of earlier versions left behind
/// (`egress-PID-N`, that process gone; rmdir refuses any still in use). The cgroup of an older
/// /etc/resolv.conf stays (empty, a few KiB) until reboot: removing it could race a cage that
/// still reads the old file and is about to clone a jail into it.
fn sweep(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name.strip_prefix("egress-").and_then(|rest| rest.split('-').next());
        let owner = owner.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

/// `<cgroup2>/cage`, made if missing, checked like every cgroup cage uses.
pub fn cage_root() -> io::Result<PathBuf> {
    let root = cgroup2_root()?.join("cage");
    match fs::DirBuilder::new().mode(0o755).create(&root) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    open_checked(&root)?;
    Ok(root)
}

/// Where the cgroup v2 hierarchy is mounted: `/sys/fs/cgroup`, `.../unified` on hybrid
/// hosts, or wherever /proc/self/mountinfo says.
pub(crate) fn cgroup2_root() -> io::Result<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    let is_cgroup2 = |path: &str| {
        nix::sys::statfs::statfs(path)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
    };
    let root = ROOT.get_or_init(|| {
        let usual = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].into_iter().find(|p| is_cgroup2(p));
        if let Some(path) = usual {
            return Some(PathBuf::from(path));
        }
        let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
        info.lines().find_map(|line| {
            let (fields, fs_type) = line.split_once(" - ")?;
            let mount_point = fields.split(' ').nth(4)?;
            // A mount listed but covered by another one (a tmpfs over /sys/fs/cgroup) is not there.
            (fs_type.starts_with("cgroup2 ") && is_cgroup2(mount_point)).then(|| PathBuf::from(mount_point))
        })
    });
    root.as_deref()
        .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no cgroup2 hierarchy is mounted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_back_from_the_name_and_nothing_else_parses() {
        let tags = parse_tags("0011223344556677-8899aabbccddeeff-0000000000000001");
        assert_eq!(
            tags,
            Some([
                [0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77],
                [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
                [0, 0, 0, 0, 0, 0, 0, 1]
            ])
        );
        assert_eq!(parse_tags("0011223344556677-8899aabbccddeeff"), None, "two tags: an older cage's");
        assert_eq!(parse_tags("0011223344556677-8899aabbccddeeff-0000000000000001-00"), None);
        assert_eq!(parse_tags("00112233445566-8899aabbccddeeff-0000000000000001"), None);
        assert_eq!(parse_tags("001122334455667g-8899aabbccddeeff-0000000000000001"), None);
    }

    #[test]
    fn the_hash_follows_the_instructions() {
        use crate::policy::reach::{Cidr, Proto};
        let target = Target { net: Cidr::parse("192.0.2.1").expect("cidr"), port: 22, proto: Proto::Tcp };
        let local = Programs::new(EgressRule::default());
        let layer = Programs::new(EgressRule { targets: vec![target], dns: vec![[10, 0, 0, 2]] });
        let other_dns = Programs::new(EgressRule { targets: vec![target], dns: vec![[10, 0, 0, 3]] });
        assert_eq!(local.hash().len(), 16);
        assert_eq!(local.hash(), Programs::new(EgressRule::default()).hash());
        assert_ne!(local.hash(), layer.hash());
        assert_ne!(layer.hash(), other_dns.hash());
    }
}
