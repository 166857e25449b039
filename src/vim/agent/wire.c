/* The agent VIM's arguments and results as JSON (agent.h), both ways. */
#include "vim/agent/agent.h"
#include "util/jsonv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

json_t *wire_spec(const struct vi_spec *spec)
{
    json_t *nics = json_array();

    for (unsigned i = 0; i < spec->n_nics; i++) {
        const struct vi_nic *n = &spec->nics[i];

        json_array_append_new(nics,
                              json_pack("{s:s, s:s, s:I, s:i, s:I}", "bridge", n->bridge, "ifname",
                                        n->ifname, "addr", (json_int_t)n->addr, "prefix_len",
                                        (int)n->prefix_len, "gateway", (json_int_t)n->gateway));
    }
    return json_pack("{s:s, s:s, s:O, s:O*, s:O*, s:b, s:I, s:I, s:I, s:I, s:b, s:o}", "id",
                     spec->id, "name", spec->name, "vdu", spec->vdu, "vars", spec->vars, "files",
                     spec->files, "fresh", spec->fresh, "vcpu_milli", (json_int_t)spec->vcpu_milli,
                     "memory_bytes", (json_int_t)spec->memory_bytes, "disk_bytes",
                     (json_int_t)spec->disk_bytes, "uid", (json_int_t)spec->uid, "admin_vnfd",
                     spec->admin_vnfd, "nics", nics);
}

static int copy(char *dst, size_t size, const json_t *j, const char *key, char *why, size_t len)
{
    const char *s = jv_str(j, key, NULL);

    if (!s || strlen(s) >= size) {
        snprintf(why, len, "%s: expected a string shorter than %zu", key, size);
        return -EINVAL;
    }
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int wire_spec_parse(const json_t *j, struct vi_spec *spec, char *why, size_t len)
{
    const json_t *nics = json_object_get(j, "nics"), *n;
    size_t i;

    memset(spec, 0, sizeof(*spec));
    if (copy(spec->id, sizeof(spec->id), j, "id", why, len) ||
        copy(spec->name, sizeof(spec->name), j, "name", why, len))
        return -EINVAL;
    spec->vdu = json_object_get(j, "vdu");
    spec->vars = json_object_get(j, "vars");
    spec->files = json_object_get(j, "files");
    if (!json_is_object(spec->vdu) || (spec->files && !json_is_array(spec->files)) ||
        json_array_size(nics) > VIM_MAX_NICS) {
        snprintf(why, len, "spec %s: vdu, files or nics malformed", spec->id);
        return -EINVAL;
    }
    spec->fresh = jv_bool(j, "fresh", 0);
    spec->vcpu_milli = (unsigned)jv_int(j, "vcpu_milli", 0);
    spec->memory_bytes = (uint64_t)jv_int(j, "memory_bytes", 0);
    spec->disk_bytes = (uint64_t)jv_int(j, "disk_bytes", 0);
    spec->uid = (uid_t)jv_int(j, "uid", 0);
    spec->admin_vnfd = jv_bool(j, "admin_vnfd", 0);
    json_array_foreach(nics, i, n)
    {
        struct vi_nic *x = &spec->nics[i];

        if (copy(x->bridge, sizeof(x->bridge), n, "bridge", why, len) ||
            copy(x->ifname, sizeof(x->ifname), n, "ifname", why, len))
            return -EINVAL;
        x->addr = (uint32_t)jv_int(n, "addr", 0);
        x->prefix_len = (unsigned)jv_int(n, "prefix_len", 0);
        x->gateway = (uint32_t)jv_int(n, "gateway", 0);
    }
    spec->n_nics = (unsigned)json_array_size(nics);
    return 0;
}

json_t *wire_handle(const struct vi_handle *h)
{
    return json_pack("{s:s, s:O*}", "id", h->id, "ref", h->ref);
}

int wire_handle_parse(const json_t *j, struct vi_handle *h)
{
    const char *id = jv_str(j, "id", "");

    if (!*id || strlen(id) >= sizeof(h->id))
        return -EINVAL;
    memcpy(h->id, id, strlen(id) + 1);
    h->ref = json_object_get(j, "ref");
    return 0;
}

json_t *wire_out(const struct vi_out *out)
{
    json_t *addr = json_array();

    for (unsigned i = 0; i < VIM_MAX_NICS; i++)
        json_array_append_new(addr, json_integer((json_int_t)out->addr[i]));
    return json_pack("{s:O*, s:i, s:o}", "ref", out->ref, "pid", (int)out->pid, "addr", addr);
}

void wire_out_parse(const json_t *j, struct vi_out *out)
{
    const json_t *ref = json_object_get(j, "ref");

    memset(out, 0, sizeof(*out));
    out->ref = json_is_null(ref) || !ref ? NULL : json_deep_copy(ref);
    out->pid = (pid_t)jv_int(j, "pid", 0);
    for (unsigned i = 0; i < VIM_MAX_NICS; i++)
        out->addr[i] = (uint32_t)json_integer_value(json_array_get(json_object_get(j, "addr"), i));
}
