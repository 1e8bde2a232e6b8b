/* hv_guest_pt.c — guest-passthrough: the guest runs with iommu=pt and only
 * the host's second stage translates.
 *
 * Concepts:
 *   - The device DMAs to guest-physical addresses; the host (VFIO) mapped
 *     all of guest RAM into the device's host domain when the VM started,
 *     so the guest's DMA API causes no exits, no shadowing and no
 *     invalidations.
 *   - The guest's policy is passthrough (hv.mode validation), so it maps
 *     nothing through this mode; a trace captured under a translating
 *     policy still replays: the sim gives the device the GPA the trace
 *     mapped the IOVA to (sim.c), which the host stage translates.
 * Assumptions: guest RAM is backed by 2 MB pages on the host and the host
 *   maps it with 2 MB leaves (placeholder: QEMU with hugepage-backed RAM;
 *   UNVERIFIED for a given setup); host DID 1; host-physical = GPA +
 *   64 GiB.
 * Not modeled: the VM-start cost of mapping and pinning guest RAM. */

#include "hv/hv.h"
#include "os/os.h"

#define GPT_HOST_DID 1u
#define GPT_HPA_OFFSET (64ull << 30)
#define GPT_HOST_PAGE (2ull << 20)

vtd_xlate_result_t hv_guest_ram_translate(iosim_sim_t *s, uint16_t sid,
                                          uint64_t gpa, bool write)
{
    uint64_t page = gpa & ~(GPT_HOST_PAGE - 1), hpa;
    if (!vtd_lookup(sim_vtd(s), GPT_HOST_DID, page, &hpa)) {
        iosim_err_t ignore;
        vtd_map(sim_vtd(s), GPT_HOST_DID, page, page + GPT_HPA_OFFSET,
                GPT_HOST_PAGE, true, &ignore);
    }
    return vtd_translate(sim_vtd(s), sid, 0, GPT_HOST_DID, gpa, write);
}

/* Never reached with the passthrough policy this mode requires; a no-op
 * as for any guest without a vIOMMU. */
static long gpt_map(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                    uint64_t size, bool write, iosim_err_t *err)
{
    (void)state, (void)did, (void)iova, (void)phys, (void)size, (void)write;
    (void)err;
    return 0;
}

static long gpt_unmap(void *state, uint16_t did, uint64_t iova, uint64_t size,
                      iosim_err_t *err)
{
    (void)state, (void)did, (void)iova, (void)size, (void)err;
    return 0;
}

static double gpt_submit(void *state, const vtd_desc_t *d, size_t n)
{
    (void)state, (void)d, (void)n;
    return 0; /* no vIOMMU: nothing reaches any queue */
}

static vtd_xlate_result_t gpt_translate(void *state, uint16_t sid,
                                        uint32_t pasid, uint16_t did,
                                        uint64_t gpa, bool write)
{
    (void)pasid, (void)did;
    return hv_guest_ram_translate(state, sid, gpa, write);
}

/* The guest runs iommu=pt (dma-direct): a translating guest policy would
 * charge map, IOVA and invalidation work that this arrangement does not
 * do. */
static int gpt_validate(const iosim_config_t *c, const void *params,
                        iosim_err_t *err)
{
    (void)params;
    const os_policy_ops_t *os = os_policy_find(c->os.policy);
    if (!os || !os->translates)
        return 0;
    char names[128];
    os_policy_names_not_translating(names, sizeof names);
    return iosim_err_key(err, "hv.mode",
                         "guest-passthrough runs the guest "
                         "with iommu=pt: os.policy must be %s (is %s)",
                         names, c->os.policy);
}

const hv_mode_ops_t hv_mode_guest_passthrough = {
    .name = "guest-passthrough",
    .summary = "guest iommu=pt; the host second stage maps all guest RAM",
    .source = "VFIO type1 / iommufd map of guest RAM; MODEL.md §1.1",
    .create = hv_direct_create, /* state: the sim, as on bare metal */
    .map = gpt_map,
    .unmap = gpt_unmap,
    .submit = gpt_submit,
    .translate = gpt_translate,
    .params = {.validate = gpt_validate},
};
