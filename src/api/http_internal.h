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
/* How an answer is written. Native /v0 answers are JSON, or XML when the
 * client asked for it (Accept, else the request's Content-Type), and carry
 * the ESC-* status headers (seed Table 4). SOL003 answers are JSON, their
 * errors ProblemDetails (application/problem+json, SOL013 6.4), with the
 * Version header of the interface. */
enum http_style { HTTP_NATIVE, HTTP_SOL003 };
struct http_fmt {
    enum http_style style;
    bool xml;         /* native: XML bodies */
    bool esc;         /* native: ESC-Transaction-Id, ESC-Status-Code, ESC-Status-Message */
    char root[64];    /* native XML: root element of a single object */
    char version[16]; /* SOL003: the Version header, or empty */
};
/* http_respond in the format f. */
enum MHD_Result http_respond_fmt(struct MHD_Connection *conn, const struct result *r,
                                 const char *client_txn_id, const struct http_fmt *f);

/* Starts a server-sent event stream (sse.c). */
enum MHD_Result sse_start(struct http_server *s, struct MHD_Connection *conn, struct rctx *r);

#endif
