/* Leader election, fencing orders and direct heartbeats (ha.h). */
#include "ha/ha.h"
#include "ha/share.h"
#include "util/etcd.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ID_LEN     12 /* hex digits of a member id */
#define HB_MAGIC   "VNFMHB1"
#define BACKOFF_MS 200 /* between two attempts to reach etcd */
#define PROBE_MS   200 /* the longest a member's heartbeat port is waited for (hb_closed) */

struct member {
    char id[ID_LEN + 2];
    char hb[64];      /* "HOST:PORT" */
    uint64_t seen_ms; /* its last heartbeat (the primary's view) */
    int64_t lease;    /* its lease, as its key says */
    unsigned dead_ms; /* its --ha-dead-ms, as its key says (0: unknown) */
    int64_t revoked;  /* the lease this primary revoked for missed heartbeats, 0: none */
    bool listed;      /* in the last read of the whole view (watch_once) */
};

struct ha {
    struct ha_opts o;
    struct store *st;
    struct cluster *cl;
    void (*wake)(void *arg);
    void *wake_arg;
    char id[ID_LEN + 2];
    char *ha_prefix, *leader_key, *member_key;
    atomic_bool stop;
    pthread_mutex_t mu; /* over everything below; cv: the control thread's wake-up */
    pthread_cond_t cv;
    /* the lease (the control thread's) */
    int64_t lease;
    uint64_t lease_ok_ms; /* when the last renewal that etcd confirmed was sent */
    /* PREFIX/ha/ as the watch sees it */
    bool view_ok;
    bool leader_known;
    char leader_id[ID_LEN + 2], leader_url[CLUSTER_URL_MAX], leader_hb[64];
    int64_t leader_lease, leader_rev;
    int64_t leader_mod; /* the revision the view of the leader key is at */
    struct member *members;
    size_t n_members;
    /* the heartbeats' verdict on the primary (a standby's); gone: it is
     * known not to run (nothing listens at its heartbeat address) */
    bool primary_dead, primary_gone;
    /* the heartbeat thread's last round, and when it last found that this
     * process had not run for a while (stopped, starved of CPU): the
     * others' silence meanwhile is not held against them */
    _Atomic uint64_t tick_ms, awake_ms;
    uint64_t lead_ms; /* when this manager won the leader key: members ping it from then */
    /* the last member reaped for its missed heartbeats (reap_members), shown
     * down until its lease would have run out */
    char reaped[ID_LEN + 2];
    uint64_t reaped_until_ms;
    /* where this manager stands, and what the loop is to do */
    enum cluster_role role;
    bool deposed; /* stepped down: this process campaigns no more */
    enum ha_order order;
    int64_t order_rev;
    /* threads */
    pthread_t ctl_th, watch_th, hb_th;
    bool ctl_started, watch_started, hb_started;
    struct etcd *ctl, *watch;
    int hb_fd;           /* bound to the heartbeat address */
    struct share *share; /* the branch sites shared by the members, or NULL */
};

static void signal_ctl(struct ha *ha)
{
    pthread_mutex_lock(&ha->mu);
    pthread_cond_broadcast(&ha->cv);
    pthread_mutex_unlock(&ha->mu);
}

/* ---- etcd calls ---- */

static char *b64s(const char *s)
{
    return etcd_b64(s, strlen(s));
}

/* The value of this manager's member and leader keys. */
static char *my_value(const struct ha *ha)
{
    char hb[80];
    json_t *v;
    char *text;

    snprintf(hb, sizeof(hb), "%s:%u", ha->o.hb_host, ha->o.hb_port);
    v = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", ha->id, "url", ha->o.url, "hb", hb, "lease",
                  "", "dead_ms", (int)ha->o.dead_ms);
    json_object_set_new(v, "lease", json_sprintf("%lld", (long long)ha->lease));
    text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}

/* A new lease and this manager's member key on it. */
static int join(struct ha *ha)
{
    json_t *req = json_pack("{s:I}", "TTL", (json_int_t)((ha->o.lease_ms + 999) / 1000)), *resp;
    uint64_t sent = mono_ms();
    char *k, *v, *val;
    int r = etcd_call(ha->ctl, "/v3/lease/grant", req, &resp);

    json_decref(req);
    if (r)
        return r;
    ha->lease = etcd_int(json_object_get(resp, "ID"));
    json_decref(resp);
    val = my_value(ha);
    k = b64s(ha->member_key);
    v = b64s(val);
    req = json_pack("{s:s, s:s, s:I}", "key", k, "value", v, "lease", (json_int_t)ha->lease);
    r = etcd_call(ha->ctl, "/v3/kv/put", req, &resp);
    json_decref(req);
    if (r == 0)
        json_decref(resp);
    free(k);
    free(v);
    free(val);
    if (r == 0)
        ha->lease_ok_ms = sent;
    return r;
}

/* Renews the lease. -ENOENT when etcd has lost it. */
static int keepalive(struct ha *ha)
{
    json_t *req = json_pack("{s:I}", "ID", (json_int_t)ha->lease), *resp = NULL;
    uint64_t sent = mono_ms();
    int r = etcd_call(ha->ctl, "/v3/lease/keepalive", req, &resp);

    json_decref(req);
    if (r == 0) {
        r = etcd_int(json_object_get(json_object_get(resp, "result"), "TTL")) > 0 ? 0 : -ENOENT;
        json_decref(resp);
    }
    if (r == 0)
        ha->lease_ok_ms = sent;
    return r;
}

static int revoke_lease(struct ha *ha, int64_t lease)
{
    json_t *req = json_pack("{s:I}", "ID", (json_int_t)lease), *resp = NULL;
    int r = etcd_call(ha->ctl, "/v3/lease/revoke", req, &resp);

    json_decref(req);
    json_decref(resp);
    return r;
}

/* Creates the leader key if there is none. 1 when this manager won (*rev:
 * the key's create revision), 0 when another holds it. */
static int campaign(struct ha *ha, int64_t *rev)
{
    char *k = b64s(ha->leader_key), *val = my_value(ha), *v = b64s(val);
    json_t *req =
        json_pack("{s:[{s:s, s:s, s:s, s:i}], s:[{s:{s:s, s:s, s:I}}]}", "compare", "key", k,
                  "target", "CREATE", "result", "EQUAL", "create_revision", 0, "success",
                  "request_put", "key", k, "value", v, "lease", (json_int_t)ha->lease);
    json_t *resp = NULL;
    int r = etcd_call(ha->ctl, "/v3/kv/txn", req, &resp);

    if (r == 0) {
        r = json_is_true(json_object_get(resp, "succeeded"));
        *rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
    }
    json_decref(resp);
    json_decref(req);
    free(k);
    free(v);
    free(val);
    return r;
}

/* ---- the view of PREFIX/ha/ ---- */

static struct member *find_member(struct ha *ha, const char *id)
{
    for (size_t i = 0; i < ha->n_members; i++)
        if (strcmp(ha->members[i].id, id) == 0)
            return &ha->members[i];
    return NULL;
}

/* Member m's key is gone (mu held). */
static void member_gone(struct ha *ha, struct member *m)
{
    if (m->revoked) {
        snprintf(ha->reaped, sizeof(ha->reaped), "%s", m->id);
        ha->reaped_until_ms = mono_ms() + ha->o.lease_ms;
    }
    *m = ha->members[--ha->n_members];
}

/* A put (v) or delete (v NULL) of key at revision mod; mu held. */
static void view_apply(struct ha *ha, const char *key, const json_t *v, int64_t create_rev,
                       int64_t mod)
{
    size_t n = strlen(ha->ha_prefix);
    const char *id = json_string_value(json_object_get(v, "id"));

    if (strcmp(key, ha->leader_key) == 0) {
        if (mod && mod <= ha->leader_mod)
            return; /* older than what the view knows (its own campaign) */
        ha->leader_mod = mod;
        bool changed = !v || !ha->leader_known || strcmp(ha->leader_id, id ? id : "") != 0;

        ha->leader_known = v && id;
        snprintf(ha->leader_id, sizeof(ha->leader_id), "%s", id ? id : "");
        snprintf(ha->leader_url, sizeof(ha->leader_url), "%s",
                 v ? json_string_value(json_object_get(v, "url")) ?: "" : "");
        snprintf(ha->leader_hb, sizeof(ha->leader_hb), "%s",
                 v ? json_string_value(json_object_get(v, "hb")) ?: "" : "");
        ha->leader_lease = etcd_int(json_object_get(v, "lease"));
        ha->leader_rev = create_rev;
        if (changed)
            ha->primary_dead = ha->primary_gone = false;
        cluster_set_primary(ha->cl, ha->leader_known ? ha->leader_url : "");
    } else if (strncmp(key, ha->ha_prefix, n) == 0 && strncmp(key + n, "members/", 8) == 0) {
        const char *mid = key + n + 8;
        struct member *m = find_member(ha, mid);

        if (v && !m) {
            ha->members = xrealloc(ha->members, (ha->n_members + 1) * sizeof(*ha->members));
            m = &ha->members[ha->n_members++];
            memset(m, 0, sizeof(*m));
            snprintf(m->id, sizeof(m->id), "%s", mid);
            m->seen_ms = mono_ms(); /* it has dead_ms to send its first heartbeat */
        }
        if (v) {
            m->listed = true;
            snprintf(m->hb, sizeof(m->hb), "%s", json_string_value(json_object_get(v, "hb")) ?: "");
            m->lease = strtoll(json_string_value(json_object_get(v, "lease")) ?: "0", NULL, 10);
            m->dead_ms = (unsigned)json_integer_value(json_object_get(v, "dead_ms"));
        } else if (m) {
            member_gone(ha, m);
        }
    } else if (ha->share && share_is_key(ha->share, key)) {
        share_view(ha->share, key, v, create_rev, mod);
    }
}

static void view_kv(struct ha *ha, const json_t *kv, bool del)
{
    char *key = etcd_unb64(json_string_value(json_object_get(kv, "key")), NULL);
    char *val =
        del ? NULL : etcd_unb64(json_string_value(json_object_get(kv, "value")) ?: "", NULL);
    json_t *v = val ? json_loads(val, 0, NULL) : NULL;

    if (key)
        view_apply(ha, key, v, etcd_int(json_object_get(kv, "create_revision")),
                   etcd_int(json_object_get(kv, "mod_revision")));
    json_decref(v);
    free(key);
    free(val);
}

static int on_watch(void *arg, json_t *res)
{
    struct ha *ha = arg;
    json_t *ev;
    size_t i;

    if (json_is_true(json_object_get(res, "canceled")))
        return -EPIPE;
    pthread_mutex_lock(&ha->mu);
    json_array_foreach(json_object_get(res, "events"), i, ev)
    {
        const json_t *type = json_object_get(ev, "type");

        view_kv(ha, json_object_get(ev, "kv"),
                json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0);
    }
    pthread_cond_broadcast(&ha->cv);
    pthread_mutex_unlock(&ha->mu);
    return 0;
}

/* Reads PREFIX/ha/ whole, then follows its changes until the stream ends. */
static int watch_once(struct ha *ha)
{
    char *end = etcd_prefix_end(ha->ha_prefix), *k = b64s(ha->ha_prefix), *e = b64s(end);
    json_t *req = json_pack("{s:s, s:s}", "key", k, "range_end", e), *resp = NULL, *kv;
    int64_t rev;
    size_t i;
    int r = etcd_call(ha->watch, "/v3/kv/range", req, &resp);

    json_decref(req);
    if (r == 0) {
        rev = etcd_int(json_object_get(json_object_get(resp, "header"), "revision"));
        pthread_mutex_lock(&ha->mu);
        /* the members known before keep their last heartbeat and what this
         * primary did to them: a watch started again (etcd ended it) must not
         * give a silent one dead_ms more */
        for (i = 0; i < ha->n_members; i++)
            ha->members[i].listed = false;
        ha->leader_mod = 0;
        if (ha->share)
            share_view_reset(ha->share);
        view_apply(ha, ha->leader_key, NULL, 0, 0);
        json_array_foreach(json_object_get(resp, "kvs"), i, kv)
        {
            view_kv(ha, kv, false);
        }
        for (i = ha->n_members; i-- > 0;)
            if (!ha->members[i].listed)
                member_gone(ha, &ha->members[i]);
        ha->view_ok = true;
        pthread_cond_broadcast(&ha->cv);
        pthread_mutex_unlock(&ha->mu);
        json_decref(resp);
        req = json_pack("{s:{s:s, s:s, s:I}}", "create_request", "key", k, "range_end", e,
                        "start_revision", (json_int_t)(rev + 1));
        r = etcd_stream(ha->watch, "/v3/watch", req, 0, on_watch, ha);
        json_decref(req);
    }
    free(k);
    free(e);
    free(end);
    return r;
}

static void *watch_main(void *arg)
{
    struct ha *ha = arg;

    while (!atomic_load(&ha->stop)) {
        int r = watch_once(ha);

        if (atomic_load(&ha->stop) || r == -EINTR)
            break;
        pthread_mutex_lock(&ha->mu);
        ha->view_ok = false; /* until read again */
        pthread_mutex_unlock(&ha->mu);
        log_debug("ha: the watch of etcd ended (%s); again", etcd_errmsg(ha->watch));
        usleep(BACKOFF_MS * 1000);
    }
    return NULL;
}

/* ---- the control thread ---- */

static void order(struct ha *ha, enum ha_order o, int64_t rev)
{
    pthread_mutex_lock(&ha->mu);
    ha->order = o;
    ha->order_rev = rev;
    pthread_mutex_unlock(&ha->mu);
    ha->wake(ha->wake_arg);
}

/* Stops being (or becoming) the primary: no commit goes through from now on. */
static void step_down(struct ha *ha, const char *why)
{
    pthread_mutex_lock(&ha->mu);
    if (ha->deposed || ha->role == CLUSTER_STANDBY) {
        pthread_mutex_unlock(&ha->mu);
        return;
    }
    ha->deposed = true;
    ha->role = CLUSTER_STANDBY;
    pthread_mutex_unlock(&ha->mu);
    store_unfence(ha->st);
    cluster_set_role(ha->cl, CLUSTER_STANDBY);
    log_warn("ha: stepping down as the primary: %s", why);
    order(ha, HA_DEMOTE, 0);
}

static bool awake(struct ha *ha, uint64_t now);

/* A member (or the primary) about to lose its lease for missed heartbeats:
 * when it is known not to run, its sites are given away on its behalf
 * first, so that the others take them at once. */
static void give_away_sites(struct ha *ha, const char *id, int64_t lease, bool gone)
{
    unsigned n;

    if (!ha->share || !gone)
        return;
    n = share_give_away(ha->share, ha->ctl, id, lease);
    if (n)
        log_info("ha: %s is not running (nothing listens at its heartbeat address): %u of "
                 "its sites given away on its behalf, taken by the others at once",
                 id, n);
}

/* A standby: the primary is gone (its key, or its heartbeats): take its
 * place if nobody else does first. */
static void maybe_campaign(struct ha *ha)
{
    bool known, dead, gone;
    int64_t their, rev = 0;
    char who[ID_LEN + 2];
    int r;

    pthread_mutex_lock(&ha->mu);
    if (!ha->view_ok || ha->deposed || ha->role != CLUSTER_STANDBY) {
        pthread_mutex_unlock(&ha->mu);
        return;
    }
    known = ha->leader_known;
    dead = ha->primary_dead && strcmp(ha->leader_id, ha->id) != 0 && awake(ha, mono_ms());
    gone = ha->primary_gone;
    their = ha->leader_lease;
    snprintf(who, sizeof(who), "%s", ha->leader_id);
    pthread_mutex_unlock(&ha->mu);
    if (known && !dead)
        return;
    if (known) {
        log_warn("ha: the primary %s misses its heartbeats: revoking its lease", who);
        give_away_sites(ha, who, their, gone);
        if (revoke_lease(ha, their))
            return;
    }
    r = campaign(ha, &rev);
    if (r <= 0)
        return;
    pthread_mutex_lock(&ha->mu);
    ha->role = CLUSTER_PROMOTING;
    ha->lead_ms = mono_ms();
    /* the watch brings the same soon; until then the view must not say
     * that another holds the key */
    ha->leader_known = true;
    snprintf(ha->leader_id, sizeof(ha->leader_id), "%s", ha->id);
    snprintf(ha->leader_url, sizeof(ha->leader_url), "%s", ha->o.url);
    ha->leader_lease = ha->lease;
    ha->leader_rev = ha->leader_mod = rev;
    pthread_mutex_unlock(&ha->mu);
    cluster_set_role(ha->cl, CLUSTER_PROMOTING);
    cluster_set_primary(ha->cl, ha->o.url);
    log_info("ha: elected primary (leader key revision %lld)", (long long)rev);
    order(ha, HA_PROMOTE, rev);
}

/* The primary, or one taking over: another holds the key now, or ours
 * is gone. */
static void check_leadership(struct ha *ha, uint64_t now)
{
    bool other;

    pthread_mutex_lock(&ha->mu);
    other = ha->view_ok && ha->role != CLUSTER_STANDBY &&
            (!ha->leader_known || strcmp(ha->leader_id, ha->id) != 0);
    pthread_mutex_unlock(&ha->mu);
    /* before etcd itself lets the lease go: renewals are sent every quarter
     * of the TTL, so this is two or three missed in a row */
    if (now - ha->lease_ok_ms >= ha->o.lease_ms * 3 / 4)
        step_down(ha, "its lease could not be renewed for three quarters of its TTL");
    else if (other)
        step_down(ha, "the leader key is no longer its own");
}

/* Keeps the lease (a new one when etcd lost it) and reports whether etcd
 * answers. Returns when the next renewal is due. */
static uint64_t tend_lease(struct ha *ha, uint64_t now)
{
    int r = ha->lease ? keepalive(ha) : join(ha);

    if (r == -ENOENT) {
        pthread_mutex_lock(&ha->mu);
        bool leading = ha->role != CLUSTER_STANDBY;
        pthread_mutex_unlock(&ha->mu);
        if (leading)
            step_down(ha, "etcd no longer knows its lease");
        if (ha->share)
            share_lost(ha->share, "etcd no longer knows its lease");
        ha->lease = 0;
        r = join(ha);
    }
    cluster_set_store_down(ha->cl, r != 0, r ? etcd_errmsg(ha->ctl) : NULL);
    if (r)
        return now + BACKOFF_MS;
    if (ha->share)
        share_renewed(ha->share, ha->lease_ok_ms);
    return now + ha->o.lease_ms / 4;
}

static void wait_until(struct ha *ha, uint64_t when)
{
    struct timespec ts;
    uint64_t now = mono_ms(), ms = when > now ? when - now : 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&ha->mu);
    if (!atomic_load(&ha->stop))
        pthread_cond_timedwait(&ha->cv, &ha->mu, &ts);
    pthread_mutex_unlock(&ha->mu);
}

/* The branch sites: which to acquire and release, over the live members;
 * none held by a member whose lease went unrenewed for three quarters of
 * its TTL (as a primary steps down, before etcd lets the keys go). */
static void tend_share(struct ha *ha, uint64_t now)
{
    char(*ids)[16] = NULL;
    size_t n = 0;

    if (!ha->share)
        return;
    if (!ha->lease || now - ha->lease_ok_ms >= ha->o.lease_ms * 3 / 4) {
        share_lost(ha->share, "its lease could not be renewed");
        return;
    }
    pthread_mutex_lock(&ha->mu);
    if (ha->view_ok && ha->n_members) {
        ids = xcalloc(ha->n_members, sizeof(*ids));
        for (n = 0; n < ha->n_members; n++)
            snprintf(ids[n], sizeof(ids[n]), "%s", ha->members[n].id);
    }
    pthread_mutex_unlock(&ha->mu);
    if (n)
        share_tend(ha->share, ha->ctl, ha->lease, ids, n);
    free(ids);
}

static bool silent(const struct ha *ha, const struct member *m, uint64_t now);
static bool hb_closed(const char *hp);

/* The primary of a cluster that shares branch sites: a member silent for
 * dead_ms has its lease revoked, once, so that its keys (its sites) go at
 * once rather than when its lease runs out, as the standbys do for a
 * silent primary. A member alive after all finds its lease gone and joins
 * again. */
static void reap_members(struct ha *ha, uint64_t now)
{
    struct {
        char id[ID_LEN + 2], hb[64];
        int64_t lease;
    } dead[8];
    size_t n = 0;

    if (!ha->share || !awake(ha, now))
        return;
    pthread_mutex_lock(&ha->mu);
    for (size_t i = 0; ha->role == CLUSTER_PRIMARY && i < ha->n_members && n < 8; i++) {
        struct member *m = &ha->members[i];

        if (strcmp(m->id, ha->id) == 0 || !m->lease || m->lease == m->revoked ||
            !silent(ha, m, now))
            continue;
        m->revoked = m->lease;
        snprintf(dead[n].id, sizeof(dead[n].id), "%s", m->id);
        snprintf(dead[n].hb, sizeof(dead[n].hb), "%s", m->hb);
        dead[n++].lease = m->lease;
    }
    pthread_mutex_unlock(&ha->mu);
    for (size_t i = 0; i < n; i++) {
        log_warn("ha: member %s misses its heartbeats: revoking its lease", dead[i].id);
        give_away_sites(ha, dead[i].id, dead[i].lease, hb_closed(dead[i].hb));
        if (revoke_lease(ha, dead[i].lease))
            log_warn("ha: cannot revoke the lease of member %s: %s", dead[i].id,
                     etcd_errmsg(ha->ctl));
    }
}

static void *ctl_main(void *arg)
{
    struct ha *ha = arg;
    uint64_t renew = 0;

    while (!atomic_load(&ha->stop)) {
        uint64_t now = mono_ms();

        if (now >= renew)
            renew = tend_lease(ha, now);
        if (ha->lease)
            maybe_campaign(ha);
        check_leadership(ha, mono_ms());
        reap_members(ha, mono_ms());
        tend_share(ha, mono_ms());
        wait_until(ha, renew);
    }
    return NULL;
}

/* ---- direct heartbeats (UDP) ---- */

static int parse_hostport(const char *hp, struct sockaddr_in *a)
{
    const char *colon = strrchr(hp, ':');
    char host[64];

    if (!colon || (size_t)(colon - hp) >= sizeof(host))
        return -EINVAL;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

/* Whether nothing listens at a member's heartbeat address (hp) any more:
 * a datagram sent there is refused. A member binds it for its process's
 * life, so it is gone with the process (or with a clean stop, which gives
 * its sites away itself). No answer within PROBE_MS, or any other, is no
 * proof. (A firewall that rejects rather than drops the port would fake
 * it: docs/HA.md.) */
static bool hb_closed(const char *hp)
{
    struct sockaddr_in a;
    struct pollfd p = {.events = POLLIN};
    char buf[64];
    bool closed = false;
    int n;

    if (parse_hostport(hp, &a))
        return false;
    p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p.fd < 0)
        return false;
    n = snprintf(buf, sizeof(buf), HB_MAGIC " PROBE");
    if (connect(p.fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        send(p.fd, buf, (size_t)n, 0) == n && poll(&p, 1, PROBE_MS) > 0)
        closed = recv(p.fd, buf, sizeof(buf), 0) < 0 && errno == ECONNREFUSED;
    close(p.fd);
    return closed;
}

/* The heartbeat thread's own state. */
struct hb {
    int fd; /* connected to the primary's heartbeat address; -1: none */
    char target[ID_LEN + 2];
    uint64_t since_ms; /* pinging the current primary since */
    uint64_t pong_ms;  /* its last answer */
    bool refused;      /* its port is closed */
    bool self;         /* its address is this manager's own */
    uint64_t seq;
};

/* Answers a standby's ping; notes it was heard. */
static void hb_serve(struct ha *ha)
{
    char buf[256], prefix[128], id[ID_LEN + 2], kind[8];
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    unsigned long long seq;
    ssize_t n = recvfrom(ha->hb_fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &len);

    if (n <= 0)
        return;
    buf[n] = '\0';
    if (sscanf(buf, HB_MAGIC " %7s %127s %13s %llu", kind, prefix, id, &seq) != 4 ||
        strcmp(kind, "PING") != 0 || strcmp(prefix, ha->o.prefix) != 0)
        return;
    pthread_mutex_lock(&ha->mu);
    {
        struct member *m = find_member(ha, id);

        if (m)
            m->seen_ms = mono_ms();
    }
    pthread_mutex_unlock(&ha->mu);
    n = snprintf(buf, sizeof(buf), HB_MAGIC " PONG %s %s %llu", ha->o.prefix, ha->id, seq);
    sendto(ha->hb_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
}

/* The primary's answer, or word that its port is closed. */
static void hb_answer(struct ha *ha, struct hb *h)
{
    char buf[256], prefix[128], id[ID_LEN + 2], kind[8];
    unsigned long long seq;
    ssize_t n = recv(h->fd, buf, sizeof(buf) - 1, 0);

    if (n < 0 && errno == ECONNREFUSED) {
        h->refused = true;
        return;
    }
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* an answer from the primary's address by another manager (a new
     * process on the same port) is no answer from the primary */
    if (sscanf(buf, HB_MAGIC " %7s %127s %13s %llu", kind, prefix, id, &seq) == 4 &&
        strcmp(kind, "PONG") == 0 && strcmp(prefix, ha->o.prefix) == 0 &&
        strcmp(id, h->target) == 0)
        h->pong_ms = mono_ms();
}

/* A standby pings the primary; re-aims when the primary changed. */
static void hb_ping(struct ha *ha, struct hb *h, uint64_t now)
{
    char target[ID_LEN + 2], addr[64], buf[256];
    struct sockaddr_in a;
    bool aim;
    int n;

    pthread_mutex_lock(&ha->mu);
    aim = ha->leader_known && ha->role == CLUSTER_STANDBY && strcmp(ha->leader_id, ha->id) != 0;
    snprintf(target, sizeof(target), "%s", aim ? ha->leader_id : "");
    snprintf(addr, sizeof(addr), "%s", ha->leader_hb);
    pthread_mutex_unlock(&ha->mu);
    if (strcmp(target, h->target) != 0) {
        if (h->fd >= 0)
            close(h->fd);
        h->fd = -1;
        snprintf(h->target, sizeof(h->target), "%s", target);
        h->since_ms = now;
        h->pong_ms = 0;
        h->refused = false;
        snprintf(buf, sizeof(buf), "%s:%u", ha->o.hb_host, ha->o.hb_port);
        h->self = aim && strcmp(addr, buf) == 0;
        if (aim && parse_hostport(addr, &a) == 0) {
            h->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (h->fd >= 0 && connect(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(h->fd);
                h->fd = -1;
            }
        }
    }
    if (h->fd < 0)
        return;
    n = snprintf(buf, sizeof(buf), HB_MAGIC " PING %s %s %llu", ha->o.prefix, ha->id,
                 (unsigned long long)++h->seq);
    if (send(h->fd, buf, (size_t)n, 0) < 0 && errno == ECONNREFUSED)
        h->refused = true;
}

static uint64_t later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The primary's verdict on a member (under mu): no heartbeat for dead_ms
 * (this manager's or the member's own, the longer: a member may send
 * them less often) since it last sent one, since this manager leads
 * (before that it pinged the one before) or since this manager last ran
 * again after a stall. */
static bool silent(const struct ha *ha, const struct member *m, uint64_t now)
{
    unsigned dead = m->dead_ms > ha->o.dead_ms ? m->dead_ms : ha->o.dead_ms;

    return ms_since(now, later(later(m->seen_ms, ha->lead_ms), atomic_load(&ha->awake_ms))) > dead;
}

/* How long the heartbeat thread may not run before this process counts as
 * having stalled. */
static uint64_t stall_ms(const struct ha *ha)
{
    return later(ha->o.dead_ms / 2, 3 * (uint64_t)ha->o.hb_ms);
}

/* Whether the heartbeat thread ran lately: a verdict on the others' silence
 * waits for it after a stall of this process (it notes the stall). */
static bool awake(struct ha *ha, uint64_t now)
{
    return ms_since(now, atomic_load(&ha->tick_ms)) <= stall_ms(ha);
}

/* The verdicts: a standby's on the primary, the primary's on its standbys. */
static void hb_judge(struct ha *ha, struct hb *h, uint64_t now)
{
    uint64_t last = later(later(h->pong_ms, h->since_ms), atomic_load(&ha->awake_ms));
    /* a primary whose heartbeat address is this manager's own is a former
     * process of this manager, gone */
    bool dead = h->target[0] && (h->refused || h->self || ms_since(now, last) > ha->o.dead_ms);
    char who[128] = "";
    bool primary, down = false, tell = false;
    unsigned members;

    pthread_mutex_lock(&ha->mu);
    primary = ha->role == CLUSTER_PRIMARY;
    if (!primary && h->target[0] && strcmp(ha->leader_id, h->target) == 0) {
        tell = dead && !ha->primary_dead;
        ha->primary_dead = dead;
        ha->primary_gone = dead && (h->refused || h->self);
        down = dead;
        if (dead)
            snprintf(who, sizeof(who), "primary %s %s", h->target,
                     h->refused || h->self ? "is not running" : "does not answer heartbeats");
    }
    if (primary && now < ha->reaped_until_ms) {
        down = true;
        snprintf(who, sizeof(who), "member %s sent no heartbeats: its lease was revoked",
                 ha->reaped);
    }
    for (size_t i = 0; primary && i < ha->n_members; i++) {
        const struct member *m = &ha->members[i];

        if (strcmp(m->id, ha->id) != 0 && silent(ha, m, now)) {
            tell = tell || (ha->share && m->lease && m->lease != m->revoked); /* reap_members */
            down = true;
            snprintf(who, sizeof(who), "standby %s (%s) sends no heartbeats", m->id, m->hb);
        }
    }
    members = (unsigned)ha->n_members;
    if (tell)
        pthread_cond_broadcast(&ha->cv);
    pthread_mutex_unlock(&ha->mu);
    cluster_set_peer_down(ha->cl, down, who);
    cluster_set_members(ha->cl, members);
}

static void *hb_main(void *arg)
{
    struct ha *ha = arg;
    struct hb h = {.fd = -1};
    uint64_t next = 0;

    while (!atomic_load(&ha->stop)) {
        struct pollfd p[2] = {{ha->hb_fd, POLLIN, 0}, {h.fd, POLLIN, 0}};
        uint64_t now = mono_ms(), prev = atomic_exchange(&ha->tick_ms, now);

        if (prev && now - prev > stall_ms(ha)) {
            atomic_store(&ha->awake_ms, now);
            log_warn("ha: this manager did not run for %llu ms (stopped, or starved of CPU): "
                     "the others' silence meanwhile is not held against them",
                     (unsigned long long)(now - prev));
        }

        if (now >= next) {
            hb_ping(ha, &h, now);
            hb_judge(ha, &h, now);
            next = now + ha->o.hb_ms;
        }
        p[1].fd = h.fd;
        if (poll(p, h.fd >= 0 ? 2 : 1, (int)(next > now ? next - now : 0)) <= 0)
            continue;
        if (p[0].revents)
            hb_serve(ha);
        if (h.fd >= 0 && p[1].revents) {
            hb_answer(ha, &h);
            if (h.refused)
                next = 0; /* judge at once */
        }
    }
    if (h.fd >= 0)
        close(h.fd);
    return NULL;
}

/* ---- the loop's side ---- */

enum ha_order ha_take_order(struct ha *ha, char *key, size_t keylen, int64_t *rev)
{
    enum ha_order o;

    pthread_mutex_lock(&ha->mu);
    o = ha->order;
    ha->order = HA_NONE;
    *rev = ha->order_rev;
    pthread_mutex_unlock(&ha->mu);
    snprintf(key, keylen, "%s", ha->leader_key);
    return o;
}

void ha_primary(struct ha *ha)
{
    pthread_mutex_lock(&ha->mu);
    if (ha->role == CLUSTER_PROMOTING)
        ha->role = CLUSTER_PRIMARY;
    pthread_mutex_unlock(&ha->mu);
    cluster_set_role(ha->cl, CLUSTER_PRIMARY);
}

static int bind_hb(struct ha *ha, char *err, size_t errlen)
{
    struct sockaddr_in a;
    char hp[80];

    snprintf(hp, sizeof(hp), "%s:%u", ha->o.hb_host, ha->o.hb_port);
    if (parse_hostport(hp, &a)) {
        snprintf(err, errlen, "heartbeat address %s is not IPv4 HOST:PORT", hp);
        return -EINVAL;
    }
    ha->hb_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (ha->hb_fd < 0 || bind(ha->hb_fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        snprintf(err, errlen, "cannot listen for heartbeats on udp %s: %s", hp, strerror(errno));
        return -errno;
    }
    return 0;
}

static void ha_free(struct ha *ha)
{
    share_free(ha->share);
    etcd_close(ha->ctl);
    etcd_close(ha->watch);
    if (ha->hb_fd >= 0)
        close(ha->hb_fd);
    free(ha->members);
    free(ha->ha_prefix);
    free(ha->leader_key);
    free(ha->member_key);
    free((char *)ha->o.endpoints);
    free((char *)ha->o.prefix);
    free((char *)ha->o.url);
    free((char *)ha->o.hb_host);
    pthread_mutex_destroy(&ha->mu);
    pthread_cond_destroy(&ha->cv);
    free(ha);
}

struct ha *ha_start(const struct ha_opts *o, struct store *st, struct cluster *cl,
                    void (*wake)(void *arg), void *arg, char *err, size_t errlen)
{
    struct ha *ha = xcalloc(1, sizeof(*ha));
    int r;

    ha->o = *o;
    ha->o.endpoints = xstrdup(o->endpoints);
    ha->o.prefix = xstrdup(o->prefix);
    ha->o.url = xstrdup(o->url);
    ha->o.hb_host = xstrdup(o->hb_host);
    ha->st = st;
    ha->cl = cl;
    ha->wake = wake;
    ha->wake_arg = arg;
    ha->hb_fd = -1;
    pthread_mutex_init(&ha->mu, NULL);
    pthread_cond_init(&ha->cv, NULL);
    id_random(ha->id, "m", ID_LEN);
    ha->ha_prefix = xasprintf("%s/ha/", o->prefix);
    ha->leader_key = xasprintf("%sleader", ha->ha_prefix);
    ha->member_key = xasprintf("%smembers/%s", ha->ha_prefix, ha->id);
    /* a call no longer than a renewal period, so that the lease is watched
     * while etcd does not answer */
    r = etcd_open(o->endpoints, o->lease_ms / 4, &ha->ctl, err, errlen);
    if (r == 0)
        r = etcd_open(o->endpoints, 1000, &ha->watch, err, errlen);
    if (r == 0)
        r = bind_hb(ha, err, errlen);
    if (r == 0 && o->owners &&
        !(ha->share = share_new(o->owners, st, ha->ha_prefix, ha->id, o->url, o->lease_ms * 3 / 4,
                                err, errlen)))
        r = -EIO;
    if (r == 0 && (r = join(ha)))
        snprintf(err, errlen, "cannot join the cluster: %s", etcd_errmsg(ha->ctl));
    if (r) {
        ha_free(ha);
        return NULL;
    }
    ha->ctl_started = pthread_create(&ha->ctl_th, NULL, ctl_main, ha) == 0;
    ha->watch_started = pthread_create(&ha->watch_th, NULL, watch_main, ha) == 0;
    ha->hb_started = pthread_create(&ha->hb_th, NULL, hb_main, ha) == 0;
    log_info("ha: member %s of %s (lease TTL %u ms, heartbeats every %u ms on udp %s:%u)", ha->id,
             o->prefix, o->lease_ms, o->hb_ms, o->hb_host, o->hb_port);
    return ha;
}

void ha_stop(struct ha *ha)
{
    if (!ha)
        return;
    atomic_store(&ha->stop, true);
    signal_ctl(ha);
    etcd_wake(ha->watch);
    if (ha->ctl_started)
        pthread_join(ha->ctl_th, NULL);
    if (ha->watch_started)
        pthread_join(ha->watch_th, NULL);
    if (ha->hb_started)
        pthread_join(ha->hb_th, NULL);
    /* the member key, and the leader key of a primary, go with the lease:
     * a standby takes over without waiting for it to expire; the sites,
     * marked as given away first, are taken by the others at once */
    if (ha->lease && ha->share)
        share_leave(ha->share, ha->ctl, ha->lease);
    if (ha->lease && revoke_lease(ha, ha->lease) == 0)
        log_info("ha: left the cluster (lease revoked)");
    ha_free(ha);
}
