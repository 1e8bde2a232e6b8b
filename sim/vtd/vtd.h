/* vtd.h — the Intel VT-d remapping hardware model.
 *
 * Concepts:
 *   - Domains (DID) own page tables: a single-stage table (first- or
 *     second-stage, MODEL.md §3.2) or, in nested mode, a guest first-stage
 *     table whose table pages are guest-physical addresses, translated by
 *     the host second-stage table of the VM (MODEL.md §3.3).
 *   - A translation consults, in order: device-TLB (ATS), context cache
 *     (+ PASID cache in scalable mode), IOTLB (4 KB / 2 MB / 1 GB entries),
 *     paging-structure caches from the lowest level up, then walks the
 *     rest of the table, counting every memory read per stage and level.
 *     Cold walks: legacy 2 + L reads, scalable 4 + L, nested
 *     4 + (Lfs+1)(Lss+1) - 1 = 28 for 4/4 (MODEL.md §3.3).
 *   - Every cache is an instance of the generic cache (cache.h).
 *   - Invalidation descriptors (vtd_desc_t, MODEL.md §3.5) are processed
 *     in submission batches; each batch ends with an implicit wait
 *     descriptor, as Linux's qi_submit_sync() appends one (MODEL.md §1.7).
 *   - Latency of a memory reference is the expected value of an LLC hit
 *     (llc_ns) with probability llc_hit_fraction and a DRAM access
 *     (mem_ns) otherwise.
 * Assumptions:
 *   - One IOMMU (one DRHD) serves every device.
 *   - Root/context/PASID tables always hold the entries a request needs
 *     (the OS attaches devices before DMA); their reads are counted, their
 *     contents are not modeled bit by bit.
 *   - A type-2 (IOTLB) descriptor removes IOTLB entries of its DID
 *     whatever their PASID; a PSI removes paging-structure-cache entries
 *     covering its range unless IH=1 and vtd.honour_ih (spec §6.5.2.3,
 *     MODEL.md §3.4).  What it removes from the IOTLB is
 *     vtd.psi_iotlb_scope: the spec's minimum, coarser what-ifs, or QEMU
 *     < 9.1's software IOTLB (qemu-mask8, checked against QEMU's log).
 * Not modeled: faults reporting/recording registers, interrupt
 * remapping, page requests (PRI), A/D-bit updates, snoop control.
 */
#ifndef IOSIM_VTD_H
#define IOSIM_VTD_H

#include "cache/cache.h"
#include "config/config.h"
#include "vtd/pgtable.h"

typedef enum vtd_xlate {
    VTD_XLATE_SECOND = 0, /* second-stage only (legacy default)   */
    VTD_XLATE_FIRST,      /* first-stage only (scalable)          */
    VTD_XLATE_NESTED,     /* guest first stage + host second stage */
    VTD_XLATE_PASSTHROUGH /* TT=2 / PGTT=100b: no translation      */
} vtd_xlate_t;

/* One invalidation descriptor (decoded fields, MODEL.md §3.5). */
typedef struct vtd_desc {
    uint8_t type; /* iosim_desc_type_t                 */
    uint8_t gran; /* IOSIM_GRAN_*                      */
    uint8_t am;   /* address mask: 2^am pages          */
    uint8_t ih;   /* invalidation hint                 */
    uint16_t did;
    uint16_t sid;
    uint32_t pasid;
    uint64_t addr;
} vtd_desc_t;

typedef struct vtd vtd_t;

/* Result of one translation. */
typedef struct vtd_xlate_result {
    double latency_ns;  /* translation latency                       */
    uint32_t mem_reads; /* memory references made (0 on a hit)       */
    bool iotlb_hit;
    bool devtlb_hit;
    bool fault;    /* not mapped                                */
    uint64_t phys; /* host-physical result                      */
} vtd_xlate_result_t;

/* st is the sim's counter array (IOSIM_ST_COUNT entries). */
vtd_t *vtd_new(const iosim_config_t *cfg, uint64_t *st, iosim_err_t *err);
/* v becomes a shared front's model (system.h sim_front_attach: its
 * tables and queue answer the front, its back ends translate and count):
 * from now on it counts into scratch instead (read by nothing), and
 * vtd_submit only times its descriptors, removing no cache line.  Exact
 * as long as nothing translates with v (its caches stay empty) and
 * nothing reads its counters: the queue's time depends on the
 * descriptors alone. */
void vtd_as_front(vtd_t *v, uint64_t *scratch);
void vtd_free(vtd_t *v);
vtd_xlate_t vtd_translation(const vtd_t *v);

/* Context programming: requests of source id sid use domain did (the OS
 * attaches a device to its DMA domain before mapping for it).  A request
 * that names DID 0 is translated in the domain of its source id (DID 0
 * is never a DMA domain: reserved under caching mode, MODEL.md §1.6.6). */
void vtd_attach(vtd_t *v, uint16_t sid, uint16_t did);
uint16_t vtd_domain_of(const vtd_t *v, uint16_t sid);

/* Page-table updates of domain did.  Return table pages allocated /
 * freed (>= 0) or -1 on an inconsistent request (error filled). */
long vtd_map(vtd_t *v, uint16_t did, uint64_t iova, uint64_t phys,
             uint64_t size, bool write, iosim_err_t *err);
long vtd_unmap(vtd_t *v, uint16_t did, uint64_t iova, uint64_t size,
               iosim_err_t *err);
/* True once a table page could not be allocated: a map failed with
 * "out of memory", or host backing made inside a translation (nested,
 * shadowing) is missing; the sim then fails the run. */
bool vtd_out_of_memory(const vtd_t *v);
/* Calls fn for each leaf of domain did overlapping [lo, hi). */
int vtd_host_for_each_leaf(vtd_t *v, uint16_t did, uint64_t lo, uint64_t hi,
                           pgtable_leaf_fn fn, void *arg);
/* Reads the domain's table without touching caches (shadowing, tests). */
bool vtd_lookup(vtd_t *v, uint16_t did, uint64_t iova, uint64_t *phys);

/* One device request to iova (size bytes, within one 4 KB page or one
 * large page).  Updates caches and counters. */
vtd_xlate_result_t vtd_translate(vtd_t *v, uint16_t sid, uint32_t pasid,
                                 uint16_t did, uint64_t iova, bool write);

/* What the replay's DMA fast path uses of a translation: 16 bytes, so
 * returned in registers (xmm0, rax) rather than through memory. */
typedef struct vtd_xlate_brief {
    double latency_ns;  /* as vtd_xlate_result_t's */
    uint32_t mem_reads; /* as vtd_xlate_result_t's */
    bool fault;         /* as vtd_xlate_result_t's */
    /* vtd_translate_quick's own answer (vtd_quick.h), counted in its
     * run's hits (latency quick_hit_ns, no read) or walks (quick_walk_ns,
     * one read); false from every other translation */
    bool quick;
} vtd_xlate_brief_t;

/* vtd_translate with the result's other fields left out: the same model
 * state, counters and these three fields. */
vtd_xlate_brief_t vtd_translate_brief(vtd_t *v, uint16_t sid, uint32_t pasid,
                                      uint16_t did, uint64_t iova, bool write);
/* Whether vtd_translate_quick (vtd_quick.h: vtd_translate_brief's plain
 * copy, inline for the replay's record loop) may stand for
 * vtd_translate_brief: the composition is the plain one (vtd_plain_copy)
 * and the IOTLB has no shadow.  Neither changes while requests are
 * translated, so a caller asks once for a batch of them. */
bool vtd_plain_brief_ok(const vtd_t *v);
/* Whether vtd_translate_quick_sh (vtd_quick.h) applies: the plain
 * composition whose IOTLB has an all-associativity shadow (a sweep's
 * leader). */
bool vtd_quick_sh_ok(const vtd_t *v);

/* Tests: requests vtd_translate_quick did not answer itself (the plain
 * copy's usual steps) but left to the plain copy. */
uint64_t vtd_quick_bails(const vtd_t *v);

/* Processes one submission of n descriptors plus the implicit wait and
 * returns the time the queue took (ns). */
double vtd_submit(vtd_t *v, const vtd_desc_t *d, size_t n);

/* Invalidations so far that dropped paging-structure-cache entries (a
 * PSI without a honoured IH, a domain-selective or global one): a caller
 * that models walks in flight compares it between two requests. */
uint64_t vtd_psc_drops(const vtd_t *v);
/* Drops the IOTLB entries of did that translate iova (a walk's fill
 * discarded), without counting an invalidation. */
void vtd_discard_fill(vtd_t *v, uint16_t did, uint64_t iova);
/* The IOTLB, to attach an all-associativity shadow to (allassoc.h); its
 * hits are then checked against the walk a missing geometry would do. */
cache_t *vtd_iotlb_cache(vtd_t *v);
/* Paging-structure cache slot 0..3 (PML5E, PML4E, PDPTE, PDE) of the
 * first-level walks. */
cache_t *vtd_psc_cache(vtd_t *v, unsigned slot);
/* The context cache (tests compare its state). */
cache_t *vtd_ctx_cache(vtd_t *v);
/* Tests: off makes vtd_translate take its general copy, every cache its
 * generic code and every invalidation test each line of a cache (the
 * plain path the shortcuts are compared with); on (the default) lets them
 * take their shortcuts where they apply. */
void vtd_set_shortcuts(vtd_t *v, bool on);
/* Whether vtd_translate takes its copy for the plain composition. */
bool vtd_plain_copy(const vtd_t *v);

/* Latency of one memory reference (expected value, ns). */
double vtd_mem_ref_ns(const vtd_t *v);

/* Page-table pages currently allocated (for stats). */
uint64_t vtd_pt_pages_live(const vtd_t *v);
uint64_t vtd_pt_pages_peak(const vtd_t *v);
uint64_t vtd_mapped_4k(const vtd_t *v);

/* Linux's calculate_psi_aligned_address() (MODEL.md §1.6.2): the smallest
 * naturally aligned power-of-two range covering [start, start+size). */
void vtd_psi_range(uint64_t start, uint64_t size, uint64_t *addr, uint8_t *am);

#endif /* IOSIM_VTD_H */
