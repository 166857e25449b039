/* The site's bridges (proc_internal.h, docs/VIM_PROC.md "Network").
 *
 * Every VI's host interface is a port of the site's bridge, which holds the
 * gateway address. A Linux bridge has at most 1023 ports (BR_MAX_PORTS), so
 * a site whose subnet holds more VIs than that hangs leaf bridges off it,
 * each through a veth pair: one broadcast domain, as many VIs as the
 * subnet has addresses. The bridge's MAC address derives from the gateway
 * address the way a VI's does from its own (02:76 and the four bytes), so
 * that it never changes when ports come and go (a bridge without a MAC of
 * its own takes its lowest port's), and a VI's neighbour entry of its
 * gateway can be written once, for good.
 */
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"
#include "vim/proc/proc_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BR_PORTS  1023 /* BR_MAX_PORTS - 1 in the kernel (net/bridge/br_private.h) */
#define LEAF_MAX  63   /* leaves of a site: 63 * 1022 VIs, a /16 */
#define NEIGH_DIR "/proc/sys/net/ipv4/neigh/default/"

const uint8_t *proc_mac(uint32_t addr, uint8_t mac[6])
{
    if (!addr)
        return NULL;
    mac[0] = 0x02;
    mac[1] = 0x76;
    for (int i = 0; i < 4; i++)
        mac[2 + i] = (uint8_t)(addr >> (24 - 8 * i));
    return mac;
}

/* Leaf k (1..LEAF_MAX) of bridge, and the two ends of its uplink. */
static void leaf_names(const char *bridge, unsigned k, char leaf[16], char up[16], char down[16])
{
    snprintf(leaf, 16, "%.10sl%u", bridge, k % 100);
    snprintf(up, 16, "%.10sl%ua", bridge, k % 100);
    snprintf(down, 16, "%.10sl%ub", bridge, k % 100);
}

/* Whether /sys shows the bridge of index idx: sysfs shows the network
 * namespace of whoever mounted it, the host's for a manager started in a
 * namespace of its own (nsenter --net). */
static bool sysfs_shows(const char *name, int idx)
{
    char path[64], *text = NULL;
    bool same;

    snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
    same = read_file(path, 32, &text, NULL) == 0 && strtol(text, NULL, 10) == idx;
    free(text);
    return same;
}

/* The ports of bridge name; -ENODEV when it does not exist. From sysfs when
 * it shows our namespace (960 ports counted in 0.3 ms here), else by a
 * netlink dump (13 ms: the kernel walks every link of the namespace). */
static int bridge_ports(const char *name)
{
    int idx = nl_ifindex(name), n = 0;
    char path[64];
    struct dirent *e;
    DIR *d;

    if (idx < 0)
        return idx;
    snprintf(path, sizeof(path), "/sys/class/net/%s/brif", name);
    if (!sysfs_shows(name, idx) || !(d = opendir(path)))
        return nl_link_ports(idx, NULL, 0);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Makes leaf k and its uplink into the site's bridge; returns its index. */
static int leaf_make(const struct proc_vim *v, unsigned k)
{
    char leaf[16], up[16], down[16];
    int idx, r, br = nl_ifindex(v->bridge);

    leaf_names(v->bridge, k, leaf, up, down);
    r = nl_bridge_add(leaf, NULL);
    if (r && r != -EEXIST)
        return r;
    idx = nl_ifindex(leaf);
    if (idx < 0 || br < 0)
        return idx < 0 ? idx : br;
    r = nl_veth_add(up, down, -1, NULL);
    if (r && r != -EEXIST)
        return r;
    r = nl_link_set(nl_ifindex(up), true, br);
    if (r == 0)
        r = nl_link_set(nl_ifindex(down), true, idx);
    if (r == 0)
        r = nl_link_set(idx, true, 0);
    if (r == 0)
        log_info("proc VIM of site %s: leaf bridge %s made (the site's bridge has no port left)",
                 v->site, leaf);
    return r ? r : idx;
}

int bridge_plug(struct proc_vim *v, int ifindex, bool up)
{
    char leaf[16], a[16], b[16];
    int r, n;

    pthread_mutex_lock(&v->plug_mu);
    /* the site's bridge keeps a port for the uplink of every leaf */
    n = bridge_ports(v->bridge);
    if (n >= 0 && n < BR_PORTS - LEAF_MAX) {
        r = nl_link_set(ifindex, up, nl_ifindex(v->bridge));
        goto out;
    }
    r = n < 0 ? n : -EXFULL;
    for (unsigned k = 1; n >= 0 && k <= LEAF_MAX; k++) {
        leaf_names(v->bridge, k, leaf, a, b);
        n = bridge_ports(leaf);
        if (n == -ENODEV) {
            n = leaf_make(v, k);
            if (n < 0) {
                r = n;
                break;
            }
            n = bridge_ports(leaf);
        }
        if (n >= 0 && n < BR_PORTS) {
            r = nl_link_set(ifindex, up, nl_ifindex(leaf));
            break;
        }
    }
out:
    pthread_mutex_unlock(&v->plug_mu);
    return r;
}

/* Another interface with an address in the site's subnet would take its
 * traffic (two managers given the same --subnet): the site refuses to share
 * it and says whose it is and what to do (issue 10 finding 11). */
static int subnet_taken(const struct proc_vim *v, struct vim_err *err)
{
    uint32_t mask = ip4_mask(v->prefix_len);
    char ip[IP4_STR_MAX], owner[8];
    struct ifaddrs *ifa, *i;
    int r = 0, end = 0;

    if (getifaddrs(&ifa) < 0)
        return 0;
    for (i = ifa; i && !r; i = i->ifa_next) {
        uint32_t a;

        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !strcmp(i->ifa_name, v->bridge))
            continue;
        a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((a & mask) != (v->gateway & mask))
            continue;
        r = -EADDRINUSE;
        ip4_fmt(a, ip);
        if (sscanf(i->ifa_name, "vb%6[0-9a-f]%*u%n", owner, &end) == 1 && end > 8)
            snprintf(err->msg, sizeof(err->msg),
                     "subnet in use: %s on %s, the bridge of vnfm instance %s: stop that manager "
                     "(a clean stop removes its bridge when no VI is left), run 'vnfmd --cleanup "
                     "%s' if it is dead, or give this site another subnet",
                     ip, i->ifa_name, owner, owner);
        else
            snprintf(err->msg, sizeof(err->msg),
                     "subnet in use: %s on interface %s: remove that address or give this site "
                     "another subnet",
                     ip, i->ifa_name);
    }
    freeifaddrs(ifa);
    return r;
}

/* The kernel's neighbour table is one for the whole host: the entries of
 * every namespace count against its gc_thresh3 (1024 by default), past
 * which no new neighbour is resolved ("neighbor table overflow"). A VI
 * needs none of it (its entry on the host and its gateway's inside are
 * permanent, which do not count), but VNFs that talk to each other do:
 * the table is made to hold two per address of every open site, raised
 * only, never lowered (issue 10 finding 19). */
static pthread_mutex_t neigh_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long neigh_hosts; /* addresses of the open sites */

static long read_long(const char *path)
{
    char *text = NULL;
    long n = -1;

    if (read_file(path, 64, &text, NULL) == 0)
        n = strtol(text, NULL, 10);
    free(text);
    return n;
}

static void neigh_size(const struct proc_vim *v, bool open)
{
    unsigned long hosts = (1ul << (32 - v->prefix_len)) - 3;
    long want3, want2, cur3, cur2;
    char buf[32];

    pthread_mutex_lock(&neigh_mu);
    neigh_hosts = open ? neigh_hosts + hosts : neigh_hosts - hosts;
    want3 = 1024 + 2 * (long)neigh_hosts;
    want2 = want3 / 2;
    cur3 = read_long(NEIGH_DIR "gc_thresh3");
    cur2 = read_long(NEIGH_DIR "gc_thresh2");
    if (open && cur3 >= 0 && cur3 < want3) {
        snprintf(buf, sizeof(buf), "%ld", want3);
        if (write_knob(NEIGH_DIR "gc_thresh3", buf) == 0) {
            snprintf(buf, sizeof(buf), "%ld", want2 > cur2 ? want2 : cur2);
            write_knob(NEIGH_DIR "gc_thresh2", buf);
            log_info("proc VIM of site %s: the kernel's neighbour table "
                     "(net.ipv4.neigh.default.gc_thresh2/3) raised from %ld/%ld to %ld/%ld for "
                     "the %lu addresses of the open sites",
                     v->site, cur2, cur3, want2 > cur2 ? want2 : cur2, want3, neigh_hosts);
        } else {
            log_warn("proc VIM of site %s: cannot raise net.ipv4.neigh.default.gc_thresh3 from "
                     "%ld to %ld: VNFs that talk to many others may find no neighbour",
                     v->site, cur3, want3);
        }
    }
    pthread_mutex_unlock(&neigh_mu);
}

int bridge_open(struct proc_vim *v, struct vim_err *err)
{
    int idx = nl_ifindex(v->bridge), r = subnet_taken(v, err);
    uint8_t mac[6];

    if (r)
        return r;
    proc_mac(v->gateway, mac);
    if (idx == -ENODEV) {
        r = nl_bridge_add(v->bridge, mac);
        if (r && r != -EEXIST)
            return proc_fail(err, r, "create bridge %s", v->bridge);
        idx = nl_ifindex(v->bridge);
    }
    if (idx < 0)
        return proc_fail(err, idx, "bridge %s", v->bridge);
    r = nl_link_set_mac(idx, mac); /* one made by an older vnfm has none of its own */
    if (r == 0)
        r = nl_addr_add(idx, v->gateway, v->prefix_len);
    if (r == 0)
        r = nl_link_set(idx, true, 0);
    if (r)
        return proc_fail(err, r, "configure bridge %s", v->bridge);
    neigh_size(v, true);
    return 0;
}

/* The host interfaces of the VIs and slots of this manager that exist: the
 * one of each of its namespaces (a slot's, or a VI's, by its altname when it
 * took a slot). Interfaces of namespaces on their way out are not among
 * them. Returns how many went into idx. */
static size_t live_ports(const struct proc_vim *v, int *idx, size_t max)
{
    char prefix[32], host[16];
    struct dirent *e;
    size_t n = 0;
    DIR *d;
    int i;

    snprintf(prefix, sizeof(prefix), "vnfm-%s-", v->tag);
    d = opendir(NETNS_DIR);
    while (d && n < max && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        proc_host_if(e->d_name + strlen(prefix), 0, host, sizeof(host));
        if ((i = nl_ifindex(host)) > 0)
            idx[n++] = i;
    }
    if (d)
        closedir(d);
    return n;
}

/* Whether bridge has a port that is in live. */
static bool has_live_port(const char *bridge, const int *live, size_t n_live)
{
    int br = nl_ifindex(bridge), *port = xcalloc(BR_PORTS, sizeof(*port)), n;
    bool any = false;

    n = br > 0 ? nl_link_ports(br, port, BR_PORTS) : 0;
    any = n < 0; /* unknown: keep the bridge */
    for (int i = 0; i < n && i < BR_PORTS && !any; i++)
        for (size_t k = 0; k < n_live && !any; k++)
            any = live[k] == port[i];
    free(port);
    return any;
}

/* Whether no VI (nor a warm slot) is plugged into the site's bridges. */
static bool bridge_empty(const struct proc_vim *v)
{
    size_t max = 65536, n;
    int *live = xcalloc(max, sizeof(*live));
    char leaf[16], a[16], b[16];
    bool empty;

    n = live_ports(v, live, max);
    empty = !has_live_port(v->bridge, live, n);
    for (unsigned k = 1; empty && k <= LEAF_MAX; k++) {
        leaf_names(v->bridge, k, leaf, a, b);
        empty = !has_live_port(leaf, live, n);
    }
    free(live);
    return empty;
}

void bridge_close(const struct proc_vim *v)
{
    char leaf[16], a[16], b[16];
    int idx;

    neigh_size(v, false);
    if (!bridge_empty(v))
        return;
    log_info("proc VIM of site %s: no VI is left: bridge %s removed", v->site, v->bridge);
    for (unsigned k = 1; k <= LEAF_MAX; k++) {
        leaf_names(v->bridge, k, leaf, a, b);
        if ((idx = nl_ifindex(a)) > 0)
            nl_link_del(idx); /* its peer goes with it */
        if ((idx = nl_ifindex(leaf)) > 0)
            nl_link_del(idx);
    }
    if ((idx = nl_ifindex(v->bridge)) > 0)
        nl_link_del(idx);
}
