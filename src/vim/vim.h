/* The VIM driver interface (seed para 49, F7).
 *
 * A driver starts and stops the virtual infrastructure (VI) instances of one
 * site. Each driver is a `static const struct vim_ops` in its own file
 * (vim_proc.c, ...), found by name with vim_driver_find(). Every operation
 * may block (fork/exec, netlink, file systems): the core calls them from its
 * provisioning worker threads, never from the event loop. Operations on
 * different VIs of one site may run concurrently, so a driver protects any
 * shared state of its own.
 *
 * Names of everything a driver creates on the host are derived from the
 * manager's instance tag and the VI id alone, so that destroy() and list()
 * work from nothing but those two after a crash. All operations are
 * idempotent: creating what exists, or destroying what is gone, succeeds.
 *
 * Return values: 0 or a negative errno. On failure the driver fills
 * `err` (when given) with one line for the operator.
 */
#ifndef VNFM_VIM_H
#define VNFM_VIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define VIM_ID_MAX   16 /* VI ids are 10 lowercase hex digits */
#define VIM_NAME_MAX 128
#define VIM_ERR_MAX  256
#define VIM_MAX_NICS 4

struct vim_err {
    char msg[VIM_ERR_MAX];
};

/* What a site's driver is opened with. */
struct vim_site {
    const char *name;      /* site name */
    const char *tag;       /* manager instance tag, 6 hex digits, in every host name */
    const char *data_dir;  /* manager data dir; VI work dirs live under it */
    const char *bridge;    /* the site's bridge (<= 15 chars) */
    uint32_t gateway;      /* bridge address, host byte order */
    unsigned prefix_len;   /* of the site subnet */
    const json_t *options; /* driver specific options from the site config, or NULL */
};

struct vi_nic {
    char bridge[16]; /* host bridge the interface is plugged into */
    char ifname[16]; /* name inside the VI, e.g. "eth0" */
    uint32_t addr;   /* host byte order; 0 = no address */
    unsigned prefix_len;
    uint32_t gateway; /* default route via this address; 0 = none */
};

/* Everything needed to create and start one VI. */
struct vi_spec {
    char id[VIM_ID_MAX];
    char name[VIM_NAME_MAX]; /* "deployment/group/index", for logs only */
    const char *workdir;     /* exists; day-0 files are already rendered into it */
    char *const *argv;       /* command, argv[0] searched in PATH */
    char *const *envp;       /* complete environment for the VNF */
    unsigned vcpu_milli;     /* CPU limit, 1000 = one CPU */
    uint64_t memory_bytes;   /* memory limit */
    uint64_t disk_bytes;     /* accounted by the core; drivers may enforce */
    unsigned n_nics;
    struct vi_nic nics[VIM_MAX_NICS];
};

/* What identifies a started VI; the core stores it in the VI record. */
struct vi_handle {
    char id[VIM_ID_MAX];
    pid_t pid;          /* main process, 0 = not started */
    uint64_t pid_start; /* start time of pid (field 22 of /proc/PID/stat) */
};

enum vi_run_state {
    VI_ABSENT,  /* nothing of it exists on the VIM */
    VI_CREATED, /* resources exist, no process */
    VI_RUNNING,
    VI_EXITED, /* resources exist, the process has ended */
};

struct vi_status {
    enum vi_run_state state;
    int exit_status; /* wait status when EXITED and known, else -1 */
};

struct vi_stats {
    uint64_t cpu_usage_ns; /* cumulative CPU time */
    uint64_t memory_bytes; /* current usage */
    uint64_t memory_limit;
    unsigned nprocs;
};

enum vim_health {
    VIM_OK = 0,
    VIM_UNREACHABLE,    /* health code 2020 */
    VIM_NO_CREDENTIALS, /* health code 2030 */
};

struct vim_ops {
    const char *name;
    /* Prepares the site (bridge with the gateway address, cgroup parents)
     * and returns the driver's private state. */
    int (*open)(const struct vim_site *site, void **data, struct vim_err *err);
    /* Takes new driver options of the site (site->options) while it runs.
     * Optional; -EINVAL with a reason for options it refuses. */
    int (*configure)(void *data, const json_t *options, struct vim_err *err);
    void (*close)(void *data);
    /* Cheap self check for the health API. */
    enum vim_health (*check)(void *data, struct vim_err *err);
    /* Creates the VI's isolation (namespaces, interfaces, cgroups, limits). */
    int (*create)(void *data, const struct vi_spec *spec, struct vim_err *err);
    /* Starts the VI's process in what create() made; fills h. */
    int (*start)(void *data, const struct vi_spec *spec, struct vi_handle *h, struct vim_err *err);
    /* Stops every process of the VI: SIGTERM, then SIGKILL after grace_ms. */
    int (*stop)(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err);
    /* Stops the VI if needed and removes everything create() made. */
    int (*destroy)(void *data, const struct vi_handle *h, struct vim_err *err);
    /* Changes the CPU and memory limits of a running VI (F30). Optional. */
    int (*resize)(void *data, const struct vi_handle *h, unsigned vcpu_milli, uint64_t memory_bytes,
                  struct vim_err *err);
    /* Reads usage figures. Optional. */
    int (*stats)(void *data, const struct vi_handle *h, struct vi_stats *out, struct vim_err *err);
    /* Tells whether the VI still runs (also after a restart of the manager,
     * when its processes are no longer our children: adoption). Reaps the
     * process when it is our exited child. */
    int (*status)(void *data, const struct vi_handle *h, struct vi_status *st, struct vim_err *err);
    /* Returns a new file descriptor that becomes readable when the VI's
     * main process ends (a pidfd), owned by the caller. Optional. */
    int (*exit_fd)(void *data, const struct vi_handle *h);
    /* Lists the ids of all VIs of this manager instance that exist on the
     * VIM, for the orphan sweep after a crash. *ids is an array of strings
     * the caller frees with vim_ids_free(). */
    int (*list)(void *data, char ***ids, size_t *n, struct vim_err *err);
    /* VIs made in advance and ready to be taken (*target kept), for the
     * site view. Optional; callable from any thread. */
    unsigned (*warm)(void *data, unsigned *target);
    /* Removes what the manager instance tag, dead, left on this VIM (every
     * VI, network and group named after it), with no site open: `vnfmd
     * --cleanup TAG`. Refuses with -EBUSY while that manager runs or VNF
     * processes of it still run. Puts one line for the operator in report.
     * Optional (a driver whose VIs live in the manager needs none). */
    int (*cleanup)(const char *tag, char *report, size_t len);
};

const struct vim_ops *vim_driver_find(const char *name);
/* Names of all drivers, NULL terminated. */
const char *const *vim_driver_names(void);
void vim_ids_free(char **ids, size_t n);

extern const struct vim_ops vim_proc_ops;
/* The most warm VIs a proc site may keep (its option warm_vis). */
#define PROC_WARM_MAX 64

#endif
