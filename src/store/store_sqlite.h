/* Shared between the files of the SQLite backend (store_sqlite.c, its
 * records and transactions; store_sqlite_log.c, its event log). */
#ifndef VNFM_STORE_SQLITE_H
#define VNFM_STORE_SQLITE_H

#include "store/store_backend.h"

#include <pthread.h>

#include <sqlite3.h>

#define SQ_STMT_CACHE 48

struct sq_stmt {
    char *sql;
    sqlite3_stmt *stmt;
};

/* One connection. */
struct sq {
    sqlite3 *db;
    char *path;
    bool readonly;
    unsigned next_evict;
    struct sq_stmt cache[SQ_STMT_CACHE];
    int64_t log_seq; /* the writer's last event log seq, 0 when not known (after a rollback) */
    /* The writer's write-ahead log, as its commits leave it (on its thread). */
    int wal_frames, wal_seen, wal_next;
    sqlite3 *maint; /* the writer's connection for checkpoints (maintain's thread) */
    int wait_ms;    /* what its blocking checkpoints wait for readers (maintain's thread) */
    bool ckpt_soon; /* set by maintain when readers kept the log: read by the writer after it */
    /* Closed by a truncating checkpoint: the writer's next begin waits. */
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    bool gate_closed;
};

/* A cached prepared statement for sql, reset and unbound; NULL on error. */
sqlite3_stmt *sq_prepare(struct sq *q, const char *sql);
/* Maps an SQLite result code to 0 or a negative errno. */
int sq_err(int rc);
/* Steps a statement that returns no rows, then resets it. */
int sq_step_done(sqlite3_stmt *s);

int sq_log_append(void *be, json_t *rec);
int sq_log_query(void *be, const struct log_query *q, json_t **out);
long sq_log_prune(void *be, long keep);
int64_t sq_log_last_seq(void *be);

#endif
