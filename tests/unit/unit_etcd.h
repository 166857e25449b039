/* A real etcd for the unit tests (Debian's etcd-server): a cluster of one
 * or more members on loopback ports nobody uses, their data in memory
 * (/dev/shm), which never outlives the test. Members can be killed and
 * started again on the same data. */
#ifndef VNFM_TEST_UNIT_ETCD_H
#define VNFM_TEST_UNIT_ETCD_H

#include "unit.h"

#include "store/store.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define TEST_ETCD_MAX 3

struct test_etcd {
    unsigned n;
    char *dir;
    int client[TEST_ETCD_MAX], peer[TEST_ETCD_MAX];
    pid_t pid[TEST_ETCD_MAX];
    char endpoints[128]; /* "127.0.0.1:P1,127.0.0.1:P2,..." */
};

static inline int test_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts member i (again, on the data it had). */
static inline void test_etcd_run(struct test_etcd *e, unsigned i)
{
    char name[16], url[64], purl[64], data[256], log[256], cluster[512] = "";
    const char *state = "new";

    snprintf(name, sizeof(name), "m%u", i);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", e->client[i]);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", e->peer[i]);
    snprintf(data, sizeof(data), "%s/%s", e->dir, name);
    snprintf(log, sizeof(log), "%s/%s.log", e->dir, name);
    for (unsigned j = 0; j < e->n; j++)
        snprintf(cluster + strlen(cluster), sizeof(cluster) - strlen(cluster),
                 "%sm%u=http://127.0.0.1:%d", j ? "," : "", j, e->peer[j]);
    if (access(data, F_OK) == 0)
        state = "existing";
    e->pid[i] = fork();
    assert_true(e->pid[i] >= 0);
    if (e->pid[i] == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 1);
        dup2(fd, 2);
        /* elections of a few hundred ms: a killed member is a short pause */
        execlp("etcd", "etcd", "--name", name, "--data-dir", data, "--listen-client-urls", url,
               "--advertise-client-urls", url, "--listen-peer-urls", purl,
               "--initial-advertise-peer-urls", purl, "--initial-cluster", cluster,
               "--initial-cluster-state", state, "--heartbeat-interval", "50", "--election-timeout",
               "500", "--max-txn-ops", "10000", "--logger", "zap", "--log-level", "warn", NULL);
        fprintf(stderr, "cannot run etcd (Debian package etcd-server): %s\n", strerror(errno));
        _exit(127);
    }
}

/* Whether the cluster answers a read through endpoints. */
static inline bool test_etcd_answers(const char *endpoints)
{
    char *where = xasprintf("etcd://%s/probe", endpoints), err[256];
    struct store *st = NULL;
    bool ok = store_open(where, true, &st, err, sizeof(err)) == 0;

    store_close(st);
    free(where);
    return ok;
}

static inline void test_etcd_wait(struct test_etcd *e)
{
    for (int i = 0; i < 100 && !test_etcd_answers(e->endpoints); i++)
        for (unsigned j = 0; j < e->n; j++) {
            int status;

            if (e->pid[j] > 0 && waitpid(e->pid[j], &status, WNOHANG) == e->pid[j])
                fail_msg("etcd member %u exited; see %s/m%u.log", j, e->dir, j);
        }
    assert_true(test_etcd_answers(e->endpoints));
}

static inline struct test_etcd *test_etcd_start(unsigned n)
{
    struct test_etcd *e = xcalloc(1, sizeof(*e));

    assert_true(n >= 1 && n <= TEST_ETCD_MAX);
    e->n = n;
    e->dir = strdup("/dev/shm/vnfm-etcd-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    for (unsigned i = 0; i < n; i++) {
        e->client[i] = test_free_port();
        e->peer[i] = test_free_port();
        snprintf(e->endpoints + strlen(e->endpoints), sizeof(e->endpoints) - strlen(e->endpoints),
                 "%s127.0.0.1:%d", i ? "," : "", e->client[i]);
    }
    for (unsigned i = 0; i < n; i++)
        test_etcd_run(e, i);
    test_etcd_wait(e);
    return e;
}

static inline void test_etcd_kill(struct test_etcd *e, unsigned i)
{
    if (e->pid[i] > 0) {
        kill(e->pid[i], SIGKILL);
        waitpid(e->pid[i], NULL, 0);
    }
    e->pid[i] = 0;
}

static inline void test_etcd_stop(struct test_etcd *e)
{
    for (unsigned i = 0; i < e->n; i++)
        test_etcd_kill(e, i);
    test_rmdir(e->dir);
    free(e);
}

#endif
