/* fuzz_qemu.c — fuzz target: the QEMU importer (source "qemu" of
 * import_sources[], sim/trace/import_qemu.c), which aligns a QEMU
 * `-trace vtd_*` log with the guest's ftrace and merges the two.
 *
 * Input format: the QEMU log, then a line that is exactly "----", then
 * the guest's ftrace:
 *
 *     vtd_inv_desc invalidate desc type iotlb high 0xffff0000 low 0x200f2
 *     vtd_dmar_translate dev 01:00.00 iova 0xffff0000 -> gpa 0x1000 mask 0xfff
 *     ----
 *      a-1 [000] ..... 1.000001: qi_submit: iotlb_inv dmar0: 0x200f2 ...
 *
 * The first such line splits the input; without one, the whole input is
 * the QEMU log and the guest file is empty.  The importer reads both
 * twice (sync, then merge): the QEMU part from memory (fuzz_open_input),
 * the guest part from a scratch file (the importer opens it by path).
 *
 * Concepts:
 *   - Each input is imported twice, like fuzz_ftrace.c: with the domain
 *     vote and no window, then with a forced domain and --window.  The
 *     records go to a callback that checks and discards them.
 *   - Checks: no crash / leak / UB; failures return -1 with one line
 *     starting with the name of one of the two files, the same way with
 *     and without window; every record has a known kind and a text form
 *     that round-trips (fuzz_common.h); the output is time-ordered
 *     (alignment rule 5 of import_qemu.c); the sink's counters equal what
 *     the callback received (records and per kind); with --window, kept
 *     plus dropped equals all; the merge counters add up: every QEMU DMA
 *     line is kept or dropped, every kept one matched or unmapped, and
 *     without window the DMA records written are the kept ones.
 * Assumptions: inputs up to a few tens of KB (libFuzzer's -max_len).
 * Not modeled: zstd-compressed inputs (import_in_t is fuzzed through
 *   fuzz_ftrace.c), the file sink (fuzz_trace_* cover the writer).
 */
#include "fuzz_common.h"
#include "trace/import.h"

static char guest_path[sizeof fuzz_path_buf + 8];

static void remove_guest(void)
{
    if (guest_path[0])
        unlink(guest_path);
}

/* The guest's scratch file: the QEMU one's name + ".guest". */
static const char *write_guest(const uint8_t *data, size_t size)
{
    if (!guest_path[0]) {
        snprintf(guest_path, sizeof guest_path, "%s.guest",
                 fuzz_scratch_path());
        atexit(remove_guest);
    }
    FILE *f = fopen(guest_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        fuzz_fail("cannot write %s", guest_path);
    return guest_path;
}

/* Length of the QEMU part: up to the first line "----" (or all). */
static size_t split_at(const uint8_t *data, size_t size, size_t *guest_off)
{
    for (size_t i = 0; i + 4 <= size; i++) {
        if ((i > 0 && data[i - 1] != '\n') || memcmp(data + i, "----", 4))
            continue;
        if (i + 4 == size || data[i + 4] == '\n') {
            *guest_off = i + 4 < size ? i + 5 : size;
            return i;
        }
    }
    *guest_off = size;
    return size;
}

typedef struct seen {
    unsigned long records;
    unsigned long by_kind[IOSIM_REC_KIND_MAX + 1];
    uint64_t last_t;
} seen_t;

static int check_and_discard(void *arg, const iosim_rec_t *recs, size_t n,
                             iosim_err_t *err)
{
    seen_t *s = arg;
    for (size_t i = 0; i < n; i++) {
        const iosim_rec_t *r = &recs[i];
        fuzz_check_rec_kind(r, "qemu import");
        if (s->records < FUZZ_ROUNDTRIP_MAX)
            fuzz_check_rec_roundtrip(r, "qemu import");
        if (s->records > 0 && r->t < s->last_t)
            fuzz_fail("qemu import: record %lu at t=%llu after t=%llu",
                      s->records, (unsigned long long)r->t,
                      (unsigned long long)s->last_t);
        s->last_t = r->t;
        s->by_kind[r->kind]++;
        s->records++;
    }
    return 0;
}

/* The error names one of the two inputs. */
static void check_qemu_err(const iosim_err_t *err, const char *qpath,
                           const char *gpath)
{
    fuzz_check_err(err, NULL, "qemu import");
    size_t ql = strlen(qpath), gl = strlen(gpath);
    if (!(strncmp(err->msg, qpath, ql) == 0 && err->msg[ql] == ':') &&
        !(strncmp(err->msg, gpath, gl) == 0 && err->msg[gl] == ':'))
        fuzz_fail("qemu import: message names neither input: '%s'", err->msg);
}

static int run(const uint8_t *qdata, size_t qsize, const char *gpath,
               bool window, import_counts_t *counts, seen_t *seen,
               iosim_err_t *err)
{
    const char *qpath = FUZZ_INPUT_NAME;
    const import_source_t *src = import_find("qemu");
    if (!src)
        fuzz_fail("no \"qemu\" in import_sources[]");
    import_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.guest_path = gpath;
    opts.device = 0x0100;
    opts.domain = window ? 5 : -1;
    opts.window = window;
    memset(counts, 0, sizeof *counts);
    memset(seen, 0, sizeof *seen);
    memset(err, 0, sizeof *err);

    FILE *f = fuzz_open_input(qdata, qsize);
    import_sink_t *sink =
        import_sink_callback(check_and_discard, seen, &opts, counts);
    if (!sink)
        fuzz_fail("import_sink_callback failed");
    int rc = import_run(src, f, qpath, sink, &opts, counts, err);
    if (rc == 0)
        rc = import_sink_finish(sink, err);
    import_sink_free(sink);
    fclose(f);
    if (rc == -1)
        check_qemu_err(err, qpath, gpath);
    else if (rc != 0)
        fuzz_fail("qemu import returned %d", rc);
    return rc;
}

/* Counters of one successful run against the records received; all is
 * the run without window when c is the one with it (NULL otherwise). */
static void check_counts(const import_counts_t *c, const seen_t *s,
                         const import_counts_t *all)
{
    bool window = all != NULL;
    if (window && c->records + c->outside_window != all->records)
        fuzz_fail("qemu import: %llu kept + %llu outside the window, %llu "
                  "without window",
                  (unsigned long long)c->records,
                  (unsigned long long)c->outside_window,
                  (unsigned long long)all->records);
    if (c->records != s->records)
        fuzz_fail("qemu import: sink counted %llu records, callback got "
                  "%lu",
                  (unsigned long long)c->records, s->records);
    for (unsigned k = 1; k <= IOSIM_REC_KIND_MAX; k++)
        if (c->by_kind[k] != s->by_kind[k])
            fuzz_fail("qemu import: sink counted %llu %s, callback got %lu",
                      (unsigned long long)c->by_kind[k], iosim_rec_kind_name(k),
                      s->by_kind[k]);
    if (c->qemu_dma != c->qemu_dma_kept + c->qemu_dma_dropped ||
        c->qemu_dma_kept != c->qemu_dma_matched + c->qemu_dma_unmapped)
        fuzz_fail("qemu import: %llu DMA lines, %llu kept (%llu matched + "
                  "%llu unmapped) + %llu dropped",
                  (unsigned long long)c->qemu_dma,
                  (unsigned long long)c->qemu_dma_kept,
                  (unsigned long long)c->qemu_dma_matched,
                  (unsigned long long)c->qemu_dma_unmapped,
                  (unsigned long long)c->qemu_dma_dropped);
    if (!window && (c->by_kind[IOSIM_REC_DMA] != c->qemu_dma_kept ||
                    c->by_kind[IOSIM_REC_MAP] < c->qemu_premapped ||
                    c->by_kind[IOSIM_REC_INVAL] < c->qemu_anchors))
        fuzz_fail("qemu import: %llu DMA, %llu MAP, %llu INVAL records for "
                  "%llu DMAs kept, %llu premapped, %llu anchors",
                  (unsigned long long)c->by_kind[IOSIM_REC_DMA],
                  (unsigned long long)c->by_kind[IOSIM_REC_MAP],
                  (unsigned long long)c->by_kind[IOSIM_REC_INVAL],
                  (unsigned long long)c->qemu_dma_kept,
                  (unsigned long long)c->qemu_premapped,
                  (unsigned long long)c->qemu_anchors);
    /* QEMU's own outcomes are counted for kept DMAs only, at most one
     * each; a tail write only before a matched guest descriptor */
    if (c->qemu_iotlb_hits + c->qemu_iotlb_misses > c->qemu_dma_kept ||
        c->qemu_tail_writes > c->qemu_anchors)
        fuzz_fail("qemu import: %llu hits + %llu misses for %llu DMAs kept, "
                  "%llu tail writes for %llu anchors",
                  (unsigned long long)c->qemu_iotlb_hits,
                  (unsigned long long)c->qemu_iotlb_misses,
                  (unsigned long long)c->qemu_dma_kept,
                  (unsigned long long)c->qemu_tail_writes,
                  (unsigned long long)c->qemu_anchors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t goff;
    size_t qlen = split_at(data, size, &goff);
    const char *gpath = write_guest(data + goff, size - goff);

    import_counts_t all, win;
    seen_t seen_all, seen_win;
    iosim_err_t err_all, err_win;
    int rc_all = run(data, qlen, gpath, false, &all, &seen_all, &err_all);
    int rc_win = run(data, qlen, gpath, true, &win, &seen_win, &err_win);
    if (rc_all != rc_win || strcmp(err_all.msg, err_win.msg) != 0)
        fuzz_fail("qemu import: %d without window ('%s'), %d with ('%s')",
                  rc_all, err_all.msg, rc_win, err_win.msg);
    if (rc_all != 0)
        return 0;
    check_counts(&all, &seen_all, NULL);
    check_counts(&win, &seen_win, &all);
    return 0;
}
