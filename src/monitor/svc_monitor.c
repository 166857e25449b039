/* Metric values pushed by the VNF or an operator's tool (F13). They change
 * nothing in the store: the loop checks who may push to the deployment and
 * hands the values to the monitor, which never makes it wait. A push that
 * comes right after a change the monitor has not read yet (its VI just
 * started, its metric just defined) is answered once the monitor has read
 * it: the request is kept meanwhile, and the loop goes on. */
#include "core/bus.h"
#include "core/txq.h"
#include "monitor/monitor.h"
#include "util/doc.h"
#include "util/jsonv.h"

#include <errno.h>
#include <stdio.h>

/* Pushes t's values; -EAGAIN (nothing done) while the monitor has not
 * read up to seq. Else t->res is set. */
static int push(struct core *c, struct txn *t, int64_t seq)
{
    char msg[160], field[96];
    int r;

    if (!c->monitor) {
        snprintf(field, sizeof(field), "values");
        snprintf(msg, sizeof(msg), "monitoring is off");
        r = -ENOENT;
    } else {
        r = monitor_push(c->monitor, t->args[0], jv_str(t->body, "vi", NULL),
                         json_object_get(t->body, "values"), seq, field, sizeof(field), msg,
                         sizeof(msg));
    }
    if (r == -EAGAIN)
        return r;
    if (r)
        result_fail(&t->res, r == -EINVAL ? 400 : 404, r == -EINVAL ? "invalid-value" : "not-found",
                    "field", field, "%s: %s", field, msg);
    else
        result_ok(&t->res, 202,
                  json_pack("{s:s, s:I}", "deployment", t->args[0], "accepted",
                            (json_int_t)json_object_size(json_object_get(t->body, "values"))));
    return 0;
}

/* The monitor has read far enough (or will not): the kept request's answer. */
static void push_again(struct core *c, void *arg, bool stopping)
{
    struct txn *t = arg;

    if (stopping)
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "the manager is stopping");
    else
        push(c, t, 0);
    t->complete(t);
}

void svc_metrics_push(struct core *c, struct txn *t)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, t->args[0]);
    int64_t committed = bus_last_seq(c->bus);

    if (!dep || !principal_owns(&t->who, doc_str(dep, "tenant")))
        result_not_found(&t->res, "deployment", t->args[0]);
    else if (push(c, t, committed) == -EAGAIN && t->complete) {
        t->kept = true;
        monitor_when_synced(c->monitor, committed, push_again, t);
    } else if (!t->res.status) { /* a part of a batch cannot wait */
        push(c, t, 0);
    }
    json_decref(dep);
}
