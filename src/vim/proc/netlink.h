/* A small rtnetlink client (rtnetlink(7)) for what the proc VIM needs:
 * bridges, veth pairs, addresses, routes. Each call works in the network
 * namespace of the calling thread (a netlink socket belongs to the
 * namespace it was created in). All return 0 or a negative errno. */
#ifndef VNFM_NETLINK_H
#define VNFM_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A NETLINK_ROUTE socket of the calling thread's namespace, or -errno. */
int nl_socket(void);
/* Makes the calling thread's calls use fd (from nl_socket(), possibly made
 * in another namespace, whose links they then act on); -1 goes back to a
 * socket of its own namespace per call. */
void nl_use(int fd);

/* Interface index by name, or -ENODEV. */
int nl_ifindex(const char *name);
/* How many links have master (a bridge's ports); the first max of their
 * indexes go into idx (which may be NULL). Read from the kernel, not from
 * /sys/class/net, which shows the namespace of whoever mounted /sys. */
int nl_link_ports(int master, int *idx, size_t max);
/* A bridge with the MAC address mac (6 bytes): a bridge without one of
 * its own takes the lowest of its ports', which changes as ports come and
 * go, and the hosts that cached the old one lose it. */
int nl_bridge_add(const char *name, const uint8_t *mac);
/* A veth pair: host in the caller's namespace, peer created directly in
 * the namespace of netns_fd (-1: the caller's too) with the MAC address
 * peer_mac (6 bytes; NULL = random). */
int nl_veth_add(const char *host, const char *peer, int netns_fd, const uint8_t *peer_mac);
/* Sets the link up (or down) and, when master > 0, plugs it into a bridge. */
int nl_link_set(int ifindex, bool up, int master);
int nl_link_del(int ifindex);
/* Gives a link a second name (an altname, ip-link(8)), by which it is
 * found as by its own; cheaper than a rename, which waits for RCU. */
int nl_link_altname(int ifindex, const char *name);
/* Sets the MAC address (6 bytes) of a link. */
int nl_link_set_mac(int ifindex, const uint8_t *mac);
/* Whether the link is administratively up; -ENODEV when it is missing. */
int nl_link_is_up(const char *name);
/* Adds addr/prefix_len (host byte order); an existing address is fine. */
int nl_addr_add(int ifindex, uint32_t addr, unsigned prefix_len);
/* Adds the default route via gw (host byte order); an existing one is fine. */
int nl_route_default(uint32_t gw);
/* Tells the neighbour cache of ifindex that addr is at mac, for good (a
 * permanent entry: no ARP, not flushed when the link's carrier drops, not
 * counted against the table's gc_thresh limits). */
int nl_neigh_set(int ifindex, uint32_t addr, const uint8_t *mac);
/* Removes that entry; a missing one is fine. */
int nl_neigh_del(int ifindex, uint32_t addr);

#endif
