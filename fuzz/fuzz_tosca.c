/* libFuzzer target of SOL001 VNFDs: any input is the main service template
 * of a package, read as YAML (util/yamlj.c) and translated into a native
 * descriptor (catalog/tosca*.c), which is then validated (catalog/vnfd.c).
 * It may import types.yaml and flavour.yaml, fixed files of the package
 * below, and its artifacts may name Files/day0.conf. Seeds: the templates
 * of the sample packages (fuzz/corpus/tosca). */
#include "catalog/tosca.h"
#include "catalog/vnfd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char types_yaml[] =
    "tosca_definitions_version: tosca_simple_yaml_1_3\n"
    "data_types:\n"
    "  acme.Params:\n"
    "    derived_from: tosca.datatypes.nfv.VnfOperationAdditionalParameters\n"
    "    properties:\n"
    "      greeting: {type: string, default: hi}\n"
    "      n: {type: integer, required: false}\n"
    "node_types:\n"
    "  acme.VNF:\n"
    "    derived_from: tosca.nodes.nfv.VNF\n"
    "    properties:\n"
    "      descriptor_id: {type: string, default: acme-1}\n"
    "      flavour_id: {type: string, default: simple}\n"
    "    interfaces:\n"
    "      Vnflcm:\n"
    "        type: tosca.interfaces.nfv.Vnflcm\n"
    "        instantiate:\n"
    "          inputs:\n"
    "            additional_parameters: {type: acme.Params}\n"
    "  acme.Vdu:\n"
    "    derived_from: vnfm.nodes.Vdu.Process\n";

static const struct {
    const char *path, *text;
} fixed[] = {
    {"Definitions/types.yaml", types_yaml},
    {"Files/day0.conf", "greeting={{params.greeting}}\n"},
    {"Scripts/run.sh", "#!/bin/sh\n"},
};

struct input {
    const uint8_t *data;
    size_t size;
};

static int read_file(void *arg, const char *path, size_t max, char **out, char *err, size_t errlen)
{
    const struct input *in = arg;

    if (strcmp(path, "Definitions/vnfd.yaml") == 0) {
        if (in->size > max)
            return -EFBIG;
        *out = malloc(in->size + 1);
        memcpy(*out, in->data, in->size);
        (*out)[in->size] = '\0';
        return 0;
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(path, fixed[i].path) == 0) {
            *out = strdup(fixed[i].text);
            return 0;
        }
    snprintf(err, errlen, "%s: not in the package", path);
    return -ENOENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct tosca_opts opts = {"/nonexistent/vnfm-fuzz"};
    struct input in = {data, size};
    const struct tosca_src src = {read_file, &in};
    char err[512];
    struct jv_error jerr;
    json_t *out;

    if (size > (1 << 20) || memchr(data, 0, size))
        return 0;
    if (tosca_translate(&src, "Definitions/vnfd.yaml", &opts, &out, err, sizeof(err)) == 0) {
        vnfd_validate(json_object_get(out, "vnfd"), &jerr);
        json_decref(out);
    }
    return 0;
}
