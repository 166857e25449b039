/* Exit watches: a running VI's exit fd (a pidfd for the proc VIM) sits in
 * the event loop, so the death of a VNF process is known at once, without
 * polling. The VIM then confirms (and reaps) it on a worker. */
#include "lcm/lifecycle.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "core/wpool.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vi_watch {
    uv_poll_t poll;
    struct core *c;
    char vi[VIM_ID_MAX];
    int fd;
};

struct exit_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    json_t *rec; /* the VI's record, which h.ref is part of */
    struct vi_handle h;
    struct vi_status st;
    int rc;
};

static void watch_closed(uv_handle_t *h)
{
    struct vi_watch *w = h->data;

    close(w->fd);
    free(w);
}

void lc_unwatch_vi(struct core *c, const char *vi_id)
{
    struct vi_watch *w = hmap_del(&c->vis, vi_id);

    if (w)
        uv_close((uv_handle_t *)&w->poll, watch_closed);
}

void lc_unwatch_all(struct core *c)
{
    struct hmap_entry *e;
    size_t i;

    while ((e = hmap_first(&c->vis, &i)))
        lc_unwatch_vi(c, e->key);
}

void lc_vi_exited(struct core *c, const char *vi_id, int exit_status, const char *why)
{
    json_t *vi = NULL, *dep = NULL;
    char obj[80];

    core_tx_begin(c);
    if (store_get(c->st, STORE_VI, vi_id, &vi) || strcmp(doc_str(vi, "state"), "running") != 0)
        goto out; /* gone, or being stopped by an operation */
    doc_set_str(vi, "state", "exited");
    if (exit_status >= 0)
        doc_set_int(vi, "exit_status", exit_status);
    doc_touch(vi, "updated");
    store_put(c->st, STORE_VI, vi);
    if (store_get(c->st, STORE_DEPLOYMENT, doc_str(vi, "deployment"), &dep) == 0 &&
        json_is_null(json_object_get(dep, "operation"))) {
        doc_set_str(dep, "status", "degraded");
        doc_set_str(dep, "stage", stage_name(ST_FAIL));
        doc_touch(dep, "updated");
        store_put(c->st, STORE_DEPLOYMENT, dep);
    }
    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(vi, "deployment"));
    core_event(c, "warn", "lifecycle", "vi",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "object", obj, "deployment",
                         doc_str(vi, "deployment"), "vi", vi_id, "stage", stage_name(ST_FAIL),
                         "result", "exited", "tenant", doc_str(vi, "tenant")),
               "%s: VNF process %lld %s", doc_str(vi, "name"), doc_int(vi, "pid", 0), why);
out:
    core_tx_commit(c);
    json_decref(vi);
    json_decref(dep);
}

static void exit_work(struct wjob *w)
{
    struct exit_job *j = (struct exit_job *)w;
    struct vim_err e;

    j->rc = j->site->ops->status(j->site->vim, &j->h, &j->st, &e);
}

static void exit_done(struct wjob *w)
{
    struct exit_job *j = (struct exit_job *)w;

    if (!w->cancelled && j->rc == 0 && j->st.state != VI_RUNNING)
        lc_vi_exited(j->c, j->h.id, j->st.exit_status,
                     j->st.exit_status >= 0 ? "exited" : "exited (not our child: status unknown)");
    json_decref(j->rec);
    free(j);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct vi_watch *w = p->data;
    struct core *c = w->c;
    struct exit_job *j;
    json_t *vi = NULL;

    (void)status;
    (void)events;
    if (store_get(c->st, STORE_VI, w->vi, &vi) == 0) {
        j = xcalloc(1, sizeof(*j));
        j->w.work = exit_work;
        j->w.done = exit_done;
        j->c = c;
        j->site = site_get(c, doc_str(vi, "site"));
        j->rec = vi;
        vi_handle_from_doc(vi, &j->h);
        if (j->site && j->site->vim) {
            wpool_submit(c->prov, &j->w);
        } else {
            json_decref(vi);
            free(j);
        }
    }
    lc_unwatch_vi(c, w->vi);
}

void lc_watch_vi(struct core *c, const json_t *vi, int fd)
{
    struct site_rt *site = site_get(c, doc_str(vi, "site"));
    struct vi_handle h;
    struct vi_watch *w;

    lc_unwatch_vi(c, doc_str(vi, "id"));
    if (!site || !site->vim || !site->ops->exit_fd) {
        if (fd >= 0)
            close(fd);
        return;
    }
    vi_handle_from_doc(vi, &h);
    if (fd < 0) {
        lc_vi_exited(c, h.id, -1, "is gone");
        return;
    }
    w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->fd = fd;
    snprintf(w->vi, sizeof(w->vi), "%s", h.id);
    uv_poll_init(c->loop, &w->poll, fd);
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
    hmap_put(&c->vis, w->vi, w);
}
