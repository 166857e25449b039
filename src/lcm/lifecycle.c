#include "lcm/lifecycle.h"
#include "lcm/actions.h"
#include "lcm/observe.h"
#include "lcm/remote.h"
#include "core/runas.h"
#include "core/txq.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "catalog/vnfd.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS      5
#define MAX_BACKOFF_MS 30000
#define PARK_MS        2000 /* parked at a step's end for a handover that did not come */

struct step {
    enum stage stage;
    enum vi_action act;
    bool actions_first; /* the stage's custom actions run before its VI work */
    /* The operation's member listing the step's VIs; NULL = "vis". */
    const char *targets;
    unsigned flags;
};

#define STEP_SKIP_EMPTY (1u << 0) /* skipped, actions too, when it has no VIs */
#define STEP_NO_ACTIONS (1u << 1) /* runs no custom actions */

struct plan {
    const char *name;
    unsigned n;
    struct step steps[MAX_STEPS];
};

/* The stages of each operation (FIG. 3). */
static const struct plan plans[] = {
    {"deploy",
     4,
     {{ST_VI_DEPLOYMENT, VA_CREATE, false},
      {ST_PRE_DEPLOYMENT, VA_NONE, false},
      {ST_DEPLOYMENT, VA_START, false},
      {ST_POST_DEPLOYMENT, VA_READY, false}}},
    {"undeploy", 1, {{ST_UNDEPLOYMENT, VA_DESTROY, true}}},
    {"heal", 2, {{ST_HEAL, VA_REBOOT, false}, {ST_POST_DEPLOYMENT, VA_READY, false}}},
    {"scale_out",
     4,
     {{ST_SCALE, VA_NONE, false},
      {ST_VI_DEPLOYMENT, VA_CREATE, false},
      {ST_DEPLOYMENT, VA_START, false},
      {ST_POST_DEPLOYMENT, VA_READY, false}}},
    {"scale_in", 1, {{ST_SCALE, VA_DESTROY, true}}},
    {"rollback", 1, {{ST_FAIL, VA_DESTROY, false}}},
    {"resize", 1, {{ST_SCALE, VA_RESIZE, false}}},
    /* SOL003 (docs/SOL003.md): terminate is the undeploy plan, keeping the
     * record; operate stops or starts VIs without destroying them; rescale
     * adds and removes VIs of several VDUs in one operation (scale to level,
     * change flavour), adding first so that a failure can still roll back;
     * modify changes only records (its update actions may veto it). */
    {"terminate", 1, {{ST_UNDEPLOYMENT, VA_DESTROY, true}}},
    {"operate_stop", 1, {{ST_OPERATE, VA_STOP, false}}},
    {"operate_start", 2, {{ST_OPERATE, VA_START, false}, {ST_POST_DEPLOYMENT, VA_READY, false}}},
    {"rescale",
     5,
     {{ST_SCALE, VA_NONE, false},
      {ST_VI_DEPLOYMENT, VA_CREATE, false, NULL, STEP_SKIP_EMPTY},
      {ST_DEPLOYMENT, VA_START, false, NULL, STEP_SKIP_EMPTY},
      {ST_POST_DEPLOYMENT, VA_READY, false, NULL, STEP_SKIP_EMPTY},
      {ST_SCALE, VA_DESTROY, false, "vis_in", STEP_SKIP_EMPTY | STEP_NO_ACTIONS}}},
    {"modify", 1, {{ST_UPDATE, VA_NONE, false}}},
};

/* The step of plan "rescale" that removes VIs: no rollback once it began. */
#define RESCALE_REMOVE_STEP 4

struct oprun {
    struct core *c;
    char id[40];
    char dep[KEY_BUF_MAX];
    const struct plan *plan;
    unsigned idx, attempt, pending, failed;
    unsigned phase;         /* 0, 1: VI work and custom actions, in the step's order */
    bool pause;             /* failure policy: failed_temp instead of rollback or failed */
    bool cancel;            /* a cancel is pending: no further retry or stage */
    bool park;              /* handed over (lc_op_park): no further stage here */
    unsigned action_stages; /* bit per stage with custom actions (the VNFD's) */
    atomic_bool no_start;   /* a cancel came: fused jobs start nothing (fused_start) */
    int fused_failed;       /* the start step of a fused start that failed, or -1 */
    uint64_t step_started_ms;
    json_t *common; /* event fields of every record: tenant, tags */
    char err[768];
    uv_timer_t timer;
};

static void step_begin(struct oprun *r);
static int step_enter(struct oprun *r);
static void step_run(struct oprun *r, int skip);
static void run_phase(struct oprun *r);

static const struct plan *plan_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(plans); i++)
        if (name && strcmp(plans[i].name, name) == 0)
            return &plans[i];
    return NULL;
}

static const struct step *cur_step(const struct oprun *r)
{
    return &r->plan->steps[r->idx < r->plan->n ? r->idx : r->plan->n - 1];
}

static void put(struct core *c, enum store_kind k, json_t *doc)
{
    int r;

    doc_touch(doc, "updated");
    r = store_put(c->st, k, doc);
    if (r)
        log_error("store: cannot write %s %s: %s", store_kind_name(k), doc_str(doc, "id"),
                  store_errmsg(c->st));
}

/* The fields every event of a deployment carries: its tenant and tags. */
static json_t *common_fields(const json_t *dep)
{
    json_t *f = json_object();
    const json_t *tags = json_object_get(json_object_get(dep, "_descriptor"), "tags");

    if (json_object_get(dep, "tenant"))
        json_object_set(f, "tenant", json_object_get(dep, "tenant"));
    if (tags)
        json_object_set(f, "tags", (json_t *)tags);
    return f;
}

/* Event fields naming an operation, its deployment and stage. */
static json_t *stage_fields(const char *dep, const char *op, enum stage st, const char *result,
                            const json_t *common)
{
    char obj[16 + KEY_BUF_MAX];
    json_t *f;

    snprintf(obj, sizeof(obj), "deployment/%s", dep);
    f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", obj, "deployment", dep, "operation", op,
                  "stage", stage_name(st), "result", result);
    json_object_update(f, (json_t *)common);
    return f;
}

static json_t *op_fields(const struct oprun *r, const char *result)
{
    return stage_fields(r->dep, r->id, cur_step(r)->stage, result, r->common);
}

static void event_started(struct core *c, const char *dep, const char *op, enum stage st,
                          unsigned attempt, const json_t *common)
{
    json_t *f = stage_fields(dep, op, st, "started", common);

    json_object_set_new(f, "attempt", json_integer(attempt));
    core_event(c, "info", "lifecycle", "stage", f, "%s: %s started%s", dep, stage_name(st),
               attempt > 1 ? " again" : "");
}

enum dep_status lc_dep_status(struct core *c, const char *dep_id)
{
    struct store_where w = {"deployment", dep_id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    enum dep_status status = DEP_ACTIVE;
    json_t *vis, *vi;
    size_t i;

    if (store_list(c->st, STORE_VI, &o, &vis))
        return DEP_DEGRADED;
    json_array_foreach(vis, i, vi)
    {
        if (vi_state_of(vi) != VIS_RUNNING)
            status = DEP_DEGRADED;
    }
    json_decref(vis);
    return status;
}

/* ---- creation ---- */

static void kick(struct core *c, void *arg);
static void kick_entered(struct core *c, void *arg);

json_t *lc_op_start(struct core *c, json_t *dep, const char *type, const char *plan, json_t *vis,
                    json_t *params, const struct txn *t, bool automatic)
{
    struct lc_start s = {type, plan, vis, params, t, automatic};

    return lc_op_start_ex(c, dep, &s);
}

/* The VDU of every VI the operation targets, for views of VIs since gone. */
static json_t *vi_vdus(struct core *c, const json_t *op)
{
    static const char *const lists[] = {"vis", "vis_in"};
    json_t *out = json_object(), *id;
    size_t i;

    for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
        json_array_foreach(json_object_get(op, lists[k]), i, id)
        {
            json_t *vi = core_load(c, STORE_VI, json_string_value(id));

            if (vi)
                json_object_set(out, json_string_value(id), json_object_get(vi, "vdu"));
            json_decref(vi);
        }
    }
    return out;
}

json_t *lc_op_start_ex(struct core *c, json_t *dep, const struct lc_start *s)
{
    const struct plan *p = plan_find(s->plan);
    const struct txn *t = s->t;
    /* The first stage is entered in this transaction, unless the operation
     * begins in SOL003 STARTING (it is entered, PROCESSING, when it runs). */
    bool entered = !s->starting && !(p->steps[0].flags & STEP_SKIP_EMPTY);
    char id[40], obj[16 + KEY_BUF_MAX];
    json_t *op, *f, *common;

    id_random(id, "op-", 12);
    op = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:n, s:b, s:s?, s:s?, s:o, s:o, "
        "s:[], s:n, s:s, s:i, s:{}, s:I}",
        "id", id, "type", s->type, "deployment", doc_str(dep, "id"), "tenant",
        doc_str(dep, "tenant"), "state", op_state_name(s->starting ? OP_STARTING : OP_PROCESSING),
        "stage", stage_name(p->steps[0].stage), "attempt", 1, "error", "automatic", s->automatic,
        "client_transaction_id", t ? t->client_txn_id : NULL, "callback", t ? t->callback : NULL,
        "params", s->params ? s->params : json_object(), "vis", s->vis, "stages", "finished",
        "_plan", s->plan, "_step", 0, "_progress", "_created_ms", (json_int_t)mono_ms());
    doc_touch(op, "created");
    json_object_set(op, "state_entered", json_object_get(op, "created"));
    if (t && t->xml)
        json_object_set_new(op, "_callback_xml", json_true()); /* XML client (F3) */
    if (t && t->callback && !t->who.admin) /* --tenant-destinations (rest/callback.h) */
        json_object_set_new(op, "_callback_tenant", json_true());
    /* a SOL003 task a cloud VNFM sent as a native request pauses as its
     * own would (fed/downlink.c puts "_pause" in the query) */
    if (s->pause || (t && json_is_true(json_object_get(t->query, "_pause"))))
        json_object_set_new(op, "_on_failure", json_string("pause"));
    if (s->extra)
        json_object_update(op, s->extra);
    json_decref(s->extra);
    json_object_set_new(op, "_vdus", vi_vdus(c, op));
    lc_op_started(c, op, dep);
    put(c, STORE_OP, op);
    doc_set_str(dep, "operation", id);
    if (entered)
        doc_set_str(dep, "stage", stage_name(p->steps[0].stage));
    put(c, STORE_DEPLOYMENT, dep);
    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(dep, "id"));
    common = common_fields(dep);
    f = json_pack("{s:s, s:s, s:s, s:s}", "object", obj, "deployment", doc_str(dep, "id"),
                  "operation", id, "result", "started");
    json_object_update(f, common);
    core_event(c, "info", "lifecycle", "operation", f, "%s of %s started (%s)", s->type,
               doc_str(dep, "id"), id);
    if (entered)
        event_started(c, doc_str(dep, "id"), id, p->steps[0].stage, 1, common);
    json_decref(common);
    core_after_commit(c, entered ? kick_entered : kick, xstrdup(id), free);
    return op;
}

/* ---- runs ---- */

static void run_closed(uv_handle_t *h)
{
    struct oprun *r = h->data;

    json_decref(r->common);
    free(r);
}

static void run_free(struct oprun *r)
{
    hmap_del(&r->c->runs, r->id);
    uv_close((uv_handle_t *)&r->timer, run_closed);
}

/* Starts running operation op_id; entered when its current step was
 * journalled as entered already (lc_op_start_ex). */
static void run_new(struct core *c, const char *op_id, bool entered)
{
    json_t *op = core_load(c, STORE_OP, op_id), *dep;
    const struct plan *p = plan_find(doc_str(op, "_plan"));
    struct oprun *r;

    if (!op || !p || hmap_get(&c->runs, op_id)) {
        json_decref(op);
        return;
    }
    dep = core_load(c, STORE_DEPLOYMENT, doc_str(op, "deployment"));
    if (json_object_get(dep, "_handover")) { /* the manager that commits it runs it */
        log_debug("operation %s rests: its deployment is being handed over", op_id);
        json_decref(op);
        json_decref(dep);
        return;
    }
    r = xcalloc(1, sizeof(*r));
    r->c = c;
    snprintf(r->id, sizeof(r->id), "%s", op_id);
    snprintf(r->dep, sizeof(r->dep), "%s", doc_str(op, "deployment"));
    r->plan = p;
    r->idx = (unsigned)doc_int(op, "_step", 0);
    r->attempt = (unsigned)doc_int(op, "attempt", 1);
    r->pause = strcmp(jv_str(op, "_on_failure", ""), "pause") == 0;
    r->cancel = json_is_true(json_object_get(op, "_cancel"));
    atomic_init(&r->no_start, r->cancel);
    r->fused_failed = -1;
    if (r->idx >= p->n)
        r->idx = p->n - 1;
    r->common = common_fields(dep);
    for (int s = 0; s < ST_COUNT; s++)
        if (json_array_size(vnfd_actions(json_object_get(dep, "_descriptor"), (enum stage)s)))
            r->action_stages |= 1u << s;
    uv_timer_init(c->loop, &r->timer);
    r->timer.data = r;
    hmap_put(&c->runs, r->id, r);
    json_decref(op);
    json_decref(dep);
    if (entered && !r->cancel && !c->stopping)
        step_run(r, 0);
    else
        step_begin(r);
}

/* Every wake-up of an operation (its start, the end of a job, a retry) is
 * one transaction: the stages it passes are journalled together, and the
 * jobs it starts are submitted once that has committed (core_submit). */
static void kick(struct core *c, void *arg)
{
    core_tx_begin(c);
    run_new(c, arg, false);
    core_tx_commit(c);
}

static void kick_entered(struct core *c, void *arg)
{
    core_tx_begin(c);
    run_new(c, arg, true);
    core_tx_commit(c);
}

static void resume_state(struct core *c, enum op_state state);

/* The stage an operation goes on with: the one its record names as
 * current (_step), which its journal may not have entered yet. */
static const char *next_stage(const json_t *op)
{
    const struct plan *p = plan_find(doc_str(op, "_plan"));
    unsigned i = (unsigned)doc_int(op, "_step", 0);

    return p && i < p->n ? stage_name(p->steps[i].stage) : doc_str(op, "stage");
}

static void resumed(struct core *c, const json_t *op, const char *after)
{
    core_event(c, "info", "lifecycle", "operation",
               json_pack("{s:s, s:s, s:s}", "deployment", doc_str(op, "deployment"), "operation",
                         doc_str(op, "id"), "result", "resumed"),
               "resuming %s of %s (%s) at stage %s after %s", doc_str(op, "type"),
               doc_str(op, "deployment"), doc_str(op, "id"), next_stage(op), after);
}

void lc_resume_all(struct core *c)
{
    /* failed_temp waits for an operator; these carry on */
    resume_state(c, OP_STARTING);
    resume_state(c, OP_PROCESSING);
    resume_state(c, OP_ROLLING_BACK);
}

static void resume_state(struct core *c, enum op_state state)
{
    struct store_where w = {"state", op_state_name(state), false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *ops, *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &ops))
        return;
    json_array_foreach(ops, i, op)
    {
        if (doc_str(op, "manager")) /* a branch's, which its manager runs (lcm/remote.h) */
            continue;
        resumed(c, op, "a restart");
        kick(c, (void *)doc_str(op, "id"));
    }
    json_decref(ops);
}

bool lc_op_creates_vis(const json_t *op)
{
    const struct plan *p = plan_find(doc_str(op, "_plan"));

    if (!p || !op_running(op))
        return false;
    for (unsigned i = (unsigned)doc_int(op, "_step", 0); i < p->n; i++)
        if (p->steps[i].act == VA_CREATE)
            return true;
    return false;
}

int lc_op_park(struct core *c, const char *op_id)
{
    struct oprun *r = hmap_get(&c->runs, op_id);

    if (!r)
        return 0;
    r->park = true;
    if (r->pending > 0)
        return 1; /* parks at the end of its step (step_begin) */
    run_free(r);  /* parked, or waiting to retry a stage: the taker runs it on */
    return 0;
}

void lc_op_resume(struct core *c, const json_t *op, const char *after)
{
    if (!op_running(op) || hmap_get(&c->runs, doc_str(op, "id")))
        return;
    resumed(c, op, after);
    core_after_commit(c, kick, xstrdup(doc_str(op, "id")), free);
}

void lc_shutdown(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    c->stopping = true;
    for (e = hmap_first(&c->runs, &i); e; e = hmap_next(&c->runs, e, &i))
        uv_timer_stop(&((struct oprun *)e->value)->timer);
}

/* Frees the runs once the pools have drained (main.c). */
void lc_free_runs(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    while ((e = hmap_first(&c->runs, &i)))
        run_free(e->value);
}

/* ---- the end of an operation ---- */

/* A resize that failed gives its VIs their sizes back (the records were
 * changed when it was accepted, so that capacity counted them). */
static void resize_revert(struct core *c, const json_t *op)
{
    const char *id;
    json_t *was;

    json_object_foreach(json_object_get(json_object_get(op, "params"), "from"), id, was)
    {
        json_t *vi = core_load(c, STORE_VI, id);

        if (!vi)
            continue;
        json_object_set(vi, "vcpu", json_object_get(was, "vcpu"));
        json_object_set(vi, "memory_mb", json_object_get(was, "memory_mb"));
        put(c, STORE_VI, vi);
        json_decref(vi);
    }
}

void lc_recount(struct core *c, json_t *dep)
{
    struct store_where w = {"deployment", doc_str(dep, "id"), false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *inst = json_object(), *vis = NULL, *vi;
    const json_t *vdu;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(dep, "_descriptor"), "vdus"), i, vdu)
    {
        json_object_set_new(inst, doc_str(vdu, "id"), json_integer(0));
    }
    if (store_list(c->st, STORE_VI, &o, &vis) == 0) {
        json_array_foreach(vis, i, vi)
        {
            const char *v = doc_str(vi, "vdu");

            json_object_set_new(inst, v, json_integer(jv_int(inst, v, 0) + 1));
        }
    }
    json_decref(vis);
    json_object_set_new(dep, "instances", inst);
}

static void finish_deployment(struct core *c, json_t *dep, json_t *op, enum op_state state,
                              const char *err)
{
    const char *type = doc_str(op, "type");
    bool ok = state == OP_COMPLETED;

    if (lc_op_finish(c, dep, op, state, err)) /* an operation type of a front end's */
        return;
    /* a deploy that pauses is a SOL003 instantiate a cloud VNFM sent (its
     * _pause): rolled back, nothing of it stays, as the cloud's instance is
     * NOT_INSTANTIATED again */
    if ((ok && strcmp(type, "undeploy") == 0) ||
        (state == OP_ROLLED_BACK && strcmp(type, "deploy") == 0 &&
         strcmp(jv_str(op, "_on_failure", ""), "pause") == 0)) {
        store_delete(c->st, STORE_DEPLOYMENT, doc_str(dep, "id"));
        lc_dep_deleted(c, dep);
        return;
    }
    if (strcmp(type, "scale") == 0 && !ok)
        lc_recount(c, dep); /* what a failed or rolled back scaling left (its _plan may be
                            "rollback" by now) */
    if (strcmp(type, "resize") == 0 && !ok)
        resize_revert(c, op);
    doc_set_str(dep, "operation", NULL);
    doc_set_str(dep, "stage", ok ? stage_name(ST_MONITORING) : stage_name(ST_FAIL));
    doc_set_str(dep, "error", ok ? NULL : err);
    doc_set_str(
        dep, "status",
        dep_status_name(!ok && (strcmp(type, "deploy") == 0 || strcmp(type, "undeploy") == 0)
                            ? DEP_FAILED
                            : lc_dep_status(c, doc_str(dep, "id"))));
    put(c, STORE_DEPLOYMENT, dep);
}

/* Sets an operation's state and when it entered it (SOL003 stateEnteredTime). */
static void set_state(json_t *op, enum op_state state)
{
    doc_set_str(op, "state", op_state_name(state));
    doc_touch(op, "state_entered");
}

/* Event fields of an operation without a run. */
static json_t *close_fields(const json_t *op, const json_t *dep, const char *result)
{
    char obj[16 + KEY_BUF_MAX];
    json_t *f;

    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(op, "deployment"));
    f = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "object", obj, "deployment",
                  doc_str(op, "deployment"), "operation", doc_str(op, "id"), "stage",
                  doc_str(op, "stage"), "result", result);
    json_object_update_new(f, common_fields(dep));
    return f;
}

/* Ends operation op_id in a final state, releases its deployment and tells
 * the observers. */
static void close_op(struct core *c, const char *op_id, const char *dep_id, enum op_state state,
                     const char *err)
{
    const char *name = op_state_name(state);
    bool ok = state == OP_COMPLETED;
    json_t *op, *dep;
    uint64_t took;

    core_tx_begin(c);
    op = core_load(c, STORE_OP, op_id);
    dep = core_load(c, STORE_DEPLOYMENT, dep_id);
    if (!op)
        goto out;
    took = mono_ms() - (uint64_t)doc_int(op, "_created_ms", (long long)mono_ms());
    set_state(op, state);
    if (!ok && err)
        doc_set_str(op, "error", err);
    json_object_del(op, "_cancel");
    doc_touch(op, "finished");
    put(c, STORE_OP, op);
    if (dep)
        finish_deployment(c, dep, op, state, doc_str(op, "error"));
    core_event(c, ok ? "info" : "error", "lifecycle", "operation", close_fields(op, dep, name),
               "%s of %s %s after %llu ms%s%s", doc_str(op, "type"), dep_id, name,
               (unsigned long long)took, err && !ok ? ": " : "", err && !ok ? err : "");
    lc_op_changed(c, op);
    lc_op_ended(c, op);
out:
    core_tx_commit(c);
    json_decref(op);
    json_decref(dep);
}

static void finish(struct oprun *r, enum op_state state)
{
    close_op(r->c, r->id, r->dep, state, *r->err ? r->err : NULL);
    run_free(r);
}

/* The pause policy (SOL003 FAILED_TEMP): the operation stops where it
 * failed, or was cancelled, its deployment stays bound to it, and an
 * operator decides (lc_op_retry, lc_op_rollback, lc_op_fail). */
static void pause_op(struct oprun *r)
{
    struct core *c = r->c;
    json_t *op, *dep;

    core_tx_begin(c);
    op = core_load(c, STORE_OP, r->id);
    dep = core_load(c, STORE_DEPLOYMENT, r->dep);
    if (op) {
        set_state(op, OP_FAILED_TEMP);
        doc_set_str(op, "error", r->err);
        json_object_del(op, "_cancel");
        put(c, STORE_OP, op);
        lc_op_changed(c, op);
    }
    if (dep) {
        doc_set_str(dep, "error", r->err);
        put(c, STORE_DEPLOYMENT, dep);
    }
    core_event(c, "error", "lifecycle", "operation", op_fields(r, op_state_name(OP_FAILED_TEMP)),
               "%s of %s stopped in failed_temp at %s: %s; retry, roll back or fail it",
               op ? doc_str(op, "type") : "operation", r->dep, stage_name(cur_step(r)->stage),
               r->err);
    core_tx_commit(c);
    json_decref(op);
    json_decref(dep);
    run_free(r);
}

/* ---- stage flow ---- */

static void record_stage(struct oprun *r, json_t *op, const char *result)
{
    char started[TIME_STR_MAX];
    json_t *h = json_pack("{s:s, s:s, s:i, s:s}", "stage", stage_name(cur_step(r)->stage), "result",
                          result, "attempts", r->attempt, "started",
                          time_fmt(wall_ms() - (int64_t)(mono_ms() - r->step_started_ms), started));

    doc_touch(h, "finished");
    if (*r->err && strcmp(result, "ok") != 0)
        json_object_set_new(h, "error", json_string(r->err));
    json_array_append_new(json_object_get(op, "stages"), h);
}

static void op_failed(struct oprun *r)
{
    struct core *c = r->c;
    bool undo = strcmp(r->plan->name, "deploy") == 0 || strcmp(r->plan->name, "scale_out") == 0;
    json_t *op;

    if (r->pause) {
        pause_op(r);
        return;
    }
    if (!undo) {
        finish(r, OP_FAILED);
        return;
    }
    core_tx_begin(c);
    op = core_load(c, STORE_OP, r->id);
    doc_set_str(op, "error", r->err);
    json_object_set_new(op, "_orig_plan", json_string(r->plan->name));
    json_object_set_new(op, "_plan", json_string("rollback"));
    json_object_set_new(op, "_progress", json_object());
    doc_touch(op, "state_entered"); /* processing, seen as ROLLING_BACK by SOL003 */
    put(c, STORE_OP, op);
    lc_op_changed(c, op);
    core_event(c, "warn", "lifecycle", "operation", op_fields(r, op_state_name(OP_ROLLING_BACK)),
               "%s of %s failed, rolling back: %s", doc_str(op, "type"), r->dep, r->err);
    core_tx_commit(c);
    json_decref(op);
    r->plan = plan_find("rollback");
    r->fused_failed = -1;
    r->idx = 0;
    r->attempt = 1;
    step_begin(r);
}

/* A step done: result "ok", or "skipped" for a step with nothing to do. */
static void step_done(struct oprun *r, const char *result)
{
    struct core *c = r->c;
    json_t *op;

    core_tx_begin(c);
    op = core_load(c, STORE_OP, r->id);
    if (op) {
        record_stage(r, op, result);
        doc_set_int(op, "_step", r->idx + 1);
        doc_set_int(op, "attempt", 1);
        put(c, STORE_OP, op);
    }
    core_event(c, "info", "lifecycle", "stage", op_fields(r, result), "%s: %s %s", r->dep,
               stage_name(cur_step(r)->stage), strcmp(result, "ok") == 0 ? "done" : result);
    json_decref(op);
    r->idx++;
    r->attempt = 1;
    if (r->fused_failed == (int)r->idx) /* its fused start was the first attempt */
        r->attempt = 2;
    /* the next step is journalled in the same transaction as this one's end */
    if (r->idx < r->plan->n && !c->stopping && !r->cancel && !r->park) {
        int skip = step_enter(r);

        core_tx_commit(c);
        step_run(r, skip);
        return;
    }
    core_tx_commit(c);
    if (r->idx < r->plan->n)
        step_begin(r);
    else
        finish(r, strcmp(r->plan->name, "rollback") == 0 ? OP_ROLLED_BACK : OP_COMPLETED);
}

/* A handover asked to take the operation (lc_op_park) and did not come
 * back for it: it goes on here. */
static void on_unpark(uv_timer_t *t)
{
    struct oprun *r = t->data;
    struct core *c = r->c;

    r->park = false;
    core_tx_begin(c);
    step_begin(r);
    core_tx_commit(c);
}

static void on_retry(uv_timer_t *t)
{
    struct oprun *r = t->data;
    struct core *c = r->c;

    core_tx_begin(c);
    step_begin(r);
    core_tx_commit(c);
}

static void step_failed(struct oprun *r)
{
    struct core *c = r->c;
    json_t *dep = core_load(c, STORE_DEPLOYMENT, r->dep), *op;
    struct vnfd_retry budget;
    uint64_t delay;

    vnfd_retry(json_object_get(dep, "_descriptor"), &budget);
    json_decref(dep);
    op = core_load(c, STORE_OP, r->id);
    budget.attempts = (unsigned)jv_int(json_object_get(op, "params"), "attempts", budget.attempts);
    json_decref(op);
    if (r->attempt < budget.attempts && !c->stopping) {
        delay = (uint64_t)budget.backoff_ms << (r->attempt - 1);
        if (delay > MAX_BACKOFF_MS)
            delay = MAX_BACKOFF_MS;
        core_event(c, "warn", "lifecycle", "stage", op_fields(r, "retry"),
                   "%s: %s attempt %u of %u failed, retrying in %llu ms: %s", r->dep,
                   stage_name(cur_step(r)->stage), r->attempt, budget.attempts,
                   (unsigned long long)delay, r->err);
        r->attempt++;
        uv_timer_start(&r->timer, on_retry, delay, 0);
        return;
    }
    core_tx_begin(c);
    op = core_load(c, STORE_OP, r->id);
    if (op) {
        record_stage(r, op, "failed");
        put(c, STORE_OP, op);
    }
    core_event(c, "error", "lifecycle", "stage", op_fields(r, "failed"),
               "%s: %s failed after %u attempt%s: %s", r->dep, stage_name(cur_step(r)->stage),
               r->attempt, r->attempt == 1 ? "" : "s", r->err);
    core_tx_commit(c);
    json_decref(op);
    op_failed(r);
}

static void run_actions(struct oprun *r);
static void run_vi_work(struct oprun *r);

static void run_phase(struct oprun *r)
{
    if ((r->phase == 0) == cur_step(r)->actions_first)
        run_actions(r);
    else
        run_vi_work(r);
}

static void step_ok(struct oprun *r)
{
    step_done(r, "ok");
}

/* A cancel (SOL003 5.4.17) takes effect once the work in flight has ended:
 * the stage is left as the journal has it, to be retried or rolled back. */
static void cancelled(struct oprun *r)
{
    struct core *c = r->c;
    json_t *op = core_load(c, STORE_OP, r->id);
    char why[sizeof(r->err) + 64];

    snprintf(why, sizeof(why), "cancelled (%s)%s%s", jv_str(op, "cancel_mode", "GRACEFUL"),
             *r->err ? ": " : "", r->err);
    memcpy(r->err, why, sizeof(r->err) - 1);
    r->err[sizeof(r->err) - 1] = '\0';
    json_decref(op);
    pause_op(r);
}

/* Called whenever a piece of the current phase ends. */
static void work_done(struct oprun *r)
{
    if (r->pending > 0 || r->c->stopping)
        return;
    if (r->cancel) /* the stage stays to be retried: its work is idempotent */
        cancelled(r);
    else if (r->failed)
        step_failed(r);
    else if (++r->phase < 2)
        run_phase(r);
    else
        step_ok(r);
}

/* The VIs a step acts on. */
static const json_t *step_targets(const struct oprun *r, const json_t *op)
{
    const char *key = cur_step(r)->targets;

    return json_object_get(op, key ? key : "vis");
}

/* Journals the start of the current step inside the open transaction.
 * Returns 1 when the step has nothing to do (skip it), 0 to run it, -1 when
 * the records are gone. */
static int step_enter(struct oprun *r)
{
    struct core *c = r->c;
    const char *stage = stage_name(cur_step(r)->stage);
    json_t *op = core_load(c, STORE_OP, r->id), *dep = core_load(c, STORE_DEPLOYMENT, r->dep);
    int skip = -1;

    if (!op || !dep)
        goto out;
    doc_set_str(op, "stage", stage);
    doc_set_int(op, "attempt", r->attempt);
    doc_set_int(op, "_step", r->idx);
    if (op_state_of(op) == OP_STARTING) {
        set_state(op, OP_PROCESSING); /* SOL003: STARTING -> PROCESSING */
        lc_op_changed(c, op);
    }
    skip = (cur_step(r)->flags & STEP_SKIP_EMPTY) && json_array_size(step_targets(r, op)) == 0;
    put(c, STORE_OP, op);
    doc_set_str(dep, "stage", stage);
    put(c, STORE_DEPLOYMENT, dep);
    event_started(c, r->dep, r->id, cur_step(r)->stage, r->attempt, r->common);
out:
    json_decref(op);
    json_decref(dep);
    return skip;
}

/* After the step was journalled (step_enter, committed): runs it. */
static void step_run(struct oprun *r, int skip)
{
    if (skip < 0) {
        snprintf(r->err, sizeof(r->err), "the deployment record %s is gone", r->dep);
        finish(r, OP_FAILED);
        return;
    }
    r->step_started_ms = mono_ms();
    r->failed = 0;
    r->err[0] = '\0';
    r->phase = 0;
    if (skip)
        step_done(r, "skipped");
    else
        run_phase(r);
}

static void step_begin(struct oprun *r)
{
    struct core *c = r->c;
    int skip;

    if (c->stopping)
        return;
    if (r->park) { /* a handover takes it at this step's end (lc_op_park) */
        uv_timer_start(&r->timer, on_unpark, PARK_MS, 0);
        return;
    }
    if (r->cancel) {
        cancelled(r);
        return;
    }
    core_tx_begin(c);
    skip = step_enter(r);
    core_tx_commit(c);
    step_run(r, skip);
}

static void note_failure(struct oprun *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_failure(struct oprun *r, const char *fmt, ...)
{
    va_list ap;

    r->failed++;
    if (*r->err)
        return; /* the first failure explains the stage */
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

/* ---- custom actions ---- */

static void actions_done(struct actjob *j)
{
    struct core *c = j->c;
    struct oprun *r = hmap_get(&c->runs, j->op);

    if (!r) {
        actjob_free(j);
        return;
    }
    core_tx_begin(c);
    r->pending--;
    if (j->w.cancelled)
        note_failure(r, "the manager stopped before the actions ran");
    else if (j->rc)
        note_failure(r, "%s", j->err);
    else
        core_event(r->c, "info", "lifecycle", "action", op_fields(r, "ok"),
                   "%s: %zu custom action%s of %s done", r->dep, json_array_size(j->actions),
                   json_array_size(j->actions) == 1 ? "" : "s", stage_name(cur_step(r)->stage));
    actjob_free(j);
    work_done(r);
    core_tx_commit(c);
}

static void run_actions(struct oprun *r)
{
    struct core *c = r->c;
    json_t *dep, *op;
    struct actjob *j;

    if (!(r->action_stages & (1u << cur_step(r)->stage)) ||
        (cur_step(r)->flags & STEP_NO_ACTIONS)) {
        work_done(r);
        return;
    }
    dep = core_load(c, STORE_DEPLOYMENT, r->dep);
    op = core_load(c, STORE_OP, r->id);
    j = dep && op ? actjob_new(c, cur_step(r)->stage, dep, op) : NULL;
    json_decref(dep);
    json_decref(op);
    if (j) {
        j->on_done = actions_done;
        r->pending++;
        core_submit(c, c->conf, &j->w);
    }
    work_done(r);
}

/* ---- VI work ---- */

/* How far a VI got in this plan (steps completed). */
static unsigned progress(const json_t *op, const char *vi)
{
    return (unsigned)jv_int(json_object_get(op, "_progress"), vi, 0);
}

/* The journal entry written before a VI job acts. */
static void mark_before(struct core *c, json_t *vi, enum vi_action act)
{
    switch (act) {
    case VA_START:
    case VA_REBOOT:
        lc_unwatch_vi(c, doc_str(vi, "id"));
        doc_set_str(vi, "state", vi_state_name(VIS_STARTING));
        break;
    case VA_DESTROY:
        lc_unwatch_vi(c, doc_str(vi, "id"));
        doc_set_str(vi, "state", vi_state_name(VIS_DESTROYING));
        break;
    case VA_STOP:
        lc_unwatch_vi(c, doc_str(vi, "id"));
        doc_set_str(vi, "state", vi_state_name(VIS_STOPPING));
        break;
    default:
        return;
    }
    put(c, STORE_VI, vi);
}

/* What the driver reported of the VI: its reference, and the address it
 * gave it. */
static void record_out(json_t *vi, const struct vijob *j)
{
    char ip[IP4_STR_MAX];

    if (j->out.ref)
        json_object_set(vi, "_vim", j->out.ref);
    if (j->made && j->site->ops->addressing == VIM_ADDR_DRIVER && j->out.addr[0])
        doc_set_str(vi, "ip", ip4_fmt(j->out.addr[0], ip));
}

static void apply_result(struct core *c, json_t *vi, const struct vijob *j, const char *op_type)
{
    char buf[TIME_STR_MAX];

    record_out(vi, j);
    if (j->rc) {
        doc_set_str(vi, "error", j->err);
        if (j->act == VA_START || j->act == VA_REBOOT)
            doc_set_str(vi, "state", vi_state_name(VIS_EXITED));
        else if (j->then_start) /* its creation failed: no start began */
            doc_set_str(vi, "state", vi_state_name(VIS_PENDING));
        put(c, STORE_VI, vi);
        return;
    }
    switch (j->act) {
    case VA_CREATE:
        /* a start journalled with the creation may have run (fused_start) */
        if (vi_state_of(vi) != VIS_STARTING)
            doc_set_str(vi, "state", vi_state_name(VIS_CREATED));
        break;
    case VA_START:
    case VA_REBOOT:
        if (j->act == VA_REBOOT || strcmp(op_type, "heal") == 0)
            doc_set_int(vi, "restarts", doc_int(vi, "restarts", 0) + 1);
        doc_set_str(vi, "state", vi_state_name(VIS_RUNNING));
        json_object_set_new(vi, "ready", json_false()); /* until its ready step passed */
        doc_set_int(vi, "pid", j->out.pid);
        json_object_set_new(vi, "started", json_string(time_fmt(wall_ms(), buf)));
        json_object_set_new(vi, "exit_status", json_null());
        break;
    case VA_DESTROY:
        store_delete(c->st, STORE_VI, doc_str(vi, "id"));
        runas_release(c, vi);
        return;
    case VA_STOP:
        doc_set_str(vi, "state", vi_state_name(VIS_STOPPED));
        doc_set_int(vi, "pid", 0);
        break;
    case VA_READY:
        json_object_set_new(vi, "ready", json_true());
        break;
    default:
        break;
    }
    doc_set_str(vi, "error", NULL);
    put(c, STORE_VI, vi);
}

/* A VI deployment whose VIs go on to start in the same job, when nothing
 * the plan does between the two needs the loop: the stages between are
 * without VI work and, like the two, without custom actions. Returns the
 * index of the step that starts them, or -1. Their start is journalled
 * with their creation (the VI is "starting" from then on), so that a
 * restart clears whatever such a start left before it starts them again;
 * the stages between are journalled when the job has ended. A start that
 * fails is retried by its own stage. */
static int fused_start(const struct oprun *r)
{
    const struct step *s = cur_step(r);

    if (s->act != VA_CREATE || s->targets || r->attempt != 1 ||
        (r->action_stages & (1u << s->stage)))
        return -1;
    for (unsigned k = r->idx + 1; k < r->plan->n; k++) {
        s = &r->plan->steps[k];
        if (s->targets || (r->action_stages & (1u << s->stage)))
            return -1;
        if (s->act == VA_START)
            return (int)k;
        if (s->act != VA_NONE)
            return -1;
    }
    return -1;
}

/* ", pid N at IP" for a job that started a process. */
static const char *pid_note(const struct vijob *j)
{
    static char buf[64];

    if (!j->out.pid || (j->act != VA_START && j->act != VA_REBOOT))
        return "";
    snprintf(buf, sizeof(buf), ", pid %d", (int)j->out.pid);
    return buf;
}

/* The end of a fused creation and start (fused_start): the VI deployment
 * step is done; a VI that started has done the start step too, one whose
 * start failed is started again by that step. */
static void fused_done(struct oprun *r, json_t *vi, json_t *op, struct vijob *j)
{
    const struct step *st = &r->plan->steps[j->start_step];
    struct core *c = r->c;
    json_t *f;

    if (!vi || !op)
        return;
    j->act = VA_START;
    apply_result(c, vi, j, doc_str(op, "type"));
    json_object_set_new(json_object_get(op, "_progress"), j->vi,
                        json_integer(j->rc ? r->idx + 1 : j->start_step + 1));
    put(c, STORE_OP, op);
    f = op_fields(r, "ok");
    json_object_set_new(f, "vi", json_string(j->vi));
    core_event(c, "info", "lifecycle", "vi", f, "%s: %s done (create)", j->name,
               stage_name(cur_step(r)->stage));
    f = stage_fields(r->dep, r->id, st->stage, j->rc ? "failed" : "ok", r->common);
    json_object_set_new(f, "vi", json_string(j->vi));
    if (j->rc) {
        r->fused_failed = (int)j->start_step;
        core_event(c, "warn", "lifecycle", "vi", f, "%s: start failed, its stage retries it: %s",
                   j->name, j->err);
    } else {
        core_event(c, "info", "lifecycle", "vi", f, "%s: %s done (start%s)", j->name,
                   stage_name(st->stage), pid_note(j));
    }
}

static void vi_job_done(struct wjob *w)
{
    struct vijob *j = (struct vijob *)w;
    struct core *c = j->c;
    struct oprun *r = hmap_get(&c->runs, j->op);
    json_t *vi, *op, *f;

    if (!r) {
        vijob_free(j);
        return;
    }
    r->pending--;
    if (j->w.cancelled) {
        note_failure(r, "the manager stopped before %s of VI %s ran", vi_action_name(j->act),
                     j->vi);
        vijob_free(j);
        return;
    }
    core_tx_begin(c);
    vi = core_load(c, STORE_VI, j->vi);
    op = core_load(c, STORE_OP, r->id);
    if (j->created) { /* fused: the VI deployment is done, the outcome is the start's */
        fused_done(r, vi, op, j);
    } else if (vi && op) {
        apply_result(c, vi, j, doc_str(op, "type"));
        if (!j->rc) {
            json_object_set_new(json_object_get(op, "_progress"), j->vi, json_integer(r->idx + 1));
            put(c, STORE_OP, op);
        }
        f = op_fields(r, j->rc ? "failed" : "ok");
        json_object_set_new(f, "vi", json_string(j->vi));
        if (j->rc)
            core_event(c, "warn", "lifecycle", "vi", f, "%s: %s failed: %s", j->name,
                       stage_name(cur_step(r)->stage), j->err);
        else
            core_event(c, "info", "lifecycle", "vi", f, "%s: %s done (%s%s)", j->name,
                       stage_name(cur_step(r)->stage), vi_action_name(j->act), pid_note(j));
    }
    if (j->rc && !j->created)
        note_failure(r, "%s: %s", j->name, j->err);
    if (vi && !j->rc && (j->act == VA_START || j->act == VA_REBOOT)) {
        lc_watch_vi(c, vi, j->exit_fd);
        j->exit_fd = -1;
    }
    json_decref(vi);
    json_decref(op);
    vijob_free(j);
    work_done(r);
    core_tx_commit(c);
}

static void run_vi_work(struct oprun *r)
{
    struct core *c = r->c;
    enum vi_action act = cur_step(r)->act;
    int start_step = fused_start(r);
    json_t *op, *dep, *id;
    struct vijob **jobs;
    size_t i, n = 0;

    if (act == VA_NONE) {
        work_done(r);
        return;
    }
    core_tx_begin(c);
    op = core_load(c, STORE_OP, r->id);
    dep = core_load(c, STORE_DEPLOYMENT, r->dep);
    jobs = xcalloc(json_array_size(step_targets(r, op)) + 1, sizeof(*jobs));
    json_array_foreach(step_targets(r, op), i, id)
    {
        json_t *vi = core_load(c, STORE_VI, json_string_value(id));
        char err[256];

        if (progress(op, json_string_value(id)) > r->idx) {
            json_decref(vi);
            continue;
        }
        if (!vi) {
            if (act != VA_DESTROY)
                note_failure(r, "VI %s has no record", json_string_value(id));
            continue;
        }
        jobs[n] = vijob_new(c, act, dep, vi, err, sizeof(err));
        if (jobs[n] && json_is_integer(json_object_get(json_object_get(op, "params"), "grace_s")))
            jobs[n]->grace_override_ms =
                (int)jv_int(json_object_get(op, "params"), "grace_s", 0) * 1000;
        else if (jobs[n] && act == VA_DESTROY && cur_step(r)->stage == ST_SCALE)
            jobs[n]->grace_override_ms = (int)jobs[n]->grace_ms; /* a scale in drains */
        if (jobs[n]) {
            /* "created" is journalled only by a VI deployment that ended
             * well: no start of it can have begun since */
            jobs[n]->fresh = vi_state_of(vi) == VIS_CREATED;
            jobs[n]->heal =
                heal_policy_parse(jv_str(json_object_get(op, "params"), "policy", NULL));
            if (start_step >= 0 && vi_state_of(vi) == VIS_PENDING) {
                jobs[n]->then_start = jobs[n]->fresh = true;
                jobs[n]->start_step = (unsigned)start_step;
                jobs[n]->no_start = &r->no_start;
                mark_before(c, vi, VA_START); /* journalled before it may happen */
            } else {
                mark_before(c, vi, act);
            }
            snprintf(jobs[n]->op, sizeof(jobs[n]->op), "%s", r->id);
            jobs[n]->w.work = vijob_work;
            jobs[n]->w.done = vi_job_done;
            n++;
        } else {
            note_failure(r, "%s: %s", doc_str(vi, "name"), err);
        }
        json_decref(vi);
    }
    if (n && act != VA_CREATE)
        lc_vis_changed(c, r->dep); /* before the VIM acts: nothing new is sent to them */
    core_tx_commit(c);
    json_decref(op);
    json_decref(dep);
    r->pending += (unsigned)n;
    for (i = 0; i < n; i++)
        core_submit(c, c->prov, &jobs[i]->w);
    free(jobs);
    work_done(r);
}

/* ---- operator decisions (SOL003 5.4.14-5.4.17, lifecycle.h) ---- */

static json_t *load_op(struct core *c, const char *op_id, struct result *res, json_t **dep)
{
    json_t *op = core_load(c, STORE_OP, op_id);

    if (!op) {
        result_not_found(res, "operation", op_id);
        return NULL;
    }
    *dep = core_load(c, STORE_DEPLOYMENT, doc_str(op, "deployment"));
    if (json_object_get(*dep, "_handover")) { /* fed/handover.c */
        char obj[64];

        snprintf(obj, sizeof(obj), "operation/%s", op_id);
        result_fail(res, 409, "conflict", "object", obj,
                    "the deployment of operation %s is being handed over between the managers "
                    "of its site; try again when that ends",
                    op_id);
        json_decref(op);
        json_decref(*dep);
        *dep = NULL;
        return NULL;
    }
    return op;
}

#define IN(s) (1u << (s))

/* 409 unless op is in one of states (IN(OP_...) | ...). */
static int want_state(const json_t *op, const char *task, unsigned states, struct result *res)
{
    int state = op_state_of(op);
    char obj[64];

    if (state >= 0 && (states & IN(state)))
        return 0;
    snprintf(obj, sizeof(obj), "operation/%s", doc_str(op, "id"));
    return result_fail(res, 409, "conflict", "object", obj,
                       "operation %s is %s: %s is not possible in that state", doc_str(op, "id"),
                       doc_str(op, "state"), task);
}

/* Journals a decision and, when run, starts the work after the commit. */
static json_t *decided(struct core *c, json_t *op, json_t *dep, const char *what, bool run)
{
    put(c, STORE_OP, op);
    if (dep)
        put(c, STORE_DEPLOYMENT, dep);
    core_event(c, "info", "lifecycle", "operation", close_fields(op, dep, what),
               "%s of %s: %s requested", doc_str(op, "type"), doc_str(op, "deployment"), what);
    lc_op_changed(c, op);
    if (run)
        core_after_commit(c, kick, xstrdup(doc_str(op, "id")), free);
    json_decref(dep);
    return op;
}

static const unsigned paused = IN(OP_FAILED_TEMP);

/* Whether op is a branch's (lcm/remote.h): then the decision goes to its
 * manager and *out is the answer (op and dep taken). */
static bool at_branch(struct core *c, json_t *op, json_t *dep, const char *what, const char *mode,
                      struct result *res, json_t **out)
{
    if (!doc_str(op, "manager") || !c->remote || !c->remote->decide)
        return false;
    json_decref(dep);
    *out = c->remote->decide(c, op, what, mode, res);
    return true;
}

json_t *lc_op_retry(struct core *c, const char *op_id, struct result *res)
{
    json_t *dep = NULL, *op = load_op(c, op_id, res, &dep), *out;

    if (!op || want_state(op, "retry", paused, res))
        goto fail;
    if (at_branch(c, op, dep, "retry", NULL, res, &out))
        return out;
    if (strcmp(jv_str(op, "_plan", ""), "rollback") == 0) {
        result_fail(res, 409, "conflict", "field", "state",
                    "operation %s has been partly rolled back: roll it back or fail it", op_id);
        goto fail;
    }
    set_state(op, OP_PROCESSING);
    doc_set_int(op, "attempt", 1);
    doc_set_str(op, "error", NULL);
    if (dep)
        doc_set_str(dep, "error", NULL);
    return decided(c, op, dep, "retry", true);
fail:
    json_decref(op);
    json_decref(dep);
    return NULL;
}

/* What a rollback can undo: VIs the operation added (instantiate, scale
 * out, a rescale that has not removed any yet) and record changes not yet
 * applied (modify). Healed, stopped or destroyed VIs cannot come back. */
static int rollbackable(const json_t *op, struct result *res)
{
    const char *plan = jv_str(op, "_plan", "");

    if (!strcmp(plan, "deploy") || !strcmp(plan, "scale_out") || !strcmp(plan, "modify"))
        return 0;
    if (!strcmp(plan, "rescale") && doc_int(op, "_step", 0) < RESCALE_REMOVE_STEP)
        return 0;
    return result_fail(res, 422, "unprocessable", "field", "operation",
                       "a %s%s cannot be rolled back: what it did cannot be undone; retry or "
                       "fail it",
                       doc_str(op, "type"),
                       !strcmp(plan, "rescale") ? " that has begun to remove instances" : "");
}

json_t *lc_op_rollback(struct core *c, const char *op_id, struct result *res)
{
    json_t *dep = NULL, *op = load_op(c, op_id, res, &dep), *out;

    if (!op || want_state(op, "rollback", paused, res))
        goto fail;
    if (at_branch(c, op, dep, "rollback", NULL, res, &out))
        return out;
    if (strcmp(jv_str(op, "_plan", ""), "rollback") != 0) { /* else: the rollback goes on */
        if (rollbackable(op, res))
            goto fail;
        json_object_set(op, "_orig_plan", json_object_get(op, "_plan"));
        json_object_set_new(op, "_plan", json_string("rollback"));
        doc_set_int(op, "_step", 0);
        json_object_set_new(op, "_progress", json_object());
    }
    set_state(op, OP_ROLLING_BACK);
    doc_set_int(op, "attempt", 1);
    return decided(c, op, dep, op_state_name(OP_ROLLING_BACK), true);
fail:
    json_decref(op);
    json_decref(dep);
    return NULL;
}

json_t *lc_op_fail(struct core *c, const char *op_id, struct result *res)
{
    json_t *dep = NULL, *op = load_op(c, op_id, res, &dep), *out;
    char err[768];

    if (!op || want_state(op, "fail", paused, res)) {
        json_decref(op);
        json_decref(dep);
        return NULL;
    }
    if (at_branch(c, op, dep, "fail", NULL, res, &out))
        return out;
    snprintf(err, sizeof(err), "%s", jv_str(op, "error", "failed by request"));
    close_op(c, op_id, doc_str(op, "deployment"), OP_FAILED, err);
    json_decref(op);
    json_decref(dep);
    return core_load(c, STORE_OP, op_id);
}

static void cancel_kick(struct core *c, void *arg)
{
    struct oprun *r = hmap_get(&c->runs, arg);

    if (!r)
        return; /* not running: run_new sees _cancel */
    r->cancel = true;
    atomic_store(&r->no_start, true);
    if (uv_is_active((uv_handle_t *)&r->timer)) { /* waiting to retry a stage */
        uv_timer_stop(&r->timer);
        core_tx_begin(c);
        cancelled(r);
        core_tx_commit(c);
    }
}

json_t *lc_op_cancel(struct core *c, const char *op_id, const char *mode, struct result *res)
{
    static const unsigned running = IN(OP_STARTING) | IN(OP_PROCESSING) | IN(OP_ROLLING_BACK);
    json_t *dep = NULL, *op = load_op(c, op_id, res, &dep), *out;

    if (!op || want_state(op, "cancel", running, res)) {
        json_decref(op);
        json_decref(dep);
        return NULL;
    }
    if (at_branch(c, op, dep, "cancel", mode, res, &out))
        return out;
    json_object_set_new(op, "_cancel", json_true());
    doc_set_str(op, "cancel_mode", mode ? mode : "GRACEFUL");
    json_decref(dep);
    put(c, STORE_OP, op);
    core_event(c, "info", "lifecycle", "operation", close_fields(op, NULL, "cancel"),
               "%s of %s: cancel (%s) requested", doc_str(op, "type"), doc_str(op, "deployment"),
               doc_str(op, "cancel_mode"));
    core_after_commit(c, cancel_kick, xstrdup(op_id), free);
    return op;
}
