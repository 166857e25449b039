/* The asynchronous TCP exchange and the HTTP helpers that the TCP, HTTP and
 * Prometheus probes share (probe_net.h). */
#include "monitor/probes/probe_net.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- HTTP ---- */

static char *http_request(const char *path, const char *host)
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

int http_get_start(struct probe_call *call, const char *def_path, xfer_finish_fn finish)
{
    char host[IP4_STR_MAX],
        *req = http_request(jv_str(call->t->spec, "path", def_path), ip4_fmt(call->t->ip, host));
    int r =
        xfer_start(call, (unsigned)jv_int(call->t->spec, "port", 80), req, HTTP_MAX_ANSWER, finish);

    free(req);
    return r;
}

int http_check_path(const json_t *spec, const char *field, struct jv_error *err)
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
