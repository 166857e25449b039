/* SOL001 VNFDs onto native descriptors (tosca.h): the VNF node, each
 * deployment flavour's VDUs, storage, connection points and policies, and
 * the Vnflcm interface. docs/PACKAGES.md has the table of what maps to
 * what. */
#include "catalog/tosca_internal.h"
#include "catalog/csar.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VDU_INSTANCES_MAX 64
#define DAY0_MAX          262144 /* a day-0 template (docs/VNFD.md) */
#define SCRIPT_MAX        (4u << 20)

#define BASE_VNF     "tosca.nodes.nfv.VNF"
#define BASE_VDU     "tosca.nodes.nfv.Vdu.Compute"
#define BASE_PROCESS "vnfm.nodes.Vdu.Process"
#define BASE_BLOCK   "tosca.nodes.nfv.Vdu.VirtualBlockStorage"
#define BASE_CP      "tosca.nodes.nfv.VduCp"
#define BASE_VL      "tosca.nodes.nfv.VnfVirtualLink"
#define POLICY(x)    "tosca.policies.nfv." x

/* A deployment flavour: a topology template with VDUs. */
struct flav {
    const struct tfile *f;
    const json_t *nodes; /* node_templates */
    const json_t *vnf;   /* its VNF node template, or NULL */
    const char *vnf_type;
    const char *id, *description;
    json_t *vdus;    /* native VDUs, without scaling, in node order */
    json_t *storage; /* block storage node -> MiB */
    json_t *cps;     /* VDU -> its connection point */
    json_t *vdu_pol; /* VDU -> {"aspect", "step", "initial", "levels"} from the policies */
    json_t *aspects; /* aspect -> {"max_scale_level", "step_deltas", "policy"} */
    json_t *levels;  /* InstantiationLevels' levels, or NULL */
    const char *default_level;
    json_t *scaling;   /* VDU -> native scaling */
    json_t *inst;      /* level -> VDU -> count (native instantiation_levels), or NULL */
    json_t *aspect_of; /* VDU -> aspect */
};

static void flav_done(struct flav *fl)
{
    json_decref(fl->vdus);
    json_decref(fl->storage);
    json_decref(fl->cps);
    json_decref(fl->vdu_pol);
    json_decref(fl->aspects);
    json_decref(fl->levels);
    json_decref(fl->scaling);
    json_decref(fl->inst);
    json_decref(fl->aspect_of);
}

/* The node templates of a file's topology, or NULL. */
static const json_t *nodes_of(const struct tfile *f)
{
    return json_object_get(json_object_get(f->doc, "topology_template"), "node_templates");
}

/* The known base of a node template's type; NULL with err set. */
static const char *node_base(struct tosca *t, const struct tfile *f, const char *name,
                             const json_t *node)
{
    const char *type = json_string_value(json_object_get(node, "type"));

    if (!json_is_object(node))
        return t_fail(t, f->path, name, "a node template must be a mapping"), NULL;
    if (!type)
        return t_fail(t, f->path, name, "type is missing"), NULL;
    return t_base(t, TK_NODE, type, f->path, name);
}

static bool is_vdu(const char *base)
{
    return strcmp(base, BASE_VDU) == 0 || strcmp(base, BASE_PROCESS) == 0;
}

/* ---- values of properties ------------------------------------------------- */

static int get_count(struct tosca *t, const struct flav *fl, const char *node, const char *what,
                     const json_t *v, long long lo, long long hi, long long *out)
{
    if (t_int(v, out) || *out < lo || *out > hi)
        return t_fail(t, fl->f->path, node, "%s: must be an integer from %lld to %lld", what, lo,
                      hi);
    return 0;
}

static int string_list(struct tosca *t, const struct flav *fl, const char *node, const char *what,
                       const json_t *v, json_t **out)
{
    const json_t *x;
    size_t i;

    if (!json_is_array(v))
        return t_fail(t, fl->f->path, node, "%s: must be a list of strings", what);
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x))
            return t_fail(t, fl->f->path, node, "%s[%zu]: must be a string", what, i);
    }
    *out = json_deep_copy(v);
    return 0;
}

static int string_map(struct tosca *t, const struct flav *fl, const char *node, const char *what,
                      const json_t *v, json_t **out)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v))
        return t_fail(t, fl->f->path, node, "%s: must be a map of strings", what);
    json_object_foreach((json_t *)v, k, x)
    {
        if (!json_is_string(x))
            return t_fail(t, fl->f->path, node, "%s.%s: must be a string", what, k);
    }
    *out = json_deep_copy(v);
    return 0;
}

/* vnfm.nodes.Vdu.Process's ready: {tcp: PORT} or {http: {port, path}},
 * and timeout_s, as docs/VNFD.md's. */
static int map_ready(struct tosca *t, const struct flav *fl, const char *node, const json_t *v,
                     json_t *vdu)
{
    json_t *ready = json_object(), *x;
    const char *k;
    long long n;

    json_object_set_new(vdu, "ready", ready);
    if (!json_is_object(v))
        return t_fail(t, fl->f->path, node, "properties.ready: must be a map");
    json_object_foreach((json_t *)v, k, x)
    {
        char what[64];

        snprintf(what, sizeof(what), "properties.ready.%s", k);
        if (strcmp(k, "tcp") == 0 || strcmp(k, "timeout_s") == 0) {
            if (get_count(t, fl, node, what, x, 1, strcmp(k, "tcp") == 0 ? 65535 : 600, &n))
                return -EINVAL;
            json_object_set_new(ready, k, json_integer(n));
        } else if (strcmp(k, "http") == 0) {
            const json_t *path = json_object_get(x, "path");
            json_t *h;

            if (!json_is_object(x) || (path && !json_is_string(path)) ||
                json_object_size(x) != (path ? 2u : 1u))
                return t_fail(t, fl->f->path, node, "%s: must be {port, path}", what);
            strcat(what, ".port");
            if (get_count(t, fl, node, what, json_object_get(x, "port"), 1, 65535, &n))
                return -EINVAL;
            h = json_pack("{s:I}", "port", (json_int_t)n);
            if (path)
                json_object_set(h, "path", (json_t *)path);
            json_object_set_new(ready, "http", h);
        } else {
            return t_fail(t, fl->f->path, node, "%s: not a member of ready (tcp, http, timeout_s)",
                          what);
        }
    }
    return 0;
}

/* vdu_profile: the bounds of the VDU's instances. */
static int map_profile(struct tosca *t, const struct flav *fl, const char *node, const json_t *v,
                       json_t *pol)
{
    long long lo, hi;

    if (!json_is_object(v))
        return t_fail(t, fl->f->path, node, "properties.vdu_profile: must be a map");
    if (get_count(t, fl, node, "properties.vdu_profile.min_number_of_instances",
                  json_object_get(v, "min_number_of_instances"), 0, VDU_INSTANCES_MAX, &lo) ||
        get_count(t, fl, node, "properties.vdu_profile.max_number_of_instances",
                  json_object_get(v, "max_number_of_instances"), 1, VDU_INSTANCES_MAX, &hi))
        return -EINVAL;
    if (lo > hi)
        return t_fail(t, fl->f->path, node,
                      "properties.vdu_profile: min_number_of_instances (%lld) exceeds "
                      "max_number_of_instances (%lld)",
                      lo, hi);
    json_object_set_new(pol, "min", json_integer(lo));
    json_object_set_new(pol, "max", json_integer(hi));
    return 0;
}

/* Properties of a VDU that describe what a VIM of virtual machines does
 * with it, and that a process VIM has nothing to do with. */
static const char *const vdu_ignored[] = {
    "name",
    "description",
    "boot_order",
    "nfvi_constraints",
    "monitoring_parameters",
    "sw_image_data",
    "boot_data",
    "configurable_properties",
    NULL,
};

static bool listed(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int map_vdu_property(struct tosca *t, const struct flav *fl, const char *node,
                            const char *type, bool process, const char *k, const json_t *v,
                            json_t *vdu, json_t *pol)
{
    char what[96];
    json_t *x = NULL;
    long long n;

    snprintf(what, sizeof(what), "properties.%s", k);
    if (strcmp(k, "vdu_profile") == 0)
        return map_profile(t, fl, node, v, pol);
    if (listed(vdu_ignored, k)) {
        if (strcmp(k, "name") && strcmp(k, "description"))
            t_note(t, "%s: %s: %s ignored (a process VIM has no use for it)", fl->f->path, node,
                   what);
        return 0;
    }
    if (process && strcmp(k, "command") == 0) {
        if (string_list(t, fl, node, what, v, &x))
            return -EINVAL;
        if (json_array_size(x) == 0) {
            json_decref(x);
            return t_fail(t, fl->f->path, node, "%s: must not be empty", what);
        }
        json_object_set_new(vdu, "command", x);
        return 0;
    }
    if (process && strcmp(k, "env") == 0) {
        if (string_map(t, fl, node, what, v, &x))
            return -EINVAL;
        json_object_set_new(vdu, "env", x);
        return 0;
    }
    if (process && strcmp(k, "ready") == 0)
        return map_ready(t, fl, node, v, vdu);
    if (process && strcmp(k, "stop_grace_s") == 0) {
        if (get_count(t, fl, node, what, v, 0, 300, &n))
            return -EINVAL;
        json_object_set_new(vdu, "stop_grace_s", json_integer(n));
        return 0;
    }
    if (t_declares(t, TK_NODE, type, k))
        return t_fail(t, fl->f->path, node, "%s: a property of type %s that cannot be mapped", what,
                      type);
    return t_fail(t, fl->f->path, node, "%s: not a property of %s", what,
                  process ? BASE_PROCESS : BASE_VDU);
}

/* capabilities.virtual_compute: vCPUs, memory and local storage. */
static int map_compute(struct tosca *t, const struct flav *fl, const char *node, const json_t *vc,
                       json_t *vdu, long long *disk)
{
    const json_t *props = json_object_get(vc, "properties"), *v;
    const char *k;
    long long n;

    json_object_foreach((json_t *)props, k, v)
    {
        if (strcmp(k, "virtual_cpu") == 0) {
            if (get_count(t, fl, node,
                          "capabilities.virtual_compute.properties.virtual_cpu.num_virtual_cpu",
                          json_object_get(v, "num_virtual_cpu"), 1, 64, &n))
                return -EINVAL;
            json_object_set_new(vdu, "vcpu", json_integer(n));
        } else if (strcmp(k, "virtual_memory") == 0) {
            if (t_size_mb(json_object_get(v, "virtual_mem_size"), &n) || n < 4 || n > 1048576)
                return t_fail(t, fl->f->path, node,
                              "capabilities.virtual_compute.properties.virtual_memory."
                              "virtual_mem_size: must be a size from 4 MiB to 1 TiB ('512 MB')");
            json_object_set_new(vdu, "memory_mb", json_integer(n));
        } else if (strcmp(k, "virtual_local_storage") == 0) {
            const json_t *s;
            size_t i;

            json_array_foreach(v, i, s)
            {
                if (t_size_mb(json_object_get(s, "size_of_storage"), &n))
                    return t_fail(t, fl->f->path, node,
                                  "capabilities.virtual_compute.properties.virtual_local_storage[%"
                                  "zu].size_of_storage: must be a size ('3 GB')",
                                  i);
                *disk += n;
            }
        } else {
            t_note(t, "%s: %s: capabilities.virtual_compute.properties.%s ignored", fl->f->path,
                   node, k);
        }
    }
    return 0;
}

static int map_capabilities(struct tosca *t, const struct flav *fl, const char *node,
                            const json_t *caps, json_t *vdu, long long *disk)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)caps, k, v)
    {
        if (strcmp(k, "virtual_compute") == 0) {
            if (map_compute(t, fl, node, v, vdu, disk))
                return -EINVAL;
        } else if (json_object_size(json_object_get(v, "properties")) > 0) {
            return t_fail(t, fl->f->path, node, "capabilities.%s: cannot be mapped", k);
        }
    }
    return 0;
}

/* A day-0 file: a vnfm.artifacts.Day0 artifact's file, rendered as a
 * template into the VI's directory at deploy_path. */
static int map_day0(struct tosca *t, const struct flav *fl, const char *node, const char *name,
                    const json_t *a, json_t *vdu)
{
    const char *file = json_string_value(json_object_get(a, "file"));
    const char *dest = json_string_value(json_object_get(a, "deploy_path"));
    char *path, *text = NULL, msg[256];
    json_t *s, *day0;
    int r;

    if (!file || !dest)
        return t_fail(t, fl->f->path, node,
                      "artifacts.%s: a Day0 artifact needs file and "
                      "deploy_path",
                      name);
    path = csar_resolve(fl->f->path, file);
    if (!path)
        return t_fail(t, fl->f->path, node,
                      "artifacts.%s.file: '%.200s' climbs out of the "
                      "package",
                      name, file);
    r = t->src->read(t->src->arg, path, DAY0_MAX, &text, msg, sizeof(msg));
    if (r) {
        r = t_fail(t, fl->f->path, node, "artifacts.%s.file: %s", name,
                   r == -ENOENT ? "not in the package" : msg);
        free(path);
        return r;
    }
    free(path);
    s = json_string(text);
    free(text);
    if (!s)
        return t_fail(t, fl->f->path, node, "artifacts.%s.file: not UTF-8 text", name);
    day0 = json_object_get(vdu, "day0");
    if (!day0) {
        day0 = json_array();
        json_object_set_new(vdu, "day0", day0);
    }
    json_array_append_new(day0, json_pack("{s:s, s:o}", "path", dest, "template", s));
    return 0;
}

static int map_artifacts(struct tosca *t, const struct flav *fl, const char *node,
                         const json_t *arts, json_t *vdu)
{
    const char *name, *base;
    json_t *a;

    json_object_foreach((json_t *)arts, name, a)
    {
        char what[96];

        snprintf(what, sizeof(what), "%s: artifacts.%s", node, name);
        if (json_is_string(a)) { /* the short notation: a software image */
            t_note(t, "%s: %s ignored (a software image)", fl->f->path, what);
            continue;
        }
        base = t_base(t, TK_ARTIFACT, json_string_value(json_object_get(a, "type")), fl->f->path,
                      what);
        if (!base)
            return -EINVAL;
        if (strcmp(base, "tosca.artifacts.nfv.SwImage") == 0)
            t_note(t, "%s: %s ignored (a software image)", fl->f->path, what);
        else if (strcmp(base, "vnfm.artifacts.Day0") == 0) {
            if (map_day0(t, fl, node, name, a, vdu))
                return -EINVAL;
        } else
            return t_fail(t, fl->f->path, what,
                          "an artifact of type %s cannot be mapped (a VDU "
                          "takes vnfm.artifacts.Day0 files)",
                          base);
    }
    return 0;
}

/* Block storage the VDU requires adds to its disk. */
static int map_storage_reqs(struct tosca *t, const struct flav *fl, const char *node,
                            const json_t *n, long long *disk)
{
    const json_t *reqs = json_object_get(n, "requirements"), *r;
    size_t i;

    json_array_foreach(reqs, i, r)
    {
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)r, key, v)
        {
            const char *target = json_is_string(v) ? json_string_value(v)
                                                   : json_string_value(json_object_get(v, "node"));
            const json_t *mb;

            if (strcmp(key, "virtual_storage") != 0)
                continue;
            mb = target ? json_object_get(fl->storage, target) : NULL;
            if (!mb)
                return t_fail(t, fl->f->path, node,
                              "requirements[%zu].virtual_storage: '%.64s' is not a "
                              "tosca.nodes.nfv.Vdu.VirtualBlockStorage of the flavour",
                              i, target ? target : "");
            *disk += json_integer_value(mb);
        }
    }
    return 0;
}

static int map_vdu(struct tosca *t, struct flav *fl, const char *name, const json_t *n,
                   const char *base)
{
    const char *type = json_string_value(json_object_get(n, "type")), *k;
    bool process = strcmp(base, BASE_PROCESS) == 0;
    json_t *props = t_defaults(t, TK_NODE, type), *vdu, *pol = json_object(), *v;
    long long disk = 0;
    int r = -EINVAL;

    vdu = json_pack("{s:s}", "id", name);
    json_object_update(props, json_object_get(n, "properties"));
    if (!id_valid(name)) {
        t_fail(t, fl->f->path, name, "a VDU's name must be 1-64 of letters, digits, '.', '_', '-'");
        goto out;
    }
    json_object_foreach(props, k, v)
    {
        if (map_vdu_property(t, fl, name, type, process, k, v, vdu, pol))
            goto out;
    }
    if (!json_object_get(pol, "max")) {
        t_fail(t, fl->f->path, name, "properties.vdu_profile: missing");
        goto out;
    }
    if (!json_object_get(vdu, "command")) {
        t_fail(t, fl->f->path, name,
               process ? "properties.command: missing"
                       : "type: a %s has no command for a process VIM to run: make it a "
                         "vnfm.nodes.Vdu.Process with properties.command (docs/PACKAGES.md)",
               base);
        goto out;
    }
    if (json_object_size(json_object_get(n, "interfaces")) > 0) {
        t_fail(t, fl->f->path, name,
               "interfaces: operations of a VDU cannot be mapped (declare "
               "them on the VNF's Vnflcm interface)");
        goto out;
    }
    if (map_capabilities(t, fl, name, json_object_get(n, "capabilities"), vdu, &disk) ||
        map_storage_reqs(t, fl, name, n, &disk) ||
        map_artifacts(t, fl, name, json_object_get(n, "artifacts"), vdu))
        goto out;
    if (disk > 16777216) {
        t_fail(t, fl->f->path, name, "its storage of %lld MiB is more than 16 TiB", disk);
        goto out;
    }
    if (disk)
        json_object_set_new(vdu, "disk_mb", json_integer(disk));
    json_array_append(fl->vdus, vdu);
    json_object_set(fl->vdu_pol, name, pol);
    r = 0;
out:
    json_decref(props);
    json_decref(vdu);
    json_decref(pol);
    return r;
}

/* ---- other nodes ---------------------------------------------------------- */

static int map_block(struct tosca *t, struct flav *fl, const char *name, const json_t *n)
{
    const json_t *data =
        json_object_get(json_object_get(n, "properties"), "virtual_block_storage_data");
    long long mb;

    if (t_size_mb(json_object_get(data, "size_of_storage"), &mb))
        return t_fail(t, fl->f->path, name,
                      "properties.virtual_block_storage_data.size_of_storage: must be a size");
    json_object_set_new(fl->storage, name, json_integer(mb));
    return 0;
}

static int map_cp(struct tosca *t, struct flav *fl, const char *name, const json_t *n)
{
    const char *vdu = t_requirement(n, "virtual_binding");
    const json_t *had;

    if (!vdu || !json_object_get(fl->vdu_pol, vdu))
        return t_fail(t, fl->f->path, name,
                      "requirements.virtual_binding: '%.64s' is not a VDU of the flavour",
                      vdu ? vdu : "");
    had = json_object_get(fl->cps, vdu);
    if (had)
        return t_fail(t, fl->f->path, name,
                      "requirements.virtual_binding: %s has a connection point already (%s); a "
                      "VNFC has one interface here, on its site's network",
                      vdu, json_string_value(had));
    json_object_set_new(fl->cps, vdu, json_string(name));
    return 0;
}

/* Nodes of a flavour by kind: storage first (VDUs name it), then VDUs,
 * then their connection points. */
static int map_nodes(struct tosca *t, struct flav *fl)
{
    static const char *const passes[] = {BASE_BLOCK, BASE_VDU, BASE_CP, NULL};
    const char *vl = NULL;

    for (unsigned p = 0; passes[p]; p++) {
        const char *name;
        json_t *n;

        json_object_foreach((json_t *)fl->nodes, name, n)
        {
            const char *base = node_base(t, fl->f, name, n);
            int r = 0;

            if (!base)
                return -EINVAL;
            if (p == 0 && strcmp(base, BASE_BLOCK) == 0)
                r = map_block(t, fl, name, n);
            else if (p == 1 && is_vdu(base))
                r = map_vdu(t, fl, name, n, base);
            else if (p == 2 && strcmp(base, BASE_CP) == 0)
                r = map_cp(t, fl, name, n);
            else if (p == 2 && strcmp(base, BASE_VL) == 0 && vl)
                r = t_fail(t, fl->f->path, name,
                           "a second virtual link (%s is the first): the VNFCs of a VNF share "
                           "one network here, their site's",
                           vl);
            else if (p == 2 && strcmp(base, BASE_VL) == 0)
                vl = name;
            else if (p == 2 && (strcmp(base, "tosca.nodes.nfv.VnfExtCp") == 0 ||
                                strcmp(base, "tosca.nodes.nfv.Cp") == 0))
                t_note(t, "%s: %s ignored (every VNFC is reachable on its site's network)",
                       fl->f->path, name);
            else if (p == 2 && strncmp(base, "tosca.nodes.nfv.Vdu.Virtual", 27) == 0 &&
                     strcmp(base, BASE_BLOCK) != 0)
                r = t_fail(t, fl->f->path, name,
                           "type: %s cannot be mapped (VDUs have block storage only)", base);
            else if (p == 2 && strcmp(base, "tosca.nodes.Root") == 0)
                r = t_fail(t, fl->f->path, name, "type: a node of no SOL001 type cannot be mapped");
            if (r)
                return r;
        }
    }
    return 0;
}

/* ---- policies ------------------------------------------------------------- */

/* The VDUs a policy targets (at least one, all VDUs of the flavour). */
static int targets(struct tosca *t, const struct flav *fl, const char *pname, const json_t *p,
                   const json_t **out)
{
    const json_t *tg = json_object_get(p, "targets"), *x;
    size_t i;

    if (!json_is_array(tg) || json_array_size(tg) == 0)
        return t_fail(t, fl->f->path, pname, "targets: must list the VDUs it applies to");
    json_array_foreach(tg, i, x)
    {
        if (!json_is_string(x) || !json_object_get(fl->vdu_pol, json_string_value(x)))
            return t_fail(t, fl->f->path, pname,
                          "targets[%zu]: '%.64s' is not a VDU of the "
                          "flavour",
                          i, json_is_string(x) ? json_string_value(x) : "");
    }
    *out = tg;
    return 0;
}

/* Sets member k of the policy record of every target VDU; once each. */
static int per_target(struct tosca *t, const struct flav *fl, const char *pname, const json_t *p,
                      const char *k, json_t *v)
{
    const json_t *tg, *x;
    size_t i;
    int r = targets(t, fl, pname, p, &tg);

    json_array_foreach(tg, i, x)
    {
        json_t *pol = json_object_get(fl->vdu_pol, json_string_value(x));

        if (r)
            break;
        if (json_object_get(pol, k))
            r = t_fail(t, fl->f->path, pname, "targets[%zu]: %s has a %s policy already", i,
                       json_string_value(x), k);
        else
            json_object_set(pol, k, v);
    }
    json_decref(v);
    return r;
}

static int policy_aspects(struct tosca *t, struct flav *fl, const char *pname, const json_t *props)
{
    const json_t *aspects = json_object_get(props, "aspects"), *a;
    const char *id;
    long long msl;

    if (!json_is_object(aspects))
        return t_fail(t, fl->f->path, pname, "properties.aspects: must be a map");
    json_object_foreach((json_t *)aspects, id, a)
    {
        char what[128];
        const json_t *steps = json_object_get(a, "step_deltas");

        snprintf(what, sizeof(what), "properties.aspects.%.64s.max_scale_level", id);
        if (!id_valid(id))
            return t_fail(t, fl->f->path, pname,
                          "properties.aspects.%.64s: an aspect id must be "
                          "1-64 of letters, digits, '.', '_', '-'",
                          id);
        if (get_count(t, fl, pname, what, json_object_get(a, "max_scale_level"), 0,
                      VDU_INSTANCES_MAX, &msl))
            return -EINVAL;
        if (steps && !json_is_array(steps))
            return t_fail(t, fl->f->path, pname,
                          "properties.aspects.%s.step_deltas: must be a "
                          "list",
                          id);
        json_object_set_new(fl->aspects, id,
                            json_pack("{s:I, s:O?, s:s}", "max_scale_level", (json_int_t)msl,
                                      "step_deltas", steps, "policy", pname));
    }
    return 0;
}

static int policy_deltas(struct tosca *t, struct flav *fl, const char *pname, const json_t *p)
{
    const json_t *props = json_object_get(p, "properties");
    const char *aspect = json_string_value(json_object_get(props, "aspect")), *id;
    const json_t *deltas = json_object_get(props, "deltas"), *d;
    json_t *counts = json_object();
    long long n;

    if (!aspect || !json_is_object(deltas)) {
        json_decref(counts);
        return t_fail(t, fl->f->path, pname, "properties: needs aspect and deltas");
    }
    json_object_foreach((json_t *)deltas, id, d)
    {
        char what[128];

        snprintf(what, sizeof(what), "properties.deltas.%.64s.number_of_instances", id);
        if (get_count(t, fl, pname, what, json_object_get(d, "number_of_instances"), 1,
                      VDU_INSTANCES_MAX, &n)) {
            json_decref(counts);
            return -EINVAL;
        }
        json_object_set_new(counts, id, json_integer(n));
    }
    return per_target(
        t, fl, pname, p, "aspect",
        json_pack("{s:s, s:o, s:s}", "id", aspect, "deltas", counts, "policy", pname));
}

static int policy_initial(struct tosca *t, struct flav *fl, const char *pname, const json_t *p)
{
    const json_t *d = json_object_get(json_object_get(p, "properties"), "initial_delta");
    long long n;

    if (get_count(t, fl, pname, "properties.initial_delta.number_of_instances",
                  json_object_get(d, "number_of_instances"), 0, VDU_INSTANCES_MAX, &n))
        return -EINVAL;
    return per_target(t, fl, pname, p, "initial", json_integer(n));
}

static int policy_levels(struct tosca *t, struct flav *fl, const char *pname, const json_t *props)
{
    const json_t *levels = json_object_get(props, "levels");
    const char *dflt = json_string_value(json_object_get(props, "default_level")), *id;
    json_t *v;

    if (fl->levels)
        return t_fail(t, fl->f->path, pname, "a second InstantiationLevels policy");
    if (!json_is_object(levels) || json_object_size(levels) == 0 || json_object_size(levels) > 16)
        return t_fail(t, fl->f->path, pname, "properties.levels: must be a map of 1 to 16 levels");
    json_object_foreach((json_t *)levels, id, v)
    {
        if (!id_valid(id))
            return t_fail(t, fl->f->path, pname,
                          "properties.levels.%.64s: a level id must be "
                          "1-64 of letters, digits, '.', '_', '-'",
                          id);
    }
    if (dflt && !json_object_get(levels, dflt))
        return t_fail(t, fl->f->path, pname, "properties.default_level: no level '%.64s'", dflt);
    fl->levels = json_incref((json_t *)levels);
    fl->default_level = dflt;
    return 0;
}

static int policy_vdu_levels(struct tosca *t, struct flav *fl, const char *pname, const json_t *p)
{
    const json_t *levels = json_object_get(json_object_get(p, "properties"), "levels"), *v;
    json_t *counts = json_object();
    const char *id;
    long long n;

    json_object_foreach((json_t *)levels, id, v)
    {
        char what[128];

        snprintf(what, sizeof(what), "properties.levels.%.64s.number_of_instances", id);
        if (get_count(t, fl, pname, what, json_object_get(v, "number_of_instances"), 0,
                      VDU_INSTANCES_MAX, &n)) {
            json_decref(counts);
            return -EINVAL;
        }
        json_object_set_new(counts, id, json_integer(n));
    }
    return per_target(t, fl, pname, p, "levels", counts);
}

/* Policies that describe networking, placement or indicators, which a
 * process VIM on one host has no use for. */
static const char *const ignored_policies[] = {
    POLICY("VirtualLinkInstantiationLevels"),
    POLICY("VirtualLinkBitrateInitialDelta"),
    POLICY("VirtualLinkBitrateScalingAspectDeltas"),
    POLICY("AntiAffinityRule"),
    POLICY("AffinityRule"),
    POLICY("SecurityGroupRule"),
    POLICY("SupportedVnfInterface"),
    POLICY("VnfIndicator"),
    NULL,
};

static int map_policy(struct tosca *t, struct flav *fl, const char *pname, const json_t *p)
{
    const char *base =
        t_base(t, TK_POLICY, json_string_value(json_object_get(p, "type")), fl->f->path, pname);
    const json_t *props = json_object_get(p, "properties");

    if (!base)
        return -EINVAL;
    if (strcmp(base, POLICY("ScalingAspects")) == 0)
        return policy_aspects(t, fl, pname, props);
    if (strcmp(base, POLICY("VduScalingAspectDeltas")) == 0)
        return policy_deltas(t, fl, pname, p);
    if (strcmp(base, POLICY("VduInitialDelta")) == 0)
        return policy_initial(t, fl, pname, p);
    if (strcmp(base, POLICY("InstantiationLevels")) == 0)
        return policy_levels(t, fl, pname, props);
    if (strcmp(base, POLICY("VduInstantiationLevels")) == 0)
        return policy_vdu_levels(t, fl, pname, p);
    if (listed(ignored_policies, base)) {
        t_note(t, "%s: policy %s ignored (%s)", fl->f->path, pname, base);
        return 0;
    }
    return t_fail(t, fl->f->path, pname, "a policy of type %s cannot be mapped", base);
}

static int map_policies(struct tosca *t, struct flav *fl)
{
    const json_t *list =
                     json_object_get(json_object_get(fl->f->doc, "topology_template"), "policies"),
                 *item;
    size_t i;

    if (list && !json_is_array(list))
        return t_fail(t, fl->f->path, "policies", "must be a list");
    json_array_foreach(list, i, item)
    {
        const char *pname;
        json_t *p;

        if (!json_is_object(item) || json_object_size(item) != 1)
            return t_fail(t, fl->f->path, "policies", "item %zu: must be a map of one policy", i);
        json_object_foreach((json_t *)item, pname, p)
        {
            if (!json_is_object(p))
                return t_fail(t, fl->f->path, pname, "a policy must be a mapping");
            if (map_policy(t, fl, pname, p))
                return -EINVAL;
        }
    }
    return 0;
}

/* ---- scaling and levels --------------------------------------------------- */

/* The instances one step of aspect adds to a VDU: its step deltas must
 * all add the same (native scaling has one step). */
static int aspect_step(struct tosca *t, const struct flav *fl, const char *vdu, const json_t *asp,
                       const json_t *a, long long *step)
{
    const json_t *steps = json_object_get(a, "step_deltas"),
                 *deltas = json_object_get(asp, "deltas"), *s;
    const char *pname = json_string_value(json_object_get(asp, "policy")), *id;
    json_t *v;
    size_t i;

    *step = 0;
    if (!steps) { /* no list: the one delta there is */
        if (json_object_size(deltas) != 1)
            return t_fail(t, fl->f->path, pname,
                          "properties.deltas: the aspect names no "
                          "step_deltas, so it needs exactly one delta");
        json_object_foreach((json_t *)deltas, id, v)
        {
            *step = json_integer_value(v);
        }
        return 0;
    }
    json_array_foreach(steps, i, s)
    {
        const json_t *n = json_object_get(deltas, json_string_value(s) ? json_string_value(s) : "");

        if (!n)
            return t_fail(t, fl->f->path, pname,
                          "properties.deltas: no delta '%.64s' that the "
                          "aspect's step_deltas[%zu] names",
                          json_string_value(s) ? json_string_value(s) : "", i);
        if (*step && json_integer_value(n) != *step)
            return t_fail(t, fl->f->path, pname,
                          "properties.deltas: the steps of %s add %lld and then %lld instances; "
                          "steps of one size can be mapped only",
                          vdu, *step, (long long)json_integer_value(n));
        *step = json_integer_value(n);
    }
    if (!*step)
        return t_fail(t, fl->f->path, pname, "the aspect has no step_deltas");
    return 0;
}

/* Native scaling of one VDU: level 0 of its aspect is its initial delta
 * (native min), each level adds a step, up to the aspect's max. */
static int vdu_scaling(struct tosca *t, struct flav *fl, const char *vdu, json_t *pol)
{
    long long lo = json_integer_value(json_object_get(pol, "min"));
    long long hi = json_integer_value(json_object_get(pol, "max"));
    long long initial = json_is_integer(json_object_get(pol, "initial"))
                            ? json_integer_value(json_object_get(pol, "initial"))
                            : lo;
    const json_t *asp = json_object_get(pol, "aspect"), *a;
    const char *aspect, *pname;
    long long step = 1, top;

    if (initial < lo || initial > hi)
        return t_fail(t, fl->f->path, vdu,
                      "its initial delta (%lld) is outside its vdu_profile "
                      "(%lld..%lld)",
                      initial, lo, hi);
    json_object_set_new(pol, "initial", json_integer(initial));
    if (!asp) {
        json_object_set_new(fl->scaling, vdu,
                            json_pack("{s:I, s:I, s:I}", "min", (json_int_t)lo, "max",
                                      (json_int_t)hi, "step", (json_int_t)1));
        return 0;
    }
    aspect = json_string_value(json_object_get(asp, "id"));
    pname = json_string_value(json_object_get(asp, "policy"));
    a = json_object_get(fl->aspects, aspect);
    if (!a)
        return t_fail(t, fl->f->path, pname, "properties.aspect: no scaling aspect '%.64s'",
                      aspect);
    if (json_object_get(fl->aspect_of, aspect))
        return t_fail(t, fl->f->path, pname,
                      "aspect %s scales %s and %s: an aspect scales one VDU here", aspect,
                      json_string_value(json_object_get(fl->aspect_of, aspect)), vdu);
    if (aspect_step(t, fl, vdu, asp, a, &step))
        return -EINVAL;
    top = initial + json_integer_value(json_object_get(a, "max_scale_level")) * step;
    if (top > hi)
        return t_fail(t, fl->f->path, json_string_value(json_object_get(a, "policy")),
                      "aspect %s at its max_scale_level needs %lld instances of %s, more than its "
                      "vdu_profile.max_number_of_instances (%lld)",
                      aspect, top, vdu, hi);
    if (top < 1)
        top = 1;
    json_object_set_new(fl->aspect_of, aspect, json_string(vdu));
    json_object_set_new(fl->scaling, vdu,
                        json_pack("{s:I, s:I, s:I}", "min", (json_int_t)initial, "max",
                                  (json_int_t)top, "step", (json_int_t)step));
    return 0;
}

/* The instances of vdu at level id: its VduInstantiationLevels, else its
 * aspect's scale level in the level's scale_info, else its initial delta. */
static long long level_count(const struct flav *fl, const char *vdu, const char *id,
                             const json_t *level)
{
    const json_t *pol = json_object_get(fl->vdu_pol, vdu);
    const json_t *given = json_object_get(json_object_get(pol, "levels"), id);
    const char *aspect = json_string_value(json_object_get(json_object_get(pol, "aspect"), "id"));
    const json_t *sc = json_object_get(fl->scaling, vdu);
    long long initial = json_integer_value(json_object_get(pol, "initial")), lvl;

    if (given)
        return json_integer_value(given);
    if (aspect &&
        t_int(json_object_get(json_object_get(json_object_get(level, "scale_info"), aspect),
                              "scale_level"),
              &lvl) == 0)
        return initial + lvl * json_integer_value(json_object_get(sc, "step"));
    return initial;
}

static int map_levels(struct tosca *t, struct flav *fl)
{
    const char *vdu, *id;
    json_t *pol, *level;

    json_object_foreach(fl->vdu_pol, vdu, pol)
    {
        json_object_foreach(json_object_get(pol, "levels"), id, level)
        {
            if (!json_object_get(fl->levels, id))
                return t_fail(t, fl->f->path, vdu,
                              "a VduInstantiationLevels policy names level '%.64s', which the "
                              "InstantiationLevels policy does not have",
                              id);
        }
    }
    if (!fl->levels)
        return 0;
    fl->inst = json_object();
    json_object_foreach(fl->levels, id, level)
    {
        json_t *counts = json_object();

        json_object_set_new(fl->inst, id, counts);
        json_object_foreach(fl->vdu_pol, vdu, pol)
        {
            const json_t *sc = json_object_get(fl->scaling, vdu);
            long long n = level_count(fl, vdu, id, level);

            if (n < json_integer_value(json_object_get(sc, "min")) ||
                n > json_integer_value(json_object_get(sc, "max")))
                return t_fail(t, fl->f->path, vdu,
                              "instantiation level %s gives it %lld instances, outside %lld..%lld "
                              "of its profile and aspect",
                              id, n, (long long)json_integer_value(json_object_get(sc, "min")),
                              (long long)json_integer_value(json_object_get(sc, "max")));
            json_object_set_new(counts, vdu, json_integer(n));
        }
    }
    return 0;
}

/* Scaling and levels of every VDU; the initial count is the default
 * level's. */
static int map_scaling(struct tosca *t, struct flav *fl)
{
    const char *vdu, *aspect;
    const json_t *dflt;
    json_t *pol, *a;

    json_object_foreach(fl->vdu_pol, vdu, pol)
    {
        if (vdu_scaling(t, fl, vdu, pol))
            return -EINVAL;
    }
    json_object_foreach(fl->aspects, aspect, a)
    {
        if (!json_object_get(fl->aspect_of, aspect))
            t_note(t, "%s: aspect %s scales no VDU", fl->f->path, aspect);
    }
    if (map_levels(t, fl))
        return -EINVAL;
    dflt = fl->inst
               ? json_object_get(fl->inst, fl->default_level
                                               ? fl->default_level
                                               : json_object_iter_key(json_object_iter(fl->inst)))
               : NULL;
    json_object_foreach(fl->vdu_pol, vdu, pol)
    {
        json_t *sc = json_object_get(fl->scaling, vdu);
        const json_t *n = json_object_get(dflt, vdu);

        json_object_set(sc, "initial", n ? (json_t *)n : json_object_get(pol, "initial"));
    }
    return 0;
}

/* ---- flavours ------------------------------------------------------------- */

/* The VNF node template of a file, its name in *name. */
static const json_t *vnf_node(struct tosca *t, const struct tfile *f, const char **name)
{
    const char *k;
    json_t *n;

    json_object_foreach((json_t *)nodes_of(f), k, n)
    {
        const char *type = json_string_value(json_object_get(n, "type"));
        const char *base = type ? t_base(t, TK_NODE, type, f->path, k) : NULL;

        if (base && strcmp(base, BASE_VNF) == 0) {
            *name = k;
            return n;
        }
    }
    return NULL;
}

/* 1 when a file's topology has a VDU (it is a flavour), 0 when not, or
 * -EINVAL for a node of a type we do not know. */
static int has_vdu(struct tosca *t, const struct tfile *f)
{
    const char *k;
    json_t *n;
    int found = 0;

    json_object_foreach((json_t *)nodes_of(f), k, n)
    {
        const char *base = node_base(t, f, k, n);

        if (!base)
            return -EINVAL;
        found |= is_vdu(base);
    }
    return found;
}

/* A string property that is not a function, or NULL. */
static const char *plain_str(const json_t *props, const char *k)
{
    const json_t *v = json_object_get(props, k);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The default that a type (or the nearest it derives from) gives a string
 * property, or NULL. */
static const char *type_default(const struct tosca *t, const char *type, const char *k)
{
    for (int i = 0; type && i < 16; i++) {
        const json_t *def = t_type_def(t, TK_NODE, type);
        const json_t *d =
            json_object_get(json_object_get(json_object_get(def, "properties"), k), "default");

        if (json_is_string(d))
            return json_string_value(d);
        type = json_string_value(json_object_get(def, "derived_from"));
    }
    return NULL;
}

/* The flavour's id: its substitution mappings', its VNF node's, or the
 * default of the VNF's type. */
static int flavour_id(struct tosca *t, struct flav *fl)
{
    const json_t *sm =
        json_object_get(json_object_get(fl->f->doc, "topology_template"), "substitution_mappings");
    const char *vname = "VNF";

    fl->vnf = vnf_node(t, fl->f, &vname);
    fl->vnf_type = json_string_value(json_object_get(fl->vnf, "type"));
    if (!fl->vnf_type)
        fl->vnf_type = json_string_value(json_object_get(sm, "node_type"));
    fl->id = plain_str(json_object_get(sm, "properties"), "flavour_id");
    if (!fl->id)
        fl->id = plain_str(json_object_get(fl->vnf, "properties"), "flavour_id");
    if (!fl->id)
        fl->id = type_default(t, fl->vnf_type, "flavour_id");
    fl->description = plain_str(json_object_get(fl->vnf, "properties"), "flavour_description");
    if (!fl->description)
        fl->description = type_default(t, fl->vnf_type, "flavour_description");
    if (!fl->id)
        return t_fail(t, fl->f->path, vname,
                      "properties.flavour_id: the flavour has no id (substitution_mappings."
                      "properties.flavour_id or the VNF's flavour_id)");
    if (!id_valid(fl->id))
        return t_fail(t, fl->f->path, vname,
                      "properties.flavour_id: '%.64s' is not 1-64 of "
                      "letters, digits, '.', '_', '-'",
                      fl->id);
    if (strcmp(fl->id, "default") == 0)
        return t_fail(t, fl->f->path, vname,
                      "properties.flavour_id: 'default' names the descriptor's own flavour here; "
                      "give the flavour another id");
    return 0;
}

static int map_flavour(struct tosca *t, struct flav *fl)
{
    fl->vdus = json_array();
    fl->storage = json_object();
    fl->cps = json_object();
    fl->vdu_pol = json_object();
    fl->aspects = json_object();
    fl->scaling = json_object();
    fl->aspect_of = json_object();
    if (!json_is_object(fl->nodes))
        return t_fail(t, fl->f->path, "topology_template.node_templates", "must be a mapping");
    if (flavour_id(t, fl) || map_nodes(t, fl) || map_policies(t, fl))
        return -EINVAL;
    return map_scaling(t, fl);
}

/* ---- the VNF and its LCM interface --------------------------------------- */

/* Custom actions of each Vnflcm operation, in the order a stage runs them. */
static const struct {
    const char *op, *stage;
} lcm_ops[] = {
    {"instantiate_start", "pre_deployment"},
    {"instantiate", "post_deployment"},
    {"instantiate_end", "post_deployment"},
    {"terminate_start", "undeployment"},
    {"terminate", "undeployment"},
    {"scale_start", "scale"},
    {"scale", "scale"},
    {"scale_end", "scale"},
    {"heal_start", "heal"},
    {"heal", "heal"},
    {"heal_end", "heal"},
    {"operate_start", "operate"},
    {"operate", "operate"},
    {"operate_end", "operate"},
    {"modify_information_start", "update"},
    {"modify_information", "update"},
    {"modify_information_end", "update"},
};

/* Operations that have nothing to run on with scripts here, and why. */
static const struct {
    const char *op, *why;
} lcm_unmapped[] = {
    {"terminate_end", "no stage runs after the VNFCs are gone; use terminate_start or terminate"},
    {"change_flavour", "the custom actions of scale run for every change of size; declare them "
                       "under scale"},
    {"scale_to_level", "the custom actions of scale run for every change of size; declare them "
                       "under scale"},
    {"change_external_connectivity", "the manager does not change external connectivity"},
    {"change_current_package", "the manager does not change packages of running VNFs"},
    {"create_snapshot", "the manager takes no snapshots"},
    {"revert_to_snapshot", "the manager takes no snapshots"},
};

/* The package file an implementation names: an artifact of the VNF node
 * (or its type), or a path relative to the template. */
static char *impl_path(struct tosca *t, const struct tfile *f, const json_t *vnf, const char *ref)
{
    const json_t *a = json_object_get(json_object_get(vnf, "artifacts"), ref);
    const char *file =
        json_is_string(a) ? json_string_value(a) : json_string_value(json_object_get(a, "file"));
    const char *type = json_string_value(json_object_get(vnf, "type"));

    for (int i = 0; !file && type && i < 16; i++) {
        const json_t *def = t_type_def(t, TK_NODE, type);

        a = json_object_get(json_object_get(def, "artifacts"), ref);
        file = json_is_string(a) ? json_string_value(a)
                                 : json_string_value(json_object_get(a, "file"));
        type = json_string_value(json_object_get(def, "derived_from"));
    }
    return csar_resolve(f->path, file ? file : ref);
}

static int impl_ref(struct tosca *t, const struct tfile *f, const char *what, const json_t *impl,
                    const char **ref, long long *timeout)
{
    const json_t *primary;

    if (json_is_string(impl)) {
        *ref = json_string_value(impl);
        return 0;
    }
    primary = json_object_get(impl, "primary");
    if (json_object_get(impl, "dependencies"))
        return t_fail(t, f->path, what,
                      "implementation.dependencies: cannot be mapped (an "
                      "action is one script)");
    if (json_object_get(impl, "timeout") &&
        (t_int(json_object_get(impl, "timeout"), timeout) || *timeout < 1 || *timeout > 3600))
        return t_fail(t, f->path, what, "implementation.timeout: must be 1 to 3600 seconds");
    *ref = json_is_string(primary) ? json_string_value(primary)
                                   : json_string_value(json_object_get(primary, "file"));
    if (!*ref)
        return t_fail(t, f->path, what, "implementation: names no script");
    return 0;
}

/* inputs of an operation: args (a list of templated strings) and
 * timeout_s. */
static int map_inputs(struct tosca *t, const struct tfile *f, const char *what,
                      const json_t *inputs, json_t *action)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)inputs, k, v)
    {
        long long n;

        if (strcmp(k, "args") == 0) {
            const json_t *x;
            size_t i;

            if (!json_is_array(v))
                return t_fail(t, f->path, what, "inputs.args: must be a list of strings");
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x))
                    return t_fail(t, f->path, what, "inputs.args[%zu]: must be a string", i);
            }
            json_object_set(action, "args", v);
        } else if (strcmp(k, "timeout_s") == 0) {
            if (t_int(v, &n) || n < 1 || n > 3600)
                return t_fail(t, f->path, what, "inputs.timeout_s: must be 1 to 3600");
            json_object_set_new(action, "timeout_s", json_integer(n));
        } else {
            return t_fail(t, f->path, what,
                          "inputs.%s: cannot be mapped (an operation takes "
                          "args and timeout_s)",
                          k);
        }
    }
    return 0;
}

static void add_extract(json_t *extract, const char *path)
{
    const json_t *x;
    size_t i;

    json_array_foreach(extract, i, x)
    {
        if (strcmp(json_string_value(x), path) == 0)
            return;
    }
    json_array_append_new(extract, json_string(path));
}

/* One operation of the Vnflcm interface as a custom action, or NULL
 * (*action) when it runs nothing. */
static int map_operation(struct tosca *t, const struct tfile *f, const json_t *vnf,
                         const char *what, const json_t *op, json_t *extract, json_t **action)
{
    const json_t *impl = json_is_object(op) ? json_object_get(op, "implementation") : op;
    const char *ref = NULL, *k;
    long long timeout = 0;
    char *path = NULL, *text = NULL, msg[256];
    json_t *v;
    int r;

    *action = NULL;
    if (!op || json_is_null(op) || (json_is_array(op) && json_array_size(op) == 0) ||
        (json_is_string(op) && !*json_string_value(op)))
        return 0;
    json_object_foreach((json_t *)(json_is_object(op) ? op : NULL), k, v)
    {
        if (strcmp(k, "implementation") && strcmp(k, "inputs") && strcmp(k, "description"))
            return t_fail(t, f->path, what, "%s: not a keyname of an operation", k);
    }
    if (!json_is_string(impl) && !json_is_object(impl))
        return t_fail(t, f->path, what, "implementation: must name a script of the package");
    if (impl_ref(t, f, what, impl, &ref, &timeout))
        return -EINVAL;
    if (!t->o || !t->o->script_root)
        return t_fail(t, f->path, what, "this manager runs no scripts of packages");
    path = strstr(ref, "://") ? NULL : impl_path(t, f, vnf, ref);
    if (!path)
        return t_fail(t, f->path, what, "implementation: '%.200s' is not a file of the package",
                      ref);
    r = t->src->read(t->src->arg, path, SCRIPT_MAX, &text, msg, sizeof(msg));
    free(text);
    if (r) {
        r = t_fail(t, f->path, what, "implementation: %.200s: %s", path,
                   r == -ENOENT ? "not in the package" : msg);
        free(path);
        return r;
    }
    *action = json_pack("{s:s++}", "script", t->o->script_root, "/", path);
    if (timeout)
        json_object_set_new(*action, "timeout_s", json_integer(timeout));
    add_extract(extract, path);
    free(path);
    r = json_is_object(op) ? map_inputs(t, f, what, json_object_get(op, "inputs"), *action) : 0;
    if (r) {
        json_decref(*action);
        *action = NULL;
    }
    return r;
}

/* The Vnflcm operations of one VNF node template, into ops (each defined
 * once, or alike wherever it is). */
static int node_operations(struct tosca *t, const struct tfile *f, const char *vname,
                           const json_t *vnf, json_t *ops, json_t *where)
{
    const char *iname, *op;
    const json_t *itf;
    json_t *def;

    json_object_foreach(json_object_get(vnf, "interfaces"), iname, itf)
    {
        if (strcmp(iname, "Vnflcm") != 0)
            return t_fail(t, f->path, vname, "interfaces.%s: only the Vnflcm interface is mapped",
                          iname);
        json_object_foreach((json_t *)itf, op, def)
        {
            const json_t *had = json_object_get(ops, op);

            if (strcmp(op, "type") == 0 || strcmp(op, "inputs") == 0)
                continue;
            if (had && !json_equal((json_t *)had, def))
                return t_fail(
                    t, f->path, vname, "interfaces.Vnflcm.%s: defined otherwise in %s", op,
                    json_string_value(json_object_get(json_object_get(where, op), "file")));
            json_object_set(ops, op, def);
            json_object_set_new(
                where, op,
                json_pack("{s:s, s:s, s:O}", "file", f->path, "node", vname, "vnf", vnf));
        }
    }
    return 0;
}

/* The Vnflcm operations of every VNF node template of the package. */
static int collect_operations(struct tosca *t, json_t *ops, json_t *where)
{
    for (unsigned i = 0; i < t->n_files; i++) {
        const struct tfile *f = &t->files[i];
        const char *name;
        json_t *n;

        json_object_foreach((json_t *)nodes_of(f), name, n)
        {
            const char *base = node_base(t, f, name, n);

            if (!base)
                return -EINVAL;
            if (strcmp(base, BASE_VNF) == 0 && node_operations(t, f, name, n, ops, where))
                return -EINVAL;
        }
    }
    return 0;
}

static bool empty_op(const json_t *def)
{
    return json_is_null(def) || (json_is_array(def) && json_array_size(def) == 0) ||
           (json_is_string(def) && !*json_string_value(def));
}

static int known_op(struct tosca *t, const json_t *where, const char *op, const json_t *def)
{
    const json_t *w = json_object_get(where, op);
    const char *file = json_string_value(json_object_get(w, "file"));
    const char *node = json_string_value(json_object_get(w, "node"));

    for (size_t i = 0; i < ARRAY_SIZE(lcm_unmapped); i++) {
        size_t n = strlen(lcm_unmapped[i].op);

        if (strncmp(op, lcm_unmapped[i].op, n) == 0 &&
            (op[n] == '\0' || strcmp(op + n, "_start") == 0 || strcmp(op + n, "_end") == 0)) {
            if (empty_op(def))
                return 0;
            return t_fail(t, file, node, "interfaces.Vnflcm.%s: cannot be mapped: %s", op,
                          lcm_unmapped[i].why);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(lcm_ops); i++)
        if (strcmp(op, lcm_ops[i].op) == 0)
            return 0;
    return t_fail(t, file, node,
                  "interfaces.Vnflcm.%s: not an operation of "
                  "tosca.interfaces.nfv.Vnflcm",
                  op);
}

static int map_lifecycle(struct tosca *t, json_t *vnfd, json_t *extract)
{
    json_t *ops = json_object(), *where = json_object(), *lc = json_object(), *def;
    const char *op;
    int r = collect_operations(t, ops, where);

    json_object_foreach(ops, op, def)
    {
        if (!r)
            r = known_op(t, where, op, def);
    }
    for (size_t i = 0; !r && i < ARRAY_SIZE(lcm_ops); i++) {
        const json_t *w = json_object_get(where, lcm_ops[i].op);
        const struct tfile *f = NULL;
        char what[128];
        json_t *action, *list;

        if (!w)
            continue;
        for (unsigned k = 0; k < t->n_files; k++)
            if (strcmp(t->files[k].path, json_string_value(json_object_get(w, "file"))) == 0)
                f = &t->files[k];
        snprintf(what, sizeof(what), "%s: interfaces.Vnflcm.%s",
                 json_string_value(json_object_get(w, "node")), lcm_ops[i].op);
        r = map_operation(t, f, json_object_get(w, "vnf"), what,
                          json_object_get(ops, lcm_ops[i].op), extract, &action);
        if (r || !action)
            continue;
        list = json_object_get(lc, lcm_ops[i].stage);
        if (!list) {
            list = json_array();
            json_object_set_new(lc, lcm_ops[i].stage, list);
        }
        json_array_append_new(list, action);
    }
    if (!r && json_object_size(lc))
        json_object_set(vnfd, "lifecycle", lc);
    json_decref(ops);
    json_decref(where);
    json_decref(lc);
    return r;
}

/* ---- additional parameters of instantiate --------------------------------- */

/* entry_schema: string, or {type: string}. */
static bool entry_is_string(const json_t *es)
{
    const char *type =
        json_is_string(es) ? json_string_value(es) : json_string_value(json_object_get(es, "type"));

    return type && strcmp(type, "string") == 0;
}

/* A TOSCA value of a parameter type in native JSON, or NULL. */
static json_t *typed(const char *type, const json_t *v)
{
    long long n;
    bool b;
    char *end;

    if (strcmp(type, "string") == 0)
        return json_is_string(v) ? json_incref((json_t *)v) : NULL;
    if (strcmp(type, "integer") == 0)
        return t_int(v, &n) ? NULL : json_integer(n);
    if (strcmp(type, "boolean") == 0)
        return t_bool(v, &b) ? NULL : json_boolean(b);
    if (strcmp(type, "number") == 0 && json_is_string(v)) {
        double d = strtod(json_string_value(v), &end);

        return *end || end == json_string_value(v) ? NULL : json_real(d);
    }
    if (strcmp(type, "list") == 0 && json_is_array(v)) {
        const json_t *x;
        size_t i;

        json_array_foreach(v, i, x)
        {
            if (!json_is_string(x))
                return NULL;
        }
        return json_incref((json_t *)v);
    }
    return NULL;
}

static int map_param(struct tosca *t, const char *file, const char *dtype, const char *name,
                     const json_t *def, json_t *params)
{
    static const struct {
        const char *tosca, *native;
    } types[] = {{"string", "string"},
                 {"integer", "integer"},
                 {"float", "number"},
                 {"boolean", "boolean"},
                 {"list", "list"}};
    const char *type = json_string_value(json_object_get(def, "type")), *native = NULL;
    const json_t *dflt = json_object_get(def, "default"),
                 *desc = json_object_get(def, "description");
    bool required = true;
    json_t *p;

    for (size_t i = 0; type && i < ARRAY_SIZE(types); i++)
        if (strcmp(type, types[i].tosca) == 0)
            native = types[i].native;
    if (native && strcmp(native, "list") == 0 &&
        !entry_is_string(json_object_get(def, "entry_schema")))
        native = NULL;
    if (!native || !id_valid(name))
        return t_fail(t, file, dtype,
                      "properties.%.64s: a parameter of type %.32s cannot be "
                      "mapped (string, integer, float, boolean, list of strings)",
                      name, type ? type : "?");
    if (json_object_get(def, "required") && t_bool(json_object_get(def, "required"), &required))
        return t_fail(t, file, dtype, "properties.%s.required: must be true or false", name);
    p = json_pack("{s:s}", "type", native);
    if (dflt) {
        json_t *v = typed(native, dflt);

        if (!v) {
            json_decref(p);
            return t_fail(t, file, dtype, "properties.%s.default: not a %s", name, type);
        }
        json_object_set_new(p, "default", v);
    } else if (required) {
        json_object_set_new(p, "required", json_true());
    }
    if (json_is_string(desc))
        json_object_set(p, "description", (json_t *)desc);
    json_object_set_new(params, name, p);
    return 0;
}

/* The data type of instantiate's additional_parameters, declared in the
 * VNF type's Vnflcm interface (SOL001 6.2.2), as native params. */
static int map_params(struct tosca *t, const char *vnf_type, json_t *vnfd)
{
    const char *dtype = NULL, *file, *name;
    const json_t *def = NULL, *dt, *p;
    json_t *params;
    int r = 0;

    for (const char *ty = vnf_type; ty && !dtype;
         ty = json_string_value(json_object_get(def, "derived_from"))) {
        def = t_type_def(t, TK_NODE, ty);
        if (!def)
            break;
        dtype = json_string_value(json_object_get(
            json_object_get(
                json_object_get(
                    json_object_get(json_object_get(json_object_get(def, "interfaces"), "Vnflcm"),
                                    "instantiate"),
                    "inputs"),
                "additional_parameters"),
            "type"));
    }
    if (!dtype)
        return 0;
    dt = t_type_def(t, TK_DATA, dtype);
    file = json_string_value(json_object_get(json_object_get(t->types[TK_DATA], dtype), "file"));
    if (!dt)
        return t_fail(t, t->files[0].path, vnf_type,
                      "interfaces.Vnflcm.instantiate.inputs.additional_parameters: data type "
                      "'%.64s' is not defined in the package",
                      dtype);
    params = json_object();
    json_object_foreach(json_object_get(dt, "properties"), name, p)
    {
        if (!r)
            r = map_param(t, file, dtype, name, p, params);
    }
    if (!r && json_object_size(params))
        json_object_set(vnfd, "params", params);
    json_decref(params);
    return r;
}

/* ---- assembling ----------------------------------------------------------- */

/* The VNF node's properties: its type's defaults, then every VNF node
 * template's own (the top level's first), functions left out. */
static json_t *vnf_properties(struct tosca *t, const char *vnf_type)
{
    json_t *props = vnf_type ? t_defaults(t, TK_NODE, vnf_type) : json_object();

    for (unsigned i = 0; i < t->n_files; i++) {
        const char *vname, *k;
        const json_t *vnf = vnf_node(t, &t->files[i], &vname);
        json_t *v;

        json_object_foreach(json_object_get(vnf, "properties"), k, v)
        {
            if (!t_is_function(v))
                json_object_set(props, k, v);
        }
    }
    return props;
}

static int vnf_identity(struct tosca *t, const char *vnf_type, json_t *vnfd, json_t *out)
{
    json_t *props = vnf_properties(t, vnf_type);
    const char *id = plain_str(props, "descriptor_id");
    static const char *const keys[] = {"descriptor_id", "descriptor_version", "provider",
                                       "product_name", "software_version"};
    const char *desc = json_string_value(json_object_get(t->files[0].doc, "description"));
    int r = 0;

    if (!id)
        r = t_fail(t, t->files[0].path, "VNF",
                   "properties.descriptor_id: missing (give it in the "
                   "VNF node or as its type's default)");
    else if (!id_valid(id))
        r = t_fail(t, t->files[0].path, "VNF",
                   "properties.descriptor_id: '%.64s' is not 1-64 of letters, digits, '.', '_', "
                   "'-'",
                   id);
    for (size_t i = 0; !r && i < ARRAY_SIZE(keys); i++) {
        const char *v = plain_str(props, keys[i]);

        if (v && strlen(v) > 256)
            r = t_fail(t, t->files[0].path, "VNF", "properties.%s: longer than 256 bytes", keys[i]);
        json_object_set_new(out, keys[i], json_string(v ? v : ""));
    }
    if (!r) {
        const char *ver = plain_str(props, "software_version");

        json_object_set_new(vnfd, "id", json_string(id));
        json_object_set_new(vnfd, "name", json_string(jv_str(props, "product_name", "")));
        json_object_set_new(vnfd, "vendor", json_string(jv_str(props, "provider", "")));
        json_object_set_new(vnfd, "version",
                            json_string(ver && *ver && strlen(ver) <= 64 ? ver : "1.0"));
        if (desc)
            json_object_set_new(vnfd, "description", json_stringn(desc, strnlen(desc, 4096)));
    }
    json_decref(props);
    return r;
}

/* The flavours' VDUs must be the same (flavours change counts only). */
static int same_vdus(struct tosca *t, const struct flav *a, const struct flav *b)
{
    const json_t *v;
    size_t i;

    json_array_foreach(b->vdus, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        const json_t *w = NULL, *x;
        size_t k;

        json_array_foreach(a->vdus, k, x)
        {
            if (strcmp(json_string_value(json_object_get(x, "id")), id) == 0)
                w = x;
        }
        if (!w)
            return t_fail(t, b->f->path, id,
                          "flavour %s has this VDU and flavour %s does not: flavours share their "
                          "VDUs here and change their numbers only",
                          b->id, a->id);
        if (!json_equal((json_t *)w, (json_t *)v))
            return t_fail(t, b->f->path, id,
                          "differs from the VDU of flavour %s (command, size, storage or day-0 "
                          "files): flavours change the numbers of VDUs only",
                          a->id);
    }
    if (json_array_size(a->vdus) != json_array_size(b->vdus))
        return t_fail(t, b->f->path, b->id,
                      "flavour %s lacks VDUs that flavour %s has: flavours share their VDUs here",
                      b->id, a->id);
    return 0;
}

static json_t *native_flavour(const struct flav *fl)
{
    json_t *f = json_pack("{s:s, s:O}", "id", fl->id, "scaling", fl->scaling);

    if (fl->description)
        json_object_set_new(f, "description",
                            json_stringn(fl->description, strnlen(fl->description, 1024)));
    if (fl->inst)
        json_object_set(f, "instantiation_levels", fl->inst);
    if (fl->inst && fl->default_level)
        json_object_set_new(f, "default_level", json_string(fl->default_level));
    return f;
}

/* The native VDUs: the first flavour's, its scaling as their own, each
 * with the aspect that scales it; every flavour a native flavour. */
static int assemble(struct tosca *t, struct flav *fl, unsigned n, json_t *vnfd, json_t *out)
{
    json_t *vdus = json_deep_copy(fl[0].vdus), *flavours = json_array(), *aspects = json_object(),
           *v, *info = json_array();
    size_t i;
    int r = 0;

    json_array_foreach(vdus, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));

        json_object_set(v, "scaling", json_object_get(fl[0].scaling, id));
    }
    for (unsigned k = 0; k < n && !r; k++) {
        const char *aspect;
        json_t *vdu;

        for (unsigned j = 0; j < k && !r; j++)
            if (strcmp(fl[j].id, fl[k].id) == 0)
                r = t_fail(t, fl[k].f->path, fl[k].id, "a second flavour of that id (%s)",
                           fl[j].f->path);
        if (!r && k > 0)
            r = same_vdus(t, &fl[0], &fl[k]);
        json_object_foreach(fl[k].aspect_of, aspect, vdu)
        {
            const json_t *had = json_object_get(aspects, aspect);

            if (!r && had && !json_equal((json_t *)had, vdu))
                r = t_fail(t, fl[k].f->path, aspect,
                           "the aspect scales %s here and %s in another "
                           "flavour",
                           json_string_value(vdu), json_string_value(had));
            json_object_set(aspects, aspect, vdu);
        }
        json_array_append_new(flavours, native_flavour(&fl[k]));
        json_array_append_new(info, json_pack("{s:s, s:s}", "flavour_id", fl[k].id, "description",
                                              fl[k].description ? fl[k].description : ""));
    }
    json_array_foreach(vdus, i, v)
    {
        const char *aspect;
        json_t *vdu;

        json_object_foreach(aspects, aspect, vdu)
        {
            if (strcmp(json_string_value(vdu), json_string_value(json_object_get(v, "id"))) == 0)
                json_object_set_new(v, "aspect", json_string(aspect));
        }
    }
    json_object_set_new(vnfd, "vdus", vdus);
    json_object_set_new(vnfd, "flavours", flavours);
    json_object_set_new(out, "flavours", info);
    json_object_set_new(out, "aspects", aspects);
    json_object_set(out, "connection_points", fl[0].cps);
    return r;
}

int tosca_translate(const struct tosca_src *src, const char *entry, const struct tosca_opts *o,
                    json_t **out, char *err, size_t errlen)
{
    struct tosca t = {.src = src, .o = o, .err = err, .errlen = errlen};
    struct flav fl[16] = {{0}};
    unsigned n = 0;
    json_t *vnfd = json_object(), *res = json_object(), *extract = json_array();
    const char *vnf_type = NULL;
    int r = tosca_load(&t, entry);

    for (unsigned i = 0; !r && i < t.n_files; i++) {
        r = has_vdu(&t, &t.files[i]);
        if (r <= 0)
            continue;
        if (n == ARRAY_SIZE(fl)) {
            r = t_fail(&t, t.files[i].path, NULL, "more than 16 deployment flavours");
            break;
        }
        fl[n].f = &t.files[i];
        fl[n].nodes = nodes_of(&t.files[i]);
        r = map_flavour(&t, &fl[n]);
        if (!vnf_type)
            vnf_type = fl[n].vnf_type;
        n++;
    }
    if (!r && n == 0)
        r = t_fail(&t, entry, NULL,
                   "no deployment flavour: no node of type tosca.nodes.nfv.Vdu.Compute (or "
                   "vnfm.nodes.Vdu.Process)");
    if (!r)
        r = vnf_identity(&t, vnf_type, vnfd, res);
    if (!r)
        r = assemble(&t, fl, n, vnfd, res);
    if (!r)
        r = map_lifecycle(&t, vnfd, extract);
    if (!r)
        r = map_params(&t, vnf_type, vnfd);
    for (unsigned i = 0; i < n; i++)
        flav_done(&fl[i]);
    if (!r) {
        json_object_set(res, "vnfd", vnfd);
        json_object_set(res, "extract", extract);
        json_object_set(res, "notes", t.notes);
        *out = json_incref(res);
    }
    json_decref(res);
    json_decref(vnfd);
    json_decref(extract);
    tosca_done(&t);
    return r;
}
