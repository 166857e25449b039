#include "monitor/probes/sched.h"
#include "core/wake.h"
#include "core/wpool.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CONTROL_MS 1000

struct call_req {
    void (*fn)(void *arg);
    void *arg;
    struct call_req *next;
};

struct sched {
    struct sched_opts o;
    char name[32];
    pthread_t thread;
    uv_loop_t loop;
    struct wake wake;
    uv_timer_t control;
    struct wpool *pool;
    pthread_mutex_t mu; /* calls, stopping */
    struct call_req *calls, *calls_tail;
    bool stopping;
    struct sched_entry *entries; /* every live entry, for the shutdown */
    /* statistics, read by other threads */
    atomic_uint_least64_t probes, failures, overruns;
    atomic_uint targets, pool_threads, pool_busy, pool_queued, resizes;
    _Atomic double pool_util;
    struct wpool_sizer sizer;
    atomic_uint_least64_t beat_ms; /* monotonic ms of the last control round (health) */
};

struct sched_entry {
    struct sched *s;
    const struct probe_ops *ops;
    struct probe_target *t;
    unsigned interval_ms, timeout_ms, retry_ms;
    sched_result_fn on_result;
    void *arg;
    uv_timer_t timer;
    struct probe_call *inflight;
    void *tstate;
    bool removed;
    struct sched_entry *prev, *next;
};

/* A blocking probe on its way through the monitoring pool. */
struct pjob {
    struct wjob w;
    struct probe_call call;
};

void probe_target_free(struct probe_target *t)
{
    if (!t)
        return;
    json_decref(t->spec);
    json_decref(t->vim_ref);
    free(t);
}

uv_loop_t *sched_loop(struct sched *s)
{
    return &s->loop;
}

/* ---- entries ---- */

static void entry_closed(uv_handle_t *h)
{
    struct sched_entry *e = h->data;

    if (e->ops->tstate_free && e->tstate)
        e->ops->tstate_free(e->tstate);
    probe_target_free(e->t);
    free(e);
}

static void entry_free(struct sched_entry *e)
{
    struct sched *s = e->s;

    if (e->prev)
        e->prev->next = e->next;
    else
        s->entries = e->next;
    if (e->next)
        e->next->prev = e->prev;
    atomic_fetch_sub(&s->targets, 1);
    uv_close((uv_handle_t *)&e->timer, entry_closed);
}

static void on_timer(uv_timer_t *timer);

static void arm(struct sched_entry *e, unsigned ms)
{
    uv_timer_start(&e->timer, on_timer, ms, 0);
}

static void finish_call(struct sched_entry *e, struct probe_call *call)
{
    struct sched *s = e->s;
    const struct probe_result *r = &call->res;

    e->inflight = NULL;
    atomic_fetch_add(&s->probes, 1);
    if (!r->ok)
        atomic_fetch_add(&s->failures, 1);
    if (e->removed) {
        entry_free(e);
        return;
    }
    e->on_result(e->arg, r);
    arm(e, !r->ok && e->retry_ms && e->retry_ms < e->interval_ms ? e->retry_ms : e->interval_ms);
}

static void async_done(struct probe_call *call)
{
    struct sched_entry *e = call->arg;

    call->res.latency_ms = (double)(mono_us() - call->started_us) / 1000.0;
    finish_call(e, call);
    free(call);
}

static void pjob_work(struct wjob *w)
{
    struct pjob *j = (struct pjob *)w;

    j->call.ops->run(&j->call);
    j->call.res.latency_ms = (double)(mono_us() - j->call.started_us) / 1000.0;
}

static void pjob_done(struct wjob *w)
{
    struct pjob *j = (struct pjob *)w;

    if (w->cancelled)
        probe_fail(&j->call, "the monitoring pool stopped");
    finish_call(j->call.arg, &j->call);
    free(j);
}

static void init_call(struct sched_entry *e, struct probe_call *call)
{
    call->ops = e->ops;
    call->t = e->t;
    call->loop = &e->s->loop;
    call->timeout_ms = e->timeout_ms;
    call->started_us = mono_us();
    call->tstate = &e->tstate;
    call->arg = e;
    call->res.ok = true;
}

static void start_probe(struct sched_entry *e)
{
    if (e->ops->run) {
        struct pjob *j = xcalloc(1, sizeof(*j));

        init_call(e, &j->call);
        j->w.work = pjob_work;
        j->w.done = pjob_done;
        e->inflight = &j->call;
        arm(e, e->interval_ms); /* an overrun guard: blocking probes time out themselves */
        wpool_submit(e->s->pool, &j->w);
        return;
    }
    struct probe_call *call = xcalloc(1, sizeof(*call));

    init_call(e, call);
    call->done = async_done;
    e->inflight = call;
    arm(e, e->timeout_ms);
    if (e->ops->start(call) < 0)
        probe_call_done(call);
}

static void on_timer(uv_timer_t *timer)
{
    struct sched_entry *e = timer->data;

    if (!e->inflight) {
        start_probe(e);
    } else if (e->ops->run) {
        atomic_fetch_add(&e->s->overruns, 1);
        arm(e, e->interval_ms);
    } else {
        probe_fail(e->inflight, "no answer within %u ms", e->timeout_ms);
        e->ops->cancel(e->inflight);
    }
}

static unsigned jitter(unsigned interval_ms)
{
    unsigned r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (unsigned)rand();
    return interval_ms ? r % interval_ms : 0;
}

struct sched_entry *sched_add(struct sched *s, const struct probe_ops *ops, struct probe_target *t,
                              unsigned interval_ms, unsigned timeout_ms, unsigned retry_ms,
                              sched_result_fn on_result, void *arg)
{
    struct sched_entry *e;

    if (!ops->run && !ops->start) {
        probe_target_free(t);
        return NULL;
    }
    e = xcalloc(1, sizeof(*e));
    e->s = s;
    e->ops = ops;
    e->t = t;
    e->interval_ms = interval_ms ? interval_ms : 1000;
    e->timeout_ms = timeout_ms ? timeout_ms : 1000;
    e->retry_ms = retry_ms;
    e->on_result = on_result;
    e->arg = arg;
    uv_timer_init(&s->loop, &e->timer);
    e->timer.data = e;
    e->next = s->entries;
    if (s->entries)
        s->entries->prev = e;
    s->entries = e;
    atomic_fetch_add(&s->targets, 1);
    arm(e, jitter(e->interval_ms));
    return e;
}

void sched_remove(struct sched_entry *e)
{
    if (!e || e->removed)
        return;
    e->removed = true;
    uv_timer_stop(&e->timer);
    if (!e->inflight) {
        entry_free(e);
    } else if (e->ops->cancel) {
        probe_fail(e->inflight, "unscheduled");
        e->ops->cancel(e->inflight);
    }
    /* a blocking probe in flight frees the entry when it comes back */
}

void sched_poke(struct sched_entry *e)
{
    if (e && !e->removed && !e->inflight)
        arm(e, 0);
}

/* ---- the pool's own scaling (F27) ---- */

static void control(uv_timer_t *t)
{
    struct sched *s = t->data;
    struct wpool_stats st;
    unsigned before = atomic_load(&s->pool_threads), now;

    atomic_store(&s->beat_ms, mono_ms());
    now = wpool_autosize(s->pool, &s->sizer);
    wpool_stats(s->pool, &st);
    atomic_store(&s->pool_util, s->sizer.util);
    atomic_store(&s->pool_threads, now);
    atomic_store(&s->pool_busy, st.busy);
    atomic_store(&s->pool_queued, st.queued);
    if (now != before) {
        log_info("monitoring pool: %u -> %u workers (utilization %.0f%%, %u queued)", before, now,
                 s->sizer.util * 100, st.queued);
        atomic_fetch_add(&s->resizes, 1);
    }
}

/* ---- the thread ---- */

static void shutdown_loop(struct sched *s)
{
    struct sched_entry *e, *next;

    uv_timer_stop(&s->control);
    uv_close((uv_handle_t *)&s->control, NULL);
    for (e = s->entries; e; e = next) {
        next = e->next;
        sched_remove(e);
    }
    wpool_free(s->pool); /* blocking probes come back cancelled and free their entries */
    s->pool = NULL;
    wake_close(&s->wake, NULL);
}

static void on_wake(struct wake *w)
{
    struct sched *s = w->data;
    struct call_req *list, *r;
    bool stop;

    pthread_mutex_lock(&s->mu);
    list = s->calls;
    s->calls = s->calls_tail = NULL;
    stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    while ((r = list)) {
        list = r->next;
        r->fn(r->arg);
        free(r);
    }
    if (stop)
        shutdown_loop(s);
}

static void *thread_main(void *arg)
{
    struct sched *s = arg;

    pthread_setname_np(pthread_self(), s->name);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

struct sched *sched_new(const struct sched_opts *o)
{
    struct sched *s = xcalloc(1, sizeof(*s));

    s->o = *o;
    if (s->o.pool_min < 1)
        s->o.pool_min = 1;
    if (s->o.pool_max < s->o.pool_min)
        s->o.pool_max = s->o.pool_min;
    if (s->o.util_high <= s->o.util_low) {
        s->o.util_low = 0.3;
        s->o.util_high = 0.8;
    }
    snprintf(s->name, sizeof(s->name), "%.15s", o->name ? o->name : "monitor");
    pthread_mutex_init(&s->mu, NULL);
    uv_loop_init(&s->loop);
    wake_init(&s->loop, &s->wake, on_wake, s);
    s->pool = wpool_new(&s->loop, "monitoring", s->o.pool_min);
    if (s->pool)
        wpool_set_limits(s->pool, s->o.pool_min, s->o.pool_max);
    s->sizer = (struct wpool_sizer){.low = s->o.util_low, .high = s->o.util_high};
    atomic_init(&s->pool_threads, s->o.pool_min);
    uv_timer_init(&s->loop, &s->control);
    s->control.data = s;
    atomic_init(&s->beat_ms, mono_ms());
    uv_timer_start(&s->control, control, CONTROL_MS, CONTROL_MS);
    if (!s->pool || pthread_create(&s->thread, NULL, thread_main, s)) {
        log_error("cannot start the monitoring scheduler");
        if (s->pool) /* the loop never ran: nothing is in flight */
            shutdown_loop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
        free(s);
        return NULL;
    }
    return s;
}

void sched_call(struct sched *s, void (*fn)(void *arg), void *arg)
{
    struct call_req *r = xcalloc(1, sizeof(*r));

    r->fn = fn;
    r->arg = arg;
    pthread_mutex_lock(&s->mu);
    if (s->calls_tail)
        s->calls_tail->next = r;
    else
        s->calls = r;
    s->calls_tail = r;
    pthread_mutex_unlock(&s->mu);
    wake_send(&s->wake);
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    wake_send(&s->wake); /* under mu: the thread, stopping, closes it after */
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    uv_loop_close(&s->loop);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

struct wpool *sched_pool(struct sched *s)
{
    return s->pool;
}

void sched_stats(struct sched *s, struct sched_stats *out)
{
    clockid_t cid;
    struct timespec ts;

    memset(out, 0, sizeof(*out));
    out->probes = atomic_load(&s->probes);
    out->failures = atomic_load(&s->failures);
    out->overruns = atomic_load(&s->overruns);
    out->targets = atomic_load(&s->targets);
    out->pool_threads = atomic_load(&s->pool_threads);
    out->pool_busy = atomic_load(&s->pool_busy);
    out->pool_queued = atomic_load(&s->pool_queued);
    out->pool_util = atomic_load(&s->pool_util);
    out->resizes = atomic_load(&s->resizes);
    out->last_beat_ms = atomic_load(&s->beat_ms);
    if (pthread_getcpuclockid(s->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
        out->loop_cpu_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
