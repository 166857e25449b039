/* GET /v0/events: the event log as server-sent events (text/event-stream).
 * Each message is one log record; its "id:" is the record's seq, so a
 * client reconnects with Last-Event-ID (or ?after=) and misses nothing: what
 * the bus's ring no longer holds is read back from the store. A reader with
 * nothing to send suspends its connection until the bus wakes it; comments
 * keep idle streams alive through proxies. */
#include "rest/http_internal.h"
#include "core/bus.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS  15000
#define CATCHUP_BATCH 200

struct sse {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct bus_sub *sub;
    struct log_query q; /* for catching up from the store */
    char *strings[4];   /* owned copies behind q's filters */
    struct sbuf out;
    size_t off;
    uint64_t last_write_ms;
};

static void add_record(struct sse *e, const json_t *rec)
{
    char *text;

    if (e->q.tenant &&
        !(json_string_value(json_object_get(rec, "tenant")) &&
          strcmp(json_string_value(json_object_get(rec, "tenant")), e->q.tenant) == 0))
        return;
    text = json_dumps(rec, JSON_COMPACT);
    sbuf_addf(&e->out, "id: %lld\nevent: %s\ndata: %s\n\n",
              (long long)json_integer_value(json_object_get(rec, "seq")),
              json_string_value(json_object_get(rec, "category")), text);
    free(text);
}

/* Reads what the ring has lost from the store: the matching records up to
 * the newest one committed when the query starts. */
static void catch_up(struct sse *e)
{
    struct store *st = http_thread_store(e->srv);
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

static void park(void *arg)
{
    struct sse *e = arg;

    MHD_suspend_connection(e->conn);
}

static void wake(void *arg)
{
    struct sse *e = arg;

    MHD_resume_connection(e->conn);
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

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse *e = cls;
    json_t *rec;

    (void)pos;
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
            return MHD_CONTENT_READER_END_OF_STREAM;
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

enum MHD_Result sse_start(struct http_server *s, struct MHD_Connection *conn, struct rctx *r)
{
    const char *last_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    struct sse *e = xcalloc(1, sizeof(*e));
    struct bus_filter f;
    struct MHD_Response *resp;
    struct log_query q;
    enum MHD_Result ret;
    int64_t after = -1;

    if (q_log_filter(r, &q)) {
        free(e);
        return http_respond(conn, &r->res, NULL);
    }
    if (last_id)
        after = strtoll(last_id, NULL, 10);
    else if (json_object_get(r->query, "after"))
        after = q.after_seq;
    e->srv = s;
    e->conn = conn;
    e->q = (struct log_query){.deployment = keep(e, 0, q.deployment),
                              .operation = keep(e, 1, q.operation),
                              .category = keep(e, 2, q.category),
                              .tenant = keep(e, 3, q.tenant)};
    f = (struct bus_filter){e->strings[0], e->strings[1], e->strings[2]};
    e->sub = bus_subscribe(r->c->bus, &f, after, wake, e);
    e->last_write_ms = mono_ms();
    sbuf_adds(&e->out, ": vnfm event stream\n\n");
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, e, sse_free);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}
