/* The rules engine's actions: decisions and their actions, run on the loop
 * (see executor.c). The requests it applies are declared in policy/svc_policy.h. */
#ifndef VNFM_EXECUTOR_H
#define VNFM_EXECUTOR_H

#include "core/core.h"

/* Registers the rules engine's observer of the lifecycle (operations it
 * started report their end to their decision) and the "webhook" channel
 * of the outbox (notify actions). */
void exec_init(struct core *c);
/* Carries on every decision the store shows running (start-up). */
void exec_resume_all(struct core *c);

#endif
