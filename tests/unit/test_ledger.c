/* A site's ledger on its host (lcm/ledger.c): each manager process sees
 * the others' lines and not its own, a line of a process that ended is not
 * counted and is dropped at the next write, and a manager that holds the
 * lock and does not let go (stopped) does not stop another: it gets
 * -EWOULDBLOCK within the wait. The other managers are child processes. */
#include "unit.h"

#include "lcm/ledger.h"

#include <errno.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

/* A child that writes its line (vcpu) and then waits for SIGTERM; with
 * hold, it keeps the ledger locked meanwhile. Its pid. */
static pid_t manager(const char *path, const char *tag, double vcpu, bool hold)
{
    int ready[2];
    char c;
    pid_t pid;

    assert_int_equal(pipe(ready), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ledger l;
        struct ledger_entry mine = {.pid = getpid(), .vcpu = vcpu, .memory_mb = 100};

        snprintf(mine.tag, sizeof(mine.tag), "%s", tag);
        if (ledger_open(&l, path) || ledger_lock(&l))
            _exit(1);
        ledger_unlock(&l, &mine);
        if (hold && flock(l.fd, LOCK_EX))
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void ended(pid_t pid)
{
    int status;

    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void others_seen_and_the_dead_dropped(void **state)
{
    char *dir = test_tmpdir(), *path;
    struct ledger l;
    struct ledger_entry mine = {.tag = "aaaaaa", .pid = getpid(), .vcpu = 1, .memory_mb = 10};
    pid_t b, c;

    (void)state;
    assert_true(asprintf(&path, "%s/site-ledger", dir) > 0);
    assert_int_equal(ledger_open(&l, path), 0);
    assert_int_equal(ledger_lock(&l), 0);
    assert_int_equal(l.n, 0);
    ledger_unlock(&l, &mine);
    b = manager(path, "bbbbbb", 2.5, false);
    c = manager(path, "cccccc", 0.5, false);

    assert_int_equal(ledger_lock(&l), 0); /* both others; not its own line */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.others[0].tag, "bbbbbb");
    assert_true(l.others[0].vcpu == 2.5 && l.others[0].memory_mb == 100);
    assert_string_equal(l.others[1].tag, "cccccc");
    ledger_unlock(&l, &mine);

    ended(b); /* its line stays in the file, and is not counted */
    assert_int_equal(ledger_lock(&l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.others[0].tag, "cccccc");
    ledger_unlock(&l, &mine);
    ended(c);
    ledger_close(&l); /* its own line goes too: an empty file */
    assert_int_equal(ledger_open(&l, path), 0);
    assert_int_equal(lseek(l.fd, 0, SEEK_END), 0);
    ledger_close(&l);
    free(path);
    test_rmdir(dir);
}

static void a_lock_not_let_go_is_given_up(void **state)
{
    char *dir = test_tmpdir(), *path;
    struct ledger l;
    pid_t b;

    (void)state;
    assert_true(asprintf(&path, "%s/site-ledger", dir) > 0);
    b = manager(path, "bbbbbb", 1, true);
    assert_int_equal(ledger_open(&l, path), 0);
    assert_int_equal(ledger_lock(&l), -EWOULDBLOCK);
    assert_int_equal(l.n, 0);
    ended(b); /* the lock goes with the process */
    assert_int_equal(ledger_lock(&l), 0);
    assert_int_equal(l.n, 0);
    ledger_unlock(&l, NULL);
    ledger_close(&l);
    free(path);
    test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(others_seen_and_the_dead_dropped),
        cmocka_unit_test(a_lock_not_let_go_is_given_up),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
