/* The service endpoints of a branch manager (docs/FEDERATION.md "The
 * service endpoint"): a stable IP:PORT per service, which the kernel
 * forwards (nftables DNAT, vim/endpoint.c) to where the service runs now:
 * its VIs here (mode "local", kept in step with them after every
 * lifecycle operation), or what the cloud's instruction "endpoint" named
 * (mode "remote": a clone in the cloud, reached over the WAN link). The
 * address is --service-address, else the --listen address when it is one
 * of this host's (not a wildcard, not loopback); without one there are no
 * endpoints. Ports are taken from 20000-29999, below the kernel's
 * ephemeral range.
 *
 * The endpoints are in the store (meta fed_endpoints), written in the
 * transaction of the change; the kernel's table follows once it has
 * committed, and again at every start (it survives a restart, and a
 * kill -9 between a commit and the table is mended at the next start). */
#include "fed/fed_internal.h"
#include "lcm/svc_lcm.h"
#include "core/states.h"
#include "vim/endpoint.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <string.h>

#define META_EP  "fed_endpoints"
#define PORT_MIN 20000
#define PORT_MAX 29999

/* {deployment: {"address", "port", "mode", "target_port", "backends"}} */
static json_t *ep_load(struct core *c)
{
    char *text = NULL;
    json_t *doc = NULL;

    if (store_meta_get(c->st, META_EP, &text) == 0)
        doc = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    return doc;
}

/* The address endpoints listen on, or NULL. */
static const char *ep_address(struct core *c)
{
    const char *a = c->cfg->service_address ? c->cfg->service_address : c->cfg->listen_host;
    struct in_addr in;

    if (!a || inet_pton(AF_INET, a, &in) != 1 || in.s_addr == INADDR_ANY ||
        (ntohl(in.s_addr) >> 24) == 127)
        return NULL;
    return a;
}

/* What the kernel gets of the endpoints in doc: while the cloud is
 * unreachable (no report gets through), those with a burst leave its
 * instances out (the WAN they answer over is down: their share of the new
 * connections would fail); they stay in the store and come back with the
 * first report that gets through (fed_endpoint_wan). A new reference. */
static json_t *reachable(struct core *c, const json_t *doc)
{
    json_t *out = json_deep_copy(doc), *ep, *b;
    const char *id;
    size_t i;

    if (!c->fed || c->fed->connected)
        return out;
    json_object_foreach(out, id, ep)
    {
        const json_t *burst = json_object_get(ep, "burst"), *x;
        json_t *keep = json_array();
        size_t k;

        json_array_foreach(json_object_get(ep, "backends"), i, b)
        {
            bool away = false;

            json_array_foreach(burst, k, x)
            {
                away = away || json_equal(b, x);
            }
            if (!away)
                json_array_append(keep, b);
        }
        json_object_set_new(ep, "backends", keep);
        if (json_array_size(burst))
            json_object_set_new(ep, "masquerade", json_false());
    }
    return out;
}

static void kernel_apply(struct core *c, void *arg)
{
    json_t *doc = reachable(c, arg);
    char err[512];

    if (ep_apply(c->tag, doc, err, sizeof(err)))
        log_error("fed: the service endpoints cannot be set: %s", err);
    else
        log_debug("fed: %zu service endpoints set", json_object_size(doc));
    json_decref(doc);
}

static void json_free_arg(void *arg)
{
    json_decref(arg);
}

/* Writes doc into the store; the kernel follows after the commit. */
static void ep_save(struct core *c, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

    if (store_meta_set(c->st, META_EP, text))
        log_warn("fed: cannot write the service endpoints: %s", store_errmsg(c->st));
    free(text);
    core_after_commit(c, kernel_apply, json_incref(doc), json_free_arg);
}

static long long free_port(const json_t *doc)
{
    for (long long p = PORT_MIN; p <= PORT_MAX; p++) {
        const char *k;
        json_t *ep;
        bool used = false;

        json_object_foreach((json_t *)doc, k, ep)
        {
            used = used || jv_int(ep, "port", 0) == p;
        }
        if (!used)
            return p;
    }
    return 0;
}

json_t *fed_backends(struct core *c, const char *id, long long port)
{
    json_t *dep = core_load(c, STORE_DEPLOYMENT, id), *vnfd = dep ? fed_descriptor(c, dep) : NULL;
    json_t *vis = svc_vi_list(c, id), *out = json_array(), *vi;
    long long ignored;
    const char *vdu = jv_str(fed_service_vdu(vnfd, &ignored), "id", NULL);
    size_t i;

    json_array_foreach(vis, i, vi)
    {
        if (vi_serving(vi) && (!vdu || strcmp(jv_str(vi, "vdu", ""), vdu) == 0))
            json_array_append_new(out, json_sprintf("%s:%lld", doc_str(vi, "ip"), port));
    }
    json_decref(vis);
    json_decref(vnfd);
    json_decref(dep);
    return out;
}

/* A local endpoint's backends: the serving VIs of id here, and the
 * instances in the cloud its burst added ("burst": docs/FEDERATION.md
 * "Bursting into the cloud"), whose flows alone are masqueraded (they
 * answer over the WAN link). */
static void local_backends(struct core *c, const char *id, json_t *ep)
{
    json_t *b = fed_backends(c, id, jv_int(ep, "target_port", 0)),
           *burst = json_object_get(ep, "burst");

    json_array_extend(b, burst);
    json_object_set_new(ep, "backends", b);
    json_object_set_new(ep, "masquerade",
                        json_array_size(burst) ? json_deep_copy(burst) : json_false());
}

/* The endpoint of id in doc, made when missing (NULL: no port left). */
static json_t *ensure(struct core *c, json_t *doc, const char *id, long long target_port)
{
    json_t *ep = json_object_get(doc, id);
    long long port;

    if (ep)
        return ep;
    if (!(port = free_port(doc)))
        return NULL;
    ep = json_pack("{s:s, s:I, s:s, s:I, s:[]}", "address", ep_address(c), "port", (json_int_t)port,
                   "mode", "local", "target_port", (json_int_t)target_port, "backends");
    json_object_set_new(doc, id, ep);
    return ep;
}

void fed_endpoint_refresh(struct core *c, const char *id)
{
    json_t *doc, *was, *dep, *ep;
    long long port;

    if (!ep_address(c) || !id)
        return;
    doc = ep_load(c);
    was = json_deep_copy(doc);
    dep = core_load(c, STORE_DEPLOYMENT, id);
    port = fed_service_port(json_object_get(dep, "_descriptor"));
    ep = json_object_get(doc, id);
    if (!dep && ep && strcmp(jv_str(ep, "mode", ""), "local") == 0)
        json_object_del(doc, id); /* removed with its deployment */
    else if (dep && port > 0 && (ep = ensure(c, doc, id, port)) &&
             strcmp(jv_str(ep, "mode", ""), "local") == 0)
        local_backends(c, id, ep);
    if (!json_equal(doc, was))
        ep_save(c, doc);
    json_decref(dep);
    json_decref(was);
    json_decref(doc);
}

/* The instruction "endpoint" {mode: local|remote, backends?, burst?, port,
 * remove?} about t->args[0]: backends are those of a remote one (a clone in
 * the cloud); burst the instances in the cloud a local one adds to its VIs
 * (kept until an instruction changes them; a remote one has none). */
void fed_endpoint_apply(struct core *c, struct txn *t)
{
    const char *id = t->args[0] ? t->args[0] : "", *mode = jv_str(t->body, "mode", "local");
    long long port = jv_int(t->body, "port", 0);
    json_t *doc, *ep, *dep;

    if (!ep_address(c)) {
        result_fail(&t->res, 409, "conflict", "field", "service_address",
                    "this branch manager has no service address for endpoints "
                    "(--service-address)");
        return;
    }
    doc = ep_load(c);
    if (jv_bool(t->body, "remove", 0)) {
        json_object_del(doc, id);
        ep_save(c, doc);
        result_ok(&t->res, 200, json_pack("{s:s}", "deployment", id));
        json_decref(doc);
        return;
    }
    dep = core_load(c, STORE_DEPLOYMENT, id);
    if (strcmp(mode, "local") == 0 && !dep) {
        result_fail(&t->res, 409, "conflict", "object", id,
                    "no deployment '%s' here for its endpoint to point at", id);
    } else if (!(ep = ensure(c, doc, id, port))) {
        result_fail(&t->res, 409, "insufficient-capacity", "field", "port",
                    "no endpoint port is left (%d-%d)", PORT_MIN, PORT_MAX);
    } else {
        const json_t *burst = json_object_get(t->body, "burst");

        json_object_set_new(ep, "mode", json_string(mode));
        if (port > 0)
            json_object_set_new(ep, "target_port", json_integer(port));
        if (strcmp(mode, "local") == 0 && json_array_size(burst))
            json_object_set_new(ep, "burst", json_deep_copy(burst));
        else if (strcmp(mode, "local") || burst) /* a remote one has none */
            json_object_del(ep, "burst");
        if (strcmp(mode, "local") == 0) {
            local_backends(c, id, ep);
        } else { /* a backend across the WAN answers through it (vim/endpoint.h) */
            json_object_set_new(ep, "masquerade", json_true());
            json_object_set_new(ep, "backends",
                                json_deep_copy(json_object_get(t->body, "backends")));
        }
        char *addr =
            xasprintf("%s:%lld", jv_str(ep, "address", ""), (long long)jv_int(ep, "port", 0));

        ep_save(c, doc);
        result_ok(&t->res, 200,
                  json_pack("{s:s, s:s, s:O}", "deployment", id, "service_endpoint", addr,
                            "backends", json_object_get(ep, "backends")));
        log_info("fed: the endpoint %s of %s points at %zu backends (%s)", addr, id,
                 json_array_size(json_object_get(ep, "backends")), mode);
        free(addr);
    }
    json_decref(dep);
    json_decref(doc);
}

json_t *fed_endpoints(struct core *c)
{
    return ep_load(c);
}

bool fed_endpoint_of(const json_t *endpoints, const char *id, char *out, size_t len)
{
    const json_t *ep = json_object_get(endpoints, id);

    if (ep)
        snprintf(out, len, "%s:%lld", jv_str(ep, "address", ""), (long long)jv_int(ep, "port", 0));
    return ep != NULL;
}

void fed_endpoint_start(struct core *c)
{
    json_t *doc = ep_load(c);

    if (json_object_size(doc) > 0 || ep_address(c))
        kernel_apply(c, doc);
    json_decref(doc);
}

void fed_endpoint_wan(struct core *c)
{
    json_t *doc = ep_load(c);

    if (json_object_size(doc) > 0)
        kernel_apply(c, doc);
    json_decref(doc);
}
