/* Parsers and validators: JSON bodies (jsonv), VNFDs, day-0 templates,
 * times, IPv4 networks, names; the hash of JSON values (util/doc.h); a
 * manager's load weights; the agent VIM's wire (vim/agent/agent.h) and a
 * stream's read of a buffer (util/sbuf.h). */
#include "unit.h"

#include "catalog/template.h"
#include "catalog/vnfd.h"
#include "util/doc.h"
#include "fed/fed_internal.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/net4.h"
#include "util/sbuf.h"
#include "util/timeutil.h"
#include "vim/agent/agent.h"

#include <errno.h>
#include <math.h>

static const struct jv_field inner_fields[] = {
    {.name = "port", .type = JV_INT, .flags = JV_REQUIRED, .min = 1, .max = 65535},
    {.name = NULL},
};
static const char *const colours[] = {"red", "blue", NULL};
static const struct jv_field item = {.type = JV_OBJECT, .fields = inner_fields};
static const struct jv_field body_fields[] = {
    {.name = "name", .type = JV_STRING, .flags = JV_REQUIRED | JV_NAME},
    {.name = "colour", .type = JV_STRING, .choices = colours},
    {.name = "text", .type = JV_STRING, .max = 5},
    {.name = "ports", .type = JV_ARRAY, .max = 2, .item = &item},
    {.name = NULL},
};
static const struct jv_field body = {.type = JV_OBJECT, .fields = body_fields};

static void expect_error(const char *json, const char *reason, const char *field)
{
    json_t *v = json_loads(json, 0, NULL);
    struct jv_error err;

    assert_non_null(v);
    assert_int_equal(jv_check(v, &body, &err), -EINVAL);
    assert_string_equal(err.reason, reason);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.message, field));
    json_decref(v);
}

static void jsonv_checks(void **state)
{
    json_t *ok =
        json_loads("{\"name\":\"a-1\",\"colour\":\"red\",\"ports\":[{\"port\":80}]}", 0, NULL);
    struct jv_error err;

    (void)state;
    assert_int_equal(jv_check(ok, &body, &err), 0);
    json_decref(ok);
    expect_error("{}", "missing-field", "name");
    expect_error("{\"name\":\"a\",\"nme\":1}", "unknown-field", "nme");
    expect_error("{\"name\":7}", "invalid-type", "name");
    expect_error("{\"name\":\"-bad\"}", "invalid-value", "name");
    expect_error("{\"name\":\"a\",\"colour\":\"green\"}", "invalid-value", "colour");
    expect_error("{\"name\":\"a\",\"text\":\"toolong\"}", "invalid-value", "text");
    expect_error("{\"name\":\"a\",\"ports\":[{\"port\":0}]}", "invalid-value", "ports[0].port");
    expect_error("{\"name\":\"a\",\"ports\":[{}]}", "missing-field", "ports[0].port");
    expect_error("{\"name\":\"a\",\"ports\":[{\"port\":1},{\"port\":2},{\"port\":3}]}",
                 "invalid-value", "ports");
}

static bool known(const char *name, bool is_list, void *arg)
{
    (void)arg;
    return is_list ? strcmp(name, "params.list") == 0
                   : strcmp(name, "ip") == 0 || strcmp(name, "params.list") == 0;
}

static void template_render_and_check(void **state)
{
    json_t *vars = json_pack("{s:s, s:[s, s], s:i, s:b}", "ip", "10.0.0.2", "params.list", "a:1",
                             "b:2", "n", 3, "flag", 1);
    char err[128], *out;

    (void)state;
    assert_int_equal(tmpl_render("ip={{ip}} n={{ n }} {{flag}}", vars, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "ip=10.0.0.2 n=3 true");
    free(out);
    assert_int_equal(
        tmpl_render("{{#params.list}}server {{.}};{{/params.list}}", vars, &out, err, sizeof(err)),
        0);
    assert_string_equal(out, "server a:1;server b:2;");
    free(out);
    assert_int_equal(tmpl_render("x{{missing}}y", vars, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "xy");
    free(out);
    assert_int_equal(
        tmpl_check("{{ip}} {{#params.list}}{{.}}{{/params.list}}", known, NULL, err, sizeof(err)),
        0);
    assert_int_equal(tmpl_check("{{nope}}", known, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(tmpl_check("{{ip", known, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(tmpl_check("{{#params.list}}", known, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(tmpl_check("{{#ip}}{{/ip}}", known, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(tmpl_check("{{.}}", known, NULL, err, sizeof(err)), -EINVAL);
    json_decref(vars);
}

static const char *good_vnfd =
    "{\"id\":\"demo\",\"params\":{\"greeting\":{\"type\":\"string\",\"default\":\"hi\"},"
    "\"backends\":{\"type\":\"list\",\"default\":[\"a:1\"]},"
    "\"port\":{\"type\":\"integer\",\"required\":true}},"
    "\"vdus\":[{\"id\":\"web\",\"command\":[\"vnf-demo\",\"--listen\",\"{{ip}}:{{params.port}}\"],"
    "\"vcpu\":0.5,\"memory_mb\":64,\"scaling\":{\"min\":1,\"max\":3},"
    "\"day0\":[{\"path\":\"a/b.conf\",\"template\":\"{{#params.backends}}{{.}}{{/params.backends}}"
    "\"}],\"ready\":{\"tcp\":8080}}]}";

static void expect_vnfd_error(const char *patch_path, const char *patch_json, const char *field)
{
    json_t *doc = json_loads(good_vnfd, 0, NULL),
           *patch = json_loads(patch_json, JSON_DECODE_ANY, NULL);
    json_t *target = doc;
    struct jv_error err;
    char path[128], *p, *key;

    assert_non_null(patch);
    snprintf(path, sizeof(path), "%s", patch_path);
    key = path;
    while ((p = strchr(key, '/'))) { /* "vdus/0/scaling" style path to the parent */
        *p = '\0';
        target = json_is_array(target) ? json_array_get(target, (size_t)atoi(key))
                                       : json_object_get(target, key);
        key = p + 1;
    }
    json_object_set_new(target, key, patch);
    assert_int_equal(vnfd_validate(doc, &err), -EINVAL);
    assert_string_equal(err.field, field);
    json_decref(doc);
}

static void vnfd_validation(void **state)
{
    json_t *doc = json_loads(good_vnfd, 0, NULL), *given, *params;
    struct jv_error err;

    (void)state;
    assert_int_equal(vnfd_validate(doc, &err), 0);
    expect_vnfd_error("vdus/0/scaling", "{\"min\":3,\"max\":2}", "vdus[0].scaling");
    expect_vnfd_error("vdus/0/vcpu", "0", "vdus[0].vcpu");
    expect_vnfd_error("vdus/0/command", "[\"x\",\"{{nope}}\"]", "vdus[0].command[1]");
    expect_vnfd_error("vdus/0/day0", "[{\"path\":\"../x\",\"template\":\"\"}]",
                      "vdus[0].day0[0].path");
    /* the driver's own files and every other way to name something else */
    for (const char *const *p = (const char *const[]){"./day0.json", "console.log", ".", "sub/",
                                                      "a//b", "/etc/x", "x/./y", NULL};
         *p; p++) {
        char day0[128];

        snprintf(day0, sizeof(day0),
                 "[{\"path\":\"ok\",\"template\":\"\"},"
                 "{\"path\":\"%s\",\"template\":\"\"}]",
                 *p);
        expect_vnfd_error("vdus/0/day0", day0, "vdus[0].day0[1].path");
    }
    expect_vnfd_error("vdus/0/day0",
                      "[{\"path\":\"a\",\"template\":\"\"},{\"path\":\"a/b\",\"template\":\"\"}]",
                      "vdus[0].day0[1].path");
    expect_vnfd_error("vdus/0/ready", "{\"tcp\":1,\"http\":{\"port\":2}}", "vdus[0].ready");
    expect_vnfd_error("vdus/0/colour", "1", "vdus[0].colour");
    expect_vnfd_error("params/greeting", "{\"type\":\"integer\",\"default\":\"x\"}",
                      "params.greeting.default");
    expect_vnfd_error("lifecycle", "{\"post_deployment\":[{\"script\":\"/nonexistent/x\"}]}",
                      "lifecycle.post_deployment[0].script");
    expect_vnfd_error("lifecycle", "{\"boot\":[]}", "lifecycle.boot");
    /* deploy-time parameters */
    given = json_pack("{s:i}", "port", 8080);
    assert_int_equal(vnfd_resolve_params(doc, given, &params, &err), 0);
    assert_string_equal(json_string_value(json_object_get(params, "greeting")), "hi");
    json_decref(params);
    json_decref(given);
    given = json_pack("{s:s}", "port", "80");
    assert_int_equal(vnfd_resolve_params(doc, given, &params, &err), -EINVAL);
    assert_string_equal(err.field, "params.port");
    json_decref(given);
    given = json_object();
    assert_int_equal(vnfd_resolve_params(doc, given, &params, &err), -EINVAL);
    assert_string_equal(err.reason, "missing-field");
    json_decref(given);
    given = json_pack("{s:i, s:i}", "port", 1, "other", 2);
    assert_int_equal(vnfd_resolve_params(doc, given, &params, &err), -EINVAL);
    assert_string_equal(err.field, "params.other");
    json_decref(given);
    json_decref(doc);
}

static void times(void **state)
{
    char buf[TIME_STR_MAX];
    int64_t ms;

    (void)state;
    assert_int_equal(time_parse("2015-05-05T19:38:27.71+00:00", &ms), 0);
    assert_int_equal(ms, 1430854707710);
    assert_string_equal(time_fmt(ms, buf), "2015-05-05T19:38:27.710Z");
    assert_int_equal(time_parse("2015-05-05T21:38:27+02:00", &ms), 0);
    assert_int_equal(ms, 1430854707000);
    assert_int_equal(time_parse("1430854707000", &ms), 0);
    assert_int_equal(time_parse("2015-13-05T00:00:00Z", &ms), -EINVAL);
    assert_int_equal(time_parse("yesterday", &ms), -EINVAL);
    assert_int_equal(time_parse("", &ms), -EINVAL);
    /* a beat written after the clock was read is fresh, not 2^64 ms old */
    assert_int_equal(ms_since(1000, 400), 600);
    assert_int_equal(ms_since(1000, 1001), 0);
}

static void networks_and_names(void **state)
{
    char buf[IP4_STR_MAX];
    uint32_t net;
    unsigned plen;

    (void)state;
    assert_int_equal(cidr_parse("10.77.0.0/24", &net, &plen), 0);
    assert_int_equal(plen, 24);
    assert_string_equal(ip4_fmt(net + 1, buf), "10.77.0.1");
    assert_int_equal(cidr_parse("10.77.0.1/24", &net, &plen), -EINVAL);
    assert_int_equal(cidr_parse("10.77.0.0/31", &net, &plen), -EINVAL);
    assert_int_equal(cidr_parse("10.77.0.0", &net, &plen), -EINVAL);
    assert_true(id_valid("web-1.a_b"));
    assert_false(id_valid(""));
    assert_false(id_valid("-x"));
    assert_false(id_valid("a/b"));
    assert_false(id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

/* What the cloud compares a branch's deployments by (fed/cloud.c): the same
 * for equal values in any member order, another for any change. */
static void json_hashes(void **state)
{
    json_t *a = json_loads("{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 1}], "
                           "\"x\": 1.5, \"op\": null}",
                           0, NULL);
    json_t *b =
        json_loads("{\"op\": null, \"x\": 1.5, \"vis\": [{\"n\": 1, \"ip\": \"10.0.0.2\"}], "
                   "\"id\": \"d1\"}",
                   0, NULL);
    const char *changed[] = {
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.3\", \"n\": 1}], \"x\": 1.5, \"op\": null}",
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 2}], \"x\": 1.5, \"op\": null}",
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 1}], \"x\": 1.5, \"op\": false}",
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 1}], \"x\": 1.5}",
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 1}], \"y\": 1.5, \"op\": null}",
        "{\"id\": \"d1\", \"vis\": [{\"ip\": \"10.0.0.2\", \"n\": 1}, {}], \"x\": 1.5, \"op\": "
        "null}",
        NULL};

    (void)state;
    assert_true(doc_hash(a) == doc_hash(b));
    for (const char **c = changed; *c; c++) {
        json_t *v = json_loads(*c, 0, NULL);

        assert_non_null(v);
        assert_true(doc_hash(v) != doc_hash(a));
        json_decref(v);
    }
    json_decref(a);
    json_decref(b);
}

/* --manager-load-weights and the weighed value (fed/load.c) */
static void load_weights(void **state)
{
    struct fed_weights w;
    char err[256];
    json_t *parts =
        json_pack("{s:i, s:i, s:f, s:i, s:i, s:f, s:f}", "vnfs", 10, "vis", 20, "probes_per_s",
                  100.0, "ops_running", 2, "ops_queued", 4, "cpu", 0.5, "memory_mb", 1000.0);

    (void)state;
    fed_weights_default(&w);
    /* 0.1 + 0.1 + 0.2 + 0.2 + 0.2 + 0.5 + 0.5 */
    assert_true(fabs(fed_load_value(parts, &w, false) - 1.8) < 1e-9);
    assert_true(fabs(fed_load_value(parts, &w, true) - 1.4) < 1e-9); /* without ops_* */
    assert_int_equal(fed_weights_parse("cpu=2,vnfs=0", &w, err, sizeof(err)), 0);
    assert_true(fabs(fed_load_value(parts, &w, false) - 2.2) < 1e-9);
    assert_int_equal(fed_weights_parse("disk=1", &w, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'disk=1'"));
    assert_int_equal(fed_weights_parse("cpu=-1", &w, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cpu"));
    assert_int_equal(fed_weights_parse("cpu=x", &w, err, sizeof(err)), -EINVAL);
    assert_int_equal(fed_weights_parse("cpu", &w, err, sizeof(err)), -EINVAL);
    assert_true(fabs(w.w[5] - 2) < 1e-9); /* untouched on failure */
    json_decref(parts);
}

static void agent_wire(void **state)
{
    json_t *vdu = json_pack("{s:[s,s]}", "command", "vnf-demo", "--listen");
    json_t *vars = json_pack("{s:s}", "ip", "10.1.0.2");
    json_t *files = json_pack("[[s,s]]", "demo.conf", "greeting=hi");
    struct vi_spec in = {.id = "0123456789",
                         .name = "d/web/0",
                         .vdu = vdu,
                         .vars = vars,
                         .files = files,
                         .fresh = true,
                         .vcpu_milli = 250,
                         .memory_bytes = 64ull << 20,
                         .disk_bytes = 1ull << 30,
                         .uid = 1879048200,
                         .admin_vnfd = true,
                         .n_nics = 2,
                         .nics = {{"vbabc0", "eth0", 0x0a010002, 24, 0x0a010001},
                                  {"vbabc1", "eth1", 0x0a020002, 16, 0}}};
    struct vi_spec out;
    struct vi_handle h = {"0123456789", NULL}, h2;
    struct vi_out vo = {.pid = 4242, .addr = {1, 2, 3, 4}}, vo2;
    char why[128];
    json_t *j = wire_spec(&in), *hj, *oj;

    (void)state;
    assert_int_equal(wire_spec_parse(j, &out, why, sizeof(why)), 0);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.name, in.name);
    assert_true(json_equal(out.vdu, vdu) && json_equal(out.vars, vars) &&
                json_equal(out.files, files));
    assert_true(out.fresh && out.admin_vnfd && !out.manager);
    assert_int_equal(out.vcpu_milli, 250);
    assert_true(out.memory_bytes == in.memory_bytes && out.disk_bytes == in.disk_bytes);
    assert_int_equal(out.uid, in.uid);
    assert_int_equal(out.n_nics, 2);
    assert_memory_equal(out.nics, in.nics, sizeof(in.nics));
    /* what the agent refuses, naming it */
    json_object_set_new(json_array_get(json_object_get(j, "nics"), 1), "bridge",
                        json_string("a-bridge-name-too-long"));
    assert_int_equal(wire_spec_parse(j, &out, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "bridge"));
    json_object_del(j, "id");
    assert_int_equal(wire_spec_parse(j, &out, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "id"));
    json_decref(j);
    /* handles with and without a reference */
    hj = wire_handle(&h);
    assert_int_equal(wire_handle_parse(hj, &h2), 0);
    assert_string_equal(h2.id, h.id);
    assert_null(h2.ref);
    json_decref(hj);
    h.ref = vars;
    hj = wire_handle(&h);
    assert_int_equal(wire_handle_parse(hj, &h2), 0);
    assert_true(json_equal(h2.ref, vars));
    json_object_set_new(hj, "id", json_string(""));
    assert_int_equal(wire_handle_parse(hj, &h2), -EINVAL);
    json_decref(hj);
    /* outcomes */
    vo.ref = json_pack("{s:i}", "pid", 4242);
    oj = wire_out(&vo);
    wire_out_parse(oj, &vo2);
    assert_int_equal(vo2.pid, 4242);
    assert_memory_equal(vo2.addr, vo.addr, sizeof(vo.addr));
    assert_true(json_equal(vo2.ref, vo.ref));
    json_decref(vo.ref);
    json_decref(vo2.ref);
    json_decref(oj);
    json_decref(vdu);
    json_decref(vars);
    json_decref(files);
}

static void sbuf_reads(void **state)
{
    struct sbuf b = SBUF_INIT;
    size_t off = 0;
    char buf[8];

    (void)state;
    assert_int_equal(sbuf_drain(&b, &off, buf, sizeof(buf)), 0); /* never written */
    sbuf_adds(&b, "0123456789");
    assert_int_equal(sbuf_drain(&b, &off, buf, 4), 4);
    assert_memory_equal(buf, "0123", 4);
    sbuf_adds(&b, "ab"); /* written while read */
    assert_int_equal(sbuf_drain(&b, &off, buf, sizeof(buf)), 8);
    assert_memory_equal(buf, "456789ab", 8);
    assert_int_equal(b.len, 0); /* all read: emptied */
    assert_int_equal(off, 0);
    assert_int_equal(sbuf_drain(&b, &off, buf, sizeof(buf)), 0);
    sbuf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonv_checks),       cmocka_unit_test(template_render_and_check),
        cmocka_unit_test(vnfd_validation),    cmocka_unit_test(times),
        cmocka_unit_test(networks_and_names), cmocka_unit_test(json_hashes),
        cmocka_unit_test(load_weights),       cmocka_unit_test(agent_wire),
        cmocka_unit_test(sbuf_reads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
