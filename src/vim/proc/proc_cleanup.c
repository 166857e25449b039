/* What a dead manager instance left on the host (proc_internal.h, issue 10
 * finding 20): a manager killed with -9 and never started again on its
 * data directory leaves its warm slots, its VIs' namespaces, veths and
 * cgroups, and its bridges behind. `vnfmd --cleanup TAG` removes them,
 * found by the instance tag in their names; it refuses while that manager
 * runs (it holds /run/vnfm/TAG.lock) or while VNF processes of it still run
 * (their work would be lost without a word).
 */
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/cgroup.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"

#include <dirent.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_DIR "/run/vnfm"

/* ---- the running instance's lock ---- */

static pthread_mutex_t lock_mu = PTHREAD_MUTEX_INITIALIZER;
static int lock_fd = -1;
static unsigned lock_users;

static char *lock_path(const char *tag)
{
    return xasprintf(LOCK_DIR "/%s.lock", tag);
}

int instance_lock(const char *tag)
{
    char *path, pid[24];
    int r = 0;

    pthread_mutex_lock(&lock_mu);
    if (lock_users++ > 0)
        goto out;
    path = lock_path(tag);
    if (mkdir(LOCK_DIR, 0755) < 0 && errno != EEXIST)
        r = -errno;
    else if ((lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        r = -errno;
    else if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0)
        r = -errno; /* a manager with our tag runs: it has our data directory */
    if (r == 0) {
        snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, pid, strlen(pid), 0) < 0) {
            /* the pid in it is for the operator's eyes only */
        }
    } else {
        if (lock_fd >= 0)
            close(lock_fd);
        lock_fd = -1;
        lock_users = 0;
    }
    free(path);
out:
    pthread_mutex_unlock(&lock_mu);
    return r;
}

void instance_unlock(const char *tag)
{
    char *path;

    pthread_mutex_lock(&lock_mu);
    if (lock_users > 0 && --lock_users == 0) {
        path = lock_path(tag);
        unlink(path);
        free(path);
        close(lock_fd);
        lock_fd = -1;
    }
    pthread_mutex_unlock(&lock_mu);
}

/* The pid of the manager that holds tag's lock, 0 when none does. */
static pid_t lock_holder(const char *tag)
{
    char *path = lock_path(tag), *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    pid_t pid = 0;

    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        pid = -1;
        if (read_file(path, 64, &text, NULL) == 0 && atoi(text) > 0)
            pid = atoi(text);
    }
    if (fd >= 0)
        close(fd);
    free(text);
    free(path);
    return pid;
}

/* ---- what the instance left ---- */

struct leftovers {
    char **ids; /* VIs and slots (by namespace or cgroup) */
    size_t n;
    unsigned removed_ns, removed_links, removed_cg;
};

static void add(struct leftovers *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return;
    l->ids = xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
    l->ids[l->n++] = xstrdup(id);
}

static void find(const char *tag, const struct cgroups *cg, struct leftovers *l)
{
    char prefix[32], **ids;
    struct dirent *e;
    size_t n;
    DIR *d;

    snprintf(prefix, sizeof(prefix), "vnfm-%s-", tag);
    d = opendir(NETNS_DIR);
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            add(l, e->d_name + strlen(prefix));
    if (d)
        closedir(d);
    if (cg_list(cg, &ids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            add(l, ids[i]);
        vim_ids_free(ids, n);
    }
}

/* The VIs whose processes still run, as "id, id" in buf. */
static unsigned running(const struct cgroups *cg, const struct leftovers *l, char *buf, size_t len)
{
    unsigned n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        pid_t *pids;
        size_t np = 0;

        if (cg_pids(cg, l->ids[i], &pids, &np) == 0)
            free(pids);
        if (np == 0)
            continue;
        if (n++ < 8)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", n > 1 ? ", " : "", l->ids[i]);
    }
    return n;
}

static void remove_vi(const char *tag, const struct cgroups *cg, const char *id,
                      struct leftovers *l)
{
    char ns[64], host[16];
    int idx, fd;

    snprintf(ns, sizeof(ns), "vnfm-%s-%s", tag, id);
    if ((fd = netns_open(ns)) >= 0) {
        close(fd);
        l->removed_ns++;
    }
    netns_delete(ns);
    proc_host_if(id, 0, host, sizeof(host));
    if ((idx = nl_ifindex(host)) > 0 && nl_link_del(idx) == 0)
        l->removed_links++;
    if (cg_exists(cg, id) && cg_destroy(cg, id) == 0)
        l->removed_cg++;
}

/* Bridges, leaves and uplinks whose names start with vb and the tag, in
 * the namespace of the caller (if_nameindex asks the kernel; /sys/class/net
 * shows the namespace of whoever mounted /sys). */
static unsigned remove_bridges(const char *tag)
{
    struct if_nameindex *all = if_nameindex();
    char prefix[16];
    unsigned n = 0;

    snprintf(prefix, sizeof(prefix), "vb%s", tag);
    for (struct if_nameindex *i = all; i && i->if_index; i++)
        if (strncmp(i->if_name, prefix, strlen(prefix)) == 0 && nl_link_del((int)i->if_index) == 0)
            n++;
    if (all)
        if_freenameindex(all);
    return n;
}

int proc_cleanup(const char *tag, char *report, size_t len)
{
    struct leftovers l = {0};
    struct cgroups cg;
    char busy[160];
    unsigned n_busy, bridges;
    pid_t holder = lock_holder(tag);
    int r;

    if (holder) {
        snprintf(report, len, "vnfm instance %s is running (pid %d): stop it instead", tag,
                 (int)holder);
        return -EBUSY;
    }
    r = cg_init(&cg, tag);
    if (r) {
        snprintf(report, len, "cannot read the cgroups of instance %s: %s", tag, strerror(-r));
        return r;
    }
    find(tag, &cg, &l);
    n_busy = running(&cg, &l, busy, sizeof(busy));
    if (n_busy) {
        snprintf(report, len,
                 "%u VI%s of vnfm instance %s still run%s (%s%s): start a manager on its data "
                 "directory and undeploy them, or end their processes, then clean up",
                 n_busy, n_busy > 1 ? "s" : "", tag, n_busy > 1 ? "" : "s", busy,
                 n_busy > 8 ? ", ..." : "");
        vim_ids_free(l.ids, l.n);
        cg_release(&cg);
        return -EBUSY;
    }
    for (size_t i = 0; i < l.n; i++)
        remove_vi(tag, &cg, l.ids[i], &l);
    cg_release(&cg);
    bridges = remove_bridges(tag);
    snprintf(report, len,
             "vnfm instance %s: removed %u network namespace%s, %u host interface%s, the "
             "cgroups of %u VI%s and slot%s, %u bridge interface%s",
             tag, l.removed_ns, l.removed_ns == 1 ? "" : "s", l.removed_links,
             l.removed_links == 1 ? "" : "s", l.removed_cg, l.removed_cg == 1 ? "" : "s",
             l.removed_cg == 1 ? "" : "s", bridges, bridges == 1 ? "" : "s");
    vim_ids_free(l.ids, l.n);
    return 0;
}
