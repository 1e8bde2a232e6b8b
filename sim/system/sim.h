/* sim.h — one modeled system: the private state of iosim_sim_t, seen
 * only by the composition code in sim/system/ (sim.c, epoch.c,
 * xlate_log.c, access_dump.c).  Plug-ins call the services of services.h; the
 * rest of the library reads a system through iosim.h and system.h.
 *
 * Concepts:
 *   - A sim routes each record: MAP/UNMAP/INVAL go to the guest-OS policy
 *     (os.h), which changes page tables and issues invalidations through
 *     the hypervisor mode (hv.h), which finally drives the VT-d hardware
 *     model (vtd.h).  DMA records (real or synthesized by the device
 *     model, dev.h) are translated through the hypervisor mode too and
 *     timed by the device pipeline (vtd/dma_pipe.h).
 *   - Measurement window: with sim.window_only, counters restart at a
 *     MARK begin record and freeze at MARK end (model state is kept).
 *   - CPU load per CPU: the CPU cycles a record causes go to the CPU the
 *     record names (MAP, UNMAP, INVAL and MARK records carry one; work a
 *     record triggers, e.g. a flush-queue timer or a VM exit, goes to
 *     the CPU of that record), and each request MARK to its CPU.  The
 *     summary's CPU-bound side is the busiest CPU (stats.c).
 * Assumptions: records arrive in time order, but for records of one
 *   timestamp (reorder.h).
 * Not modeled: concurrency between CPUs (records are serialised in trace
 * order).
 */
#ifndef IOSIM_SIM_H
#define IOSIM_SIM_H

#include "system/input_warnings.h"
#include "system/reorder.h"
#include "system/services.h"
#include "system/system.h"
#include "vtd/dma_pipe.h"
#include "vtd/inflight.h"

struct os_policy_ops;
struct hv_mode_ops;
struct dev_model_ops;
struct sim_access_dump;

/* Time series of the counters (epoch.c); len_ns 0 = off. */
typedef struct sim_epochs {
    uint64_t len_ns;
    FILE *out;
    bool started;
    uint64_t t0;                    /* time of the first record          */
    uint64_t index;                 /* the epoch being filled            */
    uint64_t base[IOSIM_ST_COUNT];  /* s->st when it began (or restart)  */
    uint64_t carry[IOSIM_ST_COUNT]; /* growth before a window restart    */
    uint64_t dev_done0;             /* device clock when it began        */
} sim_epochs_t;

struct iosim_sim {
    /* what the caller named it, then " (what the model substituted)"
     * for each sim_note_substitution() */
    char label[192];
    iosim_config_t *cfg; /* owned copy */
    iosim_trace_meta_t meta;
    uint64_t st[IOSIM_ST_COUNT];
    uint64_t frozen[IOSIM_ST_COUNT]; /* counters at MARK end */
    bool window_closed;
    vtd_t *vtd;
    const struct os_policy_ops *os;
    void *os_state;
    const struct hv_mode_ops *hv;
    void *hv_state;
    /* The trace's view: buffers mapped and not yet unmapped, by trace
     * IOVA (5 levels cover any 57-bit IOVA; domains are not told apart).
     * It decides which unmaps get synthesized accesses and which cached
     * translations are stale, whatever the policy does. */
    pgtable_t live;
    physmem_t live_mem;
    bool live_ready;
    /* Pages a device model touched that the trace never mapped: mappings
     * its driver made before the trace began (coherent rings), mapped at
     * the first access (dev_access) in the trace's view and the IOMMU,
     * and given up when the trace maps or unmaps them itself. */
    pgtable_t premap;
    physmem_t premap_mem;
    bool premap_ready;
    /* an allocation failed where no error could be returned (a table
     * page of live or premap: the trace's view would be incomplete and
     * its warnings false; services.h sim_out_of_memory): the run fails
     * with "out of memory" (sim_check_memory) */
    bool out_of_memory;
    dma_pipe_t *pipe;     /* device time (vtd/dma_pipe.h)               */
    inflight_t *inflight; /* vtd.inval_walks_in_flight other than complete
                             (bare metal only; vtd/inflight.h), or NULL  */
    /* exact latency distribution at 1 ns resolution (percentiles) */
    uint64_t lat_ns_hist[SIM_LAT_SLOTS]; /* last slot: >= SIM_LAT_SLOTS-1 */
    uint64_t lat_frozen[SIM_LAT_SLOTS];
    uint64_t warn[SIM_WARN_COUNT]; /* input warnings, whole trace      */
    bool strict_input;   /* a warning is an error of its record       */
    uint64_t records_in; /* records received (iosim_sim_consume)      */
    uint64_t record_no;  /* trace number (from 0) of the record being
                            processed (errors, translation log)       */
    bool record_failed;  /* the last error was record record_no's     */
    reorder_t pending;   /* records of one timestamp held back (reorder.h) */
    /* records received but held back for the device model to look at
     * (dev_lookahead): a ring of ahead_cap, the oldest at ahead_head */
    iosim_rec_t *ahead;
    uint64_t *ahead_no;
    size_t ahead_cap, ahead_head, ahead_len;
    uint64_t now;     /* time of the current record (trace units, ns) */
    uint64_t t_first; /* first record time */
    bool seen_any;
    const struct dev_model_ops *dev; /* device model (NULL: none, or the
                                        trace's DMA records replay) */
    void *dev_state;
    bool synth_by_meta; /* dev.model auto chose a model from has_dma=0:
                           a DMA record contradicts it */
    double cpu_ghz;
    uint8_t cur_cpu;            /* CPU of the record being processed */
    sim_cpu_load_t load;        /* within the window, as s->st        */
    sim_cpu_load_t load_frozen; /* at MARK end, as s->frozen          */
    sim_submit_observer_fn observer;
    void *observer_arg;
    sim_window_observer_fn window_observer;
    void *window_observer_arg;
    sim_epochs_t epochs;
    FILE *xlate_log;              /* iosim_sim_set_xlate_log(); NULL = off */
    struct sim_access_dump *dump; /* iosim_sim_set_access_dump(); NULL off */
    /* dev_access_as() under way: the access is the model's, named so */
    bool dev_emitting;
    const char *dev_what;
    bool fast_path;        /* DMA records may take sim_fast_run (sim.c) */
    uint64_t fast_records; /* records that took it */
    /* A shared front (system.h sim_front_attach): this sim runs the
     * records, the trace's view, the OS policy and its own page tables
     * once (its VT-d model counts into front_scratch, dropped, and only
     * times its invalidations: vtd_as_front), and logs
     * what each back end's VT-d model and device pipeline must do (page-
     * table changes, context entries, submissions, translations, window
     * restarts) in a log; at the end of each batch of records (with a
     * pool of threads, of each round of batches) each of the nbacks sims
     * in backs, fed nothing itself, does it all in order (front_flush),
     * counting into its own counters. */
    iosim_sim_t **backs;
    size_t nbacks;
    struct front_log *log; /* FRONT_LOGS (sim.c): with a pool, a ring of
                              logs the back ends do while the front fills
                              the next (front_flush); log[cur] is filled */
    unsigned cur;
    uint64_t front_scratch[IOSIM_ST_COUNT];
    struct front_pool *pool; /* sim_front_threads; NULL: one thread */
    bool front_diverged;     /* a back end's table or queue answer differed */
    bool front_oom;          /* the log could not grow */
    bool backs_oom;          /* a back end's model ran out of memory */
};

/* epoch.c: called before each record (rows of the epochs it ends), around
 * the window restart's zeroing of the counters, and by finish. */
int sim_epoch_advance(iosim_sim_t *s, uint64_t t, iosim_err_t *err);
void sim_epoch_before_restart(iosim_sim_t *s);
void sim_epoch_after_restart(iosim_sim_t *s);
int sim_epoch_finish(iosim_sim_t *s, iosim_err_t *err);

/* xlate_log.c: one row for the translation r of the 4 KB page at iova. */
void sim_xlate_log_row(iosim_sim_t *s, uint16_t sid, uint32_t pasid,
                       uint16_t did, uint64_t iova,
                       const vtd_xlate_result_t *r);

/* access_dump.c: the trace maps / unmaps [r->iova, +r->size) (which MAP
 * a page belongs to); one row per 4 KB page of a device access; free. */
int sim_dump_map(iosim_sim_t *s, const iosim_rec_t *r, iosim_err_t *err);
void sim_dump_unmap(iosim_sim_t *s, const iosim_rec_t *r);
void sim_dump_row(iosim_sim_t *s, uint64_t iova, uint64_t size, bool write,
                  uint64_t page, const vtd_xlate_result_t *r);
void sim_dump_free(struct sim_access_dump *d);

#endif
