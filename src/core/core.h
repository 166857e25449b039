/* The manager's core: the state that the event loop thread owns, and the
 * transaction discipline around the store.
 *
 * Everything here runs on the loop thread. Blocking work goes to the worker
 * pools (wpool.h) and comes back to the loop through their done callbacks.
 * Changes are made inside core_tx_begin()/core_tx_commit(); events logged
 * inside a transaction reach /v0/events only once it has committed.
 */
#ifndef VNFM_CORE_H
#define VNFM_CORE_H

#include "core/config.h"
#include "core/result.h"
#include "store/store.h"
#include "util/hmap.h"
#include "util/ids.h"
#include "util/sandbox.h"

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct bus;
struct txq;
struct wpool;
struct components;
struct pool_job;
struct health;
struct services;
struct cluster;
struct owners;
struct outbox;
struct lc_observer;
struct sandbox_base;
struct lc_remote;

#define TAG_LEN            6
#define CORE_OBSERVERS_MAX 8 /* lcm/observe.h */

struct core {
    struct config *cfg;
    uv_loop_t *loop;
    struct store *st;      /* the only writer */
    char tag[TAG_LEN + 1]; /* instance tag, in every name this manager creates on a host */
    char *admin_hash;      /* SHA-256 hex of the admin token */
    uid_t uid_next;        /* where runas_claim() looks first */
    struct sandbox_base *script_base; /* what tenant scripts start from (core/runas.h) */
    const char
        *program_dirs[SANDBOX_MAX_PATHS]; /* --script-dir and --vnf-path: kept in their sight */
    int64_t started_ms;

    struct wpool *prov;            /* provisioning: VIM calls (seed para 54) */
    struct wpool *conf;            /* configuration: custom actions, notifications (para 57) */
    struct components *components; /* the pools, each sized by its own load (components.h) */
    struct txq *txq;
    struct bus *bus;
    struct health *health;
    struct services *services; /* what health and fault injection walk (service.h) */
    struct cluster *cluster;   /* its place in a cluster on a shared store; NULL: alone */
    struct owners *owners;     /* a cloud VNFM's cluster: who serves which branch site (owners.h) */
    struct monitor *monitor;
    /* What the lifecycle engine tells (lcm/observe.h). */
    const struct lc_observer *observers[CORE_OBSERVERS_MAX];
    unsigned n_observers;

    struct sites *sites; /* lcm/sites.c */
    struct hmap runs;    /* operation id -> struct oprun */
    struct hmap vis;     /* VI id -> struct vi_watch */

    int tx_depth;
    json_t *tx_events;         /* logged in the open transaction, published on commit */
    struct deferred *tx_after; /* callbacks run after commit */
    struct deferred *tx_first; /* callbacks run after commit, before its jobs start */
    struct pool_job *tx_jobs;  /* jobs submitted when the transaction ends */

    uv_timer_t beat_timer; /* loop heartbeat and periodic work */
    uint64_t beat_ms;      /* monotonic ms of the last heartbeat (read by other threads) */
    bool stopping;
    /* Set (on the loop) while this manager moves to another host
     * (fed/relocate.c): every request of the transactor is refused with it. */
    char moving[160];
    int lock_fd;           /* the data dir's lock (vnfmd.c), -1: none */
    struct outbox *outbox; /* messages to other systems (outbox.h) */
    struct fed *fed;       /* the estate: a cloud's branch managers, a branch's uplink (fed/) */
    struct lc_schedule *schedule;   /* the timer of scheduled operations (lcm/schedule.h) */
    const struct lc_remote *remote; /* sites another manager runs (lcm/remote.h), or NULL */

    /* core/auth.h: taking rights back from event streams */
    uint64_t auth_gen;     /* the generation of rights (other threads read it) */
    uv_timer_t auth_timer; /* the earliest token expiry */
    int64_t auth_next_ms;  /* when (wall clock), 0: none */
};

/* Who makes a request. */
struct principal {
    bool admin;
    char tenant[ID_BUF_MAX]; /* tenant of a tenant token */
    char token_id[32];
    int64_t expires_ms; /* the token's expiry (wall clock), 0: never */
};

/* Opens a transaction (nesting counts). */
int core_tx_begin(struct core *c);
/* Commits the outermost transaction, then publishes its events and runs the
 * callbacks registered with core_after_commit(). */
int core_tx_commit(struct core *c);
/* Rolls back; events and callbacks of the transaction are dropped. */
void core_tx_abort(struct core *c);
/* Runs fn(c, arg) after the current transaction commits (at once when there
 * is none); arg is freed with free_arg (may be NULL) either way. */
void core_after_commit(struct core *c, void (*fn)(struct core *c, void *arg), void *arg,
                       void (*free_arg)(void *arg));
/* The same, run before the jobs of the transaction are submitted (and
 * before the callbacks of core_after_commit): what the host must show
 * before the workers act on it (a stopping VI out of its service
 * endpoint before its process gets SIGTERM, fed/endpoint.c). */
void core_after_commit_first(struct core *c, void (*fn)(struct core *c, void *arg), void *arg,
                             void (*free_arg)(void *arg));
/* Submits job to pool once the current transaction has ended, at once when
 * there is none: work acts only after it was journalled. A failed commit
 * submits it too (its end then decides the stage), so that no operation
 * waits for a job that never runs. */
struct wjob;
void core_submit(struct core *c, struct wpool *pool, struct wjob *job);

/* Logs a lifecycle event (seed para 52, F10) into the event log of the open
 * transaction. fields (stolen, may be NULL) adds members such as
 * "deployment", "operation", "vi", "stage", "result", "tags". */
void core_event(struct core *c, const char *level, const char *category, const char *event,
                json_t *fields, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The record kind/id read in the loop's store (a new reference), or NULL
 * when it does not exist (or id is NULL). */
json_t *core_load(struct core *c, enum store_kind k, const char *id);

/* Logs an audit event: kind/id was `what` ("created", ...) by who. */
void core_audit(struct core *c, const struct principal *who, const char *kind, const char *id,
                const char *what);

/* Whether p may act on an object of tenant (admins may act on all). */
bool principal_owns(const struct principal *p, const char *tenant);

#endif
