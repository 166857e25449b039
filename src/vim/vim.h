/* The VIM driver interface (seed para 49, F7): the contract every driver
 * keeps, checked for each of them by tests/unit/test_vim_contract.c.
 *
 * A driver makes, runs and removes the virtual infrastructure (VI)
 * instances of one site. Each is a `static const struct vim_ops` in its own
 * folder (vim/proc/, vim/sim/), found by name with vim_driver_find().
 *
 * Threads. Every operation may block (fork/exec, netlink, file systems, a
 * remote API): the core calls them from its worker threads, never from its
 * event loop. Operations on different VIs of one site may run at the same
 * time, so a driver protects whatever state of its own they share.
 *
 * Names. What a driver makes for a VI is named after the manager's instance
 * tag and the VI id alone, so that status(), destroy() and list() find it
 * with nothing else after a crash, when the core may have lost the
 * reference the driver returned.
 *
 * References. A VI is the driver's: create() and start() may return a
 * reference to it (a JSON object: a process id and its start time, a
 * server id of a cloud API), which the core stores in the VI's record as it
 * is and hands back in every later vi_handle. The core never looks inside,
 * except for what vi_out reports beside it. A handle without a reference
 * (never made, or made by a run that crashed before it was recorded) must
 * still work.
 *
 * Idempotency. Creating what exists, starting what runs, stopping what is
 * stopped, destroying what is gone: each succeeds, and a call repeated after
 * a crash of the manager at any point finishes the job.
 *
 * Adoption. VIs outlive the manager: after a restart, status() of a handle
 * the previous run recorded tells whether the VI still runs.
 *
 * Return values: 0 or a negative errno. On failure the driver fills `err`
 * (when given) with one line for the operator, naming the VI or the site.
 */
#ifndef VNFM_VIM_H
#define VNFM_VIM_H

#include "util/jsonv.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define VIM_ID_MAX   16 /* VI ids are 10 lowercase hex digits (a manager VI's: see below) */
#define VIM_NAME_MAX 128
#define VIM_ERR_MAX  256
#define VIM_MAX_NICS 4

struct vim_err {
    char msg[VIM_ERR_MAX];
};

/* What a site's driver is opened with. */
struct vim_site {
    const char *name;     /* site name */
    const char *tag;      /* manager instance tag, 6 hex digits */
    const char *data_dir; /* the manager's; a driver keeps files of its own under it */
    const char *cmd_path; /* ':'-separated dirs searched first for VI commands (--vnf-path) */
    const char *bridge;   /* the site's network on the host (<= 15 chars), for drivers that
                           * attach VIs to one */
    uint32_t gateway;     /* the site's subnet (host byte order), when it has one */
    unsigned prefix_len;
    const json_t *options; /* the site's options, valid for site_options */
};

struct vi_nic {
    char bridge[16]; /* the host network the interface is attached to */
    char ifname[16]; /* name inside the VI, e.g. "eth0" */
    uint32_t addr;   /* host byte order; 0 = the driver gives one (VIM_ADDR_DRIVER) */
    unsigned prefix_len;
    uint32_t gateway; /* default route via this address; 0 = none */
};

/* Everything needed to make and start one VI. */
struct vi_spec {
    char id[VIM_ID_MAX];
    char name[VIM_NAME_MAX]; /* "deployment/vdu/index", for messages */
    /* The driver's members of the VDU (its vdu_fields: command and env for
     * proc), every string in them rendered with the VI's template
     * variables. Never NULL. */
    const json_t *vdu;
    /* The VI's template variables (docs/VNFD.md), for drivers that hand
     * some on to the VI (proc: its VNFM_* environment). */
    const json_t *vars;
    /* The rendered day-0 files, [[path, content], ...] (seed para 57): the
     * driver puts them into the VI, mode 0600 (they carry credentials),
     * at create() and again at every start() but a fresh one. */
    const json_t *files;
    bool fresh;            /* start(): nothing has run in the VI since create() put its files in */
    unsigned vcpu_milli;   /* CPU limit, 1000 = one CPU */
    uint64_t memory_bytes; /* memory limit */
    uint64_t disk_bytes;   /* accounted by the core; drivers may enforce */
    /* Who runs in the VI, for drivers that run its processes on the host
     * (proc): the VI's own uid, also its gid (core/runas.h), and whether an
     * admin on-boarded its VNFD, so that what the VDU asks for beyond a
     * tenant's rights (proc: capabilities) is granted. */
    uid_t uid;
    bool admin_vnfd;
    unsigned n_nics;
    struct vi_nic nics[VIM_MAX_NICS];
    /* A manager VI (see "Manager VIs" below): the VDU's `command` is the
     * manager's argv (its path absolute), its output is appended to log
     * (NULL: the manager's own stdout and stderr). */
    bool manager;
    const char *log;
};

/* Manager VIs. A manager starts managers of its own (fed/: a branch's new
 * instance, FIG. 4A; the cloud VNFM's own, claim 1) as VIs of its site's
 * VIM: CPU and memory limits like any VI, made, watched, stopped and
 * removed through the driver. What runs in one is the manager itself,
 * not a VNF: no network of its own (it talks on the host's), no sandbox,
 * no VI directory, and it runs as root with the manager's environment, so
 * only the manager makes one, never a VNFD (nothing a tenant sends sets
 * vi_spec.manager). Its id starts with VIM_MANAGER_PREFIX; list() leaves
 * it out, so the sweep of orphan VIs never takes a manager for one. A
 * driver that cannot run one fails create() with -EOPNOTSUPP. Managers
 * run on their manager's host: on its site's VIM when that is the process
 * VIM, else on a process VIM opened for them alone (vim_site.bridge NULL:
 * no network, no VNFs; fed/fed_internal.h fed_manager_vim). */
#define VIM_MANAGER_PREFIX "mgr-"

/* A VI as the core knows it: its id, and what the driver returned last. */
struct vi_handle {
    char id[VIM_ID_MAX];
    const json_t *ref; /* the driver's reference, NULL when there is none */
};

/* What create() and start() report. */
struct vi_out {
    json_t *ref; /* a new reference to the VI (owned by the caller), or NULL for none */
    pid_t pid;   /* the VI's main process as the host sees it (the VI's `pid`), 0 = none */
    uint32_t addr[VIM_MAX_NICS]; /* create(), VIM_ADDR_DRIVER: the addresses it gave */
};

enum vi_run_state {
    VI_ABSENT,  /* nothing of it exists on the VIM */
    VI_CREATED, /* it exists, nothing runs */
    VI_RUNNING,
    VI_EXITED, /* it exists, and what ran has ended */
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

/* Who gives a VI its addresses. */
enum vim_addressing {
    VIM_ADDR_SITE,   /* the core, from the site's subnet (proc) */
    VIM_ADDR_DRIVER, /* the driver, in create() (a cloud's DHCP, the sim) */
};

/* What vim_ops.move moves: the VI, the instance it leaves and the one it
 * goes to, and its limits (the destination's cgroups are made with them). */
struct vi_move {
    const char *vi;
    const char *from_tag, *from_dir;
    const char *to_tag, *to_dir;
    unsigned vcpu_milli;
    uint64_t memory_bytes;
};

struct vim_ops {
    const char *name;
    /* One line for `--help` and the docs. */
    const char *summary;
    enum vim_addressing addressing;
    /* The site's options (POST/PUT /v0/sites "options"), checked against
     * this table before open() or configure() sees them. */
    const struct jv_field *site_options;
    /* The members of a VDU that are this driver's (a NULL-terminated
     * table), checked at on-boarding; a VDU deployed to the driver's sites
     * must have the ones marked required. Strings in them are templates. */
    const struct jv_field *vdu_fields;

    /* Prepares the site (proc: the bridge, cgroup parents) and returns the
     * driver's private state. */
    int (*open)(const struct vim_site *site, void **data, struct vim_err *err);
    /* Takes new options of the site while it runs. Optional (without it
     * the options of an open site cannot change). */
    int (*configure)(void *data, const json_t *options, struct vim_err *err);
    /* Lets go of the site; the VIs keep running. */
    void (*close)(void *data);
    /* Cheap self check for the health API. */
    enum vim_health (*check)(void *data, struct vim_err *err);

    /* Makes the VI (isolation, network, limits) and puts its day-0 files in;
     * nothing runs yet. */
    int (*create)(void *data, const struct vi_spec *spec, struct vi_out *out, struct vim_err *err);
    /* Starts what the VI runs, in what create() made. */
    int (*start)(void *data, const struct vi_spec *spec, const struct vi_handle *h,
                 struct vi_out *out, struct vim_err *err);
    /* Stops everything the VI runs: asks first, ends it after grace_ms. */
    int (*stop)(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err);
    /* Stops the VI if needed and removes everything create() made. */
    int (*destroy)(void *data, const struct vi_handle *h, struct vim_err *err);
    /* Changes the CPU and memory limits of a running VI (F30). Optional. */
    int (*resize)(void *data, const struct vi_handle *h, unsigned vcpu_milli, uint64_t memory_bytes,
                  struct vim_err *err);
    /* Reads usage figures. Optional. */
    int (*stats)(void *data, const struct vi_handle *h, struct vi_stats *out, struct vim_err *err);
    /* What the VI's files take on disk, in bytes: slower than stats (a
     * walk of its files), for the site's load. Optional. */
    int (*disk)(void *data, const struct vi_handle *h, uint64_t *bytes, struct vim_err *err);
    /* Where the VI is (also after a restart of the manager: adoption). */
    int (*status)(void *data, const struct vi_handle *h, struct vi_status *st, struct vim_err *err);
    /* Whether the VI is ready to serve, for VIs the host cannot reach to
     * probe (the core probes the VDU's ready port itself otherwise). 0 when
     * ready; waits at most timeout_ms. Optional. */
    int (*ready)(void *data, const struct vi_handle *h, unsigned timeout_ms, struct vim_err *err);
    /* A new file descriptor, owned by the caller, that becomes readable
     * when what the VI runs has ended (a pidfd). Optional. */
    int (*exit_fd)(void *data, const struct vi_handle *h);
    /* Where the VI finds its day-0 files, as it sees them (the template
     * variable day0_dir). Optional: without it day0_dir is empty. */
    void (*day0_dir)(void *data, const char *vi, char *buf, size_t len);
    /* The last lines the VI printed, to explain why it did not come up.
     * Optional. */
    void (*console)(void *data, const struct vi_handle *h, char *buf, size_t len);
    /* The ids of every VI of this manager instance on the VIM, for the
     * orphan sweep; *ids is an array the caller frees with vim_ids_free(). */
    int (*list)(void *data, char ***ids, size_t *n, struct vim_err *err);
    /* Adds what the driver shows of the site to its view (proc: its warm
     * VIs; sim: that it is a simulation). Optional; any thread. */
    void (*view)(void *data, json_t *site_view);
    /* Removes what the dead manager instance tag left on this VIM, with no
     * site open (`vnfmd --cleanup TAG`). -EBUSY while that manager or VIs of
     * it still run. One line for the operator in report. Optional. */
    int (*cleanup)(const char *tag, char *report, size_t len);
    /* Gives a running VI made under the names of one manager instance
     * (from: its tag and data dir) the names of another (to), its process
     * untouched (same pid): the handover of a deployment between managers
     * of one host (fed/handover.c). Like cleanup it needs no open site.
     * Idempotent: a move done already, or half done by a run that died,
     * is finished. Optional: a driver without it cannot hand VIs over. */
    int (*move)(const struct vi_move *m, struct vim_err *err);
    /* Makes pid, a process that entered the cgroups of manager VI h on its
     * own (a hot standby that took the VI's manager over, fed/standby.c),
     * the VI's main process: it is moved into each of them (where its own
     * move fell short) and out->ref refers to the VI with it. Manager VIs
     * only (-EINVAL for another); -ESRCH when pid does not run. Optional:
     * a driver without it cannot run standbys. */
    int (*claim)(void *data, const struct vi_handle *h, pid_t pid, struct vi_out *out,
                 struct vim_err *err);
    /* Sets the site's service endpoints (vim/endpoint.h, ep_apply's doc)
     * on the host that runs its VIs, when that is another one (the agent's:
     * a branch whose manager moved to the cloud, fed/relocate.c). Blocks
     * for a round trip. Optional: without it they are this host's. */
    int (*endpoints)(void *data, const json_t *doc, struct vim_err *err);
    /* Hands the site back to the host that runs its VIs, whose manager
     * moved to this one (fed/relocate.c): op "return_file" sends a chunk of
     * this manager's store there ({offset, data (base64), end}), op "return"
     * ({move}) has the agent put it in place and start the manager there
     * again (it answers before it does). args taken. Blocks for a round
     * trip. Optional: the agent driver's. */
    int (*hand_back)(void *data, const char *op, json_t *args, struct vim_err *err);
};

const struct vim_ops *vim_driver_find(const char *name);
/* Names of all drivers, NULL terminated. */
const char *const *vim_driver_names(void);
void vim_ids_free(char **ids, size_t n);
/* Fills err (when given) with the message; returns r. */
int vim_fail(struct vim_err *err, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

extern const struct vim_ops vim_proc_ops;
extern const struct vim_ops vim_sim_ops;
extern const struct vim_ops vim_agent_ops;
/* The process VIM's VDU members (also the agent VIM's, vim/agent/). */
extern const struct jv_field vim_proc_vdu_fields[];

#endif
