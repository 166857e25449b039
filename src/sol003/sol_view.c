/* SOL003 views of our records (sol003.h, docs/SOL003.md). */
#include "sol003/sol_view.h"
#include "core/states.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our operation types and SOL003's LcmOperationType (5.5.4.5). The native
 * deploy is create + instantiate, the native undeploy terminate + delete. */
static const char *const op_names[][2] = {
    {"deploy", "INSTANTIATE"},
    {"instantiate", "INSTANTIATE"},
    {"undeploy", "TERMINATE"},
    {"terminate", "TERMINATE"},
    {"heal", "HEAL"},
    {"scale", "SCALE"},
    {"scale_to_level", "SCALE_TO_LEVEL"},
    {"change_flavour", "CHANGE_FLAVOUR"},
    {"operate", "OPERATE"},
    {"modify_info", "MODIFY_INFO"},
    /* a move between a branch and the cloud (docs/FEDERATION.md "Moves") changes
     * the VIM the instance runs on: what SOL003 changes with modify info */
    {"move", "MODIFY_INFO"},
};

/* Our operation states as LcmOperationStateType (5.5.4.6). */
static const char *const op_states[OP_STATE_COUNT] = {
    [OP_STARTING] = "STARTING",       [OP_PROCESSING] = "PROCESSING",
    [OP_COMPLETED] = "COMPLETED",     [OP_FAILED] = "FAILED",
    [OP_FAILED_TEMP] = "FAILED_TEMP", [OP_ROLLING_BACK] = "ROLLING_BACK",
    [OP_ROLLED_BACK] = "ROLLED_BACK",
};

const char *sol_op_name(const char *type)
{
    for (size_t i = 0; type && i < ARRAY_SIZE(op_names); i++)
        if (strcmp(op_names[i][0], type) == 0)
            return op_names[i][1];
    return NULL;
}

const char *sol_op_state(const json_t *op)
{
    int state = op_state_of(op);

    /* the native automatic rollback runs in state processing */
    if (state == OP_PROCESSING && strcmp(jv_str(op, "_plan", ""), "rollback") == 0)
        return "ROLLING_BACK";
    return state >= 0 ? op_states[state] : "PROCESSING";
}

/* ---- scaling aspects ---- */

unsigned sol_scale_level(unsigned instances, const struct vnfd_scaling *s)
{
    unsigned step = s->step ? s->step : 1;

    return instances <= s->min ? 0 : (instances - s->min + step - 1) / step;
}

unsigned sol_max_scale_level(const struct vnfd_scaling *s)
{
    return sol_scale_level(s->max, s);
}

unsigned sol_level_instances(unsigned level, const struct vnfd_scaling *s)
{
    unsigned long n = s->min + (unsigned long)level * (s->step ? s->step : 1);

    return n > s->max ? s->max : (unsigned)n;
}

/* ---- links ---- */

static json_t *link(const struct sol_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *link(const struct sol_ctx *x, const char *fmt, ...)
{
    char path[256];
    va_list ap;
    char *href;
    json_t *l;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    href = xasprintf("%s/vnflcm/v%d/%s", x->api_root, x->ver, path);
    l = json_pack("{s:s}", "href", href);
    free(href);
    return l;
}

/* ---- VNF instances ---- */

static const json_t *sol_info(const json_t *dep)
{
    return json_object_get(dep, "sol003");
}

json_t *sol_vnf_identity(const json_t *dep)
{
    const json_t *d = json_object_get(dep, "_descriptor");
    const char *version = jv_str(d, "version", "1.0");

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "vnfInstanceId",
                     doc_str(dep, "id"), "vnfInstanceName",
                     jv_str(sol_info(dep), "vnfInstanceName", doc_str(dep, "id")), "vnfdId",
                     jv_str(dep, "vnfd", ""), "vnfProvider", jv_str(d, "vendor", "unknown"),
                     "vnfProductName", jv_str(d, "name", jv_str(d, "id", "")), "vnfSoftwareVersion",
                     version, "vnfdVersion", version, "site", jv_str(dep, "site", "local"));
}

static bool instantiated(const json_t *dep)
{
    return dep_status_of(dep) != DEP_NOT_INSTANTIATED;
}

/* The NFVO's vimConnectionInfo as it gave it (without credentials), else
 * the instance's site as the one VIM; an array with ids in v1, a map in v2. */
static json_t *vim_info(const struct sol_ctx *x, const json_t *dep)
{
    const json_t *given = json_object_get(sol_info(dep), "vimConnectionInfo"), *e;
    const char *site = jv_str(dep, "site", "local"), *key;
    json_t *v, *list;

    if (json_object_size(given) && x->ver == 2)
        return json_deep_copy(given);
    if (json_object_size(given)) {
        list = json_array();
        json_object_foreach((json_t *)given, key, e)
        {
            v = json_deep_copy(e);
            json_object_set_new(v, "id", json_string(key));
            json_array_append_new(list, v);
        }
        return list;
    }
    v = json_pack("{s:s, s:s, s:{s:s}}", "vimId", site, "vimType", "VNFM.SITE", "extra", "site",
                  site);

    if (x->ver == 1) { /* v1: an array of VimConnectionInfo with an id */
        json_object_set_new(v, "id", json_string(site));
        return json_pack("[o]", v);
    }
    return json_pack("{s:o}", site, v); /* v2: a map (SOL003 v3.3.1 5.5.2.2) */
}

/* The VI's MAC address, as the proc VIM derives it from the address. */
static void vi_mac(const char *ip, char *buf, size_t size)
{
    unsigned a = 0, b = 0, c = 0, d = 0;

    sscanf(ip ? ip : "", "%u.%u.%u.%u", &a, &b, &c, &d);
    snprintf(buf, size, "02:76:%02x:%02x:%02x:%02x", a & 255, b & 255, c & 255, d & 255);
}

/* VnfExtCpInfo: each VI's eth0 on the site network is reachable from
 * outside the VNF, so it is an external connection point. */
static json_t *ext_cp(const struct sol_ctx *x, const json_t *vi)
{
    char id[96], mac[32];
    json_t *cp;

    snprintf(id, sizeof(id), "%s-eth0", doc_str(vi, "id"));
    vi_mac(doc_str(vi, "ip"), mac, sizeof(mac));
    cp = json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:[{s:s, s:[s], s:b}]}}]}", "id", id, "cpdId",
                   "eth0", "cpProtocolInfo", "layerProtocol", "IP_OVER_ETHERNET", "ipOverEthernet",
                   "macAddress", mac, "ipAddresses", "type", "IPV4", "addresses",
                   jv_str(vi, "ip", ""), "isDynamic", 0);
    if (x->ver == 2) {
        json_object_set_new(cp, "cpConfigId", json_string(doc_str(vi, "id")));
        json_object_set_new(cp, "associatedVnfcCpId", json_string(id));
    }
    return cp;
}

static json_t *vnfc_resource(const json_t *vi)
{
    char cp[96];

    snprintf(cp, sizeof(cp), "%s-eth0", doc_str(vi, "id"));
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}], s:{s:s, s:s, s:s?, s:I, s:I}}", "id",
        doc_str(vi, "id"), "vduId", jv_str(vi, "vdu", ""), "computeResource", "vimConnectionId",
        jv_str(vi, "site", "local"), "resourceId", doc_str(vi, "id"), "vimLevelResourceType",
        "netns+cgroup", "vnfcCpInfo", "id", cp, "cpdId", "eth0", "vnfExtCpId", cp, "metadata",
        "name", jv_str(vi, "name", ""), "state", jv_str(vi, "state", ""), "ip", doc_str(vi, "ip"),
        "pid", (json_int_t)doc_int(vi, "pid", 0), "restarts",
        (json_int_t)doc_int(vi, "restarts", 0));
}

static json_t *vnfc_info(const json_t *vi)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "id", doc_str(vi, "id"), "vduId",
                     jv_str(vi, "vdu", ""), "vnfcResourceInfoId", doc_str(vi, "id"), "vnfcState",
                     vi_state_of(vi) == VIS_RUNNING ? "STARTED" : "STOPPED");
}

/* scaleStatus and maxScaleLevels: one aspect per VDU (docs/SOL003.md). */
static void scale_status(const json_t *dep, const json_t *vis, json_t *info)
{
    const json_t *vdus = json_object_get(json_object_get(dep, "_descriptor"), "vdus"), *vdu, *vi;
    json_t *status = json_array(), *max = json_array();
    size_t i, k;

    json_array_foreach(vdus, i, vdu)
    {
        struct vnfd_scaling s;
        unsigned n = 0;

        vnfd_vdu_scaling(vdu, &s);
        json_array_foreach(vis, k, vi)
        {
            n += strcmp(jv_str(vi, "vdu", ""), doc_str(vdu, "id")) == 0;
        }
        json_array_append_new(status, json_pack("{s:s, s:s, s:i}", "aspectId", vnfd_vdu_aspect(vdu),
                                                "vnfdId", jv_str(dep, "vnfd", ""), "scaleLevel",
                                                sol_scale_level(n, &s)));
        json_array_append_new(max, json_pack("{s:s, s:s, s:i}", "aspectId", vnfd_vdu_aspect(vdu),
                                             "vnfdId", jv_str(dep, "vnfd", ""), "scaleLevel",
                                             sol_max_scale_level(&s)));
    }
    json_object_set_new(info, "scaleStatus", status);
    json_object_set_new(info, "maxScaleLevels", max);
}

static json_t *instantiated_info(const struct sol_ctx *x, const json_t *dep, const json_t *vis)
{
    json_t *info, *cps = json_array(), *res = json_array(), *vnfcs = json_array();
    const json_t *vi;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        json_array_append_new(cps, ext_cp(x, vi));
        json_array_append_new(res, vnfc_resource(vi));
        json_array_append_new(vnfcs, vnfc_info(vi));
    }
    info = json_pack("{s:s, s:s, s:o, s:o, s:o}", "flavourId", jv_str(dep, "flavour", "default"),
                     "vnfState", dep_status_of(dep) == DEP_STOPPED ? "STOPPED" : "STARTED",
                     "extCpInfo", cps, "vnfcResourceInfo", res, "vnfcInfo", vnfcs);
    scale_status(dep, vis, info);
    if (doc_str(dep, "instantiation_level"))
        json_object_set_new(info, "instantiationLevelId",
                            json_string(doc_str(dep, "instantiation_level")));
    return info;
}

static json_t *instance_links(const struct sol_ctx *x, const json_t *dep)
{
    static const char *const tasks[][2] = {
        {"terminate", "terminate"},          {"scale", "scale"}, {"scaleToLevel", "scale_to_level"},
        {"changeFlavour", "change_flavour"}, {"heal", "heal"},   {"operate", "operate"},
    };
    const char *id = doc_str(dep, "id");
    json_t *l = json_pack("{s:o}", "self", link(x, "vnf_instances/%s", id));

    if (!instantiated(dep)) {
        json_object_set_new(l, "instantiate", link(x, "vnf_instances/%s/instantiate", id));
        return l;
    }
    for (size_t i = 0; i < ARRAY_SIZE(tasks); i++)
        json_object_set_new(l, tasks[i][0], link(x, "vnf_instances/%s/%s", id, tasks[i][1]));
    return l;
}

json_t *sol_instance(const struct sol_ctx *x, const json_t *dep, const json_t *vis)
{
    static const char *const optional[] = {"vnfInstanceDescription", "vnfConfigurableProperties",
                                           "metadata", "extensions"};
    json_t *inst = sol_vnf_identity(dep);

    json_object_set(inst, "id", json_object_get(inst, "vnfInstanceId"));
    json_object_del(inst, "vnfInstanceId");
    json_object_del(inst, "site"); /* the identity's, for occurrences: not a VnfInstance member */
    for (size_t i = 0; i < ARRAY_SIZE(optional); i++)
        if (json_object_get(sol_info(dep), optional[i]))
            json_object_set(inst, optional[i], json_object_get(sol_info(dep), optional[i]));
    json_object_set_new(inst, "vimConnectionInfo", vim_info(x, dep));
    json_object_set_new(inst, "instantiationState",
                        json_string(instantiated(dep) ? "INSTANTIATED" : "NOT_INSTANTIATED"));
    if (instantiated(dep))
        json_object_set_new(inst, "instantiatedVnfInfo", instantiated_info(x, dep, vis));
    json_object_set_new(inst, "_links", instance_links(x, dep));
    return inst;
}

/* ---- operation occurrences ---- */

/* operationParams of a native operation (SOL003 ones keep their request). */
static json_t *native_params(const json_t *op)
{
    const char *type = doc_str(op, "type");
    const json_t *p = json_object_get(op, "params");

    if (strcmp(type, "deploy") == 0)
        return json_pack("{s:s, s:O}", "flavourId", "default", "additionalParams", p);
    if (strcmp(type, "undeploy") == 0)
        return json_pack("{s:s}", "terminationType", "FORCEFUL");
    if (strcmp(type, "heal") == 0)
        return json_pack("{s:O}", "vnfcInstanceId", json_object_get(op, "vis"));
    if (strcmp(type, "scale") == 0) {
        long long from = jv_int(p, "from", 0), to = jv_int(p, "to", 0);

        return json_pack("{s:s, s:s, s:I}", "type", to > from ? "SCALE_OUT" : "SCALE_IN",
                         "aspectId", jv_str(p, "aspect", jv_str(p, "vdu", "")), "numberOfSteps",
                         (json_int_t)(to > from ? to - from : from - to));
    }
    return json_deep_copy(p);
}

static const char *change_type(const json_t *op)
{
    const char *plan = jv_str(op, "_orig_plan", jv_str(op, "_plan", ""));

    if (!strcmp(plan, "deploy") || !strcmp(plan, "scale_out") || !strcmp(plan, "rescale"))
        return "ADDED";
    if (!strcmp(plan, "undeploy") || !strcmp(plan, "terminate") || !strcmp(plan, "scale_in"))
        return "REMOVED";
    return "MODIFIED";
}

static void add_vnfcs(json_t *out, const json_t *op, const char *key, const char *type)
{
    const json_t *vdus = json_object_get(op, "_vdus"), *id;
    const char *site = jv_str(json_object_get(op, "_vnf"), "site", "local");
    size_t i;

    json_array_foreach(json_object_get(op, key), i, id)
    {
        const char *vi = json_string_value(id);

        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", vi, "vduId",
                                        jv_str(vdus, vi, ""), "changeType", type, "computeResource",
                                        "vimConnectionId", site, "resourceId", vi,
                                        "vimLevelResourceType", "netns+cgroup"));
    }
}

/* affectedVnfcs: what the operation did to VIs (none once rolled back). */
static json_t *affected_vnfcs(const json_t *op)
{
    const char *state = sol_op_state(op);
    json_t *out = json_array();

    if (!strcmp(state, "STARTING") || !strcmp(state, "ROLLED_BACK"))
        return out;
    add_vnfcs(out, op, "vis", change_type(op));
    add_vnfcs(out, op, "vis_in", "REMOVED");
    return out;
}

static json_t *op_error(const json_t *op)
{
    if (!doc_str(op, "error") || op_state_of(op) == OP_COMPLETED)
        return NULL;
    return json_pack("{s:s, s:i, s:s}", "title", "Lifecycle operation failed", "status", 422,
                     "detail", doc_str(op, "error"));
}

static json_t *op_links(const struct sol_ctx *x, const json_t *op)
{
    const char *id = doc_str(op, "id"), *state = sol_op_state(op);
    json_t *l = json_pack("{s:o, s:o}", "self", link(x, "vnf_lcm_op_occs/%s", id), "vnfInstance",
                          link(x, "vnf_instances/%s", doc_str(op, "deployment")));

    if (strcmp(state, "FAILED_TEMP") == 0) {
        json_object_set_new(l, "retry", link(x, "vnf_lcm_op_occs/%s/retry", id));
        json_object_set_new(l, "rollback", link(x, "vnf_lcm_op_occs/%s/rollback", id));
        json_object_set_new(l, "fail", link(x, "vnf_lcm_op_occs/%s/fail", id));
    } else if (!strcmp(state, "STARTING") || !strcmp(state, "PROCESSING") ||
               !strcmp(state, "ROLLING_BACK")) {
        json_object_set_new(l, "cancel", link(x, "vnf_lcm_op_occs/%s/cancel", id));
    }
    return l;
}

json_t *sol_op_occ(const struct sol_ctx *x, const json_t *op)
{
    const json_t *req = json_object_get(op, "_sol_request");
    const char *state = sol_op_state(op);
    bool running = !strcmp(state, "STARTING") || !strcmp(state, "PROCESSING") ||
                   !strcmp(state, "ROLLING_BACK");
    json_t *occ, *err = op_error(op);

    occ = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:b, s:{s:o}}", "id", doc_str(op, "id"),
        "operationState", state, "stateEnteredTime",
        jv_str(op, "state_entered", jv_str(op, "updated", jv_str(op, "created", ""))), "startTime",
        jv_str(op, "created", ""), "vnfInstanceId", doc_str(op, "deployment"), "operation",
        sol_op_name(doc_str(op, "type")) ? sol_op_name(doc_str(op, "type")) : "MODIFY_INFO",
        "isAutomaticInvocation", json_is_true(json_object_get(op, "automatic")), "operationParams",
        req ? json_deep_copy(req) : native_params(op), "isCancelPending",
        running && json_is_true(json_object_get(op, "_cancel")), "resourceChanges", "affectedVnfcs",
        affected_vnfcs(op));
    if (doc_str(op, "cancel_mode") && running && json_is_true(json_object_get(op, "_cancel")))
        json_object_set_new(occ, "cancelMode", json_string(doc_str(op, "cancel_mode")));
    if (err)
        json_object_set_new(occ, "error", err);
    if (!strcmp(state, "COMPLETED") && json_object_get(op, "_changed_info"))
        json_object_set(occ, "changedInfo", json_object_get(op, "_changed_info"));
    json_object_set_new(occ, "_links", op_links(x, op));
    return occ;
}

/* ---- subscriptions and notifications ---- */

json_t *sol_subscription(const struct sol_ctx *x, const json_t *sub)
{
    json_t *out = json_pack("{s:s, s:s, s:{s:o}}", "id", doc_str(sub, "id"), "callbackUri",
                            jv_str(sub, "callbackUri", ""), "_links", "self",
                            link(x, "subscriptions/%s", doc_str(sub, "id")));

    if (json_is_object(json_object_get(sub, "filter")))
        json_object_set(out, "filter", json_object_get(sub, "filter"));
    if (x->ver == 2)
        json_object_set_new(out, "verbosity", json_string(jv_str(sub, "verbosity", "FULL")));
    return out;
}

static json_t *notification(const struct sol_ctx *x, const char *type, const char *sub_id)
{
    char id[ID_UUID_LEN + 1], now[TIME_STR_MAX];

    (void)x;
    id_uuid(id);
    return json_pack("{s:s, s:s, s:s, s:s}", "id", id, "notificationType", type, "subscriptionId",
                     sub_id, "timeStamp", time_fmt(wall_ms(), now));
}

json_t *sol_op_notification(const struct sol_ctx *x, const json_t *op, const json_t *sub,
                            bool start)
{
    const char *sub_id = doc_str(sub, "id");
    bool brief = x->ver == 2 && strcmp(jv_str(sub, "verbosity", "FULL"), "SHORT") == 0;
    json_t *n = notification(x, "VnfLcmOperationOccurrenceNotification", sub_id);
    const char *id = doc_str(op, "id"), *dep = doc_str(op, "deployment");
    json_t *err = op_error(op), *vnfcs = affected_vnfcs(op);

    json_object_update_new(
        n, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:{s:o, s:o, s:o}}", "notificationStatus",
                     start ? "START" : "RESULT", "operationState", sol_op_state(op),
                     "vnfInstanceId", dep, "operation", sol_op_name(doc_str(op, "type")),
                     "isAutomaticInvocation", json_is_true(json_object_get(op, "automatic")),
                     "vnfLcmOpOccId", id, "_links", "vnfInstance", link(x, "vnf_instances/%s", dep),
                     "subscription", link(x, "subscriptions/%s", sub_id), "vnfLcmOpOcc",
                     link(x, "vnf_lcm_op_occs/%s", id)));
    if (x->ver == 2) /* SHORT: what changed is read from the occurrence (SOL003 v3 6.5.2.2) */
        json_object_set_new(n, "verbosity", json_string(brief ? "SHORT" : "FULL"));
    if (!start && !brief && json_array_size(vnfcs))
        json_object_set(n, "affectedVnfcs", vnfcs);
    json_decref(vnfcs);
    if (err)
        json_object_set_new(n, "error", err);
    return n;
}

json_t *sol_id_notification(const struct sol_ctx *x, const char *type, const char *vnf_id,
                            const char *sub_id)
{
    json_t *n = notification(x, type, sub_id);

    json_object_set_new(n, "vnfInstanceId", json_string(vnf_id));
    json_object_set_new(n, "_links",
                        json_pack("{s:o, s:o}", "vnfInstance", link(x, "vnf_instances/%s", vnf_id),
                                  "subscription", link(x, "subscriptions/%s", sub_id)));
    return n;
}

/* ---- filters (SOL003 4.4.1.5, 5.5.3.12) ---- */

/* Whether array list (absent: anything) holds the string s. */
static bool listed(const json_t *list, const char *s)
{
    const json_t *v;
    size_t i;

    if (!list)
        return true;
    json_array_foreach(list, i, v)
    {
        if (s && json_string_value(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static bool version_match(const json_t *versions, const json_t *id)
{
    const json_t *v;
    size_t i;

    if (!versions)
        return true;
    json_array_foreach(versions, i, v)
    {
        if (strcmp(jv_str(v, "vnfSoftwareVersion", ""), doc_str(id, "vnfSoftwareVersion")) == 0 &&
            listed(json_object_get(v, "vnfdVersions"), doc_str(id, "vnfdVersion")))
            return true;
    }
    return false;
}

static bool product_match(const json_t *providers, const json_t *id)
{
    const json_t *p, *prod;
    size_t i, k;

    if (!providers)
        return true;
    json_array_foreach(providers, i, p)
    {
        if (strcmp(jv_str(p, "vnfProvider", ""), doc_str(id, "vnfProvider")) != 0)
            continue;
        if (!json_object_get(p, "vnfProducts"))
            return true;
        json_array_foreach(json_object_get(p, "vnfProducts"), k, prod)
        {
            if (strcmp(jv_str(prod, "vnfProductName", ""), doc_str(id, "vnfProductName")) == 0 &&
                version_match(json_object_get(prod, "versions"), id))
                return true;
        }
    }
    return false;
}

bool sol_filter_match(const json_t *filter, const char *notif_type, const json_t *id,
                      const char *op_name, const char *op_state)
{
    const json_t *inst = json_object_get(filter, "vnfInstanceSubscriptionFilter");

    if (!listed(json_object_get(filter, "notificationTypes"), notif_type))
        return false;
    if (op_name && (!listed(json_object_get(filter, "operationTypes"), op_name) ||
                    !listed(json_object_get(filter, "operationStates"), op_state)))
        return false;
    return listed(json_object_get(inst, "vnfdIds"), doc_str(id, "vnfdId")) &&
           product_match(json_object_get(inst, "vnfProductsFromProviders"), id) &&
           listed(json_object_get(inst, "vnfInstanceIds"), doc_str(id, "vnfInstanceId")) &&
           listed(json_object_get(inst, "vnfInstanceNames"), doc_str(id, "vnfInstanceName"));
}
