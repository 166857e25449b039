#include "core/auth.h"
#include "core/bus.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once: EVP_sha256() makes EVP_Digest look the algorithm up in the
 * providers at every call (OpenSSL 3), which every request paid. */
static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void token_hash(const char *token, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    pthread_once(&sha256_once, sha256_fetch);
    EVP_Digest(token, strlen(token), md, &n, sha256 ? sha256 : EVP_sha256(), NULL);
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

/* Whether the token record tok holds at now: not expired (-EKEYEXPIRED),
 * its tenant enabled (-EPERM). Its expiry into *expires (0: never). */
static int token_holds(struct store *st, const json_t *tok, int64_t now, int64_t *expires)
{
    const char *tid = doc_str(tok, "tenant"), *exp = doc_str(tok, "expires");
    json_t *tenant = NULL;
    int64_t ms = 0;
    int r;

    if (exp && time_parse(exp, &ms))
        return -EACCES;
    if (ms && now >= ms)
        return -EKEYEXPIRED;
    r = tid && store_get(st, STORE_TENANT, tid, &tenant) == 0 &&
                json_is_true(json_object_get(tenant, "enabled"))
            ? 0
            : -EPERM;
    json_decref(tenant);
    *expires = ms;
    return r;
}

int auth_resolve(struct store *st, const char *admin_hash, const char *token, struct principal *p)
{
    char hash[TOKEN_HASH_LEN + 1];
    struct store_where w = {"_hash", hash, false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .limit = 1};
    json_t *found, *tok;
    int64_t expires = 0;
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
    if (tok)
        r = token_holds(st, tok, wall_ms(), &expires);
    if (r == 0) {
        memset(p, 0, sizeof(*p));
        snprintf(p->tenant, sizeof(p->tenant), "%s", doc_str(tok, "tenant"));
        snprintf(p->token_id, sizeof(p->token_id), "%s", doc_str(tok, "id"));
        p->expires_ms = expires;
    }
    json_decref(found);
    return r;
}

int auth_recheck(struct store *st, const struct principal *p, int64_t now_ms)
{
    json_t *tok = NULL;
    int64_t expires;
    int r;

    if (p->admin)
        return 0;
    if (p->expires_ms && now_ms >= p->expires_ms)
        return -EKEYEXPIRED;
    if (store_get(st, STORE_TOKEN, p->token_id, &tok))
        return -EACCES; /* deleted (or unreadable: the stream ends, the client comes back) */
    r = token_holds(st, tok, now_ms, &expires);
    json_decref(tok);
    return r;
}

/* ---- taking rights back (loop) ---- */

uint64_t auth_generation(struct core *c)
{
    return __atomic_load_n(&c->auth_gen, __ATOMIC_ACQUIRE);
}

static void revoke_all(struct core *c, void *arg)
{
    (void)arg;
    __atomic_add_fetch(&c->auth_gen, 1, __ATOMIC_RELEASE);
    bus_wake_all(c->bus);
}

void auth_revoke_after_commit(struct core *c)
{
    core_after_commit(c, revoke_all, NULL, NULL);
}

static void on_expiry(uv_timer_t *t);

/* (Re)starts the timer for at (wall clock); the loop's clock may lag a
 * little behind, so on_expiry() checks again. */
static void arm(struct core *c, int64_t at)
{
    int64_t now = wall_ms();

    c->auth_next_ms = at;
    uv_timer_start(&c->auth_timer, on_expiry, at > now ? (uint64_t)(at - now) + 1 : 0, 0);
}

/* The earliest expiry after now among the stored tokens, 0 for none. */
static int64_t next_expiry(struct core *c, int64_t now)
{
    struct store_list_opts o = {0};
    json_t *all = NULL, *tok;
    int64_t next = 0, ms;
    size_t i;

    if (store_list(c->st, STORE_TOKEN, &o, &all))
        return 0;
    json_array_foreach(all, i, tok)
    {
        if (doc_str(tok, "expires") && time_parse(doc_str(tok, "expires"), &ms) == 0 && ms > now &&
            (!next || ms < next))
            next = ms;
    }
    json_decref(all);
    return next;
}

static void on_expiry(uv_timer_t *t)
{
    struct core *c = t->data;
    int64_t now = wall_ms(), next;

    if (c->auth_next_ms > now) { /* early by the loop's clock */
        arm(c, c->auth_next_ms);
        return;
    }
    c->auth_next_ms = 0;
    revoke_all(c, NULL);
    next = next_expiry(c, now);
    if (next)
        arm(c, next);
}

void auth_expiry_add(struct core *c, int64_t ms)
{
    if (!c->auth_timer.data) /* before auth_start(), which reads it from the store */
        return;
    if (!c->auth_next_ms || ms < c->auth_next_ms)
        arm(c, ms);
}

void auth_start(struct core *c)
{
    int64_t next;

    uv_timer_init(c->loop, &c->auth_timer);
    c->auth_timer.data = c;
    next = next_expiry(c, wall_ms());
    if (next)
        arm(c, next);
}

void auth_stop(struct core *c)
{
    uv_close((uv_handle_t *)&c->auth_timer, NULL);
}
