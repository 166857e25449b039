/* SOL003 lifecycle change notifications (F6; SOL003 5.3.5, 5.3.6, 5.3.8;
 * SOL013 5.5, 6.3).
 *
 * A notification is written into the outbox (core/outbox.h, channel
 * "sol003", keyed by the subscription) inside the transaction of the change
 * it reports, one per matching subscription, so that it is neither lost to
 * a crash nor sent for a change that was rolled back. The outbox delivers
 * them one at a time per subscription and oldest first (so a subscriber
 * sees START before RESULT), retrying a failed delivery after the
 * subscription's backoff up to LCCN_MAX_ATTEMPTS times; each failure and
 * the giving up are logged as api/notification events. */
#ifndef VNFM_LCCN_H
#define VNFM_LCCN_H

#include "core/core.h"

#define LCCN_MAX_ATTEMPTS 10

/* Queues VnfLcmOperationOccurrenceNotifications for the state op (a full
 * operation record) has just entered, inside an open transaction: started
 * for the occurrence's first (notificationStatus START: STARTING, or
 * PROCESSING for native operations), changed for every later one (RESULT). */
void lccn_op_started(struct core *c, const json_t *op);
void lccn_op_changed(struct core *c, const json_t *op);
/* Queues VnfIdentifierCreationNotification (created) or
 * VnfIdentifierDeletionNotification for deployment dep. Inside an open
 * transaction. */
void lccn_vnf_identifier(struct core *c, const json_t *dep, bool created);

/* Registers the "sol003" channel with c's outbox. */
void lccn_init(struct core *c);

/* The API root of links in notifications: http://LISTEN-HOST:PORT (the
 * host name when listening on every address). Writes into buf. */
const char *lccn_api_root(const struct core *c, char *buf, size_t size);

#endif
