/* Identifiers: random hex ids with a prefix, and the naming rules that user
 * supplied identifiers (tenants, VNFDs, deployments) must follow. */
#ifndef VNFM_IDS_H
#define VNFM_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_MAX     64 /* longest user supplied name, without the terminator */
#define ID_BUF_MAX (ID_MAX + 1)

/* Fills buf with prefix followed by nhex random hex digits. buf must hold
 * strlen(prefix) + nhex + 1 bytes. */
void id_random(char *buf, const char *prefix, unsigned nhex);
/* A random UUID (RFC 4122 version 4), as SOL003 and SOL005 identify their
 * resources: 36 characters and the terminator. */
#define ID_UUID_LEN 36
void id_uuid(char buf[ID_UUID_LEN + 1]);
/* Fills buf with n random bytes from the kernel. */
void random_bytes(void *buf, size_t n);
/* A name is 1..ID_MAX characters of [A-Za-z0-9._-], starting with a letter
 * or a digit. */
bool id_valid(const char *s);

/* Names of deployments and VNFDs are a tenant's own (docs/SECURITY.md
 * "Names are per tenant"): the store keys a tenant's record "TENANT:NAME",
 * and every interface shows it as NAME. A key without ':' is a global
 * VNFD's, a SOL003 instance's UUID, or a record from before names were
 * scoped. */
#define KEY_BUF_MAX (2 * ID_MAX + 2)
/* "TENANT:NAME" into buf (tenant NULL: NAME, a global VNFD's key); buf. */
const char *id_scoped(char buf[KEY_BUF_MAX], const char *tenant, const char *name);
/* Whether key is a valid store key: a name (id_valid) or TENANT:NAME. */
bool id_key_valid(const char *key);
/* The name a key shows: what follows "TENANT:" (key itself without one;
 * NULL for NULL). */
const char *id_name(const char *key);
/* Removes "TENANT:" before the names of tenant's records in text (a
 * message), in place. */
void id_show_names(char *text, const char *tenant);

#endif
