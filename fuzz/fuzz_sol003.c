/* libFuzzer target of what SOL003 clients send (src/sol003/): request
 * bodies with the schema of their route, the LCCN subscription filter of
 * a subscription body (sol_filter_match), and the SOL013 attribute filter
 * of the lists (?filter=...). The first line is "METHOD PATTERN" naming a
 * route below /vnflcm/vN/ (any other line picks one by its bytes) and the
 * rest its body; a first line "filter" makes the second line a filter and
 * the rest the JSON document it is matched against.
 *
 * The route table and the attribute filter are private to sol_http.c, so
 * the file is compiled into this target. */
#include "fuzz/fuzz.h"
#include "sol003/sol_http.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const void *route_by_name(const char *line)
{
    size_t n = 0, want = 0;
    char name[256];

    for (size_t i = 0; i < ARRAY_SIZE(sol_routes); i++) {
        snprintf(name, sizeof(name), "%s %s", sol_routes[i].method, sol_routes[i].pattern);
        if (sol_routes[i].schema && strcmp(name, line) == 0)
            return &sol_routes[i];
        n += sol_routes[i].schema != NULL;
    }
    for (const char *p = line; *p; p++)
        want = want * 31 + (unsigned char)*p;
    want %= n;
    for (size_t i = 0; i < ARRAY_SIZE(sol_routes); i++)
        if (sol_routes[i].schema && want-- == 0)
            return &sol_routes[i];
    abort();
}

/* A subscription's filter against notifications of every kind. */
static void subscription(const json_t *body)
{
    static const char *const types[] = {"VnfLcmOperationOccurrenceNotification",
                                        "VnfIdentifierCreationNotification",
                                        "VnfIdentifierDeletionNotification"};
    json_t *id = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vnfInstanceId", "i-1",
                           "vnfInstanceName", "web", "vnfdId", "demo", "vnfProvider", "acme",
                           "vnfProductName", "demo", "vnfSoftwareVersion", "1.0");

    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        (void)sol_filter_match(json_object_get(body, "filter"), types[i], id,
                               i ? NULL : "INSTANTIATE", i ? NULL : "COMPLETED");
    json_decref(id);
}

static void attribute_filter(const char *text, size_t len)
{
    char *expr;
    size_t rest;
    const char *doc_text = fuzz_split((const uint8_t *)text, len, &expr, &rest);
    json_t *doc = json_loadb(doc_text, rest, 0, NULL);

    if (!doc)
        doc = json_pack("{s:s, s:[{s:s}], s:{s:i}}", "id", "i-1", "vnfcResourceInfo", "vduId",
                        "web", "instantiatedVnfInfo", "scaleLevel", 2);
    (void)sol_filter_eval(expr, doc);
    json_decref(doc);
    free(expr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line;
    size_t len;
    const char *text = fuzz_split(data, size, &line, &len);
    __typeof__(&sol_routes[0]) rt; /* whatever the table's type */
    struct jv_error err;
    json_t *body;

    if (strcmp(line, "filter") == 0) {
        attribute_filter(text, len);
        free(line);
        return 0;
    }
    rt = route_by_name(line);
    free(line);
    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(body) && jv_check(body, rt->schema, &err) == 0 &&
        strcmp(rt->pattern, "subscriptions") == 0)
        subscription(body);
    json_decref(body);
    return 0;
}
