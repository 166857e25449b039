/* vnfmctl commands for the event log: logs (GET /v0/logs; --follow goes on
 * with the event stream) and events (the live stream, GET /v0/events). */
#include "cli/ctl.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#define LINE_FMT "%-24s  %-5s  %-9s  %-26s  %s\n"

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static void print_header(const struct ctl *c)
{
    if (!c->json)
        printf(LINE_FMT, "TIME", "LEVEL", "CATEGORY", "OBJECT", "MESSAGE");
}

/* One record: a table line, or compact JSON with -o json. */
static void print_record(const struct ctl *c, const json_t *rec)
{
    char *line;

    if (c->json) {
        line = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
        puts(line);
        free(line);
    } else {
        printf(LINE_FMT, str(rec, "time") ? str(rec, "time") : "",
               str(rec, "level") ? str(rec, "level") : "",
               str(rec, "category") ? str(rec, "category") : "",
               str(rec, "object") ? str(rec, "object") : "-",
               str(rec, "message") ? str(rec, "message") : "");
    }
    fflush(stdout);
}

/* Whether rec is about o, as the manager's "object" filter means it. */
static bool about(const json_t *rec, const char *o)
{
    static const char *const keys[] = {"object", "deployment", "operation", "vi", NULL};
    const char *obj = str(rec, "object"), *slash = obj ? strchr(obj, '/') : NULL;

    for (size_t i = 0; keys[i]; i++)
        if (is(str(rec, keys[i]), o))
            return true;
    return slash && strcmp(slash + 1, o) == 0;
}

static bool has_tag(const json_t *rec, const char *tag)
{
    json_t *t;
    size_t i;

    json_array_foreach(json_object_get(rec, "tags"), i, t)
    {
        if (is(json_string_value(t), tag))
            return true;
    }
    return false;
}

/* The filters of 'logs' the event stream does not apply itself (it knows
 * deployment, operation and category only). */
static bool wanted(const struct args *a, const json_t *rec)
{
    const char *v;

    if ((v = arg_opt(a, "level")) && !is(str(rec, "level"), v))
        return false;
    if ((v = arg_opt(a, "event")) && !is(str(rec, "event"), v))
        return false;
    if ((v = arg_opt(a, "tag")) && !has_tag(rec, v))
        return false;
    return !(v = arg_opt(a, "object")) || about(rec, v);
}

struct follower {
    struct ctl *c;
    const struct args *a;
};

static bool on_record(const json_t *rec, void *arg)
{
    struct follower *f = arg;

    if (wanted(f->a, rec))
        print_record(f->c, rec);
    return false;
}

/* Prints the event stream after seq after until interrupted. Starting
 * from a known seq makes every reconnection resume without a gap. */
static int stream(struct ctl *c, const struct args *a, long long after)
{
    static const char *const q[] = {"deployment", "operation", "category", NULL};
    struct follower f = {c, a};
    char *query = arg_query("", a, q), *full;
    const char *rest = *query ? query + 1 : "";
    int rc;

    full = xasprintf("%s%safter=%lld", rest, *rest ? "&" : "", after);
    rc = ctl_follow(c, full, 0, on_record, &f);
    free(full);
    free(query);
    return rc;
}

/* The seq of the newest record the caller may see (0 for none): where
 * --follow starts when the query printed nothing. */
static int newest_seq(struct ctl *c, long long *seq)
{
    json_t *doc = NULL;
    int rc = ctl_call(c, "GET", "/v0/logs?tail=1&limit=1", NULL, NULL, &doc);

    if (rc)
        return rc;
    *seq =
        json_integer_value(json_object_get(json_array_get(json_object_get(doc, "logs"), 0), "seq"));
    json_decref(doc);
    return 0;
}

/* GET /v0/logs with the options; --tail N is the newest N. */
static char *logs_path(const struct args *a)
{
    static const char *const q[] = {"category", "tag",   "object", "level", "event",
                                    "since",    "until", "limit",  NULL};
    char *path = arg_query("/v0/logs", a, q), *tail;
    const char *n = arg_opt(a, "tail");

    if (!n)
        return path;
    tail = xasprintf("%s%climit=%s&tail=1", path, strchr(path, '?') ? '&' : '?', n);
    free(path);
    return tail;
}

static int check_logs_args(const struct args *a)
{
    long long n;

    if (arg_int(a, "limit", 1, 10000, &n) || arg_int(a, "tail", 1, 10000, &n))
        return EXIT_USAGE;
    if (arg_opt(a, "limit") && arg_opt(a, "tail"))
        return fail_usage(a->cmd, "give --limit or --tail, not both");
    if (arg_flag(a, "follow") && arg_opt(a, "until"))
        return fail_usage(a->cmd, "--follow and --until exclude each other");
    return 0;
}

int cmd_logs(struct ctl *c, const struct args *a)
{
    bool follow = arg_flag(a, "follow");
    long long last = -1, hw = 0;
    json_t *doc = NULL, *rec;
    char *path;
    size_t i;
    int rc;

    if ((rc = check_logs_args(a)) || (follow && (rc = newest_seq(c, &hw))))
        return rc;
    path = logs_path(a);
    rc = ctl_call(c, "GET", path, NULL, NULL, &doc);
    free(path);
    if (rc)
        return rc;
    if (c->json && !follow)
        print_json(doc);
    else
        print_header(c);
    json_array_foreach(json_object_get(doc, "logs"), i, rec)
    {
        if (!c->json || follow)
            print_record(c, rec);
        last = json_integer_value(json_object_get(rec, "seq"));
    }
    json_decref(doc);
    return follow ? stream(c, a, last > hw ? last : hw) : EXIT_OK;
}

int cmd_events(struct ctl *c, const struct args *a)
{
    long long hw = 0;
    int rc = newest_seq(c, &hw);

    if (rc)
        return rc;
    print_header(c);
    fflush(stdout);
    return stream(c, a, hw);
}
