/* Site requests: a new site (POST /v0/sites), and the capacity and driver
 * options of a site while it runs (PUT /v0/sites/{id}). The driver of a
 * new site opens, and an open one takes new options, on a worker once the
 * change has committed (sites.c). */
#include "lcm/sites.h"
#include "lcm/svc_lcm.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int save(struct core *c, struct txn *t, json_t *doc)
{
    doc_touch(doc, "updated");
    if (store_put(c->st, STORE_SITE, doc) == 0)
        return 0;
    return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the site: %s",
                       store_errmsg(c->st));
}

static int bad_options(struct txn *t, const struct jv_error *err)
{
    return result_fail(&t->res, 400, err->reason, "field", err->field, "%s", err->message);
}

static void configure_after(struct core *c, void *arg)
{
    site_configure(c, arg);
}

/* Options are the driver's: checked against its table; one that cannot
 * take them while it runs refuses. */
static int site_options(struct core *c, struct txn *t, json_t *doc)
{
    const json_t *opts = json_object_get(t->body, "options");
    struct site_rt *s = site_get(c, t->args[0]);
    json_t *merged;
    struct jv_error err;

    if (!opts)
        return 0;
    if (!s || !s->ops || (s->vim && !s->ops->configure))
        return result_fail(&t->res, 409, "conflict", "field", "options",
                           "the VIM of site '%s' cannot change its options while it runs",
                           t->args[0]);
    merged = json_deep_copy(json_object_get(doc, "options"));
    json_object_update(merged, (json_t *)opts);
    if (site_check_options(s->ops, merged, &err)) {
        json_decref(merged);
        return bad_options(t, &err);
    }
    json_object_set_new(doc, "options", merged);
    core_after_commit(c, configure_after, xstrdup(t->args[0]), free);
    return 0;
}

void svc_site_update(struct core *c, struct txn *t)
{
    json_t *doc = core_load(c, STORE_SITE, t->args[0]), *cap,
           *want = json_object_get(t->body, "capacity");
    const struct site_rt *s = site_get(c, t->args[0]);
    struct store_usage u = {0};

    if (!doc) {
        result_not_found(&t->res, "site", t->args[0]);
        return;
    }
    if (!want && !json_object_get(t->body, "options")) {
        result_fail(&t->res, 400, "missing-field", "field", "capacity",
                    "give capacity, options or both");
        json_decref(doc);
        return;
    }
    if (!json_is_object(json_object_get(doc, "options")))
        json_object_set_new(doc, "options", json_object());
    cap = json_object_get(doc, "capacity");
    json_object_update(cap, want);
    store_site_usage(c->st, t->args[0], &u);
    if (s) {
        struct site_reserved held = site_held(&s->reserved, &s->others);

        u.vcpu += held.vcpu;
        u.memory_mb += held.memory_mb;
    }
    if (jv_num(cap, "vcpu", 0) < u.vcpu - 1e-9 || jv_int(cap, "memory_mb", 0) < u.memory_mb ||
        jv_int(cap, "disk_mb", 0) < u.disk_mb) {
        result_fail(&t->res, 409, "conflict", "field", "capacity",
                    "capacity would be below what the site's VIs%s hold (%.2f vCPU, %lld MB "
                    "memory, %lld MB disk)",
                    s && site_held(&s->reserved, &s->others).managers
                        ? " and the site's other managers"
                        : "",
                    u.vcpu, u.memory_mb, u.disk_mb);
    } else if (site_options(c, t, doc) == 0 && save(c, t, doc) == 0) {
        core_audit(c, &t->who, "site", t->args[0], "updated");
        result_ok(&t->res, 200, doc_public(doc));
    }
    json_decref(doc);
}

/* ---- a new site ---- */

/* Whether the subnets of two sites share an address. */
static bool overlaps(uint32_t a, unsigned alen, uint32_t b, unsigned blen)
{
    unsigned len = alen < blen ? alen : blen;

    return (a & ip4_mask(len)) == (b & ip4_mask(len));
}

/* A VIM_ADDR_SITE site's subnet (no other site's), gateway and bridge
 * (vb + tag + the lowest number no other site has). */
static int new_network(struct core *c, struct txn *t, json_t *doc)
{
    const char *subnet = jv_str(t->body, "subnet", NULL);
    char bridge[16], gw[IP4_STR_MAX];
    uint32_t net, onet;
    unsigned plen, olen, index = 0;
    json_t *sites, *o;
    size_t i;
    bool taken;

    if (!subnet)
        return result_fail(&t->res, 400, "missing-field", "field", "subnet",
                           "the %s VIM takes its VIs' addresses from the site's subnet: give one",
                           doc_str(doc, "driver"));
    if (cidr_parse(subnet, &net, &plen))
        return result_fail(&t->res, 400, "invalid-value", "field", "subnet",
                           "subnet: '%s' is not an IPv4 network (a.b.c.0/8..30)", subnet);
    if (store_list(c->st, STORE_SITE, NULL, &sites))
        return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot read the sites");
    do {
        snprintf(bridge, sizeof(bridge), "vb%s%u", c->tag, index++);
        taken = false;
        json_array_foreach(sites, i, o)
        {
            taken = taken || strcmp(jv_str(o, "bridge", ""), bridge) == 0;
            if (cidr_parse(jv_str(o, "subnet", ""), &onet, &olen) == 0 &&
                overlaps(net, plen, onet, olen)) {
                json_decref(sites);
                return result_fail(&t->res, 409, "conflict", "field", "subnet",
                                   "subnet %s overlaps site '%s' (%s)", subnet, doc_str(o, "id"),
                                   doc_str(o, "subnet"));
            }
        }
    } while (taken && index < 100);
    json_decref(sites);
    json_object_set_new(doc, "subnet", json_string(subnet));
    json_object_set_new(doc, "gateway", json_string(ip4_fmt(net + 1, gw)));
    json_object_set_new(doc, "bridge", json_string(bridge));
    return 0;
}

static void add_after(struct core *c, void *arg)
{
    site_add(c, arg);
}

void svc_site_create(struct core *c, struct txn *t)
{
    const char *id = jv_str(t->body, "id", ""), *driver = jv_str(t->body, "driver", "");
    const struct vim_ops *ops = vim_driver_find(driver);
    const json_t *opts = json_object_get(t->body, "options");
    struct site_info info = {.health = "opening"};
    struct jv_error err;
    json_t *doc = core_load(c, STORE_SITE, id);

    if (doc) {
        result_fail(&t->res, 409, "conflict", "field", "id", "site '%s' already exists", id);
        goto out;
    }
    if (!ops) {
        result_fail(&t->res, 400, "invalid-value", "field", "driver", "driver: no VIM driver '%s'",
                    driver);
        goto out;
    }
    if (ops->addressing != VIM_ADDR_SITE && json_object_get(t->body, "subnet")) {
        result_fail(&t->res, 400, "invalid-value", "field", "subnet",
                    "subnet: the %s VIM gives its VIs their addresses", ops->name);
        goto out;
    }
    doc = json_pack("{s:s, s:s, s:O, s:o}", "id", id, "driver", ops->name, "capacity",
                    json_object_get(t->body, "capacity"), "options",
                    opts ? json_deep_copy(opts) : json_object());
    if (site_check_options(ops, json_object_get(doc, "options"), &err)) {
        bad_options(t, &err);
        goto out;
    }
    if (ops->addressing == VIM_ADDR_SITE && new_network(c, t, doc))
        goto out;
    doc_touch(doc, "created");
    if (save(c, t, doc))
        goto out;
    core_audit(c, &t->who, "site", id, "created");
    core_after_commit(c, add_after, json_incref(doc), (void (*)(void *))json_decref);
    snprintf(t->res.location, sizeof(t->res.location), "/v0/sites/%s", id);
    snprintf(info.health_msg, sizeof(info.health_msg), "opening the %s VIM", ops->name);
    result_ok(&t->res, 201, site_view(c->st, doc, &info));
out:
    json_decref(doc);
}
