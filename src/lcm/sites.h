/* Sites (F1 resource records, F7): each has one VIM driver, a subnet for its
 * VIs, a capacity, and what its VIs hold. The manager's own site is created
 * from the command line at first start; others are added through the API. */
#ifndef VNFM_SITES_H
#define VNFM_SITES_H

#include "core/core.h"
#include "vim/vim.h"

struct site_rt {
    char id[ID_BUF_MAX];
    const struct vim_ops *ops;
    void *vim; /* driver state; NULL when the driver could not be opened */
    uint32_t net, gateway;
    unsigned prefix_len;
    char bridge[16];
    enum vim_health health;
    char health_msg[VIM_ERR_MAX];
    bool checking;
};

/* Creates the default site record if needed and opens every site's driver.
 * Runs before the loop starts. Returns 0 or -errno after logging. */
int sites_init(struct core *c);
void sites_close(struct core *c);
struct site_rt *site_get(struct core *c, const char *id);
/* Starts a VIM self check of every site on the provisioning pool. */
void sites_check_all(struct core *c);

/* The lowest free address of the site's subnet. -ENOSPC when full. */
int site_alloc_ip(struct core *c, struct site_rt *s, uint32_t *ip);
/* Fails r with 409 insufficient-capacity when the request does not fit. */
int site_admit(struct core *c, const char *site, double vcpu, long long memory_mb,
               long long disk_mb, struct result *r);
/* Site record for the API, with allocation, free capacity and VIM health. */
json_t *site_view(struct store *st, const json_t *doc, const char *health, const char *msg);
const char *vim_health_name(enum vim_health h);

#endif
