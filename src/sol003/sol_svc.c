/* The SOL003 VNF lifecycle management requests (F6, docs/SOL003.md) on the
 * transactor. They are front ends over the native semantics: a VNF
 * instance is a deployment (status "not_instantiated" before it is
 * instantiated), each task starts one of the lifecycle engine's plans with
 * the "pause" failure policy (FAILED_TEMP), and the answers are SOL003
 * views (sol003/sol_view.h). The REST front end (sol003/sol_http.c) has checked the
 * body against the task's schema and put the interface version and API
 * root into t->query ("sol_version", "api_root"). */
#include "sol003/sol_svc.h"
#include "core/names.h"
#include "core/outbox.h"
#include "core/states.h"
#include "lcm/lifecycle.h"
#include "lcm/observe.h"
#include "lcm/remote.h"
#include "lcm/sites.h"
#include "lcm/svc_lcm.h"
#include "sol003/sol_view.h"
#include "catalog/vnfd.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sol_ctx ctx_of(const struct txn *t)
{
    struct sol_ctx x = {(int)jv_int(t->query, "sol_version", 1),
                        jv_str(t->query, "api_root", "http://localhost")};

    return x;
}

static void location(struct txn *t, const char *what, const char *id)
{
    struct sol_ctx x = ctx_of(t);

    snprintf(t->res.location, sizeof(t->res.location), "%s/vnflcm/v%d/%s/%s", x.api_root, x.ver,
             what, id);
}

/* 202 Accepted, empty, Location of the new operation occurrence (5.4.4.3.1). */
static void accepted(struct txn *t, json_t *op)
{
    location(t, "vnf_lcm_op_occs", doc_str(op, "id"));
    result_ok(&t->res, 202, NULL);
    json_decref(op);
}

/* Starts a task's operation: pause policy, STARTING, the request kept as
 * operationParams; dep's record is written by lc_op_start_ex. */
static void start_task(struct core *c, struct txn *t, json_t *dep, struct lc_start *s)
{
    if (!s->extra)
        s->extra = json_object();
    json_object_set(s->extra, "_sol_request", t->body);
    s->t = t;
    s->pause = true;
    s->starting = true;
    accepted(t, lc_op_start_ex(c, dep, s));
}

/* ---- VNF instances at a branch site (on the cloud, docs/FEDERATION.md) ---- */

/* The branch site of an instance another manager runs, or NULL. */
static const char *branch_of(const json_t *dep)
{
    return doc_str(dep, "manager") ? jv_str(dep, "site", "?") : NULL;
}

/* What the branch's record of instance dep takes of the cloud's (its
 * information, flavour, level and flavoured descriptor): a new reference. */
static json_t *branch_record(const json_t *dep)
{
    static const char *const keys[] = {"sol003", "flavour", "instantiation_level", "_descriptor"};
    json_t *rec = json_object();

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (json_object_get(dep, keys[i]))
            json_object_set(rec, keys[i], json_object_get(dep, keys[i]));
    return rec;
}

/* Starts a task at the branch: the native request type with body there,
 * followed by the cloud's occurrence of s's type and params, with the
 * members of s->extra (taken; "_apply": what the cloud's record of the
 * instance takes when it completes, fed/instr.c). */
static void at_branch(struct core *c, struct txn *t, json_t *dep, const char *type, json_t *body,
                      struct lc_start *s)
{
    json_t *extra = json_pack("{s:s, s:O?, s:o}", "type", s->type, "_sol_request", t->body,
                              "params", s->params ? s->params : json_object());
    json_t *op;

    if (s->extra)
        json_object_update(extra, s->extra);
    json_decref(s->extra);
    json_object_set_new(body, "_pause", json_true()); /* FAILED_TEMP there too */
    op = c->remote->instruct(c, t, dep, jv_str(dep, "site", ""), type, body, extra);
    s->params = NULL; /* taken */
    s->extra = NULL;
    if (op)
        accepted(t, op);
}

/* The VIs of vdu among vis (new array). */
static json_t *vdu_only(const json_t *vis, const char *vdu)
{
    json_t *out = json_array();
    const json_t *vi;
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        if (strcmp(jv_str(vi, "vdu", ""), vdu) == 0)
            json_array_append(out, (json_t *)vi);
    }
    return out;
}

/* The VIs of an instance: the cloud's records, or what the branch reports. */
static json_t *instance_vis(struct core *c, const json_t *dep)
{
    if (branch_of(dep))
        return json_incref(json_object_get(dep, "vis"));
    return svc_vi_list(c, doc_str(dep, "id"));
}

static bool is_status(const json_t *dep, enum dep_status status)
{
    return dep_status_of(dep) == (int)status;
}

/* The instance of the path, the caller's and not busy; NULL with t->res. */
static json_t *idle_instance(struct core *c, struct txn *t, bool want_instantiated)
{
    json_t *dep = svc_idle_deployment(c, t, true);
    char obj[16 + KEY_BUF_MAX];

    if (!dep)
        return NULL;
    snprintf(obj, sizeof(obj), "vnf_instance/%s", t->args[0]);
    if (want_instantiated == is_status(dep, DEP_NOT_INSTANTIATED)) {
        result_fail(&t->res, 409, "conflict", "object", obj, "VNF instance %s is %s", t->args[0],
                    want_instantiated ? "NOT_INSTANTIATED" : "already INSTANTIATED");
        json_decref(dep);
        return NULL;
    }
    return dep;
}

/* An instantiated instance that is neither failed nor (unless allowed)
 * stopped: what scale, heal and change_flavour need. */
static json_t *working_instance(struct core *c, struct txn *t, bool allow_stopped)
{
    json_t *dep = idle_instance(c, t, true);
    char obj[16 + KEY_BUF_MAX];

    if (!dep)
        return NULL;
    snprintf(obj, sizeof(obj), "vnf_instance/%s", t->args[0]);
    if (is_status(dep, DEP_FAILED) || (!allow_stopped && is_status(dep, DEP_STOPPED))) {
        result_fail(&t->res, 409, "conflict", "object", obj, "VNF instance %s is %s; %s",
                    t->args[0], doc_str(dep, "status"),
                    is_status(dep, DEP_FAILED) ? "terminate it" : "operate it to STARTED first");
        json_decref(dep);
        return NULL;
    }
    return dep;
}

/* The descriptor as on-boarded, which flavours apply to. */
static json_t *catalogue_vnfd(struct core *c, const json_t *dep)
{
    json_t *rec = core_load(c, STORE_VNFD, doc_str(dep, "vnfd")), *d;

    d = rec ? json_incref(json_object_get(rec, "descriptor"))
            : json_incref(json_object_get(dep, "_descriptor"));
    json_decref(rec);
    return d;
}

/* ---- VNF instances: create, modify, delete (5.4.2, 5.4.3) ---- */

static json_t *visible_vnfd(struct core *c, struct txn *t, const char *tenant, const char *id)
{
    char *key = names_key(c->st, tenant, STORE_VNFD, id, &t->res);
    json_t *rec = core_load(c, STORE_VNFD, key);
    const char *owner = rec ? doc_str(rec, "tenant") : NULL;

    free(key);
    if (!rec || (owner && strcmp(owner, tenant) != 0)) {
        json_decref(rec);
        result_fail(&t->res, 422, "unprocessable", "field", "vnfdId",
                    "vnfdId '%s' is not on-boarded in the catalogue", id);
        return NULL;
    }
    if (json_is_true(json_object_get(rec, "disabled"))) {
        result_fail(&t->res, 422, "unprocessable", "field", "vnfdId",
                    "vnfdId '%s': its VNF package %s is DISABLED (SOL005 operationalState)", id,
                    jv_str(rec, "package", ""));
        json_decref(rec);
        return NULL;
    }
    return rec;
}

static json_t *new_instance(struct core *c, struct txn *t, const char *tenant, const json_t *vnfd)
{
    const json_t *d = json_object_get(vnfd, "descriptor");
    char id[ID_UUID_LEN + 1], password[21];
    json_t *dep, *info = json_object();

    id_uuid(id);
    id_random(password, "", 20);
    json_object_set(info, "vnfInstanceName", json_object_get(t->body, "vnfInstanceName"));
    json_object_set(info, "vnfInstanceDescription",
                    json_object_get(t->body, "vnfInstanceDescription"));
    json_object_set(info, "metadata", json_object_get(t->body, "metadata"));
    dep = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:{}, s:s, s:{s:s}, s:{}, s:n, "
        "s:n, s:o, s:O, s:s}",
        "id", id, "tenant", tenant, "vnfd", doc_str(vnfd, "id"), "site", c->cfg->site, "status",
        dep_status_name(DEP_NOT_INSTANTIATED), "stage", stage_name(ST_ONBOARDING), "operation",
        "error", "params", "license", "", "credentials", "username",
        jv_str(json_object_get(d, "credentials"), "username", "admin"), "instances", "flavour",
        "instantiation_level", "sol003", info, "_descriptor", d, "_password", password);
    doc_touch(dep, "created");
    doc_touch(dep, "updated");
    return dep;
}

static const char *sol_tenant(struct core *c, struct txn *t)
{
    const char *tenant = t->who.admin ? "default" : t->who.tenant;
    json_t *rec = core_load(c, STORE_TENANT, tenant);
    bool ok = rec && json_is_true(json_object_get(rec, "enabled"));

    json_decref(rec);
    if (!ok)
        result_fail(&t->res, 409, "conflict", "field", "tenant", "tenant '%s' %s", tenant,
                    rec ? "is disabled" : "does not exist");
    return ok ? tenant : NULL;
}

void svc_sol_create(struct core *c, struct txn *t)
{
    const char *tenant = sol_tenant(c, t);
    json_t *vnfd = tenant ? visible_vnfd(c, t, tenant, jv_str(t->body, "vnfdId", "")) : NULL;
    struct sol_ctx x = ctx_of(t);
    json_t *dep, *vis;

    if (!vnfd)
        return;
    dep = new_instance(c, t, tenant, vnfd);
    json_decref(vnfd);
    if (store_put(c->st, STORE_DEPLOYMENT, dep)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the VNF instance");
        json_decref(dep);
        return;
    }
    core_event(c, "info", "audit", "config",
               json_pack("{s:s, s:s, s:s, s:s}", "object", "deployment", "deployment",
                         doc_str(dep, "id"), "result", "created", "tenant", tenant),
               "VNF instance %s (VNFD %s) created, not instantiated", doc_str(dep, "id"),
               doc_str(dep, "vnfd"));
    lc_dep_created(c, dep);
    location(t, "vnf_instances", doc_str(dep, "id"));
    vis = json_array();
    result_ok(&t->res, 201, sol_instance(&x, dep, vis));
    json_decref(vis);
    json_decref(dep);
}

void svc_sol_delete(struct core *c, struct txn *t)
{
    json_t *dep = idle_instance(c, t, false);

    if (!dep)
        return;
    store_delete(c->st, STORE_DEPLOYMENT, t->args[0]);
    lc_dep_deleted(c, dep);
    result_ok(&t->res, 204, NULL);
    json_decref(dep);
}

/* RFC 7396 merge patch of target by patch (both objects); a new object. */
static json_t *merge_patch(const json_t *target, const json_t *patch)
{
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object(), *v;
    const char *key;

    json_object_foreach((json_t *)patch, key, v)
    {
        if (json_is_null(v))
            json_object_del(out, key);
        else if (json_is_object(v))
            json_object_set_new(out, key, merge_patch(json_object_get(out, key), v));
        else
            json_object_set(out, key, v);
    }
    return out;
}

/* The VnfInfoModificationRequest's change, applied when the operation
 * completes (sol_op_finish); vnfdId only before instantiation. */
static json_t *modification(struct core *c, struct txn *t, const json_t *dep)
{
    static const char *const merged[] = {"metadata", "extensions", "vnfConfigurableProperties"};
    const json_t *info = json_object_get(dep, "sol003"), *b = t->body;
    json_t *next = json_is_object(info) ? json_deep_copy(info) : json_object();
    json_t *apply = json_object();
    const char *vnfd_id = jv_str(b, "vnfdId", NULL);

    if (json_object_get(b, "vnfInstanceName"))
        json_object_set(next, "vnfInstanceName", json_object_get(b, "vnfInstanceName"));
    if (json_object_get(b, "vnfInstanceDescription"))
        json_object_set(next, "vnfInstanceDescription",
                        json_object_get(b, "vnfInstanceDescription"));
    for (size_t i = 0; i < ARRAY_SIZE(merged); i++)
        if (json_object_get(b, merged[i]))
            json_object_set_new(
                next, merged[i],
                merge_patch(json_object_get(info, merged[i]), json_object_get(b, merged[i])));
    json_object_set_new(apply, "sol003", next);
    if (vnfd_id && strcmp(vnfd_id, doc_str(dep, "vnfd")) != 0) {
        json_t *rec;

        if (!is_status(dep, DEP_NOT_INSTANTIATED)) {
            result_fail(&t->res, 409, "conflict", "field", "vnfdId",
                        "the VNFD of an instantiated VNF cannot change (no change_vnfpkg)");
            goto fail;
        }
        rec = visible_vnfd(c, t, doc_str(dep, "tenant"), vnfd_id);
        if (!rec)
            goto fail;
        json_object_set_new(apply, "vnfd", json_string(vnfd_id));
        json_object_set(apply, "_descriptor", json_object_get(rec, "descriptor"));
        json_decref(rec);
    }
    return apply;
fail:
    json_decref(apply);
    return NULL;
}

void svc_sol_modify(struct core *c, struct txn *t)
{
    const char *if_match = jv_str(t->query, "if_match", NULL);
    json_t *dep = svc_idle_deployment(c, t, true), *apply;
    struct lc_start s = {"modify_info", "modify"};
    char etag[DOC_ETAG_MAX];

    if (!dep)
        return;
    doc_etag(dep, etag);
    if (if_match && !etag_matches(if_match, etag)) { /* SOL013 4.5 */
        result_fail(&t->res, 412, "precondition-failed", "field", "If-Match",
                    "If-Match: VNF instance %s has changed (its ETag is now %s)", t->args[0], etag);
        json_decref(dep);
        return;
    }
    apply = modification(c, t, dep);
    if (apply && branch_of(dep)) { /* the branch's record takes it too */
        s.extra = json_pack("{s:o, s:O}", "_apply", apply, "_changed_info", t->body);
        at_branch(c, t, dep, "modify_info",
                  json_pack("{s:O}", "sol003", json_object_get(apply, "sol003")), &s);
    } else if (apply) {
        s.vis = json_array();
        s.extra = json_pack("{s:o, s:O}", "_apply", apply, "_changed_info", t->body);
        start_task(c, t, dep, &s);
    }
    json_decref(dep);
}

/* ---- instantiate (5.4.4) ---- */

/* Parameters: the request's additionalParams are the VNFD's params. */
static int resolve_params(struct txn *t, const json_t *vnfd, json_t **params)
{
    struct jv_error err;
    char field[sizeof(err.field) + 32];

    if (vnfd_resolve_params(vnfd, json_object_get(t->body, "additionalParams"), params, &err) == 0)
        return 0;
    snprintf(field, sizeof(field), "additionalParams%.200s",
             strncmp(err.field, "params", 6) == 0 ? err.field + 6 : "");
    return result_fail(&t->res, 400, err.reason, "field", field, "%s: %s", field,
                       strchr(err.message, ':') ? strchr(err.message, ':') + 2 : err.message);
}

/* The site of an NFVO's VIM id: the id itself when it names a site, or
 * its --vim-connection; NULL when neither. */
static const char *vim_site(const struct config *cfg, const char *vim_id, const char *site)
{
    size_t n = strlen(vim_id);

    if (strcmp(vim_id, site) == 0)
        return site;
    for (size_t i = 0; i < cfg->n_vim_connections; i++)
        if (strncmp(cfg->vim_connections[i], vim_id, n) == 0 && cfg->vim_connections[i][n] == '=')
            return cfg->vim_connections[i] + n + 1;
    return NULL;
}

/* One VimConnectionInfo of the request (key: its v1 id or v2 map key):
 * checked against the policy, kept without its accessInfo (credentials
 * are never shown back, SOL003 5.5.3.4). */
static int vim_connection(struct core *c, struct txn *t, const char *key, const json_t *v,
                          const char *site, json_t *keep)
{
    const char *vim_id = jv_str(v, "vimId", site), *mapped = vim_site(c->cfg, vim_id, site);
    bool any = c->cfg->vim_connection_policy && strcmp(c->cfg->vim_connection_policy, "any") == 0;
    json_t *entry;

    if (mapped && strcmp(mapped, site) != 0)
        return result_fail(&t->res, 422, "unprocessable", "field", "vimConnectionInfo",
                           "vimConnectionInfo: VIM '%s' is site '%s' here, and this VNF "
                           "instance is at site '%s'",
                           vim_id, mapped, site);
    if (!mapped && !any)
        return result_fail(&t->res, 422, "unprocessable", "field", "vimConnectionInfo",
                           "vimConnectionInfo: VIM '%s' is not known here: an admin registers "
                           "it (--vim-connection %s=SITE) or accepts any "
                           "(--vim-connection-policy any); this VNF instance is at site '%s'",
                           vim_id, vim_id, site);
    entry = json_deep_copy(v);
    json_object_del(entry, "accessInfo");
    json_object_del(entry, "id");
    json_object_set_new(entry, "vimId", json_string(vim_id));
    json_object_set_new(keep, key, entry);
    return 0;
}

/* External links cannot be honoured: every VI is on its site's network.
 * The NFVO's vimConnectionInfo (a v1 array or a v2 map) is checked and
 * kept in the instance's SOL003 information. */
static int check_connectivity(struct core *c, struct txn *t, json_t *dep)
{
    const json_t *vim = json_object_get(t->body, "vimConnectionInfo"), *v;
    const char *key, *site = jv_str(dep, "site", c->cfg->site);
    json_t *keep = json_object(), *info;
    size_t i;
    int r = 0;

    if (json_array_size(json_object_get(t->body, "extVirtualLinks")) ||
        json_array_size(json_object_get(t->body, "extManagedVirtualLinks")))
        r = result_fail(&t->res, 422, "unprocessable", "field", "extVirtualLinks",
                        "external virtual links are not supported: each VNFC has one "
                        "interface on its site's network (docs/SOL003.md)");
    json_array_foreach(json_is_array(vim) ? vim : NULL, i, v)
    {
        if (!r)
            r = vim_connection(c, t, jv_str(v, "id", jv_str(v, "vimId", site)), v, site, keep);
    }
    json_object_foreach((json_t *)(json_is_object(vim) ? vim : NULL), key, v)
    {
        if (!r)
            r = vim_connection(c, t, key, v, site, keep);
    }
    if (!r && json_object_size(keep)) {
        info = json_object_get(dep, "sol003");
        if (!json_is_object(info)) {
            info = json_object();
            json_object_set_new(dep, "sol003", info);
        }
        json_object_set(info, "vimConnectionInfo", keep);
    }
    json_decref(keep);
    return r;
}

/* The flavoured descriptor and instance counts of flavour/level. */
static int flavour_and_level(struct core *c, struct txn *t, const json_t *dep, const char *flavour,
                             const char *fl_field, const char *level, json_t **flavoured,
                             json_t **inst, const char **level_id)
{
    json_t *base = catalogue_vnfd(c, dep);
    int r = vnfd_flavoured(base, flavour, flavoured);

    json_decref(base);
    if (r)
        return result_fail(&t->res, 400, "invalid-value", "field", fl_field,
                           "%s: the VNFD has no flavour '%s'", fl_field, flavour);
    if (vnfd_level(*flavoured, flavour, level, inst, level_id)) {
        json_decref(*flavoured);
        *flavoured = NULL;
        return result_fail(&t->res, 400, "invalid-value", "field", "instantiationLevelId",
                           "instantiationLevelId: flavour '%s' has no instantiation level '%s'",
                           flavour, level);
    }
    return 0;
}

/* Records the VIs of every VDU up to inst's counts; their ids. */
static json_t *add_all_vis(struct core *c, struct txn *t, json_t *dep, const json_t *vnfd,
                           const json_t *inst)
{
    json_t *ids = json_array();
    const json_t *vdu;
    size_t i;

    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        long long n = jv_int(inst, doc_str(vdu, "id"), 0);
        json_t *more = n > 0 ? svc_add_vis(c, t, dep, vdu, n, 0) : json_array();

        if (!more) {
            json_decref(ids);
            return NULL;
        }
        json_array_extend(ids, more);
        json_decref(more);
    }
    return ids;
}

/* Whether the VIM of v is a branch site's (its name, or an --vim-connection
 * to it); its name into buf then. */
static bool branch_vim(struct core *c, const json_t *v, char *buf, size_t size)
{
    const char *id = jv_str(v, "vimId", ""), *mapped = vim_site(c->cfg, id, "");
    json_t *site = core_load(c, STORE_SITE, mapped ? mapped : id);
    bool yes = site && site_is_branch(site);

    if (yes)
        snprintf(buf, size, "%s", doc_str(site, "id"));
    json_decref(site);
    return yes;
}

/* On a cloud, the branch site the request's vimConnectionInfo (a v1 array
 * or a v2 map) names, into buf; NULL when it names none. */
static const char *branch_target(struct core *c, struct txn *t, char *buf, size_t size)
{
    const json_t *vim = c->remote ? json_object_get(t->body, "vimConnectionInfo") : NULL, *v;
    const char *key;
    size_t i;

    json_array_foreach(json_is_array(vim) ? vim : NULL, i, v)
    {
        if (branch_vim(c, v, buf, size))
            return buf;
    }
    json_object_foreach((json_t *)(json_is_object(vim) ? vim : NULL), key, v)
    {
        if (branch_vim(c, v, buf, size))
            return buf;
    }
    return NULL;
}

void svc_sol_instantiate(struct core *c, struct txn *t)
{
    const char *flavour = jv_str(t->body, "flavourId", "");
    json_t *dep = idle_instance(c, t, false), *vnfd = NULL, *inst = NULL, *params = NULL, *ids;
    struct lc_start s = {"instantiate", "deploy"};
    const char *level, *branch;
    char site[128];

    if (!dep)
        return;
    branch = branch_target(c, t, site, sizeof(site));
    if (branch) /* its manager instantiates it there */
        doc_set_str(dep, "site", branch);
    if (check_connectivity(c, t, dep) ||
        flavour_and_level(c, t, dep, flavour, "flavourId",
                          jv_str(t->body, "instantiationLevelId", NULL), &vnfd, &inst, &level) ||
        resolve_params(t, vnfd, &params))
        goto out;
    json_object_set(dep, "_descriptor", vnfd); /* VIs are built from the flavoured one */
    ids = branch ? NULL : add_all_vis(c, t, dep, vnfd, inst);
    if (!branch && !ids)
        goto out;
    json_object_set(dep, "params", params);
    json_object_set(dep, "instances", inst);
    doc_set_str(dep, "flavour", flavour);
    doc_set_str(dep, "instantiation_level", level);
    doc_set_str(dep, "status", dep_status_name(DEP_DEPLOYING));
    doc_set_str(dep, "error", NULL);
    s.vis = ids;
    s.params = json_pack("{s:s, s:s}", "flavour", flavour, "instantiation_level", level);
    if (branch) { /* the level's counts; the branch checks them against the VNFD */
        at_branch(c, t, dep, "deploy",
                  json_pack("{s:s, s:s, s:O, s:O, s:o}", "name", doc_str(dep, "id"), "vnfd",
                            doc_str(dep, "vnfd"), "params", params, "instances", inst, "record",
                            branch_record(dep)),
                  &s);
    } else {
        start_task(c, t, dep, &s);
    }
out:
    json_decref(params);
    json_decref(inst);
    json_decref(vnfd);
    json_decref(dep);
}

/* ---- terminate (5.4.8) ---- */

static long long max_grace_s(const json_t *dep)
{
    const json_t *vdu;
    long long g = 0;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(dep, "_descriptor"), "vdus"), i, vdu)
    {
        if (jv_int(vdu, "stop_grace_s", 5) > g)
            g = jv_int(vdu, "stop_grace_s", 5);
    }
    return g;
}

void svc_sol_terminate(struct core *c, struct txn *t)
{
    bool graceful = strcmp(jv_str(t->body, "terminationType", ""), "GRACEFUL") == 0;
    json_t *dep = idle_instance(c, t, true), *vis, *vi, *ids = json_array();
    struct lc_start s = {"terminate", "terminate"};
    size_t i;

    if (!dep) {
        json_decref(ids);
        return;
    }
    vis = instance_vis(c, dep);
    json_array_foreach(vis, i, vi)
    {
        json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    doc_set_str(dep, "status", dep_status_name(DEP_UNDEPLOYING));
    s.vis = ids;
    s.params = json_pack(
        "{s:s, s:I}", "termination_type", graceful ? "GRACEFUL" : "FORCEFUL", "grace_s",
        (json_int_t)(graceful ? jv_int(t->body, "gracefulTerminationTimeout", max_grace_s(dep))
                              : 0));
    if (branch_of(dep)) {
        /* its record outlives the branch's deployment, NOT_INSTANTIATED (fed_unmirror) */
        if (!json_object_get(dep, "sol003"))
            json_object_set_new(dep, "sol003", json_object());
        json_decref(ids);
        at_branch(c, t, dep, "undeploy", json_object(), &s);
    } else {
        start_task(c, t, dep, &s);
    }
    json_decref(dep);
}

/* ---- scale (5.4.5), scale to level (5.4.6), change flavour (5.4.7) ---- */

void svc_sol_scale(struct core *c, struct txn *t)
{
    const char *aspect = jv_str(t->body, "aspectId", "");
    bool out = strcmp(jv_str(t->body, "type", ""), "SCALE_OUT") == 0;
    long long steps = jv_int(t->body, "numberOfSteps", 1), level, target, cur;
    json_t *dep = working_instance(c, t, false), *vis = NULL, *ids = NULL, *vnfd;
    struct lc_start s = {"scale", NULL};
    const json_t *vdu;
    const char *vdu_id;
    struct vnfd_scaling sc;
    unsigned next;

    if (!dep)
        return;
    /* a branch deployment made through /v0 has the catalogue's */
    vnfd = json_object_get(dep, "_descriptor") ? json_incref(json_object_get(dep, "_descriptor"))
                                               : catalogue_vnfd(c, dep);
    vdu = vnfd_aspect_vdu(vnfd, aspect);
    if (!vdu) {
        result_fail(&t->res, 400, "invalid-value", "field", "aspectId",
                    "aspectId: the VNF has no scaling aspect '%s' (docs/SOL003.md)", aspect);
        goto out;
    }
    vdu_id = doc_str(vdu, "id");
    vnfd_vdu_scaling(vdu, &sc);
    vis = branch_of(dep) ? vdu_only(json_object_get(dep, "vis"), vdu_id)
                         : svc_vdu_vis(c, t->args[0], vdu_id, &next);
    cur = (long long)json_array_size(vis);
    level = (long long)sol_scale_level((unsigned)cur, &sc) + (out ? steps : -steps);
    if (level < 0 || level > (long long)sol_max_scale_level(&sc) ||
        (target = (long long)sol_level_instances((unsigned)level, &sc)) == cur) {
        result_fail(&t->res, 400, "invalid-value", "field", "numberOfSteps",
                    "numberOfSteps: aspect '%s' is at scale level %u of 0..%u; %lld step%s %s "
                    "is not possible",
                    aspect, sol_scale_level((unsigned)cur, &sc), sol_max_scale_level(&sc), steps,
                    steps == 1 ? "" : "s", out ? "out" : "in");
        goto out;
    }
    s.plan = out ? "scale_out" : "scale_in";
    s.params = json_pack("{s:s, s:I, s:I, s:s, s:I}", "vdu", vdu_id, "from", (json_int_t)cur, "to",
                         (json_int_t)target, "aspect", aspect, "steps", (json_int_t)steps);
    if (branch_of(dep)) {
        at_branch(c, t, dep, "scale",
                  json_pack("{s:s, s:I}", "vdu", vdu_id, "count", (json_int_t)target), &s);
        goto out;
    }
    if (out) {
        ids = svc_add_vis(c, t, dep, vdu, target - cur, next);
    } else {
        ids = json_array();
        for (long long k = 0; k < cur - target; k++)
            json_array_append(ids, json_object_get(json_array_get(vis, (size_t)k), "id"));
    }
    if (!ids)
        goto out;
    json_object_set_new(json_object_get(dep, "instances"), vdu_id, json_integer(target));
    doc_set_str(dep, "status", dep_status_name(DEP_SCALING));
    s.vis = ids;
    start_task(c, t, dep, &s);
    s.params = NULL;
out:
    json_decref(s.params);
    json_decref(vnfd);
    json_decref(vis);
    json_decref(dep);
}

/* Adds and removes VIs so that every VDU of vnfd has want's count; the
 * added ids in *add, the removed ones in *rm. */
static int rescale_vis(struct core *c, struct txn *t, json_t *dep, const json_t *vnfd,
                       const json_t *want, json_t **add, json_t **rm)
{
    const json_t *vdu;
    size_t i;

    *add = json_array();
    *rm = json_array();
    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        unsigned next;
        json_t *vis = svc_vdu_vis(c, t->args[0], doc_str(vdu, "id"), &next), *more;
        long long cur = (long long)json_array_size(vis), n = jv_int(want, doc_str(vdu, "id"), cur);

        for (long long k = 0; k < cur - n; k++)
            json_array_append(*rm, json_object_get(json_array_get(vis, (size_t)k), "id"));
        json_decref(vis);
        if (n <= cur)
            continue;
        more = svc_add_vis(c, t, dep, vdu, n - cur, next);
        if (!more)
            return -1;
        json_array_extend(*add, more);
        json_decref(more);
    }
    return 0;
}

/* Starts a rescale to want (scale_to_level, change_flavour). */
static void start_rescale(struct core *c, struct txn *t, json_t *dep, const json_t *vnfd,
                          const json_t *want, const char *type, json_t *apply)
{
    struct lc_start s = {type, "rescale"};
    json_t *add, *rm;

    if (branch_of(dep)) { /* the counts there; the cloud's record takes apply at the end */
        json_t *body =
            json_pack("{s:s, s:O, s:O}", "type", type, "instances", want, "descriptor", vnfd);

        /* the branch's record takes the flavour and the level (none after
         * a scaleInfo) too */
        if (json_object_get(apply, "flavour"))
            json_object_set(body, "flavour", json_object_get(apply, "flavour"));
        json_object_set_new(body, "instantiation_level",
                            json_is_string(json_object_get(apply, "instantiation_level"))
                                ? json_incref(json_object_get(apply, "instantiation_level"))
                                : json_null());
        s.params = json_pack("{s:O}", "instances", want);
        s.extra = json_pack("{s:o}", "_apply", apply);
        at_branch(c, t, dep, "rescale", body, &s);
        return;
    }
    if (rescale_vis(c, t, dep, vnfd, want, &add, &rm)) {
        json_decref(add);
        json_decref(rm);
        json_decref(apply);
        return;
    }
    json_object_update(json_object_get(dep, "instances"), (json_t *)want);
    doc_set_str(dep, "status", dep_status_name(DEP_SCALING));
    s.vis = add;
    s.params = json_pack("{s:O}", "instances", want);
    s.extra = json_pack("{s:o, s:o}", "vis_in", rm, "_apply", apply);
    start_task(c, t, dep, &s);
}

/* The target counts of scaleInfo (5.5.3.2), unnamed aspects unchanged. */
static json_t *scale_info_target(struct core *c, struct txn *t, const json_t *vnfd)
{
    json_t *want = json_object();
    const json_t *si;
    size_t i;

    json_array_foreach(json_object_get(t->body, "scaleInfo"), i, si)
    {
        const char *aspect = jv_str(si, "aspectId", "");
        const json_t *vdu = vnfd_aspect_vdu(vnfd, aspect);
        long long level = jv_int(si, "scaleLevel", 0);
        struct vnfd_scaling sc;
        char field[64];

        (void)c;
        snprintf(field, sizeof(field), "scaleInfo[%zu]", i);
        if (!vdu) {
            result_fail(&t->res, 400, "invalid-value", "field", field,
                        "%s: the VNF has no scaling aspect '%s'", field, aspect);
            json_decref(want);
            return NULL;
        }
        vnfd_vdu_scaling(vdu, &sc);
        if (level < 0 || level > (long long)sol_max_scale_level(&sc)) {
            result_fail(&t->res, 400, "invalid-value", "field", field,
                        "%s: scaleLevel %lld is outside 0..%u of aspect '%s'", field, level,
                        sol_max_scale_level(&sc), aspect);
            json_decref(want);
            return NULL;
        }
        json_object_set_new(want, doc_str(vdu, "id"),
                            json_integer(sol_level_instances((unsigned)level, &sc)));
    }
    return want;
}

void svc_sol_scale_to_level(struct core *c, struct txn *t)
{
    const char *level = jv_str(t->body, "instantiationLevelId", NULL);
    json_t *dep = working_instance(c, t, false), *want = NULL, *vnfd = NULL, *desc = NULL;
    const char *level_id = NULL;

    if (!dep)
        goto out;
    /* a branch deployment made through /v0 has the catalogue's */
    desc = json_object_get(dep, "_descriptor") ? json_incref(json_object_get(dep, "_descriptor"))
                                               : catalogue_vnfd(c, dep);
    if (!level == !json_object_get(t->body, "scaleInfo")) {
        result_fail(&t->res, 400, "invalid-value", "field", "instantiationLevelId",
                    "give exactly one of instantiationLevelId and scaleInfo");
        goto out;
    }
    if (level && flavour_and_level(c, t, dep, jv_str(dep, "flavour", VNFD_DEFAULT_FLAVOUR),
                                   "flavourId", level, &vnfd, &want, &level_id))
        goto out;
    if (!level && !(want = scale_info_target(c, t, desc)))
        goto out;
    start_rescale(c, t, dep, desc, want, "scale_to_level",
                  json_pack("{s:s?}", "instantiation_level", level_id));
out:
    json_decref(desc);
    json_decref(vnfd);
    json_decref(want);
    json_decref(dep);
}

void svc_sol_change_flavour(struct core *c, struct txn *t)
{
    const char *flavour = jv_str(t->body, "newFlavourId", "");
    json_t *dep = working_instance(c, t, false), *want = NULL, *vnfd = NULL;
    const char *level_id = NULL;

    if (!dep)
        goto out;
    if (strcmp(flavour, jv_str(dep, "flavour", VNFD_DEFAULT_FLAVOUR)) == 0) {
        result_fail(&t->res, 409, "conflict", "field", "newFlavourId",
                    "newFlavourId: the VNF instance already has flavour '%s'", flavour);
        goto out;
    }
    if (check_connectivity(c, t, dep) ||
        flavour_and_level(c, t, dep, flavour, "newFlavourId",
                          jv_str(t->body, "instantiationLevelId", NULL), &vnfd, &want, &level_id))
        goto out;
    start_rescale(c, t, dep, vnfd, want, "change_flavour",
                  json_pack("{s:O, s:s, s:s}", "_descriptor", vnfd, "flavour", flavour,
                            "instantiation_level", level_id));
out:
    json_decref(vnfd);
    json_decref(want);
    json_decref(dep);
}

/* ---- heal (5.4.9), operate (5.4.10) ---- */

/* The VIs named by vnfcInstanceId (all when absent) that pass keep. */
static json_t *pick_vis(struct core *c, struct txn *t, const json_t *dep,
                        bool (*keep)(const json_t *vi, void *arg), void *arg)
{
    const json_t *want = json_object_get(t->body, "vnfcInstanceId"), *w;
    json_t *vis = instance_vis(c, dep), *ids = json_array(), *vi;
    size_t i, k;

    json_array_foreach(want, i, w)
    {
        bool found = false;

        json_array_foreach(vis, k, vi)
        {
            found = found || strcmp(doc_str(vi, "id"), json_string_value(w)) == 0;
        }
        if (!found) {
            result_fail(&t->res, 400, "invalid-value", "field", "vnfcInstanceId",
                        "vnfcInstanceId: the VNF instance has no VNFC '%s'", json_string_value(w));
            json_decref(vis);
            json_decref(ids);
            return NULL;
        }
    }
    json_array_foreach(vis, i, vi)
    {
        bool named = !want;

        json_array_foreach(want, k, w)
        {
            named = named || strcmp(doc_str(vi, "id"), json_string_value(w)) == 0;
        }
        if (named && (!keep || keep(vi, arg)))
            json_array_append(ids, json_object_get(vi, "id"));
    }
    json_decref(vis);
    return ids;
}

void svc_sol_heal(struct core *c, struct txn *t)
{
    json_t *dep = working_instance(c, t, true), *ids;
    struct lc_start s = {"heal", "heal"};

    if (!dep)
        return;
    ids = pick_vis(c, t, dep, NULL, NULL); /* whole VNF: every VNFC is restarted */
    if (ids && json_array_size(ids) == 0) {
        result_fail(&t->res, 409, "conflict", "object", "vnf_instance",
                    "VNF instance %s has no VNFC to heal", t->args[0]);
        json_decref(ids);
        ids = NULL;
    }
    if (ids && branch_of(dep)) {
        /* the native heal there restarts one VI, or those that are not running */
        if (json_array_size(ids) > 1 && json_object_get(t->body, "vnfcInstanceId")) {
            result_fail(&t->res, 422, "not-supported", "field", "vnfcInstanceId",
                        "vnfcInstanceId: a VNF instance at branch site %s heals one VNFC at a "
                        "time, or all that are not running (none named)",
                        branch_of(dep));
        } else {
            s.params = json_pack("{s:s?}", "cause", jv_str(t->body, "cause", NULL));
            at_branch(c, t, dep, "heal",
                      json_object_get(t->body, "vnfcInstanceId")
                          ? json_pack("{s:O}", "vi", json_array_get(ids, 0))
                          : json_object(),
                      &s);
        }
        json_decref(ids);
    } else if (ids) {
        doc_set_str(dep, "status", dep_status_name(DEP_HEALING));
        s.vis = ids;
        s.params = json_pack("{s:s?}", "cause", jv_str(t->body, "cause", NULL));
        start_task(c, t, dep, &s);
    }
    json_decref(dep);
}

static bool needs_change(const json_t *vi, void *arg)
{
    bool stop = *(bool *)arg;
    int state = vi_state_of(vi);

    return stop ? state != VIS_STOPPED : state == VIS_STOPPED || state == VIS_EXITED;
}

void svc_sol_operate(struct core *c, struct txn *t)
{
    bool stop = strcmp(jv_str(t->body, "changeStateTo", ""), "STOPPED") == 0;
    bool forceful = strcmp(jv_str(t->body, "stopType", ""), "FORCEFUL") == 0;
    json_t *dep = working_instance(c, t, true), *ids;
    struct lc_start s = {"operate", stop ? "operate_stop" : "operate_start"};

    if (!dep)
        return;
    ids = pick_vis(c, t, dep, needs_change, &stop);
    if (ids && json_array_size(ids) == 0) {
        result_fail(&t->res, 409, "conflict", "field", "changeStateTo",
                    "changeStateTo: the VNF instance's VNFCs are already %s",
                    stop ? "STOPPED" : "STARTED");
        json_decref(ids);
        ids = NULL;
    }
    if (ids && branch_of(dep)) { /* the branch's native operate of those VIs */
        json_t *body =
            json_pack("{s:s, s:O}", "change_state_to", stop ? "STOPPED" : "STARTED", "vis", ids);

        s.params = json_pack("{s:s}", "change_state_to", stop ? "STOPPED" : "STARTED");
        if (forceful || json_object_get(t->body, "gracefulStopTimeout")) {
            json_t *g = forceful ? json_integer(0)
                                 : json_incref(json_object_get(t->body, "gracefulStopTimeout"));

            json_object_set(body, "grace_s", g);
            json_object_set_new(s.params, "grace_s", g);
        }
        json_decref(ids);
        at_branch(c, t, dep, "operate", body, &s);
    } else if (ids) {
        doc_set_str(dep, "status", dep_status_name(DEP_OPERATING));
        s.vis = ids;
        s.params = json_pack("{s:s}", "change_state_to", stop ? "STOPPED" : "STARTED");
        if (forceful)
            json_object_set_new(s.params, "grace_s", json_integer(0));
        else if (json_object_get(t->body, "gracefulStopTimeout"))
            json_object_set(s.params, "grace_s", json_object_get(t->body, "gracefulStopTimeout"));
        start_task(c, t, dep, &s);
    }
    json_decref(dep);
}

/* ---- operation occurrences: retry, rollback, fail, cancel (5.4.14-17) ---- */

/* The occurrence of the path, which t->who may see, in one of the SOL003
 * states of need ("A|B"): 0, a 404, or a 409 naming SOL003's states (not
 * the native ones, issue 15 item 9). */
static int visible_occ(struct core *c, struct txn *t, const char *task, const char *need)
{
    json_t *op = core_load(c, STORE_OP, t->args[0]);
    const char *state = op ? sol_op_state(op) : "";
    const char *at = strstr(need, state);
    size_t n = strlen(state);
    int r = 0;

    if (!op || !principal_owns(&t->who, doc_str(op, "tenant")) || !sol_op_name(doc_str(op, "type")))
        r = result_not_found(&t->res, "vnf_lcm_op_occ", t->args[0]);
    else if (!n || !at || (at != need && at[-1] != '|') || (at[n] && at[n] != '|'))
        r = result_fail(&t->res, 409, "conflict", "object", "vnf_lcm_op_occ",
                        "vnfLcmOpOcc %s is %s: %s needs %s", t->args[0], state, task, need);
    json_decref(op);
    return r;
}

/* 202 with the occurrence's Location (as a task's, 5.4.4.3.1), which
 * clients poll. */
static void decided(struct txn *t, json_t *op)
{
    if (!op)
        return; /* t->res says why */
    location(t, "vnf_lcm_op_occs", t->args[0]);
    result_ok(&t->res, 202, NULL);
    json_decref(op);
}

void svc_sol_retry(struct core *c, struct txn *t)
{
    if (visible_occ(c, t, "retry", "FAILED_TEMP") == 0)
        decided(t, lc_op_retry(c, t->args[0], &t->res));
}

void svc_sol_rollback(struct core *c, struct txn *t)
{
    if (visible_occ(c, t, "rollback", "FAILED_TEMP") == 0)
        decided(t, lc_op_rollback(c, t->args[0], &t->res));
}

void svc_sol_cancel(struct core *c, struct txn *t)
{
    if (visible_occ(c, t, "cancel", "STARTING|PROCESSING|ROLLING_BACK") == 0)
        decided(t, lc_op_cancel(c, t->args[0], jv_str(t->body, "cancelMode", "GRACEFUL"), &t->res));
}

void svc_sol_fail(struct core *c, struct txn *t)
{
    struct sol_ctx x = ctx_of(t);
    json_t *op;

    if (visible_occ(c, t, "fail", "FAILED_TEMP"))
        return;
    op = lc_op_fail(c, t->args[0], &t->res);
    if (op)
        result_ok(&t->res, 200, sol_op_occ(&x, op));
    json_decref(op);
}

/* ---- subscriptions (5.4.18, 5.4.19) ---- */

/* SOL013 8.3.4: BASIC credentials are kept for the callbacks; the OAuth2
 * and TLS certificate schemes are not supported. */
static int check_auth(struct txn *t, const json_t *auth, json_t **out)
{
    const json_t *types = json_object_get(auth, "authType"), *ty;
    size_t i;

    *out = NULL;
    json_array_foreach(types, i, ty)
    {
        if (strcmp(json_string_value(ty), "BASIC") != 0)
            return result_fail(&t->res, 422, "unprocessable", "field", "authentication.authType",
                               "authentication.authType: %s is not supported (only BASIC)",
                               json_string_value(ty));
    }
    if (!auth)
        return 0;
    if (!json_object_get(auth, "paramsBasic"))
        return result_fail(&t->res, 400, "missing-field", "field", "authentication.paramsBasic",
                           "authentication.paramsBasic: userName and password are required");
    *out = json_deep_copy(json_object_get(auth, "paramsBasic"));
    return 0;
}

void svc_sol_subscribe(struct core *c, struct txn *t)
{
    const char *tenant = t->who.admin ? NULL : t->who.tenant;
    struct sol_ctx x = ctx_of(t);
    char id[ID_UUID_LEN + 1];
    json_t *auth, *sub;

    /* An equal subscription is created all the same (5.4.18.3.1 allows
     * it): OpenStack's clients follow a 303 with a POST to its Location,
     * which is refused (docs/SOL003.md). */
    if (check_auth(t, json_object_get(t->body, "authentication"), &auth))
        return;
    id_uuid(id);
    sub = json_pack("{s:s, s:s?, s:s, s:O?, s:s, s:i, s:o?}", "id", id, "tenant", tenant,
                    "callbackUri", jv_str(t->body, "callbackUri", ""), "filter",
                    json_object_get(t->body, "filter"), "verbosity",
                    jv_str(t->body, "verbosity", "FULL"), "version", x.ver, "_auth", auth);
    doc_touch(sub, "created");
    if (store_put(c->st, STORE_SUBSCRIPTION, sub)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the subscription");
    } else {
        location(t, "subscriptions", id);
        result_ok(&t->res, 201, sol_subscription(&x, sub));
    }
    json_decref(sub);
}

void svc_sol_unsubscribe(struct core *c, struct txn *t)
{
    json_t *sub = core_load(c, STORE_SUBSCRIPTION, t->args[0]);
    const char *owner = sub ? doc_str(sub, "tenant") : NULL;

    if (!sub || (!t->who.admin && (!owner || strcmp(owner, t->who.tenant) != 0)))
        result_not_found(&t->res, "subscription", t->args[0]);
    else if (store_delete(c->st, STORE_SUBSCRIPTION, t->args[0]) == 0 &&
             outbox_forget(c, t->args[0]) >= 0) /* what it had pending */
        result_ok(&t->res, 204, NULL);
    else
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot delete the subscription");
    json_decref(sub);
}

/* ---- the end of a task (an observer's op_finish, lccn.c) ---- */

bool sol_op_finish(struct core *c, json_t *dep, const json_t *op, enum op_state state,
                   const char *err)
{
    static const char *const types[] = {"instantiate",    "terminate",      "operate",
                                        "scale_to_level", "change_flavour", "modify_info"};
    const char *type = doc_str(op, "type");
    const json_t *params = json_object_get(op, "params");
    bool ok = state == OP_COMPLETED, known = false;
    enum dep_status status;

    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        known = known || strcmp(type, types[i]) == 0;
    if (!known)
        return false;
    lc_recount(c, dep);
    status = lc_dep_status(c, doc_str(dep, "id"));
    if (strcmp(type, "instantiate") == 0 && !ok)
        status = state == OP_ROLLED_BACK ? DEP_NOT_INSTANTIATED : DEP_FAILED;
    if (strcmp(type, "terminate") == 0)
        status = ok ? DEP_NOT_INSTANTIATED : DEP_FAILED;
    if (strcmp(type, "operate") == 0 && ok &&
        strcmp(jv_str(params, "change_state_to", ""), "STOPPED") == 0)
        status = DEP_STOPPED;
    if (strcmp(type, "modify_info") == 0 && is_status(dep, DEP_NOT_INSTANTIATED))
        status = DEP_NOT_INSTANTIATED;
    if (ok && json_object_get(op, "_apply")) /* change_flavour, modify_info */
        json_object_update(dep, json_object_get(op, "_apply"));
    if (status == DEP_NOT_INSTANTIATED) {
        doc_set_str(dep, "flavour", NULL);
        doc_set_str(dep, "instantiation_level", NULL);
    }
    doc_set_str(dep, "operation", NULL);
    doc_set_str(dep, "status", dep_status_name(status));
    doc_set_str(dep, "stage",
                status == DEP_NOT_INSTANTIATED ? stage_name(ST_ONBOARDING)
                : ok                           ? stage_name(ST_MONITORING)
                                               : stage_name(ST_FAIL));
    doc_set_str(dep, "error", ok ? NULL : err);
    doc_touch(dep, "updated");
    if (store_put(c->st, STORE_DEPLOYMENT, dep))
        log_error("store: cannot write deployment %s: %s", doc_str(dep, "id"), store_errmsg(c->st));
    return true;
}
