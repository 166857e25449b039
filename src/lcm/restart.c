#include "lcm/restart.h"

#include <string.h>

static uint64_t window_ms(const struct vnfd_restart *p)
{
    return (uint64_t)p->window_s * 1000;
}

/* Forgets the deaths that are out of the window ending at now. */
static void forget_old(const struct vnfd_restart *p, struct restart_hist *h, int64_t now)
{
    unsigned keep = 0;

    for (unsigned i = 0; i < h->n; i++)
        if (now - h->deaths[i] < (int64_t)window_ms(p))
            h->deaths[keep++] = h->deaths[i];
    h->n = keep;
}

/* The wait of the step-th delayed restart of a crash loop. */
static uint64_t step_wait(const struct vnfd_restart *p, unsigned step)
{
    uint64_t cap = (uint64_t)p->max_delay_s * 1000, wait = p->delay_ms;

    for (unsigned i = 1; i < step && wait < cap; i++)
        wait *= 2;
    return wait < cap ? wait : cap;
}

uint64_t restart_death(const struct vnfd_restart *p, struct restart_hist *h, int64_t now,
                       int64_t started)
{
    if (h->step && started > 0 && started <= now && now - started >= (int64_t)window_ms(p)) {
        h->n = 0; /* it ran a whole window: the crash loop is over */
        h->step = 0;
    }
    forget_old(p, h, now);
    if (h->n == RESTART_KEEP) {
        memmove(h->deaths, h->deaths + 1, (RESTART_KEEP - 1) * sizeof(h->deaths[0]));
        h->n--;
    }
    h->deaths[h->n++] = now;
    if (h->n <= p->burst)
        return 0;
    h->step++;
    return step_wait(p, h->step);
}

uint64_t restart_next_wait(const struct vnfd_restart *p, const struct restart_hist *h, int64_t now)
{
    struct restart_hist next = *h;

    return restart_death(p, &next, now, now);
}

unsigned restart_recent(const struct vnfd_restart *p, const struct restart_hist *h, int64_t now)
{
    unsigned n = 0;

    for (unsigned i = 0; i < h->n; i++)
        n += now - h->deaths[i] < (int64_t)window_ms(p);
    return n;
}

void restart_hist_load(const json_t *vi, struct restart_hist *h)
{
    const json_t *deaths = json_object_get(vi, "_deaths");

    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < json_array_size(deaths) && h->n < RESTART_KEEP; i++)
        h->deaths[h->n++] = (int64_t)json_integer_value(json_array_get(deaths, i));
    h->step = (unsigned)jv_int(json_object_get(vi, "restart"), "step", 0);
}

void restart_hist_save(json_t *vi, const struct restart_hist *h)
{
    json_t *deaths = json_array();

    for (unsigned i = 0; i < h->n; i++)
        json_array_append_new(deaths, json_integer(h->deaths[i]));
    json_object_set_new(vi, "_deaths", deaths);
}
