/* The writer's cache of parsed records.
 *
 * The lifecycle engine journals an operation in many small steps, each of
 * which reads the operation and its deployment, changes a member and writes
 * them back. The writer connection is the only one that changes the
 * database (one vnfmd per data directory; every other connection is read
 * only), so it can keep the records it read or wrote parsed, across
 * transactions: a read gets a copy of the kept record (a copy costs a
 * quarter of a parse), and a write inside a transaction reaches the
 * backend once, in a batch, at the commit or before any query that could
 * see it. Records a rolled back transaction wrote are dropped. Reads
 * always return copies, so callers may change what they got. The cache
 * knows no backend: store.c hands its batches over.
 */
#include "store/store_backend.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DC_MAX  256 /* records kept; the least recently used clean one goes */
#define KEY_MAX 192

struct dc_entry {
    enum store_kind kind;
    json_t *doc;
    json_t *stored;               /* dirty: what the backend has, when known */
    bool dirty;                   /* written by the open transaction, not yet handed over */
    bool touched;                 /* written by the open transaction (dropped on rollback) */
    uint64_t order;               /* when it became dirty: writes are handed over in this order */
    struct dc_entry *prev, *next; /* most recently used first */
    char key[];
};

bool dc_cached_kind(enum store_kind kind)
{
    /* a write must meet a unique column at once (tokens' hashes) */
    return !store_kinds[kind].unique;
}

/* False for an id too long to key (such a record is not kept). */
static bool key_of(enum store_kind kind, const char *id, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "%d/%s", (int)kind, id) < len;
}

static void unlink_entry(struct dcache *c, struct dc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct dcache *c, struct dc_entry *e)
{
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(struct dcache *c, struct dc_entry *e)
{
    unlink_entry(c, e);
    hmap_del(&c->map, e->key);
    json_decref(e->doc);
    json_decref(e->stored);
    free(e);
    c->n--;
}

static struct dc_entry *find(struct dcache *c, enum store_kind kind, const char *id)
{
    char key[KEY_MAX];

    return key_of(kind, id, key, sizeof(key)) ? hmap_get(&c->map, key) : NULL;
}

/* Drops least recently used records that the backend has as they are. */
static void trim(struct dcache *c)
{
    struct dc_entry *e = c->tail;

    while (c->n > DC_MAX && e) {
        struct dc_entry *prev = e->prev;

        if (!e->touched)
            drop(c, e);
        e = prev;
    }
}

void dc_init(struct dcache *c)
{
    memset(c, 0, sizeof(*c));
    hmap_init(&c->map);
}

json_t *dc_get(struct dcache *c, enum store_kind kind, const char *id)
{
    struct dc_entry *e = find(c, kind, id);

    if (!e)
        return NULL;
    unlink_entry(c, e);
    push_front(c, e);
    return json_deep_copy(e->doc);
}

bool dc_keep(struct dcache *c, enum store_kind kind, const char *id, const json_t *doc, bool dirty)
{
    struct dc_entry *e = find(c, kind, id);
    char key[KEY_MAX];

    if (e) {
        unlink_entry(c, e);
        if (dirty && !e->dirty && !e->stored)
            e->stored = e->doc; /* the backend's version, to write only what changes */
        else
            json_decref(e->doc);
        if (!dirty) {
            json_decref(e->stored);
            e->stored = NULL;
        }
    } else {
        if (!key_of(kind, id, key, sizeof(key)))
            return false;
        e = xcalloc(1, sizeof(*e) + strlen(key) + 1);
        strcpy(e->key, key);
        e->kind = kind;
        hmap_put(&c->map, e->key, e);
        c->n++;
    }
    push_front(c, e);
    e->doc = json_deep_copy(doc);
    if (dirty && !e->dirty)
        e->order = ++c->writes;
    e->dirty = dirty;
    e->touched = e->touched || dirty;
    trim(c);
    return true;
}

const json_t *dc_stored(struct dcache *c, enum store_kind kind, const char *id)
{
    struct dc_entry *e = find(c, kind, id);

    return e && !e->dirty ? e->doc : NULL;
}

void dc_forget(struct dcache *c, enum store_kind kind, const char *id)
{
    struct dc_entry *e = find(c, kind, id);

    if (e)
        drop(c, e);
}

static int by_order(const void *a, const void *b)
{
    const struct dc_entry *x = *(struct dc_entry *const *)a, *y = *(struct dc_entry *const *)b;

    return x->order < y->order ? -1 : x->order > y->order;
}

/* In the order the transaction wrote them: new records take their places
 * in lists in that order (an outbox, say, comes back in it). */
int dc_flush(struct dcache *c, int kind, int (*fn)(void *arg, const struct store_batch *b),
             void *arg)
{
    struct dc_entry **dirty = NULL;
    struct store_write *w;
    size_t n = 0;
    int r;

    if (c->writes == c->clean_at)
        return fn(arg, &(struct store_batch){NULL, 0});
    for (struct dc_entry *e = c->head; e; e = e->next)
        if (e->dirty && (kind < 0 || e->kind == (enum store_kind)kind)) {
            dirty = xrealloc(dirty, (n + 1) * sizeof(*dirty));
            dirty[n++] = e;
        }
    if (n == 0) {
        if (kind < 0)
            c->clean_at = c->writes;
        return fn(arg, &(struct store_batch){NULL, 0});
    }
    qsort(dirty, n, sizeof(*dirty), by_order);
    w = xcalloc(n, sizeof(*w));
    for (size_t i = 0; i < n; i++)
        w[i] = (struct store_write){dirty[i]->kind,
                                    json_string_value(json_object_get(dirty[i]->doc, "id")),
                                    dirty[i]->doc, dirty[i]->stored};
    r = fn(arg, &(struct store_batch){w, n});
    for (size_t i = 0; i < n && r == 0; i++) {
        dirty[i]->dirty = false;
        json_decref(dirty[i]->stored);
        dirty[i]->stored = NULL;
    }
    if (r == 0 && kind < 0)
        c->clean_at = c->writes;
    free(w);
    free(dirty);
    return r;
}

void dc_end(struct dcache *c, bool committed)
{
    struct dc_entry *e = c->writes == c->untouched_at ? NULL : c->head;

    c->clean_at = c->untouched_at = c->writes;
    while (e) {
        struct dc_entry *next = e->next;

        if (e->touched && !committed)
            drop(c, e);
        else
            e->touched = e->dirty = false;
        e = next;
    }
    trim(c);
}

void dc_done(struct dcache *c)
{
    while (c->head)
        drop(c, c->head);
    hmap_done(&c->map);
}
