/* The agent VIM (docs/VIM_AGENT.md): the VIs of a site on another host,
 * made by a VIM agent there (`vnfmd --vim-agent URL`) that runs the
 * process VIM for this manager.
 *
 * Nothing at the agent's host listens: the agent dials out to its manager
 * and keeps a stream open (GET /vim/v1/channel, one JSON request a line),
 * on which the manager's driver sends each VIM operation; the agent runs it
 * with its own process VIM and posts the outcome back (POST
 * /vim/v1/result), and posts an `exit` when a VI it runs has ended. The
 * agent proves itself with a token whose SHA-256 is the site's option
 * `token_sha256` (the manager keeps no token).
 *
 * Two halves: the driver (vim_agent.c, `vim_agent_ops`) with what the
 * manager's routes call (rest/vim_routes.c), and the agent's process
 * (agent_run.c). wire.c turns the driver's arguments and results into
 * JSON and back, for both.
 */
#ifndef VNFM_VIM_AGENT_H
#define VNFM_VIM_AGENT_H

#include "vim/vim.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- the manager's side ---- */

struct agent_link;

/* The agent of site `site`, holding token, opens its stream: the link (a
 * newer one replaces the older, whose waiting operations fail), or NULL
 * with *status (404: no such agent site open here; 401: wrong token) and
 * why. wake(cls) is called, from any thread, when the link has lines to
 * send or has ended. */
struct agent_link *vim_agent_link_open(const char *site, const char *token, void (*wake)(void *cls),
                                       void *cls, int *status, char *why, size_t len);
/* The stream of l is set up: wake may be called from now on (it is, once:
 * the open request waits). */
void vim_agent_link_start(struct agent_link *l);
/* Copies up to max bytes of what waits to be sent: their count, 0 when
 * nothing waits, -1 once the link has ended. */
ssize_t vim_agent_link_read(struct agent_link *l, char *buf, size_t max);
/* The stream's connection has gone: the link ends (operations waiting on
 * it fail at once) and is freed. */
void vim_agent_link_close(struct agent_link *l);

/* An agent posts an outcome (or an exit) of site `site`: 0, or an HTTP
 * status with why (400 a malformed body, 401, 404). */
int vim_agent_post(const char *site, const char *token, const char *body, size_t len, char *why,
                   size_t why_len);

/* ---- the agent's process ---- */

struct agent_cfg {
    const char *url;        /* the manager's REST URL */
    const char *site;       /* the site of that manager whose VIs this host runs */
    const char *token_file; /* the token, on its first line */
    const char *ca_file;    /* https: the CA of the manager's certificate (NULL: the system's) */
    const char *data_dir;   /* the agent's own (its VIs' directories, its instance tag) */
    const char *vnf_path;   /* ':'-separated dirs searched first for VI commands */
    /* The move of a branch manager to the cloud that made this agent of it
     * (fed/relocate.c), or NULL: until the moved manager opens the VIM,
     * the agent asks the cloud (data_dir/fed.json: its URL and the
     * manager's credential) how the move stands. */
    const char *move;
};

/* vim_agent_run's exit status when the move that made the agent was
 * rolled back: the manager it was starts again (vnfmd.c). */
#define AGENT_ROLLED_BACK 3
/* ... when the manager returned to this host (fed/relocate.c): its store is
 * in the data dir again, and the manager starts there again (vnfmd.c). */
#define AGENT_RETURNED 4

/* Runs the agent until SIGTERM or SIGINT: the exit status (0; 1 when it
 * cannot start or the manager refuses its token; AGENT_ROLLED_BACK, AGENT_RETURNED). */
int vim_agent_run(const struct agent_cfg *cfg);

/* ---- the wire (wire.c) ---- */

json_t *wire_spec(const struct vi_spec *spec);
/* spec's strings point into j (valid while j is), its limits checked;
 * -EINVAL with why */
int wire_spec_parse(const json_t *j, struct vi_spec *spec, char *why, size_t len);
json_t *wire_handle(const struct vi_handle *h);
int wire_handle_parse(const json_t *j, struct vi_handle *h);
json_t *wire_out(const struct vi_out *out);
void wire_out_parse(const json_t *j, struct vi_out *out);

#endif
