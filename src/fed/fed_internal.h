/* Shared by the files of src/fed/ (cloud.c, branch.c, fed_routes.c). */
#ifndef VNFM_FED_INTERNAL_H
#define VNFM_FED_INTERNAL_H

#include "fed/fed.h"
#include "core/auth.h"

#include <pthread.h>

#define FED_BOOT_LEN    16
#define FED_EVENTS_MAX  200   /* branch events per report */
#define FED_BACKLOG_MAX 10000 /* branch events waiting beyond which the oldest are summarised */

/* Cloud: one branch manager. The loop writes it under fed.mu; the HTTP
 * threads read it under fed.mu (GET /v0/managers). */
struct fed_mgr {
    char id[32];
    char site[ID_BUF_MAX];
    char cred[TOKEN_HASH_LEN + 1]; /* hash of its credential */
    char state[16];                /* active, unreachable, removed */
    int64_t since_ms;              /* wall time of the last change of state */
    int64_t last_report_ms; /* wall time of the last report, 0: none since the cloud started */
    uint64_t last_report_mono;
    char boot[FED_BOOT_LEN + 1]; /* the branch manager's run the seqs belong to */
    uint64_t seq;                /* the last report's seq in that run */
    uint64_t reports;
    int64_t event_seq;     /* the last branch event stored here */
    json_t *load;          /* the last report's load with its parts, or NULL */
    json_t *site_state;    /* the last report's site capacity and allocation, or NULL */
    struct hmap deps;      /* deployment id -> malloc'd hash of what was last mirrored (0: none) */
    struct hmap rules;     /* deployment id -> struct fed_drules: the cloud's rules over it */
    uint64_t next_seq;     /* the last instruction seq given (stored: _seq) */
    struct fed_chan *chan; /* its channel, under fed.mu (channel.c) */
};

struct fed {
    struct core *c;
    bool cloud;
    uv_timer_t timer;
    bool timer_on;

    /* cloud */
    pthread_mutex_t mu;
    struct hmap mgrs;  /* id -> struct fed_mgr */
    struct hmap creds; /* credential hash -> struct fed_mgr */

    /* branch */
    char *mgr_id, *cred, *cloud_url;
    char boot[FED_BOOT_LEN + 1];
    uint64_t seq;
    int64_t event_acked; /* the last of our event seqs the cloud stored */
    bool in_flight, again, connected, refused;
    uint64_t cpu_us, cpu_at_ms; /* for the load's cpu part */
    double cpu;
    json_t *results; /* results of instructions the cloud has not acknowledged */
    json_t *sent;    /* deployment id -> hash of it as the cloud acknowledged it last */
    bool send_full;  /* the cloud asked for all deployments in the next report */
    pthread_t chan_thread;
    bool chan_running, chan_stop;
    uv_async_t wake; /* fed_report_soon from another thread */
    bool wake_on;
};

/* cloud.c */
int fed_cloud_start(struct fed *f);
void fed_cloud_free(struct fed *f);
/* POST /fed/v1/join, POST /fed/v1/report (apply on the loop). */
void fed_join_apply(struct core *c, struct txn *t);
void fed_report_apply(struct core *c, struct txn *t);
/* The view of a manager for GET /v0/managers (under f->mu). */
json_t *fed_mgr_view(struct fed *f, const json_t *doc);

/* channel.c (cloud): GET /fed/v1/channel (a route's stream hook); pushing
 * an event to a manager's channel, if it has one (loop; data sent as JSON
 * with "id: id" unless id < 0); keep-alives; letting a channel go (f->mu held). */
int fed_channel_start(struct rctx *r, struct httpd_conn *conn);
void fed_channel_push(struct fed *f, struct fed_mgr *m, const char *event, const json_t *data,
                      long long id);
void fed_channel_keepalive(struct fed *f);
/* Asks m for a report now (`event: report`, a pull): 0, or -ENOTCONN when
 * it has no channel open. */
int fed_pull(struct fed *f, struct fed_mgr *m);
void fed_channel_drop(struct fed_mgr *m);

/* instr.c (cloud): the hooks of lcm/remote.h; an instruction as sent on
 * the channel (new reference); what a report says of them. */
extern const struct lc_remote fed_remote;
json_t *fed_instruction_msg(const json_t *ins);
void fed_take_results(struct core *c, struct fed_mgr *m, const json_t *results);
/* cloud.c: the record of a branch deployment its manager no longer has
 * (or never made): deleted, unless it is a SOL003 VNF instance, which is
 * NOT_INSTANTIATED again at the cloud's own site. */
void fed_unmirror(struct core *c, json_t *dep);
void fed_follow_ops(struct core *c, struct fed_mgr *m, const json_t *ops);
/* cloud.c, for instr.c: stores m's seq; sends ins once its transaction committed. */
int fed_mgr_save_seq(struct core *c, struct fed_mgr *m);
void fed_after_instruct(struct core *c, struct fed_mgr *m, const json_t *ins);

/* cloud_rules.c (cloud): the cloud's rules over a manager's deployments,
 * as its records say (`rules`, `rules_owner_wanted`): loaded (again) from
 * a record, told what a report says of a deployment (whether the branch
 * gave them its rules, whether an operation runs), dropped with it, and
 * evaluated over a report as it arrives (arrived_us: mono_us() when it
 * was read), in its transaction. fed_rules_changed is the hook of
 * lcm/remote.h. */
void fed_rules_load(struct fed_mgr *m, const json_t *dep);
void fed_rules_seen(struct fed_mgr *m, const json_t *dep);
void fed_rules_drop(struct fed_mgr *m, const char *dep);
void fed_rules_free(struct fed_mgr *m);
void fed_rules_changed(struct core *c, const json_t *dep);
void fed_rules_eval(struct core *c, struct fed_mgr *m, const json_t *body, uint64_t arrived_us);

/* owner.c: PUT /v0/deployments/{id}/rules-owner, and the instruction
 * "rules_owner" (branch): who decides for a deployment; on a branch, its
 * rules taken back while the cloud is away and given back when it
 * returns (up: the cloud takes reports again). */
void fed_owner_apply(struct core *c, struct txn *t);
void fed_owner_follow(struct fed *f, bool up);

/* downlink.c (branch): the channel thread; results of instructions for
 * the next reports (branch.c). */
int fed_downlink_start(struct fed *f);
void fed_downlink_stop(struct fed *f);
void fed_result_add(struct fed *f, const json_t *result);
/* A report at once (any thread). */
void fed_report_soon(struct fed *f);

/* branch.c */
int fed_branch_start(struct fed *f);
void fed_branch_stop(struct fed *f);
void fed_branch_free(struct fed *f);
extern const struct lc_observer fed_branch_observer;

/* A new single-use join token into out: "join_" and 40 hex digits (46 bytes). */
void fed_token_generate(char *out);

#endif
