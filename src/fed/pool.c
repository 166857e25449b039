/* The branch pool, the cloud's side (docs/FEDERATION.md "The branch
 * pool"; issue 13; SPEC F21, F23, F26; seed para 108-1011).
 *
 * Every report of a branch's first manager carries the site's load
 * (site_load.c): what its VIs use against the site's capacity, per
 * deployment, and the WAN to the cloud. The cloud keeps the last one per
 * site (GET /v0/sites/{id}/pool shows it, and GET /v0/managers with the
 * manager) and judges it against the site's pool policy (PUT
 * /v0/sites/{id}/pool, kept in the site's record) with the machinery of
 * the manager policy (judge.c): thresholds static or relative to the
 * other branches, durations, cooldown, lifecycle holds.
 *
 * An overloaded branch gets, first and where the policy allows it (grow),
 * more capacity within the policy's ceiling: an instruction site_capacity
 * to its manager. Otherwise the cloud chooses the fewest deployments
 * whose moves bring it under the threshold (pool_choose.c), honouring
 * each VNFD's placement and the room of the cloud's site, and moves
 * them. An underloaded branch, for the policy's move_back window, gets
 * back the prefer-branch deployments the pool moved away, one at a time.
 * Each is a decision record (rule "pool") with its inputs, what was
 * chosen and why, and what was rejected and why. */
#include "fed/fed_internal.h"
#include "fed/pool.h"
#include "catalog/vnfd.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <string.h>

#define RULE             "pool"
#define DEFAULT_COOLDOWN 60
#define CANDIDATES_MAX   64
#define BUSY_MAX         224    /* why a candidate cannot move now */
#define GROW_HEADROOM    0.9    /* a grown site is judged at 90% of its threshold */
#define PENDING_MAX_MS   300000 /* a decision still under way after this failed */

/* What the cloud keeps of a branch site (f->pool_sites; f->mu for the
 * readers of load). */
struct pool_site {
    json_t *load; /* the last report's site load with its value, or NULL */
    struct fed_streak st;
    int64_t last_ms;  /* the last decision taken (cooldown) */
    char held_by[32]; /* the operation a held decision named */
    bool refused;     /* a refusal was recorded for this streak */
    char pending[32]; /* a decision under way: a capacity change, moves */
    double grow_vcpu; /* the capacity a pending grow waits for */
    long long grow_mb, grow_disk_mb;
    json_t *staying; /* the last move-back judgement: moved away, not coming back now, why */
};

/* ---- the policy ---- */

static const struct jv_field grow_fields[] = {
    {.name = "vcpu_max", .type = JV_NUMBER, .min = 0.01, .max = 1e6},
    {.name = "memory_mb_max", .type = JV_INT, .min = 1, .max = 1e12},
    {.name = "disk_mb_max", .type = JV_INT, .min = 1, .max = 1e13},
    {.name = NULL},
};
static const struct jv_field move_back_fields[] = {
    {.name = "after_s", .type = JV_INT, .flags = JV_REQUIRED, .min = 1, .max = 86400},
    {.name = NULL},
};
static const struct jv_field policy_fields[] = {
    FED_THRESHOLD_FIELDS,
    {.name = "grow", .type = JV_OBJECT, .fields = grow_fields},
    {.name = "cloud_site", .type = JV_STRING, .flags = JV_NAME},
    {.name = "move_back", .type = JV_OBJECT, .fields = move_back_fields},
    /* the branch's own manager inside its capacity: its use counted, and it
     * may move to the cloud (mgr_move.c) like a deployment */
    {.name = "count_manager", .type = JV_BOOL},
    {.name = NULL},
};
static const struct jv_field policy_schema = {.type = JV_OBJECT, .fields = policy_fields};

static json_t *policy_full(struct core *c, const json_t *body)
{
    json_t *p = json_deep_copy(body);

    fed_thresholds_defaults(p, DEFAULT_COOLDOWN);
    if (!json_object_get(p, "cloud_site"))
        json_object_set_new(p, "cloud_site", json_string(c->cfg->site));
    return p;
}

int pool_policy_check(const json_t *body, struct jv_error *e)
{
    const json_t *grow = json_object_get(body, "grow");
    json_t *p;
    int r = -1;

    if (jv_check(body, &policy_schema, e))
        return -1;
    p = json_deep_copy(body);
    if (!json_object_get(p, "underload"))
        json_object_set_new(p, "underload", json_real(0));
    if (fed_thresholds_check(body, p, e))
        ;
    else if (strcmp(jv_str(body, "lifecycle", "hold"), "subtract") == 0)
        jv_fail(e, "invalid-value", "lifecycle",
                "lifecycle subtract is the manager policy's: a site's load has no operations' "
                "share to leave out; give hold or ignore");
    else if (grow && !json_object_get(grow, "vcpu_max") &&
             !json_object_get(grow, "memory_mb_max") && !json_object_get(grow, "disk_mb_max"))
        jv_fail(e, "missing-field", "grow.vcpu_max",
                "grow needs a ceiling: vcpu_max, memory_mb_max, disk_mb_max or more of them");
    else if (json_object_get(body, "move_back") && jv_num(body, "underload", 0) <= 0)
        jv_fail(e, "invalid-value", "move_back",
                "move_back needs an underload threshold: the branch is quiet below it");
    else
        r = 0;
    json_decref(p);
    return r;
}

/* A site's state, made at its first report since the start: its cooldown
 * from its last decision in the store (a restart does not cut it short). */
static struct pool_site *site_of(struct fed *f, const char *site)
{
    struct pool_site *ps = hmap_get(&f->pool_sites, site);

    if (!ps) {
        ps = xcalloc(1, sizeof(*ps));
        ps->last_ms = fed_decided_at(f->c, RULE, site);
        hmap_put(&f->pool_sites, site, ps);
    }
    return ps;
}

static bool branch_site(struct core *c, struct result *res, const char *id, const json_t *site)
{
    if (!c->fed || !c->fed->cloud)
        result_fail(res, 409, "not-a-cloud", NULL, NULL,
                    "this manager is not a cloud VNFM: start it with --role cloud");
    else if (!site)
        result_not_found(res, "site", id);
    else if (strcmp(jv_str(site, "kind", ""), "branch"))
        result_fail(res, 409, "conflict", "object", id,
                    "site '%s' is a site of this manager, not a branch: it has no pool policy", id);
    else
        return true;
    return false;
}

/* How the site is judged, for GET (the console's estate view): the
 * streaks, the decision under way, the cooldown left (seconds, 0: none)
 * and the operation that held the last decision of this streak. */
static json_t *judged_view(const struct pool_site *ps, const json_t *pol)
{
    int64_t until = ps->last_ms ? ps->last_ms + jv_int(pol, "cooldown_s", 0) * 1000 : 0;

    return json_pack("{s:i, s:i, s:s?, s:I, s:s?, s:o?}", "over_reports", ps->st.over_n,
                     "under_reports", ps->st.under_n, "pending", *ps->pending ? ps->pending : NULL,
                     "cooldown_left_s", fed_secs_left(until), "held_by",
                     *ps->held_by ? ps->held_by : NULL, "staying",
                     ps->staying ? json_deep_copy(ps->staying) : NULL);
}

/* What GET and PUT answer (f->mu taken here). */
static json_t *policy_view(struct fed *f, const char *site, const json_t *pol)
{
    struct pool_site *ps;
    json_t *v = json_pack("{s:s, s:O?}", "site", site, "policy", pol);

    pthread_mutex_lock(&f->mu);
    ps = hmap_get(&f->pool_sites, site);
    json_object_set_new(v, "load", ps && ps->load ? json_deep_copy(ps->load) : json_null());
    if (ps)
        json_object_set_new(v, "judged", judged_view(ps, pol));
    pthread_mutex_unlock(&f->mu);
    return v;
}

void pool_site_get(struct rctx *r)
{
    json_t *site = NULL;

    store_get(r->st, STORE_SITE, r->args[0], &site);
    if (branch_site(r->c, &r->res, r->args[0], site))
        result_ok(&r->res, 200,
                  policy_view(r->c->fed, r->args[0], json_object_get(site, "pool_policy")));
    json_decref(site);
}

/* What the policy names that only the store can tell: its cloud site is
 * one of the cloud's own; its ceiling is not below the site's capacity. */
static int policy_fits(struct core *c, struct txn *t, const json_t *site, const json_t *pol)
{
    const char *to = jv_str(pol, "cloud_site", "");
    const json_t *cap = json_object_get(site, "capacity"), *grow = json_object_get(pol, "grow");
    json_t *cs = core_load(c, STORE_SITE, to);
    int r = 0;

    if (!cs || strcmp(jv_str(cs, "kind", ""), "branch") == 0)
        r = result_fail(&t->res, 400, "invalid-value", "field", "cloud_site",
                        "cloud_site '%s' is not a site of the cloud's own", to);
    else if (json_object_get(grow, "vcpu_max") &&
             jv_num(grow, "vcpu_max", 0) < jv_num(cap, "vcpu", 0))
        r = result_fail(&t->res, 400, "invalid-value", "field", "grow.vcpu_max",
                        "grow.vcpu_max (%g) is below the site's capacity (%g vCPU)",
                        jv_num(grow, "vcpu_max", 0), jv_num(cap, "vcpu", 0));
    else if (json_object_get(grow, "memory_mb_max") &&
             jv_int(grow, "memory_mb_max", 0) < jv_int(cap, "memory_mb", 0))
        r = result_fail(&t->res, 400, "invalid-value", "field", "grow.memory_mb_max",
                        "grow.memory_mb_max (%lld) is below the site's capacity (%lld MB)",
                        jv_int(grow, "memory_mb_max", 0), jv_int(cap, "memory_mb", 0));
    else if (json_object_get(grow, "disk_mb_max") &&
             jv_int(grow, "disk_mb_max", 0) < jv_int(cap, "disk_mb", 0))
        r = result_fail(&t->res, 400, "invalid-value", "field", "grow.disk_mb_max",
                        "grow.disk_mb_max (%lld) is below the site's disk capacity (%lld MB)",
                        jv_int(grow, "disk_mb_max", 0), jv_int(cap, "disk_mb", 0));
    json_decref(cs);
    return r;
}

/* A new policy judges from its first report on. */
static void restart_judging(struct fed *f, const char *site)
{
    struct pool_site *ps;

    pthread_mutex_lock(&f->mu);
    ps = site_of(f, site);
    fed_streak_reset(&ps->st);
    ps->refused = false;
    ps->held_by[0] = '\0';
    pthread_mutex_unlock(&f->mu);
}

void pool_site_put(struct core *c, struct txn *t)
{
    json_t *site = core_load(c, STORE_SITE, t->args[0]), *pol;

    if (!branch_site(c, &t->res, t->args[0], site)) {
        json_decref(site);
        return;
    }
    pol = policy_full(c, t->body);
    if (policy_fits(c, t, site, pol) == 0) {
        json_object_set(site, "pool_policy", pol);
        doc_touch(site, "updated");
        if (store_put(c->st, STORE_SITE, site)) {
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the site: %s",
                        store_errmsg(c->st));
        } else {
            fed_site_policy_set(c, t->args[0], FED_POLICY_POOL, pol);
            restart_judging(c->fed, t->args[0]);
            core_audit(c, &t->who, "site", t->args[0], "pool policy set");
            result_ok(&t->res, 200, policy_view(c->fed, t->args[0], pol));
        }
    }
    json_decref(pol);
    json_decref(site);
}

/* ---- decisions ---- */

/* A decision record about site ps of manager m, written now. */
static json_t *decide(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                      const char *stage, const char *state, const char *action, const char *reason,
                      json_t *extra)
{
    bool over = strcmp(stage, "branch_overload") == 0;
    int64_t since = over ? ps->st.over_since_ms : ps->st.under_since_ms;
    char id[32], obj[ID_BUF_MAX + 8];
    json_t *d;

    id_random(id, "dc-", 12);
    /* the inputs are a copy: ps->load is what GET shows, under f->mu */
    d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:s}", "id", id, "rule", RULE,
                  "stage", stage, "site", m->site, "manager", m->id, "state", state, "action",
                  action, "inputs", json_deep_copy(ps->load), "thresholds", pol, "reason", reason);
    json_object_set_new(json_object_get(d, "inputs"), "reports",
                        json_integer(over ? ps->st.over_n : ps->st.under_n));
    json_object_set_new(json_object_get(d, "inputs"), "for_ms",
                        json_integer(since ? wall_ms() - since : 0));
    if (extra)
        json_object_update(d, extra);
    json_decref(extra);
    doc_touch(d, "created");
    doc_touch(d, "updated");
    if (strcmp(state, "held") == 0 || strcmp(state, "refused") == 0)
        doc_touch(d, "finished");
    if (store_put(c->st, STORE_DECISION, d))
        log_error("fed: cannot write decision %s: %s", id, store_errmsg(c->st));
    else
        fed_cscale_decided(c->fed);
    if (strcmp(state, "moving") && strcmp(state, "growing"))
        fed_decision_tell(c, pol, d); /* those are told once their work is under way */
    snprintf(obj, sizeof(obj), "site/%s", m->site);
    core_event(c, strcmp(state, "refused") ? "info" : "warn", "policy", "decision",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "object", obj, "site", m->site,
                         "manager", m->id, "decision", id, "rule", RULE, "result", state),
               "decision %s on site %s: %s", id, m->site, reason);
    return d;
}

static void refuse_once(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                        const char *stage, const char *action, const char *reason, json_t *extra)
{
    if (ps->refused) {
        json_decref(extra);
        return;
    }
    json_decref(decide(c, m, ps, pol, stage, "refused", action, reason, extra));
    ps->refused = true;
}

static bool held(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                 const char *stage, const char *action)
{
    char op[32], reason[320];
    json_t *d;

    if (!fed_held(pol, m->load, m->id, op, sizeof(op), reason, sizeof(reason)))
        return false;
    if (strcmp(ps->held_by, op)) { /* once per operation */
        d = decide(c, m, ps, pol, stage, "held", action, reason, NULL);
        doc_set_str(d, "held_by", op);
        store_put(c->st, STORE_DECISION, d);
        json_decref(d);
        snprintf(ps->held_by, sizeof(ps->held_by), "%s", op);
    }
    return true;
}

static void taken(struct pool_site *ps, const json_t *d)
{
    snprintf(ps->pending, sizeof(ps->pending), "%s", jv_str(d, "id", ""));
    fed_streak_reset(&ps->st);
    ps->last_ms = wall_ms();
}

/* The site's use as the report measured it. */
static void use_of(const json_t *load, struct pool_use *u)
{
    const json_t *used = json_object_get(load, "used"), *cap = json_object_get(load, "capacity");

    memset(u, 0, sizeof(*u));
    u->vcpu = jv_num(used, "vcpu", 0);
    u->memory_mb = jv_num(used, "memory_mb", 0);
    u->disk_mb = jv_num(used, "disk_mb", 0);
    u->cap_vcpu = jv_num(cap, "vcpu", 0);
    u->cap_memory_mb = jv_num(cap, "memory_mb", 0);
    u->cap_disk_mb = jv_num(cap, "disk_mb", 0);
    u->free_vcpu = u->free_memory_mb = u->free_disk_mb = -1;
}

/* First answer: more room at the branch, within the policy's ceiling. A
 * decision (true) when the ceiling is enough; else false with why the
 * alternative was rejected. */
static bool grow(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                 const char *why, char *no, size_t len)
{
    const json_t *g = json_object_get(pol, "grow");
    double over = jv_num(pol, "overload", 1), vmax, vcpu;
    long long mmax, mb, dmax, disk;
    struct pool_use u;
    char reason[1024], ceiling[160];
    json_t *d, *ins;

    use_of(ps->load, &u);
    vmax = jv_num(g, "vcpu_max", u.cap_vcpu);
    mmax = jv_int(g, "memory_mb_max", (long long)u.cap_memory_mb);
    dmax = jv_int(g, "disk_mb_max", (long long)u.cap_disk_mb);
    /* the least capacity (0.1 vCPU, 64 MB steps) that puts the site at 90% of overload */
    vcpu = fmax(u.cap_vcpu, ceil(u.vcpu / (over * GROW_HEADROOM) * 10) / 10);
    mb = (long long)fmax(u.cap_memory_mb, ceil(u.memory_mb / (over * GROW_HEADROOM) / 64) * 64);
    disk = (long long)fmax(u.cap_disk_mb, ceil(u.disk_mb / (over * GROW_HEADROOM) / 64) * 64);
    vcpu = fmin(vcpu, vmax);
    mb = mb < mmax ? mb : mmax;
    disk = disk < dmax ? disk : dmax;
    snprintf(ceiling, sizeof(ceiling), "%g vCPU, %lld MB memory, %lld MB disk", vmax, mmax, dmax);
    if (vcpu <= u.cap_vcpu + 1e-9 && mb <= (long long)u.cap_memory_mb &&
        disk <= (long long)u.cap_disk_mb) {
        snprintf(no, len, "grow: the site is at the policy's ceiling (%s)", ceiling);
        return false;
    }
    u.cap_vcpu = vcpu;
    u.cap_memory_mb = (double)mb;
    u.cap_disk_mb = (double)disk;
    if (pool_value(&u) >= over) {
        snprintf(no, len,
                 "grow: the policy's ceiling (%s) would leave the branch at %.3f, not under %g",
                 ceiling, pool_value(&u), over);
        return false;
    }
    snprintf(reason, sizeof(reason),
             "%s: capacity of site %s from %g vCPU, %.0f MB memory, %.0f MB disk to %g vCPU, "
             "%lld MB, %lld MB (ceiling %s), which puts it at %.3f; no deployment moves",
             why, m->site, jv_num(json_object_get(ps->load, "capacity"), "vcpu", 0),
             jv_num(json_object_get(ps->load, "capacity"), "memory_mb", 0),
             jv_num(json_object_get(ps->load, "capacity"), "disk_mb", 0), vcpu, mb, disk, ceiling,
             pool_value(&u));
    d = decide(c, m, ps, pol, "branch_overload", "growing", "grow", reason, NULL);
    ins = fed_mgr_instruct(c, m, "site_capacity",
                           json_pack("{s:{s:f, s:I, s:I}, s:s}", "capacity", "vcpu", vcpu,
                                     "memory_mb", (json_int_t)mb, "disk_mb", (json_int_t)disk,
                                     "decision", doc_str(d, "id")));
    if (ins)
        json_object_set_new(d, "instructions", json_pack("[O]", json_object_get(ins, "id")));
    json_object_set_new(d, "capacity",
                        json_pack("{s:f, s:I, s:I}", "vcpu", vcpu, "memory_mb", (json_int_t)mb,
                                  "disk_mb", (json_int_t)disk));
    store_put(c->st, STORE_DECISION, d);
    fed_decision_tell(c, pol, d);
    taken(ps, d);
    ps->grow_vcpu = vcpu;
    ps->grow_mb = mb;
    ps->grow_disk_mb = disk;
    json_decref(ins);
    json_decref(d);
    return true;
}

/* What a deployment holds, from its VNFD and instances (what its clone needs). */
/* n more instances of vdu in what x needs. */
static void need_add(struct pool_cand *x, const json_t *vdu, double n)
{
    x->need_vcpu += n * jv_num(vdu, "vcpu", 1);
    x->need_memory_mb += n * (double)jv_int(vdu, "memory_mb", 128);
    x->need_disk_mb += n * (double)jv_int(vdu, "disk_mb", 0);
}

static void need_of(const json_t *dep, const json_t *vnfd, struct pool_cand *x)
{
    const json_t *vdu, *inst = json_object_get(dep, "instances");
    size_t i;

    x->need_vcpu = x->need_memory_mb = x->need_disk_mb = 0;
    json_array_foreach(json_object_get(vnfd, "vdus"), i, vdu)
    {
        need_add(x, vdu, (double)jv_int(inst, jv_str(vdu, "id", ""), 1));
    }
}

/* A deployment with instances in the cloud (a burst) moves whole: its
 * clone has those too, beside them until the move ends. */
static void burst_need(struct core *c, const json_t *dep, const json_t *vnfd, struct pool_cand *x)
{
    const char *vdu_id = jv_str(json_object_get(dep, "burst"), "vdu", NULL);
    const json_t *vdu = vdu_id ? vnfd_vdu(vnfd, vdu_id) : NULL;

    if (vdu)
        need_add(x, vdu, (double)fed_burst_instances(c, dep, vdu_id));
}

/* The branch's deployments as candidates (their strings borrowed from deps). */
static size_t candidates(struct core *c, struct pool_site *ps, const json_t *deps,
                         struct pool_cand *out, char busy[][BUSY_MAX])
{
    const json_t *use = json_object_get(ps->load, "deployments"), *d;
    char change[160];
    size_t i, n = 0;

    json_array_foreach(deps, i, d)
    {
        const char *id = jv_str(d, "id", "");
        const json_t *u = json_object_get(use, id);
        json_t *rec = core_load(c, STORE_VNFD, jv_str(d, "vnfd", ""));
        const json_t *vnfd = json_object_get(rec, "descriptor");
        struct pool_cand *x = &out[n];

        if (n == CANDIDATES_MAX) {
            json_decref(rec);
            break;
        }
        memset(x, 0, sizeof(*x));
        x->id = id;
        x->vcpu = jv_num(u, "vcpu", 0);
        x->memory_mb = jv_num(u, "memory_mb", 0);
        x->disk_mb = jv_num(u, "disk_mb", 0);
        x->placement = pool_placement_of(jv_str(vnfd, "placement", NULL));
        need_of(d, vnfd, x);
        burst_need(c, d, vnfd, x);
        busy[n][0] = '\0';
        if (!vnfd)
            snprintf(busy[n], BUSY_MAX, "its VNFD %s is not on the cloud: it cannot be cloned",
                     jv_str(d, "vnfd", "?"));
        else if (doc_str(d, "operation"))
            snprintf(busy[n], BUSY_MAX, "operation %s runs", doc_str(d, "operation"));
        else if (fed_burst_change(c, d, change, sizeof(change)))
            snprintf(busy[n], BUSY_MAX, "its instances in the cloud change: %s", change);
        else if (strcmp(jv_str(d, "status", ""), "active"))
            snprintf(busy[n], BUSY_MAX, "it is %s, not active", jv_str(d, "status", "?"));
        x->busy = busy[n][0] ? busy[n] : NULL;
        json_decref(rec);
        n++;
    }
    return n;
}

/* Whether a deployment of deps (a site's) has an operation running: the
 * first one's said in why. */
static bool op_at_site(const json_t *deps, char *why, size_t len)
{
    const json_t *d;
    size_t i;

    json_array_foreach(deps, i, d)
    {
        if (doc_str(d, "operation")) {
            snprintf(why, len, "operation %s of %s runs at its site", doc_str(d, "operation"),
                     jv_str(d, "id", "?"));
            return true;
        }
    }
    return false;
}

/* The branch's own manager as a candidate (the policy's count_manager):
 * what it uses at the branch, the limits it holds in the cloud once moved
 * (--cloud-scale-vcpu, --cloud-scale-memory-mb); busy while it cannot
 * move (mgr_move.c's refusal) or an operation runs at its site (it moves
 * alone, once none does). */
static void manager_cand(struct core *c, const struct fed_mgr *m, const struct pool_site *ps,
                         const json_t *deps, struct pool_cand *x, char *busy)
{
    const json_t *used = json_object_get(json_object_get(ps->load, "manager"), "used");
    const char *why = fed_mmove_refusal(c->fed, m, false);

    memset(x, 0, sizeof(*x));
    x->id = m->id;
    x->manager = true;
    x->vcpu = jv_num(used, "vcpu", 0);
    x->memory_mb = jv_num(used, "memory_mb", 0);
    x->need_vcpu = c->cfg->cloud_scale_vcpu;
    x->need_memory_mb = (double)c->cfg->cloud_scale_memory_mb;
    x->placement = PLACE_CLOUD_ALLOWED;
    busy[0] = '\0';
    if (why)
        snprintf(busy, BUSY_MAX, "manager %s cannot move: %s", m->id, why);
    else if (op_at_site(deps, busy, BUSY_MAX))
        snprintf(busy + strlen(busy), BUSY_MAX - strlen(busy), ": it moves alone");
    x->busy = busy[0] ? busy : NULL;
}

/* The room of the cloud's site the policy names: capacity less what its VIs hold. */
static void cloud_room(struct core *c, const json_t *pol, struct pool_use *u)
{
    const char *to = jv_str(pol, "cloud_site", c->cfg->site);
    json_t *cs = core_load(c, STORE_SITE, to);
    struct store_usage used = {0};

    store_site_usage(c->st, to, &used);
    u->free_vcpu = fmax(0, jv_num(json_object_get(cs, "capacity"), "vcpu", 0) - used.vcpu);
    u->free_memory_mb =
        fmax(0, (double)(jv_int(json_object_get(cs, "capacity"), "memory_mb", 0) - used.memory_mb));
    u->free_disk_mb =
        fmax(0, (double)(jv_int(json_object_get(cs, "capacity"), "disk_mb", 0) - used.disk_mb));
    json_decref(cs);
}

static json_t *cands_json(const struct pool_cand *x, size_t n, bool chosen, const char *to,
                          const char *mgr_to)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        if (x[i].chosen == chosen)
            json_array_append_new(
                a,
                json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:s?}",
                          x[i].manager ? "manager" : "deployment", x[i].id, "placement",
                          pool_placement_name(x[i].placement), "vcpu", x[i].vcpu, "memory_mb",
                          x[i].memory_mb, "disk_mb", x[i].disk_mb, "need_vcpu", x[i].need_vcpu,
                          "need_memory_mb", x[i].need_memory_mb, "need_disk_mb", x[i].need_disk_mb,
                          "why", x[i].why, "to", chosen ? (x[i].manager ? mgr_to : to) : NULL));
    return a;
}

/* Starts the move of the deployment of x (a chosen one of decision d) to
 * site `to` (fed/move.c, in the report's transaction): 0 with its
 * operation in x, or -1 with why (what the move refused). */
static int move_start(struct core *c, json_t *x, const char *to, const json_t *d, char *why,
                      size_t len)
{
    struct fed_move_req rq = {
        .dep = jv_str(x, "deployment", ""), .site = to, .why = d, .drain_ms = -1};
    struct result res = {0};
    json_t *op = NULL;
    int r = fed_move_begin(c, &rq, &res, &op);

    if (r)
        snprintf(why, len, "%s", jv_str(res.body, "message", "the move was refused"));
    else
        json_object_set(x, "operation", json_object_get(op, "id"));
    json_decref(op);
    result_done(&res);
    return r ? -1 : 0;
}

/* The moves the pool started away from a site, in its record
 * (pool_moved: deployment or manager, to, decision, placement, what it
 * used), for the move-back. */
static void remember(struct core *c, const char *site, const json_t *x, const json_t *d)
{
    const char *key = json_object_get(x, "manager") ? "manager" : "deployment";
    json_t *doc = core_load(c, STORE_SITE, site), *list;

    if (!doc)
        return;
    if (!json_is_array(list = json_object_get(doc, "pool_moved"))) {
        list = json_array();
        json_object_set_new(doc, "pool_moved", list);
    }
    for (size_t i = json_array_size(list); i-- > 0;) /* its last move only */
        if (json_equal(json_object_get(json_array_get(list, i), key), json_object_get(x, key)))
            json_array_remove(list, i);
    json_array_append_new(
        list, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", key, json_object_get(x, key), "to",
                        json_object_get(x, "to"), "decision", json_object_get(d, "id"), "placement",
                        json_object_get(x, "placement"), "vcpu", json_object_get(x, "vcpu"),
                        "memory_mb", json_object_get(x, "memory_mb")));
    doc_touch(doc, "updated");
    store_put(c->st, STORE_SITE, doc);
    json_decref(doc);
}

/* Starts the move of x, a chosen of decision d: a manager's (mgr_move.c,
 * its id in x), a deployment's (fed/move.c). 0, or -1 with why. */
static int start_one(struct core *c, json_t *x, const json_t *d, char *why, size_t len)
{
    char id[32];

    if (!doc_str(x, "manager"))
        return move_start(c, x, jv_str(x, "to", ""), d, why, len);
    if (fed_mmove_begin(c, doc_str(x, "manager"), jv_str(x, "to", ""), doc_str(d, "id"), id, why,
                        len))
        return -1;
    json_object_set_new(x, "move", json_string(id));
    return 0;
}

/* Starts the moves of the chosen of d (away from site, or back to it);
 * the decision fails when none started. */
static void moves(struct core *c, struct pool_site *ps, const json_t *pol, json_t *d,
                  const char *site, bool back)
{
    json_t *chosen = json_object_get(d, "chosen"), *x;
    char why[512] = "", note[768];
    size_t i, started = 0;

    json_array_foreach(chosen, i, x)
    {
        if (start_one(c, x, d, why, sizeof(why))) {
            json_object_set_new(x, "error", json_string(why));
            continue;
        }
        started++;
        if (!back)
            remember(c, site, x, d);
    }
    store_put(c->st, STORE_DECISION, d);
    if (started) {
        fed_decision_tell(c, pol, d);
        return;
    }
    snprintf(note, sizeof(note), "no move started: %s", why);
    fed_decision_end(c, doc_str(d, "id"), "failed", note);
    ps->pending[0] = '\0';
}

static void overload(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                     const char *why)
{
    struct store_where w = {"site", m->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    const char *to = jv_str(pol, "cloud_site", c->cfg->site);
    struct pool_cand x[CANDIDATES_MAX];
    char busy[CANDIDATES_MAX][BUSY_MAX], no_grow[512] = "", reason[2048], chose[1024];
    json_t *deps = NULL, *d, *alts = json_array();
    struct pool_use u;
    double after;
    size_t n;
    int k;

    if (held(c, m, ps, pol, "branch_overload", "move") || fed_cooling(ps->last_ms, pol)) {
        json_decref(alts);
        return;
    }
    if (json_object_get(pol, "grow")) {
        if (grow(c, m, ps, pol, why, no_grow, sizeof(no_grow))) {
            json_decref(alts);
            return;
        }
        json_array_append_new(alts, json_pack("{s:s, s:s}", "action", "grow", "why", no_grow));
    } else {
        json_array_append_new(alts, json_pack("{s:s, s:s}", "action", "grow", "why",
                                              "grow: the policy allows no capacity change"));
    }
    if (store_list(c->st, STORE_DEPLOYMENT, &o, &deps)) {
        json_decref(alts);
        return;
    }
    use_of(ps->load, &u);
    cloud_room(c, pol, &u);
    n = candidates(c, ps, deps, x, busy);
    if (json_is_true(json_object_get(pol, "count_manager")) && n < CANDIDATES_MAX &&
        json_object_get(ps->load, "manager"))
        manager_cand(c, m, ps, deps, &x[n], busy[n]), n++;
    k = pool_choose(&u, jv_num(pol, "overload", 1), x, n, &after, chose, sizeof(chose));
    snprintf(reason, sizeof(reason), "%s: %s%s%s", why, k < 0 ? "no move will do: " : "", chose,
             k < 0 ? "" : "; to the cloud's site ");
    if (k >= 0)
        snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "%s", to);
    if (k < 0) {
        refuse_once(c, m, ps, pol, "branch_overload", "move", reason,
                    json_pack("{s:o, s:o, s:o}", "chosen", json_array(), "rejected",
                              cands_json(x, n, false, to, c->cfg->site), "alternatives", alts));
    } else {
        d = decide(c, m, ps, pol, "branch_overload", "moving", "move", reason, NULL);
        json_object_set_new(d, "chosen", cands_json(x, n, true, to, c->cfg->site));
        json_object_set_new(d, "rejected", cands_json(x, n, false, to, c->cfg->site));
        json_object_set_new(d, "alternatives", alts);
        json_object_set_new(d, "after", json_real(after));
        taken(ps, d);
        moves(c, ps, pol, d, m->site, false);
        json_decref(d);
    }
    json_decref(deps);
}

/* Whether the moves of decision d have ended: true, with in note how
 * (*ok: all completed). */
static bool moves_ended(struct core *c, const json_t *d, bool *ok, char *note, size_t len)
{
    const json_t *x;
    size_t i, done = 0, n = 0;

    *ok = true;
    note[0] = '\0';
    json_array_foreach(json_object_get(d, "chosen"), i, x)
    {
        if (doc_str(x, "move")) { /* the branch's manager's */
            const char *state = fed_mmove_state(c->fed, doc_str(x, "move"));

            n++;
            if (strcmp(state, "processing")) {
                done++;
                *ok = *ok && strcmp(state, "completed") == 0;
                snprintf(note + strlen(note), len - strlen(note), "%smove %s of manager %s %s",
                         i ? "; " : "", doc_str(x, "move"), jv_str(x, "manager", "?"), state);
            }
            continue;
        }
        json_t *op = core_load(c, STORE_OP, jv_str(x, "operation", ""));

        if (!op)
            continue; /* not started */
        n++;
        if (doc_str(op, "finished")) {
            done++;
            *ok = *ok && strcmp(jv_str(op, "state", ""), "completed") == 0;
            snprintf(note + strlen(note), len - strlen(note), "%smove %s of %s %s", i ? "; " : "",
                     doc_str(op, "id"), jv_str(x, "deployment", "?"), jv_str(op, "state", "?"));
        }
        json_decref(op);
    }
    return done == n;
}

/* A pending decision ends: a grow once the branch reports the capacity it
 * asked for, moves once their operations ended; whatever it is, failed
 * after PENDING_MAX_MS. */
static void follow(struct core *c, struct pool_site *ps)
{
    const json_t *cap = json_object_get(ps->load, "capacity");
    json_t *d = core_load(c, STORE_DECISION, ps->pending);
    const char *action = jv_str(d, "action", "");
    int64_t at = 0;
    char note[1024];
    bool ok;

    if (!d || doc_str(d, "finished")) {
        ps->pending[0] = '\0';
    } else if (strcmp(action, "grow") == 0 && jv_num(cap, "vcpu", 0) >= ps->grow_vcpu - 1e-9 &&
               jv_int(cap, "memory_mb", 0) >= ps->grow_mb &&
               jv_int(cap, "disk_mb", 0) >= ps->grow_disk_mb) {
        snprintf(note, sizeof(note),
                 "the branch reports capacity %g vCPU, %lld MB memory, %lld MB disk",
                 jv_num(cap, "vcpu", 0), jv_int(cap, "memory_mb", 0), jv_int(cap, "disk_mb", 0));
        fed_decision_end(c, ps->pending, "completed", note);
        ps->pending[0] = '\0';
    } else if (strcmp(action, "grow") && moves_ended(c, d, &ok, note, sizeof(note))) {
        fed_decision_end(c, ps->pending, ok ? "completed" : "failed", note);
        ps->pending[0] = '\0';
    } else if (time_parse(jv_str(d, "created", ""), &at) || wall_ms() - at > PENDING_MAX_MS) {
        fed_decision_end(c, ps->pending, "failed", "not done within 300 s");
        ps->pending[0] = '\0';
    }
    json_decref(d);
}

/* Whether the branch of m has room for the allocation of dep's clone
 * there: the instances it runs now (a service that moved with its burst
 * has more than the branch held), against its capacity less what it
 * holds (its manager's last report). A site that reported no capacity
 * has. */
static bool branch_fits(struct core *c, const struct fed_mgr *m, const json_t *dep, char *why,
                        size_t len)
{
    json_t *vnfd = fed_descriptor(c, dep);
    double free_v, free_m;
    struct pool_cand x;
    bool fits;

    need_of(dep, vnfd, &x);
    json_decref(vnfd);
    fits = !fed_branch_room(m, &free_v, &free_m) ||
           (x.need_vcpu <= free_v + 1e-9 && x.need_memory_mb <= free_m);
    if (!fits)
        snprintf(why, len,
                 "no room: its instances would take %.2f vCPU, %.0f MB there; the branch has "
                 "%.2f vCPU, %.0f MB free",
                 x.need_vcpu, x.need_memory_mb, free_v, free_m);
    return fits;
}

/* Why the moved manager m cannot come back now (a move of it, an
 * operation at its site, its agent away), or "" (in why). */
static void manager_busy(struct core *c, const struct fed_mgr *m, char *why, size_t len)
{
    struct store_where w = {"site", m->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    const char *refused = fed_mmove_refusal(c->fed, m, true);
    json_t *deps = NULL;
    char op[BUSY_MAX];

    why[0] = '\0';
    if (refused) {
        snprintf(why, len, "busy: %s", refused);
        return;
    }
    if (!json_is_true(json_object_get(m->site_state, "vim_connected"))) {
        snprintf(why, len, "busy: its branch's VIM agent is not connected");
        return;
    }
    if (store_list(c->st, STORE_DEPLOYMENT, &o, &deps)) {
        snprintf(why, len, "busy: cannot list its site's deployments");
        return;
    }
    if (op_at_site(deps, op, sizeof(op)))
        snprintf(why, len, "busy: %s", op);
    json_decref(deps);
}

/* Of the moves the pool made away from the site, which may come back
 * now: a prefer-branch deployment now at the site it went to, with no
 * operation, whose use (as measured before it left) keeps the branch
 * under overload and whose instances fit the branch's room; the branch's
 * own manager, moved by the pool and still in the cloud, not busy, whose
 * use keeps the branch under overload. The first such one is chosen (the
 * oldest move); the others get why not; those back at the branch or gone
 * are forgotten (*changed). */
static json_t *returning(struct core *c, const struct fed_mgr *m, const json_t *pol, json_t *moved,
                         struct pool_site *ps, json_t *rejected, bool *changed)
{
    const char *site = m->site;
    struct pool_use u;
    json_t *pick = NULL, *x;
    size_t i;

    use_of(ps->load, &u);
    *changed = false;
    for (i = 0; i < json_array_size(moved);) {
        const char *mgr = doc_str(x = json_array_get(moved, i), "manager");
        const char *key = mgr ? "manager" : "deployment";
        json_t *dep = mgr ? NULL : core_load(c, STORE_DEPLOYMENT, jv_str(x, key, ""));
        struct pool_use back = u;
        char why[256] = "";

        if (mgr ? strcmp(mgr, m->id) || !fed_mmove_moved(c->fed, m)
                : !dep || strcmp(jv_str(dep, "site", ""), site) == 0) {
            json_array_remove(moved, i);
            *changed = true;
            json_decref(dep);
            continue;
        }
        back.vcpu += jv_num(x, "vcpu", 0);
        back.memory_mb += jv_num(x, "memory_mb", 0);
        if (mgr)
            manager_busy(c, m, why, sizeof(why));
        else if (strcmp(jv_str(x, "placement", ""), "prefer-branch"))
            snprintf(why, sizeof(why), "placement %s: it stays where it is",
                     jv_str(x, "placement", "?"));
        else if (doc_str(dep, "operation"))
            snprintf(why, sizeof(why), "busy: operation %s runs", doc_str(dep, "operation"));
        if (*why)
            ; /* why says it */
        else if (pool_value(&back) >= jv_num(pol, "overload", 1))
            snprintf(why, sizeof(why),
                     "too big: back, it would put the branch at %.3f, not under %g",
                     pool_value(&back), jv_num(pol, "overload", 1));
        else if (dep && !branch_fits(c, m, dep, why, sizeof(why)))
            ; /* why says it */
        else if (pick)
            snprintf(why, sizeof(why), "not now: one comes back at a time");
        if (*why)
            json_array_append_new(
                rejected, json_pack("{s:O, s:s}", key, json_object_get(x, key), "why", why));
        else
            pick = json_pack("{s:O, s:O, s:s, s:O, s:O, s:s, s:f}", key, json_object_get(x, key),
                             "placement", json_object_get(x, "placement"), "to", site, "vcpu",
                             json_object_get(x, "vcpu"), "memory_mb",
                             json_object_get(x, "memory_mb"), "why",
                             mgr ? "the branch's manager, moved by the pool, and the branch has "
                                   "room for its use"
                                 : "prefer-branch, moved by the pool, and it fits",
                             "after", pool_value(&back));
        json_decref(dep);
        i++;
    }
    return pick;
}

/* What GET shows of the last move-back judgement (taken). */
static void staying(struct fed *f, struct pool_site *ps, json_t *rejected)
{
    pthread_mutex_lock(&f->mu);
    json_decref(ps->staying);
    ps->staying = rejected;
    pthread_mutex_unlock(&f->mu);
}

/* The branch has been quiet for the policy's move_back window: one
 * prefer-branch deployment the pool moved away comes back. */
static void move_back(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                      const char *why)
{
    json_t *site = core_load(c, STORE_SITE, m->site), *moved, *rejected = json_array(), *pick, *d;
    char reason[1024];
    bool changed;

    moved = json_object_get(site, "pool_moved");
    if (json_array_size(moved) == 0)
        staying(c->fed, ps, NULL);
    if (json_array_size(moved) == 0 || held(c, m, ps, pol, "branch_underload", "move_back") ||
        fed_cooling(ps->last_ms, pol)) {
        json_decref(rejected);
        json_decref(site);
        return;
    }
    pick = returning(c, m, pol, moved, ps, rejected, &changed);
    if (changed)
        store_put(c->st, STORE_SITE, site);
    staying(c->fed, ps, json_deep_copy(rejected));
    if (pick) {
        snprintf(reason, sizeof(reason), "%s: %s%s comes back to site %s, which puts it at %.3f",
                 why, doc_str(pick, "manager") ? "manager " : "",
                 doc_str(pick, "manager") ?: jv_str(pick, "deployment", "?"), m->site,
                 jv_num(pick, "after", 0));
        d = decide(c, m, ps, pol, "branch_underload", "moving", "move_back", reason, NULL);
        json_object_set_new(d, "chosen", json_pack("[O]", pick));
        json_object_set_new(d, "rejected", json_incref(rejected));
        taken(ps, d);
        moves(c, ps, pol, d, m->site, true);
        json_decref(d);
    }
    json_decref(pick);
    json_decref(rejected);
    json_decref(site);
}

/* The other branches' values, for thresholds relative to peers. */
static double *peers_of(struct fed *f, const char *site, size_t *n)
{
    double *v = xcalloc(f->pool_sites.size + 1, sizeof(*v));
    struct hmap_entry *e;
    size_t i;

    *n = 0;
    for (e = hmap_first(&f->pool_sites, &i); e; e = hmap_next(&f->pool_sites, e, &i)) {
        const struct pool_site *x = e->value;

        if (strcmp(e->key, site) && x->load)
            v[(*n)++] = jv_num(x->load, "value", 0);
    }
    return v;
}

static void judge(struct core *c, struct fed_mgr *m, struct pool_site *ps, const json_t *pol,
                  double value)
{
    const json_t *back = json_object_get(pol, "move_back");
    double over_at, under_at = jv_num(pol, "underload", 0), *peers;
    char why[512], how[160];
    size_t n;
    bool over, under = under_at > 0 && value < under_at;

    peers = peers_of(c->fed, m->site, &n);
    over = fed_overloaded(pol, value, peers, n, "the branches'", &over_at, how, sizeof(how));
    free(peers);
    fed_streak_step(&ps->st, over, under);
    if (!over && !under) {
        ps->held_by[0] = '\0';
        ps->refused = false;
    }
    if (*ps->pending) {
        follow(c, ps);
        return;
    }
    if (over && fed_lasted(pol, ps->st.over_n, ps->st.over_since_ms)) {
        snprintf(why, sizeof(why), "load %.3f of branch %s above overload %g%s for %u reports",
                 value, m->site, over_at, how, ps->st.over_n);
        overload(c, m, ps, pol, why);
    } else if (under && back && ps->st.under_since_ms &&
               wall_ms() - ps->st.under_since_ms >= jv_int(back, "after_s", 1) * 1000) {
        snprintf(why, sizeof(why), "load %.3f of branch %s below underload %g for %lld s", value,
                 m->site, under_at, (long long)(wall_ms() - ps->st.under_since_ms) / 1000);
        move_back(c, m, ps, pol, why);
    }
}

/* Adds the shares and the value to the site's load: the value is the largest
 * of its CPU, memory and disk shares. */
static double weigh(json_t *load)
{
    struct pool_use u;
    double value;

    use_of(load, &u);
    value = pool_value(&u);
    json_object_set_new(load, "cpu", json_real(u.cap_vcpu > 0 ? u.vcpu / u.cap_vcpu : 0));
    json_object_set_new(load, "memory",
                        json_real(u.cap_memory_mb > 0 ? u.memory_mb / u.cap_memory_mb : 0));
    json_object_set_new(load, "disk", json_real(u.cap_disk_mb > 0 ? u.disk_mb / u.cap_disk_mb : 0));
    json_object_set_new(load, "value", json_real(value));
    return value;
}

/* CPU (cores or vCPU), memory and disk (MB). */
struct res {
    double vcpu, memory_mb, disk_mb;
};

/* Adds the figures of b to *r. */
static void add_res(struct res *r, const json_t *b)
{
    r->vcpu += jv_num(b, "vcpu", 0);
    r->memory_mb += jv_num(b, "memory_mb", 0);
    r->disk_mb += jv_num(b, "disk_mb", 0);
}

static json_t *res_json(const struct res *r)
{
    return json_pack("{s:f, s:f, s:f}", "vcpu", r->vcpu, "memory_mb", r->memory_mb, "disk_mb",
                     r->disk_mb);
}

static json_t *res_sum_json(const struct res *a, const struct res *b)
{
    struct res r = {a->vcpu + b->vcpu, a->memory_mb + b->memory_mb, a->disk_mb + b->disk_mb};

    return res_json(&r);
}

/* The site's load from the last reports of its active members (loop
 * thread): capacity and WAN as its first manager measured them, the VIs
 * of every member (what they use and hold, per deployment), and the
 * managers started at the site: the CPU and memory each uses (its
 * cgroup's) and the limits they hold. The first manager is the site's
 * own part, outside the capacity (as a node's system-reserved share is
 * outside its allocatable one): its use is not counted, unless the policy
 * says count_manager. */
static json_t *site_sum(struct fed *f, const struct fed_mgr *first, bool count_manager)
{
    json_t *out = json_deep_copy(first->site_load), *deps = json_object_get(out, "deployments");
    json_t *members = json_pack("[s]", first->id);
    struct res vu = {0}, va = {0}, mu = {0}, ma = {0}; /* the VIs', the managers': used, held */

    for (const struct fed_mgr *m = fed_site_mgrs(f, first->site); m; m = m->site_next) {
        const json_t *sl = m->site_load;

        if (!sl || (m != first && strcmp(m->state, "active")))
            continue;
        add_res(&vu, json_object_get(sl, "used"));
        add_res(&va, json_object_get(sl, "allocated"));
        add_res(&ma, json_object_get(sl, "reserved"));
        if (m == first)
            continue;
        json_array_append_new(members, json_string(m->id));
        json_object_update_missing(deps, json_object_get(sl, "deployments"));
        mu.vcpu += jv_num(json_object_get(m->load, "parts"), "cpu", 0);
        mu.memory_mb += jv_num(json_object_get(m->load, "parts"), "memory_mb", 0);
    }
    if (count_manager) /* the first manager's own use, inside the capacity */
        add_res(&mu, json_object_get(first->site_load, "manager"));
    json_object_set_new(out, "used", res_sum_json(&vu, &mu));
    json_object_set_new(out, "allocated", res_sum_json(&va, &ma));
    json_object_set_new(out, "parts",
                        json_pack("{s:{s:o, s:o}, s:{s:o, s:o}}", "vis", "used", res_json(&vu),
                                  "allocated", res_json(&va), "managers", "used", res_json(&mu),
                                  "allocated", res_json(&ma)));
    if (json_is_object(json_object_get(first->site_load, "manager")))
        json_object_set_new(out, "manager",
                            json_pack("{s:O, s:b}", "used",
                                      json_object_get(first->site_load, "manager"), "counted",
                                      count_manager));
    json_object_set_new(out, "members", members);
    json_object_del(out, "reserved");
    return out;
}

void pool_report(struct core *c, struct fed_mgr *m, const json_t *report)
{
    struct fed *f = c->fed;
    const json_t *raw = json_object_get(report, "site_load"), *pol;
    struct pool_site *ps;
    json_t *load;
    double value;

    if (!json_is_object(raw) || !json_is_object(json_object_get(raw, "deployments")))
        return;
    pthread_mutex_lock(&f->mu);
    json_decref(m->site_load);
    m->site_load = json_incref((json_t *)raw);
    pthread_mutex_unlock(&f->mu);
    if (*m->parent) /* judged at the first manager's report, with the others' last ones */
        return;
    pol = fed_site_policy(c, m->site, FED_POLICY_POOL);
    load = site_sum(f, m, json_is_true(json_object_get(pol, "count_manager")));
    value = weigh(load);
    pthread_mutex_lock(&f->mu);
    ps = site_of(f, m->site);
    json_decref(ps->load);
    ps->load = load;
    pthread_mutex_unlock(&f->mu);
    if (pol && strcmp(m->state, "active") == 0)
        judge(c, m, ps, pol, value);
}

/* A site_capacity the branch refused fails its decision. */
void pool_result(struct core *c, struct fed_mgr *m, const json_t *ins, const json_t *result)
{
    struct pool_site *ps = hmap_get(&c->fed->pool_sites, m->site);
    const char *dec = jv_str(json_object_get(ins, "body"), "decision", "");
    char note[512];

    if (strcmp(jv_str(ins, "type", ""), "site_capacity") || jv_int(result, "status", 0) < 400)
        return;
    snprintf(note, sizeof(note), "manager %s did not change the capacity: %s", m->id,
             jv_str(result, "message", "?"));
    fed_decision_end(c, dec, "failed", note);
    if (ps && strcmp(ps->pending, dec) == 0)
        ps->pending[0] = '\0';
}

void pool_view(struct fed *f, const struct fed_mgr *m, json_t *view)
{
    struct pool_site *ps = *m->parent ? NULL : hmap_get(&f->pool_sites, m->site);

    if (ps && ps->load)
        json_object_set_new(view, "site_load", json_deep_copy(ps->load));
}

void pool_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->pool_sites, &i); e; e = hmap_next(&f->pool_sites, e, &i)) {
        struct pool_site *ps = e->value;

        json_decref(ps->load);
        json_decref(ps->staying);
        free(ps);
    }
    hmap_done(&f->pool_sites);
}
