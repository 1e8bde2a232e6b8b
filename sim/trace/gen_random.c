/* gen_random.c — `gen random`: uniform random DMA over a mapped window,
 * the pcie-bench methodology (Neugebauer et al., "Understanding PCIe
 * performance for end host networking", SIGCOMM'18, §4: a host buffer
 * ("window") is set up once, then the device issues DMAs of a fixed
 * transfer size at random, size-aligned offsets inside it).
 *
 * Concepts:
 *   - Setup: the whole window is mapped up front, one MAP per page of
 *     --page-size (4K, 2M or 1G), at contiguous IOVAs starting at
 *     --iova-base rounded up to the page size, onto distinct, page-aligned
 *     physical pages (contiguous from GEN_RANDOM_PHYS_BASE).
 *   - Measurement: a MARK BEGIN, then --count DMA records of --size bytes
 *     at offsets drawn uniformly from the floor(window/size) size-aligned
 *     slots of the window (splitmix64 seeded by --seed, rejection
 *     sampling, so the same seed gives a byte-identical trace), each
 *     preceded by a MARK request unless --no-marks, then a MARK END.
 *     With sim.window_only the simulator counts only this phase, like
 *     pcie-bench reports only the timed loop.
 *   - Teardown: one UNMAP per mapped page, in mapping order.
 *   - Time: maps and unmaps take no time; each DMA advances t by
 *     size*8/rate ns (a device streaming at --rate Gbps), kept in
 *     picoseconds so the sum does not drift.
 *   - meta: source gen-random, has_dma 1 (DMAs are explicit, so
 *     dev.model=auto emits none), policy "" (any policy
 *     replays it), cpus 1.
 * Assumptions:
 *   - A DMA never crosses the window end (offset + size <= window); a
 *     DMA larger than a page crosses page borders and the simulator
 *     translates each 4 KB page of it.
 *   - The window fits a 48-bit (4-level) IOVA space.
 * Not modeled: pcie-bench's cache warming / thrashing of the host LLC
 *   (DDIO), and its sequential access patterns.
 */
#include <stddef.h>
#include <string.h>

#include "trace/gen.h"

/* Physical pages of the window: placeholder base (any distinct, aligned
 * frames do; 64 GiB is 1 GiB aligned so every page size fits). */
#define GEN_RANDOM_PHYS_BASE 0x1000000000ULL
/* 4-level second-stage tables translate 48-bit addresses (VT-d §3.6). */
#define GEN_RANDOM_IOVA_LIMIT (1ULL << 48)
/* Guard against accidental giant setups (2^26 MAP records). */
#define GEN_RANDOM_MAX_PAGES (1ULL << 26)

/* The command line's options: the typed parameters and the two options
 * that set them indirectly. */
typedef struct random_opts {
    gen_random_params_t p;
    unsigned direction; /* index of dir_choices */
    bool no_marks;
} random_opts_t;

static void random_finish(random_opts_t *o)
{
    o->p.write = o->direction == 1;
    o->p.marks = !o->no_marks;
}

void gen_random_defaults(gen_random_params_t *p)
{
    random_opts_t o;
    iosim_err_t err;
    /* the table's defaults parse (test_gen's test_registry) */
    if (gen_kind_defaults(&gen_kind_random, &o, &err))
        memset(&o, 0, sizeof o);
    random_finish(&o);
    *p = o.p;
}

uint64_t gen_random_first_iova(const gen_random_params_t *p)
{
    uint64_t ps = p->page_size;
    return (p->iova_base + ps - 1) / ps * ps;
}

int gen_random_check(const gen_random_params_t *p, iosim_err_t *err)
{
    uint64_t ps = p->page_size;
    if (ps != 4096 && ps != (2ULL << 20) && ps != (1ULL << 30))
        return iosim_err_set(err,
                             "gen random: --page-size: %llu is not 4K, "
                             "2M or 1G",
                             (unsigned long long)ps);
    if (p->window == 0 || p->window % ps)
        return iosim_err_set(err,
                             "gen random: --window: %llu is not a positive "
                             "multiple of the page size %llu",
                             (unsigned long long)p->window,
                             (unsigned long long)ps);
    if (p->window / ps > GEN_RANDOM_MAX_PAGES)
        return iosim_err_set(err,
                             "gen random: --window: %llu pages of %llu B is "
                             "more than %llu",
                             (unsigned long long)(p->window / ps),
                             (unsigned long long)ps,
                             (unsigned long long)GEN_RANDOM_MAX_PAGES);
    if (p->size == 0 || p->size > p->window)
        return iosim_err_set(err,
                             "gen random: --size: %llu must be in [1, "
                             "window = %llu]",
                             (unsigned long long)p->size,
                             (unsigned long long)p->window);
    uint64_t first = gen_random_first_iova(p);
    if (first < p->iova_base || first >= GEN_RANDOM_IOVA_LIMIT ||
        p->window > GEN_RANDOM_IOVA_LIMIT - first)
        return iosim_err_set(err,
                             "gen random: --iova-base 0x%llx + window does "
                             "not fit 48-bit IOVAs",
                             (unsigned long long)p->iova_base);
    if (p->domain > 0xffff)
        return iosim_err_set(err, "gen random: --domain: %llu > 65535",
                             (unsigned long long)p->domain);
    if (!(p->rate_gbps > 0))
        return iosim_err_set(err, "gen random: --rate must be > 0");
    return 0;
}

static iosim_rec_t rec_base(const gen_random_params_t *p, uint8_t kind,
                            uint64_t t)
{
    return gen_rec(kind, t, p->device, (uint16_t)p->domain);
}

static gen_window_t random_window(const gen_random_params_t *p)
{
    return (gen_window_t){.iova = gen_random_first_iova(p),
                          .phys = GEN_RANDOM_PHYS_BASE,
                          .pages = p->window / p->page_size,
                          .page_size = p->page_size,
                          .device = p->device,
                          .domain = (uint16_t)p->domain};
}

int gen_random_write(const gen_random_params_t *p, const char *path, bool text,
                     iosim_err_t *err)
{
    if (gen_random_check(p, err))
        return -1;
    iosim_trace_meta_t meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.source, sizeof meta.source, "gen-random");
    snprintf(meta.workload, sizeof meta.workload, "pcie-bench-%s",
             p->write ? "write" : "read");
    snprintf(meta.time_unit, sizeof meta.time_unit, "ns");
    meta.cpus = 1;
    meta.has_dma = 1;
    gen_out_t *o = gen_out_create(path, &meta, text, err);
    if (!o)
        return -1;

    uint64_t base = gen_random_first_iova(p);
    uint64_t slots = p->window / p->size;
    /* ps per DMA: size bytes * 8 bit / rate Gbit/s = ns; x1000 for ps */
    uint64_t step_ps =
        (uint64_t)((double)p->size * 8000.0 / p->rate_gbps + 0.5);
    uint64_t t_ps = 0;
    gen_rng_t rng = {p->seed};
    const gen_window_t w = random_window(p);

    if (gen_window_emit(o, &w, IOSIM_REC_MAP, 0, err))
        goto fail;
    iosim_rec_t r = rec_base(p, IOSIM_REC_MARK, 0);
    r.flags = IOSIM_MARK_BEGIN;
    if (gen_out_put(o, &r, err))
        goto fail;
    for (uint64_t i = 0; i < p->count; i++) {
        uint64_t t = t_ps / 1000;
        if (p->marks) {
            r = rec_base(p, IOSIM_REC_MARK, t);
            r.flags = IOSIM_MARK_REQUEST;
            r.aux = i;
            if (gen_out_put(o, &r, err))
                goto fail;
        }
        r = rec_base(p, IOSIM_REC_DMA, t);
        r.iova = base + gen_rng_below(&rng, slots) * p->size;
        r.size = p->size;
        r.flags = p->write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ;
        if (gen_out_put(o, &r, err))
            goto fail;
        t_ps += step_ps;
    }
    return gen_window_close(o, &w, t_ps / 1000, err);
fail:
    gen_out_abort(o);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
static const char *const dir_choices[] = {"read", "write", NULL};

#define RO(f) offsetof(random_opts_t, f)
// clang-format off
static const gen_param_t random_params[] = {
    {"--window", "BYTES", GEN_OPT_U64, RO(p.window), "64M", 1, 0, NULL,
     "bytes mapped up front", NULL},
    {"--size", "BYTES", GEN_OPT_U64, RO(p.size), "64", 1, 0, NULL,
     "bytes per DMA, offsets aligned to it", NULL},
    {"--direction", "read|write", GEN_OPT_CHOICE, RO(direction), "read", 0, 0,
     dir_choices, "DMA direction (read: the device reads memory)", NULL},
    /* the short spelling, undocumented: gen nic says --direction */
    {"--dir", NULL, GEN_OPT_CHOICE, RO(direction), NULL, 0, 0, dir_choices,
     NULL, NULL},
    {"--count", "N", GEN_OPT_U64, RO(p.count), "1000000", 0, 0, NULL,
     "DMA records", NULL},
    {"--page-size", "4K|2M|1G", GEN_OPT_U64, RO(p.page_size), "4K", 1, 0,
     NULL, "mapping page size", NULL},
    {"--seed", "S", GEN_OPT_U64, RO(p.seed), "1", 0, 0, NULL, "PRNG seed",
     NULL},
    {"--iova-base", "ADDR", GEN_OPT_U64, RO(p.iova_base),
     "0x100000000", 0, 0, NULL, "first IOVA, rounded up to the page size",
     "above 4 GiB, like a device with a 64-bit DMA mask (any aligned base "
     "works; MODEL.md §1.5 for what Linux would pick)"},
    {"--device", "BB:DD.F", GEN_OPT_BDF, RO(p.device), "01:00.0", 0, 0, NULL,
     "source id", "the captures' NIC, as `import` defaults"},
    {"--domain", "D", GEN_OPT_U64, RO(p.domain), "1", 0, 0xffff, NULL,
     "domain id", NULL},
    {"--rate", "GBPS", GEN_OPT_DOUBLE, RO(p.rate_gbps), "100", 0, 0, NULL,
     "device rate: t advances size*8/rate ns per DMA",
     "F&S's 100 Gbps CX-5 (FIGURES.md §1)"},
    {"--no-marks", NULL, GEN_OPT_FLAG, RO(no_marks), NULL, 0, 0, NULL,
     "no MARK request before each DMA", NULL},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on
#undef RO

static int random_validate(void *opts, const bool *given, iosim_err_t *err)
{
    (void)given;
    random_opts_t *o = opts;
    random_finish(o);
    return gen_random_check(&o->p, err);
}

static int random_write(const void *opts, const char *path, bool text,
                        iosim_err_t *err)
{
    return gen_random_write(&((const random_opts_t *)opts)->p, path, text, err);
}

const gen_kind_t gen_kind_random = {
    .name = "random",
    .summary = "pcie-bench: map a window, then DMAs at random aligned "
               "offsets",
    .params = random_params,
    .size = sizeof(random_opts_t),
    .notes = "window, size, count and page size are one illustrative "
             "pcie-bench point\n(that paper sweeps them), not a measured "
             "setup\n",
    .validate = random_validate,
    .write = random_write,
    .implies_none = "its trace carries its own DMA records (has_dma=1): no "
                    "device model lays out a device half, and the pages it "
                    "maps need nothing of the configuration",
};
