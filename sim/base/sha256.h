/* sha256.h — SHA-256 of a file's bytes, for the provenance of reports.
 *
 * Concepts: FIPS 180-4 §6.2 SHA-256; the digest as 64 lowercase hex
 *   digits, what sha256sum(1) prints, so a reader can check a report's
 *   trace_sha256 against the file with coreutils.
 * Assumptions: files are read whole in 64 KB pieces (traces are tens of
 *   MB at most).
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_BASE_SHA256_H
#define IOSIM_BASE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iosim_err.h"

typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char buf[64];
    size_t nbuf;
    /* the CPU's SHA instructions (x86 SHA extensions) compress, else the
     * portable code; sha256_init sets it by CPUID, a test may clear it */
    bool accel;
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t n);
/* hex gets 64 hex digits and a NUL */
void sha256_final_hex(sha256_t *s, char hex[65]);

/* The file's SHA-256 (hex) and size.  Returns 0, or -1 with err naming
 * path. */
int sha256_file(const char *path, char hex[65], uint64_t *size,
                iosim_err_t *err);
/* The same of what f holds from where it is to its end (path names it in
 * err); f stays open. */
int sha256_stream(FILE *f, const char *path, char hex[65], uint64_t *size,
                  iosim_err_t *err);

#endif /* IOSIM_BASE_SHA256_H */
