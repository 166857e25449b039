/* IPv4 addresses in host byte order. */
#ifndef VNFM_NET4_H
#define VNFM_NET4_H

#include <stdint.h>

#define IP4_STR_MAX 16

/* "10.77.0.0/24" -> network address and prefix length; the host bits must be
 * zero and the prefix 8..30. Returns 0 or -EINVAL. */
int cidr_parse(const char *s, uint32_t *net, unsigned *prefix_len);
int ip4_parse(const char *s, uint32_t *ip);
/* Returns buf (IP4_STR_MAX bytes). */
char *ip4_fmt(uint32_t ip, char *buf);
uint32_t ip4_mask(unsigned prefix_len);
/* A TCP port free on host now, for a server to listen on a moment later
 * (0.0.0.0 is looked at as loopback), or 0. Taken at random below the
 * kernel's ephemeral range (net.ipv4.ip_local_port_range), so that no
 * outgoing connection takes it in between (an ephemeral one did, under
 * load, three times in a row: fed/mgr_move.c); the kernel's choice of an
 * ephemeral one when none is found there. */
unsigned ip4_free_port(const char *host);

#endif
