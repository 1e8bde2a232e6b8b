/* allassoc.h — every LRU geometry of one cache in one pass.
 *
 * Concepts:
 *   - Stack-distance (all-associativity) simulation: for LRU, a set of W
 *     ways holds exactly the W most recently used distinct keys that map
 *     to it, so one recency stack per set gives the hits of every W at
 *     once: an access found at depth d is a hit for every W >= d (Mattson,
 *     Gecsei, Slutz & Traiger, "Evaluation techniques for storage
 *     hierarchies", IBM Systems Journal 9(2), 1970).  One such stack array
 *     per number of sets S gives every (S, W) of a sweep (Hill & Smith,
 *     "Evaluating associativity in CPU caches", IEEE TC 38(12), 1989,
 *     simulate all set counts; this keeps one array per S, which is
 *     simpler and exact for any index function).
 *   - Invalidation leaves a hole where the entry was, not a closed gap: a
 *     W-way set that lost a line has an empty way, so its next fill evicts
 *     nothing.  An access fills the first hole above the depth it was
 *     found at (or above the bottom on a miss): the entries above that
 *     hole move down one place, those below it stay.  Then a W-way set
 *     is always the non-hole entries of the stack's top W places, for
 *     every W.  Evictions of W: accesses whose first hole (or the hit
 *     depth, or the stack's length) lies at depth >= W.
 *   - The driving cache: a cache_t with this attached (cache_set_shadow)
 *     reports its own operations here.  One translation is a lookup and,
 *     when the driving cache missed, the insert of the same key; every
 *     geometry then ends with the key at the top of its stack (a hit
 *     touches it, a miss fills it), so one stack update serves all.
 *   - Watching (allassoc_watch): each lookup, every watched geometry's
 *     outcome is compared with a reference geometry's (the driving
 *     cache's), counting differences and hashing their positions; with
 *     allassoc_watch_give_up a geometry alone in its differences is left
 *     and the set counts no followed geometry uses stop being updated.
 *   - A feed (allassoc_feed_*) applies the reported operations on a
 *     thread of its own, or on two, each updating its part of the set
 *     counts; the results are those of the operations applied as
 *     reported.
 * Assumptions (checked as it runs; allassoc_exact() is false once one
 *   fails, and the caller must then run the geometries separately):
 *   - A lookup that missed in the driving cache is followed by the insert
 *     of the same key, or by nothing for a key no geometry holds (then
 *     every geometry misses and none changes).  A lookup of several keys
 *     (a domain with large pages probes each size) or a fill of another
 *     key, while some geometry holds the looked-up key, breaks this.
 *   - A hit in the driving cache means a geometry that missed would have
 *     filled the same key (the caller checks the walk: allassoc_inexact).
 *   - No key is all ones (addr and tag UINT64_MAX: it marks an empty
 *     place; VT-d's keys are page numbers and 42-bit tags).
 *   - The cache's input (which keys are looked up, inserted, invalidated)
 *     does not depend on its own geometry: true when nothing downstream
 *     feeds back (the caller checks, e.g. no walk-in-flight discards).
 *   - After allassoc_watch_give_up, only ref's set count and those of
 *     the geometries still followed are exact (allassoc_counts of the
 *     others mean nothing: see allassoc_watch_give_up below).
 * Not modeled: policies other than LRU (FIFO, PLRU and random have no
 *   inclusion property); the stack is cut at the largest W asked for.
 */
#ifndef IOSIM_ALLASSOC_H
#define IOSIM_ALLASSOC_H

#include "cache/cache.h"

typedef struct allassoc allassoc_t;

typedef struct allassoc_counts {
    uint64_t lookups; /* lookups reported: one per access if single-probe */
    uint64_t hits, evictions, invalidated;
} allassoc_counts_t;

/* sets[]: the set counts (powers of two, each listed once); max_ways: the
 * largest W asked for.  NULL on bad parameters or no memory. */
allassoc_t *allassoc_new(const uint32_t *sets, size_t nsets, uint32_t max_ways,
                         iosim_err_t *err);
void allassoc_free(allassoc_t *a);

/* The driving cache's operations (cache.c calls these). */
void allassoc_lookup(allassoc_t *a, uint64_t addr, uint64_t tag, bool hit);
void allassoc_insert(allassoc_t *a, uint64_t addr, uint64_t tag);
void allassoc_invalidate(allassoc_t *a, uint64_t addr, uint64_t tag);
void allassoc_invalidate_if(allassoc_t *a,
                            bool (*match)(cache_key_t key, uint64_t val,
                                          void *arg),
                            void *arg);
void allassoc_flush(allassoc_t *a);

/* A feed: the operations above (and allassoc_window, allassoc_inexact)
 * of up to ALLASSOC_FEED_MAX shadows applied on a thread of the feed's
 * own, in the order reported, so the driving cache's thread only queues
 * them (a sweep's leader, share.c: its shadows cost it little more than
 * a plain run).  The results are those of the direct calls: one thread
 * applies every operation, in order; allassoc_invalidate_if (its
 * predicate and argument are the caller's for the call only) and
 * allassoc_exact first wait until the thread has applied the rest.
 * Reported from one thread at a time (calls from different threads must
 * be ordered by the caller, e.g. a mutex).  allassoc_feed_new starts the
 * thread (NULL with err set if it cannot); allassoc_feed_add sends a's
 * operations to f from now on; allassoc_feed_free applies what is queued,
 * ends the thread and leaves its shadows direct again — before
 * allassoc_counts, allassoc_watch_result or allassoc_free of them. */
#define ALLASSOC_FEED_MAX 8
typedef struct allassoc_feed allassoc_feed_t;
allassoc_feed_t *allassoc_feed_new(iosim_err_t *err);
/* A feed of `threads` threads (1 or 2; one if a second cannot start):
 * with two, allassoc_feed_add splits a shadow's set counts between them
 * (every other one of those updated, ref's on the first: a shadow with
 * fewer than two others stays whole on the first), each thread applying
 * every operation to its own; watch and give-up must be set before.  The
 * results are the unsplit shadow's: a geometry left by
 * allassoc_watch_give_up is left as of the same check, decided from both
 * threads' values (a thread may apply that decision later; see
 * allassoc.c allassoc_link_t). */
allassoc_feed_t *allassoc_feed_new_threads(unsigned threads, iosim_err_t *err);
int allassoc_feed_add(allassoc_feed_t *f, allassoc_t *a, iosim_err_t *err);
void allassoc_feed_free(allassoc_feed_t *f);

/* A measurement window begins (counts restart from zero; the stacks are
 * kept, as the caches are) or ends (the counts are frozen until the next
 * begin), as the sim's counters do (sim.window_only). */
void allassoc_window(allassoc_t *a, bool begin);
/* The caller saw an input that depends on the geometry. */
void allassoc_inexact(allassoc_t *a);
/* Ends a pending lookup; false if some assumption above failed. */
bool allassoc_exact(allassoc_t *a);
/* Watching: geometry ref (ref_sets, ref_ways) and the n geometries
 * (sets[i], ways[i]) compared lookup by lookup from now on (each sets
 * value one of a's, each ways at most max_ways).  A lookup where
 * geometry i hits and ref misses, or the reverse, is a difference; a
 * geometry with none hit and missed exactly where ref did, so everything
 * that depends on the cache only through its hits and misses is the same
 * for both.  0, or -1 with err set. */
int allassoc_watch(allassoc_t *a, uint32_t ref_sets, uint32_t ref_ways,
                   const uint32_t *sets, const uint32_t *ways, size_t n,
                   iosim_err_t *err);
/* Watched geometry i: the lookups where it differed from ref (whole
 * run, windows aside), and a 64-bit hash of their positions (equal
 * differences give equal keys; equal keys suggest, but do not prove,
 * equal differences). */
void allassoc_watch_result(const allassoc_t *a, size_t i, uint64_t *differs,
                           uint64_t *key);
/* From now on, a watched geometry that has differed from ref and whose
 * differences so far equal no other followed one's (checked every 1,024
 * lookups) is no longer followed: it can never equal ref or another
 * again, so its results would only name it alone.  Its watch results
 * stay those of the check (a count and key no followed geometry will
 * have), and a set count that then serves neither ref nor a followed
 * geometry is no longer updated: its allassoc_counts mean nothing.
 * ref's set count and the followed geometries (those that never differed
 * among them) stay exact (allassoc_exact, allassoc_counts). */
void allassoc_watch_give_up(allassoc_t *a);
/* Whether watched geometry i is still followed (see above). */
bool allassoc_watch_followed(const allassoc_t *a, size_t i);

/* Counts of geometry (sets, ways); -1 if sets is not one of a's or ways
 * is 0 or above max_ways.  Lookups are the same for every geometry;
 * misses = lookups - hits. */
int allassoc_counts(const allassoc_t *a, uint32_t sets, uint32_t ways,
                    allassoc_counts_t *out);

#endif
