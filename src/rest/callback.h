/* Callback notifications: the finished operation (or the result of a
 * request applied at once) is POSTed to the URL a client gave in the
 * Callback header (seed para 47), as JSON or, for XML clients, as XML. */
#ifndef VNFM_NOTIFY_H
#define VNFM_NOTIFY_H

#include "core/core.h"

/* Sends doc to url from the configuration pool; the outcome is logged as
 * an event. doc is copied. */
void notify_post(struct core *c, const char *url, const json_t *doc, const char *op_id);
/* notify_post for a client that spoke XML when xml: the operation as an
 * <operation> document with the ESC-* status headers (seed Table 4). */
void notify_post_as(struct core *c, const char *url, const json_t *doc, const char *op_id,
                    bool xml);

struct txn;
/* Sends the result of a request applied at once (no lifecycle operation,
 * e.g. the tenant of Table 3) to its Callback, in the request's format,
 * with the ESC-Transaction-Id of its Client-Transaction-Id. */
void notify_txn(struct core *c, const struct txn *t);

#endif
