/* wan-delay: a WAN for test topologies, where the kernel has no netem.
 *
 *   wan-delay [--delay-ms MS] [--loss PERCENT] [--queue-kib KIB] IF_A IF_B
 *
 * Joins two network interfaces as a layer-2 delay line: every frame that
 * arrives on one is sent on the other MS milliseconds later, in the order
 * they came, both ways. Run it in a network namespace of its own holding
 * one end of each of two veth pairs (scripts/hybrid, tests/bb/vnfm.py
 * Wan): the hosts on the other ends see one link whose round trip is
 * twice MS, and setting either outer end down still cuts it.
 *
 * Frames are read and sent with their virtio-net header (PACKET_VNET_HDR),
 * so a veth's segmentation offloads pass through whole: a 64 KiB TCP
 * segment is one frame here, cut to the MTU by the kernel after it. With
 * --loss, that share of frames (each direction, at random) is dropped on
 * arrival. Each direction holds at most KIB of frames waiting (default
 * 16384); a frame beyond it is dropped, as a router's full queue does.
 *
 * It runs at a real-time priority when it may (SCHED_FIFO 10): a line
 * that waits for a core behind the host's other work delays frames by
 * more than asked, and TCP then sends them again (a loaded CI machine saw
 * 3% of a connection's segments sent twice over a 5 ms line).
 *
 * Prints "ready" once both interfaces are bound, and the frames carried
 * and dropped when it ends (SIGTERM, SIGINT). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (65536 + sizeof(struct virtio_net_hdr))
#define SOCK_BUF  (4 << 20)

struct frame {
    struct frame *next;
    uint64_t due_ns;
    size_t len;
    unsigned char data[];
};

/* One direction: frames read from `in`, sent on `out` when due. */
struct line {
    const char *from, *to;
    int in, out;
    struct frame *head, *tail;
    size_t queued, queue_max;
    unsigned long long carried, lost, overflow, failed;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "wan-delay: %s %s: %s\n", what, arg, strerror(errno));
    exit(1);
}

/* A packet socket bound to interface name: frames arriving there, with
 * their virtio-net header; our own sends are not read back. */
static int open_if(const char *name)
{
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
    struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};
    int one = 1, buf = SOCK_BUF;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));

    if (fd < 0)
        die("cannot open a packet socket for", name);
    sll.sll_ifindex = (int)if_nametoindex(name);
    if (!sll.sll_ifindex)
        die("no interface", name);
    mr.mr_ifindex = sll.sll_ifindex;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
        setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
        die("cannot set up the packet socket of", name);
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
        die("cannot bind to", name);
    return fd;
}

/* Reads what arrived on l->in into its queue, each frame due delay_ns on. */
static void take(struct line *l, uint64_t delay_ns, double loss)
{
    static unsigned char buf[FRAME_MAX];

    for (;;) {
        ssize_t n = recv(l->in, buf, sizeof(buf), MSG_TRUNC);
        struct frame *f;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return; /* EAGAIN: all read; another error: the next readiness says */
        if ((size_t)n > sizeof(buf) || (size_t)n <= sizeof(struct virtio_net_hdr)) {
            l->failed++;
            continue;
        }
        if (loss > 0 && drand48() * 100 < loss) {
            l->lost++;
            continue;
        }
        if (l->queued + (size_t)n > l->queue_max) {
            l->overflow++;
            continue;
        }
        f = malloc(sizeof(*f) + (size_t)n);
        if (!f) {
            l->overflow++;
            continue;
        }
        f->next = NULL;
        f->due_ns = now_ns() + delay_ns;
        f->len = (size_t)n;
        memcpy(f->data, buf, (size_t)n);
        if (l->tail)
            l->tail->next = f;
        else
            l->head = f;
        l->tail = f;
        l->queued += f->len;
    }
}

/* Sends the frames of l that are due by now. */
static void send_due(struct line *l, uint64_t now)
{
    struct frame *f;

    while ((f = l->head) && f->due_ns <= now) {
        if (send(l->out, f->data, f->len, 0) == (ssize_t)f->len)
            l->carried++;
        else
            l->failed++; /* the link is down, or its queue full: lost on the wire */
        l->head = f->next;
        if (!l->head)
            l->tail = NULL;
        l->queued -= f->len;
        free(f);
    }
}

/* The timer at the first frame due, or off when none waits. */
static void arm(int tfd, const struct line *lines, int n)
{
    struct itimerspec its = {0};
    uint64_t due = 0;

    for (int i = 0; i < n; i++) {
        if (lines[i].head && (!due || lines[i].head->due_ns < due))
            due = lines[i].head->due_ns;
    }
    if (due) {
        its.it_value.tv_sec = (time_t)(due / 1000000000u);
        its.it_value.tv_nsec = (long)(due % 1000000000u);
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL))
        die("cannot set the timer", "");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: wan-delay [--delay-ms MS] [--loss PERCENT] [--queue-kib KIB] IF_A IF_B\n"
                 "Carries every frame arriving on IF_A to IF_B, and on IF_B to IF_A, MS\n"
                 "milliseconds later (default 0), dropping PERCENT of them at random\n"
                 "(default 0) and those beyond KIB waiting in a direction (default 16384).\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"delay-ms", required_argument, NULL, 'd'},
                                         {"loss", required_argument, NULL, 'l'},
                                         {"queue-kib", required_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    double delay_ms = 0, loss = 0, queue_kib = 16384;
    struct line lines[2];
    struct epoll_event ev;
    sigset_t sigs;
    int c, ep, tfd, sfd, a, b;
    char *end;

    while ((c = getopt_long(argc, argv, "d:l:q:h", opts, NULL)) != -1) {
        double *to = c == 'd' ? &delay_ms : c == 'l' ? &loss : c == 'q' ? &queue_kib : NULL;
        double min = c == 'q' ? 64 : 0, max = c == 'd' ? 60000 : c == 'l' ? 100 : 1 << 22;

        if (!to) {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
        *to = strtod(optarg, &end);
        if (*end || !(*to >= min && *to <= max)) {
            fprintf(stderr, "wan-delay: -%c %s: not a number from %g to %g\n", c, optarg, min, max);
            return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    a = open_if(argv[optind]);
    b = open_if(argv[optind + 1]);
    lines[0] = (struct line){.from = argv[optind], .to = argv[optind + 1], .in = a, .out = b};
    lines[1] = (struct line){.from = argv[optind + 1], .to = argv[optind], .in = b, .out = a};
    lines[0].queue_max = lines[1].queue_max = (size_t)(queue_kib * 1024);
    srand48((long)now_ns());
    if (sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){.sched_priority = 10}))
        fprintf(stderr, "wan-delay: no real-time priority (%s): frames may wait for a core\n",
                strerror(errno));

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || tfd < 0 || ep < 0)
        die("cannot make the event loop", "");
    for (int i = 0, fds[] = {a, b, tfd, sfd}; i < 4; i++) {
        ev = (struct epoll_event){.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
            die("cannot watch", "a descriptor");
    }
    printf("ready: %s <-> %s, %g ms each way, %g%% loss\n", lines[0].from, lines[0].to, delay_ms,
           loss);
    fflush(stdout);

    for (bool run = true; run;) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, -1);
        uint64_t ticks;

        if (n < 0 && errno != EINTR)
            die("epoll_wait", "");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == sfd)
                run = false;
            else if (evs[i].data.fd == tfd && read(tfd, &ticks, sizeof(ticks)) < 0 &&
                     errno != EAGAIN)
                die("cannot read the timer", "");
        }
        for (int i = 0; i < 2; i++) {
            take(&lines[i], (uint64_t)(delay_ms * 1e6), loss);
            send_due(&lines[i], now_ns());
        }
        arm(tfd, lines, 2);
    }
    for (int i = 0; i < 2; i++) {
        for (struct frame *f = lines[i].head, *next; f; f = next) { /* never sent */
            next = f->next;
            free(f);
        }
        printf("%s -> %s: %llu frames carried, %llu lost at random, %llu over the queue, "
               "%llu failed\n",
               lines[i].from, lines[i].to, lines[i].carried, lines[i].lost, lines[i].overflow,
               lines[i].failed);
    }
    return 0;
}
