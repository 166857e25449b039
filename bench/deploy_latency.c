/* Deploy latency: from the request to the VNF answering on its address,
 * through vnfmd, against the raw reference: the same program fork/exec'd by
 * hand into a fresh network namespace joined to the same bridge (namespace,
 * veth, address, exec, wait until it answers). Runs are interleaved so that
 * both see the same machine noise; medians and p90 are reported with their
 * ratio.
 *
 *   deploy_latency URL TOKEN BRIDGE GATEWAY PREFIX_LEN VNF_DEMO [RUNS]
 *
 * When the site keeps warm VIs (proc VIM option warm_vis), each raw run
 * waits until vnfmd has made them all again, so that the reference is not
 * measured while vnfmd makes namespaces in the background.
 */
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"
#include "vim/proc/netlink.h"
#include "vim/proc/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

static const char *url, *token, *bridge, *demo;
static uint32_t gateway, raw_ip;
static unsigned plen;

/* Milliseconds on the monotonic clock, to the microsecond. */
static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One attempt, as a health poller does it: non-blocking connect, 2 ms at
 * most (a blocking connect would wait out the kernel's 1 s SYN retransmit
 * when its first SYN leaves before the address exists). */
static bool answers(uint32_t ip)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(8080), .sin_addr.s_addr = htonl(ip)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 1;
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t len = sizeof(err);

    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        err = 0;
    else if (errno == EINPROGRESS && poll(&p, 1, 2) == 1)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    close(fd);
    return err == 0;
}

/* Waits until ip answers; a benchmark that cannot complete says so. */
static void wait_answer(uint32_t ip)
{
    double deadline = now_ms() + 30000;

    while (!answers(ip)) {
        if (now_ms() > deadline) {
            char buf[IP4_STR_MAX];

            fprintf(stderr, "deploy_latency: %s did not answer within 30 s\n", ip4_fmt(ip, buf));
            exit(1);
        }
        usleep(100);
    }
}

static size_t collect(char *p, size_t s, size_t n, void *arg)
{
    fwrite(p, s, n, arg);
    return s * n;
}

static json_t *call(const char *method, const char *path, const char *body)
{
    char *u = xasprintf("%s%s", url, path), *auth = xasprintf("Authorization: Bearer %s", token);
    struct curl_slist *h =
        curl_slist_append(curl_slist_append(NULL, auth), "Content-Type: application/json");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    CURL *c = curl_easy_init();
    json_t *doc;

    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    fclose(mem);
    doc = json_loadb(buf, len, 0, NULL);
    free(buf);
    free(u);
    free(auth);
    return doc;
}

static void wait_op(const char *id)
{
    char *path = xasprintf("/v0/operations/%s", id);

    for (;;) {
        json_t *op = call("GET", path, NULL);
        bool done = op && strcmp(json_string_value(json_object_get(op, "state")), "processing");

        json_decref(op);
        if (done)
            break;
        usleep(2000);
    }
    free(path);
}

/* One deploy through vnfmd; returns ms from request to the VNF answering. */
static double via_vnfmd(int i)
{
    char body[128], path[64];
    double t0, t1, t2;
    uint32_t ip;
    json_t *op, *dep;
    double ms;

    snprintf(body, sizeof(body), "{\"name\":\"bench%d\",\"vnfd\":\"demo-web\"}", i);
    snprintf(path, sizeof(path), "/v0/deployments/bench%d", i);
    t0 = now_ms();
    op = call("POST", "/v0/deployments", body);
    t1 = now_ms();
    dep = call("GET", path, NULL);
    t2 = now_ms();
    ip4_parse(
        json_string_value(json_object_get(json_array_get(json_object_get(dep, "vis"), 0), "ip")),
        &ip);
    wait_answer(ip);
    ms = now_ms() - t0;
    if (ms > 50) /* an outlier: where did it go? */
        fprintf(stderr,
                "slow run %d: POST answered after %.1f ms, GET after %.1f, VNF after %.1f\n", i,
                t1 - t0, t2 - t0, ms);
    wait_op(json_string_value(json_object_get(op, "id")));
    json_decref(op);
    json_decref(dep);
    op = call("DELETE", path, NULL);
    wait_op(json_string_value(json_object_get(op, "id")));
    json_decref(op);
    return ms;
}

static int inside(void *arg)
{
    int lo = nl_ifindex("lo"), eth = nl_ifindex("eth0");

    (void)arg;
    nl_link_set(lo, true, 0);
    nl_addr_add(eth, raw_ip, plen);
    nl_link_set(eth, true, 0);
    return nl_route_default(gateway);
}

/* Whether every site has all its warm VIs ready (GET /v0/sites). */
static bool refilled(void)
{
    json_t *list = call("GET", "/v0/sites", NULL), *site;
    bool all = list != NULL;
    size_t i;

    json_array_foreach(json_object_get(list, "sites"), i, site)
    {
        json_t *w = json_object_get(site, "warm_vis");

        all = all && (!w || json_integer_value(json_object_get(w, "ready")) ==
                                json_integer_value(json_object_get(w, "target")));
    }
    json_decref(list);
    return all;
}

static void wait_refilled(void)
{
    double deadline = now_ms() + 10000;

    while (!refilled() && now_ms() < deadline)
        usleep(2000);
}

/* The reference: what one would do by hand, with no manager. */
static double raw(void)
{
    double t0 = now_ms();
    int fd, br = nl_ifindex(bridge);
    pid_t pid;
    char listen[64], ipbuf[IP4_STR_MAX];
    uint8_t mac[6] = {0x02, 0x76};
    double ms;

    /* the same MAC every run, as vnfmd gives its VIs: with a new one each
     * run the host may keep sending to the last run's for half a minute */
    for (int k = 0; k < 4; k++)
        mac[2 + k] = (uint8_t)(raw_ip >> (24 - 8 * k));
    /* Left by an interrupted run. */
    if (nl_ifindex("vhbenchraw") > 0)
        nl_link_del(nl_ifindex("vhbenchraw"));
    netns_delete("vnfmbench-raw");
    if (netns_create("vnfmbench-raw") || (fd = netns_open("vnfmbench-raw")) < 0 ||
        nl_veth_add("vhbenchraw", "eth0", fd, mac) ||
        nl_link_set(nl_ifindex("vhbenchraw"), true, br) || netns_run(fd, inside, NULL)) {
        fprintf(stderr, "deploy_latency: cannot set up the raw reference namespace\n");
        exit(1);
    }
    snprintf(listen, sizeof(listen), "%s:8080", ip4_fmt(raw_ip, ipbuf));
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        setns(fd, CLONE_NEWNET);
        dup2(null, 1);
        execl(demo, demo, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    wait_answer(raw_ip);
    ms = now_ms() - t0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(fd);
    nl_link_del(nl_ifindex("vhbenchraw")); /* at once: a namespace is torn down lazily */
    netns_delete("vnfmbench-raw");
    return ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[(int)(p * (n - 1) + 0.5)];
}

int main(int argc, char **argv)
{
    int runs = argc > 7 ? atoi(argv[7]) : 30;
    double *r, *v;

    if (argc < 7 || ip4_parse(argv[4], &gateway) || runs < 1) {
        fprintf(stderr,
                "usage: deploy_latency URL TOKEN BRIDGE GATEWAY PREFIX_LEN VNF_DEMO [RUNS]\n");
        return 2;
    }
    url = argv[1];
    token = argv[2];
    bridge = argv[3];
    plen = (unsigned)atoi(argv[5]);
    demo = argv[6];
    raw_ip = gateway + 200; /* outside what the manager allocates in a test run */
    r = xcalloc((size_t)runs, sizeof(double));
    v = xcalloc((size_t)runs, sizeof(double));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < runs; i++) {
        wait_refilled();
        r[i] = raw();
        v[i] = via_vnfmd(i);
    }
    printf("runs: %d (interleaved)\n", runs);
    printf("raw fork/exec in a fresh netns:   median %6.1f ms  p90 %6.1f ms\n", pct(r, runs, 0.5),
           pct(r, runs, 0.9));
    printf("vnfmd deploy, POST to answering: median %6.1f ms  p90 %6.1f ms\n", pct(v, runs, 0.5),
           pct(v, runs, 0.9));
    printf("ratio of medians (vnfmd / raw):   %.2f\n", pct(v, runs, 0.5) / pct(r, runs, 0.5));
    free(r);
    free(v);
    return 0;
}
