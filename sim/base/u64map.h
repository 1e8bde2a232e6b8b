/* u64map.h — a hash table keyed by 64-bit integers, used as a map (one
 * entry per key) or as a multimap (several entries per key).
 *
 * Concepts:
 *   - Open addressing with linear probing in a power-of-two array of
 *     slots; the hash is Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4:
 *     the key times 2^64 / golden ratio), whose middle bits, the ones the
 *     mask keeps, depend on every lower bit of the key (page numbers and
 *     page-aligned addresses spread).
 *   - An entry is a key and two payload words (val, aux): a map stores
 *     a value in val; a multimap entry may carry a second word (a
 *     position, a count) in aux.
 *   - Map: put (insert or replace, doubling the array when it would be
 *     more than half full), get, del.  Deletion shifts the following
 *     entries of the probe run back (Knuth, TAOCP vol. 3, 6.4,
 *     Algorithm R), so no tombstones accumulate.  del_range removes a
 *     range of keys key by key or, when the range has more keys than the
 *     array has slots, by one pass over the slots: its work is bounded by
 *     the table, not by the range (an unmap of terabytes of IOVA space).
 *   - Multimap: add appends an entry whatever the key holds and returns
 *     its slot; probe / probe_next visit every entry of a key.  The
 *     caller keeps the slots it added (a log) and with it empties the
 *     table in O(entries) (clear_slots) or moves it into a larger array
 *     keeping the log's order (rehash).
 * Assumptions: keys are below UINT64_MAX (a slot stores key + 1; 0 is
 *   empty).  A multimap caller keeps at most half of the slots in use
 *   (add does not grow) and logs every slot it adds.  Map and multimap
 *   calls are not mixed on one table.
 * Not modeled: nothing; plumbing.  No iteration over all entries (but
 *   del_range's pass), no shrinking.
 */
#ifndef IOSIM_BASE_U64MAP_H
#define IOSIM_BASE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct u64map_slot {
    uint64_t key; /* key + 1; 0 = empty */
    uint64_t val;
    uint64_t aux;
} u64map_slot_t;

typedef struct u64map {
    u64map_slot_t *s;
    size_t cap; /* power of two */
    size_t n;   /* entries */
} u64map_t;

/* An empty table of cap slots (a power of two); 0, or -1 out of memory. */
int u64map_init(u64map_t *t, size_t cap);
void u64map_fini(u64map_t *t);

/* Map: sets key's value; 0, or -1 out of memory (t unchanged). */
int u64map_put(u64map_t *t, uint64_t key, uint64_t val);
/* Map: removes key if present. */
void u64map_del(u64map_t *t, uint64_t key);
/* Map: removes the entry in slot i (from u64map_probe). */
void u64map_del_slot(u64map_t *t, size_t i);
/* Map: removes every key in [lo, lo + n) (up to UINT64_MAX - 1 if that
 * overflows); visits at most min(n, cap) keys or slots. */
void u64map_del_range(u64map_t *t, uint64_t lo, uint64_t n);

/* Multimap: adds an entry; returns its slot. */
size_t u64map_add(u64map_t *t, uint64_t key, uint64_t val, uint64_t aux);
/* Multimap: empties the n slots listed (every slot in use). */
void u64map_clear_slots(u64map_t *t, const size_t *slots, size_t n);
/* Multimap: moves the entries of the n slots listed (every slot in use),
 * in that order, into a new array of cap slots, writing each entry's new
 * slot back into slots; 0, or -1 out of memory (t unchanged). */
int u64map_rehash(u64map_t *t, size_t cap, size_t *slots, size_t n);

/* The look-ups are on the hot path of device models (a buffer found by
 * its IOVA for every DMA): inline. */

static inline size_t u64map_hash(uint64_t k)
{
    return (size_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

/* The first slot from i on holding key, before the run's empty slot;
 * SIZE_MAX if none. */
static inline size_t u64map_probe_from(const u64map_t *t, uint64_t key,
                                       size_t i)
{
    size_t mask = t->cap - 1;
    while (t->s[i].key) {
        if (t->s[i].key == key + 1)
            return i;
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

/* Map and multimap: the first slot holding key, or SIZE_MAX; probe_next
 * gives the one after slot i.  Together they visit each entry of key
 * once. */
static inline size_t u64map_probe(const u64map_t *t, uint64_t key)
{
    return u64map_probe_from(t, key, u64map_hash(key) & (t->cap - 1));
}

static inline size_t u64map_probe_next(const u64map_t *t, uint64_t key,
                                       size_t i)
{
    return u64map_probe_from(t, key, (i + 1) & (t->cap - 1));
}

/* Map: key's value in *val; false if absent. */
static inline bool u64map_get(const u64map_t *t, uint64_t key, uint64_t *val)
{
    size_t i = u64map_probe(t, key);
    if (i == SIZE_MAX)
        return false;
    *val = t->s[i].val;
    return true;
}

#endif /* IOSIM_BASE_U64MAP_H */
