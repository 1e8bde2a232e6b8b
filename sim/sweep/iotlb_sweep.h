/* iotlb_sweep.h — IOTLB size and associativity sweeps under LRU: every
 * (sets, ways) of a grid from one replay when that is exact, else one
 * sim per point (all in one decode).
 *
 * Concepts:
 *   - One pass: one sim of the base configuration whose IOTLB reports
 *     each operation to an all-associativity stack (cache/allassoc.h);
 *     the IOTLB counters of every geometry come from it.  Only the IOTLB's
 *     own counters: the walks, paging-structure caches and timing of a
 *     geometry depend on its misses, so they differ per point and a one-
 *     pass row does not have them.
 *   - Exact means the counters equal those of a separate run of that
 *     geometry (tests/cli/iotlb_sweep.sh checks it on shipped traces).
 *     Needs LRU replacement and an input stream that does not depend on
 *     the geometry: vtd.inval_walks_in_flight=complete (a discarded fill
 *     depends on walk timing), single-size lookups, no stale hit on an
 *     unmapped page (allassoc.h's assumptions, checked as it runs).
 *   - Fallback: when the base configuration rules one pass out, or the
 *     run finds it inexact, every point runs as its own sim (a second
 *     replay), and the rows are those sims' counters.
 * Assumptions: the grid's set counts are powers of two.
 *   - The PDE cache (vtd.psc_pd) alone, the other caches fixed: every walk
 *     to a 4 KB leaf looks it up first and, on a miss, reads and fills
 *     that PDE, whatever the upper caches do; so its input is free of its
 *     own geometry and one pass is exact for it.
 *   - The PDPTE cache (vtd.psc_pdpt) alone, the others fixed: it is
 *     probed when the PDE cache missed, and what the PDE cache holds does
 *     not depend on the PDPTE cache (a walk to a 4 KB leaf reads and
 *     fills its PDE whether the PDPTE cache hit or missed), so the PDPTE
 *     cache's input is free of its own geometry too; on a miss it is
 *     filled with the key it missed.  Likewise the PML4E cache
 *     (vtd.psc_pml4), probed when both below missed, the PDPTE filled
 *     whether the PML4E cache hit or missed.  As separate sims only
 *     their misses are known (psc.l2_misses, psc.l1_misses).
 *   - The IOTLB x the PDE cache: for a fixed IOTLB geometry the walks
 *     (the IOTLB's misses) do not depend on the PSCs when walks in flight
 *     complete (with drop-fill or restart a walk's time, shortened by PSC
 *     hits, decides whether an invalidation discards its IOTLB fill, so
 *     they do: tests/cli/iotlb_sweep.sh shows it); so one sim per IOTLB
 *     geometry with a shadow on its PDE cache gives every PDE geometry.
 * Not modeled: two paging-structure caches' grids in one pass (their
 *   lookups cascade: the PDPTE cache is probed only when the PDE cache
 *   missed, so its input depends on the PDE cache's geometry); every
 *   IOTLB geometry's PDE stream from one pass (each IOTLB geometry is a
 *   sim of its own; all share one decode).
 */
#ifndef IOSIM_IOTLB_SWEEP_H
#define IOSIM_IOTLB_SWEEP_H

#include "iosim.h"

typedef struct iotlb_sweep_row {
    uint32_t sets, ways;
    uint64_t lookups, hits, misses, evictions, invalidated;
    bool misses_only; /* separate sims of the PDE cache: the stats have
                         its misses only (psc.l3_misses) */
} iotlb_sweep_row_t;

/* Which cache the grid sizes. */
typedef enum iotlb_sweep_cache {
    IOTLB_SWEEP_IOTLB,
    IOTLB_SWEEP_PSC_PD,   /* vtd.psc_pd, the PDE paging-structure cache */
    IOTLB_SWEEP_PSC_PDPT, /* vtd.psc_pdpt, the PDPTE cache */
    IOTLB_SWEEP_PSC_PML4  /* vtd.psc_pml4, the PML4E cache */
} iotlb_sweep_cache_t;

typedef enum iotlb_sweep_method {
    IOTLB_SWEEP_AUTO, /* one pass if exact, else separate sims */
    IOTLB_SWEEP_PLAIN /* separate sims only */
} iotlb_sweep_method_t;

/* rows[nsets * nways] in order (sets[0], ways[0]), (sets[0], ways[1]) ...
 * *one_pass: whether they came from one pass; *why (if not NULL, 128
 * bytes) says why not.  Returns 0 or -1 with err set. */
int iotlb_sweep_run(const iosim_config_t *base, const char *trace,
                    iotlb_sweep_cache_t which, const uint32_t *sets,
                    size_t nsets, const uint32_t *ways, size_t nways,
                    iotlb_sweep_method_t method, unsigned threads,
                    iotlb_sweep_row_t *rows, bool *one_pass, char *why,
                    iosim_err_t *err);

/* One point of an IOTLB x PDE-cache grid: the IOTLB's counters (always
 * those of a sim of its geometry) and the PDE cache's (misses_only when
 * they came from separate sims). */
typedef struct iotlb_psc_row {
    iotlb_sweep_row_t iotlb, pde;
} iotlb_psc_row_t;

/* Every IOTLB geometry (sets x ways) with every PDE-cache geometry
 * (psc_sets x psc_ways), the other caches as the base has them.  One
 * sim per IOTLB geometry, all in one decode, each with an all-
 * associativity shadow on its PDE cache: for a fixed IOTLB the walks do
 * not depend on the PSCs (vtd.inval_walks_in_flight=complete), and the
 * PDE cache's input not on its own geometry (see above).  When the PDE
 * cache rules that out, every point runs as its own sim (in decodes of
 * at most 256 sims).  rows[] in order IOTLB point (as iotlb_sweep_run),
 * then PDE point (psc_sets outer); threads as iosim --threads. */
int iotlb_psc_sweep_run(const iosim_config_t *base, const char *trace,
                        const uint32_t *sets, size_t nsets,
                        const uint32_t *ways, size_t nways,
                        const uint32_t *psc_sets, size_t npsc_sets,
                        const uint32_t *psc_ways, size_t npsc_ways,
                        iotlb_sweep_method_t method, unsigned threads,
                        iotlb_psc_row_t *rows, bool *one_pass, char *why,
                        iosim_err_t *err);

#endif
