/* A branch's site load (docs/FEDERATION.md "The branch pool"; seed para
 * 108-109): what the branch manager measures of its site for every report,
 * for the cloud to judge the branch against its pool policy.
 *
 * - Resources: the CPU (cores, over the last report interval) and memory
 *   (MB) its VIs use, read by the site's VIM driver from each VI's cgroup
 *   (v1 or v2, util/cgroup.c, for the process VIM), per deployment and in
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
 *   that got no answer. */
#include "fed/fed_internal.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "util/doc.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <string.h>

#define EWMA 0.125 /* the weight of the newest figure in the averages */

struct vi_cpu {
    uint64_t cpu_ns;
    uint64_t at_ms;
    bool seen; /* in this measurement */
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
    w->latency_ms = avg(w->latency_ms, t->connect_ms, w->reports);
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
    return json_pack("{s:f, s:f, s:f, s:f, s:I, s:I}", "latency_ms", w->latency_ms, "rtt_ms",
                     w->rtt_ms, "loss", w->segs > 0 ? w->retrans / w->segs : 0.0, "throughput_kbps",
                     w->throughput_bps / 1000.0, "reports", (json_int_t)w->reports, "failed",
                     (json_int_t)w->failed);
}

/* Cores the VI used since the last measurement (0 at the first). */
static double vi_cores(struct fed *f, const char *id, uint64_t cpu_ns, uint64_t now)
{
    struct vi_cpu *p = hmap_get(&f->vi_cpu, id);
    double cores = 0;

    if (!p) {
        p = xcalloc(1, sizeof(*p));
        hmap_put(&f->vi_cpu, id, p);
    } else if (now > p->at_ms && cpu_ns >= p->cpu_ns) {
        cores = (double)(cpu_ns - p->cpu_ns) / 1e6 / (double)(now - p->at_ms);
    }
    p->cpu_ns = cpu_ns;
    p->at_ms = now;
    p->seen = true;
    return cores;
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

/* Adds what a VI uses to its deployment's figures in deps and to *cpu, *mem. */
static void add_vi(struct fed *f, struct site_rt *s, const json_t *vi, json_t *deps, double *cpu,
                   double *mem, uint64_t now)
{
    struct vi_handle h;
    struct vi_stats st = {0};
    struct vim_err e = {""};
    const char *dep = jv_str(vi, "deployment", "");
    json_t *d;
    double cores, mb;

    vi_handle_from_doc(vi, &h);
    if (s->ops->stats(s->vim, &h, &st, &e))
        return;
    cores = vi_cores(f, h.id, st.cpu_usage_ns, now);
    mb = (double)st.memory_bytes / (1024.0 * 1024.0);
    *cpu += cores;
    *mem += mb;
    if (!(d = json_object_get(deps, dep))) {
        d = json_pack("{s:f, s:f, s:i}", "vcpu", 0.0, "memory_mb", 0.0, "vis", 0);
        json_object_set_new(deps, dep, d);
    }
    json_object_set_new(d, "vcpu", json_real(jv_num(d, "vcpu", 0) + cores));
    json_object_set_new(d, "memory_mb", json_real(jv_num(d, "memory_mb", 0) + mb));
    json_object_set_new(d, "vis", json_integer(jv_int(d, "vis", 0) + 1));
}

json_t *fed_site_load(struct fed *f)
{
    struct core *c = f->c;
    struct site_rt *s = site_get(c, c->cfg->site);
    struct store_where w = {"site", c->cfg->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *site = core_load(c, STORE_SITE, c->cfg->site), *vis = NULL, *deps = json_object(), *vi;
    struct store_usage u = {0};
    double cpu = 0, mem = 0;
    uint64_t now = mono_ms();
    json_t *out;
    size_t i;

    if (s && s->ops && s->ops->stats && s->vim && store_list(c->st, STORE_VI, &o, &vis) == 0)
        json_array_foreach(vis, i, vi)
        {
            if (strcmp(jv_str(vi, "state", ""), "running") == 0)
                add_vi(f, s, vi, deps, &cpu, &mem, now);
        }
    vi_sweep(f);
    store_site_usage(c->st, c->cfg->site, &u);
    out = json_pack("{s:O?, s:{s:f, s:f}, s:{s:f, s:I}, s:o, s:o, s:o}", "capacity",
                    json_object_get(site, "capacity"), "used", "vcpu", cpu, "memory_mb", mem,
                    "allocated", "vcpu", u.vcpu, "memory_mb", (json_int_t)u.memory_mb, "reserved",
                    site_reserved_json(s ? &s->reserved : &(struct site_reserved){0}),
                    "deployments", deps, "wan", wan_json(&f->wan));
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
