/* vnfmctl commands for deployments: deploy, deployment list and show, and
 * the lifecycle requests undeploy, heal and scale. */
#include "cli/ctl.h"
#include "util/mem.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int ctl_lifecycle(struct ctl *c, const struct args *a, const char *method, const char *path,
                  json_t *body)
{
    char *h[3] = {NULL};
    long long timeout_s;
    json_t *op = NULL;
    int n = 0, st;

    if (op_timeout(a, &timeout_s)) {
        json_decref(body);
        return EXIT_USAGE;
    }
    if (arg_opt(a, "txn-id"))
        h[n++] = xasprintf("Client-Transaction-Id: %s", arg_opt(a, "txn-id"));
    if (arg_opt(a, "callback"))
        h[n++] = xasprintf("Callback: %s", arg_opt(a, "callback"));
    st = ctl_http(c, method, path, body, (const char *const *)h, &op);
    json_decref(body);
    for (int i = 0; i < n; i++)
        free(h[i]);
    return op_finish(c, arg_flag(a, "wait"), timeout_s, st, op);
}

/* ---- deploy ---- */

/* VALUE as JSON when it is a number, boolean, array, object or string,
 * else as text. */
static json_t *param_value(const char *v)
{
    json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

    if (j && !json_is_null(j))
        return j;
    json_decref(j);
    return json_string(v);
}

/* Splits "KEY=VALUE"; *key is malloc'd. Returns VALUE or NULL. */
static const char *split_kv(const char *kv, char **key)
{
    const char *eq = strchr(kv, '=');

    if (!eq || eq == kv)
        return NULL;
    *key = xstrndup(kv, (size_t)(eq - kv));
    return eq + 1;
}

struct kv_ctx {
    const struct args *a;
    json_t *obj;
};

static int add_param(const char *kv, void *arg)
{
    struct kv_ctx *x = arg;
    char *key = NULL;
    const char *v = split_kv(kv, &key);

    if (!v)
        return fail_usage(x->a->cmd, "--param needs KEY=VALUE, not '%s'", kv);
    json_object_set_new(x->obj, key, param_value(v));
    free(key);
    return 0;
}

static int add_instances(const char *kv, void *arg)
{
    struct kv_ctx *x = arg;
    char *key = NULL, *end;
    const char *v = split_kv(kv, &key);
    long long n = v ? strtoll(v, &end, 10) : 0;

    if (!v || end == v || *end) {
        free(key);
        return fail_usage(x->a->cmd, "--instances needs VDU=N, not '%s'", kv);
    }
    json_object_set_new(x->obj, key, json_integer(n));
    free(key);
    return 0;
}

/* The parameters: --params-file, then every --param. NULL after a usage
 * error. */
static json_t *params_of(const struct args *a)
{
    const char *file = arg_opt(a, "params-file");
    struct kv_ctx x = {.a = a};
    json_error_t err;

    x.obj = file ? json_load_file(file, 0, &err) : json_object();
    if (!x.obj || !json_is_object(x.obj)) {
        fprintf(stderr, "vnfmctl: --params-file %s: %s\n", file,
                x.obj ? "must hold a JSON object" : err.text);
        json_decref(x.obj);
        return NULL;
    }
    if (arg_each(a, "param", add_param, &x)) {
        json_decref(x.obj);
        return NULL;
    }
    return x.obj;
}

/* The deploy request body, or NULL after a usage error. */
static json_t *deploy_body(const struct args *a)
{
    static const char *const copy[] = {"vnfd", "tenant", "site", "license", NULL};
    json_t *body = json_pack("{s:s}", "name", a->pos[0]), *params = params_of(a);
    struct kv_ctx inst = {.a = a, .obj = json_object()};

    for (size_t i = 0; copy[i]; i++)
        if (arg_opt(a, copy[i]))
            json_object_set_new(body, copy[i], json_string(arg_opt(a, copy[i])));
    if (!params || arg_each(a, "instances", add_instances, &inst)) {
        json_decref(params);
        json_decref(inst.obj);
        json_decref(body);
        return NULL;
    }
    json_object_set_new(body, "params", params);
    if (json_object_size(inst.obj))
        json_object_set(body, "instances", inst.obj);
    json_decref(inst.obj);
    if (arg_opt(a, "password"))
        json_object_set_new(body, "credentials",
                            json_pack("{s:s}", "password", arg_opt(a, "password")));
    return body;
}

int cmd_deploy(struct ctl *c, const struct args *a)
{
    json_t *body;

    if (!arg_opt(a, "vnfd"))
        return fail_usage(a->cmd, "deploy needs --vnfd ID");
    body = deploy_body(a);
    return body ? ctl_lifecycle(c, a, "POST", "/v0/deployments", body) : EXIT_USAGE;
}

/* ---- deployments ---- */

static char *col_vis(const json_t *row)
{
    const json_t *inst = json_object_get(row, "instances"), *n;
    long long total = 0;
    const char *k;

    json_object_foreach((json_t *)inst, k, n)
    {
        total += json_integer_value(n);
    }
    return xasprintf("%lld", total);
}

int cmd_deployment_list(struct ctl *c, const struct args *a)
{
    static const char *const q[] = {"tenant", "site", "status", "vnfd", NULL};
    static const struct column cols[] = {{"NAME", "id"},         {"TENANT", "tenant"},
                                         {"VNFD", "vnfd"},       {"SITE", "site"},
                                         {"STATUS", "status"},   {"STAGE", "stage"},
                                         {"VIS", NULL, col_vis}, {"OPERATION", "operation"},
                                         {"MANAGER", "manager"}, {NULL}};
    char *path = arg_query("/v0/deployments", a, q);
    int rc = show_list(c, path, "deployments", cols);

    free(path);
    return rc;
}

int cmd_deployment_show(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"id",      "tenant",    "vnfd",    "site",   "status",
                                       "stage",   "operation", "error",   "params", "instances",
                                       "license", "created",   "updated", NULL};
    static const struct column vis[] = {
        {"NAME", "name"},       {"ID", "id"},       {"STATE", "state"},
        {"IP", "ip"},           {"PID", "pid"},     {"RESTARTS", "restarts"},
        {"STARTED", "started"}, {"ERROR", "error"}, {NULL}};
    char *p = ctl_path("/v0/deployments/%s", a->pos[0]);
    int rc = show_detail(c, p, keys, "vis", vis);

    free(p);
    return rc;
}

/* ---- lifecycle ---- */

int cmd_undeploy(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/deployments/%s", a->pos[0]);
    int rc = ctl_lifecycle(c, a, "DELETE", p, NULL);

    free(p);
    return rc;
}

int cmd_heal(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/deployments/%s/heal", a->pos[0]);
    json_t *body = json_object();
    int rc;

    if (arg_opt(a, "vi"))
        json_object_set_new(body, "vi", json_string(arg_opt(a, "vi")));
    if (arg_opt(a, "policy"))
        json_object_set_new(body, "policy", json_string(arg_opt(a, "policy")));
    rc = ctl_lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}

int cmd_scale(struct ctl *c, const struct args *a)
{
    long long count = -1, delta = 0;
    json_t *body;
    char *p;
    int rc;

    if (!arg_opt(a, "vdu") || !arg_opt(a, "count") == !arg_opt(a, "delta"))
        return fail_usage(a->cmd, "scale needs --vdu VDU and one of --count N or --delta N");
    /* the manager checks the ranges and names the field */
    if (arg_int(a, "count", LLONG_MIN, LLONG_MAX, &count) ||
        arg_int(a, "delta", LLONG_MIN, LLONG_MAX, &delta))
        return EXIT_USAGE;
    body = json_pack("{s:s}", "vdu", arg_opt(a, "vdu"));
    json_object_set_new(body, arg_opt(a, "count") ? "count" : "delta",
                        json_integer(arg_opt(a, "count") ? count : delta));
    p = ctl_path("/v0/deployments/%s/scale", a->pos[0]);
    rc = ctl_lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}
