/* vnfmctl schedule: scheduled operations (docs/API.md "Scheduled
 * operations"): create, list, show, cancel. */
#include "cli/ctl.h"

#include <stdlib.h>
#include <string.h>

static const char *const schedule_keys[] = {
    "id",     "deployment", "operation",    "params",  "at",      "if_missed", "state",
    "tenant", "created",    "operation_id", "started", "late_ms", "error",     NULL};

/* --param KEY=VALUE: VALUE is JSON when it reads as JSON (3, true), else a string. */
static int add_param(const char *v, void *ctx)
{
    const char *eq = strchr(v, '=');
    char *key;
    json_t *val;

    if (!eq || eq == v)
        return fail_usage("schedule create", "--param wants KEY=VALUE, not '%s'", v);
    key = strndup(v, (size_t)(eq - v));
    val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!val || json_is_object(val) || json_is_array(val)) {
        json_decref(val);
        val = json_string(eq + 1);
    }
    json_object_set_new(ctx, key, val);
    free(key);
    return 0;
}

int cmd_schedule_create(struct ctl *c, const struct args *a)
{
    const char *at = arg_opt(a, "at"), *in = arg_opt(a, "in");
    json_t *params = json_object(), *body;
    char *end = NULL;
    double in_s = in ? strtod(in, &end) : 0;

    if (!arg_opt(a, "op") || !at == !in) {
        json_decref(params);
        return fail_usage(a->cmd, "needs --op OPERATION and one of --at TIME or --in SECONDS");
    }
    if (in && (!end || *end || in_s <= 0)) {
        json_decref(params);
        return fail_usage(a->cmd, "--in wants a number of seconds above 0, not '%s'", in);
    }
    if (arg_each(a, "param", add_param, params)) {
        json_decref(params);
        return EXIT_USAGE;
    }
    body = json_pack("{s:s, s:s, s:o}", "deployment", a->pos[0], "operation", arg_opt(a, "op"),
                     "params", params);
    if (at)
        json_object_set_new(body, "at", json_string(at));
    else
        json_object_set_new(body, "in_s", json_real(in_s));
    if (arg_opt(a, "if-missed"))
        json_object_set_new(body, "if_missed", json_string(arg_opt(a, "if-missed")));
    return show_change(c, "POST", "/v0/scheduled-operations", body, schedule_keys, NULL);
}

int cmd_schedule_list(struct ctl *c, const struct args *a)
{
    static const char *const q[] = {"deployment", "state", "limit", NULL};
    static const struct column cols[] = {
        {"ID", "id"},       {"DEPLOYMENT", "deployment"}, {"OPERATION", "operation"}, {"AT", "at"},
        {"STATE", "state"}, {"STARTED", "operation_id"},  {"ERROR", "error.message"}, {NULL}};
    long long limit;
    char *path;
    int rc;

    if (arg_int(a, "limit", 1, 10000, &limit))
        return EXIT_USAGE;
    path = arg_query("/v0/scheduled-operations", a, q);
    rc = show_list(c, path, "scheduled_operations", cols);
    free(path);
    return rc;
}

int cmd_schedule_show(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/scheduled-operations/%s", a->pos[0]);
    int rc = show_one(c, p, schedule_keys);

    free(p);
    return rc;
}

int cmd_schedule_cancel(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/scheduled-operations/%s", a->pos[0]);
    int rc = show_change(c, "DELETE", p, NULL, schedule_keys, NULL);

    free(p);
    return rc;
}
