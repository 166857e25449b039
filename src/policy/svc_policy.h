/* The rules engine's requests on the transactor (policy/executor.c,
 * svc_policy.c): a rule fired (body from the monitor), a rule's alarm was
 * raised or cleared, and the rules and monitoring of a running deployment
 * changed (F16). */
#ifndef VNFM_SVC_POLICY_H
#define VNFM_SVC_POLICY_H

#include "core/txq.h"

void svc_policy_fire(struct core *c, struct txn *t);
void svc_policy_alarm(struct core *c, struct txn *t);
void svc_rules_update(struct core *c, struct txn *t);

#endif
