/* cache.h — ONE generic set-associative cache for every VT-d cache.
 *
 * Concepts:
 *   - An entry is a key {addr, tag} and a 64-bit value.  `addr` is the
 *     address part the set index is taken from (a page or region number);
 *     `tag` packs everything else that must match (domain id, PASID,
 *     level / page size, stage).  The IOTLB, context cache, PASID cache,
 *     paging-structure caches, the nested second-stage cache and the
 *     device-TLB are all instances of this one type.
 *   - Replacement is an ops struct chosen by name from a registry
 *     (lru, plru, fifo, random, flush); a new policy is one table line
 *     plus its hooks.
 *   - A disabled cache never hits and stores nothing.
 * Assumptions:
 *   - The set index is addr modulo the number of sets (sets is a power of
 *     two), mixed with the tag so that two domains using the same IOVAs
 *     do not collide in one set.  Real index functions are not public.
 * Not modeled: banking, ports, lookup contention, fill latency.
 */
#ifndef IOSIM_CACHE_H
#define IOSIM_CACHE_H

#include "config/config.h"

typedef struct cache_key {
    uint64_t addr; /* indexed part (page / region number)       */
    uint64_t tag;  /* matched part (did, pasid, level, stage ...) */
} cache_key_t;

typedef struct cache cache_t;

/* The set of key {addr, tag} among set_mask + 1 sets.  The tag is folded
 * in so domains sharing IOVAs spread over sets. */
static inline uint32_t cache_index(uint64_t addr, uint64_t tag,
                                   uint32_t set_mask)
{
    uint64_t h = addr ^ (tag * 0x9E3779B97F4A7C15ull >> 32);
    return (uint32_t)(h & set_mask);
}

/* Built-in policies the cache runs inline (no hook calls per access: the
 * hooks cost more than the policies); CACHE_REPL_HOOKS = only through the
 * hooks (a policy added later). */
typedef enum cache_repl_kind {
    CACHE_REPL_HOOKS = 0,
    CACHE_REPL_LRU,
    CACHE_REPL_FIFO,
    CACHE_REPL_PLRU,
    CACHE_REPL_RANDOM
} cache_repl_kind_t;

/* Replacement policy: victim selection and bookkeeping per set. */
typedef struct cache_repl_ops {
    const char *name;
    cache_repl_kind_t kind;
    /* a line was hit (or filled) */
    void (*touch)(cache_t *c, uint32_t set, uint32_t way);
    /* pick the way to evict in a full set */
    uint32_t (*victim)(cache_t *c, uint32_t set);
    const char *summary; /* one line for iosim --list */
    /* its own parameters (vtd.repl.<name>.*), their check (run for every
     * policy: each cache picks its own) and implied settings; the
     * built-in policies have no knobs (an empty table) */
    iosim_plugin_params_t params;
} cache_repl_ops_t;

extern const cache_repl_ops_t *const cache_repl_registry[];
const cache_repl_ops_t *cache_repl_find(const char *name);

/* name is used in error messages ("vtd.iotlb"). NULL on bad parameters. */
cache_t *cache_new(const char *name, const iosim_cache_params_t *p,
                   uint64_t seed, iosim_err_t *err);
void cache_free(cache_t *c);
bool cache_enabled(const cache_t *c);
uint32_t cache_capacity(const cache_t *c);

/* The lines are parallel arrays (key addrs, key tags, valid flags, values,
 * stamps; line i = set * ways + way); cache.c says how they are used.
 * Here only so that cache_lookup_kv's first probe is inline. */
struct cache {
    char name[48];
    bool enabled;
    uint32_t sets, ways, set_mask;
    uint64_t *addrs;     /* sets * ways: key.addr */
    uint64_t *tags;      /* sets * ways: key.tag  */
    bool *valid;         /* sets * ways */
    uint64_t *vals;      /* sets * ways */
    uint64_t *stamps;    /* LRU: last use; FIFO: fill time */
    uint64_t *set_bits;  /* PLRU tree, one word per set */
    uint32_t *set_valid; /* valid lines per set */
    uint64_t clock;      /* stamp source */
    uint64_t rng;        /* xorshift64* state */
    const cache_repl_ops_t *repl;
    cache_repl_kind_t kind; /* repl->kind */
    size_t nvalid;          /* valid lines (cache_valid_lines) */
    size_t mru;             /* line of the last hit or fill */
    /* the last lookup that missed: key, its set, first invalid way */
    bool miss_known;
    uint64_t miss_addr, miss_tag; /* its key (scalars: a by-value struct
                                     copy made GCC stall on the stack) */
    uint32_t miss_set;
    struct allassoc
        *shadow; /* every other LRU geometry (allassoc.h), or NULL */
};

static inline bool cache_line_has(const cache_t *c, size_t i, uint64_t addr,
                                  uint64_t tag)
{
    return c->addrs[i] == addr && c->tags[i] == tag && c->valid[i];
}

/* The three key operations take the key as two scalars underneath: GCC
 * copies a by-value cache_key_t through the stack and reloads it as one
 * vector, a store-forwarding stall on every call. */
bool cache_lookup_slow(cache_t *c, uint64_t addr, uint64_t tag, uint64_t *val);
/* A hit on the line of the last hit or fill (`mru`) under LRU without a
 * shadow is settled here, inline: the same line, value and stamp the
 * set scan of cache_lookup_slow would give (a key lives in at most one
 * line).  Everything else goes to cache_lookup_slow. */
static inline bool cache_lookup_kv(cache_t *c, uint64_t addr, uint64_t tag,
                                   uint64_t *val)
{
    size_t i = c->mru;
    if (c->kind == CACHE_REPL_LRU && c->enabled && !c->shadow &&
        cache_line_has(c, i, addr, tag)) {
        if (val)
            *val = c->vals[i];
        c->stamps[i] = ++c->clock;
        return true;
    }
    return cache_lookup_slow(c, addr, tag, val);
}
bool cache_insert_kv(cache_t *c, uint64_t addr, uint64_t tag, uint64_t val);
size_t cache_invalidate_kv(cache_t *c, uint64_t addr, uint64_t tag);

/* Looks up key; on a hit stores the value (if val) and updates the
 * replacement state. */
static inline bool cache_lookup(cache_t *c, cache_key_t key, uint64_t *val)
{
    return cache_lookup_kv(c, key.addr, key.tag, val);
}
/* Inserts or refreshes key.  Returns true if a valid line was evicted. */
static inline bool cache_insert(cache_t *c, cache_key_t key, uint64_t val)
{
    return cache_insert_kv(c, key.addr, key.tag, val);
}
/* Removes key if present; returns 1 if removed, else 0. */
static inline size_t cache_invalidate(cache_t *c, cache_key_t key)
{
    return cache_invalidate_kv(c, key.addr, key.tag);
}
/* Removes every line for which match() returns true; returns the count. */
size_t cache_invalidate_if(cache_t *c,
                           bool (*match)(cache_key_t key, uint64_t val,
                                         void *arg),
                           void *arg);
/* Removes everything; returns the number of valid lines removed. */
size_t cache_flush(cache_t *c);
/* Reports every later lookup, insert, invalidation and flush of c to a
 * (allassoc.h), or stops reporting (a = NULL).  c keeps working as
 * before; a is not owned. */
struct allassoc;
void cache_set_shadow(cache_t *c, struct allassoc *a);
/* The attached shadow or NULL.  With one, a caller must not skip an
 * invalidation of c because c itself is empty (another geometry may hold
 * the lines). */
struct allassoc *cache_shadow(const cache_t *c);
/* Number of valid lines (for tests). */
size_t cache_occupancy(const cache_t *c);
/* The same, kept as a count (O(1)): lets callers skip an empty cache. */
size_t cache_valid_lines(const cache_t *c);
/* Number of sets (0 when disabled): lets a caller choose between probing
 * a few keys (cache_invalidate) and one scan (cache_invalidate_if). */
uint32_t cache_sets(const cache_t *c);

/* For replacement-policy files: per-line metadata access. */
uint64_t *cache_line_stamp(cache_t *c, uint32_t set, uint32_t way);
uint64_t cache_next_stamp(cache_t *c);
uint32_t cache_ways(const cache_t *c);
uint64_t *cache_set_bits(cache_t *c, uint32_t set); /* PLRU tree bits */
uint64_t cache_random(cache_t *c);                  /* seeded PRNG    */
/* Drops every valid line but (set, way); returns how many it dropped. */
size_t cache_flush_except(cache_t *c, uint32_t set, uint32_t way);

/* The built-in policies' hooks (repl.c lists them; cache.c implements
 * them once, for the hooks and for its inline fast path). */
void cache_lru_touch(cache_t *c, uint32_t set, uint32_t way);
void cache_nop_touch(cache_t *c, uint32_t set, uint32_t way);
uint32_t cache_oldest_way(cache_t *c, uint32_t set);
void cache_plru_touch(cache_t *c, uint32_t set, uint32_t way);
uint32_t cache_plru_victim(cache_t *c, uint32_t set);
uint32_t cache_random_victim(cache_t *c, uint32_t set);

#endif /* IOSIM_CACHE_H */
