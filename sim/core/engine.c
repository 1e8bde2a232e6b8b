/* engine.c — the replay engine.
 *
 * Concepts:
 *   - The trace is decoded once, in batches of ENGINE_BATCH records, and
 *     every batch goes to every sim, so N configurations cost one decode
 *     (--compare, sweeps).  Memory is a few batches plus the models'
 *     state: it grows with live mappings, never with trace length.
 *   - With threads > 1, T = min(threads, sims) worker threads run the sims
 *     while the calling thread decodes into a ring of ENGINE_RING batch
 *     buffers.  Each sim (a "lane") walks the ring in order; a worker takes
 *     the sim furthest behind that no other worker is running, runs it on
 *     one batch and puts it back.  A slot is refilled once every sim is
 *     past it.  One sim is never run by two threads at once, so every sim
 *     sees the same records in the same order as with one thread.
 *   - Why a ring: a rendezvous per batch (decode k+1 while the workers run
 *     k, then wait for all) was tried first; on the 2-vCPU development VM
 *     two threads then ran no faster than one — each batch cost the slower
 *     thread's time plus two wake-ups, and a stalled vCPU (steal time)
 *     stalled both.  With a ring of slack a worker sleeps only when every
 *     sim has caught up with the decoder, the decoder only when some sim
 *     is a whole ring behind.
 *   - Why sims move between workers and not sim i on worker i % T: sims
 *     differ in cost (fands costs 2.5 times strict on a random trace), so
 *     a fixed split leaves one thread idle; taking the laggard balances
 *     the load (4 sims on 2 threads: 1.4x with i % T, 1.7x this way).
 *   - Errors: a failing sim stops, and the decoder stops handing out
 *     batches; the other sims finish the batches already handed out and
 *     every worker is joined.  The error reported is the failure with the
 *     lowest (batch, sim index) — the one the one-thread loop (batch by
 *     batch, sims in order) meets first — as "LABEL: record N (t=T): why".
 *     A decode error is reported only when no sim failed in the batches
 *     before it, again as in the one-thread loop.
 *   - Progress callbacks, iosim_sim_finish() and the report stay on the
 *     calling thread.  Progress counts decoded records (at most a ring
 *     ahead of the slowest sim).
 * Assumptions:
 *   - Sims share no mutable state: each owns its config clone, caches,
 *     PRNG states, page tables and stats; the plug-in registries and the
 *     parameter tables are const, and sim/ has no other writable static
 *     or global.
 *     The pool's mutex orders a slot's fill before its reads and its reads
 *     before the next fill, and one run of a sim before the next, on
 *     whichever thread: results do not depend on T.
 *   - threads = 1 (or a single sim) creates no thread: the loop is the
 *     one-thread loop of before, with a heap buffer instead of a static.
 *   - threads = 0 means one per online CPU.
 *   - Threads beyond the sims (one sim and --threads 2) decode trace blocks
 *     ahead (iosim_trace_set_decode_threads: format v2), so the sims never
 *     wait for the decoder; the records and errors are the same.
 * Not done: one sim split over threads (a sim is a sequential model);
 * finishing sims in parallel (finish is short). */
#include "iosim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENGINE_BATCH 4096
#define ENGINE_RING 8            /* batches the decoder may run ahead */
#define ENGINE_PROGRESS_EVERY 64 /* batches between progress calls */

/* err = "TRACE: LABEL: why", why naming the record (sim.c numbers
 * records as FORMAT.md §4 does, from 0); "TRACE:LINE: ..." when the
 * record came from a line of a text trace, so an editor can jump to it. */
static int label_error(iosim_err_t *err, const iosim_trace_reader_t *r,
                       const iosim_sim_t *s, const iosim_err_t *why)
{
    uint64_t no, line = 0;
    if (iosim_sim_failed_record(s, &no))
        line = iosim_trace_record_line(r, no);
    if (line)
        return iosim_err_set(err, "%s:%llu: %s: %s", iosim_trace_path(r),
                             (unsigned long long)line, iosim_sim_label(s),
                             why->msg);
    return iosim_err_set(err, "%s: %s: %s", iosim_trace_path(r),
                         iosim_sim_label(s), why->msg);
}

static void report_progress(iosim_trace_reader_t *r, uint64_t records,
                            bool final, iosim_progress_fn progress,
                            void *progress_arg)
{
    uint64_t done, total;
    iosim_trace_progress(r, &done, &total);
    progress(final ? total : done, total, records, progress_arg);
}

/* ---- one thread --------------------------------------------------------- */

static int replay_one_thread(iosim_trace_reader_t *r, iosim_sim_t **sims,
                             size_t nsims, iosim_progress_fn progress,
                             void *progress_arg, uint64_t *records,
                             iosim_err_t *err)
{
    iosim_rec_t *batch = malloc(ENGINE_BATCH * sizeof *batch);
    if (!batch)
        return iosim_err_set(err, "replay: out of memory");
    uint64_t batches = 0;
    iosim_err_t why;
    int rc = 0;
    for (;;) {
        /* blocks decoded ahead are replayed where they were decoded */
        const iosim_rec_t *recs;
        long n = iosim_trace_read_ref(r, batch, ENGINE_BATCH, &recs, err);
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        for (size_t i = 0; i < nsims && rc == 0; i++)
            if (iosim_sim_consume(sims[i], recs, (size_t)n, &why))
                rc = label_error(err, r, sims[i], &why);
        if (rc)
            break;
        *records += (uint64_t)n;
        if (progress && ++batches % ENGINE_PROGRESS_EVERY == 0)
            report_progress(r, *records, false, progress, progress_arg);
    }
    free(batch);
    return rc;
}

/* ---- worker threads ----------------------------------------------------- */

typedef struct engine_lane { /* one sim's place in the ring (under lock) */
    uint64_t consumed;       /* batches this sim is done with            */
    bool running;            /* a worker is running it now               */
    bool failed;             /* then failed_batch and why:               */
    uint64_t failed_batch;
    iosim_err_t why;
} engine_lane_t;

typedef struct engine_pool {
    pthread_mutex_t lock;
    pthread_cond_t work_ready; /* -> workers: a batch, a sim free, the end */
    pthread_cond_t slot_free;  /* -> decoder: a sim advanced or failed     */
    iosim_sim_t **sims;
    size_t nsims;
    iosim_rec_t *slot[ENGINE_RING];
    /* under lock: */
    engine_lane_t *lanes;
    size_t slot_len[ENGINE_RING];
    uint64_t published; /* batches handed out; batch b is in slot b % RING */
    bool no_more;       /* no batch after `published` will come */
    bool any_failed;
} engine_pool_t;

/* Under lock: the sim a worker should run next — the one furthest behind
 * (it holds the oldest ring slot), preferring the worker's previous sim on
 * a tie (its state is in this CPU's caches) — or nsims if none can run. */
static size_t pick_sim(const engine_pool_t *p, size_t previous)
{
    size_t best = p->nsims;
    for (size_t i = 0; i < p->nsims; i++) {
        const engine_lane_t *l = &p->lanes[i];
        if (l->running || l->failed || l->consumed == p->published)
            continue;
        if (best == p->nsims || l->consumed < p->lanes[best].consumed ||
            (l->consumed == p->lanes[best].consumed && i == previous))
            best = i;
    }
    return best;
}

static void *worker_main(void *arg)
{
    engine_pool_t *p = arg;
    size_t previous = p->nsims;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t i;
        while ((i = pick_sim(p, previous)) == p->nsims && !p->no_more)
            pthread_cond_wait(&p->work_ready, &p->lock);
        if (i == p->nsims)
            break; /* the end; whatever is left, its runner will finish */
        engine_lane_t *l = &p->lanes[i];
        uint64_t b = l->consumed;
        const iosim_rec_t *batch = p->slot[b % ENGINE_RING];
        size_t n = p->slot_len[b % ENGINE_RING];
        l->running = true;
        pthread_mutex_unlock(&p->lock);

        iosim_err_t why;
        bool failed = iosim_sim_consume(p->sims[i], batch, n, &why) != 0;

        pthread_mutex_lock(&p->lock);
        l->running = false;
        if (failed) {
            l->failed = true;
            l->failed_batch = b;
            l->why = why;
            p->any_failed = true;
        } else {
            l->consumed = b + 1;
        }
        previous = i;
        pthread_cond_signal(&p->slot_free);
        if (l->consumed < p->published) /* another worker may take it */
            pthread_cond_broadcast(&p->work_ready);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Under lock: may batch `published` go into its slot (every sim past
 * the batch that used it last)? */
static bool slot_is_free(const engine_pool_t *p)
{
    for (size_t i = 0; i < p->nsims; i++)
        if (p->lanes[i].consumed + ENGINE_RING <= p->published)
            return false;
    return true;
}

/* The decoder's loop: fill the next free slot, hand it out, repeat until
 * the end of the trace, a decode error (*read_failed, err) or a sim
 * failure; then tell the workers no more batches will come. */
static void pool_decode(engine_pool_t *p, iosim_trace_reader_t *r,
                        iosim_progress_fn progress, void *progress_arg,
                        uint64_t *records, bool *read_failed, iosim_err_t *err)
{
    uint64_t batch = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->any_failed && !slot_is_free(p))
            pthread_cond_wait(&p->slot_free, &p->lock);
        if (p->any_failed)
            break;
        pthread_mutex_unlock(&p->lock);

        long n = iosim_trace_read(r, p->slot[batch % ENGINE_RING], ENGINE_BATCH,
                                  err);
        if (n > 0) {
            *records += (uint64_t)n;
            if (progress && (batch + 1) % ENGINE_PROGRESS_EVERY == 0)
                report_progress(r, *records, false, progress, progress_arg);
        }

        pthread_mutex_lock(&p->lock);
        if (n <= 0) {
            *read_failed = n < 0;
            break;
        }
        p->slot_len[batch % ENGINE_RING] = (size_t)n;
        p->published = ++batch;
        pthread_cond_broadcast(&p->work_ready);
    }
    p->no_more = true;
    pthread_cond_broadcast(&p->work_ready);
    pthread_mutex_unlock(&p->lock);
}

/* After the join: the failing sim the one-thread loop would have met
 * first (lowest batch, then lowest index), or nsims. */
static size_t first_failure(const engine_pool_t *p)
{
    size_t first = p->nsims;
    for (size_t i = 0; i < p->nsims; i++)
        if (p->lanes[i].failed &&
            (first == p->nsims ||
             p->lanes[i].failed_batch < p->lanes[first].failed_batch))
            first = i;
    return first;
}

static int replay_threads(iosim_trace_reader_t *r, iosim_sim_t **sims,
                          size_t nsims, size_t nworkers,
                          iosim_progress_fn progress, void *progress_arg,
                          uint64_t *records, iosim_err_t *err)
{
    engine_pool_t p = {.sims = sims, .nsims = nsims};
    pthread_t *threads = calloc(nworkers, sizeof *threads);
    p.lanes = calloc(nsims, sizeof *p.lanes);
    int rc = 0;
    for (size_t k = 0; k < ENGINE_RING && threads && p.lanes; k++)
        if (!(p.slot[k] = malloc(ENGINE_BATCH * sizeof *p.slot[k])))
            rc = -1;
    if (!threads || !p.lanes || rc) {
        rc = iosim_err_set(err, "replay: out of memory");
        goto free_memory;
    }
    if (pthread_mutex_init(&p.lock, NULL)) {
        rc = iosim_err_set(err, "replay: cannot create a mutex");
        goto free_memory;
    }
    if (pthread_cond_init(&p.work_ready, NULL)) {
        rc = iosim_err_set(err, "replay: cannot create a condition");
        goto destroy_lock;
    }
    if (pthread_cond_init(&p.slot_free, NULL)) {
        rc = iosim_err_set(err, "replay: cannot create a condition");
        goto destroy_ready;
    }

    size_t started = 0;
    for (; started < nworkers; started++) {
        int e = pthread_create(&threads[started], NULL, worker_main, &p);
        if (e) {
            rc = iosim_err_set(err,
                               "replay: cannot start worker thread "
                               "%zu of %zu: %s",
                               started + 1, nworkers, strerror(e));
            break;
        }
    }
    bool read_failed = false;
    iosim_err_t read_err = {0};
    if (rc == 0) {
        pool_decode(&p, r, progress, progress_arg, records, &read_failed,
                    &read_err);
    } else { /* let the workers that did start see the end */
        pthread_mutex_lock(&p.lock);
        p.no_more = true;
        pthread_cond_broadcast(&p.work_ready);
        pthread_mutex_unlock(&p.lock);
    }
    for (size_t w = 0; w < started; w++)
        pthread_join(threads[w], NULL);
    if (rc == 0) {
        size_t f = first_failure(&p);
        if (f < nsims) {
            rc = label_error(err, r, sims[f], &p.lanes[f].why);
        } else if (read_failed) {
            if (err)
                *err = read_err;
            rc = -1;
        }
    }

    pthread_cond_destroy(&p.slot_free);
destroy_ready:
    pthread_cond_destroy(&p.work_ready);
destroy_lock:
    pthread_mutex_destroy(&p.lock);
free_memory:
    for (size_t k = 0; k < ENGINE_RING; k++)
        free(p.slot[k]);
    free(p.lanes);
    free(threads);
    return rc;
}

/* ---- entry points ---------------------------------------------------------
 */

int iosim_replay_reader_threads(iosim_trace_reader_t *r, iosim_sim_t **sims,
                                size_t nsims, unsigned threads,
                                iosim_progress_fn progress, void *progress_arg,
                                iosim_err_t *err)
{
    size_t nworkers = threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nworkers = cpus > 0 ? (size_t)cpus : 1;
    }
    if (nworkers > nsims) {
        iosim_trace_set_decode_threads(r, (unsigned)(nworkers - nsims));
        nworkers = nsims;
    }

    uint64_t records = 0;
    int rc = nworkers > 1 ? replay_threads(r, sims, nsims, nworkers, progress,
                                           progress_arg, &records, err)
                          : replay_one_thread(r, sims, nsims, progress,
                                              progress_arg, &records, err);
    if (rc)
        return -1;
    for (size_t i = 0; i < nsims; i++) {
        iosim_err_t why;
        if (iosim_sim_finish(sims[i], &why))
            return label_error(err, r, sims[i], &why);
    }
    if (progress)
        report_progress(r, records, true, progress, progress_arg);
    return 0;
}

int iosim_replay_reader(iosim_trace_reader_t *r, iosim_sim_t **sims,
                        size_t nsims, iosim_progress_fn progress,
                        void *progress_arg, iosim_err_t *err)
{
    return iosim_replay_reader_threads(r, sims, nsims, 1, progress,
                                       progress_arg, err);
}

int iosim_replay(const char *trace_path, iosim_sim_t **sims, size_t nsims,
                 iosim_progress_fn progress, void *progress_arg,
                 iosim_err_t *err)
{
    iosim_trace_reader_t *r = iosim_trace_open(trace_path, err);
    if (!r)
        return -1;
    int rc = iosim_replay_reader(r, sims, nsims, progress, progress_arg, err);
    iosim_trace_close(r);
    return rc;
}
