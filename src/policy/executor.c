/* The rules engine's actions (seed para 54-56, 61, 85; F12, F14, F30).
 *
 * When a rule fires the monitor asks the loop, through the transactor, to
 * act. Each firing becomes a decision record - which rule, on which target,
 * the values and threshold that made it fire, and its actions with their
 * states - written in the same transaction that moves the deployment to the
 * rule's stage (overloaded, underloaded, ...). The actions then run in
 * sequence (each after the previous one, whatever its outcome), in parallel,
 * or chained (the next only after the previous one succeeded; a failure
 * skips the rest). Scale and heal actions are lifecycle operations marked
 * automatic and tied to the decision; custom scripts run on the
 * configuration pool; a notify action is a message of the outbox (channel
 * "webhook", keyed by its URL, one attempt: a failure fails the action).
 *
 * Every state change is written to the decision before it acts, so after a
 * crash exec_resume_all() carries every running decision on: operations
 * resume by themselves and report here when they end; a notification
 * waits in the outbox, written with its action's start; scripts that were
 * running run again (they must be idempotent, as the custom actions of
 * stages are).
 */
#include "policy/executor.h"
#include "core/states.h"
#include "lcm/deploy_ops.h"
#include "lcm/lifecycle.h"
#include "lcm/observe.h"
#include "lcm/remote.h"
#include "policy/svc_policy.h"
#include "core/outbox.h"
#include "core/runas.h"
#include "core/txq.h"
#include "core/wpool.h"
#include "catalog/vnfd.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/timeutil.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define SCRIPT_OUT_MAX 2048

static void save(struct core *c, enum store_kind k, json_t *doc)
{
    doc_touch(doc, "updated");
    if (store_put(c->st, k, doc))
        log_error("store: cannot write %s %s: %s", store_kind_name(k), doc_str(doc, "id"),
                  store_errmsg(c->st));
}

static json_t *dec_fields(const json_t *d, const char *result)
{
    char obj[96];

    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(d, "deployment"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "object", obj, "deployment",
                     doc_str(d, "deployment"), "decision", doc_str(d, "id"), "rule",
                     doc_str(d, "rule"), "stage", doc_str(d, "stage"), "tenant",
                     doc_str(d, "tenant"), "result", result);
}

static void kick(struct core *c, const char *id);

static void kick_after_commit(struct core *c, void *arg)
{
    kick(c, arg);
}

/* ---- actions ---- */

static void set_state(json_t *a, const char *state, const char *note)
{
    char now[TIME_STR_MAX];

    doc_set_str(a, "state", state);
    if (note)
        doc_set_str(a, strcmp(state, "failed") == 0 ? "error" : "note", note);
    if (strcmp(state, "running") == 0)
        json_object_set_new(a, "started", json_string(time_fmt(wall_ms(), now)));
    else
        json_object_set_new(a, "finished", json_string(time_fmt(wall_ms(), now)));
}

/* The VDU a scale action works on: its own, its rule's metric's, or the
 * only one. */
static const char *action_vdu(const json_t *d, const json_t *a, const json_t *vnfd)
{
    const json_t *vdus = json_object_get(vnfd, "vdus");
    const char *vdu = jv_str(json_object_get(a, "params"), "vdu", NULL);

    if (!vdu && *jv_str(json_object_get(d, "inputs"), "vdu", ""))
        vdu = jv_str(json_object_get(d, "inputs"), "vdu", NULL);
    if (!vdu && json_array_size(vdus) == 1)
        vdu = jv_str(json_array_get(vdus, 0), "id", NULL);
    return vdu;
}

/* Ties an automatic operation to its decision and marks the action running. */
static void started_op(struct core *c, json_t *d, json_t *a, json_t *op)
{
    json_object_set(op, "decision", json_object_get(d, "id"));
    save(c, STORE_OP, op);
    json_object_set(a, "operation", json_object_get(op, "id"));
    set_state(a, "running", NULL);
    json_decref(op);
}

/* Whether another manager runs dep (a branch's, on a cloud VNFM: lcm/remote.h). */
static bool is_remote(struct core *c, const json_t *dep)
{
    return c->remote && doc_str(dep, "manager");
}

/* The descriptor of dep's VNFD (a new reference, or NULL): its own copy,
 * or for a branch's deployment, mirrored without one, the VNFD record's. */
static json_t *descriptor_of(struct core *c, const json_t *dep)
{
    json_t *rec, *d;

    if (json_object_get(dep, "_descriptor"))
        return json_incref(json_object_get(dep, "_descriptor"));
    rec = core_load(c, STORE_VNFD, jv_str(dep, "vnfd", ""));
    d = rec ? json_incref(json_object_get(rec, "descriptor")) : NULL;
    json_decref(rec);
    return d;
}

/* The instances of vdu: its VI records, or the VIs its manager reported. */
static long long vdu_count(struct core *c, const json_t *dep, const char *vdu)
{
    const json_t *vi;
    long long n = 0;
    size_t i;

    if (!is_remote(c, dep))
        return dep_vdu_count(c, doc_str(dep, "id"), vdu);
    json_array_foreach(json_object_get(dep, "vis"), i, vi)
    {
        n += strcmp(jv_str(vi, "vdu", ""), vdu) == 0;
    }
    return n + (c->remote->instances ? c->remote->instances(c, dep, vdu) : 0);
}

/* Where a scale out/in action would take its VDU: *cur and *target
 * (equal at a bound). The VDU, or NULL when the deployment has none. */
static const char *scale_plan(struct core *c, const json_t *dep, const json_t *vnfd,
                              const char *vdu_id, bool out, const json_t *p, long long *cur,
                              long long *target)
{
    const json_t *vdu = vdu_id ? vnfd_vdu(vnfd, vdu_id) : NULL;
    struct vnfd_scaling s;

    if (!vdu)
        return NULL;
    vnfd_vdu_scaling(vdu, &s);
    *cur = vdu_count(c, dep, vdu_id);
    *target = *cur + (out ? 1 : -1) * jv_int(p, "step", s.step);
    *target = *target > s.max ? s.max : *target < s.min ? s.min : *target;
    return vdu_id;
}

/* A scale of a branch's deployment: an instruction to its manager,
 * carrying the decision (lcm/remote.h). */
static int scale_remote(struct core *c, json_t *d, json_t *dep, const char *vdu_id,
                        long long target, struct result *res, json_t **op)
{
    return c->remote->decided(c, dep, "scale",
                              json_pack("{s:s, s:I}", "vdu", vdu_id, "count", (json_int_t)target),
                              d, res, op);
}

static void start_scale(struct core *c, json_t *d, json_t *a, json_t *dep, bool out)
{
    json_t *vnfd = descriptor_of(c, dep), *op;
    const char *vdu_id = action_vdu(d, a, vnfd);
    struct result res = {0};
    long long cur, target;
    char note[160];
    int r;

    if (!scale_plan(c, dep, vnfd, vdu_id, out, json_object_get(a, "params"), &cur, &target)) {
        set_state(a, "failed",
                  vnfd ? "the deployment has no such VDU"
                       : "the VNFD of the deployment is unknown here");
        goto out;
    }
    if (target == cur) {
        snprintf(note, sizeof(note), "VDU %s is at its %s (%lld instance%s)", vdu_id,
                 out ? "maximum" : "minimum", cur, cur == 1 ? "" : "s");
        set_state(a, "skipped", note);
        goto out;
    }
    r = is_remote(c, dep) ? scale_remote(c, d, dep, vdu_id, target, &res, &op)
                          : dep_scale_to(c, dep, vdu_id, target, NULL, true, &res, &op);
    if (r == 0)
        started_op(c, d, a, op);
    else
        set_state(a, "failed", jv_str(res.body, "message", "refused"));
    result_done(&res);
out:
    json_decref(vnfd);
}

/* Where a move action takes dep: its site, the cloud VNFM's own by default. */
static const char *move_site(const struct core *c, const json_t *params)
{
    return jv_str(params, "site", c->cfg->site);
}

/* A cloud rule's move of a branch deployment (lcm/remote.h): the move's
 * operation, make-before-break, names the decision and ends its action. */
static void start_move(struct core *c, json_t *d, json_t *a, json_t *dep)
{
    const json_t *p = json_object_get(a, "params");
    json_t *body = json_pack("{s:s}", "site", move_site(c, p)), *op;
    struct result res = {0};

    if (!is_remote(c, dep)) {
        json_decref(body);
        set_state(a, "failed", "a move is a cloud VNFM's action on a branch deployment");
        return;
    }
    if (json_object_get(p, "drain_s"))
        json_object_set(body, "drain_s", json_object_get(p, "drain_s"));
    if (c->remote->decided(c, dep, "move", body, d, &res, &op) == 0)
        started_op(c, d, a, op);
    else
        set_state(a, "failed", jv_str(res.body, "message", "refused"));
    result_done(&res);
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The size a scale up/down action would give its VDU's VIs; false at the
 * bound (nothing to do) or when the VDU has no VI. */
static bool resize_plan(struct core *c, const json_t *dep, const char *vdu_id, bool up,
                        const json_t *p, double *vcpu, long long *mem)
{
    const json_t *vdu = vdu_id ? vnfd_vdu(json_object_get(dep, "_descriptor"), vdu_id) : NULL;
    double sign = up ? 1 : -1, v0;
    struct vnfd_vertical b;
    long long m0;

    if (!vdu || dep_vdu_count(c, doc_str(dep, "id"), vdu_id) == 0)
        return false;
    vnfd_vdu_vertical(vdu, &b);
    dep_vdu_size(c, dep, vdu_id, &v0, &m0);
    *vcpu = clampd(v0 + sign * jv_num(p, "vcpu", 0), b.vcpu_min, b.vcpu_max);
    *mem = m0 + (long long)sign * jv_int(p, "memory_mb", 0);
    *mem = *mem < b.memory_mb_min   ? b.memory_mb_min
           : *mem > b.memory_mb_max ? b.memory_mb_max
                                    : *mem;
    return *mem != m0 || *vcpu < v0 - 1e-9 || *vcpu > v0 + 1e-9;
}

static void start_resize(struct core *c, json_t *d, json_t *a, json_t *dep, bool up)
{
    const char *vdu_id = action_vdu(d, a, json_object_get(dep, "_descriptor"));
    struct result res = {0};
    double vcpu;
    long long mem;
    json_t *op;

    if (!resize_plan(c, dep, vdu_id, up, json_object_get(a, "params"), &vcpu, &mem))
        set_state(a, "skipped",
                  up ? "the VDU is at its largest size, or has no instance"
                     : "the VDU is at its smallest size, or has no instance");
    else if (dep_resize(c, dep, vdu_id, vcpu, mem, NULL, true, &res, &op) == 0)
        started_op(c, d, a, op);
    else
        set_state(a, "failed", jv_str(res.body, "message", "refused"));
    result_done(&res);
}

/* The VIs of decision d that a heal action of it heals: those of the
 * deployment that are not restarted by their exit watch already (one heal
 * per death; docs/MONITORING.md "Restart on exit"). *owned counts those. */
static json_t *heal_targets(struct core *c, const json_t *d, const json_t *dep, size_t *owned)
{
    json_t *ids = json_array();
    const json_t *id;
    size_t i;

    *owned = 0;
    json_array_foreach(json_object_get(d, "targets"), i, id)
    {
        json_t *vi = core_load(c, STORE_VI, json_string_value(id));

        if (vi && strcmp(doc_str(vi, "deployment"), doc_str(dep, "id")) == 0) {
            if (lc_restart_owns(c, dep, vi))
                (*owned)++;
            else
                json_array_append(ids, (json_t *)id);
        }
        json_decref(vi);
    }
    return ids;
}

static void start_heal(struct core *c, json_t *d, json_t *a, json_t *dep)
{
    const json_t *p = json_object_get(a, "params");
    struct result res = {0};
    json_t *ids, *op;
    size_t owned;

    ids = heal_targets(c, d, dep, &owned);
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        set_state(a, "skipped",
                  owned ? "its exit watch restarts the VI (crash-loop backoff: see the VI's "
                          "restart)"
                        : "the VIs it was about are gone");
    } else if (dep_heal(c, dep, ids, jv_str(p, "policy", NULL), (int)jv_int(p, "attempts", 0), NULL,
                        true, &res, &op) == 0) {
        started_op(c, d, a, op);
    } else {
        set_state(a, "failed", jv_str(res.body, "message", "refused"));
    }
    result_done(&res);
}

static void do_log(struct core *c, json_t *d, json_t *a)
{
    const json_t *p = json_object_get(a, "params");

    core_event(c, jv_str(p, "level", "info"), "policy", "action", dec_fields(d, "log"), "%s: %s",
               doc_str(d, "deployment"), jv_str(p, "message", jv_str(d, "reason", "rule fired")));
    set_state(a, "completed", NULL);
}

/* ---- notify: a message of the outbox ---- */

/* The id of action index's message: one at a time per action, and found
 * again after a restart (resume_action). */
static void notify_id(const char *decision, size_t index, char *buf, size_t size)
{
    snprintf(buf, size, "%s.%zu", decision, index);
}

/* Whether a tenant wrote the rules of decision d's deployment: its webhooks
 * may reach only what --tenant-destinations allows. */
static bool rules_by_tenant(struct core *c, const json_t *d)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, doc_str(d, "deployment"));
    json_t *vnfd = dep ? core_load(c, STORE_VNFD, doc_str(dep, "vnfd")) : NULL;
    bool r = !dep || !runas_policy_admin(dep, vnfd);

    json_decref(vnfd);
    json_decref(dep);
    return r;
}

static void start_notify(struct core *c, json_t *d, json_t *a, size_t index)
{
    char id[64], obj[64];
    struct outbox_msg m = {.channel = "webhook",
                           .key = jv_str(json_object_get(a, "params"), "url", ""),
                           .id = id,
                           .object = obj,
                           .url = jv_str(json_object_get(a, "params"), "url", ""),
                           .body = doc_shown(d),
                           .headers = json_pack("[s]", "Content-Type: application/json"),
                           .extra = json_pack("{s:s, s:I}", "_decision", doc_str(d, "id"), "_index",
                                              (json_int_t)index),
                           .by_tenant = rules_by_tenant(c, d)};

    notify_id(doc_str(d, "id"), index, id, sizeof(id));
    snprintf(obj, sizeof(obj), "decision/%s", doc_str(d, "id"));
    if (outbox_put(c, &m))
        set_state(a, "failed", "the notification could not be queued");
    else
        set_state(a, "running", NULL);
}

/* The end of a notify action's message: its action completes or fails,
 * and the decision moves on after the commit. */
static void notify_report(struct core *c, const json_t *rec, const struct outbox_outcome *o)
{
    json_t *d = core_load(c, STORE_DECISION, doc_str(rec, "_decision")), *a;
    char err[512];

    if (o->result == OUTBOX_FAILED || !d)
        goto out;
    a = json_array_get(json_object_get(d, "actions"), (size_t)doc_int(rec, "_index", 0));
    if (!a || strcmp(jv_str(a, "state", ""), "running") != 0)
        goto out;
    if (o->status)
        snprintf(err, sizeof(err), "%s answered HTTP %ld", jv_str(rec, "_url", ""), o->status);
    else
        snprintf(err, sizeof(err), "%s: %s", jv_str(rec, "_url", ""), o->why);
    set_state(a, o->result == OUTBOX_DELIVERED ? "completed" : "failed",
              o->result == OUTBOX_DELIVERED ? NULL : err);
    save(c, STORE_DECISION, d);
    core_after_commit(c, kick_after_commit, xstrdup(doc_str(d, "id")), free);
out:
    json_decref(d);
}

static const struct outbox_channel webhook = {
    .name = "webhook",
    .attempts = 1,
    .report = notify_report,
};

/* ---- script: on the configuration pool ---- */

struct exjob {
    struct wjob w;
    struct core *c;
    char decision[40];
    size_t index;
    char *body;
    char **argv, **envp;
    const struct sandbox *sandbox; /* &sb, or NULL: with the manager's rights */
    struct sandbox sb;
    unsigned timeout_ms;
    int rc;
    char err[512];
};

static void script_work(struct wjob *w)
{
    struct exjob *j = (struct exjob *)w;
    struct spawn_req rq = {j->argv, j->envp, j->body, j->timeout_ms, SCRIPT_OUT_MAX, j->sandbox};
    struct sbuf out = SBUF_INIT;
    int status = 0, r = spawn_run(&rq, &out, &status);
    char how[64];

    j->rc = r ? r : WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
    if (r == -ETIMEDOUT)
        snprintf(j->err, sizeof(j->err), "%s: killed at its timeout", j->argv[0]);
    else if (r)
        snprintf(j->err, sizeof(j->err), "%s: %s (%.300s)", j->argv[0], strerror(-r),
                 sbuf_str(&out));
    else if (j->rc)
        snprintf(j->err, sizeof(j->err), "%s %s: %.300s", j->argv[0],
                 spawn_status_str(status, how, sizeof(how)), sbuf_str(&out));
    sbuf_done(&out);
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void exjob_done(struct wjob *w)
{
    struct exjob *j = (struct exjob *)w;
    struct core *c = j->c;
    json_t *d, *a;

    if (!w->cancelled) {
        core_tx_begin(c);
        d = core_load(c, STORE_DECISION, j->decision);
        a = json_array_get(json_object_get(d, "actions"), j->index);
        if (a && strcmp(jv_str(a, "state", ""), "running") == 0) {
            set_state(a, j->rc ? "failed" : "completed", j->rc ? j->err : NULL);
            save(c, STORE_DECISION, d);
        }
        json_decref(d);
        core_after_commit(c, kick_after_commit, xstrdup(j->decision), free);
        core_tx_commit(c);
    }
    free(j->body);
    strv_free(j->argv);
    strv_free(j->envp);
    free(j);
}

static char **script_argv(const json_t *p)
{
    const json_t *args = json_object_get(p, "args");
    char **argv = xcalloc(json_array_size(args) + 2, sizeof(*argv));

    argv[0] = xstrdup(jv_str(p, "script", ""));
    for (size_t i = 0; i < json_array_size(args); i++)
        argv[i + 1] = xstrdup(json_string_value(json_array_get(args, i)));
    return argv;
}

static char **script_env(const json_t *d)
{
    const json_t *in = json_object_get(d, "inputs");
    char **envp = xcalloc(10, sizeof(*envp));

    envp[0] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    envp[1] = xasprintf("VNFM_DEPLOYMENT=%s", doc_str(d, "deployment"));
    envp[2] = xasprintf("VNFM_TENANT=%s", jv_str(d, "tenant", ""));
    envp[3] = xasprintf("VNFM_RULE=%s", doc_str(d, "rule"));
    envp[4] = xasprintf("VNFM_STAGE=%s", doc_str(d, "stage"));
    envp[5] = xasprintf("VNFM_DECISION=%s", doc_str(d, "id"));
    envp[6] = xasprintf("VNFM_METRIC=%s", jv_str(in, "metric", ""));
    envp[7] = xasprintf("VNFM_VALUE=%g", jv_num(in, "value", 0));
    envp[8] = xasprintf("VNFM_TARGET=%s", jv_str(in, "target", ""));
    return envp;
}

/* A script action runs sandboxed as the deployment's tenant, unless an
 * admin wrote the rules and the script lies in --script-dir. */
static const struct sandbox *script_sandbox(struct core *c, const json_t *dep, const char *script,
                                            struct sandbox *sb)
{
    json_t *vnfd = core_load(c, STORE_VNFD, doc_str(dep, "vnfd"));
    json_t *tenant = core_load(c, STORE_TENANT, doc_str(dep, "tenant"));
    const struct sandbox *r =
        runas_script(c, script, runas_policy_admin(dep, vnfd), runas_uid(tenant), sb);

    json_decref(vnfd);
    json_decref(tenant);
    return r;
}

static void start_script(struct core *c, json_t *d, json_t *a, size_t index, const json_t *dep)
{
    const json_t *p = json_object_get(a, "params");
    struct exjob *j = xcalloc(1, sizeof(*j));
    json_t *pub = doc_shown(d);

    j->w.work = script_work;
    j->w.done = exjob_done;
    j->c = c;
    j->index = index;
    snprintf(j->decision, sizeof(j->decision), "%s", doc_str(d, "id"));
    j->body = json_dumps(pub, JSON_COMPACT);
    json_decref(pub);
    j->argv = script_argv(p);
    j->envp = script_env(d);
    j->sandbox = script_sandbox(c, dep, j->argv[0], &j->sb);
    j->timeout_ms = (unsigned)jv_int(p, "timeout_s", 60) * 1000;
    set_state(a, "running", NULL);
    wpool_submit(c->conf, &j->w);
}

/* Starts action index of decision d; the deployment record is dep. */
static void start_action(struct core *c, json_t *d, size_t index, json_t *dep)
{
    json_t *a = json_array_get(json_object_get(d, "actions"), index);
    const char *kind = jv_str(a, "action", "");
    bool lifecycle =
        strncmp(kind, "scale_", 6) == 0 || strcmp(kind, "heal") == 0 || strcmp(kind, "move") == 0;

    if (lifecycle && doc_str(dep, "operation")) {
        set_state(a, "failed", "the deployment is busy with another operation");
        return;
    }
    if (strcmp(kind, "scale_out") == 0 || strcmp(kind, "scale_in") == 0)
        start_scale(c, d, a, dep, strcmp(kind, "scale_out") == 0);
    else if (strcmp(kind, "scale_up") == 0 || strcmp(kind, "scale_down") == 0)
        start_resize(c, d, a, dep, strcmp(kind, "scale_up") == 0);
    else if (strcmp(kind, "heal") == 0)
        start_heal(c, d, a, dep);
    else if (strcmp(kind, "move") == 0)
        start_move(c, d, a, dep);
    else if (strcmp(kind, "log") == 0)
        do_log(c, d, a);
    else if (strcmp(kind, "notify") == 0)
        start_notify(c, d, a, index);
    else
        start_script(c, d, a, index, dep);
    if (doc_str(a, "operation")) { /* the deployment record changed: read it again */
        json_t *fresh = core_load(c, STORE_DEPLOYMENT, doc_str(dep, "id"));

        if (fresh) {
            json_object_update(dep, fresh);
            json_decref(fresh);
        }
    }
}

/* ---- the flow of a decision ---- */

static bool ended(const char *state)
{
    return strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "skipped") == 0;
}

static void finish(struct core *c, json_t *d, json_t *dep)
{
    const json_t *a;
    unsigned failed = 0, done = 0;
    char now[TIME_STR_MAX];
    size_t i;

    json_array_foreach(json_object_get(d, "actions"), i, a)
    {
        failed += strcmp(jv_str(a, "state", ""), "failed") == 0;
        done += strcmp(jv_str(a, "state", ""), "completed") == 0;
    }
    doc_set_str(d, "state", failed ? "failed" : "completed");
    json_object_set_new(d, "finished", json_string(time_fmt(wall_ms(), now)));
    save(c, STORE_DECISION, d);
    if (dep && !doc_str(dep, "operation") && !is_remote(c, dep)) {
        doc_set_str(dep, "stage", stage_name(ST_MONITORING));
        save(c, STORE_DEPLOYMENT, dep);
    }
    core_event(c, failed ? "warn" : "info", "policy", "decision",
               dec_fields(d, failed ? "failed" : "completed"),
               "decision %s of rule %s for %s %s: %u of %zu action%s done%s", doc_str(d, "id"),
               doc_str(d, "rule"), doc_str(d, "deployment"), failed ? "failed" : "completed", done,
               json_array_size(json_object_get(d, "actions")),
               json_array_size(json_object_get(d, "actions")) == 1 ? "" : "s",
               failed ? " (see its actions)" : "");
}

/* Starts what the mode allows next; returns true when nothing runs. */
static bool advance(struct core *c, json_t *d, json_t *dep)
{
    const char *mode = jv_str(d, "mode", "chain");
    json_t *acts = json_object_get(d, "actions"), *a;
    bool parallel = strcmp(mode, "parallel") == 0, failed = false;
    size_t i;

    json_array_foreach(acts, i, a)
    {
        const char *state = jv_str(a, "state", "pending");

        if (strcmp(state, "running") == 0) {
            if (!parallel)
                return false;
            continue;
        }
        if (ended(state)) {
            failed |= strcmp(state, "failed") == 0;
            continue;
        }
        if (failed && strcmp(mode, "chain") == 0) {
            set_state(a, "skipped", "an earlier action of the chain failed");
            continue;
        }
        start_action(c, d, i, dep);
        if (!parallel && strcmp(jv_str(a, "state", ""), "running") == 0)
            return false;
        failed |= strcmp(jv_str(a, "state", ""), "failed") == 0;
    }
    json_array_foreach(acts, i, a)
    {
        if (strcmp(jv_str(a, "state", ""), "running") == 0)
            return false;
    }
    return true;
}

static void kick(struct core *c, const char *id)
{
    json_t *d, *dep;

    if (c->stopping)
        return;
    core_tx_begin(c);
    d = core_load(c, STORE_DECISION, id);
    dep = d ? core_load(c, STORE_DEPLOYMENT, doc_str(d, "deployment")) : NULL;
    if (d && strcmp(jv_str(d, "state", ""), "running") == 0) {
        if (!dep) {
            json_t *a;
            size_t i;

            json_array_foreach(json_object_get(d, "actions"), i, a)
            {
                if (!ended(jv_str(a, "state", "")))
                    set_state(a, "skipped", "the deployment is gone");
            }
            finish(c, d, NULL);
        } else if (advance(c, d, dep)) {
            finish(c, d, dep);
        } else {
            save(c, STORE_DECISION, d);
        }
    }
    core_tx_commit(c);
    json_decref(d);
    json_decref(dep);
}

/* ---- the requests ---- */

static const json_t *find_rule(const json_t *dep, const char *name)
{
    const json_t *r;
    size_t i;

    json_array_foreach(json_object_get(dep, "rules"), i, r)
    {
        if (strcmp(jv_str(r, "name", ""), name) == 0)
            return r;
    }
    return NULL;
}

/* "rps avg > 50 on VDU web: 73.2 (3 consecutive samples)" */
static char *reason(const json_t *b, const json_t *rule)
{
    double for_s = jv_num(rule, "for_s", 0);
    bool per_vi = jv_bool(b, "per_vi", 0);
    const char *target = jv_str(b, "target_name", jv_str(b, "target", ""));
    char held[64], metric[96];

    if (for_s > 0)
        snprintf(held, sizeof(held), "held for %g s", for_s);
    else
        snprintf(held, sizeof(held), "%lld consecutive sample%s", jv_int(b, "samples", 1),
                 jv_int(b, "samples", 1) == 1 ? "" : "s");
    if (strcmp(jv_str(b, "stat", ""), "up") == 0)
        snprintf(metric, sizeof(metric), "%s.up", jv_str(b, "metric", ""));
    else
        snprintf(metric, sizeof(metric), "%s %s", jv_str(b, "metric", ""), jv_str(b, "stat", ""));
    if (jv_str(b, "manager", NULL)) /* a cloud rule over a branch's reports */
        return xasprintf("%s %s %g: %g (%s), as manager %s of site %s reported", metric,
                         jv_str(b, "op", ""), jv_num(b, "threshold", 0), jv_num(b, "value", 0),
                         held, jv_str(b, "manager", ""), jv_str(b, "site", ""));
    return xasprintf("%s %s %g on %s %s: %g (%s)", metric, jv_str(b, "op", ""),
                     jv_num(b, "threshold", 0), per_vi ? "VI" : "VDU",
                     strcmp(target, "*") == 0 ? "(all)" : target, jv_num(b, "value", 0), held);
}

/* What a firing from a branch's report adds to the inputs: the report it
 * came from (what it said of the deployment and its manager), and how long
 * after the report's arrival the decision was taken. */
static void report_inputs(json_t *in, const json_t *b)
{
    static const char *const keys[] = {"manager",         "site",   "report_seq",
                                       "report_received", "values", NULL};
    json_t *v;

    if (!jv_str(b, "manager", NULL))
        return;
    for (const char *const *k = keys; *k; k++)
        if ((v = json_object_get(b, *k)))
            json_object_set(in, *k, v);
    if (jv_int(b, "_arrived_us", 0) > 0)
        json_object_set_new(
            in, "report_to_decision_us",
            json_integer((json_int_t)(mono_us() - (uint64_t)jv_int(b, "_arrived_us", 0))));
}

static json_t *new_decision(const json_t *dep, const json_t *rule, const json_t *b)
{
    json_t *acts = json_array(), *a, *d;
    char id[24], *why = reason(b, rule);
    size_t i;

    json_array_foreach(json_object_get(rule, "actions"), i, a)
    {
        json_array_append_new(acts,
                              json_pack("{s:O, s:O, s:s}", "action", json_object_get(a, "action"),
                                        "params", a, "state", "pending"));
    }
    id_random(id, "dc-", 12);
    d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:{s:O, s:O, s:O, s:O, s:O, s:O, "
                  "s:O, s:O, s:O}, s:O, s:o, s:s, s:n}",
                  "id", id, "deployment", doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"),
                  "rule", jv_str(rule, "name", ""), "stage", jv_str(rule, "stage", "custom"),
                  "mode", jv_str(rule, "mode", "chain"), "automatic", 1, "reason", why, "inputs",
                  "metric", json_object_get(b, "metric"), "stat", json_object_get(b, "stat"), "op",
                  json_object_get(b, "op"), "threshold", json_object_get(b, "threshold"), "value",
                  json_object_get(b, "value"), "samples", json_object_get(b, "samples"), "target",
                  json_object_get(b, "target"), "vdu", json_object_get(b, "vdu"), "per_vi",
                  json_object_get(b, "per_vi"), "targets", json_object_get(b, "targets"), "actions",
                  acts, "state", "running", "finished");
    free(why);
    report_inputs(json_object_get(d, "inputs"), b);
    doc_touch(d, "created");
    return d;
}

/* Whether a heal of the firing's targets would find them all restarted by
 * their exit watch. */
static bool heals_nothing(struct core *c, const json_t *firing, const json_t *dep)
{
    json_t *d = json_pack("{s:O}", "targets", json_object_get(firing, "targets")), *ids;
    size_t owned;
    bool none;

    ids = heal_targets(c, d, dep, &owned);
    none = json_array_size(ids) == 0 && owned > 0;
    json_decref(ids);
    json_decref(d);
    return none;
}

/* Whether every action of the rule would do nothing now (scale at a
 * bound, heal of VIs that their exit watch restarts): then no decision is
 * recorded, and the rule waits its cooldown. */
static bool all_noop(struct core *c, const json_t *dep, const json_t *rule, const json_t *b)
{
    json_t *vnfd = descriptor_of(c, dep), *probe = json_pack("{s:O}", "inputs", b);
    const json_t *a;
    bool noop = true;
    size_t i;

    json_array_foreach(json_object_get(rule, "actions"), i, a)
    {
        const char *kind = jv_str(a, "action", "");
        json_t *wrap = json_pack("{s:O}", "params", a);
        const char *vdu = action_vdu(probe, wrap, vnfd);
        long long cur, target, mem;
        double vcpu;

        if (strcmp(kind, "scale_out") == 0 || strcmp(kind, "scale_in") == 0)
            noop &=
                scale_plan(c, dep, vnfd, vdu, strcmp(kind, "scale_out") == 0, a, &cur, &target) &&
                cur == target;
        else if (strcmp(kind, "scale_up") == 0 || strcmp(kind, "scale_down") == 0)
            noop &= !resize_plan(c, dep, vdu, strcmp(kind, "scale_up") == 0, a, &vcpu, &mem);
        else if (strcmp(kind, "heal") == 0)
            noop &= heals_nothing(c, b, dep);
        else if (strcmp(kind, "move") == 0)
            noop &= strcmp(move_site(c, a), jv_str(dep, "site", "")) == 0;
        else
            noop = false;
        json_decref(wrap);
    }
    json_decref(probe);
    json_decref(vnfd);
    return noop;
}

/* Why this manager's rules may not decide for dep, or NULL: one owner
 * decides per deployment (docs/FEDERATION.md "One owner per deployment").
 * A branch's own rules decide unless it gave its rules to the cloud; the
 * cloud's decide for a branch's deployment only once the branch reported
 * that it gave them, and while the cloud's operator still wants them. */
static const char *not_owner(struct core *c, const json_t *dep)
{
    bool cloud = strcmp(jv_str(dep, "rules_owner", "branch"), "cloud") == 0;

    if (!is_remote(c, dep))
        return cloud ? "the cloud's rules decide for the deployment (rules_owner)" : NULL;
    if (!cloud || strcmp(jv_str(dep, "rules_owner_wanted", "cloud"), "cloud"))
        return "the branch's own rules decide for the deployment (rules_owner)";
    return NULL;
}

/* Why the deployment cannot take a decision now, or NULL. */
static const char *refusal(struct core *c, const json_t *dep, const json_t *rule, const json_t *b)
{
    struct store_where w[2] = {{"deployment", doc_str(dep, "id"), false},
                               {"state", "running", false}};

    if (!rule || !jv_bool(rule, "enabled", 1))
        return "the rule is gone or disabled";
    if (not_owner(c, dep))
        return not_owner(c, dep);
    if (doc_str(dep, "operation"))
        return "the deployment is busy with an operation";
    if (dep_status_of(dep) == DEP_FAILED)
        return "the deployment has failed";
    if (store_count(c->st, STORE_DECISION, w, 2) > 0)
        return "another decision of the deployment is running";
    if (all_noop(c, dep, rule, b))
        return "nothing to do: its scaling actions are at their bounds, its move's site is where "
               "it runs, or its exit watch "
               "restarts the VIs it would heal";
    return NULL;
}

json_t *exec_decide(struct core *c, const json_t *b, struct result *res)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, jv_str(b, "deployment", "")), *d;
    const json_t *rule;
    const char *why;

    if (!dep) {
        result_not_found(res, "deployment", jv_str(b, "deployment", ""));
        return NULL;
    }
    rule = find_rule(dep, jv_str(b, "rule", ""));
    why = refusal(c, dep, rule, b);
    if (why) {
        result_fail(res, 409, "conflict", "object", "deployment", "%s", why);
        json_decref(dep);
        return NULL;
    }
    d = new_decision(dep, rule, b);
    save(c, STORE_DECISION, d);
    if (!is_remote(c, dep)) { /* a branch's deployment shows the stage its manager reports */
        doc_set_str(dep, "stage", jv_str(rule, "stage", "custom"));
        save(c, STORE_DEPLOYMENT, dep);
    }
    core_event(c, "warn", "policy", "decision", dec_fields(d, "fired"),
               "rule %s fired for %s (%s): %s", doc_str(d, "rule"), doc_str(dep, "id"),
               doc_str(d, "stage"), doc_str(d, "reason"));
    core_after_commit(c, kick_after_commit, xstrdup(doc_str(d, "id")), free);
    json_decref(dep);
    return d;
}

void svc_policy_fire(struct core *c, struct txn *t)
{
    json_t *d = exec_decide(c, t->body, &t->res);

    if (d)
        result_ok(&t->res, 201, doc_public(d));
    json_decref(d);
}

void svc_policy_alarm(struct core *c, struct txn *t)
{
    const json_t *b = t->body;
    const char *result = jv_str(b, "result", "raised");
    char obj[96];

    snprintf(obj, sizeof(obj), "deployment/%s", jv_str(b, "deployment", ""));
    core_event(c, strcmp(result, "raised") == 0 ? "warn" : "info", "policy", "alarm",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "object", obj, "deployment",
                         jv_str(b, "deployment", ""), "rule", jv_str(b, "rule", ""), "stage",
                         jv_str(b, "stage", ""), "target", jv_str(b, "target", ""), "result",
                         result),
               "rule %s %s on %s (%s): %s %s %g, value %g", jv_str(b, "rule", ""), result,
               jv_str(b, "target", ""), jv_str(b, "stage", ""), jv_str(b, "metric", ""),
               jv_str(b, "op", ""), jv_num(b, "threshold", 0), jv_num(b, "value", 0));
    result_ok(&t->res, 200, json_object());
}

/* ---- operations ending, restarts ---- */

static void op_end(struct core *c, const json_t *op)
{
    const char *id = doc_str(op, "decision"), *state = doc_str(op, "state");
    bool ok = op_state_of(op) == OP_COMPLETED;
    json_t *d, *a;
    size_t i;

    if (!id)
        return;
    core_tx_begin(c);
    d = core_load(c, STORE_DECISION, id);
    json_array_foreach(json_object_get(d, "actions"), i, a)
    {
        if (strcmp(jv_str(a, "operation", ""), doc_str(op, "id")) == 0 &&
            strcmp(jv_str(a, "state", ""), "running") == 0) {
            set_state(a, ok ? "completed" : "failed", ok ? NULL : jv_str(op, "error", state));
            save(c, STORE_DECISION, d);
        }
    }
    if (d)
        core_after_commit(c, kick_after_commit, xstrdup(id), free);
    core_tx_commit(c);
    json_decref(d);
}

static const struct lc_observer observer = {.name = "rules", .op_ended = op_end};

void exec_init(struct core *c)
{
    lc_observe(c, &observer);
    outbox_register(c->outbox, &webhook);
}

/* A running action after a restart: an operation that ended meanwhile is
 * taken as it ended; a notification still in the outbox goes on there; a
 * script that was running runs again. */
static void resume_action(struct core *c, const json_t *d, json_t *a, size_t index)
{
    char id[64];
    json_t *op, *msg;

    if (strcmp(jv_str(a, "state", ""), "running") != 0)
        return;
    if (!doc_str(a, "operation")) {
        notify_id(doc_str(d, "id"), index, id, sizeof(id));
        msg =
            strcmp(jv_str(a, "action", ""), "notify") == 0 ? core_load(c, STORE_OUTBOX, id) : NULL;
        if (!msg)
            doc_set_str(a, "state", "pending");
        json_decref(msg);
        return;
    }
    op = core_load(c, STORE_OP, doc_str(a, "operation"));
    if (!op)
        set_state(a, "failed", "its operation is gone");
    else if (op_state_of(op) == OP_COMPLETED)
        set_state(a, "completed", NULL);
    else if (op_state_of(op) != OP_PROCESSING)
        set_state(a, "failed", jv_str(op, "error", "failed"));
    json_decref(op);
}

void exec_resume_all(struct core *c)
{
    struct store_where w = {"state", "running", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *d, *a;
    size_t i, k;

    if (store_list(c->st, STORE_DECISION, &o, &list))
        return;
    core_tx_begin(c);
    json_array_foreach(list, i, d)
    {
        /* a decision without actions is not the executor's to carry on (the
         * cloud VNFM's own scaling, fed/cloud_scale.c, ends its own) */
        if (!json_is_array(json_object_get(d, "actions")))
            continue;
        json_array_foreach(json_object_get(d, "actions"), k, a)
        {
            resume_action(c, d, a, k);
        }
        save(c, STORE_DECISION, d);
        core_after_commit(c, kick_after_commit, xstrdup(doc_str(d, "id")), free);
    }
    core_tx_commit(c);
    json_decref(list);
}
