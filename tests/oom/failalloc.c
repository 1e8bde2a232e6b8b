/* failalloc.c — allocation-failure injection for the out-of-memory tests
 * (tests/oom/): replaces malloc, calloc, realloc and free for the whole
 * process, and makes the N-th allocation return NULL (errno ENOMEM).
 *
 * Concepts:
 *   - glibc lets a program replace its allocator by defining these four
 *     functions (glibc manual, "Replacing malloc"): every caller then
 *     reaches them, libc's own getline, fopen and strdup and the shared
 *     libyaml and libzstd included.  The replacements count and forward
 *     to glibc's allocator (__libc_malloc and friends, exported for this
 *     use), so memory from either is freed by either.
 *   - Two ways to arm it: linked into a test program, failalloc_arm(N)
 *     fails the N-th allocation from then on (test_oom.c sweeps N around
 *     one reader call); built as a shared object for LD_PRELOAD, the
 *     environment variable IOSIM_FAILALLOC=N fails the N-th allocation
 *     after the object's constructor ran (oom_cli.sh sweeps N over a
 *     whole iosim-trace or iosim run).
 *   - Only the N-th fails: later allocations succeed, so a reader that
 *     swallowed the failure and went on is seen (it must not).
 * Assumptions: glibc; one thread allocates (the readers' tests); not in
 *   sanitizer builds (ASan replaces the allocator itself: CMake leaves
 *   these tests out with IOSIM_SANITIZE).
 * Not modeled: aligned_alloc, posix_memalign, memalign, valloc (glibc's
 *   own run, from the same heap: the all-associativity feed's
 *   aligned_alloc and a trace decoder's slots of 2 MB or more, which the
 *   small traces here never need), nor anonymous mmap: base/zmem.c's
 *   blocks of 64 KB or more (a sim, the VT-d model's source-id map) are
 *   never failed here (their NULL checks are read, not run).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "failalloc.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static unsigned long fail_at; /* 0: disarmed */
static unsigned long counted; /* allocations since armed */
static int fired;

void failalloc_arm(unsigned long n)
{
    fail_at = n;
    counted = 0;
    fired = 0;
}

int failalloc_fired(void) { return fired; }

unsigned long failalloc_count(void) { return counted; }

/* true when this allocation is the one to fail */
static int fail_now(void)
{
    if (!fail_at)
        return 0;
    if (++counted != fail_at)
        return 0;
    fired = 1;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t size) { return fail_now() ? NULL : __libc_malloc(size); }

void *calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    /* realloc(p, 0) frees: not an allocation that can fail */
    if (p && size == 0)
        return __libc_realloc(p, size);
    return fail_now() ? NULL : __libc_realloc(p, size);
}

void free(void *p) { __libc_free(p); }

#ifdef FAILALLOC_PRELOAD
/* LD_PRELOAD: IOSIM_FAILALLOC=N counts from here (after the dynamic
 * loader and libc set themselves up, before main). */
__attribute__((constructor)) static void failalloc_from_env(void)
{
    const char *s = getenv("IOSIM_FAILALLOC");
    if (s && *s)
        failalloc_arm(strtoul(s, NULL, 10));
    else if (getenv("IOSIM_FAILALLOC_COUNT"))
        failalloc_arm((unsigned long)-1); /* count, never fail */
}

/* The count of allocations made, printed at exit to stderr when
 * IOSIM_FAILALLOC_COUNT is set (the sweep's upper bound). */
#include <stdio.h>
__attribute__((destructor)) static void failalloc_report(void)
{
    if (getenv("IOSIM_FAILALLOC_COUNT"))
        fprintf(stderr, "failalloc: %lu allocations\n", counted);
}
#endif
