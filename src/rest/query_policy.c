/* Reads of monitoring, rules and decisions, and GET /metrics (Prometheus
 * text exposition format 0.0.4). */
#include "rest/api.h"
#include "core/health.h"
#include "core/outbox.h"
#include "core/txq.h"
#include "core/version.h"
#include "core/wpool.h"
#include "core/states.h"
#include "util/doc.h"
#include "monitor/monitor.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <stdio.h>
#include <string.h>

void q_monitoring(struct rctx *r)
{
    json_t *dep = q_visible(r, STORE_DEPLOYMENT, "deployment"), *live, *out, *metrics, *states;

    if (!dep)
        return;
    live = r->c->monitor ? monitor_view(r->c->monitor, r->args[0]) : NULL;
    metrics = json_object_get(live, "metrics") ? json_incref(json_object_get(live, "metrics"))
                                               : json_object();
    states =
        json_object_get(live, "rules") ? json_incref(json_object_get(live, "rules")) : json_array();
    out = json_pack(
        "{s:s, s:O, s:O, s:o, s:o}", "deployment", r->args[0], "monitoring",
        json_object_get(dep, "monitoring") ? json_object_get(dep, "monitoring") : json_null(),
        "rules", json_object_get(dep, "rules") ? json_object_get(dep, "rules") : json_null(),
        "metrics", metrics, "rule_states", states);
    result_ok(&r->res, 200, out);
    json_decref(live);
    json_decref(dep);
}

/* The last values of the deployment's series (monitor_history), for charts
 * that start with a past. */
void q_metric_history(struct rctx *r)
{
    json_t *dep = q_visible(r, STORE_DEPLOYMENT, "deployment"), *metrics;
    int64_t since = 0;

    if (!dep || q_time(r, "since", &since))
        goto out;
    metrics = r->c->monitor
                  ? monitor_history(r->c->monitor, r->args[0],
                                    json_string_value(json_object_get(r->query, "metric")), since)
                  : NULL;
    result_ok(&r->res, 200,
              json_pack("{s:s, s:i, s:o}", "deployment", r->args[0], "history_max", MONITOR_HISTORY,
                        "metrics", metrics ? metrics : json_object()));
out:
    json_decref(dep);
}

void q_decisions(struct rctx *r)
{
    static const char *const keys[] = {"tenant", "deployment", "rule", "state", NULL};

    q_list_newest(r, STORE_DECISION, keys, "decisions");
}

void q_decision(struct rctx *r)
{
    json_t *doc = q_visible(r, STORE_DECISION, "decision");

    if (doc)
        result_ok(&r->res, 200, doc_public(doc));
    json_decref(doc);
}

/* ---- Prometheus ---- */

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
    sbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void count_by(struct rctx *r, struct sbuf *b, enum store_kind k, const char *metric,
                     const char *col, const char *const *values)
{
    for (; *values; values++) {
        struct store_where w[2] = {{col, *values, false}, {"tenant", r->who.tenant, false}};
        long n = store_count(r->st, k, w, r->who.admin ? 1 : 2);

        sbuf_addf(b, "%s{%s=\"%s\"} %ld\n", metric, col, *values, n < 0 ? 0 : n);
    }
}

/* One family per statistic, each with the samples of every pool together
 * (the exposition format wants a family's samples in one group). */
static void pool_metrics(struct sbuf *b, struct wpool *const *pools, size_t n)
{
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"vnfm_pool_threads", "gauge", "Worker threads per component pool."},
        {"vnfm_pool_busy", "gauge", "Workers running a job, per component pool."},
        {"vnfm_pool_queued", "gauge", "Jobs waiting for a worker, per component pool."},
        {"vnfm_pool_jobs_total", "counter", "Jobs completed, per component pool."},
    };
    unsigned long long v[2][ARRAY_SIZE(fams)];
    struct wpool_stats st;

    n = n < ARRAY_SIZE(v) ? n : ARRAY_SIZE(v);
    for (size_t i = 0; i < n; i++) {
        memset(&st, 0, sizeof(st));
        if (pools[i])
            wpool_stats(pools[i], &st);
        v[i][0] = st.threads;
        v[i][1] = st.busy;
        v[i][2] = st.queued;
        v[i][3] = st.completed;
    }
    for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
        family(b, fams[f].name, fams[f].type, fams[f].help);
        for (size_t i = 0; i < n; i++)
            if (pools[i])
                sbuf_addf(b, "%s{pool=\"%s\"} %llu\n", fams[f].name, wpool_name(pools[i]), v[i][f]);
    }
}

static void monitor_metrics(struct sbuf *b, struct monitor *m)
{
    struct sched_stats st;

    sched_stats(monitor_sched(m), &st);
    family(b, "vnfm_monitor_probes_total", "counter", "Probes completed.");
    sbuf_addf(b, "vnfm_monitor_probes_total %llu\n", (unsigned long long)st.probes);
    family(b, "vnfm_monitor_probe_failures_total", "counter", "Probes that failed.");
    sbuf_addf(b, "vnfm_monitor_probe_failures_total %llu\n", (unsigned long long)st.failures);
    family(b, "vnfm_monitor_targets", "gauge", "Probe targets scheduled.");
    sbuf_addf(b, "vnfm_monitor_targets %u\n", st.targets);
    family(b, "vnfm_monitor_pool_utilization", "gauge",
           "Busy share of the monitoring workers over the last second.");
    sbuf_addf(b, "vnfm_monitor_pool_utilization %.3f\n", st.pool_util);
    family(b, "vnfm_monitor_pool_threads", "gauge", "Monitoring workers.");
    sbuf_addf(b, "vnfm_monitor_pool_threads %u\n", st.pool_threads);
    family(b, "vnfm_monitor_pool_resizes_total", "counter",
           "Times the monitoring pool resized itself.");
    sbuf_addf(b, "vnfm_monitor_pool_resizes_total %u\n", st.resizes);
    family(b, "vnfm_monitor_cpu_seconds_total", "counter", "CPU time of the scheduler thread.");
    sbuf_addf(b, "vnfm_monitor_cpu_seconds_total %.6f\n", st.loop_cpu_us / 1e6);
}

static void outbox_metrics(struct sbuf *b, struct outbox *ob)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } per[] = {
        {"vnfm_outbox_pending", "gauge", "Messages waiting in the outbox, by channel.",
         offsetof(struct outbox_channel_stats, pending)},
        {"vnfm_outbox_attempts_total", "counter", "Deliveries tried, by channel.",
         offsetof(struct outbox_channel_stats, attempts)},
        {"vnfm_outbox_delivered_total", "counter", "Messages delivered (2xx), by channel.",
         offsetof(struct outbox_channel_stats, delivered)},
        {"vnfm_outbox_given_up_total", "counter",
         "Messages given up after their last failed attempt, by channel.",
         offsetof(struct outbox_channel_stats, given_up)},
        {"vnfm_outbox_dropped_total", "counter",
         "Messages dropped undelivered by a bound of the outbox, by channel.",
         offsetof(struct outbox_channel_stats, dropped)},
    };
    struct outbox_stats st;

    outbox_stats(ob, &st);
    for (size_t k = 0; k < ARRAY_SIZE(per); k++) {
        family(b, per[k].name, per[k].type, per[k].help);
        for (unsigned i = 0; i < st.n; i++) {
            const char *f = (const char *)&st.ch[i] + per[k].off;

            sbuf_addf(b, "%s{channel=\"%s\"} %llu\n", per[k].name, st.ch[i].name,
                      (unsigned long long)*(const uint64_t *)f);
        }
    }
    family(b, "vnfm_outbox_destinations", "gauge", "Destinations with messages waiting.");
    sbuf_addf(b, "vnfm_outbox_destinations %u\n", st.keys);
    family(b, "vnfm_outbox_reads_total", "counter", "Outbox entries read from the store.");
    sbuf_addf(b, "vnfm_outbox_reads_total %llu\n", (unsigned long long)st.reads);
}

static void own_metrics(struct rctx *r, struct sbuf *b)
{
    static const char *const dep_states[] = {
        "deploying", "active",           "degraded",  "healing", "scaling", "undeploying",
        "failed",    "not_instantiated", "operating", "stopped", NULL};
    static const char *const op_states[] = {"processing", "completed", "failed", "rolled_back",
                                            NULL};
    static const char *const dec_states[] = {"running", "completed", "failed",   "held",
                                             "refused", "spawning",  "stopping", NULL};
    int code;
    json_t *h = health_report(r->c->health, &code);

    json_decref(h);
    family(b, "vnfm_info", "gauge", "The manager's version and role.");
    sbuf_addf(b, "vnfm_info{version=\"%s\",role=\"%s\",site=\"%s\"} 1\n", VNFM_VERSION,
              r->c->cfg->role, r->c->cfg->site);
    family(b, "vnfm_health_code", "gauge", "Health code of seed Table 5 (2000 = all fine).");
    sbuf_addf(b, "vnfm_health_code %d\n", code);
    family(b, "vnfm_deployments", "gauge", "Deployments by status.");
    count_by(r, b, STORE_DEPLOYMENT, "vnfm_deployments", "status", dep_states);
    family(b, "vnfm_operations", "gauge", "Lifecycle operations on record, by state.");
    count_by(r, b, STORE_OP, "vnfm_operations", "state", op_states);
    family(b, "vnfm_decisions", "gauge", "Decisions of the rules engine on record, by state.");
    count_by(r, b, STORE_DECISION, "vnfm_decisions", "state", dec_states);
    if (!r->who.admin)
        return;
    family(b, "vnfm_transactions_total", "counter", "Requests the transactor applied.");
    sbuf_addf(b, "vnfm_transactions_total %llu\n", (unsigned long long)txq_applied(r->c->txq));
    pool_metrics(b, (struct wpool *const[]){r->c->prov, r->c->conf}, 2);
    outbox_metrics(b, r->c->outbox);
    if (r->c->monitor)
        monitor_metrics(b, r->c->monitor);
}

void q_metrics(struct rctx *r)
{
    struct sbuf b = SBUF_INIT;

    if (r->c->cfg->metrics_public && !r->who.admin && !*r->who.tenant)
        r->who.admin = true; /* an anonymous scrape allowed by --metrics-public */
    own_metrics(r, &b);
    if (r->c->monitor)
        monitor_prometheus(r->c->monitor, &b, r->who.admin ? NULL : r->who.tenant);
    result_raw(&r->res, 200, sbuf_take(&b));
    r->res.ctype = "text/plain; version=0.0.4; charset=utf-8";
}
