#include "core/result.h"
#include "util/ids.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int result_ok(struct result *r, int status, json_t *body)
{
    result_done(r);
    r->status = status;
    r->body = body;
    return 0;
}

int result_raw(struct result *r, int status, char *json_text)
{
    result_done(r);
    r->status = status;
    r->raw = json_text;
    return 0;
}

int result_fail(struct result *r, int status, const char *reason, const char *key,
                const char *value, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e = json_pack("{s:i, s:s, s:s}", "status", status, "error", reason, "message", msg);
    if (key && value)
        json_object_set_new(e, key, json_string(value));
    result_ok(r, status, e);
    return -1;
}

int result_not_found(struct result *r, const char *kind, const char *id)
{
    char obj[160];

    id = id_name(id); /* as the caller named it (core/names.h) */
    snprintf(obj, sizeof(obj), "%s/%s", kind, id);
    return result_fail(r, 404, "not-found", "object", obj, "%s '%s' not found", kind, id);
}

int result_bad_field(struct result *r, const char *reason, const char *field, const char *msg)
{
    return result_fail(r, 400, reason, "field", field, "%s", msg);
}

void result_done(struct result *r)
{
    json_decref(r->body);
    free(r->raw);
    free(r->file);
    free(r->link);
    if (r->stream_release)
        r->stream_release(r->stream_cls);
    r->stream_read = NULL;
    r->stream_release = NULL;
    r->stream_cls = NULL;
    r->link = NULL;
    r->etag[0] = '\0';
    r->body = NULL;
    r->raw = NULL;
    r->file = NULL;
    r->ctype = NULL;
    r->allow = NULL;
    r->version = NULL;
}
