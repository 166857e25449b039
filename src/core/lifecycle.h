/* The lifecycle engine (FIG. 3, seed para 80-87, F15, F2).
 *
 * An operation (deploy, undeploy, heal, scale) is a plan: a list of stages,
 * each with work per VI (create, start, wait until it answers, reboot,
 * destroy) and the custom actions the VNFD binds to the stage. A stage that
 * fails is retried with exponential backoff and stays where it is; success
 * moves on; after the retry budget a deploy or scale-out is rolled back and
 * anything else fails, visibly, with its reason.
 *
 * The operation record is the journal: it is written before any VIM call,
 * and records for each VI how far it got. After a crash, lc_resume_all()
 * carries every unfinished operation on from where the journal says, which
 * is safe because every step is idempotent.
 */
#ifndef VNFM_LIFECYCLE_H
#define VNFM_LIFECYCLE_H

#include "core/core.h"

struct txn;

/* Creates the operation record for deployment dep (whose record the caller
 * updates in the same, open, transaction; this sets its "operation"). The
 * work starts once the transaction commits. plan is one of "deploy",
 * "undeploy", "heal", "scale_out", "scale_in". vis (stolen) lists the
 * target VI ids; params (stolen) may be NULL; t gives the client's
 * transaction id and callback (may be NULL). Returns the new operation
 * record (a new reference). */
json_t *lc_op_start(struct core *c, json_t *dep, const char *type, const char *plan, json_t *vis,
                    json_t *params, const struct txn *t, bool automatic);
/* Resumes every operation the journal shows unfinished (start-up). */
void lc_resume_all(struct core *c);
/* Stops starting new work; running jobs finish and are recorded. */
void lc_shutdown(struct core *c);

/* "active" when every VI of the deployment runs, else "degraded". */
const char *lc_dep_status(struct core *c, const char *dep_id);

/* Exit watches of running VIs (vi_watch.c). */
void lc_watch_vi(struct core *c, const json_t *vi);
void lc_unwatch_vi(struct core *c, const char *vi_id);
void lc_unwatch_all(struct core *c);
/* Records that a running VI's process ended (why: for the event). */
void lc_vi_exited(struct core *c, const char *vi_id, int exit_status, const char *why);

#endif
