#include "vim/proc/netlink.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_BUF      4096
#define NL_DUMP_BUF 32768 /* a dump answer is one or more links (about 1.5 KiB each) */

struct nlreq {
    union {
        struct nlmsghdr h;
        char buf[NL_BUF];
    };
};

/* Appends len zeroed bytes to the message; returns where they start. */
static void *put(struct nlreq *r, size_t len)
{
    char *p = r->buf + NLMSG_ALIGN(r->h.nlmsg_len);

    memset(p, 0, NLMSG_ALIGN(len));
    r->h.nlmsg_len = (uint32_t)(NLMSG_ALIGN(r->h.nlmsg_len) + NLMSG_ALIGN(len));
    return p;
}

static struct rtattr *attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = put(r, RTA_LENGTH(len));

    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    return a;
}

static struct rtattr *nest(struct nlreq *r, unsigned short type)
{
    return attr(r, type, NULL, 0);
}

static void nest_end(struct nlreq *r, struct rtattr *a)
{
    a->rta_len = (unsigned short)(r->buf + r->h.nlmsg_len - (char *)a);
}

static void init(struct nlreq *r, unsigned short type, unsigned short flags)
{
    memset(&r->h, 0, sizeof(r->h));
    r->h.nlmsg_len = NLMSG_LENGTH(0);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    r->h.nlmsg_seq = 1;
}

static __thread int used_fd = -1;

int nl_socket(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    return fd < 0 ? -errno : fd;
}

void nl_use(int fd)
{
    used_fd = fd;
}

static struct ifinfomsg *link_msg(struct nlreq *r, unsigned short type, unsigned short flags)
{
    struct ifinfomsg *ifi;

    init(r, type, flags);
    ifi = put(r, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    return ifi;
}

/* The IFLA_MASTER of a link in a RTM_NEWLINK answer; 0 without one. */
static int link_master(struct nlmsghdr *h)
{
    struct rtattr *a = IFLA_RTA(NLMSG_DATA(h));
    int len = (int)IFLA_PAYLOAD(h);

    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= sizeof(uint32_t))
            return (int)*(uint32_t *)RTA_DATA(a);
    return 0;
}

/* Sends the request and returns the kernel's answer to it (0 or -errno). */
static int talk(struct nlreq *r)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    char buf[NL_BUF];
    int fd = used_fd >= 0 ? used_fd : nl_socket(), ret = -EIO;
    ssize_t n;

    if (fd < 0)
        return fd;
    if (sendto(fd, r->buf, r->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        goto out;
    }
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                ret = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
                goto out;
            }
        }
    }
    ret = n < 0 ? -errno : -EIO;
out:
    if (fd != used_fd)
        close(fd);
    return ret;
}

/* The links whose master is master (a bridge's ports), by a dump of the
 * calling thread's namespace: the kernel filters on IFLA_MASTER (4.10 and
 * later), and each answer is checked again for an older one. */
int nl_link_ports(int master, int *idx, size_t max)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    uint32_t m = (uint32_t)master;
    int fd = nl_socket(), n = 0, ret = -EIO;
    char *buf = NULL;
    struct nlreq r;
    ssize_t len;

    if (fd < 0)
        return fd;
    link_msg(&r, RTM_GETLINK, NLM_F_DUMP);
    r.h.nlmsg_flags &= (unsigned short)~NLM_F_ACK;
    attr(&r, IFLA_MASTER, &m, sizeof(m));
    if (sendto(fd, r.buf, r.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        goto out;
    }
    buf = xmalloc(NL_DUMP_BUF);
    while ((len = recv(fd, buf, NL_DUMP_BUF, 0)) > 0) {
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                ret = n;
                goto out;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                ret = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
                goto out;
            }
            if (h->nlmsg_type == RTM_NEWLINK && link_master(h) == master) {
                if (idx && (size_t)n < max)
                    idx[n] = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
                n++;
            }
        }
    }
    ret = len < 0 ? -errno : -EIO;
out:
    free(buf);
    close(fd);
    return ret;
}

int nl_ifindex(const char *name)
{
    unsigned idx = if_nametoindex(name);

    return idx ? (int)idx : -ENODEV;
}

int nl_bridge_add(const char *name, const uint8_t *mac)
{
    struct nlreq r;
    struct rtattr *info;

    link_msg(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
    if (mac)
        attr(&r, IFLA_ADDRESS, mac, 6);
    info = nest(&r, IFLA_LINKINFO);
    attr(&r, IFLA_INFO_KIND, "bridge", 7);
    nest_end(&r, info);
    return talk(&r);
}

int nl_veth_add(const char *host, const char *peer, int netns_fd, const uint8_t *peer_mac)
{
    struct nlreq r;
    struct rtattr *info, *data, *pi;
    struct ifinfomsg *peer_ifi;
    uint32_t fd = (uint32_t)netns_fd;

    link_msg(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    attr(&r, IFLA_IFNAME, host, strlen(host) + 1);
    info = nest(&r, IFLA_LINKINFO);
    attr(&r, IFLA_INFO_KIND, "veth", 5);
    data = nest(&r, IFLA_INFO_DATA);
    pi = nest(&r, VETH_INFO_PEER);
    peer_ifi = put(&r, sizeof(*peer_ifi));
    peer_ifi->ifi_family = AF_UNSPEC;
    attr(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
    if (peer_mac)
        attr(&r, IFLA_ADDRESS, peer_mac, 6);
    if (netns_fd >= 0)
        attr(&r, IFLA_NET_NS_FD, &fd, sizeof(fd));
    nest_end(&r, pi);
    nest_end(&r, data);
    nest_end(&r, info);
    return talk(&r);
}

int nl_link_set(int ifindex, bool up, int master)
{
    struct nlreq r;
    struct ifinfomsg *ifi = link_msg(&r, RTM_NEWLINK, 0);
    uint32_t m = (uint32_t)master;

    ifi->ifi_index = ifindex;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    if (master > 0)
        attr(&r, IFLA_MASTER, &m, sizeof(m));
    return talk(&r);
}

int nl_link_del(int ifindex)
{
    struct nlreq r;
    struct ifinfomsg *ifi = link_msg(&r, RTM_DELLINK, 0);

    ifi->ifi_index = ifindex;
    return talk(&r);
}

int nl_link_altname(int ifindex, const char *name)
{
    struct nlreq r;
    struct ifinfomsg *ifi = link_msg(&r, RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL);
    struct rtattr *list;

    ifi->ifi_index = ifindex;
    list = nest(&r, IFLA_PROP_LIST | NLA_F_NESTED);
    attr(&r, IFLA_ALT_IFNAME, name, strlen(name) + 1);
    nest_end(&r, list);
    return talk(&r);
}

int nl_link_set_mac(int ifindex, const uint8_t *mac)
{
    struct nlreq r;
    struct ifinfomsg *ifi = link_msg(&r, RTM_NEWLINK, 0);

    ifi->ifi_index = ifindex;
    attr(&r, IFLA_ADDRESS, mac, 6);
    return talk(&r);
}

int nl_link_is_up(const char *name)
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

    if (fd < 0)
        return -errno;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : !!(ifr.ifr_flags & IFF_UP);
    close(fd);
    return r == -ENXIO ? -ENODEV : r;
}

int nl_addr_add(int ifindex, uint32_t addr, unsigned prefix_len)
{
    struct nlreq r;
    struct ifaddrmsg *ifa;
    uint32_t a = htonl(addr),
             bcast = htonl(addr | ~(prefix_len ? 0xffffffffu << (32 - prefix_len) : 0));
    int ret;

    init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    ifa = put(&r, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)ifindex;
    attr(&r, IFA_LOCAL, &a, sizeof(a));
    attr(&r, IFA_ADDRESS, &a, sizeof(a));
    attr(&r, IFA_BROADCAST, &bcast, sizeof(bcast));
    ret = talk(&r);
    return ret == -EEXIST ? 0 : ret;
}

int nl_route_default(uint32_t gw)
{
    struct nlreq r;
    struct rtmsg *rt;
    uint32_t g = htonl(gw);
    int ret;

    init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rt = put(&r, sizeof(*rt));
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    attr(&r, RTA_GATEWAY, &g, sizeof(g));
    ret = talk(&r);
    return ret == -EEXIST ? 0 : ret;
}

static struct ndmsg *neigh_msg(struct nlreq *r, unsigned short type, unsigned short flags,
                               int ifindex, uint32_t addr)
{
    struct ndmsg *nd;
    uint32_t a = htonl(addr);

    init(r, type, flags);
    nd = put(r, sizeof(*nd));
    nd->ndm_family = AF_INET;
    nd->ndm_ifindex = ifindex;
    attr(r, NDA_DST, &a, sizeof(a));
    return nd;
}

int nl_neigh_set(int ifindex, uint32_t addr, const uint8_t *mac)
{
    struct nlreq r;

    neigh_msg(&r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, addr)->ndm_state =
        NUD_PERMANENT;
    attr(&r, NDA_LLADDR, mac, 6);
    return talk(&r);
}

int nl_neigh_del(int ifindex, uint32_t addr)
{
    struct nlreq r;
    int ret;

    neigh_msg(&r, RTM_DELNEIGH, 0, ifindex, addr);
    ret = talk(&r);
    return ret == -ENOENT ? 0 : ret;
}
