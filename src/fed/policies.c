/* The policies the cloud judges every branch report with - a branch site's
 * manager_policy and pool_policy, a manager's own override - kept in
 * memory, so that a report reads no record for them (a site's record per
 * report was a third of the cloud's CPU at 1,000 branches:
 * docs/BENCHMARKS.md). Read from the store at their first use, replaced
 * after the commit of the request that sets them (elastic_site_put,
 * pool_site_put, mgr_policy_put: the only writers of these members; a
 * rolled back one leaves them as they were). On the loop only. */
#include "fed/fed_internal.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <string.h>

struct site_pols {
    json_t *pol[FED_POLICY_COUNT];
};

static const char *const members[FED_POLICY_COUNT] = {"manager_policy", "pool_policy"};

const json_t *fed_site_policy(struct core *c, const char *site, enum fed_policy which)
{
    struct fed *f = c->fed;
    struct site_pols *p = hmap_get(&f->site_pols, site);
    json_t *doc;

    if (!p) {
        p = xcalloc(1, sizeof(*p));
        doc = core_load(c, STORE_SITE, site);
        for (int i = 0; i < FED_POLICY_COUNT; i++)
            p->pol[i] = json_incref(json_object_get(doc, members[i]));
        json_decref(doc);
        hmap_put(&f->site_pols, site, p);
    }
    return json_is_object(p->pol[which]) ? p->pol[which] : NULL;
}

struct pol_change {
    enum fed_policy which; /* FED_POLICY_COUNT: a manager's override */
    json_t *pol;
    char key[];
};

static void pol_change_free(void *arg)
{
    struct pol_change *x = arg;

    json_decref(x->pol);
    free(x);
}

static void pol_changed(struct core *c, void *arg)
{
    struct pol_change *x = arg;
    struct fed_mgr *m;
    json_t **slot;

    if (x->which == FED_POLICY_COUNT) {
        if (!(m = hmap_get(&c->fed->mgrs, x->key)))
            return;
        slot = &m->override;
        m->override_read = true;
    } else {
        fed_site_policy(c, x->key, x->which); /* the entry exists */
        slot = &((struct site_pols *)hmap_get(&c->fed->site_pols, x->key))->pol[x->which];
    }
    json_decref(*slot);
    *slot = json_incref(x->pol);
}

static void change(struct core *c, const char *key, enum fed_policy which, const json_t *pol)
{
    struct pol_change *x = xcalloc(1, sizeof(*x) + strlen(key) + 1);

    x->which = which;
    x->pol = json_is_object(pol) ? json_deep_copy(pol) : NULL;
    strcpy(x->key, key);
    core_after_commit(c, pol_changed, x, pol_change_free);
}

void fed_site_policy_set(struct core *c, const char *site, enum fed_policy which, const json_t *pol)
{
    change(c, site, which, pol);
}

const json_t *fed_mgr_override(struct core *c, struct fed_mgr *m)
{
    json_t *doc;

    if (!m->override_read) {
        doc = core_load(c, STORE_MANAGER, m->id);
        m->override = json_incref(json_object_get(doc, "policy"));
        m->override_read = true;
        json_decref(doc);
    }
    return json_object_size(m->override) ? m->override : NULL;
}

void fed_mgr_override_set(struct core *c, const char *mgr, const json_t *pol)
{
    change(c, mgr, FED_POLICY_COUNT, pol);
}

void fed_policies_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->site_pols, &i); e; e = hmap_next(&f->site_pols, e, &i)) {
        struct site_pols *p = e->value;

        for (int k = 0; k < FED_POLICY_COUNT; k++)
            json_decref(p->pol[k]);
        free(p);
    }
    hmap_done(&f->site_pols);
}
