/* Packing a directory into a SOL004 CSAR (csar.h, csar_build): what
 * `vnfmctl package build` and `make` (the sample packages of examples/)
 * run. The manifest's source holds its metadata; the builder appends a
 * SHA-256 entry for every other file, so that checksums are never edited
 * by hand. Entries are sorted and dated 1980-01-01: the same sources make
 * the same archive. */
#include "catalog/csar.h"
#include "util/mem.h"
#include "util/fsutil.h"
#include "util/sbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zip.h>

#define FILES_MAX  10000
#define TOSCA_META "TOSCA-Metadata/TOSCA.meta"

struct files {
    char **rel;
    size_t n;
};

static int bfail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bfail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Every regular file under root/rel (links followed), hidden ones left out. */
static int walk(const char *root, const char *rel, struct files *fs, char *err, size_t errlen)
{
    char *path = rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(path);
    struct dirent *e;
    int r = 0;

    if (!d) {
        r = bfail(err, errlen, "%s: %s", path, strerror(errno));
        free(path);
        return r;
    }
    while (!r && (e = readdir(d))) {
        char *sub, *abs;
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        sub = rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        abs = xasprintf("%s/%s", root, sub);
        if (stat(abs, &st) < 0)
            r = bfail(err, errlen, "%s: %s", abs, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            r = walk(root, sub, fs, err, errlen);
        else if (S_ISREG(st.st_mode) && fs->n < FILES_MAX) {
            fs->rel = xrealloc(fs->rel, (fs->n + 1) * sizeof(*fs->rel));
            fs->rel[fs->n++] = sub;
            sub = NULL;
        }
        free(sub);
        free(abs);
    }
    closedir(d);
    free(path);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sha256_file(const char *path, char hex[65], char *err, size_t errlen)
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned n = 0;
    ssize_t got;

    if (fd < 0) {
        EVP_MD_CTX_free(ctx);
        return bfail(err, errlen, "%s: %s", path, strerror(errno));
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)got);
    close(fd);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    if (got < 0)
        return bfail(err, errlen, "%s: %s", path, strerror(errno));
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* The manifest's path: TOSCA.meta's ETSI-Entry-Manifest, or the root
 * YAML's name with .mf (option 2); NULL when the package has none. */
static char *manifest_path(const char *dir, const struct files *fs)
{
    char *meta = xasprintf("%s/" TOSCA_META, dir), *text = NULL, *out = NULL;

    if (read_file(meta, 1 << 20, &text, NULL) == 0) {
        const char *k = strstr(text, "ETSI-Entry-Manifest:");

        if (k) {
            k += strlen("ETSI-Entry-Manifest:");
            k += strspn(k, " \t");
            out = xstrndup(k, strcspn(k, " \t\r\n"));
        }
    } else {
        for (size_t i = 0; i < fs->n && !out; i++) {
            const char *f = fs->rel[i], *dot = strrchr(f, '.');

            if (!strchr(f, '/') && dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
                out = xasprintf("%.*s.mf", (int)(dot - f), f);
        }
    }
    free(meta);
    free(text);
    return out;
}

/* The manifest: its source (the metadata) and an entry per other file. */
static int make_manifest(const char *dir, const struct files *fs, const char *mf, struct sbuf *out,
                         char *err, size_t errlen)
{
    char *src = xasprintf("%s/%s", dir, mf), *text = NULL;
    int r = read_file(src, 1 << 20, &text, NULL);

    free(src);
    if (r && r != -ENOENT)
        return bfail(err, errlen, "%s: %s", mf, strerror(-r));
    if (text && strstr(text, "Source:")) {
        free(text);
        return bfail(err, errlen, "%s: has Source entries already; the builder writes them", mf);
    }
    if (text) {
        sbuf_adds(out, text);
        if (out->len && out->s[out->len - 1] != '\n')
            sbuf_addc(out, '\n');
        free(text);
    }
    for (size_t i = 0; i < fs->n; i++) {
        char hex[65], *abs;

        if (strcmp(fs->rel[i], mf) == 0)
            continue;
        abs = xasprintf("%s/%s", dir, fs->rel[i]);
        r = sha256_file(abs, hex, err, errlen);
        free(abs);
        if (r)
            return r;
        sbuf_addf(out, "\nSource: %s\nAlgorithm: SHA-256\nHash: %s\n", fs->rel[i], hex);
    }
    return 0;
}

static int add_file(zip_t *za, const char *name, zip_source_t *src, bool exec, char *err,
                    size_t errlen)
{
    zip_int64_t i = src ? zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) : -1;

    if (i < 0) {
        zip_source_free(src);
        return bfail(err, errlen, "%s: cannot add it: %s", name, zip_strerror(za));
    }
    zip_file_set_mtime(za, (zip_uint64_t)i, 315532800 + 86400, 0); /* 1980-01-02 UTC */
    zip_file_set_external_attributes(za, (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX,
                                     (zip_uint32_t)(exec ? 0100755u : 0100644u) << 16);
    return 0;
}

static int pack(const char *dir, const struct files *fs, const char *mf, const struct sbuf *mtext,
                const char *out, char *err, size_t errlen)
{
    int code = 0, r = 0;
    zip_t *za = zip_open(out, ZIP_CREATE | ZIP_TRUNCATE, &code);
    bool mf_done = false;

    if (!za)
        return bfail(err, errlen, "%s: cannot create it (libzip error %d)", out, code);
    for (size_t i = 0; !r && i <= fs->n; i++) {
        const char *name = i < fs->n ? fs->rel[i] : mf;
        char *abs;
        struct stat st;

        if (!name || (i == fs->n && mf_done))
            continue;
        if (mf && strcmp(name, mf) == 0) {
            r = add_file(za, name, zip_source_buffer(za, mtext->s, mtext->len, 0), false, err,
                         errlen);
            mf_done = true;
            continue;
        }
        abs = xasprintf("%s/%s", dir, name);
        r = stat(abs, &st) < 0 ? bfail(err, errlen, "%s: %s", abs, strerror(errno))
                               : add_file(za, name, zip_source_file(za, abs, 0, -1),
                                          (st.st_mode & 0111) != 0, err, errlen);
        free(abs);
    }
    if (r) {
        zip_discard(za);
        return r;
    }
    if (zip_close(za) < 0) {
        r = bfail(err, errlen, "%s: cannot write it: %s", out, zip_strerror(za));
        zip_discard(za);
    }
    return r;
}

int csar_build(const char *dir, const char *out, char *err, size_t errlen)
{
    struct files fs = {0};
    struct sbuf mtext = SBUF_INIT;
    char *mf = NULL;
    int r;

    r = walk(dir, NULL, &fs, err, errlen);
    if (!r) {
        qsort(fs.rel, fs.n, sizeof(*fs.rel), cmp_str);
        mf = manifest_path(dir, &fs);
        if (mf)
            r = make_manifest(dir, &fs, mf, &mtext, err, errlen);
    }
    if (!r)
        r = pack(dir, &fs, mf, &mtext, out, err, errlen);
    for (size_t i = 0; i < fs.n; i++)
        free(fs.rel[i]);
    free(fs.rel);
    free(mf);
    sbuf_done(&mtext);
    return r;
}

/* The archive of za's source src, closed, into a buffer. */
static int source_bytes(zip_source_t *src, char **out, size_t *len, char *err, size_t errlen)
{
    zip_stat_t st;
    char *buf;
    zip_int64_t got;

    if (zip_source_stat(src, &st) < 0 || zip_source_open(src) < 0)
        return bfail(err, errlen, "cannot make the archive: %s",
                     zip_error_strerror(zip_source_error(src)));
    buf = xmalloc(st.size + 1);
    got = zip_source_read(src, buf, st.size);
    zip_source_close(src);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        return bfail(err, errlen, "cannot make the archive: short read");
    }
    *out = buf;
    *len = (size_t)st.size;
    return 0;
}

int csar_subset(struct csar *c, const char *const *paths, size_t n, size_t max, char **out,
                size_t *len, char *err, size_t errlen)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *za;
    int r = 0;

    zip_error_init(&ze);
    src = zip_source_buffer_create(NULL, 0, 0, &ze);
    za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    if (!za) {
        zip_source_free(src);
        zip_error_fini(&ze);
        return bfail(err, errlen, "cannot make an archive: %s", zip_error_strerror(&ze));
    }
    zip_source_keep(src);
    for (size_t i = 0; i < n && !r; i++) {
        char *data;
        size_t dlen;

        zip_source_t *s = NULL;

        r = csar_read(c, paths[i], max, &data, &dlen, err, errlen);
        if (!r && !(s = zip_source_buffer(za, data, dlen, 1)))
            free(data);
        if (!r)
            r = add_file(za, paths[i], s, false, err, errlen);
    }
    if (!r && zip_close(za) < 0)
        r = bfail(err, errlen, "cannot make the archive: %s", zip_strerror(za));
    if (r)
        zip_discard(za);
    else
        r = source_bytes(src, out, len, err, errlen);
    zip_source_free(src);
    zip_error_fini(&ze);
    return r;
}
