/* fuzz_ftrace.c — fuzz target: the ftrace importer (source "ftrace" of
 * import_sources[], sim/trace/import_ftrace.c + import_registry.c), run
 * the way tests/unit/test_import.c drives it: a FILE* (the input in
 * memory, fuzz_open_input), a callback sink, then import_sink_finish().
 *
 * Concepts:
 *   - Each input is imported twice: once with the domain vote and no
 *     window (the importer's defaults), once with a forced domain and the
 *     --window filter, so both paths of the sink run.  Records go to a
 *     callback that checks and discards them.
 *   - Checks: no crash / leak / UB; failures return -1 with one line
 *     starting with the file name; every record handed to the sink has a
 *     known kind and a text form that round-trips (fuzz_common.h); the
 *     sink's record counter equals the records the callback received
 *     (two counts of the same stream); with --window, the records kept
 *     plus those dropped equal the records of the run without window.
 * Assumptions: inputs up to a few hundred KB (libFuzzer's -max_len).
 * Not modeled here: the QEMU source (fuzz_qemu.c: it needs two files).
 */
#include "fuzz_common.h"
#include "trace/import.h"

typedef struct seen {
    unsigned long records; /* records the callback received */
} seen_t;

static int discard(void *arg, const iosim_rec_t *recs, size_t n,
                   iosim_err_t *err)
{
    seen_t *s = arg;
    for (size_t i = 0; i < n; i++) {
        fuzz_check_rec_kind(&recs[i], "ftrace import");
        if (s->records + i < FUZZ_ROUNDTRIP_MAX)
            fuzz_check_rec_roundtrip(&recs[i], "ftrace import");
    }
    s->records += n;
    return 0;
}

/* Runs the ftrace source on the input; returns 0/-1 and the counts. */
static int run(const uint8_t *data, size_t size, bool window,
               import_counts_t *counts, seen_t *seen)
{
    const char *path = FUZZ_INPUT_NAME;
    const import_source_t *src = import_find("ftrace");
    if (!src)
        fuzz_fail("no \"ftrace\" in import_sources[]");
    import_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.device = 0x0100;
    opts.domain = window ? 5 : -1;
    opts.window = window;
    memset(counts, 0, sizeof *counts);
    memset(seen, 0, sizeof *seen);

    FILE *f = fuzz_open_input(data, size);
    import_sink_t *sink = import_sink_callback(discard, seen, &opts, counts);
    if (!sink)
        fuzz_fail("import_sink_callback failed");
    iosim_err_t err;
    memset(&err, 0, sizeof err);
    int rc = import_run(src, f, path, sink, &opts, counts, &err);
    if (rc == 0)
        rc = import_sink_finish(sink, &err);
    import_sink_free(sink);
    fclose(f);
    if (rc == -1)
        fuzz_check_err(&err, path, "ftrace import");
    else if (rc != 0)
        fuzz_fail("ftrace import returned %d", rc);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    import_counts_t all, win;
    seen_t seen_all, seen_win;
    int rc_all = run(data, size, false, &all, &seen_all);
    int rc_win = run(data, size, true, &win, &seen_win);
    if (rc_all != rc_win)
        fuzz_fail("ftrace import: %d without window, %d with", rc_all, rc_win);
    if (rc_all != 0)
        return 0;
    if (all.records != seen_all.records || win.records != seen_win.records)
        fuzz_fail("ftrace import: sink counted %llu/%llu records, callback "
                  "got %lu/%lu",
                  (unsigned long long)all.records,
                  (unsigned long long)win.records, seen_all.records,
                  seen_win.records);
    if (win.records + win.outside_window != all.records)
        fuzz_fail("ftrace import: %llu kept + %llu outside the window != "
                  "%llu records",
                  (unsigned long long)win.records,
                  (unsigned long long)win.outside_window,
                  (unsigned long long)all.records);
    return 0;
}
