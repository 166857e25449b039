/* The rules engine's actions: decisions and their actions, run on the loop
 * (see executor.c). The requests it applies are declared in policy/svc_policy.h. */
#ifndef VNFM_EXECUTOR_H
#define VNFM_EXECUTOR_H

#include "core/core.h"

/* Installs the hook through which operations report their end. */
void exec_init(struct core *c);
/* Carries on every decision the store shows running (start-up). */
void exec_resume_all(struct core *c);

#endif
