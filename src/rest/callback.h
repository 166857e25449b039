/* Callback notifications (seed para 47): the finished operation, or the
 * result of a request applied at once, is POSTed to the URL a client gave
 * in the Callback header, as JSON or, for XML clients, as XML with the
 * ESC-* status headers (seed Table 4).
 *
 * They are messages of the outbox (core/outbox.h, channel "callback",
 * keyed by the URL), written in the transaction of the change they report
 * and retried up to 10 times; each outcome is an api/callback event. */
#ifndef VNFM_CALLBACK_H
#define VNFM_CALLBACK_H

#include "core/core.h"

/* Registers the channel with c's outbox, with c's transactor the Callbacks
 * of requests applied at once, and with the lifecycle (lcm/observe.h)
 * those of operations that end. */
void callback_init(struct core *c);

#endif
