/* Moves (docs/FEDERATION.md "Moves"; issue 13): the cloud VNFM moves a
 * deployment between a branch and a site of its own, make-before-break,
 * as an operation of type "move" with stages:
 *
 *   clone     the clone deployed at the target site with the original's
 *             configuration (VNFD, parameters, instances, credentials,
 *             license, rules); it ends when the clone's deploy completed,
 *             which includes its readiness probes (post_deployment)
 *   switch    the service endpoint at the deployment's branch (its home)
 *             sent to the clone: an instruction "endpoint" to that branch's
 *             manager, done once applied. Then the commit point: the
 *             deployment's id names the clone from here on
 *   drain     a window (drain_s) in which connections already open to the
 *             original finish (the kernel keeps their translation)
 *   undeploy  the original undeployed
 *
 * A step that fails before the commit point rolls back: the endpoint is
 * sent back to the original when the switch may have reached the branch
 * (`restore`), and the clone is undeployed (`unclone`); the operation ends
 * rolled_back with the reason, the original serving.
 *
 * The journal is the operation record (`_move`: the step, the operation it
 * waits for, the deadline): each step and the work it starts are written in
 * one transaction, and what it waits for (a lifecycle operation of the
 * cloud's, an instruction's operation) ends in a transaction that also
 * moves the step on (the observer below), so a kill -9 of the cloud at any
 * point resumes where the record says (fed_move_resume); the branch applies
 * each instruction once. */
#include "fed/fed_internal.h"
#include "lcm/observe.h"
#include "lcm/sites.h"
#include "lcm/svc_lcm.h"
#include "core/states.h"
#include "core/txq.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <string.h>

#define DRAIN_MS_DEFAULT 5000
#define SWITCH_MS        30000 /* an endpoint switch not applied within this rolls back */

/* ---- small helpers ---- */

static json_t *mv_of(const json_t *op)
{
    return json_object_get(op, "_move");
}

static const char *mv_str(const json_t *op, const char *k)
{
    return jv_str(mv_of(op), k, NULL);
}

static void mv_set(json_t *op, const char *k, const char *v)
{
    doc_set_str(mv_of(op), k, v);
}

/* The site's record is a branch (else one of the cloud's own sites). */
static bool is_branch(struct core *c, const char *site)
{
    json_t *doc = core_load(c, STORE_SITE, site);
    bool b = doc && site_is_branch(doc);

    json_decref(doc);
    return b;
}

/* The VDU whose instances answer the service: the first that has a
 * readiness port (ready.http.port or ready.tcp), *port set to it; NULL
 * (and 0) when none has one. */
const json_t *fed_service_vdu(const json_t *vnfd, long long *port)
{
    const json_t *vdu;
    size_t i;

    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        const json_t *ready = json_object_get(vdu, "ready");
        long long p = jv_int(json_object_get(ready, "http"), "port", jv_int(ready, "tcp", 0));

        if (p > 0) {
            *port = p;
            return vdu;
        }
    }
    *port = 0;
    return NULL;
}

long long fed_service_port(const json_t *vnfd)
{
    long long port;

    fed_service_vdu(vnfd, &port);
    return port;
}

/* A stage's event, as the engine's (what `vnfmctl --wait` prints). */
static void stage_event(struct core *c, const json_t *op, const char *stage, const char *result,
                        const char *detail)
{
    core_event(c, strcmp(result, "failed") ? "info" : "warn", "lifecycle", "stage",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", jv_str(op, "deployment", ""),
                         "deployment", jv_str(op, "deployment", ""), "operation",
                         jv_str(op, "id", ""), "stage", stage, "result", result),
               "%s: %s %s%s%s", jv_str(op, "deployment", ""), stage,
               strcmp(result, "ok") ? result : "done", detail ? ": " : "", detail ? detail : "");
}

/* The stages of op, like the engine's: the current one in "stage", those
 * passed in "stages" with their result; the next one starts (NULL: none). */
static void stage(struct core *c, json_t *op, const char *next, const char *result,
                  const char *detail)
{
    json_t *mv = mv_of(op), *done;
    char now[TIME_STR_MAX];

    time_fmt(wall_ms(), now);
    if (jv_str(mv, "stage_started", NULL)) {
        done = json_pack("{s:s, s:s, s:i, s:O, s:s}", "stage", jv_str(op, "stage", ""), "result",
                         result ? result : "ok", "attempts", 1, "started",
                         json_object_get(mv, "stage_started"), "finished", now);
        if (jv_str(mv, "stage_op", NULL))
            json_object_set(done, "operation", json_object_get(mv, "stage_op"));
        if (detail)
            doc_set_str(done, "error", detail);
        json_array_append_new(json_object_get(op, "stages"), done);
        json_object_del(mv, "stage_started");
        stage_event(c, op, jv_str(op, "stage", ""), result ? result : "ok", detail);
    }
    json_object_del(mv, "stage_op");
    if (next) {
        doc_set_str(op, "stage", next);
        mv_set(op, "step", next);
        mv_set(op, "stage_started", now);
        stage_event(c, op, next, "started", NULL);
    }
}

/* The operation the current stage waits for. */
static void stage_op(json_t *op, const char *id)
{
    mv_set(op, "stage_op", id);
}

static void event(struct core *c, const json_t *op, const char *level, const char *fmt,
                  const char *a)
{
    char what[512];

    snprintf(what, sizeof(what), fmt, a ? a : "");
    core_event(c, level, "lifecycle", "move",
               json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "object", jv_str(op, "deployment", ""),
                         "deployment", jv_str(op, "deployment", ""), "operation",
                         jv_str(op, "id", ""), "stage", doc_str(op, "stage"), "site",
                         jv_str(op, "to", NULL)),
               "move %s of %s from %s to %s: %s", jv_str(op, "id", ""),
               jv_str(op, "deployment", ""), jv_str(op, "from", "?"), jv_str(op, "to", "?"), what);
}

/* ---- the moves running (in memory: what they wait for, until when) ---- */

struct mv_rt {
    char wait[32];       /* the operation the move waits for, or "" */
    int64_t deadline_ms; /* wall ms of the step's deadline, 0: none */
};

static void track(struct fed *f, const json_t *op)
{
    struct mv_rt *rt = hmap_get(&f->moves, jv_str(op, "id", ""));

    if (!rt) {
        rt = xcalloc(1, sizeof(*rt));
        hmap_put(&f->moves, jv_str(op, "id", ""), rt);
    }
    snprintf(rt->wait, sizeof(rt->wait), "%s", jv_str(mv_of(op), "wait", ""));
    rt->deadline_ms = jv_int(mv_of(op), "deadline_ms", 0);
}

static void untrack(struct fed *f, const char *id)
{
    free(hmap_del(&f->moves, id));
}

static int save(struct core *c, json_t *op)
{
    doc_touch(op, "updated");
    if (store_put(c->st, STORE_OP, op))
        return -1;
    track(c->fed, op);
    return 0;
}

/* The user's deployment as it is now (the clone's record after the commit
 * point), with its move's summary set. */
static void dep_move_info(struct core *c, const json_t *op, const char *state, bool release)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(op, "deployment", ""));
    json_t *info;

    if (!dep)
        return;
    info = json_pack("{s:s, s:s?, s:s?, s:O, s:s, s:s?}", "operation", jv_str(op, "id", ""), "from",
                     doc_str(op, "from"), "to", doc_str(op, "to"), "why",
                     json_object_get(op, "why") ? json_object_get(op, "why") : json_null(), "state",
                     state, "error", doc_str(op, "error"));
    json_object_set(info, "started", json_object_get(op, "created"));
    json_object_set_new(dep, "move", info);
    if (release) {
        if (strcmp(jv_str(dep, "operation", ""), jv_str(op, "id", "")) == 0)
            json_object_set_new(dep, "operation", json_null());
        json_object_del(dep, "_move_op");
    }
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
    json_decref(dep);
}

/* The operation ends: completed, or rolled_back/failed with why. */
static void finish(struct core *c, json_t *op, enum op_state state, const char *reason)
{
    char *why = reason ? xstrdup(reason) : NULL; /* it may be op's own "error" */

    stage(c, op, NULL, state == OP_COMPLETED ? "ok" : "failed", NULL);
    doc_set_str(op, "state", op_state_name(state));
    if (why)
        doc_set_str(op, "error", why);
    doc_touch(op, "finished");
    mv_set(op, "wait", NULL);
    json_object_set_new(mv_of(op), "deadline_ms", json_integer(0));
    doc_touch(op, "updated");
    store_put(c->st, STORE_OP, op);
    untrack(c->fed, doc_str(op, "id"));
    dep_move_info(c, op, op_state_name(state), true);
    core_event(
        c, state == OP_COMPLETED ? "info" : "warn", "lifecycle", "operation",
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", jv_str(op, "deployment", ""), "deployment",
                  jv_str(op, "deployment", ""), "operation", jv_str(op, "id", ""), "result",
                  op_state_name(state), "site", jv_str(op, "to", "")),
        "move of %s from %s to %s %s%s%s", jv_str(op, "deployment", ""), jv_str(op, "from", "?"),
        jv_str(op, "to", "?"), op_state_name(state), why ? ": " : "", why ? why : "");
    if (why)
        log_warn("fed: move %s of %s: %s", doc_str(op, "id"), doc_str(op, "deployment"), why);
    lc_op_changed(c, op);
    lc_op_ended(c, op);
    free(why);
}

/* ---- the work of the steps ---- */

/* A request of the admin's applied here and now, inside the open
 * transaction (a clone's deploy, an undeploy of the cloud's own). The
 * operation it started in *op_id; 0, or -1 with res set. */
int fed_local_request(struct core *c, txn_apply_fn fn, const char *name, const char *arg,
                      json_t *body, struct result *res, char *op_id, size_t len)
{
    struct txn *t = txn_new(fn, name);
    int r = 0;

    t->who.admin = true;
    snprintf(t->who.token_id, sizeof(t->who.token_id), "move");
    t->body = body ? body : json_object();
    t->args[0] = arg ? xstrdup(arg) : NULL;
    fn(c, t);
    if (t->res.status >= 400) {
        result_fail(res, t->res.status, jv_str(t->res.body, "error", "refused"),
                    doc_str(t->res.body, "field") ? "field" : NULL,
                    jv_str(t->res.body, "field", NULL), "%s",
                    jv_str(t->res.body, "message", "refused"));
        r = -1;
    } else {
        snprintf(op_id, len, "%s", jv_str(t->res.body, "id", ""));
    }
    txn_free(t);
    return r;
}

/* An instruction to manager mgr_id (the manager's record, reachable or
 * not: it waits on the cloud until the manager's channel takes it). */
static int instruct(struct core *c, const char *mgr_id, const char *type, const json_t *op,
                    json_t *body, struct result *res, char *op_id, size_t len)
{
    struct fed_mgr *m = hmap_get(&c->fed->mgrs, mgr_id ? mgr_id : "");
    json_t *dep = json_pack("{s:s, s:s?}", "id", jv_str(op, "deployment", ""), "tenant",
                            doc_str(op, "tenant"));
    json_t *iop = NULL, *ins;

    if (!m) {
        json_decref(dep);
        json_decref(body);
        return result_fail(res, 503, "unavailable", "object", mgr_id ? mgr_id : "?",
                           "manager %s is not known here", mgr_id ? mgr_id : "?");
    }
    ins = fed_instruct(c, m, type, dep, body, NULL,
                       json_pack("{s:s, s:b}", "move", jv_str(op, "id", ""), "automatic", 1), res,
                       &iop);
    json_decref(dep);
    if (!ins)
        return -1;
    snprintf(op_id, len, "%s", jv_str(iop, "id", ""));
    json_decref(ins);
    json_decref(iop);
    return 0;
}

static void rollback(struct core *c, json_t *op, const char *why);

/* Waits for the operation op_id (the journal names it). */
static void await(json_t *op, const char *op_id, int64_t deadline_ms)
{
    mv_set(op, "wait", op_id);
    json_object_set_new(mv_of(op), "deadline_ms", json_integer(deadline_ms));
    if (op_id)
        stage_op(op, op_id);
}

/* The instances of the clone: the original's, and for the cloud those of
 * its burst too (one service, whole in the cloud after the move). */
static json_t *clone_instances(const json_t *dep, const json_t *mv)
{
    const json_t *inst = json_object_get(dep, "instances"), *bu = json_object_get(mv, "burst");
    json_t *out;

    if (!bu)
        return inst ? json_incref((json_t *)inst) : NULL;
    out = inst ? json_deep_copy(inst) : json_object();
    json_object_set_new(
        out, jv_str(bu, "vdu", ""),
        json_integer(jv_int(out, jv_str(bu, "vdu", ""), 1) + jv_int(bu, "instances", 0)));
    return out;
}

/* The rules a clone in the cloud takes: those that decided for the
 * original, the cloud's when its operator gave them the deployment
 * ("One owner per deployment"; a cut WAN's hand-back aside), else the
 * branch's own. */
static const json_t *clone_rules(const json_t *dep)
{
    const char *owner = jv_str(dep, "rules_owner_set", jv_str(dep, "rules_owner", "branch"));

    if (strcmp(owner, "cloud") == 0 && json_object_get(dep, "rules"))
        return json_object_get(dep, "rules");
    return json_object_get(dep, "_branch_rules");
}

/* clone: the clone at the target, with the original's configuration. */
static int step_clone(struct core *c, json_t *op, const json_t *dep, struct result *res)
{
    const json_t *mv = mv_of(op);
    json_t *body = json_pack("{s:s, s:s, s:s?, s:O?, s:o?, s:s?}", "name", mv_str(op, "clone"),
                             "vnfd", jv_str(dep, "vnfd", ""), "tenant", doc_str(dep, "tenant"),
                             "params", json_object_get(dep, "params"), "instances",
                             clone_instances(dep, mv), "license", doc_str(dep, "license"));
    char id[32];

    if (doc_str(dep, "_password"))
        json_object_set_new(body, "credentials",
                            json_pack("{s:s}", "password", doc_str(dep, "_password")));
    stage(c, op, "clone", NULL, NULL);
    if (jv_str(mv, "to_mgr", NULL)) { /* at a branch: a deploy there, with the VNFD and tenant */
        fed_add_records(c, body, jv_str(dep, "tenant", "default"), jv_str(dep, "vnfd", ""));
        if (json_object_get(dep, "rules"))
            json_object_set(body, "rules", json_object_get(dep, "rules"));
        if (instruct(c, jv_str(mv, "to_mgr", ""), "deploy", op, body, res, id, sizeof(id)))
            return -1;
    } else {
        json_t *clone;

        json_object_set_new(body, "site", json_string(jv_str(op, "to", "")));
        /* the clone's key as it is (svc_deploy keys a name by its tenant) */
        if (fed_local_request(c, svc_deploy, "deploy", mv_str(op, "clone"), body, res, id,
                              sizeof(id)))
            return -1;
        clone = core_load(c, STORE_DEPLOYMENT, mv_str(op, "clone"));
        if (clone) {
            const json_t *rules = clone_rules(dep);

            if (rules)
                json_object_set(clone, "rules", (json_t *)rules);
            doc_set_str(clone, "move_of", jv_str(op, "deployment", ""));
            store_put(c->st, STORE_DEPLOYMENT, clone);
            json_decref(clone);
        }
    }
    await(op, id, 0);
    return 0;
}

/* switch: the endpoint at the home branch to the clone. */
static int step_switch(struct core *c, json_t *op, struct result *res)
{
    struct fed_mgr *hm;
    json_t *body;
    char id[32];

    stage(c, op, "switch", NULL, NULL);
    mv_set(op, "wait", NULL); /* nothing sent yet: a rollback has nothing to restore */
    hm = hmap_get(&c->fed->mgrs, jv_str(mv_of(op), "home_mgr", ""));
    if (!hm || strcmp(hm->state, "active"))
        return result_fail(res, 503, "site-unreachable", "object", mv_str(op, "home"),
                           "branch site %s is unreachable (its manager does not report): its "
                           "endpoint cannot switch",
                           mv_str(op, "home"));
    if (mv_str(op, "to_mgr")) {
        body = json_pack("{s:s}", "mode", "local");
    } else {
        json_t *b = fed_backends(c, mv_str(op, "clone"), jv_int(mv_of(op), "port", 0));

        if (json_array_size(b) == 0) {
            json_decref(b);
            return result_fail(res, 409, "conflict", "object", mv_str(op, "clone"),
                               "the clone %s has no running VI to switch to", mv_str(op, "clone"));
        }
        body = json_pack("{s:s, s:o}", "mode", "remote", "backends", b);
    }
    json_object_set_new(body, "port", json_integer(jv_int(mv_of(op), "port", 0)));
    if (instruct(c, mv_str(op, "home_mgr"), "endpoint", op, body, res, id, sizeof(id)))
        return -1;
    await(op, id, wall_ms() + SWITCH_MS);
    return 0;
}

/* Renames the cloud's deployment from (its VIs too) to to; the record. */
static json_t *rename_dep(struct core *c, const char *from, const char *to)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, from), *vis, *vi;
    char name[256];
    size_t i;

    if (!dep)
        return NULL;
    vis = svc_vi_list(c, from);
    json_array_foreach(vis, i, vi)
    {
        snprintf(name, sizeof(name), "%s/%s/%lld", id_name(to), jv_str(vi, "vdu", ""),
                 (long long)jv_int(vi, "index", 0));
        doc_set_str(vi, "deployment", to);
        doc_set_str(vi, "name", name);
        store_put(c->st, STORE_VI, vi);
    }
    json_decref(vis);
    store_delete(c->st, STORE_DEPLOYMENT, from);
    doc_set_str(dep, "id", to);
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
    /* an event naming each, so that the monitor reads both again */
    core_event(c, "info", "lifecycle", "renamed",
               json_pack("{s:s, s:s, s:s}", "object", from, "deployment", from, "now", to),
               "deployment %s is %s now", from, to);
    core_event(c, "info", "lifecycle", "renamed",
               json_pack("{s:s, s:s, s:s}", "object", to, "deployment", to, "was", from),
               "deployment %s was %s", to, from);
    return dep;
}

/* The commit point: the deployment's id names the clone from here on. */
static void commit_switch(struct core *c, json_t *op)
{
    const char *id = jv_str(op, "deployment", ""), *clone = mv_str(op, "clone");
    json_t *was = core_load(c, STORE_DEPLOYMENT, id), *dep;
    /* what stays the deployment's whichever copy it names: its endpoint,
     * its age, what the cloud holds of a SOL003 VNF instance */
    static const char *const carried[] = {
        "service_endpoint", "_endpoint",           "created", "sol003",
        "flavour",          "instantiation_level", NULL};

    if (!was)
        return;
    if (!mv_str(op, "to_mgr")) { /* to the cloud: the mirror of the original goes */
        store_delete(c->st, STORE_DEPLOYMENT, id);
        dep = rename_dep(c, clone, id);
        if (!dep) {
            json_decref(was);
            return;
        }
        json_object_del(dep, "move_of");
    } else { /* to a branch: the cloud's original steps aside; the mirror follows */
        struct fed_mgr *m = hmap_get(&c->fed->mgrs, mv_str(op, "to_mgr"));
        json_t *old = rename_dep(c, id, mv_str(op, "old"));

        if (old) {
            for (const char *const *k = carried; *k; k++)
                json_object_del(old, *k);
            json_object_del(old, "move");
            json_object_set_new(old, "operation", json_null());
            doc_set_str(old, "move_of", id);
            store_put(c->st, STORE_DEPLOYMENT, old);
            json_decref(old);
        }
        dep = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:[]}", "id", id, "site",
                        jv_str(op, "to", ""), "manager", mv_str(op, "to_mgr"), "tenant",
                        doc_str(was, "tenant"), "vnfd", jv_str(was, "vnfd", ""), "status", "active",
                        "vis");
        if (m) { /* a mirror again: written whole from a full report, asked for now */
            uint64_t *h = hmap_get(&m->deps, id);

            if (!h)
                hmap_put(&m->deps, id, h = xcalloc(1, sizeof(*h)));
            *h = 0;
            m->send_full = true; /* the answer to its next report asks for all (no channel) */
            fed_pull(c->fed, m);
        }
    }
    for (const char *const *k = carried; *k; k++)
        if (json_object_get(was, *k))
            json_object_set(dep, *k, json_object_get(was, *k));
    doc_set_str(dep, "site", jv_str(op, "to", ""));
    doc_set_str(dep, "operation", jv_str(op, "id", ""));
    doc_set_str(dep, "_move_op", jv_str(op, "id", ""));
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
    json_decref(dep);
    json_decref(was);
    dep_move_info(c, op, "processing", false);
    event(c, op, "info", "the endpoint %s points at the clone", mv_str(op, "endpoint"));
}

static void step_drain(struct core *c, json_t *op)
{
    int64_t ms = jv_int(mv_of(op), "drain_ms", DRAIN_MS_DEFAULT);

    stage(c, op, "drain", NULL, NULL);
    await(op, NULL, wall_ms() + ms);
}

/* The original's burst in the cloud goes with it: its instances served
 * until the switch and drained since (the clone has as many more). */
static void unburst(struct core *c, json_t *op)
{
    const char *b = jv_str(json_object_get(mv_of(op), "burst"), "deployment", NULL);
    json_t *bdep = b ? core_load(c, STORE_DEPLOYMENT, b) : NULL;
    struct result res = {0};
    char id[32];

    if (!bdep)
        return;
    json_decref(bdep);
    if (fed_local_request(c, svc_undeploy, "undeploy", b, NULL, &res, id, sizeof(id)) == 0)
        event(c, op, "info", "the original's instances in the cloud go: %s", id);
    else
        event(c, op, "warn", "the original's instances in the cloud stay (undeploy them): %s",
              jv_str(res.body, "message", "?"));
    result_done(&res);
}

static int step_undeploy(struct core *c, json_t *op, struct result *res)
{
    char id[32];

    stage(c, op, "undeploy", NULL, NULL);
    unburst(c, op);
    if (mv_str(op, "to_mgr")) {
        if (fed_local_request(c, svc_undeploy, "undeploy", mv_str(op, "old"), NULL, res, id,
                              sizeof(id)))
            return -1;
    } else if (instruct(c, mv_str(op, "from_mgr"), "undeploy", op, json_object(), res, id,
                        sizeof(id))) {
        return -1;
    }
    await(op, id, 0);
    return 0;
}

/* ---- rollback ---- */

/* A switch the branch has not acknowledged when its move rolls back is
 * withdrawn: it fails here (its operation with it), so that a channel the
 * branch opens again carries the restore alone, not the switch before it
 * (docs/FEDERATION.md "A cut WAN"). One the branch applied meanwhile is
 * undone by the restore. After the rollback awaits the clone's undeploy,
 * so that the end of the switch's operation is not the move's business. */
static void withdraw(struct core *c, const char *mgr_id, const char *ins_id)
{
    struct fed_mgr *m = hmap_get(&c->fed->mgrs, mgr_id);
    json_t *ins = *ins_id ? core_load(c, STORE_INSTRUCTION, ins_id) : NULL, *pending;

    if (m && ins && strcmp(jv_str(ins, "state", ""), "pending") == 0) {
        pending = json_pack("[O]", ins);
        fed_forget_work(c, m, pending, NULL,
                        "withdrawn: the move rolled back before the branch applied it");
        json_decref(pending);
    }
    json_decref(ins);
}

static void rollback(struct core *c, json_t *op, const char *why)
{
    const char *step = jv_str(mv_of(op), "step", "");
    struct result res = {0};
    char id[32], sw[32] = "", home[32];

    snprintf(home, sizeof(home), "%s", mv_str(op, "home_mgr") ? mv_str(op, "home_mgr") : "");
    if (strcmp(step, "switch") == 0 && mv_str(op, "wait"))
        snprintf(sw, sizeof(sw), "%s", mv_str(op, "wait"));

    doc_set_str(op, "error", why);
    event(c, op, "warn", "rolls back: %s", why);
    if (strcmp(step, "switch") == 0 && mv_str(op, "wait")) {
        /* the switch may reach the branch later: the original's endpoint
         * follows it there (instructions are applied in order) */
        json_t *body = json_pack("{s:s, s:I}", "mode", "local", "port",
                                 (json_int_t)jv_int(mv_of(op), "port", 0));

        if (mv_str(op, "to_mgr")) {
            json_object_set_new(body, "mode", json_string("remote"));
            json_object_set_new(
                body, "backends",
                fed_backends(c, jv_str(op, "deployment", ""), jv_int(mv_of(op), "port", 0)));
        } else if (json_object_get(mv_of(op), "burst")) { /* and its instances in the cloud */
            json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(op, "deployment", ""));
            json_t *b = dep ? fed_burst_backends(c, dep, jv_int(mv_of(op), "port", 0)) : NULL;

            if (b)
                json_object_set_new(body, "burst", b);
            json_decref(dep);
        }
        stage(c, op, "restore", "failed", why);
        instruct(c, mv_str(op, "home_mgr"), "endpoint", op, body, &res, id, sizeof(id));
        result_done(&res);
        stage(c, op, "unclone", "ok", NULL);
    } else {
        stage(c, op, "unclone", "failed", why);
    }
    if (mv_str(op, "to_mgr"))
        instruct(c, mv_str(op, "to_mgr"), "undeploy", op, json_object(), &res, id, sizeof(id));
    else
        fed_local_request(c, svc_undeploy, "undeploy", mv_str(op, "clone"), NULL, &res, id,
                          sizeof(id));
    if (res.status >= 400) {
        stage(c, op, NULL, "failed", jv_str(res.body, "message", "?"));
        result_done(&res);
        finish(c, op, OP_ROLLED_BACK, why);
        withdraw(c, home, sw);
        return;
    }
    result_done(&res);
    doc_set_str(op, "state", op_state_name(OP_ROLLING_BACK));
    await(op, id, 0);
    save(c, op);
    lc_op_changed(c, op);
    withdraw(c, home, sw);
}

/* ---- moving on ---- */

/* What the move does next, now that the operation it waited for ended
 * (ended: its record), or its deadline passed (ended NULL). */
static void advance(struct core *c, json_t *op, const json_t *ended)
{
    const char *step = jv_str(mv_of(op), "step", "");
    bool ok = ended && op_state_of(ended) == OP_COMPLETED;
    struct result res = {0};
    char why[512];

    if (op_state_of(op) == OP_ROLLING_BACK) { /* the clone's undeploy ended */
        /* the clone gone, or left (the stage says why) */
        stage(c, op, NULL, ok ? "ok" : "failed",
              ok ? NULL : jv_str(ended, "error", "its undeploy did not complete"));
        finish(c, op, OP_ROLLED_BACK, doc_str(op, "error"));
        return;
    }
    if (!ended && strcmp(step, "drain")) { /* the switch's deadline */
        snprintf(why, sizeof(why),
                 "the branch's manager did not apply the endpoint switch within %d s",
                 SWITCH_MS / 1000);
        rollback(c, op, why);
        return;
    }
    if (ended && !ok && strcmp(step, "undeploy")) {
        snprintf(why, sizeof(why), "%s %s: %s", step, op_state_name(op_state_of(ended)),
                 jv_str(ended, "error", "no reason given"));
        if (strcmp(step, "clone") == 0 && mv_str(op, "to_mgr") &&
            !doc_str(ended, "branch_operation")) {
            /* the branch refused the clone: nothing of it to undo there (and
             * a deployment of that name it may have is not the clone) */
            stage(c, op, NULL, "failed", why);
            finish(c, op, OP_ROLLED_BACK, why);
            return;
        }
        rollback(c, op, why);
        return;
    }
    if (strcmp(step, "clone") == 0) {
        stage(c, op, NULL, "ok", NULL);
        if (step_switch(c, op, &res)) {
            rollback(c, op, jv_str(res.body, "message", "the switch was refused"));
            goto out;
        }
    } else if (strcmp(step, "switch") == 0) {
        commit_switch(c, op);
        step_drain(c, op);
    } else if (strcmp(step, "drain") == 0) {
        if (step_undeploy(c, op, &res)) {
            finish(c, op, OP_FAILED, jv_str(res.body, "message", "the undeploy was refused"));
            goto out;
        }
    } else if (strcmp(step, "undeploy") == 0) {
        if (!ok) {
            snprintf(why, sizeof(why),
                     "the clone serves, but the original's undeploy %s: %s; undeploy it at %s",
                     op_state_name(op_state_of(ended)), jv_str(ended, "error", "?"),
                     jv_str(op, "from", "?"));
            finish(c, op, OP_FAILED, why);
            goto out;
        }
        finish(c, op, OP_COMPLETED, NULL);
        goto out;
    }
    save(c, op);
    lc_op_changed(c, op);
out:
    result_done(&res);
}

/* The end of an operation a move waits for (an observer of the lifecycle,
 * in the transaction of that end). */
static void on_op_ended(struct core *c, const json_t *ended)
{
    struct fed *f = c->fed;
    const char *id = jv_str(ended, "id", "");
    struct hmap_entry *e;
    size_t i;

    if (!f || !f->cloud || strcmp(jv_str(ended, "type", ""), "move") == 0)
        return;
    for (e = hmap_first(&f->moves, &i); e; e = hmap_next(&f->moves, e, &i)) {
        struct mv_rt *rt = e->value;

        if (strcmp(rt->wait, id) == 0) {
            json_t *op = core_load(c, STORE_OP, e->key);

            if (op && strcmp(mv_str(op, "wait") ? mv_str(op, "wait") : "", id) == 0)
                advance(c, op, ended);
            json_decref(op);
            return;
        }
    }
}

/* A deployment of the cloud's own that has an endpoint at a branch (it
 * moved here) is gone: the endpoint goes too. */
static void on_dep_deleted(struct core *c, const json_t *dep)
{
    const json_t *ep = json_object_get(dep, "_endpoint");
    struct result res = {0};
    char id[32];
    json_t *op;

    if (!c->fed || !c->fed->cloud || !ep || doc_str(dep, "manager") || doc_str(dep, "move_of"))
        return;
    op = json_pack("{s:s, s:s?}", "deployment", jv_str(dep, "id", ""), "tenant",
                   doc_str(dep, "tenant"));
    if (instruct(c, jv_str(ep, "manager", ""), "endpoint", op, json_pack("{s:b}", "remove", 1),
                 &res, id, sizeof(id)))
        log_warn("fed: the endpoint of %s at site %s stays: %s", jv_str(dep, "id", ""),
                 jv_str(ep, "site", "?"), jv_str(res.body, "message", "?"));
    result_done(&res);
    json_decref(op);
}

const struct lc_observer fed_move_observer = {
    .name = "move",
    .op_ended = on_op_ended,
    .dep_deleted = on_dep_deleted,
};

void fed_move_tick(struct core *c)
{
    struct fed *f = c->fed;
    int64_t now = wall_ms();
    struct hmap_entry *e, *next;
    size_t i;
    bool open = false;

    for (e = hmap_first(&f->moves, &i); e; e = next) {
        struct mv_rt *rt = e->value;
        json_t *op;

        next = hmap_next(&f->moves, e, &i);
        if (!rt->deadline_ms || rt->deadline_ms > now)
            continue;
        if (!open && core_tx_begin(c) == 0)
            open = true;
        rt->deadline_ms = 0;
        if ((op = core_load(c, STORE_OP, e->key)))
            advance(c, op, NULL);
        json_decref(op);
        break; /* the table may have changed */
    }
    if (open)
        core_tx_commit(c);
}

/* ---- starting one ---- */

static int refuse(struct result *res, int status, const char *reason, const char *field,
                  const char *fmt, const char *a, const char *b)
{
    return result_fail(res, status, reason, field ? "field" : NULL, field, fmt, a, b ? b : "");
}

/* The VNFD's placement (docs/FEDERATION.md: branch-only, cloud-allowed,
 * prefer-branch; cloud-allowed when it says nothing) allows site. */
static int check_placement(struct core *c, const json_t *vnfd, bool to_branch, struct result *res)
{
    const char *p = jv_str(vnfd, "placement", "cloud-allowed");

    (void)c;
    if (!to_branch && strcmp(p, "branch-only") == 0)
        return refuse(res, 409, "conflict", "placement",
                      "placement: VNFD '%s' is branch-only: it may not run at a site of the "
                      "cloud%s",
                      jv_str(vnfd, "id", "?"), NULL);
    return 0;
}

json_t *fed_descriptor(struct core *c, const json_t *dep)
{
    json_t *rec;

    if (json_object_get(dep, "_descriptor"))
        return json_incref(json_object_get(dep, "_descriptor"));
    rec = core_load(c, STORE_VNFD, jv_str(dep, "vnfd", ""));
    if (!rec)
        return NULL;
    json_t *d = json_incref(json_object_get(rec, "descriptor"));
    json_decref(rec);
    return d;
}

/* 409 naming the operation that runs on dep: its own, or one of the
 * cloud's that a branch has not started yet (an instruction on its way). */
static int busy(struct core *c, const json_t *dep, struct result *res, const char *obj)
{
    struct store_where w = {"deployment", jv_str(dep, "id", ""), false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *op, *found = NULL;
    size_t i;
    int r = 0;

    if (doc_str(dep, "operation"))
        found = core_load(c, STORE_OP, doc_str(dep, "operation"));
    if (!found && store_list(c->st, STORE_OP, &o, &list) == 0) {
        json_array_foreach(list, i, op)
        {
            if (!found && !op_final(op))
                found = json_incref(op);
        }
    }
    if (found || doc_str(dep, "operation"))
        r = result_fail(res, 409, "conflict", "object", obj,
                        "deployment '%s' is busy with operation %s (%s); try again when it ends",
                        jv_str(dep, "id", ""),
                        found ? jv_str(found, "id", "?") : doc_str(dep, "operation"),
                        found ? jv_str(found, "type", "?") : "?");
    json_decref(found);
    json_decref(list);
    return r;
}

static int checks(struct core *c, const struct fed_move_req *rq, const json_t *dep,
                  const json_t *vnfd, struct result *res)
{
    const char *from = jv_str(dep, "site", ""), *to = rq->site;
    json_t *site = core_load(c, STORE_SITE, to);
    bool to_branch = site && site_is_branch(site), from_branch = is_branch(c, from);
    char obj[96], change[160];

    json_decref(site);
    snprintf(obj, sizeof(obj), "deployment/%s", rq->dep);
    if (!site)
        return refuse(res, 404, "not-found", "site", "site: site '%s' not found%s", to, NULL);
    if (strcmp(from, to) == 0)
        return refuse(res, 409, "conflict", "site", "site: deployment '%s' is at site %s already",
                      rq->dep, to);
    if (from_branch == to_branch)
        return refuse(res, 422, "invalid-value", "site",
                      "site: a move goes from a branch to a site of the cloud or back; %s and "
                      "%s are not",
                      from, to);
    if (doc_str(dep, "burst_of")) /* whether busy or not */
        return refuse(res, 409, "conflict", "burst",
                      "burst: deployment '%s' is the instances in the cloud of branch deployment "
                      "%s (docs/FEDERATION.md \"Bursting into the cloud\"): they move with it",
                      rq->dep, doc_str(dep, "burst_of"));
    if (busy(c, dep, res, obj))
        return -1;
    if (fed_burst_change(c, dep, change, sizeof(change)))
        return refuse(res, 409, "conflict", "burst",
                      "burst: the instances in the cloud of deployment '%s' are changing (%s); "
                      "try again when that ends",
                      rq->dep, change);
    if (dep_status_of(dep) != DEP_ACTIVE && dep_status_of(dep) != DEP_DEGRADED)
        return result_fail(res, 409, "conflict", "object", obj,
                           "deployment '%s' is %s: only an active or degraded deployment moves",
                           rq->dep, jv_str(dep, "status", "?"));
    if (!to_branch && !doc_str(dep, "service_endpoint"))
        return refuse(res, 409, "conflict", "service_endpoint",
                      "service_endpoint: branch site %s keeps no service endpoint for this "
                      "deployment (its manager needs --service-address): its clients could not "
                      "follow it%s",
                      from, NULL);
    if (!vnfd)
        return refuse(res, 409, "conflict", "vnfd",
                      "vnfd: the cloud has no VNFD '%s' to deploy the clone from; onboard it "
                      "here first%s",
                      jv_str(dep, "vnfd", "?"), NULL);
    if (fed_service_port(vnfd) == 0)
        return refuse(res, 409, "conflict", "vnfd",
                      "vnfd: VNFD '%s' declares no service port (ready.http.port or ready.tcp of "
                      "a VDU): its endpoint cannot follow a move%s",
                      jv_str(vnfd, "id", "?"), NULL);
    return check_placement(c, vnfd, to_branch, res);
}

/* Where the endpoint lives and what the move needs of the managers; 0, or
 * -1 with res set. */
static int plan(struct core *c, const struct fed_move_req *rq, const json_t *dep, json_t *mv,
                struct result *res)
{
    struct fed *f = c->fed;
    bool to_branch = is_branch(c, rq->site);
    const json_t *ep = json_object_get(dep, "_endpoint");
    const char *home = to_branch ? jv_str(ep, "site", rq->site) : jv_str(dep, "site", "");
    struct fed_mgr *hm, *tm = NULL;
    char rnd[16], clone[KEY_BUF_MAX];

    if (to_branch && strcmp(home, rq->site))
        return refuse(res, 409, "conflict", "site",
                      "site: the service endpoint of this deployment is at branch %s: it moves "
                      "back there only, not to %s",
                      home, rq->site);
    if (!(hm = fed_site_manager(f, res, home)))
        return -1;
    if (to_branch)
        tm = hm;
    id_random(rnd, "mv-", 10);
    id_scoped(clone, doc_str(dep, "tenant"), rnd); /* its tenant's name (core/names.h) */
    /* at a branch the clone takes the deployment's name; at the cloud it
     * has one of its own until the switch, and the original then steps
     * aside under that one */
    json_object_set_new(mv, "clone", json_string(to_branch ? rq->dep : clone));
    json_object_set_new(mv, "old", to_branch ? json_string(clone) : json_null());
    json_object_set_new(mv, "home", json_string(home));
    json_object_set_new(mv, "home_mgr", json_string(hm->id));
    json_object_set_new(mv, "to_mgr", tm ? json_string(tm->id) : json_null());
    json_object_set_new(mv, "from_mgr",
                        to_branch ? json_null() : json_string(jv_str(dep, "manager", "")));
    if (json_object_get(dep, "burst")) { /* to the cloud: the clone takes its instances too */
        const json_t *bu = json_object_get(dep, "burst");

        json_object_set_new(
            mv, "burst",
            json_pack("{s:s, s:s, s:I}", "deployment", jv_str(bu, "deployment", ""), "vdu",
                      jv_str(bu, "vdu", ""), "instances",
                      (json_int_t)fed_burst_instances(c, dep, jv_str(bu, "vdu", ""))));
    }
    return 0;
}

int fed_move_begin(struct core *c, const struct fed_move_req *rq, struct result *res,
                   json_t **op_out)
{
    struct fed *f = c->fed;
    json_t *dep, *vnfd = NULL, *op = NULL, *mv;
    int r = -1;

    if (!f || !f->cloud)
        return result_fail(res, 409, "not-a-cloud", NULL, NULL,
                           "moves are the cloud VNFM's: start it with --role cloud");
    dep = core_load(c, STORE_DEPLOYMENT, rq->dep);
    if (!dep || (rq->who && !principal_owns(rq->who, doc_str(dep, "tenant")))) {
        result_not_found(res, "deployment", rq->dep);
        goto out;
    }
    vnfd = fed_descriptor(c, dep);
    if (checks(c, rq, dep, vnfd, res))
        goto out;
    mv = json_pack("{s:s, s:I, s:I, s:n, s:I, s:s?}", "step", "clone", "drain_ms",
                   (json_int_t)(rq->drain_ms >= 0 ? rq->drain_ms : DRAIN_MS_DEFAULT), "port",
                   (json_int_t)fed_service_port(vnfd), "wait", "deadline_ms", (json_int_t)0,
                   "endpoint", doc_str(dep, "service_endpoint"));
    if (plan(c, rq, dep, mv, res)) {
        json_decref(mv);
        goto out;
    }
    {
        char id[32];

        id_random(id, "op-", 12);
        op = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:O?, s:b, s:[], s:n, s:o}", "id",
                       id, "deployment", rq->dep, "tenant", doc_str(dep, "tenant"), "type", "move",
                       "state", op_state_name(OP_PROCESSING), "site", rq->site, "from",
                       jv_str(dep, "site", ""), "to", rq->site, "why", rq->why, "automatic",
                       rq->why != NULL, "stages", "error", "_move", mv);
    }
    if (!rq->why)
        json_object_set_new(op, "why", json_pack("{s:s}", "reason", "asked by an operator"));
    /* the members every operation has (docs/api/openapi.yaml Operation) */
    json_object_update_new(
        op, json_pack("{s:{s:s, s:f}, s:[], s:i, s:s?, s:n, s:n}", "params", "site", rq->site,
                      "drain_s", jv_int(mv, "drain_ms", DRAIN_MS_DEFAULT) / 1000.0, "vis",
                      "attempt", 1, "client_transaction_id", rq->ctid, "callback", "finished"));
    doc_touch(op, "created");
    lc_op_started(c, op, dep);
    if (step_clone(c, op, dep, res))
        goto out;
    if (save(c, op)) {
        result_fail(res, 503, "unavailable", NULL, NULL, "cannot write the operation: %s",
                    store_errmsg(c->st));
        untrack(f, doc_str(op, "id"));
        goto out;
    }
    json_object_set_new(dep, "operation", json_string(doc_str(op, "id")));
    doc_set_str(dep, "_move_op", doc_str(op, "id"));
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
    dep_move_info(c, op, "processing", false);
    event(c, op, "info", "started (%s)",
          jv_str(json_object_get(op, "why"), "reason", "a decision"));
    *op_out = json_incref(op);
    r = 0;
out:
    json_decref(op);
    json_decref(vnfd);
    json_decref(dep);
    return r;
}

/* POST /v0/deployments/{id}/move */
void fed_move_apply(struct core *c, struct txn *t)
{
    const json_t *drain = json_object_get(t->body, "drain_s");
    struct fed_move_req rq = {
        .dep = t->args[0],
        .site = jv_str(t->body, "site", ""),
        .who = &t->who,
        .ctid = t->client_txn_id,
        .drain_ms = drain ? (int)(json_number_value(drain) * 1000) : -1,
    };
    json_t *op;

    if (fed_move_begin(c, &rq, &t->res, &op))
        return;
    snprintf(t->res.location, sizeof(t->res.location), "/v0/operations/%s", doc_str(op, "id"));
    result_ok(&t->res, 202, doc_public(op));
    json_decref(op);
}

/* ---- start-up and the end ---- */

void fed_move_resume(struct core *c)
{
    struct store_where w = {"type", "move", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &list))
        return;
    json_array_foreach(list, i, op)
    {
        int s = op_state_of(op);

        if (s != OP_PROCESSING && s != OP_ROLLING_BACK)
            continue;
        track(c->fed, op);
        log_info("fed: move %s of %s resumes at its %s", jv_str(op, "id", ""),
                 jv_str(op, "deployment", ""), jv_str(mv_of(op), "step", "?"));
    }
    json_decref(list);
    /* what it waited for may have ended while it was down (the cloud's own
     * operations resume with the engine and tell their end again) */
}

void fed_move_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->moves, &i); e; e = hmap_next(&f->moves, e, &i))
        free(e->value);
    hmap_done(&f->moves);
}
