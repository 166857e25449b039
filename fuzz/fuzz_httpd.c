/* libFuzzer target of the HTTP/1.1 request parser (src/util/httpd.c): the
 * bytes a client sends on one connection (request lines, headers, bodies
 * with a length or chunked, pipelined requests, whatever breaks the limits)
 * go to the real engine over a socketpair, served on this thread
 * (httpd_adopt, httpd_poll). Every request must reach the handler whole
 * and well formed, or be refused with a status; the connection must end
 * once the client has closed its side (no hang), and nothing may leak.
 *
 * The input is a byte of options, then what the client sends. It is sent
 * twice: at once, and in pieces of the size the options choose, each
 * served before the next is sent; both must give the same requests and
 * refusals in the same order, so that no decision depends on how TCP cuts
 * the stream. Handlers answer at once, suspend and resume, or stream, as
 * the options and the request's rank choose. */
#include "util/httpd.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_MAX 1024 /* small, for the 413 and the discarding of bodies */

struct run {
    unsigned opts, n;
    struct sbuf log; /* what the handler saw: requests and refusals */
};

struct stream {
    struct httpd_conn *c;
    int calls;
};

static bool tchar(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static void check_target(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            abort();
}

/* What a handler may rely on. */
static void check(const struct httpd_req *rq)
{
    if (!rq->method || !*rq->method || !rq->path || rq->path[0] != '/')
        abort();
    for (const char *m = rq->method; *m; m++)
        if (!tchar((unsigned char)*m))
            abort();
    check_target(rq->path);
    if (rq->query)
        check_target(rq->query);
    if (rq->n_headers > HTTPD_HEADERS_MAX)
        abort();
    for (unsigned i = 0; i < rq->n_headers; i++) {
        const char *n = rq->headers[i].name, *v = rq->headers[i].value;
        size_t len = strlen(v);

        if (!*n)
            abort();
        for (; *n; n++)
            if (!tchar((unsigned char)*n))
                abort();
        if (len && (v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' || v[len - 1] == '\t'))
            abort();
        for (; *v; v++)
            if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                abort();
    }
    if (rq->body && (rq->body_too_large || rq->body_len > BODY_MAX || rq->body[rq->body_len]))
        abort();
}

static void log_req(struct run *r, const struct httpd_req *rq)
{
    uint32_t sum = 2166136261u;

    sbuf_addf(&r->log, "%s %s%s%s %d\n", rq->method, rq->path, rq->query ? "?" : "",
              rq->query ? rq->query : "", rq->http10);
    for (unsigned i = 0; i < rq->n_headers; i++)
        sbuf_addf(&r->log, "  %s: %s\n", rq->headers[i].name, rq->headers[i].value);
    for (size_t i = 0; rq->body && i < rq->body_len; i++)
        sum = (sum ^ (unsigned char)rq->body[i]) * 16777619u;
    sbuf_addf(&r->log, "  body %zu %08x %d\n", rq->body ? rq->body_len : 0, sum,
              rq->body_too_large);
}

static ssize_t stream_read(void *cls, char *buf, size_t max)
{
    struct stream *s = cls;

    (void)max;
    switch (s->calls++) {
    case 0:
        memcpy(buf, "data: x\n\n", 9);
        return 9;
    case 1: /* nothing now: more later */
        httpd_resume(s->c);
        return 0;
    default:
        return -1;
    }
}

static void stream_release(void *cls)
{
    free(cls);
}

static void on_request(void *arg, struct httpd_conn *c, struct httpd_req *rq)
{
    struct run *r = arg;
    static const struct httpd_kv text[] = {{"Content-Type", "text/plain"}};

    check(rq);
    log_req(r, rq);
    switch ((r->opts + r->n++) % 3) {
    case 0:
        httpd_respond(c, 200, text, 1, xstrdup("ok\n"), 3);
        break;
    case 1:
        httpd_suspend(c, xstrdup("held"));
        httpd_resume(c);
        break;
    default: {
        struct stream *s = xcalloc(1, sizeof(*s));

        s->c = c;
        httpd_stream(c, 200, text, 1, stream_read, stream_release, s);
    }
    }
}

static void on_refuse(void *arg, struct httpd_conn *c, const struct httpd_req *rq, int status,
                      const char *message)
{
    struct run *r = arg;

    if (status < 400 || status > 599 || !message)
        abort();
    sbuf_addf(&r->log, "refused %d\n", status);
    if (status % 2) /* half answered by the owner, half left to the engine */
        httpd_respond(c, status, NULL, 0, xstrdup(message), strlen(message));
    (void)rq;
}

static void on_resume(void *arg, struct httpd_conn *c, void *data)
{
    static const struct httpd_kv text[] = {{"Content-Type", "text/plain"}};

    (void)arg, (void)data;
    httpd_respond(c, 201, text, 1, xstrdup("created\n"), 8);
}

static void on_done(void *arg, void *data)
{
    (void)arg;
    free(data);
}

static const struct httpd_ops ops = {
    .request = on_request, .refuse = on_refuse, .resume = on_resume, .done = on_done};

/* Serves until nothing happens; reads what the client is sent. */
static void settle(struct httpd *h, int fd, struct sbuf *out)
{
    for (int i = 0;; i++) {
        char buf[65536];
        ssize_t n;
        int events = httpd_poll(h, 0);

        while ((n = read(fd, buf, sizeof(buf))) > 0)
            sbuf_add(out, buf, (size_t)n);
        if (!events)
            return;
        if (i == 10000) {
            fprintf(stderr, "fuzz_httpd: the engine does not settle\n");
            abort();
        }
    }
}

/* Sends data in pieces of piece bytes; the log of what the handler saw. */
static char *serve(unsigned opts, const uint8_t *data, size_t size, size_t piece)
{
    struct run r = {.opts = opts};
    struct httpd_config cfg = {
        .max_conns = 4,
        .max_conns_per_client = 4,
        .request_timeout_ms = 60000,
        .idle_timeout_ms = 60000,
        .body_max = BODY_MAX,
        .ops = &ops,
        .arg = &r,
    };
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    struct sbuf out = {0};
    char err[128];
    struct httpd *h = httpd_start(&cfg, err, sizeof(err));
    int sv[2];
    size_t off = 0;

    if (!h || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
        abort();
    if (!httpd_adopt(h, sv[0], (struct sockaddr *)&peer, sizeof(peer)))
        abort();
    while (off < size && httpd_conns(h)) {
        size_t len = size - off < piece ? size - off : piece;
        ssize_t n = send(sv[1], data + off, len, MSG_NOSIGNAL);

        if (n > 0)
            off += (size_t)n;
        settle(h, sv[1], &out);
    }
    shutdown(sv[1], SHUT_WR);
    settle(h, sv[1], &out);
    if (httpd_conns(h)) {
        fprintf(stderr, "fuzz_httpd: the connection stays after its client has gone\n");
        abort();
    }
    if (out.len && strncmp(out.s, "HTTP/1.1 ", 9) != 0)
        abort();
    httpd_free(h);
    close(sv[1]);
    sbuf_done(&out);
    return sbuf_take(&r.log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t pieces[] = {1, 2, 3, 7, 16, 100, 1000, 5000};
    unsigned opts;
    size_t piece;
    char *whole, *cut;

    if (size < 1)
        return 0;
    opts = data[0];
    whole = serve(opts, data + 1, size - 1, SIZE_MAX);
    piece = pieces[(opts >> 2) & 7];
    if (piece < size / 128) /* at most ~128 rounds: big inputs are for the limits */
        piece = size / 128;
    cut = serve(opts, data + 1, size - 1, piece);
    if (strcmp(whole, cut) != 0) {
        fprintf(stderr, "fuzz_httpd: at once:\n%s\nin pieces of %zu:\n%s\n", whole, piece, cut);
        abort();
    }
    if (getenv("FUZZ_HTTPD_SHOW")) /* what the handler saw, for a reproduction */
        fputs(whole, stderr);
    free(whole);
    free(cut);
    return 0;
}
