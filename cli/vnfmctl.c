/* vnfmctl: the command line client of vnfmd (docs/CLI.md). */
#include "cli/ctl.h"
#include "core/version.h"
#include "util/fsutil.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

int cmd_health(struct ctl *c, const struct args *a);
int cmd_version(struct ctl *c, const struct args *a);
int cmd_tenant_list(struct ctl *c, const struct args *a);
int cmd_tenant_show(struct ctl *c, const struct args *a);
int cmd_tenant_create(struct ctl *c, const struct args *a);
int cmd_tenant_update(struct ctl *c, const struct args *a);
int cmd_tenant_delete(struct ctl *c, const struct args *a);
int cmd_token_create(struct ctl *c, const struct args *a);
int cmd_token_list(struct ctl *c, const struct args *a);
int cmd_token_delete(struct ctl *c, const struct args *a);
int cmd_vnfd_onboard(struct ctl *c, const struct args *a);
int cmd_vnfd_list(struct ctl *c, const struct args *a);
int cmd_vnfd_show(struct ctl *c, const struct args *a);
int cmd_vnfd_delete(struct ctl *c, const struct args *a);
int cmd_site_list(struct ctl *c, const struct args *a);
int cmd_site_show(struct ctl *c, const struct args *a);
int cmd_site_set(struct ctl *c, const struct args *a);
int cmd_deploy(struct ctl *c, const struct args *a);
int cmd_deployment_list(struct ctl *c, const struct args *a);
int cmd_deployment_show(struct ctl *c, const struct args *a);
int cmd_undeploy(struct ctl *c, const struct args *a);
int cmd_heal(struct ctl *c, const struct args *a);
int cmd_scale(struct ctl *c, const struct args *a);
int cmd_op_list(struct ctl *c, const struct args *a);
int cmd_op_show(struct ctl *c, const struct args *a);
int cmd_op_wait(struct ctl *c, const struct args *a);
int cmd_logs(struct ctl *c, const struct args *a);
int cmd_events(struct ctl *c, const struct args *a);

static const struct optspec no_opts[] = {{NULL, false}};
static const struct optspec tenant_opts[] = {{"name", true},      {"description", true},
                                             {"disabled", false}, {"enable", false},
                                             {"disable", false},  {NULL, false}};
static const struct optspec desc_opts[] = {{"description", true}, {NULL, false}};
static const struct optspec tenant_opt[] = {{"tenant", true}, {NULL, false}};
static const struct optspec site_opts[] = {
    {"vcpu", true}, {"memory-mb", true}, {"disk-mb", true}, {NULL, false}};
#define LIFECYCLE_OPTS                                      \
    {"wait", false}, {"timeout", true}, {"callback", true}, \
    {                                                       \
        "txn-id", true                                      \
    }
static const struct optspec deploy_opts[] = {
    {"vnfd", true},        {"tenant", true},  {"site", true},      {"param", true},
    {"params-file", true}, {"license", true}, {"instances", true}, {"password", true},
    LIFECYCLE_OPTS,        {NULL, false}};
static const struct optspec lifecycle_opts[] = {LIFECYCLE_OPTS, {NULL, false}};
static const struct optspec heal_opts[] = {{"vi", true}, LIFECYCLE_OPTS, {NULL, false}};
static const struct optspec scale_opts[] = {
    {"vdu", true}, {"count", true}, {"delta", true}, LIFECYCLE_OPTS, {NULL, false}};
static const struct optspec dep_list_opts[] = {
    {"tenant", true}, {"site", true}, {"status", true}, {"vnfd", true}, {NULL, false}};
static const struct optspec op_list_opts[] = {
    {"deployment", true}, {"state", true}, {"type", true}, {"limit", true}, {NULL, false}};
static const struct optspec wait_opts[] = {{"timeout", true}, {NULL, false}};
static const struct optspec log_opts[] = {
    {"category", true},  {"tag", true},     {"object", true}, {"level", true}, {"event", true},
    {"since", true},     {"until", true},   {"limit", true},  {"tail", true},  {"deployment", true},
    {"operation", true}, {"follow", false}, {NULL, false}};
static const struct optspec event_opts[] = {
    {"deployment", true}, {"operation", true}, {"category", true}, {NULL, false}};

#define LIFECYCLE_HELP                                                                   \
    "  --wait            follow the operation's stages as they happen; exit 0 when it\n" \
    "                    completes, 1 when it fails or is rolled back\n"                 \
    "  --timeout S       give up waiting after S seconds (default 300; exit 4)\n"        \
    "  --callback URL    the manager POSTs the finished operation to URL\n"              \
    "  --txn-id ID       Client-Transaction-Id, echoed back and kept on the operation\n"

const struct command ctl_commands[] = {
    {"health", "health",
     "Shows the manager's health code (seed Table 5) and its services.\n"
     "Exit status 0 for 2xxx codes, 1 for 5xxx. Needs no token.\n",
     0, no_opts, cmd_health},
    {"version", "version", "Shows the manager's version, role, site and instance tag.\n", 0,
     no_opts, cmd_version},
    {"tenant list", "tenant list", "Lists tenants (a tenant token sees its own).\n", 0, no_opts,
     cmd_tenant_list},
    {"tenant show", "tenant show ID", "Shows a tenant.\n", 1, no_opts, cmd_tenant_show},
    {"tenant create", "tenant create ID [--name N] [--description D] [--disabled]",
     "Creates a tenant (admin). Example:\n  vnfmctl tenant create acme --name 'ACME Corp'\n", 1,
     tenant_opts, cmd_tenant_create},
    {"tenant update", "tenant update ID [--name N] [--description D] [--enable|--disable]",
     "Changes a tenant (admin). A disabled tenant's tokens stop working.\n", 1, tenant_opts,
     cmd_tenant_update},
    {"tenant delete", "tenant delete ID",
     "Deletes a tenant (admin); refused while it has deployments, VNFDs or tokens.\n", 1, no_opts,
     cmd_tenant_delete},
    {"token create", "token create TENANT [--description D]",
     "Creates a bearer token scoped to TENANT (admin). The secret is shown once.\n", 1, desc_opts,
     cmd_token_create},
    {"token list", "token list", "Lists tokens without their secrets (admin).\n", 0, no_opts,
     cmd_token_list},
    {"token delete", "token delete ID", "Revokes a token (admin).\n", 1, no_opts, cmd_token_delete},
    {"vnfd onboard", "vnfd onboard FILE [--tenant T]",
     "On-boards a VNF descriptor (docs/VNFD.md) after validating it. A day-0 entry may\n"
     "give \"template_file\": PATH (relative to FILE) instead of \"template\"; its text\n"
     "is sent inline. --tenant (admin only) makes it that tenant's; else an admin's\n"
     "VNFD is global and a tenant token's is private to its tenant.\n"
     "Example:\n  vnfmctl vnfd onboard examples/vnfds/demo-web.json\n",
     1, tenant_opt, cmd_vnfd_onboard},
    {"vnfd list", "vnfd list", "Lists the catalogue.\n", 0, no_opts, cmd_vnfd_list},
    {"vnfd show", "vnfd show ID", "Shows a VNFD with its descriptor.\n", 1, no_opts, cmd_vnfd_show},
    {"vnfd delete", "vnfd delete ID", "Removes a VNFD no deployment uses.\n", 1, no_opts,
     cmd_vnfd_delete},
    {"site list", "site list", "Lists sites with capacity, free resources and VIM health.\n", 0,
     no_opts, cmd_site_list},
    {"site show", "site show ID", "Shows a site.\n", 1, no_opts, cmd_site_show},
    {"site set", "site set ID [--vcpu N] [--memory-mb N] [--disk-mb N]",
     "Sets a site's capacity (admin); refused below what its VIs hold.\n", 1, site_opts,
     cmd_site_set},
    {"deploy",
     "deploy NAME --vnfd ID [--tenant T] [--site S] [--param KEY=VALUE]... [--params-file F]\n"
     "       [--instances VDU=N]... [--license L] [--password P] [--wait] [--timeout S]",
     "Deploys a VNF. Each --param VALUE is read as JSON when it parses as JSON (numbers,\n"
     "true/false, [\"a\",\"b\"] lists), else as a string. --instances overrides the\n"
     "VDU's initial count. --password sets the day-0 password (else one is "
     "generated).\n" LIFECYCLE_HELP
     "Example:\n  vnfmctl deploy web1 --vnfd demo-web --param greeting=hi --wait\n",
     1, deploy_opts, cmd_deploy},
    {"deployment list", "deployment list [--tenant T] [--site S] [--status S] [--vnfd V]",
     "Lists deployments. Also: vnfmctl deployments.\n", 0, dep_list_opts, cmd_deployment_list},
    {"deployments", "deployments", "Lists deployments.\n", 0, dep_list_opts, cmd_deployment_list},
    {"deployment show", "deployment show NAME",
     "Shows a deployment and its VI instances (state, address, pid).\n", 1, no_opts,
     cmd_deployment_show},
    {"deployment undeploy", "deployment undeploy NAME [--wait]",
     "Undeploys: runs the undeployment actions, then destroys every VI.\n" LIFECYCLE_HELP, 1,
     lifecycle_opts, cmd_undeploy},
    {"undeploy", "undeploy NAME [--wait]", "Same as 'deployment undeploy'.\n" LIFECYCLE_HELP, 1,
     lifecycle_opts, cmd_undeploy},
    {"deployment heal", "deployment heal NAME [--vi VI] [--wait]",
     "Heals a deployment: restarts every VI that is not running, or the one named by\n"
     "--vi (its id or name); a VI whose isolation is gone is redeployed.\n" LIFECYCLE_HELP,
     1, heal_opts, cmd_heal},
    {"heal", "heal NAME [--vi VI] [--wait]", "Same as 'deployment heal'.\n" LIFECYCLE_HELP, 1,
     heal_opts, cmd_heal},
    {"deployment scale", "deployment scale NAME --vdu VDU (--count N | --delta N) [--wait]",
     "Scales a VDU out or in to N instances (or by +/-N), within its scaling min/max.\n"
     "Scaling in removes the highest-numbered instances.\n" LIFECYCLE_HELP
     "Example:\n  vnfmctl scale web1 --vdu web --delta 1 --wait\n",
     1, scale_opts, cmd_scale},
    {"scale", "scale NAME --vdu VDU (--count N | --delta N) [--wait]",
     "Same as 'deployment scale'.\n" LIFECYCLE_HELP, 1, scale_opts, cmd_scale},
    {"op list", "op list [--deployment D] [--state S] [--type T] [--limit N]",
     "Lists lifecycle operations, newest first.\n", 0, op_list_opts, cmd_op_list},
    {"op show", "op show ID", "Shows an operation with the history of its stages.\n", 1, no_opts,
     cmd_op_show},
    {"op wait", "op wait ID [--timeout S]",
     "Follows an operation until it ends, printing its stages; exit 0 when it completed.\n", 1,
     wait_opts, cmd_op_wait},
    {"logs",
     "logs [--category C] [--tag T] [--object O] [--level L] [--event E] [--since TIME]\n"
     "     [--until TIME] [--limit N] [--tail N] [--follow]",
     "Queries the lifecycle event log (seed para 52). --object matches a deployment,\n"
     "operation or VI id; TIME is RFC 3339 or epoch milliseconds; --tail N shows the\n"
     "newest N; --follow keeps printing new records.\n"
     "Example:\n  vnfmctl logs --object web1 --category lifecycle\n",
     0, log_opts, cmd_logs},
    {"events", "events [--deployment D] [--operation O] [--category C]",
     "Prints the live event stream (server-sent events) until interrupted.\n", 0, event_opts,
     cmd_events},
    {NULL, NULL, NULL, 0, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: vnfmctl [--url URL] [--token TOKEN | --token-file FILE] [-o table|json]\n"
                 "               COMMAND [ARGS]\n"
                 "The command line client of vnfmd, the VNF manager.\n\n"
                 "Commands:\n");
    for (const struct command *c = ctl_commands; c->name; c++)
        fprintf(out, "  %s\n", c->synopsis);
    fprintf(out, "\nGlobal options:\n"
                 "  --url URL          the manager (env VNFM_URL; default http://127.0.0.1:8080)\n"
                 "  --token TOKEN      bearer token (env VNFM_TOKEN)\n"
                 "  --token-file FILE  read the token from FILE (env VNFM_TOKEN_FILE;\n"
                 "                     default ./var/admin.token when it exists)\n"
                 "  -o, --output FMT   'table' for people (default) or 'json' for scripts\n"
                 "  --help, --version\n\n"
                 "'vnfmctl help COMMAND' or 'vnfmctl COMMAND --help' explains a command.\n\n"
                 "Exit status: 0 success; 1 the server refused or the operation failed;\n"
                 "2 usage error; 3 the manager cannot be reached; 4 timeout.\n");
}

static void command_help(const struct command *c)
{
    printf("Usage: vnfmctl %s\n\n%s", c->synopsis, c->help);
}

/* Longest command whose words start argv; *used is how many words. */
static const struct command *find_command(int argc, char **argv, int *used)
{
    const struct command *best = NULL;

    for (const struct command *c = ctl_commands; c->name; c++) {
        const char *p = c->name;
        int n = 0;

        while (n < argc) {
            size_t len = strcspn(p, " ");

            if (strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
                break;
            n++;
            p += len;
            if (*p == '\0') {
                if (!best || n > *used) {
                    best = c;
                    *used = n;
                }
                break;
            }
            p++;
        }
    }
    return best;
}

const char *arg_opt(const struct args *a, const char *name)
{
    for (int i = a->n_opt - 1; i >= 0; i--)
        if (strcmp(a->opt_name[i], name) == 0)
            return a->opt_val[i];
    return NULL;
}

bool arg_flag(const struct args *a, const char *name)
{
    return arg_opt(a, name) != NULL;
}

int arg_each(const struct args *a, const char *name, int (*fn)(const char *v, void *ctx), void *ctx)
{
    for (int i = 0; i < a->n_opt; i++) {
        if (strcmp(a->opt_name[i], name) == 0) {
            int rc = fn(a->opt_val[i], ctx);

            if (rc)
                return rc;
        }
    }
    return 0;
}

static const struct optspec *find_opt(const struct optspec *opts, const char *name)
{
    for (; opts->name; opts++)
        if (strcmp(opts->name, name) == 0)
            return opts;
    return NULL;
}

/* Parses the words after the command; global options may appear here too. */
static int parse_args(struct ctl *c, const struct command *cmd, int argc, char **argv,
                      struct args *a, const char **token_file, bool *help)
{
    for (int i = 0; i < argc; i++) {
        char *w = argv[i], *eq;
        const struct optspec *o;

        if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            *help = true;
            continue;
        }
        if (strcmp(w, "-o") == 0 || strcmp(w, "--output") == 0 || strcmp(w, "--url") == 0 ||
            strcmp(w, "--token") == 0 || strcmp(w, "--token-file") == 0) {
            if (++i == argc)
                return fail_usage("%s needs a value", w);
            if (w[1] == 'o' || strcmp(w, "--output") == 0)
                c->json = strcmp(argv[i], "json") == 0;
            else if (strcmp(w, "--url") == 0)
                c->url = argv[i];
            else if (strcmp(w, "--token") == 0)
                c->token = xstrdup(argv[i]);
            else
                *token_file = argv[i];
            continue;
        }
        if (strncmp(w, "--", 2) != 0) {
            if (a->n_pos == MAX_POS)
                return fail_usage("too many arguments for '%s'", cmd->name);
            a->pos[a->n_pos++] = w;
            continue;
        }
        eq = strchr(w, '=');
        if (eq)
            *eq = '\0';
        o = find_opt(cmd->opts, w + 2);
        if (!o)
            return fail_usage("'%s' has no option %s", cmd->name, w);
        if (a->n_opt == MAX_OPTS * 2)
            return fail_usage("too many options");
        a->opt_name[a->n_opt] = o->name;
        if (o->has_arg && !eq && ++i == argc)
            return fail_usage("%s needs a value", w);
        a->opt_val[a->n_opt++] = !o->has_arg ? "" : eq ? eq + 1 : argv[i];
    }
    return 0;
}

static void load_token(struct ctl *c, const char *file)
{
    char *text = NULL;

    if (!c->token && getenv("VNFM_TOKEN") && *getenv("VNFM_TOKEN"))
        c->token = xstrdup(getenv("VNFM_TOKEN"));
    if (c->token)
        return;
    if (!file)
        file = getenv("VNFM_TOKEN_FILE");
    if (!file && access("var/admin.token", R_OK) == 0)
        file = "var/admin.token";
    if (file && read_file(file, 4096, &text, NULL) == 0) {
        text[strcspn(text, "\r\n")] = '\0';
        c->token = text;
    } else if (file) {
        fprintf(stderr, "vnfmctl: cannot read token file %s\n", file);
    }
}

int main(int argc, char **argv)
{
    struct ctl c = {.url = getenv("VNFM_URL") ? getenv("VNFM_URL") : "http://127.0.0.1:8080"};
    const char *token_file = NULL;
    const struct command *cmd;
    struct args a = {0};
    bool help = false;
    int used = 0, first = 1, rc;

    /* global options before the command */
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[first], "--version")) {
            printf("vnfmctl %s\n", VNFM_VERSION);
            return EXIT_OK;
        }
        if (first + 1 == argc)
            return fail_usage("%s needs a value", argv[first]);
        if (!strcmp(argv[first], "-o") || !strcmp(argv[first], "--output"))
            c.json = strcmp(argv[first + 1], "json") == 0;
        else if (!strcmp(argv[first], "--url"))
            c.url = argv[first + 1];
        else if (!strcmp(argv[first], "--token"))
            c.token = xstrdup(argv[first + 1]);
        else if (!strcmp(argv[first], "--token-file"))
            token_file = argv[first + 1];
        else
            return fail_usage("unknown option %s", argv[first]);
        first += 2;
    }
    if (first == argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[first], "help") == 0) {
        cmd = first + 1 < argc ? find_command(argc - first - 1, argv + first + 1, &used) : NULL;
        if (cmd)
            command_help(cmd);
        else
            usage(stdout);
        return EXIT_OK;
    }
    cmd = find_command(argc - first, argv + first, &used);
    if (!cmd)
        return fail_usage("unknown command '%s'", argv[first]);
    rc = parse_args(&c, cmd, argc - first - used, argv + first + used, &a, &token_file, &help);
    if (rc)
        return rc;
    if (help) {
        command_help(cmd);
        return EXIT_OK;
    }
    if (a.n_pos != cmd->n_pos)
        return fail_usage("usage: vnfmctl %s", cmd->synopsis);
    load_token(&c, token_file);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmd->run(&c, &a);
    curl_global_cleanup();
    free(c.token);
    return rc;
}
