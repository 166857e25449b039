/* The channel down (docs/FEDERATION.md): GET /fed/v1/channel, a stream of
 * server-sent events that a branch manager keeps open to its cloud, so
 * that nothing at the branch listens. The cloud sends the branch's
 * instructions on it (`event: instruction`, id = the instruction's seq),
 * report requests (`event: report`) and keep-alives.
 *
 * A channel belongs to its manager (fed_mgr.chan) under fed.mu; its own
 * mutex guards what waits to be written. The loop writes into it
 * (fed_channel_push) and wakes its connection; the HTTP thread of the
 * connection writes it out (chan_read) and releases it when the branch
 * goes (chan_release). A new channel of a manager closes the old one. */
#include "fed/fed_internal.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <string.h>

#define KEEPALIVE_MS 5000

struct fed_chan {
    pthread_mutex_t mu;
    struct httpd_conn *conn;
    struct fed *f;
    struct fed_mgr *m; /* under fed.mu; NULL once its manager let it go */
    struct sbuf out;
    size_t off;
    bool streaming, closed;
    uint64_t last_ms;
    char via[32]; /* the cloud VNFM that relays it (its site's owner), or "" */
};

static ssize_t chan_read(void *cls, char *buf, size_t max)
{
    struct fed_chan *ch = cls;
    ssize_t n;

    pthread_mutex_lock(&ch->mu);
    n = (ssize_t)sbuf_drain(&ch->out, &ch->off, buf, max);
    if (n == 0 && ch->closed)
        n = -1;
    pthread_mutex_unlock(&ch->mu);
    return n;
}

static void chan_release(void *cls)
{
    struct fed_chan *ch = cls;

    pthread_mutex_lock(&ch->f->mu);
    if (ch->m && ch->m->chan == ch)
        ch->m->chan = NULL;
    pthread_mutex_unlock(&ch->f->mu);
    pthread_mutex_destroy(&ch->mu);
    sbuf_done(&ch->out);
    free(ch);
}

/* Appends text and wakes the connection (any thread; f->mu held, so that
 * the channel outlives the call). */
static void chan_write(struct fed_chan *ch, const char *text, bool close)
{
    bool wake;

    pthread_mutex_lock(&ch->mu);
    if (text)
        sbuf_adds(&ch->out, text);
    if (close)
        ch->closed = true;
    ch->last_ms = mono_ms();
    wake = ch->streaming;
    pthread_mutex_unlock(&ch->mu);
    if (wake)
        httpd_resume(ch->conn);
}

/* Lets the channel of m go (its manager is replaced or removed); f->mu held. */
void fed_channel_drop(struct fed_mgr *m)
{
    struct fed_chan *ch = m->chan;

    if (!ch)
        return;
    m->chan = NULL;
    ch->m = NULL;
    chan_write(ch, NULL, true);
}

static void add_event(struct sbuf *b, const char *event, const json_t *data, long long id)
{
    char *text = json_dumps(data, JSON_COMPACT);

    if (id >= 0)
        sbuf_addf(b, "id: %lld\n", id);
    sbuf_addf(b, "event: %s\ndata: %s\n\n", event, text);
    free(text);
}

void fed_channel_push(struct fed *f, struct fed_mgr *m, const char *event, const json_t *data,
                      long long id)
{
    struct sbuf b = {0};

    add_event(&b, event, data, id);
    pthread_mutex_lock(&f->mu);
    if (m->chan)
        chan_write(m->chan, sbuf_str(&b), false);
    pthread_mutex_unlock(&f->mu);
    sbuf_done(&b);
}

int fed_pull(struct fed *f, struct fed_mgr *m)
{
    json_t *data;
    bool open;

    pthread_mutex_lock(&f->mu);
    open = m->chan != NULL;
    pthread_mutex_unlock(&f->mu);
    if (!open)
        return -ENOTCONN;
    data = json_pack("{s:s}", "why", "asked");
    fed_channel_push(f, m, "report", data, -1);
    json_decref(data);
    return 0;
}

void fed_channel_keepalive(struct fed *f)
{
    uint64_t now = mono_ms();
    struct hmap_entry *e;
    size_t i;

    pthread_mutex_lock(&f->mu);
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        struct fed_mgr *m = e->value;

        if (m->chan && fed_chan_misplaced(f->c, m->site, m->chan->via))
            fed_channel_drop(m); /* its site is another's now: the branch goes there */
        else if (m->chan && now - m->chan->last_ms >= KEEPALIVE_MS)
            chan_write(m->chan, ": keep-alive\n\n", false);
    }
    pthread_mutex_unlock(&f->mu);
}

/* The instructions of m that have no result yet, in seq order: sent again
 * on every new channel (the branch applies each once). */
static void add_pending(struct store *st, const char *mgr, struct sbuf *b)
{
    struct store_where w[] = {{"manager", mgr, false}, {"state", "pending", false}};
    struct store_list_opts o = {.where = w, .n_where = 2};
    json_t *list = NULL, *ins;
    size_t i;

    if (store_list(st, STORE_INSTRUCTION, &o, &list))
        return;
    json_array_foreach(list, i, ins) /* rowid order: the order they were made, their seq's */
    {
        json_t *msg = fed_instruction_msg(ins);

        add_event(b, "instruction", msg, jv_int(ins, "seq", 0));
        json_decref(msg);
    }
    json_decref(list);
}

int fed_channel_start(struct rctx *r, struct httpd_conn *conn)
{
    static const struct httpd_kv hdrs[] = {{"Content-Type", "text/event-stream"},
                                           {"Cache-Control", "no-cache"}};
    struct fed *f = r->c->fed;
    const char *h = rctx_header(r, "Authorization");
    char hash[TOKEN_HASH_LEN + 1], id[32];
    struct fed_chan *ch;
    struct fed_mgr *m;
    json_t *why;
    bool resume;

    if (r->any_role) /* at its site's owner, which is not the primary */
        return fed_relay_start(r, conn);
    if (!f || !f->cloud)
        return result_fail(&r->res, 404, "not-found", NULL, NULL,
                           "this manager is not a cloud VNFM (--role cloud)");
    token_hash(h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "", hash);
    ch = xcalloc(1, sizeof(*ch));
    pthread_mutex_init(&ch->mu, NULL);
    ch->conn = conn;
    ch->f = f;
    ch->last_ms = mono_ms();
    snprintf(ch->via, sizeof(ch->via), "%s", rctx_header(r, "Vnfm-Owner") ?: "");
    pthread_mutex_lock(&f->mu);
    m = hmap_get(&f->creds, hash);
    if (!m || strcmp(m->state, "removed") == 0) {
        pthread_mutex_unlock(&f->mu);
        pthread_mutex_destroy(&ch->mu);
        free(ch);
        log_warn("fed: a channel refused: %s manager credential", m ? "a removed" : "an unknown");
        return result_fail(&r->res, 401, "unauthorized", NULL, NULL,
                           "unknown manager credential: join again with a new token");
    }
    fed_channel_drop(m);
    m->chan = ch;
    ch->m = m;
    snprintf(id, sizeof(id), "%s", m->id);
    pthread_mutex_unlock(&f->mu);
    sbuf_addf(&ch->out, ": channel of manager %s\n\n", id);
    add_pending(r->st, id, &ch->out);
    /* a full report at once: the cloud is in agreement with the branch
     * within a round trip of the reconnection, not a report interval */
    why = json_pack("{s:s}", "why", "channel");
    add_event(&ch->out, "report", why, -1);
    json_decref(why);
    httpd_stream(conn, 200, hdrs, ARRAY_SIZE(hdrs), chan_read, chan_release, ch);
    pthread_mutex_lock(&ch->mu);
    ch->streaming = true;
    resume = ch->out.len > ch->off || ch->closed;
    pthread_mutex_unlock(&ch->mu);
    if (resume)
        httpd_resume(conn);
    return 0;
}
