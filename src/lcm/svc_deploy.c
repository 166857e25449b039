/* Deployment requests: deploy, undeploy, heal, scale. Each checks what it
 * can against the store, writes the records it changes and the operation
 * record (the journal), and answers 202; the lifecycle engine does the work
 * once the transaction has committed. */
#include "lcm/deploy_ops.h"
#include "core/states.h"
#include "lcm/observe.h"
#include "lcm/lifecycle.h"
#include "lcm/sites.h"
#include "lcm/remote.h"
#include "lcm/svc_lcm.h"
#include "core/names.h"
#include "core/runas.h"
#include "catalog/vnfd.h"
#include "util/jsonv.h"
#include "util/mem.h"
#include "util/net4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void accepted(struct txn *t, json_t *op)
{
    snprintf(t->res.location, sizeof(t->res.location), "/v0/operations/%s", doc_str(op, "id"));
    result_ok(&t->res, 202, doc_public(op));
    json_decref(op);
}

/* The deployment of the path, owned by the caller and not busy; one that
 * another manager runs goes to the remote hooks unless remote_ok. */
static json_t *idle_deployment(struct core *c, struct txn *t, bool allow_failed, bool remote_ok)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, t->args[0]);
    char obj[96];

    if (!dep || !principal_owns(&t->who, doc_str(dep, "tenant"))) {
        result_not_found(&t->res, "deployment", t->args[0]);
        goto fail;
    }
    if (c->remote && doc_str(dep, "manager") && !remote_ok) { /* another manager runs it */
        c->remote->operate(c, t, dep);
        goto fail;
    }
    snprintf(obj, sizeof(obj), "deployment/%s", t->args[0]);
    if (json_object_get(dep, "_handover")) { /* moving to or from another manager (fed/) */
        const json_t *h = json_object_get(dep, "_handover");

        result_fail(&t->res, 409, "conflict", "object", obj,
                    "deployment '%s' is being handed over between the managers of its site "
                    "(%s %s); try again when that ends",
                    t->args[0], jv_str(h, "to", NULL) ? "to" : "from",
                    jv_str(h, "to", jv_str(h, "from", "?")));
        goto fail;
    }
    if (doc_str(dep, "operation")) {
        json_t *op = core_load(c, STORE_OP, doc_str(dep, "operation"));

        result_fail(&t->res, 409, "conflict", "object", obj,
                    "deployment '%s' is busy with operation %s (%s); try again when it ends",
                    t->args[0], doc_str(dep, "operation"), op ? doc_str(op, "type") : "?");
        json_decref(op);
        goto fail;
    }
    if (dep_status_of(dep) == DEP_NOT_INSTANTIATED && !allow_failed) {
        /* a SOL003 VNF instance not instantiated yet (docs/SOL003.md) */
        result_fail(&t->res, 409, "conflict", "object", obj,
                    "deployment '%s' is not instantiated; instantiate it first", t->args[0]);
        goto fail;
    }
    if (!allow_failed && dep_status_of(dep) == DEP_FAILED) {
        result_fail(&t->res, 409, "conflict", "object", obj,
                    "deployment '%s' has failed (%s); undeploy it", t->args[0],
                    jv_str(dep, "error", "see its operations"));
        goto fail;
    }
    return dep;
fail:
    json_decref(dep);
    return NULL;
}

static json_t *get_idle_deployment(struct core *c, struct txn *t, bool allow_failed)
{
    return idle_deployment(c, t, allow_failed, false);
}

static json_t *vi_list(struct core *c, const char *dep_id)
{
    struct store_where w = {"deployment", dep_id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *vis = NULL;

    store_list(c->st, STORE_VI, &o, &vis);
    return vis ? vis : json_array();
}

/* Adds a pending VI record with the next free address of the site, unless
 * the site's driver gives VIs their addresses (then it has none yet). */
static json_t *new_vi(struct core *c, struct site_rt *site, const json_t *dep, const json_t *vdu,
                      unsigned index, struct result *res)
{
    char id[VIM_ID_MAX], name[VIM_NAME_MAX], ip[IP4_STR_MAX] = "", gw[IP4_STR_MAX] = "";
    bool by_site = site->ops->addressing == VIM_ADDR_SITE;
    uint32_t addr;
    uid_t uid;
    json_t *vi;

    if (by_site && site_alloc_ip(c, site, &addr)) {
        result_fail(res, 409, "insufficient-capacity", "object", "site",
                    "site %s has no free address left in its subnet", site->id);
        return NULL;
    }
    if (runas_claim(c, &uid)) {
        result_fail(res, 503, "unavailable", NULL, NULL,
                    "no sandbox identity is left for a new VI (--sandbox-uids)");
        return NULL;
    }
    if (by_site) {
        ip4_fmt(addr, ip);
        ip4_fmt(site->gateway, gw);
    }
    id_random(id, "", 10);
    snprintf(name, sizeof(name), "%s/%s/%u", id_name(doc_str(dep, "id")), doc_str(vdu, "id"),
             index);
    vi = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s?, s:i, s:s?, s:i, s:f, s:I, s:I, "
                   "s:i, s:n, s:n}",
                   "id", id, "name", name, "deployment", doc_str(dep, "id"), "tenant",
                   doc_str(dep, "tenant"), "site", site->id, "index", index, "vdu",
                   doc_str(vdu, "id"), "state", vi_state_name(VIS_PENDING), "ip",
                   by_site ? ip : NULL, "prefix_len", site->prefix_len, "gateway",
                   by_site ? gw : NULL, "pid", 0, "vcpu", vnfd_vdu_vcpu_milli(vdu) / 1000.0,
                   "memory_mb", (json_int_t)vnfd_vdu_memory_mb(vdu), "disk_mb",
                   (json_int_t)vnfd_vdu_disk_mb(vdu), "restarts", 0, "started", "error");
    doc_set_int(vi, "_uid", uid);
    doc_touch(vi, "created");
    doc_touch(vi, "updated");
    if (store_put(c->st, STORE_VI, vi)) {
        json_decref(vi);
        result_fail(res, 503, "unavailable", NULL, NULL, "cannot write the VI record");
        return NULL;
    }
    return vi;
}

struct deploy_req {
    json_t *tenant, *vnfd, *params, *instances;
    json_t *vnfd_rec; /* the VNFD's record, keyed as its tenant names it (core/names.h) */
    struct site_rt *site;
    const char *site_id;
};

static void deploy_req_done(struct deploy_req *d)
{
    json_decref(d->tenant);
    json_decref(d->vnfd);
    json_decref(d->params);
    json_decref(d->instances);
    json_decref(d->vnfd_rec);
}

static int check_tenant(struct core *c, struct txn *t, struct deploy_req *d)
{
    const char *tenant = jv_str(t->body, "tenant", t->who.admin ? "default" : t->who.tenant);

    if (!t->who.admin && strcmp(tenant, t->who.tenant) != 0)
        return result_fail(&t->res, 403, "forbidden", "field", "tenant",
                           "a tenant token deploys only into its own tenant '%s'", t->who.tenant);
    d->tenant = core_load(c, STORE_TENANT, tenant);
    if (!d->tenant)
        return result_fail(&t->res, 404, "not-found", "field", "tenant", "tenant '%s' not found",
                           tenant);
    if (!json_is_true(json_object_get(d->tenant, "enabled")))
        return result_fail(&t->res, 409, "conflict", "field", "tenant", "tenant '%s' is disabled",
                           tenant);
    return 0;
}

static int check_vnfd(struct core *c, struct txn *t, struct deploy_req *d)
{
    const char *id = jv_str(t->body, "vnfd", "");
    char *key = names_key(c->st, doc_str(d->tenant, "id"), STORE_VNFD, id, &t->res);
    json_t *rec = core_load(c, STORE_VNFD, key);
    const char *owner = rec ? doc_str(rec, "tenant") : NULL;

    free(key);
    if (!rec || (owner && strcmp(owner, doc_str(d->tenant, "id")) != 0)) {
        json_decref(rec);
        return result_fail(&t->res, 404, "not-found", "field", "vnfd", "VNFD '%s' not found", id);
    }
    if (json_is_true(json_object_get(rec, "disabled"))) { /* its VNF package's (PACKAGES.md) */
        json_decref(rec);
        return result_fail(&t->res, 409, "conflict", "field", "vnfd",
                           "VNFD '%s' comes from a DISABLED VNF package: enable it first", id);
    }
    d->vnfd = json_incref(json_object_get(rec, "descriptor"));
    d->vnfd_rec = rec;
    return 0;
}

/* 409 when the site's driver lacks what it needs in the descriptor's VDUs
 * (vim.h vdu_fields: proc runs a command). */
static int check_driver(const struct site_rt *site, const json_t *vnfd, struct result *res)
{
    struct jv_error err;

    if (vnfd_check_driver(vnfd, site->ops, &err) == 0)
        return 0;
    return result_fail(res, 409, "conflict", "field", "vnfd",
                       "VNFD '%s' cannot run on site '%s' (the %s VIM): %s", doc_str(vnfd, "id"),
                       site->id, site->ops->name, err.message);
}

/* A site another manager runs: the deploy is its (lcm/remote.h); 1 then. */
static int remote_site(struct core *c, struct txn *t, struct deploy_req *d)
{
    json_t *site;
    int r = 0;

    if (!c->remote)
        return 0;
    site = core_load(c, STORE_SITE, jv_str(t->body, "site", c->cfg->site));
    if (site && site_is_branch(site)) {
        char key[KEY_BUF_MAX];

        /* keys, not names (core/names.h): the cloud keys the deployment, and
         * the branch deploys it and its VNFD, as the tenant means them here */
        id_scoped(key, doc_str(d->tenant, "id"), jv_str(t->body, "name", ""));
        json_object_set_new(t->body, "name", json_string(key));
        json_object_set_new(t->body, "vnfd", json_string(doc_str(d->vnfd_rec, "id")));
        c->remote->deploy(c, t, site, d->tenant, d->vnfd_rec);
        r = 1;
    }
    json_decref(site);
    return r;
}

static int check_site(struct core *c, struct txn *t, struct deploy_req *d)
{
    d->site_id = jv_str(t->body, "site", c->cfg->site);
    d->site = site_get(c, d->site_id);
    if (!d->site)
        return result_fail(&t->res, 404, "not-found", "field", "site", "site '%s' not found",
                           d->site_id);
    if (!d->site->vim)
        return result_fail(&t->res, 503, "unavailable", "field", "site",
                           "the VIM of site '%s' is not available: %s", d->site_id,
                           d->site->health_msg);
    return check_driver(d->site, d->vnfd, &t->res);
}

/* instances: the VDUs' initial counts, overridden by the request. */
static int check_instances(struct txn *t, struct deploy_req *d, double *vcpu, long long *mem,
                           long long *disk)
{
    const json_t *given = json_object_get(t->body, "instances");
    const json_t *vdus = json_object_get(d->vnfd, "vdus"), *vdu;
    const char *key;
    json_t *v;
    size_t i;
    char field[128];

    json_object_foreach((json_t *)given, key, v)
    {
        struct vnfd_scaling s;

        snprintf(field, sizeof(field), "instances.%s", key);
        vdu = vnfd_vdu(d->vnfd, key);
        if (!vdu)
            return result_fail(&t->res, 400, "invalid-value", "field", field,
                               "%s: the VNFD has no VDU '%s'", field, key);
        vnfd_vdu_scaling(vdu, &s);
        if (json_integer_value(v) < s.min || json_integer_value(v) > s.max)
            return result_fail(&t->res, 400, "invalid-value", "field", field,
                               "%s: must be between scaling.min %u and scaling.max %u", field,
                               s.min, s.max);
    }
    d->instances = json_object();
    json_array_foreach(vdus, i, vdu)
    {
        struct vnfd_scaling s;
        const char *id = doc_str(vdu, "id");
        long long n;

        vnfd_vdu_scaling(vdu, &s);
        n = jv_int(given, id, s.initial);
        json_object_set_new(d->instances, id, json_integer(n));
        *vcpu += n * (vnfd_vdu_vcpu_milli(vdu) / 1000.0);
        *mem += n * vnfd_vdu_memory_mb(vdu);
        *disk += n * vnfd_vdu_disk_mb(vdu);
    }
    return 0;
}

/* The new deployment's store key: the tenant's name (core/names.h), or the
 * cloud's key as it is when the cloud instructs this branch (fed/). */
static void deploy_key(const struct txn *t, const struct deploy_req *d, char key[KEY_BUF_MAX])
{
    if (t->args[0])
        snprintf(key, KEY_BUF_MAX, "%s", t->args[0]);
    else
        id_scoped(key, doc_str(d->tenant, "id"), jv_str(t->body, "name", ""));
}

static json_t *new_deployment(struct txn *t, struct deploy_req *d)
{
    const json_t *creds = json_object_get(t->body, "credentials");
    char password[21], key[KEY_BUF_MAX];
    json_t *dep, *mon, *rules;

    id_random(password, "", 20);
    deploy_key(t, d, key);
    dep = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:O, s:s, s:{s:s}, s:O, s:O, s:s}", "id", key,
        "tenant", doc_str(d->tenant, "id"), "vnfd", doc_str(d->vnfd_rec, "id"), "site", d->site_id,
        "status", dep_status_name(DEP_DEPLOYING), "stage", stage_name(ST_ONBOARDING), "operation",
        "error", "params", d->params, "license", jv_str(t->body, "license", ""), "credentials",
        "username", jv_str(json_object_get(d->vnfd, "credentials"), "username", "admin"),
        "instances", d->instances, "_descriptor", d->vnfd, "_password",
        jv_str(creds, "password", password));
    /* the deployment's own monitoring and rules, changeable at run time (F16) */
    mon = json_object_get(d->vnfd, "monitoring");
    rules = json_object_get(d->vnfd, "rules");
    json_object_set_new(dep, "monitoring", mon ? json_incref(mon) : json_object());
    json_object_set_new(dep, "rules", rules ? json_incref(rules) : json_array());
    doc_touch(dep, "created");
    doc_touch(dep, "updated");
    return dep;
}

static int add_vis(struct core *c, struct txn *t, struct deploy_req *d, json_t *dep, json_t *ids)
{
    const json_t *vdu;
    size_t i;

    json_array_foreach(json_object_get(d->vnfd, "vdus"), i, vdu)
    {
        long long n = jv_int(d->instances, doc_str(vdu, "id"), 0);

        for (long long k = 0; k < n; k++) {
            json_t *vi = new_vi(c, d->site, dep, vdu, (unsigned)k, &t->res);

            if (!vi)
                return -1;
            json_array_append(ids, json_object_get(vi, "id"));
            json_decref(vi);
        }
    }
    return 0;
}

void svc_deploy(struct core *c, struct txn *t)
{
    struct deploy_req d = {0};
    const char *name = jv_str(t->body, "name", "");
    double vcpu = 0;
    long long mem = 0, disk = 0;
    json_t *dep = NULL, *ids;
    struct jv_error err;
    char key[KEY_BUF_MAX];

    if (check_tenant(c, t, &d))
        goto out;
    deploy_key(t, &d, key);
    if (names_taken(c->st, doc_str(d.tenant, "id"), STORE_DEPLOYMENT, name) ||
        (dep = core_load(c, STORE_DEPLOYMENT, key))) {
        result_fail(&t->res, 409, "conflict", "field", "name", "deployment '%s' already exists",
                    name);
        goto out;
    }
    if (check_vnfd(c, t, &d) || remote_site(c, t, &d) || check_site(c, t, &d))
        goto out;
    if (vnfd_resolve_params(d.vnfd, json_object_get(t->body, "params"), &d.params, &err)) {
        result_fail(&t->res, 400, err.reason, "field", err.field, "%s", err.message);
        goto out;
    }
    if (check_instances(t, &d, &vcpu, &mem, &disk) ||
        site_admit(c, d.site_id, vcpu, mem, disk, &t->res))
        goto out;
    dep = new_deployment(t, &d);
    ids = json_array();
    if (store_put(c->st, STORE_DEPLOYMENT, dep) || add_vis(c, t, &d, dep, ids)) {
        if (t->res.status == 0)
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the deployment");
        json_decref(ids);
        goto out;
    }
    lc_dep_created(c, dep);
    accepted(t, lc_op_start(c, dep, "deploy", "deploy", ids, NULL, t, false));
out:
    json_decref(dep);
    deploy_req_done(&d);
}

/* A SOL003 VNF instance that was never instantiated has nothing on any
 * VIM: undeploying it deletes the record at once (204). */
static void undeploy_not_instantiated(struct core *c, struct txn *t, json_t *dep)
{
    store_delete(c->st, STORE_DEPLOYMENT, doc_str(dep, "id"));
    lc_dep_deleted(c, dep);
    result_ok(&t->res, 204, NULL);
    json_decref(dep);
}

void svc_undeploy(struct core *c, struct txn *t)
{
    json_t *dep = get_idle_deployment(c, t, true), *vis, *vi, *ids;
    size_t i;

    if (!dep)
        return;
    if (dep_status_of(dep) == DEP_NOT_INSTANTIATED) {
        undeploy_not_instantiated(c, t, dep); /* nothing runs: the record goes */
        return;
    }
    vis = vi_list(c, t->args[0]);
    ids = json_array();
    json_array_foreach(vis, i, vi)
    {
        json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    doc_set_str(dep, "status", dep_status_name(DEP_UNDEPLOYING));
    accepted(t, lc_op_start(c, dep, "undeploy", "undeploy", ids, NULL, t, false));
    json_decref(dep);
}

int dep_heal(struct core *c, json_t *dep, json_t *ids, const char *policy, int attempts,
             const struct txn *t, bool automatic, struct result *res, json_t **op)
{
    json_t *params = json_pack("{s:s?}", "vi", t && t->body ? jv_str(t->body, "vi", NULL) : NULL);

    if (policy)
        json_object_set_new(params, "policy", json_string(policy));
    if (attempts > 0)
        json_object_set_new(params, "attempts", json_integer(attempts));
    doc_set_str(dep, "status", dep_status_name(DEP_HEALING));
    *op = lc_op_start(c, dep, "heal", "heal", ids, params, t, automatic);
    (void)res;
    return 0;
}

void svc_heal(struct core *c, struct txn *t)
{
    const char *want = jv_str(t->body, "vi", NULL);
    json_t *dep = get_idle_deployment(c, t, false), *vis, *vi, *ids, *op;
    size_t i;

    if (!dep)
        return;
    vis = vi_list(c, t->args[0]);
    ids = json_array();
    json_array_foreach(vis, i, vi)
    {
        bool named = want && (strcmp(want, doc_str(vi, "id")) == 0 ||
                              strcmp(want, doc_str(vi, "name")) == 0);

        if (named || (!want && vi_state_of(vi) != VIS_RUNNING))
            json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    if (json_array_size(ids) == 0) {
        if (want)
            result_fail(&t->res, 404, "not-found", "field", "vi", "deployment '%s' has no VI '%s'",
                        t->args[0], want);
        else
            result_fail(&t->res, 409, "conflict", "object", "deployment",
                        "every VI of '%s' is running; name one with 'vi' to restart it",
                        t->args[0]);
        json_decref(ids);
    } else if (dep_heal(c, dep, ids, jv_str(t->body, "policy", NULL), 0, t, false, &t->res, &op) ==
               0) {
        accepted(t, op);
    }
    json_decref(dep);
}

/* The VIs of vdu, highest index first. */
static json_t *vdu_vis(struct core *c, const char *dep_id, const char *vdu, unsigned *next_index)
{
    json_t *all = vi_list(c, dep_id), *out = json_array(), *vi;
    size_t i;

    *next_index = 0;
    json_array_foreach(all, i, vi)
    {
        unsigned idx = (unsigned)doc_int(vi, "index", 0);

        if (strcmp(doc_str(vi, "vdu"), vdu) != 0)
            continue;
        json_array_insert(out, 0, vi);
        if (idx + 1 > *next_index)
            *next_index = idx + 1;
    }
    json_decref(all);
    return out;
}

long long dep_vdu_count(struct core *c, const char *dep_id, const char *vdu)
{
    unsigned next;
    json_t *vis = vdu_vis(c, dep_id, vdu, &next);
    long long n = (long long)json_array_size(vis);

    json_decref(vis);
    return n;
}

static int scale_target(struct txn *t, const json_t *vdu, long long cur, long long *target)
{
    const json_t *count = json_object_get(t->body, "count"),
                 *delta = json_object_get(t->body, "delta");
    const char *field = count ? "count" : "delta";
    struct vnfd_scaling s;

    if (!count == !delta)
        return result_fail(&t->res, 400, "invalid-value", "field", "count",
                           "give exactly one of 'count' and 'delta'");
    vnfd_vdu_scaling(vdu, &s);
    *target = count ? json_integer_value(count) : cur + json_integer_value(delta);
    if (*target == cur)
        return result_fail(&t->res, 400, "invalid-value", "field", field,
                           "%s: VDU '%s' already has %lld instance%s", field, doc_str(vdu, "id"),
                           cur, cur == 1 ? "" : "s");
    if (*target < s.min || *target > s.max)
        return result_fail(&t->res, 400, "invalid-value", "field", field,
                           "%s: %lld instances is outside scaling.min %u .. scaling.max %u of "
                           "VDU '%s'",
                           field, *target, s.min, s.max, doc_str(vdu, "id"));
    return 0;
}

static json_t *scale_out(struct core *c, struct result *res, json_t *dep, const json_t *vdu,
                         long long n, unsigned next_index)
{
    struct site_rt *site = site_get(c, doc_str(dep, "site"));
    json_t *ids = json_array();

    if (!site || !site->vim) {
        result_fail(res, 503, "unavailable", "object", "site",
                    "the VIM of site '%s' is not available", doc_str(dep, "site"));
        goto fail;
    }
    if (check_driver(site, json_object_get(dep, "_descriptor"), res))
        goto fail;
    if (site_admit(c, site->id, n * (vnfd_vdu_vcpu_milli(vdu) / 1000.0),
                   n * vnfd_vdu_memory_mb(vdu), n * vnfd_vdu_disk_mb(vdu), res))
        goto fail;
    for (long long k = 0; k < n; k++) {
        json_t *vi = new_vi(c, site, dep, vdu, next_index + (unsigned)k, res);

        if (!vi)
            goto fail;
        json_array_append(ids, json_object_get(vi, "id"));
        json_decref(vi);
    }
    return ids;
fail:
    json_decref(ids);
    return NULL;
}

int dep_scale_to(struct core *c, json_t *dep, const char *vdu_id, long long target,
                 const struct txn *t, bool automatic, struct result *res, json_t **op)
{
    const json_t *vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), vdu_id);
    json_t *vis, *ids;
    long long cur;
    unsigned next;

    vis = vdu_vis(c, doc_str(dep, "id"), vdu_id, &next);
    cur = (long long)json_array_size(vis);
    if (target > cur) {
        ids = scale_out(c, res, dep, vdu, target - cur, next);
    } else {
        ids = json_array();
        for (long long k = 0; k < cur - target; k++)
            json_array_append(ids, json_object_get(json_array_get(vis, (size_t)k), "id"));
    }
    json_decref(vis);
    if (!ids)
        return -1;
    json_object_set_new(json_object_get(dep, "instances"), vdu_id, json_integer(target));
    doc_set_str(dep, "status", dep_status_name(DEP_SCALING));
    *op = lc_op_start(c, dep, "scale", target > cur ? "scale_out" : "scale_in", ids,
                      json_pack("{s:s, s:I, s:I}", "vdu", vdu_id, "from", (json_int_t)cur, "to",
                                (json_int_t)target),
                      t, automatic);
    return 0;
}

void svc_scale(struct core *c, struct txn *t)
{
    const char *vdu_id = jv_str(t->body, "vdu", "");
    json_t *dep = get_idle_deployment(c, t, false), *op;
    const json_t *vdu;
    long long target = 0;

    if (!dep)
        return;
    vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), vdu_id);
    if (!vdu)
        result_fail(&t->res, 400, "invalid-value", "field", "vdu",
                    "vdu: the deployment's VNFD has no VDU '%s'", vdu_id);
    else if (scale_target(t, vdu, dep_vdu_count(c, t->args[0], vdu_id), &target) == 0 &&
             dep_scale_to(c, dep, vdu_id, target, t, false, &t->res, &op) == 0)
        accepted(t, op);
    json_decref(dep);
}

/* ---- vertical scaling (F30) ---- */

int dep_resize(struct core *c, json_t *dep, const char *vdu_id, double vcpu, long long memory_mb,
               const struct txn *t, bool automatic, struct result *res, json_t **op)
{
    unsigned next;
    json_t *vis = vdu_vis(c, doc_str(dep, "id"), vdu_id, &next), *vi, *ids = json_array();
    json_t *from = json_object();
    double dv = 0;
    long long dm = 0;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        dv += vcpu - jv_num(vi, "vcpu", vcpu);
        dm += memory_mb - jv_int(vi, "memory_mb", memory_mb);
    }
    if (site_admit(c, doc_str(dep, "site"), dv > 0 ? dv : 0, dm > 0 ? dm : 0, 0, res)) {
        json_decref(vis);
        json_decref(ids);
        json_decref(from);
        return -1;
    }
    json_array_foreach(vis, i, vi)
    {
        json_object_set_new(from, doc_str(vi, "id"),
                            json_pack("{s:O, s:O}", "vcpu", json_object_get(vi, "vcpu"),
                                      "memory_mb", json_object_get(vi, "memory_mb")));
        json_object_set_new(vi, "vcpu", json_real(vcpu));
        json_object_set_new(vi, "memory_mb", json_integer(memory_mb));
        doc_touch(vi, "updated");
        store_put(c->st, STORE_VI, vi);
        json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    doc_set_str(dep, "status", dep_status_name(DEP_SCALING));
    *op = lc_op_start(c, dep, "resize", "resize", ids,
                      json_pack("{s:s, s:f, s:I, s:o}", "vdu", vdu_id, "vcpu", vcpu, "memory_mb",
                                (json_int_t)memory_mb, "from", from),
                      t, automatic);
    return 0;
}

void dep_vdu_size(struct core *c, const json_t *dep, const char *vdu_id, double *vcpu,
                  long long *memory_mb)
{
    const json_t *vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), vdu_id);
    unsigned next;
    json_t *vis = vdu_vis(c, doc_str(dep, "id"), vdu_id, &next), *first = json_array_get(vis, 0);

    *vcpu = jv_num(first, "vcpu", vnfd_vdu_vcpu_milli(vdu) / 1000.0);
    *memory_mb = jv_int(first, "memory_mb", vnfd_vdu_memory_mb(vdu));
    json_decref(vis);
}

void svc_resize(struct core *c, struct txn *t)
{
    const char *vdu_id = jv_str(t->body, "vdu", "");
    json_t *dep = get_idle_deployment(c, t, false), *op;
    const json_t *vdu;
    struct vnfd_vertical b;
    double vcpu;
    long long mem;

    if (!dep)
        return;
    vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), vdu_id);
    if (!vdu) {
        result_fail(&t->res, 400, "invalid-value", "field", "vdu",
                    "vdu: the deployment's VNFD has no VDU '%s'", vdu_id);
        goto out;
    }
    dep_vdu_size(c, dep, vdu_id, &vcpu, &mem);
    vcpu = jv_num(t->body, "vcpu", vcpu);
    mem = jv_int(t->body, "memory_mb", mem);
    vnfd_vdu_vertical(vdu, &b);
    if (vcpu < b.vcpu_min - 1e-9 || vcpu > b.vcpu_max + 1e-9)
        result_fail(&t->res, 400, "invalid-value", "field", "vcpu",
                    "vcpu: %.2f is outside scaling.vcpu_min %.2f .. scaling.vcpu_max %.2f of VDU "
                    "'%s'",
                    vcpu, b.vcpu_min, b.vcpu_max, vdu_id);
    else if (mem < b.memory_mb_min || mem > b.memory_mb_max)
        result_fail(&t->res, 400, "invalid-value", "field", "memory_mb",
                    "memory_mb: %lld is outside scaling.memory_mb_min %lld .. "
                    "scaling.memory_mb_max %lld of VDU '%s'",
                    mem, b.memory_mb_min, b.memory_mb_max, vdu_id);
    else if (dep_vdu_count(c, t->args[0], vdu_id) == 0)
        result_fail(&t->res, 409, "conflict", "field", "vdu", "VDU '%s' has no instance to resize",
                    vdu_id);
    else if (dep_resize(c, dep, vdu_id, vcpu, mem, t, false, &t->res, &op) == 0)
        accepted(t, op);
out:
    json_decref(dep);
}

/* ---- moves between a branch and the cloud (docs/FEDERATION.md "Moves") ---- */

void svc_move(struct core *c, struct txn *t)
{
    if (!c->remote || !c->remote->move) {
        result_fail(&t->res, 409, "not-a-cloud", NULL, NULL,
                    "moves are the cloud VNFM's: this manager is not one (--role cloud)");
        return;
    }
    c->remote->move(c, t);
}

/* ---- shared with the SOL003 requests (svc_sol003.c) ---- */

json_t *svc_idle_deployment(struct core *c, struct txn *t, bool allow_failed)
{
    return idle_deployment(c, t, allow_failed, true);
}

json_t *svc_vi_list(struct core *c, const char *dep_id)
{
    return vi_list(c, dep_id);
}

json_t *svc_vdu_vis(struct core *c, const char *dep_id, const char *vdu, unsigned *next_index)
{
    return vdu_vis(c, dep_id, vdu, next_index);
}

json_t *svc_add_vis(struct core *c, struct txn *t, json_t *dep, const json_t *vdu, long long n,
                    unsigned next_index)
{
    return scale_out(c, &t->res, dep, vdu, n, next_index);
}
