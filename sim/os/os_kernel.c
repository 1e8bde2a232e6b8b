/* os_kernel.c — the Linux version the OS model follows (os.kernel).
 *
 * Concepts:
 *   - os.kernel (auto | 6.1 | 6.12) selects the Intel IOMMU driver's
 *     behaviour where Linux 6.1 and 6.12 differ.  auto takes the version
 *     from the trace's metadata (meta.kernel, uname -r of the traced guest:
 *     "6.1.0-56-amd64" is 6.1, "6.12.9+bpo-amd64" is 6.12.9); a trace that
 *     names neither series (generated, text, another kernel) gets
 *     os.kernel_default.
 *   - Every setting that differs between the two is a parameter of its own
 *     whose value "kernel" (its default) means "as os.kernel says"; a value
 *     given explicitly wins.  os_kernel_resolve() runs when a sim is
 *     created (sim.c): it fills the effective fields the policies read
 *     (cfg->os.strict_batch, pass_ih, flush_all_devtlb_cm) and rewrites
 *     the parameters' text to what ran, so the report's echo and a
 *     --compare item's "config differs" line show the kernel's values.
 *
 * The differences, as read (6.1: drivers/iommu/intel/iommu.c of 6.1.131,
 * Android common tree, whose Intel driver is the stable one; dmar.c
 * qi_flush_iotlb as in every kernel before 6.12; 6.12: cache.c of the
 * qi_batch series merged for 6.12 and iommu.c of 6.12.43; torvalds/linux
 * tags v6.1 / v6.12 themselves were not in the stored copies):
 *
 *  (a) Descriptors one qi_submit_sync() carries (os.strict_batch).
 *      6.1  iommu.c intel_iommu_tlb_sync() -> iommu_flush_iotlb_psi():
 *           iommu->flush.flush_iotlb = dmar.c qi_flush_iotlb(), one
 *           qi_submit_sync() with one descriptor, then
 *           iommu_flush_dev_iotlb() -> __iommu_flush_dev_iotlb() ->
 *           qi_flush_dev_iotlb(), another: a strict unmap with ATS is two
 *           submissions.  intel_flush_iotlb_all() likewise (DSI, then
 *           devTLB).  Batch 1.
 *      6.12 iommu.c intel_iommu_tlb_sync() -> cache.c
 *           cache_tag_flush_range(): per cache tag qi_batch_add_iotlb() /
 *           qi_batch_add_dev_iotlb() into domain->qi_batch, then
 *           qi_batch_flush_descs(): one qi_submit_sync() for all of them
 *           (flushed early at QI_MAX_BATCHED_DESC_COUNT = 16 and when the
 *           IOMMU changes); cache_tag_flush_all() and
 *           cache_tag_flush_range_np() the same.  Batch 16.
 *  (b) IH on a second-stage page-selective invalidation (os.pass_ih).
 *      6.1  intel_iommu_tlb_sync() passes ih = list_empty(&gather->freelist)
 *           to iommu_flush_iotlb_psi(), which makes it 1 << 6 and hands
 *           addr | ih to qi_flush_iotlb(); that builds the descriptor with
 *           its own ih = 0 and QI_IOTLB_ADDR() masks bit 6 away: never set.
 *      6.12 cache_tag_flush_range(domain, start, end, ih =
 *           list_empty(&gather->freelist)) -> cache_tag_flush_iotlb() ->
 *           qi_batch_add_iotlb(addr | ih) -> iommu.h qi_desc_iotlb(): ih = 0
 *           hard-coded until 6.12.62, ih = addr & 1 from 6.12.63 (upstream
 *           6b38a108 "Fix unused invalidation hint in qi_desc_iotlb").
 *      First-stage P_IOTLB descriptors carry IH in both (6.1
 *      qi_flush_piotlb(.., ih), 6.12 qi_batch_add_piotlb(.., ih)).
 *  (c) After a map under caching mode: the same in both.
 *      6.1  intel_iommu_iotlb_sync_map() -> __mapping_notify_one() ->
 *           iommu_flush_iotlb_psi(.., ih 0, map 1): a PSI (a DSI when AM >
 *           MAMV), no devTLB ("!cap_caching_mode || !map"); first-level
 *           domains and CM=0: write-buffer flush only.
 *      6.12 intel_iommu_iotlb_sync_map() -> cache_tag_flush_range_np():
 *           IOTLB tags only, ih 0; first-stage or CM=0: write-buffer flush.
 *      One descriptor, one submission either way (os_linux_map_notify).
 *  (d) Device-TLB order and when it is skipped.  Order: IOTLB first, then
 *      the device-TLB, in both (6.1 inside iommu_flush_iotlb_psi(); 6.12
 *      cache_tag_assign() links a device's DEVTLB tag after its IOTLB tag
 *      and the flush walks the list in order; VT-d §6.5.2.5).  Skipped:
 *      6.1  without an ATS device (domain->has_iotlb_device), after a map
 *           under caching mode (map = 1), and in intel_flush_iotlb_all()
 *           under caching mode ("if (!cap_caching_mode(iommu->cap))").
 *      6.12 without ATS (no DEVTLB tag: __cache_tag_assign_domain()),
 *           always in cache_tag_flush_range_np(); cache_tag_flush_all()
 *           flushes every DEVTLB tag, caching mode or not (since 6.10)
 *           (os.flush_all_devtlb_cm); qi_batch_add_dev_iotlb() drops it
 *           while translation is off (GCMD.TE = 0: not modeled, always on).
 *  (e) Flush queue (drivers/iommu/dma-iommu.c): the same for VT-d.
 *      6.1  per-CPU rings of IOVA_FQ_SIZE 256, timer IOVA_FQ_TIMEOUT 10 ms,
 *           fq_flush_iotlb() -> ops->flush_iotlb_all = intel_flush_iotlb_all.
 *      6.12 IOVA_DEFAULT_FQ_SIZE 256 / IOVA_DEFAULT_FQ_TIMEOUT 10 ms
 *           per-CPU; the single queue (IOMMU_DMA_OPTS_SINGLE_QUEUE,
 *           IOVA_SINGLE_FQ_SIZE 32768, IOVA_SINGLE_FQ_TIMEOUT 1000 ms) only
 *           when dev->iommu->shadow_on_flush (virtio-iommu, s390), never
 *           for VT-d (iommu_dma_init_options()); flush_iotlb_all =
 *           intel_flush_iotlb_all() -> cache_tag_flush_all().
 *      What the flush itself issues differs by (a) and (d): 6.1 a DSI
 *      (PASID-selective P_IOTLB for first-level) and, only with CM=0, a
 *      whole-device devTLB, each its own submission; 6.12 both, always,
 *      in one submission.
 *  (f) The same in both: strict forced for second-stage domains under
 *      caching mode (intel_iommu_init(), "IOMMU batching disallowed due to
 *      virtualization"); the DSI fallback when AM > CAP.MAMV (6.1's
 *      unaligned worst case gives mask BITS_PER_LONG, 6.12's
 *      calculate_psi_aligned_address() MAX_AGAW_PFN_WIDTH: both above any
 *      MAMV).
 * Not modeled: 6.1's qi_flush_piotlb() aligns an unaligned first-level
 * range's address down to its rounded size (a WARN_ON_ONCE case) where
 * 6.12 widens the mask; the dtlb_extra_inval quirk (both). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"

/* QI_MAX_BATCHED_DESC_COUNT, drivers/iommu/intel/iommu.h (6.12). */
#define OS_KERNEL_612_BATCH 16u
/* First 6.12 stable release whose qi_desc_iotlb() decodes IH: the fix
 * (upstream 6b38a108) is patch 188/354 of the 6.12.63-rc1 review series
 * (stable@vger.kernel.org, 2025-12-16). */
#define OS_KERNEL_612_IH_SUBLEVEL 63u
/* os.strict_batch's range (a submission needs count + 2 of the 256 queue
 * slots, MODEL.md §1.7). */
#define OS_KERNEL_BATCH_MAX 254u

/* "6.12.9+bpo-amd64" -> 6, 12, 9; "6.1" -> 6, 1, 0.  false if the text
 * does not start with MAJOR.MINOR. */
static bool parse_version(const char *s, unsigned *maj, unsigned *min,
                          unsigned *sub)
{
    unsigned v[3] = {0, 0, 0};
    int n = 0;
    while (n < 3 && *s >= '0' && *s <= '9') {
        unsigned long x = 0;
        while (*s >= '0' && *s <= '9' && x < 100000)
            x = x * 10 + (unsigned)(*s++ - '0');
        v[n++] = (unsigned)x;
        if (*s != '.')
            break;
        s++;
    }
    if (n < 2)
        return false;
    *maj = v[0];
    *min = v[1];
    *sub = v[2];
    return true;
}

/* 6.1 or 6.12: the minor number, else 0. */
static unsigned modeled_minor(unsigned maj, unsigned min)
{
    return maj == 6 && (min == 1 || min == 12) ? min : 0;
}

/* "kernel", or a count 1..OS_KERNEL_BATCH_MAX: 0 = kernel, -1 = bad. */
static long parse_batch(const char *s)
{
    if (!strcmp(s, "kernel"))
        return 0;
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 4)
        return -1;
    long v = strtol(s, NULL, 10);
    return v >= 1 && v <= (long)OS_KERNEL_BATCH_MAX ? v : -1;
}

int os_kernel_check_batch(const char *text, iosim_err_t *err)
{
    if (parse_batch(text) < 0)
        return iosim_err_key(err, "os.strict_batch",
                             "'%s' is neither kernel nor a count 1..%u", text,
                             OS_KERNEL_BATCH_MAX);
    return 0;
}

int os_kernel_resolve(iosim_config_t *c, const iosim_trace_meta_t *meta,
                      iosim_err_t *err)
{
    unsigned maj = 0, min = 0, sub = 0;
    if (!strcmp(c->os.kernel, "auto")) {
        if (!meta || !parse_version(meta->kernel, &maj, &min, &sub) ||
            !modeled_minor(maj, min)) {
            maj = min = sub = 0;
            parse_version(c->os.kernel_default, &maj, &min, &sub);
        }
    } else {
        parse_version(c->os.kernel, &maj, &min, &sub);
    }
    min = modeled_minor(maj, min);
    if (!min)
        return iosim_err_key(err, "os.kernel",
                             "'%s' (default '%s') is "
                             "neither 6.1 nor 6.12",
                             c->os.kernel, c->os.kernel_default);
    bool is612 = min == 12;

    if (os_kernel_check_batch(c->os.strict_batch_set, err))
        return -1;
    long batch = parse_batch(c->os.strict_batch_set);
    /* (a): 6.12 batches, 6.1 submits every descriptor alone */
    c->os.strict_batch = batch   ? (uint32_t)batch
                         : is612 ? OS_KERNEL_612_BATCH
                                 : 1;
    /* (b): only 6.12.63 on decodes IH from the address */
    bool ih = is612 && sub >= OS_KERNEL_612_IH_SUBLEVEL;
    c->os.pass_ih = !strcmp(c->os.pass_ih_set, "kernel")
                        ? ih
                        : !strcmp(c->os.pass_ih_set, "true");
    /* (d), (e): 6.12's cache_tag_flush_all() flushes the devTLB under CM */
    c->os.flush_all_devtlb_cm =
        !strcmp(c->os.flush_all_devtlb_cm_set, "kernel")
            ? is612
            : !strcmp(c->os.flush_all_devtlb_cm_set, "true");
    c->os.kernel_sublevel = sub;

    /* what ran, in the parameters' own words */
    snprintf(c->os.kernel, sizeof c->os.kernel, "6.%u", min);
    snprintf(c->os.strict_batch_set, sizeof c->os.strict_batch_set, "%" PRIu32,
             c->os.strict_batch);
    snprintf(c->os.pass_ih_set, sizeof c->os.pass_ih_set, "%s",
             c->os.pass_ih ? "true" : "false");
    snprintf(c->os.flush_all_devtlb_cm_set,
             sizeof c->os.flush_all_devtlb_cm_set, "%s",
             c->os.flush_all_devtlb_cm ? "true" : "false");
    return 0;
}
