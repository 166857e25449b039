/* The manager's place in its cluster: a few fields under a mutex (cluster.h). */
#include "core/cluster.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct cluster {
    pthread_mutex_t mu;
    enum cluster_role role;
    char self[CLUSTER_URL_MAX];
    char primary[CLUSTER_URL_MAX];
    bool peer_down, store_down;
    char peer_why[256], store_why[256];
    unsigned members; /* in this manager's view of the cluster, itself included */
};

struct cluster *cluster_new(const char *me)
{
    struct cluster *cl = xcalloc(1, sizeof(*cl));

    pthread_mutex_init(&cl->mu, NULL);
    snprintf(cl->self, sizeof(cl->self), "%s", me);
    return cl;
}

void cluster_free(struct cluster *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->mu);
    free(cl);
}

const char *cluster_role_name(enum cluster_role role)
{
    switch (role) {
    case CLUSTER_PRIMARY:
        return "primary";
    case CLUSTER_PROMOTING:
        return "promoting";
    case CLUSTER_STANDBY:
        break;
    }
    return "standby";
}

void cluster_set_role(struct cluster *cl, enum cluster_role role)
{
    pthread_mutex_lock(&cl->mu);
    cl->role = role;
    pthread_mutex_unlock(&cl->mu);
}

void cluster_set_primary(struct cluster *cl, const char *url)
{
    pthread_mutex_lock(&cl->mu);
    snprintf(cl->primary, sizeof(cl->primary), "%s", url ? url : "");
    pthread_mutex_unlock(&cl->mu);
}

void cluster_set_members(struct cluster *cl, unsigned members)
{
    pthread_mutex_lock(&cl->mu);
    cl->members = members;
    pthread_mutex_unlock(&cl->mu);
}

void cluster_set_peer_down(struct cluster *cl, bool down, const char *who)
{
    pthread_mutex_lock(&cl->mu);
    cl->peer_down = down;
    snprintf(cl->peer_why, sizeof(cl->peer_why), "%s", down && who ? who : "");
    pthread_mutex_unlock(&cl->mu);
}

void cluster_set_store_down(struct cluster *cl, bool down, const char *err)
{
    pthread_mutex_lock(&cl->mu);
    cl->store_down = down;
    snprintf(cl->store_why, sizeof(cl->store_why), "%s", down && err ? err : "");
    pthread_mutex_unlock(&cl->mu);
}

enum cluster_role cluster_role(struct cluster *cl, char *primary, size_t len)
{
    enum cluster_role r;

    pthread_mutex_lock(&cl->mu);
    r = cl->role;
    if (primary)
        snprintf(primary, len, "%s", cl->primary);
    pthread_mutex_unlock(&cl->mu);
    return r;
}

bool cluster_peer_down(struct cluster *cl)
{
    bool down;

    pthread_mutex_lock(&cl->mu);
    down = cl->peer_down;
    pthread_mutex_unlock(&cl->mu);
    return down;
}

bool cluster_store_down(struct cluster *cl)
{
    bool down;

    pthread_mutex_lock(&cl->mu);
    down = cl->store_down;
    pthread_mutex_unlock(&cl->mu);
    return down;
}

static json_t *reach(bool down, const char *why)
{
    return down ? json_sprintf("unreachable: %s", why) : json_string("reachable");
}

json_t *cluster_report(struct cluster *cl)
{
    json_t *rep;

    pthread_mutex_lock(&cl->mu);
    rep = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:I}", "state", cluster_role_name(cl->role),
                    "primary", cl->primary[0] ? cl->primary : NULL, "self", cl->self, "peer",
                    reach(cl->peer_down, cl->peer_why), "store",
                    reach(cl->store_down, cl->store_why), "members", (json_int_t)cl->members);
    pthread_mutex_unlock(&cl->mu);
    return rep;
}
