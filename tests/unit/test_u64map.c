/* test_u64map.c — the 64-bit-keyed hash table of sim/base/u64map.c.
 *
 * Every answer is checked against a brute-force oracle: plain arrays
 * indexed by key (map) or a list of entries scanned linearly (multimap).
 * The keys are drawn from a small space with a fixed-seed generator of the
 * test's own, so probe runs are long, wrap around the array's end and
 * are cut by deletions in their middle (the backward shift); after each
 * step every key of the space is looked up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/u64map.h"

/* A linear congruential generator (Knuth's MMIX constants). */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

enum { KEYS = 300 };

static void check_map(const u64map_t *t, const bool *in, const uint64_t *val,
                      size_t n)
{
    assert_int_equal(t->n, n);
    size_t used = 0;
    for (size_t i = 0; i < t->cap; i++)
        used += t->s[i].key != 0;
    assert_int_equal(used, n);
    for (uint64_t k = 0; k < KEYS; k++) {
        uint64_t v = 0xdead;
        bool got = u64map_get(t, k * 4096, &v);
        assert_int_equal(got, in[k]);
        if (in[k])
            assert_int_equal(v, val[k]);
    }
}

static void test_map_against_array(void **state)
{
    (void)state;
    static bool in[KEYS];
    static uint64_t val[KEYS];
    size_t n = 0;
    u64map_t t;
    assert_int_equal(u64map_init(&t, 4), 0);
    uint64_t seed = 2024;
    for (int step = 0; step < 20000; step++) {
        uint64_t k = lcg(&seed) % KEYS;
        /* keys are page numbers shifted, like the importer's */
        uint64_t op = lcg(&seed) % 6;
        if (op < 2) {
            /* by key, or by the slot the probe finds */
            size_t i = u64map_probe(&t, k * 4096);
            if (op == 0)
                u64map_del(&t, k * 4096);
            else if (i != SIZE_MAX)
                u64map_del_slot(&t, i);
            if (in[k])
                n--;
            in[k] = false;
        } else {
            uint64_t v = lcg(&seed);
            assert_int_equal(u64map_put(&t, k * 4096, v), 0);
            if (!in[k])
                n++;
            in[k] = true;
            val[k] = v;
        }
        /* at most half full after any put */
        assert_true(2 * t.n <= t.cap);
        if (step % 97 == 0)
            check_map(&t, in, val, n);
    }
    check_map(&t, in, val, n);
    /* delete all: the table is empty and every slot free */
    for (uint64_t k = 0; k < KEYS; k++) {
        u64map_del(&t, k * 4096);
        in[k] = false;
    }
    check_map(&t, in, val, 0);
    u64map_fini(&t);
    assert_null(t.s);
}

/* A half-full array of 16 slots (8 consecutive keys) has long probe
 * runs that wrap around its end: deleting the keys in 200 orders drawn
 * at random exercises every branch of the backward shift. */
static void test_small_table_all_orders(void **state)
{
    (void)state;
    for (uint64_t base = 0; base < 200; base++) {
        u64map_t t;
        assert_int_equal(u64map_init(&t, 16), 0);
        uint64_t keys[8];
        for (size_t i = 0; i < 8; i++) {
            keys[i] = base * 8 + i;
            assert_int_equal(u64map_put(&t, keys[i], 100 + i), 0);
        }
        /* delete in an order given by base, check the rest each time */
        bool gone[8] = {false};
        uint64_t s = base + 1;
        for (size_t d = 0; d < 8; d++) {
            size_t j = lcg(&s) % 8;
            while (gone[j])
                j = (j + 1) % 8;
            u64map_del(&t, keys[j]);
            gone[j] = true;
            for (size_t i = 0; i < 8; i++) {
                uint64_t v;
                assert_int_equal(u64map_get(&t, keys[i], &v), !gone[i]);
                if (!gone[i])
                    assert_int_equal(v, 100 + i);
            }
        }
        assert_int_equal(t.n, 0);
        u64map_fini(&t);
    }
}

/* del_range against an oracle: ranges shorter than the array (deleted key
 * by key) and longer (one pass over the slots, deleting in the middle of
 * runs that wrap around the array's end), up to ones of 2^60 keys and
 * ones that would run past UINT64_MAX (clipped); a range of 2^60 keys
 * returns at once only if the pass is bounded by the array. */
static void test_del_range_against_array(void **state)
{
    (void)state;
    enum { SPACE = 48 };
    static const uint64_t lens[] = {
        0,         1, 2, 5, 31, 32, 33, 40, 64, 1u << 20, UINT64_C(1) << 60,
        UINT64_MAX};
    uint64_t seed = 4242;
    for (int round = 0; round < 3000; round++) {
        u64map_t t;
        assert_int_equal(u64map_init(&t, 32), 0);
        /* near the top of the key space in some rounds: the clip */
        uint64_t base = round % 3 == 0 ? UINT64_MAX - SPACE : 1000;
        bool in[SPACE] = {false};
        size_t n = 0;
        while (n < 16 + lcg(&seed) % 16) {
            uint64_t k = lcg(&seed) % SPACE;
            if (base + k == UINT64_MAX)
                continue; /* not a valid key */
            assert_int_equal(u64map_put(&t, base + k, k), 0);
            n += !in[k];
            in[k] = true;
        }
        uint64_t lo = base + lcg(&seed) % SPACE;
        uint64_t len = lens[lcg(&seed) % (sizeof lens / sizeof lens[0])];
        u64map_del_range(&t, lo, len);
        size_t left = 0;
        for (uint64_t k = 0; k < SPACE; k++) {
            if (base + k == UINT64_MAX)
                continue;
            bool gone = base + k >= lo && base + k - lo < len;
            uint64_t v;
            assert_int_equal(u64map_get(&t, base + k, &v), in[k] && !gone);
            left += in[k] && !gone;
        }
        assert_int_equal(t.n, left);
        u64map_fini(&t);
    }
}

typedef struct entry {
    uint64_t key, val, aux;
} entry_t;

/* The entries of key the probe visits equal the oracle's, as a multiset
 * (compared by count of each (val, aux)). */
static void check_multi(const u64map_t *t, const entry_t *e, size_t n,
                        const size_t *slots)
{
    assert_int_equal(t->n, n);
    for (size_t i = 0; i < n; i++) {
        /* the logged slot still holds its entry */
        assert_int_equal(t->s[slots[i]].key, e[i].key + 1);
        assert_int_equal(t->s[slots[i]].val, e[i].val);
        assert_int_equal(t->s[slots[i]].aux, e[i].aux);
    }
    for (uint64_t k = 0; k < 20; k++) {
        size_t want = 0, got = 0;
        uint64_t want_sum = 0, got_sum = 0;
        for (size_t i = 0; i < n; i++)
            if (e[i].key == k) {
                want++;
                want_sum += e[i].val * 1000 + e[i].aux;
            }
        for (size_t i = u64map_probe(t, k); i != SIZE_MAX;
             i = u64map_probe_next(t, k, i)) {
            got++;
            got_sum += t->s[i].val * 1000 + t->s[i].aux;
            assert_true(got <= want);
        }
        assert_int_equal(got, want);
        assert_int_equal(got_sum, want_sum);
    }
}

static void test_multimap_log_rehash_clear(void **state)
{
    (void)state;
    enum { MAXN = 512 };
    static entry_t e[MAXN];
    static size_t slots[MAXN];
    u64map_t t;
    assert_int_equal(u64map_init(&t, 8), 0);
    uint64_t seed = 77;
    for (int round = 0; round < 3; round++) {
        size_t n = 0;
        while (n < 300) {
            /* keep at most half the slots in use, as the caller must */
            if (2 * (n + 1) > t.cap) {
                assert_int_equal(u64map_rehash(&t, 2 * t.cap, slots, n), 0);
                check_multi(&t, e, n, slots);
            }
            e[n].key = lcg(&seed) % 20; /* 20 keys: many duplicates */
            e[n].val = lcg(&seed) % 5;
            e[n].aux = n;
            slots[n] = u64map_add(&t, e[n].key, e[n].val, e[n].aux);
            n++;
            if (n % 50 == 0)
                check_multi(&t, e, n, slots);
        }
        check_multi(&t, e, n, slots);
        u64map_clear_slots(&t, slots, n);
        for (size_t i = 0; i < t.cap; i++)
            assert_int_equal(t.s[i].key, 0);
        check_multi(&t, e, 0, slots);
    }
    u64map_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_against_array),
        cmocka_unit_test(test_del_range_against_array),
        cmocka_unit_test(test_small_table_all_orders),
        cmocka_unit_test(test_multimap_log_rehash_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
