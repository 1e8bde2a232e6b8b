/* fuzz_common.h — helpers shared by the fuzz targets in tests/fuzz/.
 *
 * Concepts:
 *   - The trace readers and the importers read the input in memory
 *     (fuzz_open_input: fmemopen; the readers through trace_open_stream,
 *     the reader of iosim_trace_open without the file) under the name
 *     FUZZ_INPUT_NAME, which their messages must start with.  The config
 *     loader and the QEMU importer's guest file open a *path*: those
 *     targets write the input to one scratch file per process (created
 *     once with mkstemp under $TMPDIR, else /dev/shm when it exists, else
 *     /tmp; removed at exit).
 *   - A target checks the library's error contract (iosim.h): a failing
 *     call returns -1 and leaves ONE line in iosim_err_t that starts with
 *     the file name followed by ':'.  A broken contract is a bug like a
 *     crash, so the helper abort()s with the message: libFuzzer and the
 *     replay driver both report an abort as a failure.
 * Assumptions:
 *   - One input at a time per process (libFuzzer and replay_main.c run
 *     targets sequentially).
 * Not modeled: nothing (test harness).
 */
#ifndef IOSIM_FUZZ_COMMON_H
#define IOSIM_FUZZ_COMMON_H

#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iosim.h"
#include "trace/trace_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* glibc's allocator gives a large free block at the top of the heap back
 * to the kernel (brk) and maps allocations of 128 KB or more on their
 * own (mmap), so an input that allocates and frees a few hundred KB (an
 * importer's read buffers, the QEMU merge's tables) paid system calls,
 * page faults and TLB flushes on every execution: most of fuzz_qemu's
 * time.  Keeping the freed memory in the process removes that cost and
 * changes nothing the targets check.  (The sanitizers' allocators ignore
 * these settings.) */
__attribute__((constructor)) static void fuzz_keep_heap(void)
{
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

static char fuzz_path_buf[4096];

static inline void fuzz_remove_scratch(void)
{
    if (fuzz_path_buf[0])
        unlink(fuzz_path_buf);
}

/* Path of this process's scratch file (created on first use). */
static inline const char *fuzz_scratch_path(void)
{
    if (fuzz_path_buf[0])
        return fuzz_path_buf;
    /* a file system in memory: one write and one read per input */
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0])
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_path_buf, sizeof fuzz_path_buf, "%s/iosim-fuzz-XXXXXX", dir);
    int fd = mkstemp(fuzz_path_buf);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot create a scratch file in %s\n", dir);
        abort();
    }
    close(fd);
    atexit(fuzz_remove_scratch);
    return fuzz_path_buf;
}

/* Writes data to the scratch file and returns its path. */
static inline const char *fuzz_write_input(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_path();
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    return path;
}

/* The name the in-memory input is given (fuzz_open_input). */
#define FUZZ_INPUT_NAME "fuzz-input"

/* The input as a read-only stream in memory (seekable: the QEMU import
 * rewinds it), closed by the caller. */
static inline FILE *fuzz_open_input(const uint8_t *data, size_t size)
{
    static char empty[1];
    FILE *f = fmemopen(size ? (void *)data : empty, size, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: fmemopen failed\n");
        abort();
    }
    return f;
}

/* Reports a broken invariant and stops: the input is a bug reproducer. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void
fuzz_fail(const char *fmt, ...);
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* The error contract of iosim.h: one non-empty line, NUL-terminated
 * inside the buffer, beginning with "<path>:" when path is non-NULL. */
static inline void fuzz_check_err(const iosim_err_t *err, const char *path,
                                  const char *what)
{
    size_t len = strnlen(err->msg, sizeof err->msg);
    if (len == sizeof err->msg)
        fuzz_fail("%s: error message not NUL-terminated", what);
    if (len == 0)
        fuzz_fail("%s: failed without a message", what);
    if (memchr(err->msg, '\n', len) || memchr(err->msg, '\r', len))
        fuzz_fail("%s: message is not one line: '%s'", what, err->msg);
    if (path) {
        size_t plen = strlen(path);
        if (strncmp(err->msg, path, plen) != 0 || err->msg[plen] != ':')
            fuzz_fail("%s: message does not start with '%s:': '%s'", what, path,
                      err->msg);
    }
}

/* A record as the readers may hand it out: a known kind. */
static inline void fuzz_check_rec_kind(const iosim_rec_t *r, const char *what)
{
    if (r->kind < 1 || r->kind > IOSIM_REC_KIND_MAX)
        fuzz_fail("%s: record with unknown kind %u handed out", what,
                  (unsigned)r->kind);
}

/* FORMAT.md §5: every record has a text spelling, and the text written
 * for it is normalized: parsing it gives the same record back and
 * writing that record again gives the same line. */
static inline void fuzz_check_rec_roundtrip(const iosim_rec_t *r,
                                            const char *what)
{
    char a[512], b[512], why[200];
    int na = iosim_rec_to_text(r, a, sizeof a);
    if (na < 0)
        fuzz_fail("%s: a valid record has no text form", what);
    iosim_rec_t back;
    int rc = iosim_rec_from_text(a, &back, why, sizeof why);
    if (rc != 0)
        fuzz_fail("%s: own text form does not parse (%d, %s): '%s'", what, rc,
                  rc < 0 ? why : "no record", a);
    if (memcmp(&back, r, sizeof back) != 0)
        fuzz_fail("%s: text round trip changed the record: '%s'", what, a);
    int nb = iosim_rec_to_text(&back, b, sizeof b);
    if (nb != na || strcmp(a, b) != 0)
        fuzz_fail("%s: text form not normalized: '%s' vs '%s'", what, a, b);
}

/* Records read at most per input: a small compressed input may expand
 * to gigabytes (zstd RLE blocks); the reader's streaming loop is the
 * same for record 20000 as for record 2000000. */
#define FUZZ_READ_MAX 20000u
/* Records whose text round trip is checked (it costs ~1 us each). */
#define FUZZ_ROUNDTRIP_MAX 2000u

/* Opens the input in memory as a trace (trace_open_stream on
 * fuzz_open_input: the reader of iosim_trace_open without a file) and
 * reads it to the end (or to FUZZ_READ_MAX records) in batches of
 * varying size, checking the reader contract of iosim.h at every step.
 * Returns records read, or -1 when the open or a read failed (with the
 * message checked). */
static inline long fuzz_drain_trace(const uint8_t *data, size_t size)
{
    const char *path = FUZZ_INPUT_NAME;
    iosim_err_t err;
    memset(&err, 0, sizeof err);
    iosim_trace_reader_t *r =
        trace_open_stream(fuzz_open_input(data, size), path, size, &err);
    if (!r) {
        fuzz_check_err(&err, path, "trace_open_stream");
        return -1;
    }
    const iosim_trace_meta_t *m = iosim_trace_meta(r);
    if (strnlen(m->source, sizeof m->source) == sizeof m->source ||
        strnlen(m->kernel, sizeof m->kernel) == sizeof m->kernel ||
        strnlen(m->policy, sizeof m->policy) == sizeof m->policy ||
        strnlen(m->workload, sizeof m->workload) == sizeof m->workload ||
        strnlen(m->time_unit, sizeof m->time_unit) == sizeof m->time_unit)
        fuzz_fail("iosim_trace_meta: a string is not NUL-terminated");
    /* 1, 3, 64, 1, 3, 64 ... : exercises batches ending mid-buffer. */
    static const size_t batch[] = {1, 3, 64};
    static iosim_rec_t recs[64];
    unsigned long total = 0;
    long result = 0;
    for (unsigned i = 0; total < FUZZ_READ_MAX; i++) {
        size_t max = batch[i % 3];
        memset(&err, 0, sizeof err);
        long n = iosim_trace_read(r, recs, max, &err);
        if (n < -1 || n > (long)max)
            fuzz_fail("iosim_trace_read returned %ld for max %zu", n, max);
        if (n == -1) {
            fuzz_check_err(&err, path, "iosim_trace_read");
            iosim_err_t again;
            memset(&again, 0, sizeof again);
            if (iosim_trace_read(r, recs, max, &again) != -1 ||
                strcmp(again.msg, err.msg) != 0)
                fuzz_fail("iosim_trace_read: a failure is not repeated "
                          "('%s' then '%s')",
                          err.msg, again.msg);
            result = -1;
            break;
        }
        if (n == 0) {
            if (iosim_trace_read(r, recs, max, &err) != 0)
                fuzz_fail("iosim_trace_read: data after the end");
            break;
        }
        for (long k = 0; k < n; k++) {
            fuzz_check_rec_kind(&recs[k], "iosim_trace_read");
            if (total + (unsigned long)k < FUZZ_ROUNDTRIP_MAX)
                fuzz_check_rec_roundtrip(&recs[k], "iosim_trace_read");
        }
        total += (unsigned long)n;
        uint64_t done, size;
        iosim_trace_progress(r, &done, &size);
        if (done > size)
            fuzz_fail("iosim_trace_progress: %llu of %llu bytes",
                      (unsigned long long)done, (unsigned long long)size);
    }
    iosim_trace_close(r);
    return result < 0 ? -1 : (long)total;
}

#endif /* IOSIM_FUZZ_COMMON_H */
