#include "lcm/vi_job.h"
#include "lcm/sites.h"
#include "catalog/template.h"
#include "catalog/vnfd.h"
#include "core/runas.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/net4.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

void vi_handle_from_doc(const json_t *vi, struct vi_handle *h)
{
    const json_t *ref = json_object_get(vi, "_vim");

    memset(h, 0, sizeof(*h));
    snprintf(h->id, sizeof(h->id), "%s", doc_str(vi, "id"));
    h->ref = json_is_object(ref) ? ref : NULL;
}

/* ---- what the VI gets, rendered on the worker ---- */

static char *render(const char *tmpl, const json_t *vars)
{
    char err[128], *out;

    if (tmpl_render(tmpl, vars, &out, err, sizeof(err)))
        return xstrdup(tmpl); /* validated at on-boarding; keep the text as is */
    return out;
}

/* A copy of v with every string rendered. */
static json_t *render_all(const json_t *v, const json_t *vars)
{
    const char *key;
    json_t *out, *item;
    size_t i;

    if (json_is_string(v)) {
        char *s = render(json_string_value(v), vars);

        out = json_string(s);
        free(s);
        return out;
    }
    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach(v, i, item)
        {
            json_array_append_new(out, render_all(item, vars));
        }
        return out;
    }
    if (json_is_object(v)) {
        out = json_object();
        json_object_foreach((json_t *)v, key, item)
        {
            json_object_set_new(out, key, render_all(item, vars));
        }
        return out;
    }
    return json_deep_copy(v);
}

/* The VDU's members that are the site driver's (vim.h vdu_fields). */
static json_t *driver_vdu(const struct vim_ops *ops, const json_t *vdu, const json_t *vars)
{
    json_t *out = json_object();

    for (const struct jv_field *f = ops->vdu_fields; f && f->name; f++) {
        const json_t *v = json_object_get(vdu, f->name);

        if (v)
            json_object_set_new(out, f->name, render_all(v, vars));
    }
    return out;
}

/* The template variables of the VI (docs/VNFD.md). */
static json_t *vi_vars(const struct vijob *j)
{
    const json_t *dep = j->dep, *vi = j->rec, *params = json_object_get(dep, "params");
    unsigned plen = (unsigned)doc_int(vi, "prefix_len", 0);
    char mask[IP4_STR_MAX], cidr[40], dir[512] = "";
    const char *name, *ip = jv_str(vi, "ip", "");
    json_t *vars, *v;

    if (j->site->ops->day0_dir)
        j->site->ops->day0_dir(j->site->vim, j->vi, dir, sizeof(dir));
    snprintf(cidr, sizeof(cidr), "%s/%u", ip, plen);
    vars = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, "
        "s:s, s:s}",
        "deployment", id_name(doc_str(dep, "id")), "tenant", doc_str(dep, "tenant"), "site",
        doc_str(dep, "site"), "vdu", doc_str(vi, "vdu"), "vi.id", j->vi, "vi.name", j->name,
        "vi.index", (json_int_t)doc_int(vi, "index", 0), "ip", ip, "prefix_len", (json_int_t)plen,
        "netmask", *ip ? ip4_fmt(ip4_mask(plen), mask) : "", "cidr", *ip ? cidr : "", "gateway",
        jv_str(vi, "gateway", ""), "day0_dir", dir, "credentials.username",
        jv_str(json_object_get(dep, "credentials"), "username", "admin"), "credentials.password",
        jv_str(dep, "_password", ""), "license", jv_str(dep, "license", ""));
    json_object_foreach((json_t *)params, name, v)
    {
        char key[128];

        snprintf(key, sizeof(key), "params.%s", name);
        json_object_set(vars, key, v);
    }
    return vars;
}

/* The day-0 files (seed para 57), and day0.json with every variable. */
static json_t *render_files(const json_t *vdu, const json_t *vars)
{
    const json_t *f;
    json_t *files = json_array();
    char *all;
    size_t i;

    json_array_foreach(json_object_get(vdu, "day0"), i, f)
    {
        char *content = render(json_string_value(json_object_get(f, "template")), vars);

        json_array_append_new(
            files, json_pack("[s, s]", json_string_value(json_object_get(f, "path")), content));
        free(content);
    }
    all = json_dumps(vars, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_array_append_new(files, json_pack("[s, s]", "day0.json", all));
    free(all);
    return files;
}

/* The VI's interface: on the site's network, with its address when the
 * core gives it (VIM_ADDR_SITE) or the one the driver gave it. */
static void fill_nic(struct vijob *j, struct vi_spec *spec)
{
    struct vi_nic *nic = &spec->nics[0];
    uint32_t gw = 0;

    spec->n_nics = 1;
    snprintf(nic->bridge, sizeof(nic->bridge), "%s", j->site->bridge);
    snprintf(nic->ifname, sizeof(nic->ifname), "eth0");
    nic->prefix_len = (unsigned)doc_int(j->rec, "prefix_len", j->site->prefix_len);
    if (ip4_parse(jv_str(j->rec, "ip", ""), &nic->addr))
        nic->addr = 0;
    if (ip4_parse(jv_str(j->rec, "gateway", ""), &gw) == 0)
        nic->gateway = gw;
}

/* The spec of the VI, its parts owned by the job until spec_done(). */
static void spec_make(struct vijob *j, struct vi_spec *spec)
{
    json_t *vars = vi_vars(j);

    memset(spec, 0, sizeof(*spec));
    snprintf(spec->id, sizeof(spec->id), "%s", j->vi);
    snprintf(spec->name, sizeof(spec->name), "%s", j->name);
    spec->vdu = driver_vdu(j->site->ops, j->vdu, vars);
    spec->files = render_files(j->vdu, vars);
    spec->vars = vars;
    /* the VI's own size: scale up/down may have changed it from the VDU's */
    spec->vcpu_milli = json_object_get(j->rec, "vcpu")
                           ? (unsigned)(jv_num(j->rec, "vcpu", 1) * 1000.0 + 0.5)
                           : vnfd_vdu_vcpu_milli(j->vdu);
    spec->memory_bytes = (uint64_t)jv_int(j->rec, "memory_mb", vnfd_vdu_memory_mb(j->vdu)) << 20;
    spec->disk_bytes = (uint64_t)vnfd_vdu_disk_mb(j->vdu) << 20;
    spec->uid = runas_uid(j->rec);
    spec->admin_vnfd = j->admin_vnfd;
    fill_nic(j, spec);
}

static void spec_done(struct vi_spec *spec)
{
    json_decref((json_t *)spec->vdu);
    json_decref((json_t *)spec->files);
    json_decref((json_t *)spec->vars);
}

/* ---- built on the loop ---- */

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

/* What the worker needs of the deployment (not its whole descriptor). */
static json_t *dep_copy(const json_t *dep)
{
    static const char *const keys[] = {"id",          "tenant",    "site",   "params",
                                       "credentials", "_password", "license"};
    json_t *out = json_object();

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const json_t *v = json_object_get(dep, keys[i]);

        if (v)
            json_object_set_new(out, keys[i], json_deep_copy(v));
    }
    return out;
}

/* Whether an admin on-boarded the deployment's VNFD: only then does its VI
 * get what the VDU asks for beyond a tenant's rights. */
static bool vnfd_admin(struct core *c, const json_t *dep)
{
    json_t *vnfd = core_load(c, STORE_VNFD, doc_str(dep, "vnfd"));
    bool admin = runas_vnfd_admin(vnfd);

    json_decref(vnfd);
    return admin;
}

struct vijob *vijob_new(struct core *c, enum vi_action act, const json_t *dep, const json_t *vi,
                        char *err, size_t errlen)
{
    const json_t *vdu = vnfd_vdu(json_object_get(dep, "_descriptor"), doc_str(vi, "vdu"));
    struct site_rt *site = site_get(c, doc_str(vi, "site"));
    uint32_t addr;
    struct vijob *j;

    if (!site || !site->vim) {
        snprintf(err, errlen, "site %s has no working VIM driver%s%s", doc_str(vi, "site"),
                 site ? ": " : "", site ? site->health_msg : "");
        return NULL;
    }
    if (!vdu) {
        snprintf(err, errlen, "VDU %s is not in the deployment's descriptor", doc_str(vi, "vdu"));
        return NULL;
    }
    if (site->ops->addressing == VIM_ADDR_SITE && ip4_parse(jv_str(vi, "ip", ""), &addr)) {
        snprintf(err, errlen, "VI %s has no valid address", doc_str(vi, "id"));
        return NULL;
    }
    j = xcalloc(1, sizeof(*j));
    j->c = c;
    j->act = act;
    j->site = site;
    j->exit_fd = -1;
    snprintf(j->vi, sizeof(j->vi), "%s", doc_str(vi, "id"));
    snprintf(j->name, sizeof(j->name), "%s", doc_str(vi, "name"));
    j->dep = dep_copy(dep);
    j->vdu = json_deep_copy(vdu);
    j->rec = json_deep_copy(vi);
    vi_handle_from_doc(j->rec, &j->h);
    j->admin_vnfd = vnfd_admin(c, dep);
    j->grace_ms = (unsigned)jv_int(vdu, "stop_grace_s", 5) * 1000;
    j->grace_override_ms = -1;
    fill_ready(j, vdu);
    return j;
}

void vijob_free(struct vijob *j)
{
    if (!j)
        return;
    if (j->exit_fd >= 0)
        close(j->exit_fd);
    json_decref(j->dep);
    json_decref(j->vdu);
    json_decref(j->rec);
    json_decref(j->out.ref);
    free(j->ready_path);
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

/* The driver's new reference replaces the one the job had. */
static void take_out(struct vijob *j, struct vi_out *o)
{
    if (o->ref) {
        json_decref(j->out.ref);
        j->out.ref = o->ref;
        j->h.ref = o->ref;
    }
    if (o->pid)
        j->out.pid = o->pid;
}

/* ", console: ..." of the VI, to explain why it did not come up. */
static void console_tail(struct vijob *j, char *out, size_t len)
{
    char lines[300] = "";

    out[0] = '\0';
    if (j->site->ops->console)
        j->site->ops->console(j->site->vim, &j->h, lines, sizeof(lines));
    if (*lines)
        snprintf(out, len, "; console: %s", lines);
}

static int do_create(struct vijob *j)
{
    struct vim_err e = {""};
    struct vi_out o = {0};
    struct vi_spec spec;
    char ip[IP4_STR_MAX];
    int r;

    spec_make(j, &spec);
    r = j->site->ops->create(j->site->vim, &spec, &o, &e);
    spec_done(&spec);
    if (r)
        return fail(j, r, "%s", e.msg);
    take_out(j, &o);
    memcpy(j->out.addr, o.addr, sizeof(o.addr));
    j->made = true;
    /* an address the driver gave goes into what the start renders */
    if (j->site->ops->addressing == VIM_ADDR_DRIVER && o.addr[0])
        json_object_set_new(j->rec, "ip", json_string(ip4_fmt(o.addr[0], ip)));
    return 0;
}

/* Starts the VI unless it already runs (a resumed operation), after
 * clearing whatever a crashed earlier attempt may have left in it. */
static int do_start(struct vijob *j)
{
    const struct vim_ops *ops = j->site->ops;
    struct vi_status st = {VI_ABSENT, -1};
    struct vim_err e = {""};
    struct vi_out o = {0};
    struct vi_spec spec;
    int r;

    if (j->h.ref && ops->status(j->site->vim, &j->h, &st, &e) == 0 && st.state == VI_RUNNING) {
        j->out.pid = (pid_t)doc_int(j->rec, "pid", 0);
        goto watch;
    }
    if (!j->fresh && ops->stop(j->site->vim, &j->h, 0, &e))
        log_warn("%s: clearing before start: %s", j->name, e.msg);
    e.msg[0] = '\0';
    spec_make(j, &spec);
    spec.fresh = j->fresh; /* nothing ran since create() put its day-0 files in */
    r = ops->start(j->site->vim, &spec, &j->h, &o, &e);
    spec_done(&spec);
    if (r)
        return fail(j, r, "%s", e.msg);
    take_out(j, &o);
watch:
    if (ops->exit_fd)
        j->exit_fd = ops->exit_fd(j->site->vim, &j->h);
    return 0;
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
    return do_start(j);
}

/* Destroys the VI and makes it anew (same id and address). */
static int do_redeploy(struct vijob *j)
{
    struct vim_err e = {""};
    int r = j->site->ops->destroy(j->site->vim, &j->h, &e);

    if (r)
        return fail(j, r, "destroy before redeploy: %s", e.msg);
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
    log_warn("%s: restart failed (%s), redeploying it", j->name, first);
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
    struct vi_spec spec;
    int r;

    if (!j->site->ops->resize)
        return fail(j, -ENOTSUP, "the %s VIM cannot resize a running VI", j->site->ops->name);
    spec_make(j, &spec);
    r = j->site->ops->resize(j->site->vim, &j->h, spec.vcpu_milli, spec.memory_bytes, &e);
    spec_done(&spec);
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
    return r ? fail(j, r, "%s", e.msg) : 0;
}

/* One readiness attempt: TCP connect, and for HTTP a GET answered 2xx/3xx. */
static bool answers(struct vijob *j, uint32_t addr, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)j->ready_port),
                             .sin_addr.s_addr = htonl(addr)};
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

/* Post-deployment: waits until the VNF answers, giving up early when it
 * has ended. A VIM whose VIs the host cannot reach answers for them; else
 * probing is the only way to know, the delay starting at 1 ms and growing
 * by half up to 100 ms. */
static int do_ready(struct vijob *j)
{
    const struct vim_ops *ops = j->site->ops;
    uint64_t deadline = mono_ms() + j->ready_timeout_ms;
    unsigned delay_ms = 1;
    char tail[300];
    uint32_t addr;
    int r;

    if (!j->ready_port)
        return 0;
    if (ops->ready) {
        struct vim_err e = {""};

        r = ops->ready(j->site->vim, &j->h, j->ready_timeout_ms, &e);
        return r ? fail(j, r, "%s", e.msg) : 0;
    }
    if (ip4_parse(jv_str(j->rec, "ip", ""), &addr))
        return fail(j, -EINVAL, "the VI has no address to probe");
    for (;;) {
        struct vi_status st = {VI_RUNNING, -1};
        struct vim_err e = {""};

        if (answers(j, addr, 200))
            return 0;
        if (ops->status(j->site->vim, &j->h, &st, &e) == 0 && st.state != VI_RUNNING) {
            console_tail(j, tail, sizeof(tail));
            return fail(j, -ESRCH, "the VNF process ended before answering on port %u%s",
                        j->ready_port, tail);
        }
        if (mono_ms() + delay_ms >= deadline) {
            console_tail(j, tail, sizeof(tail));
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
