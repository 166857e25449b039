/* Service endpoints with nftables DNAT (endpoint.h). */
#include "vim/endpoint.h"
#include "util/sbuf.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The conntrack mark of the flows an endpoint translated: EP_MARK plus the
 * index of the backend its round robin chose. */
#define EP_MARK      0x7e9e0000u
#define EP_MARK_MASK 0xffff0000u

/* A backend "IP:PORT" split; false when it is not one. */
static bool backend(const json_t *b, char ip[16], unsigned *port)
{
    const char *s = json_string_value(b), *colon = s ? strrchr(s, ':') : NULL;
    char *end;
    unsigned long p;

    if (!colon || colon - s > 15 || strspn(s, "0123456789.:") != strlen(s))
        return false;
    p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return false;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    *port = (unsigned)p;
    return true;
}

static unsigned count(const json_t *backends)
{
    char ip[16];
    unsigned p, n = 0;
    size_t i;
    const json_t *b;

    json_array_foreach(backends, i, b)
    {
        n += backend(b, ip, &p);
    }
    return n;
}

/* The chain of endpoint k: to its backend, or to each in turn (numgen
 * writes the turn into the flow's mark, a rule per backend reads it).
 * Without a map on purpose: a lookup in the anonymous map of a table being
 * replaced misses now and then, and that connection goes untranslated,
 * i.e. refused (scripts/endpoint-swap-check; docs/FEDERATION.md). */
static void ep_chain(struct sbuf *s, size_t k, const json_t *backends)
{
    char ip[16];
    unsigned p, n = count(backends), turn = 0;
    size_t i;
    const json_t *b;

    if (n == 0)
        return;
    sbuf_addf(s, "  chain ep%zu {\n", k);
    if (n > 1)
        sbuf_addf(s, "    ct mark set numgen inc mod %u offset 0x%x\n", n, EP_MARK);
    json_array_foreach(backends, i, b)
    {
        if (!backend(b, ip, &p))
            continue;
        if (n == 1)
            sbuf_addf(s, "    ct mark set 0x%x", EP_MARK);
        else
            sbuf_addf(s, "    ct mark 0x%x", EP_MARK + turn++);
        sbuf_addf(s, " meta l4proto tcp dnat ip to %s:%u\n", ip, p);
    }
    sbuf_adds(s, "  }\n");
}

/* Whether endpoint ep is one ep_render writes (a malformed one is left out). */
static bool well_formed(const json_t *ep)
{
    const char *addr = json_string_value(json_object_get(ep, "address"));

    return addr && json_integer_value(json_object_get(ep, "port")) > 0 &&
           strspn(addr, "0123456789.") == strlen(addr);
}

/* Its rule in a base chain: to its chain, or a reset when it has no backend. */
static void ep_rule(struct sbuf *s, size_t k, const json_t *ep)
{
    sbuf_addf(s, "    ip daddr %s tcp dport %lld ",
              json_string_value(json_object_get(ep, "address")),
              (long long)json_integer_value(json_object_get(ep, "port")));
    if (count(json_object_get(ep, "backends")))
        sbuf_addf(s, "jump ep%zu\n", k);
    else
        sbuf_addf(s, "ct mark set 0x%x reject with tcp reset\n", EP_MARK);
}

/* Flows to the backends of endpoints that ask for it ("masquerade": true
 * for all of an endpoint's backends, or the list of those across the WAN)
 * leave with this host's address, so that replies come back the same way;
 * a backend at the site answers its client directly, through this
 * namespace (no translation of the source, which would also make its
 * tuples clash with direct clients'). A rule per address: no sets (see
 * ep_chain). */
static void masquerade(struct sbuf *s, const json_t *endpoints)
{
    const char *name;
    json_t *ep;
    const json_t *b, *which;
    char ip[16];
    unsigned p;
    size_t i;

    json_object_foreach((json_t *)endpoints, name, ep)
    {
        which = json_object_get(ep, "masquerade");
        if (json_is_true(which))
            which = json_object_get(ep, "backends");
        json_array_foreach(which, i, b)
        {
            if (backend(b, ip, &p))
                sbuf_addf(s, "    ct mark and 0x%x == 0x%x ip daddr %s masquerade\n", EP_MARK_MASK,
                          EP_MARK, ip);
        }
    }
}

char *ep_render(const char *tag, const json_t *endpoints)
{
    static const char *const hooks[][2] = {{"pre", "prerouting priority dstnat"},
                                           {"out", "output priority -100"}};
    struct sbuf s = {0};
    const char *name;
    json_t *ep;
    size_t k;

    /* create-then-delete makes the delete safe when the table is missing;
     * the whole buffer is one nftables transaction */
    sbuf_addf(&s, "table ip vnfm_ep_%s\ndelete table ip vnfm_ep_%s\n", tag, tag);
    if (json_object_size(endpoints) == 0)
        return sbuf_take(&s);
    sbuf_addf(&s, "table ip vnfm_ep_%s {\n", tag);
    k = 0;
    json_object_foreach((json_t *)endpoints, name, ep)
    {
        if (well_formed(ep))
            ep_chain(&s, k++, json_object_get(ep, "backends"));
    }
    for (size_t h = 0; h < 2; h++) {
        sbuf_addf(&s, "  chain %s {\n    type nat hook %s; policy accept;\n", hooks[h][0],
                  hooks[h][1]);
        k = 0;
        json_object_foreach((json_t *)endpoints, name, ep)
        {
            if (well_formed(ep))
                ep_rule(&s, k++, ep);
        }
        sbuf_adds(&s, "  }\n");
    }
    sbuf_adds(&s,
              "  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n");
    masquerade(&s, endpoints);
    sbuf_adds(&s, "  }\n}\n");
    return sbuf_take(&s);
}

static int run(const char *text, char *err, size_t errlen)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    int r;

    if (!nft) {
        snprintf(err, errlen, "cannot open nftables");
        return -1;
    }
    nft_ctx_buffer_error(nft);
    r = nft_run_cmd_from_buffer(nft, text);
    if (r) {
        const char *e = nft_ctx_get_error_buffer(nft);

        snprintf(err, errlen, "nftables: %.*s", (int)strcspn(e ? e : "", "\n"), e ? e : "?");
    }
    nft_ctx_free(nft);
    return r ? -1 : 0;
}

int ep_apply(const char *tag, const json_t *endpoints, char *err, size_t errlen)
{
    char *text = ep_render(tag, endpoints);
    int r = run(text, err, errlen);

    free(text);
    return r;
}

int ep_cleanup(const char *tag, char *err, size_t errlen)
{
    return ep_apply(tag, NULL, err, errlen);
}
