/* Scheduled operations (schedule.h): the records, and the loop's timer that
 * starts each at its time.
 *
 * One timer for all: it is armed for the earliest scheduled record (a new
 * record moves it only when earlier: no listing per request; the records a
 * tenant may have waiting are bounded, --schedules-per-tenant). When it
 * fires, each due record is applied as a request of the transactor
 * (fire_apply), which starts the operation and marks the record started
 * in the same transaction: a kill -9 leaves either both or neither, so an
 * operation never starts twice. A refusal at its time (the deployment is
 * busy, gone, ...) rolls back and is then recorded as failed with the
 * reason (fire_complete). */
#include "lcm/schedule.h"
#include "lcm/svc_lcm.h"
#include "catalog/vnfd.h"
#include "core/names.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_schedule {
    struct core *c;
    uv_timer_t timer;
    int64_t armed_at;   /* the earliest scheduled time the timer waits for; 0: none */
    unsigned in_flight; /* fires submitted, not yet completed: no re-arm until 0 */
    bool stopped;
    bool closed; /* the timer's handle is closed: free at the last completion */
};

/* The native requests a schedule may name, as POST
 * /v0/deployments/{id}/NAME takes them (the body is "params"). */
static const struct {
    const char *name;
    txn_apply_fn apply;
} ops[] = {
    {"heal", svc_heal},
    {"scale", svc_scale},
    {"resize", svc_resize},
};

static txn_apply_fn op_apply(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(ops); i++)
        if (strcmp(ops[i].name, name) == 0)
            return ops[i].apply;
    return NULL;
}

static int64_t at_ms(const json_t *s)
{
    int64_t ms = doc_int(s, "_at_ms", 0);

    if (!ms && doc_str(s, "at"))
        time_parse(doc_str(s, "at"), &ms);
    return ms;
}

static json_t *list_scheduled(struct core *c)
{
    struct store_where w = {"state", "scheduled", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *out = NULL;

    if (store_list(c->st, STORE_SCHEDULE, &o, &out))
        log_error("schedule: cannot list: %s", store_errmsg(c->st));
    return out ? out : json_array();
}

static void put(struct core *c, json_t *s)
{
    doc_touch(s, "updated");
    if (store_put(c->st, STORE_SCHEDULE, s))
        log_error("store: cannot write scheduled operation %s: %s", doc_str(s, "id"),
                  store_errmsg(c->st));
}

/* ---- the timer ---- */

static void on_timer(uv_timer_t *h);

/* Arms the timer for the earliest scheduled record (none: stopped). */
static void arm(struct core *c)
{
    struct lc_schedule *s = c->schedule;
    json_t *all, *r;
    int64_t first = 0, now = wall_ms();
    size_t i;

    if (!s || s->stopped || s->in_flight)
        return;
    all = list_scheduled(c);
    json_array_foreach(all, i, r)
    {
        int64_t at = at_ms(r);

        if (!first || at < first)
            first = at;
    }
    json_decref(all);
    s->armed_at = first;
    if (first)
        uv_timer_start(&s->timer, on_timer, first > now ? (uint64_t)(first - now) : 0, 0);
    else
        uv_timer_stop(&s->timer);
}

/* A record made for time at (committed): the timer moves only when it is
 * the earliest (no listing). A cancelled one leaves the timer as it is: it
 * fires for nothing at worst, and looks again. */
static void arm_for(struct core *c, void *arg)
{
    struct lc_schedule *s = c->schedule;
    int64_t at = *(int64_t *)arg, now = wall_ms();

    if (!s || s->stopped || s->in_flight || (s->armed_at && s->armed_at <= at))
        return;
    s->armed_at = at;
    uv_timer_start(&s->timer, on_timer, at > now ? (uint64_t)(at - now) : 0, 0);
}

/* Records a refusal at its time, in a transaction of its own. */
static void record_failed(struct core *c, const char *id, const struct result *res)
{
    json_t *s;

    if (core_tx_begin(c))
        return;
    s = core_load(c, STORE_SCHEDULE, id);
    if (s && strcmp(doc_str(s, "state") ? doc_str(s, "state") : "", "scheduled") == 0) {
        doc_set_str(s, "state", "failed");
        json_object_set_new(s, "error",
                            json_pack("{s:i, s:s, s:s}", "status", res->status, "reason",
                                      jv_str(res->body, "error", "refused"), "message",
                                      jv_str(res->body, "message", "refused")));
        put(c, s);
        core_event(c, "warning", "lifecycle", "scheduled-operation",
                   json_pack("{s:s, s:s?, s:s}", "object", id, "deployment",
                             doc_str(s, "deployment"), "result", "failed"),
                   "scheduled %s of %s refused at its time: %s", doc_str(s, "operation"),
                   doc_str(s, "deployment"), jv_str(res->body, "message", "refused"));
    }
    json_decref(s);
    core_tx_commit(c);
}

static void fire_complete(struct txn *t)
{
    struct lc_schedule *s = t->complete_data;
    struct core *c = s->c;
    bool retry = t->res.status == 503;

    /* 503: the transactor is closing or this manager is not the primary:
     * the record stays scheduled for the next one that runs it */
    if (t->res.status >= 400 && t->res.status != 503 && !s->stopped)
        record_failed(c, t->args[0], &t->res);
    txn_free(t);
    s->in_flight--;
    if (s->closed && !s->in_flight)
        free(s);
    else if (retry && !s->stopped && !s->in_flight)
        uv_timer_start(&s->timer, on_timer, 1000, 0); /* not now: no busy loop */
    else
        arm(c);
}

/* The inner request: the schedule's operation on behalf of its tenant. */
static struct txn *inner_request(const json_t *s, txn_apply_fn apply)
{
    struct txn *in = txn_new(apply, doc_str(s, "operation"));
    const char *tenant = doc_str(s, "tenant");

    if (tenant)
        snprintf(in->who.tenant, sizeof(in->who.tenant), "%s", tenant);
    else
        in->who.admin = true; /* a deployment of no tenant is the admin's */
    snprintf(in->who.token_id, sizeof(in->who.token_id), "schedule");
    in->lock_exempt = true;
    in->body = json_deep_copy(json_object_get(s, "params"));
    if (!in->body)
        in->body = json_object();
    in->args[0] = xstrdup(doc_str(s, "deployment") ? doc_str(s, "deployment") : "");
    return in;
}

/* Links the operation op_id started for schedule s both ways. */
static void link_started(struct core *c, json_t *s, const char *op_id)
{
    json_t *op = core_load(c, STORE_OP, op_id);
    int64_t now = wall_ms();
    char ts[TIME_STR_MAX];

    if (op) {
        json_object_set_new(op, "scheduled_operation", json_string(doc_str(s, "id")));
        if (store_put(c->st, STORE_OP, op))
            log_error("store: cannot write operation %s: %s", op_id, store_errmsg(c->st));
        json_decref(op);
    }
    doc_set_str(s, "state", "started");
    doc_set_str(s, "operation_id", op_id);
    doc_set_str(s, "started", time_fmt(now, ts));
    doc_set_int(s, "late_ms", now > at_ms(s) ? now - at_ms(s) : 0);
    put(c, s);
    core_event(c, "info", "lifecycle", "scheduled-operation",
               json_pack("{s:s, s:s?, s:s, s:s}", "object", doc_str(s, "id"), "deployment",
                         doc_str(s, "deployment"), "operation", op_id, "result", "started"),
               "scheduled %s of %s started (%s)", doc_str(s, "operation"), doc_str(s, "deployment"),
               op_id);
}

/* The transactor's request that starts schedule t->args[0]. */
static void fire_apply(struct core *c, struct txn *t)
{
    json_t *s = core_load(c, STORE_SCHEDULE, t->args[0]);
    const char *state = s ? doc_str(s, "state") : NULL;
    txn_apply_fn apply = s ? op_apply(doc_str(s, "operation")) : NULL;
    struct txn *in;

    if (!state || strcmp(state, "scheduled") != 0 || !apply) {
        json_decref(s); /* cancelled meanwhile, or gone */
        result_ok(&t->res, 200, NULL);
        return;
    }
    in = inner_request(s, apply);
    apply(c, in);
    if (in->res.status >= 400)
        result_fail(&t->res, in->res.status, jv_str(in->res.body, "error", "refused"), NULL, NULL,
                    "%s", jv_str(in->res.body, "message", "refused"));
    else {
        link_started(c, s, jv_str(in->res.body, "id", ""));
        result_ok(&t->res, 200, NULL);
    }
    txn_free(in);
    json_decref(s);
}

static void fire(struct lc_schedule *s, const char *id)
{
    struct txn *t = txn_new(fire_apply, "scheduled operation");

    t->who.admin = true;
    t->lock_exempt = true; /* the manager's own request */
    snprintf(t->who.token_id, sizeof(t->who.token_id), "schedule");
    t->args[0] = xstrdup(id);
    t->complete = fire_complete;
    t->complete_data = s;
    s->in_flight++;
    txq_submit(s->c->txq, t);
}

static void on_timer(uv_timer_t *h)
{
    struct lc_schedule *s = h->data;
    json_t *all = list_scheduled(s->c), *r;
    int64_t now = wall_ms();
    size_t i;

    json_array_foreach(all, i, r) if (at_ms(r) <= now) fire(s, doc_str(r, "id"));
    json_decref(all);
    arm(s->c); /* nothing was due (a clock step): look again */
}

/* At start-up: the records whose time passed while the manager was down
 * start now, or are marked missed when they say "if_missed": "skip". */
static void sweep_missed(struct core *c)
{
    json_t *all = list_scheduled(c), *r;
    int64_t now = wall_ms();
    size_t i;

    if (core_tx_begin(c)) {
        json_decref(all);
        return;
    }
    json_array_foreach(all, i, r)
    {
        if (at_ms(r) > now || strcmp(jv_str(r, "if_missed", "run"), "skip") != 0)
            continue;
        doc_set_str(r, "state", "missed");
        put(c, r);
        log_warn("schedule: %s of %s missed its time (if_missed: skip)", doc_str(r, "operation"),
                 doc_str(r, "deployment"));
    }
    json_decref(all);
    core_tx_commit(c);
}

void schedule_start(struct core *c)
{
    struct lc_schedule *s = xcalloc(1, sizeof(*s));

    s->c = c;
    uv_timer_init(c->loop, &s->timer);
    s->timer.data = s;
    c->schedule = s;
    sweep_missed(c);
    arm(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct lc_schedule *s = h->data;

    s->closed = true;
    if (!s->in_flight)
        free(s);
}

void schedule_stop(struct core *c)
{
    struct lc_schedule *s = c->schedule;

    if (!s)
        return;
    s->stopped = true;
    c->schedule = NULL;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, timer_closed);
}

/* ---- requests ---- */

/* The time of the body: "at" (RFC 3339 or epoch ms) or "in_s" from now. */
static int body_time(struct txn *t, int64_t *out)
{
    const char *at = jv_str(t->body, "at", NULL);
    json_t *in = json_object_get(t->body, "in_s");
    int64_t now = wall_ms(), ms = 0;

    if ((at != NULL) == (in != NULL))
        return result_fail(&t->res, 400, "missing-field", "field", "at",
                           "at: give the start time as 'at' (RFC 3339) or 'in_s' (seconds from "
                           "now), one of the two");
    if (in) {
        ms = now + (int64_t)(json_number_value(in) * 1000.0);
    } else if (time_parse(at, &ms)) {
        return result_fail(&t->res, 400, "invalid-value", "field", "at",
                           "at: '%s' is not an RFC 3339 time or epoch ms", at);
    }
    if (ms <= now)
        return result_fail(&t->res, 400, "invalid-value", "field", in ? "in_s" : "at",
                           "%s: the start time must be in the future", in ? "in_s" : "at");
    *out = ms;
    return 0;
}

/* The deployment of the body, visible to the caller; else 400. */
static json_t *body_deployment(struct core *c, struct txn *t)
{
    const char *id = jv_str(t->body, "deployment", "");
    struct result r = {0};
    char *key = names_key(c->st, t->who.admin ? NULL : t->who.tenant, STORE_DEPLOYMENT, id, &r);
    json_t *dep = key ? core_load(c, STORE_DEPLOYMENT, key) : NULL;

    free(key);
    result_done(&r);
    if (dep && principal_owns(&t->who, doc_str(dep, "tenant")))
        return dep;
    json_decref(dep);
    result_fail(&t->res, 400, "invalid-value", "field", "deployment",
                "deployment: no deployment '%s'", id);
    return NULL;
}

/* What can be checked now of the params: the VDU a scale or resize names. */
static int check_params(struct txn *t, const json_t *dep, const char *op)
{
    const char *vdu = jv_str(json_object_get(t->body, "params"), "vdu", NULL);

    if (strcmp(op, "heal") == 0 || !vdu)
        return 0;
    if (!vnfd_vdu(json_object_get(dep, "_descriptor"), vdu))
        return result_fail(&t->res, 400, "invalid-value", "field", "params.vdu",
                           "params.vdu: the deployment's VNFD has no VDU '%s'", vdu);
    return 0;
}

/* Whether tenant has its --schedules-per-tenant waiting (then 409). */
static bool tenant_full(struct core *c, struct txn *t, const char *tenant)
{
    struct store_where w[] = {{"state", "scheduled", false}, {"tenant", tenant, false}};
    long n = store_count(c->st, STORE_SCHEDULE, w, tenant ? 2 : 1);

    if (n < (long)c->cfg->schedules_per_tenant)
        return false;
    result_fail(&t->res, 409, "insufficient-capacity", "field", "deployment",
                "deployment: its tenant has %ld scheduled operations waiting, the most it may "
                "have (--schedules-per-tenant)",
                n);
    return true;
}

static json_t *new_schedule(struct txn *t, const json_t *dep, int64_t at)
{
    char id[40], ts[TIME_STR_MAX];
    json_t *params = json_object_get(t->body, "params");
    json_t *s;

    id_random(id, "sch-", 12);
    s = json_pack("{s:s, s:s, s:s?, s:s, s:o, s:s, s:I, s:s, s:s}", "id", id, "deployment",
                  doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"), "operation",
                  jv_str(t->body, "operation", ""), "params",
                  params ? json_deep_copy(params) : json_object(), "at", time_fmt(at, ts), "_at_ms",
                  (json_int_t)at, "if_missed", jv_str(t->body, "if_missed", "run"), "state",
                  "scheduled");
    doc_touch(s, "created");
    return s;
}

void svc_schedule_create(struct core *c, struct txn *t)
{
    const char *op = jv_str(t->body, "operation", "");
    json_t *dep, *s;
    int64_t at = 0, *when;

    if (!op_apply(op)) {
        result_fail(&t->res, 400, "invalid-value", "field", "operation",
                    "operation: '%s' is not one of heal, scale, resize", op);
        return;
    }
    if (body_time(t, &at))
        return;
    dep = body_deployment(c, t);
    if (!dep || check_params(t, dep, op)) {
        json_decref(dep);
        return;
    }
    if (tenant_full(c, t, doc_str(dep, "tenant"))) {
        json_decref(dep);
        return;
    }
    s = new_schedule(t, dep, at);
    json_decref(dep);
    put(c, s);
    core_audit(c, &t->who, "scheduled operation", doc_str(s, "id"), "created");
    when = xmalloc(sizeof(*when));
    *when = at;
    core_after_commit(c, arm_for, when, free);
    snprintf(t->res.location, sizeof(t->res.location), "/v0/scheduled-operations/%s",
             doc_str(s, "id"));
    result_ok(&t->res, 201, doc_public(s));
    json_decref(s);
}

void svc_schedule_cancel(struct core *c, struct txn *t)
{
    json_t *s = core_load(c, STORE_SCHEDULE, t->args[0]);
    const char *state = s ? doc_str(s, "state") : NULL;

    if (!s || !principal_owns(&t->who, doc_str(s, "tenant"))) {
        result_not_found(&t->res, "scheduled operation", t->args[0]);
    } else if (!state || strcmp(state, "scheduled") != 0) {
        result_fail(&t->res, 409, "conflict", "object", t->args[0],
                    "scheduled operation '%s' is %s: only a scheduled one can be cancelled",
                    t->args[0], state ? state : "?");
    } else {
        doc_set_str(s, "state", "cancelled");
        doc_touch(s, "cancelled");
        put(c, s);
        core_audit(c, &t->who, "scheduled operation", t->args[0], "cancelled");
        result_ok(&t->res, 200, doc_public(s));
    }
    json_decref(s);
}

/* ---- for the estate ---- */

static int by_at(const void *a, const void *b)
{
    int64_t x = at_ms(*(json_t *const *)a), y = at_ms(*(json_t *const *)b);

    return x < y ? -1 : x > y;
}

json_t *schedule_within(struct core *c, int64_t window_ms)
{
    json_t *all = list_scheduled(c), *out = json_array(), *r;
    int64_t until = wall_ms() + window_ms;
    json_t **v;
    size_t i, n = 0;

    v = xcalloc(json_array_size(all) + 1, sizeof(*v));
    json_array_foreach(all, i, r) if (at_ms(r) <= until) v[n++] = r;
    qsort(v, n, sizeof(*v), by_at);
    for (i = 0; i < n; i++)
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:I, s:O?}", "id", doc_str(v[i], "id"), "at",
                           doc_str(v[i], "at"), "operation", doc_str(v[i], "operation"),
                           "deployment", doc_str(v[i], "deployment"), "at_ms",
                           (json_int_t)at_ms(v[i]), "params", json_object_get(v[i], "params")));
    free(v);
    json_decref(all);
    return out;
}
