#include "policy/rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const cmps[] = {">", ">=", "<", "<=", "==", "!=", NULL};

/* ---- evaluation ---- */

const char *rule_cmp_name(enum rule_cmp c)
{
    return cmps[c];
}

void rule_cond_parse(const json_t *rule, struct rule_cond *c)
{
    const char *metric = jv_str(rule, "metric", ""), *stage = jv_str(rule, "stage", "");
    const char *op = jv_str(rule, "op", ">"), *scope = jv_str(rule, "scope", NULL);
    size_t n = strlen(metric);
    int k = mstat_kind_parse(jv_str(rule, "stat", "last"));

    memset(c, 0, sizeof(*c));
    c->up = n > 3 && strcmp(metric + n - 3, ".up") == 0;
    snprintf(c->metric, sizeof(c->metric), "%.*s", (int)(c->up ? n - 3 : n), metric);
    c->stat = k < 0 ? MSTAT_LAST : (enum mstat_kind)k;
    for (int i = 0; cmps[i]; i++)
        if (strcmp(cmps[i], op) == 0)
            c->cmp = (enum rule_cmp)i;
    c->threshold = jv_num(rule, "threshold", 0);
    c->occurrences = (unsigned)jv_int(rule, "occurrences", 1);
    c->for_ms = (uint64_t)(jv_num(rule, "for_s", 0) * 1000.0);
    c->clear_after = (unsigned)jv_int(rule, "clear_after", 1);
    c->cooldown_ms = (uint64_t)(jv_num(rule, "cooldown_s", 30) * 1000.0);
    /* failures concern one VI; load concerns the group */
    c->per_vi = scope ? strcmp(scope, "vi") == 0 : c->up || strstr(stage, "failure") != NULL;
}

bool rule_match(const struct rule_cond *c, double v)
{
    switch (c->cmp) {
    case CMP_GT:
        return v > c->threshold;
    case CMP_GE:
        return v >= c->threshold;
    case CMP_LT:
        return v < c->threshold;
    case CMP_LE:
        return v <= c->threshold;
    case CMP_EQ:
        return fabs(v - c->threshold) < 1e-9;
    case CMP_NE:
        return fabs(v - c->threshold) >= 1e-9;
    }
    return false;
}

static bool established(const struct rule_cond *c, const struct rule_state *st, uint64_t now)
{
    if (c->for_ms)
        return st->since_ms && now - st->since_ms >= c->for_ms;
    return st->hits >= c->occurrences;
}

unsigned rule_step(const struct rule_cond *c, struct rule_state *st, bool match, uint64_t now)
{
    unsigned ev = RULE_NONE;

    if (!match) {
        st->hits = 0;
        st->since_ms = 0;
        st->misses++;
        if (st->raised && st->misses >= c->clear_after) {
            st->raised = false;
            ev |= RULE_CLEARED;
        }
        return ev;
    }
    st->misses = 0;
    st->hits++;
    if (!st->since_ms)
        st->since_ms = now ? now : 1;
    if (!established(c, st, now))
        return ev;
    if (!st->raised) {
        st->raised = true;
        ev |= RULE_RAISED;
    }
    if (!st->in_flight && now >= st->cooldown_until) {
        ev |= RULE_FIRE;
        st->hits = 0;
        st->since_ms = now ? now : 1;
    }
    return ev;
}

void rule_done(const struct rule_cond *c, struct rule_state *st, uint64_t now)
{
    st->in_flight = false;
    st->cooldown_until = now + c->cooldown_ms;
    st->hits = 0;
    st->since_ms = 0;
}
