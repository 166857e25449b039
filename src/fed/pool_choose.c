/* Which deployments move (pool.h). Exhaustive over the sets of the
 * movable deployments by size, smallest first, up to SEARCH_MAX of them
 * (2^16 sets at most); beyond that the largest first (greedy), which may
 * move one more than needed. */
#include "fed/pool.h"

#include <stdio.h>
#include <string.h>

#define SEARCH_MAX 16

static const char *const placements[] = {
    [PLACE_CLOUD_ALLOWED] = "cloud-allowed",
    [PLACE_PREFER_BRANCH] = "prefer-branch",
    [PLACE_BRANCH_ONLY] = "branch-only",
};

enum pool_placement pool_placement_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof(placements) / sizeof(*placements); i++)
        if (strcmp(name, placements[i]) == 0)
            return (enum pool_placement)i;
    return PLACE_CLOUD_ALLOWED;
}

const char *pool_placement_name(enum pool_placement p)
{
    return placements[p <= PLACE_BRANCH_ONLY ? p : PLACE_CLOUD_ALLOWED];
}

static double share(double used, double cap)
{
    return cap > 0 ? used / cap : 0;
}

double pool_value(const struct pool_use *u)
{
    double c = share(u->vcpu, u->cap_vcpu), m = share(u->memory_mb, u->cap_memory_mb),
           d = share(u->disk_mb, u->cap_disk_mb);

    return c > m ? (c > d ? c : d) : (m > d ? m : d);
}

/* The shares of the branch a candidate takes, added: how much its move relieves. */
static double weight(const struct pool_use *u, const struct pool_cand *x)
{
    return share(x->vcpu, u->cap_vcpu) + share(x->memory_mb, u->cap_memory_mb) +
           share(x->disk_mb, u->cap_disk_mb);
}

/* u less what x uses. */
static void take(struct pool_use *u, const struct pool_cand *x)
{
    u->vcpu -= x->vcpu;
    u->memory_mb -= x->memory_mb;
    u->disk_mb -= x->disk_mb;
}

/* A set of the movable candidates (bits of idx[]) and what it does. */
struct set {
    unsigned long bits;
    unsigned n, prefer;
    double moved, after, need_vcpu, need_mb, need_disk_mb;
};

static void measure(const struct pool_use *u, const struct pool_cand *c, const size_t *idx,
                    size_t m, unsigned long bits, struct set *s)
{
    struct pool_use left = *u;

    memset(s, 0, sizeof(*s));
    s->bits = bits;
    for (size_t i = 0; i < m; i++) {
        const struct pool_cand *x = &c[idx[i]];

        if (!(bits & (1ul << i)))
            continue;
        s->n++;
        s->prefer += x->placement == PLACE_PREFER_BRANCH;
        s->moved += weight(u, x);
        take(&left, x);
        s->need_vcpu += x->need_vcpu;
        s->need_mb += x->need_memory_mb;
        s->need_disk_mb += x->need_disk_mb;
    }
    s->after = pool_value(&left);
}

static bool fits(const struct pool_use *u, const struct set *s)
{
    return (u->free_vcpu < 0 || s->need_vcpu <= u->free_vcpu + 1e-9) &&
           (u->free_memory_mb < 0 || s->need_mb <= u->free_memory_mb + 1e-9) &&
           (u->free_disk_mb < 0 || s->need_disk_mb <= u->free_disk_mb + 1e-9);
}

static bool better(const struct set *a, const struct set *b)
{
    if (a->prefer != b->prefer)
        return a->prefer < b->prefer;
    return a->moved < b->moved - 1e-12;
}

/* The best set under threshold that fits, into *best (false: none);
 * *under: some set brings the branch under threshold, fitting or not
 * (the one of them with the fewest moves in *tight). */
static bool search(const struct pool_use *u, double threshold, const struct pool_cand *c,
                   const size_t *idx, size_t m, struct set *best, struct set *tight, bool *under)
{
    unsigned long all = 1ul << m;
    bool found = false;

    *under = false;
    for (unsigned k = 1; k <= m && !found; k++)
        for (unsigned long bits = 1; bits < all; bits++) {
            struct set s;

            if ((unsigned)__builtin_popcountl(bits) != k)
                continue;
            measure(u, c, idx, m, bits, &s);
            if (s.after >= threshold)
                continue;
            if (!*under || better(&s, tight))
                *tight = s;
            *under = true;
            if (fits(u, &s) && (!found || better(&s, best))) {
                *best = s;
                found = true;
            }
        }
    return found;
}

/* Largest first, for more candidates than an exhaustive search takes. */
static bool greedy(const struct pool_use *u, double threshold, const struct pool_cand *c,
                   size_t *idx, size_t m, struct set *best, struct set *tight, bool *under)
{
    for (size_t i = 1; i < m; i++) /* by share moved, descending (insertion sort) */
        for (size_t j = i; j > 0; j--) {
            const struct pool_cand *a = &c[idx[j - 1]], *b = &c[idx[j]];

            if (weight(u, a) >= weight(u, b))
                break;
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    *under = false;
    for (size_t k = 1; k <= m && k < 8 * sizeof(unsigned long); k++) {
        measure(u, c, idx, m, (1ul << k) - 1, best);
        if (best->after < threshold) {
            *tight = *best;
            *under = true;
            return fits(u, best);
        }
    }
    return false;
}

static void rejected(const struct pool_use *u, double threshold, struct pool_cand *x,
                     const struct set *best)
{
    struct pool_use left = *u;

    take(&left, x);
    if (best->n == 1 && pool_value(&left) >= threshold)
        snprintf(x->why, sizeof(x->why),
                 "too small: moving it alone leaves the branch at %.3f, not under %g",
                 pool_value(&left), threshold);
    else
        snprintf(x->why, sizeof(x->why), "not needed: %u move%s bring%s the branch to %.3f%s",
                 best->n, best->n == 1 ? "" : "s", best->n == 1 ? "s" : "", best->after,
                 x->placement == PLACE_PREFER_BRANCH ? " (prefer-branch: moved only if needed)"
                                                     : "");
}

int pool_choose(const struct pool_use *u, double threshold, struct pool_cand *c, size_t n,
                double *after, char *why, size_t len)
{
    size_t idx[64], m = 0;
    struct set best = {0}, tight = {0};
    bool under, ok;

    *after = pool_value(u);
    for (size_t i = 0; i < n; i++) {
        c[i].chosen = false;
        if (c[i].placement == PLACE_BRANCH_ONLY)
            snprintf(c[i].why, sizeof(c[i].why), "placement branch-only: it may not leave");
        else if (c[i].busy)
            snprintf(c[i].why, sizeof(c[i].why), "busy: %s", c[i].busy);
        else if (m < sizeof(idx) / sizeof(*idx))
            idx[m++] = i;
        else
            snprintf(c[i].why, sizeof(c[i].why), "not considered: more than %zu may move", m);
    }
    if (m == 0) {
        snprintf(why, len,
                 "no deployment may move: %zu at the branch, none that is not "
                 "branch-only or busy",
                 n);
        return -1;
    }
    ok = m <= SEARCH_MAX ? search(u, threshold, c, idx, m, &best, &tight, &under)
                         : greedy(u, threshold, c, idx, m, &best, &tight, &under);
    if (!under) {
        measure(u, c, idx, m, m < 8 * sizeof(unsigned long) ? (1ul << m) - 1 : ~0ul, &tight);
        snprintf(why, len,
                 "moving all %zu deployment%s that may move leaves the branch at %.3f, not "
                 "under %g",
                 m, m == 1 ? "" : "s", tight.after, threshold);
        return -1;
    }
    if (!ok) {
        snprintf(why, len,
                 "the cloud has no room: the fewest moves (%u) need %.2f vCPU, %.0f MB memory "
                 "and %.0f MB disk, it has %.2f vCPU, %.0f MB and %.0f MB free",
                 tight.n, tight.need_vcpu, tight.need_mb, tight.need_disk_mb, u->free_vcpu,
                 u->free_memory_mb, u->free_disk_mb < 0 ? 0 : u->free_disk_mb);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        struct pool_cand *x = &c[idx[i]];

        if (best.bits & (1ul << i)) {
            x->chosen = true;
            snprintf(x->why, sizeof(x->why),
                     "chosen: it uses %.2f vCPU, %.0f MB memory and %.0f MB disk; %u move%s "
                     "bring%s the branch from %.3f to %.3f, under %g",
                     x->vcpu, x->memory_mb, x->disk_mb, best.n, best.n == 1 ? "" : "s",
                     best.n == 1 ? "s" : "", pool_value(u), best.after, threshold);
        } else {
            rejected(u, threshold, x, &best);
        }
    }
    *after = best.after;
    snprintf(why, len, "%u move%s bring%s the branch from %.3f to %.3f, under %g", best.n,
             best.n == 1 ? "" : "s", best.n == 1 ? "s" : "", pool_value(u), best.after, threshold);
    return (int)best.n;
}
