#include "core/bus.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bus_sub {
    struct bus *bus;
    struct bus_filter f;
    int64_t pos;
    bool parked;
    void (*wake)(void *arg);
    void *arg;
    struct bus_sub *prev, *next;
};

struct bus {
    pthread_mutex_t mu;
    pthread_cond_t woken; /* no wake callback runs any more */
    unsigned waking;      /* wake callbacks running outside the lock */
    json_t **ring;        /* ring[seq % size] */
    size_t size;
    int64_t last; /* seq of the newest record */
    bool closed;
    struct bus_sub *subs;
};

struct bus *bus_new(size_t ring_size)
{
    struct bus *b = xcalloc(1, sizeof(*b));

    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->woken, NULL);
    b->size = ring_size;
    b->ring = xcalloc(ring_size, sizeof(*b->ring));
    return b;
}

void bus_free(struct bus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->size; i++)
        json_decref(b->ring[i]);
    free(b->ring);
    pthread_cond_destroy(&b->woken);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* Collects parked subscribers into a wake list (bus lock held); their
 * wake callbacks are running from now until wake_list() has returned. */
static size_t unpark_all(struct bus *b, struct bus_sub ***list)
{
    size_t n = 0, cap = 0;
    struct bus_sub **out = NULL;

    for (struct bus_sub *s = b->subs; s; s = s->next) {
        if (!s->parked)
            continue;
        s->parked = false;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            out = xrealloc(out, cap * sizeof(*out));
        }
        out[n++] = s;
    }
    *list = out;
    b->waking++;
    return n;
}

/* Calls the wake callbacks outside the lock; bus_unsubscribe() waits for
 * them, so that a subscriber that leaves while parked (its client went
 * away) is never woken after it is gone. */
static void wake_list(struct bus *b, struct bus_sub **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        list[i]->wake(list[i]->arg);
    free(list);
    pthread_mutex_lock(&b->mu);
    if (--b->waking == 0)
        pthread_cond_broadcast(&b->woken);
    pthread_mutex_unlock(&b->mu);
}

void bus_publish(struct bus *b, const json_t *rec)
{
    int64_t seq = json_integer_value(json_object_get(rec, "seq"));
    struct bus_sub **list;
    size_t n;

    pthread_mutex_lock(&b->mu);
    if (seq <= b->last) {
        pthread_mutex_unlock(&b->mu);
        return;
    }
    json_decref(b->ring[seq % (int64_t)b->size]);
    b->ring[seq % (int64_t)b->size] = json_deep_copy(rec);
    b->last = seq;
    n = unpark_all(b, &list);
    pthread_mutex_unlock(&b->mu);
    wake_list(b, list, n);
}

void bus_wake_all(struct bus *b)
{
    struct bus_sub **list;
    size_t n;

    pthread_mutex_lock(&b->mu);
    n = unpark_all(b, &list);
    pthread_mutex_unlock(&b->mu);
    wake_list(b, list, n);
}

void bus_close(struct bus *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    pthread_mutex_unlock(&b->mu);
    bus_wake_all(b);
}

int64_t bus_last_seq(struct bus *b)
{
    int64_t seq;

    pthread_mutex_lock(&b->mu);
    seq = b->last;
    pthread_mutex_unlock(&b->mu);
    return seq;
}

void bus_set_last(struct bus *b, int64_t seq)
{
    pthread_mutex_lock(&b->mu);
    b->last = seq;
    pthread_mutex_unlock(&b->mu);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

struct bus_sub *bus_subscribe(struct bus *b, const struct bus_filter *f, int64_t after,
                              void (*wake)(void *arg), void *arg)
{
    struct bus_sub *s = xcalloc(1, sizeof(*s));

    s->bus = b;
    s->f.deployment = dup_or_null(f->deployment);
    s->f.operation = dup_or_null(f->operation);
    s->f.category = dup_or_null(f->category);
    s->wake = wake;
    s->arg = arg;
    pthread_mutex_lock(&b->mu);
    s->pos = after < 0 ? b->last : after;
    s->next = b->subs;
    if (b->subs)
        b->subs->prev = s;
    b->subs = s;
    pthread_mutex_unlock(&b->mu);
    return s;
}

void bus_unsubscribe(struct bus_sub *s)
{
    struct bus *b;

    if (!s)
        return;
    b = s->bus;
    pthread_mutex_lock(&b->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        b->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    while (b->waking)
        pthread_cond_wait(&b->woken, &b->mu);
    pthread_mutex_unlock(&b->mu);
    free(s->f.deployment);
    free(s->f.operation);
    free(s->f.category);
    free(s);
}

static bool field_matches(const json_t *rec, const char *key, const char *want)
{
    const char *v;

    if (!want)
        return true;
    v = json_string_value(json_object_get(rec, key));
    return v && strcmp(v, want) == 0;
}

bool bus_match(const struct bus_sub *s, const json_t *rec)
{
    return field_matches(rec, "deployment", s->f.deployment) &&
           field_matches(rec, "operation", s->f.operation) &&
           field_matches(rec, "category", s->f.category);
}

enum bus_read_rc bus_read(struct bus_sub *s, json_t **out, void (*park)(void *arg))
{
    struct bus *b = s->bus;
    enum bus_read_rc rc = BUS_PARK;

    pthread_mutex_lock(&b->mu);
    while (s->pos < b->last) {
        json_t *rec = b->ring[(s->pos + 1) % (int64_t)b->size];

        if (!rec || json_integer_value(json_object_get(rec, "seq")) != s->pos + 1) {
            rc = BUS_BEHIND;
            goto out;
        }
        s->pos++;
        if (bus_match(s, rec)) {
            *out = json_incref(rec);
            rc = BUS_DATA;
            goto out;
        }
    }
    if (b->closed) {
        rc = BUS_CLOSED;
        goto out;
    }
    s->parked = true;
    park(s->arg);
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int64_t bus_sub_pos(const struct bus_sub *s)
{
    return s->pos;
}

void bus_sub_seek(struct bus_sub *s, int64_t seq)
{
    pthread_mutex_lock(&s->bus->mu);
    if (seq > s->pos)
        s->pos = seq;
    pthread_mutex_unlock(&s->bus->mu);
}
