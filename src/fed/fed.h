/* The estate (docs/FEDERATION.md; seed para 67, 71-76, 102-103; SPEC F18,
 * F19): a cloud VNFM and the branch VNFMs that join it.
 *
 * On the cloud (--role cloud) this keeps the branch managers (their
 * records in the store, their reports in memory), serves the federation
 * mount /fed/v1 (join, reports, the channel) and the estate's native
 * routes (/v0/join-tokens, /v0/managers), and marks a manager unreachable
 * when its reports stop. On a branch (--role local --cloud-url URL) it
 * joins the cloud once with a single-use token, keeps the credential in
 * DATA_DIR/fed.json, and reports at an interval and at once on lifecycle
 * events. Everything here runs on the loop, except the read handlers (HTTP
 * threads) and the HTTP calls to the cloud (the configuration pool). */
#ifndef VNFM_FED_H
#define VNFM_FED_H

#include "rest/router.h"

/* The federation mount (/fed/v1) and the estate's routes under /v0. */
extern const struct mount fed_mount;
extern const struct mount fed_api_mount;

/* Makes c->fed and registers the lifecycle observer; before recovery.
 * Returns 0, or -1 after logging (a branch with --cloud-url that has no
 * credential and no --join-token). */
int fed_init(struct core *c);
/* Starts: a cloud loads its managers and watches their reports; a branch
 * joins the cloud first when it has no credential yet (blocking, before
 * the loop runs: a refused token is -1 after logging why), then reports.
 * Returns 0 or -1. */
int fed_start(struct core *c);
/* A cloud VNFM of a cluster on etcd that takes over as the primary: the
 * managers that joined meanwhile (docs/HA.md). 0 elsewhere. */
int fed_takeover(struct core *c);
/* Stops timers and reports (before the pools stop). */
void fed_stop(struct core *c);
/* Frees c->fed (after the pools stopped and the router was freed). */
void fed_free(struct core *c);

#endif
