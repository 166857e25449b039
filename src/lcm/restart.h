/* The crash-loop backoff of restarts on exit (docs/MONITORING.md "Restart
 * on exit"; the settings are a VNFD's "restart", struct vnfd_restart).
 *
 * The first `burst` deaths of a VI within any `window_s` are restarted at
 * once. A death with `burst` others in the window before it is a crash
 * loop's: its restart waits, `delay_ms` the first time, twice as long each
 * next, at most `max_delay_s`. The doubling starts over once the VI has run
 * `window_s` without dying (a stable period), and a death with fewer than
 * `burst` others in its window is restarted at once whatever came before:
 * so the first `burst` deaths in any window always come back at once.
 *
 * This is arithmetic on a VI's history only; vi_watch.c keeps the history
 * in the VI's record (restart_hist_load/save) and acts on it.
 */
#ifndef VNFM_RESTART_H
#define VNFM_RESTART_H

#include "catalog/vnfd.h"

#include <stdint.h>

#define RESTART_KEEP (RESTART_BURST_MAX + 2) /* deaths remembered: enough for any burst */

struct restart_hist {
    int64_t deaths[RESTART_KEEP]; /* wall ms, oldest first, within the window */
    unsigned n;
    unsigned step; /* delayed restarts of the current crash loop; 0: not crash looping */
};

/* Records a death at now of a VI whose process had started at started
 * (wall ms; 0 or later than now: unknown, taken as just started). Returns
 * the wait before its restart, in ms. */
uint64_t restart_death(const struct vnfd_restart *p, struct restart_hist *h, int64_t now,
                       int64_t started);
/* The wait a death soon after now would get: when the next restart is
 * allowed, for the event log. */
uint64_t restart_next_wait(const struct vnfd_restart *p, const struct restart_hist *h, int64_t now);
/* The deaths of h within the window that ends at now. */
unsigned restart_recent(const struct vnfd_restart *p, const struct restart_hist *h, int64_t now);

/* The history kept in a VI record ("_deaths" and "restart.step"). */
void restart_hist_load(const json_t *vi, struct restart_hist *h);
void restart_hist_save(json_t *vi, const struct restart_hist *h);

#endif
