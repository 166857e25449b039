/* The requests the transactor applies (one store transaction each). The
 * front ends have parsed and validated the body; these check everything
 * that needs the store (existence, ownership, capacity, busy deployments)
 * and make the change. Path parameters are t->args[0..2]. */
#ifndef VNFM_SVC_H
#define VNFM_SVC_H

#include "core/txq.h"

void svc_tenant_create(struct core *c, struct txn *t);
void svc_tenant_update(struct core *c, struct txn *t);
void svc_tenant_delete(struct core *c, struct txn *t);
void svc_token_create(struct core *c, struct txn *t);
void svc_token_delete(struct core *c, struct txn *t);
void svc_vnfd_create(struct core *c, struct txn *t);
void svc_vnfd_delete(struct core *c, struct txn *t);
void svc_site_update(struct core *c, struct txn *t);

void svc_deploy(struct core *c, struct txn *t);
void svc_undeploy(struct core *c, struct txn *t);
void svc_heal(struct core *c, struct txn *t);
void svc_scale(struct core *c, struct txn *t);
void svc_resize(struct core *c, struct txn *t);

/* The rules engine (policy/executor.c): a rule fired (body from the
 * monitor), a rule's alarm was raised or cleared, and the rules and
 * monitoring of a running deployment changed (F16). */
void svc_policy_fire(struct core *c, struct txn *t);
void svc_policy_alarm(struct core *c, struct txn *t);
void svc_rules_update(struct core *c, struct txn *t);
void svc_metrics_push(struct core *c, struct txn *t);

void svc_debug_fault(struct core *c, struct txn *t);

/* Creates the "default" tenant at first start. */
int svc_bootstrap(struct core *c);

#endif
