/* vnfmctl internals: the command table, the words of one command line, the
 * HTTP client and the output helpers. docs/CLI.md is the user's view. */
#ifndef VNFMCTL_CTL_H
#define VNFMCTL_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* Exit status (docs/CLI.md "Exit status"). */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,  /* the server refused, or the operation failed */
    EXIT_USAGE = 2,   /* unknown command or option, missing or bad argument */
    EXIT_CONNECT = 3, /* the manager cannot be reached */
    EXIT_TIMEOUT = 4,
};

#define MAX_POS  4
#define MAX_OPTS 64

#define CTL_URLS_MAX 8

/* Where the manager is, who we are, and how to print. The managers of a
 * cluster are several URLs (VNFM_URL=URL1,URL2; docs/HA.md): requests go to
 * the one that answered last. */
struct ctl {
    const char *url; /* the one requests go to now: urls[cur] */
    char *urls[CTL_URLS_MAX];
    unsigned n_urls, cur;
    const char *cacert; /* PEM CA certificates of an https:// URL; NULL: the system's */
    char *token;        /* NULL: no Authorization header */
    bool json;          /* -o json */
    char location[512]; /* the Location header of the last answer, "" when none */
};

/* Splits list ("URL1,URL2", trailing '/' ignored) into c's URLs. -1 when
 * there are more than CTL_URLS_MAX or an empty one. */
int ctl_set_urls(struct ctl *c, const char *list);
void ctl_free_urls(struct ctl *c);

/* An option of a command: "--name ARG", or a flag when arg is NULL. */
struct optspec {
    const char *name;
    const char *arg;
    const char *help; /* may span lines */
    bool repeat;      /* may be given more than once */
};

/* The words of one command line after the command's name. Flags have the
 * value "". */
struct args {
    const char *cmd; /* the command's name as typed, for messages */
    const char *pos[MAX_POS];
    int n_pos;
    struct {
        const char *name, *val;
    } opt[MAX_OPTS];
    int n_opt;
};

/* One entry of the command table (cmd_table.c). An alias has only name and
 * alias_of, the name of the command it stands for. */
struct command {
    const char *name; /* "deployment show" */
    const char *alias_of;
    const char *usage; /* positional arguments and required options: "NAME --vnfd ID" */
    int n_pos;
    const char *summary; /* one line for the command list */
    const char *description;
    const struct optspec *opts; /* ended by {NULL} */
    const char *examples;
    const char *exit_status; /* NULL: the usual ones */
    int (*run)(struct ctl *c, const struct args *a);
};

extern const struct command ctl_commands[];

/* ---- help.c ---- */

void help_overview(FILE *out);
/* Help of cmd, called name (an alias shows its own name). */
void help_command(const struct command *cmd, const char *name);
/* The commands whose name starts with the word group ("tenant"). */
void help_group(FILE *out, const char *group);

/* ---- args.c ---- */

/* What the global options asked for besides c's settings. */
struct globals {
    const char *token_file; /* --token-file */
    bool help, version;
};
/* Parses the words after the command's name into a; global options found
 * there go to c and g. Returns 0 or EXIT_USAGE (printed). */
int args_parse(const struct command *cmd, int argc, char **argv, struct args *a, struct ctl *c,
               struct globals *g);
/* Handles one global option at argv[*i] (advancing *i past its value).
 * Returns 1 when it was one, 0 when it is not, -EXIT_USAGE on error. */
int args_global(int argc, char **argv, int *i, struct ctl *c, struct globals *g);
/* The last value of option name, or NULL. */
const char *arg_opt(const struct args *a, const char *name);
bool arg_flag(const struct args *a, const char *name);
/* Calls fn for every value of a repeatable option; stops at the first
 * non-zero return and returns it. */
int arg_each(const struct args *a, const char *name, int (*fn)(const char *v, void *ctx),
             void *ctx);
/* Reads option name as an integer in [lo, hi] into *out (untouched when the
 * option is absent). Returns 0 or EXIT_USAGE (printed). */
int arg_int(const struct args *a, const char *name, long long lo, long long hi, long long *out);
/* base plus "?key=value&..." for the options in names that are set (URL
 * encoded). Caller frees. */
char *arg_query(const char *base, const struct args *a, const char *const *names);

/* ---- http.c ---- */

/* Sends one request (body may be NULL; headers: extra "Name: value" lines,
 * NULL terminated, or NULL). Returns the HTTP status and sets *out to the
 * parsed body (a new reference; NULL when empty or not JSON). When there is
 * no answer, prints why and returns -EXIT_CONNECT or -EXIT_TIMEOUT without
 * touching *out. */
int ctl_http(struct ctl *c, const char *method, const char *path, const json_t *body,
             const char *const *headers, json_t **out);
/* ctl_http for callers that only want success: returns EXIT_OK with *out set
 * (may be NULL) on a 2xx answer, else prints the error and returns its exit
 * status. out may be NULL. */
int ctl_call(struct ctl *c, const char *method, const char *path, const json_t *body,
             const char *const *headers, json_t **out);
/* Called with each record of the event stream; returns true to stop. */
typedef bool (*ctl_event_fn)(const json_t *rec, void *ctx);
/* Follows GET /v0/events?query until fn returns true, reconnecting with
 * Last-Event-ID when the stream breaks. timeout_ms 0 waits forever.
 * Returns EXIT_OK when fn stopped it, EXIT_TIMEOUT, or EXIT_CONNECT /
 * EXIT_FAILED after printing why. */
int ctl_follow(struct ctl *c, const char *query, long long timeout_ms, ctl_event_fn fn, void *ctx);
/* fmt with one "%s" filled by id, URL-encoded. Caller frees. */
char *ctl_path(const char *fmt, const char *id);

/* ---- output.c ---- */

/* "vnfmctl: MESSAGE (see 'vnfmctl CMD --help')" on stderr; cmd may be NULL.
 * Returns EXIT_USAGE. */
int fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The server's error in one line; returns EXIT_FAILED. */
int fail_server(int status, const json_t *err);
/* The document as pretty JSON (2-space indent) on stdout. */
void print_json(const json_t *doc);
struct column {
    const char *header;
    const char *key;                /* dotted path into the row, or NULL for fn */
    char *(*fn)(const json_t *row); /* malloc'd cell text */
};
/* An aligned table with a header row (header only for no rows). */
void print_table(const json_t *rows, const struct column *cols);
/* "key: value" lines for the (dotted) keys, aligned. */
void print_fields(const json_t *doc, const char *const *keys);
/* A value (dotted path) as text for people: "" for null or absent, yes/no,
 * "k=v k=v" for flat objects, "a, b" for flat arrays. Caller frees. */
char *cell(const json_t *row, const char *key);
/* GETs path and prints it: JSON, or the array under key as a table. */
int show_list(struct ctl *c, const char *path, const char *key, const struct column *cols);
/* GETs path and prints it: JSON, or the fields in keys. */
int show_one(struct ctl *c, const char *path, const char *const *keys);
/* The same, then the array under key as a table of cols. */
int show_detail(struct ctl *c, const char *path, const char *const *keys, const char *key,
                const struct column *cols);
/* Sends a change (body consumed, may be NULL) and prints the answer: JSON,
 * the fields in keys, or the line done for an empty answer. */
int show_change(struct ctl *c, const char *method, const char *path, json_t *body,
                const char *const *keys, const char *done);

/* ---- cmd_op.c ---- */

/* Reads --timeout (default 300 s) into *timeout_s. Returns 0 or EXIT_USAGE. */
int op_timeout(const struct args *a, long long *timeout_s);
/* Finishes a lifecycle request whose answer was status/op (op consumed):
 * prints the accepted operation or, with wait, follows it to its end.
 * Returns the exit status. */
int op_finish(struct ctl *c, bool wait, long long timeout_s, int status, json_t *op);

/* Sends a lifecycle request (body consumed, may be NULL) with the optional
 * Client-Transaction-Id and Callback headers of LIFECYCLE_OPTS, then
 * finishes it with op_finish() (cmd_deploy.c). */
int ctl_lifecycle(struct ctl *c, const struct args *a, const char *method, const char *path,
                  json_t *body);

/* ---- command handlers (cmd_*.c) ---- */

int cmd_health(struct ctl *c, const struct args *a);
int cmd_version(struct ctl *c, const struct args *a);
int cmd_component_list(struct ctl *c, const struct args *a);
int cmd_instance_list(struct ctl *c, const struct args *a);
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
int cmd_package_build(struct ctl *c, const struct args *a);
int cmd_site_list(struct ctl *c, const struct args *a);
int cmd_join_token_create(struct ctl *c, const struct args *a);
int cmd_join_token_list(struct ctl *c, const struct args *a);
int cmd_manager_list(struct ctl *c, const struct args *a);
int cmd_site_managers(struct ctl *c, const struct args *a);
int cmd_manager_policy(struct ctl *c, const struct args *a);
int cmd_site_pool(struct ctl *c, const struct args *a);
int cmd_manager_show(struct ctl *c, const struct args *a);
int cmd_manager_report(struct ctl *c, const struct args *a);
int cmd_manager_remove(struct ctl *c, const struct args *a);
int cmd_rules_owner(struct ctl *c, const struct args *a);
int cmd_move(struct ctl *c, const struct args *a);
int cmd_manager_move(struct ctl *c, const struct args *a);
int cmd_site_show(struct ctl *c, const struct args *a);
int cmd_site_set(struct ctl *c, const struct args *a);
int cmd_deploy(struct ctl *c, const struct args *a);
int cmd_deployment_list(struct ctl *c, const struct args *a);
int cmd_deployment_show(struct ctl *c, const struct args *a);
int cmd_undeploy(struct ctl *c, const struct args *a);
int cmd_heal(struct ctl *c, const struct args *a);
int cmd_scale(struct ctl *c, const struct args *a);
int cmd_resize(struct ctl *c, const struct args *a);
int cmd_monitoring(struct ctl *c, const struct args *a);
int cmd_rules_set(struct ctl *c, const struct args *a);
int cmd_metrics_push(struct ctl *c, const struct args *a);
int cmd_decision_list(struct ctl *c, const struct args *a);
/* cmd_schedule.c */
int cmd_schedule_create(struct ctl *c, const struct args *a);
int cmd_schedule_list(struct ctl *c, const struct args *a);
int cmd_schedule_show(struct ctl *c, const struct args *a);
int cmd_schedule_cancel(struct ctl *c, const struct args *a);
int cmd_decision_show(struct ctl *c, const struct args *a);
int cmd_op_list(struct ctl *c, const struct args *a);
int cmd_op_show(struct ctl *c, const struct args *a);
int cmd_op_wait(struct ctl *c, const struct args *a);
int cmd_op_retry(struct ctl *c, const struct args *a);
int cmd_op_rollback(struct ctl *c, const struct args *a);
int cmd_op_fail(struct ctl *c, const struct args *a);
int cmd_op_cancel(struct ctl *c, const struct args *a);
/* SOL003-shaped tasks (cmd_sol.c) */
int cmd_operate(struct ctl *c, const struct args *a);
int cmd_scale_to_level(struct ctl *c, const struct args *a);
int cmd_change_flavour(struct ctl *c, const struct args *a);
int cmd_modify(struct ctl *c, const struct args *a);
int cmd_logs(struct ctl *c, const struct args *a);
int cmd_events(struct ctl *c, const struct args *a);

#endif
