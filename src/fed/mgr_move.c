/* A branch manager moved to the cloud, the cloud's side (docs/FEDERATION.md
 * "Moving a branch manager to the cloud"; seed para 1011: "move ... L-VNF
 * 154L from the branch 210 to the cloud 280"; the branch's side is
 * relocate.c).
 *
 * POST /v0/managers/{id}/move {"site": SITE} (SITE: this cloud VNFM's own)
 * starts a move with stages, kept in the store (meta manager_moves) and
 * shown in the manager's view (`move`):
 *
 * - snapshot: the branch manager M is instructed (`relocate`: the move, a
 *   port here, the token of its site's VIM agent-to-be) and sends the copy
 *   of its store, its credential and admin token (chunk). The copy is
 *   kept in DATA_DIR/managers/MANAGER with relocated.json: its site's VIM
 *   becomes the agent driver with the token's hash when it starts.
 * - start: M' starts from that data dir, a manager VI of this host's
 *   process VIM (mgr_vi.c; --cloud-scale-vcpu and --cloud-scale-memory-mb
 *   as its limits), on this VNFM's host and the port given, with this
 *   VNFM's TLS certificate, joining the cloud with M's credential; the
 *   stage ends when it accepts connections.
 * - handover: M, told so (fate), becomes the agent of its site and dials
 *   M'; the stage ends when M' reports (a new run of the same manager)
 *   with its site's VIM the agent, and that VIM ok: M' has its VIs.
 *
 * A stage that fails or does not end in --fed-move-stage-s rolls the move back:
 * M' is stopped and its VI removed, then the move is `rolled_back`, which
 * M (or the agent it became) reads and starts again as it was. Once
 * completed, M' is watched and started again from its data dir when it
 * ends, like any manager this cloud VNFM runs. */
#include "fed/fed_internal.h"
#include "core/auth.h"
#include "lcm/sites.h"
#include "util/doc.h"
#include "util/etcd.h"
#include "util/fsutil.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#define META_MOVES  "manager_moves"
#define WATCH_MS    5000 /* a moved manager's status, once the move completed */
#define STOP_MAX_MS 15000
#define START_TRIES 3 /* starts of the moved manager before the move rolls back */
#define FILE_MAX    (256u << 20)

static const char *const files[] = {"vnfm.db", "fed.json", "admin.token", "cloud-ca.pem"};

struct mmoves {
    json_t *moves;       /* move id -> its record (loop) */
    json_t *view;        /* manager id -> its latest move's public record (under fed.mu) */
    json_t *busy;        /* move id -> true while a job of its VI runs (loop) */
    json_t *since;       /* move id -> mono ms its stage started (loop) */
    uint64_t watched_ms; /* the last watch of the moved managers */
};

/* (loop) made whole before the readers of views (fed.mu) can see it */
static struct mmoves *mm_of(struct fed *f)
{
    if (!f->mmoves) {
        struct mmoves *mm = xcalloc(1, sizeof(*mm));

        mm->moves = json_object();
        mm->view = json_object();
        mm->busy = json_object();
        mm->since = json_object();
        pthread_mutex_lock(&f->mu);
        f->mmoves = mm;
        pthread_mutex_unlock(&f->mu);
    }
    return f->mmoves;
}

static json_t *public_of(const json_t *mv)
{
    json_t *v = json_deep_copy(mv);

    json_object_del(v, "ref");
    json_object_del(v, "token_sha256");
    return v;
}

/* Writes the moves (a transaction of its own, or the open one) and
 * publishes the views. */
static void save(struct core *c)
{
    struct mmoves *mm = mm_of(c->fed);
    char *text = json_dumps(mm->moves, JSON_COMPACT);
    json_t *view = json_object(), *mv;
    const char *id;

    json_object_foreach(mm->moves, id, mv)
    {
        json_t *was = json_object_get(view, jv_str(mv, "manager", ""));

        if (!was || strcmp(jv_str(was, "created", ""), jv_str(mv, "created", "")) < 0)
            json_object_set_new(view, jv_str(mv, "manager", ""), public_of(mv));
    }
    core_tx_begin(c);
    if (store_meta_set(c->st, META_MOVES, text))
        log_error("fed: cannot record the moves of managers: %s", store_errmsg(c->st));
    core_tx_commit(c);
    free(text);
    pthread_mutex_lock(&c->fed->mu);
    json_decref(mm->view);
    mm->view = view;
    pthread_mutex_unlock(&c->fed->mu);
}

void fed_mmove_view(struct fed *f, const struct fed_mgr *m, json_t *v)
{
    json_t *mv = f->mmoves ? json_object_get(f->mmoves->view, m->id) : NULL;

    if (mv)
        json_object_set(v, "move", mv);
}

/* ---- stages ---- */

static json_t *stage_of(json_t *mv, const char *name)
{
    json_t *s;
    size_t i;

    json_array_foreach(json_object_get(mv, "stages"), i, s)
    {
        if (strcmp(jv_str(s, "name", ""), name) == 0)
            return s;
    }
    return NULL;
}

static void stage_end(json_t *mv, const char *result, const char *error)
{
    json_t *s = stage_of(mv, jv_str(mv, "stage", ""));

    if (!s)
        return;
    doc_set_str(s, "result", result);
    doc_touch(s, "ended");
    if (error)
        doc_set_str(s, "error", error);
}

static void stage_begin(struct core *c, json_t *mv, const char *name)
{
    json_t *s = json_pack("{s:s, s:s}", "name", name, "result", "running");

    doc_touch(s, "started");
    json_array_append_new(json_object_get(mv, "stages"), s);
    doc_set_str(mv, "stage", name);
    doc_touch(mv, "updated");
    json_object_set_new(mm_of(c->fed)->since, jv_str(mv, "id", ""),
                        json_integer((json_int_t)mono_ms()));
}

static void event(struct core *c, const json_t *mv, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void event(struct core *c, const json_t *mv, const char *level, const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    core_event(c, level, "fed", "move",
               json_pack("{s:s, s:s, s:s, s:s}", "object", jv_str(mv, "manager", ""), "move",
                         jv_str(mv, "id", ""), "site", jv_str(mv, "site", ""), "result",
                         jv_str(mv, "state", "")),
               "move %s of manager %s: %s", jv_str(mv, "id", ""), jv_str(mv, "manager", ""), msg);
}

static void finish(struct core *c, json_t *mv, const char *state, const char *error)
{
    char *e = error ? xstrdup(error) : NULL; /* it may be mv's own */

    doc_set_str(mv, "state", state);
    doc_touch(mv, "ended");
    doc_touch(mv, "updated");
    if (e)
        doc_set_str(mv, "error", e);
    event(c, mv, strcmp(state, "completed") ? "warn" : "info", "%s%s%s", state, e ? ": " : "",
          e ? e : "");
    save(c);
    free(e);
}

/* ---- its VI ---- */

static void vi_done(struct mvi_job *j);

static bool vi_job(struct core *c, json_t *mv, enum mvi_op op, json_t *vdu, char *why, size_t len)
{
    const char *id = jv_str(mv, "id", "");
    struct mvi_job *j =
        fed_mvi_new(c, op, id, jv_str(mv, "vi", ""), json_object_get(mv, "ref"), vi_done);

    snprintf(j->name, sizeof(j->name), "manager %s", jv_str(mv, "manager", ""));
    j->vdu = vdu;
    j->vcpu_milli = (unsigned)(c->cfg->cloud_scale_vcpu * 1000);
    j->memory_bytes = (uint64_t)c->cfg->cloud_scale_memory_mb << 20;
    j->grace_ms = STOP_MAX_MS;
    if (op == MVI_START)
        j->log = xasprintf("%s/vnfmd.log", jv_str(mv, "dir", ""));
    if (!fed_mvi_submit(j, why, len))
        return false;
    json_object_set_new(mm_of(c->fed)->busy, id, json_true());
    return true;
}

/* The moved manager's command line: a branch manager of its site on this
 * host, from its data dir, joining this cloud VNFM with its credential. */
static json_t *argv_of(struct core *c, const json_t *mv)
{
    char exe[4096], listen[96], *ca = xasprintf("%s/cloud-ca.pem", jv_str(mv, "dir", ""));
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    json_t *argv;

    if (n <= 0) {
        free(ca);
        return NULL;
    }
    exe[n] = '\0';
    snprintf(listen, sizeof(listen), "%s:%u", c->cfg->listen_host, (unsigned)jv_int(mv, "port", 0));
    argv = json_pack("[s, s, s, s, s, s, s, s, s, s, s]", exe, "--role", "local", "--site",
                     jv_str(mv, "site", ""), "--data-dir", jv_str(mv, "dir", ""), "--listen",
                     listen, "--cloud-url", jv_str(mv, "cloud_url", ""));
    if (c->cfg->tls_cert && c->cfg->tls_key) {
        json_array_append_new(argv, json_string("--tls-cert"));
        json_array_append_new(argv, json_string(c->cfg->tls_cert));
        json_array_append_new(argv, json_string("--tls-key"));
        json_array_append_new(argv, json_string(c->cfg->tls_key));
    }
    if (access(ca, R_OK) == 0) {
        json_array_append_new(argv, json_string("--cloud-ca"));
        json_array_append_new(argv, json_string(ca));
    } else if (strncmp(jv_str(mv, "cloud_url", ""), "http:", 5) == 0) {
        json_array_append_new(argv, json_string("--fed-insecure"));
    }
    if (doc_str(mv, "service_address")) { /* its endpoints stay at the branch */
        json_array_append_new(argv, json_string("--service-address"));
        json_array_append_new(argv, json_string(doc_str(mv, "service_address")));
    }
    if (c->cfg->log_level) {
        json_array_append_new(argv, json_string("--log-level"));
        json_array_append_new(argv, json_string(c->cfg->log_level));
    }
    free(ca);
    return argv;
}

static void start_vi(struct core *c, json_t *mv)
{
    json_t *argv = argv_of(c, mv);
    char why[512] = "cannot read this program's path";

    if (!*jv_str(mv, "vi", "")) {
        char vi[VIM_ID_MAX];

        id_random(vi, VIM_MANAGER_PREFIX, 6);
        doc_set_str(mv, "vi", vi);
        save(c); /* before it is made: a restart finds it by its name */
    }
    if (!argv || !vi_job(c, mv, MVI_START, json_pack("{s:o}", "command", argv), why, sizeof(why))) {
        if (strcmp(jv_str(mv, "state", ""), "processing") == 0) {
            stage_end(mv, "failed", why);
            finish(c, mv, "rolled_back", why);
        } else {
            log_warn("fed: manager %s (moved): cannot start it again: %s",
                     jv_str(mv, "manager", ""), why);
        }
    }
}

static void rollback(struct core *c, json_t *mv, const char *why)
{
    char err[256];

    stage_end(mv, "failed", why);
    doc_set_str(mv, "error", why);
    event(c, mv, "warn", "rolled back: %s", why);
    stage_begin(c, mv, "rollback");
    save(c);
    if (!*jv_str(mv, "vi", "")) {
        stage_end(mv, "completed", NULL);
        finish(c, mv, "rolled_back", why);
    } else if (!vi_job(c, mv, MVI_REMOVE, NULL, err, sizeof(err))) {
        stage_end(mv, "failed", err);
        finish(c, mv, "failed", err);
    }
}

/* Whether the moved manager that failed at its start gets another try, on
 * another port (a port taken meanwhile is the likeliest cause): then the
 * port changes (the branch learns it from the fate). */
static bool start_again(struct core *c, json_t *mv, const char *how)
{
    unsigned port;

    if (strcmp(jv_str(mv, "stage", ""), "start") || jv_int(mv, "starts", 1) >= START_TRIES ||
        !(port = ip4_free_port(c->cfg->listen_host)))
        return false;
    event(c, mv, "warn", "the moved manager %s at its start on port %lld: started again on port %u",
          how, (long long)jv_int(mv, "port", 0), port);
    json_object_set_new(mv, "port", json_integer(port));
    json_object_set_new(mv, "starts", json_integer(jv_int(mv, "starts", 1) + 1));
    return true;
}

static void vi_done(struct mvi_job *j)
{
    struct core *c = j->c;
    struct mmoves *mm = mm_of(c->fed);
    json_t *mv = json_object_get(mm->moves, j->key);
    bool moving;

    json_object_del(mm->busy, j->key);
    if (!mv)
        return;
    moving = strcmp(jv_str(mv, "state", ""), "processing") == 0;
    if (j->op == MVI_START) {
        if (j->r) {
            if (moving && start_again(c, mv, j->err.msg)) { /* its VI went with the failure */
                doc_set_str(mv, "vi", "");
                start_vi(c, mv);
            } else if (moving) {
                rollback(c, mv, j->err.msg);
            } else
                log_warn("fed: manager %s (moved): cannot start it again: %s",
                         jv_str(mv, "manager", ""), j->err.msg);
            return;
        }
        json_object_set_new(mv, "ref", j->out.ref);
        j->out.ref = NULL;
        json_object_set_new(mv, "pid", json_integer(j->out.pid));
        log_info("fed: manager %s runs here now (pid %d, VI %s, data dir %s)",
                 jv_str(mv, "manager", ""), (int)j->out.pid, jv_str(mv, "vi", ""),
                 jv_str(mv, "dir", ""));
        save(c);
    } else if (j->op == MVI_REMOVE && !j->r && !moving) {
        json_object_del(mv, "ref");
        doc_set_str(mv, "vi", "");
        if (strcmp(jv_str(mv, "state", ""), "completed") == 0) /* it ended: made again */
            start_vi(c, mv);
        else
            save(c);
    } else if (j->op == MVI_REMOVE && !j->r && json_is_true(json_object_get(mv, "again"))) {
        json_object_del(mv, "again"); /* the failed start removed: the next one */
        json_object_del(mv, "ref");
        doc_set_str(mv, "vi", "");
        start_vi(c, mv);
    } else if (j->op == MVI_REMOVE && !j->r) {
        json_object_del(mv, "ref");
        stage_end(mv, "completed", NULL);
        finish(c, mv, "rolled_back", jv_str(mv, "error", NULL));
    } else if (j->op == MVI_REMOVE) {
        log_warn("fed: move %s: cannot remove VI %s: %s (tried again)", j->key,
                 jv_str(mv, "vi", ""), j->err.msg);
        vi_job(c, mv, MVI_REMOVE, NULL, (char[64]){0}, 64);
    } else if (j->op == MVI_STATUS && !j->r && j->st.state != VI_RUNNING) {
        char how[96] = "ended";

        if (j->st.exit_status >= 0)
            spawn_status_str(j->st.exit_status, how, sizeof(how));
        if (moving && start_again(c, mv, how)) {
            json_object_set_new(mv, "again", json_true());
            vi_job(c, mv, MVI_REMOVE, NULL, (char[64]){0}, 64);
        } else if (moving) {
            char why[160];

            snprintf(why, sizeof(why), "the moved manager %s before it had its VIs", how);
            rollback(c, mv, why);
        } else {
            event(c, mv, "warn", "the moved manager %s: started again", how);
            json_object_set_new(mv, "restarts", json_integer(jv_int(mv, "restarts", 0) + 1));
            vi_job(c, mv, MVI_REMOVE, NULL, (char[64]){0}, 64);
        }
    }
}

/* The manager was removed from the estate (cloud.c): the one moved here
 * stops (its VIs keep running at its branch's agent), a move under way
 * rolls back. */
void fed_mmove_removed(struct core *c, const struct fed_mgr *m)
{
    struct mmoves *mm = mm_of(c->fed);
    const char *id;
    json_t *mv;
    void *tmp;

    json_object_foreach_safe(mm->moves, tmp, id, mv)
    {
        const char *state = jv_str(mv, "state", "");

        if (strcmp(jv_str(mv, "manager", ""), m->id))
            continue;
        if (strcmp(state, "processing") == 0 && strcmp(jv_str(mv, "stage", ""), "rollback")) {
            rollback(c, mv, "the manager was removed");
        } else if (strcmp(state, "completed") == 0 && !json_is_true(json_object_get(mv, "back"))) {
            doc_set_str(mv, "state", "removed");
            doc_touch(mv, "updated");
            event(c, mv, "info", "the manager was removed: it stops");
            save(c);
            if (json_object_get(mv, "ref") && !json_object_get(mm->busy, id))
                vi_job(c, mv, MVI_REMOVE, NULL, (char[64]){0}, 64);
        }
    }
}

/* ---- the request ---- */

/* The move that brought m here and has it run here, or NULL. */
static json_t *here_by(struct fed *f, const struct fed_mgr *m)
{
    const char *id;
    json_t *mv;

    json_object_foreach(mm_of(f)->moves, id, mv)
    {
        if (strcmp(jv_str(mv, "manager", ""), m->id) == 0 &&
            strcmp(jv_str(mv, "state", ""), "completed") == 0 &&
            !json_is_true(json_object_get(mv, "back")))
            return mv;
    }
    return NULL;
}

/* A move of m under way (either way), or NULL. */
static json_t *under_way(struct fed *f, const struct fed_mgr *m)
{
    const char *id;
    json_t *mv;

    json_object_foreach(mm_of(f)->moves, id, mv)
    {
        if (strcmp(jv_str(mv, "manager", ""), m->id) == 0 &&
            strcmp(jv_str(mv, "state", ""), "processing") == 0)
            return mv;
    }
    return NULL;
}

static const char *refusal(struct fed *f, const struct fed_mgr *m)
{
    if (strcmp(m->state, "active"))
        return "it is not active";
    if (*m->parent)
        return "it is an elastic manager another one started: scale its site in instead";
    if (json_array_size(m->children) > 0)
        return "it runs managers it started (elastic managers, standbys)";
    if (strcmp(jv_str(m->site_state, "vim", "proc"), "proc"))
        return "its site's VIs are not its process VIM's";
    if (under_way(f, m))
        return "a move of it is under way";
    return here_by(f, m) ? "it runs in the cloud already" : NULL;
}

/* Why m cannot move back to its branch now, or NULL. */
static const char *back_refusal(struct fed *f, const struct fed_mgr *m)
{
    if (under_way(f, m))
        return "a move of it is under way";
    if (!here_by(f, m))
        return "it runs at its branch already";
    if (strcmp(m->state, "active"))
        return "it is not active";
    return NULL;
}

/* Starts the move of m back to its branch (from the move that brought it
 * here; decision: the pool's that chose it, or NULL): its record, with
 * the instruction `return` to the moved manager. NULL with *status and
 * why (409: m cannot move back as it is). */
static json_t *back(struct core *c, struct fed_mgr *m, const char *decision, int *status, char *why,
                    size_t len)
{
    const char *refused = back_refusal(c->fed, m);
    json_t *mv, *ins;
    char id[32];

    *status = 409;
    if (refused) {
        snprintf(why, len, "manager %s cannot move back to its branch: %s", m->id, refused);
        return NULL;
    }
    *status = 503;
    id_random(id, "mv-", 12);
    mv = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:s, s:s, s:s*}", "id", id, "manager",
                   m->id, "site", m->site, "to", m->site, "state", "processing", "stage", "",
                   "stages", "back", 1, "of", jv_str(here_by(c->fed, m), "id", ""), "boot", m->boot,
                   "decision", decision);
    doc_touch(mv, "created");
    stage_begin(c, mv, "snapshot");
    ins = fed_mgr_instruct(c, m, "return", json_pack("{s:s}", "move", id));
    if (!ins) {
        json_decref(mv);
        snprintf(why, len, "cannot write the instruction: %s", store_errmsg(c->st));
        return NULL;
    }
    doc_set_str(mv, "instruction", jv_str(ins, "id", ""));
    json_decref(ins);
    json_object_set_new(mm_of(c->fed)->moves, id, mv);
    event(c, mv, "info", "back to its branch %s: the manager here is asked to hand it back%s%s",
          m->site, decision ? ", for decision " : "", decision ? decision : "");
    save(c);
    return mv;
}

/* Starts the move of m to this cloud VNFM's site (decision: the pool's that
 * chose it, or NULL): its record, with the instruction `relocate` to m.
 * The move's record, or NULL with *status and why (409: m cannot move as
 * it is). */
static json_t *forward(struct core *c, struct fed_mgr *m, const char *decision, int *status,
                       char *why, size_t len)
{
    struct fed *f = c->fed;
    char id[32], token[64], hash[TOKEN_HASH_LEN + 1];
    const char *refused = refusal(f, m);
    unsigned port;
    json_t *mv, *ins;

    *status = 409;
    if (refused) {
        snprintf(why, len, "manager %s cannot move: %s", m->id, refused);
        return NULL;
    }
    *status = 503;
    if (!(port = ip4_free_port(c->cfg->listen_host))) {
        snprintf(why, len, "no free port on this host");
        return NULL;
    }
    id_random(id, "mv-", 12);
    token_generate(token);
    token_hash(token, hash);
    mv = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:i, s:s, s:s, s:s, s:s*}", "id", id,
                   "manager", m->id, "site", m->site, "to", c->cfg->site, "state", "processing",
                   "stage", "", "stages", "port", (int)port, "token_sha256", hash, "boot", m->boot,
                   "dir", "", "decision", decision);
    json_object_set_new(mv, "dir", json_sprintf("%s/managers/%s", c->cfg->data_dir, m->id));
    rm_rf(jv_str(mv, "dir", "")); /* what an earlier move left (a store and its journal) */
    doc_touch(mv, "created");
    stage_begin(c, mv, "snapshot");
    ins = fed_mgr_instruct(
        c, m, "relocate",
        json_pack("{s:s, s:s, s:i}", "move", id, "token", token, "port", (int)port));
    if (!ins) {
        json_decref(mv);
        snprintf(why, len, "cannot write the instruction: %s", store_errmsg(c->st));
        return NULL;
    }
    doc_set_str(mv, "instruction", jv_str(ins, "id", ""));
    json_decref(ins);
    json_object_set_new(mm_of(f)->moves, id, mv);
    event(c, mv, "info", "to site %s: its copy is asked for (port %u)%s%s", c->cfg->site, port,
          decision ? ", for decision " : "", decision ? decision : "");
    save(c);
    return mv;
}

/* The move of m to site `to`: forward to this cloud VNFM's, back to its own. */
static json_t *start(struct core *c, struct fed_mgr *m, const char *to, const char *decision,
                     int *status, char *why, size_t len)
{
    return strcmp(to, m->site) ? forward(c, m, decision, status, why, len)
                               : back(c, m, decision, status, why, len);
}

/* POST /v0/managers/{id}/move */
void fed_mmove_route(struct core *c, struct txn *t)
{
    struct fed *f = c->fed;
    const char *to = jv_str(t->body, "site", "");
    struct fed_mgr *m = f && f->cloud ? hmap_get(&f->mgrs, t->args[0]) : NULL;
    char why[512];
    int status;
    json_t *mv;

    if (!f || !f->cloud) {
        result_fail(&t->res, 404, "not-found", NULL, NULL,
                    "this manager is not a cloud VNFM (--role cloud)");
        return;
    }
    if (!m) {
        result_not_found(&t->res, "manager", t->args[0]);
        return;
    }
    if (strcmp(to, m->site) && strcmp(to, c->cfg->site)) {
        result_fail(&t->res, 422, "invalid-value", "field", "site",
                    "site: a branch manager moves to this cloud VNFM's own site '%s', or back "
                    "to its branch '%s', not '%s'",
                    c->cfg->site, m->site, to);
        return;
    }
    if (!(mv = start(c, m, to, NULL, &status, why, sizeof(why)))) {
        if (status == 409)
            result_fail(&t->res, 409, "conflict", "object", m->id, "%s", why);
        else
            result_fail(&t->res, 503, "unavailable", NULL, NULL, "%s", why);
        return;
    }
    result_ok(&t->res, 202, public_of(mv));
}

int fed_mmove_begin(struct core *c, const char *mgr, const char *to, const char *decision,
                    char id[32], char *why, size_t len)
{
    struct fed_mgr *m = hmap_get(&c->fed->mgrs, mgr);
    json_t *mv;
    int status;

    if (!m) {
        snprintf(why, len, "manager %s is not known", mgr);
        return -1;
    }
    if (!(mv = start(c, m, to, decision, &status, why, len)))
        return -1;
    snprintf(id, 32, "%s", jv_str(mv, "id", ""));
    return 0;
}

const char *fed_mmove_refusal(struct fed *f, const struct fed_mgr *m, bool back)
{
    return back ? back_refusal(f, m) : refusal(f, m);
}

bool fed_mmove_moved(struct fed *f, const struct fed_mgr *m)
{
    return here_by(f, m) != NULL;
}

const char *fed_mmove_state(struct fed *f, const char *id)
{
    return jv_str(json_object_get(mm_of(f)->moves, id), "state", "failed");
}

/* The branch's answer to `relocate`: a refusal ends the move. */
void fed_mmove_result(struct core *c, const json_t *ins, const json_t *r)
{
    const char *id = jv_str(json_object_get(ins, "body"), "move", "");
    json_t *mv = json_object_get(mm_of(c->fed)->moves, id);

    if (!mv ||
        (strcmp(jv_str(ins, "type", ""), "relocate") &&
         strcmp(jv_str(ins, "type", ""), "return")) ||
        jv_int(r, "status", 0) < 400 || strcmp(jv_str(mv, "state", ""), "processing"))
        return;
    stage_end(mv, "failed", jv_str(r, "message", "refused"));
    finish(c, mv, "failed", jv_str(r, "message", "refused by the branch manager"));
}

/* ---- what the branch manager sends ---- */

/* The move of the request's manager, in stage (NULL: any), else NULL with
 * t->res set. */
static json_t *move_of_request(struct core *c, struct txn *t)
{
    struct fed_mgr *m = fed_mgr_of_request(c->fed, t);
    json_t *mv = m ? json_object_get(mm_of(c->fed)->moves, t->args[0]) : NULL;

    if (m && (!mv || strcmp(jv_str(mv, "manager", ""), m->id))) {
        result_not_found(&t->res, "move", t->args[0]);
        return NULL;
    }
    return mv;
}

static bool allowed(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(files); i++)
        if (strcmp(files[i], name) == 0)
            return true;
    return false;
}

static int append(const char *dir, const char *name, json_int_t offset, const char *data, size_t n,
                  char *err, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    int r = offset < 0 ? -ERANGE : append_at(path, (uint64_t)offset, data, n, FILE_MAX);

    if (r == -ERANGE)
        snprintf(err, len, "%s: offset %lld is not where the copy ends", name, (long long)offset);
    else if (r == -EFBIG)
        snprintf(err, len, "%s: larger than %u MiB", name, FILE_MAX >> 20);
    else if (r)
        snprintf(err, len, "%s: %s", path, strerror(-r));
    free(path);
    return r;
}

/* The branch manager applied the instruction (its copy came): it reports
 * no more to say so. The agent's token leaves the record. */
static void applied(struct core *c, const char *id)
{
    json_t *ins = core_load(c, STORE_INSTRUCTION, id);

    if (ins && strcmp(jv_str(ins, "state", ""), "pending") == 0) {
        json_object_del(json_object_get(ins, "body"), "token");
        doc_set_str(ins, "state", "applied");
        doc_touch(ins, "updated");
        store_put(c->st, STORE_INSTRUCTION, ins);
    }
    json_decref(ins);
}

/* The copy is whole: its site's VIM becomes the agent at its start. */
static void copy_done(struct core *c, json_t *mv, const char *cloud_url)
{
    const char *dir = jv_str(mv, "dir", "");
    json_t *rel = json_pack("{s:s, s:s, s:s}", "site", jv_str(mv, "site", ""), "token_sha256",
                            jv_str(mv, "token_sha256", ""), "move", jv_str(mv, "id", ""));
    char *path = xasprintf("%s/relocated.json", dir), *text = json_dumps(rel, JSON_COMPACT);
    int r = write_file_atomic(path, text, strlen(text), 0600, true);

    free(text);
    free(path);
    json_decref(rel);
    doc_set_str(mv, "cloud_url", cloud_url);
    applied(c, jv_str(mv, "instruction", ""));
    if (r) {
        rollback(c, mv, "cannot write relocated.json in the copy's data dir");
        return;
    }
    stage_end(mv, "completed", NULL);
    stage_begin(c, mv, "start");
    save(c);
    start_vi(c, mv);
}

/* POST /fed/v1/relocation/{id}/chunk */
void fed_mmove_chunk(struct core *c, struct txn *t)
{
    json_t *mv = move_of_request(c, t);
    const char *name = jv_str(t->body, "file", ""), *dir;
    char err[512] = "";
    size_t n = 0;
    char *data;
    int r;

    if (!mv)
        return;
    dir = jv_str(mv, "dir", "");
    if (doc_str(t->body, "done") && strcmp(jv_str(mv, "state", ""), "processing") == 0 &&
        strcmp(jv_str(mv, "stage", ""), "snapshot") &&
        strcmp(jv_str(mv, "stage", ""), "rollback")) {
        /* the end of the copy again (its answer was lost): taken already */
        result_ok(&t->res, 200, json_pack("{s:s}", "stage", jv_str(mv, "stage", "")));
        return;
    }
    if (strcmp(jv_str(mv, "state", ""), "processing") ||
        strcmp(jv_str(mv, "stage", ""), "snapshot")) {
        result_fail(&t->res, 409, "conflict", NULL, NULL, "move %s is past its copy (%s, %s)",
                    t->args[0], jv_str(mv, "state", ""), jv_str(mv, "stage", ""));
        return;
    }
    if (doc_str(t->body, "done")) {
        for (size_t i = 0; i < 3; i++) {
            char *p = xasprintf("%s/%s", dir, files[i]);
            bool there = access(p, R_OK) == 0;

            free(p);
            if (!there) {
                result_fail(&t->res, 422, "invalid-value", "field", "done", "the copy lacks %s",
                            files[i]);
                return;
            }
        }
        const char *url = jv_str(t->body, "cloud_url", "");

        if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) {
            result_fail(&t->res, 422, "invalid-value", "field", "cloud_url",
                        "cloud_url: expected the http(s) URL the branch manager reached");
            return;
        }
        const char *sa = doc_str(t->body, "service_address");
        struct in_addr in;

        if (sa && inet_pton(AF_INET, sa, &in) != 1) {
            result_fail(&t->res, 422, "invalid-value", "field", "service_address",
                        "service_address: expected an IPv4 address");
            return;
        }
        if (sa)
            doc_set_str(mv, "service_address", sa);
        copy_done(c, mv, url);
        result_ok(&t->res, 200, json_pack("{s:s}", "stage", jv_str(mv, "stage", "")));
        return;
    }
    if (!allowed(name)) {
        result_fail(&t->res, 422, "invalid-value", "field", "file",
                    "file: one of vnfm.db, fed.json, admin.token, cloud-ca.pem, not '%s'", name);
        return;
    }
    data = etcd_unb64(jv_str(t->body, "data", ""), &n);
    if (!data) {
        result_fail(&t->res, 422, "invalid-value", "field", "data", "data: expected base64");
        return;
    }
    r = mkdir_p(dir, 0700);
    if (r)
        snprintf(err, sizeof(err), "%s: %s", dir, strerror(-r));
    else
        r = append(dir, name, jv_int(t->body, "offset", -1), data, n, err, sizeof(err));
    free(data);
    if (r)
        result_fail(&t->res, r == -ERANGE || r == -EFBIG ? 409 : 503,
                    r == -ERANGE || r == -EFBIG ? "conflict" : "unavailable", "field", "offset",
                    "%s", err);
    else
        result_ok(&t->res, 200, NULL);
}

static void tick_one(struct core *c, json_t *mv, uint64_t now);

/* POST /fed/v1/relocation/{id}/fate: the move goes on as soon as it can
 * (its moved manager accepts), not at the next tick. */
void fed_mmove_fate(struct core *c, struct txn *t)
{
    json_t *mv = move_of_request(c, t);

    if (mv && strcmp(jv_str(mv, "stage", ""), "start") == 0)
        tick_one(c, mv, mono_ms());
    if (mv)
        result_ok(&t->res, 200,
                  json_pack("{s:s, s:s, s:s?, s:I}", "state", jv_str(mv, "state", ""), "stage",
                            jv_str(mv, "stage", ""), "error", doc_str(mv, "error"), "port",
                            (json_int_t)jv_int(mv, "port", 0)));
}

/* POST /fed/v1/relocation/{id}/returned: the moved manager handed its
 * branch back (the branch's manager starts there), or could not. */
void fed_mmove_returned(struct core *c, struct txn *t)
{
    json_t *mv = move_of_request(c, t);

    if (!mv)
        return;
    if (json_is_true(json_object_get(mv, "back")) &&
        strcmp(jv_str(mv, "state", ""), "completed") == 0) { /* the branch reported first */
        result_ok(&t->res, 200, NULL);
        return;
    }
    if (!json_is_true(json_object_get(mv, "back")) ||
        strcmp(jv_str(mv, "state", ""), "processing") ||
        strcmp(jv_str(mv, "stage", ""), "snapshot")) {
        result_fail(&t->res, 409, "conflict", NULL, NULL, "move %s is not handing back (%s, %s)",
                    t->args[0], jv_str(mv, "state", ""), jv_str(mv, "stage", ""));
        return;
    }
    applied(c, jv_str(mv, "instruction", ""));
    if (json_is_true(json_object_get(t->body, "ok"))) {
        stage_end(mv, "completed", NULL);
        stage_begin(c, mv, "handover");
        event(c, mv, "info", "its store is at its branch, whose manager starts again");
        save(c);
    } else {
        const char *why = jv_str(t->body, "error", "the manager here could not hand it back");

        stage_end(mv, "failed", why);
        finish(c, mv, "failed", why);
    }
    result_ok(&t->res, 200, NULL);
}

/* ---- the ticks ---- */

/* The manager the move fwd brought here runs at its branch again: fwd is
 * `returned` and the manager here stops (its VI removed). */
static void returned(struct core *c, json_t *fwd)
{
    char why[160];

    doc_set_str(fwd, "state", "returned");
    doc_touch(fwd, "updated");
    save(c);
    if (json_object_get(fwd, "ref") && !json_object_get(mm_of(c->fed)->busy, jv_str(fwd, "id", "")))
        vi_job(c, fwd, MVI_REMOVE, NULL, why, sizeof(why));
}

/* A move back: done once the manager reports from its branch (a new run,
 * its site's own VIM, not an agent's; the word of the manager here may
 * have been lost on the way); then the manager here stops. A
 * stage past its deadline fails the move: what runs where is then for the
 * operator to see (the moved manager stays stopped, or started again as
 * it was when its agent refused). */
static void tick_back(struct core *c, json_t *mv, const struct fed_mgr *m, uint64_t since,
                      uint64_t now)
{
    json_t *fwd = json_object_get(mm_of(c->fed)->moves, jv_str(mv, "of", ""));
    const char *stage = jv_str(mv, "stage", "");
    char why[160];

    if (m && strcmp(m->boot, jv_str(mv, "boot", "")) &&
        strcmp(jv_str(m->site_state, "vim", "agent"), "agent")) {
        if (strcmp(stage, "handover")) {
            stage_end(mv, "completed", NULL);
            stage_begin(c, mv, "handover");
        }
        stage_end(mv, "completed", NULL);
        event(c, mv, "info", "the manager runs at its branch again (pid %ld): the one here stops",
              m->pid);
        finish(c, mv, "completed", NULL);
        if (fwd)
            returned(c, fwd);
        return;
    }
    if (since && ms_since(now, since) > (uint64_t)c->cfg->fed_move_stage_s * 1000) {
        snprintf(why, sizeof(why), "stage %s did not end within %u s", stage,
                 c->cfg->fed_move_stage_s);
        stage_end(mv, "failed", why);
        finish(c, mv, "failed", why);
    }
}

static void tick_one(struct core *c, json_t *mv, uint64_t now)
{
    struct mmoves *mm = mm_of(c->fed);
    const char *id = jv_str(mv, "id", ""), *stage = jv_str(mv, "stage", "");
    uint64_t since = (uint64_t)json_integer_value(json_object_get(mm->since, id));
    struct fed_mgr *m = hmap_get(&c->fed->mgrs, jv_str(mv, "manager", ""));
    char why[160];

    if (json_object_get(mm->busy, id))
        return;
    if (strcmp(jv_str(mv, "state", ""), "completed") == 0) {
        if (json_object_get(mv, "ref") && ms_since(now, mm->watched_ms) >= WATCH_MS)
            vi_job(c, mv, MVI_STATUS, NULL, why, sizeof(why));
        return;
    }
    if (strcmp(jv_str(mv, "state", ""), "removed") == 0 ||
        strcmp(jv_str(mv, "state", ""), "returned") == 0) { /* its VI goes */
        if (json_object_get(mv, "ref") && ms_since(now, mm->watched_ms) >= WATCH_MS)
            vi_job(c, mv, MVI_REMOVE, NULL, why, sizeof(why));
        return;
    }
    if (strcmp(jv_str(mv, "state", ""), "processing") || strcmp(stage, "rollback") == 0)
        return;
    if (json_is_true(json_object_get(mv, "back"))) {
        tick_back(c, mv, m, since, now);
        return;
    }
    if (strcmp(stage, "start") == 0 && json_object_get(mv, "ref") &&
        fed_port_accepts(c, (unsigned)jv_int(mv, "port", 0))) {
        stage_end(mv, "completed", NULL);
        stage_begin(c, mv, "handover");
        event(c, mv, "info", "it runs here (pid %lld); its branch hands its VIs over",
              (long long)jv_int(mv, "pid", 0));
        save(c);
        return;
    }
    if (strcmp(stage, "start") == 0 && json_object_get(mv, "ref"))
        vi_job(c, mv, MVI_STATUS, NULL, why, sizeof(why)); /* ended meanwhile? */
    if (strcmp(stage, "handover") == 0 && m && strcmp(m->boot, jv_str(mv, "boot", "")) &&
        strcmp(jv_str(m->site_state, "vim", ""), "agent") == 0 &&
        json_is_true(json_object_get(m->site_state, "vim_connected")) &&
        strcmp(jv_str(m->site_state, "vim_health", ""), "ok") == 0) {
        stage_end(mv, "completed", NULL);
        finish(c, mv, "completed", NULL);
        return;
    }
    if (since && ms_since(now, since) > (uint64_t)c->cfg->fed_move_stage_s * 1000) {
        snprintf(why, sizeof(why), "stage %s did not end within %u s", stage,
                 c->cfg->fed_move_stage_s);
        rollback(c, mv, why);
    }
}

/* A report of m: its move's handover may have ended. */
void fed_mmove_reported(struct core *c, const struct fed_mgr *m)
{
    struct mmoves *mm = c->fed->mmoves;
    const char *id;
    json_t *mv;
    void *tmp;

    if (!mm)
        return;
    json_object_foreach_safe(mm->moves, tmp, id, mv)
    {
        if (strcmp(jv_str(mv, "manager", ""), m->id))
            continue;
        if ((strcmp(jv_str(mv, "stage", ""), "handover") == 0 ||
             json_is_true(json_object_get(mv, "back"))) &&
            strcmp(jv_str(mv, "state", ""), "processing") == 0) {
            tick_one(c, mv, mono_ms());
        } else if (strcmp(jv_str(mv, "state", ""), "completed") == 0 &&
                   !json_is_true(json_object_get(mv, "back")) &&
                   strcmp(jv_str(m->site_state, "vim", "agent"), "agent") &&
                   !under_way(c->fed, m)) {
            /* it reports from its branch (a move back that failed late, a
             * manager started there by hand): the one here stops; a move
             * back under way completes that move itself */
            event(c, mv, "warn", "manager %s reports from its branch again: the one here stops",
                  m->id);
            returned(c, mv);
        }
    }
}

void fed_mmove_tick(struct core *c)
{
    struct mmoves *mm = c->fed->mmoves;
    uint64_t now = mono_ms();
    json_t *mv;
    const char *id;
    void *tmp;

    if (!mm)
        return;
    json_object_foreach_safe(mm->moves, tmp, id, mv)
    {
        tick_one(c, mv, now);
    }
    if (ms_since(now, mm->watched_ms) >= WATCH_MS)
        mm->watched_ms = now;
}

/* At the start: the moves as recorded; those under way go on from their
 * stage, with a new deadline. */
void fed_mmove_load(struct core *c)
{
    struct mmoves *mm = mm_of(c->fed);
    char *text = NULL;
    json_t *all, *mv;
    const char *id;

    if (store_meta_get(c->st, META_MOVES, &text))
        return;
    all = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(all)) {
        json_decref(all);
        return;
    }
    json_decref(mm->moves);
    mm->moves = all;
    json_object_foreach(all, id, mv)
    {
        json_object_set_new(mm->since, id, json_integer((json_int_t)mono_ms()));
    }
    save(c);
    json_object_foreach(all, id, mv)
    {
        /* its start was under way: whether it began is not known */
        if (strcmp(jv_str(mv, "state", ""), "processing") == 0 &&
            strcmp(jv_str(mv, "stage", ""), "start") == 0 && !json_object_get(mv, "ref"))
            rollback(c, mv, "this cloud VNFM restarted while the moved manager started");
        else if (strcmp(jv_str(mv, "stage", ""), "rollback") == 0 &&
                 strcmp(jv_str(mv, "state", ""), "processing") == 0)
            vi_job(c, mv, MVI_REMOVE, NULL, (char[64]){0}, 64); /* its removal again */
    }
}

void fed_mmove_free(struct fed *f)
{
    if (!f->mmoves)
        return;
    json_decref(f->mmoves->moves);
    json_decref(f->mmoves->view);
    json_decref(f->mmoves->busy);
    json_decref(f->mmoves->since);
    free(f->mmoves);
    f->mmoves = NULL;
}
