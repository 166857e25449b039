/* Read handlers: answered on the HTTP thread from its read-only store
 * handle. A tenant token sees only its tenant's objects; anything else
 * looks like it does not exist. */
#include "rest/api.h"
#include "core/components.h"
#include "core/health.h"
#include "core/version.h"
#include "core/states.h"
#include "util/doc.h"
#include "lcm/sites.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *qs(const struct rctx *r, const char *key)
{
    return json_string_value(json_object_get(r->query, key));
}

/* Parses an unsigned query parameter; 0 and sets r->res on error. */
int q_uint(struct rctx *r, const char *key, unsigned max, unsigned *out)
{
    const char *s = qs(r, key);
    char *end;
    unsigned long v;

    if (!s)
        return 0;
    v = strtoul(s, &end, 10);
    if (!*s || *s == '-' || *end || v > max) /* "limit=" is not 0 */
        return result_fail(&r->res, 400, "invalid-value", "field", key,
                           "query parameter '%s' must be an integer 0..%u", key, max);
    *out = (unsigned)v;
    return 0;
}

static json_t *publics(json_t *docs)
{
    json_t *out = json_array(), *d;
    size_t i;

    json_array_foreach(docs, i, d)
    {
        json_array_append_new(out, doc_public(d));
    }
    json_decref(docs);
    return out;
}

static void list_answer(struct rctx *r, const char *key, json_t *items)
{
    result_ok(&r->res, 200, json_pack("{s:o}", key, items));
}

/* Answers 200 with the public part of doc, which it releases. */
static void answer_doc(struct rctx *r, json_t *doc)
{
    result_ok(&r->res, 200, doc_public(doc));
    json_decref(doc);
}

static int store_failed(struct rctx *r)
{
    return result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the store: %s",
                       store_errmsg(r->st));
}

/* {"key": [...]} straight from the stored public records, unparsed. */
void q_list_public(struct rctx *r, enum store_kind kind, const struct store_list_opts *o,
                   const char *key)
{
    struct sbuf b = SBUF_INIT;

    sbuf_addf(&b, "{\"%s\":", key);
    if (store_list_public(r->st, kind, o, &b)) {
        sbuf_done(&b);
        store_failed(r);
        return;
    }
    sbuf_addc(&b, '}');
    if (kind == STORE_TENANT || kind == STORE_TOKEN) {
        result_raw(&r->res, 200, sbuf_take(&b));
        return;
    }
    /* parsed, so that names show instead of store keys (respond()) */
    result_ok(&r->res, 200, json_loads(sbuf_str(&b), 0, NULL));
    sbuf_done(&b);
}

/* Gets a record the caller may see (tenant-scoped unless admin). */
json_t *q_visible(struct rctx *r, enum store_kind k, const char *kind_name)
{
    json_t *doc = NULL;
    const char *tenant;

    if (store_get(r->st, k, r->args[0], &doc) == 0) {
        tenant = k == STORE_TENANT ? doc_str(doc, "id") : doc_str(doc, "tenant");
        if (principal_owns(&r->who, tenant))
            return doc;
        json_decref(doc);
    }
    result_not_found(&r->res, kind_name, r->args[0]);
    return NULL;
}

/* The health document, kept serialized for HEALTH_CACHE_MS: the health
 * thread recomputes it once a second, and monitoring systems and load
 * balancers poll it far more often than that. Not for a member of a
 * cluster: its "ha" part (who is primary, the sites it serves) must be as
 * of the answer, for the clients that follow the primary and for the
 * proofs of docs/HA.md that no two members serve one site at once. */
#define HEALTH_CACHE_MS 100

static struct {
    pthread_mutex_t mu;
    char *text;
    int status;
    uint64_t at_ms; /* when the kept text was computed */
} health_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

void q_health(struct rctx *r)
{
    bool cached = !r->c->cluster;
    uint64_t now = mono_ms();
    char *text = NULL;
    int code, status = 0;
    json_t *rep;

    pthread_mutex_lock(&health_cache.mu);
    if (cached && health_cache.text && now < health_cache.at_ms + HEALTH_CACHE_MS) {
        text = xstrdup(health_cache.text);
        status = health_cache.status;
    }
    pthread_mutex_unlock(&health_cache.mu);
    if (!text) {
        rep = health_report(r->c->health, &code);
        status = code >= 5000 ? 503 : 200;
        text = json_dumps(rep, JSON_COMPACT);
        json_decref(rep);
        pthread_mutex_lock(&health_cache.mu);
        if (cached && now >= health_cache.at_ms) { /* never over a newer one */
            free(health_cache.text);
            health_cache.text = xstrdup(text);
            health_cache.status = status;
            health_cache.at_ms = now;
        }
        pthread_mutex_unlock(&health_cache.mu);
    }
    result_raw(&r->res, status, text);
}

void q_version(struct rctx *r)
{
    char started[TIME_STR_MAX];

    result_ok(&r->res, 200,
              json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "version", VNFM_VERSION, "role",
                        r->c->cfg->role, "site", r->c->cfg->site, "instance", r->c->tag, "started",
                        time_fmt(r->c->started_ms, started), "schema",
                        store_schema_version(r->st)));
}

void q_components(struct rctx *r)
{
    result_ok(&r->res, 200, components_view(r->c->components));
}

void q_tenants(struct rctx *r)
{
    struct store_where w = {"id", r->who.tenant, false};
    struct store_list_opts o = {.where = &w, .n_where = r->who.admin ? 0 : 1};

    q_list_public(r, STORE_TENANT, &o, "tenants");
}

void q_tenant(struct rctx *r)
{
    json_t *doc = q_visible(r, STORE_TENANT, "tenant");

    if (doc)
        answer_doc(r, doc);
}

void q_tokens(struct rctx *r)
{
    q_list_public(r, STORE_TOKEN, NULL, "tokens");
}

/* Global VNFDs and, for a tenant token, its own; an admin sees all. */
void q_vnfds(struct rctx *r)
{
    struct store_where w = {"tenant", r->who.tenant, true};
    struct store_list_opts o = {.where = &w, .n_where = r->who.admin ? 0 : 1};
    json_t *docs, *d;
    size_t i;

    if (store_list(r->st, STORE_VNFD, &o, &docs)) {
        store_failed(r);
        return;
    }
    json_array_foreach(docs, i, d)
    {
        json_object_del(d, "descriptor");
    }
    list_answer(r, "vnfds", publics(docs));
}

void q_vnfd(struct rctx *r)
{
    json_t *doc = NULL;
    const char *owner;

    if (store_get(r->st, STORE_VNFD, r->args[0], &doc) == 0) {
        owner = doc_str(doc, "tenant");
        if (!owner || principal_owns(&r->who, owner)) {
            answer_doc(r, doc);
            return;
        }
        json_decref(doc);
    }
    result_not_found(&r->res, "vnfd", r->args[0]);
}

/* The site view, with its VIM's health and what its driver shows, from the
 * sites' snapshot (lcm/sites.h). */
static json_t *site_answer(struct rctx *r, const json_t *doc)
{
    const struct sites_snap *snap = sites_snap_get(r->c);
    json_t *v = site_view(r->st, doc, sites_snap_find(snap, doc_str(doc, "id")));

    sites_snap_put(snap);
    return v;
}

void q_sites(struct rctx *r)
{
    json_t *docs, *out, *d;
    size_t i;

    if (store_list(r->st, STORE_SITE, NULL, &docs)) {
        store_failed(r);
        return;
    }
    out = json_array();
    json_array_foreach(docs, i, d)
    {
        json_array_append_new(out, site_answer(r, d));
    }
    json_decref(docs);
    list_answer(r, "sites", out);
}

void q_site(struct rctx *r)
{
    json_t *doc = NULL;

    if (store_get(r->st, STORE_SITE, r->args[0], &doc)) {
        result_not_found(&r->res, "site", r->args[0]);
        return;
    }
    result_ok(&r->res, 200, site_answer(r, doc));
    json_decref(doc);
}

/* Adds equality conditions from the query (and the caller's tenant). */
unsigned q_where(struct rctx *r, const char *const *keys, struct store_where *w)
{
    unsigned n = 0;

    for (; *keys; keys++) {
        const char *v =
            strcmp(*keys, "tenant") == 0 && !r->who.admin ? r->who.tenant : qs(r, *keys);

        if (v)
            w[n++] = (struct store_where){*keys, v, false};
    }
    return n;
}

void q_deployments(struct rctx *r)
{
    static const char *const keys[] = {"tenant", "site", "status", "vnfd", NULL};
    struct store_where w[4];
    struct store_list_opts o = {.where = w}; /* all of them unless paged (the console) */

    if (q_uint(r, "limit", 10000, &o.limit) || q_uint(r, "offset", 1u << 30, &o.offset))
        return;
    o.n_where = q_where(r, keys, w);
    q_list_public(r, STORE_DEPLOYMENT, &o, "deployments");
}

void q_deployment(struct rctx *r)
{
    json_t *doc = q_visible(r, STORE_DEPLOYMENT, "deployment"), *vis = NULL, *out;
    struct store_where w = {"deployment", r->args[0], false};
    struct store_list_opts o = {.where = &w, .n_where = 1};

    if (!doc)
        return;
    if (store_list(r->st, STORE_VI, &o, &vis)) {
        json_decref(doc);
        store_failed(r);
        return;
    }
    out = doc_public(doc);
    if (!json_object_get(doc, "manager")) /* else a branch's: the VIs its manager reported */
        json_object_set_new(out, "vis", publics(vis));
    else
        json_decref(vis);
    json_decref(doc);
    result_ok(&r->res, 200, out);
}

void q_list_newest(struct rctx *r, enum store_kind kind, const char *const *keys, const char *key)
{
    struct store_where w[STORE_MAX_WHERE];
    struct store_list_opts o = {.where = w, .newest_first = true, .limit = 100};

    if (q_uint(r, "limit", 10000, &o.limit) || q_uint(r, "offset", 1u << 30, &o.offset))
        return;
    o.n_where = q_where(r, keys, w);
    q_list_public(r, kind, &o, key);
}

void q_operations(struct rctx *r)
{
    static const char *const keys[] = {"tenant", "deployment", "state", "type", NULL};

    q_list_newest(r, STORE_OP, keys, "operations");
}

void q_operation(struct rctx *r)
{
    json_t *doc = q_visible(r, STORE_OP, "operation");

    if (doc)
        answer_doc(r, doc);
}

/* Scheduled operations (lcm/schedule.h), newest first; a tenant's own. */
void q_schedules(struct rctx *r)
{
    static const char *const keys[] = {"tenant", "deployment", "state", NULL};

    q_list_newest(r, STORE_SCHEDULE, keys, "scheduled_operations");
}

void q_schedule(struct rctx *r)
{
    json_t *doc = q_visible(r, STORE_SCHEDULE, "scheduled operation");

    if (doc)
        answer_doc(r, doc);
}

int q_time(struct rctx *r, const char *key, int64_t *out)
{
    const char *s = qs(r, key);

    if (s && time_parse(s, out))
        return result_fail(&r->res, 400, "invalid-value", "field", key,
                           "query parameter '%s' must be an RFC 3339 time or epoch ms", key);
    return 0;
}

int q_log_filter(struct rctx *r, struct log_query *q)
{
    unsigned after = 0, tail = 0;

    memset(q, 0, sizeof(*q));
    q->category = qs(r, "category");
    q->tag = qs(r, "tag");
    q->object = qs(r, "object");
    q->level = qs(r, "level");
    q->event = qs(r, "event");
    q->deployment = qs(r, "deployment");
    q->operation = qs(r, "operation");
    q->tenant = r->who.admin ? NULL : r->who.tenant;
    if (q_time(r, "since", &q->since_ms) || q_time(r, "until", &q->until_ms) ||
        q_uint(r, "after", 0x7fffffff, &after) || q_uint(r, "limit", 10000, &q->limit) ||
        q_uint(r, "tail", 1, &tail))
        return -EINVAL;
    q->after_seq = after;
    q->tail = tail;
    return 0;
}

void q_logs(struct rctx *r)
{
    struct log_query q;
    json_t *logs;

    if (q_log_filter(r, &q))
        return;
    if (store_log_query(r->st, &q, &logs))
        store_failed(r);
    else
        list_answer(r, "logs", logs);
}
