/* u64map.c — see u64map.h. */
#include "base/u64map.h"

#include <stdlib.h>

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
    size_t i = u64map_hash(key) & mask;
    while (t->s[i].key && t->s[i].key != key + 1)
        i = (i + 1) & mask;
    if (!t->s[i].key)
        t->n++;
    t->s[i].key = key + 1;
    t->s[i].val = val;
    return 0;
}

void u64map_del(u64map_t *t, uint64_t key)
{
    size_t i = u64map_probe(t, key);
    if (i != SIZE_MAX)
        u64map_del_slot(t, i);
}

void u64map_del_slot(u64map_t *t, size_t i)
{
    size_t mask = t->cap - 1;
    t->n--;
    size_t j = i;
    for (;;) {
        t->s[i].key = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!t->s[j].key)
                return;
            size_t home = u64map_hash(t->s[j].key - 1) & mask;
            /* j stays while its home lies cyclically in (i, j]: moved
             * to i it would sit before its home */
            bool stay =
                i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stay)
                break;
        }
        t->s[i] = t->s[j];
        i = j;
    }
}

void u64map_del_range(u64map_t *t, uint64_t lo, uint64_t n)
{
    if (n == 0)
        return;
    if (n <= t->cap) {
        for (uint64_t k = 0; k < n && lo + k != UINT64_MAX; k++)
            u64map_del(t, lo + k);
        return;
    }
    /* more keys than slots: look at each slot instead.  A deletion
     * shifts later entries of the run back into slot i, so slot i is
     * looked at again; an entry shifted into a slot already passed comes
     * from a slot already passed (the run wrapped around the array's
     * end), and was kept there. */
    uint64_t last = n - 1 > UINT64_MAX - 1 - lo ? UINT64_MAX - 1 : lo + n - 1;
    for (size_t i = 0; i < t->cap; i++)
        while (t->s[i].key && t->s[i].key - 1 >= lo && t->s[i].key - 1 <= last)
            u64map_del_slot(t, i);
}

size_t u64map_add(u64map_t *t, uint64_t key, uint64_t val, uint64_t aux)
{
    size_t mask = t->cap - 1;
    size_t i = u64map_hash(key) & mask;
    while (t->s[i].key)
        i = (i + 1) & mask;
    t->s[i].key = key + 1;
    t->s[i].val = val;
    t->s[i].aux = aux;
    t->n++;
    return i;
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
