/* zmem.c — large zeroed blocks, pages on first touch (zmem.h). */
#include "base/zmem.h"

#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define ZMEM_MMAP 1
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#endif

/* Below this, calloc's clearing costs less than a mapping's system
 * calls. */
#define ZMEM_MIN (64u * 1024u)

void *zmem_alloc(size_t n)
{
#ifdef ZMEM_MMAP
    if (n >= ZMEM_MIN) {
        void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
#endif
    return calloc(1, n ? n : 1);
}

void zmem_free(void *p, size_t n)
{
    if (!p)
        return;
#ifdef ZMEM_MMAP
    if (n >= ZMEM_MIN) {
        munmap(p, n);
        return;
    }
#endif
    free(p);
}
