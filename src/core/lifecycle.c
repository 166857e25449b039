#include "core/lifecycle.h"
#include "core/actions.h"
#include "core/notify.h"
#include "core/txq.h"
#include "core/vi_job.h"
#include "model/vnfd.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS      4
#define MAX_BACKOFF_MS 30000

struct step {
    enum stage stage;
    enum vi_action act;
    bool actions_first; /* the stage's custom actions run before its VI work */
};

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
};

struct oprun {
    struct core *c;
    char id[40];
    char dep[ID_BUF_MAX];
    const struct plan *plan;
    unsigned idx, attempt, pending, failed;
    unsigned phase; /* 0, 1: VI work and custom actions, in the step's order */
    uint64_t step_started_ms;
    json_t *common; /* event fields of every record: tenant, tags */
    char err[768];
    uv_timer_t timer;
};

static void step_begin(struct oprun *r);

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

static json_t *load(struct core *c, enum store_kind k, const char *id)
{
    json_t *doc = NULL;

    return id && store_get(c->st, k, id, &doc) == 0 ? doc : NULL;
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

/* Event fields naming the operation, its deployment and stage. */
static json_t *op_fields(const struct oprun *r, const char *result)
{
    char obj[80];
    json_t *f;

    snprintf(obj, sizeof(obj), "deployment/%s", r->dep);
    f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", obj, "deployment", r->dep, "operation",
                  r->id, "stage", stage_name(cur_step(r)->stage), "result", result);
    json_object_update(f, r->common);
    return f;
}

const char *lc_dep_status(struct core *c, const char *dep_id)
{
    struct store_where w = {"deployment", dep_id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    const char *status = "active";
    json_t *vis, *vi;
    size_t i;

    if (store_list(c->st, STORE_VI, &o, &vis))
        return "degraded";
    json_array_foreach(vis, i, vi)
    {
        if (strcmp(jv_str(vi, "state", ""), "running") != 0)
            status = "degraded";
    }
    json_decref(vis);
    return status;
}

/* ---- creation ---- */

static void kick(struct core *c, void *arg);

json_t *lc_op_start(struct core *c, json_t *dep, const char *type, const char *plan, json_t *vis,
                    json_t *params, const struct txn *t, bool automatic)
{
    const struct plan *p = plan_find(plan);
    char id[40], obj[80];
    json_t *op, *f;

    id_random(id, "op-", 12);
    op = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:n, s:b, s:s?, s:s?, s:o, s:o, "
        "s:[], s:n, s:s, s:i, s:{}, s:I}",
        "id", id, "type", type, "deployment", doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"),
        "state", "processing", "stage", stage_name(p->steps[0].stage), "attempt", 1, "error",
        "automatic", automatic, "client_transaction_id", t ? t->client_txn_id : NULL, "callback",
        t ? t->callback : NULL, "params", params ? params : json_object(), "vis", vis, "stages",
        "finished", "_plan", plan, "_step", 0, "_progress", "_created_ms", (json_int_t)mono_ms());
    doc_touch(op, "created");
    if (t && t->xml)
        json_object_set_new(op, "_callback_xml", json_true()); /* XML client (F3) */
    put(c, STORE_OP, op);
    doc_set_str(dep, "operation", id);
    put(c, STORE_DEPLOYMENT, dep);
    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(dep, "id"));
    f = json_pack("{s:s, s:s, s:s, s:s}", "object", obj, "deployment", doc_str(dep, "id"),
                  "operation", id, "result", "started");
    json_object_update_new(f, common_fields(dep));
    core_event(c, "info", "lifecycle", "operation", f, "%s of %s started (%s)", type,
               doc_str(dep, "id"), id);
    core_after_commit(c, kick, xstrdup(id), free);
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

static void run_new(struct core *c, const char *op_id)
{
    json_t *op = load(c, STORE_OP, op_id), *dep;
    const struct plan *p = plan_find(doc_str(op, "_plan"));
    struct oprun *r;

    if (!op || !p || hmap_get(&c->runs, op_id)) {
        json_decref(op);
        return;
    }
    dep = load(c, STORE_DEPLOYMENT, doc_str(op, "deployment"));
    r = xcalloc(1, sizeof(*r));
    r->c = c;
    snprintf(r->id, sizeof(r->id), "%s", op_id);
    snprintf(r->dep, sizeof(r->dep), "%s", doc_str(op, "deployment"));
    r->plan = p;
    r->idx = (unsigned)doc_int(op, "_step", 0);
    r->attempt = (unsigned)doc_int(op, "attempt", 1);
    if (r->idx >= p->n)
        r->idx = p->n - 1;
    r->common = common_fields(dep);
    uv_timer_init(c->loop, &r->timer);
    r->timer.data = r;
    hmap_put(&c->runs, r->id, r);
    json_decref(op);
    json_decref(dep);
    step_begin(r);
}

static void kick(struct core *c, void *arg)
{
    run_new(c, arg);
}

void lc_resume_all(struct core *c)
{
    struct store_where w = {"state", "processing", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *ops, *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &ops))
        return;
    json_array_foreach(ops, i, op)
    {
        core_event(c, "info", "lifecycle", "operation",
                   json_pack("{s:s, s:s, s:s}", "deployment", doc_str(op, "deployment"),
                             "operation", doc_str(op, "id"), "result", "resumed"),
                   "resuming %s of %s (%s) at stage %s after a restart", doc_str(op, "type"),
                   doc_str(op, "deployment"), doc_str(op, "id"), doc_str(op, "stage"));
        run_new(c, doc_str(op, "id"));
    }
    json_decref(ops);
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

static void finish_deployment(struct core *c, json_t *dep, json_t *op, const char *state,
                              const char *err)
{
    const char *type = doc_str(op, "type");
    bool ok = strcmp(state, "completed") == 0;

    if (ok && strcmp(type, "undeploy") == 0) {
        store_delete(c->st, STORE_DEPLOYMENT, doc_str(dep, "id"));
        return;
    }
    if (strcmp(doc_str(op, "_plan"), "scale_out") == 0 && !ok) {
        json_t *inst = json_object_get(dep, "instances");
        const char *vdu = jv_str(json_object_get(op, "params"), "vdu", "");

        json_object_set_new(inst, vdu,
                            json_integer(jv_int(inst, vdu, 0) -
                                         (json_int_t)json_array_size(json_object_get(op, "vis"))));
    }
    doc_set_str(dep, "operation", NULL);
    doc_set_str(dep, "stage", ok ? stage_name(ST_MONITORING) : stage_name(ST_FAIL));
    doc_set_str(dep, "error", ok ? NULL : err);
    if (!ok && (strcmp(type, "deploy") == 0 || strcmp(type, "undeploy") == 0))
        doc_set_str(dep, "status", "failed");
    else
        doc_set_str(dep, "status", lc_dep_status(c, doc_str(dep, "id")));
    put(c, STORE_DEPLOYMENT, dep);
}

static void finish(struct oprun *r, const char *state)
{
    struct core *c = r->c;
    json_t *op, *dep, *f;
    const char *err = *r->err ? r->err : NULL;
    uint64_t took;

    core_tx_begin(c);
    op = load(c, STORE_OP, r->id);
    dep = load(c, STORE_DEPLOYMENT, r->dep);
    if (!op)
        goto out;
    took = mono_ms() - (uint64_t)doc_int(op, "_created_ms", (long long)mono_ms());
    doc_set_str(op, "state", state);
    if (strcmp(state, "completed") != 0 && err)
        doc_set_str(op, "error", err);
    doc_touch(op, "finished");
    put(c, STORE_OP, op);
    if (dep)
        finish_deployment(c, dep, op, state, doc_str(op, "error"));
    f = op_fields(r, state);
    json_object_set_new(f, "stage", json_string(doc_str(op, "stage")));
    core_event(c, strcmp(state, "completed") == 0 ? "info" : "error", "lifecycle", "operation", f,
               "%s of %s %s after %llu ms%s%s", doc_str(op, "type"), r->dep, state,
               (unsigned long long)took, err && strcmp(state, "completed") ? ": " : "",
               err && strcmp(state, "completed") ? err : "");
    if (doc_str(op, "callback")) {
        json_t *pub = doc_public(op);

        notify_post_as(c, doc_str(op, "callback"), pub, r->id,
                       json_is_true(json_object_get(op, "_callback_xml")));
        json_decref(pub);
    }
out:
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

    if (!undo) {
        finish(r, "failed");
        return;
    }
    core_tx_begin(c);
    op = load(c, STORE_OP, r->id);
    doc_set_str(op, "error", r->err);
    json_object_set_new(op, "_plan", json_string("rollback"));
    json_object_set_new(op, "_progress", json_object());
    put(c, STORE_OP, op);
    core_event(c, "warn", "lifecycle", "operation", op_fields(r, "rolling_back"),
               "%s of %s failed, rolling back: %s", doc_str(op, "type"), r->dep, r->err);
    core_tx_commit(c);
    json_decref(op);
    r->plan = plan_find("rollback");
    r->idx = 0;
    r->attempt = 1;
    step_begin(r);
}

static void step_ok(struct oprun *r)
{
    struct core *c = r->c;
    json_t *op;

    core_tx_begin(c);
    op = load(c, STORE_OP, r->id);
    if (op) {
        record_stage(r, op, "ok");
        doc_set_int(op, "_step", r->idx + 1);
        doc_set_int(op, "attempt", 1);
        put(c, STORE_OP, op);
    }
    core_event(c, "info", "lifecycle", "stage", op_fields(r, "ok"), "%s: %s done", r->dep,
               stage_name(cur_step(r)->stage));
    core_tx_commit(c);
    json_decref(op);
    r->idx++;
    r->attempt = 1;
    if (r->idx < r->plan->n)
        step_begin(r);
    else
        finish(r, strcmp(r->plan->name, "rollback") == 0 ? "rolled_back" : "completed");
}

static void on_retry(uv_timer_t *t)
{
    step_begin(t->data);
}

static void step_failed(struct oprun *r)
{
    struct core *c = r->c;
    json_t *dep = load(c, STORE_DEPLOYMENT, r->dep), *op;
    struct vnfd_retry budget;
    uint64_t delay;

    vnfd_retry(json_object_get(dep, "_descriptor"), &budget);
    json_decref(dep);
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
    op = load(c, STORE_OP, r->id);
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

/* Called whenever a piece of the current phase ends. */
static void work_done(struct oprun *r)
{
    if (r->pending > 0 || r->c->stopping)
        return;
    if (r->failed)
        step_failed(r);
    else if (++r->phase < 2)
        run_phase(r);
    else
        step_ok(r);
}

static void step_begin(struct oprun *r)
{
    struct core *c = r->c;
    const char *stage = stage_name(cur_step(r)->stage);
    json_t *op, *dep;

    if (c->stopping)
        return;
    core_tx_begin(c);
    op = load(c, STORE_OP, r->id);
    dep = load(c, STORE_DEPLOYMENT, r->dep);
    if (!op || !dep) {
        core_tx_commit(c);
        json_decref(op);
        json_decref(dep);
        snprintf(r->err, sizeof(r->err), "the deployment record %s is gone", r->dep);
        finish(r, "failed");
        return;
    }
    doc_set_str(op, "stage", stage);
    doc_set_int(op, "attempt", r->attempt);
    doc_set_int(op, "_step", r->idx);
    put(c, STORE_OP, op);
    doc_set_str(dep, "stage", stage);
    put(c, STORE_DEPLOYMENT, dep);
    {
        json_t *f = op_fields(r, "started");

        json_object_set_new(f, "attempt", json_integer(r->attempt));
        core_event(c, "info", "lifecycle", "stage", f, "%s: %s started%s", r->dep, stage,
                   r->attempt > 1 ? " again" : "");
    }
    core_tx_commit(c);
    json_decref(op);
    json_decref(dep);
    r->step_started_ms = mono_ms();
    r->failed = 0;
    r->err[0] = '\0';
    r->phase = 0;
    run_phase(r);
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
    struct oprun *r = hmap_get(&j->c->runs, j->op);

    if (!r) {
        actjob_free(j);
        return;
    }
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
}

static void run_actions(struct oprun *r)
{
    struct core *c = r->c;
    json_t *dep = load(c, STORE_DEPLOYMENT, r->dep), *op = load(c, STORE_OP, r->id);
    struct actjob *j = dep && op ? actjob_new(c, cur_step(r)->stage, dep, op) : NULL;

    json_decref(dep);
    json_decref(op);
    if (j) {
        j->on_done = actions_done;
        r->pending++;
        wpool_submit(c->conf, &j->w);
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
        doc_set_str(vi, "state", "starting");
        break;
    case VA_DESTROY:
        lc_unwatch_vi(c, doc_str(vi, "id"));
        doc_set_str(vi, "state", "destroying");
        break;
    default:
        return;
    }
    put(c, STORE_VI, vi);
}

static void apply_result(struct core *c, json_t *vi, const struct vijob *j, const char *op_type)
{
    char buf[TIME_STR_MAX];

    if (j->rc) {
        doc_set_str(vi, "error", j->err);
        if (j->act == VA_START || j->act == VA_REBOOT)
            doc_set_str(vi, "state", "exited");
        put(c, STORE_VI, vi);
        return;
    }
    switch (j->act) {
    case VA_CREATE:
        doc_set_str(vi, "state", "created");
        break;
    case VA_START:
    case VA_REBOOT:
        if (j->act == VA_REBOOT || strcmp(op_type, "heal") == 0)
            doc_set_int(vi, "restarts", doc_int(vi, "restarts", 0) + 1);
        doc_set_str(vi, "state", "running");
        doc_set_int(vi, "pid", j->out.pid);
        doc_set_int(vi, "_pid_start", (long long)j->out.pid_start);
        json_object_set_new(vi, "started", json_string(time_fmt(wall_ms(), buf)));
        json_object_set_new(vi, "exit_status", json_null());
        break;
    case VA_DESTROY:
        store_delete(c->st, STORE_VI, doc_str(vi, "id"));
        return;
    default:
        break;
    }
    doc_set_str(vi, "error", NULL);
    put(c, STORE_VI, vi);
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
    vi = load(c, STORE_VI, j->vi);
    op = load(c, STORE_OP, r->id);
    if (vi && op) {
        apply_result(c, vi, j, doc_str(op, "type"));
        if (!j->rc) {
            json_object_set_new(json_object_get(op, "_progress"), j->vi, json_integer(r->idx + 1));
            put(c, STORE_OP, op);
        }
        f = op_fields(r, j->rc ? "failed" : "ok");
        json_object_set_new(f, "vi", json_string(j->vi));
        if (j->rc)
            core_event(c, "warn", "lifecycle", "vi", f, "%s: %s failed: %s", j->spec.name,
                       stage_name(cur_step(r)->stage), j->err);
        else
            core_event(c, "info", "lifecycle", "vi", f, "%s: %s done (%s%s)", j->spec.name,
                       stage_name(cur_step(r)->stage), vi_action_name(j->act), pid_note(j));
    }
    if (j->rc)
        note_failure(r, "%s: %s", j->spec.name, j->err);
    core_tx_commit(c);
    if (vi && !j->rc && (j->act == VA_START || j->act == VA_REBOOT))
        lc_watch_vi(c, vi);
    json_decref(vi);
    json_decref(op);
    vijob_free(j);
    work_done(r);
}

static void run_vi_work(struct oprun *r)
{
    struct core *c = r->c;
    enum vi_action act = cur_step(r)->act;
    json_t *op, *dep, *id;
    struct vijob **jobs;
    size_t i, n = 0;

    if (act == VA_NONE) {
        work_done(r);
        return;
    }
    core_tx_begin(c);
    op = load(c, STORE_OP, r->id);
    dep = load(c, STORE_DEPLOYMENT, r->dep);
    jobs = xcalloc(json_array_size(json_object_get(op, "vis")) + 1, sizeof(*jobs));
    json_array_foreach(json_object_get(op, "vis"), i, id)
    {
        json_t *vi = load(c, STORE_VI, json_string_value(id));
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
        if (jobs[n]) {
            mark_before(c, vi, act);
            snprintf(jobs[n]->op, sizeof(jobs[n]->op), "%s", r->id);
            jobs[n]->w.work = vijob_work;
            jobs[n]->w.done = vi_job_done;
            n++;
        } else {
            note_failure(r, "%s: %s", doc_str(vi, "name"), err);
        }
        json_decref(vi);
    }
    core_tx_commit(c); /* journal first, then act */
    json_decref(op);
    json_decref(dep);
    r->pending += (unsigned)n;
    for (i = 0; i < n; i++)
        wpool_submit(c->prov, &jobs[i]->w);
    free(jobs);
    work_done(r);
}
