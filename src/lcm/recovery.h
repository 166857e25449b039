/* Start-up after a crash or a stop (F2): every VI the store knows is looked
 * for on its VIM and re-adopted when it still runs (VNFs outlive their
 * manager); VIs that died meanwhile are marked so; VIs the VIM has but the
 * store does not (a crash between creating and journalling) are destroyed.
 * Unfinished operations are then resumed by the lifecycle engine. */
#ifndef VNFM_RECOVERY_H
#define VNFM_RECOVERY_H

#include "core/core.h"

/* Runs before the loop starts; VIM calls block here. */
int recovery_run(struct core *c);

#endif
