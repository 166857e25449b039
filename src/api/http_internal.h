/* Shared by the files of the REST server. */
#ifndef VNFM_HTTP_INTERNAL_H
#define VNFM_HTTP_INTERNAL_H

#include "api/api.h"

#include <microhttpd.h>

/* The calling HTTP thread's read-only store handle (opened on first use),
 * or NULL when the store cannot be opened. */
struct store *http_thread_store(struct http_server *s);
/* Queues a JSON answer for r (status, body, Location, echoed transaction id). */
enum MHD_Result http_respond(struct MHD_Connection *conn, const struct result *r,
                             const char *client_txn_id);
/* Starts a server-sent event stream (sse.c). */
enum MHD_Result sse_start(struct http_server *s, struct MHD_Connection *conn, struct rctx *r);

#endif
