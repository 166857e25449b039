/* vnfmctl command lines: global options, a command's options and
 * positional arguments, and typed access to them. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "--name=value" or "--name" followed by a value word. cmd names the
 * command for the usage hint (NULL for a global option). */
static int value_of(const char *cmd, int argc, char **argv, int *i, const char *name,
                    const char **val)
{
    const char *w = argv[*i], *eq = strchr(w, '=');

    if (eq && strncmp(w, "--", 2) == 0) {
        *val = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return -fail_usage(cmd, "%s needs a value", name);
    *val = argv[++*i];
    return 0;
}

static bool is_word(const char *w, const char *name)
{
    size_t n = strlen(name);

    return strncmp(w, name, n) == 0 && (w[n] == '\0' || (w[n] == '=' && w[1] == '-'));
}

static int set_output(struct ctl *c, const char *v)
{
    if (strcmp(v, "json") != 0 && strcmp(v, "table") != 0)
        return -fail_usage(NULL, "--output must be 'table' or 'json', not '%s'", v);
    c->json = strcmp(v, "json") == 0;
    return 1;
}

int args_global(int argc, char **argv, int *i, struct ctl *c, struct globals *g)
{
    const char *w = argv[*i], *v;
    int rc;

    if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
        g->help = true;
        return 1;
    }
    if (strcmp(w, "--version") == 0) {
        g->version = true;
        return 1;
    }
    if (is_word(w, "-o") || is_word(w, "--output")) {
        rc = value_of(NULL, argc, argv, i, "--output", &v);
        return rc ? rc : set_output(c, v);
    }
    if (strncmp(w, "-o", 2) == 0 && w[2]) /* -ojson */
        return set_output(c, w + 2);
    if (is_word(w, "--url")) {
        rc = value_of(NULL, argc, argv, i, "--url", &c->url);
        return rc ? rc : 1;
    }
    if (is_word(w, "--token")) {
        if ((rc = value_of(NULL, argc, argv, i, "--token", &v)))
            return rc;
        free(c->token);
        c->token = xstrdup(v);
        return 1;
    }
    if (is_word(w, "--cacert")) {
        rc = value_of(NULL, argc, argv, i, "--cacert", &c->cacert);
        return rc ? rc : 1;
    }
    if (is_word(w, "--token-file")) {
        rc = value_of(NULL, argc, argv, i, "--token-file", &g->token_file);
        return rc ? rc : 1;
    }
    return 0;
}

static const struct optspec *find_opt(const struct optspec *opts, const char *name, size_t len)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

/* A negative number ("--delta -1" is handled by the option) or "-": a word. */
static bool is_positional(const char *w)
{
    return w[0] != '-' || w[1] == '\0' || isdigit((unsigned char)w[1]);
}

/* One "--name[=value]" of the command at argv[*i]. */
static int command_opt(const struct command *cmd, int argc, char **argv, int *i, struct args *a)
{
    const char *w = argv[*i], *eq = strchr(w, '=');
    size_t len = eq ? (size_t)(eq - w - 2) : strlen(w) - 2;
    const struct optspec *o = strncmp(w, "--", 2) == 0 ? find_opt(cmd->opts, w + 2, len) : NULL;
    const char *val = "";

    if (!o)
        return fail_usage(a->cmd, "'%s' has no option %.*s", a->cmd,
                          eq ? (int)(eq - w) : (int)strlen(w), w);
    if (!o->arg && eq)
        return fail_usage(a->cmd, "--%s takes no value", o->name);
    if (o->arg && value_of(a->cmd, argc, argv, i, w, &val))
        return EXIT_USAGE;
    if (a->n_opt == MAX_OPTS)
        return fail_usage(a->cmd, "too many options (at most %d)", MAX_OPTS);
    a->opt[a->n_opt].name = o->name;
    a->opt[a->n_opt++].val = val;
    return 0;
}

int args_parse(const struct command *cmd, int argc, char **argv, struct args *a, struct ctl *c,
               struct globals *g)
{
    bool words_only = false;
    int rc;

    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];

        if (!words_only && strcmp(w, "--") == 0) {
            words_only = true;
            continue;
        }
        if (!words_only && !is_positional(w)) {
            rc = args_global(argc, argv, &i, c, g);
            if (rc < 0)
                return -rc;
            if (rc == 0 && (rc = command_opt(cmd, argc, argv, &i, a)))
                return rc;
            continue;
        }
        if (a->n_pos == MAX_POS || a->n_pos == cmd->n_pos)
            return fail_usage(a->cmd, "unexpected argument '%s'", w);
        a->pos[a->n_pos++] = w;
    }
    return 0;
}

const char *arg_opt(const struct args *a, const char *name)
{
    for (int i = a->n_opt - 1; i >= 0; i--)
        if (strcmp(a->opt[i].name, name) == 0)
            return a->opt[i].val;
    return NULL;
}

bool arg_flag(const struct args *a, const char *name)
{
    return arg_opt(a, name) != NULL;
}

int arg_each(const struct args *a, const char *name, int (*fn)(const char *v, void *ctx), void *ctx)
{
    for (int i = 0; i < a->n_opt; i++) {
        if (strcmp(a->opt[i].name, name) == 0) {
            int rc = fn(a->opt[i].val, ctx);

            if (rc)
                return rc;
        }
    }
    return 0;
}

int arg_int(const struct args *a, const char *name, long long lo, long long hi, long long *out)
{
    const char *v = arg_opt(a, name);
    char *end;
    long long n;

    if (!v)
        return 0;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (end == v || *end || errno)
        return fail_usage(a->cmd, "--%s needs an integer, not '%s'", name, v);
    if (n < lo || n > hi)
        return fail_usage(a->cmd, "--%s must be between %lld and %lld", name, lo, hi);
    *out = n;
    return 0;
}

char *arg_query(const char *base, const struct args *a, const char *const *names)
{
    struct sbuf b = SBUF_INIT;
    char sep = strchr(base, '?') ? '&' : '?';

    sbuf_adds(&b, base);
    for (size_t i = 0; names[i]; i++) {
        const char *v = arg_opt(a, names[i]);
        char *e;

        if (!v)
            continue;
        e = ctl_path("%s", v);
        sbuf_addf(&b, "%c%s=%s", sep, names[i], e);
        free(e);
        sep = '&';
    }
    return sbuf_take(&b);
}
