/* u64map.h — a hash table keyed by 64-bit integers, used as a map (one
 * entry per key) or as a multimap (several entries per key).
 *
 * Concepts:
 *   - Open addressing with linear probing in a power-of-two array of
 *     slots; the hash is the first xor-shift-multiply round of
 *     MurmurHash3's 64-bit finalizer fmix64 (Appleby), which mixes the
 *     upper bits of the key into the lower ones the mask keeps.
 *   - An entry is a key and two payload words (val, aux): a map stores
 *     a value in val; a multimap entry may carry a second word (a
 *     position, a count) in aux.
 *   - Map: put (insert or replace, doubling the array when it would be
 *     more than half full), get, del.  Deletion shifts the following
 *     entries of the probe run back (Knuth, TAOCP vol. 3, 6.4,
 *     Algorithm R), so no tombstones accumulate.
 *   - Multimap: add appends an entry whatever the key holds and returns
 *     its slot; probe / probe_next visit every entry of a key.  The
 *     caller keeps the slots it added (a log) and with it empties the
 *     table in O(entries) (clear_slots) or moves it into a larger array
 *     keeping the log's order (rehash).
 * Assumptions: keys are below UINT64_MAX (a slot stores key + 1; 0 is
 *   empty).  A multimap caller keeps at most half of the slots in use
 *   (add does not grow) and logs every slot it adds.  Map and multimap
 *   calls are not mixed on one table.
 * Not modeled: nothing; plumbing.  No iteration over all entries, no
 *   shrinking.
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
/* Map: key's value in *val; false if absent. */
bool u64map_get(const u64map_t *t, uint64_t key, uint64_t *val);
/* Map: removes key if present. */
void u64map_del(u64map_t *t, uint64_t key);

/* Multimap: adds an entry; returns its slot. */
size_t u64map_add(u64map_t *t, uint64_t key, uint64_t val, uint64_t aux);
/* Multimap: the first slot holding key, or SIZE_MAX; probe_next gives
 * the one after slot i.  Together they visit each entry of key once. */
size_t u64map_probe(const u64map_t *t, uint64_t key);
size_t u64map_probe_next(const u64map_t *t, uint64_t key, size_t i);
/* Multimap: empties the n slots listed (every slot in use). */
void u64map_clear_slots(u64map_t *t, const size_t *slots, size_t n);
/* Multimap: moves the entries of the n slots listed (every slot in use),
 * in that order, into a new array of cap slots, writing each entry's new
 * slot back into slots; 0, or -1 out of memory (t unchanged). */
int u64map_rehash(u64map_t *t, size_t cap, size_t *slots, size_t n);

#endif /* IOSIM_BASE_U64MAP_H */
