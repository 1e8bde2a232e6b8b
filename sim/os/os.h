/* os.h — guest-OS DMA policies (Linux strict / lazy / passthrough, and
 * alternative schemes) as plug-ins.
 *
 * Concepts:
 *   - A policy is an ops struct: it receives the trace's MAP, UNMAP and
 *     INVAL records and decides what page-table changes and invalidations
 *     the IOMMU sees, calling sim_iommu_map/unmap/submit and charging CPU
 *     cycles with sim_cpu (sim.h).  Each policy re-derives the
 *     invalidation stream from map/unmap, so a trace captured under one
 *     policy replays under any other; the `trace` policy instead replays
 *     the invalidations the kernel logged (ground truth).
 *   - The registry (os_registry.c) is the only list of policies: a new
 *     scheme is one file plus one table line.
 *   - Shared Linux mechanics (PSI range, batching, flush-all) live in
 *     os_linux.c so that schemes reuse them; where Linux 6.1 and 6.12
 *     differ, os.kernel decides (os_kernel.c lists each difference).
 * Assumptions: see each policy file.
 * Not modeled: SWIOTLB bouncing, dma_map_sg segment merging.
 */
#ifndef IOSIM_OS_H
#define IOSIM_OS_H

#include "system/services.h"

typedef struct os_policy_ops {
    const char *name;
    const char *summary;
    const char *source; /* paper / kernel file it models */
    bool translates;    /* false: DMA bypasses the IOMMU (passthrough) */
    /* How a Linux capture shows this policy, for a policy Linux has (boot
     * NULL: a scheme Linux does not have): the line the kernel prints at
     * boot, its kernel command-line option, and whether its lines win
     * over another policy's (iommu=pt sets the default domain type
     * whatever iommu.strict says).  iosim-trace import reads meta.policy
     * from these; hv.host_policy accepts the ones that translate. */
    struct {
        const char *boot, *cmdline;
        bool overrides;
    } capture;
    void *(*create)(iosim_sim_t *s, iosim_err_t *err);
    void (*destroy)(void *state); /* NULL = state needs no freeing */
    int (*map)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    int (*unmap)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* an INVAL record of the trace; NULL = ignored */
    int (*inval)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* time advanced to now (timers); NULL = no timers */
    void (*tick)(void *state, uint64_t now);
    /* end of trace (flush what is pending); NULL = nothing to do */
    int (*finish)(void *state, iosim_err_t *err);
    /* IOVA the device uses for a trace IOVA (reallocating policies);
     * NULL = the trace's IOVA */
    uint64_t (*dma_iova)(void *state, const iosim_rec_t *r);
    /* true: dma_iova returns the trace's IOVA for every access of the run
     * (a reallocating policy in os.iova_mode replay), so the replay's
     * fast path need not call it; NULL = call dma_iova per access */
    bool (*dma_iova_is_trace)(void *state);
    /* a device access of size bytes at (model) iova, before it is
     * translated: software translation caches of a scheme, or descriptors
     * held back that the access must see submitted; NULL = none */
    void (*dma)(void *state, const iosim_rec_t *r, uint64_t iova, uint64_t size,
                bool write);
    /* its own parameters (scheme.<name>_*), their check and the settings
     * it implies (applied when a --compare or sweep item names it, before
     * its @MODE's, the kernel and the point's own settings, which may
     * override them); the policy reads its parameters with
     * iosim_plugin_params(sim_config(s), params.rows) */
    iosim_plugin_params_t params;
} os_policy_ops_t;

extern const os_policy_ops_t *const os_policy_registry[];
const os_policy_ops_t *os_policy_find(const char *name);

/* The policies that do not translate (iommu=pt), '|'-separated into buf
 * (for messages). */
void os_policy_names_not_translating(char *buf, size_t n);

/* ---- The kernel version (os_kernel.c) -------------------------------- */

/* Resolves os.kernel (auto: from meta, which may be NULL) and the settings
 * that say "kernel" into c's effective fields (os.strict_batch, pass_ih,
 * flush_all_devtlb_cm) and rewrites those parameters' text to the values
 * that run.  Called when a sim is created; again on a resolved config it
 * changes nothing.  0, or -1 with err set (a bad os.strict_batch). */
int os_kernel_resolve(iosim_config_t *c, const iosim_trace_meta_t *meta,
                      iosim_err_t *err);
/* os.strict_batch's text ("kernel" or a count 1..254) checked as
 * os_kernel_resolve reads it: 0, or -1 with err set naming the key, so
 * iosim_config_validate refuses a bad value where the file gives it. */
int os_kernel_check_batch(const char *text, iosim_err_t *err);

/* ---- Linux mechanics shared by policies (os_linux.c) ---------------- */

/* The DMA API maps into a first-stage table: a first-stage domain
 * (first_level_by_default, MODEL.md §1.1) or a nested guest's domain. */
bool os_linux_first_stage(const iosim_sim_t *s);

/* Invalidates [iova, iova+size) of did as Linux's strict unmap does
 * (cache_tag_flush_range, MODEL.md §1.6.3): one PSI (or a DSI when
 * AM > MAMV), IH = (no page-table page freed), plus a device-TLB
 * descriptor when ATS is on; submitted in batches of os.strict_batch
 * descriptors (16 on Linux >= 6.12, 1 before). */
void os_linux_flush_range(iosim_sim_t *s, uint16_t did, uint16_t sid,
                          uint64_t iova, uint64_t size, bool ih);
/* After a map under caching mode (MODEL.md §1.6.4): PSI, no devTLB. */
void os_linux_map_notify(iosim_sim_t *s, uint16_t did, uint64_t iova,
                         uint64_t size);
/* iommu_dma_map_page() as strict, lazy and coiommu do it: charge IOVA alloc and
 * map cycles, take the IOVA from remap (NULL = replay the trace's),
 * write the PTEs, notify under caching mode. 0 or -1 with err set. */
struct iova_remap;
int os_linux_map(iosim_sim_t *s, struct iova_remap *remap, const iosim_rec_t *r,
                 iosim_err_t *err);
/* Domain-wide flush (flush queue, cache_tag_flush_all §1.6.5). */
void os_linux_flush_all(iosim_sim_t *s, uint16_t did, uint16_t sid);

#endif
