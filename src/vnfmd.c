/* vnfmd: the VNF manager daemon. See config.c (--help) and README.md. */
#include "rest/api.h"
#include "rest/callback.h"
#include "rest/router.h"
#include "netconf/netconf.h"
#include "core/auth.h"
#include "core/bus.h"
#include "core/cluster.h"
#include "core/owners.h"
#include "core/wake.h"
#include "core/components.h"
#include "core/config.h"
#include "core/core.h"
#include "core/health.h"
#include "core/runas.h"
#include "core/service.h"
#include "sol003/lccn.h"
#include "core/outbox.h"
#include "sol003/sol_http.h"
#include "fed/fed.h"
#include "fed/standby.h"
#include "vim/agent/agent.h"
#include "sol003/pkgm.h"
#include "catalog/svc_package.h"
#include "lcm/lifecycle.h"
#include "lcm/recovery.h"
#include "lcm/schedule.h"
#include "lcm/sites.h"
#include "catalog/svc_catalog.h"
#include "core/txq.h"
#include "core/version.h"
#include "core/wpool.h"
#include "ha/ha.h"
#include "ui/ui.h"
#include "monitor/monitor.h"
#include "policy/executor.h"
#include "util/etcd.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/jsonv.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "vim/vim.h"
#include "vim/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUS_RING     4096
#define CONF_WORKERS 4
/* The utilization bounds of the loop's pools (components.h) */
static const struct wpool_sizer POOL_SIZER = {.low = 0.3, .high = 0.8};
#define LOOP_STALE_MS 5000 /* a heartbeat older than this: the loop is not running (5010) */
#define FENCE_WAIT_MS 5000 /* a new primary waits this long for its copy of the store */
#define EXIT_NO_STORE 69   /* the store cannot be reached (EX_UNAVAILABLE) */
#define REJOIN_ENV    "VNFM_HA_REJOIN" /* set when a manager that stepped down starts again */

void lc_free_runs(struct core *c);

/* A worker pool as a service: it runs unless stuck past the watchdog. */
struct pool_svc {
    struct wpool *pool;
    uint64_t watchdog_ms;
};

struct daemon {
    struct core core;
    struct config cfg;
    struct netconf *netconf; /* NULL unless --netconf */
    struct pool_svc prov_svc, conf_svc;
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    struct router *http;
    bool running; /* start_front() succeeded: its handles exist */
    int lock_fd;
    unsigned ticks;
    /* a cluster on a shared store (docs/HA.md) */
    bool shared;          /* --store etcd://... */
    bool primary;         /* the primary's parts run (always, alone on SQLite) */
    bool rejoining;       /* started again after stepping down: waits for the store */
    bool rejoin;          /* stepped down: start again as a standby once stopped */
    bool no_store;        /* the store could not be reached at start */
    bool stopped_waiting; /* SIGTERM or SIGINT while it waited for the store */
    struct ha *ha;        /* leader election */
    struct wake ha_wake;  /* its orders, and a commit the store refused (lost) */
    bool ha_wake_init;
    atomic_bool lost;
};

/* Whether the manager of dir moved to the cloud (fed/relocate.c): its VIM
 * agent runs here now, and a manager started on the dir would run its VIs
 * twice. */
static bool moved_away(const char *dir)
{
    char *path = xasprintf("%s/moved.json", dir), *text = NULL;
    bool moved = read_file(path, 1 << 16, &text, NULL) == 0;

    if (moved)
        log_error("the manager of %s moved to the cloud (%s): this host runs its VIM agent; "
                  "remove %s to start a manager on the dir again",
                  dir, text, path);
    free(text);
    free(path);
    return moved;
}

/* The data dir, made absolute, and locked so that two managers never share it. */
static int prepare_data_dir(struct config *cfg, int *lock_fd)
{
    char real[PATH_MAX], *lock;
    int r = mkdir_p(cfg->data_dir, 0750);

    if (r || !realpath(cfg->data_dir, real)) {
        log_error("cannot use --data-dir %s: %s", cfg->data_dir, strerror(r ? -r : errno));
        return -1;
    }
    free(cfg->data_dir);
    cfg->data_dir = xstrdup(real);
    if (moved_away(real))
        return -1;
    lock = xasprintf("%s/vnfmd.lock", real);
    /* managers on a shared store may share the data dir (the VIs' own
     * directories, the admin token): their lease decides who acts; not
     * with a manager on SQLite, which holds the dir's lock */
    if (config_shared_store(cfg)) {
        int fd = open(lock, O_RDWR | O_CLOEXEC);
        bool taken = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0;

        if (fd >= 0)
            close(fd);
        free(lock);
        if (taken) {
            log_error("another vnfmd is using %s (its store in the dir)", real);
            return -1;
        }
        standby_record_shared(real);
        return 0;
    }
    *lock_fd = standby_inherited_lock(lock);
    if (*lock_fd >= 0) {
        free(lock);
        standby_record(real);
        return 0;
    }
    *lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock);
    if (*lock_fd < 0) {
        log_error("cannot open the lock of %s: %s", real, strerror(errno));
        return -1;
    }
    /* A manager killed a moment ago may have left a child between fork and
     * exec that still shares the lock: give it two seconds. */
    for (int i = 0; flock(*lock_fd, LOCK_EX | LOCK_NB) < 0; i++) {
        if (i == 40) {
            log_error("another vnfmd is using %s", real);
            return -1;
        }
        usleep(50000);
    }
    standby_record(real);
    return 0;
}

/* --script-dir, made absolute: only root may change what is in it, and it
 * holds none of the VIs' directories (what a VNF writes never runs with
 * the manager's rights). */
static int check_script_dir(struct config *cfg)
{
    char real[PATH_MAX], *vis;
    struct stat st;
    size_t n;
    int r = -1;

    if (!cfg->script_dir)
        return 0;
    if (!realpath(cfg->script_dir, real) || stat(real, &st) < 0) {
        log_error("cannot use --script-dir %s: %s", cfg->script_dir, strerror(errno));
        return -1;
    }
    vis = xasprintf("%s/vi", cfg->data_dir);
    n = strlen(real);
    if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
        log_error("--script-dir %s must be a directory of root's that only root may write", real);
    else if (strncmp(vis, real, n) == 0 && (vis[n] == '/' || vis[n] == '\0'))
        log_error("--script-dir %s must not hold the VIs' directories (%s)", real, vis);
    else if (strncmp(real, vis, strlen(vis)) == 0 && real[strlen(vis)] == '/')
        log_error("--script-dir %s must not be in a VI's directory", real);
    else
        r = 0;
    free(vis);
    free(cfg->script_dir);
    cfg->script_dir = xstrdup(real);
    return r;
}

/* The instance tag; made and stored at the first start (write: only a
 * manager that may write; a standby of a new cluster has none yet). */
static int load_tag(struct core *c, bool write)
{
    char *tag = NULL;
    int r = store_meta_get(c->st, "instance_tag", &tag);

    if (r == -ENOENT && !write)
        return 0;
    if (r == -ENOENT) {
        id_random(c->tag, "", TAG_LEN);
        return store_meta_set(c->st, "instance_tag", c->tag);
    }
    if (r)
        return r;
    snprintf(c->tag, sizeof(c->tag), "%s", tag);
    free(tag);
    return 0;
}

/* Writes a new file at path, unless one is there already (-EEXIST). */
static int create_once(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.%d", path, (int)getpid());
    int r = write_file_atomic(tmp, text, strlen(text), 0600, true);

    if (r == 0 && link(tmp, path) < 0)
        r = -errno;
    unlink(tmp);
    free(tmp);
    return r;
}

/* The admin token: --admin-token, or DATA_DIR/admin.token (made once). */
static int load_admin_token(struct core *c)
{
    char *path = xasprintf("%s/admin.token", c->cfg->data_dir), *tok = NULL;
    char hash[TOKEN_HASH_LEN + 1], fresh[46];
    int r = 0;

    if (c->cfg->admin_token) {
        tok = xstrdup(c->cfg->admin_token);
    } else if (read_file(path, 4096, &tok, NULL) == 0) {
        tok[strcspn(tok, "\r\n")] = '\0';
    } else {
        token_generate(fresh);
        tok = xasprintf("%s\n", fresh);
        r = create_once(path, tok);
        if (r == -EEXIST) { /* another manager sharing the data dir made it first */
            free(tok);
            tok = NULL;
            r = read_file(path, 4096, &tok, NULL);
            if (r == 0)
                tok[strcspn(tok, "\r\n")] = '\0';
        } else {
            tok[strlen(fresh)] = '\0';
        }
        if (r)
            log_error("cannot write %s: %s", path, strerror(-r));
    }
    if (tok) {
        token_hash(tok, hash);
        c->admin_hash = xstrdup(hash);
    }
    free(tok);
    free(path);
    return r;
}

/* All managers of a cluster have one admin token: its hash is in the
 * store; a manager with another one is refused (write: record it, the
 * first time). */
static int check_admin_token(struct core *c, bool write)
{
    char *stored = NULL;
    int r = store_meta_get(c->st, "admin_token_hash", &stored);

    if (r == -ENOENT)
        return write ? store_meta_set(c->st, "admin_token_hash", c->admin_hash) : 0;
    if (r == 0 && strcmp(stored, c->admin_hash) != 0) {
        log_error("this manager's admin token is not its cluster's: give every manager of the "
                  "cluster the same --admin-token (or admin.token file)");
        r = -EACCES;
    }
    free(stored);
    return r;
}

static void on_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    struct core *c = &d->core;

    __atomic_store_n(&c->beat_ms, mono_ms(), __ATOMIC_RELAXED);
    d->ticks++;
    if (!d->primary)
        return;
    sites_tick(c);
    if (d->ticks % 5 == 0)
        sites_check_all(c);
    if (d->ticks % 15 == 0)
        bus_wake_all(c->bus);
    if (d->ticks % 60 == 0 && store_log_prune(c->st, c->cfg->log_keep) > 0)
        log_debug("event log pruned to %u records", c->cfg->log_keep);
}

/* ---- the services of health and fault injection (core/service.h) ---- */

static bool loop_alive(void *arg, uint64_t now)
{
    struct core *c = arg;

    uint64_t beat = __atomic_load_n(&c->beat_ms, __ATOMIC_RELAXED);

    /* 0: start-up has not finished (recovery, adoption), the loop is not
     * running yet and nothing answers; its first beat is the end of start() */
    return beat == 0 || ms_since(now, beat) < LOOP_STALE_MS;
}

struct stall {
    uv_timer_t timer;
    unsigned seconds;
};

static void stall_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stall_now(uv_timer_t *t)
{
    struct stall *s = t->data;

    sleep(s->seconds);
    uv_close((uv_handle_t *)t, stall_closed);
}

/* The stall begins a moment after the request that asked for it was
 * answered (an after-commit callback runs before the answer is sent: the
 * client would wait out the stall, and see the loop running again). */
static void stall_arm(struct core *c, void *arg)
{
    struct stall *s = xcalloc(1, sizeof(*s));

    s->seconds = (unsigned)(uintptr_t)arg;
    uv_timer_init(c->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, stall_now, 100, 0);
}

static void loop_stall(void *arg, unsigned seconds)
{
    core_after_commit(arg, stall_arm, (void *)(uintptr_t)seconds, NULL);
}

static bool pool_alive(void *arg, uint64_t now)
{
    struct pool_svc *p = arg;

    return wpool_alive(p->pool, now, p->watchdog_ms);
}

static void pool_stall(void *arg, unsigned seconds)
{
    wpool_stall(((struct pool_svc *)arg)->pool, seconds);
}

static bool store_alive(void *arg, uint64_t now)
{
    (void)now;
    return !cluster_store_down(arg);
}

static const struct service netconf_off = {.name = "netconf",
                                           .down_code = HEALTH_NETCONF_DOWN,
                                           .disabled = true,
                                           .fault = "netconf-thread"};

/* The services that exist from the start; the monitor and NETCONF join
 * when they run (start()). Their order is the health report's. */
static void register_services(struct daemon *d)
{
    struct core *c = &d->core;

    d->prov_svc = (struct pool_svc){c->prov, (uint64_t)d->cfg.vim_watchdog_s * 1000};
    d->conf_svc = (struct pool_svc){c->conf, (uint64_t)d->cfg.vim_watchdog_s * 1000};
    service_register(c->services, &(struct service){.name = "vnfm",
                                                    .down_code = HEALTH_VNFM_DOWN,
                                                    .alive = loop_alive,
                                                    .fault = "loop-stall",
                                                    .inject = loop_stall,
                                                    .arg = c});
    service_register(c->services, &(struct service){.name = "rest"});
    c->health = health_new(c);
    /* the provisioning pool is the VIM manager of Table 5 */
    service_register(c->services, &(struct service){.name = "vim",
                                                    .down_code = HEALTH_VIM_MANAGER_DOWN,
                                                    .alive = pool_alive,
                                                    .fault = "vim-stall",
                                                    .inject = pool_stall,
                                                    .arg = &d->prov_svc});
    service_register(c->services, &netconf_off);
    if (c->cluster) /* without its store, the manager cannot do anything */
        service_register(c->services, &(struct service){.name = "store",
                                                        .down_code = HEALTH_VNFM_DOWN,
                                                        .alive = store_alive,
                                                        .arg = c->cluster});
    /* scripts and notifications: Table 5 has no code for it, so it is shown only */
    service_register(
        c->services,
        &(struct service){.name = "configuration", .alive = pool_alive, .arg = &d->conf_svc});
}

static void stop(struct daemon *d)
{
    struct core *c = &d->core;

    if (c->stopping)
        return;
    log_info("stopping (VNFs keep running)");
    router_stop(d->http); /* no request starts any more; those waiting stay */
    fed_stop(c);
    service_unregister(c->services, "monitor");
    monitor_stop(c->monitor);
    schedule_stop(c);
    lc_shutdown(c);
    if (d->running) {
        uv_close((uv_handle_t *)&c->beat_timer, NULL);
        auth_stop(c);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
    }
    if (c->bus)
        bus_close(c->bus);
    if (d->netconf) {
        service_register(c->services, &netconf_off);
        netconf_stop(d->netconf); /* before the transactor goes: its waiters give up */
        d->netconf = NULL;
    }
    txq_free(c->txq); /* completes what waits: the requests are answered */
    c->txq = NULL;
    outbox_stop(c->outbox);
    service_unregister(c->services, "vim");
    service_unregister(c->services, "configuration");
    wpool_free(c->prov);
    /* deliveries in flight record their end; requests waiting for a worker
     * are answered */
    wpool_free(c->conf);
    outbox_free(c->outbox);
    router_free(d->http);
    d->http = NULL;
    components_free(c->components); /* after the REST threads: they read it */
    c->components = NULL;
    fed_free(c);
    lc_free_runs(c);
    lc_unwatch_all(c);
    /* last: a standby takes over once nothing of this one acts any more */
    ha_stop(d->ha);
    d->ha = NULL;
    if (d->ha_wake_init)
        wake_close(&d->ha_wake, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;

    (void)signum;
    if (d->lock_fd >= 0) /* stopped on purpose: no standby takes it over */
        standby_unrecord(d->cfg.data_dir);
    stop(d);
}

/* ---- store maintenance, off the loop (store_on_maintenance) ---- */

struct maint_job {
    struct wjob w;
    struct store *st;
    int r;
};

static void maint_work(struct wjob *w)
{
    struct maint_job *j = (struct maint_job *)w;

    j->r = store_maintain(j->st);
}

static void maint_done(struct wjob *w)
{
    struct maint_job *j = (struct maint_job *)w;

    if (j->r == -EBUSY)
        log_debug("store: maintenance waited for readers in vain; again later");
    else if (j->r && !w->cancelled)
        log_warn("store: maintenance failed (%s); again after the next commits", strerror(-j->r));
    free(j);
}

static void on_maintenance_due(void *arg)
{
    struct core *c = arg;
    struct maint_job *j;

    if (c->stopping)
        return;
    j = xcalloc(1, sizeof(*j));
    j->w.work = maint_work;
    j->w.done = maint_done;
    j->st = c->st;
    wpool_submit(c->conf, &j->w);
}

/* The store: a file of the data dir, or --store. A manager that stepped
 * down waits for a shared store that does not answer; at a first start
 * that is an error. */
static int open_store(struct daemon *d)
{
    struct core *c = &d->core;
    char *where = d->cfg.store ? xstrdup(d->cfg.store) : xasprintf("%s/vnfm.db", d->cfg.data_dir);
    struct router_waiting *waiting = NULL;
    struct timespec second = {1, 0};
    sigset_t stops;
    siginfo_t si;
    char err[512];
    int r;

    /* SIGTERM or SIGINT while it waits: a clean stop (the loop's handlers
     * do not run yet) */
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stops, NULL);
    for (unsigned tries = 0;; tries++) {
        r = store_open(where, false, &c->st, err, sizeof(err));
        if (r == 0 || !d->rejoining || (r != -ENOTCONN && r != -ETIMEDOUT))
            break;
        if (tries == 0) { /* health says 5010 meanwhile, as before it stepped down */
            waiting = router_waiting_start(&d->cfg, err);
            log_warn("store %s: %s; waiting for it", where, err);
        }
        if (sigtimedwait(&stops, &si, &second) > 0) {
            d->stopped_waiting = true;
            break;
        }
    }
    router_waiting_stop(waiting);
    if (!d->stopped_waiting && sigtimedwait(&stops, &si, &(struct timespec){0, 0}) > 0)
        d->stopped_waiting = true; /* asked to stop during the last try */
    pthread_sigmask(SIG_UNBLOCK, &stops, NULL);
    if (d->stopped_waiting) {
        log_info("stopped while waiting for the store");
        free(where);
        return -ECANCELED;
    }
    if (r) {
        log_error("cannot open the store %s: %s", where, err);
        d->no_store = r == -ENOTCONN || r == -ETIMEDOUT;
    }
    free(where);
    return r;
}

/* What every manager has, primary or standby. */
static int init_core(struct daemon *d)
{
    struct core *c = &d->core;
    int r;

    c->cfg = &d->cfg;
    c->loop = &d->loop;
    c->started_ms = wall_ms();
    c->lock_fd = d->lock_fd;
    c->beat_ms = 0; /* starting: see loop_alive */
    hmap_init(&c->runs);
    hmap_init(&c->vis);
    r = open_store(d);
    if (r)
        return r;
    if (d->shared) {
        c->cluster = cluster_new(d->cfg.ha_url);
        if (strcmp(d->cfg.role, "cloud") == 0) /* the branch sites are shared */
            c->owners = owners_new();
        store_require_fence(c->st); /* a standby writes nothing */
    }
    if (load_tag(c, !d->shared) || load_admin_token(c) ||
        (d->shared && check_admin_token(c, false)))
        return -EIO;
    c->bus = bus_new(BUS_RING);
    bus_set_last(c->bus, store_log_last_seq(c->st));
    c->txq = txq_new(c);
    c->prov = wpool_new(c->loop, "provisioning", d->cfg.workers);
    c->conf = wpool_new(c->loop, "configuration", CONF_WORKERS);
    if (!c->txq || !c->prov || !c->conf)
        return -ENOMEM;
    /* each starts at its most and is sized by its own load from then on */
    wpool_set_limits(c->prov, d->cfg.workers_min, d->cfg.workers);
    wpool_set_limits(c->conf, 1, CONF_WORKERS);
    c->components = components_new(c);
    components_add(c->components, c->prov, &POOL_SIZER);
    components_add(c->components, c->conf, &POOL_SIZER);
    register_services(d);
    outbox_new(c, d->cfg.outbox_key_max, d->cfg.outbox_max);
    lccn_init(c);
    pkgm_init(c);
    callback_init(c);
    if (fed_init(c))
        return -EINVAL;
    store_on_maintenance(c->st, on_maintenance_due, c);
    return 0;
}

/* A branch manager moved to the cloud starts here from the copy of its
 * store (fed/mgr_move.c): its site's VIs stay where they are, run by the
 * VIM agent its branch became, whose token's hash relocated.json gives.
 * Its site becomes the agent driver's before the sites open; a copy with
 * another site is refused (it would run VIs on this host). */
static int take_relocation(struct core *c)
{
    char *path = xasprintf("%s/relocated.json", c->cfg->data_dir), *text = NULL;
    json_t *rel = NULL, *site = NULL;
    long sites;
    int r = 0;

    if (read_file(path, 1 << 16, &text, NULL)) {
        free(path);
        return 0;
    }
    rel = json_loads(text, 0, NULL);
    sites = store_count(c->st, STORE_SITE, NULL, 0);
    if (!doc_str(rel, "token_sha256") || strcmp(jv_str(rel, "site", ""), c->cfg->site) ||
        sites != 1 || store_get(c->st, STORE_SITE, c->cfg->site, &site)) {
        log_error("%s: expected the move of the one site %s of this store (it has %ld)", path,
                  c->cfg->site, sites);
        r = -EINVAL;
    } else {
        /* what it was at its branch, for its return (take_return) */
        json_object_set_new(site, "relocated_from",
                            json_pack("{s:s, s:O?}", "driver", jv_str(site, "driver", "proc"),
                                      "options", json_object_get(site, "options")));
        doc_set_str(site, "driver", "agent");
        json_object_set_new(site, "options",
                            json_pack("{s:s}", "token_sha256", doc_str(rel, "token_sha256")));
        doc_touch(site, "updated");
        r = store_put(c->st, STORE_SITE, site);
        log_info("moved here (move %s): site %s's VIs are its VIM agent's",
                 jv_str(rel, "move", "?"), c->cfg->site);
    }
    json_decref(site);
    json_decref(rel);
    free(text);
    free(path);
    return r;
}

/* A manager that returned from the cloud to its branch (fed/relocate.c:
 * the agent there wrote DATA_DIR/returned.json and put the store of its
 * stay in the cloud in place): its site is run by its own VIM again, as
 * before the move. A store that did not come back (its site not the
 * agent's) is left as it is. */
static int take_return(struct core *c)
{
    char *path = xasprintf("%s/returned.json", c->cfg->data_dir);
    json_t *site = NULL, *was;
    int r = 0;

    if (access(path, F_OK) == 0 && store_get(c->st, STORE_SITE, c->cfg->site, &site) == 0 &&
        strcmp(jv_str(site, "driver", ""), "agent") == 0) {
        was = json_object_get(site, "relocated_from");
        doc_set_str(site, "driver", jv_str(was, "driver", "proc"));
        if (json_is_object(json_object_get(was, "options")))
            json_object_set(site, "options", json_object_get(was, "options"));
        else
            json_object_del(site, "options");
        json_object_del(site, "relocated_from");
        doc_touch(site, "updated");
        r = store_put(c->st, STORE_SITE, site);
        log_info("returned from the cloud: site %s's VIs are its %s VIM's again", c->cfg->site,
                 doc_str(site, "driver"));
    }
    json_decref(site);
    free(path);
    return r;
}

/* What only the manager that writes does first: the tag and the admin
 * token of a new store, the bootstrap records, the sites. */
static int init_primary(struct daemon *d)
{
    struct core *c = &d->core;
    int r = 0;

    if (d->shared && (load_tag(c, true) || check_admin_token(c, true)))
        return -EIO;
    core_tx_begin(c);
    r = svc_bootstrap(c);
    if (r == 0)
        r = runas_open(c);
    if (r == 0)
        r = take_relocation(c);
    if (r == 0)
        r = take_return(c);
    if (r == 0)
        r = sites_init(c);
    if (r) {
        log_error("cannot initialise the store: %s",
                  r == -EINVAL ? "bad site settings" : store_errmsg(c->st));
        core_tx_abort(c);
        return r;
    }
    r = core_tx_commit(c);
    if (r == 0) {
        char *rel = xasprintf("%s/relocated.json", c->cfg->data_dir),
             *ret = xasprintf("%s/returned.json", c->cfg->data_dir);

        unlink(rel); /* taken: the store says so from now on */
        unlink(ret);
        free(ret);
        free(rel);
    }
    return r;
}

/* The primary's work: the journal resumed, VNFs adopted, deliveries and
 * monitoring. */
static int start_primary(struct daemon *d)
{
    struct core *c = &d->core;
    char err[256];

    if (recovery_run(c) || (d->shared && fed_takeover(c)))
        return -EIO;
    exec_init(c);
    lc_restart_init(c);
    lc_resume_all(c);
    pkg_resume(c);
    outbox_start(c->outbox);
    exec_resume_all(c);
    lc_restart_resume(c);
    schedule_start(c);
    c->monitor = monitor_new(c, err, sizeof(err));
    if (!c->monitor) {
        log_error("monitoring: %s", err);
        return -EIO;
    }
    components_add(c->components, sched_pool(monitor_sched(c->monitor)), NULL);
    service_register(c->services, &(struct service){.name = "monitor",
                                                    .down_code = HEALTH_MONITOR_DOWN,
                                                    .alive = monitor_alive,
                                                    .fault = "monitor-stall",
                                                    .inject = monitor_fault_stall,
                                                    .arg = c->monitor});
    /* The loop has been busy starting, not stalled: its heartbeat starts now
     * (a slow start-up under load answered 5010 at once). */
    __atomic_store_n(&c->beat_ms, mono_ms(), __ATOMIC_RELAXED);
    d->primary = true;
    sites_check_waiting(c); /* now, not at the first tick */
    return 0;
}

/* What answers: health, NETCONF, REST, the loop's heartbeat, signals. */
static int start_front(struct daemon *d)
{
    const struct mount *pkgm;
    size_t n_pkgm;
    struct core *c = &d->core;
    char err[256];

    if (health_start(c->health))
        return -EIO;
    if (d->cfg.netconf) { /* before REST: a manager that answers has NETCONF up */
        d->netconf = netconf_start(c, err, sizeof(err));
        if (!d->netconf) {
            log_error("%s", err);
            return -EADDRINUSE;
        }
        service_register(c->services, &(struct service){.name = "netconf",
                                                        .down_code = HEALTH_NETCONF_DOWN,
                                                        .alive = netconf_alive,
                                                        .fault = "netconf-thread",
                                                        .inject = netconf_fault_stop,
                                                        .arg = d->netconf});
    }
    if (fed_start(c)) /* a branch joins its cloud before it answers */
        return -EIO;
    d->http = router_new(c);
    router_mount(d->http, &rest_mount);
    for (size_t i = 0; i < sol_n_mounts; i++)
        router_mount(d->http, &sol_mounts[i]);
    router_mount(d->http, &fed_api_mount);
    router_mount(d->http, &fed_mount);
    router_mount(d->http, &vim_agent_mount);
    router_mount(d->http, &ui_mount);
    pkgm = pkgm_mounts(&d->cfg, &n_pkgm);
    for (size_t i = 0; i < n_pkgm; i++)
        router_mount(d->http, &pkgm[i]);
    if (router_start(d->http, err, sizeof(err))) {
        log_error("%s", err);
        return -EADDRINUSE;
    }
    uv_timer_init(c->loop, &c->beat_timer);
    c->beat_timer.data = d;
    uv_timer_start(&c->beat_timer, on_tick, 1000, 1000);
    auth_start(c);
    uv_signal_init(c->loop, &d->sigterm);
    uv_signal_init(c->loop, &d->sigint);
    d->sigterm.data = d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    d->running = true;
    __atomic_store_n(&c->beat_ms, mono_ms(), __ATOMIC_RELAXED);
    return 0;
}

static void started_event(struct daemon *d, const char *what)
{
    struct core *c = &d->core;

    core_event(c, "info", "system", "start",
               json_pack("{s:s, s:s}", "object", "vnfm", "result", "started"),
               "vnfmd %s %s as %s VNFM of site %s, REST API on http://%s:%u", VNFM_VERSION, what,
               d->cfg.role, d->cfg.site, d->cfg.listen_host, d->cfg.listen_port);
}

/* ---- a cluster on a shared store (ha/ha.h, docs/HA.md) ---- */

/* Stops everything this manager does, and starts it again as a standby:
 * its in-memory state (operations in flight, timers, watches) may no
 * longer be the store's, and the next primary resumes from the journal. */
static void step_down(struct daemon *d, const char *why)
{
    if (d->core.stopping)
        return;
    log_warn("ha: %s: stopping, to start again as a standby", why);
    d->rejoin = true;
    stop(d);
}

/* The store was fenced on the leader key of revision rev: take over. */
static void promote(struct daemon *d, const char *key, int64_t rev)
{
    struct core *c = &d->core;
    uint64_t t0 = mono_ms(), fenced = t0, init = t0;
    char *marker;
    int r;

    if (d->primary || c->stopping)
        return;
    marker = xasprintf("{\"url\": \"%s\", \"time\": %lld}", d->cfg.ha_url, (long long)wall_ms());
    r = store_fence(c->st, key, rev, marker, FENCE_WAIT_MS);
    free(marker);
    if (r)
        log_error("ha: cannot fence the store: %s", store_errmsg(c->st));
    if (r == 0) {
        fenced = mono_ms();
        r = init_primary(d);
        init = mono_ms();
    }
    if (r == 0)
        r = start_primary(d);
    if (r) {
        step_down(d, "cannot take over");
        return;
    }
    ha_primary(d->ha);
    started_event(d, "took over");
    log_info("ha: the primary now (took over in %llu ms: fence %llu, sites %llu, journal and "
             "VNFs %llu)",
             (unsigned long long)(mono_ms() - t0), (unsigned long long)(fenced - t0),
             (unsigned long long)(init - fenced), (unsigned long long)(mono_ms() - init));
}

static void on_ha(struct wake *w)
{
    struct daemon *d = w->data;
    char key[256];
    int64_t rev;

    if (atomic_exchange(&d->lost, false)) {
        step_down(d, "the store refused a commit: another manager is the primary");
        return;
    }
    switch (ha_take_order(d->ha, key, sizeof(key), &rev)) {
    case HA_PROMOTE:
        promote(d, key, rev);
        break;
    case HA_DEMOTE:
        step_down(d, "no longer the primary");
        break;
    case HA_NONE:
        break;
    }
}

static void wake_loop(void *arg)
{
    wake_send(&((struct daemon *)arg)->ha_wake);
}

/* A fenced commit refused (on the loop, inside the commit): step down
 * from the top of the loop. */
static void on_store_lost(void *arg, int err)
{
    struct daemon *d = arg;

    (void)err;
    atomic_store(&d->lost, true);
    wake_send(&d->ha_wake);
}

/* Joins the cluster as a standby; leader election says when to take over. */
static int start_ha(struct daemon *d)
{
    struct core *c = &d->core;
    char err[512], *endpoints = NULL, *prefix = NULL, *hb = xstrdup(d->cfg.ha_listen);
    char *colon = strrchr(hb, ':');
    struct ha_opts o = {.url = d->cfg.ha_url,
                        .lease_ms = d->cfg.ha_lease_ms,
                        .hb_ms = d->cfg.ha_heartbeat_ms,
                        .dead_ms = d->cfg.ha_dead_ms};
    int r = etcd_location(d->cfg.store, &endpoints, &prefix, err, sizeof(err));

    if (r == 0 && !colon) {
        snprintf(err, sizeof(err), "--ha-listen must be HOST:PORT, not %s", hb);
        r = -EINVAL;
    }
    if (r == 0) {
        *colon = '\0';
        o = (struct ha_opts){endpoints,
                             prefix,
                             d->cfg.ha_url,
                             hb,
                             (unsigned)atoi(colon + 1),
                             d->cfg.ha_lease_ms,
                             d->cfg.ha_heartbeat_ms,
                             d->cfg.ha_dead_ms,
                             c->owners};
        d->ha_wake_init = wake_init(c->loop, &d->ha_wake, on_ha, d) == 0;
        store_on_lost(c->st, on_store_lost, d);
        d->ha = ha_start(&o, c->st, c->cluster, wake_loop, d, err, sizeof(err));
        r = d->ha ? 0 : -EIO;
    }
    if (r)
        log_error("ha: %s", err);
    else
        log_info("vnfmd %s started as a standby of the cluster on %s, REST API on %s", VNFM_VERSION,
                 d->cfg.store, d->cfg.ha_url);
    free(hb);
    free(endpoints);
    free(prefix);
    return r;
}

static void cleanup(struct daemon *d)
{
    struct core *c = &d->core;

    health_free(c->health);
    services_free(c->services);
    monitor_free(c->monitor);
    sites_close(c);
    runas_close(c);
    hmap_done(&c->runs);
    hmap_done(&c->vis);
    bus_free(c->bus);
    store_close(c->st);
    cluster_free(c->cluster);
    owners_free(c->owners);
    free(c->admin_hash);
    uv_run(&d->loop, UV_RUN_DEFAULT); /* close callbacks */
    uv_loop_close(&d->loop);
    config_done(&d->cfg);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    httpc_global_cleanup();
}

/* A running VI holds two descriptors (its exit watch, its reaper's pidfd):
 * the soft limit of open files goes up to the hard one (a service's soft
 * limit is often 1024). VNFs get the usual soft limit back (proc_spawn.c). */
/* vnfmd --cleanup TAG: each driver removes what the dead instance left. */
static int cleanup_instance(const char *tag)
{
    char report[512];
    int rc = 0;

    for (const char *const *n = vim_driver_names(); *n; n++) {
        const struct vim_ops *ops = vim_driver_find(*n);

        if (!ops->cleanup)
            continue;
        if (ops->cleanup(tag, report, sizeof(report))) {
            fprintf(stderr, "vnfmd: %s VIM: %s\n", ops->name, report);
            rc = 1;
        } else {
            printf("%s VIM: %s\n", ops->name, report);
        }
    }
    if (ep_cleanup(tag, report, sizeof(report))) { /* its service endpoints (fed/endpoint.c) */
        fprintf(stderr, "vnfmd: service endpoints: %s\n", report);
        rc = 1;
    } else {
        printf("service endpoints: removed\n");
    }
    if (rc == 0) /* nothing of it runs any more: nothing uses its uids */
        printf("sandbox uids: %d freed\n", runas_forget(tag));
    return rc;
}

/* Room for --http-max-conns connections besides the store, the VIM's and
 * the VNFs' descriptors: the soft limit up to the hard one. */
static void raise_fd_limit(const struct config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->http_max_conns + 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("cannot raise the limit of open files: %s", strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
        log_warn("only %llu file descriptors (--http-max-conns %u needs about %llu)",
                 (unsigned long long)rl.rlim_cur, cfg->http_max_conns, (unsigned long long)want);
}

/* Runs this program again in this process (same pid), under its own file
 * name (the kernel names the process after the path exec'd: through
 * /proc/self/exe, ps would show "exe"). Returns only on failure. */
static void run_again(char **argv)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

    if (n > 0) {
        path[n] = '\0';
        execv(path, argv);
    }
    execv("/proc/self/exe", argv); /* renamed or deleted since it started */
}

/* A manager that stepped down starts again, as a standby, in the same
 * process (the same pid: its VNFs' watches are found again). */
static void rejoin(char **argv)
{
    setenv(REJOIN_ENV, "1", 1);
    run_again(argv);
    fprintf(stderr, "vnfmd: cannot start again as a standby: %s\n", strerror(errno));
}

/* SQLite: the manager writes from the start. A shared store: it starts as
 * a standby, and leader election says when to take over. */
static int start(struct daemon *d)
{
    int r = init_core(d);

    if (r == 0 && !d->shared)
        r = init_primary(d);
    if (r == 0 && !d->shared)
        r = start_primary(d);
    if (r == 0)
        r = start_front(d);
    if (r == 0 && !d->shared)
        started_event(d, "started");
    if (r == 0 && d->shared)
        r = start_ha(d);
    return r;
}

int main(int argc, char **argv)
{
    struct daemon d = {.lock_fd = -1};
    enum log_level lvl;
    int r = config_parse(&d.cfg, argc, argv);

    if (r) {
        config_done(&d.cfg); /* LeakSanitizer fails a refused configuration otherwise */
        return r > 0 ? 0 : 1;
    }
    if (log_level_parse(d.cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    if (d.cfg.cleanup) {
        r = cleanup_instance(d.cfg.cleanup);
        config_done(&d.cfg);
        return r;
    }
    if (d.cfg.standby_for) {
        r = standby_run(&d.cfg);
        config_done(&d.cfg);
        return r;
    }
    if (d.cfg.vim_agent) {
        struct agent_cfg ac = {.url = d.cfg.vim_agent,
                               .site = d.cfg.site,
                               .token_file = d.cfg.vim_agent_token_file,
                               .ca_file = d.cfg.vim_agent_ca,
                               .data_dir = d.cfg.data_dir,
                               .vnf_path = d.cfg.vnf_path,
                               .move = d.cfg.vim_agent_move};

        char *lock = xasprintf("%s/vnfmd.lock", d.cfg.data_dir);
        int lock_fd = d.cfg.vim_agent_move ? standby_inherited_lock(lock) : -1;

        free(lock);
        r = vim_agent_run(&ac);
        /* the manager it was, again: its move rolled back, or it returned (fed/relocate.c) */
        if (r == AGENT_ROLLED_BACK || r == AGENT_RETURNED) {
            if (lock_fd >= 0)
                standby_pass_lock(lock_fd);
            standby_exec_recorded(d.cfg.data_dir);
            log_error("cannot start the manager of %s again: %s", d.cfg.data_dir, strerror(errno));
            r = 1;
        }
        config_done(&d.cfg);
        return r;
    }
    d.shared = config_shared_store(&d.cfg);
    d.rejoining = getenv(REJOIN_ENV) != NULL;
    unsetenv(REJOIN_ENV);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(&d.cfg);
    httpc_global_init();
    uv_loop_init(&d.loop);
    d.core.services = services_new();
    r = prepare_data_dir(&d.cfg, &d.lock_fd);
    if (r == 0)
        r = check_script_dir(&d.cfg);
    if (r == 0)
        r = start(&d);
    if (r == 0) {
        uv_run(&d.loop, UV_RUN_DEFAULT);
    } else {
        stop(&d);
    }
    cleanup(&d);
    if (r == 0 && d.rejoin)
        rejoin(argv);
    if (d.stopped_waiting)
        return 0;
    return r ? (d.no_store ? EXIT_NO_STORE : 1) : 0;
}
