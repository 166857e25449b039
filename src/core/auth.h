/* Bearer tokens: the admin token, and tenant tokens whose SHA-256 is kept in
 * the store (the secret itself never is). */
#ifndef VNFM_AUTH_H
#define VNFM_AUTH_H

#include "core/core.h"

#define TOKEN_HASH_LEN 64

/* Hex SHA-256 of token into out (TOKEN_HASH_LEN + 1 bytes). */
void token_hash(const char *token, char *out);
/* A new random token "vnfm_" + 40 hex digits into out (46 bytes). */
void token_generate(char *out);
/* Resolves a bearer token with a read handle of the store. Returns 0 and
 * fills p, -EACCES for an unknown token, -EPERM for a disabled tenant. */
int auth_resolve(struct store *st, const char *admin_hash, const char *token, struct principal *p);

#endif
