/* vec.h — room for more elements in a heap array that grows by doubling,
 * with the size arithmetic checked.
 *
 * Concepts:
 *   - vec_reserve(&p, &cap, need, first): after it returns 0, the array p
 *     (of *cap elements, the element size taken from p's type) holds at
 *     least `need` elements.  When it must grow, the new capacity is
 *     `first` (an empty array) or *cap, doubled until it holds `need`;
 *     past SIZE_MAX / 2 elements it is `need` itself.  Elements already
 *     there are kept (realloc); new ones are uninitialised.
 *   - On failure (-1, errno ENOMEM) nothing changed: p still points at the
 *     old array and *cap is its capacity, so the caller reports "out of
 *     memory" and frees p as usual.  It fails when realloc does, or when
 *     `need` elements of that size do not fit in a size_t (the product
 *     would wrap), before asking realloc.
 *   - Parallel arrays sharing one count reserve into copies of their
 *     capacity and store it once both succeeded (a capacity noted smaller
 *     than the array is harmless).
 *   - A ring (count elements from index head, wrapping at cap) grows with
 *     vec_ring_grow: a new array of the next capacity holding the elements
 *     from its start in ring order (head becomes 0), the old one freed.
 * Assumptions: p points to an object pointer type (all object pointers
 *   share void *'s representation on the platforms iosim builds on; the
 *   pointer is read and written through memcpy).
 * Not modeled: nothing; plumbing.  No shrinking.
 */
#ifndef IOSIM_VEC_H
#define IOSIM_VEC_H

#include <stddef.h>

/* The capacity vec_reserve would grow a `cap`-element array to for
 * `need` elements of `elem` bytes; 0 when need * elem overflows size_t. */
size_t vec_next_cap(size_t cap, size_t need, size_t elem, size_t first);

/* The out-of-line part of vec_reserve: pp is the address of the array's
 * pointer (T **). */
int vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first);

static inline int vec_reserve_elem(void *pp, size_t *cap, size_t need,
                                   size_t elem, size_t first)
{
    return need <= *cap ? 0 : vec_grow(pp, cap, need, elem, first);
}

/* 0 when *pp holds `need` elements, -1 (nothing changed) when it cannot. */
#define vec_reserve(pp, cap, need, first)                                      \
    vec_reserve_elem((pp), (cap), (need), sizeof **(pp), (first))

int vec_ring_grow_elem(void *pp, size_t *cap, size_t *head, size_t count,
                       size_t elem, size_t first);

/* Room for one more element in the ring *pp (count elements from *head,
 * capacity *cap): 0, or -1 (nothing changed, errno ENOMEM). */
#define vec_ring_grow(pp, cap, head, count, first)                             \
    vec_ring_grow_elem((pp), (cap), (head), (count), sizeof **(pp), (first))

#endif /* IOSIM_VEC_H */
