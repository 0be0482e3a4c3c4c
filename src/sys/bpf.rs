//! The bpf(2) commands cage uses: load, attach, query and inspect the egress programs, and
//! read the map in which they count what they refused. Each command passes the prefix of
//! `union bpf_attr` it reads, laid out as the kernel's uapi header has it.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// One eBPF instruction (`struct bpf_insn`); `regs` is dst in the low nibble, src in the high.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;

/// bpf(2) with command `cmd` on `attr`.
///
/// # Safety
/// `T` must be the `#[repr(C)]` prefix of `union bpf_attr` that `cmd` reads, and every
/// pointer in it must be valid for what the kernel reads or writes through it for `cmd`.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: the caller vouches for the layout of `attr` and the pointers inside it; the
    // kernel reads and writes at most `size_of::<T>()` bytes of it.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// A file descriptor the kernel just returned, owned by nothing else yet.
fn new_fd(ret: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new fd for this call; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as RawFd) }
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr`.
#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// Loads an eBPF program (BPF_PROG_LOAD); the verifier's log is not collected.
pub fn bpf_prog_load(prog_type: u32, expected_attach_type: u32, insns: &[BpfInsn]) -> io::Result<OwnedFd> {
    let license = c"GPL";
    let mut attr = ProgLoad {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: *b"cage_egress\0\0\0\0\0",
        prog_ifindex: 0,
        expected_attach_type,
    };
    // SAFETY: ProgLoad is the BPF_PROG_LOAD prefix; its pointers refer to `insns` (insn_cnt
    // instructions) and `license`, both alive for the call; the kernel only reads them.
    unsafe { bpf(BPF_PROG_LOAD, &mut attr) }.map(new_fd)
}

/// The `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` part of `union bpf_attr`.
#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// Attaches program `prog` to the cgroup open at `cgroup`, without flags (BPF_PROG_ATTACH):
/// it replaces whatever program was attached there the same way.
pub fn bpf_prog_attach(cgroup: RawFd, prog: RawFd, attach_type: u32) -> io::Result<()> {
    let mut attr =
        ProgAttach { target_fd: cgroup as u32, attach_bpf_fd: prog as u32, attach_type, attach_flags: 0 };
    // SAFETY: ProgAttach is the BPF_PROG_ATTACH prefix and holds no pointers.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// Detaches program `prog` from the cgroup open at `cgroup` (BPF_PROG_DETACH).
pub fn bpf_prog_detach(cgroup: RawFd, prog: RawFd, attach_type: u32) -> io::Result<()> {
    let mut attr =
        ProgAttach { target_fd: cgroup as u32, attach_bpf_fd: prog as u32, attach_type, attach_flags: 0 };
    // SAFETY: ProgAttach is the BPF_PROG_DETACH prefix and holds no pointers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// The `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The programs attached directly to the cgroup open at `cgroup` for `attach_type`
/// (BPF_PROG_QUERY): their attach flags and ids (at most 8; more is an error).
pub fn bpf_prog_query(cgroup: RawFd, attach_type: u32) -> io::Result<(u32, Vec<u32>)> {
    let mut ids = [0u32; 8];
    let mut attr = ProgQuery {
        target_fd: cgroup as u32,
        attach_type,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    // SAFETY: ProgQuery is the BPF_PROG_QUERY prefix; the kernel writes at most `prog_cnt`
    // (8) ids to `ids`, which outlives the call.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    let count = (attr.prog_cnt as usize).min(ids.len());
    Ok((attr.attach_flags, ids[..count].to_vec()))
}

/// The `BPF_*_GET_FD_BY_ID` part of `union bpf_attr`.
#[repr(C)]
struct GetFdById {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// A new fd for the loaded program with id `id` (BPF_PROG_GET_FD_BY_ID).
pub fn bpf_prog_get_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdById { id, next_id: 0, open_flags: 0 };
    // SAFETY: GetFdById is the BPF_PROG_GET_FD_BY_ID prefix and holds no pointers.
    unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }.map(new_fd)
}

/// A new fd for the map with id `id` (BPF_MAP_GET_FD_BY_ID).
pub fn bpf_map_get_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdById { id, next_id: 0, open_flags: 0 };
    // SAFETY: GetFdById is the BPF_MAP_GET_FD_BY_ID prefix and holds no pointers.
    unsafe { bpf(BPF_MAP_GET_FD_BY_ID, &mut attr) }.map(new_fd)
}

/// The `BPF_OBJ_GET_INFO_BY_FD` part of `union bpf_attr`.
#[repr(C)]
struct ObjInfo {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The start of `struct bpf_prog_info`, up to the ids of the maps the program uses.
#[repr(C)]
#[derive(Default)]
struct ProgInfoHead {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
}

/// What cage checks of a loaded program: its type, tag (the kernel's hash of the
/// instructions, map references zeroed) and the ids of its maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub tag: [u8; 8],
    pub map_ids: Vec<u32>,
}

/// The type, tag and maps of the program open at `prog` (BPF_OBJ_GET_INFO_BY_FD).
pub fn bpf_prog_info(prog: RawFd) -> io::Result<ProgInfo> {
    let mut map_ids = [0u32; 4];
    let mut info = ProgInfoHead {
        nr_map_ids: map_ids.len() as u32,
        map_ids: map_ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut attr = ObjInfo {
        bpf_fd: prog as u32,
        info_len: std::mem::size_of::<ProgInfoHead>() as u32,
        info: &mut info as *mut ProgInfoHead as u64,
    };
    // SAFETY: ObjInfo is the BPF_OBJ_GET_INFO_BY_FD prefix; the kernel writes at most
    // `info_len` bytes to `info` and at most `nr_map_ids` (4) ids to `map_ids`; the other
    // pointers in `info` are null (their lengths 0), so nothing is written through them.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    let count = (info.nr_map_ids as usize).min(map_ids.len());
    Ok(ProgInfo { prog_type: info.prog_type, tag: info.tag, map_ids: map_ids[..count].to_vec() })
}

/// The type and tag of the program open at `prog`.
pub fn bpf_prog_type_and_tag(prog: RawFd) -> io::Result<(u32, [u8; 8])> {
    bpf_prog_info(prog).map(|info| (info.prog_type, info.tag))
}

/// The `BPF_MAP_CREATE` part of `union bpf_attr`.
#[repr(C)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// Creates a map (BPF_MAP_CREATE) named `cage_egress`.
pub fn bpf_map_create(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> io::Result<OwnedFd> {
    let mut attr = MapCreate {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags: 0,
        inner_map_fd: 0,
        numa_node: 0,
        map_name: *b"cage_egress\0\0\0\0\0",
    };
    // SAFETY: MapCreate is the BPF_MAP_CREATE prefix and holds no pointers.
    unsafe { bpf(BPF_MAP_CREATE, &mut attr) }.map(new_fd)
}

/// The `BPF_MAP_*_ELEM` part of `union bpf_attr`.
#[repr(C)]
struct MapElem {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// Copies the value under `key` into `value` (BPF_MAP_LOOKUP_ELEM); `false` when there is none.
/// Both lengths must be the map's key and value sizes, or the call fails with EINVAL.
pub fn bpf_map_lookup(map: RawFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut attr = MapElem {
        map_fd: map as u32,
        _pad: 0,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        flags: 0,
    };
    check_sizes(map, key.len(), Some(value.len()))?;
    // SAFETY: MapElem is the BPF_MAP_LOOKUP_ELEM prefix; the map's key and value sizes were
    // just checked against `key` and `value`, so the kernel reads and writes within them.
    match unsafe { bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) } {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes `key` from the map (BPF_MAP_DELETE_ELEM); a key already gone is not an error.
pub fn bpf_map_delete(map: RawFd, key: &[u8]) -> io::Result<()> {
    check_sizes(map, key.len(), None)?;
    let mut attr = MapElem { map_fd: map as u32, _pad: 0, key: key.as_ptr() as u64, value: 0, flags: 0 };
    // SAFETY: MapElem is the BPF_MAP_DELETE_ELEM prefix; the map's key size was just checked
    // against `key`, which the kernel only reads.
    match unsafe { bpf(BPF_MAP_DELETE_ELEM, &mut attr) } {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The start of `struct bpf_map_info`.
#[repr(C)]
#[derive(Default)]
struct MapInfoHead {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
}

/// Refuses a key or value buffer whose size is not the map's: the kernel would read or write
/// the map's sizes, whatever the buffers hold.
fn check_sizes(map: RawFd, key: usize, value: Option<usize>) -> io::Result<()> {
    let mut info = MapInfoHead::default();
    let mut attr = ObjInfo {
        bpf_fd: map as u32,
        info_len: std::mem::size_of::<MapInfoHead>() as u32,
        info: &mut info as *mut MapInfoHead as u64,
    };
    // SAFETY: ObjInfo is the BPF_OBJ_GET_INFO_BY_FD prefix; the kernel writes at most
    // `info_len` bytes to `info`, which outlives the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    let value_ok = value.is_none_or(|v| v == info.value_size as usize);
    if key != info.key_size as usize || !value_ok {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(())
}
