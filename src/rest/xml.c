/* JSON <-> XML mapping of the native REST API (xml.h). */
#include "rest/xml.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define MAX_DEPTH 64

/* Element order of Table 4 (seed para 47) for a tenant: these first. */
static const struct {
    const char *root;
    const char *const first[6];
} order_hints[] = {
    {"tenant",
     {"external_tenant_id", "internal_tenant_id", "name", "enabled", "description", NULL}},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_parser(void)
{
    xmlInitParser(); /* must run once before threads parse */
}

bool xml_media(const char *value)
{
    return value && (strcasestr(value, "application/xml") || strcasestr(value, "text/xml") ||
                     strcasestr(value, "+xml"));
}

char *xml_singular(const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);

    if (n > 1 && n < size && name[n - 1] == 's' && name[n - 2] != 's') {
        memcpy(buf, name, n - 1);
        buf[n - 1] = '\0';
    } else {
        snprintf(buf, size, "item");
    }
    return buf;
}

const char *xml_root_of(const json_t *doc, const char *fallback, bool *list)
{
    const char *key;
    json_t *v;

    *list = false;
    if (json_is_object(doc) && json_object_size(doc) == 1) {
        json_object_foreach((json_t *)doc, key, v)
        {
            if (json_is_array(v)) {
                *list = true;
                return key;
            }
        }
    }
    return fallback;
}

/* ---- XML to JSON ---- */

struct rd {
    struct jv_error *err;
    int depth;
};

static int rd_fail(struct rd *r, const char *reason, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int rd_fail(struct rd *r, const char *reason, const char *path, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    jv_fail(r->err, reason, path, "%s", msg);
    return -EINVAL;
}

static xmlNode *first_elem(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

static xmlNode *next_elem(xmlNode *n)
{
    return first_elem(n->next);
}

static bool attr_is(xmlNode *n, const char *name, const char *value)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    bool yes = v && strcmp((const char *)v, value) == 0;

    xmlFree(v);
    return yes;
}

/* The member name of child: its key="..." attribute, else its name. */
static char *member_name(xmlNode *child)
{
    xmlChar *key = xmlGetProp(child, (const xmlChar *)"key");
    char *out = xstrdup(key ? (const char *)key : (const char *)child->name);

    xmlFree(key);
    return out;
}

static char *text_of(xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    char *out = xstrdup(t ? (const char *)t : "");

    xmlFree(t);
    return out;
}

/* The text without surrounding blanks, in place. */
static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static json_t *parse_int(const char *s)
{
    char *end;
    long long v;

    if (!*s)
        return NULL;
    errno = 0;
    v = strtoll(s, &end, 10);
    return *end || errno ? NULL : json_integer(v);
}

static json_t *parse_number(const char *s)
{
    json_t *i = parse_int(s);
    char *end;
    double d;

    if (i || !*s)
        return i;
    errno = 0;
    d = strtod(s, &end);
    return *end || errno ? NULL : json_real(d);
}

static json_t *parse_bool(const char *s)
{
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    return NULL;
}

/* A leaf's text as the JSON type want (JV_ANY: inferred, or forced by a
 * type="..." attribute). Text that does not parse stays a string. */
static json_t *leaf_value(xmlNode *n, enum jv_type want)
{
    char *raw = text_of(n), *s = trim(raw);
    json_t *v = NULL;

    if (want == JV_ANY) {
        if (attr_is(n, "type", "string"))
            want = JV_STRING;
        else if (attr_is(n, "type", "integer"))
            want = JV_INT;
        else if (attr_is(n, "type", "number"))
            want = JV_NUMBER;
        else if (attr_is(n, "type", "boolean"))
            want = JV_BOOL;
    }
    switch (want) {
    case JV_INT:
        v = parse_int(s);
        break;
    case JV_NUMBER:
        v = parse_number(s);
        break;
    case JV_BOOL:
        v = parse_bool(s);
        break;
    case JV_ANY:
        v = parse_bool(s);
        if (!v)
            v = parse_number(s);
        break;
    default:
        break;
    }
    if (!v)
        v = json_string(raw);
    free(raw);
    return v;
}

static int node_value(struct rd *r, xmlNode *n, const struct jv_field *f, const char *path,
                      json_t **out);

static void child_path(char *buf, size_t size, const char *path, const char *name)
{
    snprintf(buf, size, "%s%s%s", path, *path ? "." : "", name);
}

/* Children as the members of an object (JV_OBJECT: schema per member; JV_MAP:
 * one schema for all; else inferred). */
static int object_value(struct rd *r, xmlNode *n, const struct jv_field *f, const char *path,
                        json_t **out)
{
    json_t *obj = json_object();
    char sub[256];

    for (xmlNode *ch = first_elem(n->children); ch; ch = next_elem(ch)) {
        char *name = member_name(ch);
        const struct jv_field *cf = NULL;
        json_t *v;

        if (f && f->type == JV_MAP)
            cf = f->item;
        for (const struct jv_field *m = f && f->type == JV_OBJECT ? f->fields : NULL; m && m->name;
             m++)
            if (strcmp(m->name, name) == 0)
                cf = m;
        child_path(sub, sizeof(sub), path, name);
        if (json_object_get(obj, name)) {
            free(name);
            json_decref(obj);
            return rd_fail(r, "invalid-value", sub, "the element appears more than once");
        }
        if (node_value(r, ch, cf, sub, &v)) {
            free(name);
            json_decref(obj);
            return -EINVAL;
        }
        json_object_set_new(obj, name, v);
        free(name);
    }
    *out = obj;
    return 0;
}

static int array_value(struct rd *r, xmlNode *n, const struct jv_field *f, const char *path,
                       json_t **out)
{
    json_t *arr = json_array();
    char sub[256];
    size_t i = 0;

    for (xmlNode *ch = first_elem(n->children); ch; ch = next_elem(ch), i++) {
        json_t *v;

        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (node_value(r, ch, f ? f->item : NULL, sub, &v)) {
            json_decref(arr);
            return -EINVAL;
        }
        json_array_append_new(arr, v);
    }
    *out = arr;
    return 0;
}

/* Without a schema: children that all share one name (more than one, or
 * called "item") are a list, other children an object. */
static bool looks_like_list(xmlNode *n)
{
    xmlNode *first = first_elem(n->children), *ch;
    unsigned count = 0;

    for (ch = first; ch; ch = next_elem(ch), count++)
        if (strcmp((const char *)ch->name, (const char *)first->name) != 0)
            return false;
    return count > 1 || (first && strcmp((const char *)first->name, "item") == 0);
}

static int node_value(struct rd *r, xmlNode *n, const struct jv_field *f, const char *path,
                      json_t **out)
{
    enum jv_type t = f ? f->type : JV_ANY;
    bool has_children = first_elem(n->children) != NULL;
    int rc;

    if (++r->depth > MAX_DEPTH) {
        r->depth--;
        return rd_fail(r, "bad-xml", path, "the document is nested deeper than %d", MAX_DEPTH);
    }
    if (attr_is(n, "nil", "true"))
        *out = json_null(), rc = 0;
    else if (t == JV_ARRAY || (t == JV_ANY && has_children && looks_like_list(n)))
        rc = array_value(r, n, f, path, out);
    else if (t == JV_OBJECT || t == JV_MAP || has_children)
        rc = object_value(r, n, f, path, out);
    else
        *out = leaf_value(n, t), rc = 0;
    r->depth--;
    return rc;
}

int xml_to_json(const char *text, size_t len, const struct jv_field *schema, json_t **out,
                struct jv_error *err)
{
    struct rd r = {err, 0};
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    xmlNode *root;
    int rc;

    pthread_once(&init_once, init_parser);
    if (len > INT32_MAX)
        return rd_fail(&r, "bad-xml", "", "the XML document is too large");
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return rd_fail(&r, "bad-xml", "", "cannot parse XML: out of memory");
    doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[256];

        snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
        msg[strcspn(msg, "\n")] = '\0';
        rc = rd_fail(&r, "bad-xml", "", "malformed XML at line %d: %s", e ? e->line : 0, msg);
    } else if (doc->intSubset || doc->extSubset) {
        rc = rd_fail(&r, "bad-xml", "", "XML documents with a DTD are not accepted");
    } else if (!(root = xmlDocGetRootElement(doc))) {
        rc = rd_fail(&r, "bad-xml", "", "the XML document has no root element");
    } else {
        rc = node_value(&r, root, schema, "", out);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* ---- JSON to XML ---- */

/* Text without the characters XML 1.0 cannot carry (C0 controls but tab
 * and newlines); they come from VNF consoles in error messages. */
static char *xml_text(const char *s)
{
    char *out = xstrdup(s);

    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            *p = '?';
    return out;
}

static char *scalar_text(const json_t *v)
{
    char buf[64];

    if (json_is_string(v))
        return xml_text(json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.10g", json_real_value(v));
    else
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    return xstrdup(buf);
}

static void add_value(xmlNodePtr parent, const char *name, const json_t *v, int depth);

/* An element named name, or <entry key="name"> when name is no XML name. */
static xmlNodePtr new_elem(xmlNodePtr parent, const char *name, const char *text)
{
    bool ok = xmlValidateNCName((const xmlChar *)name, 0) == 0 && strncasecmp(name, "xml", 3);
    xmlNodePtr e = xmlNewTextChild(parent, NULL, (const xmlChar *)(ok ? name : "entry"),
                                   (const xmlChar *)text);

    if (!ok)
        xmlNewProp(e, (const xmlChar *)"key", (const xmlChar *)name);
    return e;
}

static const char *const *hints_for(const char *root, int depth)
{
    for (size_t i = 0; depth == 0 && i < ARRAY_SIZE(order_hints); i++)
        if (strcmp(order_hints[i].root, root) == 0)
            return order_hints[i].first;
    return NULL;
}

static bool hinted(const char *const *first, const char *key)
{
    for (; first && *first; first++)
        if (strcmp(*first, key) == 0)
            return true;
    return false;
}

static void add_members(xmlNodePtr e, const char *name, const json_t *obj, int depth)
{
    const char *const *first = hints_for(name, depth);
    const char *key;
    json_t *m;

    for (const char *const *k = first; k && *k; k++)
        if (json_object_get(obj, *k))
            add_value(e, *k, json_object_get(obj, *k), depth + 1);
    json_object_foreach((json_t *)obj, key, m)
    {
        if (!hinted(first, key))
            add_value(e, key, m, depth + 1);
    }
}

/* Whether text, where no schema gives the type, would be read back as a
 * number or a boolean (leaf_value). */
static bool reads_as_other(const char *text)
{
    char *copy = xstrdup(text), *s = trim(copy);
    json_t *v = parse_bool(s);

    bool other;

    if (!v)
        v = parse_number(s);
    other = v != NULL;
    json_decref(v);
    free(copy);
    return other;
}

static void add_value(xmlNodePtr parent, const char *name, const json_t *v, int depth)
{
    xmlNodePtr e;
    char item[64];

    if (json_is_null(v) || depth > MAX_DEPTH)
        return;
    if (!json_is_object(v) && !json_is_array(v)) {
        char *text = scalar_text(v);

        e = new_elem(parent, name, text);
        if (json_is_string(v) && reads_as_other(text)) /* "1.0", "true": a string still */
            xmlNewProp(e, (const xmlChar *)"type", (const xmlChar *)"string");
        free(text);
        return;
    }
    e = new_elem(parent, name, NULL);
    if (json_is_object(v)) {
        add_members(e, name, v, depth);
    } else {
        size_t i;
        json_t *it;

        xml_singular(name, item, sizeof(item));
        json_array_foreach(v, i, it)
        {
            if (json_is_null(it))
                new_elem(e, item, NULL);
            else
                add_value(e, item, it, depth + 1);
        }
    }
}

char *xml_from_json(const json_t *doc, const char *root)
{
    xmlDocPtr d = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr holder = xmlNewDocNode(d, NULL, (const xmlChar *)"holder", NULL);
    xmlChar *mem = NULL;
    char *out;
    int size = 0;

    pthread_once(&init_once, init_parser);
    /* build under a holder so that the root gets the same treatment as any
     * element, then make it the document's root */
    if (json_is_null(doc))
        new_elem(holder, root, NULL);
    else
        add_value(holder, root, doc, 0);
    if (holder->children) {
        xmlNodePtr r = holder->children;

        xmlUnlinkNode(r);
        xmlDocSetRootElement(d, r);
    } else {
        xmlDocSetRootElement(d, xmlNewDocNode(d, NULL, (const xmlChar *)root, NULL));
    }
    xmlFreeNode(holder);
    xmlDocDumpFormatMemoryEnc(d, &mem, &size, "UTF-8", 1);
    out = xstrndup(mem ? (const char *)mem : "", (size_t)size);
    xmlFree(mem);
    xmlFreeDoc(d);
    return out;
}
