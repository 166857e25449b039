/* A branch VNF bursting into the cloud (docs/FEDERATION.md "Bursting into
 * the cloud"; issue 13, claims 1, 3-4).
 *
 * The cloud's rules over a branch deployment (cloud_rules.c) scale it
 * through the rules engine, which counts every instance of the service:
 * the branch's and those of its burst. A scale out puts the new instances
 * at the branch while the branch has room for them (its capacity less what
 * it holds, as its last report said), else in the cloud: a deployment of
 * the cloud's own, of the same VNFD and configuration, linked to the
 * branch's as its `burst_of` (the branch's record on the cloud names it in
 * `burst`), whose running VIs the branch's service endpoint adds to its
 * own (instruction `endpoint` with `burst`). A scale in takes the
 * instances in the cloud first, make-before-break: the endpoint leaves
 * them out, and once the branch applied that the cloud scales the burst
 * in (or undeploys it, at none); then the branch's own instances go. The
 * rules engine's holds, bounds and cooldowns apply as to any scale, and
 * only while the cloud owns the deployment's rules (one owner). */
#include "fed/fed_internal.h"
#include "fed/pool.h"
#include "lcm/observe.h"
#include "lcm/svc_lcm.h"
#include "catalog/vnfd.h"
#include "core/states.h"
#include "monitor/monitor.h"
#include "util/doc.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <limits.h>
#include <string.h>

static const char *burst_id(const json_t *dep)
{
    return jv_str(json_object_get(dep, "burst"), "deployment", NULL);
}

/* The VIs of vdu in vis (records or a mirror's list). */
static long long count_of(const json_t *vis, const char *vdu)
{
    const json_t *vi;
    long long n = 0;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        n += strcmp(jv_str(vi, "vdu", ""), vdu) == 0;
    }
    return n;
}

long long fed_burst_instances(struct core *c, const json_t *dep, const char *vdu)
{
    json_t *vis;
    long long n;

    if (!burst_id(dep))
        return 0;
    vis = svc_vi_list(c, burst_id(dep));
    n = count_of(vis, vdu);
    json_decref(vis);
    return n;
}

static long long running(const json_t *vis)
{
    const json_t *vi;
    long long n = 0;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        n += vi_state_of(vi) == VIS_RUNNING;
    }
    return n;
}

/* A metric's value over the branch's instances (a, na of them) and the
 * burst's (b, nb), combined as its aggregate combines VIs' values. */
static double joined(const char *how, double a, long long na, double b, long long nb)
{
    if (strcmp(how, "sum") == 0)
        return a + b;
    if (strcmp(how, "max") == 0)
        return a > b ? a : b;
    if (strcmp(how, "min") == 0)
        return a < b ? a : b;
    return na + nb > 0 ? (a * (double)na + b * (double)nb) / (double)(na + nb) : a;
}

json_t *fed_burst_values(struct core *c, const char *id, const json_t *vals, bool *busy)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *b, *bv, *vis, *out, *x;
    const json_t *metrics;
    const char *name;
    long long na, nb;

    *busy = false;
    if (!burst_id(dep)) {
        json_decref(dep);
        return json_incref((json_t *)vals);
    }
    b = core_load(c, STORE_DEPLOYMENT, burst_id(dep));
    *busy = doc_str(json_object_get(dep, "burst"), "shrinking") || (b && doc_str(b, "operation"));
    bv = c->monitor && b ? monitor_values(c->monitor, burst_id(dep)) : NULL;
    out = vals ? json_deep_copy(vals) : json_object();
    metrics = json_object_get(json_object_get(b, "monitoring"), "metrics");
    vis = bv ? svc_vi_list(c, burst_id(dep)) : NULL;
    na = running(json_object_get(dep, "vis"));
    nb = running(vis);
    json_object_foreach(bv, name, x)
    {
        const json_t *a = json_object_get(out, name);
        double v = json_number_value(x);

        if (json_is_number(a))
            v = joined(jv_str(json_object_get(metrics, name), "aggregate", "avg"),
                       json_number_value(a), na, v, nb);
        json_object_set_new(out, name, json_real(v));
    }
    json_decref(vis);
    json_decref(bv);
    json_decref(b);
    json_decref(dep);
    return out;
}

bool fed_branch_room(const struct fed_mgr *m, double *vcpu, double *memory_mb)
{
    const json_t *cap = json_object_get(m->site_state, "capacity"),
                 *alloc = json_object_get(m->site_state, "allocated");

    *vcpu = jv_num(cap, "vcpu", 0) - jv_num(alloc, "vcpu", 0);
    *memory_mb = (double)(jv_int(cap, "memory_mb", 0) - jv_int(alloc, "memory_mb", 0));
    return cap != NULL;
}

/* Whether the branch of m has room for add more instances of vdu, with in
 * why what it has and what they need. A site whose capacity is unknown has. */
static bool branch_room(const struct fed_mgr *m, const json_t *vdu, long long add, char *why,
                        size_t len)
{
    const json_t *cap = json_object_get(m->site_state, "capacity");
    double need_v = (double)add * jv_num(vdu, "vcpu", 1),
           need_m = (double)add * (double)jv_int(vdu, "memory_mb", 128), free_v, free_m;

    if (!fed_branch_room(m, &free_v, &free_m)) {
        snprintf(why, len, "branch site %s reported no capacity", m->site);
        return true;
    }
    snprintf(why, len,
             "branch site %s has %.2f vCPU, %.0f MB free of %g vCPU, %lld MB; %lld more "
             "instance%s of %s need%s %.2f vCPU, %.0f MB",
             m->site, free_v, free_m, jv_num(cap, "vcpu", 0), jv_int(cap, "memory_mb", 0), add,
             add == 1 ? "" : "s", jv_str(vdu, "id", "?"), add == 1 ? "s" : "", need_v, need_m);
    return free_v >= need_v - 1e-9 && free_m >= need_m;
}

/* The cloud's site a burst of the branch of m goes to: its pool policy's
 * cloud_site, else the cloud's own. */
static const char *cloud_site(struct core *c, const struct fed_mgr *m, char *buf, size_t len)
{
    json_t *site = core_load(c, STORE_SITE, m->site);

    snprintf(buf, len, "%s",
             jv_str(json_object_get(site, "pool_policy"), "cloud_site", c->cfg->site));
    json_decref(site);
    return buf;
}

/* Notes in decision where the instances go (chosen) and the other place
 * (rejected), with why; the reason says it too. */
static void note(json_t *decision, json_t *chosen, json_t *rejected)
{
    char *reason = xasprintf("%s; %s", jv_str(decision, "reason", ""), jv_str(chosen, "why", ""));

    json_object_set_new(decision, "chosen", json_pack("[o]", chosen));
    json_object_set_new(decision, "rejected", rejected ? json_pack("[o]", rejected) : json_array());
    json_object_set_new(decision, "reason", json_string(reason));
    free(reason);
}

/* The serving VIs of vdu of the burst b as backends on port: the first
 * keep of them (those a scale in to keep leaves: it takes the newest). */
static json_t *backends(struct core *c, const char *b, const char *vdu, long long port,
                        long long keep)
{
    json_t *vis = svc_vi_list(c, b), *out = json_array(), *vi;
    long long n = 0;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        if (strcmp(jv_str(vi, "vdu", ""), vdu))
            continue;
        if (n++ < keep && vi_serving(vi))
            json_array_append_new(out, json_sprintf("%s:%lld", doc_str(vi, "ip"), port));
    }
    json_decref(vis);
    return out;
}

json_t *fed_burst_backends(struct core *c, const json_t *dep, long long port)
{
    const char *b = burst_id(dep);

    return b ? backends(c, b, jv_str(json_object_get(dep, "burst"), "vdu", ""), port, LLONG_MAX)
             : NULL;
}

const char *fed_burst_change(struct core *c, const json_t *dep, char *buf, size_t len)
{
    const char *b = burst_id(dep);
    json_t *bdep;
    bool busy;

    if (!b)
        return NULL;
    if (doc_str(json_object_get(dep, "burst"), "shrinking")) {
        snprintf(buf, len, "operation %s (its endpoint leaves instances out)",
                 doc_str(json_object_get(dep, "burst"), "shrinking"));
        return buf;
    }
    bdep = core_load(c, STORE_DEPLOYMENT, b);
    busy = bdep && doc_str(bdep, "operation");
    if (busy)
        snprintf(buf, len, "operation %s of %s", doc_str(bdep, "operation"), b);
    json_decref(bdep);
    return busy ? buf : NULL;
}

/* An instruction endpoint to the branch of dep (the mirror) naming the
 * burst's backends; op_extra taken. 0 with *op, or -1 with res set. */
static int endpoint(struct core *c, struct fed_mgr *m, const json_t *dep, json_t *burst,
                    long long port, json_t *op_extra, struct result *res, json_t **op)
{
    json_t *about =
        json_pack("{s:s, s:s?}", "id", jv_str(dep, "id", ""), "tenant", doc_str(dep, "tenant"));
    json_t *ins = fed_instruct(
        c, m, "endpoint", about,
        json_pack("{s:s, s:I, s:o}", "mode", "local", "port", (json_int_t)port, "burst", burst),
        NULL, op_extra, res, op);

    json_decref(about);
    json_decref(ins);
    return ins ? 0 : -1;
}

static int grow(struct core *c, struct fed_mgr *m, const json_t *dep, const char *vdu,
                long long count, json_t *decision, const char *full, struct result *res,
                json_t **op)
{
    const char *b = burst_id(dep);
    char site[128], key[KEY_BUF_MAX], rnd[16], op_id[32], why[768];
    json_t *bdep, *body;

    cloud_site(c, m, site, sizeof(site));
    if (!b) {
        json_t *inst = json_pack("{s:I}", vdu, (json_int_t)count);

        id_random(rnd, "bu-", 10);
        b = id_scoped(key, doc_str(dep, "tenant"), rnd);
        body = json_pack("{s:s, s:s, s:s?, s:O?, s:o, s:s?, s:s}", "name", b, "vnfd",
                         jv_str(dep, "vnfd", ""), "tenant", doc_str(dep, "tenant"), "params",
                         json_object_get(dep, "params"), "instances", inst, "license",
                         doc_str(dep, "license"), "site", site);
        if (doc_str(dep, "_password"))
            json_object_set_new(body, "credentials",
                                json_pack("{s:s}", "password", doc_str(dep, "_password")));
        if (fed_local_request(c, svc_deploy, "deploy", b, body, res, op_id, sizeof(op_id)))
            return -1;
        if ((bdep = core_load(c, STORE_DEPLOYMENT, b))) {
            doc_set_str(bdep, "burst_of", jv_str(dep, "id", ""));
            store_put(c->st, STORE_DEPLOYMENT, bdep);
            json_decref(bdep);
        }
        {
            json_t *mirror = json_deep_copy(dep);

            json_object_set_new(
                mirror, "burst",
                json_pack("{s:s, s:s, s:s}", "deployment", b, "site", site, "vdu", vdu));
            store_put(c->st, STORE_DEPLOYMENT, mirror);
            json_decref(mirror);
        }
    } else if (fed_local_request(c, svc_scale, "scale", b,
                                 json_pack("{s:s, s:I}", "vdu", vdu, "count", (json_int_t)count),
                                 res, op_id, sizeof(op_id))) {
        return -1;
    }
    snprintf(why, sizeof(why),
             "in the cloud: %s to %lld instance%s of %s at site %s, behind the service endpoint "
             "%s",
             id_name(b), count, count == 1 ? "" : "s", vdu, site,
             jv_str(dep, "service_endpoint", "?"));
    note(decision,
         json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "where", "cloud", "site", site, "deployment",
                   b, "vdu", vdu, "instances", (json_int_t)count, "why", why),
         json_pack("{s:s, s:s, s:s}", "where", "branch", "site", m->site, "why", full));
    *op = core_load(c, STORE_OP, op_id);
    return *op ? 0
               : result_fail(res, 503, "unavailable", NULL, NULL, "operation %s vanished", op_id);
}

/* The burst's instances down to count: first the endpoint leaves the
 * others out (the decision's operation); the scale in follows once the
 * branch applied it (on_op_ended). */
static int shrink(struct core *c, struct fed_mgr *m, const json_t *dep, const json_t *vnfd,
                  const char *vdu, long long count, long long had, json_t *decision,
                  struct result *res, json_t **op)
{
    const char *b = burst_id(dep);
    long long port = fed_service_port(vnfd);
    json_t *bdep = core_load(c, STORE_DEPLOYMENT, b), *mirror;
    char why[512];
    int r;

    if (bdep && doc_str(bdep, "operation")) {
        r = result_fail(res, 409, "busy", "object", b,
                        "the burst %s of %s in the cloud is busy with operation %s", b,
                        jv_str(dep, "id", ""), doc_str(bdep, "operation"));
        json_decref(bdep);
        return r;
    }
    json_decref(bdep);
    if (endpoint(c, m, dep, backends(c, b, vdu, port, count), port,
                 json_pack("{s:{s:s, s:s, s:I}}", "_burst", "deployment", b, "vdu", vdu, "count",
                           (json_int_t)count),
                 res, op))
        return -1;
    mirror = json_deep_copy(dep);
    json_object_set_new(json_object_get(mirror, "burst"), "shrinking",
                        json_string(jv_str(*op, "id", "")));
    store_put(c->st, STORE_DEPLOYMENT, mirror);
    json_decref(mirror);
    snprintf(why, sizeof(why),
             "in the cloud first: %s from %lld to %lld instance%s of %s (the endpoint leaves "
             "the others out, then they stop)",
             id_name(b), had, count, count == 1 ? "" : "s", vdu);
    note(decision,
         json_pack("{s:s, s:s, s:s, s:I, s:s}", "where", "cloud", "deployment", b, "vdu", vdu,
                   "instances", (json_int_t)count, "why", why),
         json_pack("{s:s, s:s, s:s}", "where", "branch", "site", m->site, "why",
                   "the instances in the cloud go before the branch's"));
    return 0;
}

/* Where a branch place goes when the rules engine scales dep: noted in
 * decision as chosen, the cloud rejected with why. */
static void at_branch(json_t *decision, const struct fed_mgr *m, const char *why,
                      const char *not_cloud)
{
    note(decision, json_pack("{s:s, s:s, s:s}", "where", "branch", "site", m->site, "why", why),
         not_cloud ? json_pack("{s:s, s:s}", "where", "cloud", "why", not_cloud) : NULL);
}

int fed_burst_scale(struct core *c, struct fed_mgr *m, const json_t *dep, json_t *body,
                    json_t *decision, struct result *res, json_t **op)
{
    const char *vdu_id = jv_str(body, "vdu", "");
    long long target = jv_int(body, "count", 0);
    long long here = count_of(json_object_get(dep, "vis"), vdu_id);
    long long away = fed_burst_instances(c, dep, vdu_id);
    json_t *vnfd = fed_descriptor(c, dep);
    const json_t *vdu = vnfd_vdu(vnfd, vdu_id), *service;
    long long port;
    char room[512], why[768];
    int r = 1;

    service = fed_service_vdu(vnfd, &port);
    if (target > here + away) {
        bool fits = !vdu || branch_room(m, vdu, target - here - away, room, sizeof(room));

        snprintf(why, sizeof(why), "at the branch: %s", vdu ? room : "its VDU is unknown here");
        if (fits)
            at_branch(decision, m, why,
                      "the branch has room: the cloud takes instances once it is full");
        else if (pool_placement_of(jv_str(vnfd, "placement", NULL)) == PLACE_BRANCH_ONLY)
            at_branch(decision, m, why, "its placement is branch-only");
        else if (!doc_str(dep, "service_endpoint") || !service)
            at_branch(decision, m, why,
                      "it has no service endpoint at the branch for its clients to reach "
                      "instances in the cloud");
        else if (strcmp(jv_str(service, "id", ""), vdu_id))
            at_branch(decision, m, why,
                      "its service endpoint leads to another VDU's instances: those of this one "
                      "could not be reached in the cloud");
        else
            r = grow(c, m, dep, vdu_id, target - here, decision, room, res, op);
    } else if (away > 0) {
        r = shrink(c, m, dep, vnfd, vdu_id, target > here ? target - here : 0, away, decision, res,
                   op);
    } else {
        at_branch(decision, m, "at the branch: it has no instance in the cloud", NULL);
    }
    if (r == 1)
        json_object_set_new(body, "count", json_integer(target - away));
    json_decref(vnfd);
    return r;
}

/* ---- following the burst (observer) ---- */

/* The endpoint of the burst's branch deployment names what of the burst b
 * runs now (after each of its operations). */
static void follow(struct core *c, const json_t *b)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(b, "burst_of", "")), *vnfd = NULL, *op;
    struct fed_mgr *m = dep ? hmap_get(&c->fed->mgrs, jv_str(dep, "manager", "")) : NULL;
    const json_t *burst = json_object_get(dep, "burst");
    struct result res = {0};
    long long port;

    if (!m || strcmp(burst_id(dep) ? burst_id(dep) : "", jv_str(b, "id", "")) ||
        doc_str(burst, "shrinking"))
        goto out;
    vnfd = fed_descriptor(c, dep);
    port = fed_service_port(vnfd);
    if (endpoint(c, m, dep, fed_burst_backends(c, dep, port), port, NULL, &res, &op) == 0)
        json_decref(op);
    else
        log_warn("fed: the endpoint of %s does not follow its burst %s: %s", jv_str(dep, "id", ""),
                 jv_str(b, "id", ""), jv_str(res.body, "message", "?"));
out:
    result_done(&res);
    json_decref(vnfd);
    json_decref(dep);
}

/* The endpoint left the instances out: they stop (the burst scaled in, or
 * undeployed at none). */
static void shrunk(struct core *c, const json_t *op)
{
    const json_t *x = json_object_get(op, "_burst");
    const char *b = jv_str(x, "deployment", "");
    long long count = jv_int(x, "count", 0);
    json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(op, "deployment", ""));
    struct result res = {0};
    char id[32];
    int r = 0;

    if (dep && strcmp(burst_id(dep) ? burst_id(dep) : "", b) == 0) {
        json_object_del(json_object_get(dep, "burst"), "shrinking");
        store_put(c->st, STORE_DEPLOYMENT, dep);
    }
    if (op_state_of(op) != OP_COMPLETED)
        log_warn("fed: the endpoint of %s did not leave its burst's instances out (%s): they stay",
                 jv_str(op, "deployment", ""), jv_str(op, "error", op_state_name(op_state_of(op))));
    else if (count > 0)
        r = fed_local_request(
            c, svc_scale, "scale", b,
            json_pack("{s:s, s:I}", "vdu", jv_str(x, "vdu", ""), "count", (json_int_t)count), &res,
            id, sizeof(id));
    else
        r = fed_local_request(c, svc_undeploy, "undeploy", b, NULL, &res, id, sizeof(id));
    if (r)
        log_warn("fed: the burst %s does not scale in: %s", b, jv_str(res.body, "message", "?"));
    result_done(&res);
    json_decref(dep);
}

/* The deploy of the burst b failed (rolled back, or failed): it goes, and
 * its branch deployment forgets it (on_dep_deleted); the branch's
 * instances serve alone, and the rules may try the cloud again after
 * their cooldown. One left in failed_temp waits for an operator. */
static void drop_failed(struct core *c, const json_t *b, const json_t *op)
{
    const char *id = jv_str(b, "id", "");
    struct result res = {0};
    char op_id[32];

    if (fed_local_request(c, svc_undeploy, "undeploy", id, NULL, &res, op_id, sizeof(op_id)))
        log_warn("fed: the burst %s that did not deploy stays: %s", id,
                 jv_str(res.body, "message", "?"));
    else
        core_event(c, "warn", "fed", "burst-failed",
                   json_pack("{s:s, s:s, s:s}", "deployment", jv_str(b, "burst_of", ""), "burst",
                             id, "operation", jv_str(op, "id", "")),
                   "the burst %s of %s did not deploy in the cloud (%s): undeployed, the "
                   "branch's instances serve alone",
                   id, jv_str(b, "burst_of", ""), jv_str(op, "error", "failed"));
    result_done(&res);
}

static void on_op_ended(struct core *c, const json_t *op)
{
    int st = op_state_of(op);
    json_t *b;

    if (!c->fed || !c->fed->cloud)
        return;
    if (json_object_get(op, "_burst")) {
        shrunk(c, op);
        return;
    }
    b = core_load(c, STORE_DEPLOYMENT, jv_str(op, "deployment", ""));
    if (doc_str(b, "burst_of") && strcmp(jv_str(op, "type", ""), "deploy") == 0 &&
        (st == OP_FAILED || st == OP_ROLLED_BACK))
        drop_failed(c, b, op);
    else if (doc_str(b, "burst_of"))
        follow(c, b);
    json_decref(b);
}

/* A burst gone: its branch deployment forgets it. A branch deployment
 * gone: its burst goes too. */
static void on_dep_deleted(struct core *c, const json_t *dep)
{
    struct result res = {0};
    json_t *x;
    char id[32];

    if (!c->fed || !c->fed->cloud)
        return;
    if (doc_str(dep, "burst_of")) {
        x = core_load(c, STORE_DEPLOYMENT, doc_str(dep, "burst_of"));
        if (x && strcmp(burst_id(x) ? burst_id(x) : "", jv_str(dep, "id", "")) == 0) {
            json_object_del(x, "burst");
            store_put(c->st, STORE_DEPLOYMENT, x);
        }
        json_decref(x);
    } else if (burst_id(dep) && (x = core_load(c, STORE_DEPLOYMENT, burst_id(dep)))) {
        if (!doc_str(x, "operation") &&
            fed_local_request(c, svc_undeploy, "undeploy", burst_id(dep), NULL, &res, id,
                              sizeof(id)))
            log_warn("fed: the burst %s of %s stays: %s", burst_id(dep), jv_str(dep, "id", ""),
                     jv_str(res.body, "message", "?"));
        json_decref(x);
    }
    result_done(&res);
}

const struct lc_observer fed_burst_observer = {
    .name = "burst",
    .op_ended = on_op_ended,
    .dep_deleted = on_dep_deleted,
};
