/* test_iova.c — the Linux IOVA allocator model (sim/os/iova.c).
 *
 * Concepts: every expected value is derived by hand from the algorithm
 *   in MODEL.md §1.5 (drivers/iommu/iova.c, dma-iommu.c), in the comment
 *   next to it; nothing is pasted from the program's output.
 * Assumptions: 4 KiB granule, start_pfn 1, dma_32bit_pfn 0x100000, a
 *   4-level (48-bit) domain: DMA limit pfn 2^36 - 1.
 * Not modeled: the reserved MSI window (iova_remap adds it; these tests
 *   use bare domains).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <string.h>

#include "os/iova.h"
#include "system/services.h"
#include "test_util.h"

#define LIMIT48 ((1ull << 36) - 1) /* (2^48 - 1) >> 12 */

static uint64_t alloc1(iova_domain_t *d, unsigned cpu, uint64_t pages,
                       bool *hit)
{
    return iova_dma_alloc(d, cpu, pages, LIMIT48, true, hit);
}

/* First allocations of a PCI device: below 4 GiB, top-down.  The first
 * search starts at the anchor: high = limit_pfn = 0x100000, new =
 * (0x100000 - 1) = 0xFFFFF -> IOVA 0xFFFFF000; each next one starts at the
 * cached32 node just inserted: 0xFFFFE, 0xFFFFD. */
static void test_top_down_below_4g(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    bool hit = true;
    assert_int_equal(alloc1(d, 0, 1, &hit) << 12, 0xFFFFF000ull);
    assert_false(hit);
    assert_int_equal(alloc1(d, 0, 1, &hit) << 12, 0xFFFFE000ull);
    assert_int_equal(alloc1(d, 0, 1, &hit) << 12, 0xFFFFD000ull);
    /* 2 pages: align_mask = ~0 << fls(1) = ~1; high = 0xFFFFD, new =
     * (0xFFFFD - 2) & ~1 = 0xFFFFA -> 0xFFFFA000, a multiple of 8 KB. */
    uint64_t two = alloc1(d, 0, 2, &hit) << 12;
    assert_int_equal(two, 0xFFFFA000ull);
    assert_int_equal(two % 0x2000, 0);
    /* 3 pages round up to 4 (size < 32): mask ~3; high = 0xFFFFA, new =
     * (0xFFFFA - 4) & ~3 = 0xFFFF4; the slot spans 0xFFFF4..0xFFFF7. */
    uint64_t three = alloc1(d, 0, 3, &hit);
    assert_int_equal(three, 0xFFFF4ull);
    assert_int_equal((three << 12) % 0x4000, 0);
    assert_true(iova_is_allocated(d, 0xFFFF7)); /* 4th page reserved */
    assert_false(iova_is_allocated(d, 0xFFFF3));
    assert_false(iova_is_allocated(d, 0xFFFF8)); /* gap left by alignment */
    assert_int_equal(iova_live_ranges(d), 5);
    iova_domain_free(d);
}

/* rcache: freed IOVAs go to the freeing CPU's loaded magazine; a pop takes
 * the most recent one (LIFO).  Free A then B -> next alloc is B, then A;
 * the third goes to the tree below the lowest range (0xFFFFD - 1). */
static void test_rcache_lifo(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    bool hit;
    uint64_t a = alloc1(d, 0, 1, &hit); /* 0xFFFFF */
    uint64_t b = alloc1(d, 0, 1, &hit); /* 0xFFFFE */
    uint64_t c = alloc1(d, 0, 1, &hit); /* 0xFFFFD */
    iova_free_fast(d, 0, a, 1);
    iova_free_fast(d, 0, b, 1);
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 2);
    assert_true(iova_is_allocated(d, a)); /* cached pfns stay in the tree */
    assert_int_equal(alloc1(d, 0, 1, &hit), b);
    assert_true(hit);
    assert_int_equal(alloc1(d, 0, 1, &hit), a);
    assert_true(hit);
    assert_int_equal(alloc1(d, 0, 1, &hit), c - 1);
    assert_false(hit);
    /* per-CPU: a pfn freed on CPU 1 is not seen by CPU 0 */
    iova_free_fast(d, 1, c, 1);
    assert_int_equal(alloc1(d, 0, 1, &hit), c - 2);
    assert_false(hit);
    assert_int_equal(alloc1(d, 1, 1, &hit), c);
    assert_true(hit);
    /* size classes: a 1-page pfn does not serve a 2-page request */
    iova_free_fast(d, 0, a, 1);
    assert_false(alloc1(d, 0, 2, &hit) == a);
    assert_false(hit);
    iova_domain_free(d);
}

/* alloc_iova_fast() when the tree is full: with flush_rcache it empties
 * every CPU's magazines and the depot back into the tree and retries once
 * (free_cpu_cached_iovas, free_global_cached_iovas).  limit_pfn 8: eight
 * 1-page allocations take pfns 8 down to 1.  Freeing 7 and 6 parks them
 * in CPU 0's magazine, still allocated in the tree, so a 2-page request
 * (naturally aligned: an even pfn) finds no slot; without flush_rcache it
 * fails.  With it, 6 and 7 leave the tree (cached32 moves above them and
 * max32_alloc_size is reset by the frees) and the retry's first slot from
 * the top, (8 - 2) & ~1 = 6 below pfn 8, is free: pfn 6. */
static void test_flush_rcache_retry(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    bool hit;
    for (uint64_t want = 8; want >= 1; want--)
        assert_int_equal(iova_alloc_fast(d, 0, 1, 8, true, &hit), want);
    iova_free_fast(d, 0, 7, 1);
    iova_free_fast(d, 0, 6, 1);
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 2);
    assert_int_equal(iova_alloc_fast(d, 0, 2, 8, false, &hit), 0);
    assert_int_equal(iova_alloc_fast(d, 0, 2, 8, true, &hit), 6);
    assert_false(hit);
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 0);
    assert_true(iova_is_allocated(d, 7));
    iova_domain_free(d);
}

/* Magazines of 127: frees 1..127 fill loaded; free 128 finds loaded full
 * and prev empty, swaps (loaded 1, prev 127); frees up to 254 fill it;
 * free 255 finds both full and pushes loaded to the depot (depot 1,
 * loaded 1, prev 127). */
static void test_magazine_and_depot(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    iova_set_online_cpus(d, 1);
    enum { N = 382 }; /* 255 + 127: enough for a second depot magazine */
    uint64_t pfn[N];
    bool hit;
    for (int i = 0; i < N; i++)
        pfn[i] = alloc1(d, 0, 1, &hit);
    assert_int_equal(pfn[N - 1], 0xFFFFFull - (N - 1)); /* contiguous */
    for (int i = 0; i < 127; i++)
        iova_free_fast(d, 0, pfn[i], 1);
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 127);
    assert_int_equal(iova_cpu_prev(d, 0, 0), 0);
    iova_free_fast(d, 0, pfn[127], 1); /* 128th */
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 1);
    assert_int_equal(iova_cpu_prev(d, 0, 0), 127);
    assert_int_equal(iova_depot_size(d, 0), 0);
    for (int i = 128; i < 254; i++)
        iova_free_fast(d, 0, pfn[i], 1);
    assert_int_equal(iova_depot_size(d, 0), 0); /* 254 fit in 2 mags */
    iova_free_fast(d, 0, pfn[254], 1);          /* 255th */
    assert_int_equal(iova_depot_size(d, 0), 1);
    assert_int_equal(iova_cpu_loaded(d, 0, 0), 1);
    assert_int_equal(iova_cpu_prev(d, 0, 0), 127);
    /* 127 more: loaded 1 -> 127 after 126, the last one pushes again */
    for (int i = 255; i < N; i++)
        iova_free_fast(d, 0, pfn[i], 1);
    assert_int_equal(iova_depot_size(d, 0), 2);
    assert_int_equal(iova_live_ranges(d), N); /* all still in the tree */
    /* Depot work, scheduled 100 ms after the first push (time 0): depot 2
     * > 1 online CPU -> one magazine (127 pfns) returns to the tree; it
     * re-arms for 200 ms, when 1 > 1 is false and it stops. */
    iova_tick(d, 99999999ull);
    assert_int_equal(iova_depot_size(d, 0), 2);
    iova_tick(d, 100000000ull);
    assert_int_equal(iova_depot_size(d, 0), 1);
    assert_int_equal(iova_live_ranges(d), N - 127);
    iova_tick(d, 1000000000ull);
    assert_int_equal(iova_depot_size(d, 0), 1);
    /* Allocation drains loaded (1), then prev (127) by swapping, then
     * replaces loaded with the depot magazine: 129 rcache hits; the first
     * is the last pfn freed (LIFO). */
    assert_int_equal(alloc1(d, 0, 1, &hit), pfn[N - 1]);
    assert_true(hit);
    for (int i = 1; i < 129; i++) {
        alloc1(d, 0, 1, &hit);
        assert_true(hit);
    }
    assert_int_equal(iova_depot_size(d, 0), 0);
    iova_domain_free(d);
}

/* Sizes above 32 pages are never cached (order_base_2 >= 6).  64 pages on
 * an empty domain: mask ~63, new = (0x100000 - 64) & ~63 = 0xFFFC0.  Its
 * free goes straight to the tree, so the same slot is found again. 33
 * pages: not rounded (33 >= 32), mask ~0 << fls(32) = ~63: new =
 * (0x100000 - 33) & ~63 = 0xFFFC0 as well.  32 pages are cached. */
static void test_large_bypass_rcache(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    bool hit;
    uint64_t p = alloc1(d, 0, 64, &hit);
    assert_int_equal(p, 0xFFFC0ull);
    iova_free_fast(d, 0, p, 64);
    assert_false(iova_is_allocated(d, p));
    assert_int_equal(iova_live_ranges(d), 0);
    assert_int_equal(alloc1(d, 0, 64, &hit), 0xFFFC0ull);
    assert_false(hit);
    iova_free_fast(d, 0, 0xFFFC0, 64);
    uint64_t q = alloc1(d, 0, 33, &hit);
    assert_int_equal(q, 0xFFFC0ull);
    assert_true(iova_is_allocated(d, 0xFFFC0 + 32));
    assert_false(iova_is_allocated(d, 0xFFFC0 + 33));
    iova_free_fast(d, 0, q, 33);
    assert_false(iova_is_allocated(d, q));
    /* 32 pages: class 5, cached on free */
    uint64_t r = alloc1(d, 0, 32, &hit);
    assert_int_equal(r, 0xFFFE0ull); /* (0x100000 - 32) & ~31 */
    iova_free_fast(d, 0, r, 32);
    assert_true(iova_is_allocated(d, r));
    assert_int_equal(iova_cpu_loaded(d, 0, 5), 1);
    assert_int_equal(alloc1(d, 0, 32, &hit), r);
    assert_true(hit);
    iova_domain_free(d);
}

/* The 32-bit space runs out: 2^19 pages (2 GiB, mask ~0 << 19) fit once at
 * (0x100000 - 0x80000) = 0x80000; the second try finds new = 0 < start_pfn
 * in both passes and fails, so iommu_dma_alloc_iova drops the PCI 32-bit
 * workaround for good and allocates below the 48-bit limit: cached_node is
 * the anchor, new = (2^36 - 2^19) & ~(2^19 - 1) = 2^36 - 2^19.  The next
 * 1-page request goes straight to 64-bit space, just below it. */
static void test_dac_fallback(void **st)
{
    (void)st;
    iova_domain_t *d = iova_domain_new();
    bool hit;
    uint64_t big = 1ull << 19;
    assert_int_equal(alloc1(d, 0, big, &hit), 0x80000ull);
    uint64_t hi = alloc1(d, 0, big, &hit);
    assert_int_equal(hi, (1ull << 36) - big);
    assert_int_equal(hi << 12, 0xFFFF80000000ull);
    assert_int_equal(alloc1(d, 0, 1, &hit), hi - 1);
    iova_domain_free(d);
}

/* The trace -> model map: range lookup of interior addresses, overlap. */
static void test_xmap(void **st)
{
    (void)st;
    iova_xmap_t *m = iova_xmap_new();
    iova_xent_t *e = iova_xmap_insert(m, 3, 0x10000, 0x3000);
    e->model_iova = 0xFFFFD000;
    assert_non_null(iova_xmap_insert(m, 3, 0x20000, 0x1000));
    assert_non_null(iova_xmap_insert(m, 4, 0x10000, 0x1000));
    assert_ptr_equal(iova_xmap_find(m, 3, 0x12fff), e);
    assert_null(iova_xmap_find(m, 3, 0x13000));
    assert_null(iova_xmap_find(m, 5, 0x10000));
    assert_ptr_equal(iova_xmap_overlap(m, 3, 0x0, 0x10001), e);
    assert_null(iova_xmap_overlap(m, 3, 0x13000, 0x20000));
    assert_int_equal(iova_xmap_count(m), 3);
    iova_xmap_remove(m, e);
    assert_null(iova_xmap_find(m, 3, 0x10000));
    assert_int_equal(iova_xmap_count(m), 2);
    iova_xmap_free(m);
}

/* The DMA API's aperture (iova_remap's limit pfn) is __DOMAIN_MAX_ADDR of
 * the table it maps into: 12 + 9 bits per level, one bit less for a
 * first-stage table (canonical input addresses, MODEL.md §3.2;
 * drivers/iommu/intel/iommu.c): second-stage 4 levels 2^48, first-stage
 * 4 levels 2^47, 5 levels 2^56; a nested guest maps into its first stage. */
static uint64_t aperture_pfn(const char *const *sets)
{
    iosim_err_t err = {0};
    iosim_sim_t *s = sim_from_sets(sets);
    iova_remap_t *m = iova_remap_new(s, &err);
    assert_non_null(m);
    uint64_t pfn = iova_remap_limit_pfn(m);
    iova_remap_free(m);
    iosim_sim_free(s);
    return pfn;
}

static void test_remap_aperture(void **st)
{
    (void)st;
    const char *ss4[] = {"vtd.translation=second-stage", "vtd.ss_levels=4",
                         NULL};
    const char *ss3[] = {"vtd.translation=second-stage", "vtd.ss_levels=3",
                         NULL};
    const char *fs4[] = {"vtd.root_mode=scalable",
                         "vtd.translation=first-stage", "vtd.fs_levels=4",
                         NULL};
    const char *fs5[] = {"vtd.root_mode=scalable",
                         "vtd.translation=first-stage", "vtd.fs_levels=5",
                         NULL};
    const char *nest[] = {"vtd.root_mode=scalable", "vtd.translation=nested",
                          "hv.mode=nested", "vtd.fs_levels=4", NULL};
    assert_int_equal(aperture_pfn(ss4), (1ull << 36) - 1); /* 48 bits */
    assert_int_equal(aperture_pfn(ss3), (1ull << 27) - 1); /* 39 bits */
    assert_int_equal(aperture_pfn(fs4), (1ull << 35) - 1); /* 47 bits */
    assert_int_equal(aperture_pfn(fs5), (1ull << 44) - 1); /* 56 bits */
    assert_int_equal(aperture_pfn(nest), (1ull << 35) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_down_below_4g),
        cmocka_unit_test(test_rcache_lifo),
        cmocka_unit_test(test_flush_rcache_retry),
        cmocka_unit_test(test_magazine_and_depot),
        cmocka_unit_test(test_large_bypass_rcache),
        cmocka_unit_test(test_dac_fallback),
        cmocka_unit_test(test_xmap),
        cmocka_unit_test(test_remap_aperture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
