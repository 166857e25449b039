/* Sites (F1 resource records, F7): each has one VIM driver, a capacity, and
 * for a driver that takes the site's addresses (vim.h VIM_ADDR_SITE) a
 * subnet and a network on the host; what its VIs hold is in the store. The
 * manager's own site is made from the command line at first start
 * (--site-driver, --subnet, ...); others through POST /v0/sites.
 *
 * The loop owns the sites: it opens their drivers (on a worker, but at
 * start-up), checks them and changes them. Other threads (REST, the
 * monitor, NETCONF) read them from a snapshot: an immutable, refcounted
 * list the loop replaces whenever a site changes. A driver stays open until
 * the manager stops, so what a snapshot points at outlives it. */
#ifndef VNFM_SITES_H
#define VNFM_SITES_H

#include "core/core.h"
#include "vim/vim.h"

/* A site as the loop knows it (loop thread only). */
/* What a site holds beside its VIs: the managers started there
 * (fed/spawn.c), each with its cgroup's CPU and memory limits. */
struct site_reserved {
    double vcpu;
    long long memory_mb;
    unsigned managers;
};

struct site_rt {
    char id[ID_BUF_MAX];
    struct site_reserved reserved; /* the managers started here */
    /* what the site's other managers hold (their VIs and the managers
     * they started; managers: how many): the cloud's figures of them (a
     * report interval late), each replaced by the site ledger's where it
     * has the manager (lcm/ledger.h: those of this host, at once) */
    struct site_reserved others;
    struct site_reserved cloud; /* the cloud's sum of them */
    json_t *cloud_by;           /* the cloud's figure of each: tag -> {vcpu, memory_mb}, or NULL */
    const struct vim_ops *ops;  /* NULL: the record names no known driver */
    void *vim;                  /* driver state; NULL until the driver opened */
    uint32_t net, gateway;      /* VIM_ADDR_SITE: the subnet */
    unsigned prefix_len;
    char bridge[16];
    enum vim_health health;
    char health_msg[VIM_ERR_MAX];
    bool opening;       /* made by a request, its driver not tried yet */
    bool busy;          /* a check, an open or a change of options is under way */
    bool recover_later; /* its recovery waits for the VIM to answer (recovery.h) */
};

/* What other threads see of a site. */
struct site_info {
    char id[ID_BUF_MAX];
    const struct vim_ops *ops; /* NULL: unknown driver */
    void *vim;                 /* NULL: not open; else valid while the manager runs */
    const char *health;        /* "ok", "unreachable", "no-credentials", "opening" */
    char health_msg[VIM_ERR_MAX];
    struct site_reserved reserved, others;
};

struct sites_snap {
    int refs; /* atomic */
    size_t n;
    struct site_info sites[]; /* by id */
};

/* Creates the default site record if needed and opens every site's driver.
 * Runs before the loop starts. Returns 0 or -errno after logging. */
int sites_init(struct core *c);
/* Closes the drivers, once no other thread reads the sites any more. */
void sites_close(struct core *c);
struct site_rt *site_get(struct core *c, const char *id);
/* Calls fn for every site (loop thread, or start-up). */
void sites_each(struct core *c, void (*fn)(struct core *c, struct site_rt *s));
/* Adds the site of record doc with a driver given as it is, open (a test's
 * scripted driver, which the registry does not have). */
void sites_attach(struct core *c, const json_t *doc, const struct vim_ops *ops, void *vim);
/* Starts a VIM self check of every open site, and an open of every site
 * whose driver did not open yet, on the provisioning pool. */
void sites_check_all(struct core *c);

/* The current snapshot (any thread), held until sites_snap_put(). */
const struct sites_snap *sites_snap_get(struct core *c);
void sites_snap_put(const struct sites_snap *s);
const struct site_info *sites_snap_find(const struct sites_snap *s, const char *id);

/* The lowest free address of the site's subnet. -ENOSPC when full. */
int site_alloc_ip(struct core *c, struct site_rt *s, uint32_t *ip);
/* Set what the site holds beside this manager's VIs (loop thread): the
 * managers started here, and what its other managers hold as the cloud
 * added it up (r; by: each manager's figure by its instance tag, or NULL).
 * Both are counted by site_admit and shown by site_view. */
void site_reserve(struct core *c, const char *site, const struct site_reserved *r);
void site_others(struct core *c, const char *site, const struct site_reserved *r, const json_t *by);
/* Once a second (loop thread): this manager's entry in its site's ledger
 * written again, and the others' read; sites_check_waiting. */
void sites_tick(struct core *c);
/* The sites whose VIs wait for their VIM (an agent that has not dialed in
 * yet, lcm/recovery.h) checked (loop thread): every tick, and at the
 * start, so that they are adopted as soon as the VIM answers (an agent's
 * check waits a moment for it). */
void sites_check_waiting(struct core *c);
json_t *site_reserved_json(const struct site_reserved *r);
/* What a site holds beside this manager's VIs: reserved and others added. */
struct site_reserved site_held(const struct site_reserved *reserved,
                               const struct site_reserved *others);
/* Fails r with 409 insufficient-capacity when the request does not fit in
 * the site's capacity less what its VIs hold and what is reserved. */
int site_admit(struct core *c, const char *site, double vcpu, long long memory_mb,
               long long disk_mb, struct result *r);
/* Site record for the API: allocation, free capacity, VIM health, and what
 * the driver shows (info may be NULL: health unknown). */
json_t *site_view(struct store *st, const json_t *doc, const struct site_info *info);
/* Whether the site record doc is a branch's on a cloud VNFM (kind
 * "branch"): its manager runs it, this one opens no driver for it. */
bool site_is_branch(const json_t *doc);
const char *vim_health_name(enum vim_health h);

/* The options of a site of driver ops checked against its table (vim.h
 * site_options); errors name "options.NAME". */
int site_check_options(const struct vim_ops *ops, const json_t *options, struct jv_error *err);
/* After the commit that made site doc: it joins the running sites and its
 * driver opens on a worker. */
void site_add(struct core *c, const json_t *doc);
/* After the commit that changed site id's options: its driver takes them
 * on a worker. */
void site_configure(struct core *c, const char *id);

#endif
