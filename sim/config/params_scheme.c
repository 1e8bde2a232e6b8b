/* params_scheme.c — parameters of the alternative DMA-protection schemes
 * (scheme.*; the schemes are os.policy values, sim/os/scheme_*.c).
 *
 * Concepts: one group of knobs per scheme: F&S descriptor size, CoIOMMU
 *   teardown batching, optimistic-teardown window and quota, and the
 *   vhost-user backend's software device-IOTLB.
 * Assumptions: a knob only matters when its scheme is the os.policy.
 * Not modeled: per-device or per-queue values.
 */
#include <stddef.h>

#include "config/config.h"

#define OFF(field) offsetof(struct iosim_config, field)

const iosim_param_t iosim_params_scheme[] = {
    {"scheme.fands_chunk_pages", IOSIM_P_U32, OFF(scheme.fands_chunk_pages),
     "64", 1, 512, NULL,
     "fands: pages per rx descriptor = pages of one contiguous IOVA chunk "
     "(invalidated by one PSI once all are unmapped)",
     "CX-5 rx descriptors hold 64 pages; F&S map one 256 KB IOVA per "
     "descriptor (Rubin et al. SOSP'24; FIGURES.md §1)"},
    {"scheme.fands_rx_only", IOSIM_P_BOOL, OFF(scheme.fands_rx_only), "true",
     1, 0, NULL,
     "fands: only 4 KB device-writable (rx) maps fill descriptor chunks; "
     "other maps get ordinary Linux IOVAs",
     "F&S apply contiguous IOVAs to rx descriptors (FIGURES.md §1)"},
    {"scheme.fands_keep_psc", IOSIM_P_BOOL, OFF(scheme.fands_keep_psc),
     "true", 1, 0, NULL,
     "fands: invalidate with IH=1 unless a page-table page was freed, so "
     "the paging-structure caches survive unmaps (false: IH=0 always, the "
     "scheme's contiguous IOVAs and batching without it)",
     "F&S part (2); false is the paper's ablation 'contiguous IOVAs + "
     "batching alone' (Rubin et al. SOSP'24; FIGURES.md §1)"},
    {"scheme.coiommu_batch", IOSIM_P_U32, OFF(scheme.coiommu_batch), "64", 1,
     1048576.0, NULL,
     "coiommu: buffers marked unmapped in the DMA tracking table before "
     "one batched teardown + invalidation",
     "placeholder (UNVERIFIED): Tian et al. ATC'20 defer unpinning; the "
     "batch size is not taken from the paper"},
    {"scheme.coiommu_timeout_ms", IOSIM_P_F64, OFF(scheme.coiommu_timeout_ms),
     "10", 0.001, 1e6, NULL,
     "coiommu: a batch is torn down at the latest this long after its "
     "first buffer was marked (ms)",
     "placeholder (UNVERIFIED): taken equal to Linux's flush-queue timer "
     "(IOVA_DEFAULT_FQ_TIMEOUT, MODEL.md §1.4)"},
    {"scheme.optimistic_window_ms", IOSIM_P_F64,
     OFF(scheme.optimistic_window_ms), "2", 0.001, 1e6, NULL,
     "optimistic: an unmapped mapping is kept this long for reuse by a map "
     "of the same physical page (ms)",
     "placeholder (UNVERIFIED): Amit et al. ATC'11 keep mappings for "
     "\"a few ms\"; exact value not taken from the paper"},
    {"scheme.optimistic_quota", IOSIM_P_U32, OFF(scheme.optimistic_quota),
     "256", 1, 1048576.0, NULL,
     "optimistic: kept mappings at most; the oldest is torn down beyond it",
     "placeholder (UNVERIFIED): quota of Amit et al. ATC'11 not taken from "
     "the paper"},
    {"scheme.vhost_structure", IOSIM_P_STR, OFF(scheme.vhost_structure),
     "list", 1, 0, "list|tree",
     "vhost-iotlb: backend IOTLB cache as a sorted list (O(n) lookup) or "
     "an interval tree (O(log n))",
     "DPDK vhost-user backend 2017 uses a sorted list; vhost-kernel an "
     "interval tree (Coquelin, DPDK Userspace 2017, seed 004)"},
    {"scheme.vhost_merge", IOSIM_P_BOOL, OFF(scheme.vhost_merge), "false", 1,
     0, NULL,
     "vhost-iotlb: merge entries contiguous in IOVA and physical address",
     "a prototype in seed 004 (\"future improvements\"), off in the "
     "released backend"},
    {"scheme.vhost_entries", IOSIM_P_U32, OFF(scheme.vhost_entries), "2048",
     1, 1048576.0, NULL,
     "vhost-iotlb: entries the backend's cache holds (random eviction "
     "beyond)",
     "DPDK lib/vhost/iotlb.c: #define IOTLB_CACHE_SIZE 2048; full "
     "cache -> vhost_user_iotlb_cache_random_evict()"},
    {"scheme.vhost_entry_cycles", IOSIM_P_F64, OFF(scheme.vhost_entry_cycles),
     "4", 0, 1e9, NULL,
     "vhost-iotlb: CPU cycles per cache entry a lookup visits",
     "UNVERIFIED: one dependent load per list node; "
     "vhost_user_iotlb_cache_find walks the list with TAILQ_FOREACH, whose "
     "next pointer is the first field of struct vhost_iotlb_entry (DPDK "
     "lib/vhost/iotlb.c, read at commit 06c047b6), a [base + 0] load: 4 "
     "cycles load-to-use from L1D on Sandy Bridge-family cores such as "
     "seed 004's Broadwell E5-2667 v4 (a Stack Overflow comment, "
     "stackoverflow.com/questions/52351397, not Intel's manual); the "
     "compares overlap the load and the list is assumed to stay in L1D; "
     "the vhost-iotlb validation cases use the same value"},
    {"scheme.vhost_miss_cycles", IOSIM_P_F64, OFF(scheme.vhost_miss_cycles),
     "30000", 0, 1e12, NULL,
     "vhost-iotlb: CPU cycles of one IOTLB miss (slave-channel request to "
     "QEMU, QEMU's translation, update message back)",
     "placeholder (UNVERIFIED): two socket round trips; seed 004 gives no "
     "number"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
