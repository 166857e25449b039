/* SOL004 packages (csar.h): the archive's entries checked as a whole
 * before any is read, the layout (TOSCA.meta or a root YAML with its
 * manifest), the manifest's metadata and checksums, and reads bounded by
 * what the central directory declares. */
#include "catalog/csar.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zip.h>

#define ENTRIES_MAX  10000
#define EXPANDED_MAX (4ULL << 30)
#define RATIO_MAX    100
#define RATIO_FLOOR  (1ULL << 20) /* an archive may always expand to this */
#define TEXT_MAX     (4u << 20)
#define NAME_MAX_LEN 1024
#define TOSCA_META   "TOSCA-Metadata/TOSCA.meta"
#define CHUNK        65536
#define HASH_HEX_MAX 128 /* SHA-512 */

/* A checksum the package declares for one of its files. */
struct decl {
    char *path;
    const EVP_MD *md;
    const char *algo; /* its name as SOL004 writes it */
    char hash[HASH_HEX_MAX + 1];
    char where[96]; /* "manifest.mf line 12" */
};

struct csar {
    zip_t *za;
    struct csar_limits lim;
    char *entry, *manifest;
    json_t *mf_meta, *meta, *artifacts;
    struct decl *decls;
    size_t n_decls;
    bool is_signed;
};

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- entries ------------------------------------------------------------ */

/* Why an entry's name is refused, or NULL. Names are UTF-8 already
 * (libzip converts CP437 ones). */
static const char *name_error(const char *name)
{
    size_t n = strlen(name);
    const char *p, *slash;

    if (n == 0)
        return "has an empty name";
    if (n > NAME_MAX_LEN)
        return "has a name longer than 1024 bytes";
    if (name[0] == '/')
        return "has an absolute path";
    for (p = name; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "has a control character in its name";
        if (*p == '\\')
            return "has a backslash in its name";
    }
    for (p = name;; p = slash + 1) {
        size_t k;

        slash = strchr(p, '/');
        k = slash ? (size_t)(slash - p) : strlen(p);
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return "climbs out of the package ('..' in its path)";
        if (k == 1 && p[0] == '.')
            return "has a '.' component in its path";
        if (k == 0 && slash)
            return "has an empty component in its path";
        if (!slash || !slash[1])
            return NULL;
    }
}

/* Why an entry is refused by its kind, or NULL: encrypted, compressed
 * otherwise than stored or deflated, a link or a special file. */
static const char *kind_error(zip_t *za, zip_uint64_t i, const zip_stat_t *st)
{
    zip_uint8_t opsys;
    zip_uint32_t attr;

    if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method != ZIP_EM_NONE)
        return "is encrypted";
    if (!(st->valid & ZIP_STAT_COMP_METHOD) ||
        (st->comp_method != ZIP_CM_STORE && st->comp_method != ZIP_CM_DEFLATE))
        return "is compressed with a method other than stored or deflated";
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) == 0 && opsys == ZIP_OPSYS_UNIX) {
        mode_t type = (attr >> 16) & S_IFMT;

        if (type == S_IFLNK)
            return "is a symbolic link";
        if (type && type != S_IFREG && type != S_IFDIR)
            return "is a special file (device, FIFO or socket)";
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name once: sorted, neighbours differ. */
static int check_duplicates(char **names, size_t n, char *err, size_t errlen)
{
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return fail(err, errlen, -EINVAL, "%.200s: the package holds this entry twice",
                        names[i]);
    return 0;
}

static int check_entries(struct csar *c, uint64_t archive_size, char *err, size_t errlen)
{
    zip_int64_t n = zip_get_num_entries(c->za, 0);
    uint64_t expanded = 0, bound;
    char **names;
    int r = 0;

    if (n < 0 || (uint64_t)n > c->lim.max_entries)
        return fail(err, errlen, -EINVAL, "the package has %lld entries, more than %u",
                    (long long)n, c->lim.max_entries);
    names = xcalloc((size_t)n + 1, sizeof(*names));
    for (zip_int64_t i = 0; i < n && !r; i++) {
        zip_stat_t st;
        const char *why;

        if (zip_stat_index(c->za, (zip_uint64_t)i, 0, &st) || !(st.valid & ZIP_STAT_NAME) ||
            !(st.valid & ZIP_STAT_SIZE)) {
            r = fail(err, errlen, -EINVAL, "entry %lld: cannot be read: %s", (long long)i,
                     zip_strerror(c->za));
            break;
        }
        names[i] = (char *)st.name;
        why = name_error(st.name);
        if (!why)
            why = kind_error(c->za, (zip_uint64_t)i, &st);
        if (why)
            r = fail(err, errlen, -EINVAL, "%.200s: the entry %s", st.name, why);
        else if (st.size > c->lim.max_expanded - expanded)
            r = fail(err, errlen, -EINVAL,
                     "%.200s: the package expands to more than %llu bytes (a zip bomb?)", st.name,
                     (unsigned long long)c->lim.max_expanded);
        else
            expanded += st.size;
    }
    bound = archive_size * c->lim.max_ratio;
    if (!r && expanded > RATIO_FLOOR && expanded > bound)
        r = fail(err, errlen, -EINVAL,
                 "the package expands to %llu bytes, more than %u times its size of %llu bytes "
                 "(a zip bomb?)",
                 (unsigned long long)expanded, c->lim.max_ratio, (unsigned long long)archive_size);
    if (!r)
        r = check_duplicates(names, (size_t)n, err, errlen);
    free(names);
    return r;
}

/* The index of a regular file, or -1. */
static zip_int64_t locate(const struct csar *c, const char *path)
{
    size_t n = strlen(path);

    if (n == 0 || path[n - 1] == '/')
        return -1;
    return zip_name_locate(c->za, path, 0);
}

bool csar_has(const struct csar *c, const char *path)
{
    return locate(c, path) >= 0;
}

int csar_copy(struct csar *c, const char *path, int (*sink)(void *arg, const void *buf, size_t n),
              void *arg, char *err, size_t errlen)
{
    zip_int64_t i = locate(c, path);
    zip_file_t *f;
    char *buf;
    int r = 0;

    if (i < 0)
        return fail(err, errlen, -ENOENT, "%.200s: not in the package", path);
    f = zip_fopen_index(c->za, (zip_uint64_t)i, 0);
    if (!f)
        return fail(err, errlen, -EIO, "%.200s: cannot be read: %s", path, zip_strerror(c->za));
    buf = xmalloc(CHUNK);
    for (;;) {
        zip_int64_t got = zip_fread(f, buf, CHUNK);

        if (got < 0) {
            r = fail(err, errlen, -EIO, "%.200s: cannot be read: %s", path,
                     zip_error_strerror(zip_file_get_error(f)));
            break;
        }
        if (got == 0)
            break;
        r = sink(arg, buf, (size_t)got);
        if (r)
            break;
    }
    free(buf);
    zip_fclose(f);
    return r;
}

struct csar_stream {
    struct csar *c;
    zip_file_t *f;
};

int csar_stream_open(struct csar *c, const char *path, struct csar_stream **out, char *err,
                     size_t errlen)
{
    zip_int64_t i = locate(c, path);
    zip_file_t *f;

    if (i < 0) {
        csar_free(c);
        return fail(err, errlen, -ENOENT, "%.200s: not in the package", path);
    }
    f = zip_fopen_index(c->za, (zip_uint64_t)i, 0);
    if (!f) {
        fail(err, errlen, -EIO, "%.200s: cannot be read: %s", path, zip_strerror(c->za));
        csar_free(c);
        return -EIO;
    }
    *out = xmalloc(sizeof(**out));
    (*out)->c = c;
    (*out)->f = f;
    return 0;
}

ssize_t csar_stream_read(void *arg, char *buf, size_t max)
{
    struct csar_stream *s = arg;
    zip_int64_t got = zip_fread(s->f, buf, max);

    return got > 0 ? (ssize_t)got : got == 0 ? -1 : -2; /* -2: a CRC error, say */
}

void csar_stream_free(void *arg)
{
    struct csar_stream *s = arg;

    if (!s)
        return;
    zip_fclose(s->f);
    csar_free(s->c);
    free(s);
}

struct membuf {
    char *p;
    size_t len, cap;
};

static int mem_sink(void *arg, const void *buf, size_t n)
{
    struct membuf *m = arg;

    if (n > m->cap - m->len)
        return -EFBIG; /* more than the central directory said: never, libzip stops there */
    memcpy(m->p + m->len, buf, n);
    m->len += n;
    return 0;
}

int csar_read(struct csar *c, const char *path, size_t max, char **out, size_t *len, char *err,
              size_t errlen)
{
    zip_int64_t i = locate(c, path);
    struct membuf m = {0};
    zip_stat_t st;
    int r;

    if (i < 0 || zip_stat_index(c->za, (zip_uint64_t)i, 0, &st))
        return fail(err, errlen, -ENOENT, "%.200s: not in the package", path);
    if (st.size > max)
        return fail(err, errlen, -EFBIG, "%.200s: %llu bytes, more than %zu", path,
                    (unsigned long long)st.size, max);
    m.cap = (size_t)st.size;
    m.p = xmalloc(m.cap + 1);
    r = csar_copy(c, path, mem_sink, &m, err, errlen);
    if (r == -EFBIG)
        r = fail(err, errlen, -EIO, "%.200s: longer than declared", path);
    if (r) {
        free(m.p);
        return r;
    }
    m.p[m.len] = '\0';
    *out = m.p;
    if (len)
        *len = m.len;
    return 0;
}

struct fd_out {
    int fd;
    int error; /* errno of a failed write */
};

static int fd_sink(void *arg, const void *buf, size_t n)
{
    struct fd_out *o = arg;
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(o->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            o->error = errno;
            return -EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int csar_extract(struct csar *c, const char *path, const char *dest, mode_t mode, char *err,
                 size_t errlen)
{
    struct fd_out o = {open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode), 0};
    int r;

    if (o.fd < 0)
        return fail(err, errlen, -errno, "%.200s: cannot write %.200s: %s", path, dest,
                    strerror(errno));
    r = csar_copy(c, path, fd_sink, &o, err, errlen);
    if (!r && fchmod(o.fd, mode) < 0)
        o.error = errno;
    if (close(o.fd) < 0 && !o.error)
        o.error = errno;
    if (o.error)
        r = fail(err, errlen, -o.error, "%.200s: cannot write %.200s: %s", path, dest,
                 strerror(o.error));
    if (r)
        unlink(dest);
    return r;
}

int csar_foreach(const struct csar *c, int (*fn)(void *arg, const char *path, uint64_t size),
                 void *arg)
{
    zip_int64_t n = zip_get_num_entries(c->za, 0);

    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        size_t len;
        int r;

        if (zip_stat_index(c->za, (zip_uint64_t)i, 0, &st))
            continue;
        len = strlen(st.name);
        if (len == 0 || st.name[len - 1] == '/')
            continue;
        r = fn(arg, st.name, st.size);
        if (r)
            return r;
    }
    return 0;
}

/* ---- paths -------------------------------------------------------------- */

char *csar_resolve(const char *base, const char *ref)
{
    size_t cap = strlen(base) + strlen(ref) + 2, n = 0;
    char *out = xmalloc(cap), *p;
    const char *slash = strrchr(base, '/'), *seg, *end;

    if (ref[0] != '/' && slash) {
        n = (size_t)(slash - base);
        memcpy(out, base, n);
    }
    for (seg = ref;; seg = end + 1) {
        size_t k;

        end = strchr(seg, '/');
        k = end ? (size_t)(end - seg) : strlen(seg);
        if (k == 2 && seg[0] == '.' && seg[1] == '.') {
            if (n == 0) {
                free(out);
                return NULL;
            }
            p = memrchr(out, '/', n);
            n = p ? (size_t)(p - out) : 0;
        } else if (k > 0 && !(k == 1 && seg[0] == '.')) {
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, seg, k);
            n += k;
        }
        if (!end)
            break;
    }
    out[n] = '\0';
    if (n == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- TOSCA.meta and the manifest ---------------------------------------- */

static const struct {
    const char *name;
    const EVP_MD *(*md)(void);
} algorithms[] = {
    {"SHA-224", EVP_sha224},
    {"SHA-256", EVP_sha256},
    {"SHA-384", EVP_sha384},
    {"SHA-512", EVP_sha512},
};

/* The digest of an algorithm's name as SOL004 writes it ("SHA-256"; also
 * "sha256"), or NULL. */
static const EVP_MD *algorithm(const char *name, const char **canon)
{
    char flat[16];
    size_t n = 0;

    for (const char *p = name; *p && n < sizeof(flat) - 1; p++)
        if (*p != '-' && *p != '_')
            flat[n++] = *p;
    flat[n] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(algorithms); i++) {
        char want[16];
        size_t k = 0;

        for (const char *p = algorithms[i].name; *p; p++)
            if (*p != '-')
                want[k++] = *p;
        want[k] = '\0';
        if (strcasecmp(flat, want) == 0) {
            *canon = algorithms[i].name;
            return algorithms[i].md();
        }
    }
    return NULL;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Splits "Key: value" in place; NULL value when there is no colon. */
static char *split_kv(char *line, char **key)
{
    char *colon = strchr(line, ':');

    *key = trim(line);
    if (!colon)
        return NULL;
    *colon = '\0';
    *key = trim(line);
    return trim(colon + 1);
}

/* A declared checksum of path, from where. */
static int add_decl(struct csar *c, const char *path, const char *algo, const char *hash,
                    const char *where, char *err, size_t errlen)
{
    const char *canon = NULL;
    const EVP_MD *md = algorithm(algo, &canon);
    size_t hexlen;
    struct decl *d;
    json_t *art;

    if (!md)
        return fail(err, errlen, -EINVAL,
                    "%s: algorithm '%.32s' of '%.200s' is not one of SHA-224, SHA-256, SHA-384, "
                    "SHA-512",
                    where, algo, path);
    hexlen = (size_t)EVP_MD_size(md) * 2;
    if (strlen(hash) != hexlen || strspn(hash, "0123456789abcdefABCDEF") != hexlen)
        return fail(err, errlen, -EINVAL, "%s: the hash of '%.200s' is not %zu hex digits (%s)",
                    where, path, hexlen, canon);
    for (size_t i = 0; i < c->n_decls; i++)
        if (strcmp(c->decls[i].path, path) == 0 &&
            (c->decls[i].md != md || strcasecmp(c->decls[i].hash, hash) != 0))
            return fail(err, errlen, -EINVAL, "%s: '%.200s' has another checksum in %s", where,
                        path, c->decls[i].where);
    c->decls = xrealloc(c->decls, (c->n_decls + 1) * sizeof(*c->decls));
    d = &c->decls[c->n_decls++];
    d->path = xstrdup(path);
    d->md = md;
    d->algo = canon;
    for (size_t i = 0; i <= hexlen; i++)
        d->hash[i] = (char)(hash[i] >= 'A' && hash[i] <= 'F' ? hash[i] + 32 : hash[i]);
    snprintf(d->where, sizeof(d->where), "%s", where);
    art = json_pack("{s:s, s:{s:s, s:s}}", "artifactPath", path, "checksum", "algorithm", canon,
                    "hash", d->hash);
    json_array_append_new(c->artifacts, art);
    return 0;
}

/* One entry of the manifest: Source with Algorithm and Hash. */
struct mf_entry {
    char *source, *algo, *hash;
    unsigned line;
};

static int end_entry(struct csar *c, struct mf_entry *e, char *err, size_t errlen)
{
    char where[96];
    int r = 0;

    if (!e->source)
        return 0;
    snprintf(where, sizeof(where), "%.48s line %u", c->manifest, e->line);
    if (strstr(e->source, "://"))
        json_array_append_new(c->artifacts, json_pack("{s:s}", "artifactURI", e->source));
    else if (!e->algo || !e->hash)
        r = fail(err, errlen, -EINVAL, "%s: Source '%.200s' has no %s", where, e->source,
                 e->algo ? "Hash" : "Algorithm");
    else {
        const char *path = e->source + (strncmp(e->source, "./", 2) == 0 ? 2 : 0);

        r = add_decl(c, path, e->algo, e->hash, where, err, errlen);
    }
    *e = (struct mf_entry){0};
    return r;
}

enum mf_section { MF_TOP, MF_META, MF_NONMANO, MF_CMS };

/* One line of the manifest (SOL004 5.2-5.3): the metadata block, then
 * blocks of Source, Algorithm and Hash (Signature and Certificate of an
 * artifact are not checked), the non-MANO artifact sets, and a CMS
 * signature of the whole. */
static int mf_line(struct csar *c, char *line, unsigned no, enum mf_section *sec,
                   struct mf_entry *e, char *err, size_t errlen)
{
    char *key, *val;
    const char *t = trim(line);

    if (*sec == MF_CMS) {
        if (strncmp(t, "-----END CMS-----", 17) == 0)
            *sec = MF_TOP;
        return 0;
    }
    if (strncmp(t, "-----BEGIN CMS-----", 19) == 0) {
        c->is_signed = true;
        *sec = MF_CMS;
        return end_entry(c, e, err, errlen);
    }
    if (*t == '\0' || *t == '#') {
        if (*t == '\0' && *sec == MF_META)
            *sec = MF_TOP;
        return *t == '\0' ? end_entry(c, e, err, errlen) : 0;
    }
    if (*sec == MF_NONMANO && (line[0] == ' ' || line[0] == '\t'))
        return 0; /* the sets name files listed (and checksummed) as Sources too */
    if (*sec == MF_NONMANO)
        *sec = MF_TOP;
    val = split_kv(line, &key);
    if (!val)
        return fail(err, errlen, -EINVAL, "%.48s line %u: expected 'Name: value'", c->manifest, no);
    if (*val == '\0' &&
        (strcmp(key, "metadata") == 0 || strcmp(key, "non_mano_artifact_sets") == 0)) {
        *sec = key[0] == 'm' ? MF_META : MF_NONMANO;
        return end_entry(c, e, err, errlen);
    }
    if (*sec == MF_META && strcmp(key, "Source") != 0) {
        json_object_set_new(c->mf_meta, key, json_string(val));
        return 0;
    }
    *sec = MF_TOP;
    if (strcmp(key, "Source") == 0) {
        int r = end_entry(c, e, err, errlen);

        e->source = val;
        e->line = no;
        return r;
    }
    if (strcmp(key, "Algorithm") == 0 || strcmp(key, "Hash") == 0) {
        if (!e->source)
            return fail(err, errlen, -EINVAL, "%.48s line %u: %s without a Source before it",
                        c->manifest, no, key);
        *(key[0] == 'A' ? &e->algo : &e->hash) = val;
        return 0;
    }
    if (strcmp(key, "Signature") == 0 || strcmp(key, "Certificate") == 0)
        return 0;
    return fail(err, errlen, -EINVAL, "%.48s line %u: unknown name '%.64s'", c->manifest, no, key);
}

/* Runs fn over each line of text (changed in place). */
static int each_line(char *text, int (*fn)(void *arg, char *line, unsigned no), void *arg)
{
    unsigned no = 0;

    for (char *p = text; p;) {
        char *nl = strchr(p, '\n');
        int r;

        if (nl)
            *nl = '\0';
        r = fn(arg, p, ++no);
        if (r)
            return r;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

struct mf_ctx {
    struct csar *c;
    enum mf_section sec;
    struct mf_entry e;
    char *err;
    size_t errlen;
};

static int mf_each(void *arg, char *line, unsigned no)
{
    struct mf_ctx *m = arg;

    return mf_line(m->c, line, no, &m->sec, &m->e, m->err, m->errlen);
}

static int read_manifest(struct csar *c, char *err, size_t errlen)
{
    struct mf_ctx m = {c, MF_TOP, {0}, err, errlen};
    char *text;
    int r = csar_read(c, c->manifest, c->lim.max_text, &text, NULL, err, errlen);

    if (r)
        return r;
    r = each_line(text, mf_each, &m);
    if (!r && m.sec == MF_CMS)
        r = fail(err, errlen, -EINVAL, "%.48s: the CMS signature does not end", c->manifest);
    if (!r)
        r = end_entry(c, &m.e, err, errlen);
    free(text);
    return r;
}

/* TOSCA.meta (TOSCA 1.0 CSAR, SOL004 4.3.2): blocks of "Name: value" lines
 * split by blank lines; the first describes the package, later ones a file
 * each (Name, Content-Type, and Algorithm and Hash as Tacker writes them). */
struct meta_ctx {
    struct csar *c;
    json_t *block;
    unsigned blocks, line;
    char *err;
    size_t errlen;
};

static int meta_block_end(struct meta_ctx *m)
{
    json_t *b = m->block;
    const char *name = json_string_value(json_object_get(b, "Name"));
    const char *algo = json_string_value(json_object_get(b, "Algorithm"));
    const char *hash = json_string_value(json_object_get(b, "Hash"));
    char where[64];
    int r = 0;

    m->block = NULL;
    if (!b)
        return 0;
    if (m->blocks++ == 0) {
        json_object_update(m->c->meta, b);
    } else if (name && (algo || hash)) {
        snprintf(where, sizeof(where), TOSCA_META " line %u", m->line);
        if (!algo || !hash)
            r = fail(m->err, m->errlen, -EINVAL, "%s: '%.200s' has no %s", where, name,
                     algo ? "Hash" : "Algorithm");
        else
            r = add_decl(m->c, name, algo, hash, where, m->err, m->errlen);
    }
    json_decref(b);
    return r;
}

static int meta_each(void *arg, char *line, unsigned no)
{
    struct meta_ctx *m = arg;
    char *key, *val;

    if (*trim(line) == '\0')
        return meta_block_end(m);
    val = split_kv(line, &key);
    if (!val || *key == '\0')
        return fail(m->err, m->errlen, -EINVAL, TOSCA_META " line %u: expected 'Name: value'", no);
    if (!m->block) {
        m->block = json_object();
        m->line = no;
    }
    json_object_set_new(m->block, key, json_string(val));
    return 0;
}

/* A key of TOSCA.meta's first block, whatever its case ("Created-by"). */
static const char *meta_get(const struct csar *c, const char *key)
{
    const char *k;
    json_t *v;

    json_object_foreach(c->meta, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return json_string_value(v);
    }
    return NULL;
}

static int read_tosca_meta(struct csar *c, char *err, size_t errlen)
{
    static const char *const required[] = {"TOSCA-Meta-File-Version", "CSAR-Version",
                                           "Entry-Definitions"};
    struct meta_ctx m = {c, NULL, 0, 0, err, errlen};
    const char *mf;
    char *text;
    int r = csar_read(c, TOSCA_META, c->lim.max_text, &text, NULL, err, errlen);

    if (r)
        return r;
    r = each_line(text, meta_each, &m);
    if (!r)
        r = meta_block_end(&m);
    json_decref(m.block);
    free(text);
    for (size_t i = 0; !r && i < ARRAY_SIZE(required); i++)
        if (!meta_get(c, required[i]))
            r = fail(err, errlen, -EINVAL, TOSCA_META ": %s is missing", required[i]);
    if (r)
        return r;
    c->entry = xstrdup(meta_get(c, "Entry-Definitions"));
    if (!csar_has(c, c->entry))
        return fail(err, errlen, -EINVAL,
                    TOSCA_META ": Entry-Definitions '%.200s' is not in the "
                               "package",
                    c->entry);
    mf = meta_get(c, "ETSI-Entry-Manifest");
    if (!mf)
        return 0;
    if (!csar_has(c, mf))
        return fail(err, errlen, -EINVAL,
                    TOSCA_META ": ETSI-Entry-Manifest '%.200s' is not in the package", mf);
    c->manifest = xstrdup(mf);
    return 0;
}

static bool root_yaml(const char *name)
{
    size_t n = strlen(name);

    return !strchr(name, '/') && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
                                  (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

struct root_ctx {
    char *found;
    unsigned n;
};

static int find_root_yaml(void *arg, const char *path, uint64_t size)
{
    struct root_ctx *r = arg;

    (void)size;
    if (root_yaml(path) && r->n++ == 0)
        r->found = xstrdup(path);
    return 0;
}

/* Option 2 (SOL004 4.3.3): one YAML file at the root, and a manifest of
 * the same name ending in .mf. */
static int find_layout(struct csar *c, char *err, size_t errlen)
{
    struct root_ctx rc = {0};
    char *dot;

    if (csar_has(c, TOSCA_META))
        return read_tosca_meta(c, err, errlen);
    csar_foreach(c, find_root_yaml, &rc);
    if (rc.n != 1) {
        free(rc.found);
        return fail(err, errlen, -EINVAL,
                    "the package has no " TOSCA_META " and %u YAML files at its root: it needs "
                    "one or the other (SOL004 4.3)",
                    rc.n);
    }
    c->entry = rc.found;
    dot = strrchr(rc.found, '.');
    c->manifest = xasprintf("%.*s.mf", (int)(dot - rc.found), rc.found);
    if (!csar_has(c, c->manifest))
        return fail(err, errlen, -EINVAL, "%.200s: the manifest of the root YAML %.200s is missing",
                    c->manifest, c->entry);
    return 0;
}

/* ---- open, verify, free ------------------------------------------------- */

static void set_limits(struct csar *c, const struct csar_limits *lim)
{
    c->lim.max_entries = lim && lim->max_entries ? lim->max_entries : ENTRIES_MAX;
    c->lim.max_expanded = lim && lim->max_expanded ? lim->max_expanded : EXPANDED_MAX;
    c->lim.max_ratio = lim && lim->max_ratio ? lim->max_ratio : RATIO_MAX;
    c->lim.max_text = lim && lim->max_text ? lim->max_text : TEXT_MAX;
}

static int finish_open(struct csar *c, uint64_t size, struct csar **out, char *err, size_t errlen)
{
    int r;

    c->mf_meta = json_object();
    c->meta = json_object();
    c->artifacts = json_array();
    r = check_entries(c, size, err, errlen);
    if (!r)
        r = find_layout(c, err, errlen);
    if (!r && c->manifest)
        r = read_manifest(c, err, errlen);
    if (r) {
        csar_free(c);
        return r;
    }
    *out = c;
    return 0;
}

static int zip_fail(int code, char *err, size_t errlen)
{
    zip_error_t ze;
    int r;

    zip_error_init_with_code(&ze, code);
    r = fail(err, errlen, code == ZIP_ER_OPEN || code == ZIP_ER_READ ? -EIO : -EINVAL,
             "not a readable zip archive: %s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return r;
}

int csar_open(const char *path, const struct csar_limits *lim, struct csar **out, char *err,
              size_t errlen)
{
    struct csar *c;
    struct stat sb;
    int code = 0;
    zip_t *za;

    if (stat(path, &sb) < 0)
        return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
    za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!za)
        return zip_fail(code, err, errlen);
    c = xcalloc(1, sizeof(*c));
    c->za = za;
    set_limits(c, lim);
    return finish_open(c, (uint64_t)sb.st_size, out, err, errlen);
}

int csar_open_buffer(const void *data, size_t len, const struct csar_limits *lim, struct csar **out,
                     char *err, size_t errlen)
{
    zip_error_t ze;
    zip_source_t *src;
    struct csar *c;
    zip_t *za;
    int r;

    zip_error_init(&ze);
    src = zip_source_buffer_create(data, len, 0, &ze);
    za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        r = zip_fail(zip_error_code_zip(&ze), err, errlen);
        zip_source_free(src);
        zip_error_fini(&ze);
        return r;
    }
    zip_error_fini(&ze);
    c = xcalloc(1, sizeof(*c));
    c->za = za;
    set_limits(c, lim);
    return finish_open(c, len, out, err, errlen);
}

void csar_free(struct csar *c)
{
    if (!c)
        return;
    zip_discard(c->za);
    free(c->entry);
    free(c->manifest);
    json_decref(c->mf_meta);
    json_decref(c->meta);
    json_decref(c->artifacts);
    for (size_t i = 0; i < c->n_decls; i++)
        free(c->decls[i].path);
    free(c->decls);
    free(c);
}

struct digest {
    EVP_MD_CTX *ctx;
};

static int digest_sink(void *arg, const void *buf, size_t n)
{
    return EVP_DigestUpdate(((struct digest *)arg)->ctx, buf, n) == 1 ? 0 : -EIO;
}

static int verify_one(struct csar *c, const struct decl *d, char *err, size_t errlen)
{
    struct digest dg = {EVP_MD_CTX_new()};
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[HASH_HEX_MAX + 1];
    unsigned n = 0;
    int r;

    if (!csar_has(c, d->path)) {
        EVP_MD_CTX_free(dg.ctx);
        return fail(err, errlen, -EINVAL, "%s: '%.200s' is not in the package", d->where, d->path);
    }
    EVP_DigestInit_ex(dg.ctx, d->md, NULL);
    r = csar_copy(c, d->path, digest_sink, &dg, err, errlen);
    if (!r && EVP_DigestFinal_ex(dg.ctx, md, &n) != 1)
        r = fail(err, errlen, -EIO, "%.200s: cannot compute its digest", d->path);
    EVP_MD_CTX_free(dg.ctx);
    if (r)
        return r;
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(hex, d->hash) != 0)
        return fail(err, errlen, -EINVAL,
                    "%.200s: checksum mismatch: %s declares %s %.16s..., the file has %.16s...",
                    d->path, d->where, d->algo, d->hash, hex);
    return 0;
}

int csar_verify(struct csar *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n_decls; i++) {
        int r = verify_one(c, &c->decls[i], err, errlen);

        if (r)
            return r;
    }
    return 0;
}

const char *csar_entry(const struct csar *c)
{
    return c->entry;
}

const char *csar_manifest(const struct csar *c)
{
    return c->manifest;
}

const json_t *csar_manifest_meta(const struct csar *c)
{
    return c->mf_meta;
}

const json_t *csar_tosca_meta(const struct csar *c)
{
    return c->meta;
}

const json_t *csar_artifacts(const struct csar *c)
{
    return c->artifacts;
}

bool csar_signed(const struct csar *c)
{
    return c->is_signed;
}
