/* SOL003 lifecycle change notifications: outbox and sender (lccn.h). */
#include "sol003/lccn.h"
#include "core/wpool.h"
#include "sol003/sol_view.h"
#include "util/log.h"
#include "util/httpc.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MS      500
#define MAX_BACKOFF_MS  60000
#define POST_TIMEOUT_MS 10000L

struct lccn {
    struct core *c;
    uv_timer_t timer;
    struct hmap inflight; /* subscription id -> job, one delivery each at a time */
    char api_root[300];
};

struct send_job {
    struct wjob w;
    struct core *c;
    char id[SOL_UUID_LEN + 1], sub[SOL_UUID_LEN + 1];
    char *url, *body, *user, *password, version[16];
    struct httpc_resp resp;
};

static void pump(struct core *c, void *arg);

const char *lccn_api_root(const struct core *c, char *buf, size_t size)
{
    const char *host = c->cfg->listen_host ? c->cfg->listen_host : "";
    char name[256];

    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || !*host) {
        if (gethostname(name, sizeof(name)) != 0)
            snprintf(name, sizeof(name), "localhost");
        host = name;
    }
    snprintf(buf, size, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
             c->cfg->listen_port);
    return buf;
}

/* ---- the outbox ---- */

static void after(struct core *c);

/* Writes one notification for sub into the outbox of the open transaction;
 * the sender looks at the outbox once it has committed. */
static void enqueue(struct core *c, const json_t *sub, json_t *body)
{
    char id[SOL_UUID_LEN + 1];
    json_t *rec;

    sol_uuid(id);
    rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:I}", "id", id, "channel", "sol003",
                    "key", doc_str(sub, "id"), "subscription", doc_str(sub, "id"), "_url",
                    jv_str(sub, "callbackUri", ""), "_body", body, "_attempts", 0, "_next_ms",
                    (json_int_t)0);
    doc_touch(rec, "created");
    if (store_put(c->st, STORE_OUTBOX, rec))
        log_error("SOL003: cannot queue a notification for subscription %s: %s", doc_str(sub, "id"),
                  store_errmsg(c->st));
    json_decref(rec);
    after(c);
}

/* The subscriptions that may see a VNF of tenant (admin ones see all). */
static json_t *subscriptions(struct core *c)
{
    json_t *subs = NULL;

    if (store_list(c->st, STORE_SUBSCRIPTION, NULL, &subs))
        return json_array();
    return subs;
}

static bool may_see(const json_t *sub, const char *tenant)
{
    const char *owner = doc_str(sub, "tenant");

    return !owner || (tenant && strcmp(owner, tenant) == 0);
}

static void after(struct core *c)
{
    core_after_commit(c, pump, NULL, NULL);
}

static void op_notify(struct core *c, const json_t *op, bool start)
{
    const char *name = sol_op_name(doc_str(op, "type")), *state = sol_op_state(op);
    const json_t *id = json_object_get(op, "_vnf");
    json_t *subs, *sub;
    char root[300];
    size_t i;

    if (!name || !id) /* not a SOL003 operation type, or from before SOL003 */
        return;
    lccn_api_root(c, root, sizeof(root));
    subs = subscriptions(c);
    json_array_foreach(subs, i, sub)
    {
        struct sol_ctx x = {(int)jv_int(sub, "version", 1), root};

        if (may_see(sub, doc_str(op, "tenant")) &&
            sol_filter_match(json_object_get(sub, "filter"),
                             "VnfLcmOperationOccurrenceNotification", id, name, state))
            enqueue(c, sub, sol_op_notification(&x, op, doc_str(sub, "id"), start));
    }
    json_decref(subs);
}

void lccn_op_started(struct core *c, const json_t *op)
{
    op_notify(c, op, true);
}

void lccn_op_changed(struct core *c, const json_t *op)
{
    op_notify(c, op, false);
}

void lccn_vnf_identifier(struct core *c, const json_t *dep, bool created)
{
    const char *type =
        created ? "VnfIdentifierCreationNotification" : "VnfIdentifierDeletionNotification";
    json_t *id = sol_vnf_identity(dep), *subs = subscriptions(c), *sub;
    char root[300];
    size_t i;

    lccn_api_root(c, root, sizeof(root));
    json_array_foreach(subs, i, sub)
    {
        struct sol_ctx x = {(int)jv_int(sub, "version", 1), root};

        if (may_see(sub, doc_str(dep, "tenant")) &&
            sol_filter_match(json_object_get(sub, "filter"), type, id, NULL, NULL))
            enqueue(c, sub, sol_id_notification(&x, type, doc_str(dep, "id"), doc_str(sub, "id")));
    }
    json_decref(subs);
    json_decref(id);
}

/* ---- delivery ---- */

/* SOL013 5.5: a POST of the notification, answered 204 by the subscriber. */
static void send_work(struct wjob *w)
{
    struct send_job *j = (struct send_job *)w;
    char ver[48];
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", ver, NULL};
    struct httpc_req rq = {.url = j->url,
                           .body = j->body,
                           .headers = hdrs,
                           .user = j->user,
                           .password = j->password,
                           .timeout_ms = POST_TIMEOUT_MS};

    snprintf(ver, sizeof(ver), "Version: %s", j->version);
    httpc_do(&rq, &j->resp);
}

static void job_free(struct send_job *j)
{
    httpc_resp_done(&j->resp);
    free(j->url);
    free(j->body);
    free(j->user);
    free(j->password);
    free(j);
}

/* Records the outcome: delivered (gone from the outbox), retried later, or
 * given up after LCCN_MAX_ATTEMPTS. */
static void record_outcome(struct core *c, struct send_job *j)
{
    bool ok = httpc_ok(&j->resp);
    json_t *rec = NULL;
    long long n;

    core_tx_begin(c);
    if (store_get(c->st, STORE_OUTBOX, j->id, &rec) == 0) {
        n = doc_int(rec, "_attempts", 0) + 1;
        if (ok || n >= LCCN_MAX_ATTEMPTS) {
            store_delete(c->st, STORE_OUTBOX, j->id);
        } else {
            uint64_t delay = (uint64_t)BACKOFF_MS << (n - 1 < 16 ? n - 1 : 16);

            doc_set_int(rec, "_attempts", n);
            doc_set_int(rec, "_next_ms",
                        wall_ms() + (int64_t)(delay > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay));
            store_put(c->st, STORE_OUTBOX, rec);
        }
        if (!ok) {
            char why[HTTPC_ERR_MAX], obj[64];

            httpc_outcome(&j->resp, why, sizeof(why));
            snprintf(obj, sizeof(obj), "subscription/%s", j->sub);
            core_event(c, n >= LCCN_MAX_ATTEMPTS ? "error" : "warn", "api", "notification",
                       json_pack("{s:s, s:s}", "object", obj, "result", "failed"),
                       "SOL003 notification to %s attempt %lld of %d failed: %s%s", j->url, n,
                       LCCN_MAX_ATTEMPTS, why, n >= LCCN_MAX_ATTEMPTS ? "; given up" : "");
        }
    }
    core_tx_commit(c);
    json_decref(rec);
}

static void send_done(struct wjob *w)
{
    struct send_job *j = (struct send_job *)w;
    struct core *c = j->c;

    if (!w->cancelled && !c->stopping && c->lccn) {
        record_outcome(c, j);
        hmap_del(&c->lccn->inflight, j->sub);
        job_free(j);
        pump(c, NULL);
        return;
    }
    if (c->lccn)
        hmap_del(&c->lccn->inflight, j->sub);
    job_free(j);
}

static void submit(struct core *c, const json_t *rec, const json_t *sub)
{
    struct send_job *j = xcalloc(1, sizeof(*j));
    const json_t *auth = json_object_get(sub, "_auth");

    j->w.work = send_work;
    j->w.done = send_done;
    j->c = c;
    snprintf(j->id, sizeof(j->id), "%s", doc_str(rec, "id"));
    snprintf(j->sub, sizeof(j->sub), "%s", doc_str(rec, "subscription"));
    snprintf(j->version, sizeof(j->version), "%s",
             jv_int(sub, "version", 1) == 2 ? SOL_V2_VERSION : SOL_V1_VERSION);
    j->url = xstrdup(jv_str(rec, "_url", ""));
    j->body = json_dumps(json_object_get(rec, "_body"), JSON_COMPACT);
    j->user = xstrdup(jv_str(auth, "userName", NULL));
    j->password = xstrdup(jv_str(auth, "password", NULL));
    hmap_put(&c->lccn->inflight, j->sub, j);
    wpool_submit(c->conf, &j->w);
}

static void on_timer(uv_timer_t *t)
{
    struct lccn *l = t->data;

    pump(l->c, NULL);
}

/* Starts what is due: the oldest pending notification of each subscription
 * that has none in flight; wakes up again when the next retry is due. */
static void pump(struct core *c, void *arg)
{
    struct store_where w = {"channel", "sol003", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    struct hmap seen;
    json_t *recs = NULL, *rec;
    int64_t now = wall_ms(), next = 0;
    size_t i;

    (void)arg;
    if (!c->lccn || c->stopping || store_list(c->st, STORE_OUTBOX, &o, &recs))
        return;
    hmap_init(&seen);
    json_array_foreach(recs, i, rec)
    {
        const char *sub_id = doc_str(rec, "subscription");
        int64_t due = doc_int(rec, "_next_ms", 0);
        json_t *sub = NULL;

        if (hmap_get(&seen, sub_id) || hmap_get(&c->lccn->inflight, sub_id))
            continue;
        hmap_put(&seen, sub_id, rec);
        if (due > now) {
            next = next == 0 || due < next ? due : next;
        } else if (store_get(c->st, STORE_SUBSCRIPTION, sub_id, &sub) == 0) {
            submit(c, rec, sub);
        } else { /* the subscription is gone: nobody to tell */
            store_delete(c->st, STORE_OUTBOX, doc_str(rec, "id"));
            hmap_del(&seen, sub_id);
        }
        json_decref(sub);
    }
    hmap_done(&seen);
    json_decref(recs);
    uv_timer_stop(&c->lccn->timer);
    if (next)
        uv_timer_start(&c->lccn->timer, on_timer, (uint64_t)(next - now), 0);
}

void lccn_start(struct core *c)
{
    struct lccn *l = xcalloc(1, sizeof(*l));

    l->c = c;
    hmap_init(&l->inflight);
    uv_timer_init(c->loop, &l->timer);
    l->timer.data = l;
    c->lccn = l;
    pump(c, NULL);
}

static void lccn_closed(uv_handle_t *h)
{
    struct lccn *l = h->data;

    hmap_done(&l->inflight);
    free(l);
}

void lccn_stop(struct core *c)
{
    struct lccn *l = c->lccn;

    if (!l)
        return;
    c->lccn = NULL;
    uv_close((uv_handle_t *)&l->timer, lccn_closed);
}
