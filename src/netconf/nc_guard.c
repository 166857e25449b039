/* A guard in front of libyang's parser of NETCONF messages.
 *
 * libyang 2.1.30 (Debian 12) dereferences NULL when a message holds two
 * sibling elements of the same name in no namespace (xmlns=""), e.g.
 * <config><a xmlns=""/><a xmlns=""/></config>: any NETCONF user, a tenant
 * included, could stop the manager with one edit-config (found by
 * fuzz/fuzz_netconf.c). libnetconf2 parses each <rpc> with lyd_parse_op()
 * before our handlers run, so this file defines lyd_parse_op() itself: the
 * executable's definition is the one libnetconf2 binds to. It reads the
 * message with libxml2 first and refuses one that is not well-formed or
 * has an element in no namespace (YANG data always has one, so nothing
 * valid is lost), then calls libyang's own. The client gets libnetconf2's
 * answer to a message that does not parse. */
#include "netconf/nc_internal.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

typedef LY_ERR (*parse_op_fn)(const struct ly_ctx *ctx, struct lyd_node *parent, struct ly_in *in,
                              LYD_FORMAT format, enum lyd_type data_type, struct lyd_node **tree,
                              struct lyd_node **op);

static parse_op_fn real_parse_op;

/* Every element has a namespace (libxml2 limits the depth to 256). */
static bool qualified(const xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            (!n->ns || !n->ns->href || !*n->ns->href || !qualified(n->children)))
            return false;
    return true;
}

static bool safe(const char *text)
{
    xmlDocPtr doc = xmlReadMemory(text, (int)strnlen(text, INT32_MAX), NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    bool ok = doc && qualified(xmlDocGetRootElement(doc));

    xmlFreeDoc(doc);
    return ok;
}

int nc_guard_init(void)
{
    real_parse_op = (parse_op_fn)dlsym(RTLD_NEXT, "lyd_parse_op");
    return real_parse_op ? 0 : -ENOSYS;
}

LY_ERR lyd_parse_op(const struct ly_ctx *ctx, struct lyd_node *parent, struct ly_in *in,
                    LYD_FORMAT format, enum lyd_type data_type, struct lyd_node **tree,
                    struct lyd_node **op)
{
    if (!real_parse_op && nc_guard_init())
        return LY_EINT;
    if (format == LYD_XML && in && ly_in_type(in) == LY_IN_MEMORY && !safe(ly_in_memory(in, NULL)))
        return LY_EVALID;
    return real_parse_op(ctx, parent, in, format, data_type, tree, op);
}
