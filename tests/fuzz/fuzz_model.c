/* fuzz_model.c — fuzz target: the model (sim/system/sim.c, epoch.c and
 * every OS policy, hypervisor mode and VT-d structure behind them) fed
 * with the records of a text trace, under configurations made with
 * iosim_config_set().
 *
 * Concepts:
 *   - The input is a text-form trace (traces/FORMAT.md §5).  Every line
 *     iosim_rec_from_text() accepts is a record; other lines are skipped,
 *     so a mutation rarely loses the whole input.  At most MODEL_RECS_MAX
 *     records are kept, and MAP/UNMAP/DMA records only while their sizes
 *     add up to at most MODEL_PAGES_MAX 4 KB pages (a record that does
 *     not fit is skipped).  The metadata (has_dma, requests) comes from
 *     iosim_trace_open()'s reader (in memory) when the input opens as a
 *     trace, else it is
 *     empty with has_dma = "the input has a DMA record".
 *   - Each sim of model_sims[] (every policy on bare metal, strict and
 *     lazy emulated, strict nested, passthrough guest-passthrough, a lazy
 *     first-stage guest under caching mode; a few
 *     settings changed here and there) is built from the defaults plus
 *     its "key=value" settings and gets the same records in batches of
 *     1, 7 and 64.  Two of them also write the per-epoch time series
 *     and the translation log to memory streams.
 *   - Checks (abort() when broken, fuzz_common.h): consume and finish
 *     return 0 or -1, and -1 leaves one non-empty line that does not
 *     end with an empty reason ("record N (t=T): "); after a
 *     successful finish every counter reads the same by index and by
 *     name (once per sim and process), every derived metric and summary field
 * is finite (and the summary's non-negative, degradation at most 1, throughput
 * at most the baseline's, p50 at most p99), and trace.duration_ns does not
 * exceed the records' time span.  Counts two routes compute must agree: with
 * sim.window_only false the sim's trace.* counters equal the records of each
 * kind fed, and the epoch rows (consecutive, each at most one epoch long) add
 * up to every counter that is a sum (epoch.c); with the window on, the counters
 * are at most those numbers.  Translation log rows have 10 fields and a known
 * result, and (window off) as many "iotlb" rows as IOTLB hits. Assumptions:
 *   - The model's work grows with the bytes a record covers (the trace's
 *     view maps 4 KB pages, the access model touches every page, policies
 *     and the nested mode walk ranges page by page), so a record of a
 *     terabyte takes minutes and gigabytes, whatever else the input says.
 *     The page budget keeps an input to milliseconds; sizes beyond it
 *     are the text parser's business (fuzz_trace_text.c).
 *   - An epoch length that would need more than EPOCH_ROWS_MAX rows for
 *     these records is multiplied by 1024 until it does not (a million
 *     rows are allowed by the library but take seconds); a record more
 *     than 1,000,000 epochs away fails the sim, which is allowed.
 *   - Inputs up to a few tens of KB (libFuzzer's -max_len).  A replay
 *     run (all 21 sims) takes ~10 ms, most of it building and freeing
 *     the sims; a libFuzzer execution (one sim, 256 records) ~0.7 ms of
 *     CPU, a fifth of it parsing the text.
 * Not modeled: the binary form and iosim_replay() (fuzz_trace_binary.c
 *   covers the reader; the engine only batches records), --threads.
 */
#include <math.h>

#include "fuzz_common.h"

#ifdef IOSIM_LIBFUZZER
/* libFuzzer: a lighter input (>= 1,000 exec/s on 2 cores): the first 256
 * records, 4 MB of pages */
#define MODEL_RECS_MAX 256u
#define MODEL_PAGES_MAX (1u << 10)
#else
#define MODEL_RECS_MAX 2000u
#define MODEL_PAGES_MAX (1u << 14) /* 64 MB of MAP/UNMAP/DMA per input */
#endif
#define EPOCH_ROWS_MAX 1024u
#define MODEL_SETS_MAX 6

typedef struct model_sim {
    const char *label;
    const char *sets[MODEL_SETS_MAX]; /* NULL-terminated */
    uint64_t epoch_ns;                /* 0 = no time series */
    bool window;                      /* sim.window_only stays true */
} model_sim_t;

// clang-format off
static const model_sim_t model_sims[] = {
    {"strict", {"os.policy=strict", "sim.window_only=false"}, 1000000, false},
    {"lazy", {"os.policy=lazy"}, 0, true},
    {"passthrough", {"os.policy=passthrough", "sim.window_only=false"}, 0,
     false},
    {"fands", {"os.policy=fands", "sim.window_only=false"}, 0, false},
    {"coiommu", {"os.policy=coiommu", "sim.window_only=false",
                 "scheme.coiommu_batch=4"}, 0, false},
    {"optimistic", {"os.policy=optimistic", "sim.window_only=false",
                    "dev.model=touch"}, 0, false},
    {"static", {"os.policy=static", "sim.window_only=false"}, 0, false},
    {"vhost-iotlb", {"os.policy=vhost-iotlb", "sim.window_only=false",
                     "scheme.vhost_merge=true", "scheme.vhost_entries=16"},
     0, false},
    {"trace", {"os.policy=trace", "sim.window_only=false", "vtd.ats=true"},
     0, false},
    /* QEMU's software IOTLB (configs/qemu-virtio.yaml), small enough that
     * its flush-when-full policy runs */
    {"trace-qemu-iotlb", {"os.policy=trace", "sim.window_only=false",
                          "vtd.psi_iotlb_scope=qemu-mask8",
                          "vtd.iotlb.replacement=flush", "vtd.iotlb.sets=1",
                          "vtd.iotlb.ways=4"}, 0, false},
    {"strict-realloc", {"os.policy=strict", "sim.window_only=false",
                        "os.iova_mode=reallocate", "vtd.ats=true",
                        "os.strict_batch=1"}, 0, false},
    /* small per-CPU flush queues: full-ring flushes, rings freed late */
    {"lazy-realloc", {"os.policy=lazy", "sim.window_only=false",
                      "os.iova_mode=reallocate", "os.fq_size=4"}, 0, false},
    {"strict@emulated", {"os.policy=strict", "hv.mode=emulated",
                         "vtd.caching_mode=true", "sim.window_only=false"},
     0, false},
    {"lazy@emulated", {"os.policy=lazy", "hv.mode=emulated",
                       "vtd.caching_mode=true", "hv.host_policy=lazy",
                       "os.fq_size=4"}, 100000, true},
    {"strict@nested", {"os.policy=strict", "hv.mode=nested",
                       "vtd.root_mode=scalable", "vtd.translation=nested",
                       "sim.window_only=false"}, 0, false},
    {"passthrough@guest-passthrough", {"os.policy=passthrough",
                                       "hv.mode=guest-passthrough",
                                       "sim.window_only=false"}, 0, false},
    /* a first-stage guest under caching mode (QEMU 10's x-flts): P_IOTLB
     * descriptors, lazy not forced strict, no devTLB in the flush-all */
    {"lazy-first-stage@emulated", {"os.policy=lazy", "hv.mode=emulated",
                                   "vtd.caching_mode=true",
                                   "vtd.root_mode=scalable",
                                   "vtd.translation=first-stage",
                                   "os.flush_all_devtlb_cm=false"},
     0, true},
    /* the device models (sim/dev/): roles decided from maps alone, rings
     * mapped at first access, errors for maps they cannot serve */
    {"virtio-net", {"os.policy=strict", "sim.window_only=false",
                    "dev.model=virtio-net"}, 0, false},
    {"e1000e", {"os.policy=lazy", "sim.window_only=false",
                "dev.model=e1000e"}, 0, false},
    {"mlx5", {"os.policy=strict", "sim.window_only=false", "dev.model=mlx5",
              "dev.mlx5.rx_pages=unmap-per-page", "dev.mlx5.rx_wqes=2"},
     0, false},
    {"mlx5-gen-nic", {"os.policy=strict", "sim.window_only=false",
                      "dev.model=mlx5", "dev.mlx5.profile=gen-nic",
                      "dev.mlx5.rx_wqes=2"}, 0, false},
};
// clang-format on
#define MODEL_NSIMS (sizeof model_sims / sizeof model_sims[0])

/* The records of the input and what two routes must find in them. */
typedef struct fed {
    iosim_rec_t *r;
    size_t n;
    uint64_t by_kind[IOSIM_REC_KIND_MAX + 1];
    uint64_t t_min, t_max;
} fed_t;

/* Takes a MAP/UNMAP/DMA record's pages from the budget; false (the
 * record is skipped) when they do not fit. */
static bool within_budget(const iosim_rec_t *r, uint64_t *pages_left)
{
    if (r->kind != IOSIM_REC_MAP && r->kind != IOSIM_REC_UNMAP &&
        r->kind != IOSIM_REC_DMA)
        return true;
    uint64_t pages = r->size / 4096 + 2; /* both ends may be partial */
    if (pages > *pages_left)
        return false;
    *pages_left -= pages;
    return true;
}

static void parse_records(const uint8_t *data, size_t size, fed_t *f)
{
    char *line = malloc(size + 1);
    f->r = malloc(MODEL_RECS_MAX * sizeof *f->r);
    if (!line || !f->r)
        fuzz_fail("out of memory");
    size_t start = 0;
    uint64_t pages_left = MODEL_PAGES_MAX;
    while (start < size && f->n < MODEL_RECS_MAX) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        memcpy(line, data + start, end - start);
        line[end - start] = '\0';
        char why[200];
        iosim_rec_t *r = &f->r[f->n];
        if (iosim_rec_from_text(line, r, why, sizeof why) == 0 &&
            within_budget(r, &pages_left)) {
            fuzz_check_rec_kind(r, "iosim_rec_from_text");
            f->by_kind[r->kind]++;
            if (f->n == 0 || r->t < f->t_min)
                f->t_min = r->t;
            if (f->n == 0 || r->t > f->t_max)
                f->t_max = r->t;
            f->n++;
        }
        start = end + 1;
    }
    free(line);
}

/* Metadata: the trace header's when the input opens as a trace (read
 * in memory, as fuzz_drain_trace does). */
static void input_meta(const uint8_t *data, size_t size, const fed_t *f,
                       iosim_trace_meta_t *meta)
{
    const char *path = FUZZ_INPUT_NAME;
    iosim_err_t err;
    memset(&err, 0, sizeof err);
    memset(meta, 0, sizeof *meta);
    iosim_trace_reader_t *r =
        trace_open_stream(fuzz_open_input(data, size), path, size, &err);
    if (r) {
        *meta = *iosim_trace_meta(r);
        iosim_trace_close(r);
        return;
    }
    fuzz_check_err(&err, path, "trace_open_stream");
    meta->has_dma = f->by_kind[IOSIM_REC_DMA] > 0;
}

/* An epoch length whose rows for these records stay few (see top). */
static uint64_t epoch_len(const fed_t *f, uint64_t want)
{
    for (uint64_t len = want;; len *= 1024) {
        if (f->n == 0 || len > UINT64_MAX / 1024)
            return len;
        uint64_t t0 = f->r[0].t, rows = 0;
        bool ok = true;
        for (size_t i = 0; i < f->n && ok; i++) {
            if (f->r[i].t < t0)
                continue;
            uint64_t k = (f->r[i].t - t0) / len;
            if (k >= 1000000)
                break; /* the library stops here with an error */
            if (k > rows)
                rows = k;
            ok = rows <= EPOCH_ROWS_MAX;
        }
        if (ok)
            return len;
    }
}

typedef struct run {
    const model_sim_t *def;
    iosim_sim_t *s;
    bool failed;
    uint64_t epoch_ns;
    char *csv; /* epoch rows (open_memstream) */
    size_t csv_len;
    FILE *csv_f;
    char *xl; /* translation log rows (sims with an epoch series too) */
    size_t xl_len;
    FILE *xl_f;
} run_t;

static void build(run_t *run, const model_sim_t *def, const fed_t *f,
                  const iosim_trace_meta_t *meta)
{
    memset(run, 0, sizeof *run);
    run->def = def;
    iosim_config_t *c = iosim_config_new();
    if (!c)
        fuzz_fail("iosim_config_new failed");
    iosim_err_t err;
    for (size_t k = 0; k < MODEL_SETS_MAX && def->sets[k]; k++) {
        memset(&err, 0, sizeof err);
        if (iosim_config_set(c, def->sets[k], &err) != 0)
            fuzz_fail("%s: --set %s: %s", def->label, def->sets[k], err.msg);
    }
    memset(&err, 0, sizeof err);
    run->s = iosim_sim_new(c, def->label, meta, &err);
    iosim_config_free(c);
    if (!run->s)
        fuzz_fail("%s: iosim_sim_new: %s", def->label, err.msg);
    /* the label given, then at most what the model substituted, in
     * parentheses ("lazy@emulated (forced strict: caching mode)") */
    const char *got = iosim_sim_label(run->s);
    size_t n = strlen(def->label), len = strlen(got);
    if (strncmp(got, def->label, n) != 0 ||
        (got[n] && (strncmp(got + n, " (", 2) != 0 || got[len - 1] != ')')))
        fuzz_fail("%s: label is '%s'", def->label, got);
    if (!def->epoch_ns)
        return;
    run->epoch_ns = epoch_len(f, def->epoch_ns);
    run->csv_f = open_memstream(&run->csv, &run->csv_len);
    if (!run->csv_f)
        fuzz_fail("open_memstream failed");
    if (iosim_sim_set_epochs(run->s, run->epoch_ns, run->csv_f, &err) != 0)
        fuzz_fail("%s: iosim_sim_set_epochs: %s", def->label, err.msg);
    run->xl_f = open_memstream(&run->xl, &run->xl_len);
    if (!run->xl_f)
        fuzz_fail("open_memstream failed");
    if (iosim_sim_set_xlate_log(run->s, run->xl_f, &err) != 0)
        fuzz_fail("%s: iosim_sim_set_xlate_log: %s", def->label, err.msg);
}

static void release(run_t *run)
{
    iosim_sim_free(run->s);
    if (run->csv_f)
        fclose(run->csv_f);
    free(run->csv);
    if (run->xl_f)
        fclose(run->xl_f);
    free(run->xl);
}

/* Translation log rows (xlate_log.c): 10 fields, the sim's label, a known
 * result; as many "iotlb" rows as the report's IOTLB hits. */
static void check_xlate_log(run_t *run)
{
    const char *who = iosim_sim_label(run->s); /* rows carry the sim's label */
    if (fflush(run->xl_f) != 0)
        fuzz_fail("%s: translation log: fflush failed", who);
    uint64_t iotlb_rows = 0, hits = 0;
    const char *p = run->xl, *end = run->xl + run->xl_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            fuzz_fail("%s: translation log: a row without a newline", who);
        size_t commas = 0;
        for (const char *q = p; q < nl; q++)
            commas += *q == ',';
        size_t ll = strlen(who);
        const char *res = p;
        for (int k = 0; k < 7 && res; k++) {
            if (res >= nl) { /* no room for another comma */
                res = NULL;
                break;
            }
            res = memchr(res, ',', (size_t)(nl - res));
            if (res)
                res++;
        }
        if (commas != 9 || (size_t)(nl - p) <= ll || memcmp(p, who, ll) ||
            p[ll] != ',' || !res)
            fuzz_fail("%s: translation log row '%.*s'", who, (int)(nl - p), p);
        static const char *const results[] = {"fault,", "devtlb,", "iotlb,",
                                              "walk,", "none,"};
        bool known = false;
        for (size_t k = 0; k < 5; k++)
            if (!strncmp(res, results[k], strlen(results[k]))) {
                known = true;
                iotlb_rows += k == 2;
            }
        if (!known)
            fuzz_fail("%s: translation log: result in '%.*s'", who,
                      (int)(nl - p), p);
        p = nl + 1;
    }
    iosim_sim_stat_by_name(run->s, "iotlb.hits", &hits);
    if (iotlb_rows != hits)
        fuzz_fail("%s: %llu iotlb rows, %llu IOTLB hits", who,
                  (unsigned long long)iotlb_rows, (unsigned long long)hits);
}

/* A call's result: 0, or -1 with one line; returns true on failure. */
static bool check_rc(run_t *run, int rc, const iosim_err_t *err,
                     const char *what)
{
    if (rc != 0 && rc != -1)
        fuzz_fail("%s: %s returned %d", run->def->label, what, rc);
    if (rc == 0)
        return false;
    fuzz_check_err(err, NULL, what);
    /* "record N (t=T): " + an empty reason (a component that failed
     * without saying why) */
    size_t len = strlen(err->msg);
    if (len >= 2 && !strcmp(err->msg + len - 2, ": "))
        fuzz_fail("%s: %s: the message has no reason: '%s'", run->def->label,
                  what, err->msg);
    run->failed = true;
    return true;
}

static bool stat_is_sum(const char *name)
{
    static const char *const not_sums[] = {
        "pt.pages_live",     "pt.pages_peak",      "pt.mappings_peak",
        "trace.duration_ns", "dma.device_time_ns", "dma.overlapped_time_ns",
    };
    for (size_t i = 0; i < sizeof not_sums / sizeof not_sums[0]; i++)
        if (!strcmp(name, not_sums[i]))
            return false;
    return true;
}

/* Rows "label,epoch,t_start,t_end,<counters>": consecutive, inside one
 * epoch each; without the window, the sums of the columns are the
 * counters (epoch.c). */
static void check_epochs(run_t *run, const iosim_trace_meta_t *meta)
{
    const char *who = iosim_sim_label(run->s); /* rows carry the sim's label */
    if (fflush(run->csv_f) != 0)
        fuzz_fail("%s: epoch stream flush failed", who);
    size_t nst = iosim_stat_count();
    uint64_t *sum = calloc(nst, sizeof *sum);
    if (!sum)
        fuzz_fail("out of memory");
    size_t label_len = strlen(who);
    uint64_t rows = 0;
    const char *p = run->csv, *end = run->csv + run->csv_len;
    while (p < end) {
        if ((size_t)(end - p) <= label_len || strncmp(p, who, label_len) != 0 ||
            p[label_len] != ',')
            fuzz_fail("%s: epoch row %llu does not start with the label", who,
                      (unsigned long long)rows);
        p += label_len + 1;
        uint64_t head[3]; /* epoch, t_start, t_end */
        for (size_t i = 0; i < 3 + nst; i++) {
            char *stop;
            unsigned long long v = strtoull(p, &stop, 10);
            char want = i + 1 < 3 + nst ? ',' : '\n';
            if (stop == p || *stop != want)
                fuzz_fail("%s: epoch row %llu: bad column %zu", who,
                          (unsigned long long)rows, i + 1);
            if (i < 3)
                head[i] = v;
            else
                sum[i - 3] += v;
            p = stop + 1;
        }
        if (head[0] != rows || head[1] != rows * run->epoch_ns ||
            head[2] < head[1] || head[2] - head[1] > run->epoch_ns)
            fuzz_fail("%s: epoch row %llu is epoch %llu, [%llu, %llu) "
                      "(epoch %llu ns)",
                      who, (unsigned long long)rows,
                      (unsigned long long)head[0], (unsigned long long)head[1],
                      (unsigned long long)head[2],
                      (unsigned long long)run->epoch_ns);
        rows++;
    }
    for (size_t i = 0; i < nst && !run->def->window; i++) {
        const char *name = iosim_stat_name(i);
        uint64_t v = iosim_sim_stat(run->s, i);
        if (!stat_is_sum(name) || (!strcmp(name, "trace.requests") &&
                                   sum[i] == 0 && v == meta->requests))
            continue;
        if (sum[i] != v)
            fuzz_fail("%s: epoch rows add up to %s = %llu, the counter is "
                      "%llu",
                      who, name, (unsigned long long)sum[i],
                      (unsigned long long)v);
    }
    free(sum);
}

static void check_finite(const char *who, const char *what, double v)
{
    if (!isfinite(v))
        fuzz_fail("%s: %s is %g", who, what, v);
}

/* After a successful finish: counters, derived metrics, summary. */
static void check_results(run_t *run, const fed_t *f,
                          const iosim_trace_meta_t *meta)
{
    const char *who = iosim_sim_label(run->s); /* rows carry the sim's label */
    /* Every counter by name: a search of the name table per counter (a
     * tenth of an execution), and which slot a name reads does not depend
     * on the records, so once per sim and process; a counter that is
     * still zero would read the same from a wrong slot, so the check
     * waits for a run that made some counter non-zero. */
    static bool names_checked[MODEL_NSIMS];
    size_t which = (size_t)(run->def - model_sims);
    bool some = false;
    for (size_t i = 0; i < iosim_stat_count() && !names_checked[which]; i++) {
        uint64_t by_name;
        if (!iosim_sim_stat_by_name(run->s, iosim_stat_name(i), &by_name) ||
            by_name != iosim_sim_stat(run->s, i))
            fuzz_fail("%s: counter %s differs by name", who,
                      iosim_stat_name(i));
        some |= by_name != 0;
    }
    names_checked[which] |= some;
    for (size_t i = 0; i < iosim_derived_count(); i++) {
        double v, w;
        bool ok = iosim_sim_derived(run->s, i, &v);
        if (iosim_sim_derived_by_name(run->s, iosim_derived_name(i), &w) !=
                ok ||
            (ok && memcmp(&v, &w, sizeof v) != 0))
            fuzz_fail("%s: derived %s differs by name", who,
                      iosim_derived_name(i));
        if (ok)
            check_finite(who, iosim_derived_name(i), v);
    }
    iosim_summary_t sm;
    iosim_sim_summary(run->s, &sm);
    const double fields[] = {
        sm.requests,       sm.iommu_cycles,   sm.map_cycles,
        sm.unmap_cycles,   sm.iova_cycles,    sm.inval_cycles,
        sm.vmexit_cycles,  sm.shadow_cycles,  sm.sw_iotlb_cycles,
        sm.vmexits,        sm.cpus,           sm.mem_reads_per_4k,
        sm.cpu_ns,         sm.device_ns,      sm.throughput_rps,
        sm.baseline_rps,   sm.degradation,    sm.latency_mean_ns,
        sm.latency_p50_ns, sm.latency_p99_ns,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "summary field %zu", i);
        check_finite(who, what, fields[i]);
        if (fields[i] < 0)
            fuzz_fail("%s: %s is %g", who, what, fields[i]);
    }
    if (sm.degradation > 1 || sm.latency_p50_ns > sm.latency_p99_ns ||
        sm.throughput_rps > sm.baseline_rps)
        fuzz_fail("%s: summary degradation %g, p50 %g > p99 %g, or "
                  "throughput %g > baseline %g",
                  who, sm.degradation, sm.latency_p50_ns, sm.latency_p99_ns,
                  sm.throughput_rps, sm.baseline_rps);
    uint64_t dur = 0;
    iosim_sim_stat_by_name(run->s, "trace.duration_ns", &dur);
    if (dur > f->t_max - f->t_min)
        fuzz_fail("%s: trace.duration_ns %llu > the records' span %llu", who,
                  (unsigned long long)dur,
                  (unsigned long long)(f->t_max - f->t_min));
    static const char *const per_kind[IOSIM_REC_KIND_MAX + 1] = {
        "trace.records", "trace.map",   "trace.unmap",
        "trace.dma",     "trace.inval", "trace.mark"};
    for (unsigned k = 0; k <= IOSIM_REC_KIND_MAX; k++) {
        uint64_t got = 0, want = k ? f->by_kind[k] : f->n;
        iosim_sim_stat_by_name(run->s, per_kind[k], &got);
        if (run->def->window ? got > want : got != want)
            fuzz_fail("%s: %s = %llu for %llu records fed", who, per_kind[k],
                      (unsigned long long)got, (unsigned long long)want);
    }
    if (run->csv_f)
        check_epochs(run, meta);
    if (run->xl_f && !run->def->window)
        check_xlate_log(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fed_t f;
    memset(&f, 0, sizeof f);
    parse_records(data, size, &f);
    iosim_trace_meta_t meta;
    input_meta(data, size, &f, &meta);

    /* Under libFuzzer one sim per input, picked by the input's hash, so
     * that an execution costs one sim's set-up (>= 1,000 exec/s; all of
     * them are reached over the mutations); the ctest replay runs every
     * sim on every input. */
    static run_t runs[MODEL_NSIMS];
#ifdef IOSIM_LIBFUZZER
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < size; k++)
        h = (h ^ data[k]) * 1099511628211ull;
    size_t only = (size_t)(h % MODEL_NSIMS);
#endif
    for (size_t i = 0; i < MODEL_NSIMS; i++) {
#ifdef IOSIM_LIBFUZZER
        if (i != only) {
            runs[i] = (run_t){.failed = true};
            continue;
        }
#endif
        build(&runs[i], &model_sims[i], &f, &meta);
    }
    static const size_t batch[] = {1, 7, 64};
    iosim_err_t err;
    for (size_t done = 0, b = 0; done < f.n; b++) {
        size_t n = batch[b % 3];
        if (n > f.n - done)
            n = f.n - done;
        for (size_t i = 0; i < MODEL_NSIMS; i++) {
            if (runs[i].failed)
                continue;
            memset(&err, 0, sizeof err);
            check_rc(&runs[i],
                     iosim_sim_consume(runs[i].s, f.r + done, n, &err), &err,
                     "iosim_sim_consume");
        }
        done += n;
    }
    for (size_t i = 0; i < MODEL_NSIMS; i++) {
        if (!runs[i].failed) {
            memset(&err, 0, sizeof err);
            if (!check_rc(&runs[i], iosim_sim_finish(runs[i].s, &err), &err,
                          "iosim_sim_finish"))
                check_results(&runs[i], &f, &meta);
        }
        release(&runs[i]);
    }
    free(f.r);
    return 0;
}
