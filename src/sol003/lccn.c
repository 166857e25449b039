/* SOL003 lifecycle change notifications (lccn.h): what is notified to whom,
 * and their channel of the outbox. */
#include "sol003/lccn.h"
#include "core/outbox.h"
#include "lcm/observe.h"
#include "sol003/sol_svc.h"
#include "sol003/sol_view.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the outbox channel ---- */

/* Writes one notification for sub into the outbox of the open transaction. */
static void enqueue(struct core *c, const json_t *sub, json_t *body)
{
    char id[ID_UUID_LEN + 1], obj[64];
    struct outbox_msg m = {.channel = "sol003",
                           .key = doc_str(sub, "id"),
                           .id = id,
                           .object = obj,
                           .url = jv_str(sub, "callbackUri", ""),
                           .body = body,
                           .by_tenant = doc_str(sub, "tenant") != NULL};

    id_uuid(id);
    snprintf(obj, sizeof(obj), "subscription/%s", doc_str(sub, "id"));
    outbox_put(c, &m);
}

int lccn_prepare_post(const json_t *sub, const char *version, struct outbox_req *rq)
{
    const json_t *auth = json_object_get(sub, "_auth");

    if (!sub)
        return -ENOENT;
    outbox_req_header(rq, "Content-Type: application/json");
    outbox_req_header(rq, "Accept: application/json");
    outbox_req_header(rq, "Version: %s", version);
    rq->user = xstrdup(jv_str(auth, "userName", NULL));
    rq->password = xstrdup(jv_str(auth, "password", NULL));
    return 0;
}

void lccn_report_failure(struct core *c, const char *iface, const json_t *rec,
                         const struct outbox_outcome *o)
{
    bool last = o->result == OUTBOX_GIVEN_UP;
    char obj[64];

    if (o->result != OUTBOX_FAILED && !last)
        return;
    snprintf(obj, sizeof(obj), "subscription/%s", doc_str(rec, "key"));
    core_event(c, last ? "error" : "warn", "api", "notification",
               json_pack("{s:s, s:s}", "object", obj, "result", "failed"),
               "%s notification to %s attempt %u of %u failed: %s%s", iface,
               jv_str(rec, "_url", ""), o->attempt, o->attempts, o->why, last ? "; given up" : "");
}

/* The subscription's interface version: a v2 subscription gets v2's. */
static int prepare(struct core *c, const json_t *rec, struct outbox_req *rq)
{
    json_t *sub = core_load(c, STORE_SUBSCRIPTION, doc_str(rec, "key"));
    int r = lccn_prepare_post(sub, jv_int(sub, "version", 1) == 2 ? SOL_V2_VERSION : SOL_V1_VERSION,
                              rq);

    json_decref(sub);
    return r;
}

static void report(struct core *c, const json_t *rec, const struct outbox_outcome *o)
{
    lccn_report_failure(c, "SOL003", rec, o);
}

static const struct outbox_channel channel = {
    .name = "sol003",
    .attempts = LCCN_MAX_ATTEMPTS,
    .prepare = prepare,
    .report = report,
};

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
            enqueue(c, sub, sol_op_notification(&x, op, sub, start));
    }
    json_decref(subs);
}

/* ---- the observer of the lifecycle ---- */

/* Notifications name the VNF as it was when the operation began (it may be
 * gone by its end): its identity is kept in the record. */
static void op_started(struct core *c, json_t *op, const json_t *dep)
{
    json_object_set_new(op, "_vnf", sol_vnf_identity(dep));
    op_notify(c, op, true);
}

static void op_changed(struct core *c, const json_t *op)
{
    op_notify(c, op, false);
}

static void vnf_identifier(struct core *c, const json_t *dep, bool created)
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
            enqueue(c, sub,
                    sol_id_notification(&x, type, id_name(doc_str(dep, "id")), doc_str(sub, "id")));
    }
    json_decref(subs);
    json_decref(id);
}

static void dep_created(struct core *c, const json_t *dep)
{
    vnf_identifier(c, dep, true);
}

static void dep_deleted(struct core *c, const json_t *dep)
{
    vnf_identifier(c, dep, false);
}

static const struct lc_observer observer = {
    .name = "sol003",
    .op_started = op_started,
    .op_changed = op_changed,
    .dep_created = dep_created,
    .dep_deleted = dep_deleted,
    .op_finish = sol_op_finish,
};

void lccn_init(struct core *c)
{
    outbox_register(c->outbox, &channel);
    lc_observe(c, &observer);
}
