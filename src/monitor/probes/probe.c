/* The probe registry and what every probe shares. */
#include "monitor/probes/probe.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct probe_ops *const all[] = {
    &probe_tcp_ops,  &probe_http_ops,   &probe_prometheus_ops, &probe_icmp_ops,
    &probe_snmp_ops, &probe_script_ops, &probe_cgroup_ops,     &probe_push_ops,
};

const char *const probe_names[] = {"tcp",    "http",   "prometheus", "icmp", "snmp",
                                   "script", "cgroup", "push",       NULL};

const struct probe_ops *probe_find(const char *name)
{
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

void probe_call_done(struct probe_call *call)
{
    if (call->finished)
        return;
    call->finished = true;
    call->done(call);
}

int probe_fail(struct probe_call *call, const char *fmt, ...)
{
    va_list ap;

    call->res.ok = false;
    call->res.has_value = false;
    va_start(ap, fmt);
    vsnprintf(call->res.err, sizeof(call->res.err), fmt, ap);
    va_end(ap);
    return -1;
}

bool probe_parse_number(const char *text, double *out)
{
    char *end;
    double v;

    if (!text)
        return false;
    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v))
        return false;
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}
