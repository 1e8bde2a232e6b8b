/* os_linux.c — Linux invalidation mechanics shared by the policies.
 * Concepts: builds the descriptors Linux 6.x's cache-tag code builds
 * (drivers/iommu/intel/cache.c, MODEL.md §1.6) and submits them the way
 * qi_submit_sync() does (one tail write + implicit wait per batch).
 *   - A second-stage domain gets IOTLB descriptors (PSI, or a DSI when
 *     the range exceeds CAP.MAMV), a PSI after each map under caching
 *     mode, and a DSI for a flush of everything.
 *   - A first-stage domain (vtd.translation first-stage, and a nested
 *     guest's own domain) gets PASID-based IOTLB descriptors for its
 *     RID2PASID (PASID 0): page-selective-within-PASID carrying IH,
 *     PASID-selective for everything, and nothing after a map even under
 *     caching mode (MODEL.md §1.6.3-1.6.5).  Seen in a Linux 6.1 guest
 *     behind QEMU 10.0's x-flts (traces/redis-strict-fs-pcap-qemu.zst).
 *   - A flush of everything flushes the whole device-TLB too, except
 *     under caching mode before Linux 6.10 (os.flush_all_devtlb_cm).
 *   - Where Linux 6.1 and 6.12 differ (descriptors per submission, IH,
 *     the device-TLB in a flush of everything) the effective settings
 *     come from os.kernel; os_kernel.c has each difference with the
 *     functions of both kernels, cited here by its letter.
 * Assumptions: one domain per device, so each flush has one IOTLB tag
 * and, with ATS, one device-TLB tag (PASID 0: a plain device-TLB
 * descriptor).
 * Not modeled: the dtlb_extra_inval quirk. */

#include "os/iova.h"
#include "os/os.h"

static void submit_batched(iosim_sim_t *s, const vtd_desc_t *d, size_t n)
{
    /* os_kernel.c (a): 6.1 submits every descriptor alone (qi_flush_iotlb,
     * qi_flush_dev_iotlb: one qi_submit_sync each); 6.12 puts the
     * descriptors of one cache_tag_flush_*() in domain->qi_batch and
     * submits them together, at most QI_MAX_BATCHED_DESC_COUNT = 16
     * (qi_batch_flush_descs) (MODEL.md §1.6.3). */
    uint32_t batch =
        sim_config(s)->os.strict_batch ? sim_config(s)->os.strict_batch : 1;
    for (size_t i = 0; i < n; i += batch)
        sim_iommu_submit(s, d + i, n - i < batch ? n - i : batch);
}

/* Linux gives DMA domains first-stage tables whenever it can
 * (first_level_by_default, MODEL.md §1.1); a nested guest's domain is a
 * first-stage one too. */
bool os_linux_first_stage(const iosim_sim_t *s)
{
    /* the hardware model decoded vtd.translation once (every unmap asks) */
    vtd_xlate_t t = vtd_translation(sim_vtd(s));
    return t == VTD_XLATE_FIRST || t == VTD_XLATE_NESTED;
}

/* ih: only leaves changed.  A second-stage PSI carries it only where the
 * kernel decodes it (os.pass_ih, os_kernel.c (b): never on 6.1, whose
 * qi_flush_iotlb builds it with ih = 0, nor on 6.12.0-62, whose
 * qi_desc_iotlb does; from 6.12.63 on); P_IOTLB descriptors always carried
 * it (qi_flush_piotlb in 6.1, qi_batch_add_piotlb since 6.12; the 6.1
 * capture's 1,359 P_IOTLBs all have IH=1). */
static vtd_desc_t iotlb_desc(const iosim_sim_t *s, uint16_t did, uint64_t iova,
                             uint64_t size, bool ih)
{
    vtd_desc_t d = {.type = IOSIM_DESC_IOTLB, .did = did};
    uint64_t addr;
    uint8_t am;
    vtd_psi_range(iova, size, &addr, &am);
    if (os_linux_first_stage(s)) { /* no MAMV test for P_IOTLB (§1.6.3) */
        d.type = IOSIM_DESC_PIOTLB;
        d.gran = IOSIM_GRAN_PAGE; /* page-selective-within-PASID */
        d.pasid = 0;              /* RID2PASID */
        d.addr = addr;
        d.am = am;
        d.ih = ih;
    } else if (am >
               sim_config(s)->vtd.mamv) { /* too big for a PSI: DSI (§1.6.3) */
        d.gran = IOSIM_GRAN_DOMAIN;
    } else {
        d.gran = IOSIM_GRAN_PAGE;
        d.addr = addr;
        d.am = am;
        d.ih = ih;
    }
    return d;
}

void os_linux_flush_range(iosim_sim_t *s, uint16_t did, uint16_t sid,
                          uint64_t iova, uint64_t size, bool ih)
{
    vtd_desc_t d[2];
    size_t n = 0;
    d[n++] = iotlb_desc(
        s, did, iova, size,
        ih && (sim_config(s)->os.pass_ih || os_linux_first_stage(s)));
    /* devTLB after IOTLB (spec §6.5.2.5) in both kernels, os_kernel.c (d):
     * 6.1 iommu_flush_iotlb_psi -> iommu_flush_dev_iotlb, 6.12 the DEVTLB
     * cache tag after the IOTLB one; either way only with ATS */
    if (sim_config(s)->vtd.ats) {
        vtd_desc_t dt = {.type = IOSIM_DESC_DEVTLB,
                         .gran = IOSIM_GRAN_PAGE,
                         .sid = sid,
                         .did = did};
        vtd_psi_range(iova, size, &dt.addr, &dt.am);
        d[n++] = dt;
    }
    submit_batched(s, d, n);
}

void os_linux_map_notify(iosim_sim_t *s, uint16_t did, uint64_t iova,
                         uint64_t size)
{
    /* Only under caching mode, IOTLB only, and not for first-stage
     * domains (caching mode covers second-stage tables only): the same in
     * both kernels, os_kernel.c (c) (6.1 __mapping_notify_one ->
     * iommu_flush_iotlb_psi(.., map = 1); 6.12 cache_tag_flush_range_np). */
    if (!sim_config(s)->vtd.caching_mode || os_linux_first_stage(s))
        return;
    vtd_desc_t d = iotlb_desc(s, did, iova, size, false);
    sim_iommu_submit(s, &d, 1);
}

int os_linux_map(iosim_sim_t *s, iova_remap_t *remap, const iosim_rec_t *r,
                 iosim_err_t *err)
{
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_alloc_cycles);
    sim_cpu(s, SIM_CPU_MAP, sim_config(s)->os.map_cycles);
    uint64_t iova = r->iova;
    if (remap && iova_remap_map(remap, r, &iova, err))
        return -1;
    if (sim_iommu_map(s, r->domain, iova, r->aux, r->size,
                      (r->flags & IOSIM_PROT_WRITE) != 0, err) < 0)
        return -1;
    os_linux_map_notify(s, r->domain, iova, r->size);
    return 0;
}

/* os_kernel.c (d), (e): 6.1 intel_flush_iotlb_all() skips the devTLB under
 * caching mode and submits each descriptor alone; 6.12
 * cache_tag_flush_all() flushes it always, both in one submission. */
void os_linux_flush_all(iosim_sim_t *s, uint16_t did, uint16_t sid)
{
    /* DSI, or for a first-stage domain a PASID-selective P_IOTLB
     * (IOSIM_GRAN_DOMAIN = granularity 2 in both descriptors) */
    // clang-format off
    vtd_desc_t d[2] = {
        {.type = os_linux_first_stage(s) ? IOSIM_DESC_PIOTLB : IOSIM_DESC_IOTLB,
         .gran = IOSIM_GRAN_DOMAIN, .did = did},
        {.type = IOSIM_DESC_DEVTLB, .gran = IOSIM_GRAN_GLOBAL, .sid = sid,
         .did = did, .am = 52},
    };
    // clang-format on
    bool devtlb =
        sim_config(s)->vtd.ats && (sim_config(s)->os.flush_all_devtlb_cm ||
                                   !sim_config(s)->vtd.caching_mode);
    submit_batched(s, d, devtlb ? 2 : 1);
}
