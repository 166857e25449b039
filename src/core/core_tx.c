/* Transactions of the loop thread's store connection, with the events and
 * after-commit callbacks that ride on them. */
#include "core/bus.h"
#include "core/core.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct deferred {
    void (*fn)(struct core *c, void *arg);
    void *arg;
    void (*free_arg)(void *arg);
    struct deferred *next;
};

struct pool_job {
    struct wpool *pool;
    struct wjob *job;
    struct pool_job *next;
};

int core_tx_begin(struct core *c)
{
    int r;

    if (c->tx_depth++ > 0)
        return 0;
    r = store_begin(c->st);
    if (r) {
        c->tx_depth = 0;
        log_error("store: cannot begin a transaction: %s", store_errmsg(c->st));
        return r;
    }
    c->tx_events = json_array();
    return 0;
}

static void free_deferred(struct deferred *d, bool run, struct core *c)
{
    while (d) {
        struct deferred *next = d->next;

        if (run)
            d->fn(c, d->arg);
        if (d->free_arg)
            d->free_arg(d->arg);
        free(d);
        d = next;
    }
}

/* The jobs of the transaction that ended, in the order they came; first of
 * all that follows a commit, so that the workers start before the event
 * subscribers (SSE, monitoring) wake up to compete with them. */
static void submit_jobs(struct core *c)
{
    struct pool_job *p = c->tx_jobs, *order = NULL;

    c->tx_jobs = NULL;
    while (p) {
        struct pool_job *next = p->next;

        p->next = order;
        order = p;
        p = next;
    }
    while (order) {
        struct pool_job *next = order->next;

        wpool_submit(order->pool, order->job);
        free(order);
        order = next;
    }
}

/* Deferred callbacks were pushed in front; run them in registration order. */
static struct deferred *reverse(struct deferred *d)
{
    struct deferred *out = NULL;

    while (d) {
        struct deferred *next = d->next;

        d->next = out;
        out = d;
        d = next;
    }
    return out;
}

int core_tx_commit(struct core *c)
{
    json_t *events;
    struct deferred *after, *first;
    size_t i;
    json_t *ev;
    int r;

    if (--c->tx_depth > 0)
        return 0;
    r = store_commit(c->st);
    events = c->tx_events;
    after = reverse(c->tx_after);
    first = reverse(c->tx_first);
    c->tx_events = NULL;
    c->tx_after = NULL;
    c->tx_first = NULL;
    free_deferred(first, r == 0, c);
    submit_jobs(c);
    if (r) {
        log_error("store: commit failed: %s", store_errmsg(c->st));
        store_rollback(c->st);
        json_decref(events);
        free_deferred(after, false, c);
        return r;
    }
    json_array_foreach(events, i, ev)
    {
        bus_publish(c->bus, ev);
    }
    json_decref(events);
    free_deferred(after, true, c);
    return 0;
}

void core_tx_abort(struct core *c)
{
    if (c->tx_depth == 0)
        return;
    c->tx_depth = 0;
    store_rollback(c->st);
    submit_jobs(c);
    json_decref(c->tx_events);
    c->tx_events = NULL;
    free_deferred(c->tx_after, false, c);
    c->tx_after = NULL;
    free_deferred(c->tx_first, false, c);
    c->tx_first = NULL;
}

static void defer(struct core *c, struct deferred **list, void (*fn)(struct core *c, void *arg),
                  void *arg, void (*free_arg)(void *arg))
{
    struct deferred *d;

    if (c->tx_depth == 0) {
        fn(c, arg);
        if (free_arg)
            free_arg(arg);
        return;
    }
    d = xmalloc(sizeof(*d));
    *d = (struct deferred){fn, arg, free_arg, *list};
    *list = d;
}

void core_after_commit(struct core *c, void (*fn)(struct core *c, void *arg), void *arg,
                       void (*free_arg)(void *arg))
{
    defer(c, &c->tx_after, fn, arg, free_arg);
}

void core_after_commit_first(struct core *c, void (*fn)(struct core *c, void *arg), void *arg,
                             void (*free_arg)(void *arg))
{
    defer(c, &c->tx_first, fn, arg, free_arg);
}

void core_submit(struct core *c, struct wpool *pool, struct wjob *job)
{
    struct pool_job *p;

    if (c->tx_depth == 0) {
        wpool_submit(pool, job);
        return;
    }
    p = xmalloc(sizeof(*p));
    *p = (struct pool_job){pool, job, c->tx_jobs};
    c->tx_jobs = p;
}

void core_event(struct core *c, const char *level, const char *category, const char *event,
                json_t *fields, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    json_t *rec;
    /* a member of a cluster that is not its primary journals nothing: the
     * event goes to its log file only */
    bool own_tx = c->tx_depth == 0, journal = !own_tx || store_may_write(c->st);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rec = json_pack("{s:s, s:s, s:s}", "level", level, "category", category, "event", event);
    if (fields)
        json_object_update(rec, fields);
    json_decref(fields);
    id_show_names(msg, doc_str(rec, "tenant")); /* names, not store keys (util/ids.h) */
    json_object_set_new(rec, "message", json_string(msg));
    if (journal && own_tx && core_tx_begin(c)) {
        json_decref(rec);
        return;
    }
    if (journal && store_log_append(c->st, rec) == 0)
        json_array_append(c->tx_events, rec);
    else if (journal)
        log_error("event log: cannot append: %s", store_errmsg(c->st));
    log_at(strcmp(level, "error") == 0  ? LOG_LVL_ERROR
           : strcmp(level, "warn") == 0 ? LOG_LVL_WARN
                                        : LOG_LVL_INFO,
           "%s %s: %s", category, event, msg);
    json_decref(rec);
    if (journal && own_tx)
        core_tx_commit(c);
}

bool principal_owns(const struct principal *p, const char *tenant)
{
    return p->admin || (tenant && strcmp(p->tenant, tenant) == 0);
}

json_t *core_load(struct core *c, enum store_kind k, const char *id)
{
    json_t *doc = NULL;

    return id && store_get(c->st, k, id, &doc) == 0 ? doc : NULL;
}

void core_audit(struct core *c, const struct principal *who, const char *kind, const char *id,
                const char *what)
{
    char obj[128];

    snprintf(obj, sizeof(obj), "%s/%s", kind, id);
    core_event(c, "info", "audit", "config",
               json_pack("{s:s, s:s, s:s?}", "object", obj, "result", what, "tenant",
                         who->admin ? NULL : who->tenant),
               "%s %s %s by %s", kind, id, what, who->token_id);
}
