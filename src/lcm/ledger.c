#include "lcm/ledger.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LEDGER_BYTES (LEDGER_MAX * 64)
#define LOCK_WAIT_MS 50 /* the longest a manager waits for the lock */

int ledger_open(struct ledger *l, const char *path)
{
    memset(l, 0, sizeof(*l));
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    return l->fd < 0 ? -errno : 0;
}

static bool alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int ledger_lock(struct ledger *l)
{
    char buf[LEDGER_BYTES + 1], *line, *save = NULL;
    ssize_t len;

    l->n = 0;
    if (l->fd < 0)
        return -EBADF;
    /* a manager stopped (SIGSTOP, a debugger) while it held the lock must
     * not stop the others' loops: they go on with the cloud's figures */
    for (uint64_t until = mono_ms() + LOCK_WAIT_MS; flock(l->fd, LOCK_EX | LOCK_NB) < 0;) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        if (mono_ms() >= until) {
            if (mono_ms() - l->warned_ms >= 60000) {
                log_warn("site ledger: locked by another manager for %d ms: its figures are "
                         "not read this time (the cloud's are)",
                         LOCK_WAIT_MS);
                l->warned_ms = mono_ms();
            }
            return -EWOULDBLOCK;
        }
        usleep(1000);
    }
    len = pread(l->fd, buf, LEDGER_BYTES, 0);
    buf[len > 0 ? len : 0] = '\0';
    for (line = strtok_r(buf, "\n", &save); line && l->n < LEDGER_MAX;
         line = strtok_r(NULL, "\n", &save)) {
        struct ledger_entry *e = &l->others[l->n];
        int pid;

        if (sscanf(line, "%6s %d %lf %lld", e->tag, &pid, &e->vcpu, &e->memory_mb) != 4 ||
            pid == getpid() || !alive(pid))
            continue;
        e->pid = pid;
        l->n++;
    }
    return 0;
}

static void put(char *buf, size_t *len, const struct ledger_entry *e)
{
    int n = snprintf(buf + *len, LEDGER_BYTES - *len, "%s %d %.3f %lld\n", e->tag, (int)e->pid,
                     e->vcpu, e->memory_mb);

    if (n > 0 && *len + (size_t)n < LEDGER_BYTES)
        *len += (size_t)n;
}

void ledger_unlock(struct ledger *l, const struct ledger_entry *mine)
{
    char buf[LEDGER_BYTES];
    size_t len = 0;

    if (l->fd < 0)
        return;
    for (size_t i = 0; i < l->n; i++)
        put(buf, &len, &l->others[i]);
    if (mine)
        put(buf, &len, mine);
    if (pwrite(l->fd, buf, len, 0) != (ssize_t)len || ftruncate(l->fd, (off_t)len))
        log_warn("site ledger: cannot write it: %s", strerror(errno));
    flock(l->fd, LOCK_UN);
}

void ledger_close(struct ledger *l)
{
    if (l->fd < 0)
        return;
    if (ledger_lock(l) == 0)
        ledger_unlock(l, NULL);
    close(l->fd);
    l->fd = -1;
}
