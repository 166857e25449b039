#include "lcm/vi_job.h"
#include "lcm/sites.h"
#include "catalog/template.h"
#include "catalog/vnfd.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/beside.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/sbuf.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BASE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *vi_action_name(enum vi_action a)
{
    static const char *const names[] = {"none",   "create",  "start",  "ready",
                                        "reboot", "destroy", "resize", "stop"};

    return names[a];
}

enum heal_policy heal_policy_parse(const char *name)
{
    if (name && strcmp(name, "redeploy") == 0)
        return HEAL_REDEPLOY;
    if (name && strcmp(name, "reboot") == 0)
        return HEAL_REBOOT;
    return HEAL_REBOOT_THEN_REDEPLOY;
}

char *vi_workdir(struct core *c, const char *vi_id)
{
    return xasprintf("%s/vi/%s", c->cfg->data_dir, vi_id);
}

void vi_handle_from_doc(const json_t *vi, struct vi_handle *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->id, sizeof(h->id), "%s", doc_str(vi, "id"));
    h->pid = (pid_t)doc_int(vi, "pid", 0);
    h->pid_start = (uint64_t)doc_int(vi, "_pid_start", 0);
}

json_t *vi_vars(struct core *c, const json_t *dep, const json_t *vi)
{
    const json_t *params = json_object_get(dep, "params");
    unsigned plen = (unsigned)doc_int(vi, "prefix_len", 24);
    char mask[IP4_STR_MAX], cidr[40];
    char *workdir = vi_workdir(c, doc_str(vi, "id"));
    const char *name;
    json_t *vars, *v;

    snprintf(cidr, sizeof(cidr), "%s/%u", doc_str(vi, "ip"), plen);
    vars = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, "
                     "s:s, s:s}",
                     "deployment", doc_str(dep, "id"), "tenant", doc_str(dep, "tenant"), "site",
                     doc_str(dep, "site"), "vdu", doc_str(vi, "vdu"), "vi.id", doc_str(vi, "id"),
                     "vi.name", doc_str(vi, "name"), "vi.index",
                     (json_int_t)doc_int(vi, "index", 0), "ip", doc_str(vi, "ip"), "prefix_len",
                     (json_int_t)plen, "netmask", ip4_fmt(ip4_mask(plen), mask), "cidr", cidr,
                     "gateway", doc_str(vi, "gateway"), "day0_dir", workdir, "credentials.username",
                     jv_str(json_object_get(dep, "credentials"), "username", "admin"),
                     "credentials.password", jv_str(dep, "_password", ""), "license",
                     jv_str(dep, "license", ""));
    json_object_foreach((json_t *)params, name, v)
    {
        char key[128];

        snprintf(key, sizeof(key), "params.%s", name);
        json_object_set(vars, key, v);
    }
    free(workdir);
    return vars;
}

static char *render(const char *tmpl, const json_t *vars)
{
    char err[128], *out;

    if (tmpl_render(tmpl, vars, &out, err, sizeof(err)))
        return xstrdup(tmpl); /* validated at on-boarding; keep the text as is */
    return out;
}

static char **render_argv(const json_t *cmd, const json_t *vars)
{
    size_t n = json_array_size(cmd);
    char **argv = xcalloc(n + 1, sizeof(*argv));

    for (size_t i = 0; i < n; i++)
        argv[i] = render(json_string_value(json_array_get(cmd, i)), vars);
    return argv;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* The VNF's whole environment: PATH with --vnf-path first, our VNFM_*
 * variables, and the descriptor's templated env. */
static char **build_envp(struct core *c, const json_t *vdu, const json_t *vars)
{
    static const char *const exported[][2] = {
        {"VNFM_VI_ID", "vi.id"},
        {"VNFM_VI_NAME", "vi.name"},
        {"VNFM_DEPLOYMENT", "deployment"},
        {"VNFM_TENANT", "tenant"},
        {"VNFM_SITE", "site"},
        {"VNFM_IP", "ip"},
        {"VNFM_PREFIX_LEN", "prefix_len"},
        {"VNFM_GATEWAY", "gateway"},
        {"VNFM_DAY0_DIR", "day0_dir"},
    };
    const json_t *env = json_object_get(vdu, "env");
    size_t n = 0, cap = ARRAY_SIZE(exported) + json_object_size(env) + 4;
    char **envp = xcalloc(cap, sizeof(*envp));
    const char *key;
    json_t *v;

    envp[n++] = *c->cfg->vnf_path ? xasprintf("PATH=%s:%s", c->cfg->vnf_path, BASE_PATH)
                                  : xstrdup("PATH=" BASE_PATH);
    envp[n++] = xasprintf("HOME=%s", json_string_value(json_object_get(vars, "day0_dir")));
    envp[n++] = xstrdup("LANG=C.UTF-8");
    for (size_t i = 0; i < ARRAY_SIZE(exported); i++) {
        struct sbuf b = SBUF_INIT;

        sbuf_addf(&b, "%s=", exported[i][0]);
        v = json_object_get(vars, exported[i][1]);
        if (json_is_integer(v))
            sbuf_addf(&b, "%lld", (long long)json_integer_value(v));
        else
            sbuf_adds(&b, json_string_value(v) ? json_string_value(v) : "");
        envp[n++] = sbuf_take(&b);
    }
    json_object_foreach((json_t *)env, key, v)
    {
        char *val = render(json_string_value(v), vars);

        envp[n++] = xasprintf("%s=%s", key, val);
        free(val);
    }
    return envp;
}

static json_t *render_files(const json_t *vdu, json_t *vars)
{
    const json_t *day0 = json_object_get(vdu, "day0");
    json_t *files = json_array(), *f;
    size_t i;

    json_array_foreach(day0, i, f)
    {
        char *content = render(json_string_value(json_object_get(f, "template")), vars);

        json_array_append_new(
            files, json_pack("[s, s]", json_string_value(json_object_get(f, "path")), content));
        free(content);
    }
    {
        char *all = json_dumps(vars, JSON_INDENT(2) | JSON_SORT_KEYS);

        json_array_append_new(files, json_pack("[s, s]", "day0.json", all));
        free(all);
    }
    return files;
}

static int fill_nic(struct vijob *j, const json_t *vi)
{
    struct vi_nic *nic = &j->spec.nics[0];

    j->spec.n_nics = 1;
    snprintf(nic->bridge, sizeof(nic->bridge), "%s", j->site->bridge);
    snprintf(nic->ifname, sizeof(nic->ifname), "eth0");
    nic->prefix_len = (unsigned)doc_int(vi, "prefix_len", j->site->prefix_len);
    nic->gateway = j->site->gateway;
    return ip4_parse(jv_str(vi, "ip", ""), &nic->addr);
}

static void fill_ready(struct vijob *j, const json_t *vdu)
{
    const json_t *ready = json_object_get(vdu, "ready");
    const json_t *http = json_object_get(ready, "http");

    j->ready_timeout_ms = (unsigned)jv_int(ready, "timeout_s", 30) * 1000;
    if (http) {
        j->ready_port = (unsigned)jv_int(http, "port", 80);
        j->ready_path = xstrdup(jv_str(http, "path", "/"));
    } else {
        j->ready_port = (unsigned)jv_int(ready, "tcp", 0);
    }
}

struct vijob *vijob_new(struct core *c, enum vi_action act, const json_t *dep, const json_t *vi,
                        char *err, size_t errlen)
{
    const json_t *vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), doc_str(vi, "vdu"));
    struct site_rt *site = site_get(c, doc_str(vi, "site"));
    struct vijob *j;
    json_t *vars;

    if (!site || !site->vim) {
        snprintf(err, errlen, "site %s has no working VIM driver%s%s", doc_str(vi, "site"),
                 site ? ": " : "", site ? site->health_msg : "");
        return NULL;
    }
    if (!vdu) {
        snprintf(err, errlen, "VDU %s is not in the deployment's descriptor", doc_str(vi, "vdu"));
        return NULL;
    }
    j = xcalloc(1, sizeof(*j));
    j->c = c;
    j->act = act;
    j->site = site;
    snprintf(j->vi, sizeof(j->vi), "%s", doc_str(vi, "id"));
    vi_handle_from_doc(vi, &j->h);
    j->workdir = vi_workdir(c, j->vi);
    j->grace_ms = (unsigned)jv_int(vdu, "stop_grace_s", 5) * 1000;
    j->grace_override_ms = -1;
    snprintf(j->spec.id, sizeof(j->spec.id), "%s", j->vi);
    snprintf(j->spec.name, sizeof(j->spec.name), "%s", doc_str(vi, "name"));
    j->spec.workdir = j->workdir;
    /* the VI's own size: scale up/down may have changed it from the VDU's */
    j->spec.vcpu_milli = json_object_get(vi, "vcpu")
                             ? (unsigned)(jv_num(vi, "vcpu", 1) * 1000.0 + 0.5)
                             : vnfd_vdu_vcpu_milli(vdu);
    j->spec.memory_bytes = (uint64_t)jv_int(vi, "memory_mb", vnfd_vdu_memory_mb(vdu)) << 20;
    j->spec.disk_bytes = (uint64_t)vnfd_vdu_disk_mb(vdu) << 20;
    if (fill_nic(j, vi)) {
        snprintf(err, errlen, "VI %s has no valid address", j->vi);
        vijob_free(j);
        return NULL;
    }
    fill_ready(j, vdu);
    vars = vi_vars(c, dep, vi);
    j->argv = render_argv(json_object_get(vdu, "command"), vars);
    j->envp = build_envp(c, vdu, vars);
    j->spec.argv = j->argv;
    j->spec.envp = j->envp;
    j->files = render_files(vdu, vars);
    json_decref(vars);
    return j;
}

void vijob_free(struct vijob *j)
{
    if (!j)
        return;
    strv_free(j->argv);
    strv_free(j->envp);
    free(j->workdir);
    free(j->ready_path);
    json_decref(j->files);
    free(j);
}

/* ---- worker side ---- */

static int fail(struct vijob *j, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct vijob *j, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(j->err, sizeof(j->err), fmt, ap);
    va_end(ap);
    j->rc = rc ? rc : -EIO;
    return j->rc;
}

/* Writes the day-0 files (seed para 57) into the work dir; mode 0600 as
 * they carry credentials. No fsync: they are rendered again at every start. */
static int write_files(struct vijob *j)
{
    json_t *f;
    size_t i;

    json_array_foreach(j->files, i, f)
    {
        const char *rel = json_string_value(json_array_get(f, 0));
        const char *content = json_string_value(json_array_get(f, 1));
        char *path = xasprintf("%s/%s", j->workdir, rel);
        char *dir = xstrdup(path);
        int r;

        *strrchr(dir, '/') = '\0';
        r = mkdir_p(dir, 0750);
        if (r == 0)
            r = write_file_atomic(path, content, strlen(content), 0600, false);
        free(dir);
        free(path);
        if (r)
            return fail(j, r, "day-0 file %s: %s", rel, strerror(-r));
    }
    return 0;
}

/* The last lines the VNF printed, to explain why it did not come up. */
static void console_tail(const char *workdir, char *out, size_t len)
{
    char *path = xasprintf("%s/console.log", workdir), *text = NULL, *p;
    size_t n = 0;
    int lines = 0;

    out[0] = '\0';
    if (read_file(path, 1 << 20, &text, &n) == 0 && n > 0) {
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
            text[--n] = '\0';
        for (p = text + n; p > text && lines < 3; p--)
            if (p[-1] == '\n')
                lines++;
        for (char *q = p; *q; q++)
            if (*q == '\n')
                *q = '|';
        snprintf(out, len, "; console: %s", p);
    }
    free(text);
    free(path);
}

/* Whether every day-0 file is in the work dir already. */
static bool files_present(const struct vijob *j)
{
    json_t *f;
    size_t i;
    bool all = true;

    json_array_foreach(j->files, i, f)
    {
        char *path = xasprintf("%s/%s", j->workdir, json_string_value(json_array_get(f, 0)));

        all = all && access(path, F_OK) == 0;
        free(path);
    }
    return all;
}

static void *prepare_workdir(void *arg)
{
    struct vijob *j = arg;
    int r = mkdir_p(j->workdir, 0750);

    if (r)
        fail(j, r, "work dir %s: %s", j->workdir, strerror(-r));
    else
        write_files(j);
    return NULL;
}

/* The work dir and its day-0 files are made on a thread of their own while
 * the VIM makes the VI's isolation (neither needs the other), so that the
 * start that follows finds them ready. */
static int do_create(struct vijob *j)
{
    struct vim_err e = {""};
    struct beside b;
    int r;

    beside_start(&b, prepare_workdir, j);
    r = j->site->ops->create(j->site->vim, &j->spec, &e);
    beside_join(&b);
    if (j->rc)
        return j->rc; /* the work dir's failure, explained */
    return r ? fail(j, r, "%s", e.msg) : 0;
}

/* Starts the VI unless it already runs (a resumed operation), after
 * clearing whatever a crashed earlier attempt may have left in it. */
static int do_start(struct vijob *j)
{
    const struct vim_ops *ops = j->site->ops;
    struct vi_status st = {VI_ABSENT, -1};
    struct vim_err e = {""};
    int r;

    if (j->h.pid && ops->status(j->site->vim, &j->h, &st, &e) == 0 && st.state == VI_RUNNING) {
        j->out = j->h;
        return 0;
    }
    if (!j->fresh && ops->stop(j->site->vim, &j->h, 0, &e))
        log_warn("%s: clearing before start: %s", j->spec.name, e.msg);
    /* a VI just created has them from its creation (do_create) */
    r = j->fresh && files_present(j) ? 0 : write_files(j);
    if (r)
        return r;
    e.msg[0] = '\0';
    r = ops->start(j->site->vim, &j->spec, &j->out, &e);
    return r ? fail(j, r, "%s", e.msg) : 0;
}

/* Restarts the VI in place (its isolation kept; made again if gone). */
static int do_restart(struct vijob *j)
{
    const struct vim_ops *ops = j->site->ops;
    struct vi_status st = {VI_ABSENT, -1};
    struct vim_err e = {""};
    int r;

    r = ops->status(j->site->vim, &j->h, &st, &e);
    if (r == 0 && st.state == VI_ABSENT) {
        r = do_create(j); /* its isolation is gone too: redeploy it */
        if (r)
            return r;
    } else if (ops->stop(j->site->vim, &j->h, j->grace_ms, &e)) {
        return fail(j, -EIO, "stop: %s", e.msg);
    }
    j->h.pid = 0;
    return do_start(j);
}

/* Destroys the VI's isolation and makes it anew (same id and address). */
static int do_redeploy(struct vijob *j)
{
    struct vim_err e = {""};
    int r = j->site->ops->destroy(j->site->vim, &j->h, &e);

    if (r)
        return fail(j, r, "destroy before redeploy: %s", e.msg);
    j->h.pid = 0;
    r = do_create(j);
    return r ? r : do_start(j);
}

/* Heal (seed para 55): the VDU's recovery policy. */
static int do_reboot(struct vijob *j)
{
    char first[sizeof(j->err)];
    int r;

    if (j->heal == HEAL_REDEPLOY)
        return do_redeploy(j);
    r = do_restart(j);
    if (r == 0 || j->heal == HEAL_REBOOT)
        return r;
    snprintf(first, sizeof(first), "%s", j->err);
    log_warn("%s: restart failed (%s), redeploying it", j->spec.name, first);
    j->rc = 0;
    j->err[0] = '\0';
    r = do_redeploy(j);
    if (r) {
        char second[sizeof(j->err)];

        snprintf(second, sizeof(second), "%s", j->err);
        fail(j, r, "restart failed (%.200s), then redeploy failed (%.200s)", first, second);
    }
    return r;
}

/* Scale up/down (F30): the VI's new limits, applied while it runs. */
static int do_resize(struct vijob *j)
{
    struct vim_err e = {""};
    int r;

    if (!j->site->ops->resize)
        return fail(j, -ENOTSUP, "the %s VIM cannot resize a running VI", j->site->ops->name);
    r = j->site->ops->resize(j->site->vim, &j->h, j->spec.vcpu_milli, j->spec.memory_bytes, &e);
    return r ? fail(j, r, "%s", e.msg) : 0;
}

/* Operate stop (SOL003 5.4.10): SIGTERM, the grace, then SIGKILL; the
 * isolation stays for a later start. */
static int do_stop(struct vijob *j)
{
    unsigned grace = j->grace_override_ms >= 0 ? (unsigned)j->grace_override_ms : j->grace_ms;
    struct vim_err e = {""};
    int r = j->site->ops->stop(j->site->vim, &j->h, grace, &e);

    return r ? fail(j, r, "stop: %s", e.msg) : 0;
}

static int do_destroy(struct vijob *j)
{
    struct vim_err e = {""};
    int r = 0;

    if (j->grace_override_ms > 0) /* graceful terminate: let it end first */
        r = j->site->ops->stop(j->site->vim, &j->h, (unsigned)j->grace_override_ms, &e);
    if (r)
        return fail(j, r, "stop: %s", e.msg);
    r = j->site->ops->destroy(j->site->vim, &j->h, &e);

    if (r)
        return fail(j, r, "%s", e.msg);
    r = rm_rf(j->workdir);
    return r ? fail(j, r, "remove %s: %s", j->workdir, strerror(-r)) : 0;
}

/* One readiness attempt: TCP connect, and for HTTP a GET answered 2xx/3xx. */
static bool answers(struct vijob *j, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)j->ready_port),
                             .sin_addr.s_addr = htonl(j->spec.nics[0].addr)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t len = sizeof(err);
    bool ok = false;
    char buf[64];

    if (fd < 0)
        return false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        goto out;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
        goto out;
    if (!j->ready_path) {
        ok = true;
        goto out;
    }
    snprintf(buf, sizeof(buf), "GET %.30s HTTP/1.0\r\n\r\n", j->ready_path);
    if (write(fd, buf, strlen(buf)) < 0)
        goto out;
    p.events = POLLIN;
    if (poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);

        buf[n > 0 ? n : 0] = '\0';
        ok = n > 9 && strncmp(buf, "HTTP/1.", 7) == 0 && (buf[9] == '2' || buf[9] == '3');
    }
out:
    close(fd);
    return ok;
}

/* Post-deployment: waits until the VNF answers, giving up early when its
 * process has ended. Probing is the only way to know; the delay starts at
 * 1 ms and grows by half up to 100 ms. */
static int do_ready(struct vijob *j)
{
    const struct vim_ops *ops = j->site->ops;
    uint64_t deadline = mono_ms() + j->ready_timeout_ms;
    unsigned delay_ms = 1;
    char tail[300];

    if (!j->ready_port)
        return 0;
    for (;;) {
        struct vi_status st = {VI_RUNNING, -1};
        struct vim_err e = {""};

        if (answers(j, 200))
            return 0;
        if (ops->status(j->site->vim, &j->h, &st, &e) == 0 && st.state != VI_RUNNING) {
            console_tail(j->workdir, tail, sizeof(tail));
            return fail(j, -ESRCH, "the VNF process ended before answering on port %u%s",
                        j->ready_port, tail);
        }
        if (mono_ms() + delay_ms >= deadline) {
            console_tail(j->workdir, tail, sizeof(tail));
            return fail(j, -ETIMEDOUT, "not answering on %s port %u after %u s%s",
                        j->ready_path ? "HTTP" : "TCP", j->ready_port, j->ready_timeout_ms / 1000,
                        tail);
        }
        usleep(delay_ms * 1000);
        delay_ms = delay_ms + delay_ms / 2 + 1 > 100 ? 100 : delay_ms + delay_ms / 2 + 1;
    }
}

void vijob_work(struct wjob *w)
{
    struct vijob *j = (struct vijob *)w;

    j->rc = 0;
    j->err[0] = '\0';
    switch (j->act) {
    case VA_CREATE:
        if (do_create(j) == 0 && j->then_start && !atomic_load(j->no_start)) {
            j->created = true;
            do_start(j);
        }
        break;
    case VA_START:
        do_start(j);
        break;
    case VA_READY:
        do_ready(j);
        break;
    case VA_REBOOT:
        do_reboot(j);
        break;
    case VA_DESTROY:
        do_destroy(j);
        break;
    case VA_RESIZE:
        do_resize(j);
        break;
    case VA_STOP:
        do_stop(j);
        break;
    case VA_NONE:
        break;
    }
}
