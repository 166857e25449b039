/* An asynchronous TCP exchange on the scheduler's loop, shared by the TCP,
 * HTTP and Prometheus probes: connect to the target's address, optionally
 * send a request and read the answer until the peer closes (or max bytes). */
#ifndef VNFM_PROBE_NET_H
#define VNFM_PROBE_NET_H

#include "monitor/probes/probe.h"

#include <stddef.h>

#define HTTP_MAX_ANSWER (256 * 1024) /* bytes of an HTTP answer a probe reads */

struct xfer;

/* Called once: body is the answer (NUL terminated) or NULL when the
 * exchange failed (call->res then says why). It must end the call with
 * probe_call_done(). */
typedef void (*xfer_finish_fn)(struct probe_call *call, const char *body, size_t len);

/* request NULL: only connect. Returns 0, or -1 with call->res filled. */
int xfer_start(struct probe_call *call, unsigned port, const char *request, size_t max,
               xfer_finish_fn finish);
/* probe_ops.cancel of the probes built on xfer. */
void xfer_cancel(struct probe_call *call);

/* Starts an HTTP GET of the call's `path` member (def_path when absent) on
 * its `port` member (80), as xfer_start(). */
int http_get_start(struct probe_call *call, const char *def_path, xfer_finish_fn finish);
/* The status of an answer and its body after the headers; false for an
 * answer that is not HTTP. */
bool http_parse(const char *resp, int *status, const char **body);
/* Checks the `path` member of a metric (field = the metric's path). */
int http_check_path(const json_t *spec, const char *field, struct jv_error *err);

#endif
