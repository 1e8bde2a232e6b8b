/* dma_pipe.c — device time: the pipeline of outstanding requests (see
 * dma_pipe.h). */
#include "vtd/dma_pipe.h"

#include <stdlib.h>

#include "stats/stat_list.h"
#include "vtd/timing.h"

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

void dma_pipe_begin(dma_pipe_t *p, uint64_t size, dma_req_t *q)
{
    dma_pipe_begin_in(p, size, q);
}

void dma_pipe_page(dma_pipe_t *p, dma_req_t *q, double latency_ns, bool walked)
{
    dma_pipe_page_in(p, q, (uint64_t)(latency_ns + 0.5), walked);
}

void dma_pipe_end(dma_pipe_t *p, dma_req_t *q, uint64_t size, double lat_ns)
{
    dma_pipe_size_terms(
        p, size); /* pages of other requests may have come between */
    dma_pipe_end_in(p, q, (uint64_t)(q->base + lat_ns + 0.5));
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
