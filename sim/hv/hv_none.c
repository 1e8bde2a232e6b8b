/* hv_none.c — bare metal: the OS drives the VT-d hardware directly.
 * Concepts: every hook forwards to the hardware model; the forwarding
 *   hooks (hv_direct_*, hv.h) also serve modes that add work only around
 *   some of them (nested).
 * Assumptions: none.  Not modeled: nothing beyond vtd.h. */
#include <stdlib.h>

#include "hv/hv.h"
#include "os/os.h"

void *hv_direct_create(iosim_sim_t *s, iosim_err_t *err)
{
    (void)err;
    return s;
}
long hv_direct_map(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                   uint64_t size, bool write, iosim_err_t *err)
{
    iosim_sim_t *s = state;
    return vtd_map(sim_vtd(s), did, iova, phys, size, write, err);
}
long hv_direct_unmap(void *state, uint16_t did, uint64_t iova, uint64_t size,
                     iosim_err_t *err)
{
    iosim_sim_t *s = state;
    return vtd_unmap(sim_vtd(s), did, iova, size, err);
}
double hv_direct_submit(void *state, const vtd_desc_t *d, size_t n)
{
    iosim_sim_t *s = state;
    return vtd_submit(sim_vtd(s), d, n);
}
vtd_xlate_result_t hv_direct_translate(void *state, uint16_t sid,
                                       uint32_t pasid, uint16_t did,
                                       uint64_t iova, bool write)
{
    iosim_sim_t *s = state;
    if (!sim_os_translates(s)) { /* iommu=pt: DMA bypasses the IOMMU */
        vtd_xlate_result_t r = {.phys = iova};
        return r;
    }
    return vtd_translate(sim_vtd(s), sid, pasid, did, iova, write);
}
/* Physical VT-d reports CM=0; caching mode is for virtual IOMMUs (VT-d
 * §6.1), so bare metal compared against a vIOMMU config drops it. */
static const char *const none_implies[] = {"vtd.caching_mode=false", NULL};

const hv_mode_ops_t hv_mode_none = {
    .name = "none",
    .summary = "bare metal: the OS programs the physical IOMMU",
    .source = "VT-d spec (no virtualization layer)",
    .create = hv_direct_create,
    .map = hv_direct_map,
    .unmap = hv_direct_unmap,
    .submit = hv_direct_submit,
    .translate = hv_direct_translate,
    .params = {.implies = none_implies},
    .walks_in_flight = true,
};
