//! Exec tracing: every `execve`/`execveat` inside a jail is shown to the monitor through a
//! seccomp user notification, which the monitor records (an `exec` audit event) and answers.
//!
//! The answer is a record and a second check, not the barrier: a continued call re-reads its
//! arguments from memory the jailed process can still change (seccomp_unotify(2)), so what
//! stops a blacklisted program from running is its mask in the jail. The notification makes
//! the attempt visible and refuses it early.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use libc::sock_filter;

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
/// AUDIT_ARCH_X86_64 (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
const ARCH_X86_64: u32 = 0xc000_003e;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The filter: `execve` and `execveat` of this architecture notify; everything else passes
/// on to the jail's other filters (which kill a foreign architecture).
pub(crate) fn exec_notify_filter() -> Vec<sock_filter> {
    vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ_K, ARCH_X86_64, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_ALLOW),
        stmt(LD_W_ABS, NR),
        jump(JEQ_K, libc::SYS_execve as u32, 2, 0),
        jump(JEQ_K, libc::SYS_execveat as u32, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_ALLOW),
        stmt(RET_K, libc::SECCOMP_RET_USER_NOTIF),
    ]
}

/// In the jail, after its other filters: loads the exec-notification filter and sends its
/// listener to the monitor over `socket`, then drops this process's copy (the command never
/// holds it, or it could answer for itself).
pub(crate) fn hand_over_listener(socket: std::os::fd::RawFd) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let listener = crate::sys::notify::load_filter_with_listener(&exec_notify_filter())?;
    crate::sys::notify::send_fd(socket, listener.as_raw_fd())
}

/// What an exec call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecCall {
    pub path: String,
    pub argv: Vec<String>,
}

/// Most arguments read, and most bytes of each: enough for any audit, bounded for the monitor.
const MAX_ARGS: usize = 256;
const MAX_STRING: usize = 4096;

/// Reads the path and argv of an `execve` (`nr`, `args` as in `seccomp_data`) from the
/// memory of `pid` (the monitor is root; /proc/PID/mem needs no ptrace attach for it).
pub(crate) fn read_exec_call(pid: u32, nr: i32, args: &[u64; 6]) -> io::Result<ExecCall> {
    let mem = File::open(format!("/proc/{pid}/mem"))?;
    let (path_at, argv_at) = match nr as libc::c_long {
        libc::SYS_execveat => (args[1], args[2]),
        _ => (args[0], args[1]),
    };
    let path = read_string(&mem, path_at)?;
    let mut argv = Vec::new();
    for i in 0..MAX_ARGS as u64 {
        let mut pointer = [0u8; 8];
        if argv_at == 0 {
            break;
        }
        mem.read_exact_at(&mut pointer, argv_at + i * 8)?;
        let at = u64::from_le_bytes(pointer);
        if at == 0 {
            break;
        }
        argv.push(read_string(&mem, at)?);
    }
    Ok(ExecCall { path, argv })
}

/// A NUL-terminated string at `at`, read in pieces (it may end just before unmapped memory).
fn read_string(mem: &File, at: u64) -> io::Result<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 256];
    while bytes.len() < MAX_STRING {
        // Never read across a page boundary in one go: the next page may not be mapped.
        let offset = at + bytes.len() as u64;
        let to_page_end = 4096 - (offset % 4096) as usize;
        let want = chunk.len().min(to_page_end);
        let n = mem.read_at(&mut chunk[..want], offset)?;
        if n == 0 {
            break;
        }
        match chunk[..n].iter().position(|&b| b == 0) {
            Some(end) => {
                bytes.extend_from_slice(&chunk[..end]);
                return Ok(String::from_utf8_lossy(&bytes).into_owned());
            }
            None => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn the_filter_notifies_exec_and_passes_the_rest() {
        let filter = exec_notify_filter();
        assert_eq!(filter.last().map(|f| f.k), Some(libc::SECCOMP_RET_USER_NOTIF));
        let execve = filter.iter().position(|f| f.k == libc::SYS_execve as u32).expect("execve");
        // Both exec calls jump to the final USER_NOTIF; the fall-through allows.
        assert_eq!(execve + 1 + filter[execve].jt as usize, filter.len() - 1);
        let execveat = execve + 1;
        assert_eq!(execveat + 1 + filter[execveat].jt as usize, filter.len() - 1);
        assert_eq!(filter[execveat + 1].k, libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn exec_arguments_are_read_from_the_process_memory() {
        let path = CString::new("/usr/bin/id").expect("path");
        let args: Vec<CString> =
            ["id", "-u", "a\nb"].iter().map(|a| CString::new(*a).expect("arg")).collect();
        let mut pointers: Vec<u64> = args.iter().map(|a| a.as_ptr() as u64).collect();
        pointers.push(0);
        let regs = [path.as_ptr() as u64, pointers.as_ptr() as u64, 0, 0, 0, 0];
        let call = read_exec_call(std::process::id(), libc::SYS_execve as i32, &regs).expect("read");
        assert_eq!(call.path, "/usr/bin/id");
        assert_eq!(call.argv, ["id", "-u", "a\nb"]);
        let at = [0, path.as_ptr() as u64, pointers.as_ptr() as u64, 0, 0, 0];
        let call = read_exec_call(std::process::id(), libc::SYS_execveat as i32, &at).expect("read");
        assert_eq!(call.argv.len(), 3);
    }
}
