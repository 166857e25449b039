/* Catalogue requests on the transactor (one store transaction each; path
 * parameters are t->args[0..2]): tenants, tokens and VNF descriptors. */
#ifndef VNFM_SVC_CATALOG_H
#define VNFM_SVC_CATALOG_H

#include "core/txq.h"

#include <stdbool.h>

void svc_tenant_create(struct core *c, struct txn *t);
void svc_tenant_update(struct core *c, struct txn *t);
void svc_tenant_delete(struct core *c, struct txn *t);
void svc_token_create(struct core *c, struct txn *t);
void svc_token_delete(struct core *c, struct txn *t);
void svc_vnfd_create(struct core *c, struct txn *t);
void svc_vnfd_delete(struct core *c, struct txn *t);

/* A VNFD record of the catalogue (kind vnfd) for a validated descriptor
 * (referenced), private to tenant owner (NULL: global); admin: an admin
 * on-boarded it (core/runas.h). A new object. */
json_t *vnfd_record(const json_t *descriptor, const char *owner, bool admin);

/* Creates the "default" tenant at first start. */
int svc_bootstrap(struct core *c);

#endif
