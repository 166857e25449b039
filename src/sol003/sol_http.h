/* The ETSI SOL003 front end as mounts of the router (rest/router.h):
 * /vnflcm/v1, /vnflcm/v2 and /vnflcm (its api_versions). */
#ifndef VNFM_SOL_HTTP_H
#define VNFM_SOL_HTTP_H

#include "rest/router.h"

extern const struct mount sol_mounts[];
extern const size_t sol_n_mounts;

#endif
