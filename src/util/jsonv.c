#include "util/jsonv.h"
#include "util/ids.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *type_name(enum jv_type t)
{
    switch (t) {
    case JV_STRING:
        return "a string";
    case JV_INT:
        return "an integer";
    case JV_NUMBER:
        return "a number";
    case JV_BOOL:
        return "a boolean";
    case JV_OBJECT:
    case JV_MAP:
        return "an object";
    case JV_ARRAY:
        return "an array";
    case JV_ANY:
        break;
    }
    return "a value";
}

void jv_fail(struct jv_error *err, const char *reason, const char *field, const char *fmt, ...)
{
    va_list ap;
    char msg[400];

    err->reason = reason;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (*field)
        snprintf(err->message, sizeof(err->message), "%s: %s", field, msg);
    else
        snprintf(err->message, sizeof(err->message), "%s", msg);
}

static int type_ok(const json_t *v, enum jv_type t)
{
    switch (t) {
    case JV_STRING:
        return json_is_string(v);
    case JV_INT:
        return json_is_integer(v);
    case JV_NUMBER:
        return json_is_number(v);
    case JV_BOOL:
        return json_is_boolean(v);
    case JV_OBJECT:
    case JV_MAP:
        return json_is_object(v);
    case JV_ARRAY:
        return json_is_array(v);
    case JV_ANY:
        return 1;
    }
    return 0;
}

static int check(const json_t *v, const struct jv_field *f, const char *path, struct jv_error *err);

static int check_range(double x, const struct jv_field *f, const char *path, const char *what,
                       struct jv_error *err)
{
    if (f->min == 0 && f->max == 0)
        return 0;
    if (x < f->min || x > f->max) {
        jv_fail(err, "invalid-value", path, "%s must be between %g and %g", what, f->min, f->max);
        return -EINVAL;
    }
    return 0;
}

static int check_string(const json_t *v, const struct jv_field *f, const char *path,
                        struct jv_error *err)
{
    const char *s = json_string_value(v);

    if (f->flags & JV_NAME && !id_valid(s)) {
        jv_fail(err, "invalid-value", path,
                "must be 1-64 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit");
        return -EINVAL;
    }
    if (f->choices) {
        for (const char *const *c = f->choices; *c; c++)
            if (strcmp(*c, s) == 0)
                return 0;
        jv_fail(err, "invalid-value", path, "'%s' is not one of the allowed values", s);
        return -EINVAL;
    }
    return check_range((double)json_string_length(v), f, path, "length", err);
}

static int check_object(const json_t *v, const struct jv_field *f, const char *path,
                        struct jv_error *err)
{
    const char *key;
    json_t *member;
    char sub[256];

    json_object_foreach((json_t *)v, key, member)
    {
        const struct jv_field *m = f->fields;

        while (m->name && strcmp(m->name, key) != 0)
            m++;
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
        if (!m->name) {
            jv_fail(err, "unknown-field", sub, "unknown field");
            return -EINVAL;
        }
        if (check(member, m, sub, err))
            return -EINVAL;
    }
    for (const struct jv_field *m = f->fields; m->name; m++) {
        if (m->flags & JV_REQUIRED && !json_object_get(v, m->name)) {
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", m->name);
            jv_fail(err, "missing-field", sub, "required field is missing");
            return -EINVAL;
        }
    }
    return 0;
}

static int check_items(const json_t *v, const struct jv_field *f, const char *path,
                       struct jv_error *err)
{
    char sub[256];

    if (json_is_array(v)) {
        size_t i;
        json_t *item;

        if (check_range((double)json_array_size(v), f, path, "number of items", err))
            return -EINVAL;
        json_array_foreach(v, i, item)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (check(item, f->item, sub, err))
                return -EINVAL;
        }
    } else {
        const char *key;
        json_t *item;

        if (check_range((double)json_object_size(v), f, path, "number of members", err))
            return -EINVAL;
        json_object_foreach((json_t *)v, key, item)
        {
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            if (!id_valid(key)) {
                jv_fail(err, "invalid-value", sub, "key is not a valid name");
                return -EINVAL;
            }
            if (check(item, f->item, sub, err))
                return -EINVAL;
        }
    }
    return 0;
}

static int check(const json_t *v, const struct jv_field *f, const char *path, struct jv_error *err)
{
    if (json_is_null(v) && f->flags & JV_NULLABLE)
        return 0;
    if (!type_ok(v, f->type)) {
        jv_fail(err, "invalid-type", path, "expected %s", type_name(f->type));
        return -EINVAL;
    }
    switch (f->type) {
    case JV_STRING:
        return check_string(v, f, path, err);
    case JV_INT:
    case JV_NUMBER:
        return check_range(json_number_value(v), f, path, "value", err);
    case JV_OBJECT:
        return f->fields ? check_object(v, f, path, err) : 0;
    case JV_ARRAY:
    case JV_MAP:
        return f->item ? check_items(v, f, path, err) : 0;
    default:
        return 0;
    }
}

int jv_check(const json_t *value, const struct jv_field *schema, struct jv_error *err)
{
    return check(value, schema, "", err);
}

int jv_check_at(const json_t *value, const struct jv_field *schema, const char *path,
                struct jv_error *err)
{
    return check(value, schema, path, err);
}

const char *jv_str(const json_t *obj, const char *key, const char *def)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : def;
}

long long jv_int(const json_t *obj, const char *key, long long def)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

double jv_num(const json_t *obj, const char *key, double def)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_number(v) ? json_number_value(v) : def;
}

int jv_bool(const json_t *obj, const char *key, int def)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_boolean(v) ? json_is_true(v) : def;
}

int jv_check_script(const char *script, const char *field, struct jv_error *err)
{
    if (!script || !*script) {
        jv_fail(err, "missing-field", field, "the script to run is missing");
        return -EINVAL;
    }
    if (script[0] != '/') {
        jv_fail(err, "invalid-value", field, "must be an absolute path");
        return -EINVAL;
    }
    if (access(script, X_OK) != 0) {
        jv_fail(err, "invalid-value", field, "'%s' is not an executable file (%s)", script,
                strerror(errno));
        return -EINVAL;
    }
    return 0;
}
