/* vnfmctl commands for VNF packages (docs/PACKAGES.md): package build packs
 * a directory into a SOL004 CSAR with its manifest's checksums. */
#include "catalog/csar.h"
#include "cli/ctl.h"

#include <stdio.h>

int cmd_package_build(struct ctl *c, const struct args *a)
{
    char err[CSAR_ERR_MAX];
    struct csar *pkg;

    (void)c;
    if (csar_build(a->pos[0], a->pos[1], err, sizeof(err))) {
        fprintf(stderr, "vnfmctl: %s\n", err);
        return EXIT_FAILED;
    }
    /* What the manager will check first, so that a bad package fails here. */
    if (csar_open(a->pos[1], NULL, &pkg, err, sizeof(err)) || csar_verify(pkg, err, sizeof(err))) {
        fprintf(stderr, "vnfmctl: %s: %s\n", a->pos[1], err);
        return EXIT_FAILED;
    }
    printf("%s: entry %s, manifest %s\n", a->pos[1], csar_entry(pkg),
           csar_manifest(pkg) ? csar_manifest(pkg) : "none");
    csar_free(pkg);
    return EXIT_OK;
}
