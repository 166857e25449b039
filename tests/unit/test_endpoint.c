/* Service endpoints (vim/endpoint.h): the nftables table a manager's
 * endpoints make, with no backend, one, several (round robin: instances at
 * the branch and in the cloud behind one address) and a malformed one; what
 * it renders is what nftables accepts (checked by libnftables in dry-run
 * mode, which changes nothing), without maps or sets (endpoint.c ep_chain). */
#include "unit.h"

#include "vim/endpoint.h"

#include <nftables/libnftables.h>

static json_t *endpoints(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);

    assert_non_null(doc);
    return doc;
}

/* nftables takes text (dry run: parsed and checked, nothing committed). */
static void accepted(const char *text)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    int r;

    assert_non_null(nft);
    nft_ctx_buffer_error(nft);
    nft_ctx_set_dry_run(nft, true);
    r = nft_run_cmd_from_buffer(nft, text);
    if (r)
        fprintf(stderr, "nftables refused:\n%s\n%s\n", text, nft_ctx_get_error_buffer(nft));
    nft_ctx_free(nft);
    assert_int_equal(r, 0);
}

static void one_and_several(void **state)
{
    json_t *eps = endpoints(
        "{\"a\": {\"address\": \"10.9.0.2\", \"port\": 20000, \"backends\": [\"10.1.0.5:8080\"]},"
        " \"b\": {\"address\": \"10.9.0.2\", \"port\": 20001, \"masquerade\": true,"
        "        \"backends\": [\"10.1.0.6:80\", \"bad\", \"10.2.0.7:8080\", \"10.2.0.8:99999\"]},"
        " \"c\": {\"address\": \"10.9.0.2\", \"port\": 20002, \"backends\": []}}");
    char *text = ep_render("t1", eps);

    (void)state;
    /* one backend: to it */
    assert_non_null(strstr(text, "tcp dport 20000 jump ep0\n"));
    assert_non_null(strstr(text, "chain ep0 {\n"
                                 "    ct mark set 0x7e9e0000 meta l4proto tcp dnat ip to "
                                 "10.1.0.5:8080\n  }"));
    /* several: in turn (the turn in the flow's mark, no map), the malformed left out */
    assert_non_null(strstr(text, "tcp dport 20001 jump ep1\n"));
    assert_non_null(strstr(text, "chain ep1 {\n"
                                 "    ct mark set numgen inc mod 2 offset 0x7e9e0000\n"
                                 "    ct mark 0x7e9e0000 meta l4proto tcp dnat ip to 10.1.0.6:80\n"
                                 "    ct mark 0x7e9e0001 meta l4proto tcp dnat ip to "
                                 "10.2.0.7:8080\n  }"));
    assert_null(strstr(text, "map"));
    /* none: refused with a reset */
    assert_non_null(strstr(text, "tcp dport 20002 ct mark set 0x7e9e0000 reject with tcp reset"));
    assert_null(strstr(text, "chain ep2"));
    /* in prerouting (other hosts, the VIs) and output (this namespace) */
    assert_non_null(strstr(text, "hook prerouting"));
    assert_non_null(strstr(text, "hook output"));
    /* masqueraded: only the flows to b's backends (across the WAN) */
    assert_non_null(
        strstr(text, "ct mark and 0xffff0000 == 0x7e9e0000 ip daddr 10.1.0.6 masquerade\n"
                     "    ct mark and 0xffff0000 == 0x7e9e0000 ip daddr 10.2.0.7 masquerade\n"));
    assert_null(strstr(text, "10.1.0.5 masquerade"));
    accepted(text);
    free(text);
    json_decref(eps);
}

/* A burst (docs/FEDERATION.md "Bursting into the cloud"): the VIs at the
 * site and instances in the cloud behind one endpoint; only the flows to
 * those in the cloud are masqueraded. */
static void masquerade_some(void **state)
{
    json_t *eps = endpoints(
        "{\"a\": {\"address\": \"10.9.0.2\", \"port\": 20000, \"backends\": [\"10.1.0.5:8080\","
        " \"10.2.0.7:8080\", \"10.2.0.8:8080\"], \"masquerade\": [\"10.2.0.7:8080\", \"bad\","
        " \"10.2.0.8:8080\"]}}");
    char *text = ep_render("t4", eps);

    (void)state;
    assert_non_null(strstr(text,
                           "    ct mark set numgen inc mod 3 offset 0x7e9e0000\n"
                           "    ct mark 0x7e9e0000 meta l4proto tcp dnat ip to 10.1.0.5:8080\n"
                           "    ct mark 0x7e9e0001 meta l4proto tcp dnat ip to 10.2.0.7:8080\n"
                           "    ct mark 0x7e9e0002 meta l4proto tcp dnat ip to 10.2.0.8:8080\n"));
    assert_non_null(strstr(text, "ip daddr 10.2.0.7 masquerade"));
    assert_non_null(strstr(text, "ip daddr 10.2.0.8 masquerade"));
    assert_null(strstr(text, "10.1.0.5 masquerade"));
    accepted(text);
    free(text);
    json_decref(eps);
}

static void none_removes_the_table(void **state)
{
    json_t *eps = json_object();
    char *text = ep_render("t2", eps);

    (void)state;
    assert_string_equal(text, "table ip vnfm_ep_t2\ndelete table ip vnfm_ep_t2\n");
    accepted(text);
    free(text);
    text = ep_render("t2", NULL);
    assert_string_equal(text, "table ip vnfm_ep_t2\ndelete table ip vnfm_ep_t2\n");
    free(text);
    json_decref(eps);
}

static void bad_address_is_skipped(void **state)
{
    json_t *eps = endpoints("{\"a\": {\"address\": \"10.9.0.2; flush ruleset\", \"port\": 20000,"
                            " \"backends\": [\"10.1.0.5:8080\"]}}");
    char *text = ep_render("t3", eps);

    (void)state;
    assert_null(strstr(text, "flush"));
    accepted(text);
    free(text);
    json_decref(eps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_and_several),
        cmocka_unit_test(masquerade_some),
        cmocka_unit_test(none_removes_the_table),
        cmocka_unit_test(bad_address_is_skipped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
