#include "lcm/sites.h"
#include "core/health.h"
#include "core/wpool.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/jsonv.h"
#include "util/net4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

/* The record of the manager's own site, from the command line. */
static json_t *default_site(struct core *c, unsigned index)
{
    const struct config *cfg = c->cfg;
    char bridge[16], gw[IP4_STR_MAX];
    uint32_t net;
    unsigned plen;
    json_t *doc;

    if (cidr_parse(cfg->subnet, &net, &plen)) {
        log_error("--subnet '%s' is not an IPv4 network (a.b.c.0/8..30)", cfg->subnet);
        return NULL;
    }
    snprintf(bridge, sizeof(bridge), "vb%s%u", c->tag, index % 100);
    doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:f, s:I, s:I}, s:{}}", "id", cfg->site, "driver", "proc",
        "subnet", cfg->subnet, "gateway", ip4_fmt(net + 1, gw), "bridge", bridge, "capacity",
        "vcpu", cfg->site_vcpu > 0 ? cfg->site_vcpu : (double)sysconf(_SC_NPROCESSORS_ONLN),
        "memory_mb", (json_int_t)(cfg->site_memory_mb ? cfg->site_memory_mb : host_memory_mb()),
        "disk_mb",
        (json_int_t)(cfg->site_disk_mb ? cfg->site_disk_mb : free_disk_mb(cfg->data_dir)),
        "options");
    if (cfg->site_warm_vis)
        json_object_set_new(json_object_get(doc, "options"), "warm_vis",
                            json_integer(cfg->site_warm_vis));
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
        if (strcmp(doc_str(doc, "subnet"), c->cfg->subnet) != 0)
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

static void site_free(struct site_rt *s)
{
    if (s->vim)
        s->ops->close(s->vim);
    free(s);
}

/* What the driver of site s is opened with; its strings live in doc. */
static struct vim_site vim_site_of(struct core *c, const struct site_rt *s, const json_t *doc)
{
    return (struct vim_site){.name = s->id,
                             .tag = c->tag,
                             .data_dir = c->cfg->data_dir,
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

static struct site_rt *site_open(struct core *c, const json_t *doc)
{
    struct site_rt *s = xcalloc(1, sizeof(*s));
    struct vim_err err = {""};
    struct vim_site vs;
    int r;

    snprintf(s->id, sizeof(s->id), "%s", doc_str(doc, "id"));
    snprintf(s->bridge, sizeof(s->bridge), "%s", doc_str(doc, "bridge"));
    s->ops = vim_driver_find(doc_str(doc, "driver"));
    if (!s->ops || cidr_parse(doc_str(doc, "subnet"), &s->net, &s->prefix_len)) {
        s->ops = NULL;
        s->health = VIM_UNREACHABLE;
        snprintf(s->health_msg, sizeof(s->health_msg), "site %s: unknown driver or subnet", s->id);
        return s;
    }
    s->gateway = s->net + 1;
    vs = vim_site_of(c, s, doc);
    r = s->ops->open(&vs, &s->vim, &err);
    if (r) {
        s->vim = NULL;
        s->health = open_health(r);
        snprintf(s->health_msg, sizeof(s->health_msg), "%s", err.msg);
        log_error("site %s: cannot open the %s VIM: %s", s->id, s->ops->name, err.msg);
    }
    return s;
}

int sites_init(struct core *c)
{
    json_t *docs, *doc;
    size_t i;
    int r;

    r = ensure_default_site(c);
    if (r)
        return r;
    r = store_list(c->st, STORE_SITE, NULL, &docs);
    if (r)
        return r;
    json_array_foreach(docs, i, doc)
    {
        struct site_rt *s = site_open(c, doc);

        hmap_put(&c->sites, s->id, s);
        health_set_vim(c->health, s->id, vim_health_name(s->health), s->health_msg);
    }
    json_decref(docs);
    return 0;
}

void sites_close(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&c->sites, &i); e; e = hmap_next(&c->sites, e, &i))
        site_free(e->value);
    hmap_done(&c->sites);
}

struct site_rt *site_get(struct core *c, const char *id)
{
    return id ? hmap_get(&c->sites, id) : NULL;
}

struct check_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    enum vim_health health;
    struct vim_err err;
};

static void check_work(struct wjob *w)
{
    struct check_job *j = (struct check_job *)w;

    j->err.msg[0] = '\0';
    j->health = j->site->ops->check(j->site->vim, &j->err);
}

/* A site's VIM health changed: an event, and the health service told. */
static void site_set_health(struct core *c, struct site_rt *s, enum vim_health h, const char *msg)
{
    if (h == s->health && strcmp(msg, s->health_msg) == 0)
        return;
    core_event(c, h == VIM_OK ? "info" : "error", "vim", "health",
               json_pack("{s:s, s:s}", "object", "site", "result", vim_health_name(h)),
               "site %s: VIM %s%s%s", s->id, vim_health_name(h), *msg ? ": " : "", msg);
    s->health = h;
    snprintf(s->health_msg, sizeof(s->health_msg), "%s", msg);
    health_set_vim(c->health, s->id, vim_health_name(s->health), s->health_msg);
}

static void check_done(struct wjob *w)
{
    struct check_job *j = (struct check_job *)w;

    j->site->checking = false;
    if (!w->cancelled)
        site_set_health(j->c, j->site, j->health, j->err.msg);
    free(j);
}

/* A site whose driver did not open is tried again (its subnet may have
 * become free, its bridge been removed: issue 10 finding 11). */
struct open_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    json_t *doc;
    void *vim;
    int r;
    struct vim_err err;
};

static void open_work(struct wjob *w)
{
    struct open_job *j = (struct open_job *)w;
    struct vim_site vs = vim_site_of(j->c, j->site, j->doc);

    j->r = j->site->ops->open(&vs, &j->vim, &j->err);
}

static void open_done(struct wjob *w)
{
    struct open_job *j = (struct open_job *)w;
    struct site_rt *s = j->site;

    s->checking = false;
    if (w->cancelled) {
        if (j->r == 0)
            s->ops->close(j->vim);
    } else if (j->r == 0) {
        s->vim = j->vim;
        j->err.msg[0] = '\0';
        site_set_health(j->c, s, VIM_OK, "");
        log_info("site %s: the %s VIM opened", s->id, s->ops->name);
    } else {
        site_set_health(j->c, s, open_health(j->r), j->err.msg);
    }
    json_decref(j->doc);
    free(j);
}

static void submit_open(struct core *c, struct site_rt *s)
{
    struct open_job *j = xcalloc(1, sizeof(*j));

    j->doc = core_load(c, STORE_SITE, s->id);
    if (!j->doc) {
        free(j);
        return;
    }
    j->w.work = open_work;
    j->w.done = open_done;
    j->c = c;
    j->site = s;
    s->checking = true;
    wpool_submit(c->prov, &j->w);
}

void sites_check_all(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&c->sites, &i); e; e = hmap_next(&c->sites, e, &i)) {
        struct site_rt *s = e->value;
        struct check_job *j;

        if (!s->ops || s->checking)
            continue;
        if (!s->vim) {
            submit_open(c, s);
            continue;
        }
        j = xcalloc(1, sizeof(*j));
        j->w.work = check_work;
        j->w.done = check_done;
        j->c = c;
        j->site = s;
        s->checking = true;
        wpool_submit(c->prov, &j->w);
    }
}

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

int site_admit(struct core *c, const char *site, double vcpu, long long memory_mb,
               long long disk_mb, struct result *r)
{
    struct store_usage u = {0};
    json_t *doc, *cap;
    double free_vcpu;
    long long free_mem, free_disk;

    if (store_get(c->st, STORE_SITE, site, &doc))
        return result_not_found(r, "site", site);
    cap = json_object_get(doc, "capacity");
    store_site_usage(c->st, site, &u);
    free_vcpu = jv_num(cap, "vcpu", 0) - u.vcpu;
    free_mem = jv_int(cap, "memory_mb", 0) - u.memory_mb;
    free_disk = jv_int(cap, "disk_mb", 0) - u.disk_mb;
    json_decref(doc);
    if (vcpu > free_vcpu + 1e-9 || memory_mb > free_mem || disk_mb > free_disk) {
        char obj[128];

        snprintf(obj, sizeof(obj), "site/%s", site);
        return result_fail(r, 409, "insufficient-capacity", "object", obj,
                           "site %s cannot hold it: requested %.2f vCPU, %lld MB memory, %lld MB "
                           "disk; free %.2f vCPU, %lld MB memory, %lld MB disk",
                           site, vcpu, memory_mb, disk_mb, free_vcpu < 0 ? 0 : free_vcpu,
                           free_mem < 0 ? 0 : free_mem, free_disk < 0 ? 0 : free_disk);
    }
    return 0;
}

json_t *site_view(struct store *st, const json_t *doc, const char *health, const char *msg)
{
    json_t *v = doc_public(doc), *cap = json_object_get(doc, "capacity");
    struct store_usage u = {0};

    store_site_usage(st, doc_str(doc, "id"), &u);
    json_object_set_new(v, "allocated",
                        json_pack("{s:f, s:I, s:I, s:I}", "vcpu", u.vcpu, "memory_mb",
                                  (json_int_t)u.memory_mb, "disk_mb", (json_int_t)u.disk_mb, "vis",
                                  (json_int_t)u.vis));
    json_object_set_new(v, "free",
                        json_pack("{s:f, s:I, s:I}", "vcpu", jv_num(cap, "vcpu", 0) - u.vcpu,
                                  "memory_mb",
                                  (json_int_t)(jv_int(cap, "memory_mb", 0) - u.memory_mb),
                                  "disk_mb", (json_int_t)(jv_int(cap, "disk_mb", 0) - u.disk_mb)));
    json_object_set_new(v, "vim", json_pack("{s:s, s:s}", "health", health, "message", msg));
    return v;
}
