/* Waking the loop from another thread. libuv 1.44 (Debian 12) has the
 * loop spin, and sched_yield, while a sender is between the two halves of
 * uv_async_send: a sender preempted there stalls the loop for a scheduler
 * slice or more (seen: 2 to 10 ms on this 2-core machine, the tail of
 * report-to-decision, docs/BENCHMARKS.md). A wake is an eventfd the loop
 * polls: one write on the sender's side, nothing to wait for on the
 * loop's; a flag spares the write while a wake-up is pending. */
#ifndef VNFM_WAKE_H
#define VNFM_WAKE_H

#include <stdatomic.h>

#include <uv.h>

struct wake {
    uv_poll_t poll;
    int fd;
    atomic_int pending;
    void (*cb)(struct wake *w); /* on the loop, once per wake-up (several sends may make one) */
    void *data;
};

/* 0, or a negative errno. */
int wake_init(uv_loop_t *loop, struct wake *w, void (*cb)(struct wake *w), void *data);
/* From any thread (and the loop's). */
void wake_send(struct wake *w);
/* On the loop: no wake_send may follow. done runs with the poll handle
 * (its data is w) once the loop let go of it. */
void wake_close(struct wake *w, uv_close_cb done);

#endif
