/* The TOSCA model of a package (tosca_internal.h): its service templates,
 * read with their imports, and the types they define over the known ones. */
#include "catalog/csar.h"
#include "catalog/tosca_internal.h"
#include "util/mem.h"
#include "util/yamlj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHAIN_MAX 16

static const char *const tosca_versions[] = {
    "tosca_simple_yaml_1_0",
    "tosca_simple_yaml_1_1",
    "tosca_simple_yaml_1_2",
    "tosca_simple_yaml_1_3",
    NULL,
};

/* Types known without their definitions: TOSCA's roots, SOL001's
 * (v2.6.1 and later) and ours (vnfm_types.yaml, docs/PACKAGES.md). */
static const char *const known_nodes[] = {
    "tosca.nodes.Root",
    "tosca.nodes.nfv.VNF",
    "tosca.nodes.nfv.Vdu.Compute",
    "tosca.nodes.nfv.Vdu.VirtualBlockStorage",
    "tosca.nodes.nfv.Vdu.VirtualObjectStorage",
    "tosca.nodes.nfv.Vdu.VirtualFileStorage",
    "tosca.nodes.nfv.Cp",
    "tosca.nodes.nfv.VduCp",
    "tosca.nodes.nfv.VnfExtCp",
    "tosca.nodes.nfv.VnfVirtualLink",
    "vnfm.nodes.Vdu.Process",
    NULL,
};

static const char *const known_policies[] = {
    "tosca.policies.Root",
    "tosca.policies.nfv.ScalingAspects",
    "tosca.policies.nfv.VduScalingAspectDeltas",
    "tosca.policies.nfv.VduInitialDelta",
    "tosca.policies.nfv.InstantiationLevels",
    "tosca.policies.nfv.VduInstantiationLevels",
    "tosca.policies.nfv.VirtualLinkInstantiationLevels",
    "tosca.policies.nfv.VirtualLinkBitrateInitialDelta",
    "tosca.policies.nfv.VirtualLinkBitrateScalingAspectDeltas",
    "tosca.policies.nfv.AntiAffinityRule",
    "tosca.policies.nfv.AffinityRule",
    "tosca.policies.nfv.SecurityGroupRule",
    "tosca.policies.nfv.SupportedVnfInterface",
    "tosca.policies.nfv.VnfIndicator",
    NULL,
};

static const char *const known_artifacts[] = {
    "tosca.artifacts.Root",
    "tosca.artifacts.File",
    "tosca.artifacts.Deployment",
    "tosca.artifacts.Implementation",
    "tosca.artifacts.Implementation.Bash",
    "tosca.artifacts.Implementation.Python",
    "tosca.artifacts.nfv.SwImage",
    "vnfm.artifacts.Day0",
    NULL,
};

static const char *const known_data[] = {
    "tosca.datatypes.Root",
    "tosca.datatypes.nfv.VnfOperationAdditionalParameters",
    NULL,
};

static const char *const *const known[TK_COUNT] = {known_nodes, known_policies, known_artifacts,
                                                   known_data};
static const char *const sections[TK_COUNT] = {"node_types", "policy_types", "artifact_types",
                                               "data_types"};
static const char *const kind_names[TK_COUNT] = {"node", "policy", "artifact", "data"};

int t_fail(struct tosca *t, const char *file, const char *what, const char *fmt, ...)
{
    int n = snprintf(t->err, t->errlen, "%s: %s%s", file, what ? what : "", what ? ": " : "");
    va_list ap;

    if (n < 0 || (size_t)n >= t->errlen)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(t->err + n, t->errlen - n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void t_note(struct tosca *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (json_array_size(t->notes) >= 100)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(t->notes, json_string(buf));
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* ---- reading the templates ---------------------------------------------- */

/* Definitions we know without reading them: SOL001's and ours. */
static bool known_import(const char *ref)
{
    const char *base = strrchr(ref, '/');

    base = base ? base + 1 : ref;
    return (strncmp(base, "etsi_nfv_sol001_", 16) == 0 && strstr(base, "types.yaml")) ||
           strcmp(base, "vnfm_types.yaml") == 0;
}

static const char *import_ref(const json_t *imp)
{
    const char *key;
    json_t *v;

    if (json_is_string(imp))
        return json_string_value(imp);
    if (json_is_string(json_object_get(imp, "file")))
        return json_string_value(json_object_get(imp, "file"));
    if (json_object_size(imp) == 1) /* TOSCA 1.0: "- name: file" or "- name: {file: f}" */
        json_object_foreach((json_t *)imp, key, v)
        {
            return import_ref(v);
        }
    return NULL;
}

static int load(struct tosca *t, const char *path, const char *from);

static int load_imports(struct tosca *t, const char *path, const json_t *doc)
{
    const json_t *imports = json_object_get(doc, "imports"), *imp;
    size_t i;

    if (imports && !json_is_array(imports))
        return t_fail(t, path, "imports", "must be a list");
    json_array_foreach(imports, i, imp)
    {
        const char *ref = import_ref(imp);
        char what[32], *target;
        int r;

        snprintf(what, sizeof(what), "imports[%zu]", i);
        if (!ref)
            return t_fail(t, path, what, "names no file");
        if (known_import(ref))
            continue;
        target = strstr(ref, "://") ? NULL : csar_resolve(path, ref);
        if (!target)
            return t_fail(t, path, what, "'%.200s' is not a file of the package", ref);
        r = load(t, target, path);
        free(target);
        if (r)
            return r;
    }
    return 0;
}

static int check_version(struct tosca *t, const char *path, const json_t *doc)
{
    const char *v = json_string_value(json_object_get(doc, "tosca_definitions_version"));

    if (!json_is_object(doc))
        return t_fail(t, path, NULL, "not a TOSCA service template (a YAML mapping)");
    if (!v)
        return t_fail(t, path, "tosca_definitions_version", "missing");
    if (!in_list(tosca_versions, v))
        return t_fail(t, path, "tosca_definitions_version",
                      "'%.64s' is not one of tosca_simple_yaml_1_0 .. 1_3", v);
    return 0;
}

static int load(struct tosca *t, const char *path, const char *from)
{
    char *text = NULL, msg[256];
    json_t *doc;
    int r;

    for (unsigned i = 0; i < t->n_files; i++)
        if (strcmp(t->files[i].path, path) == 0)
            return 0;
    if (t->n_files >= TOSCA_FILES_MAX)
        return t_fail(t, path, NULL, "the VNFD imports more than %d files", TOSCA_FILES_MAX);
    r = t->src->read(t->src->arg, path, TOSCA_TEXT_MAX, &text, t->err, t->errlen);
    if (r == -ENOENT && from)
        return t_fail(t, from, "imports", "'%.200s' is not in the package", path);
    if (r)
        return r;
    r = yamlj_parse(text, strlen(text), NULL, &doc, msg, sizeof(msg));
    free(text);
    if (r)
        return t_fail(t, path, NULL, "%s", msg);
    r = check_version(t, path, doc);
    if (r) {
        json_decref(doc);
        return r;
    }
    t->files[t->n_files++] = (struct tfile){xstrdup(path), doc};
    return load_imports(t, path, doc);
}

/* Adds the types a file defines; one defined twice must be the same. */
static int collect_types(struct tosca *t, const struct tfile *f)
{
    for (int k = 0; k < TK_COUNT; k++) {
        const json_t *sec = json_object_get(f->doc, sections[k]), *def, *had;
        const char *name;

        if (sec && !json_is_object(sec))
            return t_fail(t, f->path, sections[k], "must be a mapping");
        json_object_foreach((json_t *)sec, name, def)
        {
            if (in_list(known[k], name))
                continue; /* a copy of a definition we know */
            if (!json_is_object(def))
                return t_fail(t, f->path, name, "a type definition must be a mapping");
            had = json_object_get(t->types[k], name);
            if (had && !json_equal(json_object_get(had, "def"), (json_t *)def))
                return t_fail(t, f->path, name, "%s type defined differently in %s", kind_names[k],
                              json_string_value(json_object_get(had, "file")));
            if (!had)
                json_object_set_new(t->types[k], name,
                                    json_pack("{s:O, s:s}", "def", def, "file", f->path));
        }
    }
    return 0;
}

int tosca_load(struct tosca *t, const char *entry)
{
    int r;

    for (int k = 0; k < TK_COUNT; k++)
        t->types[k] = json_object();
    t->notes = json_array();
    r = load(t, entry, NULL);
    for (unsigned i = 0; !r && i < t->n_files; i++)
        r = collect_types(t, &t->files[i]);
    return r;
}

void tosca_done(struct tosca *t)
{
    for (unsigned i = 0; i < t->n_files; i++) {
        free(t->files[i].path);
        json_decref(t->files[i].doc);
    }
    t->n_files = 0;
    for (int k = 0; k < TK_COUNT; k++)
        json_decref(t->types[k]);
    json_decref(t->notes);
}

/* ---- types -------------------------------------------------------------- */

const json_t *t_type_def(const struct tosca *t, enum tkind k, const char *type)
{
    return json_object_get(json_object_get(t->types[k], type), "def");
}

const char *t_base(struct tosca *t, enum tkind k, const char *type, const char *file,
                   const char *what)
{
    const char *start = type;

    for (int depth = 0; type && depth < CHAIN_MAX; depth++) {
        const json_t *def;

        if (in_list(known[k], type))
            return type;
        def = t_type_def(t, k, type);
        if (!def) {
            t_fail(t, file, what,
                   "%s type '%.128s' is neither defined in the package nor one of "
                   "SOL001's",
                   kind_names[k], type);
            return NULL;
        }
        type = json_string_value(json_object_get(def, "derived_from"));
    }
    t_fail(t, file, what, "%s type '%.128s' derives from no SOL001 type (or in a loop)",
           kind_names[k], start);
    return NULL;
}

json_t *t_defaults(const struct tosca *t, enum tkind k, const char *type)
{
    const json_t *chain[CHAIN_MAX];
    int n = 0;
    json_t *out = json_object();

    for (const json_t *def = t_type_def(t, k, type); def && n < CHAIN_MAX;
         def = t_type_def(t, k, json_string_value(json_object_get(def, "derived_from"))))
        chain[n++] = def;
    while (n-- > 0) {
        const char *name;
        json_t *p;

        json_object_foreach(json_object_get(chain[n], "properties"), name, p)
        {
            json_t *d = json_object_get(p, "default");

            if (d && !t_is_function(d))
                json_object_set(out, name, d);
        }
    }
    return out;
}

bool t_declares(const struct tosca *t, enum tkind k, const char *type, const char *property)
{
    int n = 0;

    for (const json_t *def = t_type_def(t, k, type); def && n < CHAIN_MAX;
         def = t_type_def(t, k, json_string_value(json_object_get(def, "derived_from"))), n++)
        if (json_object_get(json_object_get(def, "properties"), property))
            return true;
    return false;
}

/* ---- values ------------------------------------------------------------- */

bool t_is_function(const json_t *v)
{
    static const char *const fns[] = {
        "get_input", "get_property", "get_attribute", "get_operation_output",
        "concat",    "token",        "get_artifact",  NULL};
    const char *key;
    json_t *x;

    if (!json_is_object(v) || json_object_size(v) != 1)
        return false;
    json_object_foreach((json_t *)v, key, x)
    {
        return in_list(fns, key);
    }
    return false;
}

int t_int(const json_t *v, long long *out)
{
    const char *s = json_string_value(v);
    char *end;
    long long n;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -EINVAL;
    *out = n;
    return 0;
}

int t_bool(const json_t *v, bool *out)
{
    const char *s = json_string_value(v);

    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
        *out = s[0] == 't' || s[0] == 'T';
        return 0;
    }
    return -EINVAL;
}

int t_size_mb(const json_t *v, long long *mb)
{
    static const struct {
        const char *unit;
        double bytes;
    } units[] = {
        {"B", 1},
        {"kB", 1024.0},
        {"KiB", 1024.0},
        {"MB", 1048576.0},
        {"MiB", 1048576.0},
        {"GB", 1073741824.0},
        {"GiB", 1073741824.0},
        {"TB", 1099511627776.0},
        {"TiB", 1099511627776.0},
    };
    const char *s = json_string_value(v);
    char *end;
    double n;

    if (!s)
        return -EINVAL;
    errno = 0;
    n = strtod(s, &end);
    if (errno || end == s || n < 0 || n > 1e15)
        return -EINVAL;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            double m = n * units[i].bytes / 1048576.0;
            long long whole = (long long)m;

            *mb = whole + (m > (double)whole ? 1 : 0);
            return 0;
        }
    }
    return -EINVAL;
}

const char *t_requirement(const json_t *node, const char *name)
{
    const json_t *reqs = json_object_get(node, "requirements"), *r, *v;
    size_t i;

    json_array_foreach(reqs, i, r)
    {
        v = json_object_get(r, name);
        if (json_is_string(v))
            return json_string_value(v);
        if (json_is_string(json_object_get(v, "node")))
            return json_string_value(json_object_get(v, "node"));
    }
    return NULL;
}
