/* What only the SQLite backend does: versioned migrations, and a
 * write-ahead log kept bounded. What every backend does is in
 * test_store_contract.c. */
#include "unit.h"

#include "store/store.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

struct fx {
    char *dir, *path;
    struct store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];

    f->dir = test_tmpdir();
    f->path = xasprintf("%s/vnfm.db", f->dir);
    assert_int_equal(store_open(f->path, false, &f->st, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->st);
    free(f->path);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

static void newer_schema_refused(void **state)
{
    struct fx *f = *state;
    struct store *again = NULL;
    char err[256] = "";
    char *sql = xasprintf("sqlite3 '%s' 'PRAGMA user_version=99'", f->path);

    store_close(f->st);
    f->st = NULL;
    assert_int_equal(system(sql), 0);
    free(sql);
    assert_int_not_equal(store_open(f->path, false, &again, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(store_open(f->path, true, &f->st, err, sizeof(err)), 0);
}

/* A store written by schema version 1 (internal members inside doc) is
 * migrated: the record reads back whole, lists show no internal member. */
static void migrates_version_1(void **state)
{
    static const char v1[] =
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE tenants (id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
        "CREATE TABLE vnfds (id TEXT PRIMARY KEY, tenant TEXT, doc TEXT NOT NULL);"
        "CREATE TABLE sites (id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
        "CREATE TABLE deployments (id TEXT PRIMARY KEY, tenant TEXT, site TEXT, vnfd TEXT,"
        "  status TEXT, doc TEXT NOT NULL);"
        "CREATE TABLE vis (id TEXT PRIMARY KEY, deployment TEXT, site TEXT, vcpu REAL,"
        "  memory_mb INTEGER, disk_mb INTEGER, doc TEXT NOT NULL);"
        "CREATE TABLE ops (id TEXT PRIMARY KEY, deployment TEXT, tenant TEXT, type TEXT,"
        "  state TEXT, doc TEXT NOT NULL);"
        "CREATE TABLE tokens (id TEXT PRIMARY KEY, _hash TEXT UNIQUE, tenant TEXT, doc TEXT);"
        "INSERT INTO tokens VALUES ('t1', 'h', 'acme',"
        " '{\"id\":\"t1\",\"_hash\":\"h\",\"tenant\":\"acme\"}');"
        "PRAGMA user_version=1;";
    struct fx *f = *state;
    struct sbuf b = SBUF_INIT;
    json_t *got = NULL;
    char err[256], *old = xasprintf("%s/v1.db", f->dir), *sql = xasprintf("%s.sql", old);
    FILE *fp = fopen(sql, "w");

    fputs(v1, fp);
    fclose(fp);
    free(sql);
    sql = xasprintf("sqlite3 '%s' < '%s.sql'", old, old);
    assert_int_equal(system(sql), 0);
    free(sql);
    store_close(f->st);
    f->st = NULL;
    if (store_open(old, false, &f->st, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(store_disk_version(f->st), store_schema_version(f->st));
    assert_int_equal(store_get(f->st, STORE_TOKEN, "t1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "_hash")), "h");
    json_decref(got);
    assert_int_equal(store_list_public(f->st, STORE_TOKEN, NULL, &b), 0);
    assert_string_equal(sbuf_str(&b), "[{\"id\":\"t1\",\"tenant\":\"acme\"}]");
    sbuf_done(&b);
    free(old);
}

/* A store of schema version 4 (SOL003 notifications in a table of their
 * own) is migrated: each becomes an outbox entry of channel sol003 keyed by
 * its subscription, whole and in the same order, found through its key. */
static void migrates_notifications_to_the_outbox(void **state)
{
    static const char v4[] =
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE notifications (id TEXT PRIMARY KEY, subscription TEXT, doc TEXT NOT NULL,"
        "  priv TEXT);"
        "INSERT INTO notifications VALUES ('n2', 's1', '{\"id\":\"n2\",\"subscription\":\"s1\"}',"
        " '{\"_body\":{\"n\":1},\"_attempts\":3}');"
        "INSERT INTO notifications VALUES ('n1', 's2', '{\"id\":\"n1\",\"subscription\":\"s2\"}',"
        " NULL);"
        "INSERT INTO notifications VALUES ('n0', 's1', '{\"id\":\"n0\",\"subscription\":\"s1\"}',"
        " '{\"_body\":{\"n\":2}}');"
        "PRAGMA user_version=4;";
    struct fx *f = *state;
    struct store_where w[2] = {{"key", "s1", false}, {"channel", "sol003", false}};
    struct store_list_opts o = {.where = w, .n_where = 2};
    json_t *got = NULL, *list = NULL;
    char err[256], *old = xasprintf("%s/v4.db", f->dir), *sql = xasprintf("%s.sql", old);
    FILE *fp = fopen(sql, "w");

    fputs(v4, fp);
    fclose(fp);
    free(sql);
    sql = xasprintf("sqlite3 '%s' < '%s.sql'", old, old);
    assert_int_equal(system(sql), 0);
    free(sql);
    store_close(f->st);
    f->st = NULL;
    if (store_open(old, false, &f->st, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(store_disk_version(f->st), store_schema_version(f->st));
    assert_int_equal(store_get(f->st, STORE_OUTBOX, "n2", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "channel")), "sol003");
    assert_string_equal(json_string_value(json_object_get(got, "key")), "s1");
    assert_int_equal(json_integer_value(json_object_get(got, "_attempts")), 3);
    json_decref(got);
    assert_int_equal(store_list(f->st, STORE_OUTBOX, &o, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "n2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "id")), "n0");
    json_decref(list);
    assert_int_equal(store_count(f->st, STORE_OUTBOX, NULL, 0), 3);
    free(old);
}

/* ---- the write-ahead log ---- */

#define MB (1024 * 1024)

static long long file_size(const struct fx *f, const char *suffix)
{
    char *p = xasprintf("%s%s", f->path, suffix);
    struct stat sb;
    long long n = stat(p, &sb) == 0 ? (long long)sb.st_size : 0;

    free(p);
    return n;
}

struct maint {
    struct store *st;
    atomic_int asked;
    pthread_t th;
    bool running;
};

static void on_due(void *arg)
{
    atomic_fetch_add(&((struct maint *)arg)->asked, 1);
}

static void *maintain(void *arg)
{
    return (void *)(long)store_maintain(arg);
}

/* Commits records of pad bytes each, running maintenance on a thread of
 * its own whenever the store asks for it; the largest the log was. */
static long long write_load(const struct fx *f, struct maint *m, int n, size_t pad)
{
    char *big = xcalloc(1, pad + 1);
    long long most = 0;
    int asked = 0;

    memset(big, 'x', pad);
    for (int i = 0; i < n; i++) {
        json_t *vi =
            json_pack("{s:o, s:s, s:s}", "id", json_sprintf("vi%d", i), "site", "s", "blob", big);

        assert_int_equal(store_begin(m->st), 0);
        assert_int_equal(store_put(m->st, STORE_VI, vi), 0);
        assert_int_equal(store_commit(m->st), 0);
        json_decref(vi);
        if (file_size(f, "-wal") > most)
            most = file_size(f, "-wal");
        if (atomic_load(&m->asked) > asked) {
            if (m->running)
                pthread_join(m->th, NULL);
            asked = atomic_load(&m->asked);
            assert_int_equal(pthread_create(&m->th, NULL, maintain, m->st), 0);
            m->running = true;
        }
    }
    if (m->running)
        pthread_join(m->th, NULL);
    m->running = false;
    free(big);
    return most;
}

/* Checkpoints copy the log back into the database, and the writer starts
 * the log over, also one that commits without pause: the log stays within
 * its bound (16 MB, looked at every 4 MB) however much is written. A
 * checkpoint on a connection that had not read did nothing: the log grew
 * with every commit while the database stayed at 4 KB. */
static void wal_checkpointed_and_started_over(void **state)
{
    struct fx *f = *state;
    struct maint m = {.st = f->st};
    long long most;

    store_on_maintenance(f->st, on_due, &m);
    most = write_load(f, &m, 4000, 200); /* 60 MB of log without checkpoints */

    assert_true(atomic_load(&m.asked) >= 3);
    assert_true(file_size(f, "") > MB / 2);
    if (most > 24 * MB)
        fail_msg("the log reached %lld MB", most / MB);
}

/* Whether another connection could take the write lock now. */
static bool lock_free(const struct fx *f)
{
    char *sql = xasprintf("sqlite3 '%s' 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null", f->path);
    int r = system(sql);

    free(sql);
    return r == 0;
}

/* A transaction that writes nothing (a branch's report that changed
 * nothing stored) takes no write lock and costs no BEGIN and COMMIT; one
 * that writes takes it at its first write, and commits what it wrote. */
static void write_lock_taken_at_the_first_write(void **state)
{
    struct fx *f = *state;
    json_t *doc = NULL, *vi = json_pack("{s:s, s:s}", "id", "vi1", "site", "s");

    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_get(f->st, STORE_VI, "vi1", &doc), -ENOENT);
    assert_true(lock_free(f));
    assert_int_equal(store_commit(f->st), 0);

    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, STORE_VI, vi), 0);
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_false(lock_free(f));
    assert_int_equal(store_commit(f->st), 0);
    assert_true(lock_free(f));
    assert_int_equal(store_get(f->st, STORE_VI, "vi1", &doc), 0);
    json_decref(doc);
    json_decref(vi);
}

static void reader_calls(struct store *rd)
{
    struct store_where w = {"site", "s", false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = 1};
    struct store_usage u;
    struct sbuf b = SBUF_INIT;
    json_t *out = NULL;
    char *v = NULL;

    assert_int_equal(store_get(rd, STORE_VI, "vi1", &out), 0);
    json_decref(out);
    assert_int_equal(store_list(rd, STORE_VI, &o, &out), 0);
    json_decref(out);
    assert_int_equal(store_list_public(rd, STORE_VI, &o, &b), 0);
    sbuf_done(&b);
    assert_true(store_count(rd, STORE_VI, &w, 1) > 0);
    assert_int_equal(store_site_usage(rd, "s", &u), 0);
    assert_int_equal(store_log_query(rd, &(struct log_query){.limit = 1}, &out), 0);
    json_decref(out);
    store_log_last_seq(rd);
    assert_int_equal(store_meta_get(rd, "none", &v), -ENOENT);
}

/* A log that grew past its bound while a reader kept it in use is
 * truncated by the next maintenance after that reader is done; a reader
 * that only reads, outside a transaction, keeps nothing in use. */
static void wal_truncated_past_its_bound(void **state)
{
    struct fx *f = *state;
    struct maint m = {.st = f->st};
    struct store *rd;
    char err[256];
    json_t *got;

    assert_int_equal(store_open_reader(f->st, &rd, err, sizeof(err)), 0);
    write_load(f, &m, 2, 100);
    assert_int_equal(store_begin(rd), 0);
    assert_int_equal(store_get(rd, STORE_VI, "vi1", &got), 0); /* a snapshot, held */
    json_decref(got);
    write_load(f, &m, 400, 48 * 1024);
    assert_true(file_size(f, "-wal") > 16 * MB);
    assert_int_equal(store_maintain(f->st), -EBUSY);
    assert_true(file_size(f, "-wal") > 16 * MB);
    store_rollback(rd);
    reader_calls(rd);
    assert_int_equal(store_maintain(f->st), 0);
    assert_int_equal(file_size(f, "-wal"), 0);
    assert_true(file_size(f, "") > 16 * MB);
    reader_calls(rd);
    store_close(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_notifications_to_the_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_checkpointed_and_started_over, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_truncated_past_its_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(write_lock_taken_at_the_first_write, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
