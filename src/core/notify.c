#include "core/notify.h"
#include "core/wpool.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct notify_job {
    struct wjob w;
    struct core *c;
    char *url, *body, op[40];
    long status;
    char err[CURL_ERROR_SIZE];
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void notify_work(struct wjob *w)
{
    struct notify_job *j = (struct notify_job *)w;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = curl_easy_init();

    j->err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &j->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
}

static void notify_done(struct wjob *w)
{
    struct notify_job *j = (struct notify_job *)w;
    bool ok = j->status >= 200 && j->status < 300;

    char obj[64], outcome[CURL_ERROR_SIZE + 32];

    if (ok)
        snprintf(outcome, sizeof(outcome), "delivered (HTTP %ld)", j->status);
    else if (*j->err)
        snprintf(outcome, sizeof(outcome), "failed: %s", j->err);
    else
        snprintf(outcome, sizeof(outcome), "failed: HTTP %ld", j->status);
    snprintf(obj, sizeof(obj), "operation/%s", j->op);
    if (!w->cancelled)
        core_event(j->c, ok ? "info" : "warn", "api", "callback",
                   json_pack("{s:s, s:s, s:s}", "operation", j->op, "object", obj, "result",
                             ok ? "ok" : "failed"),
                   "callback %s for operation %s %s", j->url, j->op, outcome);
    free(j->url);
    free(j->body);
    free(j);
}

void notify_post(struct core *c, const char *url, const json_t *doc, const char *op_id)
{
    struct notify_job *j = xcalloc(1, sizeof(*j));

    j->w.work = notify_work;
    j->w.done = notify_done;
    j->c = c;
    j->url = xstrdup(url);
    j->body = json_dumps(doc, JSON_COMPACT);
    snprintf(j->op, sizeof(j->op), "%s", op_id);
    wpool_submit(c->conf, &j->w);
}
