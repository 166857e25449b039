/* The SOL003 mapping (sol003/sol_view.c) and the VNFD flavours it relies on
 * (catalog/vnfd.c): flavour validation and application, instantiation
 * levels, scale levels, notification filters, and the views' states,
 * links and version differences. */
#include "unit.h"

#include "sol003/sol_view.h"
#include "sol003/sol_list.h"
#include "catalog/vnfd.h"

#include <errno.h>

static json_t *vnfd_with(json_t *flavours)
{
    json_t *v = json_pack("{s:s, s:[{s:s, s:[s], s:{s:i, s:i, s:i}}, {s:s, s:[s]}]}", "id", "v",
                          "vdus", "id", "web", "command", "x", "scaling", "min", 1, "max", 4,
                          "step", 1, "id", "db", "command", "y");

    if (flavours)
        json_object_set_new(v, "flavours", flavours);
    return v;
}

static void expect_vnfd_error(json_t *flavours, const char *field)
{
    json_t *v = vnfd_with(flavours);
    struct jv_error err;

    assert_int_equal(vnfd_validate(v, &err), -EINVAL);
    assert_string_equal(err.field, field);
    json_decref(v);
}

static void flavours_are_validated(void **state)
{
    json_t *ok =
        vnfd_with(json_pack("[{s:s, s:{s:{s:i, s:i}}, s:{s:{s:i}, s:{s:i}}, s:s}]", "id", "large",
                            "scaling", "web", "min", 2, "max", 4, "instantiation_levels", "two",
                            "web", 2, "four", "web", 4, "default_level", "two"));
    struct jv_error err;

    (void)state;
    assert_int_equal(vnfd_validate(ok, &err), 0);
    json_decref(ok);
    expect_vnfd_error(json_pack("[{s:s}]", "id", "default"), "flavours[0].id");
    expect_vnfd_error(json_pack("[{s:s}, {s:s}]", "id", "a", "id", "a"), "flavours[1].id");
    expect_vnfd_error(json_pack("[{s:s, s:{s:{s:i}}}]", "id", "a", "scaling", "cache", "max", 2),
                      "flavours[0].scaling.cache");
    expect_vnfd_error(
        json_pack("[{s:s, s:{s:{s:i, s:i}}}]", "id", "a", "scaling", "web", "min", 5, "max", 4),
        "flavours[0].scaling.web");
    expect_vnfd_error(
        json_pack("[{s:s, s:{s:{s:i}}}]", "id", "a", "instantiation_levels", "l", "web", 9),
        "flavours[0].instantiation_levels.l.web");
    expect_vnfd_error(json_pack("[{s:s, s:{s:{s:i}}, s:s}]", "id", "a", "instantiation_levels", "l",
                                "web", 2, "default_level", "m"),
                      "flavours[0].default_level");
}

static long long count(const json_t *inst, const char *vdu)
{
    return (long long)json_integer_value(json_object_get(inst, vdu));
}

static void flavours_and_levels_apply(void **state)
{
    json_t *v = vnfd_with(json_pack("[{s:s, s:{s:{s:i}}, s:{s:{s:i}, s:{s:i}}, s:s}]", "id",
                                    "large", "scaling", "web", "min", 2, "instantiation_levels",
                                    "two", "web", 2, "four", "web", 4, "default_level", "four"));
    json_t *f = NULL, *inst = NULL;
    struct vnfd_scaling s;
    const char *level;

    (void)state;
    assert_int_equal(vnfd_flavoured(v, "tiny", &f), -ENOENT);
    assert_int_equal(vnfd_flavoured(v, "large", &f), 0);
    vnfd_vdu_scaling(vnfd_vdu(f, "web"), &s);
    assert_int_equal(s.min, 2); /* the flavour's */
    assert_int_equal(s.max, 4); /* the descriptor's, not overridden */
    assert_int_equal(vnfd_level(f, "large", NULL, &inst, &level), 0);
    assert_string_equal(level, "four");
    assert_int_equal(count(inst, "web"), 4);
    assert_int_equal(count(inst, "db"), 1); /* not in the level: its initial */
    json_decref(inst);
    assert_int_equal(vnfd_level(f, "large", "nine", &inst, &level), -ENOENT);
    json_decref(f);
    assert_int_equal(vnfd_flavoured(v, VNFD_DEFAULT_FLAVOUR, &f), 0);
    assert_int_equal(vnfd_level(f, VNFD_DEFAULT_FLAVOUR, NULL, &inst, &level), 0);
    assert_string_equal(level, VNFD_DEFAULT_LEVEL);
    assert_int_equal(count(inst, "web"), 1);
    json_decref(inst);
    json_decref(f);
    json_decref(v);
}

static void scale_levels(void **state)
{
    struct vnfd_scaling s = {.min = 1, .max = 6, .initial = 1, .step = 2};

    (void)state;
    assert_int_equal(sol_max_scale_level(&s), 3);
    assert_int_equal(sol_scale_level(1, &s), 0);
    assert_int_equal(sol_scale_level(3, &s), 1);
    assert_int_equal(sol_scale_level(2, &s), 1); /* between steps: the next level */
    assert_int_equal(sol_level_instances(2, &s), 5);
    assert_int_equal(sol_level_instances(3, &s), 6); /* the last step adds fewer */
}

static void filters(void **state)
{
    json_t *dep = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "id", "i1", "vnfd", "v",
                            "sol003", "vnfInstanceName", "web", "_descriptor", "vendor", "acme",
                            "name", "Web", "version", "2.0");
    json_t *id = sol_vnf_identity(dep), *f;

    (void)state;
    assert_true(sol_filter_match(NULL, "VnfIdentifierCreationNotification", id, NULL, NULL));
    f = json_pack("{s:[s], s:[s]}", "operationTypes", "HEAL", "operationStates", "COMPLETED");
    assert_true(
        sol_filter_match(f, "VnfLcmOperationOccurrenceNotification", id, "HEAL", "COMPLETED"));
    assert_false(
        sol_filter_match(f, "VnfLcmOperationOccurrenceNotification", id, "HEAL", "PROCESSING"));
    assert_false(
        sol_filter_match(f, "VnfLcmOperationOccurrenceNotification", id, "SCALE", "COMPLETED"));
    json_decref(f);
    f = json_pack("{s:{s:[{s:s, s:[{s:s, s:[{s:s}]}]}]}}", "vnfInstanceSubscriptionFilter",
                  "vnfProductsFromProviders", "vnfProvider", "acme", "vnfProducts",
                  "vnfProductName", "Web", "versions", "vnfSoftwareVersion", "2.0");
    assert_true(sol_filter_match(f, "VnfIdentifierDeletionNotification", id, NULL, NULL));
    json_decref(f);
    f = json_pack("{s:{s:[s]}, s:[s]}", "vnfInstanceSubscriptionFilter", "vnfInstanceNames", "db",
                  "notificationTypes", "VnfIdentifierCreationNotification");
    assert_false(sol_filter_match(f, "VnfIdentifierCreationNotification", id, NULL, NULL));
    json_decref(f);
    json_decref(id);
    json_decref(dep);
}

static const char *str_at(const json_t *v, const char *a, const char *b)
{
    return json_string_value(json_object_get(b ? json_object_get(v, a) : v, b ? b : a));
}

static void op_views(void **state)
{
    struct sol_ctx x = {1, "http://h:1"};
    json_t *op = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:[s], s:{s:s}, s:s, s:s, s:o}", "id",
                           "op-1", "type", "heal", "deployment", "d1", "state", "processing",
                           "automatic", 1, "_plan", "heal", "vis", "vi1", "_vdus", "vi1", "web",
                           "created", "t0", "state_entered", "t1", "params", json_object());
    json_t *occ = sol_op_occ(&x, op), *n, *sub;

    (void)state;
    assert_string_equal(str_at(occ, "operation", NULL), "HEAL");
    assert_string_equal(str_at(occ, "operationState", NULL), "PROCESSING");
    assert_true(json_is_true(json_object_get(occ, "isAutomaticInvocation")));
    assert_string_equal(str_at(occ, "stateEnteredTime", NULL), "t1");
    assert_string_equal(str_at(json_object_get(occ, "_links"), "cancel", "href"),
                        "http://h:1/vnflcm/v1/vnf_lcm_op_occs/op-1/cancel");
    json_decref(occ);
    /* the native automatic rollback is ROLLING_BACK */
    json_object_set_new(op, "_plan", json_string("rollback"));
    assert_string_equal(sol_op_state(op), "ROLLING_BACK");
    json_object_set_new(op, "state", json_string("failed_temp"));
    json_object_set_new(op, "error", json_string("boom"));
    occ = sol_op_occ(&x, op);
    assert_string_equal(str_at(occ, "error", "detail"), "boom");
    assert_non_null(json_object_get(json_object_get(occ, "_links"), "retry"));
    json_decref(occ);
    sub = json_pack("{s:s}", "id", "s1");
    n = sol_op_notification(&x, op, sub, false);
    assert_string_equal(str_at(n, "notificationStatus", NULL), "RESULT");
    assert_string_equal(str_at(n, "operationState", NULL), "FAILED_TEMP");
    assert_true(json_is_true(json_object_get(n, "isAutomaticInvocation")));
    json_decref(n);
    json_decref(sub);
    json_object_set_new(op, "type", json_string("resize"));
    assert_null(sol_op_name("resize")); /* not a SOL003 operation: not shown */
    json_decref(op);
}

static void instance_views(void **state)
{
    struct sol_ctx v1 = {1, "http://h"}, v2 = {2, "http://h"};
    json_t *dep = json_pack("{s:s, s:s, s:s, s:s, s:{s:[{s:s, s:{s:i, s:i}}]}}", "id", "i1", "vnfd",
                            "v", "site", "local", "status", "not_instantiated", "_descriptor",
                            "vdus", "id", "web", "scaling", "min", 1, "max", 3);
    json_t *vis = json_pack("[{s:s, s:s, s:s, s:s}]", "id", "vi1", "vdu", "web", "ip", "10.0.0.2",
                            "state", "running");
    json_t *a = sol_instance(&v1, dep, vis), *b;

    (void)state;
    assert_string_equal(str_at(a, "instantiationState", NULL), "NOT_INSTANTIATED");
    assert_null(json_object_get(a, "instantiatedVnfInfo"));
    assert_non_null(json_object_get(json_object_get(a, "_links"), "instantiate"));
    assert_true(json_is_array(json_object_get(a, "vimConnectionInfo"))); /* v1 */
    json_decref(a);
    json_object_set_new(dep, "status", json_string("active"));
    b = sol_instance(&v2, dep, vis);
    assert_true(json_is_object(json_object_get(b, "vimConnectionInfo"))); /* v2: a map */
    a = json_object_get(b, "instantiatedVnfInfo");
    assert_string_equal(str_at(a, "flavourId", NULL), "default");
    assert_string_equal(str_at(a, "vnfState", NULL), "STARTED");
    assert_string_equal(
        str_at(
            json_object_get(
                json_array_get(json_object_get(json_array_get(json_object_get(a, "extCpInfo"), 0),
                                               "cpProtocolInfo"),
                               0),
                "ipOverEthernet"),
            "macAddress", NULL),
        "02:76:0a:00:00:02"); /* as the proc VIM derives it from the address */
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(a, "maxScaleLevels"), 0), "scaleLevel")),
                     2);
    assert_string_equal(
        str_at(json_array_get(json_object_get(a, "vnfcInfo"), 0), "vnfcState", NULL), "STARTED");
    json_decref(b);
    json_decref(vis);
    json_decref(dep);
}

/* SOL013 5.4 with paging off (--sol-page-size 0): a list is answered
 * whole up to 10,000 entries, refused beyond ("response too big", issue
 * 15 item 3); with paging on, the same list is a page and a Link. */
static json_t *n_views(size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:I}", "n", (json_int_t)i));
    return a;
}

static void unpaged_lists(void **state)
{
    struct config cfg = {.sol_page_size = 0};
    struct core c = {.cfg = &cfg};
    struct rctx r = {.c = &c};

    (void)state;
    sol_list_answer(&r, &sol_package_shape, n_views(10000));
    assert_int_equal(r.res.status, 200);
    assert_int_equal(json_array_size(r.res.body), 10000);
    assert_null(r.res.link);
    result_done(&r.res);
    r.res = (struct result){0};
    sol_list_answer(&r, &sol_package_shape, n_views(10001));
    assert_int_equal(r.res.status, 400);
    assert_non_null(strstr(json_string_value(json_object_get(r.res.body, "message")), "too big"));
    result_done(&r.res);
    r.res = (struct result){0};
    cfg.sol_page_size = 100;
    sol_list_answer(&r, &sol_package_shape, n_views(10001));
    assert_int_equal(r.res.status, 200);
    assert_int_equal(json_array_size(r.res.body), 100);
    assert_non_null(strstr(r.res.link, "nextpage_opaque_marker=100"));
    result_done(&r.res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flavours_are_validated),
        cmocka_unit_test(flavours_and_levels_apply),
        cmocka_unit_test(scale_levels),
        cmocka_unit_test(filters),
        cmocka_unit_test(op_views),
        cmocka_unit_test(instance_views),
        cmocka_unit_test(unpaged_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
