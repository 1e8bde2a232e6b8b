/* merge.h — a k-way merge of time-ordered record streams: which stream's
 * next record goes out next.  Used by `iosim-trace merge` (one stream per
 * input trace) and by `gen nic` (one stream per cpu's poll records).
 *
 * Concepts:
 *   - The caller owns the streams (trace readers, FIFOs, buffers) and
 *     their records; the merger holds, for each stream that has a next
 *     record, that record's time (the stream's key) in a binary heap.
 *   - Tie rule: of records with equal times, the one of the lower stream
 *     index goes out first; a stream's own records keep their order (only
 *     a stream's next record is ever compared).  When every stream is in
 *     time order, the output is therefore the stable sort by time of the
 *     streams' records taken stream 0 first, then stream 1, ...
 *   - A stream enters or moves with trace_merge_set and leaves with
 *     trace_merge_remove at any time (its heap slot is tracked), so a
 *     caller can take records of one stream out of turn (gen nic forces a
 *     cpu's stream out when the device needs what it posts).
 * Assumptions: the streams are numbered 0 .. streams-1, a number fixed
 *   when the merger is made.
 * Not modeled: nothing (a container: no model).
 */
#ifndef IOSIM_TRACE_MERGE_H
#define IOSIM_TRACE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct trace_merge {
    size_t *heap;  /* stream indices, earliest key first       */
    size_t *slot;  /* per stream: its heap slot, or SIZE_MAX    */
    uint64_t *key; /* per stream: the time of its next record   */
    size_t n;      /* streams in the heap                       */
    size_t streams;
} trace_merge_t;

/* An empty merger of `streams` streams; -1 when out of memory. */
int trace_merge_init(trace_merge_t *m, size_t streams);
void trace_merge_free(trace_merge_t *m);
/* Stream s's next record is at time t: s enters the merge, or moves. */
void trace_merge_set(trace_merge_t *m, size_t s, uint64_t t);
/* Stream s has no next record (for now): it leaves the merge. */
void trace_merge_remove(trace_merge_t *m, size_t s);
/* The stream whose next record goes out next and that record's time;
 * false when no stream is in the merge.  The stream stays in: the caller
 * takes the record, then sets the stream's new key or removes it. */
bool trace_merge_peek(const trace_merge_t *m, size_t *s, uint64_t *t);

#endif /* IOSIM_TRACE_MERGE_H */
