/* Callback notifications (callback.h): the "callback" channel of the
 * outbox, keyed by the Callback URL. */
#include "rest/callback.h"
#include "core/states.h"
#include "rest/xml.h"
#include "core/outbox.h"
#include "core/txq.h"
#include "lcm/observe.h"
#include "util/doc.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTEMPTS 10

/* Queues doc for url in the open transaction: JSON, or XML under root with
 * the ESC-* status headers (seed Table 4) for clients that spoke XML. what
 * ("operation op-..." or the request's name) and object name it in events;
 * op is the operation's id or NULL. */
static void enqueue(struct core *c, const char *url, const json_t *doc, bool xml, const char *root,
                    const char *txid, int code, const char *msg, const char *what,
                    const char *object, const char *op, bool by_tenant)
{
    json_t *hdrs = json_array();
    char line[600];
    struct outbox_msg m = {
        .channel = "callback", .key = url, .object = object, .url = url, .by_tenant = by_tenant};

    json_array_append_new(hdrs, json_string(xml ? "Content-Type: " XML_MEDIA_TYPE
                                                : "Content-Type: application/json"));
    if (txid) {
        snprintf(line, sizeof(line), "ESC-Transaction-Id: %.200s", txid);
        json_array_append_new(hdrs, json_string(line));
    }
    snprintf(line, sizeof(line), "ESC-Status-Code: %d", code);
    json_array_append_new(hdrs, json_string(line));
    snprintf(line, sizeof(line), "ESC-Status-Message: %.500s", msg);
    for (char *p = line; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    json_array_append_new(hdrs, json_string(line));
    m.headers = hdrs;
    if (xml) {
        char *text = xml_from_json(doc, root ? root : "result");

        m.body = json_string(text ? text : "");
        free(text);
    } else {
        m.body = json_incref((json_t *)doc);
    }
    m.extra = json_pack("{s:s, s:s?}", "_what", what, "_operation", op);
    outbox_put(c, &m);
}

/* The observer of the lifecycle: a finished operation's Callback. */
static void op_ended(struct core *c, const json_t *op)
{
    const char *err = doc_str(op, "error"), *id = doc_str(op, "id");
    bool ok = op_state_of(op) == OP_COMPLETED;
    json_t *pub;
    char what[96], obj[96];

    if (!doc_str(op, "callback"))
        return;
    pub = doc_shown(op);
    snprintf(what, sizeof(what), "operation %s", id);
    snprintf(obj, sizeof(obj), "operation/%s", id);
    enqueue(c, doc_str(op, "callback"), pub, json_is_true(json_object_get(op, "_callback_xml")),
            "operation", doc_str(op, "client_transaction_id"), ok ? 200 : 500,
            ok    ? "Success"
            : err ? err
                  : "Failure",
            what, obj, id, json_is_true(json_object_get(op, "_callback_tenant")));
    json_decref(pub);
}

/* A change made at once (no lifecycle operation, e.g. the tenant of Table
 * 3): its Callback hears the result, in the request's format, with the
 * ESC-Transaction-Id of its Client-Transaction-Id (para 47). */
static void applied(struct core *c, const struct txn *t)
{
    char what[96], obj[96];
    json_t *doc;

    if (!t->callback || t->res.status >= 300 || t->res.status == 202)
        return;
    doc = t->res.body  ? json_deep_copy(t->res.body)
          : t->res.raw ? json_loads(t->res.raw, 0, NULL)
                       : json_object();
    if (!doc)
        doc = json_object();
    doc_show_names(doc); /* as the answer shows them: names, not store keys */
    snprintf(what, sizeof(what), "'%s'", t->name);
    if (t->args[0])
        snprintf(obj, sizeof(obj), "%s/%s", t->xml_root ? t->xml_root : "object", t->args[0]);
    else
        snprintf(obj, sizeof(obj), "%s", t->name);
    enqueue(c, t->callback, doc, t->xml, t->xml_root, t->client_txn_id, 200, "Success", what, obj,
            NULL, !t->who.admin);
    json_decref(doc);
}

/* An api/callback event for each outcome (a drop is the outbox's). */
static void report(struct core *c, const json_t *rec, const struct outbox_outcome *o)
{
    bool ok = o->result == OUTBOX_DELIVERED, last = o->result == OUTBOX_GIVEN_UP;
    json_t *f;

    if (o->result == OUTBOX_DROPPED)
        return;
    f = json_pack("{s:s?, s:s?, s:s}", "operation", doc_str(rec, "_operation"), "object",
                  doc_str(rec, "object"), "result", ok ? "ok" : "failed");
    if (ok)
        core_event(c, "info", "api", "callback", f, "callback %s for %s delivered (%s)",
                   jv_str(rec, "_url", ""), jv_str(rec, "_what", "?"), o->why);
    else
        core_event(c, last ? "error" : "warn", "api", "callback", f,
                   "callback %s for %s failed: %s (attempt %u of %u%s)", jv_str(rec, "_url", ""),
                   jv_str(rec, "_what", "?"), o->why, o->attempt, o->attempts,
                   last ? ", given up" : "");
}

static const struct outbox_channel channel = {
    .name = "callback",
    .attempts = ATTEMPTS,
    .report = report,
};

static const struct lc_observer observer = {.name = "callback", .op_ended = op_ended};

int callback_check(struct core *c, const struct principal *who, const char *url, struct result *res)
{
    if (!url || who->admin || !httpc_url_denied(url, c->cfg->tenant_deny))
        return 0;
    return result_fail(res, 400, "invalid-value", "field", "Callback",
                       "Callback: a tenant's callbacks may not go to this address (loopback, "
                       "link-local and private ones need vnfmd --tenant-destinations)");
}

void callback_init(struct core *c)
{
    outbox_register(c->outbox, &channel);
    txq_on_applied(c->txq, applied);
    lc_observe(c, &observer);
}
