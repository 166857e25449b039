/* Catalogue requests: tenants, tokens, VNF descriptors. */
#include "catalog/svc_catalog.h"
#include "catalog/vnfd.h"
#include "catalog/vnfd_policy.h"
#include "core/auth.h"
#include "core/names.h"
#include "core/runas.h"
#include "util/doc.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int save(struct core *c, struct txn *t, enum store_kind k, json_t *doc)
{
    doc_touch(doc, "updated");
    if (store_put(c->st, k, doc) == 0)
        return 0;
    return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the %s: %s",
                       store_kind_name(k), store_errmsg(c->st));
}

static void digits(char *buf, unsigned n)
{
    unsigned char raw[32];

    random_bytes(raw, n);
    for (unsigned i = 0; i < n; i++)
        buf[i] = (char)('0' + raw[i] % 10);
    buf[0] = buf[0] == '0' ? '1' : buf[0];
    buf[n] = '\0';
}

static json_t *new_tenant(const char *id, const json_t *body)
{
    char internal[16], external[16];
    json_t *doc;

    digits(internal, 15);
    digits(external, 15);
    doc = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", id, "name", jv_str(body, "name", id),
                    "description", jv_str(body, "description", ""), "enabled",
                    jv_bool(body, "enabled", 1), "external_tenant_id",
                    jv_str(body, "external_tenant_id", external), "internal_tenant_id", internal);
    doc_touch(doc, "created");
    return doc;
}

/* The tenant's own uid, that its scripts run as (core/runas.h). */
static int claim_uid(struct core *c, struct txn *t, json_t *doc)
{
    uid_t uid;

    if (runas_claim(c, &uid))
        return result_fail(&t->res, 503, "unavailable", NULL, NULL,
                           "no sandbox identity is left for a new tenant");
    doc_set_int(doc, "_uid", uid);
    return 0;
}

void svc_tenant_create(struct core *c, struct txn *t)
{
    const char *id = t->args[0] ? t->args[0] : jv_str(t->body, "id", NULL);
    const char *body_id = jv_str(t->body, "id", NULL);
    json_t *doc;

    if (t->args[0] && body_id && strcmp(body_id, t->args[0]) != 0) {
        result_bad_field(&t->res, "invalid-value", "id", "id: differs from the id in the path");
        return;
    }
    if (!id_valid(id)) {
        result_bad_field(&t->res, "invalid-value", "id",
                         "id: must be 1-64 of letters, digits, '.', '_', '-'");
        return;
    }
    doc = core_load(c, STORE_TENANT, id);
    if (doc) {
        json_decref(doc);
        result_fail(&t->res, 409, "conflict", "object", "tenant", "tenant '%s' already exists", id);
        return;
    }
    doc = new_tenant(id, t->body);
    if (claim_uid(c, t, doc) == 0 && save(c, t, STORE_TENANT, doc) == 0) {
        core_audit(c, &t->who, "tenant", id, "created");
        snprintf(t->res.location, sizeof(t->res.location), "/v0/tenants/%s", id);
        result_ok(&t->res, 201, doc_public(doc));
    }
    json_decref(doc);
}

void svc_tenant_update(struct core *c, struct txn *t)
{
    json_t *doc = core_load(c, STORE_TENANT, t->args[0]);
    const char *key;
    json_t *v;

    if (!doc) {
        result_not_found(&t->res, "tenant", t->args[0]);
        return;
    }
    json_object_foreach(t->body, key, v)
    {
        json_object_set(doc, key, v);
    }
    if (save(c, t, STORE_TENANT, doc) == 0) {
        core_audit(c, &t->who, "tenant", t->args[0], "updated");
        auth_revoke_after_commit(c); /* disabled: its tokens' event streams end */
        result_ok(&t->res, 200, doc_public(doc));
    }
    json_decref(doc);
}

/* 409 naming the first kind of record that still refers to the tenant. */
static int tenant_in_use(struct core *c, struct txn *t, const char *id)
{
    static const struct {
        enum store_kind kind;
        const char *what;
    } refs[] = {{STORE_DEPLOYMENT, "deployments"}, {STORE_VNFD, "VNFDs"}, {STORE_TOKEN, "tokens"}};
    struct store_where w = {"tenant", id, false};

    for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
        long n = store_count(c->st, refs[i].kind, &w, 1);

        if (n > 0) {
            char obj[96];

            snprintf(obj, sizeof(obj), "tenant/%s", id);
            return result_fail(&t->res, 409, "conflict", "object", obj,
                               "tenant '%s' still has %ld %s; remove them first", id, n,
                               refs[i].what);
        }
    }
    return 0;
}

void svc_tenant_delete(struct core *c, struct txn *t)
{
    json_t *doc = core_load(c, STORE_TENANT, t->args[0]);

    if (!doc) {
        result_not_found(&t->res, "tenant", t->args[0]);
        return;
    }
    if (tenant_in_use(c, t, t->args[0])) {
        json_decref(doc);
        return;
    }
    store_delete(c->st, STORE_TENANT, t->args[0]);
    runas_release(c, doc);
    json_decref(doc);
    core_audit(c, &t->who, "tenant", t->args[0], "deleted");
    result_ok(&t->res, 204, NULL);
}

/* When a new token expires (wall ms, 0: never): its ttl_s from now, or its
 * expires (RFC 3339, in the future). */
static int token_expiry(struct txn *t, int64_t *ms)
{
    const char *at = jv_str(t->body, "expires", NULL);
    long long ttl = jv_int(t->body, "ttl_s", 0);
    int64_t now = wall_ms();

    *ms = 0;
    if (ttl && at)
        return result_bad_field(&t->res, "invalid-value", "expires",
                                "expires: give ttl_s or expires, not both");
    if (ttl)
        *ms = now + ttl * 1000;
    else if (at && time_parse(at, ms))
        return result_bad_field(&t->res, "invalid-value", "expires",
                                "expires: must be an RFC 3339 time (2026-11-24T09:00:00Z)");
    else if (at && *ms <= now)
        return result_bad_field(&t->res, "invalid-value", "expires",
                                "expires: must be in the future");
    return 0;
}

void svc_token_create(struct core *c, struct txn *t)
{
    char token[46], hash[TOKEN_HASH_LEN + 1], id[24], at[TIME_STR_MAX];
    json_t *tenant = core_load(c, STORE_TENANT, t->args[0]), *doc, *out;
    int64_t expires;

    if (!tenant) {
        result_not_found(&t->res, "tenant", t->args[0]);
        return;
    }
    json_decref(tenant);
    if (token_expiry(t, &expires))
        return;
    token_generate(token);
    token_hash(token, hash);
    id_random(id, "tok-", 12);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "tenant", t->args[0], "role", "tenant",
                    "description", jv_str(t->body, "description", ""), "_hash", hash);
    doc_touch(doc, "created");
    if (expires)
        doc_set_str(doc, "expires", time_fmt(expires, at));
    if (save(c, t, STORE_TOKEN, doc) == 0) {
        core_audit(c, &t->who, "token", id, "created");
        if (expires)
            auth_expiry_add(c, expires);
        out = doc_public(doc);
        json_object_set_new(out, "token", json_string(token));
        result_ok(&t->res, 201, out);
    }
    json_decref(doc);
}

void svc_token_delete(struct core *c, struct txn *t)
{
    if (store_delete(c->st, STORE_TOKEN, t->args[0])) {
        result_not_found(&t->res, "token", t->args[0]);
        return;
    }
    core_audit(c, &t->who, "token", t->args[0], "deleted");
    auth_revoke_after_commit(c); /* its event streams end */
    result_ok(&t->res, 204, NULL);
}

/* The tenant a new VNFD belongs to: the caller's, or for an admin the
 * ?tenant= one (none = a global descriptor). */
static int vnfd_owner(struct core *c, struct txn *t, const char **owner)
{
    const char *q = jv_str(t->query, "tenant", NULL);
    json_t *tenant;

    if (!t->who.admin) {
        *owner = t->who.tenant;
        return 0;
    }
    *owner = q;
    if (!q)
        return 0;
    tenant = core_load(c, STORE_TENANT, q);
    if (!tenant)
        return result_fail(&t->res, 404, "not-found", "field", "tenant", "tenant '%s' not found",
                           q);
    json_decref(tenant);
    return 0;
}

/* What only an admin's descriptor may ask for: capabilities for its VNF
 * processes (docs/VNFD.md). */
static int admin_only_fields(struct txn *t)
{
    const json_t *vdu;
    size_t i;

    if (t->who.admin)
        return 0;
    json_array_foreach(json_object_get(t->body, "vdus"), i, vdu)
    {
        char field[64];

        if (json_array_size(json_object_get(vdu, "capabilities")) == 0)
            continue;
        snprintf(field, sizeof(field), "vdus[%zu].capabilities", i);
        return result_fail(&t->res, 403, "forbidden", "field", field,
                           "%s: only an admin may on-board a VNFD whose processes keep "
                           "capabilities",
                           field);
    }
    return 0;
}

/* A tenant's descriptor: its webhooks reach only what --tenant-destinations
 * allows (400 naming the action's url). */
static int tenant_destinations(struct core *c, struct txn *t)
{
    struct jv_error err;

    if (t->who.admin ||
        !policy_check_destinations(json_object_get(t->body, "rules"), c->cfg->tenant_deny, &err))
        return 0;
    return result_fail(&t->res, 400, err.reason, "field", err.field, "%s", err.message);
}

json_t *vnfd_record(const json_t *descriptor, const char *owner, bool admin)
{
    const char *id = jv_str(descriptor, "id", "");
    json_t *doc, *vdus = json_array(), *v;
    size_t i;

    json_array_foreach(json_object_get(descriptor, "vdus"), i, v)
    {
        json_array_append(vdus, json_object_get(v, "id"));
    }
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:o, s:O}", "id", id, "name",
                    jv_str(descriptor, "name", id), "version", jv_str(descriptor, "version", "1.0"),
                    "vendor", jv_str(descriptor, "vendor", ""), "description",
                    jv_str(descriptor, "description", ""), "tenant", owner, "vdus", vdus,
                    "descriptor", descriptor);
    if (admin)
        json_object_set_new(doc, "_admin", json_true());
    doc_touch(doc, "created");
    return doc;
}

void svc_vnfd_create(struct core *c, struct txn *t)
{
    const char *id = jv_str(t->body, "id", "");
    const char *owner;
    char key[KEY_BUF_MAX];
    json_t *doc;

    if (vnfd_owner(c, t, &owner) || admin_only_fields(t) || tenant_destinations(c, t))
        return;
    /* a tenant's own VNFD may have a global one's name: it shadows it for
     * the tenant (docs/SECURITY.md "Names are per tenant") */
    if (names_taken(c->st, owner, STORE_VNFD, id)) {
        result_fail(&t->res, 409, "conflict", "field", "id", "VNFD '%s' is already on-boarded", id);
        return;
    }
    id_scoped(key, owner, id);
    doc = vnfd_record(t->body, owner, t->who.admin);
    json_object_set_new(doc, "id", json_string(key));
    if (save(c, t, STORE_VNFD, doc) == 0) {
        core_audit(c, &t->who, "vnfd", key, "on-boarded");
        snprintf(t->res.location, sizeof(t->res.location), "/v0/vnfds/%s", id);
        result_ok(&t->res, 201, doc_public(doc));
    }
    json_decref(doc);
}

void svc_vnfd_delete(struct core *c, struct txn *t)
{
    json_t *doc = core_load(c, STORE_VNFD, t->args[0]);
    const char *owner = doc ? doc_str(doc, "tenant") : NULL;
    struct store_where w = {"vnfd", t->args[0], false};
    long n;

    if (!doc || (!t->who.admin && owner && strcmp(owner, t->who.tenant) != 0)) {
        result_not_found(&t->res, "vnfd", t->args[0]);
        goto out;
    }
    if (!principal_owns(&t->who, owner)) {
        result_fail(&t->res, 403, "forbidden", "object", "vnfd",
                    "VNFD '%s' is global: only the admin may delete it", t->args[0]);
        goto out;
    }
    if (doc_str(doc, "package")) {
        result_fail(&t->res, 409, "conflict", "object", "vnfd",
                    "VNFD '%s' comes from VNF package %s: delete the package (docs/PACKAGES.md)",
                    t->args[0], doc_str(doc, "package"));
        goto out;
    }
    n = store_count(c->st, STORE_DEPLOYMENT, &w, 1);
    if (n > 0) {
        result_fail(&t->res, 409, "conflict", "object", "vnfd",
                    "VNFD '%s' is used by %ld deployment%s; undeploy them first", t->args[0], n,
                    n == 1 ? "" : "s");
        goto out;
    }
    store_delete(c->st, STORE_VNFD, t->args[0]);
    core_audit(c, &t->who, "vnfd", t->args[0], "deleted");
    result_ok(&t->res, 204, NULL);
out:
    json_decref(doc);
}

int svc_bootstrap(struct core *c)
{
    json_t *doc = core_load(c, STORE_TENANT, "default");
    int r = 0;

    if (!doc) {
        json_t *body = json_pack("{s:s}", "description", "created at first start");

        doc = new_tenant("default", body);
        json_decref(body);
        doc_touch(doc, "updated");
        r = store_put(c->st, STORE_TENANT, doc);
    }
    json_decref(doc);
    return r;
}
