/* repl.c — replacement policies of the generic cache.
 * Concepts: each policy is an ops struct; the registry below is the only
 * place that lists them.  A new policy = its two hooks + one table line
 * (kind CACHE_REPL_HOOKS: the cache then calls its hooks); its knobs, their
 * check and implied settings are its params (iosim_plugin_params_t).
 * The four built-in policies are implemented once in cache.c, which also
 * runs them inline on every access (a hook call per way cost more than
 * the policy itself); their definitions:
 *   lru    stamp = time of last use; evict the smallest stamp.
 *   fifo   stamp = fill time (set by cache_insert); hits change nothing.
 *   plru   tree pseudo-LRU: ways-1 node bits per set, node i has children
 *          2i+1, 2i+2; a bit of 0 means "the victim is on the left".
 *   random seeded PRNG (sim.seed), so runs are reproducible. */
#include <string.h>

#include "cache/cache.h"

/* The built-in policies have no knobs of their own (random's seed is the
 * whole run's, sim.seed): an empty table ({0}), no check, nothing
 * implied. */
static const cache_repl_ops_t repl_lru = {"lru",
                                          CACHE_REPL_LRU,
                                          cache_lru_touch,
                                          cache_oldest_way,
                                          "evict the line used longest ago",
                                          {0}};
static const cache_repl_ops_t repl_fifo = {"fifo",
                                           CACHE_REPL_FIFO,
                                           cache_nop_touch,
                                           cache_oldest_way,
                                           "evict the line filled longest ago",
                                           {0}};
static const cache_repl_ops_t repl_plru = {
    "plru",
    CACHE_REPL_PLRU,
    cache_plru_touch,
    cache_plru_victim,
    "tree pseudo-LRU (ways a power of two)",
    {0}};
static const cache_repl_ops_t repl_random = {
    "random",
    CACHE_REPL_RANDOM,
    cache_nop_touch,
    cache_random_victim,
    "a seeded PRNG's way (sim.seed: reproducible)",
    {0}};

extern const cache_repl_ops_t cache_repl_flush; /* repl_flush.c */

const cache_repl_ops_t *const cache_repl_registry[] = {
    &repl_lru, &repl_plru, &repl_fifo, &repl_random, &cache_repl_flush, NULL};

const cache_repl_ops_t *cache_repl_find(const char *name)
{
    for (size_t i = 0; cache_repl_registry[i]; i++)
        if (!strcmp(cache_repl_registry[i]->name, name))
            return cache_repl_registry[i];
    return NULL;
}
