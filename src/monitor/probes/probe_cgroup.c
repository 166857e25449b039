/* CPU and memory of a VI, read by its VIM driver (the cgroup counters for
 * the proc VIM): a blocking probe, run on the monitoring pool. CPU is the
 * share of the VI's vCPU limit used since the previous probe, in percent
 * (or in cores with unit "cores"); memory is the share of its limit in
 * percent (or MB with unit "mb"). The first CPU probe of a VI has no value:
 * a rate needs two readings. */
#include "monitor/probes/probe.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cpu_prev {
    uint64_t usage_ns;
    uint64_t t_us;
};

static int cgroup_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    const char *res = jv_str(spec, "resource", NULL), *unit = jv_str(spec, "unit", "percent");
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.resource", field);
    if (!res || (strcmp(res, "cpu") != 0 && strcmp(res, "memory") != 0)) {
        jv_fail(err, res ? "invalid-value" : "missing-field", sub, "must be \"cpu\" or \"memory\"");
        return -EINVAL;
    }
    snprintf(sub, sizeof(sub), "%s.unit", field);
    if (strcmp(unit, "percent") != 0 &&
        strcmp(unit, strcmp(res, "cpu") == 0 ? "cores" : "mb") != 0) {
        jv_fail(err, "invalid-value", sub, "must be \"percent\" or \"%s\"",
                strcmp(res, "cpu") == 0 ? "cores" : "mb");
        return -EINVAL;
    }
    return 0;
}

static void cpu_value(struct probe_call *call, const struct vi_stats *st)
{
    struct cpu_prev *prev = *call->tstate;
    uint64_t now = mono_us();
    double cores;

    if (!prev) {
        prev = xcalloc(1, sizeof(*prev));
        *call->tstate = prev;
    } else if (now > prev->t_us && st->cpu_usage_ns >= prev->usage_ns) {
        cores = (double)(st->cpu_usage_ns - prev->usage_ns) / ((double)(now - prev->t_us) * 1000.0);
        call->res.has_value = true;
        call->res.value =
            strcmp(jv_str(call->t->spec, "unit", "percent"), "cores") == 0
                ? cores
                : cores * 100000.0 / (call->t->vcpu_milli ? call->t->vcpu_milli : 1000);
    }
    prev->usage_ns = st->cpu_usage_ns;
    prev->t_us = now;
}

static void cgroup_run(struct probe_call *call)
{
    const struct probe_target *t = call->t;
    struct vi_stats st = {0};
    struct vim_err e = {""};
    uint64_t limit;
    int r;

    if (!t->vim_ops || !t->vim_ops->stats || !t->vim) {
        probe_fail(call, "the VI's VIM gives no usage figures");
        return;
    }
    r = t->vim_ops->stats(t->vim, &t->h, &st, &e);
    if (r) {
        probe_fail(call, "%s", *e.msg ? e.msg : strerror(-r));
        return;
    }
    if (strcmp(jv_str(t->spec, "resource", "cpu"), "cpu") == 0) {
        cpu_value(call, &st);
        return;
    }
    limit = st.memory_limit && st.memory_limit < (1ull << 60) ? st.memory_limit : t->memory_bytes;
    call->res.has_value = true;
    call->res.value = strcmp(jv_str(t->spec, "unit", "percent"), "mb") == 0
                          ? (double)st.memory_bytes / (1024.0 * 1024.0)
                          : (limit ? (double)st.memory_bytes * 100.0 / (double)limit : 0);
}

const struct probe_ops probe_cgroup_ops = {
    .name = "cgroup",
    .keys = (const char *const[]){"resource", "unit", NULL},
    .validate = cgroup_validate,
    .run = cgroup_run,
    .tstate_free = free,
};
