/* The manager's place in a cluster of managers that share one store (etcd,
 * docs/HA.md), as the other threads see it: leader election (src/ha/)
 * writes it, the REST front end reads it to send writes to the primary
 * (307) and health reports it (GET /v0/health "ha", Table 5 codes 2010 and
 * 2100). A manager on SQLite has none (core->cluster is NULL).
 *
 * Every function is thread-safe.
 */
#ifndef VNFM_CLUSTER_H
#define VNFM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum cluster_role {
    CLUSTER_STANDBY,   /* reads from its copy of the store; writes go to the primary */
    CLUSTER_PROMOTING, /* won the election, taking over (writes: 503, retry) */
    CLUSTER_PRIMARY,   /* serves writes */
};

#define CLUSTER_URL_MAX 256

struct cluster;

/* me: this manager's URL, as the others reach it. */
struct cluster *cluster_new(const char *me);
/* Accepts NULL. */
void cluster_free(struct cluster *cl);

void cluster_set_role(struct cluster *cl, enum cluster_role role);
/* The primary's URL, "" while there is none. */
void cluster_set_primary(struct cluster *cl, const char *url);
/* Whether a peer (the primary, for a standby; a standby, for the primary)
 * answers direct heartbeats; who: which one does not, for the report. */
void cluster_set_peer_down(struct cluster *cl, bool down, const char *who);
/* How many members the manager's view of the cluster holds (shown by health). */
void cluster_set_members(struct cluster *cl, unsigned members);
/* Whether etcd answers (err: why not). */
void cluster_set_store_down(struct cluster *cl, bool down, const char *err);

/* The role, and the primary's URL into primary (may be NULL). */
enum cluster_role cluster_role(struct cluster *cl, char *primary, size_t len);
bool cluster_peer_down(struct cluster *cl);
bool cluster_store_down(struct cluster *cl);
/* {"state": "primary" | "promoting" | "standby", "primary": URL or null,
 * "self": URL, "peer": "reachable" | "unreachable: ...", "store":
 * "reachable" | "unreachable: ..."} (a new reference). */
json_t *cluster_report(struct cluster *cl);
const char *cluster_role_name(enum cluster_role role);

#endif
