/* The estate's routes: the federation mount /fed/v1 that branch managers
 * speak to (join, reports), and the native routes of the estate on a cloud
 * (/v0/join-tokens, /v0/managers); and the start-up of src/fed/. */
#include "fed/fed_internal.h"
#include "lcm/observe.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <string.h>

#define TOKEN_TTL_S     3600
#define TOKEN_TTL_MAX_S (30 * 86400)

#define FIELD(n, t, fl, lo, hi)                                 \
    {                                                           \
        .name = n, .type = t, .flags = fl, .min = lo, .max = hi \
    }
#define END          \
    {                \
        .name = NULL \
    }

static const char *const no_params[] = {NULL};
static const char *const force_params[] = {"force", NULL};

/* ---- join tokens (admin, on the cloud) ---- */

static const struct jv_field join_token_fields[] = {
    FIELD("site", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("ttl_s", JV_INT, 0, 1, TOKEN_TTL_MAX_S),
    FIELD("description", JV_STRING, 0, 0, 256),
    END,
};
static const struct jv_field join_token_schema = {.type = JV_OBJECT, .fields = join_token_fields};

void fed_token_generate(char *out)
{
    token_generate(out); /* "vnfm_" + 40 hex */
    memcpy(out, "join_", 5);
}

static int not_cloud(struct core *c, struct result *res)
{
    if (c->fed && c->fed->cloud)
        return 0;
    return result_fail(res, 409, "not-a-cloud", NULL, NULL,
                       "this manager is not a cloud VNFM: start it with --role cloud");
}

static void join_token_create(struct core *c, struct txn *t)
{
    const char *site = jv_str(t->body, "site", "");
    char token[46], hash[TOKEN_HASH_LEN + 1], id[24], exp[TIME_STR_MAX];
    json_t *existing, *doc, *out;

    if (not_cloud(c, &t->res))
        return;
    existing = core_load(c, STORE_SITE, site);
    if (existing && strcmp(jv_str(existing, "kind", ""), "branch")) {
        json_decref(existing);
        result_fail(&t->res, 409, "conflict", "field", "site",
                    "site '%s' is a site of this manager, not a branch", site);
        return;
    }
    json_decref(existing);
    fed_token_generate(token);
    token_hash(token, hash);
    id_random(id, "jt-", 10);
    time_fmt(wall_ms() + jv_int(t->body, "ttl_s", TOKEN_TTL_S) * 1000, exp);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "site", site, "expires", exp,
                    "description", jv_str(t->body, "description", ""), "_hash", hash);
    doc_touch(doc, "created");
    if (store_put(c->st, STORE_JOIN_TOKEN, doc)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the join token: %s",
                    store_errmsg(c->st));
    } else {
        core_audit(c, &t->who, "join_token", id, "created");
        out = doc_public(doc);
        json_object_set_new(out, "token", json_string(token));
        result_ok(&t->res, 201, out);
    }
    json_decref(doc);
}

static void join_token_delete(struct core *c, struct txn *t)
{
    if (store_delete(c->st, STORE_JOIN_TOKEN, t->args[0])) {
        result_not_found(&t->res, "join token", t->args[0]);
        return;
    }
    core_audit(c, &t->who, "join_token", t->args[0], "deleted");
    result_ok(&t->res, 204, NULL);
}

static void q_join_tokens(struct rctx *r)
{
    json_t *list = NULL;

    if (store_list(r->st, STORE_JOIN_TOKEN, NULL, &list)) {
        result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the store");
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++)
        json_array_set_new(list, i, doc_public(json_array_get(list, i)));
    result_ok(&r->res, 200, json_pack("{s:o}", "join_tokens", list));
}

/* ---- managers ---- */

static json_t *managers_of(struct rctx *r, const char *id)
{
    struct fed *f = r->c->fed;
    json_t *list = NULL, *out = json_array();
    size_t i;

    if (!f || !f->cloud || store_list(r->st, STORE_MANAGER, NULL, &list))
        return out;
    pthread_mutex_lock(&f->mu);
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *d = json_array_get(list, i);

        if (!id || strcmp(jv_str(d, "id", ""), id) == 0)
            json_array_append_new(out, fed_mgr_view(f, d));
    }
    pthread_mutex_unlock(&f->mu);
    json_decref(list);
    return out;
}

/* The deployments manager id (of site) runs, as the cloud mirrors them:
 * named as their tenants name them, unless two names would meet (then
 * TENANT:NAME). */
static json_t *deployments_of(struct rctx *r, const char *site, const char *id)
{
    struct store_where w = {"site", site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *seen = json_object(), *out = json_array(), *d;
    size_t i;

    if (store_list(r->st, STORE_DEPLOYMENT, &o, &list) == 0)
        json_array_foreach(list, i, d)
        {
            const char *key = jv_str(d, "id", ""), *name = id_name(key);

            if (strcmp(jv_str(d, "manager", ""), id))
                continue;
            json_array_append_new(out, json_string(json_object_get(seen, name) ? key : name));
            json_object_set_new(seen, name, json_true());
        }
    json_decref(seen);
    json_decref(list);
    return out;
}

static void q_managers(struct rctx *r)
{
    result_ok(&r->res, 200, json_pack("{s:o}", "managers", managers_of(r, NULL)));
}

static void q_manager(struct rctx *r)
{
    json_t *list = managers_of(r, r->args[0]), *m = json_array_get(list, 0);

    if (json_array_size(list) == 1) {
        json_object_set_new(m, "deployment_ids",
                            deployments_of(r, jv_str(m, "site", ""), r->args[0]));
        result_ok(&r->res, 200, json_incref(m));
    } else
        result_not_found(&r->res, "manager", r->args[0]);
    json_decref(list);
}

/* POST /v0/managers/{id}/report: a report now (a pull, seed para 102),
 * asked over the manager's channel; 202, or 503 when it has none open. */
static void manager_pull(struct core *c, struct txn *t)
{
    struct fed_mgr *m;

    if (not_cloud(c, &t->res))
        return;
    m = hmap_get(&c->fed->mgrs, t->args[0]);
    if (!m) {
        result_not_found(&t->res, "manager", t->args[0]);
        return;
    }
    if (fed_pull(c->fed, m))
        result_fail(&t->res, 503, "site-unreachable", "object", m->site,
                    "manager %s of site %s has no channel open to the cloud (%s)", m->id, m->site,
                    m->state);
    else
        result_ok(&t->res, 202,
                  json_pack("{s:s, s:s, s:I}", "manager", m->id, "site", m->site, "reports",
                            (json_int_t)m->reports));
}

/* DELETE /v0/managers/{id}[?force=true] (docs/FEDERATION.md "Removing a
 * manager"). */
static void manager_remove(struct core *c, struct txn *t)
{
    struct fed_mgr *m;

    if (not_cloud(c, &t->res))
        return;
    m = hmap_get(&c->fed->mgrs, t->args[0]);
    if (!m)
        result_not_found(&t->res, "manager", t->args[0]);
    else
        fed_mgr_remove(c, t, m);
}

static const char *const owners[] = {"branch", "cloud", NULL};
static const struct jv_field owner_fields[] = {
    {.name = "owner", .type = JV_STRING, .flags = JV_REQUIRED, .choices = owners},
    END,
};
static const struct jv_field owner_schema = {.type = JV_OBJECT, .fields = owner_fields};
static const struct jv_field mmove_fields[] = {
    FIELD("site", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    END,
};
static const struct jv_field mmove_schema = {.type = JV_OBJECT, .fields = mmove_fields};

#define GET(p, n, fl, fn)                                                                      \
    {                                                                                          \
        .method = "GET", .pattern = p, .name = n, .flags = fl, .read = fn, .params = no_params \
    }
#define WRITE(m, p, n, fl, fn, s)                                                    \
    {                                                                                \
        .method = m, .pattern = p, .name = n, .flags = fl, .apply = fn, .schema = s, \
        .params = no_params                                                          \
    }

static const struct route api_routes[] = {
    GET("/v0/join-tokens", "list join tokens", R_ADMIN, q_join_tokens),
    WRITE("POST", "/v0/join-tokens", "create join token", R_ADMIN | R_BODY, join_token_create,
          &join_token_schema),
    WRITE("DELETE", "/v0/join-tokens/{id}", "delete join token", R_ADMIN, join_token_delete, NULL),
    GET("/v0/vnfm/instances", "list cloud VNFM instances", R_ADMIN, fed_cscale_list),
    GET("/v0/managers", "list managers", R_ADMIN, q_managers),
    GET("/v0/managers/{id}", "show manager", R_ADMIN, q_manager),
    WRITE("POST", "/v0/managers/{id}/report", "pull report", R_ADMIN, manager_pull, NULL),
    WRITE("POST", "/v0/managers/{id}/move", "move manager", R_ADMIN | R_BODY, fed_mmove_route,
          &mmove_schema),
    {.method = "DELETE",
     .pattern = "/v0/managers/{id}",
     .name = "remove manager",
     .flags = R_ADMIN,
     .apply = manager_remove,
     .params = force_params},
    GET("/v0/managers/{id}/policy", "show manager policy override", R_ADMIN, mgr_policy_get),
    {.method = "PUT",
     .pattern = "/v0/managers/{id}/policy",
     .name = "set manager policy override",
     .flags = R_ADMIN | R_BODY,
     .apply = mgr_policy_put,
     .validate = mgr_policy_check,
     .params = no_params},
    WRITE("PUT", "/v0/deployments/{id}/rules-owner", "rules owner", R_BODY, fed_owner_apply,
          &owner_schema),
    GET("/v0/sites/{id}/managers", "show site manager policy", R_ADMIN, elastic_site_get),
    {.method = "PUT",
     .pattern = "/v0/sites/{id}/managers",
     .name = "set site manager policy",
     .flags = R_ADMIN | R_BODY,
     .apply = elastic_site_put,
     .validate = elastic_policy_check,
     .params = no_params},
    GET("/v0/sites/{id}/pool", "show site pool policy", R_ADMIN, pool_site_get),
    {.method = "PUT",
     .pattern = "/v0/sites/{id}/pool",
     .name = "set site pool policy",
     .flags = R_ADMIN | R_BODY,
     .apply = pool_site_put,
     .validate = pool_policy_check,
     .params = no_params},
};

const struct mount fed_api_mount = {
    .prefix = "",
    .routes = api_routes,
    .n_routes = ARRAY_SIZE(api_routes),
    .style = STYLE_NATIVE,
};

/* ---- the federation mount (/fed/v1) ---- */

static const struct jv_field capacity_fields[] = {
    FIELD("vcpu", JV_NUMBER, 0, 0, 1e6),
    FIELD("memory_mb", JV_INT, 0, 0, 1e12),
    FIELD("disk_mb", JV_INT, 0, 0, 1e13),
    END,
};
static const struct jv_field allocated_fields[] = {
    FIELD("vcpu", JV_NUMBER, 0, -1e6, 1e6),
    FIELD("memory_mb", JV_INT, 0, -1e12, 1e12),
    FIELD("disk_mb", JV_INT, 0, -1e13, 1e13),
    FIELD("vis", JV_INT, 0, 0, 1e9),
    END,
};
static const struct jv_field reserved_fields[] = {
    FIELD("vcpu", JV_NUMBER, 0, 0, 1e6),
    FIELD("memory_mb", JV_INT, 0, 0, 1e12),
    FIELD("managers", JV_INT, 0, 0, 1e6),
    END,
};
static const struct jv_field site_state_fields[] = {
    {.name = "capacity", .type = JV_OBJECT, .fields = capacity_fields},
    {.name = "allocated", .type = JV_OBJECT, .fields = allocated_fields},
    /* the managers started at the site (in allocated too) */
    {.name = "reserved", .type = JV_OBJECT, .fields = reserved_fields},
    FIELD("vim", JV_STRING, 0, 1, 32),
    FIELD("vim_health", JV_STRING, 0, 1, 32),
    {.name = "vim_connected", .type = JV_BOOL}, /* a VIM agent's site: its agent is there */
    END,
};
static const struct jv_field join_fields[] = {
    FIELD("token", JV_STRING, JV_REQUIRED, 1, 128),
    FIELD("site", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("tag", JV_STRING, 0, 0, 16),
    FIELD("host", JV_STRING, 0, 0, 256),
    FIELD("version", JV_STRING, 0, 0, 64),
    {.name = "site_state", .type = JV_OBJECT, .fields = site_state_fields},
    END,
};
static const struct jv_field join_schema = {.type = JV_OBJECT, .fields = join_fields};
static const struct jv_field any_item = {.type = JV_ANY};
static const struct jv_field report_fields[] = {
    FIELD("boot", JV_STRING, JV_REQUIRED, 1, FED_BOOT_LEN),
    FIELD("seq", JV_INT, JV_REQUIRED, 0, 9e15),
    FIELD("pid", JV_INT, 0, 1, 4194304), /* the branch manager's process, on its host */
    {.name = "load", .type = JV_OBJECT},
    {.name = "site_state", .type = JV_OBJECT, .fields = site_state_fields},
    {.name = "deployments", .type = JV_ARRAY, .max = 100000, .item = &any_item},
    {.name = "events", .type = JV_ARRAY, .max = FED_EVENTS_MAX + 1, .item = &any_item},
    FIELD("event_last", JV_INT, 0, 0, 9e15),
    {.name = "results", .type = JV_ARRAY, .max = 10000, .item = &any_item},
    {.name = "operations", .type = JV_ARRAY, .max = 1000, .item = &any_item},
    {.name = "metrics", .type = JV_OBJECT}, /* deployment id -> {metric: value} */
    {.name = "full", .type = JV_BOOL},      /* deployments holds all of them (default) */
    {.name = "gone", .type = JV_ARRAY, .max = 100000, .item = &any_item},
    {.name = "children", .type = JV_ARRAY, .max = 1000, .item = &any_item},
    {.name = "site_load", .type = JV_OBJECT}, /* the branch pool (site_load.c, pool.c) */
    {.name = "handovers", .type = JV_ARRAY, .max = 1000, .item = &any_item}, /* handover.c */
    {.name = "handed_over", .type = JV_OBJECT}, /* deployment id -> the manager it went to */
    END,
};
static const struct jv_field report_schema = {.type = JV_OBJECT, .fields = report_fields};
static const struct jv_field probe_fields[] = {
    FIELD("pad", JV_STRING, JV_REQUIRED, 0, 1 << 20), /* a bulk probe's padding (site_load.c) */
    END,
};
static const struct jv_field probe_schema = {.type = JV_OBJECT, .fields = probe_fields};
static const struct jv_field chunk_fields[] = {
    FIELD("file", JV_STRING, 0, 1, 64),
    FIELD("offset", JV_INT, 0, 0, 1e12),
    FIELD("data", JV_STRING, 0, 0, 1 << 20),
    {.name = "end", .type = JV_BOOL},
    FIELD("done", JV_STRING, 0, 1, 8),
    FIELD("cloud_url", JV_STRING, 0, 1, 512),
    FIELD("service_address", JV_STRING, 0, 7, 15),
    END,
};
static const struct jv_field chunk_schema = {.type = JV_OBJECT, .fields = chunk_fields};
static const struct jv_field returned_fields[] = {
    {.name = "ok", .type = JV_BOOL, .flags = JV_REQUIRED},
    FIELD("error", JV_STRING, 0, 0, 512),
    END,
};
static const struct jv_field returned_schema = {.type = JV_OBJECT, .fields = returned_fields};

/* The manager credential goes to the request (its bearer is checked on
 * the loop, against the managers the cloud knows). */
static void fed_prepare(struct rctx *r, struct txn *t)
{
    const char *h = rctx_header(r, "Authorization");

    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        json_object_set_new(t->query, "_bearer", json_string(h + 7));
    /* from here to a cloud rule's decision (report_to_decision_us) */
    json_object_set_new(t->query, "_arrived_us", json_integer((json_int_t)r->http->received_us));
    t->lock_exempt = true; /* the estate's state, not the configuration */
}

static const struct route fed_routes[] = {
    WRITE("POST", "/join", "join", R_PUBLIC | R_BODY, fed_join_apply, &join_schema),
    WRITE("POST", "/report", "report", R_PUBLIC | R_BODY, fed_report_apply, &report_schema),
    WRITE("POST", "/probe", "probe", R_PUBLIC | R_BODY, fed_probe_apply, &probe_schema),
    {.method = "GET",
     .pattern = "/channel",
     .name = "channel",
     .flags = R_PUBLIC | R_STREAM,
     .params = no_params,
     .stream = fed_channel_start},
    /* between the managers of one branch site, on the same host (handover.c) */
    WRITE("POST", "/handover/{id}", "handover step", R_ADMIN | R_BODY, fed_handover_route, NULL),
    /* a branch manager's move to the cloud (relocate.c, mgr_move.c) */
    WRITE("POST", "/relocation/{id}/chunk", "relocation chunk", R_PUBLIC | R_BODY, fed_mmove_chunk,
          &chunk_schema),
    WRITE("POST", "/relocation/{id}/fate", "relocation fate", R_PUBLIC | R_BODY, fed_mmove_fate,
          NULL),
    /* ... and its return to its branch: how the hand-back went */
    WRITE("POST", "/relocation/{id}/returned", "relocation returned", R_PUBLIC | R_BODY,
          fed_mmove_returned, &returned_schema),
};

const struct mount fed_mount = {
    .prefix = "/fed/v1",
    .routes = fed_routes,
    .n_routes = ARRAY_SIZE(fed_routes),
    .style = STYLE_NATIVE,
    .check = fed_place, /* a branch to its site's owner (forward.c) */
    .prepare = fed_prepare,
    .store_keys = true,
};

/* ---- start-up ---- */

int fed_init(struct core *c)
{
    struct fed *f = xcalloc(1, sizeof(*f));

    f->c = c;
    f->cloud = strcmp(c->cfg->role, "cloud") == 0;
    pthread_mutex_init(&f->mu, NULL);
    hmap_init(&f->mgrs);
    hmap_init(&f->site_mgrs);
    hmap_init(&f->creds);
    hmap_init(&f->el_sites);
    hmap_init(&f->pool_sites);
    hmap_init(&f->site_pols);
    hmap_init(&f->children);
    hmap_init(&f->vi_cpu);
    hmap_init(&f->moves);
    f->keep = httpc_keep_new(f->cloud ? FORWARD_KEPT : 1);
    c->fed = f;
    if (fed_load_init(f))
        return -1;
    if (f->cloud)
        fed_judge_init(c);
    if (f->cloud)
        c->remote = &fed_remote;
    if (f->cloud) {
        lc_observe(c, &fed_move_observer);
        lc_observe(c, &fed_burst_observer);
    }
    if (!f->cloud && c->cfg->cloud_url)
        lc_observe(c, &fed_branch_observer);
    return 0;
}

int fed_start(struct core *c)
{
    struct fed *f = c->fed;

    if (f->cloud)
        return fed_cloud_start(f);
    if (c->cfg->cloud_url)
        return fed_branch_start(f);
    return 0;
}

static void closed(uv_handle_t *h)
{
    struct fed *f = h->data;

    if (--f->closing == 0 && f->freed)
        free(f);
}

void fed_close(struct fed *f, uv_handle_t *h)
{
    h->data = f;
    f->closing++;
    uv_close(h, closed);
}

void fed_stop(struct core *c)
{
    struct fed *f = c->fed;

    if (!f)
        return;
    if (f->timer_on) {
        uv_timer_stop(&f->timer);
        fed_close(f, (uv_handle_t *)&f->timer);
        f->timer_on = false;
    }
    if (!f->cloud)
        fed_branch_stop(f);
}

void fed_free(struct core *c)
{
    struct fed *f = c->fed;

    if (!f)
        return;
    fed_relays_stop(c);
    fed_cscale_free(f);
    fed_manager_vim_close(f); /* after the managers it started stopped (fed_stop) */
    fed_cloud_free(f);
    fed_branch_free(f);
    elastic_free(f);
    fed_policies_free(f);
    pool_free(f);
    fed_site_load_free(f);
    fed_move_free(f);
    fed_load_free(f);
    httpc_keep_free(f->keep); /* after the pools' jobs ended (vnfmd.c) */
    c->remote = NULL;
    pthread_mutex_destroy(&f->mu);
    c->fed = NULL;
    f->freed = true; /* a handle closed in fed_stop is still in the loop's hands */
    if (!f->closing)
        free(f);
}
