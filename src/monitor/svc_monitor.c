/* Metric values pushed by the VNF or an operator's tool (F13). */
#include "core/txq.h"
#include "monitor/monitor.h"
#include "util/doc.h"
#include "util/jsonv.h"

#include <errno.h>
#include <stdio.h>

void svc_metrics_push(struct core *c, struct txn *t)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, t->args[0]), *v;
    const char *vi = jv_str(t->body, "vi", NULL), *name;
    char msg[160], field[96];
    unsigned n = 0;
    int r;

    if (!dep || !principal_owns(&t->who, doc_str(dep, "tenant"))) {
        result_not_found(&t->res, "deployment", t->args[0]);
        goto out;
    }
    json_object_foreach(json_object_get(t->body, "values"), name, v)
    {
        snprintf(field, sizeof(field), "values.%s", name);
        r = c->monitor ? monitor_push(c->monitor, t->args[0], vi, name, json_number_value(v), msg,
                                      sizeof(msg))
                       : -ENOENT;
        if (r) {
            result_fail(&t->res, r == -EINVAL ? 400 : 404,
                        r == -EINVAL ? "invalid-value" : "not-found", "field", field, "%s: %s",
                        field, c->monitor ? msg : "monitoring is off");
            goto out;
        }
        n++;
    }
    result_ok(&t->res, 202, json_pack("{s:s, s:i}", "deployment", t->args[0], "accepted", n));
out:
    json_decref(dep);
}
