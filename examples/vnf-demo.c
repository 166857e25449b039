/* vnf-demo: a small VNF of our own. An HTTP/1.1 service that serves a
 * greeting and reports its own load (requests/s, sessions) for the
 * manager's monitoring, as JSON (/stats) and Prometheus text (/metrics).
 * Each worker thread has its own SO_REUSEPORT listener and epoll loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define REQ_MAX     8192
#define RATE_SLOTS  16
#define BURN_MAX_MS 1000

struct conn {
    int fd;
    size_t len;
    char buf[REQ_MAX];
};

/* Read by AddressSanitizer alone (the sanitizer build, make SAN=1): a VNF
 * runs in a memory cgroup of a few dozen MB, and ASan's quarantine of
 * freed memory (256 MB by default) grew past it under a client's steady
 * load (a connection is 8 KB): the kernel killed the VNF for it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=2";
}

static char greeting[256] = "hello";
static char instance[128] = "vnf-demo";
static atomic_ullong requests_total, sessions_total, burn_ms_total;
static atomic_llong active_sessions;
static atomic_ullong rate_count[RATE_SLOTS]; /* requests per second, by second % RATE_SLOTS */
static atomic_llong rate_second[RATE_SLOTS];
static time_t started;
static int stop_fd; /* eventfd: becomes readable on SIGTERM/SIGINT */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vnf-demo --listen ADDR:PORT [--config FILE] [--threads N]\n"
            "A small VNF: an HTTP service that reports its own load.\n\n"
            "Options:\n"
            "  --listen ADDR:PORT  address to serve on (required)\n"
            "  --config FILE       day-0 configuration: key=value lines; 'greeting' is used\n"
            "  --threads N         worker threads (default 2, at most %d)\n"
            "  --help              show this help\n\n"
            "Endpoints:\n"
            "  GET /          the greeting and the instance name (env VNFM_VI_NAME)\n"
            "  GET /healthz   200 ok\n"
            "  GET /stats     JSON: requests_total, requests_per_s_1s, requests_per_s_10s,\n"
            "                 active_sessions, sessions_total, uptime_s, cpu_burn_ms_total\n"
            "  GET /metrics   the same in Prometheus text format\n"
            "  GET /work?ms=N burns N ms of CPU (at most %d), for load tests\n\n"
            "The greeting comes from the config file, else the GREETING environment variable.\n"
            "SIGTERM or SIGINT stops it cleanly (exit status 0).\n",
            MAX_THREADS, BURN_MAX_MS);
}

static long long now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void count_request(void)
{
    long long s = now_s();
    unsigned slot = (unsigned)(s % RATE_SLOTS);

    atomic_fetch_add(&requests_total, 1);
    if (atomic_load(&rate_second[slot]) != s) {
        atomic_store(&rate_count[slot], 0);
        atomic_store(&rate_second[slot], s);
    }
    atomic_fetch_add(&rate_count[slot], 1);
}

/* Mean requests per second over the last n complete seconds. */
static double rate(unsigned n)
{
    long long s = now_s();
    unsigned long long sum = 0;

    for (unsigned i = 1; i <= n; i++) {
        unsigned slot = (unsigned)((s - i) % RATE_SLOTS);

        if (atomic_load(&rate_second[slot]) == s - (long long)i)
            sum += atomic_load(&rate_count[slot]);
    }
    return (double)sum / n;
}

static void burn(unsigned ms)
{
    struct timespec t0, t;
    volatile unsigned long x = 0;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i * i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    atomic_fetch_add(&burn_ms_total, ms);
}

static int reply(int fd, int status, const char *reason, const char *ctype, bool keep,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int reply(int fd, int status, const char *reason, const char *ctype, bool keep,
                 const char *fmt, ...)
{
    char body[4096], out[4600];
    va_list ap;
    int blen, n;

    va_start(ap, fmt);
    blen = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (blen >= (int)sizeof(body))
        blen = sizeof(body) - 1;
    n = snprintf(out, sizeof(out),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                 "Connection: %s\r\n\r\n%s",
                 status, reason, ctype, blen, keep ? "keep-alive" : "close", body);
    return send(fd, out, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int serve_stats(int fd, bool keep)
{
    return reply(fd, 200, "OK", "application/json", keep,
                 "{\"instance\":\"%s\",\"requests_total\":%llu,\"requests_per_s_1s\":%.1f,"
                 "\"requests_per_s_10s\":%.1f,\"active_sessions\":%lld,\"sessions_total\":%llu,"
                 "\"uptime_s\":%lld,\"cpu_burn_ms_total\":%llu}\n",
                 instance, atomic_load(&requests_total), rate(1), rate(10),
                 atomic_load(&active_sessions), atomic_load(&sessions_total),
                 (long long)(time(NULL) - started), atomic_load(&burn_ms_total));
}

static int serve_metrics(int fd, bool keep)
{
    return reply(fd, 200, "OK", "text/plain; version=0.0.4", keep,
                 "# HELP vnf_requests_total Requests served.\n"
                 "# TYPE vnf_requests_total counter\nvnf_requests_total %llu\n"
                 "# HELP vnf_requests_per_second Requests per second over the last 10 s.\n"
                 "# TYPE vnf_requests_per_second gauge\nvnf_requests_per_second %.1f\n"
                 "# HELP vnf_active_sessions Open client connections.\n"
                 "# TYPE vnf_active_sessions gauge\nvnf_active_sessions %lld\n"
                 "# HELP vnf_sessions_total Client connections accepted.\n"
                 "# TYPE vnf_sessions_total counter\nvnf_sessions_total %llu\n",
                 atomic_load(&requests_total), rate(10), atomic_load(&active_sessions),
                 atomic_load(&sessions_total));
}

/* Answers one request; returns -1 when the connection must close. */
static int handle(int fd, char *req, bool keep)
{
    char method[16], target[1024], *q;

    if (sscanf(req, "%15s %1023s HTTP/1.%*c", method, target) != 2) {
        reply(fd, 400, "Bad Request", "text/plain", false, "bad request\n");
        return -1;
    }
    count_request();
    q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(fd, 405, "Method Not Allowed", "text/plain", keep, "GET only\n");
    if (strcmp(target, "/") == 0)
        return reply(fd, 200, "OK", "text/plain", keep, "%s from %s\n", greeting, instance);
    if (strcmp(target, "/healthz") == 0)
        return reply(fd, 200, "OK", "text/plain", keep, "ok\n");
    if (strcmp(target, "/stats") == 0)
        return serve_stats(fd, keep);
    if (strcmp(target, "/metrics") == 0)
        return serve_metrics(fd, keep);
    if (strcmp(target, "/work") == 0) {
        long ms = q && strncmp(q, "ms=", 3) == 0 ? strtol(q + 3, NULL, 10) : 10;

        burn((unsigned)(ms < 0 ? 0 : ms > BURN_MAX_MS ? BURN_MAX_MS : ms));
        return reply(fd, 200, "OK", "text/plain", keep, "burned %ld ms\n", ms);
    }
    return reply(fd, 404, "Not Found", "text/plain", keep, "no such path\n");
}

static bool wants_close(const char *req)
{
    return strcasestr(req, "\nConnection: close") || strstr(req, "HTTP/1.0");
}

/* Reads what arrived and answers every complete request in it. */
static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
        char *end;

        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        while ((end = strstr(c->buf, "\r\n\r\n"))) {
            size_t used = (size_t)(end + 4 - c->buf);
            bool keep;

            *end = '\0';
            keep = !wants_close(c->buf);
            if (handle(c->fd, c->buf, keep) < 0 || !keep)
                return -1;
            memmove(c->buf, c->buf + used, c->len - used + 1);
            c->len -= used;
        }
        if (c->len >= sizeof(c->buf) - 1) {
            reply(c->fd, 431, "Request Header Fields Too Large", "text/plain", false, "too big\n");
            return -1;
        }
    }
}

static void close_conn(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
    atomic_fetch_sub(&active_sessions, 1);
}

static void accept_all(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
        struct conn *c;

        if (fd < 0)
            return;
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        atomic_fetch_add(&sessions_total, 1);
        atomic_fetch_add(&active_sessions, 1);
    }
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 1024) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct worker {
    pthread_t th;
    int lfd;
};

/* Tags in epoll data: the listener and the stop eventfd are told apart from
 * connections by these addresses. */
static char listener_tag, stop_tag;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag}, evs[64];

    epoll_ctl(ep, EPOLL_CTL_ADD, w->lfd, &ev);
    ev.data.ptr = &stop_tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);

        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &stop_tag)
                goto out;
            if (evs[i].data.ptr == &listener_tag)
                accept_all(ep, w->lfd);
            else if ((evs[i].events & (EPOLLHUP | EPOLLERR)) || on_readable(evs[i].data.ptr) < 0)
                close_conn(ep, evs[i].data.ptr);
        }
    }
out:
    close(ep);
    return NULL;
}

static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(arg, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;

    if (!colon || (size_t)(colon - arg) >= sizeof(host))
        return -1;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* key=value lines; prints what it read (the day-0 configuration). */
static void read_config(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];

    if (!f) {
        fprintf(stderr, "vnf-demo: cannot read config %s: %s\n", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');

        line[strcspn(line, "\r\n")] = '\0';
        if (!eq || line[0] == '#')
            continue;
        *eq = '\0';
        if (strcmp(line, "greeting") == 0)
            snprintf(greeting, sizeof(greeting), "%s", eq + 1);
        printf("config: %s=%s\n", line, strstr(line, "password") ? "(hidden)" : eq + 1);
    }
    fclose(f);
}

static void on_signal(int sig)
{
    uint64_t one = 1;

    (void)sig;
    if (write(stop_fd, &one, sizeof(one)) < 0)
        _exit(1);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct worker workers[MAX_THREADS];
    const char *listen_arg = NULL, *config = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen;
    int threads = 2, c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'l')
            listen_arg = optarg;
        else if (c == 'c')
            config = optarg;
        else if (c == 't')
            threads = atoi(optarg);
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!listen_arg || threads < 1 || threads > MAX_THREADS ||
        parse_listen(listen_arg, &ss, &sslen)) {
        fprintf(stderr, "vnf-demo: give --listen ADDR:PORT (and --threads 1..%d)\n", MAX_THREADS);
        return 2;
    }
    if (getenv("GREETING"))
        snprintf(greeting, sizeof(greeting), "%s", getenv("GREETING"));
    if (getenv("VNFM_VI_NAME"))
        snprintf(instance, sizeof(instance), "%s", getenv("VNFM_VI_NAME"));
    if (config)
        read_config(config);
    started = time(NULL);
    stop_fd = eventfd(0, EFD_CLOEXEC);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < threads; i++) {
        workers[i].lfd = listen_on(&ss, sslen);
        if (workers[i].lfd < 0) {
            fprintf(stderr, "vnf-demo: cannot listen on %s: %s\n", listen_arg, strerror(errno));
            return 1;
        }
    }
    printf("vnf-demo %s listening on %s with %d threads\n", instance, listen_arg, threads);
    fflush(stdout);
    for (int i = 0; i < threads; i++)
        pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
    for (int i = 0; i < threads; i++) {
        pthread_join(workers[i].th, NULL);
        close(workers[i].lfd);
    }
    printf("vnf-demo %s stopped after %llu requests\n", instance, atomic_load(&requests_total));
    return 0;
}
