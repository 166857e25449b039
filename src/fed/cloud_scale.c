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
 * vnfm). Started as a process of the primary's host (util/spawn), in a
 * cgroup of its own (vnfm/TAG-cloud/NAME, TAG the primary's instance tag)
 * with --cloud-scale-vcpu and --cloud-scale-memory-mb as its limits, held
 * in the cloud site's allocation (lcm/sites.h site_reserve): without room
 * there the decision fails, saying so. Those started are kept in the store (meta
 * cloud_instances: pid, URL, host, decision, joined, stopping): a new
 * primary on the same host adopts those still running (by pid and
 * command line), and stops them when the load falls like its own. */
#include "fed/fed_internal.h"
#include "core/owners.h"
#include "core/txq.h"
#include "lcm/sites.h"
#include "util/cgroup.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOIN_MAX_MS 90000 /* a started instance not a member by then has failed */
#define META_INSTS  "cloud_instances"
#define STOP_MAX_MS 15000 /* SIGKILL after */
#define RULE        "cloud-vnfm"

extern char **environ;

struct inst {
    pid_t pid;
    char name[16];   /* its cgroup, under cg_dir */
    char cg_dir[32]; /* "TAG-cloud" of the primary that started it */
    double vcpu;
    long memory_mb;
    char url[64];
    char decision[32];
    int64_t started_ms, stopping_ms; /* mono */
    unsigned members_before;
    bool joined;
    bool adopted; /* started by another primary: not this process's child */
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
    json_t *kept;       /* the records this primary does not act on: itself, another host's */
    struct cgroups *cg; /* vnfm/TAG-cloud: of the instances this process starts */
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

        json_array_append_new(
            all, json_pack("{s:i, s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:s, s:f, s:I}", "pid",
                           (int)in->pid, "url", in->url, "host", host, "decision", in->decision,
                           "joined", in->joined, "stopping", in->stopping_ms != 0, "members_before",
                           (int)in->members_before, "name", in->name, "cgroup", in->cg_dir, "vcpu",
                           in->vcpu, "memory_mb", (json_int_t)in->memory_mb));
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

/* Whether pid is a vnfmd listening at url's HOST:PORT (its command line). */
static bool runs_at(pid_t pid, const char *url)
{
    const char *hp = strstr(url, "://");
    char *path = xasprintf("/proc/%d/cmdline", (int)pid), *text = NULL;
    bool listen = false, ok = false;
    size_t len = 0;

    if (hp && read_file(path, 1 << 20, &text, &len) == 0)
        for (char *p = text; p < text + len; p += strlen(p) + 1) {
            ok = ok || (listen && strcmp(p, hp + 3) == 0);
            listen = strcmp(p, "--listen") == 0;
        }
    free(text);
    free(path);
    return ok;
}

static bool inst_alive(const struct inst *in)
{
    return kill(in->pid, 0) == 0 && runs_at(in->pid, in->url);
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

/* Removes the instance's cgroup (made by whichever primary started it). */
static void cg_remove(const struct inst *in)
{
    struct cgroups cg;

    if (!*in->name || !*in->cg_dir || cg_init(&cg, in->cg_dir))
        return;
    cg_destroy(&cg, in->name);
    cg_release(&cg);
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
        if (known)
            continue; /* started by this process */
        if (strcmp(in.url, c->cfg->ha_url) == 0) {
            json_array_append(s->kept, r); /* this process: for the next primary */
            continue;
        }
        if (strcmp(jv_str(r, "host", ""), host)) {
            log_warn("fed: cloud VNFM %s (pid %d) was started on host %s, not this one: left "
                     "as it is",
                     in.url, (int)in.pid, jv_str(r, "host", "?"));
            json_array_append(s->kept, r);
            continue;
        }
        if (in.pid <= 0 || !inst_alive(&in))
            continue; /* gone */
        in.adopted = true;
        snprintf(in.name, sizeof(in.name), "%s", jv_str(r, "name", ""));
        snprintf(in.cg_dir, sizeof(in.cg_dir), "%s", jv_str(r, "cgroup", ""));
        in.vcpu = jv_num(r, "vcpu", 0);
        in.memory_mb = (long)jv_int(r, "memory_mb", 0);
        in.joined = jv_bool(r, "joined", false);
        in.members_before = (unsigned)jv_int(r, "members_before", 0);
        in.started_ms = (int64_t)mono_ms();
        if (jv_bool(r, "stopping", false)) {
            in.stopping_ms = in.started_ms;
            kill(in.pid, SIGTERM);
        }
        log_info("fed: cloud VNFM %s (pid %d), started by an earlier primary, adopted", in.url,
                 (int)in.pid);
        s->inst = xrealloc(s->inst, (s->n_inst + 1) * sizeof(*s->inst));
        s->inst[s->n_inst++] = in;
    }
    json_decref(all);
    insts_save(c, s);
    reserve(c, s);
}

/* ---- starting one ---- */

/* This process's command line with another --listen, and without what
 * is this instance's own (--ha-url, --ha-listen): a NULL-terminated
 * malloc'd array of malloc'd strings, or NULL. */
static char **argv_like_mine(const char *listen)
{
    char *text = NULL, **argv;
    size_t len = 0, n = 0;

    if (read_file("/proc/self/cmdline", 1 << 20, &text, &len))
        return NULL;
    argv = xcalloc(len + 3, sizeof(*argv));
    argv[n++] = xstrdup("/proc/self/exe");
    for (const char *p = text + strlen(text) + 1; p < text + len; p += strlen(p) + 1) {
        if (!strcmp(p, "--listen") || !strcmp(p, "--ha-url") || !strcmp(p, "--ha-listen")) {
            p += strlen(p) + 1; /* and its value */
            continue;
        }
        argv[n++] = xstrdup(p);
    }
    argv[n++] = xstrdup("--listen");
    argv[n++] = xstrdup(listen);
    free(text);
    return argv;
}

struct exec_arg {
    char **argv;
    int cg[CG_MAX_DIRS], n_cg;
};

/* In the child, before exec: its cgroups, its own session and signals
 * (async-signal-safe calls only). */
static int child_main(void *arg)
{
    struct exec_arg *x = arg;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int i = 0; i < x->n_cg; i++)
        if (write(x->cg[i], "0", 1) != 1)
            _exit(126);
    setsid();
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve("/proc/self/exe", x->argv, environ);
    _exit(127);
}

/* Starts in's process in a cgroup of its own with in's limits: its pid,
 * or -errno (why says what failed). */
static pid_t start(struct core *c, struct cscale *s, struct inst *in, const char *listen, char *why,
                   size_t len)
{
    struct exec_arg x = {.argv = argv_like_mine(listen)};
    int r = x.argv ? 0 : -ENOMEM;

    snprintf(in->cg_dir, sizeof(in->cg_dir), "%s-cloud", c->tag);
    id_random(in->name, "c", 6);
    if (r == 0 && !s->cg) {
        s->cg = xcalloc(1, sizeof(*s->cg));
        if ((r = cg_init(s->cg, in->cg_dir))) {
            free(s->cg);
            s->cg = NULL;
        }
    }
    if (r == 0 &&
        (r = cg_create(s->cg, in->name, (unsigned)(in->vcpu * 1000),
                       (uint64_t)in->memory_mb << 20)) == 0 &&
        (x.n_cg = cg_open_procs(s->cg, in->name, x.cg)) < 0)
        r = x.n_cg;
    if (r == 0)
        r = (int)spawn_clone(child_main, &x, 0);
    for (int i = 0; i < x.n_cg; i++)
        close(x.cg[i]);
    if (r < 0) {
        snprintf(why, len, "%s: %s", s->cg ? "cannot start vnfmd in its cgroup" : "no cgroup",
                 strerror(-r));
        if (s->cg)
            cg_destroy(s->cg, in->name);
    }
    for (size_t i = 0; x.argv && x.argv[i]; i++)
        free(x.argv[i]);
    free(x.argv);
    return (pid_t)r;
}

static void scale_out(struct core *c, struct cscale *s, unsigned members, const char *why)
{
    const char *host = c->cfg->listen_host;
    unsigned port = ip4_free_port(host);
    struct inst in = {.vcpu = c->cfg->cloud_scale_vcpu, .memory_mb = c->cfg->cloud_scale_memory_mb};
    struct result room = {0};
    char listen[80], err[512] = "no free port";
    pid_t pid = -EADDRINUSE;

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
    if (port)
        pid = start(c, s, &in, listen, err, sizeof(err));
    in.pid = pid > 0 ? pid : 0;
    if (pid <= 0) {
        decide(c, &in, "scale_out", "failed", inputs(c, s, members),
               "%s for %u s: cannot start vnfmd: %s", why, c->cfg->cloud_scale_for_s, err);
        return;
    }
    decide(c, &in, "scale_out", "running", inputs(c, s, members),
           "%s for %u s: another cloud VNFM (pid %d) at %s", why, c->cfg->cloud_scale_for_s,
           (int)pid, in.url);
    s->inst = xrealloc(s->inst, (s->n_inst + 1) * sizeof(*s->inst));
    s->inst[s->n_inst++] = in;
    insts_save(c, s);
    reserve(c, s);
}

/* ---- watching them ---- */

static void forget(struct core *c, struct cscale *s, size_t i)
{
    struct inst gone = s->inst[i];

    s->inst[i] = s->inst[--s->n_inst];
    insts_save(c, s);
    reserve(c, s);
    cg_remove(&gone); /* last: whoever sees it gone sees the site's allocation without it */
}

/* Whether it ended, with how in how (an adopted one's status went to its
 * parent, or to init). */
static bool ended(struct inst *in, char *how, size_t len)
{
    int status;

    if (in->adopted) {
        if (inst_alive(in))
            return false;
        snprintf(how, len, "ended");
        return true;
    }
    if (waitpid(in->pid, &status, WNOHANG) != in->pid)
        return false;
    spawn_status_str(status, how, len);
    return true;
}

/* One it started: joined, exited, or stopping too long. false when it is
 * gone from the list. */
static bool watch_one(struct core *c, struct cscale *s, size_t i, unsigned members, int64_t now)
{
    struct inst *in = &s->inst[i];
    char how[64];

    if (ended(in, how, sizeof(how))) {
        if (in->stopping_ms)
            decide(c, in, "scale_in", "completed", NULL, "cloud VNFM at %s stopped (%s)", in->url,
                   how);
        else
            decide(c, in, "scale_out", "failed", NULL, "the cloud VNFM at %s %s", in->url, how);
        forget(c, s, i);
        return false;
    }
    if (!in->joined && !in->stopping_ms && members > in->members_before) {
        in->joined = true;
        decide(c, in, "scale_out", "completed", NULL,
               "the cloud VNFM at %s joined the cluster (%u members)", in->url, members);
        insts_save(c, s);
    } else if (!in->joined && !in->stopping_ms && now - in->started_ms > JOIN_MAX_MS) {
        kill(in->pid, SIGKILL);
        in->stopping_ms = now;
        insts_save(c, s);
    } else if (in->stopping_ms && now - in->stopping_ms > STOP_MAX_MS) {
        kill(in->pid, SIGKILL);
    }
    return true;
}

static void scale_in(struct core *c, struct cscale *s, unsigned members, const char *why)
{
    struct inst *in = NULL;

    for (size_t i = 0; i < s->n_inst; i++)
        if (s->inst[i].joined && !s->inst[i].stopping_ms)
            in = &s->inst[i];
    if (!in)
        return;
    in->stopping_ms = s->acted_ms = (int64_t)mono_ms();
    in->decision[0] = '\0'; /* a decision of its own */
    kill(in->pid, SIGTERM);
    insts_save(c, s);
    decide(c, in, "scale_in", "running", inputs(c, s, members),
           "%s for %u s: the cloud VNFM at %s (pid %d) drained and stopped: its sites go to the "
           "others",
           why, c->cfg->cloud_scale_for_s, in->url, (int)in->pid);
}

static bool pending(const struct cscale *s)
{
    for (size_t i = 0; i < s->n_inst; i++)
        if (!s->inst[i].joined || s->inst[i].stopping_ms)
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
    char over[256], under[256];

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
    for (size_t i = 0; i < s->n_inst;)
        i += watch_one(c, s, i, members, now) ? 1 : 0;
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

void fed_cscale_free(struct fed *f)
{
    if (!f->cscale)
        return;
    json_decref(f->cscale->kept);
    for (size_t i = 0; i < f->cscale->n_inst; i++) /* those still running stay members */
        if (!inst_alive(&f->cscale->inst[i]))
            cg_remove(&f->cscale->inst[i]);
    if (f->cscale->cg) {
        cg_release(f->cscale->cg);
        free(f->cscale->cg);
    }
    free(f->cscale->inst);
    free(f->cscale);
    f->cscale = NULL;
}
