/* The REST API (seed para 46-47, F3): native /v0 resources in JSON (and
 * XML), a mount of the router (rest/router.h) at the root.
 *
 * The HTTP threads parse, authenticate and validate each request. Reads are
 * answered on those threads from a read-only store handle of their own (WAL
 * readers see the last committed state). Every mutating request becomes a
 * struct txn on the transactor queue; its connection is suspended until the
 * loop has applied it and resumed.
 */
#ifndef VNFM_API_H
#define VNFM_API_H

#include "rest/router.h"

extern const struct route api_routes[];
extern const size_t api_n_routes;
/* The native mount: api_routes at the root. */
extern const struct mount rest_mount;
/* /vim/v1: the streams and outcomes of VIM agents (vim_routes.c) */
extern const struct mount vim_agent_mount;
/* The schema that types an XML body of rt, or NULL (routes.c). */
const struct jv_field *route_body_schema(const struct route *rt);

/* Read handlers (query.c). */
void q_health(struct rctx *r);
void q_version(struct rctx *r);
void q_tenants(struct rctx *r);
void q_tenant(struct rctx *r);
void q_tokens(struct rctx *r);
void q_vnfds(struct rctx *r);
void q_vnfd(struct rctx *r);
void q_sites(struct rctx *r);
void q_site(struct rctx *r);
void q_deployments(struct rctx *r);
void q_deployment(struct rctx *r);
void q_operations(struct rctx *r);
void q_operation(struct rctx *r);
/* GET /v0/scheduled-operations[/{id}] (lcm/schedule.h) */
void q_schedules(struct rctx *r);
void q_schedule(struct rctx *r);
void q_logs(struct rctx *r);
void q_components(struct rctx *r);
/* Monitoring, rules and decisions (query_policy.c). */
void q_monitoring(struct rctx *r);
void q_metric_history(struct rctx *r);
void q_decisions(struct rctx *r);
void q_decision(struct rctx *r);
void q_metrics(struct rctx *r);
/* Shared by the read handlers. */
json_t *q_visible(struct rctx *r, enum store_kind k, const char *kind_name);
int q_uint(struct rctx *r, const char *key, unsigned max, unsigned *out);
/* Parses a time query parameter (RFC 3339 or epoch ms); 0 and sets r->res
 * on error, leaves out alone when it is absent. */
int q_time(struct rctx *r, const char *key, int64_t *out);
void q_list_public(struct rctx *r, enum store_kind kind, const struct store_list_opts *o,
                   const char *key);
/* Equality filters from the query for keys (a tenant token's own tenant
 * for "tenant"); returns how many it set in w. */
#define STORE_MAX_WHERE 8 /* keys a list filters by, at most */
unsigned q_where(struct rctx *r, const char *const *keys, struct store_where *w);
/* {"key": [...]} of kind, newest first, filtered by the query's keys (at
 * most STORE_MAX_WHERE), paged by ?limit= (100) and ?offset=. */
void q_list_newest(struct rctx *r, enum store_kind kind, const char *const *keys, const char *key);

/* Parses the filters of /v0/logs and /v0/events from the query. */
int q_log_filter(struct rctx *r, struct log_query *q);

#endif
