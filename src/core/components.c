#include "core/components.h"
#include "core/core.h"
#include "core/wpool.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <pthread.h>

#define ROUND_MS       1000
#define COMPONENTS_MAX 8

struct component {
    struct wpool *pool;
    struct wpool_sizer sizer;
    bool sized_here;
    unsigned threads; /* at the last round */
    double util;      /* over the last round (pools sized here) */
    unsigned resizes;
    int64_t resized_ms; /* wall ms of the last change, 0: none */
    unsigned from;      /* its size before that change */
};

struct components {
    struct core *c;
    uv_timer_t timer;
    pthread_mutex_t mu; /* the components, for components_view */
    struct component all[COMPONENTS_MAX];
    unsigned n;
};

/* Counted, and logged (not on a standby, which writes nothing). */
static void resized(struct core *c, struct component *k, unsigned now, unsigned queued)
{
    const char *name = wpool_name(k->pool);

    k->resizes++;
    k->resized_ms = wall_ms();
    k->from = k->threads;
    core_event(c, "info", "vnfm", "component-resized",
               json_pack("{s:s, s:s, s:i, s:i}", "object", name, "component", name, "from",
                         (int)k->threads, "to", (int)now),
               "%s: %u -> %u workers (%u waiting)", name, k->threads, now, queued);
}

static void round_(uv_timer_t *t)
{
    struct components *cs = t->data;
    struct wpool_stats st;

    pthread_mutex_lock(&cs->mu);
    for (unsigned i = 0; i < cs->n; i++) {
        struct component *k = &cs->all[i];

        unsigned now;

        wpool_stats(k->pool, &st);
        now = st.threads; /* grown at a submit, or by its own thread */
        if (k->sized_here) {
            now = wpool_autosize(k->pool, &k->sizer); /* a worker told to go may not be gone */
            k->util = k->sizer.util;
        }
        if (now != k->threads) {
            resized(cs->c, k, now, st.queued);
            k->threads = now;
        }
    }
    pthread_mutex_unlock(&cs->mu);
}

struct components *components_new(struct core *c)
{
    struct components *cs = xcalloc(1, sizeof(*cs));

    cs->c = c;
    pthread_mutex_init(&cs->mu, NULL);
    uv_timer_init(c->loop, &cs->timer);
    cs->timer.data = cs;
    uv_timer_start(&cs->timer, round_, ROUND_MS, ROUND_MS);
    return cs;
}

void components_add(struct components *cs, struct wpool *p, const struct wpool_sizer *sizer)
{
    struct wpool_stats st;
    struct component *k;

    if (!p || cs->n == COMPONENTS_MAX)
        return;
    wpool_stats(p, &st);
    pthread_mutex_lock(&cs->mu);
    k = &cs->all[cs->n++];
    *k = (struct component){.pool = p, .sized_here = sizer != NULL, .threads = st.threads};
    if (sizer)
        k->sizer = *sizer;
    pthread_mutex_unlock(&cs->mu);
}

json_t *components_view(struct components *cs)
{
    json_t *list = json_array();
    struct wpool_stats st;

    pthread_mutex_lock(&cs->mu);
    for (unsigned i = 0; i < cs->n; i++) {
        struct component *k = &cs->all[i];
        json_t *v;

        wpool_stats(k->pool, &st);
        v = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:s}", "name", wpool_name(k->pool),
                      "threads", (int)st.threads, "min", (int)st.min, "max", (int)st.max, "busy",
                      (int)st.busy, "queued", (int)st.queued, "jobs", (json_int_t)st.completed,
                      "resizes", (int)k->resizes, "sized_by",
                      k->sized_here ? "loop" : "own thread");
        if (k->sized_here)
            json_object_set_new(v, "utilization", json_real(k->util));
        if (k->resized_ms) {
            char when[TIME_STR_MAX];

            json_object_set_new(v, "last_resize",
                                json_pack("{s:s, s:i, s:i}", "at", time_fmt(k->resized_ms, when),
                                          "from", (int)k->from, "to", (int)k->threads));
        }
        json_array_append_new(list, v);
    }
    pthread_mutex_unlock(&cs->mu);
    return json_pack("{s:o}", "components", list);
}

static void free_cs(uv_handle_t *h)
{
    struct components *cs = h->data;

    pthread_mutex_destroy(&cs->mu);
    free(cs);
}

void components_free(struct components *cs)
{
    if (!cs)
        return;
    uv_timer_stop(&cs->timer);
    uv_close((uv_handle_t *)&cs->timer, free_cs);
}
