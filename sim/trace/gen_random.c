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
#include <string.h>

#include "trace/gen.h"

/* Physical pages of the window: placeholder base (any distinct, aligned
 * frames do; 64 GiB is 1 GiB aligned so every page size fits). */
#define GEN_RANDOM_PHYS_BASE 0x1000000000ULL
/* Default IOVA base: above 4 GiB, like a 64-bit DMA mask device (any
 * aligned base works; MODEL.md §1.5 for what Linux would pick). */
#define GEN_RANDOM_IOVA_BASE 0x100000000ULL
/* 4-level second-stage tables translate 48-bit addresses (VT-d §3.6). */
#define GEN_RANDOM_IOVA_LIMIT (1ULL << 48)
/* Guard against accidental giant setups (2^26 MAP records). */
#define GEN_RANDOM_MAX_PAGES (1ULL << 26)

void gen_random_defaults(gen_random_params_t *p)
{
    memset(p, 0, sizeof *p);
    /* window, size, count and page size: one illustrative pcie-bench
     * point (SIGCOMM'18 sweeps window and size), not a measured setup */
    p->window = 64ULL << 20;
    p->size = 64;
    p->count = 1000000;
    p->page_size = 4096;
    p->seed = 1;
    p->iova_base = GEN_RANDOM_IOVA_BASE;
    p->domain = 1;
    p->device = 0x0100; /* 01:00.0, as `import` defaults */
    p->write = false;
    p->marks = true;
    p->rate_gbps = 100; /* F&S setup: 100 Gbps CX-5 (FIGURES.md §1) */
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
/* Command-line front end                                              */
/* ------------------------------------------------------------------ */
static const char *const dir_choices[] = {"read", "write", NULL};

static int random_run(int argc, char **argv, const char *path, bool text,
                      iosim_err_t *err)
{
    gen_random_params_t p;
    gen_random_defaults(&p);
    unsigned dir = 0;
    bool no_marks = false;
    // clang-format off
    const gen_opt_t opts[] = {
        {"--window", GEN_OPT_U64, &p.window, 1, 0, NULL, NULL},
        {"--size", GEN_OPT_U64, &p.size, 1, 0, NULL, NULL},
        {"--count", GEN_OPT_U64, &p.count, 0, 0, NULL, NULL},
        {"--page-size", GEN_OPT_U64, &p.page_size, 1, 0, NULL, NULL},
        {"--seed", GEN_OPT_U64, &p.seed, 0, 0, NULL, NULL},
        {"--iova-base", GEN_OPT_U64, &p.iova_base, 0, 0, NULL, NULL},
        {"--domain", GEN_OPT_U64, &p.domain, 0, 0xffff, NULL, NULL},
        {"--device", GEN_OPT_BDF, &p.device, 0, 0, NULL, NULL},
        {"--direction", GEN_OPT_CHOICE, &dir, 0, 0, dir_choices, NULL},
        /* the short spelling, undocumented: gen nic says --direction */
        {"--dir", GEN_OPT_CHOICE, &dir, 0, 0, dir_choices, NULL},
        {"--rate", GEN_OPT_DOUBLE, &p.rate_gbps, 0, 0, NULL, NULL},
        {"--no-marks", GEN_OPT_FLAG, &no_marks, 0, 0, NULL, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    // clang-format on
    if (gen_parse_opts("random", opts, argc, argv, err))
        return -1;
    p.write = dir == 1;
    p.marks = !no_marks;
    return gen_random_write(&p, path, text, err);
}

const gen_kind_t gen_kind_random = {
    .name = "random",
    .summary = "pcie-bench: map a window, then DMAs at random aligned "
               "offsets",
    .usage = "  --window BYTES     bytes mapped up front (default 64M)\n"
             "  --size BYTES       bytes per DMA, offsets aligned to it "
             "(default 64)\n"
             "  --direction read|write  DMA direction (default read: device "
             "reads memory)\n"
             "  --count N          DMA records (default 1M)\n"
             "  --page-size 4K|2M|1G  mapping page size (default 4K)\n"
             "  --seed S           PRNG seed (default 1)\n"
             "  --iova-base ADDR   first IOVA, rounded up to the page size "
             "(default 0x100000000)\n"
             "  --device BB:DD.F   source id (default 01:00.0)\n"
             "  --domain D         domain id (default 1)\n"
             "  --rate GBPS        device rate: t advances size*8/rate ns per "
             "DMA (default 100)\n"
             "  --no-marks         no MARK request before each DMA\n",
    .defaults_note =
        "defaults: --rate is the F&S 100 Gbps CX-5 (FIGURES.md §1); window,\n"
        "  size, count and page size are one illustrative pcie-bench point\n"
        "  (that paper sweeps them), not a measured setup\n",
    .run = random_run,
};
