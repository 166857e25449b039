/* libFuzzer target of NETCONF content (src/netconf/nc_edit.c): the
 * <config> of an edit-config, parsed by libyang against our modules as
 * libnetconf2 parses an <rpc>, then checked and turned into requests by
 * nce_edit() as the server does. The server's own services (netconf.c:
 * the transactor, the lock, the store handle) are stood in for here: the
 * requests are answered by a fake transactor that fails some of them,
 * reads use a seeded store. The first byte of the input chooses
 * default-operation, test-option, error-option and the user (admin or a
 * tenant); the rest is the content of <config>. */
#include "core/txq.h"
#include "fuzz/fuzz.h"
#include "netconf/nc_internal.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern const char nc_yang_vnfm[];
extern const char nc_yang_esc_compat[];

struct netconf {
    struct ly_ctx *ctx;
};

static struct netconf srv;

/* ---- the server's services, stood in for (netconf.c) ---- */

struct ly_ctx *nc_ctx(struct netconf *n)
{
    return n->ctx;
}

struct store *nc_store(struct netconf *n)
{
    (void)n;
    return fuzz_store();
}

void nc_mark_compat(struct netconf *n, const char *object)
{
    (void)n;
    (void)object;
}

int nc_lock_check(struct netconf *n, uint32_t sid, uint32_t *holder)
{
    (void)n;
    (void)sid;
    *holder = 0;
    return 0;
}

int nc_fail(struct nc_error *e, NC_ERR tag, NC_ERR_TYPE type, const char *path, const char *fmt,
            ...)
{
    va_list ap;

    memset(e, 0, sizeof(*e));
    e->tag = tag;
    e->type = type;
    snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

struct lyd_node *nc_error_node(const struct ly_ctx *ctx, const struct nc_error *e)
{
    (void)ctx;
    (void)e;
    return NULL;
}

/* A request's answer: most succeed; the name and id decide which fail and
 * how, naming the body's first field as REST errors do. */
static void fake_apply(struct txn *t)
{
    static const int statuses[] = {200, 201, 202, 400, 404, 409, 409, 413, 503};
    unsigned h = 0;
    const char *field = json_object_iter_key(json_object_iter(t->body));

    for (const char *p = t->name; *p; p++)
        h = h * 31 + (unsigned char)*p;
    for (const char *p = t->args[0] ? t->args[0] : ""; *p; p++)
        h = h * 31 + (unsigned char)*p;
    h %= 2 * sizeof(statuses) / sizeof(statuses[0]);
    if (h >= sizeof(statuses) / sizeof(statuses[0]) || statuses[h] < 400) {
        result_ok(&t->res, 200, json_object());
        return;
    }
    result_fail(&t->res, statuses[h], h == 3 ? "unknown-field" : "conflict", field ? "field" : NULL,
                field, "%s refused%s", t->name, h == 5 ? ": already exists" : "");
}

int nc_submit(struct netconf *n, struct txn *t, struct result *res, long *failed_part)
{
    (void)n;
    if (t->n_parts) {
        for (size_t i = 0; i < t->n_parts; i++) {
            fake_apply(t->parts[i]);
            if (t->parts[i]->res.status >= 400) {
                t->failed_part = (long)i;
                t->res.status = t->parts[i]->res.status;
                t->res.body = json_incref(t->parts[i]->res.body);
                break;
            }
        }
        if (!t->res.status)
            result_ok(&t->res, 200, NULL);
    } else {
        fake_apply(t);
    }
    *res = t->res;
    memset(&t->res, 0, sizeof(t->res));
    if (failed_part)
        *failed_part = t->failed_part;
    txn_free(t);
    return 0;
}

/* ---- the modules, as netconf.c loads them ---- */

static void init(void)
{
    static const char *const features[] = {"writable-running", "validate", "rollback-on-error",
                                           NULL};

    if (srv.ctx)
        return;
    if (ly_ctx_new("/usr/share/yuma/modules/ietf", 0, &srv.ctx) ||
        !ly_ctx_load_module(srv.ctx, "ietf-netconf", NULL, (const char **)features) ||
        lys_parse_mem(srv.ctx, nc_yang_vnfm, LYS_IN_YANG, NULL) ||
        lys_parse_mem(srv.ctx, nc_yang_esc_compat, LYS_IN_YANG, NULL))
        abort();
    ly_log_options(0); /* parse errors are the point here */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const dflt[] = {"merge", "replace", "none", "merge"};
    struct ncs s = {.srv = &srv, .id = 1};
    struct lyd_node *envp = NULL, *op = NULL, *cfg = NULL;
    struct nc_error *errs = NULL;
    struct ly_in *in = NULL;
    char *msg;

    if (size < 1)
        return 0;
    init();
    s.who.admin = !(data[0] & 0x40);
    if (!s.who.admin)
        snprintf(s.who.tenant, sizeof(s.who.tenant), "acme");
    msg = xasprintf("<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">"
                    "<edit-config><target><running/></target><config>%.*s</config>"
                    "</edit-config></rpc>",
                    (int)size - 1, (const char *)data + 1);
    if (ly_in_new_memory(msg, &in) == LY_SUCCESS &&
        lyd_parse_op(srv.ctx, NULL, in, LYD_XML, LYD_TYPE_RPC_NETCONF, &envp, &op) == LY_SUCCESS &&
        op && lyd_find_path(op, "config", 0, &cfg) == LY_SUCCESS &&
        ((struct lyd_node_any *)cfg)->value_type == LYD_ANYDATA_DATATREE &&
        ((struct lyd_node_any *)cfg)->value.tree) {
        nce_edit(&s, ((struct lyd_node_any *)cfg)->value.tree, dflt[data[0] & 3],
                 data[0] & 4 ? NCE_TEST_ONLY : NCE_APPLY, (enum nce_errmode)((data[0] >> 3) % 3),
                 &errs);
        free(errs);
    }
    lyd_free_all(envp);
    lyd_free_all(op);
    ly_in_free(in, 0);
    free(msg);
    return 0;
}
