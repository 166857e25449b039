/* A branch manager's side of the estate (docs/FEDERATION.md): it joins its
 * cloud VNFM once with a single-use token and keeps the credential it gets
 * in DATA_DIR/fed.json; then it reports (seed para 102-103) every report
 * interval and at once, batched, when a lifecycle operation starts, moves
 * or ends, or a deployment comes or goes. A report carries the manager's
 * load with its parts, the site's capacity and allocation, every
 * deployment with its VIs, and the events the cloud has not stored yet.
 * The branch dials out: nothing of this listens. A cloud that does not
 * answer changes nothing here: the VNFs keep running, healing and scaling
 * on this manager alone, and the next report that gets through carries
 * the current state and the events of meanwhile. */
#include "fed/fed_internal.h"
#include "lcm/observe.h"
#include "lcm/sites.h"
#include "monitor/monitor.h"
#include "core/version.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define REPORT_TIMEOUT_MS 3000
#define CONNECT_MS        1500
#define REROUTE_MS        200 /* a report the cloud did not route: sent again after this */
#define JOIN_TIMEOUT_MS   10000
#define ANSWER_MAX        (64 * 1024)
#define META_EVENT_SEQ    "fed_event_seq"
#define OPS_REPORTED      20  /* the latest operations a report carries */
#define FULL_EVERY        600 /* reports: a full one now and then, whatever happened */

static char *fed_json_path(const struct core *c)
{
    return xasprintf("%s/fed.json", c->cfg->data_dir);
}

static void set_credential(struct fed *f, const char *mgr, const char *cred, const char *url)
{
    free(f->mgr_id);
    free(f->cred);
    free(f->cloud_url);
    f->mgr_id = xstrdup(mgr);
    f->cred = xstrdup(cred);
    f->cloud_url = xstrdup(url);
}

/* DATA_DIR/fed.json: 0 when it holds a credential, -ENOENT when there is none. */
static int load_credential(struct fed *f)
{
    char *path = fed_json_path(f->c), *text = NULL;
    json_t *doc = NULL;
    int r = read_file(path, 64 * 1024, &text, NULL);

    if (r == 0 && !(doc = json_loads(text, 0, NULL)))
        r = -EINVAL;
    if (r == 0 && (!doc_str(doc, "manager") || !doc_str(doc, "credential")))
        r = -EINVAL;
    if (r == 0)
        set_credential(f, doc_str(doc, "manager"), doc_str(doc, "credential"),
                       f->c->cfg->cloud_url);
    if (r && r != -ENOENT)
        log_error("fed: %s is unreadable (%s): remove it to join again with a new token", path,
                  strerror(-r));
    json_decref(doc);
    free(text);
    free(path);
    return r;
}

static int save_credential(struct fed *f, const json_t *answer)
{
    char *path = fed_json_path(f->c), *text;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "manager", jv_str(answer, "manager", ""),
                            "credential", jv_str(answer, "credential", ""), "cloud_url",
                            f->c->cfg->cloud_url, "site", f->c->cfg->site);
    int r;

    doc_touch(doc, "joined");
    text = json_dumps(doc, JSON_INDENT(2));
    r = write_file_atomic(path, text, strlen(text), 0600, true);
    if (r)
        log_error("fed: cannot write %s: %s", path, strerror(-r));
    free(text);
    json_decref(doc);
    free(path);
    return r;
}

/* ---- what a report carries ---- */

static json_t *site_state(struct core *c)
{
    json_t *site = core_load(c, STORE_SITE, c->cfg->site), *out;
    const struct site_rt *s = site_get(c, c->cfg->site);
    struct site_reserved held = s ? s->reserved : (struct site_reserved){0};
    struct store_usage u = {0};

    /* the managers started here are part of the allocation */
    store_site_usage(c->st, c->cfg->site, &u);
    out = json_pack("{s:O?, s:{s:f, s:I, s:I, s:I}, s:o, s:s}", "capacity",
                    json_object_get(site, "capacity"), "allocated", "vcpu", u.vcpu + held.vcpu,
                    "memory_mb", (json_int_t)(u.memory_mb + held.memory_mb), "disk_mb",
                    (json_int_t)u.disk_mb, "vis", (json_int_t)u.vis, "reserved",
                    site_reserved_json(&held), "vim", jv_str(site, "driver", "proc"));
    if (s)
        json_object_set_new(out, "vim_health", json_string(vim_health_name(s->health)));
    if (s && s->vim && s->ops->view && strcmp(s->ops->name, "agent") == 0) {
        json_t *v = json_object(); /* a VIM another host runs: whether its agent is there */

        s->ops->view(s->vim, v);
        json_object_set_new(
            out, "vim_connected",
            json_boolean(json_is_true(json_object_get(json_object_get(v, "agent"), "connected"))));
        json_decref(v);
    }
    json_decref(site);
    return out;
}

/* Every deployment with its VIs, as the cloud mirrors them. */
static json_t *deployments(struct core *c)
{
    static const char *const dep_keys[] = {"id",
                                           "tenant",
                                           "vnfd",
                                           "status",
                                           "stage",
                                           "operation",
                                           "instances",
                                           "created",
                                           "monitoring",
                                           "rules_owner",
                                           "rules_owner_set",
                                           "rules_owner_gen",
                                           "params",
                                           "license",
                                           "_password",
                                           "handed_from",
                                           "sol003",
                                           "flavour",
                                           "instantiation_level",
                                           NULL};
    static const char *const vi_keys[] = {"id", "vdu", "index", "state", "ip", NULL};
    json_t *deps = NULL, *vis = NULL, *out = json_array(), *d, *v, *eps;
    struct hmap by_dep;
    size_t i;

    if (store_list(c->st, STORE_DEPLOYMENT, NULL, &deps) ||
        store_list(c->st, STORE_VI, NULL, &vis)) {
        json_decref(deps);
        return out;
    }
    hmap_init(&by_dep);
    eps = fed_endpoints(c);
    json_array_foreach(deps, i, d)
    {
        const json_t *h = json_object_get(d, "_handover");
        json_t *one;
        char ep[64];

        if (jv_str(h, "from", NULL))
            continue; /* being taken over from another manager: not this one's yet */
        one = json_object();
        if (h)
            json_object_set_new(one, "handover",
                                json_pack("{s:s, s:s}", "to", jv_str(h, "to", ""), "since",
                                          jv_str(h, "since", "")));

        for (const char *const *k = dep_keys; *k; k++)
            if (json_object_get(d, *k))
                json_object_set(one, *k, json_object_get(d, *k));
        /* what a move clones (fed/move.c): its own rules, its endpoint */
        if (json_object_get(d, "rules"))
            json_object_set(one, "_branch_rules", json_object_get(d, "rules"));
        if (fed_endpoint_of(eps, jv_str(d, "id", ""), ep, sizeof(ep)))
            json_object_set_new(one, "service_endpoint", json_string(ep));
        json_object_set_new(one, "vis", json_array());
        json_array_append_new(out, one);
        hmap_put(&by_dep, jv_str(d, "id", ""), one);
    }
    json_array_foreach(vis, i, v)
    {
        json_t *one = hmap_get(&by_dep, jv_str(v, "deployment", "")), *vi;

        if (!one)
            continue;
        vi = json_object();
        for (const char *const *k = vi_keys; *k; k++)
            if (json_object_get(v, *k))
                json_object_set(vi, *k, json_object_get(v, *k));
        json_array_append_new(json_object_get(one, "vis"), vi);
    }
    hmap_done(&by_dep);
    json_decref(eps);
    json_decref(deps);
    json_decref(vis);
    return out;
}

/* The events the cloud has not stored, oldest first, at most
 * FED_EVENTS_MAX; when more than FED_BACKLOG_MAX wait (a long cut), the
 * oldest are summarised in one event instead. */
static json_t *events(struct fed *f, int64_t *last)
{
    struct core *c = f->c;
    struct log_query q = {.after_seq = f->event_acked, .limit = FED_EVENTS_MAX};
    json_t *out = NULL;

    *last = store_log_last_seq(c->st);
    if (*last - f->event_acked > FED_BACKLOG_MAX) {
        int64_t skip_to = *last - FED_BACKLOG_MAX;
        json_t *sum = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)skip_to, "level", "warn",
                                "category", "fed", "event", "events-dropped");

        json_object_set_new(sum, "message",
                            json_sprintf("%lld events from seq %lld to %lld were not forwarded "
                                         "(more than %d waited); see the branch manager's log",
                                         (long long)(skip_to - f->event_acked),
                                         (long long)f->event_acked + 1, (long long)skip_to,
                                         FED_BACKLOG_MAX));
        q.after_seq = skip_to;
        q.limit = FED_EVENTS_MAX - 1;
        if (store_log_query(c->st, &q, &out))
            out = json_array();
        json_array_insert_new(out, 0, sum);
        return out;
    }
    if (store_log_query(c->st, &q, &out))
        out = json_array();
    return out;
}

/* The latest operations started by the cloud's instructions (their
 * Client-Transaction-Id is the cloud's operation), for it to follow. */
static json_t *instructed_ops(struct core *c)
{
    static const char *const keys[] = {
        "id", "client_transaction_id", "type", "state", "stage", "error", "ended", NULL};
    struct store_list_opts o = {.limit = OPS_REPORTED, .newest_first = true};
    json_t *ops = NULL, *out = json_array(), *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &ops))
        return out;
    json_array_foreach(ops, i, op)
    {
        json_t *one;

        if (strncmp(jv_str(op, "client_transaction_id", ""), "op-", 3))
            continue;
        one = json_object();
        for (const char *const *k = keys; *k; k++)
            if (json_object_get(op, *k))
                json_object_set(one, *k, json_object_get(op, *k));
        json_array_append_new(out, one);
    }
    json_decref(ops);
    return out;
}

/* What the monitor sees of each deployment now: {id: {metric: value}},
 * each value the VDU-wide aggregate its rules look at (the cloud's rules
 * look at it too: cloud_rules.c). */
static json_t *metrics(struct core *c, const json_t *deps)
{
    json_t *out = json_object(), *v;
    const json_t *d;
    size_t i;

    json_array_foreach(deps, i, d)
    {
        if (c->monitor && (v = monitor_values(c->monitor, jv_str(d, "id", ""))))
            json_object_set_new(out, jv_str(d, "id", ""), v);
    }
    return out;
}

/* The deployments a report carries: all of them (a full report), or
 * those that changed since the report the cloud acknowledged last, with
 * the ids of those gone since (*gone). *hashes gets each one's hash, what
 * the cloud will have once it acknowledges this report. */
static json_t *changed(struct fed *f, json_t *deps, bool full, json_t **gone, json_t **hashes)
{
    json_t *out = json_array(), *d, *was;
    const char *id;
    size_t i;

    *hashes = json_object();
    *gone = json_array();
    json_array_foreach(deps, i, d)
    {
        json_int_t h = (json_int_t)doc_hash(d);

        id = jv_str(d, "id", "");
        json_object_set_new(*hashes, id, json_integer(h));
        was = json_object_get(f->sent, id);
        if (full || !was || json_integer_value(was) != h)
            json_array_append(out, d);
    }
    json_object_foreach(f->sent, id, was)
    {
        if (!json_object_get(*hashes, id))
            json_array_append_new(*gone, json_string(id));
    }
    json_decref(deps);
    return out;
}

static json_t *build_report(struct fed *f, json_t **hashes)
{
    struct core *c = f->c;
    json_t *site = site_state(c), *load = json_object(), *rep, *deps = deployments(c), *gone;
    bool full = f->send_full || f->seq % FULL_EVERY == 0;
    int64_t last;

    fed_load_measure(f, load);
    rep = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:b}", "boot", f->boot, "seq",
                    (json_int_t)++f->seq, "pid", (json_int_t)getpid(), "load", load, "site_state",
                    site, "metrics", metrics(c, deps), "full", full);
    json_object_set_new(rep, "deployments", changed(f, deps, full, &gone, hashes));
    if (full)
        json_decref(gone);
    else
        json_object_set_new(rep, "gone", gone);
    json_object_set_new(rep, "events", events(f, &last));
    json_object_set_new(rep, "event_last", json_integer(last));
    json_object_set_new(rep, "results", f->results ? json_deep_copy(f->results) : json_array());
    json_object_set_new(rep, "operations", instructed_ops(c));
    json_object_set_new(rep, "children", fed_children_report(f));
    json_object_set_new(rep, "handovers", fed_handovers_report(f));
    json_object_set_new(rep, "handed_over", fed_handed_over(c));
    json_object_set_new(rep, "site_load", fed_site_load(f));
    return rep;
}

/* ---- sending, on the configuration pool ---- */

struct report_job {
    struct fed_post p;
    json_t *hashes; /* of the deployments as the cloud has them once it took this report */
};

static void send_report(struct fed *f);

static void connected(struct fed *f, bool up, const char *why)
{
    struct core *c = f->c;

    if (up == f->connected)
        return;
    f->connected = up;
    fed_owner_follow(f, up);
    fed_endpoint_wan(c); /* instances in the cloud behind an endpoint: in or out */
    if (up)
        core_event(c, "info", "fed", "cloud-reachable",
                   json_pack("{s:s, s:s}", "object", f->mgr_id, "manager", f->mgr_id),
                   "reporting to the cloud at %s as manager %s", f->cloud_url, f->mgr_id);
    else
        core_event(c, "warn", "fed", "cloud-unreachable",
                   json_pack("{s:s, s:s}", "object", f->mgr_id, "manager", f->mgr_id),
                   "the cloud at %s does not take reports (%s): this manager goes on alone",
                   f->cloud_url, why);
}

/* Drops the results the cloud has. */
static void results_acked(struct fed *f, const json_t *ids)
{
    const json_t *id;
    size_t i, j;

    json_array_foreach(ids, i, id)
    {
        for (j = 0; j < json_array_size(f->results); j++)
            if (json_equal(json_object_get(json_array_get(f->results, j), "id"), id)) {
                json_array_remove(f->results, j);
                break;
            }
    }
}

static void on_timer(uv_timer_t *h);

/* The cloud's report interval (its join and report answers say it), unless
 * this manager was given one of its own: the cloud counts missed reports by
 * its own. */
static void follow_interval(struct fed *f, const json_t *answer)
{
    json_int_t ms = jv_int(answer, "report_interval_ms", 0);

    if (f->c->cfg->fed_report_ms || ms < 10 || ms > 3600 * 1000 || (unsigned)ms == f->report_ms)
        return;
    log_info("fed: reporting every %lld ms, as the cloud asks (was %u ms)", (long long)ms,
             f->report_ms);
    f->report_ms = (unsigned)ms;
    if (f->timer_on)
        uv_timer_start(&f->timer, on_timer, f->report_ms, f->report_ms);
}

/* What the site's other managers hold, as the cloud added it up: this
 * manager's admissions count it (kept as it is while the cloud is not
 * reachable). */
static void others_told(struct fed *f, const json_t *answer)
{
    const json_t *o = json_object_get(answer, "site_others");
    struct site_reserved r;

    if (!json_is_object(o))
        return;
    /* never more room than this manager's own figures give */
    r.vcpu = fmax(0, jv_num(o, "vcpu", 0));
    r.memory_mb = jv_int(o, "memory_mb", 0) > 0 ? jv_int(o, "memory_mb", 0) : 0;
    r.managers = jv_int(o, "managers", 0) > 0 ? (unsigned)jv_int(o, "managers", 0) : 0;
    site_others(f->c, f->c->cfg->site, &r, json_object_get(o, "members"));
}

static void acked(struct fed *f, const json_t *answer)
{
    follow_interval(f, answer);
    others_told(f, answer);
    int64_t seq = jv_int(answer, "event_seq", 0);
    char buf[32];

    results_acked(f, json_object_get(answer, "results"));
    if (seq <= f->event_acked)
        return;
    f->event_acked = seq;
    snprintf(buf, sizeof(buf), "%lld", (long long)seq);
    if (store_meta_set(f->c->st, META_EVENT_SEQ, buf))
        log_warn("fed: cannot record the events the cloud has: %s", store_errmsg(f->c->st));
}

static void report_done(struct wjob *w)
{
    struct report_job *j = (struct report_job *)w;
    struct fed *f = j->p.f;
    char why[HTTPC_ERR_MAX];
    json_t *answer = NULL;

    f->in_flight = false;
    if (!w->cancelled && !f->c->stopping) {
        fed_wan_measured(f, &j->p.resp, j->p.r == 0);
        if (j->p.r || j->p.resp.status == 503) /* the next cloud VNFM of --cloud-url */
            fed_cloud_failed(f, j->p.base);
        else
            fed_cloud_answered(f, j->p.resp.url, "/fed/v1/report");
        if (j->p.r == 0 && httpc_ok(&j->p.resp) && (answer = json_loads(j->p.resp.body, 0, NULL))) {
            connected(f, true, NULL);
            f->refused = false;
            f->rerouted = false;
            acked(f, answer);
            if (!jv_bool(answer, "duplicate", 0)) {
                json_decref(f->sent);
                f->sent = j->hashes;
                j->hashes = NULL;
                f->send_full = jv_bool(answer, "send_full", 0);
            }
        } else if (j->p.resp.status == 401) {
            if (!f->refused)
                log_error("fed: the cloud at %s refuses manager %s: %s", f->cloud_url, f->mgr_id,
                          j->p.resp.body ? j->p.resp.body : "");
            f->refused = true;
            /* removed from the estate: its rules decide for all of its deployments again */
            connected(f, false, "it refuses this manager's credential");
        } else if (f->connected && !f->rerouted && (j->p.r == -ELOOP || j->p.resp.status == 503)) {
            /* the cloud answered but did not route the report: its members
             * disagree on the site's owner for a moment (a site moving
             * between them) or none serves it yet. Once, soon, to the next
             * one before this manager goes on alone. */
            f->rerouted = true;
            log_info("fed: the cloud did not take a report (%s); again in %d ms",
                     httpc_outcome(&j->p.resp, why, sizeof(why)), REROUTE_MS);
            if (f->timer_on)
                uv_timer_start(&f->timer, on_timer, REROUTE_MS, f->report_ms);
        } else {
            f->rerouted = false;
            connected(f, false, httpc_outcome(&j->p.resp, why, sizeof(why)));
        }
        if (f->again)
            send_report(f);
    }
    json_decref(answer);
    json_decref(j->hashes);
    fed_post_free(&j->p);
    free(j);
}

static void send_report(struct fed *f)
{
    struct report_job *j;
    json_t *rep;

    if (f->relocating)
        return;
    if (f->in_flight) {
        f->again = true;
        return;
    }
    f->again = false;
    j = xcalloc(1, sizeof(*j));
    rep = build_report(f, &j->hashes);
    j->p.timeout_ms = REPORT_TIMEOUT_MS;
    j->p.connect_timeout_ms = CONNECT_MS;
    j->p.max_response = ANSWER_MAX;
    f->in_flight = true;
    j->p.keep = f->keep; /* a report a second: one connection, not a handshake each */
    fed_post_submit(&j->p, f, "/fed/v1/report", json_dumps(rep, JSON_COMPACT), report_done);
    json_decref(rep);
}

static void on_timer(uv_timer_t *h)
{
    struct fed *f = h->data;

    if (f->c->stopping)
        return;
    send_report(f);
    fed_wan_probe(f);
    fed_endpoint_retry(f->c);
}

/* ---- triggers (seed para 103): a report at once, batched ---- */

static void on_wake(struct wake *w)
{
    struct fed *f = w->data;

    if (!f->c->stopping)
        send_report(f);
}

void fed_report_soon(struct fed *f)
{
    if (f->wake_on)
        wake_send(&f->wake);
}

static void report_now(struct core *c, void *arg)
{
    (void)arg;
    if (c->fed && c->fed->timer_on && !c->stopping)
        send_report(c->fed);
}

void fed_result_add(struct fed *f, const json_t *result)
{
    if (!f->results)
        f->results = json_array();
    json_array_append(f->results, (json_t *)result);
    core_after_commit(f->c, report_now, NULL, NULL);
}

static void trigger(struct core *c)
{
    core_after_commit(c, report_now, NULL, NULL);
}

static void on_op_started(struct core *c, json_t *op, const json_t *dep)
{
    (void)op;
    (void)dep;
    trigger(c);
}

static void on_op(struct core *c, const json_t *op)
{
    fed_endpoint_refresh(c, doc_str(op, "deployment")); /* its endpoint follows its VIs */
    trigger(c);
}

static void on_dep(struct core *c, const json_t *dep)
{
    fed_endpoint_refresh(c, doc_str(dep, "id"));
    trigger(c);
}

/* A VI about to stop or restart, or found exited, leaves the service
 * endpoint in the transaction that says so, before its process goes. */
static void on_vis(struct core *c, const char *dep)
{
    fed_endpoint_refresh(c, dep);
}

/* Its site's VIM health changed, or its agent answered: the cloud hears it
 * now (a moved manager's handover ends on that report). */
static void on_site(struct core *c, const char *site)
{
    (void)site;
    fed_report_soon(c->fed);
}

const struct lc_observer fed_branch_observer = {
    .name = "federation",
    .op_started = on_op_started,
    .op_changed = on_op,
    .op_ended = on_op,
    .dep_created = on_dep,
    .dep_deleted = on_dep,
    .vis_changed = on_vis,
    .site_changed = on_site,
};

/* ---- joining (seed para 67) ---- */

/* Exchanges --join-token for a credential at base (one cloud VNFM of
 * --cloud-url), before the loop runs. -EAGAIN: it did not answer (or has
 * no primary now): the next one may. */
static int join_at(struct fed *f, const char *base)
{
    struct core *c = f->c;
    const struct config *cfg = c->cfg;
    char host[256] = "", *url, *body;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    struct httpc_resp resp;
    json_t *req, *answer = NULL;
    int r;

    gethostname(host, sizeof(host) - 1);
    req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "token", cfg->join_token, "site", cfg->site,
                    "tag", c->tag, "host", host, "version", VNFM_VERSION, "site_state",
                    site_state(c));
    body = json_dumps(req, JSON_COMPACT);
    url = xasprintf("%s/fed/v1/join", base);
    r = httpc_do(&(struct httpc_req){.url = url,
                                     .body = body,
                                     .headers = hdrs,
                                     .timeout_ms = JOIN_TIMEOUT_MS,
                                     .max_response = ANSWER_MAX,
                                     .ca_file = cfg->cloud_ca,
                                     .follow = true},
                 &resp);
    if (r == 0 && resp.body)
        answer = json_loads(resp.body, 0, NULL);
    if (r == 0 && resp.status == 201 && doc_str(answer, "credential")) {
        follow_interval(f, answer);
        r = save_credential(f, answer);
        if (r == 0) {
            set_credential(f, doc_str(answer, "manager"), doc_str(answer, "credential"),
                           cfg->cloud_url);
            log_info("fed: joined the cloud at %s as manager %s of site %s", cfg->cloud_url,
                     f->mgr_id, cfg->site);
        }
    } else if ((r || resp.status == 503) && strchr(cfg->cloud_url, ',')) {
        char why[HTTPC_ERR_MAX];

        log_warn("fed: the cloud VNFM at %s did not take the join (%s)", base,
                 httpc_outcome(&resp, why, sizeof(why)));
        r = -EAGAIN;
    } else {
        char why[HTTPC_ERR_MAX];

        log_error("cannot join the cloud at %s: %s", cfg->cloud_url,
                  answer && doc_str(answer, "message") ? doc_str(answer, "message")
                                                       : httpc_outcome(&resp, why, sizeof(why)));
        r = -EACCES;
    }
    json_decref(answer);
    httpc_resp_done(&resp);
    json_decref(req);
    free(body);
    free(url);
    return r;
}

/* Joins at each URL of --cloud-url in turn, until one answers. */
static int join(struct fed *f)
{
    char base[512];
    int r = -EAGAIN;

    for (size_t i = 0; r == -EAGAIN; i++) {
        const char *p = f->c->cfg->cloud_url;

        for (size_t k = i; k && p; k--)
            p = (p = strchr(p, ',')) ? p + 1 : NULL;
        if (!p || !*p) {
            log_error("cannot join the cloud at %s: no cloud VNFM of the list took the join",
                      f->c->cfg->cloud_url);
            return -EACCES;
        }
        snprintf(base, sizeof(base), "%.*s", (int)strcspn(p, ","), p);
        r = join_at(f, base);
    }
    return r;
}

int fed_branch_start(struct fed *f)
{
    struct core *c = f->c;
    char *seq = NULL;
    int r;

    f->report_ms = c->cfg->fed_report_ms ? c->cfg->fed_report_ms : 1000;
    r = load_credential(f);

    if (r == 0 && c->cfg->join_token)
        log_info("fed: --join-token ignored: this manager joined already (%s/fed.json)",
                 c->cfg->data_dir);
    if (r == -ENOENT && !c->cfg->join_token) {
        log_error("cannot join the cloud at %s: no --join-token, and no credential of an "
                  "earlier join in %s/fed.json",
                  c->cfg->cloud_url, c->cfg->data_dir);
        return -1;
    }
    if (r == -ENOENT)
        r = join(f);
    if (r)
        return -1;
    if (store_meta_get(c->st, META_EVENT_SEQ, &seq) == 0)
        f->event_acked = strtoll(seq, NULL, 10);
    free(seq);
    id_random(f->boot, "", FED_BOOT_LEN);
    fed_owner_follow(f, false); /* the branch's rules decide until the cloud takes a report */
    uv_timer_init(c->loop, &f->timer);
    f->timer.data = f;
    f->timer_on = true;
    uv_timer_start(&f->timer, on_timer, 0, f->report_ms);
    f->wake_on = wake_init(c->loop, &f->wake, on_wake, f) == 0;
    fed_spawn_resume(f);
    fed_handover_resume(f);
    fed_endpoint_start(c);
    return fed_downlink_start(f);
}

void fed_branch_stop(struct fed *f)
{
    fed_relocate_stop(f);
    fed_spawn_stop_all(f);
    fed_downlink_stop(f);
    fed_endpoint_stop(f->c);
    if (f->wake_on) {
        wake_close(&f->wake, NULL);
        f->wake_on = false;
    }
}

void fed_branch_free(struct fed *f)
{
    fed_handover_free(f);
    json_decref(f->sent);
    json_decref(f->results);
    free(f->mgr_id);
    free(f->cred);
    free(f->cloud_url);
}
