/* VNFDs in ETSI SOL001 TOSCA, translated into our native descriptor
 * (docs/VNFD.md, checked by vnfd_validate) at on-boarding. The subset a
 * VNFM needs, what it maps onto and what it refuses: docs/PACKAGES.md.
 *
 * The service templates are read with a YAML parser (util/yamlj.h) from
 * the package, following their imports inside it; the SOL001 type
 * definitions (etsi_nfv_sol001_*_types.yaml) and our own
 * (vnfm_types.yaml) are known without being read. Every deployment
 * flavour (a topology template with VDUs, its flavour_id from its
 * substitution mappings or its VNF node) becomes a native flavour; VDUs
 * (tosca.nodes.nfv.Vdu.Compute, and vnfm.nodes.Vdu.Process which adds the
 * command a process VIM runs), their virtual compute and storage, one
 * connection point each, scaling aspects with uniform deltas, initial
 * deltas, instantiation levels and the Vnflcm interface's operations
 * (scripts of the package, run as custom actions) are mapped. Anything
 * that would change what the VNF gets and has no mapping is refused with
 * an error naming the file, the node or policy, and the property:
 *   "Definitions/df.yaml: VDU1: capabilities.virtual_compute.properties.
 *    virtual_memory.virtual_mem_size: '512 XB' is not a size"
 * Informational properties (images of a VIM of virtual machines,
 * bitrates, affinity) are ignored and listed in the result's notes.
 */
#ifndef VNFM_TOSCA_H
#define VNFM_TOSCA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Where the translator reads the package's files from (csar.h, or a test's
 * table). read() returns a NUL terminated copy the caller frees, -ENOENT
 * when there is no such file, another negative errno with err set. */
struct tosca_src {
    int (*read)(void *arg, const char *path, size_t max, char **out, char *err, size_t errlen);
    void *arg;
};

struct tosca_opts {
    /* The absolute directory the package's files named by Vnflcm
     * operations are written into (the result lists them in "extract");
     * custom actions name them there. NULL: operations with scripts are
     * refused. */
    const char *script_root;
};

/* Translates the VNFD whose main service template is entry. Returns 0 and
 * *out, a new object:
 *   "vnfd": the native descriptor (not yet validated: vnfd_validate),
 *   "descriptor_id", "descriptor_version", "provider", "product_name",
 *   "software_version": the VNF node's properties,
 *   "flavours": [{"flavour_id", "description"}],
 *   "aspects": {aspect: VDU}, "connection_points": {VDU: cp},
 *   "extract": [paths of package files to write under script_root],
 *   "notes": [what was ignored and why];
 * or -EINVAL with err. */
int tosca_translate(const struct tosca_src *src, const char *entry, const struct tosca_opts *o,
                    json_t **out, char *err, size_t errlen);

#endif
