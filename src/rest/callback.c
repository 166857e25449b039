#include "rest/callback.h"
#include "rest/xml.h"
#include "core/txq.h"
#include "core/wpool.h"
#include "util/httpc.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct notify_job {
    struct wjob w;
    struct core *c;
    char *url, *body;
    char *hdrs[5];   /* NULL terminated */
    char what[96];   /* "operation op-..." or the request's name, for the event */
    char object[96]; /* the event's object */
    char op[40];     /* operation id, or empty */
    struct httpc_resp resp;
};

static void notify_work(struct wjob *w)
{
    struct notify_job *j = (struct notify_job *)w;
    struct httpc_req rq = {.url = j->url, .body = j->body, .headers = (const char *const *)j->hdrs};

    httpc_do(&rq, &j->resp);
}

static void notify_done(struct wjob *w)
{
    struct notify_job *j = (struct notify_job *)w;
    bool ok = httpc_ok(&j->resp);
    char outcome[HTTPC_ERR_MAX];

    httpc_outcome(&j->resp, outcome, sizeof(outcome));
    if (!w->cancelled)
        core_event(j->c, ok ? "info" : "warn", "api", "callback",
                   json_pack("{s:s?, s:s, s:s}", "operation", *j->op ? j->op : NULL, "object",
                             j->object, "result", ok ? "ok" : "failed"),
                   "callback %s for %s %s%s%s", j->url, j->what,
                   ok ? "delivered (" : "failed: ", outcome, ok ? ")" : "");
    httpc_resp_done(&j->resp);
    for (char **h = j->hdrs; *h; h++)
        free(*h);
    free(j->url);
    free(j->body);
    free(j);
}

/* The body and headers of a callback: JSON, or XML under root with the
 * ESC-* status headers (seed Table 4) for clients that spoke XML. */
static struct notify_job *job_new(struct core *c, const char *url, const json_t *doc, bool xml,
                                  const char *root, const char *txid, int code, const char *msg)
{
    struct notify_job *j = xcalloc(1, sizeof(*j));
    char line[600];
    unsigned n = 0;

    j->w.work = notify_work;
    j->w.done = notify_done;
    j->c = c;
    j->url = xstrdup(url);
    j->body = xml ? xml_from_json(doc, root ? root : "result") : json_dumps(doc, JSON_COMPACT);
    j->hdrs[n++] =
        xstrdup(xml ? "Content-Type: " XML_MEDIA_TYPE : "Content-Type: application/json");
    if (txid) {
        snprintf(line, sizeof(line), "ESC-Transaction-Id: %.200s", txid);
        j->hdrs[n++] = xstrdup(line);
    }
    snprintf(line, sizeof(line), "ESC-Status-Code: %d", code);
    j->hdrs[n++] = xstrdup(line);
    snprintf(line, sizeof(line), "ESC-Status-Message: %.500s", msg);
    for (char *p = line; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    j->hdrs[n++] = xstrdup(line);
    return j;
}

void notify_post_as(struct core *c, const char *url, const json_t *doc, const char *op_id, bool xml)
{
    const char *state = json_string_value(json_object_get(doc, "state"));
    const char *err = json_string_value(json_object_get(doc, "error"));
    bool ok = state && strcmp(state, "completed") == 0;
    struct notify_job *j;

    j = job_new(c, url, doc, xml, "operation",
                json_string_value(json_object_get(doc, "client_transaction_id")), ok ? 200 : 500,
                ok    ? "Success"
                : err ? err
                      : "Failure");
    snprintf(j->op, sizeof(j->op), "%s", op_id);
    snprintf(j->what, sizeof(j->what), "operation %s", op_id);
    snprintf(j->object, sizeof(j->object), "operation/%s", op_id);
    wpool_submit(c->conf, &j->w);
}

void notify_post(struct core *c, const char *url, const json_t *doc, const char *op_id)
{
    notify_post_as(c, url, doc, op_id, false);
}

void notify_txn(struct core *c, const struct txn *t)
{
    json_t *doc = t->res.body  ? json_incref(t->res.body)
                  : t->res.raw ? json_loads(t->res.raw, 0, NULL)
                               : json_object();
    struct notify_job *j;

    if (!doc)
        doc = json_object();
    j = job_new(c, t->callback, doc, t->xml, t->xml_root, t->client_txn_id, 200, "Success");
    snprintf(j->what, sizeof(j->what), "'%s'", t->name);
    if (t->args[0])
        snprintf(j->object, sizeof(j->object), "%s/%s", t->xml_root ? t->xml_root : "object",
                 t->args[0]);
    else
        snprintf(j->object, sizeof(j->object), "%s", t->name);
    json_decref(doc);
    wpool_submit(c->conf, &j->w);
}
