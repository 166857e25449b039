/* The VIM driver contract (src/vim/vim.h), run against every driver: each
 * one makes, starts, stops, resizes, lists, adopts after a restart and
 * destroys VIs named after the instance tag and the VI id alone, and every
 * call is idempotent. The proc driver makes real namespaces, veths,
 * cgroups and processes (the tests run as root), so every case cleans up
 * after itself; its own findings follow the contract. */
#include "unit.h"

#include "util/fsutil.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/net4.h"
#include "vim/vim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* ---- a site of the driver under test ---- */

struct env {
    const char *driver;
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

static int env_setup(void **state, const char *driver, json_t *options)
{
    struct env *e = xcalloc(1, sizeof(*e));
    struct vim_err err = {""};

    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    e->driver = driver;
    id_random(e->tag, "", 6);
    snprintf(e->bridge, sizeof(e->bridge), "vb%s0", e->tag);
    snprintf(e->site, sizeof(e->site), "ct");
    e->dir = test_tmpdir();
    e->net = free_subnet();
    e->options = options;
    e->vs = (struct vim_site){.name = e->site,
                              .tag = e->tag,
                              .data_dir = e->dir,
                              .cmd_path = "",
                              .bridge = e->bridge,
                              .gateway = e->net + 1,
                              .prefix_len = 24,
                              .options = e->options};
    e->ops = vim_driver_find(driver);
    assert_non_null(e->ops);
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    *state = e;
    return 0;
}

static int proc_setup(void **state)
{
    return env_setup(state, "proc", json_pack("{s:i}", "warm_vis", 0));
}

static int sim_setup(void **state)
{
    return env_setup(state, "sim", json_pack("{s:i}", "seed", 7));
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

/* The driver closed and opened again: a restart of the manager. */
static void env_restart(struct env *e)
{
    struct vim_err err = {""};

    e->ops->close(e->vim);
    e->vim = NULL;
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
}

/* One VI of the test site: its spec, and what the core would record. */
struct vi {
    struct vi_spec spec;
    struct vi_handle h;
    json_t *ref;
};

static void vi_init(struct env *e, struct vi *v, unsigned host, const char *cmd)
{
    char ip[IP4_STR_MAX];

    memset(v, 0, sizeof(*v));
    id_random(v->spec.id, "", 10);
    snprintf(v->spec.name, sizeof(v->spec.name), "ct/vdu/%u", host);
    v->spec.vdu = json_pack("{s:[s, s, s]}", "command", "/bin/sh", "-c", cmd);
    v->spec.vars = json_pack("{s:s, s:s}", "vi.id", v->spec.id, "ip", ip4_fmt(e->net + host, ip));
    v->spec.files =
        json_pack("[[s, s], [s, s]]", "app.conf", "greeting=hello\n", "sub/deeper.conf", "x=1\n");
    v->spec.vcpu_milli = 200;
    v->spec.memory_bytes = 32u << 20;
    /* its own uid: one above vnfmd's default range, which no manager hands out */
    v->spec.uid = 1879113728u + (unsigned)getpid() % 4096;
    v->spec.n_nics = 1;
    snprintf(v->spec.nics[0].bridge, sizeof(v->spec.nics[0].bridge), "%s", e->bridge);
    snprintf(v->spec.nics[0].ifname, sizeof(v->spec.nics[0].ifname), "eth0");
    if (e->ops->addressing == VIM_ADDR_SITE)
        v->spec.nics[0].addr = e->net + host;
    v->spec.nics[0].prefix_len = 24;
    v->spec.nics[0].gateway = e->net + 1;
    snprintf(v->h.id, sizeof(v->h.id), "%s", v->spec.id);
}

static void vi_done(struct vi *v)
{
    json_decref((json_t *)v->spec.vdu);
    json_decref((json_t *)v->spec.vars);
    json_decref((json_t *)v->spec.files);
    json_decref(v->ref);
}

/* Records what a create() or start() returned, as the core does. */
static void keep(struct vi *v, struct vi_out *o)
{
    if (o->ref) {
        json_decref(v->ref);
        v->ref = o->ref;
        v->h.ref = o->ref;
    }
}

static int vi_create(struct env *e, struct vi *v, struct vi_out *o)
{
    struct vim_err err = {""};
    int r;

    memset(o, 0, sizeof(*o));
    r = e->ops->create(e->vim, &v->spec, o, &err);
    if (r == 0)
        keep(v, o);
    return r;
}

static int vi_start(struct env *e, struct vi *v)
{
    struct vim_err err = {""};
    struct vi_out o = {0};
    int r = e->ops->start(e->vim, &v->spec, &v->h, &o, &err);

    if (r == 0)
        keep(v, &o);
    return r;
}

static void vi_up(struct env *e, struct vi *v)
{
    struct vi_out o;

    assert_int_equal(vi_create(e, v, &o), 0);
    v->spec.fresh = true;
    assert_int_equal(vi_start(e, v), 0);
    v->spec.fresh = false;
}

static void vi_gone(struct env *e, struct vi *v)
{
    struct vim_err err = {""};

    assert_int_equal(e->ops->destroy(e->vim, &v->h, &err), 0);
}

static enum vi_run_state state_of(struct env *e, const struct vi_handle *h)
{
    struct vi_status st = {VI_ABSENT, -1};
    struct vim_err err = {""};

    assert_int_equal(e->ops->status(e->vim, h, &st, &err), 0);
    return st.state;
}

static bool listed(struct env *e, const char *id)
{
    struct vim_err err = {""};
    char **ids;
    size_t n;
    bool found = false;

    assert_int_equal(e->ops->list(e->vim, &ids, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        found = found || strcmp(ids[i], id) == 0;
    vim_ids_free(ids, n);
    return found;
}

/* ---- the contract ---- */

/* A VI's whole life, each call twice: what exists is made, what runs is
 * started, what is stopped stopped, what is gone destroyed, all with 0. */
static void contract_life_is_idempotent(void **state)
{
    struct env *e = *state;
    struct vim_err err = {""};
    struct vi_stats st;
    struct vi_out o;
    struct vi v;

    vi_init(e, &v, 10, "exec sleep 100");
    assert_int_equal(state_of(e, &v.h), VI_ABSENT);
    assert_int_equal(vi_create(e, &v, &o), 0);
    assert_int_equal(state_of(e, &v.h), VI_CREATED);
    assert_int_equal(vi_create(e, &v, &o), 0);
    assert_int_equal(state_of(e, &v.h), VI_CREATED);
    v.spec.fresh = true;
    assert_int_equal(vi_start(e, &v), 0);
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    if (e->ops->stats) {
        assert_int_equal(e->ops->stats(e->vim, &v.h, &st, &err), 0);
        assert_int_equal(st.memory_limit, 32u << 20);
    }
    if (e->ops->resize) {
        assert_int_equal(e->ops->resize(e->vim, &v.h, 400, 48u << 20, &err), 0);
        assert_int_equal(e->ops->stats(e->vim, &v.h, &st, &err), 0);
        assert_int_equal(st.memory_limit, 48u << 20);
    }
    assert_int_equal(e->ops->stop(e->vim, &v.h, 1000, &err), 0);
    assert_int_not_equal(state_of(e, &v.h), VI_RUNNING);
    assert_int_not_equal(state_of(e, &v.h), VI_ABSENT);
    assert_int_equal(e->ops->stop(e->vim, &v.h, 1000, &err), 0);
    v.spec.fresh = false; /* started again: its day-0 files are put in again */
    assert_int_equal(vi_start(e, &v), 0);
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    vi_gone(e, &v);
    assert_int_equal(state_of(e, &v.h), VI_ABSENT);
    vi_gone(e, &v);
    assert_false(listed(e, v.spec.id));
    vi_done(&v);
}

/* VIs outlive the manager: after a restart of the driver, status() of the
 * handle recorded before finds the VI running, and list() finds it. */
static void contract_adoption_after_a_restart(void **state)
{
    struct env *e = *state;
    struct vi v;

    vi_init(e, &v, 11, "exec sleep 100");
    vi_up(e, &v);
    env_restart(e);
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    assert_true(listed(e, v.spec.id));
    vi_gone(e, &v);
    vi_done(&v);
}

/* Names derive from the tag and the VI id alone: a VI whose reference was
 * lost (a crash between the call and the journal) is found by its id,
 * listed, and destroyed; one never made is destroyed too. */
static void contract_names_from_tag_and_id(void **state)
{
    struct env *e = *state;
    struct vi a, b, never;
    struct vi_out o;

    vi_init(e, &a, 12, "exec sleep 100");
    vi_init(e, &b, 13, "exec sleep 100");
    vi_init(e, &never, 14, "exec sleep 100");
    vi_up(e, &a);
    assert_int_equal(vi_create(e, &b, &o), 0);
    b.h.ref = NULL; /* the core never recorded it */
    env_restart(e);
    assert_true(listed(e, a.spec.id));
    assert_true(listed(e, b.spec.id));
    assert_int_equal(state_of(e, &b.h), VI_CREATED);
    vi_gone(e, &b);
    assert_false(listed(e, b.spec.id));
    assert_true(listed(e, a.spec.id));
    vi_gone(e, &never);
    vi_gone(e, &a);
    vi_done(&a);
    vi_done(&b);
    vi_done(&never);
}

/* Addresses: a driver that gives them reports distinct ones at create(). */
static void contract_addresses(void **state)
{
    struct env *e = *state;
    struct vi a, b;
    struct vi_out oa, ob;

    vi_init(e, &a, 15, "exec sleep 100");
    vi_init(e, &b, 16, "exec sleep 100");
    assert_int_equal(vi_create(e, &a, &oa), 0);
    assert_int_equal(vi_create(e, &b, &ob), 0);
    if (e->ops->addressing == VIM_ADDR_DRIVER) {
        assert_int_not_equal(oa.addr[0], 0);
        assert_int_not_equal(ob.addr[0], 0);
        assert_int_not_equal(oa.addr[0], ob.addr[0]);
    }
    vi_gone(e, &a);
    vi_gone(e, &b);
    vi_done(&a);
    vi_done(&b);
}

/* The end of what a VI runs is known: through its exit fd, or by asking
 * the driver whether it is ready (a VIM whose VIs the host cannot reach). */
static void contract_end_or_ready_is_known(void **state)
{
    struct env *e = *state;
    struct vim_err err = {""};
    struct vi v;
    int fd;

    assert_true(e->ops->exit_fd || e->ops->ready);
    vi_init(e, &v, 17, "exec sleep 100");
    vi_up(e, &v);
    if (e->ops->ready)
        assert_int_equal(e->ops->ready(e->vim, &v.h, 1000, &err), 0);
    if (e->ops->exit_fd) {
        struct pollfd p;

        fd = e->ops->exit_fd(e->vim, &v.h);
        assert_true(fd >= 0);
        p = (struct pollfd){fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 0), 0);
        assert_int_equal(e->ops->stop(e->vim, &v.h, 0, &err), 0);
        assert_int_equal(poll(&p, 1, 2000), 1);
        close(fd);
    }
    vi_gone(e, &v);
    vi_done(&v);
}

/* ---- the proc driver's own ---- */

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

/* Issue 10 finding 4: the child's stack is unmapped with the sanitizer's
 * redzones of its frames still poisoned, and whatever is mapped there next
 * (SQLite's memory, once in 300 kill points) reads as a stack overflow. */
static void proc_child_stack_is_clean(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < 3; i++) {
        struct vi v;
        char *p;

        vi_init(e, &v, 20 + i, "exec sleep 100");
        vi_up(e, &v);
        /* the region just unmapped is what the kernel hands out next */
        p = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(p != MAP_FAILED);
        memset(p, 1, 64 * 1024);
        munmap(p, 64 * 1024);
        vi_gone(e, &v);
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

    snprintf(mac, sizeof(mac), "02:76:%02x:%02x:%02x:01", e->net >> 24, (e->net >> 16) & 0xff,
             (e->net >> 8) & 0xff);
    assert_true(sh("ip -br link show %s | grep -q ' %s '", e->bridge, mac));
    vi_init(e, &a, 30, "exec sleep 100");
    vi_up(e, &a);
    ip4_fmt(e->net + 1, gw);
    assert_true(sh("ip netns exec vnfm-%s-%s ip neigh show %s | grep -q 'lladdr %s PERMANENT'",
                   e->tag, a.spec.id, gw, mac));
    /* the only port goes, the bridge's carrier drops; a VI comes at once */
    vi_gone(e, &a);
    assert_false(
        sh("ip neigh show %s dev %s | grep -q lladdr", ip4_fmt(e->net + 30, ip), e->bridge));
    vi_init(e, &b, 31, "exec sleep 100");
    vi_up(e, &b);
    ip4_fmt(e->net + 31, ip);
    usleep(1500 * 1000); /* the kernel's link events come up to a second late */
    assert_true(sh("ip neigh show %s dev %s | grep -q PERMANENT", ip, e->bridge));
    assert_true(sh("ip -br link show %s | grep -q ' %s '", e->bridge, mac));
    assert_true(reachable(e->net + 31));
    vi_gone(e, &b);
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
    FILE *f;

    snprintf(batch, sizeof(batch), "%s/dummies", e->dir);
    f = fopen(batch, "w");
    for (unsigned i = 0; i < 960; i++)
        fprintf(f, "link add vd%s%u type veth peer name ve%s%u\nlink set vd%s%u master %s\n",
                e->tag, i, e->tag, i, e->tag, i, e->bridge);
    fclose(f);
    assert_true(sh("ip -batch %s", batch));
    vi_init(e, &v, 32, "exec sleep 100");
    vi_up(e, &v);
    assert_true(sh("ip -br link show master %sl1 | grep -q vh%s", e->bridge, v.spec.id));
    assert_true(reachable(e->net + 32));
    vi_gone(e, &v);
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

    vi_init(e, &v, 40, "exec sleep 100");
    vi_up(e, &v);
    e->ops->close(e->vim); /* a VI runs: the bridge stays */
    e->vim = NULL;
    assert_true(sh("ip link show %s >/dev/null 2>&1", e->bridge));
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    vi_gone(e, &v);
    e->ops->close(e->vim);
    e->vim = NULL;
    assert_false(sh("ip link show %s >/dev/null 2>&1", e->bridge));
    assert_false(sh("ip link show %sl1 >/dev/null 2>&1", e->bridge));
    assert_int_equal(e->ops->open(&e->vs, &e->vim, &err), 0);
    vi_done(&v);
}

/* The VNF may put anything in its directory: the day-0 files and its
 * console are written without following a link it planted there (issue 10:
 * openat with O_NOFOLLOW on the directory's fd), and neither a symbolic
 * nor a hard link makes the manager write anywhere else. */
static void proc_day0_files_follow_no_link(void **state)
{
    struct env *e = *state;
    char *vdir, *victim, *text = NULL;
    struct vi v;

    vi_init(e, &v, 50, "exec sleep 100");
    vi_up(e, &v);
    vdir = xasprintf("%s/vi/%s", e->dir, v.spec.id);
    victim = xasprintf("%s/victim", e->dir);
    assert_int_equal(write_file_atomic(victim, "secret\n", 7, 0600, false), 0);
    assert_true(sh("mkdir -p %s.d", victim));
    /* what a VNF could leave for its next start */
    assert_true(sh("cd %s && rm -f app.conf console.log && rm -rf sub && ln -s %s app.conf && "
                   "ln -s %s.d sub && ln %s console.log",
                   vdir, victim, victim, victim));
    assert_int_equal(vi_start(e, &v), 0); /* a restart: the files again */
    assert_int_equal(read_file(victim, 4096, &text, NULL), 0);
    assert_string_equal(text, "secret\n");
    free(text);
    assert_false(sh("test -e %s.d/deeper.conf", victim));
    assert_true(sh("test -f %s/app.conf -a ! -L %s/app.conf", vdir, vdir));
    assert_true(sh("grep -q greeting=hello %s/app.conf", vdir));
    assert_true(sh("test -d %s/sub -a ! -L %s/sub -a -f %s/sub/deeper.conf", vdir, vdir, vdir));
    assert_true(sh("test \"$(stat -c %%h %s/console.log)\" = 1", vdir));
    assert_true(sh("test \"$(stat -c %%a %s/app.conf)\" = 600", vdir));
    /* the VNF's, as its directory and what is made for its files */
    assert_true(
        sh("test \"$(stat -c %%u:%%g %s %s/app.conf %s/sub %s/sub/deeper.conf | sort -u)\" = "
           "%u:%u",
           vdir, vdir, vdir, vdir, v.spec.uid, v.spec.uid));
    vi_gone(e, &v);
    assert_false(sh("test -e %s", vdir));
    assert_true(sh("test -f %s", victim));
    free(vdir);
    free(victim);
    vi_done(&v);
}

/* The VNF runs as its VI's uid, sandboxed (util/sandbox.h); adoption (the
 * status after a restart of the manager) takes a process of another uid
 * with the same pid and start time for gone (issue 10). */
static void proc_vnf_runs_as_its_uid(void **state)
{
    struct env *e = *state;
    json_t *other;
    struct vi v;
    pid_t pid;

    vi_init(e, &v, 51, "exec sleep 100");
    vi_up(e, &v);
    pid = (pid_t)json_integer_value(json_object_get(v.h.ref, "pid"));
    assert_true(sh("grep -q '^Uid:.%u.%u.%u.%u$' /proc/%d/status", v.spec.uid, v.spec.uid,
                   v.spec.uid, v.spec.uid, (int)pid));
    assert_true(sh("grep -q '^CapEff:.0000000000000000$' /proc/%d/status", (int)pid));
    assert_true(sh("grep -q '^NoNewPrivs:.1$' /proc/%d/status", (int)pid));
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    other = json_deep_copy(v.h.ref);
    json_object_set_new(other, "uid", json_integer(v.spec.uid + 1));
    v.h.ref = other;
    assert_int_not_equal(state_of(e, &v.h), VI_RUNNING);
    v.h.ref = v.ref;
    json_decref(other);
    vi_gone(e, &v);
    vi_done(&v);
}

/* Whether process pid has ended (gone, or a zombie nobody reaped yet). */
static bool ended(pid_t pid)
{
    char path[64], *text = NULL, *p;
    bool gone;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_file(path, 4096, &text, NULL))
        return true;
    p = strrchr(text, ')');
    gone = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    free(text);
    return gone;
}

/* A start whose journal a crash lost (the core has the reference create()
 * gave), then create() again after the restart, as a resumed operation
 * does: the process of the lost start is ended, the VI is made, not
 * running, and the start that follows is the only process in it. */
static void proc_create_again_ends_a_lost_start(void **state)
{
    struct env *e = *state;
    json_t *made;
    struct vi_out o;
    struct vi v;
    pid_t pid;

    vi_init(e, &v, 16, "exec sleep 100");
    assert_int_equal(vi_create(e, &v, &o), 0);
    made = json_incref(v.ref);
    v.spec.fresh = true;
    assert_int_equal(vi_start(e, &v), 0);
    pid = (pid_t)json_integer_value(json_object_get(v.ref, "pid"));
    assert_true(pid > 0 && !ended(pid));
    json_decref(v.ref); /* the start is not recorded */
    v.ref = made;
    v.h.ref = made;
    env_restart(e);
    assert_int_equal(vi_create(e, &v, &o), 0);
    assert_true(ended(pid));
    assert_int_equal(state_of(e, &v.h), VI_CREATED);
    assert_int_equal(vi_start(e, &v), 0);
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    vi_gone(e, &v);
    vi_done(&v);
}

static void manager_vi_init(struct env *e, struct vi *v, const char *cmd)
{
    vi_init(e, v, 0, "");
    json_decref((json_t *)v->spec.vdu);
    v->spec.vdu = json_pack("{s:[s, s, s]}", "command", "/bin/sh", "-c", cmd);
    id_random(v->spec.id, VIM_MANAGER_PREFIX, 6);
    snprintf(v->h.id, sizeof(v->h.id), "%s", v->spec.id);
    v->spec.n_nics = 0;
    v->spec.manager = true;
}

/* A manager VI (vim.h "Manager VIs"): only cgroups with its limits; the
 * manager's own process in them, as root in the host's network with its
 * output in the log; left out of list(); adopted after a restart; a start
 * of a running one is that one; stopped and removed like any VI. */
static void proc_manager_vi(void **state)
{
    struct env *e = *state;
    char *log = xasprintf("%s/manager.log", e->dir), *text = NULL;
    struct vim_err err = {""};
    struct vi_out o;
    struct vi v;
    pid_t pid;

    manager_vi_init(e, &v, "echo up; exec sleep 100");
    v.spec.log = log;
    vi_up(e, &v);
    pid = (pid_t)json_integer_value(json_object_get(v.h.ref, "pid"));
    assert_true(pid > 0);
    assert_true(sh("grep -qx %d /sys/fs/cgroup/pids/vnfm/%s/%s/cgroup.procs || grep -qx %d "
                   "/sys/fs/cgroup/vnfm/%s/%s/cgroup.procs",
                   (int)pid, e->tag, v.spec.id, (int)pid, e->tag, v.spec.id));
    assert_true(sh("grep -q '^Uid:.0.0.0.0$' /proc/%d/status", (int)pid));
    assert_true(sh("[ \"$(readlink /proc/%d/ns/net)\" = \"$(readlink /proc/%d/ns/net)\" ]",
                   (int)pid, (int)getpid())); /* the manager's network */
    for (int i = 0; i < 100 && (read_file(log, 4096, &text, NULL) || !strstr(text, "up")); i++) {
        free(text);
        text = NULL;
        usleep(20000);
    }
    assert_non_null(text);
    assert_non_null(strstr(text, "up"));
    free(text);
    assert_false(listed(e, v.spec.id));
    env_restart(e);
    assert_int_equal(state_of(e, &v.h), VI_RUNNING);
    assert_int_equal(vi_start(e, &v), 0);
    assert_int_equal(json_integer_value(json_object_get(v.h.ref, "pid")), pid);
    assert_int_equal(e->ops->stop(e->vim, &v.h, 1000, &err), 0);
    assert_true(ended(pid));
    vi_gone(e, &v);
    assert_int_equal(state_of(e, &v.h), VI_ABSENT);
    /* its command is an absolute path */
    json_decref((json_t *)v.spec.vdu);
    v.spec.vdu = json_pack("{s:[s]}", "command", "sleep");
    assert_int_equal(vi_create(e, &v, &o), 0);
    assert_int_equal(vi_start(e, &v), -EINVAL);
    vi_gone(e, &v);
    vi_done(&v);
    free(log);
}

/* Whether pid is in the cgroup of VI vi in every v1 controller the driver
 * uses (or in the unified hierarchy). */
static bool in_vi(struct env *e, pid_t pid, const char *vi)
{
    return sh("for c in cpu memory pids; do grep -qx %d /sys/fs/cgroup/$c/vnfm/%s/%s/cgroup.procs "
              "|| exit 1; done",
              (int)pid, e->tag, vi) ||
           sh("grep -qx %d /sys/fs/cgroup/vnfm/%s/%s/cgroup.procs", (int)pid, e->tag, vi);
}

/* claim(): a standby's process that entered a manager VI's cgroups (here
 * only one controller's, as a best-effort move may leave it) becomes the
 * VI's main process: in all of them, its status, stopped with the VI; the
 * VI it left is removed without it. */
static void proc_manager_vi_claim(void **state)
{
    struct env *e = *state;
    struct vim_err err = {""};
    struct vi_out o = {0};
    struct vi a, b, vnf;
    pid_t pa, pb;

    manager_vi_init(e, &a, "exec sleep 100");
    manager_vi_init(e, &b, "exec sleep 100");
    vi_up(e, &a);
    vi_up(e, &b);
    pa = (pid_t)json_integer_value(json_object_get(a.h.ref, "pid"));
    pb = (pid_t)json_integer_value(json_object_get(b.h.ref, "pid"));
    kill(pa, SIGKILL); /* a's manager dies; b's process takes it over */
    assert_true(
        sh("for i in $(seq 100); do [ -e /proc/%d ] || exit 0; sleep 0.02; done; exit 1", (int)pa));
    assert_true(sh("echo %d > /sys/fs/cgroup/pids/vnfm/%s/%s/cgroup.procs || echo %d > "
                   "/sys/fs/cgroup/vnfm/%s/%s/cgroup.procs",
                   (int)pb, e->tag, a.spec.id, (int)pb, e->tag, a.spec.id));
    assert_int_equal(e->ops->claim(e->vim, &a.h, pb, &o, &err), 0);
    assert_int_equal(o.pid, pb);
    assert_non_null(o.ref);
    keep(&a, &o);
    assert_true(in_vi(e, pb, a.spec.id));
    assert_int_equal(state_of(e, &a.h), VI_RUNNING);
    /* the VI it left goes without it (no reference: its cgroups are empty) */
    b.h.ref = NULL;
    vi_gone(e, &b);
    assert_false(ended(pb));
    /* a pid that does not run, a VNF's VI: refused */
    o = (struct vi_out){0};
    assert_int_equal(e->ops->claim(e->vim, &a.h, pa, &o, &err), -ESRCH);
    assert_null(o.ref);
    vi_init(e, &vnf, 3, "exec sleep 100");
    assert_int_equal(e->ops->claim(e->vim, &vnf.h, pb, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, vnf.spec.id));
    vi_done(&vnf);
    /* stopped and removed with the VI it is in now */
    assert_int_equal(e->ops->stop(e->vim, &a.h, 1000, &err), 0);
    assert_true(ended(pb));
    vi_gone(e, &a);
    vi_done(&a);
    vi_done(&b);
}

/* The sim runs nothing: it refuses a manager VI. */
static void sim_refuses_a_manager_vi(void **state)
{
    struct env *e = *state;
    struct vi_out o;
    struct vi v;

    vi_init(e, &v, 0, "");
    id_random(v.spec.id, VIM_MANAGER_PREFIX, 6);
    v.spec.manager = true;
    assert_int_equal(vi_create(e, &v, &o), -EOPNOTSUPP);
    vi_done(&v);
}

int main(void)
{
    const struct CMUnitTest proc_tests[] = {
        cmocka_unit_test(contract_life_is_idempotent),
        cmocka_unit_test(contract_adoption_after_a_restart),
        cmocka_unit_test(contract_names_from_tag_and_id),
        cmocka_unit_test(contract_addresses),
        cmocka_unit_test(contract_end_or_ready_is_known),
        cmocka_unit_test(proc_child_stack_is_clean),
        cmocka_unit_test(proc_neighbours_are_permanent),
        cmocka_unit_test(proc_full_bridge_grows_a_leaf),
        cmocka_unit_test(proc_close_removes_an_empty_bridge),
        cmocka_unit_test(proc_day0_files_follow_no_link),
        cmocka_unit_test(proc_vnf_runs_as_its_uid),
        cmocka_unit_test(proc_create_again_ends_a_lost_start),
        cmocka_unit_test(proc_manager_vi),
        cmocka_unit_test(proc_manager_vi_claim),
    };
    const struct CMUnitTest sim_tests[] = {
        cmocka_unit_test(contract_life_is_idempotent),
        cmocka_unit_test(contract_adoption_after_a_restart),
        cmocka_unit_test(contract_names_from_tag_and_id),
        cmocka_unit_test(contract_addresses),
        cmocka_unit_test(contract_end_or_ready_is_known),
        cmocka_unit_test(sim_refuses_a_manager_vi),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("proc driver", proc_tests, proc_setup, env_teardown);
    failed += cmocka_run_group_tests_name("sim driver", sim_tests, sim_setup, env_teardown);
    return failed;
}
