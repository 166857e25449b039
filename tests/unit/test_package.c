/* VNF packages: YAML to JSON (util/yamlj), SOL004 archives (catalog/csar),
 * SOL001 VNFDs translated to native ones (catalog/tosca). */
#include "unit.h"

#include "catalog/csar.h"
#include "catalog/tosca.h"
#include "catalog/vnfd.h"
#include "util/fsutil.h"
#include "util/yamlj.h"

#include <errno.h>
#include <sys/stat.h>

#include <zip.h>

/* ---- yamlj ---------------------------------------------------------------- */

static json_t *yaml_ok(const char *text)
{
    char err[256];
    json_t *v = NULL;

    if (yamlj_parse(text, strlen(text), NULL, &v, err, sizeof(err)))
        fail_msg("%s: %s", text, err);
    return v;
}

static void yaml_bad(const char *text, const struct yamlj_limits *lim, const char *want)
{
    char err[256] = "";
    json_t *v = NULL;

    assert_int_equal(yamlj_parse(text, strlen(text), lim, &v, err, sizeof(err)), -EINVAL);
    assert_null(v);
    if (!strstr(err, want))
        fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void yaml_values(void **state)
{
    json_t *v = yaml_ok("a: 1.0\nb: [x, 'true', ~]\nc: {d: null, e: ''}\nf:\n");

    (void)state;
    /* scalars stay strings: a version 1.10 is not the number 1.1 */
    assert_string_equal(json_string_value(json_object_get(v, "a")), "1.0");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "b"), 1)), "true");
    assert_true(json_is_null(json_array_get(json_object_get(v, "b"), 2)));
    assert_true(json_is_null(json_object_get(json_object_get(v, "c"), "d")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "c"), "e")), "");
    assert_true(json_is_null(json_object_get(v, "f")));
    json_decref(v);
    v = yaml_ok("base: &b {x: 1}\nuse: *b\n");
    assert_true(json_equal(json_object_get(v, "base"), json_object_get(v, "use")));
    json_decref(v);
    v = yaml_ok("");
    assert_true(json_is_null(v));
    json_decref(v);
}

static void yaml_hostile(void **state)
{
    const struct yamlj_limits small = {.max_values = 1000, .max_depth = 8};

    (void)state;
    yaml_bad("a: 1\na: 2\n", NULL, "line 2 column 1: duplicate key 'a'");
    yaml_bad("[1]: x\n", NULL, "a mapping key must be a string");
    yaml_bad("a: 1\n---\nb: 2\n", NULL, "more than one YAML document");
    yaml_bad("a: *nope\n", NULL, "alias *nope names no anchor");
    yaml_bad("a: &x [1, *x]\n", NULL, "alias *x names no anchor");
    yaml_bad("a: \"x\\0y\"\n", NULL, "NUL character");
    yaml_bad("a: [1, 2\n", NULL, "line");
    yaml_bad("[[[[[[[[[[1]]]]]]]]]]\n", &small, "nested deeper than 8");
    /* a billion laughs: each level doubles what the aliases expand to */
    yaml_bad("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
             "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
             "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
             &small, "more than 1000 values");
}

/* ---- archives ------------------------------------------------------------- */

struct zent {
    const char *name;
    const char *text; /* NULL: size bytes of zeros */
    size_t size;
    unsigned mode; /* unix mode with its type; 0: a plain file */
};

/* Writes a zip of entries into path with libzip, bypassing our builder. */
static void make_zip(const char *path, const struct zent *e)
{
    int code = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    void **bufs = calloc(20000, sizeof(*bufs));
    int nb = 0;

    assert_non_null(za);
    for (; e->name; e++) {
        size_t n = e->text ? strlen(e->text) : e->size;
        void *buf = calloc(1, n + 1);
        zip_int64_t i;

        if (e->text)
            memcpy(buf, e->text, n);
        bufs[nb++] = buf;
        i = zip_file_add(za, e->name, zip_source_buffer(za, buf, n, 0), 0);
        assert_true(i >= 0);
        zip_file_set_external_attributes(za, (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX,
                                         (zip_uint32_t)(e->mode ? e->mode : 0100644u) << 16);
    }
    assert_int_equal(zip_close(za), 0);
    while (nb > 0)
        free(bufs[--nb]);
    free(bufs);
}

static const char meta[] = "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: test\n"
                           "Entry-Definitions: Definitions/vnfd.yaml\n";
static const char tiny_vnfd[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n";

static char *write_zip(const char *dir, const struct zent *e)
{
    char *path = malloc(strlen(dir) + 16);

    sprintf(path, "%s/p.zip", dir);
    make_zip(path, e);
    return path;
}

/* Opens (and verifies) a zip of entries; the error, or "" when it passed. */
static const char *open_zip(const char *dir, const struct zent *e, char *err, size_t errlen)
{
    char *path = write_zip(dir, e);
    struct csar *c = NULL;

    err[0] = '\0';
    if (csar_open(path, NULL, &c, err, errlen) == 0 && csar_verify(c, err, errlen) == 0)
        err[0] = '\0';
    csar_free(c);
    free(path);
    return err;
}

static void refused(const char *dir, const struct zent *e, const char *want)
{
    char err[CSAR_ERR_MAX];

    open_zip(dir, e, err, sizeof(err));
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void csar_layouts(void **state)
{
    char *dir = test_tmpdir(), err[CSAR_ERR_MAX], *path;
    struct csar *c;
    char *text;

    (void)state;
    /* option 1 with a manifest whose checksum is right */
    {
        static const char body[] = "hello\n";
        /* sha256 of "hello\n" */
        const struct zent e[] = {
            {"TOSCA-Metadata/TOSCA.meta",
             "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: t\n"
             "Entry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: m.mf\n"},
            {"Definitions/vnfd.yaml", tiny_vnfd},
            {"Files/hello.txt", body},
            {"m.mf", "metadata:\nvnf_product_name: x\nvnf_provider_id: y\n\n"
                     "Source: Files/hello.txt\nAlgorithm: SHA-256\n"
                     "Hash: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"},
            {NULL}};

        path = write_zip(dir, e);
        assert_int_equal(csar_open(path, NULL, &c, err, sizeof(err)), 0);
        assert_int_equal(csar_verify(c, err, sizeof(err)), 0);
        assert_string_equal(csar_entry(c), "Definitions/vnfd.yaml");
        assert_string_equal(csar_manifest(c), "m.mf");
        assert_string_equal(
            json_string_value(json_object_get(csar_manifest_meta(c), "vnf_product_name")), "x");
        assert_int_equal(json_array_size(csar_artifacts(c)), 1);
        assert_int_equal(csar_read(c, "Files/hello.txt", 100, &text, NULL, err, sizeof(err)), 0);
        assert_string_equal(text, body);
        free(text);
        assert_int_equal(csar_read(c, "Files/hello.txt", 3, &text, NULL, err, sizeof(err)), -EFBIG);
        assert_int_equal(csar_read(c, "Files", 100, &text, NULL, err, sizeof(err)), -ENOENT);
        csar_free(c);
        free(path);
    }
    /* a wrong checksum names the file and where it was declared */
    refused(
        dir,
        (const struct zent[]){
            {"TOSCA-Metadata/TOSCA.meta",
             "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: t\n"
             "Entry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: m.mf\n"},
            {"Definitions/vnfd.yaml", tiny_vnfd},
            {"Files/hello.txt", "hello!\n"},
            {"m.mf", "Source: Files/hello.txt\nAlgorithm: SHA-256\n"
                     "Hash: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"},
            {NULL}},
        "Files/hello.txt: checksum mismatch: m.mf line 1 declares SHA-256");
    refused(dir,
            (const struct zent[]){
                {"TOSCA-Metadata/TOSCA.meta",
                 "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: t\n"
                 "Entry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: m.mf\n"},
                {"Definitions/vnfd.yaml", tiny_vnfd},
                {"m.mf", "Source: Files/gone.txt\nAlgorithm: MD5\nHash: 00\n"},
                {NULL}},
            "m.mf line 1: algorithm 'MD5' of 'Files/gone.txt' is not one of SHA-224");
    refused(dir,
            (const struct zent[]){
                {"TOSCA-Metadata/TOSCA.meta",
                 "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: t\n"
                 "Entry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: m.mf\n"},
                {"Definitions/vnfd.yaml", tiny_vnfd},
                {"m.mf", "Source: Files/gone.txt\nAlgorithm: SHA-256\nHash: "
                         "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\n"},
                {NULL}},
            "m.mf line 1: 'Files/gone.txt' is not in the package");
    /* option 2: one root YAML and its manifest */
    refused(dir, (const struct zent[]){{"vnfd.yaml", tiny_vnfd}, {NULL}},
            "vnfd.mf: the manifest of the root YAML vnfd.yaml is missing");
    assert_string_equal(open_zip(dir,
                                 (const struct zent[]){{"vnfd.yaml", tiny_vnfd},
                                                       {"vnfd.mf", "metadata:\nx: y\n"},
                                                       {NULL}},
                                 err, sizeof(err)),
                        "");
    refused(dir, (const struct zent[]){{"a.yaml", tiny_vnfd}, {"b.yaml", tiny_vnfd}, {NULL}},
            "2 YAML files at its root");
    refused(dir, (const struct zent[]){{"Files/x", "x"}, {NULL}},
            "no TOSCA-Metadata/TOSCA.meta and 0 YAML files");
    refused(dir,
            (const struct zent[]){
                {"TOSCA-Metadata/TOSCA.meta", "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\n"},
                {NULL}},
            "TOSCA.meta: Entry-Definitions is missing");
    refused(dir, (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta}, {NULL}},
            "Entry-Definitions 'Definitions/vnfd.yaml' is not in the package");
    test_rmdir(dir);
}

static void csar_hostile(void **state)
{
    char *dir = test_tmpdir(), name[32];
    struct zent *many = calloc(10003, sizeof(*many));

    (void)state;
    refused(dir,
            (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta},
                                  {"Definitions/vnfd.yaml", tiny_vnfd},
                                  {"Definitions/../../etc/passwd", "root"},
                                  {NULL}},
            "Definitions/../../etc/passwd: the entry climbs out of the package");
    refused(
        dir,
        (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta}, {"/etc/cron.d/x", "x"}, {NULL}},
        "/etc/cron.d/x: the entry has an absolute path");
    refused(dir,
            (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta},
                                  {"Definitions/vnfd.yaml", tiny_vnfd},
                                  {"Files/link", "/etc/shadow", 0, 0120777},
                                  {NULL}},
            "Files/link: the entry is a symbolic link");
    refused(dir,
            (const struct zent[]){
                {"TOSCA-Metadata/TOSCA.meta", meta}, {"Files/dev", "", 0, 0020644}, {NULL}},
            "Files/dev: the entry is a special file");
    refused(dir,
            (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta}, {"Files\\x", "x"}, {NULL}},
            "backslash");
    /* 20 MiB of zeros deflate to about 20 KiB: 1000 times */
    refused(dir,
            (const struct zent[]){{"TOSCA-Metadata/TOSCA.meta", meta},
                                  {"Definitions/vnfd.yaml", tiny_vnfd},
                                  {"Files/zeros", NULL, 20u << 20},
                                  {NULL}},
            "more than 100 times its size");
    for (int i = 0; i < 10001; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        many[i] = (struct zent){strdup(name), "", 0, 0};
    }
    many[10001] = (struct zent){NULL};
    refused(dir, many, "10001 entries, more than 10000");
    for (int i = 0; i < 10001; i++)
        free((char *)many[i].name);
    free(many);
    test_rmdir(dir);
}

static void csar_paths(void **state)
{
    char *p;

    (void)state;
    p = csar_resolve("Definitions/a.yaml", "../Scripts/x.sh");
    assert_string_equal(p, "Scripts/x.sh");
    free(p);
    p = csar_resolve("Definitions/a.yaml", "./b.yaml");
    assert_string_equal(p, "Definitions/b.yaml");
    free(p);
    p = csar_resolve("a.yaml", "/Files/x");
    assert_string_equal(p, "Files/x");
    free(p);
    assert_null(csar_resolve("Definitions/a.yaml", "../../etc/passwd"));
    assert_null(csar_resolve("a.yaml", ".."));
}

/* ---- TOSCA ---------------------------------------------------------------- */

struct tfile_src {
    const char *path, *text;
};

static int table_read(void *arg, const char *path, size_t max, char **out, char *err, size_t errlen)
{
    for (const struct tfile_src *f = arg; f->path; f++)
        if (strcmp(f->path, path) == 0) {
            if (strlen(f->text) > max) {
                snprintf(err, errlen, "%s: too big", path);
                return -EFBIG;
            }
            *out = strdup(f->text);
            return 0;
        }
    snprintf(err, errlen, "%s: not in the package", path);
    return -ENOENT;
}

static int csar_src_read(void *arg, const char *path, size_t max, char **out, char *err,
                         size_t errlen)
{
    return csar_read(arg, path, max, out, NULL, err, errlen);
}

static const struct tosca_opts opts = {.script_root = "/srv/pkg"};

/* The sample package examples/packages/demo-web, built and translated. */
static void tosca_sample(void **state)
{
    char *dir = test_tmpdir(), err[CSAR_ERR_MAX], path[256], root[200], want[256];
    struct csar *c;
    struct tosca_src src;
    struct jv_error jerr;
    json_t *out, *vnfd, *vdu, *large, *x;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/demo-web.zip", dir);
    if (csar_build("examples/packages/demo-web", path, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(csar_open(path, NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(csar_verify(c, err, sizeof(err)), 0);
    src = (struct tosca_src){csar_src_read, c};
    snprintf(root, sizeof(root), "%s/scripts", dir);
    if (tosca_translate(&src, csar_entry(c), &(struct tosca_opts){root}, &out, err, sizeof(err)))
        fail_msg("%s", err);
    /* what on-boarding does before it validates: the scripts go to the root */
    json_array_foreach(json_object_get(out, "extract"), i, x)
    {
        snprintf(path, sizeof(path), "%s/%s", root, json_string_value(x));
        *strrchr(path, '/') = '\0';
        assert_int_equal(mkdir_p(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/%s", root, json_string_value(x));
        if (csar_extract(c, json_string_value(x), path, 0755, err, sizeof(err)))
            fail_msg("%s", err);
    }
    vnfd = json_object_get(out, "vnfd");
    if (vnfd_validate(vnfd, &jerr))
        fail_msg("%s: %s", jerr.field, jerr.message);
    assert_string_equal(json_string_value(json_object_get(vnfd, "id")),
                        "6d0b8c2e-3f4a-4e1b-9c7d-2a5e8f1b0c31");
    assert_string_equal(json_string_value(json_object_get(vnfd, "vendor")), "vnfm examples");
    vdu = json_array_get(json_object_get(vnfd, "vdus"), 0);
    assert_string_equal(json_string_value(json_object_get(vdu, "id")), "web");
    assert_string_equal(json_string_value(json_object_get(vdu, "aspect")), "web_servers");
    assert_int_equal(json_integer_value(json_object_get(vdu, "memory_mb")), 64);
    assert_int_equal(json_integer_value(json_object_get(vdu, "disk_mb")), 16);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(vdu, "scaling"), "max")),
                     4);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(vdu, "day0"), 0), "template")),
                           "greeting={{params.greeting}}"));
    large = json_array_get(json_object_get(vnfd, "flavours"), 1);
    assert_string_equal(json_string_value(json_object_get(large, "id")), "large");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(large, "instantiation_levels"), "big"), "web")),
        4);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(large, "scaling"), "web"), "min")),
                     2);
    snprintf(want, sizeof(want), "%s/Scripts/register.sh", root);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(vnfd, "lifecycle"), "post_deployment"),
                           0),
            "script")),
        want);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(vnfd, "params"), "threads"), "default")),
                     2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "extract"), 0)),
                        "Scripts/register.sh");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "connection_points"), "web")),
        "web_cp");
    json_decref(out);
    csar_free(c);
    test_rmdir(dir);
}

/* A one-file VNFD; extra nodes and policies are spliced in. */
static const char one_file[] =
    "tosca_definitions_version: tosca_simple_yaml_1_3\n"
    "imports: [etsi_nfv_sol001_vnfd_types.yaml]\n"
    "topology_template:\n"
    "  node_templates:\n"
    "    VNF:\n"
    "      type: tosca.nodes.nfv.VNF\n"
    "      properties: {descriptor_id: d1, provider: p, product_name: n,\n"
    "                   software_version: '1.10', flavour_id: small}\n"
    "    VDU1:\n"
    "      type: vnfm.nodes.Vdu.Process\n"
    "      properties:\n"
    "        name: VDU1\n"
    "        vdu_profile: {min_number_of_instances: 1, max_number_of_instances: 3}\n"
    "        command: [sleep, '1000']\n"
    "%s"
    "      capabilities:\n"
    "        virtual_compute:\n"
    "          properties:\n"
    "            virtual_memory: {virtual_mem_size: %s}\n"
    "            virtual_cpu: {num_virtual_cpu: 1}\n"
    "%s"
    "  policies:\n"
    "    - aspects:\n"
    "        type: tosca.policies.nfv.ScalingAspects\n"
    "        properties:\n"
    "          aspects: {a1: {max_scale_level: 2, step_deltas: [d1, d2]}}\n"
    "    - deltas:\n"
    "        type: tosca.policies.nfv.VduScalingAspectDeltas\n"
    "        properties: {aspect: a1, deltas: {d1: {number_of_instances: 1},\n"
    "                                          d2: {number_of_instances: %s}}}\n"
    "        targets: [VDU1]\n"
    "%s";

struct variant {
    const char *vdu_props, *mem, *nodes, *delta2, *policies;
};

static int translate_variant(const struct variant *v, json_t **out, char *err, size_t errlen)
{
    char *text = NULL;
    int r;

    assert_true(asprintf(&text, one_file, v->vdu_props ? v->vdu_props : "",
                         v->mem ? v->mem : "512 MB", v->nodes ? v->nodes : "",
                         v->delta2 ? v->delta2 : "1", v->policies ? v->policies : "") > 0);
    {
        const struct tfile_src files[] = {{"vnfd.yaml", text}, {NULL, NULL}};
        const struct tosca_src src = {table_read, (void *)files};

        r = tosca_translate(&src, "vnfd.yaml", &opts, out, err, errlen);
    }
    free(text);
    return r;
}

static void unmappable(const struct variant *v, const char *want)
{
    char err[CSAR_ERR_MAX] = "";
    json_t *out = NULL;

    assert_int_equal(translate_variant(v, &out, err, sizeof(err)), -EINVAL);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void tosca_one_file(void **state)
{
    char err[CSAR_ERR_MAX];
    struct jv_error jerr;
    json_t *out, *vnfd, *vdu;

    (void)state;
    if (translate_variant(&(struct variant){0}, &out, err, sizeof(err)))
        fail_msg("%s", err);
    vnfd = json_object_get(out, "vnfd");
    if (vnfd_validate(vnfd, &jerr))
        fail_msg("%s: %s", jerr.field, jerr.message);
    vdu = json_array_get(json_object_get(vnfd, "vdus"), 0);
    assert_string_equal(json_string_value(json_object_get(vnfd, "version")), "1.10");
    assert_int_equal(json_integer_value(json_object_get(vdu, "memory_mb")), 512);
    assert_string_equal(json_string_value(json_array_get(json_object_get(vdu, "command"), 1)),
                        "1000");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(vdu, "scaling"), "max")),
                     3);
    json_decref(out);
}

static void tosca_refusals(void **state)
{
    (void)state;
    unmappable(&(struct variant){.mem = "512 XB"},
               "vnfd.yaml: VDU1: capabilities.virtual_compute.properties.virtual_memory."
               "virtual_mem_size: must be a size");
    unmappable(&(struct variant){.vdu_props = "        colour: blue\n"},
               "VDU1: properties.colour: not a property of vnfm.nodes.Vdu.Process");
    unmappable(&(struct variant){.delta2 = "2"},
               "deltas: properties.deltas: the steps of VDU1 add 1 and then 2 instances");
    unmappable(&(struct variant){.nodes = "    store:\n"
                                          "      type: tosca.nodes.nfv.Vdu.VirtualObjectStorage\n"},
               "store: type: tosca.nodes.nfv.Vdu.VirtualObjectStorage cannot be mapped");
    unmappable(&(struct variant){.nodes = "    cp1:\n"
                                          "      type: tosca.nodes.nfv.VduCp\n"
                                          "      requirements: [virtual_binding: VDU1]\n"
                                          "    cp2:\n"
                                          "      type: tosca.nodes.nfv.VduCp\n"
                                          "      requirements: [virtual_binding: VDU1]\n"},
               "VDU1 has a connection point already (cp1)");
    unmappable(&(struct variant){.nodes = "    thing:\n"
                                          "      type: acme.nodes.Thing\n"},
               "thing: node type 'acme.nodes.Thing' is neither defined in the package");
    unmappable(&(struct variant){.policies = "    - p1:\n"
                                             "        type: tosca.policies.nfv.VduInitialDelta\n"
                                             "        properties: {initial_delta: "
                                             "{number_of_instances: 2}}\n"
                                             "        targets: [VDU9]\n"},
               "p1: targets[0]: 'VDU9' is not a VDU of the flavour");
    unmappable(&(struct variant){.policies = "    - p1:\n"
                                             "        type: tosca.policies.nfv.VduInitialDelta\n"
                                             "        properties: {initial_delta: "
                                             "{number_of_instances: 2}}\n"
                                             "        targets: [VDU1]\n"},
               "aspect a1 at its max_scale_level needs 4 instances of VDU1, more than its "
               "vdu_profile.max_number_of_instances (3)");
    unmappable(&(struct variant){.nodes = "    VNF2:\n"
                                          "      type: tosca.nodes.nfv.VNF\n"
                                          "      interfaces:\n"
                                          "        Vnflcm:\n"
                                          "          terminate_end: ../x.sh\n"},
               "interfaces.Vnflcm.terminate_end: cannot be mapped: no stage runs after");
    unmappable(&(struct variant){.nodes = "    VNF2:\n"
                                          "      type: tosca.nodes.nfv.VNF\n"
                                          "      interfaces:\n"
                                          "        Vnflcm:\n"
                                          "          instantiate: Scripts/missing.sh\n"},
               "interfaces.Vnflcm.instantiate: implementation: Scripts/missing.sh: not in the "
               "package");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yaml_values),    cmocka_unit_test(yaml_hostile),
        cmocka_unit_test(csar_layouts),   cmocka_unit_test(csar_hostile),
        cmocka_unit_test(csar_paths),     cmocka_unit_test(tosca_sample),
        cmocka_unit_test(tosca_one_file), cmocka_unit_test(tosca_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
