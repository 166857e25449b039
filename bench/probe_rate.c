/* Probes per second per core: N TCP probe targets (a local listener) on the
 * monitoring scheduler, every target probed once per interval, for some
 * seconds. Reports the probes done, the rate, and the probes per CPU second
 * of the scheduler's thread (its cost on one core), against the reference:
 * a bare loop of non-blocking connects to the same listener on one thread
 * with epoll, measured the same way in the same run.
 *
 *   probe_rate [TARGETS [INTERVAL_MS [SECONDS]]]      (default 10000 1000 10)
 */
#include "monitor/probes/sched.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_fd;
static atomic_bool stop_listener;
static atomic_uint_least64_t answered;

/* The probe targets' peer: accepts and closes, on a thread of its own. */
static void *listener(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_listener)) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd >= 0) {
            close(fd);
            atomic_fetch_add(&answered, 1);
        }
    }
    return NULL;
}

static unsigned start_listener(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    pthread_t th;
    int one = 1;

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(listen_fd, 65535) ||
        getsockname(listen_fd, (struct sockaddr *)&sa, &len)) {
        perror("listener");
        exit(1);
    }
    pthread_create(&th, NULL, listener, NULL);
    pthread_detach(th);
    return ntohs(sa.sin_port);
}

static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_result(void *arg, const struct probe_result *r)
{
    (void)arg;
    (void)r;
}

struct adder {
    struct sched *s;
    unsigned n, interval_ms, port;
};

static void add_targets(void *arg)
{
    struct adder *a = arg;
    json_t *spec = json_pack("{s:s, s:i}", "probe", "tcp", "port", (int)a->port);

    for (unsigned i = 0; i < a->n; i++) {
        struct probe_target *t = xcalloc(1, sizeof(*t));

        t->ip = INADDR_LOOPBACK;
        snprintf(t->name, sizeof(t->name), "bench/%u", i);
        t->spec = json_incref(spec);
        sched_add(a->s, &probe_tcp_ops, t, a->interval_ms, 1000, 0, on_result, NULL);
    }
    json_decref(spec);
}

/* The reference: connect, wait for it with epoll, close; on one thread. */
static void reference(unsigned port, double seconds, double *rate, double *per_cpu)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ep = epoll_create1(EPOLL_CLOEXEC);
    double t0 = (double)mono_us() / 1e6, c0 = thread_cpu_s(), now;
    struct linger lg = {1, 0};
    uint64_t n = 0;

    do {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd}, out;

        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS) {
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            if (epoll_wait(ep, &out, 1, 1000) == 1)
                n++;
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        }
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        now = (double)mono_us() / 1e6;
    } while (now - t0 < seconds);
    *rate = (double)n / (now - t0);
    *per_cpu = (double)n / (thread_cpu_s() - c0);
    close(ep);
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    unsigned interval = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
    double seconds = argc > 3 ? atof(argv[3]) : 10, ref_rate, ref_cpu;
    struct sched_opts o = {.name = "bench-monitor", .pool_min = 1, .pool_max = 4};
    struct rlimit rl = {65536, 65536};
    struct sched_stats a, b;
    struct adder add;
    struct sched *s;
    double t0, t1;

    setrlimit(RLIMIT_NOFILE, &rl);
    add.port = start_listener();
    add.n = n;
    add.interval_ms = interval;
    s = sched_new(&o);
    add.s = s;
    sched_call(s, add_targets, &add);
    usleep(interval * 2000); /* past the start jitter: every target in its rhythm */
    sched_stats(s, &a);
    t0 = (double)mono_us() / 1e6;
    usleep((useconds_t)(seconds * 1e6));
    sched_stats(s, &b);
    t1 = (double)mono_us() / 1e6;
    sched_free(s);
    reference(add.port, seconds, &ref_rate, &ref_cpu);
    atomic_store(&stop_listener, true);
    printf("targets: %u TCP probe targets (a local listener), interval %u ms, %.0f s\n", n,
           interval, seconds);
    printf("vnfmd scheduler: %.0f probes/s (expected %.0f), %.0f failed, %llu overruns, "
           "%.2f CPU s -> %.0f probes per CPU second\n",
           (double)(b.probes - a.probes) / (t1 - t0), n * 1000.0 / interval,
           (double)(b.failures - a.failures), (unsigned long long)(b.overruns - a.overruns),
           (double)(b.loop_cpu_us - a.loop_cpu_us) / 1e6,
           (double)(b.probes - a.probes) / ((double)(b.loop_cpu_us - a.loop_cpu_us) / 1e6));
    printf("reference, bare epoll connect loop: %.0f probes/s on one thread -> %.0f probes per "
           "CPU second\n",
           ref_rate, ref_cpu);
    printf("ratio of probes per CPU second (vnfmd / reference): %.2f\n",
           ((double)(b.probes - a.probes) / ((double)(b.loop_cpu_us - a.loop_cpu_us) / 1e6)) /
               ref_cpu);
    return 0;
}
