/* vnfmctl's HTTP client on libcurl, including the server-sent event stream. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    sbuf_add(arg, p, size * n);
    return size * n;
}

static struct curl_slist *base_headers(struct ctl *c, const char *const *extra)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
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

int http(struct ctl *c, const char *method, const char *path, const json_t *body,
         const char *const *headers, json_t **out)
{
    char *url = xasprintf("%s%s", c->url, path), *text = NULL, err[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = base_headers(c, headers);
    struct sbuf resp = SBUF_INIT;
    CURL *curl = curl_easy_init();
    long status = 0;
    CURLcode rc;

    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "vnfmctl: cannot reach %s: %s (is vnfmd running? set --url or VNFM_URL)\n",
                c->url, *err ? err : curl_easy_strerror(rc));
    if (out)
        *out = resp.len ? json_loadb(resp.s, resp.len, 0, NULL) : NULL;
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    sbuf_done(&resp);
    free(text);
    free(url);
    return rc == CURLE_OK ? (int)status : -EXIT_CONNECT;
}

struct stream {
    struct sbuf buf;
    bool (*fn)(const json_t *rec, void *ctx);
    void *ctx;
    long long last_id;
    bool done;
};

/* Handles one SSE message ("id:", "event:", "data:" lines). */
static void message(struct stream *s, char *msg)
{
    char *line, *save;

    for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "id: ", 4) == 0) {
            s->last_id = strtoll(line + 4, NULL, 10);
        } else if (strncmp(line, "data: ", 6) == 0) {
            json_t *rec = json_loads(line + 6, 0, NULL);

            if (rec && !s->done && s->fn(rec, s->ctx))
                s->done = true;
            json_decref(rec);
        }
    }
}

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
    struct stream *s = arg;
    char *end;

    sbuf_add(&s->buf, p, size * n);
    while (!s->done && (end = strstr(s->buf.s, "\n\n"))) {
        size_t used = (size_t)(end + 2 - s->buf.s);

        *end = '\0';
        message(s, s->buf.s);
        memmove(s->buf.s, s->buf.s + used, s->buf.len - used + 1);
        s->buf.len -= used;
    }
    return s->done ? 0 : size * n; /* 0 ends the transfer */
}

int follow_events(struct ctl *c, const char *query, long timeout_ms,
                  bool (*fn)(const json_t *rec, void *ctx), void *ctx)
{
    struct stream s = {.buf = SBUF_INIT, .fn = fn, .ctx = ctx, .last_id = -1};
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    bool reached = false;

    while (!s.done && mono_ms() < deadline) {
        char *url = xasprintf("%s/v0/events?%s", c->url, query), *last = NULL;
        struct curl_slist *h = base_headers(c, NULL);
        CURL *curl = curl_easy_init();
        CURLcode rc;

        if (s.last_id >= 0) {
            last = xasprintf("Last-Event-ID: %lld", s.last_id);
            h = curl_slist_append(h, last);
        }
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_stream);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(deadline - mono_ms()) + 1);
        rc = curl_easy_perform(curl);
        reached |= rc != CURLE_COULDNT_CONNECT;
        curl_easy_cleanup(curl);
        curl_slist_free_all(h);
        free(url);
        free(last);
        s.buf.len = 0;
        if (!s.done && rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT)
            usleep(200000); /* the manager may be restarting: try again */
    }
    sbuf_done(&s.buf);
    if (s.done)
        return 0;
    return reached ? EXIT_TIMEOUT : EXIT_CONNECT;
}
