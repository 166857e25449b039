#include "lcm/actions.h"
#include "catalog/template.h"
#include "catalog/vnfd.h"
#include "core/runas.h"
#include "util/mem.h"
#include "util/spawn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_MAX 2048

static char **action_env(enum stage st, const json_t *dep, const json_t *op)
{
    char **envp = xcalloc(8, sizeof(*envp));

    envp[0] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    envp[1] = xasprintf("VNFM_STAGE=%s", stage_name(st));
    envp[2] = xasprintf("VNFM_DEPLOYMENT=%s", id_name(doc_str(dep, "id")));
    envp[3] = xasprintf("VNFM_TENANT=%s", doc_str(dep, "tenant"));
    envp[4] = xasprintf("VNFM_SITE=%s", doc_str(dep, "site"));
    envp[5] = xasprintf("VNFM_OPERATION=%s", doc_str(op, "id"));
    envp[6] = xstrdup("LANG=C.UTF-8");
    return envp;
}

/* Deployment-level variables for the arguments of an action. */
static json_t *action_vars(const json_t *dep)
{
    json_t *vars = json_pack("{s:s, s:s, s:s, s:s}", "deployment", id_name(doc_str(dep, "id")),
                             "tenant", doc_str(dep, "tenant"), "site", doc_str(dep, "site"),
                             "license", jv_str(dep, "license", ""));
    const char *name;
    json_t *v;

    json_object_foreach(json_object_get(dep, "params"), name, v)
    {
        char key[128];

        snprintf(key, sizeof(key), "params.%s", name);
        json_object_set(vars, key, v);
    }
    return vars;
}

static json_t *render_actions(const json_t *list, const json_t *vars)
{
    json_t *out = json_array(), *a, *arg;
    size_t i, k;

    json_array_foreach(list, i, a)
    {
        json_t *args = json_array();

        json_array_foreach(json_object_get(a, "args"), k, arg)
        {
            char err[64], *s;

            if (tmpl_render(json_string_value(arg), vars, &s, err, sizeof(err)))
                s = xstrdup(json_string_value(arg));
            json_array_append_new(args, json_string(s));
            free(s);
        }
        json_array_append_new(out,
                              json_pack("{s:O, s:o, s:I}", "script", json_object_get(a, "script"),
                                        "args", args, "timeout_s", jv_int(a, "timeout_s", 60)));
    }
    return out;
}

static int run_one(struct actjob *j, const json_t *a)
{
    const json_t *args = json_object_get(a, "args");
    size_t n = json_array_size(args);
    char **argv = xcalloc(n + 2, sizeof(*argv)), st_buf[64];
    struct sbuf out = SBUF_INIT;
    const char *script = jv_str(a, "script", "");
    struct spawn_req rq;
    struct sandbox sb;
    int status = 0, r;

    argv[0] = (char *)script;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)json_string_value(json_array_get(args, i));
    rq = (struct spawn_req){.argv = argv,
                            .envp = j->envp,
                            .input = j->input,
                            .timeout_ms = (unsigned)jv_int(a, "timeout_s", 60) * 1000,
                            .out_max = OUTPUT_MAX,
                            .sandbox =
                                runas_script(j->c, script, j->admin_wrote, j->tenant_uid, &sb)};
    r = spawn_run(&rq, &out, &status);
    free(argv);
    if (r == -ETIMEDOUT)
        snprintf(j->err, sizeof(j->err), "action %s timed out after %llds: %s", script,
                 jv_int(a, "timeout_s", 60), sbuf_str(&out));
    else if (r)
        snprintf(j->err, sizeof(j->err), "action %s could not start: %s (%s)", script, strerror(-r),
                 sbuf_str(&out));
    else if (status != 0)
        snprintf(j->err, sizeof(j->err), "action %s %s: %s", script,
                 spawn_status_str(status, st_buf, sizeof(st_buf)), sbuf_str(&out));
    sbuf_done(&out);
    return r ? r : status ? -EIO : 0;
}

static void act_work(struct wjob *w)
{
    struct actjob *j = (struct actjob *)w;
    json_t *a;
    size_t i;

    j->rc = 0;
    json_array_foreach(j->actions, i, a)
    {
        j->rc = run_one(j, a);
        if (j->rc)
            break;
    }
}

static void act_done(struct wjob *w)
{
    struct actjob *j = (struct actjob *)w;

    j->on_done(j);
}

/* Who wrote the scripts (the VNFD's on-boarder), and the tenant's uid. */
static void who_runs(struct core *c, const json_t *dep, struct actjob *j)
{
    json_t *vnfd = core_load(c, STORE_VNFD, doc_str(dep, "vnfd"));
    json_t *tenant = core_load(c, STORE_TENANT, doc_str(dep, "tenant"));

    j->admin_wrote = runas_vnfd_admin(vnfd);
    j->tenant_uid = runas_uid(tenant);
    json_decref(vnfd);
    json_decref(tenant);
}

struct actjob *actjob_new(struct core *c, enum stage st, const json_t *dep, const json_t *op)
{
    const json_t *list = vnfd_actions(json_object_get(dep, "_descriptor"), st);
    struct actjob *j;
    json_t *vars, *event;

    if (json_array_size(list) == 0)
        return NULL;
    j = xcalloc(1, sizeof(*j));
    j->w.work = act_work;
    j->w.done = act_done;
    j->c = c;
    snprintf(j->op, sizeof(j->op), "%s", doc_str(op, "id"));
    vars = action_vars(dep);
    j->actions = render_actions(list, vars);
    json_decref(vars);
    j->envp = action_env(st, dep, op);
    who_runs(c, dep, j);
    event = json_pack("{s:s, s:o, s:o}", "stage", stage_name(st), "deployment", doc_shown(dep),
                      "operation", doc_shown(op));
    j->input = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    return j;
}

void actjob_free(struct actjob *j)
{
    if (!j)
        return;
    json_decref(j->actions);
    for (char **p = j->envp; p && *p; p++)
        free(*p);
    free(j->envp);
    free(j->input);
    free(j);
}
