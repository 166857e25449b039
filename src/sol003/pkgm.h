/* ETSI SOL005 VNF package management (docs/PACKAGES.md): the /vnfpkgm/v1
 * mount of the router (pkgm_http.c) over the package services of
 * catalog/svc_package.h, and its subscriptions and notifications
 * (pkgm_notify.c: VnfPackageOnboardingNotification and
 * VnfPackageChangeNotification, SOL005 9.5.2.8-9.5.2.9, written into the
 * outbox, channel "sol005", in the transaction of the change). */
#ifndef VNFM_PKGM_H
#define VNFM_PKGM_H

#include "core/config.h"
#include "core/txq.h"
#include "rest/router.h"

#define PKGM_VERSION      "2.1.0" /* the interface of SOL005 v2.6.1 */
#define PKGM_MAX_ATTEMPTS 10

/* The mounts (/vnfpkgm/v1, /vnfpkgm), their uploads bounded by
 * --package-max-mb. */
const struct mount *pkgm_mounts(const struct config *cfg, size_t *n);

/* Registers the observer of packages and the "sol005" outbox channel. */
void pkgm_init(struct core *c);

/* POST /subscriptions (PkgmSubscriptionRequest; callbackUri tested
 * beforehand) and DELETE /subscriptions/{id}. t->query has "pkg_base". */
void svc_pkgm_subscribe(struct core *c, struct txn *t);
void svc_pkgm_unsubscribe(struct core *c, struct txn *t);

/* PkgmSubscription of a record (a new object), links under base. */
json_t *pkgm_subscription(const json_t *sub, const char *base);

#endif
