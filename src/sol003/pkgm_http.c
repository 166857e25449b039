/* The ETSI SOL005 VNF package management interface (docs/PACKAGES.md):
 * /vnfpkgm/v1 (interface version 2.1.0, SOL005 v2.6.1, with v3's
 * onboardingState ERROR) and /vnfpkgm (its api_versions), mounts of the
 * router beside SOL003's, in the same style: ProblemDetails, the Version
 * header, reads on the HTTP thread, changes on the transactor
 * (catalog/svc_package.h). An archive arrives as the body of a PUT of
 * package_content (application/zip, up to --package-max-mb), written into
 * a file of the packages' upload directory as it comes (never held whole),
 * named on the configuration pool, and on-boarding takes it over from
 * there. */
#include "sol003/pkgm.h"
#include "catalog/csar.h"
#include "catalog/package.h"
#include "catalog/svc_package.h"
#include "sol003/sol_http.h"
#include "sol003/sol_list.h"
#include "util/doc.h"
#include "util/ids.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BASE_MAX 320
#define VNFD_MAX (4u << 20)

/* ---- request schemas (SOL005 9.5.2) ---- */

static const char *const op_states[] = {"ENABLED", "DISABLED", NULL};
static const char *const notif_types[] = {"VnfPackageOnboardingNotification",
                                          "VnfPackageChangeNotification", NULL};
static const char *const auth_types[] = {"BASIC", "OAUTH2_CLIENT_CREDENTIALS", "TLS_CERT", NULL};
static const struct jv_field id_item = {.type = JV_STRING, .min = 1, .max = 255};
static const struct jv_field notif_item = {.type = JV_STRING, .choices = notif_types};
static const struct jv_field opstate_item = {.type = JV_STRING, .choices = op_states};
static const struct jv_field auth_item = {.type = JV_STRING, .choices = auth_types};

static const struct jv_field create_fields[] = {
    {.name = "userDefinedData", .type = JV_OBJECT},
    {.name = NULL},
};
static const struct jv_field modify_fields[] = {
    {.name = "operationalState", .type = JV_STRING, .choices = op_states},
    {.name = "userDefinedData", .type = JV_OBJECT},
    {.name = NULL},
};
static const struct jv_field uri_fields[] = {
    {.name = "addressInformation", .type = JV_STRING, .flags = JV_REQUIRED, .min = 8, .max = 2048},
    {.name = "userName", .type = JV_STRING, .max = 255},
    {.name = "password", .type = JV_STRING, .max = 255},
    {.name = NULL},
};
static const struct jv_field filter_fields[] = {
    {.name = "notificationTypes", .type = JV_ARRAY, .item = &notif_item},
    {.name = "vnfdId", .type = JV_ARRAY, .item = &id_item},
    {.name = "vnfPkgId", .type = JV_ARRAY, .item = &id_item},
    {.name = "operationalState", .type = JV_ARRAY, .item = &opstate_item},
    {.name = "usageState", .type = JV_ARRAY, .item = &id_item},
    {.name = "vnfProductsFromProviders", .type = JV_ARRAY},
    {.name = NULL},
};
static const struct jv_field basic_fields[] = {
    {.name = "userName", .type = JV_STRING, .flags = JV_REQUIRED, .min = 1, .max = 255},
    {.name = "password", .type = JV_STRING, .flags = JV_REQUIRED, .max = 255},
    {.name = NULL},
};
static const struct jv_field auth_fields[] = {
    {.name = "authType",
     .type = JV_ARRAY,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 3,
     .item = &auth_item},
    {.name = "paramsBasic", .type = JV_OBJECT, .fields = basic_fields},
    {.name = "paramsOauth2ClientCredentials", .type = JV_OBJECT},
    {.name = NULL},
};
static const struct jv_field subscription_fields[] = {
    {.name = "filter", .type = JV_OBJECT, .fields = filter_fields},
    {.name = "callbackUri", .type = JV_STRING, .flags = JV_REQUIRED, .min = 8, .max = 2048},
    {.name = "authentication", .type = JV_OBJECT, .fields = auth_fields},
    {.name = NULL},
};
static const struct jv_field create_schema = {.type = JV_OBJECT, .fields = create_fields};
static const struct jv_field modify_schema = {.type = JV_OBJECT, .fields = modify_fields};
static const struct jv_field uri_schema = {.type = JV_OBJECT, .fields = uri_fields};
static const struct jv_field subscription_schema = {.type = JV_OBJECT,
                                                    .fields = subscription_fields};

/* ---- routes (below /vnfpkgm/v1) ---- */

static void read_versions(struct rctx *r);
static void read_packages(struct rctx *r);
static void read_package(struct rctx *r);
static void read_content(struct rctx *r);
static void read_vnfd(struct rctx *r);
static void read_artifact(struct rctx *r);
static void read_subscriptions(struct rctx *r);
static void read_subscription(struct rctx *r);
static int check_modify(const json_t *body, struct jv_error *e);
static void save_upload(struct core *c, struct txn *t);

#define READ(p, fn, qp)                                         \
    {                                                           \
        .method = "GET", .pattern = p, .read = fn, .params = qp \
    }

static const struct route pkgm_routes[] = {
    READ("/api_versions", read_versions, NULL),
    READ("/vnf_packages", read_packages, sol_list_params),
    {.method = "POST",
     .pattern = "/vnf_packages",
     .apply = svc_pkg_create,
     .schema = &create_schema},
    READ("/vnf_packages/{id}", read_package, NULL),
    {.method = "PATCH",
     .pattern = "/vnf_packages/{id}",
     .flags = R_BODY | R_PATCH,
     .apply = svc_pkg_update,
     .schema = &modify_schema,
     .validate = check_modify},
    {.method = "DELETE", .pattern = "/vnf_packages/{id}", .apply = svc_pkg_delete},
    READ("/vnf_packages/{id}/package_content", read_content, NULL),
    {.method = "PUT",
     .pattern = "/vnf_packages/{id}/package_content",
     .flags = R_RAW,
     .apply = svc_pkg_upload,
     .before = save_upload},
    {.method = "POST",
     .pattern = "/vnf_packages/{id}/package_content/upload_from_uri",
     .flags = R_BODY,
     .apply = svc_pkg_upload_uri,
     .schema = &uri_schema},
    READ("/vnf_packages/{id}/vnfd", read_vnfd, NULL),
    READ("/vnf_packages/{id}/artifacts/{artifactPath*}", read_artifact, NULL),
    READ("/subscriptions", read_subscriptions, sol_list_params),
    {.method = "POST",
     .pattern = "/subscriptions",
     .flags = R_BODY,
     .apply = svc_pkgm_subscribe,
     .schema = &subscription_schema,
     .validate = sol_check_callback,
     .before = sol_test_callback},
    READ("/subscriptions/{id}", read_subscription, NULL),
    {.method = "DELETE", .pattern = "/subscriptions/{id}", .apply = svc_pkgm_unsubscribe},
};

static const struct route version_routes[] = {
    READ("/api_versions", read_versions, NULL),
};

/* ---- the mount ---- */

/* SOL013 4.6: a Version header, when sent, is 1.x or 2.x (Tacker's client
 * sends none). */
static int check_version(struct rctx *r)
{
    const char *v = rctx_header(r, "Version");

    if (!v || strncmp(v, "2.", 2) == 0 || strncmp(v, "1.", 2) == 0)
        return 0;
    return sol_problem(r, 406, "Version %s is not supported here; this is interface version %s", v,
                       PKGM_VERSION);
}

/* An archive comes as application/zip (SOL005 9.4.5.3.3), or as bytes. */
static int check_media(struct rctx *r, const struct route *rt)
{
    const char *ct = rctx_header(r, "Content-Type");

    if (!(rt->flags & R_RAW) || !ct || strncasecmp(ct, "application/zip", 15) == 0 ||
        strncasecmp(ct, "application/octet-stream", 24) == 0)
        return 0;
    return result_fail(&r->res, 415, "unsupported-media-type", NULL, NULL,
                       "Content-Type '%s' is not supported; send the package as application/zip",
                       ct);
}

static int pkgm_check(struct rctx *r, const struct route *rt)
{
    return check_version(r) || check_media(r, rt) || sol_check_filter(r) ? -1 : 0;
}

/* The base of links: the Host the client used, else --listen. */
static const char *base_of(const struct rctx *r, char base[BASE_MAX])
{
    const char *host = rctx_header(r, "Host");
    const struct config *cfg = r->c->cfg;

    if (host && *host && strlen(host) < 256 && !strpbrk(host, "/ \"<>"))
        snprintf(base, BASE_MAX, "http://%s/vnfpkgm/v1", host);
    else
        snprintf(base, BASE_MAX, "http://%s:%u/vnfpkgm/v1", cfg->listen_host, cfg->listen_port);
    return base;
}

static void pkgm_prepare(struct rctx *r, struct txn *t)
{
    char base[BASE_MAX];

    json_decref(t->query);
    t->query = json_pack("{s:s, s:s?}", "pkg_base", base_of(r, base), "if_match",
                         rctx_header(r, "If-Match"));
}

static struct mount mounts[] = {
    {.prefix = "/vnfpkgm/v1",
     .routes = pkgm_routes,
     .n_routes = ARRAY_SIZE(pkgm_routes),
     .style = STYLE_PROBLEM,
     .version = PKGM_VERSION,
     .check = pkgm_check,
     .prepare = pkgm_prepare},
    {.prefix = "/vnfpkgm",
     .routes = version_routes,
     .n_routes = ARRAY_SIZE(version_routes),
     .style = STYLE_PROBLEM,
     .version = PKGM_VERSION,
     .check = pkgm_check},
};

const struct mount *pkgm_mounts(const struct config *cfg, size_t *n)
{
    static char *uploads;

    mounts[0].raw_max = (size_t)cfg->package_max_mb << 20;
    if (!uploads)
        uploads = pkg_upload_dir(cfg);
    mounts[0].raw_dir = uploads;
    *n = ARRAY_SIZE(mounts);
    return mounts;
}

/* ---- writes ---- */

static int check_modify(const json_t *body, struct jv_error *e)
{
    if (json_object_get(body, "operationalState") || json_object_get(body, "userDefinedData"))
        return 0;
    jv_fail(e, "missing-field", "operationalState",
            "operationalState or userDefinedData: a modification needs one of them");
    return -EINVAL;
}

/* Writes buf[0..len) to fd; 0 or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Gives the body's file (the router's, without a name) the name path: a
 * link where it was opened with O_TMPFILE, else a copy. 0 or -1 with errno. */
static int name_body(int body_fd, const char *path)
{
    char proc[32];
    off_t off = 0;
    int fd;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", body_fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return fsync(body_fd);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    for (ssize_t n = 1; n > 0;)
        n = copy_file_range(body_fd, &off, fd, NULL, 1 << 30, 0);
    if (off < lseek(body_fd, 0, SEEK_END) || fsync(fd) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* Keeps the archive the client sent in the upload directory (on the
 * configuration pool): svc_pkg_upload takes the file over. The HTTP
 * engine wrote it into a file as it came (mount.raw_dir); held in memory
 * only when that file could not be made. */
static void save_upload(struct core *c, struct txn *t)
{
    char *dir = pkg_upload_dir(c->cfg), id[ID_UUID_LEN + 1], *path;
    int fd = -1, r;

    id_uuid(id);
    path = xasprintf("%s/%s.zip", dir, id);
    free(dir);
    if (!t->raw_len) {
        result_fail(&t->res, 400, "missing-field", NULL, NULL,
                    "the body must be the VNF package (a zip archive)");
        goto out;
    }
    if (t->raw_fd >= 0) {
        r = name_body(t->raw_fd, path);
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        r = fd < 0 || write_all(fd, t->raw, t->raw_len) || fsync(fd) ? -1 : 0;
    }
    if (r) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot keep the package: %s",
                    strerror(errno));
        unlink(path);
    } else {
        json_object_set_new(t->body, "file", json_string(path));
    }
    if (fd >= 0)
        close(fd);
out:
    free(path);
}

/* ---- reads ---- */

static void read_versions(struct rctx *r)
{
    result_ok(&r->res, 200,
              json_pack("{s:s, s:[{s:s, s:b}]}", "uriPrefix", "/vnfpkgm/v1", "apiVersions",
                        "version", PKGM_VERSION, "isDeprecated", 0));
}

static int store_failed(struct rctx *r)
{
    return result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the store: %s",
                       store_errmsg(r->st));
}

static void read_packages(struct rctx *r)
{
    char base[BASE_MAX];
    json_t *pkgs, *pkg, *out;
    size_t i;

    if (sol_list_check(r, &sol_package_shape))
        return;
    if (store_list(r->st, STORE_PACKAGE, NULL, &pkgs)) {
        store_failed(r);
        return;
    }
    base_of(r, base);
    out = json_array();
    json_array_foreach(pkgs, i, pkg)
    {
        if (pkg_visible(&r->who, pkg))
            json_array_append_new(out, pkg_info(pkg, base, pkg_in_use(r->st, pkg)));
    }
    json_decref(pkgs);
    sol_list_answer(r, &sol_package_shape, out);
}

/* The package of the path that r may see, or NULL after a 404. */
static json_t *visible(struct rctx *r)
{
    json_t *pkg = NULL;

    if (store_get(r->st, STORE_PACKAGE, r->args[0], &pkg) == 0 && pkg_visible(&r->who, pkg))
        return pkg;
    json_decref(pkg);
    result_not_found(&r->res, "vnf_package", r->args[0]);
    return NULL;
}

static void read_package(struct rctx *r)
{
    char base[BASE_MAX];
    json_t *pkg = visible(r);

    if (pkg) {
        result_ok(&r->res, 200, pkg_info(pkg, base_of(r, base), pkg_in_use(r->st, pkg)));
        doc_etag(pkg, r->res.etag);
    }
    json_decref(pkg);
}

/* 409 unless the package is ONBOARDED (SOL005 9.4.5.3.2, 9.4.4.3.2). */
static json_t *onboarded(struct rctx *r)
{
    json_t *pkg = visible(r);

    if (pkg && strcmp(jv_str(pkg, "onboardingState", ""), PKG_ONBOARDED) != 0) {
        sol_problem(r, 409, "package %s is %s: its content can be read once it is ONBOARDED",
                    r->args[0], jv_str(pkg, "onboardingState", ""));
        json_decref(pkg);
        return NULL;
    }
    return pkg;
}

static void read_content(struct rctx *r)
{
    json_t *pkg = onboarded(r);

    if (!pkg)
        return;
    r->res.status = 200;
    r->res.file = pkg_archive(r->c->cfg, r->args[0]);
    r->res.ctype = "application/zip";
    json_decref(pkg);
}

/* Whether an Accept header takes type ("text/plain"), by its name or
 * its wildcards. */
static bool accepts(const char *accept, const char *type)
{
    char wild[32];

    snprintf(wild, sizeof(wild), "%.*s/*", (int)strcspn(type, "/"), type);
    return !accept || strcasestr(accept, type) || strcasestr(accept, wild) || strstr(accept, "*/*");
}

/* An answer in memory of any bytes (result.raw is text), streamed. */
struct mem_answer {
    char *p;
    size_t len, off;
};

static ssize_t mem_read(void *cls, char *buf, size_t max)
{
    struct mem_answer *m = cls;
    size_t n = m->len - m->off < max ? m->len - m->off : max;

    memcpy(buf, m->p + m->off, n);
    m->off += n;
    return n ? (ssize_t)n : -1;
}

static void mem_release(void *cls)
{
    struct mem_answer *m = cls;

    free(m->p);
    free(m);
}

/* The package of the path's archive, opened; NULL after a 503. */
static struct csar *open_archive(struct rctx *r)
{
    char *path = pkg_archive(r->c->cfg, r->args[0]), err[CSAR_ERR_MAX];
    struct csar *a = NULL;

    if (csar_open(path, NULL, &a, err, sizeof(err)))
        result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the package: %s", err);
    free(path);
    return a;
}

/* The files of the VNFD (the service templates on-boarding read) and
 * TOSCA.meta, as a zip archive. */
static int vnfd_zip(struct rctx *r, struct csar *a, const json_t *files)
{
    const char **paths = xcalloc(json_array_size(files) + 2, sizeof(*paths));
    struct mem_answer *m = xcalloc(1, sizeof(*m));
    char err[CSAR_ERR_MAX];
    size_t n = 0, i;
    json_t *x;

    json_array_foreach(files, i, x)
    {
        paths[n++] = json_string_value(x);
    }
    if (!n) /* on-boarded before the files were noted */
        paths[n++] = csar_entry(a);
    if (csar_has(a, "TOSCA-Metadata/TOSCA.meta"))
        paths[n++] = "TOSCA-Metadata/TOSCA.meta";
    if (csar_subset(a, paths, n, VNFD_MAX, &m->p, &m->len, err, sizeof(err))) {
        free(paths);
        free(m);
        return result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the package: %s",
                           err);
    }
    free(paths);
    r->res.status = 200;
    r->res.ctype = "application/zip";
    r->res.stream_read = mem_read;
    r->res.stream_release = mem_release;
    r->res.stream_cls = m;
    return 0;
}

/* The VNFD (SOL005 9.4.4.3.2), as its client accepts: text/plain, the
 * main service template of a VNFD of one file; application/zip, the
 * VNFD's files in a zip archive with TOSCA.meta; both (or no Accept):
 * the file when there is one, else the zip. text/plain alone for a VNFD
 * of several files is 406. */
static void read_vnfd(struct rctx *r)
{
    const char *accept = rctx_header(r, "Accept");
    bool text = accepts(accept, "text/plain"), zip = accepts(accept, "application/zip");
    json_t *pkg = onboarded(r), *files;
    size_t n;
    char *body = NULL, err[CSAR_ERR_MAX];
    struct csar *a = NULL;

    if (!pkg)
        return;
    files = json_object_get(pkg, "_vnfd_files");
    n = json_array_size(files);
    if (!text && !zip) {
        sol_problem(r, 406, "the VNFD is answered as text/plain or application/zip, not '%s'",
                    accept);
        goto out;
    }
    if (!zip && n > 1) {
        sol_problem(r, 406,
                    "the VNFD is %zu files: it is answered as application/zip, not text/plain "
                    "alone",
                    n);
        goto out;
    }
    a = open_archive(r);
    if (!a)
        goto out;
    if (zip && (!text || n > 1)) {
        vnfd_zip(r, a, files);
    } else if (csar_read(a, csar_entry(a), VNFD_MAX, &body, NULL, err, sizeof(err))) {
        result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the package: %s", err);
    } else {
        result_raw(&r->res, 200, body);
        r->res.ctype = "text/plain";
    }
out:
    csar_free(a);
    json_decref(pkg);
}

/* An artifact of the package (SOL005 9.4.7.3.2): a file its manifest
 * lists (additionalArtifacts), streamed from the archive; any other path
 * is 404, whatever the archive holds. */
static void read_artifact(struct rctx *r)
{
    json_t *pkg = onboarded(r), *art;
    struct csar_stream *s;
    struct csar *a;
    char err[CSAR_ERR_MAX];
    bool listed = false;
    size_t i;

    if (!pkg)
        return;
    json_array_foreach(json_object_get(pkg, "additionalArtifacts"), i, art)
    {
        listed = listed || strcmp(jv_str(art, "artifactPath", ""), r->args[1]) == 0;
    }
    json_decref(pkg);
    if (!listed) {
        result_fail(&r->res, 404, "not-found", "object", r->args[1],
                    "package %s has no artifact '%s' (its manifest lists its artifacts)",
                    r->args[0], r->args[1]);
        return;
    }
    a = open_archive(r);
    if (!a)
        return;
    if (csar_stream_open(a, r->args[1], &s, err, sizeof(err))) { /* a is freed */
        result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the package: %s", err);
        return;
    }
    r->res.status = 200;
    r->res.ctype = "application/octet-stream";
    r->res.stream_read = csar_stream_read;
    r->res.stream_release = csar_stream_free;
    r->res.stream_cls = s;
}

static bool sub_visible(const struct rctx *r, const json_t *sub)
{
    const char *owner = doc_str(sub, "tenant");

    return r->who.admin || (owner && strcmp(owner, r->who.tenant) == 0);
}

static void read_subscriptions(struct rctx *r)
{
    char base[BASE_MAX];
    json_t *subs, *sub, *out;
    size_t i;

    if (sol_list_check(r, &sol_pkgm_subscription_shape))
        return;
    if (store_list(r->st, STORE_PKG_SUBSCRIPTION, NULL, &subs)) {
        store_failed(r);
        return;
    }
    base_of(r, base);
    out = json_array();
    json_array_foreach(subs, i, sub)
    {
        if (sub_visible(r, sub))
            json_array_append_new(out, pkgm_subscription(sub, base));
    }
    json_decref(subs);
    sol_list_answer(r, &sol_pkgm_subscription_shape, out);
}

static void read_subscription(struct rctx *r)
{
    char base[BASE_MAX];
    json_t *sub = NULL;

    if (store_get(r->st, STORE_PKG_SUBSCRIPTION, r->args[0], &sub) == 0 && sub_visible(r, sub))
        result_ok(&r->res, 200, pkgm_subscription(sub, base_of(r, base)));
    else
        result_not_found(&r->res, "subscription", r->args[0]);
    json_decref(sub);
}
