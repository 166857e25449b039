/* vnfmctl commands about the manager and its users: health, version,
 * tenants and tokens. */
#include "cli/ctl.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A cloud VNFM of a cluster: which of its managers serves which branch
 * site (docs/HA.md "Several active cloud VNFMs"). */
static void print_sites(const json_t *sites)
{
    static const struct column cols[] = {
        {"SITE", "site"}, {"SERVED BY", "owner"}, {"HERE", "here"}, {NULL}};
    json_t *rows, *v;
    const char *key;

    if (!sites)
        return;
    rows = json_array();
    json_object_foreach(json_object_get(sites, "owners"), key, v)
    {
        json_array_append_new(
            rows, json_pack("{s:s, s:O, s:s}", "site", key, "owner", v, "here",
                            json_object_get(json_object_get(sites, "owns"), key) ? "yes" : ""));
    }
    putchar('\n');
    print_table(rows, cols);
    json_decref(rows);
}

/* A manager of a cluster on etcd: its part and who leads (docs/HA.md). */
static void print_ha(const json_t *ha)
{
    if (!ha)
        return;
    printf("HA: %s of a cluster of %lld member(s); primary %s; peer %s, store %s\n",
           jv_str(ha, "state", "?"), (long long)jv_int(ha, "members", 0),
           jv_str(ha, "primary", "not known yet"), jv_str(ha, "peer", "?"),
           jv_str(ha, "store", "?"));
}

/* Prints the health document's services and VIMs as tables. */
static void print_health(const json_t *doc)
{
    static const struct column services[] = {{"SERVICE", "name"}, {"STATE", "state"}, {NULL}};
    static const struct column vims[] = {
        {"SITE", "site"}, {"VIM", "health"}, {"MESSAGE", "message"}, {NULL}};
    json_t *rows = json_array(), *v;
    const char *key;

    printf("%lld  %s\n", (long long)json_integer_value(json_object_get(doc, "code")),
           json_string_value(json_object_get(doc, "message")));
    print_ha(json_object_get(doc, "ha"));
    json_object_foreach(json_object_get(doc, "services"), key, v)
    {
        json_array_append_new(rows, json_pack("{s:s, s:O}", "name", key, "state", v));
    }
    putchar('\n');
    print_table(rows, services);
    putchar('\n');
    print_table(json_object_get(doc, "vims"), vims);
    json_decref(rows);
    print_sites(json_object_get(json_object_get(doc, "ha"), "sites"));
}

int cmd_health(struct ctl *c, const struct args *a)
{
    json_t *doc = NULL;
    int st = ctl_http(c, "GET", "/v0/health", NULL, NULL, &doc), rc;
    json_int_t code;

    (void)a;
    if (st < 0)
        return -st;
    if (!json_is_integer(json_object_get(doc, "code"))) {
        rc = fail_server(st, doc);
        json_decref(doc);
        return rc;
    }
    code = json_integer_value(json_object_get(doc, "code"));
    if (c->json)
        print_json(doc);
    else
        print_health(doc);
    json_decref(doc);
    return code < 5000 ? EXIT_OK : EXIT_FAILED;
}

int cmd_component_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"NAME", "name"},         {"THREADS", "threads"},
                                         {"MIN", "min"},           {"MAX", "max"},
                                         {"BUSY", "busy"},         {"QUEUED", "queued"},
                                         {"JOBS", "jobs"},         {"RESIZES", "resizes"},
                                         {"SIZED BY", "sized_by"}, {NULL}};

    (void)a;
    return show_list(c, "/v0/vnfm/components", "components", cols);
}

int cmd_instance_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {
        {"URL", "url"},   {"PID", "pid"},           {"VI", "vi"},
        {"HOST", "host"}, {"JOINED", "joined"},     {"STOPPING", "stopping"},
        {"GONE", "gone"}, {"DECISION", "decision"}, {NULL}};

    (void)a;
    return show_list(c, "/v0/vnfm/instances", "instances", cols);
}

int cmd_version(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"version", "role", "site", "instance", "started", NULL};

    (void)a;
    return show_one(c, "/v0/version", keys);
}

static const char *const tenant_keys[] = {
    "id",      "name",    "description", "enabled", "external_tenant_id", "internal_tenant_id",
    "created", "updated", NULL};

int cmd_tenant_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"NAME", "name"},
                                         {"ENABLED", "enabled"},
                                         {"DESCRIPTION", "description"},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/tenants", "tenants", cols);
}

int cmd_tenant_show(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/tenants/%s", a->pos[0]);
    int rc = show_one(c, p, tenant_keys);

    free(p);
    return rc;
}

/* The members the tenant options set. */
static json_t *tenant_body(const struct args *a)
{
    json_t *b = json_object();

    if (arg_opt(a, "name"))
        json_object_set_new(b, "name", json_string(arg_opt(a, "name")));
    if (arg_opt(a, "description"))
        json_object_set_new(b, "description", json_string(arg_opt(a, "description")));
    if (arg_flag(a, "disabled") || arg_flag(a, "disable"))
        json_object_set_new(b, "enabled", json_false());
    if (arg_flag(a, "enable"))
        json_object_set_new(b, "enabled", json_true());
    return b;
}

int cmd_tenant_create(struct ctl *c, const struct args *a)
{
    json_t *body = tenant_body(a);

    json_object_set_new(body, "id", json_string(a->pos[0]));
    return show_change(c, "POST", "/v0/tenants", body, tenant_keys, NULL);
}

int cmd_tenant_update(struct ctl *c, const struct args *a)
{
    json_t *body = tenant_body(a);
    char *p;
    int rc;

    if (arg_flag(a, "enable") && arg_flag(a, "disable")) {
        json_decref(body);
        return fail_usage(a->cmd, "--enable and --disable exclude each other");
    }
    if (json_object_size(body) == 0) {
        json_decref(body);
        return fail_usage(a->cmd, "nothing to change: give --name, --description, --enable or "
                                  "--disable");
    }
    p = ctl_path("/v0/tenants/%s", a->pos[0]);
    rc = show_change(c, "PUT", p, body, tenant_keys, NULL);
    free(p);
    return rc;
}

int cmd_tenant_delete(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/tenants/%s", a->pos[0]),
         *done = xasprintf("tenant %s deleted", a->pos[0]);
    int rc = show_change(c, "DELETE", p, NULL, NULL, done);

    free(done);
    free(p);
    return rc;
}

/* --ttl: seconds, or a number with a unit (s, m, h, d). */
static int ttl_of(const struct args *a, long long *secs)
{
    static const struct {
        char unit;
        long long secs;
    } units[] = {{'\0', 1}, {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    const char *v = arg_opt(a, "ttl");
    long long n, unit = 0;
    char *end;

    *secs = 0;
    if (!v)
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (*end == units[i].unit && (!*end || !end[1]))
            unit = units[i].secs;
    if (end == v || errno || n <= 0 || !unit || n > LLONG_MAX / unit)
        return fail_usage(a->cmd,
                          "--ttl needs a positive number of seconds, or one with s, m, h or d "
                          "(90d), not '%s'",
                          v);
    *secs = n * unit;
    return 0;
}

int cmd_token_create(struct ctl *c, const struct args *a)
{
    char *p;
    json_t *body, *doc = NULL;
    long long ttl;
    int rc;

    if (ttl_of(a, &ttl))
        return EXIT_USAGE;
    body = json_object();
    if (arg_opt(a, "description"))
        json_object_set_new(body, "description", json_string(arg_opt(a, "description")));
    if (ttl)
        json_object_set_new(body, "ttl_s", json_integer(ttl));
    if (arg_opt(a, "expires"))
        json_object_set_new(body, "expires", json_string(arg_opt(a, "expires")));
    p = ctl_path("/v0/tenants/%s/tokens", a->pos[0]);
    rc = ctl_call(c, "POST", p, body, NULL, &doc);
    json_decref(body);
    free(p);
    if (rc)
        return rc;
    if (c->json)
        print_json(doc);
    else
        printf("Token %s created for tenant %s. Its secret, shown only this once:\n\n"
               "    %s\n\n"
               "Use it with --token, --token-file FILE or VNFM_TOKEN.\n",
               json_string_value(json_object_get(doc, "id")), a->pos[0],
               json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    return EXIT_OK;
}

int cmd_token_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"TENANT", "tenant"},
                                         {"ROLE", "role"},
                                         {"CREATED", "created"},
                                         {"EXPIRES", "expires"},
                                         {"DESCRIPTION", "description"},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/tokens", "tokens", cols);
}

int cmd_token_delete(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/tokens/%s", a->pos[0]),
         *done = xasprintf("token %s deleted", a->pos[0]);
    int rc = show_change(c, "DELETE", p, NULL, NULL, done);

    free(done);
    free(p);
    return rc;
}
