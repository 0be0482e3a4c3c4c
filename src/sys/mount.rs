//! The new mount API's two calls that carry a mount from one namespace into another: a
//! detached copy of a host path taken before the jail enters its view, attached inside it.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const OPEN_TREE_CLONE: libc::c_uint = 0x01;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;

/// open_tree(2) with OPEN_TREE_CLONE: a detached bind mount of `path` (not of what is mounted
/// beneath it), held by the returned descriptor.
pub fn clone_tree(path: &CStr) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    // SAFETY: `path` is a valid C string; open_tree reads only it and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by open_tree(2) and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// move_mount(2): attaches the detached mount `tree` at `target` in the caller's namespace.
pub fn attach_tree(tree: BorrowedFd, target: &CStr) -> io::Result<()> {
    let empty = c"";
    // SAFETY: both paths are valid C strings and `tree` an open descriptor; move_mount reads
    // them and changes no memory of ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}
