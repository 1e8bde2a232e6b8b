/* test_vec.c — sim/base/vec.h's growth by doubling.
 *
 * The capacities are checked against the rule written out by hand (first,
 * then doubled until it holds the need) and against a brute-force replay
 * of pushes, the kept contents against what was written (a ring's against
 * a FIFO counter), and the overflow limits against SIZE_MAX arithmetic
 * done here.  A failing
 * realloc (ENOMEM) is tested in tests/oom/test_oom.c (test_vec_enomem),
 * whose allocator can fail on demand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/vec.h"

typedef struct rec24 {
    uint64_t a, b, c;
} rec24_t;

/* One push at a time from empty: the capacity steps through first,
 * 2 first, 4 first, ... exactly when the count reaches it, and every
 * element written survives each move. */
static void test_push_sequence(void **state)
{
    (void)state;
    rec24_t *v = NULL;
    size_t cap = 0, grows = 0, want_cap = 0;
    for (size_t n = 0; n < 1000; n++) {
        size_t before = cap;
        assert_int_equal(vec_reserve(&v, &cap, n + 1, 6), 0);
        if (n == want_cap) { /* full: the next capacity */
            want_cap = want_cap ? 2 * want_cap : 6;
            grows++;
        }
        assert_int_equal(cap, want_cap);
        if (before != cap)
            assert_true(n == before);
        v[n] = (rec24_t){n, ~n, n * 3};
        for (size_t i = 0; i <= n; i++) {
            assert_int_equal(v[i].a, i);
            assert_int_equal(v[i].b, ~i);
            assert_int_equal(v[i].c, i * 3);
        }
    }
    /* 6, 12, ..., 1536: 9 capacities */
    assert_int_equal(grows, 9);
    assert_int_equal(cap, 1536);
    free(v);
}

/* A need within the capacity changes nothing (no realloc: the same
 * pointer); a jump doubles as often as it takes; a zero first starts at
 * one element. */
static void test_jumps(void **state)
{
    (void)state;
    uint8_t *b = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve(&b, &cap, 0, 64), 0);
    assert_null(b);
    assert_int_equal(cap, 0);
    assert_int_equal(vec_reserve(&b, &cap, 100, 64), 0);
    assert_int_equal(cap, 128);
    uint8_t *same = b;
    assert_int_equal(vec_reserve(&b, &cap, 128, 64), 0);
    assert_ptr_equal(b, same);
    assert_int_equal(cap, 128);
    assert_int_equal(vec_reserve(&b, &cap, 129, 64), 0);
    assert_int_equal(cap, 256);
    assert_int_equal(vec_reserve(&b, &cap, 5000, 64), 0);
    assert_int_equal(cap, 8192); /* 256 doubled five times */
    free(b);
    assert_int_equal(vec_next_cap(0, 1, 4, 0), 1);
    assert_int_equal(vec_next_cap(0, 5, 4, 0), 8);
    assert_int_equal(vec_next_cap(3, 4, 4, 100), 6); /* from cap, not first */
}

/* need * elem past SIZE_MAX: 0 from vec_next_cap, -1 and ENOMEM from
 * vec_reserve with the array and its capacity untouched; the largest
 * need that fits is granted exactly where doubling would not fit. */
static void test_overflow(void **state)
{
    (void)state;
    const size_t e = sizeof(rec24_t);
    const size_t most = SIZE_MAX / e; /* the most elements that fit */
    assert_int_equal(vec_next_cap(0, most + 1, e, 4), 0);
    assert_int_equal(vec_next_cap(16, SIZE_MAX, e, 4), 0);
    assert_int_equal(vec_next_cap(0, 1, 0, 4), 0);
    /* doubling from half of `most` would pass it: the need itself */
    assert_int_equal(vec_next_cap(most / 2 + 1, most / 2 + 2, e, 4),
                     most / 2 + 2);
    assert_int_equal(vec_next_cap(most / 2 + 1, most, e, 4), most);
    /* bytes: doubling past SIZE_MAX / 2 stops at the need */
    assert_int_equal(vec_next_cap(SIZE_MAX / 2 + 1, SIZE_MAX, 1, 1), SIZE_MAX);
    /* 2^62 - 1 doubled twice: 2^64 - 4 */
    assert_int_equal(vec_next_cap(SIZE_MAX / 4, SIZE_MAX / 2, 1, 1),
                     SIZE_MAX / 4 * 4);

    rec24_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve(&v, &cap, 4, 4), 0);
    v[0] = (rec24_t){1, 2, 3};
    rec24_t *was = v;
    errno = 0;
    assert_int_equal(vec_reserve(&v, &cap, most + 1, 4), -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(v, was);
    assert_int_equal(cap, 4);
    assert_int_equal(v[0].c, 3);
    free(v);
}

/* A ring that wrapped, grown at every fill: its elements come out of the
 * new array from index 0 in the order they went in (a FIFO checked
 * against a counter), the capacity doubling from `first`; an empty ring
 * grows without reading its (absent) array; an overflowing one fails
 * with nothing changed. */
static void test_ring(void **state)
{
    (void)state;
    uint64_t *r = NULL;
    size_t cap = 0, head = 0, n = 0, caps = 0;
    uint64_t pushed = 0, popped = 0;
    for (int step = 0; step < 5000; step++) {
        if (step % 3 != 2) { /* two pushes, one pop: it fills and wraps */
            if (n == cap) {
                size_t was = cap;
                assert_int_equal(vec_ring_grow(&r, &cap, &head, n, 5), 0);
                assert_int_equal(cap, was ? 2 * was : 5);
                assert_int_equal(head, 0);
                for (size_t i = 0; i < n; i++) /* in order from 0 */
                    assert_int_equal(r[i], popped + i);
                caps++;
            }
            r[(head + n++) % cap] = pushed++;
        } else {
            assert_int_equal(r[head], popped++);
            head = (head + 1) % cap;
            n--;
        }
    }
    assert_int_equal(n, pushed - popped);
    assert_true(caps >= 9); /* 5 .. 1280 at least: wraps at every size */
    free(r);

    uint16_t *e = NULL;
    size_t ecap = 0, ehead = 7;
    assert_int_equal(vec_ring_grow(&e, &ecap, &ehead, 0, 4), 0);
    assert_int_equal(ecap, 4);
    assert_int_equal(ehead, 0);
    size_t most = SIZE_MAX / sizeof *e;
    errno = 0;
    ecap = most; /* claimed full: one more does not fit */
    uint16_t *was = e;
    assert_int_equal(vec_ring_grow(&e, &ecap, &ehead, most, 4), -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(e, was);
    assert_int_equal(ecap, most);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_sequence),
        cmocka_unit_test(test_jumps),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
