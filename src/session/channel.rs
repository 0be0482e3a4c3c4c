//! The monitor <-> REPL protocol: one SOCK_SEQPACKET message per item, a kind byte first.
//! The REPL sends raw lines; the monitor sends prompts and completion names. The monitor
//! re-parses every line itself: nothing the REPL says is trusted.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

pub const LINE: u8 = b'L';
/// The operator typed something that is not UTF-8: refused by the monitor, the session goes on.
pub const UNREADABLE: u8 = b'U';
pub const QUIT: u8 = b'Q';
/// REPL asks for completions of a path; the monitor answers with CANDIDATES.
pub const COMPLETE: u8 = b'?';
pub const CANDIDATES: u8 = b'A';
pub const PROMPT: u8 = b'P';
pub const NAMES: u8 = b'C';
pub const OVER: u8 = b'X';

/// Longest message: a line of 4096 bytes plus its kind, with room to notice overlong ones.
pub const MAX_MESSAGE: usize = 8192;

pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?)
}

pub fn send_msg(fd: &OwnedFd, kind: u8, body: &[u8]) -> io::Result<()> {
    let mut msg = Vec::with_capacity(body.len() + 1);
    msg.push(kind);
    msg.extend_from_slice(body);
    send(fd.as_raw_fd(), &msg, MsgFlags::MSG_NOSIGNAL)?;
    Ok(())
}

/// The next message, or `None` when the other side has gone.
pub fn recv_msg(fd: &OwnedFd) -> io::Result<Option<(u8, Vec<u8>)>> {
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
