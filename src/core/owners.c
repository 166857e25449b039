/* The view of the ownership keys and the requests held per site (owners.h). */
#include "core/owners.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hold {
    char *site;
    bool *cancel;
};

struct owners {
    pthread_mutex_t mu;
    char *self;
    json_t *keys;    /* SITE -> {"id", "url"} */
    json_t *mine;    /* SITE -> the create revision of its key: held by this manager */
    json_t *leaving; /* SITE -> true: being given away */
    json_t *creds;   /* credential hash -> SITE */
    struct hold *holds;
    size_t n_holds;
    bool stopping; /* owners_cancel_all: every hold is cancelled at once */
    unsigned members;
    uint64_t until; /* owners_set_until */
};

struct owners *owners_new(void)
{
    struct owners *o = xcalloc(1, sizeof(*o));

    pthread_mutex_init(&o->mu, NULL);
    o->self = xstrdup("");
    o->keys = json_object();
    o->mine = json_object();
    o->leaving = json_object();
    o->creds = json_object();
    return o;
}

void owners_free(struct owners *o)
{
    if (!o)
        return;
    json_decref(o->keys);
    json_decref(o->mine);
    json_decref(o->leaving);
    json_decref(o->creds);
    free(o->holds);
    free(o->self);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

void owners_set_self(struct owners *o, const char *self)
{
    pthread_mutex_lock(&o->mu);
    free(o->self);
    o->self = xstrdup(self);
    pthread_mutex_unlock(&o->mu);
}

void owners_self(struct owners *o, char *out, size_t len)
{
    pthread_mutex_lock(&o->mu);
    snprintf(out, len, "%s", o->self);
    pthread_mutex_unlock(&o->mu);
}

static json_t *as_set(json_t *names)
{
    json_t *set = json_object(), *n;
    size_t i;

    json_array_foreach(names, i, n)
    {
        if (json_is_string(n))
            json_object_set_new(set, json_string_value(n), json_true());
    }
    json_decref(names);
    return set;
}

/* mu held: this manager serves site at now (mono ms). */
static bool serves(const struct owners *o, const char *site, uint64_t now)
{
    return json_object_get(o->mine, site) && !json_object_get(o->leaving, site) &&
           (!o->until || now < o->until);
}

void owners_set(struct owners *o, json_t *keys, json_t *mine, json_t *leaving)
{
    uint64_t now = mono_ms();

    pthread_mutex_lock(&o->mu);
    json_decref(o->keys);
    json_decref(o->mine);
    json_decref(o->leaving);
    o->keys = keys ? keys : json_object();
    o->mine = mine ? mine : json_object();
    o->leaving = as_set(leaving);
    for (size_t i = 0; i < o->n_holds; i++)
        if (o->holds[i].cancel && !serves(o, o->holds[i].site, now))
            __atomic_store_n(o->holds[i].cancel, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&o->mu);
}

void owners_set_until(struct owners *o, uint64_t until_ms)
{
    pthread_mutex_lock(&o->mu);
    o->until = until_ms;
    pthread_mutex_unlock(&o->mu);
}

void owners_set_members(struct owners *o, unsigned n)
{
    pthread_mutex_lock(&o->mu);
    o->members = n;
    pthread_mutex_unlock(&o->mu);
}

unsigned owners_members(struct owners *o)
{
    unsigned n;

    pthread_mutex_lock(&o->mu);
    n = o->members;
    pthread_mutex_unlock(&o->mu);
    return n;
}

void owners_set_creds(struct owners *o, json_t *creds)
{
    pthread_mutex_lock(&o->mu);
    json_decref(o->creds);
    o->creds = creds ? creds : json_object();
    pthread_mutex_unlock(&o->mu);
}

enum owner_is owners_of(struct owners *o, const char *site, char *id, char *url, size_t len)
{
    enum owner_is is = OWNER_NONE;
    const json_t *k;

    pthread_mutex_lock(&o->mu);
    k = json_object_get(o->keys, site);
    if (serves(o, site, mono_ms()))
        is = OWNER_SELF;
    else if (k && !json_object_get(o->mine, site) && !json_is_true(json_object_get(k, "leaving")) &&
             strcmp(json_string_value(json_object_get(k, "id")) ?: "", o->self) != 0) {
        is = OWNER_OTHER;
        snprintf(id, len, "%s", json_string_value(json_object_get(k, "id")) ?: "");
        snprintf(url, len, "%s", json_string_value(json_object_get(k, "url")) ?: "");
    }
    pthread_mutex_unlock(&o->mu);
    return is;
}

int owners_site_of(struct owners *o, const char *hash, char *site, size_t len)
{
    const char *s;

    pthread_mutex_lock(&o->mu);
    s = json_string_value(json_object_get(o->creds, hash));
    if (s)
        snprintf(site, len, "%s", s);
    pthread_mutex_unlock(&o->mu);
    return s ? 0 : -ENOENT;
}

void owners_hold(struct owners *o, const char *site, bool *cancel)
{
    pthread_mutex_lock(&o->mu);
    o->holds = xrealloc(o->holds, (o->n_holds + 1) * sizeof(*o->holds));
    o->holds[o->n_holds++] = (struct hold){xstrdup(site), cancel};
    if (cancel && (o->stopping || !serves(o, site, mono_ms())))
        __atomic_store_n(cancel, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&o->mu);
}

void owners_unhold(struct owners *o, const char *site, bool *cancel)
{
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->n_holds; i++) {
        if (o->holds[i].cancel == cancel && strcmp(o->holds[i].site, site) == 0) {
            free(o->holds[i].site);
            o->holds[i] = o->holds[--o->n_holds];
            break;
        }
    }
    pthread_mutex_unlock(&o->mu);
}

unsigned owners_held(struct owners *o, const char *site)
{
    unsigned n = 0;

    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->n_holds; i++)
        n += strcmp(o->holds[i].site, site) == 0;
    pthread_mutex_unlock(&o->mu);
    return n;
}

void owners_cancel_all(struct owners *o)
{
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    for (size_t i = 0; i < o->n_holds; i++)
        if (o->holds[i].cancel)
            __atomic_store_n(o->holds[i].cancel, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&o->mu);
}

json_t *owners_report(struct owners *o)
{
    json_t *owns = json_object(), *urls = json_object(), *k;
    const char *site;
    uint64_t now = mono_ms();

    pthread_mutex_lock(&o->mu);
    json_object_foreach(o->keys, site, k)
    {
        json_object_set(urls, site, json_object_get(k, "url"));
    }
    json_object_foreach(o->mine, site, k)
    {
        if (serves(o, site, now))
            json_object_set(owns, site, k);
    }
    k = json_pack("{s:s, s:o, s:o}", "self", o->self, "owns", owns, "owners", urls);
    pthread_mutex_unlock(&o->mu);
    return k;
}
