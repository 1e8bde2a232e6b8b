/* inflight.h — what an invalidation does to the page walks still in
 * flight (vtd.inval_walks_in_flight).
 *
 * Concepts:
 *   - A walk is in flight while its page-walk engine is busy at the
 *     device's clock (dma_pipe_now: where the next request would start).
 *     An invalidation that dropped paging-structure-cache entries
 *     (vtd_psc_drops moved) discards the IOTLB fill of every such walk
 *     (vtd_discard_fill; walk.fills_discarded counts them):
 *     - complete: nothing happens; the walk fills as if it had finished
 *       before the invalidation (no state is kept);
 *     - drop-fill: the walk's request keeps its result and the page's next
 *       request misses (and walks) again;
 *     - restart: the walk is done again at once: an IOTLB miss and the
 *       reads of a walk through the emptied caches, the engine busy that
 *       much longer, the request's data later (the translation log shows
 *       only the first walk).
 *   - Checked at the next request, so a burst of invalidations with no
 *     request between them discards a fill once.
 *   - A walk whose buffer the trace has unmapped meanwhile is left alone
 *     (the caller's live() says so): a stale fill of a dead buffer is the
 *     OS's problem, not a lost fill.
 * Assumptions: no document names in-flight walks; each setting is a
 *   hypothesis (UNVERIFIED; the reasoning is at vtd.inval_walks_in_flight
 *   in config/params_vtd.c).  Only where the device's translations reach
 *   the walker with no host work in between (hv.h walks_in_flight: bare
 *   metal); elsewhere the caller makes no tracker.
 * Not modeled: a walk that read an entry before the invalidation and the
 *   rest after it (the whole walk is redone or its fill dropped).
 */
#ifndef IOSIM_VTD_INFLIGHT_H
#define IOSIM_VTD_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "vtd/dma_pipe.h"
#include "vtd/vtd.h"

typedef struct inflight inflight_t;

/* The request a walk was issued for, to discard its fill or redo it. */
typedef struct inflight_walk {
    bool write;
    uint16_t sid, did;
    uint32_t pasid;
    uint64_t addr;       /* as translated                          */
    uint64_t trace_iova; /* as the trace named it (for live())     */
    uint64_t base_ns;    /* the request's l0 share: data lands after */
} inflight_walk_t;

/* The caller's view: is trace_iova still mapped by the trace? */
typedef bool (*inflight_live_fn)(void *arg, uint64_t trace_iova);
/* The caller's translation of w again (restart). */
typedef vtd_xlate_result_t (*inflight_translate_fn)(void *arg,
                                                    const inflight_walk_t *w);

/* A tracker for mode ("complete", "drop-fill" or "restart") over the
 * pipeline's walk engines, counting into st; *out is NULL for complete
 * (nothing to track).  -1 with err set when memory runs out. */
int inflight_new(const char *mode, const dma_pipe_t *pipe, uint64_t *st,
                 inflight_t **out, iosim_err_t *err);
void inflight_free(inflight_t *f);

/* A walk was issued on slot for w. */
void inflight_issued(inflight_t *f, uint32_t slot, const inflight_walk_t *w);
/* Before a request: if an invalidation dropped cache entries since the
 * last check, the walks in flight lose their fills (and, restart, are
 * walked again through translate). */
void inflight_check(inflight_t *f, vtd_t *vtd, dma_pipe_t *pipe,
                    inflight_live_fn live, inflight_translate_fn translate,
                    void *arg);

#endif
