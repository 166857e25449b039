/* Resource limits in cgroups (of the proc VIM's VIs, and of the managers a
 * branch manager starts, fed/spawn.c), version 1 or 2, whichever the host
 * runs (detected from /proc/self/mountinfo). On a hybrid host (v1
 * controllers plus an empty v2 tree, as on our CI machines) v1 is used.
 *
 * Layout: v1 <controller mount>/vnfm/<tag>/<vi> for cpu, cpuacct, memory
 * and pids; v2 <root>/vnfm/<tag>/<vi> with the controllers enabled in the
 * parents. All calls return 0 or a negative errno. */
#ifndef VNFM_CGROUP_H
#define VNFM_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_MAX_DIRS 4

struct cgroups {
    int version;                      /* 1 or 2 */
    char base[CG_MAX_DIRS][PATH_MAX]; /* v1: one per distinct controller mount; v2: one */
    unsigned n_base;
    int cpu, cpuacct, memory, pids; /* index into base of each controller, -1 = none */
    char rel[96];                   /* "vnfm/<tag>" */
};

/* Finds the hierarchy and creates this manager's parent groups. */
int cg_init(struct cgroups *cg, const char *tag);
/* Creates the VI's groups (idempotent) and sets its limits. */
int cg_create(const struct cgroups *cg, const char *vi, unsigned vcpu_milli, uint64_t memory);
int cg_set_limits(const struct cgroups *cg, const char *vi, unsigned vcpu_milli, uint64_t memory);
/* Opens cgroup.procs of every group of the VI for writing (for a child to
 * join them with "0"). Returns the number of fds or -errno. */
int cg_open_procs(const struct cgroups *cg, const char *vi, int fds[CG_MAX_DIRS]);
/* The live (not zombie) processes of the VI; *pids is malloc'd. */
int cg_pids(const struct cgroups *cg, const char *vi, pid_t **pids, size_t *n);
bool cg_exists(const struct cgroups *cg, const char *vi);
/* Removes the VI's groups; -EBUSY while processes remain. */
int cg_destroy(const struct cgroups *cg, const char *vi);
/* Removes the manager instance's own cgroup directories when no VI is left
 * in them (a stopping manager; its VNFs outlive it). */
void cg_release(const struct cgroups *cg);
/* Gives the (empty) cgroups of VI from the name of VI to. */
int cg_rename(const struct cgroups *cg, const char *from, const char *to);
/* Moves process pid (its whole thread group) into the VI's groups. */
int cg_move_pid(const struct cgroups *cg, const char *vi, pid_t pid);
int cg_usage(const struct cgroups *cg, const char *vi, uint64_t *cpu_ns, uint64_t *mem,
             uint64_t *mem_limit);
/* Names of the VI groups of this manager, in any of its controllers; *ids
 * is an array of malloc'd strings. */
int cg_list(const struct cgroups *cg, char ***ids, size_t *n);
/* Whether this manager's parent group is still there and writable. */
bool cg_usable(const struct cgroups *cg, char *why, size_t len);

#endif
