/* test_model_kernel.c — os.kernel: the invalidations Linux 6.1 and 6.12
 * issue for the same maps and unmaps (sim/os/os_kernel.c).
 *
 * One hand-written trace, device 01:00.0 (SID 0x0100) in domain 6, one
 * CPU, caching mode on (a guest behind QEMU), ATS on, strict:
 *   t=1000  MAP   0xffff9000 4 KB
 *   t=2000  UNMAP 0xffff9000 4 KB
 *   t=3000  MAP   0xffff1000 12 KB (3 pages: PSI at 0xffff0000 AM 2,
 *                                   test_model_policy.c derives it)
 *   t=4000  UNMAP 0xffff1000 12 KB
 * Expected, written out by hand from the kernels' code:
 *  - 6.1 (the trace says "6.1.0-56-amd64", os.kernel auto):
 *    a map: intel_iommu_iotlb_sync_map -> __mapping_notify_one ->
 *      iommu_flush_iotlb_psi(.., ih 0, map 1): qi_flush_iotlb = 1 PSI in 1
 *      qi_submit_sync; no devTLB (caching mode and map = 1);
 *    an unmap: intel_iommu_tlb_sync -> iommu_flush_iotlb_psi(.., map 0):
 *      qi_flush_iotlb = 1 PSI, 1 submission; then iommu_flush_dev_iotlb ->
 *      qi_flush_dev_iotlb = 1 devTLB, 1 more submission.
 *    Per map + unmap: 3 descriptors (2 IOTLB, 1 devTLB), 3 submissions;
 *    the trace: 6 descriptors (4 + 2), 6 submissions.  IH never set
 *    (qi_flush_iotlb builds the descriptor with ih = 0).
 *  - 6.12 ("6.12.9+bpo-amd64"): a map: cache_tag_flush_range_np -> the
 *      IOTLB tag's PSI in domain->qi_batch, qi_batch_flush_descs: 1
 *      descriptor, 1 submission;
 *    an unmap: cache_tag_flush_range -> IOTLB tag PSI, then DEVTLB tag
 *      devTLB, both in the batch, one qi_batch_flush_descs: 2 descriptors,
 *      1 submission.
 *    Per map + unmap: 3 descriptors, 2 submissions; the trace: 6
 *    descriptors (4 + 2), 4 submissions.  IH: 6.12.9's qi_desc_iotlb
 *    hard-codes ih = 0; 6.12.63 decodes it, and no unmap here frees a
 *    page-table page (none covers a whole 2 MB table), so both unmap PSIs
 *    carry IH = 1 there.
 *  - A flush of everything (lazy, first-stage domain, caching mode: not
 *    forced strict), the timer 16 ms after the first unmap:
 *    6.1 intel_flush_iotlb_all: qi_flush_piotlb(.., -1) PASID-selective,
 *      1 submission; the devTLB skipped under caching mode;
 *    6.12 cache_tag_flush_all: P_IOTLB (npages -1) and the whole-device
 *      devTLB in one batch: 2 descriptors, 1 submission.
 *  - Bare metal (caching mode off), lazy second-stage: 6.1 a DSI and the
 *    devTLB, 2 submissions; 6.12 both in 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "os/os.h"
#include "system/services.h"
#include "test_observe.h"

// clang-format off
static const iosim_rec_t strict_trace[] = {
    {.kind = IOSIM_REC_MAP, .t = 1000, .iova = 0xffff9000, .size = 4096,
     .aux = 0x1000000, .device = 0x0100, .domain = 6, .flags = 3},
    {.kind = IOSIM_REC_UNMAP, .t = 2000, .iova = 0xffff9000, .size = 4096,
     .device = 0x0100, .domain = 6},
    {.kind = IOSIM_REC_MAP, .t = 3000, .iova = 0xffff1000, .size = 12288,
     .aux = 0x3000000, .device = 0x0100, .domain = 6, .flags = 3},
    {.kind = IOSIM_REC_UNMAP, .t = 4000, .iova = 0xffff1000, .size = 12288,
     .device = 0x0100, .domain = 6},
};
// clang-format on
#define NSTRICT (sizeof strict_trace / sizeof strict_trace[0])

/* A sim of the settings, fed a trace whose metadata names kernel. */
static iosim_sim_t *make(const char *kernel, const char *const *sets,
                         seen_t *seen)
{
    iosim_trace_meta_t meta = {0};
    snprintf(meta.kernel, sizeof meta.kernel, "%s", kernel);
    return observed_sim(sets, &meta, seen);
}

static const char *const strict_cm[] = {"os.policy=strict", "vtd.ats=true",
                                        "vtd.caching_mode=true", NULL};

static void test_strict_cm_61(void **state)
{
    (void)state;
    seen_t s;
    iosim_sim_t *sim = make("6.1.0-56-amd64", strict_cm, &s);
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.n, 6);
    assert_int_equal(s.batches, 6);
    assert_int_equal(test_stat(sim, "os.inval_submits"), 6);
    assert_int_equal(test_stat(sim, "os.inval_iotlb"), 4);
    assert_int_equal(test_stat(sim, "os.inval_devtlb"), 2);
    expect_desc(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 0);
    expect_desc(&s, 1, 1, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 0);
    expect_desc(&s, 2, 2, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 0);
    expect_desc(&s, 3, 3, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 0);
    expect_desc(&s, 4, 4, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 0);
    expect_desc(&s, 5, 5, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 0);
    /* the sim's config says what ran */
    const iosim_config_t *c = iosim_sim_config(sim);
    assert_string_equal(c->os.kernel, "6.1");
    assert_string_equal(c->os.strict_batch_set, "1");
    assert_string_equal(c->os.pass_ih_set, "false");
    assert_string_equal(c->os.flush_all_devtlb_cm_set, "false");
    iosim_sim_free(sim);
}

static void strict_cm_612(const char *kernel, bool ih)
{
    seen_t s;
    iosim_sim_t *sim = make(kernel, strict_cm, &s);
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.n, 6);
    assert_int_equal(s.batches, 4);
    assert_int_equal(test_stat(sim, "os.inval_submits"), 4);
    assert_int_equal(test_stat(sim, "os.inval_iotlb"), 4);
    assert_int_equal(test_stat(sim, "os.inval_devtlb"), 2);
    expect_desc(&s, 0, 0, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 0);
    expect_desc(&s, 1, 1, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, ih);
    expect_desc(&s, 2, 1, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff9000, 0, 0);
    expect_desc(&s, 3, 2, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 0);
    expect_desc(&s, 4, 3, IOSIM_DESC_IOTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, ih);
    expect_desc(&s, 5, 3, IOSIM_DESC_DEVTLB, IOSIM_GRAN_PAGE, 0xffff0000, 2, 0);
    const iosim_config_t *c = iosim_sim_config(sim);
    assert_string_equal(c->os.kernel, "6.12");
    assert_string_equal(c->os.strict_batch_set, "16");
    assert_string_equal(c->os.pass_ih_set, ih ? "true" : "false");
    iosim_sim_free(sim);
}

static void test_strict_cm_612(void **state)
{
    (void)state;
    strict_cm_612("6.12.9+bpo-amd64", false);
}

static void test_strict_cm_612_ih(void **state)
{
    (void)state;
    strict_cm_612("6.12.62+deb13-amd64", false); /* the last without it */
    strict_cm_612("6.12.63+deb13-amd64", true);
    strict_cm_612("6.12.95", true);
}

/* An explicit os.kernel beats the trace's; a setting given explicitly
 * beats the kernel's; without a 6.1 or 6.12 kernel in the trace,
 * os.kernel_default. */
static void test_explicit_wins(void **state)
{
    (void)state;
    seen_t s;
    const char *const k61[] = {"os.policy=strict", "vtd.ats=true",
                               "vtd.caching_mode=true", "os.kernel=6.1", NULL};
    iosim_sim_t *sim = make("6.12.9+bpo-amd64", k61, &s);
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 6);
    iosim_sim_free(sim);

    const char *const k612b1[] = {"os.policy=strict",      "vtd.ats=true",
                                  "vtd.caching_mode=true", "os.kernel=6.12",
                                  "os.strict_batch=1",     NULL};
    sim = make("6.1.0-56-amd64", k612b1, &s);
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 6);
    assert_string_equal(iosim_sim_config(sim)->os.kernel, "6.12");
    iosim_sim_free(sim);

    const char *const def61[] = {"os.policy=strict", "vtd.ats=true",
                                 "vtd.caching_mode=true",
                                 "os.kernel_default=6.1", NULL};
    sim = make("", def61, &s);
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 6);
    iosim_sim_free(sim);
    sim = make("5.15.0-100-generic", def61, &s); /* another series */
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 6);
    iosim_sim_free(sim);
    sim = make("6.1.0-56-amd64", strict_cm, &s); /* default 6.12 unused */
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 6);
    iosim_sim_free(sim);
    sim = make("", strict_cm, &s); /* default 6.12 */
    sim_run(sim, strict_trace, NSTRICT);
    assert_int_equal(s.batches, 4);
    iosim_sim_free(sim);
}

static void test_bad_strict_batch(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, "os.strict_batch=0", &err), 0);
    assert_null(iosim_sim_new(c, "t", NULL, &err));
    assert_string_equal(err.key, "os.strict_batch");
    assert_non_null(strstr(err.msg, "neither kernel nor a count 1..254"));
    assert_int_equal(iosim_config_set(c, "os.strict_batch=8", &err), 0);
    iosim_sim_t *s = iosim_sim_new(c, "t", NULL, &err);
    assert_non_null(s);
    assert_int_equal(iosim_sim_config(s)->os.strict_batch, 8);
    iosim_sim_free(s);
    assert_int_not_equal(iosim_config_set(c, "os.kernel=6.8", &err), 0);
    assert_non_null(
        strstr(err.msg, "expected one of auto|6.1|6.12, got '6.8'"));
    iosim_config_free(c);
}

/* The timer flush of a lazy domain, 16 ms after the first unmap (3 + 1
 * jiffies at HZ=250, test_model_policy.c): the trace's maps and unmaps,
 * then a map at the deadline. */
static void lazy_flush(const char *kernel, const char *const *sets,
                       size_t want_batches, size_t want_descs, bool devtlb)
{
    seen_t s;
    iosim_sim_t *sim = make(kernel, sets, &s);
    iosim_rec_t r[NSTRICT + 1];
    memcpy(r, strict_trace, sizeof strict_trace);
    r[NSTRICT] = (iosim_rec_t){.kind = IOSIM_REC_MAP,
                               .t = 2000 + 16000000,
                               .iova = 0xffe00000,
                               .size = 4096,
                               .aux = 0x5000000,
                               .device = 0x0100,
                               .domain = 6,
                               .flags = 3};
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(sim, r, NSTRICT, &err), 0);
    assert_int_equal(s.batches, 0);
    assert_int_equal(iosim_sim_consume(sim, r + NSTRICT, 1, &err), 0);
    assert_int_equal(s.batches, want_batches);
    assert_int_equal(s.n, want_descs);
    assert_int_equal(s.d[0].gran, IOSIM_GRAN_DOMAIN);
    if (devtlb) {
        assert_int_equal(s.d[want_descs - 1].type, IOSIM_DESC_DEVTLB);
        assert_int_equal(s.d[want_descs - 1].gran, IOSIM_GRAN_GLOBAL);
    }
    assert_int_equal(iosim_sim_finish(sim, &err), 0);
    iosim_sim_free(sim);
}

static void test_lazy_flush_all(void **state)
{
    (void)state;
    const char *const fs_cm[] = {"os.policy=lazy",
                                 "vtd.ats=true",
                                 "vtd.caching_mode=true",
                                 "vtd.root_mode=scalable",
                                 "vtd.translation=first-stage",
                                 NULL};
    lazy_flush("6.1.0-56-amd64", fs_cm, 1, 1, false);
    lazy_flush("6.12.9+bpo-amd64", fs_cm, 1, 2, true);
    const char *const bare[] = {"os.policy=lazy", "vtd.ats=true",
                                "vtd.caching_mode=false", NULL};
    lazy_flush("6.1.0-56-amd64", bare, 2, 2, true);
    lazy_flush("6.12.9+bpo-amd64", bare, 1, 2, true);
}

/* Resolving twice changes nothing (the report's echo is resolved by the
 * program, each sim by itself). */
static void test_resolve_idempotent(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    iosim_trace_meta_t meta = {.kernel = "6.12.70"};
    assert_int_equal(os_kernel_resolve(c, &meta, &err), 0);
    assert_string_equal(c->os.kernel, "6.12");
    assert_true(c->os.pass_ih);
    assert_int_equal(os_kernel_resolve(c, &meta, &err), 0);
    assert_string_equal(c->os.kernel, "6.12");
    assert_true(c->os.pass_ih);
    assert_int_equal(c->os.strict_batch, 16);
    assert_true(c->os.flush_all_devtlb_cm);
    assert_int_equal(iosim_config_validate(c, &err), 0);
    iosim_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_cm_61),
        cmocka_unit_test(test_strict_cm_612),
        cmocka_unit_test(test_strict_cm_612_ih),
        cmocka_unit_test(test_explicit_wins),
        cmocka_unit_test(test_bad_strict_batch),
        cmocka_unit_test(test_lazy_flush_all),
        cmocka_unit_test(test_resolve_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
