/* Worker pools: threads that run blocking work (VIM calls, scripts) and hand
 * the results back to the event loop. Each pool is one of the VNFM's
 * components (seed para 53, FIG. 2C) and can be resized at run time (F27).
 */
#ifndef VNFM_WPOOL_H
#define VNFM_WPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct wjob {
    void (*work)(struct wjob *job); /* on a worker thread */
    void (*done)(struct wjob *job); /* on the loop thread, after work */
    int cancelled;                  /* set when the pool stopped before work() ran */
    struct wjob *next;
};

struct wpool;

/* Creates a pool of n threads named name. Returns NULL on failure. */
struct wpool *wpool_new(uv_loop_t *loop, const char *name, unsigned n);
/* Lets running jobs finish and stops the threads; jobs still queued get
 * done() with `cancelled` set. The pool's memory is released once the loop
 * has run its close callbacks. Accepts NULL. */
void wpool_free(struct wpool *p);
void wpool_submit(struct wpool *p, struct wjob *job);
/* Grows or shrinks the pool to n threads (at least 1). */
void wpool_resize(struct wpool *p, unsigned n);

/* Sizing a pool by its own load (F27, FIG. 2C). With limits set, a job
 * submitted while every worker is taken gets a new worker at once, up to
 * max; wpool_autosize(), called about once a second by the pool's owner,
 * grows a pool whose workers were busy more than `high` of the time (or
 * that has work waiting) and shrinks by one a pool busy less than `low`
 * with nothing waiting, never below min. */
void wpool_set_limits(struct wpool *p, unsigned min, unsigned max);
struct wpool_sizer {
    double low, high; /* utilization bounds, 0..1 */
    double util;      /* over the last round */
    uint64_t busy_us; /* the pool's busy_us at the last round */
    uint64_t at_us;   /* monotonic us of the last round, 0: none yet */
};
/* One round: the pool's size after it (resized when that changed). */
unsigned wpool_autosize(struct wpool *p, struct wpool_sizer *z);

struct wpool_stats {
    unsigned threads;
    unsigned min, max; /* its limits (both threads when none were set) */
    unsigned busy;
    unsigned queued;
    uint64_t completed;
    uint64_t busy_us;      /* time the workers spent in work(), in total */
    uint64_t last_beat_ms; /* monotonic ms when a worker last took or finished a job, or was idle */
};
void wpool_stats(struct wpool *p, struct wpool_stats *st);
/* Whether the pool makes progress (health, service.h): it has a thread, and
 * its workers have not all been busy for longer than watchdog_ms while work
 * waits. now is monotonic ms. */
bool wpool_alive(struct wpool *p, uint64_t now, uint64_t watchdog_ms);
/* Fault injection: blocks every worker, and keeps one job waiting, for
 * seconds. */
void wpool_stall(struct wpool *p, unsigned seconds);
const char *wpool_name(const struct wpool *p);

#endif
