/* stat_list.h — every counter of iosim, declared exactly once.
 *
 * Concepts: X(ID, "dotted.name", "description").  The lists generate the
 * enum of counter indices (IOSIM_ST_<ID>), the name and description
 * tables, and every printer (text, JSON, CSV).  A component adds a line
 * to its own list; nothing else needs to change.
 * Assumptions: counters are uint64_t and only ever increase.
 * Not modeled here: per-epoch rows are system/epoch.c (iosim --epoch).
 */
#ifndef IOSIM_STAT_LIST_H
#define IOSIM_STAT_LIST_H

#include "iosim_costs.h" /* the CPU-cost causes: cpu.*, per_request.* */

/* One cause of iosim_costs.h as a counter and as a derived metric. */
#define IOSIM_X_COST_STAT(X, id, field, what, help)                            \
    X(CPU_##id##_CYC, "cpu." #field "_cycles", help)
// clang-format off
#define IOSIM_X_COST_DERIVED(D, id, field, what, help)                         \
    D(id##_CYC_PER_REQ, "per_request." #field "_cycles", CPU_##id##_CYC,      \
      REQUESTS, 1.0, what " CPU cycles per request")
// clang-format on

// clang-format off
#define IOSIM_TRACE_STATS(X)                                                   \
    X(REC_TOTAL, "trace.records", "trace records consumed")                    \
    X(REC_MAP, "trace.map", "MAP records")                                     \
    X(REC_MAP_RO, "trace.map_read_only",                                       \
      "MAP records the device may only read (prot r: transmit buffers such "   \
      "as ACKs); 0 for sources without prot (ftrace maps read rw)")           \
    X(REC_UNMAP, "trace.unmap", "UNMAP records")                               \
    X(REC_DMA, "trace.dma", "DMA records in the trace")                        \
    X(REC_INVAL, "trace.inval", "INVAL records (invalidations the kernel "     \
                                "submitted)")                                  \
    X(REC_INVAL_IOTLB, "trace.inval_iotlb",                                    \
      "INVAL records of IOTLB or PASID-IOTLB type")                            \
    X(REC_INVAL_PIOTLB, "trace.inval_piotlb",                                  \
      "INVAL records of PASID-IOTLB type (part of trace.inval_iotlb)")         \
    X(REC_INVAL_DEVTLB, "trace.inval_devtlb",                                  \
      "INVAL records of device-TLB type")                                      \
    X(REC_MARK, "trace.mark", "MARK records")                                  \
    X(REQUESTS, "trace.requests", "requests (MARK request records, else "     \
                                  "the trace metadata's count)")               \
    X(TRACE_NS, "trace.duration_ns", "time from first to last record")
// clang-format on

// clang-format off
#define IOSIM_DMA_STATS(X)                                                     \
    X(DMA_REQS, "dma.requests", "device DMA requests translated")              \
    X(DMA_BYTES, "dma.bytes", "bytes moved by device DMA requests")            \
    X(DMA_PAGES_4K, "dma.pages_4k", "4 KB pages touched by DMA (a 64 B "     \
                                    "access counts one page)")       \
    X(DMA_SYNTH, "dma.synthesized", "DMA requests synthesized by the "         \
                                    "access model")                            \
    X(DMA_FAULTS, "dma.faults", "DMA requests to unmapped IOVAs (faults)")     \
    X(DMA_STALE, "dma.stale_hits", "DMA requests that hit a stale IOTLB "      \
                                   "entry of an unmapped IOVA")                \
    X(DMA_LAT_NS, "dma.latency_ns_total", "sum of translation latencies")      \
    X(DMA_XLATE_NS, "dma.xlate_time_ns", "translation stage busy time: "      \
                                         "l0 + translation latency per "       \
                                         "request, in series (F&S model)")     \
    X(DMA_WIRE_NS, "dma.link_time_ns", "link stage busy time: bytes / "       \
                                       "vtd.link_gbps per request")            \
    X(DMA_TIME_NS, "dma.device_time_ns", "device busy time: the slower of "   \
                                         "the translation and link stages "    \
                                         "(they overlap as a pipeline)")       \
    X(DMA_OVERLAP_NS, "dma.overlapped_time_ns", "device time with requests "  \
                                                "issued back to back and up "  \
                                                "to vtd.max_walks walks in "   \
                                                "flight")                      \
    X(DMA_WALK_WAIT_NS, "dma.walk_wait_ns", "time walks waited for a free "  \
                                            "walker, summed (open loop: the "  \
                                            "device is not held back by the "  \
                                            "backlog, so when walks are the "  \
                                            "bottleneck this grows with the "  \
                                            "square of the trace length)")
// clang-format on

/* Translation latency per DMA request, log2 buckets (ns). */
// clang-format off
#define IOSIM_LAT_STATS(X)                                                     \
    X(LAT_LT4, "dma.latency_hist.lt_4ns", "requests translated in < 4 ns")     \
    X(LAT_LT16, "dma.latency_hist.lt_16ns", "... in [4, 16) ns")              \
    X(LAT_LT64, "dma.latency_hist.lt_64ns", "... in [16, 64) ns")             \
    X(LAT_LT256, "dma.latency_hist.lt_256ns", "... in [64, 256) ns")          \
    X(LAT_LT1K, "dma.latency_hist.lt_1024ns", "... in [256, 1024) ns")        \
    X(LAT_LT4K, "dma.latency_hist.lt_4096ns", "... in [1024, 4096) ns")       \
    X(LAT_GE4K, "dma.latency_hist.ge_4096ns", "... in 4096 ns or more")
// clang-format on

// clang-format off
#define IOSIM_VTD_STATS(X)                                                     \
    X(IOTLB_LOOKUPS, "iotlb.lookups", "IOTLB lookups")                         \
    X(IOTLB_HITS, "iotlb.hits", "IOTLB hits")                                  \
    X(IOTLB_MISSES, "iotlb.misses", "IOTLB misses")                            \
    X(IOTLB_EVICTIONS, "iotlb.evictions", "IOTLB evictions")                   \
    X(IOTLB_INVAL_ENTRIES, "iotlb.invalidated", "IOTLB entries invalidated")   \
    X(CTX_MISSES, "ctxcache.misses", "context-cache misses")                   \
    X(PASID_MISSES, "pasidcache.misses", "PASID-cache misses")                 \
    X(PSC1_MISSES, "psc.l1_misses", "PTcache-L1 (PML4E) misses: walks that "   \
                                    "read the root page-table level")          \
    X(PSC2_MISSES, "psc.l2_misses", "PTcache-L2 (PDPTE) misses")               \
    X(PSC3_MISSES, "psc.l3_misses", "PTcache-L3 (PDE) misses")                 \
    X(PSC_INVAL_ENTRIES, "psc.invalidated", "paging-structure-cache entries "  \
                                            "invalidated")                     \
    X(DEVTLB_LOOKUPS, "devtlb.lookups", "device-TLB lookups")                  \
    X(DEVTLB_MISSES, "devtlb.misses", "device-TLB misses")                     \
    X(WALKS, "walk.walks", "page walks")                                       \
    X(WALK_FILLS_DISCARDED, "walk.fills_discarded",                            \
      "walks in flight whose IOTLB fill an invalidation that dropped PSC "     \
      "entries discarded (vtd.inval_walks_in_flight)")                         \
    X(WALK_READS, "walk.mem_reads", "IOMMU memory reads (all walks)")          \
    X(WALK_READS_S1, "walk.mem_reads_s1", "first-stage page-table reads "      \
                                          "(first-stage or nested guest)")   \
    X(WALK_READS_S2, "walk.mem_reads_s2", "second-stage page-table reads")       \
    X(WALK_READS_CTX, "walk.mem_reads_ctx", "root/context/PASID reads")        \
    X(WALK_READS_L1, "walk.mem_reads_l1", "page-table reads at level 1 "       \
                                          "(PTEs), both stages")               \
    X(WALK_READS_L2, "walk.mem_reads_l2", "... at level 2 (PDEs)")             \
    X(WALK_READS_L3, "walk.mem_reads_l3", "... at level 3 (PDPTEs)")           \
    X(WALK_READS_L4, "walk.mem_reads_l4", "... at level 4 (PML4Es)")           \
    X(WALK_READS_L5, "walk.mem_reads_l5", "... at level 5 (PML5Es)")           \
    X(PT_PAGES, "pt.pages_live", "page-table pages live at the end")           \
    X(PT_PAGES_PEAK, "pt.pages_peak", "peak page-table pages")                 \
    X(PT_PAGES_FREED, "pt.pages_freed", "page-table pages freed")              \
    X(MAPPINGS_PEAK, "pt.mappings_peak", "peak live 4 KB mappings")            \
    X(IQ_SUBMITS, "iq.submits", "invalidation-queue submissions (tail "        \
                                "writes)")                                     \
    X(IQ_DESC_IOTLB, "iq.iotlb_desc", "IOTLB / PASID-IOTLB descriptors "       \
                                      "processed")                             \
    X(IQ_DESC_IOTLB_PSI, "iq.iotlb_psi", "page-selective IOTLB descriptors")   \
    X(IQ_DESC_IOTLB_DSI, "iq.iotlb_dsi", "domain-selective IOTLB "             \
                                         "descriptors")                        \
    X(IQ_DESC_IOTLB_GLOBAL, "iq.iotlb_global", "global IOTLB descriptors")     \
    X(IQ_DESC_DEVTLB, "iq.devtlb_desc", "device-TLB descriptors processed")    \
    X(IQ_DESC_CC, "iq.cc_desc", "context-cache descriptors processed")         \
    X(IQ_DESC_PC, "iq.pc_desc", "PASID-cache descriptors processed")           \
    X(IQ_DESC_WAIT, "iq.wait_desc", "wait descriptors processed")              \
    X(IQ_DESC_OTHER, "iq.other_desc", "other descriptors (IEC ...)")           \
    X(IQ_NS, "iq.busy_ns", "invalidation-queue processing time")
// clang-format on

// clang-format off
#define IOSIM_OS_STATS(X)                                                      \
    X(OS_MAPS, "os.maps", "DMA-API map operations")                            \
    X(OS_UNMAPS, "os.unmaps", "DMA-API unmap operations")                      \
    X(OS_IOVA_ALLOCS, "os.iova_allocs", "IOVA allocations")                    \
    X(OS_IOVA_RCACHE_HITS, "os.iova_rcache_hits", "IOVA allocations served "   \
                                                  "by the per-CPU rcache")     \
    X(OS_SUBMITS, "os.inval_submits", "invalidation submissions "             \
                                      "(qi_submit_sync calls) by the OS")      \
    X(OS_INVAL_IOTLB, "os.inval_iotlb", "IOTLB / PASID-IOTLB descriptors "     \
                                        "the OS issued (compare "              \
                                        "trace.inval_iotlb)")                  \
    X(OS_INVAL_PIOTLB, "os.inval_piotlb", "PASID-IOTLB descriptors the OS "    \
                                          "issued (part of os.inval_iotlb; "   \
                                          "compare trace.inval_piotlb)")       \
    X(OS_INVAL_DEVTLB, "os.inval_devtlb", "device-TLB descriptors the OS "     \
                                          "issued (compare "                   \
                                          "trace.inval_devtlb)")               \
    X(OS_FQ_FLUSHES, "os.fq_flushes", "flush-queue domain-wide flushes")       \
    X(OS_FQ_FULL, "os.fq_full_flushes", "flushes because a queue was full")    \
    X(OS_MAP_REUSES, "os.map_reuses", "maps served by a mapping a scheme "     \
                                      "kept alive (no page-table change)")     \
    X(OS_DEFERRED_TEARDOWNS, "os.deferred_teardowns", "batched or expired "    \
                             "teardowns of kept mappings (schemes)")           \
    X(OS_SW_IOTLB_LOOKUPS, "os.sw_iotlb_lookups", "lookups in a software "     \
                           "device-IOTLB (vhost-iotlb scheme)")                \
    X(OS_SW_IOTLB_MISSES, "os.sw_iotlb_misses", "software device-IOTLB "       \
                          "misses (round trips to QEMU)")                      \
    X(OS_SW_IOTLB_SCANNED, "os.sw_iotlb_scanned", "entries visited by "        \
                           "software device-IOTLB lookups")                    \
    X(CPU_IOMMU_CYC, "cpu.iommu_cycles", "all CPU cycles the IOMMU costs "     \
                                         "(sum of the cpu.* causes)")          \
    IOSIM_CPU_COSTS(IOSIM_X_COST_STAT, X)
// clang-format on

// clang-format off
#define IOSIM_HV_STATS(X)                                                      \
    X(HV_EXITS, "hv.vmexits", "VM exits (trapped invalidation-queue tail "     \
                              "writes)")                                       \
    X(HV_SHADOW_MAPS, "hv.shadow_maps", "host second-stage maps made by the "  \
                                        "hypervisor")                          \
    X(HV_SHADOW_UNMAPS, "hv.shadow_unmaps", "host second-stage unmaps")        \
    X(HV_HOST_INVALS, "hv.host_invals", "host IOTLB invalidations")
// clang-format on

// clang-format off
#define IOSIM_ALL_STATS(X)                                                     \
    IOSIM_TRACE_STATS(X)                                                       \
    IOSIM_DMA_STATS(X)                                                         \
    IOSIM_LAT_STATS(X)                                                         \
    IOSIM_VTD_STATS(X)                                                         \
    IOSIM_OS_STATS(X)                                                          \
    IOSIM_HV_STATS(X)
// clang-format on

enum iosim_stat_id {
#define IOSIM_X_ENUM(id, name, desc) IOSIM_ST_##id,
    IOSIM_ALL_STATS(IOSIM_X_ENUM)
#undef IOSIM_X_ENUM
        IOSIM_ST_COUNT
};

/* Derived metrics: D(ID, "name", numerator stat, denominator stat, scale,
 * "description").  value = scale * num / den; den == 0 prints null. */
// clang-format off
#define IOSIM_DERIVED(D)                                                       \
    D(IOTLB_MISS_PER_PAGE, "per_page.iotlb_misses", IOTLB_MISSES,              \
      DMA_BYTES, 4096.0, "IOTLB misses per 4 KB of data moved")                 \
    D(PSC1_PER_PAGE, "per_page.psc_l1_misses", PSC1_MISSES, DMA_BYTES,         \
      4096.0, "PTcache-L1 misses per 4 KB of data")                               \
    D(PSC2_PER_PAGE, "per_page.psc_l2_misses", PSC2_MISSES, DMA_BYTES,         \
      4096.0, "PTcache-L2 misses per 4 KB of data")                               \
    D(PSC3_PER_PAGE, "per_page.psc_l3_misses", PSC3_MISSES, DMA_BYTES,         \
      4096.0, "PTcache-L3 misses per 4 KB of data")                               \
    D(READS_PER_PAGE, "per_page.mem_reads", WALK_READS, DMA_BYTES, 4096.0,      \
      "IOMMU memory reads per 4 KB of data (M of F&S)")                           \
    D(IOTLB_HIT_RATE, "iotlb.hit_rate", IOTLB_HITS, IOTLB_LOOKUPS, 1.0,        \
      "IOTLB hit rate")                                                        \
    D(MEAN_DMA_LAT, "dma.mean_latency_ns", DMA_LAT_NS, DMA_REQS, 1.0,          \
      "mean translation latency per DMA request (ns)")                         \
    D(DEVICE_GBPS, "dma.throughput_gbps", DMA_BYTES, DMA_TIME_NS, 8.0,         \
      "device-bound throughput, Gb/s (bytes*8/ns)")                            \
    D(OVERLAP_GBPS, "dma.overlapped_gbps", DMA_BYTES, DMA_OVERLAP_NS, 8.0,     \
      "throughput with overlapped walks, Gb/s")                                \
    D(INVAL_PER_REQ, "per_request.invalidations", IQ_DESC_IOTLB, REQUESTS,     \
      1.0, "IOTLB invalidation descriptors per request")                       \
    D(MAPS_PER_REQ, "per_request.maps", OS_MAPS, REQUESTS, 1.0,                \
      "map operations per request")                                            \
    D(CYC_PER_REQ, "per_request.iommu_cycles", CPU_IOMMU_CYC, REQUESTS, 1.0,   \
      "CPU cycles the IOMMU costs per request")                                \
    IOSIM_CPU_COSTS(IOSIM_X_COST_DERIVED, D)                                   \
    D(DEV_NS_PER_REQ, "per_request.device_ns", DMA_TIME_NS, REQUESTS, 1.0,     \
      "device busy time per request (ns)")                                     \
    D(EXITS_PER_REQ, "per_request.vmexits", HV_EXITS, REQUESTS, 1.0,           \
      "VM exits per request")
// clang-format on

enum iosim_derived_id {
#define IOSIM_X_DENUM(id, name, num, den, scale, desc) IOSIM_DV_##id,
    IOSIM_DERIVED(IOSIM_X_DENUM)
#undef IOSIM_X_DENUM
        IOSIM_DV_COUNT
};

#endif /* IOSIM_STAT_LIST_H */
