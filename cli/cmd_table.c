/* Every vnfmctl command in one table: its name, usage, help text, options
 * and handler. Help (help.c) and parsing (args.c) are generated from it;
 * docs/CLI.md is the long version. */
#include "cli/ctl.h"

#define END_OPTS \
    {            \
        NULL     \
    }

/* The options every lifecycle request takes (POST/DELETE answering 202). */
#define LIFECYCLE_OPTS                                                                             \
    {"wait", NULL,                                                                                 \
     "follow the operation: print each stage on stderr as it happens, then the finished "          \
     "operation on stdout"},                                                                       \
        {"timeout", "SECONDS", "with --wait, give up after SECONDS (default 300; exit 4)"},        \
        {"callback", "URL", "the manager POSTs the finished operation to URL (absolute http://)"}, \
    {                                                                                              \
        "txn-id", "ID", "Client-Transaction-Id header: echoed back and kept on the operation"      \
    }

static const char lifecycle_exit[] =
    "  0  accepted (without --wait), or the operation completed\n"
    "  1  the server refused the request, or the operation failed or was rolled back\n"
    "     (its error is printed on stderr)\n"
    "  2  usage error\n"
    "  3  the manager cannot be reached\n"
    "  4  --timeout passed before the operation ended (it goes on in the manager)\n";

#define LIFECYCLE_NOTE                                                               \
    "The manager answers at once with the operation (202 Accepted) and runs it in\n" \
    "the background; without --wait its id is printed ('op wait ID' follows it\n"    \
    "later). With --wait, vnfmctl follows the operation's events and prints one\n"   \
    "line per stage transition on stderr, e.g.\n"                                    \
    "  [ 0.00s] vi_deployment     started\n"                                         \
    "  [ 0.01s]   web1/web/0: vi_deployment done (create)\n"                         \
    "  [ 0.35s] operation completed\n"                                               \
    "then prints the finished operation on stdout (table, or JSON with -o json).\n"

static const struct optspec tenant_create_opts[] = {
    {"name", "NAME", "display name (1-128 characters)"},
    {"description", "TEXT", "free text"},
    {"disabled", NULL, "create it disabled: its tokens are refused until enabled"},
    END_OPTS,
};
static const struct optspec tenant_update_opts[] = {
    {"name", "NAME", "new display name"},
    {"description", "TEXT", "new description"},
    {"enable", NULL, "enable the tenant"},
    {"disable", NULL, "disable the tenant: its tokens are refused"},
    END_OPTS,
};
static const struct optspec join_token_opts[] = {
    {"ttl", "DURATION", "how long the token may be used: 30m, 1h (the default), 2d"},
    {"description", "TEXT", "what the token is for (shown by 'join-token list')"},
    END_OPTS,
};
static const struct optspec token_opts[] = {
    {"description", "TEXT", "what the token is for (shown by 'token list')"},
    {"ttl", "DURATION",
     "the token expires DURATION from now: seconds, or a number with s, m, h or d (90d)"},
    {"expires", "TIME", "the token expires at TIME (RFC 3339)"},
    END_OPTS,
};
static const struct optspec onboard_opts[] = {
    {"tenant", "TENANT",
     "admin only: make the VNFD private to TENANT (default: global, or the caller's tenant for a "
     "tenant token)"},
    END_OPTS,
};
static const struct optspec force_opts[] = {
    {"force", NULL,
     "also when it runs deployments: they leave the estate, its pending instructions fail"},
    END_OPTS,
};
static const struct optspec site_managers_opts[] = {
    {"set", "KEY=VALUE",
     "set a member of the policy (repeatable; dotted for weights.PART and manager.vcpu, "
     "manager.memory_mb)",
     true},
    END_OPTS,
};
static const struct optspec manager_policy_opts[] = {
    {"set", "KEY=VALUE",
     "override a member of the site's policy (repeatable; dotted for relative.within_pct, "
     "rise.peers, rise.above, rise.to)",
     true},
    {"unset", "KEY", "drop an override: the site's member applies again (repeatable)", true},
    {"clear", NULL, "drop every override of the manager"},
    END_OPTS,
};
static const struct optspec site_pool_opts[] = {
    {"set", "KEY=VALUE",
     "set a member of the policy (repeatable; dotted for grow.vcpu_max, grow.memory_mb_max, "
     "grow.disk_mb_max and move_back.after_s)",
     true},
    END_OPTS,
};
static const struct optspec site_opts[] = {
    {"vcpu", "N", "vCPU capacity (a number, may be fractional)"},
    {"memory-mb", "N", "memory capacity in MiB"},
    {"disk-mb", "N", "disk capacity in MiB"},
    {"warm-vis", "N",
     "VIs the site keeps made in advance for fast deploys (0 to 64; proc VIM option warm_vis)"},
    END_OPTS,
};
static const struct optspec deploy_opts[] = {
    {"vnfd", "ID", "the on-boarded VNFD to deploy (required)"},
    {"tenant", "TENANT", "owner of the deployment (admin; default: the default tenant)"},
    {"site", "SITE", "site to deploy on (default: the manager's own site)"},
    {"param", "KEY=VALUE",
     "a user parameter of the VNFD; VALUE is taken as JSON when it is a number, true/false, "
     "[list], {object} or \"string\", else as text",
     true},
    {"params-file", "FILE", "a JSON object of parameters; --param entries override it"},
    {"license", "TEXT", "license text, rendered into day-0 as {{license}}"},
    {"instances", "VDU=N", "start N instances of VDU instead of its scaling.initial", true},
    {"password", "PASSWORD", "day-0 password (8-128 characters; default: generated)"},
    LIFECYCLE_OPTS,
    END_OPTS,
};
static const struct optspec lifecycle_opts[] = {LIFECYCLE_OPTS, END_OPTS};
static const struct optspec heal_opts[] = {
    {"vi", "VI", "heal only this VI (its id or name, e.g. web1/web/0)"},
    {"policy", "POLICY",
     "reboot_then_redeploy (default: restart in place, and make it anew if that fails), "
     "reboot, or redeploy (destroy and make it anew)"},
    LIFECYCLE_OPTS,
    END_OPTS,
};
static const struct optspec scale_opts[] = {
    {"vdu", "VDU", "the VDU to scale (required)"},
    {"count", "N", "scale to N instances"},
    {"delta", "N", "scale by N instances (negative to scale in)"},
    LIFECYCLE_OPTS,
    END_OPTS,
};
static const struct optspec resize_opts[] = {
    {"vdu", "VDU", "the VDU whose instances to resize (required)"},
    {"vcpu", "N", "new CPU limit of each instance, in vCPUs (may be fractional)"},
    {"memory-mb", "N", "new memory limit of each instance, in MiB"},
    LIFECYCLE_OPTS,
    END_OPTS,
};
static const struct optspec manager_move_opts[] = {
    {"site", "SITE", "where to: the cloud VNFM's own site (required)"},
    {"wait", NULL, "follow the move stage by stage to its end"},
    {"timeout", "SECONDS", "with --wait: give up waiting after this long (default 300)"},
    END_OPTS,
};
static const struct optspec move_opts[] = {
    {"site", "SITE", "where to: a site of the cloud's, or the deployment's branch (required)"},
    {"drain", "SECONDS", "how long connections open to the original may finish (default 5)"},
    LIFECYCLE_OPTS,
    END_OPTS,
};
/* SOL003-shaped tasks (cmd_sol.c): --wait and --timeout only (the SOL003
 * interface takes no Callback or Client-Transaction-Id) */
#define SOL_WAIT_OPTS                                                                     \
    {"wait", NULL,                                                                        \
     "follow the operation: print each stage on stderr as it happens, then the finished " \
     "operation on stdout"},                                                              \
    {                                                                                     \
        "timeout", "SECONDS", "with --wait, give up after SECONDS (default 300; exit 4)"  \
    }
static const struct optspec operate_opts[] = {
    {"state", "STATE", "started or stopped (required)"},
    {"vi", "VI", "only this VI (its id, as 'deployment show' lists it; default: all)", true},
    {"forceful", NULL, "with stopped: kill at once (SIGKILL) instead of a graceful stop"},
    {"grace", "SECONDS",
     "with stopped: wait up to SECONDS after SIGTERM before SIGKILL (default: the VDU's "
     "stop_grace_s)"},
    SOL_WAIT_OPTS,
    END_OPTS,
};
static const struct optspec scale_level_opts[] = {
    {"level", "LEVEL", "an instantiation level of the deployment's flavour"},
    {"aspect", "ASPECT=LEVEL", "the scale level of one aspect (a VDU's; repeatable)", true},
    SOL_WAIT_OPTS,
    END_OPTS,
};
static const struct optspec flavour_opts[] = {
    {"flavour", "FLAVOUR", "the new flavour, one of the VNFD's (required)"},
    {"level", "LEVEL", "an instantiation level of that flavour (default: its default_level)"},
    SOL_WAIT_OPTS,
    END_OPTS,
};
static const struct optspec modify_opts[] = {
    {"name", "NAME", "the VNF instance's new name (SOL003 vnfInstanceName)"},
    {"description", "TEXT", "its new description"},
    {"metadata", "KEY=VALUE",
     "merged into its metadata; VALUE is taken as JSON when it parses (a number, true, "
     "{object}, null removes KEY), else as text (repeatable)",
     true},
    SOL_WAIT_OPTS,
    END_OPTS,
};

#define SOL_NOTE                                                                          \
    "A request of the manager's SOL003 interface (/vnflcm/v1, docs/SOL003.md) on the\n"   \
    "VNF instance of the deployment's id, run as an operation of this type with the\n"    \
    "SOL003 pause policy: a stage that fails after its retries stops it in failed_temp\n" \
    "(then 'vnfmctl op retry|rollback|fail ID'). On a cloud VNFM it works for a branch\n" \
    "deployment too: its manager runs it. Prints the accepted operation (-o json: its\n"  \
    "record), or with --wait follows it as 'op wait' does.\n"

static const struct optspec push_opts[] = {
    {"value", "NAME=N", "a value of push metric NAME (repeatable)", true},
    {"vi", "VI", "the VI the values are about (id or name; needed when the VDU has several)"},
    END_OPTS,
};
static const struct optspec decision_list_opts[] = {
    {"deployment", "NAME", "only this deployment's"},
    {"rule", "RULE", "only this rule's"},
    {"state", "STATE", "running, completed or failed"},
    {"limit", "N", "at most N (default 100)"},
    END_OPTS,
};
static const struct optspec dep_list_opts[] = {
    {"tenant", "TENANT", "only this tenant's"},
    {"site", "SITE", "only those on SITE"},
    {"status", "STATUS",
     "only those in STATUS (deploying, active, degraded, healing, scaling, undeploying, failed)"},
    {"vnfd", "ID", "only those of this VNFD"},
    END_OPTS,
};
static const struct optspec op_list_opts[] = {
    {"deployment", "NAME", "only this deployment's"},
    {"state", "STATE", "processing, completed, failed or rolled_back"},
    {"type", "TYPE", "deploy, undeploy, heal or scale"},
    {"limit", "N", "at most N (default 100)"},
    END_OPTS,
};
static const struct optspec schedule_create_opts[] = {
    {"op", "OPERATION", "heal, scale or resize: the request of the same name"},
    {"at", "TIME", "when to start it: RFC 3339 (2026-12-03T07:30:00Z) or epoch ms"},
    {"in", "SECONDS", "or when to start it, from now"},
    {"param", "KEY=VALUE",
     "a member of the operation's body (as 'scale', 'heal', 'resize' take it); VALUE is JSON "
     "when it reads as JSON (3, true), else a string",
     true},
    {"if-missed", "WHAT",
     "run (default): a time missed while the manager was down starts at "
     "once after its restart; skip: it is marked missed"},
    END_OPTS,
};
static const struct optspec schedule_list_opts[] = {
    {"deployment", "NAME", "only this deployment's"},
    {"state", "STATE", "scheduled, started, failed, cancelled or missed"},
    {"limit", "N", "at most N (default 100)"},
    END_OPTS,
};
static const struct optspec wait_opts[] = {
    {"timeout", "SECONDS", "give up after SECONDS (default 300; exit 4)"},
    END_OPTS,
};
static const struct optspec decide_opts[] = {
    {"wait", NULL, "follow the operation until it ends or stops again (as 'op wait')"},
    {"timeout", "SECONDS", "with --wait, give up after SECONDS (default 300; exit 4)"},
    END_OPTS,
};
static const struct optspec cancel_opts[] = {
    {"mode", "MODE", "GRACEFUL (default) or FORCEFUL; both let running VIM calls end"},
    {"wait", NULL, "follow the operation until it stops in failed_temp"},
    {"timeout", "SECONDS", "with --wait, give up after SECONDS (default 300; exit 4)"},
    END_OPTS,
};

#define DECIDE_NOTE                                                                       \
    "An operation started with the pause failure policy (every SOL003 task) stops in\n"   \
    "state failed_temp when a stage fails after its retries, or when cancelled; its\n"    \
    "deployment stays busy until an operator decides: retry (re-run the failed stage),\n" \
    "rollback (undo what it added; not for heal, terminate, scale in), or fail (give\n"   \
    "up: state failed, the deployment is released).\n"
static const struct optspec log_opts[] = {
    {"category", "C", "lifecycle, api, vim, system or audit"},
    {"tag", "TAG", "records carrying TAG (the VNFD's tags)"},
    {"object", "O",
     "records about O: a deployment, operation or VI id, or an object such as vnfd/demo-web"},
    {"level", "L", "debug, info, warn or error (exact match)"},
    {"event", "E", "operation, stage, vi, action, orphan, config, ..."},
    {"since", "TIME", "records at or after TIME (RFC 3339 or epoch milliseconds)"},
    {"until", "TIME", "records at or before TIME"},
    {"limit", "N", "at most N records, oldest first (default 1000)"},
    {"tail", "N", "the newest N records"},
    {"follow", NULL,
     "after the matching records, keep printing new ones until interrupted (with -o json: one JSON "
     "record per line)"},
    END_OPTS,
};
static const struct optspec event_opts[] = {
    {"deployment", "NAME", "only this deployment's events"},
    {"operation", "ID", "only this operation's events"},
    {"category", "C", "lifecycle, api, vim, system or audit"},
    END_OPTS,
};

const struct command ctl_commands[] = {
    {
        .name = "health",
        .usage = "",
        .summary = "show the health code, services and VIMs",
        .description =
            "Prints the health code (seed Table 5: 2xxx healthy, 5xxx not), its message,\n"
            "the state of every service and the VIM health of every site. Needs no\n"
            "token.\n",
        .examples = "vnfmctl health\nvnfmctl --url http://10.0.0.5:8080 health && echo up",
        .exit_status = "  0  the code is below 5000 (healthy)\n"
                       "  1  the code is 5000 or above, or no health document came back\n"
                       "  3  the manager cannot be reached\n",
        .run = cmd_health,
    },
    {
        .name = "version",
        .usage = "",
        .summary = "show the manager's version, role and site",
        .examples = "vnfmctl version\nvnfmctl --version        # vnfmctl's own version",
        .run = cmd_version,
    },
    {
        .name = "component list",
        .usage = "",
        .summary = "the manager's worker pools, each sized by its own load (admin)",
        .description =
            "The components of this manager (FIG. 2C): the provisioning, configuration and\n"
            "monitoring pools. THREADS is the pool's size now, between MIN and MAX; BUSY the\n"
            "workers running a job, QUEUED the jobs waiting for one, JOBS those done since\n"
            "the start, RESIZES how often the size changed (each change is also an event:\n"
            "vnfmctl logs --event component-resized). docs/ARCHITECTURE.md \"Components\".\n",
        .examples = "vnfmctl components\nvnfmctl -o json components | jq '.components[].threads'",
        .run = cmd_component_list,
    },
    {
        .name = "instance list",
        .usage = "",
        .summary = "the cloud VNFMs this cluster started to share its load (admin, cloud)",
        .description =
            "A cluster of cloud VNFMs on etcd scales itself (docs/HA.md \"Self scale-out and\n"
            "scale-in\"): over its thresholds its primary starts another vnfmd as a manager VI\n"
            "of the cloud site (VI, its process PID on HOST), which joins the cluster (JOINED)\n"
            "and serves a share of the branch sites; under them one is drained and stopped\n"
            "(STOPPING, then GONE until its VI is removed). DECISION is the decision record\n"
            "of its start or stop (vnfmctl decision show ID). Any member answers: the list is\n"
            "the store's.\n",
        .examples = "vnfmctl instances\nvnfmctl decisions --rule cloud-vnfm",
        .run = cmd_instance_list,
    },
    {
        .name = "tenant list",
        .usage = "",
        .summary = "list tenants",
        .description = "An admin token sees every tenant, a tenant token only its own.\n",
        .examples = "vnfmctl tenant list\nvnfmctl -o json tenant list | jq -r '.tenants[].id'",
        .run = cmd_tenant_list,
    },
    {
        .name = "tenant show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a tenant",
        .examples = "vnfmctl tenant show acme",
        .run = cmd_tenant_show,
    },
    {
        .name = "tenant create",
        .usage = "ID",
        .n_pos = 1,
        .summary = "create a tenant (admin)",
        .description = "ID is 1-64 of [A-Za-z0-9._-]. The new tenant has no token yet: make one\n"
                       "with 'vnfmctl token create ID'.\n",
        .opts = tenant_create_opts,
        .examples = "vnfmctl tenant create acme --name 'ACME Corp' --description 'branch VNFs'",
        .run = cmd_tenant_create,
    },
    {
        .name = "tenant update",
        .usage = "ID",
        .n_pos = 1,
        .summary = "change a tenant (admin)",
        .description = "Only the given fields change. A disabled tenant's tokens are refused.\n",
        .opts = tenant_update_opts,
        .examples = "vnfmctl tenant update acme --disable\nvnfmctl tenant update acme --name ACME "
                    "--enable",
        .run = cmd_tenant_update,
    },
    {
        .name = "tenant delete",
        .usage = "ID",
        .n_pos = 1,
        .summary = "delete a tenant (admin)",
        .description = "Refused (409) while the tenant has deployments, VNFDs or tokens.\n",
        .examples = "vnfmctl tenant delete acme",
        .run = cmd_tenant_delete,
    },
    {
        .name = "token create",
        .usage = "TENANT",
        .n_pos = 1,
        .summary = "create a tenant's token (admin)",
        .description = "The token sees and changes only TENANT's objects. Its secret is printed\n"
                       "this once and cannot be shown again: store it (e.g. in a file for\n"
                       "--token-file). With -o json the secret is the \"token\" member.\n"
                       "With --ttl or --expires it is refused from then on (401), and its\n"
                       "open event streams end.\n",
        .opts = token_opts,
        .examples = "vnfmctl token create acme --description 'CI pipeline'\n"
                    "vnfmctl token create acme --ttl 8h --description 'on-call'\n"
                    "vnfmctl -o json token create acme | jq -r .token > acme.token\n"
                    "vnfmctl --token-file acme.token deployments",
        .run = cmd_token_create,
    },
    {
        .name = "token list",
        .usage = "",
        .summary = "list tokens, without secrets (admin)",
        .examples = "vnfmctl token list",
        .run = cmd_token_list,
    },
    {
        .name = "token delete",
        .usage = "ID",
        .n_pos = 1,
        .summary = "revoke a token (admin)",
        .examples = "vnfmctl token delete tok-3f2a9c01bd",
        .run = cmd_token_delete,
    },
    {
        .name = "vnfd onboard",
        .usage = "FILE",
        .n_pos = 1,
        .summary = "validate and on-board a VNF descriptor",
        .description =
            "FILE is a JSON VNFD (docs/VNFD.md). The manager validates all of it and\n"
            "names the offending field when it refuses it.\n\n"
            "As a convenience, a day-0 entry may give \"template_file\": \"PATH\" instead\n"
            "of \"template\"; PATH is relative to FILE's directory. vnfmctl reads the\n"
            "file and sends its text inline as \"template\".\n",
        .opts = onboard_opts,
        .examples = "vnfmctl vnfd onboard examples/vnfds/demo-web.json\n"
                    "vnfmctl vnfd onboard my-vnf.json --tenant acme",
        .exit_status = "  0  on-boarded\n"
                       "  1  the manager refused the VNFD (the field is named)\n"
                       "  2  FILE or a template_file cannot be read, or is not JSON\n"
                       "  3  the manager cannot be reached\n",
        .run = cmd_vnfd_onboard,
    },
    {
        .name = "package build",
        .usage = "DIR FILE",
        .n_pos = 2,
        .summary = "pack a directory into a VNF package (SOL004 CSAR)",
        .description =
            "Packs every file under DIR (hidden ones left out) into the zip archive FILE.\n"
            "The manifest (TOSCA-Metadata/TOSCA.meta's ETSI-Entry-Manifest, or for a\n"
            "package without TOSCA-Metadata the root YAML's name with .mf) is written\n"
            "from its source in DIR, which holds the metadata block, with a SHA-256\n"
            "entry for every other file. FILE is then opened as the manager would\n"
            "(docs/PACKAGES.md): layout, entries and checksums. Needs no manager.\n",
        .examples = "vnfmctl package build examples/packages/demo-web demo-web.zip",
        .exit_status =
            "  0  built\n"
            "  1  DIR cannot be read, FILE cannot be written, or it is no valid package\n"
            "  2  usage error\n",
        .run = cmd_package_build,
    },
    {
        .name = "vnfd list",
        .usage = "",
        .summary = "list the VNFD catalogue",
        .description = "Global VNFDs (TENANT empty) and the caller's tenant's.\n",
        .examples = "vnfmctl vnfd list",
        .run = cmd_vnfd_list,
    },
    {
        .name = "vnfd show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a VNFD with its descriptor",
        .examples = "vnfmctl vnfd show demo-web\nvnfmctl -o json vnfd show demo-web | jq "
                    ".descriptor.params",
        .run = cmd_vnfd_show,
    },
    {
        .name = "vnfd delete",
        .usage = "ID",
        .n_pos = 1,
        .summary = "remove a VNFD (owner or admin)",
        .description = "Refused (409) while a deployment uses it.\n",
        .examples = "vnfmctl vnfd delete demo-web",
        .run = cmd_vnfd_delete,
    },
    {
        .name = "site list",
        .usage = "",
        .summary = "list sites: capacity, free, VIM health",
        .examples = "vnfmctl site list",
        .run = cmd_site_list,
    },
    {
        .name = "site show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a site",
        .examples = "vnfmctl site show local",
        .run = cmd_site_show,
    },
    {
        .name = "site set",
        .usage = "ID",
        .n_pos = 1,
        .summary = "set a site's capacity and warm VIs (admin)",
        .description = "Changes the capacity the manager allocates VIs from, and how many VIs\n"
                       "the site keeps made in advance; options not given keep their value.\n"
                       "Refused (409) below what the site's VIs already hold.\n",
        .opts = site_opts,
        .examples = "vnfmctl site set local --vcpu 8 --memory-mb 16384\n"
                    "vnfmctl site set local --warm-vis 4",
        .run = cmd_site_set,
    },
    {
        .name = "deploy",
        .usage = "NAME --vnfd ID",
        .n_pos = 1,
        .summary = "deploy a VNF from an on-boarded VNFD",
        .description = "Creates deployment NAME (1-64 of [A-Za-z0-9._-]) and runs its lifecycle:\n"
                       "vi_deployment, pre_deployment, deployment, post_deployment. A stage that\n"
                       "fails is retried; when it keeps failing the deployment is rolled back.\n\n"
                       "Parameters come from --params-file, then --param (a later one wins); the\n"
                       "VNFD's defaults fill the rest.\n\n" LIFECYCLE_NOTE,
        .opts = deploy_opts,
        .examples = "vnfmctl deploy web1 --vnfd demo-web --param greeting=hi --wait\n"
                    "vnfmctl deploy web2 --vnfd demo-web --param threads=4 --instances web=2 \\\n"
                    "    --txn-id 42 --callback http://10.0.0.9:9000/done\n"
                    "vnfmctl -o json deploy web3 --vnfd demo-web --params-file p.json | jq -r .id",
        .exit_status = lifecycle_exit,
        .run = cmd_deploy,
    },
    {
        .name = "deployment list",
        .usage = "",
        .summary = "list deployments",
        .opts = dep_list_opts,
        .examples = "vnfmctl deployments\nvnfmctl deployment list --status degraded",
        .run = cmd_deployment_list,
    },
    {
        .name = "deployment show",
        .usage = "NAME",
        .n_pos = 1,
        .summary = "show a deployment and its VIs",
        .description = "Prints the deployment, then a table of its VI instances: name, id,\n"
                       "state, address, main process id and restart count.\n",
        .examples = "vnfmctl deployment show web1\n"
                    "vnfmctl -o json deployment show web1 | jq -r '.vis[].ip'",
        .run = cmd_deployment_show,
    },
    {
        .name = "deployment undeploy",
        .usage = "NAME",
        .n_pos = 1,
        .summary = "undeploy: destroy every VI",
        .description = LIFECYCLE_NOTE,
        .opts = lifecycle_opts,
        .examples = "vnfmctl undeploy web1 --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_undeploy,
    },
    {
        .name = "deployment heal",
        .usage = "NAME",
        .n_pos = 1,
        .summary = "restart the VIs that are not running",
        .description = "Heals every VI that is not running, or only --vi. A VI whose isolation\n"
                       "is gone is redeployed.\n\n" LIFECYCLE_NOTE,
        .opts = heal_opts,
        .examples = "vnfmctl heal web1 --wait\nvnfmctl heal web1 --vi web1/web/0 --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_heal,
    },
    {
        .name = "deployment scale",
        .usage = "NAME --vdu VDU (--count N | --delta N)",
        .n_pos = 1,
        .summary = "scale a VDU out or in",
        .description = "Sets the number of VDU's instances to N (--count) or changes it by N\n"
                       "(--delta), within the VDU's scaling min and max. Scaling in removes the\n"
                       "highest-numbered instances.\n\n" LIFECYCLE_NOTE,
        .opts = scale_opts,
        .examples = "vnfmctl scale web1 --vdu web --delta 1 --wait\n"
                    "vnfmctl scale web1 --vdu web --count 1",
        .exit_status = lifecycle_exit,
        .run = cmd_scale,
    },
    {
        .name = "deployment resize",
        .usage = "NAME --vdu VDU [--vcpu N] [--memory-mb N]",
        .n_pos = 1,
        .summary = "scale a VDU up or down: new CPU and memory limits",
        .description =
            "Gives every instance of VDU the new limits while it runs (F30: no restart),\n"
            "within the VDU's scaling.vcpu_min .. vcpu_max and memory_mb_min ..\n"
            "memory_mb_max (by default its own size up to four times it). A larger size\n"
            "must fit in the site's free capacity.\n\n" LIFECYCLE_NOTE,
        .opts = resize_opts,
        .examples = "vnfmctl resize web1 --vdu web --vcpu 1.5 --memory-mb 256 --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_resize,
    },
    {
        .name = "deployment monitoring",
        .usage = "NAME",
        .n_pos = 1,
        .summary = "show a deployment's metrics and the state of its rules",
        .description =
            "Prints one row per metric and VI - whether the last probe answered, the\n"
            "last value, the average and 95th percentile over the metric's window, how\n"
            "many probes ran and failed, the last error - then one row per rule and\n"
            "target: consecutive matches (HITS), whether the rule is raised, the last\n"
            "value it looked at and the cooldown left. -o json adds every statistic\n"
            "(ewma, min, max, sample counts) and the monitoring and rules definitions.\n",
        .examples = "vnfmctl monitoring web1\n"
                    "vnfmctl -o json monitoring web1 | jq '.metrics.rps.vis[].last'",
        .run = cmd_monitoring,
    },
    {
        .name = "deployment rules",
        .usage = "NAME FILE",
        .n_pos = 2,
        .summary = "replace a running deployment's monitoring and rules",
        .description =
            "FILE is JSON with \"monitoring\" and/or \"rules\" (docs/MONITORING.md) - a\n"
            "VNFD will do. They are validated against the deployment's VNFD and take\n"
            "effect at once, without touching its VNFs (seed para 88); the manager\n"
            "keeps them across restarts. A section not in FILE is kept.\n",
        .examples = "vnfmctl rules web1 autoscale.json\n"
                    "echo '{\"rules\": []}' > none.json && vnfmctl rules web1 none.json",
        .run = cmd_rules_set,
    },
    {
        .name = "metrics push",
        .usage = "NAME --value METRIC=N...",
        .n_pos = 1,
        .summary = "push values of a deployment's push metrics",
        .description = "Feeds metrics whose probe is \"push\": the values count as samples at\n"
                       "once and the rules on them are evaluated.\n",
        .opts = push_opts,
        .examples = "vnfmctl metrics push web1 --value sessions=1200 --value queue=3",
        .run = cmd_metrics_push,
    },
    {
        .name = "decision list",
        .usage = "",
        .summary = "list the rules engine's decisions, newest first",
        .description = "A decision is one firing of a rule: what it saw (the reason), the\n"
                       "lifecycle stage it stands for, and its actions.\n",
        .opts = decision_list_opts,
        .examples = "vnfmctl decisions --deployment web1\nvnfmctl decision list --state failed",
        .run = cmd_decision_list,
    },
    {
        .name = "decision show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a decision: why a rule fired and what its actions did",
        .examples = "vnfmctl decision show dc-3b2c5bad753a",
        .run = cmd_decision_show,
    },
    {
        .name = "schedule create",
        .usage = "DEPLOYMENT --op OPERATION (--at TIME | --in SECONDS)",
        .n_pos = 1,
        .summary = "schedule a lifecycle operation to start at a time",
        .description =
            "The manager keeps the schedule in its store (it survives a restart) and at its\n"
            "time applies the operation as the request of the same name would, for the\n"
            "deployment's tenant; the operation it starts names the schedule\n"
            "(scheduled_operation) and the schedule names the operation (operation_id).\n"
            "A refusal at its time (the deployment is busy or gone) marks it failed with\n"
            "the reason. Prints the new schedule (JSON with -o json).\n",
        .opts = schedule_create_opts,
        .examples = "vnfmctl schedule create web1 --op scale --param vdu=web --param delta=1 "
                    "--in 3600\n"
                    "vnfmctl schedule create web1 --op heal --at 2026-12-04T02:00:00Z",
        .run = cmd_schedule_create,
    },
    {
        .name = "schedule list",
        .usage = "",
        .summary = "list scheduled operations, newest first",
        .opts = schedule_list_opts,
        .examples = "vnfmctl schedule list --state scheduled",
        .run = cmd_schedule_list,
    },
    {
        .name = "schedule show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a scheduled operation",
        .examples = "vnfmctl schedule show sch-5c1e0a9b2d7f",
        .run = cmd_schedule_show,
    },
    {
        .name = "schedule cancel",
        .usage = "ID",
        .n_pos = 1,
        .summary = "cancel a scheduled operation that has not started",
        .examples = "vnfmctl schedule cancel sch-5c1e0a9b2d7f",
        .run = cmd_schedule_cancel,
    },
    {
        .name = "op list",
        .usage = "",
        .summary = "list lifecycle operations, newest first",
        .opts = op_list_opts,
        .examples = "vnfmctl op list --deployment web1\nvnfmctl op list --state failed --limit 5",
        .run = cmd_op_list,
    },
    {
        .name = "op show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show an operation and its stages",
        .examples = "vnfmctl op show op-5c1e0a9b2d7f",
        .run = cmd_op_show,
    },
    {
        .name = "op wait",
        .usage = "ID",
        .n_pos = 1,
        .summary = "follow an operation to its end",
        .description = "Prints the operation's stages on stderr as they happen (as --wait does),\n"
                       "then the finished operation on stdout. An operation that has already\n"
                       "ended is printed at once.\n",
        .opts = wait_opts,
        .examples = "vnfmctl op wait op-5c1e0a9b2d7f --timeout 60",
        .exit_status = "  0  the operation completed\n"
                       "  1  it failed or was rolled back, or the server refused the request\n"
                       "  2  usage error\n"
                       "  3  the manager cannot be reached\n"
                       "  4  --timeout passed first\n",
        .run = cmd_op_wait,
    },
    {
        .name = "op retry",
        .usage = "ID",
        .n_pos = 1,
        .summary = "retry an operation stopped in failed_temp",
        .description = DECIDE_NOTE,
        .opts = decide_opts,
        .examples = "vnfmctl op retry op-5c1e0a9b2d7f --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_op_retry,
    },
    {
        .name = "op rollback",
        .usage = "ID",
        .n_pos = 1,
        .summary = "roll back an operation stopped in failed_temp",
        .description = DECIDE_NOTE,
        .opts = decide_opts,
        .examples = "vnfmctl op rollback op-5c1e0a9b2d7f --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_op_rollback,
    },
    {
        .name = "op fail",
        .usage = "ID",
        .n_pos = 1,
        .summary = "give up an operation stopped in failed_temp",
        .description = DECIDE_NOTE,
        .examples = "vnfmctl op fail op-5c1e0a9b2d7f",
        .run = cmd_op_fail,
    },
    {
        .name = "op cancel",
        .usage = "ID",
        .n_pos = 1,
        .summary = "cancel a running operation: it stops in failed_temp",
        .description = "No further stage or retry starts; once the work in flight has ended the\n"
                       "operation stops in failed_temp (SOL003 5.4.17).\n\n" DECIDE_NOTE,
        .opts = cancel_opts,
        .examples = "vnfmctl op cancel op-5c1e0a9b2d7f --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_op_cancel,
    },
    {
        .name = "logs",
        .usage = "",
        .summary = "query the event log",
        .description = "Prints the lifecycle event log (seed para 52), oldest first: time, level,\n"
                       "category, object and message. Filters combine. --follow keeps the command\n"
                       "running and prints new matching records as they are logged, resuming\n"
                       "after the last one printed.\n",
        .opts = log_opts,
        .examples = "vnfmctl logs --object web1 --category lifecycle\n"
                    "vnfmctl logs --level error --since 2026-11-24T09:00:00Z\n"
                    "vnfmctl logs --tail 20 --follow\n"
                    "vnfmctl -o json logs --event operation | jq -r '.logs[].message'",
        .exit_status = "  0  success (--follow runs until interrupted, e.g. with Ctrl-C)\n"
                       "  1  the server refused the request\n"
                       "  2  usage error\n"
                       "  3  the manager cannot be reached\n",
        .run = cmd_logs,
    },
    {
        .name = "events",
        .usage = "",
        .summary = "print the live event stream",
        .description = "Follows GET /v0/events (server-sent events): one line per event, or with\n"
                       "-o json the raw JSON log record, one per line. Only new events are shown;\n"
                       "use 'logs' for history. When the stream breaks, vnfmctl reconnects and\n"
                       "resumes where it stopped.\n",
        .opts = event_opts,
        .examples =
            "vnfmctl events --deployment web1\n"
            "vnfmctl -o json events --category lifecycle | jq -c 'select(.event==\"stage\")'",
        .exit_status = "  It runs until interrupted (e.g. with Ctrl-C). It stops early with\n"
                       "  1  the server refused the request\n"
                       "  2  usage error\n"
                       "  3  the manager cannot be reached\n",
        .run = cmd_events,
    },
    {
        .name = "join-token create",
        .usage = "SITE",
        .n_pos = 1,
        .summary = "a single-use token a branch manager of SITE joins with (admin, cloud)",
        .description =
            "On a cloud VNFM (--role cloud). The token is shown this once; the cloud keeps\n"
            "only its hash. The branch manager joins with it at its first start:\n"
            "vnfmd --role local --site SITE --cloud-url URL --join-token TOKEN, and keeps the\n"
            "credential it gets in its data dir (a restart needs no token). A token that is\n"
            "wrong, expired, used already or for another site is refused (docs/FEDERATION.md).\n",
        .opts = join_token_opts,
        .examples = "vnfmctl join-token create branch-paris --ttl 2h\n"
                    "vnfmctl -o json join-token create branch-oslo | jq -r .token",
        .run = cmd_join_token_create,
    },
    {
        .name = "join-token list",
        .usage = "",
        .summary = "list join tokens, without secrets: site, expiry, use (admin, cloud)",
        .examples = "vnfmctl join-token list",
        .run = cmd_join_token_list,
    },
    {
        .name = "manager list",
        .usage = "",
        .summary = "the branch managers of the estate: site, state, reachability, load (admin)",
        .description =
            "On a cloud VNFM. STATE is active, or unreachable after --fed-missed report\n"
            "intervals without a report (SINCE: its last report); REACHABLE says 'stale' when\n"
            "the data shown is older than that. LOAD is the manager's load with the parts it\n"
            "is made of: vnfs, vis, probes_per_s, ops_running, ops_queued, cpu (cores) and\n"
            "memory_mb (its cgroup's, or its process's), weighed with the site's policy\n"
            "(docs/FEDERATION.md \"Elastic managers\"). A manager another one started at its\n"
            "branch shows its parent; removed is one stopped by a scale-in decision.\n",
        .examples = "vnfmctl managers\nvnfmctl -o json managers | jq '.managers[].load'",
        .run = cmd_manager_list,
    },
    {
        .name = "site managers",
        .usage = "SITE [--set KEY=VALUE]...",
        .n_pos = 1,
        .summary = "show or set the manager policy of a branch site (admin, cloud)",
        .description =
            "The elastic managers of a branch site (docs/FEDERATION.md \"Elastic managers\"):\n"
            "active, min and max managers, the overload and underload thresholds of a\n"
            "manager's load, for_reports or for_s (how long), cooldown_s, lifecycle (hold,\n"
            "subtract or ignore: what a lifecycle operation running on a manager does to a\n"
            "decision), weights.PART of the load's parts and manager.vcpu/memory_mb (the\n"
            "cgroup limits of a new manager). Without --set it shows the policy and the\n"
            "site's managers with their load; --set changes the members given and keeps the\n"
            "rest. A policy that makes no sense is refused with the field named. The\n"
            "decisions it makes are listed by 'vnfmctl decisions --rule managers'.\n",
        .opts = site_managers_opts,
        .examples = "vnfmctl site managers b1\n"
                    "vnfmctl site managers b1 --set overload=0.8 --set underload=0.2 --set max=3\n"
                    "vnfmctl -o json site managers b1 --set weights.cpu=2",
        .run = cmd_site_managers,
    },
    {
        .name = "site pool",
        .usage = "SITE [--set KEY=VALUE]...",
        .n_pos = 1,
        .summary = "show or set the pool policy of a branch site, and its load (admin, cloud)",
        .description =
            "The branch pool (docs/FEDERATION.md \"The branch pool\"): the overload and\n"
            "underload thresholds of the site's load (the largest of its CPU, memory and disk\n"
            "used over its capacity), for_reports or for_s, cooldown_s, lifecycle (hold or\n"
            "ignore), grow.vcpu_max, grow.memory_mb_max and grow.disk_mb_max (the ceiling of a\n"
            "capacity change, the first answer to an overload), cloud_site (where deployments\n"
            "move) and move_back.after_s. Without --set it shows the policy and the site's load\n"
            "as its managers reported it (with the WAN figures); --set changes the members\n"
            "given and keeps the rest. The decisions are listed by 'vnfmctl decisions --rule\n"
            "pool'.\n",
        .opts = site_pool_opts,
        .examples = "vnfmctl site pool b1\n"
                    "vnfmctl site pool b1 --set overload=0.8 --set underload=0.3\n"
                    "vnfmctl site pool b1 --set move_back.after_s=300\n"
                    "vnfmctl -o json site pool b1 | jq .load.wan",
        .run = cmd_site_pool,
    },
    {
        .name = "manager show",
        .usage = "ID",
        .n_pos = 1,
        .summary = "show a branch manager (admin)",
        .examples = "vnfmctl manager show mgr-3f2a9c01bd",
        .run = cmd_manager_show,
    },
    {
        .name = "manager policy",
        .usage = "ID [--set KEY=VALUE]... [--unset KEY]... [--clear]",
        .n_pos = 1,
        .summary = "show or set a manager's overrides of its site's manager policy (admin, cloud)",
        .description =
            "The members of its site's manager policy that this manager is judged with instead\n"
            "(docs/FEDERATION.md \"Per-manager overrides\"): overload, underload, for_reports\n"
            "or for_s, cooldown_s, hold_s, hold_before_s, anticipate_s, lifecycle, relative\n"
            "and rise. Without options it shows the overrides, the site's policy and the\n"
            "policy the manager is judged with (EFFECTIVE: the site's with the overrides laid\n"
            "over). --set and --unset change the overrides given and keep the rest; --clear\n"
            "drops them all (applied before --set). The members about the whole site\n"
            "(active, min, max, standby, weights, manager) cannot be overridden; overrides\n"
            "that make no sense with the site's policy are refused with the field named, and\n"
            "so is a new site policy that the overrides of one of its managers would no\n"
            "longer make sense with (409 naming the manager).\n",
        .opts = manager_policy_opts,
        .examples = "vnfmctl manager policy mgr-3f2a9c01bd\n"
                    "vnfmctl manager policy mgr-3f2a9c01bd --set overload=0.9 --set for_s=30\n"
                    "vnfmctl manager policy mgr-3f2a9c01bd --unset for_s\n"
                    "vnfmctl -o json manager policy mgr-3f2a9c01bd --clear",
        .run = cmd_manager_policy,
    },
    {
        .name = "manager report",
        .usage = "ID",
        .n_pos = 1,
        .summary = "ask a branch manager for a report now (admin, cloud)",
        .description =
            "Sent over the manager's channel (docs/FEDERATION.md \"Pulling a report\");\n"
            "refused (503) when it has none open.\n",
        .examples = "vnfmctl manager report mgr-3f2a9c01bd",
        .run = cmd_manager_report,
    },
    {
        .name = "manager remove",
        .usage = "ID [--force]",
        .n_pos = 1,
        .summary = "remove a branch manager from the estate (admin, cloud)",
        .description =
            "Its credential is refused from then on (the branch manager goes on alone, its\n"
            "own rules deciding for all of its deployments) and its channel is closed; it is\n"
            "listed as removed. Refused (409) while the cloud mirrors deployments of it or\n"
            "has instructions for it not yet applied: move or undeploy them first, or use\n"
            "--force, which takes its deployments out of the estate (their VNFs keep running\n"
            "at the branch) and fails those instructions and the operations it ran\n"
            "(docs/FEDERATION.md \"Removing a manager\"). To bring it back: remove fed.json from\n"
            "its data dir and start it with a new join token (it joins again, with a new\n"
            "credential).\n",
        .opts = force_opts,
        .examples = "vnfmctl manager remove mgr-3f2a9c01bd\n"
                    "vnfmctl manager remove mgr-3f2a9c01bd --force",
        .run = cmd_manager_remove,
    },
    {
        .name = "manager move",
        .usage = "ID --site SITE [--wait]",
        .n_pos = 1,
        .summary = "move a branch manager to the cloud VNFM's host, or back (admin, cloud)",
        .description =
            "The branch manager starts again on the cloud VNFM's host from the copy of its\n"
            "store, and its branch keeps only the VIM agent it becomes: its VNFs keep\n"
            "running where they are, managed from the cloud through the agent, their service\n"
            "endpoints at the branch kept by the agent (docs/FEDERATION.md \"Moving a branch\n"
            "manager to the cloud\"; seed para 1011). Stages: snapshot (the branch stops\n"
            "taking requests and sends its store), start (the moved manager runs here),\n"
            "handover (the branch became the agent and the moved manager has its VIs). A\n"
            "stage that fails or does not end in the cloud's --fed-move-stage-s (90 s) rolls\n"
            "the move back: the moved manager stops and the branch manager starts again as it\n"
            "was. Refused while the manager runs an operation or managers it started.\n"
            "'vnfmctl manager remove ID' stops a moved manager (its VNFs keep running at the\n"
            "branch).\n"
            "With its own branch site as SITE, a manager the cloud runs goes back to its\n"
            "branch (\"Moving it back to its branch\"): snapshot (it stops taking requests and\n"
            "hands its store to the agent), handover (the agent became the manager again, the\n"
            "same process, and reports; the copy in the cloud stops). Nothing is rolled back\n"
            "once the agent has the store: a failure says what runs where.\n",
        .opts = manager_move_opts,
        .exit_status = "  0  the move was accepted (--wait: it completed)\n"
                       "  1  refused, or (--wait) it rolled back or failed\n"
                       "  2  usage\n"
                       "  3  the manager cannot be reached\n"
                       "  4  --timeout passed before the move ended (it goes on)\n",
        .examples =
            "vnfmctl manager move mgr-3f2a9c01bd --site cloud --wait\n"
            "vnfmctl -o json manager move mgr-3f2a9c01bd --site cloud --wait | jq .stages\n"
            "vnfmctl manager move mgr-3f2a9c01bd --site berlin --wait   (back to its branch)",
        .run = cmd_manager_move,
    },
    {
        .name = "deployment rules-owner",
        .usage = "NAME OWNER",
        .n_pos = 2,
        .summary = "whose rules decide for a branch deployment: branch or cloud",
        .description =
            "One owner decides per deployment (docs/FEDERATION.md \"One owner per\n"
            "deployment\"). On the cloud, for a branch deployment, an instruction to its\n"
            "manager: the cloud's rules (vnfmctl rules NAME FILE there) decide once the\n"
            "branch applied it. At a branch, at once. A branch that loses the cloud takes\n"
            "its rules back until the cloud takes its reports again.\n",
        .examples = "vnfmctl rules-owner web1 cloud\nvnfmctl rules-owner web1 branch",
        .run = cmd_rules_owner,
    },
    {
        .name = "deployment move",
        .usage = "NAME --site SITE [--drain S]",
        .n_pos = 1,
        .summary = "move a deployment between its branch and the cloud (on a cloud VNFM)",
        .description =
            "Make-before-break (docs/FEDERATION.md \"Moves\"): a clone at SITE with the\n"
            "deployment's configuration, its service endpoint at the branch switched to\n"
            "the clone once it answers, a drain of S seconds (default 5) for the\n"
            "connections already open, then the original undeployed. A step that fails\n"
            "rolls back and the original serves on. The deployment keeps its name; its\n"
            "stages are clone, switch, drain, undeploy (restore, unclone on a "
            "rollback).\n\n" LIFECYCLE_NOTE,
        .opts = move_opts,
        .examples = "vnfmctl move web1 --site cloud --wait\n"
                    "vnfmctl move web1 --site paris --drain 10 --wait -o json",
        .exit_status = lifecycle_exit,
        .run = cmd_move,
    },
    {
        .name = "deployment operate",
        .usage = "NAME --state started|stopped",
        .n_pos = 1,
        .summary = "stop or start a deployment's VIs, keeping them (SOL003 operate)",
        .description =
            "stopped ends the VIs' processes (SIGTERM, then SIGKILL after the grace time;\n"
            "at once with --forceful) and keeps their isolation: namespace, address,\n"
            "cgroup. started starts them again and waits until they answer. The\n"
            "deployment's status is 'stopped' while all are. Already in that state: 409.\n"
            "Scale and change-flavour need it started.\n\n" SOL_NOTE,
        .opts = operate_opts,
        .examples = "vnfmctl operate web1 --state stopped --grace 10 --wait\n"
                    "vnfmctl operate web1 --state started --vi 3f2a9c01bd --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_operate,
    },
    {
        .name = "deployment scale-to-level",
        .usage = "NAME (--level LEVEL | --aspect ASPECT=LEVEL...)",
        .n_pos = 1,
        .summary = "scale to an instantiation level, or aspects to levels (SOL003)",
        .description = "Sets each VDU's instance count to what an instantiation level of the\n"
                       "deployment's flavour gives (--level), or the scale level of aspects\n"
                       "(--aspect; level L of a VDU is scaling.min + L * scaling.step instances).\n"
                       "VIs to add are created, started and checked before any is removed, so a\n"
                       "failure before the removal can still be rolled back.\n\n" SOL_NOTE,
        .opts = scale_level_opts,
        .examples = "vnfmctl scale-to-level web1 --level four --wait\n"
                    "vnfmctl scale-to-level web1 --aspect web=2 --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_scale_to_level,
    },
    {
        .name = "deployment change-flavour",
        .usage = "NAME --flavour FLAVOUR [--level LEVEL]",
        .n_pos = 1,
        .summary = "change a deployment's flavour (SOL003 change_flavour)",
        .description =
            "Rescales to a level of another flavour of the VNFD (docs/SOL003.md\n"
            "\"Flavours and instantiation levels\"); the flavour's scaling bounds then hold\n"
            "for every later scale, native and automatic. The current flavour: 409.\n\n" SOL_NOTE,
        .opts = flavour_opts,
        .examples = "vnfmctl change-flavour web1 --flavour large --level two --wait",
        .exit_status = lifecycle_exit,
        .run = cmd_change_flavour,
    },
    {
        .name = "deployment modify",
        .usage = "NAME [--name NAME] [--description TEXT] [--metadata KEY=VALUE...]",
        .n_pos = 1,
        .summary = "change a deployment's VNF instance information (SOL003 modify)",
        .description = "A JSON merge patch of the VNF instance's name, description and metadata\n"
                       "(PATCH /vnflcm/v1/vnf_instances/NAME), applied when its MODIFY_INFO\n"
                       "operation completes, after the VNFD's update actions (which can veto "
                       "it).\n\n" SOL_NOTE,
        .opts = modify_opts,
        .examples = "vnfmctl modify web1 --name 'web front' --metadata rack=r7 --wait\n"
                    "vnfmctl modify web1 --metadata rack=null",
        .exit_status = lifecycle_exit,
        .run = cmd_modify,
    },
    {.name = "managers", .alias_of = "manager list"},
    {.name = "sites", .alias_of = "site list"},
    {.name = "deployments", .alias_of = "deployment list"},
    {.name = "undeploy", .alias_of = "deployment undeploy"},
    {.name = "heal", .alias_of = "deployment heal"},
    {.name = "scale", .alias_of = "deployment scale"},
    {.name = "resize", .alias_of = "deployment resize"},
    {.name = "monitoring", .alias_of = "deployment monitoring"},
    {.name = "rules", .alias_of = "deployment rules"},
    {.name = "rules-owner", .alias_of = "deployment rules-owner"},
    {.name = "move", .alias_of = "deployment move"},
    {.name = "decisions", .alias_of = "decision list"},
    {.name = "components", .alias_of = "component list"},
    {.name = "instances", .alias_of = "instance list"},
    {.name = "operate", .alias_of = "deployment operate"},
    {.name = "scale-to-level", .alias_of = "deployment scale-to-level"},
    {.name = "change-flavour", .alias_of = "deployment change-flavour"},
    {.name = "modify", .alias_of = "deployment modify"},
    {.name = NULL},
};
