/* The observers of the lifecycle (observe.h). */
#include "lcm/observe.h"
#include "util/log.h"

void lc_observe(struct core *c, const struct lc_observer *o)
{
    if (c->n_observers == CORE_OBSERVERS_MAX) {
        log_error("lifecycle: no room for observer %s", o->name);
        return;
    }
    c->observers[c->n_observers++] = o;
}

void lc_op_started(struct core *c, json_t *op, const json_t *dep)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->op_started)
            c->observers[i]->op_started(c, op, dep);
}

void lc_op_changed(struct core *c, const json_t *op)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->op_changed)
            c->observers[i]->op_changed(c, op);
}

void lc_op_ended(struct core *c, const json_t *op)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->op_ended)
            c->observers[i]->op_ended(c, op);
}

void lc_dep_created(struct core *c, const json_t *dep)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->dep_created)
            c->observers[i]->dep_created(c, dep);
}

void lc_dep_deleted(struct core *c, const json_t *dep)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->dep_deleted)
            c->observers[i]->dep_deleted(c, dep);
}

void lc_vis_changed(struct core *c, const char *dep)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->vis_changed)
            c->observers[i]->vis_changed(c, dep);
}

void lc_site_changed(struct core *c, const char *site)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->site_changed)
            c->observers[i]->site_changed(c, site);
}

bool lc_op_finish(struct core *c, json_t *dep, const json_t *op, enum op_state state,
                  const char *err)
{
    for (unsigned i = 0; i < c->n_observers; i++)
        if (c->observers[i]->op_finish && c->observers[i]->op_finish(c, dep, op, state, err))
            return true;
    return false;
}
