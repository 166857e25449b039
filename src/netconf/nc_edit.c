/* edit-config and validate (RFC 6241 7.2, 8.6) onto the transactor.
 *
 * The <config> content is checked against the YANG modules, then turned
 * into changes of records (one per list entry) in document order. Each
 * change becomes one or more of the REST API's own requests (routes.c):
 * same body validation, same transactor, same authorization, one store
 * transaction each. The first failing request stops the edit (or, with
 * continue-on-error, is reported and skipped); what was applied before it
 * stays applied. With rollback-on-error the requests are collected and
 * submitted as one batch (core/txq.h), applied in one store transaction:
 * all or nothing (docs/NETCONF.md). */
#include "rest/api.h"
#include "netconf/nc_internal.h"
#include "core/names.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Edit operations (RFC 6241 7.2); OP_INHERIT = no attribute. */
enum op { OP_INHERIT, OP_NONE, OP_MERGE, OP_REPLACE, OP_CREATE, OP_DELETE, OP_REMOVE };

static const char *const op_names[] = {"",       "none",   "merge", "replace",
                                       "create", "delete", "remove"};

struct edit;
struct change;

/* How changes to one list of records are made (static const table). */
struct kind {
    const char *container, *list, *key;
    enum store_kind store;
    const char *object; /* "tenant" in "tenant/ID" */
    bool compat;        /* esc_datamodel of seed Table 1 */
    void (*apply)(struct edit *x, struct change *ch);
};

/* One list entry of the <config>. */
struct change {
    const struct kind *k;
    enum op op;
    char key[128];
    json_t *set;   /* REST field -> value of the leaves to write */
    json_t *unset; /* REST fields whose leaf had delete or remove */
    char *path;    /* error-path of the entry */
};

struct edit {
    struct ncs *s;
    struct netconf *n;
    struct store *st;
    enum nce_mode mode;
    enum nce_errmode errmode;
    struct nc_error *errs;
    size_t n_errs;
    bool stop;
    json_t *new_vnfds; /* id -> descriptor of the VNFDs this edit creates */
    /* rollback-on-error: the requests, submitted together at the end, and
     * for each the change it makes (k, key and path only) */
    struct txn *batch;
    struct change *parts;
    size_t n_parts;
};

/* ---- errors ---- */

static struct nc_error *add_error(struct edit *x)
{
    x->errs = xrealloc(x->errs, (x->n_errs + 1) * sizeof(*x->errs));
    if (x->errmode != NCE_CONTINUE)
        x->stop = true;
    return &x->errs[x->n_errs++];
}

static void fail(struct edit *x, NC_ERR tag, const char *path, const char *fmt, const char *arg)
{
    struct nc_error *e = add_error(x);

    nc_fail(e, tag, NC_ERR_TYPE_APP, path, fmt, arg ? arg : "");
}

static char *join(const char *path, const char *leaf)
{
    return xasprintf("%s/%s", path ? path : "", leaf);
}

/* ---- reading the <config> tree ---- */

static enum op node_op(const struct lyd_node *node, enum op inherited)
{
    struct lyd_meta *m =
        node->schema ? lyd_find_meta(node->meta, NULL, "ietf-netconf:operation") : NULL;
    const char *v = m ? lyd_get_meta_value(m) : NULL;

    for (size_t i = 1; v && i < ARRAY_SIZE(op_names); i++)
        if (strcmp(v, op_names[i]) == 0)
            return (enum op)i;
    return inherited;
}

static char *node_path(const struct lyd_node *node)
{
    char *p = lyd_path(node, LYD_PATH_STD, NULL, 0);

    return p ? p : xstrdup("/");
}

/* Whether an opaque list entry has its key element (of a wrong value). */
static bool has_key(const struct lyd_node_opaq *o, const struct lysc_node *list)
{
    const struct lysc_node *key = lysc_node_child(list);
    const struct lyd_node *c;

    LY_LIST_FOR(o->child, c)
    {
        if (key && lysc_is_key(key) && !c->schema &&
            !strcmp(((const struct lyd_node_opaq *)c)->name.name, key->name))
            return true;
    }
    return false;
}

/* An element the schema does not have (the parser left it opaque):
 * unknown-element, unknown-namespace, a list entry without its key
 * (missing-element), or a value of the wrong type (invalid-value, RFC 7950
 * 8.3.1). */
static void opaque_error(struct edit *x, const struct lyd_node *node)
{
    const struct lyd_node_opaq *o = (const struct lyd_node_opaq *)node;
    const struct lyd_node *parent = lyd_parent(node);
    const struct lys_module *mod =
        o->name.module_ns ? ly_ctx_get_module_implemented_ns(nc_ctx(x->n), o->name.module_ns)
                          : NULL;
    const struct lysc_node *sn = NULL;
    char *ppath = parent ? node_path(parent) : xstrdup("");
    bool prefix = mod && (!parent || !parent->schema || parent->schema->module != mod);
    char *path =
        xasprintf("%s/%s%s%s", ppath, prefix ? mod->name : "", prefix ? ":" : "", o->name.name);
    struct nc_error *e = add_error(x);

    if (mod)
        sn = lys_find_child(parent ? parent->schema : NULL, mod, o->name.name, 0, 0, 0);
    if (!mod && !parent) {
        nc_fail(e, NC_ERR_UNKNOWN_NS, NC_ERR_TYPE_APP, path,
                "no module of this server has the namespace '%s'", o->name.module_ns);
        snprintf(e->bad_ns, sizeof(e->bad_ns), "%s", o->name.module_ns ? o->name.module_ns : "");
    } else if (!sn) {
        nc_fail(e, NC_ERR_UNKNOWN_ELEM, NC_ERR_TYPE_APP, path, "unknown element '%s'",
                o->name.name);
    } else if (sn->nodetype == LYS_LIST && has_key(o, sn)) {
        nc_fail(e, NC_ERR_INVALID_VALUE, NC_ERR_TYPE_APP, path, "invalid key of '%s'",
                o->name.name);
    } else if (sn->nodetype == LYS_LIST) {
        nc_fail(e, NC_ERR_MISSING_ELEM, NC_ERR_TYPE_APP, path, "'%s' needs its key", o->name.name);
    } else if (sn->nodetype & LYD_NODE_TERM) {
        nc_fail(e, NC_ERR_INVALID_VALUE, NC_ERR_TYPE_APP, path, "'%s' is not a valid value for %s",
                o->value, o->name.name);
    } else {
        nc_fail(e, NC_ERR_BAD_ELEM, NC_ERR_TYPE_APP, path, "malformed element '%s'", o->name.name);
    }
    snprintf(e->bad_elem, sizeof(e->bad_elem), "%s", o->name.name);
    free(path);
    free(ppath);
}

/* Every element is known, writable and of the right type. */
static void check_tree(struct edit *x, const struct lyd_node *first)
{
    const struct lyd_node *node;

    LY_LIST_FOR(first, node)
    {
        if (x->stop)
            return;
        if (!node->schema) {
            opaque_error(x, node);
            continue;
        }
        if (node->schema->flags & LYS_CONFIG_R) {
            char *path = node_path(node);

            fail(x, NC_ERR_INVALID_VALUE, path, "'%s' is operational data: it cannot be edited",
                 node->schema->name);
            snprintf(x->errs[x->n_errs - 1].bad_elem, sizeof(x->errs[0].bad_elem), "%s",
                     node->schema->name);
            free(path);
            continue;
        }
        check_tree(x, lyd_child(node));
    }
}

/* A leaf's value as the REST API types it. */
static json_t *leaf_json(const struct lyd_node *leaf)
{
    const struct lysc_node_leaf *sl = (const struct lysc_node_leaf *)leaf->schema;
    const char *v = lyd_get_value(leaf);

    switch (sl->type->basetype) {
    case LY_TYPE_BOOL:
        return json_boolean(strcmp(v, "true") == 0);
    case LY_TYPE_DEC64:
        return json_real(strtod(v, NULL));
    case LY_TYPE_INT8:
    case LY_TYPE_INT16:
    case LY_TYPE_INT32:
    case LY_TYPE_INT64:
    case LY_TYPE_UINT8:
    case LY_TYPE_UINT16:
    case LY_TYPE_UINT32:
    case LY_TYPE_UINT64:
        return json_integer(strtoll(v, NULL, 10));
    default:
        return json_string(v);
    }
}

/* "memory-mb" -> "memory_mb" */
static char *field_name(const char *yang)
{
    char *f = xstrdup(yang);

    for (char *p = f; *p; p++)
        *p = *p == '-' ? '_' : *p;
    return f;
}

static json_t *to_json(const struct lyd_node *node);

/* A keyed list of one value leaf (param, instances) is a map. */
static void add_list_entry(json_t *obj, const struct lyd_node *entry)
{
    const struct lyd_node *k = lyd_child(entry), *v = k ? k->next : NULL;
    char *name = field_name(entry->schema->name);
    json_t *map = json_object_get(obj, name);

    if (!map) {
        map = json_object();
        json_object_set_new(obj, name, map);
    }
    if (k && v && !v->next)
        json_object_set_new(map, lyd_get_value(k), leaf_json(v));
    free(name);
}

static json_t *to_json(const struct lyd_node *node)
{
    json_t *obj = json_object();
    const struct lyd_node *c;

    LY_LIST_FOR(lyd_child(node), c)
    {
        char *name = field_name(c->schema->name);

        if (c->schema->nodetype == LYS_LEAF)
            json_object_set_new(obj, name, leaf_json(c));
        else if (c->schema->nodetype == LYS_CONTAINER)
            json_object_set_new(obj, name, to_json(c));
        else if (c->schema->nodetype == LYS_LIST)
            add_list_entry(obj, c);
        free(name);
    }
    return obj;
}

/* The change of one list entry: leaves with merge, replace or create are
 * set, those with delete or remove unset; under "none" a leaf without an
 * operation changes nothing (RFC 6241 7.2). */
static void entry_change(const struct lyd_node *entry, enum op op, struct change *ch)
{
    const struct lyd_node *c;

    ch->op = op;
    ch->path = node_path(entry);
    ch->set = json_object();
    ch->unset = json_array();
    LY_LIST_FOR(lyd_child(entry), c)
    {
        enum op cop = node_op(c, op);
        char *name = field_name(c->schema->name);

        if (lysc_is_key(c->schema)) {
            snprintf(ch->key, sizeof(ch->key), "%s", lyd_get_value(c));
        } else if (cop == OP_DELETE || cop == OP_REMOVE) {
            if (op != OP_DELETE && op != OP_REMOVE)
                json_array_append_new(ch->unset, json_string(name));
        } else if (cop != OP_NONE) {
            if (c->schema->nodetype == LYS_LEAF)
                json_object_set_new(ch->set, name, leaf_json(c));
            else if (c->schema->nodetype == LYS_CONTAINER)
                json_object_set_new(ch->set, name, to_json(c));
            else if (c->schema->nodetype == LYS_LIST)
                add_list_entry(ch->set, c);
        }
        free(name);
    }
}

static void change_done(struct change *ch)
{
    json_decref(ch->set);
    json_decref(ch->unset);
    free(ch->path);
}

/* ---- requests ---- */

static const struct route *route(const char *method, const char *pattern)
{
    for (size_t i = 0; i < api_n_routes; i++)
        if (!strcmp(api_routes[i].method, method) && !strcmp(api_routes[i].pattern, pattern))
            return &api_routes[i];
    return NULL;
}

/* The YANG node a REST field names: "credentials.password" -> password. */
static char *field_path(const struct change *ch, const char *field)
{
    char first[64];
    size_t n;

    if (!field || !*field)
        return xstrdup(ch->path);
    if (ch->k->store == STORE_VNFD)
        return join(ch->path, "descriptor");
    if (!strcmp(field, "credentials.password") || !strcmp(field, "credentials"))
        return join(ch->path, "password");
    n = strcspn(field, ".[");
    snprintf(first, sizeof(first), "%.*s", (int)n, field);
    if (!strcmp(first, "params"))
        return join(ch->path, "param");
    for (char *p = first; *p; p++)
        *p = *p == '_' ? '-' : *p;
    if (!strcmp(first, ch->k->key) || !strcmp(first, "id") || !strcmp(first, "name"))
        return join(ch->path, strcmp(first, "id") ? first : ch->k->key);
    return join(ch->path, first);
}

static NC_ERR status_tag(int status, const char *reason, const char *msg)
{
    if (status == 400)
        return !strcmp(reason, "missing-field")   ? NC_ERR_MISSING_ELEM
               : !strcmp(reason, "unknown-field") ? NC_ERR_UNKNOWN_ELEM
                                                  : NC_ERR_INVALID_VALUE;
    if (status == 401 || status == 403)
        return NC_ERR_ACCESS_DENIED;
    if (status == 404)
        return NC_ERR_DATA_MISSING;
    if (status == 409 && !strcmp(reason, "insufficient-capacity"))
        return NC_ERR_RES_DENIED;
    if (status == 409)
        return strstr(msg, "already") ? NC_ERR_DATA_EXISTS : NC_ERR_IN_USE;
    if (status == 413)
        return NC_ERR_TOO_BIG;
    return NC_ERR_OP_FAILED;
}

/* A REST error answer as an rpc-error (docs/NETCONF.md, error mapping). */
static void fail_result(struct edit *x, const struct change *ch, const struct result *res)
{
    const char *reason = json_string_value(json_object_get(res->body, "error"));
    const char *msg = json_string_value(json_object_get(res->body, "message"));
    const char *field = json_string_value(json_object_get(res->body, "field"));
    char *path = field_path(ch, field);
    struct nc_error *e = add_error(x);

    nc_fail(e, status_tag(res->status, reason ? reason : "", msg ? msg : ""), NC_ERR_TYPE_APP, path,
            "%s", msg ? msg : "failed");
    if (e->tag == NC_ERR_DATA_MISSING && field)
        snprintf(e->app_tag, sizeof(e->app_tag), "instance-required");
    if ((e->tag == NC_ERR_MISSING_ELEM || e->tag == NC_ERR_UNKNOWN_ELEM) && field)
        snprintf(e->bad_elem, sizeof(e->bad_elem), "%s", strrchr(path, '/') + 1);
    free(path);
}

static int check_body(struct edit *x, const struct change *ch, const struct route *rt,
                      const json_t *body)
{
    struct jv_error jerr;
    struct result res = {0};

    if ((!rt->schema || !jv_check(body, rt->schema, &jerr)) &&
        (!rt->validate || !rt->validate(body, &jerr)))
        return 0;
    result_fail(&res, 400, jerr.reason, "field", jerr.field, "%s", jerr.message);
    fail_result(x, ch, &res);
    result_done(&res);
    return -1;
}

/* rollback-on-error: t becomes a part of the edit's batch. */
static void batch_add(struct edit *x, const struct change *ch, struct txn *t)
{
    struct change *p;

    if (!x->batch)
        x->batch = txn_batch_new("edit-config");
    x->parts = xrealloc(x->parts, (x->n_parts + 1) * sizeof(*x->parts));
    p = &x->parts[x->n_parts++];
    *p = (struct change){.k = ch->k, .path = xstrdup(ch->path)};
    snprintf(p->key, sizeof(p->key), "%s", ch->key);
    txn_batch_add(x->batch, t);
}

/* Applies the batch in one transaction; its failing part is the error. */
static void batch_submit(struct edit *x)
{
    struct txn *b = x->batch;
    struct change whole = {.path = ""};
    struct result res = {0};
    long failed = -1;

    b->who = x->s->who;
    b->session = x->s->id;
    x->batch = NULL;
    if (nc_submit(x->n, b, &res, &failed)) {
        fail(x, NC_ERR_OP_FAILED, NULL, "the manager is stopping%s", NULL);
        return;
    }
    if (res.status >= 400)
        fail_result(x, failed >= 0 ? &x->parts[failed] : &whole, &res);
    result_done(&res);
}

/* One REST request through the transactor; body and query are stolen. */
/* The store key of the entry ch names (core/names.h); NULL, with the
 * error in x, when an admin's bare name is several tenants'. */
static char *store_key(struct edit *x, const struct change *ch)
{
    struct result res = {0};
    char *key;

    if (!x->st || (ch->k->store != STORE_DEPLOYMENT && ch->k->store != STORE_VNFD))
        return xstrdup(ch->key);
    key = names_key(x->st, x->s->who.admin ? NULL : x->s->who.tenant, ch->k->store, ch->key, &res);
    if (!key)
        fail(x, NC_ERR_INVALID_VALUE, ch->path, "%s", jv_str(res.body, "message", "ambiguous"));
    result_done(&res);
    return key;
}

static int request(struct edit *x, const struct change *ch, const char *method, const char *pattern,
                   json_t *body, json_t *query)
{
    const struct route *rt = route(method, pattern);
    struct result res = {0};
    struct txn *t;
    char obj[192], *key = NULL;
    int r;

    if (!body)
        body = json_object();
    if (!rt || check_body(x, ch, rt, body) || x->mode == NCE_TEST_ONLY ||
        (strstr(pattern, "{id}") && !(key = store_key(x, ch)))) {
        if (!rt)
            fail(x, NC_ERR_OP_FAILED, ch->path, "no request for %s", pattern);
        json_decref(body);
        json_decref(query);
        return 0; /* errors are in x */
    }
    t = txn_new(rt->apply, rt->name);
    t->admin_only = rt->flags & R_ADMIN;
    t->who = x->s->who;
    t->body = body;
    t->query = query;
    t->args[0] = key;
    t->client_txn_id = xasprintf("netconf-%u", x->s->id);
    t->session = x->s->id;
    if (ch->k->compat) {
        snprintf(obj, sizeof(obj), "%s/%s", ch->k->object, ch->key);
        nc_mark_compat(x->n, obj);
    }
    if (x->errmode == NCE_ROLLBACK) {
        batch_add(x, ch, t);
        return 0;
    }
    r = nc_submit(x->n, t, &res, NULL);
    if (r) {
        fail(x, NC_ERR_OP_FAILED, ch->path, "the manager is stopping%s", NULL);
        return -1;
    }
    if (res.status >= 400)
        fail_result(x, ch, &res);
    r = res.status >= 400 ? -1 : 0;
    result_done(&res);
    return r;
}

/* The record of the change if the session's user may see it. */
static json_t *load(struct edit *x, const struct change *ch)
{
    json_t *doc = NULL;
    const char *tenant;
    char *key = x->st ? store_key(x, ch) : NULL;
    int r = key ? store_get(x->st, ch->k->store, key, &doc) : -ENOENT;

    free(key);
    if (r)
        return NULL;
    tenant = ch->k->store == STORE_TENANT ? doc_str(doc, "id") : doc_str(doc, "tenant");
    if (ch->k->store == STORE_SITE || principal_owns(&x->s->who, tenant) ||
        (ch->k->store == STORE_VNFD && !tenant))
        return doc;
    json_decref(doc);
    return NULL;
}

static const char *delete_pattern(const struct kind *k)
{
    return k->store == STORE_TENANT ? "/v0/tenants/{id}"
           : k->store == STORE_VNFD ? "/v0/vnfds/{id}"
                                    : "/v0/deployments/{id}";
}

/* delete and remove of an entry; false when the op is neither. */
static bool delete_entry(struct edit *x, struct change *ch, const json_t *rec)
{
    if (ch->op != OP_DELETE && ch->op != OP_REMOVE)
        return false;
    if (!rec && ch->op == OP_DELETE)
        fail(x, NC_ERR_DATA_MISSING, ch->path,
             "%s does not exist (delete needs it; remove does not)", ch->key);
    else if (rec)
        request(x, ch, "DELETE", delete_pattern(ch->k), NULL, NULL);
    return true;
}

static bool create_exists(struct edit *x, struct change *ch, const json_t *rec)
{
    if (rec && ch->op == OP_CREATE) {
        fail(x, NC_ERR_DATA_EXISTS, ch->path, "%s already exists", ch->key);
        return true;
    }
    return false;
}

/* Under "none", an entry that does not exist cannot take leaf changes. */
static bool none_missing(struct edit *x, struct change *ch, const json_t *rec)
{
    if (ch->op != OP_NONE || rec)
        return false;
    if (json_object_size(ch->set) || json_array_size(ch->unset))
        fail(x, NC_ERR_DATA_MISSING, ch->path, "%s does not exist", ch->key);
    return true;
}

static void unsupported(struct edit *x, const struct change *ch, const char *leaf, const char *why)
{
    char *path = leaf ? join(ch->path, leaf) : xstrdup(ch->path);

    fail(x, NC_ERR_OP_NOT_SUPPORTED, path, "%s", why);
    free(path);
}

/* ---- tenants (vnfm tenants and esc_datamodel tenants) ---- */

static void tenant_update(struct edit *x, struct change *ch, const json_t *rec)
{
    static const char *const fields[] = {"name", "description", "enabled"};
    json_t *body = json_object(), *v, *ext = json_object_get(ch->set, "external_tenant_id");
    size_t i;

    if (ext && !json_equal(ext, json_object_get(rec, "external_tenant_id"))) {
        json_decref(body);
        unsupported(x, ch, "external-tenant-id", "external-tenant-id is set at creation only");
        return;
    }
    json_array_foreach(ch->unset, i, v)
    {
        const char *f = json_string_value(v);

        if (!strcmp(f, "name"))
            json_object_set_new(body, f, json_string(ch->key));
        else if (!strcmp(f, "description"))
            json_object_set_new(body, f, json_string(""));
        else if (!strcmp(f, "enabled"))
            json_object_set_new(body, f, json_true());
    }
    for (i = 0; i < ARRAY_SIZE(fields); i++)
        if ((v = json_object_get(ch->set, fields[i])))
            json_object_set(body, fields[i], v);
    for (i = 0; i < ARRAY_SIZE(fields); i++) /* leave out what does not change */
        if ((v = json_object_get(body, fields[i])) &&
            json_equal(v, json_object_get(rec, fields[i])))
            json_object_del(body, fields[i]);
    if (json_object_size(body))
        request(x, ch, "PUT", "/v0/tenants/{id}", body, NULL);
    else
        json_decref(body);
}

static void apply_tenant(struct edit *x, struct change *ch)
{
    json_t *rec = load(x, ch);

    if (delete_entry(x, ch, rec) || create_exists(x, ch, rec) || none_missing(x, ch, rec))
        goto out;
    if (!rec) {
        request(x, ch, "POST", "/v0/tenants/{id}", json_deep_copy(ch->set), NULL);
        goto out;
    }
    if (ch->op == OP_REPLACE) { /* what the entry leaves out goes back to its default */
        static const char *const fields[] = {"name", "description", "enabled"};

        for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
            if (!json_object_get(ch->set, fields[i]))
                json_array_append_new(ch->unset, json_string(fields[i]));
    }
    tenant_update(x, ch, rec);
out:
    json_decref(rec);
}

/* ---- VNF descriptors: create and delete only ---- */

static json_t *parse_descriptor(struct edit *x, struct change *ch)
{
    const char *text = json_string_value(json_object_get(ch->set, "descriptor"));
    char *path = join(ch->path, "descriptor");
    json_error_t jerr;
    json_t *doc = NULL;

    if (!text) {
        struct nc_error *e = add_error(x);

        nc_fail(e, NC_ERR_MISSING_ELEM, NC_ERR_TYPE_APP, path, "a new VNFD needs its descriptor");
        snprintf(e->bad_elem, sizeof(e->bad_elem), "descriptor");
    } else if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(doc)) {
        fail(x, NC_ERR_INVALID_VALUE, path, "the descriptor is not a JSON object: %s",
             doc ? "" : jerr.text);
        json_decref(doc);
        doc = NULL;
    } else if (!json_object_get(doc, "id")) {
        json_object_set_new(doc, "id", json_string(ch->key));
    } else if (!json_is_string(json_object_get(doc, "id")) || strcmp(doc_str(doc, "id"), ch->key)) {
        fail(x, NC_ERR_INVALID_VALUE, path, "the descriptor's id differs from the key '%s'",
             ch->key);
        json_decref(doc);
        doc = NULL;
    }
    free(path);
    return doc;
}

static void apply_vnfd(struct edit *x, struct change *ch)
{
    json_t *rec = load(x, ch), *doc;
    const json_t *tenant = json_object_get(ch->set, "tenant");

    if (delete_entry(x, ch, rec) || create_exists(x, ch, rec) || none_missing(x, ch, rec))
        goto out;
    if (json_array_size(ch->unset)) {
        unsupported(x, ch, NULL, "VNFDs are immutable: delete and create them again");
        goto out;
    }
    if (!(doc = parse_descriptor(x, ch)))
        goto out;
    if (!rec) {
        json_object_set(x->new_vnfds, ch->key, doc);
        request(x, ch, "POST", "/v0/vnfds", doc,
                tenant ? json_pack("{s:O}", "tenant", tenant) : NULL);
        goto out;
    }
    if (!json_equal(doc, json_object_get(rec, "descriptor")) ||
        (tenant && !json_equal(tenant, json_object_get(rec, "tenant"))))
        unsupported(x, ch, "descriptor", "VNFDs are immutable: delete and create them again");
    json_decref(doc);
out:
    json_decref(rec);
}

/* ---- deployments: deploy, undeploy, scale ---- */

/* Parameter values come as strings; the VNFD declares their types. */
static json_t *typed_params(struct edit *x, const json_t *given, const char *vnfd_id)
{
    json_t *vnfd = NULL, *out = json_object(), *v, *decl;
    const char *name;

    if (vnfd_id && (vnfd = json_object_get(x->new_vnfds, vnfd_id)))
        vnfd = json_pack("{s:O}", "descriptor", vnfd);
    else if (x->st && vnfd_id)
        store_get(x->st, STORE_VNFD, vnfd_id, &vnfd);
    decl = json_object_get(json_object_get(vnfd, "descriptor"), "params");
    json_object_foreach((json_t *)given, name, v)
    {
        const char *type = doc_str(json_object_get(decl, name), "type");
        const char *s = json_string_value(v);
        char *end = NULL;

        if (type && !strcmp(type, "integer") && s && (strtoll(s, &end, 10), end && !*end && *s))
            json_object_set_new(out, name, json_integer(strtoll(s, NULL, 10)));
        else if (type && !strcmp(type, "number") && s && (strtod(s, &end), end && !*end && *s))
            json_object_set_new(out, name, json_real(strtod(s, NULL)));
        else if (type && !strcmp(type, "boolean") && s &&
                 (!strcmp(s, "true") || !strcmp(s, "false")))
            json_object_set_new(out, name, json_boolean(!strcmp(s, "true")));
        else
            json_object_set(out, name, v);
    }
    json_decref(vnfd);
    return out;
}

static void deploy(struct edit *x, struct change *ch)
{
    static const char *const copy[] = {"tenant", "vnfd", "site", "license", "instances"};
    json_t *body = json_pack("{s:s}", "name", ch->key), *v;

    for (size_t i = 0; i < ARRAY_SIZE(copy); i++)
        if ((v = json_object_get(ch->set, copy[i])))
            json_object_set(body, copy[i], v);
    if ((v = json_object_get(ch->set, "password")))
        json_object_set_new(body, "credentials", json_pack("{s:O}", "password", v));
    if ((v = json_object_get(ch->set, "param")))
        json_object_set_new(body, "params",
                            typed_params(x, v, json_string_value(json_object_get(body, "vnfd"))));
    request(x, ch, "POST", "/v0/deployments", body, NULL);
}

/* Changes a deployed VNF can take: instance counts (scale, F30). */
static void redeploy(struct edit *x, struct change *ch, const json_t *rec)
{
    static const char *const fixed[] = {"tenant", "vnfd", "site", "license"};
    const json_t *want = json_object_get(ch->set, "instances"), *have, *v;
    const char *vdu;

    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
        v = json_object_get(ch->set, fixed[i]);
        if (v && !json_equal(v, json_object_get(rec, fixed[i]))) {
            unsupported(x, ch, fixed[i],
                        "a deployed VNF keeps its tenant, VNFD, site and "
                        "licence; only instance counts change (scale)");
            return;
        }
    }
    v = json_object_get(ch->set, "param");
    if (v) {
        json_t *typed = typed_params(x, v, doc_str(rec, "vnfd"));
        bool same = json_equal(typed, json_object_get(rec, "params"));

        json_decref(typed);
        if (!same) {
            unsupported(x, ch, "param", "the parameters of a deployed VNF cannot change");
            return;
        }
    }
    have = json_object_get(rec, "instances");
    json_object_foreach((json_t *)want, vdu, v)
    {
        if (x->stop || json_equal(v, json_object_get(have, vdu)))
            continue;
        request(x, ch, "POST", "/v0/deployments/{id}/scale",
                json_pack("{s:s, s:O}", "vdu", vdu, "count", v), NULL);
    }
}

static void apply_deployment(struct edit *x, struct change *ch)
{
    json_t *rec = load(x, ch);

    if (delete_entry(x, ch, rec) || create_exists(x, ch, rec) || none_missing(x, ch, rec))
        goto out;
    if (json_array_size(ch->unset))
        unsupported(x, ch, NULL, "leaves of a deployment cannot be deleted; delete the deployment");
    else if (!rec)
        deploy(x, ch);
    else
        redeploy(x, ch, rec);
out:
    json_decref(rec);
}

/* ---- sites: their capacity ---- */

static void apply_site(struct edit *x, struct change *ch)
{
    json_t *rec = load(x, ch), *cap = json_object_get(ch->set, "capacity");

    if (create_exists(x, ch, rec))
        goto out;
    if (!rec && ch->op == OP_DELETE)
        fail(x, NC_ERR_DATA_MISSING, ch->path, "site %s does not exist", ch->key);
    else if (ch->op == OP_DELETE || ch->op == OP_REMOVE || !rec)
        unsupported(x, ch, NULL, "sites are made and removed by their managers");
    else if (cap && json_object_size(cap))
        request(x, ch, "PUT", "/v0/sites/{id}", json_pack("{s:O}", "capacity", cap), NULL);
out:
    json_decref(rec);
}

static const struct kind kinds[] = {
    {"tenants", "tenant", "id", STORE_TENANT, "tenant", false, apply_tenant},
    {"vnfds", "vnfd", "id", STORE_VNFD, "vnfd", false, apply_vnfd},
    {"deployments", "deployment", "name", STORE_DEPLOYMENT, "deployment", false, apply_deployment},
    {"sites", "site", "id", STORE_SITE, "site", false, apply_site},
};
/* seed Table 1: esc_datamodel/tenants/tenant[name] is the tenant 'name'. */
static const struct kind esc_tenants = {"tenants", "tenant", "name",      STORE_TENANT,
                                        "tenant",  true,     apply_tenant};

/* ---- walking the <config> ---- */

static bool mentioned(const struct lyd_node *list, const char *key)
{
    const struct lyd_node *e;

    LY_LIST_FOR(list ? lyd_child(list) : NULL, e)
    {
        const struct lyd_node *k = lyd_child(e);

        if (k && lysc_is_key(k->schema) && !strcmp(lyd_get_value(k), key))
            return true;
    }
    return false;
}

/* replace of a whole list drops the records it leaves out; delete and
 * remove of it drop them all. Sites are never dropped. */
static void drop_others(struct edit *x, const struct kind *k, const struct lyd_node *list,
                        const char *path)
{
    struct store_list_opts o = {0};
    json_t *docs = NULL, *d;
    size_t i;

    if (k->store == STORE_SITE || !x->st || store_list(x->st, k->store, &o, &docs))
        return;
    json_array_foreach(docs, i, d)
    {
        struct change ch = {.k = k, .op = OP_REMOVE};
        json_t *rec;

        snprintf(ch.key, sizeof(ch.key), "%s", doc_str(d, "id"));
        /* by its name, or (an admin's) TENANT:NAME */
        if (x->stop || mentioned(list, id_name(ch.key)) || mentioned(list, ch.key))
            continue;
        ch.path = xasprintf("%s/%s[%s='%s']", path, k->list, k->key, ch.key);
        if ((rec = load(x, &ch)))
            request(x, &ch, "DELETE", delete_pattern(k), NULL, NULL);
        json_decref(rec);
        free(ch.path);
    }
    json_decref(docs);
}

static void walk_list(struct edit *x, const struct kind *k, const struct lyd_node *list, enum op op,
                      const char *path)
{
    const struct lyd_node *e;

    LY_LIST_FOR(list ? lyd_child(list) : NULL, e)
    {
        struct change ch = {.k = k};

        if (x->stop)
            return;
        entry_change(e, node_op(e, op), &ch);
        k->apply(x, &ch);
        change_done(&ch);
    }
    if (!x->stop && (op == OP_REPLACE || op == OP_DELETE || op == OP_REMOVE))
        drop_others(x, k, op == OP_REPLACE ? list : NULL, path);
}

/* The top containers: vnfm (our lists) and esc_datamodel (Table 1). */
static void walk_top(struct edit *x, const struct lyd_node *top, enum op dflt)
{
    bool esc = !strcmp(top->schema->module->name, "esc-compat");
    enum op op = node_op(top, dflt);
    char *tpath = node_path(top);

    for (size_t i = 0; i < (esc ? 1 : ARRAY_SIZE(kinds)) && !x->stop; i++) {
        const struct kind *k = esc ? &esc_tenants : &kinds[i];
        const struct lyd_node *list = NULL, *c;
        char *path;

        LY_LIST_FOR(lyd_child(top), c)
        {
            if (!strcmp(c->schema->name, k->container))
                list = c;
        }
        if (!list && op != OP_REPLACE && op != OP_DELETE && op != OP_REMOVE)
            continue;
        path = join(tpath, k->container);
        walk_list(x, k, list, list ? node_op(list, op) : op, path);
        free(path);
    }
    free(tpath);
}

size_t nce_edit(struct ncs *s, const struct lyd_node *cfg, const char *default_op,
                enum nce_mode mode, enum nce_errmode errmode, struct nc_error **errs)
{
    struct edit x = {
        .s = s, .n = s->srv, .mode = mode, .errmode = errmode, .new_vnfds = json_object()};
    enum op dflt = !strcmp(default_op, "replace") ? OP_REPLACE
                   : !strcmp(default_op, "none")  ? OP_NONE
                                                  : OP_MERGE;
    const struct lyd_node *top;
    uint32_t holder;

    if (mode == NCE_APPLY && nc_lock_check(x.n, s->id, &holder)) {
        struct nc_error *e = add_error(&x);

        nc_fail(e, NC_ERR_IN_USE, NC_ERR_TYPE_PROT, NULL,
                "the running datastore is locked by session %u", holder);
        e->sid = holder;
        goto out;
    }
    x.st = nc_store(x.n);
    check_tree(&x, cfg);
    if (x.n_errs)
        goto out;
    LY_LIST_FOR(cfg, top)
    {
        if (x.stop)
            break;
        if (strcmp(top->schema->name, "vnfm") && strcmp(top->schema->name, "esc_datamodel")) {
            char *path = node_path(top);

            fail(&x, NC_ERR_OP_NOT_SUPPORTED, path, "'%s' cannot be edited here",
                 top->schema->name);
            free(path);
            continue;
        }
        walk_top(&x, top, dflt);
    }
    if (x.batch && !x.n_errs)
        batch_submit(&x);
out:
    for (size_t i = 0; i < x.n_parts; i++)
        free(x.parts[i].path);
    free(x.parts);
    txn_free(x.batch); /* not submitted: an error came first */
    json_decref(x.new_vnfds);
    *errs = x.errs;
    return x.n_errs;
}

/* ---- the RPCs ---- */

static const char *leaf_value(const struct lyd_node *rpc, const char *path, const char *def)
{
    struct lyd_node *leaf = NULL;

    return lyd_find_path(rpc, path, 0, &leaf) ? def : lyd_get_value(leaf);
}

/* The <config> content: a data tree, or NULL when empty. */
static const struct lyd_node *config_of(const struct lyd_node *rpc, const char *path)
{
    struct lyd_node *cfg = NULL;
    const struct lyd_node_any *any;

    if (lyd_find_path(rpc, path, 0, &cfg))
        return NULL;
    any = (const struct lyd_node_any *)cfg;
    return any->value_type == LYD_ANYDATA_DATATREE ? any->value.tree : NULL;
}

static struct nc_server_reply *answer(struct ncs *s, struct nc_error *errs, size_t n)
{
    struct nc_server_reply *r;

    if (!n)
        return nc_server_reply_ok();
    r = nc_server_reply_err(nc_error_node(nc_ctx(s->srv), &errs[0]));
    for (size_t i = 1; i < n; i++)
        nc_server_reply_add_err(r, nc_error_node(nc_ctx(s->srv), &errs[i]));
    free(errs);
    return r;
}

/* RFC 6241 7.2 */
struct nc_server_reply *ncr_edit(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = nc_session_get_data(ns);
    const char *test = leaf_value(rpc, "test-option", "test-then-set");
    const char *onerr = leaf_value(rpc, "error-option", "stop-on-error");
    const struct lyd_node *cfg = config_of(rpc, "config");
    struct nc_error *errs = NULL;
    struct lyd_node *ds = NULL;
    size_t n = 0;

    if (lyd_find_path(rpc, "target/running", 0, &ds) &&
        lyd_find_path(rpc, "source/running", 0, &ds)) {
        errs = xcalloc(1, sizeof(*errs));
        nc_fail(errs, NC_ERR_MISSING_ELEM, NC_ERR_TYPE_PROT, "/ietf-netconf:edit-config",
                "edit-config needs <target><running/></target>");
        snprintf(errs->bad_elem, sizeof(errs->bad_elem), "target");
        return answer(s, errs, 1);
    }
    if (cfg)
        n = nce_edit(s, cfg, leaf_value(rpc, "default-operation", "merge"),
                     !strcmp(test, "test-only") ? NCE_TEST_ONLY : NCE_APPLY,
                     !strcmp(onerr, "continue-on-error")   ? NCE_CONTINUE
                     : !strcmp(onerr, "rollback-on-error") ? NCE_ROLLBACK
                                                           : NCE_STOP,
                     &errs);
    return answer(s, errs, n);
}

/* RFC 6241 8.6: running is always valid; a <config> is checked as an
 * edit-config test-only would. */
struct nc_server_reply *ncr_validate(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = nc_session_get_data(ns);
    const struct lyd_node *cfg = config_of(rpc, "source/config");
    struct nc_error *errs = NULL;
    size_t n = 0;

    if (cfg)
        n = nce_edit(s, cfg, "merge", NCE_TEST_ONLY, NCE_CONTINUE, &errs);
    return answer(s, errs, n);
}
