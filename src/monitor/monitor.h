/* Monitoring of deployments (seed para 58-61, 84-85, 88; F13, F14, F16).
 *
 * The monitor binds each deployment's `monitoring` definitions to probes on
 * the scheduler (one series per metric and VI), keeps the statistics of
 * every series, and evaluates the deployment's `rules` as samples arrive.
 * When a rule fires it asks the loop, through the transactor like any other
 * request, to record a decision and run its actions (policy/executor.c).
 *
 * It runs on the scheduler's thread and reads the store through a read-only
 * handle of its own. It learns about changes from the event bus: any
 * committed event that names a deployment makes it read that deployment
 * again (records, rules, running decisions), so what it does always follows
 * the store, also across restarts. HTTP threads read its state (metrics,
 * rule states, Prometheus text) under its lock.
 */
#ifndef VNFM_MONITOR_H
#define VNFM_MONITOR_H

#include "core/core.h"
#include "monitor/probes/sched.h"
#include "util/sbuf.h"

struct monitor;

struct monitor *monitor_new(struct core *c, char *err, size_t errlen);
/* Stops probing and acting, on the loop thread (firings still in the
 * transactor's queue are then dropped). Blocking probes in flight are
 * waited for. */
void monitor_stop(struct monitor *m);
void monitor_free(struct monitor *m);
struct sched *monitor_sched(struct monitor *m);
/* The service "monitor" (core/service.h; arg is the struct monitor, until
 * monitor_stop): whether the scheduler's loop went round in the last
 * MONITOR_STALE_MS (health code 5030, seed Table 5). */
#define MONITOR_STALE_MS 5000
bool monitor_alive(void *arg, uint64_t now);
/* Fault "monitor-stall": the scheduler's loop blocks for seconds. */
void monitor_fault_stall(void *arg, unsigned seconds);

/* The rest is thread-safe. */

/* Feeds pushed values (values: metric -> number) of `push` metrics, all
 * or none. vi is a VI id or name, or NULL when a metric has a single VI.
 * 0, -ENOENT (no such deployment, metric or VI), -EINVAL (not a push
 * metric, or several VIs and none named), with field ("values.NAME") and
 * msg saying which; -EAGAIN instead of -ENOENT while the monitor has not
 * read the event bus up to seq (a change committed before the push that
 * it does not know yet): monitor_when_synced() tells when to try again,
 * with seq 0. Never blocks. */
#define PUSH_VALUES_MAX 64
int monitor_push(struct monitor *m, const char *dep, const char *vi, const json_t *values,
                 int64_t seq, char *field, size_t fieldlen, char *msg, size_t msglen);
/* On the loop: calls fn(c, arg, false) on the loop once the monitor has
 * read the bus up to seq, or PUSH_WAIT_MS later, or fn(c, arg, true) when
 * the monitor stops first. PUSH_WAIT_MS is a bound for a monitor that does
 * not go on (it is reported down after MONITOR_STALE_MS), not a wait. */
#define PUSH_WAIT_MS (2 * MONITOR_STALE_MS)
void monitor_when_synced(struct monitor *m, int64_t seq,
                         void (*fn)(struct core *c, void *arg, bool stopping), void *arg);
/* {"metrics": {...}, "rules": [...]} of a deployment, or NULL when the
 * monitor does not know it. */
json_t *monitor_view(struct monitor *m, const char *dep);
/* The last MONITOR_HISTORY values of each series (metric and VI) of a
 * deployment, with their wall times, in memory and saved in the data dir
 * (monitor.c: a restart keeps a series of the same VI process; a new VI
 * process starts a series afresh): {metric: {probe, interval_s, vis:
 * [{vi, name, samples (taken ever), history: [[t_ms, value], ...] oldest
 * first]}]}} of the series of metric (NULL = all) with the values taken
 * after since (epoch ms; 0 = all), or NULL when the monitor does not know
 * the deployment. 120 values of 16 bytes: 2 KiB a series. */
#define MONITOR_HISTORY 120
json_t *monitor_history(struct monitor *m, const char *dep, const char *metric, int64_t since);
/* {metric: value} of a deployment: for each metric of its monitoring, the
 * aggregate of its VIs' fresh last values that its VDU-wide rules look at
 * (what a branch reports to its cloud, fed/branch.c); NULL when the
 * monitor has no fresh value of it. */
json_t *monitor_values(struct monitor *m, const char *dep);
/* Every series in Prometheus text format; tenant NULL = all. */
void monitor_prometheus(struct monitor *m, struct sbuf *out, const char *tenant);

/* POST /v0/deployments/{id}/metrics on the transactor. */
struct txn;
void svc_metrics_push(struct core *c, struct txn *t);

#endif
