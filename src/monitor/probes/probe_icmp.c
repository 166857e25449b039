/* ICMP echo (RFC 792) over a raw socket: asynchronous, on the scheduler's
 * loop. Each probe has a socket of its own, connected to the target so
 * that the kernel hands it only that address's packets, and filtered to
 * echo replies; the value is the round trip time in ms. */
#include "monitor/probes/probe.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct icmp_priv {
    uv_poll_t poll;
    int fd;
    uint16_t id;
    struct probe_call *call;
};

static atomic_uint next_id;

/* RFC 1071 */
static uint16_t checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;

    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len)
        sum += (uint32_t)(p[0] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static void icmp_closed(uv_handle_t *h)
{
    struct icmp_priv *p = h->data;

    close(p->fd);
    free(p);
}

static void icmp_end(struct icmp_priv *p)
{
    struct probe_call *call = p->call;

    p->call = NULL;
    if (call) {
        call->priv = NULL;
        probe_call_done(call);
    }
    if (!uv_is_closing((uv_handle_t *)&p->poll))
        uv_close((uv_handle_t *)&p->poll, icmp_closed);
}

/* Whether pkt (IP header and all) is the echo reply we wait for. */
static bool is_our_reply(const struct icmp_priv *p, const uint8_t *pkt, ssize_t n)
{
    const struct iphdr *ip = (const struct iphdr *)pkt;
    const struct icmphdr *ic;

    if (n < (ssize_t)sizeof(*ip) || n < ip->ihl * 4 + (ssize_t)sizeof(*ic))
        return false;
    ic = (const struct icmphdr *)(pkt + ip->ihl * 4);
    return ic->type == ICMP_ECHOREPLY && ntohs(ic->un.echo.id) == p->id &&
           ntohs(ic->un.echo.sequence) == 1;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct icmp_priv *p = h->data;
    uint8_t buf[512];
    ssize_t n;

    (void)events;
    if (!p->call)
        return;
    if (status < 0) {
        probe_fail(p->call, "poll: %s", uv_strerror(status));
        icmp_end(p);
        return;
    }
    while ((n = recv(p->fd, buf, sizeof(buf), 0)) > 0) {
        if (is_our_reply(p, buf, n)) {
            p->call->res.ok = true;
            p->call->res.has_value = true;
            p->call->res.value = (double)(mono_us() - p->call->started_us) / 1000.0;
            icmp_end(p);
            return;
        }
    }
    if (n < 0 && errno != EAGAIN) {
        probe_fail(p->call, "receive: %s", strerror(errno));
        icmp_end(p);
    }
}

static int open_socket(struct probe_call *call)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(call->t->ip)};
    struct icmp_filter filt = {.data = ~(1u << ICMP_ECHOREPLY)};
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);

    if (fd < 0)
        return probe_fail(call, "raw socket: %s", strerror(errno));
    if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof(filt)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        probe_fail(call, "raw socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int icmp_start(struct probe_call *call)
{
    struct {
        struct icmphdr h;
        uint8_t payload[24];
    } echo = {0};
    struct icmp_priv *p;
    int fd;

    if (!call->t->ip)
        return probe_fail(call, "the VI has no address");
    fd = open_socket(call);
    if (fd < 0)
        return -1;
    p = xcalloc(1, sizeof(*p));
    p->fd = fd;
    p->call = call;
    p->id = (uint16_t)(atomic_fetch_add(&next_id, 1) + (unsigned)getpid());
    echo.h.type = ICMP_ECHO;
    echo.h.un.echo.id = htons(p->id);
    echo.h.un.echo.sequence = htons(1);
    memcpy(echo.payload, "vnfmd-icmp-probe", 16);
    echo.h.checksum = checksum(&echo, sizeof(echo));
    uv_poll_init(call->loop, &p->poll, fd);
    p->poll.data = p;
    call->priv = p;
    if (send(fd, &echo, sizeof(echo), 0) < 0) {
        probe_fail(call, "send: %s", strerror(errno));
        p->call = NULL;
        call->priv = NULL;
        uv_close((uv_handle_t *)&p->poll, icmp_closed);
        return -1;
    }
    uv_poll_start(&p->poll, UV_READABLE, on_readable);
    return 0;
}

static void icmp_cancel(struct probe_call *call)
{
    struct icmp_priv *p = call->priv;

    if (p)
        icmp_end(p);
    else
        probe_call_done(call);
}

const struct probe_ops probe_icmp_ops = {
    .name = "icmp",
    .keys = (const char *const[]){NULL},
    .start = icmp_start,
    .cancel = icmp_cancel,
};
