#include "util/doc.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* A scoped key "TENANT:NAME" (util/ids.h), nothing else that has a ':'. */
static bool is_scoped(const char *s)
{
    return s && strchr(s, ':') && id_key_valid(s);
}

static void show_name(json_t *obj, const char *key, json_t *v)
{
    const char *s = json_string_value(v), *slash;

    if (!s)
        return;
    if (strcmp(key, "object") == 0) {
        slash = strchr(s, '/');
        if (slash && is_scoped(slash + 1)) {
            char *shown = xasprintf("%.*s%s", (int)(slash + 1 - s), s, id_name(slash + 1));

            json_object_set_new(obj, key, json_string(shown));
            free(shown);
        }
        return;
    }
    if (is_scoped(s))
        json_object_set_new(obj, key, json_string(id_name(s)));
}

/* A map keyed by deployments (a site's load, "deployments": {KEY: ...}):
 * its members named as their tenants name them, unless two would meet. */
static void show_member_names(json_t *map)
{
    json_t *out = json_object(), *m;
    const char *key;

    json_object_foreach(map, key, m)
    {
        const char *name = is_scoped(key) ? id_name(key) : key;

        json_object_set(out, json_object_get(out, name) ? key : name, m);
    }
    json_object_clear(map);
    json_object_update(map, out);
    json_decref(out);
}

void doc_show_names(json_t *v)
{
    static const char *const names[] = {"id",     "deployment",    "vnfd",     "vnfdId",
                                        "object", "vnfInstanceId", "burst_of", NULL};
    static const char *const user[] = {
        "params",           "descriptor", "metadata", "extensions", "vnfConfigurableProperties",
        "additionalParams", NULL};
    const char *key;
    json_t *m;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            doc_show_names(m);
        }
        return;
    }
    json_object_foreach(v, key, m)
    {
        bool skip = false;

        for (i = 0; user[i] && !skip; i++)
            skip = strcmp(key, user[i]) == 0;
        for (i = 0; names[i] && !skip; i++)
            if (strcmp(key, names[i]) == 0) {
                show_name(v, key, m);
                skip = true;
            }
        if (!skip && strcmp(key, "deployments") == 0 && json_is_object(m))
            show_member_names(m);
        if (!skip)
            doc_show_names(m);
    }
}

json_t *doc_shown(const json_t *doc)
{
    json_t *v = doc_public(doc);

    doc_show_names(v);
    return v;
}

void doc_etag(const json_t *doc, char out[DOC_ETAG_MAX])
{
    json_t *pub = doc_public(doc);
    char *text = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    EVP_Digest(text ? text : "", text ? strlen(text) : 0, md, &n, EVP_sha256(), NULL);
    out[0] = '"';
    out[1] = '\0';
    for (unsigned i = 0; i < 16 && i < n; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
    strcat(out, "\"");
    free(text);
    json_decref(pub);
}

bool etag_matches(const char *if_match, const char *etag)
{
    size_t len = strlen(etag);

    for (const char *p = if_match; *p;) {
        size_t n;

        p += strspn(p, " \t,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        n = strcspn(p, " \t,");
        if ((n == 1 && *p == '*') || (n == len && strncmp(p, etag, n) == 0))
            return true;
        p += n;
    }
    return false;
}

/* FNV-1a, 64 bits; an object's members are summed, so their order does not count. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

uint64_t doc_hash(const json_t *v)
{
    uint64_t h = fnv(14695981039346656037ULL, &(int){json_typeof(v)}, sizeof(int)), x, sum = 0;
    const char *k;
    json_t *m;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, k, m)
        {
            x = doc_hash(m);
            sum += fnv(fnv(h, k, strlen(k)), &x, sizeof(x));
        }
        return fnv(h, &sum, sizeof(sum));
    case JSON_ARRAY:
        json_array_foreach(v, i, m)
        {
            x = doc_hash(m);
            h = fnv(h, &x, sizeof(x));
        }
        return h;
    case JSON_STRING:
        return fnv(h, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return fnv(h, &(json_int_t){json_integer_value(v)}, sizeof(json_int_t));
    case JSON_REAL:
        return fnv(h, &(double){json_real_value(v)}, sizeof(double));
    default:
        return h;
    }
}
