/* The proc VIM driver (F7, F11): each VI is a process group started from the
 * VNFD's command, in a network namespace of its own that a veth pair joins
 * to the site's bridge, with CPU, memory and pids limits in its own cgroup.
 * VNF processes outlive the manager: they are session leaders, and the
 * manager finds them again by pid and start time (docs/VIM_PROC.md). */
#include "util/beside.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "vim/proc/cgroup.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"
#include "vim/vim.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_WAIT_MS 2000

int proc_fail(struct vim_err *err, int r, const char *fmt, ...)
{
    char what[VIM_ERR_MAX - 64];
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror(-r));
    }
    return r;
}

void proc_ns_name(const struct proc_vim *v, const char *vi, char *buf, size_t len)
{
    snprintf(buf, len, "vnfm-%s-%s", v->tag, vi);
}

void proc_host_if(const char *vi, unsigned k, char *buf, size_t len)
{
    if (k == 0)
        snprintf(buf, len, "vh%.10s", vi);
    else
        snprintf(buf, len, "vh%.10s%u", vi, k % 10);
}

/* ---- processes ---- */

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

/* The VI's main process when it still runs (same start time; a zombie
 * leader whose other threads still run counts as running). */
static bool main_alive(const struct vi_handle *h)
{
    struct pstat ps;

    if (h->pid <= 0 || proc_stat(h->pid, &ps) || ps.start != h->pid_start)
        return false;
    return (ps.state != 'Z' && ps.state != 'X') || !group_ended(h->pid);
}

/* Finds argv0 in the PATH of the VNF's environment (execvpe(3) would use
 * ours). Returns a malloc'd path or NULL. */
static char *find_command(const char *argv0, char *const *envp)
{
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char *dirs, *dir, *save, *found = NULL;

    if (strchr(argv0, '/'))
        return access(argv0, X_OK) == 0 ? xstrdup(argv0) : NULL;
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    dirs = xstrdup(path);
    for (dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/%s", dir, argv0);
        struct stat st;

        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(dirs);
    return found;
}

struct child_fds {
    int cg[CG_MAX_DIRS];
    int n_cg;
    int netns, console, devnull;
};

/* What the child of proc_start needs, in memory it shares with its parent
 * until it execs (CLONE_VM | CLONE_VFORK). */
struct child_ctx {
    const struct child_fds *f;
    const char *workdir, *path;
    char *const *argv, *const *envp;
    int err; /* set by the child when it cannot exec */
};

/* Runs in the child, on its own stack in the parent's memory, while the
 * parent waits: raw system calls only, no allocation, no locks. */
static int child(void *arg)
{
    struct child_ctx *x = arg;
    const struct child_fds *f = x->f;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    setsid();
    for (int i = 0; i < f->n_cg; i++)
        if (write(f->cg[i], "0", 1) != 1)
            goto fail;
    if (setns(f->netns, CLONE_NEWNET) < 0 || dup2(f->devnull, 0) < 0 || dup2(f->console, 1) < 0 ||
        dup2(f->console, 2) < 0 || chdir(x->workdir) < 0)
        goto fail;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(x->path, x->argv, x->envp);
fail:
    x->err = errno ? errno : EIO;
    _exit(127);
}

#define CHILD_STACK (64 * 1024)

/* Starts the child like posix_spawn(3) does: it shares our memory until it
 * execs, so nothing of the manager's (large, many-threaded) address space
 * is copied, and its exec failure comes back in x->err. Signals stay
 * blocked here until it has its own dispositions. The child's frames never
 * return: under AddressSanitizer their redzones would stay poisoned in
 * memory mapped there next, so the stack is cleared before it goes. */
static pid_t spawn_child(struct child_ctx *x)
{
    char *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    sigset_t all, old;
    pid_t pid;

    if (stack == MAP_FAILED)
        return -1;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid = clone(child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, x);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ASAN_UNPOISON_MEMORY_REGION(stack, CHILD_STACK);
    munmap(stack, CHILD_STACK);
    return pid;
}

static void close_fds(struct child_fds *f)
{
    for (int i = 0; i < f->n_cg; i++)
        close(f->cg[i]);
    if (f->netns >= 0)
        close(f->netns);
    if (f->console >= 0)
        close(f->console);
    if (f->devnull >= 0)
        close(f->devnull);
}

static int open_fds(struct proc_vim *v, const struct vi_spec *spec, struct child_fds *f,
                    struct vim_err *err)
{
    char ns[96], *log = xasprintf("%s/console.log", spec->workdir);
    int r;

    *f = (struct child_fds){.netns = -1, .console = -1, .devnull = -1};
    proc_ns_name(v, spec->id, ns, sizeof(ns));
    f->n_cg = cg_open_procs(&v->cg, spec->id, f->cg);
    if (f->n_cg < 0) {
        r = proc_fail(err, f->n_cg, "%s: cgroup", spec->name);
        f->n_cg = 0;
        goto out;
    }
    f->netns = netns_open(ns);
    if (f->netns < 0) {
        r = proc_fail(err, f->netns, "%s: network namespace %s", spec->name, ns);
        goto out;
    }
    f->console = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    f->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    r = f->console < 0 || f->devnull < 0 ? proc_fail(err, -errno, "%s", log) : 0;
out:
    free(log);
    if (r)
        close_fds(f);
    return r;
}

static int proc_start(void *data, const struct vi_spec *spec, struct vi_handle *h,
                      struct vim_err *err)
{
    struct proc_vim *v = data;
    char *path = find_command(spec->argv[0], spec->envp);
    struct child_fds f;
    struct child_ctx x;
    struct pstat ps;
    pid_t pid;
    int r, pidfd;

    if (!path)
        return proc_fail(err, -ENOENT, "%s: command '%s' not found in the VNF's PATH", spec->name,
                         spec->argv[0]);
    r = open_fds(v, spec, &f, err);
    if (r)
        goto out_path;
    x = (struct child_ctx){&f, spec->workdir, path, spec->argv, spec->envp, 0};
    pid = spawn_child(&x);
    if (pid < 0) {
        r = proc_fail(err, -errno, "%s: clone", spec->name);
    } else if (x.err) {
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -x.err, "%s: cannot start %s", spec->name, path);
    } else if (proc_stat(pid, &ps) == 0 && (pidfd = pidfd_open(pid, 0)) >= 0) {
        memset(h, 0, sizeof(*h));
        snprintf(h->id, sizeof(h->id), "%s", spec->id);
        h->pid = pid;
        h->pid_start = ps.start;
        reaper_add(pid, ps.start, pidfd);
    } else {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r = proc_fail(err, -ESRCH, "%s: %s ended at once", spec->name, path);
    }
    close_fds(&f);
out_path:
    free(path);
    return r;
}

/* ---- stopping ---- */

static void signal_all(const struct proc_vim *v, const struct vi_handle *h, int sig)
{
    pid_t *pids;
    size_t n;

    if (main_alive(h))
        kill(-h->pid, sig); /* its process group: it is a session leader */
    if (cg_pids(&v->cg, h->id, &pids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            kill(pids[i], sig);
        free(pids);
    }
}

static bool all_gone(const struct proc_vim *v, const struct vi_handle *h)
{
    pid_t *pids;
    size_t n = 0;

    if (main_alive(h))
        return false;
    if (cg_pids(&v->cg, h->id, &pids, &n) == 0)
        free(pids);
    return n == 0;
}

/* Waits until every process of the VI has ended, or the deadline. The main
 * process is waited for on its pidfd; the rest by looking at the cgroup. */
static bool wait_gone(const struct proc_vim *v, const struct vi_handle *h, uint64_t deadline)
{
    int fd = main_alive(h) ? pidfd_open(h->pid, 0) : -1;

    for (;;) {
        uint64_t now = mono_ms();

        if (all_gone(v, h))
            break;
        if (now >= deadline)
            break;
        if (fd >= 0 && main_alive(h)) {
            struct pollfd p = {fd, POLLIN, 0};

            poll(&p, 1, (int)(deadline - now));
        } else {
            usleep(5000); /* stragglers of the group: nothing to wait on but the cgroup */
        }
    }
    if (fd >= 0)
        close(fd);
    return all_gone(v, h);
}

static int proc_stop(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err)
{
    struct proc_vim *v = data;

    if (!all_gone(v, h)) {
        if (grace_ms > 0) {
            signal_all(v, h, SIGTERM);
            wait_gone(v, h, mono_ms() + grace_ms);
        }
        for (uint64_t deadline = mono_ms() + KILL_WAIT_MS; !all_gone(v, h);) {
            signal_all(v, h, SIGKILL);
            if (wait_gone(v, h, mono_ms() + 50) || mono_ms() > deadline)
                break;
        }
    }
    if (!all_gone(v, h))
        return proc_fail(err, -EBUSY, "VI %s: processes survive SIGKILL", h->id);
    /* reaped (when it is our child) before the stop counts as done */
    reaper_status(h->pid, h->pid_start, mono_ms() + KILL_WAIT_MS);
    reaper_forget(h->pid, h->pid_start);
    return 0;
}

static int proc_destroy(void *data, const struct vi_handle *h, struct vim_err *err)
{
    struct proc_vim *v = data;
    char ns[96], name[16];
    int r = proc_stop(data, h, 0, err);

    if (r)
        return r;
    proc_ns_name(v, h->id, ns, sizeof(ns));
    r = netns_delete(ns);
    if (r)
        return proc_fail(err, r, "VI %s: delete network namespace %s", h->id, ns);
    for (unsigned k = 0; k < VIM_MAX_NICS; k++) {
        int idx;

        proc_host_if(h->id, k, name, sizeof(name));
        idx = nl_ifindex(name);
        if (idx > 0 && (r = nl_link_del(idx)) && r != -ENODEV)
            return proc_fail(err, r, "VI %s: delete interface %s", h->id, name);
    }
    for (uint64_t deadline = mono_ms() + KILL_WAIT_MS;;) {
        r = cg_destroy(&v->cg, h->id);
        if (r != -EBUSY || mono_ms() > deadline)
            break;
        usleep(10000); /* the kernel frees a cgroup a moment after its last task */
    }
    return r ? proc_fail(err, r, "VI %s: remove cgroup", h->id) : 0;
}

/* ---- state ---- */

static bool resources_exist(const struct proc_vim *v, const char *vi)
{
    char ns[96];
    int fd;

    proc_ns_name(v, vi, ns, sizeof(ns));
    fd = netns_open(ns);
    if (fd >= 0)
        close(fd);
    return fd >= 0 || cg_exists(&v->cg, vi);
}

static int proc_status(void *data, const struct vi_handle *h, struct vi_status *st,
                       struct vim_err *err)
{
    struct proc_vim *v = data;
    bool exist;

    (void)err;
    st->exit_status = -1;
    if (main_alive(h)) {
        st->state = VI_RUNNING;
        return 0;
    }
    if (h->pid > 0)
        st->exit_status = reaper_status(h->pid, h->pid_start, 0);
    exist = resources_exist(v, h->id);
    if (!exist)
        st->state = VI_ABSENT;
    else
        st->state = h->pid > 0 ? VI_EXITED : VI_CREATED;
    return 0;
}

static int proc_exit_fd(void *data, const struct vi_handle *h)
{
    struct pstat ps;
    int fd;

    (void)data;
    if (h->pid <= 0)
        return -ESRCH;
    fd = pidfd_open(h->pid, 0);
    if (fd < 0)
        return -errno;
    /* the pid could have been reused before we opened it */
    if (proc_stat(h->pid, &ps) || ps.start != h->pid_start) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

static void add_id(char ***ids, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*ids)[i], id) == 0)
            return;
    *ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
    (*ids)[(*n)++] = xstrdup(id);
}

static unsigned proc_warm(void *data, unsigned *target)
{
    struct proc_vim *v = data;

    return slots_ready(v->slots, target);
}

/* Warm slots are not VIs: the orphan sweep must leave them alone. */
static bool is_slot(const char *id)
{
    return strncmp(id, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0;
}

static int proc_list(void *data, char ***ids, size_t *n, struct vim_err *err)
{
    struct proc_vim *v = data;
    char prefix[64], **cgs;
    size_t n_cg;
    struct dirent *e;
    DIR *d;
    int r;

    r = cg_list(&v->cg, &cgs, &n_cg);
    if (r)
        return proc_fail(err, r, "list cgroups");
    *ids = NULL;
    *n = 0;
    for (size_t i = 0; i < n_cg; i++)
        if (!is_slot(cgs[i]))
            add_id(ids, n, cgs[i]);
    vim_ids_free(cgs, n_cg);
    snprintf(prefix, sizeof(prefix), "vnfm-%s-", v->tag);
    d = opendir(NETNS_DIR);
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && !is_slot(e->d_name + strlen(prefix)))
            add_id(ids, n, e->d_name + strlen(prefix));
    closedir(d);
    return 0;
}

/* ---- health ---- */

static bool has_caps(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct cap[2];

    if (syscall(SYS_capget, &hdr, cap) < 0)
        return false;
    return (cap[0].effective & (1u << CAP_NET_ADMIN)) && (cap[0].effective & (1u << CAP_SYS_ADMIN));
}

static enum vim_health proc_check(void *data, struct vim_err *err)
{
    struct proc_vim *v = data;
    int up;

    if (!has_caps()) {
        snprintf(err->msg, sizeof(err->msg), "vnfmd lacks CAP_NET_ADMIN and CAP_SYS_ADMIN");
        return VIM_NO_CREDENTIALS;
    }
    up = nl_link_is_up(v->bridge);
    if (up <= 0) {
        snprintf(err->msg, sizeof(err->msg), "site bridge %s is %s", v->bridge,
                 up == 0 ? "down" : "missing");
        return VIM_UNREACHABLE;
    }
    if (!cg_usable(&v->cg, err->msg, sizeof(err->msg)))
        return VIM_UNREACHABLE;
    return VIM_OK;
}

/* ---- creation ---- */

/* Runs inside the VI's namespace: loopback, addresses, default route. */
static int configure_inside(void *arg)
{
    const struct vi_spec *spec = arg;
    int lo = nl_ifindex("lo"), r;
    uint8_t mac[6];

    r = lo > 0 ? nl_link_set(lo, true, 0) : lo;
    for (unsigned k = 0; r == 0 && k < spec->n_nics; k++) {
        const struct vi_nic *nic = &spec->nics[k];
        int idx = nl_ifindex(nic->ifname);

        r = idx < 0 ? idx : nic->addr ? nl_addr_add(idx, nic->addr, nic->prefix_len) : 0;
        if (r == 0)
            r = nl_link_set(idx, true, 0);
        if (r == 0 && nic->gateway)
            r = nl_route_default(nic->gateway);
        if (r == 0 && nic->gateway) /* the bridge's, for good (proc_bridge.c) */
            r = nl_neigh_set(idx, nic->gateway, proc_mac(nic->gateway, mac));
    }
    return r;
}

/* A veth per interface, the host end plugged into its bridge and up. */
static int plug_nics(struct proc_vim *v, const struct vi_spec *spec, int ns_fd, struct vim_err *err)
{
    char host[16];
    uint8_t mac[6];
    int r;

    for (unsigned k = 0; k < spec->n_nics; k++) {
        const struct vi_nic *nic = &spec->nics[k];
        int idx, br = nl_ifindex(nic->bridge);

        proc_host_if(spec->id, k, host, sizeof(host));
        if (br < 0)
            return proc_fail(err, br, "%s: bridge %s", spec->name, nic->bridge);
        idx = nl_ifindex(host);
        if (idx > 0)
            nl_link_del(idx); /* half made by an earlier attempt: make it again */
        r = nl_veth_add(host, nic->ifname, ns_fd, proc_mac(nic->addr, mac));
        if (r)
            return proc_fail(err, r, "%s: create veth %s", spec->name, host);
        idx = nl_ifindex(host);
        if (idx < 0)
            r = idx;
        else if (strcmp(nic->bridge, v->bridge) == 0)
            r = bridge_plug(v, idx, true); /* or a leaf of it */
        else
            r = nl_link_set(idx, true, br);
        if (r)
            return proc_fail(err, r, "%s: plug %s into %s", spec->name, host, nic->bridge);
        /* The host need not ARP (and wait out a retransmit when its first
         * request left before the VI's interface was up). */
        if (nic->addr)
            nl_neigh_set(br, nic->addr, mac);
    }
    return 0;
}

/* The VI's network: namespace, interfaces, addresses. */
static int create_net(struct proc_vim *v, const struct vi_spec *spec, struct vim_err *err)
{
    char ns[96];
    int r, fd;

    proc_ns_name(v, spec->id, ns, sizeof(ns));
    r = netns_create(ns);
    if (r)
        return proc_fail(err, r, "%s: network namespace %s", spec->name, ns);
    fd = netns_open(ns);
    if (fd < 0)
        return proc_fail(err, fd, "%s: network namespace %s", spec->name, ns);
    r = plug_nics(v, spec, fd, err);
    if (r == 0) {
        r = netns_run(fd, configure_inside, (void *)spec);
        if (r)
            proc_fail(err, r, "%s: configure interfaces in %s", spec->name, ns);
    }
    close(fd);
    return r;
}

struct cg_task {
    struct proc_vim *v;
    const struct vi_spec *spec;
    int r;
};

static void *cg_thread(void *arg)
{
    struct cg_task *t = arg;

    t->r = cg_create(&t->v->cg, t->spec->id, t->spec->vcpu_milli, t->spec->memory_bytes);
    return NULL;
}

/* Whether anything of the VI exists already: its namespace, cgroups or
 * host interface. */
static bool vi_leftovers(const struct proc_vim *v, const struct vi_spec *spec)
{
    char host[16];

    proc_host_if(spec->id, 0, host, sizeof(host));
    return resources_exist(v, spec->id) || nl_ifindex(host) > 0;
}

/* The cgroups are made on a thread of their own while the network is set
 * up: the two do not depend on each other, and the kernel takes a while
 * over each (a VI deployment is on the critical path of every deploy). */
static int proc_create(void *data, const struct vi_spec *spec, struct vim_err *err)
{
    struct proc_vim *v = data;
    struct cg_task cg = {v, spec, 0};
    struct beside b;
    int r;

    /* a VI that exists in part (a retry, a restart) is made from scratch,
     * which takes what is there; a slot would collide with it */
    if (!vi_leftovers(v, spec) && slots_claim(v->slots, spec) == 0)
        return 0;
    beside_start(&b, cg_thread, &cg);
    r = create_net(v, spec, err);
    beside_join(&b);
    if (r == 0 && cg.r)
        r = proc_fail(err, cg.r, "%s: cgroup", spec->name);
    return r;
}

static int proc_resize(void *data, const struct vi_handle *h, unsigned vcpu_milli,
                       uint64_t memory_bytes, struct vim_err *err)
{
    struct proc_vim *v = data;
    int r = cg_set_limits(&v->cg, h->id, vcpu_milli, memory_bytes);

    return r ? proc_fail(err, r, "VI %s: set limits", h->id) : 0;
}

static int proc_stats(void *data, const struct vi_handle *h, struct vi_stats *out,
                      struct vim_err *err)
{
    struct proc_vim *v = data;
    pid_t *pids;
    size_t n = 0;
    int r = cg_usage(&v->cg, h->id, &out->cpu_usage_ns, &out->memory_bytes, &out->memory_limit);

    if (r)
        return proc_fail(err, r, "VI %s: read usage", h->id);
    if (cg_pids(&v->cg, h->id, &pids, &n) == 0)
        free(pids);
    out->nprocs = (unsigned)n;
    return 0;
}

/* The driver's options of a site: warm_vis (proc_slots.c) and nothing else. */
static int parse_options(const char *site, const json_t *options, unsigned *warm,
                         struct vim_err *err)
{
    const char *key;
    json_t *val;

    *warm = 0;
    json_object_foreach((json_t *)options, key, val)
    {
        if (strcmp(key, "warm_vis") != 0)
            return proc_fail(err, -EINVAL, "proc VIM of site %s: unknown option '%s'", site, key);
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) > PROC_WARM_MAX)
            return proc_fail(err, -EINVAL, "proc VIM of site %s: warm_vis must be 0 to %d", site,
                             PROC_WARM_MAX);
        *warm = (unsigned)json_integer_value(val);
    }
    return 0;
}

static int proc_configure(void *data, const json_t *options, struct vim_err *err)
{
    struct proc_vim *v = data;
    unsigned warm;
    int r = parse_options(v->site, options, &warm, err);

    if (r == 0)
        slots_set_target(v->slots, warm);
    return r;
}

static int proc_open(const struct vim_site *site, void **data, struct vim_err *err)
{
    struct proc_vim *v;
    unsigned warm;
    int r;

    r = parse_options(site->name, site->options, &warm, err);
    if (r)
        return r;
    if (!has_caps())
        return proc_fail(err, -EPERM, "proc VIM of site %s needs CAP_NET_ADMIN and CAP_SYS_ADMIN",
                         site->name);
    v = xcalloc(1, sizeof(*v));
    snprintf(v->site, sizeof(v->site), "%s", site->name);
    snprintf(v->tag, sizeof(v->tag), "%s", site->tag);
    snprintf(v->bridge, sizeof(v->bridge), "%s", site->bridge);
    v->gateway = site->gateway;
    v->prefix_len = site->prefix_len;
    pthread_mutex_init(&v->plug_mu, NULL);
    r = instance_lock(v->tag);
    if (r) {
        proc_fail(err, r, "another manager with instance tag %s runs (/run/vnfm/%s.lock)", v->tag,
                  v->tag);
        goto out_free;
    }
    r = bridge_open(v, err);
    if (r)
        goto out_lock;
    r = cg_init(&v->cg, v->tag);
    if (r) {
        proc_fail(err, r, "cgroups for site %s", site->name);
        goto out_bridge;
    }
    r = reaper_open();
    if (r) {
        proc_fail(err, r, "site %s: the thread that reaps VNF processes", site->name);
        goto out_cgroups;
    }
    v->slots = slots_start(v, warm);
    *data = v;
    return 0;
out_cgroups:
    cg_release(&v->cg);
out_bridge:
    bridge_close(v);
out_lock:
    instance_unlock(v->tag);
out_free:
    pthread_mutex_destroy(&v->plug_mu);
    free(v);
    return r;
}

/* A stopping manager leaves its VIs running; what nothing uses goes: its
 * warm slots, its own cgroup directories when no VI is left in them, and
 * the site's bridge when no VI is plugged into it. */
static void proc_close(void *data)
{
    struct proc_vim *v = data;

    slots_stop(v->slots);
    reaper_close();
    cg_release(&v->cg);
    bridge_close(v);
    instance_unlock(v->tag);
    pthread_mutex_destroy(&v->plug_mu);
    free(v);
}

const struct vim_ops vim_proc_ops = {
    .name = "proc",
    .open = proc_open,
    .configure = proc_configure,
    .close = proc_close,
    .check = proc_check,
    .create = proc_create,
    .start = proc_start,
    .stop = proc_stop,
    .destroy = proc_destroy,
    .resize = proc_resize,
    .stats = proc_stats,
    .status = proc_status,
    .exit_fd = proc_exit_fd,
    .list = proc_list,
    .cleanup = proc_cleanup,
    .warm = proc_warm,
};
