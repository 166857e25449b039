/* Shared between the files of the SQLite store. */
#ifndef VNFM_STORE_INTERNAL_H
#define VNFM_STORE_INTERNAL_H

#include "store/store.h"
#include "util/hmap.h"

#include <sqlite3.h>

/* A cached prepared statement for sql, reset and unbound; NULL on error. */
sqlite3_stmt *store_prepare(struct store *st, const char *sql);
/* Maps an SQLite result code to 0 or a negative errno. */
int store_sql_err(int rc);
/* Steps a statement that returns no rows, then resets it. */
int store_step_done(sqlite3_stmt *s);
sqlite3 *store_db(struct store *st);
/* The writer's last event log seq, 0 when not known (after a rollback). */
int64_t *store_log_seq(struct store *st);
/* Writes a record to SQLite at once (store_put keeps it until the commit);
 * prev, when known, is the version SQLite has (only what changed is set). */
int store_put_now(struct store *st, enum store_kind kind, const json_t *doc, const json_t *prev);

/* The writer's cache of parsed records (store_cache.c). */
struct dc_entry;

struct dcache {
    struct hmap map; /* "KIND/ID" -> struct dc_entry */
    struct dc_entry *head, *tail;
    unsigned n;
    uint64_t writes; /* numbers the writes, to flush them in order */
};

void dc_init(struct dcache *c);
void dc_done(struct dcache *c);
/* Whether records of kind are kept (the ones written again and again). */
bool dc_cached_kind(enum store_kind kind);
/* A new copy of the kept record, or NULL when it is not kept. */
json_t *dc_get(struct dcache *c, enum store_kind kind, const char *id);
/* Keeps a copy of doc; dirty when the open transaction wrote it and
 * SQLite has yet to get it. False when it cannot be kept (id too long). */
bool dc_keep(struct dcache *c, enum store_kind kind, const char *id, const json_t *doc, bool dirty);
void dc_forget(struct dcache *c, enum store_kind kind, const char *id);
/* The kept version SQLite has too (a clean one), or NULL; borrowed. */
const json_t *dc_stored(struct dcache *c, enum store_kind kind, const char *id);
/* Writes the dirty records of kind (-1: all) to SQLite. */
int dc_flush(struct store *st, struct dcache *c, int kind);
/* The transaction ended: what it wrote is now SQLite's, or is dropped. */
void dc_end(struct dcache *c, bool committed);

#endif
