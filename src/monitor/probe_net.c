/* TCP, HTTP and Prometheus probes: asynchronous, on the scheduler's loop. */
#include "monitor/probe_net.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_ANSWER (256 * 1024)

struct xfer {
    uv_tcp_t h;
    uv_connect_t creq;
    uv_write_t wreq;
    struct probe_call *call; /* NULL once the call has ended */
    xfer_finish_fn finish;
    char *req;
    char *buf;
    size_t len, max;
};

static void xfer_closed(uv_handle_t *h)
{
    struct xfer *x = h->data;

    free(x->req);
    free(x->buf);
    free(x);
}

/* Ends the call (once) and closes the connection. */
static void xfer_end(struct xfer *x, bool ok)
{
    struct probe_call *call = x->call;

    if (call) {
        x->call = NULL;
        call->priv = NULL;
        if (ok && x->buf)
            x->buf[x->len] = '\0';
        x->finish(call, ok ? (x->buf ? x->buf : "") : NULL, ok ? x->len : 0);
    }
    if (uv_is_closing((uv_handle_t *)&x->h))
        return;
    /* A connect-only probe ends with a reset: thousands of targets probed
     * every second would otherwise leave as many sockets in TIME_WAIT. */
    if (ok && !x->req && uv_tcp_close_reset(&x->h, xfer_closed) == 0)
        return;
    uv_close((uv_handle_t *)&x->h, xfer_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct xfer *x = h->data;

    (void)hint;
    if (!x->buf)
        x->buf = xmalloc(x->max + 1);
    b->base = x->buf + x->len;
    b->len = x->max - x->len;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct xfer *x = st->data;

    (void)b;
    if (n > 0) {
        x->len += (size_t)n;
        if (x->len >= x->max)
            xfer_end(x, true);
    } else if (n == UV_EOF) {
        xfer_end(x, true);
    } else if (n < 0) {
        if (x->call)
            probe_fail(x->call, "read: %s", uv_strerror((int)n));
        xfer_end(x, false);
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct xfer *x = w->data;

    if (status < 0 && x->call) {
        probe_fail(x->call, "send: %s", uv_strerror(status));
        xfer_end(x, false);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct xfer *x = req->data;
    uv_buf_t b;

    if (!x->call)
        return; /* cancelled */
    if (status < 0) {
        probe_fail(x->call, "connect: %s", uv_strerror(status));
        xfer_end(x, false);
        return;
    }
    if (!x->req) {
        xfer_end(x, true);
        return;
    }
    b = uv_buf_init(x->req, (unsigned)strlen(x->req));
    x->wreq.data = x;
    if (uv_write(&x->wreq, (uv_stream_t *)&x->h, &b, 1, on_write) ||
        uv_read_start((uv_stream_t *)&x->h, on_alloc, on_read)) {
        probe_fail(x->call, "cannot send the request");
        xfer_end(x, false);
    }
}

int xfer_start(struct probe_call *call, unsigned port, const char *request, size_t max,
               xfer_finish_fn finish)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct xfer *x;
    int r;

    if (!call->t->ip)
        return probe_fail(call, "the VI has no address");
    sa.sin_addr.s_addr = htonl(call->t->ip);
    x = xcalloc(1, sizeof(*x));
    x->call = call;
    x->finish = finish;
    x->req = xstrdup(request);
    x->max = max ? max : 1;
    uv_tcp_init(call->loop, &x->h);
    x->h.data = x;
    x->creq.data = x;
    call->priv = x;
    r = uv_tcp_connect(&x->creq, &x->h, (const struct sockaddr *)&sa, on_connect);
    if (r) {
        x->call = NULL;
        call->priv = NULL;
        uv_close((uv_handle_t *)&x->h, xfer_closed);
        return probe_fail(call, "connect: %s", uv_strerror(r));
    }
    return 0;
}

void xfer_cancel(struct probe_call *call)
{
    struct xfer *x = call->priv;

    if (!x) {
        probe_call_done(call);
        return;
    }
    x->call = NULL;
    call->priv = NULL;
    probe_call_done(call);
    if (!uv_is_closing((uv_handle_t *)&x->h))
        uv_close((uv_handle_t *)&x->h, xfer_closed);
}

/* ---- TCP ---- */

static void tcp_finish(struct probe_call *call, const char *body, size_t len)
{
    (void)len;
    if (body) {
        call->res.ok = true;
        call->res.has_value = true;
        call->res.value = (double)(mono_us() - call->started_us) / 1000.0;
    }
    probe_call_done(call);
}

static int tcp_start(struct probe_call *call)
{
    return xfer_start(call, (unsigned)jv_int(call->t->spec, "port", 0), NULL, 0, tcp_finish);
}

static int tcp_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.port", field);
    if (!json_object_get(spec, "port")) {
        jv_fail(err, "missing-field", sub, "a TCP probe needs the port to connect to");
        return -EINVAL;
    }
    return 0;
}

const struct probe_ops probe_tcp_ops = {
    .name = "tcp",
    .keys = (const char *const[]){"port", NULL},
    .validate = tcp_validate,
    .start = tcp_start,
    .cancel = xfer_cancel,
};

/* ---- HTTP ---- */

char *http_request(const char *path, const char *host)
{
    return xasprintf("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vnfmd-monitor\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     path, host);
}

bool http_parse(const char *resp, int *status, const char **body)
{
    const char *end;

    if (strncmp(resp, "HTTP/1.", 7) != 0 || strlen(resp) < 12 || resp[8] != ' ')
        return false;
    *status = atoi(resp + 9);
    end = strstr(resp, "\r\n\r\n");
    *body = end ? end + 4 : resp + strlen(resp);
    return *status >= 100 && *status <= 599;
}

static char *request_for(const struct probe_call *call, const char *def_path)
{
    char host[IP4_STR_MAX];

    return http_request(jv_str(call->t->spec, "path", def_path), ip4_fmt(call->t->ip, host));
}

/* The number at a dotted path ("a.b.c") of a JSON document. */
static bool json_number_at(const char *text, const char *path, double *out)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL), *v = doc;
    char *copy = xstrdup(path), *save, *key;
    bool ok;

    for (key = strtok_r(copy, ".", &save); key && v; key = strtok_r(NULL, ".", &save))
        v = json_object_get(v, key);
    ok = json_is_number(v);
    if (ok)
        *out = json_number_value(v);
    free(copy);
    json_decref(doc);
    return ok;
}

static void http_finish(struct probe_call *call, const char *resp, size_t len)
{
    const json_t *spec = call->t->spec;
    long long want = jv_int(spec, "expect_status", 0);
    const char *body, *field = jv_str(spec, "json", NULL);
    int status;

    (void)len;
    if (!resp) {
        probe_call_done(call);
        return;
    }
    if (!http_parse(resp, &status, &body))
        probe_fail(call, "the answer is not HTTP");
    else if (want ? status != want : status >= 400)
        probe_fail(call, "HTTP status %d", status);
    else if (field && !json_number_at(body, field, &call->res.value))
        probe_fail(call, "the answer has no number at '%s'", field);
    else {
        call->res.ok = true;
        call->res.has_value = true;
        if (!field)
            call->res.value = (double)(mono_us() - call->started_us) / 1000.0;
    }
    probe_call_done(call);
}

static int http_start(struct probe_call *call)
{
    char *req = request_for(call, "/");
    int r = xfer_start(call, (unsigned)jv_int(call->t->spec, "port", 80), req, HTTP_MAX_ANSWER,
                       http_finish);

    free(req);
    return r;
}

static int check_path(const json_t *spec, const char *field, struct jv_error *err)
{
    const char *path = jv_str(spec, "path", "/");
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.path", field);
    if (path[0] != '/' || strpbrk(path, " \r\n\t")) {
        jv_fail(err, "invalid-value", sub, "must be an absolute URL path without spaces");
        return -EINVAL;
    }
    return 0;
}

const struct probe_ops probe_http_ops = {
    .name = "http",
    .keys = (const char *const[]){"port", "path", "json", "expect_status", NULL},
    .validate = check_path,
    .start = http_start,
    .cancel = xfer_cancel,
};

/* ---- Prometheus text format (exposition format 0.0.4) ---- */

/* Whether every label of want appears in the series' label text. */
static bool labels_match(const char *labels, size_t n, const json_t *want)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)want, key, v)
    {
        char *pair = xasprintf("%s=\"%s\"", key, json_string_value(v));
        bool found = false;

        for (const char *p = labels; p && (p = strstr(p, pair)) && p < labels + n; p++) {
            if (p == labels || p[-1] == '{' || p[-1] == ',') {
                found = true;
                break;
            }
        }
        free(pair);
        if (!found)
            return false;
    }
    return true;
}

/* Sums the samples of the named metric whose labels match. */
static bool prom_value(const char *text, const char *name, const json_t *labels, double *out)
{
    size_t nl = strlen(name);
    bool found = false;
    double sum = 0;

    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line, *lab = NULL, *end = strchr(line, '\n');
        size_t lab_n = 0;
        char num[64];
        double v;

        if (*p == '#' || strncmp(p, name, nl) != 0 || (p[nl] != ' ' && p[nl] != '{'))
            continue;
        p += nl;
        if (*p == '{') {
            lab = p;
            p = strchr(p, '}');
            if (!p || (end && p > end))
                continue;
            lab_n = (size_t)(++p - lab);
        }
        if (labels && !labels_match(lab ? lab : "", lab_n, labels))
            continue;
        if (sscanf(p, " %63s", num) == 1 && probe_parse_number(num, &v)) {
            sum += v;
            found = true;
        }
    }
    *out = sum;
    return found;
}

static void prom_finish(struct probe_call *call, const char *resp, size_t len)
{
    const char *body, *name = jv_str(call->t->spec, "name", "");
    int status;

    (void)len;
    if (!resp) {
        probe_call_done(call);
        return;
    }
    if (!http_parse(resp, &status, &body) || status != 200)
        probe_fail(call, "scrape failed: %s",
                   http_parse(resp, &status, &body) ? "HTTP error" : "not HTTP");
    else if (!prom_value(body, name, json_object_get(call->t->spec, "labels"), &call->res.value))
        probe_fail(call, "no sample of %s in the scrape", name);
    else {
        call->res.ok = true;
        call->res.has_value = true;
    }
    probe_call_done(call);
}

static int prom_start(struct probe_call *call)
{
    char *req = request_for(call, "/metrics");
    int r = xfer_start(call, (unsigned)jv_int(call->t->spec, "port", 80), req, HTTP_MAX_ANSWER,
                       prom_finish);

    free(req);
    return r;
}

static int prom_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    const char *name = jv_str(spec, "name", "");
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.name", field);
    if (!*name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") !=
            strlen(name)) {
        jv_fail(err, "invalid-value", sub, "must be a Prometheus metric name");
        return -EINVAL;
    }
    return check_path(spec, field, err);
}

const struct probe_ops probe_prometheus_ops = {
    .name = "prometheus",
    .keys = (const char *const[]){"port", "path", "name", "labels", NULL},
    .validate = prom_validate,
    .start = prom_start,
    .cancel = xfer_cancel,
};
