/* Starting processes from a many-threaded manager: a child that shares the
 * parent's memory until it execs (nothing of a large address space is
 * copied), optionally in a sandbox (util/sandbox.h); and a command run to
 * completion from a worker thread, with stdin fed from a string, stdout and
 * stderr captured together, and a deadline after which the command's
 * whole process group is killed. */
#ifndef VNFM_SPAWN_H
#define VNFM_SPAWN_H

#include "util/sandbox.h"
#include "util/sbuf.h"

#include <stdbool.h>
#include <sys/types.h>

/* Runs fn(arg) in a child made like posix_spawn(3) makes one (CLONE_VM |
 * CLONE_VFORK, plus the namespaces in flags) and returns when it has
 * exec'd or exited: its pid, or -errno. The child starts with every signal
 * blocked and the parent's dispositions: fn must reset them, and may make
 * only async-signal-safe calls. */
pid_t spawn_clone(int (*fn)(void *arg), void *arg, int flags);

/* Finds argv0 in the PATH of envp (execvpe(3) would use ours); a name with
 * a '/' is taken as it is. Returns a malloc'd path, or NULL when there is
 * no such executable. */
char *spawn_find(const char *argv0, char *const *envp);

/* Whether pid has ended: gone, or a zombie (whatever it ran). */
bool spawn_ended(pid_t pid);

struct spawn_req {
    char *const *argv; /* argv[0] searched with spawn_find() */
    char *const *envp;
    const char *input; /* fed to stdin; NULL = nothing */
    unsigned timeout_ms;
    size_t out_max;                /* output kept: the last out_max bytes */
    const struct sandbox *sandbox; /* NULL: with the manager's own rights */
};

/* Returns 0 when the command ran (its wait status in *status), -ETIMEDOUT
 * when it was killed at the deadline, or another negative errno when it
 * could not be started; then out says why ("sandbox: setresuid"). */
int spawn_run(const struct spawn_req *rq, struct sbuf *out, int *status);

/* One line describing a wait status: "exited with status 3", "killed by
 * signal 9". Returns buf. */
char *spawn_status_str(int status, char *buf, size_t len);

#endif
