#include "util/mstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"last", "avg", "ewma", "p95", "min", "max"};

void mstat_init(struct mstat *s, uint64_t window_ms)
{
    memset(s, 0, sizeof(*s));
    s->window_ms = window_ms ? window_ms : 60000;
}

void mstat_reset(struct mstat *s)
{
    mstat_init(s, s->window_ms);
}

static const struct mstat_sample *at(const struct mstat *s, unsigned i)
{
    return &s->ring[(s->head + i) % MSTAT_MAX_SAMPLES];
}

static void expire(struct mstat *s, uint64_t now_ms)
{
    while (s->n > 0 && now_ms - at(s, 0)->t_ms > s->window_ms) {
        s->head = (s->head + 1) % MSTAT_MAX_SAMPLES;
        s->n--;
    }
}

/* The EWMA's weight follows the time since the previous sample, so that
 * its horizon is the window whatever the probe interval: a sample dt ms
 * after the last one weighs 1 - exp(-dt / window). */
static void update_ewma(struct mstat *s, uint64_t t_ms, double v)
{
    double alpha;

    if (!s->has_ewma || s->n == 0) {
        s->ewma = v;
        s->has_ewma = true;
        return;
    }
    alpha = 1.0 - exp(-(double)(t_ms - at(s, s->n - 1)->t_ms) / (double)s->window_ms);
    s->ewma += alpha * (v - s->ewma);
}

void mstat_add(struct mstat *s, uint64_t t_ms, double v)
{
    update_ewma(s, t_ms, v);
    if (s->n == MSTAT_MAX_SAMPLES) {
        s->head = (s->head + 1) % MSTAT_MAX_SAMPLES;
        s->n--;
    }
    s->ring[(s->head + s->n) % MSTAT_MAX_SAMPLES] = (struct mstat_sample){t_ms, v};
    s->n++;
    s->count++;
    expire(s, t_ms);
}

uint64_t mstat_age(const struct mstat *s, uint64_t now_ms)
{
    if (s->n == 0)
        return UINT64_MAX;
    return now_ms - at(s, s->n - 1)->t_ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank 95th percentile of the window. */
static double p95(const struct mstat *s)
{
    double v[MSTAT_MAX_SAMPLES];
    unsigned rank;

    for (unsigned i = 0; i < s->n; i++)
        v[i] = at(s, i)->v;
    qsort(v, s->n, sizeof(v[0]), cmp_double);
    rank = (unsigned)ceil(0.95 * s->n);
    return v[rank > 0 ? rank - 1 : 0];
}

bool mstat_get(const struct mstat *s, enum mstat_kind k, double *out)
{
    double acc;

    if (s->n == 0)
        return false;
    switch (k) {
    case MSTAT_LAST:
        *out = at(s, s->n - 1)->v;
        return true;
    case MSTAT_EWMA:
        *out = s->ewma;
        return true;
    case MSTAT_P95:
        *out = p95(s);
        return true;
    case MSTAT_AVG:
        acc = 0;
        for (unsigned i = 0; i < s->n; i++)
            acc += at(s, i)->v;
        *out = acc / s->n;
        return true;
    case MSTAT_MIN:
    case MSTAT_MAX:
        acc = at(s, 0)->v;
        for (unsigned i = 1; i < s->n; i++) {
            double v = at(s, i)->v;

            if (k == MSTAT_MIN ? v < acc : v > acc)
                acc = v;
        }
        *out = acc;
        return true;
    }
    return false;
}

int mstat_kind_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (name && strcmp(name, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *mstat_kind_name(enum mstat_kind k)
{
    return kind_names[k];
}
