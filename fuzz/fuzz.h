/* Shared by the libFuzzer targets (fuzz/README.md): a store in a temporary
 * directory seeded with one record of each kind the parsers look up, made
 * once per process and removed at its exit. */
#ifndef VNFM_FUZZ_H
#define VNFM_FUZZ_H

#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static inline void fuzz_rmdir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir);
}

static const char *const fuzz_records[][2] = {
    {"tenant", "{\"id\":\"acme\",\"name\":\"acme\",\"description\":\"\",\"enabled\":true}"},
    {"vnfd", "{\"id\":\"demo\",\"name\":\"demo\",\"version\":\"1\",\"descriptor\":{\"id\":\"demo\","
             "\"params\":{\"threads\":{\"type\":\"integer\",\"default\":1},\"greeting\":{\"type\":"
             "\"string\"},\"on\":{\"type\":\"boolean\"},\"ratio\":{\"type\":\"number\"}},"
             "\"vdus\":[{\"id\":\"web\",\"command\":[\"vnf-demo\"]}]}}"},
    {"site", "{\"id\":\"local\",\"driver\":\"proc\",\"capacity\":{\"vcpu\":8,\"memory_mb\":8192,"
             "\"disk_mb\":10000},\"options\":{}}"},
    {"deployment", "{\"id\":\"d1\",\"tenant\":\"acme\",\"vnfd\":\"demo\",\"site\":\"local\","
                   "\"status\":\"active\",\"stage\":\"monitoring\",\"instances\":{\"web\":1},"
                   "\"params\":{\"threads\":2}}"},
    {"vi", "{\"id\":\"0123456789\",\"deployment\":\"d1\",\"tenant\":\"acme\",\"vdu\":\"web\","
           "\"index\":0,\"name\":\"d1/web/0\",\"state\":\"running\",\"ip\":\"10.0.0.2\"}"},
    {"operation", "{\"id\":\"op-0123456789ab\",\"type\":\"deploy\",\"deployment\":\"d1\","
                  "\"tenant\":\"acme\",\"state\":\"completed\",\"vis\":[\"0123456789\"]}"},
};

static inline enum store_kind fuzz_kind(const char *name)
{
    static const char *const names[] = {"tenant",     "token", "vnfd",     "site",
                                        "deployment", "vi",    "operation"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0)
            return (enum store_kind)i;
    abort();
}

/* The path of the seeded store (made on the first call). */
static inline const char *fuzz_store_path(void)
{
    static char path[96];
    char err[256];
    struct store *st;

    if (*path)
        return path;
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/vnfm-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir))
        abort();
    atexit(fuzz_rmdir);
    snprintf(path, sizeof(path), "%s/vnfm.db", fuzz_dir);
    if (store_open(path, false, &st, err, sizeof(err))) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < sizeof(fuzz_records) / sizeof(fuzz_records[0]); i++) {
        json_t *doc = json_loads(fuzz_records[i][1], 0, NULL);
        json_t *ev =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "level", "info", "category", "lifecycle",
                      "event", "operation", "deployment", "d1", "message", fuzz_records[i][0]);

        if (!doc || store_put(st, fuzz_kind(fuzz_records[i][0]), doc) || store_log_append(st, ev))
            abort();
        json_decref(doc);
        json_decref(ev);
    }
    store_close(st);
    return path;
}

/* A read-only handle on the seeded store, opened once. */
static inline struct store *fuzz_store(void)
{
    static struct store *st;
    char err[256];

    if (!st && store_open(fuzz_store_path(), true, &st, err, sizeof(err))) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    return st;
}

/* Splits the input at the first NUL or newline: *head (a new string) and
 * the rest. */
static inline const char *fuzz_split(const uint8_t *data, size_t size, char **head,
                                     size_t *rest_len)
{
    size_t n = 0;

    while (n < size && data[n] != '\n' && data[n] != '\0')
        n++;
    *head = strndup((const char *)data, n);
    *rest_len = n < size ? size - n - 1 : 0;
    return (const char *)data + (n < size ? n + 1 : n);
}

#endif
