/* A branch manager's cloud VNFMs (docs/HA.md "Several active cloud
 * VNFMs"): --cloud-url may list several, the managers of one cloud
 * cluster. The branch talks to one at a time: the first at start, then
 * the one a 307 sent it to (its site's owner), and the next of the list
 * when the one it talks to does not answer or has no owner for its site
 * yet (503). Reports (the loop and the configuration pool) and the
 * channel (its thread) share the current one under fed.mu. */
#include "fed/fed_internal.h"
#include "core/wpool.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>

/* The i-th URL of the list into out; false past its end. */
static bool nth(const char *list, size_t i, char *out, size_t len)
{
    const char *p = list;

    for (; i && p; i--)
        p = (p = strchr(p, ',')) ? p + 1 : NULL;
    if (!p || !*p)
        return false;
    snprintf(out, len, "%.*s", (int)strcspn(p, ","), p);
    return true;
}

void fed_cloud_pick(struct fed *f, char *out, size_t len)
{
    pthread_mutex_lock(&f->mu);
    if (!f->cloud_cur[0] && !nth(f->cloud_url, 0, f->cloud_cur, sizeof(f->cloud_cur)))
        snprintf(f->cloud_cur, sizeof(f->cloud_cur), "%s", f->cloud_url);
    snprintf(out, len, "%s", f->cloud_cur);
    pthread_mutex_unlock(&f->mu);
}

void fed_cloud_answered(struct fed *f, const char *url, const char *path)
{
    char base[sizeof(f->cloud_cur)];
    size_t n = strcspn(url, "?"), p = strlen(path);

    if (!*url || n <= p || strncmp(url + n - p, path, p) != 0)
        return;
    snprintf(base, sizeof(base), "%.*s", (int)(n - p), url);
    pthread_mutex_lock(&f->mu);
    if (strcmp(base, f->cloud_cur) != 0) {
        log_info("fed: talking to the cloud VNFM at %s now (it serves this site; was %s)", base,
                 f->cloud_cur);
        snprintf(f->cloud_cur, sizeof(f->cloud_cur), "%s", base);
    }
    pthread_mutex_unlock(&f->mu);
}

void fed_cloud_failed(struct fed *f, const char *base)
{
    char next[sizeof(f->cloud_cur)];
    size_t i = 0;

    pthread_mutex_lock(&f->mu);
    if (strcmp(base, f->cloud_cur) == 0 && strchr(f->cloud_url, ',')) {
        /* the URL after this one in the list; the first after the last,
         * or when this one (an owner a 307 named) is not in the list */
        while (nth(f->cloud_url, i, next, sizeof(next)) && strcmp(next, base) != 0)
            i++;
        if (!nth(f->cloud_url, i + 1, next, sizeof(next)))
            nth(f->cloud_url, 0, next, sizeof(next));
        log_info("fed: the cloud VNFM at %s does not serve this site now; trying %s", base, next);
        snprintf(f->cloud_cur, sizeof(f->cloud_cur), "%s", next);
    }
    pthread_mutex_unlock(&f->mu);
}

static void post_work(struct wjob *w)
{
    struct fed_post *p = (struct fed_post *)w;
    const char *hdrs[] = {"Content-Type: application/json", p->auth, NULL};

    p->r = httpc_do(&(struct httpc_req){.url = p->url,
                                        .body = p->body,
                                        .headers = hdrs,
                                        .timeout_ms = p->timeout_ms,
                                        .connect_timeout_ms = p->connect_timeout_ms,
                                        .max_response = p->max_response,
                                        .ca_file = p->ca,
                                        .follow = true,
                                        .keep = p->keep},
                    &p->resp);
}

void fed_post_submit(struct fed_post *p, struct fed *f, const char *path, char *body,
                     void (*done)(struct wjob *))
{
    p->w.work = post_work;
    p->w.done = done;
    p->f = f;
    fed_cloud_pick(f, p->base, sizeof(p->base));
    p->url = xasprintf("%s%s", p->base, path);
    p->auth = xasprintf("Authorization: Bearer %s", f->cred);
    p->body = body;
    p->ca = f->c->cfg->cloud_ca ? xstrdup(f->c->cfg->cloud_ca) : NULL;
    wpool_submit(f->c->conf, &p->w);
}

void fed_post_free(struct fed_post *p)
{
    httpc_resp_done(&p->resp);
    free(p->url);
    free(p->auth);
    free(p->body);
    free(p->ca);
}
