/* libFuzzer target of the query strings and path ids of every /v0 read
 * (src/rest/query.c, query_policy.c): the input's first line is a request
 * target, "/v0/logs?since=...&limit=5". Its path picks the route (a
 * {id} segment takes what is there), its query is decoded as the HTTP
 * library does (keys and values %-decoded; values that are not UTF-8 are
 * refused before any handler), unknown parameters are refused as the
 * front end does, and the route's read handler runs on a seeded store, as
 * the admin or, when the input's length is odd, as a tenant. */
#include "core/config.h"
#include "core/health.h"
#include "core/service.h"
#include "fuzz/fuzz.h"
#include "rest/api.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct core core;
static struct config cfg;

static void init(void)
{
    char *argv[] = {"vnfmd", NULL};

    if (core.cfg)
        return;
    if (config_parse(&cfg, 1, argv))
        abort();
    core.cfg = &cfg;
    core.services = services_new();
    core.health = health_new(&core);
    snprintf(core.tag, sizeof(core.tag), "abcdef");
}

/* Whether path matches pattern; {x} segments go to args (decoded). */
static bool match(const char *pattern, const char *path, char **args)
{
    unsigned n = 0;

    while (*pattern && *path) {
        size_t pl = strcspn(pattern + 1, "/") + 1, sl = strcspn(path + 1, "/") + 1;

        if (pattern[1] == '{' && sl > 1 && n < 3) {
            args[n] = strndup(path + 1, sl - 1);
            MHD_http_unescape(args[n++]);
        } else if (pl != sl || strncmp(pattern, path, pl) != 0) {
            return false;
        }
        pattern += pl;
        path += sl;
    }
    return !*pattern && !*path;
}

static const struct route *find_route(const char *path, char **args)
{
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct route *rt = &api_routes[i];

        /* no stream, no metrics; sites are read from the open sites' own
         * snapshot, and no site is open here */
        if (!rt->read || (rt->flags & (R_STREAM | R_METRICS)) ||
            strncmp(rt->pattern, "/v0/sites", 9) == 0)
            continue;
        for (unsigned k = 0; k < 3; k++) {
            free(args[k]);
            args[k] = NULL;
        }
        if (match(rt->pattern, path, args))
            return rt;
    }
    return NULL;
}

/* The query as the front end hands it over: a member per parameter. */
static json_t *decode_query(char *q)
{
    json_t *out = json_object();
    char *save = NULL;

    for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        json_t *v;

        if (eq)
            *eq++ = '\0';
        MHD_http_unescape(kv);
        if (eq)
            MHD_http_unescape(eq);
        v = json_string(eq ? eq : "");
        if (!v || json_object_set_new(out, kv, v)) { /* not UTF-8: refused with 400 */
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static bool allowed(const struct route *rt, const json_t *query)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)query, key, v)
    {
        const char *const *p = rt->params;

        while (p && *p && strcmp(*p, key) != 0)
            p++;
        if (!p || !*p)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rctx r = {.c = &core};
    const struct route *rt;
    char *target, *q;
    size_t len;

    init();
    fuzz_split(data, size, &target, &len);
    q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    rt = find_route(target, r.args);
    if (rt && (r.query = decode_query(q ? q : (char *)"")) && allowed(rt, r.query)) {
        r.st = fuzz_store();
        r.who.admin = size % 2 == 0;
        if (!r.who.admin)
            snprintf(r.who.tenant, sizeof(r.who.tenant), "acme");
        rt->read(&r);
        if (!r.res.status)
            abort(); /* every read answers */
        result_done(&r.res);
    }
    json_decref(r.query);
    for (unsigned k = 0; k < 3; k++)
        free(r.args[k]);
    free(target);
    return 0;
}
