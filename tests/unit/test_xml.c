/* The JSON <-> XML mapping of the REST API (rest/xml.c): Table 3 parses into
 * the JSON the tenant route validates, answers come out as Table 4, lists,
 * maps, free-form values, nulls, malformed documents and DTDs. */
#include "unit.h"

#include "rest/xml.h"

#include <errno.h>

static const struct jv_field tenant_fields[] = {
    {.name = "name", .type = JV_STRING},
    {.name = "enabled", .type = JV_BOOL},
    {.name = "description", .type = JV_STRING},
    {.name = NULL},
};
static const struct jv_field tenant = {.type = JV_OBJECT, .fields = tenant_fields};

static const struct jv_field count = {.type = JV_INT};
static const struct jv_field any = {.type = JV_ANY};
static const struct jv_field name_item = {.type = JV_STRING};
static const struct jv_field deploy_fields[] = {
    {.name = "name", .type = JV_STRING},
    {.name = "instances", .type = JV_MAP, .item = &count},
    {.name = "params", .type = JV_MAP, .item = &any},
    {.name = "tags", .type = JV_ARRAY, .item = &name_item},
    {.name = "vcpu", .type = JV_NUMBER},
    {.name = NULL},
};
static const struct jv_field deploy = {.type = JV_OBJECT, .fields = deploy_fields};

static json_t *parse_ok(const char *xml, const struct jv_field *schema)
{
    struct jv_error err;
    json_t *out = NULL;

    assert_int_equal(xml_to_json(xml, strlen(xml), schema, &out, &err), 0);
    assert_non_null(out);
    return out;
}

static void table3_request(void **state)
{
    const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<tenant xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n"
                      "<name>xyz</name>\n<enabled>true</enabled>\n"
                      "<description>A description...</description>\n</tenant>\n";
    json_t *v = parse_ok(xml, &tenant), *want;

    (void)state;
    want = json_pack("{s:s, s:b, s:s}", "name", "xyz", "enabled", 1, "description",
                     "A description...");
    assert_true(json_equal(v, want));
    json_decref(want);
    json_decref(v);
}

static void typed_by_schema(void **state)
{
    const char *xml = "<deployment><name>007</name>"
                      "<instances><web>2</web><db>x</db></instances>"
                      "<params><greeting>hi</greeting><n>3</n><s type=\"string\">42</s>"
                      "<flag>false</flag><list><item>a</item></list></params>"
                      "<tags><tag>a</tag><tag>b</tag></tags><vcpu>0.5</vcpu></deployment>";
    json_t *v = parse_ok(xml, &deploy);
    json_t *params = json_object_get(v, "params");

    (void)state;
    assert_string_equal(json_string_value(json_object_get(v, "name")), "007");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "instances"), "web")),
                     2);
    /* not an integer: stays a string so that validation names the field */
    assert_true(json_is_string(json_object_get(json_object_get(v, "instances"), "db")));
    assert_string_equal(json_string_value(json_object_get(params, "greeting")), "hi");
    assert_int_equal(json_integer_value(json_object_get(params, "n")), 3);
    assert_string_equal(json_string_value(json_object_get(params, "s")), "42");
    assert_true(json_is_false(json_object_get(params, "flag")));
    assert_int_equal(json_array_size(json_object_get(params, "list")), 1);
    assert_int_equal(json_array_size(json_object_get(v, "tags")), 2);
    assert_true(json_real_value(json_object_get(v, "vcpu")) == 0.5);
    json_decref(v);
}

static void expect_bad(const char *xml, const char *reason, const char *field)
{
    struct jv_error err;
    json_t *out = NULL;

    assert_int_equal(xml_to_json(xml, strlen(xml), &deploy, &out, &err), -EINVAL);
    assert_null(out);
    assert_string_equal(err.reason, reason);
    assert_string_equal(err.field, field);
}

static void bad_documents(void **state)
{
    (void)state;
    expect_bad("<deployment><name>x</deployment>", "bad-xml", "");
    expect_bad("", "bad-xml", "");
    expect_bad("{\"name\": \"x\"}", "bad-xml", "");
    expect_bad("<!DOCTYPE d [<!ENTITY a \"aaaa\">]><deployment><name>&a;</name></deployment>",
               "bad-xml", "");
    expect_bad("<deployment><name>a</name><name>b</name></deployment>", "invalid-value", "name");
}

static void answers(void **state)
{
    json_t *t = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:n}", "id", "123", "name", "xyz",
                          "description", "A description...", "enabled", 1, "external_tenant_id",
                          "234243490854004", "internal_tenant_id", "434344896854965", "error");
    char *xml = xml_from_json(t, "tenant");
    const char *ext, *name, *desc;

    (void)state;
    assert_non_null(strstr(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_non_null(strstr(xml, "<tenant>"));
    assert_non_null(strstr(xml, "<enabled>true</enabled>"));
    assert_null(strstr(xml, "error")); /* null members are left out */
    /* Table 4's order: external and internal ids, name, enabled, description */
    /* a string that would read back as a number says it is one */
    ext = strstr(xml, "<external_tenant_id type=\"string\">234243490854004</external_tenant_id>");
    name = strstr(xml, "<name>xyz</name>");
    desc = strstr(xml, "<description>A description...</description>");
    assert_true(ext && name && desc && ext < name && name < desc);
    free(xml);
    json_decref(t);

    t = json_pack("{s:[{s:s}, {s:s}]}", "tenants", "id", "a", "id", "b");
    xml = xml_from_json(t, "x");
    assert_non_null(strstr(xml, "<tenants>"));
    assert_non_null(strstr(xml, "<tenant>"));
    free(xml);
    json_decref(t);

    t = json_pack("{s:{s:i, s:i}, s:s}", "instances", "web", 2, "1bad", 3, "msg", "a\x01<b>");
    xml = xml_from_json(t, "deployment");
    assert_non_null(strstr(xml, "<web>2</web>"));
    assert_non_null(strstr(xml, "<entry key=\"1bad\">3</entry>"));
    assert_non_null(strstr(xml, "a?&lt;b&gt;"));
    free(xml);
    json_decref(t);
}

static void round_trip(void **state)
{
    json_t *d = json_pack("{s:s, s:{s:i}, s:[s, s], s:f}", "name", "web1", "instances", "web", 2,
                          "tags", "a", "b", "vcpu", 0.25);
    char *xml = xml_from_json(d, "deployment");
    json_t *back = parse_ok(xml, &deploy);

    (void)state;
    assert_true(json_equal(d, back));
    json_decref(back);
    json_decref(d);
    free(xml);
}

static void helpers(void **state)
{
    char buf[64];
    bool list;
    json_t *l = json_pack("{s:[]}", "vis");

    (void)state;
    assert_string_equal(xml_singular("tenants", buf, sizeof(buf)), "tenant");
    assert_string_equal(xml_singular("vis", buf, sizeof(buf)), "vi");
    assert_string_equal(xml_singular("command", buf, sizeof(buf)), "item");
    assert_string_equal(xml_singular("address", buf, sizeof(buf)), "item");
    assert_string_equal(xml_root_of(l, "deployment", &list), "vis");
    assert_true(list);
    json_decref(l);
    assert_true(xml_media("application/xml"));
    assert_true(xml_media("text/xml; charset=utf-8"));
    assert_false(xml_media("application/json"));
    assert_false(xml_media(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table3_request), cmocka_unit_test(typed_by_schema),
        cmocka_unit_test(bad_documents),  cmocka_unit_test(answers),
        cmocka_unit_test(round_trip),     cmocka_unit_test(helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
