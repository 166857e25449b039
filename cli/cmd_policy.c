/* vnfmctl commands for monitoring and the rules engine: a deployment's
 * metrics and rule states, changing its rules at run time, pushing metric
 * values, the decisions of the rules engine, and scale up/down (resize). */
#include "cli/ctl.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_resize(struct ctl *c, const struct args *a)
{
    json_t *body;
    double vcpu;
    long long mem = 0;
    char *p, *end;
    int rc;

    if (!arg_opt(a, "vdu") || (!arg_opt(a, "vcpu") && !arg_opt(a, "memory-mb")))
        return fail_usage(a->cmd, "resize needs --vdu VDU and --vcpu N and/or --memory-mb N");
    body = json_pack("{s:s}", "vdu", arg_opt(a, "vdu"));
    if (arg_opt(a, "vcpu")) {
        vcpu = strtod(arg_opt(a, "vcpu"), &end);
        if (*end || end == arg_opt(a, "vcpu")) {
            json_decref(body);
            return fail_usage(a->cmd, "--vcpu: '%s' is not a number", arg_opt(a, "vcpu"));
        }
        json_object_set_new(body, "vcpu", json_real(vcpu));
    }
    if (arg_int(a, "memory-mb", 1, 1 << 30, &mem)) {
        json_decref(body);
        return EXIT_USAGE;
    }
    if (mem)
        json_object_set_new(body, "memory_mb", json_integer(mem));
    p = ctl_path("/v0/deployments/%s/resize", a->pos[0]);
    rc = ctl_lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}

/* ---- monitoring ---- */

/* One row per metric and VI: flattens {"metrics": {NAME: {vis: [...]}}}. */
static json_t *series_rows(const json_t *metrics)
{
    json_t *rows = json_array(), *m, *vi;
    const char *name;
    size_t i;

    json_object_foreach((json_t *)metrics, name, m)
    {
        json_array_foreach(json_object_get(m, "vis"), i, vi)
        {
            json_t *row = json_deep_copy(vi);

            json_object_set_new(row, "metric", json_string(name));
            json_object_set(row, "probe", json_object_get(m, "probe"));
            json_array_append_new(rows, row);
        }
    }
    return rows;
}

/* One row per rule and target. */
static json_t *rule_rows(const json_t *states)
{
    json_t *rows = json_array(), *r, *st;
    const char *target;
    size_t i;

    json_array_foreach(states, i, r)
    {
        json_object_foreach(json_object_get(r, "targets"), target, st)
        {
            json_t *row = json_deep_copy(st);

            json_object_set(row, "rule", json_object_get(r, "name"));
            json_object_set(row, "stage", json_object_get(r, "stage"));
            json_object_set(row, "scope", json_object_get(r, "scope"));
            json_object_set_new(row, "target", json_string(target));
            json_object_set(row, "cooldown_ms", json_object_get(r, "cooldown_ms"));
            json_array_append_new(rows, row);
        }
    }
    return rows;
}

int cmd_monitoring(struct ctl *c, const struct args *a)
{
    static const struct column series[] = {
        {"METRIC", "metric"},   {"PROBE", "probe"}, {"VI", "name"}, {"UP", "up"},
        {"LAST", "last"},       {"AVG", "avg"},     {"P95", "p95"}, {"PROBES", "probes"},
        {"FAILED", "failures"}, {"ERROR", "error"}, {NULL}};
    static const struct column rules[] = {{"RULE", "rule"},
                                          {"STAGE", "stage"},
                                          {"SCOPE", "scope"},
                                          {"TARGET", "target"},
                                          {"HITS", "hits"},
                                          {"RAISED", "raised"},
                                          {"LAST", "last_value"},
                                          {"COOLDOWN_MS", "cooldown_ms"},
                                          {NULL}};
    char *p = ctl_path("/v0/deployments/%s/monitoring", a->pos[0]);
    json_t *doc = NULL, *rows;
    int rc = ctl_call(c, "GET", p, NULL, NULL, &doc);

    free(p);
    if (rc)
        return rc;
    if (c->json) {
        print_json(doc);
    } else {
        rows = series_rows(json_object_get(doc, "metrics"));
        print_table(rows, series);
        json_decref(rows);
        putchar('\n');
        rows = rule_rows(json_object_get(doc, "rule_states"));
        print_table(rows, rules);
        json_decref(rows);
    }
    json_decref(doc);
    return EXIT_OK;
}

int cmd_rules_set(struct ctl *c, const struct args *a)
{
    json_error_t jerr;
    json_t *doc = json_load_file(a->pos[1], JSON_REJECT_DUPLICATES, &jerr), *body;
    char *p;
    int rc;

    if (!doc)
        return fail_usage(a->cmd, "%s: %s (line %d)", a->pos[1], jerr.text, jerr.line);
    /* a VNFD, or just {"monitoring": ..., "rules": ...}: take those two */
    body = json_object();
    if (json_object_get(doc, "monitoring"))
        json_object_set(body, "monitoring", json_object_get(doc, "monitoring"));
    if (json_object_get(doc, "rules"))
        json_object_set(body, "rules", json_object_get(doc, "rules"));
    json_decref(doc);
    if (json_object_size(body) == 0) {
        json_decref(body);
        return fail_usage(a->cmd, "%s has neither \"monitoring\" nor \"rules\"", a->pos[1]);
    }
    p = ctl_path("/v0/deployments/%s/rules", a->pos[0]);
    rc = show_change(c, "PUT", p, body, NULL, "monitoring and rules changed; they act at once");
    free(p);
    return rc;
}

static int add_value(const char *kv, void *arg)
{
    const char *eq = strchr(kv, '=');
    char *key, *end;
    double v;

    if (!eq || eq == kv)
        return fail_usage("metrics push", "'%s' is not NAME=VALUE", kv);
    v = strtod(eq + 1, &end);
    if (*end || end == eq + 1)
        return fail_usage("metrics push", "'%s': the value is not a number", kv);
    key = xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(arg, key, json_real(v));
    free(key);
    return 0;
}

int cmd_metrics_push(struct ctl *c, const struct args *a)
{
    json_t *values = json_object(), *body;
    char *p;
    int rc;

    if (arg_each(a, "value", add_value, values) || json_object_size(values) == 0) {
        json_decref(values);
        return json_object_size(values) ? EXIT_USAGE
                                        : fail_usage(a->cmd, "give at least one --value NAME=N");
    }
    body = json_pack("{s:o}", "values", values);
    if (arg_opt(a, "vi"))
        json_object_set_new(body, "vi", json_string(arg_opt(a, "vi")));
    p = ctl_path("/v0/deployments/%s/metrics", a->pos[0]);
    rc = ctl_call(c, "POST", p, body, NULL, NULL);
    json_decref(body);
    free(p);
    if (rc == EXIT_OK && !c->json)
        printf("values pushed to %s\n", a->pos[0]);
    return rc;
}

/* ---- decisions ---- */

static const struct column decision_cols[] = {
    {"ID", "id"},       {"DEPLOYMENT", "deployment"}, {"RULE", "rule"},     {"STAGE", "stage"},
    {"STATE", "state"}, {"CREATED", "created"},       {"REASON", "reason"}, {NULL}};

int cmd_decision_list(struct ctl *c, const struct args *a)
{
    static const char *const names[] = {"deployment", "rule", "state", "limit", NULL};
    char *path = arg_query("/v0/decisions", a, names);
    int rc = show_list(c, path, "decisions", decision_cols);

    free(path);
    return rc;
}

int cmd_decision_show(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"id",      "deployment", "rule",  "stage",
                                       "reason",  "mode",       "state", "targets",
                                       "created", "finished",   NULL};
    static const struct column acts[] = {{"ACTION", "action"},       {"STATE", "state"},
                                         {"OPERATION", "operation"}, {"STARTED", "started"},
                                         {"FINISHED", "finished"},   {"NOTE", "note"},
                                         {"ERROR", "error"},         {NULL}};
    char *p = ctl_path("/v0/decisions/%s", a->pos[0]);
    int rc = show_detail(c, p, keys, "actions", acts);

    free(p);
    return rc;
}
