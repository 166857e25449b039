#include "monitor/monitor.h"
#include "core/bus.h"
#include "core/wake.h"
#include "core/runas.h"
#include "lcm/sites.h"
#include "policy/svc_policy.h"
#include "core/txq.h"
#include "lcm/vi_job.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "catalog/vnfd.h"
#include "policy/rules.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRESH_INTERVALS  3     /* an aggregate takes samples younger than this many intervals */
#define REFUSED_RETRY_MS 2000  /* a firing the loop refused (busy) is retried after this */
#define HISTORY_SAVE_MS  10000 /* the histories are written to the data dir this often */
#define HISTORY_FILE     "metrics-history.json"
#define HISTORY_FILE_MAX (64u << 20)

struct mdep;

/* A value of a series at a wall time, kept for charts (monitor_history). */
struct mhist {
    int64_t t_ms;
    double v;
};

/* One metric of one VI. */
struct mseries {
    struct mdep *d;
    char metric[72];
    char vi[VIM_ID_MAX];
    char vi_name[VIM_NAME_MAX];
    char vdu[72];
    long long pid; /* of the VI when the series was made: a new process is a new series */
    bool admin;    /* an admin wrote its definition (core/runas.h) when it was made */
    json_t *spec;
    const struct probe_ops *ops;
    struct sched_entry *entry;
    unsigned interval_ms;
    struct mstat val, up;
    struct mhist hist[MONITOR_HISTORY]; /* a ring: the newest at (hist_head - 1) */
    unsigned hist_head, hist_n;
    uint64_t probes, failures;
    bool last_ok, seen;
    char err[PROBE_ERR_MAX];
};

struct mrule {
    struct mdep *d;
    char name[72];
    char stage[72];
    char vdu[72]; /* of its metric; "" = every VDU */
    char aggregate[8];
    struct rule_cond cond;
    unsigned interval_ms;
    bool enabled;
    int64_t cooldown_until; /* wall ms */
    struct hmap states;     /* target (VI id, VDU id or "*") -> struct rule_state */
    uv_timer_t *tick;       /* VDU-wide rules: evaluated once per interval */
};

struct mdep {
    struct monitor *m;
    char id[KEY_BUF_MAX]; /* the store key (util/ids.h) */
    char tenant[72];
    uid_t tenant_uid;  /* what its script probes run as */
    bool policy_admin; /* an admin wrote its monitoring and rules */
    json_t *monitoring, *rules, *vis;
    bool busy;          /* a lifecycle operation runs, or the deployment failed */
    bool ceded;         /* the cloud's rules decide for it (rules_owner, fed/owner.c) */
    bool deciding;      /* a decision of the rules engine runs */
    bool firing;        /* a firing is on its way to the loop */
    struct hmap series; /* "metric/vi" -> struct mseries */
    struct mrule *rt;
    size_t n_rt;
};

struct monitor {
    struct core *c;
    struct sched *s;
    struct store *st; /* read-only, the scheduler thread's */
    pthread_mutex_t mu;
    struct hmap deps;
    struct bus_sub *sub;
    atomic_bool drain_queued;
    int64_t synced;           /* under mu: the bus seq up to which deps follow the store */
    json_t *saved;            /* under mu: the histories read at the start, not yet taken */
    uv_timer_t *save_timer;   /* the scheduler's: writes the histories */
    struct sync_waits *waits; /* the loop's: who waits for synced to move */
    atomic_bool waiting;      /* waits holds some */
};

static void eval_sample(struct mseries *se);
static void raise_alarm(struct mrule *r, const char *key, const char *result, double value);
static const json_t *find_vi(const json_t *vis, const char *id);
static void rule_tick(uv_timer_t *t);

/* ---- series ---- */

static void hist_push(struct mseries *se, int64_t t_ms, double v)
{
    se->hist[se->hist_head] = (struct mhist){t_ms, v};
    se->hist_head = (se->hist_head + 1) % MONITOR_HISTORY;
    if (se->hist_n < MONITOR_HISTORY)
        se->hist_n++;
}

/* "DEP/METRIC/VI": a series' name in the saved histories. */
static void saved_key(const struct mseries *se, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s", se->d->id, se->metric, se->vi);
}

/* The history a series of the same process had before the manager
 * started (the saved file), taken once: a VI adopted after a restart keeps
 * its charts; a new process starts afresh. Called under mu. */
static void hist_restore(struct mseries *se)
{
    json_t *saved = se->d->m->saved, *x, *t, *v;
    char key[KEY_BUF_MAX + 200];

    saved_key(se, key, sizeof(key));
    if (!saved || !(x = json_object_get(saved, key)))
        return;
    t = json_object_get(x, "t");
    v = json_object_get(x, "v");
    if (se->pid && jv_int(x, "pid", 0) == se->pid && json_array_size(t) == json_array_size(v))
        for (size_t i = 0; i < json_array_size(t) && i < MONITOR_HISTORY; i++)
            hist_push(se, json_integer_value(json_array_get(t, i)),
                      json_number_value(json_array_get(v, i)));
    json_object_del(saved, key);
}

static void series_result(void *arg, const struct probe_result *r)
{
    struct mseries *se = arg;
    struct monitor *m = se->d->m;
    uint64_t now = mono_ms();

    pthread_mutex_lock(&m->mu);
    se->probes++;
    se->seen = true;
    se->last_ok = r->ok;
    if (!r->ok) {
        se->failures++;
        snprintf(se->err, sizeof(se->err), "%s", r->err);
    } else {
        se->err[0] = '\0';
    }
    mstat_add(&se->up, now, r->ok ? 1 : 0);
    if (r->ok && r->has_value) {
        mstat_add(&se->val, now, r->value);
        hist_push(se, wall_ms(), r->value);
    }
    eval_sample(se);
    pthread_mutex_unlock(&m->mu);
}

static unsigned interval_of(const json_t *monitoring, const json_t *spec)
{
    double s = jv_num(spec, "interval_s", jv_num(monitoring, "interval_s", 5));

    return (unsigned)(s * 1000.0 + 0.5);
}

static struct probe_target *make_target(struct monitor *m, const struct mseries *se,
                                        const json_t *vi)
{
    struct probe_target *t = xcalloc(1, sizeof(*t));
    const struct sites_snap *snap = sites_snap_get(m->c);
    const struct site_info *site = sites_snap_find(snap, doc_str(vi, "site"));

    ip4_parse(jv_str(vi, "ip", ""), &t->ip);
    snprintf(t->vi, sizeof(t->vi), "%s", se->vi);
    snprintf(t->name, sizeof(t->name), "%s", se->vi_name);
    snprintf(t->deployment, sizeof(t->deployment), "%s", se->d->id);
    snprintf(t->metric, sizeof(t->metric), "%s", se->metric);
    t->spec = json_incref(se->spec);
    t->sandbox =
        runas_script(m->c, jv_str(se->spec, "script", ""), se->admin, se->d->tenant_uid, &t->sb);
    if (site && site->vim) { /* open until the manager stops (lcm/sites.h) */
        t->vim_ops = site->ops;
        t->vim = site->vim;
    }
    sites_snap_put(snap);
    snprintf(t->h.id, sizeof(t->h.id), "%s", se->vi);
    t->vim_ref = json_deep_copy(json_object_get(vi, "_vim"));
    t->h.ref = t->vim_ref;
    t->vcpu_milli = (unsigned)(jv_num(vi, "vcpu", 1) * 1000.0 + 0.5);
    t->memory_bytes = (uint64_t)jv_int(vi, "memory_mb", 0) << 20;
    return t;
}

static struct mseries *series_new(struct mdep *d, const char *metric, const json_t *spec,
                                  const json_t *vi)
{
    struct mseries *se = xcalloc(1, sizeof(*se));
    uint64_t window = (uint64_t)jv_int(spec, "window_s", 60) * 1000;

    se->d = d;
    snprintf(se->metric, sizeof(se->metric), "%s", metric);
    snprintf(se->vi, sizeof(se->vi), "%s", doc_str(vi, "id"));
    snprintf(se->vi_name, sizeof(se->vi_name), "%s", doc_str(vi, "name"));
    snprintf(se->vdu, sizeof(se->vdu), "%s", doc_str(vi, "vdu"));
    se->pid = doc_int(vi, "pid", 0);
    se->admin = d->policy_admin;
    se->spec = json_incref((json_t *)spec);
    se->ops = probe_find(jv_str(spec, "probe", ""));
    se->interval_ms = interval_of(d->monitoring, spec);
    mstat_init(&se->val, window);
    mstat_init(&se->up, window);
    hist_restore(se);
    if (se->ops)
        se->entry = sched_add(d->m->s, se->ops, make_target(d->m, se, vi), se->interval_ms,
                              (unsigned)jv_int(spec, "timeout_ms", 1000),
                              (unsigned)jv_int(spec, "retry_ms", 0), series_result, se);
    return se;
}

static void series_free(struct mseries *se)
{
    sched_remove(se->entry);
    json_decref(se->spec);
    free(se);
}

static void series_key(const char *metric, const char *vi, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", metric, vi);
}

/* ---- rules ---- */

static void rules_free(struct mdep *d)
{
    for (size_t i = 0; i < d->n_rt; i++) {
        struct mrule *r = &d->rt[i];
        struct hmap_entry *e;
        size_t k;

        for (e = hmap_first(&r->states, &k); e; e = hmap_next(&r->states, e, &k))
            free(e->value);
        hmap_done(&r->states);
        if (r->tick)
            uv_close((uv_handle_t *)r->tick, (uv_close_cb)free);
    }
    free(d->rt);
    d->rt = NULL;
    d->n_rt = 0;
}

static void rule_init(struct mdep *d, struct mrule *r, const json_t *def)
{
    const json_t *spec;

    r->d = d;
    snprintf(r->name, sizeof(r->name), "%s", jv_str(def, "name", ""));
    snprintf(r->stage, sizeof(r->stage), "%s", jv_str(def, "stage", "custom"));
    r->enabled = jv_bool(def, "enabled", 1);
    rule_cond_parse(def, &r->cond);
    spec = json_object_get(json_object_get(d->monitoring, "metrics"), r->cond.metric);
    snprintf(r->vdu, sizeof(r->vdu), "%s", jv_str(spec, "vdu", ""));
    snprintf(r->aggregate, sizeof(r->aggregate), "%s", jv_str(spec, "aggregate", "avg"));
    r->interval_ms = spec ? interval_of(d->monitoring, spec) : 1000;
    hmap_init(&r->states);
    if (!r->cond.per_vi && r->enabled) {
        r->tick = xcalloc(1, sizeof(*r->tick));
        uv_timer_init(sched_loop(d->m->s), r->tick);
        r->tick->data = r;
        uv_timer_start(r->tick, rule_tick, r->interval_ms, r->interval_ms);
    }
}

/* The rules are made anew (their counts start over) when they changed. */
static void rules_build(struct mdep *d)
{
    const json_t *def;
    size_t i;

    rules_free(d);
    d->n_rt = json_array_size(d->rules);
    d->rt = xcalloc(d->n_rt + 1, sizeof(*d->rt));
    json_array_foreach(d->rules, i, def)
    {
        rule_init(d, &d->rt[i], def);
    }
}

static struct rule_state *state_of(struct mrule *r, const char *key)
{
    struct rule_state *st = hmap_get(&r->states, key);

    if (!st) {
        st = xcalloc(1, sizeof(*st));
        hmap_put(&r->states, key, st);
    }
    return st;
}

/* Whether the rule engine may act on the deployment now (storm control:
 * one decision at a time, none while an operation runs). */
static bool may_act(const struct mdep *d)
{
    return !d->busy && !d->deciding && !d->firing && !d->ceded;
}

/* ---- firing: through the transactor to the loop ---- */

struct fired {
    struct monitor *m;
    char dep[KEY_BUF_MAX], rule[72];
    bool ok;
};

static void reload(struct monitor *m, const char *id);

static void fired_on_sched(void *arg)
{
    struct fired *f = arg;
    struct monitor *m = f->m;
    struct mdep *d;
    bool known;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, f->dep);
    known = d != NULL;
    if (d) {
        d->firing = false;
        for (size_t i = 0; !f->ok && i < d->n_rt; i++)
            if (strcmp(d->rt[i].name, f->rule) == 0)
                d->rt[i].cooldown_until = wall_ms() + REFUSED_RETRY_MS;
    }
    pthread_mutex_unlock(&m->mu);
    /* the decision it made runs, or ran already: a quick one may have ended
     * (and its end been read from the bus) before this, so whether one runs
     * is what the store says, not "yes" (the rules stayed silent for good) */
    if (known && f->ok)
        reload(m, f->dep);
    free(f);
}

/* On the loop, once the transactor applied the firing. */
static void fire_complete(struct txn *t)
{
    struct fired *f = t->complete_data;

    f->ok = t->res.status < 300;
    if (!f->ok)
        log_info("rule %s of %s not acted on: %s", f->rule, f->dep,
                 jv_str(t->res.body, "message", "refused"));
    if (f->m->s)
        sched_call(f->m->s, fired_on_sched, f);
    else
        free(f); /* the monitor stopped */
    txn_free(t);
}

static void submit(struct monitor *m, txn_apply_fn apply, const char *name, json_t *body,
                   struct fired *f)
{
    struct txn *t = txn_new(apply, name);

    t->who.admin = true;
    t->lock_exempt = true; /* the manager's own decision, not a management session's */
    snprintf(t->who.token_id, sizeof(t->who.token_id), "rules-engine");
    t->body = body;
    t->complete = f ? fire_complete : txn_free;
    t->complete_data = f;
    txq_submit(m->c->txq, t);
}

/* The VIs a firing is about: the one VI, or every VI of the rule's VDU. */
static json_t *targets(const struct mrule *r, const char *key)
{
    json_t *out = json_array(), *vi;
    size_t i;

    json_array_foreach(r->d->vis, i, vi)
    {
        const char *id = doc_str(vi, "id"), *vdu = doc_str(vi, "vdu");

        if (r->cond.per_vi ? strcmp(id, key) == 0 : (!r->vdu[0] || strcmp(vdu, r->vdu) == 0))
            json_array_append_new(out, json_string(id));
    }
    return out;
}

static void fire(struct mrule *r, const char *key, double value, unsigned samples)
{
    struct mdep *d = r->d;
    struct fired *f = xcalloc(1, sizeof(*f));
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:f, s:f, s:i, s:s, s:b}",
                             "deployment", d->id, "rule", r->name, "stage", r->stage, "target", key,
                             "targets", targets(r, key), "metric", r->cond.metric, "stat",
                             r->cond.up ? "up" : mstat_kind_name(r->cond.stat), "op",
                             rule_cmp_name(r->cond.cmp), "threshold", r->cond.threshold, "value",
                             value, "samples", samples, "vdu", r->vdu, "per_vi", r->cond.per_vi);

    if (r->cond.per_vi) {
        const json_t *vi = find_vi(d->vis, key);

        json_object_set_new(body, "target_name", json_string(vi ? doc_str(vi, "name") : key));
    }
    f->m = d->m;
    snprintf(f->dep, sizeof(f->dep), "%s", d->id);
    snprintf(f->rule, sizeof(f->rule), "%s", r->name);
    d->firing = true;
    submit(d->m, svc_policy_fire, "rule fired", body, f);
}

static void raise_alarm(struct mrule *r, const char *key, const char *result, double value)
{
    submit(r->d->m, svc_policy_alarm, "rule alarm",
           json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:f}", "deployment", r->d->id,
                     "rule", r->name, "stage", r->stage, "target", key, "result", result, "metric",
                     r->cond.metric, "value", value, "op", rule_cmp_name(r->cond.cmp), "threshold",
                     r->cond.threshold),
           NULL);
}

/* Feeds one evaluation of rule r for target key. */
static void step(struct mrule *r, const char *key, double value)
{
    struct rule_state *st = state_of(r, key);
    bool match = rule_match(&r->cond, value);
    unsigned samples = st->hits + 1, ev;

    st->last_value = value;
    st->has_value = true;
    st->cooldown_until = (uint64_t)(r->cooldown_until > 0 ? r->cooldown_until : 0);
    ev = rule_step(&r->cond, st, match, (uint64_t)wall_ms());
    if (ev & RULE_RAISED)
        raise_alarm(r, key, "raised", value);
    if (ev & RULE_CLEARED)
        raise_alarm(r, key, "cleared", value);
    if (ev & RULE_FIRE)
        fire(r, key, value, samples);
}

/* The value a rule looks at in a series; false when it has none. */
static bool series_value(const struct mrule *r, const struct mseries *se, double *v)
{
    return mstat_get(r->cond.up ? &se->up : &se->val, r->cond.up ? MSTAT_LAST : r->cond.stat, v);
}

/* A new sample: per-VI rules on this metric take it at once. */
static void eval_sample(struct mseries *se)
{
    struct mdep *d = se->d;
    double v;

    for (size_t i = 0; i < d->n_rt && may_act(d); i++) {
        struct mrule *r = &d->rt[i];

        if (r->enabled && r->cond.per_vi && strcmp(r->cond.metric, se->metric) == 0 &&
            series_value(r, se, &v))
            step(r, se->vi, v);
    }
}

static double aggregate(const char *how, double acc, double v, unsigned n)
{
    if (n == 0)
        return v;
    if (strcmp(how, "min") == 0)
        return v < acc ? v : acc;
    if (strcmp(how, "max") == 0)
        return v > acc ? v : acc;
    return acc + v; /* sum, and avg divides at the end */
}

/* VDU-wide rules: the aggregate of the fresh samples of every VI. */
static void rule_tick(uv_timer_t *t)
{
    struct mrule *r = t->data;
    struct mdep *d = r->d;
    struct monitor *m = d->m;
    uint64_t now = mono_ms();
    struct hmap_entry *e;
    double acc = 0, v;
    unsigned n = 0;
    size_t i;

    pthread_mutex_lock(&m->mu);
    for (e = hmap_first(&d->series, &i); e && may_act(d); e = hmap_next(&d->series, e, &i)) {
        struct mseries *se = e->value;

        if (strcmp(se->metric, r->cond.metric) != 0 || (r->vdu[0] && strcmp(se->vdu, r->vdu)) ||
            mstat_age(r->cond.up ? &se->up : &se->val, now) >
                (uint64_t)se->interval_ms * FRESH_INTERVALS ||
            !series_value(r, se, &v))
            continue;
        acc = aggregate(r->aggregate, acc, v, n++);
    }
    if (n > 0 && may_act(d))
        step(r, r->vdu[0] ? r->vdu : "*", strcmp(r->aggregate, "avg") == 0 ? acc / n : acc);
    pthread_mutex_unlock(&m->mu);
}

/* process.up rules look at the records: the manager's own exit watch. */
static void eval_process(struct mdep *d)
{
    json_t *vi;
    size_t i, k;

    for (k = 0; k < d->n_rt; k++) {
        struct mrule *r = &d->rt[k];

        if (!r->enabled || strcmp(r->cond.metric, "process") != 0)
            continue;
        json_array_foreach(d->vis, i, vi)
        {
            int state = vi_state_of(vi);

            if (may_act(d) && (state == VIS_RUNNING || state == VIS_EXITED))
                step(r, doc_str(vi, "id"), state == VIS_RUNNING ? 1 : 0);
        }
    }
}

/* ---- reading a deployment again ---- */

static void dep_free(struct mdep *d)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&d->series, &i); e; e = hmap_next(&d->series, e, &i))
        series_free(e->value);
    hmap_done(&d->series);
    rules_free(d);
    json_decref(d->monitoring);
    json_decref(d->rules);
    json_decref(d->vis);
    free(d);
}

/* VIs worth probing: running, or ended by themselves (so that probes see
 * the failure); not while an operation creates, starts or destroys them. */
static bool probed(const json_t *vi)
{
    int state = vi_state_of(vi);

    return state == VIS_RUNNING || state == VIS_EXITED;
}

static const json_t *find_vi(const json_t *vis, const char *id)
{
    const json_t *vi;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        if (strcmp(doc_str(vi, "id"), id) == 0)
            return vi;
    }
    return NULL;
}

/* Forgets what the rules counted for a VI whose process changed (or that
 * is gone); its raised alarms are cleared. */
static void forget_vi(struct mdep *d, const char *vi)
{
    for (size_t i = 0; i < d->n_rt; i++) {
        struct rule_state *st = hmap_del(&d->rt[i].states, vi);

        if (st && st->raised)
            raise_alarm(&d->rt[i], vi, "cleared", st->last_value);
        free(st);
    }
}

static void sync_series(struct mdep *d)
{
    const json_t *metrics = json_object_get(d->monitoring, "metrics"), *spec, *vi;
    struct hmap_entry *e, *next;
    const char *name;
    char key[160];
    size_t i;

    for (e = hmap_first(&d->series, &i); e; e = next) {
        struct mseries *se = e->value;
        const json_t *now = find_vi(d->vis, se->vi);

        next = hmap_next(&d->series, e, &i);
        spec = json_object_get(metrics, se->metric);
        if (!now || !probed(now) || !spec || !json_equal(spec, se->spec) ||
            doc_int(now, "pid", 0) != se->pid || se->admin != d->policy_admin) {
            if (!now || doc_int(now, "pid", 0) != se->pid)
                forget_vi(d, se->vi);
            series_free(hmap_del(&d->series, e->key));
        }
    }
    json_object_foreach((json_t *)metrics, name, spec)
    {
        const char *vdu = jv_str(spec, "vdu", NULL);

        json_array_foreach(d->vis, i, vi)
        {
            if (!probed(vi) || (vdu && strcmp(vdu, doc_str(vi, "vdu")) != 0))
                continue;
            series_key(name, doc_str(vi, "id"), key, sizeof(key));
            if (!hmap_get(&d->series, key))
                hmap_put(&d->series, key, series_new(d, name, spec, vi));
        }
    }
}

static json_t *list_of(struct store *st, enum store_kind k, const char *col, const char *val,
                       const char *col2, const char *val2, unsigned limit)
{
    struct store_where w[2] = {{col, val, false}, {col2, val2, false}};
    struct store_list_opts o = {
        .where = w, .n_where = col2 ? 2 : 1, .limit = limit, .newest_first = limit > 0};
    json_t *out = NULL;

    store_list(st, k, &o, &out);
    return out ? out : json_array();
}

/* When each rule may fire again: its last decision's end plus its cooldown. */
static void load_cooldowns(struct mdep *d)
{
    for (size_t i = 0; i < d->n_rt; i++) {
        json_t *last =
            list_of(d->m->st, STORE_DECISION, "deployment", d->id, "rule", d->rt[i].name, 1);
        const char *fin = doc_str(json_array_get(last, 0), "finished");
        int64_t t;

        if (fin && time_parse(fin, &t) == 0)
            d->rt[i].cooldown_until = t + (int64_t)d->rt[i].cond.cooldown_ms;
        json_decref(last);
    }
}

static void apply_config(struct mdep *d, const json_t *dep)
{
    const json_t *mon = json_object_get(dep, "monitoring"), *rules = json_object_get(dep, "rules");
    bool changed =
        !json_equal(mon ? mon : json_null(), d->monitoring ? d->monitoring : json_null());

    if (changed) {
        json_decref(d->monitoring);
        d->monitoring = json_incref((json_t *)mon);
    }
    if (changed || !json_equal(rules ? rules : json_null(), d->rules ? d->rules : json_null())) {
        json_decref(d->rules);
        d->rules = json_incref((json_t *)rules);
        rules_build(d);
    }
    sync_series(d);
}

/* Who wrote the deployment's script probes, and its tenant's uid. */
static void who_runs(struct monitor *m, struct mdep *d, const json_t *dep)
{
    json_t *vnfd = NULL, *tenant = NULL;

    store_get(m->st, STORE_VNFD, jv_str(dep, "vnfd", ""), &vnfd);
    store_get(m->st, STORE_TENANT, d->tenant, &tenant);
    d->policy_admin = runas_policy_admin(dep, vnfd);
    d->tenant_uid = runas_uid(tenant);
    json_decref(vnfd);
    json_decref(tenant);
}

static void reload(struct monitor *m, const char *id)
{
    json_t *dep = NULL, *running;
    struct mdep *d;

    /* a branch's deployment on a cloud: its manager monitors it; one being
     * handed over between managers (fed/handover.c): the one that ends up
     * with it, once that is done */
    if (store_get(m->st, STORE_DEPLOYMENT, id, &dep) || doc_str(dep, "manager") ||
        json_object_get(dep, "_handover")) {
        json_decref(dep);
        pthread_mutex_lock(&m->mu);
        d = hmap_del(&m->deps, id);
        if (d)
            dep_free(d);
        pthread_mutex_unlock(&m->mu);
        return;
    }
    running = list_of(m->st, STORE_DECISION, "deployment", id, "state", "running", 0);
    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, id);
    if (!d) {
        d = xcalloc(1, sizeof(*d));
        d->m = m;
        snprintf(d->id, sizeof(d->id), "%s", id);
        hmap_init(&d->series);
        hmap_put(&m->deps, id, d);
    }
    snprintf(d->tenant, sizeof(d->tenant), "%s", jv_str(dep, "tenant", ""));
    who_runs(m, d, dep);
    d->busy = doc_str(dep, "operation") || dep_status_of(dep) == DEP_FAILED;
    d->ceded = strcmp(jv_str(dep, "rules_owner", "branch"), "cloud") == 0;
    d->deciding = json_array_size(running) > 0;
    json_decref(d->vis);
    d->vis = list_of(m->st, STORE_VI, "deployment", id, NULL, NULL, 0);
    apply_config(d, dep);
    load_cooldowns(d);
    eval_process(d);
    pthread_mutex_unlock(&m->mu);
    json_decref(running);
    json_decref(dep);
}

static void reload_all(struct monitor *m)
{
    json_t *deps = NULL, *dep;
    size_t i;

    if (store_list(m->st, STORE_DEPLOYMENT, NULL, &deps))
        return;
    json_array_foreach(deps, i, dep)
    {
        reload(m, doc_str(dep, "id"));
    }
    json_decref(deps);
}

/* ---- the event bus: what changed ---- */

/* Whether rec can change what the monitor knows of its deployment. While
 * an operation runs, the rules wait for it, and its stages and VI steps
 * change nothing they look at before the operation's own end (an event of
 * its own): those do not cost a reload, which would compete for the CPU
 * with the very deployment under way. */
static bool worth_reload(struct monitor *m, const json_t *rec)
{
    struct mdep *d;
    bool busy;

    if (strcmp(jv_str(rec, "category", ""), "lifecycle") != 0 ||
        strcmp(jv_str(rec, "event", ""), "operation") == 0)
        return true;
    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, doc_str(rec, "deployment"));
    busy = d && d->busy;
    pthread_mutex_unlock(&m->mu);
    return !busy;
}

static void park(void *arg)
{
    (void)arg;
}

static void waits_wake(struct sync_waits *w);

static void drain(void *arg)
{
    struct monitor *m = arg;
    struct hmap todo;
    struct hmap_entry *e;
    json_t *rec;
    size_t i;

    atomic_store(&m->drain_queued, false);
    hmap_init(&todo);
    for (bool more = true; more;) {
        switch (bus_read(m->sub, &rec, park)) {
        case BUS_DATA:
            if (doc_str(rec, "deployment") && worth_reload(m, rec))
                hmap_put(&todo, doc_str(rec, "deployment"), m);
            json_decref(rec);
            break;
        case BUS_BEHIND: /* missed some: look at everything */
            bus_sub_seek(m->sub, bus_last_seq(m->c->bus));
            reload_all(m);
            break;
        default:
            more = false;
        }
    }
    for (e = hmap_first(&todo, &i); e; e = hmap_next(&todo, e, &i))
        reload(m, e->key);
    hmap_done(&todo);
    pthread_mutex_lock(&m->mu);
    m->synced = bus_sub_pos(m->sub);
    pthread_mutex_unlock(&m->mu);
    if (atomic_load(&m->waiting))
        waits_wake(m->waits);
}

/* From the thread that published (the loop): hand over to the scheduler. */
static void on_bus(void *arg)
{
    struct monitor *m = arg;

    if (!atomic_exchange(&m->drain_queued, true))
        sched_call(m->s, drain, m);
}

/* ---- the histories across a restart ---- */

static char *history_path(const struct monitor *m)
{
    return xasprintf("%s/" HISTORY_FILE, m->c->cfg->data_dir);
}

/* {"series": {"DEP/METRIC/VI": {"pid": P, "t": [wall ms], "v": [values]}}},
 * oldest first; under mu. */
static json_t *history_dump(struct monitor *m)
{
    json_t *all = json_object();
    struct hmap_entry *e, *f;
    size_t i, k;

    for (e = hmap_first(&m->deps, &i); e; e = hmap_next(&m->deps, e, &i)) {
        struct mdep *d = e->value;

        for (f = hmap_first(&d->series, &k); f; f = hmap_next(&d->series, f, &k)) {
            const struct mseries *se = f->value;
            json_t *t = json_array(), *v = json_array();
            char key[KEY_BUF_MAX + 200];

            for (unsigned n = 0; n < se->hist_n; n++) {
                const struct mhist *h =
                    &se->hist[(se->hist_head + MONITOR_HISTORY - se->hist_n + n) % MONITOR_HISTORY];

                json_array_append_new(t, json_integer(h->t_ms));
                json_array_append_new(v, json_real(h->v));
            }
            saved_key(se, key, sizeof(key));
            json_object_set_new(
                all, key, json_pack("{s:I, s:o, s:o}", "pid", (json_int_t)se->pid, "t", t, "v", v));
        }
    }
    return json_pack("{s:o}", "series", all);
}

/* Writes the histories into the data dir (not durable: a kill -9 loses at
 * most the last HISTORY_SAVE_MS). A manager that watches nothing (a
 * standby sharing the data dir) leaves the file alone. */
static void history_save(struct monitor *m)
{
    char *path, *text;
    json_t *doc;
    int r;

    pthread_mutex_lock(&m->mu);
    doc = m->deps.size ? history_dump(m) : NULL;
    pthread_mutex_unlock(&m->mu);
    if (!doc)
        return;
    path = history_path(m);
    text = json_dumps(doc, JSON_COMPACT);
    if (text && (r = write_file_atomic(path, text, strlen(text), 0600, false)))
        log_warn("monitor: cannot write %s: %s", path, strerror(-r));
    free(text);
    free(path);
    json_decref(doc);
}

static void history_tick(uv_timer_t *t)
{
    history_save(t->data);
}

static void history_load(struct monitor *m)
{
    char *path = history_path(m), *text = NULL;
    json_t *doc;

    if (read_file(path, HISTORY_FILE_MAX, &text, NULL) == 0) {
        doc = json_loads(text, 0, NULL);
        if (json_is_object(json_object_get(doc, "series")))
            m->saved = json_incref(json_object_get(doc, "series"));
        else
            log_warn("monitor: %s is not a history file; the charts start afresh", path);
        json_decref(doc);
    }
    free(text);
    free(path);
}

static void start(void *arg)
{
    struct monitor *m = arg;

    pthread_mutex_lock(&m->mu);
    history_load(m);
    pthread_mutex_unlock(&m->mu);
    reload_all(m);
    drain(m);
    m->save_timer = xcalloc(1, sizeof(*m->save_timer));
    uv_timer_init(sched_loop(m->s), m->save_timer);
    m->save_timer->data = m;
    uv_timer_start(m->save_timer, history_tick, HISTORY_SAVE_MS, HISTORY_SAVE_MS);
}

static void waits_new(struct monitor *m);
static void waits_close(struct sync_waits *w);

struct monitor *monitor_new(struct core *c, char *err, size_t errlen)
{
    struct monitor *m = xcalloc(1, sizeof(*m));
    const struct config *cfg = c->cfg;
    struct sched_opts o = {.name = "monitor",
                           .pool_min = cfg->monitor_workers_min,
                           .pool_max = cfg->monitor_workers_max,
                           .util_low = cfg->monitor_util_low,
                           .util_high = cfg->monitor_util_high};
    if (store_open_reader(c->st, &m->st, err, errlen)) {
        free(m);
        return NULL;
    }
    m->c = c;
    pthread_mutex_init(&m->mu, NULL);
    hmap_init(&m->deps);
    m->s = sched_new(&o);
    if (!m->s) {
        snprintf(err, errlen, "cannot start the monitoring scheduler");
        store_close(m->st);
        free(m);
        return NULL;
    }
    waits_new(m);
    m->sub = bus_subscribe(c->bus, &(struct bus_filter){0}, bus_last_seq(c->bus), on_bus, m);
    sched_call(m->s, start, m);
    return m;
}

static void timer_free(uv_handle_t *h)
{
    free(h);
}

static void stop_all(void *arg)
{
    struct monitor *m = arg;
    struct hmap_entry *e;
    size_t i;

    if (m->save_timer) { /* a clean stop keeps the histories to the last sample */
        uv_close((uv_handle_t *)m->save_timer, timer_free);
        m->save_timer = NULL;
        history_save(m);
    }
    pthread_mutex_lock(&m->mu);
    while ((e = hmap_first(&m->deps, &i)))
        dep_free(hmap_del(&m->deps, e->key));
    pthread_mutex_unlock(&m->mu);
}

void monitor_stop(struct monitor *m)
{
    if (!m || !m->s)
        return;
    /* the scheduler's thread first: a drain it runs still reads the bus
     * (a manager that stops at once, its port taken, crashed here) */
    sched_call(m->s, stop_all, m);
    sched_free(m->s);
    m->s = NULL;
    bus_unsubscribe(m->sub);
    m->sub = NULL;
    waits_close(m->waits); /* what waits hears that the manager stops */
    m->waits = NULL;
}

void monitor_free(struct monitor *m)
{
    if (!m)
        return;
    monitor_stop(m);
    hmap_done(&m->deps);
    json_decref(m->saved);
    store_close(m->st);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

struct sched *monitor_sched(struct monitor *m)
{
    return m->s;
}

bool monitor_alive(void *arg, uint64_t now)
{
    struct monitor *m = arg;
    struct sched_stats st;

    sched_stats(m->s, &st);
    return ms_since(now, st.last_beat_ms) < MONITOR_STALE_MS;
}

static void stall(void *arg)
{
    sleep((unsigned)(uintptr_t)arg);
}

void monitor_fault_stall(void *arg, unsigned seconds)
{
    struct monitor *m = arg;

    sched_call(m->s, stall, (void *)(uintptr_t)seconds);
}

/* ---- pushed values ---- */

struct pushed {
    struct monitor *m;
    char dep[KEY_BUF_MAX], key[160];
    double v;
};

static void push_on_sched(void *arg)
{
    struct pushed *p = arg;
    struct monitor *m = p->m;
    struct mdep *d;
    struct mseries *se;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, p->dep);
    se = d ? hmap_get(&d->series, p->key) : NULL;
    pthread_mutex_unlock(&m->mu);
    if (se)
        series_result(se, &(struct probe_result){.ok = true, .has_value = true, .value = p->v});
    free(p);
}

/* The one series of metric to push to; else NULL, msg set and *r -ENOENT
 * (none), -EINVAL (a probed metric) or -E2BIG (several VIs, none named). */
static struct mseries *push_target(struct mdep *d, const char *metric, const char *vi, int *r,
                                   char *msg, size_t len)
{
    struct mseries *found = NULL;
    struct hmap_entry *e;
    unsigned n = 0;
    size_t i;

    for (e = hmap_first(&d->series, &i); e; e = hmap_next(&d->series, e, &i)) {
        struct mseries *se = e->value;

        if (strcmp(se->metric, metric) == 0 &&
            (!vi || strcmp(se->vi, vi) == 0 || strcmp(se->vi_name, vi) == 0)) {
            found = se;
            n++;
        }
    }
    *r = 0;
    if (n == 1 && found->ops == &probe_push_ops)
        return found;
    *r = n == 0 ? -ENOENT : found->ops != &probe_push_ops ? -EINVAL : -E2BIG;
    snprintf(msg, len, "%s",
             n == 0          ? "the deployment has no such metric on a running VI"
             : *r == -EINVAL ? "the metric is not a push metric: its probe measures it"
                             : "the metric has several VIs: name one with 'vi'");
    return NULL;
}

int monitor_push(struct monitor *m, const char *dep, const char *vi, const json_t *values,
                 int64_t seq, char *field, size_t fieldlen, char *msg, size_t msglen)
{
    struct mseries *targets[PUSH_VALUES_MAX];
    const char *metric;
    struct mdep *d;
    json_t *v;
    size_t n = 0;
    int r = 0;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, dep);
    json_object_foreach((json_t *)values, metric, v)
    {
        snprintf(field, fieldlen, "values.%s", metric);
        if (!d) {
            r = -ENOENT;
            snprintf(msg, msglen, "the deployment is not monitored");
        } else if (n == PUSH_VALUES_MAX) {
            r = -EINVAL;
            snprintf(msg, msglen, "more than %d values", PUSH_VALUES_MAX);
        } else {
            targets[n++] = push_target(d, metric, vi, &r, msg, msglen);
            if (r == -E2BIG) { /* it is the VI that is missing */
                snprintf(field, fieldlen, "vi");
                r = -EINVAL;
            }
        }
        if (r)
            break;
    }
    if (r == -ENOENT && m->synced < seq)
        r = -EAGAIN; /* it may be in what the monitor has not read yet */
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct pushed *p = xcalloc(1, sizeof(*p));

        p->m = m;
        p->v = json_number_value(json_object_get(values, targets[i]->metric));
        snprintf(p->dep, sizeof(p->dep), "%s", dep);
        series_key(targets[i]->metric, targets[i]->vi, p->key, sizeof(p->key));
        sched_call(m->s, push_on_sched, p);
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* ---- waiting for the monitor to read the bus (on the loop) ---- */

struct sync_wait {
    int64_t seq;
    uint64_t deadline_ms;
    void (*fn)(struct core *c, void *arg, bool stopping);
    void *arg;
    struct sync_wait *next;
};

/* Freed by the close of its handles, which may outlive the monitor. */
struct sync_waits {
    struct monitor *m;
    struct wake wake; /* the monitor read further */
    uv_timer_t timer; /* the earliest deadline */
    struct sync_wait *head;
    int open_handles;
};

static void on_wait_timer(uv_timer_t *t);

/* Calls (and drops) the waits that are over: the monitor got there, their
 * deadline passed, or everything stops. */
static void waits_run(struct sync_waits *w, bool stopping)
{
    struct monitor *m = w->m;
    uint64_t now = mono_ms(), next = 0;
    struct sync_wait **pp = &w->head, *x;
    int64_t synced;

    pthread_mutex_lock(&m->mu);
    synced = m->synced;
    pthread_mutex_unlock(&m->mu);
    while ((x = *pp)) {
        if (stopping || x->seq <= synced || now >= x->deadline_ms) {
            *pp = x->next;
            x->fn(m->c, x->arg, stopping);
            free(x);
            continue;
        }
        next = next && next < x->deadline_ms ? next : x->deadline_ms;
        pp = &x->next;
    }
    atomic_store(&m->waiting, w->head != NULL);
    if (next && !stopping)
        uv_timer_start(&w->timer, on_wait_timer, next - now, 0);
}

/* Any thread. */
static void waits_wake(struct sync_waits *w)
{
    wake_send(&w->wake);
}

static void on_wait_timer(uv_timer_t *t)
{
    waits_run(t->data, false);
}

static void on_wait_wake(struct wake *k)
{
    waits_run(k->data, false);
}

static void waits_new(struct monitor *m)
{
    struct sync_waits *w = xcalloc(1, sizeof(*w));

    w->m = m;
    wake_init(m->c->loop, &w->wake, on_wait_wake, w);
    uv_timer_init(m->c->loop, &w->timer);
    w->timer.data = w;
    w->open_handles = 2;
    m->waits = w;
}

static void waits_unref(struct sync_waits *w)
{
    if (--w->open_handles == 0)
        free(w);
}

static void waits_closed(uv_handle_t *h)
{
    waits_unref(h->data);
}

static void waits_wake_closed(uv_handle_t *h)
{
    waits_unref(((struct wake *)h->data)->data);
}

static void waits_close(struct sync_waits *w)
{
    if (!w)
        return;
    waits_run(w, true);
    wake_close(&w->wake, waits_wake_closed);
    uv_close((uv_handle_t *)&w->timer, waits_closed);
}

void monitor_when_synced(struct monitor *m, int64_t seq,
                         void (*fn)(struct core *c, void *arg, bool stopping), void *arg)
{
    struct sync_wait *x = xcalloc(1, sizeof(*x));

    *x = (struct sync_wait){seq, mono_ms() + PUSH_WAIT_MS, fn, arg, m->waits->head};
    m->waits->head = x;
    atomic_store(&m->waiting, true); /* before waits_run() reads synced: drain() wakes us */
    waits_run(m->waits, false);
}
/* ---- views ---- */

static void add_stat(json_t *o, const char *key, const struct mstat *s, enum mstat_kind k)
{
    double v;

    json_object_set_new(o, key,
                        mstat_get(s, k, &v) ? json_real(round(v * 1000) / 1000) : json_null());
}

static json_t *series_view(const struct mseries *se, uint64_t now)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "vi", se->vi, "name", se->vi_name,
                          "samples", (json_int_t)se->val.count, "probes", (json_int_t)se->probes,
                          "failures", (json_int_t)se->failures, "up", se->last_ok);
    static const enum mstat_kind kinds[] = {MSTAT_LAST, MSTAT_AVG, MSTAT_EWMA,
                                            MSTAT_P95,  MSTAT_MIN, MSTAT_MAX};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        add_stat(o, mstat_kind_name(kinds[i]), &se->val, kinds[i]);
    if (!se->seen)
        json_object_set_new(o, "up", json_null());
    json_object_set_new(o, "age_ms",
                        mstat_age(&se->up, now) == UINT64_MAX
                            ? json_null()
                            : json_integer((json_int_t)mstat_age(&se->up, now)));
    json_object_set_new(o, "error", se->err[0] ? json_string(se->err) : json_null());
    return o;
}

static json_t *rule_view(const struct mrule *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s}", "name", r->name, "stage", r->stage, "metric",
                          r->cond.metric, "enabled", r->enabled, "scope",
                          r->cond.per_vi ? "vi" : "vdu"),
           *targets = json_object();
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&r->states, &i); e; e = hmap_next(&r->states, e, &i)) {
        const struct rule_state *st = e->value;

        json_object_set_new(targets, e->key,
                            json_pack("{s:i, s:i, s:b, s:o}", "hits", st->hits, "misses",
                                      st->misses, "raised", st->raised, "last_value",
                                      st->has_value ? json_real(st->last_value) : json_null()));
    }
    json_object_set_new(o, "targets", targets);
    if (r->cooldown_until > wall_ms())
        json_object_set_new(o, "cooldown_ms", json_integer(r->cooldown_until - wall_ms()));
    return o;
}

/* The entry of se's metric in metrics, made on first use: {probe,
 * interval_s, vis: []}; returns its vis. */
static json_t *metric_vis(json_t *metrics, const struct mseries *se)
{
    json_t *mv = json_object_get(metrics, se->metric);

    if (!mv) {
        mv = json_pack("{s:s, s:f, s:[]}", "probe", se->ops ? se->ops->name : "?", "interval_s",
                       se->interval_ms / 1000.0, "vis");
        json_object_set_new(metrics, se->metric, mv);
    }
    return json_object_get(mv, "vis");
}

json_t *monitor_view(struct monitor *m, const char *dep)
{
    uint64_t now = mono_ms();
    struct hmap_entry *e;
    json_t *out = NULL, *metrics, *rules;
    struct mdep *d;
    size_t i;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, dep);
    if (!d)
        goto out;
    metrics = json_object();
    for (e = hmap_first(&d->series, &i); e; e = hmap_next(&d->series, e, &i))
        json_array_append_new(metric_vis(metrics, e->value), series_view(e->value, now));
    rules = json_array();
    for (i = 0; i < d->n_rt; i++)
        json_array_append_new(rules, rule_view(&d->rt[i]));
    out = json_pack("{s:s, s:o, s:o, s:b, s:b}", "deployment", d->id, "metrics", metrics, "rules",
                    rules, "busy", d->busy, "deciding", d->deciding);
out:
    pthread_mutex_unlock(&m->mu);
    return out;
}

/* [[t_ms, value], ...] of a series after since, oldest first. */
static json_t *history_view(const struct mseries *se, int64_t since)
{
    json_t *out = json_array();

    for (unsigned i = 0; i < se->hist_n; i++) {
        const struct mhist *h =
            &se->hist[(se->hist_head + MONITOR_HISTORY - se->hist_n + i) % MONITOR_HISTORY];

        if (h->t_ms > since)
            json_array_append_new(out, json_pack("[I, f]", (json_int_t)h->t_ms, h->v));
    }
    return out;
}

json_t *monitor_history(struct monitor *m, const char *dep, const char *metric, int64_t since)
{
    struct hmap_entry *e;
    json_t *out = NULL;
    struct mdep *d;
    size_t i;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, dep);
    if (!d)
        goto out;
    out = json_object();
    for (e = hmap_first(&d->series, &i); e; e = hmap_next(&d->series, e, &i)) {
        const struct mseries *se = e->value;

        if (metric && strcmp(metric, se->metric))
            continue;
        json_array_append_new(metric_vis(out, se),
                              json_pack("{s:s, s:s, s:I, s:o}", "vi", se->vi, "name", se->vi_name,
                                        "samples", (json_int_t)se->val.count, "history",
                                        history_view(se, since)));
    }
out:
    pthread_mutex_unlock(&m->mu);
    return out;
}

json_t *monitor_values(struct monitor *m, const char *dep)
{
    uint64_t now = mono_ms();
    json_t *out = NULL;
    const json_t *spec;
    const char *name;
    struct mdep *d;

    pthread_mutex_lock(&m->mu);
    d = hmap_get(&m->deps, dep);
    json_object_foreach(d ? json_object_get(d->monitoring, "metrics") : NULL, name, spec)
    {
        const char *how = jv_str(spec, "aggregate", "avg");
        struct hmap_entry *e;
        double acc = 0, v;
        unsigned n = 0;
        size_t i;

        for (e = hmap_first(&d->series, &i); e; e = hmap_next(&d->series, e, &i)) {
            struct mseries *se = e->value;

            if (strcmp(se->metric, name) ||
                mstat_age(&se->val, now) > (uint64_t)se->interval_ms * FRESH_INTERVALS ||
                !mstat_get(&se->val, MSTAT_LAST, &v))
                continue;
            acc = aggregate(how, acc, v, n++);
        }
        if (n == 0)
            continue;
        if (!out)
            out = json_object();
        json_object_set_new(out, name, json_real(strcmp(how, "avg") == 0 ? acc / n : acc));
    }
    pthread_mutex_unlock(&m->mu);
    return out;
}

/* Label values escaped as the exposition format wants. */
static void label(struct sbuf *out, const char *name, const char *v, bool last)
{
    sbuf_addf(out, "%s=\"", name);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            sbuf_addc(out, '\\');
        if (*v == '\n')
            sbuf_adds(out, "\\n");
        else
            sbuf_addc(out, *v);
    }
    sbuf_adds(out, last ? "\"}" : "\",");
}

static void prom_series(struct sbuf *out, const struct mdep *d, const struct mseries *se,
                        const char *metric, double v)
{
    sbuf_adds(out, metric);
    sbuf_addc(out, '{');
    label(out, "deployment", id_name(d->id), false); /* with tenant: unique */
    label(out, "tenant", d->tenant, false);
    label(out, "vdu", se->vdu, false);
    label(out, "vi", se->vi_name, false);
    label(out, "metric", se->metric, true);
    sbuf_addf(out, " %.17g\n", v);
}

void monitor_prometheus(struct monitor *m, struct sbuf *out, const char *tenant)
{
    struct hmap_entry *de, *se;
    size_t i, k;
    double v;

    sbuf_adds(out, "# HELP vnfm_vnf_metric Last value of a monitored VNF metric.\n"
                   "# TYPE vnfm_vnf_metric gauge\n"
                   "# HELP vnfm_vnf_up Whether the last probe of the metric succeeded.\n"
                   "# TYPE vnfm_vnf_up gauge\n");
    pthread_mutex_lock(&m->mu);
    for (de = hmap_first(&m->deps, &i); de; de = hmap_next(&m->deps, de, &i)) {
        const struct mdep *d = de->value;

        if (tenant && strcmp(tenant, d->tenant) != 0)
            continue;
        for (se = hmap_first(&d->series, &k); se; se = hmap_next(&d->series, se, &k)) {
            const struct mseries *s = se->value;

            if (mstat_get(&s->val, MSTAT_LAST, &v))
                prom_series(out, d, s, "vnfm_vnf_metric", v);
            if (s->seen)
                prom_series(out, d, s, "vnfm_vnf_up", s->last_ok ? 1 : 0);
        }
    }
    pthread_mutex_unlock(&m->mu);
}
