/* hv_nested.c — hardware nested translation (scalable mode, PGTT=011b).
 *
 * Concepts:
 *   - The guest's first-stage table is walked by the hardware, each table
 *     pointer and the final GPA translated through the host's second
 *     stage (vtd.c, MODEL.md §3.3: 24 reads for a cold 4/4 walk), so guest
 *     maps cost no exit and no shadowing.
 *   - Guest invalidations either trap (hv.trap_invalidations: one VM
 *     exit per submission, the host forwards the descriptors through
 *     iommufd's cache-invalidation call, MODEL.md §1.6.7) or reach the
 *     hardware directly (a virtual command queue; placeholder for
 *     hardware-accelerated schemes).
 * Assumptions: vtd.translation must be `nested`.
 * Not modeled: the host's own map/unmap of guest RAM (static, at VM
 * start), PASID-table shadowing. */
#include <stddef.h>

#include "hv/hv.h"
#include "os/os.h"

struct nested_params {
    bool trap_invalidations; /* guest QI traps to the VMM */
};

// clang-format off
static const iosim_param_t nested_rows[] = {
    {"hv.trap_invalidations", IOSIM_P_BOOL,
     offsetof(struct nested_params, trap_invalidations), "true", 1, 0, NULL,
     "nested: guest invalidations trap to the VMM, which forwards them",
     "iommufd nested: the VMM forwards guest S1 invalidations "
     "(MODEL.md §1.6.7)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

static void *nested_create(iosim_sim_t *s, iosim_err_t *err)
{
    if (vtd_translation(sim_vtd(s)) != VTD_XLATE_NESTED)
        return iosim_err_set(err,
                             "hv.mode nested needs vtd.translation: "
                             "nested (got %s)",
                             sim_config(s)->vtd.translation),
               NULL;
    return hv_direct_create(s, err);
}

static double nested_submit(void *state, const vtd_desc_t *d, size_t n)
{
    iosim_sim_t *s = state;
    const struct nested_params *p =
        iosim_plugin_params(sim_config(s), nested_rows);
    if (p->trap_invalidations) {
        sim_count(s, IOSIM_ST_HV_EXITS, 1);
        sim_cpu(s, SIM_CPU_VMEXIT, sim_config(s)->hv.vmexit_cycles);
        sim_cpu(s, SIM_CPU_SHADOW,
                sim_config(s)->hv.qemu_desc_cycles * (double)n);
    }
    return hv_direct_submit(state, d, n);
}

/* PGTT=011b lives in a scalable-mode PASID entry (MODEL.md §3.1). */
static const char *const nested_implies[] = {"vtd.root_mode=scalable",
                                             "vtd.translation=nested", NULL};

const hv_mode_ops_t hv_mode_nested = {
    .name = "nested",
    .summary = "hardware two-stage translation: guest first stage, host "
               "second stage",
    .source = "VT-d spec scalable mode PGTT=011b; drivers/iommu/intel/"
              "nested.c (MODEL.md §1.6.7, §3.3)",
    .create = nested_create,
    .map = hv_direct_map, /* the guest's first stage, no exit (hv.h) */
    .unmap = hv_direct_unmap,
    .submit = nested_submit,
    .translate = hv_direct_translate,
    .two_stage = true,
    .params = {nested_rows, sizeof(struct nested_params), NULL, nested_implies},
};
