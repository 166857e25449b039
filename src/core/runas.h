/* Who the manager runs things as (docs/SECURITY.md "VNFs and tenant
 * scripts"): the identities of VIs and tenants, and the sandbox of a
 * tenant's script.
 *
 * Every VI and every tenant has a uid of its own (gid the same number),
 * taken from --sandbox-uids like systemd's DynamicUser and kept in its
 * record as "_uid": a VI's processes run as the VI's, the scripts of a
 * tenant's deployments as the tenant's. Several managers may share a host,
 * so a uid is claimed host-wide too: a file named by the number in
 * RUNAS_REGISTRY holds the instance tag of the manager that claimed it (and
 * RUNAS_BY_TAG indexes the claims by tag). The
 * records are the truth; at start-up runas_open() makes the registry
 * agree with them (claims a crash left without a record are freed).
 */
#ifndef VNFM_RUNAS_H
#define VNFM_RUNAS_H

#include "core/core.h"
#include "util/sandbox.h"

#include <stdbool.h>
#include <sys/types.h>

#define RUNAS_REGISTRY "/run/vnfm/uids"
/* RUNAS_BY_TAG/TAG/UID (empty): the claims of a tag, so that a manager's
 * start-up reads its own and not every manager's. */
#define RUNAS_BY_TAG "/run/vnfm/uids-of"

/* At start-up, inside a transaction: claims the uid of every VI and tenant
 * record, gives one to a record without (or whose uid another manager has
 * claimed meanwhile, after a reboot), and frees this manager's claims that
 * no record holds; prepares the mount namespace tenant scripts start from.
 * 0 or a negative errno (logged). */
int runas_open(struct core *c);
void runas_close(struct core *c);

/* Takes the claim of uid over from the manager that holds it: a running VI
 * handed to this manager (fed/handover.c), whose processes run as it. */
int runas_take(struct core *c, uid_t uid);
/* vnfmd --cleanup TAG: frees every uid the dead instance tag claimed.
 * Returns how many. */
int runas_forget(const char *tag);

/* Claims a free uid for a record that the open transaction writes with it
 * as "_uid". -ENOSPC when the whole range is taken. A transaction that
 * rolls back leaves the claim until the next start-up. */
int runas_claim(struct core *c, uid_t *uid);

/* Frees the uid of a record once the transaction deleting it commits. */
void runas_release(struct core *c, const json_t *doc);

/* Whether the descriptor of a VNFD record was on-boarded by an admin
 * (global VNFDs always were). */
bool runas_vnfd_admin(const json_t *vnfd);

/* Whether an admin wrote a deployment's monitoring and rules: an admin set
 * them last (PUT .../rules), or they come from a descriptor (vnfd, its
 * VNFD record) that an admin on-boarded. */
bool runas_policy_admin(const json_t *dep, const json_t *vnfd);

/* The sandbox a script runs in, filled into *sb and returned; NULL when it
 * runs with the manager's rights: an admin wrote its reference and it lies
 * in --script-dir. Otherwise it runs as the tenant's uid. */
const struct sandbox *runas_script(const struct core *c, const char *script, bool admin_wrote,
                                   uid_t tenant_uid, struct sandbox *sb);

/* The uid kept in a record, 0 when it has none. */
uid_t runas_uid(const json_t *doc);

#endif
