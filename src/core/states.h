/* Names of the lifecycle model: stages of FIG. 3 (seed para 80), states of
 * operations, statuses of deployments and states of VI records. Each is an
 * enum with a table of the names the store, the API and the events use
 * (docs/API.md); code compares and sets enums, records keep the names. */
#ifndef VNFM_STATES_H
#define VNFM_STATES_H

#include <stdbool.h>

#include <jansson.h>

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

/* States of a lifecycle operation (the machine is in lcm/lifecycle.h). */
enum op_state {
    OP_STARTING, /* SOL003 STARTING: created, not yet taken by the engine */
    OP_PROCESSING,
    OP_COMPLETED,
    OP_FAILED,
    OP_FAILED_TEMP, /* paused after a failure or a cancel, for an operator to decide */
    OP_ROLLING_BACK,
    OP_ROLLED_BACK,
    OP_STATE_COUNT,
};

const char *op_state_name(enum op_state s);
/* The state of operation record op, or -1 when it has none known. */
int op_state_of(const json_t *op);
/* op_running: starting, processing or rolling back; op_final: completed,
 * failed or rolled back (failed_temp is neither: it waits for a decision). */
bool op_running(const json_t *op);
bool op_final(const json_t *op);

/* Statuses of a deployment. */
enum dep_status {
    DEP_DEPLOYING,
    DEP_ACTIVE,   /* every VI runs */
    DEP_DEGRADED, /* some VI does not */
    DEP_HEALING,
    DEP_SCALING,
    DEP_OPERATING, /* SOL003 operate: stopping or starting its VIs */
    DEP_STOPPED,   /* SOL003 operate to STOPPED: VIs kept, processes stopped */
    DEP_UNDEPLOYING,
    DEP_NOT_INSTANTIATED, /* a SOL003 VNF instance without VIs */
    DEP_FAILED,
    DEP_STATUS_COUNT,
};

const char *dep_status_name(enum dep_status s);
/* The status of deployment record dep, or -1. */
int dep_status_of(const json_t *dep);

/* States of a VI record: each is written before the VIM call it names
 * (starting, stopping, destroying), or after what it reports. */
enum vi_state {
    VIS_PENDING, /* recorded, nothing on the VIM yet */
    VIS_CREATED, /* isolation made, no process */
    VIS_STARTING,
    VIS_RUNNING,
    VIS_STOPPING,
    VIS_STOPPED,
    VIS_DESTROYING,
    VIS_EXITED, /* its process ended by itself */
    VIS_COUNT,
};

const char *vi_state_name(enum vi_state s);
/* The state of VI record vi, or -1. */
int vi_state_of(const json_t *vi);
/* Whether VI record vi takes a service's traffic: running, with an address,
 * and its VDU's ready check passed since its last start ("ready"; a record
 * from before the member is taken as ready). */
bool vi_serving(const json_t *vi);

#endif
