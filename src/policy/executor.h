/* The rules engine's actions: decisions and their actions, run on the loop
 * (see executor.c). The requests it applies are declared in policy/svc_policy.h. */
#ifndef VNFM_EXECUTOR_H
#define VNFM_EXECUTOR_H

#include "core/core.h"

/* Registers the rules engine's observer of the lifecycle (operations it
 * started report their end to their decision) and the "webhook" channel
 * of the outbox (notify actions). */
void exec_init(struct core *c);
/* A rule fired: firing is what the monitor (or, on a cloud VNFM, the
 * evaluation of a branch's report, fed/cloud_rules.c) saw: "deployment",
 * "rule" (a member of the deployment's `rules`), "metric", "stat", "op",
 * "threshold", "value", "samples", "target", "vdu", "per_vi", "targets",
 * and for a report "manager", "site", "report_seq", "values" and
 * "_arrived_us" (mono_us() at its arrival). In the open transaction:
 * writes the decision record with these inputs and its reason, and starts
 * its actions after the commit; returns it (a new reference). Refused,
 * NULL with res set (409 saying why), when this manager's rules do not own
 * the deployment, it is busy or failed, another decision of it runs, or
 * every action would do nothing. */
json_t *exec_decide(struct core *c, const json_t *firing, struct result *res);
/* Carries on every decision the store shows running (start-up). */
void exec_resume_all(struct core *c);

#endif
