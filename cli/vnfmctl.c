/* vnfmctl: the command line client of vnfmd (docs/CLI.md). Reads the
 * global options, finds the command in the table (cmd_table.c), parses its
 * words and runs it. */
#include "cli/ctl.h"
#include "core/version.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#define DEFAULT_URL        "http://127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE "var/admin.token"

static const struct command *by_name(const char *name)
{
    for (const struct command *c = ctl_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* The command an alias stands for. */
static const struct command *resolve(const struct command *c)
{
    return c->alias_of ? by_name(c->alias_of) : c;
}

/* How many of the words in argv spell name ("deployment show"), or 0. */
static int spells(const char *name, int argc, char **argv)
{
    int n = 0;

    while (n < argc) {
        size_t len = strcspn(name, " ");

        if (strlen(argv[n]) != len || strncmp(argv[n], name, len) != 0)
            return 0;
        n++;
        if (name[len] == '\0')
            return n;
        name += len + 1;
    }
    return 0;
}

/* The longest command whose words start argv; *used is how many words. */
static const struct command *find_command(int argc, char **argv, int *used)
{
    const struct command *best = NULL;

    for (const struct command *c = ctl_commands; c->name; c++) {
        int n = spells(c->name, argc, argv);

        if (n > *used) {
            best = c;
            *used = n;
        }
    }
    return best;
}

/* "list, show, ..." when word is the first word of commands, else NULL.
 * Caller frees. */
static char *subcommands(const char *word)
{
    size_t n = strlen(word);
    struct sbuf b = SBUF_INIT;

    for (const struct command *c = ctl_commands; c->name; c++)
        if (strncmp(c->name, word, n) == 0 && c->name[n] == ' ')
            sbuf_addf(&b, "%s%s", b.len ? ", " : "", c->name + n + 1);
    return b.len ? sbuf_take(&b) : NULL;
}

static bool asks_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* argv[0] is no command: a group without (a known) subcommand, or nothing. */
static int unknown(int argc, char **argv, bool help)
{
    char *subs = subcommands(argv[0]);
    int rc = EXIT_OK;

    if (subs && (help || asks_help(argc - 1, argv + 1)))
        help_group(stdout, argv[0]);
    else if (subs && argc > 1 && argv[1][0] != '-')
        rc = fail_usage(argv[0], "'%s' has no subcommand '%s'; it has %s", argv[0], argv[1], subs);
    else if (subs)
        rc = fail_usage(argv[0], "'%s' needs a subcommand: %s", argv[0], subs);
    else
        rc = fail_usage(NULL, "unknown command '%s'", argv[0]);
    free(subs);
    return rc;
}

/* vnfmctl help [COMMAND] */
static int help(int argc, char **argv)
{
    const struct command *found;
    char *subs;
    int used = 0;

    if (argc == 0) {
        help_overview(stdout);
        return EXIT_OK;
    }
    found = find_command(argc, argv, &used);
    if (found) {
        help_command(resolve(found), found->name);
        return EXIT_OK;
    }
    subs = subcommands(argv[0]);
    if (!subs)
        return fail_usage(NULL, "no command '%s'", argv[0]);
    help_group(stdout, argv[0]);
    free(subs);
    return EXIT_OK;
}

/* The token: --token, --token-file, VNFM_TOKEN, VNFM_TOKEN_FILE, then
 * ./var/admin.token when it exists. Returns 0 or EXIT_USAGE. */
static int load_token(struct ctl *c, const char *file)
{
    const char *env = getenv("VNFM_TOKEN");
    char *text = NULL;
    int rc;

    if (c->token)
        return 0;
    if (!file && env && *env) {
        c->token = xstrdup(env);
        return 0;
    }
    if (!file && getenv("VNFM_TOKEN_FILE") && *getenv("VNFM_TOKEN_FILE"))
        file = getenv("VNFM_TOKEN_FILE");
    if (!file && access(DEFAULT_TOKEN_FILE, R_OK) == 0)
        file = DEFAULT_TOKEN_FILE;
    if (!file)
        return 0;
    rc = read_file(file, 4096, &text, NULL);
    if (rc) {
        fprintf(stderr, "vnfmctl: cannot read the token file %s: %s\n", file, strerror(-rc));
        return EXIT_USAGE;
    }
    text[strcspn(text, " \t\r\n")] = '\0';
    c->token = text;
    return 0;
}

/* The usage error for a missing positional argument: the n-th word of the
 * command's usage. */
static int missing(const struct command *cmd, const char *name, int n)
{
    const char *w = cmd->usage;

    for (int i = 0; i < n; i++)
        w += strcspn(w, " ") + (w[strcspn(w, " ")] == ' ');
    return fail_usage(name, "missing %.*s; usage: vnfmctl %s %s", (int)strcspn(w, " "), w, name,
                      cmd->usage);
}

/* Runs the command at the start of argv. */
static int dispatch(struct ctl *c, int argc, char **argv, struct globals *g)
{
    const struct command *found, *cmd;
    struct args a = {0};
    int used = 0, rc;

    found = find_command(argc, argv, &used);
    if (!found)
        return unknown(argc, argv, g->help);
    cmd = resolve(found);
    a.cmd = found->name;
    rc = args_parse(cmd, argc - used, argv + used, &a, c, g);
    if (rc || g->help || g->version) {
        if (!rc && g->help)
            help_command(cmd, found->name);
        else if (!rc)
            printf("vnfmctl %s\n", VNFM_VERSION);
        return rc;
    }
    if (a.n_pos < cmd->n_pos)
        return missing(cmd, a.cmd, a.n_pos);
    rc = load_token(c, g->token_file);
    return rc ? rc : cmd->run(c, &a);
}

/* Global options before the command; returns the index of the command. */
static int globals(int argc, char **argv, struct ctl *c, struct globals *g, int *rc)
{
    int i = 1, r;

    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        r = args_global(argc, argv, &i, c, g);
        if (r <= 0) {
            *rc = r < 0 ? -r : fail_usage(NULL, "unknown global option %s", argv[i]);
            break;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    const char *env_url = getenv("VNFM_URL"), *env_ca = getenv("VNFM_CA");
    struct ctl c = {.url = env_url && *env_url ? env_url : DEFAULT_URL,
                    .cacert = env_ca && *env_ca ? env_ca : NULL};
    struct globals g = {0};
    int rc = EXIT_OK, first = globals(argc, argv, &c, &g, &rc);

    if (rc == EXIT_OK && first == argc) {
        if (g.version)
            printf("vnfmctl %s\n", VNFM_VERSION);
        else
            help_overview(g.help ? stdout : stderr);
        rc = g.help || g.version ? EXIT_OK : EXIT_USAGE;
    } else if (rc == EXIT_OK && strcmp(argv[first], "help") == 0) {
        rc = help(argc - first - 1, argv + first + 1);
    } else if (rc == EXIT_OK && ctl_set_urls(&c, c.url)) {
        rc = fail_usage(NULL, "--url (VNFM_URL) takes up to %d URLs separated by commas",
                        CTL_URLS_MAX);
    } else if (rc == EXIT_OK) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = dispatch(&c, argc - first, argv + first, &g);
        curl_global_cleanup();
    }
    free(c.token);
    ctl_free_urls(&c);
    return rc;
}
