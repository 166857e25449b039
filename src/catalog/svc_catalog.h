/* Catalogue requests on the transactor (one store transaction each; path
 * parameters are t->args[0..2]): tenants, tokens and VNF descriptors. */
#ifndef VNFM_SVC_CATALOG_H
#define VNFM_SVC_CATALOG_H

#include "core/txq.h"

void svc_tenant_create(struct core *c, struct txn *t);
void svc_tenant_update(struct core *c, struct txn *t);
void svc_tenant_delete(struct core *c, struct txn *t);
void svc_token_create(struct core *c, struct txn *t);
void svc_token_delete(struct core *c, struct txn *t);
void svc_vnfd_create(struct core *c, struct txn *t);
void svc_vnfd_delete(struct core *c, struct txn *t);

/* Creates the "default" tenant at first start. */
int svc_bootstrap(struct core *c);

#endif
