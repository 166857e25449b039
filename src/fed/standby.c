/* Hot standby managers of a host (docs/FEDERATION.md "Standby managers"):
 * the standby's watch, its takeover of a dead manager's data dir, the
 * fencing of a hung one, and what every manager records for them.
 *
 * Every heartbeat the standby tries the lock of each data dir it covers.
 * Free: its manager is gone (the kernel drops an flock when its holder
 * dies); the standby keeps the lock, enters the manager's cgroups and cwd,
 * and execs the manager's recorded command line (same pid as the standby).
 * Held: it asks the manager's GET /v0/health (the REST thread answers it,
 * and says "vnfm": "not running" when the manager's loop has not beaten
 * for LOOP_STALE_MS). Once a manager answered, two heartbeats in a row
 * without a good answer make it hung; one that never answered this standby
 * is taken as starting until --standby-start-grace-ms after it recorded its
 * pid, then two heartbeats without an answer make it hung too (it hung
 * before the standby ever saw it answer, or while it started). The
 * standby checks that the recorded
 * pid is that manager (its command line and cgroups as recorded, the
 * holder of the lock), kills it through a pidfd (no pid reuse race), waits
 * for the lock and takes over as above. A manager that stops on purpose
 * (SIGTERM) drops its record first: it is neither fenced nor taken over.
 */
#include "fed/standby.h"
#include "core/config.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define LOCK_ENV      "VNFM_STANDBY_LOCK_FD" /* the lock a standby took, kept across exec */
#define CMDLINE_FILE  "cmdline"              /* DATA_DIR/cmdline: cwd then argv, NUL-separated */
#define CMDLINE_MAX   (64 * 1024)
#define CGROUP_FILE   "cgroup"       /* DATA_DIR/cgroup: its /proc/self/cgroup */
#define PID_FILE      "pid"          /* DATA_DIR/pid: the manager's pid */
#define SHARED_FILE   "shared-store" /* DATA_DIR/shared-store: its manager is on etcd */
#define WATCHED_MAX   64             /* data dirs one standby covers */
#define MISSES_FENCE  2              /* heartbeats without an answer before fencing */
#define FENCE_WAIT_MS 10000          /* for the lock of a manager fenced */
#define PROBE_MIN_MS  250            /* a health check is given a heartbeat, and at least this */

/* ---- what a manager records ---- */

/* Moves this process into the cgroups a manager recorded (DATA_DIR/cgroup,
 * the lines of /proc/self/cgroup): a standby that takes over runs where the
 * manager ran, not in the standby's own (smaller) cgroup. Best effort. */
static void enter_cgroups(const char *dir)
{
    char *path = xasprintf("%s/%s", dir, CGROUP_FILE), *text = NULL, *save = NULL, pid[16];

    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if (read_file(path, CMDLINE_MAX, &text, NULL) == 0) {
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char *ctl = strchr(l, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL, *procs;

            if (!cg)
                continue;
            *cg++ = '\0';
            ctl++;
            if (strncmp(ctl, "name=", 5) == 0)
                ctl += 5;
            procs = *ctl ? xasprintf("/sys/fs/cgroup/%s%s/cgroup.procs", ctl, cg)
                         : xasprintf("/sys/fs/cgroup/unified%s/cgroup.procs", cg);
            if (write_knob(procs, pid) && *ctl)
                log_debug("standby: cannot enter %s", procs);
            free(procs);
        }
    }
    free(text);
    free(path);
}

static void unlink_in(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);

    unlink(path);
    free(path);
}

static void record_file(const char *dir, const char *name, const void *buf, size_t n)
{
    char *path = xasprintf("%s/%s", dir, name);

    if (write_file_atomic(path, buf, n, 0600, true))
        log_warn("cannot record %s for a standby in %s", name, path);
    free(path);
}

void standby_record(const char *data_dir)
{
    char cwd[PATH_MAX], *buf = xmalloc(CMDLINE_MAX), pid[16];
    size_t n = 0, c;
    ssize_t got;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || !getcwd(cwd, sizeof(cwd))) {
        log_warn("cannot record the command line for a standby: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        free(buf);
        return;
    }
    c = strlen(cwd) + 1;
    memcpy(buf, cwd, c);
    n = c;
    while (n < CMDLINE_MAX && (got = read(fd, buf + n, CMDLINE_MAX - n)) > 0)
        n += (size_t)got;
    close(fd);
    if (n < CMDLINE_MAX)
        record_file(data_dir, CMDLINE_FILE, buf, n);
    free(buf);
    buf = NULL;
    if (read_file("/proc/self/cgroup", CMDLINE_MAX, &buf, &n) == 0)
        record_file(data_dir, CGROUP_FILE, buf, n);
    free(buf);
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    record_file(data_dir, PID_FILE, pid, strlen(pid));
    unlink_in(data_dir, SHARED_FILE);
}

void standby_record_shared(const char *data_dir)
{
    static const char why[] = "this data dir's manager keeps its store on a shared store: its "
                              "standbys are the other members of its cluster\n";

    record_file(data_dir, SHARED_FILE, why, strlen(why));
    standby_unrecord(data_dir);
}

void standby_unrecord(const char *data_dir)
{
    unlink_in(data_dir, PID_FILE);
    unlink_in(data_dir, CMDLINE_FILE);
}

static bool shared_store(const char *dir)
{
    char *path = xasprintf("%s/%s", dir, SHARED_FILE);
    bool yes = access(path, F_OK) == 0;

    free(path);
    return yes;
}

pid_t standby_recorded_pid(const char *dir)
{
    char *path = xasprintf("%s/%s", dir, PID_FILE), *text = NULL;
    long pid = 0;

    if (read_file(path, 64, &text, NULL) == 0)
        pid = strtol(text, NULL, 10);
    free(text);
    free(path);
    return pid > 1 && pid < INT_MAX ? (pid_t)pid : 0;
}

int standby_inherited_lock(const char *lock)
{
    const char *v = getenv(LOCK_ENV);
    struct stat a, b;
    int fd = v ? atoi(v) : -1;

    unsetenv(LOCK_ENV);
    if (fd < 0)
        return -1;
    if (fstat(fd, &a) < 0 || stat(lock, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    log_info("took over the data dir as a standby: its lock is held since before exec");
    return fd;
}

/* ---- taking over ---- */

/* The recorded command line of dir's manager: its cwd, then its argv
 * (NULL-terminated, pointing into *buf). NULL when none is recorded. */
static char **recorded_argv(const char *dir, char **buf, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, CMDLINE_FILE);
    size_t n = 0, argc = 0;
    char **argv;

    *buf = NULL;
    if (read_file(path, CMDLINE_MAX, buf, &n) || n < 2 || (*buf)[n - 1] != '\0') {
        free(path);
        free(*buf);
        *buf = NULL;
        return NULL;
    }
    free(path);
    for (size_t i = 0; i < n; i++)
        argc += (*buf)[i] == '\0';
    argv = xcalloc(argc + 1, sizeof(*argv));
    argc = 0;
    for (size_t i = 0; i < n; i += strlen(*buf + i) + 1)
        argv[argc++] = *buf + i;
    if (len)
        *len = n;
    return argv;
}

/* Takes over the manager of a data dir whose lock this standby holds (fd):
 * becomes it (exec), keeping the lock. Returns only if it cannot (no
 * command line recorded: nobody to take over). */
static void take_over(const char *dir, int fd)
{
    char *buf, fdtxt[16], pid[16];
    char **argv = recorded_argv(dir, &buf, NULL);

    if (!argv) {
        log_info("standby: %s has no recorded manager (%s/%s): nothing to take over", dir, dir,
                 CMDLINE_FILE);
        return;
    }
    /* argv[0] is the cwd the manager ran in */
    if (chdir(argv[0]) < 0) {
        log_error("standby: cannot enter %s to take over %s: %s", argv[0], dir, strerror(errno));
        free(argv);
        free(buf);
        return;
    }
    enter_cgroups(dir);
    snprintf(fdtxt, sizeof(fdtxt), "%d", fd);
    setenv(LOCK_ENV, fdtxt, 1);
    log_warn("standby: the manager of %s is gone: taking over as %s", dir, argv[1]);
    /* the manager's pid from now on (exec keeps it): a parent that reads
     * it before the manager has started must find this one, not the dead */
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    record_file(dir, PID_FILE, pid, strlen(pid));
    execv("/proc/self/exe", argv + 1);
    log_error("standby: cannot exec the manager of %s: %s", dir, strerror(errno));
    unsetenv(LOCK_ENV);
    unlink_in(dir, PID_FILE); /* nobody runs it */
    free(argv);
    free(buf);
}

void standby_pass_lock(int fd)
{
    char fdtxt[16];

    snprintf(fdtxt, sizeof(fdtxt), "%d", fd);
    fcntl(fd, F_SETFD, 0);
    setenv(LOCK_ENV, fdtxt, 1);
}

void standby_exec_recorded(const char *dir)
{
    char *buf;
    char **argv = recorded_argv(dir, &buf, NULL);

    if (!argv) {
        errno = ENOENT;
        return;
    }
    if (chdir(argv[0]) == 0)
        execv("/proc/self/exe", argv + 1);
    free(argv);
    free(buf);
}

/* ---- the watched managers ---- */

struct watched {
    char *dir;
    pid_t pid;        /* its manager's recorded pid (0: none recorded) */
    char *url, *pin;  /* its GET /v0/health; its certificate (https) */
    uint64_t last_ok; /* mono ms of its last good answer; 0: none from this pid yet */
    unsigned misses;  /* heartbeats in a row without one since */
    bool refused;     /* its pid failed the fencing checks: said once */
    bool shared;      /* its manager is on a shared store: said once */
};

struct standby {
    const struct config *cfg;
    struct watched w[WATCHED_MAX];
    size_t n;
    char *list;          /* --standby-for's "@FILE": more dirs, one a line */
    struct stat list_st; /* as last read */
};

static void watched_done(struct watched *w)
{
    free(w->dir);
    free(w->url);
    free(w->pin);
    memset(w, 0, sizeof(*w));
}

static void add_dir(struct standby *sb, const char *dir, struct watched *old, size_t n_old)
{
    if (!*dir || sb->n == WATCHED_MAX)
        return;
    for (size_t i = 0; i < sb->n; i++)
        if (strcmp(sb->w[i].dir, dir) == 0)
            return;
    for (size_t i = 0; i < n_old; i++) /* one watched before keeps what is known of it */
        if (old[i].dir && strcmp(old[i].dir, dir) == 0) {
            sb->w[sb->n++] = old[i];
            memset(&old[i], 0, sizeof(old[i]));
            return;
        }
    sb->w[sb->n++] = (struct watched){.dir = xstrdup(dir)};
}

/* The dirs --standby-for names, and those of its @FILE (read again when it
 * changed: its manager adds the managers it starts). */
static void refresh(struct standby *sb)
{
    struct watched old[WATCHED_MAX];
    size_t n_old = sb->n;
    char *items = xstrdup(sb->cfg->standby_for), *save = NULL, *lsave = NULL, *text = NULL;
    struct stat st = {0};

    if (sb->n && (!sb->list || (stat(sb->list, &st) == 0 && st.st_ino == sb->list_st.st_ino &&
                                st.st_mtim.tv_nsec == sb->list_st.st_mtim.tv_nsec &&
                                st.st_mtim.tv_sec == sb->list_st.st_mtim.tv_sec &&
                                st.st_size == sb->list_st.st_size))) {
        free(items);
        return;
    }
    memcpy(old, sb->w, sizeof(old));
    sb->n = 0;
    for (char *t = strtok_r(items, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*t != '@') {
            add_dir(sb, t, old, n_old);
            continue;
        }
        free(sb->list);
        sb->list = xstrdup(t + 1);
        if (stat(sb->list, &sb->list_st) == 0 && read_file(sb->list, CMDLINE_MAX, &text, NULL) == 0)
            for (char *l = strtok_r(text, "\n", &lsave); l; l = strtok_r(NULL, "\n", &lsave))
                add_dir(sb, l, old, n_old);
        free(text);
        text = NULL;
        break; /* the file is the last item */
    }
    for (size_t i = 0; i < n_old; i++)
        watched_done(&old[i]);
    if (n_old || sb->n)
        log_info("standby: watching %zu manager(s) every %u ms", sb->n,
                 sb->cfg->standby_heartbeat_ms);
    free(items);
}

/* Where dir's manager answers its health check, from its recorded command
 * line (read as that manager read it, in its cwd). */
static void find_endpoint(struct watched *w)
{
    char *buf, cert[PATH_MAX];
    char **argv = recorded_argv(w->dir, &buf, NULL), **copy;
    struct config cfg;
    int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), argc = 0;
    const char *host;

    free(w->url);
    free(w->pin);
    w->url = w->pin = NULL;
    if (!argv || here < 0 || chdir(argv[0]) < 0)
        goto out;
    while (argv[argc + 1])
        argc++;
    copy = xcalloc((size_t)argc + 1, sizeof(*copy)); /* getopt permutes it */
    memcpy(copy, argv + 1, (size_t)argc * sizeof(*copy));
    if (config_parse(&cfg, argc, copy) == 0) {
        host = cfg.listen_host;
        if (!*host || strcmp(host, "0.0.0.0") == 0)
            host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
            host = "::1";
        w->url = xasprintf("%s://%s%s%s:%u/v0/health", cfg.tls_cert ? "https" : "http",
                           strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
                           cfg.listen_port);
        if (cfg.tls_cert && realpath(cfg.tls_cert, cert))
            w->pin = xstrdup(cert);
    }
    config_done(&cfg);
    free(copy);
    if (fchdir(here) < 0)
        log_warn("standby: cannot return to its directory: %s", strerror(errno));
out:
    if (here >= 0)
        close(here);
    free(argv);
    free(buf);
}

/* Whether the manager answers its health check within timeout_ms with its
 * loop beating (its "vnfm" service not "not running"). */
static bool answers(const struct watched *w, unsigned timeout_ms, char *why, size_t len)
{
    struct httpc_req rq = {.method = "GET",
                           .url = w->url,
                           .timeout_ms = timeout_ms,
                           .max_response = 64 * 1024,
                           .pin_cert = w->pin};
    struct httpc_resp resp;
    json_t *doc;
    bool ok = false;

    if (httpc_do(&rq, &resp)) {
        snprintf(why, len, "no answer: %s", resp.err);
    } else if ((doc = json_loads(resp.body ? resp.body : "", 0, NULL))) {
        const json_t *svc = json_object_get(json_object_get(doc, "services"), "vnfm");

        ok = !json_is_string(svc) || strcmp(json_string_value(svc), "not running");
        if (!ok)
            snprintf(why, len, "its loop is not running (health code %lld)",
                     json_integer_value(json_object_get(doc, "code")));
        json_decref(doc);
    } else {
        ok = true; /* an answer all the same: its REST thread runs */
    }
    httpc_resp_done(&resp);
    return ok;
}

/* ---- fencing ---- */

static bool same_file(const char *path, const char *dir, const char *name, size_t skip)
{
    char *rec = xasprintf("%s/%s", dir, name), *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    bool same = read_file(path, CMDLINE_MAX, &a, &na) == 0 &&
                read_file(rec, CMDLINE_MAX, &b, &nb) == 0 && nb >= skip && na == nb - skip &&
                memcmp(a, b + skip, na) == 0;

    free(a);
    free(b);
    free(rec);
    return same;
}

/* The holder of the flock on dir's lock by /proc/locks, or 0 when not
 * listed (another pid namespace). */
static pid_t lock_holder(const char *dir)
{
    char *lock = xasprintf("%s/vnfmd.lock", dir), line[256];
    struct stat st;
    FILE *f = NULL;
    pid_t who = 0;

    if (stat(lock, &st) == 0 && (f = fopen("/proc/locks", "re"))) {
        while (!who && fgets(line, sizeof(line), f)) {
            unsigned maj, mnr;
            unsigned long ino;
            int pid;

            if (strstr(line, " FLOCK ") && !strstr(line, "->") &&
                sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%lu", &pid, &maj, &mnr, &ino) == 4 &&
                ino == st.st_ino && maj == major(st.st_dev) && mnr == minor(st.st_dev))
                who = pid;
        }
        fclose(f);
    }
    free(lock);
    return who;
}

/* A pidfd of w's manager when its recorded pid is that manager: its
 * command line and cgroups are those recorded, and it holds the lock; else
 * -1 and why. */
static int fence_target(const struct watched *w, char *why, size_t len)
{
    char *path, *buf = NULL, *cwd;
    size_t n = 0;
    char **argv = recorded_argv(w->dir, &buf, &n);
    pid_t holder = lock_holder(w->dir);
    int fd = -1;
    bool cmd, cg;

    cwd = argv ? argv[0] : NULL;
    if (w->pid == getpid() || !argv) {
        snprintf(why, len, "nothing recorded");
        goto out;
    }
    if ((fd = (int)syscall(SYS_pidfd_open, w->pid, 0)) < 0) {
        snprintf(why, len, "pid %d is gone: %s", (int)w->pid, strerror(errno));
        goto out;
    }
    path = xasprintf("/proc/%d/cmdline", (int)w->pid);
    cmd = same_file(path, w->dir, CMDLINE_FILE, strlen(cwd) + 1);
    free(path);
    path = xasprintf("/proc/%d/cgroup", (int)w->pid);
    cg = same_file(path, w->dir, CGROUP_FILE, 0);
    free(path);
    if (!cmd || !cg || (holder && holder != w->pid)) {
        snprintf(why, len, "pid %d is not that manager (%s)", (int)w->pid,
                 !cmd  ? "another command line"
                 : !cg ? "other cgroups"
                       : "another process holds the lock");
        close(fd);
        fd = -1;
    }
out:
    free(argv);
    free(buf);
    return fd;
}

/* Kills w's hung manager and takes its dir over (fd: the lock, open). */
static void fence(struct watched *w, int fd, uint64_t silent_ms, const char *miss)
{
    char why[256];
    int pidfd;
    uint64_t t0;

    if (standby_recorded_pid(w->dir) != w->pid || spawn_ended(w->pid)) {
        log_info("standby: the manager of %s (pid %d) has ended: its lock is looked at next",
                 w->dir, (int)w->pid);
        return;
    }
    pidfd = fence_target(w, why, sizeof(why));
    if (pidfd < 0) {
        if (!w->refused)
            log_error("standby: the manager of %s does not answer (%s), but it is not fenced: %s",
                      w->dir, miss, why);
        w->refused = true;
        return;
    }
    log_warn("standby: the manager of %s (pid %d) has not answered for %llu ms (%s): fencing it "
             "(SIGKILL)",
             w->dir, (int)w->pid, (unsigned long long)silent_ms, miss);
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
        log_error("standby: cannot kill pid %d: %s", (int)w->pid, strerror(errno));
    close(pidfd);
    for (t0 = mono_ms(); mono_ms() - t0 < FENCE_WAIT_MS; usleep(20 * 1000))
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            take_over(w->dir, fd);
            flock(fd, LOCK_UN);
            return;
        }
    log_error("standby: the lock of %s is still held %d s after pid %d was killed", w->dir,
              FENCE_WAIT_MS / 1000, (int)w->pid);
}

/* How long ago dir's manager recorded its pid (at its start), in ms. */
static uint64_t recorded_ago_ms(const char *dir)
{
    char *path = xasprintf("%s/%s", dir, PID_FILE);
    struct stat st;
    struct timespec now;
    int64_t ago = 0;

    if (stat(path, &st) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0)
        ago = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
              (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    free(path);
    return ago > 0 ? (uint64_t)ago : 0;
}

/* The lock is held: is its manager alive? Once it answered, MISSES_FENCE
 * heartbeats in a row without an answer fence it; one that never answered,
 * as many once its start grace has passed. */
static void check_alive(struct standby *sb, struct watched *w, int fd)
{
    unsigned hb = sb->cfg->standby_heartbeat_ms;
    pid_t pid = standby_recorded_pid(w->dir);
    char why[HTTPC_ERR_MAX + 32];
    uint64_t now;

    if (pid != w->pid) { /* another manager (or none: it stops on purpose) */
        w->pid = pid;
        w->last_ok = 0;
        w->misses = 0;
        w->refused = false;
        if (pid)
            find_endpoint(w);
    }
    if (!pid || !w->url)
        return;
    if (answers(w, hb > PROBE_MIN_MS ? hb : PROBE_MIN_MS, why, sizeof(why))) {
        if (!w->last_ok)
            log_info("standby: the manager of %s (pid %d) answers at %s", w->dir, (int)pid, w->url);
        w->last_ok = mono_ms();
        w->misses = 0;
        w->refused = false;
        return;
    }
    if (!w->last_ok) {
        uint64_t ago = recorded_ago_ms(w->dir);

        if (ago < sb->cfg->standby_start_grace_ms)
            return; /* starting */
        log_warn("standby: the manager of %s (pid %d) has never answered, %llu ms after its "
                 "start (grace %u ms): missed heartbeat %u: %s",
                 w->dir, (int)pid, (unsigned long long)ago, sb->cfg->standby_start_grace_ms,
                 w->misses + 1, why);
        if (++w->misses >= MISSES_FENCE)
            fence(w, fd, ago, why);
        return;
    }
    now = mono_ms();
    log_warn("standby: the manager of %s (pid %d) missed heartbeat %u: %s", w->dir, (int)pid,
             w->misses + 1, why);
    if (++w->misses >= MISSES_FENCE)
        fence(w, fd, now - w->last_ok, why);
}

/* One look at one watched data dir. */
static void look(struct standby *sb, struct watched *w)
{
    char *lock;
    int fd;

    if (shared_store(w->dir) != w->shared && (w->shared = !w->shared))
        log_warn("standby: the manager of %s keeps its store on a shared store (etcd): its "
                 "standbys are its cluster's other members, not this one: left alone",
                 w->dir);
    if (w->shared)
        return;
    lock = xasprintf("%s/vnfmd.lock", w->dir);
    fd = open(lock, O_RDWR); /* kept across exec when taken */
    free(lock);
    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        take_over(w->dir, fd);
        flock(fd, LOCK_UN);
    } else {
        check_alive(sb, w, fd);
    }
    close(fd);
}

int standby_run(const struct config *cfg)
{
    struct standby sb = {.cfg = cfg};
    unsigned hb = cfg->standby_heartbeat_ms;

    httpc_global_init();
    refresh(&sb);
    if (!sb.n && !sb.list) {
        log_error("--standby-for names no data dir");
        return 1;
    }
    for (;;) {
        uint64_t t0 = mono_ms(), took;

        refresh(&sb);
        for (size_t i = 0; i < sb.n; i++)
            look(&sb, &sb.w[i]);
        took = mono_ms() - t0;
        if (took < hb)
            usleep((useconds_t)(hb - took) * 1000u);
    }
}
