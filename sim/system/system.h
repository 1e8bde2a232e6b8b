/* system.h — read-only views of a system for the rest of the library
 * (reports in stats/, geometry sweeps in sweep/); a system is built, fed
 * and finished through iosim.h.
 *
 * Concepts: the counters (stat_list.h), the request-latency histogram at
 *   1 ns resolution and the per-CPU load, as of the last record or, with
 *   sim.window_only, as frozen at the window's end after finish.
 * Assumptions: read between records or after finish, on the thread that
 *   runs the system.
 * Not modeled: nothing; this is plumbing.
 */
#ifndef IOSIM_SYSTEM_SYSTEM_H
#define IOSIM_SYSTEM_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "iosim.h"
#include "stats/stat_list.h"

/* Per-CPU load: cycles and requests (iosim_rec_t.cpu has 8 bits). */
#define SIM_CPUS 256u
typedef struct sim_cpu_load {
    uint64_t cycles[SIM_CPUS];
    uint64_t requests[SIM_CPUS];
} sim_cpu_load_t;

/* Exact latency distribution at 1 ns resolution (percentiles): the
 * last slot counts every latency >= SIM_LAT_SLOTS - 1. */
#define SIM_LAT_SLOTS 8192u

/* The counters, IOSIM_ST_COUNT of them (stat_list.h). */
const uint64_t *sim_counters(const iosim_sim_t *s);
/* The latency histogram, SIM_LAT_SLOTS slots. */
const uint64_t *sim_latency_hist(const iosim_sim_t *s);
const sim_cpu_load_t *sim_cpu_load(const iosim_sim_t *s);

/* Told when a measurement window begins or ends (sim.window_only): the
 * counters restart or freeze, so a model counting on the side can too. */
typedef void (*sim_window_observer_fn)(void *arg, bool begin);
void sim_observe_window(iosim_sim_t *s, sim_window_observer_fn fn, void *arg);

/* Whether DMA records may take the replay's fast path (on by default;
 * the same results either way: tests compare the two). */
void sim_set_fast_path(iosim_sim_t *s, bool on);
/* Records that took the fast path so far. */
uint64_t sim_fast_records(const iosim_sim_t *s);
/* Tests: the latency bucket (iosim.lat_*) of a request of lat_ns as the
 * plain path counts it and as the fast path does (from its slot). */
unsigned sim_lat_bucket_plain(uint64_t lat_ns);
unsigned sim_lat_bucket_fast(uint64_t lat_ns);

/* Whether the sim writes rows of its own as it runs (epochs, translation
 * log, access dump): another sim's run cannot stand in for it. */
bool sim_writes_rows(const iosim_sim_t *s);
/* dst, never fed a record, takes the results of src, which finished:
 * counters, latency histogram, per-CPU load, input warnings and record
 * counts (sweep/share.c: dst's run would have been src's). */
void sim_adopt_results(iosim_sim_t *dst, const iosim_sim_t *src);
/* Sets counter id (the adopting caller's corrections). */
void sim_set_counter(iosim_sim_t *s, enum iosim_stat_id id, uint64_t v);

/* ---- a front shared by several back ends ------------------------------
 * Sims of one trace whose configurations differ only in keys that only
 * the translation caches read (iosim_param_t.back_end) compute the same
 * trace view, OS policy, page tables and invalidation stream: those do
 * not depend on the caches (a policy never reads them; the queue's time
 * is per descriptor).  A front sim runs the records once and drives each
 * back sim's VT-d model (its copy of the tables, its caches and walks)
 * and device pipeline at the points where its own run would, in the same
 * order; each back's results are then its own counts plus the front's. */

/* Why sim s cannot be a front or a back end, or NULL: a per-configuration
 * output, a hypervisor mode other than bare metal, walks in flight, an
 * observer of submissions, or a sim that has run or changed counters
 * already (a plug-in's create that mapped). */
const char *sim_front_ruled_out(const iosim_sim_t *s);
/* front (made for the trace like the backs, fed nothing) drives the n
 * sims backs[] (the caller checked sim_front_ruled_out on each and that
 * their configurations differ only in back-end keys); front takes the
 * first back's label and input strictness.  0, or -1 with err set. */
int sim_front_attach(iosim_sim_t *front, iosim_sim_t **backs, size_t n,
                     iosim_err_t *err);
/* The back ends of each batch run on `threads` threads (the calling one
 * and threads - 1 helpers of the front's; at most one per back end).
 * 0, or -1 with err set. */
int sim_front_threads(iosim_sim_t *front, unsigned threads, iosim_err_t *err);
/* After front finished: each back sim takes its results (as if it had
 * run and finished itself).  False if a back end's page-table or queue
 * answer differed from the first's (the results are then not exact: run
 * the backs alone). */
bool sim_front_settle(iosim_sim_t *front);

#endif
