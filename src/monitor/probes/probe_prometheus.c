/* Prometheus scrape probes (text exposition format 0.0.4): asynchronous, on
 * the scheduler's loop; the value is the sum of the matching samples. */
#include "monitor/probes/probe_net.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/mem.h"

#include <stdlib.h>

/* Whether every label of want appears in the series' label text. */
static bool labels_match(const char *labels, size_t n, const json_t *want)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)want, key, v)
    {
        char *pair = xasprintf("%s=\"%s\"", key, json_string_value(v));
        bool found = false;

        for (const char *p = labels; p && (p = strstr(p, pair)) && p < labels + n; p++) {
            if (p == labels || p[-1] == '{' || p[-1] == ',') {
                found = true;
                break;
            }
        }
        free(pair);
        if (!found)
            return false;
    }
    return true;
}

/* Sums the samples of the named metric whose labels match. */
static bool prom_value(const char *text, const char *name, const json_t *labels, double *out)
{
    size_t nl = strlen(name);
    bool found = false;
    double sum = 0;

    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line, *lab = NULL, *end = strchr(line, '\n');
        size_t lab_n = 0;
        char num[64];
        double v;

        if (*p == '#' || strncmp(p, name, nl) != 0 || (p[nl] != ' ' && p[nl] != '{'))
            continue;
        p += nl;
        if (*p == '{') {
            lab = p;
            p = strchr(p, '}');
            if (!p || (end && p > end))
                continue;
            lab_n = (size_t)(++p - lab);
        }
        if (labels && !labels_match(lab ? lab : "", lab_n, labels))
            continue;
        if (sscanf(p, " %63s", num) == 1 && probe_parse_number(num, &v)) {
            sum += v;
            found = true;
        }
    }
    *out = sum;
    return found;
}

static void prom_finish(struct probe_call *call, const char *resp, size_t len)
{
    const char *body, *name = jv_str(call->t->spec, "name", "");
    int status;

    (void)len;
    if (!resp) {
        probe_call_done(call);
        return;
    }
    if (!http_parse(resp, &status, &body) || status != 200)
        probe_fail(call, "scrape failed: %s",
                   http_parse(resp, &status, &body) ? "HTTP error" : "not HTTP");
    else if (!prom_value(body, name, json_object_get(call->t->spec, "labels"), &call->res.value))
        probe_fail(call, "no sample of %s in the scrape", name);
    else {
        call->res.ok = true;
        call->res.has_value = true;
    }
    probe_call_done(call);
}

static int prom_start(struct probe_call *call)
{
    return http_get_start(call, "/metrics", prom_finish);
}

static int prom_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    const char *name = jv_str(spec, "name", "");
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.name", field);
    if (!*name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") !=
            strlen(name)) {
        jv_fail(err, "invalid-value", sub, "must be a Prometheus metric name");
        return -EINVAL;
    }
    return http_check_path(spec, field, err);
}

const struct probe_ops probe_prometheus_ops = {
    .name = "prometheus",
    .keys = (const char *const[]){"port", "path", "name", "labels", NULL},
    .validate = prom_validate,
    .start = prom_start,
    .cancel = xfer_cancel,
};
