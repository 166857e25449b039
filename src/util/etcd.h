/* A client of etcd's v3 API through its JSON gateway (etcd 3.4: POST
 * /v3/kv/range, /v3/kv/txn, /v3/watch, /v3/lease/...), over kept-alive
 * HTTP connections (libcurl). Used by the etcd store backend
 * (store/store_etcd.c) and by leader election (ha/).
 *
 * A client holds a list of endpoints and talks to one at a time; when that
 * one cannot be reached it moves to the next. Keys and values are base64 in
 * the gateway's JSON, and its 64-bit integers are strings: etcd_b64(),
 * etcd_unb64() and etcd_int() convert. Calls block; a client is used by one
 * thread at a time, except etcd_wake().
 */
#ifndef VNFM_ETCD_H
#define VNFM_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct etcd;

/* A client of the endpoints "HOST:PORT[,HOST:PORT...]" (an "http://" in
 * front of each is allowed). timeout_ms bounds each call (0: 3 s); a
 * connection attempt gets at most a third of it. -EINVAL with err for a
 * malformed list. Nothing is contacted yet. */
int etcd_open(const char *endpoints, unsigned timeout_ms, struct etcd **out, char *err,
              size_t errlen);
/* Accepts NULL. */
void etcd_close(struct etcd *e);

/* A store's location "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]" into its
 * endpoints and the prefix of its keys ("vnfm" when none), both malloc'd.
 * -EINVAL with err for a prefix of other than letters, digits, . _ - /. */
int etcd_location(const char *where, char **endpoints, char **prefix, char *err, size_t errlen);

/* POSTs body to path ("/v3/kv/txn") and parses the answer into *out (a new
 * reference). Returns 0 for an answer of 200; -EIO for a refusal by etcd
 * (etcd_errmsg() says why; -E2BIG when it is "too many operations in txn
 * request"); -ENOTCONN when no endpoint took the request (it was not
 * applied); -ETIMEDOUT when the answer did not come in time (it may have
 * been applied). */
int etcd_call(struct etcd *e, const char *path, const json_t *body, json_t **out);

/* Streams path (a watch, a lease keep-alive): fn(arg, result) is called for
 * the "result" member of each message the stream sends, in order. Returns
 * fn's value as soon as it is not 0; -EINTR after etcd_wake(); -ENOTCONN
 * when no endpoint takes the stream; -EPIPE when the stream ended or broke;
 * -EIO when etcd sent an error (etcd_errmsg()). idle_ms > 0: a stream
 * silent for that long is dropped (-ETIMEDOUT). */
int etcd_stream(struct etcd *e, const char *path, const json_t *body, unsigned idle_ms,
                int (*fn)(void *arg, json_t *result), void *arg);
/* Any thread: makes the running etcd_stream(), or the next one, return
 * -EINTR at once. */
void etcd_wake(struct etcd *e);

/* Why the last call failed, for logs; never NULL. */
const char *etcd_errmsg(const struct etcd *e);
/* The endpoint the client talks to ("127.0.0.1:2379"). */
const char *etcd_endpoint(const struct etcd *e);
/* Makes the client talk to the next endpoint from now on. */
void etcd_next_endpoint(struct etcd *e);

/* base64 of len bytes of data (malloc'd). */
char *etcd_b64(const void *data, size_t len);
/* The bytes of a base64 string, NUL terminated (malloc'd; *len without the
 * NUL when len is not NULL), or NULL when s is not base64. */
char *etcd_unb64(const char *s, size_t *len);
/* A gateway integer: "123", 123, or absent (0). */
int64_t etcd_int(const json_t *v);
/* range_end of every key that starts with prefix (malloc'd). */
char *etcd_prefix_end(const char *prefix);

#endif
