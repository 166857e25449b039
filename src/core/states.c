#include "core/states.h"

#include <string.h>

static const char *const stage_names[ST_COUNT] = {
    [ST_ONBOARDING] = "onboarding",
    [ST_VI_DEPLOYMENT] = "vi_deployment",
    [ST_PRE_DEPLOYMENT] = "pre_deployment",
    [ST_DEPLOYMENT] = "deployment",
    [ST_POST_DEPLOYMENT] = "post_deployment",
    [ST_MONITORING] = "monitoring",
    [ST_UPDATE] = "update",
    [ST_UNDEPLOYMENT] = "undeployment",
    [ST_OVERLOADED] = "overloaded",
    [ST_UNDERLOADED] = "underloaded",
    [ST_FAIL] = "fail",
    [ST_SCALE] = "scale",
    [ST_HEAL] = "heal",
    [ST_OPERATE] = "operate",
};

static const char *const op_state_names[OP_STATE_COUNT] = {
    [OP_STARTING] = "starting",       [OP_PROCESSING] = "processing",
    [OP_COMPLETED] = "completed",     [OP_FAILED] = "failed",
    [OP_FAILED_TEMP] = "failed_temp", [OP_ROLLING_BACK] = "rolling_back",
    [OP_ROLLED_BACK] = "rolled_back",
};

static const char *const dep_status_names[DEP_STATUS_COUNT] = {
    [DEP_DEPLOYING] = "deploying",
    [DEP_ACTIVE] = "active",
    [DEP_DEGRADED] = "degraded",
    [DEP_HEALING] = "healing",
    [DEP_SCALING] = "scaling",
    [DEP_OPERATING] = "operating",
    [DEP_STOPPED] = "stopped",
    [DEP_UNDEPLOYING] = "undeploying",
    [DEP_NOT_INSTANTIATED] = "not_instantiated",
    [DEP_FAILED] = "failed",
};

static const char *const vi_state_names[VIS_COUNT] = {
    [VIS_PENDING] = "pending",       [VIS_CREATED] = "created",   [VIS_STARTING] = "starting",
    [VIS_RUNNING] = "running",       [VIS_STOPPING] = "stopping", [VIS_STOPPED] = "stopped",
    [VIS_DESTROYING] = "destroying", [VIS_EXITED] = "exited",
};

/* The index of name in names[n], or -1. */
static int lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static const char *member(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

const char *stage_name(enum stage s)
{
    return s < ST_COUNT ? stage_names[s] : "unknown";
}

int stage_parse(const char *name)
{
    return lookup(stage_names, ST_COUNT, name);
}

const char *op_state_name(enum op_state s)
{
    return s < OP_STATE_COUNT ? op_state_names[s] : "unknown";
}

int op_state_of(const json_t *op)
{
    return lookup(op_state_names, OP_STATE_COUNT, member(op, "state"));
}

bool op_running(const json_t *op)
{
    int s = op_state_of(op);

    return s == OP_STARTING || s == OP_PROCESSING || s == OP_ROLLING_BACK;
}

bool op_final(const json_t *op)
{
    int s = op_state_of(op);

    return s == OP_COMPLETED || s == OP_FAILED || s == OP_ROLLED_BACK;
}

const char *dep_status_name(enum dep_status s)
{
    return s < DEP_STATUS_COUNT ? dep_status_names[s] : "unknown";
}

int dep_status_of(const json_t *dep)
{
    return lookup(dep_status_names, DEP_STATUS_COUNT, member(dep, "status"));
}

const char *vi_state_name(enum vi_state s)
{
    return s < VIS_COUNT ? vi_state_names[s] : "unknown";
}

int vi_state_of(const json_t *vi)
{
    return lookup(vi_state_names, VIS_COUNT, member(vi, "state"));
}

bool vi_serving(const json_t *vi)
{
    const json_t *ready = json_object_get(vi, "ready");

    return vi_state_of(vi) == VIS_RUNNING && json_is_string(json_object_get(vi, "ip")) &&
           !json_is_false(ready);
}
