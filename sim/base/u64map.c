/* u64map.c — see u64map.h. */
#include "base/u64map.h"

#include <stdlib.h>

static size_t hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k;
}

int u64map_init(u64map_t *t, size_t cap)
{
    t->s = calloc(cap, sizeof *t->s);
    t->cap = cap;
    t->n = 0;
    return t->s ? 0 : -1;
}

void u64map_fini(u64map_t *t)
{
    free(t->s);
    t->s = NULL;
    t->cap = t->n = 0;
}

static int grow(u64map_t *t)
{
    u64map_t nt;
    if (u64map_init(&nt, t->cap * 2) < 0)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->s[i].key)
            u64map_put(&nt, t->s[i].key - 1, t->s[i].val);
    free(t->s);
    *t = nt;
    return 0;
}

int u64map_put(u64map_t *t, uint64_t key, uint64_t val)
{
    if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
        return -1;
    size_t mask = t->cap - 1;
    size_t i = hash64(key) & mask;
    while (t->s[i].key && t->s[i].key != key + 1)
        i = (i + 1) & mask;
    if (!t->s[i].key)
        t->n++;
    t->s[i].key = key + 1;
    t->s[i].val = val;
    return 0;
}

bool u64map_get(const u64map_t *t, uint64_t key, uint64_t *val)
{
    size_t i = u64map_probe(t, key);
    if (i == SIZE_MAX)
        return false;
    *val = t->s[i].val;
    return true;
}

void u64map_del(u64map_t *t, uint64_t key)
{
    size_t i = u64map_probe(t, key);
    if (i == SIZE_MAX)
        return;
    size_t mask = t->cap - 1;
    t->n--;
    size_t j = i;
    for (;;) {
        t->s[i].key = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!t->s[j].key)
                return;
            size_t home = hash64(t->s[j].key - 1) & mask;
            /* j stays unless its home lies cyclically outside (i, j] */
            bool stay =
                i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stay)
                break;
        }
        t->s[i] = t->s[j];
        i = j;
    }
}

size_t u64map_add(u64map_t *t, uint64_t key, uint64_t val, uint64_t aux)
{
    size_t mask = t->cap - 1;
    size_t i = hash64(key) & mask;
    while (t->s[i].key)
        i = (i + 1) & mask;
    t->s[i].key = key + 1;
    t->s[i].val = val;
    t->s[i].aux = aux;
    t->n++;
    return i;
}

/* The first slot from i on holding key, before the run's empty slot. */
static size_t probe_from(const u64map_t *t, uint64_t key, size_t i)
{
    size_t mask = t->cap - 1;
    while (t->s[i].key) {
        if (t->s[i].key == key + 1)
            return i;
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

size_t u64map_probe(const u64map_t *t, uint64_t key)
{
    return probe_from(t, key, hash64(key) & (t->cap - 1));
}

size_t u64map_probe_next(const u64map_t *t, uint64_t key, size_t i)
{
    return probe_from(t, key, (i + 1) & (t->cap - 1));
}

void u64map_clear_slots(u64map_t *t, const size_t *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        t->s[slots[i]].key = 0;
    t->n = 0;
}

int u64map_rehash(u64map_t *t, size_t cap, size_t *slots, size_t n)
{
    u64map_t nt;
    if (u64map_init(&nt, cap) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const u64map_slot_t *e = &t->s[slots[i]];
        slots[i] = u64map_add(&nt, e->key - 1, e->val, e->aux);
    }
    free(t->s);
    *t = nt;
    return 0;
}
