/* test_model_timing.c — the page-walker pool (sim/vtd/timing.h) as a timing
 * gate: a walk's result is ready exactly at cycle N, not at N-1.
 *
 * Concepts: with S slots and walks of W cycles all issued at cycle 0, walk
 *   k (0-based) starts when the walk k-S leaves its slot: ready = (k/S + 1)
 *   x W.  A walk issued when a slot is idle is ready at now + W.  Every
 *   expected cycle below follows from that rule by hand.
 * Assumptions: slots are picked free-first, lowest index on a tie
 *   (timing.h).
 * Not covered here: the DMA path that will use the pool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vtd/timing.h"

static walkers_t *mk(uint32_t n)
{
    iosim_err_t err = {0};
    walkers_t *w = walkers_new(n, &err);
    assert_non_null(w);
    return w;
}

static void test_bad_size(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    assert_null(walkers_new(0, &err));
    assert_non_null(strstr(err.msg, "max_walks"));
}

static void test_one_walker_serialises(void **state)
{
    (void)state;
    /* 1 slot, two 100-cycle walks at cycle 0: the first holds the slot
     * over [0, 100), the second over [100, 200). */
    walkers_t *w = mk(1);
    assert_int_equal(walkers_issue(w, 0, 100), 100);
    uint32_t s = walkers_last_slot(w);
    assert_int_equal(s, 0);
    assert_false(walkers_ready(w, s, 99));
    assert_true(walkers_ready(w, s, 100));
    assert_int_equal(walkers_issue(w, 0, 100), 200);
    assert_false(walkers_ready(w, walkers_last_slot(w), 199));
    assert_true(walkers_ready(w, walkers_last_slot(w), 200));
    /* it waited 100 cycles for the slot */
    assert_int_equal(w->wait_cycles, 100);
    /* a walk issued after the slot is free starts at once: 500 + 30 */
    assert_int_equal(walkers_issue(w, 500, 30), 530);
    assert_false(walkers_ready(w, 0, 529));
    assert_true(walkers_ready(w, 0, 530));
    assert_int_equal(w->wait_cycles, 100);
    assert_int_equal(w->issued, 3);
    walkers_free(w);
}

static void test_parallel_walkers(void **state)
{
    (void)state;
    /* 3 slots, 7 walks of 50 cycles at cycle 0: ready = (k/3 + 1) x 50
     * = 50 50 50 100 100 100 150 */
    walkers_t *w = mk(3);
    const uint64_t expect[7] = {50, 50, 50, 100, 100, 100, 150};
    for (int k = 0; k < 7; k++)
        assert_int_equal(walkers_issue(w, 0, 50), expect[k]);
    /* the 7th went to slot 0 (free at 100 like slots 1 and 2, lowest
     * index); slots 1 and 2 are ready at 100, slot 0 at 150 */
    assert_int_equal(walkers_last_slot(w), 0);
    assert_false(walkers_ready(w, 1, 99));
    assert_true(walkers_ready(w, 1, 100));
    assert_false(walkers_ready(w, 0, 149));
    assert_true(walkers_ready(w, 0, 150));
    /* earliest free slot seen from cycle 0 and from cycle 120 */
    assert_int_equal(walkers_next_free(w, 0), 100);
    assert_int_equal(walkers_next_free(w, 120), 120);
    /* a slot number that does not exist holds no walk */
    assert_true(walkers_ready(w, 3, 0));
    walkers_free(w);
}

static void test_mixed_lengths(void **state)
{
    (void)state;
    /* 2 slots: A (0, 300) -> slot 0, ready 300; B (0, 100) -> slot 1,
     * ready 100; C (10, 100) waits for the earliest slot (1, free at
     * 100) -> ready 200; D (150, 10) -> slot 1 free at 200 vs slot 0 at
     * 300 -> ready 210. */
    walkers_t *w = mk(2);
    assert_int_equal(walkers_issue(w, 0, 300), 300);
    assert_int_equal(walkers_issue(w, 0, 100), 100);
    assert_int_equal(walkers_issue(w, 10, 100), 200);
    assert_int_equal(walkers_last_slot(w), 1);
    assert_int_equal(walkers_issue(w, 150, 10), 210);
    assert_int_equal(walkers_last_slot(w), 1);
    /* waits: C 100 - 10 = 90, D 200 - 150 = 50 */
    assert_int_equal(w->wait_cycles, 140);
    walkers_free(w);
}

/* The pool picks among 4 slots (the default vtd.max_walks) by a
 * tournament rather than a scan; the rule it must keep is the scan's:
 * the slot free first, the lowest index on a tie.  A reference pool below
 * applies the rule by brute force on its own array; 20,000 random issues (times
 * that go back now and then, walk lengths 0..7 so that free times tie often)
 * and redos of random slots, for 1..9 slots, must give the same slot, ready
 * cycle and wait sum at every step, and walkers_next_free the same answer. */
typedef struct ref_pool {
    uint64_t at[9];
    uint32_t n;
    uint64_t wait;
} ref_pool_t;

static uint32_t ref_earliest(const ref_pool_t *r)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < r->n; i++)
        if (r->at[i] < r->at[best])
            best = i;
    return best;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_slot_order_matches_scan(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t n = 1; n <= 9; n++) {
        walkers_t *w = mk(n);
        ref_pool_t r = {.n = n};
        uint64_t now = 0;
        for (int step = 0; step < 20000; step++) {
            uint64_t v = rng_next(&x);
            if (v % 16 == 0) {
                uint32_t slot = (uint32_t)((v >> 8) % n);
                uint64_t len = (v >> 16) % 8;
                uint64_t from = r.at[slot] > now ? r.at[slot] : now;
                r.at[slot] = from + len;
                assert_int_equal(walkers_redo(w, slot, now, len), r.at[slot]);
                continue;
            }
            if (v % 16 == 1 && now >= 5)
                now -= 5; /* an earlier now is accepted */
            else
                now += (v >> 4) % 3;
            uint64_t len = (v >> 24) % 8;
            uint32_t slot = ref_earliest(&r);
            assert_int_equal(walkers_next_free(w, now),
                             r.at[slot] > now ? r.at[slot] : now);
            uint64_t start = r.at[slot] > now ? r.at[slot] : now;
            r.wait += start - now;
            r.at[slot] = start + len;
            assert_int_equal(walkers_issue(w, now, len), r.at[slot]);
            assert_int_equal(walkers_last_slot(w), slot);
            assert_int_equal(w->wait_cycles, r.wait);
        }
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(w->free_at[i], r.at[i]);
        walkers_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_size),
        cmocka_unit_test(test_one_walker_serialises),
        cmocka_unit_test(test_parallel_walkers),
        cmocka_unit_test(test_mixed_lengths),
        cmocka_unit_test(test_slot_order_matches_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
