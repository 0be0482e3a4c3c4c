//! seccomp user notification: the jail's exec calls are shown to the monitor, which records
//! them and answers each one (continue, or an error) before the kernel goes on.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Loads `filter` for this thread's process tree and returns its notification listener
/// (close-on-exec). Needs no_new_privs (or CAP_SYS_ADMIN), like any seccomp filter.
pub(crate) fn load_filter_with_listener(filter: &[libc::sock_filter]) -> io::Result<OwnedFd> {
    let len = u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let prog = libc::sock_fprog { len, filter: filter.as_ptr() as *mut libc::sock_filter };
    // SAFETY: `prog` points to `filter`, which outlives the call; the kernel copies the
    // program before returning and does not keep the pointer.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Receives the next notification (blocks unless the listener is known to be readable).
pub(crate) fn notif_recv(listener: RawFd) -> io::Result<libc::seccomp_notif> {
    // SAFETY: seccomp_notif is plain data (integers); all-zero is its required initial state.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: NOTIF_RECV writes one struct seccomp_notif to the pointer, which points to `notif`.
    let ret = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notif as *mut _) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(notif)
}

/// Answers notification `id`: `Ok(())` lets the call go on unchanged, `Err(errno)` fails it.
pub(crate) fn notif_send(listener: RawFd, id: u64, answer: Result<(), i32>) -> io::Result<()> {
    let resp = match answer {
        Ok(()) => libc::seccomp_notif_resp {
            id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        },
        Err(errno) => libc::seccomp_notif_resp { id, val: 0, error: -errno, flags: 0 },
    };
    // SAFETY: NOTIF_SEND reads one struct seccomp_notif_resp from the pointer, which points to `resp`.
    let ret = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_SEND, &resp as *const _) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether notification `id` still waits: the process it came from has not died (and its pid
/// been reused) since the notification was read.
pub(crate) fn notif_id_valid(listener: RawFd, id: u64) -> bool {
    // SAFETY: NOTIF_ID_VALID reads one u64 from the pointer, which points to `id`.
    unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &id as *const u64) == 0 }
}

/// Sends `fd` over the unix socket `socket` (SCM_RIGHTS), with a one-byte message.
pub(crate) fn send_fd(socket: RawFd, fd: RawFd) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [fd];
    let message = [io::IoSlice::new(b"L")];
    sendmsg::<()>(socket, &message, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)?;
    Ok(())
}

/// Receives one descriptor sent by [`send_fd`]; `None` when the peer closed without sending.
pub(crate) fn recv_fd(socket: RawFd) -> io::Result<Option<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut message = [io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let received = recvmsg::<()>(socket, &mut message, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for cmsg in received.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            fds.extend(received);
        }
    }
    // SAFETY: SCM_RIGHTS just installed these descriptors in this process; nothing else owns them.
    let mut owned: Vec<OwnedFd> = fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect();
    Ok(owned.pop())
}
