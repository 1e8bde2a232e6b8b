/* test_model_cache.c — the generic set-associative cache (sim/cache) against
 * analytic oracles.
 *
 * Concepts: every expected value is worked out by hand in the comment next
 *   to it from the definition of the policy (LRU evicts the line used
 *   longest ago, FIFO the line filled longest ago, tree-PLRU follows its
 *   node bits, random uses xorshift64* re-implemented here from Vigna's
 *   published definition), never read from the program's output.
 * Assumptions: with tag 0 the set index is addr mod sets (cache.h: the tag
 *   is folded in by XOR of a multiple of the tag, which is 0 for tag 0).
 * Not covered here: the VT-d use of the cache (test_model_vtd.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cache/allassoc.h"
#include "cache/cache.h"

static iosim_cache_params_t params(uint32_t sets, uint32_t ways,
                                   const char *repl)
{
    iosim_cache_params_t p = {
        .enabled = true, .sets = sets, .ways = ways, .hit_ns = 0};
    snprintf(p.replacement, sizeof p.replacement, "%s", repl);
    return p;
}

static cache_t *mk(uint32_t sets, uint32_t ways, const char *repl,
                   uint64_t seed)
{
    iosim_cache_params_t p = params(sets, ways, repl);
    iosim_err_t err = {0};
    cache_t *c = cache_new("test", &p, seed, &err);
    assert_non_null(c);
    return c;
}

static cache_key_t key(uint64_t addr, uint64_t tag)
{
    return (cache_key_t){addr, tag};
}

/* One access as a TLB does it: look up, fill on a miss.  Returns 1 on a
 * miss. */
static unsigned access_key(cache_t *c, cache_key_t k)
{
    if (cache_lookup(c, k, NULL))
        return 0;
    cache_insert(c, k, k.addr);
    return 1;
}

/* ---- parameters ------------------------------------------------------ */

static void test_bad_params(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    iosim_cache_params_t p = params(3, 4, "lru"); /* 3 is not 2^n */
    assert_null(cache_new("vtd.iotlb", &p, 1, &err));
    assert_non_null(strstr(err.msg, "vtd.iotlb.sets"));
    p = params(4, 0, "lru");
    assert_null(cache_new("vtd.iotlb", &p, 1, &err));
    assert_non_null(strstr(err.msg, "ways"));
    p = params(4, 4, "mru"); /* not in the registry */
    assert_null(cache_new("vtd.iotlb", &p, 1, &err));
    assert_non_null(strstr(err.msg, "mru"));
    p = params(1, 6, "plru"); /* tree PLRU needs 2^n ways */
    assert_null(cache_new("vtd.iotlb", &p, 1, &err));
    /* the registry lists the four policies of the brief and QEMU's flush */
    size_t n = 0;
    while (cache_repl_registry[n])
        n++;
    assert_int_equal(n, 5);
    assert_non_null(cache_repl_find("flush"));
    assert_non_null(cache_repl_find("lru"));
    assert_non_null(cache_repl_find("plru"));
    assert_non_null(cache_repl_find("fifo"));
    assert_non_null(cache_repl_find("random"));
}

/* flush (QEMU's IOTLB, vtd_update_iotlb): a fill into a full set empties
 * the cache, then fills.  1 set x 4 ways, keys 1..4 fill it (4 misses);
 * they all hit; key 5 finds the set full: the cache keeps only 5, so 1..4
 * miss again (4 more) and 5 hits.  Then with 2 sets (tag 0: set = addr
 * mod 2): 1 in set 1, 0 and 2 fill set 0; 4 into full set 0 flushes 1
 * too, which set-local policies (lru) would have kept. */
static void test_flush_when_full(void **state)
{
    (void)state;
    cache_t *c = mk(1, 4, "flush", 1);
    unsigned misses = 0;
    for (uint64_t a = 1; a <= 4; a++)
        misses += access_key(c, key(a, 0));
    assert_int_equal(misses, 4);
    for (uint64_t a = 1; a <= 4; a++)
        assert_true(cache_lookup(c, key(a, 0), NULL));
    assert_true(cache_insert(c, key(5, 0), 5)); /* counted as an eviction */
    assert_int_equal(cache_valid_lines(c), 1);
    assert_int_equal(cache_occupancy(c), 1);
    assert_true(cache_lookup(c, key(5, 0), NULL));
    misses = 0;
    for (uint64_t a = 1; a <= 4; a++)
        misses += access_key(c, key(a, 0));
    assert_int_equal(misses, 4);
    /* 5 + 1, 2, 3 = full; 4 flushed everything again but itself */
    assert_int_equal(cache_valid_lines(c), 1);
    assert_true(cache_lookup(c, key(4, 0), NULL));
    cache_free(c);

    c = mk(2, 2, "flush", 1);
    access_key(c, key(1, 0));
    access_key(c, key(0, 0));
    access_key(c, key(2, 0));
    assert_int_equal(cache_valid_lines(c), 3);
    access_key(c, key(4, 0)); /* set 0 full */
    assert_int_equal(cache_valid_lines(c), 1);
    assert_false(cache_lookup(c, key(1, 0), NULL));
    assert_true(cache_lookup(c, key(4, 0), NULL));
    cache_free(c);
}

static void test_disabled_never_hits(void **state)
{
    (void)state;
    iosim_cache_params_t p = params(4, 4, "lru");
    p.enabled = false;
    cache_t *c = cache_new("off", &p, 1, NULL);
    assert_non_null(c);
    assert_false(cache_insert(c, key(1, 0), 7));
    assert_false(cache_lookup(c, key(1, 0), NULL));
    assert_int_equal(cache_capacity(c), 0);
    assert_int_equal(cache_occupancy(c), 0);
    cache_free(c);
}

/* ---- basics ---------------------------------------------------------- */

static void test_lru_basic(void **state)
{
    (void)state;
    /* 1 set x 4 ways: fill 1,2,3,4 (use order 1<2<3<4); touch 1 (order
     * 2<3<4<1); insert 5 must evict 2, the least recently used. */
    cache_t *c = mk(1, 4, "lru", 1);
    for (uint64_t a = 1; a <= 4; a++)
        assert_false(cache_insert(c, key(a, 0), a * 10));
    uint64_t v = 0;
    assert_true(cache_lookup(c, key(1, 0), &v));
    assert_int_equal(v, 10);
    assert_true(cache_insert(c, key(5, 0), 50)); /* evicted something */
    assert_false(cache_lookup(c, key(2, 0), NULL));
    assert_true(cache_lookup(c, key(1, 0), NULL));
    assert_true(cache_lookup(c, key(3, 0), NULL));
    assert_true(cache_lookup(c, key(4, 0), NULL));
    assert_true(cache_lookup(c, key(5, 0), &v));
    assert_int_equal(v, 50);
    /* re-inserting a present key refreshes its value, evicts nothing */
    assert_false(cache_insert(c, key(5, 0), 51));
    assert_true(cache_lookup(c, key(5, 0), &v));
    assert_int_equal(v, 51);
    assert_int_equal(cache_occupancy(c), 4);
    cache_free(c);
}

static void test_tag_is_part_of_the_key(void **state)
{
    (void)state;
    /* same addr, different tag (domain): two distinct lines */
    cache_t *c = mk(1, 4, "lru", 1);
    cache_insert(c, key(9, 1), 100);
    cache_insert(c, key(9, 2), 200);
    uint64_t v;
    assert_true(cache_lookup(c, key(9, 1), &v));
    assert_int_equal(v, 100);
    assert_true(cache_lookup(c, key(9, 2), &v));
    assert_int_equal(v, 200);
    assert_false(cache_lookup(c, key(9, 3), NULL));
    cache_free(c);
}

static void test_set_index(void **state)
{
    (void)state;
    /* 4 sets x 1 way, tag 0: set = addr mod 4.  0 and 4 share set 0, so
     * the second evicts the first; 1 lives in set 1 and survives. */
    cache_t *c = mk(4, 1, "lru", 1);
    assert_false(cache_insert(c, key(0, 0), 0));
    assert_false(cache_insert(c, key(1, 0), 1));
    assert_true(cache_insert(c, key(4, 0), 4));
    assert_false(cache_lookup(c, key(0, 0), NULL));
    assert_true(cache_lookup(c, key(1, 0), NULL));
    assert_true(cache_lookup(c, key(4, 0), NULL));
    assert_int_equal(cache_capacity(c), 4);
    cache_free(c);
}

static void test_one_key_one_miss(void **state)
{
    (void)state;
    /* N accesses to one key: the first misses, the N-1 others hit, for
     * every policy. */
    const char *pol[] = {"lru", "plru", "fifo", "random"};
    for (size_t i = 0; i < 4; i++) {
        cache_t *c = mk(8, 8, pol[i], 7);
        unsigned misses = 0;
        for (int n = 0; n < 1000; n++)
            misses += access_key(c, key(0x1234, 5));
        assert_int_equal(misses, 1);
        cache_free(c);
    }
}

static void test_lru_loop_thrash(void **state)
{
    (void)state;
    /* Fully associative LRU of C lines, cyclic loop over C+1 keys: the
     * key accessed next is always the one used longest ago, i.e. the one
     * just evicted — every access misses: R rounds x (C+1) misses. */
    enum { C = 8, R = 10 };
    cache_t *c = mk(1, C, "lru", 1);
    unsigned misses = 0;
    for (int r = 0; r < R; r++)
        for (uint64_t a = 0; a < C + 1; a++)
            misses += access_key(c, key(a, 0));
    assert_int_equal(misses, R * (C + 1));
    cache_free(c);

    /* The same loop in a cache of 2C lines fits: only the C+1 cold
     * misses of the first round. */
    c = mk(1, 2 * C, "lru", 1);
    misses = 0;
    for (int r = 0; r < R; r++)
        for (uint64_t a = 0; a < C + 1; a++)
            misses += access_key(c, key(a, 0));
    assert_int_equal(misses, C + 1);
    cache_free(c);
}

static void test_fifo_vs_lru(void **state)
{
    (void)state;
    /* 1 set x 2 ways, sequence A B A C A:
     *   LRU : A miss, B miss, A hit (A now MRU), C miss evicts B,
     *         A hit                                   -> 3 misses
     *   FIFO: A miss, B miss, A hit (fill order unchanged), C miss
     *         evicts A (filled first), A miss evicts B  -> 4 misses */
    const uint64_t seq[] = {'A', 'B', 'A', 'C', 'A'};
    cache_t *lru = mk(1, 2, "lru", 1), *fifo = mk(1, 2, "fifo", 1);
    unsigned ml = 0, mf = 0;
    for (size_t i = 0; i < 5; i++) {
        ml += access_key(lru, key(seq[i], 0));
        mf += access_key(fifo, key(seq[i], 0));
    }
    assert_int_equal(ml, 3);
    assert_int_equal(mf, 4);
    /* after the sequence LRU holds {A, C}; FIFO holds {C, A} too, but got
     * there by evicting A once */
    assert_true(cache_lookup(lru, key('A', 0), NULL));
    assert_true(cache_lookup(lru, key('C', 0), NULL));
    assert_false(cache_lookup(lru, key('B', 0), NULL));
    cache_free(lru);
    cache_free(fifo);
}

static void test_plru_by_hand(void **state)
{
    (void)state;
    /* Tree PLRU, 4 ways: node 0 chooses between ways {0,1} and {2,3},
     * node 1 between 0 and 1, node 2 between 2 and 3; a node bit of 0
     * sends the victim left, and a use sets the bits on its path to point
     * away from it.  Empty lines are filled in way order.
     *   fill K0..K3 in ways 0..3:
     *     w0: n0=1 n1=1 | w1: n0=1 n1=0 | w2: n0=0 n2=1 | w3: n0=0 n2=0
     *   bits n0=0 n1=0 n2=0 -> victim way 0 (K0)
     *   insert K4 -> way 0: n0=1 n1=1
     *   hit K1 (way 1): n0=1 n1=0  -> victim: right, n2=0 -> way 2 (K2)
     *   insert K5 -> way 2: n0=0 n2=1 -> victim: left, n1=0 -> way 0 (K4)
     *   insert K6 -> way 0 evicts K4.
     * True LRU would have evicted K3 here (use order K3 < K4 < K1 < K5):
     * the point where PLRU and LRU part. */
    cache_t *c = mk(1, 4, "plru", 1);
    for (uint64_t k = 0; k < 4; k++)
        assert_false(cache_insert(c, key(k, 0), k));
    assert_true(cache_insert(c, key(4, 0), 4));
    assert_false(cache_lookup(c, key(0, 0), NULL)); /* a miss: no update */
    assert_true(cache_lookup(c, key(1, 0), NULL));
    assert_true(cache_insert(c, key(5, 0), 5));
    assert_false(cache_lookup(c, key(2, 0), NULL));
    assert_true(cache_insert(c, key(6, 0), 6));
    assert_false(cache_lookup(c, key(4, 0), NULL));
    /* survivors K1 K3 K5 K6 (lookups last: they change the bits) */
    assert_true(cache_lookup(c, key(1, 0), NULL));
    assert_true(cache_lookup(c, key(3, 0), NULL));
    assert_true(cache_lookup(c, key(5, 0), NULL));
    assert_true(cache_lookup(c, key(6, 0), NULL));
    cache_free(c);

    /* the same sequence under LRU evicts K0, K2 then K3 */
    c = mk(1, 4, "lru", 1);
    for (uint64_t k = 0; k < 4; k++)
        cache_insert(c, key(k, 0), k);
    cache_insert(c, key(4, 0), 4);
    cache_lookup(c, key(1, 0), NULL);
    cache_insert(c, key(5, 0), 5);
    cache_insert(c, key(6, 0), 6);
    assert_false(cache_lookup(c, key(3, 0), NULL));
    assert_true(cache_lookup(c, key(4, 0), NULL));
    cache_free(c);
}

/* xorshift64* (S. Vigna, "An experimental exploration of Marsaglia's
 * xorshift generators, scrambled", 2016): shifts 12, 25, 27, multiplier
 * 2685821657736338717 = 0x2545F4914F6CDD1D.  cache.h says the random
 * policy draws from it and takes the draw modulo ways. */
static uint64_t xs_state;
static uint64_t xs_next(void)
{
    xs_state ^= xs_state >> 12;
    xs_state ^= xs_state << 25;
    xs_state ^= xs_state >> 27;
    return xs_state * 2685821657736338717ull;
}

static void test_random_deterministic(void **state)
{
    (void)state;
    /* 1 set x 4 ways filled with keys 0..3 (ways 0..3); then keys 4..203
     * each evict way xs_next() % 4.  Track the expected contents of each
     * way and compare after every insert. */
    enum { W = 4, N = 200 };
    const uint64_t seed = 12345;
    cache_t *a = mk(1, W, "random", seed), *b = mk(1, W, "random", seed);
    cache_t *other = mk(1, W, "random", seed + 1);
    uint64_t way_key[W];
    for (uint64_t k = 0; k < W; k++) {
        cache_insert(a, key(k, 0), k);
        cache_insert(b, key(k, 0), k);
        cache_insert(other, key(k, 0), k);
        way_key[k] = k;
    }
    xs_state = seed;
    unsigned differs = 0, used[W] = {0};
    for (uint64_t k = W; k < W + N; k++) {
        unsigned victim = (unsigned)(xs_next() % W);
        used[victim]++;
        uint64_t gone = way_key[victim];
        way_key[victim] = k;
        assert_true(cache_insert(a, key(k, 0), k));
        assert_true(cache_insert(b, key(k, 0), k));
        cache_insert(other, key(k, 0), k);
        /* lookups do not change random's state (no touch bookkeeping) */
        assert_false(cache_lookup(a, key(gone, 0), NULL));
        assert_false(cache_lookup(b, key(gone, 0), NULL));
        for (unsigned w = 0; w < W; w++) {
            assert_true(cache_lookup(a, key(way_key[w], 0), NULL));
            assert_true(cache_lookup(b, key(way_key[w], 0), NULL));
        }
        differs += cache_lookup(other, key(gone, 0), NULL) ? 1 : 0;
    }
    /* a different seed keeps some key the seeded run evicted */
    assert_true(differs > 0);
    for (unsigned w = 0; w < W; w++)
        assert_true(used[w] > 0);
    cache_free(a);
    cache_free(b);
    cache_free(other);
}

static bool tag_is(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    return k.tag == *(const uint64_t *)arg;
}

static void test_invalidate_if(void **state)
{
    (void)state;
    /* 4 sets x 8 ways (32 lines); 10 keys of tag 1 and 12 of tag 2, at
     * most 6 per set, so nothing is evicted.  Removing tag 1 removes
     * exactly 10 lines and leaves the 12 others. */
    cache_t *c = mk(4, 8, "lru", 1);
    for (uint64_t a = 0; a < 10; a++)
        assert_false(cache_insert(c, key(a, 1), a));
    for (uint64_t a = 0; a < 12; a++)
        assert_false(cache_insert(c, key(a, 2), a));
    assert_int_equal(cache_occupancy(c), 22);
    uint64_t t = 1;
    assert_int_equal(cache_invalidate_if(c, tag_is, &t), 10);
    assert_int_equal(cache_occupancy(c), 12);
    for (uint64_t a = 0; a < 10; a++)
        assert_false(cache_lookup(c, key(a, 1), NULL));
    for (uint64_t a = 0; a < 12; a++)
        assert_true(cache_lookup(c, key(a, 2), NULL));
    /* again: nothing left to match */
    assert_int_equal(cache_invalidate_if(c, tag_is, &t), 0);
    /* single-key invalidate and flush */
    assert_int_equal(cache_invalidate(c, key(3, 2)), 1);
    assert_int_equal(cache_invalidate(c, key(3, 2)), 0);
    assert_int_equal(cache_flush(c), 11);
    assert_int_equal(cache_occupancy(c), 0);
    cache_free(c);
}

static void test_refill_after_invalidate(void **state)
{
    (void)state;
    /* An invalidated line is a free way: the next fill takes it instead
     * of evicting a valid line (LRU, 1 x 2: fill A B, drop A, fill C ->
     * no eviction, B still there). */
    cache_t *c = mk(1, 2, "lru", 1);
    cache_insert(c, key('A', 0), 0);
    cache_insert(c, key('B', 0), 0);
    assert_int_equal(cache_invalidate(c, key('A', 0)), 1);
    assert_false(cache_insert(c, key('C', 0), 0));
    assert_true(cache_lookup(c, key('B', 0), NULL));
    assert_true(cache_lookup(c, key('C', 0), NULL));
    cache_free(c);
}

/* cache_match8 (SSE2 on x86-64: both 32-bit halves of 8 addrs compared at
 * once) against its portable form and against a comparison written here,
 * on lines that agree with the key in their low half only, their high
 * half only, both, or neither (invalid lines too); and cache_find_way on
 * sets of 8 and 16 ways (the 8-at-a-time scan) against a line-by-line
 * search, with keys whose addr matches under another tag. */
static uint64_t xs(uint64_t *x) /* xorshift64 (Marsaglia 2003) */
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_match8_and_find_way(void **state)
{
    (void)state;
    uint64_t x = 12345;
    unsigned lows = 0, highs = 0, boths = 0;
    for (int round = 0; round < 20000; round++) {
        uint64_t key = xs(&x) >> (xs(&x) % 64), a[8];
        uint32_t want = 0;
        for (unsigned w = 0; w < 8; w++) {
            uint64_t r = xs(&x) % 5;
            a[w] = r == 0   ? key
                   : r == 1 ? key ^ 0x100000000ull /* low half agrees */
                   : r == 2 ? key ^ 1u             /* high half agrees */
                   : r == 3 ? CACHE_NO_ADDR
                            : xs(&x);
            want |= (uint32_t)(a[w] == key) << (2 * w);
            lows += r == 1;
            highs += r == 2;
            boths += r == 0;
        }
        assert_int_equal(cache_match8_scalar(a, key), want);
        assert_int_equal(cache_match8(a, key), want);
    }
    assert_true(lows > 1000 && highs > 1000 && boths > 1000);
    static const uint32_t ways[] = {8, 16};
    for (size_t g = 0; g < 2; g++) {
        cache_t *c = mk(4, ways[g], "lru", 1);
        for (int round = 0; round < 5000; round++) {
            uint32_t set = (uint32_t)(xs(&x) % 4);
            size_t base = (size_t)set * ways[g];
            for (uint32_t w = 0; w < ways[g]; w++) {
                uint64_t r = xs(&x) % 4;
                c->addrs[base + w] = r == 0 ? CACHE_NO_ADDR : xs(&x) % 6;
                c->tags[base + w] = xs(&x) % 3;
            }
            uint64_t addr = xs(&x) % 6, tag = xs(&x) % 3;
            uint32_t want = ways[g]; /* the first line with the key */
            for (uint32_t w = ways[g]; w-- > 0;)
                if (c->addrs[base + w] == addr && c->tags[base + w] == tag)
                    want = w;
            /* (a set in use holds a key once; here it may hold it twice:
             * both scans give the first) */
            assert_int_equal(cache_find_way(c, base, ways[g], addr, tag), want);
        }
        cache_free(c);
    }
}

/* ---- cache_invalidate_ranges against a scan of every line ------------ */

/* The definition: lo <= addr <= hi and the tag equal, for some range
 * of arg's list (ended by a range of tag 0: the test's tags are 1..3). */
static bool in_some_range(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    for (const cache_range_t *r = arg; r->tag; r++)
        if (k.tag == r->tag && r->lo <= k.addr && k.addr <= r->hi)
            return true;
    return false;
}

/* Caches a (cache_invalidate_ranges: probes of the keys, or one scan
 * when they outnumber twice the sets, and 4) and b (cache_invalidate_if with
 * the definition) of random geometry and policy, each with an
 * all-associativity shadow (told the keys, or the predicate when there
 * are many), take the same accesses to keys of 3 tags over 512 addrs and
 * the same invalidations of 1 to 3 ranges (mostly 1-4 keys, some up to
 * 600: both routes of both); after each, both removed the same count,
 * hold the same lines, and at the end both shadows count alike for every
 * geometry. */
static void test_invalidate_ranges(void **state)
{
    (void)state;
    static const char *const repl[] = {"lru", "fifo", "plru", "random"};
    static const uint32_t sh_sets[] = {1, 2, 4, 8, 16, 32};
    uint64_t x = 0x9e3779b97f4a7c15ull, gone = 0, scans = 0;
    for (int round = 0; round < 48; round++) {
        uint32_t sets = 1u << (xs(&x) % 6), ways = 1u << (xs(&x) % 5);
        const char *pol = repl[xs(&x) % 4];
        cache_t *a = mk(sets, ways, pol, 7), *b = mk(sets, ways, pol, 7);
        iosim_err_t err = {0};
        allassoc_t *sa = allassoc_new(sh_sets, 6, 16, &err),
                   *sb = allassoc_new(sh_sets, 6, 16, &err);
        assert_non_null(sa);
        assert_non_null(sb);
        cache_set_shadow(a, sa);
        cache_set_shadow(b, sb);
        for (int step = 0; step < 4000; step++) {
            if (xs(&x) % 3) {
                cache_key_t k = key(xs(&x) % 512, 1 + xs(&x) % 3);
                access_key(a, k);
                access_key(b, k);
                continue;
            }
            cache_range_t r[4] = {{0}};
            size_t n = 1 + xs(&x) % 3;
            for (size_t i = 0; i < n; i++) {
                uint64_t len = xs(&x) % 8 ? xs(&x) % 4 : xs(&x) % 600;
                r[i].tag = 1 + xs(&x) % 3;
                r[i].lo = xs(&x) % 512;
                r[i].hi = r[i].lo + len;
            }
            size_t na = cache_invalidate_ranges(a, r, n);
            assert_int_equal(na, cache_invalidate_if(b, in_some_range, r));
            gone += na;
            uint64_t keys = 0;
            for (size_t i = 0; i < n; i++)
                keys += r[i].hi - r[i].lo + 1;
            scans += keys > (sets < 2 ? 4 : 2ull * sets);
            size_t lines = (size_t)sets * ways;
            assert_memory_equal(a->addrs, b->addrs, lines * sizeof *a->addrs);
            assert_memory_equal(a->tags, b->tags, lines * sizeof *a->tags);
            assert_memory_equal(a->set_valid, b->set_valid,
                                sets * sizeof *a->set_valid);
            assert_int_equal(cache_valid_lines(a), cache_valid_lines(b));
        }
        for (size_t k = 0; k < 6; k++)
            for (uint32_t w = 1; w <= 16; w++) {
                allassoc_counts_t ca, cb;
                assert_int_equal(allassoc_counts(sa, sh_sets[k], w, &ca), 0);
                assert_int_equal(allassoc_counts(sb, sh_sets[k], w, &cb), 0);
                assert_memory_equal(&ca, &cb, sizeof ca);
            }
        cache_set_shadow(a, NULL);
        cache_set_shadow(b, NULL);
        allassoc_free(sa);
        allassoc_free(sb);
        cache_free(a);
        cache_free(b);
    }
    /* both routes taken, lines removed */
    assert_true(gone > 10000);
    assert_true(scans > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_disabled_never_hits),
        cmocka_unit_test(test_flush_when_full),
        cmocka_unit_test(test_lru_basic),
        cmocka_unit_test(test_tag_is_part_of_the_key),
        cmocka_unit_test(test_set_index),
        cmocka_unit_test(test_one_key_one_miss),
        cmocka_unit_test(test_lru_loop_thrash),
        cmocka_unit_test(test_fifo_vs_lru),
        cmocka_unit_test(test_plru_by_hand),
        cmocka_unit_test(test_random_deterministic),
        cmocka_unit_test(test_invalidate_if),
        cmocka_unit_test(test_refill_after_invalidate),
        cmocka_unit_test(test_match8_and_find_way),
        cmocka_unit_test(test_invalidate_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
