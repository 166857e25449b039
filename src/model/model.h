/* Names of the lifecycle model: stages of FIG. 3 (seed para 80), states of
 * operations and VI instances, and small helpers for record documents. */
#ifndef VNFM_MODEL_H
#define VNFM_MODEL_H

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

/* Timestamps in records. */
void doc_touch(json_t *doc, const char *key); /* sets key to the current time */
void doc_set_str(json_t *doc, const char *key, const char *value); /* NULL -> null */
void doc_set_int(json_t *doc, const char *key, long long value);
const char *doc_str(const json_t *doc, const char *key); /* NULL when absent or not a string */
long long doc_int(const json_t *doc, const char *key, long long def);
/* Copy of doc without the internal '_' members, for API answers. */
json_t *doc_public(const json_t *doc);

#endif
