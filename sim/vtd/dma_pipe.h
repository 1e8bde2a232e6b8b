/* dma_pipe.h — device time: the pipeline of a device's outstanding
 * requests through the IOMMU and over the link.
 *
 * Concepts:
 *   - Device time is a two-stage pipeline.  The translation stage takes
 *     l0 x size / p + the translation latency per request, requests in
 *     series (the F&S model, FIGURES.md §1: l0 = vtd.dma_base_ns per
 *     p = vtd.request_bytes of data); the link stage takes
 *     bytes / vtd.link_gbps; the slower stage sets the time
 *     (dma.device_time_ns).
 *   - Why l0 per byte of data, not per request: F&S fit
 *     T = p / (l0 + M lm) with one l0 per 4 KB page of data while M
 *     counts every read of the page's translations, its ACK's and the
 *     rings', so a 64 B completion write must not cost the l0 of a page
 *     (per request it would: 2 to 4 times the F&S l0 per page with
 *     striding-RQ packets, CQEs and ACKs).
 *   - Why overlap: F&S's T = p / (l0 + M lm) matches their measurements
 *     with l0 = 65 ns, far below the 328 ns a 4 KB page takes on a
 *     100 Gb/s link, so the wire transfer of one request cannot be in
 *     series with the translation of the next.
 *   - Overlapped clock (dma.overlapped_time_ns): a request issues when
 *     the link is free and, with vtd.max_outstanding, when the oldest of
 *     the last max_outstanding requests has landed; a page whose
 *     translation walks waits for one of the vtd.max_walks page-walk
 *     engines (timing.h), a hit only for its lookup; the data lands l0
 *     after the last translation is ready.  The clock is the latest
 *     landing since counting (re)started.
 *   - Counters go to the caller's array (stat_list.h): dma.xlate_ns,
 *     dma.wire_ns, dma.device_time_ns, dma.overlapped_time_ns,
 *     dma.walk_wait_ns.  What a translation returned (hits, faults,
 *     latency sums and buckets) is the caller's to count.
 * Assumptions: requests come in trace order, each after the last (the
 *   replay is serial); the link and the translation stage are the only
 *   shared resources of the device.
 * Not modeled: PCIe credits, posted-write ordering, read completions
 *   split over several TLPs, a device's own translation cache timing
 *   (the device TLB's hit costs what vtd.c says).
 */
#ifndef IOSIM_VTD_DMA_PIPE_H
#define IOSIM_VTD_DMA_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "stats/stat_list.h"
#include "vtd/timing.h"

typedef struct dma_pipe dma_pipe_t;

/* One request between dma_pipe_begin() and dma_pipe_end(). */
typedef struct dma_req {
    uint64_t issue; /* ns: when the device issues it               */
    uint64_t ready; /* ns: its last translation is ready           */
    double base;    /* its l0 share: l0 x size / p                 */
    uint32_t slot;  /* walker slot of its last walk (dma_pipe_page) */
} dma_req_t;

/* A pipeline of cfg's vtd.* timing, counting into st (IOSIM_ST_COUNT);
 * NULL with err set when memory runs out. */
dma_pipe_t *dma_pipe_new(const iosim_config_t *cfg, uint64_t *st,
                         iosim_err_t *err);
void dma_pipe_free(dma_pipe_t *p);

/* A request of size bytes (> 0) begins: q gets its issue time. */
void dma_pipe_begin(dma_pipe_t *p, uint64_t size, dma_req_t *q);
/* One page of q was translated in latency_ns; walked: the translation
 * read memory (a walk), so it took a page-walk engine, whose slot goes
 * to q->slot. */
void dma_pipe_page(dma_pipe_t *p, dma_req_t *q, double latency_ns, bool walked);
/* q ends: lat_ns is the sum of its pages' translation latencies. */
void dma_pipe_end(dma_pipe_t *p, dma_req_t *q, uint64_t size, double lat_ns);

/* Where the next request would start (the link's free time). */
uint64_t dma_pipe_now(const dma_pipe_t *p);
/* Number of page-walk engines (vtd.max_walks). */
uint32_t dma_pipe_walk_slots(const dma_pipe_t *p);
/* Whether the walk slot holds is done at the pipeline's now. */
bool dma_pipe_walk_done(const dma_pipe_t *p, uint32_t slot);
/* The walk slot holds is done again (its result was discarded at the
 * pipeline's now) in latency_ns; its request's data lands base_ns after
 * it: the clock and the device-time counters move. */
void dma_pipe_redo_walk(dma_pipe_t *p, uint32_t slot, uint64_t latency_ns,
                        uint64_t base_ns);

/* ns: the latest landing so far (the overlapped clock's position). */
uint64_t dma_pipe_landed(const dma_pipe_t *p);
/* Counting restarts (a measurement window begins): the overlapped clock
 * starts from where the device is now. */
void dma_pipe_restart(dma_pipe_t *p);

/* ---- inline: the replay's fast path runs a request per record ---------
 * The pipeline's state and steps are here so that its one call per DMA
 * record (dma_pipe_one) compiles into the caller; dma_pipe.c's
 * dma_pipe_begin / _page / _end run the same steps. */
struct dma_pipe {
    double l0_ns;         /* vtd.dma_base_ns                          */
    double request_bytes; /* vtd.request_bytes (p)                    */
    double link_gbps;     /* vtd.link_gbps, 0 = no link stage          */
    uint32_t max_out;     /* vtd.max_outstanding, 0 = no limit         */
    walkers_t *walkers;   /* vtd.max_walks page-walk engines           */
    uint64_t link_free;   /* ns: the link can start the next request   */
    uint64_t *out_landed; /* max_out ring: when each of the last
                             requests' data landed (NULL: no limit)    */
    uint32_t out_next;    /* its oldest slot                           */
    uint64_t dev_done;    /* ns: the last request's data is in memory  */
    uint64_t dev_t0;      /* ns: the clock when counting (re)started   */
    uint64_t *st;
    /* The size-dependent terms of the last request size (a DMA stream
     * repeats its sizes): two divisions saved per request.  size_memo 0:
     * none yet (requests have size > 0). */
    uint64_t size_memo;
    double base_memo, wire_memo; /* l0 x size / p; size x 8 / link_gbps */
    uint64_t base_ticks;         /* base_memo rounded to ns             */
    uint64_t wire_ticks;         /* wire_memo rounded to ns             */
    uint64_t link_ticks;         /* the link's busy time: wire_ticks, >= 1 */
};

/* The size-dependent terms of a request of size bytes. */
static inline void dma_pipe_size_terms(dma_pipe_t *p, uint64_t size)
{
    if (size == p->size_memo)
        return;
    p->size_memo = size;
    p->base_memo = p->l0_ns * (double)size / p->request_bytes;
    p->wire_memo = p->link_gbps > 0 ? (double)size * 8.0 / p->link_gbps : 0;
    p->base_ticks = (uint64_t)(p->base_memo + 0.5);
    p->wire_ticks = (uint64_t)(p->wire_memo + 0.5);
    p->link_ticks = p->wire_memo > 1 ? p->wire_ticks : 1;
}

/* q's issue time (dma_pipe_begin_in's, but for the size's terms) */
static inline void dma_pipe_issue_in(const dma_pipe_t *p, dma_req_t *q)
{
    uint64_t issue = p->link_free;
    /* vtd.max_outstanding: the request waits for the oldest in flight */
    if (p->out_landed && p->out_landed[p->out_next] > issue)
        issue = p->out_landed[p->out_next];
    q->issue = issue;
    q->ready = issue;
}

static inline void dma_pipe_begin_in(dma_pipe_t *p, uint64_t size, dma_req_t *q)
{
    dma_pipe_issue_in(p, q);
    dma_pipe_size_terms(p, size);
    q->base = p->base_memo;
    q->slot = 0;
}

static inline void dma_pipe_page_in(dma_pipe_t *p, dma_req_t *q, uint64_t l,
                                    bool walked)
{
    uint64_t done;
    if (walked) {
        done = walkers_issue(p->walkers, q->issue, l);
        p->st[IOSIM_ST_DMA_WALK_WAIT_NS] += done - l - q->issue;
        q->slot = walkers_last_slot(p->walkers);
    } else {
        done = q->issue + l;
    }
    if (done > q->ready)
        q->ready = done;
}

/* dma.device_time_ns: the slower stage */
static inline void dma_pipe_device_time(uint64_t *st)
{
    st[IOSIM_ST_DMA_TIME_NS] =
        st[IOSIM_ST_DMA_XLATE_NS] > st[IOSIM_ST_DMA_WIRE_NS]
            ? st[IOSIM_ST_DMA_XLATE_NS]
            : st[IOSIM_ST_DMA_WIRE_NS];
}

/* The counters that are functions of the pipeline's state, not sums
 * over requests: dma.overlapped_time_ns (the clock since counting
 * (re)started) and dma.device_time_ns. */
static inline void dma_pipe_settle(dma_pipe_t *p)
{
    p->st[IOSIM_ST_DMA_OVERLAP_NS] = p->dev_done - p->dev_t0;
    dma_pipe_device_time(p->st);
}

/* q ends (its size's terms are the memo's): the clocks move, the
 * counters are the caller's (dma_pipe_end_unsettled adds them) */
static inline void dma_pipe_end_clock(dma_pipe_t *p, const dma_req_t *q)
{
    p->link_free = q->issue + p->link_ticks;
    uint64_t landed = q->ready + p->base_ticks;
    if (landed > p->dev_done)
        p->dev_done = landed;
    if (p->out_landed) {
        p->out_landed[p->out_next] = landed;
        if (++p->out_next == p->max_out)
            p->out_next = 0;
    }
}

/* dma_pipe_end_in without dma_pipe_settle */
static inline void dma_pipe_end_unsettled(dma_pipe_t *p, dma_req_t *q,
                                          uint64_t xlate_ticks)
{
    dma_pipe_end_clock(p, q);
    p->st[IOSIM_ST_DMA_XLATE_NS] += xlate_ticks;
    p->st[IOSIM_ST_DMA_WIRE_NS] += p->wire_ticks;
}

/* q ends (its size's terms are the memo's); xlate_ticks: its l0 share
 * plus its translation latency, rounded to ns */
static inline void dma_pipe_end_in(dma_pipe_t *p, dma_req_t *q,
                                   uint64_t xlate_ticks)
{
    dma_pipe_end_unsettled(p, q, xlate_ticks);
    dma_pipe_settle(p);
}

/* x (>= 0, < 2^62) rounded to whole ns as (uint64_t)(x + 0.5) rounds
 * it, through the signed conversion: one instruction, where the unsigned
 * one first tests x against 2^63.  dma_pipe_one's terms are far below:
 * a translation is a few dozen steps of at most 1e6 ns each (vtd.mem_ns,
 * vtd.llc_ns, the caches' hit_ns: params_vtd.c's ranges) and its l0
 * share at most vtd.dma_base_ns (<= 1e9) x 4096 bytes / 1 byte. */
static inline uint64_t dma_pipe_round_small(double x)
{
    return (uint64_t)(int64_t)(x + 0.5);
}

/* A request of size bytes (> 0, <= 4096) within one page, translated in
 * latency_ns (walked as for dma_pipe_page): begin, page and end in one
 * call, with the same times and counters but for the two that
 * dma_pipe_settle sets, which the caller sets once after a run of such
 * requests (nothing may read them before).  Returns latency_ns rounded
 * to whole ns. */
static inline uint64_t dma_pipe_one(dma_pipe_t *p, uint64_t size,
                                    double latency_ns, bool walked);

/* dma_pipe_one's steps with its two roundings made by the caller: l,
 * latency_ns rounded, and xlate_ticks, the size's l0 share
 * (dma_pipe_size_terms' base_memo) plus latency_ns, rounded (a caller of
 * many requests of a few latencies keeps them). */
static inline void dma_pipe_one_ticks(dma_pipe_t *p, uint64_t size, uint64_t l,
                                      uint64_t xlate_ticks, bool walked)
{
    dma_req_t q;
    dma_pipe_begin_in(p, size, &q);
    dma_pipe_page_in(p, &q, l, walked);
    dma_pipe_end_unsettled(p, &q, xlate_ticks);
}

/* dma_pipe_one_ticks of a request of the size memo's size (the last
 * request's), but for the sums it adds to dma.xlate_ns (its
 * xlate_ticks) and dma.wire_ns (the memo's wire_ticks): a caller of many
 * such requests adds them at once. */
static inline void dma_pipe_one_memo(dma_pipe_t *p, uint64_t l, bool walked)
{
    dma_req_t q;
    dma_pipe_issue_in(p, &q);
    dma_pipe_page_in(p, &q, l, walked);
    dma_pipe_end_clock(p, &q);
}

static inline uint64_t dma_pipe_one(dma_pipe_t *p, uint64_t size,
                                    double latency_ns, bool walked)
{
    uint64_t l = dma_pipe_round_small(latency_ns);
    dma_pipe_size_terms(p, size);
    dma_pipe_one_ticks(p, size, l,
                       dma_pipe_round_small(p->base_memo + latency_ns), walked);
    return l;
}

#endif
