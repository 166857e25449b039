#include "vim/proc/netns.h"
#include "util/fsutil.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static pthread_mutex_t dir_mu = PTHREAD_MUTEX_INITIALIZER;
static int dir_ready;

/* /run/netns must be a shared mount so that namespaces mounted on it are
 * seen in every mount namespace (what iproute2 does too). */
static int prepare_dir(void)
{
    int r = 0;

    pthread_mutex_lock(&dir_mu);
    if (dir_ready)
        goto out;
    if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST) {
        r = -errno;
        goto out;
    }
    if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
        if (errno != EINVAL || mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
            mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
            r = -errno;
            goto out;
        }
    }
    dir_ready = 1;
out:
    pthread_mutex_unlock(&dir_mu);
    return r;
}

static char *ns_path(const char *name)
{
    return xasprintf("%s/%s", NETNS_DIR, name);
}

/* Whether path is a mounted network namespace (nsfs). */
static int is_netns(const char *path)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

static void *unshare_and_mount(void *arg)
{
    const char *path = arg;

    if (unshare(CLONE_NEWNET) < 0)
        return (void *)(intptr_t)-errno;
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
        return (void *)(intptr_t)-errno;
    return NULL; /* the thread, and its namespace membership, end here */
}

int netns_create(const char *name)
{
    char *path = ns_path(name);
    pthread_t th;
    void *ret = NULL;
    int fd, r;

    r = prepare_dir();
    if (r)
        goto out;
    if (is_netns(path))
        goto out;
    fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    close(fd);
    r = -pthread_create(&th, NULL, unshare_and_mount, path);
    if (r == 0) {
        pthread_join(th, &ret);
        r = (int)(intptr_t)ret;
    }
    if (r)
        unlink(path);
out:
    free(path);
    return r;
}

int netns_open(const char *name)
{
    char *path = ns_path(name);
    int fd = -ENOENT;

    if (is_netns(path)) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fd = -errno;
    }
    free(path);
    return fd;
}

int netns_alias(const char *from, const char *to)
{
    char *src = ns_path(from), *dst = ns_path(to);
    int fd, r = 0;

    if (!is_netns(src)) {
        r = -ENOENT;
        goto out;
    }
    fd = open(dst, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    close(fd);
    if (mount(src, dst, "none", MS_BIND, NULL) < 0) {
        r = -errno;
        unlink(dst);
    }
out:
    free(src);
    free(dst);
    return r;
}

int netns_delete(const char *name)
{
    char *path = ns_path(name);
    int r = 0;

    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        r = -errno;
    if (unlink(path) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    free(path);
    return r;
}

struct run_arg {
    int fd;
    int (*fn)(void *arg);
    void *arg;
    int ret;
};

static void *run_in(void *p)
{
    struct run_arg *a = p;

    if (setns(a->fd, CLONE_NEWNET) < 0) {
        a->ret = -errno;
        return NULL;
    }
    a->ret = a->fn(a->arg);
    return NULL;
}

int netns_run(int fd, int (*fn)(void *arg), void *arg)
{
    struct run_arg a = {fd, fn, arg, 0};
    pthread_t th;
    int r = pthread_create(&th, NULL, run_in, &a);

    if (r)
        return -r;
    pthread_join(th, NULL);
    return a.ret;
}

int netns_unprivileged(void)
{
    int r = write_knob("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");

    return r ? r : write_knob("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
}
