/* Elastic branch managers, the cloud's side (docs/FEDERATION.md "Elastic
 * managers"; SPEC F20, F23-F25; seed para 91-98, 104-107, 127-129, FIG. 4A).
 *
 * A branch site may have a manager policy (PUT /v0/sites/{id}/managers,
 * kept in the site's record): how many managers (active, min, max), the
 * overload and underload thresholds of a manager's load, for how long
 * (for_reports or for_s), a cooldown, the weights of the load's parts and
 * what a lifecycle operation running on a manager does to a decision
 * (hold, subtract, ignore). Every report of a manager is weighed with the
 * policy's weights and judged here. A manager overloaded long enough makes
 * a decision to scale out: the cloud mints a join token for each new
 * manager and instructs the overloaded one (spawn_manager, over the
 * channel) to start them at its branch (fed/spawn.c); the decision is
 * completed when they have joined. A manager that its parent started,
 * underloaded long enough and running no deployment, is stopped through
 * its parent (stop_manager) and removed. Every decision is a decision
 * record (GET /v0/decisions, rule "managers") with its inputs, the
 * policy's thresholds and its reason; so is every decision not taken:
 * held by a lifecycle operation (with the operation's id), or refused (at
 * the policy's max or min, or no room at the branch, with the
 * alternatives). */
#include "fed/fed_internal.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <string.h>

#define RULE             "managers"
#define CHILD_TOKEN_TTL  600    /* s: the join token of a manager being started */
#define PENDING_MAX_MS   180000 /* a new manager that has not joined by then failed */
#define COUNT_MAX        64
#define DEFAULT_MAX      4
#define DEFAULT_COOLDOWN 30
#define CHILD_VCPU       1.0
#define CHILD_MEMORY_MB  512
#define HANDOVER_TARGET  0.9    /* of overload: what the overloaded manager keeps at most */
#define HANDOVER_MAX_MS  600000 /* a decision whose handovers have not ended by then failed */

/* ---- the policy ---- */

#define NUM(n, lo, hi)                                     \
    {                                                      \
        .name = n, .type = JV_NUMBER, .min = lo, .max = hi \
    }
#define INT(n, lo, hi)                                  \
    {                                                   \
        .name = n, .type = JV_INT, .min = lo, .max = hi \
    }

static const struct jv_field weight_fields[] = {
    NUM("vnfs", 0, 1e6),         NUM("vis", 0, 1e6),
    NUM("probes_per_s", 0, 1e6), NUM("ops_running", 0, 1e6),
    NUM("ops_queued", 0, 1e6),   NUM("cpu", 0, 1e6),
    NUM("memory_mb", 0, 1e6),    {.name = NULL},
};
static const struct jv_field child_fields[] = {
    NUM("vcpu", 0.05, 1024),
    INT("memory_mb", 16, 1e7),
    {.name = NULL},
};
/* What a scale in does with the manager it drained: stops it and releases
 * its VI, or keeps the VI with a standby of the site in it. */
static const char *const scale_ins[] = {"stop", "standby", NULL};
static const struct jv_field policy_fields[] = {
    INT("active", 0, COUNT_MAX),
    INT("standby", 0, COUNT_MAX),
    INT("min", 0, COUNT_MAX),
    INT("max", 0, COUNT_MAX),
    INT("standby_heartbeat_ms", 50, 60000),
    FED_THRESHOLD_FIELDS,
    INT("anticipate_s", 0, 86400), /* anticipated() */
    {.name = "weights", .type = JV_OBJECT, .fields = weight_fields},
    {.name = "manager", .type = JV_OBJECT, .fields = child_fields},
    {.name = "scale_in", .type = JV_STRING, .choices = scale_ins},
    {.name = NULL},
};
static const struct jv_field policy_schema = {.type = JV_OBJECT, .fields = policy_fields};

/* The policy with its defaults filled in (new reference). */
static json_t *policy_full(const json_t *body)
{
    json_t *p = json_deep_copy(body);
    long long active = jv_int(p, "active", 1);

    if (!json_object_get(p, "active"))
        json_object_set_new(p, "active", json_integer(1));
    if (!json_object_get(p, "standby"))
        json_object_set_new(p, "standby", json_integer(0));
    if (!json_object_get(p, "min"))
        json_object_set_new(p, "min", json_integer(1));
    if (!json_object_get(p, "scale_in"))
        json_object_set_new(p, "scale_in", json_string("stop"));
    if (!json_object_get(p, "max"))
        json_object_set_new(p, "max", json_integer(active > DEFAULT_MAX ? active : DEFAULT_MAX));
    fed_thresholds_defaults(p, DEFAULT_COOLDOWN);
    if (!json_object_get(p, "manager"))
        json_object_set_new(p, "manager", json_object());
    if (!json_object_get(json_object_get(p, "manager"), "vcpu"))
        json_object_set_new(json_object_get(p, "manager"), "vcpu", json_real(CHILD_VCPU));
    if (!json_object_get(json_object_get(p, "manager"), "memory_mb"))
        json_object_set_new(json_object_get(p, "manager"), "memory_mb",
                            json_integer(CHILD_MEMORY_MB));
    return p;
}

/* ---- standbys (docs/FEDERATION.md "Standby managers") ---- */

#define STANDBY_MAX       16
#define STANDBY_RESEND_MS 10000 /* an instruction not reflected in reports is sent again */

/* A standby becomes a manager when it takes over: it counts against max. */
static int standby_check(const json_t *p, struct jv_error *e)
{
    long long m = jv_int(p, "standby", 0), n = jv_int(p, "active", 0), max = jv_int(p, "max", 0);

    if (m > STANDBY_MAX) {
        jv_fail(e, "invalid-value", "standby", "at most %d standbys per site", STANDBY_MAX);
        return -1;
    }
    if (m > 0 && n + m > max) {
        jv_fail(e, "invalid-value", "standby",
                "active (%lld) and standby (%lld) managers are above max (%lld): a standby "
                "becomes a manager when it takes over, raise max or lower standby",
                n, m, max);
        return -1;
    }
    return 0;
}

/* The standbys a manager's report shows running (or dead, waiting out
 * their crash-loop backoff: "restart_in_ms"), and their heartbeat; *kept:
 * how many of those are managers kept as standbys (not one of M). */
static unsigned standbys_reported(const json_t *children, long long *hb, unsigned *kept)
{
    const json_t *ch;
    unsigned n = 0;
    size_t i;

    *kept = 0;
    json_array_foreach(children, i, ch)
    {
        if ((strcmp(jv_str(ch, "state", ""), "standby") || jv_int(ch, "pid", 0) <= 0) &&
            !json_object_get(ch, "restart_in_ms"))
            continue; /* not running */
        if (json_is_true(json_object_get(ch, "kept"))) {
            ++*kept;
            continue;
        }
        n++;
        *hb = jv_int(ch, "heartbeat_ms", 0);
    }
    return n;
}

/* Each site keeps the policy's M standbys: its first manager (the one no
 * other started, which covers the managers it started by restarting them)
 * is told how many to keep; it makes them itself, from its store, also
 * when the cloud is unreachable. */
static void standbys_keep(struct core *c, struct fed_mgr *m, const json_t *pol,
                          const json_t *children)
{
    long long want = jv_int(pol, "standby", 0), want_hb = jv_int(pol, "standby_heartbeat_ms", 1000);
    long long hb = want_hb;
    unsigned kept, have = standbys_reported(children, &hb, &kept);
    const json_t *mg = json_object_get(pol, "manager");
    int64_t now = (int64_t)mono_ms();
    /* managers kept as standbys by a scale in go when the policy no longer keeps them */
    bool release = kept && strcmp(jv_str(pol, "scale_in", "stop"), "standby");
    json_t *ins;

    if (*m->parent || strcmp(m->state, "active"))
        return;
    if ((long long)have == want && (!have || hb == want_hb) && !release)
        return;
    if (m->el.standby_sent_ms && now - m->el.standby_sent_ms < STANDBY_RESEND_MS)
        return;
    m->el.standby_sent_ms = now;
    ins = fed_mgr_instruct(c, m, "standbys",
                           json_pack("{s:I, s:O, s:O, s:I, s:b}", "count", want, "vcpu",
                                     json_object_get(mg, "vcpu"), "memory_mb",
                                     json_object_get(mg, "memory_mb"), "heartbeat_ms", want_hb,
                                     "release_kept", release));
    core_event(
        c, "info", "policy", "standbys",
        json_pack("{s:s, s:s, s:I}", "site", m->site, "manager", m->id, "count", want),
        "site %s: manager %s told to keep %lld standby(s) (it reports %u, heartbeat %lld ms)%s",
        m->site, m->id, want, have, want_hb,
        release ? ", and to stop the managers it kept as standbys (scale_in: stop)" : "");
    json_decref(ins);
}

/* The branch refused to keep the standbys (no room): a decision says so. */
static void standbys_refused(struct core *c, struct fed_mgr *m, const json_t *body,
                             const json_t *result)
{
    char id[32];
    json_t *d;

    id_random(id, "dc-", 12);
    d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:O?}, s:s}", "id", id, "rule", RULE,
                  "stage", "manager_standby", "site", m->site, "manager", m->id, "state", "failed",
                  "action", "standby", "inputs", "count", json_object_get(body, "count"), "reason",
                  jv_str(result, "message", "?"));
    doc_touch(d, "created");
    doc_touch(d, "updated");
    doc_touch(d, "finished");
    if (store_put(c->st, STORE_DECISION, d))
        log_error("fed: cannot write decision %s: %s", id, store_errmsg(c->st));
    core_event(c, "warn", "policy", "decision",
               json_pack("{s:s, s:s, s:s, s:s}", "site", m->site, "manager", m->id, "decision", id,
                         "result", "failed"),
               "decision %s: site %s keeps no standby: %s", id, m->site,
               jv_str(result, "message", "?"));
    json_decref(d);
}

int elastic_policy_check(const json_t *body, struct jv_error *e)
{
    json_t *p;
    int r = 0;

    if (jv_check(body, &policy_schema, e))
        return -1;
    p = policy_full(body);
    if (fed_thresholds_check(body, p, e)) {
        r = -1;
    } else if (jv_int(p, "min", 0) < 1) {
        jv_fail(e, "invalid-value", "min",
                "a site needs at least one manager: min must be 1 or more");
        r = -1;
    } else if (jv_int(p, "min", 0) > jv_int(p, "max", 0)) {
        jv_fail(e, "invalid-value", "min", "min (%lld) is above max (%lld)", jv_int(p, "min", 0),
                jv_int(p, "max", 0));
        r = -1;
    } else if (jv_int(p, "active", 0) < jv_int(p, "min", 0) ||
               jv_int(p, "active", 0) > jv_int(p, "max", 0)) {
        jv_fail(e, "invalid-value", "active", "active (%lld) must be from min (%lld) to max (%lld)",
                jv_int(p, "active", 0), jv_int(p, "min", 0), jv_int(p, "max", 0));
        r = -1;
    } else if (standby_check(p, e)) {
        r = -1;
    }
    json_decref(p);
    return r;
}

static bool branch_site(struct core *c, struct result *res, const char *id, json_t **site)
{
    if (!c->fed || !c->fed->cloud) {
        result_fail(res, 409, "not-a-cloud", NULL, NULL,
                    "this manager is not a cloud VNFM: start it with --role cloud");
        return false;
    }
    if (!*site) {
        result_not_found(res, "site", id);
        return false;
    }
    if (strcmp(jv_str(*site, "kind", ""), "branch")) {
        result_fail(res, 409, "conflict", "object", id,
                    "site '%s' is a site of this manager, not a branch: it has no managers to "
                    "scale",
                    id);
        return false;
    }
    return true;
}

/* What GET and PUT answer: the policy (or null), the weights it weighs
 * with, and the site's managers with their load (f->mu taken here). */
static json_t *policy_view(struct fed *f, const char *site, const json_t *pol)
{
    struct fed_weights w;
    json_t *mgrs = json_array();
    struct hmap_entry *e;
    size_t i;

    fed_weights_of(json_object_get(pol, "weights"), &f->weights, &w);
    pthread_mutex_lock(&f->mu);
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        struct fed_mgr *m = e->value;

        if (strcmp(m->site, site))
            continue;
        json_array_append_new(mgrs, json_pack("{s:s, s:s, s:s?, s:O?, s:s?}", "id", m->id, "state",
                                              m->state, "parent", *m->parent ? m->parent : NULL,
                                              "load", json_object_get(m->load, "value"), "pending",
                                              *m->el.pending ? m->el.pending : NULL));
    }
    pthread_mutex_unlock(&f->mu);
    return json_pack("{s:s, s:O?, s:o, s:o}", "site", site, "policy", pol, "weights",
                     fed_weights_json(&w), "managers", mgrs);
}

void elastic_site_get(struct rctx *r)
{
    json_t *site = NULL;

    store_get(r->st, STORE_SITE, r->args[0], &site);
    if (branch_site(r->c, &r->res, r->args[0], &site))
        result_ok(&r->res, 200,
                  policy_view(r->c->fed, r->args[0], json_object_get(site, "manager_policy")));
    json_decref(site);
}

void elastic_site_put(struct core *c, struct txn *t)
{
    json_t *site = core_load(c, STORE_SITE, t->args[0]), *pol;

    if (!branch_site(c, &t->res, t->args[0], &site)) {
        json_decref(site);
        return;
    }
    pol = policy_full(t->body);
    if (mgr_policy_recheck(c, t->args[0], pol, &t->res)) { /* its managers' overrides */
        json_decref(pol);
        json_decref(site);
        return;
    }
    json_object_set(site, "manager_policy", pol);
    doc_touch(site, "updated");
    if (store_put(c->st, STORE_SITE, site)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the site: %s",
                    store_errmsg(c->st));
    } else {
        fed_site_policy_set(c, t->args[0], FED_POLICY_MANAGERS, pol);
        core_audit(c, &t->who, "site", t->args[0], "manager policy set");
        result_ok(&t->res, 200, policy_view(c->fed, t->args[0], pol));
    }
    json_decref(pol);
    json_decref(site);
}

/* ---- decisions ---- */

static bool lifecycle_is(const json_t *pol, const char *what)
{
    return strcmp(jv_str(pol, "lifecycle", "hold"), what) == 0;
}

/* A decision record about manager m, written now; its inputs are m's load. */
static json_t *decide(struct core *c, struct fed_mgr *m, const json_t *pol, const char *stage,
                      const char *state, const char *reason)
{
    char id[32], obj[64];
    json_t *d, *th = json_deep_copy(pol);
    const struct el_mgr *el = &m->el;
    bool over = strcmp(stage, "manager_overload") == 0;
    int64_t since = over ? el->st.over_since_ms : el->st.under_since_ms;

    json_object_del(th, "weights");
    json_object_del(th, "manager");
    id_random(id, "dc-", 12);
    d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:O?, s:O?, s:O?, s:O?, s:I, s:I}, s:o, "
                  "s:s}",
                  "id", id, "rule", RULE, "stage", stage, "site", m->site, "manager", m->id,
                  "state", state, "action", over ? "scale_out" : "scale_in", "inputs", "value",
                  json_object_get(m->load, "value"), "parts", json_object_get(m->load, "parts"),
                  "running", json_object_get(m->load, "running"), "scheduled",
                  json_object_get(m->load, "scheduled"), "reports",
                  (json_int_t)(over ? el->st.over_n : el->st.under_n), "for_ms",
                  (json_int_t)(since ? wall_ms() - since : 0), "thresholds", th, "reason", reason);
    doc_touch(d, "created");
    doc_touch(d, "updated");
    if (strcmp(state, "held") == 0 || strcmp(state, "refused") == 0)
        doc_touch(d, "finished"); /* records of decisions not taken */
    if (store_put(c->st, STORE_DECISION, d)) {
        log_error("fed: cannot write decision %s: %s", id, store_errmsg(c->st));
    } else {
        fed_cscale_decided(c->fed);
        if (strcmp(state, "spawning") && strcmp(state, "stopping") && strcmp(state, "draining"))
            fed_decision_tell(c, pol, d); /* those are told when their instructions are in */
    }
    snprintf(obj, sizeof(obj), "manager/%s", m->id);
    core_event(c, strcmp(state, "refused") ? "info" : "warn", "policy", "decision",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "object", obj, "site", m->site,
                         "manager", m->id, "decision", id, "rule", RULE, "result", state),
               "decision %s on manager %s of site %s: %s", id, m->id, m->site, reason);
    return d;
}

/* The site's managers: all that are not removed (*all; an unreachable one
 * may come back, so it counts against max), and those active (returned,
 * with the sum of their values in *total). */
static unsigned site_active(struct fed *f, const char *site, unsigned *all, double *total)
{
    struct hmap_entry *e;
    unsigned n = 0;
    size_t i;

    *total = 0;
    *all = 0;
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        struct fed_mgr *x = e->value;

        if (strcmp(x->site, site) || strcmp(x->state, "removed") == 0)
            continue;
        (*all)++;
        if (strcmp(x->state, "active"))
            continue;
        n++;
        *total += jv_num(x->load, "value", 0);
    }
    return n;
}

static unsigned site_count(struct fed *f, const char *site)
{
    unsigned all;
    double total;

    site_active(f, site, &all, &total);
    return all;
}

/* When the site's last decision was taken (wall ms, 0: none); at its
 * first judgement since the start, from the store (a restart does not cut
 * its cooldown short). */
static int64_t cooled_at(struct fed *f, const char *site)
{
    int64_t *last = hmap_get(&f->el_sites, site);

    if (!last) {
        last = xmalloc(sizeof(*last));
        *last = fed_decided_at(f->c, RULE, site);
        hmap_put(&f->el_sites, site, last);
    }
    return *last;
}

static bool cooling(struct fed *f, const char *site, const json_t *pol)
{
    return fed_cooling(cooled_at(f, site), pol);
}

static void cooled_from_now(struct fed *f, const char *site)
{
    int64_t *last = hmap_get(&f->el_sites, site);

    if (!last) {
        last = xmalloc(sizeof(*last));
        hmap_put(&f->el_sites, site, last);
    }
    *last = wall_ms();
}

/* A lifecycle operation running on m holds the decision (policy "hold"):
 * recorded once per operation. True when held. */
static bool held(struct core *c, struct fed_mgr *m, const json_t *pol, const char *stage)
{
    char op[32], reason[320];
    json_t *d;

    if (!fed_held(pol, m->load, m->id, op, sizeof(op), reason, sizeof(reason)))
        return false;
    if (strcmp(m->el.held_by, op)) { /* once per operation */
        d = decide(c, m, pol, stage, "held", reason);
        doc_set_str(d, "held_by", op);
        store_put(c->st, STORE_DECISION, d);
        json_decref(d);
        snprintf(m->el.held_by, sizeof(m->el.held_by), "%s", op);
    }
    return true;
}

static void refuse_once(struct core *c, struct fed_mgr *m, const json_t *pol, const char *stage,
                        const char *reason)
{
    if (m->el.refused)
        return;
    json_decref(decide(c, m, pol, stage, "refused", reason));
    m->el.refused = true;
}

/* A join token for a manager m starts (minted like POST /v0/join-tokens). */
static int mint_token(struct core *c, struct fed_mgr *m, const char *decision, char *token)
{
    char hash[TOKEN_HASH_LEN + 1], id[24], exp[TIME_STR_MAX];
    json_t *doc;
    int r;

    fed_token_generate(token);
    token_hash(token, hash);
    id_random(id, "jt-", 10);
    time_fmt(wall_ms() + CHILD_TOKEN_TTL * 1000, exp);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "site", m->site, "expires",
                    exp, "parent", m->id, "decision", decision, "_hash", hash, "description",
                    "a manager started by decision");
    doc_touch(doc, "created");
    r = store_put(c->st, STORE_JOIN_TOKEN, doc);
    json_decref(doc);
    return r;
}

/* A decision taken, with its instructions: recorded and told; m waits for
 * it, its streaks start again, and the site cools down. */
static void taken(struct core *c, struct fed_mgr *m, const json_t *pol, json_t *d)
{
    store_put(c->st, STORE_DECISION, d);
    fed_decision_tell(c, pol, d);
    snprintf(m->el.pending, sizeof(m->el.pending), "%s", doc_str(d, "id"));
    fed_streak_reset(&m->el.st);
    cooled_from_now(c->fed, m->site);
}

/* want: the managers the site should have at least (the policy's
 * active), 0 when the load alone decides. */
static void scale_out(struct core *c, struct fed_mgr *m, const json_t *pol, const char *why,
                      unsigned want)
{
    struct fed *f = c->fed;
    double total, overload = jv_num(pol, "overload", 1);
    unsigned n, max = (unsigned)jv_int(pol, "max", 1), count;
    char reason[1024], token[64];
    json_t *d, *ids;

    if (held(c, m, pol, "manager_overload") || cooling(f, m->site, pol))
        return;
    site_active(f, m->site, &n, &total);
    if (n >= max) {
        snprintf(reason, sizeof(reason),
                 "not taken: %s, but site %s has %u managers, the policy's max; alternatives: "
                 "raise max (vnfmctl site managers %s --set max=%u), or move deployments to "
                 "the cloud",
                 why, m->site, n, m->site, n + 1);
        refuse_once(c, m, pol, "manager_overload", reason);
        return;
    }
    /* enough managers for each to carry less than overload (seed para 105) */
    count = want ? want : (unsigned)floor(total / overload) + 1;
    count = count > n ? count - n : 1;
    count = count > max - n ? max - n : count;
    snprintf(reason, sizeof(reason),
             "%s: %u new manager%s at site %s (%u now, max %u), started by %s", why, count,
             count == 1 ? "" : "s", m->site, n, max, m->id);
    d = decide(c, m, pol, "manager_overload", "spawning", reason);
    ids = json_array();
    for (unsigned i = 0; i < count; i++) {
        const json_t *mg = json_object_get(pol, "manager");
        json_t *ins;

        if (mint_token(c, m, doc_str(d, "id"), token))
            break;
        ins = fed_mgr_instruct(c, m, "spawn_manager",
                               json_pack("{s:s, s:s, s:O, s:O}", "token", token, "decision",
                                         doc_str(d, "id"), "vcpu", json_object_get(mg, "vcpu"),
                                         "memory_mb", json_object_get(mg, "memory_mb")));
        if (ins)
            json_array_append(ids, json_object_get(ins, "id"));
        json_decref(ins);
    }
    json_object_set_new(d, "instructions", ids);
    json_object_set_new(d, "count", json_integer(count));
    json_object_set_new(d, "managers", json_array());
    taken(c, m, pol, d);
    json_decref(d);
}

static void scale_in(struct core *c, struct fed_mgr *m, const json_t *pol, const char *why)
{
    struct fed *f = c->fed;
    struct fed_mgr *parent = hmap_get(&f->mgrs, m->parent);
    double total;
    unsigned all, n = site_active(f, m->site, &all, &total), min = (unsigned)jv_int(pol, "min", 1);
    bool keep = strcmp(jv_str(pol, "scale_in", "stop"), "standby") == 0;
    const char *kept = keep ? "; its VI kept for a standby of the site (scale_in: standby)" : "";
    char reason[1024];
    json_t *d, *ins;

    if (!*m->parent || n <= min)
        return; /* a site's first manager stays; so do min managers */
    if (held(c, m, pol, "manager_underload") || cooling(f, m->site, pol))
        return;
    if (!parent || strcmp(parent->state, "active")) {
        snprintf(reason, sizeof(reason),
                 "not taken: %s, but the manager that started it (%s) is not active", why,
                 m->parent);
        refuse_once(c, m, pol, "manager_underload", reason);
        return;
    }
    if (m->deps.size) { /* drained first: its deployments back to its parent, same pids */
        snprintf(reason, sizeof(reason),
                 "%s: its %u deployment%s handed back to its parent %s (same VNF processes), "
                 "then stopped by it (site %s: %u managers, min %u)%s",
                 why, (unsigned)m->deps.size, m->deps.size == 1 ? "" : "s", parent->id, m->site, n,
                 min, kept);
        d = decide(c, m, pol, "manager_underload", "draining", reason);
        if (keep) /* for the stop_manager after the drain (jobs_ended) */
            json_object_set_new(d, "keep", json_string("standby"));
        ins = fed_mgr_instruct(c, parent, "handover",
                               json_pack("{s:s, s:s, s:b, s:s}", "from", m->id, "to", parent->id,
                                         "all", 1, "decision", doc_str(d, "id")));
    } else {
        snprintf(reason, sizeof(reason),
                 "%s: stopped by its parent %s (site %s: %u managers, min %u)%s", why, parent->id,
                 m->site, n, min, kept);
        d = decide(c, m, pol, "manager_underload", "stopping", reason);
        ins = fed_mgr_instruct(c, parent, "stop_manager",
                               json_pack("{s:s, s:s, s:s?}", "manager", m->id, "decision",
                                         doc_str(d, "id"), "keep", keep ? "standby" : NULL));
    }
    if (ins)
        json_object_set_new(d, "instructions", json_pack("[O]", json_object_get(ins, "id")));
    taken(c, m, pol, d);
    json_decref(ins);
    json_decref(d);
}

/* What the branch reports of the managers it started: a failed one fails
 * its decision. */
static void children_failed(struct core *c, struct fed_mgr *m, const json_t *children)
{
    const json_t *ch;
    size_t i;

    json_array_foreach(children, i, ch)
    {
        const char *dec = jv_str(ch, "decision", "");
        char note[512];

        if (strcmp(jv_str(ch, "state", ""), "failed") || strcmp(dec, m->el.pending))
            continue;
        snprintf(note, sizeof(note), "manager %s at the branch failed: %s", jv_str(ch, "name", "?"),
                 jv_str(ch, "error", "?"));
        fed_decision_end(c, dec, "failed", note);
        m->el.pending[0] = '\0';
    }
}

/* The overload threshold m is judged against now, and whether it is
 * overloaded (judge.c), its peers the site's other active managers, their
 * last reports' parts weighed as m's are now (a value weighed before the
 * policy's weights changed is not comparable). */
static bool overloaded(struct fed *f, const struct fed_mgr *m, const json_t *pol, double value,
                       double *at, char *how, size_t len)
{
    double *peers = xcalloc(f->mgrs.size + 1, sizeof(*peers));
    bool subtract = lifecycle_is(pol, "subtract"), over;
    struct fed_weights w;
    struct hmap_entry *e;
    size_t i, n = 0;

    fed_weights_of(json_object_get(pol, "weights"), &f->weights, &w);
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        const struct fed_mgr *x = e->value;

        if (x != m && strcmp(x->site, m->site) == 0 && strcmp(x->state, "active") == 0)
            peers[n++] = fed_load_value(json_object_get(x->load, "parts"), &w, subtract);
    }
    over = fed_overloaded(pol, value, peers, n, "the site's", at, how, len);
    free(peers);
    return over;
}

/* Whether a decision anticipated the scheduled operation id already; with
 * at_ms, remembers that one does now (in a slot that is free, or whose
 * operation has run). */
static bool anticipated_once(struct el_mgr *el, const char *id, int64_t at_ms)
{
    int64_t now = wall_ms();
    size_t i, free_at = ARRAY_SIZE(el->anticipated);

    for (i = 0; i < ARRAY_SIZE(el->anticipated); i++) {
        if (strcmp(el->anticipated[i].id, id) == 0)
            return true;
        if (free_at == ARRAY_SIZE(el->anticipated) && el->anticipated[i].at_ms < now - 60000)
            free_at = i;
    }
    if (at_ms && free_at < ARRAY_SIZE(el->anticipated)) {
        snprintf(el->anticipated[free_at].id, sizeof(el->anticipated[free_at].id), "%s", id);
        el->anticipated[free_at].at_ms = at_ms;
    }
    return false;
}

/* anticipate_s (F25, claim 7): an operation scheduled on m within that
 * window that would bring it above overload starts a scale out now, once
 * per scheduled operation. Its load is estimated from the operation with
 * m's weights: one more operation running, plus the VIs a scale out adds
 * (delta, or count: at most that many). The reason, in why, names it. */
static bool anticipated(struct fed_mgr *m, const json_t *pol, double value, double over_at,
                        char *why, size_t len)
{
    const json_t *w = json_object_get(m->load, "weights"), *s;
    long long window = jv_int(pol, "anticipate_s", 0);
    int64_t now = wall_ms();
    size_t i;

    json_array_foreach(window > 0 ? json_object_get(m->load, "scheduled") : NULL, i, s)
    {
        const json_t *p = json_object_get(s, "params");
        long long vis = 0;
        double est;

        if (jv_int(s, "at_ms", 0) - now > window * 1000 ||
            anticipated_once(&m->el, jv_str(s, "id", ""), 0))
            continue;
        if (strcmp(jv_str(s, "operation", ""), "scale") == 0)
            vis = json_object_get(p, "delta") ? jv_int(p, "delta", 0) : jv_int(p, "count", 0);
        est =
            value + jv_num(w, "ops_running", 0) + (double)(vis > 0 ? vis : 0) * jv_num(w, "vis", 0);
        if (est <= over_at)
            continue;
        snprintf(why, len,
                 "anticipating %s of %s (%s) at %s: load %.3f of manager %s would be about %.3f, "
                 "above overload %g (policy anticipate_s %lld)",
                 jv_str(s, "operation", "?"), jv_str(s, "deployment", "?"), jv_str(s, "id", "?"),
                 jv_str(s, "at", "?"), value, m->id, est, over_at, window);
        anticipated_once(&m->el, jv_str(s, "id", ""), jv_int(s, "at_ms", now));
        return true;
    }
    return false;
}

static void judge(struct core *c, struct fed_mgr *m, const json_t *pol, double value)
{
    struct el_mgr *el = &m->el;
    double over_at, under_at = jv_num(pol, "underload", 0);
    char why[512], how[160];
    bool over = overloaded(c->fed, m, pol, value, &over_at, how, sizeof(how)),
         under = under_at > 0 && value < under_at;

    fed_streak_step(&el->st, over, under);
    if (!over && !under) {
        el->held_by[0] = '\0';
        el->refused = false;
    }
    if (*el->pending) {
        json_t *d = core_load(c, STORE_DECISION, el->pending);
        int64_t at = 0;

        bool handing = d && (strcmp(jv_str(d, "state", ""), "handing_over") == 0 ||
                             strcmp(jv_str(d, "state", ""), "draining") == 0);

        if (!d || time_parse(jv_str(d, "created", ""), &at) ||
            wall_ms() - at > (handing ? HANDOVER_MAX_MS : PENDING_MAX_MS)) {
            fed_decision_end(c, el->pending, "failed",
                             handing ? "its handovers did not end within 600 s"
                                     : "no new manager joined within 180 s");
            el->pending[0] = '\0';
        }
        json_decref(d);
        return;
    }
    if (!*m->parent && site_count(c->fed, m->site) < (unsigned)jv_int(pol, "active", 1)) {
        snprintf(why, sizeof(why), "site %s has %u manager%s, the policy's active is %lld", m->site,
                 site_count(c->fed, m->site), site_count(c->fed, m->site) == 1 ? "" : "s",
                 jv_int(pol, "active", 1));
        scale_out(c, m, pol, why, (unsigned)jv_int(pol, "active", 1));
    } else if (over && fed_lasted(pol, el->st.over_n, el->st.over_since_ms)) {
        snprintf(why, sizeof(why), "load %.3f of manager %s above overload %g%s for %u reports",
                 value, m->id, over_at, how, el->st.over_n);
        scale_out(c, m, pol, why, 0);
    } else if (!over && anticipated(m, pol, value, over_at, why, sizeof(why))) {
        scale_out(c, m, pol, why, 0);
    } else if (under && fed_lasted(pol, el->st.under_n, el->st.under_since_ms)) {
        snprintf(why, sizeof(why), "load %.3f of manager %s below underload %g for %u reports",
                 value, m->id, under_at, el->st.under_n);
        scale_in(c, m, pol, why);
    }
}

static void jobs_ended(struct core *c, struct fed_mgr *p, const json_t *jobs);

void elastic_report(struct core *c, struct fed_mgr *m, const json_t *report)
{
    struct fed *f = c->fed;
    const json_t *raw = json_object_get(report, "load"), *site_pol;
    json_t *pol, *load;
    struct fed_weights w;
    double value;
    int64_t cool_until;

    if (!json_is_object(raw))
        return;
    site_pol = fed_site_policy(c, m->site, FED_POLICY_MANAGERS);
    /* with m's own overrides (mgr_policy.c) */
    pol = site_pol ? mgr_policy_effective(c, m, site_pol) : NULL;
    fed_weights_of(json_object_get(pol, "weights"), &f->weights, &w);
    /* readers of m->load see a load once it is weighed, never the raw one;
     * the report's own object is kept (nothing else reads it), with the
     * weights' object of the last report when they are the same */
    load = json_incref((json_t *)raw);
    value =
        fed_load_value(json_object_get(load, "parts"), &w, pol && lifecycle_is(pol, "subtract"));
    json_object_set_new(load, "value", json_real(value));
    if (!f->weights_json || memcmp(&w, &f->weights_of, sizeof(w))) {
        json_decref(f->weights_json);
        f->weights_json = fed_weights_json(&w);
        f->weights_of = w;
    }
    json_object_set(load, "weights", f->weights_json); /* shared: never changed */
    if (pol && lifecycle_is(pol, "subtract"))
        json_object_set_new(load, "with_ops",
                            json_real(fed_load_value(json_object_get(load, "parts"), &w, false)));
    pthread_mutex_lock(&f->mu);
    json_decref(m->load);
    m->load = load;
    json_decref(m->children);
    m->children = json_incref(json_object_get(report, "children"));
    pthread_mutex_unlock(&f->mu);
    if (*m->el.pending)
        children_failed(c, m, json_object_get(report, "children"));
    jobs_ended(c, m, json_object_get(report, "handovers"));
    if (pol && strcmp(m->state, "active") == 0)
        judge(c, m, pol, value);
    cool_until = pol ? cooled_at(f, m->site) : 0;
    if (cool_until)
        cool_until += jv_int(pol, "cooldown_s", 0) * 1000;
    pthread_mutex_lock(&f->mu);
    m->el.cool_until_ms = cool_until;
    pthread_mutex_unlock(&f->mu);
    if (pol)
        standbys_keep(c, m, pol, json_object_get(report, "children"));
    json_decref(pol);
}

/* ---- the new managers joining, the branch's answers ---- */

/* ---- handing deployments over (fed/handover.c at the branch) ---- */

/* What deployment d weighs of its manager's load, estimated from the
 * report's parts: its count, its VIs, and its VIs' share of what the
 * manager measures as a whole (probes, CPU, memory). */
static double share_of(const json_t *d, const json_t *parts, const struct fed_weights *w,
                       double all_vis)
{
    double vis = (double)json_array_size(json_object_get(d, "vis")), part = 0;

    for (int i = 0; i < FED_LOAD_PARTS; i++) {
        const char *p = fed_load_parts[i];
        double v = jv_num(parts, p, 0);

        if (!strcmp(p, "vnfs"))
            part += w->w[i];
        else if (!strcmp(p, "vis"))
            part += w->w[i] * vis;
        else if (!strcmp(p, "probes_per_s") || !strcmp(p, "cpu") || !strcmp(p, "memory_mb"))
            part += w->w[i] * v * (all_vis > 0 ? vis / all_vis : 0);
    }
    return part;
}

/* Idle deployments first (one in an operation may not be able to go:
 * fed/handover.c), each kind the heaviest first. */
static int by_share(const void *a, const void *b)
{
    const json_t *l = *(json_t *const *)a, *r = *(json_t *const *)b;
    double x = jv_num(l, "share", 0), y = jv_num(r, "share", 0);
    bool bl = doc_str(l, "operation") != NULL, br = doc_str(r, "operation") != NULL;

    if (bl != br)
        return bl ? 1 : -1;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The deployments of p that go to the new manager to: the heaviest first,
 * until p's estimated load is under HANDOVER_TARGET of the overload
 * threshold, never more than leaves to heavier than p; those in a move
 * or in another handover stay; one in an operation goes after the idle
 * ones, its operation along (fed/handover.c: unless it still makes VIs,
 * then the giver keeps it). Returns the plan
 * ({to, deployments: [{id, share, why}], kept: [{id, why}], value,
 * estimate}) with its chosen ids in *ids. */
static json_t *plan_handover(struct core *c, struct fed_mgr *p, const json_t *pol, const char *to,
                             const json_t *taken, json_t **ids)
{
    struct store_where wh = {"site", p->site, false};
    struct store_list_opts o = {.where = &wh, .n_where = 1};
    const json_t *parts = json_object_get(p->load, "parts");
    double value = jv_num(p->load, "value", 0),
           target = jv_num(pol, "overload", 1) * HANDOVER_TARGET, moved = 0,
           all_vis = jv_num(parts, "vis", 0);
    json_t *list = NULL, *cand = json_array(), *chosen = json_array(), *kept = json_array(), *d;
    struct fed_weights w;
    char why[256];
    size_t i;

    *ids = json_array();
    fed_weights_of(json_object_get(pol, "weights"), &c->fed->weights, &w);
    json_array_foreach(taken, i, d) /* handed to managers of the same decision already */
        value -= jv_num(d, "share", 0);
    store_list(c->st, STORE_DEPLOYMENT, &o, &list);
    json_array_foreach(list, i, d)
    {
        const char *id = doc_str(d, "id"), *busy = doc_str(d, "operation");
        bool again = false;
        size_t k;
        const json_t *x;

        if (strcmp(jv_str(d, "manager", ""), p->id))
            continue;
        json_array_foreach(taken, k, x) again |= strcmp(jv_str(x, "id", ""), id) == 0;
        if (again)
            continue;
        if (json_object_get(d, "handover") || doc_str(d, "_move_op")) {
            json_array_append_new(kept, json_pack("{s:s, s:s}", "id", id_name(id), "why",
                                                  "it is being moved or handed over"));
            continue;
        }
        json_array_append_new(cand, json_pack("{s:s, s:f, s:s?}", "id", id, "share",
                                              share_of(d, parts, &w, all_vis), "operation", busy));
    }
    {
        size_t n = json_array_size(cand);
        json_t **v = xcalloc(n + 1, sizeof(*v));

        for (i = 0; i < n; i++)
            v[i] = json_array_get(cand, i);
        qsort(v, n, sizeof(*v), by_share);
        for (i = 0; i < n; i++) {
            double sh = jv_num(v[i], "share", 0);

            if (value - moved <= target || moved + sh > value - moved - 1e-9) {
                json_array_append_new(
                    kept, json_pack("{s:s, s:s}", "id", id_name(doc_str(v[i], "id")), "why",
                                    value - moved <= target
                                        ? "the rest is under the target already"
                                        : "it would leave the new manager heavier than this one"));
                continue;
            }
            moved += sh;
            snprintf(
                why, sizeof(why),
                "weighs about %.3f of %.3f; %s left with about %.3f (target %.3f: %g%% of "
                "overload %g)%s%s%s",
                sh, value, p->id, value - moved, target, HANDOVER_TARGET * 100,
                jv_num(pol, "overload", 1), doc_str(v[i], "operation") ? "; its operation " : "",
                jv_str(v[i], "operation", ""), doc_str(v[i], "operation") ? " goes with it" : "");
            json_array_append_new(chosen, json_pack("{s:s, s:f, s:s}", "id", doc_str(v[i], "id"),
                                                    "share", sh, "why", why));
            json_array_append_new(*ids, json_string(doc_str(v[i], "id")));
        }
        free(v);
    }
    json_decref(cand);
    json_decref(list);
    return json_pack("{s:s, s:o, s:o, s:f, s:f}", "to", to, "deployments", chosen, "kept", kept,
                     "value", value, "estimate", value - moved);
}

static void hand_to(struct core *c, struct fed_mgr *p, json_t *d, const char *new);

/* A decision whose managers joined ends once their handovers ended. */
static void maybe_complete(struct core *c, struct fed_mgr *p, json_t *d)
{
    const json_t *h, *step;
    const char *why = NULL;
    char note[1024];
    size_t i, k, moved = 0, failed = 0;

    if (json_array_size(json_object_get(d, "managers")) < (size_t)jv_int(d, "count", 1))
        return;
    json_array_foreach(json_object_get(d, "handover"), i, h)
    {
        if (!jv_str(h, "state", NULL))
            return; /* its job has not ended */
        moved += (size_t)jv_int(h, "moved", 0);
        failed += (size_t)jv_int(h, "failed", 0);
        json_array_foreach(json_object_get(h, "steps"), k, step)
        {
            why = why ? why : jv_str(step, "error", NULL);
        }
    }
    snprintf(note, sizeof(note),
             "manager%s joined: ", json_array_size(json_object_get(d, "managers")) == 1 ? "" : "s");
    for (i = 0; i < json_array_size(json_object_get(d, "managers")); i++)
        snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s%s", i ? ", " : "",
                 json_string_value(json_array_get(json_object_get(d, "managers"), i)));
    if (json_array_size(json_object_get(d, "handover")))
        snprintf(note + strlen(note), sizeof(note) - strlen(note),
                 "; %zu deployment%s handed over, VNF processes kept (%zu not)", moved,
                 moved == 1 ? "" : "s", failed);
    /* the new managers run, but none took its share: the overload stays */
    if (failed && !moved)
        snprintf(note + strlen(note), sizeof(note) - strlen(note),
                 "; the overloaded manager keeps its load: %s", why ? why : "no reason given");
    fed_decision_end(c, doc_str(d, "id"), failed && !moved ? "failed" : "completed", note);
    if (p && strcmp(p->el.pending, doc_str(d, "id")) == 0)
        p->el.pending[0] = '\0';
}

void elastic_joined(struct core *c, const json_t *token, json_t *mgr_doc)
{
    const char *dec_id = jv_str(token, "decision", NULL), *parent = jv_str(token, "parent", "");
    struct fed_mgr *p = hmap_get(&c->fed->mgrs, parent);
    json_t *d, *joined;

    if (!dec_id)
        return;
    doc_set_str(mgr_doc, "parent", parent);
    doc_set_str(mgr_doc, "decision", dec_id);
    if (!(d = core_load(c, STORE_DECISION, dec_id)))
        return;
    if (!json_is_array(json_object_get(d, "managers")))
        json_object_set_new(d, "managers", json_array());
    joined = json_object_get(d, "managers");
    json_array_append_new(joined, json_string(doc_str(mgr_doc, "id")));
    if (p && strcmp(jv_str(d, "stage", ""), "manager_overload") == 0)
        hand_to(c, p, d, doc_str(mgr_doc, "id"));
    store_put(c->st, STORE_DECISION, d);
    maybe_complete(c, p, d);
    json_decref(d);
}

/* Part of p's deployments to the manager new that decision d started:
 * planned (the decision's handover) and instructed to p, which drives it. */
static void hand_to(struct core *c, struct fed_mgr *p, json_t *d, const char *new)
{
    json_t *site = core_load(c, STORE_SITE, p->site), *all = json_array(), *plan, *ids, *ins;
    const json_t *pol = json_object_get(site, "manager_policy"), *h;
    size_t i;

    if (!json_is_array(json_object_get(d, "handover")))
        json_object_set_new(d, "handover", json_array());
    json_array_foreach(json_object_get(d, "handover"), i, h)
        json_array_extend(all, json_object_get(h, "deployments"));
    plan = plan_handover(c, p, pol, new, all, &ids);
    json_decref(all);
    if (json_array_size(ids)) {
        ins = fed_mgr_instruct(c, p, "handover",
                               json_pack("{s:s, s:s, s:O, s:s}", "from", p->id, "to", new,
                                         "deployments", ids, "decision", doc_str(d, "id")));
        if (ins)
            json_object_set(plan, "job", json_object_get(ins, "id"));
        json_decref(ins);
        doc_set_str(d, "state", "handing_over");
    } else {
        doc_set_str(plan, "state", "ended"); /* nothing to hand over */
    }
    json_array_append_new(json_object_get(d, "handover"), plan);
    json_decref(ids);
    json_decref(site);
}

/* The handover jobs p's report names (fed/handover.c): the end of one
 * ends its part of a decision; a drain that ended stops the drained
 * manager (stop_manager to p, as a scale in without deployments). */
static void jobs_ended(struct core *c, struct fed_mgr *p, const json_t *jobs)
{
    const json_t *j;
    size_t i;

    json_array_foreach(jobs, i, j)
    {
        json_t *d, *h, *ins;
        size_t k;
        char note[512];

        if (strcmp(jv_str(j, "state", ""), "completed") ||
            !(d = core_load(c, STORE_DECISION, jv_str(j, "decision", ""))))
            continue;
        if (strcmp(jv_str(d, "state", ""), "handing_over") == 0) {
            json_array_foreach(json_object_get(d, "handover"), k, h)
            {
                if (strcmp(jv_str(h, "job", ""), jv_str(j, "id", "")) || jv_str(h, "state", NULL))
                    continue;
                doc_set_str(h, "state", "ended");
                json_object_set(h, "moved", json_object_get(j, "moved"));
                json_object_set(h, "failed", json_object_get(j, "failed"));
                json_object_set(h, "steps", json_object_get(j, "deployments"));
                store_put(c->st, STORE_DECISION, d);
                maybe_complete(c, p, d);
            }
        } else if (strcmp(jv_str(d, "state", ""), "draining") == 0) {
            struct fed_mgr *x = hmap_get(&c->fed->mgrs, jv_str(d, "manager", ""));

            json_object_set_new(d, "drain", json_deep_copy(j));
            if (jv_int(j, "failed", 0) || !x) {
                store_put(c->st, STORE_DECISION, d);
                snprintf(note, sizeof(note),
                         "drain of manager %s incomplete: %s; it keeps running with what stayed",
                         jv_str(d, "manager", "?"), jv_str(j, "note", "?"));
                fed_decision_end(c, doc_str(d, "id"), "failed", note);
                if (x)
                    x->el.pending[0] = '\0';
            } else {
                doc_set_str(d, "state", "stopping");
                ins =
                    fed_mgr_instruct(c, p, "stop_manager",
                                     json_pack("{s:s, s:s, s:s?}", "manager", x->id, "decision",
                                               doc_str(d, "id"), "keep", jv_str(d, "keep", NULL)));
                if (ins)
                    json_array_append(json_object_get(d, "instructions"),
                                      json_object_get(ins, "id"));
                json_decref(ins);
                store_put(c->st, STORE_DECISION, d);
            }
        }
        json_decref(d);
    }
}

static void removed(struct core *c, struct fed_mgr *x)
{
    pthread_mutex_lock(&c->fed->mu);
    snprintf(x->state, sizeof(x->state), "removed");
    x->since_ms = wall_ms();
    x->el.pending[0] = '\0';
    pthread_mutex_unlock(&c->fed->mu);
    fed_mgr_save_seq(c, x);
    core_event(c, "info", "fed", "removed",
               json_pack("{s:s, s:s, s:s}", "object", x->id, "site", x->site, "manager", x->id),
               "manager %s of site %s stopped and removed", x->id, x->site);
}

void elastic_result(struct core *c, struct fed_mgr *m, const json_t *ins, const json_t *result)
{
    const char *type = jv_str(ins, "type", "");
    const json_t *body = json_object_get(ins, "body");
    const char *dec = jv_str(body, "decision", "");
    bool ok = jv_int(result, "status", 0) < 400;
    char note[512];

    if (strcmp(type, "standbys") == 0 && !ok) {
        standbys_refused(c, m, body, result);
    } else if (strcmp(type, "spawn_manager") == 0 && !ok) {
        snprintf(note, sizeof(note), "manager %s could not start a manager: %s", m->id,
                 jv_str(result, "message", "?"));
        fed_decision_end(c, dec, "failed", note);
        if (strcmp(m->el.pending, dec) == 0)
            m->el.pending[0] = '\0';
    } else if (strcmp(type, "stop_manager") == 0) {
        struct fed_mgr *x = hmap_get(&c->fed->mgrs, jv_str(body, "manager", ""));

        if (ok && x) {
            removed(c, x);
            fed_site_refresh(c, m); /* the site's managers without it */
        } else if (x)
            x->el.pending[0] = '\0';
        snprintf(note, sizeof(note), "manager %s %s by %s%s%s", jv_str(body, "manager", "?"),
                 ok ? "stopped" : "not stopped", m->id, ok ? "" : ": ",
                 !ok                          ? jv_str(result, "message", "?")
                 : jv_str(body, "keep", NULL) ? ", its VI kept for a standby of the site"
                                              : "");
        fed_decision_end(c, dec, ok ? "completed" : "failed", note);
    }
}

/* How the manager policy of its site judges a manager (GET /v0/managers
 * "judged", the console's estate view): reports in a row over and under,
 * the decision under way, the cooldown left, the operation that held one
 * in this streak. */
static json_t *elastic_judged(const struct fed_mgr *m)
{
    return json_pack(
        "{s:i, s:i, s:s?, s:I, s:s?}", "over_reports", m->el.st.over_n, "under_reports",
        m->el.st.under_n, "pending", *m->el.pending ? m->el.pending : NULL, "cooldown_left_s",
        fed_secs_left(m->el.cool_until_ms), "held_by", *m->el.held_by ? m->el.held_by : NULL);
}

/* What GET /v0/managers adds to a manager (f->mu held): the managers it
 * started at its branch, the decision it waits for, how it is judged. */
void elastic_view(const struct fed_mgr *m, json_t *view)
{
    if (json_array_size(m->children))
        json_object_set_new(view, "children", json_deep_copy(m->children));
    if (*m->el.pending)
        json_object_set_new(view, "pending", json_string(m->el.pending));
    json_object_set_new(view, "judged", elastic_judged(m));
}

void elastic_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->el_sites, &i); e; e = hmap_next(&f->el_sites, e, &i))
        free(e->value);
    hmap_done(&f->el_sites);
    hmap_done(&f->children); /* emptied by fed_spawn_stop_all */
    json_decref(f->weights_json);
}
