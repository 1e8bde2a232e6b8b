/* sparse16.h — a table indexed by a 16-bit id (DID, PCI source id).
 *
 * Concepts:
 *   - 256 blocks of 256 values; a block is allocated on the first store
 *     into it.  A sim touches a handful of ids, so a flat 65,536-slot
 *     array (512 KB of pointers, zeroed by calloc at every sim's creation
 *     and scanned at every free) cost more than the replay of a short
 *     trace; this costs 2 KB plus 2 KB per block in use.
 *   - A value is a uintptr_t (a pointer or a small number); 0 means
 *     "absent", which is also what an id never stored reads as.
 * Assumptions: single-threaded use per table (each sim owns its tables).
 * Not modeled: nothing; this is plumbing.
 */
#ifndef IOSIM_SPARSE16_H
#define IOSIM_SPARSE16_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sparse16 {
    uintptr_t *block[256];
} sparse16_t;

static inline uintptr_t sparse16_get(const sparse16_t *t, uint16_t id)
{
    const uintptr_t *b = t->block[id >> 8];
    return b ? b[id & 0xffu] : 0;
}

/* Stores `value` at `id`; -1 when a block cannot be allocated (the table
 * is unchanged then). */
int sparse16_set(sparse16_t *t, uint16_t id, uintptr_t value);

/* Iteration in id order over the non-zero values: start with *cursor = 0
 * and call until it returns false; each true return sets *id and *value. */
bool sparse16_next(const sparse16_t *t, uint32_t *cursor, uint16_t *id,
                   uintptr_t *value);

/* Frees the blocks (not what the values point to). */
void sparse16_fini(sparse16_t *t);

#endif
