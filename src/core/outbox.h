/* The outbox: messages to other systems (SOL003 notifications, Callback
 * notifications, webhook actions of the rules engine, and later messages
 * between managers), delivered by HTTP POST from the configuration pool.
 *
 * An entry is written into the store (kind outbox) inside the transaction
 * of the change it reports: a change rolled back sends nothing, and a crash
 * loses nothing, since delivery starts only after the commit and an entry
 * leaves the store only in the transaction that records its end.
 *
 * Each entry has a channel, which registered how to complete its request
 * and what to do when it ends, and a destination key (a subscription, a
 * URL). Per key, entries go out oldest first and one at a time; a failed
 * attempt is retried after a backoff of the key (0.5 s doubling with each
 * failure in a row at that key, at most 60 s, reset by a success), up to
 * the channel's attempts. A key's queue is read through the store's index
 * (its head only) and woken by a timer of its own: nothing lists the
 * whole outbox after start-up.
 *
 * Bounds: at most key_max entries per key and max in all (config
 * --outbox-key-max, --outbox-max). A new entry beyond them drops the oldest
 * one not in flight (of its key, else of the whole outbox); the drop is
 * told to the entry's channel, counted in /metrics and logged as an
 * api/outbox event (the first drop at once, then at most one summary a
 * minute per key).
 *
 * Everything here runs on the loop thread, except outbox_stats().
 */
#ifndef VNFM_OUTBOX_H
#define VNFM_OUTBOX_H

#include "core/core.h"

#include <stdint.h>

#define OUTBOX_HEADERS_MAX  8
#define OUTBOX_CHANNELS_MAX 8

/* The request of an entry, as it goes on the wire; a channel's prepare may
 * complete it (strings are malloc'd and owned by the outbox). */
struct outbox_req {
    char *url, *body;
    char *headers[OUTBOX_HEADERS_MAX + 1]; /* "Name: value", NULL terminated */
    char *user, *password;                 /* HTTP Basic authentication when user is set */
    unsigned deny;                         /* addresses it may not reach (HTTPC_DENY_*) */
};

/* Adds a header line "Name: value" (formatted) to rq; beyond
 * OUTBOX_HEADERS_MAX it is ignored. */
void outbox_req_header(struct outbox_req *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

enum outbox_result {
    OUTBOX_DELIVERED, /* answered 2xx: the entry is gone */
    OUTBOX_FAILED,    /* an attempt failed; the entry is retried later */
    OUTBOX_GIVEN_UP,  /* the last attempt failed: the entry is gone */
    OUTBOX_DROPPED,   /* a bound pushed it out before it was delivered: gone */
};

struct outbox_outcome {
    enum outbox_result result;
    unsigned attempt, attempts; /* this attempt (from 1) and the channel's most */
    const char *why;            /* "HTTP 204", "connection refused", "more than 1000 ..." */
    long status;                /* HTTP status, 0 when there was no answer */
};

struct outbox_channel {
    const char *name;
    unsigned attempts; /* tries per entry (1: none again) */
    /* Optional: completes the request of entry rec just before each
     * attempt (credentials, headers that depend on the destination's
     * current state). Returns 0, or -ENOENT when the destination is gone:
     * the entry is deleted without a word. */
    int (*prepare)(struct core *c, const json_t *rec, struct outbox_req *rq);
    /* Optional: after each attempt and when an entry is dropped, inside
     * the transaction that records it. */
    void (*report)(struct core *c, const json_t *rec, const struct outbox_outcome *o);
};

/* What outbox_put queues. */
struct outbox_msg {
    const char *channel; /* a registered channel's name */
    const char *key;     /* the destination: one at a time per key, in order */
    const char *id;      /* NULL: a new random one */
    const char *object;  /* for events, e.g. "subscription/ID" */
    const char *url;
    json_t *body;    /* stolen: a JSON document, or a JSON string sent as it is */
    json_t *headers; /* stolen, may be NULL: array of "Name: value" strings */
    json_t *extra;   /* stolen, may be NULL: members merged into the entry (the channel's) */
    bool by_tenant;  /* a tenant gave the destination: --tenant-destinations applies */
};

struct outbox;

/* Creates the outbox of c (c->outbox), delivering nothing before
 * outbox_start(). key_max and max: the bounds (0: the defaults). */
struct outbox *outbox_new(struct core *c, unsigned key_max, unsigned max);
/* Registers a channel (ch must outlive the outbox); at most
 * OUTBOX_CHANNELS_MAX. */
void outbox_register(struct outbox *ob, const struct outbox_channel *ch);
/* Starts delivering what the store holds (after recovery). */
void outbox_start(struct outbox *ob);
/* Stops scheduling deliveries; those in flight still record their end
 * (the pools stop after it). What is undelivered stays for the next start. */
void outbox_stop(struct outbox *ob);
/* Releases it, after the pools stopped; accepts NULL. */
void outbox_free(struct outbox *ob);

/* Queues m in the open transaction; it goes out once that has committed.
 * Returns 0 or a negative errno (the store failed; logged). */
int outbox_put(struct core *c, struct outbox_msg *m);
/* Deletes every entry of key in the open transaction (its destination is
 * gone); their channels are not told. Returns how many. */
long outbox_forget(struct core *c, const char *key);

struct outbox_channel_stats {
    const char *name;
    uint64_t pending;   /* entries in the store */
    uint64_t attempts;  /* deliveries tried, since start */
    uint64_t delivered; /* answered 2xx */
    uint64_t given_up;  /* ended after their last failed attempt */
    uint64_t dropped;   /* pushed out by a bound */
};

struct outbox_stats {
    unsigned keys;  /* destinations with entries */
    uint64_t reads; /* entries read from the store (work, for tests and /metrics) */
    unsigned n;
    struct outbox_channel_stats ch[OUTBOX_CHANNELS_MAX];
};

/* Any thread. */
void outbox_stats(struct outbox *ob, struct outbox_stats *st);

#endif
