/* Shared by the files of the NETCONF server (netconf.c, nc_data.c,
 * nc_edit.c). */
#ifndef VNFM_NC_INTERNAL_H
#define VNFM_NC_INTERNAL_H

#include "netconf/netconf.h"
#include "core/txq.h"

#include <libyang/libyang.h>
#include <nc_server.h>

#define NC_NS_VNFM "urn:vnfm:params:xml:ns:yang:vnfm"
#define NC_NS_ESC  "http://www.cisco.com/esc/esc" /* seed Table 1, line 7 */

/* An rpc-error to answer (RFC 6241 4.3). */
struct nc_error {
    NC_ERR tag;
    NC_ERR_TYPE type;
    char path[512];     /* error-path, or empty */
    char message[512];  /* error-message */
    char app_tag[64];   /* error-app-tag, or empty */
    char bad_elem[128]; /* error-info bad-element, or empty */
    char bad_ns[128];   /* error-info bad-namespace, or empty */
    uint32_t sid;       /* error-info session-id (lock-denied) */
};

/* Fills e and returns -1 (for `return nc_fail(...)`). */
int nc_fail(struct nc_error *e, NC_ERR tag, NC_ERR_TYPE type, const char *path, const char *fmt,
            ...) __attribute__((format(printf, 5, 6)));
/* The rpc-error data node of e (in ctx). */
struct lyd_node *nc_error_node(const struct ly_ctx *ctx, const struct nc_error *e);

/* The session's side of a NETCONF session. */
struct ncs {
    struct netconf *srv;
    struct nc_session *ns;
    uint32_t id;
    char user[64];
    struct principal who;
    /* RFC 5277 subscription, under the server's mutex */
    bool subscribed; /* create-subscription accepted */
    bool live;       /* its reply has gone out: notifications may follow */
    bool replay;     /* replay from the store first (startTime) */
    int64_t start_ms, stop_ms;
    int64_t after_seq;       /* live notifications after this event-log seq */
    struct lyd_node *filter; /* subtree filter (copy), or NULL */
    struct ncs *next;        /* in the server's session list */
};

/* Thread-safe server services for the RPC handlers (netconf.c). */
struct ly_ctx *nc_ctx(struct netconf *n);
struct core *nc_core(struct netconf *n);
/* The calling thread's read-only store handle, or NULL. */
struct store *nc_store(struct netconf *n);
/* Submits t to the transactor and waits for its result, which is moved to
 * *res (and a batch's failed part to *failed_part, when not NULL). t is
 * consumed. -ECANCELED when the manager stops first. */
int nc_submit(struct netconf *n, struct txn *t, struct result *res, long *failed_part);
/* Remembers that an object came in through the esc_datamodel of Table 1,
 * so that its events are also sent as escEvent (Table 2). */
void nc_mark_compat(struct netconf *n, const char *object);
/* 0, or -EBUSY with the holder's session id when another session holds the
 * lock of running (RFC 6241 7.5; the transactor's, core/txq.h). */
int nc_lock_check(struct netconf *n, uint32_t sid, uint32_t *holder);

/* The subtree filter of a get, get-config or create-subscription: *out is
 * its content (owned by rpc) or NULL when there is none. */
int nc_get_filter(struct lyd_node *rpc, const char *rpc_path, const struct lyd_node **out,
                  struct nc_error *e);

/* The guard in front of libyang's parser of messages (nc_guard.c): call
 * before any session; -ENOSYS when libyang's own parser is not found. */
int nc_guard_init(void);

/* RPC handlers (nc_data.c, nc_edit.c). */
struct nc_server_reply *ncr_get(struct lyd_node *rpc, struct nc_session *ns);
struct nc_server_reply *ncr_edit(struct lyd_node *rpc, struct nc_session *ns);
struct nc_server_reply *ncr_validate(struct lyd_node *rpc, struct nc_session *ns);

/* Data (nc_data.c). */
/* Builds the running datastore as seen by who: configuration only, or with
 * operational data (get). *out is a new tree the caller frees. */
int ncd_build(struct netconf *n, struct store *st, const struct principal *who, bool state,
              struct lyd_node **out);
/* Applies an RFC 6241 6 subtree filter (the first of its sibling nodes) to
 * data and returns the selected part as a new tree (NULL when nothing). */
struct lyd_node *ncd_filter(const struct lyd_node *filter, const struct lyd_node *data);
/* The vnfm-event notification of a log record. */
struct lyd_node *ncd_event_notif(struct ly_ctx *ctx, const json_t *rec);
/* The escEvent notification (Table 2) of a log record. */
struct lyd_node *ncd_esc_notif(struct ly_ctx *ctx, const json_t *rec);

/* edit-config and validate (nc_edit.c). */
enum nce_mode { NCE_APPLY, NCE_TEST_ONLY };
/* error-option (RFC 6241 7.2): stop-on-error, continue-on-error,
 * rollback-on-error (every request in one transaction: all or nothing). */
enum nce_errmode { NCE_STOP, NCE_CONTINUE, NCE_ROLLBACK };
/* Applies the <config> content cfg (the value of the anyxml node) as s;
 * default_op is "merge", "replace" or "none". Errors are added to reply
 * errors in *errs (an array of struct nc_error the caller frees). Returns
 * the number of errors. */
size_t nce_edit(struct ncs *s, const struct lyd_node *cfg, const char *default_op,
                enum nce_mode mode, enum nce_errmode errmode, struct nc_error **errs);

#endif
