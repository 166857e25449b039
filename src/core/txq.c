#include "core/txq.h"
#include "core/cluster.h"
#include "core/wake.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_ON_APPLIED 4

struct txq {
    struct core *core;
    struct wake wake; /* a submitted request */
    pthread_mutex_t mu;
    struct txn *head, *tail;
    uint64_t next_seq, applied;
    unsigned peak; /* the most requests the loop took at once, since txq_peak */
    txq_applied_fn on_applied[MAX_ON_APPLIED];
    unsigned n_on_applied;
    bool closed; /* txq_free has run: what comes later is refused at once */
    /* the lock of the configuration: written on the loop only */
    _Atomic uint32_t lock_session; /* 0: not held */
    char lock_holder[128];         /* who holds it, for refusals */
};

struct txn *txn_new(txn_apply_fn apply, const char *name)
{
    struct txn *t = xcalloc(1, sizeof(*t));

    t->apply = apply;
    t->name = name;
    t->failed_part = -1;
    t->raw_fd = -1;
    return t;
}

void txn_free(struct txn *t)
{
    if (!t)
        return;
    json_decref(t->body);
    json_decref(t->query);
    for (unsigned i = 0; i < ARRAY_SIZE(t->args); i++)
        free(t->args[i]);
    free(t->client_txn_id);
    free(t->callback);
    free(t->xml_root);
    result_done(&t->res);
    for (size_t i = 0; i < t->n_parts; i++)
        txn_free(t->parts[i]);
    free(t->parts);
    free(t);
}

void txq_on_applied(struct txq *q, txq_applied_fn fn)
{
    if (q->n_on_applied < MAX_ON_APPLIED)
        q->on_applied[q->n_on_applied++] = fn;
}

/* Admin-only requests, then the request's own apply (authorization on the
 * objects is part of it: it knows them). */
static void apply_one(struct core *c, struct txn *t)
{
    if (t->admin_only && !t->who.admin)
        result_fail(&t->res, 403, "forbidden", NULL, NULL, "'%s' needs the admin token", t->name);
    else
        t->apply(c, t);
    if (t->res.status == 0)
        result_fail(&t->res, 500, "internal", NULL, NULL, "request '%s' produced no result",
                    t->name);
}

/* ---- batches ---- */

static void batch_apply(struct core *c, struct txn *t)
{
    for (size_t i = 0; i < t->n_parts; i++) {
        struct txn *p = t->parts[i];

        apply_one(c, p);
        if (p->res.status >= 400) {
            t->failed_part = (long)i;
            t->res.status = p->res.status;
            t->res.body = json_incref(p->res.body);
            return;
        }
    }
    result_ok(&t->res, 200, NULL);
}

struct txn *txn_batch_new(const char *name)
{
    return txn_new(batch_apply, name);
}

void txn_batch_add(struct txn *batch, struct txn *part)
{
    batch->parts = xrealloc(batch->parts, (batch->n_parts + 1) * sizeof(*batch->parts));
    batch->parts[batch->n_parts++] = part;
}

/* ---- the lock of the configuration (RFC 6241 7.5) ---- */

/* Whether the lock refuses t (the refusal is in t->res). */
static bool locked_out(struct txq *q, struct txn *t)
{
    uint32_t holder = atomic_load(&q->lock_session);

    if (!holder || holder == t->session || t->lock_exempt || t->apply == txq_unlock_apply)
        return false;
    result_fail(&t->res, 409, "locked", NULL, NULL,
                "the configuration is locked by %s: a lock excludes every other management "
                "session until it is released (RFC 6241 7.5)",
                q->lock_holder);
    json_object_set_new(t->res.body, "session", json_integer(holder));
    return true;
}

void txq_lock_apply(struct core *c, struct txn *t)
{
    struct txq *q = c->txq;

    if (!t->session) {
        result_fail(&t->res, 400, "invalid-value", NULL, NULL, "only a session can hold the lock");
        return;
    }
    if (atomic_load(&q->lock_session)) { /* held by this session: locked_out let it through */
        result_fail(&t->res, 409, "locked", NULL, NULL, "the configuration is locked by %s",
                    q->lock_holder);
        json_object_set_new(t->res.body, "session", json_integer(atomic_load(&q->lock_session)));
        return;
    }
    snprintf(q->lock_holder, sizeof(q->lock_holder), "%s",
             jv_str(t->body, "holder", "another session"));
    atomic_store(&q->lock_session, t->session);
    log_info("transactor: the configuration is locked by %s", q->lock_holder);
    result_ok(&t->res, 200, NULL);
}

void txq_unlock_apply(struct core *c, struct txn *t)
{
    struct txq *q = c->txq;
    uint32_t holder = atomic_load(&q->lock_session);

    if (!holder || holder != t->session) {
        result_fail(&t->res, 409, "conflict", NULL, NULL,
                    holder ? "the lock is held by %s, not by this session" : "%s",
                    holder ? q->lock_holder : "the configuration is not locked");
        if (holder)
            json_object_set_new(t->res.body, "session", json_integer(holder));
        return;
    }
    atomic_store(&q->lock_session, 0);
    log_info("transactor: %s released the lock of the configuration", q->lock_holder);
    result_ok(&t->res, 200, NULL);
}

uint32_t txq_lock_holder(struct txq *q)
{
    return atomic_load(&q->lock_session);
}

/* Whether this manager may write: not while it moves to another host; alone, or the primary of its
 * cluster (a front end sends writes to the primary before they get here; this is for those that
 * come while the primary changes). */
static bool refused_here(struct core *c, struct txn *t)
{
    char primary[CLUSTER_URL_MAX];

    if (c->moving[0]) {
        result_fail(&t->res, 503, "moving", NULL, NULL, "%s", c->moving);
        t->complete(t);
        return true;
    }
    if (!c->cluster || cluster_role(c->cluster, primary, sizeof(primary)) == CLUSTER_PRIMARY)
        return false;
    result_fail(&t->res, 503, "not-primary", NULL, NULL,
                "this manager is not the primary of its cluster%s%s; try again there",
                primary[0] ? ", the primary is " : " (one is being elected)", primary);
    if (primary[0])
        json_object_set_new(t->res.body, "primary", json_string(primary));
    t->complete(t);
    return true;
}

/* One request, one transaction. */
static void run_one(struct txq *q, struct txn *t)
{
    struct core *c = q->core;

    if (refused_here(c, t))
        return;
    if (core_tx_begin(c)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "the store is not available");
        t->complete(t);
        return;
    }
    if (!locked_out(q, t))
        apply_one(c, t);
    if (t->res.status >= 400) {
        core_tx_abort(c);
    } else {
        for (unsigned i = 0; !t->kept && i < q->n_on_applied; i++)
            q->on_applied[i](c, t);
        if (core_tx_commit(c))
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "the store could not commit");
    }
    if (!t->kept)
        t->complete(t);
}

static struct txn *take_all(struct txq *q)
{
    struct txn *list;

    pthread_mutex_lock(&q->mu);
    list = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return list;
}

static void on_wake(struct wake *w)
{
    struct txq *q = w->data;
    struct txn *t = take_all(q);
    unsigned n = 0;

    for (struct txn *x = t; x; x = x->next)
        n++;
    if (n > q->peak)
        q->peak = n;
    while (t) {
        struct txn *next = t->next;

        run_one(q, t);
        q->applied++;
        t = next;
    }
}

struct txq *txq_new(struct core *c)
{
    struct txq *q = xcalloc(1, sizeof(*q));

    q->core = c;
    pthread_mutex_init(&q->mu, NULL);
    if (wake_init(c->loop, &q->wake, on_wake, q)) {
        free(q);
        return NULL;
    }
    return q;
}

static void free_txq(uv_handle_t *h)
{
    struct txq *q = ((struct wake *)h->data)->data;

    pthread_mutex_destroy(&q->mu);
    free(q);
}

void txq_free(struct txq *q)
{
    struct txn *t;

    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_mutex_unlock(&q->mu);
    t = take_all(q);
    while (t) {
        struct txn *next = t->next;

        result_fail(&t->res, 503, "unavailable", NULL, NULL, "the manager is stopping");
        t->complete(t);
        t = next;
    }
    wake_close(&q->wake, free_txq);
}

void txq_submit(struct txq *q, struct txn *t)
{
    pthread_mutex_lock(&q->mu);
    if (q->closed) { /* a front end still running while the manager stops */
        pthread_mutex_unlock(&q->mu);
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "the manager is stopping");
        t->complete(t);
        return;
    }
    t->seq = ++q->next_seq;
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    wake_send(&q->wake); /* under mu: txq_free, closing it, waits for mu */
    pthread_mutex_unlock(&q->mu);
}

unsigned txq_peak(struct txq *q)
{
    unsigned n = q->peak;

    q->peak = 0;
    return n;
}

uint64_t txq_applied(struct txq *q)
{
    return q->applied;
}
