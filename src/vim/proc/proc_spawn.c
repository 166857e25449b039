/* The processes of the proc VIM (proc_internal.h): starting a VI's process
 * in what create() made, and knowing it again by pid, start time and uid.
 *
 * The child is started the way posix_spawn(3) starts one (util/spawn.h
 * spawn_clone): it shares the manager's memory until it execs, so nothing of
 * the manager's large, many-threaded address space is copied, and an exec
 * failure comes back at once. In the child: its cgroups, its session, its
 * network namespace, its directory and console, then its identity (the one
 * place where who the VNF runs as is decided: its sandbox), then exec. */
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/sandbox.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/cgroup.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NOFILE_VNF 1024 /* a VNF's soft limit of open files, as a login's */

extern char **environ;

/* ---- knowing a process again ---- */

struct pstat {
    char state;
    uint64_t start;
};

/* Fields 3 and 22 of /proc/PID/stat (proc(5)). */
static int proc_stat(pid_t pid, struct pstat *ps)
{
    char path[64], *text = NULL, *p;
    unsigned long long start = 0;
    int r;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    r = read_file(path, 4096, &text, NULL);
    if (r)
        return r;
    p = strrchr(text, ')');
    if (!p || sscanf(p + 2,
                     "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                     "%*s %*s %llu",
                     &ps->state, &start) != 2) {
        free(text);
        return -EIO;
    }
    ps->start = start;
    free(text);
    return 0;
}

/* Whether the thread group of pid has ended: its pidfd is readable. */
static bool group_ended(pid_t pid)
{
    int fd = pidfd_open(pid, 0);
    struct pollfd p = {fd, POLLIN, 0};
    bool ended = fd < 0 || poll(&p, 1, 0) == 1;

    if (fd >= 0)
        close(fd);
    return ended;
}

/* The real uid of pid (the "Uid:" line of /proc/PID/status), or -1. */
static long proc_uid(pid_t pid)
{
    char path[64], *text = NULL, *p;
    long uid = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_file(path, 16384, &text, NULL) == 0 && (p = strstr(text, "\nUid:")))
        uid = strtol(p + 5, NULL, 10);
    free(text);
    return uid;
}

bool proc_main_alive(const struct pref *p)
{
    struct pstat ps;

    if (p->pid <= 0 || proc_stat(p->pid, &ps) || ps.start != p->start)
        return false;
    if (p->uid && proc_uid(p->pid) != (long)p->uid)
        return false;
    /* a zombie leader whose other threads still run is running */
    return (ps.state != 'Z' && ps.state != 'X') || !group_ended(p->pid);
}

int proc_exit_fd(void *data, const struct vi_handle *h)
{
    struct pref p;
    struct pstat ps;
    int fd;

    (void)data;
    pref_of(h, &p);
    if (p.pid <= 0)
        return -ESRCH;
    fd = pidfd_open(p.pid, 0);
    if (fd < 0)
        return -errno;
    /* the pid could have been reused before we opened it */
    if (proc_stat(p.pid, &ps) || ps.start != p.start) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

/* ---- what the process gets ---- */

/* The command's arguments: the VDU's command, rendered (vdu_fields). */
static char **make_argv(const json_t *vdu)
{
    const json_t *cmd = json_object_get(vdu, "command");
    size_t n = json_array_size(cmd);
    char **argv = xcalloc(n + 1, sizeof(*argv));

    for (size_t i = 0; i < n; i++)
        argv[i] = xstrdup(json_string_value(json_array_get(cmd, i)));
    return argv;
}

/* The VNF's whole environment: PATH with the site's command path first,
 * HOME its directory, the VNFM_* variables, and the VDU's env. */
static char **make_envp(const struct proc_vim *v, const struct vi_spec *spec, const char *dir)
{
    static const char *const exported[][2] = {
        {"VNFM_VI_ID", "vi.id"},
        {"VNFM_VI_NAME", "vi.name"},
        {"VNFM_DEPLOYMENT", "deployment"},
        {"VNFM_TENANT", "tenant"},
        {"VNFM_SITE", "site"},
        {"VNFM_IP", "ip"},
        {"VNFM_PREFIX_LEN", "prefix_len"},
        {"VNFM_GATEWAY", "gateway"},
        {"VNFM_DAY0_DIR", "day0_dir"},
    };
    const json_t *env = json_object_get(spec->vdu, "env");
    size_t n = 0, cap = ARRAY_SIZE(exported) + json_object_size(env) + 4;
    char **envp = xcalloc(cap, sizeof(*envp));
    const char *key;
    json_t *val;

    envp[n++] =
        *v->cmd_path ? xasprintf("PATH=%s:%s", v->cmd_path, BASE_PATH) : xstrdup("PATH=" BASE_PATH);
    envp[n++] = xasprintf("HOME=%s", dir);
    envp[n++] = xstrdup("LANG=C.UTF-8");
    for (size_t i = 0; i < ARRAY_SIZE(exported); i++) {
        struct sbuf b = SBUF_INIT;

        val = json_object_get(spec->vars, exported[i][1]);
        sbuf_addf(&b, "%s=", exported[i][0]);
        if (json_is_integer(val))
            sbuf_addf(&b, "%lld", (long long)json_integer_value(val));
        else
            sbuf_adds(&b, json_string_value(val) ? json_string_value(val) : "");
        envp[n++] = sbuf_take(&b);
    }
    json_object_foreach((json_t *)env, key, val)
    {
        envp[n++] = xasprintf("%s=%s", key, json_string_value(val));
    }
    return envp;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* ---- the child ---- */

/* What the child needs, in memory it shares with its parent until it
 * execs. */
struct child {
    int cg[CG_MAX_DIRS];
    int n_cg;
    int netns, dir, console, devnull; /* its namespace, directory, stdout and stdin */
    const char *path;
    char **argv, **envp;
    struct rlimit nofile; /* the usual soft limit of open files */
    struct sandbox sb;
    int err;          /* set by the child when it cannot exec */
    const char *step; /* and what it was doing */
};

/* Who the VNF runs as (docs/VIM_PROC.md "The sandbox"): its VI's own uid
 * and gid, no capabilities but those an admin's VNFD asks for, no way to
 * gain one; its own mount namespace, a copy of the site's base, in which
 * the host is read-only, its directory writable, the data dir (every other
 * VI's directory with it) and /run/netns empty; its own /tmp, System V IPC
 * and view of /proc. */
static void child_sandbox(const struct proc_vim *v, const struct vi_spec *spec, const char *dir,
                          struct sandbox *sb)
{
    uint64_t caps = 0;
    const json_t *cap;
    size_t i;

    json_array_foreach(spec->admin_vnfd ? json_object_get(spec->vdu, "capabilities") : NULL, i, cap)
    {
        int n = sandbox_cap_find(json_string_value(cap));

        caps |= n >= 0 ? 1ull << n : 0;
    }
    *sb = (struct sandbox){.uid = spec->uid,
                           .caps = caps,
                           .flags = SANDBOX_PRIVATE_TMP | SANDBOX_OWN_IPC | SANDBOX_HIDE_PIDS |
                                    SANDBOX_OWN_SYS,
                           .tmp_mb = (unsigned)(spec->memory_bytes >> 20),
                           .cwd = dir,
                           .writable = {dir},
                           .hidden = {v->data_dir, NETNS_DIR},
                           .base = v->sandbox_base};
    memcpy(sb->readonly, v->program_dirs, sizeof(sb->readonly));
}

/* Runs in the child, on its own stack in the parent's memory, while the
 * parent waits: raw system calls only, no allocation, no locks. */
static int child_main(void *arg)
{
    struct child *x = arg;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int r;

    setsid();
    x->step = "join its cgroups";
    for (int i = 0; i < x->n_cg; i++)
        if (write(x->cg[i], "0", 1) != 1)
            goto fail;
    x->step = "join its network namespace";
    if (setns(x->netns, CLONE_NEWNET) < 0 || dup2(x->devnull, 0) < 0 || dup2(x->console, 1) < 0 ||
        dup2(x->console, 2) < 0 || fchdir(x->dir) < 0)
        goto fail;
    r = sandbox_enter(&x->sb, &x->step);
    if (r) {
        errno = -r;
        goto fail;
    }
    setrlimit(RLIMIT_NOFILE, &x->nofile); /* the manager raised its own */
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    x->step = "exec";
    execve(x->path, x->argv, x->envp);
fail:
    x->err = errno ? errno : EIO;
    _exit(127);
}

static void child_done(struct child *x)
{
    for (int i = 0; i < x->n_cg; i++)
        close(x->cg[i]);
    if (x->netns >= 0)
        close(x->netns);
    if (x->dir >= 0)
        close(x->dir);
    if (x->console >= 0)
        close(x->console);
    if (x->devnull >= 0)
        close(x->devnull);
    strv_free(x->argv);
    strv_free(x->envp);
    free((char *)x->sb.cwd);
}

/* Everything the child needs, its day-0 files written first unless
 * create() has just put them there. */
static int child_prepare(struct proc_vim *v, const struct vi_spec *spec, struct child *x,
                         struct vim_err *err)
{
    char ns[96], *dir = vi_dir_path(v, spec->id);
    int r;

    *x = (struct child){.netns = -1, .dir = -1, .console = -1, .devnull = -1};
    x->argv = make_argv(spec->vdu);
    x->envp = make_envp(v, spec, dir);
    child_sandbox(v, spec, dir, &x->sb); /* borrows dir: freed in child_done */
    if (!x->argv[0])
        return proc_fail(err, -EINVAL, "%s: the VDU has no command", spec->name);
    x->n_cg = cg_open_procs(&v->cg, spec->id, x->cg);
    if (x->n_cg < 0) {
        r = x->n_cg;
        x->n_cg = 0;
        return proc_fail(err, r, "%s: cgroup", spec->name);
    }
    proc_ns_name(v, spec->id, ns, sizeof(ns));
    x->netns = netns_open(ns);
    if (x->netns < 0)
        return proc_fail(err, x->netns, "%s: network namespace %s", spec->name, ns);
    x->dir = vi_dir_open(v, spec->id);
    if (x->dir < 0)
        return proc_fail(err, x->dir, "%s: its directory", spec->name);
    r = vi_dir_give(v, x->dir, spec->id, spec->uid);
    if (r)
        return proc_fail(err, r, "%s: its directory", spec->name);
    if (!spec->fresh && (r = vi_files_write(x->dir, spec->files, spec->uid, spec->name, err)))
        return r;
    x->console = vi_console_open(x->dir);
    if (x->console < 0)
        return proc_fail(err, x->console, "%s: console.log", spec->name);
    x->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (x->devnull < 0)
        return proc_fail(err, -errno, "/dev/null");
    getrlimit(RLIMIT_NOFILE, &x->nofile);
    if (x->nofile.rlim_cur > NOFILE_VNF)
        x->nofile.rlim_cur = NOFILE_VNF;
    return 0;
}

/* ---- a manager VI (vim.h "Manager VIs") ---- */

struct mgr_child {
    char **argv;
    int log, devnull, cg[CG_MAX_DIRS], n_cg;
    int err; /* errno of the step that failed in the child */
};

/* In the child, before exec: its cgroups, its session, its output and
 * signals; the manager's environment (async-signal-safe calls only). */
static int manager_main(void *arg)
{
    struct mgr_child *x = arg;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int i = 0; i < x->n_cg; i++)
        if (write(x->cg[i], "0", 1) != 1)
            goto fail;
    setsid();
    if (dup2(x->devnull, 0) < 0 || (x->log >= 0 && (dup2(x->log, 1) < 0 || dup2(x->log, 2) < 0)))
        goto fail;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(x->argv[0], x->argv, environ);
fail:
    x->err = errno ? errno : EIO;
    _exit(127);
}

static int manager_start(struct proc_vim *v, const struct vi_spec *spec, struct pref *p,
                         struct vi_out *out, struct vim_err *err)
{
    struct mgr_child x = {.argv = make_argv(spec->vdu), .log = -1, .devnull = -1, .n_cg = 0};
    struct pstat ps;
    pid_t pid = 0;
    int r = 0, pidfd;

    if (proc_main_alive(p)) /* started already */
        goto done;
    if (!x.argv[0] || x.argv[0][0] != '/') {
        r = proc_fail(err, -EINVAL, "%s: a manager's command is an absolute path", spec->name);
        goto out;
    }
    if ((x.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
        (spec->log &&
         (x.log = open(spec->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)) {
        r = proc_fail(err, -errno, "%s: open %s", spec->name, spec->log ? spec->log : "/dev/null");
        goto out;
    }
    if ((x.n_cg = cg_open_procs(&v->cg, spec->id, x.cg)) < 0) {
        r = proc_fail(err, x.n_cg, "%s: its cgroups (made by create)", spec->name);
        x.n_cg = 0;
        goto out;
    }
    if ((pid = spawn_clone(manager_main, &x, 0)) < 0) {
        r = proc_fail(err, pid, "%s: clone", spec->name);
    } else if (x.err) {
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -x.err, "%s: cannot start %s", spec->name, x.argv[0]);
    } else if (proc_stat(pid, &ps) == 0 && (pidfd = pidfd_open(pid, 0)) >= 0) {
        reaper_add(pid, ps.start, pidfd);
        *p = (struct pref){.vi = spec->id, .pid = pid, .start = ps.start};
    } else {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -ESRCH, "%s: %s ended at once", spec->name, x.argv[0]);
    }
done:
    if (r == 0) {
        out->ref = pref_json(p);
        out->pid = p->pid;
    }
out:
    for (int i = 0; i < x.n_cg; i++)
        close(x.cg[i]);
    if (x.log >= 0)
        close(x.log);
    if (x.devnull >= 0)
        close(x.devnull);
    strv_free(x.argv);
    return r;
}

int proc_claim(void *data, const struct vi_handle *h, pid_t pid, struct vi_out *out,
               struct vim_err *err)
{
    struct proc_vim *v = data;
    struct pstat ps;
    struct pref p;
    int r;

    if (strncmp(h->id, VIM_MANAGER_PREFIX, strlen(VIM_MANAGER_PREFIX)))
        return proc_fail(err, -EINVAL, "VI %s: only a manager VI takes a process in", h->id);
    if (!cg_exists(&v->cg, h->id))
        return proc_fail(err, -ENOENT, "VI %s: it has no cgroups", h->id);
    if (pid <= 0 || proc_stat(pid, &ps) || ps.state == 'Z' || ps.state == 'X')
        return proc_fail(err, -ESRCH, "VI %s: pid %d does not run", h->id, (int)pid);
    if ((r = cg_move_pid(&v->cg, h->id, pid)))
        return proc_fail(err, r, "VI %s: move pid %d into its cgroups", h->id, (int)pid);
    p = (struct pref){.vi = h->id, .pid = pid, .start = ps.start};
    if (!proc_main_alive(&p)) /* it ended, or its pid is another's now */
        return proc_fail(err, -ESRCH, "VI %s: pid %d does not run", h->id, (int)pid);
    out->ref = pref_json(&p);
    out->pid = pid;
    return 0;
}

int proc_start(void *data, const struct vi_spec *spec, const struct vi_handle *h,
               struct vi_out *out, struct vim_err *err)
{
    struct proc_vim *v = data;
    struct pref p;
    struct child x;
    struct pstat ps;
    pid_t pid;
    int r, pidfd;

    pref_of(h, &p);
    if (spec->manager)
        return manager_start(v, spec, &p, out, err);
    if (!p.addr && spec->n_nics)
        p.addr = spec->nics[0].addr;
    r = child_prepare(v, spec, &x, err);
    if (r)
        goto out;
    x.path = spawn_find(x.argv[0], x.envp);
    if (!x.path) {
        r = proc_fail(err, -ENOENT, "%s: command '%s' not found in the VNF's PATH", spec->name,
                      x.argv[0]);
        goto out;
    }
    pid = spawn_clone(child_main, &x, sandbox_clone_flags(&x.sb));
    if (pid < 0) {
        r = proc_fail(err, pid, "%s: clone", spec->name);
    } else if (x.err) {
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -x.err, "%s: cannot start %s (%s)", spec->name, x.path, x.step);
    } else if (proc_stat(pid, &ps) == 0 && (pidfd = pidfd_open(pid, 0)) >= 0) {
        reaper_add(pid, ps.start, pidfd);
        p.pid = pid;
        p.start = ps.start;
        p.uid = spec->uid;
        out->ref = pref_json(&p);
        out->pid = pid;
    } else {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -ESRCH, "%s: %s ended at once", spec->name, x.path);
    }
    free((char *)x.path);
out:
    child_done(&x);
    return r;
}
