/* The `monitoring` and `rules` sections of a VNFD and of a deployment
 * (seed para 58-61, 88; docs/MONITORING.md): their schemas and checks. */
#ifndef VNFM_VNFD_POLICY_H
#define VNFM_VNFD_POLICY_H

#include "util/jsonv.h"

/* Schemas of the VNFD's (and the deployment's) `monitoring` and `rules`. */
extern const struct jv_field monitoring_schema;
extern const struct jv_field rules_schema;
/* Their parts, for schemas that contain them (the VNFD's). */
extern const struct jv_field monitoring_fields[];
extern const struct jv_field rule_item;

/* Checks what the schemas cannot: probe members and probe-specific values,
 * metrics and VDUs that exist, thresholds that make sense (an underload
 * threshold below the overload one), scaling bounds, scripts that exist.
 * vnfd gives the VDUs; prefix ("" or "monitoring.") is not used: fields are
 * named as in the VNFD ("monitoring.metrics.rps.port", "rules[1].metric").
 * 0 or -EINVAL with err. */
int policy_validate(const json_t *monitoring, const json_t *rules, const json_t *vnfd,
                    struct jv_error *err);
/* The cloud's rules over what a branch reports of a deployment it runs
 * (docs/FEDERATION.md "Cloud rules over branch reports"): their metric is
 * one of monitoring's (the branch's definitions: the value it reports is
 * the VDU-wide aggregate) or one of estate_targets (the load of the
 * manager, and of the site, with their parts); they act only by
 * estate_actions. Checks the schema too. 0 or -EINVAL with err. */
extern const char *const estate_targets[];
extern const char *const estate_actions[];
int policy_validate_estate(const json_t *monitoring, const json_t *rules, const json_t *vnfd,
                           struct jv_error *err);
/* Refuses (-EACCES with err naming rules[N].actions[M].url) a notify
 * action whose URL deny (HTTPC_DENY_*, the --tenant-destinations of a
 * tenant's rules) keeps out without resolving anything (util/httpc.h). */
int policy_check_destinations(const json_t *rules, unsigned deny, struct jv_error *err);

#endif
