/* A branch manager's end of the channel (docs/FEDERATION.md): a thread of
 * its own holds GET /fed/v1/channel open to the cloud (the branch dials
 * out), reads its server-sent events, and hands each instruction to the
 * transactor, as a request of the admin's keyed by the instruction id.
 * Instructions are applied in the order they come (their seq), each once:
 * the ids applied and their results are kept in the store (meta
 * fed_applied) in the transaction of the change, and the result goes to
 * the cloud in the next reports until it acknowledges it. */
#include "fed/fed_internal.h"
#include "catalog/svc_catalog.h"
#include "lcm/lifecycle.h"
#include "lcm/svc_lcm.h"
#include "core/txq.h"
#include "util/doc.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define META_APPLIED   "fed_applied"
#define APPLIED_KEEP   256 /* results kept of the instructions applied last */
#define SILENCE_S      20  /* a channel without a byte (keep-alives come every 5 s) is dead */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000
#define EVENT_MAX      (4 * 1024 * 1024)

/* ---- applying an instruction (on the loop) ---- */

/* The applied instructions: {"seq": highest applied, "ids": {id: result}}. */
static json_t *applied_load(struct core *c)
{
    char *text = NULL;
    json_t *doc = NULL;

    if (store_meta_get(c->st, META_APPLIED, &text) == 0)
        doc = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_pack("{s:I, s:{}, s:[]}", "seq", (json_int_t)0, "ids", "order");
    }
    return doc;
}

static void applied_save(struct core *c, json_t *doc, const char *id, const json_t *result)
{
    json_t *ids = json_object_get(doc, "ids"), *order = json_object_get(doc, "order");
    char *text;

    json_object_set(ids, id, (json_t *)result);
    json_array_append_new(order, json_string(id));
    while (json_array_size(order) > APPLIED_KEEP) {
        json_object_del(ids, json_string_value(json_array_get(order, 0)));
        json_array_remove(order, 0);
    }
    text = json_dumps(doc, JSON_COMPACT);
    store_meta_set(c->st, META_APPLIED, text);
    free(text);
}

/* What the cloud gets back: the request's status, and the operation or
 * the error. */
static json_t *result_of(const char *id, const struct result *res)
{
    json_t *r = json_pack("{s:s, s:i}", "id", id, "status", res->status);

    if (res->status < 400 && doc_str(res->body, "id"))
        json_object_set(r, "operation", json_object_get(res->body, "id"));
    if (res->status < 400 && doc_str(res->body, "service_endpoint"))
        json_object_set(r, "service_endpoint", json_object_get(res->body, "service_endpoint"));
    if (res->status >= 400)
        json_object_set_new(r, "message",
                            json_string(jv_str(res->body, "message", "refused by the branch")));
    return r;
}

/* A deploy brings the cloud's VNFD and tenant along: what the branch lacks
 * of them is recorded here first. */
static void adopt(struct core *c, enum store_kind k, const json_t *doc)
{
    json_t *have;

    if (!doc_str(doc, "id"))
        return;
    have = core_load(c, k, doc_str(doc, "id"));
    if (!have)
        store_put(c->st, k, doc);
    json_decref(have);
}

/* A SOL003 instantiate's deploy brings what the deployment's record takes
 * of the cloud's instance ("record": its information, flavour, level and
 * flavoured descriptor), so that the branch's own /vnflcm shows it too. */
static void take_record(json_t *dep, const json_t *rec)
{
    static const char *const keys[] = {"sol003", "flavour", "instantiation_level", "_descriptor"};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (json_object_get(rec, keys[i]))
            json_object_set(dep, keys[i], json_object_get(rec, keys[i]));
}

static void apply_deploy(struct core *c, struct txn *t)
{
    json_t *rules = json_incref(json_object_get(t->body, "rules")), *dep;
    json_t *rec = json_incref(json_object_get(t->body, "record"));

    adopt(c, STORE_TENANT, json_object_get(t->body, "_tenant"));
    adopt(c, STORE_VNFD, json_object_get(t->body, "_vnfd"));
    json_object_del(t->body, "_tenant");
    json_object_del(t->body, "_vnfd");
    json_object_del(t->body, "rules");
    json_object_del(t->body, "record");
    json_object_set_new(t->body, "site", json_string(c->cfg->site));
    svc_deploy(c, t);
    /* a move's clone keeps the rules its original had (fed/move.c) */
    if ((rules || rec) && t->res.status < 400 &&
        (dep = core_load(c, STORE_DEPLOYMENT, jv_str(t->body, "name", "")))) {
        if (rules)
            json_object_set(dep, "rules", rules);
        take_record(dep, rec);
        store_put(c->st, STORE_DEPLOYMENT, dep);
        json_decref(dep);
    }
    json_decref(rules);
    json_decref(rec);
}

/* An instruction of a decision of the cloud's rules ("_rules": its
 * decision and the generation of the ownership it saw) is applied only if
 * the cloud's rules own the deployment still in that generation (owner.c):
 * else 409, and the decision's action fails on the cloud. */
static int owned_by_cloud(struct core *c, struct txn *t)
{
    const json_t *r = json_object_get(t->body, "_rules");
    json_t *dep;
    int ret = 0;

    if (!r)
        return 0;
    dep = core_load(c, STORE_DEPLOYMENT, t->args[0] ? t->args[0] : "");
    if (dep && (strcmp(jv_str(dep, "rules_owner", "branch"), "cloud") ||
                doc_int(dep, "rules_owner_gen", 0) != jv_int(r, "gen", -1)))
        ret = result_fail(&t->res, 409, "conflict", "field", "rules_owner",
                          "the cloud's rules do not own deployment '%s' now (rules_owner %s, "
                          "generation %lld; decision %s saw generation %lld): not applied",
                          t->args[0], jv_str(dep, "rules_owner", "branch"),
                          (long long)doc_int(dep, "rules_owner_gen", 0), jv_str(r, "decision", "?"),
                          (long long)jv_int(r, "gen", -1));
    json_decref(dep);
    json_object_del(t->body, "_rules");
    return ret;
}

/* A capacity change of this branch's site (the cloud's pool policy,
 * pool.c: more room before moves): PUT /v0/sites/SITE with the capacity. */
static void apply_capacity(struct core *c, struct txn *t)
{
    free(t->args[0]);
    t->args[0] = xstrdup(c->cfg->site);
    json_object_del(t->body, "decision");
    if (!json_is_object(json_object_get(t->body, "capacity")))
        result_fail(&t->res, 400, "missing-field", "field", "capacity", "no capacity");
    else
        svc_site_update(c, t);
}

/* The branch's operation that the cloud's operation id follows (started
 * by its instruction: Client-Transaction-Id id) on deployment dep_id, a
 * new reference, or NULL. */
static json_t *instructed_op(struct core *c, const char *dep_id, const char *id)
{
    struct store_where w = {"deployment", dep_id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *ops = NULL, *op, *found = NULL;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &ops))
        return NULL;
    json_array_foreach(ops, i, op)
    {
        if (!found && strcmp(jv_str(op, "client_transaction_id", ""), id) == 0)
            found = json_incref(op);
    }
    json_decref(ops);
    return found;
}

/* {operation: the cloud's operation, decision: retry|rollback|fail|cancel,
 * mode?}: the decision on the branch's operation that follows it, as its
 * own API takes it (docs/FEDERATION.md "Decisions on a branch's
 * operation"); the refusals (409 in another state, 422 for what cannot be
 * rolled back) go back to the cloud. */
static void apply_decide(struct core *c, struct txn *t)
{
    const char *what = jv_str(t->body, "decision", ""),
               *cloud_op = jv_str(t->body, "operation", "");
    json_t *op = instructed_op(c, t->args[0], cloud_op), *out = NULL;

    if (!op) {
        result_fail(&t->res, 404, "not-found", "object", cloud_op,
                    "deployment '%s' has no operation started by the cloud's %s", t->args[0],
                    cloud_op);
        return;
    }
    if (strcmp(what, "retry") == 0)
        out = lc_op_retry(c, doc_str(op, "id"), &t->res);
    else if (strcmp(what, "rollback") == 0)
        out = lc_op_rollback(c, doc_str(op, "id"), &t->res);
    else if (strcmp(what, "fail") == 0)
        out = lc_op_fail(c, doc_str(op, "id"), &t->res);
    else if (strcmp(what, "cancel") == 0)
        out = lc_op_cancel(c, doc_str(op, "id"), jv_str(t->body, "mode", "GRACEFUL"), &t->res);
    else
        result_fail(&t->res, 400, "invalid-value", "field", "decision",
                    "decision: retry, rollback, fail or cancel, not '%s'", what);
    if (out)
        result_ok(&t->res, 200, doc_public(out));
    json_decref(out);
    json_decref(op);
}

static const struct {
    const char *type;
    txn_apply_fn apply;
} kinds[] = {
    {"deploy", apply_deploy},
    {"undeploy", svc_undeploy},
    {"heal", svc_heal},
    {"scale", svc_scale},
    {"resize", svc_resize},
    {"operate", svc_operate},
    {"rescale", svc_rescale},
    {"modify_info", svc_modify_info},
    {"decide", apply_decide},
    {"rules_owner", fed_owner_apply},
    {"spawn_manager", fed_spawn_apply},
    {"stop_manager", fed_unspawn_apply},
    {"standbys", fed_standbys_apply},
    {"site_capacity", apply_capacity},
    {"endpoint", fed_endpoint_apply},
    {"handover", fed_handover_apply},
    {"relocate", fed_relocate_apply},
    {"return", fed_return_apply},
};

static void instruction_apply(struct core *c, struct txn *t)
{
    json_t *ins = json_object_get(t->query, "instruction"), *applied = applied_load(c), *r;
    const char *id = jv_str(ins, "id", ""), *type = jv_str(ins, "type", "");
    txn_apply_fn fn = NULL;

    if ((r = json_object_get(json_object_get(applied, "ids"), id))) {
        result_ok(&t->res, 200, json_pack("{s:O, s:b}", "result", r, "duplicate", 1));
        json_decref(applied);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        if (strcmp(type, kinds[i].type) == 0)
            fn = kinds[i].apply;
    if (!fn)
        result_fail(&t->res, 400, "bad-instruction", "field", "type",
                    "unknown instruction type '%s'", type);
    else if (owned_by_cloud(c, t) == 0)
        fn(c, t);
    r = result_of(id, &t->res);
    log_info("fed: instruction %s (%s, seq %lld): HTTP %d %s", id, type,
             (long long)jv_int(ins, "seq", 0), t->res.status, jv_str(t->res.body, "message", ""));
    if (t->res.status < 400)
        applied_save(c, applied, id, r); /* with the change: applied once */
    fed_result_add(c->fed, r);
    json_decref(r);
    json_decref(applied);
}

static void instruction_done(struct txn *t)
{
    txn_free(t);
}

static void submit(struct fed *f, json_t *ins)
{
    const char *type = jv_str(ins, "type", "");
    struct txn *t = txn_new(instruction_apply, type);
    json_t *body = json_object_get(ins, "body");

    t->who.admin = true;
    snprintf(t->who.token_id, sizeof(t->who.token_id), "cloud");
    t->body = json_is_object(body) ? json_deep_copy(body) : json_object();
    /* a SOL003 task's: it pauses in failed_temp (lifecycle.h) */
    t->query = json_pack("{s:O, s:b}", "instruction", ins, "_pause",
                         json_is_true(json_object_get(t->body, "_pause")));
    json_object_del(t->body, "_pause");
    t->client_txn_id = xstrdup(jv_str(ins, "id", ""));
    t->args[0] = xstrdup(jv_str(ins, "deployment", jv_str(body, "name", "")));
    t->complete = instruction_done;
    txq_submit(f->c->txq, t);
}

/* ---- the channel thread ---- */

struct reader {
    struct fed *f;
    struct sbuf line; /* the line being read */
    struct sbuf buf;  /* the data of the current event */
    char event[32];
    bool saw_data;
};

static void reset(struct sbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

/* One whole event (its lines in r->buf as data). */
static void dispatch(struct reader *r, const char *data)
{
    json_t *ins;

    if (strcmp(r->event, "instruction") == 0) {
        ins = json_loads(data, 0, NULL);
        if (json_is_object(ins) && doc_str(ins, "id"))
            submit(r->f, ins);
        else
            log_warn("fed: an instruction the cloud sent is not JSON; ignored");
        json_decref(ins);
    } else if (strcmp(r->event, "report") == 0) {
        fed_report_soon(r->f); /* a pull (seed para 102) */
    }
}

/* Parses the stream line by line (text/event-stream, WHATWG HTML 9.2). */
static bool on_data(void *arg, const char *p, size_t n)
{
    struct reader *r = arg;
    struct sbuf *line = &r->line;

    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            sbuf_addc(line, p[i]);
            if (line->len > EVENT_MAX)
                return false;
            continue;
        }
        const char *l = sbuf_str(line);

        if (!*l) { /* the end of an event */
            if (r->saw_data)
                dispatch(r, sbuf_str(&r->buf));
            reset(&r->buf);
            r->event[0] = '\0';
            r->saw_data = false;
        } else if (strncmp(l, "event: ", 7) == 0) {
            snprintf(r->event, sizeof(r->event), "%s", l + 7);
        } else if (strncmp(l, "data: ", 6) == 0) {
            sbuf_adds(&r->buf, l + 6);
            r->saw_data = true;
        }
        reset(line);
    }
    return !__atomic_load_n(&r->f->chan_stop, __ATOMIC_RELAXED);
}

static void nap(struct fed *f, unsigned ms)
{
    for (unsigned slept = 0; slept < ms && !__atomic_load_n(&f->chan_stop, __ATOMIC_RELAXED);
         slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000}, NULL);
}

static void *channel_main(void *arg)
{
    struct fed *f = arg;
    char base[512], url[600];
    char *auth = xasprintf("Authorization: Bearer %s", f->cred);
    const char *hdrs[] = {"Accept: text/event-stream", auth, NULL};
    unsigned backoff = BACKOFF_MIN_MS;

    while (!__atomic_load_n(&f->chan_stop, __ATOMIC_RELAXED)) {
        struct reader r = {.f = f};
        struct httpc_resp resp;
        uint64_t t0 = mono_ms();

        fed_cloud_pick(f, base, sizeof(base));
        snprintf(url, sizeof(url), "%s/fed/v1/channel", base);
        httpc_do(&(struct httpc_req){.method = "GET",
                                     .url = url,
                                     .headers = hdrs,
                                     .timeout_ms = SILENCE_S * 1000,
                                     .connect_timeout_ms = 2000,
                                     .ca_file = f->c->cfg->cloud_ca,
                                     .on_data = on_data,
                                     .data_arg = &r,
                                     .cancel = &f->chan_stop,
                                     .follow = true},
                 &resp);
        if (resp.status && !httpc_ok(&resp) && resp.status != 503)
            log_warn("fed: the cloud refused the channel: HTTP %ld", resp.status);
        if (!resp.status || resp.status == 503) /* the next cloud VNFM of --cloud-url */
            fed_cloud_failed(f, base);
        httpc_resp_done(&resp);
        sbuf_done(&r.buf);
        sbuf_done(&r.line);
        if (mono_ms() - t0 > 5000)
            backoff = BACKOFF_MIN_MS; /* it was up a while: at once again */
        nap(f, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    free(auth);
    return NULL;
}

int fed_downlink_start(struct fed *f)
{
    if (pthread_create(&f->chan_thread, NULL, channel_main, f)) {
        log_error("fed: cannot start the channel thread");
        return -1;
    }
    f->chan_running = true;
    return 0;
}

void fed_downlink_stop(struct fed *f)
{
    if (!f->chan_running)
        return;
    __atomic_store_n(&f->chan_stop, true, __ATOMIC_RELAXED);
    pthread_join(f->chan_thread, NULL);
    f->chan_running = false;
}
