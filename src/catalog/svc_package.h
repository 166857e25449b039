/* VNF package requests on the transactor (path parameter t->args[0] is the
 * package id), and the work of on-boarding on the configuration pool
 * (docs/PACKAGES.md; the records and states: catalog/package.h).
 *
 * The front end (src/vnfpkgm) puts the base of the links of its answers
 * into t->query ("pkg_base": "http://host:port/vnfpkgm/v1"); answers are
 * SOL005 VnfPkgInfo documents.
 *
 * On-boarding reads the archive (csar.h), verifies its checksums,
 * translates its VNFD (tosca.h), writes its scripts and validates the
 * native descriptor, all off the loop; then, in one transaction, the VNFD
 * joins the catalogue (kind vnfd, with "package" naming the package) and
 * the package is ONBOARDED and ENABLED, or it is in ERROR with the reason
 * in onboardingFailureDetails and nothing of it kept (its archive and
 * scripts removed). A package being uploaded or processed when the
 * manager stops is processed again at the next start (pkg_resume).
 */
#ifndef VNFM_SVC_PACKAGE_H
#define VNFM_SVC_PACKAGE_H

#include "core/txq.h"

/* Those told of packages (the front end's notifications), inside the
 * transaction of the change: a package was on-boarded; its operational
 * state changed ("OP_STATE_CHANGE") or it was deleted ("PKG_DELETE"). */
struct pkg_observer {
    void (*onboarded)(struct core *c, const json_t *pkg);
    void (*changed)(struct core *c, const json_t *pkg, const char *change);
};
/* Registers o (at most 4; once each). */
void pkg_observe(const struct pkg_observer *o);

/* POST /vnf_packages {userDefinedData?}: a package in CREATED. */
void svc_pkg_create(struct core *c, struct txn *t);
/* PATCH {operationalState?, userDefinedData?} (VnfPkgInfoModifications):
 * answers the modifications. */
void svc_pkg_update(struct core *c, struct txn *t);
/* DELETE: not while it is being uploaded or processed, nor while it is
 * ENABLED or IN_USE once on-boarded; its VNFD leaves the catalogue. */
void svc_pkg_delete(struct core *c, struct txn *t);
/* PUT .../package_content: t->body is {"file": PATH}, the archive the front
 * end received into pkg_upload_dir, which this takes over (moved into the
 * package, or removed when the request is refused). */
void svc_pkg_upload(struct core *c, struct txn *t);
/* POST .../package_content/upload_from_uri {addressInformation, userName?,
 * password?}: fetched from a URI that --package-uri allows. */
void svc_pkg_upload_uri(struct core *c, struct txn *t);

/* At start-up, after recovery: removes uploads half received, and goes on
 * with packages a stop left UPLOADING or PROCESSING. */
void pkg_resume(struct core *c);

#endif
