/* cage jail probe: run inside a jail, prints one JSON object describing what it can do.
 * Built by the test setup (integration/probe/build.sh), never installed.
 * Arguments: read:PATH write:PATH exec:PATH copy:SRC:DST connect:IP:PORT udp:IP:PORT
 *            raw:IP ping:IP rawudp:IP:PORT packet:IFACE sockpacket:x abstract:NAME syscalls */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int first = 1;

static void key(const char *k) {
    printf("%s\"%s\":", first ? "" : ",", k);
    first = 0;
}

static void str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s < 0x20) printf("\\u%04x", *s); else putchar(*s);
    }
    putchar('"');
}

static void result(const char *what, int ok) {
    key(what);
    str(ok ? "ok" : strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
}

static void status_field(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            key(name);
            str(v);
        }
    }
    if (f) fclose(f);
}

static void mounts(void) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    int n = 0;
    key("mounts");
    putchar('[');
    while (f && fgets(line, sizeof line, f)) {
        char *save, *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 4; i++) tok = strtok_r(NULL, " ", &save);
        if (tok) { if (n++) putchar(','); str(tok); }
    }
    putchar(']');
    if (f) fclose(f);
}

static int pids(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) if (e->d_name[0] >= '0' && e->d_name[0] <= '9') n++;
    if (d) closedir(d);
    return n;
}

static int try_read(const char *p) {
    char c;
    int fd = open(p, O_RDONLY);
    if (fd < 0) return 0;
    int ok = read(fd, &c, 1) >= 0;
    close(fd);
    return ok;
}

static int try_write(const char *p) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 0;
    int ok = write(fd, "x", 1) == 1;
    close(fd);
    if (ok) unlink(p);
    return ok;
}

static int try_exec(const char *p) {
    int fds[2], err = 0;
    if (pipe2(fds, O_CLOEXEC)) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0); dup2(null, 1); dup2(null, 2);
        char *argv[] = {(char *)p, "--version", NULL};
        execv(p, argv);
        err = errno;
        if (write(fds[1], &err, sizeof err)) {}
        _exit(127);
    }
    close(fds[1]);
    int got = read(fds[0], &err, sizeof err);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    if (got == sizeof err) { errno = err; return 0; }
    return 1;
}

static int try_copy(const char *spec) {
    char src[1024], *dst;
    snprintf(src, sizeof src, "%s", spec);
    dst = strchr(src, ':');
    if (!dst) { errno = EINVAL; return 0; }
    *dst++ = 0;
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return 0;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, n) != n) return 0;
    close(in); close(out);
    return n == 0;
}

static int try_net(const char *spec, int type) {
    char host[64];
    snprintf(host, sizeof host, "%s", spec);
    char *port = strrchr(host, ':');
    if (!port) { errno = EINVAL; return 0; }
    *port++ = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    inet_pton(AF_INET, host, &a.sin_addr);
    int s = socket(AF_INET, type, 0);
    if (s < 0) return 0;
    int ok = type == SOCK_STREAM ? connect(s, (void *)&a, sizeof a) == 0
                                 : sendto(s, "probe", 5, 0, (void *)&a, sizeof a) == 5;
    close(s);
    return ok;
}

/* Sends one ICMP echo request to IP from a socket of `type` (SOCK_RAW: a raw socket, as
 * traceroute -I; SOCK_DGRAM: an ICMP ping socket, as an unprivileged ping). */
static int try_icmp(const char *ip, int type) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { errno = EINVAL; return 0; }
    int s = socket(AF_INET, type, IPPROTO_ICMP);
    if (s < 0) return 0;
    unsigned char echo[8] = {8, 0, 0xf7, 0xff, 0, 0, 0, 0}; /* type 8, checksum of the rest */
    int ok = sendto(s, echo, sizeof echo, 0, (void *)&a, sizeof a) == sizeof echo;
    close(s);
    return ok;
}

/* Sends a UDP datagram to IP:PORT from a raw IP socket (the kernel adds the IP header). */
static int try_raw_udp(const char *spec) {
    char host[64];
    snprintf(host, sizeof host, "%s", spec);
    char *port = strrchr(host, ':');
    if (!port) { errno = EINVAL; return 0; }
    *port++ = 0;
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, host, &a.sin_addr);
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    if (s < 0) return 0;
    unsigned short udp[6] = {htons(40000), htons(atoi(port)), htons(12), 0, 0x6270, 0x6f72};
    int ok = sendto(s, udp, sizeof udp, 0, (void *)&a, sizeof a) == sizeof udp;
    close(s);
    return ok;
}

/* Opens a packet socket bound to IFACE ("any": not bound), as tcpdump and arping do. */
static int try_packet(const char *iface) {
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (s < 0) return 0;
    int ok = 1;
    if (strcmp(iface, "any") != 0) {
        struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        a.sll_ifindex = if_nametoindex(iface);
        ok = a.sll_ifindex != 0 && bind(s, (void *)&a, sizeof a) == 0;
    }
    close(s);
    return ok;
}

/* The obsolete way to a packet socket: AF_INET with SOCK_PACKET. */
static int try_sock_packet(void) {
    int s = socket(AF_INET, SOCK_PACKET, htons(ETH_P_ALL));
    if (s < 0) return 0;
    close(s);
    return 1;
}

/* Connects to the abstract UNIX socket NAME (a host daemon's, outside the jail). */
static int try_abstract(const char *name) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    if (n + 1 > sizeof a.sun_path) { errno = EINVAL; return 0; }
    memcpy(a.sun_path + 1, name, n);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return 0;
    int ok = connect(s, (void *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n) == 0;
    close(s);
    return ok;
}

static void syscalls(void) {
    struct io_uring_params params = {0};
    char c = 'x';
    int ns = open("/proc/self/ns/uts", O_RDONLY);
    /* Harmless if allowed: the target does not exist (ENOENT), so a probe run by mistake
     * outside a jail changes nothing; inside, seccomp must answer EPERM first. */
    errno = 0; result("mount", mount("none", "/nonexistent/cage-probe", "tmpfs", 0, NULL) == 0);
    errno = 0; result("setns", setns(ns, 0) == 0);
    errno = 0; result("ptrace", ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
    errno = 0; result("bpf", syscall(SYS_bpf, 0, NULL, 0) == 0);
    errno = 0; result("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0) == 0);
    errno = 0; result("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0) == 0);
    errno = 0; result("io_uring_setup", syscall(SYS_io_uring_setup, 1, &params) >= 0);
    errno = 0; result("tiocsti", ioctl(0, TIOCSTI, &c) == 0);
    errno = 0; result("chroot", chroot("/") == 0);
    errno = 0; result("clone3", syscall(SYS_clone3, NULL, 0) >= 0);
    errno = 0; result("unshare", unshare(CLONE_NEWUTS) == 0); /* last: it changes the probe */
}

int main(int argc, char **argv) {
    putchar('{');
    key("uid"); printf("%d", getuid());
    key("euid"); printf("%d", geteuid());
    key("gid"); printf("%d", getgid());
    gid_t groups[64];
    int ng = getgroups(64, groups);
    key("groups"); putchar('[');
    for (int i = 0; i < ng; i++) printf("%s%d", i ? "," : "", groups[i]);
    putchar(']');
    const char *fields[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "SigIgn"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) status_field(fields[i]);
    key("pids"); printf("%d", pids());
    mounts();
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *val = strchr(arg, ':');
        if (strcmp(arg, "syscalls") == 0) { syscalls(); continue; }
        if (!val) continue;
        errno = 0;
        int ok = strncmp(arg, "read:", 5) == 0 ? try_read(val + 1)
               : strncmp(arg, "write:", 6) == 0 ? try_write(val + 1)
               : strncmp(arg, "exec:", 5) == 0 ? try_exec(val + 1)
               : strncmp(arg, "copy:", 5) == 0 ? try_copy(val + 1)
               : strncmp(arg, "connect:", 8) == 0 ? try_net(val + 1, SOCK_STREAM)
               : strncmp(arg, "udp:", 4) == 0 ? try_net(val + 1, SOCK_DGRAM)
               : strncmp(arg, "abstract:", 9) == 0 ? try_abstract(val + 1)
               : strncmp(arg, "raw:", 4) == 0 ? try_icmp(val + 1, SOCK_RAW)
               : strncmp(arg, "ping:", 5) == 0 ? try_icmp(val + 1, SOCK_DGRAM)
               : strncmp(arg, "rawudp:", 7) == 0 ? try_raw_udp(val + 1)
               : strncmp(arg, "packet:", 7) == 0 ? try_packet(val + 1)
               : strncmp(arg, "sockpacket:", 11) == 0 ? try_sock_packet()
               : (errno = EINVAL, 0);
        result(arg, ok);
    }
    puts("}");
    return 0;
}
