/* The cloud's rules over what branches report (claims 3-4; seed para
 * 102-103; docs/FEDERATION.md "Cloud rules over branch reports").
 *
 * A branch deployment on the cloud may have rules of the cloud's (its
 * `rules` there, in the syntax of the rules engine: policy/rules.h). They
 * are evaluated as each report of its manager arrives, on the loop, in the
 * report's transaction: one report is one sample of each rule's value - a
 * metric of the deployment as the branch reports it (the VDU-wide
 * aggregate of its monitor), or the load of its manager or site. A rule
 * that fires becomes a decision of the rules engine (exec_decide), written
 * in that same transaction with the report it came from; its scale
 * actions are instructions to the branch's manager (instr.c).
 *
 * They act only while the cloud owns the deployment's rules: the branch
 * reports `rules_owner` "cloud" (it gave them; its own rules are then
 * quiet) and the cloud's operator still wants them (rules_owner_wanted).
 * What they counted is soft state, as the reports are. */
#include "fed/fed_internal.h"
#include "policy/executor.h"
#include "policy/rules.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/mstat.h"
#include "util/timeutil.h"

#include <string.h>

#define REFUSED_RETRY_MS 2000  /* a firing the rules engine refused is tried again after this */
#define SERIES_WINDOW_MS 60000 /* what a stat other than "last" looks back over */

struct crule {
    char name[72];
    char vdu[72];
    struct rule_cond cond;
    struct rule_state st;
    struct mstat *series; /* the values reported, for a stat other than last; else NULL */
    bool enabled;
};

struct fed_drules {
    json_t *defs; /* the rules as written */
    bool wanted;  /* the cloud's operator wants them to decide (rules_owner_wanted) */
    bool ceded;   /* the branch reported that the cloud's rules decide (rules_owner) */
    bool busy;    /* the branch reported an operation running */
    struct crule *r;
    size_t n;
    char deciding[40]; /* the decision of one of them that runs, or "" */
    size_t which;      /* its rule */
};

static void drules_free(struct fed_drules *dr)
{
    if (!dr)
        return;
    for (size_t i = 0; i < dr->n; i++)
        free(dr->r[i].series);
    free(dr->r);
    json_decref(dr->defs);
    free(dr);
}

static struct fed_drules *drules_new(const json_t *dep)
{
    const json_t *defs = json_object_get(dep, "rules"), *def;
    const json_t *metrics = json_object_get(json_object_get(dep, "monitoring"), "metrics");
    struct fed_drules *dr = xcalloc(1, sizeof(*dr));
    size_t i;

    dr->defs = json_incref((json_t *)defs);
    dr->n = json_array_size(defs);
    dr->r = xcalloc(dr->n + 1, sizeof(*dr->r));
    json_array_foreach(defs, i, def)
    {
        struct crule *r = &dr->r[i];

        snprintf(r->name, sizeof(r->name), "%s", jv_str(def, "name", ""));
        rule_cond_parse(def, &r->cond);
        snprintf(r->vdu, sizeof(r->vdu), "%s",
                 jv_str(json_object_get(metrics, r->cond.metric), "vdu", ""));
        r->enabled = jv_bool(def, "enabled", 1);
        if (r->cond.stat != MSTAT_LAST) {
            r->series = xmalloc(sizeof(*r->series));
            mstat_init(r->series, SERIES_WINDOW_MS);
        }
    }
    return dr;
}

void fed_rules_load(struct fed_mgr *m, const json_t *dep)
{
    const char *id = jv_str(dep, "id", "");
    const json_t *defs = json_object_get(dep, "rules");
    struct fed_drules *dr = hmap_get(&m->rules, id);

    if (json_array_size(defs) == 0) {
        drules_free(hmap_del(&m->rules, id));
        return;
    }
    if (!dr || !json_equal(dr->defs, defs)) { /* new rules count from nothing */
        dr = drules_new(dep);
        drules_free(hmap_put(&m->rules, id, dr));
    }
    dr->wanted = strcmp(jv_str(dep, "rules_owner_wanted", "cloud"), "cloud") == 0;
    fed_rules_seen(m, dep);
}

void fed_rules_seen(struct fed_mgr *m, const json_t *dep)
{
    struct fed_drules *dr = hmap_get(&m->rules, jv_str(dep, "id", ""));

    if (!dr)
        return;
    dr->ceded = strcmp(jv_str(dep, "rules_owner", "branch"), "cloud") == 0;
    dr->busy = doc_str(dep, "operation") != NULL;
}

void fed_rules_drop(struct fed_mgr *m, const char *dep)
{
    drules_free(hmap_del(&m->rules, dep));
}

void fed_rules_free(struct fed_mgr *m)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&m->rules, &i); e; e = hmap_next(&m->rules, e, &i))
        drules_free(e->value);
    hmap_done(&m->rules);
}

static void rules_reload(struct core *c, void *arg)
{
    json_t *dep = arg;
    struct fed_mgr *m = c->fed ? hmap_get(&c->fed->mgrs, jv_str(dep, "manager", "")) : NULL;

    if (m)
        fed_rules_load(m, dep);
}

static void json_free_arg(void *arg)
{
    json_decref(arg);
}

void fed_rules_changed(struct core *c, const json_t *dep)
{
    core_after_commit(c, rules_reload, json_deep_copy(dep), json_free_arg);
}

/* ---- evaluation, as a report arrives ---- */

static double share(const json_t *alloc, const json_t *cap, const char *key)
{
    double total = jv_num(cap, key, 0);

    return total > 0 ? jv_num(alloc, key, 0) / total : 0;
}

/* The value of metric in this report: one of the deployment's (vals), or
 * the load of its manager or site; false when the report has none. */
static bool value_of(const struct fed_mgr *m, const json_t *body, const json_t *vals,
                     const char *metric, double *v)
{
    const json_t *site = json_object_get(body, "site_state");
    const json_t *cap = json_object_get(site, "capacity"),
                 *alloc = json_object_get(site, "allocated");
    const json_t *x;

    if (strncmp(metric, "manager.", 8) == 0) {
        x = strcmp(metric + 8, "load") == 0
                ? json_object_get(m->load, "value")
                : json_object_get(json_object_get(m->load, "parts"), metric + 8);
    } else if (strncmp(metric, "site.", 5) == 0 && cap) {
        double vcpu = share(alloc, cap, "vcpu"), mem = share(alloc, cap, "memory_mb");

        *v = strcmp(metric + 5, "vcpu") == 0     ? vcpu
             : strcmp(metric + 5, "memory") == 0 ? mem
             : vcpu > mem                        ? vcpu
                                                 : mem;
        return true;
    } else {
        x = json_object_get(vals, metric);
    }
    if (!json_is_number(x))
        return false;
    *v = json_number_value(x);
    return true;
}

/* The decision of rule r, through the rules engine; its refusal (busy, at
 * its bounds, ...) makes the rule wait a little. */
struct report {
    const json_t *body;
    uint64_t arrived_us, now;
};

static void fire(struct core *c, struct fed_mgr *m, struct fed_drules *dr, size_t i,
                 const char *dep, const struct report *rep, const json_t *vals, double v,
                 unsigned samples)
{
    struct crule *r = &dr->r[i];
    struct result res = {0};
    char when[TIME_STR_MAX];
    json_t *firing, *d;

    firing = json_pack(
        "{s:s, s:s, s:s, s:[], s:s, s:s, s:s, s:f, s:f, s:i, s:s, s:b, s:s, s:s, s:I, s:s, "
        "s:O, s:I}",
        "deployment", dep, "rule", r->name, "target", "*", "targets", "metric", r->cond.metric,
        "stat", mstat_kind_name(r->cond.stat), "op", rule_cmp_name(r->cond.cmp), "threshold",
        r->cond.threshold, "value", v, "samples", samples, "vdu", r->vdu, "per_vi", 0, "manager",
        m->id, "site", m->site, "report_seq", (json_int_t)jv_int(rep->body, "seq", 0),
        "report_received", time_fmt(m->last_report_ms, when), "values",
        vals ? (json_t *)vals : json_null(), "_arrived_us", (json_int_t)rep->arrived_us);
    d = exec_decide(c, firing, &res);
    if (d) {
        fed_cscale_decided(c->fed);
        snprintf(dr->deciding, sizeof(dr->deciding), "%s", jv_str(d, "id", ""));
        dr->which = i;
        r->st.in_flight = true;
    } else {
        log_info("fed: cloud rule %s of %s (site %s) not acted on: %s", r->name, dep, m->site,
                 jv_str(res.body, "message", "refused"));
        r->st.cooldown_until = rep->now + REFUSED_RETRY_MS;
    }
    json_decref(d);
    json_decref(firing);
    result_done(&res);
}

/* Whether the decision of dr that ran has ended (its rule's cooldown then
 * starts, as the rules engine's own do). */
static bool decided(struct core *c, struct fed_drules *dr, uint64_t now)
{
    json_t *d;
    bool running;

    if (!dr->deciding[0])
        return true;
    d = core_load(c, STORE_DECISION, dr->deciding);
    running = d && strcmp(jv_str(d, "state", ""), "running") == 0;
    json_decref(d);
    if (running)
        return false;
    rule_done(&dr->r[dr->which].cond, &dr->r[dr->which].st, now);
    dr->deciding[0] = '\0';
    return true;
}

static void eval_dep(struct core *c, struct fed_mgr *m, const char *dep, struct fed_drules *dr,
                     const struct report *rep)
{
    json_t *vals;
    bool burst_busy;
    double v;

    if (!dr->wanted || !dr->ceded || dr->busy || !decided(c, dr, rep->now))
        return;
    vals = fed_burst_values(c, dep, json_object_get(json_object_get(rep->body, "metrics"), dep),
                            &burst_busy);
    for (size_t i = 0; i < dr->n && !dr->deciding[0] && !burst_busy; i++) {
        struct crule *r = &dr->r[i];
        unsigned samples = r->st.hits + 1;

        if (!r->enabled || !value_of(m, rep->body, vals, r->cond.metric, &v))
            continue;
        if (r->series) {
            mstat_add(r->series, rep->now, v);
            mstat_get(r->series, r->cond.stat, &v);
        }
        if (rule_step(&r->cond, &r->st, rule_match(&r->cond, v), rep->now) & RULE_FIRE)
            fire(c, m, dr, i, dep, rep, vals, v, samples);
    }
    json_decref(vals);
}

void fed_rules_eval(struct core *c, struct fed_mgr *m, const json_t *body, uint64_t arrived_us)
{
    struct report rep = {body, arrived_us, mono_ms()};
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&m->rules, &i); e; e = hmap_next(&m->rules, e, &i))
        eval_dep(c, m, e->key, e->value, &rep);
}
