/* The transactor (seed para 46): requests from many threads are applied in
 * FIFO order, one transaction each; a failed request rolls back and leaves
 * the store unchanged; events reach the bus only after commit. */
#include "unit.h"

#include "core/bus.h"
#include "core/txq.h"
#include "util/log.h"
#include "util/mem.h"

#include <pthread.h>

#define THREADS    4
#define PER_THREAD 250

struct fx {
    char *dir;
    struct core c;
    uv_loop_t loop;
    uint64_t applied_seq[THREADS * PER_THREAD + 1];
    unsigned n_applied, n_completed;
    int last_per_thread[THREADS];
    bool order_ok;
};

static struct fx *g;

/* Records the order and writes a tenant; body.fail makes it a 4xx. */
static void apply(struct core *c, struct txn *t)
{
    int thread = (int)json_integer_value(json_object_get(t->body, "thread"));
    int n = (int)json_integer_value(json_object_get(t->body, "n"));
    char id[32];
    json_t *doc;

    if (g->n_applied > 0 && t->seq <= g->applied_seq[g->n_applied - 1])
        g->order_ok = false;
    if (n <= g->last_per_thread[thread])
        g->order_ok = false;
    g->last_per_thread[thread] = n;
    g->applied_seq[g->n_applied++] = t->seq;
    snprintf(id, sizeof(id), "t%d-%d", thread, n);
    doc = json_pack("{s:s}", "id", id);
    store_put(c->st, STORE_TENANT, doc);
    json_decref(doc);
    core_event(c, "info", "audit", "config", NULL, "applied %s", id);
    if (json_is_true(json_object_get(t->body, "fail")))
        result_fail(&t->res, 409, "conflict", NULL, NULL, "refused");
    else
        result_ok(&t->res, 201, NULL);
}

static void complete(struct txn *t)
{
    g->n_completed++;
    txn_free(t);
    if (g->n_completed == THREADS * PER_THREAD + 1)
        uv_stop(&g->loop);
}

static void *producer(void *arg)
{
    int thread = (int)(intptr_t)arg;

    for (int n = 0; n < PER_THREAD; n++) {
        struct txn *t = txn_new(apply, "test");

        t->body = json_pack("{s:i, s:i}", "thread", thread, "n", n);
        t->complete = complete;
        txq_submit(g->c.txq, t);
    }
    return NULL;
}

static int setup(void **state)
{
    char err[256], *path;

    g = calloc(1, sizeof(*g));
    g->dir = test_tmpdir();
    path = xasprintf("%s/vnfm.db", g->dir);
    uv_loop_init(&g->loop);
    g->c.loop = &g->loop;
    assert_int_equal(store_open(path, false, &g->c.st, err, sizeof(err)), 0);
    free(path);
    log_set_level(LOG_LVL_WARN);
    g->c.bus = bus_new(16);
    g->c.txq = txq_new(&g->c);
    g->order_ok = true;
    for (int i = 0; i < THREADS; i++)
        g->last_per_thread[i] = -1;
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    txq_free(g->c.txq);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    uv_loop_close(&g->loop);
    bus_free(g->c.bus);
    store_close(g->c.st);
    test_rmdir(g->dir);
    free(g);
    return 0;
}

static void fifo_order_from_many_threads(void **state)
{
    pthread_t th[THREADS];
    struct txn *bad;
    json_t *got = NULL;

    (void)state;
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    bad = txn_new(apply, "test");
    bad->body = json_pack("{s:i, s:i, s:b}", "thread", 0, "n", PER_THREAD, "fail", 1);
    bad->complete = complete;
    txq_submit(g->c.txq, bad);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    assert_int_equal(g->n_completed, THREADS * PER_THREAD + 1);
    assert_true(g->order_ok);
    assert_int_equal(txq_applied(g->c.txq), THREADS * PER_THREAD + 1);
    assert_int_equal(store_count(g->c.st, STORE_TENANT, NULL, 0), THREADS * PER_THREAD);
    /* the refused request's write and event were rolled back */
    assert_int_equal(store_get(g->c.st, STORE_TENANT, "t0-250", &got), -ENOENT);
    assert_int_equal(store_log_last_seq(g->c.st), THREADS * PER_THREAD);
    assert_int_equal(bus_last_seq(g->c.bus), THREADS * PER_THREAD);
}

static void admin_only_refused(void **state)
{
    struct txn *t = txn_new(apply, "admin thing");

    (void)state;
    t->admin_only = true;
    t->body = json_pack("{s:i, s:i}", "thread", 0, "n", 0);
    t->complete = complete;
    g->n_completed = THREADS * PER_THREAD; /* the next completion stops the loop */
    txq_submit(g->c.txq, t);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    assert_int_equal(g->n_applied, 0);
    assert_int_equal(store_count(g->c.st, STORE_TENANT, NULL, 0), 0);
}

/* ---- batches and the lock ---- */

static void stop_loop(struct txn *t)
{
    (void)t;
    uv_stop(&g->loop);
}

/* Submits t, runs the loop until it completed; the caller frees it. */
static struct txn *run(struct txn *t)
{
    t->complete = stop_loop;
    txq_submit(g->c.txq, t);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    return t;
}

static struct txn *part(int n, bool fail, uint32_t session)
{
    struct txn *t = txn_new(apply, "test");

    t->body = json_pack("{s:i, s:i, s:b}", "thread", 0, "n", n, "fail", fail);
    t->session = session;
    return t;
}

static void batch_is_all_or_nothing(void **state)
{
    struct txn *b = txn_batch_new("edit");
    json_t *got = NULL;

    (void)state;
    txn_batch_add(b, part(0, false, 0));
    txn_batch_add(b, part(1, false, 0));
    txn_batch_add(b, part(2, true, 0));
    txn_batch_add(b, part(3, false, 0));
    run(b);
    assert_int_equal(b->res.status, 409);
    assert_int_equal(b->failed_part, 2);
    assert_int_equal(g->n_applied, 3); /* the fourth never ran */
    assert_int_equal(store_count(g->c.st, STORE_TENANT, NULL, 0), 0);
    assert_int_equal(store_get(g->c.st, STORE_TENANT, "t0-0", &got), -ENOENT);
    assert_int_equal(bus_last_seq(g->c.bus), 0);
    txn_free(b);

    b = txn_batch_new("edit");
    txn_batch_add(b, part(4, false, 0));
    txn_batch_add(b, part(5, false, 0));
    run(b);
    assert_int_equal(b->res.status, 200);
    assert_int_equal(b->failed_part, -1);
    assert_int_equal(b->parts[1]->res.status, 201);
    assert_int_equal(store_count(g->c.st, STORE_TENANT, NULL, 0), 2);
    assert_int_equal(bus_last_seq(g->c.bus), 2);
    txn_free(b);
}

static int status_of(struct txn *t)
{
    int status = run(t)->res.status;

    txn_free(t);
    return status;
}

static struct txn *lock(bool take, uint32_t session)
{
    struct txn *t = txn_new(take ? txq_lock_apply : txq_unlock_apply, "lock");

    t->session = session;
    t->body = json_pack("{s:s}", "holder", "NETCONF session 7");
    return t;
}

static void lock_excludes_other_sessions(void **state)
{
    struct txn *t;

    (void)state;
    assert_int_equal(status_of(lock(true, 7)), 200);
    assert_int_equal(txq_lock_holder(g->c.txq), 7);
    t = run(part(0, false, 0)); /* REST, SOL003 */
    assert_int_equal(t->res.status, 409);
    assert_string_equal(json_string_value(json_object_get(t->res.body, "error")), "locked");
    assert_non_null(
        strstr(json_string_value(json_object_get(t->res.body, "message")), "NETCONF session 7"));
    assert_int_equal(json_integer_value(json_object_get(t->res.body, "session")), 7);
    txn_free(t);
    assert_int_equal(g->n_applied, 0);
    assert_int_equal(status_of(part(1, false, 8)), 409); /* another NETCONF session */
    assert_int_equal(status_of(lock(true, 8)), 409);
    assert_int_equal(status_of(lock(false, 8)), 409); /* only the holder unlocks */
    assert_int_equal(status_of(part(2, false, 7)), 201);
    t = part(3, false, 0);
    t->lock_exempt = true; /* the manager's own requests */
    assert_int_equal(status_of(t), 201);
    assert_int_equal(status_of(lock(false, 7)), 200);
    assert_int_equal(txq_lock_holder(g->c.txq), 0);
    assert_int_equal(status_of(part(4, false, 0)), 201);
    assert_int_equal(store_count(g->c.st, STORE_TENANT, NULL, 0), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fifo_order_from_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_only_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_excludes_other_sessions, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
