/* The outbox (core/outbox.h) against a real HTTP server in this process:
 * an entry of a rolled back transaction is never sent; per key, entries go
 * out in order and one at a time; a failed attempt is retried and the
 * channel hears every outcome; a bound drops the oldest entry, tells its
 * channel and counts it; forgetting a key deletes its entries. */
#include "unit.h"

#include "core/bus.h"
#include "core/outbox.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/httpd.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <pthread.h>

/* ---- the destination: records bodies per path, fails the first N ---- */

/* Each request is held 20 ms (long enough for a second delivery to the key
 * to overlap), suspended, and resumed by the holder thread. */
#define HELD_MAX 64

static struct {
    pthread_mutex_t mu;
    char got[64][64]; /* "PATH BODY" in the order they came */
    int n_got;
    int fail;                 /* answer the next N POSTs 503 */
    int busy[2], max_busy[2]; /* requests at once to /a and to /b */
    struct httpd *h;
    pthread_t holder;
    bool stop;
    struct {
        struct httpd_conn *c;
        struct timespec due;
    } held[HELD_MAX];
    int n_held;
} srv;

struct req {
    int k;
    char line[64];
};

static bool due(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&srv.mu);
    while (!srv.stop) {
        for (int i = 0; i < srv.n_held; i++) {
            if (due(&srv.held[i].due)) {
                httpd_resume(srv.held[i].c);
                srv.held[i--] = srv.held[--srv.n_held];
            }
        }
        pthread_mutex_unlock(&srv.mu);
        usleep(1000);
        pthread_mutex_lock(&srv.mu);
    }
    pthread_mutex_unlock(&srv.mu);
    return NULL;
}

static void on_request(void *arg, struct httpd_conn *c, struct httpd_req *rq)
{
    struct req *r = xcalloc(1, sizeof(*r));

    (void)arg;
    r->k = rq->path[1] == 'b';
    snprintf(r->line, sizeof(r->line), "%s %.*s", rq->path, (int)rq->body_len,
             rq->body ? rq->body : "");
    httpd_suspend(c, r);
    pthread_mutex_lock(&srv.mu);
    if (++srv.busy[r->k] > srv.max_busy[r->k])
        srv.max_busy[r->k] = srv.busy[r->k];
    assert_true(srv.n_held < HELD_MAX);
    srv.held[srv.n_held].c = c;
    clock_gettime(CLOCK_MONOTONIC, &srv.held[srv.n_held].due);
    srv.held[srv.n_held].due.tv_nsec += 20000000;
    if (srv.held[srv.n_held].due.tv_nsec >= 1000000000) {
        srv.held[srv.n_held].due.tv_sec++;
        srv.held[srv.n_held].due.tv_nsec -= 1000000000;
    }
    srv.n_held++;
    pthread_mutex_unlock(&srv.mu);
}

static void on_resume(void *arg, struct httpd_conn *c, void *data)
{
    struct req *r = data;
    int status = 204;

    (void)arg;
    pthread_mutex_lock(&srv.mu);
    srv.busy[r->k]--;
    if (srv.fail > 0) {
        srv.fail--;
        status = 503;
    } else if (srv.n_got < 64) {
        snprintf(srv.got[srv.n_got++], 64, "%s", r->line);
    }
    pthread_mutex_unlock(&srv.mu);
    httpd_respond(c, status, NULL, 0, NULL, 0);
}

static void on_refuse(void *arg, struct httpd_conn *c, const struct httpd_req *rq, int status,
                      const char *msg)
{
    (void)arg, (void)rq, (void)msg;
    httpd_respond(c, status, NULL, 0, NULL, 0);
}

static void on_done(void *arg, void *data)
{
    (void)arg;
    free(data);
}

static const struct httpd_ops srv_ops = {
    .request = on_request, .refuse = on_refuse, .resume = on_resume, .done = on_done};

static unsigned srv_start(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct httpd_config hc = {
        .addr = (struct sockaddr *)&sin,
        .addr_len = sizeof(sin),
        .threads = 2,
        .max_conns = 64,
        .max_conns_per_client = 64,
        .request_timeout_ms = 10000,
        .idle_timeout_ms = 10000,
        .body_max = 4096,
        .ops = &srv_ops,
    };
    char err[128];

    srv.h = httpd_start(&hc, err, sizeof(err));
    assert_non_null(srv.h);
    assert_int_equal(pthread_create(&srv.holder, NULL, holder, NULL), 0);
    return httpd_port(srv.h);
}

static void srv_stop(void)
{
    httpd_stop(srv.h);
    pthread_mutex_lock(&srv.mu);
    srv.stop = true;
    pthread_mutex_unlock(&srv.mu);
    pthread_join(srv.holder, NULL);
    httpd_free(srv.h);
    pthread_mutex_destroy(&srv.mu);
}

/* ---- a core with an outbox and a channel that remembers what it heard ---- */

static struct core C;
static struct config cfg;
static uv_loop_t loop;
static char *dir;
static unsigned port;
static char heard[64][48]; /* "RESULT ID" */
static int n_heard;

static void report(struct core *c, const json_t *rec, const struct outbox_outcome *o)
{
    static const char *const names[] = {"delivered", "failed", "given_up", "dropped"};

    (void)c;
    if (n_heard < 64)
        snprintf(heard[n_heard++], 48, "%s %s", names[o->result], doc_str(rec, "id"));
}

static const struct outbox_channel test_channel = {.name = "test", .attempts = 2, .report = report};

static int setup(void **state)
{
    char err[256], *db;

    (void)state;
    log_set_level(LOG_LVL_ERROR);
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    port = srv_start();
    dir = test_tmpdir();
    memset(&cfg, 0, sizeof(cfg));
    cfg.data_dir = dir;
    memset(&C, 0, sizeof(C));
    n_heard = 0;
    uv_loop_init(&loop);
    C.cfg = &cfg;
    C.loop = &loop;
    db = xasprintf("%s/vnfm.db", dir);
    assert_int_equal(store_open(db, false, &C.st, err, sizeof(err)), 0);
    free(db);
    C.bus = bus_new(64);
    C.conf = wpool_new(&loop, "configuration", 4);
    outbox_new(&C, 3, 100);
    outbox_register(C.outbox, &test_channel);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    outbox_stop(C.outbox);
    wpool_free(C.conf);
    outbox_free(C.outbox);
    uv_run(&loop, UV_RUN_DEFAULT);
    bus_free(C.bus);
    store_close(C.st);
    uv_loop_close(&loop);
    srv_stop();
    test_rmdir(dir);
    return 0;
}

/* Queues body for path (the key) in the open transaction. */
static void put(const char *path, const char *body, const char *id)
{
    char url[96];
    struct outbox_msg m = {
        .channel = "test", .key = path, .id = id, .url = url, .body = json_string(body)};

    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    assert_int_equal(outbox_put(&C, &m), 0);
}

static long pending(void)
{
    struct outbox_stats st;

    outbox_stats(C.outbox, &st);
    return (long)st.ch[0].pending;
}

/* Runs the loop until nothing is pending or in flight. */
static void drain(void)
{
    struct outbox_stats st;

    for (int i = 0; i < 10000; i++) {
        outbox_stats(C.outbox, &st);
        if (st.keys == 0)
            return;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    fail_msg("the outbox did not drain");
}

static void rolled_back_sends_nothing(void **state)
{
    (void)state;
    core_tx_begin(&C);
    put("/a", "never", NULL);
    core_tx_abort(&C);
    core_tx_begin(&C);
    put("/a", "one", NULL);
    core_tx_commit(&C);
    outbox_start(C.outbox);
    drain();
    assert_int_equal(srv.n_got, 1);
    assert_string_equal(srv.got[0], "/a one");
    assert_int_equal(store_count(C.st, STORE_OUTBOX, NULL, 0), 0);
    assert_int_equal(pending(), 0);
}

static void in_order_one_at_a_time_per_key(void **state)
{
    char body[8];

    (void)state;
    outbox_start(C.outbox);
    core_tx_begin(&C);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "%d", i);
        put("/a", body, NULL);
        put("/b", body, NULL);
    }
    core_tx_commit(&C);
    assert_int_equal(pending(), 6);
    drain();
    assert_int_equal(srv.n_got, 6);
    for (int i = 0, a = 0, b = 0; i < 6; i++) { /* each key's in its own order */
        char want[16];

        snprintf(want, sizeof(want), "/%c %d", srv.got[i][1], srv.got[i][1] == 'a' ? a++ : b++);
        assert_string_equal(srv.got[i], want);
    }
    assert_int_equal(srv.max_busy[0], 1); /* never two of one key at once */
    assert_int_equal(srv.max_busy[1], 1);
}

static void retried_then_given_up(void **state)
{
    (void)state;
    srv.fail = 3; /* "x" fails twice: given up after its 2 attempts; "y" once, then goes */
    outbox_start(C.outbox);
    core_tx_begin(&C);
    put("/a", "x", "e1");
    put("/a", "y", "e2");
    core_tx_commit(&C);
    drain();
    assert_int_equal(srv.n_got, 1);
    assert_string_equal(srv.got[0], "/a y");
    assert_int_equal(n_heard, 4);
    assert_string_equal(heard[0], "failed e1");
    assert_string_equal(heard[1], "given_up e1");
    assert_string_equal(heard[2], "failed e2");
    assert_string_equal(heard[3], "delivered e2");
}

static void bound_drops_the_oldest(void **state)
{
    struct outbox_stats st;

    (void)state;
    core_tx_begin(&C); /* key_max is 3 */
    put("/a", "0", "d0");
    put("/a", "1", "d1");
    put("/a", "2", "d2");
    put("/a", "3", "d3");
    core_tx_commit(&C);
    assert_int_equal(n_heard, 1);
    assert_string_equal(heard[0], "dropped d0");
    outbox_stats(C.outbox, &st);
    assert_int_equal(st.ch[0].dropped, 1);
    assert_int_equal(st.ch[0].pending, 3);
    core_tx_begin(&C);
    assert_int_equal(outbox_forget(&C, "/a"), 3);
    core_tx_commit(&C);
    assert_int_equal(pending(), 0);
    outbox_start(C.outbox);
    drain();
    assert_int_equal(srv.n_got, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rolled_back_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(in_order_one_at_a_time_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(retried_then_given_up, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_drops_the_oldest, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
