/* The lifecycle state machine (FIG. 3, F15, F2): the real engine, store and
 * transactor, driven against a VIM driver written for this test whose
 * failures are scripted. Checks that a failing stage is retried and stays
 * where it is, success moves on, an exhausted budget rolls a deploy back,
 * every step is journalled per VI, and an unfinished operation resumes from
 * the journal without redoing what was done; and the pause policy of SOL003
 * operations: failed_temp, then retry, rollback, fail; cancel; a resumed
 * rollback; notifications written to the outbox in order; observers hear
 * every change inside its transaction. */
#include "unit.h"

#include "core/bus.h"
#include "core/outbox.h"
#include "sol003/lccn.h"
#include "core/runas.h"
#include "lcm/lifecycle.h"
#include "lcm/observe.h"
#include "lcm/sites.h"
#include "catalog/svc_catalog.h"
#include "lcm/svc_lcm.h"
#include "sol003/sol_svc.h"
#include "core/wpool.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <pthread.h>

void lc_free_runs(struct core *c);

/* ---- a scripted VIM ---- */

struct fake_vim {
    pthread_mutex_t mu;
    int creates, starts, destroys;
    int fail_creates;     /* the first N creates fail */
    bool fail_starts;     /* every start fails */
    char started[16][16]; /* VI ids started */
    int n_started;
    bool hold_creates; /* creates wait until it is cleared (cond) */
    pthread_cond_t cond;
};

static struct fake_vim fv;

static int f_open(const struct vim_site *s, void **data, struct vim_err *e)
{
    (void)s;
    (void)e;
    *data = &fv;
    return 0;
}

static void f_close(void *d)
{
    (void)d;
}

static enum vim_health f_check(void *d, struct vim_err *e)
{
    (void)d;
    (void)e;
    return VIM_OK;
}

static int f_create(void *d, const struct vi_spec *s, struct vi_out *o, struct vim_err *e)
{
    int r = 0;

    (void)d;
    (void)s;
    (void)o;
    pthread_mutex_lock(&fv.mu);
    while (fv.hold_creates)
        pthread_cond_wait(&fv.cond, &fv.mu);
    if (fv.creates++ < fv.fail_creates) {
        snprintf(e->msg, sizeof(e->msg), "scripted create failure");
        r = -EIO;
    }
    pthread_mutex_unlock(&fv.mu);
    return r;
}

static int f_start(void *d, const struct vi_spec *s, const struct vi_handle *h, struct vi_out *o,
                   struct vim_err *e)
{
    (void)d;
    (void)h;
    pthread_mutex_lock(&fv.mu);
    fv.starts++;
    if (!fv.fail_starts && fv.n_started < 16)
        snprintf(fv.started[fv.n_started++], 16, "%s", s->id);
    pthread_mutex_unlock(&fv.mu);
    if (fv.fail_starts) {
        snprintf(e->msg, sizeof(e->msg), "scripted start failure");
        return -EIO;
    }
    o->ref = json_pack("{s:i}", "pid", 4242);
    o->pid = 4242;
    return 0;
}

static int f_stop(void *d, const struct vi_handle *h, unsigned g, struct vim_err *e)
{
    (void)d;
    (void)h;
    (void)g;
    (void)e;
    return 0;
}

static int f_destroy(void *d, const struct vi_handle *h, struct vim_err *e)
{
    (void)d;
    (void)h;
    (void)e;
    pthread_mutex_lock(&fv.mu);
    fv.destroys++;
    pthread_mutex_unlock(&fv.mu);
    return 0;
}

static int f_status(void *d, const struct vi_handle *h, struct vi_status *st, struct vim_err *e)
{
    (void)d;
    (void)e;
    st->state = json_object_get(h->ref, "pid") ? VI_RUNNING : VI_CREATED;
    st->exit_status = -1;
    return 0;
}

static int f_list(void *d, char ***ids, size_t *n, struct vim_err *e)
{
    (void)d;
    (void)e;
    *ids = NULL;
    *n = 0;
    return 0;
}

static const struct vim_ops fake_ops = {
    .name = "fake",
    .open = f_open,
    .close = f_close,
    .check = f_check,
    .create = f_create,
    .start = f_start,
    .stop = f_stop,
    .destroy = f_destroy,
    .status = f_status,
    .list = f_list,
};

/* ---- a core around it ---- */

static struct core C;
static struct config cfg;
static uv_loop_t loop;
static char *dir;

static int setup(void **state)
{
    char err[256], *db;
    json_t *vnfd, *site_doc;

    (void)state;
    log_set_level(LOG_LVL_ERROR);
    memset(&fv, 0, sizeof(fv));
    pthread_mutex_init(&fv.mu, NULL);
    pthread_cond_init(&fv.cond, NULL);
    dir = test_tmpdir();
    memset(&cfg, 0, sizeof(cfg));
    cfg.data_dir = dir;
    cfg.site = "s1";
    cfg.vnf_path = "";
    cfg.uid_first = 1879048192;
    cfg.uid_last = 1879113727;
    memset(&C, 0, sizeof(C));
    snprintf(C.tag, sizeof(C.tag), "%06x", (unsigned)getpid() & 0xffffff);
    uv_loop_init(&loop);
    C.cfg = &cfg;
    C.loop = &loop;
    hmap_init(&C.runs);
    hmap_init(&C.vis);
    db = xasprintf("%s/vnfm.db", dir);
    assert_int_equal(store_open(db, false, &C.st, err, sizeof(err)), 0);
    free(db);
    C.bus = bus_new(64);
    C.txq = txq_new(&C);
    C.prov = wpool_new(&loop, "provisioning", 2);
    C.conf = wpool_new(&loop, "configuration", 1);
    outbox_new(&C, 0, 0); /* not started: what it holds stays to be seen */
    lccn_init(&C);
    vnfd = json_pack("{s:s, s:o}", "id", "t", "descriptor",
                     json_pack("{s:s, s:[{s:s, s:[s], s:f, s:i, s:{s:i, s:i, s:i}}], s:{s:i, s:i}}",
                               "id", "t", "vdus", "id", "web", "command", "true", "vcpu", 0.1,
                               "memory_mb", 16, "scaling", "min", 1, "max", 3, "initial", 2,
                               "retry", "attempts", 3, "backoff_ms", 10));
    core_tx_begin(&C);
    store_put(C.st, STORE_VNFD, vnfd);
    site_doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i}}", "id", "s1", "driver", "fake",
                         "subnet", "10.0.0.0/24", "bridge", "vbtest", "capacity", "vcpu", 8,
                         "memory_mb", 4096, "disk_mb", 4096);
    store_put(C.st, STORE_SITE, site_doc);
    sites_attach(&C, site_doc, &fake_ops, &fv);
    json_decref(site_doc);
    svc_bootstrap(&C);
    core_tx_commit(&C);
    json_decref(vnfd);
    return 0;
}

/* The uids this test's manager claimed on the host (core/runas.h). */
static void free_claims(void)
{
    DIR *d = opendir(RUNAS_REGISTRY);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        char *path = xasprintf("%s/%s", RUNAS_REGISTRY, e->d_name), *text = NULL;

        if (e->d_name[0] != '.' && read_file(path, 64, &text, NULL) == 0 &&
            strcmp(text, C.tag) == 0)
            unlink(path);
        free(text);
        free(path);
    }
    if (d)
        closedir(d);
}

static int teardown(void **state)
{
    (void)state;
    lc_shutdown(&C);
    txq_free(C.txq);
    wpool_free(C.prov);
    wpool_free(C.conf);
    outbox_free(C.outbox);
    lc_free_runs(&C);
    uv_run(&loop, UV_RUN_DEFAULT);
    sites_close(&C);
    hmap_done(&C.runs);
    hmap_done(&C.vis);
    bus_free(C.bus);
    store_close(C.st);
    uv_loop_close(&loop);
    test_rmdir(dir);
    free_claims();
    return 0;
}

static struct txn *last_txn;

static void keep(struct txn *t)
{
    last_txn = t;
}

/* Applies one request through the transactor and returns it (caller frees). */
static struct txn *submit(txn_apply_fn fn, const char *arg, json_t *body)
{
    struct txn *t = txn_new(fn, "test");

    t->who.admin = true;
    t->body = body;
    t->args[0] = arg ? xstrdup(arg) : NULL;
    t->complete = keep;
    last_txn = NULL;
    txq_submit(C.txq, t);
    while (!last_txn)
        uv_run(&loop, UV_RUN_ONCE);
    return t;
}

static json_t *get(enum store_kind k, const char *id)
{
    json_t *doc = NULL;

    store_get(C.st, k, id, &doc);
    return doc;
}

/* Runs the loop until the operation has ended; returns its record. */
static json_t *run_op(const char *op_id)
{
    uint64_t deadline = mono_ms() + 10000;

    for (;;) {
        json_t *op = get(STORE_OP, op_id);

        if (op && strcmp(json_string_value(json_object_get(op, "state")), "processing") != 0)
            return op;
        json_decref(op);
        assert_true(mono_ms() < deadline);
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static json_t *deploy(const char *name)
{
    struct txn *t = submit(svc_deploy, NULL,
                           json_pack("{s:s, s:s, s:s}", "name", name, "vnfd", "t", "site", "s1"));
    char id[64];

    assert_int_equal(t->res.status, 202);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(t->res.body, "id")));
    txn_free(t);
    return run_op(id);
}

static const char *stage_of(const json_t *op, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(op, "stages"), i), "stage"));
}

static void deploy_moves_through_the_stages(void **state)
{
    json_t *op = deploy("d1"), *dep = get(STORE_DEPLOYMENT, "default:d1");
    struct store_where w = {"deployment", "default:d1", false};

    (void)state;
    assert_string_equal(json_string_value(json_object_get(op, "state")), "completed");
    assert_string_equal(stage_of(op, 0), "vi_deployment");
    assert_string_equal(stage_of(op, 1), "pre_deployment");
    assert_string_equal(stage_of(op, 2), "deployment");
    assert_string_equal(stage_of(op, 3), "post_deployment");
    assert_string_equal(json_string_value(json_object_get(dep, "status")), "active");
    assert_string_equal(json_string_value(json_object_get(dep, "stage")), "monitoring");
    assert_true(json_is_null(json_object_get(dep, "operation")));
    assert_int_equal(fv.creates, 2);
    assert_int_equal(fv.starts, 2);
    assert_int_equal(store_count(C.st, STORE_VI, &w, 1), 2);
    json_decref(op);
    json_decref(dep);
}

static void failing_stage_retries_and_stays(void **state)
{
    json_t *op, *stage;

    (void)state;
    /* The first three creates fail: attempt 1 fails for both VIs, attempt 2
     * for one of them; attempt 3 re-creates only that one. */
    fv.fail_creates = 3;
    op = deploy("d2");
    stage = json_array_get(json_object_get(op, "stages"), 0);
    assert_string_equal(json_string_value(json_object_get(op, "state")), "completed");
    assert_string_equal(json_string_value(json_object_get(stage, "stage")), "vi_deployment");
    assert_int_equal(json_integer_value(json_object_get(stage, "attempts")), 3);
    assert_int_equal(fv.creates, 5);
    assert_int_equal(fv.starts, 2);
    json_decref(op);
}

static void exhausted_budget_rolls_back(void **state)
{
    json_t *op, *dep;
    struct store_where w = {"deployment", "default:d3", false};
    struct txn *t;

    (void)state;
    fv.fail_starts = true;
    op = deploy("d3");
    dep = get(STORE_DEPLOYMENT, "default:d3");
    assert_string_equal(json_string_value(json_object_get(op, "state")), "rolled_back");
    assert_non_null(strstr(json_string_value(json_object_get(op, "error")), "scripted start"));
    assert_int_equal(fv.starts, 2 * 3); /* two VIs, three attempts */
    assert_int_equal(fv.destroys, 2);
    assert_int_equal(store_count(C.st, STORE_VI, &w, 1), 0);
    assert_string_equal(json_string_value(json_object_get(dep, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(dep, "stage")), "fail");
    /* a failed deployment takes only undeploy */
    t = submit(svc_heal, "default:d3", json_object());
    assert_int_equal(t->res.status, 409);
    txn_free(t);
    t = submit(svc_undeploy, "default:d3", NULL);
    assert_int_equal(t->res.status, 202);
    json_decref(run_op(json_string_value(json_object_get(t->res.body, "id"))));
    txn_free(t);
    json_decref(dep);
    assert_null(get(STORE_DEPLOYMENT, "default:d3"));
    json_decref(op);
}

static void busy_deployment_conflicts(void **state)
{
    struct txn *t = submit(svc_deploy, NULL,
                           json_pack("{s:s, s:s, s:s}", "name", "d4", "vnfd", "t", "site", "s1"));
    struct txn *t2 =
        submit(svc_scale, "default:d4", json_pack("{s:s, s:i}", "vdu", "web", "delta", 1));
    char id[64];

    (void)state;
    assert_int_equal(t->res.status, 202);
    assert_int_equal(t2->res.status, 409);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(t->res.body, "id")));
    assert_non_null(strstr(json_string_value(json_object_get(t2->res.body, "message")), id));
    json_decref(run_op(id));
    txn_free(t);
    txn_free(t2);
}

/* A journal left by a crash in the deployment stage: one VI started, the
 * other not. Resuming starts only the second. */
static void resume_from_journal(void **state)
{
    json_t *op = deploy("d5"), *dep, *vis = NULL, *vi;
    struct store_where w = {"deployment", "default:d5", false};
    struct store_list_opts o = {.where = &w, .n_where = 1};
    const char *done_vi, *todo_vi;

    (void)state;
    json_decref(op);
    store_list(C.st, STORE_VI, &o, &vis);
    done_vi = json_string_value(json_object_get(json_array_get(vis, 0), "id"));
    todo_vi = json_string_value(json_object_get(json_array_get(vis, 1), "id"));
    /* rewrite the records as they were mid-way */
    core_tx_begin(&C);
    op = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:[s, s], s:[], s:s, s:i, s:{s:i, s:i}, "
                   "s:o}",
                   "id", "op-journal", "type", "deploy", "deployment", "default:d5", "tenant",
                   "default", "state", "processing", "stage", "deployment", "attempt", 1, "vis",
                   done_vi, todo_vi, "stages", "_plan", "deploy", "_step", 2, "_progress", done_vi,
                   3, todo_vi, 2, "params", json_object());
    store_put(C.st, STORE_OP, op);
    dep = get(STORE_DEPLOYMENT, "default:d5");
    json_object_set_new(dep, "operation", json_string("op-journal"));
    store_put(C.st, STORE_DEPLOYMENT, dep);
    vi = get(STORE_VI, todo_vi);
    json_object_set_new(vi, "state", json_string("starting"));
    json_object_set_new(vi, "pid", json_integer(0));
    json_object_del(vi, "_vim"); /* never started: the VIM gave no reference yet */
    store_put(C.st, STORE_VI, vi);
    core_tx_commit(&C);
    fv.n_started = 0;
    lc_resume_all(&C);
    json_decref(op);
    op = run_op("op-journal");
    assert_string_equal(json_string_value(json_object_get(op, "state")), "completed");
    assert_int_equal(fv.n_started, 1);
    assert_string_equal(fv.started[0], todo_vi);
    json_decref(op);
    json_decref(dep);
    json_decref(vi);
    json_decref(vis);
}

/* ---- the pause policy of SOL003 operations (lifecycle.h) ---- */

/* A SOL003 request, as sol003/sol_http.c submits it. */
static struct txn *submit_sol(txn_apply_fn fn, const char *arg, json_t *body)
{
    struct txn *t = txn_new(fn, "sol test");

    t->who.admin = true;
    t->body = body;
    t->args[0] = arg ? xstrdup(arg) : NULL;
    t->query = json_pack("{s:i, s:s}", "sol_version", 1, "api_root", "http://test");
    t->complete = keep;
    last_txn = NULL;
    txq_submit(C.txq, t);
    while (!last_txn)
        uv_run(&loop, UV_RUN_ONCE);
    return t;
}

static const char *state_of(const json_t *op)
{
    return json_string_value(json_object_get(op, "state"));
}

/* Runs the loop until the operation ends or stops in failed_temp. */
static json_t *run_sol(const char *op_id)
{
    uint64_t deadline = mono_ms() + 10000;

    for (;;) {
        json_t *op = get(STORE_OP, op_id);
        const char *s = op ? state_of(op) : "processing";

        if (strcmp(s, "starting") && strcmp(s, "processing") && strcmp(s, "rolling_back"))
            return op;
        json_decref(op);
        assert_true(mono_ms() < deadline);
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Creates a VNF instance and starts its instantiation; the occurrence id
 * goes to occ, the instance id is returned (static). */
static const char *sol_instantiate(char *occ, size_t size)
{
    static char inst[64];
    struct txn *t = submit_sol(svc_sol_create, NULL, json_pack("{s:s}", "vnfdId", "t"));
    const char *loc;

    assert_int_equal(t->res.status, 201);
    snprintf(inst, sizeof(inst), "%s", json_string_value(json_object_get(t->res.body, "id")));
    txn_free(t);
    t = submit_sol(svc_sol_instantiate, inst, json_pack("{s:s}", "flavourId", "default"));
    assert_int_equal(t->res.status, 202);
    loc = strrchr(t->res.location, '/');
    assert_non_null(loc);
    snprintf(occ, size, "%s", loc + 1);
    txn_free(t);
    return inst;
}

static json_t *paused_instantiation(char *occ, size_t size, const char **inst)
{
    json_t *op;

    fv.fail_starts = true;
    *inst = sol_instantiate(occ, size);
    op = run_sol(occ);
    assert_string_equal(state_of(op), "failed_temp");
    assert_int_equal(fv.starts, 2 * 3); /* the budget, then it stopped */
    assert_int_equal(fv.destroys, 0);   /* nothing undone by itself */
    fv.fail_starts = false;
    return op;
}

static void pause_then_retry(void **state)
{
    char occ[64];
    const char *inst;
    json_t *op = paused_instantiation(occ, sizeof(occ), &inst), *dep;
    struct txn *t;

    (void)state;
    json_decref(op);
    dep = get(STORE_DEPLOYMENT, inst);
    assert_string_equal(json_string_value(json_object_get(dep, "operation")), occ); /* busy */
    json_decref(dep);
    t = submit_sol(svc_sol_scale, inst,
                   json_pack("{s:s, s:s}", "type", "SCALE_OUT", "aspectId", "web"));
    assert_int_equal(t->res.status, 409);
    txn_free(t);
    t = submit_sol(svc_sol_retry, occ, NULL);
    assert_int_equal(t->res.status, 202);
    txn_free(t);
    op = run_sol(occ);
    assert_string_equal(state_of(op), "completed");
    assert_int_equal(fv.creates, 2); /* the failed stage only was run again */
    assert_int_equal(fv.starts, 2 * 3 + 2);
    dep = get(STORE_DEPLOYMENT, inst);
    assert_string_equal(json_string_value(json_object_get(dep, "status")), "active");
    json_decref(dep);
    t = submit_sol(svc_sol_retry, occ, NULL); /* not in failed_temp any more */
    assert_int_equal(t->res.status, 409);
    txn_free(t);
    json_decref(op);
}

static void pause_then_rollback(void **state)
{
    char occ[64];
    const char *inst;
    json_t *op = paused_instantiation(occ, sizeof(occ), &inst), *dep;
    struct store_where w = {"deployment", inst, false};
    struct txn *t;

    (void)state;
    json_decref(op);
    t = submit_sol(svc_sol_rollback, occ, NULL);
    assert_int_equal(t->res.status, 202);
    txn_free(t);
    op = run_sol(occ);
    assert_string_equal(state_of(op), "rolled_back");
    assert_int_equal(fv.destroys, 2);
    assert_int_equal(store_count(C.st, STORE_VI, &w, 1), 0);
    dep = get(STORE_DEPLOYMENT, inst);
    assert_string_equal(json_string_value(json_object_get(dep, "status")), "not_instantiated");
    assert_true(json_is_null(json_object_get(dep, "operation")));
    json_decref(dep);
    json_decref(op);
}

static void pause_then_fail(void **state)
{
    char occ[64];
    const char *inst;
    json_t *op = paused_instantiation(occ, sizeof(occ), &inst), *dep;
    struct txn *t;

    (void)state;
    json_decref(op);
    t = submit_sol(svc_sol_fail, occ, NULL);
    assert_int_equal(t->res.status, 200);
    assert_string_equal(json_string_value(json_object_get(t->res.body, "operationState")),
                        "FAILED");
    txn_free(t);
    op = get(STORE_OP, occ);
    assert_string_equal(state_of(op), "failed");
    dep = get(STORE_DEPLOYMENT, inst);
    assert_string_equal(json_string_value(json_object_get(dep, "status")), "failed");
    assert_true(json_is_null(json_object_get(dep, "operation"))); /* released */
    json_decref(dep);
    json_decref(op);
}

static void cancel_stops_in_failed_temp(void **state)
{
    char occ[64];
    json_t *op;
    struct txn *t;

    (void)state;
    fv.hold_creates = true;            /* the first stage's VI jobs stay in flight */
    sol_instantiate(occ, sizeof(occ)); /* until the cancel has been recorded */
    t = submit_sol(svc_sol_cancel, occ, json_pack("{s:s}", "cancelMode", "FORCEFUL"));
    assert_int_equal(t->res.status, 202);
    txn_free(t);
    pthread_mutex_lock(&fv.mu);
    fv.hold_creates = false;
    pthread_cond_broadcast(&fv.cond);
    pthread_mutex_unlock(&fv.mu);
    op = run_sol(occ);
    assert_string_equal(state_of(op), "failed_temp");
    assert_non_null(strstr(json_string_value(json_object_get(op, "error")), "cancelled"));
    assert_string_equal(json_string_value(json_object_get(op, "stage")), "vi_deployment");
    assert_int_equal(fv.starts, 0); /* no further stage began */
    assert_null(json_object_get(op, "_cancel"));
    json_decref(op);
}

/* A rollback the manager was killed in: the journal says rolling_back. */
static void resume_rolling_back(void **state)
{
    char occ[64];
    const char *inst;
    json_t *op = paused_instantiation(occ, sizeof(occ), &inst);
    struct store_where w = {"deployment", inst, false};

    (void)state;
    core_tx_begin(&C);
    json_object_set_new(op, "state", json_string("rolling_back"));
    json_object_set_new(op, "_orig_plan", json_string("deploy"));
    json_object_set_new(op, "_plan", json_string("rollback"));
    json_object_set_new(op, "_step", json_integer(0));
    json_object_set_new(op, "_progress", json_object());
    store_put(C.st, STORE_OP, op);
    core_tx_commit(&C);
    json_decref(op);
    lc_resume_all(&C);
    op = run_sol(occ);
    assert_string_equal(state_of(op), "rolled_back");
    assert_int_equal(store_count(C.st, STORE_VI, &w, 1), 0);
    json_decref(op);
}

/* Each state change writes the notifications of matching subscriptions
 * into the outbox, in order, in its own transaction (lccn.h). */
static void notifications_in_the_outbox(void **state)
{
    json_t *sub = json_pack("{s:s, s:s, s:i}", "id", "sub-1", "callbackUri", "http://127.0.0.1:9/x",
                            "version", 1),
           *recs = NULL, *r;
    char occ[64];
    size_t i;
    const char *want[][2] = {{"VnfIdentifierCreationNotification", NULL},
                             {"START", "STARTING"},
                             {"RESULT", "PROCESSING"},
                             {"RESULT", "COMPLETED"}};

    (void)state;
    core_tx_begin(&C);
    store_put(C.st, STORE_SUBSCRIPTION, sub);
    core_tx_commit(&C);
    json_decref(sub);
    sol_instantiate(occ, sizeof(occ));
    json_decref(run_sol(occ));
    assert_int_equal(store_list(C.st, STORE_OUTBOX, NULL, &recs), 0);
    assert_int_equal(json_array_size(recs), 4);
    json_array_foreach(recs, i, r)
    {
        const json_t *n = json_object_get(r, "_body");

        if (!want[i][1]) {
            assert_string_equal(json_string_value(json_object_get(n, "notificationType")),
                                want[i][0]);
            continue;
        }
        assert_string_equal(json_string_value(json_object_get(n, "notificationStatus")),
                            want[i][0]);
        assert_string_equal(json_string_value(json_object_get(n, "operationState")), want[i][1]);
        assert_string_equal(json_string_value(json_object_get(n, "vnfLcmOpOccId")), occ);
    }
    json_decref(recs);
}

/* ---- observers (lcm/observe.h) ---- */

static char heard[16][48];
static int n_heard;

static void hear(const char *what, const json_t *doc, const char *member)
{
    assert_true(C.tx_depth > 0); /* inside the transaction of the change */
    if (n_heard < 16)
        snprintf(heard[n_heard++], 48, "%s %s %s", what,
                 json_string_value(json_object_get(doc, "type")) ?: "-",
                 json_string_value(json_object_get(doc, member)));
}

static void o_started(struct core *c, json_t *op, const json_t *dep)
{
    (void)c;
    (void)dep;
    hear("started", op, "state");
}

static void o_changed(struct core *c, const json_t *op)
{
    (void)c;
    hear("changed", op, "state");
}

static void o_ended(struct core *c, const json_t *op)
{
    (void)c;
    hear("ended", op, "state");
}

static void o_created(struct core *c, const json_t *dep)
{
    (void)c;
    hear("created", dep, "id");
}

static void o_deleted(struct core *c, const json_t *dep)
{
    (void)c;
    hear("deleted", dep, "id");
}

static const struct lc_observer recorder = {"test",    o_started, o_changed, o_ended,
                                            o_created, o_deleted, NULL};

/* An observer hears a deploy and an undeploy, in order, each event inside
 * the transaction of its change. */
static void observers_hear_every_change(void **state)
{
    const char *want[] = {"created - default:o1",        "started deploy processing",
                          "changed deploy completed",    "ended deploy completed",
                          "started undeploy processing", "deleted - default:o1",
                          "changed undeploy completed",  "ended undeploy completed"};
    struct txn *t;

    (void)state;
    n_heard = 0;
    lc_observe(&C, &recorder);
    json_decref(deploy("o1"));
    t = submit(svc_undeploy, "default:o1", NULL);
    assert_int_equal(t->res.status, 202);
    json_decref(run_op(json_string_value(json_object_get(t->res.body, "id"))));
    txn_free(t);
    assert_int_equal(n_heard, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_string_equal(heard[i], want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(deploy_moves_through_the_stages, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_stage_retries_and_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(exhausted_budget_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_deployment_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_from_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(pause_then_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(pause_then_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(pause_then_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_stops_in_failed_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_rolling_back, setup, teardown),
        cmocka_unit_test_setup_teardown(notifications_in_the_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(observers_hear_every_change, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
