/* The console's files (ui.h): the table scripts/embed-www generates from
 * www/ (ui_www, in build/.../src/ui/www.S), answered from memory. */
#include "ui/ui.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* One file as the generated table has it: name, first byte, end. */
struct ui_www_entry {
    const char *name, *data, *end;
};
extern const struct ui_www_entry ui_www[];

static struct ui_file *files;
static size_t n_files;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *ctype_of(const char *name)
{
    static const struct {
        const char *ext, *ctype;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return "application/octet-stream";
}

/* FNV-1a, 64 bits: an ETag changes with the bytes it names. */
static unsigned long long fnv1a(const char *p, size_t n)
{
    unsigned long long h = 0xcbf29ce484222325ull;

    while (n--) {
        h ^= (unsigned char)*p++;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void load(void)
{
    while (ui_www[n_files].name)
        n_files++;
    files = xcalloc(n_files + 1, sizeof(*files));
    for (size_t i = 0; i < n_files; i++) {
        const struct ui_www_entry *e = &ui_www[i];
        struct ui_file *f = &files[i];

        f->name = e->name;
        f->data = e->data;
        f->len = (size_t)(e->end - e->data);
        f->ctype = ctype_of(e->name);
        f->etag = xasprintf("\"%016llx\"", fnv1a(f->data, f->len));
    }
}

const struct ui_file *ui_find(const char *name)
{
    pthread_once(&once, load);
    if (!*name)
        name = "index.html";
    for (size_t i = 0; i < n_files; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* Whether an If-None-Match names etag (or is "*"). */
static bool matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    for (const char *p = inm; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        p += strspn(p, " \t");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*' || strncmp(p, etag, n) == 0)
            return true;
    }
    return false;
}

static void q_file(struct rctx *r)
{
    const char *path = r->http ? r->http->path : "/ui/";
    const struct ui_file *f;

    if (strcmp(path, "/ui") == 0) { /* relative links need the slash */
        r->res.status = 301;
        snprintf(r->res.location, sizeof(r->res.location), "/ui/");
        return;
    }
    f = ui_find(r->args[0] ? r->args[0] : "");
    if (!f) {
        result_not_found(&r->res, "file", r->args[0]);
        return;
    }
    snprintf(r->res.etag, sizeof(r->res.etag), "%s", f->etag);
    if (matches(rctx_header(r, "If-None-Match"), f->etag)) {
        r->res.status = 304;
        return;
    }
    r->res.status = 200;
    r->res.ctype = f->ctype;
    r->res.raw = xstrndup(f->data, f->len);
}

static const char *const no_params[] = {NULL};

static const struct route ui_routes[] = {
    {.method = "GET",
     .pattern = "/",
     .name = "console",
     .flags = R_PUBLIC,
     .read = q_file,
     .params = no_params},
    {.method = "GET",
     .pattern = "/{file}",
     .name = "console file",
     .flags = R_PUBLIC,
     .read = q_file,
     .params = no_params},
};

/* docs/CONSOLE.md "Security": what the browser may load and run. */
static const struct httpd_kv ui_headers[] = {
    {"Cache-Control", "no-cache"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
     "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"X-Frame-Options", "DENY"},
};

const struct mount ui_mount = {
    .prefix = "/ui",
    .routes = ui_routes,
    .n_routes = ARRAY_SIZE(ui_routes),
    .style = STYLE_NATIVE,
    .headers = ui_headers,
    .n_headers = ARRAY_SIZE(ui_headers),
};
