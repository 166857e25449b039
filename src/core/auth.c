#include "core/auth.h"
#include "core/states.h"
#include "util/doc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

void token_hash(const char *token, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n; i++) { /* every request hashes its token: no printf */
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void token_generate(char *out)
{
    char hex[41];

    id_random(hex, "", 40);
    snprintf(out, 46, "vnfm_%s", hex);
}

int auth_resolve(struct store *st, const char *admin_hash, const char *token, struct principal *p)
{
    char hash[TOKEN_HASH_LEN + 1];
    struct store_where w = {"_hash", hash, false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = 1};
    json_t *found, *tok, *tenant = NULL;
    int r = -EACCES;

    token_hash(token, hash);
    if (CRYPTO_memcmp(hash, admin_hash, TOKEN_HASH_LEN) == 0) {
        memset(p, 0, sizeof(*p));
        p->admin = true;
        snprintf(p->token_id, sizeof(p->token_id), "admin");
        return 0;
    }
    if (store_list(st, STORE_TOKEN, &o, &found))
        return -EIO;
    tok = json_array_get(found, 0);
    if (tok) {
        const char *tid = doc_str(tok, "tenant");

        r = tid && store_get(st, STORE_TENANT, tid, &tenant) == 0 &&
                    json_is_true(json_object_get(tenant, "enabled"))
                ? 0
                : -EPERM;
        if (r == 0) {
            memset(p, 0, sizeof(*p));
            snprintf(p->tenant, sizeof(p->tenant), "%s", tid);
            snprintf(p->token_id, sizeof(p->token_id), "%s", doc_str(tok, "id"));
        }
    }
    json_decref(tenant);
    json_decref(found);
    return r;
}
