/* os_strict.c — Linux strict mode (iommu.strict=1).
 * Concepts: every unmap clears the PTEs and synchronously invalidates
 * the IOTLB (and device-TLB) before the IOVA can be reused
 * (dma-iommu.c __iommu_dma_unmap, MODEL.md §1.3); under caching mode a
 * map also gets a PSI (§1.6.4).
 * Assumptions: IOVAs are the trace's (os.iova_mode replay), or, with
 * os.iova_mode reallocate, the Linux allocator model's (iova.h): the IOVA
 * is allocated at map and freed right after the unmap's invalidation.
 * Not modeled: IOVA allocator cost beyond a fixed cycle count. */
#include <stdlib.h>
#include <string.h>

#include "os/iova.h"
#include "os/os.h"

typedef struct strict {
    iosim_sim_t *s;
    iova_remap_t *remap; /* NULL = os.iova_mode replay */
} strict_t;

static void *strict_create(iosim_sim_t *s, iosim_err_t *err)
{
    strict_t *st = calloc(1, sizeof *st);
    if (!st)
        return iosim_err_set(err, "os_strict.c: out of memory"), NULL;
    st->s = s;
    if (!strcmp(sim_config(s)->os.iova_mode, "reallocate") &&
        !(st->remap = iova_remap_new(s, err))) {
        free(st);
        return NULL;
    }
    return st;
}
static void strict_destroy(void *state)
{
    strict_t *st = state;
    iova_remap_free(st->remap);
    free(st);
}

static uint64_t strict_dma_iova(void *state, const iosim_rec_t *r)
{
    strict_t *st = state;
    return st->remap ? iova_remap_dma(st->remap, r) : r->iova;
}

static bool strict_dma_iova_is_trace(void *state)
{
    return !((strict_t *)state)->remap;
}

/* Reallocating unmap: every model mapping the trace range covers is
 * cleared, invalidated, and only then its IOVA freed (§1.3 ordering). */
static int strict_unmap_remapped(strict_t *st, const iosim_rec_t *r,
                                 iosim_err_t *err)
{
    iosim_sim_t *s = st->s;
    iova_piece_t p;
    while (iova_remap_take(st->remap, r, &p)) {
        long freed = sim_iommu_unmap(s, p.did, p.model_iova, p.size, err);
        if (freed < 0)
            return -1;
        os_linux_flush_range(s, p.did, r->device, p.model_iova, p.size,
                             freed == 0);
        iova_remap_release(st->remap, &p);
    }
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    return 0;
}

static int strict_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    strict_t *st = state;
    return os_linux_map(st->s, st->remap, r, err);
}

static int strict_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    strict_t *st = state;
    iosim_sim_t *s = st->s;
    sim_cpu(s, SIM_CPU_UNMAP, sim_config(s)->os.unmap_cycles);
    if (st->remap)
        return strict_unmap_remapped(st, r, err);
    long freed = sim_iommu_unmap(s, r->domain, r->iova, r->size, err);
    if (freed < 0)
        return -1;
    /* ih = list_empty(&gather.freelist): no table page freed (§1.3) */
    os_linux_flush_range(s, r->domain, r->device, r->iova, r->size, freed == 0);
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    return 0;
}

const os_policy_ops_t os_policy_strict = {
    .name = "strict",
    /* how a Linux capture shows it (dmesg boot line, command line) */
    .capture = {"invalidation policy: strict mode", "iommu.strict=1", false},
    .summary = "Linux iommu.strict=1: invalidate on every unmap",
    .source = "drivers/iommu/dma-iommu.c __iommu_dma_unmap; "
              "intel/cache.c cache_tag_flush_range (MODEL.md §1.3, §1.6)",
    .translates = true,
    .create = strict_create,
    .destroy = strict_destroy,
    .map = strict_map,
    .unmap = strict_unmap,
    .dma_iova = strict_dma_iova,
    .dma_iova_is_trace = strict_dma_iova_is_trace,
};
