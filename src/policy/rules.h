/* Rules (seed para 60-61 and 85, F14): a condition on a metric of a
 * deployment, the lifecycle stage it stands for (overloaded, underloaded,
 * VNF failure, infrastructure failure or a custom stage) and the actions
 * that follow. Monitoring definitions and rules come from the VNFD and live
 * with the deployment, where the API can change them at run time (F16).
 *
 * This module holds the evaluation of one rule over a series of samples: N consecutive matches
 * (or a match held for a duration) raise the rule and fire its actions;
 * M consecutive misses clear it. Documented in docs/MONITORING.md;
 * the format is catalog/vnfd_policy.h.
 */
#ifndef VNFM_RULES_H
#define VNFM_RULES_H

#include "util/jsonv.h"
#include "util/mstat.h"

#include <stdbool.h>
#include <stdint.h>

enum rule_cmp { CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_EQ, CMP_NE };

/* A rule's condition, parsed. */
struct rule_cond {
    char metric[72]; /* a metric name, without ".up" */
    bool up;         /* the condition is on the metric's health (1 answered, 0 not) */
    enum mstat_kind stat;
    enum rule_cmp cmp;
    double threshold;
    unsigned occurrences; /* consecutive matches that raise it */
    uint64_t for_ms;      /* or: a match held this long */
    unsigned clear_after; /* consecutive misses that clear it */
    uint64_t cooldown_ms; /* after its actions ended, before it fires again */
    bool per_vi;          /* evaluated for each VI (else on the VDU's aggregate) */
};

/* What one rule knows about one of its targets (a VI or a VDU). */
struct rule_state {
    unsigned hits, misses;
    uint64_t since_ms; /* first match of the current run of matches; 0 = none */
    bool raised;
    bool in_flight;          /* its actions are running */
    uint64_t cooldown_until; /* monotonic ms */
    double last_value;
    bool has_value;
};

enum rule_event {
    RULE_NONE = 0,
    RULE_RAISED = 1 << 0,  /* the condition is now established */
    RULE_FIRE = 1 << 1,    /* run the actions now */
    RULE_CLEARED = 1 << 2, /* the condition is gone */
};

/* Parses rule (already validated). */
void rule_cond_parse(const json_t *rule, struct rule_cond *c);
/* Whether value matches the condition. */
bool rule_match(const struct rule_cond *c, double value);
/* Feeds one evaluation (a sample, or a tick of an aggregate) into st.
 * Returns RULE_* bits. A fire resets the count, so that firing again needs
 * the condition to hold anew (and the cooldown to have passed). */
unsigned rule_step(const struct rule_cond *c, struct rule_state *st, bool match, uint64_t now_ms);
/* The rule's actions ended: start its cooldown. */
void rule_done(const struct rule_cond *c, struct rule_state *st, uint64_t now_ms);
const char *rule_cmp_name(enum rule_cmp c);

#endif
