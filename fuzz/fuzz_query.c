/* libFuzzer target of the query strings and path ids of every /v0 read
 * (src/rest/query.c, query_policy.c): the input's first line is a request
 * target, "/v0/logs?since=...&limit=5". The router finds its route and
 * decodes and checks its path and query as for every request
 * (router_find), and the route's read handler runs on a seeded store, as
 * the admin or, when the input's length is odd, as a tenant. */
#include "core/config.h"
#include "core/health.h"
#include "core/service.h"
#include "fuzz/fuzz.h"
#include "rest/api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct core core;
static struct config cfg;
static struct router *router;

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
    router = router_new(&core);
    router_mount(router, &rest_mount);
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
    /* no stream, no metrics; sites are read from the open sites' own
     * snapshot, and no site is open here */
    if (router_find(router, "GET", target, q, &r, &rt) == 0 && rt->read &&
        !(rt->flags & (R_STREAM | R_METRICS)) && strncmp(rt->pattern, "/v0/sites", 9) != 0) {
        r.st = fuzz_store();
        r.who.admin = size % 2 == 0;
        if (!r.who.admin)
            snprintf(r.who.tenant, sizeof(r.who.tenant), "acme");
        rt->read(&r);
        if (!r.res.status)
            abort(); /* every read answers */
    }
    result_done(&r.res);
    json_decref(r.query);
    for (unsigned k = 0; k < 3; k++)
        free(r.args[k]);
    free(target);
    return 0;
}
