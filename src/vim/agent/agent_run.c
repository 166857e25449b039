/* The VIM agent's process (`vnfmd --vim-agent URL`, agent.h): the process
 * VIM of this host, run for the manager at URL.
 *
 * Threads: the stream's (it reads the manager's requests and opens the
 * VIM), one for each request while it runs (the driver contract lets
 * operations on different VIs run at once), and the watcher of the VIs'
 * exits (an epoll of the process VIM's pidfds). */
#include "vim/agent/agent.h"
#include "vim/endpoint.h"
#include "util/fsutil.h"
#include "util/httpc.h"
#include "util/doc.h"
#include "util/etcd.h"
#include "util/ids.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define STREAM_IDLE_MS 30000 /* the manager sends a keep-alive every 10 s */
#define RETRY_MAX_S    10
#define DRAIN_S        30          /* requests still running at a stop */
#define LINE_MAX_BYTES (16u << 20) /* a request (a VI's spec with its day-0 files) */
#define RETURN_DIR     "return.in" /* the store of a manager that returns here, as it comes */
#define STORE_FILE     "vnfm.db"
#define STORE_MAX      (256u << 20)
#define OUTCOMES_KEPT  4 /* connections to the manager its outcomes go on, kept open */

struct agent {
    const struct agent_cfg *cfg;
    char *result_url, *channel_url, auth[320], site_hdr[160];
    const char *headers[3];
    char tag[8];
    const struct vim_ops *ops;
    void *vim;
    json_t *opened; /* what the VIM was opened with */
    int ep;         /* the watched VIs' exits */
    pthread_mutex_t wmu;
    struct watch *watches; /* under wmu */
    struct sbuf line;
    atomic_int running;      /* requests */
    bool opened_once;        /* the manager opened the VIM (a move: it is done) */
    atomic_bool returns;     /* the manager returns here: the agent stops, it starts */
    struct httpc_keep *keep; /* the connections its outcomes go on, kept open */
};

struct watch {
    int fd;
    char vi[VIM_ID_MAX];
    struct watch *next;
};

static bool stopping;

static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&stopping, true, __ATOMIC_SEQ_CST);
}

static bool stopped(void)
{
    return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

static void post(struct agent *a, json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    struct httpc_req rq = {.url = a->result_url,
                           .body = body,
                           .headers = a->headers,
                           .timeout_ms = 10000,
                           .ca_file = a->cfg->ca_file,
                           .keep = a->keep};
    struct httpc_resp resp;
    char buf[HTTPC_ERR_MAX + 32];

    if (httpc_do(&rq, &resp) || !httpc_ok(&resp))
        log_warn("vim-agent: an outcome not delivered to %s: %s", a->result_url,
                 httpc_outcome(&resp, buf, sizeof(buf)));
    httpc_resp_done(&resp);
    free(body);
}

/* ---- exits ---- */

static int watch(struct agent *a, const struct vi_handle *h)
{
    struct watch *w;
    struct epoll_event ev = {.events = EPOLLIN};
    int fd = a->ops->exit_fd(a->vim, h);

    if (fd < 0)
        return -ESRCH;
    w = xcalloc(1, sizeof(*w));
    w->fd = fd;
    snprintf(w->vi, sizeof(w->vi), "%s", h->id);
    ev.data.ptr = w;
    pthread_mutex_lock(&a->wmu);
    if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int r = -errno;

        pthread_mutex_unlock(&a->wmu);
        close(fd);
        free(w);
        return r;
    }
    w->next = a->watches;
    a->watches = w;
    pthread_mutex_unlock(&a->wmu);
    return 0;
}

static void unwatch(struct agent *a, struct watch *w)
{
    pthread_mutex_lock(&a->wmu);
    for (struct watch **p = &a->watches; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    pthread_mutex_unlock(&a->wmu);
    epoll_ctl(a->ep, EPOLL_CTL_DEL, w->fd, NULL);
    close(w->fd);
    free(w);
}

static void *watcher(void *arg)
{
    struct agent *a = arg;
    struct epoll_event ev[16];

    while (!stopped()) {
        int n = epoll_wait(a->ep, ev, 16, 500);

        for (int i = 0; i < n; i++) {
            struct watch *w = ev[i].data.ptr;
            json_t *msg = json_pack("{s:s}", "exit", w->vi);

            log_info("vim-agent: VI %s has ended", w->vi);
            post(a, msg);
            json_decref(msg);
            unwatch(a, w);
        }
    }
    return NULL;
}

/* ---- requests ---- */

static int open_vim(struct agent *a, const json_t *site, struct vim_err *err)
{
    struct vim_site vs = {.name = jv_str(site, "name", "?"),
                          .tag = a->tag,
                          .data_dir = a->cfg->data_dir,
                          .cmd_path = a->cfg->vnf_path,
                          .bridge = jv_str(site, "bridge", ""),
                          .gateway = (uint32_t)jv_int(site, "gateway", 0),
                          .prefix_len = (unsigned)jv_int(site, "prefix_len", 0)};
    json_t *none;
    int r;

    if (a->vim) {
        if (json_equal(a->opened, site))
            return 0;
        snprintf(err->msg, sizeof(err->msg),
                 "the agent runs site %s's VIM with other parameters: start it again",
                 jv_str(a->opened, "name", "?"));
        return -EBUSY;
    }
    if (strlen(vs.bridge) >= 16 || !*vs.bridge) {
        snprintf(err->msg, sizeof(err->msg), "bridge: expected 1 to 15 characters");
        return -EINVAL;
    }
    vs.options = none = json_object();
    r = a->ops->open(&vs, &a->vim, err);
    json_decref(none);
    if (r == 0) {
        a->opened = json_deep_copy(site);
        log_info("vim-agent: site %s's VIM open (bridge %s, instance tag %s)", vs.name, vs.bridge,
                 a->tag);
    }
    return r;
}

/* ---- the manager's return to this host (fed/relocate.c) ---- */

/* A chunk of the returning manager's store ({offset, data, end}). */
static int return_file(struct agent *a, const json_t *q, struct vim_err *err)
{
    char *dir = xasprintf("%s/%s", a->cfg->data_dir, RETURN_DIR), *path = NULL, *data;
    json_int_t offset = jv_int(q, "offset", -1);
    size_t n = 0;
    int r = mkdir_p(dir, 0700);

    data = r ? NULL : etcd_unb64(jv_str(q, "data", ""), &n);
    if (r)
        snprintf(err->msg, sizeof(err->msg), "%s: %s", dir, strerror(-r));
    else if (!data || offset < 0)
        r = -EINVAL, snprintf(err->msg, sizeof(err->msg), "expected offset and base64 data");
    else if ((r = append_at(path = xasprintf("%s/%s", dir, STORE_FILE), (uint64_t)offset, data, n,
                            STORE_MAX)))
        snprintf(err->msg, sizeof(err->msg), "%s at %lld: %s", path, (long long)offset,
                 r == -ERANGE ? "not where it ends" : strerror(-r));
    free(data);
    free(path);
    free(dir);
    return r;
}

/* The returned store put in place of the one its move left here (and
 * that store's journal of writes, which would be played onto it), and the
 * data dir no longer a moved manager's: the agent stops, and vnfmd.c
 * starts the manager again on it. */
static int return_install(struct agent *a, const json_t *q, struct vim_err *err)
{
    const char *dd = a->cfg->data_dir;
    char *in = xasprintf("%s/%s/%s", dd, RETURN_DIR, STORE_FILE),
         *db = xasprintf("%s/%s", dd, STORE_FILE), *wal = xasprintf("%s-wal", db),
         *shm = xasprintf("%s-shm", db), *mark = xasprintf("%s/returned.json", dd),
         *moved = xasprintf("%s/moved.json", dd), head[16] = "", *text;
    json_t *doc = json_pack("{s:s, s:s}", "move", jv_str(q, "move", ""), "manager", a->cfg->url);
    int fd = open(in, O_RDONLY | O_CLOEXEC), r = 0;

    if (fd < 0 || read(fd, head, sizeof(head)) != (ssize_t)sizeof(head) ||
        memcmp(head, "SQLite format 3", 16))
        r = -EINVAL, snprintf(err->msg, sizeof(err->msg), "%s: not a whole SQLite store", in);
    if (fd >= 0)
        close(fd);
    doc_touch(doc, "at");
    text = json_dumps(doc, JSON_INDENT(2));
    /* the mark first: it changes nothing of a store that did not come back (vnfmd.c) */
    if (r == 0 && (r = write_file_atomic(mark, text, strlen(text), 0600, true)))
        snprintf(err->msg, sizeof(err->msg), "%s: %s", mark, strerror(-r));
    if (r == 0 &&
        ((unlink(wal) && errno != ENOENT) || (unlink(shm) && errno != ENOENT) || rename(in, db)))
        r = -errno, snprintf(err->msg, sizeof(err->msg), "%s: %s", db, strerror(errno));
    if (r == 0) {
        unlink(moved);
        in[strlen(in) - strlen("/" STORE_FILE)] = '\0';
        rmdir(in);
        log_warn("vim-agent: the manager at %s returns to this host (move %s): it starts here "
                 "again",
                 a->cfg->url, jv_str(q, "move", "?"));
    }
    json_decref(doc);
    free(text);
    free(moved);
    free(mark);
    free(shm);
    free(wal);
    free(db);
    free(in);
    return r;
}

/* Runs request q on the open VIM: its outcome's rc, out filled. */
static int run(struct agent *a, const json_t *q, json_t **out, struct vim_err *err)
{
    const char *op = jv_str(q, "op", "");
    struct vi_handle h = {""};
    struct vi_spec spec;
    struct vi_out vo = {0};
    int r;

    if (!a->vim) {
        snprintf(err->msg, sizeof(err->msg), "the agent has not opened its VIM");
        return -ENODEV;
    }
    if (json_object_get(q, "vi") && wire_handle_parse(json_object_get(q, "vi"), &h)) {
        snprintf(err->msg, sizeof(err->msg), "vi: expected {id, ref}");
        return -EINVAL;
    }
    if (json_object_get(q, "spec") &&
        (r = wire_spec_parse(json_object_get(q, "spec"), &spec, err->msg, sizeof(err->msg))))
        return r;
    if (strcmp(op, "create") == 0 || strcmp(op, "start") == 0) {
        r = strcmp(op, "create") == 0 ? a->ops->create(a->vim, &spec, &vo, err)
                                      : a->ops->start(a->vim, &spec, &h, &vo, err);
        if (r == 0)
            *out = wire_out(&vo);
        json_decref(vo.ref);
        return r;
    }
    if (strcmp(op, "stop") == 0)
        return a->ops->stop(a->vim, &h, (unsigned)jv_int(q, "grace_ms", 0), err);
    if (strcmp(op, "destroy") == 0)
        return a->ops->destroy(a->vim, &h, err);
    if (strcmp(op, "resize") == 0)
        return a->ops->resize(a->vim, &h, (unsigned)jv_int(q, "vcpu_milli", 0),
                              (uint64_t)jv_int(q, "memory_bytes", 0), err);
    if (strcmp(op, "stats") == 0) {
        struct vi_stats st = {0};

        if ((r = a->ops->stats(a->vim, &h, &st, err)) == 0)
            *out = json_pack("{s:I, s:I, s:I, s:i}", "cpu_usage_ns", (json_int_t)st.cpu_usage_ns,
                             "memory_bytes", (json_int_t)st.memory_bytes, "memory_limit",
                             (json_int_t)st.memory_limit, "nprocs", (int)st.nprocs);
        return r;
    }
    if (strcmp(op, "disk") == 0) {
        uint64_t bytes = 0;

        if ((r = a->ops->disk(a->vim, &h, &bytes, err)) == 0)
            *out = json_pack("{s:I}", "bytes", (json_int_t)bytes);
        return r;
    }
    if (strcmp(op, "status") == 0) {
        struct vi_status st = {VI_ABSENT, -1};

        if ((r = a->ops->status(a->vim, &h, &st, err)) == 0)
            *out = json_pack("{s:i, s:i}", "state", (int)st.state, "exit_status", st.exit_status);
        return r;
    }
    if (strcmp(op, "watch") == 0) {
        if ((r = watch(a, &h)))
            snprintf(err->msg, sizeof(err->msg), "VI %s does not run", h.id);
        return r;
    }
    if (strcmp(op, "return_file") == 0)
        return return_file(a, q, err);
    if (strcmp(op, "return") == 0)
        return return_install(a, q, err);
    if (strcmp(op, "endpoints") == 0) /* the table of its manager's tag (vim/endpoint.h) */
        return ep_apply(a->tag, json_object_get(q, "endpoints"), err->msg, sizeof(err->msg)) ? -EIO
                                                                                             : 0;
    if (strcmp(op, "list") == 0) {
        char **ids;
        size_t n;

        if ((r = a->ops->list(a->vim, &ids, &n, err)) == 0) {
            *out = json_pack("{s:[]}", "ids");
            for (size_t i = 0; i < n; i++)
                json_array_append_new(json_object_get(*out, "ids"), json_string(ids[i]));
            vim_ids_free(ids, n);
        }
        return r;
    }
    if (strcmp(op, "day0_dir") == 0 || strcmp(op, "console") == 0) {
        char buf[4096];

        bool console = strcmp(op, "console") == 0;

        if (console)
            a->ops->console(a->vim, &h, buf, sizeof(buf));
        else
            a->ops->day0_dir(a->vim, jv_str(q, "vi_id", ""), buf, sizeof(buf));
        *out = json_pack("{s:s}", console ? "text" : "dir", buf);
        return 0;
    }
    snprintf(err->msg, sizeof(err->msg), "unknown operation '%s'", op);
    return -EINVAL;
}

struct job {
    struct agent *a;
    json_t *q;
};

static void answer(struct agent *a, const json_t *q, int r, json_t *out, const struct vim_err *err)
{
    json_t *msg = json_pack("{s:O, s:i, s:s, s:o*}", "id", json_object_get(q, "id"), "rc", r, "err",
                            err->msg, "out", out);

    if (r == -ESRCH && strcmp(jv_str(q, "op", ""), "watch") == 0) {
        json_t *gone = json_pack("{s:s}", "exit", jv_str(json_object_get(q, "vi"), "id", ""));

        post(a, gone); /* a watch asked again on a new link waits on nobody */
        json_decref(gone);
    }
    post(a, msg);
    json_decref(msg);
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct vim_err err = {""};
    json_t *out = NULL;
    int r = run(j->a, j->q, &out, &err);

    if (r)
        log_warn("vim-agent: %s failed: %s", jv_str(j->q, "op", "?"), err.msg);
    answer(j->a, j->q, r, out, &err);
    if (r == 0 && strcmp(jv_str(j->q, "op", ""), "return") == 0) { /* answered: the manager */
        atomic_store(&j->a->returns, true);
        on_signal(0);
    }
    json_decref(j->q);
    atomic_fetch_sub(&j->a->running, 1);
    free(j);
    return NULL;
}

/* ---- the move that made this agent (fed/relocate.c) ---- */

/* The moved manager opened the VIM: the data dir says so, and a manager
 * started on it is refused (vnfmd.c). */
static void moved(struct agent *a)
{
    char *path = xasprintf("%s/moved.json", a->cfg->data_dir), *text;
    json_t *doc = json_pack("{s:s, s:s, s:s}", "move", a->cfg->move, "manager", a->cfg->url,
                            "agent", "vnfmd --vim-agent (this data dir's agent.token)");

    doc_touch(doc, "at");
    text = json_dumps(doc, JSON_INDENT(2));
    if (write_file_atomic(path, text, strlen(text), 0600, true))
        log_error("vim-agent: cannot write %s", path);
    log_info("vim-agent: move %s done: the manager at %s has this site's VIM", a->cfg->move,
             a->cfg->url);
    json_decref(doc);
    free(text);
    free(path);
}

/* How the move stands at the cloud: true when it was rolled back. */
static bool rolled_back(struct agent *a)
{
    char *path = xasprintf("%s/fed.json", a->cfg->data_dir), *text = NULL, *url = NULL,
         *auth = NULL;
    json_t *fed = NULL, *ans = NULL;
    struct httpc_resp resp = {0};
    bool back = false;

    if (read_file(path, 1 << 16, &text, NULL) == 0 && (fed = json_loads(text, 0, NULL)) &&
        doc_str(fed, "cloud_url") && doc_str(fed, "credential")) {
        const char *hdrs[] = {NULL, "Content-Type: application/json", NULL};

        url = xasprintf("%s/fed/v1/relocation/%s/fate", doc_str(fed, "cloud_url"), a->cfg->move);
        auth = xasprintf("Authorization: Bearer %s", doc_str(fed, "credential"));
        hdrs[0] = auth;
        httpc_do(&(struct httpc_req){.url = url,
                                     .body = "{}",
                                     .headers = hdrs,
                                     .timeout_ms = 10000,
                                     .max_response = 65536,
                                     .ca_file = a->cfg->ca_file},
                 &resp);
        ans = resp.status == 200 ? json_loads(resp.body, 0, NULL) : NULL;
        back = ans && (strcmp(jv_str(ans, "state", ""), "rolled_back") == 0 ||
                       strcmp(jv_str(ans, "state", ""), "failed") == 0);
        if (back)
            log_warn("vim-agent: move %s was %s (%s): the manager starts again here", a->cfg->move,
                     jv_str(ans, "state", ""), jv_str(ans, "error", ""));
    }
    httpc_resp_done(&resp);
    json_decref(ans);
    json_decref(fed);
    free(auth);
    free(url);
    free(text);
    free(path);
    return back;
}

static void request(struct agent *a, json_t *q)
{
    struct job *j;
    pthread_t t;
    pthread_attr_t attr;

    if (strcmp(jv_str(q, "op", ""), "open") == 0) { /* before any other */
        struct vim_err err = {""};
        int r = open_vim(a, json_object_get(q, "site"), &err);

        char host[64] = "";

        if (r)
            log_error("vim-agent: cannot open the VIM: %s", err.msg);
        else if (a->cfg->move && !a->opened_once)
            moved(a);
        a->opened_once = a->opened_once || r == 0;
        gethostname(host, sizeof(host) - 1);
        answer(a, q, r, r ? NULL : json_pack("{s:s, s:s}", "instance", a->tag, "host", host), &err);
        json_decref(q);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->a = a;
    j->q = q;
    atomic_fetch_add(&a->running, 1);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, run_job, j)) {
        struct vim_err err = {"the agent cannot start a thread"};

        answer(a, q, -EAGAIN, NULL, &err);
        atomic_fetch_sub(&a->running, 1);
        json_decref(q);
        free(j);
    }
    pthread_attr_destroy(&attr);
}

/* The stream: a request a line; an empty line is a keep-alive. */
static bool on_data(void *arg, const char *p, size_t n)
{
    struct agent *a = arg;
    char *nl;

    sbuf_add(&a->line, p, n);
    while (a->line.len && (nl = memchr(a->line.s, '\n', a->line.len))) {
        size_t len = (size_t)(nl - a->line.s);
        json_t *q = len ? json_loadb(a->line.s, len, 0, NULL) : NULL;

        if (q && json_is_string(json_object_get(q, "op")))
            request(a, q);
        else
            json_decref(q);
        memmove(a->line.s, nl + 1, a->line.len - len - 1);
        a->line.len -= len + 1;
    }
    if (a->line.len > LINE_MAX_BYTES) {
        log_error("vim-agent: a request of more than %u bytes on the stream: it is ended",
                  LINE_MAX_BYTES);
        return false;
    }
    return !stopped();
}

/* ---- start-up ---- */

static int load_tag(struct agent *a)
{
    char *path = xasprintf("%s/agent.tag", a->cfg->data_dir), *text = NULL;
    unsigned char b[3];
    int r = 0;

    if (read_file(path, 64, &text, NULL) == 0 && strlen(text) >= 6) {
        snprintf(a->tag, sizeof(a->tag), "%.6s", text);
    } else {
        random_bytes(b, sizeof(b));
        snprintf(a->tag, sizeof(a->tag), "%02x%02x%02x", b[0], b[1], b[2]);
        r = write_file_atomic(path, a->tag, strlen(a->tag), 0600, true);
    }
    free(text);
    free(path);
    return r;
}

static int load_token(struct agent *a)
{
    char *text = NULL;
    size_t n = 0;

    if (read_file(a->cfg->token_file, 4096, &text, &n)) {
        log_error("vim-agent: cannot read the token file %s: %s", a->cfg->token_file,
                  strerror(errno));
        return -1;
    }
    text[strcspn(text, "\r\n")] = '\0';
    if (!*text || strlen(text) > 256) {
        log_error("vim-agent: %s: expected the token on its first line", a->cfg->token_file);
        free(text);
        return -1;
    }
    snprintf(a->auth, sizeof(a->auth), "Authorization: Bearer %s", text);
    free(text);
    return 0;
}

int vim_agent_run(const struct agent_cfg *cfg)
{
    struct agent a = {.cfg = cfg, .ep = -1, .wmu = PTHREAD_MUTEX_INITIALIZER};
    struct sigaction sa = {.sa_handler = on_signal};
    pthread_t w;
    unsigned wait_s = 1;
    int rc = 0, r;

    if (!cfg->site || !cfg->token_file || !cfg->data_dir) {
        log_error("--vim-agent needs --site and --vim-agent-token-file");
        return 1;
    }
    if ((r = mkdir_p(cfg->data_dir, 0750)) || load_tag(&a) || load_token(&a)) {
        if (r)
            log_error("vim-agent: cannot use --data-dir %s: %s", cfg->data_dir, strerror(-r));
        return 1;
    }
    a.ops = vim_driver_find("proc");
    a.channel_url = xasprintf("%s/vim/v1/channel", cfg->url);
    a.result_url = xasprintf("%s/vim/v1/result", cfg->url);
    snprintf(a.site_hdr, sizeof(a.site_hdr), "Vim-Site: %s", cfg->site);
    a.headers[0] = a.auth;
    a.headers[1] = a.site_hdr;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    httpc_global_init();
    a.keep = httpc_keep_new(OUTCOMES_KEPT);
    a.ep = epoll_create1(EPOLL_CLOEXEC);
    if (a.ep < 0 || pthread_create(&w, NULL, watcher, &a)) {
        log_error("vim-agent: cannot watch exits: %s", strerror(errno));
        rc = 1;
        goto out;
    }
    log_info("vim-agent: site %s of the manager at %s (instance tag %s)", cfg->site, cfg->url,
             a.tag);
    while (!stopped()) {
        struct httpc_req rq = {.method = "GET",
                               .url = a.channel_url,
                               .headers = a.headers,
                               .timeout_ms = STREAM_IDLE_MS,
                               .connect_timeout_ms = 10000,
                               .ca_file = cfg->ca_file,
                               .on_data = on_data,
                               .data_arg = &a,
                               .cancel = &stopping};
        struct httpc_resp resp;
        char buf[HTTPC_ERR_MAX + 32];

        a.line.len = 0;
        httpc_do(&rq, &resp);
        if ((resp.status == 401 || resp.status == 404) && !(cfg->move && !a.opened_once)) {
            log_error("vim-agent: the manager at %s refuses the agent of site %s (HTTP %ld): "
                      "check --site, the token, and the site's options.token_sha256",
                      cfg->url, cfg->site, resp.status);
            httpc_resp_done(&resp);
            rc = 1;
            break;
        }
        if (resp.status == 200)
            wait_s = 1;
        if (cfg->move && !a.opened_once && rolled_back(&a)) {
            httpc_resp_done(&resp);
            rc = AGENT_ROLLED_BACK;
            break;
        }
        if (!stopped())
            log_warn("vim-agent: the stream from %s ended (%s): again in %u s", a.channel_url,
                     httpc_outcome(&resp, buf, sizeof(buf)), wait_s);
        httpc_resp_done(&resp);
        for (unsigned i = 0; i < wait_s * 10 && !stopped(); i++)
            usleep(100000);
        wait_s = wait_s * 2 > RETRY_MAX_S ? RETRY_MAX_S : wait_s * 2;
    }
    on_signal(0); /* the watcher too */
    pthread_join(w, NULL);
out:
    for (unsigned i = 0; i < DRAIN_S * 10 && atomic_load(&a.running); i++)
        usleep(100000);
    if (!atomic_load(&a.running)) {
        if (a.vim)
            a.ops->close(a.vim); /* the VIs keep running */
        httpc_keep_free(a.keep); /* (else a job may still post on it) */
    }
    while (a.watches)
        unwatch(&a, a.watches);
    if (a.ep >= 0)
        close(a.ep);
    pthread_mutex_destroy(&a.wmu);
    json_decref(a.opened);
    sbuf_done(&a.line);
    free(a.channel_url);
    free(a.result_url);
    log_info("vim-agent: stopped");
    return atomic_load(&a.returns) ? AGENT_RETURNED : rc;
}
