#include "model/model.h"
#include "util/timeutil.h"

#include <string.h>

static const char *const stage_names[ST_COUNT] = {
    [ST_ONBOARDING] = "onboarding",
    [ST_VI_DEPLOYMENT] = "vi_deployment",
    [ST_PRE_DEPLOYMENT] = "pre_deployment",
    [ST_DEPLOYMENT] = "deployment",
    [ST_POST_DEPLOYMENT] = "post_deployment",
    [ST_MONITORING] = "monitoring",
    [ST_UPDATE] = "update",
    [ST_UNDEPLOYMENT] = "undeployment",
    [ST_OVERLOADED] = "overloaded",
    [ST_UNDERLOADED] = "underloaded",
    [ST_FAIL] = "fail",
    [ST_SCALE] = "scale",
    [ST_HEAL] = "heal",
    [ST_OPERATE] = "operate",
};

const char *stage_name(enum stage s)
{
    return s < ST_COUNT ? stage_names[s] : "unknown";
}

int stage_parse(const char *name)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (name && strcmp(stage_names[i], name) == 0)
            return i;
    return -1;
}

void doc_touch(json_t *doc, const char *key)
{
    char buf[TIME_STR_MAX];

    json_object_set_new(doc, key, json_string(time_fmt(wall_ms(), buf)));
}

void doc_set_str(json_t *doc, const char *key, const char *value)
{
    json_object_set_new(doc, key, value ? json_string(value) : json_null());
}

void doc_set_int(json_t *doc, const char *key, long long value)
{
    json_object_set_new(doc, key, json_integer(value));
}

const char *doc_str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

long long doc_int(const json_t *doc, const char *key, long long def)
{
    const json_t *v = json_object_get(doc, key);

    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

json_t *doc_public(const json_t *doc)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)doc, key, v)
    {
        if (key[0] != '_')
            json_object_set(out, key, v);
    }
    return out;
}
