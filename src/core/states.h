/* Names of the lifecycle model: stages of FIG. 3 (seed para 80), states of
 * operations and VI instances. */
#ifndef VNFM_STATES_H
#define VNFM_STATES_H

/* Lifecycle stages, FIG. 3 (302-324). */
enum stage {
    ST_ONBOARDING,
    ST_VI_DEPLOYMENT,
    ST_PRE_DEPLOYMENT,
    ST_DEPLOYMENT,
    ST_POST_DEPLOYMENT,
    ST_MONITORING,
    ST_UPDATE,
    ST_UNDEPLOYMENT,
    ST_OVERLOADED,
    ST_UNDERLOADED,
    ST_FAIL,
    ST_SCALE,
    ST_HEAL,
    ST_OPERATE, /* start or stop the VIs, keeping them (SOL003 5.4.10, not in FIG. 3) */
    ST_COUNT,
};

const char *stage_name(enum stage s);
/* Returns the stage or -1. */
int stage_parse(const char *name);

#endif
