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

#endif
