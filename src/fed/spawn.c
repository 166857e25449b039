/* Elastic branch managers, the branch's side (docs/FEDERATION.md "Elastic
 * managers"; FIG. 4A, seed para 91-98): at the cloud's instruction
 * (spawn_manager) this manager starts another manager of its site.
 *
 * The new manager is a real vnfmd in a manager VI of this host's process
 * VIM (mgr_vi.c; vim/vim.h "Manager VIs": cgroups vnfm/TAG/mgr-XXXXXX, TAG
 * this manager's instance tag) with the CPU and memory limits of the
 * site's policy, made and started through the driver on the provisioning
 * pool, its configuration mirrored from this one (its command line) plus
 * its own identity: a data dir (DATA_DIR/managers/NAME), a port, a subnet
 * for its VIs, the join token the cloud minted for it, and its VI's
 * cgroup (--manager-cgroup, read for its load). There must be room for it:
 * the site's capacity less what its VIs and the managers started before
 * hold. It is watched every half second until healthy (it joined the
 * cloud, its fed.json is written, and it accepts connections on its port)
 * or failed (it exited, or was not healthy within START_MAX_MS: killed,
 * its VI removed); every report carries what became of it ("children").
 * stop_manager stops one (SIGTERM, then SIGKILL after STOP_MAX_MS) and
 * removes its VI; this manager stopping stops them all. The hot standbys
 * (below) are manager VIs too: one that takes a manager over enters the
 * dead manager's cgroups (its VI's), that VI claims its process (the
 * driver's claim()), and the standby's VI, left empty, is removed. The
 * managers it started are kept in
 * the store (meta fed_children), written with the instruction that
 * started them: after a kill -9 and a restart, this manager adopts those
 * still running and starts again those that died (their data dir holds
 * their credential: no token is needed). */
#include "fed/fed_internal.h"
#include "fed/standby.h"
#include "lcm/restart.h"
#include "lcm/sites.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WATCH_MS      500
#define START_MAX_MS  90000 /* a sanitizer build under load can take a minute to start */
#define STOP_MAX_MS   15000
#define ARGS_MAX      256
#define META_CHILDREN "fed_children"
#define ENDED_KEPT    16               /* managers that ended, kept for the reports */
#define COVERS_FILE   "standby-covers" /* DATA_DIR/standby-covers: the dirs the standbys watch */

struct child {
    char name[16];
    char decision[32];
    char manager[32]; /* its manager id, once it joined */
    char state[12];   /* starting, healthy, stopping, failed, exited */
    char error[256];
    char subnet[32];
    char vi[VIM_ID_MAX]; /* its manager VI */
    json_t *ref;         /* the driver's reference to the VI, NULL before its start */
    pid_t vi_pid;        /* the process ref names (the VIM started it, or claimed it) */
    bool busy;           /* a job of its VI is under way */
    bool vi_left;        /* its VI is to be removed (a removal that failed is tried again) */
    bool unclaimed;      /* its VI did not take in the standby that took it over */
    char took[16];       /* a standby that took this manager over ("promoted") */
    bool keep;           /* stop_manager: keep it as a standby once stopped */
    bool kept;           /* a manager scaled in and kept as a standby (beyond the policy's M) */
    char *dir;
    pid_t pid;
    bool adopted;   /* started by an earlier run of this manager: not its child process */
    bool standby;   /* a hot standby of this manager (state "standby"; dir: this one's) */
    unsigned hb_ms; /* a standby's heartbeat */
    unsigned port;
    double vcpu;
    long memory_mb;
    int64_t started_ms, stop_ms;
    /* deaths after it was healthy, restarted with the VNFs' crash-loop
     * backoff (lcm/restart.h, --restart-*) */
    struct restart_hist deaths;
    int64_t started_wall; /* wall ms of its start */
    uint64_t restart_at;  /* mono ms of its next start, 0: none due */
};

/* ---- room ---- */

/* What the managers started here hold (those running, or to start again). */
static struct site_reserved kids_hold(struct fed *f)
{
    struct site_reserved r = {0};
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        const struct child *ch = e->value;

        if (ch->pid <= 0 && !ch->restart_at && strcmp(ch->state, "starting") &&
            strcmp(ch->state, "standby"))
            continue; /* ended (one starting in its VI has no pid yet) */
        if (ch->kept && strcmp(ch->state, "stopping") == 0)
            continue; /* its room goes to the manager that replaces it */
        r.vcpu += ch->vcpu;
        r.memory_mb += ch->memory_mb;
        r.managers++;
    }
    return r;
}

/* Counts them in the site's allocation (lcm/sites.h): a deploy here
 * admits against the capacity less its VIs and them. */
static void reserve(struct core *c)
{
    struct site_reserved r = kids_hold(c->fed);

    site_reserve(c, c->cfg->site, &r);
}

/* What the site has free for another manager, after its VIs and the
 * managers started already; false (and why) when it has not enough. */
static bool room(struct core *c, double vcpu, long memory_mb, char *why, size_t len)
{
    json_t *site = core_load(c, STORE_SITE, c->cfg->site);
    const json_t *cap = json_object_get(site, "capacity");
    const struct site_rt *s = site_get(c, c->cfg->site);
    struct site_reserved held = kids_hold(c->fed), others = {0};
    struct store_usage u = {0};
    double free_vcpu = jv_num(cap, "vcpu", 0);
    long free_mb = (long)jv_int(cap, "memory_mb", 0);

    if (s)
        others = s->others;
    store_site_usage(c->st, c->cfg->site, &u);
    free_vcpu -= u.vcpu + held.vcpu + others.vcpu;
    free_mb -= (long)(u.memory_mb + held.memory_mb + others.memory_mb);
    json_decref(site);
    if (free_vcpu + 1e-9 >= vcpu && free_mb >= memory_mb)
        return true;
    snprintf(why, len,
             "no room at site %s for another manager: it needs %g vCPU and %ld MB, %g vCPU and "
             "%ld MB are free (capacity less its VIs, %u manager%s started here and what "
             "the site's other managers hold); "
             "alternatives: give the site more capacity, make the policy's managers smaller "
             "(manager.vcpu, manager.memory_mb), or move deployments to the cloud",
             c->cfg->site, vcpu, memory_mb, free_vcpu > 0 ? free_vcpu : 0,
             free_mb > 0 ? free_mb : 0, held.managers, held.managers == 1 ? "" : "s");
    return false;
}

/* ---- its identity ---- */

/* A /24 under 10.200.0.0/13 that no route of the host covers. */
static int free_subnet(char *out, size_t len)
{
    for (int tries = 0; tries < 200; tries++) {
        /* from the kernel's random source: random() unseeded gave every branch
         * manager of a host the same first subnet for its first new manager */
        unsigned char r[2];
        unsigned a, b;
        uint32_t net;
        char line[256];
        bool used = false;
        FILE *f;

        random_bytes(r, sizeof(r));
        a = 200 + r[0] % 50;
        b = r[1];
        net = htonl((10u << 24) | (a << 16) | (b << 8));
        if (!(f = fopen("/proc/net/route", "re")))
            return -errno;
        while (!used && fgets(line, sizeof(line), f)) {
            unsigned dst, mask;

            if (sscanf(line, "%*s %x %*x %*x %*d %*d %*d %x", &dst, &mask) == 2 && mask &&
                ((net & mask) == dst || (dst & htonl(0xffffff00u)) == net))
                used = true;
        }
        fclose(f);
        if (!used) {
            snprintf(out, len, "10.%u.%u.0/24", a, b);
            return 0;
        }
    }
    return -EADDRINUSE;
}

/* Options of this manager that are its own, not mirrored (each with its value). */
static bool own_option(const char *arg)
{
    static const char *const own[] = {
        "--data-dir",       "--listen",      "--subnet",    "--join-token",
        "--store",          "--ha-url",      "--ha-listen", "--manager-cgroup",
        "--netconf-listen", "--site-ledger", NULL};

    for (const char *const *o = own; *o; o++) {
        size_t n = strlen(*o);

        if (strncmp(arg, *o, n) == 0 && (arg[n] == '\0' || arg[n] == '='))
            return true;
    }
    return false;
}

/* The command line of a standby of this manager: it watches the data dirs
 * DATA_DIR/standby-covers lists (this manager's and those of the managers
 * it started), and becomes the manager of one (its recorded command line)
 * when it dies or hangs (standby.c, docs/FEDERATION.md "Standby
 * managers"). */
static char **standby_argv(struct core *c, const char *exe)
{
    char **argv = xcalloc(8, sizeof(*argv));

    argv[0] = xstrdup(exe);
    argv[1] = xstrdup("--standby-for");
    argv[2] = xasprintf("@%s/%s", c->cfg->data_dir, COVERS_FILE);
    argv[3] = xstrdup("--standby-heartbeat-ms");
    argv[4] = xasprintf("%u", c->fed->standby_hb_ms ? c->fed->standby_hb_ms : 1000);
    argv[5] = xstrdup("--log-level");
    argv[6] = xstrdup(c->cfg->log_level ? c->cfg->log_level : "info");
    return argv;
}

/* This manager's command line less its own options, plus the child's. */
static char **child_argv(struct core *c, const struct child *ch, const char *token,
                         const char *subnet)
{
    char *text = NULL, *p, **argv;
    size_t len = 0, n = 0;
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    exe[el > 0 ? el : 0] = '\0';
    if (ch->standby)
        return standby_argv(c, exe);
    argv = xcalloc(ARGS_MAX, sizeof(*argv));
    argv[n++] = xstrdup(exe);
    if (read_file("/proc/self/cmdline", 1 << 20, &text, &len) == 0) {
        for (p = text + strlen(text) + 1; p < text + len && n < ARGS_MAX - 14; p += strlen(p) + 1) {
            if (own_option(p)) {
                if (!strchr(p, '=') && p + strlen(p) + 1 < text + len)
                    p += strlen(p) + 1; /* its value */
                continue;
            }
            if (strcmp(p, "--netconf") == 0)
                continue; /* one NETCONF server per host port */
            argv[n++] = xstrdup(p);
        }
    }
    free(text);
    argv[n++] = xstrdup("--data-dir");
    argv[n++] = xstrdup(ch->dir);
    argv[n++] = xstrdup("--listen");
    argv[n++] = xasprintf("%s:%u", c->cfg->listen_host, ch->port);
    argv[n++] = xstrdup("--subnet");
    argv[n++] = xstrdup(subnet);
    if (token) { /* none when it starts again: it joined already */
        argv[n++] = xstrdup("--join-token");
        argv[n++] = xstrdup(token);
    }
    argv[n++] = xstrdup("--manager-cgroup");
    argv[n++] = xasprintf("%s/%s", c->tag, ch->vi);
    argv[n++] = xstrdup("--site-ledger"); /* this site's on this host: this one's */
    argv[n++] = xstrdup(c->cfg->site_ledger);
    return argv;
}

static void argv_free(char **argv)
{
    for (char **a = argv; a && *a; a++)
        free(*a);
    free(argv);
}

/* ---- starting it ---- */

static void vi_started(struct mvi_job *j);

/* Makes its VI and starts it there, on the provisioning pool: "starting"
 * (a standby: "standby") without a pid until vi_started(). */
static int start(struct core *c, struct child *ch, const char *token, char *why, size_t len)
{
    json_t *cmd = json_array();
    struct mvi_job *j;
    char **argv;
    int r = 0;

    if (!ch->standby && ((!*ch->subnet && (r = free_subnet(ch->subnet, sizeof(ch->subnet)))) ||
                         !(ch->port = ip4_free_port(c->cfg->listen_host)))) {
        snprintf(why, len, "no free subnet or port for it: %s", strerror(r ? -r : EADDRINUSE));
        return -1;
    }
    if ((r = mkdir_p(ch->dir, 0700))) {
        snprintf(why, len, "cannot make its data dir %s: %s", ch->dir, strerror(-r));
        return -1;
    }
    if (!*ch->vi)
        id_random(ch->vi, VIM_MANAGER_PREFIX, 6);
    argv = child_argv(c, ch, token, ch->subnet);
    for (char **a = argv; *a; a++)
        json_array_append_new(cmd, json_string(*a));
    argv_free(argv);
    j = fed_mvi_new(c, MVI_START, ch->name, ch->vi, ch->ref, vi_started);
    snprintf(j->name, sizeof(j->name), "%s %s", ch->standby ? "standby" : "manager", ch->name);
    j->vdu = json_pack("{s:o}", "command", cmd);
    j->log = ch->standby ? xasprintf("%s/standby-%s.log", ch->dir, ch->name)
                         : xasprintf("%s/vnfmd.log", ch->dir);
    j->vcpu_milli = (unsigned)(ch->vcpu * 1000);
    j->memory_bytes = (uint64_t)ch->memory_mb << 20;
    if (!fed_mvi_submit(j, why, len))
        return -1;
    ch->busy = true;
    ch->pid = 0;
    ch->adopted = false;
    ch->started_ms = (int64_t)mono_ms();
    ch->started_wall = wall_ms();
    return 0;
}

static void watch(uv_timer_t *h);
static void standby_top_up(struct core *c);
static void covers_update(struct fed *f);

/* Starts the watch of the managers started here, at the first need. */
static void watch_children(struct fed *f)
{
    if (f->child_timer_on)
        return;
    uv_timer_init(f->c->loop, &f->child_timer);
    f->child_timer.data = f;
    f->child_timer_on = true;
    uv_timer_start(&f->child_timer, watch, WATCH_MS, WATCH_MS);
}

/* ---- kept in the store ---- */

/* The data dirs the standbys cover (DATA_DIR/standby-covers). */
static json_t *covers_json(const struct fed *f)
{
    json_t *out = json_array();
    char *text = xstrdup(f->standby_covers ? f->standby_covers : f->c->cfg->data_dir), *save;

    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        json_array_append_new(out, json_string(l));
    free(text);
    return out;
}

/* What a standby's json has beside its fields: "kept" for a manager kept
 * as a standby; its crash-loop backoff: "deaths" in the restart window,
 * "restart_in_ms" while it waits to be started again. */
static json_t *standby_backoff_json(const struct child *ch, json_t *out)
{
    uint64_t now = mono_ms();

    if (ch->kept) /* a manager scaled in and kept as a standby, beyond the policy's M */
        json_object_set_new(out, "kept", json_true());
    json_object_set_new(out, "deaths", json_integer(ch->deaths.n));
    if (ch->pid <= 0 && ch->restart_at)
        json_object_set_new(
            out, "restart_in_ms",
            json_integer(ch->restart_at > now ? (json_int_t)(ch->restart_at - now) : 0));
    return out;
}

static json_t *child_json(const struct fed *f, const struct child *ch)
{
    if (ch->standby)
        return standby_backoff_json(
            ch, json_pack("{s:s, s:s, s:b, s:i, s:i, s:f, s:I, s:o, s:s?, s:s?, s:s?}", "name",
                          ch->name, "state", ch->state, "standby", 1, "pid", (int)ch->pid,
                          "heartbeat_ms", (int)ch->hb_ms, "vcpu", ch->vcpu, "memory_mb",
                          (json_int_t)ch->memory_mb, "covers", covers_json(f), "error",
                          *ch->error ? ch->error : NULL, "vi", *ch->vi ? ch->vi : NULL, "took",
                          *ch->took ? ch->took : NULL));
    return json_pack("{s:s, s:s, s:s?, s:s, s:i, s:i, s:s, s:f, s:I, s:s?, s:s?}", "name", ch->name,
                     "state", ch->state, "manager", *ch->manager ? ch->manager : NULL, "decision",
                     ch->decision, "pid", (int)ch->pid, "port", (int)ch->port, "subnet", ch->subnet,
                     "vcpu", ch->vcpu, "memory_mb", (json_int_t)ch->memory_mb, "error",
                     *ch->error ? ch->error : NULL, "vi", *ch->vi ? ch->vi : NULL);
}

json_t *fed_children_report(struct fed *f)
{
    json_t *out = json_array();
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i))
        json_array_append_new(out, child_json(f, e->value));
    return out;
}

/* Writes the managers started here (in the open transaction, if any),
 * each with what a restart of this manager needs beside what the reports
 * show: its crash-loop history, when its process started, and the wall
 * time of a start that is due (0: none). */
static void children_save(struct core *c)
{
    struct fed *f = c->fed;
    json_t *all = json_array();
    uint64_t now = mono_ms();
    struct hmap_entry *e;
    size_t i;
    char *text;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        const struct child *ch = e->value;
        json_t *j = child_json(f, ch);
        int64_t due = 0;

        if (ch->pid <= 0 && ch->restart_at)
            due = wall_ms() + (ch->restart_at > now ? (int64_t)(ch->restart_at - now) : 0);
        restart_hist_save(j, &ch->deaths);
        if (ch->ref)
            json_object_set(j, "_ref", ch->ref);
        if (ch->vi_pid > 0)
            json_object_set_new(j, "_vi_pid", json_integer(ch->vi_pid));
        if (ch->vi_left)
            json_object_set_new(j, "_vi_left", json_true());
        if (ch->keep)
            json_object_set_new(j, "_keep", json_true());
        json_object_set_new(j, "_restart",
                            json_pack("{s:i, s:I, s:I}", "step", ch->deaths.step, "started",
                                      (json_int_t)ch->started_wall, "due", (json_int_t)due));
        json_array_append_new(all, j);
    }
    text = json_dumps(all, JSON_COMPACT);

    if (store_meta_set(c->st, META_CHILDREN, text))
        log_warn("fed: cannot record the managers started here: %s", store_errmsg(c->st));
    free(text);
    json_decref(all);
}

/* Forgets the managers that ended beyond ENDED_KEPT (the map is not a log). */
static void prune(struct fed *f)
{
    struct hmap_entry *e, *next;
    size_t i, ended = 0;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        const struct child *ch = e->value;

        ended += ch->pid <= 0 && !ch->restart_at && !ch->busy && !ch->vi_left;
    }
    for (e = hmap_first(&f->children, &i); e && ended > ENDED_KEPT; e = next) {
        struct child *ch = e->value;

        next = hmap_next(&f->children, e, &i);
        if (ch->pid > 0 || ch->restart_at || ch->busy || ch->vi_left) /* not done with */
            continue;
        pthread_mutex_lock(&f->mu);
        hmap_del(&f->children, ch->name);
        pthread_mutex_unlock(&f->mu);
        json_decref(ch->ref);
        free(ch->dir);
        free(ch);
        ended--;
    }
}

static void unkeep(struct core *c, bool all, const char *why);

void fed_spawn_apply(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    double vcpu = jv_num(t->body, "vcpu", 1);
    long memory_mb = (long)jv_int(t->body, "memory_mb", 512);
    const char *token = jv_str(t->body, "token", NULL);
    char why[768];
    struct child *ch;

    if (!token || vcpu <= 0 || memory_mb <= 0) {
        result_fail(&t->res, 400, "bad-instruction", "field", "token",
                    "spawn_manager needs a join token, vcpu and memory_mb");
        return;
    }
    unkeep(c, false, "its room goes to a new manager");
    if (!room(c, vcpu, memory_mb, why, sizeof(why))) {
        result_fail(&t->res, 409, "no-room", "object", c->cfg->site, "%s", why);
        return;
    }
    watch_children(f);
    ch = xcalloc(1, sizeof(*ch));
    id_random(ch->name, "m", 6);
    snprintf(ch->decision, sizeof(ch->decision), "%s", jv_str(t->body, "decision", ""));
    snprintf(ch->state, sizeof(ch->state), "starting");
    ch->dir = xasprintf("%s/managers/%s", c->cfg->data_dir, ch->name);
    ch->vcpu = vcpu;
    ch->memory_mb = memory_mb;
    if (start(c, ch, token, why, sizeof(why))) {
        log_error("fed: cannot start manager %s: %s", ch->name, why);
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot start a manager: %s", why);
        free(ch->dir);
        free(ch);
        return;
    }
    prune(f);
    pthread_mutex_lock(&f->mu);
    hmap_put(&f->children, ch->name, ch);
    pthread_mutex_unlock(&f->mu);
    children_save(c); /* with the instruction: applied once */
    reserve(c);
    core_event(c, "info", "fed", "manager-starting",
               json_pack("{s:s, s:s, s:s}", "object", ch->name, "decision", ch->decision, "site",
                         c->cfg->site),
               "starting manager %s of site %s (port %u, %g vCPU, %ld MB, VI %s) for decision %s "
               "of the cloud",
               ch->name, c->cfg->site, ch->port, vcpu, memory_mb, ch->vi, ch->decision);
    result_ok(&t->res, 202,
              json_pack("{s:s, s:s, s:i, s:s}", "id", ch->name, "vi", ch->vi, "port", (int)ch->port,
                        "state", ch->state));
}

/* ---- watching it ---- */

/* Its manager id once it joined (DATA_DIR/fed.json); "" before. */
static void joined_as(struct child *ch)
{
    char *path = xasprintf("%s/fed.json", ch->dir), *text = NULL;
    json_t *doc;

    if (read_file(path, 64 * 1024, &text, NULL) == 0 && (doc = json_loads(text, 0, NULL))) {
        snprintf(ch->manager, sizeof(ch->manager), "%s", jv_str(doc, "manager", ""));
        json_decref(doc);
    }
    free(text);
    free(path);
}

bool fed_port_accepts(const struct core *c, unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (inet_pton(AF_INET,
                  strcmp(c->cfg->listen_host, "0.0.0.0") ? c->cfg->listen_host : "127.0.0.1",
                  &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void set_state(struct core *c, struct child *ch, const char *state, const char *level,
                      const char *fmt, const char *detail)
{
    snprintf(ch->state, sizeof(ch->state), "%s", state);
    if (strcmp(level, "info"))
        snprintf(ch->error, sizeof(ch->error), fmt, detail);
    core_event(c, level, "fed", "manager-state",
               json_pack("{s:s, s:s, s:s, s:s}", "object", ch->name, "decision", ch->decision,
                         "site", c->cfg->site, "state", state),
               "manager %s of site %s (pid %d) %s: %s", ch->name, c->cfg->site, (int)ch->pid, state,
               *ch->error && strcmp(level, "info") ? ch->error : detail);
    children_save(c);
    fed_report_soon(c->fed);
}

static unsigned standbys_running(struct fed *f);
static void standby_died(struct core *c, struct child *ch, const char *how);

/* ---- its VI ---- */

static void vi_started(struct mvi_job *j)
{
    struct core *c = j->c;
    struct child *ch = hmap_get(&c->fed->children, j->key);

    if (!ch)
        return;
    ch->busy = false;
    if (j->r && ch->standby) { /* the job removed what it made */
        char how[sizeof(j->err.msg) + 32];

        snprintf(how, sizeof(how), "did not start: %s", j->err.msg);
        standby_died(c, ch, how);
        return;
    }
    if (j->r) {
        set_state(c, ch, "failed", "warn", "cannot start it: %s", j->err.msg);
        reserve(c);
        return;
    }
    ch->pid = ch->vi_pid = j->out.pid;
    json_decref(ch->ref);
    ch->ref = j->out.ref;
    j->out.ref = NULL;
    log_info("fed: manager %s of site %s started (pid %d, VI %s)", ch->name, c->cfg->site,
             (int)ch->pid, ch->vi);
    if (strcmp(ch->state, "stopping") == 0) /* stop_manager came first */
        kill(ch->pid, SIGTERM);
    children_save(c);
    fed_report_soon(c->fed);
}

static void ended(struct core *c, struct child *ch, int status);

/* The process the VIM started ended: its wait status from the driver. One
 * still exiting (its memory gone from /proc, not yet a zombie) is looked
 * at again by the next watch. */
static void vi_ended(struct mvi_job *j)
{
    struct child *ch = hmap_get(&j->c->fed->children, j->key);

    if (!ch)
        return;
    ch->busy = false;
    if (j->r)
        ended(j->c, ch, -1);
    else if (j->st.state != VI_RUNNING)
        ended(j->c, ch, j->st.exit_status);
}

static void vi_removed(struct mvi_job *j)
{
    struct child *ch = hmap_get(&j->c->fed->children, j->key);

    if (j->empty_only && j->r == -EBUSY) /* a promoted standby's: still in use */
        log_debug("fed: %s: its VI %s is not removed yet: %s", j->key, j->vi, j->err.msg);
    else if (j->r)
        log_warn("fed: manager %s: its VI %s is not removed (tried again): %s", j->key, j->vi,
                 j->err.msg);
    if (ch) {
        ch->busy = false;
        if (j->r == 0) {
            ch->vi_left = false;
            json_decref(ch->ref);
            ch->ref = NULL;
        }
    }
}

/* A job of ch's VI: false (logged) when there is no VIM for it. A
 * promoted standby's VI goes only when empty: the process that left it may
 * not be claimed by the VI it entered yet. */
static bool vi_job(struct core *c, struct child *ch, enum mvi_op op, void (*done)(struct mvi_job *))
{
    struct mvi_job *j = fed_mvi_new(c, op, ch->name, ch->vi, ch->ref, done);
    char why[256];

    j->grace_ms = STOP_MAX_MS;
    j->pid = ch->pid;
    j->empty_only = strcmp(ch->state, "promoted") == 0;
    if (!fed_mvi_submit(j, why, sizeof(why))) {
        log_warn("fed: manager %s: its VI %s: %s", ch->name, ch->vi, why);
        return false;
    }
    ch->busy = true;
    return true;
}

/* What ch ran in goes, for good: its VI. One that starts again keeps its
 * VI (create() makes it afresh). */
static void release(struct core *c, struct child *ch)
{
    if (ch->restart_at)
        return;
    ch->vi_left = true;
    if (!ch->busy)
        vi_job(c, ch, MVI_REMOVE, vi_removed);
}

/* A manager taken over by a standby runs the standby's process: its VI
 * claims it (the standby entered its cgroups), so that the VI's status,
 * stop and removal are of that process. One its VI does not take in is
 * watched by its pid (warned once). */
static void vi_claimed(struct mvi_job *j)
{
    struct core *c = j->c;
    struct child *ch = hmap_get(&c->fed->children, j->key);

    if (!ch)
        return;
    ch->busy = false;
    if (ch->pid != j->pid)
        return; /* it ended meanwhile: the watch sees to it */
    if (j->r) {
        ch->unclaimed = true;
        ch->adopted = true;
        core_event(
            c, "warn", "fed", "manager-unclaimed",
            json_pack("{s:s, s:s, s:s}", "object", ch->name, "site", c->cfg->site, "vi", ch->vi),
            "manager %s of site %s: its VI %s does not take in pid %d, the standby that "
            "took it over: %s (watched by its pid)",
            ch->name, c->cfg->site, ch->vi, (int)ch->pid, j->err.msg);
        return;
    }
    json_decref(ch->ref);
    ch->ref = j->out.ref;
    j->out.ref = NULL;
    ch->vi_pid = j->out.pid;
    log_info("fed: manager %s: its VI %s runs pid %d, the standby that took it over", ch->name,
             ch->vi, (int)ch->pid);
    children_save(c);
}

/* sb took a manager over (took: its name; "" for this manager or one not
 * known): its reference names that process now and is dropped; its VI,
 * which the process left for the manager's cgroups, is removed once that
 * manager's VI claimed it (watch_one). */
static void promoted(struct child *sb, const char *took)
{
    sb->pid = 0;
    json_decref(sb->ref);
    sb->ref = NULL;
    sb->restart_at = 0;
    sb->vi_left = true;
    snprintf(sb->took, sizeof(sb->took), "%s", took);
    snprintf(sb->state, sizeof(sb->state), "promoted");
}

/* Whether sb, a promoted standby, waits for the claim of the manager it took over. */
static bool claim_pending(struct fed *f, const struct child *sb)
{
    const struct child *m = *sb->took ? hmap_get(&f->children, sb->took) : NULL;

    return m && m->pid > 0 && m->pid != m->vi_pid && !m->unclaimed;
}

/* How long a manager that died is left to the standbys (0: none runs): one
 * heartbeat to find its lock free, and margin. */
static uint64_t standby_grace(struct fed *f)
{
    return standbys_running(f) ? 2ull * (f->standby_hb_ms ? f->standby_hb_ms : 1000) + WATCH_MS : 0;
}

/* A healthy one ended, not by this manager's hand: started again (the
 * same manager: its credential is in its data dir) at once, or after the
 * crash-loop backoff of VNFs when it keeps dying; never with
 * --restart-policy never. While standbys run, not before they had
 * standby_grace() to take it over (taken_over()). */
static void died(struct core *c, struct child *ch, const char *how)
{
    const struct config *cfg = c->cfg;
    struct vnfd_restart pol = {strcmp(cfg->restart_policy, "always") == 0, cfg->restart_burst,
                               cfg->restart_window_s, cfg->restart_delay_ms,
                               cfg->restart_max_delay_s};
    char detail[160];
    uint64_t wait, grace = standby_grace(c->fed);

    if (!pol.always) {
        set_state(c, ch, "exited", "warn", "it %s", how);
        return;
    }
    wait = restart_death(&pol, &ch->deaths, wall_ms(), ch->started_wall);
    if (wait < grace) /* a standby takes it over meanwhile: no start */
        wait = grace;
    ch->restart_at = mono_ms() + wait;
    snprintf(detail, sizeof(detail), "%s; starting it again in %llu ms%s", how,
             (unsigned long long)wait, grace ? " unless a standby takes it over first" : "");
    set_state(c, ch, "exited", "warn", "it %s", detail);
}

static void start_again(struct core *c, struct child *ch)
{
    char why[200];

    ch->restart_at = 0;
    *ch->error = '\0';
    if (start(c, ch, NULL, why, sizeof(why))) {
        set_state(c, ch, "failed", "warn", "cannot start it again: %s", why);
        return;
    }
    set_state(c, ch, ch->standby ? "standby" : "starting", "info", "%s",
              "started again after it exited");
}

/* It ended: reaped, and its cgroup removed. */
static void kept_as_standby(struct core *c, struct child *ch);

static void ended(struct core *c, struct child *ch, int status)
{
    /* a standby taking a manager over enters its cgroups */
    bool left = !ch->standby && strcmp(ch->state, "healthy") == 0 && standbys_running(c->fed);
    char how[64];

    if (status < 0)
        snprintf(how, sizeof(how), "ended"); /* adopted: its status went to init */
    else
        spawn_status_str(status, how, sizeof(how));
    ch->pid = 0;
    if (ch->standby && strcmp(ch->state, "stopping"))
        standby_died(c, ch, how);
    else if (strcmp(ch->state, "starting") == 0 && *ch->error) { /* killed at START_MAX_MS */
        char why[sizeof(ch->error)];

        snprintf(why, sizeof(why), "%s", ch->error);
        set_state(c, ch, "failed", "warn", "%s", why);
    } else if (strcmp(ch->state, "starting") == 0) {
        set_state(c, ch, "failed", "warn", "%s before it was healthy", how);
    } else if (strcmp(ch->state, "stopping") == 0 && ch->keep) {
        kept_as_standby(c, ch);
        return;
    } else if (strcmp(ch->state, "stopping") == 0) {
        set_state(c, ch, "stopped", "info", "%s", how);
    } else if (strcmp(ch->state, "healthy") == 0) {
        died(c, ch, how);
    }
    if (!left)
        release(c, ch);
}

/* A manager scaled in with stop_manager's "keep": "standby" (the policy's
 * scale_in), stopped: its VI (its limits, its room in the site) is kept
 * and a standby of this manager runs in it, beyond the policy's M, until
 * the next manager started here takes its room back (fed_spawn_apply). */
static void kept_as_standby(struct core *c, struct child *ch)
{
    char why[256];

    ch->keep = false;
    ch->kept = ch->standby = true;
    free(ch->dir);
    ch->dir = xstrdup(c->cfg->data_dir);
    ch->hb_ms = c->fed->standby_hb_ms ? c->fed->standby_hb_ms : 1000;
    ch->deaths = (struct restart_hist){0};
    *ch->error = '\0';
    if (start(c, ch, NULL, why, sizeof(why))) {
        set_state(c, ch, "stopped", "warn", "stopped, not kept as a standby: %s", why);
        release(c, ch);
        return;
    }
    set_state(c, ch, "standby", "info", "%s",
              "stopped at the cloud's instruction; its VI kept for a standby of the site");
    covers_update(c->fed);
}

/* Stops a manager kept as a standby (its VI removed), for why: one, so
 * that a new manager takes back the room of the scale in that kept it, or
 * all of them. */
static void unkeep(struct core *c, bool all, const char *why)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&c->fed->children, &i); e; e = hmap_next(&c->fed->children, e, &i)) {
        struct child *ch = e->value;

        if (!ch->kept)
            continue;
        if (ch->pid > 0 && strcmp(ch->state, "stopping")) {
            kill(ch->pid, SIGTERM);
            ch->stop_ms = (int64_t)mono_ms();
            set_state(c, ch, "stopping", "info", "%s", why);
        } else if (ch->pid <= 0 && ch->restart_at) {
            ch->restart_at = 0;
            set_state(c, ch, "stopped", "info", "%s", why);
            release(c, ch);
        } else {
            continue;
        }
        if (!all)
            return;
    }
}

/* Whether the process of ch is its vnfmd, running (not a zombie; an
 * adopted one is not our child, and its pid may have been reused). */
static bool alive(const struct child *ch)
{
    char *path = xasprintf("/proc/%d/cmdline", (int)ch->pid), *text = NULL;
    char *list = xasprintf("@%s/%s", ch->dir, COVERS_FILE);
    size_t len = 0;
    bool ok = false;

    if (read_file(path, 1 << 20, &text, &len) == 0)
        for (char *p = text; p < text + len; p += strlen(p) + 1)
            if (strcmp(p, ch->dir) == 0 || (ch->standby && strcmp(p, list) == 0))
                ok = true; /* its --data-dir, or a standby's --standby-for */
    free(text);
    free(list);
    free(path);
    if (ok) {
        char stat[64];
        FILE *f;

        path = xasprintf("/proc/%d/stat", (int)ch->pid);
        if ((f = fopen(path, "re"))) {
            if (fscanf(f, "%*d (%*[^)]) %63s", stat) == 1 && strcmp(stat, "Z") == 0)
                ok = false;
            fclose(f);
        }
        free(path);
    }
    return ok;
}

static bool taken_over(struct core *c, struct child *ch);

static void watch_one(struct core *c, struct child *ch, int64_t now)
{
    /* the VIM's process of this run: the driver's reaper waits for it */
    bool vims = ch->pid > 0 && ch->pid == ch->vi_pid && !ch->adopted;

    if (ch->busy)
        return; /* a job of its VI is under way */
    if (ch->vi_left) {
        if (ch->pid <= 0 && !ch->restart_at && !claim_pending(c->fed, ch))
            vi_job(c, ch, MVI_REMOVE, vi_removed);
        return;
    }
    if (ch->pid > 0 && !alive(ch)) {
        if (!vims || !vi_job(c, ch, MVI_STATUS, vi_ended)) /* how it ended */
            ended(c, ch, -1);
        return;
    }
    if (ch->pid <= 0) {
        if (!ch->standby && strcmp(ch->state, "exited") == 0 && taken_over(c, ch))
            return;
        if (ch->restart_at && mono_ms() >= ch->restart_at && !c->stopping)
            start_again(c, ch);
        return;
    }
    if (ch->pid != ch->vi_pid && !ch->unclaimed) { /* a standby took it over */
        vi_job(c, ch, MVI_CLAIM, vi_claimed);
        return;
    }
    if (strcmp(ch->state, "starting") == 0) {
        joined_as(ch);
        if (*ch->manager && fed_port_accepts(c, ch->port)) {
            set_state(c, ch, "healthy", "info", "%s", "joined the cloud as manager");
        } else if (now - ch->started_ms > START_MAX_MS) {
            kill(ch->pid, SIGKILL);
            snprintf(ch->error, sizeof(ch->error), "not healthy within %d s: killed",
                     START_MAX_MS / 1000);
        }
    } else if (strcmp(ch->state, "stopping") == 0 && now - ch->stop_ms > STOP_MAX_MS) {
        kill(ch->pid, SIGKILL);
    }
}

static void watch(uv_timer_t *h)
{
    struct fed *f = h->data;
    struct hmap_entry *e;
    int64_t now = (int64_t)mono_ms();
    size_t i;

    if (f->c->stopping)
        return;
    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i))
        watch_one(f->c, e->value, now);
    covers_update(f);
    standby_top_up(f->c);
    reserve(f->c);
}

/* ---- after a restart of this manager ---- */

/* One recorded manager: adopted when it still runs, else started again
 * (or, when it was being stopped, let go). */
static void standby_resume(struct core *c, struct child *ch, const json_t *r);

/* A manager that exited and was waiting out its crash-loop backoff when
 * this one stopped: it waits out the rest (true), watched again. */
static bool waits_out(struct child *ch, const json_t *r)
{
    int64_t due = jv_int(json_object_get(r, "_restart"), "due", 0), now = wall_ms();

    if (strcmp(ch->state, "exited") || !due)
        return false;
    ch->restart_at = mono_ms() + (due > now ? (uint64_t)(due - now) : 0);
    return true;
}

static void resume_one(struct core *c, const json_t *r)
{
    struct child *ch = xcalloc(1, sizeof(*ch));
    char why[200];

    snprintf(ch->name, sizeof(ch->name), "%s", jv_str(r, "name", ""));
    snprintf(ch->decision, sizeof(ch->decision), "%s", jv_str(r, "decision", ""));
    snprintf(ch->manager, sizeof(ch->manager), "%s", jv_str(r, "manager", ""));
    snprintf(ch->state, sizeof(ch->state), "%s", jv_str(r, "state", ""));
    snprintf(ch->subnet, sizeof(ch->subnet), "%s", jv_str(r, "subnet", ""));
    snprintf(ch->vi, sizeof(ch->vi), "%s", jv_str(r, "vi", ""));
    ch->ref = json_incref(json_object_get(r, "_ref"));
    ch->dir = xasprintf("%s/managers/%s", c->cfg->data_dir, ch->name);
    ch->pid = (pid_t)jv_int(r, "pid", 0);
    ch->vi_pid = (pid_t)jv_int(r, "_vi_pid", 0);
    ch->keep = json_is_true(json_object_get(r, "_keep"));
    ch->kept = json_is_true(json_object_get(r, "kept"));
    ch->port = (unsigned)jv_int(r, "port", 0);
    ch->vcpu = jv_num(r, "vcpu", 1);
    ch->memory_mb = (long)jv_int(r, "memory_mb", 512);
    ch->adopted = true;
    ch->started_ms = ch->stop_ms = (int64_t)mono_ms();
    restart_hist_load(r, &ch->deaths);
    ch->deaths.step = (unsigned)jv_int(json_object_get(r, "_restart"), "step", 0);
    ch->started_wall = jv_int(json_object_get(r, "_restart"), "started", 0);
    if (json_is_true(json_object_get(r, "standby"))) {
        standby_resume(c, ch, r);
        return;
    }
    pthread_mutex_lock(&c->fed->mu);
    hmap_put(&c->fed->children, ch->name, ch);
    pthread_mutex_unlock(&c->fed->mu);
    if (json_is_true(json_object_get(r, "_vi_left"))) { /* ended; its VI's removal failed */
        ch->pid = 0;
        ch->vi_left = true;
        return;
    }
    if (!(ch->pid > 0 && alive(ch)) && strcmp(ch->state, "stopping") &&
        (ch->pid = standby_recorded_pid(ch->dir)) > 0 && alive(ch))
        log_warn("fed: manager %s was taken over by a standby (pid %d) while this one was down",
                 ch->name, (int)ch->pid);
    if (ch->pid > 0 && alive(ch)) {
        log_info("fed: manager %s (pid %d) started by an earlier run still runs: adopted", ch->name,
                 (int)ch->pid);
        if (strcmp(ch->state, "stopping") == 0)
            kill(ch->pid, SIGTERM);
        return;
    }
    ch->pid = 0;
    if (strcmp(ch->state, "stopping") == 0 && ch->keep) {
        kept_as_standby(c, ch);
        return;
    }
    if (strcmp(ch->state, "stopping") == 0) {
        snprintf(ch->state, sizeof(ch->state), "stopped");
        release(c, ch);
        return;
    }
    if (waits_out(ch, r))
        return;
    if (strcmp(ch->state, "starting") == 0 && !*ch->manager)
        joined_as(ch);
    if (strcmp(ch->state, "starting") == 0 && !*ch->manager) {
        /* its start was cut short before it joined: its join token was in
         * its command line only, and the cloud's decision fails with this */
        snprintf(ch->state, sizeof(ch->state), "failed");
        snprintf(ch->error, sizeof(ch->error),
                 "did not start: the manager that started it ended before it joined");
        log_error("fed: manager %s: %s", ch->name, ch->error);
        release(c, ch);
        return;
    }
    snprintf(ch->state, sizeof(ch->state), "starting");
    if (start(c, ch, NULL, why, sizeof(why))) {
        snprintf(ch->state, sizeof(ch->state), "failed");
        snprintf(ch->error, sizeof(ch->error), "cannot start it again: %s", why);
        log_error("fed: manager %s: %s", ch->name, ch->error);
        return;
    }
    core_event(c, "warn", "fed", "manager-restarted",
               json_pack("{s:s, s:s, s:s}", "object", ch->name, "decision", ch->decision, "site",
                         c->cfg->site),
               "manager %s of site %s was not running after a restart of this one: started "
               "again (port %u, VI %s)",
               ch->name, c->cfg->site, ch->port, ch->vi);
}

static void standby_load(struct fed *f);

void fed_spawn_resume(struct fed *f)
{
    struct core *c = f->c;
    char *text = NULL;
    json_t *all = NULL, *r;
    size_t i;

    standby_load(f);
    if (store_meta_get(c->st, META_CHILDREN, &text) == 0)
        all = json_loads(text, 0, NULL);
    free(text);
    json_array_foreach(all, i, r)
    {
        const char *state = jv_str(r, "state", "");

        if (strcmp(state, "starting") && strcmp(state, "healthy") && strcmp(state, "stopping") &&
            strcmp(state, "standby") && strcmp(state, "promoted") &&
            !json_is_true(json_object_get(r, "_vi_left")) &&
            !(strcmp(state, "exited") == 0 && jv_int(json_object_get(r, "_restart"), "due", 0)))
            continue; /* ended: forgotten */
        watch_children(f);
        resume_one(c, r);
    }
    if (all)
        children_save(c);
    json_decref(all);
    reserve(c);
}

/* ---- stopping ---- */

static struct child *child_of(struct fed *f, const char *manager)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        struct child *ch = e->value;

        if (!ch->standby && (strcmp(ch->manager, manager) == 0 || strcmp(ch->name, manager) == 0))
            return ch;
    }
    return NULL;
}

int fed_child_addr(struct fed *f, const char *mgr, unsigned *port, char **dir)
{
    struct child *ch;
    int r = -ENOENT;

    pthread_mutex_lock(&f->mu);
    ch = child_of(f, mgr);
    if (ch && ch->pid > 0 && *ch->manager && strcmp(ch->state, "stopping")) {
        *port = ch->port;
        *dir = xstrdup(ch->dir);
        r = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

void fed_unspawn_apply(struct core *c, struct txn *t)
{
    const char *id = jv_str(t->body, "manager", ""), *keep = jv_str(t->body, "keep", NULL);
    struct child *ch = *id ? child_of(c->fed, id) : NULL;

    if (keep && strcmp(keep, "standby")) {
        result_fail(&t->res, 400, "bad-instruction", "field", "keep",
                    "stop_manager keeps a manager only as a \"standby\"");
        return;
    }
    if (!ch) {
        result_not_found(&t->res, "manager started here", id);
        return;
    }
    ch->keep = keep != NULL;
    if ((ch->pid > 0 || ch->busy) && strcmp(ch->state, "stopping")) {
        if (ch->pid > 0) /* else its VI's start is under way: vi_started stops it */
            kill(ch->pid, SIGTERM);
        ch->stop_ms = (int64_t)mono_ms();
        set_state(c, ch, "stopping", "info", "%s", "at the cloud's instruction");
        covers_update(c->fed);               /* the standbys let it go */
    } else if (ch->restart_at && ch->keep) { /* exited, waiting to start again */
        ch->restart_at = 0;
        kept_as_standby(c, ch);
    } else if (ch->restart_at) {
        ch->restart_at = 0;
        set_state(c, ch, "stopped", "info", "%s", "at the cloud's instruction, while it was down");
        release(c, ch);
    }
    result_ok(
        &t->res, 202,
        json_pack("{s:s, s:s, s:i}", "id", ch->name, "state", ch->state, "pid", (int)ch->pid));
}

/* Not waited for here (adopted, or the VIM's: its reaper waits): watched
 * until it is gone. */
static void stop_now(struct fed *f, struct child *ch)
{
    if (ch->pid > 0) {
        kill(ch->pid, SIGTERM);
        for (int waited = 0; alive(ch) && waited < STOP_MAX_MS; waited += 50)
            usleep(50 * 1000);
        if (alive(ch))
            kill(ch->pid, SIGKILL);
        for (int waited = 0; alive(ch) && waited < 2000; waited += 50)
            usleep(50 * 1000);
    }
    if (*ch->vi) /* this manager stops: on this thread, its pools are stopping */
        fed_mvi_remove_now(f->c, ch->vi, ch->ref, 0);
}

/* The children leave the map under f->mu before they are stopped and
 * freed: a report built meanwhile on another thread (branch.c) reads the
 * map under f->mu and must not see a child freed. */
void fed_spawn_stop_all(struct fed *f)
{
    struct hmap gone;
    struct hmap_entry *e;
    size_t i;

    pthread_mutex_lock(&f->mu);
    gone = f->children;
    hmap_init(&f->children);
    pthread_mutex_unlock(&f->mu);
    for (e = hmap_first(&gone, &i); e; e = hmap_next(&gone, e, &i)) {
        struct child *ch = e->value;

        stop_now(f, ch);
        json_decref(ch->ref);
        free(ch->dir);
        free(ch);
    }
    hmap_done(&gone);
    if (f->child_timer_on) {
        uv_timer_stop(&f->child_timer);
        fed_close(f, (uv_handle_t *)&f->child_timer);
        f->child_timer_on = false;
    }
    free(f->standby_covers);
    f->standby_covers = NULL;
}

/* ---- hot standbys of this manager (docs/FEDERATION.md "Standby managers") ---- */

#define META_STANDBYS "fed_standbys"

/* A standby recorded by an earlier run. One that took a manager over (this
 * one: its pid is this process's; or one it started, while this one was
 * down: its process runs, a standby no more) is promoted (its empty VI
 * goes); one still running is adopted; one that died is started again
 * (its crash-loop history goes on) while the policy wants it, else its VI
 * goes. */
static void standby_resume(struct core *c, struct child *ch, const json_t *r)
{
    struct fed *f = c->fed;

    ch->standby = true;
    free(ch->dir);
    ch->dir = xstrdup(c->cfg->data_dir);
    ch->hb_ms = f->standby_hb_ms;
    pthread_mutex_lock(&f->mu);
    hmap_put(&f->children, ch->name, ch);
    pthread_mutex_unlock(&f->mu);
    if (ch->pid == getpid())
        core_event(c, "warn", "fed", "standby-promoted",
                   json_pack("{s:s, s:s}", "object", ch->name, "site", c->cfg->site),
                   "standby %s (pid %d) of site %s took this manager over", ch->name, (int)ch->pid,
                   c->cfg->site);
    if (ch->pid == getpid() || strcmp(ch->state, "promoted") == 0 ||
        (ch->pid > 0 && !alive(ch) && !spawn_ended(ch->pid))) {
        promoted(ch, ch->pid == getpid() ? "" : jv_str(r, "took", ""));
        return;
    }
    if (ch->pid > 0 && alive(ch)) {
        log_info("fed: standby %s (pid %d) still watches: adopted", ch->name, (int)ch->pid);
        if (strcmp(ch->state, "stopping") == 0)
            kill(ch->pid, SIGTERM);
        return;
    }
    ch->pid = 0;
    if (f->standby_count && (waits_out(ch, r) || strcmp(ch->state, "standby") == 0)) {
        /* one that died while this manager was down died once more */
        if (!ch->restart_at)
            standby_died(c, ch, "ended while this manager was down");
        return;
    }
    snprintf(ch->state, sizeof(ch->state), "stopped");
    release(c, ch);
}

static void standby_load(struct fed *f)
{
    char *text = NULL;
    json_t *doc = NULL;

    if (store_meta_get(f->c->st, META_STANDBYS, &text) == 0)
        doc = json_loads(text, 0, NULL);
    free(text);
    f->standby_count = (unsigned)jv_int(doc, "count", 0);
    f->standby_hb_ms = (unsigned)jv_int(doc, "heartbeat_ms", 1000);
    f->standby_vcpu = jv_num(doc, "vcpu", 1);
    f->standby_mb = (long)jv_int(doc, "memory_mb", 512);
    json_decref(doc);
    if (f->standby_count)
        watch_children(f);
}

static unsigned standbys_running(struct fed *f)
{
    struct hmap_entry *e;
    unsigned n = 0;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        const struct child *ch = e->value;

        n += ch->standby && ch->pid > 0 && strcmp(ch->state, "stopping");
    }
    return n;
}

/* The policy's standbys (not the managers kept as standbys) running,
 * being started (no pid yet), or dead waiting to be started again. */
static unsigned standbys_kept(struct fed *f)
{
    struct hmap_entry *e;
    unsigned n = 0;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i)) {
        const struct child *ch = e->value;

        if (ch->standby && !ch->kept)
            n += ch->pid > 0 ? strcmp(ch->state, "stopping") != 0
                             : ch->restart_at || strcmp(ch->state, "standby") == 0;
    }
    return n;
}

/* A standby ended, not by this manager's hand: it is started again (the
 * same standby, its log appended) at once, or after the crash-loop backoff
 * of --restart-burst, --restart-window-s, --restart-delay-ms and
 * --restart-max-delay-s when it keeps dying (--restart-policy does not
 * apply: the policy's M is the cloud's). Meanwhile it counts as one of M. */
static void standby_died(struct core *c, struct child *ch, const char *how)
{
    const struct config *cfg = c->cfg;
    struct vnfd_restart pol = {true, cfg->restart_burst, cfg->restart_window_s,
                               cfg->restart_delay_ms, cfg->restart_max_delay_s};
    uint64_t wait = restart_death(&pol, &ch->deaths, wall_ms(), ch->started_wall);
    char detail[160];

    ch->restart_at = mono_ms() + wait;
    snprintf(detail, sizeof(detail), "%s; starting it again in %llu ms", how,
             (unsigned long long)wait);
    set_state(c, ch, "exited", "warn", "the standby %s", detail);
    if (wait)
        core_event(c, "warn", "fed", "standby-backoff",
                   json_pack("{s:s, s:s, s:I, s:i}", "object", ch->name, "site", c->cfg->site,
                             "restart_in_ms", (json_int_t)wait, "deaths", (int)ch->deaths.n),
                   "standby %s of site %s keeps dying (%u times within %u s, the last: %s): "
                   "started again in %llu ms",
                   ch->name, c->cfg->site, ch->deaths.n, cfg->restart_window_s, how,
                   (unsigned long long)wait);
}

/* Makes standbys until there are as many as the cloud asked for (from the
 * store: also with the cloud unreachable); stops those beyond. */
static void standby_top_up(struct core *c)
{
    struct fed *f = c->fed;
    unsigned n = standbys_kept(f);
    char why[768];
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->children, &i); e && n > f->standby_count;
         e = hmap_next(&f->children, e, &i)) {
        struct child *ch = e->value;

        if (!ch->standby || ch->kept)
            continue;
        if (ch->pid > 0 && strcmp(ch->state, "stopping")) {
            kill(ch->pid, SIGTERM);
            ch->stop_ms = (int64_t)mono_ms();
            set_state(c, ch, "stopping", "info", "%s", "more standbys than the policy's");
            n--;
        } else if (ch->pid <= 0 && ch->restart_at) {
            ch->restart_at = 0;
            set_state(c, ch, "stopped", "info", "%s", "not started again: more than the policy's");
            n--;
        }
    }
    if (n >= f->standby_count || c->stopping)
        return;
    covers_update(f);
    if (!room(c, f->standby_vcpu, f->standby_mb, why, sizeof(why))) {
        if (strcmp(f->standby_error, why))
            log_warn("fed: no standby made: %s", why);
        snprintf(f->standby_error, sizeof(f->standby_error), "%s", why);
        return;
    }
    struct child *ch = xcalloc(1, sizeof(*ch));

    id_random(ch->name, "s", 6);
    ch->standby = true;
    snprintf(ch->state, sizeof(ch->state), "standby");
    ch->dir = xstrdup(c->cfg->data_dir);
    ch->vcpu = f->standby_vcpu;
    ch->memory_mb = f->standby_mb;
    ch->hb_ms = f->standby_hb_ms;
    id_random(ch->vi, VIM_MANAGER_PREFIX, 6);
    prune(f);
    pthread_mutex_lock(&f->mu);
    hmap_put(&f->children, ch->name, ch);
    pthread_mutex_unlock(&f->mu);
    children_save(c); /* before its VI is made: a crash leaves nothing unknown */
    if (start(c, ch, NULL, why, sizeof(why))) {
        log_error("fed: cannot start a standby: %s", why);
        snprintf(f->standby_error, sizeof(f->standby_error), "%s", why);
        pthread_mutex_lock(&f->mu);
        hmap_del(&f->children, ch->name);
        pthread_mutex_unlock(&f->mu);
        children_save(c);
        free(ch->dir);
        free(ch);
        return;
    }
    f->standby_error[0] = '\0';
    set_state(c, ch, "standby", "info", "%s", "starting, to watch this manager");
}

/* The cloud's "standbys" instruction: how many hot standbys this manager
 * keeps, their limits and heartbeat. Kept in the store; made (or stopped)
 * by the watch. Refused when the site has no room for the missing ones. */
void fed_standbys_apply(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    long long count = jv_int(t->body, "count", -1);
    double vcpu = jv_num(t->body, "vcpu", 1);
    long memory_mb = (long)jv_int(t->body, "memory_mb", 512);
    long long hb = jv_int(t->body, "heartbeat_ms", 1000);
    unsigned running = standbys_kept(f); /* the policy's: kept managers are beyond it */
    char why[768], *text;
    json_t *doc;

    if (count < 0 || count > 16 || vcpu <= 0 || memory_mb <= 0 || hb < 10 || hb > 600000) {
        result_fail(&t->res, 400, "bad-instruction", "field", "count",
                    "standbys needs a count (0 to 16), vcpu, memory_mb and heartbeat_ms");
        return;
    }
    if (json_is_true(json_object_get(t->body, "release_kept")))
        unkeep(c, true,
               "the site's policy no longer keeps the managers of a scale in "
               "(scale_in: stop)");
    if ((unsigned)count > running &&
        !room(c, vcpu * (double)((unsigned)count - running),
              memory_mb * (long)((unsigned)count - running), why, sizeof(why))) {
        result_fail(&t->res, 409, "no-room", "object", c->cfg->site, "standbys: %s", why);
        return;
    }
    if (count)
        watch_children(f);
    doc = json_pack("{s:I, s:f, s:I, s:I}", "count", (json_int_t)count, "vcpu", vcpu, "memory_mb",
                    (json_int_t)memory_mb, "heartbeat_ms", (json_int_t)hb);
    text = json_dumps(doc, JSON_COMPACT);
    store_meta_set(c->st, META_STANDBYS, text);
    free(text);
    json_decref(doc);
    f->standby_count = (unsigned)count;
    f->standby_vcpu = vcpu;
    f->standby_mb = memory_mb;
    f->standby_hb_ms = (unsigned)hb;
    result_ok(&t->res, 200,
              json_pack("{s:I, s:i}", "count", (json_int_t)count, "running", (int)running));
}

/* ---- the managers the standbys cover ---- */

/* Whether the standbys cover ch: a manager started here that runs (or died
 * and is not restarted yet: a standby takes it over). */
static bool covered(const struct child *ch)
{
    return !ch->standby && (strcmp(ch->state, "healthy") == 0 || strcmp(ch->state, "exited") == 0);
}

/* Writes DATA_DIR/standby-covers when the managers covered changed: this
 * manager's data dir, then those of the managers it started. The standbys
 * read it again at their next heartbeat. */
static void covers_update(struct fed *f)
{
    struct sbuf b = SBUF_INIT;
    struct hmap_entry *e;
    char *path;
    size_t i;

    sbuf_addf(&b, "%s\n", f->c->cfg->data_dir);
    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i))
        if (covered(e->value))
            sbuf_addf(&b, "%s\n", ((struct child *)e->value)->dir);
    if (f->standby_covers && strcmp(f->standby_covers, sbuf_str(&b)) == 0) {
        sbuf_done(&b);
        return;
    }
    path = xasprintf("%s/%s", f->c->cfg->data_dir, COVERS_FILE);
    if (write_file_atomic(path, sbuf_str(&b), strlen(sbuf_str(&b)), 0600, true)) {
        log_warn("fed: cannot write %s: the standbys cover what they covered", path);
    } else {
        pthread_mutex_lock(&f->mu);
        free(f->standby_covers);
        f->standby_covers = xstrdup(sbuf_str(&b));
        pthread_mutex_unlock(&f->mu);
    }
    free(path);
    sbuf_done(&b);
}

static struct child *standby_by_pid(struct fed *f, pid_t pid)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->children, &i); e; e = hmap_next(&f->children, e, &i))
        if (((struct child *)e->value)->standby && ((struct child *)e->value)->pid == pid)
            return e->value;
    return NULL;
}

/* A manager started here that died: true when a standby took it over (the
 * pid its data dir records is that manager now). Then that pid is the
 * manager's, which its VI claims at the next watch; the standby is
 * promoted (its VI goes, another standby is made). */
static bool taken_over(struct core *c, struct child *ch)
{
    struct fed *f = c->fed;
    struct child *sb;
    char name[sizeof(ch->name)] = "";

    ch->pid = standby_recorded_pid(ch->dir);
    if (ch->pid <= 0 || !alive(ch)) {
        ch->pid = 0;
        return false;
    }
    ch->adopted = true;
    if ((sb = standby_by_pid(f, ch->pid))) {
        ch->adopted = sb->adopted;
        snprintf(name, sizeof(name), "%s", sb->name);
        promoted(sb, ch->name);
    }
    ch->restart_at = 0;
    ch->started_ms = (int64_t)mono_ms();
    *ch->error = '\0';
    core_event(
        c, "warn", "fed", "standby-promoted",
        json_pack("{s:s, s:s, s:s}", "object", ch->name, "standby", name, "site", c->cfg->site),
        "standby %s (pid %d) of site %s took manager %s (%s) over", *name ? name : "?",
        (int)ch->pid, c->cfg->site, ch->name, ch->manager);
    set_state(c, ch, "healthy", "info", "%s", "taken over by a standby");
    return true;
}
