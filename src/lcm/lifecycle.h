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
#include "core/states.h"

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
/* ---- failure policy and operator decisions (SOL003 5.4.14-5.4.17) ----
 *
 * By default a deploy or scale-out that exhausts its retry budget rolls
 * back by itself and anything else fails. An operation started with
 * `pause` (SOL003) stops instead in state "failed_temp": its deployment
 * stays bound to it (busy: 409) until an operator decides:
 *
 *   starting -> processing -> completed
 *                  |  ^   \-> failed_temp --retry--> processing
 *                  |  |          |   |  \--fail--> failed
 *           cancel |  |          |   \--rollback--> rolling_back -> rolled_back
 *                  v  |          |                       |  (fails, or cancel)
 *              failed_temp <-----+-----------------------/
 *
 * Each decision is a journalled state change made inside the caller's
 * open transaction; the work it starts begins after the commit, and a
 * restart resumes "starting", "processing" and "rolling_back" alike. */

/* What lc_op_start_ex creates. */
struct lc_start {
    const char *type; /* the operation's type, e.g. "instantiate" */
    const char *plan; /* see lc_op_start, or "terminate", "operate_stop", "operate_start",
                         "rescale", "modify" */
    json_t *vis;      /* stolen: target VI ids (plan "rescale": the VIs it adds) */
    json_t *params;   /* stolen, may be NULL */
    const struct txn *t;
    bool automatic;
    bool pause;    /* failure policy: stop in failed_temp instead of rolling back or failing
                      (also when t's query has "_pause": true) */
    bool starting; /* created in state "starting" (SOL003 STARTING), else "processing" */
    json_t *extra; /* stolen, may be NULL: members merged into the record ("vis_in", "_sol") */
};
/* lc_op_start with every option. Returns the record (a new reference). */
json_t *lc_op_start_ex(struct core *c, json_t *dep, const struct lc_start *s);

/* The decisions on an operation in failed_temp, and cancel. Each checks
 * the state (409 in res otherwise; 422 for a rollback the operation does
 * not support), journals the change in the open transaction and returns
 * the updated record (a new reference), or NULL with res set. */
json_t *lc_op_retry(struct core *c, const char *op_id, struct result *res);
json_t *lc_op_rollback(struct core *c, const char *op_id, struct result *res);
json_t *lc_op_fail(struct core *c, const char *op_id, struct result *res);
/* For an operation starting, processing or rolling back: no further retry;
 * once the work in flight has ended it stops in failed_temp. mode is
 * "GRACEFUL" or "FORCEFUL" (both let running VIM calls end). */
json_t *lc_op_cancel(struct core *c, const char *op_id, const char *mode, struct result *res);

/* Resumes every operation the journal shows unfinished (start-up). */
void lc_resume_all(struct core *c);
/* An operation in flight on a deployment handed to another manager
 * (fed/handover.c): lc_op_creates_vis, whether a step still to run makes
 * VIs (those stay: the VIs would be made with the giver's addresses);
 * lc_op_park stops running it here at the end of its step: 0 when it no
 * longer runs here, 1 while its step's work is still in flight (ask
 * again; parked at the step's end, it goes on here after 2 s unless asked
 * again by then, so a handover that gave up leaves no operation behind);
 * lc_op_resume runs it on (the taker at commit, the giver when the
 * handover was undone) from the step its record names, after the open
 * transaction commits, with an event saying after what. While the
 * deployment has `_handover` no operation of it runs, here or after a
 * restart. */
bool lc_op_creates_vis(const json_t *op);
int lc_op_park(struct core *c, const char *op_id);
void lc_op_resume(struct core *c, const json_t *op, const char *after);
/* Stops starting new work; running jobs finish and are recorded. */
void lc_shutdown(struct core *c);

/* DEP_ACTIVE when every VI of the deployment runs, else DEP_DEGRADED. */
enum dep_status lc_dep_status(struct core *c, const char *dep_id);
/* Sets the deployment's instance counts from its VI records. */
void lc_recount(struct core *c, json_t *dep);

/* Exit watches of running VIs (vi_watch.c): fd, which it takes, is what the
 * VIM gave for the VI's end on a worker (vim_ops.exit_fd); -1 when it gave
 * none, or could not because the VI had ended already. */
void lc_watch_vi(struct core *c, const json_t *vi, int fd);
void lc_unwatch_vi(struct core *c, const char *vi_id);
/* Whether the VI's exit is watched. */
bool lc_vi_watched(struct core *c, const char *vi_id);
void lc_unwatch_all(struct core *c);
/* Records that a running VI's process ended (exit_status: its wait status,
 * or -1 and why, for the event), and plans its restart. */
void lc_vi_exited(struct core *c, const char *vi_id, int exit_status, const char *why);

/* Restarts on exit (vi_watch.c, docs/MONITORING.md "Restart on exit"). */
/* Whether the exit watch restarts vi (a record of deployment dep): it
 * ended by itself and its VNFD does not opt out. */
bool lc_restart_owns(struct core *c, const json_t *dep, const json_t *vi);
/* Registers the observer through which the end of an operation lets the
 * restarts it held up go on (start-up, after the rules engine's). */
void lc_restart_init(struct core *c);
/* Start-up: the restarts pending at the last stop, or of VIs found dead. */
void lc_restart_resume(struct core *c);
/* The restarts of deployment dep_id's exited VIs go on (their timers
 * armed for when they are due; planned, with what as the exit, when none
 * is pending): the end of an operation, a handover's commit. */
void lc_restart_rearm(struct core *c, const char *dep_id, const char *what);

#endif
