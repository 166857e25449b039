/* The ETSI SOL003 front end as mounts of the router (rest/router.h):
 * /vnflcm/v1, /vnflcm/v2 and /vnflcm (its api_versions). */
#ifndef VNFM_SOL_HTTP_H
#define VNFM_SOL_HTTP_H

#include "rest/router.h"

extern const struct mount sol_mounts[];
extern const size_t sol_n_mounts;

/* Whether doc passes an attribute filter (SOL013 5.2: "(op,attr,value...)"
 * terms joined by ';'): 1 or 0; -EINVAL for a filter that does not parse. */
int sol_filter_eval(const char *filter, const json_t *doc);

#endif
