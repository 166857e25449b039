/* The VIM driver contract (src/vim/vim.h), run against the real drivers:
 * the proc driver makes real namespaces, veths, cgroups and processes (the
 * tests run as root), so every case cleans up after itself. */
#include "unit.h"

#include "util/fsutil.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/net4.h"
#include "vim/vim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

/* ---- a site of the proc driver ---- */

struct env {
    char tag[8], bridge[16], site[16];
    char *dir;
    uint32_t net;
    struct vim_site vs;
    json_t *options;
    const struct vim_ops *ops;
    void *vim;
};

/* A /24 of 10.200.0.0/13 that no interface of the host uses yet. */
static uint32_t free_subnet(void)
{
    for (;;) {
        uint32_t net =
            (10u << 24) | ((200u + (unsigned)random() % 8) << 16) | ((unsigned)random() % 256) << 8;
        char cmd[96], ip[IP4_STR_MAX];

        snprintf(cmd, sizeof(cmd), "ip -4 addr | grep -q ' %.*s'",
                 (int)strlen(ip4_fmt(net, ip)) - 1, ip);
        if (system(cmd) != 0)
            return net;
    }
}

static int env_setup(void **state)
{
    struct env *e = xcalloc(1, sizeof(*e));
    struct vim_err err = {""};

    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    id_random(e->tag, "", 6);
    snprintf(e->bridge, sizeof(e->bridge), "vb%s0", e->tag);
    snprintf(e->site, sizeof(e->site), "ct");
    e->dir = test_tmpdir();
    e->net = free_subnet();
    e->options = json_pack("{s:i}", "warm_vis", 0);
    e->vs = (struct vim_site){.name = e->site,
                              .tag = e->tag,
                              .data_dir = e->dir,
                              .bridge = e->bridge,
                              .gateway = e->net + 1,
                              .prefix_len = 24,
                              .options = e->options};
    e->ops = vim_driver_find("proc");
    assert_non_null(e->ops);
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    char cmd[64];

    if (e->vim)
        e->ops->close(e->vim);
    snprintf(cmd, sizeof(cmd), "ip link delete %s 2>/dev/null", e->bridge);
    if (system(cmd)) {
        /* already gone */
    }
    json_decref(e->options);
    test_rmdir(e->dir);
    free(e);
    return 0;
}

/* One VI of the test site: its spec and the memory behind it. */
struct vi {
    struct vi_spec spec;
    char *workdir;
    char *argv[4], *envp[2];
};

static void vi_init(struct env *e, struct vi *v, unsigned host, const char *cmd)
{
    memset(v, 0, sizeof(*v));
    id_random(v->spec.id, "", 10);
    snprintf(v->spec.name, sizeof(v->spec.name), "ct/vdu/%u", host);
    v->workdir = xasprintf("%s/vi/%s", e->dir, v->spec.id);
    assert_int_equal(mkdir_p(v->workdir, 0750), 0);
    v->argv[0] = "/bin/sh";
    v->argv[1] = "-c";
    v->argv[2] = (char *)cmd;
    v->envp[0] = "PATH=/usr/bin:/bin";
    v->spec.workdir = v->workdir;
    v->spec.argv = v->argv;
    v->spec.envp = v->envp;
    v->spec.vcpu_milli = 200;
    v->spec.memory_bytes = 32u << 20;
    v->spec.n_nics = 1;
    snprintf(v->spec.nics[0].bridge, sizeof(v->spec.nics[0].bridge), "%s", e->bridge);
    snprintf(v->spec.nics[0].ifname, sizeof(v->spec.nics[0].ifname), "eth0");
    v->spec.nics[0].addr = e->net + host;
    v->spec.nics[0].prefix_len = 24;
    v->spec.nics[0].gateway = e->net + 1;
}

static void vi_done(struct vi *v)
{
    free(v->workdir);
}

static void vi_up(struct env *e, struct vi *v, struct vi_handle *h)
{
    struct vim_err err = {""};

    assert_int_equal(e->ops->create(e->vim, &v->spec, &err), 0);
    assert_int_equal(e->ops->start(e->vim, &v->spec, h, &err), 0);
}

static void vi_gone(struct env *e, struct vi_handle *h)
{
    struct vim_err err = {""};

    assert_int_equal(e->ops->destroy(e->vim, h, &err), 0);
}

/* Runs a shell command; true when it exits 0. */
static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd) == 0;
}

/* Whether the host reaches addr: a TCP connection to a port nobody listens
 * on is refused by the VI's kernel. */
static bool reachable(uint32_t addr)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(addr)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t len = sizeof(err);

    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        err = errno;
    else if (poll(&p, 1, 2000) != 1)
        err = ETIMEDOUT;
    else
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    close(fd);
    return err == 0 || err == ECONNREFUSED;
}

/* ---- proc driver: its own findings ---- */

/* Issue 10 finding 4: the child's stack is unmapped with the sanitizer's
 * redzones of its frames still poisoned, and whatever is mapped there next
 * (SQLite's memory, once in 300 kill points) reads as a stack overflow. */
static void proc_child_stack_is_clean(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < 3; i++) {
        struct vi v;
        struct vi_handle h;
        char *p;

        vi_init(e, &v, 10 + i, "exec sleep 100");
        vi_up(e, &v, &h);
        /* the region just unmapped is what the kernel hands out next */
        p = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(p != MAP_FAILED);
        memset(p, 1, 64 * 1024);
        munmap(p, 64 * 1024);
        vi_gone(e, &h);
        vi_done(&v);
    }
}

/* Issue 10 findings 13 and 19: the host's entry of a VI and the VI's entry
 * of its gateway are permanent (not flushed when the bridge's carrier drops
 * as its last port goes, not counted against gc_thresh3), and the bridge's
 * MAC, the gateway's, does not change with its ports. */
static void proc_neighbours_are_permanent(void **state)
{
    struct env *e = *state;
    char ip[IP4_STR_MAX], gw[IP4_STR_MAX], mac[32];
    struct vi a, b;
    struct vi_handle ha, hb;

    snprintf(mac, sizeof(mac), "02:76:%02x:%02x:%02x:01", e->net >> 24, (e->net >> 16) & 0xff,
             (e->net >> 8) & 0xff);
    assert_true(sh("ip -br link show %s | grep -q ' %s '", e->bridge, mac));
    vi_init(e, &a, 20, "exec sleep 100");
    vi_up(e, &a, &ha);
    ip4_fmt(e->net + 20, ip);
    ip4_fmt(e->net + 1, gw);
    assert_true(sh("ip netns exec vnfm-%s-%s ip neigh show %s | grep -q 'lladdr %s PERMANENT'",
                   e->tag, a.spec.id, gw, mac));
    /* the only port goes, the bridge's carrier drops; a VI comes at once */
    vi_gone(e, &ha);
    vi_init(e, &b, 21, "exec sleep 100");
    vi_up(e, &b, &hb);
    ip4_fmt(e->net + 21, ip);
    usleep(1500 * 1000); /* the kernel's link events come up to a second late */
    assert_true(sh("ip neigh show %s dev %s | grep -q PERMANENT", ip, e->bridge));
    assert_true(sh("ip -br link show %s | grep -q ' %s '", e->bridge, mac));
    assert_true(reachable(e->net + 21));
    vi_gone(e, &hb);
    vi_done(&a);
    vi_done(&b);
}

/* A bridge has at most 1023 ports: past them a VI goes to a leaf bridge
 * hung off the site's, and still reaches the gateway. */
static void proc_full_bridge_grows_a_leaf(void **state)
{
    struct env *e = *state;
    char batch[64];
    struct vi v;
    struct vi_handle h;
    FILE *f;

    snprintf(batch, sizeof(batch), "%s/dummies", e->dir);
    f = fopen(batch, "w");
    for (unsigned i = 0; i < 960; i++)
        fprintf(f, "link add vd%s%u type veth peer name ve%s%u\nlink set vd%s%u master %s\n",
                e->tag, i, e->tag, i, e->tag, i, e->bridge);
    fclose(f);
    assert_true(sh("ip -batch %s", batch));
    vi_init(e, &v, 30, "exec sleep 100");
    vi_up(e, &v, &h);
    assert_true(sh("ip -br link show master %sl1 | grep -q vh%s", e->bridge, v.spec.id));
    assert_true(reachable(e->net + 30));
    vi_gone(e, &h);
    vi_done(&v);
    f = fopen(batch, "w");
    for (unsigned i = 0; i < 960; i++)
        fprintf(f, "link del vd%s%u\n", e->tag, i);
    fclose(f);
    assert_true(sh("ip -batch %s", batch));
}

/* A stopping manager removes the site's bridges once no VI is plugged in
 * (issue 10 finding 11: a later manager on the subnet found it taken). */
static void proc_close_removes_an_empty_bridge(void **state)
{
    struct env *e = *state;
    struct vim_err err = {""};
    struct vi v;
    struct vi_handle h;

    vi_init(e, &v, 40, "exec sleep 100");
    vi_up(e, &v, &h);
    e->ops->close(e->vim); /* a VI runs: the bridge stays */
    e->vim = NULL;
    assert_true(sh("ip link show %s >/dev/null 2>&1", e->bridge));
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    vi_gone(e, &h);
    e->ops->close(e->vim);
    e->vim = NULL;
    assert_false(sh("ip link show %s >/dev/null 2>&1", e->bridge));
    assert_false(sh("ip link show %sl1 >/dev/null 2>&1", e->bridge));
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    vi_done(&v);
}

int main(void)
{
    const struct CMUnitTest proc_tests[] = {
        cmocka_unit_test(proc_child_stack_is_clean),
        cmocka_unit_test(proc_neighbours_are_permanent),
        cmocka_unit_test(proc_full_bridge_grows_a_leaf),
        cmocka_unit_test(proc_close_removes_an_empty_bridge),
    };

    return cmocka_run_group_tests_name("proc driver", proc_tests, env_setup, env_teardown);
}
