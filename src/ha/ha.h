/* Primary/standby managers on one etcd store (F8, seed para 50;
 * docs/HA.md): leader election with etcd leases, fencing, and direct
 * heartbeats between the managers.
 *
 * Every manager holds a lease and registers under PREFIX/ha/members/ID. The
 * one that creates PREFIX/ha/leader (with its lease) is the primary: the
 * loop fences the store on that key's create revision (store_fence), so a
 * manager that lost the key cannot commit anything. Standbys keep their
 * copy of the store hot (its watch) and send a UDP heartbeat to the primary
 * every --ha-heartbeat-ms; one that gets no answer for --ha-dead-ms, or is
 * told the port is closed (a primary killed), revokes the primary's lease
 * itself instead of waiting for it to expire, and every standby campaigns.
 * The primary answers the heartbeats and steps down when its lease is lost
 * or could not be renewed for a whole TTL (etcd lost, or the primary cut
 * off from it).
 *
 * Three threads of its own: control (lease, campaign, revocation), watch
 * (PREFIX/ha/), heartbeat (UDP). What the loop must do is handed over as an
 * order (ha_take_order), announced by wake() from any of them.
 */
#ifndef VNFM_HA_H
#define VNFM_HA_H

#include "core/cluster.h"
#include "core/owners.h"
#include "store/store.h"

#include <stdint.h>

struct ha_opts {
    const char *endpoints; /* etcd's, "HOST:PORT,..." */
    const char *prefix;    /* of the store's keys ("vnfm") */
    const char *url;       /* this manager's REST URL */
    const char *hb_host;   /* UDP heartbeats: where this manager listens */
    unsigned hb_port;
    unsigned lease_ms; /* lease TTL */
    unsigned hb_ms;    /* between two heartbeats */
    unsigned dead_ms;  /* a peer silent this long is down */
    /* the branch sites shared by the members (a cloud VNFM's cluster:
     * share.h), where the view goes; NULL: none shared */
    struct owners *owners;
};

enum ha_order {
    HA_NONE,
    HA_PROMOTE, /* this manager won: fence the store on key, rev, then take over */
    HA_DEMOTE,  /* this manager lost the primary's place: stop acting at once */
};

struct ha;

/* Joins the cluster (a lease, the member key) and starts the threads.
 * NULL with err when etcd does not answer or the heartbeat port cannot be
 * bound. st is the loop's store (unfenced when the lease is lost). */
struct ha *ha_start(const struct ha_opts *o, struct store *st, struct cluster *cl,
                    void (*wake)(void *arg), void *arg, char *err, size_t errlen);
/* The loop: what to do now. For HA_PROMOTE, the leader key and its create
 * revision. */
enum ha_order ha_take_order(struct ha *ha, char *key, size_t keylen, int64_t *rev);
/* The loop has taken over: the manager is the primary. */
void ha_primary(struct ha *ha);
/* Stops the threads; a primary resigns (revokes its lease), so that a
 * standby takes over at once. Accepts NULL. */
void ha_stop(struct ha *ha);

#endif
