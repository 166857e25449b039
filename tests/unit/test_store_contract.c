/* The store's contract (src/store/store_backend.h), run against every
 * backend in backends[] (SQLite, and etcd on a real server): records, lists and their filters and
 * order, counts, meta, the event log, transactions, readers, the writer's cache and maintenance. A
 * new backend is one more entry in that table. What only SQLite does (migrations, its write-ahead
 * log) is in test_store.c. */
#include "unit.h"
#include "unit_etcd.h"

#include "store/store.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

/* A backend under test: where a new, empty store of it lives. */
struct backend {
    const char *name;
    char *(*create)(void);        /* a location for store_open (malloc'd) */
    void (*destroy)(char *where); /* removes the store, frees where */
    int (*start)(void **state);   /* before its group: starts its server; may be NULL */
    int (*stop)(void **state);    /* after its group */
};

static char *sqlite_create(void)
{
    char *dir = test_tmpdir(), *where = xasprintf("%s/vnfm.db", dir);

    free(dir);
    return where;
}

static void sqlite_destroy(char *where)
{
    *strrchr(where, '/') = '\0';
    test_rmdir(where);
}

/* etcd: one real server for the whole run (unit_etcd.h); each test case
 * gets a key prefix of its own. */
static struct test_etcd *etcd;
static unsigned etcd_cases;

static int etcd_start(void **state)
{
    (void)state;
    etcd = test_etcd_start(1);
    return 0;
}

static int etcd_stop(void **state)
{
    (void)state;
    test_etcd_stop(etcd);
    return 0;
}

static char *etcd_create(void)
{
    return xasprintf("etcd://%s/unit/c%u", etcd->endpoints, ++etcd_cases);
}

static void etcd_destroy(char *where)
{
    free(where); /* its keys go with the server */
}

static const struct backend backends[] = {
    {"sqlite", sqlite_create, sqlite_destroy, NULL, NULL},
    {"etcd", etcd_create, etcd_destroy, etcd_start, etcd_stop},
};

static const struct backend *cur; /* the backend the running group tests */

struct fx {
    char *where;
    struct store *st; /* the writer */
    struct store *rd; /* a reader of it */
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char err[256];

    f->where = cur->create();
    if (store_open(f->where, false, &f->st, err, sizeof(err)))
        fail_msg("%s: %s", cur->name, err);
    if (store_open_reader(f->st, &f->rd, err, sizeof(err)))
        fail_msg("%s: %s", cur->name, err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->rd);
    store_close(f->st);
    cur->destroy(f->where);
    free(f);
    return 0;
}

static json_t *dep(const char *id, const char *tenant, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "tenant", tenant, "status", status,
                     "vnfd", "demo", "_secret", "x");
}

static void put(struct store *st, enum store_kind kind, json_t *doc)
{
    assert_int_equal(store_put(st, kind, doc), 0);
    json_decref(doc);
}

static const char *id_at(const json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), "id"));
}

/* The ids of a list, "a,b,c". */
static char *ids(struct store *st, enum store_kind kind, const struct store_list_opts *o)
{
    struct sbuf b = SBUF_INIT;
    json_t *list = NULL;

    assert_int_equal(store_list(st, kind, o, &list), 0);
    for (size_t i = 0; i < json_array_size(list); i++)
        sbuf_addf(&b, "%s%s", i ? "," : "", id_at(list, i));
    json_decref(list);
    return sbuf_take(&b);
}

#define assert_ids(st, kind, o, want)    \
    do {                                 \
        char *got_ = ids(st, kind, o);   \
        assert_string_equal(got_, want); \
        free(got_);                      \
    } while (0)

static bool has(struct store *st, enum store_kind kind, const char *id)
{
    json_t *doc = NULL;
    int r = store_get(st, kind, id, &doc);

    assert_true(r == 0 || r == -ENOENT);
    json_decref(doc);
    return r == 0;
}

/* ---- records ---- */

static void put_get_delete(void **state)
{
    struct fx *f = *state;
    json_t *d = dep("web1", "acme", "active"), *got = NULL;
    struct store_where w = {"status", "failed", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};

    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    /* the whole record, internal members included */
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "web1", &got), 0);
    assert_true(json_equal(d, got));
    json_decref(got);
    assert_int_equal(store_get(f->rd, STORE_DEPLOYMENT, "web1", &got), 0);
    assert_true(json_equal(d, got));
    json_decref(got);
    /* an upsert replaces the record and its indexed columns */
    json_object_set_new(d, "status", json_string("failed"));
    json_object_del(d, "_secret");
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->rd, STORE_DEPLOYMENT, "web1", &got), 0);
    assert_true(json_equal(d, got));
    json_decref(got);
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "web1");
    w.value = "active";
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "");
    /* gone, and -ENOENT for what is not there; out untouched */
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "web1"), 0);
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "web1"), -ENOENT);
    got = NULL;
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "web1", &got), -ENOENT);
    assert_int_equal(store_get(f->rd, STORE_DEPLOYMENT, "web1", &got), -ENOENT);
    assert_null(got);
    json_decref(d);
}

static void put_needs_id(void **state)
{
    struct fx *f = *state;
    json_t *d = json_pack("{s:s}", "name", "x"), *n = json_pack("{s:i}", "id", 7);

    assert_int_equal(store_put(f->st, STORE_TENANT, d), -EINVAL);
    assert_int_equal(store_put(f->st, STORE_TENANT, n), -EINVAL);
    assert_int_equal(store_count(f->rd, STORE_TENANT, NULL, 0), 0);
    json_decref(d);
    json_decref(n);
}

/* Each kind is its own name space. */
static void kinds_are_apart(void **state)
{
    struct fx *f = *state;

    put(f->st, STORE_TENANT, json_pack("{s:s}", "id", "same"));
    put(f->st, STORE_SITE, json_pack("{s:s}", "id", "same"));
    assert_int_equal(store_delete(f->st, STORE_TENANT, "same"), 0);
    assert_true(has(f->rd, STORE_SITE, "same"));
    assert_false(has(f->rd, STORE_TENANT, "same"));
    for (int k = 0; k < STORE_KIND_COUNT; k++)
        assert_non_null(store_kind_name((enum store_kind)k));
}

/* A column no two records share refuses the second at its write. */
static void unique_column(void **state)
{
    struct fx *f = *state;
    json_t *t2 = json_pack("{s:s, s:s, s:s}", "id", "t2", "_hash", "h1", "tenant", "a");

    put(f->st, STORE_TOKEN, json_pack("{s:s, s:s, s:s}", "id", "t1", "_hash", "h1", "tenant", "a"));
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_put(f->st, STORE_TOKEN, t2), -EEXIST);
    store_rollback(f->st);
    assert_int_equal(store_count(f->rd, STORE_TOKEN, NULL, 0), 1);
    json_decref(t2);
}

/* ---- lists ---- */

static void list_filters(void **state)
{
    struct fx *f = *state;
    const char *tenants[] = {"t1", "t2", "t1", "t1"};
    struct store_where w[2] = {{"tenant", "t1", false}, {"status", "active", false}};
    struct store_list_opts o = {.where = w, .n_where = 1};
    struct store_where by_id = {"id", "c", false};

    for (int i = 0; i < 4; i++) {
        char id[2] = {(char)('a' + i), 0};

        put(f->st, STORE_DEPLOYMENT, dep(id, tenants[i], i == 3 ? "failed" : "active"));
    }
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "a,c,d");
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, w, 1), 3);
    o.n_where = 2; /* ANDed */
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "a,c");
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, w, 2), 2);
    w[0].value = "t9";
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "");
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, w, 2), 0);
    /* id is a column too */
    o = (struct store_list_opts){.where = &by_id, .n_where = 1};
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "c");
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, NULL, 0), 4);
}

/* or_null also matches records whose member is absent or null. */
static void or_null_matches_globals(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"tenant", "t1", true};
    struct store_list_opts o = {.where = &w, .n_where = 1};

    put(f->st, STORE_VNFD, json_pack("{s:s, s:n}", "id", "global", "tenant"));
    put(f->st, STORE_VNFD, json_pack("{s:s, s:s}", "id", "own", "tenant", "t1"));
    put(f->st, STORE_VNFD, json_pack("{s:s, s:s}", "id", "other", "tenant", "t2"));
    put(f->st, STORE_VNFD, json_pack("{s:s}", "id", "absent"));
    assert_ids(f->rd, STORE_VNFD, &o, "global,own,absent");
    assert_int_equal(store_count(f->rd, STORE_VNFD, &w, 1), 3);
    w.or_null = false;
    assert_ids(f->rd, STORE_VNFD, &o, "own");
}

static void unknown_column_refused(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"doc; DROP TABLE tenants", "x", false};
    struct store_where priv = {"_secret", "x", false}; /* a member, not an indexed column */
    struct store_list_opts o = {.where = &w, .n_where = 1};
    struct sbuf b = SBUF_INIT;
    json_t *list = NULL;

    put(f->st, STORE_DEPLOYMENT, dep("a", "t", "active"));
    assert_int_equal(store_list(f->st, STORE_TENANT, &o, &list), -EINVAL);
    assert_null(list);
    assert_int_equal(store_list_public(f->rd, STORE_TENANT, &o, &b), -EINVAL);
    assert_int_equal(store_count(f->rd, STORE_TENANT, &w, 1), -EINVAL);
    o.where = &priv;
    assert_int_equal(store_list(f->rd, STORE_DEPLOYMENT, &o, &list), -EINVAL);
    assert_int_equal(store_count(f->st, STORE_DEPLOYMENT, &priv, 1), -EINVAL);
    sbuf_done(&b);
}

/* The order records were first written in; a rewrite keeps the place, a
 * delete and write again goes last. */
static void list_order_limit_offset(void **state)
{
    struct fx *f = *state;
    struct store_list_opts o = {0};

    for (int i = 0; i < 5; i++) {
        char id[2] = {(char)('a' + i), 0};

        put(f->st, STORE_DEPLOYMENT, dep(id, "t", "active"));
    }
    put(f->st, STORE_DEPLOYMENT, dep("b", "t", "failed"));
    assert_ids(f->rd, STORE_DEPLOYMENT, NULL, "a,b,c,d,e");
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "a"), 0);
    put(f->st, STORE_DEPLOYMENT, dep("a", "t", "active"));
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "b,c,d,e,a");
    o.newest_first = true;
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "a,e,d,c,b");
    o.limit = 2;
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "a,e");
    o.offset = 1;
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "e,d");
    o.newest_first = false;
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "c,d");
    o.limit = 0; /* no limit, an offset alone */
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "c,d,e,a");
    o.offset = 9;
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "");
    /* limit and offset count the matching records */
    {
        struct store_where w = {"status", "active", false};

        o = (struct store_list_opts){.where = &w, .n_where = 1, .limit = 2, .offset = 1};
        assert_ids(f->rd, STORE_DEPLOYMENT, &o, "d,e");
    }
}

/* The same records as store_list, their public members only, as JSON. */
static void list_public(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"tenant", "t1", false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .newest_first = true, .limit = 2};
    struct sbuf b = SBUF_INIT;
    json_t *arr;

    assert_int_equal(store_list_public(f->rd, STORE_DEPLOYMENT, NULL, &b), 0);
    assert_string_equal(sbuf_str(&b), "[]");
    sbuf_done(&b);
    put(f->st, STORE_DEPLOYMENT, dep("a", "t1", "active"));
    put(f->st, STORE_DEPLOYMENT, dep("b", "t2", "active"));
    put(f->st, STORE_DEPLOYMENT, dep("c", "t1", "active"));
    put(f->st, STORE_DEPLOYMENT, dep("d", "t1", "active"));
    sbuf_adds(&b, "prefix:"); /* appended to what out holds */
    assert_int_equal(store_list_public(f->rd, STORE_DEPLOYMENT, &o, &b), 0);
    assert_memory_equal(sbuf_str(&b), "prefix:", 7);
    arr = json_loads(sbuf_str(&b) + 7, 0, NULL);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(id_at(arr, 0), "d");
    assert_string_equal(id_at(arr, 1), "c");
    assert_null(json_object_get(json_array_get(arr, 0), "_secret"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "status")),
                        "active");
    json_decref(arr);
    sbuf_done(&b);
}

static void site_usage_sums_vis(void **state)
{
    struct fx *f = *state;
    struct store_usage u = {0};

    for (int i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "vi%d", i);
        put(f->st, STORE_VI,
            json_pack("{s:s, s:s, s:s, s:f, s:i, s:i}", "id", id, "deployment", "d", "site",
                      i < 2 ? "s1" : "s2", "vcpu", 0.5, "memory_mb", 64, "disk_mb", 10));
    }
    put(f->st, STORE_VI, json_pack("{s:s, s:s}", "id", "bare", "site", "s1")); /* counts 0 */
    assert_int_equal(store_site_usage(f->rd, "s1", &u), 0);
    assert_true(u.vcpu > 0.99 && u.vcpu < 1.01);
    assert_int_equal(u.memory_mb, 128);
    assert_int_equal(u.disk_mb, 20);
    assert_int_equal(u.vis, 3);
    /* the writer's open transaction counts what it wrote */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_delete(f->st, STORE_VI, "vi0"), 0);
    put(f->st, STORE_VI,
        json_pack("{s:s, s:s, s:f, s:i}", "id", "vi1", "site", "s1", "vcpu", 2.0, "memory_mb", 1));
    assert_int_equal(store_site_usage(f->st, "s1", &u), 0);
    assert_true(u.vcpu > 1.99 && u.vcpu < 2.01);
    assert_int_equal(u.memory_mb, 1);
    assert_int_equal(u.vis, 2);
    store_rollback(f->st);
    assert_int_equal(store_site_usage(f->st, "none", &u), 0);
    assert_int_equal(u.vis, 0);
    assert_int_equal(u.memory_mb, 0);
}

/* ---- meta ---- */

static void meta(void **state)
{
    struct fx *f = *state;
    char *v = NULL;

    assert_int_equal(store_meta_get(f->st, "instance_tag", &v), -ENOENT);
    assert_null(v);
    assert_int_equal(store_meta_set(f->st, "instance_tag", "abc123"), 0);
    assert_int_equal(store_meta_get(f->rd, "instance_tag", &v), 0);
    assert_string_equal(v, "abc123");
    free(v);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_meta_set(f->st, "instance_tag", "def456"), 0);
    assert_int_equal(store_meta_get(f->st, "instance_tag", &v), 0);
    assert_string_equal(v, "def456");
    free(v);
    store_rollback(f->st);
    assert_int_equal(store_meta_get(f->rd, "instance_tag", &v), 0);
    assert_string_equal(v, "abc123");
    free(v);
    assert_int_equal(store_meta_set(f->st, "instance_tag", "ghi789"), 0);
    assert_int_equal(store_meta_get(f->rd, "instance_tag", &v), 0);
    assert_string_equal(v, "ghi789");
    free(v);
}

/* ---- the event log ---- */

static json_t *log_rec(int i)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s}", "level",
                     i == 2 ? "error" : "info", "category", i % 2 ? "lifecycle" : "api", "event",
                     i == 3 ? "end" : "stage", "tenant", i == 0 ? "acme" : "other", "deployment",
                     i < 3 ? "web1" : "web2", "operation", i == 1 ? "op-1" : "op-2", "object",
                     i < 3 ? "deployment/web1" : "vi/abc", "vi", i == 4 ? "abc" : "none", "tags",
                     i == 4 ? "branch_7" : "lb", "message", "m");
}

static size_t n_logs(struct store *st, struct log_query q)
{
    json_t *out = NULL;
    size_t n;

    assert_int_equal(store_log_query(st, &q, &out), 0);
    n = json_array_size(out);
    json_decref(out);
    return n;
}

static void event_log_append_and_query(void **state)
{
    struct fx *f = *state;
    json_t *out;

    assert_int_equal(store_log_last_seq(f->rd), 0);
    for (int i = 0; i < 5; i++) {
        json_t *rec = log_rec(i);

        assert_int_equal(store_log_append(f->st, rec), 0);
        assert_int_equal(json_integer_value(json_object_get(rec, "seq")), i + 1);
        assert_non_null(json_object_get(rec, "time")); /* set when missing */
        json_decref(rec);
    }
    assert_int_equal(store_log_last_seq(f->rd), 5);
    assert_int_equal(n_logs(f->rd, (struct log_query){0}), 5);
    assert_int_equal(n_logs(f->rd, (struct log_query){.category = "lifecycle"}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.level = "error"}), 1);
    assert_int_equal(n_logs(f->rd, (struct log_query){.event = "end"}), 1);
    assert_int_equal(n_logs(f->rd, (struct log_query){.deployment = "web2"}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.operation = "op-1"}), 1);
    assert_int_equal(n_logs(f->rd, (struct log_query){.tenant = "acme"}), 1);
    /* a tag is matched whole: '_' is no wildcard */
    assert_int_equal(n_logs(f->rd, (struct log_query){.tag = "branch_7"}), 1);
    assert_int_equal(n_logs(f->rd, (struct log_query){.tag = "branchX7"}), 0);
    assert_int_equal(n_logs(f->rd, (struct log_query){.tag = "branch"}), 0);
    /* object: the object, its id, the deployment, operation or VI */
    assert_int_equal(n_logs(f->rd, (struct log_query){.object = "web1"}), 3);
    assert_int_equal(n_logs(f->rd, (struct log_query){.object = "deployment/web1"}), 3);
    assert_int_equal(n_logs(f->rd, (struct log_query){.object = "abc"}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.object = "op-1"}), 1);
    assert_int_equal(n_logs(f->rd, (struct log_query){.object = "web1", .after_seq = 1}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.after_seq = 1, .max_seq = 3}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.limit = 3}), 3);
    /* oldest first; tail: the newest, still oldest first */
    assert_int_equal(store_log_query(f->rd, &(struct log_query){.limit = 2, .tail = true}, &out),
                     0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "seq")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 1), "seq")), 5);
    json_decref(out);
    assert_int_equal(store_log_query(f->rd, &(struct log_query){.limit = 2}, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "message")), "m");
    json_decref(out);
}

static void event_log_time(void **state)
{
    struct fx *f = *state;
    const char *times[] = {"2030-01-01T00:00:00.000Z", "2030-01-02T00:00:00.000Z",
                           "2030-01-03T00:00:00.000Z"};
    int64_t day = 86400000, jan1 = 1893456000000;

    for (int i = 0; i < 3; i++) {
        json_t *rec =
            json_pack("{s:s, s:s, s:s}", "time", times[i], "level", "info", "message", "m");

        assert_int_equal(store_log_append(f->st, rec), 0);
        assert_string_equal(json_string_value(json_object_get(rec, "time")), times[i]);
        json_decref(rec);
    }
    assert_int_equal(n_logs(f->rd, (struct log_query){.since_ms = jan1 + day}), 2);
    assert_int_equal(n_logs(f->rd, (struct log_query){.until_ms = jan1 + day}), 2);
    assert_int_equal(
        n_logs(f->rd, (struct log_query){.since_ms = jan1 + 1, .until_ms = jan1 + 2 * day - 1}), 1);
}

/* Prune keeps the newest; seqs go on from where they were; a rolled back
 * append leaves nothing. */
static void event_log_prune_and_rollback(void **state)
{
    struct fx *f = *state;
    json_t *rec, *out;

    for (int i = 0; i < 5; i++) {
        rec = log_rec(i);
        assert_int_equal(store_log_append(f->st, rec), 0);
        json_decref(rec);
    }
    assert_int_equal(store_log_prune(f->st, 2), 3);
    assert_int_equal(store_log_prune(f->st, 2), 0);
    assert_int_equal(store_log_query(f->rd, &(struct log_query){0}, &out), 0);
    assert_int_equal(json_array_size(out), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "seq")), 4);
    json_decref(out);
    assert_int_equal(store_log_last_seq(f->rd), 5);
    assert_int_equal(store_begin(f->st), 0);
    rec = log_rec(0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 6);
    json_decref(rec);
    assert_int_equal(n_logs(f->rd, (struct log_query){0}), 2); /* not committed */
    store_rollback(f->st);
    assert_int_equal(n_logs(f->st, (struct log_query){0}), 2);
    rec = log_rec(1);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_true(json_integer_value(json_object_get(rec, "seq")) > 5);
    assert_int_equal(store_log_last_seq(f->rd), json_integer_value(json_object_get(rec, "seq")));
    json_decref(rec);
    assert_int_equal(n_logs(f->rd, (struct log_query){0}), 3);
}

/* ---- transactions and readers ---- */

/* A rolled back transaction leaves nothing: records (kept by the cache or
 * not), deletes, meta, log records. */
static void rollback_undoes_everything(void **state)
{
    struct fx *f = *state;
    json_t *got = NULL, *rec = log_rec(0);

    put(f->st, STORE_DEPLOYMENT, dep("keep", "t", "active"));
    put(f->st, STORE_TENANT, json_pack("{s:s}", "id", "gone"));
    assert_int_equal(store_begin(f->st), 0);
    put(f->st, STORE_DEPLOYMENT, dep("new", "t", "active"));
    put(f->st, STORE_DEPLOYMENT, dep("keep", "t", "failed"));
    put(f->st, STORE_TOKEN, json_pack("{s:s, s:s}", "id", "tok", "_hash", "h"));
    assert_int_equal(store_delete(f->st, STORE_TENANT, "gone"), 0);
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_int_equal(store_count(f->st, STORE_DEPLOYMENT, NULL, 0), 2);
    store_rollback(f->st);
    for (struct store *st = f->st;; st = f->rd) {
        char *v = NULL;

        assert_false(has(st, STORE_DEPLOYMENT, "new"));
        assert_false(has(st, STORE_TOKEN, "tok"));
        assert_true(has(st, STORE_TENANT, "gone"));
        assert_int_equal(store_get(st, STORE_DEPLOYMENT, "keep", &got), 0);
        assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
        json_decref(got);
        assert_int_equal(store_meta_get(st, "k", &v), -ENOENT);
        assert_int_equal(n_logs(st, (struct log_query){0}), 0);
        assert_int_equal(store_count(st, STORE_DEPLOYMENT, NULL, 0), 1);
        if (st == f->rd)
            break;
    }
    json_decref(rec);
}

/* A reader sees the last commit only: nothing of an open transaction. */
static void readers_see_committed_only(void **state)
{
    struct fx *f = *state;
    json_t *rec = log_rec(0);
    struct store_usage u;

    put(f->st, STORE_VI, json_pack("{s:s, s:s, s:i}", "id", "v0", "site", "s", "memory_mb", 1));
    assert_int_equal(store_begin(f->st), 0);
    put(f->st, STORE_DEPLOYMENT, dep("x", "t", "active"));
    put(f->st, STORE_VI, json_pack("{s:s, s:s, s:i}", "id", "v1", "site", "s", "memory_mb", 2));
    assert_int_equal(store_delete(f->st, STORE_VI, "v0"), 0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_ids(f->st, STORE_VI, NULL, "v1"); /* the writer sees its own */
    assert_false(has(f->rd, STORE_DEPLOYMENT, "x"));
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, NULL, 0), 0);
    assert_ids(f->rd, STORE_VI, NULL, "v0");
    assert_int_equal(store_site_usage(f->rd, "s", &u), 0);
    assert_int_equal(u.memory_mb, 1);
    assert_int_equal(store_log_last_seq(f->rd), 0);
    assert_int_equal(n_logs(f->rd, (struct log_query){0}), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_true(has(f->rd, STORE_DEPLOYMENT, "x"));
    assert_ids(f->rd, STORE_VI, NULL, "v1");
    assert_int_equal(store_log_last_seq(f->rd), 1);
    json_decref(rec);
}

/* A write made outside a transaction is committed at once. */
static void writes_outside_a_transaction(void **state)
{
    struct fx *f = *state;
    json_t *rec = log_rec(0);
    char *v = NULL;

    put(f->st, STORE_DEPLOYMENT, dep("x", "t", "active"));
    put(f->st, STORE_TOKEN, json_pack("{s:s, s:s}", "id", "tok", "_hash", "h"));
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_true(has(f->rd, STORE_DEPLOYMENT, "x"));
    assert_true(has(f->rd, STORE_TOKEN, "tok"));
    assert_int_equal(store_meta_get(f->rd, "k", &v), 0);
    free(v);
    assert_int_equal(n_logs(f->rd, (struct log_query){0}), 1);
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "x"), 0);
    assert_false(has(f->rd, STORE_DEPLOYMENT, "x"));
    json_decref(rec);
}

static void readers_cannot_write(void **state)
{
    struct fx *f = *state;
    json_t *d = dep("x", "t", "active"), *rec = log_rec(0);

    put(f->st, STORE_DEPLOYMENT, dep("y", "t", "active"));
    assert_int_not_equal(store_put(f->rd, STORE_DEPLOYMENT, d), 0);
    assert_int_not_equal(store_delete(f->rd, STORE_DEPLOYMENT, "y"), 0);
    assert_int_not_equal(store_meta_set(f->rd, "k", "v"), 0);
    assert_int_not_equal(store_log_append(f->rd, rec), 0);
    assert_true(store_log_prune(f->rd, 0) < 0);
    assert_false(has(f->st, STORE_DEPLOYMENT, "x"));
    assert_true(has(f->st, STORE_DEPLOYMENT, "y"));
    assert_int_equal(n_logs(f->st, (struct log_query){0}), 0);
    json_decref(d);
    json_decref(rec);
}

/* Every read of a reader outside a transaction: none holds on to what it
 * saw, so the next read sees the next commit. */
static void reader_call(struct store *rd, int which)
{
    struct store_where w = {"status", "active", false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = 1};
    struct store_usage u;
    struct sbuf b = SBUF_INIT;
    json_t *out = NULL;
    char *v = NULL;

    switch (which) {
    case 0:
        store_get(rd, STORE_DEPLOYMENT, "d0", &out);
        break;
    case 1:
        store_list(rd, STORE_DEPLOYMENT, &o, &out);
        break;
    case 2:
        store_list_public(rd, STORE_DEPLOYMENT, &o, &b);
        break;
    case 3:
        store_count(rd, STORE_DEPLOYMENT, &w, 1);
        break;
    case 4:
        store_log_query(rd, &(struct log_query){.limit = 1}, &out);
        break;
    case 5:
        store_log_last_seq(rd);
        break;
    case 6:
        store_meta_get(rd, "k", &v);
        break;
    case 7:
        store_site_usage(rd, "s", &u);
        break;
    default: /* a read transaction, ended */
        assert_int_equal(store_begin(rd), 0);
        store_get(rd, STORE_DEPLOYMENT, "d0", &out);
        store_rollback(rd);
    }
    json_decref(out);
    sbuf_done(&b);
    free(v);
}

static void readers_hold_nothing_between_calls(void **state)
{
    struct fx *f = *state;

    for (int i = 0; i < 6; i++) {
        char id[8];

        snprintf(id, sizeof(id), "d%d", i);
        put(f->st, STORE_DEPLOYMENT, dep(id, "t", "active"));
    }
    for (int which = 0; which <= 8; which++) {
        char id[16], *v = NULL;
        json_t *rec = log_rec(0);

        reader_call(f->rd, which);
        reader_call(f->rd, which); /* a cached statement, say, used twice */
        snprintf(id, sizeof(id), "n%d", which);
        put(f->st, STORE_DEPLOYMENT, dep(id, "t", "active"));
        assert_int_equal(store_meta_set(f->st, "k", id), 0);
        assert_int_equal(store_log_append(f->st, rec), 0);
        /* first a statement the call did not use (using its own again
         * would reset it) */
        assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, NULL, 0), 7 + which);
        assert_int_equal(store_log_last_seq(f->rd), which + 1);
        assert_int_equal(store_meta_get(f->rd, "k", &v), 0);
        assert_string_equal(v, id);
        assert_true(has(f->rd, STORE_DEPLOYMENT, id));
        free(v);
        json_decref(rec);
    }
}

/* A reader's transaction is a snapshot, taken at its begin. */
static void read_transaction_is_a_snapshot(void **state)
{
    struct fx *f = *state;
    json_t *rec = log_rec(0);
    struct sbuf b = SBUF_INIT;

    put(f->st, STORE_DEPLOYMENT, dep("a", "t", "active"));
    assert_int_equal(store_begin(f->rd), 0);
    put(f->st, STORE_DEPLOYMENT, dep("b", "t", "active")); /* after the begin, before a read */
    assert_false(has(f->rd, STORE_DEPLOYMENT, "b"));
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "a"), 0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_true(has(f->rd, STORE_DEPLOYMENT, "a"));
    assert_ids(f->rd, STORE_DEPLOYMENT, NULL, "a");
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, NULL, 0), 1);
    assert_int_equal(store_list_public(f->rd, STORE_DEPLOYMENT, NULL, &b), 0);
    assert_non_null(strstr(sbuf_str(&b), "\"a\""));
    assert_int_equal(store_log_last_seq(f->rd), 0);
    store_rollback(f->rd);
    assert_ids(f->rd, STORE_DEPLOYMENT, NULL, "b");
    assert_int_equal(store_log_last_seq(f->rd), 1);
    sbuf_done(&b);
    json_decref(rec);
}

/* ---- the writer's cache (store_cache.c, above every backend) ---- */

/* What the writer returns is a copy; a write inside a transaction is seen
 * by its own reads and queries and by no reader; a rolled back one is
 * gone; written then deleted in one transaction is gone; committed, it
 * reaches readers whole, with its internal members. */
static void writer_cache(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"status", "deploying", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *d = dep("c1", "t", "active"), *got = NULL;

    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    json_object_set_new(got, "status", json_string("changed"));
    json_decref(got);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);
    /* what the caller changes after the put is not stored either */
    json_object_set_new(d, "status", json_string("mutated"));
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);

    assert_int_equal(store_begin(f->st), 0);
    json_object_set_new(d, "status", json_string("deploying"));
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "deploying");
    json_decref(got);
    assert_ids(f->st, STORE_DEPLOYMENT, &o, "c1");
    assert_int_equal(store_count(f->st, STORE_DEPLOYMENT, &w, 1), 1);
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "");
    store_rollback(f->st);
    assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "active");
    json_decref(got);

    assert_int_equal(store_begin(f->st), 0);
    put(f->st, STORE_DEPLOYMENT, dep("c2", "t", "x"));
    assert_int_equal(store_delete(f->st, STORE_DEPLOYMENT, "c2"), 0);
    assert_false(has(f->st, STORE_DEPLOYMENT, "c2"));
    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_get(f->rd, STORE_DEPLOYMENT, "c1", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "deploying");
    assert_string_equal(json_string_value(json_object_get(got, "_secret")), "x");
    json_decref(got);
    assert_ids(f->rd, STORE_DEPLOYMENT, &o, "c1");
    assert_false(has(f->rd, STORE_DEPLOYMENT, "c2"));
    json_decref(d);
}

/* Internal members changed alone, and indexed members changed alone, reach
 * the backend (the cache hands it what the backend had, to write only what
 * changed). */
static void writer_cache_partial_changes(void **state)
{
    struct fx *f = *state;
    struct store_where w = {"tenant", "t2", false};
    json_t *d = dep("p", "t1", "active"), *got = NULL;

    assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, d), 0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(store_begin(f->st), 0);
        assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "p", &got), 0);
        if (round == 0)
            json_object_set_new(got, "_secret", json_string("y"));
        else if (round == 1)
            json_object_set_new(got, "tenant", json_string("t2"));
        else
            json_object_del(got, "_secret");
        assert_int_equal(store_put(f->st, STORE_DEPLOYMENT, got), 0);
        json_decref(got);
        assert_int_equal(store_commit(f->st), 0);
    }
    assert_int_equal(store_get(f->rd, STORE_DEPLOYMENT, "p", &got), 0);
    assert_null(json_object_get(got, "_secret"));
    assert_string_equal(json_string_value(json_object_get(got, "tenant")), "t2");
    json_decref(got);
    assert_int_equal(store_count(f->rd, STORE_DEPLOYMENT, &w, 1), 1);
    json_decref(d);
}

/* New records of a transaction take their places in the order they were
 * written, whatever else the transaction read in between; and more records
 * than the cache keeps all reach the backend. */
static void writer_cache_order(void **state)
{
    struct fx *f = *state;
    struct sbuf want = SBUF_INIT;
    json_t *got;

    put(f->st, STORE_DEPLOYMENT, dep("c1", "t", "active"));
    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 600; i++) {
        char id[8];

        snprintf(id, sizeof(id), "o%d", i);
        put(f->st, STORE_DEPLOYMENT, dep(id, "t", "x"));
        assert_int_equal(store_get(f->st, STORE_DEPLOYMENT, "c1", &got), 0); /* reorders LRU */
        json_decref(got);
        sbuf_addf(&want, ",%s", id);
    }
    assert_int_equal(store_commit(f->st), 0);
    {
        char *all = xasprintf("c1%s", sbuf_str(&want));

        assert_ids(f->rd, STORE_DEPLOYMENT, NULL, all);
        free(all);
    }
    sbuf_done(&want);
}

/* ---- maintenance ---- */

struct maint {
    struct store *st;
    atomic_int asked, started, failed;
    atomic_bool twice; /* asked again before the last one started */
};

static void on_due(void *arg)
{
    struct maint *m = arg;

    if (atomic_load(&m->asked) != atomic_load(&m->started))
        atomic_store(&m->twice, true);
    atomic_fetch_add(&m->asked, 1);
}

static void *maintain_thread(void *arg)
{
    struct maint *m = arg;

    int r;

    atomic_fetch_add(&m->started, 1);
    r = store_maintain(m->st);
    if (r && r != -EBUSY) /* -EBUSY: readers kept it from all it would do */
        atomic_fetch_add(&m->failed, 1);
    return NULL;
}

/* Maintenance runs on another thread while the writer commits and readers
 * read, is asked for at most once until it ran, and loses nothing. */
static void maintenance_beside_the_writer(void **state)
{
    struct fx *f = *state;
    struct maint m = {.st = f->st};
    pthread_t th;
    bool running = false;

    store_on_maintenance(f->st, on_due, &m);
    for (int i = 0; i < 3000; i++) {
        char id[16];

        snprintf(id, sizeof(id), "m%d", i);
        assert_int_equal(store_begin(f->st), 0);
        put(f->st, STORE_VI, json_pack("{s:s, s:s, s:i}", "id", id, "site", "s", "memory_mb", 1));
        assert_int_equal(store_commit(f->st), 0);
        if (i % 100 == 0)
            assert_int_equal(store_count(f->rd, STORE_VI, NULL, 0), i + 1);
        if (!running && atomic_load(&m.asked) > atomic_load(&m.started)) {
            assert_int_equal(pthread_create(&th, NULL, maintain_thread, &m), 0);
            running = true;
        }
        if (running && i % 50 == 0) {
            pthread_join(th, NULL);
            running = false;
        }
    }
    if (running)
        pthread_join(th, NULL);
    assert_false(atomic_load(&m.twice));
    assert_int_equal(atomic_load(&m.failed), 0);
    assert_int_equal(store_count(f->rd, STORE_VI, NULL, 0), 3000);
    /* maintenance asked for or not, running it is always allowed */
    assert_int_equal(store_maintain(f->st), 0);
    assert_int_equal(store_count(f->rd, STORE_VI, NULL, 0), 3000);
}

/* A reader can be opened from another thread while the writer writes. */
static void *open_reader_thread(void *arg)
{
    struct fx *f = arg;
    char err[256];
    long failed = 0;

    for (int i = 0; i < 20; i++) {
        struct store *rd = NULL;

        if (store_open_reader(f->st, &rd, err, sizeof(err)) ||
            store_count(rd, STORE_TENANT, NULL, 0) < 0)
            failed++;
        store_close(rd);
    }
    return (void *)failed;
}

static void readers_opened_from_other_threads(void **state)
{
    struct fx *f = *state;
    pthread_t th;
    void *failed;

    assert_int_equal(pthread_create(&th, NULL, open_reader_thread, f), 0);
    for (int i = 0; i < 200; i++) {
        char id[16];

        snprintf(id, sizeof(id), "t%d", i);
        put(f->st, STORE_TENANT, json_pack("{s:s}", "id", id));
    }
    pthread_join(th, &failed);
    assert_null(failed);
    assert_int_equal(store_count(f->rd, STORE_TENANT, NULL, 0), 200);
}

/* A copy of the store as committed (a manager's move, fed/relocate.c):
 * SQLite writes one that opens as the store did, without what a
 * transaction still holds; etcd has none. */
static void snapshot(void **state)
{
    struct fx *f = *state;
    char err[256], *v = NULL, *dir = test_tmpdir(), *path = xasprintf("%s/copy.db", dir);
    struct store *copy = NULL;
    int r;

    put(f->st, STORE_DEPLOYMENT, dep("a", "t", "active"));
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_snapshot(f->st, path), -EBUSY); /* not inside a transaction */
    store_rollback(f->st);
    r = store_snapshot(f->st, path);
    if (strcmp(cur->name, "etcd") == 0) {
        assert_int_equal(r, -ENOTSUP);
    } else {
        assert_int_equal(r, 0);
        put(f->st, STORE_DEPLOYMENT, dep("b", "t", "active")); /* after the copy */
        assert_int_equal(store_open(path, false, &copy, err, sizeof(err)), 0);
        assert_true(has(copy, STORE_DEPLOYMENT, "a"));
        assert_false(has(copy, STORE_DEPLOYMENT, "b"));
        assert_int_equal(store_meta_get(copy, "k", &v), 0);
        assert_string_equal(v, "v");
        free(v);
        store_close(copy);
        assert_int_equal(store_snapshot(f->st, path), -EIO); /* the file exists */
    }
    free(path);
    test_rmdir(dir);
}

/* The store again after a close: everything committed is there. */
static void reopened(void **state)
{
    struct fx *f = *state;
    char err[256], *v = NULL;
    json_t *rec = log_rec(0);

    put(f->st, STORE_DEPLOYMENT, dep("a", "t", "active"));
    assert_int_equal(store_meta_set(f->st, "k", "v"), 0);
    assert_int_equal(store_log_append(f->st, rec), 0);
    store_close(f->rd);
    store_close(f->st);
    assert_int_equal(store_open(f->where, false, &f->st, err, sizeof(err)), 0);
    assert_int_equal(store_open_reader(f->st, &f->rd, err, sizeof(err)), 0);
    assert_int_equal(store_disk_version(f->rd), store_schema_version(f->rd));
    assert_true(has(f->rd, STORE_DEPLOYMENT, "a"));
    assert_int_equal(store_meta_get(f->rd, "k", &v), 0);
    free(v);
    assert_int_equal(store_log_last_seq(f->st), 1);
    json_decref(rec);
    rec = log_rec(1);
    assert_int_equal(store_log_append(f->st, rec), 0);
    assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 2);
    json_decref(rec);
}

/* ---- not per backend ---- */

static void unknown_scheme_refused(void **state)
{
    struct store *st = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(store_open("nosuch://host:1", false, &st, err, sizeof(err)), -EPROTONOSUPPORT);
    assert_null(st);
    assert_non_null(strstr(err, "nosuch://"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(put_get_delete),
        T(put_needs_id),
        T(kinds_are_apart),
        T(unique_column),
        T(list_filters),
        T(or_null_matches_globals),
        T(unknown_column_refused),
        T(list_order_limit_offset),
        T(list_public),
        T(site_usage_sums_vis),
        T(meta),
        T(event_log_append_and_query),
        T(event_log_time),
        T(event_log_prune_and_rollback),
        T(rollback_undoes_everything),
        T(readers_see_committed_only),
        T(writes_outside_a_transaction),
        T(readers_cannot_write),
        T(readers_hold_nothing_between_calls),
        T(read_transaction_is_a_snapshot),
        T(writer_cache),
        T(writer_cache_partial_changes),
        T(writer_cache_order),
        T(maintenance_beside_the_writer),
        T(readers_opened_from_other_threads),
        T(reopened),
        T(snapshot),
    };
    const struct CMUnitTest store_tests[] = {
        cmocka_unit_test(unknown_scheme_refused),
    };
    int failed = cmocka_run_group_tests_name("store", store_tests, NULL, NULL);

    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        cur = &backends[i];
        failed += cmocka_run_group_tests_name(cur->name, tests, cur->start, cur->stop);
    }
    return failed;
}
