/* repl.c — replacement policies of the generic cache.
 * Concepts: each policy is an ops struct; the registry below is the only
 * place that lists them.  A new policy = its two hooks + one table line. */
#include <string.h>

#include "cache/cache.h"

/* LRU: stamp = time of last use; evict the smallest stamp. */
static void lru_touch(cache_t *c, uint32_t set, uint32_t way)
{
    *cache_line_stamp(c, set, way) = cache_next_stamp(c);
}
static uint32_t oldest_way(cache_t *c, uint32_t set)
{
    uint32_t best = 0;
    uint64_t best_stamp = UINT64_MAX;
    for (uint32_t w = 0; w < cache_ways(c); w++) {
        uint64_t s = *cache_line_stamp(c, set, w);
        if (s < best_stamp) {
            best_stamp = s;
            best = w;
        }
    }
    return best;
}
static const cache_repl_ops_t repl_lru = {"lru", lru_touch, oldest_way};

/* FIFO: stamp = fill time (set by cache_insert); hits change nothing. */
static void fifo_touch(cache_t *c, uint32_t set, uint32_t way)
{
    (void)c, (void)set, (void)way;
}
static const cache_repl_ops_t repl_fifo = {"fifo", fifo_touch, oldest_way};

/* Tree pseudo-LRU: ways-1 node bits per set, node i has children 2i+1,
 * 2i+2; a bit of 0 means "the victim is on the left". */
static void plru_touch(cache_t *c, uint32_t set, uint32_t way)
{
    uint64_t *bits = cache_set_bits(c, set);
    uint32_t ways = cache_ways(c), node = 0, lo = 0, hi = ways;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (way < mid) { /* used left: point victim right */
            *bits |= 1ull << node;
            node = 2 * node + 1;
            hi = mid;
        } else {
            *bits &= ~(1ull << node);
            node = 2 * node + 2;
            lo = mid;
        }
    }
}
static uint32_t plru_victim(cache_t *c, uint32_t set)
{
    uint64_t bits = *cache_set_bits(c, set);
    uint32_t node = 0, lo = 0, hi = cache_ways(c);
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (bits & (1ull << node)) {
            node = 2 * node + 2;
            lo = mid;
        } else {
            node = 2 * node + 1;
            hi = mid;
        }
    }
    return lo;
}
static const cache_repl_ops_t repl_plru = {"plru", plru_touch, plru_victim};

/* Random: seeded PRNG (sim.seed), so runs are reproducible. */
static uint32_t random_victim(cache_t *c, uint32_t set)
{
    (void)set;
    return (uint32_t)(cache_random(c) % cache_ways(c));
}
static const cache_repl_ops_t repl_random = {"random", fifo_touch,
                                             random_victim};

const cache_repl_ops_t *const cache_repl_registry[] = {
    &repl_lru, &repl_plru, &repl_fifo, &repl_random, NULL};

const cache_repl_ops_t *cache_repl_find(const char *name)
{
    for (size_t i = 0; cache_repl_registry[i]; i++)
        if (!strcmp(cache_repl_registry[i]->name, name))
            return cache_repl_registry[i];
    return NULL;
}
