/* zmem.c — large zeroed blocks, pages on first touch (zmem.h). */
#include "base/zmem.h"

#include <stdlib.h>

/* Under AddressSanitizer calloc, which it watches (an overrun of a
 * mapping would go unseen). */
#if defined(__SANITIZE_ADDRESS__)
#define ZMEM_WATCHED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZMEM_WATCHED 1
#endif
#endif

#if (defined(__unix__) || defined(__APPLE__)) && !defined(ZMEM_WATCHED)
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
