/* Metric statistics and rule evaluation: the window, EWMA and p95 of a
 * series; N consecutive matches raise and fire a rule, M misses clear it,
 * a duration condition, the cooldown; and the checks of monitoring and
 * rules sections (unknown metric, thresholds, probe members). */
#include "unit.h"

#include "catalog/vnfd.h"
#include "util/mstat.h"
#include "monitor/probes/probe.h"
#include "policy/rules.h"

#include <errno.h>
#include <math.h>

static void stats_over_window(void **state)
{
    struct mstat s;
    double v;

    (void)state;
    mstat_init(&s, 10000);
    assert_false(mstat_get(&s, MSTAT_LAST, &v));
    for (int i = 1; i <= 20; i++)
        mstat_add(&s, (uint64_t)i * 1000, i);
    /* 10 s window at t=20 s keeps samples 10..20 */
    assert_true(mstat_get(&s, MSTAT_LAST, &v));
    assert_true(v == 20);
    assert_true(mstat_get(&s, MSTAT_MIN, &v));
    assert_true(v == 10);
    assert_true(mstat_get(&s, MSTAT_MAX, &v));
    assert_true(v == 20);
    assert_true(mstat_get(&s, MSTAT_AVG, &v));
    assert_true(fabs(v - 15) < 1e-9);
    assert_true(mstat_get(&s, MSTAT_P95, &v));
    assert_true(v == 20); /* nearest rank: ceil(0.95 * 11) = 11th */
    assert_int_equal(s.count, 20);
    assert_int_equal(mstat_age(&s, 20500), 500);
    mstat_reset(&s);
    assert_false(mstat_get(&s, MSTAT_AVG, &v));
}

static void ewma_follows_time(void **state)
{
    struct mstat s;
    double v;

    (void)state;
    mstat_init(&s, 1000);
    mstat_add(&s, 0, 0);
    /* one window later, a step to 100 weighs 1 - 1/e */
    mstat_add(&s, 1000, 100);
    assert_true(mstat_get(&s, MSTAT_EWMA, &v));
    assert_true(fabs(v - 100 * (1 - exp(-1))) < 1e-6);
    assert_int_equal(mstat_kind_parse("p95"), MSTAT_P95);
    assert_int_equal(mstat_kind_parse("median"), -1);
}

static void cond(struct rule_cond *c, const char *json)
{
    json_t *r = json_loads(json, 0, NULL);

    assert_non_null(r);
    rule_cond_parse(r, c);
    json_decref(r);
}

static void occurrences_raise_fire_clear(void **state)
{
    struct rule_cond c;
    struct rule_state st = {0};

    (void)state;
    cond(&c, "{\"metric\":\"rps\",\"op\":\">\",\"threshold\":50,\"occurrences\":3,"
             "\"clear_after\":2,\"cooldown_s\":10,\"actions\":[]}");
    assert_false(c.per_vi);
    assert_int_equal(rule_step(&c, &st, rule_match(&c, 60), 1000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, rule_match(&c, 40), 2000), RULE_NONE); /* run broken */
    assert_int_equal(rule_step(&c, &st, true, 3000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, true, 4000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, true, 5000), RULE_RAISED | RULE_FIRE);
    /* while its actions run it does not fire again */
    st.in_flight = true;
    for (int i = 0; i < 5; i++)
        assert_int_equal(rule_step(&c, &st, true, 6000 + i * 1000), RULE_NONE);
    rule_done(&c, &st, 11000);
    /* cooldown: 3 more matches are not enough before 21 s */
    for (int i = 0; i < 5; i++)
        assert_int_equal(rule_step(&c, &st, true, 12000 + i * 1000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, true, 21000), RULE_FIRE);
    /* one miss does not clear it, two do */
    assert_int_equal(rule_step(&c, &st, false, 22000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, false, 23000), RULE_CLEARED);
    assert_false(st.raised);
}

static void duration_condition(void **state)
{
    struct rule_cond c;
    struct rule_state st = {0};

    (void)state;
    cond(&c, "{\"metric\":\"health.up\",\"op\":\"==\",\"threshold\":0,\"for_s\":2,"
             "\"stage\":\"vnf_failure\",\"actions\":[]}");
    assert_true(c.up);
    assert_true(c.per_vi);
    assert_string_equal(c.metric, "health");
    assert_true(rule_match(&c, 0));
    assert_false(rule_match(&c, 1));
    assert_int_equal(rule_step(&c, &st, true, 1000), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, true, 2500), RULE_NONE);
    assert_int_equal(rule_step(&c, &st, true, 3000), RULE_RAISED | RULE_FIRE);
}

static int check(const char *vnfd_json, struct jv_error *err)
{
    json_t *v = json_loads(vnfd_json, 0, NULL);
    int r;

    assert_non_null(v);
    r = vnfd_validate(v, err);
    json_decref(v);
    return r;
}

#define VDU "\"vdus\":[{\"id\":\"web\",\"command\":[\"true\"]}]"

static void sections_checked(void **state)
{
    struct jv_error e;

    (void)state;
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"monitoring\":{\"metrics\":{\"h\":"
                           "{\"probe\":\"tcp\",\"port\":80}}},\"rules\":[{\"name\":\"r\","
                           "\"metric\":\"h.up\",\"op\":\"==\",\"threshold\":0,"
                           "\"actions\":[{\"action\":\"heal\",\"policy\":\"redeploy\"}]}]}",
                           &e),
                     0);
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"rules\":[{\"name\":\"r\",\"metric\":\"x\","
                           "\"op\":\">\",\"threshold\":1,\"actions\":[{\"action\":\"log\"}]}]}",
                           &e),
                     -EINVAL);
    assert_string_equal(e.field, "rules[0].metric");
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"monitoring\":{\"metrics\":{\"h\":"
                           "{\"probe\":\"tcp\"}}}}",
                           &e),
                     -EINVAL);
    assert_string_equal(e.field, "monitoring.metrics.h.port");
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"monitoring\":{\"metrics\":{\"h\":"
                           "{\"probe\":\"icmp\",\"port\":1}}}}",
                           &e),
                     -EINVAL);
    assert_string_equal(e.reason, "unknown-field");
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"monitoring\":{\"metrics\":{\"s\":"
                           "{\"probe\":\"snmp\",\"oid\":\".1.3.6.1.4.1.2021.10.1.3.1\"}}},"
                           "\"rules\":[{\"name\":\"o\",\"metric\":\"s\",\"op\":\">\",\"threshold\":"
                           "2,\"stage\":\"overloaded\",\"actions\":[{\"action\":\"scale_out\"}]},"
                           "{\"name\":\"u\",\"metric\":\"s\",\"op\":\"<\",\"threshold\":2,"
                           "\"stage\":\"underloaded\",\"actions\":[{\"action\":\"scale_in\"}]}]}",
                           &e),
                     -EINVAL);
    assert_string_equal(e.field, "rules[1].threshold");
    assert_int_equal(check("{\"id\":\"a\"," VDU ",\"rules\":[{\"name\":\"p\",\"metric\":"
                           "\"process.up\",\"op\":\"==\",\"threshold\":0,\"mode\":\"parallel\","
                           "\"actions\":[{\"action\":\"heal\"},{\"action\":\"scale_out\"}]}]}",
                           &e),
                     -EINVAL);
    assert_string_equal(e.field, "rules[0].mode");
}

static void numbers_parsed(void **state)
{
    double v;

    (void)state;
    assert_true(probe_parse_number(" 0.15\n", &v));
    assert_true(fabs(v - 0.15) < 1e-12);
    assert_false(probe_parse_number("12abc", &v));
    assert_false(probe_parse_number("", &v));
    assert_false(probe_parse_number("nan", &v));
    assert_non_null(probe_find("snmp"));
    assert_null(probe_find("carrier-pigeon"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stats_over_window),
        cmocka_unit_test(ewma_follows_time),
        cmocka_unit_test(occurrences_raise_fire_clear),
        cmocka_unit_test(duration_condition),
        cmocka_unit_test(sections_checked),
        cmocka_unit_test(numbers_parsed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
