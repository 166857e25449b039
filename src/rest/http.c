#include "rest/http_internal.h"
#include "rest/xml.h"
#include "core/auth.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#define BODY_MAX          (1u << 20)
#define MAX_THREAD_STORES 64

struct http_server {
    struct core *c;
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    struct store *stores[MAX_THREAD_STORES];
    unsigned n_stores;
};

/* Per-connection request state. */
struct req {
    struct sbuf body;
    bool too_large;
    struct txn *txn; /* while (and after) the transactor handles it */
    /* How its answer is written. */
    struct http_fmt fmt;
};

static __thread struct store *tl_store;

struct store *http_thread_store(struct http_server *s)
{
    char err[256];

    if (tl_store)
        return tl_store;
    if (store_open_reader(s->c->st, &tl_store, err, sizeof(err))) {
        log_error("REST: %s", err);
        tl_store = NULL;
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n_stores < MAX_THREAD_STORES)
        s->stores[s->n_stores++] = tl_store;
    pthread_mutex_unlock(&s->mu);
    return tl_store;
}

enum MHD_Result http_respond(struct MHD_Connection *conn, const struct result *r,
                             const char *client_txn_id)
{
    static const struct http_fmt plain = {HTTP_NATIVE};

    return http_respond_fmt(conn, r, client_txn_id, &plain);
}

/* A SOL003 error: the native error as ProblemDetails (SOL013 6.4), with
 * the offending field kept as an extension member. */
static json_t *problem_details(const json_t *err, int status)
{
    json_t *p =
        json_pack("{s:s, s:i, s:s}", "title", MHD_get_reason_phrase_for((unsigned)status), "status",
                  status, "detail", json_string_value(json_object_get(err, "message")) ?: "");

    if (json_object_get(err, "field"))
        json_object_set(p, "field", json_object_get(err, "field"));
    return p;
}

/* The body of r as text in format f, and its media type. */
static char *body_text(const struct result *r, const struct http_fmt *f, const char **ctype)
{
    json_t *doc;
    char *text;
    bool list;

    *ctype = "application/json";
    if (!r->raw && !r->body)
        return NULL;
    if (r->ctype) { /* a body of another kind (Prometheus text): as it is */
        *ctype = r->ctype;
        return xstrdup(r->raw);
    }
    if (f->style == HTTP_NATIVE && !f->xml)
        return r->raw ? xstrdup(r->raw)
                      : json_dumps(r->body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    doc = r->body ? json_incref(r->body) : json_loads(r->raw, 0, NULL);
    if (f->style == HTTP_SOL003) {
        if (r->status >= 400 && json_object_get(doc, "error")) {
            json_t *p = problem_details(doc, r->status);

            json_decref(doc);
            doc = p;
            *ctype = "application/problem+json";
        }
        text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY);
    } else {
        const char *root = r->status >= 400 ? "error" : r->status == 202 ? "operation" : f->root;

        root = xml_root_of(doc, root, &list);
        text = xml_from_json(list ? json_object_get(doc, root) : doc, root);
        *ctype = XML_MEDIA_TYPE;
    }
    json_decref(doc);
    return text;
}

/* ESC-Status-Code and ESC-Status-Message (seed Table 4): 200 "Success" for
 * a change made, 202 for an operation started, else the error. */
static void esc_headers(struct MHD_Response *resp, const struct result *r, const char *txid)
{
    const char *msg =
        r->status == 202 ? "Accepted: the operation runs in the background" : "Success";
    char code[16];

    if (r->status >= 400)
        msg = json_string_value(json_object_get(r->body, "message")) ?: "Error";
    snprintf(code, sizeof(code), "%d", r->status >= 300 || r->status == 202 ? r->status : 200);
    MHD_add_response_header(resp, "ESC-Status-Code", code);
    MHD_add_response_header(resp, "ESC-Status-Message", msg);
    if (txid)
        MHD_add_response_header(resp, "ESC-Transaction-Id", txid);
}

enum MHD_Result http_respond_fmt(struct MHD_Connection *conn, const struct result *r,
                                 const char *client_txn_id, const struct http_fmt *f)
{
    const char *ctype;
    char *text = body_text(r, f, &ctype);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = 0;

    if (text) {
        len = strlen(text);
        text = xrealloc(text, len + 2);
        text[len++] = '\n';
        text[len] = '\0';
    }
    resp = MHD_create_response_from_buffer(len, text ? text : "",
                                           text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (text)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (*r->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (client_txn_id && f->style == HTTP_NATIVE)
        MHD_add_response_header(resp, "Client-Transaction-Id", client_txn_id);
    if (f->esc)
        esc_headers(resp, r, client_txn_id);
    if (*f->version)
        MHD_add_response_header(resp, "Version", f->version);
    ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, const struct http_fmt *f,
                                     int status, const char *reason, const char *key,
                                     const char *value, const char *msg)
{
    struct result r = {0};
    enum MHD_Result ret;

    result_fail(&r, status, reason, key, value, "%s", msg);
    ret = http_respond_fmt(conn, &r, NULL, f);
    result_done(&r);
    return ret;
}

/* Matches path against pattern, capturing "{x}" segments into args. */
static bool match(const char *pattern, const char *path, char **args)
{
    unsigned n = 0;

    while (*pattern && *path) {
        if (*pattern == '{') {
            const char *end = strchr(path, '/');
            size_t len = end ? (size_t)(end - path) : strlen(path);

            if (len == 0 || n >= 3)
                return false;
            args[n++] = xstrndup(path, len);
            path += len;
            pattern = strchr(pattern, '}') + 1;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == '\0' && (*path == '\0' || (path[0] == '/' && path[1] == '\0'));
}

static void free_args(char **args)
{
    for (unsigned i = 0; i < 3; i++) {
        free(args[i]);
        args[i] = NULL;
    }
}

/* Finds the route; sets *path_known when the path exists for another method. */
static const struct route *find_route(const char *method, const char *url, char **args,
                                      struct sbuf *allow)
{
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct route *rt = &api_routes[i];

        if (!match(rt->pattern, url, args)) {
            free_args(args);
            continue;
        }
        if (strcmp(rt->method, method) == 0)
            return rt;
        sbuf_addf(allow, "%s%s", allow->len ? ", " : "", rt->method);
        free_args(args);
    }
    return NULL;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

static int check_query(const struct route *rt, const json_t *query, struct result *res)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)query, key, v)
    {
        const char *const *p = rt->params;

        while (p && *p && strcmp(*p, key) != 0)
            p++;
        if (!p || !*p)
            return result_fail(res, 400, "unknown-field", "field", key,
                               "unknown query parameter '%s'", key);
    }
    return 0;
}

static const char *bearer(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Auth-Token");
}

static int authenticate(struct http_server *s, struct MHD_Connection *conn, struct store *st,
                        struct principal *who, struct result *res)
{
    const char *token = bearer(conn);
    int r;

    if (!token || !*token)
        return result_fail(res, 401, "unauthorized", NULL, NULL,
                           "missing 'Authorization: Bearer TOKEN' header");
    r = auth_resolve(st, s->c->admin_hash, token, who);
    if (r == -EPERM)
        return result_fail(res, 403, "forbidden", NULL, NULL, "the token's tenant is disabled");
    if (r)
        return result_fail(res, 401, "unauthorized", NULL, NULL, "invalid token");
    return 0;
}

/* Body of a write: a JSON object, or none. NULL with res set on error. */
static json_t *parse_body(struct MHD_Connection *conn, const struct route *rt, struct req *rq,
                          struct result *res)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    struct jv_error jerr;
    json_error_t jerror;
    json_t *body;

    if (rq->too_large) {
        result_fail(res, 413, "too-large", NULL, NULL, "the body is larger than %u bytes",
                    BODY_MAX);
        return NULL;
    }
    if (rq->body.len == 0) {
        if (rt->flags & R_BODY)
            result_fail(res, 400, "bad-json", NULL, NULL, "a JSON object body is required");
        return rt->flags & R_BODY ? NULL : json_object();
    }
    if (xml_media(ctype)) {
        if (xml_to_json(rq->body.s, rq->body.len, route_body_schema(rt), &body, &jerr)) {
            result_fail(res, 400, jerr.reason, *jerr.field ? "field" : NULL, jerr.field, "%s",
                        jerr.message);
            return NULL;
        }
    } else if (ctype && !strcasestr(ctype, "json")) {
        result_fail(res, 415, "unsupported-media-type", NULL, NULL,
                    "Content-Type '%s' is not supported; send application/json or "
                    "application/xml",
                    ctype);
        return NULL;
    } else {
        body = json_loadb(rq->body.s, rq->body.len, JSON_REJECT_DUPLICATES, &jerror);
    }
    if (!body) {
        result_fail(res, 400, "bad-json", NULL, NULL, "malformed JSON at line %d column %d: %s",
                    jerror.line, jerror.column, jerror.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        result_fail(res, 400, "bad-json", NULL, NULL,
                    "the body must be a JSON object (or an "
                    "XML element with children)");
        return NULL;
    }
    if ((rt->schema && jv_check(body, rt->schema, &jerr)) ||
        (rt->validate && rt->validate(body, &jerr))) {
        json_decref(body);
        result_fail(res, 400, jerr.reason, "field", jerr.field, "%s", jerr.message);
        return NULL;
    }
    return body;
}

static int check_callback(const char *url, struct result *res)
{
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 && url[0] != '/')
        return result_fail(res, 400, "invalid-value", "field", "Callback",
                           "the Callback header must be an absolute http:// or https:// URL, "
                           "or a path (seed Table 3)");
    return 0;
}

/* A Callback that is a path (seed Table 3: "Callback:/createtenantcallback")
 * goes to --callback-base, else to the client's own address. malloc'd. */
static char *resolve_callback(struct http_server *s, struct MHD_Connection *conn, const char *cb)
{
    const union MHD_ConnectionInfo *ci;
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    const char *base = s->c->cfg->callback_base;

    if (!cb || cb[0] != '/')
        return xstrdup(cb);
    if (base)
        return xasprintf("%.*s%s", (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base, cb);
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr, host,
                  sizeof(host));
        return xasprintf("http://[%s]%s", host, cb);
    }
    if (ci && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, host, sizeof(host));
    return xasprintf("http://%s%s", host, cb);
}

static void txn_complete(struct txn *t)
{
    MHD_resume_connection(t->complete_data);
}

static void route_root(const char *pattern, char *out, size_t size);

static enum MHD_Result submit_write(struct http_server *s, struct MHD_Connection *conn,
                                    const struct route *rt, struct req *rq, struct rctx *r)
{
    const char *txid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Client-Transaction-Id");
    const char *cb = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Callback");
    json_t *body = NULL;
    struct txn *t;

    if (check_callback(cb, &r->res) || !(body = parse_body(conn, rt, rq, &r->res)))
        return http_respond_fmt(conn, &r->res, txid, &rq->fmt);
    t = txn_new(rt->apply, rt->name);
    t->admin_only = rt->flags & R_ADMIN;
    t->who = r->who;
    t->body = body;
    memcpy(t->args, r->args, sizeof(t->args));
    memset(r->args, 0, sizeof(r->args));
    t->query = json_incref(r->query);
    t->client_txn_id = xstrdup(txid);
    t->callback = resolve_callback(s, conn, cb);
    t->xml = rq->fmt.xml;
    if (!*rq->fmt.root)
        route_root(rt->pattern, rq->fmt.root, sizeof(rq->fmt.root));
    t->xml_root = xstrdup(rq->fmt.root);
    t->complete = txn_complete;
    t->complete_data = conn;
    rq->txn = t;
    MHD_suspend_connection(conn); /* before the loop can resume it */
    txq_submit(s->c->txq, t);
    return MHD_YES;
}

/* The root element of a route's single-object answers: its last literal
 * segment in the singular ("/v0/tenants/{id}" -> "tenant"), or for an
 * action on an object ("/v0/operations/{id}/fail") the object's. */
static void route_root(const char *pattern, char *out, size_t size)
{
    char last[64] = "", prev[64] = "result", seg[64];
    bool after_param = false, action = false;
    size_t n;

    for (const char *p = pattern; *p;) {
        p += *p == '/';
        n = strcspn(p, "/");
        snprintf(seg, sizeof(seg), "%.*s", (int)n, p);
        p += n;
        if (seg[0] == '{') {
            after_param = true;
        } else if (*seg && strcmp(seg, "v0") != 0) {
            action = after_param;
            after_param = false;
            if (!action)
                snprintf(prev, sizeof(prev), "%s", seg);
            snprintf(last, sizeof(last), "%s", seg);
        }
    }
    snprintf(out, size, "%s", action && last[strlen(last) - 1] != 's' ? prev : last);
    n = strlen(out);
    if (n > 1 && out[n - 1] == 's' && out[n - 2] != 's')
        out[n - 1] = '\0';
}

/* XML when the client accepts it (before JSON), else as it wrote. */
static void native_fmt(struct MHD_Connection *conn, const struct route *rt, struct http_fmt *f)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *json = accept ? strcasestr(accept, "json") : NULL;
    const char *xml = accept ? strcasestr(accept, "xml") : NULL;

    memset(f, 0, sizeof(*f));
    f->style = HTTP_NATIVE;
    f->esc = true;
    if (json || xml)
        f->xml = xml && (!json || xml < json);
    else
        f->xml = xml_media(ctype);
    if (f->xml) /* writes name it too (submit_write); JSON reads need none */
        route_root(rt ? rt->pattern : "/v0/result", f->root, sizeof(f->root));
}

static enum MHD_Result dispatch(struct http_server *s, struct MHD_Connection *conn, const char *url,
                                const char *method, struct req *rq)
{
    const char *txid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Client-Transaction-Id");
    struct rctx r = {.c = s->c};
    struct sbuf allow = SBUF_INIT;
    const struct route *rt = find_route(method, url, r.args, &allow);
    enum MHD_Result ret;

    if (strncmp(url, "/vnflcm/", 8) == 0 || strcmp(url, "/vnflcm") == 0) {
        free_args(r.args); /* SOL003 has its own routes */
        sbuf_done(&allow);
        return sol_dispatch(s, conn, url, method, rq);
    }
    native_fmt(conn, rt, &rq->fmt);
    if (!rt && allow.len) {
        result_fail(&r.res, 405, "method-not-allowed", NULL, NULL, "method not allowed here");
        r.res.allow = sbuf_str(&allow);
        ret = http_respond_fmt(conn, &r.res, NULL, &rq->fmt);
        result_done(&r.res);
        sbuf_done(&allow);
        return ret;
    }
    if (!rt) {
        sbuf_done(&allow);
        return respond_error(conn, &rq->fmt, 404, "not-found", NULL, NULL, "no such resource");
    }
    sbuf_done(&allow);
    r.query = json_object();
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query, r.query);
    r.st = http_thread_store(s);
    if (!r.st)
        result_fail(&r.res, 503, "unavailable", NULL, NULL, "the store cannot be read");
    else if (check_query(rt, r.query, &r.res) == 0 && !(rt->flags & R_PUBLIC) &&
             !(rt->flags & R_METRICS && s->c->cfg->metrics_public) &&
             authenticate(s, conn, r.st, &r.who, &r.res) == 0 && rt->flags & R_ADMIN &&
             !r.who.admin && rt->read)
        result_fail(&r.res, 403, "forbidden", NULL, NULL, "'%s' needs the admin token", rt->name);
    if (r.res.status)
        ret = http_respond_fmt(conn, &r.res, txid, &rq->fmt);
    else if (rt->flags & R_STREAM)
        ret = sse_start(s, conn, &r);
    else if (rt->read) {
        rt->read(&r);
        ret = http_respond_fmt(conn, &r.res, txid, &rq->fmt);
    } else
        ret = submit_write(s, conn, rt, rq, &r);
    result_done(&r.res);
    json_decref(r.query);
    free_args(r.args);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct http_server *s = cls;
    struct req *rq = *con_cls;

    (void)version;
    if (!rq) {
        *con_cls = xcalloc(1, sizeof(struct req));
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->body.len + *upload_size > BODY_MAX)
            rq->too_large = true;
        else
            sbuf_add(&rq->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->txn) /* resumed: the transactor has answered */
        return http_respond_fmt(conn, &rq->txn->res, rq->txn->client_txn_id, &rq->fmt);
    return dispatch(s, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)conn;
    (void)code;
    if (!rq)
        return;
    txn_free(rq->txn);
    sbuf_done(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("REST server: %s", msg); /* client disconnects are routine */
}

static int resolve(const struct config *cfg, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    char port[8];
    int r;

    snprintf(port, sizeof(port), "%u", cfg->listen_port);
    r = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (r) {
        snprintf(err, errlen, "cannot resolve --listen host '%s': %s", cfg->listen_host,
                 gai_strerror(r));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

struct http_server *http_start(struct core *c, char *err, size_t errlen)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;

    if (resolve(c->cfg, &ss, err, errlen)) {
        free(s);
        return NULL;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->c = c;
    pthread_mutex_init(&s->mu, NULL);
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
                            c->cfg->http_threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_CONNECTION_LIMIT, 4096u,
                            /* what a request's headers need; MHD clears it per request */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s:%u (in use, or not an address here?)",
                 c->cfg->listen_host, c->cfg->listen_port);
        free(s);
        return NULL;
    }
    return s;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    for (unsigned i = 0; i < s->n_stores; i++)
        store_close(s->stores[i]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- for other front ends on the same server (http_internal.h) ---- */

const struct sbuf *http_req_body(const struct req *rq, bool *too_large)
{
    *too_large = rq->too_large;
    return &rq->body;
}

struct http_fmt *http_req_fmt(struct req *rq)
{
    return &rq->fmt;
}

enum MHD_Result http_submit(struct http_server *s, struct MHD_Connection *conn, struct req *rq,
                            struct txn *t)
{
    t->complete = txn_complete;
    t->complete_data = conn;
    rq->txn = t;
    MHD_suspend_connection(conn); /* before the loop can resume it */
    txq_submit(s->c->txq, t);
    return MHD_YES;
}

int http_authenticate(struct http_server *s, struct MHD_Connection *conn, struct store *st,
                      struct principal *who, struct result *res)
{
    return authenticate(s, conn, st, who, res);
}

struct core *http_core(struct http_server *s)
{
    return s->c;
}
