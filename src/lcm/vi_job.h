/* Work on one VI instance, done by a provisioning worker (seed para 54, 57):
 * make it, start it, wait until it answers, restart it, stop it, destroy it.
 * A job is built on the loop thread from copies of the records, so that the
 * worker never touches the store; the worker renders what the VI gets (its
 * template variables, the driver's VDU members, its day-0 files), makes
 * every VIM call, and reports back to the loop. */
#ifndef VNFM_VI_JOB_H
#define VNFM_VI_JOB_H

#include "core/core.h"
#include "core/wpool.h"
#include "vim/vim.h"

#include <stdatomic.h>

/* VA_STOP ends a VI's processes and keeps its isolation (SOL003 operate). */
enum vi_action {
    VA_NONE,
    VA_CREATE,
    VA_START,
    VA_READY,
    VA_REBOOT,
    VA_DESTROY,
    VA_RESIZE,
    VA_STOP,
};

/* How a heal brings a VI back (VA_REBOOT). */
enum heal_policy {
    HEAL_REBOOT_THEN_REDEPLOY, /* restart in place; if that fails, make it anew */
    HEAL_REDEPLOY,             /* destroy and make it anew */
    HEAL_REBOOT,               /* restart in place only */
};

/* "reboot", ... -> policy (the default for NULL or unknown names). */
enum heal_policy heal_policy_parse(const char *name);

struct site_rt;

struct vijob {
    struct wjob w;
    struct core *c;
    char op[40];
    char vi[VIM_ID_MAX];
    char name[VIM_NAME_MAX]; /* "deployment/vdu/index" */
    enum vi_action act;
    struct site_rt *site;
    json_t *dep, *vdu, *rec; /* the worker's copies: deployment, its VDU, the VI record */
    struct vi_handle h;      /* h.ref borrowed from rec (or from out.ref once there is one) */
    unsigned grace_ms;
    enum heal_policy heal;
    int grace_override_ms; /* >= 0: the operation's grace (operate, graceful terminate) */
    bool fresh;            /* never started: nothing of an earlier attempt to clear */
    bool admin_vnfd;       /* an admin on-boarded the VNFD (core/runas.h) */
    /* VA_CREATE that goes on to start the VI when it succeeded (the
     * lifecycle engine journalled both before: lifecycle.c, fused_start) */
    bool then_start;
    bool created;                /* then_start: the creation succeeded (rc is the start's) */
    unsigned start_step;         /* then_start: the plan step that starts the VI */
    const atomic_bool *no_start; /* then_start: set when a cancel came meanwhile */
    unsigned ready_port, ready_timeout_ms;
    char *ready_path; /* HTTP readiness when set */
    /* results */
    int rc;
    char err[512];
    struct vi_out out; /* out.ref owned by the job */
    bool made;         /* create() ran and succeeded: out.addr holds what a driver gave */
    int exit_fd;       /* after a start: what becomes readable when the VI ends, or -1 */
    void (*on_done)(struct vijob *j);
};

/* Builds a job for vi (a VI record) of deployment dep. Returns NULL with a
 * reason in err when the job cannot be built (e.g. the site has no VIM). */
struct vijob *vijob_new(struct core *c, enum vi_action act, const json_t *dep, const json_t *vi,
                        char *err, size_t errlen);
void vijob_free(struct vijob *j);
/* The wjob work function of every VI job. */
void vijob_work(struct wjob *w);
const char *vi_action_name(enum vi_action a);

/* Fills h from a VI record (h->ref borrowed from it). */
void vi_handle_from_doc(const json_t *vi, struct vi_handle *h);

#endif
