/* A branch manager's move to the cloud, the branch's side (docs/FEDERATION.md
 * "Moving a branch manager to the cloud"; seed para 1011; the cloud's side
 * is mgr_move.c).
 *
 * The instruction `relocate` (a move id, the port the moved manager will
 * listen on in the cloud, and the token of the VIM agent that stays here)
 * is refused while this manager cannot move as it is: an operation
 * running, managers it started, service endpoints it keeps, a store that
 * is not SQLite, a site whose VIs are not the process VIM's. Otherwise,
 * once applied, this manager stops taking requests (503 "moving"), stops
 * reporting, copies its store as committed (store_snapshot), and sends
 * the copy with its credential and admin token to the cloud, in chunks
 * (POST /fed/v1/relocation/MOVE/chunk). Then it asks the cloud, every
 * POLL_MS, how the move stands (POST /fed/v1/relocation/MOVE/fate):
 *
 * - "handover" (the moved manager runs in the cloud): it becomes the VIM
 *   agent of its site (exec, the same pid; its VIs keep running and stay
 *   its process's children), with its instance tag and data dir, so that
 *   the process VIM finds its VIs as a restarted manager would; the agent
 *   dials the moved manager (vim/agent/agent_run.c).
 * - rolled back or failed: it starts again as it was (exec of its own
 *   command line): a restart, as after a crash at the snapshot.
 *
 * Whatever this manager's loop commits after the snapshot (a probe's
 * verdict, a heal the rules start) is not in the copy: the moved manager
 * finds the VIs as they are at its start, as after a kill -9 at that
 * point.
 *
 * The instruction `return`, to the moved manager (docs/FEDERATION.md
 * "Moving it back to its branch"): refused while it cannot go back as it
 * is (its site not run through a connected agent, an operation running,
 * managers it started); else it stops taking requests and reporting,
 * copies its store and hands it to the agent at the branch through its
 * site's VIM driver (hand_back: chunks, then `return`, after which the
 * agent becomes the manager again), and tells the cloud how it went (POST
 * /fed/v1/relocation/MOVE/returned). */
#include "fed/fed_internal.h"
#include "fed/standby.h"
#include "core/auth.h"
#include "lcm/sites.h"
#include "util/doc.h"
#include "util/etcd.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_BYTES  (512 * 1024) /* base64: under the 1 MiB of a request */
#define FILE_MAX     (256u << 20)
#define POLL_MS      100
#define TRY_MS       10000
#define SAY_EVERY_MS 30000
#define SNAP_DIR     "relocate"

struct reloc {
    struct fed *f;
    char move[32];
    char token[64];
    unsigned port;
    char base[512];           /* the cloud VNFM it talks to */
    char service_address[64]; /* its endpoints', kept by the moved manager */
    char *auth;
    pthread_t thread;
    bool running, stop; /* stop: read atomically */
    bool back;          /* a return to its branch (the moved manager's side) */
    int snap_rc;        /* back: the copy of the store failed */
};

static const char *const files[] = {"vnfm.db", "fed.json", "admin.token"};

/* Why this manager cannot move as it is, in why; false when it can. */
static bool cannot_move(struct core *c, char *why, size_t len, bool proc)
{
    static const char *const running[] = {"starting", "processing", "rolling_back"};
    struct site_rt *s = site_get(c, c->cfg->site);
    long ops = 0;

    for (size_t i = 0; i < ARRAY_SIZE(running); i++) {
        struct store_where w = {"state", running[i], false};
        long n = store_count(c->st, STORE_OP, &w, 1);

        ops += n > 0 ? n : 0;
    }

    if (c->cfg->store)
        snprintf(why, len, "its store is %s, not SQLite in its data dir", c->cfg->store);
    else if (store_count(c->st, STORE_SITE, NULL, 0) != 1)
        snprintf(why, len, "it runs more sites than its own");
    else if (proc && (!s || s->ops != &vim_proc_ops))
        snprintf(why, len, "its site %s is not run by the process VIM", c->cfg->site);
    else if (ops > 0)
        snprintf(why, len, "%ld lifecycle operation(s) running: move it once they end", ops);
    else if (c->fed->children.size > 0)
        snprintf(why, len, "it runs %zu manager(s) it started (elastic managers, standbys)",
                 c->fed->children.size);
    else
        return false;
    return true;
}

static void begin(struct core *c, void *arg);
static bool cannot_return(struct core *c, char *why, size_t len);

/* The instruction of move applied, unless this manager moves already or
 * cannot (why, from its check): it refuses requests from now, and its
 * thread starts after the commit. The move's record, or NULL with t->res
 * set. */
static struct reloc *take(struct core *c, struct txn *t, const char *move, bool back,
                          bool (*cannot)(struct core *, char *, size_t))
{
    const char *where = back ? "returns to its branch" : "moves to the cloud";
    struct reloc *r;
    char why[256];

    if (c->fed->reloc) {
        result_fail(&t->res, 409, "conflict", NULL, NULL, "this manager is moving already");
        return NULL;
    }
    if (cannot(c, why, sizeof(why))) {
        result_fail(&t->res, 409, "conflict", NULL, NULL, "manager %s cannot %s: %s",
                    c->fed->mgr_id, back ? "return" : "move", why);
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->f = c->fed;
    r->back = back;
    snprintf(r->move, sizeof(r->move), "%s", move);
    c->fed->reloc = r;
    snprintf(c->moving, sizeof(c->moving), "this manager %s (move %s): ask the cloud VNFM", where,
             move);
    core_event(
        c, "info", "fed", "move", json_pack("{s:s, s:s}", "object", c->fed->mgr_id, "move", move),
        "manager %s %s (move %s): requests are refused from now", c->fed->mgr_id, where, move);
    result_ok(&t->res, 202, json_pack("{s:s}", "move", move));
    core_after_commit(c, begin, r, NULL);
    return r;
}

static bool cannot_go(struct core *c, char *why, size_t len)
{
    return cannot_move(c, why, len, true);
}

/* The instruction `relocate` (downlink.c). */
void fed_relocate_apply(struct core *c, struct txn *t)
{
    const char *move = jv_str(t->body, "move", ""), *token = jv_str(t->body, "token", "");
    json_int_t port = jv_int(t->body, "port", 0);
    struct reloc *r;

    if (!*move || strlen(move) >= sizeof(r->move) || strlen(token) < 16 ||
        strlen(token) >= sizeof(r->token) || port < 1 || port > 65535) {
        result_fail(&t->res, 400, "bad-instruction", "field", "body",
                    "relocate: expected move, token and port");
        return;
    }
    if ((r = take(c, t, move, false, cannot_go))) { /* its thread starts after the commit */
        snprintf(r->token, sizeof(r->token), "%s", token);
        r->port = (unsigned)port;
    }
}

/* The instruction `return` (downlink.c): this manager, moved to the cloud,
 * goes back to its branch. */
void fed_return_apply(struct core *c, struct txn *t)
{
    const char *move = jv_str(t->body, "move", "");

    if (!*move || strlen(move) >= sizeof(((struct reloc *)0)->move)) {
        result_fail(&t->res, 400, "bad-instruction", "field", "body", "return: expected move");
        return;
    }
    take(c, t, move, true, cannot_return);
}

/* ---- the thread: the copy sent, then the move's fate ---- */

static int post(struct reloc *r, const char *what, json_t *body, json_t **answer, char *err,
                size_t len)
{
    char *url = xasprintf("%s/fed/v1/relocation/%s/%s", r->base, r->move, what);
    char *text = json_dumps(body, JSON_COMPACT);
    const char *hdrs[] = {r->auth, "Content-Type: application/json", NULL};
    struct httpc_resp resp;
    int rc = httpc_do(&(struct httpc_req){.url = url,
                                          .body = text,
                                          .headers = hdrs,
                                          .timeout_ms = TRY_MS,
                                          .connect_timeout_ms = 3000,
                                          .max_response = 64 * 1024,
                                          .ca_file = r->f->c->cfg->cloud_ca,
                                          .cancel = &r->stop},
                      &resp);

    if (rc == 0 && resp.status != 200) {
        snprintf(err, len, "HTTP %ld %.200s", resp.status, resp.body ? resp.body : "");
        rc = resp.status == 409 || resp.status == 404 || resp.status == 401 ? -EPERM : -EIO;
    } else if (rc) {
        snprintf(err, len, "%s", resp.err);
    } else if (answer) {
        *answer = json_loads(resp.body ? resp.body : "", 0, NULL);
    }
    httpc_resp_done(&resp);
    json_decref(body);
    free(text);
    free(url);
    return rc;
}

static bool stopped(struct reloc *r)
{
    return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

/* POST .../what (body taken), sent again while the cloud does not answer:
 * a cloud VNFM that restarts meanwhile, up to a minute. */
static int post_again(struct reloc *r, const char *what, json_t *body, char *err, size_t len)
{
    int rc = -EIO;

    for (unsigned tries = 0; tries < 60 && !stopped(r); tries++) {
        rc = post(r, what, json_incref(body), NULL, err, len);
        if (rc == 0 || rc == -EPERM) /* taken, or refused for good */
            break;
        usleep(1000000);
    }
    json_decref(body);
    return rc;
}

/* Sends file name of dir in chunks (each sent again while the cloud does not answer). */
static int send_file(struct reloc *r, const char *dir, const char *name, char *err, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name), *data = NULL;
    size_t n = 0, off = 0;
    int rc = read_file(path, FILE_MAX, &data, &n);

    if (rc) {
        snprintf(err, len, "%s: %s", path, strerror(-rc));
        free(path);
        return rc;
    }
    do {
        if (stopped(r)) {
            rc = -ECANCELED;
            snprintf(err, len, "stopped");
            break;
        }
        size_t k = n - off > CHUNK_BYTES ? CHUNK_BYTES : n - off;
        char *b64 = etcd_b64(data + off, k);

        rc = post_again(r, "chunk",
                        json_pack("{s:s, s:I, s:s, s:b}", "file", name, "offset", (json_int_t)off,
                                  "data", b64, "end", off + k == n),
                        err, len);
        free(b64);
        off += k;
    } while (rc == 0 && off < n);
    free(data);
    free(path);
    return rc;
}

static int send_copy(struct reloc *r, const char *snap, char *err, size_t len)
{
    const struct config *cfg = r->f->c->cfg;
    int rc = 0;

    for (size_t i = 0; i < ARRAY_SIZE(files) && rc == 0; i++)
        rc = send_file(r, i == 0 ? snap : cfg->data_dir, files[i], err, len);
    if (rc == 0 && cfg->cloud_ca) {
        char *ca = NULL, *b64 = NULL;

        rc = read_file(cfg->cloud_ca, 1 << 20, &ca, NULL);
        if (rc == 0) {
            b64 = etcd_b64(ca, strlen(ca));
            rc = post_again(r, "chunk",
                            json_pack("{s:s, s:I, s:s, s:b}", "file", "cloud-ca.pem", "offset",
                                      (json_int_t)0, "data", b64, "end", 1),
                            err, len);
        } else {
            snprintf(err, len, "%s: %s", cfg->cloud_ca, strerror(-rc));
        }
        free(b64);
        free(ca);
    }
    if (rc == 0)
        rc = post_again(r, "chunk",
                        json_pack("{s:s, s:s, s:s?}", "done", "1", "cloud_url", r->base,
                                  "service_address",
                                  r->service_address[0] ? r->service_address : NULL),
                        err, len);
    return rc;
}

/* The agent's URL: the cloud's host as this manager reaches it, the
 * moved manager's port. */
static void agent_url(const struct reloc *r, char *out, size_t len)
{
    const char *host = strstr(r->base, "://"), *end;
    size_t n;

    host = host ? host + 3 : r->base;
    end = host[0] == '[' ? strchr(host, ']') : NULL;
    end = end ? end + 1 : host + strcspn(host, ":/");
    n = (size_t)(end - r->base);
    snprintf(out, len, "%.*s:%u", (int)n, r->base, r->port);
}

/* Becomes the VIM agent of its site (exec). Returns only on failure. */
static void become_agent(struct reloc *r)
{
    const struct config *cfg = r->f->c->cfg;
    char url[600], *tag = xasprintf("%s/agent.tag", cfg->data_dir),
                   *tok = xasprintf("%s/agent.token", cfg->data_dir);
    const char *argv[24];
    size_t n = 0;

    agent_url(r, url, sizeof(url));
    if (write_file_atomic(tag, r->f->c->tag, strlen(r->f->c->tag), 0600, true) ||
        write_file_atomic(tok, r->token, strlen(r->token), 0600, true)) {
        log_error("fed: move %s: cannot write the agent's files in %s", r->move, cfg->data_dir);
        free(tag);
        free(tok);
        return;
    }
    argv[n++] = "vnfmd";
    argv[n++] = "--vim-agent";
    argv[n++] = url;
    argv[n++] = "--site";
    argv[n++] = cfg->site;
    argv[n++] = "--vim-agent-token-file";
    argv[n++] = tok;
    argv[n++] = "--data-dir";
    argv[n++] = cfg->data_dir;
    argv[n++] = "--vim-agent-move";
    argv[n++] = r->move;
    if (cfg->cloud_ca) {
        argv[n++] = "--vim-agent-ca";
        argv[n++] = cfg->cloud_ca;
    }
    if (cfg->vnf_path) {
        argv[n++] = "--vnf-path";
        argv[n++] = cfg->vnf_path;
    }
    if (cfg->fed_insecure)
        argv[n++] = "--fed-insecure";
    if (cfg->log_level) {
        argv[n++] = "--log-level";
        argv[n++] = cfg->log_level;
    }
    argv[n] = NULL;
    log_warn("fed: move %s: the manager runs in the cloud now: this process becomes the VIM agent "
             "of site %s for %s",
             r->move, cfg->site, url);
    if (r->f->c->lock_fd >= 0) /* no manager on the dir while the agent runs */
        standby_pass_lock(r->f->c->lock_fd);
    execv("/proc/self/exe", (char **)argv);
    log_error("fed: move %s: cannot become the VIM agent: %s", r->move, strerror(errno));
    free(tag);
    free(tok);
}

static void start_again(struct reloc *r, const char *why)
{
    log_warn("fed: move %s: %s: this manager starts again as it was", r->move, why);
    standby_exec_recorded(r->f->c->cfg->data_dir);
    log_error("fed: move %s: cannot start again (%s): stop and start it", r->move, strerror(errno));
    _exit(1);
}

static void *run(void *arg)
{
    struct reloc *r = arg;
    const struct config *cfg = r->f->c->cfg;
    char *snap = xasprintf("%s/%s", cfg->data_dir, SNAP_DIR), err[512] = "";
    uint64_t said = mono_ms();
    int rc = send_copy(r, snap, err, sizeof(err));

    rm_rf(snap);
    free(snap);
    if (rc && !stopped(r)) {
        log_error("fed: move %s: cannot send the copy of this manager to the cloud: %s", r->move,
                  err);
        start_again(r, "the copy was not sent");
    }
    if (stopped(r))
        return NULL;
    log_info("fed: move %s: the copy of this manager is at the cloud; waiting for its start there",
             r->move);
    while (!stopped(r)) {
        json_t *a = NULL;
        const char *state, *stage;

        usleep(POLL_MS * 1000);
        if (stopped(r))
            break;
        rc = post(r, "fate", json_object(), &a, err, sizeof(err));
        state = jv_str(a, "state", "");
        stage = jv_str(a, "stage", "");
        if (jv_int(a, "port", 0) > 0 && jv_int(a, "port", 0) < 65536) /* started again elsewhere */
            r->port = (unsigned)jv_int(a, "port", 0);
        if (rc == 0 && (strcmp(stage, "handover") == 0 || strcmp(state, "completed") == 0)) {
            json_decref(a);
            become_agent(r);
            start_again(r, "it cannot become the agent");
        }
        if (rc == -EPERM || (rc == 0 && strcmp(state, "processing"))) {
            char why[600];

            if (rc)
                snprintf(why, sizeof(why), "the cloud does not know the move (%s)", err);
            else
                snprintf(why, sizeof(why), "the move is %s (%s)", state,
                         jv_str(a, "error", "no reason given"));
            json_decref(a);
            start_again(r, why);
        }
        json_decref(a);
        if (ms_since(mono_ms(), said) > SAY_EVERY_MS) {
            said = mono_ms();
            log_info("fed: move %s: still waiting for the cloud (%s)", r->move, rc ? err : stage);
        }
    }
    return NULL;
}

/* ---- the return to the branch: the moved manager's side ---- */

/* Tells the cloud how the hand-back went. */
static void tell(struct reloc *r, bool ok, const char *error)
{
    char err[512] = "";

    if (post_again(r, "returned", json_pack("{s:b, s:s*}", "ok", ok, "error", error), err,
                   sizeof(err)))
        log_error("fed: move %s: cannot tell the cloud how the return went: %s", r->move, err);
}

/* The copy of the store goes to the agent at the branch, in chunks, and
 * the agent puts it in place and starts the manager there (it answers
 * before): this manager then does nothing more until the cloud stops it.
 * A refusal of the agent: this manager starts again as it was. No answer
 * to the last step: whether the branch took over is not known here, so
 * this manager stays stopped (the cloud sees which one reports). */
static void *run_back(void *arg)
{
    struct reloc *r = arg;
    struct core *c = r->f->c;
    struct site_rt *s = site_get(c, c->cfg->site);
    char *dir = xasprintf("%s/%s", c->cfg->data_dir, SNAP_DIR), *path, *data = NULL, err[600] = "";
    struct vim_err ve = {""};
    size_t n = 0, off = 0;
    bool last = false;
    int rc = r->snap_rc;

    path = xasprintf("%s/vnfm.db", dir);
    if (rc == 0 && (rc = read_file(path, FILE_MAX, &data, &n)) == 0 && n == 0)
        rc = -ENODATA;
    if (rc)
        snprintf(err, sizeof(err), "cannot copy its store: %s", strerror(-rc));
    while (rc == 0 && off < n && !stopped(r)) {
        size_t k = n - off > CHUNK_BYTES ? CHUNK_BYTES : n - off;
        char *b64 = etcd_b64(data + off, k);

        rc = s->ops->hand_back(s->vim, "return_file",
                               json_pack("{s:I, s:s, s:b}", "offset", (json_int_t)off, "data", b64,
                                         "end", off + k == n),
                               &ve);
        free(b64);
        off += k;
    }
    if (rc == 0 && !stopped(r)) {
        last = true;
        rc = s->ops->hand_back(s->vim, "return", json_pack("{s:s}", "move", r->move), &ve);
    }
    if (rc && !*err)
        snprintf(err, sizeof(err), "the agent at the branch: %s", ve.msg);
    free(data);
    free(path);
    rm_rf(dir);
    free(dir);
    if (stopped(r))
        return NULL;
    if (rc == 0) {
        log_warn("fed: move %s: this manager returned to its branch, which runs it from now on: "
                 "it does nothing more here",
                 r->move);
        tell(r, true, NULL);
    } else if (last && rc == -ETIMEDOUT) {
        log_error("fed: move %s: %s: whether the branch took over is not known; this manager "
                  "stays stopped",
                  r->move, err);
        tell(r, false, err);
    } else {
        log_error("fed: move %s: cannot return to its branch: %s", r->move, err);
        tell(r, false, err);
        start_again(r, "its return failed");
    }
    return NULL;
}

/* Why this manager cannot go back to its branch as it is, in why; false
 * when it can. */
static bool cannot_return(struct core *c, char *why, size_t len)
{
    struct site_rt *s = site_get(c, c->cfg->site);
    json_t *view, *agent;
    bool refused = true;

    if (!s || !s->ops || !s->vim || strcmp(s->ops->name, "agent") || !s->ops->hand_back ||
        !s->ops->view) {
        snprintf(why, len, "its site %s is not run through a VIM agent at its branch",
                 c->cfg->site);
        return true;
    }
    view = json_object(); /* now, not at the last check (which may wait for the agent) */
    s->ops->view(s->vim, view);
    agent = json_object_get(view, "agent");
    if (!json_is_true(json_object_get(agent, "connected")))
        snprintf(why, len, "the VIM agent of its site: %s", jv_str(agent, "state", "not there"));
    else
        refused = cannot_move(c, why, len, false);
    json_decref(view);
    return refused;
}

/* After the instruction's commit: nothing more is written, the store is
 * copied, the reports and the channel stop, the thread takes over. */
static void begin(struct core *c, void *arg)
{
    struct reloc *r = arg;
    struct fed *f = c->fed;
    char *dir = xasprintf("%s/%s", c->cfg->data_dir, SNAP_DIR), *path;
    int rc;

    rm_rf(dir);
    rc = mkdir_p(dir, 0700);
    path = xasprintf("%s/vnfm.db", dir);
    if (rc == 0)
        rc = store_snapshot(c->st, path);
    free(path);
    free(dir);
    fed_cloud_pick(f, r->base, sizeof(r->base));
    snprintf(r->service_address, sizeof(r->service_address), "%s",
             fed_endpoint_address(c) ? fed_endpoint_address(c) : "");
    r->auth = xasprintf("Authorization: Bearer %s", f->cred);
    f->relocating = true; /* no more reports */
    fed_downlink_stop(f);
    if (r->back) {
        r->snap_rc = rc;
        rc = 0; /* the thread says so to the cloud */
    }
    if (rc) {
        log_error("fed: move %s: cannot copy the store: %s", r->move, strerror(-rc));
        start_again(r, "no copy of the store");
    }
    if (pthread_create(&r->thread, NULL, r->back ? run_back : run, r))
        start_again(r, "no thread to send the copy");
    r->running = true;
}

void fed_relocate_stop(struct fed *f)
{
    struct reloc *r = f->reloc;

    if (!r)
        return;
    if (r->running) {
        log_warn("fed: move %s: this manager stops during its move to the cloud: the cloud rolls "
                 "it back",
                 r->move);
        __atomic_store_n(&r->stop, true, __ATOMIC_RELAXED);
        pthread_join(r->thread, NULL);
    }
    free(r->auth);
    free(r);
    f->reloc = NULL;
}
