/* Names per tenant: resolving what a caller names to a store key. */
#include "core/names.h"
#include "util/doc.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <string.h>

/* The record keyed key (a new reference), or NULL. */
static json_t *find(struct store *st, enum store_kind k, const char *key)
{
    json_t *doc = NULL;

    return store_get(st, k, key, &doc) == 0 ? doc : NULL;
}

static bool exists(struct store *st, enum store_kind k, const char *key)
{
    json_t *doc = find(st, k, key);

    json_decref(doc);
    return doc != NULL;
}

/* An admin's bare NAME: the record keyed NAME (a global VNFD, a SOL003
 * instance), else the one tenant's record that shows as NAME. */
static char *admin_key(struct store *st, enum store_kind k, const char *name, struct result *r)
{
    json_t *tenants = NULL, *t;
    char key[KEY_BUF_MAX], *found = NULL;
    struct sbuf b = SBUF_INIT;
    unsigned n = 0;
    size_t i;

    if (exists(st, k, name))
        return xstrdup(name);
    if (store_list(st, STORE_TENANT, NULL, &tenants) == 0)
        json_array_foreach(tenants, i, t)
        {
            if (!exists(st, k, id_scoped(key, doc_str(t, "id"), name)))
                continue;
            if (!n++)
                found = xstrdup(key);
            sbuf_addf(&b, "%s'%s'", n > 1 ? ", " : "", key);
        }
    json_decref(tenants);
    if (n > 1) {
        free(found);
        found = NULL;
        result_fail(r, 409, "ambiguous", "field", "id",
                    "%s '%s' is a name of several tenants: %s (name one as TENANT:NAME)",
                    k == STORE_VNFD ? "VNFD" : "deployment", name, sbuf_str(&b));
    }
    sbuf_done(&b);
    if (!n) /* no more: the admin's own default tenant's (svc_deploy) */
        id_scoped(key, "default", name);
    return n ? found : xstrdup(key);
}

/* tenant's own name: its scoped key, else name as it is (an unscoped
 * record), else the scoped key of a record that is no more (the filter of
 * an undeployed deployment's operations and logs). */
static char *tenant_key(struct store *st, const char *tenant, enum store_kind k, const char *name)
{
    char key[KEY_BUF_MAX];

    if (exists(st, k, id_scoped(key, tenant, name)))
        return xstrdup(key);
    return xstrdup(exists(st, k, name) ? name : key);
}

char *names_key(struct store *st, const char *tenant, enum store_kind k, const char *name,
                struct result *r)
{
    const char *colon = strchr(name, ':');
    char *owner, *key;

    if (colon) { /* TENANT:NAME, as that tenant names it (whose it is, the caller checks) */
        owner = xstrndup(name, (size_t)(colon - name));
        key = tenant_key(st, owner, k, colon + 1);
        free(owner);
        return key;
    }
    return tenant ? tenant_key(st, tenant, k, name) : admin_key(st, k, name, r);
}

bool names_taken(struct store *st, const char *tenant, enum store_kind k, const char *name)
{
    char key[KEY_BUF_MAX];
    json_t *bare;
    bool taken;

    if (exists(st, k, id_scoped(key, tenant, name)))
        return true;
    if (!tenant) /* a global VNFD's name: its key */
        return false;
    bare = find(st, k, name); /* an old record's (util/ids.h) */
    taken = bare && doc_str(bare, "tenant") && strcmp(doc_str(bare, "tenant"), tenant) == 0;
    json_decref(bare);
    return taken;
}
