/* fuzz_trace_text.c — fuzz target: the text form of traces
 * (sim/trace/trace_text.c): iosim_rec_from_text() on every line, and the
 * whole input as a text trace file through iosim_trace_open/read.
 *
 * Concepts:
 *   - Each '\n'-separated line (cut at a NUL byte) goes to
 *     iosim_rec_from_text(): a record must survive the text round trip
 *     (fuzz_common.h), an error must leave a one-line reason.
 *   - The whole input is also read as a trace (in memory); when
 *     that read ends cleanly, the number of records must equal the number
 *     of lines iosim_rec_from_text() accepted on its own (two routes to
 *     the same count: header and #meta lines parse as "no record").
 * Assumptions: inputs up to a few hundred KB (libFuzzer's -max_len).
 * Not modeled: the binary form (fuzz_trace_binary.c).
 */
#include "fuzz_common.h"

/* Parses each line on its own; returns the number of records. */
static unsigned long parse_lines(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        fuzz_fail("out of memory");
    unsigned long records = 0;
    size_t start = 0;
    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        memcpy(line, data + start, end - start);
        line[end - start] = '\0';
        iosim_rec_t r;
        char why[200];
        memset(why, 0, sizeof why);
        int rc = iosim_rec_from_text(line, &r, why, sizeof why);
        if (rc == 0) {
            fuzz_check_rec_kind(&r, "iosim_rec_from_text");
            fuzz_check_rec_roundtrip(&r, "iosim_rec_from_text");
            records++;
        } else if (rc == -1) {
            if (why[0] == '\0' || strchr(why, '\n'))
                fuzz_fail("iosim_rec_from_text: bad reason '%s'", why);
        } else if (rc != 1) {
            fuzz_fail("iosim_rec_from_text returned %d", rc);
        }
        start = end + 1;
    }
    free(line);
    return records;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned long by_line = parse_lines(data, size);
    long got = fuzz_drain_trace(data, size);
    static const uint8_t zstd_frame_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    bool binary = size >= 4 && memcmp(data, zstd_frame_magic, 4) == 0;
    if (!binary && got >= 0 && (unsigned long)got < FUZZ_READ_MAX &&
        (unsigned long)got != by_line)
        fuzz_fail("trace reader found %ld records, line parser %lu", got,
                  by_line);
    return 0;
}
