/* vnfmctl help, generated from the command table: the overview
 * (vnfmctl --help), one command (vnfmctl help COMMAND, COMMAND --help) and
 * a group of commands (vnfmctl help tenant). */
#include "cli/ctl.h"
#include "util/mem.h"

#include <ctype.h>
#include <string.h>

#define WRAP       79
#define OPT_WIDTH  22
#define LIST_WIDTH 30

static const char usual_exit[] = "  0  success\n"
                                 "  1  the server refused the request (its message is printed)\n"
                                 "  2  usage error: unknown command or option, missing argument\n"
                                 "  3  the manager cannot be reached\n"
                                 "  4  the manager did not answer within 60 s\n";

/* Prints text with every line indented by n spaces. */
static void indented(FILE *out, const char *text, int n)
{
    while (*text) {
        size_t len = strcspn(text, "\n");

        fprintf(out, "%*s%.*s\n", len ? n : 0, "", (int)len, text);
        text += len + (text[len] == '\n');
    }
}

/* Whether usage already names --name (a required option). */
static bool in_usage(const char *usage, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = usage; (p = strstr(p, "--")); p += 2)
        if (strncmp(p + 2, name, n) == 0 && !isalnum((unsigned char)p[2 + n]) && p[2 + n] != '-')
            return true;
    return false;
}

/* Prints word w (len bytes) of a synopsis after column col, on a new line
 * indented to indent when it would pass WRAP; the column after it. */
static int synopsis_word(int col, int indent, const char *w, int len)
{
    if (col + 1 + len > WRAP)
        return printf("\n%*s%.*s", indent, "", len, w) - 1;
    return col + printf(" %.*s", len, w);
}

static void synopsis(const struct command *cmd, const char *name)
{
    int indent = (int)strlen("Usage: vnfmctl ") + (int)strlen(name) + 1;
    int col = printf("Usage: vnfmctl %s", name);

    for (const char *p = cmd->usage; *p; p += *p == ' ') {
        int len = (int)strcspn(p, " ");

        if (len)
            col = synopsis_word(col, indent, p, len);
        p += len;
    }
    for (const struct optspec *o = cmd->opts; o && o->name; o++) {
        char *w;

        if (in_usage(cmd->usage, o->name))
            continue;
        w = o->arg ? xasprintf("[--%s %s]%s", o->name, o->arg, o->repeat ? "..." : "")
                   : xasprintf("[--%s]", o->name);
        col = synopsis_word(col, indent, w, (int)strlen(w));
        free(w);
    }
    printf("\n");
}

/* Prints text from column col on, wrapped at WRAP with continuation lines
 * indented to indent; a newline in text forces a break. */
static void wrapped(FILE *out, const char *text, int col, int indent)
{
    while (*text) {
        size_t len = strcspn(text, " \n");

        if (col > indent && col + 1 + (int)len > WRAP) {
            col = fprintf(out, "\n%*s", indent, "") - 1;
        } else if (col > indent) {
            col += fprintf(out, " ");
        }
        col += fprintf(out, "%.*s", (int)len, text);
        text += len;
        if (*text == '\n')
            col = fprintf(out, "\n%*s", indent, "") - 1;
        if (*text)
            text++;
    }
    fputc('\n', out);
}

static void options(const struct command *cmd)
{
    printf("\nOptions:\n");
    for (const struct optspec *o = cmd->opts; o && o->name; o++) {
        char *label = o->arg ? xasprintf("--%s %s", o->name, o->arg) : xasprintf("--%s", o->name);
        int col = printf("  %-*s", OPT_WIDTH - 2, label);

        if (strlen(label) > OPT_WIDTH - 4)
            col = printf("\n%*s", OPT_WIDTH, "") - 1;
        wrapped(stdout, o->help, col, OPT_WIDTH);
        free(label);
    }
    printf("  Global options (--url, --cacert, --token, --token-file, -o json) work\n"
           "  here too; see 'vnfmctl --help'.\n");
}

void help_command(const struct command *cmd, const char *name)
{
    synopsis(cmd, name);
    printf("\n%c%s.\n", toupper((unsigned char)cmd->summary[0]), cmd->summary + 1);
    if (strcmp(name, cmd->name) != 0)
        printf("('vnfmctl %s' is short for 'vnfmctl %s'.)\n", name, cmd->name);
    if (cmd->description)
        printf("\n%s", cmd->description);
    options(cmd);
    if (cmd->examples) {
        printf("\nExamples:\n");
        indented(stdout, cmd->examples, 2);
    }
    printf("\nExit status:\n%s", cmd->exit_status ? cmd->exit_status : usual_exit);
}

/* "  NAME USAGE   summary", the summary on its own line when the left part
 * is long. */
static void list_line(FILE *out, const struct command *c)
{
    char *left = xasprintf("%s%s%s", c->name, *c->usage ? " " : "", c->usage);
    int col = fprintf(out, "  %-*s", LIST_WIDTH - 2, left);

    if (strlen(left) > LIST_WIDTH - 4)
        col = fprintf(out, "\n%*s", LIST_WIDTH, "") - 1;
    wrapped(out, c->summary, col, LIST_WIDTH);
    free(left);
}

void help_overview(FILE *out)
{
    fprintf(out, "Usage: vnfmctl [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n\n"
                 "vnfmctl drives vnfmd, the VNF manager, over its REST API: tenants and their\n"
                 "tokens, the VNFD catalogue, sites, deployments and their lifecycle\n"
                 "operations, the event log and the live event stream.\n\n"
                 "Commands:\n");
    for (const struct command *c = ctl_commands; c->name; c++)
        if (!c->alias_of)
            list_line(out, c);
    fprintf(out, "\nShortcuts:\n");
    for (const struct command *c = ctl_commands; c->name; c++)
        if (c->alias_of)
            fprintf(out, "  %-*svnfmctl %s\n", LIST_WIDTH - 2, c->name, c->alias_of);
    fprintf(out, "\nGlobal options (before or after the command):\n"
                 "  --url URL[,URL]    the manager's REST API (env VNFM_URL; default\n"
                 "                     http://127.0.0.1:8080; https:// when vnfmd runs\n"
                 "                     with --tls-cert); several: the managers of a\n"
                 "                     cluster, the primary found and followed (docs/HA.md)\n"
                 "  --cacert FILE      the CA (PEM) that signed an https:// manager's\n"
                 "                     certificate (env VNFM_CA; default: the system's CAs)\n"
                 "  --token TOKEN      bearer token (env VNFM_TOKEN)\n"
                 "  --token-file FILE  read the token from FILE (env VNFM_TOKEN_FILE; default\n"
                 "                     ./var/admin.token when it exists)\n"
                 "  -o, --output FMT   'table' for people (default) or 'json': the server's JSON,\n"
                 "                     pretty-printed, for scripts and jq\n"
                 "  -h, --help         this help, or a command's with a command\n"
                 "  --version          vnfmctl's version\n\n"
                 "'vnfmctl help COMMAND' or 'vnfmctl COMMAND --help' explains a command, with\n"
                 "examples. Progress of --wait goes to stderr; results go to stdout.\n\n"
                 "Exit status:\n"
                 "  0  success\n"
                 "  1  the server refused the request, or an operation followed with --wait\n"
                 "     failed or was rolled back\n"
                 "  2  usage error: unknown command or option, missing or bad argument\n"
                 "  3  the manager cannot be reached (is vnfmd running? is --url right?)\n"
                 "  4  timeout: --wait or 'op wait' gave up, or the manager did not answer\n");
}

void help_group(FILE *out, const char *group)
{
    size_t n = strlen(group);

    fprintf(out, "Usage: vnfmctl %s SUBCOMMAND ...\n\nSubcommands:\n", group);
    for (const struct command *c = ctl_commands; c->name; c++)
        if (!c->alias_of && strncmp(c->name, group, n) == 0 && c->name[n] == ' ')
            list_line(out, c);
    fprintf(out, "\n'vnfmctl help %s SUBCOMMAND' explains one.\n", group);
}
