/* The cloud VNFM scales itself (issue 14, "Elastic cloud VNFM"; docs/HA.md
 * "Self scale-out and scale-in"). The primary of a cluster of cloud
 * VNFMs on etcd takes every branch report (owners forward theirs to it:
 * forward.c), so it measures the cluster's load, each report interval:
 * branch reports per second, its own CPU (cores), the decisions taken per
 * second, and the most requests that waited at once for the transactor.
 * Each has --cloud-scale-out-X and --cloud-scale-in-X (0: not judged).
 * Over: any measure over its out threshold; under: every measure judged
 * under its in threshold; either held for --cloud-scale-for-s. Over, while the
 * cluster has fewer than --cloud-scale-max members, it starts another
 * vnfmd like itself (its command line, another port), which joins the
 * cluster and takes its share of the branch sites (ha/share.c); under it,
 * it stops one it started (SIGTERM: that one revokes its lease as it
 * stops, and its sites move at once). Each is a decision record with its
 * inputs (GET /v0/decisions, rule "cloud-vnfm") and an event (category
 * vnfm). Each is a manager VI of the cloud site's VIM (vim/vim.h "Manager
 * VIs"; the process VIM: cgroups vnfm/TAG/mgr-XXXXXX) with --cloud-scale-vcpu and
 * --cloud-scale-memory-mb as its limits, held in the cloud site's
 * allocation (lcm/sites.h site_reserve): without room there the decision
 * fails, saying so. It is made, watched (the driver's status, each
 * report interval), stopped and removed through the driver, on the
 * provisioning pool (mgr_vi.c; a cloud site whose VIs are not the process
 * VIM's has its managers on a process VIM of the host). Those started are kept in the store (meta
 * cloud_instances: its VI and the driver's reference, URL, host, decision,
 * joined, stopping), written before its VI is made: a new primary on the
 * same host adopts them (the members of a cluster share the store's
 * instance tag, so its VIM finds their VIs as they are), removes those
 * that ended, and stops the others when the load falls like its own. */
#include "fed/fed_internal.h"
#include "core/owners.h"
#include "core/txq.h"
#include "lcm/sites.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define JOIN_MAX_MS 90000 /* a started instance not a member by then has failed */
#define META_INSTS  "cloud_instances"
#define STOP_MAX_MS 15000 /* SIGKILL after */
#define RULE        "cloud-vnfm"

struct inst {
    pid_t pid;
    char vi[VIM_ID_MAX]; /* its manager VI on the cloud site's VIM */
    json_t *ref;         /* the driver's reference to it, NULL before its start */
    double vcpu;
    long memory_mb;
    char url[64];
    char decision[32];
    int64_t started_ms, stopping_ms; /* mono */
    unsigned members_before;
    bool joined;
    bool busy; /* a job of the VIM is under way for it */
    bool gone; /* it ended or was stopped: its VI is being removed */
};

struct cscale {
    uint64_t reports, decided; /* taken since the last judgement */
    int64_t last_ms;           /* mono ms of the last judgement */
    double rps, cpu, dps;      /* of the last interval */
    unsigned queue;            /* the most requests that waited at once in it */
    uint64_t cpu_us;           /* this process's CPU time at the last judgement */
    int64_t over_ms, under_ms; /* since when the load is over / under, 0: it is not */
    int64_t acted_ms;          /* the last decision */
    struct inst *inst;
    size_t n_inst;
    json_t *kept; /* the records this primary does not act on: itself, another host's */
};

void fed_cscale_report(struct fed *f)
{
    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    f->cscale->reports++;
}

void fed_cscale_decided(struct fed *f)
{
    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    f->cscale->decided++;
}

/* What it judges itself by, each with its thresholds (0: not judged). */
struct measure {
    const char *name;
    double value, out, in;
};

#define MEASURES 4

static void measures(const struct config *cfg, const struct cscale *s, struct measure *m)
{
    m[0] = (struct measure){"reports_per_s", s->rps, cfg->cloud_scale_out_rps,
                            cfg->cloud_scale_in_rps};
    m[1] = (struct measure){"cpu", s->cpu, cfg->cloud_scale_out_cpu, cfg->cloud_scale_in_cpu};
    m[2] = (struct measure){"decisions_per_s", s->dps, cfg->cloud_scale_out_dps,
                            cfg->cloud_scale_in_dps};
    m[3] = (struct measure){"queue", (double)s->queue, cfg->cloud_scale_out_queue,
                            cfg->cloud_scale_in_queue};
}

/* Over (any measure over its out threshold) or under (every measure
 * judged under its in threshold); why names those measures. */
static bool judged(const struct config *cfg, const struct cscale *s, bool over, char *why,
                   size_t len)
{
    struct measure m[MEASURES];
    size_t n = 0, n_judged = 0;
    bool all = true;

    measures(cfg, s, m);
    *why = '\0';
    for (int i = 0; i < MEASURES; i++) {
        bool hit = over ? m[i].out > 0 && m[i].value > m[i].out : m[i].value < m[i].in;

        if (!(m[i].out > 0 || m[i].in > 0))
            continue;
        n_judged++;
        all = all && hit;
        if (hit && n < len)
            n += (size_t)snprintf(why + n, len - n, "%s%s %.2f %s %g", n ? ", " : "", m[i].name,
                                  m[i].value, over ? "over" : "under", over ? m[i].out : m[i].in);
    }
    return over ? *why != '\0' : n_judged > 0 && all;
}

static uint64_t cpu_now_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ---- decisions ---- */

static json_t *inputs(struct core *c, struct cscale *s, unsigned members)
{
    const struct config *cfg = c->cfg;
    struct measure m[MEASURES];
    json_t *in = json_pack("{s:i, s:i, s:i, s:{}}", "for_s", cfg->cloud_scale_for_s, "members",
                           members, "max", cfg->cloud_scale_max, "thresholds");

    measures(cfg, s, m);
    for (int i = 0; i < MEASURES; i++) {
        json_object_set_new(in, m[i].name, json_real(m[i].value));
        if (m[i].out > 0 || m[i].in > 0)
            json_object_set_new(json_object_get(in, "thresholds"), m[i].name,
                                json_pack("{s:f, s:f}", "out", m[i].out, "in", m[i].in));
    }
    return in;
}

/* A decision record of action, in a transaction of its own. */
static void decide(struct core *c, struct inst *in, const char *action, const char *state,
                   json_t *in_puts, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void decide(struct core *c, struct inst *in, const char *action, const char *state,
                   json_t *in_puts, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    json_t *d;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (!*in->decision)
        id_random(in->decision, "dc-", 12);
    d = core_load(c, STORE_DECISION, in->decision);
    if (!d) { /* why it was taken */
        d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", in->decision, "rule", RULE, "stage",
                      "cloud_scale", "site", c->cfg->site, "action", action, "reason", reason);
        doc_touch(d, "created");
    } else { /* what became of it */
        doc_set_str(d, "result", reason);
    }
    doc_set_str(d, "state", state);
    if (in_puts)
        json_object_set_new(d, "inputs", in_puts);
    json_object_set_new(d, "instance",
                        json_pack("{s:I, s:s}", "pid", (json_int_t)in->pid, "url", in->url));
    doc_touch(d, "updated");
    if (strcmp(state, "running"))
        doc_touch(d, "finished");
    core_tx_begin(c);
    if (store_put(c->st, STORE_DECISION, d))
        log_error("fed: cannot write decision %s: %s", in->decision, store_errmsg(c->st));
    core_event(c, strcmp(state, "failed") ? "info" : "warn", "vnfm", action,
               json_pack("{s:s, s:s, s:s, s:s}", "object", "vnfm", "decision", in->decision,
                         "result", state, "instance", in->url),
               "decision %s: %s: %s", in->decision, action, reason);
    core_tx_commit(c);
    json_decref(d);
}

/* ---- kept in the store ---- */

static void host_name(char *out, size_t len)
{
    if (gethostname(out, len - 1))
        snprintf(out, len, "?");
    out[len - 1] = '\0';
}

/* Writes the instances started (meta cloud_instances), in a transaction. */
static void insts_save(struct core *c, const struct cscale *s)
{
    json_t *all = json_array();
    char host[256], *text;

    host_name(host, sizeof(host));
    for (size_t i = 0; i < s->n_inst; i++) {
        const struct inst *in = &s->inst[i];
        json_t *r = json_pack("{s:i, s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:s, s:f, s:I}", "pid",
                              (int)in->pid, "url", in->url, "host", host, "decision", in->decision,
                              "joined", in->joined, "stopping", in->stopping_ms != 0, "gone",
                              in->gone, "members_before", (int)in->members_before, "vi", in->vi,
                              "vcpu", in->vcpu, "memory_mb", (json_int_t)in->memory_mb);

        if (in->ref)
            json_object_set(r, "ref", in->ref);
        json_array_append_new(all, r);
    }
    json_array_extend(all, s->kept);
    text = json_dumps(all, JSON_COMPACT);
    core_tx_begin(c);
    if (store_meta_set(c->st, META_INSTS, text))
        log_error("fed: cannot record the cloud VNFMs started: %s", store_errmsg(c->st));
    core_tx_commit(c);
    free(text);
    json_decref(all);
}

/* The instances count in the cloud site's allocation while they run. */
static void reserve(struct core *c, const struct cscale *s)
{
    struct site_reserved r = {0};

    for (size_t i = 0; i < s->n_inst; i++) {
        r.vcpu += s->inst[i].vcpu;
        r.memory_mb += s->inst[i].memory_mb;
        r.managers++;
    }
    site_reserve(c, c->cfg->site, &r);
}

void fed_cscale_takeover(struct core *c)
{
    struct fed *f = c->fed;
    char host[256], *text = NULL;
    json_t *all = NULL, *r;
    struct cscale *s;
    size_t i;

    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    s = f->cscale;
    host_name(host, sizeof(host));
    if (store_meta_get(c->st, META_INSTS, &text) == 0)
        all = json_loads(text, 0, NULL);
    free(text);
    json_decref(s->kept);
    s->kept = json_array();
    json_array_foreach(all, i, r)
    {
        struct inst in = {.pid = (pid_t)jv_int(r, "pid", 0)};
        bool known = false;

        snprintf(in.url, sizeof(in.url), "%s", jv_str(r, "url", ""));
        snprintf(in.decision, sizeof(in.decision), "%s", jv_str(r, "decision", ""));
        for (size_t k = 0; k < s->n_inst; k++)
            known = known || strcmp(s->inst[k].url, in.url) == 0;
        if (known) /* started by this process */
            continue;
        if (strcmp(in.url, c->cfg->ha_url) == 0) {
            /* this process: the record is for the next primary */
            if (!jv_bool(r, "joined", false) && *in.decision) {
                /* it became the primary before the one that started it saw it join */
                in.pid = getpid();
                decide(c, &in, "scale_out", "completed", NULL,
                       "the cloud VNFM at %s joined the cluster (and is its primary now)", in.url);
                json_object_set_new(r, "joined", json_true());
            }
            json_array_append(s->kept, r);
            continue;
        }
        if (strcmp(jv_str(r, "host", ""), host) || !*jv_str(r, "vi", "")) {
            log_warn("fed: cloud VNFM %s (pid %d) was started on host %s%s, not by this one's "
                     "VIM: left as it is",
                     in.url, (int)in.pid, jv_str(r, "host", "?"),
                     *jv_str(r, "vi", "") ? "" : " without a VI (an earlier version)");
            json_array_append(s->kept, r);
            continue;
        }
        snprintf(in.vi, sizeof(in.vi), "%s", jv_str(r, "vi", ""));
        in.ref = json_incref(json_object_get(r, "ref"));
        in.vcpu = jv_num(r, "vcpu", 0);
        in.memory_mb = (long)jv_int(r, "memory_mb", 0);
        in.joined = jv_bool(r, "joined", false);
        in.members_before = (unsigned)jv_int(r, "members_before", 0);
        in.started_ms = (int64_t)mono_ms();
        if (jv_bool(r, "stopping", false))
            in.stopping_ms = in.started_ms;
        in.gone = jv_bool(r, "gone", false);
        log_info("fed: cloud VNFM %s (pid %d), started by an earlier primary, adopted (VI %s)",
                 in.url, (int)in.pid, in.vi);
        s->inst = xrealloc(s->inst, (s->n_inst + 1) * sizeof(*s->inst));
        s->inst[s->n_inst++] = in;
    }
    json_decref(all);
    insts_save(c, s);
    reserve(c, s);
}

/* GET /v0/vnfm/instances: the cloud VNFMs the cluster's primaries started,
 * as the store keeps them (any member answers), without what is the
 * driver's or the judgement's own. */
void fed_cscale_list(struct rctx *r)
{
    char *text = NULL;
    int rc = store_meta_get(r->st, META_INSTS, &text);
    json_t *all, *in;
    size_t i;

    if (rc && rc != -ENOENT) {
        result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the store: %s",
                    store_errmsg(r->st));
        return;
    }
    all = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!json_is_array(all)) {
        json_decref(all);
        all = json_array();
    }
    json_array_foreach(all, i, in)
    {
        json_object_del(in, "ref");
        json_object_del(in, "members_before");
    }
    result_ok(&r->res, 200, json_pack("{s:o}", "instances", all));
}

/* ---- its VI (mgr_vi.c) ---- */

static void vi_done(struct mvi_job *j);

/* Submits a job of op for in; false (why says so) without a VIM for it. */
static bool submit(struct core *c, struct inst *in, enum mvi_op op, json_t *vdu, char *why,
                   size_t len)
{
    struct mvi_job *j = fed_mvi_new(c, op, in->url, in->vi, in->ref, vi_done);

    snprintf(j->name, sizeof(j->name), "cloud VNFM %s", in->url);
    j->vdu = vdu;
    j->vcpu_milli = (unsigned)(in->vcpu * 1000);
    j->memory_bytes = (uint64_t)in->memory_mb << 20;
    j->grace_ms = STOP_MAX_MS;
    if (!fed_mvi_submit(j, why, len))
        return false;
    in->busy = true;
    return true;
}

/* ---- starting one ---- */

/* This process's command line (its program's absolute path first) with
 * another --listen, and without what is this instance's own (--ha-url,
 * --ha-listen): a JSON array, or NULL. */
static json_t *argv_like_mine(const char *listen)
{
    char *text = NULL, exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    size_t len = 0;
    json_t *argv;

    if (n <= 0 || read_file("/proc/self/cmdline", 1 << 20, &text, &len))
        return NULL;
    exe[n] = '\0';
    argv = json_pack("[s]", exe);
    for (const char *p = text + strlen(text) + 1; p < text + len; p += strlen(p) + 1) {
        if (!strcmp(p, "--listen") || !strcmp(p, "--ha-url") || !strcmp(p, "--ha-listen")) {
            p += strlen(p) + 1; /* and its value */
            continue;
        }
        json_array_append_new(argv, json_string(p));
    }
    json_array_append_new(argv, json_string("--listen"));
    json_array_append_new(argv, json_string(listen));
    free(text);
    return argv;
}

static void scale_out(struct core *c, struct cscale *s, unsigned members, const char *why)
{
    const char *host = c->cfg->listen_host;
    unsigned port = ip4_free_port(host);
    struct inst in = {.vcpu = c->cfg->cloud_scale_vcpu, .memory_mb = c->cfg->cloud_scale_memory_mb};
    struct result room = {0};
    char listen[80], err[512] = "no free port";
    json_t *argv;

    snprintf(listen, sizeof(listen), "%s:%u", host, port);
    snprintf(in.url, sizeof(in.url), "%s://%s:%u", c->cfg->tls_cert ? "https" : "http",
             strcmp(host, "0.0.0.0") ? host : "127.0.0.1", port);
    in.started_ms = (int64_t)mono_ms();
    in.members_before = members;
    s->acted_ms = in.started_ms;
    if (site_admit(c, c->cfg->site, in.vcpu, in.memory_mb, 0, &room)) {
        decide(c, &in, "scale_out", "failed", inputs(c, s, members),
               "%s for %u s: no room for another cloud VNFM (%g vCPU, %ld MB): %s; "
               "alternatives: give the site more capacity, or smaller instances "
               "(--cloud-scale-vcpu, --cloud-scale-memory-mb)",
               why, c->cfg->cloud_scale_for_s, in.vcpu, in.memory_mb,
               jv_str(room.body, "message", "?"));
        result_done(&room);
        return;
    }
    argv = port ? argv_like_mine(listen) : NULL;
    if (port && !argv)
        snprintf(err, sizeof(err), "cannot read its own command line");
    id_random(in.vi, VIM_MANAGER_PREFIX, 6);
    /* The running decision and the record of its instance commit together,
     * and its VI is made after (core_submit): whenever the primary dies, its
     * successor has the record with which to end the decision. */
    core_tx_begin(c);
    if (!argv ||
        !submit(c, &in, MVI_START, json_pack("{s:o}", "command", argv), err, sizeof(err))) {
        decide(c, &in, "scale_out", "failed", inputs(c, s, members),
               "%s for %u s: cannot start vnfmd: %s", why, c->cfg->cloud_scale_for_s, err);
        core_tx_commit(c);
        return;
    }
    decide(c, &in, "scale_out", "running", inputs(c, s, members),
           "%s for %u s: another cloud VNFM at %s (VI %s of site %s)", why,
           c->cfg->cloud_scale_for_s, in.url, in.vi, c->cfg->site);
    s->inst = xrealloc(s->inst, (s->n_inst + 1) * sizeof(*s->inst));
    s->inst[s->n_inst++] = in;
    insts_save(c, s);
    core_tx_commit(c);
    reserve(c, s);
}

/* ---- watching them ---- */

static void forget(struct core *c, struct cscale *s, size_t i)
{
    json_decref(s->inst[i].ref);
    s->inst[i] = s->inst[--s->n_inst];
    insts_save(c, s);
    reserve(c, s);
}

/* It ended, was not a member in time, or cannot start: what happened is
 * recorded, and its VI goes (the next tick). */
static void gone(struct core *c, struct cscale *s, struct inst *in)
{
    in->gone = true;
    insts_save(c, s);
}

static void started(struct core *c, struct cscale *s, size_t i, struct mvi_job *j)
{
    struct inst *in = &s->inst[i];

    if (j->r) { /* its VI was removed in the job */
        decide(c, in, "scale_out", "failed", NULL, "cannot start vnfmd in VI %s: %s", in->vi,
               j->err.msg);
        forget(c, s, i);
        return;
    }
    in->pid = j->out.pid;
    in->ref = j->out.ref;
    j->out.ref = NULL;
    log_info("fed: cloud VNFM %s started (pid %d, VI %s of site %s)", in->url, (int)in->pid, in->vi,
             c->cfg->site);
    insts_save(c, s);
}

static void watched(struct core *c, struct cscale *s, struct inst *in, struct mvi_job *j)
{
    unsigned members = owners_members(c->owners);
    int64_t now = (int64_t)mono_ms();
    char how[160];

    if (j->r) {
        log_warn("fed: cloud VNFM %s: its VI %s: %s", in->url, in->vi, j->err.msg);
        return; /* the next tick tries again */
    }
    if (j->st.state != VI_RUNNING) {
        if (!in->ref)
            snprintf(how, sizeof(how),
                     "is not known to have started: the primary that started it "
                     "ended before its start was recorded; its VI goes");
        else if (j->st.exit_status >= 0)
            spawn_status_str(j->st.exit_status, how, sizeof(how));
        else
            snprintf(how, sizeof(how), "ended");
        if (in->stopping_ms)
            decide(c, in, "scale_in", "completed", NULL, "cloud VNFM at %s stopped (%s)", in->url,
                   how);
        else
            decide(c, in, "scale_out", "failed", NULL, "the cloud VNFM at %s %s", in->url, how);
        gone(c, s, in);
    } else if (!in->joined && !in->stopping_ms && members > in->members_before) {
        in->joined = true;
        core_tx_begin(c);
        decide(c, in, "scale_out", "completed", NULL,
               "the cloud VNFM at %s joined the cluster (%u members)", in->url, members);
        insts_save(c, s);
        core_tx_commit(c);
    } else if (!in->joined && !in->stopping_ms && now - in->started_ms > JOIN_MAX_MS) {
        decide(c, in, "scale_out", "failed", NULL,
               "the cloud VNFM at %s was not a member within %d s: stopped", in->url,
               JOIN_MAX_MS / 1000);
        gone(c, s, in);
    }
}

static void removed(struct core *c, struct cscale *s, size_t i, struct mvi_job *j)
{
    struct inst *in = &s->inst[i];

    if (j->r) {
        log_warn("fed: cloud VNFM %s: cannot remove its VI %s: %s", in->url, in->vi, j->err.msg);
        return; /* the next tick tries again */
    }
    if (!in->gone)
        decide(c, in, "scale_in", "completed", NULL, "cloud VNFM at %s stopped", in->url);
    log_info("fed: cloud VNFM %s: its VI %s removed", in->url, in->vi);
    forget(c, s, i);
}

static void vi_done(struct mvi_job *j)
{
    struct core *c = j->c;
    struct cscale *s = c->fed->cscale;

    for (size_t i = 0; s && i < s->n_inst; i++) {
        struct inst *in = &s->inst[i];

        if (strcmp(in->url, j->key))
            continue;
        in->busy = false;
        if (j->op == MVI_START)
            started(c, s, i, j);
        else if (j->op == MVI_STATUS && !in->gone)
            watched(c, s, in, j);
        else if (j->op == MVI_REMOVE)
            removed(c, s, i, j);
        break;
    }
}

static void scale_in(struct core *c, struct cscale *s, unsigned members, const char *why)
{
    struct inst *in = NULL;

    for (size_t i = 0; i < s->n_inst; i++)
        if (s->inst[i].joined && !s->inst[i].stopping_ms && !s->inst[i].gone)
            in = &s->inst[i];
    if (!in)
        return;
    in->stopping_ms = s->acted_ms = (int64_t)mono_ms();
    in->decision[0] = '\0'; /* a decision of its own, named in its record: one commit */
    core_tx_begin(c);
    decide(c, in, "scale_in", "running", inputs(c, s, members),
           "%s for %u s: the cloud VNFM at %s (pid %d) drained and stopped: its sites go to the "
           "others",
           why, c->cfg->cloud_scale_for_s, in->url, (int)in->pid);
    insts_save(c, s);
    core_tx_commit(c);
}

static bool pending(const struct cscale *s)
{
    for (size_t i = 0; i < s->n_inst; i++)
        if (!s->inst[i].joined || s->inst[i].stopping_ms || s->inst[i].gone)
            return true;
    return false;
}

void fed_cscale_tick(struct core *c)
{
    struct fed *f = c->fed;
    const struct config *cfg = c->cfg;
    int64_t now = (int64_t)mono_ms(), hold = (int64_t)cfg->cloud_scale_for_s * 1000;
    uint64_t cpu = cpu_now_us();
    unsigned members;
    struct cscale *s;
    char over[256], under[256], why[128];

    if (!cfg->cloud_scale_max || !c->owners)
        return;
    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    s = f->cscale;
    members = owners_members(c->owners);
    if (s->last_ms && now > s->last_ms) {
        s->rps = (double)s->reports * 1000.0 / (double)(now - s->last_ms);
        s->cpu = (double)(cpu - s->cpu_us) / 1000.0 / (double)(now - s->last_ms);
        s->dps = (double)s->decided * 1000.0 / (double)(now - s->last_ms);
    }
    s->queue = txq_peak(c->txq);
    s->reports = s->decided = 0;
    s->last_ms = now;
    s->cpu_us = cpu;
    for (size_t i = 0; i < s->n_inst; i++) { /* each started one: watched, or stopped */
        struct inst *in = &s->inst[i];

        if (!in->busy && !submit(c, in, in->gone || in->stopping_ms ? MVI_REMOVE : MVI_STATUS, NULL,
                                 why, sizeof(why)))
            log_warn("fed: cloud VNFM %s: %s", in->url, why);
    }
    s->over_ms = judged(cfg, s, true, over, sizeof(over)) ? (s->over_ms ? s->over_ms : now) : 0;
    s->under_ms = !s->over_ms && judged(cfg, s, false, under, sizeof(under))
                      ? (s->under_ms ? s->under_ms : now)
                      : 0;
    if (pending(s) || (s->acted_ms && now - s->acted_ms < hold))
        return;
    if (s->over_ms && now - s->over_ms >= hold && members < cfg->cloud_scale_max)
        scale_out(c, s, members, over);
    else if (s->under_ms && now - s->under_ms >= hold && members > 1)
        scale_in(c, s, members, under);
}

/* The instances still running stay members; their VIs stay, for the next
 * primary (jobs still under way find nothing to report to: mgr_vi.c). */
void fed_cscale_free(struct fed *f)
{
    if (!f->cscale)
        return;
    json_decref(f->cscale->kept);
    for (size_t i = 0; i < f->cscale->n_inst; i++)
        json_decref(f->cscale->inst[i].ref);
    free(f->cscale->inst);
    free(f->cscale);
    f->cscale = NULL;
}
