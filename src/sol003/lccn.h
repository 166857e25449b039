/* SOL003 lifecycle change notifications (F6; SOL003 5.3.5, 5.3.6, 5.3.8;
 * SOL013 5.5, 6.3).
 *
 * A notification is written into an outbox (the store's notifications)
 * inside the transaction of the change it reports, one per matching
 * subscription, so that it is neither lost to a crash nor sent for a change
 * that was rolled back. A sender on the loop hands them to the
 * configuration pool, one at a time per subscription and oldest first (so
 * a subscriber sees START before RESULT), and retries a failed delivery
 * with exponential backoff (0.5 s doubling, at most 60 s) up to
 * LCCN_MAX_ATTEMPTS times before it gives up and logs so. */
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

/* Starts delivering the outbox (after recovery), and stops (the pools
 * stop first; what is undelivered stays in the outbox for the next start). */
void lccn_start(struct core *c);
void lccn_stop(struct core *c);

/* The API root of links in notifications: http://LISTEN-HOST:PORT (the
 * host name when listening on every address). Writes into buf. */
const char *lccn_api_root(const struct core *c, char *buf, size_t size);

#endif
