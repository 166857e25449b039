/* One control point (docs/FEDERATION.md): on the cloud, a lifecycle request
 * aimed at a branch site or a branch deployment becomes an instruction to
 * the branch's manager, written in the request's transaction with the
 * manager's next seq, with an operation record of the cloud's that follows
 * the branch's operation stage by stage (from its reports) to its end.
 * The instruction's id is that operation's id, and it is the branch's
 * Client-Transaction-Id: the branch applies each once, and reports the
 * operations it started under it. */
#include "fed/fed_internal.h"
#include "lcm/observe.h"
#include "lcm/remote.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <string.h>

json_t *fed_instruction_msg(const json_t *ins)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:O}", "id", jv_str(ins, "id", ""), "seq",
                     (json_int_t)jv_int(ins, "seq", 0), "type", jv_str(ins, "type", ""),
                     "deployment", jv_str(ins, "deployment", ""), "body",
                     json_object_get(ins, "body"));
}

/* The manager running site, reachable; else NULL with res set (503
 * naming the site and since when). */
struct fed_mgr *fed_site_manager(struct fed *f, struct result *res, const char *site)
{
    struct fed_mgr *m = NULL;
    struct hmap_entry *e;
    char since[TIME_STR_MAX];
    size_t i;

    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        struct fed_mgr *x = e->value;

        /* the first manager of the site before those it started (elastic.c) */
        if (strcmp(x->site, site) == 0 &&
            (!m || (strcmp(x->state, "active") == 0 && (strcmp(m->state, "active") || *m->parent))))
            m = x;
    }
    if (!m) {
        result_fail(res, 503, "unavailable", "object", site, "branch site %s has no manager", site);
        return NULL;
    }
    if (strcmp(m->state, "active")) {
        result_fail(res, 503, "site-unreachable", "object", site,
                    "branch site %s is unreachable since %s: its manager %s does not report", site,
                    time_fmt(m->since_ms, since), m->id);
        return NULL;
    }
    return m;
}

/* The manager that runs dep (its `manager`: a manager of its site another
 * one started runs the deployments handed over to it, fed/handover.c),
 * else its site's; NULL with res set as fed_site_manager. */
static struct fed_mgr *dep_manager(struct fed *f, struct result *res, const json_t *dep,
                                   const char *site)
{
    struct fed_mgr *m = hmap_get(&f->mgrs, jv_str(dep, "manager", ""));
    char since[TIME_STR_MAX];

    if (!m || strcmp(m->site, site) || strcmp(m->state, "removed") == 0)
        return fed_site_manager(f, res, site);
    if (strcmp(m->state, "active")) {
        result_fail(res, 503, "site-unreachable", "object", site,
                    "the manager %s of branch site %s that runs deployment '%s' is unreachable "
                    "since %s",
                    m->id, site, id_name(jv_str(dep, "id", "?")), time_fmt(m->since_ms, since));
        return NULL;
    }
    return m;
}

/* The record of instruction id of type for m about dep_id, with m's next
 * seq and body (taken); a new reference. */
static json_t *new_instruction(struct fed_mgr *m, const char *id, const char *type,
                               const char *dep_id, json_t *body)
{
    json_t *ins;

    m->next_seq++;
    ins = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:o}", "id", id, "manager", m->id, "seq",
                    (json_int_t)m->next_seq, "type", type, "state", "pending", "deployment", dep_id,
                    "body", body);
    doc_touch(ins, "created");
    return ins;
}

/* Writes the instruction ins, its operation op and m's seq; on failure
 * both are released and res says why (-1). */
static int save(struct core *c, struct fed_mgr *m, json_t *ins, json_t *op, struct result *res)
{
    if (store_put(c->st, STORE_INSTRUCTION, ins) == 0 && store_put(c->st, STORE_OP, op) == 0 &&
        fed_mgr_save_seq(c, m) == 0)
        return 0;
    result_fail(res, 503, "unavailable", NULL, NULL, "cannot write the instruction: %s",
                store_errmsg(c->st));
    json_decref(ins);
    json_decref(op);
    return -1;
}

/* The instruction of type for m about dep (a new reference), and in *op
 * the cloud's operation that follows it, with the members of op_extra
 * (taken, may be NULL); the observers are told it started. NULL with res
 * set. ctid: the request's Client-Transaction-Id, or NULL. */
json_t *fed_instruct(struct core *c, struct fed_mgr *m, const char *type, const json_t *dep,
                     json_t *body, const char *ctid, json_t *op_extra, struct result *res,
                     json_t **op_out)
{
    const char *dep_id = jv_str(dep, "id", ""), *tenant = doc_str(dep, "tenant");
    char id[32];
    json_t *ins, *op;

    id_random(id, "op-", 12);
    ins = new_instruction(m, id, type, dep_id, body);
    op = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s, s:s, s:s, s:n, s:[]}", "id", id,
                   "deployment", dep_id, "tenant", tenant, "type", type, "state",
                   op_state_name(OP_STARTING), "client_transaction_id", ctid, "site", m->site,
                   "manager", m->id, "instruction", id, "stage", "vis");
    if (op_extra)
        json_object_update(op, op_extra);
    json_decref(op_extra);
    doc_touch(op, "created");
    doc_touch(op, "updated");
    lc_op_started(c, op, dep); /* SOL003 notifications, as of the cloud's own */
    if (save(c, m, ins, op, res))
        return NULL;
    core_event(c, "info", "fed", "instruction",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", id, "deployment", dep_id,
                         "operation", id, "site", m->site, "manager", m->id),
               "%s of %s sent to manager %s of site %s (instruction %s, seq %llu)", type, dep_id,
               m->id, m->site, id, (unsigned long long)m->next_seq);
    fed_after_instruct(c, m, ins);
    *op_out = op;
    return ins;
}

/* instruct() for a request: 202 with the operation. */
static json_t *instruct_txn(struct core *c, struct txn *t, struct fed_mgr *m, const char *type,
                            const json_t *dep, json_t *body)
{
    json_t *op, *ins = fed_instruct(c, m, type, dep, body, t->client_txn_id, NULL, &t->res, &op);

    if (!ins)
        return NULL;
    snprintf(t->res.location, sizeof(t->res.location), "/v0/operations/%s", doc_str(op, "id"));
    result_ok(&t->res, 202, doc_public(op));
    json_decref(op);
    return ins;
}

/* What the branch may lack for a deploy: the VNFD's record, the tenant's
 * (its public part). */
void fed_add_records(struct core *c, json_t *body, const char *tenant, const char *vnfd)
{
    json_t *ten = core_load(c, STORE_TENANT, tenant);

    json_object_set_new(body, "tenant", json_string(tenant));
    json_object_set_new(body, "_vnfd", core_load(c, STORE_VNFD, vnfd));
    json_object_set_new(body, "_tenant", ten ? doc_public(ten) : json_null());
    json_decref(ten);
}

static void remote_deploy(struct core *c, struct txn *t, const json_t *site, const json_t *tenant,
                          const json_t *vnfd)
{
    struct fed *f = c->fed;
    const char *name = jv_str(t->body, "name", "");
    struct fed_mgr *m = fed_site_manager(f, &t->res, jv_str(site, "id", ""));
    json_t *body, *dep, *ins;

    if (!m)
        return;
    body = json_deep_copy(t->body);
    json_object_del(body, "site");
    fed_add_records(c, body, doc_str(tenant, "id"), doc_str(vnfd, "id"));
    /* the name is taken now; the reports fill in the rest */
    dep = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[]}", "id", name, "tenant",
                    doc_str(tenant, "id"), "vnfd", doc_str(vnfd, "id"), "site", m->site, "manager",
                    m->id, "status", "deploying", "vis");
    doc_touch(dep, "created");
    doc_touch(dep, "updated");
    ins = instruct_txn(c, t, m, "deploy", dep, body);
    if (ins) {
        doc_set_str(dep, "operation", doc_str(ins, "id"));
        if (store_put(c->st, STORE_DEPLOYMENT, dep))
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the deployment");
    }
    json_decref(dep);
    json_decref(ins);
}

static const char *const op_types[][2] = {
    {"undeploy", "undeploy"},       {"heal", "heal"}, {"scale", "scale"}, {"resize", "resize"},
    {"rules owner", "rules_owner"},
};

static void remote_operate(struct core *c, struct txn *t, const json_t *dep)
{
    const char *type = NULL, *id = jv_str(dep, "id", "");
    struct fed_mgr *m;
    json_t *ins;

    for (size_t i = 0; i < ARRAY_SIZE(op_types); i++)
        if (strcmp(t->name, op_types[i][0]) == 0)
            type = op_types[i][1];
    if (!type) {
        result_fail(&t->res, 422, "not-supported", "object", id,
                    "%s of a branch deployment through the cloud is not supported yet; ask "
                    "its manager (site %s)",
                    t->name, jv_str(dep, "site", "?"));
        return;
    }
    if (!(m = dep_manager(c->fed, &t->res, dep, jv_str(dep, "site", ""))))
        return;
    if (doc_str(dep, "operation") && strcmp(type, "rules_owner")) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "deployment '%s' is busy with operation %s; try again when it ends", id,
                    doc_str(dep, "operation"));
        return;
    }
    ins = instruct_txn(c, t, m, type, dep, t->body ? json_incref(t->body) : json_object());
    json_decref(ins);
}

/* The instruction carries the decision and the generation of the
 * ownership the cloud saw: the branch applies it only if the cloud's rules
 * still own the deployment in that generation (docs/FEDERATION.md). */
static int remote_decided(struct core *c, const json_t *dep, const char *type, json_t *body,
                          json_t *decision, struct result *res, json_t **op)
{
    struct fed_mgr *m = dep_manager(c->fed, res, dep, jv_str(dep, "site", ""));
    json_t *ins;
    int r;

    if (!m) {
        json_decref(body);
        return -1;
    }
    if (strcmp(type, "move") == 0) { /* the cloud's own operation (move.c) */
        const json_t *drain = json_object_get(body, "drain_s");
        json_t *why = json_pack("{s:s, s:s, s:s?, s:s?}", "id", jv_str(decision, "id", ""), "rule",
                                jv_str(decision, "rule", ""), "stage", doc_str(decision, "stage"),
                                "reason", doc_str(decision, "reason"));
        struct fed_move_req rq = {
            .dep = jv_str(dep, "id", ""),
            .site = jv_str(body, "site", ""),
            .why = why,
            .drain_ms = drain ? (int)(json_number_value(drain) * 1000) : -1,
        };

        r = fed_move_begin(c, &rq, res, op);
        json_decref(why);
        json_decref(body);
        return r;
    }
    /* a scale: instances at the branch while it has room, else in the cloud */
    if (strcmp(type, "scale") == 0 &&
        (r = fed_burst_scale(c, m, dep, body, decision, res, op)) <= 0) {
        json_decref(body);
        return r;
    }
    json_object_set_new(body, "_rules",
                        json_pack("{s:s, s:I}", "decision", jv_str(decision, "id", ""), "gen",
                                  (json_int_t)jv_int(dep, "rules_owner_gen", 0)));
    ins = fed_instruct(c, m, type, dep, body, NULL, json_pack("{s:b}", "automatic", 1), res, op);
    if (!ins)
        return -1;
    json_decref(ins);
    return 0;
}

static json_t *remote_instruct(struct core *c, struct txn *t, json_t *dep, const char *site,
                               const char *type, json_t *body, json_t *op_extra)
{
    struct fed_mgr *m = dep_manager(c->fed, &t->res, dep, site);
    json_t *ins, *op = NULL;

    if (!m) {
        json_decref(body);
        json_decref(op_extra);
        return NULL;
    }
    if (strcmp(type, "deploy") == 0)
        fed_add_records(c, body, jv_str(dep, "tenant", ""), jv_str(dep, "vnfd", ""));
    doc_set_str(dep, "site", m->site);
    doc_set_str(dep, "manager", m->id);
    ins = fed_instruct(c, m, type, dep, body, t->client_txn_id, op_extra, &t->res, &op);
    if (!ins)
        return NULL;
    doc_set_str(dep, "operation", doc_str(ins, "id"));
    doc_touch(dep, "updated");
    json_decref(ins);
    if (store_put(c->st, STORE_DEPLOYMENT, dep)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the deployment");
        json_decref(op);
        return NULL;
    }
    return op;
}

/* ---- decisions on a branch's operation (docs/FEDERATION.md) ---- */

static void op_ended(struct core *c, struct fed_mgr *m, const json_t *op);

/* The manager that runs op, if it can take a decision now; else NULL with
 * res set (409 for a removed one, 503 for an unreachable one). */
static struct fed_mgr *op_manager(struct fed *f, const json_t *op, const char *what,
                                  struct result *res)
{
    struct fed_mgr *m = hmap_get(&f->mgrs, jv_str(op, "manager", ""));
    const char *site = jv_str(op, "site", "?");
    char since[TIME_STR_MAX];

    if (!m || strcmp(m->state, "removed") == 0) {
        result_fail(res, 409, "conflict", "object", jv_str(op, "id", ""),
                    "operation %s ran at branch site %s by manager %s, which is removed: no %s "
                    "is possible",
                    jv_str(op, "id", ""), site, jv_str(op, "manager", "?"), what);
        return NULL;
    }
    if (strcmp(m->state, "active")) {
        result_fail(res, 503, "site-unreachable", "object", site,
                    "branch site %s is unreachable since %s: its manager %s, which runs operation "
                    "%s, does not report; the %s was not sent, nothing changed",
                    site, time_fmt(m->since_ms, since), m->id, jv_str(op, "id", ""), what);
        return NULL;
    }
    return m;
}

/* 409 for a decision while another is on its way; 422 for a rollback of
 * what cannot be undone (the branch checks what the cloud cannot know: a
 * rescale that began to remove instances). */
static int decision_allowed(const json_t *op, const char *what, struct result *res)
{
    static const char *const undoable[] = {"heal", "operate", "terminate", "undeploy", "resize"};
    const json_t *pending = json_object_get(op, "_decision"), *p = json_object_get(op, "params");
    const char *type = jv_str(op, "type", "");
    bool scale_in = strcmp(type, "scale") == 0 && jv_int(p, "to", 0) < jv_int(p, "from", 0);

    if (pending)
        return result_fail(res, 409, "conflict", "object", jv_str(op, "id", ""),
                           "operation %s: its %s is on its way to the branch (instruction %s); "
                           "try again when the branch has taken it",
                           jv_str(op, "id", ""), jv_str(pending, "what", "?"),
                           jv_str(pending, "instruction", "?"));
    for (size_t i = 0; strcmp(what, "rollback") == 0 && i < ARRAY_SIZE(undoable); i++)
        if (strcmp(type, undoable[i]) == 0 || (i == 0 && scale_in))
            return result_fail(res, 422, "unprocessable", "field", "operation",
                               "a %s cannot be rolled back: what it did cannot be undone; retry "
                               "or fail it",
                               scale_in ? "scale in" : type);
    return 0;
}

/* The cloud's record takes the decision at once, as the engine's own
 * would (an NFVO polls the occurrence after the 202): the reports of the
 * branch then carry it on, and a refusal of the branch puts it back. */
static void decision_taken(json_t *op, const char *what, const char *mode)
{
    if (strcmp(what, "cancel") == 0) {
        json_object_set_new(op, "_cancel", json_true());
        doc_set_str(op, "cancel_mode", mode ? mode : "GRACEFUL");
        return;
    }
    doc_set_str(op, "state",
                op_state_name(strcmp(what, "retry") == 0      ? OP_PROCESSING
                              : strcmp(what, "rollback") == 0 ? OP_ROLLING_BACK
                                                              : OP_FAILED));
    doc_touch(op, "state_entered");
    if (strcmp(what, "retry") == 0)
        json_object_del(op, "error");
    if (strcmp(what, "fail") == 0)
        doc_touch(op, "finished");
}

static json_t *remote_decide(struct core *c, json_t *op, const char *what, const char *mode,
                             struct result *res)
{
    struct fed_mgr *m = op_manager(c->fed, op, what, res);
    char id[32];
    json_t *ins;

    if (!m || decision_allowed(op, what, res)) {
        json_decref(op);
        return NULL;
    }
    id_random(id, "ins-", 12);
    ins = new_instruction(m, id, "decide", jv_str(op, "deployment", ""),
                          json_pack("{s:s, s:s, s:s?}", "operation", jv_str(op, "id", ""),
                                    "decision", what, "mode", mode));
    json_object_set_new(op, "_decision",
                        json_pack("{s:s, s:s, s:s}", "what", what, "instruction", id, "was",
                                  jv_str(op, "state", "")));
    decision_taken(op, what, mode);
    json_object_set(json_object_get(op, "_decision"), "to", json_object_get(op, "state"));
    doc_touch(op, "updated");
    if (save(c, m, ins, op, res))
        return NULL;
    core_event(c, "info", "lifecycle", "operation",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "object", jv_str(op, "id", ""),
                         "deployment", jv_str(op, "deployment", ""), "operation",
                         jv_str(op, "id", ""), "result", what, "site", m->site, "manager", m->id),
               "%s of %s: %s requested, sent to manager %s of branch site %s (instruction %s)",
               jv_str(op, "type", ""), jv_str(op, "deployment", ""), what, m->id, m->site, id);
    if (strcmp(what, "cancel"))
        lc_op_changed(c, op); /* SOL003 notifications, as of the cloud's own */
    if (strcmp(what, "fail") == 0)
        op_ended(c, m, op);
    fed_after_instruct(c, m, ins);
    json_decref(ins);
    return op;
}

const struct lc_remote fed_remote = {
    .deploy = remote_deploy,
    .operate = remote_operate,
    .decided = remote_decided,
    .instances = fed_burst_instances,
    .rules_changed = fed_rules_changed,
    .instruct = remote_instruct,
    .move = fed_move_apply,
    .decide = remote_decide,
};

/* ---- from the branch's reports ---- */

/* The end of a cloud operation, as the engine tells its own (what
 * `vnfmctl ... --wait` and Callbacks follow). */
static void op_ended(struct core *c, struct fed_mgr *m, const json_t *op)
{
    core_event(c, op_state_of(op) == OP_COMPLETED ? "info" : "warn", "lifecycle", "operation",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "deployment", jv_str(op, "deployment", ""),
                         "operation", jv_str(op, "id", ""), "result", jv_str(op, "state", ""),
                         "site", m->site, "manager", m->id),
               "%s of %s %s at branch site %s (manager %s, its operation %s)%s%s",
               jv_str(op, "type", ""), jv_str(op, "deployment", ""), jv_str(op, "state", ""),
               m->site, m->id, jv_str(op, "branch_operation", "?"),
               doc_str(op, "error") ? ": " : "", jv_str(op, "error", ""));
    lc_op_ended(c, op); /* the rules engine's decision that started it goes on */
}

/* The cloud's operation stopped in failed_temp with the branch's, as the
 * engine tells its own (what `vnfmctl ... --wait` stops at). */
static void op_paused(struct core *c, struct fed_mgr *m, const json_t *op)
{
    core_event(c, "error", "lifecycle", "operation",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "deployment",
                         jv_str(op, "deployment", ""), "operation", jv_str(op, "id", ""), "result",
                         jv_str(op, "state", ""), "site", m->site, "manager", m->id, "stage",
                         doc_str(op, "stage")),
               "%s of %s stopped in failed_temp at branch site %s (manager %s, its operation "
               "%s): %s; retry, roll back or fail it",
               jv_str(op, "type", ""), jv_str(op, "deployment", ""), m->site, m->id,
               jv_str(op, "branch_operation", "?"), jv_str(op, "error", "no error given"));
}

/* A SOL003 task on a branch instance that completed: the cloud's record
 * of the instance takes what is its own (docs/SOL003.md: the information
 * of a modify, the flavour and level of a change flavour or scale to
 * level), which the branch's reports do not carry. */
static void apply_end(struct core *c, const json_t *op)
{
    const json_t *apply = json_object_get(op, "_apply");
    json_t *dep;

    if (!json_is_object(apply) || op_state_of(op) != OP_COMPLETED)
        return;
    dep = core_load(c, STORE_DEPLOYMENT, jv_str(op, "deployment", ""));
    if (dep) {
        json_object_update(dep, (json_t *)apply);
        doc_touch(dep, "updated");
        store_put(c->st, STORE_DEPLOYMENT, dep);
    }
    json_decref(dep);
}

/* Ends the cloud's operation id in state (err: why it failed). */
static void end_op(struct core *c, struct fed_mgr *m, const char *id, enum op_state state,
                   const char *err)
{
    json_t *op = core_load(c, STORE_OP, id);

    if (!op)
        return;
    doc_set_str(op, "state", op_state_name(state));
    if (err)
        doc_set_str(op, "error", err);
    doc_touch(op, "updated");
    doc_touch(op, "finished");
    store_put(c->st, STORE_OP, op);
    lc_op_changed(c, op);
    op_ended(c, m, op);
    json_decref(op);
}

/* The branch's answer to a decision (ins, its result r): taken, the
 * reports carry the operation on; refused, the cloud's record goes back to
 * what it was, with the branch's reason in an event. */
static void decision_result(struct core *c, struct fed_mgr *m, const json_t *ins, bool ok,
                            const json_t *r)
{
    const json_t *body = json_object_get(ins, "body");
    json_t *op = core_load(c, STORE_OP, jv_str(body, "operation", "")), *d;
    const char *what = jv_str(body, "decision", "?");
    bool back;

    d = op ? json_object_get(op, "_decision") : NULL;
    if (!d || strcmp(jv_str(d, "instruction", ""), jv_str(ins, "id", ""))) {
        json_decref(op);
        return;
    }
    /* what the decision set, unless a report moved it on since */
    back = !ok && strcmp(jv_str(d, "was", ""), jv_str(d, "to", "")) &&
           strcmp(jv_str(d, "to", ""), jv_str(op, "state", "")) == 0;
    if (back) {
        doc_set_str(op, "state", jv_str(d, "was", ""));
        doc_touch(op, "state_entered");
        json_object_del(op, "finished");
    }
    if (!ok) {
        json_object_del(op, "_cancel");
        core_event(c, "warn", "lifecycle", "operation",
                   json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", jv_str(op, "id", ""),
                             "deployment", jv_str(op, "deployment", ""), "operation",
                             jv_str(op, "id", ""), "site", m->site, "manager", m->id),
                   "manager %s of branch site %s refused the %s of operation %s: %s", m->id,
                   m->site, what, jv_str(op, "id", ""), jv_str(r, "message", "?"));
    }
    json_object_del(op, "_decision");
    doc_touch(op, "updated");
    store_put(c->st, STORE_OP, op);
    if (back)
        lc_op_changed(c, op);
    if (back && op_state_of(op) == OP_FAILED_TEMP)
        op_paused(c, m, op); /* where whoever follows it stops */
    json_decref(op);
}

/* The branch's answer to an instruction: an error ends the cloud's
 * operation (and a deploy's placeholder); else the operation it started
 * is followed. */
void fed_take_results(struct core *c, struct fed_mgr *m, const json_t *results)
{
    const json_t *r;
    size_t i;

    json_array_foreach(results, i, r)
    {
        json_t *ins = core_load(c, STORE_INSTRUCTION, jv_str(r, "id", ""));
        bool ok = jv_int(r, "status", 0) < 400;

        if (!ins || strcmp(jv_str(ins, "manager", ""), m->id) ||
            strcmp(jv_str(ins, "state", ""), "pending")) {
            json_decref(ins);
            continue;
        }
        doc_set_str(ins, "state", ok ? "applied" : "failed");
        json_object_set(ins, "result", (json_t *)r);
        doc_touch(ins, "updated");
        store_put(c->st, STORE_INSTRUCTION, ins);
        if (strcmp(jv_str(ins, "type", ""), "decide") == 0) { /* not an operation of its own */
            decision_result(c, m, ins, ok, r);
            json_decref(ins);
            continue;
        }
        if (ok && (strcmp(jv_str(ins, "type", ""), "rules_owner") == 0 ||
                   strcmp(jv_str(ins, "type", ""), "endpoint") == 0)) /* done once applied */
            end_op(c, m, doc_str(ins, "id"), OP_COMPLETED, NULL);
        elastic_result(c, m, ins, r);
        pool_result(c, m, ins, r);
        fed_mmove_result(c, ins, r);
        if (!ok) {
            json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(ins, "deployment", ""));

            end_op(c, m, doc_str(ins, "id"), OP_FAILED,
                   jv_str(r, "message", "refused by the branch"));
            if (dep && strcmp(jv_str(dep, "operation", ""), doc_str(ins, "id")) == 0) {
                if (strcmp(jv_str(ins, "type", ""), "deploy") == 0) {
                    fed_unmirror(c, dep);
                } else {
                    json_object_set_new(dep, "operation", json_null());
                    store_put(c->st, STORE_DEPLOYMENT, dep);
                }
            }
            core_event(c, "warn", "fed", "instruction",
                       json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", doc_str(ins, "id"),
                                 "operation", doc_str(ins, "id"), "deployment",
                                 jv_str(ins, "deployment", ""), "site", m->site, "manager", m->id),
                       "manager %s refused %s of %s: %s", m->id, jv_str(ins, "type", ""),
                       jv_str(ins, "deployment", ""), jv_str(r, "message", "?"));
            json_decref(dep);
        }
        json_decref(ins);
    }
}

int fed_pending(struct core *c, const struct fed_mgr *m, json_t **out)
{
    struct store_where w[] = {{"manager", m->id, false}, {"state", "pending", false}};
    struct store_list_opts o = {.where = w, .n_where = 2};

    return store_list(c->st, STORE_INSTRUCTION, &o, out);
}

void fed_forget_work(struct core *c, struct fed_mgr *m, const json_t *pending, const json_t *deps,
                     const char *why)
{
    json_t *results = json_array(), *d;
    size_t i;

    json_array_foreach(pending, i, d)
        json_array_append_new(results, json_pack("{s:s, s:i, s:s}", "id", doc_str(d, "id"),
                                                 "status", 410, "message", why));
    fed_take_results(c, m, results);
    json_decref(results);
    json_array_foreach(deps, i, d)
    {
        json_t *op = core_load(c, STORE_OP, jv_str(d, "operation", ""));

        if (op && strcmp(jv_str(op, "manager", ""), m->id) == 0 && !op_final(op))
            end_op(c, m, doc_str(op, "id"), OP_FAILED, why);
        json_decref(op);
    }
}

/* Tells the observers that op was processing (SOL003 5.6.2.2: an NFVO
 * expects that before the end), when the branch ended it before a report
 * showed it so. */
static void processing(struct core *c, const json_t *op)
{
    json_t *mid = json_deep_copy(op);

    doc_set_str(mid, "state", op_state_name(OP_PROCESSING));
    json_object_del(mid, "error");
    lc_op_changed(c, mid);
    json_decref(mid);
}

/* Whether the branch reports state, the state op was in before a
 * decision the branch has not answered yet. */
static bool stale(const json_t *op, const json_t *state)
{
    const json_t *d = json_object_get(op, "_decision");

    return d && json_is_string(state) &&
           strcmp(json_string_value(state), jv_str(d, "was", "")) == 0;
}

/* The branch's operations started by instructions: the cloud's operation
 * of the same id takes their state and stage. */
void fed_follow_ops(struct core *c, struct fed_mgr *m, const json_t *ops)
{
    static const char *const keep[] = {"state", "stage", "error", "finished", NULL};
    const json_t *bop;
    size_t i;

    json_array_foreach(ops, i, bop)
    {
        json_t *op = core_load(c, STORE_OP, jv_str(bop, "client_transaction_id", ""));
        bool changed = false, moved = false;
        int was;

        if (!op || strcmp(jv_str(op, "manager", ""), m->id)) {
            json_decref(op);
            continue;
        }
        was = op_state_of(op);
        for (const char *const *k = keep; *k; k++) {
            json_t *v = json_object_get(bop, *k);

            if (k == keep && stale(op, v))
                break; /* a report from before the branch took a decision */
            if (v && !json_equal(v, json_object_get(op, *k))) {
                json_object_set(op, *k, v);
                changed = true;
                moved = moved || k == keep; /* its state */
            }
        }
        if (!doc_str(op, "branch_operation")) {
            doc_set_str(op, "branch_operation", jv_str(bop, "id", ""));
            changed = true;
        }
        if (moved && !op_running(op)) /* a cancel took effect, or came too late */
            json_object_del(op, "_cancel");
        if (changed) {
            doc_touch(op, "updated");
            store_put(c->st, STORE_OP, op);
            if (moved && was == OP_STARTING && op_state_of(op) != OP_PROCESSING)
                processing(c, op); /* it went through it between two reports */
            if (moved)
                lc_op_changed(c, op); /* SOL003 notifications, as of the cloud's own */
            if (moved && op_final(op)) {
                apply_end(c, op);
                op_ended(c, m, op);
            } else if (moved && op_state_of(op) == OP_FAILED_TEMP) {
                op_paused(c, m, op);
            }
        }
        json_decref(op);
    }
}
