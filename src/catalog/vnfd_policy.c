#include "catalog/vnfd_policy.h"
#include "catalog/vnfd.h"
#include "monitor/probes/probe.h"
#include "util/httpc.h"
#include "util/mstat.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define END          \
    {                \
        .name = NULL \
    }

/* The monitoring and rules sections of a VNFD (and of a deployment, whose
 * copies the API can change at run time): their schemas and the checks the
 * schemas cannot make. The evaluation of rules is policy/rules.c. */

static const char *const aggregates[] = {"avg", "min", "max", "sum", NULL};
static const char *const stats[] = {"last", "avg", "ewma", "p95", "min", "max", NULL};
static const char *const cmps[] = {">", ">=", "<", "<=", "==", "!=", NULL};
static const char *const scopes[] = {"vi", "vdu", NULL};
static const char *const modes[] = {"sequence", "parallel", "chain", NULL};
static const char *const actions[] = {"scale_out", "scale_in", "scale_up", "scale_down", "heal",
                                      "notify",    "log",      "script",   "move",       NULL};
static const char *const heal_policies[] = {"reboot_then_redeploy", "redeploy", "reboot", NULL};
static const char *const levels[] = {"info", "warn", "error", NULL};

static const struct jv_field any_string = {.type = JV_STRING, .max = 4096};

/* The members every metric may have; the probe's own come on top. */
static const char *const common_keys[] = {"probe",    "vdu",      "interval_s", "timeout_ms",
                                          "retry_ms", "window_s", "aggregate",  NULL};

static const struct jv_field metric_fields[] = {
    {.name = "probe", .type = JV_STRING, .flags = JV_REQUIRED, .choices = probe_names},
    {.name = "vdu", .type = JV_STRING, .flags = JV_NAME},
    {.name = "interval_s", .type = JV_NUMBER, .min = 0.05, .max = 3600},
    {.name = "timeout_ms", .type = JV_INT, .min = 10, .max = 60000},
    {.name = "retry_ms", .type = JV_INT, .min = 10, .max = 3600000},
    {.name = "window_s", .type = JV_INT, .min = 1, .max = 86400},
    {.name = "aggregate", .type = JV_STRING, .choices = aggregates},
    /* probe members (which probe takes which: probe_ops.keys) */
    {.name = "port", .type = JV_INT, .min = 1, .max = 65535},
    {.name = "path", .type = JV_STRING, .min = 1, .max = 1024},
    {.name = "json", .type = JV_STRING, .min = 1, .max = 256},
    {.name = "expect_status", .type = JV_INT, .min = 100, .max = 599},
    {.name = "name", .type = JV_STRING, .min = 1, .max = 256},
    {.name = "labels", .type = JV_MAP, .max = 16, .item = &any_string},
    {.name = "oid", .type = JV_STRING, .min = 1, .max = 512},
    {.name = "community", .type = JV_STRING, .min = 1, .max = 64},
    {.name = "version", .type = JV_STRING, .min = 1, .max = 4},
    {.name = "script", .type = JV_STRING, .min = 1, .max = 4096},
    {.name = "args", .type = JV_ARRAY, .max = 32, .item = &any_string},
    {.name = "value", .type = JV_STRING, .min = 1, .max = 128},
    {.name = "resource", .type = JV_STRING, .min = 1, .max = 16},
    {.name = "unit", .type = JV_STRING, .min = 1, .max = 16},
    END,
};
static const struct jv_field metric_item = {.type = JV_OBJECT, .fields = metric_fields};

const struct jv_field monitoring_fields[] = {
    {.name = "interval_s", .type = JV_NUMBER, .min = 0.05, .max = 3600},
    {.name = "metrics", .type = JV_MAP, .max = 64, .item = &metric_item},
    END,
};
const struct jv_field monitoring_schema = {.type = JV_OBJECT, .fields = monitoring_fields};

static const struct jv_field action_fields[] = {
    {.name = "action", .type = JV_STRING, .flags = JV_REQUIRED, .choices = actions},
    {.name = "vdu", .type = JV_STRING, .flags = JV_NAME},
    {.name = "step", .type = JV_INT, .min = 1, .max = 64},
    {.name = "vcpu", .type = JV_NUMBER, .min = 0.01, .max = 64},
    {.name = "memory_mb", .type = JV_INT, .min = 1, .max = 1048576},
    {.name = "policy", .type = JV_STRING, .choices = heal_policies},
    {.name = "attempts", .type = JV_INT, .min = 1, .max = 10},
    {.name = "url", .type = JV_STRING, .min = 8, .max = 2048},
    {.name = "level", .type = JV_STRING, .choices = levels},
    {.name = "message", .type = JV_STRING, .min = 1, .max = 1024},
    {.name = "script", .type = JV_STRING, .min = 1, .max = 4096},
    {.name = "args", .type = JV_ARRAY, .max = 32, .item = &any_string},
    {.name = "timeout_s", .type = JV_INT, .min = 1, .max = 3600},
    {.name = "site", .type = JV_STRING, .flags = JV_NAME},
    {.name = "drain_s", .type = JV_NUMBER, .min = 0, .max = 3600},
    END,
};
static const struct jv_field action_item = {.type = JV_OBJECT, .fields = action_fields};

static const struct jv_field rule_fields[] = {
    {.name = "name", .type = JV_STRING, .flags = JV_REQUIRED | JV_NAME},
    {.name = "enabled", .type = JV_BOOL},
    {.name = "metric", .type = JV_STRING, .flags = JV_REQUIRED, .min = 1, .max = 80},
    {.name = "stat", .type = JV_STRING, .choices = stats},
    {.name = "op", .type = JV_STRING, .flags = JV_REQUIRED, .choices = cmps},
    {.name = "threshold", .type = JV_NUMBER, .flags = JV_REQUIRED, .min = -1e15, .max = 1e15},
    {.name = "occurrences", .type = JV_INT, .min = 1, .max = 1000},
    {.name = "for_s", .type = JV_NUMBER, .min = 0.05, .max = 86400},
    {.name = "clear_after", .type = JV_INT, .min = 1, .max = 1000},
    {.name = "scope", .type = JV_STRING, .choices = scopes},
    {.name = "stage", .type = JV_STRING, .flags = JV_NAME},
    {.name = "cooldown_s", .type = JV_NUMBER, .min = 0, .max = 86400},
    {.name = "mode", .type = JV_STRING, .choices = modes},
    {.name = "actions",
     .type = JV_ARRAY,
     .flags = JV_REQUIRED,
     .min = 1,
     .max = 16,
     .item = &action_item},
    END,
};
const struct jv_field rule_item = {.type = JV_OBJECT, .fields = rule_fields};
const struct jv_field rules_schema = {.type = JV_ARRAY, .max = 64, .item = &rule_item};

/* ---- cross-field checks ---- */

static bool in_list(const char *const *list, const char *key)
{
    for (; list && *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

static int check_metric(const char *name, const json_t *m, const json_t *vnfd, struct jv_error *err)
{
    const struct probe_ops *ops = probe_find(jv_str(m, "probe", ""));
    const char *vdu = jv_str(m, "vdu", NULL), *key;
    char field[160], sub[224];
    json_t *v;

    snprintf(field, sizeof(field), "monitoring.metrics.%s", name);
    if (strchr(name, '.') || strcmp(name, "process") == 0) {
        jv_fail(err, "invalid-value", field,
                "a metric name has no '.' and is not 'process' (the built-in process.up)");
        return -EINVAL;
    }
    json_object_foreach((json_t *)m, key, v)
    {
        snprintf(sub, sizeof(sub), "%s.%s", field, key);
        if (!in_list(common_keys, key) && !in_list(ops->keys, key)) {
            jv_fail(err, "unknown-field", sub, "not a member of a %s probe", ops->name);
            return -EINVAL;
        }
    }
    if (vdu && vnfd && !vnfd_vdu(vnfd, vdu)) {
        snprintf(sub, sizeof(sub), "%s.vdu", field);
        jv_fail(err, "invalid-value", sub, "the VNFD has no VDU '%s'", vdu);
        return -EINVAL;
    }
    return ops->validate ? ops->validate(m, field, err) : 0;
}

/* The metric definition a rule names ("NAME" or "NAME.up"), NULL when it
 * does not exist; "process.up" is built in (*builtin set). */
static const json_t *rule_metric(const json_t *monitoring, const char *name, bool *up,
                                 bool *builtin)
{
    char base[80];
    size_t n = strlen(name);

    *up = n > 3 && strcmp(name + n - 3, ".up") == 0;
    *builtin = strcmp(name, "process.up") == 0;
    if (*builtin)
        return json_null();
    snprintf(base, sizeof(base), "%.*s", (int)(*up ? n - 3 : n), name);
    return json_object_get(json_object_get(monitoring, "metrics"), base);
}

static const char *const *action_keys(const char *action)
{
    static const char *const scale[] = {"action", "vdu", "step", NULL};
    static const char *const resize[] = {"action", "vdu", "vcpu", "memory_mb", NULL};
    static const char *const heal[] = {"action", "policy", "attempts", NULL};
    static const char *const notify[] = {"action", "url", NULL};
    static const char *const log[] = {"action", "level", "message", NULL};
    static const char *const script[] = {"action", "script", "args", "timeout_s", NULL};
    static const char *const move[] = {"action", "site", "drain_s", NULL};

    if (strcmp(action, "move") == 0)
        return move;
    if (strncmp(action, "scale_o", 7) == 0 || strcmp(action, "scale_in") == 0)
        return scale;
    if (strcmp(action, "scale_up") == 0 || strcmp(action, "scale_down") == 0)
        return resize;
    if (strcmp(action, "heal") == 0)
        return heal;
    if (strcmp(action, "notify") == 0)
        return notify;
    return strcmp(action, "log") == 0 ? log : script;
}

/* Whether an action is a lifecycle operation of the deployment. */
static bool is_lifecycle(const char *action)
{
    return strncmp(action, "scale_", 6) == 0 || strcmp(action, "heal") == 0 ||
           strcmp(action, "move") == 0;
}

static int check_action_values(const json_t *a, const char *action, const char *field,
                               const json_t *vnfd, const char *metric_vdu, struct jv_error *err)
{
    const char *vdu = jv_str(a, "vdu", metric_vdu);
    char sub[224];

    if (strncmp(action, "scale_", 6) == 0) {
        snprintf(sub, sizeof(sub), "%s.vdu", field);
        if (!vdu && json_array_size(json_object_get(vnfd, "vdus")) == 1)
            vdu = jv_str(json_array_get(json_object_get(vnfd, "vdus"), 0), "id", NULL);
        if (!vdu || (vnfd && !vnfd_vdu(vnfd, vdu))) {
            jv_fail(err, vdu ? "invalid-value" : "missing-field", sub,
                    vdu ? "the VNFD has no VDU '%s'" : "name the VDU to scale%s", vdu ? vdu : "");
            return -EINVAL;
        }
    }
    if ((strcmp(action, "scale_up") == 0 || strcmp(action, "scale_down") == 0) &&
        !json_object_get(a, "vcpu") && !json_object_get(a, "memory_mb")) {
        jv_fail(err, "missing-field", field, "give the vcpu and/or memory_mb step to resize by");
        return -EINVAL;
    }
    if (strcmp(action, "notify") == 0) {
        const char *url = jv_str(a, "url", "");

        snprintf(sub, sizeof(sub), "%s.url", field);
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            jv_fail(err, url[0] ? "invalid-value" : "missing-field", sub,
                    "an http:// or https:// URL is needed");
            return -EINVAL;
        }
    }
    if (strcmp(action, "script") == 0) {
        snprintf(sub, sizeof(sub), "%s.script", field);
        if (jv_check_script(jv_str(a, "script", NULL), sub, err))
            return -EINVAL;
    }
    return 0;
}

static int check_action(const json_t *a, const char *field, const json_t *vnfd,
                        const char *metric_vdu, struct jv_error *err)
{
    const char *action = jv_str(a, "action", ""), *key;
    const char *const *keys = action_keys(action);
    char sub[224];
    json_t *v;

    json_object_foreach((json_t *)a, key, v)
    {
        snprintf(sub, sizeof(sub), "%s.%s", field, key);
        if (!in_list(keys, key)) {
            jv_fail(err, "unknown-field", sub, "not a member of a %s action", action);
            return -EINVAL;
        }
    }
    return check_action_values(a, action, field, vnfd, metric_vdu, err);
}

static int check_actions(const json_t *rule, const char *field, const json_t *vnfd,
                         const char *metric_vdu, struct jv_error *err)
{
    const json_t *list = json_object_get(rule, "actions"), *a;
    unsigned lifecycle = 0;
    char sub[200];
    size_t i;

    json_array_foreach(list, i, a)
    {
        snprintf(sub, sizeof(sub), "%s.actions[%zu]", field, i);
        if (check_action(a, sub, vnfd, metric_vdu, err))
            return -EINVAL;
        lifecycle += is_lifecycle(jv_str(a, "action", ""));
    }
    if (lifecycle > 1 && strcmp(jv_str(rule, "mode", "chain"), "parallel") == 0) {
        snprintf(sub, sizeof(sub), "%s.mode", field);
        jv_fail(err, "invalid-value", sub,
                "parallel actions may hold at most one scale or heal: a deployment runs one "
                "lifecycle operation at a time");
        return -EINVAL;
    }
    return 0;
}

static int check_rule(const json_t *rules, size_t i, const json_t *monitoring, const json_t *vnfd,
                      struct jv_error *err)
{
    const json_t *r = json_array_get(rules, i), *m, *a;
    const char *name = jv_str(r, "name", ""), *metric = jv_str(r, "metric", "");
    char field[64], sub[160];
    bool up, builtin;
    size_t k;

    snprintf(field, sizeof(field), "rules[%zu]", i);
    if (strcmp(name, RESTART_RULE) == 0) {
        snprintf(sub, sizeof(sub), "%s.name", field);
        jv_fail(err, "invalid-value", sub,
                "'%s' is the built-in rule of restarts on exit: choose another name", name);
        return -EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(name, jv_str(json_array_get(rules, j), "name", "")) == 0) {
            snprintf(sub, sizeof(sub), "%s.name", field);
            jv_fail(err, "invalid-value", sub, "duplicate rule name '%s'", name);
            return -EINVAL;
        }
    }
    m = rule_metric(monitoring, metric, &up, &builtin);
    if (!m) {
        snprintf(sub, sizeof(sub), "%s.metric", field);
        jv_fail(err, "invalid-value", sub,
                "unknown metric '%s': name one of monitoring.metrics, NAME.up, or process.up",
                metric);
        return -EINVAL;
    }
    if (json_object_get(r, "occurrences") && json_object_get(r, "for_s")) {
        snprintf(sub, sizeof(sub), "%s.for_s", field);
        jv_fail(err, "invalid-value", sub, "give occurrences or for_s, not both");
        return -EINVAL;
    }
    json_array_foreach(json_object_get(r, "actions"), k, a)
    {
        if (strcmp(jv_str(a, "action", ""), "move") == 0) {
            snprintf(sub, sizeof(sub), "%s.actions[%zu].action", field, k);
            jv_fail(err, "invalid-value", sub,
                    "move is an action of a cloud VNFM's rules over a branch deployment "
                    "(docs/FEDERATION.md \"Cloud rules over branch reports\")");
            return -EINVAL;
        }
    }
    return check_actions(r, field, vnfd, builtin ? NULL : jv_str(m, "vdu", NULL), err);
}

/* Seed para 1013: an underload threshold lies below the overload one. */
static int check_thresholds(const json_t *rules, struct jv_error *err)
{
    const json_t *u, *o;
    size_t i, j;
    char sub[96];

    json_array_foreach(rules, i, u)
    {
        if (strcmp(jv_str(u, "stage", ""), "underloaded") != 0)
            continue;
        json_array_foreach(rules, j, o)
        {
            if (strcmp(jv_str(o, "stage", ""), "overloaded") != 0 ||
                strcmp(jv_str(o, "metric", ""), jv_str(u, "metric", "")) != 0 ||
                strcmp(jv_str(o, "stat", "last"), jv_str(u, "stat", "last")) != 0 ||
                jv_num(u, "threshold", 0) < jv_num(o, "threshold", 0))
                continue;
            snprintf(sub, sizeof(sub), "rules[%zu].threshold", i);
            jv_fail(err, "invalid-value", sub,
                    "the underload threshold (%g) must be below the overload threshold of "
                    "rule '%s' (%g)",
                    jv_num(u, "threshold", 0), jv_str(o, "name", ""), jv_num(o, "threshold", 0));
            return -EINVAL;
        }
    }
    return 0;
}

int policy_validate(const json_t *monitoring, const json_t *rules, const json_t *vnfd,
                    struct jv_error *err)
{
    const char *name;
    json_t *m;

    json_object_foreach(json_object_get(monitoring, "metrics"), name, m)
    {
        if (check_metric(name, m, vnfd, err))
            return -EINVAL;
    }
    for (size_t i = 0; i < json_array_size(rules); i++)
        if (check_rule(rules, i, monitoring, vnfd, err))
            return -EINVAL;
    return check_thresholds(rules, err);
}

/* manager.PART: the parts of a manager's load (fed/load.c) */
const char *const estate_targets[] = {
    "manager.load",        "manager.vnfs",       "manager.vis", "manager.probes_per_s",
    "manager.ops_running", "manager.ops_queued", "manager.cpu", "manager.memory_mb",
    "site.load",           "site.vcpu",          "site.memory", NULL};
const char *const estate_actions[] = {"scale_out", "scale_in", "move", "notify", "log", NULL};

/* Why rule r of the cloud's cannot be, or NULL; *what is the member. */
static const char *estate_refusal(const json_t *r, const json_t *monitoring, const char **what,
                                  size_t *action)
{
    const char *metric = jv_str(r, "metric", "");
    const json_t *a;
    size_t i;

    *what = "metric";
    if (!json_object_get(json_object_get(monitoring, "metrics"), metric) &&
        !in_list(estate_targets, metric))
        return "unknown metric: name a metric the branch reports of the deployment (its "
               "monitoring.metrics), or manager.load, manager.PART (vnfs, vis, probes_per_s, "
               "ops_running, ops_queued, cpu, memory_mb), site.load, site.vcpu or site.memory";
    *what = "scope";
    if (strcmp(jv_str(r, "scope", "vdu"), "vdu"))
        return "a cloud rule sees what the branch reports: the VDU's aggregate, not each VI";
    *what = "action";
    json_array_foreach(json_object_get(r, "actions"), i, a)
    {
        *action = i;
        if (!in_list(estate_actions, jv_str(a, "action", "")))
            return "a cloud rule acts through the branch's manager or moves the deployment: "
                   "scale_out, scale_in, move, notify or log";
    }
    return NULL;
}

static int check_estate_rule(const json_t *rules, size_t i, const json_t *monitoring,
                             const json_t *vnfd, struct jv_error *err)
{
    const json_t *r = json_array_get(rules, i);
    const json_t *m =
        json_object_get(json_object_get(monitoring, "metrics"), jv_str(r, "metric", ""));
    const char *what, *why;
    char field[64], sub[160];
    size_t k = 0;

    snprintf(field, sizeof(field), "rules[%zu]", i);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(jv_str(r, "name", ""), jv_str(json_array_get(rules, j), "name", "")) == 0) {
            snprintf(sub, sizeof(sub), "%s.name", field);
            jv_fail(err, "invalid-value", sub, "duplicate rule name '%s'", jv_str(r, "name", ""));
            return -EINVAL;
        }
    }
    if ((why = estate_refusal(r, monitoring, &what, &k))) {
        if (strcmp(what, "action") == 0)
            snprintf(sub, sizeof(sub), "%s.actions[%zu].action", field, k);
        else
            snprintf(sub, sizeof(sub), "%s.%s", field, what);
        jv_fail(err, "invalid-value", sub, "%s", why);
        return -EINVAL;
    }
    return check_actions(r, field, vnfd, jv_str(m, "vdu", NULL), err);
}

int policy_validate_estate(const json_t *monitoring, const json_t *rules, const json_t *vnfd,
                           struct jv_error *err)
{
    if (rules && jv_check_at(rules, &rules_schema, "rules", err))
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(rules); i++)
        if (check_estate_rule(rules, i, monitoring, vnfd, err))
            return -EINVAL;
    return check_thresholds(rules, err);
}

int policy_check_destinations(const json_t *rules, unsigned deny, struct jv_error *err)
{
    const json_t *rule, *a;
    char field[96];
    size_t i, j;

    json_array_foreach(rules, i, rule)
    {
        json_array_foreach(json_object_get(rule, "actions"), j, a)
        {
            if (strcmp(jv_str(a, "action", ""), "notify") != 0 ||
                !httpc_url_denied(jv_str(a, "url", ""), deny))
                continue;
            snprintf(field, sizeof(field), "rules[%zu].actions[%zu].url", i, j);
            jv_fail(err, "invalid-value", field,
                    "a tenant's webhook may not go to this address (loopback, link-local and "
                    "private ones need vnfmd --tenant-destinations)");
            return -EACCES;
        }
    }
    return 0;
}
