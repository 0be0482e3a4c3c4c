/* The floor's jail (see floor.c): cage's steps in the jail's first process, in cage's order
 * (docs/jail.md, "Steps"; src/jail/child.rs, kernel.rs), then PID 1 that starts the command
 * and reports its end; and the seccomp program, cage's own for this grant. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "common.h"

/* Landlock's rights by the names of ABI 5, which older uapi headers lack. */
#define RD LANDLOCK_ACCESS_FS_READ_DIR
#define RF LANDLOCK_ACCESS_FS_READ_FILE
#define RW (FS_ALL_ABI5 & ~LANDLOCK_ACCESS_FS_EXECUTE)
#define DEV (LANDLOCK_ACCESS_FS_WRITE_FILE | RF | (1ULL << 15) /* IOCTL_DEV */)

static void mnt(const char *src, const char *at, const char *type, unsigned long flags, const char *data) {
    ok(mount(src, at, type, flags, data), "mount %s", at);
}

static void bind_tree(const char *host, unsigned long flags) {
    char at[256];
    snprintf(at, sizeof at, R "%s", host);
    ok(mkdir(at, 0755), "mkdir %s", at);
    mnt(host, at, NULL, MS_BIND, NULL);
    mnt(NULL, at, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

/* The first file mask is /dev/null bound and sealed, the first directory mask an empty
 * tmpfs; the others are bound from those (docs/jail.md, "The view"). */
static void mask(const char *host, char *file, char *dir) {
    struct stat st;
    char at[256];
    if (lstat(host, &st) < 0 && errno == ENOENT) return; /* absent: cage shows nothing */
    ok(lstat(host, &st), "lstat %s", host);
    snprintf(at, sizeof at, R "%s", host);
    char *first = S_ISDIR(st.st_mode) ? dir : file;
    unsigned long sealed = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (*first) mnt(first, at, NULL, MS_BIND, NULL);
    else if (S_ISDIR(st.st_mode)) mnt("tmpfs", at, "tmpfs", sealed, "mode=000,size=4k,nr_inodes=1");
    else mnt("/dev/null", at, NULL, MS_BIND, NULL), mnt(NULL, at, NULL, MS_REMOUNT | MS_BIND | sealed, NULL);
    if (!*first) snprintf(first, 256, "%s", at);
}

/* Steps 2 to 4: the view of INFRA_DIAG on this host (27 mounts here), then pivot_root. */
static void view(void) {
    static const char *const top[] = {"bin", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "sys", "usr"};
    static const char *const dev[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const int minor[] = {3, 5, 7, 8, 9, 0};
    char host[64], at[256], link[64];
    mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    mnt("tmpfs", R, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m,nr_inodes=16k");
    for (int i = 0; i < 9; i++) { /* merged-/usr links recreated; the system trees bound */
        snprintf(host, sizeof host, "/%s", top[i]);
        snprintf(at, sizeof at, R "/%s", top[i]);
        ssize_t n = readlink(host, link, sizeof link - 1);
        int noexec = !strcmp(top[i], "etc") || !strcmp(top[i], "sys");
        if (n >= 0) link[n] = 0, ok(symlink(link, at), "symlink %s", at);
        else if (errno != ENOENT) bind_tree(host, MS_RDONLY | MS_NOSUID | MS_NODEV | noexec * MS_NOEXEC);
    }
    ok(mkdir(R "/proc", 0555), "mkdir proc");
    mnt("proc", R "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    ok(mkdir(R "/dev", 0755), "mkdir dev");
    mnt("tmpfs", R "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m,nr_inodes=16k");
    for (int i = 0; i < 6; i++) {
        snprintf(at, sizeof at, R "/dev/%s", dev[i]);
        ok(mknod(at, S_IFCHR | 0666, makedev(i == 5 ? 5 : 1, minor[i])), "mknod %s", at);
    }
    ok(symlink("/proc/self/fd", R "/dev/fd"), "symlink fd");
    ok(symlink("/proc/self/fd/0", R "/dev/stdin"), "symlink stdin");
    ok(symlink("/proc/self/fd/1", R "/dev/stdout"), "symlink stdout");
    ok(symlink("/proc/self/fd/2", R "/dev/stderr"), "symlink stderr");
    ok(mkdir(R "/tmp", 0755), "mkdir tmp");
    mnt("tmpfs", R "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m,nr_inodes=16k");
    bind_tree("/u01", MS_NOSUID | MS_NODEV | MS_NOEXEC); /* files.read_write */
    ok(mkdir(R "/var", 0755), "mkdir var");
    bind_tree("/var/log", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC); /* files.read_only */
    static const char *const masks[] = {"/etc/cage/grants", "/etc/gshadow", "/etc/gshadow-",
        "/etc/security/opasswd", "/etc/shadow", "/etc/shadow-", NULL /* the ssh keys */, "/etc/sudoers",
        "/etc/sudoers.d", "/var/log/cage"};
    char file[256] = "", dir[256] = "";
    glob_t keys;
    int found = glob("/etc/ssh/*_key*", 0, NULL, &keys) == 0;
    for (int i = 0; i < 10; i++)
        if (masks[i]) mask(masks[i], file, dir);
        else for (size_t k = 0; found && k < keys.gl_pathc; k++) mask(keys.gl_pathv[k], file, dir);
    mnt(NULL, R "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL);
    mnt(NULL, R, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
    ok(chdir(R), "chdir staging");
    ok(syscall(SYS_pivot_root, ".", "."), "pivot_root");
    ok(umount2(".", MNT_DETACH), "detach old root");
    ok(chdir("/"), "chdir /");
}

/* Step 4b: one rule per visible tree (15 here), added while still root. */
static void landlock_rules(int ruleset) {
    static const struct { const char *path; __u64 access; } rules[] = {
        {"/", RD}, {"/etc", RF | RD}, {"/sys", RF | RD}, {"/usr", LANDLOCK_ACCESS_FS_EXECUTE | RF | RD},
        {"/proc", RF | RD}, {"/dev", RF | RD}, {"/tmp", RW}, {"/u01", RW}, {"/var/log", RF | RD},
        {"/dev/null", DEV}, {"/dev/zero", DEV}, {"/dev/full", DEV}, {"/dev/random", DEV},
        {"/dev/urandom", DEV}, {"/dev/tty", DEV}};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct landlock_path_beneath_attr rule = {.allowed_access = rules[i].access};
        rule.parent_fd = ok(open(rules[i].path, O_PATH | O_CLOEXEC), "open %s", rules[i].path);
        ok(syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0), "landlock rule");
        close(rule.parent_fd);
    }
}

/* Step 6: securebits, the bounding set emptied, the operator's groups and ids, no capability. */
static void drop_privileges(int ngroups, const gid_t *groups) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    ok(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED), "securebits");
    ok(prctl(PR_SET_KEEPCAPS, 1), "keepcaps");
    int cap = 0;
    while (prctl(PR_CAPBSET_DROP, cap) == 0) cap++;
    ok(errno == EINVAL && cap > CAP_SYS_ADMIN ? 0 : -1, "drop capability %d", cap);
    ok(setgroups(ngroups, groups), "setgroups");
    ok(setresgid(gid, gid, gid), "setresgid");
    ok(setresuid(uid, uid, uid), "setresuid");
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[2] = {{0, 0, 0}, {0, 0, 0}};
    ok(syscall(SYS_capset, &head, none), "capset");
    ok(prctl(PR_SET_KEEPCAPS, 0), "keepcaps");
    ok(prctl(PR_SET_PDEATHSIG, SIGKILL), "death signal"); /* cleared by the change of ids */
}

static void report(int fd, char kind, int value) { /* cage's 8-byte status records */
    char r[8] = {kind, 0, 0, 0, value, value >> 8, value >> 16, value >> 24};
    if (write(fd, r, 8) != 8) _exit(126);
}

/* The jail's first process, born in its namespaces and the session's leaf cgroup. */
void jail(char **argv, int status, int trace, int ruleset, int ngroups, gid_t *groups) {
    ok(setsid(), "setsid"); /* step 1 */
    ok(prctl(PR_SET_PDEATHSIG, SIGKILL), "death signal");
    umask(0);
    view();                                                               /* steps 2 to 4 */
    landlock_rules(ruleset);                                              /* step 4b */
    ok(syscall(SYS_close_range, 3, ~0U, 4 /* CLOEXEC */), "close_range"); /* step 5 */
    drop_privileges(ngroups, groups);                                     /* step 6 */
    ok(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");           /* steps 7 and 8 */
    ok(syscall(SYS_landlock_restrict_self, ruleset, 0), "landlock_restrict_self");
    close(ruleset);
    struct sock_fprog filter = seccomp_program(); /* step 9 */
    ok(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter), "seccomp");
    report(status, 'L', 2);
    struct sock_filter notify[] = { /* step 9b: every exec waits for the monitor (exectrace.rs) */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)};
    struct sock_fprog exec_filter = {8, notify};
    int listener = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    listener = ok(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, listener, &exec_filter), "seccomp listener");
    pass_fd(trace, &listener);
    close(listener);
    sigset_t forwarded, none, all; /* step 10: the init starts the command and waits */
    sigemptyset(&forwarded), sigemptyset(&none), sigfillset(&all);
    int signals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (int s = 0; s < 8; s++) sigaddset(&forwarded, signals[s]);
    ok(sigprocmask(SIG_BLOCK, &forwarded, NULL), "sigprocmask");
    posix_spawnattr_t attr;
    ok(-(posix_spawnattr_init(&attr) || posix_spawnattr_setsigmask(&attr, &none) ||
         posix_spawnattr_setsigdefault(&attr, &all) ||
         posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)),
       "spawn attributes");
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/", "LANG=C.UTF-8", NULL};
    pid_t command;
    ok((errno = posix_spawn(&command, argv[0], NULL, &attr, argv, env)) ? -1 : 0, "exec %s", argv[0]);
    syscall(SYS_close_range, 3, status - 1, 0), syscall(SYS_close_range, status + 1, ~0U, 0);
    for (siginfo_t si;;) {
        if (sigwaitinfo(&forwarded, &si) < 0) continue;
        if (si.si_signo != SIGCHLD) { kill(command, si.si_signo); continue; }
        for (int st; waitpid(command, &st, WNOHANG) == command;) {
            report(status, WIFEXITED(st) ? 'X' : 'K', WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
    }
}

/* Step 9: cage's seccomp program for INFRA_DIAG on a cps host (src/jail/seccomp.rs, the alias
 * holding no capability), instruction for instruction: the guard, a binary search that allows
 * at once every number without a rule and refuses those denied whatever their arguments, then
 * seccompiler's rules for the three whose arguments are judged. Built once, before the clone,
 * as cage's. */
static struct sock_filter prog[512];
static unsigned short len, pending[64], npending;

static void op(unsigned short code, unsigned char jt, unsigned char jf, unsigned k) {
    ok(len < sizeof prog / sizeof prog[0] ? 0 : (errno = E2BIG, -1), "seccomp program");
    prog[len++] = (struct sock_filter){code, jt, jf, k};
}
#define LD(at) op(BPF_LD | BPF_W | BPF_ABS, 0, 0, at)
#define JEQ(k, jt, jf) op(BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k)
#define JGE(k, jt) op(BPF_JMP | BPF_JGE | BPF_K, jt, 0, k)
#define AND(k) op(BPF_ALU | BPF_AND | BPF_K, 0, 0, k)
#define JA(k) op(BPF_JMP | BPF_JA, 0, 0, k)
#define RET(k) op(BPF_RET | BPF_K, 0, 0, k)
#define DENY RET(SECCOMP_RET_ERRNO | EPERM)

/* The system calls whose arguments seccompiler's rules judge; the others of `nrs` are refused. */
static int ruled(unsigned nr) { return nr == SYS_ioctl || nr == SYS_socket || nr == SYS_clone; }

/* Allows the numbers in the gaps of `nrs` (sorted), refuses those refused whatever their
 * arguments, and jumps on to the rules for the ruled ones. */
static void search(const unsigned *nrs, int n) {
    if (n <= 4) {
        for (int i = 0; i < n; i++) JEQ(nrs[i], n - i + !ruled(nrs[i]), 0);
        RET(SECCOMP_RET_ALLOW);
        pending[npending++] = len; /* patched once the rules' place is known */
        JA(0);
        DENY;
        return;
    }
    int at = len;
    JGE(nrs[n / 2], 0);
    search(nrs, n / 2);
    prog[at].jt = len - at - 1;
    search(nrs + n / 2, n - n / 2);
}

static void rule(int body) { JA(1), JA(body + 1); } /* seccompiler's link between rules */

static int by_nr(const void *a, const void *b) {
    return *(const unsigned *)a > *(const unsigned *)b ? 1 : -1;
}

struct sock_fprog seccomp_program(void) {
    if (len) return (struct sock_fprog){len, prog};
    unsigned nrs[] = {SYS_ioctl, SYS_socket, SYS_clone, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
        SYS_unshare, SYS_setns, SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kexec_load,
        SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_bpf,
        SYS_perf_event_open, SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_keyctl, SYS_add_key,
        SYS_request_key, SYS_userfaultfd, SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
        SYS_swapon, SYS_swapoff, SYS_acct, SYS_iopl, SYS_ioperm, SYS_fsopen, SYS_fsconfig, SYS_fsmount,
        SYS_fspick, SYS_move_mount, SYS_open_tree, SYS_mount_setattr, SYS_quotactl, SYS_pidfd_getfd,
        SYS_process_madvise, SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime, SYS_vhangup, SYS_uselib,
        SYS_lookup_dcookie, SYS_reboot};
    static const unsigned ns[] = {CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
        CLONE_NEWUTS, CLONE_NEWCGROUP, 0x80 /* CLONE_NEWTIME */};
    int n = sizeof nrs / sizeof nrs[0];
    qsort(nrs, n, sizeof nrs[0], by_nr);
    /* The guard: a foreign architecture or an x32 call kills; clone3 answers ENOSYS. */
    LD(4), JEQ(AUDIT_ARCH_X86_64, 0, 4), LD(0), JGE(0x40000000, 2);
    JEQ(SYS_clone3, 0, 2), RET(SECCOMP_RET_ERRNO | ENOSYS), RET(SECCOMP_RET_KILL_PROCESS);
    LD(0), search(nrs, n);
    for (int i = 0; i < npending; i++) prog[pending[i]].k = len - pending[i] - 1;
    LD(4), JEQ(AUDIT_ARCH_X86_64, 1, 0), RET(SECCOMP_RET_KILL_PROCESS), LD(0);
    for (int i = 0; i < n; i++) {
        if (!ruled(nrs[i])) continue;
        JEQ(nrs[i], 0, 1);
        if (nrs[i] == SYS_ioctl) /* TIOCSTI, TIOCLINUX */
            for (int k = 0; k < 2; k++) rule(3), LD(24), JEQ(k ? 0x541C : TIOCSTI, 0, 1), DENY;
        else if (nrs[i] == SYS_socket) { /* AF_PACKET; AF_INET and AF_INET6 with SOCK_PACKET */
            rule(3), LD(16), JEQ(AF_PACKET, 0, 1), DENY;
            for (int k = 0; k < 2; k++)
                rule(6), LD(24), AND(0xf), JEQ(10, 0, 3), LD(16), JEQ(k ? AF_INET6 : AF_INET, 0, 1), DENY;
        } else if (nrs[i] == SYS_clone) /* any namespace flag */
            for (int k = 0; k < 8; k++)
                rule(7), LD(20), AND(0), JEQ(0, 0, 4), LD(16), AND(ns[k]), JEQ(ns[k], 0, 1), DENY;
        RET(SECCOMP_RET_ALLOW);
    }
    RET(SECCOMP_RET_ALLOW);
    return (struct sock_fprog){len, prog};
}
