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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct cache_key {
    uint64_t addr; /* indexed part (page / region number)       */
    uint64_t tag;  /* matched part (did, pasid, level, stage ...) */
} cache_key_t;

typedef struct cache cache_t;

/* The set of key {addr, tag} among set_mask + 1 sets.  The tag is folded
 * in so domains sharing IOVAs spread over sets. */
static inline uint64_t cache_tag_hash(uint64_t tag)
{
    return tag * 0x9E3779B97F4A7C15ull >> 32;
}
static inline uint32_t cache_index(uint64_t addr, uint64_t tag,
                                   uint32_t set_mask)
{
    uint64_t h = addr ^ cache_tag_hash(tag);
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

/* The addr of an invalid line.  Assumption: no key has it — every
 * caller's key addr is a page or region number (an address shifted right
 * by at least 12 bits), a source id or a PASID, all below 2^52.  (The
 * all-associativity shadow's hole, allassoc.c, is the all-ones addr and
 * tag; it lives only in the shadow's stacks, never in these lines.) */
#define CACHE_NO_ADDR UINT64_MAX

/* The lines are parallel arrays (key addrs, key tags, values, stamps;
 * line i = set * ways + way; a line is valid unless its addr is
 * CACHE_NO_ADDR, so a probe reads addrs and tags only); cache.c says how
 * they are used.  Here only so that cache_lookup_kv's first probe is
 * inline. */
struct cache {
    char name[48];
    bool enabled;
    uint32_t sets, ways, set_mask;
    uint64_t *addrs; /* sets * ways: key.addr, CACHE_NO_ADDR if invalid */
    uint64_t *tags;  /* sets * ways: key.tag  */
    uint64_t *vals;  /* sets * ways */
    /* LRU: last use; FIFO: fill time.  An LRU cache with an order never
     * reads them (its victim is the order's last way): the inline path
     * leaves them, the generic code keeps them (test_fast_path checks its
     * orders against them) */
    uint64_t *stamps;
    uint64_t *set_bits; /* PLRU tree, one word per set */
    /* LRU with ways <= 16, else NULL: per set its ways from most to least
     * recently used, 4 bits each (way of rank k in bits 4k..4k+3), so the
     * victim of a full set is read, not searched (cache.c) */
    uint64_t *order;
    bool lru_inline;     /* order and no shadow: cache.h's inline LRU path */
    bool no_inline;      /* cache_set_inline(c, false): generic code only */
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

static inline bool cache_line_valid(const cache_t *c, size_t i)
{
    return c->addrs[i] != CACHE_NO_ADDR;
}

/* Line i holds key {addr, tag} (addr is never CACHE_NO_ADDR, so an
 * invalid line never matches). */
static inline bool cache_line_has(const cache_t *c, size_t i, uint64_t addr,
                                  uint64_t tag)
{
    return c->addrs[i] == addr && c->tags[i] == tag;
}

/* the per-access path: inline even where GCC judges a caller too big */
#define CACHE_INLINE __attribute__((always_inline))

#define CACHE_ORDER_MAX_WAYS 16u /* 4-bit ways in a 64-bit order word */

/* The rest of line i's key (its addr matched, so the line is valid). */
static inline bool cache_key_rest(const cache_t *c, size_t i, uint64_t tag)
{
    return c->tags[i] == tag;
}

/* Bit 2w set for each way w of the 8 lines from a whose addr is addr,
 * every other bit 0: the portable form, and the reference the SSE2 form
 * below is tested against (test_model_cache). */
static inline uint32_t cache_match8_scalar(const uint64_t *a, uint64_t addr)
{
    uint32_t m = 0;
    for (uint32_t w = 0; w < 8; w++)
        m |= (uint32_t)(a[w] == addr) << (2 * w);
    return m;
}

/* cache_match8_scalar's answer.  With SSE2 (baseline on x86-64): the 32-bit
 * halves of the eight addrs compared at once, packed to one byte a half
 * (way w's low half in byte 2w, its high half in byte 2w + 1; pack keeps
 * the all-ones and zero lanes), so bit 2w of the byte mask and the bit
 * above it both set mean both halves equal. */
static inline uint32_t cache_match8(const uint64_t *a, uint64_t addr)
{
#if defined(__SSE2__)
    const __m128i *p = (const __m128i *)(const void *)a;
    __m128i k = _mm_set1_epi64x((long long)addr);
    __m128i e0 = _mm_cmpeq_epi32(_mm_loadu_si128(p), k);
    __m128i e1 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), k);
    __m128i e2 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 2), k);
    __m128i e3 = _mm_cmpeq_epi32(_mm_loadu_si128(p + 3), k);
    __m128i b =
        _mm_packs_epi16(_mm_packs_epi32(e0, e1), _mm_packs_epi32(e2, e3));
    uint32_t m = (uint32_t)_mm_movemask_epi8(b);
    return m & (m >> 1) & 0x5555u;
#else
    return cache_match8_scalar(a, addr);
#endif
}

/* The way of the set at line base that holds key {addr, tag}, or ways if
 * none does.  Sets of 8k ways compare addrs 8 at a time (cache_match8),
 * others two ways a step; the rest of a key (its tag) is compared only
 * where the addr matched (it seldom decides). */
static inline uint32_t cache_find_way(const cache_t *c, size_t base,
                                      uint32_t ways, uint64_t addr,
                                      uint64_t tag)
{
    const uint64_t *a = c->addrs + base, *p = a;
    if ((ways & 7u) == 0) { /* and ways >= 8: cache_new needs ways >= 1 */
        uint32_t w0 = 0;
        do {
            for (uint32_t m = cache_match8(a + w0, addr); m; m &= m - 1) {
                uint32_t w = w0 + ((uint32_t)__builtin_ctz(m) >> 1);
                if (cache_key_rest(c, base + w, tag))
                    return w;
            }
        } while ((w0 += 8) < ways);
        return ways;
    }
    const uint64_t *pairs_end = a + (ways & ~1u);
    for (; p != pairs_end; p += 2) {
        if (__builtin_expect(p[0] == addr, 0) &&
            cache_key_rest(c, base + (size_t)(p - a), tag))
            return (uint32_t)(p - a);
        if (__builtin_expect(p[1] == addr, 0) &&
            cache_key_rest(c, base + (size_t)(p - a) + 1, tag))
            return (uint32_t)(p - a) + 1;
    }
    if ((ways & 1) && *p == addr && cache_key_rest(c, base + ways - 1, tag))
        return ways - 1;
    return ways;
}

/* way moves to the front of its set's recency order o (4 bits a way,
 * most recent first; way occurs once among the first `ways` nibbles) */
static inline uint64_t cache_order_front(uint64_t o, uint32_t way)
{
    /* the first nibble equal to way: the lowest zero nibble of x (a
     * borrow can only mark nibbles above the first zero one) */
    uint64_t x = o ^ (way * 0x1111111111111111ull);
    uint64_t z = (x - 0x1111111111111111ull) & ~x & 0x8888888888888888ull;
    unsigned shift = (unsigned)__builtin_ctzll(z) & ~3u; /* 4 x rank */
    uint64_t below = (1ull << shift) - 1; /* ranks before way's */
    uint64_t above = ~below << 4;         /* ranks after way's  */
    return (o & above) | ((o & below) << 4) | way;
}

/* A lookup of key {addr, tag} missed in set: remembered for the fill
 * that usually follows (cache.c); returns false, the lookup's answer. */
static inline bool cache_note_miss(cache_t *c, uint64_t addr, uint64_t tag,
                                   uint32_t set)
{
    c->miss_known = true;
    c->miss_addr = addr;
    c->miss_tag = tag;
    c->miss_set = set;
    return false;
}

/* The set scan of a lookup that missed the MRU line: true with the line
 * made the MRU line and its set and way in *set, *way; false with the
 * miss noted. */
static inline bool cache_scan(cache_t *c, uint64_t addr, uint64_t tag,
                              uint32_t *set, uint32_t *way)
{
    uint32_t s = cache_index(addr, tag, c->set_mask), ways = c->ways;
    uint32_t w = cache_find_way(c, (size_t)s * ways, ways, addr, tag);
    *set = s;
    *way = w;
    if (w == ways)
        return cache_note_miss(c, addr, tag, s);
    c->mru = (size_t)s * ways + w;
    return true;
}

/* The inline LRU path (c->lru_inline: LRU with a recency order, enabled,
 * no shadow): the lookup and the fill after a missed lookup, with the
 * same outcome and state as cache.c's generic code but the stamps and
 * clock, which it leaves (the order answers; test_fast_path compares).
 * cache_lru_probe is the lookup without noting a miss: on a miss *set is
 * the key's set, for a caller that fills the key there itself
 * (cache_lru_fill) before any other change of c's keys; the miss memo
 * stays what it was (still true: a fill of its key forgets it).  The _w
 * forms take c->ways from the caller, who may know it as a constant; _wh
 * also the tag's hash (cache_tag_hash), which a caller of many lookups
 * of one tag may keep. */
static inline CACHE_INLINE bool cache_lru_probe_wh(cache_t *c, uint32_t ways,
                                                   uint64_t addr, uint64_t tag,
                                                   uint64_t tag_hash,
                                                   uint64_t *val, uint32_t *set)
{
    size_t i = c->mru;
    if (!cache_line_has(c, i, addr, tag)) {
        /* cache_index(addr, tag, c->set_mask) */
        uint32_t s = (uint32_t)((addr ^ tag_hash) & c->set_mask);
        uint32_t w = cache_find_way(c, (size_t)s * ways, ways, addr, tag);
        *set = s;
        if (w == ways)
            return false;
        i = (size_t)s * ways + w;
        c->mru = i;
        c->order[s] = cache_order_front(c->order[s], w);
    } /* else the MRU line: first in its set's order already */
    if (val)
        *val = c->vals[i];
    return true;
}

static inline CACHE_INLINE bool cache_lru_probe_w(cache_t *c, uint32_t ways,
                                                  uint64_t addr, uint64_t tag,
                                                  uint64_t *val, uint32_t *set)
{
    return cache_lru_probe_wh(c, ways, addr, tag, cache_tag_hash(tag), val,
                              set);
}

/* Whether c could take the inline LRU path but for a shadow (its
 * caller then tells the shadow itself, as cache.c's generic code does). */
static inline bool cache_lru_able(const cache_t *c)
{
    return c->order && !c->no_inline;
}

static inline CACHE_INLINE bool cache_lru_probe(cache_t *c, uint64_t addr,
                                                uint64_t tag, uint64_t *val,
                                                uint32_t *set)
{
    return cache_lru_probe_w(c, c->ways, addr, tag, val, set);
}

static inline CACHE_INLINE bool cache_lru_lookup(cache_t *c, uint64_t addr,
                                                 uint64_t tag, uint64_t *val)
{
    uint32_t set;
    return cache_lru_probe(c, addr, tag, val, &set) ||
           cache_note_miss(c, addr, tag, set);
}

/* Fills key into set (the last lookup missed it there): the first
 * invalid way, else the last of the order; true if a line was evicted. */
static inline CACHE_INLINE bool cache_lru_fill_w(cache_t *c, uint32_t ways,
                                                 uint32_t set, uint64_t addr,
                                                 uint64_t tag, uint64_t val)
{
    uint32_t w = 0;
    size_t base = (size_t)set * ways;
    uint64_t o = c->order[set];
    bool evicted = c->set_valid[set] == ways;
    if (evicted) {
        /* the victim is the order's last way: moving it first is a
         * rotation (nibbles from `ways` up are 0: cache_new's first order
         * has them 0 and cache_order_front keeps them) */
        unsigned last = 4 * (ways - 1);
        w = (uint32_t)(o >> last) & 15u;
        o = ((o ^ ((uint64_t)w << last)) << 4) | w;
    } else {
        while (cache_line_valid(c, base + w))
            w++;
        c->nvalid++;
        c->set_valid[set]++;
        o = cache_order_front(o, w);
    }
    size_t i = base + w;
    c->miss_known = false;
    c->addrs[i] = addr;
    c->tags[i] = tag;
    c->vals[i] = val;
    c->mru = i;
    c->order[set] = o;
    return evicted;
}

static inline CACHE_INLINE bool cache_lru_fill(cache_t *c, uint32_t set,
                                               uint64_t addr, uint64_t tag,
                                               uint64_t val)
{
    return cache_lru_fill_w(c, c->ways, set, addr, tag, val);
}

/* The three key operations take the key as two scalars underneath: GCC
 * copies a by-value cache_key_t through the stack and reloads it as one
 * vector, a store-forwarding stall on every call. */
bool cache_lookup_slow(cache_t *c, uint64_t addr, uint64_t tag, uint64_t *val);
/* A hit on the line of the last hit or fill (`mru`) under LRU without a
 * shadow is settled here, inline: the same line, value and stamp the
 * set scan of cache_lookup_slow would give (a key lives in at most one
 * line).  Everything else goes to cache_lookup_slow. */
static inline CACHE_INLINE bool cache_lookup_kv(cache_t *c, uint64_t addr,
                                                uint64_t tag, uint64_t *val)
{
    if (c->lru_inline)
        return cache_lru_lookup(c, addr, tag, val);
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
/* cache_insert_kv, inline when the lookup just before missed this key
 * under the inline LRU path (the usual miss-then-fill). */
static inline CACHE_INLINE bool
cache_insert_kv_inline(cache_t *c, uint64_t addr, uint64_t tag, uint64_t val)
{
    if (c->lru_inline && c->miss_known && c->miss_addr == addr &&
        c->miss_tag == tag)
        return cache_lru_fill(c, c->miss_set, addr, tag, val);
    return cache_insert_kv(c, addr, tag, val);
}
size_t cache_invalidate_kv(cache_t *c, uint64_t addr, uint64_t tag);

/* Looks up key; on a hit stores the value (if val) and updates the
 * replacement state. */
static inline CACHE_INLINE bool cache_lookup(cache_t *c, cache_key_t key,
                                             uint64_t *val)
{
    return cache_lookup_kv(c, key.addr, key.tag, val);
}
/* Inserts or refreshes key.  Returns true if a valid line was evicted. */
static inline CACHE_INLINE bool cache_insert(cache_t *c, cache_key_t key,
                                             uint64_t val)
{
    return cache_insert_kv_inline(c, key.addr, key.tag, val);
}
/* cache_invalidate_kv's steps after its shadow's (c enabled with a valid
 * line): key {addr, tag} removed from its set if there (a key lives in
 * one line at most); returns 1 if removed, else 0. */
static inline size_t cache_drop_key(cache_t *c, uint64_t addr, uint64_t tag)
{
    uint32_t set = cache_index(addr, tag, c->set_mask);
    size_t base = (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (cache_line_has(c, base + w, addr, tag)) {
            c->addrs[base + w] = CACHE_NO_ADDR;
            c->nvalid--;
            c->set_valid[set]--;
            c->miss_known = false;
            return 1;
        }
    }
    return 0;
}
/* Removes key if present; returns 1 if removed, else 0.  (Inline but
 * where c has a shadow: a page-selective invalidation probes a few keys
 * of each cache, vtd.c's inval_lines.) */
static inline size_t cache_invalidate(cache_t *c, cache_key_t key)
{
    if (c->shadow)
        return cache_invalidate_kv(c, key.addr, key.tag);
    if (!c->enabled || c->nvalid == 0)
        return 0;
    return cache_drop_key(c, key.addr, key.tag);
}
/* A range of keys: every {addr, tag} with lo <= addr <= hi. */
typedef struct cache_range {
    uint64_t tag, lo, hi;
} cache_range_t;
/* Removes every line whose key falls in one of the n ranges (each
 * lo <= hi); returns the count.  The same lines and state as
 * cache_invalidate_if with that predicate, or as cache_invalidate of
 * every key in the ranges: it probes the keys when they are few (a key
 * has one set: consecutive addrs of a tag fall in consecutive sets), else
 * scans each line once.  A shadow is told the keys (allassoc_invalidate)
 * or, when there are many, the predicate. */
size_t cache_invalidate_ranges_any(cache_t *c, const cache_range_t *r,
                                   size_t n);

/* Key {addr, tag} (th: cache_tag_hash(tag)) leaves c itself, not its
 * shadow (c enabled): 1 if c held it, else 0. */
static inline size_t cache_remove_key(cache_t *c, uint64_t addr, uint64_t tag,
                                      uint64_t th)
{
    uint32_t set = (uint32_t)((addr ^ th) & c->set_mask), ways = c->ways;
    if (c->set_valid[set] == 0)
        return 0;
    size_t base = (size_t)set * ways;
    uint32_t w = cache_find_way(c, base, ways, addr, tag);
    if (w == ways)
        return 0;
    c->addrs[base + w] = CACHE_NO_ADDR;
    c->set_valid[set]--;
    c->nvalid--;
    c->miss_known = false;
    return 1;
}

/* cache_invalidate_ranges_any; one key of a cache without a shadow (a
 * 4 KB page-selective invalidation, a PSC's entry) is probed here. */
static inline size_t cache_invalidate_ranges(cache_t *c, const cache_range_t *r,
                                             size_t n)
{
    if (n == 1 && r->lo == r->hi && !c->shadow)
        return c->enabled && c->nvalid
                   ? cache_remove_key(c, r->lo, r->tag, cache_tag_hash(r->tag))
                   : 0;
    return cache_invalidate_ranges_any(c, r, n);
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
/* Tests: off keeps c on its generic code (the inline LRU path is what a
 * test compares with it); on (the default) lets it take the inline path
 * where it applies. */
void cache_set_inline(cache_t *c, bool on);
/* The attached shadow or NULL.  With one, a caller must not skip an
 * invalidation of c because c itself is empty (another geometry may hold
 * the lines). */
static inline struct allassoc *cache_shadow(const cache_t *c)
{
    return c ? c->shadow : NULL;
}
/* Number of valid lines (for tests). */
size_t cache_occupancy(const cache_t *c);
/* The same, kept as a count (O(1)): lets callers skip an empty cache. */
static inline size_t cache_valid_lines(const cache_t *c)
{
    return c->enabled ? c->nvalid : 0;
}
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
