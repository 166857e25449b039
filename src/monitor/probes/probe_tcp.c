/* TCP connect probes: asynchronous, on the scheduler's loop; the value is
 * the connect time in ms. */
#include "monitor/probes/probe_net.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void tcp_finish(struct probe_call *call, const char *body, size_t len)
{
    (void)len;
    if (body) {
        call->res.ok = true;
        call->res.has_value = true;
        call->res.value = (double)(mono_us() - call->started_us) / 1000.0;
    }
    probe_call_done(call);
}

static int tcp_start(struct probe_call *call)
{
    return xfer_start(call, (unsigned)jv_int(call->t->spec, "port", 0), NULL, 0, tcp_finish);
}

static int tcp_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.port", field);
    if (!json_object_get(spec, "port")) {
        jv_fail(err, "missing-field", sub, "a TCP probe needs the port to connect to");
        return -EINVAL;
    }
    return 0;
}

const struct probe_ops probe_tcp_ops = {
    .name = "tcp",
    .keys = (const char *const[]){"port", NULL},
    .validate = tcp_validate,
    .start = tcp_start,
    .cancel = xfer_cancel,
};
