#include "catalog/template.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 128

enum tag_kind { TAG_VAR, TAG_OPEN, TAG_CLOSE, TAG_DOT };

struct tag {
    enum tag_kind kind;
    char name[NAME_MAX_LEN];
    const char *start, *end; /* the whole "{{...}}" */
};

/* Finds the next tag at or after p. Returns 1 and fills t, 0 when there is
 * none, -EINVAL on a malformed tag. */
static int next_tag(const char *p, struct tag *t, char *err, size_t errlen)
{
    const char *open = strstr(p, "{{"), *close, *s, *e;
    size_t n;

    if (!open)
        return 0;
    close = strstr(open + 2, "}}");
    if (!close) {
        snprintf(err, errlen, "unterminated '{{'");
        return -EINVAL;
    }
    s = open + 2;
    e = close;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    t->kind = TAG_VAR;
    if (s < e && (*s == '#' || *s == '/')) {
        t->kind = *s == '#' ? TAG_OPEN : TAG_CLOSE;
        s++;
    }
    n = (size_t)(e - s);
    if (n == 1 && *s == '.' && t->kind == TAG_VAR)
        t->kind = TAG_DOT;
    if (n == 0 || n >= NAME_MAX_LEN) {
        snprintf(err, errlen, "empty or over-long name in '{{...}}'");
        return -EINVAL;
    }
    for (size_t i = 0; i < n && t->kind != TAG_DOT; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') {
            snprintf(err, errlen, "invalid character in name '%.*s'", (int)n, s);
            return -EINVAL;
        }
    }
    memcpy(t->name, s, n);
    t->name[n] = '\0';
    t->start = open;
    t->end = close + 2;
    return 1;
}

int tmpl_check(const char *tmpl, tmpl_known_fn known, void *arg, char *err, size_t errlen)
{
    char section[NAME_MAX_LEN] = "";
    struct tag t;
    int r;

    while ((r = next_tag(tmpl, &t, err, errlen)) > 0) {
        tmpl = t.end;
        if (t.kind == TAG_OPEN) {
            if (*section) {
                snprintf(err, errlen, "nested section '%s' inside '%s'", t.name, section);
                return -EINVAL;
            }
            if (!known(t.name, true, arg)) {
                snprintf(err, errlen, "'%s' is not a list variable", t.name);
                return -EINVAL;
            }
            snprintf(section, sizeof(section), "%s", t.name);
        } else if (t.kind == TAG_CLOSE) {
            if (strcmp(section, t.name) != 0) {
                snprintf(err, errlen, "'{{/%s}}' does not close an open section", t.name);
                return -EINVAL;
            }
            section[0] = '\0';
        } else if (t.kind == TAG_DOT) {
            if (!*section) {
                snprintf(err, errlen, "'{{.}}' outside a section");
                return -EINVAL;
            }
        } else if (!known(t.name, false, arg)) {
            snprintf(err, errlen, "unknown variable '%s'", t.name);
            return -EINVAL;
        }
    }
    if (r == 0 && *section) {
        snprintf(err, errlen, "section '%s' is not closed", section);
        return -EINVAL;
    }
    return r;
}

static void add_value(struct sbuf *b, const json_t *v)
{
    if (json_is_string(v))
        sbuf_adds(b, json_string_value(v));
    else if (json_is_integer(v))
        sbuf_addf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        sbuf_addf(b, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        sbuf_adds(b, json_is_true(v) ? "true" : "false");
}

/* Renders body (between a section's tags) for one item. */
static int render_body(struct sbuf *b, const char *p, const char *end, const json_t *vars,
                       const json_t *item, char *err, size_t errlen)
{
    struct tag t;
    int r;

    while ((r = next_tag(p, &t, err, errlen)) > 0 && t.start < end) {
        sbuf_add(b, p, (size_t)(t.start - p));
        add_value(b, t.kind == TAG_DOT ? item : json_object_get(vars, t.name));
        p = t.end;
    }
    if (r < 0)
        return r;
    sbuf_add(b, p, (size_t)(end - p));
    return 0;
}

static bool truthy(const json_t *v)
{
    return v && !json_is_null(v) && !json_is_false(v) &&
           !(json_is_string(v) && json_string_length(v) == 0);
}

/* Renders one section starting after its open tag; returns the text after
 * the close tag in *rest. */
static int render_section(struct sbuf *b, const struct tag *open, const json_t *vars,
                          const char **rest, char *err, size_t errlen)
{
    const json_t *v = json_object_get(vars, open->name);
    const char *body = open->end, *end = body;
    struct tag t;
    size_t i;
    json_t *item;

    for (;;) {
        if (next_tag(end, &t, err, errlen) <= 0) {
            snprintf(err, errlen, "section '%s' is not closed", open->name);
            return -EINVAL;
        }
        if (t.kind == TAG_CLOSE && strcmp(t.name, open->name) == 0)
            break;
        end = t.end;
    }
    *rest = t.end;
    end = t.start;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            if (render_body(b, body, end, vars, item, err, errlen))
                return -EINVAL;
        }
        return 0;
    }
    return truthy(v) ? render_body(b, body, end, vars, v, err, errlen) : 0;
}

int tmpl_render(const char *tmpl, const json_t *vars, char **out, char *err, size_t errlen)
{
    struct sbuf b = SBUF_INIT;
    const char *p = tmpl;
    struct tag t;
    int r;

    while ((r = next_tag(p, &t, err, errlen)) > 0) {
        sbuf_add(&b, p, (size_t)(t.start - p));
        p = t.end;
        if (t.kind == TAG_OPEN) {
            r = render_section(&b, &t, vars, &p, err, errlen);
            if (r)
                break;
        } else if (t.kind == TAG_VAR) {
            add_value(&b, json_object_get(vars, t.name));
        }
    }
    if (r < 0) {
        sbuf_done(&b);
        return r;
    }
    sbuf_adds(&b, p);
    *out = sbuf_take(&b);
    return 0;
}
