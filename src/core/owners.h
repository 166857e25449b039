/* Which manager of a cluster serves which branch site (docs/HA.md
 * "Several active cloud VNFMs"): the view that the HA layer's sharing
 * (src/ha/share.c) keeps of the ownership keys, read by the federation's
 * routes to send a branch to its site's owner (307), and the requests an
 * owner has under way for a site, which a move waits for.
 *
 * Every function is thread-safe.
 */
#ifndef VNFM_OWNERS_H
#define VNFM_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum owner_is {
    OWNER_NONE,  /* no owner, or one leaving it: try again soon (503) */
    OWNER_SELF,  /* this manager */
    OWNER_OTHER, /* another manager: id and url say which */
};

struct owners;

struct owners *owners_new(void);
/* Accepts NULL. */
void owners_free(struct owners *o);
/* This manager's member id (the HA layer's, once it joined). */
void owners_set_self(struct owners *o, const char *self);
/* A copy of it into out. */
void owners_self(struct owners *o, char *out, size_t len);

/* The HA layer: the whole view, {SITE: {"id": ID, "url": URL, "leaving":
 * true when its owner is giving it away}} of the
 * keys, the sites this manager holds ({SITE: the create revision of its
 * key}) and those it is giving away (an array of names); taken. Requests held for a site this
 * manager no longer serves are cancelled. */
void owners_set(struct owners *o, json_t *keys, json_t *mine, json_t *leaving);
/* The HA layer: this manager serves its sites only until then (mono_ms;
 * 0, the default: no limit), however late the news that its lease is gone
 * comes (a member whose lease another revoked may be serving nothing). */
void owners_set_until(struct owners *o, uint64_t until_ms);
/* How many members the cluster has now (the HA layer's view). */
void owners_set_members(struct owners *o, unsigned n);
unsigned owners_members(struct owners *o);
/* The branch sites by the hash of their manager's credential,
 * {HASH: SITE}; taken. */
void owners_set_creds(struct owners *o, json_t *creds);

/* Who serves site; id and url (each CLUSTER_URL_MAX) of OWNER_OTHER. */
enum owner_is owners_of(struct owners *o, const char *site, char *id, char *url, size_t len);
/* The site of the manager whose credential hashes to hash: 0, or -ENOENT. */
int owners_site_of(struct owners *o, const char *hash, char *site, size_t len);

/* A request under way for site (a report forwarded, a channel relayed):
 * cancel, when not NULL, is set (atomically) when the site leaves this
 * manager. */
void owners_hold(struct owners *o, const char *site, bool *cancel);
void owners_unhold(struct owners *o, const char *site, bool *cancel);
/* How many requests are under way for site. */
unsigned owners_held(struct owners *o, const char *site);
/* The manager stops: every request under way is cancelled. */
void owners_cancel_all(struct owners *o);

/* {"self": ID, "owns": {SITE: REVISION}, "owners": {SITE: URL}}: the
 * sites this manager serves, with the create revision of their keys (a
 * new reference). */
json_t *owners_report(struct owners *o);

#endif
