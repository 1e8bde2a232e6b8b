/* timing.c — the page-walker pool (see timing.h). */
#include "vtd/timing.h"

#include <stdlib.h>

walkers_t *walkers_new(uint32_t max_walks, iosim_err_t *err)
{
    if (max_walks == 0)
        return iosim_err_set(err, "timing.c: vtd.max_walks: must be at "
                                  "least 1"),
               NULL;
    walkers_t *w = calloc(1, sizeof *w);
    if (w)
        w->free_at = calloc(max_walks, sizeof *w->free_at);
    if (!w || !w->free_at) {
        walkers_free(w);
        return iosim_err_set(err, "timing.c: walkers_new: out of memory"), NULL;
    }
    w->nslots = max_walks;
    return w;
}

void walkers_free(walkers_t *w)
{
    if (!w)
        return;
    free(w->free_at);
    free(w);
}

uint64_t walkers_redo(walkers_t *w, uint32_t slot, uint64_t now_cycle,
                      uint64_t walk_cycles)
{
    uint64_t from = w->free_at[slot] > now_cycle ? w->free_at[slot] : now_cycle;
    w->free_at[slot] = from + walk_cycles;
    return w->free_at[slot];
}

bool walkers_ready(const walkers_t *w, uint32_t slot, uint64_t cycle)
{
    return slot >= w->nslots || cycle >= w->free_at[slot];
}

uint64_t walkers_next_free(const walkers_t *w, uint64_t now_cycle)
{
    uint64_t t = w->free_at[walkers_earliest_slot(w)];
    return t > now_cycle ? t : now_cycle;
}
