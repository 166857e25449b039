/* Shared by the files of the REST server. */
#ifndef VNFM_HTTP_INTERNAL_H
#define VNFM_HTTP_INTERNAL_H

#include "rest/api.h"

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

/* ---- for other front ends on the same server (sol003.c) ---- */

struct req; /* one connection's request */
struct sbuf;
/* The body received so far; *too_large when it passed the limit. */
const struct sbuf *http_req_body(const struct req *rq, bool *too_large);
/* The answer format of the connection's request (kept for its resumption). */
struct http_fmt *http_req_fmt(struct req *rq);
/* Queues t (taken) on the transactor and suspends the connection until it
 * is answered, in the format of http_req_fmt(rq). */
enum MHD_Result http_submit(struct http_server *s, struct MHD_Connection *conn, struct req *rq,
                            struct txn *t);
/* Resolves the caller's bearer token (Authorization: Bearer, or
 * X-Auth-Token) into who; 0, or -1 with res set (401, 403). */
int http_authenticate(struct http_server *s, struct MHD_Connection *conn, struct store *st,
                      struct principal *who, struct result *res);
struct core *http_core(struct http_server *s);
/* The ETSI SOL003 front end: every request under /vnflcm/ (sol003.c). */
enum MHD_Result sol_dispatch(struct http_server *s, struct MHD_Connection *conn, const char *url,
                             const char *method, struct req *rq);

/* Starts a server-sent event stream (sse.c). */
enum MHD_Result sse_start(struct http_server *s, struct MHD_Connection *conn, struct rctx *r);

#endif
