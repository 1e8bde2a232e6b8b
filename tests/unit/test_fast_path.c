/* test_fast_path.c — the replay's shortcuts against the plain path.
 *
 * Concepts: cache_lookup_kv settles a hit on the line of the last hit or
 *   fill inline (cache.h) and sends everything else to cache_lookup_slow,
 *   the plain set scan.  Two caches of one geometry get the same
 *   randomized stream of lookups, fills, invalidations and flushes, one
 *   looked up through cache_lookup_kv, the other through
 *   cache_lookup_slow only; every answer and value, and after every
 *   operation the whole state (keys, valid bits, values, LRU stamps and
 *   clock, PLRU bits, counts, the MRU line), must be the same.
 * Assumptions: the stream repeats its last key often (as a DMA stream
 *   does on one page), so the inline path is taken; the test counts that
 *   it was, so it cannot pass by never taking it.
 *   pgtable_walk_leaf (the walk the IOMMU's page walker uses when the
 *   table addresses are not needed) against pgtable_walk on a table that
 *   random maps (4 KB and large leaves) and unmaps keep changing.
 * Not covered here: the shortcuts of sim.c and vtd.c, which the golden
 *   reports and the touch-identity test compare with recorded outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cache/cache.h"
#include "vtd/pgtable.h"

static cache_t *mk(uint32_t sets, uint32_t ways, const char *repl)
{
    iosim_cache_params_t p = {.enabled = true, .sets = sets, .ways = ways};
    snprintf(p.replacement, sizeof p.replacement, "%s", repl);
    iosim_err_t err = {0};
    cache_t *c = cache_new("test", &p, 7, &err);
    assert_non_null(c);
    return c;
}

static void same_state(const cache_t *a, const cache_t *b)
{
    size_t n = (size_t)a->sets * a->ways;
    assert_int_equal(a->clock, b->clock);
    assert_int_equal(a->nvalid, b->nvalid);
    assert_int_equal(a->mru, b->mru);
    assert_int_equal(a->rng, b->rng);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a->valid[i], b->valid[i]);
        assert_int_equal(a->stamps[i], b->stamps[i]);
        if (!a->valid[i])
            continue;
        assert_int_equal(a->addrs[i], b->addrs[i]);
        assert_int_equal(a->tags[i], b->tags[i]);
        assert_int_equal(a->vals[i], b->vals[i]);
    }
    for (uint32_t s = 0; s < a->sets; s++) {
        assert_int_equal(a->set_valid[s], b->set_valid[s]);
        assert_int_equal(a->set_bits[s], b->set_bits[s]);
    }
}

static bool odd_addr(cache_key_t k, uint64_t val, void *arg)
{
    (void)val, (void)arg;
    return k.addr & 1;
}

static uint64_t next(uint64_t *x) /* xorshift64 (Marsaglia 2003) */
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* returns how often the inline path answered */
static unsigned long run(uint32_t sets, uint32_t ways, const char *repl,
                         uint64_t seed)
{
    cache_t *fast = mk(sets, ways, repl), *plain = mk(sets, ways, repl);
    uint64_t x = seed, addr = 0, tag = 0;
    unsigned long inline_hits = 0;
    for (int op = 0; op < 200000; op++) {
        uint64_t r = next(&x) % 1000;
        if (r >= 400) { /* a new key half of the time, else the last one */
            addr = next(&x) % (4 * sets * ways);
            tag = next(&x) % 3;
        }
        if (r < 900) { /* a TLB access: look up, fill on a miss */
            size_t m = fast->mru;
            bool inl = fast->kind == CACHE_REPL_LRU &&
                       cache_line_has(fast, m, addr, tag);
            uint64_t va = 0, vb = 0;
            bool ha = cache_lookup_kv(fast, addr, tag, &va);
            bool hb = cache_lookup_slow(plain, addr, tag, &vb);
            assert_int_equal(ha, hb);
            assert_int_equal(va, vb);
            inline_hits += inl;
            if (!ha)
                assert_int_equal(cache_insert_kv(fast, addr, tag, addr * 3),
                                 cache_insert_kv(plain, addr, tag, addr * 3));
        } else if (r < 960) { /* a fill without a lookup before it */
            assert_int_equal(cache_insert_kv(fast, addr, tag, r),
                             cache_insert_kv(plain, addr, tag, r));
        } else if (r < 990) {
            assert_int_equal(cache_invalidate_kv(fast, addr, tag),
                             cache_invalidate_kv(plain, addr, tag));
        } else if (r < 998) {
            assert_int_equal(cache_invalidate_if(fast, odd_addr, NULL),
                             cache_invalidate_if(plain, odd_addr, NULL));
        } else {
            assert_int_equal(cache_flush(fast), cache_flush(plain));
        }
        same_state(fast, plain);
    }
    cache_free(fast);
    cache_free(plain);
    return inline_hits;
}

static void test_lru_geometries(void **state)
{
    (void)state;
    /* the IOTLB of configs/vtd.yaml, a PSC, a small one, direct-mapped */
    static const uint32_t geo[][2] = {{8, 8}, {1, 16}, {4, 2}, {16, 1}};
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
        assert_true(run(geo[i][0], geo[i][1], "lru", 11 + i) > 10000);
}

/* the other policies never take the inline path: the same answers */
static void test_other_policies(void **state)
{
    (void)state;
    static const char *const repl[] = {"fifo", "plru", "random", "flush"};
    for (size_t i = 0; i < sizeof repl / sizeof repl[0]; i++)
        assert_int_equal(run(4, 4, repl[i], 3 + i), 0);
}

static void test_walk_leaf(void **state)
{
    (void)state;
    physmem_t mem;
    physmem_init(&mem, 1ull << 30);
    pgtable_t pt;
    assert_int_equal(pgtable_init(&pt, 4, &mem), 0);
    uint64_t x = 99, leaves = 0, faults = 0;
    for (int op = 0; op < 100000; op++) {
        /* a 16 MB window: many 4 KB pages, 8 possible 2 MB leaves */
        uint64_t iova = (next(&x) % (16u << 20)) & ~0xfffull;
        uint64_t r = next(&x) % 100;
        if (r < 10) {
            uint64_t size = r < 2 ? 2u << 20 : (1 + next(&x) % 8) * 4096;
            if (r < 2)
                iova &= ~((2ull << 20) - 1);
            pgtable_map(&pt, iova, (next(&x) % 4096) << 21, size, r & 1, r < 2);
        } else if (r < 16) {
            pgtable_unmap(&pt, iova, (1 + next(&x) % 600) * 4096, NULL);
        }
        uint64_t at = iova + next(&x) % 4096;
        pt_walk_t a, b;
        bool ma = pgtable_walk(&pt, at, &a),
             mb = pgtable_walk_leaf(&pt, at, &b);
        assert_int_equal(ma, mb);
        assert_int_equal(a.leaf_level, b.leaf_level);
        assert_int_equal(a.fault_level, b.fault_level);
        assert_int_equal(a.phys, b.phys);
        assert_int_equal(a.write, b.write);
        leaves += ma && a.leaf_level == 2;
        faults += !ma;
    }
    /* both outcomes and a large leaf were seen */
    assert_true(leaves > 100 && faults > 100);
    pgtable_fini(&pt);
    physmem_fini(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_geometries),
        cmocka_unit_test(test_other_policies),
        cmocka_unit_test(test_walk_leaf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
