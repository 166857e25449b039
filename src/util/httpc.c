#include "util/httpc.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

struct call {
    const struct httpc_req *rq;
    struct httpc_resp *resp;
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

static void measured(CURL *e, struct httpc_timing *t)
{
    curl_off_t connect = 0, total = 0, up = 0;
    curl_socket_t fd = CURL_SOCKET_BAD;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(e, CURLINFO_SPEED_UPLOAD_T, &up);
    t->connect_ms = (double)connect / 1000.0;
    t->total_ms = (double)total / 1000.0;
    t->upload_bps = (double)up * 8.0;
    if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK && fd != CURL_SOCKET_BAD &&
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
        t->tcp = true;
        t->rtt_ms = ti.tcpi_rtt / 1000.0;
        t->segs_out = ti.tcpi_segs_out;
        t->retrans = ti.tcpi_total_retrans;
    }
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

int httpc_do(const struct httpc_req *rq, struct httpc_resp *resp)
{
    struct call k = {rq, resp};
    struct curl_slist *h = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    unsigned timeout = rq->timeout_ms ? rq->timeout_ms : 10000;
    CURLcode cc;
    CURL *e;

    memset(resp, 0, sizeof(*resp));
    if (!http_url(rq->url))
        return fail(resp, -EINVAL, "%s", "not an http:// or https:// URL");
    e = curl_easy_init();
    if (!e)
        return fail(resp, -EIO, "%s", "cannot create an HTTP handle");
    for (const char *const *l = rq->headers; l && *l; l++)
        h = curl_slist_append(h, *l);
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
            curl_easy_cleanup(e);
            curl_slist_free_all(h);
            return fail(resp, -EINVAL, "cannot read the certificate %s", rq->pin_cert);
        }
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, pin);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(rq->connect_timeout_ms ? rq->connect_timeout_ms : timeout));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &k);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
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
    cc = curl_easy_perform(e);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
        measured(e, &resp->timing);
    }
    if (rq->follow) {
        char *at = NULL;

        if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &at) == CURLE_OK && at)
            snprintf(resp->url, sizeof(resp->url), "%s", at);
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    if (cc == CURLE_OK)
        return 0;
    if (resp->denied)
        return fail(resp, -EACCES, "%s", "the destination's address is not allowed");
    fail(resp, cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "%s",
         *cerr ? cerr : curl_easy_strerror(cc));
    return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
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
