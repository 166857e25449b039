/* A branch's requests at the cloud VNFM that serves its site (docs/HA.md
 * "Several active cloud VNFMs"). The cloud VNFMs of a cluster on etcd
 * share the branch sites (ha/share.c); the federation mount's check sends
 * a branch's report or channel that reaches another manager to its site's
 * owner (307). An owner that is not the primary forwards the report to
 * the primary and hands its answer back, and relays the primary's channel
 * to the branch: the primary stays the only writer of the store, and
 * takes a forwarded request (header Vnfm-Owner) only from the owner its
 * own view names. A site without an owner for a moment (a move) is served
 * as before sharing: by the primary directly.
 *
 * A forwarded report waits for the primary's answer on the configuration
 * pool, not on the HTTP thread that took it (rctx.later); the relayed
 * channels share one thread (httpc_streams, made at the first). */
#include "fed/fed_internal.h"
#include "core/cluster.h"
#include "core/owners.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define OWNER_HEADER       "Vnfm-Owner"
#define FORWARD_TIMEOUT    10000 /* ms: a report's answer from the primary */
#define RELAY_SILENCE_MS   20000 /* a relayed channel without a byte is dead (keep-alives: 5 s) */
#define FORWARD_ANSWER_MAX (1024 * 1024)

/* The site of the branch manager whose credential r carries, or "". */
static void site_of(struct rctx *r, char *site, size_t len)
{
    const char *h = rctx_header(r, "Authorization");
    char hash[TOKEN_HASH_LEN + 1];

    *site = '\0';
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return;
    token_hash(h + 7, hash);
    owners_site_of(r->c->owners, hash, site, len);
}

static bool is_primary(struct core *c, char *primary, size_t len)
{
    return cluster_role(c->cluster, primary, len) == CLUSTER_PRIMARY;
}

/* 307 to the owner at url: path (with its query) there. */
static void redirect(struct result *res, const char *site, const char *url, const char *path)
{
    result_fail(res, 307, "not-owner", "object", site, "site %s is served by the cloud VNFM at %s",
                site, url);
    json_object_set_new(res->body, "owner", json_string(url));
    snprintf(res->location, sizeof(res->location), "%s%s", url, path);
}

static char *path_of(const struct rctx *r)
{
    return xasprintf("%s%s%s", r->http->path, r->http->query ? "?" : "",
                     r->http->query ? r->http->query : "");
}

static int to_owner(struct rctx *r, const char *site, const char *url)
{
    char *path = path_of(r);

    redirect(&r->res, site, url, path);
    free(path);
    return -1;
}

/* A report the owner, not the primary, forwards to the primary: on the
 * configuration pool (rctx.later), not on the HTTP thread that took it. */
struct fwd {
    struct owners *o;
    char site[ID_BUF_MAX];
    char primary[CLUSTER_URL_MAX];
    char *url, *path, *auth, *via, *body, *ca;
    struct httpc_keep *keep; /* the federation's connections to the primary */
};

static void fwd_free(void *arg)
{
    struct fwd *w = arg;

    free(w->url);
    free(w->path);
    free(w->auth);
    free(w->via);
    free(w->body);
    free(w->ca);
    free(w);
}

static void forward_later(void *arg, struct result *res)
{
    struct fwd *w = arg;
    const char *hdrs[] = {"Content-Type: application/json", w->auth, w->via, NULL};
    struct httpc_resp resp;
    int rc;

    owners_hold(w->o, w->site, NULL);
    rc = httpc_do(&(struct httpc_req){.url = w->url,
                                      .keep = w->keep,
                                      .body = w->body,
                                      .headers = hdrs,
                                      .ca_file = w->ca,
                                      .timeout_ms = FORWARD_TIMEOUT,
                                      .connect_timeout_ms = 1000,
                                      .max_response = FORWARD_ANSWER_MAX},
                  &resp);
    owners_unhold(w->o, w->site, NULL);
    if (rc == 0 && resp.status == 307 && resp.body) {
        /* the primary knows another owner (this one lost the site meanwhile) */
        json_t *doc = json_loads(resp.body, 0, NULL);

        redirect(res, w->site, jv_str(doc, "owner", jv_str(doc, "primary", w->primary)), w->path);
        json_decref(doc);
    } else if (rc == 0 && resp.status && resp.body) {
        result_raw(res, (int)resp.status, resp.body);
        resp.body = NULL;
    } else {
        char why[HTTPC_ERR_MAX];

        result_fail(res, 503, "not-primary", NULL, NULL,
                    "the primary at %s did not take the report: %s", w->primary,
                    httpc_outcome(&resp, why, sizeof(why)));
    }
    httpc_resp_done(&resp);
}

static int forward_report(struct rctx *r, const char *site, const char *primary)
{
    struct fwd *w = xcalloc(1, sizeof(*w));
    char self[64];

    w->o = r->c->owners;
    w->keep = r->c->fed->keep;
    snprintf(w->site, sizeof(w->site), "%s", site);
    snprintf(w->primary, sizeof(w->primary), "%s", primary);
    w->url = xasprintf("%s/fed/v1/report", primary);
    w->path = path_of(r);
    w->auth = xasprintf("Authorization: %s", rctx_header(r, "Authorization"));
    owners_self(w->o, self, sizeof(self));
    w->via = xasprintf(OWNER_HEADER ": %s", self);
    w->body = xstrndup(r->http->body ? r->http->body : "", r->http->body_len);
    w->ca = r->c->cfg->cluster_ca ? xstrdup(r->c->cfg->cluster_ca) : NULL;
    r->later = forward_later;
    r->later_free = fwd_free;
    r->later_arg = w;
    return -1;
}

int fed_place(struct rctx *r, const struct route *rt)
{
    struct core *c = r->c;
    const char *via = rctx_header(r, OWNER_HEADER), *name = rt->name ? rt->name : "";
    char site[ID_BUF_MAX], id[CLUSTER_URL_MAX], url[CLUSTER_URL_MAX], primary[CLUSTER_URL_MAX];
    enum owner_is is;

    if (!c->owners || (strcmp(name, "report") && strcmp(name, "channel")))
        return 0;
    site_of(r, site, sizeof(site));
    if (!*site)
        return 0; /* not a manager the store knows (yet): as before sharing */
    is = owners_of(c->owners, site, id, url, sizeof(url));
    if (via) /* forwarded by an owner: the primary takes it from the owner it knows */
        return is == OWNER_OTHER && strcmp(id, via) != 0 ? to_owner(r, site, url) : 0;
    if (is == OWNER_OTHER)
        return to_owner(r, site, url);
    if (is == OWNER_NONE || is_primary(c, primary, sizeof(primary)))
        return 0; /* the primary serves it itself; a standby sends it there */
    if (!*primary)
        return result_fail(&r->res, 503, "not-primary", NULL, NULL,
                           "no primary: one is being elected; try again");
    if (strcmp(name, "report") == 0)
        return forward_report(r, site, primary);
    r->any_role = true; /* the channel: relayed (fed_relay_start) */
    return 0;
}

bool fed_writes(struct core *c)
{
    return !c->cluster || cluster_role(c->cluster, NULL, 0) == CLUSTER_PRIMARY;
}

int fed_takeover(struct core *c)
{
    return c->fed && c->fed->cloud ? fed_cloud_takeover(c->fed) : 0;
}

/* ---- a relayed channel ---- */

static atomic_int relays; /* relayed channels open */

struct relay {
    struct httpc_req rq; /* the channel to the primary */
    const char *hdrs[4];
    pthread_mutex_t mu;
    struct httpd_conn *conn;
    struct owners *o;
    struct sbuf out;
    size_t off;
    bool streaming, closed, released;
    bool cancel; /* set by owners_set when the site leaves, or when the branch goes */
    atomic_int refs;
    char site[ID_BUF_MAX];
    char *url, *auth, *via;
    char *ca; /* --cluster-ca, or NULL */
};

static void relay_unref(struct relay *rl)
{
    if (atomic_fetch_sub(&rl->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&rl->mu);
    sbuf_done(&rl->out);
    free(rl->url);
    free(rl->ca);
    free(rl->auth);
    free(rl->via);
    free(rl);
}

/* Bytes for the branch (text NULL: the end); the connection woken. */
static void relay_push(struct relay *rl, const char *p, size_t n)
{
    pthread_mutex_lock(&rl->mu);
    if (p)
        sbuf_add(&rl->out, p, n);
    else
        rl->closed = true;
    if (rl->streaming && !rl->released)
        httpd_resume(rl->conn);
    pthread_mutex_unlock(&rl->mu);
}

static bool relay_data(void *arg, const char *p, size_t n)
{
    struct relay *rl = arg;

    relay_push(rl, p, n);
    return !__atomic_load_n(&rl->cancel, __ATOMIC_ACQUIRE);
}

/* The channel to the primary ended (on the streams' thread). */
static void relay_done(void *arg, int rc, struct httpc_resp *resp)
{
    struct relay *rl = arg;

    (void)rc;
    owners_unhold(rl->o, rl->site, &rl->cancel);
    log_debug("fed: the relayed channel of site %s ended (%s)", rl->site,
              *resp->err ? resp->err : "by the primary");
    relay_push(rl, NULL, 0); /* the branch opens it again, at the site's owner */
    relay_unref(rl);
    atomic_fetch_sub(&relays, 1);
}

/* The thread of the relayed channels, made at the first. */
static struct httpc_streams *relay_streams(struct fed *f)
{
    pthread_mutex_lock(&f->mu);
    if (!f->relays)
        f->relays = httpc_streams_new("fed-relays");
    pthread_mutex_unlock(&f->mu);
    return f->relays;
}

static ssize_t relay_read(void *cls, char *buf, size_t max)
{
    struct relay *rl = cls;
    ssize_t n;

    pthread_mutex_lock(&rl->mu);
    n = (ssize_t)sbuf_drain(&rl->out, &rl->off, buf, max);
    if (n == 0 && rl->closed)
        n = -1;
    pthread_mutex_unlock(&rl->mu);
    return n;
}

static void relay_release(void *cls)
{
    struct relay *rl = cls;

    pthread_mutex_lock(&rl->mu);
    rl->released = true;
    pthread_mutex_unlock(&rl->mu);
    __atomic_store_n(&rl->cancel, true, __ATOMIC_RELEASE);
    relay_unref(rl);
}

int fed_relay_start(struct rctx *r, struct httpd_conn *conn)
{
    static const struct httpd_kv hdrs[] = {{"Content-Type", "text/event-stream"},
                                           {"Cache-Control", "no-cache"}};
    struct httpc_streams *streams = relay_streams(r->c->fed);
    char primary[CLUSTER_URL_MAX], self[64];
    struct relay *rl;
    bool resume;

    cluster_role(r->c->cluster, primary, sizeof(primary));
    rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->conn = conn;
    rl->o = r->c->owners;
    atomic_init(&rl->refs, 2); /* the stream's to the branch and the one to the primary */
    site_of(r, rl->site, sizeof(rl->site));
    rl->url = xasprintf("%s/fed/v1/channel", primary);
    rl->ca = r->c->cfg->cluster_ca ? xstrdup(r->c->cfg->cluster_ca) : NULL;
    rl->auth = xasprintf("Authorization: %s", rctx_header(r, "Authorization"));
    owners_self(rl->o, self, sizeof(self));
    rl->via = xasprintf(OWNER_HEADER ": %s", self);
    rl->hdrs[0] = "Accept: text/event-stream";
    rl->hdrs[1] = rl->auth;
    rl->hdrs[2] = rl->via;
    rl->rq = (struct httpc_req){.method = "GET",
                                .url = rl->url,
                                .headers = rl->hdrs,
                                .ca_file = rl->ca,
                                .timeout_ms = RELAY_SILENCE_MS,
                                .connect_timeout_ms = 1000,
                                .on_data = relay_data,
                                .data_arg = rl,
                                .cancel = &rl->cancel};
    owners_hold(rl->o, rl->site, &rl->cancel);
    atomic_fetch_add(&relays, 1);
    if (!streams || httpc_stream(streams, &rl->rq, relay_done, rl)) {
        owners_unhold(rl->o, rl->site, &rl->cancel);
        atomic_fetch_sub(&relays, 1);
        relay_unref(rl);
        relay_unref(rl);
        return result_fail(&r->res, 503, "unavailable", NULL, NULL,
                           "cannot relay the channel to the primary");
    }
    httpd_stream(conn, 200, hdrs, ARRAY_SIZE(hdrs), relay_read, relay_release, rl);
    pthread_mutex_lock(&rl->mu);
    rl->streaming = true;
    resume = rl->out.len > rl->off || rl->closed;
    pthread_mutex_unlock(&rl->mu);
    if (resume)
        httpd_resume(conn);
    return 0;
}

void fed_relays_stop(struct core *c)
{
    if (!c->owners)
        return;
    owners_cancel_all(c->owners);
    /* each ends within STREAMS_POLL_MS of its cancel; the rest with the thread */
    for (int i = 0; i < 300 && atomic_load(&relays); i++)
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    if (atomic_load(&relays))
        log_warn("fed: %d relayed channels still open at the stop", atomic_load(&relays));
    httpc_streams_free(c->fed->relays);
    c->fed->relays = NULL;
}

bool fed_chan_misplaced(struct core *c, const char *site, const char *via)
{
    char id[CLUSTER_URL_MAX], url[CLUSTER_URL_MAX];

    if (!c->owners)
        return false;
    if (owners_of(c->owners, site, id, url, sizeof(url)) != OWNER_OTHER)
        return false;
    return !*via || strcmp(id, via) != 0;
}
