/* The event log of the etcd backend (seed para 52, F10): records under
 * P/d/l/SEQ, kept in the copy with the members queries filter on, in seq
 * order. The writer's appends wait in its transaction, where its own
 * queries see them; a prune deletes the oldest keys in one range and keeps
 * the highest seq it removed (P/d/s), so that seqs go on from there. */
#include "store/store_etcd.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int64_t writer_last_seq(struct eh *h)
{
    int64_t seq;

    if (h->n_logs)
        return h->logs[h->n_logs - 1]->seq;
    pthread_rwlock_rdlock(&h->cp->lock);
    seq = edata_last_seq(&h->cp->data);
    pthread_rwlock_unlock(&h->cp->lock);
    return seq > h->prune_upto ? seq : h->prune_upto;
}

int ee_log_append(void *be, json_t *rec)
{
    struct eh *h = be;
    const char *t = json_string_value(json_object_get(rec, "time"));
    char buf[TIME_STR_MAX], *text;
    struct elog *l;
    int64_t ms;

    if (!h->writer)
        return eh_fail(h, -EROFS, "%s", "a reader cannot write");
    if (!t || time_parse(t, &ms))
        json_object_set_new(rec, "time", json_string(time_fmt(wall_ms(), buf)));
    json_object_set_new(rec, "seq", json_integer(writer_last_seq(h) + 1));
    text = json_dumps(rec, JSON_COMPACT);
    l = elog_new(text);
    free(text);
    if (!l)
        return eh_fail(h, -EINVAL, "%s", "a log record that is not JSON");
    h->logs = xrealloc(h->logs, (h->n_logs + 1) * sizeof(*h->logs));
    h->logs[h->n_logs++] = l;
    return 0;
}

static bool log_match(const struct elog *l, const struct log_query *q)
{
    const char *const want[] = {q->level, q->category,   q->event,     q->tenant,
                                NULL,     q->deployment, q->operation, NULL};
    const char *o = q->object;

    for (unsigned i = 0; i < ELOG_FIELDS; i++)
        if (want[i] && (!l->f[i] || strcmp(l->f[i], want[i]) != 0))
            return false;
    if (q->since_ms && l->ts < q->since_ms)
        return false;
    if (q->until_ms && l->ts > q->until_ms)
        return false;
    if (q->tag) {
        char *needle = xasprintf(",%s,", q->tag);
        bool in = l->tags && strstr(l->tags, needle);

        free(needle);
        if (!in)
            return false;
    }
    if (o) {
        const char *obj = l->f[4], *slash = obj ? strchr(obj, '/') : NULL;
        bool hit = (obj && strcmp(obj, o) == 0) || (l->f[5] && strcmp(l->f[5], o) == 0) ||
                   (l->f[6] && strcmp(l->f[6], o) == 0) || (l->f[7] && strcmp(l->f[7], o) == 0) ||
                   (slash && strcmp(slash + 1, o) == 0);

        if (!hit)
            return false;
    }
    return true;
}

/* The log records the handle sees, oldest first: the copy's (up to a
 * snapshot's last seq, past a staged prune), then the writer's staged. */
struct log_view {
    struct elog **a, **b; /* two runs */
    size_t na, nb;
};

static void log_view(struct eh *h, const struct log_query *q, struct log_view *v)
{
    struct edata *d = &h->cp->data;
    int64_t top = h->snap ? h->snap->last_seq : INT64_MAX;
    int64_t from = q->after_seq > h->prune_upto ? q->after_seq : h->prune_upto;
    size_t lo = ecopy_log_after(d, from), hi = ecopy_log_after(d, top);

    if (q->max_seq && q->max_seq < top)
        hi = ecopy_log_after(d, q->max_seq);
    v->a = d->log + lo;
    v->na = hi > lo ? hi - lo : 0;
    v->b = h->snap ? NULL : h->logs;
    v->nb = h->snap ? 0 : h->n_logs;
}

static const struct elog *view_at(const struct log_view *v, size_t i)
{
    return i < v->na ? v->a[i] : v->b[i - v->na];
}

int ee_log_query(void *be, const struct log_query *q, json_t **out)
{
    struct eh *h = be;
    unsigned limit = q->limit ? q->limit : 1000;
    struct log_view v;
    json_t *arr = json_array();
    size_t n;

    pthread_rwlock_rdlock(&h->cp->lock); /* a snapshot's log too is the copy's, up to its seq */
    log_view(h, q, &v);
    n = v.na + v.nb;
    for (size_t k = 0; k < n && json_array_size(arr) < limit; k++) {
        const struct elog *l = view_at(&v, q->tail ? n - 1 - k : k);
        json_t *doc;

        if (q->after_seq && l->seq <= q->after_seq)
            continue;
        if ((q->max_seq && l->seq > q->max_seq) || !log_match(l, q))
            continue;
        if (!(doc = json_loads(l->text, 0, NULL)))
            continue;
        if (q->tail)
            json_array_insert_new(arr, 0, doc);
        else
            json_array_append_new(arr, doc);
    }
    pthread_rwlock_unlock(&h->cp->lock);
    *out = arr;
    return 0;
}

long ee_log_prune(void *be, long keep)
{
    struct eh *h = be;
    struct edata *d = &h->cp->data;
    long live, gone, staged_gone;

    if (!h->writer)
        return eh_fail(h, -EROFS, "%s", "a reader cannot write");
    pthread_rwlock_rdlock(&h->cp->lock);
    {
        size_t from = ecopy_log_after(d, h->prune_upto);

        live = (long)(d->log_end - from);
        gone = (long)h->n_logs + live - keep;
        if (gone <= 0) {
            pthread_rwlock_unlock(&h->cp->lock);
            return 0;
        }
        if (live && gone)
            h->prune_upto = d->log[from + (size_t)(gone < live ? gone : live) - 1]->seq;
    }
    pthread_rwlock_unlock(&h->cp->lock);
    staged_gone = gone > live ? gone - live : 0;
    if (staged_gone) { /* appended by this transaction, and already pruned */
        h->prune_upto = h->logs[staged_gone - 1]->seq;
        for (long i = 0; i < staged_gone; i++)
            elog_free(h->logs[i]);
        memmove(h->logs, h->logs + staged_gone,
                (h->n_logs - (size_t)staged_gone) * sizeof(*h->logs));
        h->n_logs -= (size_t)staged_gone;
    }
    return gone;
}

int64_t ee_log_last_seq(void *be)
{
    struct eh *h = be;

    if (h->snap)
        return h->snap->last_seq;
    if (h->writer)
        return writer_last_seq(h);
    {
        int64_t seq;

        pthread_rwlock_rdlock(&h->cp->lock);
        seq = edata_last_seq(&h->cp->data);
        pthread_rwlock_unlock(&h->cp->lock);
        return seq;
    }
}
