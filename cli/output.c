/* vnfmctl output: aligned tables for people, the server's JSON for scripts,
 * one-line errors. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int fail_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("vnfmctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see 'vnfmctl --help')\n", stderr);
    return EXIT_USAGE;
}

int fail_server(int status, const json_t *err)
{
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *field = json_string_value(json_object_get(err, "field"));
    const char *obj = json_string_value(json_object_get(err, "object"));

    fprintf(stderr, "vnfmctl: %s", msg ? msg : "the server refused the request");
    if (field)
        fprintf(stderr, " (field: %s)", field);
    else if (obj)
        fprintf(stderr, " (object: %s)", obj);
    fprintf(stderr, " [HTTP %d]\n", status);
    return EXIT_FAILED;
}

void print_json(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

    if (s)
        puts(s);
    free(s);
}

static const json_t *lookup(const json_t *row, const char *key)
{
    char part[64];
    const char *dot;

    while ((dot = strchr(key, '.'))) {
        snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
        row = json_object_get(row, part);
        key = dot + 1;
    }
    return json_object_get(row, key);
}

char *cell(const json_t *row, const char *key)
{
    const json_t *v = lookup(row, key);

    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%g", json_real_value(v));
    if (json_is_boolean(v))
        return xstrdup(json_is_true(v) ? "yes" : "no");
    if (json_is_array(v) || json_is_object(v))
        return json_dumps(v, JSON_COMPACT);
    return xstrdup("");
}

static char *column_text(const json_t *row, const struct column *col)
{
    return col->fn ? col->fn(row) : cell(row, col->key);
}

void print_table(const json_t *rows, const struct column *cols)
{
    size_t ncol = 0, nrow = json_array_size(rows), width[16] = {0};
    char **text;

    while (cols[ncol].header)
        ncol++;
    text = xcalloc(nrow * ncol + 1, sizeof(*text));
    for (size_t c = 0; c < ncol; c++)
        width[c] = strlen(cols[c].header);
    for (size_t r = 0; r < nrow; r++) {
        for (size_t c = 0; c < ncol; c++) {
            char *t = column_text(json_array_get(rows, r), &cols[c]);

            if (strlen(t) > 60)
                strcpy(t + 57, "...");
            text[r * ncol + c] = t;
            if (strlen(t) > width[c])
                width[c] = strlen(t);
        }
    }
    for (size_t c = 0; c < ncol; c++)
        printf("%-*s%s", c + 1 < ncol ? (int)width[c] : 0, cols[c].header,
               c + 1 < ncol ? "  " : "\n");
    for (size_t r = 0; r < nrow; r++) {
        for (size_t c = 0; c < ncol; c++) {
            printf("%-*s%s", c + 1 < ncol ? (int)width[c] : 0, text[r * ncol + c],
                   c + 1 < ncol ? "  " : "\n");
            free(text[r * ncol + c]);
        }
    }
    free(text);
}

void print_fields(const json_t *doc, const char *const *keys)
{
    size_t w = 0;

    for (const char *const *k = keys; *k; k++)
        if (strlen(*k) > w)
            w = strlen(*k);
    for (const char *const *k = keys; *k; k++) {
        char *v = cell(doc, *k), *label = xasprintf("%s:", *k);

        printf("%-*s %s\n", (int)w + 1, label, *v ? v : "-");
        free(label);
        free(v);
    }
}

char *url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *out = xstrdup(e);

    curl_free(e);
    return out;
}
