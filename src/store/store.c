/* The store as callers see it, over any backend (store_backend.h).
 *
 * A handle is a backend's handle plus, for the writer, the cache of parsed
 * records (store_cache.c): writes of kinds the cache keeps wait in it until
 * the commit, or until a query that could see them, and reach the backend
 * as one batch. Everything else goes straight to the backend.
 */
#include "store/store_backend.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    const struct store_ops *ops;
    void *be;
    bool readonly;
    bool in_tx;       /* a transaction of store_begin is open */
    bool be_tx;       /* ... and the backend's: a writer's begins at its first write */
    struct dcache dc; /* a writer's parsed records */
    void (*due)(void *arg);
    void *due_arg;
    void (*lost)(void *arg, int err);
    void *lost_arg;
    bool need_fence;         /* store_require_fence: no commit until store_fence() */
    bool fenced;             /* store_fence() succeeded */
    const char *refusal;     /* why store.c itself refused the last commit, for errmsg */
    atomic_bool maintaining; /* due() was called; store_maintain() has yet to end */
};

const struct kind_desc store_kinds[STORE_KIND_COUNT] = {
    [STORE_TENANT] = {"tenant", "tenants", {NULL}, NULL},
    [STORE_TOKEN] = {"token", "tokens", {"_hash", "tenant", NULL}, "_hash"},
    [STORE_VNFD] = {"vnfd", "vnfds", {"tenant", NULL}, NULL},
    [STORE_SITE] = {"site", "sites", {NULL}, NULL},
    [STORE_DEPLOYMENT] = {"deployment",
                          "deployments",
                          {"tenant", "site", "vnfd", "status", NULL},
                          NULL},
    [STORE_VI] = {"vi", "vis", {"deployment", "site", "vcpu", "memory_mb", "disk_mb", NULL}, NULL},
    [STORE_OP] = {"operation", "ops", {"deployment", "tenant", "type", "state", NULL}, NULL},
    [STORE_DECISION] = {"decision",
                        "decisions",
                        {"deployment", "tenant", "rule", "state", NULL},
                        NULL},
    [STORE_SUBSCRIPTION] = {"subscription", "subscriptions", {"tenant", NULL}, NULL},
    [STORE_OUTBOX] = {"outbox", "outbox", {"channel", "key", NULL}, NULL},
    [STORE_JOIN_TOKEN] = {"join_token", "join_tokens", {"_hash", "site", NULL}, "_hash"},
    [STORE_MANAGER] = {"manager", "managers", {"site", NULL}, NULL},
    [STORE_INSTRUCTION] = {"instruction", "instructions", {"manager", "state", NULL}, NULL},
    [STORE_PACKAGE] = {"package", "packages", {"tenant", "vnfdId", "onboardingState", NULL}, NULL},
    [STORE_PKG_SUBSCRIPTION] = {"package subscription",
                                "pkg_subscriptions",
                                {"tenant", NULL},
                                NULL},
    [STORE_SCHEDULE] = {"scheduled operation",
                        "scheduled_ops",
                        {"tenant", "deployment", "state", NULL},
                        NULL},
};

static const struct store_ops *const backends[] = {
    &store_sqlite_ops, /* the default: a file path */
    &store_etcd_ops,   /* etcd://HOST:PORT[,HOST:PORT...][/PREFIX] */
};

bool store_kind_indexes(enum store_kind kind, const char *col)
{
    const struct kind_desc *k = &store_kinds[kind];

    if (strcmp(col, "id") == 0)
        return true;
    for (unsigned i = 0; k->cols[i]; i++)
        if (strcmp(k->cols[i], col) == 0)
            return true;
    return false;
}

const char *store_kind_name(enum store_kind kind)
{
    return store_kinds[kind].name;
}

/* The backend of a location: the one whose scheme prefixes it, else the
 * default for a plain path; NULL for an unknown scheme. */
static const struct store_ops *backend_of(const char *where)
{
    const struct store_ops *dflt = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        const char *scheme = backends[i]->scheme;

        if (!scheme)
            dflt = backends[i];
        else if (strncmp(where, scheme, strlen(scheme)) == 0)
            return backends[i];
    }
    return strstr(where, "://") ? NULL : dflt;
}

static struct store *wrap(const struct store_ops *ops, void *be, bool readonly)
{
    struct store *st = xcalloc(1, sizeof(*st));

    st->ops = ops;
    st->be = be;
    st->readonly = readonly;
    dc_init(&st->dc);
    return st;
}

int store_open(const char *where, bool readonly, struct store **out, char *err, size_t errlen)
{
    const struct store_ops *ops = backend_of(where);
    void *be;
    int r;

    if (!ops) {
        snprintf(err, errlen, "no store backend for %s", where);
        return -EPROTONOSUPPORT;
    }
    r = ops->open(where, readonly, &be, err, errlen);
    if (r)
        return r;
    *out = wrap(ops, be, readonly);
    return 0;
}

int store_open_reader(struct store *st, struct store **out, char *err, size_t errlen)
{
    void *be;
    int r = st->ops->open_reader(st->be, &be, err, errlen);

    if (r)
        return r;
    *out = wrap(st->ops, be, true);
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    dc_done(&st->dc);
    st->ops->close(st->be);
    free(st);
}

int store_schema_version(struct store *st)
{
    return st->ops->schema_version;
}

const char *store_backend_name(struct store *st)
{
    return st->ops->name;
}

int store_disk_version(struct store *st)
{
    return st->ops->disk_version(st->be);
}

const char *store_errmsg(struct store *st)
{
    return st->refusal ? st->refusal : st->ops->errmsg(st->be);
}

/* ---- transactions ---- */

/* A writer's transaction begins in the backend only when it first writes
 * (SQLite: BEGIN IMMEDIATE, the write lock): one that writes nothing - a
 * branch's report that changed nothing stored, most of them - costs no
 * BEGIN and COMMIT. Its reads meanwhile see the last commit, which is the
 * same: this handle is the only one that writes. A reader's takes its
 * snapshot at once. */
int store_begin(struct store *st)
{
    int r = st->readonly ? st->ops->begin(st->be) : 0;

    st->in_tx = r == 0;
    st->be_tx = st->readonly && r == 0;
    return r;
}

static int be_begin(struct store *st)
{
    int r = st->be_tx ? 0 : st->ops->begin(st->be);

    st->be_tx = r == 0;
    return r;
}

/* A commit refused because the fenced writer may not write any more is
 * told to the owner. */
static int committed(struct store *st, int r)
{
    if ((r == -EPERM || r == -ESTALE) && st->fenced && st->lost)
        st->lost(st->lost_arg, r);
    return r;
}

static int commit_now(struct store *st, const struct store_batch *b)
{
    st->refusal = NULL;
    if (st->need_fence && !st->fenced) {
        st->refusal = "this manager is not the primary: its store is not fenced";
        return -EPERM;
    }
    return committed(st, st->ops->commit(st->be, b));
}

static int commit_batch(void *arg, const struct store_batch *b)
{
    struct store *st = arg;
    int r;

    if (!st->be_tx && b->n == 0) /* nothing was written */
        return 0;
    r = be_begin(st);
    return r ? r : commit_now(st, b);
}

/* Asks the owner for maintenance when the backend wants some and none is
 * asked for or running (only the writer's thread sets the flag). */
static void maybe_maintain(struct store *st)
{
    if (!st->due || !st->ops->maintenance_due || atomic_load(&st->maintaining) ||
        !st->ops->maintenance_due(st->be))
        return;
    atomic_store(&st->maintaining, true);
    st->due(st->due_arg);
}

/* On failure the transaction stays open for the caller to roll back. */
int store_commit(struct store *st)
{
    int r = dc_flush(&st->dc, -1, commit_batch, st);

    if (r)
        return r;
    st->in_tx = st->be_tx = false;
    dc_end(&st->dc, true);
    maybe_maintain(st);
    return 0;
}

void store_rollback(struct store *st)
{
    dc_end(&st->dc, false);
    if (st->be_tx)
        st->ops->rollback(st->be);
    st->in_tx = st->be_tx = false;
}

static int stage(void *arg, const struct store_batch *b)
{
    struct store *st = arg;
    int r = b->n ? be_begin(st) : 0;

    return r || !b->n ? r : st->ops->write(st->be, b);
}

/* Hands the writes of kind (-1: all) the cache holds to the backend, before
 * a query that could see them. */
static int flush(struct store *st, int kind)
{
    return st->in_tx ? dc_flush(&st->dc, kind, stage, st) : 0;
}

/* A write made outside a transaction gets one of its own. */
static int begin_own(struct store *st, bool *own)
{
    int r;

    *own = false;
    if (st->readonly)
        return -EROFS;
    if (st->in_tx)
        return be_begin(st);
    r = st->ops->begin(st->be);
    *own = r == 0;
    return r;
}

static long end_own(struct store *st, bool own, long r)
{
    static const struct store_batch none;

    if (!own)
        return r;
    if (r >= 0) {
        int c = commit_now(st, &none);

        if (c == 0) {
            maybe_maintain(st);
            return r;
        }
        r = c;
    }
    st->ops->rollback(st->be);
    return r;
}

/* Writes b at once: inside the open transaction, or in one of its own. */
static int write_now(struct store *st, const struct store_batch *b)
{
    bool own;
    int r = begin_own(st, &own);

    return r ? r : (int)end_own(st, own, st->ops->write(st->be, b));
}

/* ---- records ---- */

/* Records are cached by the writer only: it is the only handle that
 * changes them (store.h). */
static bool cached(const struct store *st, enum store_kind kind)
{
    return !st->readonly && dc_cached_kind(kind);
}

static int put_now(struct store *st, enum store_kind kind, const char *id, const json_t *doc,
                   const json_t *prev)
{
    struct store_write w = {kind, id, doc, prev};

    return write_now(st, &(struct store_batch){&w, 1});
}

int store_put(struct store *st, enum store_kind kind, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    int r;

    if (!id)
        return -EINVAL;
    if (!cached(st, kind))
        return put_now(st, kind, id, doc, NULL);
    if (!st->in_tx) {
        r = put_now(st, kind, id, doc, dc_stored(&st->dc, kind, id));
        if (r)
            dc_forget(&st->dc, kind, id);
        else
            dc_keep(&st->dc, kind, id, doc, false);
        return r;
    }
    return dc_keep(&st->dc, kind, id, doc, true) ? 0 : put_now(st, kind, id, doc, NULL);
}

int store_delete(struct store *st, enum store_kind kind, const char *id)
{
    int r = flush(st, (int)kind); /* a record written, then deleted */

    if (r)
        return r;
    dc_forget(&st->dc, kind, id);
    return put_now(st, kind, id, NULL, NULL);
}

int store_get(struct store *st, enum store_kind kind, const char *id, json_t **out)
{
    json_t *doc = NULL;
    bool keep = cached(st, kind);
    int r;

    if (keep && (doc = dc_get(&st->dc, kind, id))) {
        *out = doc;
        return 0;
    }
    r = st->ops->get(st->be, kind, id, &doc);
    if (r)
        return r;
    if (keep)
        dc_keep(&st->dc, kind, id, doc, false);
    *out = doc;
    return 0;
}

static const struct store_list_opts no_opts;

int store_list(struct store *st, enum store_kind kind, const struct store_list_opts *o,
               json_t **out)
{
    int r = flush(st, (int)kind);

    return r ? r : st->ops->list(st->be, kind, o ? o : &no_opts, out);
}

int store_list_public(struct store *st, enum store_kind kind, const struct store_list_opts *o,
                      struct sbuf *out)
{
    int r = flush(st, (int)kind);

    return r ? r : st->ops->list_public(st->be, kind, o ? o : &no_opts, out);
}

long store_count(struct store *st, enum store_kind kind, const struct store_where *where,
                 unsigned n_where)
{
    long r = flush(st, (int)kind);

    return r ? r : st->ops->count(st->be, kind, where, n_where, NULL, NULL);
}

/* Computed from the VIs' indexed columns, by any backend. */
int store_site_usage(struct store *st, const char *site, struct store_usage *u)
{
    static const char *const cols[] = {"vcpu", "memory_mb", "disk_mb", NULL};
    struct store_where w = {"site", site, false};
    double sums[3];
    long n = flush(st, STORE_VI);

    if (n == 0)
        n = st->ops->count(st->be, STORE_VI, &w, 1, cols, sums);
    if (n < 0)
        return (int)n;
    u->vcpu = sums[0];
    u->memory_mb = (long long)sums[1];
    u->disk_mb = (long long)sums[2];
    u->vis = n;
    return 0;
}

/* ---- meta and the event log ---- */

int store_meta_get(struct store *st, const char *key, char **out)
{
    return st->ops->meta_get(st->be, key, out);
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
    bool own;
    int r = begin_own(st, &own);

    return r ? r : (int)end_own(st, own, st->ops->meta_set(st->be, key, value));
}

int store_log_append(struct store *st, json_t *rec)
{
    bool own;
    int r = begin_own(st, &own);

    return r ? r : (int)end_own(st, own, st->ops->log_append(st->be, rec));
}

long store_log_prune(struct store *st, long keep)
{
    bool own;
    int r = begin_own(st, &own);

    return r ? r : end_own(st, own, st->ops->log_prune(st->be, keep));
}

int store_log_query(struct store *st, const struct log_query *q, json_t **out)
{
    return st->ops->log_query(st->be, q, out);
}

int64_t store_log_last_seq(struct store *st)
{
    return st->ops->log_last_seq(st->be);
}

/* ---- fencing ---- */

int store_fence(struct store *st, const char *key, int64_t rev, const char *marker,
                unsigned timeout_ms)
{
    int r;

    if (st->readonly)
        return -EROFS;
    if (!st->ops->fence)
        return -EOPNOTSUPP;
    r = st->ops->fence(st->be, key, rev, marker, timeout_ms);
    st->fenced = r == 0;
    return r;
}

void store_require_fence(struct store *st)
{
    st->need_fence = true;
}

bool store_may_write(const struct store *st)
{
    return !st->need_fence || st->fenced;
}

void store_unfence(struct store *st)
{
    if (st->ops->unfence)
        st->ops->unfence(st->be);
}

void store_on_lost(struct store *st, void (*fn)(void *arg, int err), void *arg)
{
    st->lost = fn;
    st->lost_arg = arg;
}

/* ---- maintenance ---- */

void store_on_maintenance(struct store *st, void (*due)(void *arg), void *arg)
{
    st->due = due;
    st->due_arg = arg;
}

int store_maintain(struct store *st)
{
    int r = st->ops->maintain ? st->ops->maintain(st->be) : 0;

    atomic_store(&st->maintaining, false);
    return r;
}

int store_snapshot(struct store *st, const char *path)
{
    if (st->in_tx)
        return -EBUSY;
    if (!st->ops->snapshot)
        return -ENOTSUP;
    return st->ops->snapshot(st->be, path);
}

char *store_log_tags(const json_t *tags)
{
    struct sbuf b = SBUF_INIT;
    size_t i;
    json_t *t;

    if (!json_is_array(tags) || json_array_size(tags) == 0)
        return NULL;
    sbuf_addc(&b, ',');
    json_array_foreach(tags, i, t)
    {
        if (json_is_string(t))
            sbuf_addf(&b, "%s,", json_string_value(t));
    }
    return sbuf_take(&b);
}
