/* A manager's load (docs/FEDERATION.md "Elastic managers"; SPEC F24, seed
 * para 102-104): measured by the branch manager from what it really does,
 * reported with its parts, and weighed into one value:
 *
 *     value = sum over the parts p of weight(p) * part(p)
 *
 * The parts, each in its own unit: vnfs (deployments managed), vis (VIs
 * managed), probes_per_s (probes completed per second over the last
 * report interval), ops_running (lifecycle operations processing or
 * rolling back), ops_queued (accepted, not started yet), cpu (cores the
 * manager used over the last interval) and memory_mb. cpu and memory_mb
 * are its own cgroup's when it has one (--manager-cgroup: a manager its
 * parent started, fed/spawn.c), else its process's (getrusage, RSS).
 * The weights are --manager-load-weights (the defaults below), or a
 * site's manager policy's on the cloud, which weighs every report again. */
#include "fed/fed_internal.h"
#include "lcm/schedule.h"
#include "monitor/monitor.h"
#include "util/cgroup.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define RUNNING_IDS_MAX 10 /* ids of running operations a report names */

const char *const fed_load_parts[FED_LOAD_PARTS] = {
    "vnfs", "vis", "probes_per_s", "ops_running", "ops_queued", "cpu", "memory_mb",
};

/* 100 VNFs, 200 VIs, 500 probes/s, 10 running operations, 1 core or 2 GB
 * each weigh 1 */
static const double default_weights[FED_LOAD_PARTS] = {0.01, 0.005, 0.002, 0.1, 0.05, 1.0, 0.0005};

static int part_index(const char *name, size_t len)
{
    for (int i = 0; i < FED_LOAD_PARTS; i++)
        if (strlen(fed_load_parts[i]) == len && strncmp(fed_load_parts[i], name, len) == 0)
            return i;
    return -1;
}

void fed_weights_default(struct fed_weights *w)
{
    memcpy(w->w, default_weights, sizeof(w->w));
}

int fed_weights_parse(const char *text, struct fed_weights *w, char *err, size_t len)
{
    struct fed_weights out;
    const char *p = text;

    fed_weights_default(&out);
    while (p && *p) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        char *end;
        int i = eq && (!comma || eq < comma) ? part_index(p, (size_t)(eq - p)) : -1;
        double v;

        if (i < 0) {
            snprintf(err, len, "'%.*s' is not PART=WEIGHT with a part of %s",
                     comma ? (int)(comma - p) : (int)strlen(p), p,
                     "vnfs, vis, probes_per_s, ops_running, ops_queued, cpu, memory_mb");
            return -EINVAL;
        }
        errno = 0;
        v = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || (*end && *end != ',') || v < 0 || v > 1e6) {
            snprintf(err, len, "the weight of %s must be a number from 0 to 1e6",
                     fed_load_parts[i]);
            return -EINVAL;
        }
        out.w[i] = v;
        p = *end ? end + 1 : end;
    }
    *w = out;
    return 0;
}

void fed_weights_of(const json_t *obj, const struct fed_weights *def, struct fed_weights *w)
{
    *w = *def;
    for (int i = 0; i < FED_LOAD_PARTS; i++)
        if (json_is_number(json_object_get(obj, fed_load_parts[i])))
            w->w[i] = json_number_value(json_object_get(obj, fed_load_parts[i]));
}

json_t *fed_weights_json(const struct fed_weights *w)
{
    json_t *o = json_object();

    for (int i = 0; i < FED_LOAD_PARTS; i++)
        json_object_set_new(o, fed_load_parts[i], json_real(w->w[i]));
    return o;
}

double fed_load_value(const json_t *parts, const struct fed_weights *w, bool without_ops)
{
    double v = 0;

    for (int i = 0; i < FED_LOAD_PARTS; i++) {
        if (without_ops && strncmp(fed_load_parts[i], "ops_", 4) == 0)
            continue;
        v += w->w[i] * jv_num(parts, fed_load_parts[i], 0);
    }
    return v;
}

/* ---- measuring, on the branch ---- */

int fed_load_init(struct fed *f)
{
    const char *group = f->c->cfg->manager_cgroup, *slash;
    char dir[96];
    int r;

    fed_weights_default(&f->weights);
    if (f->c->cfg->manager_load_weights) {
        char why[256];

        if (fed_weights_parse(f->c->cfg->manager_load_weights, &f->weights, why, sizeof(why))) {
            log_error("vnfmd: --manager-load-weights: %s", why);
            return -1;
        }
    }
    if (!group)
        return 0;
    slash = strrchr(group, '/');
    if (!slash || slash == group || !slash[1] || (size_t)(slash - group) >= sizeof(dir)) {
        log_error("vnfmd: --manager-cgroup must be PARENT/NAME under vnfm/, not '%s'", group);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - group), group);
    f->own_cg = xcalloc(1, sizeof(*f->own_cg));
    if ((r = cg_init(f->own_cg, dir)) || !cg_exists(f->own_cg, slash + 1)) {
        log_error("vnfmd: --manager-cgroup %s: %s", group, r ? strerror(-r) : "no such cgroup");
        return -1;
    }
    f->own_vi = xstrdup(slash + 1);
    return 0;
}

void fed_load_free(struct fed *f)
{
    free(f->own_cg);
    free(f->own_vi);
}

/* CPU time used in ns, and memory in bytes: its cgroup's, or its process's. */
static const char *own_usage(struct fed *f, uint64_t *cpu_ns, uint64_t *mem)
{
    struct rusage ru;
    uint64_t limit;
    long rss = 0;
    FILE *statm;

    if (f->own_cg && cg_usage(f->own_cg, f->own_vi, cpu_ns, mem, &limit) == 0)
        return "cgroup";
    getrusage(RUSAGE_SELF, &ru);
    *cpu_ns = ((uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
               (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec) *
              1000;
    if ((statm = fopen("/proc/self/statm", "re"))) {
        if (fscanf(statm, "%*d %ld", &rss) != 1)
            rss = 0;
        fclose(statm);
    }
    *mem = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
    return "process";
}

static long ops_in(struct core *c, const char *state)
{
    struct store_where w = {"state", state, false};
    long n = store_count(c->st, STORE_OP, &w, 1);

    return n > 0 ? n : 0;
}

/* The ids of the operations running now (what may hold a decision). */
static json_t *running_ids(struct core *c)
{
    struct store_where w = {"state", "processing", false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = RUNNING_IDS_MAX};
    json_t *list = NULL, *ids = json_array(), *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &list) == 0)
        json_array_foreach(list, i, op)
        {
            json_array_append(ids, json_object_get(op, "id"));
        }
    json_decref(list);
    return ids;
}

/* The operation that ended last ({"id", "at"}), or NULL: what a policy's
 * hold window after an operation judges by. */
static json_t *last_ended(struct core *c)
{
    struct store_list_opts o = {.limit = RUNNING_IDS_MAX, .newest_first = true};
    json_t *list = NULL, *op, *out = NULL;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &list) == 0)
        json_array_foreach(list, i, op)
        {
            if (!out && doc_str(op, "finished"))
                out = json_pack("{s:O, s:O}", "id", json_object_get(op, "id"), "at",
                                json_object_get(op, "finished"));
        }
    json_decref(list);
    return out;
}

/* The operations scheduled here (lcm/schedule.h) within SCHEDULED_HORIZON_S,
 * earliest first, at most SCHEDULED_MAX: what the cloud's hold_before_s
 * (and anticipate) judge by. */
#define SCHEDULED_HORIZON_S 3600
#define SCHEDULED_MAX       16
static json_t *scheduled_soon(struct core *c)
{
    json_t *all = schedule_within(c, SCHEDULED_HORIZON_S * 1000LL);

    while (json_array_size(all) > SCHEDULED_MAX)
        json_array_remove(all, json_array_size(all) - 1);
    return all;
}

void fed_load_measure(struct fed *f, json_t *load)
{
    struct core *c = f->c;
    uint64_t now = mono_ms(), cpu_ns = 0, mem = 0, probes = 0;
    const char *source = own_usage(f, &cpu_ns, &mem);
    long vnfs = store_count(c->st, STORE_DEPLOYMENT, NULL, 0);
    long vis = store_count(c->st, STORE_VI, NULL, 0);
    json_t *parts;

    if (c->monitor) {
        struct sched_stats st;

        sched_stats(monitor_sched(c->monitor), &st);
        probes = st.probes;
    }
    if (f->load_at_ms && now > f->load_at_ms) {
        double s = (double)(now - f->load_at_ms) / 1000.0;

        f->cpu = cpu_ns >= f->cpu_ns ? (double)(cpu_ns - f->cpu_ns) / 1e9 / s : 0;
        f->probes_per_s = probes >= f->probes ? (double)(probes - f->probes) / s : 0;
    }
    f->cpu_ns = cpu_ns;
    f->probes = probes;
    f->load_at_ms = now;
    parts =
        json_pack("{s:I, s:I, s:f, s:I, s:I, s:f, s:f}", "vnfs", (json_int_t)(vnfs > 0 ? vnfs : 0),
                  "vis", (json_int_t)(vis > 0 ? vis : 0), "probes_per_s", f->probes_per_s,
                  "ops_running", (json_int_t)(ops_in(c, "processing") + ops_in(c, "rolling_back")),
                  "ops_queued", (json_int_t)ops_in(c, "starting"), "cpu", f->cpu, "memory_mb",
                  (double)mem / (1024.0 * 1024.0));
    json_object_set_new(load, "value", json_real(fed_load_value(parts, &f->weights, false)));
    json_object_set_new(load, "parts", parts);
    json_object_set_new(load, "source", json_string(source));
    json_object_set_new(load, "running", running_ids(c));
    json_object_set_new(load, "ended", last_ended(c));
    json_object_set_new(load, "scheduled", scheduled_soon(c));
}
