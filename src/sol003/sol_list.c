/* Filters, attribute selectors and paging of SOL003/SOL005 lists
 * (sol_list.h; SOL013 5.2-5.4). */
#include "sol003/sol_list.h"
#include "sol003/sol_http.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 10000 /* entries of a list answered whole (paging off) */

const char *const sol_list_params[] = {"filter",
                                       "all_fields",
                                       "fields",
                                       "exclude_fields",
                                       "exclude-fields",
                                       "exclude_default",
                                       "nextpage_opaque_marker",
                                       NULL};

/* SOL003 5.5.2.2, 5.5.2.13, 5.5.2.16; SOL005 9.5.2.5, 9.5.2.4. */
static const char *const instance_attrs[] = {"id",
                                             "vnfInstanceName",
                                             "vnfInstanceDescription",
                                             "vnfdId",
                                             "vnfProvider",
                                             "vnfProductName",
                                             "vnfSoftwareVersion",
                                             "vnfdVersion",
                                             "vnfPkgId",
                                             "vnfConfigurableProperties",
                                             "vimConnectionInfo",
                                             "instantiationState",
                                             "instantiatedVnfInfo",
                                             "metadata",
                                             "extensions",
                                             "_links",
                                             NULL};
static const char *const instance_complex[] = {"vnfConfigurableProperties",
                                               "vimConnectionInfo",
                                               "instantiatedVnfInfo",
                                               "metadata",
                                               "extensions",
                                               NULL};
static const char *const occ_attrs[] = {"id",
                                        "operationState",
                                        "stateEnteredTime",
                                        "startTime",
                                        "vnfInstanceId",
                                        "grantId",
                                        "operation",
                                        "isAutomaticInvocation",
                                        "operationParams",
                                        "isCancelPending",
                                        "cancelMode",
                                        "error",
                                        "resourceChanges",
                                        "changedInfo",
                                        "changedExtConnectivity",
                                        "lcmCoordinations",
                                        "rejectedLcmCoordinations",
                                        "warnings",
                                        "_links",
                                        NULL};
static const char *const occ_complex[] = {
    "operationParams", "error", "resourceChanges", "changedInfo", "changedExtConnectivity", NULL};
static const char *const subscription_attrs[] = {"id",        "filter", "callbackUri",
                                                 "verbosity", "_links", NULL};
static const char *const package_attrs[] = {"id",
                                            "vnfdId",
                                            "vnfProvider",
                                            "vnfProductName",
                                            "vnfSoftwareVersion",
                                            "vnfdVersion",
                                            "compatibleSpecificationVersions",
                                            "checksum",
                                            "packageSecurityOption",
                                            "signingCertificate",
                                            "softwareImages",
                                            "additionalArtifacts",
                                            "onboardingState",
                                            "operationalState",
                                            "usageState",
                                            "vnfmInfo",
                                            "userDefinedData",
                                            "onboardingFailureDetails",
                                            "_links",
                                            NULL};
static const char *const package_complex[] = {"softwareImages", "additionalArtifacts",
                                              "userDefinedData", "checksum", NULL};
static const char *const none[] = {NULL};

const struct sol_shape sol_instance_shape = {instance_attrs, instance_complex};
const struct sol_shape sol_occ_shape = {occ_attrs, occ_complex};
const struct sol_shape sol_subscription_shape = {subscription_attrs, none};
const struct sol_shape sol_package_shape = {package_attrs, package_complex};
const struct sol_shape sol_pkgm_subscription_shape = {subscription_attrs, none};

static const char *param(const struct rctx *r, const char *name)
{
    return json_string_value(json_object_get(r->query, name));
}

static const char *excluded(const struct rctx *r)
{
    return param(r, "exclude_fields") ? param(r, "exclude_fields") : param(r, "exclude-fields");
}

/* Whether a path's first segment ("a" of "a/b/c", n bytes) is in list. */
static bool listed(const char *const *list, const char *path, size_t n)
{
    size_t seg = strcspn(path, "/");

    if (seg > n)
        seg = n;
    for (; *list; list++)
        if (strlen(*list) == seg && strncmp(*list, path, seg) == 0)
            return true;
    return false;
}

/* Every comma-separated path of value names an attribute of shape. */
static int check_paths(struct rctx *r, const char *name, const char *value,
                       const struct sol_shape *shape)
{
    for (const char *p = value; p && *p;) {
        size_t n = strcspn(p, ",");

        if (!n || !listed(shape->attrs, p, n))
            return result_fail(&r->res, 400, "invalid-value", "field", name,
                               "%s: '%.*s' is not an attribute of this resource", name, (int)n, p);
        p += n + (p[n] == ',');
    }
    return 0;
}

/* The attributes of the filter's terms "(op,attr,values)". */
static int check_filter_attrs(struct rctx *r, const struct sol_shape *shape)
{
    const char *f = param(r, "filter");

    for (const char *p = f; p && *p;) {
        const char *attr = strchr(p, ','), *end = strchr(p, ';');
        size_t n = attr ? strcspn(attr + 1, ",)") : 0;

        if (attr && (!end || attr < end) && !listed(shape->attrs, attr + 1, n))
            return result_fail(&r->res, 400, "invalid-value", "field", "filter",
                               "filter: '%.*s' is not an attribute of this resource", (int)n,
                               attr + 1);
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int sol_list_check(struct rctx *r, const struct sol_shape *shape)
{
    const char *fields = param(r, "fields"), *excl = excluded(r);
    const char *marker = param(r, "nextpage_opaque_marker");
    bool all = json_object_get(r->query, "all_fields");
    bool exdef = json_object_get(r->query, "exclude_default");

    if (all && (fields || excl || exdef))
        return result_fail(&r->res, 400, "invalid-value", "field", "all_fields",
                           "all_fields: not with fields, exclude_fields or exclude_default");
    if (excl && (fields || exdef))
        return result_fail(&r->res, 400, "invalid-value", "field", "exclude_fields",
                           "exclude_fields: not with fields or exclude_default");
    if (marker &&
        (!*marker || strspn(marker, "0123456789") != strlen(marker) || strlen(marker) > 9))
        return result_fail(&r->res, 400, "invalid-value", "field", "nextpage_opaque_marker",
                           "nextpage_opaque_marker: not one this manager gave");
    return check_paths(r, "fields", fields, shape) ||
                   check_paths(r, "exclude_fields", excl, shape) || check_filter_attrs(r, shape)
               ? -1
               : 0;
}

/* Removes the member at path ("a/b": member b of a, in each element of
 * an array on the way). */
static void remove_path(json_t *v, const char *path)
{
    size_t n = strcspn(path, "/");
    char key[128];
    json_t *it;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach(v, i, it)
        {
            remove_path(it, path);
        }
        return;
    }
    snprintf(key, sizeof(key), "%.*s", (int)n, path);
    if (!path[n])
        json_object_del(v, key);
    else if (json_object_get(v, key))
        remove_path(json_object_get(v, key), path + n + 1);
}

/* SOL013 5.3.2: all_fields: every attribute; exclude_fields: every one
 * but those; otherwise (fields, exclude_default, none) the complex ones
 * are left out unless fields names them (its nested paths keep their
 * whole top-level attribute). */
static json_t *select_view(const struct rctx *r, const struct sol_shape *shape, json_t *v)
{
    const char *fields = param(r, "fields"), *excl = excluded(r);

    if (json_object_get(r->query, "all_fields"))
        return v;
    if (excl) {
        char *copy = xstrdup(excl), *save = NULL;

        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
            remove_path(v, p);
        free(copy);
        return v;
    }
    for (const char *const *c = shape->complex; *c; c++) {
        bool keep = false;

        for (const char *p = fields; p && *p && !keep;) {
            size_t n = strcspn(p, ",");

            keep = listed((const char *const[]){*c, NULL}, p, n);
            p += n + (p[n] == ',');
        }
        if (!keep)
            json_object_del(v, *c);
    }
    return v;
}

static void url_escape(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (isalnum(ch) || strchr("-._~,()/", ch))
            sbuf_addc(b, (char)ch);
        else
            sbuf_addf(b, "%%%02X", ch);
    }
}

/* <http://HOST/PATH?QUERY&nextpage_opaque_marker=NEXT>; rel="next" */
static char *next_link(const struct rctx *r, size_t next)
{
    const char *host = rctx_header(r, "Host"), *k;
    struct sbuf b = {0};
    json_t *v;

    sbuf_addf(&b, "<http://%s%s?", host && !strpbrk(host, "<>\" ") ? host : "localhost",
              r->http ? r->http->path : "");
    json_object_foreach(r->query, k, v)
    {
        if (strcmp(k, "nextpage_opaque_marker") == 0)
            continue;
        url_escape(&b, k);
        if (*json_string_value(v)) {
            sbuf_addc(&b, '=');
            url_escape(&b, json_string_value(v));
        }
        sbuf_addc(&b, '&');
    }
    sbuf_addf(&b, "nextpage_opaque_marker=%zu>; rel=\"next\"", next);
    return sbuf_take(&b);
}

void sol_list_answer(struct rctx *r, const struct sol_shape *shape, json_t *views)
{
    const char *f = param(r, "filter"), *marker = param(r, "nextpage_opaque_marker");
    size_t page = r->c->cfg->sol_page_size, from = marker ? strtoul(marker, NULL, 10) : 0, i;
    json_t *kept = json_array(), *out, *v;

    json_array_foreach(views, i, v)
    {
        if (!f || sol_filter_eval(f, v) == 1)
            json_array_append(kept, v);
    }
    json_decref(views);
    if (from > json_array_size(kept)) {
        result_fail(&r->res, 400, "invalid-value", "field", "nextpage_opaque_marker",
                    "nextpage_opaque_marker: past the end of the list (it changed meanwhile)");
    } else if (!page && json_array_size(kept) > LIST_MAX) {
        result_fail(&r->res, 400, "too-big", NULL, NULL,
                    "the response is too big: %zu entries and paging is off (--sol-page-size "
                    "0); ask with a filter",
                    json_array_size(kept));
    } else {
        size_t end =
            page && from + page < json_array_size(kept) ? from + page : json_array_size(kept);

        out = json_array();
        for (i = from; i < end; i++)
            json_array_append_new(out, select_view(r, shape, json_incref(json_array_get(kept, i))));
        result_ok(&r->res, 200, out);
        if (end < json_array_size(kept))
            r->res.link = next_link(r, end);
    }
    json_decref(kept);
}
