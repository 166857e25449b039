/* One owner per deployment (docs/FEDERATION.md "One owner per
 * deployment"): either the branch's own rules or the cloud's decide for a
 * branch deployment, never both.
 *
 * The branch's deployment record is where it is decided, because the
 * branch is where every decision takes effect: `rules_owner_set` is what
 * an operator chose (on the cloud, which instructs the branch, or at the
 * branch), `rules_owner` who decides now, and `rules_owner_gen` counts the
 * changes of rules_owner. The branch's rules engine refuses to decide for
 * a deployment whose rules_owner is "cloud"; the cloud's decides only once
 * the branch reported "cloud" (policy/executor.c not_owner), and the
 * instructions of its decisions carry the generation they saw: the branch
 * applies them only in that same generation (downlink.c). A branch that
 * loses the cloud takes its rules back (it must heal alone) and gives them
 * back when the cloud takes its reports again: a new generation each time,
 * so that a decision of the cloud's from before a cut is not applied
 * after it. */
#include "fed/fed_internal.h"
#include "lcm/remote.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"

#include <string.h>

/* Sets who decides for dep now from the operator's choice and whether the
 * cloud is there (up); a change is written, with a new generation, and is
 * an event naming the deployment (the monitor reads it again). */
static void settle(struct core *c, json_t *dep, bool up, const char *why)
{
    const char *now =
        strcmp(jv_str(dep, "rules_owner_set", "branch"), "cloud") == 0 && up ? "cloud" : "branch";
    char obj[16 + KEY_BUF_MAX];

    if (strcmp(jv_str(dep, "rules_owner", "branch"), now) == 0)
        return;
    doc_set_str(dep, "rules_owner", now);
    doc_set_int(dep, "rules_owner_gen", doc_int(dep, "rules_owner_gen", 0) + 1);
    snprintf(obj, sizeof(obj), "deployment/%s", doc_str(dep, "id"));
    core_event(c, "info", "policy", "rules-owner",
               json_pack("{s:s, s:s, s:s?, s:s, s:I}", "object", obj, "deployment",
                         doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"), "result", now,
                         "generation", (json_int_t)doc_int(dep, "rules_owner_gen", 0)),
               "the %s's rules decide for %s now (generation %lld): %s", now, doc_str(dep, "id"),
               (long long)doc_int(dep, "rules_owner_gen", 0), why);
}

static int save(struct core *c, struct txn *t, json_t *dep)
{
    doc_touch(dep, "updated");
    if (store_put(c->st, STORE_DEPLOYMENT, dep) == 0)
        return 0;
    return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the deployment: %s",
                       store_errmsg(c->st));
}

/* On the cloud, of a branch's deployment: an instruction to its manager
 * (the operation ends once it applied it); the cloud's own rules stop at
 * once when it is "branch", and start when the branch reports "cloud". */
static void cloud_side(struct core *c, struct txn *t, json_t *dep, const char *owner)
{
    c->remote->operate(c, t, dep);
    if (t->res.status >= 400)
        return;
    doc_set_str(dep, "rules_owner_wanted", owner);
    if (save(c, t, dep) == 0)
        c->remote->rules_changed(c, dep);
}

void fed_owner_apply(struct core *c, struct txn *t)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, t->args[0] ? t->args[0] : "");
    const char *owner = jv_str(t->body, "owner", "");
    char why[160];

    if (!dep || !principal_owns(&t->who, doc_str(dep, "tenant"))) {
        result_not_found(&t->res, "deployment", t->args[0] ? t->args[0] : "");
        goto out;
    }
    if (c->remote && doc_str(dep, "manager")) {
        cloud_side(c, t, dep, owner);
        goto out;
    }
    if (!c->cfg->cloud_url || (c->fed && c->fed->cloud)) {
        result_fail(&t->res, 409, "conflict", "field", "owner",
                    "deployment '%s' runs here and this manager reports to no cloud: its own "
                    "rules decide for it",
                    t->args[0]);
        goto out;
    }
    doc_set_str(dep, "rules_owner_set", owner);
    snprintf(why, sizeof(why), "set to %s by %s", owner, t->who.token_id);
    settle(c, dep, c->fed->connected, why);
    if (save(c, t, dep))
        goto out;
    fed_report_soon(c->fed);
    result_ok(&t->res, 200,
              json_pack("{s:s, s:s, s:s, s:I}", "deployment", doc_str(dep, "id"), "rules_owner",
                        jv_str(dep, "rules_owner", "branch"), "rules_owner_set", owner,
                        "rules_owner_gen", (json_int_t)doc_int(dep, "rules_owner_gen", 0)));
out:
    json_decref(dep);
}

void fed_owner_follow(struct fed *f, bool up)
{
    struct core *c = f->c;
    json_t *list = NULL, *dep;
    char was[16];
    size_t i;

    if (store_list(c->st, STORE_DEPLOYMENT, NULL, &list))
        return;
    core_tx_begin(c);
    json_array_foreach(list, i, dep)
    {
        if (strcmp(jv_str(dep, "rules_owner_set", "branch"), "cloud"))
            continue;
        snprintf(was, sizeof(was), "%s", jv_str(dep, "rules_owner", "branch"));
        settle(c, dep, up,
               up ? "the cloud takes the reports again: its rules decide again"
                  : "the cloud is unreachable: the branch takes its rules back to heal alone");
        if (strcmp(was, jv_str(dep, "rules_owner", "branch")) == 0)
            continue;
        doc_touch(dep, "updated");
        if (store_put(c->st, STORE_DEPLOYMENT, dep))
            log_error("fed: cannot write deployment %s: %s", doc_str(dep, "id"),
                      store_errmsg(c->st));
    }
    core_tx_commit(c);
    json_decref(list);
}
