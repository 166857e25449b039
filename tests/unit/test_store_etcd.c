/* What only the etcd backend does (the contract it shares with SQLite is
 * test_store_contract.c): several managers on one store, fencing, a copy
 * kept current by the watch, and etcd members that go away and come back.
 * Every case runs a real etcd (unit_etcd.h). */
#include "unit.h"
#include "unit_etcd.h"

#include "store/store.h"
#include "util/etcd.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static unsigned prefixes;

static char *location(const struct test_etcd *e)
{
    return xasprintf("etcd://%s/unit/e%u", e->endpoints, ++prefixes);
}

static struct store *open_ok(const char *where, bool readonly)
{
    struct store *st = NULL;
    char err[256];

    if (store_open(where, readonly, &st, err, sizeof(err)))
        fail_msg("%s: %s", where, err);
    return st;
}

static void put(struct store *st, const char *id, const char *status)
{
    json_t *d = json_pack("{s:s, s:s}", "id", id, "status", status);

    if (store_put(st, STORE_DEPLOYMENT, d))
        fail_msg("put %s: %s", id, store_errmsg(st));
    json_decref(d);
}

static bool has(struct store *st, const char *id)
{
    json_t *doc = NULL;
    int r = store_get(st, STORE_DEPLOYMENT, id, &doc);

    json_decref(doc);
    return r == 0;
}

/* Waits up to 5 s for another manager's commit to reach st's copy. */
static bool comes(struct store *st, const char *id)
{
    for (int i = 0; i < 500; i++) {
        if (has(st, id))
            return true;
        usleep(10000);
    }
    return false;
}

/* Makes key exist anew (as leader election does); its create revision. */
static int64_t lead(const struct test_etcd *e, const char *key)
{
    struct etcd *cl;
    char err[256], *k = etcd_b64(key, strlen(key)), *v = etcd_b64("x", 1);
    json_t *req = json_pack("{s:s}", "key", k), *resp = NULL;
    int64_t rev;

    assert_int_equal(etcd_open(e->endpoints, 0, &cl, err, sizeof(err)), 0);
    assert_int_equal(etcd_call(cl, "/v3/kv/deleterange", req, &resp), 0);
    json_decref(resp);
    json_decref(req);
    req = json_pack("{s:s, s:s}", "key", k, "value", v);
    assert_int_equal(etcd_call(cl, "/v3/kv/put", req, &resp), 0);
    rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
    json_decref(resp);
    json_decref(req);
    etcd_close(cl);
    free(k);
    free(v);
    return rev;
}

/* ---- cases ---- */

/* A location that names no etcd, or a bad one: a clear error, at once. */
static void open_errors(void **state)
{
    struct store *st = NULL;
    char err[256] = "", *where = xasprintf("etcd://127.0.0.1:%d", test_free_port());
    uint64_t t0 = mono_ms();

    (void)state;
    assert_int_equal(store_open(where, false, &st, err, sizeof(err)), -ENOTCONN);
    assert_null(st);
    assert_non_null(strstr(err, where + strlen("etcd://")));
    assert_true(mono_ms() - t0 < 5000);
    assert_int_equal(store_open("etcd://127.0.0.1:1/bad prefix", false, &st, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "bad prefix"));
    assert_int_equal(store_open("etcd://nohostport", false, &st, err, sizeof(err)), -EINVAL);
    free(where);
}

/* An endpoint that does not answer is passed over. */
static void endpoint_failover(void **state)
{
    struct test_etcd *e = *state;
    char *where = xasprintf("etcd://127.0.0.1:%d,%s/unit/f", test_free_port(), e->endpoints);
    struct store *st = open_ok(where, false);

    put(st, "a", "active");
    assert_true(has(st, "a"));
    store_close(st);
    free(where);
}

/* What one manager commits reaches the copy of another through the watch:
 * records, deletes, meta and the event log. */
static void other_managers_commits_arrive(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e), *v = NULL;
    struct store *a = open_ok(where, false), *b = open_ok(where, true);
    json_t *rec = json_pack("{s:s, s:s}", "level", "info", "message", "m");

    put(a, "x", "active");
    put(a, "y", "active");
    assert_int_equal(store_meta_set(a, "k", "v"), 0);
    assert_int_equal(store_log_append(a, rec), 0);
    assert_int_equal(store_delete(a, STORE_DEPLOYMENT, "x"), 0);
    put(a, "z", "last");
    assert_true(comes(b, "z"));
    assert_true(has(b, "y"));
    assert_false(has(b, "x"));
    assert_int_equal(store_meta_get(b, "k", &v), 0);
    assert_string_equal(v, "v");
    assert_int_equal(store_log_last_seq(b), 1);
    free(v);
    json_decref(rec);
    store_close(b);
    store_close(a);
    free(where);
}

/* A fenced writer commits only while the leader's key is the one it was
 * fenced on: once another holds it, its commits are refused and leave
 * nothing; the new one's copy has everything committed before it. */
static void fenced_commits(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e), *key = xasprintf("unit/leader%u", prefixes);
    struct store *a = open_ok(where, false), *b;
    int64_t rev = lead(e, key);

    assert_int_equal(store_fence(a, key, rev, "a", 5000), 0);
    put(a, "one", "active");
    rev = lead(e, key); /* another manager is the leader now */
    assert_int_equal(store_begin(a), 0);
    put(a, "two", "active");
    assert_int_equal(store_commit(a), -EPERM);
    assert_non_null(strstr(store_errmsg(a), "not the primary"));
    store_rollback(a);
    b = open_ok(where, false);
    assert_int_equal(store_fence(b, key, rev, "b", 5000), 0);
    assert_true(has(b, "one"));
    assert_false(has(b, "two"));
    put(b, "three", "active");
    assert_true(comes(a, "three")); /* a deposed manager still reads */
    assert_false(has(a, "two"));
    store_close(b);
    store_close(a);
    free(key);
    free(where);
}

/* A commit that would overwrite a change its copy had not seen is refused
 * (here two managers that both believe they lead; meta is written to the
 * backend at once, where records wait in the writer's cache). */
static void stale_copy_refused(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e), *key = xasprintf("unit/leader%u", prefixes), *v = NULL;
    struct store *a = open_ok(where, false), *b = open_ok(where, false);
    int64_t rev = lead(e, key);

    assert_int_equal(store_fence(a, key, rev, "a", 5000), 0);
    assert_int_equal(store_fence(b, key, rev, "b", 5000), 0);
    assert_int_equal(store_begin(a), 0);
    assert_int_equal(store_meta_set(a, "k", "from-a"), 0);
    assert_int_equal(store_meta_set(b, "k", "from-b"), 0);
    assert_int_equal(store_commit(a), -ESTALE);
    store_rollback(a);
    for (int i = 0; i < 500 && (free(v), v = NULL, store_meta_get(a, "k", &v) != 0); i++)
        usleep(10000);
    assert_string_equal(v, "from-b");
    free(v);
    store_close(b);
    store_close(a);
    free(key);
    free(where);
}

/* etcd gone: commits fail (and leave nothing); back on the same data:
 * commits work again and the watch resumes where it was. */
static void etcd_lost_and_back(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e);
    struct store *a = open_ok(where, false), *other = open_ok(where, true), *rd;
    char err[256];

    assert_int_equal(store_open_reader(a, &rd, err, sizeof(err)), 0);
    put(a, "before", "active");
    test_etcd_kill(e, 0);
    assert_int_equal(store_begin(a), 0);
    put(a, "lost", "active");
    assert_int_equal(store_commit(a), -ENOTCONN);
    store_rollback(a);
    assert_true(has(rd, "before")); /* reads go on from the copy */
    assert_false(has(rd, "lost"));
    test_etcd_run(e, 0);
    test_etcd_wait(e);
    put(a, "after", "active");
    assert_true(has(rd, "after"));
    assert_true(comes(other, "after"));
    assert_true(has(other, "before"));
    assert_false(has(other, "lost"));
    store_close(rd);
    store_close(other);
    store_close(a);
    free(where);
}

/* One member of three killed while a manager commits: no commit fails, and
 * every one reaches another manager's copy. */
static void member_killed(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e);
    struct store *a = open_ok(where, false), *b = open_ok(where, true);

    for (int i = 0; i < 60; i++) {
        char id[16];

        if (i == 20)
            test_etcd_kill(e, 0); /* the one both talk to first */
        snprintf(id, sizeof(id), "d%d", i);
        put(a, id, "active");
    }
    assert_true(comes(b, "d59"));
    assert_int_equal(store_count(b, STORE_DEPLOYMENT, NULL, 0), 60);
    store_close(b);
    store_close(a);
    free(where);
}

/* Compaction keeps etcd's history short; a store opened after it has
 * everything. */
static void compaction(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e);
    struct store *a = open_ok(where, false), *b;

    for (int i = 0; i < 1100; i++) {
        char id[16];

        snprintf(id, sizeof(id), "d%d", i % 10);
        put(a, id, i % 2 ? "active" : "failed");
    }
    assert_int_equal(store_maintain(a), 0);
    assert_int_equal(store_maintain(a), 0); /* nothing new: nothing to do */
    b = open_ok(where, true);
    assert_int_equal(store_count(b, STORE_DEPLOYMENT, NULL, 0), 10);
    store_close(b);
    store_close(a);
    free(where);
}

/* A manager that starts while the primary writes and compacts: its load,
 * page by page at one revision, finds that revision compacted away and
 * starts over (seen as a standby that could not start during a benchmark).
 * The churn writes and compacts at its write every 2 s: a load (3 pages,
 * 150 to 500 ms here) sees its revision go now and then. */
struct churn {
    struct etcd *cl;
    atomic_bool stop;
    atomic_int compactions;
};

static void *churn_main(void *arg)
{
    struct churn *ch = arg;
    char *k = etcd_b64("churn", 5), *v = etcd_b64("x", 1);

    while (!atomic_load(&ch->stop)) {
        json_t *req = json_pack("{s:s, s:s}", "key", k, "value", v), *resp = NULL;
        int64_t rev = 0;

        if (etcd_call(ch->cl, "/v3/kv/put", req, &resp) == 0)
            rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
        json_decref(req);
        json_decref(resp);
        req = json_pack("{s:I}", "revision", (json_int_t)rev);
        resp = NULL;
        if (rev && etcd_call(ch->cl, "/v3/kv/compaction", req, &resp) == 0)
            atomic_fetch_add(&ch->compactions, 1);
        json_decref(req);
        json_decref(resp);
        usleep(2000 * 1000);
    }
    free(k);
    free(v);
    return NULL;
}

static void load_during_compaction(void **state)
{
    struct test_etcd *e = *state;
    char *where = location(e), err[256];
    struct store *a = open_ok(where, false);
    struct churn ch = {0};
    pthread_t th;

    for (int t = 0; t < 5; t++) {
        assert_int_equal(store_begin(a), 0);
        for (int i = 0; i < 600; i++) {
            char id[16];

            snprintf(id, sizeof(id), "d%d", t * 600 + i);
            put(a, id, "active");
        }
        assert_int_equal(store_commit(a), 0);
    }
    assert_int_equal(etcd_open(e->endpoints, 0, &ch.cl, err, sizeof(err)), 0);
    assert_int_equal(pthread_create(&th, NULL, churn_main, &ch), 0);
    /* at least 20 opens, and on until two compactions ran meanwhile (20 took
     * less than the churn's 2 s once: the test then proved nothing) */
    for (int i = 0; i < 20 || (atomic_load(&ch.compactions) < 2 && i < 5000); i++) {
        struct store *b = open_ok(where, true);

        assert_int_equal(store_count(b, STORE_DEPLOYMENT, NULL, 0), 3000);
        store_close(b);
    }
    atomic_store(&ch.stop, true);
    pthread_join(th, NULL);
    assert_true(atomic_load(&ch.compactions) >= 2);
    etcd_close(ch.cl);
    store_close(a);
    free(where);
}

/* A cluster of one member for each case (three: member_killed), stopped
 * however the case ends. */
static int one(void **state)
{
    *state = test_etcd_start(1);
    return 0;
}

static int three(void **state)
{
    *state = test_etcd_start(3);
    return 0;
}

static int stop(void **state)
{
    test_etcd_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_errors),
        cmocka_unit_test_setup_teardown(endpoint_failover, one, stop),
        cmocka_unit_test_setup_teardown(other_managers_commits_arrive, one, stop),
        cmocka_unit_test_setup_teardown(fenced_commits, one, stop),
        cmocka_unit_test_setup_teardown(stale_copy_refused, one, stop),
        cmocka_unit_test_setup_teardown(etcd_lost_and_back, one, stop),
        cmocka_unit_test_setup_teardown(member_killed, three, stop),
        cmocka_unit_test_setup_teardown(compaction, one, stop),
        cmocka_unit_test_setup_teardown(load_during_compaction, one, stop),
    };

    return cmocka_run_group_tests_name("store_etcd", tests, NULL, NULL);
}
