/* What the cloud's policies over branches judge alike (docs/FEDERATION.md
 * "Elastic managers" and "The branch pool"): the manager policy of a site
 * (elastic.c) judges each manager's load, the pool policy (pool.c) the
 * site's load. Both have an overload and an underload threshold, static or
 * relative to peers (seed para 104) and rising with them (para 105), a
 * duration (for_reports or for_s), a cooldown, and a lifecycle policy that
 * holds a decision while the branch manager runs an operation or ran one
 * within hold_s (F25, para 127). */
#include "fed/fed_internal.h"
#include "core/outbox.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <string.h>

#define DEFAULT_REPORTS 3
#define CALLBACK_TRIES  5

const struct jv_field fed_relative_fields[] = {
    {.name = "within_pct", .type = JV_NUMBER, .flags = JV_REQUIRED, .min = 0, .max = 100},
    {.name = NULL},
};
const struct jv_field fed_rise_fields[] = {
    {.name = "peers", .type = JV_INT, .flags = JV_REQUIRED, .min = 1, .max = 64},
    {.name = "above", .type = JV_NUMBER, .flags = JV_REQUIRED, .min = 0, .max = 1e9},
    {.name = "to", .type = JV_NUMBER, .flags = JV_REQUIRED, .min = 0, .max = 1e9},
    {.name = NULL},
};
const char *const fed_lifecycles[] = {"hold", "subtract", "ignore", NULL};

int fed_thresholds_check(const json_t *body, const json_t *full, struct jv_error *e)
{
    double over = jv_num(full, "overload", 0), under = jv_num(full, "underload", 0);
    const json_t *rise = json_object_get(full, "rise");

    if (under >= over && under > 0)
        jv_fail(e, "invalid-value", "underload", "underload (%g) must be below overload (%g)",
                under, over);
    else if (over <= 0)
        jv_fail(e, "invalid-value", "overload", "overload must be above 0");
    else if (json_object_get(body, "for_reports") && json_object_get(body, "for_s"))
        jv_fail(e, "invalid-value", "for_s", "give for_reports or for_s, not both");
    else if (json_object_get(full, "callback") &&
             strncmp(jv_str(full, "callback", ""), "http://", 7) &&
             strncmp(jv_str(full, "callback", ""), "https://", 8))
        jv_fail(e, "invalid-value", "callback", "callback must be an http:// or https:// URL");
    else if (rise && jv_num(rise, "to", 0) <= over)
        jv_fail(e, "invalid-value", "rise.to", "rise.to (%g) must be above overload (%g)",
                jv_num(rise, "to", 0), over);
    else
        return 0;
    return -1;
}

void fed_thresholds_defaults(json_t *p, int cooldown_s)
{
    if (!json_object_get(p, "underload"))
        json_object_set_new(p, "underload", json_real(0));
    if (!json_object_get(p, "for_reports") && !json_object_get(p, "for_s"))
        json_object_set_new(p, "for_reports", json_integer(DEFAULT_REPORTS));
    if (!json_object_get(p, "cooldown_s"))
        json_object_set_new(p, "cooldown_s", json_integer(cooldown_s));
    if (!json_object_get(p, "lifecycle"))
        json_object_set_new(p, "lifecycle", json_string("hold"));
}

void fed_streak_step(struct fed_streak *s, bool over, bool under)
{
    int64_t now = wall_ms();

    if (!over)
        s->over_n = 0, s->over_since_ms = 0;
    else if (s->over_n++ == 0)
        s->over_since_ms = now;
    if (!under)
        s->under_n = 0, s->under_since_ms = 0;
    else if (s->under_n++ == 0)
        s->under_since_ms = now;
}

void fed_streak_reset(struct fed_streak *s)
{
    memset(s, 0, sizeof(*s));
}

bool fed_lasted(const json_t *pol, unsigned n, int64_t since)
{
    if (json_object_get(pol, "for_s"))
        return since && wall_ms() - since >= jv_int(pol, "for_s", 1) * 1000;
    return n >= (unsigned)jv_int(pol, "for_reports", DEFAULT_REPORTS);
}

bool fed_cooling(int64_t last_ms, const json_t *pol)
{
    return last_ms && wall_ms() - last_ms < jv_int(pol, "cooldown_s", 0) * 1000;
}

json_int_t fed_secs_left(int64_t until_ms)
{
    int64_t left = until_ms ? until_ms - wall_ms() : 0;

    return left > 0 ? (left + 999) / 1000 : 0;
}

bool fed_overloaded(const json_t *pol, double value, const double *peers, size_t n,
                    const char *whose, double *at, char *how, size_t len)
{
    const json_t *rise = json_object_get(pol, "rise"), *rel = json_object_get(pol, "relative");
    double highest = value;
    unsigned busy = 0;

    for (size_t i = 0; i < n; i++) {
        highest = peers[i] > highest ? peers[i] : highest;
        busy += rise && peers[i] > jv_num(rise, "above", 0);
    }
    *at = jv_num(pol, "overload", 0);
    *how = '\0';
    if (rise && busy >= (unsigned)jv_int(rise, "peers", 1)) {
        *at = jv_num(rise, "to", *at);
        snprintf(how, len, " (risen: %u peers above %g)", busy, jv_num(rise, "above", 0));
    }
    if (value <= *at)
        return false;
    if (rel && value < highest * (1 - jv_num(rel, "within_pct", 0) / 100)) {
        snprintf(how + strlen(how), len - strlen(how), "; not within %g%% of %s highest load %.3f",
                 jv_num(rel, "within_pct", 0), whose, highest);
        return false;
    }
    if (rel)
        snprintf(how + strlen(how), len - strlen(how), ", within %g%% of %s highest %.3f",
                 jv_num(rel, "within_pct", 0), whose, highest);
    return true;
}

/* An operation scheduled on the manager (its report's load.scheduled,
 * lcm/schedule.h) to start within hold_before_s holds the decision too:
 * it is judged again once that operation has run (F25, claim 6). */
static bool held_by_schedule(const json_t *pol, const json_t *load, const char *mgr, char *op,
                             size_t oplen, char *reason, size_t len)
{
    long long window = jv_int(pol, "hold_before_s", 0);
    int64_t now = wall_ms();
    const json_t *s;
    size_t i;

    if (window <= 0)
        return false;
    json_array_foreach(json_object_get(load, "scheduled"), i, s)
    {
        if (jv_int(s, "at_ms", 0) - now > window * 1000)
            continue;
        snprintf(op, oplen, "%s", jv_str(s, "id", "?"));
        snprintf(reason, len,
                 "held: manager %s is scheduled to run %s of %s (%s) at %s, within hold_before_s "
                 "(%lld s) (policy lifecycle hold); judged again after it",
                 mgr, jv_str(s, "operation", "?"), jv_str(s, "deployment", "?"), op,
                 jv_str(s, "at", "?"), window);
        return true;
    }
    return false;
}

bool fed_held(const json_t *pol, const json_t *load, const char *mgr, char *op, size_t oplen,
              char *reason, size_t len)
{
    const char *run = json_string_value(json_array_get(json_object_get(load, "running"), 0));
    const json_t *ended = json_object_get(load, "ended");
    long long window = jv_int(pol, "hold_s", 0);
    int64_t at = 0;

    if (strcmp(jv_str(pol, "lifecycle", "hold"), "hold"))
        return false;
    if (run) {
        snprintf(op, oplen, "%s", run);
        snprintf(reason, len,
                 "held: manager %s runs lifecycle operation %s (policy lifecycle hold); "
                 "judged again when it ends",
                 mgr, run);
        return true;
    }
    if (held_by_schedule(pol, load, mgr, op, oplen, reason, len))
        return true;
    if (window > 0 && !time_parse(jv_str(ended, "at", ""), &at) && wall_ms() - at < window * 1000) {
        snprintf(op, oplen, "%s", jv_str(ended, "id", "?"));
        snprintf(reason, len,
                 "held: manager %s ran lifecycle operation %s, ended at %s, less than hold_s "
                 "(%lld s) ago (policy lifecycle hold); judged again after it",
                 mgr, op, jv_str(ended, "at", "?"), window);
        return true;
    }
    return false;
}

/* ---- decision records ---- */

static const struct outbox_channel callback_channel = {
    .name = "manager-policy",
    .attempts = CALLBACK_TRIES,
};

void fed_judge_init(struct core *c)
{
    if (c->outbox)
        outbox_register(c->outbox, &callback_channel);
}

/* The policy a decision of rule was made by, in the site's record. */
static const json_t *policy_of(const json_t *site, const char *rule)
{
    return json_object_get(site, strcmp(rule, "pool") == 0 ? "pool_policy" : "manager_policy");
}

void fed_decision_tell(struct core *c, const json_t *pol, const json_t *d)
{
    const char *url = jv_str(pol, "callback", NULL);
    char obj[64];
    struct outbox_msg msg = {.channel = callback_channel.name,
                             .key = url,
                             .object = obj,
                             .url = url,
                             .body = NULL,
                             .headers = NULL};

    if (!url)
        return;
    msg.headers = json_pack("[s]", "Content-Type: application/json");
    snprintf(obj, sizeof(obj), "decision/%s", jv_str(d, "id", ""));
    msg.body = doc_public(d);
    outbox_put(c, &msg);
}

int64_t fed_decided_at(struct core *c, const char *rule, const char *site)
{
    struct store_where w = {"rule", rule, false};
    struct store_list_opts o = {.where = &w, .n_where = 1, .newest_first = true};
    json_t *list = NULL, *d;
    int64_t at = 0;
    size_t i;

    if (store_list(c->st, STORE_DECISION, &o, &list))
        return 0;
    json_array_foreach(list, i, d)
    {
        const char *state = jv_str(d, "state", "");

        if (strcmp(jv_str(d, "site", ""), site) || !strcmp(state, "held") ||
            !strcmp(state, "refused"))
            continue;
        time_parse(jv_str(d, "created", ""), &at);
        break;
    }
    json_decref(list);
    return at;
}

void fed_decision_end(struct core *c, const char *id, const char *state, const char *note)
{
    json_t *d = id && *id ? core_load(c, STORE_DECISION, id) : NULL, *site;
    static const char *const ended[] = {"held", "refused", "completed", "failed", NULL};

    for (const char *const *s = ended; d && *s; s++)
        if (strcmp(jv_str(d, "state", ""), *s) == 0) {
            json_decref(d);
            return;
        }
    if (!d)
        return;
    doc_set_str(d, "state", state);
    doc_set_str(d, strcmp(state, "failed") == 0 ? "error" : "note", note);
    doc_touch(d, "updated");
    doc_touch(d, "finished");
    store_put(c->st, STORE_DECISION, d);
    site = core_load(c, STORE_SITE, jv_str(d, "site", ""));
    fed_decision_tell(c, policy_of(site, jv_str(d, "rule", "")), d);
    json_decref(site);
    core_event(c, strcmp(state, "failed") ? "info" : "warn", "policy", "decision",
               json_pack("{s:s, s:s, s:s, s:s, s:s}", "site", jv_str(d, "site", ""), "manager",
                         jv_str(d, "manager", ""), "decision", id, "rule", jv_str(d, "rule", ""),
                         "result", state),
               "decision %s %s: %s", id, state, note);
    json_decref(d);
}

json_t *fed_mgr_instruct(struct core *c, struct fed_mgr *m, const char *type, json_t *body)
{
    char id[32];
    json_t *ins;

    id_random(id, "in-", 12);
    m->next_seq++;
    ins = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:o}", "id", id, "manager", m->id, "seq",
                    (json_int_t)m->next_seq, "type", type, "state", "pending", "deployment", "",
                    "body", body);
    doc_touch(ins, "created");
    if (store_put(c->st, STORE_INSTRUCTION, ins) || fed_mgr_save_seq(c, m)) {
        json_decref(ins);
        return NULL;
    }
    fed_after_instruct(c, m, ins);
    return ins;
}
