/* cmd_retime.c — `iosim-trace retime IN -o OUT (--factor F | --gbps G)`.
 *
 * Concepts:
 *   - A capture made on a slow guest (QEMU TCG runs the guest tens of
 *     times slower than hardware) spreads the same maps, unmaps and
 *     invalidations over far more time than the modeled device would
 *     take, so whatever depends on time between records (the lazy
 *     flush-queue timer, epochs, the device's idle gaps) sees the slow
 *     guest.  retime multiplies every record's distance from the first
 *     record by one factor, which keeps the order and the ratios of all
 *     gaps.
 *   - --gbps G picks the factor that makes the trace last as long as the
 *     device needs to move the bytes the trace maps at G Gb/s: factor =
 *     (mapped bytes x 8 / G ns) / trace duration.  (Every mapped byte
 *     crosses the link once in the `touch` model; a device model that
 *     moves more moves it in the same time.)
 *   - The metadata records it (retimed=, shown by stat and on every
 *     report's trace line), so a re-timed trace is never taken for a
 *     capture's own timing.
 * Assumptions: the guest was uniformly slow (one factor for CPU and
 *   device time alike).
 * Not modeled: per-phase re-timing (a slow application between fast
 *   bursts).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"

#define RETIME_BATCH 4096

static const char prog[] = "iosim-trace retime";

static int usage(FILE *f)
{
    fprintf(f,
            "usage: iosim-trace retime IN -o OUT.zst (--factor F | --gbps G) "
            "[--text]\n"
            "  Multiplies every record's time since the first record by F;\n"
            "  --gbps G: F such that the trace lasts as long as moving its\n"
            "  mapped bytes at G Gbit/s takes.  Records the factor in the\n"
            "  metadata (retimed=).\n" CLI_EXIT_STATUS_HELP);
    return f == stdout ? 0 : IOSIM_EXIT_BAD_INPUT;
}

/* usage in cli_usage_error's shape */
static void usage_to(FILE *out, const void *arg)
{
    (void)arg;
    usage(out);
}

/* First pass: first and last time, bytes mapped. */
static int scan(const char *in, uint64_t *t0, uint64_t *t1, uint64_t *bytes,
                iosim_err_t *err)
{
    iosim_trace_reader_t *r = iosim_trace_open(in, err);
    if (!r)
        return -1;
    iosim_rec_t *b = malloc(RETIME_BATCH * sizeof *b);
    if (!b) {
        iosim_trace_close(r);
        return iosim_err_set(err, "out of memory");
    }
    bool any = false;
    long n;
    *bytes = 0;
    while ((n = iosim_trace_read(r, b, RETIME_BATCH, err)) > 0)
        for (long i = 0; i < n; i++) {
            if (!any)
                *t0 = b[i].t;
            any = true;
            *t1 = b[i].t;
            if (b[i].kind == IOSIM_REC_MAP)
                *bytes += b[i].size;
        }
    free(b);
    iosim_trace_close(r);
    if (n < 0)
        return -1;
    if (!any)
        return iosim_err_set(err, "%s: no records to retime", in);
    return 0;
}

uint64_t retime_time(uint64_t t, uint64_t t0, double factor, int64_t shift)
{
    double x = (double)t;
    if (factor != 1.0)
        x = (double)t0 + ((double)t - (double)t0) * factor;
    x += (double)shift;
    return x < 0 ? 0 : x > 1.8e19 ? UINT64_MAX : (uint64_t)llround(x);
}

int retime_parse_factor(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || !isfinite(v) || v > 1e9)
        return -1;
    *out = v;
    return 0;
}

typedef struct retime_arg {
    uint64_t t0;
    double factor;
} retime_arg_t;

static void retime_batch(iosim_rec_t *b, size_t n, void *arg)
{
    const retime_arg_t *a = arg;
    for (size_t i = 0; i < n; i++)
        b[i].t = retime_time(b[i].t, a->t0, a->factor, 0);
}

int cmd_retime(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    double factor = 0, gbps = 0;
    bool text = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        if (!strcmp(a, "--text")) {
            text = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--factor") ||
                   !strcmp(a, "--gbps")) {
            if (++i >= argc) {
                cli_error(prog, "%s needs a value", a);
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (!strcmp(a, "-o")) {
                out = argv[i];
                continue;
            }
            double v;
            if (retime_parse_factor(argv[i], &v)) {
                cli_error(prog, "%s %s: expected a number in (0, 1e9]", a,
                          argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (!strcmp(a, "--factor"))
                factor = v;
            else
                gbps = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error(prog, "unknown option '%s' (try --help)", a);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!in) {
            in = a;
        } else {
            cli_error(prog, "unexpected argument '%s'", a);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    if (!in || !out || (factor > 0) == (gbps > 0))
        return cli_usage_error(prog,
                               !in    ? "no input given"
                               : !out ? "missing -o OUT.zst"
                                      : "give exactly one of --factor and "
                                        "--gbps",
                               usage_to, NULL);
    iosim_err_t err;
    if (outfile_not_input("-o", out, in, &err)) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    uint64_t t0 = 0, t1 = 0, bytes = 0;
    if (scan(in, &t0, &t1, &bytes, &err)) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    char how[48];
    if (gbps > 0) {
        if (t1 <= t0 || bytes == 0) {
            cli_error(prog,
                      "%s: --gbps needs a trace that maps bytes over a "
                      "time span",
                      in);
            return IOSIM_EXIT_BAD_INPUT;
        }
        factor = (double)bytes * 8.0 / gbps / (double)(t1 - t0);
        snprintf(how, sizeof how, "x%.6g to %g Gb/s", factor, gbps);
    } else {
        snprintf(how, sizeof how, "x%.6g", factor);
    }
    iosim_trace_reader_t *r = iosim_trace_open(in, &err);
    if (!r) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_trace_meta_t meta = *iosim_trace_meta(r);
    snprintf(meta.retimed, sizeof meta.retimed, "%s", how);
    cli_temp_add_trace(out);
    iosim_trace_writer_t *w = iosim_trace_create(out, &meta, text, &err);
    if (!w) {
        cli_error(prog, "%s", err.msg);
        iosim_trace_close(r);
        return IOSIM_EXIT_BAD_INPUT;
    }
    retime_arg_t arg = {t0, factor};
    int status = copy_records(prog, r, w, UINT64_MAX, retime_batch, &arg);
    if (status)
        return status;
    fprintf(stderr,
            "%s: %s: %s (%" PRIu64 " mapped bytes over %" PRIu64 " ns)\n", prog,
            out, how, bytes, t1 - t0);
    return 0;
}
