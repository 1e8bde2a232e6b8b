/* params_sim.c — parameters of the simulation driver (sim.*).
 *
 * Concepts: how the replay turns a trace into work: seed, which part of
 *   the trace is counted, the application's own CPU cost.  What the
 *   device does with each buffer is the device model's (dev.*, sim/dev/).
 * Assumptions: none beyond the rows' sources.
 * Not modeled: warm-up phases other than the BENCH_START..END window.
 */
#include <stddef.h>

#include "config/config.h"

#define OFF(field) offsetof(struct iosim_config, field)

// clang-format off
const iosim_param_t iosim_params_sim[] = {
    {"sim.seed", IOSIM_P_U64, OFF(sim.seed), "1", 1, 0, NULL,
     "seed of every component's PRNG (random replacement, generators)",
     "convention: fixed seed so that equal inputs give identical output"},
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
// clang-format on
