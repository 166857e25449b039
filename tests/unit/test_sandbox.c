/* The sandbox of VNFs and tenant scripts (util/sandbox.c) through the
 * spawner (util/spawn.c): real children, real namespaces, real mounts. Each
 * case runs a shell in a sandbox and checks what it could see and do. */
#include "unit.h"

#include "util/sandbox.h"
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define UID 1879111111u

struct fixture {
    char *root;   /* a manager's data dir, hidden */
    char *vi;     /* root/vi/X: the VI's own, writable */
    char *other;  /* root/vi/Y: another VI's, hidden */
    char *secret; /* root/vnfm.db */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char cmd[512];

    f->root = test_tmpdir();
    assert_int_equal(asprintf(&f->vi, "%s/vi/aaaa", f->root) > 0, 1);
    assert_int_equal(asprintf(&f->other, "%s/vi/bbbb", f->root) > 0, 1);
    assert_int_equal(asprintf(&f->secret, "%s/vnfm.db", f->root) > 0, 1);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s %s && echo pw=42 > %s/day0.conf && echo db > %s && chmod 755 %s "
             "%s/vi && chown %u:%u %s && chmod 644 %s",
             f->vi, f->other, f->other, f->secret, f->root, f->root, UID, UID, f->vi, f->secret);
    assert_int_equal(system(cmd), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    test_rmdir(f->root);
    free(f->vi);
    free(f->other);
    free(f->secret);
    free(f);
    return 0;
}

static struct sandbox vnf_box(const struct fixture *f)
{
    return (struct sandbox){.uid = UID,
                            .flags = SANDBOX_PRIVATE_TMP | SANDBOX_OWN_IPC | SANDBOX_HIDE_PIDS,
                            .cwd = f->vi,
                            .writable = {f->vi},
                            .hidden = {f->root}};
}

/* Runs a shell command in sb; returns its exit status, output in out. */
static int sh(const struct sandbox *sb, const char *script, struct sbuf *out)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct spawn_req rq = {argv, envp, NULL, 10000, 8192, sb};
    int status = -1;

    sbuf_done(out);
    assert_int_equal(spawn_run(&rq, out, &status), 0);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void identity_and_capabilities(void **state)
{
    struct sandbox sb = vnf_box(*state);
    struct sbuf out = SBUF_INIT;

    assert_int_equal(sh(&sb, "id -u; id -g; id -G", &out), 0);
    assert_string_equal(sbuf_str(&out), "1879111111\n1879111111\n1879111111\n");
    assert_int_equal(sh(&sb, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status", &out), 0);
    assert_non_null(strstr(sbuf_str(&out), "CapInh:\t0000000000000000\n"
                                           "CapPrm:\t0000000000000000\n"
                                           "CapEff:\t0000000000000000\n"
                                           "CapBnd:\t0000000000000000\n"
                                           "CapAmb:\t0000000000000000\n"
                                           "NoNewPrivs:\t1\n"));
    /* one capability kept, in every set, through exec */
    sb.caps = 1ull << sandbox_cap_find("net_bind_service");
    assert_int_equal(sh(&sb, "grep -E '^Cap' /proc/self/status", &out), 0);
    assert_non_null(strstr(sbuf_str(&out), "CapInh:\t0000000000000400\n"
                                           "CapPrm:\t0000000000000400\n"
                                           "CapEff:\t0000000000000400\n"
                                           "CapBnd:\t0000000000000400\n"
                                           "CapAmb:\t0000000000000400\n"));
    sbuf_done(&out);
}

/* What a VNF of f sees of the files, from sb (base or not). */
static void check_files(struct fixture *f, struct sandbox sb)
{
    struct sbuf out = SBUF_INIT;
    char script[1024];

    /* its own directory: writable, and the working directory */
    assert_int_equal(sh(&sb, "echo hi > mine && pwd", &out), 0);
    snprintf(script, sizeof(script), "%s\n", f->vi);
    assert_string_equal(sbuf_str(&out), script);
    /* the store and the other VI's day-0 file are not there at all */
    snprintf(script, sizeof(script), "cat %s; cat %s/day0.conf; ls -A %s/vi", f->secret, f->other,
             f->root);
    assert_int_equal(sh(&sb, script, &out), 0); /* the ls */
    assert_non_null(strstr(sbuf_str(&out), "No such file"));
    assert_null(strstr(sbuf_str(&out), "pw=42"));
    assert_non_null(strstr(sbuf_str(&out), "No such file or directory\naaaa\n")); /* no bbbb */
    /* the host is read-only, /tmp is its own */
    assert_int_not_equal(sh(&sb, "touch /etc/vnfm-sandbox-test", &out), 0);
    assert_non_null(strstr(sbuf_str(&out), "Read-only file system"));
    /* (a name nobody else uses: the host's /tmp may hold anything) */
    char mark[64], cmd[160];

    snprintf(mark, sizeof(mark), "x-vnfm-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "touch /tmp/%s /dev/shm/y && ls -A /tmp", mark);
    assert_int_equal(sh(&sb, cmd, &out), 0);
    snprintf(script, sizeof(script), "%s\n%s\n", f->root + 5, mark); /* the way to its dir */
    assert_string_equal(sbuf_str(&out), script);
    snprintf(cmd, sizeof(cmd), "/tmp/%s", mark);
    assert_int_equal(access(cmd, F_OK), -1);
    sbuf_done(&out);
}

static void files(void **state)
{
    struct fixture *f = *state;
    struct sandbox sb = vnf_box(f);
    const char *hidden[] = {f->root, NULL}, *step;
    struct sbuf out = SBUF_INIT;
    char script[1024];

    check_files(f, sb);
    /* the same from a base prepared once (what the proc VIM and the tenant
     * scripts use), twice: the base itself stays as it was */
    sb.base = sandbox_base_new(hidden, &step);
    assert_non_null(sb.base);
    check_files(f, sb);
    check_files(f, sb);
    sandbox_base_free((struct sandbox_base *)sb.base);
    /* without covers: the writable directory's mount point is on the read-only host */
    sb = (struct sandbox){.uid = UID, .writable = {f->vi}};
    snprintf(script, sizeof(script), "touch %s/again && touch /tmp/x", f->vi);
    assert_int_not_equal(sh(&sb, script, &out), 0);
    assert_non_null(strstr(sbuf_str(&out), "/tmp/x': Read-only file system"));
    snprintf(script, sizeof(script), "%s/again", f->vi);
    assert_int_equal(access(script, F_OK), 0);
    sbuf_done(&out);
}

static void processes(void **state)
{
    struct sandbox sb = vnf_box(*state);
    struct sbuf out = SBUF_INIT;
    int fd = open("/dev/null", O_RDONLY); /* not CLOEXEC: the sandbox closes it anyway */
    char script[128];

    /* only its own processes, none of the manager's descriptors */
    snprintf(script, sizeof(script), "ls /proc | grep -c '^[0-9]'; ls /proc/self/fd/%d", fd);
    assert_int_not_equal(sh(&sb, script, &out), 0);
    assert_int_equal(atoi(sbuf_str(&out)), 3); /* sh, ls and grep */
    assert_non_null(strstr(sbuf_str(&out), "No such file"));
    close(fd);
    /* a PID namespace of its own: a left-behind child dies with it */
    sb.flags |= SANDBOX_OWN_PIDS;
    sb.flags &= ~SANDBOX_HIDE_PIDS;
    assert_int_equal(sh(&sb, "sleep 100 & echo $$", &out), 0);
    assert_string_equal(sbuf_str(&out), "1\n");
    assert_int_equal(system("! pgrep -u 1879111111 -x sleep"), 0);
    sbuf_done(&out);
}

static void refusals(void **state)
{
    struct sandbox sb = vnf_box(*state);
    struct sbuf out = SBUF_INIT;
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    struct spawn_req rq = {argv, envp, NULL, 1000, 256, &sb};
    int status;

    sb.uid = 0;
    assert_int_equal(spawn_run(&rq, &out, &status), -EPERM);
    assert_string_equal(sbuf_str(&out), "sandbox: uid 0 is not a sandbox");
    assert_int_equal(sandbox_cap_find("CAP_NET_RAW"), 13);
    assert_int_equal(sandbox_cap_find("sys_admin"), 21);
    assert_int_equal(sandbox_cap_find("root"), -1);
    assert_string_equal(sandbox_cap_name(10), "net_bind_service");
    assert_null(sandbox_cap_name(64));
    sbuf_done(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity_and_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(files, setup, teardown),
        cmocka_unit_test_setup_teardown(processes, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
