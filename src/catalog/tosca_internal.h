/* The TOSCA model the translator works on (tosca.c): the service templates
 * of a package with their imports, the types they define over the SOL001
 * ones we know, and helpers for values. The mapping onto the native
 * descriptor is tosca_vnfd.c. */
#ifndef VNFM_TOSCA_INTERNAL_H
#define VNFM_TOSCA_INTERNAL_H

#include "catalog/tosca.h"

#define TOSCA_FILES_MAX 64
#define TOSCA_TEXT_MAX  (4u << 20)

/* The types a template may use, by kind. */
enum tkind { TK_NODE, TK_POLICY, TK_ARTIFACT, TK_DATA, TK_COUNT };

struct tfile {
    char *path;
    json_t *doc; /* an object */
};

struct tosca {
    const struct tosca_src *src;
    const struct tosca_opts *o;
    struct tfile files[TOSCA_FILES_MAX]; /* the entry first, then imports depth first */
    unsigned n_files;
    json_t *types[TK_COUNT]; /* name -> {"def": definition, "file": path} */
    json_t *notes;
    char *err;
    size_t errlen;
};

/* Reads entry and what it imports, and collects their types. */
int tosca_load(struct tosca *t, const char *entry);
void tosca_done(struct tosca *t);

/* err = "FILE: WHAT: message"; returns -EINVAL. */
int t_fail(struct tosca *t, const char *file, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a line to the notes: something ignored, and why. */
void t_note(struct tosca *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The known type (SOL001, TOSCA or ours) that type is or derives from; NULL
 * with err set (naming file and what) when there is none. */
const char *t_base(struct tosca *t, enum tkind k, const char *type, const char *file,
                   const char *what);
/* The definition of a type the package defines, or NULL (a known one). */
const json_t *t_type_def(const struct tosca *t, enum tkind k, const char *type);
/* The defaults of the properties that type's definitions (and those it
 * derives from) give, base first: a new object. */
json_t *t_defaults(const struct tosca *t, enum tkind k, const char *type);
/* Whether a type the package defines in type's chain declares property. */
bool t_declares(const struct tosca *t, enum tkind k, const char *type, const char *property);

/* A value is a TOSCA function ({get_input: ...}), which on-boarding cannot
 * evaluate (there are no inputs yet). */
bool t_is_function(const json_t *v);
/* An integer from a number or a string of digits. */
int t_int(const json_t *v, long long *out);
/* A scalar-unit.size ("512 MB") in MiB, rounded up. As Tacker and
 * OpenStack, kB, MB, GB and TB count in powers of 1024 like KiB ... TiB. */
int t_size_mb(const json_t *v, long long *mb);
/* A boolean from true/false or the strings "true"/"false". */
int t_bool(const json_t *v, bool *out);
/* The node a node template's requirement names (its first of that name). */
const char *t_requirement(const json_t *node, const char *name);

#endif
