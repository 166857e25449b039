/* A branch's site load (docs/FEDERATION.md "The branch pool"; seed para
 * 108-109): what the branch manager measures of its site for every report,
 * for the cloud to judge the branch against its pool policy.
 *
 * - Resources: the CPU (cores, over the last report interval), memory and
 *   disk (MB) its VIs use, read by the site's VIM driver from each VI's
 *   cgroup (v1 or v2, util/cgroup.c, for the process VIM) and, every
 *   DISK_EVERY_MS, from its files (the process VIM's VI directory), per deployment and in
 *   all, against the site's capacity; with what the VIs hold (allocated)
 *   and what the managers started here hold (reserved, fed/spawn.c). The
 *   cloud adds up the reports of the site's managers (pool.c).
 * - The WAN to the cloud, measured on the reports themselves, each a new
 *   TLS connection over the real link: latency is the TCP handshake (one
 *   round trip, curl's connect time), rtt the kernel's smoothed round trip
 *   of the connection (TCP_INFO), loss the share of its segments the
 *   kernel sent again (retransmissions over segments sent), throughput the
 *   speed the report's body went up at. Each is a moving average over the
 *   last reports (weight 1/8 for the newest); failed counts the reports
 *   that got no answer. A report is a few kB: its speed is not the link's.
 *   With --fed-wan-probe-s, a bulk probe (--fed-wan-probe-kib of padding
 *   POSTed to the cloud's /fed/v1/probe) measures that: bulk_kbps, the
 *   moving average of the probes' upload speeds. */
#include "fed/fed_internal.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EWMA 0.125 /* the weight of the newest figure in the averages */

#define DISK_EVERY_MS 10000 /* a VI's disk use is walked again after this */

struct vi_cpu {
    uint64_t cpu_ns;
    uint64_t at_ms;
    uint64_t disk_bytes, disk_at_ms; /* its disk use, and when it was walked (0: never) */
    bool seen;                       /* in this measurement */
};

static double avg(double was, double now, unsigned n)
{
    return n <= 1 ? now : was + EWMA * (now - was);
}

void fed_wan_measured(struct fed *f, const struct httpc_resp *resp, bool answered)
{
    struct fed_wan *w = &f->wan;
    const struct httpc_timing *t = &resp->timing;

    if (!answered) {
        w->failed++;
        return;
    }
    w->reports++;
    /* a connection kept from the report before has no handshake to time:
     * the kernel's round trip of it then */
    if (!t->reused)
        w->latency_ms = avg(w->latency_ms, t->connect_ms, w->reports);
    else if (t->tcp)
        w->latency_ms = avg(w->latency_ms, t->rtt_ms, w->reports);
    w->throughput_bps = avg(w->throughput_bps, t->upload_bps, w->reports);
    if (t->tcp) {
        w->tcp++;
        w->rtt_ms = avg(w->rtt_ms, t->rtt_ms, w->tcp);
        w->segs = w->tcp <= 1 ? t->segs_out : w->segs * (1 - EWMA) + t->segs_out;
        w->retrans = w->tcp <= 1 ? t->retrans : w->retrans * (1 - EWMA) + t->retrans;
    }
}

static json_t *wan_json(const struct fed_wan *w)
{
    json_t *o = json_pack("{s:f, s:f, s:f, s:f, s:I, s:I}", "latency_ms", w->latency_ms, "rtt_ms",
                          w->rtt_ms, "loss", w->segs > 0 ? w->retrans / w->segs : 0.0,
                          "throughput_kbps", w->throughput_bps / 1000.0, "reports",
                          (json_int_t)w->reports, "failed", (json_int_t)w->failed);

    if (w->probes || w->probes_failed) {
        json_object_set_new(o, "bulk_kbps", json_real(w->bulk_bps / 1000.0));
        json_object_set_new(o, "bulk_last_kbps", json_real(w->bulk_last_bps / 1000.0));
        json_object_set_new(o, "probes", json_integer((json_int_t)w->probes));
        json_object_set_new(o, "probes_failed", json_integer((json_int_t)w->probes_failed));
    }
    return o;
}

/* ---- the bulk probe ---- */

#define PROBE_TIMEOUT_MS 60000 /* 960 KiB at 128 kbit/s */

static void probe_done(struct wjob *w)
{
    struct fed_post *p = (struct fed_post *)w;
    struct fed_wan *wan = &p->f->wan;
    char why[HTTPC_ERR_MAX];

    wan->probing = false;
    if (!w->cancelled && p->r == 0 && httpc_ok(&p->resp) && p->resp.timing.upload_bps > 0) {
        wan->probes++;
        wan->bulk_last_bps = p->resp.timing.upload_bps;
        wan->bulk_bps = avg(wan->bulk_bps, p->resp.timing.upload_bps, (unsigned)wan->probes);
        log_debug("fed: WAN probe to %s: %.0f kbit/s (%.1f ms)", p->base,
                  p->resp.timing.upload_bps / 1000.0, p->resp.timing.total_ms);
    } else if (!w->cancelled) {
        wan->probes_failed++;
        log_debug("fed: WAN probe to %s: %s", p->base, httpc_outcome(&p->resp, why, sizeof(why)));
    }
    fed_post_free(p);
    free(p);
}

void fed_wan_probe(struct fed *f)
{
    const struct config *cfg = f->c->cfg;
    size_t pad = (size_t)cfg->fed_wan_probe_kib * 1024, n;
    uint64_t now = mono_ms();
    struct fed_post *p;
    char *body;

    if (!cfg->fed_wan_probe_s || f->wan.probing || !f->cred || !f->connected ||
        (f->wan.probe_at_ms && now - f->wan.probe_at_ms < (uint64_t)cfg->fed_wan_probe_s * 1000))
        return;
    body = xmalloc(pad + 16); /* {"pad":"AAA...A"}: incompressible enough for a link */
    n = (size_t)sprintf(body, "{\"pad\":\"");
    for (size_t i = 0; i < pad; i++)
        body[n + i] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[rand() & 63];
    memcpy(body + n + pad, "\"}", 3);
    p = xcalloc(1, sizeof(*p));
    p->timeout_ms = PROBE_TIMEOUT_MS;
    p->connect_timeout_ms = 5000;
    f->wan.probing = true;
    f->wan.probe_at_ms = now;
    fed_post_submit(p, f, "/fed/v1/probe", body, probe_done);
}

/* What is kept of the VI between measurements. */
static struct vi_cpu *vi_kept(struct fed *f, const char *id)
{
    struct vi_cpu *p = hmap_get(&f->vi_cpu, id);

    if (!p) {
        p = xcalloc(1, sizeof(*p));
        hmap_put(&f->vi_cpu, id, p);
    }
    p->seen = true;
    return p;
}

/* Cores the VI used since the last measurement (0 at the first). */
static double vi_cores(struct vi_cpu *p, uint64_t cpu_ns, uint64_t now)
{
    double cores = 0;

    if (p->at_ms && now > p->at_ms && cpu_ns >= p->cpu_ns)
        cores = (double)(cpu_ns - p->cpu_ns) / 1e6 / (double)(now - p->at_ms);
    p->cpu_ns = cpu_ns;
    p->at_ms = now;
    return cores;
}

/* MB the VI's files take on disk: walked at most every DISK_EVERY_MS (the
 * driver's disk op; 0 without one). */
static double vi_disk_mb(struct site_rt *s, const struct vi_handle *h, struct vi_cpu *p,
                         uint64_t now)
{
    struct vim_err e = {""};
    uint64_t bytes;

    if (s->ops->disk && (!p->disk_at_ms || now - p->disk_at_ms >= DISK_EVERY_MS)) {
        if (s->ops->disk(s->vim, h, &bytes, &e) == 0)
            p->disk_bytes = bytes;
        p->disk_at_ms = now;
    }
    return (double)p->disk_bytes / (1024.0 * 1024.0);
}

/* Forgets the VIs gone since the last measurement. */
static void vi_sweep(struct fed *f)
{
    struct hmap_entry *e, *next;
    size_t i;

    for (e = hmap_first(&f->vi_cpu, &i); e; e = next) {
        struct vi_cpu *p = e->value;

        next = hmap_next(&f->vi_cpu, e, &i);
        if (!p->seen)
            free(hmap_del(&f->vi_cpu, e->key));
        else
            p->seen = false;
    }
}

/* What the site's VIs use: CPU (cores), memory and disk (MB). */
struct use {
    double vcpu, memory_mb, disk_mb;
};

static void add_num(json_t *obj, const char *key, double v)
{
    json_object_set_new(obj, key, json_real(jv_num(obj, key, 0) + v));
}

/* Adds what a VI uses to its deployment's figures in deps and to *all. */
static void add_vi(struct fed *f, struct site_rt *s, const json_t *vi, json_t *deps,
                   struct use *all, uint64_t now)
{
    struct vi_handle h;
    struct vi_stats st = {0};
    struct vim_err e = {""};
    const char *dep = jv_str(vi, "deployment", "");
    struct vi_cpu *p;
    struct use u;
    json_t *d;

    vi_handle_from_doc(vi, &h);
    if (s->ops->stats(s->vim, &h, &st, &e))
        return;
    p = vi_kept(f, h.id);
    u.vcpu = vi_cores(p, st.cpu_usage_ns, now);
    u.memory_mb = (double)st.memory_bytes / (1024.0 * 1024.0);
    u.disk_mb = vi_disk_mb(s, &h, p, now);
    all->vcpu += u.vcpu;
    all->memory_mb += u.memory_mb;
    all->disk_mb += u.disk_mb;
    if (!(d = json_object_get(deps, dep))) {
        d = json_pack("{s:f, s:f, s:f, s:i}", "vcpu", 0.0, "memory_mb", 0.0, "disk_mb", 0.0, "vis",
                      0);
        json_object_set_new(deps, dep, d);
    }
    add_num(d, "vcpu", u.vcpu);
    add_num(d, "memory_mb", u.memory_mb);
    add_num(d, "disk_mb", u.disk_mb);
    json_object_set_new(d, "vis", json_integer(jv_int(d, "vis", 0) + 1));
}

/* This manager's own process at its site: the cores it used since the last
 * report, its resident memory (MB). NULL when its site's VIs run on
 * another host (the agent's: this manager moved to the cloud). */
static json_t *self_use(struct fed *f, const struct site_rt *s, uint64_t now)
{
    struct rusage ru;
    uint64_t cpu_ns;
    long pages = 0, rss = 0;
    double cores = 0;
    FILE *fp;

    if (!s || !s->ops || strcmp(s->ops->name, "agent") == 0 || getrusage(RUSAGE_SELF, &ru))
        return NULL;
    cpu_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
             (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
    if (f->self_at_ms && now > f->self_at_ms && cpu_ns >= f->self_cpu_ns)
        cores = (double)(cpu_ns - f->self_cpu_ns) / 1e6 / (double)(now - f->self_at_ms);
    f->self_cpu_ns = cpu_ns;
    f->self_at_ms = now;
    if ((fp = fopen("/proc/self/statm", "re"))) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(fp);
    }
    return json_pack("{s:f, s:f}", "vcpu", cores, "memory_mb",
                     (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0));
}

json_t *fed_site_load(struct fed *f)
{
    struct core *c = f->c;
    struct site_rt *s = site_get(c, c->cfg->site);
    struct store_where w = {"site", c->cfg->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *site = core_load(c, STORE_SITE, c->cfg->site), *vis = NULL, *deps = json_object(), *vi;
    struct store_usage u = {0};
    struct use use = {0};
    uint64_t now = mono_ms();
    json_t *out;
    size_t i;

    if (s && s->ops && s->ops->stats && s->vim && store_list(c->st, STORE_VI, &o, &vis) == 0)
        json_array_foreach(vis, i, vi)
        {
            if (strcmp(jv_str(vi, "state", ""), "running") == 0)
                add_vi(f, s, vi, deps, &use, now);
        }
    vi_sweep(f);
    store_site_usage(c->st, c->cfg->site, &u);
    out = json_pack("{s:O?, s:{s:f, s:f, s:f}, s:{s:f, s:I, s:I}, s:o, s:o, s:o}", "capacity",
                    json_object_get(site, "capacity"), "used", "vcpu", use.vcpu, "memory_mb",
                    use.memory_mb, "disk_mb", use.disk_mb, "allocated", "vcpu", u.vcpu, "memory_mb",
                    (json_int_t)u.memory_mb, "disk_mb", (json_int_t)u.disk_mb, "reserved",
                    site_reserved_json(s ? &s->reserved : &(struct site_reserved){0}),
                    "deployments", deps, "wan", wan_json(&f->wan));
    json_object_set_new(out, "manager", self_use(f, s, now)); /* absent: not at its site */
    json_decref(vis);
    json_decref(site);
    return out;
}

void fed_site_load_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->vi_cpu, &i); e; e = hmap_next(&f->vi_cpu, e, &i))
        free(e->value);
    hmap_done(&f->vi_cpu);
}
