/* fuzz_trace_binary.c — fuzz target: the binary (zstd) trace reader,
 * iosim_trace_open()'s reader (trace_open_stream, the input in memory) +
 * iosim_trace_read() (sim/trace/trace_io.c).
 *
 * Concepts:
 *   - Two input shapes, told apart by the first four bytes:
 *       * zstd frame magic (28 b5 2f fd), or a skippable frame's (5? 2a 4d
 *         18: format v2's header frame, FORMAT.md §8): the input is
 *         read as given, so mutations hit the zstd framing (truncated
 *         frames, corrupt blocks, checksums, concatenated frames) and
 *         v2's header, block headers and index;
 *       * anything else is the *decompressed* stream (20-byte header,
 *         metadata, 48-byte records; traces/FORMAT.md).  The target
 *         compresses it as two concatenated frames split in the middle
 *         before reading, so mutations reach the header, metadata and
 *         record decoding instead of dying on a zstd checksum.
 *   - Checks (fuzz_common.h): no crash / leak / UB, the error contract,
 *     the reader contract, the text round trip of every record.  In the
 *     second shape the record count of a clean read must also equal what
 *     the header says by plain arithmetic: (size - 20 - meta_len) / 48.
 * Assumptions: inputs up to a few hundred KB (libFuzzer's -max_len).
 * Not modeled: the text form (fuzz_trace_text.c).
 */
#include <zstd.h>

#include "fuzz_common.h"

static const uint8_t zstd_frame_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

/* FORMAT.md §2: magic 8 bytes, version, record size, metadata length. */
#define PAYLOAD_HEADER 20u

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Compresses src as one frame at dst; returns the size or aborts.  One
 * context for the process: creating one per input costs more than the
 * parsing fuzzed. */
static size_t compress_frame(uint8_t *dst, size_t cap, const uint8_t *src,
                             size_t n)
{
    static ZSTD_CCtx *cctx;
    if (!cctx && !(cctx = ZSTD_createCCtx()))
        fuzz_fail("ZSTD_createCCtx failed");
    size_t k = ZSTD_compressCCtx(cctx, dst, cap, src, n, 1);
    if (ZSTD_isError(k))
        fuzz_fail("ZSTD_compress: %s", ZSTD_getErrorName(k));
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && (memcmp(data, zstd_frame_magic, 4) == 0 ||
                      ((data[0] & 0xf0) == 0x50 && data[1] == 0x2a &&
                       data[2] == 0x4d && data[3] == 0x18))) {
        fuzz_drain_trace(data, size);
        return 0;
    }

    size_t half = size / 2;
    size_t cap = ZSTD_compressBound(half) + ZSTD_compressBound(size - half);
    uint8_t *z = malloc(cap);
    if (!z)
        fuzz_fail("out of memory");
    size_t zlen = compress_frame(z, cap, data, half);
    zlen += compress_frame(z + zlen, cap - zlen, data + half, size - half);
    long got = fuzz_drain_trace(z, zlen);
    free(z);
    if (got >= 0 && (unsigned long)got < FUZZ_READ_MAX) {
        /* A clean read: the header was accepted, so it has the length. */
        if (size < PAYLOAD_HEADER)
            fuzz_fail("a %zu-byte stream was read without error", size);
        uint64_t meta_len = le32_at(data + 16);
        uint64_t body = size - PAYLOAD_HEADER - meta_len;
        if (meta_len > size - PAYLOAD_HEADER || body % 48 != 0 ||
            body / 48 != (uint64_t)got)
            fuzz_fail("read %ld records from a %zu-byte stream with "
                      "meta_len %llu",
                      got, size, (unsigned long long)meta_len);
    }
    return 0;
}
