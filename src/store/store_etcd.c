/* The distributed store backend: the same records, meta and event log as
 * SQLite, kept in etcd (store_etcd.h has the keys) so that several
 * managers share one store and a standby takes over from a primary.
 *
 * Reads never wait for the network: every handle reads the process's copy
 * of the store (store_etcd_copy.c), which a watch keeps current. The
 * writer stages a transaction's writes in memory, where its own reads see
 * them, and commits them as one etcd transaction that compares the
 * revision of every key it touches with the revision its copy has (a copy
 * that missed a change cannot overwrite it: -ESTALE) and, once fenced
 * (store_fence), the create revision of the leader's key (a deposed
 * primary cannot commit: -EPERM). A committed transaction goes into the
 * copy at once. A reader's transaction is a snapshot: the copy's records at
 * its begin, by reference.
 *
 * etcd refuses a transaction of more operations than its --max-txn-ops
 * (128 by default): run it with a larger one (docs/HA.md).
 */
#include "store/store_etcd.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFIX "vnfm"
#define COMPACT_EVERY  1000 /* commits between two compactions */
#define COMPACT_KEEP   1000 /* revisions a compaction keeps, for watches that lag */
#define SEQ_FMT        "%020lld"
#define WATCH_WAIT_MS  5000 /* how long an unfenced commit waits for the watch */
#define COMMIT_MS      4000 /* a commit's attempts, before it fails (the loop waits) */
#define CALL_MS        1000 /* one attempt; then the next member */

static struct eh *eh_of(void *be)
{
    return be;
}

static const char *ee_errmsg(void *be)
{
    return eh_of(be)->err;
}

int eh_fail(struct eh *h, int r, const char *fmt, const char *arg)
{
    snprintf(h->err, sizeof(h->err), fmt, arg);
    return r;
}

/* ---- keys ---- */

static char *rec_key(const struct eh *h, enum store_kind kind, const char *id)
{
    return xasprintf("%sr/%s/%s", h->cp->prefix, store_kinds[kind].table, id);
}

static char *b64s(const char *s)
{
    return etcd_b64(s, strlen(s));
}

/* ---- staging (the writer's open transaction) ---- */

static void clear_stage(struct eh *h)
{
    size_t i;

    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        for (struct hmap_entry *e = hmap_first(&h->staged[k], &i); e;
             e = hmap_next(&h->staged[k], e, &i)) {
            struct estage *s = e->value;

            erec_unref(s->rec);
            free(s);
        }
        hmap_done(&h->staged[k]);
        hmap_init(&h->staged[k]);
        h->n_staged[k] = 0;
    }
    for (struct hmap_entry *e = hmap_first(&h->mstaged, &i); e; e = hmap_next(&h->mstaged, e, &i)) {
        struct emstage *m = e->value;

        free(m->value);
        free(m);
    }
    hmap_done(&h->mstaged);
    hmap_init(&h->mstaged);
    for (size_t j = 0; j < h->n_logs; j++)
        elog_free(h->logs[j]);
    free(h->logs);
    h->logs = NULL;
    h->n_logs = 0;
    h->prune_upto = 0;
}

/* The record of kind id as the writer sees it: staged, else the copy's
 * (the copy's read lock held). */
static const struct erec *seen(struct eh *h, enum store_kind kind, const char *id,
                               struct estage **st)
{
    struct estage *s = h->writer ? hmap_get(&h->staged[kind], id) : NULL;

    if (st)
        *st = s;
    return s ? s->rec : hmap_get(&h->cp->data.k[kind].ids, id);
}

/* Whether another record of kind already has doc's value of the kind's
 * unique column (the copy's read lock held). */
static bool clashes(struct eh *h, enum store_kind kind, const char *id, const json_t *doc)
{
    const char *col = store_kinds[kind].unique;
    const json_t *v = col ? json_object_get(doc, col) : NULL;
    size_t i;

    if (!v || json_is_null(v))
        return false;
    for (struct erec *r = h->cp->data.k[kind].head; r; r = r->next)
        if (strcmp(r->id, id) != 0 && !hmap_get(&h->staged[kind], r->id) &&
            json_equal(json_object_get(r->doc, col), v))
            return true;
    for (struct hmap_entry *e = hmap_first(&h->staged[kind], &i); e;
         e = hmap_next(&h->staged[kind], e, &i)) {
        struct estage *s = e->value;

        if (s->rec && strcmp(e->key, id) != 0 && json_equal(json_object_get(s->rec->doc, col), v))
            return true;
    }
    return false;
}

static struct estage *stage_of(struct eh *h, enum store_kind kind, const char *id,
                               const struct erec *live)
{
    struct estage *s = xcalloc(1, sizeof(*s));

    s->live_rev = live ? live->mod_rev : 0;
    hmap_put(&h->staged[kind], id, s);
    h->n_staged[kind]++;
    return s;
}

static int stage_put(struct eh *h, enum store_kind kind, const char *id, const json_t *doc)
{
    struct ecopy *cp = h->cp;
    struct estage *s;
    const struct erec *live;
    int64_t ord;

    pthread_rwlock_rdlock(&cp->lock);
    if (clashes(h, kind, id, doc)) {
        pthread_rwlock_unlock(&cp->lock);
        snprintf(h->err, sizeof(h->err), "another %s has this %s", store_kinds[kind].name,
                 store_kinds[kind].unique);
        return -EEXIST;
    }
    live = hmap_get(&cp->data.k[kind].ids, id);
    s = hmap_get(&h->staged[kind], id);
    if (s && s->rec)
        ord = s->rec->ord; /* rewritten: keeps its place */
    else if (!s && live)
        ord = live->ord;
    else /* new, or deleted and written again: last */
        ord = h->ord_last = (cp->data.ord_max > h->ord_last ? cp->data.ord_max : h->ord_last) + 1;
    if (!s)
        s = stage_of(h, kind, id, live);
    pthread_rwlock_unlock(&cp->lock);
    erec_unref(s->rec);
    s->rec = erec_new(kind, id, json_deep_copy(doc), ord);
    return 0;
}

static int stage_delete(struct eh *h, enum store_kind kind, const char *id)
{
    struct ecopy *cp = h->cp;
    struct estage *s;
    const struct erec *r;

    pthread_rwlock_rdlock(&cp->lock);
    r = seen(h, kind, id, &s);
    if (r && !s)
        s = stage_of(h, kind, id, r);
    pthread_rwlock_unlock(&cp->lock);
    if (!r)
        return eh_fail(h, -ENOENT, "no such %s", store_kinds[kind].name);
    erec_unref(s->rec);
    s->rec = NULL;
    return 0;
}

static int ee_write(void *be, const struct store_batch *b)
{
    struct eh *h = be;
    int r = 0;

    if (!h->writer)
        return eh_fail(h, -EROFS, "%s", "a reader cannot write");
    for (size_t i = 0; i < b->n && r == 0; i++)
        r = b->w[i].doc ? stage_put(h, b->w[i].kind, b->w[i].id, b->w[i].doc)
                        : stage_delete(h, b->w[i].kind, b->w[i].id);
    return r;
}

/* ---- snapshots (a reader's transaction) ---- */

static void snap_free(struct esnap *s)
{
    size_t i;

    if (!s)
        return;
    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        for (size_t j = 0; j < s->n[k]; j++)
            erec_unref(s->recs[k][j]);
        free(s->recs[k]);
        hmap_done(&s->ids[k]);
    }
    for (struct hmap_entry *e = hmap_first(&s->meta, &i); e; e = hmap_next(&s->meta, e, &i))
        free(e->value);
    hmap_done(&s->meta);
    free(s);
}

int64_t edata_last_seq(const struct edata *d)
{
    int64_t top = d->log_end > d->log_start ? d->log[d->log_end - 1]->seq : 0;

    return top > d->log_floor ? top : d->log_floor;
}

static struct esnap *snap_take(struct ecopy *cp)
{
    struct esnap *s = xcalloc(1, sizeof(*s));
    struct edata *d = &cp->data;
    size_t i;

    hmap_init(&s->meta);
    pthread_rwlock_rdlock(&cp->lock);
    for (int k = 0; k < STORE_KIND_COUNT; k++) {
        size_t j = 0;

        hmap_init(&s->ids[k]);
        s->recs[k] = xmalloc((d->k[k].n ? d->k[k].n : 1) * sizeof(*s->recs[k]));
        for (struct erec *r = d->k[k].head; r; r = r->next)
            s->recs[k][j++] = erec_ref(r);
        s->n[k] = j;
    }
    for (struct hmap_entry *e = hmap_first(&d->meta, &i); e; e = hmap_next(&d->meta, e, &i))
        hmap_put(&s->meta, e->key, xstrdup(((struct emeta *)e->value)->value));
    s->last_seq = edata_last_seq(d);
    pthread_rwlock_unlock(&cp->lock);
    return s;
}

/* ---- transactions ---- */

static int ee_begin(void *be)
{
    struct eh *h = be;

    if (!h->writer) {
        snap_free(h->snap);
        h->snap = snap_take(h->cp);
        return 0;
    }
    clear_stage(h);
    h->in_tx = true;
    return 0;
}

static void ee_rollback(void *be)
{
    struct eh *h = be;

    snap_free(h->snap);
    h->snap = NULL;
    if (h->writer)
        clear_stage(h);
    h->in_tx = false;
}

static json_t *compare_mod(const char *key, int64_t rev)
{
    char *k = b64s(key);
    json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "key", k, "target", "MOD", "result", "EQUAL",
                          "mod_revision", (json_int_t)rev);

    free(k);
    return c;
}

static json_t *op_put(const char *key, const char *value)
{
    char *k = b64s(key), *v = b64s(value);
    json_t *op = json_pack("{s:{s:s, s:s}}", "request_put", "key", k, "value", v);

    free(k);
    free(v);
    return op;
}

static json_t *op_delete(const char *key, const char *end)
{
    char *k = b64s(key), *e = end ? b64s(end) : NULL;
    json_t *op = json_pack("{s:{s:s}}", "request_delete_range", "key", k);

    if (e)
        json_object_set_new(json_object_get(op, "request_delete_range"), "range_end",
                            json_string(e));
    free(k);
    free(e);
    return op;
}

/* The compares and operations of the staged records. */
static void txn_records(struct eh *h, json_t *cmp, json_t *ops)
{
    size_t i;

    for (int k = 0; k < STORE_KIND_COUNT; k++)
        for (struct hmap_entry *e = hmap_first(&h->staged[k], &i); e;
             e = hmap_next(&h->staged[k], e, &i)) {
            struct estage *s = e->value;
            char *key, *val;

            if (!s->rec && !s->live_rev)
                continue; /* written and deleted again: nothing */
            key = rec_key(h, (enum store_kind)k, e->key);
            json_array_append_new(cmp, compare_mod(key, s->live_rev));
            if (s->rec) {
                json_t *v = json_pack("{s:I, s:O}", "o", (json_int_t)s->rec->ord, "d", s->rec->doc);

                val = json_dumps(v, JSON_COMPACT);
                json_decref(v);
                json_array_append_new(ops, op_put(key, val));
                free(val);
            } else {
                json_array_append_new(ops, op_delete(key, NULL));
            }
            free(key);
        }
}

/* Meta, log records and a prune. */
static void txn_rest(struct eh *h, json_t *cmp, json_t *ops)
{
    const char *p = h->cp->prefix;
    char key[512], end[64], floor[32];
    size_t i;

    for (struct hmap_entry *e = hmap_first(&h->mstaged, &i); e; e = hmap_next(&h->mstaged, e, &i)) {
        struct emstage *m = e->value;

        snprintf(key, sizeof(key), "%sm/%s", p, e->key);
        json_array_append_new(cmp, compare_mod(key, m->live_rev));
        json_array_append_new(ops, op_put(key, m->value));
    }
    for (size_t j = 0; j < h->n_logs; j++) {
        snprintf(key, sizeof(key), "%sl/" SEQ_FMT, p, (long long)h->logs[j]->seq);
        json_array_append_new(ops, op_put(key, h->logs[j]->text));
    }
    if (h->prune_upto) {
        snprintf(key, sizeof(key), "%sl/", p);
        snprintf(end, sizeof(end), SEQ_FMT, (long long)h->prune_upto + 1);
        {
            char *e = xasprintf("%sl/%s", p, end);

            json_array_append_new(ops, op_delete(key, e));
            free(e);
        }
        snprintf(key, sizeof(key), "%ss", p);
        snprintf(floor, sizeof(floor), "%lld", (long long)h->prune_upto);
        json_array_append_new(ops, op_put(key, floor));
    }
}

/* The request of the staged transaction; NULL when it writes nothing. */
static json_t *txn_request(struct eh *h)
{
    json_t *cmp = json_array(), *ops = json_array(), *fail_ops = json_array();
    char *fk, *mk;

    txn_records(h, cmp, ops);
    txn_rest(h, cmp, ops);
    if (!json_array_size(ops)) {
        json_decref(cmp);
        json_decref(ops);
        json_decref(fail_ops);
        return NULL;
    }
    if (h->fence_key) {
        fk = b64s(h->fence_key);
        json_array_append_new(cmp, json_pack("{s:s, s:s, s:s, s:I}", "key", fk, "target", "CREATE",
                                             "result", "EQUAL", "create_revision",
                                             (json_int_t)h->fence_rev));
        json_array_append_new(fail_ops, json_pack("{s:{s:s}}", "request_range", "key", fk));
        free(fk);
    }
    /* the marker of this transaction, read back when an attempt's outcome is unknown */
    snprintf(h->txn_mark, sizeof(h->txn_mark), "%s/%llu", h->uid, (unsigned long long)++h->txn_no);
    mk = xasprintf("%st", h->cp->prefix);
    json_array_append_new(ops, op_put(mk, h->txn_mark));
    fk = b64s(mk);
    json_array_append_new(fail_ops, json_pack("{s:{s:s}}", "request_range", "key", fk));
    free(fk);
    free(mk);
    return json_pack("{s:o, s:o, s:o}", "compare", cmp, "success", ops, "failure", fail_ops);
}

/* What the committed transaction changed, into the copy (its write lock
 * held); rev: as of that revision. */
static void apply_stage(struct eh *h, int64_t rev)
{
    struct edata *d = &h->cp->data;
    size_t i;

    for (int k = 0; k < STORE_KIND_COUNT; k++)
        for (struct hmap_entry *e = hmap_first(&h->staged[k], &i); e;
             e = hmap_next(&h->staged[k], e, &i)) {
            struct estage *s = e->value;

            if (s->rec) {
                s->rec->mod_rev = rev;
                ecopy_put_rec(d, erec_ref(s->rec));
            } else {
                ecopy_del_rec(d, (enum store_kind)k, e->key);
            }
        }
    for (struct hmap_entry *e = hmap_first(&h->mstaged, &i); e; e = hmap_next(&h->mstaged, e, &i))
        ecopy_put_meta(d, e->key, ((struct emstage *)e->value)->value, rev);
    if (h->prune_upto)
        ecopy_prune_log(d, h->prune_upto);
    for (size_t j = 0; j < h->n_logs; j++)
        ecopy_add_log(d, h->logs[j]);
    h->n_logs = 0; /* the copy owns them now */
}

/* The transaction committed at revision rev: readers see it once this
 * returns. A fenced writer is the only one that writes the store, and its
 * copy had every change before its fence: it puts its own changes into the
 * copy at once, and the watch skips that revision. Any other waits for the
 * watch to bring them (and, should the watch be down, puts them in without
 * skipping anything: the watch brings them again later). */
static void apply_commit(struct eh *h, int64_t rev)
{
    struct ecopy *cp = h->cp;
    bool fast = h->fence_key != NULL;

    if (!fast && ecopy_wait(cp, rev, WATCH_WAIT_MS) == 0)
        return;
    pthread_rwlock_wrlock(&cp->lock);
    if (cp->rev < rev) { /* else the watch was first */
        apply_stage(h, rev);
        if (fast)
            cp->rev = rev;
    }
    pthread_rwlock_unlock(&cp->lock);
}

/* Why etcd refused the transaction's compares: failure returned the
 * leader's key (when fenced), then the transaction marker. An earlier
 * attempt of this very transaction that went through after all is success,
 * at the revision it was applied (*rev). Even a first attempt may meet its
 * own earlier self: libcurl sends a request again on a fresh connection
 * when a reused one dies without an answer, and a member killed right after
 * it proposed the transaction gives no answer (seen as "could not
 * connect" to it), while the next leader commits it. */
static int refused(struct eh *h, json_t *resp, int64_t *rev)
{
    json_t *rs = json_object_get(resp, "responses");
    unsigned i = 0;
    const json_t *kv;
    char *mark;

    if (h->fence_key) {
        kv = json_array_get(
            json_object_get(json_object_get(json_array_get(rs, i++), "response_range"), "kvs"), 0);
        if (etcd_int(json_object_get(kv, "create_revision")) != h->fence_rev)
            return eh_fail(h, -EPERM, "%s",
                           "not the primary any more: the leader key is another's");
    }
    kv = json_array_get(
        json_object_get(json_object_get(json_array_get(rs, i), "response_range"), "kvs"), 0);
    mark = etcd_unb64(json_string_value(json_object_get(kv, "value")) ?: "", NULL);
    if (mark && strcmp(mark, h->txn_mark) == 0) {
        *rev = etcd_int(json_object_get(kv, "mod_revision"));
        free(mark);
        return 0;
    }
    free(mark);
    return eh_fail(h, -ESTALE, "%s", "a record changed in etcd since this manager read it");
}

/* A transaction refused on its compares: which key this manager's copy had
 * at another revision than etcd (the log says, to find how a copy can fall
 * behind its own writer). */
static void explain_stale(struct eh *h, const json_t *req)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(req, "compare"), i, c)
    {
        const char *k64 = json_string_value(json_object_get(c, "key"));
        json_t *q = json_pack("{s:s}", "key", k64), *resp = NULL;
        int64_t want = etcd_int(json_object_get(c, "mod_revision")), have;

        if (strcmp(json_string_value(json_object_get(c, "target")) ?: "", "MOD") ||
            etcd_call(h->cl, "/v3/kv/range", q, &resp)) {
            json_decref(q);
            continue;
        }
        have = etcd_int(
            json_object_get(json_array_get(json_object_get(resp, "kvs"), 0), "mod_revision"));
        if (have != want) {
            char *key = etcd_unb64(k64, NULL);

            log_warn("store: %s is at revision %lld in etcd, at %lld in this manager's copy "
                     "(copy at %lld)",
                     key ? key : "?", (long long)have, (long long)want, (long long)h->cp->rev);
            free(key);
        }
        json_decref(resp);
        json_decref(q);
    }
}

/* Sends the transaction until etcd has answered whether it applied it. An
 * attempt whose answer did not come (a member that died with it, a leader
 * election) is sent again, to the next member: its compares make a second
 * application impossible, and the marker it writes (P/d/t) tells an
 * attempt that went through from one that did not. */
static int send_txn(struct eh *h, json_t *req)
{
    uint64_t deadline = mono_ms() + COMMIT_MS;
    int64_t rev = 0;
    int r;

    for (;;) {
        json_t *resp = NULL;

        if (atomic_load(&h->unfenced))
            return eh_fail(h, -EPERM, "%s", "not the primary any more: its lease is lost");
        r = etcd_call(h->cl, "/v3/kv/txn", req, &resp);
        if (r == 0 && json_is_true(json_object_get(resp, "succeeded")))
            rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
        else if (r == 0)
            r = refused(h, resp, &rev);
        json_decref(resp);
        if (r == -E2BIG)
            return eh_fail(h, r, "%s: raise etcd's --max-txn-ops (docs/HA.md)", etcd_errmsg(h->cl));
        /* fenced: the lease decides how long to wait (store_unfence) */
        if ((r != -ETIMEDOUT && r != -ENOTCONN) || (!h->fence_key && mono_ms() >= deadline))
            break;
    }
    if (r == -ETIMEDOUT || r == -ENOTCONN)
        return eh_fail(h, r, "%s", etcd_errmsg(h->cl));
    if (r == -ESTALE)
        explain_stale(h, req);
    if (r == 0)
        apply_commit(h, rev);
    return r;
}

static int ee_commit(void *be, const struct store_batch *b)
{
    struct eh *h = be;
    json_t *req;
    int r = ee_write(h, b);

    if (r)
        return r;
    req = txn_request(h);
    if (req) {
        r = send_txn(h, req);
        json_decref(req);
        if (r)
            return r;
        h->commits++;
    }
    clear_stage(h);
    h->in_tx = false;
    return 0;
}

/* ---- reading records ---- */

typedef bool (*rec_fn)(void *arg, const struct erec *r);

static int by_ord(const void *a, const void *b)
{
    const struct erec *x = *(struct erec *const *)a, *y = *(struct erec *const *)b;

    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* The staged records of kind that do not take the place of one of the
 * copy's (new ones, and those deleted and written again), by ord. */
static size_t staged_new(struct eh *h, enum store_kind kind, struct erec ***out)
{
    struct erec **v = xmalloc((h->n_staged[kind] + 1) * sizeof(*v));
    size_t n = 0, i;

    for (struct hmap_entry *e = hmap_first(&h->staged[kind], &i); e;
         e = hmap_next(&h->staged[kind], e, &i)) {
        struct estage *s = e->value;
        const struct erec *live = hmap_get(&h->cp->data.k[kind].ids, e->key);

        if (s->rec && (!live || live->ord != s->rec->ord))
            v[n++] = s->rec;
    }
    qsort(v, n, sizeof(*v), by_ord);
    *out = v;
    return n;
}

/* Calls fn on each record of kind the handle sees, in list order (or the
 * reverse), until it returns false; the copy's read lock held unless the
 * handle reads a snapshot. */
static void each(struct eh *h, enum store_kind kind, bool newest_first, rec_fn fn, void *arg)
{
    struct hmap *st = h->writer && h->n_staged[kind] ? &h->staged[kind] : NULL;
    struct erec **fresh = NULL;
    size_t nf = st ? staged_new(h, kind, &fresh) : 0;
    const struct ekind *k = &h->cp->data.k[kind];

    if (h->snap) {
        for (size_t i = 0; i < h->snap->n[kind]; i++)
            if (!fn(arg, h->snap->recs[kind][newest_first ? h->snap->n[kind] - 1 - i : i]))
                break;
        return;
    }
    for (size_t i = nf; newest_first && i--;)
        if (!fn(arg, fresh[i]))
            goto out;
    for (const struct erec *r = newest_first ? k->tail : k->head; r;
         r = newest_first ? r->prev : r->next) {
        const struct erec *x = r;
        struct estage *s = st ? hmap_get(st, r->id) : NULL;

        if (s && (!s->rec || s->rec->ord != r->ord))
            continue; /* deleted, or gone to the end */
        if (s)
            x = s->rec;
        if (!fn(arg, x))
            goto out;
    }
    for (size_t i = 0; !newest_first && i < nf; i++)
        if (!fn(arg, fresh[i]))
            break;
out:
    free(fresh);
}

static void lock_view(struct eh *h)
{
    if (!h->snap)
        pthread_rwlock_rdlock(&h->cp->lock);
}

static void unlock_view(struct eh *h)
{
    if (!h->snap)
        pthread_rwlock_unlock(&h->cp->lock);
}

/* SQLite's equality of a column with a text parameter, for the values our
 * records hold there. */
static bool value_is(const json_t *v, const char *want)
{
    char *end;

    if (json_is_string(v))
        return strcmp(json_string_value(v), want) == 0;
    if (json_is_integer(v))
        return strtoll(want, &end, 10) == json_integer_value(v) && *want && !*end;
    if (json_is_real(v))
        return strtod(want, &end) == json_real_value(v) && *want && !*end;
    if (json_is_boolean(v))
        return strcmp(want, json_is_true(v) ? "1" : "0") == 0;
    return false;
}

static bool matches(const struct erec *r, const struct store_where *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const json_t *v;

        if (strcmp(w[i].column, "id") == 0) {
            if (strcmp(r->id, w[i].value) != 0)
                return false;
            continue;
        }
        v = json_object_get(r->doc, w[i].column);
        if (!v || json_is_null(v)) {
            if (!w[i].or_null)
                return false;
        } else if (!value_is(v, w[i].value)) {
            return false;
        }
    }
    return true;
}

static int check_where(struct eh *h, enum store_kind kind, const struct store_where *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!store_kind_indexes(kind, w[i].column))
            return eh_fail(h, -EINVAL, "no indexed column %s", w[i].column);
    return 0;
}

static int ee_get(void *be, enum store_kind kind, const char *id, json_t **out)
{
    struct eh *h = be;
    const struct erec *r;
    json_t *doc = NULL;

    if (h->snap) {
        struct esnap *s = h->snap;

        if (!s->indexed[kind]) {
            for (size_t i = 0; i < s->n[kind]; i++)
                hmap_put(&s->ids[kind], s->recs[kind][i]->id, s->recs[kind][i]);
            s->indexed[kind] = true;
        }
        r = hmap_get(&s->ids[kind], id);
        doc = r ? json_deep_copy(r->doc) : NULL;
    } else {
        pthread_rwlock_rdlock(&h->cp->lock);
        r = seen(h, kind, id, NULL);
        doc = r ? json_deep_copy(r->doc) : NULL;
        pthread_rwlock_unlock(&h->cp->lock);
    }
    if (!doc)
        return -ENOENT;
    *out = doc;
    return 0;
}

struct list_ctx {
    const struct store_list_opts *o;
    unsigned skipped, taken;
    json_t *arr;      /* list */
    struct sbuf *out; /* list_public */
};

static bool list_one(void *arg, const struct erec *r)
{
    struct list_ctx *c = arg;

    if (!matches(r, c->o->where, c->o->n_where))
        return true;
    if (c->skipped < c->o->offset) {
        c->skipped++;
        return true;
    }
    if (c->arr) {
        json_array_append_new(c->arr, json_deep_copy(r->doc));
    } else {
        if (c->taken)
            sbuf_addc(c->out, ',');
        sbuf_adds(c->out, r->pub);
    }
    c->taken++;
    return !c->o->limit || c->taken < c->o->limit;
}

static int list_into(struct eh *h, enum store_kind kind, struct list_ctx *c)
{
    int r = check_where(h, kind, c->o->where, c->o->n_where);

    if (r)
        return r;
    lock_view(h);
    each(h, kind, c->o->newest_first, list_one, c);
    unlock_view(h);
    return 0;
}

static int ee_list(void *be, enum store_kind kind, const struct store_list_opts *o, json_t **out)
{
    struct list_ctx c = {.o = o, .arr = json_array()};
    int r = list_into(be, kind, &c);

    if (r) {
        json_decref(c.arr);
        return r;
    }
    *out = c.arr;
    return 0;
}

static int ee_list_public(void *be, enum store_kind kind, const struct store_list_opts *o,
                          struct sbuf *out)
{
    struct list_ctx c = {.o = o, .out = out};
    size_t mark = out->len;
    int r;

    sbuf_addc(out, '[');
    r = list_into(be, kind, &c);
    if (r) {
        out->len = mark;
        return r;
    }
    sbuf_addc(out, ']');
    return 0;
}

struct count_ctx {
    const struct store_where *w;
    unsigned n;
    const char *const *cols;
    double *sums;
    long count;
};

static bool count_one(void *arg, const struct erec *r)
{
    struct count_ctx *c = arg;

    if (!matches(r, c->w, c->n))
        return true;
    c->count++;
    for (unsigned i = 0; c->cols && c->cols[i]; i++)
        c->sums[i] += json_number_value(json_object_get(r->doc, c->cols[i]));
    return true;
}

static long ee_count(void *be, enum store_kind kind, const struct store_where *w, unsigned n,
                     const char *const *cols, double *sums)
{
    struct eh *h = be;
    struct count_ctx c = {w, n, cols, sums, 0};
    int r = check_where(h, kind, w, n);

    for (unsigned i = 0; r == 0 && cols && cols[i]; i++) {
        if (!store_kind_indexes(kind, cols[i]))
            r = eh_fail(h, -EINVAL, "no indexed column %s", cols[i]);
        sums[i] = 0;
    }
    if (r)
        return r;
    lock_view(h);
    each(h, kind, false, count_one, &c);
    unlock_view(h);
    return c.count;
}

/* ---- meta ---- */

static int ee_meta_get(void *be, const char *key, char **out)
{
    struct eh *h = be;
    const char *v = NULL;

    if (h->snap) {
        v = hmap_get(&h->snap->meta, key);
        if (!v)
            return -ENOENT;
        *out = xstrdup(v);
        return 0;
    }
    pthread_rwlock_rdlock(&h->cp->lock);
    {
        struct emstage *m = h->writer ? hmap_get(&h->mstaged, key) : NULL;
        struct emeta *c = m ? NULL : hmap_get(&h->cp->data.meta, key);

        v = m ? m->value : c ? c->value : NULL;
        if (v)
            *out = xstrdup(v);
    }
    pthread_rwlock_unlock(&h->cp->lock);
    return v ? 0 : -ENOENT;
}

static int ee_meta_set(void *be, const char *key, const char *value)
{
    struct eh *h = be;
    struct emstage *m;

    if (!h->writer)
        return eh_fail(h, -EROFS, "%s", "a reader cannot write");
    m = hmap_get(&h->mstaged, key);
    if (!m) {
        struct emeta *c;

        m = xcalloc(1, sizeof(*m));
        pthread_rwlock_rdlock(&h->cp->lock);
        c = hmap_get(&h->cp->data.meta, key);
        m->live_rev = c ? c->mod_rev : 0;
        pthread_rwlock_unlock(&h->cp->lock);
        hmap_put(&h->mstaged, key, m);
    }
    free(m->value);
    m->value = xstrdup(value);
    return 0;
}

/* ---- opening ---- */

static void ee_close(void *be)
{
    struct eh *h = be;

    if (!h)
        return;
    clear_stage(h);
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        hmap_done(&h->staged[k]);
    hmap_done(&h->mstaged);
    snap_free(h->snap);
    etcd_close(h->cl);
    etcd_close(h->mcl);
    ecopy_unref(h->cp);
    free(h->fence_key);
    free(h);
}

static struct eh *eh_new(struct ecopy *cp, bool writer)
{
    struct eh *h = xcalloc(1, sizeof(*h));

    h->cp = cp;
    h->writer = writer;
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        hmap_init(&h->staged[k]);
    hmap_init(&h->mstaged);
    snprintf(h->err, sizeof(h->err), "no error");
    return h;
}

/* A new store gets its schema version; one of a newer build is refused. */
static int check_version(struct eh *h, char *err, size_t errlen)
{
    char *key = xasprintf("%sv", h->cp->prefix), *k64 = b64s(key), *v64 = NULL;
    json_t *req, *resp = NULL;
    int have, r = 0;
    char num[16];

    pthread_rwlock_rdlock(&h->cp->lock);
    have = h->cp->data.version;
    pthread_rwlock_unlock(&h->cp->lock);
    if (have > ETCD_SCHEMA) {
        snprintf(err, errlen, "store schema version %d is newer than this build (%d)", have,
                 ETCD_SCHEMA);
        r = -EPROTO;
    } else if (have == 0) {
        snprintf(num, sizeof(num), "%d", ETCD_SCHEMA);
        v64 = b64s(num);
        req = json_pack("{s:[{s:s, s:s, s:s, s:i}], s:[{s:{s:s, s:s}}]}", "compare", "key", k64,
                        "target", "CREATE", "result", "EQUAL", "create_revision", 0, "success",
                        "request_put", "key", k64, "value", v64);
        r = etcd_call(h->cl, "/v3/kv/txn", req, &resp);
        json_decref(req);
        if (r)
            snprintf(err, errlen, "cannot write to etcd: %s", etcd_errmsg(h->cl));
        pthread_rwlock_wrlock(&h->cp->lock);
        if (r == 0)
            h->cp->data.version = ETCD_SCHEMA;
        pthread_rwlock_unlock(&h->cp->lock);
        json_decref(resp);
    }
    free(key);
    free(k64);
    free(v64);
    return r;
}

static int ee_open(const char *where, bool readonly, void **be, char *err, size_t errlen)
{
    char *endpoints = NULL, *prefix = NULL;
    struct ecopy *cp = NULL;
    struct eh *h;
    char *data = NULL;
    int r = etcd_location(where, &endpoints, &prefix, err, errlen);

    if (r == 0) {
        data = xasprintf("%s/d/", prefix);
        r = ecopy_open(endpoints, data, &cp, err, errlen);
    }
    if (r)
        goto out;
    h = eh_new(cp, !readonly);
    if (!readonly) {
        id_random(h->uid, "", 12);
        r = etcd_open(endpoints, CALL_MS, &h->cl, err, errlen);
        if (r == 0)
            r = check_version(h, err, errlen);
    }
    if (r)
        ee_close(h);
    else
        *be = h;
out:
    free(endpoints);
    free(prefix);
    free(data);
    return r;
}

static int ee_open_reader(void *writer, void **be, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *be = eh_new(ecopy_ref(eh_of(writer)->cp), false);
    return 0;
}

static int ee_disk_version(void *be)
{
    struct eh *h = be;
    int v;

    pthread_rwlock_rdlock(&h->cp->lock);
    v = h->cp->data.version;
    pthread_rwlock_unlock(&h->cp->lock);
    return v;
}

/* ---- fencing ---- */

static int ee_fence(void *be, const char *key, int64_t rev, const char *marker, unsigned timeout_ms)
{
    struct eh *h = be;
    char *mk = xasprintf("%sp", h->cp->prefix), *m64 = b64s(mk), *v64 = b64s(marker);
    json_t *req, *resp = NULL;
    int64_t at = 0;
    int r;

    if (!h->writer) {
        r = eh_fail(h, -EROFS, "%s", "a reader cannot write");
        goto out;
    }
    free(h->fence_key);
    h->fence_key = xstrdup(key);
    h->fence_rev = rev;
    /* a write of our own after every commit of the one before us: once the
     * watch has brought it, the copy has all of theirs */
    req = json_pack("{s:[], s:[{s:{s:s, s:s}}], s:[]}", "compare", "success", "request_put", "key",
                    m64, "value", v64, "failure");
    {
        char *fk = b64s(key);

        json_array_append_new(json_object_get(req, "compare"),
                              json_pack("{s:s, s:s, s:s, s:I}", "key", fk, "target", "CREATE",
                                        "result", "EQUAL", "create_revision", (json_int_t)rev));
        json_array_append_new(json_object_get(req, "failure"),
                              json_pack("{s:{s:s}}", "request_range", "key", fk));
        free(fk);
    }
    r = etcd_call(h->cl, "/v3/kv/txn", req, &resp);
    json_decref(req);
    if (r)
        eh_fail(h, r, "%s", etcd_errmsg(h->cl));
    else if (!json_is_true(json_object_get(resp, "succeeded")))
        r = refused(h, resp, NULL);
    else
        at = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
    json_decref(resp);
    if (r == 0 && (r = ecopy_wait(h->cp, at, timeout_ms)))
        eh_fail(h, r, "%s", "the watch of etcd did not catch up");
out:
    free(mk);
    free(m64);
    free(v64);
    return r;
}

static void ee_unfence(void *be)
{
    atomic_store(&eh_of(be)->unfenced, true);
}

/* ---- maintenance: compaction of etcd's history ---- */

static bool ee_maintenance_due(void *be)
{
    struct eh *h = be;

    if (h->commits < COMPACT_EVERY)
        return false;
    h->commits = 0;
    return true;
}

static int ee_maintain(void *be)
{
    struct eh *h = be;
    json_t *req, *resp = NULL;
    int64_t rev;
    char err[256];
    int r;

    pthread_rwlock_rdlock(&h->cp->lock);
    rev = h->cp->rev - COMPACT_KEEP;
    pthread_rwlock_unlock(&h->cp->lock);
    if (rev <= h->compacted)
        return 0;
    if (!h->mcl && (r = etcd_open(h->cp->endpoints, 0, &h->mcl, err, sizeof(err))))
        return r;
    req = json_pack("{s:I}", "revision", (json_int_t)rev);
    r = etcd_call(h->mcl, "/v3/kv/compaction", req, &resp);
    json_decref(req);
    json_decref(resp);
    if (r && strstr(etcd_errmsg(h->mcl), "compacted"))
        r = 0; /* another did it */
    if (r == 0)
        h->compacted = rev;
    return r;
}

const struct store_ops store_etcd_ops = {
    .name = "etcd",
    .scheme = "etcd://",
    .schema_version = ETCD_SCHEMA,
    .open = ee_open,
    .open_reader = ee_open_reader,
    .close = ee_close,
    .disk_version = ee_disk_version,
    .begin = ee_begin,
    .write = ee_write,
    .commit = ee_commit,
    .rollback = ee_rollback,
    .get = ee_get,
    .list = ee_list,
    .list_public = ee_list_public,
    .count = ee_count,
    .meta_get = ee_meta_get,
    .meta_set = ee_meta_set,
    .log_append = ee_log_append,
    .log_query = ee_log_query,
    .log_prune = ee_log_prune,
    .log_last_seq = ee_log_last_seq,
    .maintenance_due = ee_maintenance_due,
    .maintain = ee_maintain,
    .fence = ee_fence,
    .unfence = ee_unfence,
    .errmsg = ee_errmsg,
};
