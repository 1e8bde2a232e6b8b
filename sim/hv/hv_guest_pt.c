/* hv_guest_pt.c — guest-passthrough: the guest runs with iommu=pt and only
 * the host's second stage translates.
 *
 * Concepts:
 *   - The device DMAs to guest-physical addresses; the host (VFIO) mapped
 *     all of guest RAM into the device's host domain when the VM started,
 *     so the guest's DMA API causes no exits, no shadowing and no
 *     invalidations.
 *   - Replaying a trace captured under a translating guest policy, the
 *     guest's IOVA -> GPA mappings are kept in a software table (no cost)
 *     only to know which GPA each DMA touches.
 * Assumptions: guest RAM is backed by 2 MB pages on the host and the host
 *   maps it with 2 MB leaves (placeholder: QEMU with hugepage-backed RAM;
 *   UNVERIFIED for a given setup); host DID 1; host-physical = GPA +
 *   64 GiB.
 * Not modeled: the VM-start cost of mapping and pinning guest RAM. */
#include <stdlib.h>

#include "hv/hv.h"
#include "os/os.h"

#define GPT_HOST_DID 1u
#define GPT_HPA_OFFSET (64ull << 30)
#define GPT_HOST_PAGE (2ull << 20)

vtd_xlate_result_t hv_guest_ram_translate(iosim_sim_t *s, uint16_t sid,
                                          uint64_t gpa, bool write)
{
    uint64_t page = gpa & ~(GPT_HOST_PAGE - 1), hpa;
    if (!vtd_lookup(s->vtd, GPT_HOST_DID, page, &hpa)) {
        iosim_err_t ignore;
        vtd_map(s->vtd, GPT_HOST_DID, page, page + GPT_HPA_OFFSET,
                GPT_HOST_PAGE, true, &ignore);
    }
    return vtd_translate(s->vtd, sid, 0, GPT_HOST_DID, gpa, write);
}

typedef struct gpt {
    iosim_sim_t *s;
    physmem_t mem;
    pgtable_t iova_to_gpa; /* all guest domains share it (no DID clash in
                              the captures: one DMA domain per device) */
} gpt_t;

static void *gpt_create(iosim_sim_t *s, iosim_err_t *err)
{
    gpt_t *g = calloc(1, sizeof *g);
    if (!g)
        return iosim_err_set(err, "out of memory"), NULL;
    g->s = s;
    physmem_init(&g->mem, 16ull << 20);
    if (pgtable_init(&g->iova_to_gpa, 5, &g->mem)) {
        free(g);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    return g;
}

static void gpt_destroy(void *state)
{
    gpt_t *g = state;
    pgtable_fini(&g->iova_to_gpa);
    physmem_fini(&g->mem);
    free(g);
}

static long gpt_map(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                    uint64_t size, bool write, iosim_err_t *err)
{
    (void)did;
    gpt_t *g = state;
    if (pgtable_map(&g->iova_to_gpa, iova, phys, size, write, false) < 0)
        return iosim_err_set(err, "map of iova 0x%llx overlaps a live "
                                  "mapping", (unsigned long long)iova);
    return 0;
}

static long gpt_unmap(void *state, uint16_t did, uint64_t iova,
                      uint64_t size, iosim_err_t *err)
{
    (void)did, (void)err;
    gpt_t *g = state;
    pgtable_unmap(&g->iova_to_gpa, iova, size, NULL);
    return 0;
}

static double gpt_submit(void *state, const vtd_desc_t *d, size_t n)
{
    (void)state, (void)d, (void)n;
    return 0; /* no vIOMMU: nothing reaches any queue */
}

static vtd_xlate_result_t gpt_translate(void *state, uint16_t sid,
                                        uint32_t pasid, uint16_t did,
                                        uint64_t iova, bool write)
{
    (void)pasid, (void)did;
    gpt_t *g = state;
    uint64_t gpa = iova;
    if (g->s->os->translates) {
        pt_walk_t w;
        if (!pgtable_walk(&g->iova_to_gpa, iova, &w)) {
            vtd_xlate_result_t r = {.fault = true};
            return r;
        }
        gpa = w.phys;
    }
    return hv_guest_ram_translate(g->s, sid, gpa, write);
}

const hv_mode_ops_t hv_mode_guest_passthrough = {
    .name = "guest-passthrough",
    .summary = "guest iommu=pt; the host second stage maps all guest RAM",
    .source = "VFIO type1 / iommufd map of guest RAM; MODEL.md §1.1",
    .create = gpt_create,
    .destroy = gpt_destroy,
    .map = gpt_map,
    .unmap = gpt_unmap,
    .submit = gpt_submit,
    .translate = gpt_translate,
};
