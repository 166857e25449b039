#include "util/cgroup.h"
#include "util/fsutil.h"
#include "util/spawn.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000
#define PIDS_MAX      "4096"

/* Adds a v1 controller's mount point, sharing it when co-mounted. */
static int add_base(struct cgroups *cg, const char *mnt)
{
    for (unsigned i = 0; i < cg->n_base; i++)
        if (strcmp(cg->base[i], mnt) == 0)
            return (int)i;
    if (cg->n_base == CG_MAX_DIRS)
        return -1;
    snprintf(cg->base[cg->n_base], PATH_MAX, "%s", mnt);
    return (int)cg->n_base++;
}

static bool has_opt(const char *opts, const char *want)
{
    size_t n = strlen(want);

    for (const char *p = opts; (p = strstr(p, want)); p += n)
        if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Reads mountinfo(5): "... mountpoint ... - fstype source superopts". */
static int scan_mounts(struct cgroups *cg, char *v2_root, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], mnt[PATH_MAX], fstype[64], opts[1024];

    if (!f)
        return -errno;
    *v2_root = '\0';
    cg->cpu = cg->cpuacct = cg->memory = cg->pids = -1;
    while (fgets(line, sizeof(line), f)) {
        char *dash = strstr(line, " - ");

        if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
            continue;
        if (strcmp(fstype, "cgroup2") == 0 && strcmp(mnt, "/sys/fs/cgroup") == 0)
            snprintf(v2_root, len, "%s", mnt);
        if (strcmp(fstype, "cgroup") != 0)
            continue;
        if (has_opt(opts, "cpu"))
            cg->cpu = add_base(cg, mnt);
        if (has_opt(opts, "cpuacct"))
            cg->cpuacct = add_base(cg, mnt);
        if (has_opt(opts, "memory"))
            cg->memory = add_base(cg, mnt);
        if (has_opt(opts, "pids"))
            cg->pids = add_base(cg, mnt);
    }
    fclose(f);
    return 0;
}

static char *path_of(const struct cgroups *cg, int base, const char *vi, const char *file)
{
    return xasprintf("%s/%s%s%s%s%s", cg->base[base], cg->rel, vi ? "/" : "", vi ? vi : "",
                     file ? "/" : "", file ? file : "");
}

static int knob(const struct cgroups *cg, int base, const char *vi, const char *file,
                const char *value)
{
    char *p;
    int r;

    if (base < 0)
        return 0;
    p = path_of(cg, base, vi, file);
    r = write_knob(p, value);
    free(p);
    return r;
}

/* v2: the controllers must be enabled in every parent's subtree_control. */
static void enable_v2_controllers(const struct cgroups *cg)
{
    char *p = xasprintf("%s/cgroup.subtree_control", cg->base[0]);
    const char *ctrl[] = {"+cpu", "+memory", "+pids"};

    for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++)
        write_knob(p, ctrl[i]);
    free(p);
    p = xasprintf("%s/vnfm/cgroup.subtree_control", cg->base[0]);
    for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++)
        write_knob(p, ctrl[i]);
    free(p);
    for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++)
        knob(cg, 0, NULL, "cgroup.subtree_control", ctrl[i]);
}

int cg_init(struct cgroups *cg, const char *tag)
{
    char v2_root[PATH_MAX];
    int r;

    memset(cg, 0, sizeof(*cg));
    snprintf(cg->rel, sizeof(cg->rel), "vnfm/%s", tag);
    r = scan_mounts(cg, v2_root, sizeof(v2_root));
    if (r)
        return r;
    if (*v2_root) {
        cg->version = 2;
        cg->n_base = 1;
        snprintf(cg->base[0], PATH_MAX, "%s", v2_root);
        cg->cpu = cg->cpuacct = cg->memory = cg->pids = 0;
    } else if (cg->memory >= 0) {
        cg->version = 1;
    } else {
        return -ENOTSUP;
    }
    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, NULL, NULL);

        r = mkdir_p(p, 0755);
        free(p);
        if (r)
            return r;
    }
    if (cg->version == 2)
        enable_v2_controllers(cg);
    return 0;
}

int cg_set_limits(const struct cgroups *cg, const char *vi, unsigned vcpu_milli, uint64_t memory)
{
    char quota[64], mem[32];
    long q = (long)vcpu_milli * CPU_PERIOD_US / 1000;
    int r;

    snprintf(mem, sizeof(mem), "%" PRIu64, memory);
    if (cg->version == 2) {
        snprintf(quota, sizeof(quota), "%ld %d", q, CPU_PERIOD_US);
        r = knob(cg, cg->cpu, vi, "cpu.max", quota);
        if (r == 0)
            r = knob(cg, cg->memory, vi, "memory.max", mem);
        return r;
    }
    snprintf(quota, sizeof(quota), "%d", CPU_PERIOD_US);
    r = knob(cg, cg->cpu, vi, "cpu.cfs_period_us", quota);
    snprintf(quota, sizeof(quota), "%ld", q);
    if (r == 0)
        r = knob(cg, cg->cpu, vi, "cpu.cfs_quota_us", quota);
    if (r == 0)
        r = knob(cg, cg->memory, vi, "memory.limit_in_bytes", mem);
    return r;
}

int cg_create(const struct cgroups *cg, const char *vi, unsigned vcpu_milli, uint64_t memory)
{
    int r;

    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, vi, NULL);

        r = mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
        free(p);
        if (r)
            return r;
    }
    r = knob(cg, cg->pids, vi, "pids.max", PIDS_MAX);
    return r ? r : cg_set_limits(cg, vi, vcpu_milli, memory);
}

int cg_open_procs(const struct cgroups *cg, const char *vi, int fds[CG_MAX_DIRS])
{
    /* v1: "tasks" moves the one thread that writes, which is all a child
     * that has not exec'd yet is, without the global lock that moving a
     * whole thread group takes (and its wait for an RCU grace period) */
    const char *file = cg->version == 1 ? "tasks" : "cgroup.procs";

    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, vi, file);

        fds[i] = open(p, O_WRONLY | O_CLOEXEC);
        free(p);
        if (fds[i] < 0) {
            int r = -errno;

            while (i-- > 0)
                close(fds[i]);
            return r;
        }
    }
    return (int)cg->n_base;
}

int cg_move_pid(const struct cgroups *cg, const char *vi, pid_t pid)
{
    char buf[24];
    int r = 0;

    snprintf(buf, sizeof(buf), "%d", (int)pid);
    for (unsigned i = 0; i < cg->n_base && r == 0; i++) {
        char *p = path_of(cg, (int)i, vi, "cgroup.procs");

        r = write_knob(p, buf);
        free(p);
    }
    return r == -ESRCH ? 0 : r; /* it ended meanwhile */
}

int cg_pids(const struct cgroups *cg, const char *vi, pid_t **pids, size_t *n)
{
    int base = cg->pids >= 0 ? cg->pids : cg->memory;
    char *p = path_of(cg, base, vi, "cgroup.procs"), *text = NULL, *tok, *save;
    size_t cap = 0;
    int r;

    *pids = NULL;
    *n = 0;
    r = read_file(p, 1 << 20, &text, NULL);
    free(p);
    if (r)
        return r == -ENOENT ? 0 : r;
    for (tok = strtok_r(text, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
        pid_t pid = (pid_t)atoi(tok);

        if (pid <= 0 || spawn_ended(pid))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *pids = xrealloc(*pids, cap * sizeof(**pids));
        }
        (*pids)[(*n)++] = pid;
    }
    free(text);
    return 0;
}

bool cg_exists(const struct cgroups *cg, const char *vi)
{
    char *p = path_of(cg, cg->memory, vi, NULL);
    bool yes = access(p, F_OK) == 0;

    free(p);
    return yes;
}

/* Whether dir has a subdirectory (a cgroup below it). */
static bool has_children(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool any = false;

    while (d && !any && (e = readdir(d)))
        any = e->d_type == DT_DIR && e->d_name[0] != '.';
    if (d)
        closedir(d);
    return any;
}

void cg_release(const struct cgroups *cg)
{
    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, NULL, NULL);

        /* a child just removed is freed by the kernel a moment later */
        for (int tries = 0; !has_children(p) && rmdir(p) < 0 && errno == EBUSY && tries < 50;
             tries++)
            usleep(10000);
        free(p);
    }
}

int cg_rename(const struct cgroups *cg, const char *from, const char *to)
{
    int r = 0;

    for (unsigned i = 0; i < cg->n_base && r == 0; i++) {
        char *a = path_of(cg, (int)i, from, NULL), *b = path_of(cg, (int)i, to, NULL);

        if (rename(a, b) < 0)
            r = -errno;
        free(a);
        free(b);
    }
    return r;
}

int cg_destroy(const struct cgroups *cg, const char *vi)
{
    int r = 0;

    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, vi, NULL);

        if (rmdir(p) < 0 && errno != ENOENT && r == 0)
            r = -errno;
        free(p);
    }
    return r;
}

static int read_u64(const struct cgroups *cg, int base, const char *vi, const char *file,
                    const char *key, uint64_t *out)
{
    char *p, *text = NULL, *at;
    int r;

    if (base < 0)
        return -ENOENT;
    p = path_of(cg, base, vi, file);
    r = read_file(p, 1 << 16, &text, NULL);
    free(p);
    if (r)
        return r;
    at = key ? strstr(text, key) : text;
    if (at && key)
        at += strlen(key);
    *out = at ? (strncmp(at, "max", 3) == 0 ? UINT64_MAX : strtoull(at, NULL, 10)) : 0;
    free(text);
    return at ? 0 : -ENOENT;
}

int cg_usage(const struct cgroups *cg, const char *vi, uint64_t *cpu_ns, uint64_t *mem,
             uint64_t *mem_limit)
{
    int r;

    if (cg->version == 2) {
        r = read_u64(cg, cg->cpu, vi, "cpu.stat", "usage_usec ", cpu_ns);
        *cpu_ns *= 1000;
        if (r == 0)
            r = read_u64(cg, cg->memory, vi, "memory.current", NULL, mem);
        if (r == 0)
            r = read_u64(cg, cg->memory, vi, "memory.max", NULL, mem_limit);
        return r;
    }
    r = read_u64(cg, cg->cpuacct, vi, "cpuacct.usage", NULL, cpu_ns);
    if (r == 0)
        r = read_u64(cg, cg->memory, vi, "memory.usage_in_bytes", NULL, mem);
    if (r == 0)
        r = read_u64(cg, cg->memory, vi, "memory.limit_in_bytes", NULL, mem_limit);
    return r;
}

/* Adds the groups under base to ids, those not there yet. */
static int list_base(const struct cgroups *cg, int base, char ***ids, size_t *n, size_t *cap)
{
    char *p = path_of(cg, base, NULL, NULL);
    DIR *d = opendir(p);
    struct dirent *e;
    size_t i;

    free(p);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        for (i = 0; i < *n && strcmp((*ids)[i], e->d_name) != 0; i++)
            ;
        if (i < *n)
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *ids = xrealloc(*ids, *cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = xstrdup(e->d_name);
    }
    closedir(d);
    return 0;
}

/* Every controller's: a manager killed while it made, renamed or removed a
 * group (one controller after the other on v1) left it in some only. */
int cg_list(const struct cgroups *cg, char ***ids, size_t *n)
{
    size_t cap = 0;
    int r = 0;

    *ids = NULL;
    *n = 0;
    for (unsigned i = 0; i < cg->n_base && r == 0; i++)
        r = list_base(cg, (int)i, ids, n, &cap);
    if (r) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return r;
}

bool cg_usable(const struct cgroups *cg, char *why, size_t len)
{
    for (unsigned i = 0; i < cg->n_base; i++) {
        char *p = path_of(cg, (int)i, NULL, NULL);
        int ok = access(p, W_OK) == 0;

        if (!ok)
            snprintf(why, len, "cgroup %s is missing or not writable: %s", p, strerror(errno));
        free(p);
        if (!ok)
            return false;
    }
    return true;
}
