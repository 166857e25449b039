/* Start-up after a crash or a stop (F2): every VI the store knows is looked
 * for on its VIM and re-adopted when it still runs (VNFs outlive their
 * manager); VIs that died meanwhile are marked so; VIs the VIM has but the
 * store does not (a crash between creating and journalling) are destroyed.
 * Unfinished operations are then resumed by the lifecycle engine. */
#ifndef VNFM_RECOVERY_H
#define VNFM_RECOVERY_H

#include "core/core.h"
#include "lcm/sites.h"

/* Runs before the loop starts; VIM calls block here. A VI whose VIM cannot
 * tell whether it runs (a VIM agent not connected yet, docs/VIM_AGENT.md)
 * is neither adopted nor taken for dead, and a VIM that cannot list its VIs
 * is not swept: the site is marked `recover_later`. */
int recovery_run(struct core *c);

/* The site's VIM answers again (its check says ok): on the provisioning
 * pool, the VIs of the site recorded running and not watched are looked
 * for (adopted when they run, marked ended when they do not), and those
 * the VIM has but the store does not know are destroyed. On the loop. */
void recovery_resume_site(struct core *c, struct site_rt *site);

#endif
