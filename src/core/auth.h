/* Bearer tokens: the admin token, and tenant tokens whose SHA-256 is kept in
 * the store (the secret itself never is). A tenant token may expire
 * (`expires`, RFC 3339); it is refused from then on.
 *
 * What a token was granted once can be taken back while it is in use: an
 * event stream holds a principal for as long as it runs. The loop bumps a
 * generation when a token is deleted or a tenant changes (after the commit)
 * and when a token expires (a timer at the earliest expiry), and wakes the
 * streams; a stream whose generation is behind checks its principal again
 * (auth_recheck) and ends when the check fails. */
#ifndef VNFM_AUTH_H
#define VNFM_AUTH_H

#include "core/core.h"

#define TOKEN_HASH_LEN 64

/* Hex SHA-256 of token into out (TOKEN_HASH_LEN + 1 bytes). */
void token_hash(const char *token, char *out);
/* A new random token "vnfm_" + 40 hex digits into out (46 bytes). */
void token_generate(char *out);
/* Resolves a bearer token with a read handle of the store. Returns 0 and
 * fills p, -EACCES for an unknown token, -EKEYEXPIRED for an expired one,
 * -EPERM for a disabled tenant. */
int auth_resolve(struct store *st, const char *admin_hash, const char *token, struct principal *p);
/* Whether the token behind p (resolved earlier) still holds at now_ms (wall
 * clock): 0, or the error auth_resolve() would give it now. Any thread,
 * with a read handle of its own. */
int auth_recheck(struct store *st, const struct principal *p, int64_t now_ms);

/* The generation of rights (any thread): it changes whenever a principal
 * may have lost them. */
uint64_t auth_generation(struct core *c);
/* Loop: once the open transaction commits, every holder of a principal
 * checks it again (a token deleted, a tenant changed). */
void auth_revoke_after_commit(struct core *c);
/* Loop: a token expires at ms (wall clock); its holders are told then. */
void auth_expiry_add(struct core *c, int64_t ms);
/* Loop: arms the timer for the earliest expiry of the stored tokens;
 * auth_stop() closes it. */
void auth_start(struct core *c);
void auth_stop(struct core *c);

#endif
