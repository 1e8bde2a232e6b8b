/* failalloc.c — allocation-failure injection for the out-of-memory tests
 * (tests/oom/): replaces malloc, calloc, realloc, free and mmap for the
 * whole process, and makes the N-th allocation (an anonymous mapping
 * counts as one) return NULL / MAP_FAILED (errno ENOMEM).
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
 *   small traces here never need); mappings of files (forwarded, not
 *   counted); mmap calls inside libc (malloc's own large blocks, the
 *   dynamic loader's) do not reach this mmap.  Anonymous mmap is
 *   base/zmem.c's blocks of 64 KB or more (a sim, the VT-d model's
 *   source-id map): counted and failed like any allocation (issue 24).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "failalloc.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static unsigned long fail_at; /* 0: disarmed */
static unsigned long counted; /* allocations since armed */
static unsigned long mapped;  /* anonymous mappings among them */
static int fired;

void failalloc_arm(unsigned long n)
{
    fail_at = n;
    counted = 0;
    mapped = 0;
    fired = 0;
}

unsigned long failalloc_maps(void) { return mapped; }

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

#ifdef SYS_mmap
/* Forwarded by the system call itself (glibc's mmap is the symbol this
 * one replaces; SYS_mmap takes a byte offset on the 64-bit Linux ABIs
 * that have it). */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (flags & MAP_ANONYMOUS) {
        if (fail_at)
            mapped++;
        if (fail_now())
            return MAP_FAILED;
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
#endif

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
        fprintf(stderr, "failalloc: %lu allocations, %lu mappings\n", counted,
                mapped);
}
#endif
