/* The etcd backend's copy of the store (store_etcd.h): every record, meta
 * value and event log record under the prefix, kept in memory so that no
 * read waits for the network. It is loaded page by page at one revision,
 * then a thread of its own applies the watch's events in revision order;
 * the writer applies its own commits at once (a revision the watch then
 * skips). A watch that fell behind etcd's compaction loads the store again
 * and swaps it in whole.
 */
#include "store/store_etcd.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE        1000 /* keys a load asks for at a time */
#define BACKOFF_MAX 2000 /* ms between two watches that would not start */
#define LOAD_TRIES  20   /* loads started over after a compaction (load) */

static const char *const log_fields[ELOG_FIELDS] = {"level",  "category",   "event",     "tenant",
                                                    "object", "deployment", "operation", "vi"};

/* ---- record versions and log entries ---- */

/* The public members of doc as JSON text. */
static char *public_text(const json_t *doc)
{
    json_t *p = json_object(), *v;
    const char *key;
    char *text;

    json_object_foreach((json_t *)doc, key, v)
    {
        if (key[0] != '_')
            json_object_set(p, key, v);
    }
    text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

struct erec *erec_new(enum store_kind kind, const char *id, json_t *doc, int64_t ord)
{
    struct erec *r = xcalloc(1, sizeof(*r) + strlen(id) + 1);

    atomic_init(&r->ref, 1);
    strcpy(r->id, id);
    r->kind = kind;
    r->doc = doc;
    r->ord = ord;
    r->pub = public_text(doc);
    return r;
}

struct erec *erec_ref(struct erec *r)
{
    atomic_fetch_add(&r->ref, 1);
    return r;
}

void erec_unref(struct erec *r)
{
    if (!r || atomic_fetch_sub(&r->ref, 1) != 1)
        return;
    json_decref(r->doc);
    free(r->pub);
    free(r);
}

struct elog *elog_new(const char *text)
{
    json_t *rec = json_loads(text, 0, NULL);
    struct elog *l;

    if (!rec)
        return NULL;
    l = xcalloc(1, sizeof(*l));
    l->seq = json_integer_value(json_object_get(rec, "seq"));
    if (time_parse(json_string_value(json_object_get(rec, "time")) ?: "", &l->ts))
        l->ts = 0;
    for (unsigned i = 0; i < ELOG_FIELDS; i++)
        l->f[i] = xstrdup(json_string_value(json_object_get(rec, log_fields[i])));
    l->tags = store_log_tags(json_object_get(rec, "tags"));
    l->text = xstrdup(text);
    json_decref(rec);
    return l;
}

void elog_free(struct elog *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < ELOG_FIELDS; i++)
        free(l->f[i]);
    free(l->tags);
    free(l->text);
    free(l);
}

/* ---- the data ---- */

static void edata_init(struct edata *d)
{
    memset(d, 0, sizeof(*d));
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        hmap_init(&d->k[k].ids);
    hmap_init(&d->meta);
}

static void edata_done(struct edata *d)
{
    size_t i;

    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        struct erec *r = d->k[k].head;

        while (r) {
            struct erec *next = r->next;

            r->prev = r->next = NULL;
            erec_unref(r);
            r = next;
        }
        hmap_done(&d->k[k].ids);
    }
    for (struct hmap_entry *e = hmap_first(&d->meta, &i); e; e = hmap_next(&d->meta, e, &i)) {
        struct emeta *m = e->value;

        free(m->value);
        free(m);
    }
    hmap_done(&d->meta);
    for (size_t j = d->log_start; j < d->log_end; j++)
        elog_free(d->log[j]);
    free(d->log);
}

static void unlink_rec(struct ekind *k, struct erec *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        k->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        k->tail = r->prev;
    r->prev = r->next = NULL;
}

/* In ord order; nearly always at the tail. */
static void link_rec(struct ekind *k, struct erec *r)
{
    struct erec *at = k->tail;

    while (at && at->ord > r->ord)
        at = at->prev;
    r->prev = at;
    r->next = at ? at->next : k->head;
    if (r->next)
        r->next->prev = r;
    else
        k->tail = r;
    if (at)
        at->next = r;
    else
        k->head = r;
}

void ecopy_put_rec(struct edata *d, struct erec *r)
{
    struct ekind *k = &d->k[r->kind];
    struct erec *old = hmap_put(&k->ids, r->id, r);

    if (old && old->ord == r->ord) { /* the same place */
        r->prev = old->prev;
        r->next = old->next;
        if (r->prev)
            r->prev->next = r;
        else
            k->head = r;
        if (r->next)
            r->next->prev = r;
        else
            k->tail = r;
        old->prev = old->next = NULL;
    } else {
        if (old)
            unlink_rec(k, old);
        else
            k->n++;
        link_rec(k, r);
    }
    erec_unref(old);
    if (r->ord > d->ord_max)
        d->ord_max = r->ord;
}

void ecopy_del_rec(struct edata *d, enum store_kind kind, const char *id)
{
    struct ekind *k = &d->k[kind];
    struct erec *old = hmap_del(&k->ids, id);

    if (!old)
        return;
    unlink_rec(k, old);
    k->n--;
    erec_unref(old);
}

void ecopy_put_meta(struct edata *d, const char *key, const char *value, int64_t mod_rev)
{
    struct emeta *m = hmap_get(&d->meta, key);

    if (!value) {
        if ((m = hmap_del(&d->meta, key))) {
            free(m->value);
            free(m);
        }
        return;
    }
    if (!m) {
        m = xcalloc(1, sizeof(*m));
        hmap_put(&d->meta, key, m);
    }
    free(m->value);
    m->value = xstrdup(value);
    m->mod_rev = mod_rev;
}

size_t ecopy_log_after(const struct edata *d, int64_t seq)
{
    size_t lo = d->log_start, hi = d->log_end;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (d->log[mid]->seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void ecopy_add_log(struct edata *d, struct elog *l)
{
    size_t at = ecopy_log_after(d, l->seq);

    if (at > d->log_start && d->log[at - 1]->seq == l->seq) { /* the same record again */
        elog_free(d->log[at - 1]);
        d->log[at - 1] = l;
        return;
    }
    if (d->log_end == d->log_cap) {
        if (d->log_start > d->log_cap / 2) { /* room at the front: move down */
            memmove(d->log, d->log + d->log_start, (d->log_end - d->log_start) * sizeof(*d->log));
            at -= d->log_start;
            d->log_end -= d->log_start;
            d->log_start = 0;
        } else {
            d->log_cap = d->log_cap ? d->log_cap * 2 : 256;
            d->log = xrealloc(d->log, d->log_cap * sizeof(*d->log));
        }
    }
    memmove(d->log + at + 1, d->log + at, (d->log_end - at) * sizeof(*d->log));
    d->log[at] = l;
    d->log_end++;
}

void ecopy_prune_log(struct edata *d, int64_t upto)
{
    while (d->log_start < d->log_end && d->log[d->log_start]->seq <= upto)
        elog_free(d->log[d->log_start++]);
    if (upto > d->log_floor)
        d->log_floor = upto;
}

/* One log record deleted by itself (a prune is a run of these). */
static void del_log(struct edata *d, int64_t seq)
{
    size_t at = ecopy_log_after(d, seq);

    if (at == d->log_start || d->log[at - 1]->seq != seq)
        return;
    if (at - 1 == d->log_start) {
        elog_free(d->log[d->log_start++]);
        return;
    }
    elog_free(d->log[at - 1]);
    memmove(d->log + at - 1, d->log + at, (d->log_end - at) * sizeof(*d->log));
    d->log_end--;
}

/* ---- applying keys ---- */

static int kind_of_table(const char *table, size_t len)
{
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        if (strlen(store_kinds[k].table) == len && strncmp(store_kinds[k].table, table, len) == 0)
            return k;
    return -1;
}

/* A record key's value: {"o": ORD, "d": DOC}. */
static void apply_rec(struct edata *d, const char *rest, const char *val, int64_t mod_rev)
{
    const char *slash = strchr(rest, '/');
    int kind = slash ? kind_of_table(rest, (size_t)(slash - rest)) : -1;
    json_t *v, *doc;
    struct erec *r;

    if (kind < 0)
        return;
    if (!val) {
        ecopy_del_rec(d, (enum store_kind)kind, slash + 1);
        return;
    }
    v = json_loads(val, 0, NULL);
    doc = json_object_get(v, "d");
    if (json_is_object(doc)) {
        r = erec_new((enum store_kind)kind, slash + 1, json_incref(doc),
                     etcd_int(json_object_get(v, "o")));
        r->mod_rev = mod_rev;
        ecopy_put_rec(d, r);
    } else {
        log_warn("store: etcd record %s is not one of ours; ignored", rest);
    }
    json_decref(v);
}

/* Applies a put (val) or a delete (val NULL) of key, a key under prefix. */
static void apply_key(struct edata *d, const char *prefix, const char *key, const char *val,
                      int64_t mod_rev)
{
    size_t n = strlen(prefix);
    const char *rest;

    if (strncmp(key, prefix, n) != 0)
        return;
    rest = key + n;
    if (strncmp(rest, "r/", 2) == 0) {
        apply_rec(d, rest + 2, val, mod_rev);
    } else if (strncmp(rest, "m/", 2) == 0) {
        ecopy_put_meta(d, rest + 2, val, mod_rev);
    } else if (strncmp(rest, "l/", 2) == 0) {
        struct elog *l = val ? elog_new(val) : NULL;

        if (l)
            ecopy_add_log(d, l);
        else if (!val)
            del_log(d, strtoll(rest + 2, NULL, 10));
    } else if (strcmp(rest, "s") == 0 && val) {
        ecopy_prune_log(d, strtoll(val, NULL, 10));
    } else if (strcmp(rest, "v") == 0) {
        d->version = val ? atoi(val) : 0;
    }
}

/* A kv of the gateway: {"key": b64, "value": b64, "mod_revision": "N"}. */
static void apply_kv(struct edata *d, const char *prefix, const json_t *kv, bool del)
{
    char *key = etcd_unb64(json_string_value(json_object_get(kv, "key")), NULL);
    char *val =
        del ? NULL : etcd_unb64(json_string_value(json_object_get(kv, "value")) ?: "", NULL);

    if (key && (del || val))
        apply_key(d, prefix, key, val, etcd_int(json_object_get(kv, "mod_revision")));
    free(key);
    free(val);
}

/* Loads every key under prefix, page by page at one revision (*rev). */
static int load_at_one_revision(struct etcd *cl, const char *prefix, struct edata *d, int64_t *rev)
{
    char *end = etcd_prefix_end(prefix), *from = xstrdup(prefix);
    size_t from_len = strlen(from);
    int64_t at = 0;
    int r = 0;

    for (bool more = true; more && r == 0;) {
        char *k64 = etcd_b64(from, from_len), *e64 = etcd_b64(end, strlen(end));
        json_t *req = json_pack("{s:s, s:s, s:i}", "key", k64, "range_end", e64, "limit", PAGE);
        json_t *resp = NULL, *kvs, *kv = NULL;
        size_t i;

        if (at)
            json_object_set_new(req, "revision", json_integer(at));
        r = etcd_call(cl, "/v3/kv/range", req, &resp);
        json_decref(req);
        free(k64);
        free(e64);
        if (r)
            break;
        if (!at)
            at = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
        kvs = json_object_get(resp, "kvs");
        json_array_foreach(kvs, i, kv)
        {
            apply_kv(d, prefix, kv, false);
        }
        more = json_is_true(json_object_get(resp, "more")) && json_array_size(kvs);
        if (more) { /* the next page starts just after the last key */
            free(from);
            from = etcd_unb64(json_string_value(json_object_get(kv, "key")), &from_len);
            from = xrealloc(from, from_len + 1);
            from[from_len++] = '\0';
        }
        json_decref(resp);
    }
    free(from);
    free(end);
    if (r == 0)
        *rev = at;
    return r;
}

/* Reads the whole store at one revision, page by page; starts over
 * (LOAD_TRIES times) when the primary's maintenance compacted that revision
 * away meanwhile. */
static int load(struct etcd *cl, const char *prefix, struct edata *d, int64_t *rev)
{
    int r = -ESTALE;

    for (unsigned tries = 0; r == -ESTALE && tries < LOAD_TRIES; tries++) {
        if (tries) {
            edata_done(d);
            edata_init(d);
        }
        r = load_at_one_revision(cl, prefix, d, rev);
    }
    return r;
}

/* ---- the watch ---- */

static void wake_waiters(struct ecopy *cp)
{
    pthread_mutex_lock(&cp->mu);
    pthread_cond_broadcast(&cp->cv);
    pthread_mutex_unlock(&cp->mu);
}

static int on_watch(void *arg, json_t *res)
{
    struct ecopy *cp = arg;
    json_t *events = json_object_get(res, "events"), *ev;
    size_t i;

    if (json_is_true(json_object_get(res, "canceled"))) {
        if (etcd_int(json_object_get(res, "compact_revision")))
            return -ESTALE;
        return -EPIPE;
    }
    if (json_is_true(json_object_get(res, "created"))) {
        atomic_store(&cp->connected, true);
        return 0;
    }
    if (!json_array_size(events))
        return 0;
    pthread_rwlock_wrlock(&cp->lock);
    {
        int64_t top = cp->rev;

        json_array_foreach(events, i, ev)
        {
            const json_t *kv = json_object_get(ev, "kv");
            int64_t mr = etcd_int(json_object_get(kv, "mod_revision"));

            if (mr <= cp->rev)
                continue; /* the writer applied it already */
            apply_kv(&cp->data, cp->prefix, kv,
                     json_is_string(json_object_get(ev, "type")) &&
                         strcmp(json_string_value(json_object_get(ev, "type")), "DELETE") == 0);
            if (mr > top)
                top = mr;
        }
        cp->rev = top;
    }
    pthread_rwlock_unlock(&cp->lock);
    wake_waiters(cp);
    return 0;
}

/* The watch fell behind etcd's compaction: the store again, swapped in. */
static int reload(struct ecopy *cp)
{
    struct edata fresh, old;
    int64_t rev;
    int r;

    edata_init(&fresh);
    r = load(cp->wc, cp->prefix, &fresh, &rev);
    if (r) {
        edata_done(&fresh);
        return r;
    }
    pthread_rwlock_wrlock(&cp->lock);
    old = cp->data;
    cp->data = fresh;
    if (rev > cp->rev)
        cp->rev = rev;
    pthread_rwlock_unlock(&cp->lock);
    edata_done(&old);
    log_info("store: reloaded from etcd at revision %lld (the watch fell behind compaction)",
             (long long)rev);
    return 0;
}

/* Sleeps ms unless the copy is closing. */
static void pause_ms(struct ecopy *cp, unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&cp->mu);
    if (!atomic_load(&cp->stop))
        pthread_cond_timedwait(&cp->cv, &cp->mu, &ts);
    pthread_mutex_unlock(&cp->mu);
}

static int watch_once(struct ecopy *cp)
{
    char *k64 = etcd_b64(cp->prefix, strlen(cp->prefix)), *end = etcd_prefix_end(cp->prefix);
    char *e64 = etcd_b64(end, strlen(end));
    json_t *req;
    int r;

    pthread_rwlock_rdlock(&cp->lock);
    req = json_pack("{s:{s:s, s:s, s:I}}", "create_request", "key", k64, "range_end", e64,
                    "start_revision", (json_int_t)(cp->rev + 1));
    pthread_rwlock_unlock(&cp->lock);
    r = etcd_stream(cp->wc, "/v3/watch", req, 0, on_watch, cp);
    json_decref(req);
    free(k64);
    free(e64);
    free(end);
    return r;
}

static void *watch_main(void *arg)
{
    struct ecopy *cp = arg;
    unsigned backoff = 50;

    while (!atomic_load(&cp->stop)) {
        uint64_t t0 = mono_ms();
        int r = watch_once(cp);
        bool was = atomic_exchange(&cp->connected, false);

        if (atomic_load(&cp->stop) || r == -EINTR)
            continue;
        if (r == -ESTALE)
            r = reload(cp);
        pthread_mutex_lock(&cp->mu);
        snprintf(cp->werr, sizeof(cp->werr), "%s", etcd_errmsg(cp->wc));
        pthread_mutex_unlock(&cp->mu);
        if (was)
            log_warn("store: the watch of etcd ended (%s); again", etcd_errmsg(cp->wc));
        if (mono_ms() - t0 > 5000 || r == 0)
            backoff = 50;
        pause_ms(cp, backoff);
        backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
    }
    return NULL;
}

/* ---- the copy ---- */

int ecopy_open(const char *endpoints, const char *prefix, struct ecopy **out, char *err,
               size_t errlen)
{
    struct ecopy *cp = xcalloc(1, sizeof(*cp));
    pthread_rwlockattr_t ra;
    int r;

    /* the writer's commits must not wait behind a stream of readers */
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&cp->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&cp->mu, NULL);
    pthread_cond_init(&cp->cv, NULL);
    atomic_init(&cp->refs, 1);
    edata_init(&cp->data);
    cp->endpoints = xstrdup(endpoints);
    cp->prefix = xstrdup(prefix);
    r = etcd_open(endpoints, 0, &cp->wc, err, errlen);
    if (r == 0 && (r = load(cp->wc, prefix, &cp->data, &cp->rev)))
        snprintf(err, errlen, "cannot read the store from etcd: %s", etcd_errmsg(cp->wc));
    if (r == 0) {
        r = -pthread_create(&cp->th, NULL, watch_main, cp);
        cp->th_started = r == 0;
        if (r)
            snprintf(err, errlen, "cannot start the watch of etcd: %s", strerror(-r));
    }
    if (r) {
        ecopy_unref(cp);
        return r;
    }
    *out = cp;
    return 0;
}

struct ecopy *ecopy_ref(struct ecopy *cp)
{
    atomic_fetch_add(&cp->refs, 1);
    return cp;
}

void ecopy_unref(struct ecopy *cp)
{
    if (!cp || atomic_fetch_sub(&cp->refs, 1) != 1)
        return;
    atomic_store(&cp->stop, true);
    if (cp->th_started) {
        etcd_wake(cp->wc);
        wake_waiters(cp);
        pthread_join(cp->th, NULL);
    }
    etcd_close(cp->wc);
    edata_done(&cp->data);
    pthread_rwlock_destroy(&cp->lock);
    pthread_mutex_destroy(&cp->mu);
    pthread_cond_destroy(&cp->cv);
    free(cp->endpoints);
    free(cp->prefix);
    free(cp);
}

int ecopy_wait(struct ecopy *cp, int64_t rev, unsigned timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;

    for (;;) {
        int64_t have;
        uint64_t now = mono_ms();

        pthread_rwlock_rdlock(&cp->lock);
        have = cp->rev;
        pthread_rwlock_unlock(&cp->lock);
        if (have >= rev)
            return 0;
        if (now >= deadline || atomic_load(&cp->stop))
            return -ETIMEDOUT;
        pause_ms(cp, (unsigned)(deadline - now < 50 ? deadline - now : 50));
    }
}
