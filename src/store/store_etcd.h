/* Shared between the files of the etcd backend: store_etcd_copy.c (the
 * in-memory copy of the store, fed by a watch) and store_etcd.c (the
 * handles: transactions, reads, the event log).
 *
 * Keys, under the location's prefix P (etcd://HOST:PORT,.../P, "vnfm" by
 * default):
 *
 *   P/d/r/TABLE/ID   a record: {"o": ORD, "d": DOC}; ORD is its place in
 *                    lists (kept by a rewrite, a new one when written again
 *                    after a delete)
 *   P/d/m/KEY        a meta value (text)
 *   P/d/l/SEQ        an event log record (JSON), SEQ zero-padded to 20
 *   P/d/s            the highest seq ever pruned (seqs go on from it)
 *   P/d/v            the schema version
 *   P/d/p            the primary that fenced the store last (its marker)
 *
 * Everything under P/d/ is the store, and the copy watches exactly that;
 * leader election (ha/) keeps its keys under P/ha/.
 */
#ifndef VNFM_STORE_ETCD_H
#define VNFM_STORE_ETCD_H

#include "store/store_backend.h"
#include "util/etcd.h"

#include <pthread.h>
#include <stdatomic.h>

#define ETCD_SCHEMA 1

/* A record version: immutable once in the copy, shared by reference with
 * readers' snapshots. */
struct erec {
    atomic_int ref;
    enum store_kind kind;
    int64_t ord;
    int64_t mod_rev;          /* etcd's mod_revision; 0 while only staged */
    json_t *doc;              /* the whole record */
    char *pub;                /* its public members, serialized */
    struct erec *prev, *next; /* the copy's list of the kind, by ord */
    char id[];
};

struct ekind {
    struct hmap ids; /* id -> struct erec */
    struct erec *head, *tail;
    size_t n;
};

#define ELOG_FIELDS 8 /* level, category, event, tenant, object, deployment, operation, vi */

struct elog {
    int64_t seq, ts;
    char *f[ELOG_FIELDS];
    char *tags; /* ",a,b," or NULL */
    char *text; /* the record as JSON */
};

struct emeta {
    char *value;
    int64_t mod_rev;
};

/* What the copy holds: the store at revision rev. */
struct edata {
    struct ekind k[STORE_KIND_COUNT];
    struct hmap meta; /* key -> struct emeta */
    struct elog **log;
    size_t log_start, log_end, log_cap; /* live entries are [log_start, log_end) */
    int64_t log_floor;                  /* the highest seq pruned */
    int64_t ord_max;
    int version;
};

/* One per store opened: shared by the handle that opened it and its readers. */
struct ecopy {
    pthread_rwlock_t lock; /* over data and rev */
    struct edata data;
    int64_t rev;
    atomic_int refs;
    char *endpoints;
    char *prefix; /* "P/d/" */
    /* the watch */
    pthread_t th;
    bool th_started;
    struct etcd *wc;
    atomic_bool stop;
    pthread_mutex_t mu; /* with cv: a new revision, or stop */
    pthread_cond_t cv;
    atomic_bool connected;
    char werr[256]; /* why the watch is down (under mu) */
};

/* A record the writer's open transaction wrote. */
struct estage {
    struct erec *rec; /* the new version, or NULL: deleted */
    int64_t live_rev; /* the copy's mod_revision of it when first staged (0: none) */
};

struct emstage {
    char *value;
    int64_t live_rev;
};

/* A reader's transaction: the copy as it was at its begin. */
struct esnap {
    struct erec **recs[STORE_KIND_COUNT];
    size_t n[STORE_KIND_COUNT];
    struct hmap ids[STORE_KIND_COUNT]; /* made at the first get of the kind */
    bool indexed[STORE_KIND_COUNT];
    struct hmap meta; /* key -> char * */
    int64_t last_seq; /* the log records it sees are those up to it */
};

struct eh {
    struct ecopy *cp;
    bool writer;
    struct etcd *cl;  /* the writer's commits */
    struct etcd *mcl; /* maintenance's client, on its thread */
    /* the writer's open transaction */
    bool in_tx;
    struct hmap staged[STORE_KIND_COUNT]; /* id -> struct estage */
    size_t n_staged[STORE_KIND_COUNT];
    struct hmap mstaged; /* key -> struct emstage */
    struct elog **logs;  /* appended, in seq order */
    size_t n_logs;
    int64_t prune_upto; /* the copy's log records up to this seq go; 0: none */
    int64_t ord_last;
    /* fencing: commits require key fence_key to have create revision fence_rev */
    char *fence_key;
    int64_t fence_rev;
    atomic_bool unfenced; /* store_unfence: the fence is lost */
    char uid[16];         /* this handle, in transaction markers */
    uint64_t txn_no;      /* its transactions */
    char txn_mark[40];    /* the marker of the one being sent */
    unsigned commits;     /* since the last compaction was asked for */
    int64_t compacted;
    struct esnap *snap; /* a reader's open transaction */
    char err[256];
};

/* ---- shared by store_etcd.c and store_etcd_log.c ---- */

/* Sets the handle's error message; returns r. */
int eh_fail(struct eh *h, int r, const char *fmt, const char *arg);
/* The highest seq the data has seen (appended or pruned). */
int64_t edata_last_seq(const struct edata *d);

int ee_log_append(void *be, json_t *rec);
int ee_log_query(void *be, const struct log_query *q, json_t **out);
long ee_log_prune(void *be, long keep);
int64_t ee_log_last_seq(void *be);

/* Opens the copy of the store at prefix on endpoints: loads it, then keeps
 * it current from a watch thread. */
int ecopy_open(const char *endpoints, const char *prefix, struct ecopy **out, char *err,
               size_t errlen);
struct ecopy *ecopy_ref(struct ecopy *cp);
void ecopy_unref(struct ecopy *cp);
/* Waits until the copy reflects revision rev; -ETIMEDOUT. */
int ecopy_wait(struct ecopy *cp, int64_t rev, unsigned timeout_ms);

/* Under the write lock: what a commit at revision rev changed, applied by
 * the writer itself (the watch then skips that revision). */
void ecopy_put_rec(struct edata *d, struct erec *r);
void ecopy_del_rec(struct edata *d, enum store_kind kind, const char *id);
void ecopy_put_meta(struct edata *d, const char *key, const char *value, int64_t mod_rev);
void ecopy_add_log(struct edata *d, struct elog *l);
/* Removes the log records with seq <= upto. */
void ecopy_prune_log(struct edata *d, int64_t upto);
/* The index of the first live log record with seq > seq. */
size_t ecopy_log_after(const struct edata *d, int64_t seq);

/* Record versions. */
struct erec *erec_new(enum store_kind kind, const char *id, json_t *doc, int64_t ord);
struct erec *erec_ref(struct erec *r);
void erec_unref(struct erec *r);
/* A log entry of the record rec (its text, with seq and time set). */
struct elog *elog_new(const char *text);
void elog_free(struct elog *l);

#endif
