/* vnfmctl commands for the catalogue and the sites: vnfd onboard, list,
 * show, delete; site list, show, set. */
#include "cli/ctl.h"
#include "util/fsutil.h"
#include "util/mem.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MAX (1 << 20) /* a request body is at most 1 MiB (docs/API.md) */

/* Replaces the "template_file" of one day-0 entry d by the file's text as
 * "template". where names the entry for messages. Returns 0 or EXIT_USAGE. */
static int inline_one(json_t *d, const char *dir, const char *where)
{
    json_t *tf = json_object_get(d, "template_file");
    char *path, *text = NULL;
    int r;

    if (!tf)
        return 0;
    if (!json_is_string(tf) || json_object_get(d, "template")) {
        fprintf(stderr, "vnfmctl: %s.template_file: %s\n", where,
                json_is_string(tf) ? "give either template or template_file, not both"
                                   : "must be a string (a path)");
        return EXIT_USAGE;
    }
    path = json_string_value(tf)[0] == '/' ? xstrdup(json_string_value(tf))
                                           : xasprintf("%s/%s", dir, json_string_value(tf));
    r = read_file(path, TEMPLATE_MAX, &text, NULL);
    if (r)
        fprintf(stderr, "vnfmctl: %s.template_file: cannot read %s: %s\n", where, path,
                strerror(-r));
    else
        json_object_set_new(d, "template", json_string(text));
    if (!r)
        json_object_del(d, "template_file");
    free(text);
    free(path);
    return r ? EXIT_USAGE : 0;
}

/* Inlines every day-0 "template_file" of the VNFD read from file (paths
 * are relative to file's directory). Returns 0 or EXIT_USAGE. */
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
            char where[64];

            snprintf(where, sizeof(where), "vdus[%zu].day0[%zu]", i, k);
            if (!rc)
                rc = inline_one(d, dir, where);
        }
    }
    free(copy);
    return rc;
}

static const char *const vnfd_keys[] = {"id",     "name", "version", "vendor", "description",
                                        "tenant", "vdus", "created", NULL};

/* The VNFD in file, ready to send; NULL after printing why. */
static json_t *load_vnfd(const char *file)
{
    json_error_t jerr;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);

    if (!doc && jerr.line < 0)
        fprintf(stderr, "vnfmctl: %s\n", jerr.text);
    else if (!doc)
        fprintf(stderr, "vnfmctl: %s:%d:%d: %s\n", file, jerr.line, jerr.column, jerr.text);
    else if (!json_is_object(doc))
        fprintf(stderr, "vnfmctl: %s: a VNFD is a JSON object\n", file);
    else if (inline_templates(doc, file) == 0)
        return doc;
    json_decref(doc);
    return NULL;
}

int cmd_vnfd_onboard(struct ctl *c, const struct args *a)
{
    static const char *const q[] = {"tenant", NULL};
    json_t *doc = load_vnfd(a->pos[0]);
    char *p;
    int rc;

    if (!doc)
        return EXIT_USAGE;
    p = arg_query("/v0/vnfds", a, q);
    rc = show_change(c, "POST", p, doc, vnfd_keys, NULL);
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
    char *p = ctl_path("/v0/vnfds/%s", a->pos[0]);
    json_t *doc = NULL;
    int rc = ctl_call(c, "GET", p, NULL, NULL, &doc);

    free(p);
    if (rc)
        return rc;
    if (c->json) {
        print_json(doc);
    } else {
        print_fields(doc, vnfd_keys);
        puts("descriptor:");
        print_json(json_object_get(doc, "descriptor"));
    }
    json_decref(doc);
    return EXIT_OK;
}

int cmd_vnfd_delete(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/vnfds/%s", a->pos[0]), *done = xasprintf("vnfd %s deleted", a->pos[0]);
    int rc = show_change(c, "DELETE", p, NULL, NULL, done);

    free(done);
    free(p);
    return rc;
}

/* "free/capacity" of one resource. */
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

static char *col_disk(const json_t *row)
{
    return free_of(row, "disk_mb");
}

int cmd_site_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"DRIVER", "driver"},
                                         {"SUBNET", "subnet"},
                                         {"VCPU FREE/CAP", NULL, col_vcpu},
                                         {"MEMORY_MB FREE/CAP", NULL, col_mem},
                                         {"DISK_MB FREE/CAP", NULL, col_disk},
                                         {"VIS", "allocated.vis"},
                                         {"VIM", "vim.health"},
                                         {"MANAGERS", "managers"},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/sites", "sites", cols);
}

static const char *const site_keys[] = {
    "id",       "driver",      "subnet",      "gateway",    "bridge",
    "capacity", "allocated",   "reserved",    "free",       "options",
    "warm_vis", "manager_vis", "agent.state", "agent.host", "agent.instance",
    "created",  "vim.health",  "vim.message", NULL};

int cmd_site_show(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/sites/%s", a->pos[0]);
    int rc = show_one(c, p, site_keys);

    free(p);
    return rc;
}

/* The capacity members the options set, or NULL after a usage error. */
static json_t *capacity_of(const struct args *a)
{
    const char *vcpu = arg_opt(a, "vcpu");
    json_t *cap = json_object();
    long long mem = -1, disk = -1;
    char *end;
    double d;

    if (vcpu) {
        d = strtod(vcpu, &end);
        if (end == vcpu || *end || !isfinite(d) || d < 0) {
            json_decref(cap);
            fail_usage(a->cmd, "--vcpu needs a number, not '%s'", vcpu);
            return NULL;
        }
        json_object_set_new(cap, "vcpu", json_real(d));
    }
    if (arg_int(a, "memory-mb", 0, 1LL << 40, &mem) || arg_int(a, "disk-mb", 0, 1LL << 50, &disk)) {
        json_decref(cap);
        return NULL;
    }
    if (mem >= 0)
        json_object_set_new(cap, "memory_mb", json_integer(mem));
    if (disk >= 0)
        json_object_set_new(cap, "disk_mb", json_integer(disk));
    return cap;
}

int cmd_site_set(struct ctl *c, const struct args *a)
{
    json_t *cap = capacity_of(a), *body;
    long long warm = -1;
    char *p;
    int rc;

    if (!cap || arg_int(a, "warm-vis", 0, 64, &warm)) {
        json_decref(cap);
        return EXIT_USAGE;
    }
    if (json_object_size(cap) == 0 && warm < 0) {
        json_decref(cap);
        return fail_usage(a->cmd,
                          "nothing to set: give --vcpu, --memory-mb, --disk-mb or --warm-vis");
    }
    body = json_object();
    if (json_object_size(cap))
        json_object_set(body, "capacity", cap);
    if (warm >= 0)
        json_object_set_new(body, "options", json_pack("{s:I}", "warm_vis", (json_int_t)warm));
    json_decref(cap);
    p = ctl_path("/v0/sites/%s", a->pos[0]);
    rc = show_change(c, "PUT", p, body, site_keys, NULL);
    free(p);
    return rc;
}
