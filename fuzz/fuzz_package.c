/* libFuzzer target of VNF packages as they are uploaded: any input is
 * opened as a SOL004 archive (catalog/csar.c: entries, layout, TOSCA.meta,
 * manifest), its checksums verified, and its VNFD translated from TOSCA
 * (catalog/tosca*.c, util/yamlj.c) and validated as a native descriptor.
 * Seeds: the sample packages (fuzz/corpus/package). */
#include "catalog/csar.h"
#include "catalog/tosca.h"
#include "catalog/vnfd.h"

#include <stdint.h>
#include <stdlib.h>

static int read_entry(void *arg, const char *path, size_t max, char **out, char *err, size_t errlen)
{
    return csar_read(arg, path, max, out, NULL, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct tosca_opts opts = {"/nonexistent/vnfm-fuzz"};
    /* small bounds, so that an input cannot make a run slow */
    static const struct csar_limits lim = {
        .max_entries = 200, .max_expanded = 8 << 20, .max_text = 1 << 20};
    char err[CSAR_ERR_MAX];
    struct tosca_src src;
    struct jv_error jerr;
    struct csar *c;
    json_t *out;

    if (csar_open_buffer(data, size, &lim, &c, err, sizeof(err)))
        return 0;
    src = (struct tosca_src){read_entry, c};
    if (csar_verify(c, err, sizeof(err)) == 0 &&
        tosca_translate(&src, csar_entry(c), &opts, &out, err, sizeof(err)) == 0) {
        vnfd_validate(json_object_get(out, "vnfd"), &jerr);
        json_decref(out);
    }
    csar_free(c);
    return 0;
}
