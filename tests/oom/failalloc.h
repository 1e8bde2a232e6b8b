/* failalloc.h — allocation-failure injection (failalloc.c).
 *
 * Concepts: failalloc_arm(N) makes the N-th allocation (malloc, calloc,
 *   realloc, anonymous mmap) from now fail with errno ENOMEM, and only
 *   that one; failalloc_arm(0) disarms.  failalloc_fired() says whether
 *   it failed, failalloc_count() how many allocations were counted since
 *   arming, failalloc_maps() how many of them were anonymous mappings.
 * Assumptions: failalloc.c is linked into the program (it replaces the
 *   allocator for the whole process).
 * Not modeled: nothing (test harness).
 */
#ifndef IOSIM_FAILALLOC_H
#define IOSIM_FAILALLOC_H

void failalloc_arm(unsigned long n);
int failalloc_fired(void);
unsigned long failalloc_count(void);
unsigned long failalloc_maps(void);

#endif /* IOSIM_FAILALLOC_H */
