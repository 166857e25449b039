/* Lifecycle requests on the transactor (one store transaction each). The
 * front ends have parsed and validated the body; these check everything
 * that needs the store (existence, ownership, capacity, busy deployments)
 * and make the change. Path parameters are t->args[0..2]. */
#ifndef VNFM_SVC_LCM_H
#define VNFM_SVC_LCM_H

#include "core/txq.h"

/* POST /v0/sites, PUT /v0/sites/{id} (svc_site.c). */
void svc_site_create(struct core *c, struct txn *t);
void svc_site_update(struct core *c, struct txn *t);

void svc_deploy(struct core *c, struct txn *t);
void svc_undeploy(struct core *c, struct txn *t);
void svc_heal(struct core *c, struct txn *t);
void svc_scale(struct core *c, struct txn *t);
void svc_resize(struct core *c, struct txn *t);
/* The native operations a cloud VNFM sends a branch for SOL003 operate,
 * scale to level, change flavour and modify (svc_native.c): bodies
 * {change_state_to, grace_s?, vis?}, {type, instances}, {sol003}. */
void svc_operate(struct core *c, struct txn *t);
void svc_rescale(struct core *c, struct txn *t);
void svc_modify_info(struct core *c, struct txn *t);
/* POST /v0/deployments/{id}/move: the cloud VNFM's (lcm/remote.h move);
 * 409 not-a-cloud elsewhere. */
void svc_move(struct core *c, struct txn *t);

/* Operator decisions on an operation (lifecycle.h): POST
 * /v0/operations/{id}/retry, rollback, fail, cancel (svc_ops.c). */
void svc_op_retry(struct core *c, struct txn *t);
void svc_op_rollback(struct core *c, struct txn *t);
void svc_op_fail(struct core *c, struct txn *t);
void svc_op_cancel(struct core *c, struct txn *t);

/* Helpers of svc_deploy.c for the SOL003 requests (svc_sol003.c). */
/* The deployment of t->args[0], owned by the caller and not busy (else
 * NULL with t->res set); a failed one only with allow_failed. One another
 * manager runs (it has a "manager") is returned too: the caller sends it
 * there (lcm/remote.h). */
json_t *svc_idle_deployment(struct core *c, struct txn *t, bool allow_failed);
/* The VI records of a deployment (a new array). */
json_t *svc_vi_list(struct core *c, const char *dep_id);
/* The VIs of vdu, highest index first, and the next free index. */
json_t *svc_vdu_vis(struct core *c, const char *dep_id, const char *vdu, unsigned *next_index);
/* Admits and records n new VIs of vdu from next_index; their ids, or NULL
 * with t->res set. */
json_t *svc_add_vis(struct core *c, struct txn *t, json_t *dep, const json_t *vdu, long long n,
                    unsigned next_index);

#endif
