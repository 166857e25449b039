/* Names of deployments and VNFDs are per tenant (docs/SECURITY.md "Names
 * are per tenant"): a tenant's record is stored under "TENANT:NAME"
 * (util/ids.h id_scoped), and what a caller names is resolved to that key
 * here, on any thread, with the caller's store handle. */
#ifndef VNFM_NAMES_H
#define VNFM_NAMES_H

#include "core/result.h"
#include "store/store.h"

#include <stdbool.h>

/* The store key of what a caller names `name` (kind STORE_DEPLOYMENT or
 * STORE_VNFD). tenant: the caller's tenant, NULL for an admin.
 * - A tenant: its own "TENANT:NAME" when it exists, else name as it is (a
 *   global VNFD, a SOL003 instance's UUID, a record from before names were
 *   scoped; the caller checks its tenant as for any record), else
 *   "TENANT:NAME" (what the operations and logs of an undeployed
 *   deployment name).
 * - TENANT:NAME: as that tenant means NAME.
 * - An admin's bare NAME: the record keyed NAME (a global VNFD, a SOL003
 *   instance, an old record), else the one tenant's record called NAME;
 *   when several tenants have one, NULL and r is 409 naming them
 *   ("acme:db", "beta:db"); when none, "default:NAME" (the admin's own
 *   default tenant).
 * Returns a malloc'd key (NULL only with r set). */
char *names_key(struct store *st, const char *tenant, enum store_kind k, const char *name,
                struct result *r);
/* Whether tenant already has a record of kind k called name (its scoped
 * one, or one from before names were scoped). Another tenant's never
 * counts: names are no oracle. */
bool names_taken(struct store *st, const char *tenant, enum store_kind k, const char *name);

#endif
