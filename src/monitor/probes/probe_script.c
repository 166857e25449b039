/* Custom script probes: a blocking probe, run on the monitoring pool. The
 * exit status is the health (0 = healthy); standard output gives metric
 * values, one per line, as "VALUE", "NAME VALUE" or "NAME=VALUE". The
 * metric takes the value named by its `value` member, or the first one.
 * The script gets the target in its environment: VNFM_IP, VNFM_VI_ID,
 * VNFM_VI_NAME, VNFM_DEPLOYMENT, VNFM_METRIC. It runs in the target's
 * sandbox (monitor.c decides which, core/runas.h). */
#include "monitor/probes/probe.h"
#include "util/jsonv.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/sbuf.h"
#include "util/spawn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRIPT_OUT_MAX 4096
#define MAX_ARGS       32

static int script_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.script", field);
    return jv_check_script(jv_str(spec, "script", NULL), sub, err);
}

/* Finds the value named name (NULL: the first value) in the output. */
static bool pick_value(char *out, const char *name, double *v)
{
    char *save, *line;

    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sep = strpbrk(line, " =\t"), *num = line;

        if (sep) {
            *sep = '\0';
            num = sep + 1 + strspn(sep + 1, " =\t");
            if (name && strcmp(line, name) != 0)
                continue;
        } else if (name) {
            continue;
        }
        if (probe_parse_number(num, v))
            return true;
    }
    return false;
}

static void script_run(struct probe_call *call)
{
    const json_t *spec = call->t->spec, *args = json_object_get(spec, "args");
    char *argv[MAX_ARGS + 2] = {(char *)jv_str(spec, "script", "")}, ip[IP4_STR_MAX];
    char *env[8], how[64];
    struct sbuf out = SBUF_INIT;
    struct spawn_req rq;
    int status = 0, r;
    size_t i, n = 1;

    for (i = 0; i < json_array_size(args) && n <= MAX_ARGS; i++)
        argv[n++] = (char *)json_string_value(json_array_get(args, i));
    env[0] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    env[1] = xasprintf("VNFM_IP=%s", call->t->ip ? ip4_fmt(call->t->ip, ip) : "");
    env[2] = xasprintf("VNFM_VI_ID=%s", call->t->vi);
    env[3] = xasprintf("VNFM_VI_NAME=%s", call->t->name);
    env[4] = xasprintf("VNFM_DEPLOYMENT=%s", call->t->deployment);
    env[5] = xasprintf("VNFM_METRIC=%s", call->t->metric);
    env[6] = NULL;
    rq = (struct spawn_req){argv, env, NULL, call->timeout_ms, SCRIPT_OUT_MAX, call->t->sandbox};
    r = spawn_run(&rq, &out, &status);
    if (r == -ETIMEDOUT)
        probe_fail(call, "script killed after %u ms", call->timeout_ms);
    else if (r)
        probe_fail(call, "cannot run %s: %s (%s)", argv[0], strerror(-r), sbuf_str(&out));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        probe_fail(call, "script %s", spawn_status_str(status, how, sizeof(how)));
    else
        call->res.has_value =
            pick_value((char *)sbuf_str(&out), jv_str(spec, "value", NULL), &call->res.value);
    sbuf_done(&out);
    for (i = 1; i < 6; i++)
        free(env[i]);
}

const struct probe_ops probe_script_ops = {
    .name = "script",
    .keys = (const char *const[]){"script", "args", "value", NULL},
    .validate = script_validate,
    .run = script_run,
};
