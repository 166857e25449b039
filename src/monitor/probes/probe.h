/* Agentless probes (seed para 58-59 and 84, F13).
 *
 * A probe measures one metric of one target (a VI) and yields whether the
 * target answered and, when it did, a value. Each kind of probe is a
 * `static const struct probe_ops` in its own file (probe_tcp.c, ...),
 * found by name with probe_find(). A probe is either asynchronous - it
 * starts on the scheduler's event loop and reports with probe_call_done()
 * - or blocking, and then the scheduler runs it on the monitoring worker
 * pool. Nothing sleeps or polls.
 */
#ifndef VNFM_PROBE_H
#define VNFM_PROBE_H

#include "util/ids.h"
#include "util/jsonv.h"
#include "util/sandbox.h"
#include "vim/vim.h"

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#define PROBE_ERR_MAX 160

/* What a probe is pointed at; immutable while the target is scheduled. */
struct probe_target {
    uint32_t ip; /* the VI's address, host byte order; 0 = none */
    char vi[VIM_ID_MAX];
    char name[VIM_NAME_MAX]; /* "deployment/vdu/index", for scripts and logs */
    char deployment[KEY_BUF_MAX];
    char metric[72];
    json_t *spec; /* the metric's definition (a reference owned by the target) */
    /* script probe: the sandbox it runs in (&sb), or NULL for the manager's rights */
    const struct sandbox *sandbox;
    struct sandbox sb;
    /* cgroup probe: the VI's VIM (thread-safe operations) and limits */
    const struct vim_ops *vim_ops;
    void *vim;
    struct vi_handle h; /* h.ref is vim_ref */
    json_t *vim_ref;    /* the driver's reference to the VI (a copy owned by the target) */
    unsigned vcpu_milli;
    uint64_t memory_bytes;
};

struct probe_result {
    bool ok;        /* the target answered as it should */
    bool has_value; /* value holds a measurement */
    double value;
    double latency_ms;
    char err[PROBE_ERR_MAX];
};

struct probe_call;

struct probe_ops {
    const char *name;
    /* Members of a metric definition this probe takes besides the common
     * ones (probe, vdu, interval_s, ...), NULL terminated. */
    const char *const *keys;
    /* Checks the probe's own members (field = "monitoring.metrics.NAME").
     * Optional. 0 or -EINVAL with err. */
    int (*validate)(const json_t *spec, const char *field, struct jv_error *err);
    /* Asynchronous probes: start on the scheduler's loop; report with
     * probe_call_done() exactly once; cancel() (after a timeout) must make
     * that happen soon, with an error. */
    int (*start)(struct probe_call *call);
    void (*cancel)(struct probe_call *call);
    /* Blocking probes: run on a monitoring worker, fill call->res. */
    void (*run)(struct probe_call *call);
    /* Frees the target's private state (call->tstate), if any. Optional. */
    void (*tstate_free)(void *tstate);
};

/* One probe of one target, from start to result. */
struct probe_call {
    const struct probe_ops *ops;
    const struct probe_target *t;
    uv_loop_t *loop;
    unsigned timeout_ms;
    uint64_t started_us;
    struct probe_result res;
    void *priv;    /* the probe's in-flight state */
    void **tstate; /* the probe's state kept between calls for this target */
    void (*done)(struct probe_call *call);
    void *arg; /* the scheduler's */
    bool finished;
};

/* Reports the end of an asynchronous probe (once; later calls are ignored). */
void probe_call_done(struct probe_call *call);
/* Sets res.ok false with a message. Returns -1. */
int probe_fail(struct probe_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const struct probe_ops *probe_find(const char *name);
/* Names of every probe, NULL terminated. */
extern const char *const probe_names[];

/* Reads a number from text such as "42", "0.15", " 3.5e2\n". */
bool probe_parse_number(const char *text, double *out);

extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_prometheus_ops;
extern const struct probe_ops probe_icmp_ops;
extern const struct probe_ops probe_snmp_ops;
extern const struct probe_ops probe_script_ops;
extern const struct probe_ops probe_cgroup_ops;
extern const struct probe_ops probe_push_ops;

#endif
