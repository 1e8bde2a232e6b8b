/* iova.h — the Linux IOVA allocator model and the trace-to-model IOVA map
 * used by reallocating policies and schemes; `gen nic` allocates the
 * IOVAs of the traces it writes from the same model.
 *
 * Concepts:
 *   - iova_domain_t models one drivers/iommu/iova.c `struct iova_domain`
 *     (one per DMA domain) as Linux 6.x uses it from dma-iommu.c
 *     (MODEL.md §1.5): an ordered set of allocated pfn ranges searched
 *     top-down from a cached node (cached32_node below 4 GiB, cached_node
 *     above), natural alignment, sizes < 32 pages rounded up to a power
 *     of two, and a per-CPU range cache ("rcache") of 6 size classes
 *     (1..32 pages), each a `loaded` and a `prev` magazine of 127 pfns,
 *     backed by a LIFO depot of full magazines that a 100 ms delayed work
 *     trims one magazine at a time while it holds more than one magazine
 *     per CPU.  iova_dma_alloc() adds dma-iommu.c's "try below 4 GiB
 *     first" rule for PCI devices.
 *   - The allocated-range set is a treap (base/range_treap.h, a
 *     randomised balanced search tree): insert, delete, predecessor and
 *     successor are O(log n) and memory grows with live allocations
 *     only.  The tree shape does not change which pfn is chosen; the
 *     search order does, and it follows __alloc_and_insert_iova_range()
 *     step by step.
 *   - iova_xmap_t maps a trace's IOVA ranges (per domain) to the model's
 *     IOVAs, so the device's accesses to a trace address find the model
 *     mapping (os_policy_ops_t.dma_iova).  iova_remap_t bundles one
 *     allocator per domain and one xmap for the common "allocate at map,
 *     free after invalidation" pattern of strict and lazy.
 * Assumptions:
 *   - 4 KiB granule, start_pfn 1, dma_32bit_pfn 1 << 20 (MODEL.md §1.5).
 *   - The device's DMA mask is 64 bits, clamped to the domain's address
 *     width; one device per domain (the sticky pci_32bit_workaround flag
 *     is kept per domain).
 *   - Reserved regions: only the interrupt (MSI) window
 *     0xFEE00000-0xFEEFFFFF is reserved in every domain
 *     (drivers/iommu/intel/iommu.c intel_iommu_get_resv_regions,
 *     IOAPIC_RANGE_START/END); host-bridge windows are machine-specific
 *     and not reserved.
 *   - The CPU that frees an IOVA is the CPU the trace names for the
 *     operation that releases it.
 * Not modeled: magazine allocation failures (GFP_ATOMIC), lock cost,
 * CPU hotplug, iommu.forcedac (call iova_dma_alloc with pci32 false).
 */
#ifndef IOSIM_IOVA_H
#define IOSIM_IOVA_H

#include <stdbool.h>
#include <stdint.h>

#include "iosim.h" /* iosim_sim_t, iosim_rec_t, iosim_err_t */

#define IOVA_SHIFT 12u
#define IOVA_START_PFN 1ull              /* iova.c init_iova_domain */
#define IOVA_DMA32_PFN (1ull << 20)      /* 1 << (32 - shift)       */
#define IOVA_RANGE_CACHE_MAX_SIZE 6u     /* size classes 1..32 pages */
#define IOVA_MAG_SIZE 127u               /* pfns per magazine        */
#define IOVA_DEPOT_DELAY_NS 100000000ull /* IOVA_DEPOT_DELAY 100 ms  */
#define IOVA_MAX_CPUS 256u
/* The MSI window (intel_iommu_get_resv_regions: IOAPIC_RANGE_START
 * 0xfee00000 .. IOAPIC_RANGE_END 0xfeefffff), reserved in every DMA
 * domain. */
#define IOVA_MSI_LO_PFN (0xfee00000ull >> IOVA_SHIFT)
#define IOVA_MSI_HI_PFN (0xfeefffffull >> IOVA_SHIFT)

typedef struct iova_domain iova_domain_t;

iova_domain_t *iova_domain_new(void);
void iova_domain_free(iova_domain_t *d);
/* A DMA domain as iommu_dma_init_domain leaves it: the MSI window
 * reserved (Assumptions above), depot trimming against `cpus` online
 * CPUs.  NULL when out of memory.  The replay's reallocating policies and
 * `gen nic` allocate from one of these per domain. */
iova_domain_t *iova_dma_domain_new(unsigned cpus);

/* reserve_iova(): marks [pfn_lo, pfn_hi] as never allocatable. */
int iova_reserve(iova_domain_t *d, uint64_t pfn_lo, uint64_t pfn_hi);

/* alloc_iova_fast(): pages (rounded up to a power of two when < 32),
 * highest naturally aligned slot ending at or below limit_pfn.  Returns
 * the first pfn, 0 on failure.  *rcache_hit (may be NULL) tells whether
 * the per-CPU cache served it. */
uint64_t iova_alloc_fast(iova_domain_t *d, unsigned cpu, uint64_t pages,
                         uint64_t limit_pfn, bool flush_rcache,
                         bool *rcache_hit);
/* iommu_dma_alloc_iova(): for a PCI device first tries below 4 GiB
 * (without flushing the rcache), then, once that fails, sticks to the
 * full range up to dma_limit_pfn. */
uint64_t iova_dma_alloc(iova_domain_t *d, unsigned cpu, uint64_t pages,
                        uint64_t dma_limit_pfn, bool pci32, bool *rcache_hit);
/* free_iova_fast(): pages is the size asked at allocation time. */
void iova_free_fast(iova_domain_t *d, unsigned cpu, uint64_t pfn,
                    uint64_t pages);
/* Advances time to now (ns) and runs the depot-trimming delayed work
 * that fell due; work scheduled by a depot push runs 100 ms later. */
void iova_tick(iova_domain_t *d, uint64_t now);
/* num_online_cpus() for depot trimming; 0 = CPUs seen so far. */
void iova_set_online_cpus(iova_domain_t *d, unsigned n);

/* Introspection for tests and stats. */
uint64_t iova_live_ranges(const iova_domain_t *d); /* tree nodes, w/o anchor */
unsigned iova_depot_size(const iova_domain_t *d, unsigned size_class);
unsigned iova_cpu_loaded(const iova_domain_t *d, unsigned cpu,
                         unsigned size_class);
unsigned iova_cpu_prev(const iova_domain_t *d, unsigned cpu,
                       unsigned size_class);
/* Is pfn inside an allocated (tree) range? */
bool iova_is_allocated(const iova_domain_t *d, uint64_t pfn);

/* ---- trace IOVA -> model IOVA ------------------------------------------ */

typedef struct iova_xent {
    uint16_t did;
    uint8_t cpu;          /* CPU of the map                              */
    uint64_t trace_iova;  /* start in the trace (page aligned)           */
    uint64_t size;        /* bytes (page aligned)                        */
    uint64_t model_iova;  /* start in the model (page aligned)           */
    uint64_t phys;        /* start of the physical range                 */
    uint64_t alloc_pfn;   /* IOVA allocation to free (0 = none)          */
    uint64_t alloc_pages; /* pages asked at allocation                   */
    void *user;           /* owner's extra state                         */
    uint64_t user_u;
} iova_xent_t;

typedef struct iova_xmap iova_xmap_t;

iova_xmap_t *iova_xmap_new(void);
void iova_xmap_free(iova_xmap_t *m);
/* Adds a range; returns the entry to fill (did/trace_iova/size set), or
 * NULL when out of memory.  Ranges of one domain must not overlap. */
iova_xent_t *iova_xmap_insert(iova_xmap_t *m, uint16_t did, uint64_t trace_iova,
                              uint64_t size);
/* The entry whose range contains addr, or NULL. */
iova_xent_t *iova_xmap_find(const iova_xmap_t *m, uint16_t did, uint64_t addr);
/* The lowest entry of did overlapping [lo, hi), or NULL. */
iova_xent_t *iova_xmap_overlap(const iova_xmap_t *m, uint16_t did, uint64_t lo,
                               uint64_t hi);
/* Removes (and frees) an entry returned by the calls above. */
void iova_xmap_remove(iova_xmap_t *m, iova_xent_t *e);
uint64_t iova_xmap_count(const iova_xmap_t *m);

/* ---- allocation at map, release after invalidation --------------------- */

typedef struct iova_remap iova_remap_t;

/* A detached mapping: what to unmap, invalidate and then release. */
typedef struct iova_piece {
    uint16_t did;
    uint8_t cpu;
    uint64_t model_iova, size;
    uint64_t alloc_pfn, alloc_pages;
} iova_piece_t;

iova_remap_t *iova_remap_new(iosim_sim_t *s, iosim_err_t *err);
void iova_remap_free(iova_remap_t *m);
/* The allocator of domain did (created on first use; NULL when out of
 * memory). */
iova_domain_t *iova_remap_domain(iova_remap_t *m, uint16_t did);
/* Largest pfn of the domains' address width (the DMA limit). */
uint64_t iova_remap_limit_pfn(const iova_remap_t *m);
/* MAP: allocates an IOVA for r (counts os.iova_allocs and
 * os.iova_rcache_hits), records trace -> model and returns the model IOVA
 * of r->iova (sub-page offset kept) in *iova. */
int iova_remap_map(iova_remap_t *m, const iosim_rec_t *r, uint64_t *iova,
                   iosim_err_t *err);
/* UNMAP: detaches the lowest recorded mapping overlapping r's range into
 * *out; false when none is left.  A mapping partly covered is detached
 * whole. */
bool iova_remap_take(iova_remap_t *m, const iosim_rec_t *r, iova_piece_t *out);
/* Frees the IOVA of a detached mapping (free_iova_fast on its CPU). */
void iova_remap_release(iova_remap_t *m, const iova_piece_t *p);
/* Model IOVA for a trace address (DMA records, synthesized accesses);
 * an address no mapping covers goes to page 0, which the allocator never
 * hands out (start_pfn 1), so the access faults as it did in the trace. */
uint64_t iova_remap_dma(iova_remap_t *m, const iosim_rec_t *r);
/* Domain of a record: DMA records may name DID 0 = the device's domain. */
uint16_t iova_rec_domain(const iosim_sim_t *s, const iosim_rec_t *r);
iova_xmap_t *iova_remap_xmap(iova_remap_t *m);

#endif /* IOSIM_IOVA_H */
