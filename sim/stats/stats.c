/* stats.c — counter and derived-metric tables generated from
 * stat_list.h, the input warnings' names and descriptions
 * (system/input_warnings.h), and lookups by name. */
#include <string.h>

#include "config/config.h"
#include "stats/stat_list.h"
#include "system/input_warnings.h"
#include "system/system.h"

static const char *const stat_names[] = {
#define X(id, name, desc) name,
    IOSIM_ALL_STATS(X)
#undef X
};
static const char *const stat_descs[] = {
#define X(id, name, desc) desc,
    IOSIM_ALL_STATS(X)
#undef X
};

typedef struct derived_def {
    const char *name, *desc;
    enum iosim_stat_id num, den;
    double scale;
} derived_def_t;

static const derived_def_t derived_defs[] = {
#define D(id, name, num, den, scale, desc)                                     \
    {name, desc, IOSIM_ST_##num, IOSIM_ST_##den, scale},
    IOSIM_DERIVED(D)
#undef D
};

static const char *const warn_names[] = {
#define X(id, name, desc) name,
    IOSIM_INPUT_WARNINGS(X)
#undef X
};
static const char *const warn_descs[] = {
#define X(id, name, desc) desc,
    IOSIM_INPUT_WARNINGS(X)
#undef X
};

/* Entry i of a table of n names or descriptions; NULL past its end. */
static const char *table_at(const char *const *table, size_t n, size_t i)
{
    return i < n ? table[i] : NULL;
}

size_t iosim_stat_count(void) { return IOSIM_ST_COUNT; }
const char *iosim_stat_name(size_t i)
{
    return table_at(stat_names, IOSIM_ST_COUNT, i);
}
const char *iosim_stat_desc(size_t i)
{
    return table_at(stat_descs, IOSIM_ST_COUNT, i);
}

size_t iosim_warning_count(void) { return SIM_WARN_COUNT; }
const char *iosim_warning_name(size_t i)
{
    return table_at(warn_names, SIM_WARN_COUNT, i);
}
const char *iosim_warning_desc(size_t i)
{
    return table_at(warn_descs, SIM_WARN_COUNT, i);
}
uint64_t iosim_sim_stat(const iosim_sim_t *s, size_t i)
{
    return i < IOSIM_ST_COUNT ? sim_counters(s)[i] : 0;
}

bool iosim_sim_stat_by_name(const iosim_sim_t *s, const char *name,
                            uint64_t *value)
{
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        if (!strcmp(stat_names[i], name)) {
            *value = sim_counters(s)[i];
            return true;
        }
    return false;
}

size_t iosim_derived_count(void) { return IOSIM_DV_COUNT; }
const char *iosim_derived_name(size_t i)
{
    return i < IOSIM_DV_COUNT ? derived_defs[i].name : NULL;
}
const char *iosim_derived_desc(size_t i)
{
    return i < IOSIM_DV_COUNT ? derived_defs[i].desc : NULL;
}

bool iosim_sim_derived(const iosim_sim_t *s, size_t i, double *value)
{
    if (i >= IOSIM_DV_COUNT)
        return false;
    const derived_def_t *d = &derived_defs[i];
    uint64_t den = sim_counters(s)[d->den];
    if (den == 0)
        return false; /* printed as null, never NaN */
    *value = d->scale * (double)sim_counters(s)[d->num] / (double)den;
    return true;
}

bool iosim_sim_derived_by_name(const iosim_sim_t *s, const char *name,
                               double *value)
{
    for (size_t i = 0; i < IOSIM_DV_COUNT; i++)
        if (!strcmp(derived_defs[i].name, name))
            return iosim_sim_derived(s, i, value);
    return false;
}

void iosim_sim_summary(const iosim_sim_t *s, iosim_summary_t *o)
{
    memset(o, 0, sizeof *o);
    const uint64_t *st = sim_counters(s);
    uint64_t ndma = st[IOSIM_ST_DMA_REQS];
    if (ndma) {
        o->latency_mean_ns = (double)st[IOSIM_ST_DMA_LAT_NS] / (double)ndma;
        /* percentiles: smallest latency with at least p of requests at or
         * below it (nearest rank) */
        uint64_t r50 = (ndma + 1) / 2, r99 = (ndma * 99 + 99) / 100, cum = 0;
        bool have50 = false;
        const uint64_t *hist = sim_latency_hist(s);
        for (uint32_t i = 0; i < SIM_LAT_SLOTS; i++) {
            cum += hist[i];
            if (!have50 && cum >= r50) {
                o->latency_p50_ns = i;
                have50 = true;
            }
            if (cum >= r99) {
                o->latency_p99_ns = i;
                break;
            }
        }
    }
    double req = (double)st[IOSIM_ST_REQUESTS];
    if (req <= 0)
        return;
    o->valid = true;
    o->requests = req;
    o->iommu_cycles = (double)st[IOSIM_ST_CPU_IOMMU_CYC] / req;
#define IOSIM_X_CAUSE(a, id, field, what, help)                                \
    o->field##_cycles = (double)st[IOSIM_ST_CPU_##id##_CYC] / req;
    IOSIM_CPU_COSTS(IOSIM_X_CAUSE, )
#undef IOSIM_X_CAUSE
    o->vmexits = (double)st[IOSIM_ST_HV_EXITS] / req;
    o->mem_reads_per_4k = st[IOSIM_ST_DMA_BYTES]
                              ? 4096.0 * (double)st[IOSIM_ST_WALK_READS] /
                                    (double)st[IOSIM_ST_DMA_BYTES]
                              : 0;
    const iosim_config_t *cfg = iosim_sim_config(s);
    const sim_cpu_load_t *load = sim_cpu_load(s);
    double ghz = cfg->os.cpu_ghz > 0 ? cfg->os.cpu_ghz : 1;
    double app = cfg->sim.app_cycles_per_request;
    /* the busiest CPU bounds the rate: its requests' app cycles plus the
     * IOMMU cycles it spent, spread over all requests */
    double busiest = 0, busiest_app = 0;
    o->cpus = 0;
    for (unsigned c = 0; c < SIM_CPUS; c++) {
        double r = (double)load->requests[c];
        double w = app * r + (double)load->cycles[c];
        o->cpus += r > 0;
        if (w > busiest)
            busiest = w;
        if (app * r > busiest_app)
            busiest_app = app * r;
    }
    if (o->cpus == 0) { /* no request MARK says where: one CPU */
        o->cpus = 1;
        busiest = app * req + (double)st[IOSIM_ST_CPU_IOMMU_CYC];
        busiest_app = app * req;
    }
    o->cpu_ns = busiest / req / ghz;
    /* vtd.timing: the F&S serial pipeline, or requests overlapped */
    bool overlapped = !strcmp(iosim_sim_config(s)->vtd.timing, "overlapped");
    uint64_t dev_ns = st[IOSIM_ST_DMA_TIME_NS];
    if (overlapped) /* and never faster than the link moves the bytes */
        dev_ns = st[IOSIM_ST_DMA_OVERLAP_NS] > st[IOSIM_ST_DMA_WIRE_NS]
                     ? st[IOSIM_ST_DMA_OVERLAP_NS]
                     : st[IOSIM_ST_DMA_WIRE_NS];
    o->device_ns = (double)dev_ns / req;
    /* without translation: the l0 part of the translation stage against
     * the link stage */
    double base_xlate =
        (double)st[IOSIM_ST_DMA_XLATE_NS] - (double)st[IOSIM_ST_DMA_LAT_NS];
    double base_wire = (double)st[IOSIM_ST_DMA_WIRE_NS];
    /* overlapped, l0 is a latency in the pipeline, not a rate: without
     * translation the link alone sets the pace */
    double base_dev =
        (overlapped || base_xlate < base_wire ? base_wire : base_xlate) / req;
    double t = o->cpu_ns > o->device_ns ? o->cpu_ns : o->device_ns;
    double cpu0 = busiest_app / req / ghz; /* the same without the IOMMU */
    double t0 = cpu0 > base_dev ? cpu0 : base_dev;
    o->throughput_rps = t > 0 ? 1e9 / t : 0;
    o->baseline_rps = t0 > 0 ? 1e9 / t0 : 0;
    o->degradation =
        o->baseline_rps > 0 ? 1.0 - o->throughput_rps / o->baseline_rps : 0;
    /* F&S's throughput p / (l0 + M lm) (Rubin et al., "Fast & Safe IO
     * Memory Protection", SOSP'24, §2.2) with p = one 4 KB page of data
     * per request (a request MARK per 4 KB packet, as gen nic writes
     * them): F&S charge l0 once per page of data, the device time here
     * vtd.dma_base_ns per vtd.request_bytes the device moves (headers,
     * completions and ACKs too), so the l0 of the bytes beyond the data
     * pages is taken out.  The validation cases and research scripts
     * read it from the report. */
    double extra =
        (double)st[IOSIM_ST_DMA_BYTES] / (double)cfg->vtd.request_bytes - req;
    double fands_ns =
        (double)st[IOSIM_ST_DMA_TIME_NS] - cfg->vtd.dma_base_ns * extra;
    o->fands_gbps = fands_ns > 0 ? 8 * 4096 * req / fands_ns : 0;
}
