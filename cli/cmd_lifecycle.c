/* vnfmctl commands for deployments, operations, logs and events. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *path_of(const char *fmt, const char *id)
{
    char *e = url_escape(id), *p = xasprintf(fmt, e);

    free(e);
    return p;
}

/* Appends ?key=value&... for the options that are set. */
static char *with_query(const char *base, const struct args *a, const char *const *opts,
                        const char *const *keys)
{
    struct sbuf b = SBUF_INIT;
    char sep = '?';

    sbuf_adds(&b, base);
    for (size_t i = 0; opts[i]; i++) {
        const char *v = arg_opt(a, opts[i]);
        char *e;

        if (!v)
            continue;
        e = url_escape(v);
        sbuf_addf(&b, "%c%s=%s", sep, keys[i], e);
        free(e);
        sep = '&';
    }
    return sbuf_take(&b);
}

/* ---- waiting for an operation ---- */

struct waiter {
    const char *op;
    int64_t t0;
    const char *final;
    bool quiet;
};

static bool terminal(const char *result)
{
    return result && (strcmp(result, "completed") == 0 || strcmp(result, "failed") == 0 ||
                      strcmp(result, "rolled_back") == 0);
}

/* Prints one lifecycle event as a progress line; true at the operation's end. */
static bool on_progress(const json_t *rec, void *ctx)
{
    struct waiter *w = ctx;
    const char *event = json_string_value(json_object_get(rec, "event"));
    const char *result = json_string_value(json_object_get(rec, "result"));
    const char *t = json_string_value(json_object_get(rec, "time"));
    bool inner = event && (strcmp(event, "vi") == 0 || strcmp(event, "action") == 0);
    int64_t ms = 0;

    if (t && time_parse(t, &ms) == 0 && w->t0 == 0)
        w->t0 = ms;
    if (!w->quiet)
        fprintf(stderr, "[%6.2fs] %s%s\n", (double)(ms - w->t0) / 1000.0, inner ? "  " : "",
                json_string_value(json_object_get(rec, "message")));
    if (event && strcmp(event, "operation") == 0 && terminal(result)) {
        w->final = strcmp(result, "completed") == 0 ? "completed" : "failed";
        return true;
    }
    return false;
}

static void print_operation(struct ctl *c, const json_t *op)
{
    static const char *const keys[] = {"id",      "type",     "deployment",
                                       "tenant",  "state",    "stage",
                                       "attempt", "error",    "client_transaction_id",
                                       "created", "finished", NULL};
    static const struct column stages[] = {{"STAGE", "stage"},
                                           {"RESULT", "result"},
                                           {"ATTEMPTS", "attempts"},
                                           {"STARTED", "started"},
                                           {"FINISHED", "finished"},
                                           {"ERROR", "error"},
                                           {NULL}};

    if (c->json) {
        print_json(op);
        return;
    }
    print_fields(op, keys);
    if (json_array_size(json_object_get(op, "stages"))) {
        putchar('\n');
        print_table(json_object_get(op, "stages"), stages);
    }
}

static int wait_operation(struct ctl *c, const char *op_id, long timeout_s)
{
    struct waiter w = {.op = op_id, .quiet = false};
    char *e = url_escape(op_id), *q = xasprintf("operation=%s&after=0", e);
    char *p = path_of("/v0/operations/%s", op_id);
    json_t *op = NULL;
    int rc = follow_events(c, q, timeout_s * 1000, on_progress, &w), st;

    free(q);
    free(e);
    if (rc == EXIT_TIMEOUT)
        fprintf(stderr,
                "vnfmctl: operation %s did not end within %ld s (it goes on; follow it "
                "with 'vnfmctl op wait %s')\n",
                op_id, timeout_s, op_id);
    if (rc == EXIT_CONNECT)
        fprintf(stderr, "vnfmctl: cannot reach %s to follow operation %s\n", c->url, op_id);
    if (rc) {
        free(p);
        return rc;
    }
    st = http(c, "GET", p, NULL, NULL, &op);
    free(p);
    if (st != 200) {
        json_decref(op);
        return st < 0 ? -st : fail_server(st, op);
    }
    print_operation(c, op);
    rc = strcmp(json_string_value(json_object_get(op, "state")), "completed") == 0 ? EXIT_OK
                                                                                   : EXIT_FAILED;
    if (rc)
        fprintf(stderr, "vnfmctl: %s of %s %s: %s\n",
                json_string_value(json_object_get(op, "type")),
                json_string_value(json_object_get(op, "deployment")),
                json_string_value(json_object_get(op, "state")),
                json_string_value(json_object_get(op, "error")));
    json_decref(op);
    return rc;
}

static long timeout_of(const struct args *a)
{
    const char *t = arg_opt(a, "timeout");

    return t ? strtol(t, NULL, 10) : 300;
}

int finish_operation(struct ctl *c, const struct args *a, int status, json_t *op)
{
    const char *id = json_string_value(json_object_get(op, "id"));
    int rc = EXIT_OK;

    if (status < 0) {
        rc = -status;
    } else if (status != 202) {
        rc = fail_server(status, op);
    } else if (arg_flag(a, "wait")) {
        rc = wait_operation(c, id, timeout_of(a));
    } else if (c->json) {
        print_json(op);
    } else {
        printf("operation %s (%s of %s) accepted; follow it with: vnfmctl op wait %s\n", id,
               json_string_value(json_object_get(op, "type")),
               json_string_value(json_object_get(op, "deployment")), id);
    }
    json_decref(op);
    return rc;
}

/* Sends a lifecycle request with the optional Client-Transaction-Id and
 * Callback headers, then finishes it. */
static int lifecycle(struct ctl *c, const struct args *a, const char *method, const char *path,
                     json_t *body)
{
    char *h[3] = {NULL};
    int n = 0, st;
    json_t *op = NULL;

    if (arg_opt(a, "txn-id"))
        h[n++] = xasprintf("Client-Transaction-Id: %s", arg_opt(a, "txn-id"));
    if (arg_opt(a, "callback"))
        h[n++] = xasprintf("Callback: %s", arg_opt(a, "callback"));
    st = http(c, method, path, body, (const char *const *)h, &op);
    json_decref(body);
    for (int i = 0; i < n; i++)
        free(h[i]);
    return finish_operation(c, a, st, op);
}

/* ---- deploy ---- */

/* VALUE as JSON when it parses as JSON, else as a string. */
static json_t *param_value(const char *v)
{
    json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

    return j ? j : json_string(v);
}

static int add_param(const char *kv, void *ctx)
{
    const char *eq = strchr(kv, '=');
    char *key;

    if (!eq || eq == kv)
        return fail_usage("--param needs KEY=VALUE, not '%s'", kv);
    key = xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(ctx, key, param_value(eq + 1));
    free(key);
    return 0;
}

static int add_instances(const char *kv, void *ctx)
{
    const char *eq = strchr(kv, '=');
    char *key, *end;
    long n;

    if (!eq || eq == kv)
        return fail_usage("--instances needs VDU=N, not '%s'", kv);
    n = strtol(eq + 1, &end, 10);
    if (*end || end == eq + 1)
        return fail_usage("--instances needs VDU=N, not '%s'", kv);
    key = xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(ctx, key, json_integer(n));
    free(key);
    return 0;
}

static json_t *load_params_file(const char *file, int *rc)
{
    json_error_t err;
    json_t *p = json_load_file(file, 0, &err);

    if (!p || !json_is_object(p)) {
        fprintf(stderr, "vnfmctl: %s: %s\n", file, p ? "must hold a JSON object" : err.text);
        json_decref(p);
        *rc = EXIT_USAGE;
        return NULL;
    }
    return p;
}

int cmd_deploy(struct ctl *c, const struct args *a)
{
    static const char *const copy[] = {"vnfd", "tenant", "site", "license", NULL};
    json_t *body = json_pack("{s:s}", "name", a->pos[0]), *params, *inst = json_object();
    int rc = 0;

    if (!arg_opt(a, "vnfd")) {
        json_decref(body);
        json_decref(inst);
        return fail_usage("deploy needs --vnfd ID");
    }
    for (size_t i = 0; copy[i]; i++)
        if (arg_opt(a, copy[i]))
            json_object_set_new(body, copy[i], json_string(arg_opt(a, copy[i])));
    params = arg_opt(a, "params-file") ? load_params_file(arg_opt(a, "params-file"), &rc)
                                       : json_object();
    if (params && (rc = arg_each(a, "param", add_param, params)) == 0)
        rc = arg_each(a, "instances", add_instances, inst);
    if (rc) {
        json_decref(body);
        json_decref(params);
        json_decref(inst);
        return rc;
    }
    json_object_set_new(body, "params", params);
    if (json_object_size(inst))
        json_object_set(body, "instances", inst);
    json_decref(inst);
    if (arg_opt(a, "password"))
        json_object_set_new(body, "credentials",
                            json_pack("{s:s}", "password", arg_opt(a, "password")));
    return lifecycle(c, a, "POST", "/v0/deployments", body);
}

/* ---- deployments ---- */

static char *col_vis(const json_t *row)
{
    const json_t *inst = json_object_get(row, "instances"), *n;
    const char *k;
    long long total = 0;

    json_object_foreach((json_t *)inst, k, n)
    {
        total += json_integer_value(n);
    }
    return xasprintf("%lld", total);
}

int cmd_deployment_list(struct ctl *c, const struct args *a)
{
    static const char *const opts[] = {"tenant", "site", "status", "vnfd", NULL};
    static const struct column cols[] = {
        {"NAME", "id"},         {"TENANT", "tenant"},       {"VNFD", "vnfd"},
        {"SITE", "site"},       {"STATUS", "status"},       {"STAGE", "stage"},
        {"VIS", NULL, col_vis}, {"OPERATION", "operation"}, {NULL}};
    char *path = with_query("/v0/deployments", a, opts, opts);
    json_t *doc = NULL;
    int st = http(c, "GET", path, NULL, NULL, &doc), rc = EXIT_OK;

    free(path);
    if (st < 0)
        return -st;
    if (st != 200)
        rc = fail_server(st, doc);
    else if (c->json)
        print_json(doc);
    else
        print_table(json_object_get(doc, "deployments"), cols);
    json_decref(doc);
    return rc;
}

int cmd_deployment_show(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"id",
                                       "tenant",
                                       "vnfd",
                                       "site",
                                       "status",
                                       "stage",
                                       "operation",
                                       "error",
                                       "params",
                                       "instances",
                                       "credentials.username",
                                       "created",
                                       "updated",
                                       NULL};
    static const struct column vis[] = {
        {"VI", "name"},         {"ID", "id"},       {"STATE", "state"},
        {"IP", "ip"},           {"PID", "pid"},     {"RESTARTS", "restarts"},
        {"STARTED", "started"}, {"ERROR", "error"}, {NULL}};
    char *p = path_of("/v0/deployments/%s", a->pos[0]);
    json_t *doc = NULL;
    int st = http(c, "GET", p, NULL, NULL, &doc), rc = EXIT_OK;

    free(p);
    if (st < 0)
        return -st;
    if (st != 200) {
        rc = fail_server(st, doc);
    } else if (c->json) {
        print_json(doc);
    } else {
        print_fields(doc, keys);
        putchar('\n');
        print_table(json_object_get(doc, "vis"), vis);
    }
    json_decref(doc);
    return rc;
}

int cmd_undeploy(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/deployments/%s", a->pos[0]);
    int rc = lifecycle(c, a, "DELETE", p, NULL);

    free(p);
    return rc;
}

int cmd_heal(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/deployments/%s/heal", a->pos[0]);
    json_t *body = json_object();
    int rc;

    if (arg_opt(a, "vi"))
        json_object_set_new(body, "vi", json_string(arg_opt(a, "vi")));
    rc = lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}

static int int_opt(const struct args *a, const char *name, json_t *body)
{
    const char *v = arg_opt(a, name);
    char *end;
    long n;

    if (!v)
        return 0;
    n = strtol(v, &end, 10);
    if (*end || end == v)
        return fail_usage("--%s needs an integer, not '%s'", name, v);
    json_object_set_new(body, name, json_integer(n));
    return 0;
}

int cmd_scale(struct ctl *c, const struct args *a)
{
    char *p;
    json_t *body;
    int rc;

    if (!arg_opt(a, "vdu") || !arg_opt(a, "count") == !arg_opt(a, "delta"))
        return fail_usage("scale needs --vdu VDU and one of --count N or --delta N");
    body = json_pack("{s:s}", "vdu", arg_opt(a, "vdu"));
    rc = int_opt(a, "count", body);
    if (rc == 0)
        rc = int_opt(a, "delta", body);
    if (rc) {
        json_decref(body);
        return rc;
    }
    p = path_of("/v0/deployments/%s/scale", a->pos[0]);
    rc = lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}

/* ---- operations ---- */

int cmd_op_list(struct ctl *c, const struct args *a)
{
    static const char *const opts[] = {"deployment", "state", "type", "limit", NULL};
    static const struct column cols[] = {{"ID", "id"},
                                         {"TYPE", "type"},
                                         {"DEPLOYMENT", "deployment"},
                                         {"STATE", "state"},
                                         {"STAGE", "stage"},
                                         {"CREATED", "created"},
                                         {"ERROR", "error"},
                                         {NULL}};
    char *path = with_query("/v0/operations", a, opts, opts);
    json_t *doc = NULL;
    int st = http(c, "GET", path, NULL, NULL, &doc), rc = EXIT_OK;

    free(path);
    if (st < 0)
        return -st;
    if (st != 200)
        rc = fail_server(st, doc);
    else if (c->json)
        print_json(doc);
    else
        print_table(json_object_get(doc, "operations"), cols);
    json_decref(doc);
    return rc;
}

int cmd_op_show(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/operations/%s", a->pos[0]);
    json_t *op = NULL;
    int st = http(c, "GET", p, NULL, NULL, &op), rc = EXIT_OK;

    free(p);
    if (st < 0)
        return -st;
    if (st != 200)
        rc = fail_server(st, op);
    else
        print_operation(c, op);
    json_decref(op);
    return rc;
}

int cmd_op_wait(struct ctl *c, const struct args *a)
{
    return wait_operation(c, a->pos[0], timeout_of(a));
}

/* ---- logs and events ---- */

static const char *const log_opts[] = {"category",   "tag",       "object", "level",
                                       "event",      "since",     "until",  "limit",
                                       "deployment", "operation", NULL};

static void print_record(struct ctl *c, const json_t *rec)
{
    char *line;

    if (c->json) {
        line = json_dumps(rec, JSON_COMPACT);
        puts(line);
        free(line);
        return;
    }
    printf("%s  %-5s  %-9s  %-24s  %s\n", json_string_value(json_object_get(rec, "time")),
           json_string_value(json_object_get(rec, "level")),
           json_string_value(json_object_get(rec, "category")),
           json_string_value(json_object_get(rec, "object"))
               ? json_string_value(json_object_get(rec, "object"))
               : "-",
           json_string_value(json_object_get(rec, "message")));
}

static bool on_record(const json_t *rec, void *ctx)
{
    print_record(ctx, rec);
    fflush(stdout);
    return false;
}

/* Events and --follow share the stream with the filters that apply to it. */
static int stream(struct ctl *c, const struct args *a, long long after)
{
    static const char *const opts[] = {"deployment", "operation", "category", NULL};
    char *q = with_query("", a, opts, opts), *qa;
    int rc;

    qa = after >= 0 ? xasprintf("%s%safter=%lld", q + (*q ? 1 : 0), *q ? "&" : "", after)
                    : xstrdup(*q ? q + 1 : "");
    rc = follow_events(c, qa, 365L * 24 * 3600 * 1000, on_record, c);
    free(q);
    free(qa);
    return rc;
}

int cmd_logs(struct ctl *c, const struct args *a)
{
    char *path = with_query("/v0/logs", a, log_opts, log_opts), *p2;
    long long last = -1;
    json_t *doc = NULL, *rec;
    size_t i;
    int st, rc = EXIT_OK;

    if (arg_opt(a, "tail")) {
        p2 = xasprintf("%s%climit=%s&tail=1", path, strchr(path, '?') ? '&' : '?',
                       arg_opt(a, "tail"));
        free(path);
        path = p2;
    }
    st = http(c, "GET", path, NULL, NULL, &doc);
    free(path);
    if (st < 0)
        return -st;
    if (st != 200) {
        rc = fail_server(st, doc);
        json_decref(doc);
        return rc;
    }
    if (c->json && !arg_flag(a, "follow")) {
        print_json(doc);
    } else {
        json_array_foreach(json_object_get(doc, "logs"), i, rec)
        {
            print_record(c, rec);
            last = json_integer_value(json_object_get(rec, "seq"));
        }
    }
    json_decref(doc);
    return arg_flag(a, "follow") ? stream(c, a, last) : EXIT_OK;
}

int cmd_events(struct ctl *c, const struct args *a)
{
    return stream(c, a, -1);
}
