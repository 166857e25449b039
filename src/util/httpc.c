#include "util/httpc.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* A handle of a keep, and the counters of its connection at its last
 * request (httpc_timing.reused). */
struct slot {
    CURL *e;
    bool busy;
    unsigned segs_out, retrans;
};

struct httpc_keep {
    pthread_mutex_t mu;
    pthread_cond_t free;
    unsigned n;
    struct slot slots[];
};

/* One request: its handle and what libcurl writes to while it runs. */
struct call {
    const struct httpc_req *rq;
    struct httpc_resp *resp;
    struct slot *slot; /* the keep's handle it runs on, or NULL: a handle of its own */
    CURL *e;
    struct curl_slist *h;
    char cerr[CURL_ERROR_SIZE];
    /* a stream of httpc_streams: its outcome, and whom to tell */
    struct httpc_resp own;
    void (*done)(void *arg, int rc, struct httpc_resp *resp);
    void *arg;
    struct call *next; /* waiting to be added to the streams' handle */
};

static bool v4_denied(uint32_t a, unsigned deny)
{
    if ((deny & HTTPC_DENY_LOOPBACK) && (a >> 24) == 127)
        return true;
    if ((deny & HTTPC_DENY_LINK_LOCAL) && (a >> 16) == 0xa9fe)
        return true;
    if ((deny & HTTPC_DENY_PRIVATE) &&
        ((a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8))
        return true;
    return (deny & (HTTPC_DENY_LOOPBACK | HTTPC_DENY_PRIVATE)) && a == 0; /* 0.0.0.0 is local */
}

static bool v6_denied(const struct in6_addr *a, unsigned deny)
{
    const uint8_t *b = a->s6_addr;

    if (IN6_IS_ADDR_V4MAPPED(a))
        return v4_denied(
            (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15], deny);
    if ((deny & HTTPC_DENY_LOOPBACK) && (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a)))
        return true;
    if ((deny & HTTPC_DENY_LINK_LOCAL) && IN6_IS_ADDR_LINKLOCAL(a))
        return true;
    return (deny & HTTPC_DENY_PRIVATE) && (b[0] & 0xfe) == 0xfc;
}

bool httpc_url_denied(const char *url, unsigned deny)
{
    CURLU *u = curl_url();
    char *host = NULL;
    struct in6_addr a6;
    struct in_addr a4;
    bool denied = false;
    size_t n;

    if (u && deny && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        n = strlen(host);
        if (n > 2 && host[0] == '[' && host[n - 1] == ']') { /* IPv6, zone id aside */
            host[n - 1] = '\0';
            host[strcspn(host, "%")] = '\0';
            denied = inet_pton(AF_INET6, host + 1, &a6) == 1 && v6_denied(&a6, deny);
        } else if (inet_aton(host, &a4)) { /* also 2130706433, 0x7f.1 */
            denied = v4_denied(ntohl(a4.s_addr), deny);
        } else {
            while (n && host[n - 1] == '.')
                host[--n] = '\0';
            denied = (deny & HTTPC_DENY_LOOPBACK) &&
                     (strcasecmp(host, "localhost") == 0 ||
                      (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0));
        }
    }
    curl_free(host);
    curl_url_cleanup(u);
    return denied;
}

/* Called by libcurl for every address it is about to connect to. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct call *k = arg;
    bool denied = false;

    (void)purpose;
    if (a->family == AF_INET)
        denied =
            v4_denied(ntohl(((const struct sockaddr_in *)&a->addr)->sin_addr.s_addr), k->rq->deny);
    else if (a->family == AF_INET6)
        denied = v6_denied(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr, k->rq->deny);
    else
        denied = k->rq->deny != 0;
    if (denied) {
        k->resp->denied = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t keep(char *p, size_t size, size_t n, void *arg)
{
    struct call *k = arg;
    struct httpc_resp *r = k->resp;
    size_t len = size * n, room;

    if (k->rq->on_data)
        return k->rq->on_data(k->rq->data_arg, p, len) ? len : 0;
    if (!k->rq->max_response)
        return len;
    room = k->rq->max_response - r->body_len;
    if (len > room)
        r->truncated = true;
    len = len < room ? len : room;
    if (len) {
        r->body = xrealloc(r->body, r->body_len + len + 1);
        memcpy(r->body + r->body_len, p, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
    }
    return size * n;
}

static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const bool *cancel = arg;

    (void)dt, (void)dn, (void)ut, (void)un;
    return __atomic_load_n(cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

static bool http_url(const char *url)
{
    return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

static int fail(struct httpc_resp *r, int rc, const char *fmt, const char *arg)
{
    snprintf(r->err, sizeof(r->err), fmt, arg);
    return rc;
}

static void measured(CURL *e, struct slot *slot, struct httpc_timing *t)
{
    curl_off_t connect = 0, total = 0, up = 0;
    curl_socket_t fd = CURL_SOCKET_BAD;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    long made = 1;

    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &made);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(e, CURLINFO_SPEED_UPLOAD_T, &up);
    t->connect_ms = (double)connect / 1000.0;
    t->total_ms = (double)total / 1000.0;
    t->upload_bps = (double)up * 8.0;
    t->reused = slot && made == 0;
    if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK && fd != CURL_SOCKET_BAD &&
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
        t->tcp = true;
        t->rtt_ms = ti.tcpi_rtt / 1000.0;
        t->segs_out = ti.tcpi_segs_out;
        /* less those the peer says it had already (D-SACK): a probe of the
         * tail sent while the server was still busy answering is no loss */
        t->retrans = ti.tcpi_total_retrans - (ti.tcpi_dsack_dups < ti.tcpi_total_retrans
                                                  ? ti.tcpi_dsack_dups
                                                  : ti.tcpi_total_retrans);
        if (slot) { /* a kept connection: what it did since its request before */
            unsigned segs = t->segs_out, retrans = t->retrans;

            if (t->reused) {
                t->segs_out = segs >= slot->segs_out ? segs - slot->segs_out : 0;
                t->retrans = retrans >= slot->retrans ? retrans - slot->retrans : 0;
            }
            slot->segs_out = segs;
            slot->retrans = retrans;
        }
    }
}

struct httpc_keep *httpc_keep_new(unsigned n)
{
    struct httpc_keep *k = xcalloc(1, sizeof(*k) + n * sizeof(k->slots[0]));

    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->free, NULL);
    k->n = n;
    return k;
}

void httpc_keep_free(struct httpc_keep *k)
{
    if (!k)
        return;
    for (unsigned i = 0; i < k->n; i++)
        if (k->slots[i].e)
            curl_easy_cleanup(k->slots[i].e);
    pthread_cond_destroy(&k->free);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* k's handle: a free one of its keep (reset: its connections stay), or a
 * new one of its own. */
static CURL *handle_take(struct call *k)
{
    struct httpc_keep *kp = k->rq->keep;
    struct slot *s = NULL;

    if (!kp)
        return curl_easy_init();
    pthread_mutex_lock(&kp->mu);
    for (;;) {
        for (unsigned i = 0; i < kp->n && !s; i++)
            if (!kp->slots[i].busy)
                s = &kp->slots[i];
        if (s)
            break;
        pthread_cond_wait(&kp->free, &kp->mu);
    }
    s->busy = true;
    pthread_mutex_unlock(&kp->mu);
    if (s->e)
        curl_easy_reset(s->e);
    else
        s->e = curl_easy_init();
    k->slot = s;
    return s->e;
}

static void handle_done(struct call *k)
{
    struct httpc_keep *kp = k->rq->keep;

    if (!k->slot) {
        curl_easy_cleanup(k->e);
    } else {
        pthread_mutex_lock(&kp->mu);
        k->slot->busy = false;
        pthread_cond_signal(&kp->free);
        pthread_mutex_unlock(&kp->mu);
        k->slot = NULL;
    }
    k->e = NULL;
}

/* libcurl's pin of the public key of the certificate in pem:
 * "sha256//BASE64" of its DER SubjectPublicKeyInfo. */
static int cert_pin(const char *pem, char *out, size_t size)
{
    unsigned char *der = NULL, sum[SHA256_DIGEST_LENGTH],
                  b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    FILE *f = fopen(pem, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    int n = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;

    if (f)
        fclose(f);
    X509_free(x);
    if (n <= 0)
        return -EINVAL;
    SHA256(der, (size_t)n, sum);
    OPENSSL_free(der);
    EVP_EncodeBlock(b64, sum, sizeof(sum));
    snprintf(out, size, "sha256//%s", b64);
    return 0;
}

/* k->e and k->h for k->rq, or a negative errno with k->resp->err set. */
static int prepare(struct call *k)
{
    const struct httpc_req *rq = k->rq;
    unsigned timeout = rq->timeout_ms ? rq->timeout_ms : 10000;
    CURL *e;

    memset(k->resp, 0, sizeof(*k->resp));
    k->h = NULL;
    *k->cerr = '\0';
    if (!http_url(rq->url))
        return fail(k->resp, -EINVAL, "%s", "not an http:// or https:// URL");
    k->e = e = handle_take(k);
    if (!e) {
        handle_done(k);
        return fail(k->resp, -EIO, "%s", "cannot create an HTTP handle");
    }
    for (const char *const *l = rq->headers; l && *l; l++)
        k->h = curl_slist_append(k->h, *l);
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, rq->follow ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 4L);
    /* the headers (a bearer credential) go to where the redirect points:
     * another manager of the same cluster, another port; with https, it
     * must pass the same certificate checks */
    curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, rq->follow ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (rq->on_data) { /* a stream: no end in sight, but never silent for long */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((timeout + 999) / 1000));
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    }
    if (rq->cancel) {
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)rq->cancel);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    if (rq->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
    if (rq->pin_cert) { /* the key alone decides; libcurl checks it after the handshake */
        char pin[128];

        if (cert_pin(rq->pin_cert, pin, sizeof(pin))) {
            handle_done(k);
            curl_slist_free_all(k->h);
            k->h = NULL;
            return fail(k->resp, -EINVAL, "cannot read the certificate %s", rq->pin_cert);
        }
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, pin);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(rq->connect_timeout_ms ? rq->connect_timeout_ms : timeout));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->cerr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, k);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->h);
    if (rq->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (rq->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, rq->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    return 0;
}

/* k's request ended with cc: its outcome in k->resp, its handle freed. */
static int finish(struct call *k, CURLcode cc)
{
    struct httpc_resp *resp = k->resp;
    int rc = cc == CURLE_OPERATION_TIMEDOUT   ? -ETIMEDOUT
             : cc == CURLE_TOO_MANY_REDIRECTS ? -ELOOP
                                              : -EIO;

    if (cc == CURLE_OK) {
        curl_easy_getinfo(k->e, CURLINFO_RESPONSE_CODE, &resp->status);
        measured(k->e, k->slot, &resp->timing);
    }
    if (k->rq->follow) {
        char *at = NULL;

        if (curl_easy_getinfo(k->e, CURLINFO_EFFECTIVE_URL, &at) == CURLE_OK && at)
            snprintf(resp->url, sizeof(resp->url), "%s", at);
    }
    handle_done(k);
    curl_slist_free_all(k->h);
    k->h = NULL;
    if (cc == CURLE_OK)
        return 0;
    if (resp->denied)
        return fail(resp, -EACCES, "%s", "the destination's address is not allowed");
    return fail(resp, rc, "%s", *k->cerr ? k->cerr : curl_easy_strerror(cc));
}

int httpc_do(const struct httpc_req *rq, struct httpc_resp *resp)
{
    struct call k = {.rq = rq, .resp = resp};
    int rc = prepare(&k);

    return rc ? rc : finish(&k, curl_easy_perform(k.e));
}

/* ---- streams on one thread ---- */

#define STREAMS_POLL_MS 200 /* a stream's cancel is seen within this */

struct httpc_streams {
    pthread_mutex_t mu;
    pthread_t thread;
    CURLM *m;
    struct call *adding; /* started, not yet in m (under mu) */
    bool stop;           /* under mu */
    struct call **on;    /* in m: the thread's alone */
    size_t n_on;
};

/* The i-th stream in m ended with cc: out of m, and its owner told. */
static void stream_end(struct httpc_streams *s, size_t i, CURLcode cc)
{
    struct call *k = s->on[i];
    int rc;

    s->on[i] = s->on[--s->n_on];
    curl_multi_remove_handle(s->m, k->e);
    rc = finish(k, cc);
    k->done(k->arg, rc, k->resp);
    httpc_resp_done(k->resp);
    free(k);
}

static void *streams_main(void *arg)
{
    struct httpc_streams *s = arg;
    bool stop = false;
    CURLMsg *msg;
    int left;

    while (!stop || s->n_on) {
        struct call *add;

        pthread_mutex_lock(&s->mu);
        add = s->adding;
        s->adding = NULL;
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        for (struct call *k = add, *next; k; k = next) {
            next = k->next;
            s->on = xrealloc(s->on, (s->n_on + 1) * sizeof(*s->on));
            s->on[s->n_on++] = k;
            curl_multi_add_handle(s->m, k->e);
        }
        curl_multi_perform(s->m, &left);
        while ((msg = curl_multi_info_read(s->m, &left)))
            for (size_t i = 0; msg->msg == CURLMSG_DONE && i < s->n_on; i++)
                if (s->on[i]->e == msg->easy_handle) {
                    stream_end(s, i, msg->data.result);
                    break;
                }
        /* cancelled ones end even when nothing arrives (libcurl asks its
         * progress callback only of a transfer it works on) */
        for (size_t i = s->n_on; i-- > 0;) {
            const bool *cancel = s->on[i]->rq->cancel;

            if (stop || (cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE))) {
                snprintf(s->on[i]->cerr, sizeof(s->on[i]->cerr), "aborted");
                stream_end(s, i, CURLE_ABORTED_BY_CALLBACK);
            }
        }
        if (!stop || s->n_on)
            curl_multi_poll(s->m, NULL, 0, STREAMS_POLL_MS, NULL);
    }
    return NULL;
}

struct httpc_streams *httpc_streams_new(const char *name)
{
    struct httpc_streams *s = xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->mu, NULL);
    s->m = curl_multi_init();
    if (!s->m || pthread_create(&s->thread, NULL, streams_main, s)) {
        if (s->m)
            curl_multi_cleanup(s->m);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    pthread_setname_np(s->thread, name);
    return s;
}

int httpc_stream(struct httpc_streams *s, const struct httpc_req *rq,
                 void (*done)(void *arg, int rc, struct httpc_resp *resp), void *arg)
{
    struct call *k = xcalloc(1, sizeof(*k));
    int rc;

    k->rq = rq;
    k->resp = &k->own;
    k->done = done;
    k->arg = arg;
    rc = rq->on_data && !rq->keep ? prepare(k) : -EINVAL;
    if (rc) {
        free(k);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        rc = -ESHUTDOWN;
    } else {
        k->next = s->adding;
        s->adding = k;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        finish(k, CURLE_ABORTED_BY_CALLBACK);
        free(k);
        return rc;
    }
    curl_multi_wakeup(s->m);
    return 0;
}

void httpc_streams_free(struct httpc_streams *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->m);
    pthread_join(s->thread, NULL);
    curl_multi_cleanup(s->m);
    free(s->on);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void httpc_resp_done(struct httpc_resp *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

const char *httpc_outcome(const struct httpc_resp *r, char *buf, size_t size)
{
    if (r->status)
        snprintf(buf, size, "HTTP %ld", r->status);
    else
        snprintf(buf, size, "%s", *r->err ? r->err : "no answer");
    return buf;
}

void httpc_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void httpc_global_cleanup(void)
{
    curl_global_cleanup();
}
