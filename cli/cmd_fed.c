/* The estate on a cloud VNFM (docs/FEDERATION.md): join tokens for new
 * branch managers, and the managers that joined. */
#include "ctl.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "90", "90s", "10m", "1h", "2d" into seconds; -1 when it is none of them. */
static long long duration_s(const char *s)
{
    char *end;
    long long n = strtoll(s, &end, 10);

    if (end == s || n <= 0)
        return -1;
    if (!*end || strcmp(end, "s") == 0)
        return n;
    if (strcmp(end, "m") == 0)
        return n * 60;
    if (strcmp(end, "h") == 0)
        return n * 3600;
    if (strcmp(end, "d") == 0)
        return n * 86400;
    return -1;
}

int cmd_join_token_create(struct ctl *c, const struct args *a)
{
    json_t *body = json_pack("{s:s}", "site", a->pos[0]), *doc = NULL;
    const char *ttl = arg_opt(a, "ttl");
    int rc;

    if (ttl && duration_s(ttl) < 0) {
        json_decref(body);
        return fail_usage(a->cmd, "--ttl must be a duration such as 30m, 1h or 2d, not '%s'", ttl);
    }
    if (ttl)
        json_object_set_new(body, "ttl_s", json_integer(duration_s(ttl)));
    if (arg_opt(a, "description"))
        json_object_set_new(body, "description", json_string(arg_opt(a, "description")));
    rc = ctl_call(c, "POST", "/v0/join-tokens", body, NULL, &doc);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        print_json(doc);
    else
        printf("Join token %s for site %s, valid once until %s:\n\n"
               "    %s\n\n"
               "At the branch: vnfmd --role local --site %s --cloud-url URL --join-token TOKEN\n",
               json_string_value(json_object_get(doc, "id")), a->pos[0],
               json_string_value(json_object_get(doc, "expires")),
               json_string_value(json_object_get(doc, "token")), a->pos[0]);
    json_decref(doc);
    return EXIT_OK;
}

int cmd_join_token_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"SITE", "site"},
                                         {"EXPIRES", "expires"},
                                         {"USED", "used"},
                                         {"BY", "used_by"},
                                         {"DESCRIPTION", "description"},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/join-tokens", "join_tokens", cols);
}

static char *col_load(const json_t *row)
{
    const json_t *load = json_object_get(row, "load");
    const json_t *parts = json_object_get(load, "parts");
    const char *k;
    json_t *v;
    char *out, *next;

    if (!json_is_number(json_object_get(load, "value")))
        return xstrdup("");
    out = xasprintf("%.2f", json_number_value(json_object_get(load, "value")));
    json_object_foreach((json_t *)parts, k, v)
    {
        next = xasprintf("%s %s=%.2f", out, k, json_number_value(v));
        free(out);
        out = next;
    }
    return out;
}

static char *col_reach(const json_t *row)
{
    bool stale = json_is_true(json_object_get(row, "stale"));

    return xstrdup(json_is_true(json_object_get(row, "reachable")) ? (stale ? "yes (stale)" : "yes")
                                                                   : "no");
}

int cmd_manager_list(struct ctl *c, const struct args *a)
{
    static const struct column cols[] = {{"ID", "id"},
                                         {"SITE", "site"},
                                         {"ROLE", "role"},
                                         {"STATE", "state"},
                                         {"PARENT", "parent"},
                                         {"SINCE", "since"},
                                         {"REACHABLE", NULL, col_reach},
                                         {"LAST REPORT", "last_report"},
                                         {"DEPLOYMENTS", "deployments"},
                                         {"LOAD (PARTS)", NULL, col_load},
                                         {NULL}};

    (void)a;
    return show_list(c, "/v0/managers", "managers", cols);
}

int cmd_manager_show(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {
        "id",          "site",       "role",       "state",       "since",    "reachable",
        "last_report", "stale",      "reports",    "deployments", "load",     "host",
        "tag",         "version",    "joined",     "parent",      "children", "move.id",
        "move.to",     "move.state", "move.stage", NULL};
    char *p = ctl_path("/v0/managers/%s", a->pos[0]);
    int rc = show_one(c, p, keys);

    free(p);
    return rc;
}

int cmd_manager_report(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/managers/%s/report", a->pos[0]);
    int rc = show_change(c, "POST", p, NULL, NULL,
                         "report asked for: the manager sends one now (see its LAST REPORT)");

    free(p);
    return rc;
}

int cmd_manager_remove(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"id", "site", "state", "since", NULL};
    char *id = ctl_path("/v0/managers/%s", a->pos[0]);
    char *p = xasprintf("%s%s", id, arg_flag(a, "force") ? "?force=true" : "");
    int rc = show_change(c, "DELETE", p, NULL, keys, NULL);

    free(p);
    free(id);
    return rc;
}

/* The stages of move that changed since seen (each stage's name and
 * result, one line each, on stderr). */
static void move_progress(const json_t *move, json_t *seen, double t)
{
    const json_t *s;
    size_t i;

    json_array_foreach(json_object_get(move, "stages"), i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *result = json_string_value(json_object_get(s, "result"));
        const char *err = json_string_value(json_object_get(s, "error"));

        const char *was = json_string_value(json_object_get(seen, name ? name : ""));

        if (!name || !result || (was && strcmp(was, result) == 0))
            continue;
        json_object_set_new(seen, name, json_string(result));
        fprintf(stderr, "[%5.2fs] %-17s %s%s%s\n", t, name, result, err ? ": " : "",
                err ? err : "");
    }
}

/* vnfmctl manager move ID --site SITE [--wait] (docs/FEDERATION.md "Moving a
 * branch manager to the cloud") */
int cmd_manager_move(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {"id", "manager", "site", "to", "state", "stage", NULL};
    char *p = ctl_path("/v0/managers/%s/move", a->pos[0]), *mp;
    long long timeout_s = 300;
    json_t *move = NULL, *seen, *m = NULL, *body;
    struct timespec t0, now;
    int rc;

    if (!arg_opt(a, "site")) {
        free(p);
        return fail_usage(a->cmd, "manager move needs --site SITE");
    }
    if (op_timeout(a, &timeout_s)) {
        free(p);
        return EXIT_USAGE;
    }
    body = json_pack("{s:s}", "site", arg_opt(a, "site"));
    rc = ctl_call(c, "POST", p, body, NULL, &move);
    json_decref(body);
    free(p);
    if (rc || !arg_flag(a, "wait")) {
        if (rc == EXIT_OK && c->json)
            print_json(move);
        else if (rc == EXIT_OK)
            print_fields(move, keys);
        json_decref(move);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    seen = json_object();
    mp = ctl_path("/v0/managers/%s", a->pos[0]);
    for (;;) {
        const json_t *now_move;
        double t;

        json_decref(m);
        m = NULL;
        rc = ctl_call(c, "GET", mp, NULL, NULL, &m);
        clock_gettime(CLOCK_MONOTONIC, &now);
        t = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        now_move = json_object_get(m, "move");
        if (rc)
            break;
        move_progress(now_move, seen, t);
        const char *state = json_string_value(json_object_get(now_move, "state"));

        if (!state || strcmp(state, "processing")) {
            fprintf(stderr, "[%5.2fs] move %s\n", t, state ? state : "?");
            if (c->json)
                print_json(now_move);
            else
                print_fields(now_move, keys);
            rc = state && strcmp(state, "completed") == 0 ? EXIT_OK : EXIT_FAILED;
            break;
        }
        if (t > (double)timeout_s) {
            fprintf(stderr, "vnfmctl: the move did not end within %lld s (it goes on)\n",
                    timeout_s);
            rc = EXIT_TIMEOUT;
            break;
        }
        usleep(200000);
    }
    json_decref(m);
    json_decref(seen);
    json_decref(move);
    free(mp);
    return rc;
}

int cmd_rules_owner(struct ctl *c, const struct args *a)
{
    static const char *const keys[] = {
        "deployment", "rules_owner", "rules_owner_set", "rules_owner_gen", "id", "state", NULL};
    json_t *body;
    char *p;
    int rc;

    if (strcmp(a->pos[1], "branch") && strcmp(a->pos[1], "cloud"))
        return fail_usage(a->cmd, "OWNER is branch or cloud, not '%s'", a->pos[1]);
    body = json_pack("{s:s}", "owner", a->pos[1]);
    p = ctl_path("/v0/deployments/%s/rules-owner", a->pos[0]);
    rc = show_change(c, "PUT", p, body, keys, NULL);
    free(p);
    return rc;
}

/* ---- the manager policy of a branch site (elastic managers) ---- */

/* A policy being edited, and the command that edits it (for its errors). */
struct edit {
    json_t *body;
    const char *cmd;
};

/* KEY=VALUE into the policy: KEY may be dotted (weights.cpu,
 * manager.vcpu); VALUE is a number when it reads as one. */
static int set_field(const char *kv, void *arg)
{
    const struct edit *ed = arg;
    const char *eq = strchr(kv, '='), *dot;
    json_t *obj = ed->body, *v;
    char *key, *end;
    double n;

    if (!eq || eq == kv)
        return fail_usage(ed->cmd, "--set: '%s' is not KEY=VALUE", kv);
    n = strtod(eq + 1, &end);
    v = (*end || end == eq + 1)     ? json_string(eq + 1)
        : n == (double)(long long)n ? json_integer((json_int_t)n)
                                    : json_real(n);
    key = xstrndup(kv, (size_t)(eq - kv));
    if ((dot = strchr(key, '.'))) {
        char *sub = xstrndup(key, (size_t)(dot - key));

        if (!json_is_object(json_object_get(obj, sub)))
            json_object_set_new(obj, sub, json_object());
        obj = json_object_get(obj, sub);
        free(sub);
        json_object_set_new(obj, dot + 1, v);
    } else {
        json_object_set_new(obj, key, v);
    }
    free(key);
    return 0;
}

static void print_policy(const json_t *doc)
{
    static const char *const keys[] = {"active",     "standby",   "min",         "max",
                                       "overload",   "underload", "for_reports", "for_s",
                                       "cooldown_s", "lifecycle", "manager",     NULL};
    static const struct column cols[] = {{"MANAGER", "id"},      {"STATE", "state"},
                                         {"PARENT", "parent"},   {"LOAD", "load"},
                                         {"PENDING", "pending"}, {NULL}};
    const json_t *pol = json_object_get(doc, "policy");
    char *w = cell(doc, "weights");

    printf("site: %s\n", json_string_value(json_object_get(doc, "site")));
    if (json_is_object(pol))
        print_fields(pol, keys);
    else
        printf("policy: none (vnfmctl site managers SITE --set overload=N ...)\n");
    printf("weights: %s\n\n", w);
    free(w);
    print_table(json_object_get(doc, "managers"), cols);
}

static int unset_field(const char *key, void *arg)
{
    json_object_del(((const struct edit *)arg)->body, key);
    return 0;
}

/* The policy at path: shown, or changed member by member with --set (and
 * --unset, --clear where the command has them; the rest kept) and put
 * back, the answer shown. */
static int policy_edit(struct ctl *c, const struct args *a, const char *cmd, const char *path,
                       void (*print)(const json_t *doc))
{
    json_t *doc = NULL;
    bool clear = arg_flag(a, "clear");
    int rc = ctl_call(c, "GET", path, NULL, NULL, &doc);
    struct edit ed = {.cmd = cmd};

    if (rc == EXIT_OK && (arg_opt(a, "set") || arg_opt(a, "unset") || clear)) {
        ed.body = json_is_object(json_object_get(doc, "policy")) && !clear
                      ? json_deep_copy(json_object_get(doc, "policy"))
                      : json_object();
        json_decref(doc);
        doc = NULL;
        rc = arg_each(a, "unset", unset_field, &ed);
        if (rc == 0)
            rc = arg_each(a, "set", set_field, &ed);
        if (rc == 0)
            rc = ctl_call(c, "PUT", path, ed.body, NULL, &doc);
        json_decref(ed.body);
    }
    if (rc == EXIT_OK) {
        if (c->json)
            print_json(doc);
        else
            print(doc);
    }
    json_decref(doc);
    return rc;
}

/* A policy of a branch site (what: "managers", "pool"). */
static int site_policy(struct ctl *c, const struct args *a, const char *what,
                       void (*print)(const json_t *doc))
{
    char *site = ctl_path("/v0/sites/%s", a->pos[0]), *p = xasprintf("%s/%s", site, what);
    int rc = policy_edit(c, a, "site", p, print);

    free(site);
    free(p);
    return rc;
}

int cmd_site_managers(struct ctl *c, const struct args *a)
{
    return site_policy(c, a, "managers", print_policy);
}

/* ---- a manager's overrides of its site's manager policy ---- */

/* A member of a policy as a cell, "-" when it has none. */
static char *member(const json_t *pol, const char *key)
{
    return json_object_get(pol, key) ? cell(pol, key) : xstrdup("-");
}

static void print_manager_policy(const json_t *doc)
{
    static const char *const keys[] = {"overload",   "underload", "for_reports",   "for_s",
                                       "cooldown_s", "hold_s",    "hold_before_s", "anticipate_s",
                                       "lifecycle",  "relative",  "rise",          NULL};
    const json_t *over = json_object_get(doc, "policy"), *eff = json_object_get(doc, "effective");
    const json_t *site = json_object_get(doc, "site_policy");

    printf("manager: %s\nsite: %s\n\n", json_string_value(json_object_get(doc, "manager")),
           json_string_value(json_object_get(doc, "site")));
    if (!json_is_object(site)) {
        printf("site policy: none (vnfmctl site managers SITE --set overload=N ...)\n");
        return;
    }
    printf("%-14s %-16s %-16s %s\n", "MEMBER", "OVERRIDE", "SITE", "EFFECTIVE");
    for (const char *const *k = keys; *k; k++) {
        char *o = member(over, *k), *s = member(site, *k), *e = member(eff, *k);

        if (json_object_get(over, *k) || json_object_get(site, *k) || json_object_get(eff, *k))
            printf("%-14s %-16s %-16s %s\n", *k, o, s, e);
        free(o);
        free(s);
        free(e);
    }
}

/* vnfmctl manager policy ID [--set K=V]... [--unset K]... [--clear] */
int cmd_manager_policy(struct ctl *c, const struct args *a)
{
    char *p = ctl_path("/v0/managers/%s/policy", a->pos[0]);
    int rc = policy_edit(c, a, "manager", p, print_manager_policy);

    free(p);
    return rc;
}

/* The pool policy of a branch site and its load (docs/FEDERATION.md "The
 * branch pool"). */
static void print_pool(const json_t *doc)
{
    static const char *const keys[] = {"overload",   "underload", "for_reports", "for_s",
                                       "cooldown_s", "lifecycle", "grow",        "cloud_site",
                                       "move_back",  NULL};
    static const char *const load_keys[] = {"value",    "cpu", "memory", "used",
                                            "capacity", "wan", NULL};
    const json_t *pol = json_object_get(doc, "policy"), *load = json_object_get(doc, "load");

    printf("site: %s\n", json_string_value(json_object_get(doc, "site")));
    if (json_is_object(pol))
        print_fields(pol, keys);
    else
        printf("policy: none (vnfmctl site pool SITE --set overload=N ...)\n");
    if (json_is_object(load)) {
        printf("\n");
        print_fields(load, load_keys);
    }
}

int cmd_site_pool(struct ctl *c, const struct args *a)
{
    return site_policy(c, a, "pool", print_pool);
}

/* vnfmctl move NAME --site SITE [--drain S] (docs/FEDERATION.md "Moves") */
int cmd_move(struct ctl *c, const struct args *a)
{
    json_t *body;
    long long drain = -1;
    char *p;
    int rc;

    if (!arg_opt(a, "site"))
        return fail_usage(a->cmd, "move needs --site SITE");
    if (arg_opt(a, "drain") && arg_int(a, "drain", 0, 3600, &drain))
        return EXIT_USAGE;
    body = json_pack("{s:s}", "site", arg_opt(a, "site"));
    if (drain >= 0)
        json_object_set_new(body, "drain_s", json_integer(drain));
    p = ctl_path("/v0/deployments/%s/move", a->pos[0]);
    rc = ctl_lifecycle(c, a, "POST", p, body);
    free(p);
    return rc;
}
