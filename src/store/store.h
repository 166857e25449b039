/* The record store (F1, F2): tenants, tokens, VNFDs, sites, deployments,
 * VI instances, lifecycle operations (the operation journal), the
 * decisions of the rules engine, SOL003 subscriptions, the outbox of
 * messages to other systems (core/outbox.h), VNF packages and their
 * subscriptions, and the event log.
 *
 * Records are JSON documents keyed by "id"; a few top-level members of each
 * kind are also kept as indexed columns so that lists can be filtered.
 * Members whose name starts with '_' are internal (never shown by the API).
 *
 * One struct store is one handle on a backend and belongs to one thread.
 * The event loop owns the only writer; other threads open reader handles
 * (store_open_reader), which see the last committed transaction and never
 * block the writer. The backend is chosen by the location: a file path is
 * SQLite in WAL mode (the embedded default); etcd://HOST:PORT[,...][/PREFIX]
 * is etcd, which several managers share (one primary writes, docs/HA.md).
 * How backends plug in, and what each guarantees: store_backend.h.
 */
#ifndef VNFM_STORE_H
#define VNFM_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum store_kind {
    STORE_TENANT,
    STORE_TOKEN,
    STORE_VNFD,
    STORE_SITE,
    STORE_DEPLOYMENT,
    STORE_VI,
    STORE_OP,
    STORE_DECISION,
    STORE_SUBSCRIPTION,     /* SOL003 LCCN subscriptions (schema 4) */
    STORE_OUTBOX,           /* messages not yet delivered, by channel and key (schema 5) */
    STORE_JOIN_TOKEN,       /* federation: single-use tokens a branch joins with (schema 6) */
    STORE_MANAGER,          /* federation: the branch managers of the estate (schema 6) */
    STORE_INSTRUCTION,      /* federation: what the cloud asks a branch manager to do (schema 6) */
    STORE_PACKAGE,          /* VNF packages (SOL005 VnfPkgInfo, docs/PACKAGES.md; schema 7) */
    STORE_PKG_SUBSCRIPTION, /* SOL005 VNF package management subscriptions (schema 7) */
    STORE_SCHEDULE,         /* scheduled operations (lcm/schedule.h; schema 8) */
    STORE_KIND_COUNT,
};

struct store;

/* An equality condition on an indexed column of the kind. */
struct store_where {
    const char *column;
    const char *value;
    bool or_null; /* also match records where the column is NULL */
};

struct store_list_opts {
    const struct store_where *where;
    unsigned n_where;
    unsigned limit; /* 0 = no limit */
    unsigned offset;
    bool newest_first;
};

/* Opens (and for a writer creates and migrates) the store at where, a
 * file path for SQLite. Returns 0 and *out, or a negative errno with a
 * message in err (-EPROTONOSUPPORT: no backend for its scheme). A writer
 * keeps the records it reads and writes parsed (store_cache.c), so it must
 * be the only handle that writes the store: one per data dir, every other
 * one a reader. */
int store_open(const char *where, bool readonly, struct store **out, char *err, size_t errlen);
/* A reader handle on the store st writes, for another thread; callable
 * from any thread while st is in use. */
int store_open_reader(struct store *st, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);
/* The schema version this build writes for the store's backend, and the
 * one found in the store. */
int store_schema_version(struct store *st);
int store_disk_version(struct store *st);
/* "sqlite", "etcd". */
const char *store_backend_name(struct store *st);

/* Maintenance of a writer's backend (SQLite: checkpoints of its write-ahead
 * log) is its owner's, so that commits never wait for it: after a commit
 * that makes some due, fn(arg) runs (on the writer's thread, at most once
 * until store_maintain() has ended), and the owner runs store_maintain(st)
 * on another thread, where it may take a while; st stays in use meanwhile,
 * and is closed only after it has returned. */
void store_on_maintenance(struct store *st, void (*fn)(void *arg), void *arg);
int store_maintain(struct store *st);
/* A consistent copy of the store as committed, in the new file path
 * (outside a transaction; -ENOTSUP for a backend without one: etcd). */
int store_snapshot(struct store *st, const char *path);

/* Fencing, for a store that several managers share (etcd): from now on
 * every commit of the writer st is conditional on key (the leader's key
 * of leader election) still having create revision rev, so that a primary
 * that lost its leadership cannot commit (-EPERM); a commit that finds a
 * record changed under it fails too (-ESTALE). Writes marker (who fenced)
 * into the store and returns once st reads every commit made before it,
 * or -ETIMEDOUT after timeout_ms. -EOPNOTSUPP for SQLite. */
int store_fence(struct store *st, const char *key, int64_t rev, const char *marker,
                unsigned timeout_ms);
/* Commits of the writer st fail with -EPERM until store_fence() has
 * succeeded: a standby of a cluster writes nothing. */
void store_require_fence(struct store *st);
/* Whether a commit of st may write at all: false on a member of a cluster
 * that is not its primary (store_require_fence, not fenced). */
bool store_may_write(const struct store *st);
/* Any thread: the fence is lost (leader election found this manager's
 * lease gone). A fenced commit waits for etcd while it does not answer;
 * this makes it, and every later one, fail with -EPERM. */
void store_unfence(struct store *st);
/* fn(arg, err) runs on the writer's thread when a commit failed because
 * the writer may not write any more (-EPERM, -ESTALE above). */
void store_on_lost(struct store *st, void (*fn)(void *arg, int err), void *arg);

int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Inserts or replaces a record; doc must have a string "id". */
int store_put(struct store *st, enum store_kind kind, const json_t *doc);
/* -ENOENT when there was no such record. */
int store_delete(struct store *st, enum store_kind kind, const char *id);
/* *out is a new reference the caller releases; -ENOENT when missing. */
int store_get(struct store *st, enum store_kind kind, const char *id, json_t **out);
/* *out is a new array of records; -EINVAL for a column the kind does not index. */
int store_list(struct store *st, enum store_kind kind, const struct store_list_opts *o,
               json_t **out);
/* Appends to out a JSON array of the public members of the records, as
 * stored: nothing is parsed (the fast path of API lists). */
struct sbuf;
int store_list_public(struct store *st, enum store_kind kind, const struct store_list_opts *o,
                      struct sbuf *out);
/* Number of records matching the conditions, or a negative errno. */
long store_count(struct store *st, enum store_kind kind, const struct store_where *where,
                 unsigned n_where);

/* Small settings of the installation (instance tag, ...). *out is malloc'd. */
int store_meta_get(struct store *st, const char *key, char **out);
int store_meta_set(struct store *st, const char *key, const char *value);

/* Resources held by the VIs of a site (the totals of their indexed vcpu,
 * memory_mb and disk_mb). */
struct store_usage {
    double vcpu;
    long long memory_mb;
    long long disk_mb;
    long long vis;
};
int store_site_usage(struct store *st, const char *site, struct store_usage *u);

/* The event log (seed para 52, F10). */
struct log_query {
    const char *category;
    const char *tag;
    const char *object; /* matches object, deployment, operation or vi */
    const char *level;
    const char *event;
    const char *deployment;
    const char *operation;
    const char *tenant;         /* only this tenant's records (tenant tokens) */
    int64_t since_ms, until_ms; /* 0 = open */
    int64_t after_seq;          /* only records with a larger seq */
    int64_t max_seq;            /* only records up to this seq; 0 = open */
    unsigned limit;             /* 0 = 1000 */
    bool tail;                  /* the newest `limit` records (still oldest first) */
};
/* Appends rec (a log record, see docs/API.md) and sets its "seq". */
int store_log_append(struct store *st, json_t *rec);
int store_log_query(struct store *st, const struct log_query *q, json_t **out);
/* Keeps the newest keep records; returns how many were removed. */
long store_log_prune(struct store *st, long keep);
int64_t store_log_last_seq(struct store *st);

const char *store_kind_name(enum store_kind kind);
/* The last error of this handle's backend, for logs. */
const char *store_errmsg(struct store *st);

#endif
