/* Handing deployments over between the managers of one branch site, their
 * VNF processes kept (same pids): after a scale out, part of the
 * overloaded manager's deployments go to the manager it started; before a
 * scale in, the deployments of the manager to stop go back to its parent
 * (docs/FEDERATION.md "Handover"; issue 12, FIG. 4A and 5B).
 *
 * Two sides, each with a record in its own store that survives a kill -9:
 *
 * - the giver marks the deployment `_handover` {to, job} ("out"): from
 *   then on it neither watches its VIs nor monitors it nor starts an
 *   operation on it (409), and answers with the deployment's records (the
 *   deployment, its VIs, its latest operations and decisions: the rules'
 *   cooldowns start from those, its VNFD and tenant);
 * - the taker writes those records with `_handover` {from, job} ("in"):
 *   they are not its own yet (not watched, monitored nor reported);
 * - the VIs' names on the host move from the giver's to the taker's
 *   (vim_ops.move: namespace, cgroups, directory; the processes untouched);
 * - the taker lets go of `_handover` ("commit"): the deployment is its own
 *   from this transaction on; it watches its VIs (a VNF that died in
 *   between is restarted at once) and reports it with `handed_from`;
 * - the giver deletes its records ("release") and keeps `fed_given` (the
 *   cloud's mirror follows the new owner), and holds the VIs' addresses of
 *   its subnet (site `_held_ips`) while they run elsewhere.
 *
 * So a deployment is never active at two managers, and always recorded at
 * one at least: the giver until the taker committed, the taker after.
 * Every step is idempotent; a step that fails before "commit" is undone
 * (names moved back, the taker's records dropped, the giver's `_handover`
 * cleared). The parent of the two managers (the one that started the
 * other, fed/spawn.c) drives every handover, at the cloud's instruction
 * `handover`, over the managers' local REST API (/fed/v1/handover/...,
 * admin) with the admin token it holds; its job is kept in
 * DATA_DIR/handovers.json, written after every step, and resumed at its
 * start. */
#include "fed/fed_internal.h"
#include "lcm/lifecycle.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "core/runas.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"
#include "vim/vim.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define META_GIVEN   "fed_given"
#define GIVEN_KEPT   64
#define STEP_MS      10000
#define RETRY_MS     100
#define RETRY_MAX_MS 180000 /* a side that does not answer for that long fails the deployment */
#define JOBS_KEPT    16
#define ANSWER_MAX   (8 << 20)
#define OPS_CARRIED  20
#define DECS_CARRIED 50

/* ---- the records, on each side (routes under /fed/v1/handover) ---- */

static json_t *list_where(struct core *c, enum store_kind k, const char *col, const char *val,
                          unsigned limit)
{
    struct store_where w = {col, val, false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = limit, .newest_first = true};
    json_t *out = NULL;

    if (store_list(c->st, k, &o, &out))
        return json_array();
    return out;
}

static void watch_vis(struct core *c, const char *dep)
{
    json_t *vis = list_where(c, STORE_VI, "deployment", dep, 0), *vi;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        struct site_rt *site = site_get(c, doc_str(vi, "site"));
        struct vi_handle h;

        if (vi_state_of(vi) != VIS_RUNNING || !site || !site->vim)
            continue;
        vi_handle_from_doc(vi, &h);
        lc_watch_vi(c, vi, site->ops->exit_fd ? site->ops->exit_fd(site->vim, &h) : -1);
    }
    json_decref(vis);
}

/* The uids dep's VIs run as: this manager's claims from now on. */
static void take_uids(struct core *c, const char *dep)
{
    json_t *vis = list_where(c, STORE_VI, "deployment", dep, 0), *vi;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        if (doc_int(vi, "_uid", 0) > 0)
            runas_take(c, (uid_t)doc_int(vi, "_uid", 0));
    }
    json_decref(vis);
}

static void dep_event(struct core *c, const char *dep, const char *result, const char *fmt,
                      const char *a, const char *b)
{
    char obj[16 + KEY_BUF_MAX];

    snprintf(obj, sizeof(obj), "deployment/%s", dep);
    core_event(c, "info", "fed", "handover",
               json_pack("{s:s, s:s, s:s}", "object", obj, "deployment", dep, "result", result),
               fmt, id_name(dep), a, b);
}

/* The addresses of dep's VIs in site's subnet, held (add) or let go. */
static void hold_ips(struct core *c, const json_t *vis, bool add)
{
    json_t *site = core_load(c, STORE_SITE, c->cfg->site), *held;
    const json_t *vi;
    size_t i;

    if (!site)
        return;
    held = json_object_get(site, "_held_ips");
    if (!json_is_object(held)) {
        held = json_object();
        json_object_set_new(site, "_held_ips", held);
    }
    json_array_foreach(vis, i, vi)
    {
        if (!doc_str(vi, "ip"))
            continue;
        if (add)
            json_object_set_new(held, doc_str(vi, "ip"), json_string(doc_str(vi, "id")));
        else
            json_object_del(held, doc_str(vi, "ip"));
    }
    store_put(c->st, STORE_SITE, site);
    json_decref(site);
}

/* The operation in flight on dep goes with it: it stops running here at
 * the end of its step, and the taker runs it on from there at "commit".
 * True (t's answer set) when it cannot go yet (503: its step's work is
 * still in flight, the driver asks again) or at all (409: a step still to
 * run makes VIs). A paused one (failed_temp) goes as it is. */
static bool park(struct core *c, struct txn *t, const json_t *dep)
{
    const char *id = doc_str(dep, "id"), *op_id = doc_str(dep, "operation");
    json_t *op = core_load(c, STORE_OP, op_id);
    bool stays = false;

    if (op && lc_op_creates_vis(op)) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "deployment '%s' is busy with operation %s (%s), which still makes VIs: not "
                    "handed over",
                    id_name(id), op_id, doc_str(op, "type"));
        stays = true;
    } else if (op && lc_op_park(c, op_id)) {
        result_fail(&t->res, 503, "unavailable", "object", id,
                    "operation %s of deployment '%s' is ending its stage %s; ask again", op_id,
                    id_name(id), doc_str(op, "stage"));
        stays = true;
    }
    json_decref(op);
    return stays;
}

/* "out": the giver lets the deployment rest and hands its records. */
static void give_out(struct core *c, struct txn *t)
{
    const char *id = t->args[0], *to = jv_str(t->body, "to", "");
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *vis, *h, *bundle, *vi, *k;
    struct site_rt *site;
    size_t i;

    if (!dep) {
        result_not_found(&t->res, "deployment", id);
        return;
    }
    h = json_object_get(dep, "_handover");
    if (h && strcmp(jv_str(h, "to", ""), to)) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "deployment '%s' is being handed over %s %s already", id_name(id),
                    jv_str(h, "to", NULL) ? "to" : "from", jv_str(h, "to", jv_str(h, "from", "?")));
        goto out;
    }
    site = site_get(c, doc_str(dep, "site"));
    if (!h && (!site || !site->ops || !site->ops->move)) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "the VIM of site %s (%s) cannot hand a running VI to another manager: "
                    "deployment '%s' stays",
                    doc_str(dep, "site"), site && site->ops ? site->ops->name : "none",
                    id_name(id));
        goto out;
    }
    if (!h && doc_str(dep, "operation") && park(c, t, dep))
        goto out;
    vis = list_where(c, STORE_VI, "deployment", id, 0);
    if (!h) {
        json_object_set_new(
            dep, "_handover",
            json_pack("{s:s, s:s, s:s}", "to", to, "job", jv_str(t->body, "job", ""), "since", ""));
        doc_touch(json_object_get(dep, "_handover"), "since");
        store_put(c->st, STORE_DEPLOYMENT, dep);
        json_array_foreach(vis, i, vi) lc_unwatch_vi(c, doc_str(vi, "id"));
        dep_event(c, id, "giving", "%s: handing over to manager %s%s", to, "");
        fed_report_soon(c->fed);
    }
    bundle =
        json_pack("{s:O, s:O, s:o, s:o, s:{s:s, s:s, s:s}, s:s}", "deployment", dep, "vis", vis,
                  "operations", list_where(c, STORE_OP, "deployment", id, OPS_CARRIED), "decisions",
                  list_where(c, STORE_DECISION, "deployment", id, DECS_CARRIED), "from", "manager",
                  c->fed->mgr_id ? c->fed->mgr_id : "", "tag", c->tag, "data_dir", c->cfg->data_dir,
                  "driver", site && site->ops ? site->ops->name : "");
    if ((k = core_load(c, STORE_VNFD, doc_str(dep, "vnfd"))))
        json_object_set_new(bundle, "vnfd", k);
    if ((k = core_load(c, STORE_TENANT, doc_str(dep, "tenant"))))
        json_object_set_new(bundle, "tenant", k);
    result_ok(&t->res, 200, bundle);
    json_decref(vis);
out:
    json_decref(dep);
}

static void put_missing(struct core *c, enum store_kind k, const json_t *doc)
{
    json_t *have;

    if (!doc_str(doc, "id"))
        return;
    if (!(have = core_load(c, k, doc_str(doc, "id"))))
        store_put(c->st, k, doc);
    json_decref(have);
}

/* Records that dep went to manager to (the reports tell the cloud), or
 * (to NULL) that it came back. */
static void given_set(struct core *c, const char *dep, const char *to)
{
    json_t *all = fed_handed_over(c);
    char *text;

    if (!to && !json_object_get(all, dep)) {
        json_decref(all);
        return;
    }
    json_object_del(all, dep); /* the newest last */
    if (to)
        json_object_set_new(all, dep, json_string(to));
    while (json_object_size(all) > GIVEN_KEPT) /* oldest first (insertion order) */
        json_object_del(all, json_object_iter_key(json_object_iter(all)));
    text = json_dumps(all, JSON_COMPACT);
    store_meta_set(c->st, META_GIVEN, text);
    free(text);
    json_decref(all);
}

/* The tenant, when this manager lacks it, with a uid of its own here (its
 * scripts run as it; the giver's stays the giver's). */
static void tenant_missing(struct core *c, const json_t *tenant)
{
    json_t *have = core_load(c, STORE_TENANT, doc_str(tenant, "id")), *copy;
    uid_t uid;

    if (!have && doc_str(tenant, "id")) {
        copy = json_deep_copy(tenant);
        if (doc_int(copy, "_uid", 0) && runas_claim(c, &uid) == 0)
            doc_set_int(copy, "_uid", uid);
        store_put(c->st, STORE_TENANT, copy);
        json_decref(copy);
    }
    json_decref(have);
}

static json_t *taker_answer(struct core *c, const char *state)
{
    return json_pack("{s:s, s:s, s:s}", "state", state, "tag", c->tag, "data_dir",
                     c->cfg->data_dir);
}

/* "in": the taker writes the records, not its own yet. */
static void take_in(struct core *c, struct txn *t)
{
    const char *id = t->args[0];
    const json_t *from = json_object_get(t->body, "from"),
                 *src = json_object_get(t->body, "deployment"), *x;
    const char *giver = jv_str(from, "manager", "");
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *copy, *vis;
    size_t i;

    if (!src || strcmp(doc_str(src, "id") ? doc_str(src, "id") : "", id) || !*giver) {
        result_fail(&t->res, 400, "bad-request", "field", "deployment",
                    "a handover needs the deployment's records and the giver");
        goto out;
    }
    if (dep) {
        const json_t *h = json_object_get(dep, "_handover");

        if (h && strcmp(jv_str(h, "from", ""), giver) == 0)
            result_ok(&t->res, 200, taker_answer(c, "taking"));
        else if (!h &&
                 strcmp(jv_str(json_object_get(dep, "handed_from"), "manager", ""), giver) == 0)
            result_ok(&t->res, 200, taker_answer(c, "taken"));
        else
            result_fail(&t->res, 409, "conflict", "object", id,
                        "this manager has a deployment '%s' of its own", id_name(id));
        goto out;
    }
    tenant_missing(c, json_object_get(t->body, "tenant"));
    put_missing(c, STORE_VNFD, json_object_get(t->body, "vnfd"));
    /* the giver's records of its operations are the latest (one may be in
     * flight): they replace those this manager kept from an earlier turn */
    json_array_foreach(json_object_get(t->body, "operations"), i, x)
    {
        if (doc_str(x, "id"))
            store_put(c->st, STORE_OP, x);
    }
    json_array_foreach(json_object_get(t->body, "decisions"), i, x)
        put_missing(c, STORE_DECISION, x);
    vis = json_array();
    json_array_foreach(json_object_get(t->body, "vis"), i, x)
    {
        json_t *vi = json_deep_copy(x);

        doc_set_str(vi, "site", c->cfg->site);
        store_put(c->st, STORE_VI, vi);
        json_array_append_new(vis, vi);
    }
    hold_ips(c, vis, false); /* coming back: its addresses are its own again */
    given_set(c, id, NULL);
    json_decref(vis);
    copy = json_deep_copy(src);
    doc_set_str(copy, "site", c->cfg->site);
    json_object_del(copy, "handed_from");
    /* the turn counts the handovers of the deployment: the cloud takes a
     * report naming an older one for a late report of an earlier owner */
    json_object_set_new(
        copy, "_handover",
        json_pack("{s:s, s:s, s:O, s:I}", "from", giver, "job",
                  jv_str(json_object_get(src, "_handover"), "job", ""), "giver", from, "turn",
                  (json_int_t)jv_int(json_object_get(src, "handed_from"), "turn", 0) + 1));
    store_put(c->st, STORE_DEPLOYMENT, copy);
    json_decref(copy);
    dep_event(c, id, "taking", "%s: taking it over from manager %s%s", giver, "");
    result_ok(&t->res, 201, taker_answer(c, "taking"));
out:
    json_decref(dep);
}

/* The operation dep is bound to, run on from its step here (after the
 * transaction commits). */
static void resume_op(struct core *c, const json_t *dep, const char *after, const char *mgr)
{
    json_t *op = core_load(c, STORE_OP, doc_str(dep, "operation"));
    char *why = xasprintf("%s %s", after, mgr);

    if (op)
        lc_op_resume(c, op, why);
    free(why);
    json_decref(op);
}

/* "commit": the deployment is the taker's from this transaction on. */
static void take_commit(struct core *c, struct txn *t)
{
    const char *id = t->args[0];
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id);
    const json_t *h = json_object_get(dep, "_handover");
    char giver[64];

    if (!dep) {
        result_not_found(&t->res, "deployment", id);
        return;
    }
    if (!h || !jv_str(h, "from", NULL)) {
        result_ok(&t->res, 200, taker_answer(c, h ? "giving" : "taken"));
        json_decref(dep);
        return;
    }
    snprintf(giver, sizeof(giver), "%s", jv_str(h, "from", ""));
    json_object_set_new(dep, "handed_from",
                        json_pack("{s:s, s:s, s:I}", "manager", giver, "at", "", "turn",
                                  (json_int_t)jv_int(h, "turn", 1)));
    doc_touch(json_object_get(dep, "handed_from"), "at");
    json_object_del(dep, "_handover");
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
    take_uids(c, id);
    watch_vis(c, id); /* a VNF that ended meanwhile is restarted now */
    lc_restart_rearm(c, id, "not running when it was handed over"); /* backoffs go on */
    resume_op(c, dep, "a handover from manager", giver);
    fed_endpoint_refresh(c, id);
    dep_event(c, id, "taken", "%s: taken over from manager %s, its VNF processes kept%s", giver,
              "");
    fed_report_soon(c->fed);
    result_ok(&t->res, 200, taker_answer(c, "taken"));
    json_decref(dep);
}

json_t *fed_handed_over(struct core *c)
{
    char *text = NULL;
    json_t *all = NULL;

    if (store_meta_get(c->st, META_GIVEN, &text) == 0)
        all = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(all)) {
        json_decref(all);
        all = json_object();
    }
    return all;
}

/* "release": the giver deletes its records; the taker runs it. */
static void give_release(struct core *c, struct txn *t)
{
    const char *id = t->args[0];
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *vis, *vi;
    const json_t *h = json_object_get(dep, "_handover");
    char to[64];
    size_t i;

    if (!dep) {
        result_ok(&t->res, 200, json_pack("{s:s}", "state", "released"));
        return;
    }
    if (!h || !jv_str(h, "to", NULL)) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "deployment '%s' is not being handed over from here", id_name(id));
        json_decref(dep);
        return;
    }
    snprintf(to, sizeof(to), "%s", jv_str(h, "to", ""));
    vis = list_where(c, STORE_VI, "deployment", id, 0);
    hold_ips(c, vis, true);
    json_array_foreach(vis, i, vi) store_delete(c->st, STORE_VI, doc_str(vi, "id"));
    if (doc_str(dep, "operation")) /* the taker runs it (or decides on it) now */
        store_delete(c->st, STORE_OP, doc_str(dep, "operation"));
    store_delete(c->st, STORE_DEPLOYMENT, id);
    given_set(c, id, to);
    fed_endpoint_refresh(c, id);
    dep_event(c, id, "given", "%s: handed over to manager %s%s", to, "");
    fed_report_soon(c->fed);
    result_ok(&t->res, 200, json_pack("{s:s}", "state", "released"));
    json_decref(vis);
    json_decref(dep);
}

/* "abort": the giver keeps it after all. */
static void give_abort(struct core *c, struct txn *t)
{
    const char *id = t->args[0];
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id);

    if (dep && jv_str(json_object_get(dep, "_handover"), "to", NULL)) {
        char to[64];

        snprintf(to, sizeof(to), "%s", jv_str(json_object_get(dep, "_handover"), "to", ""));
        json_object_del(dep, "_handover");
        store_put(c->st, STORE_DEPLOYMENT, dep);
        watch_vis(c, id);
        lc_restart_rearm(c, id, "not running when its handover was undone");
        resume_op(c, dep, "an undone handover to manager", to);
        dep_event(c, id, "kept", "%s: not handed over after all (%s)%s",
                  jv_str(t->body, "reason", "?"), "");
        fed_report_soon(c->fed);
    }
    result_ok(&t->res, 200, json_pack("{s:s}", "state", dep ? "kept" : "none"));
    json_decref(dep);
}

/* "drop": the taker forgets records it had not taken yet. */
static void take_drop(struct core *c, struct txn *t)
{
    const char *id = t->args[0];
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *vis, *vi;
    size_t i;

    if (dep && jv_str(json_object_get(dep, "_handover"), "from", NULL)) {
        vis = list_where(c, STORE_VI, "deployment", id, 0);
        json_array_foreach(vis, i, vi) store_delete(c->st, STORE_VI, doc_str(vi, "id"));
        if (doc_str(dep, "operation")) /* the giver's again */
            store_delete(c->st, STORE_OP, doc_str(dep, "operation"));
        store_delete(c->st, STORE_DEPLOYMENT, id);
        json_decref(vis);
    }
    result_ok(&t->res, 200, json_pack("{s:s}", "state", "dropped"));
    json_decref(dep);
}

void fed_handover_route(struct core *c, struct txn *t)
{
    static const struct {
        const char *step;
        txn_apply_fn fn;
    } steps[] = {{"out", give_out},         {"in", take_in},       {"commit", take_commit},
                 {"release", give_release}, {"abort", give_abort}, {"drop", take_drop}};
    const char *step = jv_str(t->body, "step", "");

    if (!c->fed || c->fed->cloud || !c->cfg->cloud_url) {
        result_fail(&t->res, 409, "conflict", NULL, NULL,
                    "handovers are between the managers of a branch site");
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
        if (strcmp(step, steps[i].step) == 0) {
            json_object_del(t->body, "step");
            steps[i].fn(c, t);
            return;
        }
    result_fail(&t->res, 400, "invalid-value", "field", "step", "unknown step '%s'", step);
}

/* ---- the driver: the parent of the two managers ---- */

/* Where manager mgr listens and its admin token ("" when unknown): this
 * manager itself, or one it started. */
static bool side_of(struct fed *f, const char *mgr, char *url, size_t ulen, char *tok, size_t tlen)
{
    const struct config *cfg = f->c->cfg;
    const char *host = strcmp(cfg->listen_host, "0.0.0.0") ? cfg->listen_host : "127.0.0.1";
    char *dir = NULL, *path, *text = NULL;
    unsigned port = 0;

    *tok = '\0';
    if (f->mgr_id && strcmp(mgr, f->mgr_id) == 0) {
        port = cfg->listen_port;
        dir = xstrdup(cfg->data_dir);
    } else if (fed_child_addr(f, mgr, &port, &dir) < 0) {
        return false;
    }
    /* a manager with --tls-cert speaks HTTPS only, and so do those it
     * starts (they get its certificate and key): see call() for the trust */
    snprintf(url, ulen, "%s://%s:%u/fed/v1/handover/", cfg->tls_cert ? "https" : "http", host,
             port);
    if (cfg->admin_token) { /* the one of the parent, given to every manager it starts */
        snprintf(tok, tlen, "%s", cfg->admin_token);
    } else {
        path = xasprintf("%s/admin.token", dir);
        if (read_file(path, 256, &text, NULL) == 0)
            snprintf(tok, tlen, "%s", text);
        tok[strcspn(tok, "\r\n")] = '\0';
        free(text);
        free(path);
    }
    free(dir);
    return port && *tok;
}

/* One step at manager mgr: the HTTP status (0: no answer; err says why)
 * and the answer in *answer. body is taken. Over HTTPS the other side is
 * trusted when it holds this manager's own key (pinned), whatever names
 * its certificate gives: both sides run on this host with that key. */
static long call(struct fed *f, const char *mgr, const char *dep, json_t *body, json_t **answer,
                 char *err, size_t len)
{
    char url[256], tok[160], auth[200], *text, *u;
    const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
    struct httpc_resp resp = {0};
    long status = 0;

    *answer = NULL;
    if (!side_of(f, mgr, url, sizeof(url), tok, sizeof(tok))) {
        snprintf(err, len, "manager %s: not this one, nor one it started and runs", mgr);
        json_decref(body);
        return 0;
    }
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    u = xasprintf("%s%s", url, dep);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct httpc_req rq = {.url = u,
                           .body = text,
                           .headers = hdrs,
                           .timeout_ms = STEP_MS,
                           .connect_timeout_ms = 2000,
                           .max_response = ANSWER_MAX,
                           .pin_cert = f->c->cfg->tls_cert};
    if (httpc_do(&rq, &resp) == 0) {
        status = resp.status;
        *answer = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
        snprintf(err, len, "manager %s: HTTP %ld: %s", mgr, status,
                 jv_str(*answer, "message", resp.body ? resp.body : ""));
    } else {
        snprintf(err, len, "manager %s: %s", mgr, resp.err);
    }
    httpc_resp_done(&resp);
    free(text);
    free(u);
    return status;
}

struct hjob {
    struct wjob w;
    struct fed *f;
    json_t *rec; /* the job (also in f->hjobs, under f->mu) */
};

static char *jobs_path(struct fed *f)
{
    return xasprintf("%s/handovers.json", f->c->cfg->data_dir);
}

/* Writes the jobs (f->mu held). */
static void jobs_save(struct fed *f)
{
    char *path = jobs_path(f), *text = json_dumps(f->hjobs, JSON_INDENT(1));
    int r = write_file_atomic(path, text, strlen(text), 0600, true);

    if (r)
        log_error("fed: cannot write %s: %s", path, strerror(-r));
    free(text);
    free(path);
}

static void set_step(struct hjob *j, json_t *d, const char *step, const char *error)
{
    if (error)
        log_warn("fed: handover %s of %s from %s to %s: %s: %s", jv_str(j->rec, "id", "?"),
                 jv_str(d, "id", "?"), jv_str(j->rec, "from", "?"), jv_str(j->rec, "to", "?"), step,
                 error);
    pthread_mutex_lock(&j->f->mu);
    doc_set_str(d, "step", step);
    if (error)
        doc_set_str(d, "error", error);
    jobs_save(j->f);
    pthread_mutex_unlock(&j->f->mu);
}

/* A step, again while the side does not answer (restarting, say), up to
 * RETRY_MAX_MS: its status. */
static long step(struct hjob *j, const char *mgr, const char *dep, json_t *body, json_t **answer,
                 char *err, size_t len)
{
    uint64_t until = mono_ms() + RETRY_MAX_MS;
    long st;

    for (;;) {
        st = call(j->f, mgr, dep, json_deep_copy(body), answer, err, len);
        if ((st && st != 502 && st != 503) || mono_ms() > until || j->f->c->stopping)
            break;
        json_decref(*answer);
        usleep(RETRY_MS * 1000);
    }
    json_decref(body);
    return st;
}

static int move_vis(const json_t *bundle, const json_t *from, const json_t *to, char *err,
                    size_t len)
{
    const struct vim_ops *ops = vim_driver_find(jv_str(bundle, "driver", ""));
    const json_t *vi;
    size_t i;

    if (!ops || !ops->move) {
        snprintf(err, len, "the VIM %s cannot move VIs", jv_str(bundle, "driver", "?"));
        return -1;
    }
    json_array_foreach(json_object_get(bundle, "vis"), i, vi)
    {
        struct vi_move m = {doc_str(vi, "id"),
                            jv_str(from, "tag", ""),
                            jv_str(from, "data_dir", ""),
                            jv_str(to, "tag", ""),
                            jv_str(to, "data_dir", ""),
                            (unsigned)(jv_num(vi, "vcpu", 1) * 1000),
                            (uint64_t)jv_int(vi, "memory_mb", 256) << 20};
        struct vim_err e = {""};

        if (!m.vi)
            continue;
        if (ops->move(&m, &e)) {
            snprintf(err, len, "%s", e.msg);
            return -1;
        }
    }
    return 0;
}

/* Hands deployment d ({id, step}) of the job over, from the step it is at. */
static void run_one(struct hjob *j, json_t *d)
{
    const char *from = jv_str(j->rec, "from", ""), *to = jv_str(j->rec, "to", "");
    const char *id = jv_str(d, "id", "");
    char err[512] = "", why[600];
    json_t *bundle = NULL, *taker = NULL, *ans = NULL;
    long st;

    if (strcmp(jv_str(d, "step", "out"), "commit") && strcmp(jv_str(d, "step", "out"), "release")) {
        /* out again after a restart: the bundle is not kept */
        st = step(
            j, from, id,
            json_pack("{s:s, s:s, s:s}", "step", "out", "to", to, "job", jv_str(j->rec, "id", "")),
            &bundle, err, sizeof(err));
        if (st != 200) {
            set_step(j, d, "failed", err);
            goto out;
        }
        if (!strcmp(jv_str(d, "step", "out"), "out"))
            set_step(j, d, "in", NULL);
        json_object_set_new(bundle, "step", json_string("in"));
        st = step(j, to, id, json_incref(bundle), &taker, err, sizeof(err));
        if (st != 200 && st != 201)
            goto undo;
        set_step(j, d, "move", NULL);
        if (move_vis(bundle, json_object_get(bundle, "from"), taker, err, sizeof(err))) {
            char back[256];

            move_vis(bundle, taker, json_object_get(bundle, "from"), back, sizeof(back));
            goto undo;
        }
        set_step(j, d, "commit", NULL);
    }
    if (!strcmp(jv_str(d, "step", ""), "commit")) {
        st = step(j, to, id, json_pack("{s:s}", "step", "commit"), &ans, err, sizeof(err));
        if (st != 200) { /* its records are gone: the giver's are the only ones */
            set_step(j, d, "failed", err);
            goto out;
        }
        set_step(j, d, "release", NULL);
    }
    json_decref(ans);
    ans = NULL;
    st = step(j, from, id, json_pack("{s:s}", "step", "release"), &ans, err, sizeof(err));
    set_step(j, d, st == 200 ? "done" : "released?", st == 200 ? NULL : err);
    goto out;
undo:
    snprintf(why, sizeof(why), "%s", err);
    json_decref(ans);
    st = step(j, to, id, json_pack("{s:s}", "step", "drop"), &ans, err, sizeof(err));
    json_decref(ans);
    st = step(j, from, id, json_pack("{s:s, s:s}", "step", "abort", "reason", why), &ans, err,
              sizeof(err));
    set_step(j, d, "failed", why);
out:
    json_decref(ans);
    json_decref(bundle);
    json_decref(taker);
}

static bool finished(const json_t *d)
{
    const char *s = jv_str(d, "step", "");

    return !strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "released?");
}

/* "all": the giver's deployments, asked of it. */
static void list_all(struct hjob *j)
{
    char url[256], tok[160], auth[200], *u;
    const char *hdrs[] = {auth, NULL};
    struct httpc_resp resp = {0};
    json_t *doc = NULL, *list = json_array(), *x;
    size_t i;

    if (side_of(j->f, jv_str(j->rec, "from", ""), url, sizeof(url), tok, sizeof(tok))) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        /* SCHEME://HOST:PORT/fed/v1/handover/ -> SCHEME://HOST:PORT/v0/deployments */
        *strstr(url, "/fed/v1/") = '\0';
        u = xasprintf("%s/v0/deployments?limit=1000", url);
        struct httpc_req rq = {.method = "GET",
                               .url = u,
                               .headers = hdrs,
                               .timeout_ms = STEP_MS,
                               .max_response = ANSWER_MAX,
                               .pin_cert = j->f->c->cfg->tls_cert};
        if (httpc_do(&rq, &resp) == 0 && resp.status == 200 && resp.body)
            doc = json_loads(resp.body, 0, NULL);
        httpc_resp_done(&resp);
        free(u);
    }
    json_array_foreach(json_object_get(doc, "deployments"), i, x)
    {
        char key[KEY_BUF_MAX]; /* the API shows names; the store keys them by tenant */

        id_scoped(key, jv_str(x, "tenant", NULL), jv_str(x, "id", ""));
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", key, "step", "out"));
    }
    pthread_mutex_lock(&j->f->mu);
    json_object_set_new(j->rec, "deployments", list);
    json_object_del(j->rec, "all");
    jobs_save(j->f);
    pthread_mutex_unlock(&j->f->mu);
    json_decref(doc);
}

static void job_work(struct wjob *w)
{
    struct hjob *j = (struct hjob *)w;
    const json_t *d;
    size_t i, moved = 0, failed = 0;
    char note[64], url[256], tok[160];

    if (w->cancelled)
        return;
    /* a new manager is known here a moment after it joined the cloud (the
     * watch, every half second): no deployment rests meanwhile */
    for (uint64_t until = mono_ms() + RETRY_MAX_MS;
         mono_ms() < until && !j->f->c->stopping &&
         !(side_of(j->f, jv_str(j->rec, "from", ""), url, sizeof(url), tok, sizeof(tok)) &&
           side_of(j->f, jv_str(j->rec, "to", ""), url, sizeof(url), tok, sizeof(tok)));)
        usleep(RETRY_MS * 1000);
    if (jv_bool(j->rec, "all", 0))
        list_all(j);
    json_array_foreach(json_object_get(j->rec, "deployments"), i, d)
    {
        if (!finished(d) && !j->f->c->stopping)
            run_one(j, (json_t *)d);
        moved += !strcmp(jv_str(d, "step", ""), "done");
        failed += finished(d) && strcmp(jv_str(d, "step", ""), "done");
    }
    if (j->f->c->stopping)
        return;
    snprintf(note, sizeof(note), "%zu handed over, %zu not", moved, failed);
    pthread_mutex_lock(&j->f->mu);
    doc_set_str(j->rec, "state", "completed");
    doc_set_str(j->rec, "note", note);
    json_object_set_new(j->rec, "moved", json_integer((json_int_t)moved));
    json_object_set_new(j->rec, "failed", json_integer((json_int_t)failed));
    doc_touch(j->rec, "finished");
    jobs_save(j->f);
    pthread_mutex_unlock(&j->f->mu);
}

static void job_next(struct fed *f);

static void job_done(struct wjob *w)
{
    struct hjob *j = (struct hjob *)w;
    struct fed *f = j->f;

    log_info("fed: handover %s from %s to %s: %s", jv_str(j->rec, "id", "?"),
             jv_str(j->rec, "from", "?"), jv_str(j->rec, "to", "?"),
             jv_str(j->rec, "note", "interrupted"));
    json_decref(j->rec);
    free(j);
    f->hjob_busy = false;
    fed_report_soon(f);
    if (!f->c->stopping)
        job_next(f);
}

/* Starts the first job not completed, one at a time. */
static void job_next(struct fed *f)
{
    const json_t *r;
    size_t i;

    if (f->hjob_busy)
        return;
    json_array_foreach(f->hjobs, i, r)
    {
        if (strcmp(jv_str(r, "state", ""), "running") == 0) {
            struct hjob *j = xcalloc(1, sizeof(*j));

            j->f = f;
            j->rec = json_incref((json_t *)r);
            j->w.work = job_work;
            j->w.done = job_done;
            f->hjob_busy = true;
            core_submit(f->c, f->c->conf, &j->w);
            return;
        }
    }
}

static void job_next_after(struct core *c, void *arg)
{
    (void)arg;
    job_next(c->fed);
}

/* The instruction "handover" {from, to, deployments | all, decision}, at
 * the parent of the two managers. */
void fed_handover_apply(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    const char *from = jv_str(t->body, "from", ""), *to = jv_str(t->body, "to", "");
    const json_t *deps = json_object_get(t->body, "deployments"), *d;
    json_t *rec;
    size_t i;

    /* the manager it started may not be seen healthy here yet: the steps
     * wait for it (up to RETRY_MAX_MS) */
    if (!*from || !*to || !strcmp(from, to) ||
        (strcmp(from, f->mgr_id ? f->mgr_id : "") && strcmp(to, f->mgr_id ? f->mgr_id : ""))) {
        result_fail(&t->res, 409, "conflict", "field", "to",
                    "a handover is between this manager (%s) and one it started (from %s to %s)",
                    f->mgr_id ? f->mgr_id : "?", from, to);
        return;
    }
    pthread_mutex_lock(&f->mu);
    json_array_foreach(f->hjobs, i, d)
    {
        if (t->client_txn_id && strcmp(jv_str(d, "id", ""), t->client_txn_id) == 0) {
            result_ok(&t->res, 202, json_deep_copy(d)); /* its transaction did not commit */
            pthread_mutex_unlock(&f->mu);
            return;
        }
    }
    pthread_mutex_unlock(&f->mu);
    rec =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:[]}", "id", t->client_txn_id ? t->client_txn_id : "",
                  "decision", jv_str(t->body, "decision", ""), "from", from, "to", to, "state",
                  "running", "deployments");
    doc_touch(rec, "created");
    if (jv_bool(t->body, "all", 0))
        json_object_set_new(rec, "all", json_true());
    json_array_foreach(deps, i, d)
    {
        if (json_is_string(d))
            json_array_append_new(json_object_get(rec, "deployments"),
                                  json_pack("{s:O, s:s}", "id", d, "step", "out"));
    }
    pthread_mutex_lock(&f->mu);
    json_array_append(f->hjobs, rec);
    while (json_array_size(f->hjobs) > JOBS_KEPT &&
           strcmp(jv_str(json_array_get(f->hjobs, 0), "state", ""), "running"))
        json_array_remove(f->hjobs, 0);
    jobs_save(f);
    pthread_mutex_unlock(&f->mu);
    core_after_commit(c, job_next_after, NULL, NULL);
    result_ok(&t->res, 202, rec);
}

json_t *fed_handovers_report(struct fed *f)
{
    json_t *out;

    pthread_mutex_lock(&f->mu);
    out = json_deep_copy(f->hjobs);
    pthread_mutex_unlock(&f->mu);
    return out ? out : json_array();
}

void fed_handover_resume(struct fed *f)
{
    char *path = jobs_path(f), *text = NULL;

    if (read_file(path, 16 << 20, &text, NULL) == 0)
        f->hjobs = json_loads(text, 0, NULL);
    if (!json_is_array(f->hjobs)) {
        json_decref(f->hjobs);
        f->hjobs = json_array();
    }
    free(text);
    free(path);
    job_next(f);
}

void fed_handover_free(struct fed *f)
{
    json_decref(f->hjobs);
    f->hjobs = NULL;
}
