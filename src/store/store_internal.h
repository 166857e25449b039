/* Shared between the files of the SQLite store. */
#ifndef VNFM_STORE_INTERNAL_H
#define VNFM_STORE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>

/* A cached prepared statement for sql, reset and unbound; NULL on error. */
sqlite3_stmt *store_prepare(struct store *st, const char *sql);
/* Maps an SQLite result code to 0 or a negative errno. */
int store_sql_err(int rc);
/* Steps a statement that returns no rows, then resets it. */
int store_step_done(sqlite3_stmt *s);
sqlite3 *store_db(struct store *st);

#endif
