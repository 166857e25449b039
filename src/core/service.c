/* The registry of services: a small array under a mutex (service.h). */
#include "core/service.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct service svc;
    bool running; /* as of the last services_check() */
};

struct services {
    pthread_mutex_t mu;
    struct entry *v;
    size_t n;
};

struct services *services_new(void)
{
    struct services *s = xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void services_free(struct services *s)
{
    if (!s)
        return;
    free(s->v);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Called with mu held. */
static struct entry *find(struct services *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].svc.name, name) == 0)
            return &s->v[i];
    return NULL;
}

void service_register(struct services *s, const struct service *svc)
{
    struct entry *e;

    pthread_mutex_lock(&s->mu);
    e = find(s, svc->name);
    if (!e) {
        s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
        e = &s->v[s->n++];
    }
    e->svc = *svc;
    e->running = true;
    pthread_mutex_unlock(&s->mu);
}

void service_unregister(struct services *s, const char *name)
{
    struct entry *e;

    pthread_mutex_lock(&s->mu);
    e = find(s, name);
    if (e) {
        memmove(e, e + 1, (size_t)(s->v + s->n - (e + 1)) * sizeof(*e));
        s->n--;
    }
    pthread_mutex_unlock(&s->mu);
}

int services_check(struct services *s, uint64_t now)
{
    int worst = 0;

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &s->v[i];

        e->running = e->svc.disabled || !e->svc.alive || e->svc.alive(e->svc.arg, now);
        if (!e->running && e->svc.down_code && (!worst || e->svc.down_code < worst))
            worst = e->svc.down_code;
    }
    pthread_mutex_unlock(&s->mu);
    return worst;
}

json_t *services_report(struct services *s)
{
    json_t *out = json_object();

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        const struct entry *e = &s->v[i];

        json_object_set_new(out, e->svc.name,
                            json_string(e->svc.disabled ? "disabled"
                                        : e->running    ? "running"
                                                        : "not running"));
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

int service_find_fault(struct services *s, const char *fault, struct service *out)
{
    int r = -ENOENT;

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        const struct service *svc = &s->v[i].svc;

        if (svc->fault && strcmp(svc->fault, fault) == 0) {
            *out = *svc;
            r = svc->disabled ? -ESRCH : 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

const char **services_faults(struct services *s)
{
    const char **out;
    size_t n = 0;

    pthread_mutex_lock(&s->mu);
    out = xcalloc(s->n + 1, sizeof(*out));
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].svc.fault)
            out[n++] = s->v[i].svc.fault;
    pthread_mutex_unlock(&s->mu);
    return out;
}
