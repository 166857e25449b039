/* GET /v0/events: the event log as server-sent events (text/event-stream).
 * Each message is one log record; its "id:" is the record's seq, so a
 * client reconnects with Last-Event-ID (or ?after=) and misses nothing: what
 * the bus's ring no longer holds is read back from the store. A reader with
 * nothing to send suspends its connection until the bus wakes it; comments
 * keep idle streams alive through proxies. A stream ends when its token no
 * longer holds: deleted, expired, or its tenant disabled (core/auth.h). */
#include "rest/api.h"
#include "rest/router_internal.h"
#include "core/auth.h"
#include "core/bus.h"
#include "util/doc.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS  15000
#define CATCHUP_BATCH 200

struct sse {
    struct router *rt;
    struct core *c;
    struct principal who; /* checked again when the generation of rights moves */
    uint64_t gen;
    struct httpd_conn *conn;
    struct bus_sub *sub;
    struct log_query q; /* for catching up from the store */
    char *strings[4];   /* owned copies behind q's filters */
    struct sbuf out;
    size_t off;
    uint64_t last_write_ms;
};

static void add_record(struct sse *e, const json_t *rec)
{
    json_t *shown;
    char *text;

    if (e->q.tenant &&
        !(json_string_value(json_object_get(rec, "tenant")) &&
          strcmp(json_string_value(json_object_get(rec, "tenant")), e->q.tenant) == 0))
        return;
    shown = json_deep_copy(rec);
    doc_show_names(shown); /* names, not store keys (util/ids.h) */
    text = json_dumps(shown, JSON_COMPACT);
    json_decref(shown);
    sbuf_addf(&e->out, "id: %lld\nevent: %s\ndata: %s\n\n",
              (long long)json_integer_value(json_object_get(rec, "seq")),
              json_string_value(json_object_get(rec, "category")), text);
    free(text);
}

/* Reads what the ring has lost from the store: the matching records up to
 * the newest one committed when the query starts. */
static void catch_up(struct sse *e)
{
    struct store *st = router_thread_store(e->rt);
    json_t *recs = NULL, *rec;
    int64_t upto;
    size_t i;

    if (!st)
        return;
    e->q.after_seq = bus_sub_pos(e->sub);
    e->q.max_seq = upto = store_log_last_seq(st);
    e->q.limit = CATCHUP_BATCH;
    if (store_log_query(st, &e->q, &recs))
        return;
    json_array_foreach(recs, i, rec)
    {
        add_record(e, rec);
    }
    if (json_array_size(recs) == CATCHUP_BATCH)
        upto = json_integer_value(json_object_get(json_array_get(recs, CATCHUP_BATCH - 1), "seq"));
    json_decref(recs);
    bus_sub_seek(e->sub, upto);
}

/* A parked reader waits for wake(); the engine keeps watching its client. */
static void park(void *arg)
{
    (void)arg;
}

static void wake(void *arg)
{
    struct sse *e = arg;

    httpd_resume(e->conn);
}

static ssize_t copy_out(struct sse *e, char *buf, size_t max)
{
    size_t n = e->out.len - e->off;

    if (n > max)
        n = max;
    memcpy(buf, e->out.s + e->off, n);
    e->off += n;
    if (e->off == e->out.len) {
        e->out.len = e->off = 0;
    }
    e->last_write_ms = mono_ms();
    return (ssize_t)n;
}

/* Whether the stream's token still holds (core/auth.h). */
static bool allowed(struct sse *e)
{
    uint64_t gen = auth_generation(e->c);
    struct store *st;

    if (gen == e->gen && !(e->who.expires_ms && wall_ms() >= e->who.expires_ms))
        return true;
    e->gen = gen;
    st = router_thread_store(e->rt);
    return st && auth_recheck(st, &e->who, wall_ms()) == 0;
}

static ssize_t reader(void *cls, char *buf, size_t max)
{
    struct sse *e = cls;
    json_t *rec;

    if (!allowed(e))
        return -1;
    for (;;) {
        if (e->out.len > e->off)
            return copy_out(e, buf, max);
        if (mono_ms() - e->last_write_ms >= KEEPALIVE_MS) {
            sbuf_adds(&e->out, ": keep-alive\n\n");
            continue;
        }
        switch (bus_read(e->sub, &rec, park)) {
        case BUS_DATA:
            add_record(e, rec);
            json_decref(rec);
            break;
        case BUS_BEHIND: {
            int64_t before = bus_sub_pos(e->sub);

            catch_up(e);
            if (bus_sub_pos(e->sub) == before) /* a hole in the log: step over it */
                bus_sub_seek(e->sub, before + 1);
            break;
        }
        case BUS_PARK:
            return 0;
        case BUS_CLOSED:
            return -1;
        }
    }
}

static void sse_free(void *cls)
{
    struct sse *e = cls;

    bus_unsubscribe(e->sub);
    for (unsigned i = 0; i < ARRAY_SIZE(e->strings); i++)
        free(e->strings[i]);
    sbuf_done(&e->out);
    free(e);
}

static const char *keep(struct sse *e, unsigned i, const char *s)
{
    e->strings[i] = s ? xstrdup(s) : NULL;
    return e->strings[i];
}

int sse_start(struct router *rt, struct httpd_conn *conn, struct rctx *r)
{
    static const struct httpd_kv hdrs[] = {{"Content-Type", "text/event-stream"},
                                           {"Cache-Control", "no-cache"}};
    const char *last_id = rctx_header(r, "Last-Event-ID");
    struct sse *e;
    struct bus_filter f;
    struct log_query q;
    int64_t after = -1;

    if (q_log_filter(r, &q))
        return -1;
    if (last_id)
        after = strtoll(last_id, NULL, 10);
    else if (json_object_get(r->query, "after"))
        after = q.after_seq;
    e = xcalloc(1, sizeof(*e));
    e->rt = rt;
    e->c = r->c;
    e->who = r->who;
    /* one behind: the first read checks the token again, in case it went
     * between the request's authentication and now */
    e->gen = auth_generation(r->c) - 1;
    e->conn = conn;
    e->q = (struct log_query){.deployment = keep(e, 0, q.deployment),
                              .operation = keep(e, 1, q.operation),
                              .category = keep(e, 2, q.category),
                              .tenant = keep(e, 3, q.tenant)};
    f = (struct bus_filter){e->strings[0], e->strings[1], e->strings[2]};
    e->sub = bus_subscribe(r->c->bus, &f, after, wake, e);
    e->last_write_ms = mono_ms();
    sbuf_adds(&e->out, ": vnfm event stream\n\n");
    httpd_stream(conn, 200, hdrs, ARRAY_SIZE(hdrs), reader, sse_free, e);
    return 0;
}
