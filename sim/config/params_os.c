/* params_os.c — parameters of the OS (Linux DMA-API) policy model (os.*).
 *
 * Concepts: which unmap policy runs (a registered name, see sim/os/os.h),
 *   which Linux version it follows (os.kernel; the settings that differ
 *   between 6.1 and 6.12 default to "kernel", sim/os/os_kernel.c), how
 *   IOVAs are chosen, invalidation batching, the lazy flush queue and the
 *   CPU cost of each operation.
 * Assumptions: CPU costs are per operation on one page; the software part
 *   of a strict map+unmap pair is split evenly between map and unmap.
 * Not modeled: lock contention, per-CPU IOVA rcache effects on cost.
 */
#include <stddef.h>

#include "config/config.h"

#define OFF(field) offsetof(struct iosim_config, field)

/* Amit et al. (ATC'11): a strict map+unmap pair of one page costs 6,909
 * cycles on bare metal, 4,593 of them interacting with the IOMMU
 * hardware.  The software remainder, 6,909 - 4,593 = 2,316 cycles, is
 * split evenly: 1,158 per map and 1,158 per unmap.  IOVA allocation is
 * inside that remainder, so its own rows default to 0. */
// clang-format off
#define SRC_AMIT_SPLIT                                                       \
    "derived: (6909 - 4593) / 2 = 1158, software part of a strict "          \
    "map+unmap pair split evenly (Amit et al. ATC'11; FIGURES.md §2)"
// clang-format on
// clang-format off
#define SRC_IOVA_INCLUDED                                                    \
    "derived: already inside map/unmap_cycles (Amit et al. ATC'11 do not "   \
    "separate it); set it only together with smaller map/unmap_cycles"
// clang-format on

// clang-format off
const iosim_param_t iosim_params_os[] = {
    {"os.policy", IOSIM_P_STR, OFF(os.policy), "strict", 1, 0, NULL,
     "unmap policy or scheme: a name registered in sim/os (the choices; "
     "iosim --list says what each does)",
     "F&S run Linux in strict mode (FIGURES.md §1); note the x86 Kconfig "
     "default is lazy (MODEL.md §1.1)"},
    {"os.iova_mode", IOSIM_P_STR, OFF(os.iova_mode), "replay", 1, 0,
     "replay|reallocate",
     "replay = use the trace's IOVAs; reallocate = assign IOVAs with the "
     "modelled allocator",
     "design choice: a replay reproduces the traced addresses"},
    /* The kernel and what differs between its versions: each difference
     * with the functions of both kernels is in sim/os/os_kernel.c. */
    {"os.kernel", IOSIM_P_STR, OFF(os.kernel), "auto", 1, 0, "auto|6.1|6.12",
     "Linux version whose Intel IOMMU driver the OS model follows (the "
     "settings below that say kernel take its value); auto = the trace's "
     "metadata (meta.kernel, uname -r: 6.1.0-56-amd64 is 6.1, "
     "6.12.9+bpo-amd64 is 6.12.9), os.kernel_default when the trace names "
     "neither 6.1 nor 6.12",
     "design choice: a capture is replayed by the kernel it came from; "
     "read: Linux 6.1.131 (drivers/iommu/intel/iommu.c) and "
     "6.12 (drivers/iommu/intel/cache.c with qi_batch, iommu.c 6.12.43)"},
    {"os.kernel_default", IOSIM_P_STR, OFF(os.kernel_default), "6.12", 1, 0,
     "6.1|6.12",
     "os.kernel auto on a trace whose metadata names no 6.1 or 6.12 kernel "
     "(generated and text traces, other kernels)",
     "6.12: what os.strict_batch 16 and os.flush_all_devtlb_cm true "
     "described before os.kernel existed (the kernel of the researchers' "
     "testbed)"},
    {"os.strict_batch", IOSIM_P_STR, OFF(os.strict_batch_set), "kernel", 1,
     0, NULL,
     "invalidation descriptors per qi_submit_sync (strict unmap, flush of "
     "everything, the trace policy's grouping of logged descriptors): "
     "kernel or a count 1..254 (1 = one submission per descriptor)",
     "kernel: 16 on 6.12 (cache.c qi_batch, QI_MAX_BATCHED_DESC_COUNT), 1 "
     "on 6.1 (every qi_flush_* is its own qi_submit_sync; QEMU trapped one "
     "tail write per descriptor in every 6.1 capture) (MODEL.md §1.6.3)"},
    {"os.pass_ih", IOSIM_P_STR, OFF(os.pass_ih_set), "kernel", 1, 0,
     "kernel|true|false",
     "strict unmap passes IH=1 on a second-stage page-selective "
     "invalidation when no page-table page was freed (keeps the "
     "paging-structure caches); first-stage P_IOTLB descriptors always "
     "carry it",
     "kernel: false on 6.1 (qi_flush_iotlb hard-codes ih = 0; F&S measured "
     "v6.0 flushing the PTcaches on every unmap, FIGURES.md §1) and on "
     "6.12.0-6.12.62 (qi_desc_iotlb hard-codes ih = 0); true from 6.12.63 "
     "(upstream 6b38a108 \"Fix unused invalidation hint in qi_desc_iotlb\", "
     "6.12.63-rc1 review series, 2025-12-16) (MODEL.md §1.6.3); P_IOTLB: "
     "qi_flush_piotlb, IH=1 on all 1,333 of traces/redis-strict-fs-pcap-qemu.zst "
     "(Linux 6.1)"},
    {"os.flush_all_devtlb_cm", IOSIM_P_STR, OFF(os.flush_all_devtlb_cm_set),
     "kernel", 1, 0, "kernel|true|false",
     "a flush of the whole domain (lazy flush queue, coIOMMU) also flushes "
     "the device-TLB under caching mode",
     "kernel: true on 6.12 (>= 6.10 cache_tag_flush_all() in drivers/iommu/"
     "intel/cache.c flushes every device-TLB tag); false on 6.1 (<= 6.9 "
     "intel_flush_iotlb_all() skips iommu_flush_dev_iotlb() when CAP.CM is "
     "set; seen in traces/redis-lazy-fs-qemu.zst, Linux 6.1: 49 P_IOTLB "
     "flushes, no device-TLB descriptor)"},
    {"os.fq_size", IOSIM_P_U32, OFF(os.fq_size), "256", 2, 1048576.0, NULL,
     "lazy flush-queue entries per CPU (power of two; size-1 usable)",
     "IOVA_DEFAULT_FQ_SIZE = 256, drivers/iommu/dma-iommu.c "
     "(MODEL.md §1.4)"},
    {"os.fq_timeout_ms", IOSIM_P_F64, OFF(os.fq_timeout_ms), "10", 0.001,
     1e6, NULL, "lazy flush-queue timer period (ms)",
     "IOVA_DEFAULT_FQ_TIMEOUT = 10 ms, drivers/iommu/dma-iommu.c "
     "(MODEL.md §1.4)"},
    {"os.hz", IOSIM_P_U32, OFF(os.hz), "250", 100, 1000, NULL,
     "kernel timer tick rate (CONFIG_HZ): the flush-queue timer is "
     "msecs_to_jiffies(fq_timeout_ms) ticks",
     "Debian 12 amd64 kernel config CONFIG_HZ_250=y (the captures' kernel); "
     "msecs_to_jiffies rounds up (MODEL.md §1.4)"},
    {"os.fq_timer_slack_jiffies", IOSIM_P_U32, OFF(os.fq_timer_slack_jiffies),
     "1", 0, 100, NULL,
     "extra ticks before the flush-queue timer runs (timer-wheel "
     "granularity and softirq delay)",
     "calibrated on traces/raw/redis-virtio-lazy-cm-off: median "
     "arm-to-flush 15.7 ms = 3 + 1 jiffies at HZ=250; the ground-truth "
     "test brackets the count with 0 and 1"},
    {"os.cpu_ghz", IOSIM_P_F64, OFF(os.cpu_ghz), "3.3", 0.01, 100, NULL,
     "CPU clock used to convert cycles to ns (GHz)",
     "Xeon Gold 6234 3.3 GHz in the F&S setup (FIGURES.md §1)"},
    {"os.map_cycles", IOSIM_P_F64, OFF(os.map_cycles), "1158", 0, 1e9, NULL,
     "CPU cycles of one map (page-table update, IOVA allocation), "
     "without invalidation",
     SRC_AMIT_SPLIT},
    {"os.unmap_cycles", IOSIM_P_F64, OFF(os.unmap_cycles), "1158", 0, 1e9,
     NULL,
     "CPU cycles of one unmap (page-table clear, IOVA free), without "
     "invalidation",
     SRC_AMIT_SPLIT},
    {"os.iova_alloc_cycles", IOSIM_P_F64, OFF(os.iova_alloc_cycles), "0", 0,
     1e9, NULL, "extra CPU cycles per IOVA allocation", SRC_IOVA_INCLUDED},
    {"os.iova_free_cycles", IOSIM_P_F64, OFF(os.iova_free_cycles), "0", 0,
     1e9, NULL, "extra CPU cycles per IOVA free", SRC_IOVA_INCLUDED},
    {"os.inval_submit_cycles", IOSIM_P_F64, OFF(os.inval_submit_cycles),
     "2130", 0, 1e9, NULL,
     "CPU cycles of one synchronous invalidation submission "
     "(qi_submit_sync)",
     "strict unmap IOTLB invalidation ~2,130 cycles (Malka et al., rIOMMU "
     "ASPLOS'15, Table 1; FIGURES.md §2)"},
    {"os.fq_flush_cycles", IOSIM_P_F64, OFF(os.fq_flush_cycles), "2130", 0,
     1e9, NULL,
     "CPU cycles of one flush-queue flush (domain-wide invalidation)",
     "placeholder (UNVERIFIED): one submission, taken equal to "
     "os.inval_submit_cycles"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on
