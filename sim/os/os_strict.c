/* os_strict.c — Linux strict mode (iommu.strict=1).
 * Concepts: every unmap clears the PTEs and synchronously invalidates
 * the IOTLB (and device-TLB) before the IOVA can be reused
 * (dma-iommu.c __iommu_dma_unmap, MODEL.md §1.3); under caching mode a
 * map also gets a PSI (§1.6.4).
 * Assumptions: IOVAs are the trace's (os.iova_mode replay).
 * Not modeled: IOVA allocator cost beyond a fixed cycle count. */
#include "os/os.h"

static void *strict_create(iosim_sim_t *s, iosim_err_t *err)
{
    (void)err;
    return s;
}
static void strict_destroy(void *state) { (void)state; }

static int strict_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    iosim_sim_t *s = state;
    sim_cpu(s, SIM_CPU_IOVA, s->cfg->os.iova_alloc_cycles);
    sim_cpu(s, SIM_CPU_MAP, s->cfg->os.map_cycles);
    if (sim_iommu_map(s, r->domain, r->iova, r->aux, r->size,
                      (r->flags & IOSIM_PROT_WRITE) != 0, err) < 0)
        return -1;
    os_linux_map_notify(s, r->domain, r->iova, r->size);
    return 0;
}

static int strict_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    iosim_sim_t *s = state;
    sim_cpu(s, SIM_CPU_UNMAP, s->cfg->os.unmap_cycles);
    long freed = sim_iommu_unmap(s, r->domain, r->iova, r->size, err);
    if (freed < 0)
        return -1;
    /* ih = list_empty(&gather.freelist): no table page freed (§1.3) */
    os_linux_flush_range(s, r->domain, r->device, r->iova, r->size,
                         freed == 0);
    sim_cpu(s, SIM_CPU_IOVA, s->cfg->os.iova_free_cycles);
    return 0;
}

static int strict_finish(void *state, iosim_err_t *err)
{
    (void)state, (void)err;
    return 0;
}

const os_policy_ops_t os_policy_strict = {
    .name = "strict",
    .summary = "Linux iommu.strict=1: invalidate on every unmap",
    .source = "drivers/iommu/dma-iommu.c __iommu_dma_unmap; "
              "intel/cache.c cache_tag_flush_range (MODEL.md §1.3, §1.6)",
    .translates = true,
    .create = strict_create,
    .destroy = strict_destroy,
    .map = strict_map,
    .unmap = strict_unmap,
    .finish = strict_finish,
};
