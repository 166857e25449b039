#include "core/wpool.h"
#include "core/wake.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct wpool {
    char name[32];
    struct wake wake; /* wakes the loop when jobs are done */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* work queued, resize or stop */
    pthread_cond_t exit_cv; /* a thread exited */
    struct wjob *queue_head, *queue_tail;
    struct wjob *done_head, *done_tail;
    unsigned threads, want, busy, queued;
    unsigned min, max; /* limits of its sizing, 0: none (wpool_set_limits) */
    uint64_t completed, last_beat;
    uint64_t busy_us; /* time spent in work(), summed over the jobs */
    bool stopping;
};

static void push(struct wjob **head, struct wjob **tail, struct wjob *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static struct wjob *pop(struct wjob **head, struct wjob **tail)
{
    struct wjob *job = *head;

    if (job) {
        *head = job->next;
        if (!*head)
            *tail = NULL;
    }
    return job;
}

/* Called with mu held: whether this worker should leave. */
static bool should_exit(struct wpool *p)
{
    return p->stopping || p->threads > p->want;
}

static void *worker(void *arg)
{
    struct wpool *p = arg;
    struct wjob *job;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->queue_head && !should_exit(p))
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (should_exit(p))
            break;
        job = pop(&p->queue_head, &p->queue_tail);
        job->cancelled = 0;
        p->queued--;
        p->busy++;
        p->last_beat = mono_ms();
        pthread_mutex_unlock(&p->mu);

        uint64_t t0 = mono_us();
        job->work(job);
        uint64_t took = mono_us() - t0;

        pthread_mutex_lock(&p->mu);
        p->busy_us += took;
        p->busy--;
        p->completed++;
        p->last_beat = mono_ms();
        push(&p->done_head, &p->done_tail, job);
        wake_send(&p->wake);
    }
    p->threads--;
    pthread_cond_broadcast(&p->exit_cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Called with mu held. */
static int spawn_worker(struct wpool *p)
{
    pthread_attr_t attr;
    pthread_t tid;
    int r;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    r = pthread_create(&tid, &attr, worker, p);
    pthread_attr_destroy(&attr);
    if (r) {
        log_error("%s pool: cannot start a worker thread: error %d", p->name, r);
        return -r;
    }
    p->threads++;
    return 0;
}

static void on_done(struct wake *w)
{
    struct wpool *p = w->data;
    struct wjob *list, *job;

    pthread_mutex_lock(&p->mu);
    list = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while ((job = list)) {
        list = job->next;
        job->done(job);
    }
}

struct wpool *wpool_new(uv_loop_t *loop, const char *name, unsigned n)
{
    struct wpool *p = xcalloc(1, sizeof(*p));

    snprintf(p->name, sizeof(p->name), "%s", name);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->exit_cv, NULL);
    if (wake_init(loop, &p->wake, on_done, p)) {
        free(p);
        return NULL;
    }
    p->last_beat = mono_ms();
    wpool_resize(p, n);
    return p;
}

void wpool_resize(struct wpool *p, unsigned n)
{
    if (n < 1)
        n = 1;
    pthread_mutex_lock(&p->mu);
    p->want = n;
    while (p->threads < p->want && spawn_worker(p) == 0)
        ;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void wpool_set_limits(struct wpool *p, unsigned min, unsigned max)
{
    pthread_mutex_lock(&p->mu);
    p->min = min ? min : 1;
    p->max = max > p->min ? max : p->min;
    pthread_mutex_unlock(&p->mu);
}

unsigned wpool_autosize(struct wpool *p, struct wpool_sizer *z)
{
    struct wpool_stats st;
    uint64_t now = mono_us();
    unsigned want;

    wpool_stats(p, &st);
    z->util = z->at_us && now > z->at_us && st.threads
                  ? (double)(st.busy_us - z->busy_us) / ((double)(now - z->at_us) * st.threads)
                  : 0;
    z->busy_us = st.busy_us;
    z->at_us = now;
    want = st.threads;
    if ((z->util > z->high || st.queued > 0) && st.threads < st.max)
        want = (unsigned)ceil(st.threads * z->util / ((z->low + z->high) / 2)) + 1;
    else if (z->util < z->low && st.queued == 0 && st.threads > st.min)
        want = st.threads - 1;
    if (want > st.max)
        want = st.max;
    if (want < st.min)
        want = st.min;
    if (want != st.threads)
        wpool_resize(p, want);
    return want;
}

void wpool_submit(struct wpool *p, struct wjob *job)
{
    pthread_mutex_lock(&p->mu);
    push(&p->queue_head, &p->queue_tail, job);
    p->queued++;
    /* every worker taken: one more at once, within the limits */
    if (p->queued > p->threads - p->busy && p->threads < p->max && !p->stopping &&
        spawn_worker(p) == 0)
        p->want = p->threads;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void wpool_stats(struct wpool *p, struct wpool_stats *st)
{
    pthread_mutex_lock(&p->mu);
    st->threads = p->threads;
    st->min = p->max ? p->min : p->threads;
    st->max = p->max ? p->max : p->threads;
    st->busy = p->busy;
    st->queued = p->queued;
    st->completed = p->completed;
    st->busy_us = p->busy_us;
    st->last_beat_ms = p->busy < p->threads ? mono_ms() : p->last_beat;
    pthread_mutex_unlock(&p->mu);
}

bool wpool_alive(struct wpool *p, uint64_t now, uint64_t watchdog_ms)
{
    struct wpool_stats st;

    wpool_stats(p, &st);
    if (st.threads == 0)
        return false;
    return !(st.busy == st.threads && st.queued > 0 &&
             ms_since(now, st.last_beat_ms) > watchdog_ms);
}

struct stall {
    struct wjob w;
    unsigned seconds;
};

static void stall_work(struct wjob *w)
{
    sleep(((struct stall *)w)->seconds);
}

static void stall_done(struct wjob *w)
{
    free(w);
}

void wpool_stall(struct wpool *p, unsigned seconds)
{
    struct wpool_stats st;

    wpool_stats(p, &st); /* as many as the pool can grow to, and one more waiting */
    for (unsigned i = 0; i <= st.max; i++) {
        struct stall *s = xcalloc(1, sizeof(*s));

        s->w.work = stall_work;
        s->w.done = stall_done;
        s->seconds = seconds;
        wpool_submit(p, &s->w);
    }
}

const char *wpool_name(const struct wpool *p)
{
    return p->name;
}

static void free_pool(uv_handle_t *h)
{
    struct wpool *p = ((struct wake *)h->data)->data;

    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->exit_cv);
    free(p);
}

void wpool_free(struct wpool *p)
{
    struct wjob *job;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    while (p->threads > 0)
        pthread_cond_wait(&p->exit_cv, &p->mu);
    while ((job = pop(&p->queue_head, &p->queue_tail))) {
        job->cancelled = 1;
        push(&p->done_head, &p->done_tail, job);
    }
    pthread_mutex_unlock(&p->mu);
    on_done(&p->wake);
    wake_close(&p->wake, free_pool);
}
