/* Scheduled operations (issue 12, F25): a lifecycle operation of the native
 * API (heal, scale, resize) with a start time, kept in the store
 * (STORE_SCHEDULE) so that it survives a restart. At its time the manager
 * applies it as the request it stands for would be applied, on behalf of
 * the deployment's tenant; the operation it starts names the schedule
 * ("scheduled_operation") and the schedule names the operation
 * ("operation_id").
 *
 * States: scheduled -> started | failed (refused at its time, "error"
 * says why) | cancelled (DELETE) | missed (its time passed while the
 * manager was down and "if_missed" is "skip"; with "run", the default, it
 * starts at once and "late_ms" says by how much). docs/API.md. */
#ifndef VNFM_SCHEDULE_H
#define VNFM_SCHEDULE_H

#include "core/txq.h"

/* POST /v0/scheduled-operations, DELETE /v0/scheduled-operations/{id}. */
void svc_schedule_create(struct core *c, struct txn *t);
void svc_schedule_cancel(struct core *c, struct txn *t);

/* The loop's timer of the schedules: armed from the store at start-up
 * (the primary's), stopped before the transactor is freed. */
void schedule_start(struct core *c);
void schedule_stop(struct core *c);

/* The operations scheduled to start before now + window_ms, earliest
 * first: [{"id", "at", "at_ms", "operation", "deployment", "params"}] (a
 * new array), for a
 * branch's reports (load.scheduled). */
json_t *schedule_within(struct core *c, int64_t window_ms);

#endif
