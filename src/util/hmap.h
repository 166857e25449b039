/* A string-keyed hash map with chaining. Keys are copied; values are
 * borrowed pointers that the owner of the map manages. */
#ifndef VNFM_HMAP_H
#define VNFM_HMAP_H

#include <stddef.h>

struct hmap_entry {
    char *key;
    void *value;
    struct hmap_entry *next;
};

struct hmap {
    struct hmap_entry **buckets;
    size_t n_buckets, size;
};

void hmap_init(struct hmap *m);
/* Frees the entries (not the values). */
void hmap_done(struct hmap *m);
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *hmap_del(struct hmap *m, const char *key);

/* Iteration: for (e = hmap_first(m, &i); e; e = hmap_next(m, e, &i)).
 * The current entry may be deleted only after moving past it. */
struct hmap_entry *hmap_first(const struct hmap *m, size_t *i);
struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e, size_t *i);

#endif
