/* vnfmctl internals: the command table, the HTTP client and output. */
#ifndef VNFMCTL_H
#define VNFMCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* Exit status (docs/CLI.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1, /* the server refused, or the operation failed */
    EXIT_USAGE = 2,
    EXIT_CONNECT = 3, /* the server cannot be reached */
    EXIT_TIMEOUT = 4,
};

#define MAX_POS  4
#define MAX_OPTS 16

/* Parsed options of one command: --name value pairs (repeatable). */
struct args {
    const char *pos[MAX_POS];
    int n_pos;
    const char *opt_name[MAX_OPTS * 2];
    const char *opt_val[MAX_OPTS * 2];
    int n_opt;
};

struct ctl {
    const char *url;
    char *token;
    bool json; /* -o json */
};

/* An option a command accepts: name without "--", and whether it takes a value. */
struct optspec {
    const char *name;
    bool has_arg;
};

struct command {
    const char *name; /* "deployment show" */
    const char *synopsis;
    const char *help; /* description, options, examples */
    int n_pos;        /* positional arguments required */
    const struct optspec *opts;
    int (*run)(struct ctl *c, const struct args *a);
};

extern const struct command ctl_commands[];

/* Option access. */
const char *arg_opt(const struct args *a, const char *name);
bool arg_flag(const struct args *a, const char *name);
/* Calls fn for every value of a repeatable option. */
int arg_each(const struct args *a, const char *name, int (*fn)(const char *v, void *ctx),
             void *ctx);

/* HTTP. Returns the HTTP status (and *out, a new reference or NULL), or
 * -EXIT_CONNECT after printing why. headers: extra "Name: value" lines. */
int http(struct ctl *c, const char *method, const char *path, const json_t *body,
         const char *const *headers, json_t **out);
/* Follows GET /v0/events?QUERY; fn returns true to stop. Reconnects with
 * Last-Event-ID until timeout_ms. Returns 0, or EXIT_TIMEOUT/EXIT_CONNECT. */
int follow_events(struct ctl *c, const char *query, long timeout_ms,
                  bool (*fn)(const json_t *rec, void *ctx), void *ctx);

/* Output. */
int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the server's error and returns EXIT_FAILED. */
int fail_server(int status, const json_t *err);
void print_json(const json_t *doc);
struct column {
    const char *header;
    const char *key;                /* dotted path into the row, or NULL for fn */
    char *(*fn)(const json_t *row); /* malloc'd cell text */
};
void print_table(const json_t *rows, const struct column *cols);
/* "key: value" lines for the scalar members named in keys. */
void print_fields(const json_t *doc, const char *const *keys);
/* A scalar member (dotted path) as text; "" for null/absent. Malloc'd. */
char *cell(const json_t *row, const char *key);
/* URL-encodes s into a malloc'd string. */
char *url_escape(const char *s);

/* Lifecycle operations: prints the 202 and, with --wait, follows it. */
int finish_operation(struct ctl *c, const struct args *a, int status, json_t *op);

#endif
