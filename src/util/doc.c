#include "util/doc.h"
#include "util/timeutil.h"

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
