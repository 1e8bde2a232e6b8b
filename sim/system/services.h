/* services.h — what a plug-in (OS policy or scheme, hypervisor mode,
 * device model) may ask of the system it runs in.
 *
 * Concepts:
 *   - A plug-in gets the system (iosim_sim_t, opaque) at create and keeps
 *     it; through these calls it reads the resolved configuration, the
 *     current time and the trace's metadata, counts, charges CPU time and
 *     reaches the components below it.  It never sees the system's
 *     fields, so the composition (sim.c) can change without touching a
 *     plug-in.
 *   - Policies and modes never touch counters of other components
 *     directly; they call these services, which count.
 *   - Layering: an OS policy reaches the IOMMU only through sim_iommu_*
 *     (routed through the hypervisor mode); a hypervisor mode drives the
 *     VT-d model (sim_vtd); a device model emits accesses (dev.h).
 * Assumptions: calls come from the thread running the system (a system
 *   is run by one thread at a time).
 * Not modeled: nothing; this is plumbing.
 */
#ifndef IOSIM_SYSTEM_SERVICES_H
#define IOSIM_SYSTEM_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "iosim.h"
#include "stats/stat_list.h"
#include "vtd/vtd.h"

/* The system's resolved configuration (its own copy: os.kernel auto
 * resolved, plug-in parameters in its plug-in area). */
const iosim_config_t *sim_config(const iosim_sim_t *s);
/* Time of the record being processed (trace ns). */
uint64_t sim_now(const iosim_sim_t *s);
/* The trace's metadata (online CPUs, kernel, device...). */
const iosim_trace_meta_t *sim_meta(const iosim_sim_t *s);
/* Whether the OS policy translates DMA (false: iommu=pt, the device uses
 * physical addresses). */
bool sim_os_translates(const iosim_sim_t *s);
/* The VT-d hardware model: for hypervisor modes, which drive it, and for
 * what a policy must ask the hardware's tables (the domain of a device). */
vtd_t *sim_vtd(const iosim_sim_t *s);

/* Cause of CPU time, for per-request breakdowns: SIM_CPU_<ID> of each
 * cause in iosim_costs.h. */
typedef enum sim_cpu_cause {
#define IOSIM_X_CAUSE(a, id, field, what, help) SIM_CPU_##id,
    IOSIM_CPU_COSTS(IOSIM_X_CAUSE, )
#undef IOSIM_X_CAUSE
} sim_cpu_cause_t;

void sim_cpu(iosim_sim_t *s, sim_cpu_cause_t cause, double cycles);

/* A component runs something else than its configuration names (lazy
 * under caching mode runs strict, as Linux does): what (e.g. "forced
 * strict: caching mode") is appended to the sim's label in parentheses,
 * so every report, epoch row and plot that names the sim says so. */
void sim_note_substitution(iosim_sim_t *s, const char *what);

typedef void (*sim_submit_observer_fn)(void *arg, const vtd_desc_t *d,
                                       size_t n);
/* Observer of the OS's invalidation submissions (tests, debugging): called
 * with each qi_submit_sync() batch before the hypervisor sees it. */
void sim_observe_submits(iosim_sim_t *s, sim_submit_observer_fn fn, void *arg);
/* Adds n to counter id (a counter of the plug-in's own component). */
void sim_count(iosim_sim_t *s, enum iosim_stat_id id, uint64_t n);
/* An allocation failed where no error can be returned (a submission, a
 * translation): the run fails with "out of memory" at the end of the
 * batch of records, not with results that miss what was not stored. */
void sim_out_of_memory(iosim_sim_t *s);

/* Guest-visible IOMMU operations: routed through the hypervisor mode. */
long sim_iommu_map(iosim_sim_t *s, uint16_t did, uint64_t iova, uint64_t phys,
                   uint64_t size, bool write, iosim_err_t *err);
long sim_iommu_unmap(iosim_sim_t *s, uint16_t did, uint64_t iova, uint64_t size,
                     iosim_err_t *err);
/* One qi_submit_sync(): n descriptors + the implicit wait. */
void sim_iommu_submit(iosim_sim_t *s, const vtd_desc_t *d, size_t n);

#endif
