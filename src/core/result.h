/* The outcome of a request, shared by the REST and (later) NETCONF front
 * ends: an HTTP-style status and a JSON body. Errors carry a reason, one
 * line for people, and the offending field or object (docs/API.md). */
#ifndef VNFM_RESULT_H
#define VNFM_RESULT_H

#include <jansson.h>
#include <sys/types.h>

struct result {
    int status;
    json_t *body;      /* owned */
    char *raw;         /* or the body already serialized (owned) */
    const char *ctype; /* Content-Type of raw; NULL = application/json */
    char *file;        /* or a file sent as it is, of type ctype (owned path) */
    /* or a body of type ctype read in pieces (httpd_stream's read; release
     * frees cls, also when it is not sent) */
    ssize_t (*stream_read)(void *cls, char *buf, size_t max);
    void (*stream_release)(void *cls);
    void *stream_cls;
    char location[512];  /* Location header, or empty */
    char *link;          /* Link header (SOL013 5.4 paging), or NULL (owned) */
    char etag[48];       /* ETag header, or empty */
    const char *allow;   /* Allow header of a 405, or NULL (not owned) */
    const char *version; /* Version header (SOL013 4.6), when not the mount's (not owned) */
};

/* Sets status and takes ownership of body. Returns 0. */
int result_ok(struct result *r, int status, json_t *body);
/* Sets status and a body serialized elsewhere (taken). */
int result_raw(struct result *r, int status, char *json_text);
/* Sets an error. key is "field", "object" or NULL, naming what value is.
 * Returns -1 so that callers can `return result_fail(...)`. */
int result_fail(struct result *r, int status, const char *reason, const char *key,
                const char *value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Shorthands for the common cases. */
int result_not_found(struct result *r, const char *kind, const char *id);
int result_bad_field(struct result *r, const char *reason, const char *field, const char *msg);
void result_done(struct result *r);

#endif
