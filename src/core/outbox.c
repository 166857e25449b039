/* The outbox (outbox.h): entries in the store, a queue per destination key
 * in memory (what is in flight, the backoff, a timer), and the deliveries
 * on the configuration pool. */
#include "core/outbox.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX_DEFAULT  1000
#define MAX_DEFAULT      20000
#define BACKOFF_MS       500
#define MAX_BACKOFF_MS   60000
#define SEND_TIMEOUT_MS  10000
#define DROP_REPORT_MS   60000
#define UNKNOWN_RETRY_MS 60000

struct chan {
    const struct outbox_channel *ops;
    atomic_long pending;
    atomic_uint_fast64_t attempts, delivered, given_up, dropped;
};

/* The queue of one destination. */
struct okey {
    struct outbox *ob;
    char *key;
    char *inflight;           /* id of the entry being delivered, or NULL */
    unsigned streak;          /* failed attempts in a row at this key */
    int64_t not_before;       /* wall ms: the backoff after an entry ended badly */
    unsigned long unreported; /* drops not yet in an event */
    int64_t reported_ms;      /* when the last drop event was logged */
    uv_timer_t timer;
};

struct outbox {
    struct core *c;
    struct chan ch[OUTBOX_CHANNELS_MAX];
    unsigned n_ch;
    struct hmap keys; /* key -> struct okey */
    atomic_uint n_keys;
    atomic_uint_fast64_t reads;
    atomic_long total; /* entries in the store (committed) */
    unsigned key_max, max;
    bool started;
};

struct send_job {
    struct wjob w;
    struct outbox *ob;
    char *key, *id;
    struct outbox_req rq;
    struct httpc_resp resp;
};

static void kick(struct outbox *ob, const char *key);

/* ---- channels and keys ---- */

static struct chan *chan_find(struct outbox *ob, const char *name)
{
    for (unsigned i = 0; name && i < ob->n_ch; i++)
        if (strcmp(ob->ch[i].ops->name, name) == 0)
            return &ob->ch[i];
    return NULL;
}

static struct okey *key_get(struct outbox *ob, const char *key)
{
    struct okey *k = hmap_get(&ob->keys, key);

    if (k)
        return k;
    k = xcalloc(1, sizeof(*k));
    k->ob = ob;
    k->key = xstrdup(key);
    uv_timer_init(ob->c->loop, &k->timer);
    k->timer.data = k;
    hmap_put(&ob->keys, key, k);
    atomic_fetch_add(&ob->n_keys, 1);
    return k;
}

static void key_closed(uv_handle_t *h)
{
    struct okey *k = h->data;

    free(k->key);
    free(k->inflight);
    free(k);
}

static void key_free(struct okey *k)
{
    hmap_del(&k->ob->keys, k->key);
    atomic_fetch_sub(&k->ob->n_keys, 1);
    uv_close((uv_handle_t *)&k->timer, key_closed);
}

static uint64_t backoff(unsigned streak)
{
    uint64_t d = (uint64_t)BACKOFF_MS << (streak > 1 ? (streak - 1 < 16 ? streak - 1 : 16) : 0);

    return d > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : d;
}

/* ---- what a transaction changes, applied once it has committed ---- */

struct change {
    struct outbox *ob;
    struct chan *ch; /* the entry's channel; NULL: not registered, or no entry */
    int delta;       /* entries added (+1) or removed (-1), or 0 */
    bool dropped;
    bool wake; /* the key's queue may have something to send */
    char key[];
};

static void changed(struct core *c, void *arg)
{
    struct change *x = arg;

    (void)c;
    if (x->ch) {
        atomic_fetch_add(&x->ch->pending, x->delta);
        if (x->dropped)
            atomic_fetch_add(&x->ch->dropped, 1);
    }
    atomic_fetch_add(&x->ob->total, x->delta);
    if (x->wake)
        kick(x->ob, x->key);
}

/* Counts a change of the open transaction and, when wake, wakes key's
 * queue, once the transaction has committed. */
static void after(struct outbox *ob, struct chan *ch, const char *key, int delta, bool dropped,
                  bool wake)
{
    size_t n = strlen(key) + 1;
    struct change *x = xmalloc(sizeof(*x) + n);

    *x = (struct change){ob, ch, delta, dropped, wake};
    memcpy(x->key, key, n);
    core_after_commit(ob->c, changed, x, free);
}

/* ---- the store ---- */

/* The first n entries of key (NULL: of the outbox), oldest first. */
static json_t *oldest(struct outbox *ob, const char *key, unsigned n)
{
    struct store_where w = {"key", key, false};
    struct store_list_opts o = {.where = &w, .n_where = key ? 1 : 0, .limit = n};
    json_t *recs = NULL;

    if (store_list(ob->c->st, STORE_OUTBOX, &o, &recs))
        return json_array();
    atomic_fetch_add(&ob->reads, json_array_size(recs));
    return recs;
}

/* Deletes rec in the open transaction; wakes its key after the commit
 * when wake. */
static void remove_entry(struct outbox *ob, const json_t *rec, bool dropped, bool wake)
{
    const char *id = doc_str(rec, "id");

    if (store_delete(ob->c->st, STORE_OUTBOX, id))
        log_error("outbox: cannot delete %s: %s", id, store_errmsg(ob->c->st));
    else
        after(ob, chan_find(ob, doc_str(rec, "channel")), doc_str(rec, "key"), -1, dropped, wake);
}

static void report(struct outbox *ob, const json_t *rec, const struct outbox_outcome *o)
{
    struct chan *ch = chan_find(ob, doc_str(rec, "channel"));

    if (ch && ch->ops->report)
        ch->ops->report(ob->c, rec, o);
}

/* ---- bounds ---- */

/* An api/outbox event for drops at key k: the first at once, later ones
 * summed up at most once a minute. */
static void note_drop(struct outbox *ob, const json_t *rec, const char *why)
{
    struct okey *k = key_get(ob, doc_str(rec, "key"));
    int64_t now = wall_ms();

    k->unreported++;
    if (k->reported_ms && now - k->reported_ms < DROP_REPORT_MS)
        return;
    core_event(ob->c, "warn", "api", "outbox",
               json_pack("{s:s?, s:s, s:s, s:I}", "object", doc_str(rec, "object"), "result",
                         "dropped", "channel", doc_str(rec, "channel"), "dropped",
                         (json_int_t)k->unreported),
               "outbox: %lu %s message%s to %s dropped undelivered (%s)", k->unreported,
               doc_str(rec, "channel"), k->unreported == 1 ? "" : "s", k->key, why);
    k->unreported = 0;
    k->reported_ms = now;
}

/* Drops the n oldest entries of key (NULL: of the outbox) that are not in
 * flight, in the open transaction. */
static void drop_oldest(struct outbox *ob, const char *key, long n, const char *why)
{
    /* one may be in flight per key */
    json_t *recs = oldest(ob, key, (unsigned)(n + (key ? 1 : (long)ob->keys.size))), *rec;
    size_t i;

    json_array_foreach(recs, i, rec)
    {
        struct okey *k = hmap_get(&ob->keys, doc_str(rec, "key"));
        struct outbox_outcome o = {OUTBOX_DROPPED, (unsigned)doc_int(rec, "_attempts", 0), 0, why};

        if (n <= 0)
            break;
        if (k && k->inflight && strcmp(k->inflight, doc_str(rec, "id")) == 0)
            continue;
        remove_entry(ob, rec, true, true);
        note_drop(ob, rec, why);
        report(ob, rec, &o);
        n--;
    }
    json_decref(recs);
}

/* Makes room for one more entry of key. */
static void make_room(struct outbox *ob, const char *key)
{
    struct store_where w = {"key", key, false};
    long n = store_count(ob->c->st, STORE_OUTBOX, &w, 1);
    char why[96];

    if (n >= (long)ob->key_max) {
        snprintf(why, sizeof(why), "more than %u pending for it", ob->key_max);
        drop_oldest(ob, key, n - ob->key_max + 1, why);
    }
    if (atomic_load(&ob->total) >= (long)ob->max) {
        snprintf(why, sizeof(why), "more than %u pending in all", ob->max);
        drop_oldest(ob, NULL, atomic_load(&ob->total) - ob->max + 1, why);
    }
}

int outbox_put(struct core *c, struct outbox_msg *m)
{
    struct outbox *ob = c->outbox;
    char id[24];
    json_t *rec;
    int r;

    if (!m->id)
        id_random(id, "ob-", 16);
    rec = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:i, s:I}", "id", m->id ? m->id : id,
                    "channel", m->channel, "key", m->key, "object", m->object, "_url",
                    m->url ? m->url : "", "_body", m->body ? m->body : json_null(), "_attempts", 0,
                    "_next_ms", (json_int_t)0);
    if (m->headers)
        json_object_set_new(rec, "_headers", m->headers);
    if (m->by_tenant)
        json_object_set_new(rec, "_by_tenant", json_true());
    if (m->extra)
        json_object_update(rec, m->extra);
    json_decref(m->extra);
    doc_touch(rec, "created");
    if (ob)
        make_room(ob, m->key);
    r = store_put(c->st, STORE_OUTBOX, rec);
    if (r)
        log_error("outbox: cannot queue a %s message to %s: %s", m->channel, m->key,
                  store_errmsg(c->st));
    else if (ob)
        after(ob, chan_find(ob, m->channel), m->key, 1, false, true);
    json_decref(rec);
    return r;
}

long outbox_forget(struct core *c, const char *key)
{
    struct outbox *ob = c->outbox;
    json_t *recs, *rec;
    long n = 0;
    size_t i;

    if (!ob)
        return 0;
    recs = oldest(ob, key, 0);
    json_array_foreach(recs, i, rec)
    {
        remove_entry(ob, rec, false, false);
        n++;
    }
    json_decref(recs);
    return n;
}

/* ---- delivery ---- */

void outbox_req_header(struct outbox_req *rq, const char *fmt, ...)
{
    va_list ap;
    unsigned n = 0;

    while (n < OUTBOX_HEADERS_MAX && rq->headers[n])
        n++;
    if (n == OUTBOX_HEADERS_MAX)
        return;
    va_start(ap, fmt);
    if (vasprintf(&rq->headers[n], fmt, ap) < 0)
        rq->headers[n] = NULL;
    va_end(ap);
}

static void job_free(struct send_job *j)
{
    httpc_resp_done(&j->resp);
    free(j->rq.url);
    free(j->rq.body);
    for (char **h = j->rq.headers; *h; h++)
        free(*h);
    free(j->rq.user);
    free(j->rq.password);
    free(j->key);
    free(j->id);
    free(j);
}

static void send_work(struct wjob *w)
{
    struct send_job *j = (struct send_job *)w;
    struct httpc_req rq = {.url = j->rq.url,
                           .body = j->rq.body,
                           .headers = (const char *const *)j->rq.headers,
                           .user = j->rq.user,
                           .password = j->rq.password,
                           .timeout_ms = SEND_TIMEOUT_MS,
                           .deny = j->rq.deny};

    httpc_do(&rq, &j->resp);
}

/* Records the end of an attempt at rec in the open transaction. */
static void record(struct outbox *ob, struct okey *k, json_t *rec, const struct httpc_resp *resp)
{
    struct chan *ch = chan_find(ob, doc_str(rec, "channel"));
    char why[HTTPC_ERR_MAX];
    struct outbox_outcome o = {OUTBOX_DELIVERED, (unsigned)doc_int(rec, "_attempts", 0) + 1,
                               ch ? ch->ops->attempts : 1, httpc_outcome(resp, why, sizeof(why)),
                               resp->status};

    if (ch)
        atomic_fetch_add(&ch->attempts, 1);
    if (httpc_ok(resp)) {
        k->streak = 0;
        k->not_before = 0;
        if (ch)
            atomic_fetch_add(&ch->delivered, 1);
        remove_entry(ob, rec, false, false);
    } else {
        int64_t next = wall_ms() + (int64_t)backoff(++k->streak);

        if (o.attempt >= o.attempts) {
            o.result = OUTBOX_GIVEN_UP;
            k->not_before = next;
            if (ch)
                atomic_fetch_add(&ch->given_up, 1);
            remove_entry(ob, rec, false, false);
        } else {
            o.result = OUTBOX_FAILED;
            doc_set_int(rec, "_attempts", o.attempt);
            doc_set_int(rec, "_next_ms", next);
            if (store_put(ob->c->st, STORE_OUTBOX, rec))
                log_error("outbox: cannot record an attempt at %s: %s", doc_str(rec, "id"),
                          store_errmsg(ob->c->st));
        }
    }
    report(ob, rec, &o);
}

static void send_done(struct wjob *w)
{
    struct send_job *j = (struct send_job *)w;
    struct outbox *ob = j->ob;
    struct core *c = ob->c;
    struct okey *k = hmap_get(&ob->keys, j->key);
    json_t *rec = NULL;

    if (k) {
        free(k->inflight);
        k->inflight = NULL;
    }
    if (!w->cancelled && k) {
        core_tx_begin(c);
        if (store_get(c->st, STORE_OUTBOX, j->id, &rec) == 0) { /* else dropped meanwhile */
            atomic_fetch_add(&ob->reads, 1);
            record(ob, k, rec, &j->resp);
        }
        after(ob, NULL, j->key, 0, false, true); /* the next one, or this one again */
        core_tx_commit(c);
        json_decref(rec);
    }
    job_free(j);
}

/* The request of rec; NULL when its destination is gone (-ENOENT from the
 * channel's prepare) or its channel is unknown (*unknown set). */
static struct send_job *job_new(struct outbox *ob, const json_t *rec, bool *unknown)
{
    struct chan *ch = chan_find(ob, doc_str(rec, "channel"));
    const json_t *body = json_object_get(rec, "_body"), *h;
    struct send_job *j;
    size_t i;

    *unknown = !ch;
    if (!ch)
        return NULL;
    j = xcalloc(1, sizeof(*j));
    j->w.work = send_work;
    j->w.done = send_done;
    j->ob = ob;
    j->key = xstrdup(doc_str(rec, "key"));
    j->id = xstrdup(doc_str(rec, "id"));
    j->rq.url = xstrdup(jv_str(rec, "_url", ""));
    j->rq.body = json_is_string(body) ? xstrdup(json_string_value(body))
                 : json_is_null(body) ? NULL
                                      : json_dumps(body, JSON_COMPACT);
    json_array_foreach(json_object_get(rec, "_headers"), i, h)
    {
        outbox_req_header(&j->rq, "%s", json_string_value(h));
    }
    if (json_is_true(json_object_get(rec, "_by_tenant"))) /* as configured now */
        j->rq.deny = ob->c->cfg->tenant_deny;
    if (ch->ops->prepare && ch->ops->prepare(ob->c, rec, &j->rq) == -ENOENT) {
        job_free(j);
        return NULL;
    }
    return j;
}

static void on_timer(uv_timer_t *t)
{
    struct okey *k = t->data;

    kick(k->ob, k->key);
}

/* Starts the head of key's queue when it is due and nothing is in flight;
 * else sets the key's timer for when it is due. */
static void kick(struct outbox *ob, const char *key)
{
    struct core *c = ob->c;
    int64_t now = wall_ms(), due;
    struct send_job *j = NULL;
    bool unknown = false;
    struct okey *k;
    json_t *recs, *rec;

    if (!ob->started || c->stopping)
        return;
    k = key_get(ob, key);
    if (k->inflight || uv_is_active((uv_handle_t *)&k->timer))
        return;
    for (;;) {
        recs = oldest(ob, key, 1);
        rec = json_array_get(recs, 0);
        if (!rec) {
            json_decref(recs);
            key_free(k);
            return;
        }
        due = doc_int(rec, "_next_ms", 0);
        due = due > k->not_before ? due : k->not_before;
        if (due > now || (j = job_new(ob, rec, &unknown)) || unknown)
            break;
        core_tx_begin(c); /* nobody to tell any more */
        remove_entry(ob, rec, false, false);
        core_tx_commit(c);
        json_decref(recs);
    }
    if (j) {
        k->inflight = xstrdup(doc_str(rec, "id"));
        wpool_submit(c->conf, &j->w);
    } else {
        if (unknown)
            log_warn("outbox: %s waits for channel %s, which this build does not have",
                     doc_str(rec, "id"), doc_str(rec, "channel"));
        uv_timer_start(&k->timer, on_timer, unknown ? UNKNOWN_RETRY_MS : (uint64_t)(due - now), 0);
    }
    json_decref(recs);
}

/* ---- life ---- */

struct outbox *outbox_new(struct core *c, unsigned key_max, unsigned max)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));

    ob->c = c;
    ob->key_max = key_max ? key_max : KEY_MAX_DEFAULT;
    ob->max = max ? max : MAX_DEFAULT;
    hmap_init(&ob->keys);
    c->outbox = ob;
    return ob;
}

void outbox_register(struct outbox *ob, const struct outbox_channel *ch)
{
    if (ob->n_ch == OUTBOX_CHANNELS_MAX) {
        log_error("outbox: no room for channel %s", ch->name);
        return;
    }
    ob->ch[ob->n_ch++].ops = ch;
}

/* The one pass over the whole outbox: its counts and keys, at start-up. */
void outbox_start(struct outbox *ob)
{
    json_t *recs = oldest(ob, NULL, 0), *rec;
    struct hmap_entry *e;
    size_t i;

    atomic_store(&ob->total, 0);
    for (i = 0; i < ob->n_ch; i++)
        atomic_store(&ob->ch[i].pending, 0);
    json_array_foreach(recs, i, rec)
    {
        struct chan *ch = chan_find(ob, doc_str(rec, "channel"));

        if (ch)
            atomic_fetch_add(&ch->pending, 1);
        atomic_fetch_add(&ob->total, 1);
        key_get(ob, doc_str(rec, "key"));
    }
    json_decref(recs);
    ob->started = true;
    for (e = hmap_first(&ob->keys, &i); e;) {
        struct okey *k = e->value;

        e = hmap_next(&ob->keys, e, &i); /* kick may free k */
        kick(ob, k->key);
    }
}

void outbox_stop(struct outbox *ob)
{
    struct hmap_entry *e;
    size_t i;

    if (!ob)
        return;
    ob->started = false;
    for (e = hmap_first(&ob->keys, &i); e; e = hmap_next(&ob->keys, e, &i))
        uv_timer_stop(&((struct okey *)e->value)->timer);
}

void outbox_free(struct outbox *ob)
{
    struct hmap_entry *e;
    size_t i;

    if (!ob)
        return;
    if (ob->c->outbox == ob)
        ob->c->outbox = NULL;
    while ((e = hmap_first(&ob->keys, &i)))
        key_free(e->value);
    hmap_done(&ob->keys);
    free(ob);
}

void outbox_stats(struct outbox *ob, struct outbox_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!ob)
        return;
    st->keys = atomic_load(&ob->n_keys);
    st->reads = atomic_load(&ob->reads);
    st->n = ob->n_ch;
    for (unsigned i = 0; i < ob->n_ch; i++) {
        st->ch[i] = (struct outbox_channel_stats){
            ob->ch[i].ops->name,
            (uint64_t)(atomic_load(&ob->ch[i].pending) > 0 ? atomic_load(&ob->ch[i].pending) : 0),
            atomic_load(&ob->ch[i].attempts),
            atomic_load(&ob->ch[i].delivered),
            atomic_load(&ob->ch[i].given_up),
            atomic_load(&ob->ch[i].dropped)};
    }
}
