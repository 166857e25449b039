/* An HTTP/1.1 server engine: a few threads, each with its own epoll loop,
 * serving the connections they accept from one listening socket. It parses
 * requests in place (no copy of the head), answers each with one write,
 * keeps connections alive, and enforces the limits an exposed server needs:
 * sizes of the head, the target and the body, a time for a request to
 * arrive, idle connections, connections in all and per client. Whatever it
 * refuses itself (400, 413, 414, 431, 501, 505) goes through the owner's
 * refuse() so that every error has the API's body.
 *
 * A request is handed over complete (head and body): its body in memory, or
 * written as it arrives into a file its owner gives (body_file: an upload
 * of any size costs a buffer). Its handler answers at
 * once (httpd_respond), streams an answer of unknown length (httpd_stream),
 * or suspends the connection and has it resumed from any thread
 * (httpd_resume), e.g. when the transactor has applied a write. A suspended
 * or streaming connection still notices when its client goes away.
 *
 * With a certificate and its key it speaks HTTPS only (OpenSSL, TLS 1.2+).
 *
 * Threads: request(), refuse(), resume(), done() and the stream's read and
 * free run on the connection's thread; httpd_resume() is the only call that
 * may come from elsewhere.
 */
#ifndef VNFM_HTTPD_H
#define VNFM_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define HTTPD_HEAD_MAX    16384 /* request line and headers */
#define HTTPD_TARGET_MAX  8192  /* the request target (path and query) */
#define HTTPD_HEADERS_MAX 100

struct httpd;
struct httpd_conn;

struct httpd_header {
    const char *name, *value; /* NUL terminated, value without surrounding blanks */
};

/* A request, valid until done() (across a suspension too). */
struct httpd_req {
    const char *method;
    const char *path;  /* raw (not decoded), starts with '/' */
    const char *query; /* raw, after '?', or NULL */
    bool http10;
    unsigned n_headers;
    struct httpd_header headers[HTTPD_HEADERS_MAX];
    const char *body; /* NULL when there is none, or when it went to body_fd */
    size_t body_len;
    int body_fd;          /* the file of httpd_ops.body_file that holds the body, else -1 */
    int body_error;       /* errno of a failed write into body_fd (the rest was dropped), else 0 */
    bool body_too_large;  /* longer than body_max: not kept (body is NULL) */
    uint64_t received_us; /* mono_us() when it was all read (before it is parsed) */
    const struct sockaddr *peer;
};

/* The value of header name (case-insensitive), or NULL. */
const char *httpd_header(const struct httpd_req *rq, const char *name);

struct httpd_kv {
    const char *name, *value;
};

struct httpd_ops {
    /* A complete request: answer it, stream, or suspend. */
    void (*request)(void *arg, struct httpd_conn *c, struct httpd_req *rq);
    /* Optional: the largest body of the request whose head is rq (method,
     * path, headers), when it is not httpd_config.body_max; 0: that one. */
    size_t (*body_max)(void *arg, const struct httpd_req *rq);
    /* Optional: a file (an open descriptor, taken: the engine closes it
     * after done()) into which the body of the request whose head is rq is
     * written as it arrives, within its body_max; -1: the body is held in
     * memory. Called for a request that has a body only. */
    int (*body_file)(void *arg, const struct httpd_req *rq);
    /* A request the engine refused (rq may lack its path); answer it with
     * httpd_respond. The connection closes after the answer. */
    void (*refuse)(void *arg, struct httpd_conn *c, const struct httpd_req *rq, int status,
                   const char *message);
    /* A suspended connection was resumed: answer it (or suspend again). */
    void (*resume)(void *arg, struct httpd_conn *c, void *data);
    /* The request ended (answered, or its client went away): release data
     * (httpd_set_data). Not called when data is NULL. */
    void (*done)(void *arg, void *data);
    /* The thread has handled a batch of events (may be NULL). */
    void (*batch_end)(void *arg);
};

struct httpd_config {
    const struct sockaddr *addr;
    socklen_t addr_len;
    unsigned threads;
    unsigned max_conns;            /* in all; at the limit the oldest idle one is closed */
    unsigned max_conns_per_client; /* per IPv4 address or IPv6 /64; more are refused */
    unsigned request_timeout_ms;   /* from a request's first byte to its end */
    unsigned idle_timeout_ms;      /* a kept-alive connection without a request */
    size_t body_max;
    /* HTTPS only when set (PEM files: the certificate chain, its key): TLS
     * 1.2+, the handshake within request_timeout_ms of the connection; a
     * plain request gets a 400. The process must ignore SIGPIPE. */
    const char *tls_cert, *tls_key;
    const struct httpd_ops *ops;
    void *arg;
};

/* Listens and starts the threads. NULL with err set on failure. */
struct httpd *httpd_start(const struct httpd_config *cfg, char *err, size_t errlen);
/* Stops accepting and serving: the threads end. Suspended connections stay
 * (httpd_resume remains safe) until httpd_free. */
void httpd_stop(struct httpd *h);
/* Closes every connection (done() for each request) and frees. Accepts NULL. */
void httpd_free(struct httpd *h);

/* Answers with status, the headers hdrs (Content-Type among them when there
 * is a body) and body (taken: freed with free(); may be NULL). */
void httpd_respond(struct httpd_conn *c, int status, const struct httpd_kv *hdrs, unsigned n,
                   char *body, size_t len);
/* Answers with a body of unknown length: read(cls, buf, max) returns bytes
 * written to buf, 0 when it has nothing now (call httpd_resume when it has),
 * -1 at the end, or -2 when it failed (the connection closes without the
 * chunked answer's end: its client sees it cut short). release(cls) runs
 * when the stream ends or its client goes. */
void httpd_stream(struct httpd_conn *c, int status, const struct httpd_kv *hdrs, unsigned n,
                  ssize_t (*read)(void *cls, char *buf, size_t max), void (*release)(void *cls),
                  void *cls);
/* Keeps the connection waiting after request() returns, with data for
 * resume() and done(). */
void httpd_suspend(struct httpd_conn *c, void *data);
/* Any thread: resume() (or the stream's read) runs on the connection's
 * thread. A connection whose client has gone is closed instead. */
void httpd_resume(struct httpd_conn *c);

/* Without a listener (cfg->addr NULL): no threads either; the caller
 * hands connections over with httpd_adopt and serves them with httpd_poll
 * on its own thread. The fuzz target drives the parser this way. */
/* Serves fd (non-blocking), a connection of peer; false when refused (fd
 * is closed), as accepting it would. */
bool httpd_adopt(struct httpd *h, int fd, const struct sockaddr *peer, socklen_t len);
/* Handles what happened within timeout_ms, then the timeouts: the number
 * of events handled. */
int httpd_poll(struct httpd *h, int timeout_ms);
/* Connections open now. */
unsigned httpd_conns(const struct httpd *h);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *httpd_reason(int status);
/* The listening port (useful with port 0). */
unsigned httpd_port(const struct httpd *h);

#endif
