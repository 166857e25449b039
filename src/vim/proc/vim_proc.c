/* The proc VIM driver (F7, F11): each VI is a process group started from the
 * VNFD's command, in a network namespace of its own that a veth pair joins
 * to the site's bridge, with CPU, memory and pids limits in its own cgroup
 * and a directory of its own with its day-0 files. VNF processes outlive
 * the manager: they are session leaders, and the manager finds them again
 * by pid and start time (docs/VIM_PROC.md). This file has the driver's
 * table and the life of a VI; proc_spawn.c starts its process. */
#include "util/beside.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/sandbox.h"
#include "util/timeutil.h"
#include "util/cgroup.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"
#include "vim/vim.h"

#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KILL_WAIT_MS 2000
#define WARM_MAX     64 /* the most warm VIs a site keeps */

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

/* ---- references: {"ip": "10.77.0.2", "pid": 1234, "start": 56789, "uid": 1879048200} ----
 * (a reference of a manager before the sandbox has no uid: its VNF, started
 * as root, is taken for what it is until its next start) */

void pref_of(const struct vi_handle *h, struct pref *p)
{
    const json_t *pid = json_object_get(h->ref, "pid"), *start = json_object_get(h->ref, "start");

    memset(p, 0, sizeof(*p));
    p->vi = h->id;
    p->pid = (pid_t)json_integer_value(pid);
    p->start = (uint64_t)json_integer_value(start);
    p->uid = (uid_t)json_integer_value(json_object_get(h->ref, "uid"));
    if (ip4_parse(json_string_value(json_object_get(h->ref, "ip")) ?: "", &p->addr))
        p->addr = 0;
}

json_t *pref_json(const struct pref *p)
{
    char ip[IP4_STR_MAX];
    json_t *ref = json_object();

    if (p->addr)
        json_object_set_new(ref, "ip", json_string(ip4_fmt(p->addr, ip)));
    if (p->pid > 0) {
        json_object_set_new(ref, "pid", json_integer(p->pid));
        json_object_set_new(ref, "start", json_integer((json_int_t)p->start));
        if (p->uid)
            json_object_set_new(ref, "uid", json_integer(p->uid));
    }
    return ref;
}

/* ---- stopping ---- */

static void signal_all(const struct proc_vim *v, const struct pref *p, int sig)
{
    pid_t *pids;
    size_t n;

    if (proc_main_alive(p))
        kill(-p->pid, sig); /* its process group: it is a session leader */
    if (cg_pids(&v->cg, p->vi, &pids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            kill(pids[i], sig);
        free(pids);
    }
}

static bool all_gone(const struct proc_vim *v, const struct pref *p)
{
    pid_t *pids;
    size_t n = 0;

    if (proc_main_alive(p))
        return false;
    if (cg_pids(&v->cg, p->vi, &pids, &n) == 0)
        free(pids);
    return n == 0;
}

/* Waits until every process of the VI has ended, or the deadline. The main
 * process is waited for on its pidfd; the rest by looking at the cgroup. */
static bool wait_gone(const struct proc_vim *v, const struct pref *p, uint64_t deadline)
{
    int fd = proc_main_alive(p) ? pidfd_open(p->pid, 0) : -1;

    for (;;) {
        uint64_t now = mono_ms();

        if (all_gone(v, p) || now >= deadline)
            break;
        if (fd >= 0 && proc_main_alive(p)) {
            struct pollfd pfd = {fd, POLLIN, 0};

            poll(&pfd, 1, (int)(deadline - now));
        } else {
            usleep(5000); /* stragglers of the group: nothing to wait on but the cgroup */
        }
    }
    if (fd >= 0)
        close(fd);
    return all_gone(v, p);
}

static int stop_pref(struct proc_vim *v, const struct pref *p, unsigned grace_ms,
                     struct vim_err *err)
{
    if (!all_gone(v, p)) {
        if (grace_ms > 0) {
            signal_all(v, p, SIGTERM);
            wait_gone(v, p, mono_ms() + grace_ms);
        }
        for (uint64_t deadline = mono_ms() + KILL_WAIT_MS; !all_gone(v, p);) {
            signal_all(v, p, SIGKILL);
            if (wait_gone(v, p, mono_ms() + 50) || mono_ms() > deadline)
                break;
        }
    }
    if (!all_gone(v, p))
        return proc_fail(err, -EBUSY, "VI %s: processes survive SIGKILL", p->vi);
    /* reaped (when it is our child) before the stop counts as done */
    reaper_status(p->pid, p->start, mono_ms() + KILL_WAIT_MS);
    reaper_forget(p->pid, p->start);
    return 0;
}

static int proc_stop(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err)
{
    struct pref p;

    pref_of(h, &p);
    return stop_pref(data, &p, grace_ms, err);
}

static int proc_destroy(void *data, const struct vi_handle *h, struct vim_err *err)
{
    struct proc_vim *v = data;
    char ns[96], name[16];
    struct pref p;
    int r, br;

    pref_of(h, &p);
    r = stop_pref(v, &p, 0, err);
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
    if (p.addr && (br = nl_ifindex(v->bridge)) > 0)
        nl_neigh_del(br, p.addr); /* its entry on the host, permanent (proc_bridge.c) */
    for (uint64_t deadline = mono_ms() + KILL_WAIT_MS;;) {
        r = cg_destroy(&v->cg, h->id);
        if (r != -EBUSY || mono_ms() > deadline)
            break;
        usleep(10000); /* the kernel frees a cgroup a moment after its last task */
    }
    if (r)
        return proc_fail(err, r, "VI %s: remove cgroup", h->id);
    r = vi_dir_remove(v, h->id);
    return r ? proc_fail(err, r, "VI %s: remove its directory", h->id) : 0;
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
    struct pref p;

    (void)err;
    pref_of(h, &p);
    st->exit_status = -1;
    if (proc_main_alive(&p)) {
        st->state = VI_RUNNING;
        return 0;
    }
    if (p.pid > 0)
        st->exit_status = reaper_status(p.pid, p.start, 0);
    if (!resources_exist(v, h->id))
        st->state = VI_ABSENT;
    else
        st->state = p.pid > 0 ? VI_EXITED : VI_CREATED;
    return 0;
}

static void add_id(char ***ids, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*ids)[i], id) == 0)
            return;
    *ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
    (*ids)[(*n)++] = xstrdup(id);
}

/* Warm slots are not VIs, and managers not orphans: the orphan sweep must
 * leave them alone. */
static bool is_slot(const char *id)
{
    return strncmp(id, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0;
}

static bool is_manager(const char *id)
{
    return strncmp(id, VIM_MANAGER_PREFIX, strlen(VIM_MANAGER_PREFIX)) == 0;
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
        if (!is_slot(cgs[i]) && !is_manager(cgs[i]))
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

/* The manager VIs of this manager instance (vim.h "Manager VIs"), which
 * are in no deployment: each with its processes and memory in use. */
static json_t *manager_vis(const struct proc_vim *v)
{
    json_t *out = json_array();
    char **ids;
    size_t n;

    if (cg_list(&v->cg, &ids, &n))
        return out;
    for (size_t i = 0; i < n; i++) {
        uint64_t cpu_ns = 0, mem = 0, limit = 0;
        pid_t *pids = NULL;
        size_t n_pids = 0;

        if (!is_manager(ids[i]))
            continue;
        cg_pids(&v->cg, ids[i], &pids, &n_pids);
        free(pids);
        cg_usage(&v->cg, ids[i], &cpu_ns, &mem, &limit);
        json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:I}", "id", ids[i], "processes",
                                             (json_int_t)n_pids, "cpu_ns", (json_int_t)cpu_ns,
                                             "memory_bytes", (json_int_t)mem));
    }
    vim_ids_free(ids, n);
    return out;
}

static void proc_view(void *data, json_t *view)
{
    struct proc_vim *v = data;
    unsigned target, ready = slots_ready(v->slots, &target);
    json_t *managers = manager_vis(v);

    if (target)
        json_object_set_new(view, "warm_vis",
                            json_pack("{s:i, s:i}", "target", target, "ready", ready));
    if (json_array_size(managers))
        json_object_set(view, "manager_vis", managers);
    json_decref(managers);
}

static void proc_day0_dir(void *data, const char *vi, char *buf, size_t len)
{
    char *dir = vi_dir_path(data, vi);

    snprintf(buf, len, "%s", dir);
    free(dir);
}

static void proc_console(void *data, const struct vi_handle *h, char *buf, size_t len)
{
    vi_console_tail(data, h->id, buf, len);
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
    if (r == 0)
        r = netns_unprivileged();
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

struct files_task {
    struct proc_vim *v;
    const struct vi_spec *spec;
    struct vim_err err;
    int r;
};

static void *files_thread(void *arg)
{
    struct files_task *t = arg;
    int fd = vi_dir_open(t->v, t->spec->id);

    if (fd < 0) {
        t->r = proc_fail(&t->err, fd, "%s: its directory", t->spec->name);
        return NULL;
    }
    t->r = vi_dir_give(t->v, fd, t->spec->id, t->spec->uid);
    if (t->r)
        proc_fail(&t->err, t->r, "%s: its directory", t->spec->name);
    else
        t->r = vi_files_write(fd, t->spec->files, t->spec->uid, t->spec->name, &t->err);
    close(fd);
    return NULL;
}

/* The VI's directory with its day-0 files, and its cgroups, are made on
 * threads of their own while the network is set up: none depends on the
 * others, and the kernel takes a while over each (a VI deployment is on
 * the critical path of every deploy). */
/* A manager VI (vim.h "Manager VIs"): its cgroups, nothing else; what a
 * start that died with the manager left in them is ended first. */
static int manager_create(struct proc_vim *v, const struct vi_spec *spec, struct vim_err *err)
{
    int r;

    if (!is_manager(spec->id))
        return proc_fail(err, -EINVAL, "%s: a manager VI's id starts with %s", spec->name,
                         VIM_MANAGER_PREFIX);
    if ((r = stop_pref(v, &(struct pref){.vi = spec->id}, 0, err)))
        return r;
    r = cg_create(&v->cg, spec->id, spec->vcpu_milli, spec->memory_bytes);
    return r ? proc_fail(err, r, "%s: cgroup", spec->name) : 0;
}

static int proc_create(void *data, const struct vi_spec *spec, struct vi_out *out,
                       struct vim_err *err)
{
    struct proc_vim *v = data;
    struct files_task files = {v, spec, {""}, 0};
    struct cg_task cg = {v, spec, 0};
    struct pref p = {.vi = spec->id, .addr = spec->n_nics ? spec->nics[0].addr : 0};
    struct beside bf, bc;
    int r;

    if (spec->manager)
        return manager_create(v, spec, err);
    if (v->managers_only)
        return proc_fail(err, -EOPNOTSUPP, "%s: this process VIM runs managers only", spec->name);
    beside_start(&bf, files_thread, &files);
    /* a VI that exists in part (a retry, a restart) is made from scratch,
     * which takes what is there but a process: a start that began before a
     * crash (its journal lost) may have left one in it, and the start that
     * follows must be the only one; a slot would collide with it */
    if (!vi_leftovers(v, spec) && slots_claim(v->slots, spec) == 0) {
        r = 0;
    } else if ((r = stop_pref(v, &(struct pref){.vi = spec->id}, 0, err)) == 0) {
        beside_start(&bc, cg_thread, &cg);
        r = create_net(v, spec, err);
        beside_join(&bc);
        if (r == 0 && cg.r)
            r = proc_fail(err, cg.r, "%s: cgroup", spec->name);
    }
    beside_join(&bf);
    if (r == 0 && files.r) {
        snprintf(err->msg, sizeof(err->msg), "%s", files.err.msg);
        r = files.r;
    }
    if (r == 0)
        out->ref = pref_json(&p);
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

#define DISK_ENTRIES_MAX 2000 /* a VI's files walked for its disk use; beyond, a floor */

static int proc_disk(void *data, const struct vi_handle *h, uint64_t *bytes, struct vim_err *err)
{
    char *path = vi_dir_path(data, h->id);
    int r = du_tree(path, DISK_ENTRIES_MAX, bytes);

    free(path);
    return r && r != -E2BIG ? proc_fail(err, r, "VI %s: disk use", h->id) : 0;
}

/* ---- the site ---- */

static const struct jv_field site_options[] = {
    {.name = "warm_vis", .type = JV_INT, .min = 0, .max = WARM_MAX}, /* proc_slots.c */
    {.name = NULL},
};

static const struct jv_field any_string = {.type = JV_STRING, .max = 65536};
static const struct jv_field cap_name = {.type = JV_STRING, .choices = sandbox_cap_names};
const struct jv_field vim_proc_vdu_fields[] = {
    {.name = "command",
     .type = JV_ARRAY,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 128,
     .item = &any_string},
    {.name = "env", .type = JV_MAP, .item = &any_string},
    /* kept by its processes; only from a VNFD an admin on-boarded (vi_spec) */
    {.name = "capabilities", .type = JV_ARRAY, .max = 64, .item = &cap_name},
    {.name = NULL},
};

/* The warm VIs a site keeps (its options are valid: site_options). */
static unsigned warm_vis(const json_t *options)
{
    return (unsigned)jv_int(options, "warm_vis", 0);
}

static int proc_configure(void *data, const json_t *options, struct vim_err *err)
{
    struct proc_vim *v = data;

    (void)err;
    slots_set_target(v->slots, warm_vis(options));
    return 0;
}

/* The base of the VNFs' mount namespaces (util/sandbox.h): the host
 * read-only, the data dir and /run/netns emptied, made once, so that a VNF's
 * start copies a few mounts instead of preparing the host's many, one per
 * VI. Without it each start does that work itself: slower, as safe. */
static void make_sandbox_base(struct proc_vim *v)
{
    const char *hidden[] = {v->data_dir, NETNS_DIR, NULL}, *step;

    v->sandbox_base = sandbox_base_new(hidden, &step);
    if (!v->sandbox_base)
        log_warn("proc VIM of site %s: no base for the VNFs' mount namespaces (%s: %s)", v->site,
                 step, strerror(errno));
}

static void proc_free_paths(struct proc_vim *v)
{
    free(v->data_dir);
    free(v->cmd_path);
    for (int i = 0; i < SANDBOX_MAX_PATHS && v->program_dirs[i]; i++)
        free((char *)v->program_dirs[i]);
}

static int proc_open(const struct vim_site *site, void **data, struct vim_err *err)
{
    struct proc_vim *v;
    int r;

    if (!has_caps())
        return proc_fail(err, -EPERM, "proc VIM of site %s needs CAP_NET_ADMIN and CAP_SYS_ADMIN",
                         site->name);
    v = xcalloc(1, sizeof(*v));
    snprintf(v->site, sizeof(v->site), "%s", site->name);
    snprintf(v->tag, sizeof(v->tag), "%s", site->tag);
    snprintf(v->bridge, sizeof(v->bridge), "%s", site->bridge);
    v->data_dir = xstrdup(site->data_dir);
    v->cmd_path = xstrdup(site->cmd_path ? site->cmd_path : "");
    sandbox_dirs_add(v->program_dirs, 0, SANDBOX_MAX_PATHS, v->cmd_path);
    v->gateway = site->gateway;
    v->prefix_len = site->prefix_len;
    pthread_mutex_init(&v->plug_mu, NULL);
    r = instance_lock(v->tag);
    if (r) {
        proc_fail(err, r, "another manager with instance tag %s runs (/run/vnfm/%s.lock)", v->tag,
                  v->tag);
        goto out_free;
    }
    v->managers_only = !site->bridge || !*site->bridge;
    r = v->managers_only ? 0 : bridge_open(v, err);
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
    if (!v->managers_only)
        make_sandbox_base(v);
    v->slots = slots_start(v, v->managers_only ? 0 : warm_vis(site->options));
    *data = v;
    return 0;
out_cgroups:
    cg_release(&v->cg);
out_bridge:
    if (!v->managers_only)
        bridge_close(v);
out_lock:
    instance_unlock(v->tag);
out_free:
    pthread_mutex_destroy(&v->plug_mu);
    proc_free_paths(v);
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
    if (!v->managers_only)
        bridge_close(v);
    instance_unlock(v->tag);
    pthread_mutex_destroy(&v->plug_mu);
    sandbox_base_free(v->sandbox_base);
    proc_free_paths(v);
    free(v);
}

const struct vim_ops vim_proc_ops = {
    .name = "proc",
    .summary = "each VI a process group in a network namespace and cgroups of its own, on this "
               "host (needs root)",
    .addressing = VIM_ADDR_SITE,
    .site_options = site_options,
    .vdu_fields = vim_proc_vdu_fields,
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
    .disk = proc_disk,
    .status = proc_status,
    .exit_fd = proc_exit_fd,
    .day0_dir = proc_day0_dir,
    .console = proc_console,
    .list = proc_list,
    .view = proc_view,
    .cleanup = proc_cleanup,
    .move = proc_move,
    .claim = proc_claim,
};
