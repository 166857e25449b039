#include "lcm/recovery.h"
#include "lcm/lifecycle.h"
#include "lcm/sites.h"
#include "lcm/vi_job.h"
#include "core/states.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record of a manager from before driver references (pid and _pid_start
 * of the proc VIM) gets the reference the proc VIM makes of them. */
static void upgrade_ref(struct core *c, json_t *vi)
{
    if (json_object_get(vi, "_vim") || doc_int(vi, "pid", 0) <= 0)
        return;
    json_object_set_new(vi, "_vim",
                        json_pack("{s:s, s:I, s:I}", "ip", jv_str(vi, "ip", ""), "pid",
                                  (json_int_t)doc_int(vi, "pid", 0), "start",
                                  (json_int_t)doc_int(vi, "_pid_start", 0)));
    json_object_del(vi, "_pid_start");
    store_put(c->st, STORE_VI, vi);
}

static bool handing_over(struct core *c, const json_t *vi);

/* The VI vi runs: watched from now on (fd: its exit, or -1). */
static void adopted(struct core *c, const json_t *vi, int fd)
{
    char obj[96];

    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(vi, "deployment"));
    lc_watch_vi(c, vi, fd);
    core_event(c, "info", "lifecycle", "vi",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "object", obj, "deployment",
                         doc_str(vi, "deployment"), "vi", doc_str(vi, "id"), "result", "adopted",
                         "tenant", doc_str(vi, "tenant")),
               "%s: adopted running VNF process %lld", doc_str(vi, "name"), doc_int(vi, "pid", 0));
}

/* The VIM could not tell whether vi runs: it is looked for again once the
 * site's VIM answers (recovery_resume_site). */
static void adoption_waits(struct site_rt *site, const json_t *vi, const char *why)
{
    site->recover_later = true;
    log_warn("%s: its adoption waits for site %s's VIM: %s", doc_str(vi, "name"), site->id, why);
}

/* A VI recorded as running: adopt it, or record that it died. This and the
 * orphan sweep run at start-up, before the loop does: the only VIM calls
 * not made on a worker. */
static void adopt(struct core *c, struct site_rt *site, json_t *vi)
{
    struct vi_status st = {VI_ABSENT, -1};
    struct vim_err e = {""};
    struct vi_handle h;
    int r;

    upgrade_ref(c, vi);
    vi_handle_from_doc(vi, &h);
    r = site->ops->status(site->vim, &h, &st, &e);
    if (r == 0 && st.state == VI_RUNNING)
        adopted(c, vi, site->ops->exit_fd ? site->ops->exit_fd(site->vim, &h) : -1);
    else if (r)
        adoption_waits(site, vi, e.msg);
    else
        lc_vi_exited(c, h.id, -1, "ended while the manager was down");
}

struct adopt_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    json_t *vi;
    int r, fd;
    struct vi_status st;
    struct vim_err e;
};

static void adopt_work(struct wjob *w)
{
    struct adopt_job *j = (struct adopt_job *)w;
    struct vi_handle h;

    vi_handle_from_doc(j->vi, &h);
    j->r = j->site->ops->status(j->site->vim, &h, &j->st, &j->e);
    if (j->r == 0 && j->st.state == VI_RUNNING && j->site->ops->exit_fd)
        j->fd = j->site->ops->exit_fd(j->site->vim, &h);
}

/* Whether vi is still recorded running as the job found it (no operation
 * changed it meanwhile) and not watched. */
static bool unchanged(struct core *c, const json_t *vi)
{
    json_t *now = NULL;
    bool same = store_get(c->st, STORE_VI, doc_str(vi, "id"), &now) == 0 &&
                vi_state_of(now) == VIS_RUNNING &&
                doc_int(now, "pid", 0) == doc_int(vi, "pid", 0) &&
                !lc_vi_watched(c, doc_str(vi, "id"));

    json_decref(now);
    return same;
}

static void adopt_done(struct wjob *w)
{
    struct adopt_job *j = (struct adopt_job *)w;

    if (w->cancelled || !unchanged(j->c, j->vi)) {
        if (j->fd >= 0)
            close(j->fd);
    } else if (j->r == 0 && j->st.state == VI_RUNNING) {
        adopted(j->c, j->vi, j->fd);
    } else if (j->r) {
        adoption_waits(j->site, j->vi, j->e.msg);
    } else {
        lc_vi_exited(j->c, doc_str(j->vi, "id"), -1, "ended while its VIM could not be reached");
    }
    json_decref(j->vi);
    free(j);
}

static void sweep_later(struct core *c, struct site_rt *site);

void recovery_resume_site(struct core *c, struct site_rt *site)
{
    json_t *vis, *vi;
    size_t i;

    site->recover_later = false;
    if (!site->vim || store_list(c->st, STORE_VI, NULL, &vis))
        return;
    sweep_later(c, site);
    json_array_foreach(vis, i, vi)
    {
        struct adopt_job *j;

        if (strcmp(doc_str(vi, "site"), site->id) || vi_state_of(vi) != VIS_RUNNING ||
            lc_vi_watched(c, doc_str(vi, "id")) || handing_over(c, vi))
            continue;
        j = xcalloc(1, sizeof(*j));
        j->w.work = adopt_work;
        j->w.done = adopt_done;
        j->c = c;
        j->site = site;
        j->vi = json_incref(vi);
        j->fd = -1;
        wpool_submit(c->prov, &j->w);
    }
    json_decref(vis);
}

/* A VI of a deployment being handed over to or from another manager
 * (fed/handover.c, `_handover`) is watched by the one that ends up with it,
 * when the handover goes on. */
static bool handing_over(struct core *c, const json_t *vi)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, doc_str(vi, "deployment"));
    bool yes = json_object_get(dep, "_handover") != NULL;

    json_decref(dep);
    return yes;
}

static void adopt_all(struct core *c)
{
    json_t *vis, *vi;
    size_t i;

    if (store_list(c->st, STORE_VI, NULL, &vis))
        return;
    json_array_foreach(vis, i, vi)
    {
        struct site_rt *site = site_get(c, doc_str(vi, "site"));

        if (site && site->vim && vi_state_of(vi) == VIS_RUNNING && !handing_over(c, vi))
            adopt(c, site, vi);
    }
    json_decref(vis);
}

static void orphan_event(struct core *c, const struct site_rt *site, const char *id,
                         const struct vim_err *e)
{
    core_event(c, *e->msg ? "error" : "warn", "vim", "orphan",
               json_pack("{s:s, s:s, s:s}", "object", "site", "vi", id, "result",
                         *e->msg ? "failed" : "destroyed"),
               "site %s: VI %s existed on the VIM without a record: %s%s", site->id, id,
               *e->msg ? "could not destroy it: " : "destroyed", e->msg);
}

/* Whether the store knows VI id. */
static bool recorded(struct core *c, const char *id)
{
    json_t *vi = NULL;
    bool yes = store_get(c->st, STORE_VI, id, &vi) == 0;

    json_decref(vi);
    return yes;
}

/* Destroys what the VIM has of this manager but the store does not know. */
static void sweep_site(struct core *c, struct site_rt *site)
{
    struct vim_err e = {""};
    char **ids = NULL;
    size_t n = 0;

    if (!site->vim)
        return;
    if (site->ops->list(site->vim, &ids, &n, &e)) {
        site->recover_later = true;
        log_warn("site %s: the orphan sweep waits for its VIM: %s", site->id, e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct vi_handle h = {0};

        if (recorded(c, ids[i]))
            continue;
        snprintf(h.id, sizeof(h.id), "%s", ids[i]);
        e.msg[0] = '\0';
        site->ops->destroy(site->vim, &h, &e);
        orphan_event(c, site, ids[i], &e);
    }
    vim_ids_free(ids, n);
}

/* The sweep of a site on the provisioning pool: its VIs listed, then those
 * the store does not know destroyed. */
struct sweep_job {
    struct wjob w;
    struct core *c;
    struct site_rt *site;
    char **ids; /* listed; then the orphans among them */
    size_t n;
    bool destroying;
    int r;
    struct vim_err *errs; /* destroying: one a VI */
};

static void sweep_work(struct wjob *w)
{
    struct sweep_job *j = (struct sweep_job *)w;
    struct vim_err e = {""};

    if (!j->destroying) {
        j->r = j->site->ops->list(j->site->vim, &j->ids, &j->n, &e);
        return;
    }
    for (size_t i = 0; i < j->n; i++) {
        struct vi_handle h = {0};

        snprintf(h.id, sizeof(h.id), "%s", j->ids[i]);
        j->site->ops->destroy(j->site->vim, &h, &j->errs[i]);
    }
}

static void sweep_done(struct wjob *w)
{
    struct sweep_job *j = (struct sweep_job *)w;
    size_t n = 0;

    if (w->cancelled || j->r) {
        j->site->recover_later = j->site->recover_later || (!w->cancelled && j->r);
    } else if (j->destroying) {
        for (size_t i = 0; i < j->n; i++)
            orphan_event(j->c, j->site, j->ids[i], &j->errs[i]);
    } else {
        for (size_t i = 0; i < j->n; i++) {
            if (recorded(j->c, j->ids[i]))
                free(j->ids[i]);
            else
                j->ids[n++] = j->ids[i];
        }
        j->n = n;
        if (n) {
            j->destroying = true;
            j->errs = xcalloc(n, sizeof(*j->errs));
            wpool_submit(j->c->prov, &j->w);
            return;
        }
    }
    vim_ids_free(j->ids, j->n);
    free(j->errs);
    free(j);
}

static void sweep_later(struct core *c, struct site_rt *site)
{
    struct sweep_job *j = xcalloc(1, sizeof(*j));

    j->w.work = sweep_work;
    j->w.done = sweep_done;
    j->c = c;
    j->site = site;
    wpool_submit(c->prov, &j->w);
}

int recovery_run(struct core *c)
{
    int r = core_tx_begin(c);

    if (r)
        return r;
    adopt_all(c);
    sites_each(c, sweep_site);
    return core_tx_commit(c);
}
