/* The SQLite store: records, filters, transactions, migrations, the event
 * log, and readers that see only committed data. */
#include "unit.h"

#include "store/store.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>

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

static json_t *dep(const char *id, const char *tenant, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "tenant", tenant, "status", status,
                     "vnfd", "demo", "_secret", "x");
}

static void put_get_delete(void **state)
{
    struct fx *f = *state;
    json_t *d = dep("web1", "acme", "active"), *got = NULL;

    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "web1", &got), 0);
    assert_true(json_equal(d, got));
    json_decref(got);
    /* upsert replaces the document and its indexed columns */
    json_object_set_new(d, "status", json_string("failed"));
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "web1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "failed");
    json_decref(got);
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "web1"), 0);
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "web1"), -ENOENT);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "web1", &got), -ENOENT);
    json_decref(d);
}

static void put_needs_id(void **state)
{
    struct fx *f = *state;
    json_t *d = json_pack("{s:s}", "name", "x");

    assert_int_equal(store_put(f->st, STORE_TENANT, d), -EINVAL);
    json_decref(d);
}

static void list_filters_and_order(void **state)
{
    struct fx *f = *state;
    const char *ids[] = {"a", "b", "c", "d"};
    const char *tenants[] = {"t1", "t2", "t1", "t1"};
    struct store_where w[2] = {{"tenant", "t1", false}, {"status", "active", false}};
    struct store_list_opts o = {.where = w, .n_where = 1};
    json_t *list;

    for (int i = 0; i < 4; i++) {
        json_t *d = dep(ids[i], tenants[i], i == 3 ? "failed" : "active");

        assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
        json_decref(d);
    }
    assert_int_equal(store_list(f->st, STORE_DEPLOYMENT, &o, &list), 0);
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "a");
    json_decref(list);
    o.n_where = 2;
    o.newest_first = true;
    assert_int_equal(store_list(f->st, STORE_DEPLOYMENT, &o, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "c");
    json_decref(list);
    o.n_where = 0;
    o.limit = 2;
    o.offset = 1;
    o.newest_first = false;
    assert_int_equal(store_list(f->st, STORE_DEPLOYMENT, &o, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "b");
    json_decref(list);
    assert_int_equal(store_count(f->st, STORE_DEPLOYMENT, w, 1), 3);
}

static void unknown_column_refused(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"doc; DROP TABLE tenants", "x", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL;

    assert_int_equal(store_list(f->st, STORE_TENANT, &o, &list), -EINVAL);
    assert_null(list);
}

static void or_null_matches_globals(void **state)
{
    struct fx *f = *state;
    json_t *g = json_pack("{s:s, s:n}", "id", "global", "tenant");
    json_t *own = json_pack("{s:s, s:s}", "id", "own", "tenant", "t1");
    json_t *other = json_pack("{s:s, s:s}", "id", "other", "tenant", "t2");
    struct store_where w = {"tenant", "t1", true};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list;

    store_put(f->st, STORE_VNFD, g);
    store_put(f->st, STORE_VNFD, own);
    store_put(f->st, STORE_VNFD, other);
    assert_int_equal(store_list(f->st, STORE_VNFD, &o, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
    json_decref(g);
    json_decref(own);
    json_decref(other);
}

/* A reader sees the last committed state only; a rollback leaves nothing. */
static void transactions_and_readers(void **state)
{
    struct fx *f = *state;
    struct store *rd;
    json_t *d = dep("x", "t", "active"), *got = NULL;
    char err[256];

    assert_int_equal(store_open(f->path, true, &rd, err, sizeof(err)), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(rd, STORE_DEPLOYMENT, "x", &got), -ENOENT);
    store_rollback(f->st);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "x", &got), -ENOENT);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_get(rd, STORE_DEPLOYMENT, "x", &got), 0);
    json_decref(got);
    /* the read-only handle cannot write */
    assert_int_not_equal(store_put(rd, STORE_DEPLOYMENT, d), 0);
    store_close(rd);
    json_decref(d);
}

/* The writer keeps the records it read and wrote (store_cache.c): what it
 * returns is a copy, a write inside a transaction is seen by its queries,
 * a rolled back write is gone, and a committed one reaches other readers. */
static void writer_cache(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"status", "deploying", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *d = dep("c1", "t", "active"), *d2 = dep("c2", "t", "x"), *got = NULL, *list = NULL;
    struct store *rd;
    char err[256];

    assert_int_equal(store_open(f->path, true, &rd, err, sizeof(err)), 0);
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    /* a copy: changing it changes nothing stored */
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    json_object_set_new(got, "status", json_string("changed"));
    json_decref(got);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);
    /* written in a transaction: its own reads and queries see it, others not */
    assert_int_equal(store_begin(f->st), 0);
    json_object_set_new(d, "status", json_string("deploying"));
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "deploying");
    json_decref(got);
    assert_int_equal(store_list(f->st, STORE_DEPLOYMENT, &o, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(store_get(rd, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);
    /* rolled back: the cached write is gone too */
    store_rollback(f->st);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);
    /* a record written and deleted in one transaction is gone */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d2), 0);
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "c2"), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c2", &got), -ENOENT);
    /* committed: other readers see it */
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_get(rd, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "deploying");
    /* only what changed was rewritten: the index and the internal members hold */
    assert_string_equal(json_string_value(json_object_get(got, "_secret")), "x");
    json_decref(got);
    assert_int_equal(store_list(rd, STORE_DEPLOYMENT, &o, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(store_get(rd, STORE_DEPLOYMENT, "c2", &got), -ENOENT);
    /* new records reach SQLite in the order they were written (rowids) */
    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 5; i++) {
        char id[8];

        snprintf(id, sizeof(id), "o%d", i);
        json_object_set_new(d2, "id", json_string(id));
        assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d2), 0);
        assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0); /* reorders LRU */
        json_decref(got);
    }
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_list(rd, STORE_DEPLOYMENT, NULL, &list), 0);
    for (int i = 0; i < 5; i++) {
        char id[8];

        snprintf(id, sizeof(id), "o%d", i);
        assert_string_equal(json_string_value(json_object_get(json_array_get(list, i + 1), "id")),
                            id);
    }
    json_decref(list);
    store_close(rd);
    json_decref(d);
    json_decref(d2);
}

static void schema_versioned(void **state)
{
    struct fx *f = *state;
    struct store *again;
    char err[256];

    assert_int_equal(store_disk_version(f->st), store_schema_version());
    assert_int_equal(store_meta_set(f->st, "instance_tag", "abc123"), 0);
    store_close(f->st);
    /* reopening migrates nothing and keeps the data */
    assert_int_equal(store_open(f->path, false, &again, err, sizeof(err)), 0);
    f->st = again;
    {
        char *v = NULL;

        assert_int_equal(store_meta_get(f->st, "instance_tag", &v), 0);
        assert_string_equal(v, "abc123");
        free(v);
        assert_int_equal(store_meta_get(f->st, "nope", &v), -ENOENT);
    }
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

static void site_usage_sums_vis(void **state)
{
    struct fx *f = *state;
    struct store_usage u;

    for (int i = 0; i < 3; i++) {
        char id[8];
        json_t *vi;

        snprintf(id, sizeof(id), "vi%d", i);
        vi = json_pack("{s:s, s:s, s:s, s:f, s:i, s:i}", "id", id, "deployment", "d", "site",
                       i < 2 ? "s1" : "s2", "vcpu", 0.5, "memory_mb", 64, "disk_mb", 10);
        assert_int_equal(store_put(f->st, STORE_VI, vi), 0);
        json_decref(vi);
    }
    assert_int_equal(store_site_usage(f->st, "s1", &u), 0);
    assert_true(u.vcpu > 0.99 && u.vcpu < 1.01);
    assert_int_equal(u.memory_mb, 128);
    assert_int_equal(u.disk_mb, 20);
    assert_int_equal(u.vis, 2);
    assert_int_equal(store_site_usage(f->st, "none", &u), 0);
    assert_int_equal(u.vis, 0);
}

static void event_log(void **state)
{
    struct fx *f = *state;
    struct log_query q = {0};
    json_t *out;

    for (int i = 0; i < 5; i++) {
        json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:s}", "level", "info",
                                "category", i % 2 ? "lifecycle" : "api", "event", "stage",
                                "deployment", i < 3 ? "web1" : "web2", "object",
                                i < 3 ? "deployment/web1" : "deployment/web2", "tags",
                                i == 4 ? "branch_7" : "lb", "message", "m");

        assert_int_equal(store_log_append(f->st, rec), 0);
        assert_int_equal(json_integer_value(json_object_get(rec, "seq")), i + 1);
        assert_non_null(json_object_get(rec, "time"));
        json_decref(rec);
    }
    assert_int_equal(store_log_last_seq(f->st), 5);
    q.category = "lifecycle";
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    memset(&q, 0, sizeof(q));
    q.tag = "branch_7"; /* '_' must not act as a wildcard */
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_array_size(out), 1);
    json_decref(out);
    q.tag = "branchX7";
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    memset(&q, 0, sizeof(q));
    q.object = "web1";
    q.after_seq = 1;
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    memset(&q, 0, sizeof(q));
    q.limit = 2;
    q.tail = true;
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "seq")), 4);
    json_decref(out);
    assert_int_equal(store_log_prune(f->st, 2), 3);
    memset(&q, 0, sizeof(q));
    assert_int_equal(store_log_query(f->st, &q, &out), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
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
    assert_int_equal(store_disk_version(f->st), store_schema_version());
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
    assert_int_equal(store_disk_version(f->st), store_schema_version());
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(put_needs_id, setup, teardown),
        cmocka_unit_test_setup_teardown(list_filters_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_column_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(or_null_matches_globals, setup, teardown),
        cmocka_unit_test_setup_teardown(transactions_and_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(writer_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_versioned, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_notifications_to_the_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(site_usage_sums_vis, setup, teardown),
        cmocka_unit_test_setup_teardown(event_log, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
