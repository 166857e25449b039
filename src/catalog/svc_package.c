/* VNF package requests and their on-boarding (svc_package.h). */
#include "catalog/svc_package.h"
#include "catalog/csar.h"
#include "catalog/package.h"
#include "catalog/svc_catalog.h"
#include "catalog/tosca.h"
#include "catalog/vnfd.h"
#include "core/wpool.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define OBSERVERS_MAX    4
#define FETCH_TIMEOUT_MS (10 * 60 * 1000)

static const struct pkg_observer *observers[OBSERVERS_MAX];
static unsigned n_observers;

void pkg_observe(const struct pkg_observer *o)
{
    for (unsigned i = 0; i < n_observers; i++)
        if (observers[i] == o)
            return;
    if (n_observers < OBSERVERS_MAX)
        observers[n_observers++] = o;
}

static void tell(struct core *c, const json_t *pkg, const char *change)
{
    for (unsigned i = 0; i < n_observers; i++) {
        if (!change && observers[i]->onboarded)
            observers[i]->onboarded(c, pkg);
        else if (change && observers[i]->changed)
            observers[i]->changed(c, pkg, change);
    }
}

/* ---- records ------------------------------------------------------------- */

static const char *base_of(const struct txn *t)
{
    return jv_str(t->query, "pkg_base", "http://localhost/vnfpkgm/v1");
}

static int save(struct core *c, struct txn *t, json_t *pkg)
{
    doc_touch(pkg, "updated");
    if (store_put(c->st, STORE_PACKAGE, pkg) == 0)
        return 0;
    return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the package: %s",
                       store_errmsg(c->st));
}

/* The package of the path that who may see, or NULL after a 404. */
static json_t *load(struct core *c, struct txn *t)
{
    json_t *pkg = core_load(c, STORE_PACKAGE, t->args[0]);

    if (pkg && pkg_visible(&t->who, pkg))
        return pkg;
    json_decref(pkg);
    result_not_found(&t->res, "vnf_package", t->args[0]);
    return NULL;
}

/* A tenant may read a global package but not change it: 0 or a 403. */
static int may_change(struct txn *t, const json_t *pkg)
{
    if (principal_owns(&t->who, doc_str(pkg, "tenant")))
        return 0;
    return result_fail(&t->res, 403, "forbidden", "object", "vnf_package",
                       "package %s is global: only the admin may change it", doc_str(pkg, "id"));
}

static bool state_is(const json_t *pkg, const char *state)
{
    return strcmp(jv_str(pkg, "onboardingState", ""), state) == 0;
}

static void answer(struct core *c, struct txn *t, int status, const json_t *pkg)
{
    result_ok(&t->res, status, pkg_info(pkg, base_of(t), pkg_in_use(c->st, pkg)));
}

void svc_pkg_create(struct core *c, struct txn *t)
{
    json_t *udd = json_object_get(t->body, "userDefinedData"), *pkg;
    char id[ID_UUID_LEN + 1];

    id_uuid(id);
    pkg = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "onboardingState", PKG_CREATED,
                    "operationalState", PKG_DISABLED, "userDefinedData",
                    udd ? json_incref(udd) : json_object());
    if (t->who.admin)
        json_object_set_new(pkg, "_admin", json_true());
    else
        json_object_set_new(pkg, "tenant", json_string(t->who.tenant));
    doc_touch(pkg, "created");
    if (save(c, t, pkg) == 0) {
        core_audit(c, &t->who, "vnf_package", id, "created");
        snprintf(t->res.location, sizeof(t->res.location), "%s/vnf_packages/%s", base_of(t), id);
        answer(c, t, 201, pkg);
    }
    json_decref(pkg);
}

/* ---- on-boarding ---------------------------------------------------------- */

struct pkg_job {
    struct wjob w;
    struct core *c;
    char id[ID_UUID_LEN + 1];
    char *archive, *scripts;
    char *uri, *user, *password; /* fetch the archive first */
    uint64_t max;                /* bytes of a fetched archive */
    /* what came of it */
    int r;
    char err[1024];
    char signer[256]; /* the subject of a verified signature's signer */
    json_t *out;      /* tosca_translate's, with the package's checksum and artifacts */
};

static void job_free(struct pkg_job *j)
{
    free(j->archive);
    free(j->scripts);
    free(j->uri);
    free(j->user);
    free(j->password);
    json_decref(j->out);
    free(j);
}

struct fetch_sink {
    int fd;
    uint64_t got, max;
    int error; /* why the fetch stopped: -EFBIG, or a write's -errno */
};

static int fetch_put(struct fetch_sink *s, const char *p, size_t n)
{

    s->got += n;
    if (s->got > s->max)
        return -EFBIG;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static bool fetch_write(void *arg, const char *p, size_t n)
{
    struct fetch_sink *s = arg;

    s->error = fetch_put(s, p, n);
    return s->error == 0;
}

/* GET the archive from its URI into the package (link-local addresses
 * such as a cloud's metadata service are never fetched). */
static int fetch(struct pkg_job *j)
{
    char *part = xasprintf("%s.part", j->archive), how[128];
    struct fetch_sink s = {open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 0, j->max,
                           0};
    struct httpc_req rq = {.method = "GET",
                           .url = j->uri,
                           .user = j->user,
                           .password = j->password,
                           .timeout_ms = FETCH_TIMEOUT_MS,
                           .connect_timeout_ms = 10000,
                           .deny = HTTPC_DENY_LINK_LOCAL,
                           .on_data = fetch_write,
                           .data_arg = &s};
    struct httpc_resp resp;
    int r;

    if (s.fd < 0) {
        snprintf(j->err, sizeof(j->err), "cannot write the package: %s", strerror(errno));
        free(part);
        return -EIO;
    }
    r = httpc_do(&rq, &resp);
    close(s.fd);
    if (s.error == -EFBIG)
        snprintf(j->err, sizeof(j->err),
                 "%s: the package is larger than %llu MiB (--package-max-mb)", j->uri,
                 (unsigned long long)(j->max >> 20));
    else if (r || !httpc_ok(&resp))
        snprintf(j->err, sizeof(j->err), "%s: cannot fetch the package: %s", j->uri,
                 httpc_outcome(&resp, how, sizeof(how)));
    else if (rename(part, j->archive) < 0)
        snprintf(j->err, sizeof(j->err), "cannot keep the package: %s", strerror(errno));
    else
        *j->err = '\0';
    httpc_resp_done(&resp);
    unlink(part);
    free(part);
    return *j->err ? -EIO : 0;
}

static int sha256_file(const char *path, char hex[65])
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned n = 0;
    ssize_t got = -1;

    if (fd >= 0) {
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        while ((got = read(fd, buf, sizeof(buf))) > 0)
            EVP_DigestUpdate(ctx, buf, (size_t)got);
        close(fd);
        EVP_DigestFinal_ex(ctx, md, &n);
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return got < 0 ? -EIO : 0;
}

struct vnfd_reader {
    struct csar *pkg;
    json_t *files; /* the VNFD's: the service templates read */
};

/* Reads a file of the package for the translator, and notes the YAML
 * ones: the files of the VNFD (GET .../vnfd as a zip). */
static int read_entry(void *arg, const char *path, size_t max, char **out, char *err, size_t errlen)
{
    struct vnfd_reader *v = arg;
    const char *dot = strrchr(path, '.');
    int r = csar_read(v->pkg, path, max, out, NULL, err, errlen);
    size_t i;
    json_t *x;

    if (r || !dot || (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".yml") != 0))
        return r;
    json_array_foreach(v->files, i, x)
    {
        if (strcmp(json_string_value(x), path) == 0)
            return 0;
    }
    json_array_append_new(v->files, json_string(path));
    return 0;
}

/* Writes the package's scripts, mode 0755, under its scripts directory. */
static int extract_scripts(struct pkg_job *j, struct csar *pkg)
{
    const json_t *x;
    size_t i;

    rm_rf(j->scripts);
    json_array_foreach(json_object_get(j->out, "extract"), i, x)
    {
        char *dest = xasprintf("%s/%s", j->scripts, json_string_value(x));
        int r;

        *strrchr(dest, '/') = '\0';
        r = mkdir_p(dest, 0755);
        dest[strlen(dest)] = '/';
        if (r == 0)
            r = csar_extract(pkg, json_string_value(x), dest, 0755, j->err, sizeof(j->err));
        else
            snprintf(j->err, sizeof(j->err), "cannot write the package's scripts: %s",
                     strerror(-r));
        free(dest);
        if (r)
            return r;
    }
    return 0;
}

/* The signature (SOL004 security option 1), as the admin wants it: a
 * signed package's is verified against --package-trust (refused when it
 * fails, or when there is nothing to verify it with and unsigned packages
 * are refused too); an unsigned package only with --package-unsigned. */
static int check_signature(struct pkg_job *j, struct csar *pkg)
{
    const struct config *cfg = j->c->cfg;
    int r = csar_verify_signature(pkg, cfg->package_trust, j->signer, sizeof(j->signer), j->err,
                                  sizeof(j->err));

    if (r == -ENOENT && !cfg->package_unsigned) {
        snprintf(j->err, sizeof(j->err),
                 "the package is not signed (SOL004 security option 1: a CMS signature at the "
                 "end of its manifest), and this manager takes signed packages only "
                 "(--package-unsigned allows others)");
        return -EPERM;
    }
    if (r == -ENOENT || (r == -EPERM && cfg->package_unsigned))
        return 0; /* unsigned, or not verified: taken as unsigned */
    return r;
}

/* Reads, verifies and translates the archive, writes its scripts and
 * validates the descriptor: j->out, or j->err. */
static int onboard_archive(struct pkg_job *j)
{
    struct tosca_opts opts = {j->scripts};
    struct csar *pkg = NULL;
    struct vnfd_reader v = {NULL, json_array()};
    struct tosca_src src;
    struct jv_error jerr;
    char sha[65] = "";
    int r;

    r = csar_open(j->archive, NULL, &pkg, j->err, sizeof(j->err));
    if (!r)
        r = csar_verify(pkg, j->err, sizeof(j->err));
    if (!r)
        r = check_signature(j, pkg);
    if (!r) {
        v.pkg = pkg;
        src = (struct tosca_src){read_entry, &v};
        r = tosca_translate(&src, csar_entry(pkg), &opts, &j->out, j->err, sizeof(j->err));
    }
    if (!r)
        r = extract_scripts(j, pkg);
    if (!r && vnfd_validate(json_object_get(j->out, "vnfd"), &jerr)) {
        snprintf(j->err, sizeof(j->err), "%.100s: the VNFD it translates to is not valid: %s",
                 csar_entry(pkg), jerr.message);
        r = -EINVAL;
    }
    if (!r && sha256_file(j->archive, sha)) {
        snprintf(j->err, sizeof(j->err), "cannot read the package again");
        r = -EIO;
    }
    if (!r) {
        json_object_set_new(j->out, "checksum",
                            json_pack("{s:s, s:s}", "algorithm", "SHA-256", "hash", sha));
        json_object_set(j->out, "artifacts", (json_t *)csar_artifacts(pkg));
        json_object_set(j->out, "meta", (json_t *)csar_manifest_meta(pkg));
        json_object_set_new(j->out, "signed", json_boolean(csar_signed(pkg)));
        if (*j->signer)
            json_object_set_new(j->out, "signer", json_string(j->signer));
        json_object_set(j->out, "vnfd_files", v.files);
    }
    json_decref(v.files);
    csar_free(pkg);
    return r;
}

static void job_work(struct wjob *w)
{
    struct pkg_job *j = (struct pkg_job *)w;

    j->r = j->uri ? fetch(j) : 0;
    if (!j->r)
        j->r = onboard_archive(j);
}

/* Nothing of a package that failed is kept: its archive and scripts. */
static void remove_files(struct core *c, void *arg)
{
    char *dir = pkg_dir(c->cfg, arg), *scripts = pkg_scripts(c->cfg, arg);

    rm_rf(dir);
    rm_rf(scripts);
    free(dir);
    free(scripts);
}

static void fail_pkg(struct core *c, json_t *pkg, const char *why)
{
    json_object_set_new(pkg, "onboardingState", json_string(PKG_ERROR));
    json_object_set_new(
        pkg, "onboardingFailureDetails",
        json_pack("{s:s, s:i, s:s}", "title", "On-boarding failed", "status", 422, "detail", why));
    json_object_del(pkg, "_upload");
    core_event(
        c, "error", "api", "package",
        json_pack("{s:s+, s:s}", "object", "vnf_package/", doc_str(pkg, "id"), "result", "failed"),
        "package %s was not on-boarded: %s", doc_str(pkg, "id"), why);
    core_after_commit(c, remove_files, xstrdup(doc_str(pkg, "id")), free);
}

/* The package's VNFD joins the catalogue, unless one of that id is there. */
static int add_vnfd(struct core *c, json_t *pkg, const json_t *out, char *why, size_t n)
{
    const json_t *vnfd = json_object_get(out, "vnfd");
    const char *id = doc_str(vnfd, "id");
    char key[KEY_BUF_MAX];
    json_t *had, *rec;
    int r;

    /* the tenant's own name (core/names.h): another tenant's is no conflict */
    had = core_load(c, STORE_VNFD, pkg_vnfd_key(c->st, pkg, key));
    if (had) {
        snprintf(why, n, "VNF: properties.descriptor_id: a VNFD '%s' is on-boarded already (%s)",
                 id, doc_str(had, "package") ? doc_str(had, "package") : "a native VNFD");
        json_decref(had);
        return -EEXIST;
    }
    rec = vnfd_record(vnfd, doc_str(pkg, "tenant"), json_is_true(json_object_get(pkg, "_admin")));
    json_object_set_new(rec, "id", json_string(id_scoped(key, doc_str(pkg, "tenant"), id)));
    json_object_set_new(rec, "package", json_string(doc_str(pkg, "id")));
    json_object_set(rec, "descriptor_version", json_object_get(out, "descriptor_version"));
    r = store_put(c->st, STORE_VNFD, rec);
    json_decref(rec);
    if (r)
        snprintf(why, n, "cannot write the VNFD: %s", store_errmsg(c->st));
    return r;
}

static void onboarded(struct core *c, json_t *pkg, const json_t *out)
{
    static const char *const info[][2] = {
        {"vnfdId", "descriptor_id"},           {"vnfProvider", "provider"},
        {"vnfProductName", "product_name"},    {"vnfSoftwareVersion", "software_version"},
        {"vnfdVersion", "descriptor_version"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(info); i++)
        json_object_set(pkg, info[i][0], json_object_get(out, info[i][1]));
    json_object_set_new(pkg, "onboardingState", json_string(PKG_ONBOARDED));
    json_object_set_new(pkg, "operationalState", json_string(PKG_ENABLED));
    json_object_set(pkg, "checksum", json_object_get(out, "checksum"));
    json_object_set_new(pkg, "softwareImages", json_array());
    json_object_set(pkg, "additionalArtifacts", json_object_get(out, "artifacts"));
    json_object_set(pkg, "_notes", json_object_get(out, "notes"));
    json_object_set(pkg, "_manifest", json_object_get(out, "meta"));
    json_object_set(pkg, "_signed", json_object_get(out, "signed"));
    json_object_set(pkg, "_signer", json_object_get(out, "signer"));
    json_object_set(pkg, "_flavours", json_object_get(out, "flavours"));
    json_object_set(pkg, "_vnfd_files", json_object_get(out, "vnfd_files"));
    json_object_del(pkg, "_upload");
    core_event(c, "info", "api", "package",
               json_pack("{s:s+, s:s}", "object", "vnf_package/", doc_str(pkg, "id"), "result",
                         "onboarded"),
               "package %s on-boarded: VNFD %s, %s%s", doc_str(pkg, "id"), doc_str(pkg, "vnfdId"),
               doc_str(out, "signer") ? "signed by " : "not signed",
               doc_str(out, "signer") ? doc_str(out, "signer") : "");
    tell(c, pkg, NULL);
}

/* The end of on-boarding, in one transaction: ONBOARDED with its VNFD in
 * the catalogue, or ERROR. A package deleted or uploaded anew meanwhile
 * has nothing to learn from it. */
static void job_done(struct wjob *w)
{
    struct pkg_job *j = (struct pkg_job *)w;
    struct core *c = j->c;
    char why[CSAR_ERR_MAX];
    json_t *pkg;

    if (w->cancelled || core_tx_begin(c)) {
        job_free(j);
        return;
    }
    pkg = core_load(c, STORE_PACKAGE, j->id);
    if (pkg && (state_is(pkg, PKG_PROCESSING) || state_is(pkg, PKG_UPLOADING))) {
        if (j->r)
            fail_pkg(c, pkg, j->err);
        else if (add_vnfd(c, pkg, j->out, why, sizeof(why)))
            fail_pkg(c, pkg, why);
        else
            onboarded(c, pkg, j->out);
        doc_touch(pkg, "updated");
        store_put(c->st, STORE_PACKAGE, pkg);
    }
    json_decref(pkg);
    if (core_tx_commit(c))
        log_error("package %s: cannot record the end of its on-boarding", j->id);
    job_free(j);
}

/* Processes the package (fetching it first when it comes from a URI) on
 * the configuration pool once the open transaction has ended. */
static void start_job(struct core *c, const json_t *pkg)
{
    struct pkg_job *j = xcalloc(1, sizeof(*j));
    const json_t *up = json_object_get(pkg, "_upload");

    j->w = (struct wjob){.work = job_work, .done = job_done};
    j->c = c;
    snprintf(j->id, sizeof(j->id), "%s", doc_str(pkg, "id"));
    j->archive = pkg_archive(c->cfg, j->id);
    j->scripts = pkg_scripts(c->cfg, j->id);
    if (state_is(pkg, PKG_UPLOADING)) {
        j->uri = xstrdup(jv_str(up, "uri", ""));
        j->user = xstrdup(jv_str(up, "userName", NULL));
        j->password = xstrdup(jv_str(up, "password", NULL));
        j->max = (uint64_t)c->cfg->package_max_mb << 20;
    }
    core_submit(c, c->conf, &j->w);
}

/* 409 unless the package may take an archive: CREATED, or ERROR (a new
 * try). */
static int may_upload(struct txn *t, const json_t *pkg)
{
    if (state_is(pkg, PKG_CREATED) || state_is(pkg, PKG_ERROR))
        return 0;
    return result_fail(&t->res, 409, "conflict", "object", "vnf_package",
                       "package %s is %s: it takes an archive only when CREATED (or in ERROR)",
                       doc_str(pkg, "id"), jv_str(pkg, "onboardingState", ""));
}

/* Makes the package's directory and moves on: PROCESSING or UPLOADING. */
static int begin_onboarding(struct core *c, struct txn *t, json_t *pkg, const char *state)
{
    char *dir = pkg_dir(c->cfg, doc_str(pkg, "id"));
    int r = mkdir_p(dir, 0711);

    free(dir);
    if (r)
        return result_fail(&t->res, 503, "unavailable", NULL, NULL,
                           "cannot make the package's directory: %s", strerror(-r));
    json_object_set_new(pkg, "onboardingState", json_string(state));
    json_object_del(pkg, "onboardingFailureDetails");
    return 0;
}

void svc_pkg_upload(struct core *c, struct txn *t)
{
    const char *file = jv_str(t->body, "file", NULL);
    json_t *pkg = load(c, t);
    char *archive = NULL;

    if (!pkg || may_change(t, pkg) || may_upload(t, pkg) ||
        begin_onboarding(c, t, pkg, PKG_PROCESSING))
        goto drop;
    archive = pkg_archive(c->cfg, doc_str(pkg, "id"));
    if (!file || rename(file, archive) < 0) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot keep the package: %s",
                    strerror(file ? errno : EINVAL));
        goto drop;
    }
    if (save(c, t, pkg) == 0) {
        core_audit(c, &t->who, "vnf_package", doc_str(pkg, "id"), "uploaded");
        start_job(c, pkg);
        result_ok(&t->res, 202, NULL);
    }
    goto out;
drop:
    if (file)
        unlink(file);
out:
    free(archive);
    json_decref(pkg);
}

/* Whether the admin lets packages be fetched from uri (--package-uri). */
static bool uri_allowed(const struct config *cfg, const char *uri)
{
    for (size_t i = 0; i < cfg->n_package_uris; i++)
        if (strncmp(uri, cfg->package_uris[i], strlen(cfg->package_uris[i])) == 0)
            return true;
    return false;
}

void svc_pkg_upload_uri(struct core *c, struct txn *t)
{
    const char *uri = jv_str(t->body, "addressInformation", "");
    json_t *pkg = load(c, t), *up;

    if (!pkg || may_change(t, pkg) || may_upload(t, pkg))
        goto out;
    if (!uri_allowed(c->cfg, uri)) {
        result_fail(&t->res, 422, "invalid-value", "field", "addressInformation",
                    "addressInformation: this manager fetches packages only from URIs its admin "
                    "allowed (--package-uri), and '%.200s' is none of them",
                    uri);
        goto out;
    }
    if (begin_onboarding(c, t, pkg, PKG_UPLOADING))
        goto out;
    up = json_pack("{s:s}", "uri", uri);
    if (json_object_get(t->body, "userName"))
        json_object_set(up, "userName", json_object_get(t->body, "userName"));
    if (json_object_get(t->body, "password"))
        json_object_set(up, "password", json_object_get(t->body, "password"));
    json_object_set_new(pkg, "_upload", up);
    if (save(c, t, pkg) == 0) {
        core_audit(c, &t->who, "vnf_package", doc_str(pkg, "id"), "uploading");
        start_job(c, pkg);
        result_ok(&t->res, 202, NULL);
    }
out:
    json_decref(pkg);
}

/* ---- changes and deletion ------------------------------------------------- */

/* The VNFD record of an on-boarded package follows its operational state:
 * a DISABLED package's VNFD makes no new VNF instances. */
static void set_vnfd_disabled(struct core *c, const json_t *pkg, bool disabled)
{
    char key[KEY_BUF_MAX];
    json_t *rec = core_load(c, STORE_VNFD, pkg_vnfd_key(c->st, pkg, key));

    if (!rec)
        return;
    if (disabled)
        json_object_set_new(rec, "disabled", json_true());
    else
        json_object_del(rec, "disabled");
    store_put(c->st, STORE_VNFD, rec);
    json_decref(rec);
}

static int change_op_state(struct core *c, struct txn *t, json_t *pkg, const char *want)
{
    if (!state_is(pkg, PKG_ONBOARDED))
        return result_fail(&t->res, 409, "conflict", "object", "vnf_package",
                           "package %s is %s: its operational state changes once it is ONBOARDED",
                           doc_str(pkg, "id"), jv_str(pkg, "onboardingState", ""));
    if (strcmp(jv_str(pkg, "operationalState", ""), want) == 0)
        return result_fail(&t->res, 409, "conflict", "field", "operationalState",
                           "operationalState: package %s is %s already", doc_str(pkg, "id"), want);
    json_object_set_new(pkg, "operationalState", json_string(want));
    set_vnfd_disabled(c, pkg, strcmp(want, PKG_DISABLED) == 0);
    tell(c, pkg, "OP_STATE_CHANGE");
    return 0;
}

/* userDefinedData is a JSON merge patch (RFC 7396) of the package's. */
static void merge_udd(json_t *pkg, const json_t *patch)
{
    json_t *udd = json_object_get(pkg, "userDefinedData");
    const char *k;
    json_t *v;

    if (!json_is_object(udd)) {
        udd = json_object();
        json_object_set_new(pkg, "userDefinedData", udd);
    }
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v))
            json_object_del(udd, k);
        else
            json_object_set(udd, k, v);
    }
}

void svc_pkg_update(struct core *c, struct txn *t)
{
    const char *state = jv_str(t->body, "operationalState", NULL);
    const json_t *udd = json_object_get(t->body, "userDefinedData");
    const char *if_match = jv_str(t->query, "if_match", NULL);
    json_t *pkg = load(c, t);
    char etag[DOC_ETAG_MAX];

    if (!pkg || may_change(t, pkg))
        goto out;
    doc_etag(pkg, etag);
    if (if_match && !etag_matches(if_match, etag)) { /* SOL013 4.5 */
        result_fail(&t->res, 412, "precondition-failed", "field", "If-Match",
                    "If-Match: package %s has changed (its ETag is now %s)", t->args[0], etag);
        goto out;
    }
    if (state && change_op_state(c, t, pkg, state))
        goto out;
    if (udd)
        merge_udd(pkg, udd);
    if (save(c, t, pkg) == 0) {
        core_audit(c, &t->who, "vnf_package", doc_str(pkg, "id"), "modified");
        result_ok(&t->res, 200, json_deep_copy(t->body));
        doc_etag(pkg, t->res.etag);
    }
out:
    json_decref(pkg);
}

static int may_delete(struct core *c, struct txn *t, const json_t *pkg)
{
    const char *id = doc_str(pkg, "id");

    if (state_is(pkg, PKG_UPLOADING) || state_is(pkg, PKG_PROCESSING))
        return result_fail(&t->res, 409, "conflict", "object", "vnf_package",
                           "package %s is %s: delete it once that has ended", id,
                           jv_str(pkg, "onboardingState", ""));
    if (!state_is(pkg, PKG_ONBOARDED))
        return 0;
    if (strcmp(jv_str(pkg, "operationalState", ""), PKG_ENABLED) == 0)
        return result_fail(&t->res, 409, "conflict", "object", "vnf_package",
                           "package %s is ENABLED: disable it first (PATCH operationalState "
                           "DISABLED)",
                           id);
    if (pkg_in_use(c->st, pkg))
        return result_fail(&t->res, 409, "conflict", "object", "vnf_package",
                           "package %s is IN_USE: VNF instances of its VNFD %s exist", id,
                           doc_str(pkg, "vnfdId"));
    return 0;
}

void svc_pkg_delete(struct core *c, struct txn *t)
{
    json_t *pkg = load(c, t);
    char key[KEY_BUF_MAX];

    if (!pkg || may_change(t, pkg) || may_delete(c, t, pkg))
        goto out;
    if (state_is(pkg, PKG_ONBOARDED))
        store_delete(c->st, STORE_VNFD, pkg_vnfd_key(c->st, pkg, key));
    store_delete(c->st, STORE_PACKAGE, doc_str(pkg, "id"));
    tell(c, pkg, "PKG_DELETE");
    core_audit(c, &t->who, "vnf_package", doc_str(pkg, "id"), "deleted");
    core_after_commit(c, remove_files, xstrdup(doc_str(pkg, "id")), free);
    result_ok(&t->res, 204, NULL);
out:
    json_decref(pkg);
}

/* ---- start-up ------------------------------------------------------------- */

void pkg_resume(struct core *c)
{
    static const char *const busy[] = {PKG_UPLOADING, PKG_PROCESSING};
    char *uploads = pkg_upload_dir(c->cfg), *scripts = pkg_scripts_root(c->cfg);

    rm_rf(uploads); /* bodies a stop cut short */
    mkdir_p(uploads, 0700);
    free(uploads);
    if (mkdir_p(scripts, 0711) || chmod(scripts, 0711))
        log_error("cannot make the packages' scripts directory %s: %s", scripts, strerror(errno));
    free(scripts);
    for (size_t i = 0; i < ARRAY_SIZE(busy); i++) {
        struct store_where w = {"onboardingState", busy[i], false};
        struct store_list_opts o = {.where = &w, .n_where = 1};
        json_t *list = NULL, *pkg;
        size_t k;

        if (store_list(c->st, STORE_PACKAGE, &o, &list))
            continue;
        json_array_foreach(list, k, pkg)
        {
            log_info("package %s was %s at the last stop: on-boarding it again", doc_str(pkg, "id"),
                     busy[i]);
            start_job(c, pkg);
        }
        json_decref(list);
    }
}
