/* inflight.c — invalidations and the page walks in flight (see
 * inflight.h). */
#include "vtd/inflight.h"

#include <stdlib.h>
#include <string.h>

#include "stats/stat_list.h"

struct inflight {
    bool restart;            /* else drop-fill                         */
    uint64_t psc_drops_seen; /* vtd_psc_drops() at the last check      */
    uint64_t *st;
    uint32_t nslots;
    struct inflight_slot { /* the request each slot last walked for */
        bool valid;
        inflight_walk_t w;
    } * slot;
};

int inflight_new(const char *mode, const dma_pipe_t *pipe, uint64_t *st,
                 inflight_t **out, iosim_err_t *err)
{
    *out = NULL;
    if (strcmp(mode, "drop-fill") && strcmp(mode, "restart"))
        return 0;
    inflight_t *f = calloc(1, sizeof *f);
    uint32_t n = dma_pipe_walk_slots(pipe);
    if (f)
        f->slot = calloc(n, sizeof *f->slot);
    if (!f || !f->slot) {
        inflight_free(f);
        return iosim_err_set(err, "out of memory");
    }
    f->restart = !strcmp(mode, "restart");
    f->st = st;
    f->nslots = n;
    *out = f;
    return 0;
}

void inflight_free(inflight_t *f)
{
    if (!f)
        return;
    free(f->slot);
    free(f);
}

void inflight_issued(inflight_t *f, uint32_t slot, const inflight_walk_t *w)
{
    f->slot[slot].valid = true;
    f->slot[slot].w = *w;
}

void inflight_check(inflight_t *f, vtd_t *vtd, dma_pipe_t *pipe,
                    inflight_live_fn live, inflight_translate_fn translate,
                    void *arg)
{
    uint64_t drops = vtd_psc_drops(vtd);
    if (drops == f->psc_drops_seen)
        return;
    f->psc_drops_seen = drops;
    for (uint32_t i = 0; i < f->nslots; i++) {
        struct inflight_slot *s = &f->slot[i];
        if (!s->valid || dma_pipe_walk_done(pipe, i) ||
            !live(arg, s->w.trace_iova))
            continue; /* done, or its buffer is gone in the trace */
        vtd_discard_fill(vtd, s->w.did, s->w.addr);
        f->st[IOSIM_ST_WALK_FILLS_DISCARDED]++;
        if (!f->restart) {
            s->valid = false; /* a later invalidation finds nothing here */
            continue;
        }
        vtd_xlate_result_t r = translate(arg, &s->w);
        uint64_t l = (uint64_t)(r.latency_ns + 0.5);
        dma_pipe_redo_walk(pipe, i, l, s->w.base_ns);
        f->st[IOSIM_ST_DMA_LAT_NS] += l;
    }
}
