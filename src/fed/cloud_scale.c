/* The cloud VNFM scales itself (issue 14, "Elastic cloud VNFM"; docs/HA.md
 * "Self scale-out and scale-in"). The primary of a cluster of cloud
 * VNFMs on etcd takes every branch report (owners forward theirs to it:
 * forward.c), so it measures the cluster's load: branch reports per
 * second, judged each report interval against --cloud-scale-out-rps and
 * --cloud-scale-in-rps, held for --cloud-scale-for-s. Over it, while the
 * cluster has fewer than --cloud-scale-max members, it starts another
 * vnfmd like itself (its command line, another port), which joins the
 * cluster and takes its share of the branch sites (ha/share.c); under it,
 * it stops one it started (SIGTERM: that one revokes its lease as it
 * stops, and its sites move at once). Each is a decision record with its
 * inputs (GET /v0/decisions, rule "cloud-vnfm") and an event (category
 * vnfm). Started as a process of the primary's host (util/spawn), not yet
 * through a VIM; those it started are its own, in memory: a new primary
 * does not stop the ones the old one started. */
#include "fed/fed_internal.h"
#include "core/owners.h"
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
#define STOP_MAX_MS 15000 /* SIGKILL after */
#define RULE        "cloud-vnfm"

extern char **environ;

struct inst {
    pid_t pid;
    char url[64];
    char decision[32];
    int64_t started_ms, stopping_ms; /* mono */
    unsigned members_before;
    bool joined;
};

struct cscale {
    uint64_t reports;          /* taken since the last judgement */
    int64_t last_ms;           /* mono ms of the last judgement */
    double rps, cpu;           /* of the last interval */
    uint64_t cpu_us;           /* this process's CPU time at the last judgement */
    int64_t over_ms, under_ms; /* since when the load is over / under, 0: it is not */
    int64_t acted_ms;          /* the last decision */
    struct inst *inst;
    size_t n_inst;
};

void fed_cscale_report(struct fed *f)
{
    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    f->cscale->reports++;
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

    return json_pack("{s:f, s:f, s:f, s:f, s:i, s:i, s:i}", "reports_per_s", s->rps, "cpu", s->cpu,
                     "scale_out_rps", cfg->cloud_scale_out_rps, "scale_in_rps",
                     cfg->cloud_scale_in_rps, "for_s", cfg->cloud_scale_for_s, "members", members,
                     "max", cfg->cloud_scale_max);
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

static int child_main(void *arg)
{
    char **argv = arg;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    setsid();
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve("/proc/self/exe", argv, environ);
    _exit(127);
}

static void scale_out(struct core *c, struct cscale *s, unsigned members)
{
    const char *host = c->cfg->listen_host;
    unsigned port = ip4_free_port(host);
    char listen[80], **argv;
    struct inst in = {0};
    pid_t pid = -EINVAL;

    snprintf(listen, sizeof(listen), "%s:%u", host, port);
    snprintf(in.url, sizeof(in.url), "http://%s:%u", strcmp(host, "0.0.0.0") ? host : "127.0.0.1",
             port);
    argv = port ? argv_like_mine(listen) : NULL;
    if (argv)
        pid = spawn_clone(child_main, argv, 0);
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
    in.pid = pid > 0 ? pid : 0;
    in.started_ms = (int64_t)mono_ms();
    in.members_before = members;
    s->acted_ms = in.started_ms;
    if (pid <= 0) {
        decide(c, &in, "scale_out", "failed", inputs(c, s, members),
               "%.1f branch reports/s over %.1f for %u s: cannot start vnfmd: %s", s->rps,
               c->cfg->cloud_scale_out_rps, c->cfg->cloud_scale_for_s, strerror((int)-pid));
        return;
    }
    decide(c, &in, "scale_out", "running", inputs(c, s, members),
           "%.1f branch reports/s over %.1f for %u s: another cloud VNFM (pid %d) at %s", s->rps,
           c->cfg->cloud_scale_out_rps, c->cfg->cloud_scale_for_s, (int)pid, in.url);
    s->inst = xrealloc(s->inst, (s->n_inst + 1) * sizeof(*s->inst));
    s->inst[s->n_inst++] = in;
}

/* ---- watching them ---- */

static void forget(struct cscale *s, size_t i)
{
    s->inst[i] = s->inst[--s->n_inst];
}

/* One it started: joined, exited, or stopping too long. false when it is
 * gone from the list. */
static bool watch_one(struct core *c, struct cscale *s, size_t i, unsigned members, int64_t now)
{
    struct inst *in = &s->inst[i];
    char how[64];
    int status;

    if (waitpid(in->pid, &status, WNOHANG) == in->pid) {
        spawn_status_str(status, how, sizeof(how));
        if (in->stopping_ms)
            decide(c, in, "scale_in", "completed", NULL, "cloud VNFM at %s stopped (%s)", in->url,
                   how);
        else
            decide(c, in, "scale_out", "failed", NULL, "the cloud VNFM at %s %s", in->url, how);
        forget(s, i);
        return false;
    }
    if (!in->joined && !in->stopping_ms && members > in->members_before) {
        in->joined = true;
        decide(c, in, "scale_out", "completed", NULL,
               "the cloud VNFM at %s joined the cluster (%u members)", in->url, members);
    } else if (!in->joined && !in->stopping_ms && now - in->started_ms > JOIN_MAX_MS) {
        kill(in->pid, SIGKILL);
        in->stopping_ms = now;
    } else if (in->stopping_ms && now - in->stopping_ms > STOP_MAX_MS) {
        kill(in->pid, SIGKILL);
    }
    return true;
}

static void scale_in(struct core *c, struct cscale *s, unsigned members)
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
    decide(c, in, "scale_in", "running", inputs(c, s, members),
           "%.1f branch reports/s under %.1f for %u s: the cloud VNFM at %s (pid %d) drained and "
           "stopped: its sites go to the others",
           s->rps, c->cfg->cloud_scale_in_rps, c->cfg->cloud_scale_for_s, in->url, (int)in->pid);
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

    if (!cfg->cloud_scale_max || !c->owners)
        return;
    if (!f->cscale)
        f->cscale = xcalloc(1, sizeof(*f->cscale));
    s = f->cscale;
    members = owners_members(c->owners);
    if (s->last_ms && now > s->last_ms) {
        s->rps = (double)s->reports * 1000.0 / (double)(now - s->last_ms);
        s->cpu = (double)(cpu - s->cpu_us) / 1000.0 / (double)(now - s->last_ms);
    }
    s->reports = 0;
    s->last_ms = now;
    s->cpu_us = cpu;
    for (size_t i = 0; i < s->n_inst;)
        i += watch_one(c, s, i, members, now) ? 1 : 0;
    s->over_ms = cfg->cloud_scale_out_rps > 0 && s->rps > cfg->cloud_scale_out_rps
                     ? (s->over_ms ? s->over_ms : now)
                     : 0;
    s->under_ms = s->rps < cfg->cloud_scale_in_rps ? (s->under_ms ? s->under_ms : now) : 0;
    if (pending(s) || (s->acted_ms && now - s->acted_ms < hold))
        return;
    if (s->over_ms && now - s->over_ms >= hold && members < cfg->cloud_scale_max)
        scale_out(c, s, members);
    else if (s->under_ms && now - s->under_ms >= hold && members > 1)
        scale_in(c, s, members);
}

void fed_cscale_free(struct fed *f)
{
    if (!f->cscale)
        return;
    free(f->cscale->inst);
    free(f->cscale);
    f->cscale = NULL;
}
