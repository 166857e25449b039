#include "core/wake.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct wake *w = h->data;
    uint64_t n;

    (void)status;
    (void)events;
    while (read(w->fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    atomic_store(&w->pending, 0); /* a send from here on writes again */
    w->cb(w);
}

int wake_init(uv_loop_t *loop, struct wake *w, void (*cb)(struct wake *w), void *data)
{
    int r;

    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0)
        return -errno;
    w->cb = cb;
    w->data = data;
    atomic_init(&w->pending, 0);
    if ((r = uv_poll_init(loop, &w->poll, w->fd))) {
        close(w->fd);
        return r;
    }
    w->poll.data = w;
    /* fails only for an fd the loop already watches: not a new eventfd */
    r = uv_poll_start(&w->poll, UV_READABLE, on_poll);
    assert(r == 0);
    return 0;
}

void wake_send(struct wake *w)
{
    uint64_t one = 1;

    if (atomic_exchange(&w->pending, 1))
        return;
    while (write(w->fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void wake_close(struct wake *w, uv_close_cb done)
{
    uv_close((uv_handle_t *)&w->poll, done); /* stops polling: the fd can go */
    close(w->fd);
}
