/* The transactor (seed para 46): one FIFO queue for every mutating request.
 * Front ends (REST, NETCONF) submit a struct txn from their own threads; the
 * loop takes each in order, checks authorization, applies it as one store
 * transaction and completes it. */
#ifndef VNFM_TXQ_H
#define VNFM_TXQ_H

#include "core/core.h"

struct txn;

/* Applies the request on the loop thread, inside an open transaction. It
 * sets t->res; a status >= 400 rolls the transaction back. */
typedef void (*txn_apply_fn)(struct core *c, struct txn *t);

struct txn {
    txn_apply_fn apply;
    const char *name; /* for logs, e.g. "deploy" */
    bool admin_only;  /* refused with 403 unless who.admin */
    struct principal who;
    json_t *body; /* owned; may be NULL */
    /* The body as it came, of a route that takes it so (a VNF package's
     * archive): the front end's, valid until complete() has run; in memory
     * (raw), or in a file without a name (raw_fd, else -1) of raw_len bytes. */
    const char *raw;
    size_t raw_len;
    int raw_fd;
    char *args[3]; /* path parameters, owned */
    json_t *query; /* query parameters as strings, owned; may be NULL */
    char *client_txn_id;
    char *callback; /* URL notified when a lifecycle operation ends */
    struct result res;
    /* Called on the loop thread once the transaction ended (committed or
     * not). It must not block; it hands the result back to the front end. */
    void (*complete)(struct txn *t);
    void *complete_data;
    /* Set by apply when it answers later: the transactor ends the
     * transaction but neither completes t nor tells the observers of
     * applied requests; apply's own code calls t->complete(t) once, on the
     * loop (monitor/svc_monitor.c). */
    bool kept;
    uint64_t seq; /* position in the FIFO, set by txq_submit */
    struct txn *next;
    /* XML front end (F3, seed para 47): the Callback gets the result in XML
     * under this root element, with the ESC-* headers. */
    bool xml;
    char *xml_root; /* owned; NULL = "result" */
    /* The lock of the configuration (RFC 6241 7.5): the management session
     * that makes the request (a NETCONF session's id; 0 for REST, SOL003
     * and the CLI), and whether no lock stops it (the manager's own
     * requests, values pushed by VNFs: they change no configuration). */
    uint32_t session;
    bool lock_exempt;
    /* A batch (txn_batch_add): its parts, applied in order in this one
     * transaction; the first that fails rolls them all back. */
    struct txn **parts; /* owned */
    size_t n_parts;
    long failed_part; /* after a batch completed: the index of the part that failed, or -1 */
};

/* Observers of requests: fn runs for every request applied without error
 * (status below 400), inside its transaction, just before the commit (a
 * Callback is queued there, seed para 47). Up to 4. */
typedef void (*txq_applied_fn)(struct core *c, const struct txn *t);
void txq_on_applied(struct txq *q, txq_applied_fn fn);

struct txq *txq_new(struct core *c);
/* Completes what is queued with 503 and releases the queue. */
void txq_free(struct txq *q);
/* Thread-safe. Takes ownership of t until t->complete is called (at once,
 * with 503, once txq_free has begun). */
void txq_submit(struct txq *q, struct txn *t);
/* Requests applied so far. */
uint64_t txq_applied(struct txq *q);
/* On the loop: the most requests waiting at once since the last call
 * (the load of the transactor: fed/cloud_scale.c). */
unsigned txq_peak(struct txq *q);

struct txn *txn_new(txn_apply_fn apply, const char *name);
/* Frees t and its parts. Accepts NULL. */
void txn_free(struct txn *t);

/* ---- all or nothing (NETCONF rollback-on-error) ---- */

/* A request made of several: submitted as one, its parts (txn_batch_add)
 * are applied in order in one store transaction, each with its own
 * authorization. The first part that fails rolls back every part; the
 * batch's result is then that part's and failed_part its index. When all
 * succeed the result is 200 and each part keeps its own. A part's work
 * that starts after the commit (lifecycle operations) starts only then. */
struct txn *txn_batch_new(const char *name);
/* Appends part (taken); its complete callback is not used. */
void txn_batch_add(struct txn *batch, struct txn *part);

/* ---- the lock of the configuration (RFC 6241 7.5) ----
 *
 * Held by one management session (a NETCONF session), it makes the
 * transactor refuse, with 409 `locked` naming the holder, every request of
 * any other session, REST and SOL003 included, that is not lock_exempt.
 * Taking and releasing it are requests too, so they are ordered with the
 * writes around them. */

/* Apply functions: t->session takes the lock, t->body {"holder": "..."}
 * naming it in refusals (409 `locked` with {"session": holder} when another
 * holds it); unlock releases it (409 when this session does not hold it).
 * txq_unlock_apply of a session that does not hold it is harmless. */
void txq_lock_apply(struct core *c, struct txn *t);
void txq_unlock_apply(struct core *c, struct txn *t);
/* The session holding the lock, 0 when none. Any thread. */
uint32_t txq_lock_holder(struct txq *q);

#endif
