/* params_sim.c — parameters of the simulation driver (sim.*).
 *
 * Concepts: how the replay turns a trace into work: seed, whether device
 *   accesses are synthesized, and which part of the trace is counted.
 * Assumptions: traces without DMA records (ftrace captures) need
 *   synthesized accesses to exercise the IOTLB; traces with them do not.
 * Not modeled: warm-up phases other than the BENCH_START..END window.
 */
#include <stddef.h>

#include "config/config.h"

#define OFF(field) offsetof(struct iosim_config, field)

const iosim_param_t iosim_params_sim[] = {
    {"sim.seed", IOSIM_P_U64, OFF(sim.seed), "1", 1, 0, NULL,
     "seed of every component's PRNG (random replacement, generators)",
     "convention: fixed seed so that equal inputs give identical output"},
    {"sim.dma_model", IOSIM_P_STR, OFF(sim.dma_model), "auto", 1, 0,
     "auto|none|touch",
     "device accesses: auto = synthesize only if the trace's metadata "
     "says has_dma=0 (a DMA record in such a trace is an error); none = "
     "never; touch = always synthesize",
     "design choice: ftrace captures carry map/unmap but no DMA records "
     "(traces/raw/SHARED-CAPTURES.md)"},
    {"sim.dma_granule", IOSIM_P_U32, OFF(sim.dma_granule), "4096", 64,
     1073741824.0, NULL,
     "bytes per synthesized device access (one translation each)",
     "VT-d base page 4 KiB (MODEL.md §3.2); F&S count per 4 KB page "
     "(FIGURES.md §1)"},
    {"sim.dma_dir", IOSIM_P_STR, OFF(sim.dma_dir), "write", 1, 0,
     "write|read",
     "direction of synthesized accesses: write = device writes memory (rx)",
     "F&S measure the rx path (FIGURES.md §1)"},
    {"sim.window_only", IOSIM_P_BOOL, OFF(sim.window_only), "true", 1, 0,
     NULL,
     "count statistics only between BENCH_START and BENCH_END marks",
     "captures delimit the benchmark with BENCH_START/BENCH_END "
     "(traces/raw/SHARED-CAPTURES.md)"},
    {"sim.app_cycles_per_request", IOSIM_P_F64,
     OFF(sim.app_cycles_per_request), "22700", 0, 1e12, NULL,
     "CPU cycles one request costs the application and network stack "
     "without any IOMMU work (throughput estimate: CPU-bound side)",
     "Redis docs, Benchmarks (antirez/redis 2.2 doc/Benchmarks.html): "
     "about 110,000 SETs/s, 50 clients over loopback, one server thread "
     "on a 2.5 GHz Xeon X3320 = 9.1 us = 22,700 cycles per request; an "
     "upper bound on a newer core; memcached/nginx assumed equal "
     "(UNVERIFIED); measure it on the passthrough run of your testbed"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
