/* The health monitoring service (seed para 51, Table 5, F9).
 *
 * A thread of its own computes the manager's health code every second from
 * real signals: whether each registered service runs (service.h: the loop's
 * heartbeat, NETCONF, the monitor, the worker pools' progress) and the VIM
 * self checks of every site. The REST thread answers GET /v0/health from
 * the last result, and reports 5030 itself when that result is stale (the
 * health thread is not running).
 */
#ifndef VNFM_HEALTH_H
#define VNFM_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct core;
struct health;

/* Table 5 */
enum health_code {
    HEALTH_OK = 2000,
    HEALTH_HA_UNREACHABLE = 2010,
    HEALTH_VIM_UNREACHABLE = 2020,
    HEALTH_VIM_NO_CREDENTIALS = 2030,
    HEALTH_HA_AND_VIM_UNREACHABLE = 2100,
    HEALTH_VNFM_DOWN = 5010,
    HEALTH_NETCONF_DOWN = 5020,
    HEALTH_MONITOR_DOWN = 5030,
    HEALTH_VIM_MANAGER_DOWN = 5040,
};

const char *health_message(int code);

/* Registers the health thread itself as the service "health" (fault
 * "health-thread") in c->services. */
struct health *health_new(struct core *c);
/* Starts the health thread. */
int health_start(struct health *h);
void health_free(struct health *h);
/* Records the self check result of a site's VIM (any thread). */
void health_set_vim(struct health *h, const char *site, const char *state, const char *msg);
/* Copies the last VIM state of a site ("unknown" when never checked). */
void health_get_vim(struct health *h, const char *site, char *state, size_t state_len, char *msg,
                    size_t msg_len);
/* The health report of docs/API.md; *code is the Table 5 code. */
json_t *health_report(struct health *h, int *code);
/* Fault injection for tests: stops the health thread. */
void health_stop_thread(struct health *h);

/* POST /v0/debug/faults on the transactor (svc_debug.c). */
struct txn;
void svc_debug_fault(struct core *c, struct txn *t);

#endif
