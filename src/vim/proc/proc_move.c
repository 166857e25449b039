/* A running VI handed from one manager instance of this host to another
 * (vim_ops.move; the handover of a deployment, fed/handover.c): what the
 * process VIM made for it is named after the instance tag and the data
 * dir of the manager that made it (its network namespace vnfm-TAG-ID, its
 * cgroups vnfm/TAG/ID, its directory DATA_DIR/vi/ID), and the manager that
 * takes it finds it by its own. Its process keeps running, untouched:
 *
 * - the directory is renamed (the process keeps its open files and cwd:
 *   the inode does not change; both data dirs are on one file system, the
 *   new manager's being under its parent's);
 * - the namespace gets the new name as a second mount, then loses the old;
 * - its processes are moved into new cgroups with the VI's limits, and the
 *   old ones removed.
 *
 * The veth pair (vhID, named after the VI alone) stays plugged into the
 * bridge it was plugged into, with its address. Each step looks at what is
 * there first, so a move repeated after a crash finishes what the first
 * did in part. */
#include "util/cgroup.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOVE_TRIES 100

static int move_dir(const struct vi_move *m, struct vim_err *err)
{
    char *from = xasprintf("%s/vi/%s", m->from_dir, m->vi), *to = xasprintf("%s/vi", m->to_dir);
    struct stat st;
    int r = 0;

    if (lstat(from, &st) < 0) /* moved already, or it has none */
        goto out;
    if ((r = mkdir_p(to, 0750))) {
        proc_fail(err, r, "VI %s: make %s", m->vi, to);
        goto out;
    }
    free(to);
    to = xasprintf("%s/vi/%s", m->to_dir, m->vi);
    if (rename(from, to) < 0) /* onto an empty directory of that name too */
        r = proc_fail(err, -errno, "VI %s: rename %s to %s", m->vi, from, to);
out:
    free(from);
    free(to);
    return r;
}

static int move_netns(const struct vi_move *m, struct vim_err *err)
{
    char from[96], to[96], *path;
    int fd = -1, r = 0;

    snprintf(from, sizeof(from), "vnfm-%s-%s", m->from_tag, m->vi);
    snprintf(to, sizeof(to), "vnfm-%s-%s", m->to_tag, m->vi);
    if ((fd = netns_open(to)) < 0) {
        r = netns_alias(from, to);
        if (r == -EEXIST) { /* a name made by a move that died before its mount */
            path = xasprintf("%s/%s", NETNS_DIR, to);
            unlink(path);
            free(path);
            r = netns_alias(from, to);
        }
        if (r)
            return proc_fail(err, r, "VI %s: network namespace %s as %s", m->vi, from, to);
    } else {
        close(fd);
    }
    r = netns_delete(from);
    return r ? proc_fail(err, r, "VI %s: remove the name %s", m->vi, from) : 0;
}

static int move_cgroups(const struct vi_move *m, struct vim_err *err)
{
    struct cgroups a, b;
    pid_t *pids;
    size_t n = 1;
    int r;

    if ((r = cg_init(&a, m->from_tag)) || (r = cg_init(&b, m->to_tag)))
        return proc_fail(err, r, "VI %s: cgroups", m->vi);
    if (!cg_exists(&a, m->vi))
        return 0; /* moved already */
    if ((r = cg_create(&b, m->vi, m->vcpu_milli, m->memory_bytes)))
        return proc_fail(err, r, "VI %s: cgroup under vnfm/%s", m->vi, m->to_tag);
    /* a process that forks while its group moves leaves its child behind:
     * the next round takes it */
    for (int tries = 0; n && tries < MOVE_TRIES; tries++) {
        if ((r = cg_pids(&a, m->vi, &pids, &n)))
            return proc_fail(err, r, "VI %s: processes of vnfm/%s", m->vi, m->from_tag);
        for (size_t i = 0; i < n && r == 0; i++)
            r = cg_move_pid(&b, m->vi, pids[i]);
        free(pids);
        if (r)
            return proc_fail(err, r, "VI %s: move its processes to vnfm/%s", m->vi, m->to_tag);
    }
    for (int tries = 0; (r = cg_destroy(&a, m->vi)) == -EBUSY && tries < MOVE_TRIES; tries++)
        usleep(20000); /* the kernel frees a group a moment after its last task left */
    return r ? proc_fail(err, r, "VI %s: remove vnfm/%s/%s", m->vi, m->from_tag, m->vi) : 0;
}

int proc_move(const struct vi_move *m, struct vim_err *err)
{
    int r;

    if (strcmp(m->from_tag, m->to_tag) == 0 && strcmp(m->from_dir, m->to_dir) == 0)
        return 0;
    if ((r = move_dir(m, err)) || (r = move_netns(m, err)) || (r = move_cgroups(m, err)))
        return r;
    return 0;
}
