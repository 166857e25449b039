/* VNF packages (docs/PACKAGES.md): their records, their files, and how
 * SOL005 shows them.
 *
 * A package record (store kind package) holds the members of SOL005's
 * VnfPkgInfo (v2.6.1; with v3's onboardingState ERROR and
 * onboardingFailureDetails), and:
 *   tenant   the owner's tenant; absent when an admin created it (its VNFD
 *            is then global, like an admin's native VNFD);
 *   _admin   an admin created it;
 *   _upload  {"uri", "userName", "password"} of an upload from a URI in
 *            progress;
 *   _notes   what the translation of its VNFD ignored (tosca.h).
 * Its archive, as it was uploaded, is DATA_DIR/packages/ID/package.zip;
 * its LCM scripts, written at on-boarding and named by the custom actions
 * of its VNFD, are in SCRIPTS/ID (--package-scripts, default
 * DATA_DIR-package-scripts): outside the data directory, which tenants'
 * sandboxed scripts do not see (core/runas.h). SCRIPTS is mode 0711, so
 * that a tenant's script reads its own package's scripts by their path
 * (a random UUID) but lists no other's.
 *
 * On-boarding (catalog/svc_package.c):
 *
 *   CREATED --PUT package_content--------------> PROCESSING --> ONBOARDED
 *      |    \--upload_from_uri--> UPLOADING ----^         \---> ERROR
 *      \<---------------- (an upload again) -------------------/
 *
 * operationalState is DISABLED until ONBOARDED, then ENABLED (a PATCH
 * switches it); usageState is IN_USE while a deployment (a VNF instance)
 * uses its VNFD, computed when it is read.
 */
#ifndef VNFM_PACKAGE_H
#define VNFM_PACKAGE_H

#include "core/config.h"
#include "core/core.h"

#include <stdbool.h>

#include <jansson.h>

#define PKG_CREATED    "CREATED"
#define PKG_UPLOADING  "UPLOADING"
#define PKG_PROCESSING "PROCESSING"
#define PKG_ONBOARDED  "ONBOARDED"
#define PKG_ERROR      "ERROR"
#define PKG_ENABLED    "ENABLED"
#define PKG_DISABLED   "DISABLED"

#define PKG_ARCHIVE_NAME "package.zip"

/* Paths of a package's files (malloc'd): its directory, its archive, the
 * directory of its scripts and the one of every package's scripts; and the
 * directory that uploads are received into (cleared at start-up). */
char *pkg_dir(const struct config *cfg, const char *id);
char *pkg_archive(const struct config *cfg, const char *id);
char *pkg_scripts(const struct config *cfg, const char *id);
char *pkg_scripts_root(const struct config *cfg);
char *pkg_upload_dir(const struct config *cfg);

/* Whether who may see (and act on) a package: the admin every one, a
 * tenant its own. */
bool pkg_visible(const struct principal *who, const json_t *rec);

/* SOL005 VnfPkgInfo of a record (a new object): its public members, the
 * usage state, and _links under base ("http://host:port/vnfpkgm/v1"). */
json_t *pkg_info(const json_t *rec, const char *base, bool in_use);

/* The store key of the package's VNFD (core/names.h: its tenant's name,
 * or the bare vnfdId of one on-boarded before names were scoped) in key. */
const char *pkg_vnfd_key(struct store *st, const json_t *rec, char key[KEY_BUF_MAX]);
/* Whether a deployment uses the package's VNFD (store st). */
bool pkg_in_use(struct store *st, const json_t *rec);

#endif
