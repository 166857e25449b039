#include "catalog/vnfd.h"
#include "catalog/template.h"
#include "catalog/vnfd_policy.h"
#include "util/ids.h"
#include "util/mem.h"
#include "vim/vim.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STR(n, fl, lo, hi)                                              \
    {                                                                   \
        .name = n, .type = JV_STRING, .flags = fl, .min = lo, .max = hi \
    }
#define INT(n, fl, lo, hi)                                           \
    {                                                                \
        .name = n, .type = JV_INT, .flags = fl, .min = lo, .max = hi \
    }
#define END          \
    {                \
        .name = NULL \
    }

static const char *const param_types[] = {"string", "integer", "number", "boolean", "list", NULL};

static const struct jv_field any_string = {.type = JV_STRING, .max = 65536};
static const struct jv_field name_item = {.type = JV_STRING, .flags = JV_NAME};

static const struct jv_field param_fields[] = {
    {.name = "type", .type = JV_STRING, .flags = JV_REQUIRED, .choices = param_types},
    {.name = "default", .type = JV_ANY},
    {.name = "required", .type = JV_BOOL},
    STR("description", 0, 0, 1024),
    END,
};
static const struct jv_field param_item = {.type = JV_OBJECT, .fields = param_fields};

static const struct jv_field day0_fields[] = {
    STR("path", JV_REQUIRED, 1, 255),
    STR("template", JV_REQUIRED, 0, 262144),
    END,
};
static const struct jv_field day0_item = {.type = JV_OBJECT, .fields = day0_fields};

static const struct jv_field http_fields[] = {
    INT("port", JV_REQUIRED, 1, 65535),
    STR("path", 0, 1, 1024),
    END,
};

static const struct jv_field ready_fields[] = {
    INT("tcp", 0, 1, 65535),
    {.name = "http", .type = JV_OBJECT, .fields = http_fields},
    INT("timeout_s", 0, 1, 600),
    END,
};

static const struct jv_field scaling_fields[] = {
    INT("min", 0, 0, 64),
    INT("max", 0, 1, 64),
    INT("initial", 0, 0, 64),
    INT("step", 0, 1, 64),
    {.name = "vcpu_min", .type = JV_NUMBER, .min = 0.01, .max = 64},
    {.name = "vcpu_max", .type = JV_NUMBER, .min = 0.01, .max = 64},
    INT("memory_mb_min", 0, 4, 1048576),
    INT("memory_mb_max", 0, 4, 1048576),
    END,
};

/* The members of a VDU every VIM driver understands; the drivers add their
 * own (vim.h vdu_fields: proc's command and env). */
static const struct jv_field common_vdu_fields[] = {
    STR("id", JV_REQUIRED | JV_NAME, 0, 0),
    {.name = "vcpu", .type = JV_NUMBER, .min = 0.01, .max = 64},
    INT("memory_mb", 0, 4, 1048576),
    INT("disk_mb", 0, 0, 16777216),
    {.name = "scaling", .type = JV_OBJECT, .fields = scaling_fields},
    {.name = "day0", .type = JV_ARRAY, .max = 64, .item = &day0_item},
    {.name = "ready", .type = JV_OBJECT, .fields = ready_fields},
    INT("stop_grace_s", 0, 0, 300),
    STR("aspect", JV_NAME, 0, 0),
    END,
};
/* Every VDU member: the common ones and those of every driver (none of the
 * drivers' required here: which driver runs a VDU is known at deploy). */
static struct jv_field *vdu_fields;
static struct jv_field vdu_item = {.type = JV_OBJECT};
static pthread_once_t vdu_once = PTHREAD_ONCE_INIT;

static bool has_field(const struct jv_field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return true;
    return false;
}

static void vdu_fields_build(void)
{
    size_t n = ARRAY_SIZE(common_vdu_fields) - 1, cap = n + 1;

    for (const char *const *d = vim_driver_names(); *d; d++)
        for (const struct jv_field *f = vim_driver_find(*d)->vdu_fields; f && f->name; f++)
            cap++;
    vdu_fields = xcalloc(cap, sizeof(*vdu_fields));
    memcpy(vdu_fields, common_vdu_fields, n * sizeof(*vdu_fields));
    for (const char *const *d = vim_driver_names(); *d; d++) {
        for (const struct jv_field *f = vim_driver_find(*d)->vdu_fields; f && f->name; f++) {
            if (has_field(vdu_fields, n, f->name))
                continue;
            vdu_fields[n] = *f;
            vdu_fields[n++].flags &= ~JV_REQUIRED;
        }
    }
    vdu_item.fields = vdu_fields;
}

static const struct jv_field action_fields[] = {
    STR("script", JV_REQUIRED, 1, 4096),
    {.name = "args", .type = JV_ARRAY, .max = 64, .item = &any_string},
    INT("timeout_s", 0, 1, 3600),
    END,
};
static const struct jv_field action_item = {.type = JV_OBJECT, .fields = action_fields};

#define ACTIONS(n)                                                   \
    {                                                                \
        .name = n, .type = JV_ARRAY, .max = 32, .item = &action_item \
    }
/* clang-format off: one stage a line */
static const struct jv_field lifecycle_fields[] = {
    ACTIONS("pre_deployment"), ACTIONS("deployment"), ACTIONS("post_deployment"),
    ACTIONS("undeployment"),   ACTIONS("heal"),       ACTIONS("scale"),
    ACTIONS("update"),         ACTIONS("operate"),    END,
};
/* clang-format on */

static const struct jv_field retry_fields[] = {
    INT("attempts", 0, 1, 20),
    INT("backoff_ms", 0, 10, 60000),
    END,
};

/* Restart of a VI whose process ended (docs/VNFD.md "restart"). */
static const char *const restart_policies[] = {"always", "never", NULL};
static const struct jv_field restart_fields[] = {
    {.name = "policy", .type = JV_STRING, .choices = restart_policies},
    INT("burst", 0, 0, RESTART_BURST_MAX),
    INT("window_s", 0, 1, 86400),
    INT("delay_ms", 0, 0, 3600000),
    INT("max_delay_s", 0, 1, 86400),
    END,
};

static const struct jv_field credentials_fields[] = {
    STR("username", 0, 1, 64),
    END,
};

/* Deployment flavours (SOL001 deployment flavours, SOL003 flavourId): per
 * VDU scaling bounds and named instantiation levels (docs/VNFD.md). */
static const struct jv_field scaling_item = {.type = JV_OBJECT, .fields = scaling_fields};
static const struct jv_field count_item = {.type = JV_INT, .min = 0, .max = 64};
static const struct jv_field level_item = {.type = JV_MAP, .max = 16, .item = &count_item};
static const struct jv_field flavour_fields[] = {
    STR("id", JV_REQUIRED | JV_NAME, 0, 0),
    STR("description", 0, 0, 1024),
    {.name = "scaling", .type = JV_MAP, .max = 16, .item = &scaling_item},
    {.name = "instantiation_levels", .type = JV_MAP, .min = 1, .max = 16, .item = &level_item},
    STR("default_level", JV_NAME, 0, 0),
    END,
};
static const struct jv_field flavour_item = {.type = JV_OBJECT, .fields = flavour_fields};

/* Where its deployments may run in a hybrid estate (docs/VNFD.md
 * "placement"; the branch pool, fed/pool.c). */
static const char *const placements[] = {"cloud-allowed", "prefer-branch", "branch-only", NULL};

static const struct jv_field vnfd_fields[] = {
    STR("id", JV_REQUIRED | JV_NAME, 0, 0),
    STR("name", 0, 0, 256),
    STR("version", 0, 1, 64),
    STR("vendor", 0, 0, 256),
    STR("description", 0, 0, 4096),
    {.name = "tags", .type = JV_ARRAY, .max = 16, .item = &name_item},
    {.name = "credentials", .type = JV_OBJECT, .fields = credentials_fields},
    {.name = "params", .type = JV_MAP, .max = 64, .item = &param_item},
    {.name = "vdus",
     .type = JV_ARRAY,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 16,
     .item = &vdu_item},
    {.name = "lifecycle", .type = JV_OBJECT, .fields = lifecycle_fields},
    {.name = "retry", .type = JV_OBJECT, .fields = retry_fields},
    {.name = "restart", .type = JV_OBJECT, .fields = restart_fields},
    /* typed here too, so that an XML VNFD's rules and metrics are typed */
    {.name = "monitoring", .type = JV_OBJECT, .fields = monitoring_fields},
    {.name = "rules", .type = JV_ARRAY, .max = 64, .item = &rule_item},
    {.name = "flavours", .type = JV_ARRAY, .max = 16, .item = &flavour_item},
    {.name = "placement", .type = JV_STRING, .choices = placements},
    END,
};

static const struct jv_field vnfd_schema = {.type = JV_OBJECT, .fields = vnfd_fields};

const char *const vnfd_template_vars[] = {
    "deployment",
    "tenant",
    "site",
    "vdu",
    "vi.id",
    "vi.name",
    "vi.index",
    "ip",
    "prefix_len",
    "netmask",
    "cidr",
    "gateway",
    "day0_dir",
    "credentials.username",
    "credentials.password",
    "license",
    NULL,
};

/* Whether value has the declared parameter type. */
static bool param_type_ok(const char *type, const json_t *v)
{
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    if (!json_is_array(v))
        return false;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return false;
    return true;
}

struct known_ctx {
    const json_t *params;
};

static bool known_var(const char *name, bool is_list, void *arg)
{
    const struct known_ctx *k = arg;

    if (strncmp(name, "params.", 7) == 0) {
        const json_t *p = json_object_get(k->params, name + 7);

        return p &&
               (!is_list || strcmp(json_string_value(json_object_get(p, "type")), "list") == 0);
    }
    if (is_list)
        return false;
    for (const char *const *v = vnfd_template_vars; *v; v++)
        if (strcmp(*v, name) == 0)
            return true;
    return false;
}

static int check_tmpl(const char *tmpl, const json_t *params, const char *field,
                      struct jv_error *err)
{
    struct known_ctx k = {params};
    char msg[256];

    if (tmpl_check(tmpl, known_var, &k, msg, sizeof(msg))) {
        jv_fail(err, "invalid-value", field, "%s", msg);
        return -EINVAL;
    }
    return 0;
}

/* Checks every string in value (an array, an object, or one string) as a
 * template. */
static int check_tmpl_list(const json_t *value, const json_t *params, const char *field,
                           struct jv_error *err)
{
    char sub[256];
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_string(value))
        return check_tmpl(json_string_value(value), params, field, err);
    json_array_foreach(value, i, v)
    {
        snprintf(sub, sizeof(sub), "%s[%zu]", field, i);
        if (check_tmpl_list(v, params, sub, err))
            return -EINVAL;
    }
    json_object_foreach((json_t *)(json_is_object(value) ? value : NULL), key, v)
    {
        snprintf(sub, sizeof(sub), "%s.%s", field, key);
        if (check_tmpl_list(v, params, sub, err))
            return -EINVAL;
    }
    return 0;
}

static int check_params(const json_t *params, struct jv_error *err)
{
    const char *name;
    json_t *p;
    char field[160];

    json_object_foreach((json_t *)params, name, p)
    {
        const json_t *def = json_object_get(p, "default");
        const char *type = json_string_value(json_object_get(p, "type"));

        snprintf(field, sizeof(field), "params.%s.default", name);
        if (def && !param_type_ok(type, def)) {
            jv_fail(err, "invalid-type", field, "default is not of type %s", type);
            return -EINVAL;
        }
    }
    return 0;
}

/* Vertical bounds (F30) hold the VDU's own size. */
static int check_vertical(const json_t *vdu, const char *sub, struct jv_error *err)
{
    double vcpu = vnfd_vdu_vcpu_milli(vdu) / 1000.0;
    long long mem = vnfd_vdu_memory_mb(vdu);
    struct vnfd_vertical b;

    vnfd_vdu_vertical(vdu, &b);
    if (b.vcpu_min > vcpu + 1e-9 || b.vcpu_max < vcpu - 1e-9) {
        jv_fail(err, "invalid-value", sub, "vcpu_min (%g) .. vcpu_max (%g) must hold vcpu (%g)",
                b.vcpu_min, b.vcpu_max, vcpu);
        return -EINVAL;
    }
    if (b.memory_mb_min > mem || b.memory_mb_max < mem) {
        jv_fail(err, "invalid-value", sub,
                "memory_mb_min (%lld) .. memory_mb_max (%lld) must hold memory_mb (%lld)",
                b.memory_mb_min, b.memory_mb_max, mem);
        return -EINVAL;
    }
    return 0;
}

static int check_scaling_bounds(const json_t *vdu, const char *sub, struct jv_error *err);

static int check_scaling(const json_t *vdu, const char *field, struct jv_error *err)
{
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.scaling", field);
    return check_scaling_bounds(vdu, sub, err);
}

/* min <= initial <= max of a VDU's scaling; errors name field sub. */
static int check_scaling_bounds(const json_t *vdu, const char *sub, struct jv_error *err)
{
    struct vnfd_scaling s;

    vnfd_vdu_scaling(vdu, &s);
    if (s.min > s.max) {
        jv_fail(err, "invalid-value", sub, "min (%u) must not exceed max (%u)", s.min, s.max);
        return -EINVAL;
    }
    if (s.initial < s.min || s.initial > s.max) {
        jv_fail(err, "invalid-value", sub, "initial (%u) must be between min (%u) and max (%u)",
                s.initial, s.min, s.max);
        return -EINVAL;
    }
    return check_vertical(vdu, sub, err);
}

/* Names the driver writes in a VI's directory itself. */
static const char *const day0_reserved[] = {"day0.json", "console.log", NULL};

/* A day-0 path is a plain relative path: components of 1 to 255 bytes,
 * none empty, "." or "..", no control characters, and not one of the
 * driver's own files. Returns NULL or why not. */
static const char *day0_path_error(const char *path)
{
    const char *p = path, *slash;

    if (path[0] == '/')
        return "must be relative to the VI's directory";
    for (;; p = slash + 1) {
        size_t n;

        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0)
            return "must not have an empty component ('//' or a trailing '/')";
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return "must not have a '.' or '..' component";
        if (n > 255)
            return "must not have a component longer than 255 bytes";
        if (!slash)
            break;
    }
    for (p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "must not hold control characters";
    for (const char *const *r = day0_reserved; *r; r++)
        if (strcmp(path, *r) == 0)
            return "is a file the manager writes itself";
    return NULL;
}

/* Whether path a is a directory on the way to b ("x" of "x/y"). */
static bool is_parent(const char *a, const char *b)
{
    size_t n = strlen(a);

    return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int check_day0(const json_t *day0, const json_t *params, const char *field,
                      struct jv_error *err)
{
    char sub[192];
    size_t i, j;
    json_t *f;

    json_array_foreach(day0, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "path")), *why;

        snprintf(sub, sizeof(sub), "%s.day0[%zu].path", field, i);
        why = day0_path_error(path);
        if (why) {
            jv_fail(err, "invalid-value", sub, "'%.64s' %s", path, why);
            return -EINVAL;
        }
        for (j = 0; j < i; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(day0, j), "path"));

            if (strcmp(path, other) == 0 || is_parent(path, other) || is_parent(other, path)) {
                jv_fail(err, "invalid-value", sub, "'%.64s' collides with day0[%zu].path '%.64s'",
                        path, j, other);
                return -EINVAL;
            }
        }
        snprintf(sub, sizeof(sub), "%s.day0[%zu].template", field, i);
        if (check_tmpl(json_string_value(json_object_get(f, "template")), params, sub, err))
            return -EINVAL;
    }
    return 0;
}

static int check_ready(const json_t *ready, const char *field, struct jv_error *err)
{
    char sub[192];

    if (!ready)
        return 0;
    snprintf(sub, sizeof(sub), "%s.ready", field);
    if (!json_object_get(ready, "tcp") == !json_object_get(ready, "http")) {
        jv_fail(err, "invalid-value", sub, "give exactly one of 'tcp' and 'http'");
        return -EINVAL;
    }
    return 0;
}

static int check_vdu(const json_t *vdus, size_t i, const json_t *params, struct jv_error *err)
{
    const json_t *vdu = json_array_get(vdus, i);
    const char *id = json_string_value(json_object_get(vdu, "id"));
    char field[64], sub[128];

    snprintf(field, sizeof(field), "vdus[%zu]", i);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(id, json_string_value(json_object_get(json_array_get(vdus, j), "id"))) == 0) {
            snprintf(sub, sizeof(sub), "%s.id", field);
            jv_fail(err, "invalid-value", sub, "duplicate VDU id '%s'", id);
            return -EINVAL;
        }
    }
    for (size_t j = 0; j < i; j++) {
        const json_t *other = json_array_get(vdus, j);

        if (strcmp(vnfd_vdu_aspect(vdu), vnfd_vdu_aspect(other)) == 0) {
            snprintf(sub, sizeof(sub), "%s.aspect", field);
            jv_fail(err, "invalid-value", sub, "aspect '%s' scales vdus[%zu] already",
                    vnfd_vdu_aspect(vdu), j);
            return -EINVAL;
        }
    }
    /* every string of a driver's member is a template (vi_job.c renders it) */
    for (const struct jv_field *f = vdu_fields; f->name; f++) {
        if (has_field(common_vdu_fields, ARRAY_SIZE(common_vdu_fields) - 1, f->name))
            continue;
        snprintf(sub, sizeof(sub), "%s.%s", field, f->name);
        if (check_tmpl_list(json_object_get(vdu, f->name), params, sub, err))
            return -EINVAL;
    }
    if (check_scaling(vdu, field, err) || check_ready(json_object_get(vdu, "ready"), field, err))
        return -EINVAL;
    return check_day0(json_object_get(vdu, "day0"), params, field, err);
}

static int check_actions(const json_t *lifecycle, const json_t *params, struct jv_error *err)
{
    const char *stage;
    json_t *list, *a;
    char sub[192];
    size_t i;

    json_object_foreach((json_t *)lifecycle, stage, list)
    {
        json_array_foreach(list, i, a)
        {
            const char *script = json_string_value(json_object_get(a, "script"));

            snprintf(sub, sizeof(sub), "lifecycle.%s[%zu].script", stage, i);
            if (jv_check_script(script, sub, err))
                return -EINVAL;
            snprintf(sub, sizeof(sub), "lifecycle.%s[%zu].args", stage, i);
            if (check_tmpl_list(json_object_get(a, "args"), params, sub, err))
                return -EINVAL;
        }
    }
    return 0;
}

static int check_flavours(const json_t *doc, struct jv_error *err);

static int check_restart(const json_t *restart, struct jv_error *err)
{
    if (json_is_integer(json_object_get(restart, "delay_ms")) &&
        json_is_integer(json_object_get(restart, "max_delay_s")) &&
        jv_int(restart, "delay_ms", 0) > jv_int(restart, "max_delay_s", 0) * 1000) {
        jv_fail(err, "invalid-value", "restart.delay_ms", "must not exceed max_delay_s");
        return -EINVAL;
    }
    return 0;
}

int vnfd_validate(const json_t *doc, struct jv_error *err)
{
    const json_t *params, *vdus;

    pthread_once(&vdu_once, vdu_fields_build);
    if (jv_check(doc, &vnfd_schema, err))
        return -EINVAL;
    params = json_object_get(doc, "params");
    vdus = json_object_get(doc, "vdus");
    if (check_params(params, err))
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(vdus); i++)
        if (check_vdu(vdus, i, params, err))
            return -EINVAL;
    if (check_flavours(doc, err) || check_actions(json_object_get(doc, "lifecycle"), params, err) ||
        check_restart(json_object_get(doc, "restart"), err))
        return -EINVAL;
    return vnfd_check_policy(doc, json_object_get(doc, "monitoring"), json_object_get(doc, "rules"),
                             err);
}

int vnfd_check_policy(const json_t *vnfd, const json_t *monitoring, const json_t *rules,
                      struct jv_error *err)
{
    if ((monitoring && jv_check_at(monitoring, &monitoring_schema, "monitoring", err)) ||
        (rules && jv_check_at(rules, &rules_schema, "rules", err)))
        return -EINVAL;
    return policy_validate(monitoring, rules, vnfd, err);
}

int vnfd_resolve_params(const json_t *vnfd, const json_t *given, json_t **out, struct jv_error *err)
{
    const json_t *decl = json_object_get(vnfd, "params");
    json_t *res = json_object(), *v, *p;
    const char *name;
    char field[160];

    json_object_foreach((json_t *)given, name, v)
    {
        p = json_object_get(decl, name);
        snprintf(field, sizeof(field), "params.%s", name);
        if (!p) {
            jv_fail(err, "unknown-field", field, "the VNFD declares no parameter '%s'", name);
            goto fail;
        }
        if (!param_type_ok(json_string_value(json_object_get(p, "type")), v)) {
            jv_fail(err, "invalid-type", field, "expected a value of type %s",
                    json_string_value(json_object_get(p, "type")));
            goto fail;
        }
        json_object_set(res, name, v);
    }
    json_object_foreach((json_t *)decl, name, p)
    {
        if (json_object_get(res, name))
            continue;
        if (json_object_get(p, "default")) {
            json_object_set(res, name, json_object_get(p, "default"));
        } else if (json_is_true(json_object_get(p, "required"))) {
            snprintf(field, sizeof(field), "params.%s", name);
            jv_fail(err, "missing-field", field, "required parameter is missing");
            goto fail;
        }
    }
    *out = res;
    return 0;
fail:
    json_decref(res);
    return -EINVAL;
}

const json_t *vnfd_vdu(const json_t *vnfd, const char *id)
{
    const json_t *vdus = json_object_get(vnfd, "vdus");

    for (size_t i = 0; i < json_array_size(vdus); i++) {
        const json_t *v = json_array_get(vdus, i);

        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
            return v;
    }
    return NULL;
}

const char *vnfd_vdu_aspect(const json_t *vdu)
{
    const char *a = json_string_value(json_object_get(vdu, "aspect"));

    return a ? a : json_string_value(json_object_get(vdu, "id"));
}

const json_t *vnfd_aspect_vdu(const json_t *vnfd, const char *aspect)
{
    const json_t *vdus = json_object_get(vnfd, "vdus");

    for (size_t i = 0; i < json_array_size(vdus); i++)
        if (strcmp(vnfd_vdu_aspect(json_array_get(vdus, i)), aspect) == 0)
            return json_array_get(vdus, i);
    return NULL;
}

unsigned vnfd_vdu_vcpu_milli(const json_t *vdu)
{
    return (unsigned)(jv_num(vdu, "vcpu", 1.0) * 1000.0 + 0.5);
}

long long vnfd_vdu_memory_mb(const json_t *vdu)
{
    return jv_int(vdu, "memory_mb", 128);
}

long long vnfd_vdu_disk_mb(const json_t *vdu)
{
    return jv_int(vdu, "disk_mb", 0);
}

void vnfd_vdu_scaling(const json_t *vdu, struct vnfd_scaling *s)
{
    const json_t *sc = json_object_get(vdu, "scaling");

    s->min = (unsigned)jv_int(sc, "min", 1);
    s->max = (unsigned)jv_int(sc, "max", s->min > 1 ? s->min : 1);
    s->initial = (unsigned)jv_int(sc, "initial", s->min);
    s->step = (unsigned)jv_int(sc, "step", 1);
}

void vnfd_vdu_vertical(const json_t *vdu, struct vnfd_vertical *v)
{
    const json_t *sc = json_object_get(vdu, "scaling");
    double vcpu = vnfd_vdu_vcpu_milli(vdu) / 1000.0;
    long long mem = vnfd_vdu_memory_mb(vdu);

    v->vcpu_min = jv_num(sc, "vcpu_min", vcpu);
    v->vcpu_max = jv_num(sc, "vcpu_max", vcpu * 4 > 64 ? 64 : vcpu * 4);
    v->memory_mb_min = jv_int(sc, "memory_mb_min", mem);
    v->memory_mb_max = jv_int(sc, "memory_mb_max", mem * 4);
}

void vnfd_retry(const json_t *vnfd, struct vnfd_retry *r)
{
    const json_t *rt = json_object_get(vnfd, "retry");

    r->attempts = (unsigned)jv_int(rt, "attempts", 3);
    r->backoff_ms = (unsigned)jv_int(rt, "backoff_ms", 500);
}

void vnfd_restart(const json_t *vnfd, const struct vnfd_restart *dflt, struct vnfd_restart *r)
{
    const json_t *rs = json_object_get(vnfd, "restart");
    const char *policy = jv_str(rs, "policy", NULL);

    *r = *dflt;
    if (policy)
        r->always = strcmp(policy, "always") == 0;
    r->burst = (unsigned)jv_int(rs, "burst", dflt->burst);
    r->window_s = (unsigned)jv_int(rs, "window_s", dflt->window_s);
    r->delay_ms = (unsigned)jv_int(rs, "delay_ms", dflt->delay_ms);
    r->max_delay_s = (unsigned)jv_int(rs, "max_delay_s", dflt->max_delay_s);
    if (r->delay_ms > r->max_delay_s * 1000u) /* a daemon default against the VNFD's own */
        r->delay_ms = r->max_delay_s * 1000u;
}

const json_t *vnfd_actions(const json_t *vnfd, enum stage st)
{
    return json_object_get(json_object_get(vnfd, "lifecycle"), stage_name(st));
}

const struct jv_field *vnfd_body_schema(void)
{
    pthread_once(&vdu_once, vdu_fields_build);
    return &vnfd_schema;
}

int vnfd_check_driver(const json_t *vnfd, const struct vim_ops *ops, struct jv_error *err)
{
    const struct jv_field mine = {.type = JV_OBJECT, .fields = ops->vdu_fields};
    const json_t *vdu;
    char field[64];
    size_t i;

    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        json_t *part = json_object();
        int r;

        for (const struct jv_field *f = ops->vdu_fields; f && f->name; f++)
            if (json_object_get(vdu, f->name))
                json_object_set(part, f->name, json_object_get(vdu, f->name));
        snprintf(field, sizeof(field), "vdus[%zu]", i);
        r = ops->vdu_fields ? jv_check_at(part, &mine, field, err) : 0;
        json_decref(part);
        if (r)
            return r;
    }
    return 0;
}

/* ---- deployment flavours and instantiation levels ---- */

static const json_t *find_flavour(const json_t *vnfd, const char *id)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(vnfd, "flavours"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0)
            return f;
    }
    return NULL;
}

/* The descriptor with flavour f's scaling merged into its VDUs (a copy). */
static json_t *apply_flavour(const json_t *vnfd, const json_t *f)
{
    json_t *out = json_deep_copy(vnfd), *vdu;
    const json_t *over = json_object_get(f, "scaling");
    size_t i;

    json_array_foreach(json_object_get(out, "vdus"), i, vdu)
    {
        const json_t *o = json_object_get(over, json_string_value(json_object_get(vdu, "id")));
        json_t *sc = json_object_get(vdu, "scaling");

        if (!o)
            continue;
        if (!sc) {
            sc = json_object();
            json_object_set_new(vdu, "scaling", sc);
        }
        json_object_update(sc, (json_t *)o);
    }
    return out;
}

int vnfd_flavoured(const json_t *vnfd, const char *flavour, json_t **out)
{
    const json_t *f;

    if (strcmp(flavour, VNFD_DEFAULT_FLAVOUR) == 0) {
        *out = json_deep_copy(vnfd);
        return 0;
    }
    f = find_flavour(vnfd, flavour);
    if (!f)
        return -ENOENT;
    *out = apply_flavour(vnfd, f);
    return 0;
}

int vnfd_level(const json_t *flavoured, const char *flavour, const char *level, json_t **out,
               const char **level_id)
{
    const json_t *f = find_flavour(flavoured, flavour), *levels, *given, *vdu;
    json_t *inst;
    size_t i;

    levels = json_object_get(f, "instantiation_levels");
    if (!level)
        level = json_string_value(json_object_get(f, "default_level"));
    if (!level && levels) {
        const char *first;
        json_t *v;

        json_object_foreach((json_t *)levels, first, v)
        {
            level = first;
            break;
        }
    }
    if (!level)
        level = VNFD_DEFAULT_LEVEL;
    given = json_object_get(levels, level);
    if (!given && (levels || strcmp(level, VNFD_DEFAULT_LEVEL) != 0))
        return -ENOENT;
    inst = json_object();
    json_array_foreach(json_object_get(flavoured, "vdus"), i, vdu)
    {
        const char *id = json_string_value(json_object_get(vdu, "id"));
        struct vnfd_scaling s;

        vnfd_vdu_scaling(vdu, &s);
        json_object_set_new(inst, id, json_integer(jv_int(given, id, s.initial)));
    }
    *out = inst;
    *level_id = levels ? json_object_iter_key(json_object_iter_at((json_t *)levels, level))
                       : VNFD_DEFAULT_LEVEL;
    return 0;
}

static int check_flavour(const json_t *doc, const json_t *f, size_t idx, struct jv_error *err)
{
    const char *id = json_string_value(json_object_get(f, "id")), *name, *vdu_id;
    const json_t *levels = json_object_get(f, "instantiation_levels"), *lv, *n;
    json_t *flavoured;
    char field[160];
    int r = -EINVAL;

    snprintf(field, sizeof(field), "flavours[%zu].id", idx);
    if (strcmp(id, VNFD_DEFAULT_FLAVOUR) == 0) {
        jv_fail(err, "invalid-value", field,
                "'%s' is the descriptor's own flavour (vdus[].scaling)", id);
        return -EINVAL;
    }
    for (size_t k = 0; k < idx; k++)
        if (strcmp(id, json_string_value(json_object_get(
                           json_array_get(json_object_get(doc, "flavours"), k), "id"))) == 0) {
            jv_fail(err, "invalid-value", field, "duplicate flavour id '%s'", id);
            return -EINVAL;
        }
    json_object_foreach((json_t *)json_object_get(f, "scaling"), vdu_id, n)
    {
        snprintf(field, sizeof(field), "flavours[%zu].scaling.%s", idx, vdu_id);
        if (!vnfd_vdu(doc, vdu_id)) {
            jv_fail(err, "invalid-value", field, "the VNFD has no VDU '%s'", vdu_id);
            return -EINVAL;
        }
    }
    flavoured = apply_flavour(doc, f);
    for (size_t i = 0; i < json_array_size(json_object_get(flavoured, "vdus")); i++) {
        snprintf(field, sizeof(field), "flavours[%zu].scaling.%s", idx,
                 json_string_value(
                     json_object_get(json_array_get(json_object_get(flavoured, "vdus"), i), "id")));
        if (check_scaling_bounds(json_array_get(json_object_get(flavoured, "vdus"), i), field, err))
            goto out;
    }
    json_object_foreach((json_t *)levels, name, lv)
    {
        json_object_foreach((json_t *)lv, vdu_id, n)
        {
            const json_t *vdu = vnfd_vdu(flavoured, vdu_id);
            struct vnfd_scaling s;

            snprintf(field, sizeof(field), "flavours[%zu].instantiation_levels.%s.%s", idx, name,
                     vdu_id);
            if (!vdu) {
                jv_fail(err, "invalid-value", field, "the VNFD has no VDU '%s'", vdu_id);
                goto out;
            }
            vnfd_vdu_scaling(vdu, &s);
            if (json_integer_value(n) < s.min || json_integer_value(n) > s.max) {
                jv_fail(err, "invalid-value", field,
                        "%lld instances is outside the flavour's scaling %u..%u",
                        (long long)json_integer_value(n), s.min, s.max);
                goto out;
            }
        }
    }
    snprintf(field, sizeof(field), "flavours[%zu].default_level", idx);
    name = json_string_value(json_object_get(f, "default_level"));
    if (name && !json_object_get(levels, name)) {
        jv_fail(err, "invalid-value", field, "no instantiation level '%s' in this flavour", name);
        goto out;
    }
    r = 0;
out:
    json_decref(flavoured);
    return r;
}

static int check_flavours(const json_t *doc, struct jv_error *err)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(doc, "flavours"), i, f)
    {
        if (check_flavour(doc, f, i, err))
            return -EINVAL;
    }
    return 0;
}
