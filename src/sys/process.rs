//! New processes: forks and exec. A fork is safe to call only where the child cannot find a
//! lock held by another thread: [`fork_alone`] checks that the process runs one thread, and
//! [`clone_jail`], which the jail's tests call from a test thread, leaves it to its caller.
//! Programs are started from an [`ExecArgs`], built (allocated) before the fork.

use std::ffi::{c_char, CStr, CString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;

use nix::unistd::Pid;

/// A program, its arguments and its environment as execve(2) takes them: the strings and the
/// null-terminated pointer arrays into them, owned together so the pointers stay valid.
pub struct ExecArgs {
    path: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    env_ptrs: Vec<*const c_char>,
}

impl ExecArgs {
    pub fn new(path: CString, argv: Vec<CString>, env: Vec<CString>) -> ExecArgs {
        // A CString's bytes live on the heap: moving the vectors below does not move them.
        let pointers = |list: &[CString]| {
            list.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
        };
        let (argv_ptrs, env_ptrs) = (pointers(&argv), pointers(&env));
        ExecArgs { path, argv, env, argv_ptrs, env_ptrs }
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }

    pub fn argv(&self) -> &[CString] {
        &self.argv
    }

    pub fn env(&self) -> &[CString] {
        &self.env
    }
}

/// True when this process runs one thread (procfs counts a task directory's links as two
/// plus one per thread). Only that thread could start another, so the answer holds until it
/// does.
pub fn single_threaded() -> bool {
    std::fs::metadata("/proc/self/task").is_ok_and(|m| m.nlink() == 3)
}

/// Forks a child of this process, born in the cgroup v2 directory open at `cgroup` if one is
/// given (clone3 with `CLONE_INTO_CGROUP`: it never runs outside it, and no migration, which
/// waits for an RCU grace period, is needed). Returns `None` in the child. Refused unless the
/// process runs one thread: then no lock (the allocator's, stdio's) can be held by a thread
/// the child lacks, and the child may do whatever the parent could.
pub fn fork_alone(cgroup: Option<RawFd>) -> io::Result<Option<Pid>> {
    if !single_threaded() {
        return Err(io::Error::other("refused to fork a process that runs more than one thread"));
    }
    match cgroup {
        // SAFETY: the process runs one thread (checked above), so the child's copy of every
        // lock is free; clone3 gets a well-formed argument (see `clone3`).
        Some(cgroup) => unsafe { clone3(0, cgroup) },
        None => {
            // SAFETY: fork(2) in a process of one thread (checked above): the child's copy of
            // the address space holds no lock another thread took.
            let pid = unsafe { libc::fork() };
            child_or_parent(pid as libc::c_long)
        }
    }
}

/// Starts a jail's first process: a fork whose child is born in the new namespaces
/// `namespace_flags` (`CLONE_NEW*`) and, if given, in the cgroup v2 directory open at
/// `cgroup`. Unlike `unshare(CLONE_NEWPID)`, the child itself is PID 1 of a new PID namespace.
/// Returns `None` in the child. Refused, as [`fork_alone`], unless the process runs one thread.
pub fn clone_jail(namespace_flags: libc::c_int, cgroup: Option<RawFd>) -> io::Result<Option<Pid>> {
    if !single_threaded() {
        return Err(io::Error::other("refused to fork a process that runs more than one thread"));
    }
    match cgroup {
        // SAFETY: the process runs one thread (checked above); clone3 gets a well-formed
        // argument (see `clone3`).
        Some(cgroup) => unsafe { clone3(namespace_flags, cgroup) },
        None => {
            let flags = (namespace_flags | libc::SIGCHLD) as libc::c_ulong;
            // SAFETY: the process runs one thread (checked above). With a null stack pointer
            // clone(2) duplicates the calling thread like fork(2); the child returns here with
            // 0 on a copy of this address space. The null parent_tid, child_tid and tls are
            // not used: no CLONE_*SETTID/SETTLS flag is set.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    flags,
                    std::ptr::null_mut::<libc::c_void>(),
                    0usize,
                    0usize,
                    0usize,
                )
            };
            child_or_parent(ret)
        }
    }
}

/// `struct clone_args` of clone3(2), up to `cgroup` (Linux 5.7).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// clone3 with `flags` into the cgroup open at `cgroup`, as a fork.
///
/// # Safety
/// The process runs one thread: the child of a process of more could find a lock (the
/// allocator's) held by a thread it lacks.
unsafe fn clone3(flags: libc::c_int, cgroup: RawFd) -> io::Result<Option<Pid>> {
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup as u32 as u64,
    };
    // SAFETY: `args` is a properly laid out struct clone_args that outlives the call, and the
    // kernel reads `size_of` bytes of it. With no stack given, clone3 duplicates the calling
    // thread like fork(2) (the child returns here with 0 on a copy of this address space); no
    // flag asks the kernel to write through a pointer (pidfd, child_tid, parent_tid are 0).
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>())
    };
    child_or_parent(ret)
}

fn child_or_parent(ret: libc::c_long) -> io::Result<Option<Pid>> {
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as libc::pid_t))),
    }
}

/// execve(2) of `args`. Returns only on failure. Allocates nothing: usable in any child.
pub fn execve(args: &ExecArgs) -> io::Error {
    // SAFETY: `path` is a C string; `argv_ptrs` and `env_ptrs` end with a null pointer and
    // every other element points into a CString `args` owns (ExecArgs::new).
    unsafe { libc::execve(args.path.as_ptr(), args.argv_ptrs.as_ptr(), args.env_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// posix_spawn(3) of `args`, every signal unblocked and at its default disposition in the new
/// process (what cage ignores, SIGPIPE as every Rust program does, is not the command's to
/// inherit). glibc starts it with CLONE_VM|CLONE_VFORK on a stack of its own, so no copy of
/// this process's page tables is made, and a failed exec comes back as the error.
pub fn spawn_program(args: &ExecArgs) -> io::Result<Pid> {
    let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: posix_spawnattr_init initialises the attribute object `attr` points to.
    let init = unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) };
    if init != 0 {
        return Err(io::Error::from_raw_os_error(init));
    }
    // SAFETY: `attr` was initialised just above.
    let ret = unsafe { spawn_with(attr.as_mut_ptr(), args) };
    // SAFETY: `attr` was initialised above and is destroyed once, after its last use.
    unsafe { libc::posix_spawnattr_destroy(attr.as_mut_ptr()) };
    ret
}

/// posix_spawn of `args` with the attribute object `attr`.
///
/// # Safety
/// `attr` points to an attribute object initialised by posix_spawnattr_init.
unsafe fn spawn_with(attr: *mut libc::posix_spawnattr_t, args: &ExecArgs) -> io::Result<Pid> {
    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut every = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set `empty` points to.
    unsafe { libc::sigemptyset(empty.as_mut_ptr()) };
    // SAFETY: sigfillset initialises the set `every` points to.
    unsafe { libc::sigfillset(every.as_mut_ptr()) };
    // SAFETY: `attr` is initialised (this function's contract) and `empty` was initialised above.
    let mut ret = unsafe { libc::posix_spawnattr_setsigmask(attr, empty.as_ptr()) };
    if ret == 0 {
        // SAFETY: `attr` is initialised and `every` was initialised above.
        ret = unsafe { libc::posix_spawnattr_setsigdefault(attr, every.as_ptr()) };
    }
    if ret == 0 {
        let flags = (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short;
        // SAFETY: `attr` is initialised; the flags are plain bits.
        ret = unsafe { libc::posix_spawnattr_setflags(attr, flags) };
    }
    let mut pid: libc::pid_t = 0;
    if ret == 0 {
        // SAFETY: `attr` is initialised; `path` is a C string; the argument and environment
        // arrays end with a null pointer and point into CStrings `args` owns; posix_spawn
        // writes the pid to `pid` and keeps none of these pointers.
        ret = unsafe {
            libc::posix_spawn(
                &mut pid,
                args.path.as_ptr(),
                std::ptr::null(),
                attr,
                args.argv_ptrs.as_ptr() as *const *mut c_char,
                args.env_ptrs.as_ptr() as *const *mut c_char,
            )
        };
    }
    match ret {
        0 => Ok(Pid::from_raw(pid)),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_thread_is_not_alone_and_a_fork_or_a_jail_of_it_is_refused() {
        // The harness runs each test on a thread of its own: two threads.
        assert!(!single_threaded());
        let refused = fork_alone(None).expect_err("a fork of a threaded process");
        assert!(refused.to_string().contains("more than one thread"), "{refused}");
        let refused = clone_jail(libc::CLONE_NEWNS, None).expect_err("a jail from a threaded process");
        assert!(refused.to_string().contains("more than one thread"), "{refused}");
    }

    #[test]
    fn exec_arguments_end_with_a_null_pointer_and_point_at_their_strings() {
        let c = |s: &str| CString::new(s).expect("no NUL");
        let args = ExecArgs::new(c("/bin/echo"), vec![c("echo"), c("hi")], vec![c("A=1")]);
        assert_eq!(args.argv_ptrs.len(), 3);
        assert!(args.argv_ptrs[2].is_null() && args.env_ptrs[1].is_null());
        assert_eq!(args.argv_ptrs[1], args.argv()[1].as_ptr());
        assert_eq!(args.path().to_str(), Ok("/bin/echo"));
    }
}
