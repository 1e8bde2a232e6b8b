/* cache.c — the generic set-associative cache (see cache.h).
 *
 * Concepts (implementation): the lines are stored as parallel arrays
 * (key addrs, key tags, values, stamps; line i = set * ways + way; an
 * invalid line's addr is CACHE_NO_ADDR, cache.h) so that a probe reads
 * little more than the addrs of one set.  Two
 * memos make repeated work cheap without changing any outcome: `mru` is the
 * line of the last hit or fill, probed first (a key lives in at most one line,
 * so finding it there is the same hit the set scan would find); `miss`
 * remembers the set of the last lookup that missed, so the insert that usually
 * follows does not scan the set's keys again (any change of keys or validity
 * forgets it).  The built-in replacement policies run inline.  LRU keeps,
 * besides the stamps (the policy's definition: evict the smallest), each
 * set's ways in recency order (`order`, 4 bits a way, most recent first;
 * sets of at most 16 ways), moved to the front on every touch: the victim
 * of a full set is then the last way of its order, the way with the
 * smallest stamp, without a scan.  Every touch of a line makes it the MRU
 * line, so a hit on the MRU line leaves the order as it is. */
#include "cache/cache.h"

#include "cache/allassoc.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t cache_set_of(const cache_t *c, uint64_t addr,
                                    uint64_t tag)
{
    return cache_index(addr, tag, c->set_mask);
}

static inline bool line_has(const cache_t *c, size_t i, uint64_t addr,
                            uint64_t tag)
{
    return cache_line_has(c, i, addr, tag);
}

cache_t *cache_new(const char *name, const iosim_cache_params_t *p,
                   uint64_t seed, iosim_err_t *err)
{
    if (p->enabled) {
        if (p->sets == 0 || (p->sets & (p->sets - 1)))
            return iosim_err_set(err, "%s.sets: %u is not a power of two", name,
                                 p->sets),
                   NULL;
        if (p->ways == 0)
            return iosim_err_set(err, "%s.ways: must be at least 1", name),
                   NULL;
    }
    const cache_repl_ops_t *repl = cache_repl_find(p->replacement);
    if (!repl)
        return iosim_err_set(err, "%s.replacement: unknown policy '%s'", name,
                             p->replacement),
               NULL;
    if (p->enabled && repl->kind == CACHE_REPL_PLRU &&
        (p->ways > 64 || (p->ways & (p->ways - 1))))
        return iosim_err_set(err, "%s.ways: plru needs a power of two <= 64",
                             name),
               NULL;
    cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return iosim_err_set(err, "%s: out of memory", name), NULL;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->enabled = p->enabled;
    c->repl = repl;
    c->kind = repl->kind;
    c->rng = seed ? seed : 0x2545F4914F6CDD1Dull;
    if (c->enabled) {
        c->sets = p->sets;
        c->ways = p->ways;
        c->set_mask = p->sets - 1;
        size_t n = (size_t)c->sets * c->ways;
        c->addrs = malloc(n * sizeof *c->addrs);
        c->tags = calloc(n, sizeof *c->tags);
        c->vals = calloc(n, sizeof *c->vals);
        c->stamps = calloc(n, sizeof *c->stamps);
        c->set_bits = calloc(c->sets, sizeof *c->set_bits);
        c->set_valid = calloc(c->sets, sizeof *c->set_valid);
        if (c->kind == CACHE_REPL_LRU && c->ways <= CACHE_ORDER_MAX_WAYS)
            c->order = malloc(c->sets * sizeof *c->order);
        if (!c->addrs || !c->tags || !c->vals || !c->stamps || !c->set_bits ||
            !c->set_valid ||
            (c->kind == CACHE_REPL_LRU && c->ways <= CACHE_ORDER_MAX_WAYS &&
             !c->order)) {
            cache_free(c);
            return iosim_err_set(err, "%s: out of memory", name), NULL;
        }
        memset(c->addrs, 0xff, n * sizeof *c->addrs); /* CACHE_NO_ADDR */
        c->lru_inline = c->order != NULL;
        if (c->order) { /* any first order: a set is full only after each
                           of its ways was filled, which moves it first */
            uint64_t o = 0;
            for (uint32_t w = 0; w < c->ways; w++)
                o |= (uint64_t)w << (4 * w);
            for (uint32_t set = 0; set < c->sets; set++)
                c->order[set] = o;
        }
    }
    return c;
}

void cache_free(cache_t *c)
{
    if (!c)
        return;
    free(c->addrs);
    free(c->tags);
    free(c->vals);
    free(c->stamps);
    free(c->set_bits);
    free(c->set_valid);
    free(c->order);
    free(c);
}

bool cache_enabled(const cache_t *c) { return c && c->enabled; }
uint32_t cache_capacity(const cache_t *c)
{
    return c && c->enabled ? c->sets * c->ways : 0;
}

/* ---- replacement (the built-in policies, see repl.c) ---------------- */

/* The way with the smallest stamp, the first of equal ones (written with
 * conditional moves in mind: stamps order unpredictably). */
static inline uint32_t oldest_in(const uint64_t *stamps, uint32_t ways)
{
    uint32_t best = 0;
    uint64_t best_stamp = stamps[0];
    for (uint32_t w = 1; w < ways; w++) {
        uint64_t s = stamps[w];
        bool older = s < best_stamp;
        best = older ? w : best;
        best_stamp = older ? s : best_stamp;
    }
    return best;
}

static inline void plru_touch_bits(uint64_t *bits, uint32_t ways, uint32_t way)
{
    uint32_t node = 0, lo = 0, hi = ways;
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

static inline uint32_t plru_victim_bits(uint64_t bits, uint32_t ways)
{
    uint32_t node = 0, lo = 0, hi = ways;
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

/* The LRU touch of line i = (set, way): its stamp, and the order. */
static inline void lru_touch(cache_t *c, uint32_t set, uint32_t way, size_t i)
{
    c->stamps[i] = ++c->clock;
    if (c->order)
        c->order[set] = cache_order_front(c->order[set], way);
}

void cache_lru_touch(cache_t *c, uint32_t set, uint32_t way)
{
    size_t i = (size_t)set * c->ways + way;
    lru_touch(c, set, way, i);
    c->mru = i; /* the touched line is the most recent: the order's front */
}
void cache_nop_touch(cache_t *c, uint32_t set, uint32_t way)
{
    (void)c, (void)set, (void)way;
}
uint32_t cache_oldest_way(cache_t *c, uint32_t set)
{
    return oldest_in(&c->stamps[(size_t)set * c->ways], c->ways);
}
void cache_plru_touch(cache_t *c, uint32_t set, uint32_t way)
{
    plru_touch_bits(&c->set_bits[set], c->ways, way);
}
uint32_t cache_plru_victim(cache_t *c, uint32_t set)
{
    return plru_victim_bits(c->set_bits[set], c->ways);
}
uint32_t cache_random_victim(cache_t *c, uint32_t set)
{
    (void)set;
    return (uint32_t)(cache_random(c) % c->ways);
}

/* The policy's touch of the MRU line i (= set * ways + way), inline for
 * the built-in policies; set and way are only worked out when needed. */
static inline void repl_touch_mru(cache_t *c, size_t i)
{
    switch (c->kind) {
    case CACHE_REPL_LRU: /* already first in its set's order */
        c->stamps[i] = ++c->clock;
        break;
    case CACHE_REPL_FIFO:
    case CACHE_REPL_RANDOM:
        break;
    case CACHE_REPL_PLRU:
        plru_touch_bits(&c->set_bits[i / c->ways], c->ways,
                        (uint32_t)(i % c->ways));
        break;
    default:
        c->repl->touch(c, (uint32_t)(i / c->ways), (uint32_t)(i % c->ways));
        break;
    }
}

/* The policy's touch of line i = (set, way), which becomes the MRU line. */
static inline void repl_touch(cache_t *c, uint32_t set, uint32_t way, size_t i)
{
    switch (c->kind) {
    case CACHE_REPL_LRU:
        lru_touch(c, set, way, i);
        break;
    case CACHE_REPL_FIFO:
    case CACHE_REPL_RANDOM:
        break;
    case CACHE_REPL_PLRU:
        plru_touch_bits(&c->set_bits[set], c->ways, way);
        break;
    default:
        c->repl->touch(c, set, way);
        break;
    }
}

static inline uint32_t repl_victim(cache_t *c, uint32_t set)
{
    switch (c->kind) {
    case CACHE_REPL_LRU:
        if (c->order) /* the last of the order: the smallest stamp */
            return (uint32_t)(c->order[set] >> (4 * (c->ways - 1))) & 15u;
        return oldest_in(&c->stamps[(size_t)set * c->ways], c->ways);
    case CACHE_REPL_FIFO:
        return oldest_in(&c->stamps[(size_t)set * c->ways], c->ways);
    case CACHE_REPL_PLRU:
        return plru_victim_bits(c->set_bits[set], c->ways);
    case CACHE_REPL_RANDOM:
        return cache_random_victim(c, set);
    default:
        return c->repl->victim(c, set);
    }
}

/* ---- access ----------------------------------------------------------- */

/* The first invalid way of a set with fewer valid lines than ways. */
static inline uint32_t free_way_of(const cache_t *c, uint32_t set)
{
    const uint64_t *a = c->addrs + (size_t)set * c->ways;
    uint32_t w = 0;
    while (a[w] != CACHE_NO_ADDR)
        w++;
    return w;
}

static bool lookup(cache_t *c, uint64_t addr, uint64_t tag, uint64_t *val);

bool cache_lookup_slow(cache_t *c, uint64_t addr, uint64_t tag, uint64_t *val)
{
    if (__builtin_expect(c->shadow != NULL, 0)) {
        bool hit = lookup(c, addr, tag, val);
        allassoc_lookup(c->shadow, addr, tag, hit);
        return hit;
    }
    return lookup(c, addr, tag, val);
}

static inline bool lookup(cache_t *c, uint64_t addr, uint64_t tag,
                          uint64_t *val)
{
    if (!c->enabled)
        return false;
    if (line_has(c, c->mru, addr, tag)) {
        if (val)
            *val = c->vals[c->mru];
        repl_touch_mru(c, c->mru);
        return true;
    }
    uint32_t set, w;
    bool hit = cache_scan(c, addr, tag, &set, &w);
    if (hit) { /* c->mru is its line now */
        if (val)
            *val = c->vals[c->mru];
        repl_touch(c, set, w, c->mru);
    }
    return hit;
}

bool cache_insert_kv(cache_t *c, uint64_t addr, uint64_t tag, uint64_t val)
{
    if (!c->enabled)
        return false;
    if (__builtin_expect(c->shadow != NULL, 0))
        allassoc_insert(c->shadow, addr, tag);
    uint32_t set, free_way = UINT32_MAX, ways = c->ways;
    if (c->miss_known && c->miss_addr == addr && c->miss_tag == tag) {
        /* the lookup just before scanned this set: key absent */
        set = c->miss_set;
    } else {
        set = cache_set_of(c, addr, tag);
        size_t base = (size_t)set * ways;
        uint32_t w = cache_find_way(c, base, ways, addr, tag);
        if (w < ways) {
            c->vals[base + w] = val;
            c->mru = base + w;
            repl_touch(c, set, w, base + w);
            return false;
        }
    }
    if (c->set_valid[set] < ways)
        free_way = free_way_of(c, set);
    c->miss_known = false;
    bool evicted = false;
    uint32_t w = free_way;
    if (w == UINT32_MAX) {
        w = repl_victim(c, set);
        evicted = true;
    } else {
        c->nvalid++;
        c->set_valid[set]++;
    }
    size_t i = (size_t)set * ways + w;
    c->addrs[i] = addr;
    c->tags[i] = tag;
    c->vals[i] = val;
    c->stamps[i] = ++c->clock; /* fill time, used by FIFO */
    c->mru = i;
    repl_touch(c, set, w, i);
    return evicted;
}

size_t cache_invalidate_kv(cache_t *c, uint64_t addr, uint64_t tag)
{
    if (c->shadow)
        allassoc_invalidate(c->shadow, addr, tag);
    if (!c->enabled || c->nvalid == 0)
        return 0;
    return cache_drop_key(c, addr, tag);
}

/* Removes the lines of c (enabled) that match; returns the count. */
static size_t remove_matching(cache_t *c,
                              bool (*match)(cache_key_t, uint64_t, void *),
                              void *arg)
{
    size_t n = 0, i = 0;
    for (uint32_t set = 0; set < c->sets; set++) {
        if (c->set_valid[set] == 0) {
            i += c->ways;
            continue;
        }
        for (uint32_t w = 0; w < c->ways; w++, i++) {
            if (cache_line_valid(c, i) &&
                match((cache_key_t){c->addrs[i], c->tags[i]}, c->vals[i],
                      arg)) {
                c->addrs[i] = CACHE_NO_ADDR;
                c->set_valid[set]--;
                n++;
            }
        }
    }
    if (n) {
        c->nvalid -= n;
        c->miss_known = false;
    }
    return n;
}

/* Whether the keys of the n ranges number at most budget. */
static bool ranges_within(const cache_range_t *r, size_t n, uint64_t budget)
{
    uint64_t keys = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = r[i].hi - r[i].lo; /* keys - 1: no overflow */
        if (k >= budget || (keys += k + 1) > budget)
            return false;
    }
    return true;
}

static bool in_ranges(const cache_range_t *r, size_t n, uint64_t addr,
                      uint64_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (tag == r[i].tag && addr - r[i].lo <= r[i].hi - r[i].lo)
            return true;
    return false;
}

typedef struct ranges_arg {
    const cache_range_t *r;
    size_t n;
} ranges_arg_t;

static bool match_ranges(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    const ranges_arg_t *a = arg;
    return in_ranges(a->r, a->n, k.addr, k.tag);
}

size_t cache_invalidate_ranges_any(cache_t *c, const cache_range_t *r, size_t n)
{
    if (c->shadow) {
        /* a shadow's key probe looks in one stack of each set count, its
         * scan at every place of every set count: probing a few dozen
         * keys costs it less (the lines left are the same either way) */
        uint64_t budget = 2ull * c->sets;
        if (ranges_within(r, n, budget < 64 ? 64 : budget)) {
            for (size_t i = 0; i < n; i++)
                for (uint64_t a = r[i].lo;; a++) {
                    allassoc_invalidate(c->shadow, a, r[i].tag);
                    if (a == r[i].hi)
                        break;
                }
        } else {
            ranges_arg_t arg = {r, n};
            allassoc_invalidate_if(c->shadow, match_ranges, &arg);
        }
    }
    if (!c->enabled || c->nvalid == 0)
        return 0;
    size_t gone = 0;
    if (ranges_within(r, n, c->sets < 2 ? 4 : 2ull * c->sets)) {
        /* a probe costs about a set's scan (cache_find_way): at most two
         * probes a set, or 4 (a 1-set cache's one-page PSI of 4 KB,
         * 2 MB and 1 GB keys: the scan calls match_ranges a line) */
        for (size_t i = 0; i < n; i++) {
            const uint64_t tag = r[i].tag, th = cache_tag_hash(tag);
            for (uint64_t a = r[i].lo;; a++) {
                gone += cache_remove_key(c, a, tag, th);
                if (a == r[i].hi)
                    break;
            }
        }
        return gone;
    }
    /* (many keys: a large mask, seldom) */
    ranges_arg_t arg = {r, n};
    return remove_matching(c, match_ranges, &arg);
}

size_t cache_invalidate_if(cache_t *c,
                           bool (*match)(cache_key_t, uint64_t, void *),
                           void *arg)
{
    if (c->shadow)
        allassoc_invalidate_if(c->shadow, match, arg);
    if (!c->enabled || c->nvalid == 0)
        return 0;
    return remove_matching(c, match, arg);
}

size_t cache_flush(cache_t *c)
{
    if (c->shadow)
        allassoc_flush(c->shadow);
    if (!c->enabled)
        return 0;
    size_t n = c->nvalid, total = (size_t)c->sets * c->ways;
    memset(c->addrs, 0xff, total * sizeof *c->addrs); /* CACHE_NO_ADDR */
    memset(c->set_bits, 0, c->sets * sizeof *c->set_bits);
    memset(c->set_valid, 0, c->sets * sizeof *c->set_valid);
    c->nvalid = 0;
    c->miss_known = false;
    return n;
}

size_t cache_flush_except(cache_t *c, uint32_t set, uint32_t way)
{
    if (!c->enabled)
        return 0;
    size_t keep = (size_t)set * c->ways + way;
    uint64_t kept = c->addrs[keep];
    size_t n = cache_flush(c);
    if (kept != CACHE_NO_ADDR) {
        c->addrs[keep] = kept;
        c->nvalid = 1;
        c->set_valid[set] = 1;
        n--;
    }
    return n;
}

size_t cache_occupancy(const cache_t *c)
{
    if (!c->enabled)
        return 0;
    size_t n = 0, total = (size_t)c->sets * c->ways;
    for (size_t i = 0; i < total; i++)
        n += cache_line_valid(c, i);
    return n;
}

void cache_set_shadow(cache_t *c, struct allassoc *a)
{
    c->shadow = a;
    c->lru_inline = c->order && !a && !c->no_inline;
}

void cache_set_inline(cache_t *c, bool on)
{
    c->no_inline = !on;
    cache_set_shadow(c, c->shadow);
}

uint32_t cache_sets(const cache_t *c) { return c && c->enabled ? c->sets : 0; }

uint64_t *cache_line_stamp(cache_t *c, uint32_t set, uint32_t way)
{
    return &c->stamps[(size_t)set * c->ways + way];
}
uint64_t cache_next_stamp(cache_t *c) { return ++c->clock; }
uint32_t cache_ways(const cache_t *c) { return c->ways; }
uint64_t *cache_set_bits(cache_t *c, uint32_t set) { return &c->set_bits[set]; }

uint64_t cache_random(cache_t *c)
{
    /* xorshift64*: deterministic per seed (printed in the config echo). */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1Dull;
}
