/* The embedded store backend: SQLite in WAL mode with versioned
 * migrations. A kind is a table with its indexed columns, doc (the public
 * members as JSON) and priv (the internal ones, NULL when none); lists come
 * in rowid order, which an upsert keeps.
 *
 * synchronous=NORMAL: in WAL mode a committed transaction survives a crash
 * of the manager (kill -9); only an OS crash or power cut can lose the last
 * ones, and those take the VNF processes with them as well.
 *
 * The write-ahead log is kept bounded by maintain(), on its owner's thread
 * beside the writer, never inside the writer's commits: passive checkpoints
 * each time the log has grown by WAL_CKPT_FRAMES pages, after which the
 * writer starts the log over (cut to WAL_KEEP_BYTES) at its next begin; a
 * RESTART checkpoint when a writer that commits without pause outran them;
 * and a TRUNCATE one once the file has passed WAL_MAX_BYTES all the same
 * (readers that kept the log in use). Those two wait up to WAL_WAIT_MS for
 * readers, and the writer's next begin waits for them. Readers hold no
 * snapshot between calls (every statement is reset once stepped), so that
 * wait is short; on a loaded host a reader may be off its core for longer,
 * so a wait in vain makes the next one come after a quarter of the pages
 * and wait twice as long (up to WAL_WAIT_MAX_MS), until one succeeds.
 */
#include "store/store_sqlite.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define WAL_CKPT_FRAMES 1000                 /* SQLite's own default */
#define WAL_KEEP_BYTES  (4LL * 1024 * 1024)  /* journal_size_limit */
#define WAL_MAX_BYTES   (16LL * 1024 * 1024) /* past it, a truncating checkpoint */
#define WAL_WAIT_MS     200                  /* what that one waits for readers */
#define WAL_WAIT_MAX_MS 1600                 /* ... doubled each time it waited in vain */

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
    /* 5 -> 6: the estate of a cloud VNFM (src/fed/, docs/FEDERATION.md): join
     * tokens (kept hashed), branch managers, and the instructions sent to
     * them, in the order of their manager's seq. */
    "CREATE TABLE join_tokens (id TEXT PRIMARY KEY, _hash TEXT UNIQUE, site TEXT,"
    "  doc TEXT NOT NULL, priv TEXT);"
    "CREATE TABLE managers (id TEXT PRIMARY KEY, site TEXT, doc TEXT NOT NULL, priv TEXT);"
    "CREATE TABLE instructions (id TEXT PRIMARY KEY, manager TEXT, state TEXT,"
    "  doc TEXT NOT NULL, priv TEXT);"
    "CREATE INDEX instructions_manager ON instructions(manager, state);",
    /* 6 -> 7: VNF packages (catalog/svc_package.c, SOL005 VnfPkgInfo) and
     * the subscriptions to their notifications. */
    "CREATE TABLE packages (id TEXT PRIMARY KEY, tenant TEXT, vnfdId TEXT, onboardingState TEXT,"
    "  doc TEXT NOT NULL, priv TEXT);"
    "CREATE INDEX packages_vnfd ON packages(vnfdId);"
    "CREATE INDEX packages_state ON packages(onboardingState);"
    "CREATE TABLE pkg_subscriptions (id TEXT PRIMARY KEY, tenant TEXT, doc TEXT NOT NULL,"
    "  priv TEXT);",
    /* 7 -> 8: scheduled operations (lcm/schedule.c): an operation with a
     * start time, started by the manager at that time. */
    "CREATE TABLE scheduled_ops (id TEXT PRIMARY KEY, tenant TEXT, deployment TEXT, state TEXT,"
    "  doc TEXT NOT NULL, priv TEXT);"
    "CREATE INDEX scheduled_ops_state ON scheduled_ops(state);",
};

static struct sq *sq_of(void *be)
{
    return be;
}

static const char *sq_errmsg(void *be)
{
    return sqlite3_errmsg(sq_of(be)->db);
}

int sq_err(int rc)
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

sqlite3_stmt *sq_prepare(struct sq *q, const char *sql)
{
    struct sq_stmt *slot;

    for (unsigned i = 0; i < SQ_STMT_CACHE; i++) {
        slot = &q->cache[i];
        if (slot->sql && strcmp(slot->sql, sql) == 0) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
    }
    slot = &q->cache[q->next_evict];
    q->next_evict = (q->next_evict + 1) % SQ_STMT_CACHE;
    if (slot->stmt) {
        sqlite3_finalize(slot->stmt);
        free(slot->sql);
        slot->stmt = NULL;
        slot->sql = NULL;
    }
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL) !=
        SQLITE_OK)
        return NULL;
    slot->sql = xstrdup(sql);
    return slot->stmt;
}

int sq_step_done(sqlite3_stmt *s)
{
    int r = sq_err(sqlite3_step(s));

    sqlite3_reset(s);
    return r;
}

static int exec(struct sq *q, const char *sql)
{
    return sq_err(sqlite3_exec(q->db, sql, NULL, NULL, NULL));
}

static int sq_disk_version(void *be)
{
    sqlite3_stmt *s = sq_prepare(sq_of(be), "PRAGMA user_version");
    int v = -1;

    if (s && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    if (s)
        sqlite3_reset(s);
    return v;
}

static int migrate(struct sq *q, char *err, size_t errlen)
{
    int have = sq_disk_version(q);
    int want = (int)ARRAY_SIZE(migrations);

    if (have > want) {
        snprintf(err, errlen, "store schema version %d is newer than this build (%d)", have, want);
        return -EPROTO;
    }
    for (int v = have; v < want; v++) {
        char *sql =
            xasprintf("BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;", migrations[v], v + 1);
        int r = exec(q, sql);

        free(sql);
        if (r) {
            snprintf(err, errlen, "migration to schema version %d failed: %s", v + 1,
                     sqlite3_errmsg(q->db));
            exec(q, "ROLLBACK");
            return r;
        }
    }
    return 0;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct sq *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

static void sq_close(void *be)
{
    struct sq *q = be;

    if (!q)
        return;
    for (unsigned i = 0; i < SQ_STMT_CACHE; i++) {
        sqlite3_finalize(q->cache[i].stmt);
        free(q->cache[i].sql);
    }
    sqlite3_close(q->maint);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->gate_mu);
    pthread_cond_destroy(&q->gate_cv);
    free(q->path);
    free(q);
}

/* A writer's checkpoints are maintain()'s (it replaces SQLite's automatic
 * ones, which would run inside the writer's commits). */
static int setup_writer(struct sq *q, char *err, size_t errlen)
{
    char pragmas[128];
    int r;

    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=%lld;",
             WAL_KEEP_BYTES);
    r = exec(q, pragmas);
    if (r) {
        snprintf(err, errlen, "cannot use store %s: %s", q->path, sqlite3_errmsg(q->db));
        return r;
    }
    sqlite3_wal_hook(q->db, wal_hook, q);
    q->wal_next = WAL_CKPT_FRAMES;
    return migrate(q, err, errlen);
}

static int sq_open(const char *where, bool readonly, void **be, char *err, size_t errlen)
{
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    struct sq *q = xcalloc(1, sizeof(*q));
    int r;

    q->readonly = readonly;
    q->path = xstrdup(where);
    pthread_mutex_init(&q->gate_mu, NULL);
    pthread_cond_init(&q->gate_cv, NULL);
    r = sqlite3_open_v2(where, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (r != SQLITE_OK) {
        snprintf(err, errlen, "cannot open store %s: %s", where, sqlite3_errstr(r));
        r = sq_err(r);
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);
    if (!readonly && (r = setup_writer(q, err, errlen)))
        goto fail;
    *be = q;
    return 0;
fail:
    sq_close(q);
    return r ? r : -EIO;
}

static int sq_open_reader(void *writer, void **be, char *err, size_t errlen)
{
    return sq_open(sq_of(writer)->path, true, be, err, errlen);
}

/* ---- transactions ---- */

/* BEGIN, COMMIT and ROLLBACK, prepared once (the loop runs thousands). */
static int step_sql(struct sq *q, const char *sql)
{
    sqlite3_stmt *s = sq_prepare(q, sql);

    return s ? sq_step_done(s) : -EIO;
}

/* A writer takes the write lock at once; a reader takes its snapshot at
 * once (a deferred BEGIN would take it at the first read). */
static int sq_begin(void *be)
{
    struct sq *q = be;
    int r;

    if (!q->readonly) {
        pthread_mutex_lock(&q->gate_mu);
        while (q->gate_closed)
            pthread_cond_wait(&q->gate_cv, &q->gate_mu);
        pthread_mutex_unlock(&q->gate_mu);
    }
    r = step_sql(q, q->readonly ? "BEGIN" : "BEGIN IMMEDIATE");

    if (r == 0 && q->readonly && sq_disk_version(q) < 0) {
        step_sql(q, "ROLLBACK");
        r = -EIO;
    }
    return r;
}

static void sq_rollback(void *be)
{
    struct sq *q = be;

    q->log_seq = 0;
    if (!sqlite3_get_autocommit(q->db))
        step_sql(q, "ROLLBACK");
}

/* ---- records ---- */

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
static int update_changed(struct sq *q, enum store_kind kind, const json_t *doc, const json_t *prev)
{
    const struct kind_desc *k = &store_kinds[kind];
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
    s = sq_prepare(q, sbuf_str(&sql));
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
    r = sq_step_done(s);
    return r == 0 && sqlite3_changes(q->db) == 0 ? -ENOENT : r;
}

static int put_row(struct sq *q, const struct store_write *w)
{
    const struct kind_desc *k = &store_kinds[w->kind];
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;
    char *pub, *priv;
    int idx = 1, r;

    if (w->prev && (r = update_changed(q, w->kind, w->doc, w->prev)) != -ENOENT)
        return r;
    build_put_sql(k, &sql);
    s = sq_prepare(q, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s)
        return -EIO;
    split_doc(w->doc, &pub, &priv);
    sqlite3_bind_text(s, idx++, w->id, -1, SQLITE_TRANSIENT);
    for (unsigned i = 0; k->cols[i]; i++)
        bind_json(s, idx++, json_object_get(w->doc, k->cols[i]));
    sqlite3_bind_text(s, idx++, pub, -1, free);
    if (priv)
        sqlite3_bind_text(s, idx, priv, -1, free);
    return sq_step_done(s);
}

static int delete_row(struct sq *q, const struct store_write *w)
{
    char sql[128];
    sqlite3_stmt *s;
    int r;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?", store_kinds[w->kind].table);
    s = sq_prepare(q, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, w->id, -1, SQLITE_TRANSIENT);
    r = sq_step_done(s);
    return r == 0 && sqlite3_changes(q->db) == 0 ? -ENOENT : r;
}

static int sq_write(void *be, const struct store_batch *b)
{
    int r = 0;

    for (size_t i = 0; i < b->n && r == 0; i++)
        r = b->w[i].doc ? put_row(be, &b->w[i]) : delete_row(be, &b->w[i]);
    return r;
}

static int sq_commit(void *be, const struct store_batch *b)
{
    int r = sq_write(be, b);

    return r ? r : step_sql(be, "COMMIT");
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

static int sq_get(void *be, enum store_kind kind, const char *id, json_t **out)
{
    char sql[128];
    sqlite3_stmt *s;
    json_t *doc = NULL;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT doc, priv FROM %s WHERE id = ?", store_kinds[kind].table);
    s = sq_prepare(be, sql);
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
        return rc == SQLITE_ROW ? -EIO : sq_err(rc);
    *out = doc;
    return 0;
}

/* Appends " WHERE ..." for the conditions; -EINVAL for an unknown column. */
static int build_where(enum store_kind kind, const struct store_where *w, unsigned n,
                       struct sbuf *b)
{
    for (unsigned i = 0; i < n; i++) {
        if (!store_kind_indexes(kind, w[i].column))
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
static sqlite3_stmt *list_stmt(struct sq *q, enum store_kind kind, const struct store_list_opts *o,
                               int *r)
{
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s;

    sbuf_addf(&sql, "SELECT doc, priv FROM %s", store_kinds[kind].table);
    if (build_where(kind, o->where, o->n_where, &sql)) {
        sbuf_done(&sql);
        *r = -EINVAL;
        return NULL;
    }
    sbuf_addf(&sql, " ORDER BY rowid %s", o->newest_first ? "DESC" : "ASC");
    if (o->limit || o->offset)
        sbuf_addf(&sql, " LIMIT %d OFFSET %u", o->limit ? (int)o->limit : -1, o->offset);
    s = sq_prepare(q, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s) {
        *r = -EIO;
        return NULL;
    }
    bind_where(s, o->where, o->n_where);
    return s;
}

static int sq_list_public(void *be, enum store_kind kind, const struct store_list_opts *o,
                          struct sbuf *out)
{
    sqlite3_stmt *s;
    int rc, r = 0, n = 0;

    s = list_stmt(be, kind, o, &r);
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

static int sq_list(void *be, enum store_kind kind, const struct store_list_opts *o, json_t **out)
{
    sqlite3_stmt *s;
    json_t *arr;
    int rc, r = 0;

    s = list_stmt(be, kind, o, &r);
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
        return sq_err(rc) ? sq_err(rc) : -EIO;
    }
    *out = arr;
    return 0;
}

static long sq_count(void *be, enum store_kind kind, const struct store_where *w, unsigned n,
                     const char *const *cols, double *sums)
{
    struct sbuf sql = SBUF_INIT;
    sqlite3_stmt *s = NULL;
    unsigned nc = 0;
    long r = -EINVAL;

    sbuf_adds(&sql, "SELECT count(*)");
    for (; cols && cols[nc]; nc++) {
        if (!store_kind_indexes(kind, cols[nc]))
            goto out;
        sbuf_addf(&sql, ", total(\"%s\")", cols[nc]);
    }
    sbuf_addf(&sql, " FROM %s", store_kinds[kind].table);
    if (build_where(kind, w, n, &sql))
        goto out;
    r = -EIO;
    s = sq_prepare(be, sbuf_str(&sql));
    if (!s)
        goto out;
    bind_where(s, w, n);
    if (sqlite3_step(s) == SQLITE_ROW) {
        r = (long)sqlite3_column_int64(s, 0);
        for (unsigned i = 0; i < nc; i++)
            sums[i] = sqlite3_column_double(s, (int)i + 1);
    }
    sqlite3_reset(s);
out:
    sbuf_done(&sql);
    return r;
}

/* ---- meta ---- */

static int sq_meta_get(void *be, const char *key, char **out)
{
    sqlite3_stmt *s = sq_prepare(be, "SELECT value FROM meta WHERE key = ?");
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
    return rc == SQLITE_ROW ? 0 : sq_err(rc);
}

static int sq_meta_set(void *be, const char *key, const char *value)
{
    sqlite3_stmt *s = sq_prepare(be, "INSERT INTO meta (key, value) VALUES (?, ?) "
                                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value");

    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    return sq_step_done(s);
}

/* ---- maintenance: checkpoints of the write-ahead log ---- */

/* Each time the log has grown by WAL_CKPT_FRAMES pages since the last time
 * it was asked for, or since the log started over. */
static bool sq_maintenance_due(void *be)
{
    struct sq *q = be;

    if (q->wal_frames < q->wal_seen)
        q->wal_next = WAL_CKPT_FRAMES; /* the writer started the log over */
    if (q->ckpt_soon) {                /* the last maintenance waited in vain */
        q->ckpt_soon = false;
        q->wal_next = q->wal_frames + WAL_CKPT_FRAMES / 4;
    }
    q->wal_seen = q->wal_frames;
    if (q->wal_frames < q->wal_next)
        return false;
    q->wal_next = q->wal_frames + WAL_CKPT_FRAMES;
    return true;
}

static long long file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* The maintenance connection. It reads once before a checkpoint: a
 * connection that has not read yet has not opened the log, and its
 * checkpoint silently does nothing (which left a 273 MB log behind). */
static int maint_conn(struct sq *q)
{
    int r = SQLITE_OK;

    if (!q->maint) {
        r = sqlite3_open_v2(q->path, &q->maint, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        q->wait_ms = WAL_WAIT_MS;
    }
    if (r == SQLITE_OK)
        sqlite3_busy_timeout(q->maint, q->wait_ms);
    if (r == SQLITE_OK)
        r = sqlite3_exec(q->maint, "PRAGMA user_version", NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        sqlite3_close(q->maint);
        q->maint = NULL;
    }
    return sq_err(r);
}

/* Passive checkpoints, which wait for no one, until one finds no frame
 * committed since the one before, or readers keep frames from it. Sets
 * *outrun when the writer kept committing: the log starts over only at a
 * writer's begin that finds every frame copied back. */
static int checkpoint_passive(struct sq *q, bool *outrun)
{
    int last = -1, frames = 0, copied = 0, r = 0;

    for (int pass = 0; pass < 4 && r == 0 && frames != last && copied == frames; pass++) {
        last = frames;
        r = sq_err(
            sqlite3_wal_checkpoint_v2(q->maint, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied));
    }
    *outrun = r == 0 && copied == frames && frames != last;
    return r;
}

static void gate(struct sq *q, bool closed)
{
    pthread_mutex_lock(&q->gate_mu);
    q->gate_closed = closed;
    pthread_cond_broadcast(&q->gate_cv);
    pthread_mutex_unlock(&q->gate_mu);
}

/* A checkpoint that copies what is left, waits up to WAL_WAIT_MS for
 * readers to leave the log, and makes the writer start it over (RESTART;
 * TRUNCATE also empties the file). The writer's next begin waits for it:
 * SQLite's busy handler polls for the write lock, which a writer that
 * commits without pause would take first every time. */
static int checkpoint_blocking(struct sq *q, int mode)
{
    int r;

    gate(q, true);
    r = sq_err(sqlite3_wal_checkpoint_v2(q->maint, NULL, mode, NULL, NULL));
    gate(q, false);
    return r;
}

static int sq_maintain(void *be)
{
    struct sq *q = be;
    char *wal = xasprintf("%s-wal", q->path);
    bool outrun = false;
    int r = maint_conn(q);

    if (r == 0)
        r = checkpoint_passive(q, &outrun);
    if (r == 0 && outrun)
        r = checkpoint_blocking(q, SQLITE_CHECKPOINT_RESTART); /* then cut to WAL_KEEP_BYTES */
    else if (r == 0 && file_size(wal) > WAL_MAX_BYTES)
        r = checkpoint_blocking(q, SQLITE_CHECKPOINT_TRUNCATE);
    if (r == -EBUSY) { /* readers kept the log in use */
        q->ckpt_soon = true;
        q->wait_ms = q->wait_ms * 2 > WAL_WAIT_MAX_MS ? WAL_WAIT_MAX_MS : q->wait_ms * 2;
    } else if (r == 0) {
        q->wait_ms = WAL_WAIT_MS;
    }
    free(wal);
    return r;
}

static int sq_snapshot(void *be, const char *path)
{
    struct sq *q = be;
    sqlite3_stmt *st = NULL;
    int r = sq_err(sqlite3_prepare_v2(q->db, "VACUUM INTO ?", -1, &st, NULL));

    if (r == 0)
        r = sq_err(sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT));
    if (r == 0 && sqlite3_step(st) != SQLITE_DONE)
        r = -EIO;
    sqlite3_finalize(st);
    return r;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .schema_version = (int)ARRAY_SIZE(migrations),
    .open = sq_open,
    .open_reader = sq_open_reader,
    .close = sq_close,
    .disk_version = sq_disk_version,
    .begin = sq_begin,
    .write = sq_write,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .get = sq_get,
    .list = sq_list,
    .list_public = sq_list_public,
    .count = sq_count,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .log_append = sq_log_append,
    .log_query = sq_log_query,
    .log_prune = sq_log_prune,
    .log_last_seq = sq_log_last_seq,
    .maintenance_due = sq_maintenance_due,
    .maintain = sq_maintain,
    .snapshot = sq_snapshot,
    .errmsg = sq_errmsg,
};
