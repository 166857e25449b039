/* Every REST route in one table (docs/API.md, docs/api/openapi.yaml). */
#include "rest/api.h"
#include "catalog/vnfd_policy.h"
#include "catalog/svc_catalog.h"
#include "lcm/svc_lcm.h"
#include "lcm/schedule.h"
#include "policy/svc_policy.h"
#include "monitor/monitor.h"
#include "core/health.h"
#include "catalog/vnfd.h"
#include "util/mem.h"

#include <string.h>

#define FIELD(n, t, fl, lo, hi)                                 \
    {                                                           \
        .name = n, .type = t, .flags = fl, .min = lo, .max = hi \
    }
#define END          \
    {                \
        .name = NULL \
    }
#define OBJECT(f)                      \
    {                                  \
        .type = JV_OBJECT, .fields = f \
    }

static const struct jv_field tenant_fields[] = {
    FIELD("id", JV_STRING, JV_NAME, 0, 0),
    FIELD("name", JV_STRING, 0, 1, 128),
    FIELD("description", JV_STRING, 0, 0, 1024),
    FIELD("enabled", JV_BOOL, 0, 0, 0),
    FIELD("external_tenant_id", JV_STRING, 0, 1, 64),
    END,
};
static const struct jv_field tenant_create_fields[] = {
    FIELD("id", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0), FIELD("name", JV_STRING, 0, 1, 128),
    FIELD("description", JV_STRING, 0, 0, 1024),         FIELD("enabled", JV_BOOL, 0, 0, 0),
    FIELD("external_tenant_id", JV_STRING, 0, 1, 64),    END,
};
static const struct jv_field tenant_update_fields[] = {
    FIELD("name", JV_STRING, 0, 1, 128),
    FIELD("description", JV_STRING, 0, 0, 1024),
    FIELD("enabled", JV_BOOL, 0, 0, 0),
    END,
};
static const struct jv_field token_fields[] = {
    FIELD("description", JV_STRING, 0, 0, 256),
    FIELD("ttl_s", JV_INT, 0, 1, 315360000), /* ten years */
    FIELD("expires", JV_STRING, 0, 1, 40),
    END,
};
static const struct jv_field capacity_fields[] = {
    FIELD("vcpu", JV_NUMBER, 0, 0, 100000),
    FIELD("memory_mb", JV_INT, 0, 0, 1e9),
    FIELD("disk_mb", JV_INT, 0, 0, 1e10),
    END,
};
static const struct jv_field site_fields[] = {
    {.name = "capacity", .type = JV_OBJECT, .fields = capacity_fields},
    {.name = "options", .type = JV_OBJECT}, /* the site's driver's (svc_site.c) */
    END,
};
static const struct jv_field new_capacity_fields[] = {
    FIELD("vcpu", JV_NUMBER, JV_REQUIRED, 0, 100000),
    FIELD("memory_mb", JV_INT, JV_REQUIRED, 0, 1e9),
    FIELD("disk_mb", JV_INT, 0, 0, 1e10),
    END,
};
static const struct jv_field site_create_fields[] = {
    FIELD("id", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("driver", JV_STRING, JV_REQUIRED, 1, 32),
    FIELD("subnet", JV_STRING, 0, 9, 18),
    {.name = "capacity", .type = JV_OBJECT, .flags = JV_REQUIRED, .fields = new_capacity_fields},
    {.name = "options", .type = JV_OBJECT}, /* the driver's (svc_site.c) */
    END,
};
static const struct jv_field count_item = {.type = JV_INT, .min = 0, .max = 64};
static const struct jv_field credentials_fields[] = {
    FIELD("password", JV_STRING, 0, 8, 128),
    END,
};
static const struct jv_field deploy_fields[] = {
    FIELD("name", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("vnfd", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("tenant", JV_STRING, JV_NAME, 0, 0),
    FIELD("site", JV_STRING, JV_NAME, 0, 0),
    {.name = "params", .type = JV_MAP, .max = 64, .item = &(const struct jv_field){.type = JV_ANY}},
    FIELD("license", JV_STRING, 0, 0, 4096),
    {.name = "credentials", .type = JV_OBJECT, .fields = credentials_fields},
    {.name = "instances", .type = JV_MAP, .max = 16, .item = &count_item},
    END,
};
static const char *const heal_policies[] = {"reboot_then_redeploy", "reboot", "redeploy", NULL};
static const struct jv_field heal_fields[] = {
    FIELD("vi", JV_STRING, 0, 1, 128),
    {.name = "policy", .type = JV_STRING, .choices = heal_policies},
    END,
};
static const struct jv_field scale_fields[] = {
    FIELD("vdu", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("count", JV_INT, 0, 0, 64),
    FIELD("delta", JV_INT, 0, -64, 64),
    END,
};

/* the faults are those of the registered services (core/service.h) */
static const struct jv_field fault_fields[] = {
    {.name = "fault", .type = JV_STRING, .flags = JV_REQUIRED},
    FIELD("seconds", JV_INT, 0, 1, 600),
    END,
};

static const struct jv_field tenant_schema = OBJECT(tenant_fields);
static const struct jv_field fault_schema = OBJECT(fault_fields);
static const struct jv_field tenant_create_schema = OBJECT(tenant_create_fields);
static const struct jv_field tenant_update_schema = OBJECT(tenant_update_fields);
static const struct jv_field token_schema = OBJECT(token_fields);
static const struct jv_field site_schema = OBJECT(site_fields);
static const struct jv_field site_create_schema = OBJECT(site_create_fields);
static const struct jv_field deploy_schema = OBJECT(deploy_fields);
static const struct jv_field heal_schema = OBJECT(heal_fields);
static const struct jv_field scale_schema = OBJECT(scale_fields);
static const struct jv_field resize_fields[] = {
    FIELD("vdu", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("vcpu", JV_NUMBER, 0, 0.01, 64),
    FIELD("memory_mb", JV_INT, 0, 4, 1048576),
    END,
};
static const struct jv_field resize_schema = OBJECT(resize_fields);
static const struct jv_field move_fields[] = {
    FIELD("site", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    FIELD("drain_s", JV_NUMBER, 0, 0, 3600),
    END,
};
static const struct jv_field move_schema = OBJECT(move_fields);
static const struct jv_field rules_update_fields[] = {
    /* typed for XML bodies; checked again with the deployment's VNFD */
    {.name = "monitoring", .type = JV_OBJECT, .fields = monitoring_fields},
    {.name = "rules", .type = JV_ARRAY, .max = 64, .item = &rule_item},
    END,
};
static const struct jv_field rules_update_schema = OBJECT(rules_update_fields);
static const struct jv_field value_item = {.type = JV_NUMBER, .min = -1e15, .max = 1e15};
static const struct jv_field push_fields[] = {
    FIELD("vi", JV_STRING, 0, 1, 128),
    {.name = "values",
     .type = JV_MAP,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 64,
     .item = &value_item},
    END,
};
static const struct jv_field push_schema = OBJECT(push_fields);

static const struct jv_field empty_fields[] = {END};
static const struct jv_field empty_schema = OBJECT(empty_fields);
static const char *const cancel_modes[] = {"GRACEFUL", "FORCEFUL", NULL};
static const struct jv_field cancel_fields[] = {
    {.name = "mode", .type = JV_STRING, .choices = cancel_modes},
    END,
};
static const struct jv_field cancel_schema = OBJECT(cancel_fields);

/* POST /v0/scheduled-operations: the schedule, and its params as the
 * operation's own route takes its body (lcm/schedule.h). */
static const char *const schedulable_ops[] = {"heal", "scale", "resize", NULL};
static const char *const if_missed_choices[] = {"run", "skip", NULL};
static const struct jv_field schedule_fields[] = {
    FIELD("deployment", JV_STRING, JV_NAME | JV_REQUIRED, 0, 0),
    {.name = "operation", .type = JV_STRING, .flags = JV_REQUIRED, .choices = schedulable_ops},
    {.name = "params", .type = JV_OBJECT}, /* checked by the operation's schema below */
    FIELD("at", JV_STRING, 0, 1, 40),
    FIELD("in_s", JV_NUMBER, 0, 0.001, 31536000),
    {.name = "if_missed", .type = JV_STRING, .choices = if_missed_choices},
    END,
};
static const struct jv_field schedule_schema = OBJECT(schedule_fields);

static int schedule_validate(const json_t *body, struct jv_error *e)
{
    static const struct {
        const char *op;
        const struct jv_field *schema;
    } by_op[] = {{"heal", &heal_schema}, {"scale", &scale_schema}, {"resize", &resize_schema}};
    const char *op = json_string_value(json_object_get(body, "operation"));
    json_t *params = json_object_get(body, "params");
    json_t *none = NULL;
    int r = 0;

    for (size_t i = 0; op && i < ARRAY_SIZE(by_op); i++) {
        if (strcmp(op, by_op[i].op) != 0)
            continue;
        if (!params)
            params = none = json_object();
        r = jv_check_at(params, by_op[i].schema, "params", e);
    }
    json_decref(none);
    return r;
}

static const char *const no_params[] = {NULL};
static const char *const vnfd_params[] = {"tenant", NULL};
static const char *const dep_params[] = {"tenant", "site",   "status", "vnfd",
                                         "limit",  "offset", NULL};
static const char *const schedule_params[] = {"tenant", "deployment", "state",
                                              "limit",  "offset",     NULL};
static const char *const op_params[] = {"tenant", "deployment", "state", "type",
                                        "limit",  "offset",     NULL};
static const char *const decision_params[] = {"tenant", "deployment", "rule", "state",
                                              "limit",  "offset",     NULL};
/* what the event stream filters by (sse.c) */
static const char *const event_params[] = {"deployment", "operation", "category", "after", NULL};
static const char *const history_params[] = {"metric", "since", NULL};
static const char *const log_params[] = {"category",   "tag",       "object", "level", "event",
                                         "since",      "until",     "after",  "limit", "tail",
                                         "deployment", "operation", NULL};

#define GET(p, n, fl, fn, qp)                                                           \
    {                                                                                   \
        .method = "GET", .pattern = p, .name = n, .flags = fl, .read = fn, .params = qp \
    }
#define WRITE(m, p, n, fl, fn, s)                                                    \
    {                                                                                \
        .method = m, .pattern = p, .name = n, .flags = fl, .apply = fn, .schema = s, \
        .params = no_params                                                          \
    }

const struct route api_routes[] = {
    GET("/v0/health", "health", R_PUBLIC, q_health, no_params),
    GET("/v0/version", "version", 0, q_version, no_params),
    GET("/v0/vnfm/components", "list components", R_ADMIN, q_components, no_params),
    GET("/v0/tenants", "list tenants", 0, q_tenants, no_params),
    WRITE("POST", "/v0/tenants", "create tenant", R_ADMIN | R_BODY, svc_tenant_create,
          &tenant_create_schema),
    GET("/v0/tenants/{id}", "show tenant", 0, q_tenant, no_params),
    WRITE("POST", "/v0/tenants/{id}", "create tenant", R_ADMIN, svc_tenant_create, &tenant_schema),
    WRITE("PUT", "/v0/tenants/{id}", "update tenant", R_ADMIN | R_BODY, svc_tenant_update,
          &tenant_update_schema),
    WRITE("DELETE", "/v0/tenants/{id}", "delete tenant", R_ADMIN, svc_tenant_delete, NULL),
    WRITE("POST", "/v0/tenants/{id}/tokens", "create token", R_ADMIN, svc_token_create,
          &token_schema),
    GET("/v0/tokens", "list tokens", R_ADMIN, q_tokens, no_params),
    WRITE("DELETE", "/v0/tokens/{id}", "delete token", R_ADMIN, svc_token_delete, NULL),
    GET("/v0/vnfds", "list VNFDs", 0, q_vnfds, no_params),
    {.method = "POST",
     .pattern = "/v0/vnfds",
     .name = "on-board VNFD",
     .flags = R_BODY,
     .apply = svc_vnfd_create,
     .validate = vnfd_validate,
     .params = vnfd_params},
    GET("/v0/vnfds/{id}", "show VNFD", 0, q_vnfd, no_params),
    WRITE("DELETE", "/v0/vnfds/{id}", "delete VNFD", 0, svc_vnfd_delete, NULL),
    GET("/v0/sites", "list sites", 0, q_sites, no_params),
    WRITE("POST", "/v0/sites", "create site", R_ADMIN | R_BODY, svc_site_create,
          &site_create_schema),
    GET("/v0/sites/{id}", "show site", 0, q_site, no_params),
    WRITE("PUT", "/v0/sites/{id}", "update site", R_ADMIN | R_BODY, svc_site_update, &site_schema),
    GET("/v0/deployments", "list deployments", 0, q_deployments, dep_params),
    WRITE("POST", "/v0/deployments", "deploy", R_BODY, svc_deploy, &deploy_schema),
    GET("/v0/deployments/{id}", "show deployment", 0, q_deployment, no_params),
    WRITE("DELETE", "/v0/deployments/{id}", "undeploy", 0, svc_undeploy, NULL),
    WRITE("POST", "/v0/deployments/{id}/heal", "heal", 0, svc_heal, &heal_schema),
    WRITE("POST", "/v0/deployments/{id}/scale", "scale", R_BODY, svc_scale, &scale_schema),
    WRITE("POST", "/v0/deployments/{id}/resize", "resize", R_BODY, svc_resize, &resize_schema),
    WRITE("POST", "/v0/deployments/{id}/move", "move", R_BODY, svc_move, &move_schema),
    GET("/v0/deployments/{id}/monitoring", "show monitoring", 0, q_monitoring, no_params),
    WRITE("PUT", "/v0/deployments/{id}/rules", "update rules", R_BODY, svc_rules_update,
          &rules_update_schema),
    GET("/v0/deployments/{id}/metrics", "show metric history", 0, q_metric_history, history_params),
    WRITE("POST", "/v0/deployments/{id}/metrics", "push metrics", R_BODY | R_NOLOCK,
          svc_metrics_push, &push_schema),
    GET("/v0/decisions", "list decisions", 0, q_decisions, decision_params),
    GET("/v0/decisions/{id}", "show decision", 0, q_decision, no_params),
    GET("/metrics", "metrics", R_METRICS, q_metrics, no_params),
    GET("/v0/operations", "list operations", 0, q_operations, op_params),
    GET("/v0/operations/{id}", "show operation", 0, q_operation, no_params),
    GET("/v0/scheduled-operations", "list scheduled operations", 0, q_schedules, schedule_params),
    {.method = "POST",
     .pattern = "/v0/scheduled-operations",
     .name = "schedule operation",
     .flags = R_BODY,
     .apply = svc_schedule_create,
     .schema = &schedule_schema,
     .validate = schedule_validate,
     .params = no_params},
    GET("/v0/scheduled-operations/{id}", "show scheduled operation", 0, q_schedule, no_params),
    WRITE("DELETE", "/v0/scheduled-operations/{id}", "cancel scheduled operation", 0,
          svc_schedule_cancel, NULL),
    GET("/v0/logs", "query logs", 0, q_logs, log_params),
    GET("/v0/events", "events", R_STREAM, NULL, event_params),
    WRITE("POST", "/v0/debug/faults", "inject fault", R_ADMIN | R_BODY | R_NOLOCK, svc_debug_fault,
          &fault_schema),
    /* operator decisions on an operation in failed_temp, and cancel (SOL003 5.4.14-17) */
    WRITE("POST", "/v0/operations/{id}/retry", "retry operation", 0, svc_op_retry, &empty_schema),
    WRITE("POST", "/v0/operations/{id}/rollback", "roll back operation", 0, svc_op_rollback,
          &empty_schema),
    WRITE("POST", "/v0/operations/{id}/fail", "fail operation", 0, svc_op_fail, &empty_schema),
    WRITE("POST", "/v0/operations/{id}/cancel", "cancel operation", 0, svc_op_cancel,
          &cancel_schema),
};

const size_t api_n_routes = ARRAY_SIZE(api_routes);

/* The schema that types an XML body of rt (xml.h): the route's own, or the
 * descriptor's for routes that validate by hand. */
const struct jv_field *route_body_schema(const struct route *rt)
{
    if (rt->schema)
        return rt->schema;
    if (rt->validate == vnfd_validate)
        return vnfd_body_schema();
    return NULL;
}

/* The native API at the root of the router (/v0 and /metrics). */
const struct mount rest_mount = {
    .prefix = "",
    .routes = api_routes,
    .n_routes = ARRAY_SIZE(api_routes),
    .style = STYLE_NATIVE,
    .xml_schema = route_body_schema,
};
