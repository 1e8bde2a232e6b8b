/* engine.c — the replay engine.
 * Concepts: decodes the trace once, in batches, and hands every batch to
 * every sim, so N configurations cost one decode (--compare, sweeps).
 * Memory is one batch plus the models' state: it grows with live
 * mappings, never with trace length.
 * Not modeled: parallel sims (a later step: one thread per sim). */
#include "iosim.h"

#define ENGINE_BATCH 4096

int iosim_replay_reader(iosim_trace_reader_t *r, iosim_sim_t **sims,
                        size_t nsims, iosim_progress_fn progress,
                        void *progress_arg, iosim_err_t *err)
{
    static iosim_rec_t batch[ENGINE_BATCH]; /* not re-entrant: one replay
                                               at a time per process */
    uint64_t records = 0, batches = 0;
    for (;;) {
        long n = iosim_trace_read(r, batch, ENGINE_BATCH, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        for (size_t i = 0; i < nsims; i++)
            if (iosim_sim_consume(sims[i], batch, (size_t)n, err)) {
                /* name the record that failed: its position in the trace */
                char msg[sizeof err->msg];
                snprintf(msg, sizeof msg, "%s", err->msg);
                return iosim_err_set(err, "%s: %s", iosim_sim_label(sims[i]),
                                     msg);
            }
        records += (uint64_t)n;
        if (progress && (++batches & 63) == 0) {
            uint64_t done, total;
            iosim_trace_progress(r, &done, &total);
            progress(done, total, records, progress_arg);
        }
    }
    for (size_t i = 0; i < nsims; i++)
        if (iosim_sim_finish(sims[i], err))
            return -1;
    if (progress) {
        uint64_t done, total;
        iosim_trace_progress(r, &done, &total);
        progress(total, total, records, progress_arg);
    }
    return 0;
}

int iosim_replay(const char *trace_path, const iosim_config_t *cfg,
                 iosim_sim_t **sims, size_t nsims, iosim_progress_fn progress,
                 void *progress_arg, iosim_err_t *err)
{
    (void)cfg;
    iosim_trace_reader_t *r = iosim_trace_open(trace_path, err);
    if (!r)
        return -1;
    int rc = iosim_replay_reader(r, sims, nsims, progress, progress_arg, err);
    iosim_trace_close(r);
    return rc;
}
