#include "util/doc.h"
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
