/* What the sandbox of a VNF costs its start (docs/BENCHMARKS.md): the time
 * from clone(2) until the child has exec'd /bin/true, which is what a VI
 * start waits for, interleaved over runs, for a child without a sandbox,
 * with a VNF's sandbox prepared in the child (a copy of every mount of the
 * host), and with the same sandbox started from a base namespace prepared
 * once (what the proc VIM does).
 *
 *   sandbox_spawn RUNS DIR     DIR: a scratch directory (made, then removed)
 */
#include "util/fsutil.h"
#include "util/spawn.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UID 1879113728u /* above vnfmd's default range: no manager gives it out */

struct arg {
    const struct sandbox *sb;
    const char *step;
};

static int child(void *p)
{
    struct arg *a = p;
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};

    if (a->sb && sandbox_enter(a->sb, &a->step))
        _exit(126);
    execve(argv[0], argv, envp);
    _exit(127);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *step, *names[] = {"no sandbox", "VNF sandbox made in the child",
                                  "VNF sandbox from a base (vnfmd)"};
    char *vi, *data;
    struct sandbox sb[3];
    double *t[3];
    int n;

    if (argc != 3 || (n = atoi(argv[1])) < 1) {
        fprintf(stderr, "usage: sandbox_spawn RUNS DIR\n");
        return 2;
    }
    data = argv[2];
    vi = malloc(strlen(data) + 8);
    sprintf(vi, "%s/vi/x", data);
    if (mkdir_p(vi, 0755) || chown(vi, UID, UID)) {
        perror(vi);
        return 1;
    }
    sb[1] = (struct sandbox){.uid = UID,
                             .flags = SANDBOX_PRIVATE_TMP | SANDBOX_OWN_IPC | SANDBOX_HIDE_PIDS,
                             .tmp_mb = 32,
                             .cwd = vi,
                             .writable = {vi},
                             .hidden = {data, "/run/netns"}};
    sb[2] = sb[1];
    sb[2].base = sandbox_base_new(sb[1].hidden, &step);
    if (!sb[2].base) {
        perror(step);
        return 1;
    }
    for (int k = 0; k < 3; k++)
        t[k] = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            struct arg a = {k ? &sb[k] : NULL, NULL};
            uint64_t t0 = mono_us();
            pid_t pid = spawn_clone(child, &a, k ? sandbox_clone_flags(&sb[k]) : 0);
            int status;

            t[k][i] = (double)(mono_us() - t0) / 1000.0;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
                fprintf(stderr, "%s: the child failed (%s)\n", names[k], a.step ? a.step : "");
                return 1;
            }
        }
    }
    for (int k = 0; k < 3; k++) {
        qsort(t[k], (size_t)n, sizeof(double), cmp);
        printf("%-32s clone to exec: median %6.2f ms  p90 %6.2f ms\n", names[k], t[k][n / 2],
               t[k][n * 9 / 10]);
    }
    printf("ratio of medians (from a base / no sandbox): %.2f\n", t[2][n / 2] / t[0][n / 2]);
    sandbox_base_free((struct sandbox_base *)sb[2].base);
    rm_rf(data);
    return 0;
}
