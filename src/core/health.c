#include "core/health.h"
#include "core/owners.h"
#include "core/cluster.h"
#include "core/core.h"
#include "core/service.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALE_MS 5000 /* a heartbeat older than this means the service is not running */

struct vim_state {
    char site[ID_BUF_MAX];
    char state[24];
    char msg[256];
};

struct health {
    struct core *core;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the thread's last look at what must be polled, under mu; the VIMs'
     * states are set as they change and read with it at each report */
    int services_down;
    bool peer_down;
    uint64_t computed_ms;
    struct vim_state *vims;
    size_t n_vims;
};

const char *health_message(int code)
{
    switch (code) {
    case HEALTH_OK:
        return "Services running.";
    case HEALTH_HA_UNREACHABLE:
        return "Services running but HA node is not reachable.";
    case HEALTH_VIM_UNREACHABLE:
        return "Services running but one or more VIM services are not reachable.";
    case HEALTH_VIM_NO_CREDENTIALS:
        return "Services running but VIM credentials not provided.";
    case HEALTH_HA_AND_VIM_UNREACHABLE:
        return "Services running but HA node is not reachable and one or more VIM services are "
               "not reachable.";
    case HEALTH_VNFM_DOWN:
        return "VNF manager service, VNF manager not running.";
    case HEALTH_NETCONF_DOWN:
        return "VNF manager service, NETCONF API not running.";
    case HEALTH_MONITOR_DOWN:
        return "VNF manager service, health monitoring service not running.";
    case HEALTH_VIM_MANAGER_DOWN:
        return "VNF manager service, VIM manager not running.";
    }
    return "Unknown.";
}

static void stop_thread(void *arg, unsigned seconds)
{
    (void)seconds;
    health_stop_thread(arg);
}

struct health *health_new(struct core *c)
{
    struct health *h = xcalloc(1, sizeof(*h));

    h->core = c;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->computed_ms = mono_ms();
    /* Its liveness is judged where the report is made (STALE_MS): a thread
     * that stopped cannot say so itself. */
    service_register(c->services, &(struct service){.name = "health",
                                                    .down_code = HEALTH_MONITOR_DOWN,
                                                    .fault = "health-thread",
                                                    .inject = stop_thread,
                                                    .arg = h});
    return h;
}

/* Called with mu held: the worst code of the services (Table 5 lists the
 * worse first), else of the HA peer (a manager of the cluster that does
 * not answer its direct heartbeats) and the sites' VIMs as they are now (a
 * report right after a VIM's state changed says so). */
static int compute(const struct health *h)
{
    bool unreachable = false, no_creds = false;

    if (h->services_down)
        return h->services_down;
    for (size_t i = 0; i < h->n_vims; i++) {
        unreachable |= strcmp(h->vims[i].state, "unreachable") == 0;
        no_creds |= strcmp(h->vims[i].state, "no-credentials") == 0;
    }
    if (h->peer_down)
        return unreachable ? HEALTH_HA_AND_VIM_UNREACHABLE : HEALTH_HA_UNREACHABLE;
    if (unreachable)
        return HEALTH_VIM_UNREACHABLE;
    return no_creds ? HEALTH_VIM_NO_CREDENTIALS : HEALTH_OK;
}

static void *health_main(void *arg)
{
    struct health *h = arg;
    struct timespec ts;

    pthread_mutex_lock(&h->mu);
    while (!atomic_load(&h->stop)) {
        uint64_t now = mono_ms();

        h->services_down = services_check(h->core->services, now);
        h->peer_down = h->core->cluster && cluster_peer_down(h->core->cluster);
        h->computed_ms = now;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int health_start(struct health *h)
{
    int r = pthread_create(&h->thread, NULL, health_main, h);

    h->started = r == 0;
    return -r;
}

void health_stop_thread(struct health *h)
{
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->stop, true);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void health_free(struct health *h)
{
    if (!h)
        return;
    health_stop_thread(h);
    if (h->started)
        pthread_join(h->thread, NULL);
    free(h->vims);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static struct vim_state *find_vim(struct health *h, const char *site)
{
    for (size_t i = 0; i < h->n_vims; i++)
        if (strcmp(h->vims[i].site, site) == 0)
            return &h->vims[i];
    return NULL;
}

void health_set_vim(struct health *h, const char *site, const char *state, const char *msg)
{
    struct vim_state *v;

    pthread_mutex_lock(&h->mu);
    v = find_vim(h, site);
    if (!v) {
        h->vims = xrealloc(h->vims, (h->n_vims + 1) * sizeof(*h->vims));
        v = &h->vims[h->n_vims++];
        snprintf(v->site, sizeof(v->site), "%s", site);
    }
    snprintf(v->state, sizeof(v->state), "%s", state);
    snprintf(v->msg, sizeof(v->msg), "%s", msg);
    pthread_mutex_unlock(&h->mu);
}

void health_get_vim(struct health *h, const char *site, char *state, size_t state_len, char *msg,
                    size_t msg_len)
{
    struct vim_state *v;

    pthread_mutex_lock(&h->mu);
    v = find_vim(h, site);
    snprintf(state, state_len, "%s", v ? v->state : "unknown");
    snprintf(msg, msg_len, "%s", v ? v->msg : "");
    pthread_mutex_unlock(&h->mu);
}

json_t *health_report(struct health *h, int *code)
{
    uint64_t now = mono_ms();
    bool health_ok;
    json_t *rep, *vims, *services = services_report(h->core->services);

    pthread_mutex_lock(&h->mu);
    health_ok = ms_since(now, h->computed_ms) < STALE_MS;
    *code = compute(h);
    if (!health_ok && *code < 5000)
        *code = HEALTH_MONITOR_DOWN;
    json_object_set_new(services, "health", json_string(health_ok ? "running" : "not running"));
    vims = json_array();
    for (size_t i = 0; i < h->n_vims; i++)
        json_array_append_new(vims, json_pack("{s:s, s:s, s:s}", "site", h->vims[i].site, "health",
                                              h->vims[i].state, "message", h->vims[i].msg));
    rep = json_pack("{s:i, s:s, s:o, s:o}", "code", *code, "message", health_message(*code),
                    "services", services, "vims", vims);
    pthread_mutex_unlock(&h->mu);
    if (h->core->cluster)
        json_object_set_new(rep, "ha", cluster_report(h->core->cluster));
    if (h->core->cluster && h->core->owners) /* docs/HA.md "Several active cloud VNFMs" */
        json_object_set_new(json_object_get(rep, "ha"), "sites", owners_report(h->core->owners));
    return rep;
}
