/* hv.h — hypervisor modes: how the guest's IOMMU operations reach the
 * host's VT-d.
 *
 * Concepts:
 *   - A mode is an ops struct sitting between the guest-OS policy and the
 *     hardware model: the guest's page-table writes (map/unmap), its
 *     invalidation submissions and the device's DMA translations all pass
 *     through it.  `none` is bare metal: everything goes straight to the
 *     hardware.  Others (emulated vIOMMU with caching mode, nested,
 *     guest-passthrough) add VM exits, shadowing and host work.
 *   - The registry (hv_registry.c) is the only list of modes.
 * Assumptions / Not modeled: see each mode's file.
 */
#ifndef IOSIM_HV_H
#define IOSIM_HV_H

#include "system/services.h"

typedef struct hv_mode_ops {
    const char *name;
    const char *summary;
    const char *source;
    void *(*create)(iosim_sim_t *s, iosim_err_t *err);
    void (*destroy)(void *state); /* NULL = state needs no freeing */
    long (*map)(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                uint64_t size, bool write, iosim_err_t *err);
    long (*unmap)(void *state, uint16_t did, uint64_t iova, uint64_t size,
                  iosim_err_t *err);
    /* one guest qi_submit_sync(); returns hardware queue time (ns) */
    double (*submit)(void *state, const vtd_desc_t *d, size_t n);
    vtd_xlate_result_t (*translate)(void *state, uint16_t sid, uint32_t pasid,
                                    uint16_t did, uint64_t iova, bool write);
    int (*finish)(void *state, iosim_err_t *err); /* NULL = nothing */
    /* builds a host second stage under the guest's first stage, so that
     * vtd.translation nested can run (PGTT=011b) */
    bool two_stage;
    /* the device's translations reach the walker with no host work in
     * between, so vtd.inval_walks_in_flight applies (bare metal) */
    bool walks_in_flight;
    /* its own parameters (hv.*), their check, which also says what the
     * mode needs of the rest of the configuration, and the settings it
     * brings when a comparison names it (iosim --compare POLICY@MODE;
     * params.implies).  A nested vtd.translation always falls back to
     * second-stage under a mode other than nested (config validation
     * rejects it). */
    iosim_plugin_params_t params;
} hv_mode_ops_t;

/* The bare-metal hooks (hv_none.c): straight to the VT-d model (state is
 * the sim, which hv_direct_create returns); translate bypasses the IOMMU under
 * a policy that does not translate (iommu=pt).  Modes that add work only around
 * some hooks use the others as they are. */
void *hv_direct_create(iosim_sim_t *s, iosim_err_t *err);
long hv_direct_map(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                   uint64_t size, bool write, iosim_err_t *err);
long hv_direct_unmap(void *state, uint16_t did, uint64_t iova, uint64_t size,
                     iosim_err_t *err);
double hv_direct_submit(void *state, const vtd_desc_t *d, size_t n);
vtd_xlate_result_t hv_direct_translate(void *state, uint16_t sid,
                                       uint32_t pasid, uint16_t did,
                                       uint64_t iova, bool write);

/* The host's static map of guest RAM (hv_guest_pt.c): a device given
 * guest-physical addresses (a guest with iommu=pt) is translated by the
 * host stage alone; guest-passthrough's translate hook, and the
 * emulated vIOMMU's under a guest policy that does not translate. */
vtd_xlate_result_t hv_guest_ram_translate(iosim_sim_t *s, uint16_t sid,
                                          uint64_t gpa, bool write);

extern const hv_mode_ops_t *const hv_mode_registry[];
const hv_mode_ops_t *hv_mode_find(const char *name);
/* The modes with two_stage, '|'-separated into buf (for messages). */
void hv_mode_names_two_stage(char *buf, size_t n);

#endif
