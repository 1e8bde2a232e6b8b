/* timing.h — the page-walker pool: a cycle-approximate timing gate.
 *
 * Concepts:
 *   - The remapping hardware has vtd.max_walks page-walk engines.  A walk
 *     issued at cycle `now` starts on the engine (slot) that becomes free
 *     first, no earlier than `now`, and holds that slot until its result
 *     is ready: ready = max(now, slot free) + walk_cycles.  With one slot
 *     walks serialise, which is the F&S throughput model
 *     T = p / (l0 + M*lm) (FIGURES.md §1); with more slots, misses of
 *     independent requests overlap.
 *   - A gate in the Ramulator sense: walkers_ready(w, slot, c) is false
 *     at every cycle before the slot's current walk is ready and true
 *     from that cycle on (tests check N-1 and N).
 *   - Time is an integer cycle count chosen by the caller (ns or CPU
 *     cycles); the pool never converts units.
 * Assumptions:
 *   - Slots are identical and picked deterministically: the one free
 *     earliest, the lowest index on a tie (hardware arbitration is not
 *     public — placeholder, UNVERIFIED).
 *   - Walks are issued in non-decreasing `now` order (the trace replay is
 *     serial); an earlier `now` is still accepted and simply waits for a
 *     free slot.
 *   - The latency of a walk does not depend on how many walks are in
 *     flight (no memory-bandwidth contention).
 * Not modeled: walk merging of two misses to the same page (MSHR-style),
 *   priority between requesters, out-of-order completion within a slot.
 */
#ifndef IOSIM_VTD_TIMING_H
#define IOSIM_VTD_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "iosim.h"

typedef struct walkers {
    uint32_t nslots;      /* vtd.max_walks                               */
    uint64_t *free_at;    /* per slot: cycle its current walk is ready    */
    uint32_t last_slot;   /* slot of the most recent walkers_issue()     */
    uint64_t issued;      /* walks issued                                */
    uint64_t wait_cycles; /* cycles walks waited for a free slot (sum)    */
} walkers_t;

/* A pool of max_walks idle slots; NULL (err filled) if max_walks is 0 or
 * memory runs out. */
walkers_t *walkers_new(uint32_t max_walks, iosim_err_t *err);
void walkers_free(walkers_t *w);
/* The slot that is free first (lowest index on a tie). */
static inline uint32_t walkers_earliest_slot(const walkers_t *w)
{
    const uint64_t *at = w->free_at;
    if (w->nslots == 4) {
        /* the default vtd.max_walks, as a tournament: each pair's lower
         * index wins a tie, and the first pair's indices are lower */
        uint32_t a = at[1] < at[0], b = 2u + (at[3] < at[2]);
        return at[b] < at[a] ? b : a;
    }
    uint32_t best = 0;
    uint64_t best_at = w->free_at[0];
    for (uint32_t i = 1; i < w->nslots; i++) {
        uint64_t at = w->free_at[i];
        bool earlier = at < best_at; /* free times order unpredictably */
        best = earlier ? i : best;
        best_at = earlier ? at : best_at;
    }
    return best;
}

/* Issues one walk of walk_cycles at now_cycle; returns the cycle its
 * result is ready.  walkers_last_slot() then names the slot it holds.
 * (Inline: it runs once per IOTLB miss.) */
static inline uint64_t walkers_issue(walkers_t *w, uint64_t now_cycle,
                                     uint64_t walk_cycles)
{
    uint32_t slot;
    uint64_t free_at;
    if (w->nslots == 4) {
        /* walkers_earliest_slot's tournament keeping the winner's time,
         * with no branch on the free times (they order unpredictably: a
         * branch mispredicts about every other walk); the final choice by
         * a mask, where GCC made a ?: a branch (the store's address
         * depends on it) */
        const uint64_t *at = w->free_at;
        uint64_t x0 = at[0], x1 = at[1], x2 = at[2], x3 = at[3];
        uint64_t ka = x1 < x0, kb = x3 < x2;
        uint64_t ma = ka ? x1 : x0, mb = kb ? x3 : x2;
        uint64_t mc = -(uint64_t)(mb < ma); /* all ones: the second pair */
        free_at = ma ^ ((ma ^ mb) & mc);
        slot = (uint32_t)(ka ^ ((ka ^ (2u + kb)) & mc));
    } else {
        slot = walkers_earliest_slot(w);
        free_at = w->free_at[slot];
    }
    uint64_t start = free_at > now_cycle ? free_at : now_cycle;
    uint64_t done = start + walk_cycles; /* not reloaded after the stores */
    w->wait_cycles += start - now_cycle;
    w->free_at[slot] = done;
    w->last_slot = slot;
    w->issued++;
    return done;
}
static inline uint32_t walkers_last_slot(const walkers_t *w)
{
    return w->last_slot;
}
/* True if the walk that slot holds (the most recent one issued to it)
 * is ready at cycle; an idle slot (or a slot number >= max_walks, which
 * holds no walk) is always ready. */
bool walkers_ready(const walkers_t *w, uint32_t slot, uint64_t cycle);
/* The walk slot holds is done again from scratch (its result was
 * discarded at now_cycle): the slot stays busy walk_cycles longer than
 * it would have, and no less than walk_cycles after now_cycle; returns
 * the cycle the new result is ready. */
uint64_t walkers_redo(walkers_t *w, uint32_t slot, uint64_t now_cycle,
                      uint64_t walk_cycles);
/* Earliest cycle at or after now_cycle at which some slot is free. */
uint64_t walkers_next_free(const walkers_t *w, uint64_t now_cycle);

#endif /* IOSIM_VTD_TIMING_H */
