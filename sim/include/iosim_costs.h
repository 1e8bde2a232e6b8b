/* iosim_costs.h — the causes of CPU cost, each declared once.
 *
 * Concepts:
 *   - IOSIM_CPU_COSTS(C, A) lists C(A, ID, field, "what", "counter help").
 *     Each cause becomes the counter cpu.<field>_cycles
 *     (IOSIM_ST_CPU_<ID>_CYC, stats/stat_list.h), the derived metric
 *     per_request.<field>_cycles ("<what> CPU cycles per request"), the
 *     summary field <field>_cycles of iosim_summary_t ("<what> cycles per
 *     request") and so a bar of scripts/plot_compare.py, which plots every
 *     summary field named *_cycles.  A model charges a cause with
 *     sim_cpu(s, SIM_CPU_<ID>, cycles) (system/services.h); all causes add up
 * to cpu.iommu_cycles.
 *   - A new cause is one line here.  A build may add causes of its own
 *     by defining IOSIM_CPU_COSTS_EXTRA(C, A) before this header is read
 *     (tests/plugin compiles a test build of the library that way); they
 *     follow the built-in ones everywhere.
 *   - A is passed through untouched: it lets another X-macro list expand
 *     this one with its own X.
 * Assumptions: costs are CPU cycles, counted as uint64_t (rounded).
 * Not modeled: costs of other resources than the CPU.
 */
#ifndef IOSIM_COSTS_H
#define IOSIM_COSTS_H

// clang-format off
#define IOSIM_CPU_COSTS_BUILTIN(C, A)                                          \
    C(A, MAP, map, "map", "CPU cycles in map")                                 \
    C(A, UNMAP, unmap, "unmap", "CPU cycles in unmap")                         \
    C(A, IOVA, iova, "IOVA alloc/free", "CPU cycles in IOVA alloc/free")       \
    C(A, INVAL, inval, "invalidation",                                         \
      "CPU cycles submitting invalidations and waiting")                       \
    C(A, VMEXIT, vmexit, "VM-exit", "CPU cycles in VM exits")                  \
    C(A, SHADOW, shadow, "hypervisor shadowing",                               \
      "CPU cycles in hypervisor shadowing work")                               \
    C(A, SW_IOTLB, sw_iotlb, "software device-IOTLB",                          \
      "CPU cycles of a software device-IOTLB: backend lookups and miss "      \
      "round trips (vhost-iotlb)")
// clang-format on

#ifndef IOSIM_CPU_COSTS_EXTRA
#define IOSIM_CPU_COSTS_EXTRA(C, A)
#endif

#define IOSIM_CPU_COSTS(C, A)                                                  \
    IOSIM_CPU_COSTS_BUILTIN(C, A) IOSIM_CPU_COSTS_EXTRA(C, A)

#endif /* IOSIM_COSTS_H */
