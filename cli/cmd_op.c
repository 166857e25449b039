/* vnfmctl commands for lifecycle operations (op list, show, wait) and the
 * following of one operation to its end that --wait and 'op wait' share:
 * its events from GET /v0/events?operation=ID&after=0 become one progress
 * line each on stderr until an "operation" event with a final result. */
#include "cli/ctl.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_S 300
#define MAX_TIMEOUT_S     (7LL * 24 * 3600)

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

/* An operation state or event result that ends the operation (docs/API.md),
 * or stops it until an operator decides (failed_temp). */
static bool final(const char *s)
{
    return is(s, "completed") || is(s, "failed") || is(s, "rolled_back") || is(s, "failed_temp");
}

static void print_operation(struct ctl *c, const json_t *op)
{
    static const char *const keys[] = {
        "id",      "type",     "deployment", "tenant", "state",    "stage",
        "attempt", "error",    "automatic",  "params", "callback", "client_transaction_id",
        "created", "finished", NULL};
    static const struct column stages[] = {{"STAGE", "stage"},
                                           {"RESULT", "result"},
                                           {"ATTEMPTS", "attempts"},
                                           {"STARTED", "started"},
                                           {"FINISHED", "finished"},
                                           {"ERROR", "error"},
                                           {NULL}};

    if (c->json) {
        print_json(op);
        return;
    }
    print_fields(op, keys);
    putchar('\n');
    print_table(json_object_get(op, "stages"), stages);
}

/* Exit status of a finished operation; says why on stderr when it failed. */
static int outcome(const json_t *op)
{
    if (is(str(op, "state"), "completed"))
        return EXIT_OK;
    fprintf(stderr, "vnfmctl: %s of %s ended in state %s: %s\n", str(op, "type"),
            str(op, "deployment"), str(op, "state"),
            str(op, "error") ? str(op, "error") : "no error given");
    return EXIT_FAILED;
}

/* ---- progress lines ---- */

struct waiter {
    int64_t t0; /* the operation's creation, ms since the epoch */
};

static double elapsed(const struct waiter *w, const json_t *rec)
{
    int64_t ms;

    if (!str(rec, "time") || time_parse(str(rec, "time"), &ms) || ms < w->t0)
        return 0;
    return (double)(ms - w->t0) / 1000.0;
}

/* A stage message without its "DEPLOYMENT: STAGE " prefix: "started",
 * "done", "attempt 1 of 3 failed, retrying in 500 ms: ...". */
static const char *stage_text(const json_t *rec, const char *stage)
{
    const char *msg = str(rec, "message"), *dep = str(rec, "deployment");
    size_t n = dep ? strlen(dep) : 0;

    if (!msg || !dep || strncmp(msg, dep, n) != 0 || strncmp(msg + n, ": ", 2) != 0)
        return is(str(rec, "result"), "ok") ? "done" : str(rec, "result");
    msg += n + 2;
    if (strncmp(msg, stage, strlen(stage)) == 0 && msg[strlen(stage)] == ' ')
        msg += strlen(stage) + 1;
    return msg;
}

/* "operation completed", "operation rolling back: ERROR", ... */
static void operation_line(double t, const json_t *rec)
{
    const char *result = str(rec, "result") ? str(rec, "result") : "?";
    const char *msg = str(rec, "message"), *err = msg ? strstr(msg, ": ") : NULL;
    bool bad = is(result, "failed") || is(result, "rolling_back") || is(result, "rolled_back");
    char word[32];

    snprintf(word, sizeof(word), "%s", result);
    for (char *p = word; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (is(result, "started") || is(result, "resumed"))
        fprintf(stderr, "[%5.2fs] operation %s %s\n", t,
                str(rec, "operation") ? str(rec, "operation") : "", word);
    else
        fprintf(stderr, "[%5.2fs] operation %s%s%s\n", t, word, bad && err ? ": " : "",
                bad && err ? err + 2 : "");
}

static bool on_progress(const json_t *rec, void *ctx)
{
    const char *event = str(rec, "event"), *stage = str(rec, "stage");
    double t = elapsed(ctx, rec);

    if (is(event, "operation"))
        operation_line(t, rec);
    else if (is(event, "stage") && stage)
        fprintf(stderr, "[%5.2fs] %-17s %s\n", t, stage, stage_text(rec, stage));
    else
        fprintf(stderr, "[%5.2fs]   %s\n", t, str(rec, "message") ? str(rec, "message") : "");
    fflush(stderr);
    return is(event, "operation") && final(str(rec, "result"));
}

/* ---- following an operation ---- */

/* GETs the finished operation, prints it and returns its exit status. */
static int show_outcome(struct ctl *c, const char *id)
{
    char *p = ctl_path("/v0/operations/%s", id);
    json_t *op = NULL;
    int rc = ctl_call(c, "GET", p, NULL, NULL, &op);

    free(p);
    if (rc)
        return rc;
    print_operation(c, op);
    rc = outcome(op);
    json_decref(op);
    return rc;
}

static int follow_after(struct ctl *c, const json_t *op, long long timeout_s, long long after);

/* Prints op's events until it ends, then the finished operation. */
static int follow(struct ctl *c, const json_t *op, long long timeout_s)
{
    return follow_after(c, op, timeout_s, 0);
}

/* follow, from the events after seq after (those before are history). */
static int follow_after(struct ctl *c, const json_t *op, long long timeout_s, long long after)
{
    const char *id = str(op, "id");
    struct waiter w = {0};
    char *e = ctl_path("%s", id), *q = xasprintf("operation=%s&after=%lld", e, after);
    int rc;

    if (!str(op, "created") || time_parse(str(op, "created"), &w.t0))
        w.t0 = wall_ms();
    rc = ctl_follow(c, q, timeout_s * 1000, on_progress, &w);
    free(q);
    free(e);
    if (rc == EXIT_TIMEOUT)
        fprintf(stderr,
                "vnfmctl: operation %s did not end within %lld s; it goes on in the manager "
                "('vnfmctl op wait %s' follows it)\n",
                id, timeout_s, id);
    return rc ? rc : show_outcome(c, id);
}

int op_timeout(const struct args *a, long long *timeout_s)
{
    *timeout_s = DEFAULT_TIMEOUT_S;
    return arg_int(a, "timeout", 1, MAX_TIMEOUT_S, timeout_s);
}

int op_finish(struct ctl *c, bool wait, long long timeout_s, int status, json_t *op)
{
    const char *id = str(op, "id");
    int rc = EXIT_OK;

    if (status < 0)
        rc = -status;
    else if (status == 204) /* nothing to run: a deployment never instantiated, deleted */
        printf("done (no operation was needed)\n");
    else if (status != 202)
        rc = fail_server(status, op);
    else if (!id)
        rc = fail_server(status, NULL);
    else if (wait)
        rc = follow(c, op, timeout_s);
    else if (c->json)
        print_json(op);
    else
        printf("operation %s accepted: %s of %s (follow it with 'vnfmctl op wait %s')\n", id,
               str(op, "type"), str(op, "deployment"), id);
    json_decref(op);
    return rc;
}

/* ---- commands ---- */

int cmd_op_list(struct ctl *c, const struct args *a)
{
    static const char *const q[] = {"deployment", "state", "type", "limit", NULL};
    static const struct column cols[] = {{"ID", "id"},
                                         {"TYPE", "type"},
                                         {"DEPLOYMENT", "deployment"},
                                         {"STATE", "state"},
                                         {"STAGE", "stage"},
                                         {"CREATED", "created"},
                                         {"FINISHED", "finished"},
                                         {"ERROR", "error"},
                                         {NULL}};
    long long limit;
    char *path;
    int rc;

    if (arg_int(a, "limit", 1, 10000, &limit))
        return EXIT_USAGE;
    path = arg_query("/v0/operations", a, q);
    rc = show_list(c, path, "operations", cols);
    free(path);
    return rc;
}

int cmd_op_show(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/operations/%s", a->pos[0]);
    json_t *op = NULL;
    int rc = ctl_call(c, "GET", p, NULL, NULL, &op);

    free(p);
    if (rc)
        return rc;
    print_operation(c, op);
    json_decref(op);
    return EXIT_OK;
}

int cmd_op_wait(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/operations/%s", a->pos[0]);
    long long timeout_s;
    json_t *op = NULL;
    int rc = op_timeout(a, &timeout_s);

    if (rc == 0)
        rc = ctl_call(c, "GET", p, NULL, NULL, &op);
    free(p);
    if (rc)
        return rc;
    if (final(str(op, "state"))) {
        print_operation(c, op);
        rc = outcome(op);
    } else {
        rc = follow(c, op, timeout_s);
    }
    json_decref(op);
    return rc;
}

/* ---- operator decisions: retry, rollback, fail, cancel ---- */

/* The seq of the operation's newest event: what a decision's --wait skips. */
static long long last_seq(struct ctl *c, const char *id)
{
    char *e = ctl_path("%s", id), *q = xasprintf("/v0/logs?operation=%s&tail=1&limit=1", e);
    json_t *out = NULL;
    long long seq = 0;

    if (ctl_http(c, "GET", q, NULL, NULL, &out) == 200)
        seq = json_integer_value(
            json_object_get(json_array_get(json_object_get(out, "logs"), 0), "seq"));
    json_decref(out);
    free(q);
    free(e);
    return seq;
}

static int decide(struct ctl *c, const struct args *a, const char *what, json_t *body)
{
    char *p = ctl_path("/v0/operations/%s/", a->pos[0]), *path = xasprintf("%s%s", p, what);
    long long timeout_s, after;
    json_t *op = NULL;
    int status, rc = op_timeout(a, &timeout_s);

    free(p);
    if (rc) {
        free(path);
        json_decref(body);
        return rc;
    }
    after = last_seq(c, a->pos[0]);
    if (!body)
        body = json_object();
    status = ctl_http(c, "POST", path, body, NULL, &op);
    free(path);
    json_decref(body);
    if (status == 200) { /* fail: the failed operation */
        print_operation(c, op);
        json_decref(op);
        return EXIT_OK;
    }
    if (status == 202 && arg_flag(a, "wait") && str(op, "id")) {
        rc = follow_after(c, op, timeout_s, after);
        json_decref(op);
        return rc;
    }
    return op_finish(c, false, timeout_s, status, op);
}

int cmd_op_retry(struct ctl *c, const struct args *a)
{
    return decide(c, a, "retry", NULL);
}

int cmd_op_rollback(struct ctl *c, const struct args *a)
{
    return decide(c, a, "rollback", NULL);
}

int cmd_op_fail(struct ctl *c, const struct args *a)
{
    return decide(c, a, "fail", NULL);
}

int cmd_op_cancel(struct ctl *c, const struct args *a)
{
    const char *mode = arg_opt(a, "mode");

    if (mode && strcmp(mode, "GRACEFUL") != 0 && strcmp(mode, "FORCEFUL") != 0)
        return fail_usage(a->cmd, "--mode must be GRACEFUL or FORCEFUL");
    return decide(c, a, "cancel", mode ? json_pack("{s:s}", "mode", mode) : NULL);
}
