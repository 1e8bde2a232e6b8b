/* test_model_policy.c — each Linux policy issues exactly the invalidation
 * sequence Linux would (MODEL.md §1.3, §1.4, §1.6, §1.7, §1.8).
 *
 * One hand-written trace, device 01:00.0 (SID 0x0100) in domain 6, one CPU:
 *   t=1000  MAP   0xffff9000 4 KB
 *   t=2000  MAP   0xffff6000 8 KB
 *   t=3000  UNMAP 0xffff9000 4 KB
 *   t=4000  UNMAP 0xffff6000 8 KB
 *   t=5000  MAP   0xffff1000 12 KB  (3 pages, not naturally aligned)
 *   t=6000  UNMAP 0xffff1000 12 KB
 * The expected descriptors are written out below by hand from MODEL.md:
 *  - PSI range (calculate_psi_aligned_address, §1.6.2):
 *      4 KB at 0xffff9000: pages=1, mask 0           -> addr 0xffff9000 AM 0
 *      8 KB at 0xffff6000: pages=2, pfn 0xffff6 is 2-aligned -> AM 1
 *      12 KB at 0xffff1000: pages=3 -> 4, pfn 0xffff1 & 3 != 0, end pfn
 *        0xffff3, shared = ~(0xffff1 ^ 0xffff3) & ~3 has lowest set bit 2
 *        -> AM 2, addr = 0xffff1000 aligned down to 16 KB = 0xffff0000
 *  - strict, CM=0 (§1.8 row "unmap"): per unmap one qi_submit_sync with
 *    [IOTLB PSI (IH=0: os.pass_ih false), device-TLB same range] (ATS on,
 *    batch 16); maps issue nothing.
 *  - strict, CM=1, batch 1 (Linux 6.1 in the captures): each map one PSI
 *    (§1.6.4, no devTLB); each unmap two submissions, PSI then devTLB.
 *  - lazy, CM=0: nothing at unmap time; the flush-queue timer, armed by
 *    the first enqueue at t=3000, runs msecs_to_jiffies(10) = 3 jiffies +
 *    1 jiffy slack at HZ=250 = 16 ms later: a record at t >= 3000 +
 *    16,000,000 triggers one submission [IOTLB DSI did 6, devTLB whole
 *    device] (cache_tag_flush_all, §1.6.5).  A queue of 4 entries (3
 *    usable, fq_full) overflows at the 4th unmap: one flush first.
 *  - passthrough: nothing at all.
 *  - first-stage domain (scalable mode, vtd.translation first-stage), CM=1,
 *    batch 1 (Linux 6.1 behind QEMU 10's x-flts): maps issue nothing
 *    (cache_tag_flush_range_np / __mapping_notify_one skip first-stage
 *    domains, §1.6.4); each unmap two submissions, a page-selective-
 *    within-PASID P_IOTLB (did 6, PASID 0 = RID2PASID, same range as the
 *    PSI, IH=1: no unmap here covers a whole 2 MB table, so no table page
 *    is freed, and qi_flush_piotlb passes IH) then the devTLB (§1.6.3).
 *  - lazy, first-stage, CM=1: not forced strict (the CM test of
 *    intel_iommu_init is for second-stage domains); the timer flush is
 *    one PASID-selective P_IOTLB (§1.6.5), plus the whole-device devTLB
 *    unless os.flush_all_devtlb_cm is false (Linux <= 6.9
 *    intel_flush_iotlb_all skips it under CM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "system/services.h"
#include "test_observe.h"

// clang-format off
static const iosim_rec_t base_trace[] = {
    {.kind = IOSIM_REC_MAP, .t = 1000, .iova = 0xffff9000, .size = 4096,
     .aux = 0x1000000, .device = 0x0100, .domain = 6, .flags = 3},
    {.kind = IOSIM_REC_MAP, .t = 2000, .iova = 0xffff6000, .size = 8192,
     .aux = 0x2000000, .device = 0x0100, .domain = 6, .flags = 3},
    {.kind = IOSIM_REC_UNMAP, .t = 3000, .iova = 0xffff9000, .size = 4096,
     .device = 0x0100, .domain = 6},
    {.kind = IOSIM_REC_UNMAP, .t = 4000, .iova = 0xffff6000, .size = 8192,
     .device = 0x0100, .domain = 6},
    {.kind = IOSIM_REC_MAP, .t = 5000, .iova = 0xffff1000, .size = 12288,
     .aux = 0x3000000, .device = 0x0100, .domain = 6, .flags = 3},
    {.kind = IOSIM_REC_UNMAP, .t = 6000, .iova = 0xffff1000, .size = 12288,
     .device = 0x0100, .domain = 6},
};
// clang-format on
#define NBASE (sizeof base_trace / sizeof base_trace[0])

/* expect_desc with IH 0 */
static void expect(const seen_t *s, size_t i, size_t batch, uint8_t type,
                   uint8_t gran, uint64_t addr, uint8_t am)
{
    expect_desc(s, i, batch, type, gran, addr, am, false);
}

static void test_strict_bare_metal(void **state)
{
    (void)state;
    static const char *const sets[] = {"os.policy=strict", "vtd.ats=true",
                                       "vtd.caching_mode=false",
                                       "os.strict_batch=16", NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    sim_run(sim, base_trace, NBASE);
    assert_int_equal(s.batches, 3); /* one per unmap */
    assert_int_equal(s.n, 6);
    expect(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect(&s, 1, 0, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect(&s, 2, 1, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect(&s, 3, 1, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect(&s, 4, 2, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    expect(&s, 5, 2, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    iosim_sim_free(sim);
}

static void test_strict_caching_mode(void **state)
{
    (void)state;
    static const char *const sets[] = {"os.policy=strict", "vtd.ats=true",
                                       "vtd.caching_mode=true",
                                       "os.strict_batch=1", NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    sim_run(sim, base_trace, NBASE);
    /* map, map, unmap(2), unmap(2), map, unmap(2) = 9 submissions */
    assert_int_equal(s.batches, 9);
    assert_int_equal(s.n, 9);
    expect(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect(&s, 1, 1, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect(&s, 2, 2, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect(&s, 3, 3, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect(&s, 4, 4, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect(&s, 5, 5, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect(&s, 6, 6, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    expect(&s, 7, 7, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    expect(&s, 8, 8, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    iosim_sim_free(sim);
}

static void test_lazy_timer(void **state)
{
    (void)state;
    static const char *const sets[] = {"os.policy=lazy", "vtd.ats=true",
                                       "vtd.caching_mode=false", NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    iosim_rec_t r[NBASE + 2];
    memcpy(r, base_trace, sizeof base_trace);
    /* 1 ns before the timer (armed at t=3000, 16 ms): still nothing */
    r[NBASE] = test_map(3000 + 16000000 - 1, 0xfff00000, 4096, 0);
    /* at the deadline: the flush runs before this record */
    r[NBASE + 1] = test_map(3000 + 16000000, 0xffe00000, 4096, 0);
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(sim, r, NBASE + 1, &err), 0);
    assert_int_equal(s.batches, 0); /* lazy: no invalidation at unmap */
    assert_int_equal(iosim_sim_consume(sim, r + NBASE + 1, 1, &err), 0);
    assert_int_equal(s.batches, 1);
    assert_int_equal(s.n, 2);
    expect(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_DOMAIN, 0, 0);
    expect(&s, 1, 0, IOSIM_DESC_DEVTLB, IOSIM_GRAN_GLOBAL, 0, 0);
    assert_int_equal(iosim_sim_finish(sim, &err), 0);
    iosim_sim_free(sim);
}

static void test_lazy_queue_full(void **state)
{
    (void)state;
    /* fq_size 4: 3 usable entries (fq_full: (tail+1) & mask == head) */
    static const char *const sets[] = {"os.policy=lazy", "vtd.ats=false",
                                       "vtd.caching_mode=false", "os.fq_size=4",
                                       NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    iosim_rec_t r[8];
    for (int i = 0; i < 4; i++) {
        r[2 * i] = test_map(1000 + 10 * i, 0xffff0000 - 0x1000 * i, 4096, 0);
        r[2 * i + 1] =
            test_unmap(1005 + 10 * i, 0xffff0000 - 0x1000 * i, 4096, 0);
    }
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(sim, r, 6, &err), 0);
    assert_int_equal(s.batches, 0); /* 3 queued, ring now full */
    assert_int_equal(iosim_sim_consume(sim, r + 6, 2, &err), 0);
    assert_int_equal(s.batches, 1); /* 4th unmap flushed first */
    expect(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_DOMAIN, 0, 0);
    uint64_t v;
    assert_true(iosim_sim_stat_by_name(sim, "os.fq_full_flushes", &v));
    assert_int_equal(v, 1);
    assert_int_equal(iosim_sim_finish(sim, &err), 0);
    iosim_sim_free(sim);
}

static void test_lazy_forced_strict_under_caching_mode(void **state)
{
    (void)state;
    /* intel_iommu_init(): CM + second-stage -> strict (MODEL.md §1.1):
     * the same 9 submissions as test_strict_caching_mode */
    static const char *const sets[] = {"os.policy=lazy", "vtd.ats=true",
                                       "vtd.caching_mode=true",
                                       "os.strict_batch=1", NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    sim_run(sim, base_trace, NBASE);
    assert_int_equal(s.batches, 9);
    expect(&s, 8, 8, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    iosim_sim_free(sim);
}

static void test_strict_first_stage(void **state)
{
    (void)state;
    static const char *const sets[] = {"os.policy=strict",
                                       "vtd.ats=true",
                                       "vtd.caching_mode=true",
                                       "os.strict_batch=1",
                                       "vtd.root_mode=scalable",
                                       "vtd.translation=first-stage",
                                       NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    sim_run(sim, base_trace, NBASE);
    /* unmap(2), unmap(2), unmap(2): the maps issue nothing */
    assert_int_equal(s.batches, 6);
    assert_int_equal(s.n, 6);
    expect_desc(&s, 0, 0, IOSIM_DESC_PIOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 1);
    expect(&s, 1, 1, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0);
    expect_desc(&s, 2, 2, IOSIM_DESC_PIOTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1, 1);
    expect(&s, 3, 3, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff6000, 1);
    expect_desc(&s, 4, 4, IOSIM_DESC_PIOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 1);
    expect(&s, 5, 5, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2);
    iosim_sim_free(sim);
}

static void lazy_first_stage(bool devtlb_cm)
{
    const char *const sets[] = {"os.policy=lazy",
                                "vtd.ats=true",
                                "vtd.caching_mode=true",
                                "vtd.root_mode=scalable",
                                "vtd.translation=first-stage",
                                devtlb_cm ? "os.flush_all_devtlb_cm=true"
                                          : "os.flush_all_devtlb_cm=false",
                                NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    iosim_rec_t r[NBASE + 1];
    memcpy(r, base_trace, sizeof base_trace);
    r[NBASE] = test_map(3000 + 16000000, 0xffe00000, 4096, 0);
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(sim, r, NBASE, &err), 0);
    assert_int_equal(s.batches, 0); /* lazy, not forced strict by CM */
    assert_int_equal(iosim_sim_consume(sim, r + NBASE, 1, &err), 0);
    assert_int_equal(s.batches, 1);
    assert_int_equal(s.n, devtlb_cm ? 2 : 1);
    expect(&s, 0, 0, IOSIM_DESC_PIOTLB, IOSIM_GRAN_DOMAIN, 0, 0);
    if (devtlb_cm)
        expect(&s, 1, 0, IOSIM_DESC_DEVTLB, IOSIM_GRAN_GLOBAL, 0, 0);
    assert_int_equal(iosim_sim_finish(sim, &err), 0);
    iosim_sim_free(sim);
}

static void test_lazy_first_stage(void **state)
{
    (void)state;
    lazy_first_stage(false); /* Linux 6.1, as in the capture */
    lazy_first_stage(true);  /* Linux >= 6.10 cache_tag_flush_all */
}

static void test_passthrough(void **state)
{
    (void)state;
    static const char *const sets[] = {"os.policy=passthrough", NULL};
    seen_t s;
    iosim_sim_t *sim = observed_sim(sets, NULL, &s);
    sim_run(sim, base_trace, NBASE);
    assert_int_equal(s.batches, 0);
    uint64_t v;
    assert_true(iosim_sim_stat_by_name(sim, "pt.mappings_peak", &v));
    assert_int_equal(v, 0); /* identity domain: no page table at all */
    iosim_sim_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_bare_metal),
        cmocka_unit_test(test_strict_caching_mode),
        cmocka_unit_test(test_lazy_timer),
        cmocka_unit_test(test_lazy_queue_full),
        cmocka_unit_test(test_lazy_forced_strict_under_caching_mode),
        cmocka_unit_test(test_strict_first_stage),
        cmocka_unit_test(test_lazy_first_stage),
        cmocka_unit_test(test_passthrough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
