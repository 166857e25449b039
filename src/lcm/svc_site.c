/* Site requests: capacity and driver options of a site while it runs. */
#include "lcm/sites.h"
#include "lcm/svc_lcm.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdlib.h>

static int save(struct core *c, struct txn *t, json_t *doc)
{
    doc_touch(doc, "updated");
    if (store_put(c->st, STORE_SITE, doc) == 0)
        return 0;
    return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the site: %s",
                       store_errmsg(c->st));
}

/* After the commit: the site's driver takes its new options. */
static void apply_site_options(struct core *c, void *arg)
{
    struct site_rt *s = site_get(c, arg);
    json_t *doc = core_load(c, STORE_SITE, arg);
    struct vim_err err = {""};

    if (s && s->vim && s->ops->configure && doc &&
        s->ops->configure(s->vim, json_object_get(doc, "options"), &err))
        log_error("site %s: the VIM refused its new options: %s", s->id, err.msg);
    json_decref(doc);
}

/* Options are the driver's: one that cannot take them while it runs refuses. */
static int site_options(struct core *c, struct txn *t, json_t *doc)
{
    const json_t *opts = json_object_get(t->body, "options");
    struct site_rt *s = site_get(c, t->args[0]);

    if (!opts)
        return 0;
    if (!s || !s->vim || !s->ops->configure)
        return result_fail(&t->res, 409, "conflict", "field", "options",
                           "the VIM of site '%s' cannot change its options while it runs",
                           t->args[0]);
    json_object_update(json_object_get(doc, "options"), (json_t *)opts);
    core_after_commit(c, apply_site_options, xstrdup(t->args[0]), free);
    return 0;
}

void svc_site_update(struct core *c, struct txn *t)
{
    json_t *doc = core_load(c, STORE_SITE, t->args[0]), *cap,
           *want = json_object_get(t->body, "capacity");
    struct store_usage u = {0};

    if (!doc) {
        result_not_found(&t->res, "site", t->args[0]);
        return;
    }
    if (!want && !json_object_get(t->body, "options")) {
        result_fail(&t->res, 400, "missing-field", "field", "capacity",
                    "give capacity, options or both");
        json_decref(doc);
        return;
    }
    if (!json_is_object(json_object_get(doc, "options")))
        json_object_set_new(doc, "options", json_object());
    cap = json_object_get(doc, "capacity");
    json_object_update(cap, want);
    store_site_usage(c->st, t->args[0], &u);
    if (jv_num(cap, "vcpu", 0) < u.vcpu - 1e-9 || jv_int(cap, "memory_mb", 0) < u.memory_mb ||
        jv_int(cap, "disk_mb", 0) < u.disk_mb) {
        result_fail(&t->res, 409, "conflict", "field", "capacity",
                    "capacity would be below what the site's VIs hold (%.2f vCPU, %lld MB "
                    "memory, %lld MB disk)",
                    u.vcpu, u.memory_mb, u.disk_mb);
    } else if (site_options(c, t, doc) == 0 && save(c, t, doc) == 0) {
        core_audit(c, &t->who, "site", t->args[0], "updated");
        result_ok(&t->res, 200, doc_public(doc));
    }
    json_decref(doc);
}
