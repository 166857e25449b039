/* The agent VIM's driver, the manager's side (agent.h, docs/VIM_AGENT.md).
 *
 * Each operation is a line on the agent's stream ({"id", "op", ...}) and
 * waits for the agent's POST of its outcome, within a time of its own. An
 * operation while no agent is connected fails at once (-EHOSTUNREACH); one
 * whose stream ends before its outcome came fails with -ECONNRESET (the
 * core treats both as any failure of a VIM: retried, or the operation
 * fails with the message).
 *
 * The registry of open sites, their links and the operations waiting on
 * them share one mutex: a handful of agents, and nothing done under it
 * takes long. */
#include "vim/agent/agent.h"
#include "util/jsonv.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_MS    10000 /* an empty line on an idle stream (the agent's timeout is 30 s) */
#define OP_TIMEOUT_MS   60000 /* create, start, destroy, list */
#define READ_TIMEOUT_MS 10000 /* status, stats, day0_dir, console */
#define CHECK_WAIT_MS   800   /* what a check waits for an agent that is not there */
#define HAND_BACK_TIMEOUT_MS \
    30000                    /* a chunk of the store written and synced; the store put in place */
#define STOP_MARGIN_MS 30000 /* beyond a stop's grace */

struct waiter {
    uint64_t id;
    const struct agent_link *link; /* the stream it was sent on */
    bool done;
    int rc;
    char err[VIM_ERR_MAX];
    json_t *out;
    struct waiter *next;
};

struct exit_pipe {
    char vi[VIM_ID_MAX];
    json_t *handle; /* wire_handle(): watched again on a new link */
    int wfd;        /* the write end of the pipe whose read end exit_fd gave */
    struct exit_pipe *next;
};

struct agent_site {
    char name[VIM_NAME_MAX];
    unsigned char hash[32]; /* SHA-256 of the agent's token */
    json_t *open;           /* what the agent opens its process VIM with */
    struct agent_link *link;
    bool ready;                 /* the agent opened its VIM on this link */
    uint64_t open_id;           /* the open request of the link */
    char why[VIM_ERR_MAX];      /* why no agent serves the site */
    char host[64], instance[8]; /* of the agent that opened its VIM last */
    uint64_t next_id;
    struct waiter *waiters;
    struct exit_pipe *exits;
    pthread_t keeper;
    bool closing;
    struct agent_site *next;
};

struct agent_link {
    struct agent_site *s; /* NULL once it ended */
    struct sbuf out;
    size_t off;
    bool streaming;
    void (*wake)(void *cls);
    void *cls;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond; /* on CLOCK_MONOTONIC (init_cond) */
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static struct agent_site *sites;

static void sha256(const char *s, unsigned char out[32])
{
    EVP_Digest(s, strlen(s), out, NULL, EVP_sha256(), NULL);
}

/* ---- the stream (mu held) ---- */

static void send_line(struct agent_link *l, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);

    sbuf_adds(&l->out, text);
    sbuf_addc(&l->out, '\n');
    free(text);
    if (l->streaming && l->wake)
        l->wake(l->cls);
}

/* The link ends: its waiters fail, the site has none. */
static void end_link(struct agent_site *s, const char *why)
{
    struct agent_link *l = s->link;

    if (!l)
        return;
    for (struct waiter *w = s->waiters; w; w = w->next)
        if (w->link == l && !w->done) {
            w->done = true;
            w->rc = -ECONNRESET;
            snprintf(w->err, sizeof(w->err), "site %s: its VIM agent went away (%s)", s->name, why);
        }
    l->s = NULL;
    s->link = NULL;
    s->ready = false;
    snprintf(s->why, sizeof(s->why), "site %s: its VIM agent %s", s->name, why);
    if (l->streaming && l->wake)
        l->wake(l->cls);
    pthread_cond_broadcast(&cond);
}

static struct agent_site *find(const char *name)
{
    for (struct agent_site *s = sites; s; s = s->next)
        if (strcmp(s->name, name) == 0 && !s->closing)
            return s;
    return NULL;
}

static bool token_ok(const struct agent_site *s, const char *token)
{
    unsigned char h[32];

    sha256(token ? token : "", h);
    return CRYPTO_memcmp(h, s->hash, sizeof(h)) == 0;
}

struct agent_link *vim_agent_link_open(const char *site, const char *token, void (*wake)(void *cls),
                                       void *cls, int *status, char *why, size_t len)
{
    struct agent_link *l;
    struct agent_site *s;
    json_t *msg;

    pthread_mutex_lock(&mu);
    s = find(site);
    if (!s || !token_ok(s, token)) {
        pthread_mutex_unlock(&mu);
        *status = s ? 401 : 404;
        snprintf(why, len,
                 s ? "wrong token for the VIM agent of site %s"
                   : "no site %s here whose VIM is an agent",
                 site);
        return NULL;
    }
    end_link(s, "connected again");
    l = xcalloc(1, sizeof(*l));
    l->s = s;
    l->wake = wake;
    l->cls = cls;
    s->link = l;
    snprintf(s->why, sizeof(s->why), "site %s: its VIM agent is opening its VIM", s->name);
    s->open_id = ++s->next_id;
    msg = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)s->open_id, "op", "open", "site", s->open);
    send_line(l, msg);
    json_decref(msg);
    pthread_mutex_unlock(&mu);
    log_info("site %s: its VIM agent connected", site);
    return l;
}

void vim_agent_link_start(struct agent_link *l)
{
    pthread_mutex_lock(&mu);
    l->streaming = true;
    if (l->wake)
        l->wake(l->cls);
    pthread_mutex_unlock(&mu);
}

ssize_t vim_agent_link_read(struct agent_link *l, char *buf, size_t max)
{
    ssize_t n;

    pthread_mutex_lock(&mu);
    n = (ssize_t)sbuf_drain(&l->out, &l->off, buf, max);
    if (n == 0 && !l->s)
        n = -1;
    pthread_mutex_unlock(&mu);
    return n;
}

void vim_agent_link_close(struct agent_link *l)
{
    char name[VIM_NAME_MAX] = "";

    pthread_mutex_lock(&mu);
    l->wake = NULL;
    if (l->s) {
        snprintf(name, sizeof(name), "%s", l->s->name);
        end_link(l->s, "disconnected");
    }
    pthread_mutex_unlock(&mu);
    if (*name)
        log_warn("site %s: its VIM agent disconnected", name);
    sbuf_done(&l->out);
    free(l);
}

/* ---- outcomes ---- */

static void exited(struct agent_site *s, const char *vi)
{
    for (struct exit_pipe **p = &s->exits; *p; p = &(*p)->next)
        if (strcmp((*p)->vi, vi) == 0) {
            struct exit_pipe *e = *p;

            *p = e->next;
            if (write(e->wfd, "x", 1) < 0)
                log_warn("site %s: VI %s exited, and its watch cannot be told: %s", s->name, vi,
                         strerror(errno));
            close(e->wfd);
            json_decref(e->handle);
            free(e);
            return;
        }
}

int vim_agent_post(const char *site, const char *token, const char *body, size_t len, char *why,
                   size_t why_len)
{
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    struct agent_site *s;
    uint64_t id = (uint64_t)jv_int(j, "id", 0);
    int status = 0;

    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, why_len, "expected a JSON object");
        return 400;
    }
    pthread_mutex_lock(&mu);
    s = find(site);
    if (!s || !token_ok(s, token)) {
        status = s ? 401 : 404;
        snprintf(why, why_len,
                 s ? "wrong token for the VIM agent of site %s"
                   : "no site %s here whose VIM is an agent",
                 site);
    } else if (json_is_string(json_object_get(j, "exit"))) {
        exited(s, jv_str(j, "exit", ""));
    } else if (id && id == s->open_id && s->link) {
        s->ready = jv_int(j, "rc", -EIO) == 0;
        snprintf(s->why, sizeof(s->why), "site %s: its VIM agent cannot open its VIM: %s", s->name,
                 jv_str(j, "err", "?"));
        if (s->ready) {
            const json_t *out = json_object_get(j, "out");

            snprintf(s->host, sizeof(s->host), "%s", jv_str(out, "host", "?"));
            snprintf(s->instance, sizeof(s->instance), "%s", jv_str(out, "instance", "?"));
            log_info("site %s: its VIM agent on host %s (instance %s) opened its VIM", s->name,
                     s->host, s->instance);
        } else {
            log_error("%s", s->why);
        }
        /* the watches were the agent's that went (it posts the exit of a
         * VI that ended meanwhile); their outcomes wait on nobody */
        for (struct exit_pipe *e = s->exits; s->ready && e; e = e->next) {
            json_t *msg = json_pack("{s:i, s:s, s:O}", "id", 0, "op", "watch", "vi", e->handle);

            send_line(s->link, msg);
            json_decref(msg);
        }
        pthread_cond_broadcast(&cond);
    } else {
        for (struct waiter *w = s->waiters; w; w = w->next)
            if (w->id == id && !w->done) {
                w->done = true;
                w->rc = (int)jv_int(j, "rc", -EIO);
                snprintf(w->err, sizeof(w->err), "%s", jv_str(j, "err", ""));
                w->out = json_incref(json_object_get(j, "out"));
                pthread_cond_broadcast(&cond);
                break;
            }
    }
    pthread_mutex_unlock(&mu);
    json_decref(j);
    return status;
}

/* ---- the operations ---- */

static void init_cond(void)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &a);
    pthread_condattr_destroy(&a);
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Sends op with args (taken) and waits for its outcome: 0 with *out (the
 * outcome's "out", may be NULL; the caller's) or a negative errno. */
static int call(struct agent_site *s, const char *op, json_t *args, unsigned timeout_ms,
                json_t **out, struct vim_err *err)
{
    struct waiter w = {0};
    struct timespec until;
    int r = 0;

    if (out)
        *out = NULL;
    deadline_in(&until, timeout_ms);
    pthread_mutex_lock(&mu);
    /* a link that is opening its VIM is waited for */
    while (s->link && !s->ready && r == 0)
        r = pthread_cond_timedwait(&cond, &mu, &until);
    if (!s->link || !s->ready) {
        pthread_mutex_unlock(&mu);
        json_decref(args);
        return vim_fail(err, -EHOSTUNREACH, "%s", s->why);
    }
    w.id = ++s->next_id;
    w.link = s->link;
    w.next = s->waiters;
    s->waiters = &w;
    json_object_set_new(args, "id", json_integer((json_int_t)w.id));
    json_object_set_new(args, "op", json_string(op));
    send_line(s->link, args);
    json_decref(args);
    while (!w.done && pthread_cond_timedwait(&cond, &mu, &until) != ETIMEDOUT)
        ;
    for (struct waiter **p = &s->waiters; *p; p = &(*p)->next)
        if (*p == &w) {
            *p = w.next;
            break;
        }
    pthread_mutex_unlock(&mu);
    if (!w.done)
        return vim_fail(err, -ETIMEDOUT, "site %s: its VIM agent did not answer %s within %u s",
                        s->name, op, timeout_ms / 1000);
    if (w.rc) {
        json_decref(w.out);
        return vim_fail(err, w.rc < 0 ? w.rc : -EIO, "%s", w.err);
    }
    if (out)
        *out = w.out;
    else
        json_decref(w.out);
    return 0;
}

static json_t *with_handle(const struct vi_handle *h)
{
    return json_pack("{s:o}", "vi", wire_handle(h));
}

static int agent_create(void *data, const struct vi_spec *spec, struct vi_out *out,
                        struct vim_err *err)
{
    json_t *o;
    int r;

    if (spec->manager)
        return vim_fail(err, -EOPNOTSUPP, "VI %s: the agent VIM runs no manager", spec->id);
    r = call(data, "create", json_pack("{s:o}", "spec", wire_spec(spec)), OP_TIMEOUT_MS, &o, err);
    if (r == 0)
        wire_out_parse(o, out);
    json_decref(o);
    return r;
}

static int agent_start(void *data, const struct vi_spec *spec, const struct vi_handle *h,
                       struct vi_out *out, struct vim_err *err)
{
    json_t *o, *args = with_handle(h);
    int r;

    json_object_set_new(args, "spec", wire_spec(spec));
    r = call(data, "start", args, OP_TIMEOUT_MS, &o, err);
    if (r == 0)
        wire_out_parse(o, out);
    json_decref(o);
    return r;
}

static int agent_stop(void *data, const struct vi_handle *h, unsigned grace_ms, struct vim_err *err)
{
    json_t *args = with_handle(h);

    json_object_set_new(args, "grace_ms", json_integer(grace_ms));
    return call(data, "stop", args, grace_ms + STOP_MARGIN_MS, NULL, err);
}

static int agent_destroy(void *data, const struct vi_handle *h, struct vim_err *err)
{
    return call(data, "destroy", with_handle(h), OP_TIMEOUT_MS, NULL, err);
}

static int agent_resize(void *data, const struct vi_handle *h, unsigned vcpu_milli,
                        uint64_t memory_bytes, struct vim_err *err)
{
    json_t *args = with_handle(h);

    json_object_set_new(args, "vcpu_milli", json_integer(vcpu_milli));
    json_object_set_new(args, "memory_bytes", json_integer((json_int_t)memory_bytes));
    return call(data, "resize", args, READ_TIMEOUT_MS, NULL, err);
}

static int agent_stats(void *data, const struct vi_handle *h, struct vi_stats *st,
                       struct vim_err *err)
{
    json_t *o;
    int r = call(data, "stats", with_handle(h), READ_TIMEOUT_MS, &o, err);

    if (r == 0) {
        st->cpu_usage_ns = (uint64_t)jv_int(o, "cpu_usage_ns", 0);
        st->memory_bytes = (uint64_t)jv_int(o, "memory_bytes", 0);
        st->memory_limit = (uint64_t)jv_int(o, "memory_limit", 0);
        st->nprocs = (unsigned)jv_int(o, "nprocs", 0);
    }
    json_decref(o);
    return r;
}

static int agent_disk(void *data, const struct vi_handle *h, uint64_t *bytes, struct vim_err *err)
{
    json_t *o;
    int r = call(data, "disk", with_handle(h), OP_TIMEOUT_MS, &o, err);

    if (r == 0)
        *bytes = (uint64_t)jv_int(o, "bytes", 0);
    json_decref(o);
    return r;
}

static int agent_status(void *data, const struct vi_handle *h, struct vi_status *st,
                        struct vim_err *err)
{
    json_t *o;
    int r = call(data, "status", with_handle(h), READ_TIMEOUT_MS, &o, err);

    if (r == 0) {
        st->state = (enum vi_run_state)jv_int(o, "state", VI_ABSENT);
        st->exit_status = (int)jv_int(o, "exit_status", -1);
    }
    json_decref(o);
    return r;
}

/* A pipe whose read end becomes readable when the agent posts the VI's
 * exit; the agent watches the VI from the answer to "watch" on (a VI that
 * does not run: -1, the core takes it as gone). Watches are the agent
 * process's: a new link asks for them all again. */
static int agent_exit_fd(void *data, const struct vi_handle *h)
{
    struct agent_site *s = data;
    struct exit_pipe *e;
    int fds[2];

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    e = xcalloc(1, sizeof(*e));
    snprintf(e->vi, sizeof(e->vi), "%s", h->id);
    e->handle = wire_handle(h);
    e->wfd = fds[1];
    pthread_mutex_lock(&mu);
    exited(s, h->id); /* an older watch of it: its reader is closed */
    e->next = s->exits;
    s->exits = e;
    pthread_mutex_unlock(&mu);
    if (call(s, "watch", with_handle(h), READ_TIMEOUT_MS, NULL, NULL)) {
        pthread_mutex_lock(&mu);
        exited(s, h->id);
        pthread_mutex_unlock(&mu);
        close(fds[0]);
        return -1;
    }
    return fds[0];
}

static void agent_day0_dir(void *data, const char *vi, char *buf, size_t len)
{
    json_t *o;

    *buf = '\0';
    if (call(data, "day0_dir", json_pack("{s:s}", "vi_id", vi), READ_TIMEOUT_MS, &o, NULL) == 0)
        snprintf(buf, len, "%s", jv_str(o, "dir", ""));
    json_decref(o);
}

static void agent_console(void *data, const struct vi_handle *h, char *buf, size_t len)
{
    json_t *o;

    *buf = '\0';
    if (call(data, "console", with_handle(h), READ_TIMEOUT_MS, &o, NULL) == 0)
        snprintf(buf, len, "%s", jv_str(o, "text", ""));
    json_decref(o);
}

static int agent_list(void *data, char ***ids, size_t *n, struct vim_err *err)
{
    json_t *o, *v;
    size_t i;
    int r = call(data, "list", json_object(), OP_TIMEOUT_MS, &o, err);

    *ids = NULL;
    *n = 0;
    if (r)
        return r;
    *ids = xcalloc(json_array_size(json_object_get(o, "ids")) + 1, sizeof(**ids));
    json_array_foreach(json_object_get(o, "ids"), i, v) if (json_is_string(v))(*ids)[(*n)++] =
        xstrdup(json_string_value(v));
    json_decref(o);
    return 0;
}

/* A check waits a moment (CHECK_WAIT_MS, under the manager's tick) for an
 * agent that is not there: one that dials in meanwhile is found at once,
 * not at the next check (its site's VIs adopted, its manager's report
 * saying so: a moved manager's handover, docs/VIM_AGENT.md). */
static enum vim_health agent_check(void *data, struct vim_err *err)
{
    struct agent_site *s = data;
    struct timespec until;
    bool ok;

    deadline_in(&until, CHECK_WAIT_MS);
    pthread_mutex_lock(&mu);
    while (!(s->link && s->ready) && !s->closing &&
           pthread_cond_timedwait(&cond, &mu, &until) != ETIMEDOUT)
        ;
    ok = s->link && s->ready;
    if (!ok)
        vim_fail(err, 0, "%s", s->why);
    pthread_mutex_unlock(&mu);
    return ok ? VIM_OK : VIM_UNREACHABLE;
}

static void agent_view(void *data, json_t *view)
{
    struct agent_site *s = data;

    pthread_mutex_lock(&mu);
    json_object_set_new(view, "agent",
                        json_pack("{s:b, s:s, s:s*, s:s*}", "connected", s->link && s->ready,
                                  "state", s->link && s->ready ? "connected" : s->why, "host",
                                  *s->host ? s->host : NULL, "instance",
                                  *s->instance ? s->instance : NULL));
    pthread_mutex_unlock(&mu);
}

/* ---- the site ---- */

/* Keep-alives on an idle stream, so that both ends notice a dead one. */
static void *keeper(void *arg)
{
    struct agent_site *s = arg;
    struct timespec until;

    pthread_mutex_lock(&mu);
    deadline_in(&until, KEEPALIVE_MS);
    while (!s->closing) {
        if (pthread_cond_timedwait(&cond, &mu, &until) != ETIMEDOUT)
            continue; /* the cond is everyone's */
        deadline_in(&until, KEEPALIVE_MS);
        if (s->link && !s->closing) {
            sbuf_addc(&s->link->out, '\n');
            if (s->link->streaming && s->link->wake)
                s->link->wake(s->link->cls);
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static const struct jv_field site_options[] = {
    {.name = "token_sha256", .type = JV_STRING, .flags = JV_REQUIRED, .min = 64, .max = 64},
    {.name = NULL},
};

static int unhex(const char *hex, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
            return -EINVAL;
    return 0;
}

static int agent_open(const struct vim_site *site, void **data, struct vim_err *err)
{
    struct agent_site *s;

    if (!site->bridge || !*site->bridge)
        return vim_fail(err, -EINVAL, "site %s: the agent VIM runs VNFs only (no bridge)",
                        site->name);
    pthread_once(&cond_once, init_cond);
    s = xcalloc(1, sizeof(*s));
    if (unhex(jv_str(site->options, "token_sha256", ""), s->hash, sizeof(s->hash))) {
        free(s);
        return vim_fail(err, -EINVAL, "site %s: options.token_sha256: expected 64 hex digits",
                        site->name);
    }
    snprintf(s->name, sizeof(s->name), "%s", site->name);
    snprintf(s->why, sizeof(s->why), "site %s: its VIM agent has not connected", site->name);
    s->open = json_pack("{s:s, s:s, s:I, s:i}", "name", site->name, "bridge", site->bridge,
                        "gateway", (json_int_t)site->gateway, "prefix_len", (int)site->prefix_len);
    pthread_mutex_lock(&mu);
    if (find(site->name)) {
        pthread_mutex_unlock(&mu);
        json_decref(s->open);
        free(s);
        return vim_fail(err, -EEXIST, "site %s: open already", site->name);
    }
    s->next = sites;
    sites = s;
    pthread_mutex_unlock(&mu);
    if (pthread_create(&s->keeper, NULL, keeper, s)) {
        s->keeper = 0;
        log_warn("site %s: no keep-alives on its VIM agent's stream", site->name);
    }
    *data = s;
    return 0;
}

static void agent_close(void *data)
{
    struct agent_site *s = data;

    pthread_mutex_lock(&mu);
    s->closing = true;
    end_link(s, "site closed");
    for (struct agent_site **p = &sites; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&mu);
    if (s->keeper)
        pthread_join(s->keeper, NULL);
    while (s->exits) {
        struct exit_pipe *e = s->exits;

        s->exits = e->next;
        close(e->wfd);
        json_decref(e->handle);
        free(e);
    }
    json_decref(s->open);
    free(s);
}

static int agent_endpoints(void *data, const json_t *doc, struct vim_err *err)
{
    return call(data, "endpoints", json_pack("{s:O}", "endpoints", doc), READ_TIMEOUT_MS, NULL,
                err);
}

static int agent_hand_back(void *data, const char *op, json_t *args, struct vim_err *err)
{
    if (strcmp(op, "return_file") && strcmp(op, "return")) {
        json_decref(args);
        return vim_fail(err, -EINVAL, "unknown hand-back operation '%s'", op);
    }
    return call(data, op, args, HAND_BACK_TIMEOUT_MS, NULL, err);
}

const struct vim_ops vim_agent_ops = {
    .name = "agent",
    .summary = "the process VIM of another host, run there by a VIM agent (vnfmd --vim-agent) "
               "that dials in to this manager",
    .addressing = VIM_ADDR_SITE,
    .site_options = site_options,
    .vdu_fields = vim_proc_vdu_fields, /* the same VDUs run there */
    .open = agent_open,
    .close = agent_close,
    .check = agent_check,
    .create = agent_create,
    .start = agent_start,
    .stop = agent_stop,
    .destroy = agent_destroy,
    .resize = agent_resize,
    .stats = agent_stats,
    .disk = agent_disk,
    .status = agent_status,
    .exit_fd = agent_exit_fd,
    .day0_dir = agent_day0_dir,
    .console = agent_console,
    .list = agent_list,
    .view = agent_view,
    .endpoints = agent_endpoints,
    .hand_back = agent_hand_back,
};
