/* The registry of the manager's services (seed para 51, Table 5).
 *
 * Each part of the manager that runs threads or a server of its own (the
 * event loop, REST, NETCONF, the monitor, the worker pools, the health
 * thread) registers a service at start-up, from src/vnfmd.c. The health
 * thread walks the registry every second to compute the Table 5 code, and
 * fault injection (POST /v0/debug/faults) finds the service a fault names
 * in it: core never calls into the layers above it to do either.
 *
 * Every function is thread-safe. A service's callbacks are called with the
 * registry's lock held, so they must not call back into it.
 */
#ifndef VNFM_SERVICE_H
#define VNFM_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct service {
    const char *name; /* its key in the health report's "services" (static) */
    int down_code;    /* Table 5 code while it is not running; 0: reported only */
    bool disabled;    /* configured off: reported "disabled", never down */
    /* Whether it runs; now is monotonic ms. NULL: it runs while the
     * manager answers. Called on the health thread. */
    bool (*alive)(void *arg, uint64_t now);
    const char *fault; /* the fault of POST /v0/debug/faults that hits it, or NULL (static) */
    /* Really stops or stalls the service (for `seconds`, where that
     * applies). Called on the loop thread, inside the request's
     * transaction, without the registry's lock. */
    void (*inject)(void *arg, unsigned seconds);
    void *arg;
};

struct services;

struct services *services_new(void);
/* Accepts NULL. */
void services_free(struct services *s);
/* Adds a copy of *svc, or replaces the service of the same name (its
 * place in the order stays). */
void service_register(struct services *s, const struct service *svc);
/* Removes the service name; call it before what its arg points to goes. */
void service_unregister(struct services *s, const char *name);
/* Asks every service whether it runs and keeps the answers for
 * services_report(). Returns the lowest Table 5 code of those that do not
 * (Table 5 lists the worse ones first), or 0 when all run. */
int services_check(struct services *s, uint64_t now);
/* {name: "running" | "not running" | "disabled"} as of the last check
 * (a new reference). */
json_t *services_report(struct services *s);
/* Copies the service that fault names into *out. -ENOENT when none does,
 * -ESRCH when it is disabled. */
int service_find_fault(struct services *s, const char *fault, struct service *out);
/* The faults of the registered services, NULL-terminated, in registration
 * order (a new array the caller frees; the strings are the services'). */
const char **services_faults(struct services *s);

#endif
