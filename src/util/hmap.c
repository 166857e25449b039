#include "util/hmap.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void hmap_init(struct hmap *m)
{
    m->n_buckets = 16;
    m->size = 0;
    m->buckets = xcalloc(m->n_buckets, sizeof(*m->buckets));
}

void hmap_done(struct hmap *m)
{
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct hmap_entry *e = m->buckets[i];

        while (e) {
            struct hmap_entry *next = e->next;

            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->n_buckets = m->size = 0;
}

static struct hmap_entry **slot(const struct hmap *m, const char *key)
{
    struct hmap_entry **p = &m->buckets[hash(key) & (m->n_buckets - 1)];

    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

static void grow(struct hmap *m)
{
    struct hmap old = *m;

    m->n_buckets *= 2;
    m->buckets = xcalloc(m->n_buckets, sizeof(*m->buckets));
    for (size_t i = 0; i < old.n_buckets; i++) {
        struct hmap_entry *e = old.buckets[i];

        while (e) {
            struct hmap_entry *next = e->next;
            struct hmap_entry **b = &m->buckets[hash(e->key) & (m->n_buckets - 1)];

            e->next = *b;
            *b = e;
            e = next;
        }
    }
    free(old.buckets);
}

void *hmap_get(const struct hmap *m, const char *key)
{
    struct hmap_entry *e = *slot(m, key);

    return e ? e->value : NULL;
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
    struct hmap_entry **p = slot(m, key);
    void *old;

    if (*p) {
        old = (*p)->value;
        (*p)->value = value;
        return old;
    }
    *p = xmalloc(sizeof(**p));
    (*p)->key = xstrdup(key);
    (*p)->value = value;
    (*p)->next = NULL;
    if (++m->size > m->n_buckets)
        grow(m);
    return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
    struct hmap_entry **p = slot(m, key);
    struct hmap_entry *e = *p;
    void *value;

    if (!e)
        return NULL;
    *p = e->next;
    value = e->value;
    free(e->key);
    free(e);
    m->size--;
    return value;
}

struct hmap_entry *hmap_first(const struct hmap *m, size_t *i)
{
    for (*i = 0; *i < m->n_buckets; (*i)++)
        if (m->buckets[*i])
            return m->buckets[*i];
    return NULL;
}

struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e, size_t *i)
{
    if (e->next)
        return e->next;
    for ((*i)++; *i < m->n_buckets; (*i)++)
        if (m->buckets[*i])
            return m->buckets[*i];
    return NULL;
}
