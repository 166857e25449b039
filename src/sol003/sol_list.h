/* The lists of SOL003 and SOL005 (docs/SOL003.md): the attribute-based
 * filter (SOL013 5.2), the attribute selectors (5.3: all_fields, fields,
 * exclude_fields, exclude_default; "exclude-fields" as Tacker's client
 * spells it too) and paging (5.4: nextpage_opaque_marker and a Link
 * header, --sol-page-size entries a page). An attribute a filter or a
 * selector names that the resource does not have is a 400 naming the
 * parameter, never ignored. */
#ifndef VNFM_SOL_LIST_H
#define VNFM_SOL_LIST_H

#include "rest/router.h"

/* What a resource type is made of: its top-level attributes, and the
 * complex ones a list leaves out unless asked (exclude_default). */
struct sol_shape {
    const char *const *attrs;
    const char *const *complex;
};

extern const struct sol_shape sol_instance_shape, sol_occ_shape, sol_subscription_shape,
    sol_package_shape, sol_pkgm_subscription_shape;

/* The query parameters a list takes. */
extern const char *const sol_list_params[];

/* Checks r's filter and selectors against shape: 0, or -1 with a 400. */
int sol_list_check(struct rctx *r, const struct sol_shape *shape);

/* Answers the views (taken) that pass the filter, their attributes
 * selected, one page of them (with a Link to the next). */
void sol_list_answer(struct rctx *r, const struct sol_shape *shape, json_t *views);

#endif
