/* os_passthrough.c — Linux iommu=pt: identity domain.
 * Concepts: the DMA API goes to dma-direct; no IOVA allocation, no
 * page-table change, no invalidation, and the device's DMA is not
 * translated (context TT=2, MODEL.md §1.1).  A trace captured under
 * another policy replays here as its passthrough baseline.
 * Not modeled: the context-entry lookup of pass-through requests. */
#include "os/os.h"

static void *pt_create(iosim_sim_t *s, iosim_err_t *err)
{
    (void)err;
    return s;
}
static int pt_ignore(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)state, (void)r, (void)err;
    return 0;
}
const os_policy_ops_t os_policy_passthrough = {
    .name = "passthrough",
    /* how a Linux capture shows it (dmesg boot line, command line) */
    .capture = {"Default domain type: Passthrough", "iommu=pt", true},
    .summary = "Linux iommu=pt: identity domain, no translation",
    .source = "arch/x86/kernel/pci-dma.c iommu_setup(); MODEL.md §1.1",
    .translates = false,
    .create = pt_create,
    .map = pt_ignore,
    .unmap = pt_ignore,
};
