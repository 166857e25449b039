/* Shared between the files of the process VIM driver. */
#ifndef VNFM_PROC_INTERNAL_H
#define VNFM_PROC_INTERNAL_H

#include "util/sandbox.h"
#include "util/cgroup.h"
#include "vim/vim.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct slots;
struct sandbox_base;

struct proc_vim {
    char site[64];
    char tag[16];
    char bridge[16];
    char *data_dir, *cmd_path;
    const char *
        program_dirs[SANDBOX_MAX_PATHS]; /* cmd_path's: kept in sight of VNFs with a private /tmp */
    struct sandbox_base *sandbox_base;   /* what VNFs' mount namespaces copy, or NULL */
    uint32_t gateway;
    unsigned prefix_len;
    struct cgroups cg;
    struct slots *slots;     /* warm VI slots (its thread runs even when it keeps none) */
    bool managers_only;      /* opened without a bridge: manager VIs only (vim.h) */
    pthread_mutex_t plug_mu; /* choosing a bridge with a free port (proc_bridge.c) */
};

/* What the driver's reference to a VI holds (vim.h "References"). */
struct pref {
    const char *vi;
    pid_t pid;      /* the VI's main process, 0 = not started */
    uint64_t start; /* its start time (field 22 of /proc/PID/stat): a reused pid is not it */
    uint32_t addr;  /* eth0's address, 0 = unknown */
    uid_t uid;      /* what it runs as (vi_spec.uid): a process of another uid is not it */
};

void pref_of(const struct vi_handle *h, struct pref *p);
/* {"ip": ..., "pid": ..., "start": ...}, a new object. */
json_t *pref_json(const struct pref *p);

/* Fills err (when given) with "what: strerror(-r)" and returns r. */
int proc_fail(struct vim_err *err, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The network namespace of a VI: vnfm-TAG-ID. */
void proc_ns_name(const struct proc_vim *v, const char *vi, char *buf, size_t len);
/* Host side of a VI's interface k: "vh" + VI id (+ k), at most 13 chars. */
void proc_host_if(const char *vi, unsigned k, char *buf, size_t len);

/* ---- processes (proc_spawn.c) ---- */

/* vim_ops.start: the VI's process, in what create() made. */
int proc_start(void *data, const struct vi_spec *spec, const struct vi_handle *h,
               struct vi_out *out, struct vim_err *err);
/* vim_ops.exit_fd: a pidfd of the VI's main process. */
int proc_exit_fd(void *data, const struct vi_handle *h);
/* Whether the VI's main process still runs (same start time and uid; a
 * zombie leader whose other threads still run counts as running). */
bool proc_main_alive(const struct pref *p);
int proc_claim(void *data, const struct vi_handle *h, pid_t pid, struct vi_out *out,
               struct vim_err *err);

/* ---- the VI's directory (proc_files.c) ---- */

/* DATA_DIR/vi/ID (malloc'd). */
char *vi_dir_path(const struct proc_vim *v, const char *vi);
/* Opens the VI's directory, made when missing, without following a link:
 * an O_DIRECTORY fd or -errno. */
int vi_dir_open(const struct proc_vim *v, const char *vi);
/* Gives the VI's directory (dfd) to uid, with everything in it when it
 * was another's. */
int vi_dir_give(const struct proc_vim *v, int dfd, const char *vi, uid_t uid);
/* Writes the day-0 files ([[path, content], ...]) below dfd, mode 0600,
 * owned by uid (unless 0) like the directories made for them, never
 * through a link the VNF put in their way. */
int vi_files_write(int dfd, const json_t *files, uid_t uid, const char *vi_name,
                   struct vim_err *err);
/* console.log in dfd for appending: a regular file of its own. fd or -errno. */
int vi_console_open(int dfd);
/* The last lines of the VI's console.log, '|' between them ("" without). */
void vi_console_tail(const struct proc_vim *v, const char *vi, char *out, size_t len);
int vi_dir_remove(const struct proc_vim *v, const char *vi);

/* ---- the site's bridges (proc_bridge.c) ---- */

/* The MAC address of an interface with address addr (02:76 and its four
 * bytes), NULL for 0. VIs and the bridges (by their gateway) have theirs. */
const uint8_t *proc_mac(uint32_t addr, uint8_t mac[6]);
/* Makes the site's bridge (or takes the one a run before made): its MAC,
 * the gateway address, up; refuses a subnet another interface uses; sizes
 * the kernel's neighbour table for the site. */
int bridge_open(struct proc_vim *v, struct vim_err *err);
/* Removes the site's bridges when no VI is plugged into them any more. */
void bridge_close(const struct proc_vim *v);
/* Plugs link ifindex into the site's bridge, or into a leaf bridge of it
 * when that has no port left (made as needed), and sets it up or down. */
int bridge_plug(struct proc_vim *v, int ifindex, bool up);

/* ---- warm VI slots (proc_slots.c) ----
 * A slot is what a VI deployment makes (cgroups, a network namespace with
 * its veth pair) made ahead of time under a name of its own; deploying a
 * VI takes one, renames it and gives it its address and limits. */

#define SLOT_PREFIX "slot"

/* Removes what an earlier run left of slots, then keeps target slots
 * ready on a thread of its own. NULL when the thread cannot start. */
struct slots *slots_start(struct proc_vim *v, unsigned target);
/* Keeps target slots from now on (more are made, or the extra removed). */
void slots_set_target(struct slots *s, unsigned target);
/* Stops the thread and removes the slots. Accepts NULL. */
void slots_stop(struct slots *s);
/* Makes a ready slot VI spec's. Returns 1 when there is none that fits
 * (the caller makes the VI from scratch), 0 when done, or a negative errno
 * when the slot could not be used (the caller makes the VI from scratch;
 * what the slot had is removed or left under the VI's names). */
int slots_claim(struct slots *s, const struct vi_spec *spec);
/* Slots ready now, and the number kept (0, 0 for NULL). */
unsigned slots_ready(struct slots *s, unsigned *target);

/* ---- a dead instance's leftovers (proc_cleanup.c) ---- */

/* Held by a manager while its sites are open, so that a cleanup of its tag
 * refuses: /run/vnfm/TAG.lock. -EWOULDBLOCK when another process has it. */
int instance_lock(const char *tag);
void instance_unlock(const char *tag);
/* vim_ops.cleanup of the proc driver. */
int proc_cleanup(const char *tag, char *report, size_t len);

/* ---- a VI handed to another manager instance (proc_move.c) ---- */

/* vim_ops.move of the proc driver. */
int proc_move(const struct vi_move *m, struct vim_err *err);

/* ---- children (proc_reap.c) ----
 * Every VNF process this manager starts is reaped by a thread as soon as it
 * has ended, whatever path ended it; its wait status is kept until the VI
 * is stopped. One reaper for every proc site of the process. */

/* Starts the reaper (the first site) or counts one more user. */
int reaper_open(void);
void reaper_close(void);
/* Watches our child pid (started at start) through pidfd, which it takes. */
void reaper_add(pid_t pid, uint64_t start, int pidfd);
/* The wait status of our child pid once it has ended and been reaped,
 * waiting for that until deadline_ms (mono_ms); -1 when it still runs then,
 * or when it is not our child (adopted after a restart). */
int reaper_status(pid_t pid, uint64_t start, uint64_t deadline_ms);
/* Drops what is kept of our child pid once it has been reaped. */
void reaper_forget(pid_t pid, uint64_t start);

#endif
