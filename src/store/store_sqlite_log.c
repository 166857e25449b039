/* The event log of the SQLite backend (seed para 52, F10): a table with
 * the filtered members as columns and an AUTOINCREMENT seq. */
#include "store/store_sqlite.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <string.h>

static const char *const log_cols[] = {"level",  "category",   "event",     "tenant",
                                       "object", "deployment", "operation", "vi"};

static int64_t record_time(json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "time"));
    char buf[TIME_STR_MAX];
    int64_t ms;

    if (t && time_parse(t, &ms) == 0)
        return ms;
    ms = wall_ms();
    json_object_set_new(rec, "time", json_string(time_fmt(ms, buf)));
    return ms;
}

int sq_log_append(void *be, json_t *rec)
{
    struct sq *q = be;
    sqlite3_stmt *s = sq_prepare(q, "INSERT INTO logs (ts, level, category, event, tenant, "
                                    "object, deployment, operation, vi, tags, doc) VALUES "
                                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    int64_t ts = record_time(rec);
    int64_t seq;
    int idx = 2, r;

    if (!s)
        return -EIO;
    /* AUTOINCREMENT: the row will get exactly this */
    seq = (q->log_seq ? q->log_seq : sq_log_last_seq(q)) + 1;
    json_object_set_new(rec, "seq", json_integer(seq));
    sqlite3_bind_int64(s, 1, ts);
    for (unsigned i = 0; i < ARRAY_SIZE(log_cols); i++) {
        const char *v = json_string_value(json_object_get(rec, log_cols[i]));

        sqlite3_bind_text(s, idx++, v, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_text(s, idx++, store_log_tags(json_object_get(rec, "tags")), -1, free);
    sqlite3_bind_text(s, idx, json_dumps(rec, JSON_COMPACT), -1, free);
    r = sq_step_done(s);
    if (r == 0 && sqlite3_last_insert_rowid(q->db) != seq)
        json_object_set_new(rec, "seq", json_integer(sqlite3_last_insert_rowid(q->db)));
    q->log_seq = r == 0 ? sqlite3_last_insert_rowid(q->db) : 0;
    return r;
}

int64_t sq_log_last_seq(void *be)
{
    sqlite3_stmt *s = sq_prepare(be, "SELECT seq FROM sqlite_sequence WHERE name = 'logs'");
    int64_t seq = 0;

    if (s && sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    if (s)
        sqlite3_reset(s);
    return seq;
}

static void add_cond(struct sbuf *sql, const char *expr, bool present)
{
    if (present)
        sbuf_addf(sql, " AND %s", expr);
}

/* Text parameters are ?1..?8 and integers ?9..?12, bound by position. */
static void build_log_query(const struct log_query *q, struct sbuf *sql)
{
    sbuf_adds(sql, "SELECT doc FROM logs WHERE 1");
    add_cond(sql, "category = ?1", q->category);
    add_cond(sql, "level = ?2", q->level);
    add_cond(sql, "event = ?3", q->event);
    add_cond(sql, "deployment = ?4", q->deployment);
    add_cond(sql, "operation = ?5", q->operation);
    add_cond(sql, "instr(tags, ',' || ?6 || ',') > 0", q->tag);
    add_cond(sql, "tenant = ?8", q->tenant);
    add_cond(sql,
             "(object = ?7 OR deployment = ?7 OR operation = ?7 OR vi = ?7"
             " OR substr(object, instr(object, '/') + 1) = ?7)",
             q->object);
    add_cond(sql, "ts >= ?9", q->since_ms);
    add_cond(sql, "ts <= ?10", q->until_ms);
    add_cond(sql, "seq > ?11", q->after_seq);
    add_cond(sql, "seq <= ?12", q->max_seq);
}

static void bind_log_query(sqlite3_stmt *s, const struct log_query *q)
{
    const char *texts[] = {q->category,  q->level, q->event,  q->deployment,
                           q->operation, q->tag,   q->object, q->tenant};
    const int64_t ints[] = {q->since_ms, q->until_ms, q->after_seq, q->max_seq};

    for (unsigned i = 0; i < ARRAY_SIZE(texts); i++)
        if (texts[i])
            sqlite3_bind_text(s, (int)i + 1, texts[i], -1, SQLITE_TRANSIENT);
    for (unsigned i = 0; i < ARRAY_SIZE(ints); i++)
        if (ints[i])
            sqlite3_bind_int64(s, (int)i + 9, ints[i]);
}

int sq_log_query(void *be, const struct log_query *q, json_t **out)
{
    struct sbuf sql = SBUF_INIT;
    unsigned limit = q->limit ? q->limit : 1000;
    sqlite3_stmt *s;
    json_t *arr;
    int rc;

    build_log_query(q, &sql);
    sbuf_addf(&sql, " ORDER BY seq %s LIMIT %u", q->tail ? "DESC" : "ASC", limit);
    s = sq_prepare(be, sbuf_str(&sql));
    sbuf_done(&sql);
    if (!s)
        return -EIO;
    bind_log_query(s, q);
    arr = json_array();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        json_t *doc = text ? json_loads(text, 0, NULL) : NULL;

        if (!doc)
            continue;
        if (q->tail)
            json_array_insert_new(arr, 0, doc);
        else
            json_array_append_new(arr, doc);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return -EIO;
    }
    *out = arr;
    return 0;
}

long sq_log_prune(void *be, long keep)
{
    struct sq *q = be;
    sqlite3_stmt *s = sq_prepare(
        q, "DELETE FROM logs WHERE seq <= (SELECT seq FROM logs ORDER BY seq DESC LIMIT 1 "
           "OFFSET ?)");
    int r;

    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, keep);
    r = sq_step_done(s);
    return r ? r : sqlite3_changes(q->db);
}
