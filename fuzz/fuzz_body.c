/* libFuzzer target of the request bodies of every /v0 route that takes
 * one (src/rest/routes.c), with the route's own schema (src/util/jsonv.c)
 * or validator (a VNFD: src/catalog/vnfd.c), as the REST front end checks
 * them before a request reaches the transactor: JSON, or XML typed by the
 * schema (src/rest/xml.c). The input is "METHOD PATTERN\n" naming the route
 * (any other first line picks one by its bytes), then the body: XML when it
 * starts with '<'. What passes is written back as XML and must pass again. */
#include "fuzz/fuzz.h"
#include "rest/api.h"
#include "rest/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool takes_body(const struct route *rt)
{
    return rt->apply && route_body_schema(rt);
}

/* The route the first line names, else one picked by its bytes. */
static const struct route *body_route(const char *line)
{
    size_t n = 0, want = 0;
    char name[256];

    for (size_t i = 0; i < api_n_routes; i++) {
        snprintf(name, sizeof(name), "%s %s", api_routes[i].method, api_routes[i].pattern);
        if (takes_body(&api_routes[i]) && strcmp(name, line) == 0)
            return &api_routes[i];
        n += takes_body(&api_routes[i]);
    }
    for (const char *p = line; *p; p++)
        want = want * 31 + (unsigned char)*p;
    want %= n;
    for (size_t i = 0; i < api_n_routes; i++)
        if (takes_body(&api_routes[i]) && want-- == 0)
            return &api_routes[i];
    abort();
}

static int check(const struct route *rt, const json_t *body, struct jv_error *err)
{
    if (rt->schema && jv_check(body, rt->schema, err))
        return -1;
    return rt->validate ? rt->validate(body, err) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct route *rt;
    struct jv_error err;
    json_t *body = NULL, *again = NULL;
    char *line, *xml;
    size_t len;
    const char *text = fuzz_split(data, size, &line, &len);

    rt = body_route(line);
    free(line);
    if (len && *text == '<') {
        if (xml_to_json(text, len, route_body_schema(rt), &body, &err))
            return 0;
    } else {
        body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    }
    if (!json_is_object(body) || check(rt, body, &err)) {
        json_decref(body);
        return 0;
    }
    xml = xml_from_json(body, "body");
    if (xml_to_json(xml, strlen(xml), route_body_schema(rt), &again, &err) ||
        check(rt, again, &err)) {
        fprintf(stderr, "%s %s: a valid body written as XML fails: %s: %s\n%s\n", rt->method,
                rt->pattern, err.field, err.message, xml);
        abort();
    }
    json_decref(again);
    free(xml);
    json_decref(body);
    return 0;
}
