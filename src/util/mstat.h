/* Statistics of one metric series (seed para 59-60, F13): the last value,
 * the mean and an exponentially weighted moving average over a time window,
 * the 95th percentile of the window, and how many samples were taken.
 *
 * A series keeps its samples in a ring bounded both by count and by age;
 * adding is O(1), the percentile sorts a copy of the window (asked for by
 * rules and the API, not per sample). Not thread-safe: the owner locks.
 */
#ifndef VNFM_MSTAT_H
#define VNFM_MSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSTAT_MAX_SAMPLES 256

struct mstat_sample {
    uint64_t t_ms; /* monotonic */
    double v;
};

struct mstat {
    uint64_t window_ms;
    double ewma;
    bool has_ewma;
    uint64_t count; /* samples ever added */
    unsigned head, n;
    struct mstat_sample ring[MSTAT_MAX_SAMPLES];
};

enum mstat_kind {
    MSTAT_LAST,
    MSTAT_AVG,
    MSTAT_EWMA,
    MSTAT_P95,
    MSTAT_MIN,
    MSTAT_MAX,
};

void mstat_init(struct mstat *s, uint64_t window_ms);
/* Adds a sample taken at t_ms and drops those older than the window. */
void mstat_add(struct mstat *s, uint64_t t_ms, double v);
/* Forgets every sample (after a VI was restarted, say). */
void mstat_reset(struct mstat *s);
/* Age of the newest sample at now_ms; UINT64_MAX when there is none. */
uint64_t mstat_age(const struct mstat *s, uint64_t now_ms);
/* The statistic over the window; false when the series is empty. */
bool mstat_get(const struct mstat *s, enum mstat_kind k, double *out);
/* "last", "avg", ... -> kind; -1 for an unknown name. */
int mstat_kind_parse(const char *name);
const char *mstat_kind_name(enum mstat_kind k);

#endif
