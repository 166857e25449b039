/* What the cloud's policies over branch managers hold a decision by
 * (src/fed/judge.c fed_held, F25): an operation running, one ended less
 * than hold_s ago, one scheduled to start within hold_before_s; and the
 * members a per-manager override may carry (src/fed/mgr_policy.c). */
#include "unit.h"

#include "fed/fed_internal.h"
#include "util/jsonv.h"
#include "util/mem.h"
#include "util/timeutil.h"

static json_t *load_scheduled_in(double seconds)
{
    return json_pack("{s:[], s:[{s:s, s:s, s:s, s:s, s:I}]}", "running", "scheduled", "id", "sch-1",
                     "at", "soon", "operation", "scale", "deployment", "web1", "at_ms",
                     (json_int_t)(wall_ms() + (int64_t)(seconds * 1000)));
}

static void scheduled_within_window_holds(void **state)
{
    json_t *pol = json_pack("{s:s, s:i}", "lifecycle", "hold", "hold_before_s", 60);
    json_t *load = load_scheduled_in(30);
    char op[64], why[512];

    (void)state;
    assert_true(fed_held(pol, load, "m1", op, sizeof(op), why, sizeof(why)));
    assert_string_equal(op, "sch-1");
    assert_non_null(strstr(why, "scheduled to run scale of web1"));
    assert_non_null(strstr(why, "hold_before_s (60 s)"));
    json_decref(load);
    /* beyond the window, or past it while not started yet (still holds) */
    load = load_scheduled_in(90);
    assert_false(fed_held(pol, load, "m1", op, sizeof(op), why, sizeof(why)));
    json_decref(load);
    load = load_scheduled_in(-2);
    assert_true(fed_held(pol, load, "m1", op, sizeof(op), why, sizeof(why)));
    json_decref(load);
    json_decref(pol);
}

static void no_window_or_no_hold_does_not(void **state)
{
    json_t *load = load_scheduled_in(5);
    json_t *none = json_pack("{s:s}", "lifecycle", "hold");
    json_t *ignore = json_pack("{s:s, s:i}", "lifecycle", "ignore", "hold_before_s", 60);
    char op[64], why[512];

    (void)state;
    assert_false(fed_held(none, load, "m1", op, sizeof(op), why, sizeof(why)));
    assert_false(fed_held(ignore, load, "m1", op, sizeof(op), why, sizeof(why)));
    json_decref(load);
    json_decref(none);
    json_decref(ignore);
}

static void running_comes_first(void **state)
{
    json_t *pol = json_pack("{s:s, s:i}", "lifecycle", "hold", "hold_before_s", 60);
    json_t *load = load_scheduled_in(5);
    char op[64], why[512];

    (void)state;
    json_array_append_new(json_object_get(load, "running"), json_string("op-7"));
    assert_true(fed_held(pol, load, "m1", op, sizeof(op), why, sizeof(why)));
    assert_string_equal(op, "op-7");
    json_decref(load);
    json_decref(pol);
}

static void override_members(void **state)
{
    static const char *const good[] = {
        "{}", "{\"overload\": 2}", "{\"underload\": 0.1, \"for_s\": 5}",
        "{\"hold_before_s\": 30, \"anticipate_s\": 60, \"lifecycle\": \"ignore\"}"};
    static const struct {
        const char *body, *field;
    } bad[] = {{"{\"max\": 3}", "max"},
               {"{\"weights\": {}}", "weights"},
               {"{\"overload\": -1}", "overload"},
               {"{\"lifecycle\": \"x\"}", "lifecycle"},
               {"{\"hold_before_s\": 100000}", "hold_before_s"}};
    struct jv_error e;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        json_t *b = json_loads(good[i], 0, NULL);

        assert_int_equal(mgr_policy_check(b, &e), 0);
        json_decref(b);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_t *b = json_loads(bad[i].body, 0, NULL);

        memset(&e, 0, sizeof(e));
        assert_int_not_equal(mgr_policy_check(b, &e), 0);
        assert_string_equal(e.field, bad[i].field);
        json_decref(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scheduled_within_window_holds),
        cmocka_unit_test(no_window_or_no_hold_does_not),
        cmocka_unit_test(running_comes_first),
        cmocka_unit_test(override_members),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
