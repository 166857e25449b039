#include "lcm/sites.h"
#include "lcm/recovery.h"
#include "core/health.h"
#include "core/wpool.h"
#include "lcm/ledger.h"
#include "lcm/observe.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/jsonv.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HELD_WAIT_MS 10000 /* open_now: how long a held instance is waited for */
#define CLAIM_MS     10000 /* an admission's claim in the ledger stands this long */

struct sites {
    struct hmap map; /* id -> struct site_rt (the loop's) */
    pthread_mutex_t mu;
    struct sites_snap *snap; /* what other threads read, under mu */
    /* the own site's ledger (role local), and this manager's last claim
     * in it: what it held when it admitted, with what it admitted */
    struct ledger ledger;
    struct site_reserved claim;
    uint64_t claim_until; /* mono ms */
};

const char *vim_health_name(enum vim_health h)
{
    switch (h) {
    case VIM_OK:
        return "ok";
    case VIM_UNREACHABLE:
        return "unreachable";
    case VIM_NO_CREDENTIALS:
        return "no-credentials";
    }
    return "unknown";
}

/* The VIM health of a site as the API says it. */
static const char *state_name(const struct site_rt *s)
{
    return s->opening ? "opening" : vim_health_name(s->health);
}

/* The VIM health of a branch site on the cloud: its manager's own check while
 * that manager reports, else what the cloud can say (the manager's state). */
static json_t *branch_vim(const json_t *doc)
{
    static const char *const known[] = {"ok", "unreachable", "no-credentials"};
    const char *state = jv_str(doc, "state", "unknown"), *h = jv_str(doc, "vim_health", "");
    char msg[128];

    if (strcmp(state, "active")) {
        snprintf(msg, sizeof(msg), "run by the branch's manager, which is %s", state);
        return json_pack("{s:s, s:s}", "health",
                         strcmp(state, "joining") == 0 ? "opening" : "unreachable", "message", msg);
    }
    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        if (strcmp(h, known[i]) == 0)
            return json_pack("{s:s, s:s}", "health", h, "message",
                             "as the branch's manager checked it");
    return json_pack("{s:s, s:s}", "health", "unknown", "message",
                     "run by the branch's manager, which has not said how it is");
}

/* ---- the snapshot ---- */

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct site_info *)a)->id, ((const struct site_info *)b)->id);
}

/* Replaces the snapshot with one of the sites as they are now. */
static void publish(struct core *c)
{
    struct sites *ss = c->sites;
    struct sites_snap *snap, *old;
    struct hmap_entry *e;
    size_t i, n = 0;

    snap = xcalloc(1, sizeof(*snap) + ss->map.size * sizeof(snap->sites[0]));
    snap->refs = 1;
    for (e = hmap_first(&ss->map, &i); e; e = hmap_next(&ss->map, e, &i)) {
        const struct site_rt *s = e->value;
        struct site_info *info = &snap->sites[n++];

        snprintf(info->id, sizeof(info->id), "%s", s->id);
        info->ops = s->ops;
        info->vim = s->vim;
        info->health = state_name(s);
        snprintf(info->health_msg, sizeof(info->health_msg), "%s", s->health_msg);
        info->reserved = s->reserved;
        info->others = s->others;
    }
    snap->n = n;
    qsort(snap->sites, n, sizeof(snap->sites[0]), by_id);
    pthread_mutex_lock(&ss->mu);
    old = ss->snap;
    ss->snap = snap;
    pthread_mutex_unlock(&ss->mu);
    sites_snap_put(old);
}

const struct sites_snap *sites_snap_get(struct core *c)
{
    struct sites *ss = c->sites;
    struct sites_snap *snap;

    pthread_mutex_lock(&ss->mu);
    snap = ss->snap;
    __atomic_add_fetch(&snap->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&ss->mu);
    return snap;
}

void sites_snap_put(const struct sites_snap *s)
{
    struct sites_snap *snap = (struct sites_snap *)s;

    if (snap && __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(snap);
}

const struct site_info *sites_snap_find(const struct sites_snap *s, const char *id)
{
    struct site_info key;

    if (!id)
        return NULL;
    snprintf(key.id, sizeof(key.id), "%s", id);
    return bsearch(&key, s->sites, s->n, sizeof(s->sites[0]), by_id);
}

/* ---- sites of the loop ---- */

static long long host_memory_mb(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    return pages > 0 && size > 0 ? (long long)pages * size / (1024 * 1024) : 1024;
}

static long long free_disk_mb(const char *dir)
{
    struct statvfs sv;

    if (statvfs(dir, &sv) < 0)
        return 1024;
    return (long long)(sv.f_bavail * sv.f_frsize / (1024 * 1024));
}

int site_check_options(const struct vim_ops *ops, const json_t *options, struct jv_error *err)
{
    const struct jv_field table = {.type = JV_OBJECT, .fields = ops->site_options};
    static const struct jv_field none[] = {{.name = NULL}};

    if (!ops->site_options)
        return jv_check_at(options, &(const struct jv_field){.type = JV_OBJECT, .fields = none},
                           "options", err);
    return jv_check_at(options, &table, "options", err);
}

/* The driver's site option called name, or NULL. */
static const struct jv_field *option(const struct vim_ops *ops, const char *name)
{
    for (const struct jv_field *f = ops->site_options; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The record of the manager's own site, from the command line. */
static json_t *default_site(struct core *c, unsigned index)
{
    const struct config *cfg = c->cfg;
    const struct vim_ops *ops = vim_driver_find(cfg->site_driver);
    const struct jv_field *warm;
    char bridge[16], gw[IP4_STR_MAX];
    struct jv_error err;
    uint32_t net;
    unsigned plen;
    json_t *doc;

    doc = json_pack(
        "{s:s, s:s, s:{s:f, s:I, s:I}, s:{}}", "id", cfg->site, "driver", ops->name, "capacity",
        "vcpu", cfg->site_vcpu > 0 ? cfg->site_vcpu : (double)sysconf(_SC_NPROCESSORS_ONLN),
        "memory_mb", (json_int_t)(cfg->site_memory_mb ? cfg->site_memory_mb : host_memory_mb()),
        "disk_mb",
        (json_int_t)(cfg->site_disk_mb ? cfg->site_disk_mb : free_disk_mb(cfg->data_dir)),
        "options");
    if (ops->addressing == VIM_ADDR_SITE) {
        if (cidr_parse(cfg->subnet, &net, &plen)) {
            log_error("--subnet '%s' is not an IPv4 network (a.b.c.0/8..30)", cfg->subnet);
            json_decref(doc);
            return NULL;
        }
        snprintf(bridge, sizeof(bridge), "vb%s%u", c->tag, index % 100);
        json_object_set_new(doc, "subnet", json_string(cfg->subnet));
        json_object_set_new(doc, "gateway", json_string(ip4_fmt(net + 1, gw)));
        json_object_set_new(doc, "bridge", json_string(bridge));
    }
    warm = option(ops, "warm_vis");
    if (cfg->site_warm_vis && warm)
        json_object_set_new(json_object_get(doc, "options"), "warm_vis",
                            json_integer(cfg->site_warm_vis));
    if (site_check_options(ops, json_object_get(doc, "options"), &err)) {
        log_error("--site-warm-vis must be at most %d", warm ? (int)warm->max : 0);
        json_decref(doc);
        return NULL;
    }
    doc_touch(doc, "created");
    doc_touch(doc, "updated");
    return doc;
}

static int ensure_default_site(struct core *c)
{
    json_t *doc;
    long n;
    int r;

    if (store_get(c->st, STORE_SITE, c->cfg->site, &doc) == 0) {
        if (doc_str(doc, "subnet") && strcmp(doc_str(doc, "subnet"), c->cfg->subnet) != 0)
            log_warn("site %s keeps its subnet %s (--subnet %s applies to new sites only)",
                     c->cfg->site, doc_str(doc, "subnet"), c->cfg->subnet);
        json_decref(doc);
        return 0;
    }
    n = store_count(c->st, STORE_SITE, NULL, 0);
    doc = default_site(c, n < 0 ? 0 : (unsigned)n);
    if (!doc)
        return -EINVAL;
    r = store_put(c->st, STORE_SITE, doc);
    json_decref(doc);
    return r;
}

/* What the driver of site s is opened with; its strings live in doc. */
static struct vim_site vim_site_of(struct core *c, const struct site_rt *s, const json_t *doc)
{
    return (struct vim_site){.name = s->id,
                             .tag = c->tag,
                             .data_dir = c->cfg->data_dir,
                             .cmd_path = c->cfg->vnf_path,
                             .bridge = s->bridge,
                             .gateway = s->gateway,
                             .prefix_len = s->prefix_len,
                             .options = json_object_get(doc, "options")};
}

/* The health of a site whose driver did not open: without the privileges
 * the VIM needs, the manager lacks its credentials for it. */
static enum vim_health open_health(int r)
{
    return r == -EPERM || r == -EACCES ? VIM_NO_CREDENTIALS : VIM_UNREACHABLE;
}

/* A site of record doc, not open yet; its driver ops, or by its name. */
static struct site_rt *site_new(const json_t *doc, const struct vim_ops *ops)
{
    struct site_rt *s = xcalloc(1, sizeof(*s));

    snprintf(s->id, sizeof(s->id), "%s", doc_str(doc, "id"));
    snprintf(s->bridge, sizeof(s->bridge), "%s", jv_str(doc, "bridge", ""));
    s->ops = ops ? ops : vim_driver_find(jv_str(doc, "driver", ""));
    s->health = VIM_UNREACHABLE;
    if (!s->ops) {
        snprintf(s->health_msg, sizeof(s->health_msg), "site %s: no VIM driver '%s'", s->id,
                 jv_str(doc, "driver", ""));
    } else if (s->ops->addressing == VIM_ADDR_SITE &&
               cidr_parse(jv_str(doc, "subnet", ""), &s->net, &s->prefix_len)) {
        s->ops = NULL;
        snprintf(s->health_msg, sizeof(s->health_msg), "site %s: no valid subnet", s->id);
    } else {
        s->gateway = s->net ? s->net + 1 : 0;
        snprintf(s->health_msg, sizeof(s->health_msg), "opening the %s VIM", s->ops->name);
        s->opening = true;
    }
    return s;
}

static void site_add_rt(struct core *c, struct site_rt *s)
{
    hmap_put(&c->sites->map, s->id, s);
    if (c->health) /* none in a test's core */
        health_set_vim(c->health, s->id, state_name(s), s->health_msg);
}

/* Opens a site's driver before the loop runs (start-up, or a standby taking
 * over, docs/HA.md). A driver that finds its instance held (-EAGAIN: the
 * manager of this tag that ran before is still ending, after a takeover or a
 * restart) is asked again for up to HELD_WAIT_MS: acting on the host's VIs
 * beside it would be worse than waiting. */
static void open_now(struct core *c, struct site_rt *s, const json_t *doc)
{
    struct vim_site vs = vim_site_of(c, s, doc);
    struct vim_err err = {""};
    int r = s->ops->open(&vs, &s->vim, &err);

    for (unsigned waited = 0; r == -EAGAIN && waited < HELD_WAIT_MS; waited += 100) {
        if (waited == 0)
            log_warn("site %s: %s; waiting", s->id, err.msg);
        usleep(100 * 1000);
        r = s->ops->open(&vs, &s->vim, &err);
    }

    if (r) {
        s->vim = NULL;
        s->health = open_health(r);
        snprintf(s->health_msg, sizeof(s->health_msg), "%s", err.msg);
        log_error("site %s: cannot open the %s VIM: %s", s->id, s->ops->name, err.msg);
    } else {
        s->health = VIM_OK;
        s->health_msg[0] = '\0';
    }
}

static void sites_alloc(struct core *c)
{
    c->sites = xcalloc(1, sizeof(*c->sites));
    c->sites->ledger.fd = -1;
    hmap_init(&c->sites->map);
    pthread_mutex_init(&c->sites->mu, NULL);
}

int sites_init(struct core *c)
{
    json_t *docs, *doc;
    size_t i;
    int r;

    sites_alloc(c);
    if (strcmp(c->cfg->role, "local") == 0 && c->cfg->site_ledger &&
        (r = ledger_open(&c->sites->ledger, c->cfg->site_ledger)))
        log_warn("site ledger %s: cannot open it (%s): admissions count the site's other "
                 "managers as the cloud reports them",
                 c->cfg->site_ledger, strerror(-r));
    r = ensure_default_site(c);
    if (r == 0)
        r = store_list(c->st, STORE_SITE, NULL, &docs);
    if (r) {
        publish(c);
        return r;
    }
    json_array_foreach(docs, i, doc)
    {
        struct site_rt *s;

        if (site_is_branch(doc)) /* a branch manager's: no driver here (src/fed/) */
            continue;
        s = site_new(doc, NULL);
        s->opening = false;
        if (s->ops)
            open_now(c, s, doc); /* before the loop runs: recovery needs them */
        site_add_rt(c, s);
    }
    json_decref(docs);
    publish(c);
    return 0;
}

void sites_attach(struct core *c, const json_t *doc, const struct vim_ops *ops, void *vim)
{
    struct site_rt *s;

    if (!c->sites)
        sites_alloc(c);
    s = site_new(doc, ops);
    s->opening = false;
    s->vim = vim;
    s->health = VIM_OK;
    s->health_msg[0] = '\0';
    site_add_rt(c, s);
    publish(c);
}

void sites_close(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    if (!c->sites)
        return;
    for (e = hmap_first(&c->sites->map, &i); e; e = hmap_next(&c->sites->map, e, &i)) {
        struct site_rt *s = e->value;

        if (s->vim)
            s->ops->close(s->vim);
        json_decref(s->cloud_by);
        free(s);
    }
    ledger_close(&c->sites->ledger);
    hmap_done(&c->sites->map);
    sites_snap_put(c->sites->snap);
    pthread_mutex_destroy(&c->sites->mu);
    free(c->sites);
    c->sites = NULL;
}

struct site_rt *site_get(struct core *c, const char *id)
{
    return id && c->sites ? hmap_get(&c->sites->map, id) : NULL;
}

void sites_each(struct core *c, void (*fn)(struct core *c, struct site_rt *s))
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&c->sites->map, &i); e; e = hmap_next(&c->sites->map, e, &i))
        fn(c, e->value);
}

/* A site's VIM health changed: an event, the health service told, and a
 * new snapshot. */
static void site_set_health(struct core *c, struct site_rt *s, enum vim_health h, const char *msg)
{
    bool was_opening = s->opening;

    s->opening = false;
    if (!was_opening && h == s->health && strcmp(msg, s->health_msg) == 0)
        return;
    core_event(c, h == VIM_OK ? "info" : "error", "vim", "health",
               json_pack("{s:s, s:s}", "object", "site", "result", vim_health_name(h)),
               "site %s: VIM %s%s%s", s->id, vim_health_name(h), *msg ? ": " : "", msg);
    s->health = h;
    snprintf(s->health_msg, sizeof(s->health_msg), "%s", msg);
    health_set_vim(c->health, s->id, state_name(s), s->health_msg);
    publish(c);
    lc_site_changed(c, s->id);
}

/* ---- driver work on the provisioning pool ---- */

enum site_work { SW_CHECK, SW_OPEN, SW_CONFIGURE };

struct site_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    enum site_work what;
    json_t *doc; /* SW_OPEN, SW_CONFIGURE: the site's record */
    void *vim;   /* SW_OPEN: what the driver opened */
    int r;
    enum vim_health health;
    struct vim_err err;
};

static void site_work(struct wjob *w)
{
    struct site_job *j = (struct site_job *)w;
    struct site_rt *s = j->site;
    struct vim_site vs;

    j->err.msg[0] = '\0';
    switch (j->what) {
    case SW_CHECK:
        j->health = s->ops->check(s->vim, &j->err);
        break;
    case SW_OPEN:
        vs = vim_site_of(j->c, s, j->doc);
        j->r = s->ops->open(&vs, &j->vim, &j->err);
        break;
    case SW_CONFIGURE:
        j->r = s->ops->configure(s->vim, json_object_get(j->doc, "options"), &j->err);
        break;
    }
}

static void site_done(struct wjob *w)
{
    struct site_job *j = (struct site_job *)w;
    struct site_rt *s = j->site;

    s->busy = false;
    if (w->cancelled) {
        if (j->what == SW_OPEN && j->r == 0)
            s->ops->close(j->vim);
    } else if (j->what == SW_CHECK) {
        site_set_health(j->c, s, j->health, j->err.msg);
        if (j->health == VIM_OK && s->recover_later) {
            recovery_resume_site(j->c, s);
            lc_site_changed(j->c, s->id);
        }
    } else if (j->what == SW_CONFIGURE) {
        if (j->r)
            log_error("site %s: the VIM refused its new options: %s", s->id, j->err.msg);
    } else if (j->r == 0) {
        s->vim = j->vim;
        log_info("site %s: the %s VIM opened", s->id, s->ops->name);
        site_set_health(j->c, s, VIM_OK, ""); /* a change: publishes the site open */
    } else {
        site_set_health(j->c, s, open_health(j->r), j->err.msg);
    }
    json_decref(j->doc);
    free(j);
}

static void submit(struct core *c, struct site_rt *s, enum site_work what)
{
    struct site_job *j = xcalloc(1, sizeof(*j));

    if (what != SW_CHECK && !(j->doc = core_load(c, STORE_SITE, s->id))) {
        free(j);
        return;
    }
    j->w.work = site_work;
    j->w.done = site_done;
    j->c = c;
    j->site = s;
    j->what = what;
    s->busy = true;
    wpool_submit(c->prov, &j->w);
}

void sites_check_all(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&c->sites->map, &i); e; e = hmap_next(&c->sites->map, e, &i)) {
        struct site_rt *s = e->value;

        /* a site that did not open is tried again: its subnet may be free
         * now, its bridge removed (issue 10 finding 11) */
        if (s->ops && !s->busy)
            submit(c, s, s->vim ? SW_CHECK : SW_OPEN);
    }
}

void site_add(struct core *c, const json_t *doc)
{
    struct site_rt *s = site_new(doc, NULL);

    site_add_rt(c, s);
    publish(c);
    if (s->ops)
        submit(c, s, SW_OPEN);
}

void site_configure(struct core *c, const char *id)
{
    struct site_rt *s = site_get(c, id);

    /* a site whose driver has not opened yet takes the options when it does */
    if (s && s->vim && s->ops->configure)
        submit(c, s, SW_CONFIGURE);
}

/* ---- addresses, capacity, the view ---- */

int site_alloc_ip(struct core *c, struct site_rt *s, uint32_t *ip)
{
    struct store_where w = {"site", s->id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    uint32_t size = 1u << (32 - s->prefix_len);
    unsigned char *used;
    json_t *vis, *vi;
    size_t i;
    int r;

    r = store_list(c->st, STORE_VI, &o, &vis);
    if (r)
        return r;
    used = xcalloc(size, 1);
    json_array_foreach(vis, i, vi)
    {
        uint32_t a;

        if (doc_str(vi, "ip") && ip4_parse(doc_str(vi, "ip"), &a) == 0 && a - s->net < size)
            used[a - s->net] = 1;
    }
    json_decref(vis);
    /* addresses of VIs another manager of the site runs now (fed/handover.c) */
    if (store_get(c->st, STORE_SITE, s->id, &vis) == 0) {
        const char *key;
        json_t *v;

        json_object_foreach(json_object_get(vis, "_held_ips"), key, v)
        {
            uint32_t a;

            (void)v;
            if (ip4_parse(key, &a) == 0 && a - s->net < size)
                used[a - s->net] = 1;
        }
        json_decref(vis);
    }
    r = -ENOSPC;
    for (uint32_t off = 2; off < size - 1; off++) { /* .0 network, .1 gateway, last broadcast */
        if (!used[off]) {
            *ip = s->net + off;
            r = 0;
            break;
        }
    }
    free(used);
    return r;
}

static void held_set(struct core *c, struct site_reserved *was, const struct site_reserved *r)
{
    if (was->vcpu == r->vcpu && was->memory_mb == r->memory_mb && was->managers == r->managers)
        return;
    *was = *r;
    publish(c);
}

/* The site's ledger applies: this manager's own site, with a ledger open. */
static bool ledger_of(struct core *c, const struct site_rt *s)
{
    return c->sites->ledger.fd >= 0 && strcmp(s->id, c->cfg->site) == 0;
}

/* What this manager holds of site s now (its VIs and the managers it
 * started), or its last claim while that stands, when more. */
static struct ledger_entry own_entry(struct core *c, const struct site_rt *s)
{
    struct sites *ss = c->sites;
    struct ledger_entry e = {.pid = getpid()};
    struct store_usage u = {0};

    snprintf(e.tag, sizeof(e.tag), "%s", c->tag);
    store_site_usage(c->st, s->id, &u);
    e.vcpu = u.vcpu + s->reserved.vcpu;
    e.memory_mb = u.memory_mb + s->reserved.memory_mb;
    if (mono_ms() < ss->claim_until) { /* its commit may not show yet */
        e.vcpu = fmax(e.vcpu, ss->claim.vcpu);
        e.memory_mb = e.memory_mb > ss->claim.memory_mb ? e.memory_mb : ss->claim.memory_mb;
    }
    return e;
}

static void add_to(struct site_reserved *r, double vcpu, long long memory_mb)
{
    r->vcpu += vcpu;
    r->memory_mb += memory_mb;
    r->managers++;
}

/* The site's other managers: the cloud's figure of each, or the ledger's
 * where it has it (fresher), and those only the ledger has (not joined
 * yet). A cloud that gave no figure of each: the larger sum. */
static struct site_reserved others_now(const struct site_rt *s, const struct ledger *l)
{
    struct site_reserved r = {0};
    bool seen[LEDGER_MAX] = {0};
    const char *tag;
    json_t *v;

    if (!json_is_object(s->cloud_by)) {
        for (size_t i = 0; i < l->n; i++)
            add_to(&r, l->others[i].vcpu, l->others[i].memory_mb);
        return (struct site_reserved){
            fmax(r.vcpu, s->cloud.vcpu),
            r.memory_mb > s->cloud.memory_mb ? r.memory_mb : s->cloud.memory_mb,
            r.managers > s->cloud.managers ? r.managers : s->cloud.managers};
    }
    json_object_foreach(s->cloud_by, tag, v)
    {
        size_t i = 0;

        while (i < l->n && strcmp(l->others[i].tag, tag))
            i++;
        if (i < l->n)
            seen[i] = true;
        add_to(&r, i < l->n ? l->others[i].vcpu : jv_num(v, "vcpu", 0),
               i < l->n ? l->others[i].memory_mb : jv_int(v, "memory_mb", 0));
    }
    for (size_t i = 0; i < l->n; i++)
        if (!seen[i])
            add_to(&r, l->others[i].vcpu, l->others[i].memory_mb);
    return r;
}

/* Locks the ledger and counts the others from it: true when locked (then
 * ledger_unlock follows). Without a ledger, the cloud's figures. */
static bool others_read(struct core *c, struct site_rt *s)
{
    struct ledger *l = &c->sites->ledger;
    bool locked = ledger_of(c, s) && ledger_lock(l) == 0;
    struct site_reserved r = locked ? others_now(s, l) : s->cloud;

    held_set(c, &s->others, &r);
    return locked;
}

/* After others_read: this manager's entry written again, the ledger
 * unlocked. */
static void release(struct core *c, struct site_rt *s, bool locked)
{
    struct ledger_entry mine;

    if (!locked)
        return;
    mine = own_entry(c, s);
    ledger_unlock(&c->sites->ledger, &mine);
}

/* Writes this manager's entry again and reads the others'. */
static void ledger_sync(struct core *c, struct site_rt *s)
{
    release(c, s, others_read(c, s));
}

void sites_check_waiting(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    for (e = c->sites ? hmap_first(&c->sites->map, &i) : NULL; e;
         e = hmap_next(&c->sites->map, e, &i)) {
        struct site_rt *s = e->value;

        if (s->recover_later && s->ops && s->vim && !s->busy)
            submit(c, s, SW_CHECK);
    }
}

void sites_tick(struct core *c)
{
    struct site_rt *s = c->sites ? site_get(c, c->cfg->site) : NULL;

    if (s)
        ledger_sync(c, s);
    sites_check_waiting(c);
}

void site_reserve(struct core *c, const char *site, const struct site_reserved *r)
{
    struct site_rt *s = site_get(c, site);

    if (!s)
        return;
    held_set(c, &s->reserved, r);
    ledger_sync(c, s);
}

void site_others(struct core *c, const char *site, const struct site_reserved *r, const json_t *by)
{
    struct site_rt *s = site_get(c, site);
    struct site_reserved held;

    if (!s)
        return;
    s->cloud = *r;
    json_decref(s->cloud_by);
    s->cloud_by = json_is_object(by) ? json_deep_copy(by) : NULL;
    /* with the ledger's lines of the last tick: every report need not read
     * and write it again (an admission does, under its lock) */
    held = ledger_of(c, s) ? others_now(s, &c->sites->ledger) : s->cloud;
    held_set(c, &s->others, &held);
}

struct site_reserved site_held(const struct site_reserved *reserved,
                               const struct site_reserved *others)
{
    return (struct site_reserved){reserved->vcpu + others->vcpu,
                                  reserved->memory_mb + others->memory_mb,
                                  reserved->managers + others->managers};
}

/* With the ledger locked (locked), the admitted request is claimed in it
 * before it goes: this manager's entry is what it holds, or its last
 * claim while that stands, plus the request. */
static void admitted(struct core *c, struct site_rt *s, bool locked, double vcpu,
                     long long memory_mb)
{
    struct sites *ss = c->sites;
    struct ledger_entry mine;

    if (!locked)
        return;
    mine = own_entry(c, s);
    mine.vcpu += vcpu;
    mine.memory_mb += memory_mb;
    ss->claim = (struct site_reserved){mine.vcpu, mine.memory_mb, 0};
    ss->claim_until = mono_ms() + CLAIM_MS;
    ledger_unlock(&ss->ledger, &mine);
}

int site_admit(struct core *c, const char *site, double vcpu, long long memory_mb,
               long long disk_mb, struct result *r)
{
    struct site_rt *s = site_get(c, site);
    bool locked = s && others_read(c, s);
    struct site_reserved held = s ? site_held(&s->reserved, &s->others) : (struct site_reserved){0};
    struct store_usage u = {0};
    json_t *doc, *cap;
    double free_vcpu;
    long long free_mem, free_disk;

    if (store_get(c->st, STORE_SITE, site, &doc)) {
        release(c, s, locked);
        return result_not_found(r, "site", site);
    }
    cap = json_object_get(doc, "capacity");
    store_site_usage(c->st, site, &u);
    free_vcpu = jv_num(cap, "vcpu", 0) - u.vcpu - held.vcpu;
    free_mem = jv_int(cap, "memory_mb", 0) - u.memory_mb - held.memory_mb;
    free_disk = jv_int(cap, "disk_mb", 0) - u.disk_mb;
    json_decref(doc);
    if (vcpu > free_vcpu + 1e-9 || memory_mb > free_mem || disk_mb > free_disk) {
        char obj[128];

        snprintf(obj, sizeof(obj), "site/%s", site);
        release(c, s, locked);
        return result_fail(r, 409, "insufficient-capacity", "object", obj,
                           "site %s cannot hold it: requested %.2f vCPU, %lld MB memory, %lld MB "
                           "disk; free %.2f vCPU, %lld MB memory, %lld MB disk%s",
                           site, vcpu, memory_mb, disk_mb, free_vcpu < 0 ? 0 : free_vcpu,
                           free_mem < 0 ? 0 : free_mem, free_disk < 0 ? 0 : free_disk,
                           held.managers ? " (after what the site's other managers hold)" : "");
    }
    admitted(c, s, locked, vcpu, memory_mb);
    return 0;
}

bool site_is_branch(const json_t *doc)
{
    return strcmp(jv_str(doc, "kind", ""), "branch") == 0;
}

json_t *site_reserved_json(const struct site_reserved *r)
{
    return json_pack("{s:f, s:I, s:i}", "vcpu", r->vcpu, "memory_mb", (json_int_t)r->memory_mb,
                     "managers", (int)r->managers);
}

json_t *site_view(struct store *st, const json_t *doc, const struct site_info *info)
{
    json_t *v = doc_public(doc), *cap = json_object_get(doc, "capacity");
    struct site_reserved held = {0};
    struct store_usage u = {0};

    if (site_is_branch(doc)) { /* what its manager reported (src/fed/) */
        const json_t *a = json_object_get(doc, "allocated");

        json_object_set_new(
            v, "free",
            json_pack(
                "{s:f, s:I, s:I}", "vcpu", jv_num(cap, "vcpu", 0) - jv_num(a, "vcpu", 0),
                "memory_mb", (json_int_t)(jv_int(cap, "memory_mb", 0) - jv_int(a, "memory_mb", 0)),
                "disk_mb", (json_int_t)(jv_int(cap, "disk_mb", 0) - jv_int(a, "disk_mb", 0))));
        json_object_set_new(v, "vim", branch_vim(doc));
        return v;
    }
    store_site_usage(st, doc_str(doc, "id"), &u);
    if (info)
        held = site_held(&info->reserved, &info->others);
    json_object_set_new(v, "allocated",
                        json_pack("{s:f, s:I, s:I, s:I}", "vcpu", u.vcpu, "memory_mb",
                                  (json_int_t)u.memory_mb, "disk_mb", (json_int_t)u.disk_mb, "vis",
                                  (json_int_t)u.vis));
    if (info) {
        json_object_set_new(v, "reserved", site_reserved_json(&info->reserved));
        if (info->others.managers)
            json_object_set_new(v, "others", site_reserved_json(&info->others));
    }
    json_object_set_new(
        v, "free",
        json_pack("{s:f, s:I, s:I}", "vcpu", jv_num(cap, "vcpu", 0) - u.vcpu - held.vcpu,
                  "memory_mb",
                  (json_int_t)(jv_int(cap, "memory_mb", 0) - u.memory_mb - held.memory_mb),
                  "disk_mb", (json_int_t)(jv_int(cap, "disk_mb", 0) - u.disk_mb)));
    json_object_set_new(v, "vim",
                        json_pack("{s:s, s:s}", "health", info ? info->health : "unknown",
                                  "message", info ? info->health_msg : ""));
    if (info && info->vim && info->ops->view)
        info->ops->view(info->vim, v);
    return v;
}
