/* vnfmctl commands for the catalogue: health, version, tenants, tokens,
 * VNFDs, sites. */
#include "cli/ctl.h"
#include "util/fsutil.h"
#include "util/mem.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

/* GETs path and prints it: JSON, or the list under key as a table. */
static int show_list(struct ctl *c, const char *path, const char *key, const struct column *cols)
{
    json_t *doc = NULL;
    int st = http(c, "GET", path, NULL, NULL, &doc), rc = EXIT_OK;

    if (st < 0)
        return -st;
    if (st != 200)
        rc = fail_server(st, doc);
    else if (c->json)
        print_json(doc);
    else
        print_table(json_object_get(doc, key), cols);
    json_decref(doc);
    return rc;
}

static int show_one(struct ctl *c, const char *path, const char *const *keys)
{
    json_t *doc = NULL;
    int st = http(c, "GET", path, NULL, NULL, &doc), rc = EXIT_OK;

    if (st < 0)
        return -st;
    if (st != 200)
        rc = fail_server(st, doc);
    else if (c->json)
        print_json(doc);
    else
        print_fields(doc, keys);
    json_decref(doc);
    return rc;
}

/* Sends a change; prints the answer (fields in table mode, or msg). */
static int change(struct ctl *c, const char *method, const char *path, json_t *body,
                  const char *const *keys, const char *msg)
{
    json_t *doc = NULL;
    int st = http(c, method, path, body, NULL, &doc), rc = EXIT_OK;

    json_decref(body);
    if (st < 0)
        return -st;
    if (st >= 300)
        rc = fail_server(st, doc);
    else if (c->json && doc)
        print_json(doc);
    else if (keys && doc)
        print_fields(doc, keys);
    else if (msg)
        puts(msg);
    json_decref(doc);
    return rc;
}

static char *path_of(const char *fmt, const char *id)
{
    char *e = url_escape(id), *p = xasprintf(fmt, e);

    free(e);
    return p;
}

int cmd_health(struct ctl *c, const struct args *a)
{
    json_t *doc = NULL, *v;
    int st = http(c, "GET", "/v0/health", NULL, NULL, &doc), code;
    const char *key;
    size_t i;

    (void)a;
    if (st < 0)
        return -st;
    code = (int)json_integer_value(json_object_get(doc, "code"));
    if (c->json) {
        print_json(doc);
    } else if (doc) {
        printf("%d  %s\n", code, json_string_value(json_object_get(doc, "message")));
        json_object_foreach(json_object_get(doc, "services"), key, v)
        {
            printf("  service %-8s %s\n", key, json_string_value(v));
        }
        json_array_foreach(json_object_get(doc, "vims"), i, v)
        {
            printf("  site %-11s VIM %s%s%s\n", json_string_value(json_object_get(v, "site")),
                   json_string_value(json_object_get(v, "health")),
                   *json_string_value(json_object_get(v, "message")) ? ": " : "",
                   json_string_value(json_object_get(v, "message")));
        }
    }
    json_decref(doc);
    return code > 0 && code < 5000 ? EXIT_OK : EXIT_FAILED;
}

int cmd_version(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"version", "role",   "site", "instance",
                                       "started", "schema", NULL};

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
    char *p = path_of("/v0/tenants/%s", a->pos[0]);
    int rc = show_one(c, p, tenant_keys);

    free(p);
    return rc;
}

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
    char *p = path_of("/v0/tenants/%s", a->pos[0]);
    int rc = change(c, "POST", p, tenant_body(a), tenant_keys, NULL);

    free(p);
    return rc;
}

int cmd_tenant_update(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/tenants/%s", a->pos[0]);
    int rc = change(c, "PUT", p, tenant_body(a), tenant_keys, NULL);

    free(p);
    return rc;
}

int cmd_tenant_delete(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/tenants/%s", a->pos[0]);
    int rc = change(c, "DELETE", p, NULL, NULL, "deleted");

    free(p);
    return rc;
}

int cmd_token_create(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/tenants/%s/tokens", a->pos[0]);
    json_t *body = json_object(), *doc = NULL;
    int st, rc = EXIT_OK;

    if (arg_opt(a, "description"))
        json_object_set_new(body, "description", json_string(arg_opt(a, "description")));
    st = http(c, "POST", p, body, NULL, &doc);
    json_decref(body);
    free(p);
    if (st < 0)
        return -st;
    if (st != 201)
        rc = fail_server(st, doc);
    else if (c->json)
        print_json(doc);
    else
        printf("token %s for tenant %s (shown only this once):\n%s\n",
               json_string_value(json_object_get(doc, "id")), a->pos[0],
               json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    return rc;
}

int cmd_token_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},           {"TENANT", "tenant"},
                                         {"ROLE", "role"},       {"DESCRIPTION", "description"},
                                         {"CREATED", "created"}, {NULL}};

    (void)a;
    return show_list(c, "/v0/tokens", "tokens", cols);
}

int cmd_token_delete(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/tokens/%s", a->pos[0]);
    int rc = change(c, "DELETE", p, NULL, NULL, "deleted");

    free(p);
    return rc;
}

/* Replaces day-0 "template_file" entries by the file's text (paths are
 * relative to the VNFD file). */
static int inline_templates(json_t *vnfd, const char *file)
{
    char *copy = xstrdup(file), *dir = dirname(copy);
    json_t *vdu, *d;
    size_t i, k;
    int rc = 0;

    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        json_array_foreach(json_object_get(vdu, "day0"), k, d)
        {
            const char *tf = json_string_value(json_object_get(d, "template_file"));
            char *path, *text = NULL;
            int r;

            if (!tf)
                continue;
            path = tf[0] == '/' ? xstrdup(tf) : xasprintf("%s/%s", dir, tf);
            r = read_file(path, 1 << 20, &text, NULL);
            if (r) {
                fprintf(stderr, "vnfmctl: %s: vdus[%zu].day0[%zu].template_file %s: %s\n", file, i,
                        k, path, strerror(-r));
                rc = EXIT_USAGE;
            } else {
                json_object_set_new(d, "template", json_string(text));
                json_object_del(d, "template_file");
            }
            free(text);
            free(path);
        }
    }
    free(copy);
    return rc;
}

static const char *const vnfd_keys[] = {"id",     "name", "version", "vendor", "description",
                                        "tenant", "vdus", "created", NULL};

int cmd_vnfd_onboard(struct ctl *c, const struct args *a)
{
    const char *tenant = arg_opt(a, "tenant");
    json_error_t jerr;
    json_t *doc = json_load_file(a->pos[0], JSON_REJECT_DUPLICATES, &jerr);
    char *p, *e;
    int rc;

    if (!doc) {
        fprintf(stderr, "vnfmctl: %s:%d:%d: %s\n", a->pos[0], jerr.line, jerr.column, jerr.text);
        return EXIT_USAGE;
    }
    rc = inline_templates(doc, a->pos[0]);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    e = tenant ? url_escape(tenant) : NULL;
    p = tenant ? xasprintf("/v0/vnfds?tenant=%s", e) : xstrdup("/v0/vnfds");
    rc = change(c, "POST", p, doc, vnfd_keys, NULL);
    free(e);
    free(p);
    return rc;
}

int cmd_vnfd_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"NAME", "name"},
                                         {"VERSION", "version"},
                                         {"TENANT", "tenant"},
                                         {"VDUS", "vdus"},
                                         {"CREATED", "created"},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/vnfds", "vnfds", cols);
}

int cmd_vnfd_show(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/vnfds/%s", a->pos[0]);
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
        print_fields(doc, vnfd_keys);
        puts("descriptor:");
        print_json(json_object_get(doc, "descriptor"));
    }
    json_decref(doc);
    return rc;
}

int cmd_vnfd_delete(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/vnfds/%s", a->pos[0]);
    int rc = change(c, "DELETE", p, NULL, NULL, "deleted");

    free(p);
    return rc;
}

static char *free_of(const json_t *row, const char *what)
{
    char *f = cell(json_object_get(row, "free"), what);
    char *cap = cell(json_object_get(row, "capacity"), what);
    char *s = xasprintf("%s/%s", f, cap);

    free(f);
    free(cap);
    return s;
}

static char *col_vcpu(const json_t *row)
{
    return free_of(row, "vcpu");
}

static char *col_mem(const json_t *row)
{
    return free_of(row, "memory_mb");
}

static const struct column site_cols[] = {{"ID", "id"},
                                          {"DRIVER", "driver"},
                                          {"SUBNET", "subnet"},
                                          {"VCPU(free/cap)", NULL, col_vcpu},
                                          {"MEMORY_MB(free/cap)", NULL, col_mem},
                                          {"VIS", "allocated.vis"},
                                          {"VIM", "vim.health"},
                                          {NULL}};

int cmd_site_list(struct ctl *c, const struct args *a)
{
    (void)a;
    return show_list(c, "/v0/sites", "sites", site_cols);
}

static const char *const site_keys[] = {"id",         "driver",      "subnet",    "gateway",
                                        "bridge",     "capacity",    "allocated", "free",
                                        "vim.health", "vim.message", NULL};

int cmd_site_show(struct ctl *c, const struct args *a)
{
    char *p = path_of("/v0/sites/%s", a->pos[0]);
    int rc = show_one(c, p, site_keys);

    free(p);
    return rc;
}

int cmd_site_set(struct ctl *c, const struct args *a)
{
    static const char *const nums[] = {"vcpu", "memory-mb", "disk-mb"};
    static const char *const keys[] = {"vcpu", "memory_mb", "disk_mb"};
    json_t *cap = json_object();
    char *p;
    int rc;

    for (size_t i = 0; i < 3; i++) {
        const char *v = arg_opt(a, nums[i]);
        char *end;
        double d;

        if (!v)
            continue;
        d = strtod(v, &end);
        if (*end || end == v) {
            json_decref(cap);
            return fail_usage("--%s needs a number, not '%s'", nums[i], v);
        }
        json_object_set_new(cap, keys[i], i == 0 ? json_real(d) : json_integer((json_int_t)d));
    }
    if (json_object_size(cap) == 0) {
        json_decref(cap);
        return fail_usage("site set needs --vcpu, --memory-mb or --disk-mb");
    }
    p = path_of("/v0/sites/%s", a->pos[0]);
    rc = change(c, "PUT", p, json_pack("{s:o}", "capacity", cap), site_keys, NULL);
    free(p);
    return rc;
}
