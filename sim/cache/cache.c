/* cache.c — the generic set-associative cache (see cache.h). */
#include "cache/cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct cache_line {
    cache_key_t key;
    uint64_t val;
    uint64_t stamp; /* LRU: last use; FIFO: fill time */
    bool valid;
} cache_line_t;

struct cache {
    char name[48];
    bool enabled;
    uint32_t sets, ways, set_mask;
    cache_line_t *lines;  /* sets * ways */
    uint64_t *set_bits;   /* PLRU tree, one word per set */
    uint64_t clock;       /* stamp source */
    uint64_t rng;         /* xorshift64* state */
    const cache_repl_ops_t *repl;
};

static inline uint32_t cache_set_of(const cache_t *c, cache_key_t k)
{
    /* Fold the tag in so domains sharing IOVAs spread over sets. */
    uint64_t h = k.addr ^ (k.tag * 0x9E3779B97F4A7C15ull >> 32);
    return (uint32_t)(h & c->set_mask);
}

static inline bool key_eq(cache_key_t a, cache_key_t b)
{
    return a.addr == b.addr && a.tag == b.tag;
}

cache_t *cache_new(const char *name, const iosim_cache_params_t *p,
                   uint64_t seed, iosim_err_t *err)
{
    if (p->enabled) {
        if (p->sets == 0 || (p->sets & (p->sets - 1)))
            return iosim_err_set(err, "%s.sets: %u is not a power of two",
                                 name, p->sets), NULL;
        if (p->ways == 0)
            return iosim_err_set(err, "%s.ways: must be at least 1", name),
                   NULL;
    }
    const cache_repl_ops_t *repl = cache_repl_find(p->replacement);
    if (!repl)
        return iosim_err_set(err, "%s.replacement: unknown policy '%s'",
                             name, p->replacement), NULL;
    if (p->enabled && !strcmp(repl->name, "plru") &&
        (p->ways > 64 || (p->ways & (p->ways - 1))))
        return iosim_err_set(err, "%s.ways: plru needs a power of two <= 64",
                             name), NULL;
    cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return iosim_err_set(err, "%s: out of memory", name), NULL;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->enabled = p->enabled;
    c->repl = repl;
    c->rng = seed ? seed : 0x2545F4914F6CDD1Dull;
    if (c->enabled) {
        c->sets = p->sets;
        c->ways = p->ways;
        c->set_mask = p->sets - 1;
        c->lines = calloc((size_t)c->sets * c->ways, sizeof *c->lines);
        c->set_bits = calloc(c->sets, sizeof *c->set_bits);
        if (!c->lines || !c->set_bits) {
            cache_free(c);
            return iosim_err_set(err, "%s: out of memory", name), NULL;
        }
    }
    return c;
}

void cache_free(cache_t *c)
{
    if (!c)
        return;
    free(c->lines);
    free(c->set_bits);
    free(c);
}

bool cache_enabled(const cache_t *c) { return c && c->enabled; }
uint32_t cache_capacity(const cache_t *c)
{
    return c && c->enabled ? c->sets * c->ways : 0;
}

bool cache_lookup(cache_t *c, cache_key_t key, uint64_t *val)
{
    if (!c->enabled)
        return false;
    uint32_t set = cache_set_of(c, key);
    cache_line_t *row = c->lines + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (row[w].valid && key_eq(row[w].key, key)) {
            if (val)
                *val = row[w].val;
            c->repl->touch(c, set, w);
            return true;
        }
    }
    return false;
}

bool cache_insert(cache_t *c, cache_key_t key, uint64_t val)
{
    if (!c->enabled)
        return false;
    uint32_t set = cache_set_of(c, key);
    cache_line_t *row = c->lines + (size_t)set * c->ways;
    uint32_t free_way = UINT32_MAX;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (row[w].valid && key_eq(row[w].key, key)) {
            row[w].val = val;
            c->repl->touch(c, set, w);
            return false;
        }
        if (!row[w].valid && free_way == UINT32_MAX)
            free_way = w;
    }
    bool evicted = false;
    uint32_t w = free_way;
    if (w == UINT32_MAX) {
        w = c->repl->victim(c, set);
        evicted = true;
    }
    row[w].key = key;
    row[w].val = val;
    row[w].valid = true;
    row[w].stamp = ++c->clock; /* fill time, used by FIFO */
    c->repl->touch(c, set, w);
    return evicted;
}

size_t cache_invalidate(cache_t *c, cache_key_t key)
{
    if (!c->enabled)
        return 0;
    uint32_t set = cache_set_of(c, key);
    cache_line_t *row = c->lines + (size_t)set * c->ways;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (row[w].valid && key_eq(row[w].key, key)) {
            row[w].valid = false;
            return 1;
        }
    }
    return 0;
}

size_t cache_invalidate_if(cache_t *c,
                           bool (*match)(cache_key_t, uint64_t, void *),
                           void *arg)
{
    if (!c->enabled)
        return 0;
    size_t n = 0, total = (size_t)c->sets * c->ways;
    for (size_t i = 0; i < total; i++) {
        if (c->lines[i].valid && match(c->lines[i].key, c->lines[i].val, arg)) {
            c->lines[i].valid = false;
            n++;
        }
    }
    return n;
}

size_t cache_flush(cache_t *c)
{
    if (!c->enabled)
        return 0;
    size_t n = 0, total = (size_t)c->sets * c->ways;
    for (size_t i = 0; i < total; i++) {
        n += c->lines[i].valid;
        c->lines[i].valid = false;
    }
    memset(c->set_bits, 0, c->sets * sizeof *c->set_bits);
    return n;
}

size_t cache_occupancy(const cache_t *c)
{
    if (!c->enabled)
        return 0;
    size_t n = 0, total = (size_t)c->sets * c->ways;
    for (size_t i = 0; i < total; i++)
        n += c->lines[i].valid;
    return n;
}

uint64_t *cache_line_stamp(cache_t *c, uint32_t set, uint32_t way)
{
    return &c->lines[(size_t)set * c->ways + way].stamp;
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
