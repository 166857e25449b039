/* The crash-loop backoff of restarts on exit (lcm/restart.c): the first
 * deaths within any window are restarted at once, then each restart waits
 * twice as long up to the cap, a VI that ran a whole window starts the
 * doubling over, deaths spread wider than the window never wait, and the
 * history survives its round trip through a VI record. */
#include "unit.h"

#include "lcm/restart.h"

#define S 1000 /* ms */

static const struct vnfd_restart dflt = {true, 3, 60, 1000, 60};

static void burst_then_doubling_to_the_cap(void **state)
{
    struct restart_hist h = {0};
    /* once a wait is longer than the window, the window holds one death
     * again: three at once, then the doubling goes on from the cap */
    uint64_t want[] = {0,      0,      0,      1 * S, 2 * S, 4 * S, 8 * S,
                       16 * S, 32 * S, 60 * S, 0,     0,     0,     60 * S};
    int64_t t = 1000000 * (int64_t)S;

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint64_t wait = restart_death(&dflt, &h, t, t - 100);

        assert_int_equal(wait, want[i]);
        t += (int64_t)wait + 100; /* it dies 100 ms after each restart */
    }
    assert_int_equal(h.step, 8);
}

static void a_stable_period_ends_the_loop(void **state)
{
    struct restart_hist h = {0};
    int64_t t = 1000000 * (int64_t)S;

    (void)state;
    for (int i = 0; i < 5; i++)
        restart_death(&dflt, &h, t + i, t + i - 10);
    assert_int_equal(h.step, 2);
    /* in the loop, a death after a short run waits longer still */
    assert_int_equal(restart_next_wait(&dflt, &h, t + 10 * S), 4 * S);
    /* one after a whole window of running is restarted at once, and the
     * count starts over */
    t += 200 * S;
    assert_int_equal(restart_death(&dflt, &h, t, t - 60 * S), 0);
    assert_int_equal(h.step, 0);
    assert_int_equal(restart_recent(&dflt, &h, t), 1);
    assert_int_equal(restart_death(&dflt, &h, t + S, t), 0);
    assert_int_equal(restart_death(&dflt, &h, t + 2 * S, t + S), 0);
    assert_int_equal(restart_death(&dflt, &h, t + 3 * S, t + 2 * S), 1 * S);
}

static void deaths_spread_wider_than_the_window_never_wait(void **state)
{
    struct restart_hist h = {0};
    int64_t t = 1000000 * (int64_t)S;

    (void)state;
    for (int i = 0; i < 50; i++, t += 25 * S) /* every 25 s: at most 3 within 60 s */
        assert_int_equal(restart_death(&dflt, &h, t, t - 25 * S), 0);
    assert_int_equal(restart_recent(&dflt, &h, t), 2);
}

static void unknown_start_and_settings(void **state)
{
    struct vnfd_restart none = {true, 0, 10, 0, 1}, small = {true, 1, 10, 300, 1};
    struct restart_hist h = {0};
    int64_t t = 1000000 * (int64_t)S;

    (void)state;
    /* burst 0 and delay 0: every restart is delayed by nothing */
    for (int i = 0; i < 5; i++)
        assert_int_equal(restart_death(&none, &h, t + i, 0), 0);
    memset(&h, 0, sizeof(h));
    assert_int_equal(restart_death(&small, &h, t, 0), 0);
    assert_int_equal(restart_death(&small, &h, t + 1, 0), 300);
    assert_int_equal(restart_death(&small, &h, t + 2, 0), 600);
    assert_int_equal(restart_death(&small, &h, t + 3, 0), 1000);
    /* alone in its window: at once; an unknown start (0) is no stable run,
     * so the next one goes on from the cap */
    assert_int_equal(restart_death(&small, &h, t + 100 * S, 0), 0);
    assert_int_equal(restart_death(&small, &h, t + 100 * S + 1, 0), 1000);
    /* more deaths than are remembered */
    for (int i = 0; i < 3 * RESTART_KEEP; i++)
        restart_death(&dflt, &h, t + 200 * S + i, 0);
    assert_int_equal(h.n, RESTART_KEEP);
}

static void history_in_a_record(void **state)
{
    struct restart_hist h = {0}, back;
    json_t *vi = json_object();
    int64_t t = 1000000 * (int64_t)S;

    (void)state;
    for (int i = 0; i < 6; i++)
        restart_death(&dflt, &h, t + i * S, 0);
    restart_hist_save(vi, &h);
    json_object_set_new(vi, "restart", json_pack("{s:i}", "step", h.step));
    restart_hist_load(vi, &back);
    assert_int_equal(back.n, h.n);
    assert_int_equal(back.step, 3);
    assert_memory_equal(back.deaths, h.deaths, h.n * sizeof(h.deaths[0]));
    assert_int_equal(restart_death(&dflt, &back, t + 7 * S, 0), 8 * S);
    json_decref(vi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_doubling_to_the_cap),
        cmocka_unit_test(a_stable_period_ends_the_loop),
        cmocka_unit_test(deaths_spread_wider_than_the_window_never_wait),
        cmocka_unit_test(unknown_start_and_settings),
        cmocka_unit_test(history_in_a_record),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
