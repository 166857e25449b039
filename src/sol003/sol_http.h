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
/* A request's filter that does not parse: -1 with a 400 in r (even when
 * nothing is listed). */
int sol_check_filter(struct rctx *r);
/* Fails r with status and a ProblemDetails-style message (-1). */
int sol_problem(struct rctx *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A subscription's callbackUri: an absolute http:// or https:// URI. */
int sol_check_callback(const json_t *body, struct jv_error *e);
/* SOL013 5.5.2.3.2: the callbackUri (with the BASIC credentials of
 * authentication.paramsBasic) answers a test GET with 204 within 5 s, else
 * t->res is a 422 naming it. The before() of subscription routes. */
void sol_test_callback(struct core *c, struct txn *t);

#endif
