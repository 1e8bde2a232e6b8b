/* reorder.h — records of one timestamp put back in a consistent order.
 *
 * Concepts:
 *   - ftrace merges the per-CPU buffers by timestamp, and the global clock
 *     of the captures ticks in microseconds: an unmap on one CPU and the
 *     remap of the same IOVA on another can share a timestamp and come out
 *     in the wrong order.  A MAP of a live IOVA or an UNMAP of a dead one
 *     is therefore held back (at most REORDER_MAX records) until a record
 *     with the same timestamp makes it consistent; a later timestamp
 *     releases whatever is held, in trace order.
 *   - Held records keep their trace numbers, so errors and the translation
 *     log name the record as the trace counts it.
 * Why here, in the system and not in trace/ or a model component: it
 *   mends the capture, not the behaviour of the OS, hypervisor or
 *   hardware, so no plug-in should see it; and whether a record is
 *   consistent depends on the trace's own view of what is mapped, which
 *   the system keeps (sim.c `live`) and a trace reader does not.
 * Assumptions: records of one timestamp may come in any order; records of
 *   different timestamps come in time order.
 * Not modeled: reordering across timestamps (a record that is still
 *   inconsistent when its timestamp passes runs as it is: an UNMAP then
 *   counts as input.stray_unmaps).
 */
#ifndef IOSIM_SYSTEM_REORDER_H
#define IOSIM_SYSTEM_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iosim.h"

#define REORDER_MAX 16

typedef struct reorder {
    iosim_rec_t rec[REORDER_MAX]; /* held back, in trace order */
    uint64_t no[REORDER_MAX];     /* their trace numbers */
    size_t n;
} reorder_t;

/* Whether r is consistent with what is mapped now. */
typedef bool (*reorder_ready_fn)(void *arg, const iosim_rec_t *r);
/* Runs record r, number no; -1 with err set on failure. */
typedef int (*reorder_run_fn)(void *arg, const iosim_rec_t *r, uint64_t no,
                              iosim_err_t *err);

/* Record no of the trace, in trace order: run now, or held back. */
int reorder_take(reorder_t *q, const iosim_rec_t *r, uint64_t no,
                 reorder_ready_fn ready, reorder_run_fn run, void *arg,
                 iosim_err_t *err);
/* The trace ended: whatever is held runs, in trace order. */
int reorder_flush(reorder_t *q, reorder_run_fn run, void *arg,
                  iosim_err_t *err);

#endif
