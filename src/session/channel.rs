//! The monitor <-> REPL protocol: one SOCK_SEQPACKET message per item, a kind byte first.
//! The REPL sends raw lines; the monitor sends prompts and completion names. The monitor
//! re-parses every line itself: nothing the REPL says is trusted.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

pub(super) const LINE: u8 = b'L';
/// The operator typed something that is not UTF-8: refused by the monitor, the session goes on.
pub(super) const UNREADABLE: u8 = b'U';
pub(super) const QUIT: u8 = b'Q';
/// REPL asks for completions of a path; the monitor answers with CANDIDATES.
pub(super) const COMPLETE: u8 = b'?';
pub(super) const CANDIDATES: u8 = b'A';
pub(super) const PROMPT: u8 = b'P';
pub(super) const NAMES: u8 = b'C';
pub(super) const OVER: u8 = b'X';

/// Longest message: a line of 4096 bytes plus its kind, with room to notice overlong ones.
pub(super) const MAX_MESSAGE: usize = 8192;

pub(super) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?)
}

pub(super) fn send_msg(fd: &OwnedFd, kind: u8, body: &[u8]) -> io::Result<()> {
    let mut msg = Vec::with_capacity(body.len() + 1);
    msg.push(kind);
    msg.extend_from_slice(body);
    send(fd.as_raw_fd(), &msg, MsgFlags::MSG_NOSIGNAL)?;
    Ok(())
}

/// The next message, or `None` when the other side has gone.
pub(super) fn recv_msg(fd: &OwnedFd) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let n = loop {
        match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    if n == 0 {
        return Ok(None);
    }
    buf.truncate(n);
    let kind = buf.remove(0);
    Ok(Some((kind, buf)))
}
