/* dma_pipe.c — device time: the pipeline of outstanding requests (see
 * dma_pipe.h). */
#include "vtd/dma_pipe.h"

#include <stdlib.h>

#include "stats/stat_list.h"
#include "vtd/timing.h"

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

dma_pipe_t *dma_pipe_new(const iosim_config_t *cfg, uint64_t *st,
                         iosim_err_t *err)
{
    dma_pipe_t *p = calloc(1, sizeof *p);
    if (!p)
        return iosim_err_set(err, "out of memory"), NULL;
    p->l0_ns = cfg->vtd.dma_base_ns;
    p->request_bytes = (double)cfg->vtd.request_bytes;
    p->link_gbps = cfg->vtd.link_gbps;
    p->max_out = cfg->vtd.max_outstanding;
    p->st = st;
    p->walkers = walkers_new(cfg->vtd.max_walks ? cfg->vtd.max_walks : 1, err);
    if (!p->walkers) {
        dma_pipe_free(p);
        return NULL;
    }
    if (p->max_out &&
        !(p->out_landed = calloc(p->max_out, sizeof *p->out_landed))) {
        dma_pipe_free(p);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    return p;
}

void dma_pipe_free(dma_pipe_t *p)
{
    if (!p)
        return;
    walkers_free(p->walkers);
    free(p->out_landed);
    free(p);
}

/* The size-dependent terms of a request of size bytes. */
static inline void size_terms(dma_pipe_t *p, uint64_t size)
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

static inline void pipe_begin(dma_pipe_t *p, uint64_t size, dma_req_t *q)
{
    uint64_t issue = p->link_free;
    /* vtd.max_outstanding: the request waits for the oldest in flight */
    if (p->out_landed && p->out_landed[p->out_next] > issue)
        issue = p->out_landed[p->out_next];
    q->issue = issue;
    q->ready = issue;
    size_terms(p, size);
    q->base = p->base_memo;
    q->slot = 0;
}

void dma_pipe_begin(dma_pipe_t *p, uint64_t size, dma_req_t *q)
{
    pipe_begin(p, size, q);
}

static inline void pipe_page(dma_pipe_t *p, dma_req_t *q, uint64_t l,
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

void dma_pipe_page(dma_pipe_t *p, dma_req_t *q, double latency_ns, bool walked)
{
    pipe_page(p, q, (uint64_t)(latency_ns + 0.5), walked);
}

/* dma.device_time_ns: the slower stage */
static void device_time(uint64_t *st)
{
    st[IOSIM_ST_DMA_TIME_NS] =
        st[IOSIM_ST_DMA_XLATE_NS] > st[IOSIM_ST_DMA_WIRE_NS]
            ? st[IOSIM_ST_DMA_XLATE_NS]
            : st[IOSIM_ST_DMA_WIRE_NS];
}

/* q ends (its size's terms are the memo's) */
static inline void pipe_end(dma_pipe_t *p, dma_req_t *q, double lat_ns)
{
    double t = q->base + lat_ns;
    p->link_free = q->issue + p->link_ticks;
    uint64_t landed = q->ready + p->base_ticks;
    if (landed > p->dev_done)
        p->dev_done = landed;
    if (p->out_landed) {
        p->out_landed[p->out_next] = landed;
        if (++p->out_next == p->max_out)
            p->out_next = 0;
    }
    p->st[IOSIM_ST_DMA_OVERLAP_NS] = p->dev_done - p->dev_t0;
    p->st[IOSIM_ST_DMA_XLATE_NS] += (uint64_t)(t + 0.5);
    p->st[IOSIM_ST_DMA_WIRE_NS] += p->wire_ticks;
    device_time(p->st);
}

void dma_pipe_end(dma_pipe_t *p, dma_req_t *q, uint64_t size, double lat_ns)
{
    size_terms(p, size); /* pages of other requests may have come between */
    pipe_end(p, q, lat_ns);
}

uint64_t dma_pipe_one(dma_pipe_t *p, uint64_t size, double latency_ns,
                      bool walked)
{
    dma_req_t q;
    uint64_t l = (uint64_t)(latency_ns + 0.5);
    pipe_begin(p, size, &q);
    pipe_page(p, &q, l, walked);
    pipe_end(p, &q, latency_ns);
    return l;
}

uint64_t dma_pipe_now(const dma_pipe_t *p) { return p->link_free; }

uint32_t dma_pipe_walk_slots(const dma_pipe_t *p) { return p->walkers->nslots; }

bool dma_pipe_walk_done(const dma_pipe_t *p, uint32_t slot)
{
    return walkers_ready(p->walkers, slot, p->link_free);
}

void dma_pipe_redo_walk(dma_pipe_t *p, uint32_t slot, uint64_t latency_ns,
                        uint64_t base_ns)
{
    uint64_t landed =
        walkers_redo(p->walkers, slot, p->link_free, latency_ns) + base_ns;
    if (landed > p->dev_done)
        p->dev_done = landed;
    p->st[IOSIM_ST_DMA_OVERLAP_NS] = p->dev_done - p->dev_t0;
    p->st[IOSIM_ST_DMA_XLATE_NS] += latency_ns;
    if (p->st[IOSIM_ST_DMA_XLATE_NS] > p->st[IOSIM_ST_DMA_TIME_NS])
        p->st[IOSIM_ST_DMA_TIME_NS] = p->st[IOSIM_ST_DMA_XLATE_NS];
}

uint64_t dma_pipe_landed(const dma_pipe_t *p) { return p->dev_done; }

void dma_pipe_restart(dma_pipe_t *p)
{
    p->dev_t0 = p->dev_done > p->link_free ? p->dev_done : p->link_free;
}
