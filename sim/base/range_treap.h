/* range_treap.h — an ordered set of disjoint [lo, hi] ranges keyed by lo.
 *
 * Concepts:
 *   - A treap: a binary search tree by lo that is also a max-heap by a
 *     random priority drawn at insertion, so insert, remove and the
 *     look-ups take O(log n) expected time whatever the insertion order
 *     (Seidel & Aragon, "Randomized search trees", Algorithmica 1996).
 *   - Intrusive: the caller embeds a range_node_t in its own record and
 *     owns the memory; the tree only links nodes.  range_treap_clear()
 *     hands every node back through a release function.
 *   - Look-ups by key: the nearest range starting below (or at) a key,
 *     above (or at) a key, and the range containing a key.
 *   - Priorities come from a xorshift32 generator (Marsaglia, "Xorshift
 *     RNGs", JSS 2003) seeded by the caller: a tree's shape, and so any
 *     run, is deterministic.
 * Assumptions: the ranges of one tree do not overlap and lo <= hi;
 *   range_treap_containing() relies on that (it checks only the nearest
 *   range starting at or below the key).  The seed is not 0 (xorshift
 *   would stay at 0).
 * Not modeled: nothing; plumbing.  Overlaps are not detected.
 */
#ifndef IOSIM_BASE_RANGE_TREAP_H
#define IOSIM_BASE_RANGE_TREAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct range_node {
    uint64_t lo, hi;
    uint32_t prio;
    struct range_node *l, *r;
} range_node_t;

typedef struct range_treap {
    range_node_t *root;
    uint32_t rng; /* xorshift32 state */
    uint64_t count;
} range_treap_t;

static inline void range_treap_init(range_treap_t *t, uint32_t seed)
{
    t->root = NULL;
    t->rng = seed;
    t->count = 0;
}

/* Links n (lo and hi set by the caller). */
void range_treap_insert(range_treap_t *t, range_node_t *n);
/* Unlinks n (nothing if n is not in t); the caller frees it. */
void range_treap_remove(range_treap_t *t, range_node_t *n);
/* Unlinks every node, passing each to release (NULL: none); t is then
 * empty. */
void range_treap_clear(range_treap_t *t, void (*release)(range_node_t *));

/* The look-ups are on the hot path of every replay that allocates IOVAs:
 * inline, as they were inside the allocator. */

/* The range nearest to key on one side: below, the largest lo < key;
 * above, the smallest lo > key; inclusive also accepts lo == key.  NULL
 * if none.  The side is a constant at every call (the wrappers below), so
 * the inlined loop keeps no test of it. */
static inline range_node_t *range_treap_nearest(const range_treap_t *t,
                                                uint64_t key, bool inclusive,
                                                bool below)
{
    range_node_t *n = t->root, *best = NULL;
    while (n) {
        bool beyond = below ? n->lo < key : n->lo > key;
        if (beyond || (inclusive && n->lo == key)) {
            best = n;
            n = below ? n->r : n->l;
        } else {
            n = below ? n->l : n->r;
        }
    }
    return best;
}

/* lo <= key (inclusive) or lo < key, the largest such. */
static inline range_node_t *range_treap_below(const range_treap_t *t,
                                              uint64_t key, bool inclusive)
{
    return range_treap_nearest(t, key, inclusive, true);
}

/* lo >= key (inclusive) or lo > key, the smallest such. */
static inline range_node_t *range_treap_above(const range_treap_t *t,
                                              uint64_t key, bool inclusive)
{
    return range_treap_nearest(t, key, inclusive, false);
}

/* The range with lo <= key <= hi; NULL if none. */
static inline range_node_t *range_treap_containing(const range_treap_t *t,
                                                   uint64_t key)
{
    range_node_t *n = range_treap_below(t, key, true);
    return n && key <= n->hi ? n : NULL;
}

#endif /* IOSIM_BASE_RANGE_TREAP_H */
