/* VNF packages as ETSI SOL004 CSARs: a zip archive holding a VNFD in
 * SOL001 TOSCA (catalog/tosca.h) with its artifacts, found either through
 * TOSCA-Metadata/TOSCA.meta (option 1) or as the one YAML file at the root
 * with a manifest of the same name (option 2). docs/PACKAGES.md.
 *
 * The archive is hostile. csar_open() refuses, naming the entry, before
 * anything is decompressed: more than max_entries entries, names that are
 * absolute, climb out ("..") or are not plain UTF-8 paths, duplicates,
 * symbolic links, devices and other special files, encrypted entries,
 * compression methods other than stored and deflated, and archives that
 * would expand to more than max_ratio times their size or max_expanded
 * bytes in all (zip bombs). Reading an entry stops at its declared size,
 * and libzip checks its CRC. Nothing is ever written where an entry's name
 * says: the package stays an archive, read entry by entry.
 *
 * csar_verify() checks every checksum that the manifest (and TOSCA.meta's
 * per-file blocks) declares, streaming each file through the digest, so
 * that verifying a large artifact costs a buffer, not its size.
 */
#ifndef VNFM_CSAR_H
#define VNFM_CSAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define CSAR_ERR_MAX 512

struct csar_limits {
    unsigned max_entries;  /* 0 = 10000 */
    uint64_t max_expanded; /* bytes of every entry decompressed, 0 = 4 GiB */
    unsigned max_ratio;    /* expanded size / archive size, 0 = 100 */
    size_t max_text;       /* a metadata, manifest or YAML file, 0 = 4 MiB */
};

struct csar;

/* Opens the package in file path (or in memory: data[0..len), which must
 * outlive it) and checks its entries and layout. 0 and *out, or -EINVAL
 * (-ENOENT, -EIO) with err naming the entry and the reason. lim may be NULL. */
int csar_open(const char *path, const struct csar_limits *lim, struct csar **out, char *err,
              size_t errlen);
int csar_open_buffer(const void *data, size_t len, const struct csar_limits *lim, struct csar **out,
                     char *err, size_t errlen);
void csar_free(struct csar *c);

/* The path of the VNFD's main service template in the archive. */
const char *csar_entry(const struct csar *c);
/* The manifest's path, or NULL when the package has none. */
const char *csar_manifest(const struct csar *c);
/* The manifest's metadata ({"vnf_provider_id": ..., "vnf_product_name":
 * ...}, strings), and TOSCA.meta's first block; empty objects when absent.
 * Owned by c. */
const json_t *csar_manifest_meta(const struct csar *c);
const json_t *csar_tosca_meta(const struct csar *c);
/* The files with a declared checksum, as SOL005 VnfPackageArtifactInfo:
 * [{"artifactPath", "checksum": {"algorithm", "hash"}}], and URIs of
 * artifacts outside the package as "artifactURI". Owned by c. */
const json_t *csar_artifacts(const struct csar *c);
/* Whether the archive signs its manifest (a CMS block; csar_verify_signature). */
bool csar_signed(const struct csar *c);
/* Verifies the CMS signature of the manifest (SOL004 security option 1;
 * csar_sign.c) against the certificates of the PEM file trust (CAs, or
 * the signers' own): 0 with the signer's subject in signer; -ENOENT when
 * the package is not signed; -EPERM when it is and trust is NULL; else
 * -EINVAL (-EIO) with err. */
int csar_verify_signature(struct csar *c, const char *trust, char *signer, size_t signer_len,
                          char *err, size_t errlen);

/* Verifies every declared checksum. 0, or -EINVAL with err naming the file
 * and where its checksum is declared. */
int csar_verify(struct csar *c, char *err, size_t errlen);

/* Whether the archive holds a file of that path. */
bool csar_has(const struct csar *c, const char *path);
/* Reads a whole file of at most max bytes into a NUL terminated buffer
 * the caller frees; *len may be NULL. -ENOENT, -EFBIG, -EIO with err. */
int csar_read(struct csar *c, const char *path, size_t max, char **out, size_t *len, char *err,
              size_t errlen);
/* Passes a file to sink chunk by chunk; a sink that returns non-zero stops
 * it with that value. */
int csar_copy(struct csar *c, const char *path, int (*sink)(void *arg, const void *buf, size_t n),
              void *arg, char *err, size_t errlen);
/* A file read in pieces (an answer streamed from the archive): c is
 * taken, freed with the stream. 0 and *out, or -ENOENT, -EIO with err. */
struct csar_stream;
int csar_stream_open(struct csar *c, const char *path, struct csar_stream **out, char *err,
                     size_t errlen);
/* Up to max bytes into buf: their number, -1 at the end, -2 on an error
 * (as httpd_stream's read). */
ssize_t csar_stream_read(void *s, char *buf, size_t max);
/* Accepts NULL. */
void csar_stream_free(void *s);
/* The files paths[0..n) of c (each at most max bytes), as a new archive
 * in memory (*out, *len: the caller frees), or -ENOENT, -EFBIG, -EIO. */
int csar_subset(struct csar *c, const char *const *paths, size_t n, size_t max, char **out,
                size_t *len, char *err, size_t errlen);
/* Writes a file out as dest (created with mode; dest's directory exists). */
int csar_extract(struct csar *c, const char *path, const char *dest, mode_t mode, char *err,
                 size_t errlen);
/* Each regular file's path and size, in archive order. */
int csar_foreach(const struct csar *c, int (*fn)(void *arg, const char *path, uint64_t size),
                 void *arg);

/* Packs directory dir into a CSAR at out (csar_build.c): every file but
 * hidden ones, the manifest (TOSCA.meta's ETSI-Entry-Manifest, or the
 * root YAML's name with .mf) written from its source in dir (the
 * metadata) with a SHA-256 entry for every other file. */
int csar_build(const char *dir, const char *out, char *err, size_t errlen);

/* A path relative to the archive's root from base (a file's path in the
 * archive) and ref (relative to base's directory, or to the root when it
 * starts with '/'): "Definitions/../Scripts/x.sh" -> "Scripts/x.sh". NULL
 * when it climbs out of the archive. The caller frees. */
char *csar_resolve(const char *base, const char *ref);

#endif
