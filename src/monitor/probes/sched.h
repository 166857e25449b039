/* The probe scheduler: the monitoring component of the VNFM (seed para 53
 * and 58, FIG. 2C; F13, F27).
 *
 * It runs in a thread of its own around its own libuv loop. Each scheduled
 * target has one timer in the loop's heap: the first probe comes after a
 * random part of the interval (start jitter, so that targets added together
 * do not probe together), the next one interval after the previous one
 * ended, or retry_ms after a failure. While a probe is in flight the same
 * timer is its timeout. Asynchronous probes (TCP, HTTP, ICMP) run on the
 * loop; blocking ones (SNMP, scripts, cgroup reads) on the monitoring worker
 * pool, which the scheduler resizes every second to hold the pool's
 * utilization inside a band: the monitoring module scaling itself.
 */
#ifndef VNFM_SCHED_H
#define VNFM_SCHED_H

#include "monitor/probes/probe.h"

#include <stdint.h>

struct sched;
struct sched_entry;

struct sched_opts {
    const char *name;            /* thread name */
    unsigned pool_min, pool_max; /* monitoring workers */
    double util_low, util_high;  /* the band the pool is sized to hold, 0..1 */
};

struct sched_stats {
    uint64_t probes;   /* probes completed */
    uint64_t failures; /* of which failed */
    uint64_t overruns; /* rounds skipped because the previous probe was still running */
    unsigned targets;
    unsigned pool_threads, pool_busy, pool_queued;
    double pool_util;      /* over the last second, 0..1 */
    uint64_t loop_cpu_us;  /* CPU time of the scheduler's thread */
    unsigned resizes;      /* times the pool was resized */
    uint64_t last_beat_ms; /* monotonic ms when its loop last went round (every second) */
};

/* Starts the scheduler thread. NULL on failure. */
struct sched *sched_new(const struct sched_opts *o);
/* Stops the thread; in-flight probes are abandoned. Accepts NULL. */
void sched_free(struct sched *s);
/* Runs fn(arg) on the scheduler's loop, in submission order. Thread-safe. */
void sched_call(struct sched *s, void (*fn)(void *arg), void *arg);
/* Thread-safe. */
void sched_stats(struct sched *s, struct sched_stats *out);
/* Its worker pool (components.h watches it; the scheduler sizes it). */
struct wpool *sched_pool(struct sched *s);

/* The rest runs on the scheduler's loop only (from sched_call or result
 * callbacks). */

typedef void (*sched_result_fn)(void *arg, const struct probe_result *r);

/* Schedules target t (taken: freed with the entry) with ops every
 * interval_ms. on_result(arg, result) is called on the loop after each
 * probe. Returns NULL for a probe that is never scheduled (push). */
struct sched_entry *sched_add(struct sched *s, const struct probe_ops *ops, struct probe_target *t,
                              unsigned interval_ms, unsigned timeout_ms, unsigned retry_ms,
                              sched_result_fn on_result, void *arg);
/* Unschedules and frees the entry; an in-flight probe's result is dropped.
 * Accepts NULL. */
void sched_remove(struct sched_entry *e);
/* Probes the entry at once (instead of waiting for its timer). */
void sched_poke(struct sched_entry *e);
uv_loop_t *sched_loop(struct sched *s);

/* Frees a target and its spec reference. */
void probe_target_free(struct probe_target *t);

#endif
