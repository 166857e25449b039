/* Per-manager overrides of its site's manager policy (issue 12 "Load and
 * thresholds": "per site (and overridable per manager)"; docs/FEDERATION.md
 * "Elastic managers"). PUT /v0/managers/{id}/policy sets the threshold
 * members a manager is judged with instead of its site's; they are kept
 * in the manager's record ("policy", shown by GET /v0/managers) and laid
 * over the site's policy at each of its reports (elastic.c). {} clears
 * them. The counts of the site (active, min, max) and the weights stay
 * the site's: they are about the site, not one manager. GET shows them
 * with the site's policy and the policy the manager is judged with. A new
 * policy of the site is checked against the overrides of its managers
 * (mgr_policy_recheck): one that would no longer make sense refuses it. */
#include "fed/fed_internal.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

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

/* What GET and PUT answer: the manager's overrides (null: none), its
 * site's policy and the policy it is judged with (null without a policy
 * of the site). */
static json_t *view(const char *id, const json_t *doc, const json_t *site_pol)
{
    const json_t *over = json_object_get(doc, "policy");
    json_t *eff = NULL;

    if (json_is_object(site_pol))
        eff = json_object_size(over) ? overlaid(site_pol, over) : json_deep_copy(site_pol);
    return json_pack("{s:s, s:s?, s:O?, s:O?, s:o?}", "manager", id, "site", doc_str(doc, "site"),
                     "policy", json_object_size(over) ? over : NULL, "site_policy",
                     json_is_object(site_pol) ? site_pol : NULL, "effective", eff);
}

void mgr_policy_get(struct rctx *r)
{
    json_t *doc = NULL, *site = NULL;

    if (!r->c->fed || !r->c->fed->cloud) {
        result_fail(&r->res, 409, "not-a-cloud", NULL, NULL,
                    "this manager is not a cloud VNFM: start it with --role cloud");
        return;
    }
    if (store_get(r->st, STORE_MANAGER, r->args[0], &doc) || !doc) {
        result_not_found(&r->res, "manager", r->args[0]);
        return;
    }
    store_get(r->st, STORE_SITE, jv_str(doc, "site", ""), &site);
    result_ok(&r->res, 200, view(r->args[0], doc, json_object_get(site, "manager_policy")));
    json_decref(site);
    json_decref(doc);
}

/* The ids of the managers of site (f->mu taken here); a new array. */
static json_t *managers_of(struct fed *f, const char *site)
{
    json_t *ids = json_array();
    struct hmap_entry *e;
    size_t i;

    pthread_mutex_lock(&f->mu);
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i))
        if (strcmp(((struct fed_mgr *)e->value)->site, site) == 0)
            json_array_append_new(ids, json_string(((struct fed_mgr *)e->value)->id));
    pthread_mutex_unlock(&f->mu);
    return ids;
}

int mgr_policy_recheck(struct core *c, const char *site, const json_t *pol, struct result *res)
{
    json_t *ids = managers_of(c->fed, site), *id;
    size_t i;
    int r = 0;

    json_array_foreach(ids, i, id)
    {
        json_t *doc = core_load(c, STORE_MANAGER, json_string_value(id));
        const json_t *over = json_object_get(doc, "policy");
        struct jv_error e = {0};
        json_t *p;

        if (json_object_size(over)) {
            p = overlaid(pol, over);
            if (fed_thresholds_check(over, p, &e)) {
                char *text = json_dumps(over, JSON_COMPACT | JSON_SORT_KEYS);

                r = result_fail(res, 409, "conflict", "object", json_string_value(id),
                                "the override of manager %s (%s) no longer makes sense with "
                                "this policy: %s; change or clear it first (PUT "
                                "/v0/managers/%s/policy, vnfmctl manager policy %s --clear)",
                                json_string_value(id), text, e.message, json_string_value(id),
                                json_string_value(id));
                json_object_set_new(res->body, "field", json_string(e.field));
                free(text);
            }
            json_decref(p);
        }
        json_decref(doc);
        if (r)
            break;
    }
    json_decref(ids);
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
            json_t *site = core_load(c, STORE_SITE, jv_str(doc, "site", ""));

            result_ok(&t->res, 200, view(t->args[0], doc, json_object_get(site, "manager_policy")));
            json_decref(site);
        }
    }
    json_decref(doc);
}
