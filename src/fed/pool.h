/* The branch pool's chooser (docs/FEDERATION.md "The branch pool", issue
 * 13; SPEC F21): which deployments of an overloaded branch move to the
 * cloud. Pure: it sees figures, not records (pool.c gathers them), so
 * that it is tested on its own (tests/unit/test_pool.c). */
#ifndef VNFM_FED_POOL_H
#define VNFM_FED_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* A VNFD's placement (docs/VNFD.md "placement"). */
enum pool_placement {
    PLACE_CLOUD_ALLOWED = 0, /* the default: may run at the branch or in the cloud */
    PLACE_PREFER_BRANCH,     /* may move, only when needed, and comes back (move-back) */
    PLACE_BRANCH_ONLY,       /* never leaves its branch */
};

enum pool_placement pool_placement_of(const char *name);
const char *pool_placement_name(enum pool_placement p);

/* What a branch uses now against its capacity (a capacity of 0 leaves
 * that resource out of the judging), and the room its deployments would
 * find in the cloud (free_*; negative: no limit). */
struct pool_use {
    double vcpu, memory_mb, disk_mb;
    double cap_vcpu, cap_memory_mb, cap_disk_mb;
    double free_vcpu, free_memory_mb, free_disk_mb;
};

/* One deployment of the branch. In: what it uses at the branch and holds
 * (what its clone would need in the cloud), its placement, and why it
 * cannot move now (busy: an operation runs, it is not active, ...; NULL:
 * it can). Out: chosen, and why (chosen or rejected). */
struct pool_cand {
    const char *id;
    double vcpu, memory_mb, disk_mb;
    double need_vcpu, need_memory_mb, need_disk_mb;
    enum pool_placement placement;
    const char *busy;
    bool manager; /* the branch's own manager (id: its id), not a deployment */
    bool chosen;
    char why[256];
};

/* The value of a use: the largest of its CPU, memory and disk shares. */
double pool_value(const struct pool_use *u);

/* Chooses the fewest deployments of cands whose moves bring the branch's
 * value strictly under threshold and whose clones fit the cloud's room;
 * among sets of that size, the one with the fewest prefer-branch
 * deployments, then the least load moved, then the first in the order
 * given. Every candidate gets why it was chosen or rejected (placement,
 * busy, too small, not needed). Returns how many were chosen, or -1 with
 * why when no set will do (nothing may move, all that may move are not
 * enough, or the cloud has no room); *after is the value left. */
int pool_choose(const struct pool_use *u, double threshold, struct pool_cand *cands, size_t n,
                double *after, char *why, size_t len);

#endif
