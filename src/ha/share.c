/* The branch sites shared by the active members of a cluster (share.h). */
#include "ha/share.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_MS 5000 /* the longest a member waits for its requests before giving a site away */

struct share {
    struct owners *o;
    struct store *rd; /* a reader of the store: the branch sites */
    char *keys;       /* "PREFIX/ha/owners/" */
    char self[16];
    char *url;
    unsigned horizon_ms;
    pthread_mutex_t mu; /* over the four below */
    json_t *view;       /* SITE -> {"id", "url", "rev": create revision, "mod"} */
    json_t *mine;       /* SITE -> create revision of its key, held by this member */
    json_t *leaving;    /* SITE -> mono ms since it is being given away */
    json_t *vacated;    /* SITE -> mono ms when another's key went, not given away */
};

struct share *share_new(struct owners *o, struct store *st, const char *prefix, const char *self,
                        const char *url, unsigned horizon_ms, char *err, size_t errlen)
{
    struct share *s = xcalloc(1, sizeof(*s));

    if (store_open_reader(st, &s->rd, err, errlen)) {
        free(s);
        return NULL;
    }
    s->o = o;
    owners_set_self(o, self);
    s->keys = xasprintf("%sowners/", prefix);
    snprintf(s->self, sizeof(s->self), "%s", self);
    s->url = xstrdup(url);
    s->horizon_ms = horizon_ms;
    pthread_mutex_init(&s->mu, NULL);
    s->view = json_object();
    s->mine = json_object();
    s->leaving = json_object();
    s->vacated = json_object();
    return s;
}

void share_free(struct share *s)
{
    if (!s)
        return;
    store_close(s->rd);
    json_decref(s->view);
    json_decref(s->mine);
    json_decref(s->leaving);
    json_decref(s->vacated);
    pthread_mutex_destroy(&s->mu);
    free(s->keys);
    free(s->url);
    free(s);
}

/* mu held: the view and what this member holds, to the routes. */
static void publish(struct share *s)
{
    json_t *keys = json_object(), *mine = json_deep_copy(s->mine), *leaving = json_array(), *v;
    const char *site;

    json_object_foreach(s->view, site, v)
    {
        json_object_set_new(keys, site,
                            json_pack("{s:O, s:O, s:b}", "id", json_object_get(v, "id"), "url",
                                      json_object_get(v, "url"), "leaving",
                                      jv_bool(v, "leaving", false)));
    }
    json_object_foreach(s->leaving, site, v)
    {
        json_array_append_new(leaving, json_string(site));
    }
    owners_set(s->o, keys, mine, leaving);
}

/* ---- the watch ---- */

bool share_is_key(const struct share *s, const char *key)
{
    return strncmp(key, s->keys, strlen(s->keys)) == 0;
}

void share_view(struct share *s, const char *key, const json_t *v, int64_t create_rev, int64_t mod)
{
    const char *site = key + strlen(s->keys);
    json_t *was;

    pthread_mutex_lock(&s->mu);
    was = json_object_get(s->view, site);
    /* older than what the view knows: this member's own acquisition, made
     * before the watch brought the delete that let it */
    if (was && mod && mod <= doc_int(was, "mod", 0)) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (v) {
        json_object_set_new(s->view, site,
                            json_pack("{s:s, s:s, s:I, s:I, s:b}", "id", jv_str(v, "id", ""), "url",
                                      jv_str(v, "url", ""), "rev", (json_int_t)create_rev, "mod",
                                      (json_int_t)mod, "leaving", jv_bool(v, "leaving", false)));
        json_object_del(s->vacated, site);
    } else {
        if (was && !jv_bool(was, "leaving", false) && strcmp(jv_str(was, "id", ""), s->self)) {
            json_object_set_new(s->vacated, site, json_integer((json_int_t)mono_ms()));
            log_info("ha: the key of site %s went without member %s giving it away: taken "
                     "no sooner than %u ms from now, when that member no longer believes it "
                     "serves it",
                     site, jv_str(was, "id", "?"), s->horizon_ms);
        }
        json_object_del(s->view, site);
    }
    /* a key of this member's that is gone, or another's now: no longer its */
    if (json_object_get(s->mine, site) &&
        (!v || doc_int(s->mine, site, 0) != create_rev || strcmp(jv_str(v, "id", ""), s->self))) {
        log_warn("ha: site %s is no longer this member's (its key %s)", site,
                 v ? "is another's" : "is gone");
        json_object_del(s->mine, site);
        json_object_del(s->leaving, site);
    }
    publish(s);
    pthread_mutex_unlock(&s->mu);
}

void share_view_reset(struct share *s)
{
    const char *site;
    json_t *v;

    pthread_mutex_lock(&s->mu);
    /* a key that went while the watch was down went unseen: as if not
     * given away (those read again are dropped from vacated) */
    json_object_foreach(s->view, site, v)
    {
        if (!jv_bool(v, "leaving", false) && strcmp(jv_str(v, "id", ""), s->self))
            json_object_set_new(s->vacated, site, json_integer((json_int_t)mono_ms()));
    }
    json_object_clear(s->view);
    pthread_mutex_unlock(&s->mu);
}

/* mu held: whether site's key went unseen or not given away less than
 * horizon_ms ago (the entries past it go). */
static bool vacated_lately(struct share *s, const char *site)
{
    int64_t at = doc_int(s->vacated, site, 0);

    if (at && mono_ms() - (uint64_t)at < s->horizon_ms)
        return true;
    json_object_del(s->vacated, site);
    return false;
}

/* ---- rendezvous hashing ---- */

static uint64_t score(const char *site, const char *member)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (const char *p = site; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    h = (h ^ '/') * 0x100000001b3ull;
    for (const char *p = member; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    /* splitmix64's finalizer: FNV alone leaves the low bits of similar
     * names too alike */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static const char *choose(const char *site, char (*members)[16], size_t n)
{
    const char *best = NULL;
    uint64_t top = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t sc = score(site, members[i]);

        if (!best || sc > top || (sc == top && strcmp(members[i], best) < 0)) {
            best = members[i];
            top = sc;
        }
    }
    return best;
}

/* ---- etcd ---- */

static int txn(struct etcd *e, json_t *req, int64_t *rev)
{
    json_t *resp = NULL;
    int r = etcd_call(e, "/v3/kv/txn", req, &resp);

    json_decref(req);
    if (r == 0) {
        r = json_is_true(json_object_get(resp, "succeeded")) ? 1 : 0;
        *rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
    }
    json_decref(resp);
    return r;
}

/* Creates the key of site on lease where there is none: 1 (rev: its
 * create revision), 0 when there is one, or a negative errno. */
static int acquire(struct share *s, struct etcd *e, int64_t lease, const char *site, int64_t *rev)
{
    char *key = xasprintf("%s%s", s->keys, site), *k = etcd_b64(key, strlen(key));
    json_t *val = json_pack("{s:s, s:s}", "id", s->self, "url", s->url);
    char *text = json_dumps(val, JSON_COMPACT), *v = etcd_b64(text, strlen(text));
    int r = txn(e,
                json_pack("{s:[{s:s, s:s, s:s, s:i}], s:[{s:{s:s, s:s, s:I}}]}", "compare", "key",
                          k, "target", "CREATE", "result", "EQUAL", "create_revision", 0, "success",
                          "request_put", "key", k, "value", v, "lease", (json_int_t)lease),
                rev);

    json_decref(val);
    free(text);
    free(v);
    free(k);
    free(key);
    return r;
}

/* Marks the key of site (of create revision rev, on lease, of member id at
 * url) as leaving: the others send its branch to the primary until it is
 * gone, and take it at once then. */
static int mark_leaving(struct share *s, struct etcd *e, int64_t lease, const char *site,
                        int64_t rev, const char *id, const char *url)
{
    char *key = xasprintf("%s%s", s->keys, site), *k = etcd_b64(key, strlen(key));
    json_t *val = json_pack("{s:s, s:s, s:b}", "id", id, "url", url, "leaving", 1);
    char *text = json_dumps(val, JSON_COMPACT), *v = etcd_b64(text, strlen(text));
    int64_t at;
    int r = txn(e,
                json_pack("{s:[{s:s, s:s, s:s, s:I}, {s:s, s:s, s:s, s:I}],"
                          " s:[{s:{s:s, s:s, s:I}}]}",
                          "compare", "key", k, "target", "CREATE", "result", "EQUAL",
                          "create_revision", (json_int_t)rev, "key", k, "target", "LEASE", "result",
                          "EQUAL", "lease", (json_int_t)lease, "success", "request_put", "key", k,
                          "value", v, "lease", (json_int_t)lease),
                &at);

    json_decref(val);
    free(text);
    free(v);
    free(k);
    free(key);
    return r;
}

/* Deletes the key of site if it is still the one of create revision rev. */
static int release(struct share *s, struct etcd *e, const char *site, int64_t rev)
{
    char *key = xasprintf("%s%s", s->keys, site), *k = etcd_b64(key, strlen(key));
    int64_t at;
    int r = txn(e,
                json_pack("{s:[{s:s, s:s, s:s, s:I}], s:[{s:{s:s}}]}", "compare", "key", k,
                          "target", "CREATE", "result", "EQUAL", "create_revision", (json_int_t)rev,
                          "success", "request_delete_range", "key", k),
                &at);

    free(k);
    free(key);
    return r;
}

/* ---- the control thread ---- */

/* The branch sites of the store's managers (not removed), and who they
 * are by their credential's hash, for the routes. */
static json_t *branch_sites(struct share *s)
{
    json_t *list = NULL, *sites = json_object(), *creds = json_object(), *m;
    size_t i;

    if (store_list(s->rd, STORE_MANAGER, NULL, &list) == 0) {
        json_array_foreach(list, i, m)
        {
            const char *site = jv_str(m, "site", NULL);

            if (!site || strcmp(jv_str(m, "state", ""), "removed") == 0)
                continue;
            json_object_set_new(sites, site, json_true());
            if (jv_str(m, "_cred", NULL))
                json_object_set_new(creds, jv_str(m, "_cred", ""), json_string(site));
        }
    }
    json_decref(list);
    owners_set_creds(s->o, creds);
    return sites;
}

/* mu held: a site this member holds and should not (want: who should,
 * or NULL). First no more requests for it (its relayed channels are
 * cancelled); once those under way ended, or after DRAIN_MS, its key may
 * go: true. */
enum give { GIVE_WAIT, GIVE_MARK, GIVE_RELEASE };

static enum give may_release(struct share *s, const char *site, const char *want)
{
    int64_t since = doc_int(s->leaving, site, 0);
    uint64_t now = mono_ms();

    if (!since) {
        json_object_set_new(s->leaving, site, json_integer((json_int_t)now));
        publish(s);
        log_info("ha: giving site %s away to %s", site, want ? want : "nobody (no manager)");
        return GIVE_MARK; /* the others see it leaving: the primary serves it meanwhile */
    }
    return !owners_held(s->o, site) || now - (uint64_t)since >= DRAIN_MS ? GIVE_RELEASE : GIVE_WAIT;
}

/* What to do with the keys this round, under mu: [{"site", "rev"}] to
 * release (rev: its create revision), to mark as leaving ("mark"), or to
 * take (rev 0). */
static json_t *plan(struct share *s, const json_t *sites, char (*members)[16], size_t n)
{
    json_t *todo = json_array(), *v;
    const char *site;

    json_object_foreach(s->mine, site, v)
    {
        const char *want = json_object_get(sites, site) ? choose(site, members, n) : NULL;

        enum give g = want && strcmp(want, s->self) == 0 ? GIVE_WAIT : may_release(s, site, want);

        if (g != GIVE_WAIT)
            json_array_append_new(
                todo, json_pack("{s:s, s:O, s:b}", "site", site, "rev", v, "mark", g == GIVE_MARK));
    }
    json_object_foreach((json_t *)sites, site, v)
    {
        if (strcmp(choose(site, members, n), s->self) == 0 && !json_object_get(s->mine, site) &&
            !json_object_get(s->view, site) && !vacated_lately(s, site))
            json_array_append_new(todo, json_pack("{s:s, s:i}", "site", site, "rev", 0));
    }
    return todo;
}

static void taken(struct share *s, const char *site, int64_t rev)
{
    json_t *was = json_object_get(s->view, site);
    int64_t mod = doc_int(was, "mod", 0);

    json_object_set_new(s->mine, site, json_integer((json_int_t)rev));
    json_object_set_new(s->view, site,
                        json_pack("{s:s, s:s, s:I, s:I}", "id", s->self, "url", s->url, "rev",
                                  (json_int_t)rev, "mod", (json_int_t)(mod > rev ? mod : rev)));
    publish(s);
    log_info("ha: acquired site %s (key revision %lld)", site, (long long)rev);
}

static void released(struct share *s, const char *site, int64_t rev, bool was_there)
{
    if (doc_int(s->mine, site, 0) != rev)
        return;
    json_object_del(s->mine, site);
    json_object_del(s->leaving, site);
    publish(s);
    log_info("ha: released site %s (key revision %lld)%s", site, (long long)rev,
             was_there ? "" : ": the key was gone already");
}

void share_tend(struct share *s, struct etcd *e, int64_t lease, char (*members)[16], size_t n)
{
    json_t *sites, *todo, *t;
    size_t i;

    if (!n || !lease)
        return;
    owners_set_members(s->o, (unsigned)n);
    sites = branch_sites(s);
    pthread_mutex_lock(&s->mu);
    todo = plan(s, sites, members, n);
    pthread_mutex_unlock(&s->mu);
    /* etcd is called without mu: the watch must not wait on it */
    json_array_foreach(todo, i, t)
    {
        const char *site = jv_str(t, "site", "");
        int64_t rev = doc_int(t, "rev", 0), got = 0;
        int r;

        if (jv_bool(t, "mark", false)) {
            mark_leaving(s, e, lease, site, rev, s->self, s->url); /* the release follows */
            continue;
        }
        r = rev ? release(s, e, site, rev) : acquire(s, e, lease, site, &got);

        if (r < 0 || (!rev && r == 0))
            continue; /* etcd did not answer, or another holds it: next round */
        pthread_mutex_lock(&s->mu);
        if (rev)
            released(s, site, rev, r == 1);
        else
            taken(s, site, got);
        pthread_mutex_unlock(&s->mu);
    }
    json_decref(todo);
    json_decref(sites);
}

void share_leave(struct share *s, struct etcd *e, int64_t lease)
{
    json_t *mine;
    const char *site;
    json_t *rev;

    pthread_mutex_lock(&s->mu);
    mine = json_deep_copy(s->mine);
    json_object_foreach(s->mine, site, rev)
    {
        json_object_set_new(s->leaving, site, json_integer((json_int_t)mono_ms()));
    }
    publish(s);
    pthread_mutex_unlock(&s->mu);
    json_object_foreach(mine, site, rev)
    {
        mark_leaving(s, e, lease, site, json_integer_value(rev), s->self, s->url);
    }
    json_decref(mine);
}

unsigned share_give_away(struct share *s, struct etcd *e, const char *member, int64_t lease)
{
    json_t *todo = json_array(), *v;
    const char *site;
    unsigned n = 0;
    size_t i;

    pthread_mutex_lock(&s->mu);
    json_object_foreach(s->view, site, v)
    {
        if (strcmp(jv_str(v, "id", ""), member) == 0 && !jv_bool(v, "leaving", false))
            json_array_append_new(todo, json_pack("{s:s, s:O, s:O}", "site", site, "rev",
                                                  json_object_get(v, "rev"), "url",
                                                  json_object_get(v, "url")));
    }
    pthread_mutex_unlock(&s->mu);
    json_array_foreach(todo, i, v)
    {
        n += mark_leaving(s, e, lease, jv_str(v, "site", ""), doc_int(v, "rev", 0), member,
                          jv_str(v, "url", "")) == 1;
    }
    json_decref(todo);
    return n;
}

void share_renewed(struct share *s, uint64_t sent_ms)
{
    owners_set_until(s->o, sent_ms + s->horizon_ms);
}

void share_lost(struct share *s, const char *why)
{
    pthread_mutex_lock(&s->mu);
    if (json_object_size(s->mine))
        log_warn("ha: this member holds no site any more: %s", why);
    json_object_clear(s->mine);
    json_object_clear(s->leaving);
    publish(s);
    pthread_mutex_unlock(&s->mu);
}
