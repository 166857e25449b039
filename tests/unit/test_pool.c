/* The branch pool's chooser (src/fed/pool_choose.c): the fewest moves that
 * bring a branch under its threshold, honouring placements, busy
 * deployments and the cloud's room, with a reason for every candidate. */
#include "unit.h"

#include "fed/pool.h"

#define CAND(name, cpu, mb, place)                                                        \
    {                                                                                     \
        .id = name, .vcpu = cpu, .memory_mb = mb, .need_vcpu = cpu, .need_memory_mb = mb, \
        .placement = place                                                                \
    }

static const struct pool_use branch = {.vcpu = 1.6,
                                       .memory_mb = 900,
                                       .cap_vcpu = 2,
                                       .cap_memory_mb = 1000,
                                       .free_vcpu = -1,
                                       .free_memory_mb = -1};

static void one_big_move_beats_two_small(void **state)
{
    struct pool_cand c[] = {CAND("a", 0.2, 100, PLACE_CLOUD_ALLOWED),
                            CAND("b", 0.2, 100, PLACE_CLOUD_ALLOWED),
                            CAND("c", 0.8, 400, PLACE_CLOUD_ALLOWED)};
    char why[512];
    double after;

    (void)state;
    /* 0.9 now; under 0.6: c alone (0.5), or a and b (0.7, not enough) */
    assert_int_equal(pool_choose(&branch, 0.6, c, 3, &after, why, sizeof(why)), 1);
    assert_true(c[2].chosen && !c[0].chosen && !c[1].chosen);
    assert_true(after > 0.49 && after < 0.51);
    assert_non_null(strstr(c[0].why, "too small"));
    assert_non_null(strstr(c[2].why, "chosen"));
    assert_non_null(strstr(why, "1 move brings the branch from 0.900 to 0.500"));
}

static void fewest_then_prefer_branch_stays(void **state)
{
    struct pool_cand c[] = {CAND("p", 0.6, 300, PLACE_PREFER_BRANCH),
                            CAND("q", 0.6, 300, PLACE_CLOUD_ALLOWED),
                            CAND("r", 0.1, 50, PLACE_CLOUD_ALLOWED)};
    char why[512];
    double after;

    (void)state;
    /* either p or q alone will do: q, as p prefers the branch */
    assert_int_equal(pool_choose(&branch, 0.8, c, 3, &after, why, sizeof(why)), 1);
    assert_true(c[1].chosen && !c[0].chosen && !c[2].chosen);
    assert_non_null(strstr(c[0].why, "prefer-branch"));
    /* two needed: the smallest pair that does it */
    assert_int_equal(pool_choose(&branch, 0.35, c, 3, &after, why, sizeof(why)), 2);
    assert_true(c[0].chosen && c[1].chosen && !c[2].chosen);
}

static void placement_and_busy_are_rejected(void **state)
{
    struct pool_cand c[] = {CAND("big", 0.9, 500, PLACE_BRANCH_ONLY),
                            CAND("busy", 0.8, 400, PLACE_CLOUD_ALLOWED),
                            CAND("small", 0.1, 50, PLACE_CLOUD_ALLOWED)};
    char why[512];
    double after;

    (void)state;
    c[1].busy = "operation op-1 runs";
    assert_int_equal(pool_choose(&branch, 0.6, c, 3, &after, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "moving all 1 deployment that may move leaves the branch at"));
    assert_non_null(strstr(c[0].why, "branch-only"));
    assert_non_null(strstr(c[1].why, "busy: operation op-1 runs"));
    /* every deployment branch-only: a placement that forbids every site */
    c[1].placement = c[2].placement = PLACE_BRANCH_ONLY;
    assert_int_equal(pool_choose(&branch, 0.6, c, 3, &after, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "no deployment may move"));
}

static void the_cloud_needs_room(void **state)
{
    struct pool_use u = branch;
    struct pool_cand c[] = {CAND("a", 0.5, 300, PLACE_CLOUD_ALLOWED),
                            CAND("b", 0.5, 300, PLACE_CLOUD_ALLOWED)};
    char why[512];
    double after;

    (void)state;
    u.free_vcpu = 0.4;
    u.free_memory_mb = 10000;
    assert_int_equal(pool_choose(&u, 0.7, c, 2, &after, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "the cloud has no room"));
    u.free_vcpu = 0.5;
    assert_int_equal(pool_choose(&u, 0.7, c, 2, &after, why, sizeof(why)), 1);
}

static void many_candidates_greedy(void **state)
{
    struct pool_use u = {.vcpu = 2.02, .cap_vcpu = 2, .free_vcpu = -1, .free_memory_mb = -1};
    struct pool_cand c[20];
    char names[20][8], why[512];
    double after;

    (void)state; /* 19 of 0.08 and one of 0.5 vCPU: 1.01, memory left out */
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "d%d", i);
        c[i] = (struct pool_cand)CAND(names[i], 0.08, 45, PLACE_CLOUD_ALLOWED);
    }
    c[7].vcpu = 0.5;
    assert_int_equal(pool_choose(&u, 0.8, c, 20, &after, why, sizeof(why)), 1);
    assert_true(c[7].chosen);
    assert_true(after > 0.75 && after < 0.77);
}

static void a_full_disk_moves_the_files(void **state)
{
    struct pool_use u = {.vcpu = 0.4,
                         .memory_mb = 200,
                         .disk_mb = 900,
                         .cap_vcpu = 2,
                         .cap_memory_mb = 1000,
                         .cap_disk_mb = 1000,
                         .free_vcpu = -1,
                         .free_memory_mb = -1,
                         .free_disk_mb = -1};
    struct pool_cand c[] = {CAND("cpu", 0.3, 100, PLACE_CLOUD_ALLOWED),
                            CAND("files", 0.1, 100, PLACE_CLOUD_ALLOWED)};
    char why[512];
    double after;

    (void)state;
    c[0].disk_mb = c[0].need_disk_mb = 50;
    c[1].disk_mb = c[1].need_disk_mb = 600;
    assert_true(pool_value(&u) > 0.89 && pool_value(&u) < 0.91); /* the disk's share */
    assert_int_equal(pool_choose(&u, 0.6, c, 2, &after, why, sizeof(why)), 1);
    assert_true(c[1].chosen && !c[0].chosen);
    assert_true(after > 0.29 && after < 0.31);
    assert_non_null(strstr(c[1].why, "600 MB disk"));
    /* the cloud's disk is short of what the clone holds */
    u.free_disk_mb = 100;
    assert_int_equal(pool_choose(&u, 0.6, c, 2, &after, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "600 MB disk"));
}

static void placements_by_name(void **state)
{
    (void)state;
    assert_int_equal(pool_placement_of("branch-only"), PLACE_BRANCH_ONLY);
    assert_int_equal(pool_placement_of("prefer-branch"), PLACE_PREFER_BRANCH);
    assert_int_equal(pool_placement_of(NULL), PLACE_CLOUD_ALLOWED);
    assert_string_equal(pool_placement_name(PLACE_CLOUD_ALLOWED), "cloud-allowed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_big_move_beats_two_small),
        cmocka_unit_test(fewest_then_prefer_branch_stays),
        cmocka_unit_test(placement_and_busy_are_rejected),
        cmocka_unit_test(the_cloud_needs_room),
        cmocka_unit_test(many_candidates_greedy),
        cmocka_unit_test(a_full_disk_moves_the_files),
        cmocka_unit_test(placements_by_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
