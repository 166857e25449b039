#include "core/health.h"
#include "core/core.h"
#include "core/wpool.h"
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
    unsigned watchdog_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the last computation, under mu */
    int code;
    uint64_t computed_ms;
    bool loop_ok, vim_manager_ok;
    bool (*netconf_alive)(void *arg); /* NULL: NETCONF disabled */
    void *netconf_arg;
    bool netconf_ok;
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

struct health *health_new(struct core *c, unsigned vim_watchdog_s)
{
    struct health *h = xcalloc(1, sizeof(*h));

    h->core = c;
    h->watchdog_ms = vim_watchdog_s * 1000;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->code = HEALTH_OK;
    h->computed_ms = mono_ms();
    h->loop_ok = h->vim_manager_ok = true;
    return h;
}

/* The provisioning pool is the VIM manager: it is down when it has no
 * thread, or when every worker has been stuck on a VIM call for longer than
 * the watchdog while work waits. */
static bool vim_manager_ok(struct health *h, uint64_t now)
{
    struct wpool_stats st;

    if (!h->core->prov)
        return false;
    wpool_stats(h->core->prov, &st);
    if (st.threads == 0)
        return false;
    return !(st.busy == st.threads && st.queued > 0 && now - st.last_beat_ms > h->watchdog_ms);
}

/* Called with mu held. */
static int compute(struct health *h, uint64_t now)
{
    uint64_t beat = __atomic_load_n(&h->core->beat_ms, __ATOMIC_RELAXED);
    bool unreachable = false, no_creds = false;

    h->loop_ok = now - beat < STALE_MS;
    h->vim_manager_ok = vim_manager_ok(h, now);
    if (!h->loop_ok)
        return HEALTH_VNFM_DOWN;
    h->netconf_ok = !h->netconf_alive || h->netconf_alive(h->netconf_arg);
    if (!h->netconf_ok)
        return HEALTH_NETCONF_DOWN;
    if (!h->vim_manager_ok)
        return HEALTH_VIM_MANAGER_DOWN;
    for (size_t i = 0; i < h->n_vims; i++) {
        unreachable |= strcmp(h->vims[i].state, "unreachable") == 0;
        no_creds |= strcmp(h->vims[i].state, "no-credentials") == 0;
    }
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

        h->code = compute(h, now);
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

static const char *running(bool ok)
{
    return ok ? "running" : "not running";
}

json_t *health_report(struct health *h, int *code)
{
    uint64_t now = mono_ms();
    bool monitor_ok;
    json_t *rep, *vims;

    pthread_mutex_lock(&h->mu);
    monitor_ok = now - h->computed_ms < STALE_MS;
    *code = h->code;
    if (!monitor_ok && *code < 5000)
        *code = HEALTH_MONITOR_DOWN;
    vims = json_array();
    for (size_t i = 0; i < h->n_vims; i++)
        json_array_append_new(vims, json_pack("{s:s, s:s, s:s}", "site", h->vims[i].site, "health",
                                              h->vims[i].state, "message", h->vims[i].msg));
    rep =
        json_pack("{s:i, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:o}", "code", *code, "message",
                  health_message(*code), "services", "vnfm", running(h->loop_ok), "rest", "running",
                  "health", running(monitor_ok), "vim", running(h->vim_manager_ok), "netconf",
                  h->netconf_alive ? running(h->netconf_ok) : "disabled", "vims", vims);
    pthread_mutex_unlock(&h->mu);
    return rep;
}

void health_set_netconf(struct health *h, bool (*alive)(void *arg), void *arg)
{
    pthread_mutex_lock(&h->mu);
    h->netconf_alive = alive;
    h->netconf_arg = arg;
    h->netconf_ok = true;
    pthread_mutex_unlock(&h->mu);
}
