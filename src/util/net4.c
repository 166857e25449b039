#include "util/net4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

uint32_t ip4_mask(unsigned prefix_len)
{
    return prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
}

int ip4_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *ip = ntohl(a.s_addr);
    return 0;
}

char *ip4_fmt(uint32_t ip, char *buf)
{
    struct in_addr a = {htonl(ip)};

    inet_ntop(AF_INET, &a, buf, IP4_STR_MAX);
    return buf;
}

int cidr_parse(const char *s, uint32_t *net, unsigned *prefix_len)
{
    const char *slash = strchr(s, '/');
    char addr[IP4_STR_MAX];
    unsigned long p;
    uint32_t ip;
    char *end;

    if (!slash || (size_t)(slash - s) >= sizeof(addr))
        return -EINVAL;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    p = strtoul(slash + 1, &end, 10);
    if (*end || slash[1] == '\0' || p < 8 || p > 30 || ip4_parse(addr, &ip))
        return -EINVAL;
    if (ip & ~ip4_mask((unsigned)p))
        return -EINVAL;
    *net = ip;
    *prefix_len = (unsigned)p;
    return 0;
}

static bool port_free(const struct sockaddr_in *at, unsigned port, unsigned *got)
{
    struct sockaddr_in a = *at;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    a.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
         getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    if (ok)
        *got = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return ok;
}

unsigned ip4_free_port(const char *host)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    unsigned low = 32768, high = 60999, port = 0, draw[64];
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

    if (f) {
        if (fscanf(f, "%u %u", &low, &high) != 2 || low <= 10000)
            low = 32768;
        fclose(f);
    }
    if (inet_pton(AF_INET, strcmp(host, "0.0.0.0") ? host : "127.0.0.1", &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* from the kernel's generator: two calls of one process within a second draw
     * different ports (a seed of pid and time once gave two managers started together
     * one port) */
    if (getrandom(draw, sizeof(draw), 0) != (ssize_t)sizeof(draw))
        return port_free(&a, 0, &port) ? port : 0;
    for (int i = 0; i < 64; i++) {
        unsigned p = 10000 + draw[i] % (low - 10000);

        if (port_free(&a, p, &port))
            return port;
    }
    return port_free(&a, 0, &port) ? port : 0;
}
