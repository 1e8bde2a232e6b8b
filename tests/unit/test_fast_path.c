/* test_fast_path.c — the replay's shortcuts against the plain path.
 *
 * Concepts: cache_lookup_kv runs an LRU cache of at most 16 ways without
 *   a shadow wholly inline (cache.h cache_lru_lookup, and
 *   cache_insert_kv_inline's fill after a missed lookup, both keeping each
 *   set's recency order), settles a hit on the line of the last hit or
 *   fill inline for a larger LRU cache, and sends everything else to
 *   cache_lookup_slow, the plain set scan.  Two caches of one geometry get
 *   the same randomized stream of lookups, fills, invalidations and
 *   flushes, one through cache_lookup_kv and cache_insert_kv_inline, the
 *   other through cache_lookup_slow and cache_insert_kv only; every answer
 *   and value, and after every operation the whole state (keys, valid
 *   bits, values, LRU stamps and clock where no recency order replaces
 *   them, PLRU bits, counts, the MRU line,
 *   the recency orders), must be the same, and each set's recency order
 *   must list its ways by the generic code's LRU stamps, newest first
 *   (the policy's definition; the inline path leaves the stamps).
 * Assumptions: the stream repeats its last key often (as a DMA stream
 *   does on one page), so the inline path is taken; the test counts that
 *   it was, so it cannot pass by never taking it.
 *   pgtable_walk_leaf (the walk the IOMMU's page walker uses when the
 *   table addresses are not needed; inline where the leaf-table memo
 *   knows the region) and pgtable_is_mapped against pgtable_walk on a
 *   table that random maps (4 KB and large leaves) and unmaps keep
 *   changing.
 *   The replay's DMA fast path (sim.c sim_fast_run: runs of one-page
 *   DMA records skip the plain routing) against the plain path
 *   (sim_set_fast_path off): two sims of one configuration get the same
 *   randomized stream — maps of 4 KB pages and 2 MB-aligned large pages,
 *   unmaps (some stray), DMA records of several sources and domains (DID
 *   0 too), one-page and multi-page, some to unmapped pages (one that
 *   wraps around the 64-bit space within its page) or a moment
 *   earlier, trace invalidations and request marks interleaved, a
 *   measurement window's begin and end marks (sim.window_only in one
 *   configuration: counters restart between runs of fast records) — in
 *   batches of random sizes; every counter, the latency histogram, the
 *   input warnings and the IOTLB's whole state must be the same, under
 *   configurations that change what a DMA record does (policies, IOVA
 *   reallocation, caches, timing, scalable mode, ATS, a hypervisor).
 *   The test counts the records the fast path took, so it cannot pass
 *   by never taking it, and those the translation's quick path answered
 *   (vtd_quick.h vtd_translate_quick: the plain copy's usual steps).
 *   The context cache's and the PDE cache's states are compared too: the
 *   quick path's memo across a run skips their probes where they would
 *   change nothing (configurations with small ones break it often, and
 *   test_quick_memo builds each way it must be forgotten).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/allassoc.h"
#include "cache/cache.h"
#include "system/services.h"
#include "system/system.h"
#include "vtd/pgtable.h"
#include "vtd/vtd_quick.h"

static cache_t *mk(uint32_t sets, uint32_t ways, const char *repl)
{
    iosim_cache_params_t p = {.enabled = true, .sets = sets, .ways = ways};
    snprintf(p.replacement, sizeof p.replacement, "%s", repl);
    iosim_err_t err = {0};
    cache_t *c = cache_new("test", &p, 7, &err);
    assert_non_null(c);
    return c;
}

/* a: the cache the inline path ran; b: the generic code's (which keeps
 * the LRU stamps the inline path leaves to the recency order) */
static void same_state(const cache_t *a, const cache_t *b)
{
    size_t n = (size_t)a->sets * a->ways;
    if (!a->order)
        assert_int_equal(a->clock, b->clock);
    assert_int_equal(a->nvalid, b->nvalid);
    assert_int_equal(a->mru, b->mru);
    assert_int_equal(a->rng, b->rng);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cache_line_valid(a, i), cache_line_valid(b, i));
        if (!a->order)
            assert_int_equal(a->stamps[i], b->stamps[i]);
        if (!cache_line_valid(a, i))
            continue;
        assert_int_equal(a->addrs[i], b->addrs[i]);
        assert_int_equal(a->tags[i], b->tags[i]);
        assert_int_equal(a->vals[i], b->vals[i]);
    }
    for (uint32_t s = 0; s < a->sets; s++) {
        assert_int_equal(a->set_valid[s], b->set_valid[s]);
        assert_int_equal(a->set_bits[s], b->set_bits[s]);
    }
    assert_int_equal(a->order != NULL, b->order != NULL);
    for (uint32_t s = 0; a->order && s < a->sets; s++) {
        assert_int_equal(a->order[s], b->order[s]);
        /* a permutation of the ways, stamps falling along it (ways never
         * used, stamp 0, last) */
        uint32_t seen = 0;
        uint64_t prev = UINT64_MAX;
        for (uint32_t k = 0; k < a->ways; k++) {
            uint32_t w = (uint32_t)(a->order[s] >> (4 * k)) & 15u;
            assert_true(w < a->ways && !(seen & (1u << w)));
            seen |= 1u << w;
            uint64_t st = b->stamps[(size_t)s * b->ways + w];
            assert_true(st < prev || (st == 0 && prev == 0));
            prev = st;
        }
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
    unsigned long inline_hits = 0, inline_fills = 0;
    bool lru_inline_expected = !strcmp(repl, "lru") && ways <= 16;
    assert_int_equal(fast->lru_inline, lru_inline_expected);
    for (int op = 0; op < 200000; op++) {
        uint64_t r = next(&x) % 1000;
        if (r >= 400) { /* a new key half of the time, else the last one */
            addr = next(&x) % (4 * sets * ways);
            tag = next(&x) % 3;
        }
        if (r < 900) { /* a TLB access: look up, fill on a miss */
            size_t m = fast->mru;
            bool inl = fast->lru_inline || (fast->kind == CACHE_REPL_LRU &&
                                            cache_line_has(fast, m, addr, tag));
            uint64_t va = 0, vb = 0;
            bool ha = cache_lookup_kv(fast, addr, tag, &va);
            bool hb = cache_lookup_slow(plain, addr, tag, &vb);
            assert_int_equal(ha, hb);
            assert_int_equal(va, vb);
            inline_hits += inl;
            if (!ha) {
                inline_fills += fast->lru_inline;
                assert_int_equal(
                    cache_insert_kv_inline(fast, addr, tag, addr * 3),
                    cache_insert_kv(plain, addr, tag, addr * 3));
            }
        } else if (r < 960) { /* a fill without a lookup before it */
            assert_int_equal(cache_insert_kv_inline(fast, addr, tag, r),
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
    /* an inline cache filled inline after its misses */
    assert_true(!lru_inline_expected || inline_fills > 1000);
    return inline_hits;
}

static void test_lru_geometries(void **state)
{
    (void)state;
    /* the IOTLB of configs/vtd.yaml, a PSC, a small one, direct-mapped,
     * odd ways, more ways than a recency order holds */
    static const uint32_t geo[][2] = {{8, 8}, {1, 16}, {4, 2}, {16, 1},
                                      {2, 3}, {4, 5},  {1, 32}};
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

/* the fast path's latency buckets (a table by histogram slot) against
 * the plain path's (from the latency's bits), every slot and beyond */
static void test_lat_buckets(void **state)
{
    (void)state;
    for (uint64_t lat = 0; lat < 3 * SIM_LAT_SLOTS; lat++)
        assert_int_equal(sim_lat_bucket_fast(lat), sim_lat_bucket_plain(lat));
    static const uint64_t big[] = {1ull << 20, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        assert_int_equal(sim_lat_bucket_fast(big[i]),
                         sim_lat_bucket_plain(big[i]));
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
        assert_int_equal(ma, pgtable_is_mapped(&pt, at));
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

/* ---- the replay's DMA fast path --------------------------------------- */
/* The plain side also runs vtd_translate's general copy and the caches'
 * generic code (vtd_set_shortcuts off), so the translation's copy for the
 * plain composition and the caches' inline LRU path are compared too; the
 * fast side translates with vtd_translate_brief and times with
 * dma_pipe_one, the plain side with vtd_translate and dma_pipe_begin /
 * _page / _end (a brief result that dropped a walk's reads fails here). */

#define SLOTS 48
typedef struct slot {
    uint64_t iova, size, phys;
    uint16_t dev, did;
    bool live;
} slot_t;

/* A stream of n records over SLOTS buffers of three devices (domains 1 to
 * 3), mostly DMA; buffers 0..5 are 2 MB at 2 MB-aligned IOVAs, all of
 * device 0x300 (domain 3), so that domains 1 and 2 have 4 KB leaves only
 * (the quick path's memo holds only such a domain, vtd_quick.h); a fifth
 * of the DMA records carry PASID 1.  Time steps are 0 or 3..7 times scale
 * ns (timers, such as a flush queue's, expire within the stream when
 * scale is large). */
static iosim_rec_t *stream(size_t n, uint64_t seed, uint64_t scale)
{
    slot_t sl[SLOTS];
    uint64_t x = seed;
    for (int i = 0; i < SLOTS; i++) {
        sl[i].dev = (uint16_t)(0x100 * (i < 6 ? 3 : 1 + i % 3));
        sl[i].did = (uint16_t)(i < 6 ? 3 : 1 + i % 3);
        sl[i].size = i < 6 ? 2u << 20 : (1 + next(&x) % 3) * 4096;
        sl[i].iova = i < 6 ? (uint64_t)(i + 1) << 22
                           : (1ull << 32) + (uint64_t)i * 0x10000;
        sl[i].phys = (uint64_t)(i + 1) << 24;
        sl[i].live = false;
    }
    iosim_rec_t *r = calloc(n, sizeof *r);
    assert_non_null(r);
    uint64_t t = 1000;
    for (size_t k = 0; k < n; k++) {
        uint64_t c = next(&x) % 1000, step = next(&x) % 8;
        t += step < 3 ? 0 : step * scale; /* same timestamps often */
        slot_t *b = &sl[next(&x) % SLOTS];
        iosim_rec_t *q = &r[k];
        q->t = c < 3 && t > 5 ? t - 5 : t; /* now and then a moment early */
        q->device = b->dev;
        q->domain = b->did;
        q->cpu = (uint8_t)(next(&x) % 4);
        if (c < 60 && !b->live) {
            q->kind = IOSIM_REC_MAP;
            q->iova = b->iova;
            q->size = b->size;
            q->aux = b->phys;
            q->flags = IOSIM_PROT_READ | (c & 1 ? IOSIM_PROT_WRITE : 0);
            b->live = true;
        } else if (c < 100) {
            q->kind = IOSIM_REC_UNMAP; /* stray when not live */
            q->iova = b->iova;
            q->size = b->size;
            b->live = false;
        } else if (c < 110) {
            q->kind = IOSIM_REC_INVAL;
            q->desc = IOSIM_DESC_IOTLB;
            q->gran = c & 1 ? IOSIM_GRAN_PAGE : IOSIM_GRAN_DOMAIN;
            q->iova = b->iova;
        } else if (c < 125 || k == n / 3 || k == 2 * n / 3) {
            /* the measurement window (sim.window_only) from a third of
             * the stream to two thirds: counters restart and freeze
             * between runs of fast records */
            q->kind = IOSIM_REC_MARK;
            q->flags = k == n / 3       ? IOSIM_MARK_BEGIN
                       : k == 2 * n / 3 ? IOSIM_MARK_END
                                        : IOSIM_MARK_REQUEST;
        } else {
            q->kind = IOSIM_REC_DMA;
            uint64_t off = next(&x) % b->size, m = next(&x) % 100;
            q->iova = b->iova + off;
            q->size = m < 70 ? 64 : m < 80 ? 0 : m < 90 ? 4096 : 6000;
            if (m >= 80 && m < 90)
                q->iova &= ~0xfffull;
            if (m == 99) { /* within the top page, wrapping around */
                q->iova = UINT64_MAX - 63;
                q->size = 64;
            }
            q->flags = m & 1 ? IOSIM_DMA_WRITE : 0;
            if (m % 7 == 0)
                q->domain = 0; /* the domain of the source id */
            if (m % 5 == 1)
                q->pasid = 1;
        }
    }
    return r;
}

/* iosim_sim_consume of recs in batches of random sizes */
static void feed(iosim_sim_t *s, const iosim_rec_t *recs, size_t n,
                 uint64_t seed)
{
    iosim_err_t err = {0};
    uint64_t x = seed;
    for (size_t i = 0; i < n;) {
        size_t k = 1 + next(&x) % 300;
        if (k > n - i)
            k = n - i;
        assert_int_equal(iosim_sim_consume(s, recs + i, k, &err), 0);
        i += k;
    }
    assert_int_equal(iosim_sim_finish(s, &err), 0);
}

/* counters, latencies, warnings and per-CPU load */
static void same_results(iosim_sim_t *a, iosim_sim_t *b)
{
    const uint64_t *ca = sim_counters(a), *cb = sim_counters(b);
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        assert_int_equal(ca[i], cb[i]);
    const uint64_t *ha = sim_latency_hist(a), *hb = sim_latency_hist(b);
    for (size_t i = 0; i < SIM_LAT_SLOTS; i++)
        assert_int_equal(ha[i], hb[i]);
    for (size_t i = 0; i < iosim_warning_count(); i++)
        assert_int_equal(iosim_sim_warning(a, i), iosim_sim_warning(b, i));
    assert_memory_equal(sim_cpu_load(a), sim_cpu_load(b),
                        sizeof(sim_cpu_load_t));
}

static void same_sims(iosim_sim_t *a, iosim_sim_t *b)
{
    same_results(a, b);
    /* the IOTLB, the context cache and the PDE cache (the quick path's
     * memo skips probes of the last two where they would change nothing) */
    const cache_t *ca3[] = {vtd_iotlb_cache(sim_vtd(a)),
                            vtd_ctx_cache(sim_vtd(a)),
                            vtd_psc_cache(sim_vtd(a), 3)},
                  *cb3[] = {vtd_iotlb_cache(sim_vtd(b)),
                            vtd_ctx_cache(sim_vtd(b)),
                            vtd_psc_cache(sim_vtd(b), 3)};
    for (size_t i = 0; i < 3; i++)
        if (cache_enabled(ca3[i]))
            same_state(ca3[i], cb3[i]);
}

/* replays that ran vtd_translate's copy for the plain composition */
static unsigned plain_copies;
/* shadowed replays whose fast sim took vtd_translate_quick_sh */
static unsigned quick_sh_replays;
/* records vtd_translate_quick answered itself (vtd_quick.h): every
 * fast-path record of such a replay (no IOTLB shadow here) but those it
 * left to the plain copy */
static uint64_t quick_answers;

/* A fast and a plain sim of configuration c (the plain one on the
 * general copy of the translation and the caches' generic code). */
static void new_pair(const iosim_config_t *c, uint32_t cpus, iosim_sim_t **fast,
                     iosim_sim_t **plain)
{
    iosim_err_t err = {0};
    iosim_trace_meta_t meta = {.has_dma = true, .cpus = cpus};
    *fast = iosim_sim_new(c, "fast", &meta, &err);
    *plain = iosim_sim_new(c, "plain", &meta, &err);
    assert_non_null(*fast);
    assert_non_null(*plain);
    sim_set_fast_path(*plain, false);
    vtd_set_shortcuts(sim_vtd(*plain), false);
}

/* An all-associativity shadow on sim s's IOTLB (sets 1, 2, 8; up to 8
 * ways), as a sweep's leader has (sweep/share.c). */
static const uint32_t SH_SETS[] = {1, 2, 8};
static allassoc_t *shadow_on(iosim_sim_t *s)
{
    iosim_err_t err = {0};
    allassoc_t *a = allassoc_new(SH_SETS, 3, 8, &err);
    assert_non_null(a);
    cache_set_shadow(vtd_iotlb_cache(sim_vtd(s)), a);
    return a;
}

/* fast and plain replays of streams under the settings sets (NULL
 * ended), with shadows on both IOTLBs when shadowed (their counts of
 * every geometry must be the same too); returns the records the fast
 * path took */
static uint64_t replay_both_sh(const char *const *sets, bool shadowed)
{
    uint64_t taken = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        iosim_config_t *c = iosim_config_new();
        iosim_err_t err = {0};
        assert_int_equal(iosim_config_set(c, "sim.window_only=false", &err), 0);
        for (size_t i = 0; sets[i]; i++)
            assert_int_equal(iosim_config_set(c, sets[i], &err), 0);
        iosim_sim_t *fast, *plain;
        new_pair(c, 4, &fast, &plain);
        plain_copies += vtd_plain_copy(sim_vtd(fast));
        assert_false(vtd_plain_copy(sim_vtd(plain)));
        allassoc_t *sa = shadowed ? shadow_on(fast) : NULL,
                   *sb = shadowed ? shadow_on(plain) : NULL;
        /* the leader's quick path (vtd_translate_quick_sh) applies */
        if (shadowed)
            quick_sh_replays += vtd_quick_sh_ok(sim_vtd(fast));
        size_t n = 40000;
        /* ns per step: 1, 1 us, 50 us (a 10 ms timer expires often) */
        static const uint64_t scale[] = {1, 1000, 50000};
        iosim_rec_t *recs = stream(n, seed * 77, scale[seed - 1]);
        feed(fast, recs, n, seed);
        feed(plain, recs, n, seed + 100);
        same_sims(fast, plain);
        taken += sim_fast_records(fast);
        if (vtd_plain_copy(sim_vtd(fast))) {
            uint64_t bails = vtd_quick_bails(sim_vtd(fast));
            assert_true(bails <= sim_fast_records(fast));
            quick_answers += sim_fast_records(fast) - bails;
        }
        assert_int_equal(sim_fast_records(plain), 0);
        if (shadowed) {
            assert_int_equal(allassoc_exact(sa), allassoc_exact(sb));
            for (size_t k = 0; k < 3; k++)
                for (uint32_t w = 1; w <= 8; w++) {
                    allassoc_counts_t ca, cb;
                    assert_int_equal(allassoc_counts(sa, SH_SETS[k], w, &ca),
                                     0);
                    assert_int_equal(allassoc_counts(sb, SH_SETS[k], w, &cb),
                                     0);
                    assert_memory_equal(&ca, &cb, sizeof ca);
                }
            cache_set_shadow(vtd_iotlb_cache(sim_vtd(fast)), NULL);
            cache_set_shadow(vtd_iotlb_cache(sim_vtd(plain)), NULL);
            allassoc_free(sa);
            allassoc_free(sb);
        }
        free(recs);
        iosim_sim_free(fast);
        iosim_sim_free(plain);
        iosim_config_free(c);
    }
    return taken;
}

static uint64_t replay_both(const char *const *sets)
{
    return replay_both_sh(sets, false);
}

static void test_replay_fast_path(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    static const char *const lazy[] = {"os.policy=lazy", NULL};
    static const char *const small[] = {
        "vtd.iotlb.sets=2",         "vtd.iotlb.ways=2",
        "vtd.max_outstanding=3",    "vtd.max_walks=2",
        "vtd.psc_pd.ways=2",        "vtd.link_gbps=1",
        "vtd.llc_hit_fraction=0.3", NULL};
    static const char *const realloc_[] = {"os.iova_mode=reallocate", NULL};
    /* the fast path skips dma_iova only when the policy says its IOVA is
     * the trace's: not so when it reallocates (strict above, lazy here) */
    static const char *const lazy_realloc[] = {"os.policy=lazy",
                                               "os.iova_mode=reallocate", NULL};
    static const char *const scalable[] = {"vtd.root_mode=scalable",
                                           "vtd.translation=first-stage", NULL};
    static const char *const plru[] = {"vtd.iotlb.replacement=plru",
                                       "vtd.max_outstanding=0", NULL};
    static const char *const off[] = {"vtd.iotlb.enabled=false", NULL};
    static const char *const ats[] = {"vtd.ats=true", NULL};
    static const char *const fands[] = {"os.policy=fands", NULL};
    static const char *const coiommu[] = {"os.policy=coiommu", NULL};
    static const char *const trace[] = {"os.policy=trace", NULL};
    static const char *const vhost[] = {"os.policy=vhost-iotlb", NULL};
    static const char *const window[] = {"sim.window_only=true", NULL};
    /* the quick path's memo broken often: the three devices' context
     * entries and the buffers' PDE entries evict each other */
    static const char *const memo[] = {
        "vtd.context_cache.sets=1", "vtd.context_cache.ways=2",
        "vtd.psc_pd.sets=1", "vtd.psc_pd.ways=2", NULL};
    static const char *const memo_lazy[] = {
        "os.policy=lazy",           "vtd.context_cache.sets=1",
        "vtd.context_cache.ways=2", "vtd.psc_pd.sets=1",
        "vtd.psc_pd.ways=2",        NULL};
    static const char *const *const fast_cfgs[] = {
        none,  lazy,   small, realloc_, lazy_realloc, scalable,
        plru,  off,    ats,   fands,    coiommu,      trace,
        vhost, window, memo,  memo_lazy};
    for (size_t i = 0; i < sizeof fast_cfgs / sizeof fast_cfgs[0]; i++)
        assert_true(replay_both(fast_cfgs[i]) > 10000);
    /* most of them in the translation's plain copy, 3 replays each, and
     * most of those requests on its quick path */
    assert_true(plain_copies >= 3 * 8);
    assert_true(quick_answers > 100000);
    /* compositions the fast path leaves alone: the same answers */
    static const char *const nested[] = {"hv.mode=nested",
                                         "vtd.root_mode=scalable",
                                         "vtd.translation=nested", NULL};
    static const char *const pt[] = {"os.policy=passthrough", NULL};
    static const char *const emulated[] = {"hv.mode=emulated",
                                           "vtd.caching_mode=true", NULL};
    static const char *const *const other_cfgs[] = {nested, pt, emulated};
    for (size_t i = 0; i < sizeof other_cfgs / sizeof other_cfgs[0]; i++)
        replay_both(other_cfgs[i]);
}

/* The quick path's memo across one run of fast records (vtd_quick.h
 * vtd_quick_run_t), against the plain path.  Domain 1 (device 0x100):
 * 4 KB pages in three 2 MB regions R1..R3 and a 2 MB page R4; domain 2
 * the same IOVAs of R1; a PDE cache of one set of two ways.  One batch of
 * DMA records, so one run:
 *   - R1, R1, R2, R1, R3, R1, R2, each to a new page (an IOTLB miss): the
 *     walk of a region whose PDE entry missed (vtd_quick_walk) makes that
 *     entry the MRU line, so a memo still naming the region before would
 *     skip its next probe (which moves it back to the front), and R3's
 *     fill would evict the wrong region;
 *   - device 0x100 asking for domain 2 on a page domain 1 just filled: a
 *     memo keyed without the DID would hit domain 1's entry;
 *   - R4 twice: the first walk finds a 2 MB leaf, so the domain is no
 *     longer 4 KB-only and the second request hits the 2 MB entry (a memo
 *     still saying 4 KB only would skip that probe and walk again). */
static void test_quick_memo(void **state)
{
    (void)state;
    static const uint64_t base = 1ull << 30, MB2 = 2u << 20;
    /* DMA: region, page in it, domain */
    static const unsigned dma[][3] = {
        {0, 0, 1}, {0, 1, 1}, {1, 2, 1}, {0, 3, 1}, {2, 4, 1}, {0, 5, 1},
        {1, 6, 1}, {0, 8, 1}, {0, 8, 2}, {0, 9, 1}, {3, 1, 1}, {3, 2, 1}};
    enum { NMAP = 5, NDMA = sizeof dma / sizeof dma[0] };
    iosim_rec_t r[NMAP + NDMA];
    memset(r, 0, sizeof r);
    for (int k = 0; k < NMAP; k++) {
        /* R1's first 64 KB (domain 2), then 64 KB at the start of R1..R3
         * and all of R4 (domain 1) */
        unsigned region = k ? (unsigned)k - 1u : 0;
        r[k].kind = IOSIM_REC_MAP;
        r[k].iova = base + region * MB2;
        r[k].size = k == 4 ? MB2 : 16 * 4096;
        r[k].aux = (uint64_t)(k + 1) << 24;
        r[k].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        r[k].domain = k ? 1 : 2;
    }
    for (int k = 0; k < NDMA; k++) {
        iosim_rec_t *q = &r[NMAP + k];
        q->kind = IOSIM_REC_DMA;
        q->iova = base + dma[k][0] * MB2 + dma[k][1] * 4096ull + 64;
        q->size = 64;
        q->domain = (uint16_t)dma[k][2];
    }
    for (int k = 0; k < NMAP + NDMA; k++) {
        r[k].t = 1000 + (uint64_t)k;
        r[k].device = 0x100;
    }
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_set(c, "vtd.psc_pd.sets=1", &err), 0);
    assert_int_equal(iosim_config_set(c, "vtd.psc_pd.ways=2", &err), 0);
    iosim_sim_t *fast, *plain;
    new_pair(c, 1, &fast, &plain);
    iosim_sim_t *both[] = {fast, plain};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(iosim_sim_consume(both[i], r, NMAP + NDMA, &err), 0);
        assert_int_equal(iosim_sim_finish(both[i], &err), 0);
    }
    same_sims(fast, plain);
    /* every DMA on the fast path, none a fault, one IOTLB hit: the last
     * (R4's 2 MB entry) */
    const uint64_t *st = sim_counters(fast);
    assert_int_equal(sim_fast_records(fast), NDMA);
    assert_int_equal(st[IOSIM_ST_IOTLB_MISSES], NDMA - 1);
    assert_int_equal(st[IOSIM_ST_IOTLB_HITS], 1);
    assert_int_equal(st[IOSIM_ST_DMA_FAULTS], 0);
    iosim_sim_free(fast);
    iosim_sim_free(plain);
    iosim_config_free(c);
}

/* The fast and the plain replay of r[0..n) (batches of random sizes)
 * under up to two settings (NULL: none) compared (same_sims); out: the
 * records the fast path took and the fast sim's counters. */
static void fast_vs_plain(const iosim_rec_t *r, size_t n,
                          const char *const set[2], uint64_t *taken,
                          uint64_t *st)
{
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err = {0};
    for (size_t j = 0; j < 2 && set[j]; j++)
        assert_int_equal(iosim_config_set(c, set[j], &err), 0);
    iosim_sim_t *fast, *plain;
    new_pair(c, 1, &fast, &plain);
    feed(fast, r, n, 11);
    feed(plain, r, n, 12);
    same_sims(fast, plain);
    *taken = sim_fast_records(fast);
    memcpy(st, sim_counters(fast), IOSIM_ST_COUNT * sizeof *st);
    iosim_sim_free(fast);
    iosim_sim_free(plain);
    iosim_config_free(c);
}

/* Long runs of the usual record (sim.c sim_fast_tight: a DMA of the run's
 * size, region and memo key that the quick path answers, in a loop
 * without calls that adds its constant terms at its end): 30,000 DMA
 * records, random over 256 pages of one 1 MB window (IOTLB hits and
 * misses both), broken now and then by what sim_fast_run's own steps must
 * do (another 2 MB region, another source and domain, another size, size
 * 0, a request mark, an unmapped page), against the plain path, in
 * batches of random sizes, under the 8-way IOTLB (sim_fast_tight8), a
 * 4-way one (the copy that reads the ways), 2 page walkers (the pool's
 * loop) and no limit of outstanding requests. */
static void test_tight_runs(void **state)
{
    (void)state;
    static const uint64_t base = 1ull << 30, MB2 = 2u << 20;
    enum { NMAP = 3, NDMA = 30000 };
    iosim_rec_t *r = calloc(NMAP + NDMA, sizeof *r);
    assert_non_null(r);
    /* domain 1: 256 pages at R0, 16 at R1; domain 2: 16 pages at R2 */
    for (int k = 0; k < NMAP; k++) {
        r[k].kind = IOSIM_REC_MAP;
        r[k].iova = base + (uint64_t)k * MB2;
        r[k].size = (k ? 16u : 256u) * 4096;
        r[k].aux = (uint64_t)(k + 1) << 24;
        r[k].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        r[k].domain = k == 2 ? 2 : 1;
        r[k].device = k == 2 ? 0x200 : 0x100;
    }
    uint64_t x = 5, t = 1000;
    for (int k = 0; k < NDMA; k++) {
        iosim_rec_t *q = &r[NMAP + k];
        uint64_t c = next(&x) % 1000;
        t += next(&x) % 4; /* same timestamps now and then */
        q->t = t;
        q->kind = IOSIM_REC_DMA;
        q->device = 0x100;
        q->domain = 1;
        q->size = k >= 12000 && k < 13000 ? 128 : 64; /* a size change */
        unsigned region = 0, pages = 256;
        if (c < 4)
            region = 1, pages = 16; /* another region */
        else if (c < 7)
            region = 2, pages = 16, q->device = 0x200, q->domain = 2;
        else if (c < 9)
            q->size = 0; /* a request of 1 byte */
        else if (c < 10)
            q->kind = IOSIM_REC_MARK, q->flags = IOSIM_MARK_REQUEST;
        else if (c < 11)
            pages = 300; /* beyond R0's 256 pages: unmapped */
        q->iova = base + region * MB2 + next(&x) % pages * 4096ull +
                  next(&x) % 64 * 64;
    }
    static const char *const sets[][2] = {
        {NULL, NULL},
        {"vtd.iotlb.ways=4", "vtd.iotlb.sets=16"},
        {"vtd.max_walks=2", "vtd.max_outstanding=0"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        uint64_t taken, st[IOSIM_ST_COUNT];
        fast_vs_plain(r, NMAP + NDMA, sets[i], &taken, st);
        /* most records on the fast path, hits and misses many */
        assert_true(taken > NDMA * 9 / 10);
        assert_true(st[IOSIM_ST_IOTLB_HITS] > 2000);
        assert_true(st[IOSIM_ST_IOTLB_MISSES] > 2000);
    }
    free(r);
}

/* Faults inside sim_fast_tight's loop: domains 1 and 2 map the two halves
 * of 256 pages of one 2 MB region, and device 0x100 (domain 1) reads all
 * 256 pages.  The trace's view (one for all domains) has every page, so
 * every record is a fast one, and domain 1's level-1 table is the quick
 * path's memo's: its quick walks of domain 2's half fault there, in the
 * loop without calls (faults summed at its end).  Against the plain path,
 * under the 8-way IOTLB and a 4-way one (both copies of the loop). */
static void test_tight_faults(void **state)
{
    (void)state;
    static const uint64_t base = 1ull << 30;
    enum { NMAP = 2, NDMA = 20000 };
    iosim_rec_t *r = calloc(NMAP + NDMA, sizeof *r);
    assert_non_null(r);
    for (int k = 0; k < NMAP; k++) {
        r[k].kind = IOSIM_REC_MAP;
        r[k].iova = base + (uint64_t)k * 128 * 4096;
        r[k].size = 128 * 4096;
        r[k].aux = (uint64_t)(k + 1) << 24;
        r[k].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        r[k].domain = k ? 2 : 1;
        r[k].device = k ? 0x200 : 0x100;
    }
    uint64_t x = 9, t = 1000, want_faults = 0;
    for (int k = 0; k < NDMA; k++) {
        iosim_rec_t *q = &r[NMAP + k];
        t += next(&x) % 4;
        q->t = t;
        q->kind = IOSIM_REC_DMA;
        q->device = 0x100;
        q->domain = 1;
        q->size = 64;
        uint64_t page = next(&x) % 256;
        want_faults += page >= 128; /* domain 2's: none of domain 1's */
        q->iova = base + page * 4096 + next(&x) % 64 * 64;
    }
    static const char *const sets[][2] = {
        {NULL, NULL}, {"vtd.iotlb.ways=4", "vtd.iotlb.sets=16"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        uint64_t taken, st[IOSIM_ST_COUNT];
        fast_vs_plain(r, NMAP + NDMA, sets[i], &taken, st);
        assert_int_equal(taken, NDMA);
        assert_int_equal(st[IOSIM_ST_DMA_FAULTS], want_faults);
    }
    free(r);
}

/* The memo's key (vtd_quick_key, which a shared front's back ends use)
 * tells every source id, PASID and DID apart, is the record's 8 bytes
 * from its PASID on, little-endian (what sim_fast_run loads), and gives
 * the three back (vtd_quick_key_sid, _pasid, _did). */
static void test_quick_key(void **state)
{
    (void)state;
    static const uint16_t ids[] = {0, 1, 0x100, 0x8000, 0xffff};
    static const uint32_t pasids[] = {0, 1, 0xfffff, 0x100000, UINT32_MAX};
    enum { N = 5 };
    uint64_t keys[N * N * N];
    size_t n = 0;
    for (size_t a = 0; a < N; a++)
        for (size_t b = 0; b < N; b++)
            for (size_t c = 0; c < N; c++) {
                iosim_rec_t r = {
                    .device = ids[a], .pasid = pasids[b], .domain = ids[c]};
                uint64_t k = vtd_quick_key(ids[a], pasids[b], ids[c]);
                const uint8_t *p = (const uint8_t *)&r.pasid;
                uint64_t le = 0;
                for (int i = 7; i >= 0; i--)
                    le = le << 8 | p[i];
                assert_int_equal(k, le);
                /* and taken apart again (the quick path's entry) */
                assert_int_equal(vtd_quick_key_sid(k), ids[a]);
                assert_int_equal(vtd_quick_key_pasid(k), pasids[b]);
                assert_int_equal(vtd_quick_key_did(k), ids[c]);
                for (size_t j = 0; j < n; j++)
                    assert_true(keys[j] != k);
                keys[n++] = k;
            }
}

/* A sweep's leader: the same replays with an all-associativity shadow
 * on the IOTLB, which the fast path's leader copy
 * (vtd_translate_quick_sh) must tell of every probe and fill, and of
 * every hit another geometry would not have filled the same (stale and
 * large-page entries: lazy, trace), as the general copy does. */
static void test_replay_shadowed(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    static const char *const lazy[] = {"os.policy=lazy", NULL};
    static const char *const small[] = {"vtd.iotlb.sets=2", "vtd.iotlb.ways=2",
                                        "vtd.psc_pd.ways=2", NULL};
    static const char *const trace[] = {"os.policy=trace", NULL};
    static const char *const window[] = {"sim.window_only=true", NULL};
    static const char *const *const cfgs[] = {none, lazy, small, trace, window};
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        assert_true(replay_both_sh(cfgs[i], true) > 10000);
    assert_int_equal(quick_sh_replays, 3 * 5);
}

/* Replays of records r[0..n) (device 0x100, one a batch) with an
 * all-associativity shadow on the IOTLB, through the plain path and the
 * fast path: each gives `hits` IOTLB hits and leaves the shadow inexact
 * (a hit where a geometry that missed would not fill the same key). */
static void shadow_case(iosim_rec_t *r, int n, uint64_t hits)
{
    for (int i = 0; i < n; i++) {
        r[i].t = 1000 + (uint64_t)i;
        r[i].device = 0x100;
        if (r[i].kind == IOSIM_REC_MAP)
            r[i].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    }
    for (int fast_path = 0; fast_path < 2; fast_path++) {
        iosim_config_t *c = iosim_config_new();
        iosim_err_t err = {0};
        assert_int_equal(iosim_config_set(c, "os.policy=trace", &err), 0);
        iosim_trace_meta_t meta = {.has_dma = true, .cpus = 1};
        iosim_sim_t *s = iosim_sim_new(c, "s", &meta, &err);
        assert_non_null(s);
        sim_set_fast_path(s, fast_path);
        const uint32_t sets = 8;
        allassoc_t *a = allassoc_new(&sets, 1, 8, &err);
        assert_non_null(a);
        assert_true(vtd_plain_brief_ok(sim_vtd(s)));
        cache_set_shadow(vtd_iotlb_cache(sim_vtd(s)), a);
        assert_false(vtd_plain_brief_ok(sim_vtd(s)));
        assert_true(vtd_quick_sh_ok(sim_vtd(s)));
        /* one record a batch: each DMA is its own batch's first */
        for (int i = 0; i < n; i++)
            assert_int_equal(iosim_sim_consume(s, &r[i], 1, &err), 0);
        assert_int_equal(iosim_sim_finish(s, &err), 0);
        assert_int_equal(sim_counters(s)[IOSIM_ST_IOTLB_HITS], hits);
        assert_int_equal(sim_fast_records(s), fast_path ? 2 : 0);
        assert_false(allassoc_exact(a));
        cache_set_shadow(vtd_iotlb_cache(sim_vtd(s)), NULL);
        allassoc_free(a);
        iosim_sim_free(s);
        iosim_config_free(c);
    }
}

/* The translation's plain copy is asked for once a batch
 * (vtd_plain_brief_ok): a shadow on the IOTLB rules it out, and the
 * leader's copy (vtd_translate_quick_sh) checks a hit against the walk
 * another geometry would do, as the general copy does.  A stale 2 MB
 * entry (unmapped without an invalidation, the page then mapped 4 KB:
 * policy "trace" invalidates only where the trace does) hits where a
 * geometry that evicted it would walk to a 4 KB leaf; a stale 4 KB entry
 * of domain 1 (its page unmapped there, its level-1 table kept by a
 * neighbour, the IOVA mapped again in domain 2, so live in the trace's
 * view) hits where such a geometry would fault: the shadow must be told,
 * on the fast path as on the plain one. */
static void test_plain_copy_with_shadow(void **state)
{
    (void)state;
    static const uint64_t MB2 = 2u << 20;
    iosim_rec_t large[5] = {
        {.kind = IOSIM_REC_MAP, .iova = MB2, .size = MB2, .aux = 8 * MB2},
        {.kind = IOSIM_REC_DMA, .iova = MB2 + 0x40, .size = 64},
        {.kind = IOSIM_REC_UNMAP, .iova = MB2, .size = MB2},
        {.kind = IOSIM_REC_MAP, .iova = MB2, .size = 4096, .aux = 0x10000},
        {.kind = IOSIM_REC_DMA, .iova = MB2 + 0x80, .size = 64}};
    for (int i = 0; i < 5; i++)
        large[i].domain = 1;
    shadow_case(large, 5, 1);
    iosim_rec_t small[6] = {
        {.kind = IOSIM_REC_MAP, .iova = 0x10000, .size = 4096, .aux = 0x1000},
        {.kind = IOSIM_REC_MAP, .iova = 0x11000, .size = 4096, .aux = 0x2000},
        {.kind = IOSIM_REC_DMA, .iova = 0x10040, .size = 64},
        {.kind = IOSIM_REC_UNMAP, .iova = 0x10000, .size = 4096},
        {.kind = IOSIM_REC_MAP, .iova = 0x10000, .size = 4096, .aux = 0x3000},
        {.kind = IOSIM_REC_DMA, .iova = 0x10080, .size = 64}};
    for (int i = 0; i < 6; i++)
        small[i].domain = i == 4 ? 2 : 1;
    shadow_case(small, 6, 1);
}

/* A shared front (system.h sim_front_attach) translates nothing, so its
 * caches stay empty and its invalidations are only timed (vtd.h
 * vtd_as_front): a front with one back end and a sim alone get the same
 * streams (maps, unmaps, trace invalidations, one-page and multi-page
 * DMAs, marks) under configurations that change what a record does; the
 * back end's counters, latencies, warnings and load after the settle must
 * be the sim's, the back's queue answers the front's (the settle's
 * check), and the front's IOTLB, context cache and PSCs hold no line
 * while the back's invalidations removed lines (work the front skipped
 * that would have mattered had it held any). */
static void test_front_no_caches(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    static const char *const lazy[] = {"os.policy=lazy", NULL};
    static const char *const trace[] = {"os.policy=trace", NULL};
    static const char *const ats[] = {"vtd.ats=true", NULL};
    static const char *const scalable[] = {"vtd.root_mode=scalable",
                                           "vtd.translation=first-stage", NULL};
    static const char *const window[] = {"sim.window_only=true", NULL};
    static const char *const *const cfgs[] = {none, lazy,     trace,
                                              ats,  scalable, window};
    uint64_t removed = 0;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        iosim_config_t *c = iosim_config_new();
        iosim_err_t err = {0};
        assert_int_equal(iosim_config_set(c, "sim.window_only=false", &err), 0);
        for (size_t j = 0; cfgs[i][j]; j++)
            assert_int_equal(iosim_config_set(c, cfgs[i][j], &err), 0);
        iosim_trace_meta_t meta = {.has_dma = true, .cpus = 4};
        iosim_sim_t *front = iosim_sim_new(c, "front", &meta, &err),
                    *back = iosim_sim_new(c, "back", &meta, &err),
                    *alone = iosim_sim_new(c, "alone", &meta, &err);
        assert_non_null(front);
        assert_non_null(back);
        assert_non_null(alone);
        assert_int_equal(sim_front_attach(front, &back, 1, &err), 0);
        size_t n = 30000;
        iosim_rec_t *recs = stream(n, 1000 + i, 1000);
        feed(front, recs, n, i);
        feed(alone, recs, n, i + 50);
        assert_true(sim_front_settle(front));
        same_results(back, alone);
        const cache_t *fc[] = {
            vtd_iotlb_cache(sim_vtd(front)),  vtd_ctx_cache(sim_vtd(front)),
            vtd_psc_cache(sim_vtd(front), 0), vtd_psc_cache(sim_vtd(front), 1),
            vtd_psc_cache(sim_vtd(front), 2), vtd_psc_cache(sim_vtd(front), 3)};
        for (size_t k = 0; k < sizeof fc / sizeof fc[0]; k++)
            assert_int_equal(cache_valid_lines(fc[k]), 0);
        removed += sim_counters(back)[IOSIM_ST_IOTLB_INVAL_ENTRIES];
        free(recs);
        iosim_sim_free(front);
        iosim_sim_free(back);
        iosim_sim_free(alone);
        iosim_config_free(c);
    }
    assert_true(removed > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_geometries),
        cmocka_unit_test(test_other_policies),
        cmocka_unit_test(test_lat_buckets),
        cmocka_unit_test(test_walk_leaf),
        cmocka_unit_test(test_replay_fast_path),
        cmocka_unit_test(test_quick_memo),
        cmocka_unit_test(test_tight_faults),
        cmocka_unit_test(test_tight_runs),
        cmocka_unit_test(test_quick_key),
        cmocka_unit_test(test_replay_shadowed),
        cmocka_unit_test(test_plain_copy_with_shadow),
        cmocka_unit_test(test_front_no_caches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
