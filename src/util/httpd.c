/* The HTTP/1.1 server engine (httpd.h). Per thread: an epoll instance
 * (level-triggered), an eventfd for resumptions from other threads, three
 * timeout lists (each with one constant timeout, so appending keeps them
 * ordered), and a list of its connections. A request costs one recv, one
 * send and a share of one epoll_wait; epoll_ctl only when a connection
 * waits to write, is suspended with input pending, or ends.
 *
 * A connection moves through HANDSHAKE (with TLS only: OpenSSL driven by
 * the same events, non-blocking), HEAD (reading the request line and headers
 * into its buffer), BODY, HANDLING (request() runs), then WRITING (an
 * answer), SUSPENDED (resumed later) or STREAM, and back to HEAD when it is
 * kept alive, or LINGER (its write side shut, input drained until the
 * client closes) before it closes.
 */
#include "util/httpd.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LINGER_MS      2000
#define ACCEPT_BATCH   32
#define EPOLL_BATCH    64
#define STREAM_CHUNK   16384
#define CLIENT_BUCKETS 1024
#define DISCARD_FACTOR 16 /* a body up to 16 times the limit is read and dropped before the 413 */

enum cstate { C_HANDSHAKE, C_HEAD, C_BODY, C_HANDLING, C_SUSPENDED, C_WRITING, C_STREAM, C_LINGER };
enum tlist { T_IDLE, T_REQUEST, T_LINGER, T_N, T_NONE = T_N };
/* chunked request bodies (RFC 9112 7.1) */
enum chunk { K_SIZE, K_EXT, K_DATA, K_DATA_END, K_TRAILER, K_DONE };

struct client {
    int family;
    uint64_t key; /* IPv4 address, or the /64 of an IPv6 one */
    unsigned n;
    struct client *next;
};

struct httpd_conn {
    struct httpd_thread *th;
    int fd;
    SSL *ssl; /* NULL: plain HTTP */
    enum cstate state;
    bool closed, gone, keep_alive, head_method, queued, chunked_out, ending;
    unsigned events; /* registered with epoll */
    /* timeout list */
    enum tlist tl;
    uint64_t deadline;
    struct httpd_conn *tprev, *tnext;
    /* every connection of the thread; then the closed ones until freed */
    struct httpd_conn *aprev, *anext;
    /* resume queue */
    struct httpd_conn *qprev, *qnext;
    /* input: the head is parsed in place; in[in_pos..in_len) is unread */
    char *in;
    size_t in_len, in_pos, head_len;
    struct httpd_req rq;
    /* request body */
    struct sbuf body;
    uint64_t body_left;
    size_t body_max; /* this request's (httpd_ops.body_max) */
    int body_fd;     /* httpd_ops.body_file's, or -1 */
    int body_error;
    uint64_t spooled; /* bytes written into body_fd */
    bool chunked, discard, too_large;
    enum chunk kstate;
    uint64_t discarded;
    /* output: out[out_off..) then obody[obody_off..obody_len) */
    struct sbuf out;
    size_t out_off;
    char *obody;
    size_t obody_len, obody_off;
    /* stream */
    ssize_t (*sread)(void *cls, char *buf, size_t max);
    void (*sfree)(void *cls);
    void *scls;
    void *data;
    struct client *client;
    struct sockaddr_storage peer;
};

struct httpd_thread {
    struct httpd *h;
    pthread_t tid;
    bool started;
    int ep, evfd;
    pthread_mutex_t mu; /* the resume queue */
    struct httpd_conn *qhead, *qtail;
    struct httpd_conn *lists_head[T_N], *lists_tail[T_N];
    struct httpd_conn *all, *graveyard;
    time_t date_at;
    char date[48];
    char scratch[STREAM_CHUNK];
};

struct httpd {
    struct httpd_config cfg;
    SSL_CTX *tls; /* NULL: plain HTTP */
    int lfd;
    unsigned port;
    struct httpd_thread *threads;
    unsigned n_threads;
    int stopping;
    unsigned n_conns;
    pthread_mutex_t cmu; /* clients */
    struct client *clients[CLIENT_BUCKETS];
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *httpd_header(const struct httpd_req *rq, const char *name)
{
    for (unsigned i = 0; i < rq->n_headers; i++)
        if (strcasecmp(rq->headers[i].name, name) == 0)
            return rq->headers[i].value;
    return NULL;
}

/* RFC 9110 15 */
static const struct {
    int status;
    const char *text;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {505, "HTTP Version Not Supported"},
};

static const char *reason(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

const char *httpd_reason(int status)
{
    return reason(status);
}

/* ---- lists ---- */

static void tl_remove(struct httpd_conn *c)
{
    struct httpd_thread *th = c->th;

    if (c->tl == T_NONE)
        return;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        th->lists_head[c->tl] = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        th->lists_tail[c->tl] = c->tprev;
    c->tprev = c->tnext = NULL;
    c->tl = T_NONE;
}

static void tl_set(struct httpd_conn *c, enum tlist l, unsigned ms)
{
    struct httpd_thread *th = c->th;

    tl_remove(c);
    c->tl = l;
    c->deadline = now_ms() + ms;
    c->tprev = th->lists_tail[l];
    if (c->tprev)
        c->tprev->tnext = c;
    else
        th->lists_head[l] = c;
    th->lists_tail[l] = c;
}

static void all_remove(struct httpd_conn *c)
{
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        c->th->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    c->aprev = c->anext = NULL;
}

/* Called with th->mu held. */
static void queue_remove(struct httpd_thread *th, struct httpd_conn *c)
{
    if (!c->queued)
        return;
    if (c->qprev)
        c->qprev->qnext = c->qnext;
    else
        th->qhead = c->qnext;
    if (c->qnext)
        c->qnext->qprev = c->qprev;
    else
        th->qtail = c->qprev;
    c->qprev = c->qnext = NULL;
    c->queued = false;
}

/* ---- clients ---- */

static void client_key(const struct sockaddr_storage *ss, int *family, uint64_t *key)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            uint32_t v4;

            memcpy(&v4, s6->sin6_addr.s6_addr + 12, 4);
            *family = AF_INET;
            *key = v4;
            return;
        }
        *family = AF_INET6;
        memcpy(key, s6->sin6_addr.s6_addr, 8);
        return;
    }
    *family = AF_INET;
    *key = ((const struct sockaddr_in *)ss)->sin_addr.s_addr;
}

/* Counts a connection of the client of ss; NULL when it has too many. */
static struct client *client_take(struct httpd *h, const struct sockaddr_storage *ss)
{
    struct client *cl, **slot;
    int family;
    uint64_t key;

    client_key(ss, &family, &key);
    slot = &h->clients[(key * 0x9e3779b97f4a7c15ull >> 40) % CLIENT_BUCKETS];
    pthread_mutex_lock(&h->cmu);
    for (cl = *slot; cl && !(cl->key == key && cl->family == family); cl = cl->next)
        ;
    if (!cl) {
        cl = xcalloc(1, sizeof(*cl));
        cl->family = family;
        cl->key = key;
        cl->next = *slot;
        *slot = cl;
    }
    if (cl->n >= h->cfg.max_conns_per_client)
        cl = NULL;
    else
        cl->n++;
    pthread_mutex_unlock(&h->cmu);
    return cl;
}

static void client_drop(struct httpd *h, struct client *cl)
{
    struct client **p;

    pthread_mutex_lock(&h->cmu);
    if (--cl->n == 0) {
        p = &h->clients[(cl->key * 0x9e3779b97f4a7c15ull >> 40) % CLIENT_BUCKETS];
        while (*p != cl)
            p = &(*p)->next;
        *p = cl->next;
        free(cl);
    }
    pthread_mutex_unlock(&h->cmu);
}

/* ---- connections ---- */

#define UNWATCHED (~0u)

static void watch(struct httpd_conn *c, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    int op = c->events == UNWATCHED ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

    if (c->events == events || c->closed)
        return;
    if (epoll_ctl(c->th->ep, op, c->fd, &ev) == 0)
        c->events = events;
}

/* Out of epoll: explicitly, as a child between fork and exec may still
 * share the socket and keep it registered after close(). */
static void unwatch(struct httpd_conn *c)
{
    if (c->events != UNWATCHED && epoll_ctl(c->th->ep, EPOLL_CTL_DEL, c->fd, NULL) == 0)
        c->events = UNWATCHED;
}

static void close_body_file(struct httpd_conn *c)
{
    if (c->body_fd >= 0)
        close(c->body_fd);
    c->body_fd = -1;
}

static void reset_request(struct httpd_conn *c)
{
    memset(&c->rq, 0, sizeof(c->rq));
    c->rq.peer = (const struct sockaddr *)&c->peer;
    c->rq.body_fd = -1;
    sbuf_done(&c->body);
    close_body_file(c);
    c->body_error = 0;
    c->body_left = c->discarded = c->spooled = 0;
    c->chunked = c->discard = c->too_large = c->head_method = false;
    c->kstate = K_SIZE;
    c->data = NULL;
}

static void close_conn(struct httpd_conn *c)
{
    struct httpd_thread *th = c->th;
    struct httpd *h = th->h;

    if (c->closed)
        return;
    c->closed = true;
    tl_remove(c);
    pthread_mutex_lock(&th->mu);
    queue_remove(th, c);
    pthread_mutex_unlock(&th->mu);
    if (c->sfree)
        c->sfree(c->scls);
    c->sfree = NULL;
    c->sread = NULL;
    if (c->data)
        h->cfg.ops->done(h->cfg.arg, c->data);
    c->data = NULL;
    close_body_file(c);
    unwatch(c);
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    client_drop(h, c->client);
    __atomic_sub_fetch(&h->n_conns, 1, __ATOMIC_RELAXED);
    all_remove(c);
    c->anext = th->graveyard; /* freed after the events that may still name it */
    th->graveyard = c;
}

static void free_conn(struct httpd_conn *c)
{
    sbuf_done(&c->body);
    sbuf_done(&c->out);
    free(c->obody);
    free(c->in);
    free(c);
}

static void bury(struct httpd_thread *th)
{
    struct httpd_conn *c;

    while ((c = th->graveyard)) {
        th->graveyard = c->anext;
        free_conn(c);
    }
}

/* Shuts the write side and drains what the client still sends, so that
 * an answer is not lost to a reset; closes at its EOF or after LINGER_MS. */
static void linger(struct httpd_conn *c)
{
    if (c->gone) {
        close_conn(c);
        return;
    }
    if (c->ssl)
        SSL_shutdown(c->ssl); /* close_notify, once, without waiting for the client's */
    shutdown(c->fd, SHUT_WR);
    c->state = C_LINGER;
    tl_set(c, T_LINGER, LINGER_MS);
    watch(c, EPOLLIN | EPOLLRDHUP);
}

static void start_head(struct httpd_conn *c, unsigned timeout_ms, enum tlist l)
{
    c->state = C_HEAD;
    tl_set(c, l, timeout_ms);
    watch(c, EPOLLIN | EPOLLRDHUP);
}

/* The request has been answered: the next one, or the end. */
static void request_end(struct httpd_conn *c)
{
    struct httpd *h = c->th->h;
    void *data = c->data;
    size_t left = c->in_len - c->in_pos;

    c->data = NULL;
    if (data)
        h->cfg.ops->done(h->cfg.arg, data);
    if (!c->keep_alive || __atomic_load_n(&h->stopping, __ATOMIC_RELAXED)) {
        linger(c);
        return;
    }
    memmove(c->in, c->in + c->in_pos, left);
    c->in_len = left;
    c->in_pos = 0;
    if (!left) { /* an idle connection holds no head buffer (on_readable makes it again) */
        free(c->in);
        c->in = NULL;
    }
    reset_request(c);
    start_head(c, left ? h->cfg.request_timeout_ms : h->cfg.idle_timeout_ms,
               left ? T_REQUEST : T_IDLE);
}

/* ---- output ---- */

static void add_num(struct sbuf *b, uint64_t v)
{
    char buf[24];
    int n = sizeof(buf);

    do {
        buf[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sbuf_add(b, buf + n, sizeof(buf) - (size_t)n);
}

static void add_header(struct sbuf *b, const char *name, const char *value)
{
    sbuf_adds(b, name);
    sbuf_add(b, ": ", 2);
    sbuf_adds(b, value);
    sbuf_add(b, "\r\n", 2);
}

static const char *date_now(struct httpd_thread *th)
{
    time_t t = time(NULL);
    struct tm tm;

    if (t != th->date_at) {
        gmtime_r(&t, &tm);
        strftime(th->date, sizeof(th->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        th->date_at = t;
    }
    return th->date;
}

static void status_line(struct httpd_conn *c, int status, const struct httpd_kv *hdrs, unsigned n)
{
    struct sbuf *b = &c->out;

    sbuf_add(b, "HTTP/1.1 ", 9);
    add_num(b, (uint64_t)status);
    sbuf_addc(b, ' ');
    sbuf_adds(b, reason(status));
    sbuf_add(b, "\r\nDate: ", 8);
    sbuf_adds(b, date_now(c->th));
    sbuf_add(b, "\r\n", 2);
    for (unsigned i = 0; i < n; i++)
        if (hdrs[i].value)
            add_header(b, hdrs[i].name, hdrs[i].value);
    if (!c->keep_alive)
        sbuf_adds(b, "Connection: close\r\n");
    else if (c->rq.http10)
        sbuf_adds(b, "Connection: keep-alive\r\n");
}

void httpd_respond(struct httpd_conn *c, int status, const struct httpd_kv *hdrs, unsigned n,
                   char *body, size_t len)
{
    bool no_body = status < 200 || status == 204 || status == 304;

    if (c->state != C_HANDLING) { /* answered twice: a bug of the caller */
        free(body);
        return;
    }
    status_line(c, status, hdrs, n);
    if (!no_body) {
        sbuf_add(&c->out, "Content-Length: ", 16);
        add_num(&c->out, len);
        sbuf_add(&c->out, "\r\n", 2);
    }
    sbuf_add(&c->out, "\r\n", 2);
    if (no_body || c->head_method) {
        free(body);
        body = NULL;
        len = 0;
    }
    if (body && c->ssl) { /* one record rather than two */
        sbuf_add(&c->out, body, len);
        free(body);
        body = NULL;
    }
    c->obody = body;
    c->obody_len = body ? len : 0;
    c->obody_off = 0;
    c->state = C_WRITING;
}

void httpd_stream(struct httpd_conn *c, int status, const struct httpd_kv *hdrs, unsigned n,
                  ssize_t (*read)(void *cls, char *buf, size_t max), void (*release)(void *cls),
                  void *cls)
{
    if (c->state != C_HANDLING) {
        release(cls);
        return;
    }
    c->chunked_out = !c->rq.http10;
    if (!c->chunked_out)
        c->keep_alive = false;
    status_line(c, status, hdrs, n);
    sbuf_adds(&c->out, c->chunked_out ? "Transfer-Encoding: chunked\r\n\r\n" : "\r\n");
    c->sread = read;
    c->sfree = release;
    c->scls = cls;
    c->state = C_STREAM;
}

void httpd_suspend(struct httpd_conn *c, void *data)
{
    c->data = data;
    c->state = C_SUSPENDED;
}

void httpd_resume(struct httpd_conn *c)
{
    struct httpd_thread *th = c->th;
    bool wake;
    uint64_t one = 1;

    pthread_mutex_lock(&th->mu);
    wake = !th->qhead;
    if (!c->queued && !c->closed) {
        c->queued = true;
        c->qnext = NULL;
        c->qprev = th->qtail;
        if (th->qtail)
            th->qtail->qnext = c;
        else
            th->qhead = c;
        th->qtail = c;
    }
    pthread_mutex_unlock(&th->mu);
    if (wake && write(th->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_debug("HTTP server: cannot wake a thread: %s", strerror(errno));
}

/* ---- input and output, plain or TLS ---- */

/* SSL_read's or SSL_write's failure r as recv(2)'s: 0 at the end, else -1
 * with errno (EAGAIN: try again when the socket is ready). */
static ssize_t tls_fail(struct httpd_conn *c, int r)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* the client's close_notify */
        return 0;
    default:
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
}

/* recv(2) of the plaintext (peek: MSG_PEEK). */
static ssize_t conn_recv(struct httpd_conn *c, void *buf, size_t n, bool peek)
{
    int r, len = n > INT_MAX ? INT_MAX : (int)n;

    if (!c->ssl)
        return recv(c->fd, buf, n, peek ? MSG_PEEK : 0);
    ERR_clear_error(); /* SSL_get_error reads the thread's queue */
    r = peek ? SSL_peek(c->ssl, buf, len) : SSL_read(c->ssl, buf, len);
    return r > 0 ? r : tls_fail(c, r);
}

/* send(2) of the plaintext, never raising SIGPIPE on a plain socket (with
 * TLS, vnfmd ignores SIGPIPE). */
static ssize_t conn_send(struct httpd_conn *c, const struct iovec *iov, int n)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    int r;

    if (!c->ssl)
        return sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    /* one buffer with TLS (httpd_respond puts the body after the head) */
    ERR_clear_error();
    r = SSL_write(c->ssl, iov[0].iov_base,
                  iov[0].iov_len > INT_MAX ? INT_MAX : (int)iov[0].iov_len);
    return r > 0 ? r : tls_fail(c, r);
}

/* Plaintext that TLS has decrypted but the connection has not read yet
 * raises no event: have the thread come back for it. */
static void tls_more(struct httpd_conn *c)
{
    if (c->ssl && !c->closed && (c->state == C_HEAD || c->state == C_BODY) &&
        SSL_pending(c->ssl) > 0)
        httpd_resume(c);
}

/* Sends what is pending: 1 when all is sent, 0 when the socket is full
 * (EPOLLOUT is watched), -1 when the connection failed (it is closed). */
static int send_pending(struct httpd_conn *c)
{
    while (c->out_off < c->out.len || c->obody_off < c->obody_len) {
        struct iovec iov[2];
        int niov = 0;
        ssize_t n;
        size_t k;

        if (c->out_off < c->out.len) /* (no arithmetic on a NULL buffer) */
            iov[niov++] = (struct iovec){c->out.s + c->out_off, c->out.len - c->out_off};
        if (c->obody_off < c->obody_len)
            iov[niov++] = (struct iovec){c->obody + c->obody_off, c->obody_len - c->obody_off};
        n = conn_send(c, iov, niov);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) { /* a client that does not read goes after a while */
                watch(c, EPOLLOUT);
                tl_set(c, T_IDLE, c->th->h->cfg.idle_timeout_ms);
                return 0;
            }
            c->gone = true;
            close_conn(c);
            return -1;
        }
        k = (size_t)n;
        if (c->out_off < c->out.len) {
            size_t m = c->out.len - c->out_off < k ? c->out.len - c->out_off : k;

            c->out_off += m;
            k -= m;
        }
        c->obody_off += k;
    }
    c->out.len = c->out_off = 0;
    free(c->obody);
    c->obody = NULL;
    c->obody_len = c->obody_off = 0;
    return 1;
}

/* Streams until the source has nothing, the socket is full, or the end. */
static void pump(struct httpd_conn *c)
{
    struct httpd_thread *th = c->th;

    while (!c->closed) {
        ssize_t n;
        int r = send_pending(c);

        if (r <= 0)
            return;
        if (c->ending) {
            request_end(c);
            return;
        }
        tl_remove(c);
        watch(c, EPOLLIN | EPOLLRDHUP);
        n = c->sread(c->scls, th->scratch, sizeof(th->scratch));
        if (n == 0)
            return;
        if (n < -1) { /* failed: cut short, without the last chunk */
            close_conn(c);
            return;
        }
        if (n < 0) {
            c->sfree(c->scls);
            c->sfree = NULL;
            c->sread = NULL;
            if (c->chunked_out)
                sbuf_add(&c->out, "0\r\n\r\n", 5);
            c->keep_alive = false;
            c->ending = true;
            continue;
        }
        if (c->chunked_out) {
            char hex[20];

            sbuf_add(&c->out, hex, (size_t)snprintf(hex, sizeof(hex), "%zx\r\n", (size_t)n));
        }
        sbuf_add(&c->out, th->scratch, (size_t)n);
        if (c->chunked_out)
            sbuf_add(&c->out, "\r\n", 2);
    }
}

/* ---- parsing ---- */

static bool tchar(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static void refuse(struct httpd_conn *c, int status, const char *msg)
{
    struct httpd *h = c->th->h;

    c->keep_alive = false;
    c->state = C_HANDLING;
    tl_remove(c);
    h->cfg.ops->refuse(h->cfg.arg, c, &c->rq, status, msg);
    if (c->state == C_HANDLING) /* the owner did not answer */
        httpd_respond(c, status, NULL, 0, NULL, 0);
}

/* The end of the head in in[0..len): the offset after its empty line, or 0. */
static size_t head_end(const char *in, size_t len)
{
    const char *p = in, *end = in + len;

    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        p++;
        if (p < end && *p == '\n')
            return (size_t)(p + 1 - in);
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            return (size_t)(p + 2 - in);
    }
    return 0;
}

/* Cuts the line at *p (up to LF or the end, CR dropped); returns it and
 * moves *p past it. */
static char *cut_line(char **p)
{
    char *line = *p, *end = line + strcspn(line, "\n");

    *p = *end ? end + 1 : end;
    *end = '\0';
    if (end > line && end[-1] == '\r')
        end[-1] = '\0';
    return line;
}

static int parse_request_line(struct httpd_conn *c, char *line)
{
    struct httpd_req *rq = &c->rq;
    char *sp1 = strchr(line, ' '), *sp2, *target, *q;

    if (!sp1 || sp1 == line)
        return 400;
    *sp1 = '\0';
    for (char *m = line; *m; m++)
        if (!tchar((unsigned char)*m))
            return 400;
    rq->method = line;
    target = sp1 + 1;
    sp2 = strchr(target, ' ');
    if (!sp2)
        return 400;
    *sp2 = '\0';
    if ((size_t)(sp2 - target) > HTTPD_TARGET_MAX) {
        rq->path = target; /* for the style of the answer */
        return 414;
    }
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
        rq->http10 = false;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        rq->http10 = true;
    else
        return strncmp(sp2 + 1, "HTTP/", 5) == 0 && strlen(sp2 + 1) == 8 ? 505 : 400;
    for (char *t = target; *t; t++)
        if ((unsigned char)*t <= 0x20 || *t == 0x7f)
            return 400;
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        target = strchr(target + 8 - (target[4] == ':'), '/'); /* absolute form: its path */
        if (!target)
            return 400;
    }
    if (target[0] != '/')
        return 400;
    q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    rq->path = target;
    rq->query = q;
    return 0;
}

static bool has_token(const char *value, const char *token)
{
    size_t n = strlen(token);

    for (const char *p = value; (p = strcasestr(p, token)); p += n)
        if ((p == value || p[-1] == ',' || p[-1] == ' ') &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
    return false;
}

static int parse_headers(struct httpd_conn *c, char *p)
{
    struct httpd_req *rq = &c->rq;

    for (;;) {
        char *line = cut_line(&p), *colon, *v, *e;

        if (!*line)
            return 0;
        if (*line == ' ' || *line == '\t')
            return 400; /* obsolete line folding (RFC 9112 5.2) */
        if (rq->n_headers == HTTPD_HEADERS_MAX)
            return 431;
        colon = strchr(line, ':');
        if (!colon || colon == line)
            return 400;
        *colon = '\0';
        for (char *n = line; *n; n++)
            if (!tchar((unsigned char)*n))
                return 400;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
            ;
        *e = '\0';
        for (char *x = v; *x; x++)
            if (((unsigned char)*x < 0x20 && *x != '\t') || *x == 0x7f)
                return 400;
        rq->headers[rq->n_headers++] = (struct httpd_header){line, v};
    }
}

/* What the headers say about the body and the connection. */
static int frame(struct httpd_conn *c)
{
    struct httpd *h = c->th->h;
    struct httpd_req *rq = &c->rq;
    const char *cl = NULL, *te = NULL, *conn = NULL, *expect = NULL;
    bool host = false;
    char *end;

    for (unsigned i = 0; i < rq->n_headers; i++) {
        const char *n = rq->headers[i].name, *v = rq->headers[i].value;

        if (strcasecmp(n, "Content-Length") == 0) {
            if (cl && strcmp(cl, v) != 0)
                return 400;
            cl = v;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            if (te)
                return 400;
            te = v;
        } else if (strcasecmp(n, "Connection") == 0) {
            conn = v;
        } else if (strcasecmp(n, "Expect") == 0) {
            expect = v;
        } else if (strcasecmp(n, "Host") == 0) {
            host = true;
        }
    }
    if (!rq->http10 && !host)
        return 400;
    c->keep_alive =
        rq->http10 ? conn && has_token(conn, "keep-alive") : !(conn && has_token(conn, "close"));
    c->head_method = strcmp(rq->method, "HEAD") == 0;
    if (te && cl)
        return 400; /* RFC 9112 6.3: a sign of request smuggling */
    if (te && strcasecmp(te, "chunked") != 0)
        return 501;
    if (cl) {
        if (!*cl || *cl == '-' || *cl == '+')
            return 400;
        errno = 0;
        c->body_left = strtoull(cl, &end, 10);
        if (*end || errno)
            return 400;
    }
    c->chunked = te != NULL;
    if (expect && strcasecmp(expect, "100-continue") != 0)
        return 417;
    c->body_max = h->cfg.ops->body_max ? h->cfg.ops->body_max(h->cfg.arg, rq) : 0;
    if (!c->body_max)
        c->body_max = h->cfg.body_max;
    if (c->body_left > c->body_max) {
        if (expect || c->body_left > c->body_max * DISCARD_FACTOR)
            return 413; /* answered at once; the connection closes */
        c->discard = c->too_large = true;
    }
    if (expect && (c->body_left || c->chunked) && !rq->http10) {
        struct iovec iov = {"HTTP/1.1 100 Continue\r\n\r\n", 25};

        if (conn_send(c, &iov, 1) < 0)
            return 400;
    }
    if (!c->discard && (c->body_left || c->chunked) && h->cfg.ops->body_file)
        c->body_fd = h->cfg.ops->body_file(h->cfg.arg, rq);
    if (!c->discard && c->body_left && c->body_fd < 0) { /* the whole body in one piece */
        c->body.cap = c->body_left + 1;
        c->body.s = xrealloc(c->body.s, c->body.cap);
    }
    return 0;
}

/* Parses the head when it is complete: 1 when the connection moved on. */
static int parse_head(struct httpd_conn *c)
{
    size_t end;
    char *p, *nl;
    int st;

    if (!c->in_len) /* nothing yet (an idle connection may have no buffer) */
        return 0;
    while (c->in_len && (c->in[0] == '\r' || c->in[0] == '\n')) { /* RFC 9112 2.2 */
        memmove(c->in, c->in + 1, --c->in_len);
    }
    /* the same answer however the request arrives: the line's length first */
    nl = memchr(c->in, '\n', c->in_len);
    if ((nl ? (size_t)(nl - c->in) : c->in_len) > HTTPD_TARGET_MAX + 64) {
        char *sp = memchr(c->in, ' ', 64);

        if (sp && sp[1] == '/') { /* the target's start, for the style of the answer */
            sp[256] = '\0';
            c->rq.path = sp + 1;
        }
        refuse(c, 414, "the request line is longer than 8 KiB");
        return 1;
    }
    end = head_end(c->in, c->in_len);
    if (!end) {
        if (c->in_len == HTTPD_HEAD_MAX) {
            refuse(c, 431, "the request's headers are larger than 16 KiB");
            return 1;
        }
        return 0;
    }
    c->in[end - 1] = '\0'; /* ends the last (empty) line */
    p = c->in;
    st = memchr(c->in, '\0', end - 1) ? 400 : parse_request_line(c, cut_line(&p));
    if (!st)
        st = parse_headers(c, p);
    c->in_pos = c->head_len = end;
    if (!st)
        st = frame(c);
    if (st) {
        refuse(c, st,
               st == 414   ? "the request target is longer than 8 KiB"
               : st == 431 ? "the request has more than 100 headers"
               : st == 413 ? "the body is too large"
               : st == 501 ? "only the chunked transfer coding is supported"
               : st == 505 ? "only HTTP/1.0 and HTTP/1.1 are supported"
               : st == 417 ? "only 'Expect: 100-continue' is supported"
                           : "malformed request");
        return 1;
    }
    c->state = c->body_left || c->chunked ? C_BODY : C_HANDLING;
    return 1;
}

/* Writes body bytes into the body's file; after a failure they are
 * counted only (the handler sees body_error). */
static void spool(struct httpd_conn *c, const char *p, size_t n)
{
    c->spooled += n;
    while (n && !c->body_error) {
        ssize_t w = write(c->body_fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            c->body_error = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Takes body bytes from p[0..n): returns how many were used. */
static size_t body_bytes(struct httpd_conn *c, const char *p, size_t n)
{
    if (c->discard || c->body.len + c->spooled + n > c->body_max) {
        c->discard = c->too_large = true;
        c->discarded += n;
        sbuf_done(&c->body);
        return n;
    }
    if (c->body_fd >= 0)
        spool(c, p, n);
    else
        sbuf_add(&c->body, p, n);
    return n;
}

/* One step of the chunked decoder over in[in_pos..in_len); 1 when the
 * body is complete, -1 when malformed, 0 for more input. */
static int dechunk(struct httpd_conn *c)
{
    while (c->in_pos < c->in_len) {
        char *p = c->in + c->in_pos, ch = *p;
        size_t avail = c->in_len - c->in_pos, n;

        switch (c->kstate) {
        case K_SIZE:
            if (ch == ';' || ch == ' ' || ch == '\t') {
                c->kstate = K_EXT;
            } else if (ch == '\r') {
            } else if (ch == '\n') {
                c->kstate = c->body_left ? K_DATA : K_TRAILER;
            } else {
                int d = ch >= '0' && ch <= '9'   ? ch - '0'
                        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                 : -1;

                if (d < 0 || c->body_left >> 56)
                    return -1;
                c->body_left = c->body_left * 16 + (uint64_t)d;
            }
            c->in_pos++;
            break;
        case K_EXT:
            if (ch == '\n')
                c->kstate = c->body_left ? K_DATA : K_TRAILER;
            c->in_pos++;
            break;
        case K_DATA:
            n = avail < c->body_left ? avail : (size_t)c->body_left;
            c->in_pos += body_bytes(c, p, n);
            c->body_left -= n;
            if (!c->body_left)
                c->kstate = K_DATA_END;
            break;
        case K_DATA_END:
            if (ch == '\n')
                c->kstate = K_SIZE;
            else if (ch != '\r')
                return -1;
            c->in_pos++;
            break;
        case K_TRAILER: { /* trailer lines, ignored, until an empty one */
            char *nl = memchr(p, '\n', avail);

            if (!nl) /* a trailer line longer than the buffer */
                return c->in_pos == c->head_len && c->in_len == HTTPD_HEAD_MAX ? -1 : 0;
            c->in_pos += (size_t)(nl - p) + 1;
            if (nl == p || (nl == p + 1 && *p == '\r'))
                c->kstate = K_DONE;
            break;
        }
        case K_DONE:
            return 1;
        }
        if (c->kstate == K_DONE)
            return 1;
        if (c->discarded > c->body_max * DISCARD_FACTOR)
            return -1;
    }
    return c->kstate == K_DONE;
}

/* Takes what the input buffer holds of the body; 1 when it is complete. */
static int take_body(struct httpd_conn *c)
{
    if (c->chunked) {
        int r = dechunk(c);

        if (r < 0)
            refuse(c, c->too_large ? 413 : 400,
                   c->too_large ? "the body is too large" : "malformed chunked body");
        else if (r > 0)
            c->state = C_HANDLING;
        return r != 0;
    }
    if (c->in_pos < c->in_len) {
        size_t n = c->in_len - c->in_pos;

        if (n > c->body_left)
            n = (size_t)c->body_left;
        c->in_pos += body_bytes(c, c->in + c->in_pos, n);
        c->body_left -= n;
    }
    if (c->body_left)
        return 0;
    c->state = C_HANDLING;
    return 1;
}

/* Reads body bytes from the socket: straight into the body when its length
 * is known (never past it), else into the input buffer after the head. */
static void read_body(struct httpd_conn *c)
{
    ssize_t n;

    if (!c->chunked) {
        bool scratch = c->discard || c->body_fd >= 0;
        char *dst = scratch ? c->th->scratch : c->body.s + c->body.len;
        size_t want = scratch ? sizeof(c->th->scratch) : (size_t)c->body_left;

        if (want > c->body_left)
            want = (size_t)c->body_left;
        n = conn_recv(c, dst, want, false);
        if (n > 0) {
            if (c->discard)
                c->discarded += (size_t)n;
            else if (c->body_fd >= 0)
                spool(c, dst, (size_t)n);
            else
                c->body.len += (size_t)n;
            c->body_left -= (size_t)n;
        }
    } else {
        /* what is decoded goes: the head stays, the rest moves after it */
        memmove(c->in + c->head_len, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos - c->head_len;
        c->in_pos = c->head_len;
        if (c->in_len == HTTPD_HEAD_MAX) {
            refuse(c, 431, "the request's head leaves no room for its chunked body");
            return; /* answered by the caller's drive() */
        }
        n = conn_recv(c, c->in + c->in_len, HTTPD_HEAD_MAX - c->in_len, false);
        if (n > 0)
            c->in_len += (size_t)n;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        c->gone = true;
        close_conn(c);
    }
}

/* ---- driving a connection ---- */

static void handle(struct httpd_conn *c)
{
    struct httpd *h = c->th->h;
    struct httpd_req *rq = &c->rq;

    tl_remove(c);
    if (c->body.s && !c->too_large) {
        c->body.s[c->body.len] = '\0';
        rq->body = c->body.s;
        rq->body_len = c->body.len;
    } else if (c->body_fd >= 0 && !c->too_large) {
        rq->body_fd = c->body_fd;
        rq->body_len = c->spooled;
        rq->body_error = c->body_error;
    }
    rq->body_too_large = c->too_large;
    rq->received_us = mono_us();
    h->cfg.ops->request(h->cfg.arg, c, rq);
    if (c->state == C_HANDLING) /* the handler did not answer */
        httpd_respond(c, 500, NULL, 0, NULL, 0);
}

static void drive(struct httpd_conn *c)
{
    while (!c->closed) {
        switch (c->state) {
        case C_HEAD:
            if (!parse_head(c))
                return;
            break;
        case C_BODY:
            if (!take_body(c))
                return;
            break;
        case C_HANDLING:
            handle(c);
            break;
        case C_WRITING:
            if (send_pending(c) <= 0)
                return;
            request_end(c);
            break;
        case C_STREAM:
            pump(c);
            return;
        case C_HANDSHAKE:
        case C_SUSPENDED:
        case C_LINGER:
            return;
        }
    }
}

/* Reads what the client sent; closes the connection when it has gone. */
static void on_readable(struct httpd_conn *c)
{
    struct httpd *h = c->th->h;
    ssize_t n;
    char peek;

    switch (c->state) {
    case C_HEAD: /* never full here: a full head is refused */
        if (!c->in)
            c->in = xmalloc(HTTPD_HEAD_MAX);
        n = conn_recv(c, c->in + c->in_len, HTTPD_HEAD_MAX - c->in_len, false);
        if (n > 0) {
            if (c->tl != T_REQUEST || c->in_len == 0)
                tl_set(c, T_REQUEST, h->cfg.request_timeout_ms);
            c->in_len += (size_t)n;
            drive(c);
            return;
        }
        break;
    case C_BODY:
        read_body(c);
        if (!c->closed)
            drive(c);
        return;
    case C_STREAM: /* the client has nothing to say: only its going matters */
        n = conn_recv(c, c->th->scratch, sizeof(c->th->scratch), false);
        break;
    case C_LINGER: /* drained as it comes, TLS or not */
        n = recv(c->fd, c->th->scratch, sizeof(c->th->scratch), 0);
        break;
    case C_SUSPENDED:
        n = conn_recv(c, &peek, 1, true);
        if (n > 0) { /* a pipelined request: it waits for this one */
            watch(c, 0);
            return;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            c->gone = true; /* kept until resumed: someone holds it */
            unwatch(c);
        }
        return;
    default: /* writing: the next request waits */
        watch(c, c->events & ~(unsigned)(EPOLLIN | EPOLLRDHUP));
        return;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        c->gone = true;
        close_conn(c);
    }
}

/* A step of a TLS handshake. What is not TLS gets a plain 400. */
static void handshake(struct httpd_conn *c)
{
    unsigned char first;
    ssize_t n = recv(c->fd, &first, 1, MSG_PEEK);
    int r;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        c->gone = true;
        close_conn(c);
        return;
    }
    if (n > 0 && first != 0x16 && SSL_in_before(c->ssl)) { /* not a TLS handshake record */
        SSL_free(c->ssl);
        c->ssl = NULL;
        c->state = C_HEAD;
        refuse(c, 400, "this port serves HTTPS only");
        drive(c);
        return;
    }
    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->state = C_HEAD; /* the timer of the connection's first request runs on */
        watch(c, EPOLLIN | EPOLLRDHUP);
        tls_more(c);
        return;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        watch(c, EPOLLIN | EPOLLRDHUP);
        return;
    case SSL_ERROR_WANT_WRITE:
        watch(c, EPOLLOUT);
        return;
    default:
        log_debug("HTTP server: TLS handshake failed: %s",
                  ERR_reason_error_string(ERR_peek_error())
                      ? ERR_reason_error_string(ERR_peek_error())
                      : "connection closed");
        ERR_clear_error();
        c->gone = true;
        close_conn(c);
    }
}

static void on_event(struct httpd_conn *c, unsigned events)
{
    if (c->closed)
        return;
    if (events & (EPOLLERR | EPOLLHUP)) {
        c->gone = true;
        if (c->state == C_SUSPENDED)
            unwatch(c);
        else
            close_conn(c);
        return;
    }
    if (c->state == C_HANDSHAKE) {
        handshake(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP))
        on_readable(c);
    if (!c->closed && events & EPOLLOUT) {
        watch(c, c->state == C_STREAM ? EPOLLIN | EPOLLRDHUP : 0);
        drive(c);
    }
    tls_more(c);
}

static void resumed(struct httpd_conn *c)
{
    struct httpd *h = c->th->h;
    void *data = c->data;

    if (c->closed)
        return;
    if (c->ssl && (c->state == C_HEAD || c->state == C_BODY)) { /* tls_more */
        on_readable(c);
        tls_more(c);
        return;
    }
    if (c->state == C_STREAM) {
        pump(c);
        return;
    }
    if (c->state != C_SUSPENDED)
        return;
    if (c->gone) {
        close_conn(c);
        return;
    }
    c->state = C_HANDLING;
    h->cfg.ops->resume(h->cfg.arg, c, data);
    if (c->state == C_HANDLING)
        httpd_respond(c, 500, NULL, 0, NULL, 0);
    watch(c, EPOLLIN | EPOLLRDHUP);
    drive(c);
    tls_more(c);
}

static void drain_resumed(struct httpd_thread *th)
{
    uint64_t v;
    struct httpd_conn *list, *c;

    if (read(th->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_debug("HTTP server: eventfd: %s", strerror(errno));
    pthread_mutex_lock(&th->mu);
    list = th->qhead;
    for (c = list; c; c = c->qnext)
        c->queued = false;
    th->qhead = th->qtail = NULL;
    pthread_mutex_unlock(&th->mu);
    /* A connection closed meanwhile is only buried after this batch. */
    while ((c = list)) {
        list = c->qnext;
        c->qnext = c->qprev = NULL;
        resumed(c);
    }
}

/* ---- accepting ---- */

/* At the connection limit: closes the thread's oldest idle connection, or
 * its oldest one still sending a request. */
static bool evict_one(struct httpd_thread *th)
{
    struct httpd_conn *c = th->lists_head[T_IDLE];

    if (!c)
        c = th->lists_head[T_LINGER];
    if (!c)
        c = th->lists_head[T_REQUEST];
    if (!c)
        return false;
    c->gone = true;
    close_conn(c);
    return true;
}

static void drop_now(int fd)
{
    struct linger l = {1, 0}; /* a reset: nothing of it stays in the kernel */

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* Serves fd, a connection of the client at ss; false when it is refused
 * (too many of its client's or in all: fd is reset). */
static bool conn_add(struct httpd_thread *th, int fd, const struct sockaddr_storage *ss)
{
    struct httpd *h = th->h;
    struct httpd_conn *c;
    struct client *cl = client_take(h, ss);
    struct epoll_event ev;
    int one = 1;

    if (!cl) {
        drop_now(fd);
        return false;
    }
    if (__atomic_load_n(&h->n_conns, __ATOMIC_RELAXED) >= h->cfg.max_conns && !evict_one(th)) {
        client_drop(h, cl);
        drop_now(fd);
        return false;
    }
    __atomic_add_fetch(&h->n_conns, 1, __ATOMIC_RELAXED);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = xcalloc(1, sizeof(*c));
    c->th = th;
    c->fd = fd;
    c->client = cl;
    c->tl = T_NONE;
    c->peer = *ss;
    c->in = xmalloc(HTTPD_HEAD_MAX);
    c->body_fd = -1;
    if (h->tls && (!(c->ssl = SSL_new(h->tls)) || !SSL_set_fd(c->ssl, fd))) {
        log_warn("HTTP server: cannot start TLS on a connection");
        SSL_free(c->ssl);
        free(c->in);
        free(c);
        client_drop(h, cl);
        __atomic_sub_fetch(&h->n_conns, 1, __ATOMIC_RELAXED);
        drop_now(fd);
        return false;
    }
    if (c->ssl)
        SSL_set_accept_state(c->ssl);
    reset_request(c);
    c->anext = th->all;
    if (th->all)
        th->all->aprev = c;
    th->all = c;
    c->events = EPOLLIN | EPOLLRDHUP;
    ev = (struct epoll_event){.events = c->events, .data.ptr = c};
    epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &ev);
    /* a new connection must send its request soon (half-open ones go);
     * with TLS, its handshake comes first within the same time */
    start_head(c, h->cfg.request_timeout_ms, T_REQUEST);
    if (c->ssl)
        c->state = C_HANDSHAKE;
    return true;
}

static void accept_some(struct httpd_thread *th)
{
    struct httpd *h = th->h;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(h->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_warn("HTTP server: out of file descriptors (%s)", strerror(errno));
            return;
        }
        conn_add(th, fd, &ss);
    }
}

/* ---- the threads ---- */

static void expire(struct httpd_thread *th)
{
    uint64_t now = now_ms();

    for (int l = 0; l < T_N; l++) {
        struct httpd_conn *c;

        while ((c = th->lists_head[l]) && c->deadline <= now) {
            tl_remove(c);
            if (l == T_REQUEST && c->in_len > 0 && c->state != C_LINGER) {
                refuse(c, 408, "the request did not arrive in time");
                drive(c);
            } else {
                close_conn(c);
            }
        }
    }
}

static int next_timeout(struct httpd_thread *th)
{
    uint64_t now = now_ms(), next = now + 1000;

    for (int l = 0; l < T_N; l++)
        if (th->lists_head[l] && th->lists_head[l]->deadline < next)
            next = th->lists_head[l]->deadline;
    return next > now ? (int)(next - now) : 0;
}

/* One round of a thread's loop: the events of up to timeout_ms, then the
 * timeouts. Returns the number of events. */
static int run_once(struct httpd_thread *th, int timeout_ms)
{
    struct httpd *h = th->h;
    struct epoll_event ev[EPOLL_BATCH];
    int next = next_timeout(th);
    int n = epoll_wait(th->ep, ev, EPOLL_BATCH, timeout_ms < next ? timeout_ms : next);

    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == &h->lfd)
            accept_some(th);
        else if (ev[i].data.ptr == &th->evfd)
            drain_resumed(th);
        else
            on_event(ev[i].data.ptr, ev[i].events);
    }
    expire(th);
    bury(th);
    if (h->cfg.ops->batch_end)
        h->cfg.ops->batch_end(h->cfg.arg);
    return n < 0 ? 0 : n;
}

static void *thread_main(void *arg)
{
    struct httpd_thread *th = arg;

    while (!__atomic_load_n(&th->h->stopping, __ATOMIC_RELAXED))
        run_once(th, INT_MAX);
    return NULL;
}

static int listen_on(struct httpd *h, char *err, size_t errlen)
{
    const struct httpd_config *cfg = &h->cfg;
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    h->lfd = socket(cfg->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(h->lfd, cfg->addr, cfg->addr_len) || listen(h->lfd, 1024)) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(h->lfd);
        h->lfd = -1;
        return -EADDRINUSE;
    }
    if (getsockname(h->lfd, (struct sockaddr *)&ss, &len) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static int thread_init(struct httpd *h, struct httpd_thread *th)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &h->lfd};

    th->h = h;
    th->date_at = -1;
    th->ep = epoll_create1(EPOLL_CLOEXEC);
    th->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&th->mu, NULL);
    for (int l = 0; l < T_N; l++)
        th->lists_head[l] = th->lists_tail[l] = NULL;
    if (th->ep < 0 || th->evfd < 0 ||
        (h->lfd >= 0 && epoll_ctl(th->ep, EPOLL_CTL_ADD, h->lfd, &ev)))
        return -errno;
    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &th->evfd};
    if (epoll_ctl(th->ep, EPOLL_CTL_ADD, th->evfd, &ev))
        return -errno;
    if (h->lfd < 0) /* driven by httpd_poll */
        return 0;
    if (pthread_create(&th->tid, NULL, thread_main, th))
        return -EAGAIN;
    th->started = true;
    return 0;
}

/* TLS 1.2 and 1.3 only; in 1.2 only forward-secret AEAD suites (1.3 has
 * nothing else); no renegotiation, no compression. */
#define TLS12_CIPHERS                                                                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static SSL_CTX *tls_context(const struct httpd_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = "cannot make a TLS context";

    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS))
        goto fail;
    what = cfg->tls_cert;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
        goto fail;
    what = cfg->tls_key;
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    return ctx;
fail:
    snprintf(err, errlen, "%s: %s", what,
             ERR_reason_error_string(ERR_peek_last_error())
                 ? ERR_reason_error_string(ERR_peek_last_error())
                 : "unknown error");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

struct httpd *httpd_start(const struct httpd_config *cfg, char *err, size_t errlen)
{
    struct httpd *h = xcalloc(1, sizeof(*h));

    h->cfg = *cfg;
    h->lfd = -1;
    pthread_mutex_init(&h->cmu, NULL);
    h->n_threads = cfg->threads && cfg->addr ? cfg->threads : 1;
    h->threads = xcalloc(h->n_threads, sizeof(*h->threads));
    for (unsigned i = 0; i < h->n_threads; i++)
        h->threads[i].ep = h->threads[i].evfd = -1;
    if (cfg->tls_cert && !(h->tls = tls_context(cfg, err, errlen))) {
        httpd_free(h);
        return NULL;
    }
    if (cfg->addr && listen_on(h, err, errlen)) {
        httpd_free(h);
        return NULL;
    }
    h->cfg.addr = NULL; /* the caller's, valid only during the call */
    for (unsigned i = 0; i < h->n_threads; i++) {
        if (thread_init(h, &h->threads[i])) {
            snprintf(err, errlen, "cannot start the HTTP threads: %s", strerror(errno));
            httpd_stop(h);
            httpd_free(h);
            return NULL;
        }
    }
    return h;
}

void httpd_stop(struct httpd *h)
{
    uint64_t one = 1;

    if (!h || __atomic_exchange_n(&h->stopping, 1, __ATOMIC_RELAXED))
        return;
    for (unsigned i = 0; i < h->n_threads; i++)
        if (h->threads[i].evfd >= 0 && write(h->threads[i].evfd, &one, sizeof(one)) < 0)
            log_debug("HTTP server: cannot wake a thread: %s", strerror(errno));
    for (unsigned i = 0; i < h->n_threads; i++)
        if (h->threads[i].started)
            pthread_join(h->threads[i].tid, NULL);
    for (unsigned i = 0; i < h->n_threads; i++)
        h->threads[i].started = false;
    if (h->lfd >= 0)
        close(h->lfd);
    h->lfd = -1;
}

void httpd_free(struct httpd *h)
{
    if (!h)
        return;
    httpd_stop(h);
    for (unsigned i = 0; i < h->n_threads; i++) {
        struct httpd_thread *th = &h->threads[i];

        while (th->all)
            close_conn(th->all);
        bury(th);
        if (th->ep >= 0)
            close(th->ep);
        if (th->evfd >= 0)
            close(th->evfd);
        pthread_mutex_destroy(&th->mu);
    }
    pthread_mutex_destroy(&h->cmu);
    SSL_CTX_free(h->tls);
    free(h->threads);
    free(h);
}

bool httpd_adopt(struct httpd *h, int fd, const struct sockaddr *peer, socklen_t len)
{
    struct sockaddr_storage ss = {0};

    memcpy(&ss, peer, len < sizeof(ss) ? len : sizeof(ss));
    return conn_add(&h->threads[0], fd, &ss);
}

int httpd_poll(struct httpd *h, int timeout_ms)
{
    return run_once(&h->threads[0], timeout_ms);
}

unsigned httpd_conns(const struct httpd *h)
{
    return __atomic_load_n(&h->n_conns, __ATOMIC_RELAXED);
}

unsigned httpd_port(const struct httpd *h)
{
    return h->port;
}
