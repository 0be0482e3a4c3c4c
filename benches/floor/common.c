/* The floor's checked system calls and descriptor passing, shared by floor.c and jail.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common.h"

long ok(long result, const char *fmt, ...) {
    if (result >= 0) return result;
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    fputs("cage-floor: ", stderr), vfprintf(stderr, fmt, ap), fprintf(stderr, ": %s\n", strerror(e));
    _exit(125);
}

void pass_fd(int sock, int *fd) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'L';
    struct iovec iov = {&byte, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (*fd < 0) {
        ok(recvmsg(sock, &m, MSG_CMSG_CLOEXEC), "receive listener");
        ok((c = CMSG_FIRSTHDR(&m)) ? 0 : (errno = EPROTO, -1), "no listener");
        memcpy(fd, CMSG_DATA(c), sizeof *fd);
        return;
    }
    c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), fd, sizeof *fd);
    ok(sendmsg(sock, &m, 0), "send listener");
}
