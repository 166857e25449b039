/* Manager VIs (vim/vim.h "Manager VIs"): the managers this one starts
 * (spawn.c: a branch's new managers; cloud_scale.c: the cloud VNFM's own
 * instances) are VIs of this host's process VIM, made, watched, stopped
 * and removed through the driver on the provisioning pool, like VNFs'.
 *
 * The VIM is the site's when its driver is the process VIM. Otherwise
 * (the site's VIs are elsewhere: a simulation, a cloud API) it is a
 * process VIM opened for managers alone, without a network or VNFs, under
 * this manager's instance tag (cgroups vnfm/TAG/mgr-XXXXXX), at the first
 * need and closed when this manager stops. */
#include "fed/fed_internal.h"
#include "lcm/sites.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <string.h>

bool fed_manager_vim(struct core *c, const struct vim_ops **ops, void **vim, char *why, size_t len)
{
    struct fed *f = c->fed;
    struct site_rt *s = site_get(c, c->cfg->site);
    struct vim_err err = {""};
    struct vim_site host = {.name = c->cfg->site, .tag = c->tag, .data_dir = c->cfg->data_dir};

    if (s && s->ops == &vim_proc_ops) {
        if (!s->vim) {
            snprintf(why, len, "the process VIM of site %s is not open", c->cfg->site);
            return false;
        }
        *ops = s->ops;
        *vim = s->vim;
        return true;
    }
    if (!f->mgr_vim && vim_proc_ops.open(&host, &f->mgr_vim, &err)) {
        snprintf(why, len, "no process VIM for the managers of this host: %s", err.msg);
        f->mgr_vim = NULL;
        return false;
    }
    *ops = &vim_proc_ops;
    *vim = f->mgr_vim;
    return true;
}

void fed_manager_vim_close(struct fed *f)
{
    if (f->mgr_vim)
        vim_proc_ops.close(f->mgr_vim);
    f->mgr_vim = NULL;
}

static void mvi_work(struct wjob *w)
{
    struct mvi_job *j = (struct mvi_job *)w;
    struct vi_handle h = {.ref = j->ref};
    struct vi_stats stats = {0};
    struct vi_spec spec = {.vdu = j->vdu,
                           .vcpu_milli = j->vcpu_milli,
                           .memory_bytes = j->memory_bytes,
                           .fresh = true,
                           .manager = true,
                           .log = j->log};

    snprintf(h.id, sizeof(h.id), "%s", j->vi);
    switch (j->op) {
    case MVI_START:
        snprintf(spec.id, sizeof(spec.id), "%s", j->vi);
        snprintf(spec.name, sizeof(spec.name), "%s", j->name);
        if ((j->r = j->ops->create(j->vim, &spec, &j->out, &j->err)) == 0) {
            json_decref(j->out.ref);
            j->out = (struct vi_out){0};
            j->r = j->ops->start(j->vim, &spec, &h, &j->out, &j->err);
        }
        if (j->r)
            j->ops->destroy(j->vim, &h, NULL);
        break;
    case MVI_STATUS:
        j->r = j->ops->status(j->vim, &h, &j->st, &j->err);
        break;
    case MVI_REMOVE:
        if (j->empty_only && j->ops->stats(j->vim, &h, &stats, NULL) == 0 && stats.nprocs) {
            j->r = -EBUSY;
            snprintf(j->err.msg, sizeof(j->err.msg), "VI %s: %u processes run in it", j->vi,
                     stats.nprocs);
        } else if (!j->ref || (j->r = j->ops->stop(j->vim, &h, j->grace_ms, &j->err)) == 0) {
            /* without a reference (its start's answer was lost) destroy finds it by name */
            j->r = j->ops->destroy(j->vim, &h, &j->err);
        }
        break;
    case MVI_CLAIM:
        j->r = j->ops->claim ? j->ops->claim(j->vim, &h, j->pid, &j->out, &j->err) : -EOPNOTSUPP;
        break;
    }
}

static void mvi_free(struct mvi_job *j)
{
    json_decref(j->ref);
    json_decref(j->vdu);
    json_decref(j->out.ref);
    free(j->log);
    free(j);
}

/* Nothing to report to once the federation stopped (fed_free: c->fed NULL). */
static void mvi_done(struct wjob *w)
{
    struct mvi_job *j = (struct mvi_job *)w;

    if (j->c->fed && !w->cancelled)
        j->done(j);
    mvi_free(j);
}

struct mvi_job *fed_mvi_new(struct core *c, enum mvi_op op, const char *key, const char *vi,
                            const json_t *ref, void (*done)(struct mvi_job *j))
{
    struct mvi_job *j = xcalloc(1, sizeof(*j));

    j->w.work = mvi_work;
    j->w.done = mvi_done;
    j->c = c;
    j->op = op;
    j->done = done;
    j->ref = json_incref((json_t *)ref);
    snprintf(j->key, sizeof(j->key), "%s", key);
    snprintf(j->vi, sizeof(j->vi), "%s", vi);
    snprintf(j->name, sizeof(j->name), "manager VI %s", vi);
    return j;
}

bool fed_mvi_submit(struct mvi_job *j, char *why, size_t len)
{
    if (!fed_manager_vim(j->c, &j->ops, &j->vim, why, len)) {
        mvi_free(j);
        return false;
    }
    core_submit(j->c, j->c->prov, &j->w); /* after the record that names the VI commits */
    return true;
}

void fed_mvi_remove_now(struct core *c, const char *vi, const json_t *ref, unsigned grace_ms)
{
    struct mvi_job *j = fed_mvi_new(c, MVI_REMOVE, "", vi, ref, NULL);
    char why[256];

    j->grace_ms = grace_ms;
    if (fed_manager_vim(c, &j->ops, &j->vim, why, sizeof(why))) {
        mvi_work(&j->w);
        snprintf(why, sizeof(why), "%s", j->err.msg);
    }
    if (!j->ops || j->r)
        log_warn("fed: manager VI %s is not removed: %s", vi, why);
    mvi_free(j);
}
