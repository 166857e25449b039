/* The HTTP client of every outgoing request (callbacks, SOL003
 * notifications and their endpoint tests, webhook actions, the federation
 * between managers): one blocking call with a hard timeout, for worker
 * threads only; and streams that share one thread (httpc_streams).
 *
 * A destination policy is checked on the address actually connected to
 * (after name resolution, so a name that resolves to a forbidden address is
 * refused too), never on the URL's text.
 */
#ifndef VNFM_HTTPC_H
#define VNFM_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_ERR_MAX 256

/* Addresses a request may not reach (bits of httpc_req.deny). */
#define HTTPC_DENY_LOOPBACK   (1u << 0) /* 127.0.0.0/8, ::1 */
#define HTTPC_DENY_LINK_LOCAL (1u << 1) /* 169.254.0.0/16, fe80::/10 */
#define HTTPC_DENY_PRIVATE    (1u << 2) /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
#define HTTPC_DENY_ALL        (HTTPC_DENY_LOOPBACK | HTTPC_DENY_LINK_LOCAL | HTTPC_DENY_PRIVATE)

struct httpc_req {
    const char *method;          /* NULL: POST with a body, GET without */
    const char *url;             /* http:// or https:// only */
    const char *body;            /* NULL: none */
    const char *const *headers;  /* "Name: value" lines, NULL terminated; may be NULL */
    const char *user, *password; /* HTTP Basic authentication when user is set */
    unsigned timeout_ms;         /* the whole request; 0 = 10 s */
    unsigned connect_timeout_ms; /* 0 = the whole timeout */
    size_t max_response;         /* keep up to this many bytes of the answer; 0 = discard it */
    unsigned deny;               /* HTTPC_DENY_* */
    const char *ca_file;         /* https: the CA certificates to check the server's with; NULL:
                                    the system's */
    /* https: trust exactly the server whose public key is the one of this
     * certificate (PEM), whatever its name or issuer: a manager calling one
     * it started with its own certificate and key. */
    const char *pin_cert;
    /* Optional: the answer's body as it arrives (a stream: the federation
     * channel), instead of keeping it. Returns false to end the request
     * (then the call fails with -EIO and err "aborted"). timeout_ms then
     * bounds only the time without a byte (low speed limit). */
    bool (*on_data)(void *arg, const char *p, size_t n);
    void *data_arg;
    /* Optional: the request ends (-EIO, "aborted") soon after *cancel
     * becomes true (read atomically), even when nothing arrives. */
    const bool *cancel;
    /* Follow up to 4 redirects (a 307 keeps the method and the body: a
     * branch sent to its site's owner, docs/HA.md), with every header
     * (its credential too: only for servers trusted as much as the first);
     * resp->url says where the answer came from. */
    bool follow;
    /* Optional, not for streams: run on a handle of this keep, whose
     * connections stay open for the next request (httpc_keep_new). */
    struct httpc_keep *keep;
};

/* What a request measured of the path to its server (filled when it was
 * answered): the TCP handshake (one round trip), the whole request, the
 * speed its body went up at, and the kernel's view of its connection
 * (TCP_INFO: smoothed round trip, segments sent and retransmitted). */
struct httpc_timing {
    double connect_ms, total_ms;
    double upload_bps;
    bool tcp;          /* the TCP_INFO members below are set */
    double rtt_ms;     /* tcpi_rtt */
    unsigned segs_out; /* tcpi_segs_out */
    unsigned retrans;  /* tcpi_total_retrans less tcpi_dsack_dups (spurious ones) */
    /* The request went on a connection a keep held from an earlier one:
     * connect_ms is 0, and segs_out and retrans count since that one. */
    bool reused;
};

struct httpc_resp {
    long status; /* HTTP status, 0 when there was no answer */
    struct httpc_timing timing;
    char *body;              /* malloc'd, NUL terminated, when max_response; else NULL */
    size_t body_len;         /* bytes kept */
    bool truncated;          /* the answer was longer than max_response */
    bool denied;             /* the destination policy refused the address */
    char err[HTTPC_ERR_MAX]; /* why there was no answer, for logs (empty when answered) */
    char url[512];           /* the URL that answered (httpc_req.follow), else empty */
};

/* Performs the request. Returns 0 when an answer came (any status: see
 * resp->status), or a negative errno with resp->err set: -EACCES when the
 * destination policy refused it, -ETIMEDOUT, -EINVAL for a URL that is not
 * http(s), -ELOOP when redirects went on beyond four, -EIO otherwise. resp is always filled;
 * release it with httpc_resp_done(). */
int httpc_do(const struct httpc_req *rq, struct httpc_resp *resp);
void httpc_resp_done(struct httpc_resp *resp);

/* Connections kept between requests: a request that names a keep
 * (httpc_req.keep) runs on one of its n handles, which keep their
 * connections (and TLS sessions) open for the next, so a client that
 * talks to one server often (a branch's reports, every second) pays the
 * TCP and TLS handshakes once, not per request (a TLS handshake costs a
 * server more than ten times the request it carries). n requests run at
 * once; more wait for a handle. A server closes a connection idle too
 * long: the next request then makes a new one. A request's destination
 * policy (deny) is checked when a connection is made: a keep's requests
 * all go to destinations of the same policy. */
struct httpc_keep;
struct httpc_keep *httpc_keep_new(unsigned n);
/* Closes its connections; no request may be running on it. */
void httpc_keep_free(struct httpc_keep *k);

/* Streaming requests (httpc_req.on_data set) run on one thread of their
 * own, however many there are (curl's multi interface): the channels a
 * cloud VNFM relays for the branches it serves. */
struct httpc_streams;
/* name: its thread's (15 characters at most); NULL when it cannot start */
struct httpc_streams *httpc_streams_new(const char *name);
/* Starts rq, which (with what it points to) stays valid until done is
 * called, once, on the streams' thread, with what httpc_do would have
 * returned (rc, resp: valid during the call). rq->on_data is called on that
 * thread too. *rq->cancel ends the stream within 200 ms even when nothing
 * arrives. Returns a negative errno when it did not start (done is not
 * called then): -EINVAL without on_data, with a keep, or for a URL that is not http(s),
 * -ESHUTDOWN once httpc_streams_free began. */
int httpc_stream(struct httpc_streams *s, const struct httpc_req *rq,
                 void (*done)(void *arg, int rc, struct httpc_resp *resp), void *arg);
/* Ends every stream (each done called) and the thread. */
void httpc_streams_free(struct httpc_streams *s);

/* Whether the host of url is one that deny refuses without resolving
 * anything: a literal address of a denied kind, or "localhost" (and
 * names under it) when loopback is denied. A check at registration; the
 * request itself checks the address it connects to. */
bool httpc_url_denied(const char *url, unsigned deny);

/* Whether status is 2xx. */
static inline bool httpc_ok(const struct httpc_resp *r)
{
    return r->status >= 200 && r->status < 300;
}

/* A one-line account of the outcome for events and logs: "HTTP 204",
 * "HTTP 500", or the transport error ("connection refused", ...). */
const char *httpc_outcome(const struct httpc_resp *r, char *buf, size_t size);

/* Once per process, before any thread uses the client. */
void httpc_global_init(void);
void httpc_global_cleanup(void);

#endif
