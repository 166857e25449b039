/* The native requests a cloud VNFM sends a branch's manager for the SOL003
 * tasks that have no /v0 route (docs/SOL003.md "VNF instances at a branch
 * site"): operate, rescale (scale to level, change flavour) and
 * modify_info. The cloud has checked the SOL003 request and computed what
 * changes (which VIs, which counts, which information); the branch runs it
 * with its own engine, as a native operation (no pause: it never stops in
 * failed_temp), of the SOL003 operation's type, so that its SOL003 observer
 * sets the deployment's record at the end as for its own tasks. */
#include "lcm/lifecycle.h"
#include "lcm/svc_lcm.h"
#include "core/states.h"
#include "catalog/vnfd.h"
#include "util/jsonv.h"

#include <stdio.h>
#include <string.h>

static void accepted(struct txn *t, json_t *op)
{
    snprintf(t->res.location, sizeof(t->res.location), "/v0/operations/%s", doc_str(op, "id"));
    result_ok(&t->res, 202, doc_public(op));
    json_decref(op);
}

static void start(struct core *c, struct txn *t, json_t *dep, struct lc_start *s)
{
    s->t = t;
    s->starting = true;
    accepted(t, lc_op_start_ex(c, dep, s));
}

/* {change_state_to: STOPPED|STARTED, grace_s?, vis?: [VI ids]}: the VIs
 * named (all when none are) that are not in that state yet. */
void svc_operate(struct core *c, struct txn *t)
{
    bool stop = strcmp(jv_str(t->body, "change_state_to", ""), "STOPPED") == 0;
    const json_t *want = json_object_get(t->body, "vis"), *w;
    json_t *dep = svc_idle_deployment(c, t, false), *vis, *vi, *ids;
    struct lc_start s = {"operate", stop ? "operate_stop" : "operate_start"};
    size_t i, k;

    if (!dep)
        return;
    vis = svc_vi_list(c, t->args[0]);
    ids = json_array();
    json_array_foreach(vis, i, vi)
    {
        int state = vi_state_of(vi);
        bool named = !want;

        json_array_foreach(want, k, w)
        {
            named = named ||
                    (json_is_string(w) && strcmp(doc_str(vi, "id"), json_string_value(w)) == 0);
        }
        if (named && (stop ? state != VIS_STOPPED : state == VIS_STOPPED || state == VIS_EXITED))
            json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    if (json_array_size(ids) == 0) {
        result_fail(&t->res, 409, "conflict", "field", "change_state_to",
                    "change_state_to: the VIs of deployment '%s' are already %s", t->args[0],
                    stop ? "STOPPED" : "STARTED");
        json_decref(ids);
    } else {
        doc_set_str(dep, "status", dep_status_name(DEP_OPERATING));
        s.vis = ids;
        s.params = json_pack("{s:s}", "change_state_to", stop ? "STOPPED" : "STARTED");
        if (json_object_get(t->body, "grace_s"))
            json_object_set(s.params, "grace_s", json_object_get(t->body, "grace_s"));
        start(c, t, dep, &s);
    }
    json_decref(dep);
}

/* What the deployment's record takes when a rescale completes (the SOL003
 * observer's sol_op_finish): the flavoured descriptor, the flavour, the
 * instantiation level (null: none, after a scale to levels by aspect). */
static json_t *rescale_record(const json_t *body)
{
    json_t *rec = json_object();
    const json_t *level = json_object_get(body, "instantiation_level");

    if (json_is_object(json_object_get(body, "descriptor")))
        json_object_set(rec, "_descriptor", json_object_get(body, "descriptor"));
    if (json_is_string(json_object_get(body, "flavour")))
        json_object_set(rec, "flavour", json_object_get(body, "flavour"));
    if (json_is_string(level) || json_is_null(level))
        json_object_set(rec, "instantiation_level", (json_t *)level);
    return rec;
}

/* {type: scale_to_level|change_flavour, instances: {vdu: count},
 * descriptor?, flavour?, instantiation_level?}: VIs added and removed so
 * that each VDU named has its count (the VDUs of descriptor, the flavoured
 * VNFD, else the deployment's); the record takes the descriptor, flavour
 * and level when it completes. */
void svc_rescale(struct core *c, struct txn *t)
{
    const char *type = jv_str(t->body, "type", "scale_to_level");
    const json_t *want = json_object_get(t->body, "instances"), *n;
    json_t *dep = svc_idle_deployment(c, t, false), *rec = NULL, *add = NULL, *rm = NULL;
    const json_t *vnfd;
    struct lc_start s = {NULL, "rescale"};
    const char *vdu_id;

    if (!dep)
        return;
    if (strcmp(type, "scale_to_level") && strcmp(type, "change_flavour")) {
        result_fail(&t->res, 400, "invalid-value", "field", "type",
                    "type: scale_to_level or change_flavour, not '%s'", type);
        goto out;
    }
    if (!json_is_object(want) || json_object_size(want) == 0) {
        result_fail(&t->res, 400, "missing-field", "field", "instances",
                    "instances: the count of at least one VDU");
        goto out;
    }
    s.type = type;
    rec = core_load(c, STORE_VNFD, doc_str(dep, "vnfd"));
    vnfd = json_object_get(t->body, "descriptor"); /* the cloud's, flavoured */
    if (!json_is_object(vnfd))
        vnfd = rec ? json_object_get(rec, "descriptor") : json_object_get(dep, "_descriptor");
    add = json_array();
    rm = json_array();
    json_object_foreach((json_t *)want, vdu_id, n)
    {
        const json_t *vdu = vnfd_vdu(vnfd, vdu_id);
        struct vnfd_scaling sc = {0};
        unsigned next;
        json_t *vis, *more;
        long long cur;

        if (vdu)
            vnfd_vdu_scaling(vdu, &sc);
        /* the cloud computed the counts; the VDU's scaling still bounds them */
        if (!vdu || !json_is_integer(n) || json_integer_value(n) < sc.min ||
            json_integer_value(n) > sc.max) {
            result_fail(&t->res, 400, "invalid-value", "field", "instances",
                        "instances: the VNF of deployment '%s' has no VDU '%s', or its count is "
                        "not within its scaling.min .. scaling.max",
                        t->args[0], vdu_id);
            goto out;
        }
        vis = svc_vdu_vis(c, t->args[0], vdu_id, &next);
        cur = (long long)json_array_size(vis);
        for (long long k = 0; k < cur - json_integer_value(n); k++)
            json_array_append(rm, json_object_get(json_array_get(vis, (size_t)k), "id"));
        json_decref(vis);
        if (json_integer_value(n) <= cur)
            continue;
        more = svc_add_vis(c, t, dep, vdu, json_integer_value(n) - cur, next);
        if (!more)
            goto out;
        json_array_extend(add, more);
        json_decref(more);
    }
    json_object_update(json_object_get(dep, "instances"), (json_t *)want);
    doc_set_str(dep, "status", dep_status_name(DEP_SCALING));
    s.vis = add;
    s.params = json_pack("{s:O}", "instances", want);
    s.extra = json_pack("{s:o, s:o}", "vis_in", rm, "_apply", rescale_record(t->body));
    add = rm = NULL;
    start(c, t, dep, &s);
out:
    json_decref(add);
    json_decref(rm);
    json_decref(rec);
    json_decref(dep);
}

/* {sol003: the SOL003 information}: the deployment's record takes it at the
 * end (plan "modify": no VI changes). */
void svc_modify_info(struct core *c, struct txn *t)
{
    json_t *dep = svc_idle_deployment(c, t, false);
    struct lc_start s = {"modify_info", "modify"};

    if (!dep)
        return;
    if (!json_is_object(json_object_get(t->body, "sol003"))) {
        result_fail(&t->res, 400, "missing-field", "field", "sol003", "sol003: an object");
    } else {
        s.vis = json_array();
        s.extra = json_pack("{s:{s:O}}", "_apply", "sol003", json_object_get(t->body, "sol003"));
        start(c, t, dep, &s);
    }
    json_decref(dep);
}
