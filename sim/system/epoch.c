/* epoch.c — time series: every counter per fixed span of trace time.
 *
 * Concepts:
 *   - Epoch k of a sim covers trace time [t0 + k E, t0 + (k+1) E), t0 the
 *     first record's time, E = the epoch length.  When a record at or past
 *     the end of epoch k arrives, the rows of epoch k and of any empty
 *     epochs up to the record's are written before the record is counted:
 *     the time axis is regular.  The last, partial epoch is written by
 *     iosim_sim_finish(), after the policy's and the mode's own finish
 *     work (a lazy flush queue drained at the end counts in it).
 *   - A row holds, per counter of stat_list.h, what the epoch added.  Six
 *     counters are not sums.  pt.pages_live, pt.pages_peak and
 *     pt.mappings_peak (model state) are written as their value at the
 *     epoch's end; trace.duration_ns is the epoch's span; the two device
 *     times are those of the epoch's own requests, as the summary defines
 *     them for the trace: dma.device_time_ns = the slower of the epoch's
 *     translation and link busy times, dma.overlapped_time_ns = how far
 *     the device clock moved.  So these two do not add up to the trace's
 *     value over the epochs (a max of sums is not a sum of maxes); every
 *     other counter does, with sim.window_only false.  trace.requests
 *     counts request MARKs (a trace without them gets its metadata's
 *     count only in the report).
 *   - The series covers the whole trace, whatever sim.window_only says:
 *     the window restart (sim.c window_mark) zeroes the counters, so what
 *     they held since the epoch began is carried over first (carry[]) and
 *     the restarted values become the new base.
 *   - Rows go to a stream of the caller's (one per sim: with --threads a
 *     sim is run by one thread at a time, so no locking is needed); the
 *     CSV header is iosim_epoch_csv_header().
 * Assumptions: records come in time order (a record older than the epoch
 * being filled counts in that epoch).
 * Not modeled: per-CPU load and latency percentiles per epoch.
 */
#include <inttypes.h>
#include <string.h>

#include "system/sim.h"

/* An epoch length that leaves more epochs than this per sim is a mistake
 * (or a corrupt timestamp): a million rows are 200 to 400 MB of CSV, far
 * more points than a plot shows. */
#define EPOCH_MAX_ROWS 1000000ull

void iosim_epoch_csv_header(FILE *out)
{
    fprintf(out, "label,epoch,t_start_ns,t_end_ns");
    for (size_t i = 0; i < iosim_stat_count(); i++)
        fprintf(out, ",%s", iosim_stat_name(i));
    fputc('\n', out);
}

int iosim_sim_set_epochs(iosim_sim_t *s, uint64_t epoch_ns, FILE *out,
                         iosim_err_t *err)
{
    if (s->seen_any)
        return iosim_err_set(err,
                             "%s: epochs must be set before the first "
                             "record",
                             s->label);
    if (epoch_ns == 0 || !out)
        return iosim_err_set(err,
                             "%s: the epoch length must be > 0 ns and "
                             "the output given",
                             s->label);
    memset(&s->epochs, 0, sizeof s->epochs);
    s->epochs.len_ns = epoch_ns;
    s->epochs.out = out;
    return 0;
}

/* What counter i, a sum, grew by in the epoch being filled. */
static uint64_t epoch_growth(const iosim_sim_t *s, size_t i)
{
    const sim_epochs_t *e = &s->epochs;
    return e->carry[i] + s->st[i] - e->base[i];
}

/* The value column i of the row shows (see the top of the file). */
static uint64_t epoch_value(const iosim_sim_t *s, size_t i, uint64_t span)
{
    switch (i) {
    case IOSIM_ST_TRACE_NS:
        return span;
    case IOSIM_ST_PT_PAGES:
        return vtd_pt_pages_live(s->vtd);
    case IOSIM_ST_PT_PAGES_PEAK:
        return vtd_pt_pages_peak(s->vtd);
    case IOSIM_ST_MAPPINGS_PEAK: /* kept across the window restart */
        return s->st[i];
    case IOSIM_ST_DMA_TIME_NS: {
        uint64_t xlate = epoch_growth(s, IOSIM_ST_DMA_XLATE_NS);
        uint64_t wire = epoch_growth(s, IOSIM_ST_DMA_WIRE_NS);
        return xlate > wire ? xlate : wire;
    }
    case IOSIM_ST_DMA_OVERLAP_NS:
        return dma_pipe_landed(s->pipe) - s->epochs.dev_done0;
    default:
        return epoch_growth(s, i);
    }
}

/* Writes the row of the epoch being filled, ending at t_end (relative to
 * t0), and starts the next one. */
static void epoch_emit(iosim_sim_t *s, uint64_t t_end)
{
    sim_epochs_t *e = &s->epochs;
    uint64_t t_start = e->index * e->len_ns;
    fprintf(e->out, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64, s->label, e->index,
            t_start, t_end);
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        fprintf(e->out, ",%" PRIu64, epoch_value(s, i, t_end - t_start));
    fputc('\n', e->out);
    memcpy(e->base, s->st, sizeof e->base);
    memset(e->carry, 0, sizeof e->carry);
    e->dev_done0 = dma_pipe_landed(s->pipe);
    e->index++;
}

int sim_epoch_advance(iosim_sim_t *s, uint64_t t, iosim_err_t *err)
{
    sim_epochs_t *e = &s->epochs;
    if (!e->started) {
        e->started = true;
        e->t0 = t;
        return 0;
    }
    if (t < e->t0)
        return 0;
    uint64_t k = (t - e->t0) / e->len_ns; /* the epoch t falls in */
    if (k > e->index && k >= EPOCH_MAX_ROWS)
        return iosim_err_set(err,
                             "time %" PRIu64 " ns is epoch %" PRIu64
                             " of %" PRIu64 " ns: more than %llu rows "
                             "(choose a longer epoch)",
                             t - e->t0, k, e->len_ns, EPOCH_MAX_ROWS);
    while (e->index < k)
        epoch_emit(s, (e->index + 1) * e->len_ns);
    return 0;
}

void sim_epoch_before_restart(iosim_sim_t *s)
{
    sim_epochs_t *e = &s->epochs;
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        e->carry[i] += s->st[i] - e->base[i];
}

void sim_epoch_after_restart(iosim_sim_t *s)
{
    memcpy(s->epochs.base, s->st, sizeof s->epochs.base);
}

int sim_epoch_finish(iosim_sim_t *s, iosim_err_t *err)
{
    sim_epochs_t *e = &s->epochs;
    if (e->started) {
        /* the last record may be older than the epoch being filled, or
         * than the first (time going backwards): the row still ends at
         * or after its start */
        uint64_t end = s->now > e->t0 ? s->now - e->t0 : 0;
        if (end < e->index * e->len_ns)
            end = e->index * e->len_ns;
        epoch_emit(s, end);
    }
    if (fflush(e->out) != 0 || ferror(e->out))
        return iosim_err_set(err, "%s: cannot write the epoch rows", s->label);
    return 0;
}
