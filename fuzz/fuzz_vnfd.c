/* libFuzzer target of VNF descriptors (src/catalog/vnfd.c) and their
 * templates (src/catalog/template.c): what on-boarding and a deploy do
 * with one. The input is a JSON object of deploy parameters on its first
 * line, then the descriptor. A descriptor that vnfd_validate() accepts is
 * taken through every flavour and instantiation level and the figures of
 * its VDUs, its parameters are resolved, and every template of its VDUs
 * (command and day-0 files) is rendered: none of this may crash, leak or
 * fail to render what validation let through. The same text is also taken
 * as a template on its own: what tmpl_check() accepts must render. */
#include "catalog/template.h"
#include "catalog/vnfd.h"
#include "fuzz/fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void render(const char *tmpl, const json_t *vars)
{
    char *out, err[128];

    if (tmpl_render(tmpl, vars, &out, err, sizeof(err))) {
        fprintf(stderr, "a validated template does not render: %s\n%s\n", err, tmpl);
        abort();
    }
    free(out);
}

static void render_all(const json_t *vnfd, const json_t *params)
{
    json_t *vars = json_pack("{s:s, s:s, s:I, s:s, s:s}", "ip", "10.0.0.2", "vi.name", "d/web/0",
                             "vi.index", (json_int_t)0, "day0_dir", "/tmp", "license", "L");
    const json_t *vdu, *arg, *file, *v;
    const char *name;
    size_t i, k;

    json_object_foreach((json_t *)params, name, v)
    {
        char key[160];

        snprintf(key, sizeof(key), "params.%s", name);
        json_object_set(vars, key, (json_t *)v);
    }
    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        json_array_foreach(json_object_get(vdu, "command"), k, arg)
        {
            render(json_string_value(arg), vars);
        }
        json_array_foreach(json_object_get(vdu, "day0"), k, file)
        {
            render(jv_str(file, "template", ""), vars);
        }
    }
    json_decref(vars);
}

static void vdus(const json_t *vnfd)
{
    const json_t *vdu;
    struct vnfd_scaling sc;
    struct vnfd_vertical vv;
    struct vnfd_retry rt;
    size_t i;

    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        (void)vnfd_vdu_vcpu_milli(vdu);
        (void)vnfd_vdu_memory_mb(vdu);
        (void)vnfd_vdu_disk_mb(vdu);
        vnfd_vdu_scaling(vdu, &sc);
        vnfd_vdu_vertical(vdu, &vv);
        if (!vnfd_vdu(vnfd, jv_str(vdu, "id", "")))
            abort();
    }
    vnfd_retry(vnfd, &rt);
}

/* The default flavour and each declared one, at each of its levels. */
static void flavour(const json_t *vnfd, const char *id, const json_t *levels)
{
    json_t *flavoured = NULL, *inst = NULL;
    const char *level_id, *name;
    const json_t *v;

    if (vnfd_flavoured(vnfd, id, &flavoured))
        abort(); /* it is declared */
    vdus(flavoured);
    if (vnfd_level(flavoured, id, NULL, &inst, &level_id) == 0)
        json_decref(inst);
    json_object_foreach((json_t *)levels, name, v)
    {
        if (vnfd_level(flavoured, id, name, &inst, &level_id) == 0)
            json_decref(inst);
    }
    json_decref(flavoured);
}

static bool any_name(const char *name, bool is_list, void *arg)
{
    (void)is_list;
    (void)arg;
    return strncmp(name, "params.", 7) == 0 || strcmp(name, "ip") == 0;
}

/* The rest of the input as a template: what tmpl_check() accepts renders. */
static void template(const char *text, size_t len)
{
    char *tmpl = strndup(text, len), err[128];
    json_t *vars = json_pack("{s:s, s:[s, s], s:s}", "ip", "10.0.0.2", "params.list", "a", "b",
                             "params.one", "x");

    if (tmpl_check(tmpl, any_name, NULL, err, sizeof(err)) == 0)
        render(tmpl, vars);
    json_decref(vars);
    free(tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line;
    size_t len;
    const char *text = fuzz_split(data, size, &line, &len);
    json_t *given = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *vnfd, *params = NULL;
    struct jv_error err;
    const json_t *f;
    size_t i;

    free(line);
    template(text, len);
    vnfd = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(vnfd) && vnfd_validate(vnfd, &err) == 0) {
        vdus(vnfd);
        flavour(vnfd, VNFD_DEFAULT_FLAVOUR, NULL);
        json_array_foreach(json_object_get(vnfd, "flavours"), i, f)
        {
            flavour(vnfd, jv_str(f, "id", ""), json_object_get(f, "instantiation_levels"));
        }
        if (vnfd_resolve_params(vnfd, json_is_object(given) ? given : NULL, &params, &err) == 0)
            render_all(vnfd, params);
        json_decref(params);
    }
    json_decref(vnfd);
    json_decref(given);
    return 0;
}
