/* Our records as YANG data (yang/vnfm.yang, yang/esc-compat.yang): the
 * running datastore of get-config and the operational data of get, built
 * from the store on each request; RFC 6241 6 subtree filters; and the
 * notifications of event-log records (seed Table 2). */
#include "netconf/nc_internal.h"
#include "core/health.h"
#include "core/version.h"
#include "core/states.h"
#include "util/doc.h"
#include "lcm/sites.h"
#include "monitor/monitor.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a build needs: the context, who asks, and whether state is shown. */
struct build {
    struct netconf *n;
    struct store *st;
    const struct principal *who;
    bool state;
};

/* ---- node helpers: the YANG decides what is configuration ---- */

static const struct lysc_node *child_schema(const struct lyd_node *parent, const char *name)
{
    return lys_find_child(parent->schema, parent->schema->module, name, 0, 0, 0);
}

static bool shown(const struct build *b, const struct lysc_node *sn)
{
    return sn && (b->state || (sn->flags & LYS_CONFIG_W));
}

/* A leaf (or leaf-list item); NULL values are skipped. */
static void put(const struct build *b, struct lyd_node *parent, const char *name, const char *value)
{
    if (!value || !shown(b, child_schema(parent, name)))
        return;
    if (lyd_new_term(parent, NULL, name, value, 0, NULL))
        log_debug("NETCONF: %s = '%s' does not fit the model", name, value);
}

static void put_int(const struct build *b, struct lyd_node *parent, const char *name,
                    const json_t *v)
{
    char buf[32];

    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        put(b, parent, name, buf);
    }
}

static void put_dec(const struct build *b, struct lyd_node *parent, const char *name, double v,
                    int digits)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%.*f", digits, v);
    put(b, parent, name, buf);
}

static struct lyd_node *inner(const struct build *b, struct lyd_node *parent, const char *name)
{
    struct lyd_node *node = NULL;

    if (!shown(b, child_schema(parent, name)))
        return NULL;
    lyd_new_inner(parent, NULL, name, 0, &node);
    return node;
}

static struct lyd_node *entry(struct lyd_node *parent, const char *list, const char *key)
{
    struct lyd_node *node = NULL;

    if (!key || lyd_new_list(parent, NULL, list, 0, &node, key))
        return NULL;
    return node;
}

static void put_str(const struct build *b, struct lyd_node *parent, const char *name,
                    const json_t *doc, const char *key)
{
    put(b, parent, name, doc_str(doc, key));
}

static void put_times(const struct build *b, struct lyd_node *node, const json_t *doc)
{
    put_str(b, node, "created", doc, "created");
    put_str(b, node, "updated", doc, "updated");
}

static void put_resources(const struct build *b, struct lyd_node *node, const json_t *res)
{
    if (!node || !res)
        return;
    if (json_is_number(json_object_get(res, "vcpu")))
        put_dec(b, node, "vcpu", json_number_value(json_object_get(res, "vcpu")), 2);
    put_int(b, node, "memory-mb", json_object_get(res, "memory_mb"));
    put_int(b, node, "disk-mb", json_object_get(res, "disk_mb"));
}

/* ---- records ---- */

static json_t *list_kind(struct store *st, enum store_kind k, const struct store_where *w,
                         unsigned n_where)
{
    struct store_list_opts o = {.where = w, .n_where = n_where};
    json_t *docs = NULL;

    return store_list(st, k, &o, &docs) == 0 ? docs : json_array();
}

/* How many of docs show as each name (util/ids.h id_name). */
static json_t *name_counts(const json_t *docs)
{
    json_t *counts = json_object(), *d;
    size_t i;

    json_array_foreach(docs, i, d)
    {
        const char *name = id_name(doc_str(d, "id"));

        if (name)
            json_object_set_new(counts, name, json_integer(jv_int(counts, name, 0) + 1));
    }
    return counts;
}

/* What the caller calls the record keyed key (core/names.h): its name; for
 * an admin TENANT:NAME when several tenants' records show as that name. */
static const char *called(const struct build *b, const json_t *counts, const char *key)
{
    const char *name = id_name(key);

    return b->who->admin && name && jv_int(counts, name, 0) > 1 ? key : name;
}

static void build_tenants(const struct build *b, struct lyd_node *root)
{
    struct store_where w = {"id", b->who->tenant, false};
    json_t *docs = list_kind(b->st, STORE_TENANT, &w, b->who->admin ? 0 : 1), *d;
    struct lyd_node *list = inner(b, root, "tenants");
    size_t i;

    json_array_foreach(docs, i, d)
    {
        struct lyd_node *t = entry(list, "tenant", doc_str(d, "id"));

        if (!t)
            continue;
        put_str(b, t, "name", d, "name");
        put_str(b, t, "description", d, "description");
        put(b, t, "enabled", json_is_false(json_object_get(d, "enabled")) ? "false" : "true");
        put_str(b, t, "external-tenant-id", d, "external_tenant_id");
        put_str(b, t, "internal-tenant-id", d, "internal_tenant_id");
        put_times(b, t, d);
    }
    json_decref(docs);
}

static void build_vnfds(const struct build *b, struct lyd_node *root)
{
    struct store_where w = {"tenant", b->who->tenant, true};
    json_t *docs = list_kind(b->st, STORE_VNFD, &w, b->who->admin ? 0 : 1), *d, *v;
    json_t *counts = name_counts(docs);
    struct lyd_node *list = inner(b, root, "vnfds"), *node;
    size_t i, j;

    json_array_foreach(docs, i, d)
    {
        const char *key = doc_str(d, "id");
        char *text;

        /* a global VNFD the tenant's own of that name shadows */
        if (!b->who->admin && !doc_str(d, "tenant") && jv_int(counts, key, 0) > 1)
            continue;
        if (!(node = entry(list, "vnfd", called(b, counts, key))))
            continue;
        put_str(b, node, "tenant", d, "tenant");
        text = json_dumps(json_object_get(d, "descriptor"), JSON_COMPACT | JSON_SORT_KEYS);
        put(b, node, "descriptor", text);
        free(text);
        put_str(b, node, "name", d, "name");
        put_str(b, node, "version", d, "version");
        put_str(b, node, "vendor", d, "vendor");
        json_array_foreach(json_object_get(d, "vdus"), j, v)
        {
            put(b, node, "vdu", json_string_value(v));
        }
        put_times(b, node, d);
    }
    json_decref(counts);
    json_decref(docs);
}

static void put_scalar(const struct build *b, struct lyd_node *parent, const char *name,
                       const json_t *v)
{
    char *text = json_is_string(v) ? xstrdup(json_string_value(v))
                                   : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    put(b, parent, name, text);
    free(text);
}

/* The VI's series in the monitor's view of its deployment. */
static void build_vi_metrics(const struct build *b, struct lyd_node *node, const json_t *live,
                             const char *vi_id)
{
    const char *name;
    json_t *m, *se;
    size_t i;

    json_object_foreach(json_object_get(live, "metrics"), name, m)
    {
        json_array_foreach(json_object_get(m, "vis"), i, se)
        {
            struct lyd_node *e;

            if (strcmp(jv_str(se, "vi", ""), vi_id) != 0 || !(e = entry(node, "metric", name)))
                continue;
            if (json_is_number(json_object_get(se, "last")))
                put_dec(b, e, "value", json_number_value(json_object_get(se, "last")), 3);
            if (json_is_boolean(json_object_get(se, "up")))
                put(b, e, "up", json_is_true(json_object_get(se, "up")) ? "true" : "false");
            put_str(b, e, "error", se, "error");
        }
    }
}

static void build_vi(const struct build *b, struct lyd_node *dep, const json_t *d, const json_t *vi,
                     const json_t *live)
{
    struct lyd_node *node = entry(dep, "vi", doc_str(vi, "id"));
    const char *state = doc_str(vi, "state");
    bool idle = !doc_str(d, "operation") && state && strcmp(state, "running") == 0;

    if (!node)
        return;
    put_str(b, node, "name", vi, "name");
    put_str(b, node, "vdu", vi, "vdu");
    put_int(b, node, "index", json_object_get(vi, "index"));
    put(b, node, "state", state);
    put(b, node, "stage", idle ? "monitoring" : doc_str(d, "stage"));
    put_str(b, node, "ip", vi, "ip");
    if (json_is_boolean(json_object_get(vi, "ready")))
        put(b, node, "ready", json_is_true(json_object_get(vi, "ready")) ? "true" : "false");
    if (doc_int(vi, "pid", 0) > 0)
        put_int(b, node, "pid", json_object_get(vi, "pid"));
    put_resources(b, node, vi);
    put_int(b, node, "restarts", json_object_get(vi, "restarts"));
    if (live)
        build_vi_metrics(b, node, live, doc_str(vi, "id"));
    put_str(b, node, "started", vi, "started");
}

static void build_deployment(const struct build *b, struct lyd_node *list, const json_t *d,
                             const json_t *counts)
{
    struct lyd_node *node = entry(list, "deployment", called(b, counts, doc_str(d, "id"))), *p;
    struct store_where w = {"deployment", doc_str(d, "id"), false};
    const char *key;
    json_t *v, *vis;
    size_t i;

    if (!node)
        return;
    put_str(b, node, "tenant", d, "tenant");
    put(b, node, "vnfd", b->who->admin ? doc_str(d, "vnfd") : id_name(doc_str(d, "vnfd")));
    put_str(b, node, "site", d, "site");
    if (doc_str(d, "license") && *doc_str(d, "license"))
        put_str(b, node, "license", d, "license");
    json_object_foreach(json_object_get(d, "params"), key, v)
    {
        if ((p = entry(node, "param", key)))
            put_scalar(b, p, "value", v);
    }
    json_object_foreach(json_object_get(d, "instances"), key, v)
    {
        if ((p = entry(node, "instances", key)))
            put_int(b, p, "count", v);
    }
    put_str(b, node, "status", d, "status");
    put_str(b, node, "stage", d, "stage");
    put_str(b, node, "operation", d, "operation");
    put_str(b, node, "error", d, "error");
    if (b->state) {
        struct monitor *mon = nc_core(b->n)->monitor;
        json_t *live = mon ? monitor_view(mon, doc_str(d, "id")) : NULL;

        vis = list_kind(b->st, STORE_VI, &w, 1);
        json_array_foreach(vis, i, v)
        {
            build_vi(b, node, d, v, live);
        }
        json_decref(vis);
        json_decref(live);
    }
    put_times(b, node, d);
}

static void build_deployments(const struct build *b, struct lyd_node *root)
{
    struct store_where w = {"tenant", b->who->tenant, false};
    json_t *docs = list_kind(b->st, STORE_DEPLOYMENT, &w, b->who->admin ? 0 : 1), *d;
    json_t *counts = name_counts(docs);
    struct lyd_node *list = inner(b, root, "deployments");
    size_t i;

    json_array_foreach(docs, i, d)
    {
        build_deployment(b, list, d, counts);
    }
    json_decref(counts);
    json_decref(docs);
}

static double share(double used, double cap)
{
    return cap > 0 ? 100.0 * used / cap : 0;
}

static void build_site_state(const struct build *b, struct lyd_node *node, const json_t *view)
{
    const json_t *cap = json_object_get(view, "capacity"), *al = json_object_get(view, "allocated");
    struct lyd_node *net = inner(b, node, "network"), *load;

    put_str(b, node, "driver", view, "driver");
    if (net) {
        put_str(b, net, "subnet", view, "subnet");
        put_str(b, net, "gateway", view, "gateway");
        put_str(b, net, "bridge", view, "bridge");
    }
    put_resources(b, inner(b, node, "allocated"), al);
    if (json_object_get(view, "reserved")) {
        struct lyd_node *res = inner(b, node, "reserved");

        put_resources(b, res, json_object_get(view, "reserved"));
        if (res)
            put_int(b, res, "managers",
                    json_object_get(json_object_get(view, "reserved"), "managers"));
    }
    put_resources(b, inner(b, node, "free"), json_object_get(view, "free"));
    if ((load = inner(b, node, "load"))) {
        put_dec(b, load, "vcpu-percent",
                share(json_number_value(json_object_get(al, "vcpu")),
                      json_number_value(json_object_get(cap, "vcpu"))),
                1);
        put_dec(b, load, "memory-percent",
                share((double)json_integer_value(json_object_get(al, "memory_mb")),
                      (double)json_integer_value(json_object_get(cap, "memory_mb"))),
                1);
    }
    put_str(b, node, "vim-health", json_object_get(view, "vim"), "health");
    put_str(b, node, "vim-message", json_object_get(view, "vim"), "message");
}

static void build_sites(const struct build *b, struct lyd_node *root)
{
    json_t *docs = list_kind(b->st, STORE_SITE, NULL, 0), *d;
    struct lyd_node *list = inner(b, root, "sites");
    const struct sites_snap *snap = sites_snap_get(nc_core(b->n));
    size_t i;

    json_array_foreach(docs, i, d)
    {
        struct lyd_node *node = entry(list, "site", doc_str(d, "id"));
        json_t *view;

        if (!node)
            continue;
        view = site_view(b->st, d, sites_snap_find(snap, doc_str(d, "id")));
        put_resources(b, inner(b, node, "capacity"), json_object_get(view, "capacity"));
        if (b->state)
            build_site_state(b, node, view);
        json_decref(view);
    }
    sites_snap_put(snap);
    json_decref(docs);
}

/* This manager; the C-VNFM will list its L-VNFMs here too (F18). */
static void build_managers(const struct build *b, struct lyd_node *root)
{
    struct core *c = nc_core(b->n);
    struct lyd_node *list = inner(b, root, "managers"), *m;
    char started[TIME_STR_MAX], code_s[16];
    json_t *rep;
    int code;

    if (!list || !(m = entry(list, "manager", c->tag)))
        return;
    put(b, m, "role", c->cfg->role);
    put(b, m, "site", c->cfg->site);
    put(b, m, "version", VNFM_VERSION);
    put(b, m, "started", time_fmt(c->started_ms, started));
    rep = health_report(c->health, &code);
    snprintf(code_s, sizeof(code_s), "%d", code);
    put(b, m, "health-code", code_s);
    put(b, m, "health-message", health_message(code));
    json_decref(rep);
}

/* "rps last > 500 (3 occurrences)" */
static void condition_text(const json_t *r, char *buf, size_t len)
{
    char held[48];

    if (jv_num(r, "for_s", 0) > 0)
        snprintf(held, sizeof(held), "for %g s", jv_num(r, "for_s", 0));
    else
        snprintf(held, sizeof(held), "%lld occurrence%s", jv_int(r, "occurrences", 1),
                 jv_int(r, "occurrences", 1) == 1 ? "" : "s");
    snprintf(buf, len, "%s %s %s %g (%s)", jv_str(r, "metric", ""), jv_str(r, "stat", "last"),
             jv_str(r, "op", ""), jv_num(r, "threshold", 0), held);
}

/* The actions' names joined with ", ". */
static void actions_text(const json_t *actions, const char *key, char *buf, size_t len)
{
    const json_t *a;
    size_t i, n = 0;

    buf[0] = '\0';
    json_array_foreach(actions, i, a)
    {
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s%s%s", i ? ", " : "",
                              jv_str(a, "action", ""), key ? " " : "",
                              key ? jv_str(a, key, "") : "");
    }
}

/* Every rule of the deployments the caller sees (F14). */
static void build_rules(const struct build *b, struct lyd_node *root)
{
    struct store_where w = {"tenant", b->who->tenant, false};
    json_t *docs = list_kind(b->st, STORE_DEPLOYMENT, &w, b->who->admin ? 0 : 1), *d, *r;
    json_t *counts = name_counts(docs);
    struct lyd_node *list = inner(b, root, "rules"), *e;
    char key[80 + KEY_BUF_MAX], text[512];
    size_t i, k;

    json_array_foreach(docs, i, d)
    {
        const char *dep = called(b, counts, doc_str(d, "id"));

        json_array_foreach(json_object_get(d, "rules"), k, r)
        {
            snprintf(key, sizeof(key), "%s/%s", dep, jv_str(r, "name", ""));
            if (!list || !(e = entry(list, "rule", key)))
                continue;
            snprintf(text, sizeof(text), "deployment/%s", dep);
            put(b, e, "object", text);
            condition_text(r, text, sizeof(text));
            put(b, e, "condition", text);
            actions_text(json_object_get(r, "actions"), NULL, text, sizeof(text));
            put(b, e, "action", text);
            put(b, e, "stage", jv_str(r, "stage", "custom"));
            put(b, e, "enabled", jv_bool(r, "enabled", 1) ? "true" : "false");
        }
    }
    json_decref(counts);
    json_decref(docs);
}

/* What decision d is about: its deployment, else its site (a manager
 * policy's decisions), else its rule. */
static const char *decision_object(const json_t *d, char *out, size_t size)
{
    if (doc_str(d, "deployment"))
        snprintf(out, size, "deployment/%s", doc_str(d, "deployment"));
    else if (doc_str(d, "site"))
        snprintf(out, size, "site/%s", doc_str(d, "site"));
    else
        snprintf(out, size, "rule/%s", doc_str(d, "rule") ?: "");
    return out;
}

/* The newest decisions of the rules engine the caller may see. */
static void build_decisions(const struct build *b, struct lyd_node *root)
{
    struct store_where w = {"tenant", b->who->tenant, false};
    struct store_list_opts o = {
        .where = &w, .n_where = b->who->admin ? 0 : 1, .limit = 100, .newest_first = true};
    struct lyd_node *list = inner(b, root, "decisions"), *e;
    json_t *docs = NULL, *d, *deps, *counts;
    char text[512];
    size_t i;

    if (!list || store_list(b->st, STORE_DECISION, &o, &docs))
        return;
    deps = list_kind(b->st, STORE_DEPLOYMENT, &w, b->who->admin ? 0 : 1);
    counts = name_counts(deps);
    json_decref(deps);
    json_array_foreach(docs, i, d)
    {
        if (doc_str(d, "deployment")) /* as the caller names it */
            doc_set_str(d, "deployment", called(b, counts, doc_str(d, "deployment")));
        if (!(e = entry(list, "decision", doc_str(d, "id"))))
            continue;
        put_str(b, e, "time", d, "created");
        put(b, e, "object", decision_object(d, text, sizeof(text)));
        actions_text(json_object_get(d, "actions"), "state", text, sizeof(text));
        put(b, e, "action", text);
        put_str(b, e, "reason", d, "reason");
        put_str(b, e, "state", d, "state");
    }
    json_decref(counts);
    json_decref(docs);
}

/* esc_datamodel of Table 1: the same tenants, name = id. */
static void build_esc(const struct build *b, struct lyd_node **roots)
{
    const struct lys_module *mod = ly_ctx_get_module_implemented(nc_ctx(b->n), "esc-compat");
    struct store_where w = {"id", b->who->tenant, false};
    struct lyd_node *root = NULL, *list;
    json_t *docs, *d;
    size_t i;

    if (!mod || lyd_new_inner(NULL, mod, "esc_datamodel", 0, &root))
        return;
    list = inner(b, root, "tenants");
    docs = list_kind(b->st, STORE_TENANT, &w, b->who->admin ? 0 : 1);
    json_array_foreach(docs, i, d)
    {
        struct lyd_node *t = entry(list, "tenant", doc_str(d, "id"));

        if (!t)
            continue;
        put_str(b, t, "description", d, "description");
        put(b, t, "enabled", json_is_false(json_object_get(d, "enabled")) ? "false" : "true");
    }
    json_decref(docs);
    lyd_insert_sibling(*roots, root, roots);
}

int ncd_build(struct netconf *n, struct store *st, const struct principal *who, bool state,
              struct lyd_node **out)
{
    const struct lys_module *mod = ly_ctx_get_module_implemented(nc_ctx(n), "vnfm");
    struct build b = {.n = n, .st = st, .who = who, .state = state};
    struct lyd_node *root = NULL, *lib = NULL;

    if (!mod || lyd_new_inner(NULL, mod, "vnfm", 0, &root))
        return -ENOMEM;
    store_begin(st); /* one snapshot for the whole answer */
    build_tenants(&b, root);
    build_vnfds(&b, root);
    build_deployments(&b, root);
    build_sites(&b, root);
    if (state) {
        build_managers(&b, root);
        build_rules(&b, root);
        build_decisions(&b, root);
    }
    build_esc(&b, &root);
    store_rollback(st);
    if (state &&
        ly_ctx_get_yanglib_data(nc_ctx(n), &lib, "%u", ly_ctx_get_change_count(nc_ctx(n))) == 0)
        lyd_insert_sibling(root, lib, &root);
    *out = root;
    return 0;
}

/* ---- subtree filters (RFC 6241 6) ---- */

static const char *node_name(const struct lyd_node *n)
{
    return n->schema ? n->schema->name : ((const struct lyd_node_opaq *)n)->name.name;
}

static const char *node_ns(const struct lyd_node *n)
{
    return n->schema ? n->schema->module->ns : ((const struct lyd_node_opaq *)n)->name.module_ns;
}

/* The text of a filter node: a leaf value, or NULL for a container. */
static const char *fvalue(const struct lyd_node *f)
{
    if (!f->schema)
        return lyd_child(f) ? NULL : ((const struct lyd_node_opaq *)f)->value;
    return (f->schema->nodetype & LYD_NODE_TERM) ? lyd_get_value(f) : NULL;
}

static bool is_content_match(const struct lyd_node *f)
{
    const char *v = fvalue(f);

    return v && *v && !lyd_child(f);
}

/* A filter node without namespace matches any (RFC 6241 6.2.1). */
static bool same(const struct lyd_node *f, const struct lyd_node *d)
{
    const char *fns = node_ns(f);

    return strcmp(node_name(f), d->schema->name) == 0 &&
           (!fns || !*fns || strcmp(fns, d->schema->module->ns) == 0);
}

static const struct lyd_node *data_child(const struct lyd_node *d, const struct lyd_node *f)
{
    const struct lyd_node *c;

    LY_LIST_FOR(lyd_child(d), c)
    {
        if (same(f, c))
            return c;
    }
    return NULL;
}

/* Every content match node among f's children equals d's child. */
static bool content_matches(const struct lyd_node *f, const struct lyd_node *d)
{
    const struct lyd_node *fc;

    LY_LIST_FOR(lyd_child(f), fc)
    {
        const struct lyd_node *dc;

        if (!is_content_match(fc))
            continue;
        dc = data_child(d, fc);
        if (!dc || !(dc->schema->nodetype & LYD_NODE_TERM) ||
            strcmp(lyd_get_value(dc), fvalue(fc)) != 0)
            return false;
    }
    return true;
}

/* The copy of d under parent (or among *roots), made once. */
static struct lyd_node *shell(const struct lyd_node *d, struct lyd_node *parent,
                              struct lyd_node **roots, bool full)
{
    struct lyd_node *first = parent ? lyd_child(parent) : *roots, *m = NULL;

    if (first && lyd_find_sibling_first(first, d, &m) == 0) {
        if (!full || !(m->schema->nodetype & LYD_NODE_INNER))
            return m; /* list keys come with their entry */
        lyd_free_tree(m);
        if (!parent && m == *roots)
            *roots = first == m ? NULL : first;
        m = NULL;
    }
    if (lyd_dup_single(d, (struct lyd_node_inner *)parent, full ? LYD_DUP_RECURSIVE : 0, &m))
        return NULL;
    if (!parent)
        lyd_insert_sibling(*roots, m, roots);
    return m;
}

static void filter_children(const struct lyd_node *f, const struct lyd_node *d,
                            struct lyd_node *out);

static void drop(struct lyd_node *node, struct lyd_node **roots)
{
    if (roots && *roots == node)
        *roots = node->next;
    lyd_free_tree(node);
}

/* Applies the filter siblings fs to the data siblings ds. */
static void filter_level(const struct lyd_node *fs, const struct lyd_node *ds,
                         struct lyd_node *parent, struct lyd_node **roots)
{
    const struct lyd_node *d, *f;

    LY_LIST_FOR(ds, d)
    {
        LY_LIST_FOR(fs, f)
        {
            const char *v;
            struct lyd_node *copy;

            if (!same(f, d) || is_content_match(f))
                continue;
            v = fvalue(f);
            if (!lyd_child(f) || (v && !*v) || !(d->schema->nodetype & LYD_NODE_INNER)) {
                shell(d, parent, roots, true); /* selection node */
                continue;
            }
            if (!content_matches(f, d))
                continue;
            copy = shell(d, parent, roots, false);
            if (!copy)
                continue;
            filter_children(f, d, copy);
            if (d->schema->nodetype == LYS_CONTAINER && !lyd_child(copy))
                drop(copy, roots); /* nothing below it matched */
        }
    }
}

/* Below a matching containment node: content match leaves are shown, the
 * other children filter further; with only content matches, all is shown. */
static void filter_children(const struct lyd_node *f, const struct lyd_node *d,
                            struct lyd_node *out)
{
    const struct lyd_node *fc, *dc;
    bool only_matches = true;

    LY_LIST_FOR(lyd_child(f), fc)
    {
        only_matches &= is_content_match(fc);
    }
    if (only_matches) {
        LY_LIST_FOR(lyd_child(d), dc)
        {
            shell(dc, out, NULL, true);
        }
        return;
    }
    LY_LIST_FOR(lyd_child(f), fc)
    {
        if (is_content_match(fc) && (dc = data_child(d, fc)))
            shell(dc, out, NULL, true);
    }
    filter_level(lyd_child(f), lyd_child(d), out, NULL);
}

struct lyd_node *ncd_filter(const struct lyd_node *filter, const struct lyd_node *data)
{
    struct lyd_node *roots = NULL;
    const struct lyd_node *top = filter;

    /* an anydata node itself stands for an empty filter: nothing */
    if (filter && filter->schema && (filter->schema->nodetype & LYS_ANYDATA))
        return NULL;
    while (top && top->prev->next) /* first sibling */
        top = top->prev;
    filter_level(top, data, NULL, &roots);
    return roots;
}

/* ---- notifications (seed Table 2) ---- */

struct status {
    const char *status;
    const char *code;
};

static struct status event_status(const json_t *rec)
{
    static const char *const ok[] = {"ok",      "completed", "created",   "updated",    "deleted",
                                     "running", "adopted",   "destroyed", "on-boarded", NULL};
    static const char *const busy[] = {"started", "retry", "resumed", "rolling_back", NULL};
    const char *result = json_string_value(json_object_get(rec, "result"));
    const char *level = json_string_value(json_object_get(rec, "level"));

    if ((level && strcmp(level, "error") == 0) ||
        (result && (!strcmp(result, "failed") || !strcmp(result, "rolled_back") ||
                    !strcmp(result, "exited"))))
        return (struct status){"FAILURE", "500"};
    for (const char *const *p = ok; result && *p; p++)
        if (strcmp(result, *p) == 0)
            return (struct status){"SUCCESS", "200"};
    for (const char *const *p = busy; result && *p; p++)
        if (strcmp(result, *p) == 0)
            return (struct status){"IN_PROGRESS", "202"};
    return (struct status){"INFO", "200"};
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = *s == '-' || *s == ' ' ? '_' : (char)toupper((unsigned char)*s);
}

/* The kind of an object "kind/id" ("tenant"), in buf. */
static const char *object_kind(const json_t *rec, char *buf, size_t len)
{
    const char *object = json_string_value(json_object_get(rec, "object"));
    const char *slash = object ? strchr(object, '/') : NULL;

    if (!slash)
        return NULL;
    snprintf(buf, len, "%.*s", (int)(slash - object), object);
    return buf;
}

/* CREATE_TENANT (Table 2, line 10), DELETE_VNFD, DEPLOY_COMPLETED,
 * STAGE_OK, VI_RUNNING, ... (docs/NETCONF.md). */
static void event_type(const json_t *rec, char *buf, size_t len)
{
    static const struct {
        const char *result, *verb;
    } verbs[] = {{"created", "CREATE"},
                 {"updated", "UPDATE"},
                 {"deleted", "DELETE"},
                 {"on-boarded", "CREATE"}};
    const char *cat = json_string_value(json_object_get(rec, "category"));
    const char *ev = json_string_value(json_object_get(rec, "event"));
    const char *result = json_string_value(json_object_get(rec, "result"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    char kind[32];

    snprintf(buf, len, "%s_%s", cat ? cat : "event", ev ? ev : "");
    if (cat && ev && !strcmp(cat, "audit") && object_kind(rec, kind, sizeof(kind)) && result) {
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
            if (strcmp(result, verbs[i].result) == 0)
                snprintf(buf, len, "%s_%s", verbs[i].verb, kind);
    } else if (ev && result && !strcmp(ev, "operation") && msg) {
        snprintf(buf, len, "%.*s_%s", (int)strcspn(msg, " "), msg, result); /* "deploy of x" */
    } else if (ev && result) {
        snprintf(buf, len, "%s_%s", ev, result);
    }
    upper(buf);
}

/* "Tenant successfully created" for audit records (Table 2, line 5), the
 * log message otherwise. */
static void status_message(const json_t *rec, char *buf, size_t len)
{
    const char *cat = json_string_value(json_object_get(rec, "category"));
    const char *result = json_string_value(json_object_get(rec, "result"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    char kind[32];

    if (cat && !strcmp(cat, "audit") && result && object_kind(rec, kind, sizeof(kind))) {
        kind[0] = (char)toupper((unsigned char)kind[0]);
        if (!strcmp(kind, "Vnfd"))
            snprintf(kind, sizeof(kind), "VNFD");
        snprintf(buf, len, "%s successfully %s", kind, result);
        return;
    }
    snprintf(buf, len, "%s", msg ? msg : "");
}

static void leaf(struct lyd_node *parent, const char *name, const char *value)
{
    if (value)
        lyd_new_term(parent, NULL, name, value, 0, NULL);
}

static void leaf_rec(struct lyd_node *parent, const char *name, const json_t *rec, const char *key)
{
    leaf(parent, name, json_string_value(json_object_get(rec, key)));
}

/* The tenant concerned: the record's, or the id of a tenant object. */
static const char *rec_tenant(const json_t *rec)
{
    const char *object = json_string_value(json_object_get(rec, "object"));

    if (object && strncmp(object, "tenant/", 7) == 0)
        return object + 7;
    return json_string_value(json_object_get(rec, "tenant"));
}

struct lyd_node *ncd_event_notif(struct ly_ctx *ctx, const json_t *rec)
{
    const struct lys_module *mod = ly_ctx_get_module_implemented(ctx, "vnfm");
    struct lyd_node *nf = NULL, *ev = NULL;
    struct status st = event_status(rec);
    char seq[24], type[96], msg[1024];
    const json_t *tag;
    size_t i;

    if (!mod || lyd_new_inner(NULL, mod, "vnfm-event", 0, &nf))
        return NULL;
    snprintf(seq, sizeof(seq), "%lld", (long long)json_integer_value(json_object_get(rec, "seq")));
    event_type(rec, type, sizeof(type));
    status_message(rec, msg, sizeof(msg));
    leaf(nf, "seq", seq);
    leaf(nf, "status", st.status);
    leaf(nf, "status-code", st.code);
    leaf(nf, "status-message", msg);
    leaf(nf, "tenant", rec_tenant(rec));
    leaf_rec(nf, "deployment", rec, "deployment");
    leaf_rec(nf, "operation", rec, "operation");
    leaf_rec(nf, "vi", rec, "vi");
    leaf_rec(nf, "object", rec, "object");
    lyd_new_inner(nf, NULL, "event", 0, &ev);
    leaf(ev, "type", type);
    leaf_rec(ev, "category", rec, "category");
    leaf_rec(ev, "name", rec, "event");
    leaf_rec(ev, "result", rec, "result");
    leaf_rec(ev, "stage", rec, "stage");
    leaf_rec(ev, "level", rec, "level");
    json_array_foreach(json_object_get(rec, "tags"), i, tag)
    {
        leaf(nf, "tag", json_string_value(tag));
    }
    return nf;
}

struct lyd_node *ncd_esc_notif(struct ly_ctx *ctx, const json_t *rec)
{
    const struct lys_module *mod = ly_ctx_get_module_implemented(ctx, "esc-compat");
    struct lyd_node *nf = NULL, *ev = NULL, *src = NULL, *dst = NULL;
    struct status st = event_status(rec);
    char type[96], msg[1024];

    if (!mod || lyd_new_inner(NULL, mod, "escEvent", 0, &nf))
        return NULL;
    event_type(rec, type, sizeof(type));
    status_message(rec, msg, sizeof(msg));
    leaf(nf, "status", st.status);
    leaf(nf, "status_code", st.code);
    leaf(nf, "status_message", msg);
    leaf_rec(nf, "depname", rec, "deployment");
    leaf(nf, "tenant", rec_tenant(rec));
    leaf_rec(nf, "depid", rec, "operation");
    lyd_new_inner(nf, NULL, "vm_source", 0, &src);
    lyd_new_inner(nf, NULL, "vm_target", 0, &dst);
    if (json_object_get(rec, "vi"))
        leaf_rec(dst, "vmid", rec, "vi");
    lyd_new_inner(nf, NULL, "event", 0, &ev);
    leaf(ev, "type", type);
    return nf;
}

/* ---- <get> and <get-config> (RFC 6241 7.1, 7.7) ---- */

struct nc_server_reply *ncr_get(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = nc_session_get_data(ns);
    bool state = strcmp(rpc->schema->name, "get") == 0;
    const struct lyd_node *filter = NULL;
    struct lyd_node *data = NULL, *out = NULL;
    struct store *st = nc_store(s->srv);
    struct nc_error e;
    char path[64];

    snprintf(path, sizeof(path), "/ietf-netconf:%s", rpc->schema->name);
    if (nc_get_filter(rpc, path, &filter, &e))
        return nc_server_reply_err(nc_error_node(nc_ctx(s->srv), &e));
    if (!st || ncd_build(s->srv, st, &s->who, state, &data)) {
        nc_fail(&e, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP, NULL, "the store cannot be read");
        return nc_server_reply_err(nc_error_node(nc_ctx(s->srv), &e));
    }
    if (filter) {
        struct lyd_node *sel = ncd_filter(filter, data);

        lyd_free_all(data);
        data = sel;
    }
    if (lyd_dup_single(rpc, NULL, 0, &out) ||
        lyd_new_any(out, NULL, "data", data, 1, LYD_ANYDATA_DATATREE, 1, NULL)) {
        lyd_free_all(data);
        lyd_free_all(out);
        nc_fail(&e, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP, NULL, "cannot build the reply");
        return nc_server_reply_err(nc_error_node(nc_ctx(s->srv), &e));
    }
    return nc_server_reply_data(out, NC_WD_EXPLICIT, NC_PARAMTYPE_FREE);
}
