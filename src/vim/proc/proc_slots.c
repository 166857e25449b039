/* Warm VI slots of the process VIM (proc_internal.h, docs/VIM_PROC.md).
 *
 * Most of a VI deployment's time goes to the kernel making a network
 * namespace, a veth pair and cgroups. A site with the option warm_vis = N
 * keeps N of those made in advance: deploying a VI then gives one the VI's
 * names (the cgroup directories are renamed, the namespace is mounted under
 * the VI's name too, the host interface gets the VI's as an altname: a
 * rename would wait for an RCU grace period) and sets the VI's MAC,
 * address, route and limits over a netlink socket opened inside the
 * namespace when the slot was made. A thread at low priority makes new
 * slots once deployments have been quiet for a moment, so that it does not
 * compete with the one that took a slot, and removes the old names of the
 * namespaces taken (an unmount takes a while).
 */
#include "util/beside.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define QUIET_MS    20   /* after a slot was taken, before making new ones */
#define RETRY_MS    5000 /* after a slot could not be made */
#define SLOT_MEMORY (64ull << 20)

struct slot {
    char id[16];
    int host_idx, eth_idx; /* the host side, and eth0 inside */
    int nl;                /* netlink socket made inside the namespace */
    struct slot *next;
};

struct slots {
    struct proc_vim *v;
    unsigned target, n_ready;
    struct slot *ready, *taken; /* made; and taken, with names to remove */
    uint64_t last_claim_ms;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
};

/* Removes whatever exists of slot id (a missing part is fine). The veth
 * pair goes with the namespace once the kernel gets to it; now, with
 * at_once, but only for a slot no VI has taken: a taken one's host end
 * keeps the slot's name. */
static void slot_remove(struct proc_vim *v, const char *id, bool at_once)
{
    char ns[96], host[16];
    int idx;

    proc_ns_name(v, id, ns, sizeof(ns));
    netns_delete(ns);
    proc_host_if(id, 0, host, sizeof(host));
    if (at_once && (idx = nl_ifindex(host)) > 0)
        nl_link_del(idx);
    cg_destroy(&v->cg, id);
}

static void slot_free(struct slot *s)
{
    if (s->nl >= 0)
        close(s->nl);
    free(s);
}

/* A taken slot: its old namespace name goes. */
static void slot_forget(struct proc_vim *v, struct slot *s)
{
    char ns[96];

    proc_ns_name(v, s->id, ns, sizeof(ns));
    netns_delete(ns);
    slot_free(s);
}

/* Inside the new namespace: loopback up, and what the claim needs. */
static int slot_inside(void *arg)
{
    struct slot *s = arg;
    int lo = nl_ifindex("lo"), r = lo > 0 ? nl_link_set(lo, true, 0) : lo;

    if (r == 0)
        r = netns_unprivileged();
    s->eth_idx = nl_ifindex("eth0");
    if (r == 0 && s->eth_idx < 0)
        r = s->eth_idx;
    if (r == 0) {
        s->nl = nl_socket();
        r = s->nl < 0 ? s->nl : 0;
    }
    return r;
}

static struct slot *slot_make(struct proc_vim *v)
{
    struct slot *s = xcalloc(1, sizeof(*s));
    char ns[96], host[16];
    int fd = -1, r;

    s->nl = -1;
    id_random(s->id, SLOT_PREFIX, 6);
    proc_ns_name(v, s->id, ns, sizeof(ns));
    proc_host_if(s->id, 0, host, sizeof(host));
    r = cg_create(&v->cg, s->id, 1000, SLOT_MEMORY);
    if (r == 0)
        r = netns_create(ns);
    if (r == 0)
        r = (fd = netns_open(ns)) < 0 ? fd : 0;
    if (r == 0)
        r = nl_veth_add(host, "eth0", fd, NULL);
    if (r == 0)
        r = (s->host_idx = nl_ifindex(host)) < 0 ? s->host_idx : 0;
    if (r == 0) /* plugged into the bridge, down until a VI takes it */
        r = bridge_plug(v, s->host_idx, false);
    if (r == 0)
        r = netns_run(fd, slot_inside, s);
    if (fd >= 0)
        close(fd);
    if (r) {
        log_warn("proc VIM: cannot make a warm VI slot: %s", strerror(-r));
        slot_remove(v, s->id, true);
        slot_free(s);
        return NULL;
    }
    return s;
}

/* What an earlier run (killed, so it could not clean up) left of slots:
 * their names, not what a VI took of them (its namespace is mounted under
 * its own name too, its host interface keeps the slot's name). */
static void sweep(struct proc_vim *v)
{
    char prefix[64], **ids;
    size_t n;
    struct dirent *e;
    DIR *d;

    snprintf(prefix, sizeof(prefix), "vnfm-%s-" SLOT_PREFIX, v->tag);
    d = opendir(NETNS_DIR);
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            slot_remove(v, e->d_name + strlen(prefix) - strlen(SLOT_PREFIX), false);
    if (d)
        closedir(d);
    if (cg_list(&v->cg, &ids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (strncmp(ids[i], SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0)
                cg_destroy(&v->cg, ids[i]);
        vim_ids_free(ids, n);
    }
}

static void wait_until(struct slots *ss, uint64_t mono)
{
    struct timespec ts = {(time_t)(mono / 1000), (long)(mono % 1000) * 1000000};

    pthread_cond_timedwait(&ss->cv, &ss->mu, &ts);
}

static void *refill(void *arg)
{
    struct slots *ss = arg;
    uint64_t retry_at = 0;

    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    sweep(ss->v);
    pthread_mutex_lock(&ss->mu);
    while (!ss->stop) {
        uint64_t at = ss->last_claim_ms + QUIET_MS;
        struct slot *s;

        if (!ss->taken && retry_at > at)
            at = retry_at;
        if (ss->n_ready > ss->target) { /* fewer wanted now */
            s = ss->ready;
            ss->ready = s->next;
            ss->n_ready--;
            pthread_mutex_unlock(&ss->mu);
            slot_remove(ss->v, s->id, true);
            slot_free(s);
            pthread_mutex_lock(&ss->mu);
            continue;
        }
        if (!ss->taken && ss->n_ready >= ss->target) {
            pthread_cond_wait(&ss->cv, &ss->mu);
            continue;
        }
        if (mono_ms() < at) {
            wait_until(ss, at);
            continue;
        }
        if (ss->taken) {
            s = ss->taken;
            ss->taken = s->next;
            pthread_mutex_unlock(&ss->mu);
            slot_forget(ss->v, s);
            pthread_mutex_lock(&ss->mu);
            continue;
        }
        pthread_mutex_unlock(&ss->mu);
        s = slot_make(ss->v);
        pthread_mutex_lock(&ss->mu);
        if (!s) {
            retry_at = mono_ms() + RETRY_MS;
            continue;
        }
        s->next = ss->ready;
        ss->ready = s;
        ss->n_ready++;
    }
    pthread_mutex_unlock(&ss->mu);
    return NULL;
}

struct slots *slots_start(struct proc_vim *v, unsigned target)
{
    struct slots *ss;
    pthread_condattr_t ca;

    ss = xcalloc(1, sizeof(*ss));
    ss->v = v;
    ss->target = target;
    pthread_mutex_init(&ss->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ss->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&ss->th, NULL, refill, ss)) {
        pthread_cond_destroy(&ss->cv);
        pthread_mutex_destroy(&ss->mu);
        free(ss);
        return NULL;
    }
    return ss;
}

void slots_stop(struct slots *ss)
{
    if (!ss)
        return;
    pthread_mutex_lock(&ss->mu);
    ss->stop = true;
    pthread_cond_broadcast(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    pthread_join(ss->th, NULL);
    while (ss->taken) {
        struct slot *s = ss->taken;

        ss->taken = s->next;
        slot_forget(ss->v, s);
    }
    while (ss->ready) {
        struct slot *s = ss->ready;

        ss->ready = s->next;
        slot_remove(ss->v, s->id, true);
        slot_free(s);
    }
    pthread_cond_destroy(&ss->cv);
    pthread_mutex_destroy(&ss->mu);
    free(ss);
}

void slots_set_target(struct slots *ss, unsigned target)
{
    if (!ss)
        return;
    pthread_mutex_lock(&ss->mu);
    ss->target = target;
    pthread_cond_signal(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
}

unsigned slots_ready(struct slots *ss, unsigned *target)
{
    unsigned n = 0;

    *target = 0;
    if (!ss)
        return 0;
    pthread_mutex_lock(&ss->mu);
    n = ss->n_ready;
    *target = ss->target;
    pthread_mutex_unlock(&ss->mu);
    return n;
}

/* The VI's MAC, address and route, over the socket made inside. */
static int configure(const struct slot *s, const struct vi_nic *nic)
{
    uint8_t mac[6];
    int r;

    nl_use(s->nl);
    r = nl_link_set_mac(s->eth_idx, proc_mac(nic->addr, mac));
    if (r == 0)
        r = nl_addr_add(s->eth_idx, nic->addr, nic->prefix_len);
    if (r == 0)
        r = nl_link_set(s->eth_idx, true, 0);
    if (r == 0 && nic->gateway)
        r = nl_route_default(nic->gateway);
    if (r == 0 && nic->gateway) /* the bridge's, for good (proc_bridge.c) */
        r = nl_neigh_set(s->eth_idx, nic->gateway, proc_mac(nic->gateway, mac));
    nl_use(-1);
    return r;
}

struct cg_claim {
    struct proc_vim *v;
    const struct slot *s;
    const struct vi_spec *spec;
    int r;
};

static void *claim_cgroups(void *arg)
{
    struct cg_claim *t = arg;

    t->r = cg_rename(&t->v->cg, t->s->id, t->spec->id);
    if (t->r == 0)
        t->r = cg_set_limits(&t->v->cg, t->spec->id, t->spec->vcpu_milli, t->spec->memory_bytes);
    return NULL;
}

/* Gives the slot the VI's names and settings; the cgroups on a thread of
 * their own, while the network is done. */
static int claim(struct proc_vim *v, struct slot *s, const struct vi_spec *spec)
{
    const struct vi_nic *nic = &spec->nics[0];
    struct cg_claim cg = {v, s, spec, 0};
    char from[96], to[96], host[16];
    int br = nl_ifindex(v->bridge), r;
    uint8_t mac[6];
    struct beside b;
    bool aliased;

    beside_start(&b, claim_cgroups, &cg);
    proc_ns_name(v, s->id, from, sizeof(from));
    proc_ns_name(v, spec->id, to, sizeof(to));
    proc_host_if(spec->id, 0, host, sizeof(host));
    /* the host interface's name before the namespace's: once the VI's name
     * points at the namespace, its interface is found by the VI's name too
     * (after a crash, a VI made from scratch replaces it by that name) */
    r = nl_link_altname(s->host_idx, host);
    aliased = r == 0 && (r = netns_alias(from, to)) == 0;
    if (r == 0)
        r = nl_link_set(s->host_idx, true, 0);
    if (r == 0)
        r = configure(s, nic);
    if (r == 0)
        nl_neigh_set(br, nic->addr, proc_mac(nic->addr, mac)); /* see plug_nics */
    beside_join(&b);
    r = r ? r : cg.r;
    if (r) { /* leave nothing of the slot under the VI's names but its cgroups,
              * which a VI made from scratch takes as they are */
        nl_link_del(s->host_idx);
        if (aliased)
            netns_delete(to);
    }
    return r;
}

int slots_claim(struct slots *ss, const struct vi_spec *spec)
{
    const struct vi_nic *nic = &spec->nics[0];
    struct slot *s;
    int r;

    if (!ss || spec->n_nics != 1 || strcmp(nic->ifname, "eth0") != 0 ||
        strcmp(nic->bridge, ss->v->bridge) != 0 || !nic->addr)
        return 1;
    pthread_mutex_lock(&ss->mu);
    s = ss->ready;
    if (s) {
        ss->ready = s->next;
        ss->n_ready--;
        ss->last_claim_ms = mono_ms();
        pthread_cond_signal(&ss->cv);
    }
    pthread_mutex_unlock(&ss->mu);
    if (!s)
        return 1;
    r = claim(ss->v, s, spec);
    if (r) {
        log_warn("proc VIM: warm slot %s could not become VI %s (%s); making it anew", s->id,
                 spec->name, strerror(-r));
        slot_remove(ss->v, s->id, false); /* its host end may have the VI's name */
        slot_free(s);
        return r;
    }
    close(s->nl);
    s->nl = -1;
    pthread_mutex_lock(&ss->mu);
    s->next = ss->taken;
    ss->taken = s;
    pthread_cond_signal(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    return 0;
}
