/* SOL003 lifecycle change notifications (F6; SOL003 5.3.5, 5.3.6, 5.3.8;
 * SOL013 5.5, 6.3): VnfLcmOperationOccurrenceNotifications for every state
 * an occurrence enters (START for its first: STARTING, or PROCESSING for
 * native operations; RESULT for every later one), and
 * VnfIdentifierCreation/DeletionNotifications.
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
#include "core/outbox.h"

#define LCCN_MAX_ATTEMPTS 10

/* Registers SOL003's observer of the lifecycle (lcm/observe.h): the
 * notifications of every state an operation enters and of VNF instances
 * created and deleted, and the end of SOL003 tasks on their deployment
 * (sol_op_finish); and the "sol003" channel with c's outbox. */
void lccn_init(struct core *c);

/* The API root of links in notifications: http://LISTEN-HOST:PORT (the
 * host name when listening on every address). Writes into buf. */
const char *lccn_api_root(const struct core *c, char *buf, size_t size);

/* Shared by the SOL003 and SOL005 outbox channels (SOL013 5.5): the POST
 * of a notification to subscription sub, with interface version and the
 * subscription's credentials (-ENOENT when sub is NULL: it was deleted
 * meanwhile, nobody to tell); and each failed attempt and the giving up as
 * an api/notification event naming iface ("SOL003", "SOL005"). */
int lccn_prepare_post(const json_t *sub, const char *version, struct outbox_req *rq);
void lccn_report_failure(struct core *c, const char *iface, const json_t *rec,
                         const struct outbox_outcome *o);

#endif
