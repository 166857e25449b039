/* Sites and deployments another manager runs: on a cloud VNFM, a branch's
 * (src/fed/, docs/FEDERATION.md). The lifecycle requests aimed at them are
 * not run by this engine: they go to the hooks the upper layer registered
 * (c->remote), which make them instructions to that manager. */
#ifndef VNFM_REMOTE_H
#define VNFM_REMOTE_H

#include "core/txq.h"

struct lc_remote {
    /* POST /v0/deployments at site (a record of kind "branch"), with the
     * caller's tenant and the VNFD checked already; sets t->res. */
    void (*deploy)(struct core *c, struct txn *t, const json_t *site, const json_t *tenant,
                   const json_t *vnfd);
    /* An operation (t->name: undeploy, heal, scale, resize, ...) on dep, a
     * deployment another manager runs (it names its "manager"), owned by
     * the caller; sets t->res. */
    void (*operate)(struct core *c, struct txn *t, const json_t *dep);
    /* An operation of type ("scale" or "move") with body (taken) that the
     * rules engine decided for dep (decision: its record, which may get
     * members saying where the instances go and why): a scale written like
     * operate's, the instruction carrying the decision; a move ({site,
     * drain_s?}) the cloud's own, as POST /v0/deployments/{id}/move; the
     * operation in *op (a new reference), or -1 with res set. A scale's
     * count is of all the instances of the VDU, also those instances(),
     * below, counts. */
    int (*decided)(struct core *c, const json_t *dep, const char *type, json_t *body,
                   json_t *decision, struct result *res, json_t **op);
    /* The instances of vdu of dep that run elsewhere than its manager's
     * site, for the same service (a branch VNF's burst into the cloud:
     * fed/burst.c), which the rules engine counts with dep's own. */
    long long (*instances)(struct core *c, const json_t *dep, const char *vdu);
    /* The `rules` or `rules_owner_wanted` of dep changed in the open
     * transaction (policy/svc_policy.c): the cloud's rules over dep's
     * reports follow once it commits. */
    void (*rules_changed)(struct core *c, const json_t *dep);
    /* A task of another front end (SOL003) for a branch: an instruction of
     * type (a native request: deploy, undeploy, scale, heal) with body
     * (taken) to the manager of site, about dep (the cloud's record, the
     * caller's checks done; written with its site, manager and the new
     * operation), and the cloud's operation that follows it, with the
     * members of op_extra (taken; "type" names the task). Returns that
     * operation (new reference; the observers were told it started), or
     * NULL with t->res set. */
    json_t *(*instruct)(struct core *c, struct txn *t, json_t *dep, const char *site,
                        const char *type, json_t *body, json_t *op_extra);
    /* POST /v0/deployments/{id}/move {site, drain_s?}: a move between a
     * branch and a site of the cloud's own (fed/move.c); sets t->res. */
    void (*move)(struct core *c, struct txn *t);
    /* A decision on op (taken), an operation the cloud follows from a
     * branch (it names its "manager"), in a state that allows it: what
     * ("retry", "rollback", "fail", "cancel"; mode: cancel's) goes to that
     * manager as an instruction, and the cloud's record follows it now
     * (fed/instr.c). Returns the updated record (a new reference), or NULL
     * with res set (503 for an unreachable branch: nothing changed). */
    json_t *(*decide)(struct core *c, json_t *op, const char *what, const char *mode,
                      struct result *res);
};

#endif
