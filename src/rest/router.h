/* One router over mounts: every HTTP request of the manager goes through it.
 *
 * A mount is a prefix ("/vnflcm/v1"; "" for the native API at the root),
 * its route table, its error style (the native error document, or SOL013
 * ProblemDetails) and the Version header of its answers. The start-up
 * (vnfmd.c) mounts the front ends: rest/routes.c (the native /v0 API and
 * /metrics) and sol003/sol_http.c (/vnflcm/v1, /vnflcm/v2, /vnflcm). The
 * router matches a path segment by segment over all mounts at once, checks
 * the query against the route's parameters, authenticates, parses and
 * validates the body with one parser, and then answers a read on the HTTP
 * thread or queues a write on the transactor and answers when it has been
 * applied (docs/ARCHITECTURE.md). A route may take its body as it is
 * (R_RAW: a VNF package's archive) and a read may answer a file
 * (result.file), streamed.
 */
#ifndef VNFM_ROUTER_H
#define VNFM_ROUTER_H

#include "core/core.h"
#include "core/txq.h"
#include "util/httpd.h"
#include "util/jsonv.h"

struct mount;

/* A read request, handled on an HTTP thread. */
struct rctx {
    struct core *c;   /* only thread-safe parts: cfg, health, bus, tag */
    struct store *st; /* this thread's read handle */
    struct principal who;
    char *args[3]; /* the path's "{x}" segments, decoded */
    json_t *query; /* decoded query parameters (strings), or NULL when none */
    struct result res;
    const struct mount *mount;
    const struct httpd_req *http; /* the request's headers */
    /* the mount's check: this manager serves it, primary or not (a
     * branch's channel at its site's owner, docs/HA.md) */
    bool any_role;
    /* set by the mount's check (which then fails with no status) for an
     * answer that waits on another server (a report an owner forwards to
     * the primary): the request is suspended, later(later_arg, res) makes
     * the answer on the configuration pool, and later_free(later_arg)
     * runs after it (or instead, when the pool stops first) */
    void (*later)(void *arg, struct result *res);
    void (*later_free)(void *arg);
    void *later_arg;
};

/* A request header of r, or NULL. */
const char *rctx_header(const struct rctx *r, const char *name);

typedef void (*read_fn)(struct rctx *r);

#define R_PUBLIC  (1u << 0) /* no token needed */
#define R_ADMIN   (1u << 1) /* admin token only */
#define R_STREAM  (1u << 2) /* server-sent events */
#define R_BODY    (1u << 3) /* a JSON object body is required */
#define R_METRICS (1u << 4) /* public when vnfmd runs with --metrics-public */
#define R_NOLOCK  (1u << 7) /* changes no configuration: a NETCONF lock does not stop it */
#define R_PATCH   (1u << 5) /* application/merge-patch+json is accepted too */
#define R_NOTSUPP (1u << 6) /* a task the manager cannot do: 422 with .why */
#define R_RAW     (1u << 8) /* the body as it is: t->raw or t->raw_fd, up to the mount's raw_max */

struct route {
    const char *method;
    const char *pattern; /* below the mount's prefix: "/v0/deployments/{id}/heal" */
    const char *name;    /* for logs and errors; NULL: the pattern */
    unsigned flags;
    read_fn read;
    txn_apply_fn apply;
    const struct jv_field *schema;                           /* body schema, or */
    int (*validate)(const json_t *body, struct jv_error *e); /* a validator */
    const char *const *params;                               /* allowed query parameters */
    /* Blocking work before a write reaches the transactor, run on the
     * configuration pool (SOL013's test of a callback URL); it refuses the
     * request by setting t->res. */
    void (*before)(struct core *c, struct txn *t);
    const char *why; /* R_NOTSUPP: the reason */
    /* R_STREAM: starts the stream of its own (httpd_stream), or -1 with
     * r->res set; NULL: the event log's (GET /v0/events). */
    int (*stream)(struct rctx *r, struct httpd_conn *conn);
};

/* How a mount writes its answers. */
enum mount_style {
    /* the native API: error documents (docs/API.md), XML when the client
     * asks for it, the ESC-* status headers, Client-Transaction-Id and
     * Callback (seed Tables 3 and 4) */
    STYLE_NATIVE,
    /* ETSI SOL003: JSON only, errors as ProblemDetails (SOL013 6.4,
     * application/problem+json) */
    STYLE_PROBLEM,
};

struct mount {
    const char *prefix; /* "" for the root */
    const struct route *routes;
    size_t n_routes;
    enum mount_style style;
    const char *version; /* the Version header of every answer, or NULL */
    /* Checks of the mount's own before authentication (SOL003: Version,
     * Accept, the attribute filter): -1 with r->res set. May be NULL. */
    int (*check)(struct rctx *r, const struct route *rt);
    /* Completes a write's transaction before it is queued (SOL003: the
     * interface version and the API root in t->query). May be NULL. */
    void (*prepare)(struct rctx *r, struct txn *t);
    /* The schema that types an XML body of rt (rest/xml.h), for a mount
     * that takes XML; NULL: JSON only. */
    const struct jv_field *(*xml_schema)(const struct route *rt);
    const void *data; /* the mount's own */
    size_t raw_max;   /* the largest body of its R_RAW routes */
    /* Where the body of its R_RAW routes is written as it arrives (a file
     * without a name, t->raw_fd), rather than held in memory; NULL: held. */
    const char *raw_dir;
    /* Headers of every answer of the mount (the console's security and
     * caching headers), at most MOUNT_HEADERS_MAX. */
    const struct httpd_kv *headers;
    unsigned n_headers;
    /* Answers carry store keys as they are ("TENANT:NAME", util/ids.h):
     * the federation's own protocol. Every other mount shows names. */
    bool store_keys;
};

#define MOUNT_HEADERS_MAX 8

struct router;

struct router *router_new(struct core *c);
/* Adds a mount (kept by reference); before router_start. */
void router_mount(struct router *rt, const struct mount *m);
/* The route of method on path (its "{x}" segments decoded into r->args)
 * and the decoded query (r->query), checked against the route's
 * parameters; r->mount is the mount the path falls under. 0, or -1 with
 * r->res set (400, 404, 405 with Allow, 414), *route NULL unless it was the
 * query that failed. What every request goes through before
 * authentication; the fuzz targets call it too. */
int router_find(const struct router *rt, const char *method, const char *path, const char *query,
                struct rctx *r, const struct route **route);
/* Listens on --listen and serves. -1 with err set on failure. */
int router_start(struct router *rt, char *err, size_t errlen);
/* Stops accepting and serving. Requests suspended on the transactor or a
 * worker stay until router_free, which must come after the transactor and
 * the pools have completed what they hold. */
void router_stop(struct router *rt);
void router_free(struct router *rt);

/* A manager that stepped down from primary and waits for its store
 * (docs/HA.md): until router_waiting_stop, every request on --listen gets
 * 503, and GET /v0/health the code 5010 with the store "unreachable: why".
 * NULL when it cannot listen (the caller waits all the same). */
struct router_waiting *router_waiting_start(const struct config *cfg, const char *why);
void router_waiting_stop(struct router_waiting *w);

#endif
