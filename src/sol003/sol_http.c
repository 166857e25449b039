/* The ETSI NFV SOL003 VNF lifecycle management interface (F6,
 * docs/SOL003.md): /vnflcm/v1 (interface version 1.3.0, SOL003 v2.6.1) and
 * /vnflcm/v2 (2.0.0, SOL003 v3.3.1), mounts of the router (rest/router.h)
 * beside the native API.
 *
 * One set of semantics: reads are views (sol003/sol_view.h) of the native
 * records, read on the HTTP thread; every change is a request on the same
 * transactor (sol003/sol_svc.h) as the native API. Errors are
 * ProblemDetails (SOL013 6.4, application/problem+json); every answer
 * carries the Version header of its interface. */
#include "sol003/sol_http.h"
#include "sol003/sol_list.h"
#include "sol003/sol_svc.h"
#include "sol003/sol_view.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CB_TEST_MS 2000
#define ROOT_MAX   300

/* ---- request schemas (SOL003 5.5.2) ---- */

#define F(n, t, fl, lo, hi)                                     \
    {                                                           \
        .name = n, .type = t, .flags = fl, .min = lo, .max = hi \
    }
#define OBJ(n)                       \
    {                                \
        .name = n, .type = JV_OBJECT \
    }
#define ARR(n, it)                               \
    {                                            \
        .name = n, .type = JV_ARRAY, .item = &it \
    }
#define CHOICE(n, fl, c)                                        \
    {                                                           \
        .name = n, .type = JV_STRING, .flags = fl, .choices = c \
    }
#define END          \
    {                \
        .name = NULL \
    }
#define SCHEMA(f)                      \
    {                                  \
        .type = JV_OBJECT, .fields = f \
    }

static const struct jv_field any_object = {.type = JV_OBJECT};
static const struct jv_field id_item = {.type = JV_STRING, .min = 1, .max = 255};
static const char *const scale_types[] = {"SCALE_OUT", "SCALE_IN", NULL};
static const char *const termination_types[] = {"FORCEFUL", "GRACEFUL", NULL};
static const char *const vnf_states[] = {"STARTED", "STOPPED", NULL};
static const char *const cancel_modes[] = {"GRACEFUL", "FORCEFUL", NULL};
static const char *const verbosities[] = {"FULL", "SHORT", NULL};
static const char *const auth_types[] = {"BASIC", "OAUTH2_CLIENT_CREDENTIALS", "TLS_CERT",
                                         "OAUTH2_CLIENT_CERT", NULL};
static const char *const notif_types[] = {"VnfLcmOperationOccurrenceNotification",
                                          "VnfIdentifierCreationNotification",
                                          "VnfIdentifierDeletionNotification", NULL};
static const char *const op_types[] = {"INSTANTIATE",
                                       "SCALE",
                                       "SCALE_TO_LEVEL",
                                       "CHANGE_FLAVOUR",
                                       "TERMINATE",
                                       "HEAL",
                                       "OPERATE",
                                       "CHANGE_EXT_CONN",
                                       "MODIFY_INFO",
                                       "CREATE_SNAPSHOT",
                                       "REVERT_TO_SNAPSHOT",
                                       "CHANGE_VNFPKG",
                                       NULL};
static const char *const op_states[] = {"STARTING", "PROCESSING",   "COMPLETED",   "FAILED_TEMP",
                                        "FAILED",   "ROLLING_BACK", "ROLLED_BACK", NULL};

static const struct jv_field create_fields[] = {
    F("vnfdId", JV_STRING, JV_REQUIRED, 1, 255),
    F("vnfInstanceName", JV_STRING, 0, 0, 255),
    F("vnfInstanceDescription", JV_STRING, 0, 0, 1024),
    OBJ("metadata"),
    END,
};
static const struct jv_field modify_fields[] = {
    F("vnfInstanceName", JV_STRING, 0, 0, 255),
    F("vnfInstanceDescription", JV_STRING, 0, 0, 1024),
    F("vnfdId", JV_STRING, 0, 1, 255),
    OBJ("vnfConfigurableProperties"),
    OBJ("metadata"),
    OBJ("extensions"),
    END,
};
static const struct jv_field instantiate_fields[] = {
    F("flavourId", JV_STRING, JV_REQUIRED, 1, 255),
    F("instantiationLevelId", JV_STRING, 0, 1, 255),
    ARR("extVirtualLinks", any_object),
    ARR("extManagedVirtualLinks", any_object),
    F("vimConnectionInfo", JV_ANY, 0, 0, 0),
    F("localizationLanguage", JV_STRING, 0, 0, 255),
    OBJ("additionalParams"),
    OBJ("extensions"),
    OBJ("vnfConfigurableProperties"),
    END,
};
static const struct jv_field scale_fields[] = {
    CHOICE("type", JV_REQUIRED, scale_types),
    F("aspectId", JV_STRING, JV_REQUIRED, 1, 255),
    F("numberOfSteps", JV_INT, 0, 1, 64),
    OBJ("additionalParams"),
    END,
};
static const struct jv_field scale_info_fields[] = {
    F("aspectId", JV_STRING, JV_REQUIRED, 1, 255),
    F("vnfdId", JV_STRING, 0, 1, 255),
    F("scaleLevel", JV_INT, JV_REQUIRED, 0, 64),
    END,
};
static const struct jv_field scale_info_item = SCHEMA(scale_info_fields);
static const struct jv_field scale_level_fields[] = {
    F("instantiationLevelId", JV_STRING, 0, 1, 255),
    ARR("scaleInfo", scale_info_item),
    OBJ("additionalParams"),
    END,
};
static const struct jv_field flavour_fields[] = {
    F("newFlavourId", JV_STRING, JV_REQUIRED, 1, 255),
    F("instantiationLevelId", JV_STRING, 0, 1, 255),
    ARR("extVirtualLinks", any_object),
    ARR("extManagedVirtualLinks", any_object),
    F("vimConnectionInfo", JV_ANY, 0, 0, 0),
    OBJ("additionalParams"),
    OBJ("extensions"),
    OBJ("vnfConfigurableProperties"),
    END,
};
static const struct jv_field terminate_fields[] = {
    CHOICE("terminationType", JV_REQUIRED, termination_types),
    F("gracefulTerminationTimeout", JV_INT, 0, 1, 3600),
    OBJ("additionalParams"),
    END,
};
static const struct jv_field heal_fields[] = {
    ARR("vnfcInstanceId", id_item),
    F("cause", JV_STRING, 0, 0, 255),
    OBJ("additionalParams"),
    F("healScript", JV_STRING, 0, 0, 255),
    END,
};
static const struct jv_field operate_fields[] = {
    ARR("vnfcInstanceId", id_item),
    CHOICE("changeStateTo", JV_REQUIRED, vnf_states),
    CHOICE("stopType", 0, termination_types),
    F("gracefulStopTimeout", JV_INT, 0, 0, 3600),
    OBJ("additionalParams"),
    END,
};
static const struct jv_field cancel_fields[] = {
    CHOICE("cancelMode", JV_REQUIRED, cancel_modes),
    END,
};
static const struct jv_field notif_item = {.type = JV_STRING, .choices = notif_types};
static const struct jv_field optype_item = {.type = JV_STRING, .choices = op_types};
static const struct jv_field opstate_item = {.type = JV_STRING, .choices = op_states};
static const struct jv_field auth_item = {.type = JV_STRING, .choices = auth_types};
static const struct jv_field string_item = {.type = JV_STRING, .max = 1024};
static const struct jv_field inst_filter_fields[] = {
    ARR("vnfdIds", id_item),
    ARR("vnfProductsFromProviders", any_object),
    ARR("vnfInstanceIds", id_item),
    ARR("vnfInstanceNames", string_item),
    END,
};
static const struct jv_field filter_fields[] = {
    {.name = "vnfInstanceSubscriptionFilter", .type = JV_OBJECT, .fields = inst_filter_fields},
    ARR("notificationTypes", notif_item),
    ARR("operationTypes", optype_item),
    ARR("operationStates", opstate_item),
    END,
};
static const struct jv_field basic_fields[] = {
    F("userName", JV_STRING, JV_REQUIRED, 1, 255),
    F("password", JV_STRING, JV_REQUIRED, 0, 255),
    END,
};
static const struct jv_field auth_fields[] = {
    {.name = "authType",
     .type = JV_ARRAY,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 4,
     .item = &auth_item},
    {.name = "paramsBasic", .type = JV_OBJECT, .fields = basic_fields},
    OBJ("paramsOauth2ClientCredentials"),
    OBJ("paramsOauth2ClientCert"),
    END,
};
static const struct jv_field subscription_fields[] = {
    {.name = "filter", .type = JV_OBJECT, .fields = filter_fields},
    F("callbackUri", JV_STRING, JV_REQUIRED, 8, 2048),
    {.name = "authentication", .type = JV_OBJECT, .fields = auth_fields},
    CHOICE("verbosity", 0, verbosities),
    END,
};

static const struct jv_field create_schema = SCHEMA(create_fields);
static const struct jv_field modify_schema = SCHEMA(modify_fields);
static const struct jv_field instantiate_schema = SCHEMA(instantiate_fields);
static const struct jv_field scale_schema = SCHEMA(scale_fields);
static const struct jv_field scale_level_schema = SCHEMA(scale_level_fields);
static const struct jv_field flavour_schema = SCHEMA(flavour_fields);
static const struct jv_field terminate_schema = SCHEMA(terminate_fields);
static const struct jv_field heal_schema = SCHEMA(heal_fields);
static const struct jv_field operate_schema = SCHEMA(operate_fields);
static const struct jv_field cancel_schema = SCHEMA(cancel_fields);
static const struct jv_field empty_fields[] = {END}; /* retry, rollback, fail: no body */
static const struct jv_field empty_schema = SCHEMA(empty_fields);
static const struct jv_field subscription_schema = SCHEMA(subscription_fields);

/* ---- routes (below /vnflcm/vN) ---- */

static void read_versions(struct rctx *r);
static void read_instances(struct rctx *r);
static void read_instance(struct rctx *r);
static void read_occs(struct rctx *r);
static void read_occ(struct rctx *r);
static void read_subscriptions(struct rctx *r);
static void read_subscription(struct rctx *r);

#define READ(p, fn, qp)                                         \
    {                                                           \
        .method = "GET", .pattern = p, .read = fn, .params = qp \
    }
#define WRITE(m, p, fl, fn, s)                                           \
    {                                                                    \
        .method = m, .pattern = p, .flags = fl, .apply = fn, .schema = s \
    }
#define NOTSUPP(p, w)                                                \
    {                                                                \
        .method = "POST", .pattern = p, .flags = R_NOTSUPP, .why = w \
    }

static const struct route sol_routes[] = {
    READ("/api_versions", read_versions, NULL),
    READ("/vnf_instances", read_instances, sol_list_params),
    WRITE("POST", "/vnf_instances", R_BODY, svc_sol_create, &create_schema),
    READ("/vnf_instances/{id}", read_instance, NULL),
    WRITE("PATCH", "/vnf_instances/{id}", R_BODY | R_PATCH, svc_sol_modify, &modify_schema),
    WRITE("DELETE", "/vnf_instances/{id}", 0, svc_sol_delete, NULL),
    WRITE("POST", "/vnf_instances/{id}/instantiate", R_BODY, svc_sol_instantiate,
          &instantiate_schema),
    WRITE("POST", "/vnf_instances/{id}/scale", R_BODY, svc_sol_scale, &scale_schema),
    WRITE("POST", "/vnf_instances/{id}/scale_to_level", R_BODY, svc_sol_scale_to_level,
          &scale_level_schema),
    WRITE("POST", "/vnf_instances/{id}/change_flavour", R_BODY, svc_sol_change_flavour,
          &flavour_schema),
    WRITE("POST", "/vnf_instances/{id}/terminate", R_BODY, svc_sol_terminate, &terminate_schema),
    WRITE("POST", "/vnf_instances/{id}/heal", 0, svc_sol_heal, &heal_schema),
    WRITE("POST", "/vnf_instances/{id}/operate", R_BODY, svc_sol_operate, &operate_schema),
    NOTSUPP("/vnf_instances/{id}/change_ext_conn",
            "every VNFC has one interface on its site's network; external connectivity "
            "cannot be changed"),
    NOTSUPP("/vnf_instances/{id}/change_vnfpkg",
            "a VNF instance keeps the VNFD it was created with; terminate, modify vnfdId and "
            "instantiate again"),
    NOTSUPP("/vnf_instances/{id}/create_snapshot", "VNF snapshots are not supported"),
    NOTSUPP("/vnf_instances/{id}/revert_to_snapshot", "VNF snapshots are not supported"),
    READ("/vnf_lcm_op_occs", read_occs, sol_list_params),
    READ("/vnf_lcm_op_occs/{id}", read_occ, NULL),
    WRITE("POST", "/vnf_lcm_op_occs/{id}/retry", 0, svc_sol_retry, &empty_schema),
    WRITE("POST", "/vnf_lcm_op_occs/{id}/rollback", 0, svc_sol_rollback, &empty_schema),
    WRITE("POST", "/vnf_lcm_op_occs/{id}/fail", 0, svc_sol_fail, &empty_schema),
    WRITE("POST", "/vnf_lcm_op_occs/{id}/cancel", R_BODY, svc_sol_cancel, &cancel_schema),
    READ("/subscriptions", read_subscriptions, sol_list_params),
    {.method = "POST",
     .pattern = "/subscriptions",
     .flags = R_BODY,
     .apply = svc_sol_subscribe,
     .schema = &subscription_schema,
     .validate = sol_check_callback,
     .before = sol_test_callback},
    READ("/subscriptions/{id}", read_subscription, NULL),
    WRITE("DELETE", "/subscriptions/{id}", 0, svc_sol_unsubscribe, NULL),
};

/* /vnflcm itself: every major version (SOL013 9.3.2). */
static const struct route version_routes[] = {
    READ("/api_versions", read_versions, NULL),
};

/* ---- the mounts ---- */

int sol_problem(struct rctx *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return result_fail(&r->res, status, "error", NULL, NULL, "%s", msg);
}

static int version_of(const struct rctx *r)
{
    return *(const int *)r->mount->data;
}

/* SOL013 4.6 (Version header): v1 takes 1.0.0-1.3.x and may omit it, v2
 * needs 2.0.x. */
static int check_version(struct rctx *r)
{
    const char *v = rctx_header(r, "Version");
    int ver = version_of(r);
    unsigned major, minor, patch;
    char tail[64] = "";
    int n;

    if (!v)
        return ver == 1
                   ? 0
                   : sol_problem(r, 400, "the 'Version' header is required (interface version %s)",
                                 SOL_V2_VERSION);
    n = sscanf(v, "%u.%u.%u%63s", &major, &minor, &patch, tail);
    if (n < 3 || (n == 4 && strncmp(tail, "-impl:", 6) != 0))
        return sol_problem(r, 400, "Version '%s' is not MAJOR.MINOR.PATCH", v);
    if ((int)major != ver || (major == 1 && minor > 3) || (major == 2 && minor > 0))
        return sol_problem(r, 406, "Version %s is not supported here; this is interface version %s",
                           v, ver == 1 ? SOL_V1_VERSION : SOL_V2_VERSION);
    return 0;
}

/* SOL013 4.7: answers are application/json (errors problem+json). */
static int check_accept(struct rctx *r)
{
    const char *a = rctx_header(r, "Accept");

    if (!a || strcasestr(a, "json") || strstr(a, "*/*") || strcasestr(a, "application/*"))
        return 0;
    return sol_problem(r, 406, "this API answers application/json, not '%s'", a);
}

/* A filter that does not parse is refused even when nothing is listed. */
int sol_check_filter(struct rctx *r)
{
    const char *f = json_string_value(json_object_get(r->query, "filter"));
    json_t *empty = json_object();
    int m = f ? sol_filter_eval(f, empty) : 0;

    json_decref(empty);
    if (m >= 0)
        return 0;
    return result_fail(&r->res, 400, "invalid-value", "field", "filter",
                       "filter: expected (op,attribute,value...) terms joined by ';', with op "
                       "one of eq, neq, in, nin, gt, gte, lt, lte, cont, ncont");
}

static int sol_check(struct rctx *r, const struct route *rt)
{
    if (rt->read != read_versions && check_version(r))
        return -1;
    return check_accept(r) || sol_check_filter(r) ? -1 : 0;
}

/* Where links point: the Host the client used, else --listen. */
static struct sol_ctx ctx_of(const struct rctx *r, char root[ROOT_MAX])
{
    const char *host = rctx_header(r, "Host");
    const struct config *cfg = r->c->cfg;

    if (host && *host && !strpbrk(host, "/ \"<>"))
        snprintf(root, ROOT_MAX, "http://%s", host);
    else
        snprintf(root, ROOT_MAX, "http://%s:%u", cfg->listen_host, cfg->listen_port);
    return (struct sol_ctx){version_of(r), root};
}

/* The views of a write's answer need the interface version and API root. */
static void sol_prepare(struct rctx *r, struct txn *t)
{
    char root[ROOT_MAX];
    struct sol_ctx x = ctx_of(r, root);

    json_decref(t->query);
    t->query = json_pack("{s:i, s:s, s:s?}", "sol_version", x.ver, "api_root", x.api_root,
                         "if_match", rctx_header(r, "If-Match"));
}

static const int v0 = 0, v1 = 1, v2 = 2;

const struct mount sol_mounts[] = {
    {.prefix = "/vnflcm/v1",
     .routes = sol_routes,
     .n_routes = ARRAY_SIZE(sol_routes),
     .style = STYLE_PROBLEM,
     .version = SOL_V1_VERSION,
     .check = sol_check,
     .prepare = sol_prepare,
     .data = &v1},
    {.prefix = "/vnflcm/v2",
     .routes = sol_routes,
     .n_routes = ARRAY_SIZE(sol_routes),
     .style = STYLE_PROBLEM,
     .version = SOL_V2_VERSION,
     .check = sol_check,
     .prepare = sol_prepare,
     .data = &v2},
    {.prefix = "/vnflcm",
     .routes = version_routes,
     .n_routes = ARRAY_SIZE(version_routes),
     .style = STYLE_PROBLEM,
     .version = SOL_V1_VERSION,
     .check = sol_check,
     .data = &v0},
};
const size_t sol_n_mounts = ARRAY_SIZE(sol_mounts);

/* ---- subscriptions ---- */

int sol_check_callback(const json_t *body, struct jv_error *e)
{
    const char *url = json_string_value(json_object_get(body, "callbackUri"));

    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return 0;
    jv_fail(e, "invalid-value", "callbackUri",
            "callbackUri: must be an absolute http:// or https:// URI");
    return -EINVAL;
}

/* SOL013 5.5.2.3.2 (test the notification endpoint): a GET of the
 * callbackUri, which the subscriber answers 204, before the subscription
 * is accepted. Runs on the configuration pool (at most CB_TEST_MS). A
 * tenant's may reach only what --tenant-destinations allows; why a test
 * failed is told in the manager's log, not to the caller (a tenant would
 * learn which ports answer where). */
void sol_test_callback(struct core *c, struct txn *t)
{
    const char *url = json_string_value(json_object_get(t->body, "callbackUri"));
    const json_t *basic =
        json_object_get(json_object_get(t->body, "authentication"), "paramsBasic");
    struct httpc_req rq = {
        .url = url, .timeout_ms = CB_TEST_MS, .deny = t->who.admin ? 0 : c->cfg->tenant_deny};
    struct httpc_resp resp;
    char why[HTTPC_ERR_MAX];

    if (basic) {
        rq.user = json_string_value(json_object_get(basic, "userName"));
        rq.password = json_string_value(json_object_get(basic, "password"));
    }
    httpc_do(&rq, &resp);
    httpc_resp_done(&resp);
    if (resp.status == 204)
        return;
    log_info("SOL003: the test GET of callbackUri %s by %s failed: %s", url, t->who.token_id,
             httpc_outcome(&resp, why, sizeof(why)));
    if (resp.denied)
        result_fail(&t->res, 422, "unprocessable", "field", "callbackUri",
                    "callbackUri: a tenant's notifications may not go to this address (loopback, "
                    "link-local and private ones need vnfmd --tenant-destinations)");
    else
        result_fail(&t->res, 422, "unprocessable", "field", "callbackUri",
                    "callbackUri: the notification endpoint did not answer 204 to a test GET");
}

/* ---- the attribute filter (SOL013 5.2: "(op,attr,value[,value...])" joined by ';') ---- */

/* The values at a '/' path of doc (arrays on the way are looked into). */
static void collect(const json_t *doc, const char *path, json_t *out)
{
    const char *slash = strchr(path, '/');
    char key[128];
    const json_t *v, *it;
    size_t i;

    if (json_is_array(doc)) {
        json_array_foreach(doc, i, it)
        {
            collect(it, path, out);
        }
        return;
    }
    snprintf(key, sizeof(key), "%.*s", slash ? (int)(slash - path) : (int)strlen(path), path);
    v = json_object_get(doc, key);
    if (!v)
        return;
    if (slash)
        collect(v, slash + 1, out);
    else if (json_is_array(v))
        json_array_extend(out, (json_t *)v);
    else
        json_array_append(out, (json_t *)v);
}

static int compare(const json_t *v, const char *s)
{
    if (json_is_number(v))
        return json_number_value(v) < strtod(s, NULL)   ? -1
               : json_number_value(v) > strtod(s, NULL) ? 1
                                                        : 0;
    if (json_is_boolean(v))
        return strcmp(json_is_true(v) ? "true" : "false", s);
    return strcmp(json_is_string(v) ? json_string_value(v) : "", s);
}

/* One term: op applied to the values found; any value may match. */
static bool term_true(const char *op, const json_t *found, char **vals, int n)
{
    bool neg = !strcmp(op, "neq") || !strcmp(op, "nin") || !strcmp(op, "ncont");
    const json_t *v;
    size_t i;

    json_array_foreach(found, i, v)
    {
        for (int k = 0; k < n; k++) {
            int c = compare(v, vals[k]);
            bool hit =
                !strcmp(op, "eq") || !strcmp(op, "neq") || !strcmp(op, "in") || !strcmp(op, "nin")
                    ? c == 0
                : !strcmp(op, "gt")  ? c > 0
                : !strcmp(op, "gte") ? c >= 0
                : !strcmp(op, "lt")  ? c < 0
                : !strcmp(op, "lte") ? c <= 0
                                     : json_is_string(v) && strstr(json_string_value(v), vals[k]);

            if (hit)
                return !neg;
        }
    }
    return neg;
}

static bool known_op(const char *op)
{
    static const char *const ops[] = {"eq", "neq", "in",   "nin",   "gt", "gte",
                                      "lt", "lte", "cont", "ncont", NULL};

    for (const char *const *o = ops; *o; o++)
        if (strcmp(*o, op) == 0)
            return true;
    return false;
}

int sol_filter_eval(const char *filter, const json_t *doc)
{
    char *copy = xstrdup(filter), *save = NULL, *term;
    int r = 1;

    for (term = strtok_r(copy, ";", &save); term && r == 1; term = strtok_r(NULL, ";", &save)) {
        char *parts[18], *p = term, *s2 = NULL;
        size_t len = strlen(term);
        int n = 0;
        json_t *found;

        if (len < 2 || term[0] != '(' || term[len - 1] != ')') {
            r = -EINVAL;
            break;
        }
        term[len - 1] = '\0';
        for (p = strtok_r(term + 1, ",", &s2); p && n < 18; p = strtok_r(NULL, ",", &s2))
            parts[n++] = p;
        if (n < 3 || !known_op(parts[0])) {
            r = -EINVAL;
            break;
        }
        found = json_array();
        collect(doc, parts[1], found);
        r = term_true(parts[0], found, parts + 2, n - 2) ? 1 : 0;
        json_decref(found);
    }
    free(copy);
    return r;
}

/* ---- read handlers ---- */

static void read_versions(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    const char *asked = rctx_header(r, "Version");
    json_t *v1 = json_pack("{s:s, s:b}", "version", SOL_V1_VERSION, "isDeprecated", 0);
    json_t *v2 = json_pack("{s:s, s:b}", "version", SOL_V2_VERSION, "isDeprecated", 0);
    json_t *body;

    if (x->ver == 0) { /* /vnflcm/api_versions: every major version */
        body = json_pack("{s:s, s:[o, o]}", "uriPrefix", "/vnflcm", "apiVersions", v1, v2);
    } else {
        body = json_pack("{s:s, s:[O]}", "uriPrefix", x->ver == 2 ? "/vnflcm/v2" : "/vnflcm/v1",
                         "apiVersions", x->ver == 2 ? v2 : v1);
        json_decref(v1);
        json_decref(v2);
    }
    result_ok(&r->res, 200, body);
    /* answered in the version asked for, when it is one of ours (SOL013 4.6) */
    if (x->ver == 0 && asked && strncmp(asked, "2.", 2) == 0)
        r->res.version = SOL_V2_VERSION;
}

static int store_failed(struct rctx *r)
{
    return result_fail(&r->res, 503, "unavailable", NULL, NULL, "cannot read the store: %s",
                       store_errmsg(r->st));
}

/* The VIs of dep: its records, or those its branch reports (on a cloud,
 * for a deployment another manager runs), at the branch's site. */
static json_t *vis_of(struct rctx *r, const json_t *dep)
{
    struct store_where w = {"deployment", doc_str(dep, "id"), false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *vis = NULL, *vi;
    size_t i;

    if (doc_str(dep, "manager")) {
        vis = json_deep_copy(json_object_get(dep, "vis"));
        json_array_foreach(vis, i, vi)
        {
            json_object_set(vi, "site", json_object_get(dep, "site"));
        }
        return vis ? vis : json_array();
    }
    return store_list(r->st, STORE_VI, &o, &vis) == 0 ? vis : json_array();
}

static json_t *instance_view(struct rctx *r, const struct sol_ctx *x, const json_t *dep)
{
    json_t *vis = vis_of(r, dep), *v = sol_instance(x, dep, vis);

    json_decref(vis);
    return v;
}

static void read_instances(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    struct store_where w = {"tenant", r->who.tenant, false};
    struct store_list_opts o = {.where = &w, .n_where = r->who.admin ? 0 : 1};
    json_t *deps, *dep, *out;
    size_t i;

    if (sol_list_check(r, &sol_instance_shape))
        return;
    if (store_list(r->st, STORE_DEPLOYMENT, &o, &deps)) {
        store_failed(r);
        return;
    }
    out = json_array();
    json_array_foreach(deps, i, dep)
    {
        json_array_append_new(out, instance_view(r, x, dep));
    }
    json_decref(deps);
    sol_list_answer(r, &sol_instance_shape, out);
}

static json_t *visible(struct rctx *r, enum store_kind k, const char *what)
{
    json_t *doc = NULL;

    if (store_get(r->st, k, r->args[0], &doc) == 0 &&
        (r->who.admin ||
         (doc_str(doc, "tenant") && principal_owns(&r->who, doc_str(doc, "tenant")))))
        return doc;
    json_decref(doc);
    result_not_found(&r->res, what, r->args[0]);
    return NULL;
}

static void read_instance(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    json_t *dep = visible(r, STORE_DEPLOYMENT, "vnf_instance");

    if (dep) {
        result_ok(&r->res, 200, instance_view(r, x, dep));
        doc_etag(dep, r->res.etag);
    }
    json_decref(dep);
}

static void read_occs(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    struct store_where w = {"tenant", r->who.tenant, false};
    struct store_list_opts o = {.where = &w, .n_where = r->who.admin ? 0 : 1};
    json_t *ops, *op, *out;
    size_t i;

    if (sol_list_check(r, &sol_occ_shape))
        return;
    if (store_list(r->st, STORE_OP, &o, &ops)) {
        store_failed(r);
        return;
    }
    out = json_array();
    json_array_foreach(ops, i, op)
    {
        if (sol_op_name(doc_str(op, "type")))
            json_array_append_new(out, sol_op_occ(x, op));
    }
    json_decref(ops);
    sol_list_answer(r, &sol_occ_shape, out);
}

static void read_occ(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    json_t *op = visible(r, STORE_OP, "vnf_lcm_op_occ");

    if (op && !sol_op_name(doc_str(op, "type")))
        result_not_found(&r->res, "vnf_lcm_op_occ", r->args[0]);
    else if (op)
        result_ok(&r->res, 200, sol_op_occ(x, op));
    json_decref(op);
}

static bool sub_visible(const struct rctx *r, const json_t *sub)
{
    const char *owner = doc_str(sub, "tenant");

    return r->who.admin || (owner && strcmp(owner, r->who.tenant) == 0);
}

static void read_subscriptions(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    json_t *subs, *sub, *out;
    size_t i;

    if (sol_list_check(r, &sol_subscription_shape))
        return;
    if (store_list(r->st, STORE_SUBSCRIPTION, NULL, &subs)) {
        store_failed(r);
        return;
    }
    out = json_array();
    json_array_foreach(subs, i, sub)
    {
        if (sub_visible(r, sub) && jv_int(sub, "version", 1) == x->ver)
            json_array_append_new(out, sol_subscription(x, sub));
    }
    json_decref(subs);
    sol_list_answer(r, &sol_subscription_shape, out);
}

static void read_subscription(struct rctx *r)
{
    char root[ROOT_MAX];
    struct sol_ctx ctx = ctx_of(r, root), *x = &ctx;
    json_t *sub = NULL;

    if (store_get(r->st, STORE_SUBSCRIPTION, r->args[0], &sub) == 0 && sub_visible(r, sub))
        result_ok(&r->res, 200, sol_subscription(x, sub));
    else
        result_not_found(&r->res, "subscription", r->args[0]);
    json_decref(sub);
}
