/* Service endpoints (docs/FEDERATION.md "Moves"): a stable IP:PORT per
 * service that the kernel forwards to the service's current backends with
 * nftables DNAT (libnftables), in the network namespace of the manager
 * that keeps them (a branch manager). Connections already open keep their
 * backend (conntrack keeps their translation), so switching the backends
 * drains the old ones; flows to the backends of an endpoint marked
 * "masquerade" (one in the cloud, across the WAN) leave with this host's
 * address, so that replies come back the same way.
 *
 * Everything of one manager is one table, `ip vnfm_ep_TAG`, replaced as a
 * whole in one nftables transaction: a switch is atomic. The table has no
 * maps or sets (endpoint.c ep_chain says why). It blocks for a
 * netlink round trip (well under a millisecond); call it from any thread. */
#ifndef VNFM_VIM_ENDPOINT_H
#define VNFM_VIM_ENDPOINT_H

#include <jansson.h>
#include <stddef.h>

/* Makes the table of tag hold exactly endpoints: an object
 * {NAME: {"address": IP, "port": P, "backends": ["IP:PORT", ...],
 * "masquerade": BOOL or ["IP:PORT", ...]}} (true: all its backends;
 * a list: those of its backends, in the cloud, and not those at the
 * site); an
 * endpoint without backends refuses connections (TCP reset). No endpoint:
 * the table is removed. 0, or -1 with what nftables said in err. */
int ep_apply(const char *tag, const json_t *endpoints, char *err, size_t errlen);
/* The nftables text ep_apply runs (a new string, the caller frees it). */
char *ep_render(const char *tag, const json_t *endpoints);
/* Removes the table of tag (vnfmd --cleanup); 0 when it is gone. */
int ep_cleanup(const char *tag, char *err, size_t errlen);

#endif
