/* The embedded store: SQLite in WAL mode with versioned migrations.
 *
 * synchronous=NORMAL: in WAL mode a committed transaction survives a crash
 * of the manager (kill -9); only an OS crash or power cut can lose the last
 * ones, and those take the VNF processes with them as well.
 */
#include "store/store_internal.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define MAX_COLS   8
#define STMT_CACHE 48

struct kind_desc {
    const char *name;
    const char *table;
    const char *cols[MAX_COLS]; /* indexed top-level members besides id */
};

static const struct kind_desc kinds[STORE_KIND_COUNT] = {
    [STORE_TENANT] = {"tenant", "tenants", {NULL}},
    [STORE_TOKEN] = {"token", "tokens", {"_hash", "tenant", NULL}},
    [STORE_VNFD] = {"vnfd", "vnfds", {"tenant", NULL}},
    [STORE_SITE] = {"site", "sites", {NULL}},
    [STORE_DEPLOYMENT] = {"deployment", "deployments", {"tenant", "site", "vnfd", "status", NULL}},
    [STORE_VI] = {"vi", "vis", {"deployment", "site", "vcpu", "memory_mb", "disk_mb", NULL}},
    [STORE_OP] = {"operation", "ops", {"deployment", "tenant", "type", "state", NULL}},
    [STORE_DECISION] = {"decision", "decisions", {"deployment", "tenant", "rule", "state", NULL}},
    [STORE_SUBSCRIPTION] = {"subscription", "subscriptions", {"tenant", NULL}},
    [STORE_OUTBOX] = {"outbox", "outbox", {"channel", "key", NULL}},
};

/* Adds the priv column to table t and splits each doc into its public and
 * internal members. */
#define MOVE_PRIV(t)                                                                          \
    "ALTER TABLE " t " ADD COLUMN priv TEXT;"                                                 \
    "UPDATE " t " SET priv = (SELECT json_group_object(key, value) FROM json_each(" t ".doc)" \
    "  WHERE key LIKE '\\_%' ESCAPE '\\'),"                                                   \
    "  doc = (SELECT json_group_object(key, value) FROM json_each(" t ".doc)"                 \
    "  WHERE key NOT LIKE '\\_%' ESCAPE '\\');"                                               \
    "UPDATE " t " SET priv = NULL WHERE priv = '{}';"

/* Migration N brings the schema from version N to N+1 (PRAGMA user_version). */
static const char *const migrations[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE tenants (id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    "CREATE TABLE tokens (id TEXT PRIMARY KEY, _hash TEXT UNIQUE, tenant TEXT, doc TEXT NOT NULL);"
    "CREATE TABLE vnfds (id TEXT PRIMARY KEY, tenant TEXT, doc TEXT NOT NULL);"
    "CREATE TABLE sites (id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    "CREATE TABLE deployments (id TEXT PRIMARY KEY, tenant TEXT, site TEXT, vnfd TEXT,"
    "  status TEXT, doc TEXT NOT NULL);"
    "CREATE INDEX deployments_tenant ON deployments(tenant);"
    "CREATE INDEX deployments_vnfd ON deployments(vnfd);"
    "CREATE TABLE vis (id TEXT PRIMARY KEY, deployment TEXT, site TEXT, vcpu REAL,"
    "  memory_mb INTEGER, disk_mb INTEGER, doc TEXT NOT NULL);"
    "CREATE INDEX vis_deployment ON vis(deployment);"
    "CREATE INDEX vis_site ON vis(site);"
    "CREATE TABLE ops (id TEXT PRIMARY KEY, deployment TEXT, tenant TEXT, type TEXT,"
    "  state TEXT, doc TEXT NOT NULL);"
    "CREATE INDEX ops_deployment ON ops(deployment);"
    "CREATE INDEX ops_state ON ops(state);"
    "CREATE TABLE logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    "  level TEXT, category TEXT, event TEXT, tenant TEXT, object TEXT, deployment TEXT,"
    "  operation TEXT, vi TEXT, tags TEXT, doc TEXT NOT NULL);"
    "CREATE INDEX logs_ts ON logs(ts);"
    "CREATE INDEX logs_deployment ON logs(deployment);"
    "CREATE INDEX logs_operation ON logs(operation);",
    /* 1 -> 2: internal ('_') members move out of doc into priv, so that
     * lists can be answered from doc as stored. */
    MOVE_PRIV("tenants") MOVE_PRIV("tokens") MOVE_PRIV("vnfds") MOVE_PRIV("sites")
        MOVE_PRIV("deployments") MOVE_PRIV("vis") MOVE_PRIV("ops"),
    /* 2 -> 3: decisions of the rules engine (policy/executor.c) */
    "CREATE TABLE decisions (id TEXT PRIMARY KEY, deployment TEXT, tenant TEXT, rule TEXT,"
    "  state TEXT, doc TEXT NOT NULL, priv TEXT);"
    "CREATE INDEX decisions_deployment ON decisions(deployment, rule);"
    "CREATE INDEX decisions_state ON decisions(state);",
    /* 3 -> 4: SOL003 subscriptions, and the outbox of notifications written
     * in the transaction of the change they report (delivered, then deleted,
     * by sol003/lccn.c), so that none is lost to a crash. */
    "CREATE TABLE subscriptions (id TEXT PRIMARY KEY, tenant TEXT, doc TEXT NOT NULL, priv TEXT);"
    "CREATE INDEX subscriptions_tenant ON subscriptions(tenant);"
    "CREATE TABLE notifications (id TEXT PRIMARY KEY, subscription TEXT, doc TEXT NOT NULL,"
    "  priv TEXT);"
    "CREATE INDEX notifications_subscription ON notifications(subscription);",
    /* 4 -> 5: one outbox for every channel (core/outbox.c): SOL003
     * notifications become entries of channel "sol003" keyed by their
     * subscription, in the same order. An entry is read by its key, oldest
     * first (the index holds the rowid). */
    "CREATE TABLE outbox (id TEXT PRIMARY KEY, channel TEXT, \"key\" TEXT, doc TEXT NOT NULL,"
    "  priv TEXT);"
    "CREATE INDEX outbox_key ON outbox(\"key\");"
    "INSERT INTO outbox (id, channel, \"key\", doc, priv)"
    "  SELECT id, 'sol003', subscription,"
    "    json_set(doc, '$.channel', 'sol003', '$.key', subscription), priv"
    "  FROM notifications ORDER BY rowid;"
    "DROP TABLE notifications;",
};

struct stmt_slot {
    char *sql;
    sqlite3_stmt *stmt;
};

struct store {
    sqlite3 *db;
    bool readonly;
    bool in_tx; /* a transaction of store_begin is open */
    unsigned next_evict;
    struct stmt_slot cache[STMT_CACHE];
    struct dcache dc; /* a writer's parsed records (store_cache.c) */
    int64_t log_seq;  /* store_log.c */
    void (*wal_fn)(void *arg, int frames);
    void *wal_arg;
};

const char *store_kind_name(enum store_kind kind)
{
    return kinds[kind].name;
}

const char *store_errmsg(struct store *st)
{
    return sqlite3_errmsg(st->db);
}

int store_schema_version(void)
{
    return (int)ARRAY_SIZE(migrations);
}

int store_sql_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_CANTOPEN:
        return -EACCES;
    default:
        return -EIO;
    }
}

/* Returns a cached prepared statement for sql, reset and unbound. */
sqlite3_stmt *store_prepare(struct store *st, const char *sql)
{
    struct stmt_slot *slot;

    for (unsigned i = 0; i < STMT_CACHE; i++) {
        slot = &st->cache[i];
        if (slot->sql && strcmp(slot->sql, sql) == 0) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
    }
    slot = &st->cache[st->next_evict];
    st->next_evict = (st->next_evict + 1) % STMT_CACHE;
    if (slot->stmt) {
        sqlite3_finalize(slot->stmt);
        free(slot->sql);
        slot->stmt = NULL;
        slot->sql = NULL;
    }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL) !=
        SQLITE_OK)
        return NULL;
    slot->sql = xstrdup(sql);
    return slot->stmt;
}

static int exec(struct store *st, const char *sql)
{
    return store_sql_err(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

int store_disk_version(struct store *st)
{
    sqlite3_stmt *s = store_prepare(st, "PRAGMA user_version");
    int v = -1;

    if (s && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    if (s)
        sqlite3_reset(s);
    return v;
}

static int migrate(struct store *st, char *err, size_t errlen)
{
    int have = store_disk_version(st);
    int want = store_schema_version();

    if (have > want) {
        snprintf(err, errlen, "store schema version %d is newer than this build (%d)", have, want);
        return -EPROTO;
    }
    for (int v = have; v < want; v++) {
        char *sql =
            xasprintf("BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;", migrations[v], v + 1);
        int r = exec(st, sql);

        free(sql);
        if (r) {
            snprintf(err, errlen, "migration to schema version %d failed: %s", v + 1,
                     sqlite3_errmsg(st->db));
            exec(st, "ROLLBACK");
            return r;
        }
    }
    return 0;
}

int store_open(const char *path, bool readonly, struct store **out, char *err, size_t errlen)
{
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    struct store *st = xcalloc(1, sizeof(*st));
    int r;

    st->readonly = readonly;
    dc_init(&st->dc);
    r = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (r != SQLITE_OK) {
        snprintf(err, errlen, "cannot open store %s: %s", path, sqlite3_errstr(r));
        r = store_sql_err(r);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!readonly) {
        r = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        if (r == 0)
            r = migrate(st, err, errlen);
        else
            snprintf(err, errlen, "cannot use store %s: %s", path, sqlite3_errmsg(st->db));
        if (r)
            goto fail;
    }
    *out = st;
    return 0;
fail:
    store_close(st);
    return r ? r : -EIO;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (unsigned i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(st->cache[i].stmt);
        free(st->cache[i].sql);
    }
    dc_done(&st->dc);
    sqlite3_close(st->db);
    free(st);
}

/* BEGIN, COMMIT and ROLLBACK, prepared once (the loop runs thousands). */
static int step_sql(struct store *st, const char *sql)
{
    sqlite3_stmt *s = store_prepare(st, sql);

    return s ? store_step_done(s) : -EIO;
}

/* A writer takes the write lock at once; a reader gets a snapshot. */
int store_begin(struct store *st)
{
    int r = step_sql(st, st->readonly ? "BEGIN" : "BEGIN IMMEDIATE");

    st->in_tx = r == 0;
    return r;
}

/* On failure the transaction stays open for the caller to roll back. */
int store_commit(struct store *st)
{
    int r = dc_flush(st, &st->dc, -1);

    if (r == 0)
        r = step_sql(st, "COMMIT");
    if (r == 0) {
        st->in_tx = false;
        dc_end(&st->dc, true);
    }
    return r;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store *st = arg;

    (void)db;
    (void)name;
    st->wal_fn(st->wal_arg, frames);
    return SQLITE_OK;
}

void store_on_wal(struct store *st, void (*fn)(void *arg, int frames), void *arg)
{
    st->wal_fn = fn;
    st->wal_arg = arg;
    sqlite3_wal_hook(st->db, wal_hook, st); /* replaces the automatic checkpoints */
}

int store_checkpoint(const char *path)
{
    sqlite3 *db = NULL;
    int r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

    if (r == SQLITE_OK)
        r = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_close(db);
    return store_sql_err(r);
}

int64_t *store_log_seq(struct store *st)
{
    return &st->log_seq;
}

void store_rollback(struct store *st)
{
    st->log_seq = 0;
    dc_end(&st->dc, false);
    st->in_tx = false;
    if (!sqlite3_get_autocommit(st->db))
        step_sql(st, "ROLLBACK");
}

/* Binds a JSON scalar as the SQL value of an indexed column. */
static void bind_json(sqlite3_stmt *s, int idx, const json_t *v)
{
    if (json_is_string(v))
        sqlite3_bind_text(s, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
    else if (json_is_integer(v))
        sqlite3_bind_int64(s, idx, json_integer_value(v));
    else if (json_is_real(v))
        sqlite3_bind_double(s, idx, json_real_value(v));
    else if (json_is_boolean(v))
        sqlite3_bind_int(s, idx, json_is_true(v));
    else
        sqlite3_bind_null(s, idx);
}

int store_step_done(sqlite3_stmt *s)
{
    int r = store_sql_err(sqlite3_step(s));

    sqlite3_reset(s);
    return r;
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

static void build_put_sql(const struct kind_desc *k, struct sbuf *b)
{
    unsigned n = 0;

    sbuf_addf(b, "INSERT INTO %s (id", k->table);
    for (; k->cols[n]; n++)
        sbuf_addf(b, ", \"%s\"", k->cols[n]);
    sbuf_adds(b, ", doc, priv) VALUES (?");
    for (unsigned i = 0; i <= n + 1; i++)
        sbuf_adds(b, ", ?");
    sbuf_adds(b, ") ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, priv = excluded.priv");
    for (unsigned i = 0; i < n; i++)
        sbuf_addf(b, ", \"%s\" = excluded.\"%s\"", k->cols[i], k->cols[i]);
}

/* Splits a record into its public members and its internal ('_') ones,
 * serialized; *priv is NULL when there are none (priv NULL: only the
 * public ones are wanted). */
static void split_doc(const json_t *doc, char **pub, char **priv)
{
    json_t *p = json_object(), *q = json_object(), *v;
    const char *key;

    json_object_foreach((json_t *)doc, key, v)
    {
        json_object_set(key[0] == '_' ? q : p, key, v);
    }
    *pub = json_dumps(p, JSON_COMPACT);
    if (priv) /* NULL: not wanted */
        *priv = json_object_size(q) ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(p);
    json_decref(q);
}

/* Records are cached by the writer only: it is the only connection that
 * changes them (store.h). */
static bool cached(const struct store *st, enum store_kind kind)
{
    return !st->readonly && dc_cached_kind(kind);
}

int store_put(struct store *st, enum store_kind kind, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    int r;

    if (!id)
        return -EINVAL;
    if (!cached(st, kind))
        return store_put_now(st, kind, doc, NULL);
    if (!st->in_tx) {
        r = store_put_now(st, kind, doc, dc_stored(&st->dc, kind, id));
        if (r)
            dc_forget(&st->dc, kind, id);
        else
            dc_keep(&st->dc, kind, id, doc, false);
        return r;
    }
    return dc_keep(&st->dc, kind, id, doc, true) ? 0 : store_put_now(st, kind, doc, NULL);
}

/* Whether the internal ('_') members of a and b are the same. */
static bool same_priv(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)a, key, v)
    {
        if (key[0] == '_' && !json_equal(v, json_object_get(b, key)))
            return false;
    }
    json_object_foreach((json_t *)b, key, v)
    {
        if (key[0] == '_' && !json_object_get(a, key))
            return false;
    }
    return true;
}

/* Rewrites the row of doc, whose stored version is prev, setting only the
 * indexed columns that changed (an index whose columns an UPDATE sets is
 * rewritten, a page more to the log at every commit) and priv only when it
 * changed. -ENOENT when there is no row. */
static int update_changed(struct store *st, enum store_kind kind, const json_t *doc,
                          const json_t *prev)
{
    const struct kind_desc *k = &kinds[kind];
    bool priv_too = !same_priv(doc, prev);
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;
    char *pub, *priv = NULL;
    unsigned n = 0;
    int r;

    /* ?1 doc, ?2 id, ?3... the indexed columns, then priv */
    while (k->cols[n])
        n++;
    sbuf_addf(&sql, "UPDATE %s SET doc = ?1", k->table);
    if (priv_too)
        sbuf_addf(&sql, ", priv = ?%u", n + 3);
    for (unsigned i = 0; i < n; i++)
        if (!json_equal(json_object_get(doc, k->cols[i]), json_object_get(prev, k->cols[i])))
            sbuf_addf(&sql, ", \"%s\" = ?%u", k->cols[i], i + 3);
    sbuf_adds(&sql, " WHERE id = ?2");
    s = store_prepare(st, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s)
        return -EIO;
    split_doc(doc, &pub, priv_too ? &priv : NULL);
    sqlite3_bind_text(s, 1, pub, -1, free);
    sqlite3_bind_text(s, 2, json_string_value(json_object_get(doc, "id")), -1, SQLITE_TRANSIENT);
    for (unsigned i = 0; i < n; i++) /* those the statement does not name are refused: fine */
        bind_json(s, (int)i + 3, json_object_get(doc, k->cols[i]));
    if (priv_too)
        sqlite3_bind_text(s, (int)n + 3, priv, -1, free); /* NULL: no internal members */
    r = store_step_done(s);
    return r == 0 && sqlite3_changes(st->db) == 0 ? -ENOENT : r;
}

int store_put_now(struct store *st, enum store_kind kind, const json_t *doc, const json_t *prev)
{
    const struct kind_desc *k = &kinds[kind];
    const char *id = json_string_value(json_object_get(doc, "id"));
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;
    char *pub, *priv;
    int idx = 1, r;

    if (prev && (r = update_changed(st, kind, doc, prev)) != -ENOENT)
        return r;
    build_put_sql(k, &sql);
    s = store_prepare(st, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s)
        return -EIO;
    split_doc(doc, &pub, &priv);
    sqlite3_bind_text(s, idx++, id, -1, SQLITE_TRANSIENT);
    for (unsigned i = 0; k->cols[i]; i++)
        bind_json(s, idx++, json_object_get(doc, k->cols[i]));
    sqlite3_bind_text(s, idx++, pub, -1, free);
    if (priv)
        sqlite3_bind_text(s, idx, priv, -1, free);
    r = store_step_done(s);
    return r;
}

int store_delete(struct store *st, enum store_kind kind, const char *id)
{
    char sql[128];
    sqlite3_stmt *s;
    int r = dc_flush(st, &st->dc, (int)kind); /* a record written, then deleted */

    if (r)
        return r;
    dc_forget(&st->dc, kind, id);
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?", kinds[kind].table);
    s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    r = store_step_done(s);
    if (r == 0 && sqlite3_changes(st->db) == 0)
        r = -ENOENT;
    return r;
}

/* The record of a row whose columns col, col+1 are doc and priv. */
static json_t *column_doc(sqlite3_stmt *s, int col)
{
    const char *text = (const char *)sqlite3_column_text(s, col);
    const char *priv = (const char *)sqlite3_column_text(s, col + 1);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;

    if (doc && priv) {
        json_t *p = json_loads(priv, 0, NULL);

        json_object_update(doc, p);
        json_decref(p);
    }
    return doc;
}

int store_get(struct store *st, enum store_kind kind, const char *id, json_t **out)
{
    char sql[128];
    sqlite3_stmt *s;
    json_t *doc = NULL;
    bool keep = cached(st, kind);
    int rc;

    if (keep && (doc = dc_get(&st->dc, kind, id))) {
        *out = doc;
        return 0;
    }
    snprintf(sql, sizeof(sql), "SELECT doc, priv FROM %s WHERE id = ?", kinds[kind].table);
    s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        doc = column_doc(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (!doc)
        return rc == SQLITE_ROW ? -EIO : store_sql_err(rc);
    if (keep)
        dc_keep(&st->dc, kind, id, doc, false);
    *out = doc;
    return 0;
}

static bool known_column(const struct kind_desc *k, const char *col)
{
    if (strcmp(col, "id") == 0)
        return true;
    for (unsigned i = 0; k->cols[i]; i++)
        if (strcmp(k->cols[i], col) == 0)
            return true;
    return false;
}

/* Appends " WHERE ..." for the conditions; -EINVAL for an unknown column. */
static int build_where(const struct kind_desc *k, const struct store_where *w, unsigned n,
                       struct sbuf *b)
{
    for (unsigned i = 0; i < n; i++) {
        if (!known_column(k, w[i].column))
            return -EINVAL;
        sbuf_adds(b, i ? " AND " : " WHERE ");
        if (w[i].or_null)
            sbuf_addf(b, "(\"%s\" = ? OR \"%s\" IS NULL)", w[i].column, w[i].column);
        else
            sbuf_addf(b, "\"%s\" = ?", w[i].column);
    }
    return 0;
}

static void bind_where(sqlite3_stmt *s, const struct store_where *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sqlite3_bind_text(s, (int)i + 1, w[i].value, -1, SQLITE_TRANSIENT);
}

/* A prepared SELECT of doc, priv for the list options; NULL with *r set. */
static sqlite3_stmt *list_stmt(struct store *st, enum store_kind kind,
                               const struct store_list_opts *o, int *r)
{
    const struct kind_desc *k = &kinds[kind];
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;

    *r = dc_flush(st, &st->dc, (int)kind);
    if (*r)
        return NULL;
    sbuf_addf(&sql, "SELECT doc, priv FROM %s", k->table);
    if (build_where(k, o->where, o->n_where, &sql)) {
        sbuf_done(&sql);
        *r = -EINVAL;
        return NULL;
    }
    sbuf_addf(&sql, " ORDER BY rowid %s", o->newest_first ? "DESC" : "ASC");
    if (o->limit || o->offset)
        sbuf_addf(&sql, " LIMIT %d OFFSET %u", o->limit ? (int)o->limit : -1, o->offset);
    s = store_prepare(st, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s) {
        *r = -EIO;
        return NULL;
    }
    bind_where(s, o->where, o->n_where);
    return s;
}

int store_list_public(struct store *st, enum store_kind kind, const struct store_list_opts *o,
                      struct sbuf *out)
{
    static const struct store_list_opts none;
    sqlite3_stmt *s;
    int rc, r = 0, n = 0;

    s = list_stmt(st, kind, o ? o : &none, &r);
    if (!s)
        return r;
    sbuf_addc(out, '[');
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n++)
            sbuf_addc(out, ',');
        sbuf_adds(out, (const char *)sqlite3_column_text(s, 0));
    }
    sbuf_addc(out, ']');
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_list(struct store *st, enum store_kind kind, const struct store_list_opts *o,
               json_t **out)
{
    static const struct store_list_opts none;
    sqlite3_stmt *s;
    json_t *arr;
    int rc, r = 0;

    s = list_stmt(st, kind, o ? o : &none, &r);
    if (!s)
        return r;
    arr = json_array();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *doc = column_doc(s, 0);

        if (doc)
            json_array_append_new(arr, doc);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_sql_err(rc) ? store_sql_err(rc) : -EIO;
    }
    *out = arr;
    return 0;
}

long store_count(struct store *st, enum store_kind kind, const struct store_where *where,
                 unsigned n_where)
{
    const struct kind_desc *k = &kinds[kind];
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;
    long n = dc_flush(st, &st->dc, (int)kind);

    if (n)
        return n;
    n = -EIO;
    sbuf_addf(&sql, "SELECT count(*) FROM %s", k->table);
    if (build_where(k, where, n_where, &sql)) {
        sbuf_done(&sql);
        return -EINVAL;
    }
    s = store_prepare(st, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s)
        return -EIO;
    bind_where(s, where, n_where);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
}

int store_meta_get(struct store *st, const char *key, char **out)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT value FROM meta WHERE key = ?");
    int rc;

    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return rc == SQLITE_ROW ? 0 : store_sql_err(rc);
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
    sqlite3_stmt *s = store_prepare(st, "INSERT INTO meta (key, value) VALUES (?, ?) "
                                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");

    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    return store_step_done(s);
}

int store_site_usage(struct store *st, const char *site, struct store_usage *u)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT total(vcpu), total(memory_mb), total(disk_mb), "
                                        "count(*) FROM vis WHERE site = ?");
    int rc = dc_flush(st, &st->dc, STORE_VI);

    if (rc)
        return rc;
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, site, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        u->vcpu = sqlite3_column_double(s, 0);
        u->memory_mb = (long long)sqlite3_column_double(s, 1);
        u->disk_mb = (long long)sqlite3_column_double(s, 2);
        u->vis = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : -EIO;
}
