/* POST /v0/debug/faults: fault injection for tests of the health API
 * (--enable-fault-injection only). Each fault really stops or stalls the
 * service it names, so the health code that follows is computed from a
 * real cause:
 *   health-thread  the health monitoring thread exits        -> 5030
 *   loop-stall     the event loop blocks for `seconds`        -> 5010
 *   vim-stall      every provisioning worker blocks, and work
 *                  waits, for `seconds`                        -> 5040
 *   netconf-thread the NETCONF accepting thread exits and its
 *                  listening socket closes                     -> 5020 */
#include "netconf/netconf.h"
#include "core/health.h"
#include "core/txq.h"
#include "core/health.h"
#include "core/txq.h"
#include "core/wpool.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stall {
    struct wjob w;
    unsigned seconds;
};

static void stall_work(struct wjob *w)
{
    sleep(((struct stall *)w)->seconds);
}

static void stall_done(struct wjob *w)
{
    free(w);
}

static void loop_stall(struct core *c, void *arg)
{
    (void)c;
    sleep((unsigned)(uintptr_t)arg);
}

static void stall_pool(struct core *c, unsigned seconds)
{
    struct wpool_stats st;

    wpool_stats(c->prov, &st);
    for (unsigned i = 0; i <= st.threads; i++) {
        struct stall *s = xcalloc(1, sizeof(*s));

        s->w.work = stall_work;
        s->w.done = stall_done;
        s->seconds = seconds;
        wpool_submit(c->prov, &s->w);
    }
}

void svc_debug_fault(struct core *c, struct txn *t)
{
    const char *fault = jv_str(t->body, "fault", "");
    unsigned seconds = (unsigned)jv_int(t->body, "seconds", 5);

    if (!c->cfg->fault_injection) {
        result_fail(&t->res, 403, "forbidden", NULL, NULL,
                    "fault injection is off (start vnfmd with --enable-fault-injection)");
        return;
    }
    if (strcmp(fault, "netconf-thread") == 0 && !c->netconf) {
        result_fail(&t->res, 409, "conflict", "field", "fault", "NETCONF is not enabled");
        return;
    }
    if (strcmp(fault, "netconf-thread") == 0)
        netconf_fault_stop(c->netconf);
    else if (strcmp(fault, "health-thread") == 0)
        health_stop_thread(c->health);
    else if (strcmp(fault, "loop-stall") == 0)
        core_after_commit(c, loop_stall, (void *)(uintptr_t)seconds, NULL);
    else
        stall_pool(c, seconds);
    core_event(c, "warn", "system", "fault", json_pack("{s:s}", "result", fault),
               "fault injected: %s (%u s)", fault, seconds);
    result_ok(&t->res, 202, json_pack("{s:s, s:i}", "fault", fault, "seconds", seconds));
}
