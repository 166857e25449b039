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
/* 0, or 400 in res (field Callback) when who is a tenant and url a
 * destination that vnfmd --tenant-destinations keeps from tenants (a
 * literal address or localhost; a name is checked on the address it
 * resolves to at each delivery). url may be NULL. */
int callback_check(struct core *c, const struct principal *who, const char *url,
                   struct result *res);

#endif
