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

const char *stage_name(enum stage s)
{
    return s < ST_COUNT ? stage_names[s] : "unknown";
}

int stage_parse(const char *name)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (name && strcmp(stage_names[i], name) == 0)
            return i;
    return -1;
}
