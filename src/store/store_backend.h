/* The store backend interface: what SQLite (store_sqlite.c) implements
 * today and etcd will next. Only the files of src/store/ see it.
 *
 * Layers:
 *
 *   store.h    the API callers use (store.c): picks a backend by the
 *              location, refuses writes on reader handles, wraps a write
 *              made outside a transaction in one of its own, asks for
 *              maintenance after commits
 *   cache      the writer's parsed records (store_cache.c): collects a
 *              transaction's writes and hands them to the backend as a
 *              batch, at the commit or before a query that could see them
 *   backend    a `const struct store_ops` (this file): records, lists,
 *              the event log, meta, transactions, reader handles and its
 *              own maintenance
 *
 * The kinds and their indexed columns (store_kinds[]) are the same for
 * every backend: a record is a JSON document keyed by "id", its indexed
 * columns are top-level members of it.
 *
 * What every backend guarantees (tests/unit/test_store_contract.c proves
 * it for each entry of its table of backends):
 *
 * - A writer's transaction is all or nothing, and isolated: readers see the
 *   last committed state. Writes are only made inside a transaction
 *   (begin ... commit or rollback); store.c opens one for a write made
 *   outside.
 * - A reader outside a transaction sees the last commit at each call and
 *   holds nothing between calls (no snapshot, no lock), so it never keeps
 *   the writer or the backend's maintenance waiting. A reader's begin
 *   takes a snapshot at once; its rollback ends it.
 * - Lists come in the order the records were first written (a record
 *   rewritten keeps its place; deleted and written again, it goes last),
 *   or the reverse with newest_first; where conditions are equalities on
 *   indexed columns (or_null: or the member is absent or null), ANDed.
 * - Each event log record gets a seq larger than every committed one; a
 *   rolled back append leaves no record (its seq may be given again).
 *
 * Return values: 0 (or a count) or a negative errno; out-parameters are
 * untouched on failure. -ENOENT: no such record; -EINVAL: a column the
 * kind does not index; -EEXIST: a unique constraint; -EROFS: a reader
 * writing. errmsg() says more, for logs.
 */
#ifndef VNFM_STORE_BACKEND_H
#define VNFM_STORE_BACKEND_H

#include "store/store.h"
#include "util/hmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_COLS 8

struct kind_desc {
    const char *name;                 /* singular, for logs: "deployment" */
    const char *table;                /* plural: SQLite's table, etcd's key prefix */
    const char *cols[STORE_MAX_COLS]; /* indexed top-level members besides id */
    const char *unique;               /* one of them that no two records share, or NULL */
};

extern const struct kind_desc store_kinds[STORE_KIND_COUNT];

/* Whether col is id or an indexed column of kind. */
bool store_kind_indexes(enum store_kind kind, const char *col);

/* One write of a batch. */
struct store_write {
    enum store_kind kind;
    const char *id;
    const json_t *doc;  /* the new record; NULL deletes the record */
    const json_t *prev; /* the record as the backend has it, when known (only what
                         * changed need be written) */
};

/* Writes in the order they were made: new records take their places in
 * lists in this order. */
struct store_batch {
    const struct store_write *w;
    size_t n;
};

struct store_ops {
    const char *name;
    /* The prefix of the locations it opens ("etcd://"); NULL for the
     * default backend, whose locations are file paths. */
    const char *scheme;
    /* The schema version this build writes. */
    int schema_version;

    /* Opens (a writer: creates and migrates) the store at where. */
    int (*open)(const char *where, bool readonly, void **be, char *err, size_t errlen);
    /* A reader handle on the same store as writer, for another thread;
     * callable from any thread while the writer is in use. */
    int (*open_reader)(void *writer, void **be, char *err, size_t errlen);
    void (*close)(void *be);
    /* The schema version of the store as found. */
    int (*disk_version)(void *be);

    /* A writer takes the write lock; a reader takes a snapshot. */
    int (*begin)(void *be);
    /* Stages b in the open transaction: this handle's reads see it, no
     * other does until the commit. A delete of a missing record: -ENOENT
     * (store.c hands deletes one at a time). */
    int (*write)(void *be, const struct store_batch *b);
    /* Stages b, then commits the transaction as one. On failure the
     * transaction stays open for rollback(). */
    int (*commit)(void *be, const struct store_batch *b);
    /* Ends the transaction, dropping what it staged; no-op without one. */
    void (*rollback)(void *be);

    int (*get)(void *be, enum store_kind kind, const char *id, json_t **out);
    int (*list)(void *be, enum store_kind kind, const struct store_list_opts *o, json_t **out);
    /* The same records as list(), as a JSON array of their public members,
     * appended to out. */
    int (*list_public)(void *be, enum store_kind kind, const struct store_list_opts *o,
                       struct sbuf *out);
    /* The number of matching records; when cols (NULL-terminated indexed
     * columns with numbers) is given, also their totals over them in sums
     * (a missing member counts 0). */
    long (*count)(void *be, enum store_kind kind, const struct store_where *w, unsigned n,
                  const char *const *cols, double *sums);

    int (*meta_get)(void *be, const char *key, char **out);
    int (*meta_set)(void *be, const char *key, const char *value);

    int (*log_append)(void *be, json_t *rec);
    int (*log_query)(void *be, const struct log_query *q, json_t **out);
    long (*log_prune)(void *be, long keep);
    int64_t (*log_last_seq)(void *be);

    /* Whether the writer's commits have made maintenance due (SQLite:
     * checkpoints of its write-ahead log). Optional; on the writer's thread. */
    bool (*maintenance_due)(void *be);
    /* Runs it: on another thread than the writer's, while the writer is in
     * use, never two at once. Optional. */
    int (*maintain)(void *be);
    /* Writes a consistent copy of the whole store, as its commits left it,
     * to the new file path (a manager's move to another host, fed/relocate.c),
     * on the writer's thread outside a transaction. Optional: -ENOTSUP. */
    int (*snapshot)(void *be, const char *path);

    /* Makes every later commit of the writer conditional on key having
     * create revision rev (store_fence), writes marker, and returns once
     * the writer's reads reflect every commit made before. Optional: only
     * a backend that several managers share has it. */
    int (*fence)(void *be, const char *key, int64_t rev, const char *marker, unsigned timeout_ms);
    /* Any thread: makes a commit that waits for the backend, and every
     * later one, fail with -EPERM. With fence. */
    void (*unfence)(void *be);

    /* The last error of this handle, for logs; never NULL. */
    const char *(*errmsg)(void *be);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_etcd_ops;

/* ---- the writer's cache (store_cache.c) ---- */

struct dc_entry;

struct dcache {
    struct hmap map; /* "KIND/ID" -> struct dc_entry */
    struct dc_entry *head, *tail;
    unsigned n;
    uint64_t writes; /* numbers the writes, to hand them over in order */
    /* writes when no record was dirty, and none touched, last: a
     * transaction that wrote nothing (most) scans nothing */
    uint64_t clean_at, untouched_at;
};

void dc_init(struct dcache *c);
void dc_done(struct dcache *c);
/* Whether records of kind are kept (the ones written again and again). */
bool dc_cached_kind(enum store_kind kind);
/* A new copy of the kept record, or NULL when it is not kept. */
json_t *dc_get(struct dcache *c, enum store_kind kind, const char *id);
/* Keeps a copy of doc; dirty when the open transaction wrote it and the
 * backend has yet to get it. False when it cannot be kept (id too long). */
bool dc_keep(struct dcache *c, enum store_kind kind, const char *id, const json_t *doc, bool dirty);
void dc_forget(struct dcache *c, enum store_kind kind, const char *id);
/* The kept version the backend has too (a clean one), or NULL; borrowed. */
const json_t *dc_stored(struct dcache *c, enum store_kind kind, const char *id);
/* Hands the dirty records of kind (-1: all) to fn as one batch, in the
 * order they were written; they are clean once fn returned 0. */
int dc_flush(struct dcache *c, int kind, int (*fn)(void *arg, const struct store_batch *b),
             void *arg);
/* The transaction ended: what it wrote is now the backend's, or is dropped. */
void dc_end(struct dcache *c, bool committed);

/* The tags of an event log record as ",a,b," so that a tag is found whole
 * by looking for ",a,"; NULL without tags. The caller frees it. */
char *store_log_tags(const json_t *tags);

#endif
