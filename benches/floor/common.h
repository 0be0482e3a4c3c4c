/* What the session (floor.c) and the jail (jail.c) of the floor share (common.c); see floor.c. */
#include <sys/types.h>
#include <linux/filter.h>

#define R "/run/cage-floor/root"        /* the staging root, as cage's /run/cage/root */
#define FS_ALL_ABI5 ((1ULL << 16) - 1) /* Landlock's file rights up to ABI 5 */

/* The result of a system call; below 0, the floor ends naming the step (exit 125). */
long ok(long result, const char *fmt, ...);
/* One descriptor over a unix socket (SCM_RIGHTS): sent when *fd >= 0, else received. */
void pass_fd(int sock, int *fd);
/* The jail's first process: its steps, then PID 1 that runs argv and reports its end. */
void jail(char **argv, int status, int trace, int ruleset, int ngroups, gid_t *groups);
/* Cage's seccomp program for this grant: built on the first call (before the clone). */
struct sock_fprog seccomp_program(void);
