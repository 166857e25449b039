/* Lifecycle operations on a deployment, shared by the API's requests
 * (svc_deploy.c) and the rules engine's actions (policy/executor.c). Each
 * runs on the loop inside an open transaction, on a deployment that is not
 * busy; it writes the records and the operation (journal) and returns the
 * new operation in *op (a new reference), or -1 with res set. t may be NULL
 * (no client transaction id or callback). */
#ifndef VNFM_DEPLOY_OPS_H
#define VNFM_DEPLOY_OPS_H

#include "core/core.h"

struct txn;

/* Scales VDU vdu to target instances (within its bounds: checked by the caller). */
int dep_scale_to(struct core *c, json_t *dep, const char *vdu, long long target,
                 const struct txn *t, bool automatic, struct result *res, json_t **op);
/* Gives every VI of vdu vcpu and memory_mb (scale up/down, F30). */
int dep_resize(struct core *c, json_t *dep, const char *vdu, double vcpu, long long memory_mb,
               const struct txn *t, bool automatic, struct result *res, json_t **op);
/* Heals the VIs of ids (stolen) with a recovery policy (NULL: the default)
 * and a retry budget (0: the VNFD's). */
int dep_heal(struct core *c, json_t *dep, json_t *ids, const char *policy, int attempts,
             const struct txn *t, bool automatic, struct result *res, json_t **op);
/* The number of VIs of vdu, and their size (that of the first VI). */
long long dep_vdu_count(struct core *c, const char *dep_id, const char *vdu);
void dep_vdu_size(struct core *c, const json_t *dep, const char *vdu, double *vcpu,
                  long long *memory_mb);

#endif
