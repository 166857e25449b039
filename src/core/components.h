/* The manager's components (seed para 53, FIG. 2C, F27): its worker pools
 * (provisioning, configuration, monitoring), each sized by its own load
 * (wpool_autosize). Once a second the loop sizes the pools it owns and
 * looks at the others; every change of a pool's size is an event of the
 * event log (category "vnfm", event "component-resized") and is counted.
 * GET /v0/vnfm/components shows them (components_view, any thread). */
#ifndef VNFM_COMPONENTS_H
#define VNFM_COMPONENTS_H

#include <jansson.h>

struct core;
struct wpool;
struct wpool_sizer;
struct components;

/* Starts the round on c's loop. */
struct components *components_new(struct core *c);
/* Adds pool p, sized by the loop with sizer (copied), or only watched when
 * sizer is NULL (a pool another thread sizes). */
void components_add(struct components *cs, struct wpool *p, const struct wpool_sizer *sizer);
json_t *components_view(struct components *cs);
/* Stops the round (on the loop); the memory goes with the loop's close
 * callbacks. Accepts NULL. */
void components_free(struct components *cs);

#endif
