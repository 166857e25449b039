/* The event bus behind GET /v0/events: the loop publishes each committed
 * event-log record; HTTP threads read them through subscriptions. A ring
 * keeps the newest records; a reader that falls behind it catches up from
 * the store. Thread-safe.
 */
#ifndef VNFM_BUS_H
#define VNFM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct bus;
struct bus_sub;

/* Filter of a subscription; NULL members match everything. */
struct bus_filter {
    char *deployment;
    char *operation;
    char *category;
};

struct bus *bus_new(size_t ring_size);
/* Wakes every subscriber for the last time (they see the end of the stream). */
void bus_close(struct bus *b);
void bus_free(struct bus *b);
/* Publishes a record (must have "seq"). */
void bus_publish(struct bus *b, const json_t *rec);
int64_t bus_last_seq(struct bus *b);
/* Starts the bus after the newest record already in the store. */
void bus_set_last(struct bus *b, int64_t seq);

/* A subscription delivering records with seq > after. wake(arg) is called
 * (from the publishing thread, without bus locks held) when data arrives
 * for a reader that parked itself with BUS_PARK. */
struct bus_sub *bus_subscribe(struct bus *b, const struct bus_filter *f, int64_t after,
                              void (*wake)(void *arg), void *arg);
/* Ends a subscription, parked or not; returns once no wake callback runs,
 * so that its arg may be freed (a wake must not unsubscribe). */
void bus_unsubscribe(struct bus_sub *s);

/* Outcome of bus_read(). */
enum bus_read_rc {
    BUS_DATA,   /* *out holds the next matching record (new reference) */
    BUS_PARK,   /* nothing new: the reader was parked and park(arg) was called under
                   the bus lock; wake() follows */
    BUS_BEHIND, /* the ring no longer holds seq after+1: read the store from *after */
    BUS_CLOSED,
};
enum bus_read_rc bus_read(struct bus_sub *s, json_t **out, void (*park)(void *arg));
/* The seq of the last record delivered (or skipped by the filter). */
int64_t bus_sub_pos(const struct bus_sub *s);
/* Moves the position forward after the reader caught up from the store. */
void bus_sub_seek(struct bus_sub *s, int64_t seq);
/* Whether a record matches the subscription's filter. */
bool bus_match(const struct bus_sub *s, const json_t *rec);
/* Wakes every parked reader (keep-alive ticks). */
void bus_wake_all(struct bus *b);

#endif
