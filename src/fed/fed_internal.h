/* Shared by the files of src/fed/ (cloud.c, branch.c, fed_routes.c). */
#ifndef VNFM_FED_INTERNAL_H
#define VNFM_FED_INTERNAL_H

#include "fed/fed.h"
#include "core/auth.h"
#include "core/txq.h"
#include "core/wake.h"
#include "core/wpool.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "vim/vim.h"

#include <pthread.h>

#define FED_BOOT_LEN    16
#define FED_EVENTS_MAX  200   /* branch events per report */
#define FED_BACKLOG_MAX 10000 /* branch events waiting beyond which the oldest are summarised */
#define FED_LOAD_PARTS  7
#define FORWARD_KEPT    8 /* connections a cloud VNFM keeps to the primary for forwarded reports */

/* The weights of a manager's load parts (load.c). */
struct fed_weights {
    double w[FED_LOAD_PARTS];
};

/* Cloud: reports in a row over a policy's overload, under its underload,
 * and the wall time each streak began (judge.c). */
struct fed_streak {
    unsigned over_n, under_n;
    int64_t over_since_ms, under_since_ms;
};

/* Cloud: what the manager policy of a site has seen of one manager (elastic.c). */
struct el_mgr {
    struct fed_streak st;
    char held_by[32];        /* the operation a held decision named */
    char pending[32];        /* a decision whose new managers have not joined yet */
    bool refused;            /* a refusal was recorded for this streak */
    int64_t standby_sent_ms; /* the last "standbys" instruction to it (mono ms) */
    int64_t cool_until_ms;   /* the end of its site's cooldown (wall ms), 0: none; under fed.mu */
    /* the scheduled operations a decision anticipated (anticipate_s), with
     * when they run (wall ms): each is anticipated once */
    struct {
        char id[32];
        int64_t at_ms;
    } anticipated[8];
};

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
    json_t *site_load;     /* the last report's site load (site_load.c), or NULL */
    struct hmap deps;      /* deployment id -> malloc'd hash of what was last mirrored (0: none) */
    struct hmap rules;     /* deployment id -> struct fed_drules: the cloud's rules over it */
    uint64_t next_seq;     /* the last instruction seq given (stored: _seq) */
    bool send_full;        /* the answer to its next report asks for all its deployments */
    struct fed_chan *chan; /* its channel, under fed.mu (channel.c) */
    char parent[32];       /* the manager that started it (elastic managers), or "" */
    char tag[TAG_LEN + 1]; /* its instance tag */
    long pid;              /* its process on its host, as its last report said; 0: unknown */
    struct el_mgr el;
    json_t *children;          /* the last report's managers it started, or NULL */
    struct fed_mgr *site_next; /* the next manager of its site (fed->site_mgrs) */
    json_t *override;          /* its policy override once read (policies.c), or NULL */
    bool override_read;
};

/* Closes h, a handle inside f (fed_free waits for it). */
void fed_close(struct fed *f, uv_handle_t *h);

struct cgroups;

/* Branch: what the reports measured of the WAN to the cloud (site_load.c). */
struct fed_wan {
    double latency_ms, rtt_ms, throughput_bps; /* moving averages */
    double segs, retrans;                      /* decayed sums, for the loss */
    uint64_t reports, tcp, failed;
    /* the bulk probes (--fed-wan-probe-s): their speed, a moving average */
    double bulk_bps, bulk_last_bps;
    uint64_t probes, probes_failed, probe_at_ms; /* probe_at_ms: mono, the last one sent */
    bool probing;
};

struct fed {
    struct core *c;
    bool cloud;
    uv_timer_t timer;
    bool timer_on;
    /* the weights of the last report's load, and their object (elastic.c) */
    struct fed_weights weights_of;
    json_t *weights_json;
    /* its handles (timer, child_timer, ep_timer) closed and not yet told
     * so by the loop; fed_free frees it once none is left */
    unsigned closing;
    bool freed;

    /* cloud */
    pthread_mutex_t mu;
    struct hmap mgrs;       /* id -> struct fed_mgr */
    struct hmap site_mgrs;  /* site -> the first struct fed_mgr of its list (site_next) */
    struct hmap creds;      /* credential hash -> struct fed_mgr */
    struct hmap el_sites;   /* site -> malloc'd int64_t: wall ms of its last decision (elastic.c) */
    struct hmap pool_sites; /* site -> struct pool_site: its load, as judged (pool.c) */
    struct hmap site_pols;  /* site -> its policies, kept (policies.c) */
    struct fed_weights weights;   /* --manager-load-weights */
    struct cscale *cscale;        /* the cloud VNFM's own scaling (cloud_scale.c), or NULL */
    struct httpc_streams *relays; /* the channels relayed to the primary (forward.c), or NULL */
    /* connections kept: a branch's to its cloud VNFM, for its reports
     * (branch.c); a cloud VNFM's to the primary, for the reports it
     * forwards (forward.c) */
    struct httpc_keep *keep;

    /* branch */
    char *mgr_id, *cred, *cloud_url; /* cloud_url: --cloud-url, one URL or several */
    char cloud_cur[512];             /* the one talked to now, under mu (clouds.c) */
    unsigned report_ms; /* the report interval: --fed-report-interval-ms, else the cloud's */
    char boot[FED_BOOT_LEN + 1];
    uint64_t seq;
    int64_t event_acked; /* the last of our event seqs the cloud stored */
    bool in_flight, again, connected, refused;
    bool rerouted; /* the last report met a cloud that did not route it (branch.c) */
    /* the load's parts over the last interval (load.c) */
    uint64_t cpu_ns, probes, load_at_ms;
    double cpu, probes_per_s;
    struct cgroups *own_cg; /* --manager-cgroup: its own cgroup, or NULL */
    char *own_vi;
    struct hmap children; /* managers it started: name -> struct child (spawn.c) */
    void *mgr_vim;        /* the process VIM opened for manager VIs alone (mgr_vi.c), or NULL */
    uv_timer_t child_timer;
    bool child_timer_on;
    /* hot standbys of this manager (spawn.c, "standbys" instruction) */
    unsigned standby_count, standby_hb_ms;
    double standby_vcpu;
    long standby_mb;
    char standby_error[768];
    char *standby_covers; /* DATA_DIR/standby-covers as last written: the dirs they watch */
    struct hmap vi_cpu;   /* VI id -> its CPU time at the last report (site_load.c) */
    uint64_t self_cpu_ns, self_at_ms; /* this manager's own CPU time at the last report */
    struct fed_wan wan;
    json_t *results; /* results of instructions the cloud has not acknowledged */
    json_t *sent;    /* deployment id -> hash of it as the cloud acknowledged it last */
    bool send_full;  /* the cloud asked for all deployments in the next report */
    pthread_t chan_thread;
    bool chan_running, chan_stop;
    struct mmoves *mmoves; /* cloud: the branch managers moved here (mgr_move.c) */
    struct reloc *reloc;   /* its move to the cloud, once instructed (relocate.c) */
    bool relocating;       /* ... from the copy of its store on: it reports no more */
    struct wake wake;      /* fed_report_soon from another thread */
    bool wake_on;
    /* the checks of the instances in the cloud behind its endpoints (endpoint.c) */
    json_t *ep_doc;   /* the endpoints as last applied */
    json_t *ep_fails; /* "IP:PORT" -> checks failed in a row */
    struct ep_probe *ep_probes;
    json_t *ep_remote_doc; /* to be set at the host of the site's VIs (endpoint.c) */
    bool ep_remote_busy, ep_remote_failed;
    uv_timer_t ep_timer;
    bool ep_timer_on;

    /* branch: the handovers this manager drives (handover.c), under mu */
    json_t *hjobs;
    bool hjob_busy;

    /* cloud: the moves running (move.c): operation id -> what it waits for */
    struct hmap moves;
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

/* DELETE /v0/managers/{id} (cloud.c): the manager removed from the estate. */
void fed_mgr_remove(struct core *c, struct txn *t, struct fed_mgr *m);
/* instr.c: the instructions of m not applied yet (a new reference in
 * *out); a removed manager's work forgotten: those instructions fail with
 * why (their operations end failed, as when the branch refuses one), and
 * so do the operations it ran for the deployments deps. */
int fed_pending(struct core *c, const struct fed_mgr *m, json_t **out);
void fed_forget_work(struct core *c, struct fed_mgr *m, const json_t *pending, const json_t *deps,
                     const char *why);

/* instr.c (cloud): the hooks of lcm/remote.h; an instruction as sent on
 * the channel (new reference); what a report says of them. */
/* The manager running site, reachable; else NULL with res set (503
 * naming the site and since when). */
struct fed_mgr *fed_site_manager(struct fed *f, struct result *res, const char *site);
/* The instruction of type for m about dep (a new reference), and in *op
 * the cloud's operation that follows it, with the members of op_extra
 * (taken, may be NULL); the observers are told it started. NULL with res
 * set. ctid: the request's Client-Transaction-Id, or NULL. */
json_t *fed_instruct(struct core *c, struct fed_mgr *m, const char *type, const json_t *dep,
                     json_t *body, const char *ctid, json_t *op_extra, struct result *res,
                     json_t **op);
/* What a deploy at a branch may lack: the VNFD's record and the tenant's,
 * added to body. */
void fed_add_records(struct core *c, json_t *body, const char *tenant, const char *vnfd);
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
/* The record of m's site again (its managers), after one of them changed
 * state outside a report of m's (cloud.c). */
void fed_site_refresh(struct core *c, struct fed_mgr *m);
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

/* Cloud, in a cluster that shares the branch sites (forward.c): the
 * federation mount's check (307 to the site's owner; an owner that is not
 * the primary forwards a report to it, and marks a channel to relay);
 * the relay of a channel to the primary; whether a channel at the
 * primary (via: the owner that relays it, or "") should be closed, its
 * site served by another. */
int fed_place(struct rctx *r, const struct route *rt);
/* Whether this manager writes the store: alone, or the primary. */
bool fed_writes(struct core *c);
int fed_cloud_takeover(struct fed *f);
/* The managers of a site: a list through site_next (loop thread; under
 * fed.mu for other threads). */
struct fed_mgr *fed_site_mgrs(struct fed *f, const char *site);
int fed_relay_start(struct rctx *r, struct httpd_conn *conn);
/* The stop: the relayed channels end (before c->owners is freed). */
void fed_relays_stop(struct core *c);
bool fed_chan_misplaced(struct core *c, const char *site, const char *via);

/* Cloud: the cloud VNFM scales itself (cloud_scale.c): a report taken;
 * the primary's judgement, each report interval; the stop. */
void fed_cscale_report(struct fed *f);
void fed_cscale_decided(struct fed *f); /* a decision of the cloud's taken */
void fed_cscale_tick(struct core *c);
/* A new primary adopts the cloud VNFMs an earlier one started on its host. */
void fed_cscale_takeover(struct core *c);
void fed_cscale_free(struct fed *f);
/* GET /v0/vnfm/instances (admin): the cloud VNFMs started, from the store. */
void fed_cscale_list(struct rctx *r);

/* ---- manager VIs (mgr_vi.c; vim/vim.h "Manager VIs") ---- */

/* The VIM of this host's manager VIs: the site's when its driver is the
 * process VIM, else one opened for them alone (at the first need, loop
 * thread). false (why says so) when there is none. */
bool fed_manager_vim(struct core *c, const struct vim_ops **ops, void **vim, char *why, size_t len);
void fed_manager_vim_close(struct fed *f);

enum mvi_op {
    MVI_START,  /* make the VI and start what it runs (a failed start removes it) */
    MVI_STATUS, /* its status */
    MVI_REMOVE, /* stop it (SIGTERM, SIGKILL after grace_ms) and remove it */
    MVI_CLAIM,  /* pid, which entered its cgroups (a standby), is its process now */
};

/* One call of the driver on the provisioning pool; done() runs on the loop
 * with the results, unless the federation stopped meanwhile. */
struct mvi_job {
    struct wjob w;
    struct core *c;
    enum mvi_op op;
    const struct vim_ops *ops;
    void *vim;
    char key[64]; /* the caller's name for what the job is about */
    char vi[VIM_ID_MAX];
    char name[VIM_NAME_MAX];
    json_t *ref, *vdu; /* owned by the job */
    char *log;         /* MVI_START: its output (NULL: this manager's) */
    unsigned vcpu_milli, grace_ms;
    uint64_t memory_bytes;
    pid_t pid;       /* MVI_CLAIM */
    bool empty_only; /* MVI_REMOVE: not while a process runs in it (-EBUSY) */
    void (*done)(struct mvi_job *j);
    int r;
    struct vim_err err;
    struct vi_out out; /* MVI_START, MVI_CLAIM; out.ref is the job's until done() takes it */
    struct vi_status st;
};

/* A new job of op about vi (ref: the driver's reference, borrowed). */
struct mvi_job *fed_mvi_new(struct core *c, enum mvi_op op, const char *key, const char *vi,
                            const json_t *ref, void (*done)(struct mvi_job *j));
/* Submits it; false (why says so, j freed) without a VIM for managers. */
bool fed_mvi_submit(struct mvi_job *j, char *why, size_t len);
/* Stops and removes vi now, on this thread (at this manager's stop). */
void fed_mvi_remove_now(struct core *c, const char *vi, const json_t *ref, unsigned grace_ms);

/* Branch: the cloud VNFM it talks to (clouds.c). The current one's base
 * URL; a request answered at url (after redirects) for path moves the
 * branch to that one; base did not answer (or has no owner for the site
 * yet): the next of the list. */
void fed_cloud_pick(struct fed *f, char *out, size_t len);
void fed_cloud_answered(struct fed *f, const char *url, const char *path);
void fed_cloud_failed(struct fed *f, const char *base);

/* A POST to the cloud VNFM of the moment (fed_cloud_pick) with this
 * manager's credential, on the configuration pool (a report, a WAN
 * probe): the caller's job begins with it. fed_post_submit takes body
 * (malloc'd) and sends it to path; done runs on the loop thread with r
 * (httpc_do's) and resp, and calls fed_post_free. */
struct fed_post {
    struct wjob w;
    struct fed *f;
    char base[512]; /* the cloud VNFM it was sent to */
    char *url, *auth, *body, *ca;
    unsigned timeout_ms, connect_timeout_ms;
    size_t max_response;
    struct httpc_keep *keep; /* optional: its connection kept (httpc_req.keep) */
    struct httpc_resp resp;
    int r;
};
void fed_post_submit(struct fed_post *p, struct fed *f, const char *path, char *body,
                     void (*done)(struct wjob *));
void fed_post_free(struct fed_post *p);

/* downlink.c (branch): the channel thread; results of instructions for
 * the next reports (branch.c). */
int fed_downlink_start(struct fed *f);
/* relocate.c (branch): the instruction `relocate` (the manager's move to
 * the cloud). */
void fed_relocate_apply(struct core *c, struct txn *t);
/* The instruction `return` (a manager moved to the cloud goes back to its
 * branch). */
void fed_return_apply(struct core *c, struct txn *t);
/* This manager stops during its move: the move's thread ends (the cloud's
 * move then rolls back at its deadline, for want of this site's agent). */
void fed_relocate_stop(struct fed *f);

/* mgr_move.c (cloud): a branch manager moved to the cloud. */
void fed_mmove_route(struct core *c, struct txn *t);    /* POST /v0/managers/{id}/move */
void fed_mmove_chunk(struct core *c, struct txn *t);    /* POST /fed/v1/relocation/{id}/chunk */
void fed_mmove_fate(struct core *c, struct txn *t);     /* POST /fed/v1/relocation/{id}/fate */
void fed_mmove_returned(struct core *c, struct txn *t); /* .../returned */
void fed_mmove_result(struct core *c, const json_t *ins, const json_t *r);
void fed_mmove_tick(struct core *c);
void fed_mmove_reported(struct core *c, const struct fed_mgr *m);
void fed_mmove_load(struct core *c);
void fed_mmove_view(struct fed *f, const struct fed_mgr *m, json_t *v); /* under fed.mu */
void fed_mmove_free(struct fed *f);
void fed_mmove_removed(struct core *c, const struct fed_mgr *m);
/* A move of manager mgr for the pool's decision (pool.c): to this cloud
 * VNFM's site, or back to its branch when `to` is its site. 0 with its id,
 * else -1 with why. */
int fed_mmove_begin(struct core *c, const char *mgr, const char *to, const char *decision,
                    char id[32], char *why, size_t len);
/* Why m cannot move to the cloud (back: back to its branch) now, or NULL. */
const char *fed_mmove_refusal(struct fed *f, const struct fed_mgr *m, bool back);
/* Whether m runs in this cloud VNFM's host, moved here. */
bool fed_mmove_moved(struct fed *f, const struct fed_mgr *m);
/* The state of move id ("failed" for one not known). */
const char *fed_mmove_state(struct fed *f, const char *id);
/* The manager whose credential t carries, else NULL with t->res set. */
struct fed_mgr *fed_mgr_of_request(struct fed *f, struct txn *t);
/* Whether a manager this one started accepts connections on port here. */
bool fed_port_accepts(const struct core *c, unsigned port);
void fed_downlink_stop(struct fed *f);
void fed_result_add(struct fed *f, const json_t *result);
/* A report at once (any thread). */
void fed_report_soon(struct fed *f);

/* branch.c */
int fed_branch_start(struct fed *f);
void fed_branch_stop(struct fed *f);
void fed_branch_free(struct fed *f);
extern const struct lc_observer fed_branch_observer;

/* load.c: the parts' names; weights; the weighed value of parts
 * (without_ops: the operations' parts left out, a policy's lifecycle
 * "subtract"); measuring on the branch. */
extern const char *const fed_load_parts[FED_LOAD_PARTS];
void fed_weights_default(struct fed_weights *w);
int fed_weights_parse(const char *text, struct fed_weights *w, char *err, size_t len);
void fed_weights_of(const json_t *obj, const struct fed_weights *def, struct fed_weights *w);
json_t *fed_weights_json(const struct fed_weights *w);
double fed_load_value(const json_t *parts, const struct fed_weights *w, bool without_ops);
int fed_load_init(struct fed *f);
void fed_load_free(struct fed *f);
void fed_load_measure(struct fed *f, json_t *load);

/* judge.c (cloud): what the manager policy (elastic.c) and the pool
 * policy (pool.c) judge alike. FED_THRESHOLD_FIELDS are the members of
 * both policies' schemas that say when a load is too high or too low;
 * fed_thresholds_check their cross-field rules (full: the policy with its
 * defaults). A streak counts reports in a row; fed_lasted: it lasted the
 * policy's for_reports or for_s; fed_cooling: a decision at last_ms is
 * within cooldown_s. fed_overloaded: value above the overload threshold
 * (*at), which rises with peers above rise.above (seed para 105), and,
 * with relative, within relative.within_pct of the highest of value and
 * peers (para 104); how says which, naming the peers' highest as whose
 * ("the site's"). fed_held: the policy's lifecycle
 * "hold" holds a decision on manager mgr, whose load (its report) names
 * an operation running or ended less than hold_s ago: op is its id,
 * reason the record's. Decisions (rule "managers" or "pool") are told to
 * their policy's callback (through the outbox) and ended with a note. */
#define FED_URL_MAX 2048
extern const struct jv_field fed_relative_fields[], fed_rise_fields[];
extern const char *const fed_lifecycles[];
/* one member a line */
/* clang-format off */
#define FED_THRESHOLD_FIELDS                                                                  \
    {.name = "overload", .type = JV_NUMBER, .flags = JV_REQUIRED, .min = 0, .max = 1e9},      \
    {.name = "underload", .type = JV_NUMBER, .min = 0, .max = 1e9},                           \
    {.name = "for_reports", .type = JV_INT, .min = 1, .max = 10000},                          \
    {.name = "for_s", .type = JV_INT, .min = 1, .max = 86400},                                \
    {.name = "cooldown_s", .type = JV_INT, .min = 0, .max = 86400},                           \
    {.name = "hold_s", .type = JV_INT, .min = 0, .max = 86400},                               \
    {.name = "hold_before_s", .type = JV_INT, .min = 0, .max = 86400},                        \
    {.name = "lifecycle", .type = JV_STRING, .choices = fed_lifecycles},                      \
    {.name = "callback", .type = JV_STRING, .min = 8, .max = FED_URL_MAX},                    \
    {.name = "relative", .type = JV_OBJECT, .fields = fed_relative_fields},                   \
    {.name = "rise", .type = JV_OBJECT, .fields = fed_rise_fields}
/* clang-format on */
int fed_thresholds_check(const json_t *body, const json_t *full, struct jv_error *e);
/* The defaults of the threshold members p leaves out (underload 0, 3
 * reports unless for_s, cooldown_s as given, lifecycle "hold"). */
void fed_thresholds_defaults(json_t *p, int cooldown_s);
void fed_streak_step(struct fed_streak *s, bool over, bool under);
void fed_streak_reset(struct fed_streak *s);
bool fed_lasted(const json_t *pol, unsigned n, int64_t since);
bool fed_cooling(int64_t last_ms, const json_t *pol);
/* Whole seconds from now to until_ms (wall ms), rounded up; 0 when past or
 * 0 (what "cooldown_left_s" shows). */
json_int_t fed_secs_left(int64_t until_ms);
/* When the newest decision of rule ("managers", "pool") at site that was
 * taken (not held nor refused) was made, wall ms; 0: none. Where the
 * cooldown starts from after a restart of the cloud. */
int64_t fed_decided_at(struct core *c, const char *rule, const char *site);
bool fed_overloaded(const json_t *pol, double value, const double *peers, size_t n,
                    const char *whose, double *at, char *how, size_t len);
bool fed_held(const json_t *pol, const json_t *load, const char *mgr, char *op, size_t oplen,
              char *reason, size_t len);
void fed_judge_init(struct core *c);
void fed_decision_tell(struct core *c, const json_t *pol, const json_t *d);
void fed_decision_end(struct core *c, const char *id, const char *state, const char *note);
/* An instruction of type for m, not tied to a deployment (body taken),
 * stored and sent once its transaction commits: the record (new
 * reference), or NULL. */
json_t *fed_mgr_instruct(struct core *c, struct fed_mgr *m, const char *type, json_t *body);

/* site_load.c (branch): the site's load for a report (new reference):
 * its capacity, what its VIs use (per deployment too) and hold, and the
 * WAN to the cloud as the reports measured it (fed_wan_measured, after
 * each report: answered or not). */
json_t *fed_site_load(struct fed *f);
void fed_wan_measured(struct fed *f, const struct httpc_resp *resp, bool answered);
/* A bulk probe of the WAN when one is due (--fed-wan-probe-s): a POST of
 * --fed-wan-probe-kib to the cloud's /fed/v1/probe, its upload speed kept
 * as wan.bulk_kbps. */
void fed_wan_probe(struct fed *f);
void fed_probe_apply(struct core *c, struct txn *t); /* cloud.c: the cloud's side */
void fed_site_load_free(struct fed *f);

/* elastic.c (cloud): the manager policy of sites (GET/PUT
 * /v0/sites/{id}/managers), judged at every report of a manager (after
 * m->load was set); a join with a token it minted; the branch's answer to
 * its instructions; a manager's view. */
void elastic_site_get(struct rctx *r);
void elastic_site_put(struct core *c, struct txn *t);
int elastic_policy_check(const json_t *body, struct jv_error *e);
void elastic_report(struct core *c, struct fed_mgr *m, const json_t *report);
/* mgr_policy.c (cloud): per-manager overrides of the site's manager policy,
 * PUT /v0/managers/{id}/policy; the policy manager m is judged with (a new
 * reference: site_pol, or a copy with m's override laid over it). */
int mgr_policy_check(const json_t *body, struct jv_error *e);
void mgr_policy_put(struct core *c, struct txn *t);
/* GET /v0/managers/{id}/policy: the overrides, the site's policy and the
 * policy the manager is judged with. */
void mgr_policy_get(struct rctx *r);
/* Whether the overrides of the managers of site still make sense with pol
 * (the site's new policy, with its defaults): 0, or -1 and a 409 in res
 * naming the manager and the field. */
int mgr_policy_recheck(struct core *c, const char *site, const json_t *pol, struct result *res);
json_t *mgr_policy_effective(struct core *c, struct fed_mgr *m, const json_t *site_pol);
void elastic_joined(struct core *c, const json_t *token, json_t *mgr_doc);
void elastic_result(struct core *c, struct fed_mgr *m, const json_t *ins, const json_t *result);
void elastic_view(const struct fed_mgr *m, json_t *view);
void elastic_free(struct fed *f);

/* policies.c: the policies each report is judged with, kept in memory
 * (read at the first use; a setter replaces one after its transaction
 * commits). Borrowed; NULL when none is set. */
enum fed_policy { FED_POLICY_MANAGERS, FED_POLICY_POOL, FED_POLICY_COUNT };
const json_t *fed_site_policy(struct core *c, const char *site, enum fed_policy which);
void fed_site_policy_set(struct core *c, const char *site, enum fed_policy which,
                         const json_t *pol);
const json_t *fed_mgr_override(struct core *c, struct fed_mgr *m);
void fed_mgr_override_set(struct core *c, const char *mgr, const json_t *pol);
void fed_policies_free(struct fed *f);

/* pool.c (cloud): the pool policy of branch sites (GET/PUT
 * /v0/sites/{id}/pool), judged at every report of a site's first manager
 * (its site_load); the branch's answer to a capacity change; what GET
 * /v0/managers shows of a manager's site (under f->mu). */
void pool_site_get(struct rctx *r);
void pool_site_put(struct core *c, struct txn *t);
int pool_policy_check(const json_t *body, struct jv_error *e);
void pool_report(struct core *c, struct fed_mgr *m, const json_t *report);
void pool_result(struct core *c, struct fed_mgr *m, const json_t *ins, const json_t *result);
void pool_view(struct fed *f, const struct fed_mgr *m, json_t *view);
void pool_free(struct fed *f);

/* spawn.c (branch): starting and stopping managers of this site at the
 * cloud's instruction (spawn_manager, stop_manager), watched until healthy
 * and reported ("children" in every report); all stopped when this one
 * stops; adopted, or started again, when it starts (fed_spawn_resume). */
void fed_spawn_apply(struct core *c, struct txn *t);
void fed_unspawn_apply(struct core *c, struct txn *t);
json_t *fed_children_report(struct fed *f);
void fed_spawn_resume(struct fed *f);
void fed_spawn_stop_all(struct fed *f);
void fed_standbys_apply(struct core *c, struct txn *t);

/* spawn.c: where the manager mgr this one started listens (*port) and
 * its data dir (*dir, malloc'd); -ENOENT when it started none such, or
 * it does not run now. Any thread. */
int fed_child_addr(struct fed *f, const char *mgr, unsigned *port, char **dir);

/* handover.c (branch): deployments handed over between this manager and
 * one it started, their VNF processes kept (docs/FEDERATION.md
 * "Handover"). fed_handover_route: POST /fed/v1/handover/{id} {"step":
 * out|in|commit|release|abort|drop, ...} (admin), the steps of each side;
 * fed_handover_apply: the instruction "handover", which this manager
 * drives (a job: DATA_DIR/handovers.json, resumed at start); the jobs for
 * the reports; the deployments this one gave away lately ({id: manager},
 * a new reference). */
void fed_handover_route(struct core *c, struct txn *t);
void fed_handover_apply(struct core *c, struct txn *t);
json_t *fed_handovers_report(struct fed *f);
json_t *fed_handed_over(struct core *c);
void fed_handover_resume(struct fed *f);
void fed_handover_free(struct fed *f);

/* move.c (cloud): moving a deployment between a branch and a site of the
 * cloud's own, make-before-break (docs/FEDERATION.md "Moves"). */
struct fed_move_req {
    const char *dep;             /* the deployment's id */
    const char *site;            /* where to */
    const json_t *why;           /* the decision record that chose it; NULL: an operator */
    const struct principal *who; /* the caller (ownership), or NULL: the cloud itself */
    const char *ctid;            /* Client-Transaction-Id, or NULL */
    int drain_ms;                /* the drain window; < 0: the default (5 s) */
};
/* Starts a move on the loop, inside the open transaction (a request's, or a
 * report's for a decision of the cloud's): checks it (404 deployment or
 * site, 409 same site, busy naming the operation, placement, no VNFD
 * here, 422 not between a branch and the cloud, 503 branch unreachable),
 * writes the operation "move" and starts its first stage. 0 with the
 * operation in *op (a new reference), or -1 with res set and nothing
 * changed. */
int fed_move_begin(struct core *c, const struct fed_move_req *rq, struct result *res, json_t **op);
/* POST /v0/deployments/{id}/move {"site", "drain_s"?}. */
void fed_move_apply(struct core *c, struct txn *t);
/* The lifecycle observer through which the operations a move waits for
 * move it on; deadlines (the cloud's timer); the moves of the journal at
 * start-up; the end. */
extern const struct lc_observer fed_move_observer;
void fed_move_tick(struct core *c);
void fed_move_resume(struct core *c);
void fed_move_free(struct fed *f);
/* A request of the admin's applied here and now, inside the open
 * transaction (a deploy, scale or undeploy of the cloud's own: a move's
 * clone, a burst); the operation it started in op_id; 0, or -1 with res
 * set. body is taken (NULL: an empty one). */
int fed_local_request(struct core *c, txn_apply_fn fn, const char *name, const char *arg,
                      json_t *body, struct result *res, char *op_id, size_t len);

/* burst.c (cloud): a branch VNF scaled by the cloud's rules gets its new
 * instances at the branch while the branch has room, else in the cloud,
 * behind the same service endpoint (docs/FEDERATION.md "Bursting into the
 * cloud"); a scale in takes those in the cloud first. fed_burst_scale
 * is the rules engine's scale decided for dep (the branch's mirror) of
 * manager m, count being of all instances: 1 when the branch's own
 * instances change (body's count set to theirs: the caller instructs the
 * branch), 0 with the cloud's operation in *op, -1 with res set; it notes
 * in decision where the instances go and why. body is not taken. */
int fed_burst_scale(struct core *c, struct fed_mgr *m, const json_t *dep, json_t *body,
                    json_t *decision, struct result *res, json_t **op);
/* What the branch of m has free: its capacity less what it holds, as its
 * manager's last report said (*vcpu, *memory_mb); false when it reported
 * no capacity (then it is not judged full). */
bool fed_branch_room(const struct fed_mgr *m, double *vcpu, double *memory_mb);
/* The instances of vdu of dep's burst in the cloud (lc_remote instances). */
long long fed_burst_instances(struct core *c, const json_t *dep, const char *vdu);
/* The values the cloud's rules of dep (the branch's mirror, id) see: vals,
 * what the branch reported of its instances, with the instances of its
 * burst in the cloud joined in (the cloud's monitor's values, combined as
 * each metric's aggregate says; avg weighted by the running instances).
 * *busy: the burst changes now (its deployment in the cloud busy, or its
 * endpoint being changed). A new reference (NULL when vals is and there
 * is no burst). */
json_t *fed_burst_values(struct core *c, const char *dep, const json_t *vals, bool *busy);
/* The serving instances of dep's burst as backends on port (a new array),
 * NULL when it has no burst. */
json_t *fed_burst_backends(struct core *c, const json_t *dep, long long port);
/* What changes dep's burst now, in buf ("operation ID of ..."); NULL when
 * nothing does (or it has no burst). */
const char *fed_burst_change(struct core *c, const json_t *dep, char *buf, size_t len);
extern const struct lc_observer fed_burst_observer;

/* The descriptor of dep: its own copy (the cloud's deployment), else the
 * cloud's VNFD record (a branch's). A new reference, or NULL. */
json_t *fed_descriptor(struct core *c, const json_t *dep);
/* The VDU of a VNFD whose instances answer its service: the first that
 * has a readiness port (ready.http.port, ready.tcp), *port set to it; NULL
 * and 0 when none. fed_service_port: that port alone. */
const json_t *fed_service_vdu(const json_t *vnfd, long long *port);
long long fed_service_port(const json_t *vnfd);

/* endpoint.c (branch): the service endpoints this manager keeps
 * (docs/FEDERATION.md "The service endpoint"): one per deployment with a
 * service port, pointing at its VIs (mode local) or at what the cloud
 * said (remote: a clone in the cloud); kept in the store (meta
 * fed_endpoints), applied with nftables after each change and at start. */
void fed_endpoint_apply(struct core *c, struct txn *t); /* the instruction "endpoint" */
/* The endpoint of deployment id after a change of it (in the open
 * transaction): made, pointed at its running VIs, or gone with it. */
void fed_endpoint_refresh(struct core *c, const char *id);
void fed_endpoint_start(struct core *c);
/* The address endpoints listen on, or NULL. */
const char *fed_endpoint_address(struct core *c);
/* Sends again the endpoints a site's agent did not take (report interval). */
void fed_endpoint_retry(struct core *c);
void fed_endpoint_stop(struct core *c);
/* The cloud became reachable or not (a report got through, or did not):
 * the endpoints with instances in the cloud take them in or leave them out. */
void fed_endpoint_wan(struct core *c);
/* The endpoints, {deployment: {address, port, ...}} (a new reference);
 * "IP:PORT" of deployment id's among them into out, or false. */
json_t *fed_endpoints(struct core *c);
/* "IP:PORT" of each serving VI (running, ready) of the service VDU of
 * deployment id here (a new array). */
json_t *fed_backends(struct core *c, const char *id, long long port);
bool fed_endpoint_of(const json_t *endpoints, const char *id, char *out, size_t len);

/* A new single-use join token into out: "join_" and 40 hex digits (46 bytes). */
void fed_token_generate(char *out);

#endif
