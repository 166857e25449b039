/* Operator decisions on a lifecycle operation (lifecycle.h, SOL003
 * 5.4.14-5.4.17), native API: POST /v0/operations/{id}/retry, rollback,
 * fail, cancel. Retry, rollback and cancel answer 202 with the operation
 * (the work goes on in the background), fail 200 with the failed one. */
#include "lcm/lifecycle.h"
#include "lcm/svc_lcm.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/jsonv.h"

#include <stdio.h>

/* The operation of the path, if the caller may act on it. */
static int visible(struct core *c, struct txn *t)
{
    json_t *op = NULL;
    int ok = store_get(c->st, STORE_OP, t->args[0], &op) == 0 &&
             principal_owns(&t->who, doc_str(op, "tenant"));

    json_decref(op);
    return ok ? 0 : result_not_found(&t->res, "operation", t->args[0]);
}

static void answer(struct txn *t, json_t *op, int status)
{
    if (!op)
        return; /* t->res says why */
    snprintf(t->res.location, sizeof(t->res.location), "/v0/operations/%s", doc_str(op, "id"));
    result_ok(&t->res, status, doc_public(op));
    json_decref(op);
}

void svc_op_retry(struct core *c, struct txn *t)
{
    if (visible(c, t) == 0)
        answer(t, lc_op_retry(c, t->args[0], &t->res), 202);
}

void svc_op_rollback(struct core *c, struct txn *t)
{
    if (visible(c, t) == 0)
        answer(t, lc_op_rollback(c, t->args[0], &t->res), 202);
}

void svc_op_fail(struct core *c, struct txn *t)
{
    if (visible(c, t) == 0)
        answer(t, lc_op_fail(c, t->args[0], &t->res), 200);
}

void svc_op_cancel(struct core *c, struct txn *t)
{
    if (visible(c, t) == 0)
        answer(t, lc_op_cancel(c, t->args[0], jv_str(t->body, "mode", "GRACEFUL"), &t->res), 202);
}
