#include "core/config.h"
#include "core/version.h"
#include "util/httpc.h"
#include "util/mem.h"
#include "vim/vim.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_type {
    OPT_STR,
    OPT_UINT,
    OPT_DOUBLE,
    OPT_LONG,
    OPT_BOOL,
    OPT_LISTEN,
    OPT_NC_LISTEN,
    OPT_LIST
};

struct opt {
    const char *name;
    enum opt_type type;
    size_t offset;
    const char *arg;
    const char *help;
};

#define O(f) offsetof(struct config, f)

/* The options, in the order --help shows them. */
static const struct opt opts[] = {
    {"listen", OPT_LISTEN, 0, "HOST:PORT", "REST API address (default 127.0.0.1:8080)"},
    {"data-dir", OPT_STR, O(data_dir), "DIR",
     "store, VI work dirs and admin.token (default ./var)"},
    {"store", OPT_STR, O(store), "LOCATION",
     "where the records are: a file (default DIR/vnfm.db, SQLite) or "
     "etcd://HOST:PORT[,HOST:PORT...][/PREFIX], shared by the primary and its standbys "
     "(docs/HA.md)"},
    {"ha-url", OPT_STR, O(ha_url), "URL",
     "with etcd: the REST URL the other managers give clients for this one (default "
     "http://LISTEN)"},
    {"ha-listen", OPT_STR, O(ha_listen), "HOST:PORT",
     "with etcd: UDP address of the direct heartbeats (default: the --listen address)"},
    {"ha-lease-ms", OPT_UINT, O(ha_lease_ms), "MS",
     "with etcd: TTL of this manager's lease; a primary cut off from etcd this long steps down "
     "(default 3000)"},
    {"ha-heartbeat-ms", OPT_UINT, O(ha_heartbeat_ms), "MS",
     "with etcd: between two heartbeats of a standby to the primary (default 100)"},
    {"ha-dead-ms", OPT_UINT, O(ha_dead_ms), "MS",
     "with etcd: a primary that answers no heartbeat this long (or whose port is closed) is "
     "taken over at once (default 1000)"},
    {"standby-for", OPT_STR, O(standby_for), "DIR[,DIR...][,@FILE]",
     "a hot standby of the managers whose data dirs these are (and those FILE lists, one a "
     "line): acts only once one of them has died (its lock is free) or stopped answering its "
     "health check for two heartbeats (then killed), and becomes that manager "
     "(docs/FEDERATION.md \"Standby managers\")"},
    {"standby-heartbeat-ms", OPT_UINT, O(standby_heartbeat_ms), "MS",
     "with --standby-for: between two looks at the watched managers (default 1000)"},
    {"standby-start-grace-ms", OPT_UINT, O(standby_start_grace_ms), "MS",
     "with --standby-for: a manager that has never answered its health check is taken as "
     "starting for this long after it recorded its pid, then fenced as a hung one (default "
     "90000)"},
    {"vim-agent", OPT_STR, O(vim_agent), "URL",
     "run as the VIM agent of this host for the site --site of the manager at URL, whose VIM "
     "is `agent`: dials out to it, and runs the VIs it asks for with this host's process VIM "
     "(its VIs' directories in --data-dir; docs/VIM_AGENT.md)"},
    {"vim-agent-token-file", OPT_STR, O(vim_agent_token_file), "FILE",
     "with --vim-agent: the agent's token, on the file's first line (the site's option "
     "token_sha256 is its SHA-256)"},
    {"vim-agent-ca", OPT_STR, O(vim_agent_ca), "FILE",
     "with --vim-agent: CA certificates the manager's certificate is checked against (https)"},
    {"vim-agent-move", OPT_STR, O(vim_agent_move), "ID",
     "with --vim-agent: this agent was the branch manager of --data-dir, moved to the cloud "
     "by move ID (docs/FEDERATION.md \"Moving a branch manager to the cloud\"): until the "
     "moved manager opens its VIM, the agent asks the cloud how the move stands, and starts "
     "the manager again as it was if it was rolled back; set by the manager itself"},
    {"role", OPT_STR, O(role), "cloud|local",
     "run as cloud VNFM or local (branch) VNFM (default local)"},
    {"site", OPT_STR, O(site), "NAME", "name of this manager's site (default local)"},
    {"admin-token", OPT_STR, O(admin_token), "TOKEN",
     "admin bearer token (default: generated into DIR/admin.token)"},
    {"vnf-path", OPT_STR, O(vnf_path), "DIRS",
     "':'-separated dirs searched first for VNF commands"},
    {"script-dir", OPT_STR, O(script_dir), "DIR",
     "scripts here named by an admin's VNFD or rules run with the manager's rights (default: "
     "none; every script runs sandboxed)"},
    {"sandbox-uids", OPT_STR, O(sandbox_uids), "FIRST-LAST",
     "uids (and gids) given to VIs and tenants, one each (default 1879048192-1879113727)"},
    {"subnet", OPT_STR, O(subnet), "CIDR", "network of the site's VIs (default 10.77.0.0/24)"},
    {"site-vcpu", OPT_DOUBLE, O(site_vcpu), "N",
     "vCPU capacity of a new site (default: host CPUs)"},
    {"site-memory-mb", OPT_LONG, O(site_memory_mb), "MB",
     "memory capacity of a new site (default: host)"},
    {"site-disk-mb", OPT_LONG, O(site_disk_mb), "MB",
     "disk capacity of a new site (default: free space)"},
    {"site-driver", OPT_STR, O(site_driver), "NAME",
     "VIM driver of a new site: proc (processes in namespaces and cgroups, the default) or sim "
     "(a simulated VIM: docs/VIM_SIM.md)"},
    {"site-warm-vis", OPT_UINT, O(site_warm_vis), "N",
     "VIs a new site keeps made in advance for fast deploys (option warm_vis; default 2)"},
    {"http-threads", OPT_UINT, O(http_threads), "N", "REST server threads (default 2)"},
    {"http-max-conns", OPT_UINT, O(http_max_conns), "N",
     "REST connections in all; at the limit the oldest idle one is closed (default 4096)"},
    {"http-max-conns-per-client", OPT_UINT, O(http_max_conns_per_client), "N",
     "REST connections of one client address (IPv6: its /64); more are refused (default 256)"},
    {"http-request-timeout-s", OPT_UINT, O(http_request_timeout_s), "S",
     "a request must arrive whole within S seconds of its first byte, and a new connection "
     "must send one as soon (default 10)"},
    {"http-idle-timeout-s", OPT_UINT, O(http_idle_timeout_s), "S",
     "an idle kept-alive REST connection is closed after S seconds (default 60)"},
    {"tls-cert", OPT_STR, O(tls_cert), "FILE",
     "serve the REST API over HTTPS only, with this PEM certificate (chain) (docs/SECURITY.md)"},
    {"tls-key", OPT_STR, O(tls_key), "FILE", "the PEM private key of --tls-cert"},
    {"workers", OPT_UINT, O(workers), "N",
     "most provisioning worker threads (default 8; the pool is sized by its load)"},
    {"workers-min", OPT_UINT, O(workers_min), "N",
     "fewest provisioning worker threads (default 2, at most --workers)"},
    {"log-keep", OPT_UINT, O(log_keep), "N", "event log records kept (default 100000)"},
    {"vim-watchdog-s", OPT_UINT, O(vim_watchdog_s), "S",
     "VIM manager counts as down when all workers are stuck this long (default 30)"},
    {"monitor-workers-min", OPT_UINT, O(monitor_workers_min), "N",
     "fewest monitoring workers for blocking probes (default 1)"},
    {"monitor-workers-max", OPT_UINT, O(monitor_workers_max), "N",
     "most monitoring workers (default 16)"},
    {"monitor-util-low", OPT_DOUBLE, O(monitor_util_low), "F",
     "monitoring pool shrinks below this utilization, 0..1 (default 0.3)"},
    {"monitor-util-high", OPT_DOUBLE, O(monitor_util_high), "F",
     "monitoring pool grows above this utilization, 0..1 (default 0.8)"},
    {"restart-policy", OPT_STR, O(restart_policy), "always|never",
     "restart a VNF whose process ended, unless its VNFD says (default always)"},
    {"restart-burst", OPT_UINT, O(restart_burst), "N",
     "deaths of a VNF restarted at once within the window (default 3)"},
    {"restart-window-s", OPT_UINT, O(restart_window_s), "S",
     "the window of the burst, and how long a VNF runs to end its backoff (default 60)"},
    {"restart-delay-ms", OPT_UINT, O(restart_delay_ms), "MS",
     "first wait of a restart past the burst, doubling each time (default 1000)"},
    {"restart-max-delay-s", OPT_UINT, O(restart_max_delay_s), "S",
     "longest wait of a restart past the burst (default 60)"},
    {"metrics-public", OPT_BOOL, O(metrics_public), NULL,
     "serve GET /metrics without a token (for Prometheus scrapers)"},
    {"log-level", OPT_STR, O(log_level), "LEVEL", "error, warn, info or debug (default info)"},
    {"config", OPT_STR, O(config_file), "FILE", "read options from FILE (key = value lines)"},
    {"cleanup", OPT_STR, O(cleanup), "TAG",
     "remove what the dead manager instance TAG left on this host (its VIs' namespaces, "
     "interfaces and cgroups, its bridges), then exit; refused while it or its VNFs run"},
    {"enable-fault-injection", OPT_BOOL, O(fault_injection), NULL,
     "allow POST /v0/debug/faults (tests only)"},
    {"callback-base", OPT_STR, O(callback_base), "URL",
     "where a relative Callback header (seed Table 3: 'Callback: /path') is sent (default: "
     "http://CLIENT-ADDRESS)"},
    {"tenant-destinations", OPT_STR, O(tenant_destinations), "LIST",
     "what a tenant's callbacks, SOL003 subscriptions and webhooks may reach besides public "
     "addresses: 'none' (default) or a comma list of loopback, link-local, private; 'all'"},
    {"outbox-key-max", OPT_UINT, O(outbox_key_max), "N",
     "notifications and callbacks kept undelivered per destination; beyond, the oldest is "
     "dropped (default 1000)"},
    {"outbox-max", OPT_UINT, O(outbox_max), "N",
     "notifications and callbacks kept undelivered in all (default 20000)"},
    {"schedules-per-tenant", OPT_UINT, O(schedules_per_tenant), "N",
     "scheduled operations a tenant may have waiting (docs/API.md; default 1000)"},
    {"sol-page-size", OPT_UINT, O(sol_page_size), "N",
     "entries per page of SOL003/SOL005 lists (SOL013 5.4; default 100; 0: no paging, and a "
     "list longer than 10000 is refused)"},
    {"vim-connection", OPT_LIST, O(vim_connections), "VIMID=SITE",
     "an NFVO's VIM connection (its vimId in SOL003 vimConnectionInfo) that is site SITE here "
     "(repeatable; docs/SOL003.md)"},
    {"vim-connection-policy", OPT_STR, O(vim_connection_policy), "registered|any",
     "vimConnectionInfo an NFVO passes: only site names and --vim-connection ids (registered, "
     "the default), or any id, kept as given (any)"},
    {"package-max-mb", OPT_UINT, O(package_max_mb), "MB",
     "largest VNF package an upload may be (docs/PACKAGES.md; default 1024)"},
    {"package-scripts", OPT_STR, O(package_scripts), "DIR",
     "where the LCM scripts of VNF packages are written, outside the data dir so that "
     "sandboxed scripts see them (default DATA_DIR-package-scripts)"},
    {"package-uri", OPT_LIST, O(package_uris), "PREFIX",
     "VNF packages may be fetched from URIs that start with PREFIX (upload_from_uri; "
     "repeatable; default: from none)"},
    {"package-trust", OPT_STR, O(package_trust), "FILE",
     "certificates (PEM: CAs, or signers' own) that vouch for signed VNF packages (SOL004 "
     "security option 1: the manifest's CMS signature; default: none, a signed package is "
     "refused)"},
    {"package-unsigned", OPT_BOOL, O(package_unsigned), NULL,
     "on-board VNF packages without a signature too (default: refused)"},
    {"netconf", OPT_BOOL, O(netconf), NULL, "serve NETCONF over SSH (docs/NETCONF.md)"},
    {"netconf-listen", OPT_NC_LISTEN, 0, "HOST:PORT",
     "NETCONF address; implies --netconf (default 127.0.0.1:830)"},
    {"netconf-user", OPT_LIST, O(netconf_users), "NAME:SECRET[:TENANT]",
     "NETCONF user (repeatable); SECRET is a password, or a public key file when it starts "
     "with '/' or '.'; without TENANT the user is an admin"},
    {"netconf-host-key", OPT_STR, O(netconf_host_key), "FILE",
     "SSH host key (default: generated into DIR/netconf_host_key)"},
    {"netconf-threads", OPT_UINT, O(netconf_threads), "N", "NETCONF session threads (default 2)"},
    {"cloud-url", OPT_STR, O(cloud_url), "URL[,URL...]",
     "--role local: the cloud VNFM this branch manager joins and reports to "
     "(docs/FEDERATION.md); several: the managers of one cloud cluster (docs/HA.md)"},
    {"join-token", OPT_STR, O(join_token), "TOKEN",
     "--role local: the single-use token of the first join (vnfmctl join-token create); a "
     "restart needs none"},
    {"cloud-ca", OPT_STR, O(cloud_ca), "FILE",
     "--role local: CA certificates the cloud's certificate is checked against"},
    {"cluster-ca", OPT_STR, O(cluster_ca), "FILE",
     "--role cloud on a shared store: CA certificates the other members' certificates are "
     "checked against when a report or a channel goes to the primary over HTTPS (default: the "
     "system's; docs/HA.md)"},
    {"service-address", OPT_STR, O(service_address), "IP",
     "--role local: the address of the service endpoints of its deployments (default: the "
     "--listen address unless it is a wildcard or loopback; docs/FEDERATION.md)"},
    {"fed-insecure", OPT_BOOL, O(fed_insecure), NULL,
     "--role local: allow a plain http:// --cloud-url; --vim-agent: a plain http:// URL "
     "(debugging only)"},
    {"fed-report-interval-ms", OPT_UINT, O(fed_report_ms), "MS",
     "how often branch managers report: a cloud's tells its branches (default 1000); a "
     "branch's own overrides what its cloud says"},
    {"fed-wan-probe-s", OPT_UINT, O(fed_wan_probe_s), "S",
     "--role local: send the cloud a bulk probe this often to measure the WAN's throughput "
     "(wan.bulk_kbps of the site load; default 0: none, the reports' own speed only)"},
    {"fed-wan-probe-kib", OPT_UINT, O(fed_wan_probe_kib), "KIB",
     "--role local: the size of the bulk probe, 16 to 960 (default 256)"},
    {"fed-move-stage-s", OPT_UINT, O(fed_move_stage_s), "S",
     "--role cloud: how long each stage of a branch manager's move to the cloud may take "
     "before the move rolls back (default 90; docs/FEDERATION.md \"Moving a branch manager to "
     "the cloud\")"},
    {"fed-missed", OPT_UINT, O(fed_missed), "N",
     "--role cloud: reports missed before a branch manager is unreachable (default 3)"},
    {"cloud-scale-max", OPT_UINT, O(cloud_scale_max), "N",
     "--role cloud on etcd: the most cloud VNFM instances it scales out to (default 0: it "
     "does not scale itself; docs/HA.md)"},
    {"cloud-scale-out-rps", OPT_DOUBLE, O(cloud_scale_out_rps), "R",
     "--role cloud on etcd: branch reports per second over which another instance starts"},
    {"cloud-scale-in-rps", OPT_DOUBLE, O(cloud_scale_in_rps), "R",
     "--role cloud on etcd: reports per second under which an instance it started stops"},
    {"cloud-scale-out-cpu", OPT_DOUBLE, O(cloud_scale_out_cpu), "CORES",
     "--role cloud on etcd: its CPU (in cores, 0.8: 80% of one) over which another starts"},
    {"cloud-scale-in-cpu", OPT_DOUBLE, O(cloud_scale_in_cpu), "CORES",
     "--role cloud on etcd: its CPU under which an instance it started stops"},
    {"cloud-scale-out-dps", OPT_DOUBLE, O(cloud_scale_out_dps), "R",
     "--role cloud on etcd: decisions per second over which another instance starts"},
    {"cloud-scale-in-dps", OPT_DOUBLE, O(cloud_scale_in_dps), "R",
     "--role cloud on etcd: decisions per second under which an instance it started stops"},
    {"cloud-scale-out-queue", OPT_DOUBLE, O(cloud_scale_out_queue), "N",
     "--role cloud on etcd: requests waiting at once for the transactor over which another "
     "instance starts"},
    {"cloud-scale-in-queue", OPT_DOUBLE, O(cloud_scale_in_queue), "N",
     "--role cloud on etcd: requests waiting at once under which an instance it started stops"},
    {"cloud-scale-for-s", OPT_UINT, O(cloud_scale_for_s), "S",
     "--role cloud on etcd: how long a load must last before it scales (default 10)"},
    {"cloud-scale-vcpu", OPT_DOUBLE, O(cloud_scale_vcpu), "N",
     "--role cloud on etcd: the CPU limit of an instance it starts, held in its site's "
     "capacity (default 1)"},
    {"cloud-scale-memory-mb", OPT_UINT, O(cloud_scale_memory_mb), "MB",
     "--role cloud on etcd: the memory limit of an instance it starts (default 512)"},
    {"manager-load-weights", OPT_STR, O(manager_load_weights), "PART=W,...",
     "weights of a manager's load parts (vnfs, vis, probes_per_s, ops_running, ops_queued, "
     "cpu, memory_mb); the cloud's default for sites whose manager policy has none "
     "(docs/FEDERATION.md \"Elastic managers\")"},
    {"manager-cgroup", OPT_STR, O(manager_cgroup), "GROUP",
     "--role local: the cgroup of this manager's own (under vnfm/, as its parent manager made "
     "it), read for the cpu and memory parts of its load"},
    {"site-ledger", OPT_STR, O(site_ledger), "FILE",
     "--role local: the file in which the managers of this site on this host keep what each "
     "holds of it, so that admissions at two of them at once count each other (default "
     "DATA_DIR/site-ledger; a manager this one starts is given this one's)"},
};

void config_usage(FILE *out)
{
    fprintf(out, "Usage: vnfmd [OPTION]...\n"
                 "Run the VNF manager daemon: deploy, watch, heal and scale VNFs on this site.\n\n"
                 "Options:\n");
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        char left[64];

        snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(out, "  %-34s %s\n", left, opts[i].help);
    }
    fprintf(out, "  %-34s %s\n  %-34s %s\n", "--help", "show this help and exit", "--version",
            "show the version and exit");
    fprintf(out, "\nEvery option may also be set in the --config file under the same name.\n"
                 "Clients authenticate with 'Authorization: Bearer TOKEN'. See README.md and\n"
                 "docs/API.md.\n\n"
                 "Exit status: 0 after a clean stop (SIGTERM, SIGINT), 1 on a start-up error.\n"
                 "VNFs keep running when vnfmd stops; the next vnfmd adopts them.\n");
    fprintf(out,
            "\nNETCONF (docs/NETCONF.md): in the --config file, one 'netconf-user = ...' line\n"
            "per user; --netconf-user flags replace the file's users.\n");
}

static void set_default_str(char **p, const char *v)
{
    if (!*p)
        *p = xstrdup(v);
}

/* "HOST:PORT" into *host (replaced) and *port. */
static int parse_host_port(const char *v, char **host, unsigned *port)
{
    const char *colon = strrchr(v, ':');
    char *end;
    unsigned long n;

    if (!colon || colon == v)
        return -EINVAL;
    n = strtoul(colon + 1, &end, 10);
    if (*end || n == 0 || n > 65535)
        return -EINVAL;
    free(*host);
    *host = xstrndup(v, (size_t)(colon - v));
    *port = (unsigned)n;
    return 0;
}

static int parse_listen(struct config *cfg, const char *v)
{
    return parse_host_port(v, &cfg->listen_host, &cfg->listen_port);
}

/* --netconf-listen: like --listen, and it turns NETCONF on. */
static int parse_nc_listen(struct config *cfg, const char *v)
{
    int r = parse_host_port(v, &cfg->netconf_host, &cfg->netconf_port);

    if (r == 0)
        cfg->netconf = true;
    return r;
}

/* A repeatable option: each use appends (offset names a char ** followed by
 * its size_t count). */
static int add_list(struct config *cfg, const struct opt *o, const char *v)
{
    char ***list = (char ***)((char *)cfg + o->offset);
    size_t *n = (size_t *)((char *)cfg + o->offset + sizeof(char **));

    if (!*v)
        return -EINVAL;
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = xstrdup(v);
    return 0;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int set_opt(struct config *cfg, const struct opt *o, const char *v)
{
    char *base = (char *)cfg, *end;

    errno = 0;
    switch (o->type) {
    case OPT_STR:
        free(*(char **)(base + o->offset));
        *(char **)(base + o->offset) = xstrdup(v);
        return 0;
    case OPT_UINT: {
        unsigned long n = strtoul(v, &end, 10);

        if (*end || errno || n > 1000000 || *v == '-')
            return -EINVAL;
        *(unsigned *)(base + o->offset) = (unsigned)n;
        return 0;
    }
    case OPT_LONG: {
        long n = strtol(v, &end, 10);

        if (*end || errno || n < 0)
            return -EINVAL;
        *(long *)(base + o->offset) = n;
        return 0;
    }
    case OPT_DOUBLE: {
        double d = strtod(v, &end);

        if (*end || errno || d < 0)
            return -EINVAL;
        *(double *)(base + o->offset) = d;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
            *(bool *)(base + o->offset) = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
            *(bool *)(base + o->offset) = false;
        else
            return -EINVAL;
        return 0;
    case OPT_LISTEN:
        return parse_listen(cfg, v);
    case OPT_NC_LISTEN:
        return parse_nc_listen(cfg, v);
    case OPT_LIST:
        return add_list(cfg, o, v);
    }
    return -EINVAL;
}

static const struct opt *find_opt(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Applies "key = value" lines; flags given on the command line win, so the
 * file is read first and the command line applied again afterwards. */
static int parse_file(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0;

    if (!f) {
        fprintf(stderr, "vnfmd: cannot read config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *eq;
        const struct opt *o;

        lineno++;
        if (!*s || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq)
            *eq = '\0';
        o = find_opt(trim(s));
        if (!o || strcmp(o->name, "config") == 0 || !eq || set_opt(cfg, o, trim(eq + 1))) {
            fprintf(stderr, "vnfmd: %s:%d: %s '%s'\n", path, lineno,
                    o ? "invalid value for" : "unknown option", trim(s));
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void set_defaults(struct config *cfg)
{
    set_default_str(&cfg->listen_host, "127.0.0.1");
    if (!cfg->listen_port)
        cfg->listen_port = 8080;
    set_default_str(&cfg->data_dir, "./var");
    if (!cfg->site_ledger)
        cfg->site_ledger = xasprintf("%s/site-ledger", cfg->data_dir);
    set_default_str(&cfg->role, "local");
    set_default_str(&cfg->site, "local");
    set_default_str(&cfg->subnet, "10.77.0.0/24");
    set_default_str(&cfg->site_driver, "proc");
    set_default_str(&cfg->log_level, "info");
    set_default_str(&cfg->vnf_path, "");
    set_default_str(&cfg->sandbox_uids, "1879048192-1879113727"); /* 0x70000000 + 64 Ki */
    if (!cfg->http_threads)
        cfg->http_threads = 2;
    if (!cfg->http_max_conns)
        cfg->http_max_conns = 4096;
    if (!cfg->http_max_conns_per_client)
        cfg->http_max_conns_per_client = 256;
    if (!cfg->http_request_timeout_s)
        cfg->http_request_timeout_s = 10;
    if (!cfg->http_idle_timeout_s)
        cfg->http_idle_timeout_s = 60;
    if (!cfg->workers)
        cfg->workers = 8;
    if (!cfg->workers_min)
        cfg->workers_min = 2;
    if (cfg->workers_min > cfg->workers)
        cfg->workers_min = cfg->workers;
    if (!cfg->log_keep)
        cfg->log_keep = 100000;
    if (!cfg->vim_watchdog_s)
        cfg->vim_watchdog_s = 30;
    if (!cfg->monitor_workers_min)
        cfg->monitor_workers_min = 1;
    if (!cfg->monitor_workers_max)
        cfg->monitor_workers_max = 16;
    if (cfg->monitor_util_low <= 0)
        cfg->monitor_util_low = 0.3;
    if (cfg->monitor_util_high <= 0)
        cfg->monitor_util_high = 0.8;
    set_default_str(&cfg->restart_policy, "always");
    set_default_str(&cfg->netconf_host, "127.0.0.1");
    if (!cfg->netconf_port)
        cfg->netconf_port = 830; /* RFC 6242 3 */
    if (!cfg->netconf_threads)
        cfg->netconf_threads = 2;
    if (!cfg->fed_report_ms && strcmp(cfg->role, "local"))
        cfg->fed_report_ms = 1000; /* a branch left at 0 follows its cloud's (fed/branch.c) */
    if (!cfg->fed_missed)
        cfg->fed_missed = 3;
    if (!cfg->fed_move_stage_s)
        cfg->fed_move_stage_s = 90;
    if (!cfg->fed_wan_probe_kib)
        cfg->fed_wan_probe_kib = 256;
    if (!cfg->cloud_scale_for_s)
        cfg->cloud_scale_for_s = 10;
    if (cfg->cloud_scale_vcpu <= 0)
        cfg->cloud_scale_vcpu = 1;
    if (!cfg->cloud_scale_memory_mb)
        cfg->cloud_scale_memory_mb = 512;
    if (!cfg->package_max_mb)
        cfg->package_max_mb = 1024;
    if (!cfg->schedules_per_tenant)
        cfg->schedules_per_tenant = 1000;
    if (!cfg->ha_lease_ms)
        cfg->ha_lease_ms = 3000;
    if (!cfg->ha_heartbeat_ms)
        cfg->ha_heartbeat_ms = 100;
    if (!cfg->standby_heartbeat_ms)
        cfg->standby_heartbeat_ms = 1000;
    if (!cfg->standby_start_grace_ms)
        cfg->standby_start_grace_ms = 90000;
    if (!cfg->ha_dead_ms)
        cfg->ha_dead_ms = 1000;
    if (!cfg->ha_listen)
        cfg->ha_listen = xasprintf("%s:%u", cfg->listen_host, cfg->listen_port);
    if (!cfg->ha_url)
        cfg->ha_url = xasprintf("%s://%s:%u", cfg->tls_cert ? "https" : "http", cfg->listen_host,
                                cfg->listen_port);
}

bool config_shared_store(const struct config *cfg)
{
    return cfg->store && strncmp(cfg->store, "etcd://", 7) == 0;
}

/* "FIRST-LAST": a range without root, nobody (65534) or (uid_t)-1. */
static int parse_uids(struct config *cfg)
{
    unsigned long a, b;
    char *end;

    errno = 0;
    a = strtoul(cfg->sandbox_uids, &end, 10);
    if (*end != '-' || errno || !isdigit((unsigned char)cfg->sandbox_uids[0]))
        return -EINVAL;
    b = strtoul(end + 1, &end, 10);
    if (*end || errno || a < 1000 || b < a || b >= 0xffffffffUL || (a <= 65534 && 65534 <= b))
        return -EINVAL;
    cfg->uid_first = (uid_t)a;
    cfg->uid_last = (uid_t)b;
    return 0;
}

/* --tenant-destinations into tenant_deny: what stays denied. */
static int parse_destinations(struct config *cfg)
{
    static const struct {
        const char *name;
        unsigned bits;
    } kinds[] = {{"none", 0},
                 {"loopback", HTTPC_DENY_LOOPBACK},
                 {"link-local", HTTPC_DENY_LINK_LOCAL},
                 {"private", HTTPC_DENY_PRIVATE},
                 {"all", HTTPC_DENY_ALL}};
    const char *p = cfg->tenant_destinations ? cfg->tenant_destinations : "none";
    unsigned allow = 0;

    while (*p) {
        size_t n = strcspn(p, ","), i;

        for (i = 0; i < ARRAY_SIZE(kinds); i++)
            if (strlen(kinds[i].name) == n && strncmp(p, kinds[i].name, n) == 0)
                break;
        if (i == ARRAY_SIZE(kinds)) {
            fprintf(stderr,
                    "vnfmd: --tenant-destinations: '%.*s' is none of none, loopback, "
                    "link-local, private, all\n",
                    (int)n, p);
            return -1;
        }
        allow |= kinds[i].bits;
        p += n + (p[n] == ',');
    }
    cfg->tenant_deny = HTTPC_DENY_ALL & ~allow;
    return 0;
}

/* Whether the URLs of option (a comma-separated list, or NULL) are not all
 * https:// (plain http:// only with --fed-insecure); says so. */
static bool wan_url_bad(const struct config *cfg, const char *option, const char *urls)
{
    for (const char *u = urls; u; u = (u = strchr(u, ',')) ? u + 1 : NULL) {
        if (strncmp(u, "https://", 8) && !(cfg->fed_insecure && strncmp(u, "http://", 7) == 0)) {
            fprintf(stderr, "vnfmd: %s must be https:// (plain http:// only with --fed-insecure)\n",
                    option);
            return true;
        }
    }
    return false;
}

/* A file option is unset, or names a file this process can read. */
static bool readable(const char *opt, const char *path)
{
    if (!path || access(path, R_OK) == 0)
        return true;
    fprintf(stderr, "vnfmd: %s %s: %s\n", opt, path, strerror(errno));
    return false;
}

static int check(struct config *cfg)
{
    if (parse_uids(cfg)) {
        fprintf(stderr,
                "vnfmd: --sandbox-uids must be FIRST-LAST, from 1000 up, without 65534 "
                "(nobody), not '%s'\n",
                cfg->sandbox_uids);
        return -1;
    }
    if (cfg->script_dir && cfg->script_dir[0] != '/') {
        fprintf(stderr, "vnfmd: --script-dir must be an absolute path\n");
        return -1;
    }
    if (cfg->fed_wan_probe_kib < 16 || cfg->fed_wan_probe_kib > 960) { /* the cloud takes 1 MiB */
        fprintf(stderr, "vnfmd: --fed-wan-probe-kib must be 16 to 960\n");
        return -1;
    }
    if (cfg->vim_connection_policy && strcmp(cfg->vim_connection_policy, "registered") != 0 &&
        strcmp(cfg->vim_connection_policy, "any") != 0) {
        fprintf(stderr, "vnfmd: --vim-connection-policy is registered or any\n");
        return -1;
    }
    for (size_t i = 0; i < cfg->n_vim_connections; i++) {
        const char *eq = strchr(cfg->vim_connections[i], '=');

        if (!eq || eq == cfg->vim_connections[i] || !eq[1]) {
            fprintf(stderr, "vnfmd: --vim-connection %s: expected VIMID=SITE\n",
                    cfg->vim_connections[i]);
            return -1;
        }
    }
    if (cfg->package_scripts && cfg->package_scripts[0] != '/') {
        fprintf(stderr, "vnfmd: --package-scripts must be an absolute path\n");
        return -1;
    }
    if (cfg->package_trust && (cfg->package_trust[0] != '/' || access(cfg->package_trust, R_OK))) {
        fprintf(stderr, "vnfmd: --package-trust %s: must be a readable file, by an absolute path\n",
                cfg->package_trust);
        return -1;
    }
    if (!readable("--cloud-ca", cfg->cloud_ca) || !readable("--cluster-ca", cfg->cluster_ca) ||
        !readable("--vim-agent-ca", cfg->vim_agent_ca))
        return -1;
    if (cfg->monitor_util_low >= cfg->monitor_util_high || cfg->monitor_util_high > 1) {
        fprintf(stderr, "vnfmd: need 0 < --monitor-util-low < --monitor-util-high <= 1\n");
        return -1;
    }
    if (cfg->monitor_workers_min > cfg->monitor_workers_max) {
        fprintf(stderr, "vnfmd: --monitor-workers-min must not exceed --monitor-workers-max\n");
        return -1;
    }
    if (strcmp(cfg->role, "cloud") && strcmp(cfg->role, "local")) {
        fprintf(stderr, "vnfmd: --role must be 'cloud' or 'local', not '%s'\n", cfg->role);
        return -1;
    }
    if (cfg->cloud_url && strcmp(cfg->role, "local")) {
        fprintf(stderr, "vnfmd: --cloud-url is for a branch manager (--role local)\n");
        return -1;
    }
    if (cfg->cloud_url && config_shared_store(cfg)) {
        fprintf(stderr, "vnfmd: a branch manager (--cloud-url) keeps its store in its data dir: "
                        "its redundancy is its site's standby managers (docs/FEDERATION.md), "
                        "not --store etcd://\n");
        return -1;
    }
    if (cfg->join_token && !cfg->cloud_url) {
        fprintf(stderr, "vnfmd: --join-token needs --cloud-url\n");
        return -1;
    }
    if (wan_url_bad(cfg, "--cloud-url", cfg->cloud_url) ||
        wan_url_bad(cfg, "--vim-agent", cfg->vim_agent))
        return -1;
    if (cfg->vim_agent && !cfg->vim_agent_token_file) {
        fprintf(stderr, "vnfmd: --vim-agent needs --vim-agent-token-file\n");
        return -1;
    }
    if (cfg->callback_base && strncmp(cfg->callback_base, "http://", 7) != 0 &&
        strncmp(cfg->callback_base, "https://", 8) != 0) {
        fprintf(stderr, "vnfmd: --callback-base must be an absolute http:// or https:// URL\n");
        return -1;
    }
    if (parse_destinations(cfg))
        return -1;
    if (!vim_driver_find(cfg->site_driver)) {
        fprintf(stderr, "vnfmd: --site-driver: no VIM driver '%s' (", cfg->site_driver);
        for (const char *const *n = vim_driver_names(); *n; n++)
            fprintf(stderr, "%s%s", n == vim_driver_names() ? "" : ", ", *n);
        fprintf(stderr, ")\n");
        return -1;
    }
    if (cfg->cleanup &&
        (strlen(cfg->cleanup) != 6 || strspn(cfg->cleanup, "0123456789abcdef") != 6)) {
        fprintf(stderr, "vnfmd: --cleanup takes an instance tag: 6 hex digits, as GET "
                        "/v0/version shows it\n");
        return -1;
    }
    if (strcmp(cfg->restart_policy, "always") && strcmp(cfg->restart_policy, "never")) {
        fprintf(stderr, "vnfmd: --restart-policy must be 'always' or 'never'\n");
        return -1;
    }
    if (cfg->restart_burst > RESTART_BURST_MAX || cfg->restart_window_s < 1 ||
        cfg->restart_window_s > 86400 || cfg->restart_max_delay_s < 1 ||
        cfg->restart_max_delay_s > 86400 || cfg->restart_delay_ms > 3600000 ||
        cfg->restart_delay_ms > cfg->restart_max_delay_s * 1000u) {
        fprintf(stderr,
                "vnfmd: need --restart-burst <= %d, --restart-window-s and "
                "--restart-max-delay-s 1..86400, --restart-delay-ms <= "
                "--restart-max-delay-s\n",
                RESTART_BURST_MAX);
        return -1;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        fprintf(stderr, "vnfmd: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (config_shared_store(cfg) && (cfg->ha_lease_ms < 1000 || cfg->ha_heartbeat_ms < 10 ||
                                     cfg->ha_dead_ms < 2 * cfg->ha_heartbeat_ms)) {
        fprintf(stderr, "vnfmd: need --ha-lease-ms >= 1000, --ha-heartbeat-ms >= 10 and "
                        "--ha-dead-ms >= twice --ha-heartbeat-ms\n");
        return -1;
    }
    if (config_shared_store(cfg) && !strcmp(cfg->listen_host, "0.0.0.0") &&
        !strncmp(cfg->ha_url, "http://0.0.0.0", 14)) {
        fprintf(stderr, "vnfmd: listening on 0.0.0.0, --ha-url must say where clients reach "
                        "this manager\n");
        return -1;
    }
    if (cfg->admin_token && strlen(cfg->admin_token) < 16) {
        fprintf(stderr, "vnfmd: --admin-token must be at least 16 characters\n");
        return -1;
    }
    return 0;
}

#define OPT_VAL_BASE 256

static int parse_args(struct config *cfg, int argc, char **argv, bool quiet)
{
    struct option lopts[ARRAY_SIZE(opts) + 3];
    const struct opt *o;
    size_t n = 0;
    int c;

    /* getopt_long gives back each option's index past OPT_VAL_BASE: an index
     * must not read as '?', 'h' or 'V' (the 64th option did: '?') */
    for (; n < ARRAY_SIZE(opts); n++)
        lopts[n] = (struct option){opts[n].name,
                                   opts[n].type == OPT_BOOL ? no_argument : required_argument, NULL,
                                   OPT_VAL_BASE + (int)n};
    lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[n] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = !quiet;
    while ((c = getopt_long(argc, argv, "hV", lopts, NULL)) != -1) {
        if (c == 'h' || c == 'V' || c == '?') {
            if (quiet)
                continue;
            if (c == '?')
                return -1;
            if (c == 'h')
                config_usage(stdout);
            else
                printf("vnfmd %s\n", VNFM_VERSION);
            return 1;
        }
        o = &opts[c - OPT_VAL_BASE];
        if (quiet && o->type == OPT_LIST)
            continue; /* appended in the first pass already */
        if (set_opt(cfg, o, o->type == OPT_BOOL ? "true" : optarg)) {
            fprintf(stderr, "vnfmd: invalid value for --%s: '%s'\n", o->name, optarg);
            return -1;
        }
    }
    if (optind < argc && !quiet) {
        fprintf(stderr, "vnfmd: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

int config_parse(struct config *cfg, int argc, char **argv)
{
    int r;

    memset(cfg, 0, sizeof(*cfg));
    cfg->site_warm_vis = 2;   /* a flag of 0 turns them off: no "unset" test */
    cfg->restart_burst = 3;   /* 0 is a value too (every restart waits) */
    cfg->sol_page_size = 100; /* 0 too: no paging */
    cfg->restart_window_s = 60;
    cfg->restart_delay_ms = 1000;
    cfg->restart_max_delay_s = 60;
    r = parse_args(cfg, argc, argv, false);
    if (r)
        return r;
    if (cfg->config_file) {
        char *path = xstrdup(cfg->config_file);
        char **users = cfg->netconf_users;
        size_t n_users = cfg->n_netconf_users;

        cfg->netconf_users = NULL; /* NETCONF users given as flags replace the file's */
        cfg->n_netconf_users = 0;
        r = parse_file(cfg, path);
        free(path);
        if (n_users) {
            free_list(cfg->netconf_users, cfg->n_netconf_users);
            cfg->netconf_users = users;
            cfg->n_netconf_users = n_users;
        }
        if (r)
            return r;
        parse_args(cfg, argc, argv, true);
    }
    set_defaults(cfg);
    return check(cfg);
}

void config_done(struct config *cfg)
{
    free(cfg->listen_host);
    free(cfg->store);
    free(cfg->ha_url);
    free(cfg->ha_listen);
    free(cfg->data_dir);
    free(cfg->standby_for);
    free(cfg->vim_agent);
    free(cfg->vim_agent_token_file);
    free(cfg->vim_agent_ca);
    free(cfg->vim_agent_move);
    free(cfg->role);
    free(cfg->site);
    free(cfg->admin_token);
    free(cfg->vnf_path);
    free(cfg->script_dir);
    free(cfg->sandbox_uids);
    free(cfg->subnet);
    free(cfg->site_driver);
    free(cfg->log_level);
    free(cfg->config_file);
    free(cfg->cleanup);
    free(cfg->callback_base);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tenant_destinations);
    free(cfg->restart_policy);
    free(cfg->netconf_host);
    free_list(cfg->netconf_users, cfg->n_netconf_users);
    free(cfg->netconf_host_key);
    free(cfg->cloud_url);
    free(cfg->join_token);
    free(cfg->cloud_ca);
    free(cfg->cluster_ca);
    free(cfg->service_address);
    free(cfg->manager_load_weights);
    free(cfg->manager_cgroup);
    free(cfg->site_ledger);
    free_list(cfg->package_uris, cfg->n_package_uris);
    free_list(cfg->vim_connections, cfg->n_vim_connections);
    free(cfg->vim_connection_policy);
    free(cfg->package_scripts);
    free(cfg->package_trust);
}
