/* Callback notifications: the finished operation is POSTed as JSON to the
 * URL a client gave in the Callback header (seed para 47). */
#ifndef VNFM_NOTIFY_H
#define VNFM_NOTIFY_H

#include "core/core.h"

/* Sends doc to url from the configuration pool; the outcome is logged as
 * an event. doc is copied. */
void notify_post(struct core *c, const char *url, const json_t *doc, const char *op_id);

#endif
