/* Per-manager overrides of its site's manager policy (issue 12 "Load and
 * thresholds": "per site (and overridable per manager)"; docs/FEDERATION.md
 * "Elastic managers"). PUT /v0/managers/{id}/policy sets the threshold
 * members a manager is judged with instead of its site's; they are kept
 * in the manager's record ("policy", shown by GET /v0/managers) and laid
 * over the site's policy at each of its reports (elastic.c). {} clears
 * them. The counts of the site (active, min, max) and the weights stay
 * the site's: they are about the site, not one manager. */
#include "fed/fed_internal.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"

#include <string.h>

static const struct jv_field override_fields[] = {
    {.name = "overload", .type = JV_NUMBER, .min = 0, .max = 1e9},
    {.name = "underload", .type = JV_NUMBER, .min = 0, .max = 1e9},
    {.name = "for_reports", .type = JV_INT, .min = 1, .max = 10000},
    {.name = "for_s", .type = JV_INT, .min = 1, .max = 86400},
    {.name = "cooldown_s", .type = JV_INT, .min = 0, .max = 86400},
    {.name = "hold_s", .type = JV_INT, .min = 0, .max = 86400},
    {.name = "hold_before_s", .type = JV_INT, .min = 0, .max = 86400},
    {.name = "anticipate_s", .type = JV_INT, .min = 0, .max = 86400},
    {.name = "lifecycle", .type = JV_STRING, .choices = fed_lifecycles},
    {.name = "relative", .type = JV_OBJECT, .fields = fed_relative_fields},
    {.name = "rise", .type = JV_OBJECT, .fields = fed_rise_fields},
    {.name = NULL},
};
static const struct jv_field override_schema = {.type = JV_OBJECT, .fields = override_fields};

int mgr_policy_check(const json_t *body, struct jv_error *e)
{
    return jv_check(body, &override_schema, e);
}

/* The site's policy with the override laid over it (new reference). */
static json_t *overlaid(const json_t *site_pol, const json_t *over)
{
    json_t *p = json_deep_copy(site_pol);

    json_object_update(p, (json_t *)over);
    if (json_object_get(over, "for_s"))
        json_object_del(p, "for_reports");
    else if (json_object_get(over, "for_reports"))
        json_object_del(p, "for_s");
    return p;
}

json_t *mgr_policy_effective(struct core *c, struct fed_mgr *m, const json_t *site_pol)
{
    const json_t *over = fed_mgr_override(c, m);

    return over ? overlaid(site_pol, over) : json_incref((json_t *)site_pol);
}

/* Whether the site's policy with body over it makes sense; 0 or -1 with res. */
static int makes_sense(struct core *c, struct txn *t, const json_t *doc)
{
    json_t *site = core_load(c, STORE_SITE, jv_str(doc, "site", ""));
    const json_t *pol = json_object_get(site, "manager_policy");
    struct jv_error e = {0};
    json_t *p;
    int r = 0;

    if (!json_is_object(pol) && json_object_size(t->body)) {
        r = result_fail(&t->res, 409, "conflict", "object", jv_str(doc, "site", "?"),
                        "site %s has no manager policy to override: set it first "
                        "(PUT /v0/sites/%s/managers)",
                        jv_str(doc, "site", "?"), jv_str(doc, "site", "?"));
    } else if (json_is_object(pol)) {
        p = overlaid(pol, t->body);
        if (fed_thresholds_check(t->body, p, &e))
            r = result_fail(&t->res, 400, e.reason, "field", e.field,
                            "%s (with the policy of site %s)", e.message, jv_str(doc, "site", "?"));
        json_decref(p);
    }
    json_decref(site);
    return r;
}

void mgr_policy_put(struct core *c, struct txn *t)
{
    json_t *doc = c->fed && c->fed->cloud ? core_load(c, STORE_MANAGER, t->args[0]) : NULL;

    if (!c->fed || !c->fed->cloud) {
        result_fail(&t->res, 409, "not-a-cloud", NULL, NULL,
                    "this manager is not a cloud VNFM: start it with --role cloud");
        return;
    }
    if (!doc) {
        result_not_found(&t->res, "manager", t->args[0]);
        return;
    }
    if (makes_sense(c, t, doc) == 0) {
        if (json_object_size(t->body))
            json_object_set(doc, "policy", t->body);
        else
            json_object_del(doc, "policy");
        doc_touch(doc, "updated");
        if (store_put(c->st, STORE_MANAGER, doc)) {
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the manager: %s",
                        store_errmsg(c->st));
        } else {
            fed_mgr_override_set(c, t->args[0], json_object_get(doc, "policy"));
            core_audit(c, &t->who, "manager", t->args[0], "policy override set");
            result_ok(&t->res, 200,
                      json_pack("{s:s, s:s?, s:O?}", "manager", t->args[0], "site",
                                doc_str(doc, "site"), "policy", json_object_get(doc, "policy")));
        }
    }
    json_decref(doc);
}
