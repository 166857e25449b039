/* SOL005 VNF package management subscriptions and notifications
 * (pkgm.h; SOL005 9.4.7, 9.4.8, 9.5.2.8, 9.5.2.9). */
#include "sol003/pkgm.h"
#include "catalog/package.h"
#include "catalog/svc_package.h"
#include "core/outbox.h"
#include "sol003/lccn.h"
#include "util/doc.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BASE_MAX 320

static const char *base_of(const struct txn *t)
{
    return jv_str(t->query, "pkg_base", "http://localhost/vnfpkgm/v1");
}

json_t *pkgm_subscription(const json_t *sub, const char *base)
{
    json_t *v = json_pack("{s:s, s:s, s:{s:{s:s++}}}", "id", doc_str(sub, "id"), "callbackUri",
                          jv_str(sub, "callbackUri", ""), "_links", "self", "href", base,
                          "/subscriptions/", doc_str(sub, "id"));

    if (json_object_get(sub, "filter"))
        json_object_set(v, "filter", json_object_get(sub, "filter"));
    return v;
}

/* An equal subscription of the same owner is created all the same (SOL005
 * 9.4.7.3.1 allows it): a 303 sends OpenStack's clients into a POST to the
 * Location, which is refused (docs/SOL003.md). */
void svc_pkgm_subscribe(struct core *c, struct txn *t)
{
    const json_t *auth = json_object_get(t->body, "authentication");
    char id[ID_UUID_LEN + 1];
    json_t *sub;

    if (auth && !json_object_get(auth, "paramsBasic")) {
        result_fail(&t->res, 400, "missing-field", "field", "authentication.paramsBasic",
                    "authentication.paramsBasic: userName and password are required");
        return;
    }
    id_uuid(id);
    sub = json_pack(
        "{s:s, s:s?, s:s, s:O?, s:O?}", "id", id, "tenant", t->who.admin ? NULL : t->who.tenant,
        "callbackUri", jv_str(t->body, "callbackUri", ""), "filter",
        json_object_get(t->body, "filter"), "_auth", json_object_get(auth, "paramsBasic"));
    doc_touch(sub, "created");
    if (store_put(c->st, STORE_PKG_SUBSCRIPTION, sub)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the subscription");
    } else {
        snprintf(t->res.location, sizeof(t->res.location), "%s/subscriptions/%s", base_of(t), id);
        result_ok(&t->res, 201, pkgm_subscription(sub, base_of(t)));
    }
    json_decref(sub);
}

void svc_pkgm_unsubscribe(struct core *c, struct txn *t)
{
    json_t *sub = core_load(c, STORE_PKG_SUBSCRIPTION, t->args[0]);
    const char *owner = sub ? doc_str(sub, "tenant") : NULL;

    if (!sub || (!t->who.admin && (!owner || strcmp(owner, t->who.tenant) != 0)))
        result_not_found(&t->res, "subscription", t->args[0]);
    else if (store_delete(c->st, STORE_PKG_SUBSCRIPTION, t->args[0]) == 0 &&
             outbox_forget(c, t->args[0]) >= 0)
        result_ok(&t->res, 204, NULL);
    else
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot delete the subscription");
    json_decref(sub);
}

/* ---- notifications ---- */

static bool in(const json_t *list, const char *v)
{
    const json_t *it;
    size_t i;

    if (!json_is_array(list))
        return true;
    json_array_foreach(list, i, it)
    {
        if (v && json_is_string(it) && strcmp(json_string_value(it), v) == 0)
            return true;
    }
    return false;
}

/* vnfProductsFromProviders (SOL005 9.5.3.2): one entry whose provider
 * matches and, when it lists products, one whose name and (listed)
 * software versions match. */
static bool product_in(const json_t *providers, const json_t *pkg)
{
    const json_t *p, *prod, *ver;
    size_t i, k, v;

    if (!json_is_array(providers))
        return true;
    json_array_foreach(providers, i, p)
    {
        const json_t *prods = json_object_get(p, "vnfProducts");

        if (strcmp(jv_str(p, "vnfProvider", ""), jv_str(pkg, "vnfProvider", "")) != 0)
            continue;
        if (!json_array_size(prods))
            return true;
        json_array_foreach(prods, k, prod)
        {
            const json_t *vers = json_object_get(prod, "versions");

            if (strcmp(jv_str(prod, "vnfProductName", ""), jv_str(pkg, "vnfProductName", "")))
                continue;
            if (!json_array_size(vers))
                return true;
            json_array_foreach(vers, v, ver)
            {
                if (!strcmp(jv_str(ver, "vnfSoftwareVersion", ""),
                            jv_str(pkg, "vnfSoftwareVersion", "")))
                    return true;
            }
        }
    }
    return false;
}

/* PkgmNotificationsFilter (SOL005 9.5.3.2): every member present must
 * match. */
static bool wants(struct core *c, const json_t *sub, const json_t *pkg, const char *type)
{
    const json_t *f = json_object_get(sub, "filter");
    const char *owner = doc_str(sub, "tenant"), *pkg_owner = doc_str(pkg, "tenant");
    const char *usage = pkg_in_use(c->st, pkg) ? "IN_USE" : "NOT_IN_USE";

    if (owner && pkg_owner && strcmp(owner, pkg_owner) != 0)
        return false;
    return in(json_object_get(f, "notificationTypes"), type) &&
           in(json_object_get(f, "vnfPkgId"), doc_str(pkg, "id")) &&
           in(json_object_get(f, "vnfdId"), doc_str(pkg, "vnfdId")) &&
           in(json_object_get(f, "operationalState"), doc_str(pkg, "operationalState")) &&
           in(json_object_get(f, "usageState"), usage) &&
           product_in(json_object_get(f, "vnfProductsFromProviders"), pkg);
}

static void notify(struct core *c, const json_t *pkg, const char *type, const char *change)
{
    char root[BASE_MAX - 20], base[BASE_MAX], now[TIME_STR_MAX], id[ID_UUID_LEN + 1];
    json_t *subs = NULL, *sub;
    size_t i;

    if (store_list(c->st, STORE_PKG_SUBSCRIPTION, NULL, &subs))
        return;
    snprintf(base, sizeof(base), "%s/vnfpkgm/v1", lccn_api_root(c, root, sizeof(root)));
    json_array_foreach(subs, i, sub)
    {
        struct outbox_msg m = {.channel = "sol005",
                               .key = doc_str(sub, "id"),
                               .id = id,
                               .url = jv_str(sub, "callbackUri", ""),
                               .by_tenant = doc_str(sub, "tenant") != NULL};
        char obj[64];

        if (!wants(c, sub, pkg, type))
            continue;
        id_uuid(id);
        m.body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:{s:{s:s++}, s:{s:s++}}}", "id", id,
                           "notificationType", type, "subscriptionId", doc_str(sub, "id"),
                           "timeStamp", time_fmt(wall_ms(), now), "vnfPkgId", doc_str(pkg, "id"),
                           "vnfdId", doc_str(pkg, "vnfdId"), "_links", "subscription", "href", base,
                           "/subscriptions/", doc_str(sub, "id"), "vnfPackage", "href", base,
                           "/vnf_packages/", doc_str(pkg, "id"));
        if (change) {
            json_object_set_new(m.body, "changeType", json_string(change));
            json_object_set(m.body, "operationalState", json_object_get(pkg, "operationalState"));
        }
        snprintf(obj, sizeof(obj), "subscription/%s", doc_str(sub, "id"));
        m.object = obj;
        outbox_put(c, &m);
    }
    json_decref(subs);
}

static void onboarded(struct core *c, const json_t *pkg)
{
    notify(c, pkg, "VnfPackageOnboardingNotification", NULL);
}

static void changed(struct core *c, const json_t *pkg, const char *change)
{
    notify(c, pkg, "VnfPackageChangeNotification", change);
}

static const struct pkg_observer observer = {.onboarded = onboarded, .changed = changed};

static int prepare(struct core *c, const json_t *rec, struct outbox_req *rq)
{
    json_t *sub = core_load(c, STORE_PKG_SUBSCRIPTION, doc_str(rec, "key"));
    int r = lccn_prepare_post(sub, PKGM_VERSION, rq);

    json_decref(sub);
    return r;
}

static void report(struct core *c, const json_t *rec, const struct outbox_outcome *o)
{
    lccn_report_failure(c, "SOL005", rec, o);
}

static const struct outbox_channel channel = {
    .name = "sol005",
    .attempts = PKGM_MAX_ATTEMPTS,
    .prepare = prepare,
    .report = report,
};

void pkgm_init(struct core *c)
{
    outbox_register(c->outbox, &channel);
    pkg_observe(&observer);
}
