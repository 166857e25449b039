/* The etcd v3 JSON gateway client (etcd.h). One easy handle per client
 * keeps its connection alive between calls; a stream runs on a multi handle
 * of its own so that etcd_wake() can interrupt it from another thread. */
#include "util/etcd.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#define DEFAULT_TIMEOUT_MS 3000
#define MAX_ENDPOINTS      16
#define RETRY_MS           50 /* between two rounds of the endpoints */

struct etcd {
    char *ep[MAX_ENDPOINTS]; /* "host:port" */
    unsigned n_ep, cur;
    unsigned timeout_ms;
    CURL *call;        /* unary calls, kept alive */
    CURL *stream;      /* the stream's easy handle */
    CURLM *multi;      /* runs the stream */
    atomic_bool woken; /* etcd_wake() was called */
    struct sbuf in;    /* a stream's bytes not yet split into messages */
    int (*fn)(void *arg, json_t *result);
    void *fn_arg;
    int fn_r;         /* what fn returned, or -EIO for an error message */
    uint64_t last_rx; /* when the stream last sent something */
    char err[256];
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);

        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        *o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;

    return p ? (int)(p - b64chars) : -1;
}

char *etcd_unb64(const char *s, size_t *len)
{
    size_t n = s ? strlen(s) : 0, o = 0;
    char *out;

    if (n % 4)
        return NULL;
    out = xmalloc(n / 4 * 3 + 1);
    for (size_t i = 0; i < n; i += 4) {
        int v[4];

        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' && k >= 2 && i + 4 == n ? 0 : b64val(s[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (s[i + 2] == '=' && s[i + 3] != '=')) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(v[0] << 2 | v[1] >> 4);
        if (s[i + 2] != '=')
            out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
        if (s[i + 3] != '=')
            out[o++] = (char)((v[2] & 3) << 6 | v[3]);
    }
    out[o] = '\0';
    if (len)
        *len = o;
    return out;
}

int64_t etcd_int(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
}

char *etcd_prefix_end(const char *prefix)
{
    char *end = xstrdup(prefix);
    size_t n = strlen(end);

    /* prefixes here are text: the last byte is never 0xff */
    end[n - 1]++;
    return end;
}

/* ---- the client ---- */

int etcd_location(const char *where, char **endpoints, char **prefix, char *err, size_t errlen)
{
    const char *p = where + (strncmp(where, "etcd://", 7) == 0 ? 7 : 0), *slash = strchr(p, '/');
    const char *pre = slash && slash[1] ? slash + 1 : "vnfm";

    if (strspn(pre, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
            strlen(pre) ||
        pre[strlen(pre) - 1] == '/') {
        snprintf(err, errlen, "bad key prefix '%s' in %s (letters, digits, . _ - /)", pre, where);
        return -EINVAL;
    }
    *endpoints = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
    *prefix = xstrdup(pre);
    return 0;
}

int etcd_open(const char *endpoints, unsigned timeout_ms, struct etcd **out, char *err,
              size_t errlen)
{
    struct etcd *e = xcalloc(1, sizeof(*e));
    char *list = xstrdup(endpoints), *save = NULL;

    e->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *colon;

        if (strncmp(t, "http://", 7) == 0)
            t += 7;
        colon = strrchr(t, ':');
        if (!colon || colon == t || !colon[1] ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) || e->n_ep == MAX_ENDPOINTS) {
            snprintf(err, errlen, "bad etcd endpoint '%s' (want HOST:PORT, at most %d)", t,
                     MAX_ENDPOINTS);
            free(list);
            etcd_close(e);
            return -EINVAL;
        }
        e->ep[e->n_ep++] = xstrdup(t);
    }
    free(list);
    if (!e->n_ep) {
        snprintf(err, errlen, "no etcd endpoint in '%s'", endpoints);
        etcd_close(e);
        return -EINVAL;
    }
    snprintf(e->err, sizeof(e->err), "no error");
    e->multi = curl_multi_init(); /* before any etcd_wake() */
    e->stream = curl_easy_init();
    *out = e;
    return 0;
}

void etcd_close(struct etcd *e)
{
    if (!e)
        return;
    curl_easy_cleanup(e->stream);
    curl_multi_cleanup(e->multi);
    curl_easy_cleanup(e->call);
    for (unsigned i = 0; i < e->n_ep; i++)
        free(e->ep[i]);
    sbuf_done(&e->in);
    free(e);
}

const char *etcd_errmsg(const struct etcd *e)
{
    return e->err;
}

const char *etcd_endpoint(const struct etcd *e)
{
    return e->ep[e->cur];
}

void etcd_next_endpoint(struct etcd *e)
{
    e->cur = (e->cur + 1) % e->n_ep;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    sbuf_add(arg, p, size * n);
    return size * n;
}

/* The options every request of e gets. */
static void setup(struct etcd *e, CURL *h, const char *path, const char *body,
                  struct curl_slist *hdr)
{
    char url[300];

    snprintf(url, sizeof(url), "http://%s%s", e->ep[e->cur], path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(e->timeout_ms / 3));
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
}

/* etcd's refusal: {"error": ..., "message": ..., "code": N}. */
static int refusal(struct etcd *e, long status, const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    const char *msg = json_string_value(json_object_get(doc, "message"));

    snprintf(e->err, sizeof(e->err), "etcd %s: %s (HTTP %ld)", e->ep[e->cur],
             msg ? msg : "no message", status);
    json_decref(doc);
    if (strstr(e->err, "too many operations in txn request"))
        return -E2BIG;
    /* a member without a leader applied nothing; another one may have one */
    if (strstr(e->err, "no leader"))
        return -ENOTCONN;
    /* a read at a revision etcd has compacted away since */
    if (strstr(e->err, "required revision has been compacted"))
        return -ESTALE;
    return -EIO;
}

/* Whether a failed request never reached etcd (so trying another endpoint
 * is safe): it could not connect, or timed out before sending. */
static bool not_sent(CURL *h, CURLcode cc)
{
    curl_off_t pre = 0;

    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        return true;
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
    return cc == CURLE_OPERATION_TIMEDOUT && pre == 0;
}

/* One attempt at the current endpoint. */
static int call_once(struct etcd *e, const char *path, const char *body, json_t **out)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct sbuf resp = SBUF_INIT;
    long status = 0;
    CURLcode cc;
    int r;

    if (!e->call)
        e->call = curl_easy_init();
    setup(e, e->call, path, body, hdr);
    curl_easy_setopt(e->call, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
    curl_easy_setopt(e->call, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e->call, CURLOPT_WRITEDATA, &resp);
    cc = curl_easy_perform(e->call);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) {
        snprintf(e->err, sizeof(e->err), "etcd %s: %s", e->ep[e->cur], curl_easy_strerror(cc));
        r = not_sent(e->call, cc) ? -ENOTCONN : -ETIMEDOUT;
    } else {
        curl_easy_getinfo(e->call, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            r = refusal(e, status, sbuf_str(&resp));
            /* a read the cluster dropped while it elected a leader changed
             * nothing: it is read again (a write is not: it may have been
             * applied, and its caller decides) */
            if (r == -EIO && strcmp(path, "/v3/kv/range") == 0 && strstr(e->err, "leader changed"))
                r = -ENOTCONN;
        } else if (!(*out = json_loads(sbuf_str(&resp), 0, NULL))) {
            snprintf(e->err, sizeof(e->err), "etcd %s: an answer that is not JSON", e->ep[e->cur]);
            r = -EIO;
        } else {
            r = 0;
        }
    }
    sbuf_done(&resp);
    return r;
}

/* A request no endpoint took is tried again, endpoint after endpoint, until
 * the call's time is up: etcd electing a new leader, or a member restarting,
 * is then a delay rather than an error. */
int etcd_call(struct etcd *e, const char *path, const json_t *body, json_t **out)
{
    char *text = json_dumps(body, JSON_COMPACT);
    uint64_t deadline = mono_ms() + e->timeout_ms;
    int r = -ENOTCONN;

    for (unsigned tries = 1; r == -ENOTCONN; tries++) {
        r = call_once(e, path, text, out);
        if (r == -ENOTCONN || r == -ETIMEDOUT) {
            etcd_next_endpoint(e);
            curl_easy_cleanup(e->call); /* its connection was to the old one */
            e->call = NULL;
        }
        if (r != -ENOTCONN || mono_ms() + RETRY_MS >= deadline)
            break;
        if (tries % e->n_ep == 0)
            usleep(RETRY_MS * 1000);
    }
    free(text);
    return r;
}

/* ---- streams ---- */

/* Splits the stream into its messages (one JSON document a line) and hands
 * each result to fn; stops the transfer when fn returns non-zero. */
static size_t stream_rx(char *p, size_t size, size_t n, void *arg)
{
    struct etcd *e = arg;
    char *nl;

    e->last_rx = mono_ms();
    sbuf_add(&e->in, p, size * n);
    while (e->fn_r == 0 && e->in.len && (nl = memchr(e->in.s, '\n', e->in.len))) {
        size_t len = (size_t)(nl - e->in.s) + 1;
        json_t *msg = json_loadb(e->in.s, len, 0, NULL);
        json_t *res = json_object_get(msg, "result");

        if (res) {
            e->fn_r = e->fn(e->fn_arg, res);
        } else if (json_object_get(msg, "error")) {
            const json_t *er = json_object_get(msg, "error");

            snprintf(e->err, sizeof(e->err), "etcd %s: %s", e->ep[e->cur],
                     json_string_value(json_object_get(er, "message"))
                         ? json_string_value(json_object_get(er, "message"))
                         : "stream error");
            e->fn_r = -EIO;
        }
        json_decref(msg);
        memmove(e->in.s, e->in.s + len, e->in.len - len);
        e->in.len -= len;
    }
    return e->fn_r ? 0 : size * n;
}

/* Runs the transfer until it ends, fn stops it, a wake or the idle limit. */
static int stream_run(struct etcd *e, unsigned idle_ms)
{
    int running = 1, r = 0;

    while (running && r == 0) {
        if (atomic_exchange(&e->woken, false))
            return -EINTR;
        if (curl_multi_perform(e->multi, &running) != CURLM_OK)
            return -EIO;
        if (running && curl_multi_poll(e->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return -EIO;
        if (idle_ms && mono_ms() - e->last_rx > idle_ms)
            r = -ETIMEDOUT;
    }
    return r;
}

/* The outcome of a finished transfer. */
static int stream_result(struct etcd *e)
{
    CURLMsg *m;
    int left;
    long status = 0;

    if (e->fn_r)
        return e->fn_r;
    while ((m = curl_multi_info_read(e->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->data.result != CURLE_OK) {
            snprintf(e->err, sizeof(e->err), "etcd %s: %s", e->ep[e->cur],
                     curl_easy_strerror(m->data.result));
            return not_sent(e->stream, m->data.result) ? -ENOTCONN : -EPIPE;
        }
    curl_easy_getinfo(e->stream, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return refusal(e, status, sbuf_str(&e->in));
    snprintf(e->err, sizeof(e->err), "etcd %s: the stream ended", e->ep[e->cur]);
    return -EPIPE;
}

static int stream_once(struct etcd *e, const char *path, const char *body, unsigned idle_ms)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    int r;

    /* a member that loses its leader ends its watches (etcd's "hasleader") */
    hdr = curl_slist_append(hdr, "Grpc-Metadata-hasleader: true");
    curl_easy_reset(e->stream);
    setup(e, e->stream, path, body, hdr);
    curl_easy_setopt(e->stream, CURLOPT_WRITEFUNCTION, stream_rx);
    curl_easy_setopt(e->stream, CURLOPT_WRITEDATA, e);
    e->in.len = 0;
    e->fn_r = 0;
    e->last_rx = mono_ms();
    curl_multi_add_handle(e->multi, e->stream);
    r = stream_run(e, idle_ms);
    if (r == 0)
        r = stream_result(e);
    else if (r == -ETIMEDOUT)
        snprintf(e->err, sizeof(e->err), "etcd %s: the stream was silent for %u ms", e->ep[e->cur],
                 idle_ms);
    curl_multi_remove_handle(e->multi, e->stream);
    curl_slist_free_all(hdr);
    return r;
}

int etcd_stream(struct etcd *e, const char *path, const json_t *body, unsigned idle_ms,
                int (*fn)(void *arg, json_t *result), void *arg)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int r = -ENOTCONN;

    e->fn = fn;
    e->fn_arg = arg;
    for (unsigned tries = 0; tries < e->n_ep && r == -ENOTCONN; tries++) {
        r = stream_once(e, path, text, idle_ms);
        if (r == -ENOTCONN || r == -EPIPE || r == -ETIMEDOUT)
            etcd_next_endpoint(e);
    }
    free(text);
    return r;
}

void etcd_wake(struct etcd *e)
{
    atomic_store(&e->woken, true);
    curl_multi_wakeup(e->multi);
}
