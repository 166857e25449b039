/* Observers of the lifecycle: what other parts of the manager (SOL003
 * notifications, Callbacks, the rules engine, later the federation
 * reporter) learn of operations and deployments, without the engine
 * knowing them. Each registers a table of hooks from vnfmd.c; any hook may
 * be NULL. The engine calls them in registration order, on the loop,
 * inside the transaction of the change, so whatever they write (outbox
 * entries, decisions) commits or rolls back with it. */
#ifndef VNFM_OBSERVE_H
#define VNFM_OBSERVE_H

#include "core/core.h"
#include "core/states.h"

struct lc_observer {
    const char *name;
    /* A new operation, its record not yet stored: it may add internal
     * ('_') members of its own (SOL003 keeps the VNF's identity). dep is
     * its deployment. */
    void (*op_started)(struct core *c, json_t *op, const json_t *dep);
    /* The operation entered a new state (its record as stored). */
    void (*op_changed)(struct core *c, const json_t *op);
    /* The operation ended (its final record), after op_changed for it. */
    void (*op_ended)(struct core *c, const json_t *op);
    /* A deployment was created (before its first operation starts) or
     * deleted (its last record; by an undeploy: before that operation's
     * end is told). */
    void (*dep_created)(struct core *c, const json_t *dep);
    void (*dep_deleted)(struct core *c, const json_t *dep);
    /* VIs of deployment dep left the running state outside a change of an
     * operation's state: a step marked them before the VIM acts on them
     * (stopping, going, restarting) or the exit watch found them exited.
     * A service endpoint stops sending them new connections. */
    void (*vis_changed)(struct core *c, const char *dep);
    /* Sets the deployment's record at the end of an operation of a type
     * the observer owns (SOL003: instantiate, terminate, ...), instead of
     * the engine; returns whether it did. The first that does wins. */
    bool (*op_finish)(struct core *c, json_t *dep, const json_t *op, enum op_state state,
                      const char *err);
    /* A site's VIM health changed, or the VIs waiting for its VIM were
     * looked for again (its agent answered). */
    void (*site_changed)(struct core *c, const char *site);
};

/* Registers o (it must outlive c); at most CORE_OBSERVERS_MAX. */
void lc_observe(struct core *c, const struct lc_observer *o);

/* Tell every observer, inside the open transaction. */
void lc_op_started(struct core *c, json_t *op, const json_t *dep);
void lc_op_changed(struct core *c, const json_t *op);
void lc_op_ended(struct core *c, const json_t *op);
void lc_dep_created(struct core *c, const json_t *dep);
void lc_dep_deleted(struct core *c, const json_t *dep);
void lc_vis_changed(struct core *c, const char *dep);
void lc_site_changed(struct core *c, const char *site);
bool lc_op_finish(struct core *c, json_t *dep, const json_t *op, enum op_state state,
                  const char *err);

#endif
