/* vnfmctl's HTTP client on libcurl: JSON requests, and the server-sent
 * event stream of GET /v0/events split into messages (WHATWG HTML "Server-
 * sent events" 9.2.6: lines "id:", "event:", "data:", a blank line ends a
 * message), resumed with Last-Event-ID after a break. */
#include "cli/ctl.h"
#include "core/version.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define REQUEST_TIMEOUT_S 60
#define CONNECT_TIMEOUT_S 10
#define STALL_S           45 /* the server comments every 15 s on an idle stream */
#define RETRY_MAX_MS      2000
#define FAILOVER_MS       15000 /* how long a cluster may have no primary (docs/HA.md) */
#define REDIRECTS_MAX     2

int ctl_set_urls(struct ctl *c, const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    int r = 0;

    for (char *u = strtok_r(copy, ",", &save); u && r == 0; u = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(u);

        while (n && u[n - 1] == '/')
            n--;
        if (c->n_urls == CTL_URLS_MAX || !n)
            r = -1;
        else
            c->urls[c->n_urls++] = xstrndup(u, n);
    }
    free(copy);
    if (!c->n_urls)
        r = -1;
    c->url = c->n_urls ? c->urls[0] : list;
    return r;
}

void ctl_free_urls(struct ctl *c)
{
    for (unsigned i = 0; i < c->n_urls; i++)
        free(c->urls[i]);
    c->n_urls = 0;
}

/* Requests go to URL i from now on. */
static void use_url(struct ctl *c, unsigned i)
{
    c->cur = i % c->n_urls;
    c->url = c->urls[c->cur];
}

/* The URL of c's list that location (an answer's Location) is on, or -1. */
static int url_of(const struct ctl *c, const char *location)
{
    for (unsigned i = 0; i < c->n_urls; i++) {
        size_t n = strlen(c->urls[i]);

        if (strncmp(location, c->urls[i], n) == 0 && (location[n] == '/' || !location[n]))
            return (int)i;
    }
    return -1;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    sbuf_add(arg, p, size * n);
    return size * n;
}

static struct curl_slist *headers(const struct ctl *c, const char *accept, const char *const *extra)
{
    struct curl_slist *h = curl_slist_append(NULL, accept);
    char *auth;

    if (c->token && *c->token) {
        auth = xasprintf("Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, auth);
        free(auth);
    }
    for (; extra && *extra; extra++)
        h = curl_slist_append(h, *extra);
    return h;
}

static CURL *easy(const struct ctl *c, const char *url, struct curl_slist *h, char *err)
{
    CURL *curl = curl_easy_init();

    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (c->cacert) /* https:// checked against this CA instead of the system's */
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vnfmctl/" VNFM_VERSION);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    err[0] = '\0';
    return curl;
}

static void pause_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Says why there was no answer; returns the exit status. */
static int unreachable(const struct ctl *c, CURLcode rc, const char *err)
{
    const char *why = *err ? err : curl_easy_strerror(rc);

    if (rc == CURLE_OPERATION_TIMEDOUT) {
        fprintf(stderr, "vnfmctl: no answer from %s: %s\n", c->url, why);
        return EXIT_TIMEOUT;
    }
    fprintf(stderr,
            "vnfmctl: cannot connect to %s: %s (is vnfmd running there? see --url and "
            "VNFM_URL)\n",
            c->url, why);
    return EXIT_CONNECT;
}

/* What one request got. */
struct answer {
    long status; /* 0: none */
    CURLcode rc;
    bool sent;          /* it may have reached the server (no answer after sending) */
    char location[512]; /* of a 307 or 308 */
    char err[CURL_ERROR_SIZE];
};

static size_t header_line(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (len > 10 && strncasecmp(p, "Location:", 9) == 0) {
        const char *v = p + 9;
        size_t vl;

        while (*v == ' ')
            v++;
        vl = strcspn(v, "\r\n");
        snprintf(a->location, sizeof(a->location), "%.*s", (int)vl, v);
    }
    return len;
}

static void http_once(struct ctl *c, const char *method, const char *url, const char *body,
                      const char *const *extra, struct sbuf *resp, struct answer *a)
{
    struct curl_slist *h = headers(c, "Accept: application/json", extra);
    CURL *curl = easy(c, url, h, a->err);
    curl_off_t pre = 0;

    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    resp->len = 0;
    a->location[0] = '\0';
    a->status = 0;
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    a->rc = curl_easy_perform(curl);
    if (a->rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pre);
    a->sent = a->rc != CURLE_OK && a->rc != CURLE_COULDNT_CONNECT &&
              a->rc != CURLE_COULDNT_RESOLVE_HOST && pre > 0;
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
}

/* One request at the current URL, following a standby's redirect to the
 * primary (307 keeps the method and the body). */
static void request_at(struct ctl *c, const char *method, const char *path, const char *body,
                       const char *const *extra, struct sbuf *resp, struct answer *a)
{
    char *url = xasprintf("%s%s", c->url, path);

    http_once(c, method, url, body, extra, resp, a);
    for (int hops = 0;
         hops < REDIRECTS_MAX && (a->status == 307 || a->status == 308) && a->location[0]; hops++) {
        int i = url_of(c, a->location);

        free(url);
        url = xstrdup(a->location);
        if (i >= 0)
            use_url(c, (unsigned)i);
        http_once(c, method, url, body, extra, resp, a);
    }
    free(url);
}

/* Whether to try the next manager: this one is not there (the request never
 * left), or says it is not the primary (503: nothing was done). A GET may
 * be asked again whatever happened to it. */
static bool next_manager(const struct ctl *c, const char *method, const struct answer *a)
{
    if (c->n_urls < 2)
        return false;
    if (a->status)
        return a->status == 503;
    return !a->sent || strcmp(method, "GET") == 0;
}

/* The managers of a cluster (docs/HA.md): the one that answered last, then
 * the others in turn, until one answers or FAILOVER_MS have passed. */
int ctl_http(struct ctl *c, const char *method, const char *path, const json_t *body,
             const char *const *extra, json_t **out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    uint64_t deadline = mono_ms() + FAILOVER_MS;
    struct sbuf resp = SBUF_INIT;
    struct answer a;

    for (unsigned tries = 1;; tries++) {
        request_at(c, method, path, text, extra, &resp, &a);
        if (!next_manager(c, method, &a) || mono_ms() >= deadline)
            break;
        use_url(c, c->cur + 1);
        if (tries % c->n_urls == 0)
            pause_ms(200); /* a round without a primary: one is being elected */
    }
    if (a.status && out)
        *out = resp.len ? json_loadb(resp.s, resp.len, 0, NULL) : NULL;
    snprintf(c->location, sizeof(c->location), "%s", a.status ? a.location : "");
    sbuf_done(&resp);
    free(text);
    return a.status ? (int)a.status : -unreachable(c, a.rc, a.err);
}

int ctl_call(struct ctl *c, const char *method, const char *path, const json_t *body,
             const char *const *extra, json_t **out)
{
    json_t *doc = NULL;
    int st = ctl_http(c, method, path, body, extra, &doc), rc;

    if (st < 0)
        return -st;
    if (st < 200 || st > 299) {
        rc = fail_server(st, doc);
        json_decref(doc);
        return rc;
    }
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return EXIT_OK;
}

char *ctl_path(const char *fmt, const char *id)
{
    char *e = curl_easy_escape(NULL, id, 0), *p = xasprintf(fmt, e);

    curl_free(e);
    return p;
}

/* ---- the event stream ---- */

struct stream {
    CURL *curl;
    struct sbuf buf;
    ctl_event_fn fn;
    void *ctx;
    long long last_id; /* -1 before the first "id:" */
    long status;       /* of the current connection, 0 before its answer */
    bool done;
};

/* Handles one message: its "id:" and its (possibly multi-line) data. */
static void message(struct stream *s, char *msg)
{
    struct sbuf data = SBUF_INIT;
    bool have = false;
    char *line, *save;
    json_t *rec;

    for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = '\0';
        if (strncmp(line, "id:", 3) == 0) {
            s->last_id = strtoll(line + 3, NULL, 10);
        } else if (strncmp(line, "data:", 5) == 0) {
            if (have)
                sbuf_addc(&data, '\n');
            sbuf_adds(&data, line + 5 + (line[5] == ' '));
            have = true;
        }
    }
    rec = have ? json_loads(data.s, 0, NULL) : NULL;
    if (rec && s->fn(rec, s->ctx))
        s->done = true;
    json_decref(rec);
    sbuf_done(&data);
}

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
    struct stream *s = arg;
    char *end;

    if (!s->status)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    sbuf_add(&s->buf, p, size * n);
    if (s->status != 200)
        return size * n; /* an error document: kept whole for fail_server */
    while (!s->done && (end = strstr(s->buf.s, "\n\n"))) {
        size_t used = (size_t)(end + 2 - s->buf.s);

        *end = '\0';
        message(s, s->buf.s);
        memmove(s->buf.s, s->buf.s + used, s->buf.len - used + 1);
        s->buf.len -= used;
    }
    return s->done ? 0 : size * n; /* 0 ends the transfer */
}

/* One connection: streams until fn stops it, the stream breaks or the
 * deadline passes. */
static CURLcode stream_once(struct ctl *c, const char *query, struct stream *s, uint64_t deadline,
                            char *err)
{
    char *url = xasprintf("%s/v0/events?%s", c->url, query), *last = NULL;
    struct curl_slist *h = headers(c, "Accept: text/event-stream", NULL);
    CURLcode rc;

    if (s->last_id >= 0) {
        last = xasprintf("Last-Event-ID: %lld", s->last_id);
        h = curl_slist_append(h, last);
    }
    s->curl = easy(c, url, h, err);
    s->status = 0;
    s->buf.len = 0;
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, (long)STALL_S);
    if (deadline != UINT64_MAX)
        curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)(deadline - mono_ms()) + 1);
    rc = curl_easy_perform(s->curl);
    if (!s->status)
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    curl_easy_cleanup(s->curl);
    s->curl = NULL;
    curl_slist_free_all(h);
    free(last);
    free(url);
    return rc;
}

/* The server refused the stream: its error document is in s->buf. */
static int refused(struct stream *s)
{
    json_t *doc = json_loadb(s->buf.s, s->buf.len, 0, NULL);
    int rc = fail_server((int)s->status, doc);

    json_decref(doc);
    return rc;
}

int ctl_follow(struct ctl *c, const char *query, long long timeout_ms, ctl_event_fn fn, void *ctx)
{
    struct stream s = {.buf = SBUF_INIT, .fn = fn, .ctx = ctx, .last_id = -1};
    uint64_t deadline = timeout_ms > 0 ? mono_ms() + (uint64_t)timeout_ms : UINT64_MAX;
    uint64_t retry_ms = 100;
    bool reached = false, lost = false;
    unsigned unreached = 0;
    char err[CURL_ERROR_SIZE];
    int rc = EXIT_TIMEOUT;

    for (;;) {
        CURLcode cc = stream_once(c, query, &s, deadline, err);
        bool elsewhere = c->n_urls > 1 && (s.status == 503 || s.status == 307 || !s.status);

        if (s.done) {
            rc = EXIT_OK;
            break;
        }
        if (s.status && s.status != 200 && !elsewhere) {
            rc = refused(&s);
            break;
        }
        if (s.status == 200) {
            reached = true;
            lost = false;
            retry_ms = 100;
        }
        if (mono_ms() >= deadline)
            break;
        if (elsewhere) /* a standby, or a manager gone: the stream is the primary's */
            use_url(c, c->cur + 1);
        if (!reached && (!elsewhere || ++unreached >= c->n_urls * 8)) {
            rc = s.status ? refused(&s) : unreachable(c, cc, err);
            break;
        }
        if (reached && !s.status && !lost) {
            fprintf(stderr, "vnfmctl: lost the event stream (%s); reconnecting\n",
                    *err ? err : curl_easy_strerror(cc));
            lost = true;
        }
        if (!s.status || cc != CURLE_OPERATION_TIMEDOUT)
            pause_ms(retry_ms);
        retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2;
    }
    sbuf_done(&s.buf);
    return rc;
}
