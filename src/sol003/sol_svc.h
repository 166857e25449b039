/* The SOL003 VNF lifecycle management requests on the transactor (F6,
 * docs/SOL003.md), applied like the native ones (svc.h). t->args[0] is the
 * VNF instance, operation occurrence or subscription id; t->query carries
 * "sol_version" (1 or 2) and "api_root" for the views and Location. */
#ifndef VNFM_SVC_SOL003_H
#define VNFM_SVC_SOL003_H

#include "core/states.h"
#include "core/txq.h"

/* VNF instances (SOL003 5.4.2, 5.4.3). */
void svc_sol_create(struct core *c, struct txn *t);
void svc_sol_modify(struct core *c, struct txn *t);
void svc_sol_delete(struct core *c, struct txn *t);
/* Tasks (5.4.4-5.4.10): 202 with the operation occurrence's Location. */
void svc_sol_instantiate(struct core *c, struct txn *t);
void svc_sol_scale(struct core *c, struct txn *t);
void svc_sol_scale_to_level(struct core *c, struct txn *t);
void svc_sol_change_flavour(struct core *c, struct txn *t);
void svc_sol_terminate(struct core *c, struct txn *t);
void svc_sol_heal(struct core *c, struct txn *t);
void svc_sol_operate(struct core *c, struct txn *t);
/* Operation occurrences (5.4.14-5.4.17). */
void svc_sol_retry(struct core *c, struct txn *t);
void svc_sol_rollback(struct core *c, struct txn *t);
void svc_sol_fail(struct core *c, struct txn *t);
void svc_sol_cancel(struct core *c, struct txn *t);
/* Subscriptions (5.4.18, 5.4.19); the callbackUri was tested beforehand. */
void svc_sol_subscribe(struct core *c, struct txn *t);
void svc_sol_unsubscribe(struct core *c, struct txn *t);

/* The end of a SOL003 task on its deployment (docs/SOL003.md): terminate
 * and a rolled back instantiate leave it NOT_INSTANTIATED, operate stopped
 * or running, change_flavour and modify_info apply their change only once
 * completed. Inside the open transaction; false for other operation types
 * (the engine's own end applies). The op_finish of SOL003's observer. */
bool sol_op_finish(struct core *c, json_t *dep, const json_t *op, enum op_state state,
                   const char *err);

#endif
