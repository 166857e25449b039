/* vnfmctl output: aligned tables and "key: value" fields for people, the
 * server's JSON for scripts, one-line errors on stderr. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX 60 /* wider cells are cut, except in the last column */

int fail_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("vnfmctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'vnfmctl %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

int fail_server(int status, const json_t *err)
{
    /* ours, or a ProblemDetails' (SOL003, SOL013 6.4) */
    const char *msg = json_string_value(json_object_get(err, "message"))
                          ?: json_string_value(json_object_get(err, "detail"));
    const char *field = json_string_value(json_object_get(err, "field"));
    const char *obj = json_string_value(json_object_get(err, "object"));

    fprintf(stderr, "vnfmctl: %s", msg ? msg : "the server refused the request");
    if (field)
        fprintf(stderr, " (field: %s)", field);
    if (obj)
        fprintf(stderr, " (object: %s)", obj);
    fprintf(stderr, " [HTTP %d]\n", status);
    return EXIT_FAILED;
}

void print_json(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY);

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

static bool is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

static char *scalar(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%g", json_real_value(v));
    if (json_is_boolean(v))
        return xstrdup(json_is_true(v) ? "yes" : "no");
    return xstrdup("");
}

/* "k=v k=v" for an object of scalars, "a, b" for an array of scalars, else
 * compact JSON. */
static char *flat(const json_t *v)
{
    struct sbuf b = SBUF_INIT;
    const char *k;
    json_t *m;
    size_t i;

    json_object_foreach((json_t *)v, k, m)
    {
        if (!is_scalar(m))
            goto json;
    }
    json_array_foreach(v, i, m)
    {
        if (!is_scalar(m))
            goto json;
    }
    json_object_foreach((json_t *)v, k, m)
    {
        char *t = scalar(m);

        sbuf_addf(&b, "%s%s=%s", b.len ? " " : "", k, t);
        free(t);
    }
    json_array_foreach(v, i, m)
    {
        char *t = scalar(m);

        sbuf_addf(&b, "%s%s", i ? ", " : "", t);
        free(t);
    }
    return sbuf_take(&b);
json:
    sbuf_done(&b);
    return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
}

char *cell(const json_t *row, const char *key)
{
    const json_t *v = lookup(row, key);

    return is_scalar(v) ? scalar(v) : flat(v);
}

static char *column_text(const json_t *row, const struct column *col, bool last)
{
    char *t = col->fn ? col->fn(row) : cell(row, col->key);

    t[strcspn(t, "\n")] = '\0';
    if (!last && strlen(t) > CELL_MAX)
        strcpy(t + CELL_MAX - 3, "...");
    return t;
}

/* One row, without padding after its last non-empty cell. */
static void print_row(char *const *text, const size_t *width, size_t ncol)
{
    size_t last = ncol - 1;

    while (last > 0 && !*text[last])
        last--;
    for (size_t c = 0; c < last; c++)
        printf("%-*s  ", (int)width[c], text[c]);
    printf("%s\n", text[last]);
}

void print_table(const json_t *rows, const struct column *cols)
{
    size_t ncol = 0, nrow = json_array_size(rows), *width;
    char **text;

    while (cols[ncol].header)
        ncol++;
    width = xcalloc(ncol, sizeof(*width));
    text = xcalloc((nrow + 1) * ncol, sizeof(*text));
    for (size_t c = 0; c < ncol; c++) {
        text[c] = xstrdup(cols[c].header);
        width[c] = strlen(text[c]);
    }
    for (size_t r = 0; r < nrow; r++) {
        for (size_t c = 0; c < ncol; c++) {
            char *t = column_text(json_array_get(rows, r), &cols[c], c + 1 == ncol);

            text[(r + 1) * ncol + c] = t;
            if (strlen(t) > width[c])
                width[c] = strlen(t);
        }
    }
    for (size_t r = 0; r <= nrow; r++)
        print_row(text + r * ncol, width, ncol);
    for (size_t i = 0; i < (nrow + 1) * ncol; i++)
        free(text[i]);
    free(text);
    free(width);
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

int show_list(struct ctl *c, const char *path, const char *key, const struct column *cols)
{
    json_t *doc = NULL;
    int rc = ctl_call(c, "GET", path, NULL, NULL, &doc);

    if (rc)
        return rc;
    if (c->json)
        print_json(doc);
    else
        print_table(json_object_get(doc, key), cols);
    json_decref(doc);
    return EXIT_OK;
}

int show_detail(struct ctl *c, const char *path, const char *const *keys, const char *key,
                const struct column *cols)
{
    json_t *doc = NULL;
    int rc = ctl_call(c, "GET", path, NULL, NULL, &doc);

    if (rc)
        return rc;
    if (c->json) {
        print_json(doc);
    } else {
        print_fields(doc, keys);
        if (key) {
            putchar('\n');
            print_table(json_object_get(doc, key), cols);
        }
    }
    json_decref(doc);
    return EXIT_OK;
}

int show_one(struct ctl *c, const char *path, const char *const *keys)
{
    return show_detail(c, path, keys, NULL, NULL);
}

/* Sends a change and prints the answer: JSON, the fields in keys, or done
 * (for an empty answer). Consumes body. */
int show_change(struct ctl *c, const char *method, const char *path, json_t *body,
                const char *const *keys, const char *done)
{
    json_t *doc = NULL;
    int rc = ctl_call(c, method, path, body, NULL, &doc);

    json_decref(body);
    if (rc)
        return rc;
    if (c->json && doc)
        print_json(doc);
    else if (!c->json && keys && doc)
        print_fields(doc, keys);
    else if (!c->json && done)
        puts(done);
    json_decref(doc);
    return EXIT_OK;
}
