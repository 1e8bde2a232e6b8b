/* test_model_vtd.c — the VT-d hardware model (sim/vtd) in isolation,
 * against analytic oracles.
 *
 * Concepts:
 *   - Walk costs come from the structure of the tables (MODEL.md §3.3):
 *     legacy = root + context + L, scalable = root + context + PASID dir +
 *     PASID entry + L, nested = 4 + (Lfs+1)(Lss+1) - 1; a paging-structure
 *     cache hit on the level-L entry leaves only the levels below L to
 *     read.  Each expected number is derived in the comment beside it.
 *   - Invalidation tests fill the caches with a known set of entries and
 *     count what survives, by translating again and by the
 *     iotlb.invalidated counter.
 *   - vtd_psi_range is checked by hand cases and by a brute-force oracle
 *     (the smallest naturally aligned power-of-two block holding the
 *     range), independent of Linux's bit trick.
 *   - Page-table page counts follow from the radix structure: one map of
 *     a 4 KB page in an empty 4-level table allocates PDPT + PD + PT.
 * Assumptions: parameter names of sim/config/params_vtd.c.
 * Not covered here: the OS policies that build the descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/cache.h"
#include "config/config.h"
#include "stats/stat_list.h"
#include "vtd/pgtable.h"
#include "vtd/vtd.h"

#define KB 1024ull
#define MB (1024ull * KB)
#define GB (1024ull * MB)

/* Every cache of the model (params_vtd.c). */
static const char *const all_caches[] = {"vtd.iotlb",       "vtd.context_cache",
                                         "vtd.pasid_cache", "vtd.psc_pml5",
                                         "vtd.psc_pml4",    "vtd.psc_pdpt",
                                         "vtd.psc_pd",      "vtd.s2_psc_pml5",
                                         "vtd.s2_psc_pml4", "vtd.s2_psc_pdpt",
                                         "vtd.s2_psc_pd",   "vtd.s2_tlb",
                                         "vtd.devtlb",      NULL};

static void set(iosim_config_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set(iosim_config_t *c, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    iosim_err_t err = {0};
    if (iosim_config_set(c, buf, &err) != 0)
        fail_msg("%s: %s", buf, err.msg);
}

static void caches_off(iosim_config_t *c)
{
    for (size_t i = 0; all_caches[i]; i++)
        set(c, "%s.enabled=false", all_caches[i]);
}

/* A model under test: config, counters and the hardware. */
typedef struct hw {
    iosim_config_t *cfg;
    uint64_t st[IOSIM_ST_COUNT];
    vtd_t *v;
} hw_t;

static hw_t *hw_build(iosim_config_t *cfg)
{
    hw_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->cfg = cfg;
    iosim_err_t err = {0};
    if (iosim_config_validate(cfg, &err) != 0)
        fail_msg("validate: %s", err.msg);
    h->v = vtd_new(cfg, h->st, &err);
    if (!h->v)
        fail_msg("vtd_new: %s", err.msg);
    return h;
}

static void hw_free(hw_t *h)
{
    vtd_free(h->v);
    iosim_config_free(h->cfg);
    free(h);
}

static void map(hw_t *h, uint16_t did, uint64_t iova, uint64_t phys,
                uint64_t size)
{
    iosim_err_t err = {0};
    if (vtd_map(h->v, did, iova, phys, size, true, &err) < 0)
        fail_msg("vtd_map: %s", err.msg);
}

/* Translation by source id (the context entry names the domain). */
static vtd_xlate_result_t xl(hw_t *h, uint16_t sid, uint64_t iova)
{
    return vtd_translate(h->v, sid, 0, 0, iova, false);
}

static void submit1(hw_t *h, vtd_desc_t d) { vtd_submit(h->v, &d, 1); }

static bool close_to(double a, double b)
{
    return a - b < 1e-9 && b - a < 1e-9;
}

/* ---- walk cost with every cache off ----------------------------------- */

/* Reads of one translation with all caches off: ctx structure reads + L,
 * and the latency is exactly reads x mem_ns (llc_hit_fraction 0). */
static void check_uncached(const char *root_mode, const char *xlate,
                           unsigned fs, unsigned ss, unsigned expect_reads)
{
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    set(c, "vtd.root_mode=%s", root_mode);
    set(c, "vtd.translation=%s", xlate);
    if (!strcmp(xlate, "nested")) /* a nested domain needs the nested mode */
        set(c, "hv.mode=nested");
    set(c, "vtd.fs_levels=%u", fs);
    set(c, "vtd.ss_levels=%u", ss);
    set(c, "vtd.mem_ns=100");
    set(c, "vtd.llc_hit_fraction=0");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 0x10, 3);
    map(h, 3, 0x7000, 0x123000, 4 * KB);
    for (int i = 0; i < 3; i++) { /* nothing cached: every time the same */
        vtd_xlate_result_t r = xl(h, 0x10, 0x7abc);
        assert_false(r.fault);
        assert_false(r.iotlb_hit);
        assert_int_equal(r.mem_reads, expect_reads);
        assert_true(close_to(r.latency_ns, 100.0 * expect_reads));
        if (strcmp(xlate, "nested") && strcmp(xlate, "passthrough"))
            assert_int_equal(r.phys, 0x123abc);
    }
    assert_int_equal(h->st[IOSIM_ST_WALK_READS], 3 * expect_reads);
    hw_free(h);
}

static void test_uncached_legacy(void **state)
{
    (void)state;
    /* legacy second stage: root + context + L (MODEL.md §3.3) */
    check_uncached("legacy", "second-stage", 4, 4, 2 + 4); /* 6 */
    check_uncached("legacy", "second-stage", 4, 3, 2 + 3); /* 5 */
    check_uncached("legacy", "second-stage", 4, 5, 2 + 5); /* 7 */
    /* passthrough: the root and context entries only */
    check_uncached("legacy", "passthrough", 4, 4, 2);
}

static void test_uncached_scalable(void **state)
{
    (void)state;
    /* scalable: root + context + PASID dir + PASID entry + L */
    check_uncached("scalable", "first-stage", 4, 4, 4 + 4); /* 8 */
    check_uncached("scalable", "first-stage", 5, 4, 4 + 5); /* 9 */
    check_uncached("scalable", "second-stage", 4, 4, 4 + 4);
    check_uncached("scalable", "passthrough", 4, 4, 4);
}

static void test_uncached_nested(void **state)
{
    (void)state;
    /* nested: 4 + (Lfs+1)(Lss+1) - 1: each of the Lfs guest table pages
     * and the final GPA take an Lss-read second-stage walk, plus the Lfs
     * guest reads: Lfs + Lss(Lfs+1) = (Lfs+1)(Lss+1) - 1. */
    check_uncached("scalable", "nested", 4, 4, 4 + 5 * 5 - 1); /* 28 */
    check_uncached("scalable", "nested", 5, 4, 4 + 6 * 5 - 1); /* 33 */
    check_uncached("scalable", "nested", 4, 5, 4 + 5 * 6 - 1); /* 33 */
    check_uncached("scalable", "nested", 5, 5, 4 + 6 * 6 - 1); /* 39 */

    /* the split by stage for 4/4: 4 guest reads, 4 x 5 = 20 host reads,
     * 4 structure reads */
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    set(c, "vtd.root_mode=scalable");
    set(c, "vtd.translation=nested");
    set(c, "hv.mode=nested");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 2);
    map(h, 2, 0x40000, 0x900000, 4 * KB);
    vtd_xlate_result_t r = xl(h, 1, 0x40010);
    assert_int_equal(r.mem_reads, 28);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_S1], 4);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_S2], 20);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_CTX], 4);
    hw_free(h);
}

static void test_nested_unaligned_map_backs_tables(void **state)
{
    (void)state;
    /* A nested map of [1 MB, 3 MB) uses two guest leaf tables (for the
     * 2 MB regions [0, 2M) and [2M, 4M)); the host must back both with
     * second-stage mappings.  Only the GPA->HPA cache (s2_tlb) on: the
     * first translation of a page in the second region is the cold 28;
     * the second finds all 5 GPAs (4 guest tables + data page) in the
     * s2_tlb, leaving 4 structure reads + 4 guest reads = 8.  An unbacked
     * table page fails its host walk, is never cached and would cost 4
     * more reads every time. */
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    set(c, "vtd.s2_tlb.enabled=true");
    set(c, "vtd.s2_tlb.sets=1");
    set(c, "vtd.s2_tlb.ways=16");
    set(c, "vtd.root_mode=scalable");
    set(c, "vtd.translation=nested");
    set(c, "hv.mode=nested");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 2);
    map(h, 2, 1 * MB, 0x10000000, 2 * MB);
    vtd_xlate_result_t r = xl(h, 1, 3 * MB - 4 * KB);
    assert_false(r.fault);
    assert_int_equal(r.mem_reads, 28);
    assert_int_equal(xl(h, 1, 3 * MB - 4 * KB).mem_reads, 8);
    /* and the first region too */
    xl(h, 1, 1 * MB);
    assert_int_equal(xl(h, 1, 1 * MB).mem_reads, 8);
    hw_free(h);
}

static void test_nested_cached(void **state)
{
    (void)state;
    /* Nested 4/4 with the default caches.  Guest tables sit at GPAs 16 MB
     * (root), +4K (PDPT), +8K (PD), +12K (PT): one host 2 MB region; the
     * data page is GPA 9 MB, another 2 MB region of the same host GB.
     * Cold translation, host second-stage walks in order:
     *   root GPA: 4 (nothing cached; fills host PML4E, PDPTE, PDE)
     *   PDPT, PD, PT GPAs: host PDE hit -> 1 each
     *   data GPA 9 MB: host PDE miss, PDPTE hit -> 2
     * = 4 + 3 + 2 = 9 host reads, 4 guest reads, 4 structure reads: 17.
     * Next page of the same guest 2 MB: guest PDE hit gives the PT's
     * host address (no host walk for it), 1 guest read; its data GPA
     * (9 MB + 4K) misses the GPA->HPA cache but hits the host PDE: 1.
     * Context and PASID entries are cached: total 2. */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.root_mode=scalable");
    set(c, "vtd.translation=nested");
    set(c, "hv.mode=nested");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 2);
    map(h, 2, 0x40000, 9 * MB, 8 * KB);
    vtd_xlate_result_t r = xl(h, 1, 0x40000);
    assert_int_equal(r.mem_reads, 17);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_S2], 9);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_S1], 4);
    assert_int_equal(xl(h, 1, 0x40000).mem_reads, 0);
    assert_int_equal(xl(h, 1, 0x41000).mem_reads, 2);
    hw_free(h);
}

static void test_llc_fraction(void **state)
{
    (void)state;
    /* expected latency of one reference: f * llc_ns + (1 - f) * mem_ns =
     * 0.25 * 40 + 0.75 * 200 = 160 ns; 6 reads -> 960 ns */
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    set(c, "vtd.mem_ns=200");
    set(c, "vtd.llc_ns=40");
    set(c, "vtd.llc_hit_fraction=0.25");
    hw_t *h = hw_build(c);
    assert_true(close_to(vtd_mem_ref_ns(h->v), 160.0));
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x1000, 0x2000, 4 * KB);
    assert_true(close_to(xl(h, 1, 0x1000).latency_ns, 960.0));
    hw_free(h);
}

/* ---- IOTLB ---------------------------------------------------------- */

static void test_one_page_one_miss(void **state)
{
    (void)state;
    /* one page translated N times: 1 miss, N-1 hits, 1 walk; the cold
     * walk costs 6 reads and every hit 0 (context cached too) */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 5, 1);
    map(h, 1, 0x10000, 0x55000, 4 * KB);
    enum { N = 100 };
    uint32_t reads = 0;
    for (int i = 0; i < N; i++) {
        vtd_xlate_result_t r = xl(h, 5, 0x10000 + (uint64_t)i * 8);
        assert_int_equal(r.phys, 0x55000 + (uint64_t)i * 8);
        reads += r.mem_reads;
    }
    assert_int_equal(h->st[IOSIM_ST_IOTLB_LOOKUPS], N);
    assert_int_equal(h->st[IOSIM_ST_IOTLB_MISSES], 1);
    assert_int_equal(h->st[IOSIM_ST_IOTLB_HITS], N - 1);
    assert_int_equal(h->st[IOSIM_ST_WALKS], 1);
    assert_int_equal(reads, 6);
    hw_free(h);
}

/* Loops `rounds` times over `pages` pages with an IOTLB of 1 set x ways
 * (fully associative LRU); returns IOTLB misses. */
static uint64_t iotlb_loop(uint32_t ways, unsigned pages, unsigned rounds)
{
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.iotlb.sets=1");
    set(c, "vtd.iotlb.ways=%u", ways);
    set(c, "vtd.iotlb.replacement=lru");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0, 0x100000, (uint64_t)pages * 4 * KB);
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned p = 0; p < pages; p++)
            assert_false(xl(h, 1, (uint64_t)p * 4 * KB).fault);
    uint64_t m = h->st[IOSIM_ST_IOTLB_MISSES];
    hw_free(h);
    return m;
}

static void test_iotlb_reach(void **state)
{
    (void)state;
    /* reach + 1 pages in a fully associative LRU IOTLB: each page is the
     * least recently used one when it comes back -> all 5 x 33 miss */
    assert_int_equal(iotlb_loop(32, 33, 5), 5 * 33);
    /* twice the ways: only the 33 cold misses */
    assert_int_equal(iotlb_loop(64, 33, 5), 33);
    /* exactly the reach: cold misses only */
    assert_int_equal(iotlb_loop(32, 32, 5), 32);
}

static void test_iotlb_large_pages(void **state)
{
    (void)state;
    /* A 2 MB-aligned 2 MB map becomes one level-2 leaf; its IOTLB entry
     * covers all 512 4 KB pages: 1 miss for 512 distinct pages.  The walk
     * stops at level 2: 2 context + 3 table reads = 5. */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    map(h, 1, 2 * MB, 0x40000000, 2 * MB);
    uint32_t reads = 0;
    for (uint64_t p = 0; p < 512; p++) {
        vtd_xlate_result_t r = xl(h, 1, 2 * MB + p * 4 * KB + 0x10);
        assert_int_equal(r.phys, 0x40000000 + p * 4 * KB + 0x10);
        reads += r.mem_reads;
    }
    assert_int_equal(h->st[IOSIM_ST_IOTLB_MISSES], 1);
    assert_int_equal(reads, 5);
    hw_free(h);

    /* 1 GB leaf: walk reads PML4E + PDPTE = 2 (+2 context); one entry
     * covers the whole GB (probe pages 0, 100 MB, last). */
    h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    map(h, 1, 1 * GB, 4 * GB, 1 * GB);
    assert_int_equal(xl(h, 1, 1 * GB).mem_reads, 4);
    assert_int_equal(xl(h, 1, 1 * GB + 100 * MB).phys, 4 * GB + 100 * MB);
    assert_int_equal(xl(h, 1, 2 * GB - 1).phys, 5 * GB - 1);
    assert_int_equal(h->st[IOSIM_ST_IOTLB_MISSES], 1);
    hw_free(h);
}

static void test_unmapped_faults(void **state)
{
    (void)state;
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x1000, 0x2000, 4 * KB);
    assert_true(xl(h, 1, 0x3000).fault);
    /* a domain with no table at all */
    vtd_attach(h->v, 2, 9);
    assert_true(xl(h, 2, 0x1000).fault);
    hw_free(h);
}

/* ---- paging-structure caches ------------------------------------------ */

static void test_psc_levels(void **state)
{
    (void)state;
    /* Default caches (PSCs on), 4-level legacy.  Page A cold: 2 context +
     * 4 table reads.  Then, with the IOTLB missing each new page:
     *   B, same 2 MB as A  : PDE cached      -> PT read only        = 1
     *   C, same 1 GB, other 2 MB: PDPTE hit  -> PD + PT             = 2
     *   D, same 512 GB, other GB: PML4E hit  -> PDPT + PD + PT      = 3
     *   E, other 512 GB   : nothing cached   -> all 4 levels        = 4 */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    const uint64_t A = 1 * GB + 0x1000, B = A + 0x1000, C = A + 2 * MB,
                   D = A + 1 * GB, E = A + 512 * GB;
    const uint64_t pages[] = {A, B, C, D, E};
    for (int i = 0; i < 5; i++)
        map(h, 1, pages[i], 0x80000000 + (uint64_t)i * 4 * KB, 4 * KB);
    assert_int_equal(xl(h, 1, A).mem_reads, 6);
    assert_int_equal(xl(h, 1, B).mem_reads, 1);
    assert_int_equal(xl(h, 1, C).mem_reads, 2);
    assert_int_equal(xl(h, 1, D).mem_reads, 3);
    assert_int_equal(xl(h, 1, E).mem_reads, 4);
    /* PTcache counters: L3 (PDE) missed for A, C, D, E; L2 (PDPTE) for A,
     * D, E; L1 (PML4E) for A and E */
    assert_int_equal(h->st[IOSIM_ST_PSC3_MISSES], 4);
    assert_int_equal(h->st[IOSIM_ST_PSC2_MISSES], 3);
    assert_int_equal(h->st[IOSIM_ST_PSC1_MISSES], 2);
    hw_free(h);

    /* with the PDE cache off, B costs PD + PT = 2 (PDPTE hit) */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.psc_pd.enabled=false");
    h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, A, 0x80000000, 8 * KB);
    assert_int_equal(xl(h, 1, A).mem_reads, 6);
    assert_int_equal(xl(h, 1, B).mem_reads, 2);
    hw_free(h);
}

static void test_psc_hit_latency(void **state)
{
    (void)state;
    /* Only the PDE cache and the context cache on, hit_ns 5 / 0,
     * mem_ns 100.  Cold page A: PDE lookup (5 ns, miss) + 2 + 4 reads =
     * 605 ns.  Page B in the same 2 MB: PDE hit 5 + 1 read = 105 ns. */
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    set(c, "vtd.psc_pd.enabled=true");
    set(c, "vtd.psc_pd.hit_ns=5");
    set(c, "vtd.context_cache.enabled=true");
    set(c, "vtd.context_cache.hit_ns=0");
    set(c, "vtd.mem_ns=100");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x200000, 0x300000, 8 * KB);
    assert_true(close_to(xl(h, 1, 0x200000).latency_ns, 605.0));
    assert_true(close_to(xl(h, 1, 0x201000).latency_ns, 105.0));
    hw_free(h);
}

/* ---- invalidation ----------------------------------------------------- */

/* Domains 1 (sid 1) and 2 (sid 2) each map the 16 pages at BASE; a fully
 * associative 64-entry IOTLB holds all 32 translations after one pass. */
#define BASE 0x100000ull
#define NPG 16
static hw_t *two_domains(iosim_config_t *c)
{
    set(c, "vtd.iotlb.sets=1");
    set(c, "vtd.iotlb.ways=64");
    hw_t *h = hw_build(c);
    for (uint16_t d = 1; d <= 2; d++) {
        vtd_attach(h->v, d, d);
        map(h, d, BASE, 0x10000000ull * d, NPG * 4 * KB);
        for (unsigned p = 0; p < NPG; p++)
            assert_false(xl(h, d, BASE + p * 4 * KB).fault);
    }
    assert_int_equal(h->st[IOSIM_ST_IOTLB_MISSES], 2 * NPG);
    return h;
}

/* Bitmask of the pages of domain d that still hit (translating them
 * refills the misses). */
static unsigned survivors(hw_t *h, uint16_t d)
{
    unsigned m = 0;
    for (unsigned p = 0; p < NPG; p++)
        if (xl(h, d, BASE + p * 4 * KB).iotlb_hit)
            m |= 1u << p;
    return m;
}

static void test_psi_am(void **state)
{
    (void)state;
    /* PSI for domain 1, AM = k at page 4k'... : removes exactly the 2^k
     * pages [addr, addr + 2^k pages) of domain 1; domain 2 untouched. */
    static const struct {
        unsigned first, am;
    } cases[] = {{0, 0}, {5, 0}, {4, 2}, {8, 3}, {0, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hw_t *h = two_domains(iosim_config_new());
        unsigned n = 1u << cases[i].am;
        submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                                .gran = IOSIM_GRAN_PAGE,
                                .did = 1,
                                .am = (uint8_t)cases[i].am,
                                .addr = BASE + cases[i].first * 4 * KB});
        assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], n);
        unsigned gone = ((1u << n) - 1) << cases[i].first;
        assert_int_equal(survivors(h, 1), 0xffffu & ~gone);
        assert_int_equal(survivors(h, 2), 0xffffu);
        assert_int_equal(h->st[IOSIM_ST_IQ_DESC_IOTLB_PSI], 1);
        hw_free(h);
    }
}

static void test_psi_unaligned_addr(void **state)
{
    (void)state;
    /* ADDR must be 2^AM-page aligned; the hardware ignores the low bits
     * (spec §6.5.2.3): page 6 with AM=2 means pages 4..7. */
    hw_t *h = two_domains(iosim_config_new());
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .am = 2,
                            .addr = BASE + 6 * 4 * KB});
    assert_int_equal(survivors(h, 1), 0xffffu & ~0xf0u);
    hw_free(h);
}

static void test_psi_huge_mask(void **state)
{
    (void)state;
    /* AM = 52 (MAX_AGAW_PFN_WIDTH, Linux's "everything" mask): the range
     * is the whole address space, so all 16 pages of domain 1 go and
     * none of domain 2. */
    hw_t *h = two_domains(iosim_config_new());
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .am = 52,
                            .addr = 0});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], NPG);
    assert_int_equal(survivors(h, 1), 0);
    assert_int_equal(survivors(h, 2), 0xffffu);
    hw_free(h);
}

static void test_psi_large_entry(void **state)
{
    (void)state;
    /* A PSI of one 4 KB page inside a 2 MB leaf removes the 2 MB IOTLB
     * entry (it overlaps the range): the next access misses. */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    map(h, 1, 4 * MB, 8 * MB, 2 * MB);
    xl(h, 1, 4 * MB);
    assert_true(xl(h, 1, 5 * MB).iotlb_hit);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .addr = 5 * MB});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 1);
    assert_false(xl(h, 1, 4 * MB + 4 * KB).iotlb_hit);
    hw_free(h);
}

/* vtd.psi_iotlb_scope=qemu-mask8, by hand from QEMU 7.2's
 * vtd_hash_remove_by_page(): mask = ~(2^am - 1) cut to 8 bits, an entry
 * goes if (entry gfn & mask) == (addr gfn & mask) or the entry holds addr
 * (its gfn is the base of the page containing addr), whatever IH says.
 * Domain 1 caches pages 0x100fe, 0x200fe, 0x100ff, 0x10100 (4 KB) and one
 * 2 MB entry at 0x40000000 (gfn 0x40000); domain 2 caches 0x300fe.
 *   PSI did 1, addr 0x500fe000, am 0, ih 1: mask 0xff, gfn low byte 0xfe
 *     -> 0x100fe, 0x200fe go (aliases 1 MB apart); 0x100ff, 0x10100, the
 *     2 MB entry (gfn 0x40000: low byte 0x00) and domain 2's stay: 2.
 *   PSI did 1, addr 0x400ff000, am 1: mask 0xfe, gfn 0x400ff & 0xfe = 0xfe
 *     -> 0x100ff goes (0xff & 0xfe = 0xfe); and the 2 MB entry holds
 *     0x400ff000 (gfn_tlb 0x40000 = its gfn) -> goes too; 0x10100 stays: 2.
 *   PSI did 1, addr 0x7000, am 8: mask 0 -> everything of domain 1: 1
 *     (0x10100); domain 2's entry survives all three. */
static void test_psi_qemu_mask8(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.psi_iotlb_scope=qemu-mask8");
    set(c, "vtd.iotlb.sets=1");
    set(c, "vtd.iotlb.ways=64");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    vtd_attach(h->v, 2, 2);
    static const uint64_t pages[] = {0x100fe, 0x200fe, 0x100ff, 0x10100};
    for (size_t i = 0; i < 4; i++) {
        map(h, 1, pages[i] << 12, 0x1000000 + (i << 12), 4 * KB);
        xl(h, 1, pages[i] << 12);
    }
    map(h, 1, 0x40000000, 0x80000000, 2 * MB);
    xl(h, 1, 0x40000000);
    map(h, 2, 0x300fe000, 0x2000000, 4 * KB);
    xl(h, 2, 0x300fe000);
    assert_true(xl(h, 1, 0x100fe000).iotlb_hit);
    assert_true(xl(h, 1, 0x40001000).iotlb_hit);

    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .ih = 1,
                            .addr = 0x500fe000});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 2);
    /* probe the survivors through the IOTLB counters: a hit each */
    uint64_t hits = h->st[IOSIM_ST_IOTLB_HITS];
    assert_true(xl(h, 1, 0x100ff000).iotlb_hit);
    assert_true(xl(h, 1, 0x10100000).iotlb_hit);
    assert_true(xl(h, 1, 0x40000000).iotlb_hit);
    assert_true(xl(h, 2, 0x300fe000).iotlb_hit);
    assert_int_equal(h->st[IOSIM_ST_IOTLB_HITS], hits + 4);

    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .am = 1,
                            .addr = 0x400ff000});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 4);
    assert_true(xl(h, 1, 0x10100000).iotlb_hit);

    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .am = 8,
                            .addr = 0x7000});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 5);
    assert_true(xl(h, 2, 0x300fe000).iotlb_hit);
    assert_false(xl(h, 1, 0x10100000).iotlb_hit);
    hw_free(h);
}

/* Page-selective invalidations of a 1-set IOTLB, which inval_lines probes
 * key by key (before, with a budget of two probes a set, it scanned every
 * line): each PSI removes exactly the entries of its domain whose span
 * covers its range (VT-d 6.5.2.3), reasoned here by hand.  The IOTLB (1 x
 * 8) holds domain 2's 4 KB entry of 0x5000 (filled first: way 0, so a
 * probe that matched the page number alone would take it) and 0x6000,
 * then domain 1's 4 KB entry of 0x5000, 2 MB entry of 0x40000000 and 1 GB
 * entry of 0x80000000.
 *   PSI did 1 0x5000 am 0: domain 1's 4 KB entry (level 1 key 5): 1.
 *   PSI did 1 0x40001000 am 0: the 2 MB entry (level 2 key 0x200): 2.
 *   PSI did 1 0x80002000 am 0: the 1 GB entry (level 3 key 2): 3.
 *   PSI did 2 0x6000 am 1 (0x6000-0x7fff: 4 keys, levels 1-3): domain
 *     2's 0x6000: 4.  Domain 2's 0x5000 survives all four. */
static void test_psi_one_set_probes(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.iotlb.sets=1");
    set(c, "vtd.iotlb.ways=8");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    vtd_attach(h->v, 2, 2);
    map(h, 2, 0x5000, 0x105000, 4 * KB);
    map(h, 2, 0x6000, 0x106000, 4 * KB);
    map(h, 1, 0x5000, 0x205000, 4 * KB);
    map(h, 1, 0x40000000, 0x40000000, 2 * MB);
    map(h, 1, 0x80000000, 0x80000000, 1 * GB);
    xl(h, 2, 0x5000);
    xl(h, 2, 0x6000);
    xl(h, 1, 0x5000);
    xl(h, 1, 0x40000000);
    xl(h, 1, 0x80000000);
    uint64_t hits = h->st[IOSIM_ST_IOTLB_HITS];
    assert_true(xl(h, 1, 0x40001000).iotlb_hit);
    assert_true(xl(h, 1, 0x80002000).iotlb_hit);
    assert_int_equal(h->st[IOSIM_ST_IOTLB_HITS], hits + 2);

    static const struct {
        uint16_t did;
        uint64_t addr;
        uint8_t am;
    } psi[] = {
        {1, 0x5000, 0}, {1, 0x40001000, 0}, {1, 0x80002000, 0}, {2, 0x6000, 1}};
    for (size_t i = 0; i < 4; i++) {
        submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                                .gran = IOSIM_GRAN_PAGE,
                                .did = psi[i].did,
                                .am = psi[i].am,
                                .addr = psi[i].addr});
        assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], i + 1);
    }
    /* the survivor hits; each removed entry misses (its walk refills it) */
    assert_true(xl(h, 2, 0x5000).iotlb_hit);
    assert_false(xl(h, 1, 0x5000).iotlb_hit);
    assert_false(xl(h, 1, 0x40001000).iotlb_hit);
    assert_false(xl(h, 1, 0x80002000).iotlb_hit);
    assert_false(xl(h, 2, 0x6000).iotlb_hit);
    hw_free(h);
}

/* Reads of the walk after a PSI of one page with the given IH. */
static uint32_t reads_after_psi(bool ih, bool honour_ih)
{
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.honour_ih=%s", honour_ih ? "true" : "false");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x5000, 0x9000, 4 * KB);
    assert_int_equal(xl(h, 1, 0x5000).mem_reads, 6);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .ih = ih,
                            .addr = 0x5000});
    vtd_xlate_result_t r = xl(h, 1, 0x5000);
    assert_false(r.iotlb_hit);
    hw_free(h);
    return r.mem_reads;
}

static void test_ih(void **state)
{
    (void)state;
    /* IH=1: PSCs kept, the PDE hit leaves 1 read (the PTE); the context
     * cache is untouched by IOTLB descriptors.  IH=0: the PDE, PDPTE and
     * PML4E entries covering the page go -> 4 reads.  With honour_ih
     * false the hint is ignored -> 4. */
    assert_int_equal(reads_after_psi(true, true), 1);
    assert_int_equal(reads_after_psi(false, true), 4);
    assert_int_equal(reads_after_psi(true, false), 4);
}

static void test_psi_psc_range(void **state)
{
    (void)state;
    /* Pages in two 2 MB regions R1 = [0, 2M) and R2 = [2M, 4M) of one GB
     * were walked, so the PSCs hold PML4E[0..512G), PDPTE[0..1G),
     * PDE(R1) and PDE(R2).  An IH=0 PSI of one page of R1 removes every
     * PSC entry whose span overlaps that page: PML4E, PDPTE and PDE(R1)
     * = 3, and keeps PDE(R2).  Afterwards a new page of R2 hits PDE(R2):
     * 1 read; a new page of R1 finds nothing cached: 4 reads. */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    const uint64_t R1 = 0, R2 = 2 * MB;
    map(h, 1, R1, 0x1000000, 8 * KB);
    map(h, 1, R2, 0x2000000, 8 * KB);
    xl(h, 1, R1);
    xl(h, 1, R2);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .addr = R1});
    /* 3 PSC entries removed: PML4E, PDPTE, PDE(R1) */
    assert_int_equal(h->st[IOSIM_ST_PSC_INVAL_ENTRIES], 3);
    assert_int_equal(xl(h, 1, R2 + 4 * KB).mem_reads, 1);
    assert_int_equal(xl(h, 1, R1 + 4 * KB).mem_reads, 4);
    hw_free(h);
}

static void test_psi_psc_domain_scope(void **state)
{
    (void)state;
    /* The same scene as test_psi_psc_range, with vtd.psi_psc_scope=domain:
     * the IH=0 PSI of one page of R1 removes all 4 PSC entries of domain 1
     * (PML4E, PDPTE, PDE(R1), PDE(R2)) but not domain 2's PDE; a new page
     * of R2 then walks all 4 levels, and domain 2 still hits its PDE. */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.psi_psc_scope=domain");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    vtd_attach(h->v, 2, 2);
    const uint64_t R1 = 0, R2 = 2 * MB;
    map(h, 1, R1, 0x1000000, 8 * KB);
    map(h, 1, R2, 0x2000000, 8 * KB);
    map(h, 2, R1, 0x3000000, 8 * KB);
    xl(h, 1, R1);
    xl(h, 1, R2);
    xl(h, 2, R1);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .addr = R1});
    assert_int_equal(h->st[IOSIM_ST_PSC_INVAL_ENTRIES], 4);
    assert_int_equal(xl(h, 1, R2 + 4 * KB).mem_reads, 4);
    assert_int_equal(xl(h, 2, R1 + 4 * KB).mem_reads, 1);
    hw_free(h);
}

/* vtd.psi_iotlb_scope: what an IH=0 PSI of one page of R1 (2 MB region
 * at 0) takes from the IOTLB.  Domain 1 has two pages in R1 and one in R2
 * (the next 2 MB region), all three translated first.  Expected, from the
 * parameter's definition: page -> only R1 page 0 goes; pde -> R1 page 1
 * goes too (same 2 MB region), R2 stays; domain -> R2 goes too.  With
 * IH=1 no scope widens anything.  A later lookup of R2 is a hit (0 reads)
 * or, when dropped, a walk that still hits PDE(R2) in the PDE cache
 * (psi_psc_scope=range drops only PDE(R1)): 1 read. */
static void check_iotlb_scope(const char *scope, bool ih, bool r1_page1_hit,
                              bool r2_hit)
{
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.psi_iotlb_scope=%s", scope);
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    const uint64_t R1 = 0, R2 = 2 * MB;
    map(h, 1, R1, 0x1000000, 8 * KB);
    map(h, 1, R2, 0x2000000, 4 * KB);
    xl(h, 1, R1);
    xl(h, 1, R1 + 4 * KB);
    xl(h, 1, R2);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .addr = R1,
                            .ih = ih});
    vtd_xlate_result_t r2 = xl(h, 1, R2);
    assert_int_equal(r2.iotlb_hit, r2_hit);
    assert_int_equal(r2.mem_reads, r2_hit ? 0 : 1);
    assert_int_equal(xl(h, 1, R1 + 4 * KB).iotlb_hit, r1_page1_hit);
    assert_int_equal(xl(h, 1, R1).iotlb_hit, false);
    hw_free(h);
}

static void test_psi_iotlb_scope(void **state)
{
    (void)state;
    check_iotlb_scope("page", false, true, true);
    check_iotlb_scope("pde", false, false, true);
    check_iotlb_scope("domain", false, false, false);
    check_iotlb_scope("pde", true, true, true);
    check_iotlb_scope("domain", true, true, true);
}

static void test_submit_split(void **state)
{
    (void)state;
    /* vtd.iq_batch_max=2: a submission of 5 descriptors goes as 2 + 2 + 1,
     * each followed by the implicit wait: 3 tail writes, 3 waits. */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.iq_batch_max=2");
    hw_t *h = hw_build(c);
    vtd_desc_t d[5];
    for (int i = 0; i < 5; i++)
        d[i] = (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .addr = 0x1000ull * (uint64_t)i};
    vtd_submit(h->v, d, 5);
    assert_int_equal(h->st[IOSIM_ST_IQ_SUBMITS], 3);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_WAIT], 3);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_IOTLB_PSI], 5);
    hw_free(h);
}

static void test_reads_per_level(void **state)
{
    (void)state;
    /* all caches off, legacy 4-level: one cold walk reads one entry at
     * each of the levels 4, 3, 2, 1 (and 2 root/context entries) */
    iosim_config_t *c = iosim_config_new();
    caches_off(c);
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x200000, 0x1000000, 4 * KB);
    xl(h, 1, 0x200000);
    for (int l = 0; l < 4; l++)
        assert_int_equal(h->st[IOSIM_ST_WALK_READS_L1 + l], 1);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_L5], 0);
    assert_int_equal(h->st[IOSIM_ST_WALK_READS_CTX], 2);
    hw_free(h);
}

static void test_dsi_and_global(void **state)
{
    (void)state;
    /* DSI of domain 1: its 16 IOTLB entries go, domain 2's 16 stay; its
     * PSC entries go too (walk of a new domain-1 page: 4 reads), domain
     * 2's stay (a refilled page of domain 2 would cost 1). */
    hw_t *h = two_domains(iosim_config_new());
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_IOTLB,
                            .gran = IOSIM_GRAN_DOMAIN,
                            .did = 1});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], NPG);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_IOTLB_DSI], 1);
    assert_int_equal(xl(h, 1, BASE).mem_reads, 4);
    assert_int_equal(survivors(h, 2), 0xffffu);
    hw_free(h);

    /* global: all 32 entries; both domains walk from the top again */
    h = two_domains(iosim_config_new());
    submit1(h,
            (vtd_desc_t){.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_GLOBAL});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 2 * NPG);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_IOTLB_GLOBAL], 1);
    assert_int_equal(xl(h, 1, BASE).mem_reads, 4);
    assert_int_equal(xl(h, 2, BASE).mem_reads, 4);
    hw_free(h);
}

static void test_piotlb(void **state)
{
    (void)state;
    /* Scalable first-stage.  P_IOTLB PASID-selective (G=2) for DID 1
     * PASID 0 drops domain 1's 16 entries; P_IOTLB PSI (G=3) with PASID 7
     * (no entries) drops nothing. */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.root_mode=scalable");
    set(c, "vtd.translation=first-stage");
    hw_t *h = two_domains(c);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_PIOTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = 1,
                            .pasid = 7,
                            .addr = BASE,
                            .am = 4});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], 0);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_PIOTLB,
                            .gran = IOSIM_GRAN_DOMAIN,
                            .did = 1,
                            .pasid = 0});
    assert_int_equal(h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES], NPG);
    assert_int_equal(survivors(h, 1), 0);
    assert_int_equal(survivors(h, 2), 0xffffu);
    hw_free(h);
}

static void test_devtlb_range(void **state)
{
    (void)state;
    /* ATS device sid 3 in domain 1, 16 pages in its 64-entry device-TLB.
     * A device-TLB descriptor for pages 8..11 (AM=2) leaves 12 pages
     * hitting in the device; the 4 others reach the IOMMU (and hit its
     * IOTLB, which the descriptor does not touch). */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.ats=true");
    set(c, "vtd.devtlb.sets=1");
    set(c, "vtd.devtlb.ways=64");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 3, 1);
    map(h, 1, BASE, 0x7000000, NPG * 4 * KB);
    for (unsigned p = 0; p < NPG; p++)
        assert_false(xl(h, 3, BASE + p * 4 * KB).devtlb_hit);
    for (unsigned p = 0; p < NPG; p++)
        assert_true(xl(h, 3, BASE + p * 4 * KB).devtlb_hit);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_DEVTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .sid = 3,
                            .addr = BASE + 8 * 4 * KB,
                            .am = 2});
    for (unsigned p = 0; p < NPG; p++) {
        vtd_xlate_result_t r = xl(h, 3, BASE + p * 4 * KB);
        bool in = p >= 8 && p < 12;
        assert_int_equal(r.devtlb_hit, !in);
        if (in)
            assert_true(r.iotlb_hit);
    }
    /* another device's descriptor removes nothing of sid 3 */
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_DEVTLB,
                            .gran = IOSIM_GRAN_GLOBAL,
                            .sid = 4,
                            .am = 52});
    assert_true(xl(h, 3, BASE).devtlb_hit);
    /* whole device (Linux: addr 0, mask 52): every page misses */
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_DEVTLB,
                            .gran = IOSIM_GRAN_GLOBAL,
                            .sid = 3,
                            .am = 52});
    unsigned hits = 0;
    for (unsigned p = 0; p < NPG; p++)
        hits += xl(h, 3, BASE + p * 4 * KB).devtlb_hit;
    assert_int_equal(hits, 0);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_DEVTLB], 3);
    hw_free(h);
}

static void test_context_cache_inval(void **state)
{
    (void)state;
    /* sid 1 -> domain 1.  First access: 2 context reads + 4 table reads.
     * Second: IOTLB and context hit, 0 reads.  A device-selective
     * context-cache descriptor for sid 1 forces the 2 context reads again
     * (the IOTLB still hits); one for another domain or device does not;
     * a global one does. */
    hw_t *h = hw_build(iosim_config_new());
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x1000, 0x2000, 4 * KB);
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 6);
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 0);
    submit1(h, (vtd_desc_t){
                   .type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_PAGE, .sid = 1});
    vtd_xlate_result_t r = xl(h, 1, 0x1000);
    assert_true(r.iotlb_hit);
    assert_int_equal(r.mem_reads, 2);
    submit1(h, (vtd_desc_t){
                   .type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_PAGE, .sid = 2});
    submit1(h, (vtd_desc_t){
                   .type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_DOMAIN, .did = 2});
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 0);
    submit1(h, (vtd_desc_t){
                   .type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_DOMAIN, .did = 1});
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 2);
    submit1(h, (vtd_desc_t){.type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_GLOBAL});
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 2);
    assert_int_equal(h->st[IOSIM_ST_CTX_MISSES], 4);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_CC], 5);
    hw_free(h);
}

static void test_pasid_cache_inval(void **state)
{
    (void)state;
    /* Scalable mode: a PASID-cache descriptor (PASID-selective, G=1) for
     * DID 1 PASID 0 forces the 2 PASID-structure reads again. */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.root_mode=scalable");
    set(c, "vtd.translation=first-stage");
    hw_t *h = hw_build(c);
    vtd_attach(h->v, 1, 1);
    map(h, 1, 0x1000, 0x2000, 4 * KB);
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 8);
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 0);
    submit1(h, (vtd_desc_t){
                   .type = IOSIM_DESC_PC, .gran = 1, .did = 1, .pasid = 0});
    assert_int_equal(xl(h, 1, 0x1000).mem_reads, 2);
    hw_free(h);
}

static void test_submit_time(void **state)
{
    (void)state;
    /* n descriptors + the implicit wait: n x iq_desc_ns + iq_wait_ns,
     * plus iq_devtlb_ns per device-TLB descriptor:
     * 2 x 200 + 900 + 75 = 1375 ns */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.iq_desc_ns=200");
    set(c, "vtd.iq_wait_ns=75");
    set(c, "vtd.iq_devtlb_ns=900");
    hw_t *h = hw_build(c);
    // clang-format off
    vtd_desc_t d[2] = {
        {.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_DOMAIN, .did = 1},
        {.type = IOSIM_DESC_DEVTLB, .gran = IOSIM_GRAN_GLOBAL, .am = 52}};
    // clang-format on
    assert_true(close_to(vtd_submit(h->v, d, 2), 1375.0));
    assert_int_equal(h->st[IOSIM_ST_IQ_SUBMITS], 1);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_WAIT], 1);
    assert_int_equal(h->st[IOSIM_ST_IQ_NS], 1375);
    hw_free(h);
}

static void test_submit_time_per_kind(void **state)
{
    (void)state;
    /* each kind its own time: CC 11 + PC 13 + IEC 17 + IOTLB 200 +
     * devTLB (200 + 900) + explicit wait 75 + the implicit wait 75
     * = 1491 ns; two waits counted */
    iosim_config_t *c = iosim_config_new();
    set(c, "vtd.iq_cc_ns=11");
    set(c, "vtd.iq_pc_ns=13");
    set(c, "vtd.iq_iec_ns=17");
    set(c, "vtd.iq_desc_ns=200");
    set(c, "vtd.iq_devtlb_ns=900");
    set(c, "vtd.iq_wait_ns=75");
    hw_t *h = hw_build(c);
    // clang-format off
    vtd_desc_t d[6] = {
        {.type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_GLOBAL},
        {.type = IOSIM_DESC_PC, .gran = IOSIM_GRAN_PAGE},
        {.type = IOSIM_DESC_IEC},
        {.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_DOMAIN, .did = 1},
        {.type = IOSIM_DESC_DEVTLB, .gran = IOSIM_GRAN_GLOBAL, .am = 52},
        {.type = IOSIM_DESC_WAIT}};
    // clang-format on
    assert_true(close_to(vtd_submit(h->v, d, 6), 1491.0));
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_WAIT], 2);
    assert_int_equal(h->st[IOSIM_ST_IQ_DESC_OTHER], 1);
    hw_free(h);
}

/* A shared front's model (vtd_as_front) only times its submissions: the
 * queue's time must not depend on what the caches held.  Two models of
 * one configuration get the same maps and submissions of every kind (PSI
 * with IH 0 and 1, DSI, global, PASID-selective, device-TLB, context and
 * PASID cache, explicit wait, IEC; one longer than vtd.iq_batch_max):
 * the full one with its IOTLB, PSCs, context cache, PASID cache (scalable
 * mode) and device-TLB (ATS) refilled before each submission, the front's never
 * translating.  Each time must be the same double, and the formula's
 * (n x kind + one wait a batch); the full model removed lines each
 * time (so the front skipped real work), the front counted nothing and
 * holds no line. */
static void check_front_submits(bool scalable, bool ats)
{
    iosim_config_t *cfg[2];
    hw_t *h[2];
    uint64_t scratch[IOSIM_ST_COUNT] = {0};
    for (int k = 0; k < 2; k++) {
        iosim_config_t *c = cfg[k] = iosim_config_new();
        set(c, "vtd.ats=%s", ats ? "true" : "false");
        set(c, "vtd.iq_batch_max=2");
        set(c, "vtd.iq_desc_ns=200");
        set(c, "vtd.iq_devtlb_ns=900");
        set(c, "vtd.iq_cc_ns=11");
        set(c, "vtd.iq_pc_ns=13");
        set(c, "vtd.iq_iec_ns=17");
        set(c, "vtd.iq_wait_ns=75");
        if (scalable) {
            set(c, "vtd.root_mode=scalable");
            set(c, "vtd.translation=first-stage");
        }
        h[k] = hw_build(c);
    }
    hw_t *full = h[0], *front = h[1];
    vtd_as_front(front->v, scratch);
    for (int k = 0; k < 2; k++)
        for (uint16_t d = 1; d <= 2; d++) {
            vtd_attach(h[k]->v, d, d);
            map(h[k], d, BASE, 0x10000000ull * d, NPG * 4 * KB);
        }
    // clang-format off
    const vtd_desc_t subs[][3] = {
        {{.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_PAGE, .did = 1, .addr = BASE}},
        {{.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_PAGE, .did = 2, .addr = BASE, .am = 3, .ih = 1}},
        {{.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_DOMAIN, .did = 1}},
        {{.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_GLOBAL}},
        {{.type = IOSIM_DESC_PIOTLB, .gran = IOSIM_GRAN_PAGE, .did = 2, .addr = BASE + 4 * KB}},
        {{.type = IOSIM_DESC_DEVTLB, .gran = IOSIM_GRAN_PAGE, .sid = 1, .addr = BASE, .am = 2},
         {.type = IOSIM_DESC_DEVTLB, .gran = IOSIM_GRAN_GLOBAL, .sid = 2, .am = 52}},
        {{.type = IOSIM_DESC_CC, .gran = IOSIM_GRAN_PAGE, .sid = 1},
         {.type = IOSIM_DESC_PC, .gran = 1, .did = 2, .pasid = 0}},
        {{.type = IOSIM_DESC_IOTLB, .gran = IOSIM_GRAN_PAGE, .did = 1, .addr = BASE + 8 * KB},
         {.type = IOSIM_DESC_WAIT},
         {.type = IOSIM_DESC_IEC}},
    };
    const size_t len[] = {1, 1, 1, 1, 1, 2, 2, 3};
    const double want[] = {200 + 75, 200 + 75, 200 + 75, 200 + 75, 200 + 75,
                           2 * 1100 + 75, 11 + 13 + 75,
                           /* 2 + 1: two waits */ 200 + 75 + 17 + 2 * 75};
    // clang-format on
    uint64_t removed = 0;
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        for (uint16_t d = 1; d <= 2; d++)
            for (unsigned p = 0; p < NPG; p++)
                assert_false(xl(full, d, BASE + p * 4 * KB).fault);
        uint64_t before = full->st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +
                          full->st[IOSIM_ST_PSC_INVAL_ENTRIES];
        double a = vtd_submit(full->v, subs[i], len[i]),
               b = vtd_submit(front->v, subs[i], len[i]);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(close_to(b, want[i]));
        removed += full->st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +
                   full->st[IOSIM_ST_PSC_INVAL_ENTRIES] - before;
    }
    /* (with ATS the device-TLB answers most refills: fewer IOTLB lines) */
    assert_true(removed > (ats ? NPG : 4 * NPG));
    assert_int_equal(full->st[IOSIM_ST_IQ_SUBMITS], 9);
    if (ats)
        assert_true(full->st[IOSIM_ST_DEVTLB_MISSES] <
                    full->st[IOSIM_ST_DEVTLB_LOOKUPS]);
    /* the front counted nothing of its submissions, in its own counters
     * or the scratch ones, and its caches hold nothing */
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++) {
        assert_int_equal(front->st[i], 0);
        if (i != IOSIM_ST_MAPPINGS_PEAK)
            assert_int_equal(scratch[i], 0);
    }
    assert_int_equal(scratch[IOSIM_ST_MAPPINGS_PEAK], 2 * NPG);
    assert_int_equal(cache_valid_lines(vtd_iotlb_cache(front->v)), 0);
    for (int k = 0; k < 2; k++) {
        vtd_free(h[k]->v);
        iosim_config_free(cfg[k]);
        free(h[k]);
    }
}

static void test_front_submits(void **state)
{
    (void)state;
    check_front_submits(false, false);
    check_front_submits(false, true);
    check_front_submits(true, false);
}

/* ---- vtd_psi_range ----------------------------------------------------- */

/* Oracle: the smallest naturally aligned block of 2^k pages that holds
 * pages [pfn, end_pfn] — the range calculate_psi_aligned_address() must
 * produce (MODEL.md §1.6.2). */
static unsigned oracle_mask(uint64_t pfn, uint64_t end_pfn)
{
    for (unsigned k = 0;; k++)
        if ((pfn >> k) == (end_pfn >> k))
            return k;
}

static void check_psi(uint64_t start, uint64_t size, uint64_t addr, unsigned am)
{
    uint64_t a;
    uint8_t m;
    vtd_psi_range(start, size, &a, &m);
    if (a != addr || m != am)
        fail_msg("psi(0x%llx, 0x%llx) = 0x%llx/%u, expected 0x%llx/%u",
                 (unsigned long long)start, (unsigned long long)size,
                 (unsigned long long)a, m, (unsigned long long)addr, am);
}

static void test_psi_range(void **state)
{
    (void)state;
    check_psi(0x1000, 4 * KB, 0x1000, 0);          /* one page */
    check_psi(0x1000, 1, 0x1000, 0);               /* one byte */
    check_psi(0x1000, 0, 0x1000, 0);               /* empty: one page */
    check_psi(0x10000, 64 * KB, 0x10000, 4);       /* 16 aligned pages */
    check_psi(0xfffd0000, 64 * KB, 0xfffd0000, 4); /* MODEL.md §2.3 */
    check_psi(0x4000, 12 * KB, 0x4000, 2);         /* 3 pages 4..6 in [4,8) */
    check_psi(0x5000, 12 * KB, 0x4000, 2);         /* 5..7 in [4,8) */
    /* unaligned: 2 pages 1..2 need the 4-page block [0,4) */
    check_psi(0x1000, 8 * KB, 0, 2);
    /* 2 pages 3..4 straddle 4: the block is [0,8), AM 3 */
    check_psi(0x3000, 8 * KB, 0, 3);
    /* 3 pages 6..8 straddle 8: [0,16), AM 4 */
    check_psi(0x6000, 12 * KB, 0, 4);
    /* bytes 0x1800..0x27ff touch pages 1 and 2: [0,4) */
    check_psi(0x1800, 4 * KB, 0, 2);
    /* 2 pages 0x7ff..0x800 straddle 2^11: AM 12, addr 0 */
    check_psi(0x7ff000, 8 * KB, 0, 12);
    /* 2 pages straddling 4 GB: pfn 0xfffff..0x100000 -> AM 21 */
    check_psi(0xfffff000, 8 * KB, 0, 21);

    /* brute force against the oracle over pseudo-random ranges */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t start = (x >> 8) & ((1ull << 40) - 1);
        uint64_t size = 1 + ((x >> 48) << (x & 15));
        uint64_t pfn = start >> 12, end = (start + size - 1) >> 12;
        unsigned k = oracle_mask(pfn, end);
        check_psi(start, size, start & ~((4096ull << k) - 1), k);
    }
}

/* ---- page tables ------------------------------------------------------- */

static void test_pgtable_free_rule(void **state)
{
    (void)state;
    physmem_t mem;
    physmem_init(&mem, 1 * GB);
    pgtable_t pt;
    assert_int_equal(pgtable_init(&pt, 4, &mem), 0);
    assert_int_equal(mem.live, 1); /* the root (PML4) */
    /* one 4 KB page in an empty 4-level table: PDPT + PD + PT */
    assert_int_equal(pgtable_map(&pt, 0, 0x100000, 4 * KB, true, false), 3);
    /* the rest of its 2 MB: the same PT, nothing new */
    assert_int_equal(
        pgtable_map(&pt, 4 * KB, 0x101000, 2 * MB - 4 * KB, true, false), 0);
    assert_int_equal(mem.live, 4);
    assert_int_equal(pt.mapped_4k, 512);
    /* mapping a page twice fails */
    assert_int_equal(pgtable_map(&pt, 8 * KB, 0, 4 * KB, true, false), -1);
    /* partial unmap: leaves cleared, no table page freed */
    uint64_t removed = 0;
    assert_int_equal(pgtable_unmap(&pt, 0, 1 * MB, &removed), 0);
    assert_int_equal(removed, 1 * MB);
    assert_int_equal(pt.mapped_4k, 256);
    assert_int_equal(mem.live, 4);
    /* the rest in two halves: still no single unmap covers the PT */
    assert_int_equal(pgtable_unmap(&pt, 1 * MB, 1 * MB, &removed), 0);
    assert_int_equal(pt.mapped_4k, 0);
    assert_int_equal(mem.live, 4);
    /* one unmap over the whole 2 MB frees the (empty) PT */
    assert_int_equal(pgtable_unmap(&pt, 0, 2 * MB, &removed), 1);
    assert_int_equal(removed, 0);
    assert_int_equal(mem.live, 3);
    /* map again and unmap the 2 MB in one go: PT freed, 512 pages gone */
    assert_int_equal(pgtable_map(&pt, 0, 0x100000, 2 * MB, true, false), 1);
    assert_int_equal(pgtable_unmap(&pt, 0, 2 * MB, &removed), 1);
    assert_int_equal(removed, 2 * MB);
    assert_int_equal(pt.pages_freed, 2);
    pt_walk_t w;
    assert_false(pgtable_walk(&pt, 0, &w));
    assert_int_equal(w.fault_level, 2); /* the PDE is gone */
    pgtable_fini(&pt);
    assert_int_equal(mem.live, 0);
    assert_int_equal(mem.peak, 4);
    physmem_fini(&mem);
}

static void test_pgtable_free_nested_tables(void **state)
{
    (void)state;
    /* Pages at 0 and 2 MB: PDPT, one PD, two PTs (+ root) = 5 pages.  One
     * unmap of [0, 1 GB) covers the PD's whole range: the PD and both PTs
     * go, 3 pages freed, and the count must say 3. */
    physmem_t mem;
    physmem_init(&mem, 1 * GB);
    pgtable_t pt;
    assert_int_equal(pgtable_init(&pt, 4, &mem), 0);
    assert_int_equal(pgtable_map(&pt, 0, 0x100000, 4 * KB, true, false), 3);
    assert_int_equal(pgtable_map(&pt, 2 * MB, 0x200000, 4 * KB, true, false),
                     1);
    assert_int_equal(mem.live, 5);
    uint64_t removed = 0;
    assert_int_equal(pgtable_unmap(&pt, 0, 1 * GB, &removed), 3);
    assert_int_equal(removed, 8 * KB);
    assert_int_equal(mem.live, 2);
    assert_int_equal(pt.pages_freed, 3);
    assert_int_equal(pt.mapped_4k, 0);
    pgtable_fini(&pt);
    physmem_fini(&mem);
}

/* A split_large table that stores large maps as large leaves answers
 * every walk as a table of 4 KB leaves does (the reference: large_ok
 * false), under random maps and partial unmaps of 4 KB .. 1 GB, and a
 * 1 GB map costs it no table below the PDPT. */
static void test_pgtable_split_large(void **state)
{
    (void)state;
    physmem_t mem_a, mem_b;
    physmem_init(&mem_a, 0);
    physmem_init(&mem_b, 0);
    pgtable_t a, b;
    assert_int_equal(pgtable_init(&a, 4, &mem_a), 0);
    assert_int_equal(pgtable_init(&b, 4, &mem_b), 0);
    a.split_large = true;
    assert_true(pgtable_map(&a, 1 * GB, 5 * GB, 1 * GB, true, true) >= 0);
    assert_int_equal(mem_a.live, 2); /* root + one PDPT, no PD */
    uint64_t removed = 0;
    /* a 4 KB hole in the middle: split to PD then PT, the rest kept */
    assert_int_equal(
        pgtable_unmap(&a, 1 * GB + 3 * MB + 4 * KB, 4 * KB, &removed), 0);
    assert_int_equal(removed, 4 * KB);
    assert_int_equal(mem_a.live, 4);
    assert_int_equal(a.mapped_4k, (1 * GB - 4 * KB) / (4 * KB));
    pt_walk_t w;
    assert_true(pgtable_walk(&a, 1 * GB + 3 * MB + 8 * KB, &w));
    assert_int_equal(w.phys, 5 * GB + 3 * MB + 8 * KB);
    assert_int_equal(w.leaf_level, 1);
    assert_true(pgtable_walk(&a, 1 * GB + 600 * MB, &w));
    assert_int_equal(w.phys, 5 * GB + 600 * MB);
    assert_int_equal(w.leaf_level, 2);
    assert_false(pgtable_walk(&a, 1 * GB + 3 * MB + 4 * KB, &w));
    assert_int_equal(pgtable_unmap(&a, 0, 4 * GB, &removed),
                     2); /* the PD and the PT; the PDPT spans 512 GB */
    assert_int_equal(a.mapped_4k, 0);

    /* random operations in an 8 GB window against the 4 KB reference */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const uint64_t sizes[] = {4 * KB, 12 * KB, 2 * MB, 4 * MB,
                                     6 * MB, 1 * GB,  2 * GB};
    for (int op = 0; op < 3000; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t size = sizes[x % 7];
        uint64_t align = size >= 1 * GB   ? 1 * GB
                         : size >= 2 * MB ? 2 * MB
                                          : 4 * KB;
        uint64_t iova = ((x >> 8) % (8 * GB)) & ~(align - 1);
        if (x & 1 << 3) { /* unaligned now and then */
            iova += ((x >> 40) % 512) * 4 * KB;
        }
        if (iova + size > 8 * GB)
            continue;
        if ((x >> 4) % 3) {
            uint64_t phys = iova + 64 * GB;
            bool wr = (x >> 6) & 1;
            long ra = pgtable_map(&a, iova, phys, size, wr, true);
            long rb = pgtable_map(&b, iova, phys, size, wr, false);
            assert_int_equal(ra < 0, rb < 0);
        } else {
            uint64_t ra = 0, rb = 0;
            uint64_t len =
                ((x >> 20) % 1024 + 1) * 4 * KB * ((x >> 5) & 1 ? 512 : 1);
            assert_true(pgtable_unmap(&a, iova, len, &ra) >= 0);
            assert_true(pgtable_unmap(&b, iova, len, &rb) >= 0);
            assert_int_equal(ra, rb);
        }
        assert_int_equal(a.mapped_4k, b.mapped_4k);
        for (int k = 0; k < 16; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint64_t probe = k < 2 ? iova + (k ? size - 4 * KB : 0)
                                   : (x % (8 * GB)) & ~0xfffull;
            pt_walk_t wa, wb;
            bool ma = pgtable_walk(&a, probe, &wa);
            bool mb = pgtable_walk(&b, probe, &wb);
            assert_int_equal(ma, mb);
            assert_int_equal(pgtable_is_mapped(&a, probe), mb);
            if (mb) {
                assert_int_equal(wa.phys, wb.phys);
                assert_int_equal(wa.write, wb.write);
            }
        }
    }
    pgtable_fini(&a);
    pgtable_fini(&b);
    physmem_fini(&mem_a);
    physmem_fini(&mem_b);
}

static void test_pgtable_walk_addresses(void **state)
{
    (void)state;
    /* the entry read at each level is table + 8 x index, with index the
     * 9-bit field of the IOVA for that level */
    physmem_t mem;
    physmem_init(&mem, 1 * GB);
    pgtable_t pt;
    assert_int_equal(pgtable_init(&pt, 4, &mem), 0);
    const uint64_t iova =
        (5ull << 39) | (7ull << 30) | (9ull << 21) | (11ull << 12) | 0x123;
    assert_int_equal(
        pgtable_map(&pt, iova & ~0xfffull, 0xabc000, 4 * KB, false, true), 3);
    pt_walk_t w;
    assert_true(pgtable_walk(&pt, iova, &w));
    assert_int_equal(w.leaf_level, 1);
    assert_int_equal(w.phys, 0xabc123);
    assert_false(w.write);
    const unsigned idx[4] = {11, 9, 7, 5};
    for (unsigned l = 1; l <= 4; l++)
        assert_int_equal(w.entry_pa[l - 1], w.table_pa[l - 1] + 8 * idx[l - 1]);
    /* the root is the first page of modeled memory */
    assert_int_equal(w.table_pa[3], 1 * GB);
    /* a large leaf: 2 MB aligned iova and phys, large_ok */
    /* root index 0 is new: PDPT + PD allocated, the leaf is a PDE */
    assert_int_equal(pgtable_map(&pt, 6 * MB, 10 * MB, 2 * MB, true, true), 2);
    assert_true(pgtable_walk(&pt, 6 * MB + 0x1234, &w));
    assert_int_equal(w.leaf_level, 2);
    assert_int_equal(w.phys, 10 * MB + 0x1234);
    pgtable_fini(&pt);
    physmem_fini(&mem);
}

static void test_vtd_pt_pages(void **state)
{
    (void)state;
    /* through the vtd API: pages live, freed counter, mapped 4 KB pages;
     * unmapping in a domain that never mapped allocates nothing */
    hw_t *h = hw_build(iosim_config_new());
    iosim_err_t err = {0};
    assert_int_equal(vtd_unmap(h->v, 7, 0, 4 * KB, &err), 0);
    assert_int_equal(vtd_pt_pages_live(h->v), 0);
    assert_int_equal(vtd_map(h->v, 1, 0x1000, 0x5000, 8 * KB, true, &err), 3);
    assert_int_equal(vtd_pt_pages_live(h->v), 4);
    assert_int_equal(vtd_mapped_4k(h->v), 2);
    assert_int_equal(vtd_unmap(h->v, 1, 0, 2 * MB, &err), 1);
    assert_int_equal(h->st[IOSIM_ST_PT_PAGES_FREED], 1);
    assert_int_equal(vtd_pt_pages_live(h->v), 3);
    assert_int_equal(vtd_mapped_4k(h->v), 0);
    /* overlapping map: -1 with a message */
    assert_int_equal(vtd_map(h->v, 1, 0x1000, 0x5000, 4 * KB, true, &err), 1);
    assert_int_equal(vtd_map(h->v, 1, 0x1000, 0x5000, 4 * KB, true, &err), -1);
    assert_true(strlen(err.msg) > 0);
    hw_free(h);
}

static void test_mappings_peak_all_domains(void **state)
{
    (void)state;
    /* pt.mappings_peak counts live 4 KB mappings of all domains: 3 pages
     * in domain 1 + 5 in domain 2 = 8; unmapping 2 then mapping 1 keeps
     * the peak at 8. */
    hw_t *h = hw_build(iosim_config_new());
    map(h, 1, 0, 0x100000, 3 * 4 * KB);
    map(h, 2, 0, 0x200000, 5 * 4 * KB);
    assert_int_equal(h->st[IOSIM_ST_MAPPINGS_PEAK], 8);
    iosim_err_t err;
    assert_true(vtd_unmap(h->v, 2, 0, 8 * KB, &err) >= 0);
    map(h, 1, 1 * MB, 0x300000, 4 * KB);
    assert_int_equal(h->st[IOSIM_ST_MAPPINGS_PEAK], 8);
    assert_int_equal(vtd_mapped_4k(h->v), 7);
    hw_free(h);
}

/* ---- targeted invalidation against the scan of every line ------------ */

/* The line arrays of c (addr, tag, value of each line and the valid
 * counts) are those of d. */
static void same_lines(const cache_t *c, const cache_t *d)
{
    assert_int_equal(c->enabled, d->enabled);
    if (!c->enabled)
        return;
    size_t n = (size_t)c->sets * c->ways;
    assert_memory_equal(c->addrs, d->addrs, n * sizeof *c->addrs);
    for (size_t i = 0; i < n; i++)
        if (c->addrs[i] != CACHE_NO_ADDR) {
            assert_int_equal(c->tags[i], d->tags[i]);
            assert_int_equal(c->vals[i], d->vals[i]);
        }
    assert_memory_equal(c->set_valid, d->set_valid,
                        c->sets * sizeof *c->set_valid);
    assert_int_equal(c->nvalid, d->nvalid);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Two models fed the same random maps, translations and invalidations:
 * h probes the keys a page-selective invalidation covers
 * (inval_psi, inval_lines: the levels each domain filled, the keys of
 * each level's range, or one scan when there are many), g
 * (vtd_set_shortcuts off)
 * tests every line of every cache against the range (match_line: the
 * entry's span overlaps it).  Three domains map 4 KB pages, 2 MB and
 * 1 GB leaves over a 4 GB window (domain 3 4 KB only); IOTLBs of 1 to 16
 * sets; PSIs of random address, AM (0..20, now and then 52) and IH,
 * some domain-selective, some PASID-tagged when pasids is set.  After
 * every submission the IOTLBs and PSCs hold the same lines and every
 * counter is equal; the removals happen (a test whose PSIs missed
 * everything would prove nothing). */
static void targeted_run(uint64_t seed, unsigned sets, bool pasids)
{
    hw_t *hw[2];
    for (int k = 0; k < 2; k++) {
        iosim_config_t *c = iosim_config_new();
        set(c, "vtd.iotlb.sets=%u", sets);
        set(c, "vtd.iotlb.ways=8");
        set(c, "vtd.psc_pd.sets=4");
        set(c, "vtd.psc_pd.ways=4");
        hw[k] = hw_build(c);
        if (k == 1)
            vtd_set_shortcuts(hw[k]->v, false);
        for (uint16_t d = 1; d <= 3; d++)
            vtd_attach(hw[k]->v, d, d);
    }
    hw_t *h = hw[0], *g = hw[1];
    uint64_t x = seed, removed = 0, psc_removed = 0;
    for (int d = 1; d <= 3; d++) /* 4 KB pages in the first 64 MB */
        for (int p = 0; p < 400; p++) {
            uint64_t iova = (rnd(&x) % (16384)) << 12;
            for (int k = 0; k < 2; k++)
                if (!vtd_lookup(hw[k]->v, (uint16_t)d, iova, NULL))
                    map(hw[k], (uint16_t)d, iova, 0x100000000ull + iova,
                        4 * KB);
        }
    for (int d = 1; d <= 2; d++) { /* 2 MB leaves at 1-2 GB, 1 GB at 2-4 */
        for (uint64_t a = 1 * GB; a < 2 * GB; a += 2 * MB)
            if (rnd(&x) % 3 == 0)
                for (int k = 0; k < 2; k++)
                    map(hw[k], (uint16_t)d, a, 0x200000000ull + a, 2 * MB);
        for (int k = 0; k < 2; k++)
            map(hw[k], (uint16_t)d, 2 * GB + (uint64_t)(d - 1) * GB,
                0x400000000ull, GB);
    }
    for (int step = 0; step < 3000; step++) {
        uint16_t did = (uint16_t)(1 + rnd(&x) % 3);
        uint64_t r = rnd(&x);
        uint64_t iova = r % 4 == 0   ? (rnd(&x) % (16384)) << 12
                        : r % 4 == 1 ? 1 * GB + (rnd(&x) % (1u << 18) << 12)
                        : r % 4 == 2 ? 2 * GB + (rnd(&x) % (1u << 19) << 12)
                                     : (rnd(&x) % 64) << 12;
        uint32_t pasid = pasids && rnd(&x) % 4 == 0 ? 1u : 0u;
        if (step % 4 != 3) {
            for (int k = 0; k < 2; k++)
                vtd_translate(hw[k]->v, did, pasid, 0, iova, false);
            continue;
        }
        unsigned am = (unsigned)(rnd(&x) % 21);
        if (rnd(&x) % 40 == 0)
            am = 52;
        vtd_desc_t dsc = {.type = IOSIM_DESC_IOTLB,
                          .gran = rnd(&x) % 16 ? IOSIM_GRAN_PAGE
                                               : IOSIM_GRAN_DOMAIN,
                          .did = did,
                          .am = (uint8_t)am,
                          .ih = (uint8_t)(rnd(&x) % 2),
                          .addr = iova};
        if (pasid && rnd(&x) % 2) {
            dsc.type = IOSIM_DESC_PIOTLB;
            dsc.pasid = pasid;
            dsc.gran = 3; /* page-selective-within-PASID */
        }
        uint64_t before = h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES],
                 psc_before = h->st[IOSIM_ST_PSC_INVAL_ENTRIES];
        for (int k = 0; k < 2; k++)
            vtd_submit(hw[k]->v, &dsc, 1);
        removed += h->st[IOSIM_ST_IOTLB_INVAL_ENTRIES] - before;
        psc_removed += h->st[IOSIM_ST_PSC_INVAL_ENTRIES] - psc_before;
        same_lines(vtd_iotlb_cache(h->v), vtd_iotlb_cache(g->v));
        for (unsigned i = 0; i < 4; i++)
            same_lines(vtd_psc_cache(h->v, i), vtd_psc_cache(g->v, i));
        assert_memory_equal(h->st, g->st, sizeof h->st);
        /* (the in-flight walks' signal: inflight.c) */
        assert_int_equal(vtd_psc_drops(h->v), vtd_psc_drops(g->v));
    }
    assert_true(removed > 100);
    assert_true(psc_removed > 100);
    hw_free(h);
    hw_free(g);
}

/* A walk's PSC fills (walk_table): where a PSC takes the inline LRU path
 * the fill goes straight to the set its probe found (cache_lru_fill, no
 * miss memo); g (vtd_set_shortcuts off) looks up and inserts through the
 * generic code.  Small PSCs (2 ways, the PDE cache 2 sets) and a 2-line
 * IOTLB so that walks miss at some levels and fill full sets; 4 KB pages
 * under 3 PML4 entries x 3 PDPTEs x 3 PDEs, faults, page-selective
 * invalidations with IH 0 dropping the PSC entries of their range.  After every
 * step the PSCs hold the same lines in the same recency orders and every
 * counter is equal. */
static void walk_fill_run(uint64_t seed, const char *xlate)
{
    hw_t *hw[2];
    for (int k = 0; k < 2; k++) {
        iosim_config_t *c = iosim_config_new();
        bool nested = strcmp(xlate, "nested") == 0;
        set(c, "vtd.root_mode=%s",
            strcmp(xlate, "second-stage") ? "scalable" : "legacy");
        set(c, "vtd.translation=%s", xlate);
        if (nested)
            set(c, "hv.mode=nested");
        set(c, "vtd.iotlb.sets=1");
        set(c, "vtd.iotlb.ways=2");
        set(c, "vtd.psc_pd.sets=2");
        set(c, "vtd.psc_pd.ways=2");
        set(c, "vtd.psc_pdpt.ways=2");
        set(c, "vtd.psc_pml4.ways=2");
        hw[k] = hw_build(c);
        if (k == 1)
            vtd_set_shortcuts(hw[k]->v, false);
        vtd_attach(hw[k]->v, 1, 1);
    }
    hw_t *h = hw[0], *g = hw[1];
    assert_true(vtd_psc_cache(h->v, 3)->lru_inline);
    assert_false(vtd_psc_cache(g->v, 3)->lru_inline);
    uint64_t x = seed, pool[256];
    for (int p = 0; p < 256; p++) {
        /* 3 PML4 entries x 3 PDPTEs x 3 PDEs: PSC hits at every level */
        pool[p] = (rnd(&x) % 3) << 39 | (rnd(&x) % 3) << 30 |
                  (rnd(&x) % 3) << 21 | (rnd(&x) % 512) << 12;
        for (int k = 0; k < 2; k++)
            if (!vtd_lookup(hw[k]->v, 1, pool[p], NULL))
                map(hw[k], 1, pool[p], 0x100000000ull + (uint64_t)p * 4 * KB,
                    4 * KB);
    }
    for (int step = 0; step < 4000; step++) {
        uint64_t r = rnd(&x), iova = pool[r % 256];
        if (r % 16 == 1) /* a neighbour: same PD, perhaps unmapped */
            iova ^= (rnd(&x) % 8) << 12;
        if (r % 16 == 2) {
            vtd_desc_t dsc = {.type = IOSIM_DESC_IOTLB,
                              .gran = IOSIM_GRAN_PAGE,
                              .did = 1,
                              .addr = iova};
            for (int k = 0; k < 2; k++)
                vtd_submit(hw[k]->v, &dsc, 1);
        } else {
            for (int k = 0; k < 2; k++)
                vtd_translate(hw[k]->v, 1, 0, 0, iova, false);
        }
        for (unsigned i = 0; i < 4; i++) {
            const cache_t *a = vtd_psc_cache(h->v, i),
                          *b = vtd_psc_cache(g->v, i);
            same_lines(a, b);
            if (a->enabled)
                assert_memory_equal(a->order, b->order,
                                    a->sets * sizeof *a->order);
        }
        assert_memory_equal(h->st, g->st, sizeof h->st);
    }
    /* the fills happened, into full sets too */
    assert_true(h->st[IOSIM_ST_PSC3_MISSES] > 1000);
    assert_true(h->st[IOSIM_ST_PSC1_MISSES] > 500);
    assert_true(h->st[IOSIM_ST_PSC_INVAL_ENTRIES] > 100);
    hw_free(h);
    hw_free(g);
}

static void test_walk_fill_vs_generic(void **state)
{
    (void)state;
    walk_fill_run(0x9e3779b97f4a7c15ull, "second-stage");
    walk_fill_run(0x2545f4914f6cdd1dull, "first-stage");
    walk_fill_run(0x94d049bb133111ebull, "nested");
}

static void test_psi_targeted_vs_scan(void **state)
{
    (void)state;
    static const unsigned sets[] = {1, 2, 8, 16};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        targeted_run(0x9e3779b97f4a7c15ull + i, sets[i], false);
        targeted_run(0x2545f4914f6cdd1dull + i, sets[i], true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uncached_legacy),
        cmocka_unit_test(test_uncached_scalable),
        cmocka_unit_test(test_uncached_nested),
        cmocka_unit_test(test_nested_unaligned_map_backs_tables),
        cmocka_unit_test(test_nested_cached),
        cmocka_unit_test(test_llc_fraction),
        cmocka_unit_test(test_one_page_one_miss),
        cmocka_unit_test(test_iotlb_reach),
        cmocka_unit_test(test_iotlb_large_pages),
        cmocka_unit_test(test_unmapped_faults),
        cmocka_unit_test(test_psc_levels),
        cmocka_unit_test(test_psc_hit_latency),
        cmocka_unit_test(test_psi_am),
        cmocka_unit_test(test_psi_unaligned_addr),
        cmocka_unit_test(test_psi_huge_mask),
        cmocka_unit_test(test_psi_large_entry),
        cmocka_unit_test(test_ih),
        cmocka_unit_test(test_psi_psc_range),
        cmocka_unit_test(test_psi_psc_domain_scope),
        cmocka_unit_test(test_psi_iotlb_scope),
        cmocka_unit_test(test_submit_split),
        cmocka_unit_test(test_submit_time_per_kind),
        cmocka_unit_test(test_reads_per_level),
        cmocka_unit_test(test_dsi_and_global),
        cmocka_unit_test(test_piotlb),
        cmocka_unit_test(test_devtlb_range),
        cmocka_unit_test(test_context_cache_inval),
        cmocka_unit_test(test_pasid_cache_inval),
        cmocka_unit_test(test_submit_time),
        cmocka_unit_test(test_psi_range),
        cmocka_unit_test(test_pgtable_free_rule),
        cmocka_unit_test(test_pgtable_free_nested_tables),
        cmocka_unit_test(test_pgtable_split_large),
        cmocka_unit_test(test_pgtable_walk_addresses),
        cmocka_unit_test(test_vtd_pt_pages),
        cmocka_unit_test(test_mappings_peak_all_domains),
        cmocka_unit_test(test_psi_qemu_mask8),
        cmocka_unit_test(test_psi_one_set_probes),
        cmocka_unit_test(test_psi_targeted_vs_scan),
        cmocka_unit_test(test_walk_fill_vs_generic),
        cmocka_unit_test(test_front_submits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
