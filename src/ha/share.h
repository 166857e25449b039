/* Several active cloud VNFMs share the branch sites (docs/HA.md "Several
 * active cloud VNFMs"): each site is owned by one live member of the
 * cluster, through a key PREFIX/ha/owners/SITE on that member's lease;
 * which member should own it is decided by rendezvous hashing over the
 * live members. A member acquires a site only by creating its key where
 * there is none, and gives one away by deleting its own key, only after
 * the requests it has under way for the site ended (release, then
 * acquire). The view goes to core/owners.h for the routes.
 *
 * The HA layer's threads call it: the watch (the keys as they change),
 * the control thread (each round: what to acquire and release).
 */
#ifndef VNFM_SHARE_H
#define VNFM_SHARE_H

#include "core/owners.h"
#include "store/store.h"
#include "util/etcd.h"

#include <stdint.h>

struct share;

/* prefix: the HA keys' ("PREFIX/ha/"); self and url: this member's id and
 * REST URL. st: the loop's store, of which it opens a reader. horizon_ms:
 * how long after its last confirmed lease renewal a member believes it
 * serves its sites (share_renewed); a site whose key went without its
 * owner giving it away (a lease revoked or run out) is acquired only that
 * long after, so that no two members ever both believe they serve a site.
 * NULL with err when the reader cannot be opened. */
struct share *share_new(struct owners *o, struct store *st, const char *prefix, const char *self,
                        const char *url, unsigned horizon_ms, char *err, size_t errlen);
/* Accepts NULL. */
void share_free(struct share *s);

/* The watch: whether key (under PREFIX/ha/) is an ownership key; then its
 * put (v) or delete (v NULL) at revision mod. */
bool share_is_key(const struct share *s, const char *key);
void share_view(struct share *s, const char *key, const json_t *v, int64_t create_rev, int64_t mod);
/* The watch reads PREFIX/ha/ again: the keys known so far are forgotten. */
void share_view_reset(struct share *s);

/* The control thread: acquires the sites this member should own and has
 * not, releases those it should not (members: the live members' ids). */
void share_tend(struct share *s, struct etcd *e, int64_t lease, char (*members)[16], size_t n);
/* This member leaves the cluster (its lease is revoked next): its keys
 * are marked as given away, so that the others take its sites at once. */
void share_leave(struct share *s, struct etcd *e, int64_t lease);
/* Another member is known not to run (member: its id, lease: its lease,
 * which is revoked next): its keys are marked as given away on its behalf,
 * so that the others take its sites at once rather than horizon_ms after
 * they went. Returns how many were marked. */
unsigned share_give_away(struct share *s, struct etcd *e, const char *member, int64_t lease);
/* etcd confirmed a renewal of this member's lease sent at sent_ms
 * (mono_ms): its sites are served until horizon_ms after that. */
void share_renewed(struct share *s, uint64_t sent_ms);
/* The lease is lost (or could not be renewed for too long): this member
 * holds nothing any more. */
void share_lost(struct share *s, const char *why);

#endif
