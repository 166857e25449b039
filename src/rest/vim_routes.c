/* /vim/v1: where VIM agents dial in (vim/agent/agent.h, docs/VIM_AGENT.md).
 *
 * GET /vim/v1/channel: the agent's stream of requests (one JSON object a
 * line), for the site its Vim-Site header names, its token its bearer;
 * POST /vim/v1/result: an outcome, or a VI's exit. Neither takes a user's
 * token: the site's agent token is checked by the driver. */
#include "rest/api.h"
#include "util/log.h"
#include "util/mem.h"
#include "vim/agent/agent.h"

#include <string.h>
#include <strings.h>

static const char *const no_params[] = {NULL};

static const char *bearer(const struct rctx *r)
{
    const char *h = rctx_header(r, "Authorization");

    return h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "";
}

static ssize_t link_read(void *cls, char *buf, size_t max)
{
    return vim_agent_link_read(cls, buf, max);
}

static void link_release(void *cls)
{
    vim_agent_link_close(cls);
}

static void link_wake(void *conn)
{
    httpd_resume(conn);
}

static int channel_start(struct rctx *r, struct httpd_conn *conn)
{
    static const struct httpd_kv hdrs[] = {{"Content-Type", "application/x-ndjson"},
                                           {"Cache-Control", "no-cache"}};
    const char *site = rctx_header(r, "Vim-Site");
    char why[256];
    int status = 400;
    struct agent_link *l;

    if (!site)
        return result_fail(&r->res, 400, "missing-field", "field", "Vim-Site",
                           "the Vim-Site header names the agent's site");
    l = vim_agent_link_open(site, bearer(r), link_wake, conn, &status, why, sizeof(why));
    if (!l) {
        log_warn("a VIM agent refused: %s", why);
        return result_fail(&r->res, status, status == 401 ? "unauthorized" : "not-found", "object",
                           site, "%s", why);
    }
    httpd_stream(conn, 200, hdrs, ARRAY_SIZE(hdrs), link_read, link_release, l);
    vim_agent_link_start(l);
    return 0;
}

static void post_result(struct rctx *r)
{
    const char *site = rctx_header(r, "Vim-Site");
    char why[256];
    int status;

    if (!site) {
        result_fail(&r->res, 400, "missing-field", "field", "Vim-Site",
                    "the Vim-Site header names the agent's site");
        return;
    }
    status = vim_agent_post(site, bearer(r), r->http->body, r->http->body_len, why, sizeof(why));
    if (status)
        result_fail(&r->res, status,
                    status == 401   ? "unauthorized"
                    : status == 404 ? "not-found"
                                    : "invalid-body",
                    NULL, NULL, "%s", why);
    else
        result_ok(&r->res, 204, NULL);
}

static const struct route vim_agent_routes[] = {
    {.method = "GET",
     .pattern = "/channel",
     .name = "VIM agent channel",
     .flags = R_PUBLIC | R_STREAM,
     .params = no_params,
     .stream = channel_start},
    {.method = "POST",
     .pattern = "/result",
     .name = "VIM agent result",
     .flags = R_PUBLIC | R_NOLOCK,
     .params = no_params,
     .read = post_result},
};

const struct mount vim_agent_mount = {
    .prefix = "/vim/v1",
    .routes = vim_agent_routes,
    .n_routes = ARRAY_SIZE(vim_agent_routes),
    .style = STYLE_NATIVE,
};
