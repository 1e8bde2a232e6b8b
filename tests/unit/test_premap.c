/* test_premap.c — sim_premap (sim/system/sim.c): the leaf size a buffer
 * mapped before the trace gets when a device access finds it unmapped.
 *
 * sim_premap maps the run of unmapped pages of one access with one map
 * through the OS policy (as the driver's one dma_map was), physical
 * address SIM_PREMAP_PHYS_BASE | the trace IOVA (page for page), and
 * vtd_map lets pgtable_map put a 2 MB or 1 GB leaf wherever the IOVA and
 * the physical address are both aligned and the rest of the range covers
 * it.  That is what Linux does for one dma_map_* of a physically
 * contiguous, aligned buffer:
 *   - The IOVA: dma-iommu.c __iommu_dma_map -> iommu_dma_alloc_iova ->
 *     iova.c alloc_iova_fast -> alloc_iova(.., size_aligned = true) ->
 *     __alloc_and_insert_iova_range: align_mask <<= fls_long(size - 1),
 *     so 512 pages get a 2 MB-aligned IOVA, 262144 pages a 1 GB-aligned
 *     one (roundup_pow_of_two only below 32 pages; no alignment cap
 *     without CONFIG_IOMMU_LIMIT_IOVA_ALIGNMENT, which mainline x86
 *     configs do not have).  The model's allocator does the same
 *     (sim/os/iova.c, "__alloc_and_insert_iova_range(size, limit_pfn)
 *     with size_aligned").  Under os.iova_mode=replay the IOVA is the
 *     trace's, which Linux allocated that way.
 *   - The leaf: iommu.c __iommu_map -> iommu_pgsize picks the largest
 *     size of domain->pgsize_bitmap that iova | paddr and the size allow;
 *     intel/iommu.c paging_domain_alloc sets pgsize_bitmap = SZ_4K |
 *     domain_super_pgsize_bitmap (SZ_2M for iommu_superpage 1, SZ_2M |
 *     SZ_1G for 2), iommu_superpage = iommu_superpage_capability():
 *     first stage cap_fl1gp_support ? 2 : 1, second stage
 *     fls(cap_super_page_val) (SLLPS), 0 under intel_iommu=sp_off; and
 *     __domain_mapping -> hardware_largepage_caps() takes a level up for
 *     every 9 bits that iov_pfn | phy_pfn has clear while pages remain.
 *     A current Xeon reports 2 MB and 1 GB in both (SLLPS, FL1GP), so
 *     does QEMU's vIOMMU (hw/i386/intel_iommu_internal.h VTD_CAP_SLLPS =
 *     bits 34 and 35), and the VT-d model has no knob that turns
 *     superpages off (vtd_map passes large_ok): the model is
 *     iommu_superpage = 2.
 * So a 2 MB-aligned pre-trace run of 2 MB is one 2 MB leaf (its 512 page
 * lookups: one IOTLB miss, one 2 MB entry), shifted by 4 KB it is 512
 * 4 KB leaves (512 misses), and a 1 GB-aligned 1 GB run one 1 GB leaf.
 * Under reallocate the IOVA is the allocator's (aligned as above) and the
 * physical address the trace IOVA's, so the trace IOVA's alignment
 * decides there too.  The plain path (the trace mapping the same range
 * itself) gives the same counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/dev.h"
#include "test_util.h"

#define MB2 (2ull << 20)
#define GB1 (1ull << 30)

typedef struct counts {
    uint64_t lookups, misses, faults;
} counts_t;

/* One device read of size bytes at iova, nothing mapped before: the
 * sim premaps the run (trace MARK first, so the sim has a time). */
static counts_t premapped(const char *mode, uint64_t iova, uint64_t size)
{
    char m[64];
    snprintf(m, sizeof m, "os.iova_mode=%s", mode);
    const char *const sets[] = {"sim.window_only=false", m, NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_rec_t mark = test_mark(1, 0);
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(s, &mark, 1, &err), 0);
    dev_access(s, &mark, iova, size, false);
    counts_t c = {test_stat(s, "iotlb.lookups"), test_stat(s, "iotlb.misses"),
                  test_stat(s, "dma.faults")};
    assert_int_equal(iosim_sim_finish(s, &err), 0);
    iosim_sim_free(s);
    return c;
}

/* The plain path: the trace maps [iova, iova+size) itself, physical
 * address SIM_PREMAP_PHYS_BASE | iova as sim_premap gives, then one DMA
 * record reads it all. */
static counts_t traced(const char *mode, uint64_t iova, uint64_t size)
{
    char m[64];
    snprintf(m, sizeof m, "os.iova_mode=%s", mode);
    const char *const sets[] = {"sim.window_only=false", m, "dev.model=none",
                                NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_rec_t r[2];
    r[0] = test_map(1, iova, size, 0);
    r[0].aux = (1ull << 44) | iova;
    r[1] = test_rec(IOSIM_REC_DMA, 2, iova, size, 0);
    r[1].flags = IOSIM_DMA_READ;
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(s, r, 2, &err), 0);
    counts_t c = {test_stat(s, "iotlb.lookups"), test_stat(s, "iotlb.misses"),
                  test_stat(s, "dma.faults")};
    assert_int_equal(iosim_sim_finish(s, &err), 0);
    iosim_sim_free(s);
    return c;
}

static void expect(counts_t c, uint64_t lookups, uint64_t misses)
{
    assert_int_equal(c.lookups, lookups);
    assert_int_equal(c.misses, misses);
    assert_int_equal(c.faults, 0);
}

static void test_premap_2m_leaf(void **state)
{
    (void)state;
    static const char *const modes[] = {"replay", "reallocate"};
    for (size_t i = 0; i < 2; i++) {
        /* 2 MB-aligned: one 2 MB leaf, 512 lookups, 1 miss */
        expect(premapped(modes[i], 0x40000000, MB2), 512, 1);
        expect(traced(modes[i], 0x40000000, MB2), 512, 1);
        /* 4 KB off: 4 KB leaves only (no 2 MB of the run is aligned) */
        expect(premapped(modes[i], 0x40001000, MB2), 512, 512);
        expect(traced(modes[i], 0x40001000, MB2), 512, 512);
        /* 4 MB from 1 MB past an aligned boundary.  replay: 1 MB of 4 KB
         * leaves, one 2 MB leaf, 1 MB of 4 KB leaves = 256 + 1 + 256
         * misses.  reallocate: the allocator's IOVA is 4 MB-aligned
         * (1024 pages), the physical address 1 MB off: iova | phys is
         * never 2 MB-aligned, 1024 4 KB leaves (as Linux, whose IOVA
         * keeps only the offset in the 4 KB granule, iova_offset) */
        uint64_t want = i == 0 ? 513 : 1024;
        expect(premapped(modes[i], 0x40100000, 2 * MB2), 1024, want);
        expect(traced(modes[i], 0x40100000, 2 * MB2), 1024, want);
    }
}

static void test_premap_1g_leaf(void **state)
{
    (void)state;
    /* 1 GB-aligned 1 GB: one 1 GB leaf (iommu_superpage 2) */
    expect(premapped("replay", 4 * GB1, GB1), GB1 >> 12, 1);
    expect(premapped("reallocate", 4 * GB1, GB1), GB1 >> 12, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_premap_2m_leaf),
        cmocka_unit_test(test_premap_1g_leaf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
