/* vnfmctl's SOL003-shaped tasks on a deployment: operate, scale-to-level,
 * change-flavour and modify (docs/CLI.md). The native API has no request
 * for them: each is a request of the manager's SOL003 interface
 * (/vnflcm/v1, docs/SOL003.md; a deployment is a VNF instance of the same
 * id), whose operation is an ordinary one, printed and followed (--wait)
 * as any other. On a cloud VNFM they work for branch deployments too. */
#include "cli/ctl.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SOL_ROOT "/vnflcm/v1/vnf_instances/%s"

/* The operation the last answer's Location names (a task's 202 carries the
 * occurrence, whose id is the operation's): GET /v0/operations/ID, a new
 * reference, or NULL. */
static json_t *located_op(struct ctl *c)
{
    const char *slash = strrchr(c->location, '/');
    char *p;
    json_t *op = NULL;

    if (!slash || !slash[1])
        return NULL;
    p = ctl_path("/v0/operations/%s", slash + 1);
    if (ctl_http(c, "GET", p, NULL, NULL, &op) != 200) {
        json_decref(op);
        op = NULL;
    }
    free(p);
    return op;
}

/* Sends the task (task NULL: a PATCH of the instance; body consumed) and
 * finishes it as a native lifecycle request. */
static int sol_task(struct ctl *c, const struct args *a, const char *task, json_t *body)
{
    static const char *const hdrs[] = {"Version: 1.3.0", NULL};
    char *base = ctl_path(SOL_ROOT, a->pos[0]);
    char *path = task ? xasprintf("%s/%s", base, task) : xstrdup(base);
    long long timeout_s;
    json_t *out = NULL;
    int st;

    free(base);
    if (op_timeout(a, &timeout_s)) {
        free(path);
        json_decref(body);
        return EXIT_USAGE;
    }
    st = ctl_http(c, task ? "POST" : "PATCH", path, body, hdrs, &out);
    free(path);
    json_decref(body);
    if (st == 202) {
        json_decref(out);
        out = located_op(c);
        if (!out) {
            printf("accepted: %s\n", c->location[0] ? c->location : "(no Location)");
            return EXIT_OK;
        }
    }
    return op_finish(c, arg_flag(a, "wait"), timeout_s, st, out);
}

/* VALUE as JSON when it parses (a number, true/false, null, [list],
 * {object}, "string"), else as text. */
static json_t *value_of(const char *v)
{
    json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

    return j ? j : json_string(v);
}

struct kv {
    const struct args *a;
    const char *opt;
    json_t *obj;
};

/* "KEY=VALUE" of option x->opt into x->obj. */
static int add_kv(const char *kv, void *arg)
{
    struct kv *x = arg;
    const char *eq = strchr(kv, '=');
    char *key;

    if (!eq || eq == kv)
        return fail_usage(x->a->cmd, "--%s needs KEY=VALUE, not '%s'", x->opt, kv);
    key = xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(x->obj, key, value_of(eq + 1));
    free(key);
    return 0;
}

static int add_vi(const char *vi, void *arg)
{
    json_array_append_new(arg, json_string(vi));
    return 0;
}

int cmd_operate(struct ctl *c, const struct args *a)
{
    const char *state = arg_opt(a, "state");
    long long grace = -1;
    json_t *body, *vis;

    if (!state || (strcasecmp(state, "started") && strcasecmp(state, "stopped")))
        return fail_usage(a->cmd, "--state must be started or stopped");
    if (arg_int(a, "grace", 0, 86400, &grace))
        return EXIT_USAGE;
    if ((arg_flag(a, "forceful") || grace >= 0) && strcasecmp(state, "stopped"))
        return fail_usage(a->cmd, "--forceful and --grace are for --state stopped");
    if (arg_flag(a, "forceful") && grace >= 0)
        return fail_usage(a->cmd, "give --forceful or --grace, not both");
    body = json_pack("{s:s}", "changeStateTo",
                     strcasecmp(state, "started") == 0 ? "STARTED" : "STOPPED");
    if (arg_flag(a, "forceful"))
        json_object_set_new(body, "stopType", json_string("FORCEFUL"));
    if (grace >= 0) {
        json_object_set_new(body, "stopType", json_string("GRACEFUL"));
        json_object_set_new(body, "gracefulStopTimeout", json_integer(grace));
    }
    vis = json_array();
    arg_each(a, "vi", add_vi, vis);
    if (json_array_size(vis))
        json_object_set(body, "vnfcInstanceId", vis);
    json_decref(vis);
    return sol_task(c, a, "operate", body);
}

/* "ASPECT=LEVEL" into a scaleInfo entry. */
static int add_aspect(const char *kv, void *arg)
{
    struct kv *x = arg;
    const char *eq = strchr(kv, '=');
    char *end = NULL, *aspect;
    long long level;

    if (eq && eq != kv)
        level = strtoll(eq + 1, &end, 10);
    if (!eq || eq == kv || !end || *end || end == eq + 1 || level < 0)
        return fail_usage(x->a->cmd, "--aspect needs ASPECT=LEVEL (a level from 0), not '%s'", kv);
    aspect = xstrndup(kv, (size_t)(eq - kv));
    json_array_append_new(x->obj, json_pack("{s:s, s:I}", "aspectId", aspect, "scaleLevel", level));
    free(aspect);
    return 0;
}

int cmd_scale_to_level(struct ctl *c, const struct args *a)
{
    const char *level = arg_opt(a, "level");
    struct kv x = {a, "aspect", json_array()};
    int rc = arg_each(a, "aspect", add_aspect, &x);

    if (!rc && !level == !json_array_size(x.obj))
        rc = fail_usage(a->cmd, "give --level or --aspect (one or more), not both");
    if (rc) {
        json_decref(x.obj);
        return rc;
    }
    if (level) {
        json_decref(x.obj);
        return sol_task(c, a, "scale_to_level", json_pack("{s:s}", "instantiationLevelId", level));
    }
    return sol_task(c, a, "scale_to_level", json_pack("{s:o}", "scaleInfo", x.obj));
}

int cmd_change_flavour(struct ctl *c, const struct args *a)
{
    const char *flavour = arg_opt(a, "flavour"), *level = arg_opt(a, "level");
    json_t *body;

    if (!flavour)
        return fail_usage(a->cmd, "--flavour is required");
    body = json_pack("{s:s}", "newFlavourId", flavour);
    if (level)
        json_object_set_new(body, "instantiationLevelId", json_string(level));
    return sol_task(c, a, "change_flavour", body);
}

int cmd_modify(struct ctl *c, const struct args *a)
{
    struct kv x = {a, "metadata", json_object()};
    json_t *body;
    int rc = arg_each(a, "metadata", add_kv, &x);

    if (rc) {
        json_decref(x.obj);
        return rc;
    }
    body = json_object();
    if (arg_opt(a, "name"))
        json_object_set_new(body, "vnfInstanceName", json_string(arg_opt(a, "name")));
    if (arg_opt(a, "description"))
        json_object_set_new(body, "vnfInstanceDescription", json_string(arg_opt(a, "description")));
    if (json_object_size(x.obj))
        json_object_set(body, "metadata", x.obj);
    json_decref(x.obj);
    if (json_object_size(body) == 0) {
        json_decref(body);
        return fail_usage(a->cmd, "nothing to change: give --name, --description or --metadata");
    }
    return sol_task(c, a, NULL, body);
}
