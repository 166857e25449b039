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
 * kill -9 between a commit and the table is mended at the next start).
 *
 * The instances in the cloud behind a local endpoint (a burst) answer
 * over the WAN: each is checked every CHECK_MS (a TCP connect from here,
 * answered within CHECK_MS), and one that failed CHECK_DOWN checks in a
 * row leaves the kernel's table until it passes one; so a cut WAN, or an
 * instance that died, costs the clients about CHECK_MS * CHECK_DOWN of
 * new connections sent to it, not the report timeout. */
#include "fed/fed_internal.h"
#include "lcm/svc_lcm.h"
#include "core/states.h"
#include "core/wpool.h"
#include "lcm/sites.h"
#include "vim/endpoint.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define META_EP    "fed_endpoints"
#define PORT_MIN   20000
#define PORT_MAX   29999
#define CHECK_MS   200
#define CHECK_DOWN 2

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

const char *fed_endpoint_address(struct core *c)
{
    const char *a = c->cfg->service_address ? c->cfg->service_address : c->cfg->listen_host;
    struct in_addr in;

    if (!a || inet_pton(AF_INET, a, &in) != 1 || in.s_addr == INADDR_ANY ||
        (ntohl(in.s_addr) >> 24) == 127)
        return NULL;
    return a;
}

/* Whether the instance of a burst at backend (IP:PORT) is out: the cloud
 * unreachable, or its last CHECK_DOWN checks failed. */
static bool away(const struct fed *f, const json_t *backend)
{
    return !f->connected ||
           json_integer_value(json_object_get(f->ep_fails, json_string_value(backend))) >=
               CHECK_DOWN;
}

/* backends without those of burst that are away (a new reference). */
static json_t *without_away(const struct fed *f, const json_t *backends, const json_t *burst)
{
    json_t *keep = json_array(), *b, *x;
    size_t i, k;

    json_array_foreach(backends, i, b)
    {
        bool out = false;

        json_array_foreach(burst, k, x)
        {
            out = out || (json_equal(b, x) && away(f, x));
        }
        if (!out)
            json_array_append(keep, b);
    }
    return keep;
}

/* What the kernel gets of the endpoints in doc: those with a burst leave
 * its instances out while they are away (the cloud unreachable: no report
 * gets through; or their checks failed): their share of the new
 * connections would fail. They stay in the store and come back with the
 * first report that gets through (fed_endpoint_wan) or check that passes.
 * A new reference. */
static json_t *reachable(struct core *c, const json_t *doc)
{
    json_t *out = json_deep_copy(doc), *ep;
    const char *id;

    if (!c->fed)
        return out;
    json_object_foreach(out, id, ep)
    {
        const json_t *burst = json_object_get(ep, "burst");

        if (!json_array_size(burst))
            continue;
        json_object_set_new(ep, "backends",
                            without_away(c->fed, json_object_get(ep, "backends"), burst));
        json_object_set_new(ep, "masquerade", without_away(c->fed, burst, burst));
    }
    return out;
}

/* ---- the endpoints of VIs another host runs ---- */

/* A site whose VIs another host runs (the agent of a branch whose manager
 * moved to the cloud, relocate.c) has its endpoints there: the driver
 * sets them, on the provisioning pool, the latest doc at a time; one that
 * failed (no agent yet) is sent again at the next report interval
 * (fed_endpoint_retry). Unlike this host's table, which changes before the
 * jobs of the transaction start, theirs follows a round trip later. */
struct ep_remote {
    struct wjob w;
    struct core *c;
    const struct vim_ops *ops;
    void *vim;
    json_t *doc;
    int r;
    struct vim_err err;
};

static void remote_send(struct core *c);

static void remote_work(struct wjob *w)
{
    struct ep_remote *j = (struct ep_remote *)w;

    j->r = w->cancelled ? -ECANCELED : j->ops->endpoints(j->vim, j->doc, &j->err);
}

static void remote_done(struct wjob *w)
{
    struct ep_remote *j = (struct ep_remote *)w;
    struct fed *f = j->c->fed;

    f->ep_remote_busy = false;
    if (j->r && !f->ep_remote_doc) { /* sent again later, unless a newer one is waiting */
        f->ep_remote_doc = json_incref(j->doc);
        if (!f->ep_remote_failed)
            log_warn("fed: the service endpoints cannot be set at the site's host: %s (tried "
                     "again)",
                     j->err.msg);
    } else if (!j->r) {
        log_debug("fed: %zu service endpoints set at the site's host", json_object_size(j->doc));
    }
    f->ep_remote_failed = j->r != 0;
    json_decref(j->doc);
    free(j);
    if (!f->ep_remote_failed)
        remote_send(f->c);
}

static void remote_send(struct core *c)
{
    struct fed *f = c->fed;
    struct site_rt *s = site_get(c, c->cfg->site);
    struct ep_remote *j;

    if (f->ep_remote_busy || !f->ep_remote_doc || !s || !s->vim || !s->ops->endpoints)
        return;
    j = xcalloc(1, sizeof(*j));
    j->w.work = remote_work;
    j->w.done = remote_done;
    j->c = c;
    j->ops = s->ops;
    j->vim = s->vim;
    j->doc = f->ep_remote_doc;
    f->ep_remote_doc = NULL;
    f->ep_remote_busy = true;
    wpool_submit(c->prov, &j->w);
}

void fed_endpoint_retry(struct core *c)
{
    if (c->fed && c->fed->ep_remote_doc)
        remote_send(c);
}

static void kernel_apply(struct core *c, void *arg)
{
    json_t *doc = reachable(c, arg);
    struct site_rt *s = site_get(c, c->cfg->site);
    char err[512];

    if (c->fed && c->fed->ep_timer_on && c->fed->ep_doc != arg) { /* what the checks look at */
        json_decref(c->fed->ep_doc);
        c->fed->ep_doc = json_incref(arg);
    }
    if (c->fed && s && s->ops->endpoints) {
        json_decref(c->fed->ep_remote_doc);
        c->fed->ep_remote_doc = doc;
        remote_send(c);
        return;
    }
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

/* Writes doc into the store; the kernel follows after the commit, before
 * the transaction's jobs start (a VI stopped by one is out of it first). */
static void ep_save(struct core *c, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

    if (store_meta_set(c->st, META_EP, text))
        log_warn("fed: cannot write the service endpoints: %s", store_errmsg(c->st));
    free(text);
    core_after_commit_first(c, kernel_apply, json_incref(doc), json_free_arg);
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
    ep = json_pack("{s:s, s:I, s:s, s:I, s:[]}", "address", fed_endpoint_address(c), "port",
                   (json_int_t)port, "mode", "local", "target_port", (json_int_t)target_port,
                   "backends");
    json_object_set_new(doc, id, ep);
    return ep;
}

void fed_endpoint_refresh(struct core *c, const char *id)
{
    json_t *doc, *was, *dep, *ep;
    long long port;

    if (!fed_endpoint_address(c) || !id)
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

    if (!fed_endpoint_address(c)) {
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

static void checks_start(struct core *c);

void fed_endpoint_start(struct core *c)
{
    json_t *doc = ep_load(c);

    if (json_object_size(doc) > 0 || fed_endpoint_address(c)) {
        checks_start(c);
        kernel_apply(c, doc);
    }
    json_decref(doc);
}

void fed_endpoint_wan(struct core *c)
{
    json_t *doc = ep_load(c);

    if (json_object_size(doc) > 0)
        kernel_apply(c, doc);
    json_decref(doc);
}

/* ---- the checks of the instances in the cloud ---- */

struct ep_probe {
    uv_tcp_t tcp;
    uv_connect_t req;
    struct fed *f; /* NULL once the checks stopped */
    struct ep_probe *next;
    char backend[64];
    bool done; /* counted: answered, refused or timed out */
};

static void probe_free(uv_handle_t *h)
{
    struct ep_probe *p = h->data, **pp;

    for (pp = p->f ? &p->f->ep_probes : NULL; pp && *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    free(p);
}

/* One check's result: whether the instance went away or came back. */
static bool check_result(struct fed *f, const char *backend, bool ok)
{
    json_int_t n = json_integer_value(json_object_get(f->ep_fails, backend));

    json_object_set_new(f->ep_fails, backend, json_integer(ok ? 0 : n + 1));
    if (ok && n >= CHECK_DOWN)
        log_info("fed: the instance in the cloud at %s answers again: back behind its endpoint",
                 backend);
    else if (!ok && n + 1 == CHECK_DOWN)
        log_warn("fed: the instance in the cloud at %s did not answer %d checks: out of its "
                 "endpoint until it does",
                 backend, CHECK_DOWN);
    return ok ? n >= CHECK_DOWN : n + 1 == CHECK_DOWN;
}

static void probe_done(uv_connect_t *req, int status)
{
    struct ep_probe *p = req->data;

    if (p->done || !p->f) /* timed out, or the checks stopped: closed already */
        return;
    p->done = true;
    if (check_result(p->f, p->backend, status == 0) && p->f->ep_doc)
        kernel_apply(p->f->c, p->f->ep_doc);
    uv_close((uv_handle_t *)&p->tcp, probe_free);
}

/* Whether the instance went away at once (a connect refused on the spot). */
static bool probe_start(struct fed *f, const char *backend)
{
    struct ep_probe *p = xcalloc(1, sizeof(*p));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char ip[16];
    unsigned port;

    if (sscanf(backend, "%15[0-9.]:%u", ip, &port) != 2 || port > 65535 ||
        inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        free(p);
        return false;
    }
    sa.sin_port = htons((uint16_t)port);
    snprintf(p->backend, sizeof(p->backend), "%s", backend);
    p->f = f;
    p->tcp.data = p->req.data = p;
    if (uv_tcp_init(f->c->loop, &p->tcp)) {
        free(p);
        return false;
    }
    p->next = f->ep_probes;
    f->ep_probes = p;
    if (uv_tcp_connect(&p->req, &p->tcp, (const struct sockaddr *)&sa, probe_done) == 0)
        return false;
    p->done = true;
    uv_close((uv_handle_t *)&p->tcp, probe_free);
    return check_result(f, backend, false);
}

/* Every CHECK_MS: a check not answered since the last tick failed; each
 * instance of a burst gets a new one (none while the cloud is
 * unreachable: they are all out). */
static void on_check(uv_timer_t *t)
{
    struct fed *f = t->data;
    struct ep_probe *p;
    json_t *ep, *b, *seen = json_object();
    const char *id, *key;
    void *tmp;
    bool changed = false;
    size_t i;

    for (p = f->ep_probes; p; p = p->next)
        if (!p->done) {
            p->done = true;
            changed |= check_result(f, p->backend, false);
            uv_close((uv_handle_t *)&p->tcp, probe_free);
        }
    json_object_foreach(f->connected ? f->ep_doc : NULL, id, ep)
    {
        json_array_foreach(json_object_get(ep, "burst"), i, b)
        {
            if (json_is_string(b) && !json_object_get(seen, json_string_value(b))) {
                json_object_set_new(seen, json_string_value(b), json_true());
                changed |= probe_start(f, json_string_value(b));
            }
        }
    }
    json_object_foreach_safe(f->ep_fails, tmp, key, b) /* forget those no longer behind one */
    {
        if (!json_object_get(seen, key) && f->connected)
            json_object_del(f->ep_fails, key);
    }
    json_decref(seen);
    if (changed && f->ep_doc)
        kernel_apply(f->c, f->ep_doc);
}

static void checks_start(struct core *c)
{
    struct fed *f = c->fed;

    if (!f || f->ep_timer_on)
        return;
    f->ep_fails = json_object();
    uv_timer_init(c->loop, &f->ep_timer);
    f->ep_timer.data = f;
    f->ep_timer_on = true;
    uv_timer_start(&f->ep_timer, on_check, CHECK_MS, CHECK_MS);
}

void fed_endpoint_stop(struct core *c)
{
    struct fed *f = c->fed;
    struct ep_probe *p;

    if (!f || !f->ep_timer_on)
        return;
    uv_timer_stop(&f->ep_timer);
    fed_close(f, (uv_handle_t *)&f->ep_timer);
    f->ep_timer_on = false;
    for (p = f->ep_probes; p; p = p->next) {
        p->f = NULL;
        if (!p->done)
            uv_close((uv_handle_t *)&p->tcp, probe_free);
        p->done = true;
    }
    f->ep_probes = NULL;
    json_decref(f->ep_fails);
    f->ep_fails = NULL;
    json_decref(f->ep_doc);
    json_decref(f->ep_remote_doc);
    f->ep_remote_doc = NULL;
    f->ep_doc = NULL;
}
