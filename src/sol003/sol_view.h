/* ETSI NFV SOL003 views of our records (F6, docs/SOL003.md).
 *
 * SOL003 is a front end over the same records as the native API: a VNF
 * instance is a deployment, a VNF LCM operation occurrence is an operation
 * record, a VNFC is a VI, a scaling aspect is a VDU. These functions only
 * translate (no store access), so the REST threads and the loop (for
 * notifications) share them. "Interface version" 1.3.0 is /vnflcm/v1
 * (SOL003 v2.6.1), 2.0.0 is /vnflcm/v2 (SOL003 v3.3.1); the views differ
 * where the two versions do. */
#ifndef VNFM_SOL003_H
#define VNFM_SOL003_H

#include "catalog/vnfd.h"

#include "util/ids.h"

#include <stdbool.h>

#include <jansson.h>

#define SOL_V1_VERSION "1.3.0"
#define SOL_V2_VERSION "2.0.0"

/* Where the views point: the interface version and the API root
 * ("http://host:port") of absolute links. */
struct sol_ctx {
    int ver; /* 1 or 2 */
    const char *api_root;
};

/* The SOL003 operation (LcmOperationType) of one of our operation types, or
 * NULL when it has none (the operation is not shown through SOL003). */
const char *sol_op_name(const char *type);
/* The LcmOperationStateType of an operation record. */
const char *sol_op_state(const json_t *op);

/* What identifies the VNF of a deployment in filters and notifications:
 * vnfInstanceId, vnfInstanceName, vnfdId, vnfProvider, vnfProductName,
 * vnfSoftwareVersion, vnfdVersion (a new object). */
json_t *sol_vnf_identity(const json_t *dep);

/* VnfInstance (SOL003 5.5.2.2) of a deployment and its VI records. */
json_t *sol_instance(const struct sol_ctx *x, const json_t *dep, const json_t *vis);
/* VnfLcmOpOcc (SOL003 5.5.2.13) of an operation record. */
json_t *sol_op_occ(const struct sol_ctx *x, const json_t *op);
/* LccnSubscription (SOL003 5.5.2.16) of a subscription record. */
json_t *sol_subscription(const struct sol_ctx *x, const json_t *sub);

/* VnfLcmOperationOccurrenceNotification (SOL003 5.5.2.17) of op for a
 * subscription record sub (a v2 one of verbosity SHORT leaves out what
 * changed); start: notificationStatus START (the occurrence's first), else
 * RESULT. */
json_t *sol_op_notification(const struct sol_ctx *x, const json_t *op, const json_t *sub,
                            bool start);
/* VnfIdentifierCreationNotification or ...DeletionNotification (5.5.2.18-19). */
json_t *sol_id_notification(const struct sol_ctx *x, const char *type, const char *vnf_id,
                            const char *sub_id);

/* Whether a LifecycleChangeNotificationsFilter (5.5.3.12; NULL matches all)
 * lets a notification through: of notif_type, about the VNF identity id,
 * for an operation (op_name, op_state; NULL for identifier notifications). */
bool sol_filter_match(const json_t *filter, const char *notif_type, const json_t *id,
                      const char *op_name, const char *op_state);

/* Scaling aspects (one per VDU): level 0 is scaling.min instances, each step
 * adds scaling.step up to scaling.max (the last step may add fewer). */
unsigned sol_scale_level(unsigned instances, const struct vnfd_scaling *s);
unsigned sol_max_scale_level(const struct vnfd_scaling *s);
unsigned sol_level_instances(unsigned level, const struct vnfd_scaling *s);

#endif
