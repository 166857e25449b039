/* POST /v0/debug/faults: fault injection for tests of the health API
 * (--enable-fault-injection only). Each fault really stops or stalls the
 * service that registered it (service.h), so the health code that follows
 * is computed from a real cause; docs/ARCHITECTURE.md lists them. */
#include "core/health.h"
#include "core/service.h"
#include "core/txq.h"
#include "util/jsonv.h"
#include "util/sbuf.h"

#include <errno.h>
#include <stdlib.h>

static void unknown_fault(struct core *c, struct txn *t, const char *fault)
{
    const char **faults = services_faults(c->services);
    struct sbuf known = SBUF_INIT;

    for (size_t i = 0; faults[i]; i++)
        sbuf_addf(&known, "%s%s", i ? ", " : "", faults[i]);
    result_fail(&t->res, 400, "invalid-value", "field", "fault",
                "fault: no service has the fault '%s'; there are %s", fault,
                known.len ? sbuf_str(&known) : "none");
    sbuf_done(&known);
    free(faults);
}

void svc_debug_fault(struct core *c, struct txn *t)
{
    const char *fault = jv_str(t->body, "fault", "");
    unsigned seconds = (unsigned)jv_int(t->body, "seconds", 5);
    struct service svc;
    int r;

    if (!c->cfg->fault_injection) {
        result_fail(&t->res, 403, "forbidden", NULL, NULL,
                    "fault injection is off (start vnfmd with --enable-fault-injection)");
        return;
    }
    r = service_find_fault(c->services, fault, &svc);
    if (r == -ENOENT) {
        unknown_fault(c, t, fault);
        return;
    }
    if (r == -ESRCH) {
        result_fail(&t->res, 409, "conflict", "field", "fault", "the service %s is not enabled",
                    svc.name);
        return;
    }
    svc.inject(svc.arg, seconds);
    core_event(c, "warn", "system", "fault", json_pack("{s:s}", "result", fault),
               "fault injected: %s (%u s)", fault, seconds);
    result_ok(&t->res, 202, json_pack("{s:s, s:i}", "fault", fault, "seconds", seconds));
}
