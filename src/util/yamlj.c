/* YAML to JSON over libyaml's event parser: a stack of open collections,
 * the anchors of ended nodes, and counters that bound what a hostile
 * document can make us build (yamlj.h). */
#include "util/yamlj.h"
#include "util/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define DEPTH_MAX   64
#define VALUES_MAX  1000000
#define ANCHORS_MAX 1000

struct frame {
    json_t *v; /* an array or an object */
    char *key; /* an object's key waiting for its value */
    yaml_mark_t key_at;
    char *anchor;  /* the collection's anchor, registered when it ends */
    size_t values; /* ctx.values when it started */
};

struct anchor {
    char *name;
    json_t *v;
    size_t values; /* what the node counts, aliases expanded */
};

struct ctx {
    struct yamlj_limits lim;
    struct frame stack[DEPTH_MAX + 1];
    unsigned depth;
    size_t values;
    struct anchor *anchors;
    unsigned n_anchors;
    json_t *root;
    char *err;
    size_t errlen;
};

static int fail(struct ctx *x, const yaml_mark_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *x, const yaml_mark_t *at, const char *fmt, ...)
{
    int n = snprintf(x->err, x->errlen, "line %zu column %zu: ", at->line + 1, at->column + 1);
    va_list ap;

    if (n < 0 || (size_t)n >= x->errlen)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(x->err + n, x->errlen - n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int count(struct ctx *x, size_t n, const yaml_mark_t *at)
{
    if (n > x->lim.max_values - x->values)
        return fail(x, at, "more than %zu values (aliases count as often as they are used)",
                    x->lim.max_values);
    x->values += n;
    return 0;
}

static int add_anchor(struct ctx *x, const char *name, json_t *v, size_t values,
                      const yaml_mark_t *at)
{
    struct anchor *a;

    if (x->n_anchors >= x->lim.max_anchors)
        return fail(x, at, "more than %u anchors", x->lim.max_anchors);
    x->anchors = xrealloc(x->anchors, (x->n_anchors + 1) * sizeof(*x->anchors));
    a = &x->anchors[x->n_anchors++];
    *a = (struct anchor){xstrdup(name), json_incref(v), values};
    return 0;
}

/* The last anchor of that name: a later one redefines it. */
static const struct anchor *find_anchor(const struct ctx *x, const char *name)
{
    for (unsigned i = x->n_anchors; i-- > 0;)
        if (strcmp(x->anchors[i].name, name) == 0)
            return &x->anchors[i];
    return NULL;
}

/* Puts v (taken) where the parser is: the document, the next item of a
 * sequence, or a mapping's key or value. */
static int place(struct ctx *x, json_t *v, const yaml_mark_t *at)
{
    struct frame *f = x->depth ? &x->stack[x->depth - 1] : NULL;

    if (!f) {
        x->root = v;
        return 0;
    }
    if (json_is_array(f->v)) {
        json_array_append_new(f->v, v);
        return 0;
    }
    if (!f->key) {
        int r = 0;

        if (!json_is_string(v))
            r = fail(x, at, "a mapping key must be a string");
        else {
            f->key = xstrdup(json_string_value(v));
            f->key_at = *at;
        }
        json_decref(v);
        return r;
    }
    if (json_object_get(f->v, f->key)) {
        json_decref(v);
        return fail(x, &f->key_at, "duplicate key '%.64s'", f->key);
    }
    json_object_set_new(f->v, f->key, v);
    free(f->key);
    f->key = NULL;
    return 0;
}

static bool plain_null(const yaml_event_t *e)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *s = (const char *)e->data.scalar.value;

    if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !e->data.scalar.plain_implicit)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
        if (strcmp(s, nulls[i]) == 0)
            return true;
    return false;
}

static int on_scalar(struct ctx *x, const yaml_event_t *e)
{
    const char *s = (const char *)e->data.scalar.value;
    size_t n = e->data.scalar.length;
    json_t *v;

    if (count(x, 1, &e->start_mark))
        return -EINVAL;
    if (memchr(s, '\0', n))
        return fail(x, &e->start_mark, "a string must not hold a NUL character");
    v = plain_null(e) ? json_null() : json_stringn(s, n);
    if (!v)
        return fail(x, &e->start_mark, "a string is not valid UTF-8");
    if (e->data.scalar.anchor &&
        add_anchor(x, (const char *)e->data.scalar.anchor, v, 1, &e->start_mark)) {
        json_decref(v);
        return -EINVAL;
    }
    return place(x, v, &e->start_mark);
}

static int on_alias(struct ctx *x, const yaml_event_t *e)
{
    const struct anchor *a = find_anchor(x, (const char *)e->data.alias.anchor);

    if (!a)
        return fail(x, &e->start_mark, "alias *%.64s names no anchor of a node that has ended",
                    (const char *)e->data.alias.anchor);
    if (count(x, a->values, &e->start_mark))
        return -EINVAL;
    return place(x, json_incref(a->v), &e->start_mark);
}

static int on_start(struct ctx *x, const yaml_event_t *e, json_t *v, const yaml_char_t *anchor)
{
    struct frame *f;

    if (x->depth >= x->lim.max_depth) {
        json_decref(v);
        return fail(x, &e->start_mark, "nested deeper than %u", x->lim.max_depth);
    }
    if (count(x, 1, &e->start_mark)) {
        json_decref(v);
        return -EINVAL;
    }
    f = &x->stack[x->depth++];
    *f = (struct frame){
        .v = v, .anchor = anchor ? xstrdup((const char *)anchor) : NULL, .values = x->values};
    return 0;
}

static int on_end(struct ctx *x, const yaml_event_t *e)
{
    struct frame f = x->stack[--x->depth];
    int r = 0;

    free(f.key); /* libyaml pairs every key with a value: never set here */
    if (f.anchor)
        r = add_anchor(x, f.anchor, f.v, x->values - f.values + 1, &e->start_mark);
    free(f.anchor);
    if (r) {
        json_decref(f.v);
        return r;
    }
    return place(x, f.v, &e->start_mark);
}

static int on_event(struct ctx *x, const yaml_event_t *e, int *docs)
{
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail(x, &e->start_mark, "more than one YAML document");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(x, e);
    case YAML_ALIAS_EVENT:
        return on_alias(x, e);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(x, e, json_array(), e->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(x, e, json_object(), e->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(x, e);
    default:
        return 0;
    }
}

static void ctx_done(struct ctx *x)
{
    while (x->depth > 0) {
        struct frame *f = &x->stack[--x->depth];

        json_decref(f->v);
        free(f->key);
        free(f->anchor);
    }
    for (unsigned i = 0; i < x->n_anchors; i++) {
        free(x->anchors[i].name);
        json_decref(x->anchors[i].v);
    }
    free(x->anchors);
}

static int parse_error(struct ctx *x, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return fail(x, &p->mark, "out of memory");
    if (p->context)
        return fail(x, &p->problem_mark, "%s %s (line %zu)", p->problem ? p->problem : "error",
                    p->context, p->context_mark.line + 1);
    return fail(x, &p->problem_mark, "%s", p->problem ? p->problem : "cannot read YAML");
}

int yamlj_parse(const char *text, size_t len, const struct yamlj_limits *lim, json_t **out,
                char *err, size_t errlen)
{
    struct ctx x = {.err = err, .errlen = errlen};
    yaml_parser_t p;
    int r = 0, docs = 0;
    bool end = false;

    x.lim.max_depth =
        lim && lim->max_depth && lim->max_depth < DEPTH_MAX ? lim->max_depth : DEPTH_MAX;
    x.lim.max_values = lim && lim->max_values ? lim->max_values : VALUES_MAX;
    x.lim.max_anchors = lim && lim->max_anchors ? lim->max_anchors : ANCHORS_MAX;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "cannot start the YAML parser");
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!r && !end) {
        yaml_event_t e;

        if (!yaml_parser_parse(&p, &e)) {
            r = parse_error(&x, &p);
            break;
        }
        end = e.type == YAML_STREAM_END_EVENT;
        r = on_event(&x, &e, &docs);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    ctx_done(&x);
    if (r) {
        json_decref(x.root);
        return r;
    }
    *out = x.root ? x.root : json_null();
    return 0;
}
