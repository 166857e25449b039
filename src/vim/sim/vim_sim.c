/* The sim VIM driver: a simulated VIM, in the manager's memory, that runs
 * nothing (docs/VIM_SIM.md). It keeps the driver contract (vim.h) with
 * VIs that are entries in a table, answers after a configurable latency,
 * fails a configurable share of its calls, holds a configurable number of
 * VIs and gives them addresses of its own. It stands in for thousands of
 * sites in the estate's tests and benchmarks; every view of a sim site
 * says that it is a simulation. */
#include "util/fsutil.h"
#include "util/hmap.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"
#include "vim/vim.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SUBNET "100.64.0.0/10" /* RFC 6598 space: clearly not a real site's */

/* The calls whose failures can be simulated (option fail_ops). */
enum sim_call { SC_CREATE, SC_START, SC_STOP, SC_DESTROY, SC_RESIZE, SC_READY, SC_N };
static const char *const call_names[] = {"create", "start", "stop", "destroy", "resize", "ready"};

struct sim_opts {
    unsigned latency_ms, jitter_ms, ready_ms, max_vis;
    double fail_rate, cpu_load;
    unsigned fail_mask; /* bit per enum sim_call */
    uint32_t net;
    unsigned prefix_len;
    uint64_t seed;
};

struct sim_vi {
    char id[VIM_ID_MAX];
    enum vi_run_state state;
    unsigned starts; /* in the reference: a handle of an older start is of a VI that ended */
    uint32_t addr;
    unsigned vcpu_milli;
    uint64_t memory_bytes;
    uint64_t disk_bytes; /* what it holds; it uses half */
    uint64_t started_ms; /* mono_ms of its start */
    uint64_t cpu_ns;     /* used before its last start */
};

struct sim {
    char site[64], tag[16];
    char *file; /* where a clean stop keeps the VIs */
    pthread_mutex_t mu;
    struct sim_opts o;
    uint64_t rnd;
    struct hmap vis;   /* id -> struct sim_vi */
    struct hmap addrs; /* address (decimal) -> struct sim_vi */
    uint32_t next;     /* offset of the next address to try */
};

/* ---- options ---- */

static const struct jv_field op_item = {.type = JV_STRING, .choices = call_names};
static const struct jv_field site_options[] = {
    {.name = "latency_ms", .type = JV_INT, .min = 0, .max = 60000},
    {.name = "jitter_ms", .type = JV_INT, .min = 0, .max = 60000},
    {.name = "fail_rate", .type = JV_NUMBER, .min = 0, .max = 1},
    {.name = "fail_ops", .type = JV_ARRAY, .max = SC_N, .item = &op_item},
    {.name = "max_vis", .type = JV_INT, .min = 0, .max = 10000000},
    {.name = "ready_ms", .type = JV_INT, .min = 0, .max = 600000},
    {.name = "cpu_load", .type = JV_NUMBER, .min = 0, .max = 1},
    {.name = "subnet", .type = JV_STRING, .min = 9, .max = 18},
    {.name = "seed", .type = JV_INT, .min = 0, .max = 1e15},
    {.name = NULL},
};

static int parse_options(const json_t *options, struct sim_opts *o, struct vim_err *err)
{
    const json_t *ops = json_object_get(options, "fail_ops");
    const char *subnet = jv_str(options, "subnet", DEFAULT_SUBNET);
    const json_t *op;
    size_t i;

    *o = (struct sim_opts){
        .latency_ms = (unsigned)jv_int(options, "latency_ms", 0),
        .jitter_ms = (unsigned)jv_int(options, "jitter_ms", 0),
        .ready_ms = (unsigned)jv_int(options, "ready_ms", 0),
        .max_vis = (unsigned)jv_int(options, "max_vis", 0),
        .fail_rate = jv_num(options, "fail_rate", 0),
        .cpu_load = jv_num(options, "cpu_load", 0.1),
        .fail_mask = ops ? 0 : (1u << SC_N) - 1,
        .seed = (uint64_t)jv_int(options, "seed", 0),
    };
    json_array_foreach(ops, i, op)
    {
        for (unsigned k = 0; k < SC_N; k++)
            if (strcmp(json_string_value(op), call_names[k]) == 0)
                o->fail_mask |= 1u << k;
    }
    if (cidr_parse(subnet, &o->net, &o->prefix_len))
        return vim_fail(err, -EINVAL, "options.subnet: '%s' is not an IPv4 network", subnet);
    return 0;
}

/* ---- the simulated behaviour ---- */

/* xorshift64*: a reproducible sequence with option seed. */
static uint64_t next_rand(struct sim *s)
{
    uint64_t x = s->rnd;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rnd = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* The call's latency, then whether it fails. With s->mu held; it is let go
 * while the call waits. */
static int simulate(struct sim *s, enum sim_call call, const char *vi, struct vim_err *err)
{
    unsigned ms = s->o.latency_ms + (s->o.jitter_ms ? next_rand(s) % (s->o.jitter_ms + 1) : 0);
    bool failed = (s->o.fail_mask & (1u << call)) && s->o.fail_rate > 0 &&
                  (double)(next_rand(s) >> 11) / (double)(1ull << 53) < s->o.fail_rate;

    if (ms) {
        pthread_mutex_unlock(&s->mu);
        usleep(ms * 1000);
        pthread_mutex_lock(&s->mu);
    }
    if (failed)
        return vim_fail(err, -EIO, "VI %s: simulated %s failure (sim VIM of site %s, fail_rate %g)",
                        vi, call_names[call], s->site, s->o.fail_rate);
    return 0;
}

static struct sim_vi *find(struct sim *s, const char *id)
{
    return hmap_get(&s->vis, id);
}

static void addr_key(uint32_t addr, char key[16])
{
    snprintf(key, 16, "%u", addr);
}

/* Gives v the next address of the simulated subnet that no VI has. */
static int give_addr(struct sim *s, struct sim_vi *v)
{
    uint32_t size = 1u << (32 - s->o.prefix_len);
    char key[16];

    if (s->addrs.size + 3 >= size)
        return -ENOSPC;
    for (;;) {
        uint32_t off = s->next++ % size;

        addr_key(s->o.net + off, key);
        if (off >= 2 && off != size - 1 && !hmap_get(&s->addrs, key))
            break;
    }
    v->addr = (uint32_t)strtoul(key, NULL, 10);
    hmap_put(&s->addrs, key, v);
    return 0;
}

static void drop(struct sim *s, const char *id)
{
    struct sim_vi *v = hmap_del(&s->vis, id);
    char key[16];

    if (v) {
        addr_key(v->addr, key);
        hmap_del(&s->addrs, key);
        free(v);
    }
}

/* The start a handle is of: its reference's "starts". */
static unsigned ref_starts(const struct vi_handle *h)
{
    return (unsigned)json_integer_value(json_object_get(h->ref, "starts"));
}

static uint64_t cpu_ns(const struct sim *s, const struct sim_vi *v)
{
    uint64_t ran = v->state == VI_RUNNING ? mono_ms() - v->started_ms : 0;

    return v->cpu_ns + (uint64_t)((double)ran * 1e6 * v->vcpu_milli / 1000.0 * s->o.cpu_load);
}

/* ---- the driver ---- */

static int sim_create(void *data, const struct vi_spec *spec, struct vi_out *out,
                      struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r;

    if (spec->manager) /* a simulation runs nothing */
        return vim_fail(err, -EOPNOTSUPP, "%s: the sim VIM of site %s runs no managers", spec->name,
                        s->site);
    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_CREATE, spec->id, err);
    v = find(s, spec->id);
    if (r == 0 && !v) {
        if (s->o.max_vis && s->vis.size >= s->o.max_vis) {
            r = vim_fail(err, -ENOSPC, "VI %s: the sim VIM of site %s holds %u VIs (max_vis)",
                         spec->id, s->site, s->o.max_vis);
        } else {
            v = xcalloc(1, sizeof(*v));
            snprintf(v->id, sizeof(v->id), "%s", spec->id);
            v->state = VI_CREATED;
            r = give_addr(s, v);
            if (r) {
                free(v);
                v = NULL;
                vim_fail(err, r, "VI %s: the sim VIM of site %s has no address left", spec->id,
                         s->site);
            } else {
                hmap_put(&s->vis, v->id, v);
            }
        }
    }
    if (r == 0) {
        v->vcpu_milli = spec->vcpu_milli;
        v->memory_bytes = spec->memory_bytes;
        v->disk_bytes = spec->disk_bytes;
        out->addr[0] = v->addr;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_start(void *data, const struct vi_spec *spec, const struct vi_handle *h,
                     struct vi_out *out, struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r;

    (void)h;
    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_START, spec->id, err);
    v = find(s, spec->id);
    if (r == 0 && !v)
        r = vim_fail(err, -ENOENT, "VI %s: not on the sim VIM of site %s", spec->id, s->site);
    if (r == 0 && v->state != VI_RUNNING) {
        v->state = VI_RUNNING;
        v->starts++;
        v->started_ms = mono_ms();
    }
    if (r == 0)
        out->ref = json_pack("{s:i}", "starts", v->starts);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_stop(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r;

    (void)grace_ms;
    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_STOP, h->id, err);
    v = find(s, h->id);
    if (r == 0 && v && v->state == VI_RUNNING) {
        v->cpu_ns = cpu_ns(s, v);
        v->state = VI_EXITED;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_destroy(void *data, const struct vi_handle *h, struct vim_err *err)
{
    struct sim *s = data;
    int r;

    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_DESTROY, h->id, err);
    if (r == 0)
        drop(s, h->id);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_resize(void *data, const struct vi_handle *h, unsigned vcpu_milli,
                      uint64_t memory_bytes, struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r;

    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_RESIZE, h->id, err);
    v = find(s, h->id);
    if (r == 0 && !v)
        r = vim_fail(err, -ENOENT, "VI %s: not on the sim VIM of site %s", h->id, s->site);
    if (r == 0) {
        v->cpu_ns = cpu_ns(s, v);
        v->started_ms = mono_ms();
        v->vcpu_milli = vcpu_milli;
        v->memory_bytes = memory_bytes;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* A simulated VI's files take half of the disk it holds, running or not. */
static int sim_disk(void *data, const struct vi_handle *h, uint64_t *bytes, struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r = 0;

    pthread_mutex_lock(&s->mu);
    if ((v = find(s, h->id)))
        *bytes = v->disk_bytes / 2;
    else
        r = vim_fail(err, -ENOENT, "VI %s: not on the sim VIM of site %s", h->id, s->site);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_stats(void *data, const struct vi_handle *h, struct vi_stats *out,
                     struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r = 0;

    pthread_mutex_lock(&s->mu);
    v = find(s, h->id);
    if (!v) {
        r = vim_fail(err, -ENOENT, "VI %s: not on the sim VIM of site %s", h->id, s->site);
    } else {
        out->cpu_usage_ns = cpu_ns(s, v);
        out->memory_limit = v->memory_bytes;
        out->memory_bytes = v->state == VI_RUNNING ? v->memory_bytes / 2 : 0;
        out->nprocs = v->state == VI_RUNNING;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_status(void *data, const struct vi_handle *h, struct vi_status *st,
                      struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;

    (void)err;
    pthread_mutex_lock(&s->mu);
    v = find(s, h->id);
    st->exit_status = -1;
    st->state = v ? v->state : VI_ABSENT;
    /* a handle of an earlier start: what it started has ended */
    if (v && v->state == VI_RUNNING && h->ref && ref_starts(h) != v->starts)
        st->state = VI_EXITED;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int sim_ready(void *data, const struct vi_handle *h, unsigned timeout_ms,
                     struct vim_err *err)
{
    struct sim *s = data;
    struct sim_vi *v;
    int r;

    pthread_mutex_lock(&s->mu);
    r = simulate(s, SC_READY, h->id, err);
    v = find(s, h->id);
    if (r == 0 && (!v || v->state != VI_RUNNING))
        r = vim_fail(err, -ESRCH, "VI %s: not running on the sim VIM of site %s", h->id, s->site);
    if (r == 0) {
        uint64_t at = v->started_ms + s->o.ready_ms, now = mono_ms();

        if (at > now + timeout_ms)
            r = vim_fail(err, -ETIMEDOUT, "VI %s: not ready after %u s (sim ready_ms %u)", h->id,
                         timeout_ms / 1000, s->o.ready_ms);
        else if (at > now) {
            pthread_mutex_unlock(&s->mu);
            usleep((useconds_t)(at - now) * 1000);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int sim_list(void *data, char ***ids, size_t *n, struct vim_err *err)
{
    struct sim *s = data;
    struct hmap_entry *e;
    size_t i;

    (void)err;
    pthread_mutex_lock(&s->mu);
    *ids = xcalloc(s->vis.size + 1, sizeof(**ids));
    *n = 0;
    for (e = hmap_first(&s->vis, &i); e; e = hmap_next(&s->vis, e, &i))
        (*ids)[(*n)++] = xstrdup(e->key);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static enum vim_health sim_check(void *data, struct vim_err *err)
{
    (void)data;
    (void)err;
    return VIM_OK;
}

static void sim_day0_dir(void *data, const char *vi, char *buf, size_t len)
{
    (void)data;
    snprintf(buf, len, "/sim/%s", vi);
}

static void sim_view(void *data, json_t *view)
{
    struct sim *s = data;
    char net[IP4_STR_MAX], subnet[24];

    pthread_mutex_lock(&s->mu);
    snprintf(subnet, sizeof(subnet), "%s/%u", ip4_fmt(s->o.net, net), s->o.prefix_len);
    json_object_set_new(view, "simulated", json_true());
    json_object_set_new(view, "simulation",
                        json_pack("{s:s, s:I, s:i, s:i, s:f, s:i, s:s, s:i}", "note",
                                  "a simulated VIM: no VNF runs, nothing is made on any host",
                                  "vis", (json_int_t)s->vis.size, "latency_ms", s->o.latency_ms,
                                  "jitter_ms", s->o.jitter_ms, "fail_rate", s->o.fail_rate,
                                  "max_vis", s->o.max_vis, "subnet", subnet, "ready_ms",
                                  s->o.ready_ms));
    pthread_mutex_unlock(&s->mu);
}

static int sim_configure(void *data, const json_t *options, struct vim_err *err)
{
    struct sim *s = data;
    struct sim_opts o;
    int r = parse_options(options, &o, err);

    if (r)
        return r;
    pthread_mutex_lock(&s->mu);
    s->o = o;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ---- a clean stop keeps the VIs, the next open takes them back ---- */

static void load(struct sim *s)
{
    json_t *doc = json_load_file(s->file, 0, NULL), *item;
    char key[16];
    size_t i;

    json_array_foreach(json_object_get(doc, "vis"), i, item)
    {
        struct sim_vi *v = xcalloc(1, sizeof(*v));

        snprintf(v->id, sizeof(v->id), "%s", jv_str(item, "id", ""));
        v->state = (enum vi_run_state)jv_int(item, "state", VI_CREATED);
        v->starts = (unsigned)jv_int(item, "starts", 0);
        v->addr = (uint32_t)jv_int(item, "addr", 0);
        v->vcpu_milli = (unsigned)jv_int(item, "vcpu_milli", 1000);
        v->memory_bytes = (uint64_t)jv_int(item, "memory_bytes", 0);
        v->disk_bytes = (uint64_t)jv_int(item, "disk_bytes", 0);
        v->cpu_ns = (uint64_t)jv_int(item, "cpu_ns", 0);
        v->started_ms = mono_ms();
        drop(s, v->id);
        hmap_put(&s->vis, v->id, v);
        addr_key(v->addr, key);
        hmap_put(&s->addrs, key, v);
    }
    s->next = (uint32_t)jv_int(doc, "next", 0);
    json_decref(doc);
    unlink(s->file); /* a kill -9 from now on loses them, as a crashed VIM would */
}

static void save(struct sim *s)
{
    json_t *doc = json_pack("{s:[], s:I}", "vis", "next", (json_int_t)s->next);
    struct hmap_entry *e;
    size_t i;
    char *text;

    for (e = hmap_first(&s->vis, &i); e; e = hmap_next(&s->vis, e, &i)) {
        const struct sim_vi *v = e->value;

        json_array_append_new(
            json_object_get(doc, "vis"),
            json_pack("{s:s, s:i, s:i, s:I, s:i, s:I, s:I, s:I}", "id", v->id, "state", v->state,
                      "starts", v->starts, "addr", (json_int_t)v->addr, "vcpu_milli", v->vcpu_milli,
                      "memory_bytes", (json_int_t)v->memory_bytes, "disk_bytes",
                      (json_int_t)v->disk_bytes, "cpu_ns", (json_int_t)cpu_ns(s, v)));
    }
    text = json_dumps(doc, JSON_COMPACT);
    if (write_file_atomic(s->file, text, strlen(text), 0600, true))
        log_warn("sim VIM of site %s: cannot keep its VIs in %s", s->site, s->file);
    free(text);
    json_decref(doc);
}

static int sim_open(const struct vim_site *site, void **data, struct vim_err *err)
{
    struct sim *s = xcalloc(1, sizeof(*s));
    char *dir = xasprintf("%s/sim", site->data_dir);
    int r = parse_options(site->options, &s->o, err);

    if (r == 0 && (r = mkdir_p(dir, 0750)))
        vim_fail(err, r, "sim VIM of site %s: %s: %s", site->name, dir, strerror(-r));
    if (r) {
        free(dir);
        free(s);
        return r;
    }
    snprintf(s->site, sizeof(s->site), "%s", site->name);
    snprintf(s->tag, sizeof(s->tag), "%s", site->tag);
    s->file = xasprintf("%s/%s.json", dir, site->name);
    free(dir);
    s->rnd = s->o.seed ? s->o.seed : (uint64_t)mono_us() | 1;
    pthread_mutex_init(&s->mu, NULL);
    hmap_init(&s->vis);
    hmap_init(&s->addrs);
    load(s);
    *data = s;
    return 0;
}

static void sim_close(void *data)
{
    struct sim *s = data;
    struct hmap_entry *e;
    size_t i;

    save(s);
    for (e = hmap_first(&s->vis, &i); e; e = hmap_next(&s->vis, e, &i))
        free(e->value);
    hmap_done(&s->vis);
    hmap_done(&s->addrs);
    pthread_mutex_destroy(&s->mu);
    free(s->file);
    free(s);
}

const struct vim_ops vim_sim_ops = {
    .name = "sim",
    .summary = "a simulated VIM in the manager's memory that runs nothing (tests and benchmarks)",
    .addressing = VIM_ADDR_DRIVER,
    .site_options = site_options,
    .vdu_fields = NULL, /* a VDU for any driver runs here: nothing of it is used */
    .open = sim_open,
    .configure = sim_configure,
    .close = sim_close,
    .check = sim_check,
    .create = sim_create,
    .start = sim_start,
    .stop = sim_stop,
    .destroy = sim_destroy,
    .resize = sim_resize,
    .stats = sim_stats,
    .disk = sim_disk,
    .status = sim_status,
    .ready = sim_ready,
    .day0_dir = sim_day0_dir,
    .list = sim_list,
    .view = sim_view,
};
