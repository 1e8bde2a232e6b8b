/* zmem.h — large zeroed blocks whose pages cost only when touched.
 *
 * Concepts:
 *   - A sweep makes a sim per configuration; a sim's large tables (the
 *     VT-d model's source-id map, 128 KB) are mostly never touched.
 *     calloc hands back recycled heap memory and clears all of it, so
 *     every page faults in at creation (16 sims: over a thousand page
 *     faults, a third of a short trace's sweep).  zmem_alloc maps fresh
 *     anonymous memory instead: the kernel supplies zero pages on first
 *     touch, so only the pages used cost anything.
 *   - Small blocks, systems without anonymous mappings, and builds with
 *     AddressSanitizer (which watches calloc's blocks) use calloc.
 * Assumptions: zmem_free gets the size zmem_alloc got.
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_ZMEM_H
#define IOSIM_ZMEM_H

#include <stddef.h>

/* n zeroed bytes, or NULL when out of memory. */
void *zmem_alloc(size_t n);
/* Frees p (NULL: nothing) of n bytes from zmem_alloc(n). */
void zmem_free(void *p, size_t n);

#endif
