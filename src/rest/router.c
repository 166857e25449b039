/* The router (router.h) over the HTTP engine (util/httpd.h).
 *
 * Matching: the patterns of every mount, under their prefixes, form one
 * tree of path segments built at start-up; a request walks it a segment at
 * a time (literal children first, then the "{x}" child), and the node it
 * ends on lists its routes per method. The deepest mount on the way gives
 * the style of a 404.
 */
#include "rest/callback.h"
#include "rest/router_internal.h"
#include "rest/xml.h"
#include "core/auth.h"
#include "core/cluster.h"
#include "core/health.h"
#include "core/names.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LISTEN_TRIES      40 /* a port in use at the start, tried again (2 s) */
#define LISTEN_WAIT_MS    50
#define BODY_MAX          (1u << 20)
#define MAX_THREAD_STORES 64
#define MAX_MOUNTS        12
#define QUERY_MAX_PARAMS  64
#define TXID_MAX          256  /* Client-Transaction-Id */
#define CALLBACK_MAX      2048 /* Callback */
#define MAX_DEPTH         16   /* path segments */

/* A node of the segment tree. */
struct rnode {
    char *seg; /* literal segment; NULL for "{x}" */
    size_t len;
    struct rnode **kids; /* literal children */
    unsigned n_kids;
    struct rnode *param;         /* the "{x}" child */
    struct rnode *rest;          /* the "{x*}" child: the rest of the path, a leaf */
    const struct mount *mount;   /* the mount whose prefix ends here or above */
    const struct route **routes; /* ending here, in table order */
    unsigned n_routes;
    char *allow; /* their methods, for 405 */
};

struct router {
    struct core *c;
    struct httpd *h;
    const struct mount *mounts[MAX_MOUNTS];
    unsigned n_mounts;
    struct rnode *root;
    pthread_mutex_t mu;
    struct store *stores[MAX_THREAD_STORES];
    unsigned n_stores;
    unsigned long acks; /* writes acknowledged (atomic): see batch_store */
};

/* How an answer is written. */
struct fmt {
    const struct mount *m;
    bool xml;      /* native: XML */
    char root[64]; /* native XML: root element of a single object */
};

/* A request waiting for the transactor (or a worker before it). */
struct rreq {
    struct router *rt;
    struct httpd_conn *conn;
    struct fmt f;
    struct txn *t;
    const struct route *route;
    struct wjob job; /* route->before, or later */
    void (*later)(void *arg, struct result *res);
    void (*later_free)(void *arg);
    void *later_arg;
};

static const struct mount fallback_mount = {.prefix = "", .style = STYLE_NATIVE};

static __thread struct store *tl_store;

/* tl_store holds a read transaction for the requests of the thread's batch
 * of events, begun when rt->acks was tl_batch_acks. */
static __thread bool tl_batch;
static __thread unsigned long tl_batch_acks;

static void batch_end(void *arg)
{
    (void)arg;
    if (tl_batch)
        store_rollback(tl_store);
    tl_batch = false;
}

/* The thread's reader handle, opened on first use. */
static struct store *thread_reader(struct router *rt)
{
    char err[256];

    if (tl_store)
        return tl_store;
    if (store_open_reader(rt->c->st, &tl_store, err, sizeof(err))) {
        log_error("REST: %s", err);
        tl_store = NULL;
        return NULL;
    }
    pthread_mutex_lock(&rt->mu);
    if (rt->n_stores < MAX_THREAD_STORES)
        rt->stores[rt->n_stores++] = tl_store;
    pthread_mutex_unlock(&rt->mu);
    return tl_store;
}

struct store *router_thread_store(struct router *rt)
{
    batch_end(rt); /* reads at this moment (streams) */
    return thread_reader(rt);
}

/* The thread's store for the reads of a request. The requests of one batch
 * of events (httpd_ops.batch_end) share one read transaction: SQLite's read
 * locks cost more than a small read. A client reads what was there when the
 * batch began, and what it wrote: the transaction begins again after any
 * write has been acknowledged. */
static struct store *batch_store(struct router *rt)
{
    unsigned long acks = __atomic_load_n(&rt->acks, __ATOMIC_ACQUIRE);
    struct store *st;

    if (tl_batch && tl_batch_acks == acks)
        return tl_store;
    batch_end(rt);
    st = thread_reader(rt);
    if (st && store_begin(st) == 0) {
        tl_batch = true;
        tl_batch_acks = acks;
    }
    return st;
}

const char *rctx_header(const struct rctx *r, const char *name)
{
    return r->http ? httpd_header(r->http, name) : NULL;
}

/* ---- the segment tree ---- */

static struct rnode *node_new(const char *seg, size_t len, const struct mount *m)
{
    struct rnode *n = xcalloc(1, sizeof(*n));

    n->seg = seg ? xstrndup(seg, len) : NULL;
    n->len = len;
    n->mount = m;
    return n;
}

static void node_free(struct rnode *n)
{
    if (!n)
        return;
    for (unsigned i = 0; i < n->n_kids; i++)
        node_free(n->kids[i]);
    node_free(n->param);
    node_free(n->rest);
    free(n->kids);
    free(n->routes);
    free(n->allow);
    free(n->seg);
    free(n);
}

/* The child for one segment of a pattern, made when missing. */
static struct rnode *child(struct rnode *n, const char *seg, size_t len)
{
    struct rnode *k;

    if (seg[0] == '{' && seg[len - 2] == '*') {
        if (!n->rest)
            n->rest = node_new(NULL, 0, n->mount);
        return n->rest;
    }
    if (seg[0] == '{') {
        if (!n->param)
            n->param = node_new(NULL, 0, n->mount);
        return n->param;
    }
    for (unsigned i = 0; i < n->n_kids; i++)
        if (n->kids[i]->len == len && memcmp(n->kids[i]->seg, seg, len) == 0)
            return n->kids[i];
    k = node_new(seg, len, n->mount);
    n->kids = xrealloc(n->kids, (n->n_kids + 1) * sizeof(*n->kids));
    n->kids[n->n_kids++] = k;
    return k;
}

/* The node of a path pattern below n ("/a/{id}/b"). */
static struct rnode *walk_pattern(struct rnode *n, const char *p)
{
    while (*p) {
        size_t len;

        p += *p == '/';
        len = strcspn(p, "/");
        if (len)
            n = child(n, p, len);
        p += len;
    }
    return n;
}

/* A mount's nodes inherit it, below its prefix. */
static void claim(struct rnode *n, const struct mount *from, const struct mount *to)
{
    if (n->mount != from)
        return;
    n->mount = to;
    for (unsigned i = 0; i < n->n_kids; i++)
        claim(n->kids[i], from, to);
    if (n->param)
        claim(n->param, from, to);
    if (n->rest)
        claim(n->rest, from, to);
}

static void add_mount(struct router *rt, const struct mount *m)
{
    struct rnode *base = walk_pattern(rt->root, m->prefix);

    /* a second mount at the same prefix adds routes; the first one's style,
     * checks and hooks apply to them (fed's /v0 routes under the native) */
    if (base->mount == &fallback_mount || strcmp(base->mount->prefix, m->prefix) != 0)
        claim(base, base->mount, m);
    for (size_t i = 0; i < m->n_routes; i++) {
        const struct route *r = &m->routes[i];
        struct rnode *n = walk_pattern(base, r->pattern);
        char *allow = n->allow;

        n->routes = xrealloc(n->routes, (n->n_routes + 1) * sizeof(*n->routes));
        n->routes[n->n_routes++] = r;
        n->allow = allow ? xasprintf("%s, %s", allow, r->method) : xstrdup(r->method);
        free(allow);
    }
}

struct match {
    const struct rnode *node; /* where the path ended */
    const char *args[3];
    size_t arg_len[3];
};

/* Whether segs[0..n) may be the rest of a path ("{x*}"): plain names,
 * none of them empty, "." or "..", nor holding a decoded '/' or '\\'. */
static bool rest_ok(char **segs, const size_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (lens[i] == 0 ||
            (segs[i][0] == '.' && (lens[i] == 1 || (lens[i] == 2 && segs[i][1] == '.'))) ||
            memchr(segs[i], '/', lens[i]) || memchr(segs[i], '\\', lens[i]))
            return false;
    return n > 0;
}

/* Matches segs[0..n) below node: literal children first, then "{x}", then
 * "{x*}" (whose argument spans the rest: its segments are contiguous in
 * the buffer of split_path, NUL between them). */
static bool match(const struct rnode *node, char **segs, size_t *lens, unsigned n, struct match *m,
                  unsigned n_args)
{
    if (n == 0) {
        m->node = node;
        return node->n_routes > 0;
    }
    for (unsigned i = 0; i < node->n_kids; i++) {
        const struct rnode *k = node->kids[i];

        if (k->len == lens[0] && memcmp(k->seg, segs[0], lens[0]) == 0 &&
            match(k, segs + 1, lens + 1, n - 1, m, n_args))
            return true;
    }
    if (node->param && lens[0] > 0 && n_args < 3) {
        m->args[n_args] = segs[0];
        m->arg_len[n_args] = lens[0];
        if (match(node->param, segs + 1, lens + 1, n - 1, m, n_args + 1))
            return true;
    }
    if (node->rest && node->rest->n_routes && n_args < 3 && rest_ok(segs, lens, n)) {
        m->node = node->rest;
        m->args[n_args] = segs[0];
        m->arg_len[n_args] = (size_t)(segs[n - 1] + lens[n - 1] - segs[0]);
        return true;
    }
    return false;
}

/* The mount of a path that matched no route: the deepest one whose
 * prefix it starts with. */
static const struct mount *mount_of(const struct rnode *n, char **segs, const size_t *lens,
                                    unsigned n_segs)
{
    for (unsigned s = 0; s < n_segs; s++) {
        const struct rnode *next = NULL;

        for (unsigned i = 0; i < n->n_kids && !next; i++)
            if (n->kids[i]->len == lens[s] && memcmp(n->kids[i]->seg, segs[s], lens[s]) == 0)
                next = n->kids[i];
        if (!next)
            break;
        n = next;
    }
    return n->mount;
}

/* ---- decoding ---- */

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Whether s[0..n) is UTF-8 (RFC 3629: no overlongs, no surrogates). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], need, min;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            need = 1, min = 0x80, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            need = 2, min = 0x800, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            need = 3, min = 0x10000, cp = c & 0x07;
        else
            return false;
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* Percent-decodes s[0..n) into out ('+' is a space when plus); returns the
 * length, or -1 for a bad escape. */
static ssize_t pct_decode(const char *s, size_t n, char *out, bool plus)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* A decoded path segment or query value a person could have typed: valid
 * UTF-8 without control characters (a NUL would cut an id short). */
static bool text_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return utf8_valid((const unsigned char *)s, n);
}

/* Splits and decodes the path into segs (pointing into buf). */
static int split_path(const char *path, char *buf, char **segs, size_t *lens, unsigned *n,
                      struct result *res)
{
    const char *p = path;

    *n = 0;
    while (*p) {
        size_t len;
        ssize_t d;

        p++; /* the '/' */
        len = strcspn(p, "/");
        if (len == 0 && p[len] == '\0')
            break; /* a trailing slash */
        if (*n == MAX_DEPTH)
            return result_fail(res, 404, "not-found", NULL, NULL, "no such resource");
        d = pct_decode(p, len, buf, false);
        if (d < 0)
            return result_fail(res, 400, "invalid-value", "field", "path", "%s",
                               "the path has a malformed percent-encoding");
        if (!text_ok(buf, (size_t)d))
            return result_fail(res, 400, "invalid-value", "field", "path", "%s",
                               "a path segment holds a control character or is not UTF-8");
        segs[*n] = buf;
        lens[(*n)++] = (size_t)d;
        buf += d + 1;
        p += len;
    }
    return 0;
}

/* The query as an object of strings (the last of a repeated name wins), or
 * NULL when there is none. */
static int parse_query(const char *q, json_t **out, struct result *res)
{
    size_t qlen = q ? strlen(q) : 0;
    char *buf;
    unsigned n = 0;
    int r = 0;

    *out = NULL;
    if (!qlen)
        return 0;
    buf = xmalloc(qlen + 2); /* a last key without '=': its NUL, then its empty value's */
    for (const char *p = q; *p && !r;) {
        size_t len = strcspn(p, "&"), klen = strcspn(p, "=");
        ssize_t kd, vd;
        char *key = buf, *val;

        if (klen > len)
            klen = len;
        if (len == 0) {
            p++;
            continue;
        }
        if (++n > QUERY_MAX_PARAMS) {
            r = result_fail(res, 400, "invalid-value", "field", "query",
                            "more than %d query parameters", QUERY_MAX_PARAMS);
            break;
        }
        kd = pct_decode(p, klen, key, true);
        val = key + (kd < 0 ? 0 : kd) + 1;
        vd = klen < len ? pct_decode(p + klen + 1, len - klen - 1, val, true) : 0;
        if (klen == len)
            *val = '\0';
        if (kd < 0 || vd < 0 || !text_ok(key, (size_t)kd))
            r = result_fail(res, 400, "invalid-value", "field", "query",
                            "a query parameter's name is malformed, not UTF-8 or holds a "
                            "control character");
        else if (!text_ok(val, (size_t)vd))
            r = result_fail(res, 400, "invalid-value", "field", key,
                            "query parameter '%s' is not UTF-8 or holds a control character", key);
        else if (kd > 0) {
            if (!*out)
                *out = json_object();
            json_object_set_new(*out, key, json_stringn(val, (size_t)vd));
        }
        p += len + (p[len] == '&');
    }
    free(buf);
    if (r) {
        json_decref(*out);
        *out = NULL;
    }
    return r;
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

/* ---- answers ---- */

/* A SOL003 error: the native error as ProblemDetails (SOL013 6.4), with
 * the offending field kept as an extension member. */
static json_t *problem_details(const json_t *err, int status)
{
    json_t *p = json_pack("{s:s, s:i, s:s}", "title", httpd_reason(status), "status", status,
                          "detail", json_string_value(json_object_get(err, "message")) ?: "");

    if (json_object_get(err, "field"))
        json_object_set(p, "field", json_object_get(err, "field"));
    return p;
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

/* The body of r as text in format f (with a final newline), its length
 * and media type; NULL when it has none. Takes r's raw text. */
static char *body_text(struct result *r, const struct fmt *f, const char **ctype, size_t *len)
{
    json_t *doc;
    char *text;
    bool list;

    *ctype = "application/json";
    if (!r->raw && !r->body)
        return NULL;
    if (r->ctype) { /* a body of another kind (Prometheus text): as it is */
        *ctype = r->ctype;
        text = r->raw;
        r->raw = NULL;
    } else if (f->m->style == STYLE_NATIVE && !f->xml) {
        text = r->raw ? r->raw : json_dumps(r->body, JSON_COMPACT | JSON_REAL_PRECISION(10));
        r->raw = NULL;
    } else {
        doc = r->body ? json_incref(r->body) : json_loads(r->raw, 0, NULL);
        if (f->m->style == STYLE_PROBLEM) {
            if (r->status >= 400 && json_object_get(doc, "error")) {
                json_t *p = problem_details(doc, r->status);

                json_decref(doc);
                doc = p;
                *ctype = "application/problem+json";
            }
            text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY);
        } else {
            const char *root = r->status >= 400   ? "error"
                               : r->status == 202 ? "operation"
                                                  : f->root;

            root = xml_root_of(doc, root, &list);
            text = xml_from_json(list ? json_object_get(doc, root) : doc, root);
            *ctype = XML_MEDIA_TYPE;
        }
        json_decref(doc);
    }
    if (!text)
        return NULL;
    *len = strlen(text);
    text = xrealloc(text, *len + 2);
    text[(*len)++] = '\n';
    text[*len] = '\0';
    return text;
}

/* ESC-Status-Code and -Message (seed Table 4): 200 "Success" for a change
 * made, 202 for an operation started, else the error and its message. */
static void esc_status(const struct result *r, char code[8], char *msg, size_t size)
{
    int st = r->status >= 300 || r->status == 202 ? r->status : 200;
    json_t *doc = r->body || !r->raw || r->status < 400 ? NULL : json_loads(r->raw, 0, NULL);
    const char *m = json_string_value(json_object_get(r->body ? r->body : doc, "message"));

    code[0] = (char)('0' + st / 100 % 10);
    code[1] = (char)('0' + st / 10 % 10);
    code[2] = (char)('0' + st % 10);
    code[3] = '\0';
    snprintf(msg, size, "%s",
             r->status >= 400   ? m ?: "Error"
             : r->status == 202 ? "Accepted: the operation runs in the background"
                                : "Success");
    json_decref(doc);
}

static ssize_t file_read(void *cls, char *buf, size_t max)
{
    ssize_t n = read(*(int *)cls, buf, max);

    return n > 0 ? n : n == 0 ? -1 : -2;
}

static void file_release(void *cls)
{
    close(*(int *)cls);
    free(cls);
}

/* An answer read in pieces (result.stream_read, or result.file opened as
 * one), streamed: 0, or -1 with r an error. */
static int respond_stream(struct httpd_conn *conn, const struct fmt *f, struct result *r)
{
    struct httpd_kv h[2] = {{"Content-Type", r->ctype ? r->ctype : "application/octet-stream"}};
    int *fd;

    if (r->file) {
        fd = xmalloc(sizeof(*fd));
        *fd = open(r->file, O_RDONLY | O_CLOEXEC);
        if (*fd < 0) {
            free(fd);
            result_fail(r, errno == ENOENT ? 404 : 503, "unavailable", NULL, NULL,
                        "the file cannot be read: %s", strerror(errno));
            return -1;
        }
        r->stream_read = file_read;
        r->stream_release = file_release;
        r->stream_cls = fd;
    }
    if (f->m->version)
        h[1] = (struct httpd_kv){"Version", f->m->version};
    httpd_stream(conn, r->status, h, f->m->version ? 2 : 1, r->stream_read, r->stream_release,
                 r->stream_cls);
    r->stream_read = NULL; /* the engine's now */
    r->stream_release = NULL;
    r->stream_cls = NULL;
    return 0;
}

static void respond(struct httpd_conn *conn, const struct fmt *f, struct result *r,
                    const char *txid)
{
    struct httpd_kv h[11 + MOUNT_HEADERS_MAX];
    unsigned n = 0;
    const char *ctype;
    size_t len = 0;
    char code[8], msg[512], *text;

    if ((r->file || r->stream_read) && r->status < 300 && respond_stream(conn, f, r) == 0)
        return;
    if (r->body && !f->m->store_keys)
        doc_show_names(r->body);
    if (f->m->style == STYLE_NATIVE)
        esc_status(r, code, msg, sizeof(msg));
    text = body_text(r, f, &ctype, &len);
    if (text)
        h[n++] = (struct httpd_kv){"Content-Type", ctype};
    if (*r->location)
        h[n++] = (struct httpd_kv){"Location", r->location};
    if (r->link)
        h[n++] = (struct httpd_kv){"Link", r->link};
    if (*r->etag)
        h[n++] = (struct httpd_kv){"ETag", r->etag};
    if (r->allow)
        h[n++] = (struct httpd_kv){"Allow", r->allow};
    if (f->m->style == STYLE_NATIVE) {
        if (txid)
            h[n++] = (struct httpd_kv){"Client-Transaction-Id", txid};
        h[n++] = (struct httpd_kv){"ESC-Status-Code", code};
        h[n++] = (struct httpd_kv){"ESC-Status-Message", msg};
        if (txid)
            h[n++] = (struct httpd_kv){"ESC-Transaction-Id", txid};
    }
    if (r->version || f->m->version)
        h[n++] = (struct httpd_kv){"Version", r->version ? r->version : f->m->version};
    for (unsigned i = 0; i < f->m->n_headers && i < MOUNT_HEADERS_MAX; i++)
        h[n++] = f->m->headers[i];
    httpd_respond(conn, r->status, h, n, text, len);
}

static void respond_error(struct httpd_conn *conn, const struct fmt *f, int status,
                          const char *reason, const char *msg)
{
    struct result r = {0};

    result_fail(&r, status, reason, NULL, NULL, "%s", msg);
    respond(conn, f, &r, NULL);
    result_done(&r);
}

/* XML when the client accepts it (before JSON), else as it wrote. */
static void native_fmt(const struct httpd_req *rq, const struct mount *m, const struct route *route,
                       struct fmt *f)
{
    const char *accept = httpd_header(rq, "Accept");
    const char *json = accept ? strcasestr(accept, "json") : NULL;
    const char *xml = accept ? strcasestr(accept, "xml") : NULL;

    f->m = m;
    f->xml = false;
    f->root[0] = '\0';
    if (!m->xml_schema)
        return;
    if (json || xml)
        f->xml = xml && (!json || xml < json);
    else
        f->xml = xml_media(httpd_header(rq, "Content-Type"));
    if (f->xml) /* writes name it too; JSON reads need none */
        route_root(route ? route->pattern : "/v0/result", f->root, sizeof(f->root));
}

/* ---- checks ---- */

static const char *bearer(const struct httpd_req *rq)
{
    const char *h = httpd_header(rq, "Authorization");

    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    return httpd_header(rq, "X-Auth-Token");
}

static int authenticate(struct router *rt, struct rctx *r)
{
    const char *token = bearer(r->http);
    int e;

    if (!token || !*token)
        return result_fail(&r->res, 401, "unauthorized", NULL, NULL,
                           "missing 'Authorization: Bearer TOKEN' header");
    e = auth_resolve(r->st, rt->c->admin_hash, token, &r->who);
    if (e == -EPERM)
        return result_fail(&r->res, 403, "forbidden", NULL, NULL, "the token's tenant is disabled");
    if (e == -EKEYEXPIRED)
        return result_fail(&r->res, 401, "unauthorized", NULL, NULL, "the token has expired");
    if (e)
        return result_fail(&r->res, 401, "unauthorized", NULL, NULL, "invalid token");
    return 0;
}

/* Whether the media type of a Content-Type value (parameters aside) is type. */
static bool media_is(const char *ctype, const char *type)
{
    size_t n = strcspn(ctype, ";");

    while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    return n == strlen(type) && strncasecmp(ctype, type, n) == 0;
}

/* The body of a write: a JSON (or XML) object, or an empty object when
 * the route needs none and none came. NULL with res set on error. */
static json_t *parse_body(const struct httpd_req *rq, const struct mount *m,
                          const struct route *route, struct result *res)
{
    const char *ctype = httpd_header(rq, "Content-Type");
    bool xml = m->xml_schema && ctype && xml_media(ctype);
    struct jv_error jerr;
    json_error_t e;
    json_t *body;

    if (rq->body_too_large) {
        result_fail(res, 413, "too-large", NULL, NULL, "the body is larger than %zu bytes",
                    route->flags & R_RAW ? m->raw_max : BODY_MAX);
        return NULL;
    }
    if (route->flags & R_RAW && rq->body_error) {
        result_fail(res, 503, "unavailable", NULL, NULL, "cannot keep the body: %s",
                    strerror(rq->body_error));
        return NULL;
    }
    if (route->flags & R_RAW) /* the route's before() reads t->raw */
        return json_object();
    if (!rq->body_len) {
        if (route->flags & R_BODY)
            result_fail(res, 400, "bad-json", NULL, NULL, "a JSON object body is required");
        return route->flags & R_BODY ? NULL : json_object();
    }
    if (ctype && !xml && !media_is(ctype, "application/json") &&
        !(route->flags & R_PATCH && media_is(ctype, "application/merge-patch+json"))) {
        result_fail(res, 415, "unsupported-media-type", NULL, NULL,
                    "Content-Type '%s' is not supported; send %s", ctype,
                    m->xml_schema            ? "application/json or application/xml"
                    : route->flags & R_PATCH ? "application/merge-patch+json"
                                             : "application/json");
        return NULL;
    }
    if (xml) {
        if (xml_to_json(rq->body, rq->body_len, m->xml_schema(route), &body, &jerr)) {
            result_fail(res, 400, jerr.reason, *jerr.field ? "field" : NULL, jerr.field, "%s",
                        jerr.message);
            return NULL;
        }
    } else {
        body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &e);
        if (!body) {
            result_fail(res, 400, "bad-json", NULL, NULL, "malformed JSON at line %d column %d: %s",
                        e.line, e.column, e.text);
            return NULL;
        }
    }
    if (!json_is_object(body)) {
        json_decref(body);
        result_fail(res, 400, "bad-json", NULL, NULL, "the body must be a JSON object%s",
                    m->xml_schema ? " (or an XML element with children)" : "");
        return NULL;
    }
    if ((route->schema && jv_check(body, route->schema, &jerr)) ||
        (route->validate && route->validate(body, &jerr))) {
        json_decref(body);
        result_fail(res, 400, jerr.reason, "field", jerr.field, "%s", jerr.message);
        return NULL;
    }
    return body;
}

/* The native request headers of a write, bounded before anything is
 * committed (an answer must be able to carry them back). */
static int check_write_headers(const struct httpd_req *rq, struct result *res)
{
    const char *txid = httpd_header(rq, "Client-Transaction-Id");
    const char *cb = httpd_header(rq, "Callback");

    if (txid && (strlen(txid) > TXID_MAX || !text_ok(txid, strlen(txid))))
        return result_fail(res, 400, "invalid-value", "field", "Client-Transaction-Id",
                           "the Client-Transaction-Id header must be at most %d characters",
                           TXID_MAX);
    if (cb && (strlen(cb) > CALLBACK_MAX ||
               (strncmp(cb, "http://", 7) != 0 && strncmp(cb, "https://", 8) != 0 && cb[0] != '/')))
        return result_fail(res, 400, "invalid-value", "field", "Callback",
                           "the Callback header must be an absolute http:// or https:// URL, "
                           "or a path (seed Table 3), of at most %d characters",
                           CALLBACK_MAX);
    return 0;
}

/* The Client-Transaction-Id to echo: none when it is refused. */
static const char *txid_of(const struct httpd_req *rq)
{
    const char *txid = httpd_header(rq, "Client-Transaction-Id");

    return txid && strlen(txid) <= TXID_MAX ? txid : NULL;
}

/* A Callback that is a path (seed Table 3: "Callback:/createtenantcallback")
 * goes to --callback-base, else to the client's own address. malloc'd. */
static char *resolve_callback(struct router *rt, const struct httpd_req *rq, const char *cb)
{
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    const char *base = rt->c->cfg->callback_base;
    const struct sockaddr *sa = rq->peer;

    if (!cb || cb[0] != '/')
        return xstrdup(cb);
    if (base)
        return xasprintf("%.*s%s", (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base, cb);
    if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
        return xasprintf("http://[%s]%s", host, cb);
    }
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
    return xasprintf("http://%s%s", host, cb);
}

/* ---- writes ---- */

static void txn_complete(struct txn *t)
{
    struct rreq *q = t->complete_data;

    __atomic_add_fetch(&q->rt->acks, 1, __ATOMIC_RELEASE); /* before the answer: batch_store */
    httpd_resume(q->conn);
}

static void before_work(struct wjob *w)
{
    struct rreq *q = (struct rreq *)((char *)w - offsetof(struct rreq, job));

    q->route->before(q->rt->c, q->t);
}

/* On the loop: refused, or on to the transactor. */
static void before_done(struct wjob *w)
{
    struct rreq *q = (struct rreq *)((char *)w - offsetof(struct rreq, job));
    struct core *c = q->rt->c;

    if (w->cancelled || !c->txq)
        result_fail(&q->t->res, 503, "unavailable", NULL, NULL, "the manager is stopping");
    if (q->t->res.status)
        q->t->complete(q->t);
    else
        txq_submit(c->txq, q->t);
}

/* A standby of a cluster (docs/HA.md) takes no write, nor an event stream
 * (its bus sees no commit): 307 to the primary
 * (a 307 keeps the method and the body), with the primary's URL in the
 * body too; 503 while one is being elected. 0 on the primary, or alone. */
static int not_primary(const struct router *rt, const struct httpd_req *rq, struct result *res)
{
    char primary[CLUSTER_URL_MAX];
    enum cluster_role role;

    if (!rt->c->cluster)
        return 0;
    role = cluster_role(rt->c->cluster, primary, sizeof(primary));
    if (role == CLUSTER_PRIMARY)
        return 0;
    if (role == CLUSTER_PROMOTING || !*primary)
        return result_fail(res, 503, "not-primary", NULL, NULL,
                           "no primary: one is being elected; try again");
    result_fail(res, 307, "not-primary", NULL, NULL, "this manager is a standby; the primary is %s",
                primary);
    json_object_set_new(res->body, "primary", json_string(primary));
    snprintf(res->location, sizeof(res->location), "%s%s%s%s", primary, rq->path,
             rq->query ? "?" : "", rq->query ? rq->query : "");
    return -1;
}

static void submit_write(struct router *rt, struct httpd_conn *conn, const struct route *route,
                         struct rctx *r, struct fmt *f)
{
    const struct httpd_req *rq = r->http;
    bool native = f->m->style == STYLE_NATIVE;
    const char *txid = native ? httpd_header(rq, "Client-Transaction-Id") : NULL;
    json_t *body = NULL;
    char *cb = NULL;
    struct rreq *q;
    struct txn *t;

    if (not_primary(rt, rq, &r->res) || (native && check_write_headers(rq, &r->res)) ||
        (native &&
         callback_check(rt->c, &r->who, cb = resolve_callback(rt, rq, httpd_header(rq, "Callback")),
                        &r->res)) ||
        !(body = parse_body(rq, f->m, route, &r->res))) {
        free(cb);
        respond(conn, f, &r->res, txid_of(rq));
        return;
    }
    t = txn_new(route->apply, route->name ? route->name : route->pattern);
    t->admin_only = route->flags & R_ADMIN;
    t->lock_exempt = route->flags & R_NOLOCK;
    t->who = r->who;
    t->body = body;
    if (route->flags & R_RAW) {
        t->raw = rq->body;
        t->raw_len = rq->body_len;
        t->raw_fd = rq->body_fd;
    }
    memcpy(t->args, r->args, sizeof(t->args));
    memset(r->args, 0, sizeof(r->args));
    t->query = r->query ? json_incref(r->query) : json_object();
    if (native) {
        t->client_txn_id = xstrdup(txid);
        t->callback = cb;
        t->xml = f->xml;
        if (!*f->root)
            route_root(route->pattern, f->root, sizeof(f->root));
        t->xml_root = xstrdup(f->root);
    }
    if (f->m->prepare)
        f->m->prepare(r, t);
    q = xcalloc(1, sizeof(*q));
    q->rt = rt;
    q->conn = conn;
    q->f = *f;
    q->t = t;
    q->route = route;
    t->complete = txn_complete;
    t->complete_data = q;
    httpd_suspend(conn, q); /* before the loop can resume it */
    if (route->before) {
        q->job.work = before_work;
        q->job.done = before_done;
        wpool_submit(rt->c->conf, &q->job);
    } else {
        txq_submit(rt->c->txq, t);
    }
}

static void on_resume(void *arg, struct httpd_conn *conn, void *data)
{
    struct rreq *q = data;

    (void)arg;
    respond(conn, &q->f, &q->t->res, q->t->client_txn_id);
}

static void on_done(void *arg, void *data)
{
    struct rreq *q = data;

    (void)arg;
    if (q->later_free)
        q->later_free(q->later_arg);
    txn_free(q->t);
    free(q);
}

/* ---- answers made on the configuration pool (rctx.later) ---- */

static void later_work(struct wjob *w)
{
    struct rreq *q = (struct rreq *)((char *)w - offsetof(struct rreq, job));

    q->later(q->later_arg, &q->t->res);
}

static void later_done(struct wjob *w)
{
    struct rreq *q = (struct rreq *)((char *)w - offsetof(struct rreq, job));

    if (w->cancelled || !q->t->res.status)
        result_fail(&q->t->res, 503, "unavailable", NULL, NULL, "the manager is stopping");
    httpd_resume(q->conn);
}

static void offload(struct router *rt, struct httpd_conn *conn, struct rctx *r, const struct fmt *f,
                    const char *txid)
{
    struct rreq *q = xcalloc(1, sizeof(*q));

    q->rt = rt;
    q->conn = conn;
    q->f = *f;
    q->t = txn_new(NULL, "later");
    q->t->client_txn_id = txid ? xstrdup(txid) : NULL;
    q->later = r->later;
    q->later_free = r->later_free;
    q->later_arg = r->later_arg;
    q->job.work = later_work;
    q->job.done = later_done;
    httpd_suspend(conn, q); /* before the loop can resume it */
    wpool_submit(rt->c->conf, &q->job);
}

/* ---- dispatch ---- */

static const struct route *find_method(const struct rnode *n, const char *method)
{
    for (unsigned i = 0; i < n->n_routes; i++)
        if (strcmp(n->routes[i]->method, method) == 0)
            return n->routes[i];
    return NULL;
}

int router_find(const struct router *rt, const char *method, const char *path, const char *query,
                struct rctx *r, const struct route **route)
{
    char buf[HTTPD_TARGET_MAX + 1];
    char *segs[MAX_DEPTH];
    size_t lens[MAX_DEPTH];
    unsigned n = 0;
    struct match mt = {0};

    *route = NULL;
    if (strlen(path) > HTTPD_TARGET_MAX)
        return result_fail(&r->res, 414, "uri-too-long", NULL, NULL, "the path is too long");
    if (split_path(path, buf, segs, lens, &n, &r->res) == 0 &&
        match(rt->root, segs, lens, n, &mt, 0))
        *route = find_method(mt.node, method);
    r->mount = mt.node ? mt.node->mount : mount_of(rt->root, segs, lens, n);
    if (r->res.status)
        return -1;
    if (!*route && mt.node && mt.node->n_routes) {
        result_fail(&r->res, 405, "method-not-allowed", NULL, NULL,
                    "method %s is not allowed on this resource", method);
        r->res.allow = mt.node->allow;
        return -1;
    }
    if (!*route)
        return result_fail(&r->res, 404, "not-found", NULL, NULL, "no such resource");
    for (unsigned i = 0; i < 3 && mt.args[i]; i++) { /* a "{x*}" one's NULs were '/' */
        r->args[i] = xmalloc(mt.arg_len[i] + 1);
        for (size_t k = 0; k < mt.arg_len[i]; k++)
            r->args[i][k] = mt.args[i][k] ? mt.args[i][k] : '/';
        r->args[i][mt.arg_len[i]] = '\0';
    }
    return parse_query(query, &r->query, &r->res) || check_query(*route, r->query, &r->res) ? -1
                                                                                            : 0;
}

/* The kind of record a route's {id} names, when it is one whose names are
 * per tenant (deployments and SOL003 instances, VNFDs); else -1. */
static int named_kind(const char *pattern)
{
    if (strncmp(pattern, "/v0/deployments/{id}", 20) == 0 ||
        strncmp(pattern, "/vnf_instances/{id}", 19) == 0)
        return STORE_DEPLOYMENT;
    if (strncmp(pattern, "/v0/vnfds/{id}", 14) == 0)
        return STORE_VNFD;
    return -1;
}

/* What the caller names (the route's {id}, the query's deployment and
 * vnfd, a log query's object when it is a deployment) becomes the store key
 * it means (core/names.h); an admin's ?tenant= says whose. */
static int resolve_names(const struct route *route, struct rctx *r)
{
    static const struct {
        const char *param;
        enum store_kind kind;
        bool existing; /* only a record there is (object: also operations, VIs) */
    } params[] = {{"deployment", STORE_DEPLOYMENT, false},
                  {"vnfd", STORE_VNFD, false},
                  {"object", STORE_DEPLOYMENT, true}};
    const char *tenant =
        r->who.admin ? json_string_value(json_object_get(r->query, "tenant")) : r->who.tenant;
    int k = named_kind(route->pattern);
    json_t *doc = NULL;
    char *key;

    if (k >= 0 && r->args[0]) {
        if (!(key = names_key(r->st, tenant, k, r->args[0], &r->res)))
            return -1;
        free(r->args[0]);
        r->args[0] = key;
    }
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        const char *v = json_string_value(json_object_get(r->query, params[i].param));

        if (!v)
            continue;
        if (!(key = names_key(r->st, tenant, params[i].kind, v, &r->res)))
            return -1;
        if (!params[i].existing || store_get(r->st, params[i].kind, key, &doc) == 0)
            json_object_set_new(r->query, params[i].param, json_string(key));
        json_decref(doc);
        doc = NULL;
        free(key);
    }
    return 0;
}

/* Authentication and the checks before the handler; 0 or -1 with r->res. */
static int admit(struct router *rt, const struct route *route, struct rctx *r)
{
    const struct mount *m = r->mount;

    if (m->check && m->check(r, route))
        return -1;
    r->st = route->flags & R_PUBLIC ? thread_reader(rt) : batch_store(rt);
    if (!r->st)
        return result_fail(&r->res, 503, "unavailable", NULL, NULL, "the store cannot be read");
    if (!(route->flags & R_PUBLIC) && !(route->flags & R_METRICS && rt->c->cfg->metrics_public) &&
        authenticate(rt, r))
        return -1;
    if (route->flags & R_ADMIN && !r->who.admin && route->read)
        return result_fail(&r->res, 403, "forbidden", NULL, NULL, "'%s' needs the admin token",
                           route->name ? route->name : route->pattern);
    if (!(route->flags & R_PUBLIC) && resolve_names(route, r))
        return -1;
    if (route->flags & R_NOTSUPP)
        return result_fail(&r->res, 422, "not-supported", NULL, NULL,
                           "%s is not supported by this VNFM: %s", strrchr(route->pattern, '/') + 1,
                           route->why);
    return 0;
}

static void on_request(void *arg, struct httpd_conn *conn, struct httpd_req *rq)
{
    struct router *rt = arg;
    const char *txid = txid_of(rq);
    const struct route *route;
    struct rctx r = {.c = rt->c, .http = rq};
    struct fmt f;
    int bad = router_find(rt, rq->method, rq->path, rq->query, &r, &route);

    native_fmt(rq, r.mount, route, &f);
    bad = bad || admit(rt, route, &r);
    if (bad && r.later) {
        offload(rt, conn, &r, &f, txid);
    } else if (bad || (route->flags & R_STREAM &&
                       ((!r.any_role && not_primary(rt, rq, &r.res)) ||
                        (route->stream ? route->stream(&r, conn) : sse_start(rt, conn, &r))))) {
        respond(conn, &f, &r.res, route ? txid : NULL);
    } else if (route->flags & R_STREAM) {
        ;
    } else if (route->read) {
        route->read(&r);
        respond(conn, &f, &r.res, txid);
    } else {
        submit_write(rt, conn, route, &r, &f);
    }
    result_done(&r.res);
    json_decref(r.query);
    for (unsigned i = 0; i < 3; i++)
        free(r.args[i]);
}

/* The mount of the R_RAW route the head of rq names, or NULL. */
static const struct mount *raw_mount(void *arg, const struct httpd_req *rq)
{
    const struct route *route;
    struct rctx r = {0};

    if (router_find(arg, rq->method, rq->path, NULL, &r, &route) || !(route->flags & R_RAW))
        r.mount = NULL;
    result_done(&r.res);
    json_decref(r.query);
    for (unsigned i = 0; i < 3; i++)
        free(r.args[i]);
    return r.mount;
}

/* Whether the head of rq carries a token that names someone. */
static bool authenticated(struct router *rt, const struct httpd_req *rq)
{
    struct rctx r = {.c = rt->c, .http = rq};
    bool ok;

    r.st = thread_reader(rt);
    ok = r.st && authenticate(rt, &r) == 0;
    result_done(&r.res);
    return ok;
}

/* R_RAW routes take bodies up to their mount's raw_max, from a client
 * with a valid token only: anyone else's body is held to the 1 MiB of
 * every request (a package is never taken in, to memory or to disk, from
 * someone who will be refused). */
static size_t on_body_max(void *arg, const struct httpd_req *rq)
{
    const struct mount *m = raw_mount(arg, rq);

    return m && authenticated(arg, rq) ? m->raw_max : 0;
}

/* A file without a name in dir (unlinked at once where O_TMPFILE is not
 * supported), or -1. */
static int unnamed_file(const char *dir)
{
    char *path;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
        return fd;
    path = xasprintf("%s/.body-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    free(path);
    return fd;
}

/* The body of an R_RAW route goes into a file of its mount's raw_dir
 * without a name: a client that goes leaves nothing behind. */
static int on_body_file(void *arg, const struct httpd_req *rq)
{
    const struct mount *m = raw_mount(arg, rq);
    int fd = m && m->raw_dir ? unnamed_file(m->raw_dir) : -1;

    if (m && m->raw_dir && fd < 0)
        log_warn("REST: cannot keep a body in %s (held in memory): %s", m->raw_dir,
                 strerror(errno));
    return fd;
}

static void on_refuse(void *arg, struct httpd_conn *conn, const struct httpd_req *rq, int status,
                      const char *msg)
{
    struct router *rt = arg;
    char path[256], buf[sizeof(path)], *segs[MAX_DEPTH];
    size_t lens[MAX_DEPTH];
    unsigned n = 0;
    struct result ignored = {0};
    struct fmt f;
    const char *reason = status == 413   ? "too-large"
                         : status == 414 ? "uri-too-long"
                         : status == 431 ? "headers-too-large"
                         : status == 408 ? "request-timeout"
                         : status == 501 ? "not-implemented"
                         : status == 505 ? "http-version"
                         : status == 417 ? "expectation-failed"
                                         : "bad-request";

    if (status == 413 && rq->method && rq->path && raw_mount(arg, rq) && !authenticated(rt, rq)) {
        status = 401;
        reason = "unauthorized";
        msg = "a valid token is needed to send a body larger than 1 MiB here "
              "('Authorization: Bearer TOKEN')";
    }
    /* its style is the mount's, as far as the path is known */
    snprintf(path, sizeof(path), "%s", rq->path ? rq->path : "");
    split_path(path, buf, segs, lens, &n, &ignored);
    result_done(&ignored);
    f = (struct fmt){.m = mount_of(rt->root, segs, lens, n)};
    respond_error(conn, &f, status, reason, msg);
}

/* ---- the server ---- */

struct router *router_new(struct core *c)
{
    struct router *rt = xcalloc(1, sizeof(*rt));

    rt->c = c;
    rt->root = node_new("", 0, &fallback_mount);
    pthread_mutex_init(&rt->mu, NULL);
    return rt;
}

void router_mount(struct router *rt, const struct mount *m)
{
    if (rt->n_mounts == MAX_MOUNTS) {
        log_error("REST: too many mounts; %s left out", m->prefix);
        return;
    }
    rt->mounts[rt->n_mounts++] = m;
}

static int resolve(const struct config *cfg, struct sockaddr_storage *ss, socklen_t *len, char *err,
                   size_t errlen)
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
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static const struct httpd_ops router_ops = {
    .request = on_request,
    .body_max = on_body_max,
    .body_file = on_body_file,
    .refuse = on_refuse,
    .resume = on_resume,
    .done = on_done,
    .batch_end = batch_end,
};

/* Listens on --listen (with its TLS and limits) and serves with ops. */
static struct httpd *listen_on(const struct config *cfg, const struct httpd_ops *ops, void *arg,
                               char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    struct httpd_config hc = {
        .threads = cfg->http_threads,
        .max_conns = cfg->http_max_conns,
        .max_conns_per_client = cfg->http_max_conns_per_client,
        .request_timeout_ms = cfg->http_request_timeout_s * 1000,
        .idle_timeout_ms = cfg->http_idle_timeout_s * 1000,
        .body_max = BODY_MAX,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
        .ops = ops,
        .arg = arg,
    };
    struct httpd *h;
    char why[256];

    if (resolve(cfg, &ss, &hc.addr_len, err, errlen))
        return NULL;
    hc.addr = (struct sockaddr *)&ss;
    /* a process of a manager killed just now (forked, not yet exec'd: it
     * still holds the listening socket) keeps the port for a moment */
    for (int tries = 0;
         !(h = httpd_start(&hc, why, sizeof(why))) && strstr(why, "in use") && tries < LISTEN_TRIES;
         tries++) {
        if (tries == 0)
            log_warn("%s:%u is in use: trying again for %d ms", cfg->listen_host, cfg->listen_port,
                     LISTEN_TRIES * LISTEN_WAIT_MS);
        usleep(LISTEN_WAIT_MS * 1000);
    }
    if (!h)
        snprintf(err, errlen, "cannot listen on %s:%u (%s)", cfg->listen_host, cfg->listen_port,
                 why);
    return h;
}

int router_start(struct router *rt, char *err, size_t errlen)
{
    /* the root mount first: the others claim their part of its tree */
    for (unsigned i = 0; i < rt->n_mounts; i++)
        if (!*rt->mounts[i]->prefix)
            add_mount(rt, rt->mounts[i]);
    for (unsigned i = 0; i < rt->n_mounts; i++)
        if (*rt->mounts[i]->prefix)
            add_mount(rt, rt->mounts[i]);
    rt->h = listen_on(rt->c->cfg, &router_ops, rt, err, errlen);
    return rt->h ? 0 : -1;
}

/* ---- while waiting for the store ---- */

struct router_waiting {
    const struct config *cfg;
    char why[256];
    struct httpd *h;
};

static void waiting_answer(struct httpd_conn *c, const struct router_waiting *w, bool health)
{
    static const struct httpd_kv hdrs[] = {{"Content-Type", "application/json"},
                                           {"Retry-After", "1"}};
    json_t *doc =
        health ? json_pack("{s:i, s:s, s:{s:s, s:s, s:s+}}", "code", HEALTH_VNFM_DOWN, "message",
                           health_message(HEALTH_VNFM_DOWN), "ha", "state", "starting", "self",
                           w->cfg->ha_url ? w->cfg->ha_url : "", "store", "unreachable: ", w->why)
               : json_pack("{s:i, s:s, s:s+}", "status", 503, "error", "store-unreachable",
                           "message", "this manager waits for its store: ", w->why);
    char *body = json_dumps(doc, JSON_COMPACT);

    httpd_respond(c, 503, hdrs, 2, body, strlen(body)); /* takes body */
    json_decref(doc);
}

static void waiting_request(void *arg, struct httpd_conn *c, struct httpd_req *rq)
{
    waiting_answer(c, arg, strcmp(rq->method, "GET") == 0 && strcmp(rq->path, "/v0/health") == 0);
}

static void waiting_refuse(void *arg, struct httpd_conn *c, const struct httpd_req *rq, int status,
                           const char *message)
{
    (void)rq;
    (void)status;
    (void)message;
    waiting_answer(c, arg, false); /* whatever it was: not now */
}

static const struct httpd_ops waiting_ops = {.request = waiting_request, .refuse = waiting_refuse};

struct router_waiting *router_waiting_start(const struct config *cfg, const char *why)
{
    struct router_waiting *w = xcalloc(1, sizeof(*w));
    char err[512];

    w->cfg = cfg;
    snprintf(w->why, sizeof(w->why), "%s", why);
    w->h = listen_on(cfg, &waiting_ops, w, err, sizeof(err));
    if (!w->h) {
        log_warn("cannot answer while waiting for the store: %s", err);
        free(w);
        return NULL;
    }
    return w;
}

void router_waiting_stop(struct router_waiting *w)
{
    if (!w)
        return;
    httpd_stop(w->h);
    httpd_free(w->h);
    free(w);
}

void router_stop(struct router *rt)
{
    if (rt)
        httpd_stop(rt->h);
}

void router_free(struct router *rt)
{
    if (!rt)
        return;
    httpd_free(rt->h);
    for (unsigned i = 0; i < rt->n_stores; i++)
        store_close(rt->stores[i]);
    node_free(rt->root);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}
