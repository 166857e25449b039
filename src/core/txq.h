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
    json_t *body;  /* owned; may be NULL */
    char *args[3]; /* path parameters, owned */
    json_t *query; /* query parameters as strings, owned; may be NULL */
    char *client_txn_id;
    char *callback; /* URL notified when a lifecycle operation ends */
    struct result res;
    /* Called on the loop thread once the transaction ended (committed or
     * not). It must not block; it hands the result back to the front end. */
    void (*complete)(struct txn *t);
    void *complete_data;
    uint64_t seq; /* position in the FIFO, set by txq_submit */
    struct txn *next;
    /* XML front end (F3, seed para 47): the Callback gets the result in XML
     * under this root element, with the ESC-* headers. */
    bool xml;
    char *xml_root; /* owned; NULL = "result" */
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

struct txn *txn_new(txn_apply_fn apply, const char *name);
void txn_free(struct txn *t);

#endif
