/* Exit watches, and restarts on exit.
 *
 * A running VI's exit fd (a pidfd for the proc VIM) sits in the event loop,
 * so the death of a VNF process is known at once, without polling. The VIM
 * then confirms (and reaps) it on a worker.
 *
 * A VI whose process ended by itself is restarted by an automatic heal
 * operation unless its VNFD says "restart": {"policy": "never"}
 * (docs/MONITORING.md "Restart on exit"): at once for its first deaths,
 * then with the crash-loop backoff of restart.h. Each restart is a
 * decision of the built-in rule RESTART_RULE tied to its heal like a
 * rule's decision, so that the rules engine sees the deployment deciding
 * (one heal per death) and an operator sees why it happened.
 *
 * Only a VI that ended by itself is restarted: an operation that stops,
 * restarts or destroys a VI unwatches it first (lifecycle.c mark_before),
 * which also drops a pending restart. A restart waits while another
 * operation runs on the deployment (op_ended); one that was
 * pending, or a death that happened, while the manager was down is carried
 * out at its start (lc_restart_resume). The VI record holds the history and
 * when its restart is due, so all of it survives a kill -9.
 */
#include "lcm/lifecycle.h"
#include "lcm/deploy_ops.h"
#include "lcm/observe.h"
#include "lcm/restart.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "core/wpool.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VNF_FAILURE "vnf_failure" /* the stage of a restart's decision (rules' stage names) */

/* What the loop holds for a VI: the watch of its process while it runs,
 * the timer of its restart once it ended. */
struct vi_watch {
    uv_poll_t poll;   /* initialised when fd >= 0 */
    uv_timer_t timer; /* a restart waiting for its time */
    struct core *c;
    char vi[VIM_ID_MAX];
    int fd;      /* the exit fd, -1 when none */
    int handles; /* initialised handles not yet closed */
};

struct exit_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    struct vi_handle h;
    struct vi_status st;
    json_t *rec; /* the VI's record, which h.ref is part of */
    int rc;
};

static void on_due(uv_timer_t *t);

static void handle_closed(uv_handle_t *h)
{
    struct vi_watch *w = h->data;

    if (--w->handles > 0)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

/* The VI's entry, made when it has none. */
static struct vi_watch *watch_get(struct core *c, const char *vi_id)
{
    struct vi_watch *w = hmap_get(&c->vis, vi_id);

    if (w)
        return w;
    w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->fd = -1;
    snprintf(w->vi, sizeof(w->vi), "%s", vi_id);
    uv_timer_init(c->loop, &w->timer);
    w->timer.data = w;
    w->handles = 1;
    hmap_put(&c->vis, w->vi, w);
    return w;
}

bool lc_vi_watched(struct core *c, const char *vi_id)
{
    struct vi_watch *w = hmap_get(&c->vis, vi_id);

    return w && w->fd >= 0;
}

void lc_unwatch_vi(struct core *c, const char *vi_id)
{
    struct vi_watch *w = hmap_del(&c->vis, vi_id);

    if (!w)
        return;
    if (w->fd >= 0)
        uv_close((uv_handle_t *)&w->poll, handle_closed);
    uv_close((uv_handle_t *)&w->timer, handle_closed);
}

void lc_unwatch_all(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    while ((e = hmap_first(&c->vis, &i)))
        lc_unwatch_vi(c, e->key);
}

/* ---- restarts ---- */

/* The deployment's restart settings: its VNFD's over the daemon's. */
static void settings(struct core *c, const json_t *dep, struct vnfd_restart *p)
{
    const struct config *cfg = c->cfg;
    struct vnfd_restart dflt = {strcmp(cfg->restart_policy, "always") == 0, cfg->restart_burst,
                                cfg->restart_window_s, cfg->restart_delay_ms,
                                cfg->restart_max_delay_s};

    vnfd_restart(json_object_get(dep, "_descriptor"), &dflt, p);
}

bool lc_restart_owns(struct core *c, const json_t *dep, const json_t *vi)
{
    struct vnfd_restart p;

    if (!dep || strcmp(jv_str(vi, "state", ""), "exited") != 0 ||
        strcmp(jv_str(dep, "status", ""), "failed") == 0 ||
        json_object_get(dep, "_handover")) /* the manager that commits it restarts it */
        return false;
    settings(c, dep, &p);
    return p.always;
}

static void arm(struct core *c, const char *vi_id, int64_t due)
{
    struct vi_watch *w = watch_get(c, vi_id);
    int64_t wait = due - wall_ms();

    uv_timer_start(&w->timer, on_due, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* "4 s", "1.5 s", "250 ms" */
static const char *span(uint64_t ms, char *buf, size_t len)
{
    if (ms < 1000)
        snprintf(buf, len, "%llu ms", (unsigned long long)ms);
    else
        snprintf(buf, len, "%g s", (double)ms / 1000);
    return buf;
}

/* A death of vi (its record, changed here; its exit watch restarts it):
 * records it in the VI's history with what happened (exit), sets when the
 * restart is due and arms its timer. started is when the process had
 * started (0: unknown). Writes what it planned into note, for the event. */
static void plan_restart(struct core *c, json_t *vi, const json_t *dep, const char *exit,
                         int64_t started, char *note, size_t len)
{
    struct restart_hist h;
    struct vnfd_restart p;
    int64_t now = wall_ms();
    char due[TIME_STR_MAX], last[TIME_STR_MAX], wait_s[32];
    uint64_t wait;
    unsigned recent;

    settings(c, dep, &p);
    restart_hist_load(vi, &h);
    wait = restart_death(&p, &h, now, started);
    recent = restart_recent(&p, &h, now);
    restart_hist_save(vi, &h);
    json_object_set_new(vi, "restart",
                        json_pack("{s:i, s:i, s:I, s:s, s:b, s:s, s:s}", "deaths", recent, "step",
                                  h.step, "delay_ms", (json_int_t)wait, "due",
                                  time_fmt(now + (int64_t)wait, due), "pending", 1, "last_exit",
                                  time_fmt(now, last), "exit", exit));
    arm(c, doc_str(vi, "id"), now + (int64_t)wait);
    if (wait == 0)
        snprintf(note, len, "; restarting it at once (death %u within %u s)", recent, p.window_s);
    else
        snprintf(note, len, "; crash loop (death %u within %u s): restarting it in %s, at %s",
                 recent, p.window_s, span(wait, wait_s, sizeof(wait_s)), due);
    if (doc_str(dep, "operation"))
        snprintf(note + strlen(note), len - strlen(note), ", once operation %s has ended",
                 doc_str(dep, "operation"));
}

/* Event fields naming a VI. */
static json_t *vi_fields(const json_t *vi, const char *stage, const char *result)
{
    char obj[96];

    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(vi, "deployment"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "object", obj, "deployment",
                     doc_str(vi, "deployment"), "vi", doc_str(vi, "id"), "stage", stage, "result",
                     result, "tenant", doc_str(vi, "tenant"));
}

/* "...; death 2 within 60 s, restarted at once; the next death is
 * restarted at once" - why a restart happens, and when the next may. */
static void reason(struct core *c, const json_t *dep, const json_t *vi, char *buf, size_t len)
{
    const json_t *rs = json_object_get(vi, "restart");
    uint64_t waited = (uint64_t)jv_int(rs, "delay_ms", 0), next;
    struct restart_hist h;
    struct vnfd_restart p;
    char a[32], b[32];

    settings(c, dep, &p);
    restart_hist_load(vi, &h);
    next = restart_next_wait(&p, &h, wall_ms());
    snprintf(buf, len, "%s: %s; death %lld within %u s, restarted %s%s; the next death %s%s",
             doc_str(vi, "name"), jv_str(rs, "exit", "process ended"), jv_int(rs, "deaths", 1),
             p.window_s, waited ? "after a backoff of " : "at once",
             waited ? span(waited, a, sizeof(a)) : "", next ? "waits " : "is restarted at once",
             next ? span(next, b, sizeof(b)) : "");
    if (next)
        snprintf(buf + strlen(buf), len - strlen(buf), ", none once it has run %u s", p.window_s);
}

/* The decision of the built-in rule that a restart is, tied to its heal
 * operation op (policy/executor.c completes it when op ends). */
static json_t *restart_decision(const json_t *dep, const json_t *vi, const json_t *op,
                                const char *why)
{
    char id[24], now[TIME_STR_MAX];
    json_t *d;

    id_random(id, "dc-", 12);
    d = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:b, s:s, s:{s:s, s:s, s:s, s:i, s:i, s:i, "
                  "s:s, s:s, s:b}, s:[s], s:[{s:s, s:{s:s}, s:s, s:s, s:s}], s:s, s:n, s:O}",
                  "id", id, "deployment", doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"),
                  "rule", RESTART_RULE, "stage", VNF_FAILURE, "mode", "chain", "automatic", 1,
                  "reason", why, "inputs", "metric", "process.up", "stat", "up", "op",
                  "==", "threshold", 0, "value", 0, "samples", 1, "target", doc_str(vi, "id"),
                  "vdu", doc_str(vi, "vdu"), "per_vi", 1, "targets", doc_str(vi, "id"), "actions",
                  "action", "heal", "params", "action", "heal", "state", "running", "operation",
                  doc_str(op, "id"), "started", time_fmt(wall_ms(), now), "state", "running",
                  "finished", "restart", json_object_get(vi, "restart"));
    doc_touch(d, "created");
    doc_touch(d, "updated");
    return d;
}

/* Starts the restart of vi, now due: a heal operation and its decision. */
static void start_restart(struct core *c, json_t *dep, json_t *vi)
{
    struct result res = {0};
    char why[640];
    json_t *op = NULL, *d, *f;

    reason(c, dep, vi, why, sizeof(why));
    json_object_set_new(json_object_get(vi, "restart"), "pending", json_false());
    doc_touch(vi, "updated");
    store_put(c->st, STORE_VI, vi);
    dep_heal(c, dep, json_pack("[s]", doc_str(vi, "id")), NULL, 0, NULL, true, &res, &op);
    result_done(&res);
    d = restart_decision(dep, vi, op, why);
    json_object_set(op, "decision", json_object_get(d, "id"));
    store_put(c->st, STORE_OP, op);
    store_put(c->st, STORE_DECISION, d);
    f = vi_fields(vi, VNF_FAILURE, "fired");
    json_object_set(f, "decision", json_object_get(d, "id"));
    json_object_set_new(f, "rule", json_string(RESTART_RULE));
    core_event(c, "warn", "policy", "decision", f, "rule %s fired for %s (%s): %s", RESTART_RULE,
               doc_str(dep, "id"), VNF_FAILURE, why);
    json_decref(op);
    json_decref(d);
}

/* A restart's timer: starts it when the deployment is free, else leaves it
 * to the end of the operation that holds it (op_ended). */
static void on_due(uv_timer_t *t)
{
    struct vi_watch *w = t->data;
    struct core *c = w->c;
    json_t *vi, *dep;
    int64_t due = 0;

    if (c->stopping)
        return;
    core_tx_begin(c);
    vi = core_load(c, STORE_VI, w->vi);
    dep = vi ? core_load(c, STORE_DEPLOYMENT, doc_str(vi, "deployment")) : NULL;
    if (!lc_restart_owns(c, dep, vi) || !jv_bool(json_object_get(vi, "restart"), "pending", 0) ||
        doc_str(dep, "operation"))
        goto out;
    time_parse(jv_str(json_object_get(vi, "restart"), "due", ""), &due);
    if (due > wall_ms())
        arm(c, w->vi, due); /* armed early (a restart of the manager's clock) */
    else
        start_restart(c, dep, vi);
out:
    core_tx_commit(c);
    json_decref(vi);
    json_decref(dep);
}

/* An exited VI that its exit watch restarts and that has no restart
 * pending (its restart failed, or it ended before its history was kept):
 * a death now, of a process of unknown age. */
static void replan(struct core *c, json_t *vi, const json_t *dep, const char *what)
{
    char note[256], exit[160];

    snprintf(exit, sizeof(exit), "%s%s%s", what, doc_str(vi, "error") ? ": " : "",
             doc_str(vi, "error") ? doc_str(vi, "error") : "");
    plan_restart(c, vi, dep, exit, 0, note, sizeof(note));
    doc_touch(vi, "updated");
    store_put(c->st, STORE_VI, vi);
    core_event(c, "warn", "lifecycle", "vi", vi_fields(vi, stage_name(ST_FAIL), "exited"),
               "%s: %s%s", doc_str(vi, "name"), exit, note);
}

/* Arms (or plans) the restarts of the exited VIs of vis (records). */
static void rearm(struct core *c, const json_t *vis, const char *what)
{
    const json_t *v;
    size_t i;

    json_array_foreach(vis, i, v)
    {
        json_t *vi = core_load(c, STORE_VI, doc_str(v, "id"));
        json_t *dep = vi ? core_load(c, STORE_DEPLOYMENT, doc_str(vi, "deployment")) : NULL;
        int64_t due = 0;

        if (lc_restart_owns(c, dep, vi)) {
            if (!jv_bool(json_object_get(vi, "restart"), "pending", 0))
                replan(c, vi, dep, what);
            else if (time_parse(jv_str(json_object_get(vi, "restart"), "due", ""), &due) == 0)
                arm(c, doc_str(vi, "id"), due);
            else
                arm(c, doc_str(vi, "id"), 0);
        }
        json_decref(vi);
        json_decref(dep);
    }
}

/* An operation ended (lcm/observe.h, inside its transaction): the
 * restarts it held up go on, and a VI it left exited is restarted. */
static void op_ended(struct core *c, const json_t *op)
{
    if (!c->stopping)
        lc_restart_rearm(c, doc_str(op, "deployment"), "not running after its operation");
}

void lc_restart_rearm(struct core *c, const char *dep_id, const char *what)
{
    struct store_where w = {"deployment", dep_id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *vis = NULL;

    if (!dep_id || store_list(c->st, STORE_VI, &o, &vis))
        return;
    rearm(c, vis, what);
    json_decref(vis);
}

static const struct lc_observer observer = {.name = "restart", .op_ended = op_ended};

void lc_restart_init(struct core *c)
{
    lc_observe(c, &observer);
}

void lc_restart_resume(struct core *c)
{
    json_t *vis = NULL;

    if (store_list(c->st, STORE_VI, NULL, &vis))
        return;
    core_tx_begin(c);
    rearm(c, vis, "not running at the manager's start");
    core_tx_commit(c);
    json_decref(vis);
}

/* ---- exits ---- */

void lc_vi_exited(struct core *c, const char *vi_id, int exit_status, const char *why)
{
    json_t *vi = NULL, *dep = NULL;
    char exit[160], note[256] = "", how[64];
    int64_t started = 0;

    core_tx_begin(c);
    if (store_get(c->st, STORE_VI, vi_id, &vi) || strcmp(doc_str(vi, "state"), "running") != 0)
        goto out; /* gone, or being stopped by an operation */
    doc_set_str(vi, "state", "exited");
    if (exit_status >= 0)
        doc_set_int(vi, "exit_status", exit_status);
    snprintf(exit, sizeof(exit), "process %lld %s", doc_int(vi, "pid", 0),
             exit_status >= 0 ? spawn_status_str(exit_status, how, sizeof(how)) : why);
    if (store_get(c->st, STORE_DEPLOYMENT, doc_str(vi, "deployment"), &dep) == 0 &&
        json_is_null(json_object_get(dep, "operation"))) {
        doc_set_str(dep, "status", "degraded");
        doc_set_str(dep, "stage", stage_name(ST_FAIL));
        doc_touch(dep, "updated");
        store_put(c->st, STORE_DEPLOYMENT, dep);
    }
    time_parse(jv_str(vi, "started", ""), &started);
    if (lc_restart_owns(c, dep, vi))
        plan_restart(c, vi, dep, exit, started, note, sizeof(note));
    else if (dep)
        snprintf(note, sizeof(note), "; not restarted: %s",
                 strcmp(jv_str(dep, "status", ""), "failed") == 0
                     ? "its deployment has failed"
                     : "the restart policy of its VNFD is never");
    doc_touch(vi, "updated");
    store_put(c->st, STORE_VI, vi);
    lc_vis_changed(c, doc_str(vi, "deployment"));
    core_event(c, "warn", "lifecycle", "vi", vi_fields(vi, stage_name(ST_FAIL), "exited"),
               "%s: VNF %s%s", doc_str(vi, "name"), exit, note);
out:
    core_tx_commit(c);
    json_decref(vi);
    json_decref(dep);
}

static void exit_work(struct wjob *w)
{
    struct exit_job *j = (struct exit_job *)w;
    struct vim_err e;

    j->rc = j->site->ops->status(j->site->vim, &j->h, &j->st, &e);
}

static void exit_done(struct wjob *w)
{
    struct exit_job *j = (struct exit_job *)w;

    if (!w->cancelled && j->rc == 0 && j->st.state != VI_RUNNING)
        lc_vi_exited(j->c, j->h.id, j->st.exit_status,
                     j->st.exit_status >= 0 ? "exited" : "ended (not our child: status unknown)");
    json_decref(j->rec);
    free(j);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct vi_watch *w = p->data;
    struct core *c = w->c;
    struct exit_job *j;
    json_t *vi = NULL;

    (void)status;
    (void)events;
    uv_poll_stop(p); /* an ended process stays readable */
    if (store_get(c->st, STORE_VI, w->vi, &vi) == 0) {
        j = xcalloc(1, sizeof(*j));
        j->w.work = exit_work;
        j->w.done = exit_done;
        j->c = c;
        j->site = site_get(c, doc_str(vi, "site"));
        j->rec = vi;
        vi_handle_from_doc(vi, &j->h);
        if (j->site && j->site->vim) {
            wpool_submit(c->prov, &j->w);
        } else {
            json_decref(vi);
            free(j);
        }
    }
}

void lc_watch_vi(struct core *c, const json_t *vi, int fd)
{
    struct site_rt *site = site_get(c, doc_str(vi, "site"));
    struct vi_handle h;
    struct vi_watch *w;

    lc_unwatch_vi(c, doc_str(vi, "id")); /* and a restart it had pending */
    if (!site || !site->vim || !site->ops->exit_fd) {
        if (fd >= 0)
            close(fd);
        return;
    }
    vi_handle_from_doc(vi, &h);
    if (fd < 0) {
        lc_vi_exited(c, h.id, -1, "is gone");
        return;
    }
    w = watch_get(c, h.id);
    w->fd = fd;
    uv_poll_init(c->loop, &w->poll, fd);
    w->poll.data = w;
    w->handles++;
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
}
