/* A running deployment's rules and metric definitions changed at run time
 * (seed para 88, F16). */
#include "catalog/vnfd.h"
#include "catalog/vnfd_policy.h"
#include "lcm/remote.h"
#include "policy/svc_policy.h"
#include "util/doc.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The rules of the cloud over a branch's deployment (on a cloud VNFM):
 * over what its manager reports of it (docs/FEDERATION.md); its monitoring
 * is its manager's. */
static int check_remote(struct core *c, struct txn *t, const json_t *dep, struct jv_error *err)
{
    json_t *rec = core_load(c, STORE_VNFD, jv_str(dep, "vnfd", ""));
    int r;

    if (json_object_get(t->body, "monitoring")) {
        jv_fail(err, "invalid-value", "monitoring",
                "the monitoring of a branch's deployment is its manager's (site %s): change it "
                "there",
                jv_str(dep, "site", "?"));
        r = -EINVAL;
    } else {
        r = policy_validate_estate(json_object_get(dep, "monitoring"),
                                   json_object_get(t->body, "rules"),
                                   json_object_get(rec, "descriptor"), err);
    }
    json_decref(rec);
    return r;
}

void svc_rules_update(struct core *c, struct txn *t)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, t->args[0]);
    const json_t *mon, *rules;
    struct jv_error err;
    bool remote;
    char obj[16 + KEY_BUF_MAX];

    if (!dep || !principal_owns(&t->who, doc_str(dep, "tenant"))) {
        result_not_found(&t->res, "deployment", t->args[0]);
        goto out;
    }
    remote = c->remote && doc_str(dep, "manager");
    mon = json_object_get(t->body, "monitoring");
    rules = json_object_get(t->body, "rules");
    if (!mon)
        mon = json_object_get(dep, "monitoring");
    if (!rules)
        rules = json_object_get(dep, "rules");
    if ((remote ? check_remote(c, t, dep, &err)
                : vnfd_check_policy(json_object_get(dep, "_descriptor"), mon, rules, &err)) ||
        (!t->who.admin && policy_check_destinations(rules, c->cfg->tenant_deny, &err))) {
        result_fail(&t->res, 400, err.reason, "field", err.field, "%s", err.message);
        goto out;
    }
    if (!remote)
        json_object_set_new(dep, "monitoring", mon ? json_incref((json_t *)mon) : json_object());
    json_object_set_new(dep, "rules", rules ? json_incref((json_t *)rules) : json_array());
    /* whose scripts they name now (core/runas.h) */
    json_object_set_new(dep, "_policy_admin", json_boolean(t->who.admin));
    doc_touch(dep, "updated");
    if (store_put(c->st, STORE_DEPLOYMENT, dep)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the deployment");
        goto out;
    }
    if (remote)
        c->remote->rules_changed(c, dep);
    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(dep, "id"));
    core_event(c, "info", "policy", "config",
               json_pack("{s:s, s:s, s:s, s:s}", "object", obj, "deployment", doc_str(dep, "id"),
                         "tenant", doc_str(dep, "tenant"), "result", "updated"),
               "monitoring and rules of %s changed by %s: %zu metric%s, %zu rule%s",
               doc_str(dep, "id"), t->who.token_id,
               json_object_size(json_object_get(json_object_get(dep, "monitoring"), "metrics")),
               json_object_size(json_object_get(json_object_get(dep, "monitoring"), "metrics")) == 1
                   ? ""
                   : "s",
               json_array_size(json_object_get(dep, "rules")),
               json_array_size(json_object_get(dep, "rules")) == 1 ? "" : "s");
    result_ok(&t->res, 200,
              json_pack("{s:s, s:O, s:O}", "deployment", doc_str(dep, "id"), "monitoring",
                        json_object_get(dep, "monitoring"), "rules",
                        json_object_get(dep, "rules")));
out:
    json_decref(dep);
}
