/* The cloud's side of the estate (docs/FEDERATION.md): branch managers join
 * with a single-use token, then report; the cloud mirrors their
 * deployments and events into its own store and log, keeps their load in
 * memory, and marks a manager unreachable when its reports stop. */
#include "fed/fed_internal.h"
#include "lcm/observe.h"
#include "lcm/remote.h"
#include "core/states.h"
#include "core/txq.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct fed_mgr *mgr_new(const json_t *doc)
{
    struct fed_mgr *m = xcalloc(1, sizeof(*m));

    snprintf(m->id, sizeof(m->id), "%s", jv_str(doc, "id", ""));
    snprintf(m->site, sizeof(m->site), "%s", jv_str(doc, "site", ""));
    snprintf(m->cred, sizeof(m->cred), "%s", jv_str(doc, "_cred", ""));
    snprintf(m->state, sizeof(m->state), "%s", jv_str(doc, "state", "active"));
    if (time_parse(jv_str(doc, "state_since", ""), &m->since_ms))
        m->since_ms = wall_ms();
    m->event_seq = jv_int(doc, "_event_seq", 0);
    m->next_seq = (uint64_t)jv_int(doc, "_seq", 0);
    snprintf(m->parent, sizeof(m->parent), "%s", jv_str(doc, "parent", ""));
    snprintf(m->tag, sizeof(m->tag), "%s", jv_str(doc, "tag", ""));
    hmap_init(&m->deps);
    hmap_init(&m->rules);
    return m;
}

static void mgr_free(struct fed_mgr *m)
{
    struct hmap_entry *e;
    size_t i;

    if (!m)
        return;
    for (e = hmap_first(&m->deps, &i); e; e = hmap_next(&m->deps, e, &i))
        free(e->value);
    hmap_done(&m->deps);
    fed_rules_free(m);
    json_decref(m->load);
    json_decref(m->site_state);
    json_decref(m->site_load);
    json_decref(m->children);
    json_decref(m->override);
    free(m);
}

/* The managers of a site, each reached once (loop thread). */
struct fed_mgr *fed_site_mgrs(struct fed *f, const char *site)
{
    return hmap_get(&f->site_mgrs, site);
}

/* Takes old out of its site's list (under mu). */
static void site_unlink(struct fed *f, struct fed_mgr *old)
{
    struct fed_mgr *head = hmap_get(&f->site_mgrs, old->site), **p = &head;

    while (*p && *p != old)
        p = &(*p)->site_next;
    if (*p)
        *p = old->site_next;
    if (head)
        hmap_put(&f->site_mgrs, old->site, head);
    else
        hmap_del(&f->site_mgrs, old->site);
}

/* Adds m to the tables, replacing the manager of the same id (a rejoin). */
static void mgr_add(struct fed *f, struct fed_mgr *m)
{
    struct fed_mgr *old;

    pthread_mutex_lock(&f->mu);
    old = hmap_put(&f->mgrs, m->id, m);
    if (old) {
        hmap_del(&f->creds, old->cred);
        fed_channel_drop(old);
        m->next_seq = old->next_seq > m->next_seq ? old->next_seq : m->next_seq;
        site_unlink(f, old);
    }
    m->site_next = hmap_get(&f->site_mgrs, m->site);
    hmap_put(&f->site_mgrs, m->site, m);
    hmap_put(&f->creds, m->cred, m);
    pthread_mutex_unlock(&f->mu);
    mgr_free(old);
}

/* A manager waiting for its join's commit. */
struct joined {
    struct fed_mgr *m; /* NULL once in the tables */
};

static void joined_free(void *arg)
{
    struct joined *j = arg;

    mgr_free(j->m);
    free(j);
}

/* A join has committed: its manager may report. */
static void join_committed(struct core *c, void *arg)
{
    struct joined *j = arg;

    mgr_add(c->fed, j->m);
    j->m = NULL;
}

/* ---- the records of a manager and its site ---- */

static int put(struct core *c, struct txn *t, enum store_kind k, json_t *doc)
{
    doc_touch(doc, "updated");
    if (store_put(c->st, k, doc) == 0)
        return 0;
    if (t)
        return result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the %s: %s",
                           store_kind_name(k), store_errmsg(c->st));
    log_error("fed: cannot write the %s: %s", store_kind_name(k), store_errmsg(c->st));
    return -1;
}

/* Writes m's state (and what the cloud stored of its events) into its record. */
static int mgr_save(struct core *c, struct fed_mgr *m)
{
    json_t *doc = core_load(c, STORE_MANAGER, m->id);
    char since[TIME_STR_MAX];
    int r;

    if (!doc)
        return -ENOENT;
    doc_set_str(doc, "state", m->state);
    doc_set_str(doc, "state_since", time_fmt(m->since_ms, since));
    doc_set_int(doc, "_event_seq", m->event_seq);
    doc_set_int(doc, "_seq", (long long)m->next_seq);
    r = put(c, NULL, STORE_MANAGER, doc);
    json_decref(doc);
    return r;
}

int fed_mgr_save_seq(struct core *c, struct fed_mgr *m)
{
    return mgr_save(c, m);
}

static void push_instruction(struct core *c, void *arg)
{
    json_t *msg = arg;
    struct fed_mgr *m = hmap_get(&c->fed->mgrs, jv_str(msg, "_manager", ""));

    json_object_del(msg, "_manager");
    if (m)
        fed_channel_push(c->fed, m, "instruction", msg, jv_int(msg, "seq", 0));
}

static void json_free_arg(void *arg)
{
    json_decref(arg);
}

void fed_after_instruct(struct core *c, struct fed_mgr *m, const json_t *ins)
{
    json_t *msg = fed_instruction_msg(ins);

    json_object_set_new(msg, "_manager", json_string(m->id));
    core_after_commit(c, push_instruction, msg, json_free_arg);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The ids of the managers of m's site, m among them (it may be joining)
 * unless it was removed, sorted (the record changes only when they do). */
static json_t *site_managers(struct fed *f, const struct fed_mgr *m)
{
    const char **ids = xcalloc(f->mgrs.size + 1, sizeof(*ids));
    json_t *out = json_array();
    struct hmap_entry *e;
    size_t i, n = 0;

    if (strcmp(m->state, "removed"))
        ids[n++] = m->id;
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        const struct fed_mgr *x = e->value;

        if (strcmp(x->id, m->id) && strcmp(x->site, m->site) == 0 && strcmp(x->state, "removed"))
            ids[n++] = x->id;
    }
    qsort(ids, n, sizeof(*ids), by_name);
    for (i = 0; i < n; i++)
        json_array_append_new(out, json_string(ids[i]));
    free(ids);
    return out;
}

/* The branch's site as the cloud shows it (its record, kind "branch"):
 * what the manager reported of its capacity and allocation, the managers
 * serving it and their reachability. Written only when it changed. */
static int site_save(struct core *c, struct txn *t, struct fed_mgr *m, const json_t *reported)
{
    json_t *doc = core_load(c, STORE_SITE, m->site), *was;
    bool changed;
    int r = 0;

    if (!doc)
        doc = json_pack("{s:s, s:s, s:[s]}", "id", m->site, "kind", "branch", "managers", m->id);
    was = json_deep_copy(doc);
    if (reported && !*m->parent) { /* a manager another one started reports the same site */
        json_t *cap = json_object_get(reported, "capacity");
        json_t *alloc = json_object_get(reported, "allocated");

        if (cap)
            json_object_set(doc, "capacity", cap);
        if (alloc)
            json_object_set(doc, "allocated", alloc);
        if (json_object_get(reported, "reserved"))
            json_object_set(doc, "reserved", json_object_get(reported, "reserved"));
        if (json_object_get(reported, "vim")) /* the branch's VIM, which it runs itself */
            json_object_set(doc, "driver", json_object_get(reported, "vim"));
        if (json_object_get(reported, "vim_health")) /* its own check of that VIM */
            json_object_set(doc, "vim_health", json_object_get(reported, "vim_health"));
    }
    if (!*m->parent) {
        doc_set_str(doc, "state", m->state);
        doc_set_str(doc, "manager", m->id);
    }
    json_object_set_new(doc, "managers", site_managers(c->fed, m));
    changed = !json_equal(doc, was);
    if (changed)
        r = put(c, t, STORE_SITE, doc);
    json_decref(was);
    json_decref(doc);
    return r;
}

/* ---- joining (seed para 67) ---- */

static int refuse(struct txn *t, const char *site, const char *fmt, const char *a, const char *b)
{
    char why[256];

    snprintf(why, sizeof(why), fmt, a, b ? b : "");
    log_warn("fed: join of site %s refused: %s", site, why);
    return result_fail(&t->res, 403, "join-refused", "field", "token", "join refused: %s", why);
}

/* The join token of t's body, unused, unexpired and for its site; else
 * NULL with t->res set. */
static json_t *check_token(struct core *c, struct txn *t, const char *site)
{
    char hash[TOKEN_HASH_LEN + 1];
    struct store_where w = {"_hash", hash, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *tok;
    int64_t exp = 0;

    token_hash(jv_str(t->body, "token", ""), hash);
    if (store_list(c->st, STORE_JOIN_TOKEN, &o, &list) || json_array_size(list) != 1) {
        json_decref(list);
        refuse(t, site, "unknown join token%s%s", "", NULL);
        return NULL;
    }
    tok = json_incref(json_array_get(list, 0));
    json_decref(list);
    if (doc_str(tok, "used"))
        refuse(t, site, "the join token was already used (at %s, by manager %s)",
               doc_str(tok, "used"), jv_str(tok, "used_by", "?"));
    else if (time_parse(jv_str(tok, "expires", ""), &exp) || exp <= wall_ms())
        refuse(t, site, "the join token expired at %s%s", jv_str(tok, "expires", "?"), NULL);
    else if (strcmp(jv_str(tok, "site", ""), site))
        refuse(t, site, "the join token is for site %s, not %s", jv_str(tok, "site", ""), site);
    else
        return tok;
    json_decref(tok);
    return NULL;
}

/* The manager a join makes: the site's manager of the same instance tag
 * when it joins again (its fed.json lost), else a new one. */
static json_t *join_manager(struct core *c, struct txn *t, const char *site, const char *cred_hash)
{
    struct store_where w = {"site", site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    const char *tag = jv_str(t->body, "tag", "");
    json_t *list = NULL, *doc = NULL, *d;
    char id[32];
    size_t i;

    store_list(c->st, STORE_MANAGER, &o, &list);
    json_array_foreach(list, i, d)
    {
        if (!doc && *tag && strcmp(jv_str(d, "tag", ""), tag) == 0)
            doc = json_incref(d);
    }
    json_decref(list);
    if (!doc) {
        id_random(id, "mgr-", 10);
        doc = json_pack("{s:s, s:s, s:s}", "id", id, "site", site, "role", "local");
        doc_touch(doc, "joined");
    }
    doc_set_str(doc, "state", "active");
    doc_set_str(doc, "tag", tag);
    doc_set_str(doc, "host", jv_str(t->body, "host", ""));
    doc_set_str(doc, "version", jv_str(t->body, "version", ""));
    doc_set_str(doc, "_cred", cred_hash);
    return doc;
}

void fed_join_apply(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    const char *site = jv_str(t->body, "site", "");
    char cred[46], hash[TOKEN_HASH_LEN + 1], now[TIME_STR_MAX];
    json_t *tok, *doc, *existing;
    struct fed_mgr *m;

    if (!f || !f->cloud) {
        result_fail(&t->res, 404, "not-found", NULL, NULL,
                    "this manager is not a cloud VNFM (--role cloud)");
        return;
    }
    if (!(tok = check_token(c, t, site)))
        return;
    existing = core_load(c, STORE_SITE, site);
    if (existing && strcmp(jv_str(existing, "kind", ""), "branch")) {
        json_decref(existing);
        json_decref(tok);
        refuse(t, site, "site %s is a site of the cloud VNFM itself%s", site, NULL);
        return;
    }
    json_decref(existing);
    token_generate(cred);
    memcpy(cred, "mgr_", 4); /* a manager credential is not an API token */
    token_hash(cred, hash);
    doc = join_manager(c, t, site, hash);
    elastic_joined(c, tok, doc);
    doc_set_str(tok, "used", time_fmt(wall_ms(), now));
    doc_set_str(tok, "used_by", doc_str(doc, "id"));
    m = mgr_new(doc);
    if (put(c, t, STORE_JOIN_TOKEN, tok) || put(c, t, STORE_MANAGER, doc) ||
        site_save(c, t, m, json_object_get(t->body, "site_state"))) {
        mgr_free(m);
    } else {
        m->last_report_mono = mono_ms();
        core_event(c, "info", "fed", "join",
                   json_pack("{s:s, s:s, s:s}", "object", doc_str(doc, "id"), "site", site,
                             "manager", doc_str(doc, "id")),
                   "branch manager %s of site %s joined (host %s, instance %s)", doc_str(doc, "id"),
                   site, jv_str(doc, "host", "?"), jv_str(doc, "tag", "?"));
        struct joined *j = xmalloc(sizeof(*j));

        j->m = m;
        core_after_commit(c, join_committed, j, joined_free);
        result_ok(&t->res, 201,
                  json_pack("{s:s, s:s, s:s, s:I, s:I}", "manager", doc_str(doc, "id"), "site",
                            site, "credential", cred, "report_interval_ms",
                            (json_int_t)c->cfg->fed_report_ms, "missed",
                            (json_int_t)c->cfg->fed_missed));
    }
    json_decref(doc);
    json_decref(tok);
}

/* ---- reports (seed para 102-103) ---- */

/* What a branch's record of a SOL003 VNF instance has (d: its report)
 * wins over the cloud's: its information, flavour and level, set from the
 * cloud's tasks or by the branch's own API (docs/FEDERATION.md "The
 * branch's record of a SOL003 instance"). */
static void branch_first(json_t *doc, const json_t *d)
{
    static const char *const keys[] = {"sol003", "flavour", "instantiation_level"};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const json_t *v = json_object_get(d, keys[i]);

        if (json_is_string(v) || json_is_object(v))
            json_object_set(doc, keys[i], (json_t *)v);
    }
}

/* What the cloud keeps of a branch deployment: the branch's view of it,
 * with its site and the manager that runs it, and what is the cloud's own
 * (its rules over the deployment's reports, and whether its operator
 * wants them to decide). */
static json_t *mirror_doc(struct fed_mgr *m, const json_t *d, const json_t *was)
{
    static const char *const keep[] = {
        "tenant",           "vnfd",        "status",          "stage",
        "operation",        "vis",         "instances",       "created",
        "monitoring",       "rules_owner", "rules_owner_set", "rules_owner_gen",
        "params",           "license",     "_password",       "_branch_rules",
        "service_endpoint", "handover",    "handed_from",     NULL};
    /* the cloud's rules; a SOL003 VNF instance's information, flavour and
     * descriptor (the information, flavour and level are the branch's once
     * its record has them: branch_first); the last move (fed/move.c); its
     * burst (fed/burst.c) */
    static const char *const cloud_own[] = {"rules",
                                            "rules_owner_wanted",
                                            "_policy_admin",
                                            "sol003",
                                            "flavour",
                                            "instantiation_level",
                                            "_descriptor",
                                            "move",
                                            "_move_op",
                                            "burst",
                                            NULL};
    json_t *doc =
        json_pack("{s:s, s:s, s:s}", "id", jv_str(d, "id", ""), "site", m->site, "manager", m->id);

    for (const char *const *k = keep; *k; k++)
        if (json_object_get(d, *k))
            json_object_set(doc, *k, json_object_get(d, *k));
    for (const char *const *k = cloud_own; *k; k++)
        if (was && json_object_get(was, *k))
            json_object_set(doc, *k, json_object_get(was, *k));
    branch_first(doc, d);
    if (was && json_object_get(was, "created") && !json_object_get(doc, "created"))
        json_object_set(doc, "created", json_object_get(was, "created"));
    if (doc_str(doc, "_move_op")) /* busy with a move until it ends */
        json_object_set(doc, "operation", json_object_get(doc, "_move_op"));
    if (doc_str(doc, "service_endpoint")) /* where its endpoint lives: its branch */
        json_object_set_new(doc, "_endpoint",
                            json_pack("{s:s, s:s}", "site", m->site, "manager", m->id));
    return doc;
}

void fed_unmirror(struct core *c, json_t *dep)
{
    static const char *const cleared[] = {"operation", "flavour", "instantiation_level", "error"};

    if (!json_object_get(dep, "sol003")) {
        store_delete(c->st, STORE_DEPLOYMENT, doc_str(dep, "id"));
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(cleared); i++)
        json_object_set_new(dep, cleared[i], json_null());
    json_object_del(dep, "manager");
    json_object_del(dep, "vis");
    doc_set_str(dep, "site", c->cfg->site);
    doc_set_str(dep, "status", dep_status_name(DEP_NOT_INSTANTIATED));
    doc_set_str(dep, "stage", stage_name(ST_ONBOARDING));
    json_object_set_new(dep, "instances", json_object());
    doc_touch(dep, "updated");
    store_put(c->st, STORE_DEPLOYMENT, dep);
}

static bool ours(const json_t *doc, const struct fed_mgr *m)
{
    return doc && strcmp(jv_str(doc, "manager", ""), m->id) == 0;
}

/* The first report since the cloud started: what the store mirrors of the
 * manager is compared with it, so that what went meanwhile goes here too. */
static void seed_mirror(struct core *c, struct fed_mgr *m)
{
    struct store_where w = {"site", m->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *d;
    size_t i;

    if (store_list(c->st, STORE_DEPLOYMENT, &o, &list))
        return;
    json_array_foreach(list, i, d)
    {
        if (ours(d, m) && !hmap_get(&m->deps, doc_str(d, "id")))
            hmap_put(&m->deps, doc_str(d, "id"), xcalloc(1, sizeof(uint64_t)));
        if (ours(d, m))
            fed_rules_load(m, d);
    }
    json_decref(list);
}

/* The operations on deployment id that old runs for the cloud and has not
 * ended went with it (fed/handover.c): to's reports say how they go on. */
static void ops_follow(struct core *c, const char *id, struct fed_mgr *old, struct fed_mgr *to)
{
    struct store_where w = {"deployment", id, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *ops = NULL, *op;
    size_t i;

    if (store_list(c->st, STORE_OP, &o, &ops))
        return;
    json_array_foreach(ops, i, op)
    {
        if (strcmp(jv_str(op, "manager", ""), old->id) || op_final(op))
            continue;
        doc_set_str(op, "manager", to->id);
        put(c, NULL, STORE_OP, op);
    }
    json_decref(ops);
}

/* The manager that ran deployment id lets go of it: from now on it is
 * to's (fed/handover.c), with what the cloud holds of it. */
static void hand_over(struct core *c, struct fed_mgr *old, const char *id, struct fed_mgr *to,
                      bool track)
{
    json_t *was = core_load(c, STORE_DEPLOYMENT, id);

    if (was && ours(was, old) && to) {
        doc_set_str(was, "manager", to->id);
        put(c, NULL, STORE_DEPLOYMENT, was);
        ops_follow(c, id, old, to);
        if (track && !hmap_get(&to->deps, id)) /* its next report writes it */
            hmap_put(&to->deps, id, xcalloc(1, sizeof(uint64_t)));
        fed_rules_load(to, was);
        core_event(c, "info", "fed", "handover",
                   json_pack("{s:s, s:s, s:s, s:s}", "object", id, "deployment", id, "site",
                             old->site, "manager", to->id),
                   "deployment %s of site %s: handed over from manager %s to manager %s",
                   id_name(id), old->site, old->id, to->id);
    }
    json_decref(was);
    fed_rules_drop(old, id);
    free(hmap_del(&old->deps, id));
}

/* A deployment m reports that another manager of its site ran (was) and
 * handed over to it (its handed_from): m's from now on. Unless its
 * handover is not newer than the one the cloud knows (turn): a late report
 * of an earlier owner, sent before it gave the deployment away and taken
 * after its taker's, names the handover that brought it there. */
static bool handed_here(struct core *c, struct fed_mgr *m, const json_t *d, const json_t *was)
{
    const json_t *h = json_object_get(d, "handed_from");
    const char *from = jv_str(h, "manager", "");
    struct fed_mgr *old = hmap_get(&c->fed->mgrs, from);

    if (!old || strcmp(from, jv_str(was, "manager", "")) || strcmp(old->site, m->site))
        return false;
    long long turn = jv_int(h, "turn", 0),
              known = jv_int(json_object_get(was, "handed_from"), "turn", 0);

    if (json_object_get(h, "turn") && turn <= known) {
        log_info("fed: deployment %s: a late report of manager %s (handover turn %lld; the "
                 "cloud knows turn %lld, at manager %s): not taken",
                 id_name(doc_str(d, "id")), m->id, turn, known, from);
        return false;
    }
    hand_over(c, old, doc_str(d, "id"), m, false);
    return true;
}

static void mirror_one(struct core *c, struct fed_mgr *m, const json_t *d)
{
    const char *id = doc_str(d, "id");
    uint64_t *old = id ? hmap_get(&m->deps, id) : NULL, h = id ? doc_hash(d) : 0;
    bool known = old != NULL;
    json_t *was, *doc;

    if (!id || !id_key_valid(id) || (old && *old == h))
        return;
    if (!old)
        old = xcalloc(1, sizeof(*old));
    was = core_load(c, STORE_DEPLOYMENT, id);
    if (was && !ours(was, m) && handed_here(c, m, d, was)) {
        doc = mirror_doc(m, d, was);
        put(c, NULL, STORE_DEPLOYMENT, doc);
        json_decref(doc);
    } else if (was && !ours(was, m)) {
        if (!known && !doc_str(was, "_move_op")) /* once per run; a move's clone is expected */
            log_warn("fed: deployment %s of manager %s (site %s) is not mirrored: the cloud "
                     "has a deployment of that name already",
                     id_name(id), m->id, m->site);
    } else {
        doc = mirror_doc(m, d, was);
        put(c, NULL, STORE_DEPLOYMENT, doc);
        json_decref(doc);
    }
    json_decref(was);
    *old = h;
    hmap_put(&m->deps, id, old);
}

/* Whether the branch may not have made deployment dep yet: the cloud's
 * deploy instruction that makes it waits for the branch's answer (not
 * delivered yet: a channel that reconnects after a restart of the cloud
 * comes later than the first reports). */
static bool not_made_yet(struct core *c, const json_t *dep)
{
    json_t *ins = core_load(c, STORE_INSTRUCTION, jv_str(dep, "operation", ""));
    bool r = ins && strcmp(jv_str(ins, "type", ""), "deploy") == 0 &&
             strcmp(jv_str(ins, "state", ""), "pending") == 0;

    json_decref(ins);
    return r;
}

/* A deployment the branch no longer has: one it has not made yet stays
 * (a full report without it, sent before the instruction came, left an
 * instantiated SOL003 instance NOT_INSTANTIATED on the cloud). */
static void unmirror(struct core *c, struct fed_mgr *m, const char *id)
{
    json_t *was = core_load(c, STORE_DEPLOYMENT, id);

    if (ours(was, m) && not_made_yet(c, was)) {
        json_decref(was);
        return;
    }
    if (ours(was, m))
        fed_unmirror(c, was);
    json_decref(was);
    fed_rules_drop(m, id);
    free(hmap_del(&m->deps, id));
}

/* A deployment m no longer has: handed over to another manager of its
 * site (the report's handed_over), or gone. */
static void gone_from(struct core *c, struct fed_mgr *m, const char *id, const json_t *handed)
{
    struct fed_mgr *to = hmap_get(&c->fed->mgrs, jv_str(handed, id, ""));

    if (to && to != m && strcmp(to->site, m->site) == 0 && strcmp(to->state, "removed"))
        hand_over(c, m, id, to, true);
    else
        unmirror(c, m, id);
}

/* Mirrors the report's deployments: the changed ones are written. A full
 * report has all of the branch's: those it lacks are deleted; another has
 * those that changed since the last report the cloud acknowledged, and
 * names those the branch no longer has (gone). */
static void mirror(struct core *c, struct fed_mgr *m, const json_t *deps, bool full,
                   const json_t *gone, const json_t *handed)
{
    struct hmap_entry *e, *next;
    struct hmap seen;
    const json_t *d;
    size_t i;

    hmap_init(&seen);
    json_array_foreach(deps, i, d)
    {
        mirror_one(c, m, d);
        fed_rules_seen(m, d);
        if (doc_str(d, "id"))
            hmap_put(&seen, doc_str(d, "id"), (void *)d);
    }
    json_array_foreach(gone, i, d)
    {
        if (json_is_string(d) && hmap_get(&m->deps, json_string_value(d)))
            gone_from(c, m, json_string_value(d), handed);
    }
    for (e = full ? hmap_first(&m->deps, &i) : NULL; e; e = next) {
        next = hmap_next(&m->deps, e, &i);
        if (!hmap_get(&seen, e->key))
            gone_from(c, m, e->key, handed);
    }
    hmap_done(&seen);
}

/* The branch's events into the cloud's log, tagged with site and manager;
 * those stored already (a report sent again) are skipped. */
static void take_events(struct core *c, struct fed_mgr *m, const json_t *events)
{
    static const char *const skip[] = {"seq",      "ts",    "time",    "level",
                                       "category", "event", "message", NULL};
    const json_t *ev;
    size_t i;

    json_array_foreach(events, i, ev)
    {
        int64_t seq = jv_int(ev, "seq", 0);
        json_t *fields;

        if (seq <= m->event_seq)
            continue;
        fields = json_deep_copy(ev);
        for (const char *const *k = skip; *k; k++)
            json_object_del(fields, *k);
        json_object_set_new(fields, "site", json_string(m->site));
        json_object_set_new(fields, "manager", json_string(m->id));
        json_object_set_new(fields, "branch_seq", json_integer(seq));
        if (json_object_get(ev, "time"))
            json_object_set(fields, "branch_time", json_object_get(ev, "time"));
        core_event(c, jv_str(ev, "level", "info"), jv_str(ev, "category", "fed"),
                   jv_str(ev, "event", "event"), fields, "%s", jv_str(ev, "message", ""));
        m->event_seq = seq;
    }
}

/* unreachable -> active, or a first report since the cloud started */
static void set_state(struct core *c, struct fed_mgr *m, const char *state)
{
    if (strcmp(m->state, state) == 0)
        return;
    pthread_mutex_lock(&c->fed->mu);
    snprintf(m->state, sizeof(m->state), "%s", state);
    m->since_ms = wall_ms();
    pthread_mutex_unlock(&c->fed->mu);
}

struct fed_mgr *fed_mgr_of_request(struct fed *f, struct txn *t)
{
    char hash[TOKEN_HASH_LEN + 1];
    const char *cred = jv_str(t->query, "_bearer", NULL);
    struct fed_mgr *m;

    if (!f || !f->cloud) {
        result_fail(&t->res, 404, "not-found", NULL, NULL,
                    "this manager is not a cloud VNFM (--role cloud)");
        return NULL;
    }
    if (cred)
        token_hash(cred, hash);
    m = cred ? hmap_get(&f->creds, hash) : NULL;
    if (!m || strcmp(m->state, "removed") == 0) {
        log_warn("fed: %s refused: %s manager credential", t->name,
                 !cred ? "no"
                 : m   ? "a removed"
                       : "an unknown");
        result_fail(&t->res, 401, "unauthorized", NULL, NULL,
                    "%s manager credential: join again with a new token",
                    !cred ? "missing"
                    : m   ? "the manager was removed; its"
                          : "unknown");
        return NULL;
    }
    return m;
}

/* The ids of the results the branch may stop sending. */
static json_t *results_acked(const json_t *body)
{
    json_t *ids = json_array();
    const json_t *r;
    size_t i;

    json_array_foreach(json_object_get(body, "results"), i, r)
    {
        if (json_object_get(r, "id"))
            json_array_append(ids, json_object_get(r, "id"));
    }
    return ids;
}

/* What the other active managers of m's site hold, as their last reports
 * said (their VIs and the managers they started): what m's admissions
 * count beside its own (lcm/sites.h site_others), in all and each by its
 * instance tag ("members": a manager's site ledger has fresher figures of
 * those of its host). */
static json_t *others_of(struct fed *f, const struct fed_mgr *m)
{
    json_t *each = NULL;
    double vcpu = 0, mb = 0;
    bool tagged = true;
    int n = 0;

    for (const struct fed_mgr *o = fed_site_mgrs(f, m->site); o; o = o->site_next) {
        const json_t *a = json_object_get(o->site_state, "allocated");

        if (o == m || strcmp(o->state, "active") || !a)
            continue;
        vcpu += jv_num(a, "vcpu", 0);
        mb += (double)jv_int(a, "memory_mb", 0);
        n++;
        tagged = tagged && *o->tag;
        if (!each)
            each = json_object();
        if (*o->tag)
            json_object_set_new(each, o->tag,
                                json_pack("{s:f, s:I}", "vcpu", jv_num(a, "vcpu", 0), "memory_mb",
                                          jv_int(a, "memory_mb", 0)));
    }
    if (!tagged) { /* each one or none (and none when there are no others) */
        json_decref(each);
        each = NULL;
    }
    return json_pack("{s:f, s:I, s:i, s:o*}", "vcpu", vcpu, "memory_mb", (json_int_t)mb, "managers",
                     n, "members", each);
}

/* A branch's bulk probe of its WAN (site_load.c): its body read, nothing kept. */
void fed_probe_apply(struct core *c, struct txn *t)
{
    if (fed_mgr_of_request(c->fed, t))
        result_ok(&t->res, 200,
                  json_pack("{s:I}", "bytes", (json_int_t)strlen(jv_str(t->body, "pad", ""))));
}

void fed_report_apply(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    struct fed_mgr *m = fed_mgr_of_request(f, t);
    const char *boot = jv_str(t->body, "boot", "");
    uint64_t seq = (uint64_t)jv_int(t->body, "seq", 0);
    bool first = m && m->reports == 0, was_active, site_same;
    int64_t event_seq = m ? m->event_seq : 0;
    uint64_t arrived_us = (uint64_t)jv_int(t->query, "_arrived_us", 0);
    bool full = !json_is_false(json_object_get(t->body, "full")), new_boot;

    if (!m)
        return;
    fed_cscale_report(f);
    if (strcmp(boot, m->boot) == 0 && seq <= m->seq) { /* a duplicate or a late one */
        result_ok(&t->res, 200,
                  json_pack("{s:I, s:I, s:I, s:b, s:o}", "report_interval_ms",
                            (json_int_t)c->cfg->fed_report_ms, "seq", (json_int_t)m->seq,
                            "event_seq", (json_int_t)m->event_seq, "duplicate", 1, "results",
                            results_acked(t->body)));
        return;
    }
    new_boot = first || strcmp(boot, m->boot) != 0;
    pthread_mutex_lock(&f->mu);
    snprintf(m->boot, sizeof(m->boot), "%s", boot);
    m->seq = seq;
    m->reports++;
    m->pid = (long)jv_int(t->body, "pid", m->pid);
    m->last_report_ms = wall_ms();
    m->last_report_mono = mono_ms();
    site_same = m->site_state && json_equal(m->site_state, json_object_get(t->body, "site_state"));
    json_decref(m->site_state);
    m->site_state = json_incref(json_object_get(t->body, "site_state"));
    pthread_mutex_unlock(&f->mu);
    was_active = strcmp(m->state, "active") == 0;
    if (!was_active) {
        core_event(c, "info", "fed", "reachable",
                   json_pack("{s:s, s:s, s:s}", "object", m->id, "site", m->site, "manager", m->id),
                   "branch manager %s of site %s reports again (%s since %lld ms)", m->id, m->site,
                   m->state, (long long)(wall_ms() - m->since_ms));
        set_state(c, m, "active");
    }
    if (first)
        seed_mirror(c, m);
    if (json_is_array(json_object_get(t->body, "deployments")))
        mirror(c, m, json_object_get(t->body, "deployments"), full,
               json_object_get(t->body, "gone"), json_object_get(t->body, "handed_over"));
    take_events(c, m, json_object_get(t->body, "events"));
    fed_take_results(c, m, json_object_get(t->body, "results"));
    fed_follow_ops(c, m, json_object_get(t->body, "operations"));
    elastic_report(c, m, t->body); /* the load weighed with the site's policy, first */
    pool_report(c, m, t->body);
    fed_rules_eval(c, m, t->body, arrived_us);
    fed_mmove_reported(c, m);
    if (m->event_seq != event_seq || !was_active) /* soft state is not journalled */
        mgr_save(c, m);
    if (!site_same || !was_active || first) /* else what the site's record shows is the same */
        site_save(c, NULL, m, json_object_get(t->body, "site_state"));
    /* a run of the branch or of the cloud that the other did not see yet
     * begins with all of its deployments */
    result_ok(&t->res, 200,
              json_pack("{s:I, s:I, s:I, s:o, s:b, s:o}", "report_interval_ms",
                        (json_int_t)c->cfg->fed_report_ms, "seq", (json_int_t)seq, "event_seq",
                        (json_int_t)m->event_seq, "results", results_acked(t->body), "send_full",
                        (new_boot || m->send_full) && !full, "site_others", others_of(f, m)));
    m->send_full = m->send_full && !full;
}

/* ---- removing a manager ---- */

/* The deployments the cloud mirrors of m, from the store (after a restart
 * of the cloud m->deps is empty until m reports). */
static json_t *mgr_deployments(struct core *c, const struct fed_mgr *m)
{
    struct store_where w = {"site", m->site, false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    json_t *list = NULL, *mine = json_array(), *d;
    size_t i;

    if (store_list(c->st, STORE_DEPLOYMENT, &o, &list) == 0)
        json_array_foreach(list, i, d)
        {
            if (ours(d, m))
                json_array_append(mine, d);
        }
    json_decref(list);
    return mine;
}

/* A manager that runs deployments or has instructions to apply is removed
 * only with force=true: its deployments leave the estate (their VNFs keep
 * running at the branch, under that manager alone), its instructions and
 * the operations it ran fail. Its credential is refused from then on and
 * its channel is closed; the record stays, in state removed. */
void fed_mgr_remove(struct core *c, struct txn *t, struct fed_mgr *m)
{
    bool force = strcmp(jv_str(t->query, "force", "false"), "true") == 0;
    json_t *deps = NULL, *pending = NULL, *doc;
    char why[128], was[sizeof(m->state)];
    uint64_t was_since = m->since_ms;
    size_t i;

    if (strcmp(m->state, "removed") == 0)
        goto view;
    deps = mgr_deployments(c, m);
    if (fed_pending(c, m, &pending)) {
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot read the instructions: %s",
                    store_errmsg(c->st));
        goto out;
    }
    if (!force && (json_array_size(deps) || json_array_size(pending))) {
        result_fail(&t->res, 409, "manager-busy", "object", m->id,
                    "manager %s of site %s runs %zu deployment(s) and has %zu instruction(s) "
                    "not applied yet: move or undeploy them first, or remove it with force=true "
                    "(its VNFs keep running at the branch, outside the estate)",
                    m->id, m->site, json_array_size(deps), json_array_size(pending));
        goto out;
    }
    snprintf(why, sizeof(why), "manager %s of site %s was removed", m->id, m->site);
    fed_forget_work(c, m, pending, deps, why);
    json_array_foreach(deps, i, doc)
    {
        json_t *now = core_load(c, STORE_DEPLOYMENT, doc_str(doc, "id"));

        if (ours(now, m))
            fed_unmirror(c, now);
        json_decref(now);
        fed_rules_drop(m, doc_str(doc, "id"));
        free(hmap_del(&m->deps, doc_str(doc, "id")));
    }
    snprintf(was, sizeof(was), "%s", m->state);
    pthread_mutex_lock(&c->fed->mu);
    snprintf(m->state, sizeof(m->state), "removed");
    m->since_ms = wall_ms();
    fed_channel_drop(m);
    pthread_mutex_unlock(&c->fed->mu);
    if (mgr_save(c, m) || site_save(c, t, m, m->site_state)) { /* the transaction rolls back */
        pthread_mutex_lock(&c->fed->mu);
        snprintf(m->state, sizeof(m->state), "%s", was);
        m->since_ms = was_since;
        pthread_mutex_unlock(&c->fed->mu);
        result_fail(&t->res, 503, "unavailable", NULL, NULL, "cannot write the manager: %s",
                    store_errmsg(c->st));
        goto out;
    }
    fed_mmove_removed(c, m);
    core_event(c, "info", "fed", "removed",
               json_pack("{s:s, s:s, s:s, s:I}", "object", m->id, "site", m->site, "manager", m->id,
                         "deployments", (json_int_t)json_array_size(deps)),
               "manager %s of site %s removed by an operator%s", m->id, m->site,
               json_array_size(deps) ? " with its deployments (force)" : "");
view:
    if ((doc = core_load(c, STORE_MANAGER, m->id))) {
        pthread_mutex_lock(&c->fed->mu);
        result_ok(&t->res, 200, fed_mgr_view(c->fed, doc));
        pthread_mutex_unlock(&c->fed->mu);
        json_decref(doc);
    }
out:
    json_decref(deps);
    json_decref(pending);
}

/* ---- reachability ---- */

static void mark_unreachable(struct core *c, struct fed_mgr *m, uint64_t silent_ms)
{
    char since[TIME_STR_MAX];

    set_state(c, m, "unreachable");
    pthread_mutex_lock(&c->fed->mu);
    if (m->last_report_ms)
        m->since_ms = m->last_report_ms;
    pthread_mutex_unlock(&c->fed->mu);
    core_event(c, "warn", "fed", "unreachable",
               json_pack("{s:s, s:s, s:s}", "object", m->id, "site", m->site, "manager", m->id),
               "branch manager %s of site %s is unreachable: no report for %llu ms (last at %s)",
               m->id, m->site, (unsigned long long)silent_ms,
               m->last_report_ms ? time_fmt(m->last_report_ms, since) : "none since the start");
    mgr_save(c, m);
    site_save(c, NULL, m, NULL);
}

void fed_site_refresh(struct core *c, struct fed_mgr *m)
{
    site_save(c, NULL, m, NULL);
}

static void on_timer(uv_timer_t *h)
{
    struct fed *f = h->data;
    struct core *c = f->c;
    uint64_t now = mono_ms(), limit = (uint64_t)c->cfg->fed_report_ms * c->cfg->fed_missed;
    struct hmap_entry *e;
    size_t i;
    bool open = false;

    if (c->stopping || !fed_writes(c)) /* a standby: the primary judges */
        return;
    fed_channel_keepalive(f);
    fed_cscale_tick(c);
    fed_move_tick(c);
    fed_mmove_tick(c);
    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i)) {
        struct fed_mgr *m = e->value;

        if (strcmp(m->state, "active") || ms_since(now, m->last_report_mono) <= limit)
            continue;
        if (!open && core_tx_begin(c) == 0)
            open = true;
        mark_unreachable(c, m, ms_since(now, m->last_report_mono));
    }
    if (open)
        core_tx_commit(c);
}

int fed_cloud_start(struct fed *f)
{
    struct core *c = f->c;
    json_t *list = NULL, *d;
    size_t i;

    if (store_list(c->st, STORE_MANAGER, NULL, &list)) {
        log_error("fed: cannot read the managers: %s", store_errmsg(c->st));
        return -1;
    }
    json_array_foreach(list, i, d)
    {
        struct fed_mgr *m = mgr_new(d);

        m->last_report_mono = mono_ms(); /* a grace of --fed-missed reports after a start */
        mgr_add(f, m);
    }
    json_decref(list);
    fed_move_resume(c);
    fed_mmove_load(c);
    uv_timer_init(c->loop, &f->timer);
    f->timer.data = f;
    f->timer_on = true;
    uv_timer_start(&f->timer, on_timer, c->cfg->fed_report_ms, c->cfg->fed_report_ms);
    return 0;
}

/* A standby of a cluster on etcd takes over (docs/HA.md): the managers
 * that joined while it was a standby are read now (it read the others at
 * its start); those it knew get what was stored of them since. */
int fed_cloud_takeover(struct fed *f)
{
    struct core *c = f->c;
    json_t *list = NULL, *d;
    size_t i;

    if (store_list(c->st, STORE_MANAGER, NULL, &list)) {
        log_error("fed: cannot read the managers: %s", store_errmsg(c->st));
        return -1;
    }
    json_array_foreach(list, i, d)
    {
        struct fed_mgr *m = hmap_get(&f->mgrs, jv_str(d, "id", ""));

        if (m && strcmp(m->cred, jv_str(d, "_cred", "")) == 0) {
            pthread_mutex_lock(&f->mu);
            snprintf(m->state, sizeof(m->state), "%s", jv_str(d, "state", "active"));
            m->event_seq = jv_int(d, "_event_seq", 0);
            if ((uint64_t)jv_int(d, "_seq", 0) > m->next_seq)
                m->next_seq = (uint64_t)jv_int(d, "_seq", 0);
            m->last_report_mono = mono_ms();
            pthread_mutex_unlock(&f->mu);
            continue;
        }
        m = mgr_new(d);
        m->last_report_mono = mono_ms(); /* a grace of --fed-missed reports */
        mgr_add(f, m);
    }
    json_decref(list);
    fed_cscale_takeover(c);
    return 0;
}

void fed_cloud_free(struct fed *f)
{
    struct hmap_entry *e;
    size_t i;

    for (e = hmap_first(&f->mgrs, &i); e; e = hmap_next(&f->mgrs, e, &i))
        mgr_free(e->value);
    hmap_done(&f->mgrs);
    hmap_done(&f->site_mgrs);
    hmap_done(&f->creds);
    fed_mmove_free(f);
}

json_t *fed_mgr_view(struct fed *f, const json_t *doc)
{
    json_t *v = doc_public(doc);
    struct fed_mgr *m;
    char when[TIME_STR_MAX];
    uint64_t limit = (uint64_t)f->c->cfg->fed_report_ms * f->c->cfg->fed_missed;

    json_object_del(v, "state_since");
    m = hmap_get(&f->mgrs, jv_str(doc, "id", ""));
    if (!m)
        return v;
    json_object_set_new(v, "state", json_string(m->state));
    json_object_set_new(v, "since", json_string(time_fmt(m->since_ms, when)));
    json_object_set_new(v, "reachable", json_boolean(strcmp(m->state, "active") == 0));
    json_object_set_new(v, "last_report",
                        m->last_report_ms ? json_string(time_fmt(m->last_report_ms, when))
                                          : json_null());
    json_object_set_new(
        v, "stale",
        json_boolean(!m->last_report_ms || ms_since(mono_ms(), m->last_report_mono) > limit));
    json_object_set_new(v, "reports", json_integer((json_int_t)m->reports));
    json_object_set_new(v, "load", m->load ? json_deep_copy(m->load) : json_null());
    json_object_set_new(v, "deployments", json_integer((json_int_t)m->deps.size));
    json_object_set_new(v, "pid", m->pid ? json_integer((json_int_t)m->pid) : json_null());
    json_object_set_new(v, "parent", *m->parent ? json_string(m->parent) : json_null());
    elastic_view(m, v);
    pool_view(f, m, v);
    fed_mmove_view(f, m, v);
    return v;
}
