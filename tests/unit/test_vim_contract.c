/* The VIM driver contract (src/vim/vim.h), run against the real drivers:
 * the proc driver makes real namespaces, veths, cgroups and processes (the
 * tests run as root), so every case cleans up after itself. */
#include "unit.h"

#include "util/fsutil.h"
#include "util/ids.h"
#include "util/mem.h"
#include "util/net4.h"
#include "vim/vim.h"

#include <errno.h>
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

int main(void)
{
    const struct CMUnitTest proc_tests[] = {
        cmocka_unit_test(proc_child_stack_is_clean),
    };

    return cmocka_run_group_tests_name("proc driver", proc_tests, env_setup, env_teardown);
}
