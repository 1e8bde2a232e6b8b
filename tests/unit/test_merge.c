/* test_merge.c — the k-way merge of sim/trace/merge.c.
 *
 * The oracle is a brute-force sort: every record of every stream tagged
 * (time, stream, position in its stream), all sorted with qsort by that
 * triple, which is the order merge.h promises for streams in time order
 * (equal times: lower stream first; a stream's own order kept).  Random
 * streams (a fixed-seed generator of the test's own) with few distinct
 * times, so that ties are common, are merged through the heap and must
 * come out in exactly the oracle's order.  Streams taken out of turn and
 * re-keyed (what gen nic does) are checked against a linear scan for the
 * least (time, stream) after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "trace/merge.h"

#define MAX_STREAMS 40
#define MAX_RECS 200

typedef struct tagged {
    uint64_t t;
    size_t stream, pos;
} tagged_t;

/* A linear congruential generator (Knuth's MMIX constants). */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static int by_triple(const void *a, const void *b)
{
    const tagged_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct streams {
    size_t k;
    size_t len[MAX_STREAMS];
    uint64_t t[MAX_STREAMS][MAX_RECS];
} streams_t;

/* k streams of random lengths (some empty), each in time order, times
 * drawn from `spread` values so that ties between streams are common. */
static void make_streams(streams_t *s, size_t k, uint64_t spread,
                         uint64_t *seed)
{
    s->k = k;
    for (size_t i = 0; i < k; i++) {
        s->len[i] = lcg(seed) % MAX_RECS;
        uint64_t t = 0;
        for (size_t j = 0; j < s->len[i]; j++) {
            t += lcg(seed) % spread < spread / 2 ? 0 : lcg(seed) % 3;
            s->t[i][j] = t;
        }
    }
}

static void test_against_sort(void **state)
{
    (void)state;
    static streams_t s;
    static tagged_t all[MAX_STREAMS * MAX_RECS], got[MAX_STREAMS * MAX_RECS];
    uint64_t seed = 23;
    for (int round = 0; round < 200; round++) {
        size_t k = 1 + lcg(&seed) % MAX_STREAMS;
        make_streams(&s, k, 2 + lcg(&seed) % 8, &seed);
        size_t total = 0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < s.len[i]; j++)
                all[total++] = (tagged_t){s.t[i][j], i, j};
        qsort(all, total, sizeof *all, by_triple);

        trace_merge_t m;
        assert_int_equal(trace_merge_init(&m, k), 0);
        size_t next[MAX_STREAMS] = {0};
        for (size_t i = 0; i < k; i++)
            if (s.len[i])
                trace_merge_set(&m, i, s.t[i][0]);
        size_t n = 0, i;
        uint64_t t;
        while (trace_merge_peek(&m, &i, &t)) {
            assert_true(n < total);
            assert_int_equal(t, s.t[i][next[i]]);
            got[n++] = (tagged_t){t, i, next[i]};
            if (++next[i] < s.len[i])
                trace_merge_set(&m, i, s.t[i][next[i]]);
            else
                trace_merge_remove(&m, i);
        }
        trace_merge_free(&m);
        assert_int_equal(n, total);
        for (size_t r = 0; r < total; r++) {
            assert_int_equal(got[r].t, all[r].t);
            assert_int_equal(got[r].stream, all[r].stream);
            assert_int_equal(got[r].pos, all[r].pos);
        }
    }
}

/* The least (key, stream) of the streams marked present: a linear scan. */
static bool brute_peek(const bool *in, const uint64_t *key, size_t k, size_t *s)
{
    bool any = false;
    for (size_t i = 0; i < k; i++)
        if (in[i] && (!any || key[i] < key[*s])) {
            *s = i;
            any = true;
        }
    return any;
}

static void test_rekey_and_remove(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int round = 0; round < 100; round++) {
        size_t k = 1 + lcg(&seed) % MAX_STREAMS;
        bool in[MAX_STREAMS] = {false};
        uint64_t key[MAX_STREAMS];
        trace_merge_t m;
        assert_int_equal(trace_merge_init(&m, k), 0);
        for (int step = 0; step < 2000; step++) {
            size_t s = lcg(&seed) % k;
            if (lcg(&seed) % 4 == 0) {
                trace_merge_remove(&m, s); /* also when absent: no-op */
                in[s] = false;
            } else {
                key[s] = lcg(&seed) % 16; /* up or down: ties common */
                trace_merge_set(&m, s, key[s]);
                in[s] = true;
            }
            size_t want = 0, got;
            uint64_t t;
            bool any = brute_peek(in, key, k, &want);
            assert_int_equal(trace_merge_peek(&m, &got, &t), any);
            if (any) {
                assert_int_equal(got, want);
                assert_int_equal(t, key[want]);
            }
        }
        trace_merge_free(&m);
    }
}

/* Only a stream's next record is compared: a stream out of time order
 * keeps its own order (its later, earlier-stamped record waits). */
static void test_stream_order_kept(void **state)
{
    (void)state;
    const uint64_t a[] = {5, 1}, b[] = {3};
    trace_merge_t m;
    assert_int_equal(trace_merge_init(&m, 2), 0);
    trace_merge_set(&m, 0, a[0]);
    trace_merge_set(&m, 1, b[0]);
    size_t s;
    uint64_t t;
    assert_true(trace_merge_peek(&m, &s, &t));
    assert_int_equal(s, 1); /* 3 < 5 */
    trace_merge_remove(&m, 1);
    assert_true(trace_merge_peek(&m, &s, &t));
    assert_int_equal(s, 0);
    assert_int_equal(t, 5);
    trace_merge_set(&m, 0, a[1]);
    assert_true(trace_merge_peek(&m, &s, &t));
    assert_int_equal(t, 1);
    trace_merge_remove(&m, 0);
    assert_false(trace_merge_peek(&m, &s, &t));
    trace_merge_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_sort),
        cmocka_unit_test(test_rekey_and_remove),
        cmocka_unit_test(test_stream_order_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
