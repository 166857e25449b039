/* Shared by the files of the router (router.c, sse.c). */
#ifndef VNFM_ROUTER_INTERNAL_H
#define VNFM_ROUTER_INTERNAL_H

#include "rest/router.h"

/* The calling HTTP thread's read-only store handle (opened on first use),
 * or NULL when the store cannot be opened. */
struct store *router_thread_store(struct router *rt);

/* Answers with a server-sent event stream of the event log (sse.c); -1
 * with r->res set when its filters are refused. */
int sse_start(struct router *rt, struct httpd_conn *conn, struct rctx *r);

#endif
