/* Daemon configuration: command line flags, and a config file whose keys
 * have the same names as the long flags ("listen = 127.0.0.1:8080").
 * Flags win over the file. */
#ifndef VNFM_CONFIG_H
#define VNFM_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdio.h>

#define RESTART_BURST_MAX 30 /* --restart-burst, a VNFD's restart.burst */

struct config {
    char *listen_host;
    unsigned listen_port;
    char *data_dir;
    char *store; /* --store: NULL = DATA_DIR/vnfm.db */
    /* with a shared store (etcd): leader election and heartbeats (ha/ha.h) */
    char *ha_url;    /* this manager's REST URL, as the others hand it out */
    char *ha_listen; /* UDP HOST:PORT of the heartbeats */
    unsigned ha_lease_ms, ha_heartbeat_ms, ha_dead_ms;
    char *standby_for;               /* --standby-for: watched data dirs, ','-separated */
    unsigned standby_heartbeat_ms;   /* between two looks at them */
    unsigned standby_start_grace_ms; /* a manager never answered is starting for this long */
    char *vim_agent;                 /* --vim-agent: the manager's URL (vim/agent/agent.h) */
    char *vim_agent_move;            /* --vim-agent-move: the move that made this agent */
    char *vim_agent_token_file;      /* its token */
    char *vim_agent_ca;              /* the CA of the manager's certificate */
    char *role;                      /* "cloud" or "local" */
    char *site;
    char *admin_token;
    char *vnf_path;     /* ':'-separated dirs put first in the VNFs' PATH */
    char *script_dir;   /* scripts an admin's descriptor names here run unsandboxed; NULL = none */
    char *sandbox_uids; /* "FIRST-LAST" */
    uid_t uid_first, uid_last; /* parsed from it */
    char *subnet;              /* of the default site, CIDR */
    char *site_driver;         /* VIM driver of the default site when it is made */
    double site_vcpu;          /* 0 = from the host */
    long site_memory_mb;
    unsigned site_warm_vis; /* warm VI slots of a new site (its driver's option warm_vis) */
    long site_disk_mb;
    unsigned http_threads;
    /* the REST server's limits (docs/SECURITY.md) */
    unsigned http_max_conns, http_max_conns_per_client;
    unsigned http_request_timeout_s, http_idle_timeout_s;
    char *tls_cert, *tls_key; /* HTTPS only when set (PEM files) */
    unsigned workers;         /* most provisioning workers */
    unsigned workers_min;     /* fewest */
    unsigned log_keep;        /* event log records kept */
    unsigned vim_watchdog_s;
    unsigned monitor_workers_min, monitor_workers_max;
    double monitor_util_low, monitor_util_high; /* band of the monitoring pool's utilization */
    bool metrics_public;                        /* GET /metrics without a token */
    /* Restart of a VNF whose process ended: the defaults of a VNFD's
     * "restart" (docs/VNFD.md, docs/MONITORING.md "Restart on exit") */
    char *restart_policy; /* "always" or "never" */
    unsigned restart_burst, restart_window_s, restart_delay_ms, restart_max_delay_s;
    char *log_level;
    char *config_file;
    char *cleanup; /* --cleanup TAG: remove what a dead instance left, then exit */
    bool fault_injection;
    char *callback_base;           /* absolute URL that relative Callback headers resolve against */
    char *tenant_destinations;     /* --tenant-destinations: what tenants' callbacks may reach */
    unsigned tenant_deny;          /* the rest of it: HTTPC_DENY_* (util/httpc.h) */
    unsigned outbox_key_max;       /* outbox entries kept per destination (core/outbox.h) */
    unsigned outbox_max;           /* outbox entries kept in all */
    unsigned sol_page_size;        /* SOL003/SOL005 list pages (SOL013 5.4); 0: no paging */
    unsigned schedules_per_tenant; /* scheduled operations a tenant may have waiting */
    char **vim_connections;        /* "VIMID=SITE": an NFVO's VIM ids that are our sites */
    size_t n_vim_connections;
    char *vim_connection_policy; /* "registered" (default) or "any" */
    /* VNF packages (docs/PACKAGES.md) */
    unsigned package_max_mb; /* largest upload */
    char **package_uris;     /* prefixes of the URIs packages may be fetched from */
    size_t n_package_uris;   /* (an OPT_LIST's count follows its list) */
    char *package_scripts;   /* their LCM scripts (absolute), or NULL: DATA_DIR-package-scripts */
    char *package_trust;     /* PEM certificates that vouch for signed packages, or NULL */
    bool package_unsigned;   /* unsigned packages are on-boarded too */
    /* NETCONF northbound interface (docs/NETCONF.md) */
    bool netconf;          /* --netconf, or implied by --netconf-listen */
    char *netconf_host;    /* default 127.0.0.1 */
    unsigned netconf_port; /* default 830 (RFC 6242) */
    char **netconf_users;  /* "NAME:PASSWORD_OR_PUBKEY_FILE[:TENANT]", repeatable */
    size_t n_netconf_users;
    char *netconf_host_key;   /* default DATA_DIR/netconf_host_key */
    unsigned netconf_threads; /* session polling threads */
    /* The estate (docs/FEDERATION.md) */
    char *cloud_url;           /* local role: the cloud VNFM this branch manager joins */
    char *join_token;          /* local role: the single-use token of the first join */
    char *cloud_ca;            /* local role: CA certificates the cloud's is checked with */
    char *cluster_ca;          /* cloud role: CA certificates the other members' are checked with */
    bool fed_insecure;         /* plain http:// to the cloud (debugging only) */
    unsigned fed_report_ms;    /* report interval: a cloud's tells its branches; 0 on a branch: its
                                  cloud's */
    unsigned fed_missed;       /* cloud role: missed reports before a manager is unreachable */
    unsigned fed_move_stage_s; /* cloud role: a stage of a manager's move, at most */
    unsigned fed_wan_probe_s;  /* local role: a bulk probe of the WAN this often; 0: none */
    unsigned fed_wan_probe_kib; /* its size */
    /* a cloud VNFM of a cluster on etcd scales itself (fed/cloud_scale.c) */
    unsigned cloud_scale_max;   /* the most instances; 0: it does not scale */
    double cloud_scale_out_rps; /* branch reports/s over which one more is started */
    double cloud_scale_in_rps;  /* under which one it started is stopped */
    double cloud_scale_out_cpu, cloud_scale_in_cpu;     /* its CPU, in cores */
    double cloud_scale_out_dps, cloud_scale_in_dps;     /* decisions per second */
    double cloud_scale_out_queue, cloud_scale_in_queue; /* requests waiting at once, at most */
    unsigned cloud_scale_for_s;                         /* for this long in a row (default 10) */
    double cloud_scale_vcpu; /* an instance's cgroup limits (default 1 vCPU, 512 MB) */
    unsigned cloud_scale_memory_mb;
    char *manager_load_weights; /* "PART=W,...": weights of a manager's load (fed/load.c) */
    char *manager_cgroup;       /* local role: its own cgroup under vnfm/ (a child manager) */
    char *site_ledger;          /* local role: the site's ledger on this host (lcm/ledger.h) */
    char *service_address;      /* local role: the address of service endpoints (fed/endpoint.c) */
};

/* Parses argv (and the file named by --config). Returns 0, 1 when the
 * program should exit successfully (--help, --version), or -1 after
 * printing an error. */
int config_parse(struct config *cfg, int argc, char **argv);
void config_done(struct config *cfg);
/* Whether --store names a store that several managers share (etcd). */
bool config_shared_store(const struct config *cfg);
void config_usage(FILE *out);

#endif
