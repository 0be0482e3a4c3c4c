/* The floor of `cage -c 'du -s /u01'` (benches/session.rs): the kernel work cage does for an
 * operator granted INFRA_DIAG on a cps host (network "layer"), in cage's order, and nothing
 * else: no configuration, grant or policy is read, nothing is decided, the audit records are
 * fixed. Installed setuid root and started by the operator, as cage is:
 *   cage-floor /PROGRAM ARGS...   runs PROGRAM as cage runs a command, in a session of its own
 *   cage-floor --setup            (root, untimed) loads the five egress programs into the
 *                                 kept cgroup <cgroup2>/cage-floor/egress, as cage keeps its own
 * The session is here, the jail in jail.c. Every system call is checked: a step that fails
 * ends the floor (exit 125) with its name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "common.h"

#ifndef TRAIL /* the bench builds a second floor with its trail on the machine's disk */
#define TRAIL "/var/log/cage-floor/audit.jsonl" /* its directory made by the bench's setup */
#endif
struct ruleset_attr { __u64 fs, net, scoped; };  /* Landlock's of ABI 6 */

static void write_file(const char *path, const char *text) {
    int fd = ok(open(path, O_WRONLY | O_CLOEXEC), "open %s", path);
    ok(write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1, "write %s", path);
    close(fd);
}

static const char *cgroup2(void) { /* as cage's cgroup2_root */
    static const char *const at[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    struct statfs s;
    for (int i = 0; i < 2; i++)
        if (statfs(at[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC) return at[i];
    errno = ENOENT;
    return (const char *)ok(-1, "cgroup2 hierarchy");
}

static long bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }
static const int EGRESS[5] = {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_INET6_CONNECT,
                              BPF_CGROUP_UDP6_SENDMSG, BPF_CGROUP_INET_EGRESS}; /* cage's attach points */

/* --- the session (src/session/): audit records, its cgroup, the guardian --- */

static char user[64], line[256]; /* the operator's name; the command line, as recorded */
static int seq;

/* One audit record, as cage writes one (src/audit/file.rs): appended under a lock after
 * reading the trail's tail (the chain), synced when `sync`, offered to syslog. */
static void record(const char *event, int sync) {
    int fd = ok(open(TRAIL, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0600), TRAIL);
    ok(flock(fd, LOCK_EX), "lock trail");
    struct stat st;
    ok(fstat(fd, &st), "stat trail");
    char tail[4096], rec[540]; /* cage's records are 500 to 620 bytes here */
    ssize_t n = ok(pread(fd, tail, sizeof tail, st.st_size > 4096 ? st.st_size - 4096 : 0), "read trail");
    unsigned long long prev = 1469598103934665603ULL; /* FNV-1a of the tail, for cage's hash */
    for (ssize_t i = 0; i < n; i++) prev = (prev ^ (unsigned char)tail[i]) * 1099511628211ULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int len = snprintf(rec, sizeof rec - 3, "{\"v\":2,\"event\":\"%s\",\"loginid\":\"%s\",\"uid\":%u,"
                       "\"pid\":%d,\"seq\":%d,\"ts\":%lld.%09ld,\"argv\":\"%s\",\"prev\":\"%016llx\","
                       "\"pad\":\"", event, user, getuid(), getpid(), ++seq, (long long)ts.tv_sec, ts.tv_nsec,
                       line, prev);
    if (len < (int)sizeof rec - 3) memset(rec + len, ' ', sizeof rec - 3 - len);
    memcpy(rec + sizeof rec - 3, "\"}\n", 3);
    ok(write(fd, rec, sizeof rec) == sizeof rec ? 0 : -1, "write trail");
    if (sync) ok(fdatasync(fd), "sync trail");
    int log = ok(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "syslog socket");
    struct sockaddr_un to = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    if (connect(log, (struct sockaddr *)&to, sizeof to) == 0) /* no syslog: cage goes on too */
        send(log, rec, sizeof rec, MSG_DONTWAIT);
    close(log);
    ok(flock(fd, LOCK_UN), "unlock trail");
    close(fd);
}

/* The guardian (src/session/guardian.rs): kills the session's cgroup if the monitor dies. */
static pid_t guardian(const char *session) {
    pid_t monitor = getpid(), pid = ok(fork(), "fork guardian");
    if (pid > 0) return pid;
    sigset_t term;
    sigemptyset(&term), sigaddset(&term, SIGTERM);
    ok(sigprocmask(SIG_BLOCK, &term, NULL), "guardian mask");
    int sfd = ok(signalfd(-1, &term, SFD_CLOEXEC), "guardian signalfd");
    ok(prctl(PR_SET_PDEATHSIG, SIGTERM), "guardian death signal");
    struct signalfd_siginfo si;
    while (getppid() == monitor) {
        struct pollfd p = {sfd, POLLIN, 0};
        if (poll(&p, 1, 1000) > 0) ok(read(sfd, &si, sizeof si), "guardian read");
    }
    char path[300];
    snprintf(path, sizeof path, "%s/cgroup.kill", session);
    write_file(path, "1");
    _exit(0);
}

/* Until the jail reports the command's end: takes its exec listener, lets each exec go on. */
static int monitor(int status, int trace, sigset_t *blocked) {
    int sig = ok(signalfd(-1, blocked, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd"), listener = -1, code = -1;
    while (code < 0) {
        int third = listener >= 0 ? listener : trace;
        struct pollfd p[3] = {{sig, POLLIN, 0}, {status, POLLIN, 0}, {third, POLLIN, 0}};
        ok(poll(p, 3, -1), "poll");
        if (p[2].fd == trace && p[2].revents) {
            pass_fd(trace, &listener);
            close(trace), trace = -1;
        } else if (p[2].revents & POLLIN) {
            struct seccomp_notif req = {0};
            ok(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), "exec notification");
            struct seccomp_notif_resp resp = {.id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
            ok(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), "exec answer");
        } else if (p[2].revents) close(listener), listener = -1; /* no traced process left */
        char r[8];
        ssize_t n = p[1].revents ? read(status, r, 8) : -1;
        if (n == 8 && (r[0] == 'X' || r[0] == 'K')) code = r[0] == 'X' ? r[4] & 0xff : 128 + r[4];
        else ok(n == 0 ? (errno = ECHILD, -1) : 0, "the jail ended unreported");
    }
    close(sig), close(listener);
    return code;
}

/* --setup: the kept cgroup of the egress programs, loaded once (cage's are loaded once per
 * boot); here they allow everything, which changes no cost of attaching them. */
static int setup(void) {
    char kept[128];
    snprintf(kept, sizeof kept, "%s/cage-floor/egress", cgroup2());
    int dir = ok(open(kept, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open %s", kept);
    struct bpf_insn allow[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
                               {.code = BPF_JMP | BPF_EXIT}};
    for (int i = 0; i < 5; i++) {
        union bpf_attr a = {.prog_type = i < 4 ? BPF_PROG_TYPE_CGROUP_SOCK_ADDR : BPF_PROG_TYPE_CGROUP_SKB,
                            .expected_attach_type = EGRESS[i], .insns = (uintptr_t)allow, .insn_cnt = 2,
                            .license = (uintptr_t)"GPL"};
        int p = ok(bpf(BPF_PROG_LOAD, &a), "load egress program %d", i);
        union bpf_attr at = {.target_fd = dir, .attach_bpf_fd = p, .attach_type = EGRESS[i]};
        ok(bpf(BPF_PROG_ATTACH, &at), "attach egress program %d", i);
        close(p);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--setup"))
        return ok(getuid() ? (errno = EPERM, -1) : 0, "--setup") + setup();
    ok(argc > 1 && argv[1][0] == '/' ? 0 : (errno = EINVAL, -1), "usage: cage-floor /PROGRAM [ARGS...]");
    ok(syscall(SYS_close_range, 3, ~0U, 0), "close_range"); /* a setuid program's hygiene */
    umask(077);
    ok(prctl(PR_SET_DUMPABLE, 0), "dumpable");
    struct passwd *pw = getpwuid(getuid()); /* the operator's account, through NSS */
    ok(pw ? 0 : (errno = errno ? errno : ENOENT, -1), "no account for uid %u", getuid());
    snprintf(user, sizeof user, "%s", pw->pw_name);
    for (int i = 1, at = 0; i < argc && at < 200; i++)
        at += snprintf(line + at, 56, "%s%.48s", i > 1 ? " " : "", argv[i]);
    gid_t groups[64]; /* the login's groups, read back from the kernel, and its own */
    int ngroups = ok(getgroups(63, groups), "getgroups"), primary = 0;
    for (int i = 0; i < ngroups; i++) primary |= groups[i] == getgid();
    if (!primary) groups[ngroups++] = getgid();
    sigset_t blocked;
    sigemptyset(&blocked);
    int monitored[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH};
    for (int s = 0; s < 9; s++) sigaddset(&blocked, monitored[s]);
    ok(sigprocmask(SIG_BLOCK, &blocked, NULL), "sigprocmask");
    record("login", 0); /* synced by the command's record */

    /* The session's cgroup and guardian, made on its first command; its leaf of mode
     * "layer" gets the kept egress programs attached by id. */
    char session[160], leaf[200], kept[160], path[220];
    snprintf(session, sizeof session, "%s/cage-floor/session-%d", cgroup2(), getpid());
    snprintf(leaf, sizeof leaf, "%s/egress-layer", session);
    snprintf(kept, sizeof kept, "%s/cage-floor/egress", cgroup2());
    ok(mkdir(session, 0755), "mkdir %s", session);
    int session_fd = ok(open(session, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open %s", session);
    pid_t guard = guardian(session);
    ok(mkdir(leaf, 0755), "mkdir %s", leaf);
    int leaf_fd = ok(open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open %s", leaf);
    int kept_fd = ok(open(kept, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open %s", kept);
    for (int i = 0; i < 5; i++) {
        __u32 id = 0;
        union bpf_attr q = {.query = {.target_fd = kept_fd, .attach_type = EGRESS[i],
                                      .prog_ids = (uintptr_t)&id, .prog_cnt = 1}};
        ok(bpf(BPF_PROG_QUERY, &q), "query egress program %d", i);
        union bpf_attr g = {.prog_id = id};
        int p = ok(bpf(BPF_PROG_GET_FD_BY_ID, &g), "egress program %d by id", i);
        union bpf_attr at = {.target_fd = leaf_fd, .attach_bpf_fd = p, .attach_type = EGRESS[i]};
        ok(bpf(BPF_PROG_ATTACH, &at), "attach egress program %d", i);
        close(p);
    }
    close(kept_fd);

    /* The jail: what it needs made before the clone, then the clone into the leaf. */
    int pair[2], status[2]; /* the exec-tracing channel; the jail's status pipe */
    ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "socketpair");
    int abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    ok(abi >= 5 ? 0 : (errno = ENOTSUP, -1), "Landlock ABI %d, 5 needed", abi);
    struct ruleset_attr ra = {FS_ALL_ABI5, 1 /* TCP bind */, abi >= 6 ? 3 /* abstract unix, signal */ : 0};
    int ruleset = ok(syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0), "landlock ruleset");
    seccomp_program();
    ok(mkdir(R, 0700) == 0 || errno == EEXIST ? 0 : -1, "mkdir %s", R);
    ok(pipe2(status, O_CLOEXEC), "pipe");
    struct clone_args ca = {.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_INTO_CGROUP,
                            .exit_signal = SIGCHLD, .cgroup = leaf_fd};
    pid_t init = ok(syscall(SYS_clone3, &ca, sizeof ca), "clone3");
    if (init == 0)
        close(status[0]), close(pair[0]), jail(argv + 1, status[1], pair[1], ruleset, ngroups, groups);
    close(status[1]), close(pair[1]), close(ruleset);
    /* Synced while the jail is made, before its exec is let go on (monitor). */
    record("command", 1);
    int code = monitor(status[0], pair[0], &blocked);
    close(status[0]);

    /* The session's end: its records, everything in its cgroup killed, the cgroup removed. */
    record("exit", 0);
    snprintf(path, sizeof path, "%s/cgroup.kill", session);
    write_file(path, "1");
    ok(kill(guard, SIGKILL), "kill guardian");
    ok(waitpid(guard, NULL, 0), "reap guardian");
    record("logout", 1);
    ok(waitpid(init, NULL, 0), "reap the jail");
    snprintf(path, sizeof path, "%s/cgroup.events", session);
    int events = ok(open(path, O_RDONLY | O_CLOEXEC), "open %s", path);
    for (int i = 0;; i++) { /* as cage: read again every 0.25 ms, up to a second */
        char buf[256];
        buf[ok(pread(events, buf, sizeof buf - 1, 0), "read %s", path)] = 0;
        if (!strstr(buf, "populated 1")) break;
        ok(i < 4000 ? 0 : (errno = EBUSY, -1), "%s", session);
        usleep(250);
    }
    close(events), close(leaf_fd), close(session_fd);
    ok(rmdir(leaf), "rmdir %s", leaf);
    ok(rmdir(session), "rmdir %s", session);
    return code;
}
