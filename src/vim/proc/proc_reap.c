/* The process VIM's children (proc_internal.h): every VNF process this
 * manager started is reaped as soon as its whole thread group has ended,
 * by a thread that waits on their pidfds, whatever stopped it (a stop or a
 * destroy, a crash of the VNF, a kill -9 by someone else) and whether or
 * not anyone still watches it. A stop that looked once, without blocking,
 * right after the cgroup emptied missed the leader of a multi-threaded VNF
 * (a zombie before its last thread had gone: issue 10 finding 18). The
 * wait status is kept for status() until the VI is stopped or started
 * again. One reaper serves every proc site of the process. */
#include "util/hmap.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "vim/proc/proc_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child {
    pid_t pid;
    uint64_t start;
    int pidfd;  /* -1 once reaped */
    int status; /* wait status once reaped */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a child was reaped */
    unsigned users;
    int epfd, stopfd;
    pthread_t th;
    struct hmap kids; /* pid (decimal) -> struct child */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void pid_key(pid_t pid, char buf[16])
{
    snprintf(buf, 16, "%d", (int)pid);
}

/* waitid(2)'s answer as the status waitpid(2) gives. */
static int wait_status(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED:
        return (si->si_status & 0xff) << 8;
    case CLD_DUMPED:
        return (si->si_status & 0x7f) | 0x80;
    default:
        return si->si_status & 0x7f;
    }
}

/* Reaps k when it has ended; with R.mu held. */
static bool reap_one(struct child *k)
{
    siginfo_t si = {0};

    if (k->pidfd < 0)
        return true;
    if (waitid(P_PIDFD, (id_t)k->pidfd, &si, WEXITED | WNOHANG) < 0) {
        if (errno != ECHILD)
            return false;
        k->status = -1; /* someone else's wait took it */
    } else if (si.si_pid == 0) {
        return false;
    } else {
        k->status = wait_status(&si);
    }
    epoll_ctl(R.epfd, EPOLL_CTL_DEL, k->pidfd, NULL);
    close(k->pidfd);
    k->pidfd = -1;
    pthread_cond_broadcast(&R.cv);
    return true;
}

static void *reaper(void *arg)
{
    struct epoll_event ev[32];

    (void)arg;
    for (;;) {
        int n = epoll_wait(R.epfd, ev, 32, -1);

        pthread_mutex_lock(&R.mu);
        for (int i = 0; i < n; i++) {
            char key[16];
            struct child *k;

            if (ev[i].data.u64 == 0) { /* reaper_close */
                pthread_mutex_unlock(&R.mu);
                return NULL;
            }
            pid_key((pid_t)ev[i].data.u64, key);
            k = hmap_get(&R.kids, key);
            if (k)
                reap_one(k);
        }
        pthread_mutex_unlock(&R.mu);
    }
}

int reaper_open(void)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    pthread_condattr_t ca;
    int r = 0;

    pthread_mutex_lock(&R.mu);
    if (R.users++ > 0)
        goto out;
    hmap_init(&R.kids);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&R.cv, &ca);
    pthread_condattr_destroy(&ca);
    R.epfd = epoll_create1(EPOLL_CLOEXEC);
    R.stopfd = eventfd(0, EFD_CLOEXEC);
    if (R.epfd < 0 || R.stopfd < 0 || epoll_ctl(R.epfd, EPOLL_CTL_ADD, R.stopfd, &ev) < 0)
        r = -errno;
    else
        r = -pthread_create(&R.th, NULL, reaper, NULL);
    if (r) {
        if (R.epfd >= 0)
            close(R.epfd);
        if (R.stopfd >= 0)
            close(R.stopfd);
        pthread_cond_destroy(&R.cv);
        hmap_done(&R.kids);
        R.users = 0;
    }
out:
    pthread_mutex_unlock(&R.mu);
    return r;
}

/* The last user stops the thread; children not reaped yet go to init when
 * the manager exits. */
void reaper_close(void)
{
    struct hmap_entry *e;
    uint64_t one = 1;
    size_t i;

    pthread_mutex_lock(&R.mu);
    if (R.users == 0 || --R.users > 0) {
        pthread_mutex_unlock(&R.mu);
        return;
    }
    if (write(R.stopfd, &one, sizeof(one)) < 0) {
        /* an eventfd write only fails on overflow */
    }
    pthread_mutex_unlock(&R.mu);
    pthread_join(R.th, NULL);
    for (e = hmap_first(&R.kids, &i); e; e = hmap_next(&R.kids, e, &i)) {
        struct child *k = e->value;

        if (k->pidfd >= 0)
            close(k->pidfd);
        free(k);
    }
    hmap_done(&R.kids);
    close(R.epfd);
    close(R.stopfd);
    pthread_cond_destroy(&R.cv);
}

void reaper_add(pid_t pid, uint64_t start, int pidfd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)pid};
    struct child *k = xcalloc(1, sizeof(*k)), *old;
    char key[16];

    k->pid = pid;
    k->start = start;
    k->pidfd = pidfd;
    k->status = -1;
    pid_key(pid, key);
    pthread_mutex_lock(&R.mu);
    old = hmap_put(&R.kids, key, k); /* a pid reaped and used again */
    if (old && old->pidfd >= 0) {
        epoll_ctl(R.epfd, EPOLL_CTL_DEL, old->pidfd, NULL);
        close(old->pidfd);
    }
    free(old);
    if (epoll_ctl(R.epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0)
        reap_one(k); /* cannot be watched: reaped when looked at */
    pthread_mutex_unlock(&R.mu);
}

/* Our child pid started at start, with R.mu held. */
static struct child *find(pid_t pid, uint64_t start)
{
    char key[16];
    struct child *k;

    pid_key(pid, key);
    k = hmap_get(&R.kids, key);
    return k && k->start == start ? k : NULL;
}

int reaper_status(pid_t pid, uint64_t start, uint64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000};
    struct child *k;
    int status = -1;

    pthread_mutex_lock(&R.mu);
    while ((k = find(pid, start)) && !reap_one(k) && mono_ms() < deadline_ms)
        pthread_cond_timedwait(&R.cv, &R.mu, &ts);
    if (k && k->pidfd < 0)
        status = k->status;
    pthread_mutex_unlock(&R.mu);
    return status;
}

void reaper_forget(pid_t pid, uint64_t start)
{
    char key[16];
    struct child *k;

    pthread_mutex_lock(&R.mu);
    k = find(pid, start);
    if (k && k->pidfd < 0) {
        pid_key(pid, key);
        free(hmap_del(&R.kids, key));
    }
    pthread_mutex_unlock(&R.mu);
}
