/* The NETCONF server: SSH endpoint, users, sessions, threads, and the
 * protocol operations that are not about data (lock, unlock, kill-session,
 * create-subscription). See netconf.h and docs/NETCONF.md. */
#include "netconf/nc_internal.h"
#include "core/bus.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#define ENDPT            "vnfm"
#define HOSTKEY          "hostkey"
#define ACCEPT_POLL_MS   200
#define SESSION_POLL_MS  200
#define NOTIF_SEND_MS    5000
#define AUTH_TIMEOUT_S   10
#define ACCEPT_STALE_MS  ((AUTH_TIMEOUT_S + 5) * 1000) /* a handshake may hold nc_accept() */
#define MAX_POLL_THREADS 16
#define REPLAY_BATCH     500

/* The IETF modules of Debian's libyuma-base (DESIGN.md). */
static const char *const yang_dirs[] = {
    "/usr/share/yuma/modules/ietf",
    "/usr/share/yuma/modules/ietf-derived", /* RFC 5277 notifications */
    "/usr/share/yuma/modules/netconfcentral",
};

extern const char nc_yang_vnfm[];       /* yang/vnfm.yang (nc_yang.S) */
extern const char nc_yang_esc_compat[]; /* yang/esc-compat.yang */

struct nc_user {
    char *name;
    unsigned char pw_hash[SHA256_DIGEST_LENGTH]; /* password users */
    char *pubkey;                                /* or the public key file */
    struct principal who;
};

struct netconf {
    struct core *c;
    struct ly_ctx *ctx;
    struct nc_pollsession *ps;
    char *host_key;
    struct nc_user *users;
    size_t n_users;

    pthread_t accept_thr, notif_thr, poll_thr[MAX_POLL_THREADS];
    unsigned n_poll;
    bool server_inited, accept_started, notif_started;
    atomic_bool stop, accept_stop, accept_running;
    _Atomic uint64_t accept_beat_ms;

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;  /* txn completions, notification wake-ups, new sessions */
    struct ncs *sessions;
    json_t *compat; /* objects made through esc_datamodel: set of "kind/id" */
    bool notif_woken;

    pthread_mutex_t stores_mu;
    struct store *stores[MAX_POLL_THREADS + 2];
    unsigned n_stores;
};

static __thread struct store *tl_store;

/* ---- errors ---- */

int nc_fail(struct nc_error *e, NC_ERR tag, NC_ERR_TYPE type, const char *path, const char *fmt,
            ...)
{
    va_list ap;

    memset(e, 0, sizeof(*e));
    e->tag = tag;
    e->type = type;
    snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* nc_err() takes tag-specific arguments (messages_server.h). */
static struct lyd_node *err_base(const struct ly_ctx *ctx, const struct nc_error *e)
{
    const char *elem = *e->bad_elem ? e->bad_elem : NULL;

    switch (e->tag) {
    case NC_ERR_MISSING_ELEM:
    case NC_ERR_BAD_ELEM:
    case NC_ERR_UNKNOWN_ELEM:
        return nc_err(ctx, e->tag, e->type, elem ? elem : "");
    case NC_ERR_UNKNOWN_NS:
        return nc_err(ctx, e->tag, e->type, elem ? elem : "", e->bad_ns);
    case NC_ERR_MISSING_ATTR:
    case NC_ERR_BAD_ATTR:
    case NC_ERR_UNKNOWN_ATTR:
        return nc_err(ctx, e->tag, e->type, e->bad_ns, elem ? elem : "");
    case NC_ERR_LOCK_DENIED:
        return nc_err(ctx, e->tag, e->sid);
    case NC_ERR_DATA_EXISTS:
    case NC_ERR_DATA_MISSING:
    case NC_ERR_MALFORMED_MSG:
        return nc_err(ctx, e->tag);
    default:
        return nc_err(ctx, e->tag, e->type);
    }
}

struct lyd_node *nc_error_node(const struct ly_ctx *ctx, const struct nc_error *e)
{
    struct lyd_node *n = err_base(ctx, e);

    if (!n)
        return NULL;
    if (*e->path)
        nc_err_set_path(n, e->path);
    if (*e->app_tag)
        nc_err_set_app_tag(n, e->app_tag);
    if (*e->message)
        nc_err_set_msg(n, e->message, "en");
    if (*e->bad_elem && e->tag != NC_ERR_MISSING_ELEM && e->tag != NC_ERR_BAD_ELEM &&
        e->tag != NC_ERR_UNKNOWN_ELEM && e->tag != NC_ERR_UNKNOWN_NS)
        nc_err_add_bad_elem(n, e->bad_elem);
    return n;
}

static struct nc_server_reply *reply_error(struct netconf *n, const struct nc_error *e)
{
    return nc_server_reply_err(nc_error_node(n->ctx, e));
}

/* ---- services for the handlers ---- */

struct ly_ctx *nc_ctx(struct netconf *n)
{
    return n->ctx;
}

struct core *nc_core(struct netconf *n)
{
    return n->c;
}

struct store *nc_store(struct netconf *n)
{
    char err[256];

    if (tl_store)
        return tl_store;
    if (store_open_reader(n->c->st, &tl_store, err, sizeof(err))) {
        log_error("NETCONF: %s", err);
        tl_store = NULL;
        return NULL;
    }
    pthread_mutex_lock(&n->stores_mu);
    if (n->n_stores < ARRAY_SIZE(n->stores))
        n->stores[n->n_stores++] = tl_store;
    pthread_mutex_unlock(&n->stores_mu);
    return tl_store;
}

/* A request waiting for the transactor. Whoever is last frees it: the
 * waiter, or the loop when the waiter gave up because the manager stops. */
struct wait {
    struct netconf *n;
    bool done, abandoned;
};

static void txn_done(struct txn *t)
{
    struct wait *w = t->complete_data;
    struct netconf *n = w->n;

    pthread_mutex_lock(&n->mu);
    if (w->abandoned) {
        pthread_mutex_unlock(&n->mu);
        txn_free(t);
        free(w);
        return;
    }
    w->done = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

int nc_submit(struct netconf *n, struct txn *t, struct result *res, long *failed_part)
{
    struct wait *w = xcalloc(1, sizeof(*w));

    w->n = n;
    t->complete = txn_done;
    t->complete_data = w;
    pthread_mutex_lock(&n->mu);
    if (atomic_load(&n->stop)) {
        pthread_mutex_unlock(&n->mu);
        txn_free(t);
        free(w);
        return -ECANCELED;
    }
    txq_submit(n->c->txq, t);
    while (!w->done && !atomic_load(&n->stop))
        pthread_cond_wait(&n->cv, &n->mu);
    if (!w->done) {
        w->abandoned = true;
        pthread_mutex_unlock(&n->mu);
        return -ECANCELED;
    }
    pthread_mutex_unlock(&n->mu);
    *res = t->res;
    memset(&t->res, 0, sizeof(t->res));
    if (failed_part)
        *failed_part = t->failed_part;
    txn_free(t);
    free(w);
    return 0;
}

void nc_mark_compat(struct netconf *n, const char *object)
{
    pthread_mutex_lock(&n->mu);
    json_object_set_new(n->compat, object, json_true());
    pthread_mutex_unlock(&n->mu);
}

int nc_lock_check(struct netconf *n, uint32_t sid, uint32_t *holder)
{
    *holder = txq_lock_holder(n->c->txq);
    return *holder && *holder != sid ? -EBUSY : 0;
}

static struct ncs *session_of(struct nc_session *ns)
{
    return nc_session_get_data(ns);
}

/* ---- protocol operations (RFC 6241 7) ---- */

/* A lock or unlock request of session s on the transactor (core/txq.h):
 * the lock of running is the transactor's, so that it also stops REST and
 * SOL003 writes, in order with them. */
static struct txn *lock_txn(struct ncs *s, bool lock)
{
    struct txn *t = txn_new(lock ? txq_lock_apply : txq_unlock_apply, lock ? "lock" : "unlock");

    t->who = s->who;
    t->session = s->id;
    t->body =
        json_pack("{s:o}", "holder", json_sprintf("NETCONF session %u (user %s)", s->id, s->user));
    return t;
}

/* <lock>/<unlock> of running (RFC 6241 7.5); the other datastores are not
 * in the model. Only admins may lock: a lock stops every other user,
 * tenants' included. */
static struct nc_server_reply *rpc_lock(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = session_of(ns);
    struct netconf *n = s->srv;
    bool lock = strcmp(rpc->schema->name, "lock") == 0;
    struct result res = {0};
    struct nc_error e;
    const char *msg;

    if (lock && !s->who.admin) {
        nc_fail(&e, NC_ERR_ACCESS_DENIED, NC_ERR_TYPE_PROT, "/ietf-netconf:lock",
                "only an admin user may lock running: a lock stops every other user");
        return reply_error(n, &e);
    }
    if (nc_submit(n, lock_txn(s, lock), &res, NULL)) {
        nc_fail(&e, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP, NULL, "the manager is stopping");
        return reply_error(n, &e);
    }
    msg = json_string_value(json_object_get(res.body, "message"));
    if (res.status >= 400 && lock) {
        nc_fail(&e, NC_ERR_LOCK_DENIED, NC_ERR_TYPE_PROT, NULL, "%s", msg ? msg : "lock denied");
        e.sid = (uint32_t)json_integer_value(json_object_get(res.body, "session"));
    } else if (res.status >= 400) {
        nc_fail(&e, NC_ERR_OP_FAILED, NC_ERR_TYPE_PROT, NULL, "%s", msg ? msg : "unlock failed");
    }
    if (res.status < 400)
        log_info("NETCONF: session %u (%s) %s running", s->id, s->user,
                 lock ? "locked" : "unlocked");
    result_done(&res);
    return res.status >= 400 ? reply_error(n, &e) : nc_server_reply_ok();
}

/* Marks session sid killed; its polling thread ends it. Under mu: a
 * session leaves the list before it is freed, so the pointer is valid. */
static int kill_session(struct netconf *n, uint32_t sid, uint32_t by)
{
    int r = -ENOENT;

    pthread_mutex_lock(&n->mu);
    for (struct ncs *v = n->sessions; v; v = v->next) {
        if (v->id != sid)
            continue;
        nc_session_set_term_reason(v->ns, NC_SESSION_TERM_KILLED);
        nc_session_set_killed_by(v->ns, by);
        nc_session_set_status(v->ns, NC_STATUS_INVALID);
        r = 0;
        break;
    }
    pthread_mutex_unlock(&n->mu);
    return r;
}

/* RFC 6241 7.9; only admins may end other users' sessions. */
static struct nc_server_reply *rpc_kill(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = session_of(ns);
    struct lyd_node *sid_node = NULL;
    struct nc_error e;
    uint32_t sid;

    lyd_find_path(rpc, "session-id", 0, &sid_node); /* mandatory: the parser checked */
    sid = sid_node ? (uint32_t)strtoul(lyd_get_value(sid_node), NULL, 10) : 0;
    if (!s->who.admin) {
        nc_fail(&e, NC_ERR_ACCESS_DENIED, NC_ERR_TYPE_PROT, "/ietf-netconf:kill-session",
                "only an admin user may kill other sessions");
        return reply_error(s->srv, &e);
    }
    if (sid == s->id) {
        nc_fail(&e, NC_ERR_INVALID_VALUE, NC_ERR_TYPE_PROT, "/ietf-netconf:kill-session/session-id",
                "a session cannot kill itself; use close-session");
        return reply_error(s->srv, &e);
    }
    if (kill_session(s->srv, sid, s->id)) {
        nc_fail(&e, NC_ERR_INVALID_VALUE, NC_ERR_TYPE_PROT, "/ietf-netconf:kill-session/session-id",
                "no session %u", sid);
        return reply_error(s->srv, &e);
    }
    log_info("NETCONF: session %u (%s) killed session %u", s->id, s->user, sid);
    return nc_server_reply_ok();
}

static int parse_time_leaf(const struct lyd_node *rpc, const char *name, int64_t *ms,
                           struct nc_error *e)
{
    struct lyd_node *leaf = NULL;
    char path[96];

    *ms = 0;
    if (lyd_find_path(rpc, name, 0, &leaf))
        return 0;
    if (time_parse(lyd_get_value(leaf), ms) == 0)
        return 0;
    snprintf(path, sizeof(path), "/notifications:create-subscription/%s", name);
    return nc_fail(e, NC_ERR_BAD_ELEM, NC_ERR_TYPE_PROT, path, "%s: not a date-and-time", name);
}

/* Checks the <filter> of a request: a subtree filter (RFC 6241 6) is all we
 * take; *out is its content (owned by the RPC tree), or NULL for none. */
int nc_get_filter(struct lyd_node *rpc, const char *rpc_path, const struct lyd_node **out,
                  struct nc_error *e)
{
    struct lyd_node *f = NULL;
    struct lyd_meta *type;
    struct lyd_node_any *any;
    char path[128];

    *out = NULL;
    if (lyd_find_path(rpc, "filter", 0, &f))
        return 0;
    snprintf(path, sizeof(path), "%s/filter", rpc_path);
    type = lyd_find_meta(f->meta, NULL, "ietf-netconf:type");
    if (type && strcmp(lyd_get_meta_value(type), "subtree") != 0)
        return nc_fail(e, NC_ERR_OP_NOT_SUPPORTED, NC_ERR_TYPE_PROT, path,
                       "only subtree filters are supported (no :xpath capability)");
    any = (struct lyd_node_any *)f;
    if (any->value_type == LYD_ANYDATA_DATATREE)
        *out = any->value.tree;
    else if (any->value.str && *any->value.str)
        return nc_fail(e, NC_ERR_BAD_ELEM, NC_ERR_TYPE_PROT, path,
                       "the filter does not name any element of the server's modules");
    if (!*out)
        *out = (const struct lyd_node *)any; /* an empty filter selects nothing */
    return 0;
}

/* create-subscription of RFC 5277 2.1.1: the stream NETCONF, an optional
 * subtree filter, optional replay from startTime (the event log is the
 * replay buffer) and stopTime. Notifications start once the reply is out. */
static struct nc_server_reply *rpc_subscribe(struct lyd_node *rpc, struct nc_session *ns)
{
    struct ncs *s = session_of(ns);
    struct netconf *n = s->srv;
    struct lyd_node *stream = NULL;
    const struct lyd_node *filter = NULL;
    int64_t start = 0, stop = 0;
    struct nc_error e;

    if (!lyd_find_path(rpc, "stream", 0, &stream) && strcmp(lyd_get_value(stream), "NETCONF")) {
        nc_fail(&e, NC_ERR_INVALID_VALUE, NC_ERR_TYPE_APP,
                "/notifications:create-subscription/stream", "no stream '%s'; there is NETCONF",
                lyd_get_value(stream));
        return reply_error(n, &e);
    }
    if (parse_time_leaf(rpc, "startTime", &start, &e) ||
        parse_time_leaf(rpc, "stopTime", &stop, &e) ||
        nc_get_filter(rpc, "/notifications:create-subscription", &filter, &e))
        return reply_error(n, &e);
    if (stop && (!start || stop < start)) {
        nc_fail(&e, NC_ERR_BAD_ELEM, NC_ERR_TYPE_PROT,
                "/notifications:create-subscription/stopTime",
                "stopTime needs a startTime before it (RFC 5277 2.1.1)");
        return reply_error(n, &e);
    }
    pthread_mutex_lock(&n->mu);
    if (s->subscribed) {
        pthread_mutex_unlock(&n->mu);
        nc_fail(&e, NC_ERR_IN_USE, NC_ERR_TYPE_PROT, NULL,
                "this session already has a subscription (RFC 5277 2.1.1)");
        return reply_error(n, &e);
    }
    s->subscribed = true;
    s->live = false;
    s->replay = start != 0;
    s->start_ms = start;
    s->stop_ms = stop;
    if (filter)
        lyd_dup_siblings(filter, NULL, LYD_DUP_RECURSIVE, &s->filter);
    pthread_mutex_unlock(&n->mu);
    nc_session_inc_notif_status(ns);
    return nc_server_reply_ok();
}

/* After the reply of create-subscription went out (poll thread). Once
 * nc_ps_poll() has returned, another thread may end and free the session:
 * ns is only compared, and the session is found in our list under mu. */
static void subscription_live(struct netconf *n, const struct nc_session *ns)
{
    pthread_mutex_lock(&n->mu);
    for (struct ncs *s = n->sessions; s; s = s->next) {
        if (s->ns != ns || !s->subscribed || s->live)
            continue;
        s->live = true;
        s->after_seq = bus_last_seq(n->c->bus);
        n->notif_woken = true;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
}

static const struct {
    const char *path;
    nc_rpc_clb fn;
} rpcs[] = {
    {"/ietf-netconf:get", ncr_get},           {"/ietf-netconf:get-config", ncr_get},
    {"/ietf-netconf:edit-config", ncr_edit},  {"/ietf-netconf:validate", ncr_validate},
    {"/ietf-netconf:lock", rpc_lock},         {"/ietf-netconf:unlock", rpc_lock},
    {"/ietf-netconf:kill-session", rpc_kill}, {"/notifications:create-subscription", rpc_subscribe},
};

/* ---- users and SSH ---- */

static void hash_pw(const char *pw, unsigned char *out)
{
    SHA256((const unsigned char *)pw, strlen(pw), out);
}

/* "NAME:SECRET[:TENANT]": the secret is a public key file when it starts
 * with '/' or '.', else a password (which therefore has no ':'). */
static int parse_user(const char *spec, struct nc_user *u, char *err, size_t errlen)
{
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strrchr(c1 + 1, ':') : NULL;
    char *secret;

    memset(u, 0, sizeof(*u));
    if (!c1 || c1 == spec || c1[1] == '\0' || c2 == c1 + 1 || (c2 && c2[1] == '\0')) {
        snprintf(err, errlen, "--netconf-user '%s': want NAME:PASSWORD_OR_PUBKEY_FILE[:TENANT]",
                 spec);
        return -EINVAL;
    }
    u->name = xstrndup(spec, (size_t)(c1 - spec));
    secret = c2 ? xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : xstrdup(c1 + 1);
    u->who.admin = !c2;
    snprintf(u->who.tenant, sizeof(u->who.tenant), "%s", c2 ? c2 + 1 : "");
    snprintf(u->who.token_id, sizeof(u->who.token_id), "netconf:%s", u->name);
    if (secret[0] == '/' || secret[0] == '.') {
        u->pubkey = secret;
        return 0;
    }
    hash_pw(secret, u->pw_hash);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return 0;
}

static const struct nc_user *find_user(const struct netconf *n, const char *name)
{
    for (size_t i = 0; name && i < n->n_users; i++)
        if (strcmp(n->users[i].name, name) == 0)
            return &n->users[i];
    return NULL;
}

/* libnetconf2 reads the key only when a client offers one: check it now. */
static bool pubkey_readable(const char *path)
{
    ssh_key key = NULL;
    bool ok = ssh_pki_import_pubkey_file(path, &key) == SSH_OK;

    ssh_key_free(key);
    return ok;
}

static int load_users(struct netconf *n, char *err, size_t errlen)
{
    const struct config *cfg = n->c->cfg;

    n->users = xcalloc(cfg->n_netconf_users + 1, sizeof(*n->users));
    for (size_t i = 0; i < cfg->n_netconf_users; i++) {
        struct nc_user *u = &n->users[n->n_users];

        if (parse_user(cfg->netconf_users[i], u, err, errlen))
            return -EINVAL;
        n->n_users++;
        if (u->pubkey &&
            (!pubkey_readable(u->pubkey) || nc_server_ssh_add_authkey_path(u->pubkey, u->name))) {
            snprintf(err, errlen, "--netconf-user %s: cannot read the public key %s", u->name,
                     u->pubkey);
            return -EINVAL;
        }
    }
    if (!n->n_users)
        log_warn("NETCONF: no --netconf-user: nobody can log in");
    return 0;
}

static int auth_password(const struct nc_session *ns, const char *password, void *arg)
{
    const struct nc_user *u = find_user(arg, nc_session_get_username(ns));
    unsigned char h[SHA256_DIGEST_LENGTH];

    if (!u || u->pubkey)
        return 1;
    hash_pw(password, h);
    return CRYPTO_memcmp(h, u->pw_hash, sizeof(h)) ? 1 : 0;
}

static int host_key(const char *name, void *arg, char **path, char **data, NC_SSH_KEY_TYPE *type)
{
    struct netconf *n = arg;

    (void)name;
    (void)data;
    (void)type;
    *path = xstrdup(n->host_key);
    return 0;
}

/* The host key: --netconf-host-key, or DATA_DIR/netconf_host_key made once
 * (ECDSA P-256, mode 0600). */
static int ensure_host_key(struct netconf *n, char *err, size_t errlen)
{
    const struct config *cfg = n->c->cfg;
    ssh_key key = NULL;
    struct stat sb;
    int r;

    n->host_key = cfg->netconf_host_key ? xstrdup(cfg->netconf_host_key)
                                        : xasprintf("%s/netconf_host_key", cfg->data_dir);
    if (stat(n->host_key, &sb) == 0)
        return 0;
    if (cfg->netconf_host_key) {
        snprintf(err, errlen, "--netconf-host-key %s: %s", n->host_key, strerror(errno));
        return -errno;
    }
    r = ssh_pki_generate(SSH_KEYTYPE_ECDSA_P256, 256, &key);
    if (r == SSH_OK) {
        mode_t old = umask(077);

        r = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, n->host_key);
        umask(old);
        chmod(n->host_key, 0600);
    }
    ssh_key_free(key);
    if (r != SSH_OK) {
        snprintf(err, errlen, "cannot write the NETCONF host key %s", n->host_key);
        return -EIO;
    }
    log_info("NETCONF: generated host key %s", n->host_key);
    return 0;
}

static int setup_endpoint(struct netconf *n, char *err, size_t errlen)
{
    const struct config *cfg = n->c->cfg;

    nc_server_ssh_set_hostkey_clb(host_key, n, NULL);
    nc_server_ssh_set_passwd_auth_clb(auth_password, n, NULL);
    if (nc_server_add_endpt(ENDPT, NC_TI_LIBSSH) ||
        nc_server_ssh_endpt_add_hostkey(ENDPT, HOSTKEY, -1) ||
        nc_server_ssh_endpt_set_auth_methods(ENDPT, NC_SSH_AUTH_PUBLICKEY | NC_SSH_AUTH_PASSWORD) ||
        nc_server_ssh_endpt_set_auth_attempts(ENDPT, 3) ||
        nc_server_ssh_endpt_set_auth_timeout(ENDPT, AUTH_TIMEOUT_S) ||
        nc_server_endpt_set_address(ENDPT, cfg->netconf_host) ||
        nc_server_endpt_set_port(ENDPT, (uint16_t)cfg->netconf_port)) {
        snprintf(err, errlen,
                 "cannot listen for NETCONF on %s:%u (in use, or not an address here?)",
                 cfg->netconf_host, cfg->netconf_port);
        return -EADDRINUSE;
    }
    return 0;
}

/* ---- the YANG context ---- */

#define IETF_NETCONF "/usr/share/yuma/modules/ietf/ietf-netconf@2011-06-01.yang"

/* Seed Table 1 names the datastore of its edit-config <source>, where
 * RFC 6241 7.2 says <target>. To take Table 1 as written, ietf-netconf is
 * loaded from libyuma-base with one change to the edit-config input: a
 * <source> choice beside <target>, and <target> no longer mandatory
 * (ncr_edit() wants exactly one of them, naming running). */
static char *patch_ietf_netconf(char *text)
{
    static const char source[] =
        "      container source {\n"
        "        description \"vnfmd: seed Table 1 names the target <source>.\";\n"
        "        choice config-source {\n"
        "          leaf running { type empty; }\n"
        "        }\n"
        "      }\n";
    char *rpc = strstr(text, "rpc edit-config {");
    char *target = rpc ? strstr(rpc, "      container target {") : NULL;
    char *mandatory = target ? strstr(target, "mandatory true;") : NULL;
    char *out;

    if (!mandatory)
        return NULL;
    memset(mandatory, ' ', strlen("mandatory true;"));
    out = xasprintf("%.*s%s%s", (int)(target - text), text, source, target);
    return out;
}

static int load_ietf_netconf(struct ly_ctx *ctx)
{
    static const char *const features[] = {"writable-running", "validate", "rollback-on-error",
                                           NULL};
    char *text = NULL, *patched;
    int r = -ENOENT;

    if (read_file(IETF_NETCONF, 1 << 20, &text, NULL))
        return -ENOENT;
    patched = patch_ietf_netconf(text);
    if (patched) {
        struct ly_in *in = NULL;

        if (ly_in_new_memory(patched, &in) == LY_SUCCESS &&
            lys_parse(ctx, in, LYS_IN_YANG, (const char **)features, NULL) == LY_SUCCESS)
            r = 0;
        ly_in_free(in, 0);
    }
    ly_err_clean(ctx, NULL);
    free(patched);
    free(text);
    return r;
}

static int load_modules(struct netconf *n, char *err, size_t errlen)
{
    static const char *const plain[] = {"ietf-netconf-monitoring", "notifications",
                                        "nc-notifications"};
    const char *const ours[] = {nc_yang_vnfm, nc_yang_esc_compat};

    if (ly_ctx_new(NULL, 0, &n->ctx))
        goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(yang_dirs); i++)
        ly_ctx_set_searchdir(n->ctx, yang_dirs[i]);
    if (load_ietf_netconf(n->ctx))
        goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
        if (!ly_ctx_load_module(n->ctx, plain[i], NULL, NULL))
            goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
        if (lys_parse_mem(n->ctx, ours[i], LYS_IN_YANG, NULL))
            goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(rpcs); i++) {
        struct lysc_node *rpc = (struct lysc_node *)lys_find_path(n->ctx, NULL, rpcs[i].path, 0);

        if (!rpc)
            goto fail;
        nc_set_rpc_callback(rpc, rpcs[i].fn);
    }
    return 0;
fail:
    snprintf(err, errlen, "NETCONF: cannot load the YANG modules (is libyuma-base installed?): %s",
             n->ctx ? ly_errmsg(n->ctx) : "no context");
    return -ENOENT;
}

/* ---- sessions ---- */

static void ncs_free(void *arg)
{
    struct ncs *s = arg;

    if (!s)
        return;
    lyd_free_siblings(s->filter);
    free(s);
}

static void session_added(struct netconf *n, struct nc_session *ns)
{
    const struct nc_user *u = find_user(n, nc_session_get_username(ns));
    struct ncs *s = xcalloc(1, sizeof(*s));

    s->srv = n;
    s->ns = ns;
    s->id = nc_session_get_id(ns);
    snprintf(s->user, sizeof(s->user), "%s", nc_session_get_username(ns));
    if (u)
        s->who = u->who; /* authenticated, so always found */
    nc_session_set_data(ns, s);
    pthread_mutex_lock(&n->mu);
    s->next = n->sessions;
    n->sessions = s;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    log_info("NETCONF: session %u opened by %s from %s", s->id, s->user,
             nc_session_get_host(ns) ? nc_session_get_host(ns) : "?");
}

/* A terminated session: its lock goes (RFC 6241 7.5), and so does its
 * subscription, before it is freed. */
static void session_ended(struct netconf *n, struct nc_session *ns)
{
    struct ncs *s = session_of(ns);

    pthread_mutex_lock(&n->mu);
    for (struct ncs **p = &n->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&n->mu);
    if (s && txq_lock_holder(n->c->txq) == s->id) { /* no need to wait for it */
        struct txn *t = lock_txn(s, false);

        t->complete = txn_free;
        txq_submit(n->c->txq, t);
    }
    if (s)
        log_info("NETCONF: session %u (%s) ended (reason %d)", s->id, s->user,
                 (int)nc_session_get_term_reason(ns));
    nc_ps_del_session(n->ps, ns);
    nc_session_free(ns, ncs_free);
}

static void *accept_main(void *arg)
{
    struct netconf *n = arg;

    while (!atomic_load(&n->stop) && !atomic_load(&n->accept_stop)) {
        struct nc_session *ns = NULL;
        NC_MSG_TYPE r;

        atomic_store(&n->accept_beat_ms, mono_ms());
        r = nc_accept(ACCEPT_POLL_MS, &ns);
        if (r != NC_MSG_HELLO)
            continue;
        session_added(n, ns);
        if (nc_ps_add_session(n->ps, ns))
            session_ended(n, ns);
    }
    if (atomic_load(&n->accept_stop)) {
        nc_server_del_endpt(ENDPT, 0); /* closes the listening socket */
        log_warn("NETCONF: the accepting thread stopped (fault injected)");
    }
    atomic_store(&n->accept_running, false);
    nc_thread_destroy();
    return NULL;
}

static void wait_for_sessions(struct netconf *n)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += SESSION_POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&n->mu);
    if (!n->sessions && !atomic_load(&n->stop))
        pthread_cond_timedwait(&n->cv, &n->mu, &ts);
    pthread_mutex_unlock(&n->mu);
}

static void *poll_main(void *arg)
{
    struct netconf *n = arg;

    while (!atomic_load(&n->stop)) {
        struct nc_session *ns = NULL, *extra = NULL;
        int r = nc_ps_poll(n->ps, SESSION_POLL_MS, &ns);

        if (r & (NC_PSPOLL_NOSESSIONS | NC_PSPOLL_ERROR)) {
            wait_for_sessions(n);
            continue;
        }
        if ((r & NC_PSPOLL_RPC) && ns && !(r & NC_PSPOLL_SESSION_TERM))
            subscription_live(n, ns);
        if ((r & NC_PSPOLL_SESSION_TERM) && ns)
            session_ended(n, ns);
        if ((r & NC_PSPOLL_SSH_CHANNEL) &&
            nc_ps_accept_ssh_channel(n->ps, &extra) == NC_MSG_HELLO) {
            session_added(n, extra);
            if (nc_ps_add_session(n->ps, extra))
                session_ended(n, extra);
        }
    }
    nc_thread_destroy();
    return NULL;
}

/* ---- notifications (RFC 5277) ---- */

/* Whether the record concerns what the session's user may see. */
static bool visible(const struct ncs *s, const json_t *rec)
{
    const char *tenant = json_string_value(json_object_get(rec, "tenant"));
    const char *object = json_string_value(json_object_get(rec, "object"));

    if (s->who.admin)
        return true;
    if (tenant && strcmp(tenant, s->who.tenant) == 0)
        return true;
    return object && strncmp(object, "tenant/", 7) == 0 && strcmp(object + 7, s->who.tenant) == 0;
}

static void send_tree(struct ncs *s, const struct lyd_node *tree, const char *time)
{
    struct lyd_node *sel = NULL;
    struct nc_server_notif *nf;

    if (s->filter) {
        sel = ncd_filter(s->filter, tree);
        if (!sel)
            return;
        tree = sel;
    }
    nf = nc_server_notif_new((struct lyd_node *)tree, (char *)time, NC_PARAMTYPE_CONST);
    if (nf && nc_server_notif_send(s->ns, nf, NOTIF_SEND_MS) != NC_MSG_NOTIF)
        log_debug("NETCONF: session %u: a notification could not be sent", s->id);
    nc_server_notif_free(nf);
    lyd_free_all(sel);
}

/* The record's notifications: vnfm-event, and escEvent for objects made
 * through esc_datamodel. Called with mu held. */
static void notify_record(struct ncs *s, const json_t *rec, struct lyd_node *ev,
                          struct lyd_node *esc)
{
    const char *time = json_string_value(json_object_get(rec, "time"));

    if (!time || !ev || !visible(s, rec))
        return;
    send_tree(s, ev, time);
    if (esc)
        send_tree(s, esc, time);
}

static bool is_compat(struct netconf *n, const json_t *rec)
{
    const char *object = json_string_value(json_object_get(rec, "object"));

    return object && json_object_get(n->compat, object);
}

/* RFC 5277 3.2.1 / nc-notifications: replayComplete, notificationComplete. */
static void send_marker(struct netconf *n, struct ncs *s, const char *name)
{
    const struct lys_module *mod = ly_ctx_get_module_implemented(n->ctx, "nc-notifications");
    struct lyd_node *node = NULL;
    char now[TIME_STR_MAX];
    struct nc_server_notif *nf;

    if (!mod || lyd_new_inner(NULL, mod, name, 0, &node))
        return;
    nf = nc_server_notif_new(node, time_fmt(wall_ms(), now), NC_PARAMTYPE_CONST);
    if (nf)
        nc_server_notif_send(s->ns, nf, NOTIF_SEND_MS);
    nc_server_notif_free(nf);
    lyd_free_all(node);
}

static void end_subscription(struct netconf *n, struct ncs *s)
{
    send_marker(n, s, "notificationComplete");
    s->subscribed = s->live = false;
    nc_session_dec_notif_status(s->ns);
}

/* Replays the event log from startTime up to where live delivery starts.
 * Called with mu held, by the notification thread. */
static void replay(struct netconf *n, struct ncs *s, struct store *st)
{
    struct log_query q = {.since_ms = s->start_ms,
                          .until_ms = s->stop_ms,
                          .max_seq = s->after_seq,
                          .limit = REPLAY_BATCH};
    json_t *recs = NULL, *rec;
    size_t i;

    s->replay = false;
    while (st && store_log_query(st, &q, &recs) == 0 && json_array_size(recs)) {
        json_array_foreach(recs, i, rec)
        {
            struct lyd_node *ev = ncd_event_notif(n->ctx, rec);
            struct lyd_node *esc = is_compat(n, rec) ? ncd_esc_notif(n->ctx, rec) : NULL;

            notify_record(s, rec, ev, esc);
            lyd_free_all(ev);
            lyd_free_all(esc);
            q.after_seq = json_integer_value(json_object_get(rec, "seq"));
        }
        json_decref(recs);
        recs = NULL;
    }
    json_decref(recs);
    send_marker(n, s, "replayComplete");
    if (s->stop_ms && s->stop_ms <= wall_ms())
        end_subscription(n, s);
}

/* Sends one live record to every subscriber it concerns. */
static void dispatch(struct netconf *n, const json_t *rec)
{
    int64_t seq = json_integer_value(json_object_get(rec, "seq")), t = 0;
    struct lyd_node *ev = ncd_event_notif(n->ctx, rec), *esc = NULL;
    const char *time = json_string_value(json_object_get(rec, "time"));

    time_parse(time ? time : "", &t);
    pthread_mutex_lock(&n->mu);
    if (is_compat(n, rec))
        esc = ncd_esc_notif(n->ctx, rec);
    for (struct ncs *s = n->sessions; s; s = s->next) {
        if (!s->subscribed || !s->live || s->replay || seq <= s->after_seq)
            continue;
        if (s->stop_ms && t > s->stop_ms) {
            end_subscription(n, s);
            continue;
        }
        notify_record(s, rec, ev, esc);
    }
    pthread_mutex_unlock(&n->mu);
    lyd_free_all(ev);
    lyd_free_all(esc);
}

/* Replays for new subscriptions, and ends those past their stopTime. */
static void housekeeping(struct netconf *n)
{
    struct store *st = NULL;
    int64_t now = wall_ms();

    pthread_mutex_lock(&n->mu);
    for (struct ncs *s = n->sessions; s; s = s->next) {
        if (!s->subscribed || !s->live)
            continue;
        if (s->replay) {
            if (!st)
                st = nc_store(n);
            replay(n, s, st);
        } else if (s->stop_ms && s->stop_ms <= now) {
            end_subscription(n, s);
        }
    }
    pthread_mutex_unlock(&n->mu);
}

static void notif_wake(void *arg)
{
    struct netconf *n = arg;

    pthread_mutex_lock(&n->mu);
    n->notif_woken = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static void notif_park(void *arg)
{
    (void)arg; /* the thread waits on its condition variable after bus_read() */
}

/* Waits until the bus (or a new subscription) wakes the thread; a parked
 * reader must not leave before it is woken (bus.h), so stop is checked by
 * the caller only after a wake-up. Times out every second for stopTime. */
static void notif_wait(struct netconf *n)
{
    struct timespec ts;

    pthread_mutex_lock(&n->mu);
    while (!n->notif_woken) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
            break;
    }
    n->notif_woken = false;
    pthread_mutex_unlock(&n->mu);
}

/* Reads what the bus's ring no longer holds from the store. */
static void catch_up(struct netconf *n, struct bus_sub *sub)
{
    struct store *st = nc_store(n);
    struct log_query q = {.after_seq = bus_sub_pos(sub), .limit = REPLAY_BATCH};
    json_t *recs = NULL, *rec;
    int64_t pos = q.after_seq;
    size_t i;

    if (st && store_log_query(st, &q, &recs) == 0) {
        json_array_foreach(recs, i, rec)
        {
            dispatch(n, rec);
            pos = json_integer_value(json_object_get(rec, "seq"));
        }
    }
    json_decref(recs);
    bus_sub_seek(sub, pos == q.after_seq ? pos + 1 : pos); /* step over a hole */
}

static void *notif_main(void *arg)
{
    struct netconf *n = arg;
    struct bus_filter f = {0};
    struct bus_sub *sub = bus_subscribe(n->c->bus, &f, -1, notif_wake, n);
    bool parked = false;

    for (;;) {
        json_t *rec = NULL;
        enum bus_read_rc rc;

        if (parked) {
            notif_wait(n);
            parked = false;
        }
        housekeeping(n);
        if (atomic_load(&n->stop))
            break;
        rc = bus_read(sub, &rec, notif_park);
        if (rc == BUS_CLOSED)
            break;
        if (rc == BUS_DATA)
            dispatch(n, rec);
        else if (rc == BUS_BEHIND)
            catch_up(n, sub);
        else
            parked = true;
        json_decref(rec);
    }
    bus_unsubscribe(sub);
    return NULL;
}

/* ---- start and stop ---- */

bool netconf_alive(void *arg, uint64_t now)
{
    struct netconf *n = arg;

    return atomic_load(&n->accept_running) &&
           ms_since(now, atomic_load(&n->accept_beat_ms)) < ACCEPT_STALE_MS;
}

void netconf_fault_stop(void *arg, unsigned seconds)
{
    struct netconf *n = arg;

    (void)seconds;
    atomic_store(&n->accept_stop, true);
}

static void nc_log(const struct nc_session *session, NC_VERB_LEVEL level, const char *msg)
{
    uint32_t sid = session ? nc_session_get_id(session) : 0;

    if (level == NC_VERB_ERROR)
        log_warn("NETCONF: session %u: %s", sid, msg);
    else
        log_debug("NETCONF: session %u: %s", sid, msg);
}

static int start_threads(struct netconf *n, char *err, size_t errlen)
{
    unsigned want = n->c->cfg->netconf_threads;

    atomic_store(&n->accept_beat_ms, mono_ms());
    atomic_store(&n->accept_running, true);
    if (pthread_create(&n->accept_thr, NULL, accept_main, n)) {
        atomic_store(&n->accept_running, false);
        goto fail;
    }
    n->accept_started = true;
    if (pthread_create(&n->notif_thr, NULL, notif_main, n))
        goto fail;
    n->notif_started = true;
    for (; n->n_poll < want && n->n_poll < MAX_POLL_THREADS; n->n_poll++)
        if (pthread_create(&n->poll_thr[n->n_poll], NULL, poll_main, n))
            goto fail;
    return 0;
fail:
    snprintf(err, errlen, "NETCONF: cannot start its threads");
    return -EAGAIN;
}

static int init_server(struct netconf *n)
{
    if (nc_server_init(n->ctx))
        return -1;
    n->server_inited = true;
    return 0;
}

struct netconf *netconf_start(struct core *c, char *err, size_t errlen)
{
    struct netconf *n = xcalloc(1, sizeof(*n));

    n->c = c;
    n->compat = json_object();
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    pthread_mutex_init(&n->stores_mu, NULL);
    nc_set_print_clb_session(nc_log);
    /* libnetconf2's own account of sessions at --log-level debug */
    nc_verbosity(log_max_level >= LOG_LVL_DEBUG ? NC_VERB_VERBOSE : NC_VERB_WARNING);
    if (nc_guard_init()) {
        snprintf(err, errlen, "NETCONF: libyang's lyd_parse_op cannot be found (nc_guard.c)");
        netconf_stop(n);
        return NULL;
    }
    if (load_modules(n, err, errlen) || init_server(n) || !(n->ps = nc_ps_new()) ||
        ensure_host_key(n, err, errlen) || load_users(n, err, errlen) ||
        setup_endpoint(n, err, errlen) ||
        nc_server_set_capability("urn:ietf:params:netconf:capability:notification:1.0") ||
        nc_server_set_capability("urn:ietf:params:netconf:capability:interleave:1.0") ||
        start_threads(n, err, errlen)) {
        if (!*err)
            snprintf(err, errlen, "NETCONF: cannot start the server");
        netconf_stop(n);
        return NULL;
    }
    log_info("NETCONF: listening on %s:%u (SSH, %zu users)", c->cfg->netconf_host,
             c->cfg->netconf_port, n->n_users);
    return n;
}

static void free_users(struct netconf *n)
{
    for (size_t i = 0; i < n->n_users; i++) {
        free(n->users[i].name);
        free(n->users[i].pubkey);
    }
    free(n->users);
}

void netconf_stop(struct netconf *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    atomic_store(&n->stop, true);
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (n->notif_started)
        bus_wake_all(n->c->bus); /* a parked notification thread leaves only when woken */
    if (n->accept_started)
        pthread_join(n->accept_thr, NULL);
    for (unsigned i = 0; i < n->n_poll; i++)
        pthread_join(n->poll_thr[i], NULL);
    if (n->notif_started)
        pthread_join(n->notif_thr, NULL);
    if (n->ps) {
        nc_ps_clear(n->ps, 1, ncs_free);
        nc_ps_free(n->ps);
    }
    if (n->server_inited)
        nc_server_destroy();
    for (unsigned i = 0; i < n->n_stores; i++)
        store_close(n->stores[i]);
    ly_ctx_destroy(n->ctx);
    free_users(n);
    json_decref(n->compat);
    pthread_mutex_destroy(&n->stores_mu);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n->host_key);
    free(n);
}
