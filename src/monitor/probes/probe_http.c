/* HTTP GET probes: asynchronous, on the scheduler's loop; the value is a
 * number from the JSON answer, or the response time in ms. */
#include "monitor/probes/probe_net.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "util/mem.h"

#include <stdlib.h>

/* The number at a dotted path ("a.b.c") of a JSON document. */
static bool json_number_at(const char *text, const char *path, double *out)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL), *v = doc;
    char *copy = xstrdup(path), *save, *key;
    bool ok;

    for (key = strtok_r(copy, ".", &save); key && v; key = strtok_r(NULL, ".", &save))
        v = json_object_get(v, key);
    ok = json_is_number(v);
    if (ok)
        *out = json_number_value(v);
    free(copy);
    json_decref(doc);
    return ok;
}

static void http_finish(struct probe_call *call, const char *resp, size_t len)
{
    const json_t *spec = call->t->spec;
    long long want = jv_int(spec, "expect_status", 0);
    const char *body, *field = jv_str(spec, "json", NULL);
    int status;

    (void)len;
    if (!resp) {
        probe_call_done(call);
        return;
    }
    if (!http_parse(resp, &status, &body))
        probe_fail(call, "the answer is not HTTP");
    else if (want ? status != want : status >= 400)
        probe_fail(call, "HTTP status %d", status);
    else if (field && !json_number_at(body, field, &call->res.value))
        probe_fail(call, "the answer has no number at '%s'", field);
    else {
        call->res.ok = true;
        call->res.has_value = true;
        if (!field)
            call->res.value = (double)(mono_us() - call->started_us) / 1000.0;
    }
    probe_call_done(call);
}

static int http_start(struct probe_call *call)
{
    return http_get_start(call, "/", http_finish);
}

const struct probe_ops probe_http_ops = {
    .name = "http",
    .keys = (const char *const[]){"port", "path", "json", "expect_status", NULL},
    .validate = http_check_path,
    .start = http_start,
    .cancel = xfer_cancel,
};
