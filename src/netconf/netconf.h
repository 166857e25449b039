/* The NETCONF/YANG northbound interface (seed para 44-45, F4;
 * docs/NETCONF.md): NETCONF 1.0/1.1 over SSH (RFC 6241, RFC 6242) with
 * libnetconf2 2.0 and libyang 2.
 *
 * The running datastore is the manager's own store: get and get-config
 * render its records as YANG data (nc_data.c, yang/vnfm.yang), and
 * edit-config becomes the same transactor requests as the REST API
 * (nc_edit.c). RFC 5277 notifications carry every event-log record.
 *
 * Threads: one accepts SSH connections, --netconf-threads poll the sessions
 * and answer their RPCs (reads from a read-only store handle of their own,
 * writes through the transactor), one sends notifications from the event
 * bus. None writes the store.
 */
#ifndef VNFM_NETCONF_H
#define VNFM_NETCONF_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netconf;

/* Starts the server on --netconf-listen with the --netconf-user users.
 * Returns NULL with a message in err on failure. */
struct netconf *netconf_start(struct core *c, char *err, size_t errlen);
/* Ends every session and thread, then frees the server. Call it after
 * bus_close() and before txq_free(). NULL is fine. */
void netconf_stop(struct netconf *n);
/* The service "netconf" (core/service.h; arg is the struct netconf):
 * whether the server accepts connections, its accepting thread running and
 * gone round its loop recently (health code 5020, seed Table 5). */
bool netconf_alive(void *arg, uint64_t now);
/* Fault "netconf-thread": the accepting thread exits and closes its
 * listening socket; open sessions go on. */
void netconf_fault_stop(void *arg, unsigned seconds);

#endif
